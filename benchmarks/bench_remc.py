"""REMC log evidence versus dynesty (nested sampling) at an equal number of likelihood evaluations.

Three targets with a uniform prior box and a normalised likelihood, so that the reference evidence is
known: a correlated 5-D Gaussian (analytic), a well-separated 2-D bimodal Gaussian mixture (analytic)
and a 4-D "banana" (two twisted Gaussians, Haario et al. 1999; reference by adaptive quadrature of a
1-D integral). For every target and seed, dynesty runs first with its defaults (static sampler,
500 live points, stopping at dlogz = 0.5); REMC then gets the same number of likelihood evaluations.
Reported: absolute error of log Z (mean over seeds), the method's own error estimate, wall time.

Run:  python benchmarks/bench_remc.py   (writes benchmarks/results/remc.json, prints a markdown table)
"""

from __future__ import annotations

import json
import platform
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from scipy import integrate, stats
from scipy.special import logsumexp

from petroinfer.inference.remc import ReplicaExchange

SEEDS = (0, 1, 2, 3, 4)
LOG2PI = np.log(2 * np.pi)


class Target:
    name: str
    d: int
    half_width: float

    def loglik(self, x: np.ndarray) -> np.ndarray:  # (n, d) -> (n,)
        raise NotImplementedError

    def reference(self) -> float:
        raise NotImplementedError

    # uniform prior on [-w, w]^d
    def log_prior(self, x: np.ndarray) -> np.ndarray:
        inside = np.all(np.abs(x) <= self.half_width, axis=-1)
        return np.where(inside, -self.d * np.log(2 * self.half_width), -np.inf)

    def prior_sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.uniform(-self.half_width, self.half_width, (n, self.d))

    def prior_transform(self, u: np.ndarray) -> np.ndarray:
        return (2 * u - 1) * self.half_width


class Gaussian5(Target):
    name, d, half_width = "5-D correlated Gaussian", 5, 10.0

    def __init__(self) -> None:
        rng = np.random.default_rng(123)
        a = rng.normal(size=(5, 5))
        cov = a @ a.T / 5 + 0.1 * np.eye(5)
        self.mu = rng.uniform(-1, 1, 5)
        self.prec = np.linalg.inv(cov)
        self.lognorm = -0.5 * (5 * LOG2PI + np.linalg.slogdet(cov)[1])
        self.cov = cov

    def loglik(self, x):
        r = np.atleast_2d(x) - self.mu
        return self.lognorm - 0.5 * np.einsum("ni,ij,nj->n", r, self.prec, r)

    def reference(self):
        # normalised likelihood, box mass 1 - O(1e-9): log Z = -d log(2w)
        sd = np.sqrt(np.diag(self.cov))
        assert np.all((self.half_width - np.abs(self.mu)) / sd > 6)
        return -self.d * np.log(2 * self.half_width)


class Bimodal2(Target):
    name, d, half_width = "2-D bimodal mixture", 2, 10.0
    means = np.array([[-3.0, 0.0], [3.0, 0.0]])
    weights = np.array([0.3, 0.7])
    sigma = 0.3

    def loglik(self, x):
        x = np.atleast_2d(x)
        sq = ((x[:, None, :] - self.means[None]) ** 2).sum(-1)
        comp = -0.5 * sq / self.sigma**2 - np.log(2 * np.pi * self.sigma**2)
        return logsumexp(comp + np.log(self.weights), axis=1)

    def reference(self):
        return -self.d * np.log(2 * self.half_width)


class Banana4(Target):
    name, d, half_width = "4-D banana (2 twisted Gaussians)", 4, 15.0
    a, b = 1.5, 0.5

    def _one(self, x1, x2):
        c = self.b * (x1**2 - self.a**2)
        return -0.5 * (x1 / self.a) ** 2 - np.log(self.a) - 0.5 * (x2 - c) ** 2 - LOG2PI

    def loglik(self, x):
        x = np.atleast_2d(x)
        return self._one(x[:, 0], x[:, 1]) + self._one(x[:, 2], x[:, 3])

    def reference(self):
        w = self.half_width

        def inner(x1):
            c = self.b * (x1**2 - self.a**2)
            return stats.norm.pdf(x1, 0, self.a) * (stats.norm.cdf(w - c) - stats.norm.cdf(-w - c))

        mass, err = integrate.quad(inner, -w, w, epsabs=1e-14, epsrel=1e-12, limit=200)
        assert err < 1e-10
        return 2 * np.log(mass) - self.d * np.log(2 * w)


def run_dynesty(t: Target, seed: int) -> dict:
    import dynesty

    rng = np.random.default_rng(seed)
    t0 = time.perf_counter()
    sampler = dynesty.NestedSampler(
        lambda x: float(t.loglik(x[None])[0]), t.prior_transform, t.d, nlive=500, rstate=rng
    )
    sampler.run_nested(print_progress=False)
    res = sampler.results
    return {
        "log_z": float(res.logz[-1]),
        "se": float(res.logzerr[-1]),
        "n_evals": int(np.sum(res.ncall)),
        "time_s": time.perf_counter() - t0,
    }


def run_remc(t: Target, seed: int, budget: int) -> dict:
    """REMC with ``budget`` likelihood evaluations (4 chains, 16-rung geometric ladder from 1e-3).

    Proposals outside the prior box are rejected without a likelihood call, so a first run usually
    spends less than the budget; the number of sweeps is then scaled up once to match it.
    """
    n_chains, n_temps = 4, 16
    sweeps = max(200, budget // (n_chains * n_temps))
    for _ in range(2):
        used_sweeps = sweeps
        n_burn = sweeps // 4
        sampler = ReplicaExchange(
            t.loglik,
            t.log_prior,
            t.prior_sample,
            vectorized=True,
            n_temps=n_temps,
            beta_min=1e-3,
            n_chains=n_chains,
            n_steps=sweeps - n_burn,
            n_burn=n_burn,
            warn=False,
            random_state=seed,
        )
        t0 = time.perf_counter()
        res = sampler.fit()
        elapsed = time.perf_counter() - t0
        used = res.diagnostics["n_likelihood_evaluations"]
        if used >= 0.95 * budget:
            break
        sweeps = int(sweeps * budget / used)
    return {
        "log_z": float(res.log_evidence),
        "se": float(res.log_evidence_se),
        "n_evals": int(used),
        "time_s": elapsed,
        "log_z_ti": float(res.diagnostics["log_evidence_ti"]),
        "swap_rate_min": float(res.diagnostics["swap_rate_min"]),
        "sweeps": used_sweeps,
    }


def time_remc_scalar(t: Target, seed: int, sweeps: int) -> float:
    """Wall time of the same REMC run with a scalar (one parameter vector per call) likelihood,
    i.e. the calling convention dynesty gets."""
    n_burn = sweeps // 4
    sampler = ReplicaExchange(
        lambda th: float(t.loglik(th[None])[0]),
        lambda th: float(t.log_prior(th[None])[0]),
        t.prior_sample,
        n_temps=16,
        beta_min=1e-3,
        n_chains=4,
        n_steps=sweeps - n_burn,
        n_burn=n_burn,
        warn=False,
        random_state=seed,
    )
    t0 = time.perf_counter()
    sampler.fit()
    return time.perf_counter() - t0


def main() -> None:
    warnings.simplefilter("ignore")
    targets = [Gaussian5(), Bimodal2(), Banana4()]
    run_remc(targets[1], 0, 2000)  # warm-up (imports) so that timings compare like with like
    rows = []
    for t in targets:
        ref = t.reference()
        for seed in SEEDS:
            dy = run_dynesty(t, seed)
            rm = run_remc(t, seed, dy["n_evals"])
            rm["time_scalar_s"] = time_remc_scalar(t, seed, rm["sweeps"])
            rows.append(
                {"target": t.name, "seed": seed, "reference": ref, "dynesty": dy, "remc": rm}
            )
            print(
                f"{t.name:34s} seed {seed}: ref {ref:.4f} | dynesty {dy['log_z']:.4f}±{dy['se']:.3f}"
                f" ({dy['n_evals']} evals, {dy['time_s']:.1f}s) | REMC {rm['log_z']:.4f}±"
                f"{rm['se']:.3f} ({rm['n_evals']} evals, {rm['time_s']:.1f}s)",
                file=sys.stderr,
            )
    table = [
        "| target | reference log Z | evals dynesty / REMC | dynesty abs. error | dynesty reported SE "
        "| dynesty time (s) | REMC abs. error | REMC reported SE | REMC time (s), vectorised / scalar "
        "log L | time ratio dynesty/REMC (scalar) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    summary = []
    for t in targets:
        rs = [r for r in rows if r["target"] == t.name]
        ref = rs[0]["reference"]

        def agg(key, method, rs=rs, ref=ref):
            if key == "err":
                return float(np.mean([abs(r[method]["log_z"] - ref) for r in rs]))
            return float(np.mean([r[method][key] for r in rs]))

        s = {
            "target": t.name,
            "reference": ref,
            "n_evals_dynesty": agg("n_evals", "dynesty"),
            "n_evals_remc": agg("n_evals", "remc"),
            "dynesty_abs_error": agg("err", "dynesty"),
            "dynesty_se": agg("se", "dynesty"),
            "dynesty_time_s": agg("time_s", "dynesty"),
            "remc_abs_error": agg("err", "remc"),
            "remc_se": agg("se", "remc"),
            "remc_time_s": agg("time_s", "remc"),
            "remc_time_scalar_s": agg("time_scalar_s", "remc"),
        }
        summary.append(s)
        table.append(
            f"| {t.name} | {ref:.4f} | {s['n_evals_dynesty']:.0f} / {s['n_evals_remc']:.0f} | "
            f"{s['dynesty_abs_error']:.3f} | "
            f"{s['dynesty_se']:.3f} | {s['dynesty_time_s']:.1f} | {s['remc_abs_error']:.3f} | "
            f"{s['remc_se']:.3f} | {s['remc_time_s']:.2f} / {s['remc_time_scalar_s']:.1f} | "
            f"{s['dynesty_time_s'] / s['remc_time_scalar_s']:.1f} |"
        )
    md = "\n".join(table)
    print(md)
    import dynesty

    out = {
        "benchmark": "REMC (stepping-stone) vs dynesty log evidence at equal likelihood evaluations",
        "seeds": list(SEEDS),
        "machine": {"python": platform.python_version(), "platform": platform.platform()},
        "versions": {"dynesty": dynesty.__version__, "numpy": np.__version__},
        "summary": summary,
        "runs": rows,
        "table_markdown": md,
    }
    path = Path(__file__).resolve().parent / "results" / "remc.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(out, indent=2))
    tmp.replace(path)


if __name__ == "__main__":
    main()
