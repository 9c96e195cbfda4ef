r"""Spatial neighbourhoods for the fuzzy c-means engine: pixel windows and graphs on scattered points.

:class:`GridNeighbourhood` works on an image flattened row-major to ``(ny·nx, ·)`` and uses
``scipy.ndimage`` filters (reflect padding at the borders; O(N) per iteration).
:class:`GraphNeighbourhood` holds a sparse weight matrix :math:`W` (CSR, no self-weights) built from
point coordinates by k nearest neighbours, a distance band, a truncated Gaussian kernel or the Delaunay
triangulation (GEOFCM reconstruction [R], science notes ``imaging_texture.md`` §C.2).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy import ndimage
from scipy.spatial import Delaunay, cKDTree

from petroinfer.errors import InputError, ModelError

__all__ = ["GraphNeighbourhood", "GridNeighbourhood", "lonlat_to_km", "points_graph"]

EARTH_RADIUS_KM = 6371.0088  # IUGG mean radius


def lonlat_to_km(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    r"""Equirectangular projection about the centroid: :math:`x=R\Delta\lambda\cos\bar\varphi`,
    :math:`y=R\Delta\varphi` (km; R = 6371.0088 km; accurate to < 1 % over a few hundred km).

    Parameters
    ----------
    lon : array of shape (n,)
        Longitude (degrees east).
    lat : array of shape (n,)
        Latitude (degrees north).

    Returns
    -------
    ndarray of shape (n, 2)
        Easting and northing (km) relative to the centroid.

    Examples
    --------
    >>> import numpy as np
    >>> xy = lonlat_to_km(np.array([0.0, 0.0]), np.array([0.0, 1.0]))
    >>> round(float(xy[1, 1] - xy[0, 1]), 3)
    111.195
    """
    lam, phi = np.radians(lon), np.radians(lat)
    phi0 = np.mean(phi)
    return np.column_stack(
        [EARTH_RADIUS_KM * (lam - lam.mean()) * np.cos(phi0), EARTH_RADIUS_KM * (phi - phi0)]
    )


class GridNeighbourhood:
    """Square ``window × window`` neighbourhood on a ``shape = (ny, nx)`` pixel grid."""

    def __init__(self, shape: tuple[int, int], window: int = 3) -> None:
        self.shape = tuple(shape)
        self.window = int(window)
        r = self.window // 2
        yy, xx = np.mgrid[-r : r + 1, -r : r + 1]
        k = 1.0 / (np.maximum(np.abs(yy), np.abs(xx)) + 1.0)  # FLICM 1/(δ+1), δ = chessboard
        k[r, r] = 0.0
        self._flicm_kernel = k

    def _img(self, A: np.ndarray) -> np.ndarray:
        return A.reshape(*self.shape, A.shape[1])

    def lag(self, X: np.ndarray, how: str = "mean") -> np.ndarray:
        """Window mean (FCM_S1) or median (FCM_S2) of each feature, the centre pixel excluded.

        The mean is NaN-aware (partial distance strategy): a missing value is left out of its
        neighbours' means, and the lag is NaN only where no neighbour has the feature.
        """
        img = self._img(X)
        w = self.window
        out = np.empty_like(img)
        nn = w * w - 1
        for j in range(img.shape[2]):
            band = img[..., j]
            miss = np.isnan(band) if how == "mean" else None
            if miss is not None and miss.any():
                # scipy's running-sum filter would spread a NaN along the whole line: filter the
                # zero-filled band and the observed mask, then divide
                b0 = np.where(miss, 0.0, band).astype(band.dtype)
                obs = (~miss).astype(band.dtype)
                s = ndimage.uniform_filter(b0, size=w, mode="reflect") * (w * w) - b0
                k = np.rint(ndimage.uniform_filter(obs, size=w, mode="reflect") * (w * w) - obs)
                with np.errstate(invalid="ignore", divide="ignore"):
                    out[..., j] = np.where(k > 0, s / np.maximum(k, 1.0), np.nan)
            elif how == "mean":
                s = ndimage.uniform_filter(band, size=w, mode="reflect") * (w * w)
                out[..., j] = (s - band) / nn
            else:
                fp = np.ones((w, w), bool)
                fp[w // 2, w // 2] = False
                out[..., j] = ndimage.median_filter(band, footprint=fp, mode="reflect")
        return out.reshape(X.shape)

    def smooth(self, U: np.ndarray) -> np.ndarray:
        """Chuang's :math:`h_{ik}=\\sum_{l\\in W(k)}u_{il}` over the window (centre included)."""
        img = self._img(U)
        w = self.window
        out = np.empty_like(img)
        for i in range(img.shape[2]):
            out[..., i] = ndimage.uniform_filter(img[..., i], size=w, mode="reflect") * (w * w)
        return out.reshape(U.shape)

    def flicm(self, A: np.ndarray) -> np.ndarray:
        """FLICM fuzzy factor :math:`\\sum_{r\\ne k}A_{ir}/(\\delta_{kr}+1)`."""
        img = self._img(A)
        out = np.empty_like(img)
        for i in range(img.shape[2]):
            out[..., i] = ndimage.correlate(img[..., i], self._flicm_kernel, mode="reflect")
        return out.reshape(A.shape)

    def weights(self) -> sp.csr_matrix:
        """The window as a sparse (binary, self excluded) weight matrix, for spatial diagnostics."""
        ny, nx = self.shape
        r = self.window // 2
        idx = np.arange(ny * nx).reshape(ny, nx)
        rows, cols = [], []
        for dy in range(-r, r + 1):
            for dx in range(-r, r + 1):
                if dy == 0 and dx == 0:
                    continue
                a = idx[max(0, -dy) : ny - max(0, dy), max(0, -dx) : nx - max(0, dx)]
                b = idx[
                    max(0, -dy) + dy : ny - max(0, dy) + dy, max(0, -dx) + dx : nx - max(0, dx) + dx
                ]
                rows.append(a.ravel())
                cols.append(b.ravel())
        rr, cc = np.concatenate(rows), np.concatenate(cols)
        return sp.csr_matrix((np.ones(rr.size), (rr, cc)), shape=(ny * nx, ny * nx))


class GraphNeighbourhood:
    """A sparse neighbour graph on scattered samples (weights :math:`w_{kl}`, no self-loops)."""

    def __init__(self, W: sp.csr_matrix, one_plus_d: sp.csr_matrix, knn_index=None) -> None:
        self.W = W.tocsr()
        rs = np.asarray(self.W.sum(axis=1)).ravel()
        self.isolated = rs <= 0
        inv = np.where(rs > 0, 1.0 / np.where(rs > 0, rs, 1.0), 0.0)
        self.Wn = sp.diags(inv) @ self.W  # row-standardised
        F = one_plus_d.tocsr().copy()
        F.data = 1.0 / F.data  # FLICM 1 / (δ + 1)
        self.F = F
        self.knn_index = knn_index

    def lag(self, X: np.ndarray, how: str = "mean") -> np.ndarray:
        """Spatial lag :math:`\\bar x=W_{\\mathrm{row}}X` (NaN-aware); isolated samples keep x."""
        if how == "median":
            if self.knn_index is None:
                raise ModelError("the median lag (method 's2') needs neighbours='knn'")
            return np.nanmedian(X[self.knn_index], axis=1)
        miss = np.isnan(X)
        if miss.any():
            X0 = np.where(miss, 0.0, X)
            num = self.W @ X0
            den = self.W @ (~miss).astype(float)
            with np.errstate(invalid="ignore", divide="ignore"):
                out = np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)
        else:
            out = self.Wn @ X
        out[self.isolated] = X[self.isolated]
        return out

    def smooth(self, U: np.ndarray) -> np.ndarray:
        """:math:`h_{ik}=\\sum_l w_{kl}u_{il}` (row-standardised); isolated samples keep u."""
        H = self.Wn @ U
        H[self.isolated] = U[self.isolated]
        return H

    def flicm(self, A: np.ndarray) -> np.ndarray:
        """FLICM factor with :math:`1/(\\delta_{kl}+1)` on the graph's edges (δ in km / units)."""
        return self.F @ A

    def weights(self) -> sp.csr_matrix:
        return self.W


def points_graph(
    coords: np.ndarray,
    neighbours: str = "knn",
    *,
    k: int = 8,
    radius: float | None = None,
    bandwidth: float | None = None,
) -> GraphNeighbourhood:
    r"""Build the neighbour graph of scattered samples.

    ``knn`` (binary, symmetrised), ``radius`` (binary within ``radius``), ``gaussian``
    (:math:`w=\exp(-d^2/2s^2)`, truncated at :math:`3s`; default :math:`s` = 2 × the median
    nearest-neighbour distance) or ``delaunay`` (natural neighbours, binary).
    """
    n = coords.shape[0]
    tree = cKDTree(coords)
    knn_index = None
    if neighbours == "knn":
        kk = min(k, n - 1)
        _, idx = tree.query(coords, k=kk + 1)
        # drop self (a co-located duplicate may come first: remove k itself wherever it is)
        keep = idx != np.arange(n)[:, None]
        order = np.argsort(~keep, axis=1, kind="stable")[:, :kk]
        idx = np.take_along_axis(idx, order, axis=1)
        knn_index = idx
        i, j = np.repeat(np.arange(n), kk), idx.ravel()
    elif neighbours in ("radius", "gaussian"):
        d1, _ = tree.query(coords, k=2)
        nn = float(np.median(d1[:, 1]))
        if neighbours == "gaussian":
            bandwidth = 2.0 * nn if bandwidth is None else float(bandwidth)
            cutoff = 3.0 * bandwidth
        else:
            cutoff = 3.0 * nn if radius is None else float(radius)
        pairs = tree.query_pairs(cutoff, output_type="ndarray")
        i, j = pairs[:, 0], pairs[:, 1]
    elif neighbours == "delaunay":
        if n < 4:
            raise InputError("Delaunay neighbours need at least 4 samples", value=n)
        tri = Delaunay(coords)
        indptr, indices = tri.vertex_neighbor_vertices
        i, j = np.repeat(np.arange(n), np.diff(indptr)), indices
    else:
        raise ModelError(
            f"neighbours must be one of {{'knn', 'radius', 'gaussian', 'delaunay'}}; got {neighbours!r}"
        )
    d = np.linalg.norm(coords[i] - coords[j], axis=1)
    # "1 + distance" is never zero, so co-located samples stay neighbours in the sparse structure
    Dp = sp.csr_matrix((1.0 + d, (i, j)), shape=(n, n))
    Dp = Dp.maximum(Dp.T).tocsr()
    W = Dp.copy()
    if neighbours == "gaussian":
        W.data = np.exp(-((W.data - 1.0) ** 2) / (2.0 * bandwidth**2))
    else:
        W.data = np.ones_like(W.data)
    return GraphNeighbourhood(W.tocsr(), Dp, knn_index)
