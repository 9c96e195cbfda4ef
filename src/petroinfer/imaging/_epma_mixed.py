r"""Mixed pixels: sub-pixel phase fractions by constrained linear unmixing of the count vector.

The Poisson-LDA membership of QntMap is a posterior *class probability*: with thousands of counts
per pixel it is essentially 0 or 1 even where the beam straddles a boundary, so a 50/50 pixel is
quantified with the parameters of one phase. Here the count vector of a pixel is modelled as a
linear mixture of the phases' pure-pixel mean counts (a volume mixture of X-ray generation, no
matrix cross-terms):

.. math:: x_{ip} \approx \sum_j f_{pj}\,\lambda_{ij}, \qquad f_{pj} \ge 0, \quad \sum_j f_{pj} = 1,

and :math:`f_p` minimises the Poisson-weighted squared residual
:math:`\sum_i (x_{ip} - \sum_j f_{pj}\lambda_{ij})^2 / \max(x_{ip}, 1)` (Neyman's χ²). The
constrained minimum is found exactly, vectorised over pixels, by solving the equality-constrained
problem on every support set of phases (KKT system) and keeping the best feasible solution; with
K phases that is :math:`2^K - 1` small batched solves. The fractions then replace the memberships in
:math:`wt_{ip} = \sum_j f_{pj}\alpha_{ij}(\beta_i I_{ip} - \gamma_{ij})`.

Linear spectral unmixing of this kind is standard in remote sensing (Keshava & Mustard 2002, IEEE
Signal Process. Mag. 19:44, fully constrained least squares); its use for EPMA mixed pixels here is a
reconstruction of the "multi-phase pixel" idea of Yasumoto et al. (2018), not QntMap's algorithm.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pandas as pd
import xarray as xr

from petroinfer.errors import InputError

__all__ = ["phase_fractions", "unmix_counts"]


def unmix_counts(x: np.ndarray, endmembers: np.ndarray) -> np.ndarray:
    r"""Fully constrained (f ≥ 0, Σf = 1) Poisson-weighted unmixing of count rows.

    Parameters
    ----------
    x : ndarray, shape (n, p)
        Counts of n pixels in p channels.
    endmembers : ndarray, shape (K, p)
        Pure-phase mean counts :math:`\lambda_{j\cdot}`.

    Returns
    -------
    ndarray, shape (n, K)
        Phase fractions, each row on the simplex.

    Examples
    --------
    >>> import numpy as np
    >>> e = np.array([[4000.0, 6000.0], [9000.0, 0.0]])
    >>> unmix_counts(np.array([[6500.0, 3000.0]]), e).round(3)
    array([[0.5, 0.5]])
    """
    x = np.asarray(x, float)
    e = np.asarray(endmembers, float)
    n, p = x.shape
    k = e.shape[0]
    w = 1.0 / np.maximum(x, 1.0)
    best = np.full(n, np.inf)
    out = np.zeros((n, k))
    for m in range(1, min(k, p + 1) + 1):
        for subset in combinations(range(k), m):
            E = e[list(subset)].T  # (p, m)
            if m == 1:
                f = np.ones((n, 1))
            else:
                A = np.einsum("ia,ni,ib->nab", E, w, E)  # Eᵀ W E per pixel
                M = np.zeros((n, m + 1, m + 1))
                M[:, :m, :m] = A
                M[:, :m, m] = M[:, m, :m] = 1.0
                rhs = np.concatenate([np.einsum("ia,ni,ni->na", E, w, x), np.ones((n, 1))], 1)
                try:
                    f = np.linalg.solve(M, rhs[..., None])[:, :m, 0]
                except np.linalg.LinAlgError:
                    f = (np.linalg.pinv(M) @ rhs[..., None])[:, :m, 0]
            ok = (f >= -1e-12).all(axis=1) & np.isfinite(f).all(axis=1)
            obj = np.sum(w * (x - f @ E.T) ** 2, axis=1)
            better = ok & (obj < best)
            if better.any():
                best[better] = obj[better]
                out[better] = 0.0
                out[np.ix_(better, list(subset))] = np.clip(f[better], 0.0, None)
    return out / out.sum(axis=1, keepdims=True)


def _fraction_block(block: np.ndarray, e: np.ndarray) -> np.ndarray:
    x = block.reshape(block.shape[0], -1).T
    return unmix_counts(x, e).T.reshape((e.shape[0], *block.shape[1:]))


def phase_fractions(counts: xr.DataArray, endmembers: pd.DataFrame) -> xr.DataArray:
    """Sub-pixel phase fractions of a count map (see the module notes for the model).

    Parameters
    ----------
    counts : DataArray
        (element, y, x) counts, numpy- or dask-backed (then the result is lazy, chunk by chunk).
    endmembers : DataFrame
        Phase × element pure-phase mean counts, e.g. the mean counts of the pixels whose
        Poisson-LDA membership exceeds 0.9 (:func:`petroinfer.imaging.quantify_epma` with
        ``mixed_pixels=True``).

    Returns
    -------
    DataArray
        (phase, y, x) fractions ≥ 0 summing to 1 over phase; ``attrs["units"] = "1"``.
    """
    e = endmembers.to_numpy(float)
    if not np.isfinite(e).all() or (e < 0).any():
        raise InputError("endmember counts must be finite and ≥ 0", value=e.tolist())
    arr = counts.sel(element=list(endmembers.columns)).transpose("element", "y", "x").data
    k = e.shape[0]
    if isinstance(arr, np.ndarray):
        frac = _fraction_block(np.asarray(arr, float), e)
    else:
        arr = arr.rechunk({0: -1})
        frac = arr.map_blocks(_fraction_block, e, chunks=((k,), *arr.chunks[1:]), dtype=float)
    return xr.DataArray(
        frac,
        dims=("phase", "y", "x"),
        coords={"phase": list(endmembers.index), "y": counts["y"], "x": counts["x"]},
        name="fraction",
        attrs={"units": "1"},
    )
