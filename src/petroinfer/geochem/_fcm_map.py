r"""Spatial fuzzy c-means on element maps larger than memory: Dask chunks with halos.

Every iteration is one map–reduce over the chunks of the (standardised) map. A task receives its
chunk padded by a halo of ``window // 2`` pixels (``dask.array.overlap`` with reflect padding at the
map edges, identical to the in-memory :class:`~petroinfer.geochem.SpatialFuzzyCMeans`), computes the
memberships from the current centres, the spatial term (window mean/median lag, or the Chuang
filter of the memberships), crops the halo and returns only the partial sums
:math:`\sum_k u_{ik}^m(x_k+\alpha\bar x_k)` and :math:`\sum_k u_{ik}^m` — a (c, F) array — so
the memory of a task is one chunk and the map is never held whole. Memberships are functions of the
centres only (FLICM, whose term depends on the previous memberships, is therefore in-memory only),
so the final memberships, labels and entropy are a lazy ``map_blocks`` over the same padded chunks,
written chunk by chunk to NetCDF.

Stopping rule at map scale: :math:`\max_{ij}|v^{(t)}_{ij}-v^{(t-1)}_{ij}|<` ``tol`` (analysed,
standardised units), because the previous memberships are not stored.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
from scipy import ndimage

from petroinfer._rng import RandomState
from petroinfer.errors import InputError, ModelError
from petroinfer.geochem._fcm_core import (
    Data,
    Spec,
    sq_distances,
    update_memberships,
)

__all__ = ["segment_map"]


def _as_dask(maps: Any, chunks: int) -> tuple[Any, list[str], tuple[str, str], tuple, tuple]:
    import dask.array as da

    if isinstance(maps, xr.Dataset):
        names = [str(k) for k in maps.data_vars]
        if not names:
            raise InputError("the map Dataset has no variables")
        maps = xr.concat([maps[k] for k in names], dim=pd.Index(names, name="element")).transpose(
            ..., "element"
        )
    if isinstance(maps, xr.DataArray):
        if maps.ndim != 3:
            raise InputError("element maps must have 3 dims (y, x, element)", value=maps.dims)
        ydim, xdim, edim = (str(d) for d in maps.dims)
        names = (
            [str(v) for v in maps[edim].values]
            if edim in maps.coords
            else [f"e{j}" for j in range(maps.shape[2])]
        )
        yc = maps[ydim].values if ydim in maps.coords else np.arange(maps.shape[0])
        xc = maps[xdim].values if xdim in maps.coords else np.arange(maps.shape[1])
        arr = maps.data
    else:
        arr = maps
        ydim, xdim = "y", "x"
        if getattr(arr, "ndim", 0) != 3:
            raise InputError(
                "element maps must have shape (ny, nx, n_elements)",
                value=getattr(arr, "shape", None),
            )
        names = [f"e{j}" for j in range(arr.shape[2])]
        yc, xc = np.arange(arr.shape[0]), np.arange(arr.shape[1])
    if not isinstance(arr, da.Array):
        arr = da.from_array(np.asarray(arr), chunks=(chunks, chunks, -1))
    else:
        arr = arr.rechunk((chunks, chunks, -1))
    if arr.shape[0] < 3 or arr.shape[1] < 3:
        raise InputError("an element map must be at least 3 × 3 pixels", value=arr.shape)
    return arr, names, (ydim, xdim), yc, xc


def _untransform(A: np.ndarray, transform: str | None) -> np.ndarray:
    if transform == "anscombe":
        return (A / 2.0) ** 2 - 0.375
    if transform == "sqrt":
        return A**2
    if transform == "log":
        return np.exp(A)
    return A


def _is_dask(maps: Any) -> bool:
    data = maps.data if isinstance(maps, xr.DataArray) else maps
    if isinstance(maps, xr.Dataset):
        return any(v.chunks is not None for v in maps.data_vars.values())
    return hasattr(data, "dask")


def _block_u(block: np.ndarray, V: np.ndarray, spec: Spec, h: int, window: int):
    """Memberships (cropped) and the data/lag (cropped) of one padded block."""
    ny, nx, F = block.shape
    flat = block.reshape(-1, F)
    data_full = Data.from_array(flat)
    inner = (slice(h, ny - h), slice(h, nx - h))
    lag = None
    D = sq_distances(data_full, V)
    if spec.method in ("s1", "s2") and spec.alpha != 0:
        lag = np.empty_like(block)
        nn = window * window - 1
        for j in range(F):
            band = block[..., j]
            if spec.lag == "mean":
                s = ndimage.uniform_filter(band, size=window, mode="reflect") * (window * window)
                lag[..., j] = (s - band) / nn
            else:
                fp = np.ones((window, window), bool)
                fp[window // 2, window // 2] = False
                lag[..., j] = ndimage.median_filter(band, footprint=fp, mode="reflect")
        D = D + spec.alpha * sq_distances(Data.from_array(lag.reshape(-1, F)), V)
    U, _ = update_memberships(D, spec.m, spec.beta, spec.noise)
    U = U.T  # (pixels, c)
    c = U.shape[1]
    if spec.method == "chuang" and (spec.q != 0 or spec.p != 1):
        img = U.reshape(ny, nx, c)
        H = np.empty_like(img)
        for i in range(c):
            H[..., i] = ndimage.uniform_filter(img[..., i], size=window, mode="reflect") * window**2
        W = img**spec.p * np.maximum(H, 0.0) ** spec.q
        tot = W.sum(axis=2, keepdims=True)
        rows = img.sum(axis=2, keepdims=True)
        img = np.where(tot > 0, W / np.where(tot > 0, tot, 1.0) * rows, img)
        U = img.reshape(-1, c)
    Uc = U.reshape(ny, nx, c)[inner].reshape(-1, c)
    Xc = block[inner].reshape(-1, F)
    Lc = None if lag is None else lag[inner].reshape(-1, F)
    return Uc, Xc, Lc


def _block_sums(block: np.ndarray, V: np.ndarray, spec: Spec, h: int, window: int):
    U, X, L = _block_u(block, V, spec, h, window)
    Um = U**spec.m
    num = (Um.T @ X).astype(np.float64)
    den = np.repeat(Um.sum(axis=0, dtype=np.float64)[:, None], X.shape[1], axis=1)
    if L is not None:
        num = num + spec.alpha * (Um.T @ L).astype(np.float64)
        den = den * (1.0 + spec.alpha)
    return num, den


def _block_outputs(block: np.ndarray, V: np.ndarray, spec: Spec, h: int, window: int):
    U, _, _ = _block_u(block, V, spec, h, window)
    ny, nx = block.shape[0] - 2 * h, block.shape[1] - 2 * h
    with np.errstate(divide="ignore", invalid="ignore"):
        ent = -np.where(U > 0, U * np.log(np.where(U > 0, U, 1.0)), 0.0).sum(axis=1)
    out = np.concatenate([U, ent[:, None]], axis=1).astype(np.float32)
    return out.reshape(ny, nx, -1)


def segment_map(
    maps: Any,
    n_clusters: int | str = "auto",
    *,
    method: str = "s1",
    alpha: float = 1.0,
    p: float = 1.0,
    q: float = 2.0,
    window: int = 3,
    m: float = 2.0,
    c_range: Any = None,
    criterion: str = "xie_beni",
    transform: str | None = None,
    tile: int = 256,
    dtype: str = "float32",
    chunks: int = 1024,
    tol: float = 1e-4,
    max_iter: int = 100,
    n_init: int = 3,
    init: Any = None,
    scheduler: Any = None,
    n_workers: int | None = None,
    out: str | os.PathLike | None = None,
    random_state: RandomState = None,
):
    r"""Segment a stack of element maps with spatial fuzzy c-means, chunk by chunk on Dask.

    Parameters
    ----------
    maps : xarray.DataArray, xarray.Dataset, dask or numpy array
        Element maps, shape (ny, nx, n_elements) (a DataArray with dims ``(y, x, element)`` or a
        Dataset of 2-D maps). Dask-backed inputs (e.g. ``xr.open_dataset(..., chunks=...)``) are
        never loaded whole.
    n_clusters : int or "auto", default "auto"
        Number of clusters; ``"auto"`` chooses it (and nothing else) on a strided overview of the
        map (every s-th pixel, at most ``tile × tile``)         window with :class:`~petroinfer.geochem.SpatialFuzzyCMeans` and ``criterion``.
    method, alpha, p, q, window, m : see :class:`~petroinfer.geochem.SpatialFuzzyCMeans`
        (``"flicm"`` is not available at map scale).
    c_range, criterion : see :class:`~petroinfer.geochem.FuzzyCMeans`.
    transform : {None, "anscombe", "sqrt", "log"}, default None
        Variance-stabilising transform of count maps before standardising: Anscombe
        :math:`2\sqrt{x+3/8}` (Poisson counts, Anscombe 1948), :math:`\sqrt{x}` or :math:`\ln x`
        (science notes ``imaging_texture.md`` §C.3); negative (or, for log, zero) values are refused.
    tile : int, default 256
        Largest side of the strided overview (every s-th pixel of the whole map) used for
        ``n_clusters="auto"`` and for the initial centres.
    dtype : {"float32", "float64"}, default "float32"
        Working precision of the chunks (partial sums are accumulated in float64).
    chunks : int, default 1024
        Chunk side in pixels (each task holds one padded chunk × elements × clusters).
    tol : float, default 1e-4
        Stop when the largest centre change (standardised units) is below ``tol``.
    max_iter : int, default 100
        Cap on the map passes.
    n_init : int, default 3
        Restarts of the overview fit that provides the initial centres.
    init : ndarray of shape (c, n_elements) or None
        Initial centres in standardised units (skips the overview fit when ``n_clusters`` is an int).
    scheduler : str, distributed.Client or None
        As :func:`petroinfer.parallel.map_tasks`: ``None`` = embedded local cluster (or
        ``$PETROINFER_SCHEDULER``), an address, or an open client.
    n_workers : int or None
        Threads of the embedded cluster.
    out : path or None
        NetCDF file to write (``memberships`` (y, x, cluster), ``label``, ``entropy``, ``centres``),
        chunk by chunk; the returned estimate is then opened lazily from it.
    random_state : int, numpy Generator or None
        Seed of the overview fit.

    Returns
    -------
    petroinfer.inference.Result
        ``estimate`` (lazy/dask-backed): ``memberships`` (y, x, cluster), ``label`` (y, x),
        ``entropy`` (y, x, nats), ``centres`` (cluster, element, standardised units) and
        ``centroids`` (input units); ``diagnostics``: passes, convergence, centre-shift history;
        ``criterion``: the overview's validity curves when c was chosen.

    Examples
    --------
    >>> from petroinfer.geochem.fuzzy import make_domain_map
    >>> img, truth = make_domain_map(shape=(40, 40), random_state=0)
    >>> res = segment_map(img, 3, chunks=16, n_workers=1, random_state=0)
    >>> res.estimate["label"].shape
    (40, 40)
    """
    import dask
    import dask.array as da

    from petroinfer.geochem._fcm_estimators import SpatialFuzzyCMeans
    from petroinfer.inference import Result
    from petroinfer.inference.results import make_metadata
    from petroinfer.parallel import get_client

    if method not in ("s1", "s2", "chuang"):
        raise ModelError(f"segment_map: method must be 's1', 's2' or 'chuang'; got {method!r}")
    if isinstance(window, bool) or not isinstance(window, int) or window < 3 or window % 2 == 0:
        raise ModelError(f"segment_map: window must be an odd int ≥ 3; got {window!r}")
    if isinstance(chunks, bool) or not isinstance(chunks, int) or chunks < window:
        raise ModelError(f"segment_map: chunks must be an int ≥ window; got {chunks!r}")
    if transform not in (None, "anscombe", "sqrt", "log"):
        raise ModelError(
            f"segment_map: transform must be None, 'anscombe', 'sqrt' or 'log'; got {transform!r}"
        )
    if dtype not in ("float32", "float64"):
        raise ModelError(f"segment_map: dtype must be 'float32' or 'float64'; got {dtype!r}")
    in_memory = not _is_dask(maps)
    arr, names, (ydim, xdim), yc, xc = _as_dask(maps, chunks)
    arr = arr.astype(dtype)
    ny, nx, F = arr.shape
    h = window // 2
    with get_client(scheduler, n_workers=n_workers) as client:
        # pass 1: finiteness and standardisation statistics
        if transform is not None:
            neg = client.compute(((arr <= 0) if transform == "log" else (arr < 0)).sum(), sync=True)
            if int(neg) > 0:
                raise InputError(
                    f"transform {transform!r} needs {'positive' if transform == 'log' else 'non-negative'} "
                    f"values; the maps contain {int(neg)} that are not"
                )
            arr = {"anscombe": lambda a: 2.0 * da.sqrt(a + 0.375), "sqrt": da.sqrt,
                   "log": da.log}[transform](arr)  # fmt: skip
        bad, mean, sd = client.compute(
            [(~da.isfinite(arr)).sum(), arr.mean(axis=(0, 1)), arr.std(axis=(0, 1), ddof=1)],
            sync=True,
        )
        if int(bad) > 0:
            raise InputError(f"maps contain {int(bad)} non-finite values; mask or fill them first")
        if np.any(~(sd > 0)):
            raise InputError(
                "element map is constant; it cannot be standardised",
                column=names[int(np.flatnonzero(~(sd > 0))[0])],
            )
        Z = (arr - mean.astype(dtype)) / sd.astype(dtype)
        # strided overview of the whole map: choose c (if asked) and the initial centres
        s = max(1, -(-max(ny, nx) // tile))
        tile_img = client.compute(Z[::s, ::s], sync=True).astype(np.float64)
        est = None
        if init is not None and n_clusters != "auto":
            V = np.asarray(init, dtype=float).copy()
            if V.shape != (int(n_clusters), F):
                raise InputError(f"init must have shape ({n_clusters}, {F})", value=V.shape)
            c, mm = int(n_clusters), float(m)
        else:
            est = SpatialFuzzyCMeans(
                n_clusters,
                method=method,
                alpha=alpha,
                p=p,
                q=q,
                window=window,
                m=m,
                preprocessing="none",
                criterion=criterion,
                c_range=c_range,
                n_init=n_init,
                random_state=random_state,
            ).fit(tile_img)
            c, mm = est.n_clusters_, est.m_
            V = est.cluster_centers_.copy()
        spec = Spec(
            m=mm,
            method=method,
            alpha=float(alpha),
            p=float(p),
            q=float(q),
            lag="median" if method == "s2" else "mean",
        )
        padded = da.overlap.overlap(
            Z, depth={0: h, 1: h, 2: 0}, boundary={0: "reflect", 1: "reflect", 2: "none"}
        )
        if in_memory:  # the map is in memory anyway: keep the padded chunks on the cluster
            padded = client.persist(padded)
        blocks = padded.to_delayed().ravel()
        shifts, converged, it = [], False, 0
        for it in range(1, max_iter + 1):  # noqa: B007
            tasks = [dask.delayed(_block_sums)(b, V, spec, h, window) for b in blocks]
            parts = client.gather(client.compute(tasks))
            num = sum(pt[0] for pt in parts)
            den = sum(pt[1] for pt in parts)
            V_new = num / den
            shift = float(np.max(np.abs(V_new - V)))
            shifts.append(shift)
            V = V_new
            if shift < tol:
                converged = True
                break
        outs = padded.map_blocks(
            _block_outputs,
            V,
            spec,
            h,
            window,
            dtype=np.float32,
            chunks=(Z.chunks[0], Z.chunks[1], (c + 1,)),
        )
        U = outs[..., :c]
        ent = outs[..., c]
        label = U.argmax(axis=2).astype(np.int16)
        coords = {ydim: yc, xdim: xc, "cluster": np.arange(c), "element": names}
        ds = xr.Dataset(
            {
                "memberships": ((ydim, xdim, "cluster"), U, {"units": "1"}),
                "label": ((ydim, xdim), label, {"units": "1"}),
                "entropy": ((ydim, xdim), ent, {"units": "nat"}),
                "centres": (("cluster", "element"), V, {"units": "standardised (z-score)"}),
                "centroids": (
                    ("cluster", "element"),
                    _untransform(V * sd + mean, transform),
                    {"units": "input units"},
                ),
            },
            coords=coords,
        )
        if in_memory:
            ds = client.compute(ds, sync=True)
        if out is not None:
            from petroinfer.io import atomic_path

            with atomic_path(out) as tmp, dask.config.set(scheduler="threads"):
                ds.to_netcdf(tmp, engine="h5netcdf")
            ds = xr.open_dataset(out, engine="h5netcdf", chunks={})
    diag = {
        "n_passes": it,
        "converged": converged,
        "centre_shift": shifts,
        "chunks": chunks,
        "n_chunks": len(blocks),
    }
    hyper = {
        "n_clusters": c,
        "m": mm,
        "method": method,
        "alpha": alpha,
        "p": p,
        "q": q,
        "window": window,
        "criterion": criterion,
    }
    meta = make_metadata(
        random_state=random_state,
        parameters=hyper,
        method=f"segment_map({method})",
        shape=[ny, nx, F],
    )
    crit = xr.Dataset.from_dataframe(est.criterion_) if n_clusters == "auto" else None
    return Result(
        estimate=ds, diagnostics=diag, hyperparameters=hyper, criterion=crit, metadata=meta
    )
