"""Zoned-garnet P–T path inversion: cost against traverse length, and Laplace versus REMC.

Problem: the synthetic prograde traverse of ``synthetic_zoning`` (gibbs notes §B.1 system, EPMA noise
0.003), N points.

* Laplace (petroinfer ``ZonedGarnetPTPath.fit``) with fixed hyperparameters (the MAP by
  Levenberg–Marquardt on the banded GMRF + the Gibbs link, marginal SDs) for N = 50 … 10⁴: the cost
  should grow linearly (banded precision, vectorised equilibrium solves).
* the same with the evidence search (hyperparameters free) for N ≤ 400.
* the classical Gibbs-method integration (Program-Gibbs-like, no uncertainty) for the same N, the tool a
  petrologist would otherwise use (Program Gibbs itself is closed desktop software and cannot be run here).
* the latent-composition link (``link="latent"``, fixed σ_η) for N ≤ 1000 (its marginal blocks cost
  O(N²)).
* REMC (``sample_remc``, Laplace independence proposal, as in the test) at N = 6: wall time, ESS and
  Monte-Carlo error next to the Laplace fit.

The scaling exponent is the least-squares slope of log t against log N over N ≥ 200.

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
        row = {
            "n_points": n,
            "laplace_fixed_s": round(t_fix, 3),
            "rmse_T_mrf": float(np.sqrt(np.mean((res.estimate["T_C"].values - truth["T_C"]) ** 2))),
        }
        if n <= 1000:  # the Heun integration is a Python loop over points (~15 ms per point)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                gib, t_gibbs = _timed(lambda m=model, d=data: m.gibbs_integration(d))
            row["gibbs_integration_s"] = round(t_gibbs, 3)
            row["rmse_T_gibbs"] = float(np.sqrt(np.mean((gib["T_C"].values - truth["T_C"]) ** 2)))
        if n <= 400:
            free = ZonedGarnetPTPath(system=system, matrix=matrix, anchor=ANCHOR, n_samples=0)
            _r, t_ev = _timed(lambda m=free, d=data: m.fit(d))
            row["laplace_evidence_s"] = round(t_ev, 3)
        if n <= 1000:
            lat = model.set_params(link="latent", model_error=1e-3)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                _r, t_lat = _timed(lambda m=lat, d=data: m.fit(d))
            row["latent_fixed_s"] = round(t_lat, 3)
            model.set_params(link="integrated", model_error=None)
        rows.append(row)
        print(row, flush=True)
    big = [r for r in rows if r["n_points"] >= 200]
    slope = float(np.polyfit(np.log([r["n_points"] for r in big]),
                             np.log([r["laplace_fixed_s"] for r in big]), 1)[0])  # fmt: skip
    data, _t, matrix = synthetic_zoning("prograde", n_points=6, noise=0.003, random_state=5)
    m = ZonedGarnetPTPath(system=system, matrix=matrix, anchor=ANCHOR, n_samples=0, random_state=0,
                          noise_precision=1 / 0.003**2, smoothness={"T": 1e-4, "P": 0.05})  # fmt: skip
    res, t_lap = _timed(lambda: m.fit(data))
    steps = 300 if quick else 600
    rem, t_remc = _timed(
        lambda: m.sample_remc(
            data, res, n_steps=steps, n_burn=steps // 2, n_temps=2, n_chains=2, random_state=1
        )
    )
    cmp_ = m.compare_remc(res, rem)
    ess = rem.diagnostics["ess_bulk"]
    ess_min = float(min(ess.values())) if isinstance(ess, dict) else float(np.min(ess))
    out = {
        "machine": {
            "python": sys.version.split()[0],
            "platform": platform.platform(),
            "load_average": list(__import__("os").getloadavg()),
        },
        "scaling": rows,
        "scaling_exponent_laplace_fixed": round(slope, 3),
        "remc": {
            "n_points": 6,
            "laplace_s": round(t_lap, 3),
            "remc_steps": steps,
            "remc_s": round(t_remc, 3),
            "ratio": round(t_remc / t_lap, 1),
            "ess_bulk_min": round(ess_min, 1),
            "max_abs_dz": float(np.abs(cmp_[["T_C_dz", "P_kbar_dz"]].to_numpy()).max()),
            "max_mcse_over_sd": float(
                max(
                    (cmp_["T_C_mcse"] / cmp_["T_C_laplace_sd"]).max(),
                    (cmp_["P_kbar_mcse"] / cmp_["P_kbar_laplace_sd"]).max(),
                )
            ),
        },
    }
    path = Path(__file__).parent / "results" / "zoning.json"
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(out, indent=2))
    print("| N | Laplace, fixed (s) | Laplace + evidence (s) | latent link, fixed (s) | "
          "Gibbs integration (s) | RMSE T MRF / Gibbs (°C) |")  # fmt: skip
    print("|---|---|---|---|---|---|")
    for r in rows:
        g = r.get("rmse_T_gibbs")
        print(f"| {r['n_points']} | {r['laplace_fixed_s']} | {r.get('laplace_evidence_s', '—')} | "
              f"{r.get('latent_fixed_s', '—')} | {r.get('gibbs_integration_s', '—')} | "
              f"{r['rmse_T_mrf']:.2f} / {'—' if g is None else f'{g:.2f}'} |")  # fmt: skip
    print(f"scaling exponent (N ≥ 200): {slope:.2f}")
    print(
        f"REMC ({steps} sweeps × 2 chains, 6 points): {t_remc:.1f} s vs Laplace {t_lap:.2f} s; "
        f"{out['remc']}"
    )
    return out


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
