"""Benchmark: heterogeneous-reaction kinetics inversion.

1. Wall time of a full fit on 200 observations of the aqueous species (dissolution–precipitation
   template, sphere law, 3 % noise): skeleton MAP + particle-number choice + IS² evidence for the
   4 surface laws, then PMMH (4 chains × 1000 draws, 300 tuning) and FFBSi hidden states.
2. Particle-filter speed on the same state-space model versus the `particles` package (same Heun
   step and noise model re-implemented as a `particles.FeynmanKac`, run in its own numpy<2 venv;
   see bench_smc.py), N = 1000 particles, 20 replicates each: time per filter and SD of the
   log-likelihood estimate.

Run: ``python benchmarks/bench_kinetics.py`` → ``benchmarks/results/kinetics.json``.
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

import numpy as np

from petroinfer.kinetics import (
    ReactionKineticsInversion,
    dissolution_precipitation,
    simulate_observations,
)
from petroinfer.kinetics._reaction_ssm import ReactionSSM

HERE = Path(__file__).resolve().parent


def main() -> None:
    from bench_smc import run_peer, summarise

    ap = argparse.ArgumentParser()
    ap.add_argument("--draws", type=int, default=1000)
    ap.add_argument("--particles", type=int, default=1000)
    ap.add_argument("--reps", type=int, default=20)
    a = ap.parse_args()
    obs, truth = simulate_observations(n_obs=200, noise=0.03, random_state=1)

    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = ReactionKineticsInversion(
            surface="auto", n_draws=a.draws, n_tune=300, n_chains=4, random_state=0
        ).fit(obs)
    fit_seconds = time.perf_counter() - t0
    rc = res.rate_constants
    fit = {
        "seconds": fit_seconds,
        "selected_law": res.hyperparameters["surface_law"],
        "rate_constants": rc.to_dict(orient="index"),
        "truth": truth.attrs["rate_constants"],
        "evidence_table": res.evidence_table[["log_evidence", "log_evidence_se", "bic"]].to_dict(
            orient="index"
        ),
        "n_particles": res.diagnostics["n_particles"],
        "loglik_sd_posterior_mean": res.diagnostics["loglik_sd_posterior_mean"],
        "max_r_hat": res.diagnostics["max_r_hat"],
        "min_ess_bulk": res.diagnostics["min_ess_bulk"],
    }

    # PF speed on the same model at the true parameters
    net = dissolution_precipitation()
    ssm = ReactionSSM(net, obs["time"].to_numpy(), obs[["B"]].to_numpy(), ("B",), 0.02)
    sig = truth.attrs["noise_sd"]["B"]
    theta = np.log([[0.05, 0.2, sig]])
    lls, secs = [], []
    rng = np.random.default_rng(0)
    for _ in range(a.reps):
        t1 = time.perf_counter()
        lls.append(float(ssm.loglik(theta, a.particles, rng)[0]))
        secs.append(time.perf_counter() - t1)
    ours = summarise({"loglik": lls, "seconds": secs})
    peer = summarise(
        run_peer(
            "kinetics",
            {
                "dt": ssm.dt,
                "Y": ssm.Y[:, 0],
                "x0": ssm.x0,
                "k": np.array([0.05, 0.2]),
                "sig": sig,
                "q": ssm.q,
                "floor": ssm.floor[0],
                "p": 2.0 / 3.0,
                "ceq": 0.1,
            },
            a.particles,
            a.reps,
        )
    )
    result = {
        "full_fit_200_obs": fit,
        "pf_N": a.particles,
        "pf_steps": int(ssm.grid.size),
        "pf_petroinfer": ours,
        "pf_particles": peer,
    }
    if "error" not in peer:
        result["pf_time_ratio_particles_over_petroinfer"] = (
            peer["seconds_per_run"] / ours["seconds_per_run"]
        )
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "kinetics.json").write_text(json.dumps(result, indent=2, default=float))
    print(
        f"full fit (4 laws evidence + PMMH 4x{a.draws}): {fit_seconds:.1f} s, "
        f"selected {fit['selected_law']}"
    )
    print(rc.round(4).to_string())
    print("| package | s / PF run | mean log L̂ | SD log L̂ |")
    print("|---|---|---|---|")
    for name, s in (("petroinfer", ours), ("particles", peer)):
        if "error" in s:
            print(f"| {name} | {s['error']} | | |")
        else:
            print(
                f"| {name} | {s['seconds_per_run']:.4f} | {s['loglik_mean']:.2f} | "
                f"{s['loglik_sd']:.3f} |"
            )


if __name__ == "__main__":
    import sys

    sys.path.insert(0, str(HERE))
    main()
