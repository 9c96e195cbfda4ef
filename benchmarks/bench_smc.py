"""Benchmark: bootstrap particle filter of petroinfer versus the `particles` package.

Stochastic-volatility model (Pitt & Shephard 1999 parameters, nonlinear observation
y_t ~ N(0, exp(x_t))), T = 1000 observations, N = 10 000 particles, systematic resampling when
ESS < N/2 in both. Reports the wall time per filter run and the mean and SD of the log-likelihood
estimate over independent replicates, side by side in one run.

`particles` 0.4 pins numpy < 2, which cannot live next to petroinfer's numpy 2; it runs in its own
venv (default ``~/.cache/petroinfer-bench/particles-venv``; override with
``PETROINFER_PARTICLES_PYTHON=/path/to/python``), created with
``python -m venv DIR && DIR/bin/pip install "numpy<2" particles``.

Run: ``python benchmarks/bench_smc.py [--reps 10]`` → ``benchmarks/results/smc.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from petroinfer.inference.smc import bootstrap_filter

HERE = Path(__file__).resolve().parent
MU, RHO, SIGMA = -1.02, 0.9702, 0.178


def peer_python() -> str | None:
    exe = os.environ.get(
        "PETROINFER_PARTICLES_PYTHON",
        str(Path.home() / ".cache/petroinfer-bench/particles-venv/bin/python"),
    )
    return exe if Path(exe).is_file() else None


def run_peer(model: str, data: dict, n: int, reps: int) -> dict:
    exe = peer_python()
    if exe is None:
        return {"error": "particles venv not found (see module docstring)"}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "data.npz"
        np.savez(path, **data)
        out = subprocess.run(
            [exe, str(HERE / "_particles_peer.py"), model, str(path), str(n), str(reps)],
            capture_output=True,
            text=True,
            check=False,
        )
    if out.returncode != 0:
        return {"error": out.stderr.strip().splitlines()[-1] if out.stderr else "failed"}
    return json.loads(out.stdout.strip().splitlines()[-1])


def simulate_sv(T: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = np.empty(T)
    x[0] = MU + SIGMA / np.sqrt(1 - RHO**2) * rng.normal()
    for t in range(1, T):
        x[t] = MU + RHO * (x[t - 1] - MU) + SIGMA * rng.normal()
    return np.exp(x / 2) * rng.normal(size=T)


def petroinfer_sv(y: np.ndarray, n: int, reps: int) -> dict:
    def init(nn, r):
        return MU + SIGMA / np.sqrt(1 - RHO**2) * r.standard_normal((nn, 1))

    def trans(x, t, r):
        return MU + RHO * (x - MU) + SIGMA * r.standard_normal(x.shape)

    c = -0.5 * np.log(2 * np.pi)

    def obs(yt, x, t):
        return c - 0.5 * (x[:, 0] + yt[0] ** 2 * np.exp(-x[:, 0]))

    lls, secs = [], []
    for r in range(reps):
        t0 = time.perf_counter()
        res = bootstrap_filter(y, init, trans, obs, n, moments=False, random_state=r)
        secs.append(time.perf_counter() - t0)
        lls.append(res.log_likelihood)
    return {"loglik": lls, "seconds": secs}


def summarise(d: dict) -> dict:
    if "error" in d:
        return d
    ll = np.asarray(d["loglik"])
    return {
        "seconds_per_run": float(np.median(d["seconds"])),
        "loglik_mean": float(ll.mean()),
        "loglik_sd": float(ll.std(ddof=1)),
        "reps": int(ll.size),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--particles", type=int, default=10_000)
    ap.add_argument("--steps", type=int, default=1000)
    a = ap.parse_args()
    y = simulate_sv(a.steps)
    ours = summarise(petroinfer_sv(y, a.particles, a.reps))
    peer = summarise(
        run_peer("stochvol", {"y": y, "mu": MU, "rho": RHO, "sigma": SIGMA}, a.particles, a.reps)
    )
    result = {
        "benchmark": "bootstrap PF, stochastic volatility",
        "N": a.particles,
        "T": a.steps,
        "python": sys.version.split()[0],
        "petroinfer": ours,
        "particles": peer,
    }
    if "error" not in peer:
        result["time_ratio_particles_over_petroinfer"] = (
            peer["seconds_per_run"] / ours["seconds_per_run"]
        )
        se = np.hypot(ours["loglik_sd"], peer["loglik_sd"]) / np.sqrt(a.reps)
        result["loglik_mean_difference_in_se"] = (ours["loglik_mean"] - peer["loglik_mean"]) / se
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "smc.json").write_text(json.dumps(result, indent=2))
    print("| package | s / run | mean log L̂ | SD log L̂ |")
    print("|---|---|---|---|")
    for name in ("petroinfer", "particles"):
        s = result[name]
        if "error" in s:
            print(f"| {name} | {s['error']} | | |")
        else:
            print(
                f"| {name} | {s['seconds_per_run']:.3f} | {s['loglik_mean']:.2f} | "
                f"{s['loglik_sd']:.3f} |"
            )
    print(json.dumps({k: v for k, v in result.items() if k not in ("petroinfer", "particles")}))


if __name__ == "__main__":
    main()
