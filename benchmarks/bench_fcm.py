"""Benchmark: fuzzy c-means per-iteration time vs scikit-fuzzy, and a 4096² × 12 map on Dask chunks.

Run: ``python benchmarks/bench_fcm.py`` (writes ``benchmarks/results/fcm.json``).

1. **Per-iteration time** on 10⁵, 3·10⁵ and 10⁶ pixels × 12 elements, c = 5, m = 2, a fixed number of
   iterations from the same random start (no stopping test): petroinfer's FCM engine (in this
   process) against ``skfuzzy.cluster.cmeans`` (``error=0``). scikit-fuzzy is not a petroinfer
   dependency; it runs in its own interpreter given by ``$PETROINFER_SKFUZZY_PYTHON`` (default
   ``~/.cache/petroinfer-bench/skfuzzy-venv/bin/python``; create it with
   ``python -m venv DIR && DIR/bin/pip install scikit-fuzzy``) on the same data (regenerated from
   the same seed, checked by a checksum). The petroinfer side also runs the spatial variant FCM_S1
   on the same pixels as a 1000 × N/1000 image.
2. **Out-of-core map**: a 4096 × 4096 × 12 synthetic map (3 domains) generated lazily chunk by
   chunk into a chunked NetCDF file (never held whole: 0.75 GB as float32, 1.5 GB as float64), then
   opened lazily and segmented end to end by :func:`petroinfer.geochem.segment_map` (SFCM, c = 3,
   512² blocks, float32; statistics, overview, passes, outputs written block by block to NetCDF or
   Zarr, then the CLI's read-back for figures) on the embedded Dask cluster, in a child process per
   output format. Peak resident memory is sampled by stage with psutil and checked against
   ``ru_maxrss``. Passes are capped (``--passes``). ``--part map`` re-runs only this part;
   ``--chunks`` and ``--formats netcdf,zarr`` choose the block side and the outputs.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np

SIZES = (100_000, 300_000, 1_000_000)
N_EL, C, ITERS = 12, 5, 10
MAP = 4096

_PEER = textwrap.dedent(
    """
    import json, sys, time
    import numpy as np, skfuzzy
    n, F, c, iters = map(int, sys.argv[1:5])
    rng = np.random.default_rng(n)
    X = rng.normal(size=(n, F)) + rng.integers(0, c, size=n)[:, None]
    U0 = rng.dirichlet(np.ones(c), size=n)
    t = time.perf_counter()
    skfuzzy.cluster.cmeans(X.T, c, 2.0, error=0.0, maxiter=iters, init=U0.T)
    dt = time.perf_counter() - t
    print(json.dumps({"seconds": dt, "checksum": float(X.sum()), "version": skfuzzy.__version__}))
    """
)


def data(n: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(n)
    X = rng.normal(size=(n, N_EL)) + rng.integers(0, C, size=n)[:, None]
    U0 = rng.dirichlet(np.ones(C), size=n)
    return X, U0


def peer_python() -> str | None:
    env = os.environ.get("PETROINFER_SKFUZZY_PYTHON")
    cands = [env] if env else []
    cands += [
        str(Path.home() / ".cache/petroinfer-bench/skfuzzy-venv/bin/python"),
        "/tmp/skf/bin/python",
    ]
    for c in cands:
        if c and Path(c).exists():
            return c
    return None


def per_iteration() -> list[dict]:
    from petroinfer.geochem._fcm_core import Data, Spec, run_fcm
    from petroinfer.geochem._fcm_neighbours import GridNeighbourhood

    py = peer_python()
    rows = []
    for n in SIZES:
        X, U0 = data(n)
        row = {"pixels": n, "elements": N_EL, "clusters": C, "iterations": ITERS}
        for dtype in ("float64", "float32"):
            d = Data.from_array(X.astype(dtype))
            t = time.perf_counter()
            run_fcm(Spec(m=2.0), d, U0=U0.astype(dtype), tol=0.0, max_iter=ITERS)
            row[f"petroinfer_{dtype}_s_per_iter"] = (time.perf_counter() - t) / ITERS
        hood = GridNeighbourhood((1000, n // 1000), 3)
        t = time.perf_counter()
        lag = Data.from_array(hood.lag(X, "mean"))
        spec = Spec(m=2.0, method="s1", alpha=1.0)
        run_fcm(spec, Data.from_array(X), U0=U0, hood=hood, lagdata=lag, tol=0.0, max_iter=ITERS)
        row["petroinfer_sfcm_s_per_iter"] = (time.perf_counter() - t) / ITERS
        if py:
            out = subprocess.run(
                [py, "-c", _PEER, str(n), str(N_EL), str(C), str(ITERS)],
                capture_output=True, text=True, check=True,
            )  # fmt: skip
            peer = json.loads(out.stdout)
            assert abs(peer["checksum"] - float(X.sum())) < 1e-6 * abs(float(X.sum())) + 1e-6
            row["skfuzzy_version"] = peer["version"]
            row["skfuzzy_s_per_iter"] = peer["seconds"] / ITERS
            row["speedup_float64"] = (
                row["skfuzzy_s_per_iter"] / row["petroinfer_float64_s_per_iter"]
            )
            row["speedup_float32"] = (
                row["skfuzzy_s_per_iter"] / row["petroinfer_float32_s_per_iter"]
            )
        rows.append(row)
        print(json.dumps(row), flush=True)
    return rows


def _block(block_info=None, seed: int = 0):
    """One chunk of the synthetic 4096² × 12 map (3 Voronoi domains + noise), made on demand."""
    from petroinfer.geochem._fcm_synthetic import DOMAIN_MEANS

    info = block_info[None]
    (y0, y1), (x0, x1), _ = info["array-location"]
    yy, xx = np.mgrid[y0:y1, x0:x1]
    seeds = np.array([[0.25, 0.3], [0.7, 0.25], [0.5, 0.75]])
    P = np.stack([yy / MAP, xx / MAP], axis=-1)
    truth = ((P[..., None, :] - seeds) ** 2).sum(-1).argmin(-1)
    means = np.tile(DOMAIN_MEANS, (1, N_EL // DOMAIN_MEANS.shape[1]))
    rng = np.random.default_rng([seed, y0, x0])
    return (means[truth] + rng.normal(0, 1.0, size=(*truth.shape, N_EL))).astype(np.float32)


def write_map(path: str, chunks: int) -> dict:
    """Generate the synthetic map chunk by chunk into a chunked NetCDF file (never whole)."""
    import dask
    import dask.array as da
    import xarray as xr

    arr = da.map_blocks(_block, chunks=((chunks,) * (MAP // chunks),) * 2 + ((N_EL,),),
                        dtype=np.float32)  # fmt: skip
    ds = xr.Dataset({"maps": (("y", "x", "element"), arr)})
    t = time.perf_counter()
    with dask.config.set(scheduler="threads", num_workers=2):
        ds.to_netcdf(path, engine="h5netcdf",
                     encoding={"maps": {"chunksizes": (256, 256, N_EL)}})  # fmt: skip
    return {"write_s": time.perf_counter() - t,
            "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}  # fmt: skip


class _RSSSampler:
    """Peak resident memory (MiB) by stage: psutil sampling every 20 ms in a thread, plus
    ``ru_maxrss`` (the kernel's high-water mark) as a check."""

    def __init__(self) -> None:
        import threading

        import psutil

        self.proc = psutil.Process()
        self.peak = 0
        self.stop = False
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        while not self.stop:
            self.peak = max(self.peak, self.proc.memory_info().rss)
            time.sleep(0.02)

    def stage(self) -> float:
        """Peak RSS since the previous call (MiB), then reset."""
        peak = max(self.peak, self.proc.memory_info().rss) / 2**20
        self.peak = 0
        return peak


def map_scale(passes: int, chunks: int, path: str, fmt: str) -> dict:
    """Segment the lazily opened map end to end: statistics, overview, passes, outputs written
    block by block to NetCDF or Zarr, then the read-back the CLI does (sub-sampled label and
    entropy maps for the figures, cluster fractions)."""
    import xarray as xr

    import petroinfer.geochem._fcm_map as fm
    from petroinfer.geochem import segment_map

    rss = _RSSSampler()
    stages: dict[str, float] = {}
    orig = fm._stream
    names = iter(["statistics"] + [f"pass_{i}" for i in range(1, passes + 1)])

    def timed_stream(client, jobs, submit, consume, inflight):
        name = "outputs" if getattr(consume, "__name__", "") == "<lambda>" else next(names)
        rss.stage()
        orig(client, jobs, submit, consume, inflight)
        stages[name] = rss.stage()

    fm._stream = timed_stream
    maps = xr.open_dataset(path, engine="h5netcdf", chunks={})["maps"]
    before = rss.stage()
    out = Path(path).with_suffix(".seg.zarr" if fmt == "zarr" else ".seg.nc")
    t = time.perf_counter()
    res = segment_map(maps, 3, chunks=chunks, max_iter=passes, n_workers=2, tol=1e-3,
                      out=out, out_format=fmt, random_state=0)  # fmt: skip
    seg_s = time.perf_counter() - t
    after_seg = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rss.stage()
    est = res.estimate
    step = max(1, MAP // 1024)
    _ = est["label"][::step, ::step].values, est["entropy"][::step, ::step].values
    sizes = np.asarray(res.diagnostics["cluster_pixels"], float)
    readback = rss.stage()
    wall = time.perf_counter() - t
    est.close()
    import shutil

    shutil.rmtree(out) if out.is_dir() else out.unlink()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # MiB (Linux: KiB)
    return {
        "shape": [MAP, MAP, N_EL],
        "map_size_mib_float32": MAP * MAP * N_EL * 4 / 2**20,
        "map_size_mib_float64": MAP * MAP * N_EL * 8 / 2**20,
        "input": "chunked NetCDF (256² × 12 HDF5 chunks), opened lazily (chunks={})",
        "output_format": fmt,
        "chunks": chunks,
        "working_dtype": "float32",
        "passes": res.diagnostics["n_passes"],
        "converged": res.diagnostics["converged"],
        "centre_shift": res.diagnostics["centre_shift"],
        "segment_s": seg_s,
        "wall_s": wall,
        "s_per_block_pass": seg_s
        / ((res.diagnostics["n_passes"] + 2) * res.diagnostics["n_chunks"]),
        "rss_mib_before": before,
        "peak_rss_mib_by_stage": stages,
        "peak_rss_mib_readback": readback,
        "peak_rss_mib_after_segment_map": after_seg,
        "peak_rss_mib": peak,
        "peak_over_map_float32": peak / (MAP * MAP * N_EL * 4 / 2**20),
        "cluster_fractions": (sizes / sizes.sum()).round(3).tolist(),
        "mean_entropy_nat": res.diagnostics["mean_entropy"],
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument(
        "--part", choices=("all", "iter", "map", "child-write", "child-map"), default="all"
    )
    ap.add_argument("--path", default="/tmp/petroinfer_bench_map4096.nc")
    ap.add_argument("--passes", type=int, default=6)
    ap.add_argument("--chunks", type=int, default=512)
    ap.add_argument("--formats", default="netcdf,zarr")
    args = ap.parse_args()
    if args.part == "child-write":  # child processes: their own peak memory
        print(json.dumps(write_map(args.path, args.chunks)))
        return
    if args.part.startswith("child-map"):
        print(json.dumps(map_scale(args.passes, args.chunks, args.path, args.formats)))
        return
    result: dict = {"machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                                "load_avg": os.getloadavg()}}  # fmt: skip
    if args.part in ("all", "iter"):
        result["per_iteration"] = per_iteration()
    if args.part in ("all", "map"):
        jobs = [("write", "netcdf")] + [("map", f) for f in args.formats.split(",")]
        for part, fmt in jobs:
            out = subprocess.run(
                [sys.executable, __file__, "--part", f"child-{part}", "--passes", str(args.passes),
                 "--chunks", str(args.chunks), "--path", args.path, "--formats", fmt],
                capture_output=True, text=True, check=True,
            )  # fmt: skip
            key = f"map_4096_chunks{args.chunks}_{part}" + (f"_{fmt}" if part == "map" else "")
            result[key] = json.loads(out.stdout.strip().splitlines()[-1])
            print(json.dumps(result[key]), flush=True)
        Path(args.path).unlink(missing_ok=True)
    path = Path(__file__).parent / "results" / "fcm.json"
    if args.part == "map" and path.exists():  # keep the per-iteration part of an earlier run
        old = json.loads(path.read_text())
        old = {k: v for k, v in old.items() if not k.startswith(f"map_4096_chunks{args.chunks}_")}
        result = {**old, **result}
    path.write_text(json.dumps(result, indent=2))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
