"""EPMA map quantification: time per megapixel, and a 2048 × 2048 × 10 map through Dask.

1. **Pipeline speed**: ``quantify_epma`` (spot pixels, centres, Poisson LDA, α/β/γ, quantification
   with delta-method SE) on synthetic two-phase maps (olivine with quartz inclusions, Poisson counts
   at the minimal data set's rates, 20 spots per phase) of 0.25 and 1 megapixel; reported: seconds
   per megapixel. QntMap (R) is the tool users would otherwise run; it is not installed here, so no
   ratio is reported (QntMap's vignette gives no timings).
2. **Scale**: ``quantify_map`` on a lazily generated 2048 × 2048 × 10-element map with 3 phases
   (dask arrays in 512 × 512 chunks), reduced to per-element means so the result never sits in memory
   at once: wall time and peak resident memory of the process (run first, so the peak is this
   step's; the eager numpy equivalent would need the 320 MB input plus several map-sized
   temporaries in memory).

Run:  python benchmarks/bench_epma.py [--quick]   (writes benchmarks/results/epma.json)
"""

from __future__ import annotations

import json
import platform
import resource
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from petroinfer.imaging import quantify_epma, quantify_map
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


def _params(elements, phases) -> pd.DataFrame:
    rows = [(e, p, 1e-4, 100.0, 4000.0, 1e-14, 0.03, 100.0) for e in elements for p in phases]
    cols = ["element", "phase", "alpha", "beta", "gamma", "alpha_var", "beta_var", "gamma_var"]
    return pd.DataFrame(rows, columns=cols).set_index(["element", "phase"])


def bench_dask(n: int, n_el: int = 10, chunk: int = 512) -> dict:
    import dask
    import dask.array as da

    elements = [f"E{k}" for k in range(n_el)]
    phases = ["A", "B", "C"]
    rs = da.random.RandomState(0)
    counts = rs.poisson(5000.0, size=(n_el, n, n), chunks=(n_el, chunk, chunk)).astype(float)
    w = rs.random_sample(size=(3, n, n), chunks=(3, chunk, chunk))
    u = w / w.sum(axis=0, keepdims=True)
    c = xr.DataArray(counts, dims=("element", "y", "x"), coords={"element": elements})
    m = xr.DataArray(u, dims=("phase", "y", "x"), coords={"phase": phases})
    p = _params(elements, phases)
    rss0 = _rss_mb()
    t0 = time.perf_counter()
    with dask.config.set(scheduler="threads", num_workers=2):
        means = quantify_map(c, m, p).mean().compute()
    dt = time.perf_counter() - t0
    res = {"shape": [n_el, n, n], "chunk": chunk, "wall_s": round(dt, 2),
           "peak_rss_mb": round(_rss_mb(), 1), "rss_before_mb": round(rss0, 1),
           "input_size_mb": round(n_el * n * n * 8 / 2**20, 1),
           "Total_mean": round(float(means["Total"]), 4)}  # fmt: skip
    print(res, flush=True)
    return res


def main(quick: bool = False) -> dict:
    sizes = (200, 500) if quick else (500, 1000)
    n_big = 512 if quick else 2048
    results = {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "dask": bench_dask(n_big),  # first: the process's peak RSS is then this step's
        "pipeline": bench_pipeline(sizes),
    }
    path = Path(__file__).parent / "results" / "epma.json"
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
