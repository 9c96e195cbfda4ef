"""Melting inversion: tempered Gibbs/shear sweep, HMC sweep and a generic adaptive random-walk REMC.

What a user without petroinfer would do is write the log posterior of the hierarchical melting model
and hand it to a generic sampler (adaptive random-walk Metropolis with parallel tempering, as in
``ReplicaExchange`` with its default move, or emcee/PyMC-Metropolis). This benchmark gives both
samplers the *same* posterior (``MeltingModel.loglik``/``logprior``) and the same wall-clock budget
per dataset (that of the Gibbs/shear run); petroinfer's gradient-based move
(``MeltingInversion(sampler="hmc")``, analytic gradients, same sweeps) is timed alongside, and reports bulk ESS (min and median over all parameters) per second, the rms error of the
posterior-mean F and the coverage of the 90 % F intervals. 3 synthetic datasets (20 samples, 14
elements, F 2–20 %, 5 % noise, batch melting).

Run:  python benchmarks/bench_melting.py   (writes benchmarks/results/melting.json, prints a table)
"""

from __future__ import annotations

import json
import platform
import sys
import time
import warnings
from pathlib import Path

import numpy as np

from petroinfer.geochem import MeltingInversion, make_melting_data
from petroinfer.geochem._melting_inputs import resolve_D, resolve_source
from petroinfer.geochem._melting_run import _initial, build_model
from petroinfer.inference import ReplicaExchange

SEEDS = (0, 1, 2)


def _ours(data, seed, sampler="gibbs"):
    t = time.perf_counter()
    res = MeltingInversion(
        n_steps=1000, n_burn=500, n_chains=2, sampler=sampler, warn=False, random_state=seed
    ).fit(data)
    return res, time.perf_counter() - t


def _generic(data, seed, budget):
    inv = MeltingInversion()
    els = list(data.columns)
    mm = build_model(
        inv, "batch", data, resolve_source("DMM", els), resolve_D("workman_hart_2005", els), None,
        (0.001, 0.4), inv._prior_numbers(0.001, 0.4),
    )  # fmt: skip
    # calibrate the number of sweeps to the time budget with a short pilot run
    n_pilot = 200
    t = time.perf_counter()
    ReplicaExchange(mm.loglik, mm.logprior, mm.prior_sample, vectorized=True, n_steps=n_pilot,
                    n_burn=0, n_chains=2, ladder="adaptive", warn=False,
                    random_state=seed).fit(initial=_initial(mm))  # fmt: skip
    per_sweep = (time.perf_counter() - t) / n_pilot
    n = max(400, int(budget / per_sweep))
    t = time.perf_counter()
    names = mm.names(list(data.index), els)
    rem = ReplicaExchange(mm.loglik, mm.logprior, mm.prior_sample, vectorized=True,
                          param_names=names, n_steps=n // 3 * 2, n_burn=n // 3, n_chains=2, ladder="adaptive",
                          warn=False, random_state=seed).fit(initial=_initial(mm))  # fmt: skip
    elapsed = time.perf_counter() - t
    theta = rem.posterior["theta"].values
    F = mm.F_of(theta[..., mm.slices["u"]]).reshape(-1, mm.n)
    return rem, F, elapsed


def main() -> None:
    warnings.simplefilter("ignore")
    rows = []
    for seed in SEEDS:
        data, truth = make_melting_data(20, random_state=200 + seed)
        res, t_ours = _ours(data, seed)
        F_ours = res.posterior["F"].values.reshape(-1, 20)
        res_h, t_hmc = _ours(data, seed, "hmc")
        F_hmc = res_h.posterior["F"].values.reshape(-1, 20)
        rem, F_gen, t_gen = _generic(data, seed, t_ours)
        for name, F, fit, t in (
            ("petroinfer Gibbs/shear REMC", F_ours, res, t_ours),
            ("petroinfer HMC REMC", F_hmc, res_h, t_hmc),
            ("generic adaptive RW REMC", F_gen, None, t_gen),
        ):
            diag = None if fit is None else fit.diagnostics
            if diag is None:
                # same quantities as for petroinfer: F (u is a monotone map of F), k, C0
                keep = ("theta[u[", "theta[logk[", "theta[logC0[")
                ess = np.array(
                    [v for k, v in rem.diagnostics["ess_bulk"].items() if k.startswith(keep)],
                    dtype=float,
                )
            else:
                from petroinfer.inference import convergence_diagnostics

                ess = np.array(
                    list(
                        convergence_diagnostics(fit.posterior[["F", "k", "C0"]])[
                            "ess_bulk"
                        ].values()
                    )
                )
            lo, hi = np.quantile(F, [0.05, 0.95], axis=0)
            rows.append(
                {
                    "seed": seed,
                    "sampler": name,
                    "seconds": round(t, 2),
                    "ess_min_per_s": round(float(np.nanmin(ess)) / t, 3),
                    "ess_median_per_s": round(float(np.nanmedian(ess)) / t, 3),
                    "F_rmse": round(float(np.sqrt(np.mean((F.mean(0) - truth["F"]) ** 2))), 4),
                    "F_coverage90": round(
                        float(np.mean((lo <= truth["F"]) & (truth["F"] <= hi))), 3
                    ),
                }
            )
            print(rows[-1], flush=True)
    out = {
        "benchmark": "melting inversion sampler",
        "python": sys.version.split()[0],
        "machine": platform.platform(),
        "rows": rows,
    }
    path = Path(__file__).parent / "results" / "melting.json"
    path.write_text(json.dumps(out, indent=2))
    print("| sampler | seconds | ESS_min/s | ESS_median/s | F rmse | F cover90 |")
    print("|---|---|---|---|---|---|")
    for name in dict.fromkeys(r["sampler"] for r in rows):
        rs = [r for r in rows if r["sampler"] == name]
        print(
            f"| {name} | {np.mean([r['seconds'] for r in rs]):.1f} | "
            f"{np.mean([r['ess_min_per_s'] for r in rs]):.3f} | "
            f"{np.mean([r['ess_median_per_s'] for r in rs]):.2f} | "
            f"{np.mean([r['F_rmse'] for r in rs]):.4f} | "
            f"{np.mean([r['F_coverage90'] for r in rs]):.2f} |"
        )


if __name__ == "__main__":
    main()
