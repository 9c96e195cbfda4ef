"""Benchmark: heterogeneous-reaction kinetics inversion.

1. Wall time of a full fit on 200 observations of the aqueous species (dissolution–precipitation
   template, sphere law, 3 % noise): skeleton MAP + particle-number choice + IS² evidence for the
   4 surface laws, then PMMH (4 chains × 1000 draws, 300 tuning) and FFBSi hidden states.
2. Particle-filter speed on the same state-space model versus the `particles` package (same Heun
   step and noise model re-implemented as a `particles.FeynmanKac`, run in its own numpy<2 venv;
   see bench_smc.py), N = 1000 particles, 20 replicates each: time per filter and SD of the
   log-likelihood estimate.

3. Monte-Carlo EM on the same 200 observations from a start 60 % / 50 % off the truth: the default
   innovation-parametrised, ascent-based MCEM versus the state-parametrised closed-form EM
   (``m_step="states"``, 40 iterations), wall time and estimates next to the PMMH posterior.

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
    ReactionKineticsEM,
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

    em = mcem_versus_pmmh(obs, rc, fit_seconds)

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
        "mcem_vs_pmmh": em,
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
    print("| method | s | iterations | k_dissolution | k_precipitation |")
    print("|---|---|---|---|---|")
    for name, row in em.items():
        ks = [
            f"{row[r]['mean']:.5f} ± {row[r]['sd']:.5f}"
            if row[r]["sd"]
            else f"{row[r]['mean']:.5f}"
            for r in ("dissolution", "precipitation")
        ]
        print(f"| {name} | {row['seconds']:.1f} | {row['iterations']} | {ks[0]} | {ks[1]} |")
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


def mcem_versus_pmmh(obs, rc, fit_seconds: float) -> dict:
    """MCEM (innovation and state M-steps) from (0.08, 0.3) versus the PMMH posterior ``rc``."""
    out = {
        "full fit: 4-law evidence + PMMH (posterior mean ± SD)": {
            **{r: {"mean": rc.loc[r, "mean"], "sd": rc.loc[r, "sd"]} for r in rc.index},
            "seconds": fit_seconds,
            "iterations": "-",
        }
    }
    for label, kw in (
        ("MCEM, innovation M-step (MLE ± Louis SE)", {}),
        ("EM, state M-step (40 iterations)", {"m_step": "states", "max_iter": 40}),
    ):
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = ReactionKineticsEM(
                dissolution_precipitation(0.08, 0.3), random_state=0, **kw
            ).fit(obs)
        est = res.estimate
        out[label] = {
            r: {
                "mean": float(est[f"k_{r}"]),
                "sd": float(est[f"k_{r}_sd"]) if f"k_{r}_sd" in est else None,
            }
            for r in ("dissolution", "precipitation")
        }
        out[label].update(
            seconds=time.perf_counter() - t0, iterations=res.diagnostics["iterations"]
        )
    return out


if __name__ == "__main__":
    import sys

    sys.path.insert(0, str(HERE))
    main()
