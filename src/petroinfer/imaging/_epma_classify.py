r"""Phase classification of EPMA maps, in memory or chunk by chunk (maps larger than memory).

QntMap's classification (notes imaging_texture.md §A.5) is one pass of: nearest-centre labels, the
power transform α* of Witten (2011), class rates from per-class sums, and the Poisson linear
discriminant of every pixel. Every map-wide quantity it needs is a *sum over pixels*:

- α*: for each grid value α, the column sums :math:`z_{\cdot j}` and
  :math:`S_j = \sum_i z_{ij}^2/z_{i\cdot}` (:func:`petroinfer.imaging._epma_lda._alpha_stats`);
- class rates: :math:`\sum_{i\in C_k} z_{ij}` and :math:`\sum_{i\in C_k} z_{i\cdot}`;

and the discriminant scores and memberships of a pixel depend only on that pixel given the fitted
rates. So a dask-backed map is classified in two reduction passes over its chunks followed by a lazy
blockwise membership map: only a few chunks are in memory at any time. A numpy map goes through the
same functions as a single block, so both paths give the same numbers (up to summation order).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from petroinfer.errors import InputError, format_value
from petroinfer.imaging._epma_lda import (
    PoissonLDA,
    _alpha_from_stats,
    _alpha_stats,
    _class_sums,
    alpha_grid,
)

__all__ = ["classify_map", "is_lazy", "nearest_centre_labels"]


def is_lazy(a) -> bool:
    """True for a dask-backed DataArray/array (anything that is not a numpy array)."""
    data = a.data if isinstance(a, xr.DataArray) else a
    return not isinstance(data, np.ndarray)


def _rows(block: np.ndarray) -> np.ndarray:
    """(element, y, x) block → (pixels, element) rows, pixels in C order (y, then x)."""
    return block.reshape(block.shape[0], -1).T


def nearest_centre_labels(x: np.ndarray, centres: np.ndarray) -> np.ndarray:
    r"""Index of the nearest centre (Euclidean, raw counts): :math:`\arg\min_k \|x_i - c_k\|^2`.

    Parameters
    ----------
    x : ndarray, shape (n, p)
        Pixel counts.
    centres : ndarray, shape (K, p)
        Phase centres in the same units.

    Returns
    -------
    ndarray of int, shape (n,)
    """
    return np.argmin(((x[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2), axis=1)


def _block_alpha(block, grid):
    x = _rows(block)
    bad = ~np.isfinite(x) | (x < 0)
    C, S = _alpha_stats(np.where(bad, 0.0, x), grid)
    return C, S, np.array([x.shape[0], int(bad.sum())], dtype=float)


def _block_class(block, centres, alpha, k):
    x = _rows(block)
    a, r, n = _class_sums(x, nearest_centre_labels(x, centres), k, alpha)
    return a, r, n.astype(float)


def _sum_blocks(fn, arr, *args):
    """Σ over the spatial blocks of ``fn(block, *args)`` (a tuple of small arrays)."""
    if isinstance(arr, np.ndarray):
        return fn(arr, *args)
    import dask

    parts = dask.compute(*[dask.delayed(fn)(b, *args) for b in arr.to_delayed().ravel()])
    return tuple(np.sum([p[i] for p in parts], axis=0) for i in range(len(parts[0])))


def _membership_block(block, lda: PoissonLDA, columns: np.ndarray, k: int) -> np.ndarray:
    x = _rows(block)
    prob = np.zeros((x.shape[0], k))
    prob[:, columns] = lda.predict_proba(x)
    return prob.T.reshape((k, *block.shape[1:]))


def classify_map(
    counts: xr.DataArray, centres: pd.DataFrame, *, beta: float = 1.0, rho: float = 0.0
) -> tuple[PoissonLDA, xr.DataArray]:
    r"""Nearest-centre labels refined by a Poisson linear discriminant (QntMap ``cluster_xmap``).

    Parameters
    ----------
    counts : DataArray
        (element, y, x) map counts of the channels named by ``centres``' columns, numpy- or
        dask-backed. A dask map is processed chunk by chunk (its ``element`` axis is merged into one
        chunk): two reduction passes (α* and the class sums), then a lazy membership map.
    centres : DataFrame
        Phase × element initial centres (map counts), e.g. from
        :func:`petroinfer.imaging.initial_centres`.
    beta, rho : float
        Prior pseudo-count and shrinkage of :class:`PoissonLDA`.

    Returns
    -------
    lda : PoissonLDA
        The fitted classifier (``alpha_``, ``rates_``, ``classes_`` = indices of the phases that
        received pixels).
    membership : DataArray
        (phase, y, x) softmax of the discriminant scores; phases that received no pixel have
        membership 0 (as in QntMap). Dask-backed (lazy) when ``counts`` is.

    Raises
    ------
    InputError
        Negative or non-finite counts (the number of such pixel values is reported).

    Notes
    -----
    Witten (2011, Ann. Appl. Stat. 5:2493) eqs. 2.1–3.1; the α* statistic is rewritten as
    :math:`G = T(\sum_j S_j/z_{\cdot j} - 1)` so that it is a sum over pixels (see
    :func:`petroinfer.imaging.power_transform_alpha`).
    """
    elements = list(centres.columns)
    arr = counts.sel(element=elements).transpose("element", "y", "x").data
    if not isinstance(arr, np.ndarray):
        arr = arr.rechunk({0: -1})
    grid = alpha_grid()
    C, S, nb = _sum_blocks(_block_alpha, arr, grid)
    if nb[1] > 0:
        raise InputError(
            f"the map has {int(nb[1])} negative or non-finite count(s) in channels {elements}; "
            "counts must be finite and ≥ 0"
        )
    alpha = _alpha_from_stats(C, S, int(nb[0]), grid)
    c = centres.to_numpy(float)
    if not np.isfinite(c).all():
        raise InputError(f"initial centres must be finite, got {format_value(c)}")
    k = len(centres)
    a, r, n = _sum_blocks(_block_class, arr, c, alpha, k)
    present = np.flatnonzero(n > 0)
    lda = PoissonLDA(beta=beta, rho=rho)
    lda.classes_ = present
    lda._fit_sums(a[present], r[present], alpha, len(elements))
    if isinstance(arr, np.ndarray):
        prob = _membership_block(arr, lda, present, k)
    else:
        prob = arr.map_blocks(
            _membership_block, lda, present, k, chunks=((k,), *arr.chunks[1:]), dtype=float
        )
    membership = xr.DataArray(
        prob,
        dims=("phase", "y", "x"),
        coords={"phase": list(centres.index), "y": counts["y"], "x": counts["x"]},
        name="membership",
        attrs={"units": "1"},
    )
    return lda, membership
