"""Zoned-garnet P–T path inversion: cost against traverse length, and Laplace versus REMC.

Problem: the synthetic prograde traverse of ``synthetic_zoning`` (gibbs notes §B.1 system, EPMA noise
0.003), N points.

* Laplace (petroinfer ``ZonedGarnetPTPath.fit``) with fixed hyperparameters (the MAP by
  Levenberg–Marquardt on the banded GMRF + the Gibbs link, marginal SDs) for N = 50 … 10⁴: the cost
  should grow linearly (banded precision, vectorised equilibrium solves).
* the same with the evidence search (hyperparameters free) for N ≤ 400.
* the classical Gibbs-method integration (Program-Gibbs-like, no uncertainty) for the same N, the tool a
  petrologist would otherwise use (Program Gibbs itself is closed desktop software and cannot be run here).
* REMC (``sample_remc``) at N = 8 with 2000 sweeps: its wall time next to the Laplace fit.

Run:  python benchmarks/bench_zoning.py [--quick]   (writes benchmarks/results/zoning.json and prints a
markdown table). Not part of CI.
"""

from __future__ import annotations

import json
import platform
import sys
import time
import warnings
from pathlib import Path

import numpy as np

from petroinfer.ptpath import ZonedGarnetPTPath, synthetic_zoning
from petroinfer.thermo import toy_open_system

ANCHOR = {"T_C": 500.0, "P_kbar": 5.0, "sd_T": 10.0, "sd_P": 0.5}


def _timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def main(quick: bool = False) -> dict:
    system = toy_open_system()
    sizes = [50, 200, 1000] if quick else [50, 200, 1000, 3000, 10000]
    pilot_data, _t, matrix = synthetic_zoning("prograde", n_points=50, noise=0.003, random_state=0)
    pilot = ZonedGarnetPTPath(system=system, matrix=matrix, n_samples=0).fit(pilot_data)
    hp = pilot.hyperparameters
    rows = []
    for n in sizes:
        data, truth, matrix = synthetic_zoning("prograde", n_points=n, noise=0.003, random_state=1)
        # κ scales with the spacing for order 2 (κ ∝ L³ per unit length): keep the same path length
        model = ZonedGarnetPTPath(system=system, matrix=matrix, anchor=ANCHOR, n_samples=0,
                                  noise_precision=hp["noise_precision"],
                                  smoothness={"T": hp["smoothness_T_per_K2"],
                                              "P": hp["smoothness_P_per_kbar2"]})  # fmt: skip
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res, t_fix = _timed(lambda m=model, d=data: m.fit(d))
            gib, t_gibbs = _timed(lambda m=model, d=data: m.gibbs_integration(d))
        row = {
            "n_points": n,
            "laplace_fixed_s": round(t_fix, 3),
            "gibbs_integration_s": round(t_gibbs, 3),
            "rmse_T_mrf": float(np.sqrt(np.mean((res.estimate["T_C"].values - truth["T_C"]) ** 2))),
            "rmse_T_gibbs": float(np.sqrt(np.mean((gib["T_C"].values - truth["T_C"]) ** 2))),
        }
        if n <= 400:
            free = ZonedGarnetPTPath(system=system, matrix=matrix, anchor=ANCHOR, n_samples=0)
            _r, t_ev = _timed(lambda m=free, d=data: m.fit(d))
            row["laplace_evidence_s"] = round(t_ev, 3)
        rows.append(row)
        print(row, flush=True)
    data, _t, matrix = synthetic_zoning("prograde", n_points=8, noise=0.004, random_state=5)
    m = ZonedGarnetPTPath(
        system=system, matrix=matrix, anchor=ANCHOR, n_samples=300, random_state=0
    )
    res, t_lap = _timed(lambda: m.fit(data))
    steps = 300 if quick else 2000
    _rem, t_remc = _timed(
        lambda: m.sample_remc(data, res, n_steps=steps, n_temps=5, n_chains=2, random_state=1)
    )
    out = {
        "machine": {"python": sys.version.split()[0], "platform": platform.platform()},
        "scaling": rows,
        "remc": {
            "n_points": 8,
            "laplace_s": round(t_lap, 3),
            "remc_steps": steps,
            "remc_s": round(t_remc, 3),
            "ratio": round(t_remc / t_lap, 1),
        },
    }
    path = Path(__file__).parent / "results" / "zoning.json"
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(out, indent=2))
    print(
        "| N | Laplace, fixed (s) | Laplace + evidence (s) | Gibbs integration (s) | RMSE T MRF / Gibbs (°C) |"
    )
    print("|---|---|---|---|---|")
    for r in rows:
        ev = r.get("laplace_evidence_s", "—")
        print(f"| {r['n_points']} | {r['laplace_fixed_s']} | {ev} | {r['gibbs_integration_s']} | "
              f"{r['rmse_T_mrf']:.2f} / {r['rmse_T_gibbs']:.2f} |")  # fmt: skip
    print(f"REMC ({steps} sweeps, 8 points): {t_remc:.1f} s vs Laplace {t_lap:.1f} s")
    return out


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
