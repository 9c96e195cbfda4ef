"""Orientation statistics: petroinfer's fits versus a plain scipy maximum-likelihood fit.

* von Mises: ``fit_circular(..., "von_mises")`` versus ``scipy.stats.vonmises.fit(x, fscale=1)`` —
  time and log-likelihood (they must agree: the MLE is A₁⁻¹(R̄)).
* inverse Batschelet: ``fit_circular(..., "inverse_batschelet")`` (multi-start, periodic location,
  Hessian SEs, TIC) versus a single Nelder–Mead run of scipy on the same exact log-likelihood from the
  moment start (ξ = mean direction, κ = A₁⁻¹(R̄), ν = λ = 0) — time and attained log-likelihood.
  pycircstat2's fit on Fisher B2/B5 is included as recorded constants (not a dependency).

Data: synthetic IB samples (n = 200, 800; truth (0.8, 2.5, −0.25, 0.4)) and Fisher B2/B5 (doubled
angles, through the dataset registry when available).

Run:  python benchmarks/bench_texture.py   (writes benchmarks/results/texture.json, prints a table)
"""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path

import numpy as np
from scipy import optimize, stats

from petroinfer.texture import InverseBatschelet, VonMises, a1inv, fit_circular

PCS2_IB = {"fisher_b2": -238.45062414368556, "fisher_b5": -106.07582452290362}


def _datasets() -> dict[str, np.ndarray]:
    out = {}
    for n in (200, 800):
        out[f"synthetic_ib_n{n}"] = InverseBatschelet(0.8, 2.5, -0.25, 0.4).rvs(n, random_state=n)
    try:
        from petroinfer.io.datasets import load_dataset

        for name in ("fisher_b2", "fisher_b5"):
            theta = load_dataset(name, download=False)["theta"].to_numpy(float)
            out[name] = np.mod(np.radians(2 * theta), 2 * np.pi)
    except Exception as exc:  # data absent: synthetic only
        print(f"Fisher data not available ({exc}); synthetic only")
    return out


def _timed(f, repeat=3):
    best, out = np.inf, None
    for _ in range(repeat):
        t = time.perf_counter()
        out = f()
        best = min(best, time.perf_counter() - t)
    return out, best


def _scipy_ib(x: np.ndarray) -> float:
    mu = np.arctan2(np.sin(x).mean(), np.cos(x).mean())
    k0 = float(a1inv(np.hypot(np.sin(x).mean(), np.cos(x).mean())))

    def nll(v):
        if abs(v[2]) > 1 or abs(v[3]) > 1 or v[1] < 0:
            return 1e300
        return -float(np.sum(InverseBatschelet(v[0], v[1], v[2], v[3]).logpdf(x)))

    res = optimize.minimize(
        nll,
        [mu, max(k0, 1e-3), 0.0, 0.0],
        method="Nelder-Mead",
        options={"maxiter": 4000, "xatol": 1e-8, "fatol": 1e-10},
    )
    return -float(res.fun)


def main() -> None:
    rows = []
    for name, x in _datasets().items():
        (vm, t_vm) = _timed(lambda x=x: fit_circular(x, "von_mises", unit="rad", loo=None))
        (sp, t_sp) = _timed(lambda x=x: stats.vonmises.fit(x, fscale=1))
        ll_sp = float(np.sum(VonMises(sp[1] % (2 * np.pi), sp[0]).logpdf(x)))
        (ib, t_ib) = _timed(
            lambda x=x: fit_circular(x, "inverse_batschelet", unit="rad", loo=None), 1
        )
        (ll_nm, t_nm) = _timed(lambda x=x: _scipy_ib(x), 1)
        rows.append({
            "data": name, "n": int(x.size),
            "vm_loglik_petroinfer": vm.log_likelihood, "vm_loglik_scipy": ll_sp,
            "vm_time_petroinfer_s": t_vm, "vm_time_scipy_s": t_sp,
            "ib_loglik_petroinfer": ib.log_likelihood, "ib_loglik_scipy_nelder_mead": ll_nm,
            "ib_loglik_pycircstat2_recorded": PCS2_IB.get(name),
            "ib_time_petroinfer_s": t_ib, "ib_time_scipy_nelder_mead_s": t_nm,
            "ib_at_bound": list(ib.at_bound),
        })  # fmt: skip
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    result = {"machine": platform.platform(), "load_average": load, "rows": rows}
    path = Path(__file__).parent / "results" / "texture.json"
    path.write_text(json.dumps(result, indent=2))
    print(
        "| data | n | vM ℓ petroinfer / scipy | vM time (s) p / s | IB ℓ petroinfer / scipy NM / "
        "pycircstat2 | IB time (s) p / NM |"
    )
    print("|---|---:|---|---|---|---|")
    for r in rows:
        pc = r["ib_loglik_pycircstat2_recorded"]
        print(
            f"| {r['data']} | {r['n']} | {r['vm_loglik_petroinfer']:.4f} / {r['vm_loglik_scipy']:.4f}"
            f" | {r['vm_time_petroinfer_s']:.3f} / {r['vm_time_scipy_s']:.3f}"
            f" | {r['ib_loglik_petroinfer']:.3f} / {r['ib_loglik_scipy_nelder_mead']:.3f} / "
            f"{'–' if pc is None else f'{pc:.3f}'}"
            f" | {r['ib_time_petroinfer_s']:.2f} / {r['ib_time_scipy_nelder_mead_s']:.2f} |"
        )


if __name__ == "__main__":
    main()
