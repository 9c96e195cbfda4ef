"""GMRF chain: exact banded posterior (mean + marginal SDs + log evidence) versus dense numpy/scipy and
versus sampling the same posterior with emcee.

Problem: a 1-D chain of N nodes with non-uniform spacing (U(0.5, 1.5)), an intrinsic random-walk prior of
order 1 or 2 made proper by Gaussian anchors on the end node(s), noisy direct observations of a random
half of the nodes, fixed hyperparameters (noise s.d. 0.2, smoothness 4 for order 1, 50 for order 2).

* petroinfer: ``LinearGMRF(...).fit(y)`` (banded Cholesky, block twisted factorisation for the
  marginal variances, exact evidence), wall time including building the prior and the result object.
* dense: the same formulas with numpy/scipy dense matrices (Cholesky for the mean and the log
  determinants, ``cho_solve`` against the identity for the marginal variances) for N up to 6000.
  Agreement with petroinfer is reported (max relative difference of mean, SD and evidence).
* mean anchor: the same chains with the first node anchor replaced by ``Anchor("mean", ...)`` (a
  dense rank-one precision term, Woodbury / determinant lemma): time at 1e5-1e6 nodes next to the
  node-anchor time, and agreement with the dense formulas at N = 2000.
* emcee: ``EnsembleSampler`` (vectorised log-probability, 2N+2 walkers) on the same posterior, run in
  chunks until the marginal SDs estimated from the second half of the chain are within 10 % of the exact
  ones for every node (time budget 60 s per N); small N only.

Run:  python benchmarks/bench_gmrf.py   (writes benchmarks/results/gmrf.json, prints markdown tables)
      python benchmarks/bench_gmrf.py --mean-anchor   (only the mean-anchor cost, node and mean
      anchor timed in alternation so that both see the same machine load; updates the
      ``mean_anchor_interleaved`` entry of the JSON)
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp

from petroinfer.inference import Anchor, ChainPrior, LinearGMRF

SIGMA = 0.2
KAPPA = {1: 4.0, 2: 50.0}
GMRF_N = (1_000, 10_000, 100_000, 300_000, 1_000_000)
MEAN_N = (100_000, 300_000, 1_000_000)  # mean anchor (rank-one term) instead of a node anchor
MEAN_DENSE_N = 2_000
DENSE_N = {1: (1_000, 2_000, 4_000, 6_000), 2: (1_000, 2_000, 4_000)}  # dense cost ignores order
SEARCH_N = (10_000, 100_000)
EMCEE_N = (10, 30, 100)
EMCEE_TARGET = 0.10
EMCEE_BUDGET = 60.0


def problem(n: int, order: int, seed: int = 0, mean_anchor: bool = False):
    """``mean_anchor``: the anchor on the first node is replaced by a Gaussian prior on the
    (length-weighted) average of the field (a dense rank-one precision term)."""
    rng = np.random.default_rng(seed)
    s = np.cumsum(rng.uniform(0.5, 1.5, n))
    first = Anchor("mean", 0.0, 1.0) if mean_anchor else Anchor(0, 0.0, 1.0)
    anchors = [first] + ([Anchor(n - 1, 0.0, 10.0)] if order == 2 else [])
    prior = ChainPrior(s, order=order, anchors=anchors)
    obs = np.sort(rng.choice(n, n // 2, replace=False))
    A = sp.eye(n, format="csr")[obs]
    truth = np.sin(s / 50.0) + 0.5 * np.sin(s / 7.0)  # smooth signal
    y = truth[obs] + SIGMA * rng.normal(size=obs.size)
    return prior, A, y


def run_gmrf(prior, A, y, order, repeat=3):
    best = np.inf
    res = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        res = LinearGMRF(
            prior, A, noise_precision=SIGMA**-2, smoothness=KAPPA[order], n_samples=0
        ).fit(y)
        best = min(best, time.perf_counter() - t0)
    return best, res


def run_dense(prior, A, y, order):
    """Textbook dense computation of the same posterior and evidence."""
    t0 = time.perf_counter()
    n = prior.n_nodes
    R = prior._R.toarray()
    Q = KAPPA[order] * R
    idx, lam, mu = prior._anchor_arrays()
    Q[idx, idx] += lam
    b0 = np.zeros(n)
    b0[idx] = lam * mu
    terms = prior._mean_terms()
    if terms is not None:  # dense rank-one mean-anchor term (chain: internal order = user order)
        U, lam_m, mu_m, _ = terms
        Q += (U * lam_m) @ U.T
        b0 += U @ (lam_m * mu_m)
    Ad = A.toarray()
    tau = SIGMA**-2
    P = Q + tau * Ad.T @ Ad
    cq = sla.cho_factor(Q, lower=True)
    cp = sla.cho_factor(P, lower=True)
    mean = sla.cho_solve(cp, tau * Ad.T @ y + b0)
    var = np.diag(sla.cho_solve(cp, np.eye(n)))
    mu0 = sla.cho_solve(cq, b0)
    r = y - Ad @ mean
    m = y.size
    logz = (
        np.sum(np.log(np.diag(cq[0])))
        - np.sum(np.log(np.diag(cp[0])))
        + 0.5 * m * np.log(tau / (2 * np.pi))
        - 0.5 * (tau * r @ r + (mean - mu0) @ Q @ (mean - mu0))
    )
    return time.perf_counter() - t0, mean, np.sqrt(var), float(logz)


def run_emcee(prior, A, y, order, sd_exact, mean_exact, seed=0):
    import emcee

    n = prior.n_nodes
    Q = KAPPA[order] * prior._R.toarray()
    idx, lam, mu = prior._anchor_arrays()
    Ad = A.toarray()
    tau = SIGMA**-2

    def logp(X):  # (walkers, n)
        r = y[None, :] - X @ Ad.T
        quad = np.einsum("wi,ij,wj->w", X, Q, X)
        anch = np.sum(lam * (X[:, idx] - mu) ** 2, axis=1)
        return -0.5 * (tau * np.sum(r * r, axis=1) + quad + anch)

    rng = np.random.default_rng(seed)
    nw = 2 * n + 2
    p0 = mean_exact + sd_exact * rng.standard_normal((nw, n))  # start in the typical set
    sampler = emcee.EnsembleSampler(nw, n, logp, vectorize=True)
    t0 = time.perf_counter()
    state, steps, err = p0, 0, np.inf
    chunk = 500
    while time.perf_counter() - t0 < EMCEE_BUDGET:
        state = sampler.run_mcmc(state, chunk, progress=False)
        steps += chunk
        chain = sampler.get_chain()
        half = chain[steps // 2 :].reshape(-1, n)
        err = float(np.max(np.abs(half.std(axis=0) / sd_exact - 1)))
        if err <= EMCEE_TARGET:
            break
    return {
        "seconds": time.perf_counter() - t0,
        "steps": steps,
        "walkers": nw,
        "log_prob_evaluations": steps * nw,
        "max_rel_sd_error": err,
        "reached": bool(err <= EMCEE_TARGET),
    }


def mean_anchor_interleaved(repeat: int = 5) -> list[dict]:
    """Node- and mean-anchored fits of the same chain timed in alternation (best of ``repeat``)."""
    rows = []
    for order in (1, 2):
        for n in MEAN_N:
            node = problem(n, order)
            mean = problem(n, order, mean_anchor=True)
            t_node = t_mean = np.inf
            for _ in range(repeat):
                t_node = min(t_node, run_gmrf(*node, order, repeat=1)[0])
                t_mean = min(t_mean, run_gmrf(*mean, order, repeat=1)[0])
            rows.append(
                {
                    "order": order,
                    "N": n,
                    "seconds": t_mean,
                    "node_anchor_seconds": t_node,
                    "ratio": t_mean / t_node,
                }
            )
            print(f"order={order} N={n:>8d}  mean {t_mean:.3f} s  node {t_node:.3f} s  "
                  f"ratio {t_mean / t_node:.2f}", flush=True)  # fmt: skip
    return rows


def main() -> None:
    if "--mean-anchor" in sys.argv[1:]:
        path = Path(__file__).resolve().parent / "results" / "gmrf.json"
        out = json.loads(path.read_text()) if path.exists() else {}
        out["mean_anchor_interleaved"] = {
            "load_average_at_start": os.getloadavg(),
            "rows": mean_anchor_interleaved(),
            "load_average_at_end": os.getloadavg(),
        }
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(out, indent=2))
        tmp.replace(path)
        return
    out: dict = {
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "load_average_at_start": os.getloadavg(),
        },
        "settings": {
            "noise_sd": SIGMA,
            "smoothness": KAPPA,
            "observed_fraction": 0.5,
            "emcee_target_max_rel_sd_error": EMCEE_TARGET,
            "emcee_budget_s": EMCEE_BUDGET,
        },
        "gmrf": [],
        "dense": [],
        "emcee": [],
    }
    # warm-up (imports, first-call overheads)
    run_gmrf(*problem(500, 1), 1, repeat=1)
    for order in (1, 2):
        for n in GMRF_N:
            prior, A, y = problem(n, order)
            t, res = run_gmrf(prior, A, y, order, repeat=5 if n <= 300_000 else 3)
            row = {"order": order, "N": n, "seconds": t, "log_evidence": res.log_evidence}
            out["gmrf"].append(row)
            print(f"gmrf  order={order} N={n:>8d}  {t:8.3f} s", flush=True)
        for n in DENSE_N[order]:
            prior, A, y = problem(n, order)
            tg, res = run_gmrf(prior, A, y, order)
            td, mean, sd, logz = run_dense(prior, A, y, order)
            e = res.estimate.sel(channel="x")
            row = {
                "order": order,
                "N": n,
                "dense_seconds": td,
                "gmrf_seconds": tg,
                "speedup": td / tg,
                "max_rel_diff_mean": float(np.max(np.abs(e["mean"].values - mean) / np.abs(sd))),
                "max_rel_diff_sd": float(np.max(np.abs(e["sd"].values / sd - 1))),
                "rel_diff_log_evidence": abs(res.log_evidence - logz) / abs(logz),
            }
            out["dense"].append(row)
            print(f"dense order={order} N={n:>8d}  {td:8.3f} s (gmrf {tg:.4f} s)", flush=True)
    for n in EMCEE_N:
        order = 1
        prior, A, y = problem(n, order)
        tg, res = run_gmrf(prior, A, y, order)
        e = res.estimate.sel(channel="x")
        row = {"order": order, "N": n, "gmrf_seconds": tg}
        row.update(run_emcee(prior, A, y, order, e["sd"].values, e["mean"].values))
        row["time_ratio"] = row["seconds"] / tg
        out["emcee"].append(row)
        print(
            f"emcee N={n:>4d}  {row['seconds']:8.2f} s  err={row['max_rel_sd_error']:.3f}",
            flush=True,
        )
    # mean anchor: same chains, the first node anchor replaced by a prior on the field's average
    out["mean_anchor"] = []
    for order in (1, 2):
        for n in MEAN_N:
            t, _ = run_gmrf(*problem(n, order, mean_anchor=True), order)
            t_node = next(r["seconds"] for r in out["gmrf"] if r["order"] == order and r["N"] == n)
            out["mean_anchor"].append(
                {"order": order, "N": n, "seconds": t, "node_anchor_seconds": t_node}
            )
            print(f"mean  order={order} N={n:>8d}  {t:8.3f} s (node anchor {t_node:.3f} s)")
        prior, A, y = problem(MEAN_DENSE_N, order, mean_anchor=True)
        _, res = run_gmrf(prior, A, y, order, repeat=1)
        _, mean, sd, logz = run_dense(prior, A, y, order)
        e = res.estimate.sel(channel="x")
        out["mean_anchor"].append(
            {
                "order": order,
                "N": MEAN_DENSE_N,
                "max_rel_diff_mean": float(np.max(np.abs(e["mean"].values - mean) / sd)),
                "max_rel_diff_sd": float(np.max(np.abs(e["sd"].values / sd - 1))),
                "rel_diff_log_evidence": abs(res.log_evidence - logz) / abs(logz),
            }
        )
    # full fit with the hyperparameters chosen by evidence maximisation (order 2)
    out["evidence_search"] = []
    for n in SEARCH_N:
        prior, A, y = problem(n, 2)
        t0 = time.perf_counter()
        res = LinearGMRF(prior, A, n_samples=0).fit(y)
        row = {
            "order": 2,
            "N": n,
            "seconds": time.perf_counter() - t0,
            "n_evaluations": res.diagnostics["n_evaluations"],
            "noise_sd_hat": res.hyperparameters["noise_precision"] ** -0.5,
            "noise_sd_true": SIGMA,
        }
        out["evidence_search"].append(row)
        print(f"search N={n:>8d}  {row['seconds']:.1f} s ({row['n_evaluations']} evaluations)")
    # scaling exponent: slope of log time vs log N for N >= 1e5 (below, fixed overheads dominate)
    out["scaling_exponent"] = {}
    for order in (1, 2):
        rows = [r for r in out["gmrf"] if r["order"] == order and r["N"] >= 100_000]
        slope = np.polyfit(np.log([r["N"] for r in rows]), np.log([r["seconds"] for r in rows]), 1)[
            0
        ]
        out["scaling_exponent"][f"order{order}"] = float(slope)
        rows = [r for r in out["mean_anchor"] if r["order"] == order and "seconds" in r]
        slope = np.polyfit(np.log([r["N"] for r in rows]), np.log([r["seconds"] for r in rows]), 1)[
            0
        ]
        out["scaling_exponent"][f"order{order}_mean_anchor"] = float(slope)

    out["machine"]["load_average_at_end"] = os.getloadavg()
    path = Path(__file__).resolve().parent / "results" / "gmrf.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(out, indent=2))
    tmp.replace(path)
    print_tables(out)


def print_tables(out: dict) -> None:
    print("\n| N | order 1 (s) | order 2 (s) | order 1 (µs/node) | order 2 (µs/node) |")
    print("|---:|---:|---:|---:|---:|")
    for n in GMRF_N:
        t = {r["order"]: r["seconds"] for r in out["gmrf"] if r["N"] == n}
        print(f"| {n:,} | {t[1]:.3f} | {t[2]:.3f} | {1e6 * t[1] / n:.2f} | {1e6 * t[2] / n:.2f} |")
    se = out["scaling_exponent"]
    print(
        f"\nscaling exponent (log t vs log N, N >= 1e5): order 1 {se['order1']:.2f}, "
        f"order 2 {se['order2']:.2f}"
    )
    print("\n| order | N | dense (s) | petroinfer (s) | speed-up | max rel. diff mean/SD/log Z |")
    print("|---:|---:|---:|---:|---:|---|")
    for r in out["dense"]:
        print(
            f"| {r['order']} | {r['N']:,} | {r['dense_seconds']:.2f} | {r['gmrf_seconds']:.4f} | "
            f"{r['speedup']:.0f}x | {r['max_rel_diff_mean']:.1e} / {r['max_rel_diff_sd']:.1e} / "
            f"{r['rel_diff_log_evidence']:.1e} |"
        )
    print(
        "\n| N | emcee (s) | steps x walkers | emcee max rel. SD error | petroinfer (s) | ratio |"
    )
    print("|---:|---:|---:|---:|---:|---:|")
    for r in out["emcee"]:
        flag = "" if r["reached"] else " (budget hit)"
        print(
            f"| {r['N']} | {r['seconds']:.1f}{flag} | {r['steps']} x {r['walkers']} | "
            f"{r['max_rel_sd_error']:.3f} | {r['gmrf_seconds']:.4f} | {r['time_ratio']:.0f}x |"
        )
    print("\n| mean anchor: order | N | time (s) | node anchor (s) | ratio |")
    print("|---:|---:|---:|---:|---:|")
    for r in out["mean_anchor"]:
        if "seconds" in r:
            print(
                f"| {r['order']} | {r['N']:,} | {r['seconds']:.3f} | "
                f"{r['node_anchor_seconds']:.3f} | {r['seconds'] / r['node_anchor_seconds']:.2f} |"
            )
    for r in out["mean_anchor"]:
        if "seconds" not in r:
            print(
                f"mean anchor vs dense, order {r['order']}, N = {r['N']:,}: max rel. diff mean "
                f"{r['max_rel_diff_mean']:.1e}, SD {r['max_rel_diff_sd']:.1e}, "
                f"log Z {r['rel_diff_log_evidence']:.1e}"
            )
    print(
        f"scaling exponent with the mean anchor: order 1 {se['order1_mean_anchor']:.2f}, "
        f"order 2 {se['order2_mean_anchor']:.2f}"
    )
    print("\n| evidence search, order 2, N | time (s) | evaluations | noise s.d. (true 0.2) |")
    print("|---:|---:|---:|---:|")
    for r in out["evidence_search"]:
        print(
            f"| {r['N']:,} | {r['seconds']:.1f} | {r['n_evaluations']} | {r['noise_sd_hat']:.4f} |"
        )


if __name__ == "__main__":
    sys.exit(main())
