"""EPMA map quantification: time per megapixel, and a 2048 × 2048 × 10 map through Dask.

1. **Pipeline speed**: ``quantify_epma`` (spot pixels, centres, Poisson LDA, α/β/γ, quantification
   with delta-method SE) on synthetic two-phase maps (olivine with quartz inclusions, Poisson counts
   at the minimal data set's rates, 20 spots per phase) of 0.25 and 1 megapixel; reported: seconds
   per megapixel. QntMap (R) is the tool users would otherwise run; it is not installed here, so no
   ratio is reported (QntMap's vignette gives no timings).
2. **Scale, end to end**: the *whole* pipeline — classification (power-transform search, class
   sums, Poisson-LDA memberships) and quantification with SE — on a lazily generated
   2048 × 2048 × 10-element, 3-phase map (dask chunks, generated block by block from an analytic
   phase field with per-block seeds; 320 MiB as float64 in memory), reduced to phase means and
   fractions, with two maps streamed to NetCDF. Each case runs in a fresh subprocess, which reports
   its wall time and peak resident memory (``ru_maxrss``) and its RSS after the imports. For scale,
   the same pipeline on an in-memory (numpy) 1024 × 1024 × 10 map.

Run:  python benchmarks/bench_epma.py [--quick]   (writes benchmarks/results/epma.json)
"""

from __future__ import annotations

import json
import os
import platform
import resource
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from petroinfer.imaging import quantify_epma
from petroinfer.io import JeolSpots

RATES = {"Ol": {"Si": 4270.0, "Mg": 5720.0}, "Qtz": {"Si": 10000.0, "Mg": 0.0}}
WT = {"Ol": {"Si": 42.71, "Mg": 57.29}, "Qtz": {"Si": 100.0, "Mg": 0.0}}
BG = {"Ol": {"Si": 4280.0, "Mg": 5800.0}, "Qtz": {"Si": 9900.0, "Mg": 0.0}}


def synthetic(n: int, seed: int = 0) -> tuple[xr.DataArray, JeolSpots]:
    """An n × n two-phase map (10 % quartz) and 40 spots, QntMap-minimal-like units."""
    rng = np.random.default_rng(seed)
    qtz = rng.random((n, n)) < 0.1
    phase = np.where(qtz, "Qtz", "Ol")
    counts = np.stack(
        [rng.poisson(np.where(qtz, RATES["Qtz"][e], RATES["Ol"][e])) for e in ("Si", "Mg")]
    ).astype(float)
    xmap = xr.DataArray(
        counts,
        dims=("element", "y", "x"),
        coords={"element": ["Si", "Mg"], "x": np.arange(n) * 1.0, "y": np.arange(n) * 1.0,
                "electron": ("element", [False, False])},
        attrs={"dwell_s": 0.1, "current_A": 1e-7, "step_um": (1000.0, 1000.0),
               "start_mm": (0.0, 0.0), "dead_time_ns": 0.0},
    )  # fmt: skip
    rows, pk, bg, wt = [], [], [], []
    for ph in ("Qtz", "Ol"):
        iy, ix = np.nonzero(phase == ph)
        pick = rng.choice(len(ix), 20, replace=False)
        for k in pick:
            rows.append({"X": float(ix[k]), "Y": float(iy[k]), "Z": 0.0, "phase": ph})
            pk.append([RATES[ph][e] / 0.01 * rng.normal(1, 0.003) for e in ("Si", "Mg")])
            bg.append([BG[ph][e] * rng.normal(1, 0.02) for e in ("Si", "Mg")])
            wt.append([WT[ph][e] for e in ("Si", "Mg")])
    idx = pd.Index(range(1, 41), name="id")
    spots = pd.DataFrame(rows, index=idx).assign(use=True, current_A=1e-8)
    pk_df = pd.DataFrame(pk, index=idx, columns=["Si", "Mg"])
    bg_df = pd.DataFrame(bg, index=idx, columns=["Si", "Mg"])
    cond = pd.DataFrame(
        {"oxide": ["SiO2", "MgO"], "bg_plus_mm": 1.0, "bg_minus_mm": 1.0, "t_peak_s": 10.0,
         "t_bg_s": 5.0},
        index=pd.Index(["Si", "Mg"], name="element"),
    )  # fmt: skip
    qnt = JeolSpots(spots=spots, conditions=cond, pk=pk_df, bgm=bg_df, bgp=bg_df,
                    net=(pk_df - bg_df).clip(lower=0),
                    wt=pd.DataFrame(wt, index=idx, columns=["Si", "Mg"]))  # fmt: skip
    return xmap, qnt


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def bench_pipeline(sizes) -> list[dict]:
    out = []
    for n in sizes:
        xmap, qnt = synthetic(n)
        t0 = time.perf_counter()
        res = quantify_epma(xmap, qnt)
        dt = time.perf_counter() - t0
        pm = res.phase_mean()
        out.append({
            "pixels": n * n, "seconds": round(dt, 3), "seconds_per_megapixel": round(dt / (n * n / 1e6), 3),
            "Qtz_SiO2_mean": round(float(pm.loc["Qtz", "SiO2"]), 3),
            "Ol_MgO_mean": round(float(pm.loc["Ol", "MgO"]), 3),
        })  # fmt: skip
        print(out[-1], flush=True)
    return out


N_EL, PHASES = 10, ("Ol", "Qtz", "Grt")


def _rates() -> np.ndarray:
    """Pure-phase map counts (phase, element): 3 phases × 10 elements, some absent (0)."""
    rng = np.random.default_rng(42)
    lam = rng.uniform(300, 9000, (len(PHASES), N_EL))
    lam[rng.random(lam.shape) < 0.15] = 0.0
    return lam


def _phase_field(y: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Phase index at integer pixels: quartz discs and garnet bands in olivine."""
    disc = ((y % 256) - 128.0) ** 2 + ((x % 256) - 128.0) ** 2 < 60.0**2
    band = ((x + 2 * y) % 700) < 60
    return np.where(disc, 1, np.where(band, 2, 0))


def _block(block_info=None) -> np.ndarray:
    (y0, y1), (x0, x1) = block_info[None]["array-location"][1:]
    rng = np.random.default_rng([y0, x0])  # per-block seed: reproducible, order independent
    yy, xx = np.mgrid[y0:y1, x0:x1]
    lam = _rates()[_phase_field(yy, xx)]  # (y, x, element)
    return rng.poisson(np.moveaxis(lam, -1, 0)).astype(float)


def lazy_map(n: int, chunk: int) -> xr.DataArray:
    import dask.array as da

    arr = da.map_blocks(_block, chunks=((N_EL,), *[(chunk,) * (n // chunk)] * 2), dtype=float)
    return xr.DataArray(
        arr, dims=("element", "y", "x"),
        coords={"element": [f"E{k}" for k in range(N_EL)], "x": np.arange(n) * 1.0,
                "y": np.arange(n) * 1.0, "electron": ("element", [False] * N_EL)},
        attrs={"dwell_s": 0.1, "current_A": 1e-7, "step_um": (1000.0, 1000.0),
               "start_mm": (0.0, 0.0), "dead_time_ns": 0.0},
    )  # fmt: skip


def spots_for(n: int, seed: int = 1) -> JeolSpots:
    """20 spots per phase in pure pixels, peak intensities = rates·100 (β = 100), totals 100 wt%."""
    rng = np.random.default_rng(seed)
    lam = _rates()
    els = [f"E{k}" for k in range(N_EL)]
    rows, pk, bg = [], [], []
    yy, xx = rng.integers(0, n, (2, 20000))
    ph = _phase_field(yy, xx)
    for j, name in enumerate(PHASES):
        for k in np.flatnonzero(ph == j)[:20]:
            rows.append({"X": float(xx[k]), "Y": float(yy[k]), "Z": 0.0, "phase": name})
            pk.append(lam[j] * 100 * rng.normal(1, 0.003, N_EL))
            bg.append(np.where(lam[j] > 0, 0.01 * lam[j] * 100, 0.0) * rng.normal(1, 0.02, N_EL))
    idx = pd.Index(range(1, len(rows) + 1), name="id")
    pk_df, bg_df = pd.DataFrame(pk, idx, els), pd.DataFrame(bg, idx, els)
    net = (pk_df - bg_df).clip(lower=0)
    cond = pd.DataFrame({"oxide": [f"{e}O" for e in els], "bg_plus_mm": 1.0, "bg_minus_mm": 1.0,
                         "t_peak_s": 10.0, "t_bg_s": 5.0}, index=pd.Index(els, name="element"))  # fmt: skip
    return JeolSpots(spots=pd.DataFrame(rows, index=idx).assign(use=True, current_A=1e-8),
                     conditions=cond, pk=pk_df, bgm=bg_df, bgp=bg_df, net=net,
                     wt=net.div(net.sum(axis=1), axis=0) * 100)  # fmt: skip


def _child(n: int, chunk: int, lazy: bool) -> dict:
    """Run the full pipeline once; called in a fresh subprocess."""
    import tempfile

    import dask

    from petroinfer.imaging import quantify_epma

    xmap = lazy_map(n, chunk)
    qnt = spots_for(n)
    dask.config.set(scheduler="threads", num_workers=2)
    rss0 = _rss_mb()
    t0 = time.perf_counter()
    if not lazy:
        xmap = xmap.compute()  # the in-memory path: the same map (same blocks, seeds) as numpy
    res = quantify_epma(xmap, qnt, se=True)
    pm = res.phase_mean()
    frac = res.phase_fraction()
    with tempfile.TemporaryDirectory() as tmp:
        res.wt[["E0O", "E0O_se"]].to_netcdf(f"{tmp}/wt.nc")
    dt = time.perf_counter() - t0
    return {"shape": [N_EL, n, n], "chunk": chunk if lazy else None, "lazy": lazy,
            "wall_s": round(dt, 2), "rss_after_imports_mb": round(rss0, 1),
            "peak_rss_mb": round(_rss_mb(), 1),
            "map_float64_mb": round(N_EL * n * n * 8 / 2**20, 1),
            "alpha_star": res.lda.alpha_,
            "phase_fraction": {k: round(float(v), 5) for k, v in frac.items()},
            "Total_mean_by_phase": {k: round(float(v), 4) for k, v in pm["Total"].items()}}  # fmt: skip


def bench_scale(n: int, chunk: int, lazy: bool) -> dict:
    import subprocess

    cmd = [sys.executable, __file__, "--child", str(n), str(chunk), str(int(lazy))]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True)
    res = json.loads(out.stdout.strip().splitlines()[-1])
    print(res, flush=True)
    return res


def main(quick: bool = False) -> dict:
    sizes = (200, 500) if quick else (500, 1000)
    n_big, n_eager = (512, 256) if quick else (2048, 1024)
    results = {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "load_average": list(os.getloadavg()),
        "dask_2048": bench_scale(n_big, 256, lazy=True),
        "dask_1024": bench_scale(n_eager, 256, lazy=True),
        "numpy_1024": bench_scale(n_eager, 256, lazy=False),
        "pipeline": bench_pipeline(sizes),
    }
    path = Path(__file__).parent / "results" / "epma.json"
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        n, chunk, lazy = (int(v) for v in sys.argv[2:5])
        print(json.dumps(_child(n, chunk, bool(lazy))))
    else:
        main(quick="--quick" in sys.argv)
