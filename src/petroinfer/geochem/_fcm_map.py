r"""Spatial fuzzy c-means on element maps larger than memory: blocks with halos on Dask.

The map is cut into ``chunks × chunks`` blocks. A task reads one block padded by a halo of
``window // 2`` pixels straight from the source (a region read: a lazily opened NetCDF/Zarr file
reads only that region; the map edges are padded by reflection, identical to the in-memory
:class:`~petroinfer.geochem.SpatialFuzzyCMeans`), standardises it, computes the memberships from the
current centres and the spatial term (window mean/median lag, or Chuang's filter of the
memberships), crops the halo and returns only what the pass needs:

1. statistics pass: per-element count, mean and sum of squared deviations (merged exactly with
   Chan, Golub & LeVeque's (1983) pairwise update), non-finite and out-of-domain counts;
2. each iteration: the (c, F) partial sums :math:`\sum_k u_{ik}^m(x_k+\alpha\bar x_k)` and
   :math:`\sum_k u_{ik}^m(1+\alpha)` (observed entries only with missing values);
3. outputs: the block's memberships, labels and entropy, written into the output file (NetCDF or
   Zarr) as soon as the block is done, plus its cluster counts and entropy sum.

At most ``threads + 1`` blocks are in flight at any time (a sliding window over the blocks), so the
memory of the whole run is a few padded blocks, whatever the size of the map. Memberships are
functions of the centres only (FLICM, whose term depends on the previous memberships, is therefore
in-memory only). Partial sums are added up in block order, so a seed gives the same result
whatever the order in which blocks complete.

Stopping rule at map scale: :math:`\max_{ij}|v^{(t)}_{ij}-v^{(t-1)}_{ij}|<` ``tol`` (analysed,
standardised units), because the previous memberships are not stored.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import xarray as xr

from petroinfer._rng import RandomState
from petroinfer.errors import InputError, ModelError
from petroinfer.geochem._fcm_core import (
    Data,
    Spec,
    chuang_filter,
    sq_distances,
    update_memberships,
)
from petroinfer.geochem._fcm_neighbours import GridNeighbourhood
from petroinfer.geochem._fcm_store import (
    FORMATS,
    SegmentationStore,
    open_segmentation,
    resolve_format,
)

__all__ = ["segment_map"]

TRANSFORMS = (None, "anscombe", "sqrt", "log")


# -- the source map: in memory (scattered once to the cluster) or lazy (dask, read by region) ----
@dataclass
class _Source:
    parts: list[Any]  # 3-D (y, x, k) or 2-D (y, x) arrays, concatenated along the elements
    names: list[str]
    dims: tuple[str, str]
    coords: tuple[np.ndarray, np.ndarray]
    shape: tuple[int, int, int]
    lazy: bool
    future: Any = None  # in-memory map scattered to the cluster
    _regions: dict = field(default_factory=dict)

    def region(self, sl: tuple[slice, slice]) -> list[Any]:
        """The lazy arrays of one region (slice-optimised: only that region is read)."""
        import dask

        key = (sl[0].start, sl[0].stop, sl[1].start, sl[1].stop)
        if key not in self._regions:
            self._regions[key] = [dask.optimize(p[sl])[0] for p in self.parts]
        return self._regions[key]


def _assemble(parts: list[np.ndarray]) -> np.ndarray:
    arrs = [np.asarray(p) for p in parts]
    arrs = [a[:, :, None] if a.ndim == 2 else a for a in arrs]
    return arrs[0] if len(arrs) == 1 else np.concatenate(arrs, axis=2)


def _is_lazy(a: Any) -> bool:
    return hasattr(a, "dask") or hasattr(getattr(a, "data", None), "dask")


def _source(maps: Any) -> _Source:
    if isinstance(maps, xr.Dataset):
        names = [str(k) for k in maps.data_vars]
        if not names:
            raise InputError("the map Dataset has no variables")
        first = maps[names[0]]
        if any(maps[k].dims != first.dims or maps[k].ndim != 2 for k in names):
            raise InputError("a map Dataset must hold 2-D (y, x) maps with the same dims")
        ydim, xdim = (str(d) for d in first.dims)
        lazy = any(_is_lazy(maps[k].variable) for k in names)
        parts = [maps[k].data if lazy else np.asarray(maps[k].values) for k in names]
        if not lazy:
            parts = [np.stack(parts, axis=-1)]
        yc = maps[ydim].values if ydim in maps.coords else np.arange(first.shape[0])
        xc = maps[xdim].values if xdim in maps.coords else np.arange(first.shape[1])
        shape = (first.shape[0], first.shape[1], len(names))
    elif isinstance(maps, xr.DataArray):
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
        lazy = _is_lazy(maps.variable)
        parts = [maps.data if lazy else np.asarray(maps.values)]
        shape = tuple(maps.shape)
    else:
        lazy = _is_lazy(maps)
        if getattr(maps, "ndim", 0) != 3:
            raise InputError(
                "element maps must have shape (ny, nx, n_elements)",
                value=getattr(maps, "shape", None),
            )
        ydim, xdim = "y", "x"
        names = [f"e{j}" for j in range(maps.shape[2])]
        yc, xc = np.arange(maps.shape[0]), np.arange(maps.shape[1])
        parts = [maps if lazy else np.asarray(maps)]
        shape = tuple(maps.shape)
    if shape[0] < 3 or shape[1] < 3:
        raise InputError("an element map must be at least 3 × 3 pixels", value=shape)
    if not lazy:
        try:
            parts = [np.asarray(parts[0], dtype=float)]
        except (TypeError, ValueError) as exc:
            raise InputError(f"map values must be numbers ({exc})") from exc
    return _Source(parts, names, (ydim, xdim), (yc, xc), tuple(int(v) for v in shape), lazy)


# -- block tasks ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Model:
    """What a block task needs besides its data and the centres."""

    mean: np.ndarray  # (F,) of the transformed map, float64
    sd: np.ndarray
    dtype: str
    transform: str | None
    spec: Spec
    window: int


def _transform(A: np.ndarray, transform: str | None) -> np.ndarray:
    if transform == "anscombe":
        return 2.0 * np.sqrt(A + 0.375)
    if transform == "sqrt":
        return np.sqrt(A)
    if transform == "log":
        return np.log(A)
    return A


def _untransform(A: np.ndarray, transform: str | None) -> np.ndarray:
    if transform == "anscombe":
        return (A / 2.0) ** 2 - 0.375
    if transform == "sqrt":
        return A**2
    if transform == "log":
        return np.exp(A)
    return A


def _block_stats(
    parts: list[np.ndarray], pads: tuple, transform: str | None, dtype: str
) -> dict[str, Any]:
    """Count, mean, squared deviations per element; counts and first places of bad values
    (``pads`` is unused: the statistics pass reads blocks without halo)."""
    A = _assemble(parts).astype(dtype, copy=False)
    F = A.shape[2]
    nan = np.isnan(A)
    out: dict[str, Any] = {}
    checks = {"inf": np.isinf(A), "empty": nan.all(axis=2, keepdims=True)}
    if transform is not None:
        with np.errstate(invalid="ignore"):
            checks["domain"] = (A <= 0) if transform == "log" else (A < 0)
    for key, bad in checks.items():
        n = int(bad.sum())
        out[key] = n
        if n:
            out[f"{key}_at"] = tuple(int(v) for v in np.argwhere(bad)[0])
    out["nan"] = int(nan.sum())
    if out["nan"]:
        out["nan_at"] = tuple(int(v) for v in np.argwhere(nan)[0])
    count, mean, m2 = np.zeros(F), np.zeros(F), np.zeros(F)
    for j in range(F):  # one element at a time: float64 copies of one band only
        with np.errstate(invalid="ignore", divide="ignore"):
            T = _transform(A[..., j], transform).astype(np.float64)
        count[j] = np.count_nonzero(~np.isnan(T))
        if count[j]:
            mean[j] = np.nansum(T) / count[j]
            m2[j] = np.nansum((T - mean[j]) ** 2)
    out.update(count=count, mean=mean, m2=m2)
    return out


def _merge_stats(parts: list[dict[str, Any]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Chan, Golub & LeVeque (1983): exact pairwise merge of (n, mean, M2), in block order."""
    n, mean, m2 = parts[0]["count"], parts[0]["mean"], parts[0]["m2"]
    for p in parts[1:]:
        nb, mb, m2b = p["count"], p["mean"], p["m2"]
        tot = n + nb
        with np.errstate(invalid="ignore", divide="ignore"):
            delta = mb - mean
            w = np.where(tot > 0, nb / np.where(tot > 0, tot, 1.0), 0.0)
            m2 = m2 + m2b + delta**2 * n * w
            mean = mean + delta * w
        n = tot
    return n, mean, m2


def _standardised(parts: list[np.ndarray], pads: tuple, model: _Model) -> np.ndarray:
    A = _assemble(parts).astype(model.dtype, copy=False)
    A = _transform(A, model.transform)
    Z = np.subtract(A, model.mean.astype(model.dtype), dtype=model.dtype)  # new array: A may
    Z /= model.sd.astype(model.dtype)  # be a view of the (shared) in-memory map
    if any(pads[0]) or any(pads[1]):  # map edges: reflect ("symmetric"), as ndimage's "reflect"
        Z = np.pad(Z, (pads[0], pads[1], (0, 0)), mode="symmetric")
    return Z


def _block_u(parts: list[np.ndarray], pads: tuple, model: _Model, V: np.ndarray):
    """Memberships (c, n) of every pixel of the padded block, its data and lag, the inner mask.

    Nothing of the block's size is copied beyond the standardised block and its lag: the halo is
    dropped from the sums by zero weights, not by cropping the data.
    """
    Z = _standardised(parts, pads, model)
    ny, nx, F = Z.shape
    h = model.window // 2
    spec = model.spec
    flat = Z.reshape(-1, F)
    data = Data.from_array(flat)
    hood = GridNeighbourhood((ny, nx), model.window)
    D = sq_distances(data, V)
    lagdata = None
    if spec.method in ("s1", "s2") and spec.alpha != 0:
        lagdata = Data.from_array(hood.lag(flat, spec.lag))
        D += spec.alpha * sq_distances(lagdata, V)
    U, _ = update_memberships(D, spec.m, spec.beta, spec.noise)
    del D
    U = chuang_filter(spec, U, hood)
    inner = np.zeros((ny, nx), bool)
    inner[h : ny - h, h : nx - h] = True
    return U, data, lagdata, inner


def _block_sums(parts, pads, model: _Model, V: np.ndarray):
    U, data, lagdata, inner = _block_u(parts, pads, model, V)
    spec = model.spec
    Um = U * U if spec.m == 2.0 else U**spec.m
    Um[:, ~inner.ravel()] = 0.0  # the halo belongs to the neighbouring blocks
    F = data.X0.shape[1]

    def den_of(d: Data):
        if d.M is None:
            return np.repeat(Um.sum(axis=1, dtype=np.float64)[:, None], F, axis=1)
        return (Um @ d.M).astype(np.float64)

    num = (Um @ data.X0).astype(np.float64)
    den = den_of(data)
    if lagdata is not None:
        num = num + spec.alpha * (Um @ lagdata.X0).astype(np.float64)
        den = den + spec.alpha * den_of(lagdata)
    return num, den


def _block_outputs(parts, pads, model: _Model, V: np.ndarray) -> dict[str, Any]:
    U, _, _, inner = _block_u(parts, pads, model, V)
    c = U.shape[0]
    h = model.window // 2
    by, bx = inner.shape[0] - 2 * h, inner.shape[1] - 2 * h
    U = U.reshape(c, *inner.shape)[:, h : h + by, h : h + bx].reshape(c, -1)
    U = np.ascontiguousarray(U.T).astype(model.dtype, copy=False)  # (n_inner, c)
    with np.errstate(divide="ignore", invalid="ignore"):
        ent = -np.where(U > 0, U * np.log(np.where(U > 0, U, 1.0)), 0.0).sum(axis=1)
    label = U.argmax(axis=1).astype(np.int16)
    return {
        "memberships": U.reshape(by, bx, c),
        "label": label.reshape(by, bx),
        "entropy": ent.astype(model.dtype).reshape(by, bx),
        "counts": np.bincount(label, minlength=c),
        "entropy_sum": float(ent.sum(dtype=np.float64)),
    }


def _block_stack(parts, pads, model: _Model, V: np.ndarray) -> np.ndarray:
    """(by, bx, c + 1): memberships then entropy (the lazy, no-``out`` estimate)."""
    o = _block_outputs(parts, pads, model, V)
    return np.concatenate([o["memberships"], o["entropy"][..., None]], axis=2)


def _on_array(func, A: np.ndarray, sl: tuple[slice, slice], *args):
    return func([A[sl]], *args)


# -- scheduling: a sliding window of blocks over the cluster --------------------------------------
def _regions(ny: int, nx: int, b: int, h: int) -> list[tuple]:
    """Blocks (y0, y1, x0, x1), the padded read slices and the reflect pads at map edges."""
    out = []
    for y0 in range(0, ny, b):
        for x0 in range(0, nx, b):
            y1, x1 = min(y0 + b, ny), min(x0 + b, nx)
            ry0, ry1, rx0, rx1 = max(0, y0 - h), min(ny, y1 + h), max(0, x0 - h), min(nx, x1 + h)
            pads = ((h - (y0 - ry0), h - (ry1 - y1)), (h - (x0 - rx0), h - (rx1 - x1)))
            out.append(((y0, y1, x0, x1), (slice(ry0, ry1), slice(rx0, rx1)), pads))
    return out


def _submit(client, src: _Source, func, sl, *args):
    import dask

    if src.future is not None:
        return client.submit(_on_array, func, src.future, sl, *args, pure=False)
    return client.compute(dask.delayed(func)(src.region(sl), *args))


def _stream(client, jobs: list, submit, consume, inflight: int) -> None:
    """Run ``submit(job)`` for every job, at most ``inflight`` at once; ``consume(i, result)``."""
    from distributed import as_completed

    queue = iter(enumerate(jobs))
    running: dict[Any, int] = {}
    for i, job in queue:
        running[submit(job)] = i
        if len(running) >= inflight:
            break
    ac = as_completed(list(running), loop=client.loop)
    try:
        for fut in ac:
            i = running.pop(fut)
            res = fut.result()
            fut.release()
            consume(i, res)
            nxt = next(queue, None)
            if nxt is not None:
                new = submit(nxt[1])
                running[new] = nxt[0]
                ac.add(new)
    finally:
        if running:
            client.cancel(list(running))


def _check_stats(stats: list[dict], regions: list, names: list[str], transform, missing) -> None:
    def where(key: str) -> tuple[int, int, str]:
        for st, (reg, _, _) in zip(stats, regions, strict=True):
            if st[key]:
                y, x, j = st[f"{key}_at"]
                return reg[0] + y, reg[2] + x, names[j] if key != "empty" else None
        raise AssertionError(key)

    def total(key: str) -> int:
        return sum(st[key] for st in stats)

    if transform is not None and total("domain"):
        y, x, col = where("domain")
        need = "positive" if transform == "log" else "non-negative"
        raise InputError(
            f"transform {transform!r} needs {need} values; the maps contain {total('domain')} "
            f"that are not (first at y={y}, x={x})",
            column=col,
        )
    if total("inf"):
        y, x, col = where("inf")
        raise InputError(
            f"maps contain {total('inf')} infinite values (first at y={y}, x={x})", column=col
        )
    if total("nan") and missing != "pds":
        y, x, col = where("nan")
        raise InputError(
            f"maps contain {total('nan')} non-finite values (first at y={y}, x={x}); mask or fill "
            "them first, or pass missing='pds' to cluster incomplete pixels",
            column=col,
        )
    if total("empty"):
        y, x, _ = where("empty")
        raise InputError(
            f"{total('empty')} pixels have no value in any element map (first at y={y}, x={x})"
        )


def _check_args(method, window, chunks, transform, dtype, missing, out_format) -> None:
    if method not in ("s1", "s2", "chuang"):
        raise ModelError(f"segment_map: method must be 's1', 's2' or 'chuang'; got {method!r}")
    if isinstance(window, bool) or not isinstance(window, int) or window < 3 or window % 2 == 0:
        raise ModelError(f"segment_map: window must be an odd int ≥ 3; got {window!r}")
    if isinstance(chunks, bool) or not isinstance(chunks, int) or chunks < window:
        raise ModelError(f"segment_map: chunks must be an int ≥ window; got {chunks!r}")
    if transform not in TRANSFORMS:
        raise ModelError(
            f"segment_map: transform must be None, 'anscombe', 'sqrt' or 'log'; got {transform!r}"
        )
    if dtype not in ("float32", "float64"):
        raise ModelError(f"segment_map: dtype must be 'float32' or 'float64'; got {dtype!r}")
    if missing not in ("error", "pds"):
        raise ModelError(f"segment_map: missing must be 'error' or 'pds'; got {missing!r}")
    if missing == "pds" and method == "s2":
        raise ModelError("segment_map: the median lag (s2) needs complete maps; use s1 or chuang")
    if out_format not in (None, *FORMATS):
        raise ModelError(f"segment_map: out_format must be 'netcdf' or 'zarr'; got {out_format!r}")


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
    missing: str = "error",
    tile: int = 256,
    dtype: str = "float32",
    chunks: int = 512,
    tol: float = 1e-4,
    max_iter: int = 100,
    n_init: int = 3,
    init: Any = None,
    scheduler: Any = None,
    n_workers: int | None = None,
    out: str | os.PathLike | None = None,
    out_format: str | None = None,
    random_state: RandomState = None,
):
    r"""Segment a stack of element maps with spatial fuzzy c-means, block by block on Dask.

    Parameters
    ----------
    maps : xarray.DataArray, xarray.Dataset, dask or numpy array
        Element maps, shape (ny, nx, n_elements) (a DataArray with dims ``(y, x, element)`` or a
        Dataset of 2-D maps). Dask-backed inputs (e.g. ``xr.open_dataset(..., chunks={})`` or
        ``xr.open_zarr``) are never loaded whole: every task reads one padded block.
    n_clusters : int or "auto", default "auto"
        Number of clusters; ``"auto"`` chooses it (and nothing else) on a strided overview of the
        map (every s-th pixel, at most ``tile × tile``) with
        :class:`~petroinfer.geochem.SpatialFuzzyCMeans` and ``criterion``.
    method : {"s1", "s2", "chuang"}, default "s1"
        Spatial term, as :class:`~petroinfer.geochem.SpatialFuzzyCMeans` (``"flicm"`` is not
        available at map scale).
    alpha : float, default 1.0
        Weight α of the spatial lag (s1, s2).
    p : float, default 1.0
        Exponent of the membership in Chuang's filter.
    q : float, default 2.0
        Exponent of the window sum in Chuang's filter.
    window : int, default 3
        Odd window side (pixels); the halo of a block is ``window // 2``.
    m : float, default 2.0
        Fuzzifier (> 1).
    c_range : sequence of int or None
        Candidate numbers of clusters for ``n_clusters="auto"``.
    criterion : str, default "xie_beni"
        Validity index that chooses c (see :class:`~petroinfer.geochem.FuzzyCMeans`).
    transform : {None, "anscombe", "sqrt", "log"}, default None
        Variance-stabilising transform of count maps before standardising: Anscombe
        :math:`2\sqrt{x+3/8}` (Poisson counts, Anscombe 1948), :math:`\sqrt{x}` or :math:`\ln x`
        (science notes ``imaging_texture.md`` §C.3); negative (or, for log, zero) values are refused.
    missing : {"error", "pds"}, default "error"
        NaN pixels are refused (``"error"``) or handled by the partial distance strategy
        (``"pds"``, Hathaway & Bezdek 2001), exactly as the in-memory estimator with
        ``missing="pds"``: standardisation over observed values, scaled partial distances, window
        means over observed neighbours, centres averaged over observed entries. A pixel with no
        value at all is refused; s2 (median lag) needs complete maps.
    tile : int, default 256
        Largest side of the strided overview (every s-th pixel of the whole map) used for
        ``n_clusters="auto"`` and for the initial centres.
    dtype : {"float32", "float64"}, default "float32"
        Working precision of the blocks and of the ``memberships``/``entropy`` outputs (partial
        sums and statistics are accumulated in float64).
    chunks : int, default 512
        Block side in pixels. A task holds one padded block (about four copies of
        ``(chunks + window)² × n_elements`` values); at most threads + 1 blocks are in flight.
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
        Output NetCDF file or Zarr store (``memberships`` (y, x, cluster), ``label``, ``entropy``,
        ``centres``, ``centroids``), written block by block under a temporary name and renamed
        when complete; the returned estimate is then opened lazily from it.
    out_format : {"netcdf", "zarr"} or None
        Format of ``out``; ``None`` = Zarr when ``out`` ends in ``.zarr``, else NetCDF.
    random_state : int, numpy Generator or None
        Seed of the overview fit.

    Returns
    -------
    petroinfer.inference.Result
        ``estimate``: ``memberships`` (y, x, cluster), ``label`` (y, x), ``entropy`` (y, x, nat),
        ``centres`` (cluster, element, standardised units) and ``centroids`` (input units) —
        numpy-backed for an in-memory map without ``out``, opened lazily from ``out``, or a lazy
        dask graph of independent blocks for a lazy map without ``out``; ``diagnostics``: passes,
        convergence, centre-shift history, blocks, and (when the outputs were computed)
        ``cluster_pixels`` and ``mean_entropy``; ``criterion``: the overview's validity curves
        when c was chosen.

    Notes
    -----
    The model and updates are those of :class:`~petroinfer.geochem.SpatialFuzzyCMeans` (FCM_S1/S2,
    Chen & Zhang 2004; Chuang et al. 2006); with the same initial centres and a fixed number of
    passes, the centres equal the in-memory ones to rounding (float64). Standardisation statistics
    are merged across blocks with the pairwise update of Chan, Golub & LeVeque (1983):
    :math:`\bar x=\bar x_a+\delta n_b/n`, :math:`M_2=M_{2,a}+M_{2,b}+\delta^2 n_a n_b/n`.

    Examples
    --------
    >>> from petroinfer.geochem.fuzzy import make_domain_map
    >>> img, truth = make_domain_map(shape=(40, 40), random_state=0)
    >>> res = segment_map(img, 3, chunks=16, n_workers=1, random_state=0)
    >>> res.estimate["label"].shape
    (40, 40)
    """
    from petroinfer.geochem._fcm_estimators import SpatialFuzzyCMeans
    from petroinfer.inference import Result
    from petroinfer.inference.results import make_metadata
    from petroinfer.parallel import get_client

    _check_args(method, window, chunks, transform, dtype, missing, out_format)
    src = _source(maps)
    ny, nx, F = src.shape
    names, (ydim, xdim), (yc, xc) = src.names, src.dims, src.coords
    h = window // 2
    regions = _regions(ny, nx, chunks, h)
    fmt = None if out is None else resolve_format(out, out_format)
    with get_client(scheduler, n_workers=n_workers) as client:
        inflight = sum(client.nthreads().values()) + 1
        if not src.lazy:
            src.future = client.scatter(src.parts[0], broadcast=False, hash=False)

        def run(func, halo, args, consume):
            """``func(parts, pads, *args)`` on every block (with its halo, or without)."""

            def submit(r):
                (y0, y1, x0, x1), sl, pads = r
                if not halo:
                    sl, pads = (slice(y0, y1), slice(x0, x1)), ((0, 0), (0, 0))
                return _submit(client, src, func, sl, pads, *args)

            _stream(client, regions, submit, consume, inflight)

        # pass 1: finiteness, domain of the transform, standardisation statistics
        stats: list[Any] = [None] * len(regions)
        run(_block_stats, False, (transform, dtype), stats.__setitem__)
        _check_stats(stats, regions, names, transform, missing)
        count, mean, m2 = _merge_stats(stats)
        with np.errstate(invalid="ignore", divide="ignore"):
            sd = np.sqrt(m2 / (count - 1))
        if np.any(~(sd > 0)):
            raise InputError(
                "element map is constant (or has fewer than 2 values); it cannot be standardised",
                column=names[int(np.flatnonzero(~(sd > 0))[0])],
            )
        model = _Model(mean, sd, dtype, transform, Spec(), window)  # spec set once m is known
        # strided overview of the whole map: choose c (if asked) and the initial centres
        s = max(1, -(-max(ny, nx) // tile))
        if src.lazy:
            raw = _assemble(client.compute([q_[::s, ::s] for q_ in src.parts], sync=True))
        else:
            raw = src.parts[0][::s, ::s]
        tile_img = _standardised([raw], ((0, 0), (0, 0)), model).astype(np.float64)
        est = None
        if init is not None and n_clusters != "auto":
            V = np.asarray(init, dtype=float).copy()
            if V.shape != (int(n_clusters), F):
                raise InputError(f"init must have shape ({n_clusters}, {F})", value=V.shape)
            c, mm = int(n_clusters), float(m)
        else:
            sfcm = SpatialFuzzyCMeans(
                n_clusters, method=method, alpha=alpha, p=p, q=q, window=window, m=m,
                preprocessing="none", criterion=criterion, c_range=c_range, n_init=n_init,
                missing=missing, random_state=random_state,
            )  # fmt: skip
            if n_clusters == "auto" or m == "auto":  # the validity curves go in the Result
                est = sfcm.fit(tile_img)
                c, mm, V = est.n_clusters_, est.m_, est.cluster_centers_.copy()
            else:  # initial centres only: no indices, no spatial diagnostics
                c, mm, V = int(n_clusters), float(m), sfcm._best_centres(tile_img)
        spec = Spec(m=mm, method=method, alpha=float(alpha), p=float(p), q=float(q),
                    lag="median" if method == "s2" else "mean")  # fmt: skip
        model = replace(model, spec=spec)
        shifts, converged, it = [], False, 0
        for it in range(1, max_iter + 1):  # noqa: B007
            parts: list[Any] = [None] * len(regions)
            run(_block_sums, True, (model, V), parts.__setitem__)
            num = sum(pt[0] for pt in parts)
            den = sum(pt[1] for pt in parts)
            with np.errstate(invalid="ignore", divide="ignore"):
                V_new = num / den
            V_new = np.where(np.isfinite(V_new), V_new, 0.0)
            shift = float(np.max(np.abs(V_new - V)))
            shifts.append(shift)
            V = V_new
            if shift < tol:
                converged = True
                break
        coords = {ydim: yc, xdim: xc, "cluster": np.arange(c), "element": names}
        small = xr.Dataset(
            {
                "centres": (("cluster", "element"), V, {"units": "standardised (z-score)"}),
                "centroids": (
                    ("cluster", "element"),
                    _untransform(V * sd + mean, transform),
                    {"units": "input units"},
                ),
            },
            coords=coords,
        )
        totals = {"counts": np.zeros(c, np.int64), "entropy": [0.0] * len(regions)}

        def tally(i: int, o: dict[str, Any]) -> None:
            totals["counts"] += o["counts"]
            totals["entropy"][i] = o["entropy_sum"]

        if out is not None:
            store = SegmentationStore(out, fmt, small, (ydim, xdim), c, chunks, dtype)
            try:
                run(_block_outputs, True, (model, V),
                    lambda i, o: (store.write(regions[i][0], o), tally(i, o)))  # fmt: skip
                store.commit()
            except BaseException:
                store.abort()
                raise
            ds = open_segmentation(out, fmt)
        elif not src.lazy:
            U = np.empty((ny, nx, c), dtype)
            lab = np.empty((ny, nx), np.int16)
            ent = np.empty((ny, nx), dtype)

            def fill(i: int, o: dict[str, Any]) -> None:
                y0, y1, x0, x1 = regions[i][0]
                U[y0:y1, x0:x1], lab[y0:y1, x0:x1] = o["memberships"], o["label"]
                ent[y0:y1, x0:x1] = o["entropy"]
                tally(i, o)

            run(_block_outputs, True, (model, V), fill)
            ds = small.assign(
                memberships=((ydim, xdim, "cluster"), U, {"units": "1"}),
                label=((ydim, xdim), lab, {"units": "1"}),
                entropy=((ydim, xdim), ent, {"units": "nat"}),
            )
        else:
            ds = _lazy_outputs(src, regions, small, (ydim, xdim), model, V, c)
            totals = None
        if src.future is not None:
            client.cancel(src.future)
            src.future = None
    diag: dict[str, Any] = {
        "n_passes": it,
        "converged": converged,
        "centre_shift": shifts,
        "chunks": chunks,
        "n_chunks": len(regions),
    }
    if totals is not None:
        diag["cluster_pixels"] = totals["counts"].tolist()
        diag["mean_entropy"] = float(sum(totals["entropy"]) / (ny * nx))
    if out is not None:
        diag["out"] = str(out)
        diag["out_format"] = fmt
    hyper = {"n_clusters": c, "m": mm, "method": method, "alpha": alpha, "p": p, "q": q,
             "window": window, "criterion": criterion, "missing": missing}  # fmt: skip
    meta = make_metadata(random_state=random_state, parameters=hyper,
                         method=f"segment_map({method})", shape=[ny, nx, F])  # fmt: skip
    crit = xr.Dataset.from_dataframe(est.criterion_) if est is not None else None
    return Result(
        estimate=ds, diagnostics=diag, hyperparameters=hyper, criterion=crit, metadata=meta
    )


def _lazy_outputs(src: _Source, regions, small, dims, model: _Model, V, c) -> xr.Dataset:
    """Outputs as a dask graph of independent blocks (each reads only its padded region)."""
    import dask
    import dask.array as da

    ydim, xdim = dims
    rows: dict[int, list] = {}
    for (y0, y1, x0, x1), sl, pads in regions:
        blk = dask.delayed(_block_stack)(src.region(sl), pads, model, V)
        arr = da.from_delayed(blk, shape=(y1 - y0, x1 - x0, c + 1), dtype=model.dtype)
        rows.setdefault(y0, []).append(arr)
    outs = da.concatenate([da.concatenate(rows[k], axis=1) for k in sorted(rows)], axis=0)
    U = outs[..., :c]
    return small.assign(
        memberships=((ydim, xdim, "cluster"), U, {"units": "1"}),
        label=((ydim, xdim), U.argmax(axis=2).astype(np.int16), {"units": "1"}),
        entropy=((ydim, xdim), outs[..., c], {"units": "nat"}),
    )
