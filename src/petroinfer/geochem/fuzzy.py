r"""Fuzzy c-means clustering: plain FCM, spatial FCM for element maps, GEOFCM for scattered samples.

Public entry points (implementation in the private ``_fcm_*`` modules):

* :class:`FuzzyCMeans` — Bezdek's FCM with k-means++ starts, restarts, a noise cluster, GFCM's β,
  missing values (partial distances) and c, m chosen from validity indices;
* :class:`SpatialFuzzyCMeans` — element maps (pixels × elements): FCM_S1/S2 (= SFCM), Chuang's
  (p, q) membership filter or FLICM on a pixel window;
* :class:`GeoFCM` — scattered field samples with coordinates (kNN / radius / Gaussian / Delaunay
  neighbour graphs; lon/lat converted to km) — a reconstruction [R] of Yoshida et al. (2018);
* :func:`segment_map` — the spatial method on maps larger than memory: blocks with halos on Dask,
  outputs written block by block to NetCDF or Zarr, missing pixels by partial distances;
* validity indices (:func:`partition_coefficient`, :func:`modified_partition_coefficient`,
  :func:`partition_entropy`, :func:`xie_beni`, :func:`fukuyama_sugeno`, :func:`fuzzy_silhouette`,
  :func:`validity_indices`) and spatial diagnostics (:func:`spatial_consistency`,
  :func:`membership_morans_i`, :func:`neighbour_weights`);
* synthetic truth for tests and demos (:func:`make_domain_map`, :func:`make_scattered_units`).

Equations, sources and validation: ``docs/methods/fuzzy_clustering.md``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from petroinfer.errors import InputError
from petroinfer.geochem._fcm_estimators import FuzzyCMeans, GeoFCM, SpatialFuzzyCMeans
from petroinfer.geochem._fcm_indices import (
    fukuyama_sugeno,
    fuzzy_silhouette,
    membership_morans_i,
    modified_partition_coefficient,
    partition_coefficient,
    partition_entropy,
    spatial_consistency,
    xie_beni,
)
from petroinfer.geochem._fcm_map import segment_map
from petroinfer.geochem._fcm_neighbours import GridNeighbourhood, lonlat_to_km, points_graph
from petroinfer.geochem._fcm_synthetic import make_domain_map, make_scattered_units

__all__ = [
    "FuzzyCMeans",
    "GeoFCM",
    "SpatialFuzzyCMeans",
    "fukuyama_sugeno",
    "fuzzy_silhouette",
    "lonlat_to_km",
    "make_domain_map",
    "make_scattered_units",
    "membership_morans_i",
    "modified_partition_coefficient",
    "neighbour_weights",
    "partition_coefficient",
    "partition_entropy",
    "segment_map",
    "spatial_consistency",
    "validity_indices",
    "xie_beni",
]


def neighbour_weights(
    *,
    shape: tuple[int, int] | None = None,
    window: int = 3,
    coordinates: Any = None,
    neighbours: str = "knn",
    k: int = 8,
    radius: float | None = None,
    bandwidth: float | None = None,
) -> sp.csr_matrix:
    """Sparse spatial weights for diagnostics: a pixel window on ``shape`` or a graph on points.

    Parameters
    ----------
    shape : (ny, nx), optional
        Pixel grid (row-major flattening); binary weights within a ``window × window`` square.
    window : int, default 3
        Window side (pixels).
    coordinates : array of shape (n, 2), optional
        Projected sample coordinates (same units as ``radius``/``bandwidth``).
    neighbours : {"knn", "radius", "gaussian", "delaunay"}, default "knn"
        Graph on points (see :class:`GeoFCM`).
    k : int, default 8
        Neighbours for ``"knn"``.
    radius : float or None
        Band for ``"radius"`` (default 3 × the median nearest-neighbour distance).
    bandwidth : float or None
        Kernel scale for ``"gaussian"`` (default 2 × the median nearest-neighbour distance).

    Returns
    -------
    scipy.sparse.csr_matrix of shape (n, n)
        Weights :math:`w_{kl}` with a zero diagonal.

    Examples
    --------
    >>> neighbour_weights(shape=(3, 3)).sum(axis=1).A.ravel().tolist()
    [3.0, 5.0, 3.0, 5.0, 8.0, 5.0, 3.0, 5.0, 3.0]
    """
    if (shape is None) == (coordinates is None):
        raise InputError("give exactly one of shape= (pixel grid) or coordinates= (points)")
    if shape is not None:
        return GridNeighbourhood(tuple(shape), window).weights()
    C = np.asarray(coordinates, dtype=float)
    return points_graph(C, neighbours, k=k, radius=radius, bandwidth=bandwidth).weights()


def validity_indices(X: Any, U: Any, V: Any, m: float = 2.0) -> dict[str, float]:
    """All fuzzy validity indices of one partition.

    Parameters
    ----------
    X : array of shape (n, F)
        The clustered (analysed) data.
    U : array of shape (n, c)
        Memberships.
    V : array of shape (c, F)
        Centres.
    m : float, default 2.0
        Fuzzifier.

    Returns
    -------
    dict
        ``pc``, ``mpc``, ``pe``, ``xie_beni``, ``fukuyama_sugeno``, ``fuzzy_silhouette``.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[0.0], [0.1], [5.0], [5.1]])
    >>> U = np.array([[1, 0], [1, 0], [0, 1], [0, 1]], float)
    >>> round(validity_indices(X, U, np.array([[0.05], [5.05]]))["pc"], 3)
    1.0
    """
    X, U, V = (np.asarray(a, dtype=float) for a in (X, U, V))
    return {
        "pc": partition_coefficient(U),
        "mpc": modified_partition_coefficient(U),
        "pe": partition_entropy(U),
        "xie_beni": xie_beni(X, U, V, m),
        "fukuyama_sugeno": fukuyama_sugeno(X, U, V, m),
        "fuzzy_silhouette": fuzzy_silhouette(X, U),
    }
