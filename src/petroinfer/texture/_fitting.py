r"""Maximum-likelihood fitting of the circular families (multi-start, Hessian SEs, TIC/LOO).

Each family is fitted in an optimisation space :math:`x` in which the location is a free real number
(periodic: it is wrapped only at the end, so a mean direction near 0/2π cannot stick to a bound),
concentrations are on a log scale and the shape parameters (ν, λ, ψ, ρ, p) are box-bounded in their
natural range. Local searches use L-BFGS-B from the best few of a grid of starting points.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from scipy import optimize, stats

from petroinfer.errors import ModelError
from petroinfer.texture._circular import (
    TWO_PI,
    Cardioid,
    CircularDistribution,
    InverseBatschelet,
    JonesPewsey,
    UniformCircular,
    VonMises,
    VonMisesMixture,
    WrappedCauchy,
    a1inv,
)

LOGK_MIN, LOGK_MAX = math.log(1e-5), math.log(1e4)


def circular_moments(x: np.ndarray) -> tuple[float, float]:
    """Mean direction (radians, [0, 2π)) and mean resultant length of angles ``x`` (radians)."""
    c, s = np.cos(x).mean(), np.sin(x).mean()
    return float(np.mod(np.arctan2(s, c), TWO_PI)), float(np.hypot(c, s))


@dataclass(frozen=True)
class _Spec:
    """How one model maps an optimisation vector x to a distribution."""

    name: str
    labels: tuple[str, ...]  # natural parameter names, in order
    log_scale: tuple[bool, ...]  # x_j = log(param_j)
    bounds: tuple[tuple[float | None, float | None], ...]
    build: Callable[[np.ndarray], CircularDistribution]
    starts: Callable[[np.ndarray], list[np.ndarray]]
    periodic: tuple[bool, ...] = field(default=())

    @property
    def k(self) -> int:
        return len(self.labels)


def _vm_start(x: np.ndarray) -> tuple[float, float]:
    mu, r = circular_moments(x)
    return mu, float(np.clip(a1inv(min(r, 0.98)), 1e-3, 50.0))


def _loc_grid(x: np.ndarray, n: int = 8) -> list[float]:
    mu, _ = circular_moments(x)
    return [mu + TWO_PI * j / n for j in range(n)]


def _spec_vm() -> _Spec:
    def starts(x):
        mu, k = _vm_start(x)
        return [np.array([mu, math.log(k)])]

    return _Spec(
        "von_mises",
        ("xi", "kappa"),
        (False, True),
        ((None, None), (LOGK_MIN, LOGK_MAX)),
        lambda v: VonMises(v[0], math.exp(v[1])),
        starts,
        (True, False),
    )


def _spec_wc() -> _Spec:
    def starts(x):
        _mu, r = circular_moments(x)
        return [np.array([m, rho]) for m in _loc_grid(x, 4) for rho in (0.1, min(max(r, 0.2), 0.9))]

    return _Spec(
        "wrapped_cauchy",
        ("xi", "rho"),
        (False, False),
        ((None, None), (0.0, 0.999)),
        lambda v: WrappedCauchy(v[0], v[1]),
        starts,
        (True, False),
    )


def _spec_cardioid() -> _Spec:
    def starts(x):
        mu, r = circular_moments(x)
        return [np.array([mu, min(r, 0.45)]), np.array([mu + np.pi, 0.05])]

    return _Spec(
        "cardioid",
        ("xi", "rho"),
        (False, False),
        ((None, None), (0.0, 0.5)),
        lambda v: Cardioid(v[0], v[1]),
        starts,
        (True, False),
    )


def _spec_jp() -> _Spec:
    def starts(x):
        mu, k = _vm_start(x)
        return [np.array([mu, math.log(k), p]) for p in (-0.8, -0.3, 0.0, 0.3, 0.8)]

    return _Spec(
        "jones_pewsey",
        ("xi", "kappa", "psi"),
        (False, True, False),
        ((None, None), (LOGK_MIN, math.log(1e3)), (-1.0, 1.0)),
        lambda v: JonesPewsey(v[0], math.exp(v[1]), v[2]),
        starts,
        (True, False, False),
    )


def _spec_ib(fix_nu: bool = False, fix_lam: bool = False) -> _Spec:
    shape = (-0.6, 0.0, 0.6)

    def starts(x):
        _, k = _vm_start(x)
        out = []
        for m in _loc_grid(x, 8):
            for lk in (math.log(k), math.log(max(2 * k, 0.5))):
                for nu in (0.0,) if fix_nu else shape:
                    for lam in (0.0,) if fix_lam else shape:
                        v = [m, lk] + ([] if fix_nu else [nu]) + ([] if fix_lam else [lam])
                        out.append(np.array(v))
        return out

    def build(v):
        nu = 0.0 if fix_nu else v[2]
        lam = 0.0 if fix_lam else v[-1]
        return InverseBatschelet(v[0], math.exp(v[1]), nu, lam)

    labels = ("xi", "kappa") + (() if fix_nu else ("nu",)) + (() if fix_lam else ("lam",))
    k = len(labels)
    name = "inverse_batschelet" + ("_nu0" if fix_nu else "") + ("_lam0" if fix_lam else "")
    return _Spec(
        name,
        labels,
        (False, True) + (False,) * (k - 2),
        ((None, None), (LOGK_MIN, LOGK_MAX)) + ((-1.0, 1.0),) * (k - 2),
        build,
        starts,
        (True,) + (False,) * (k - 1),
    )


def _spec_mix() -> _Spec:
    def starts(x):
        mu, _k = _vm_start(x)
        out = []
        for d in (np.pi / 2, np.pi, 3 * np.pi / 2):
            for j in range(4):
                m1 = mu + TWO_PI * j / 4
                out.append(np.array([m1, math.log(2.0), m1 + d, math.log(2.0), 0.5]))
        return out

    return _Spec(
        "von_mises_mixture",
        ("xi1", "kappa1", "xi2", "kappa2", "p"),
        (False, True, False, True, False),
        (
            (None, None),
            (LOGK_MIN, math.log(500.0)),
            (None, None),
            (LOGK_MIN, math.log(500.0)),
            (0.05, 0.95),
        ),
        lambda v: VonMisesMixture(v[0], math.exp(v[1]), v[2], math.exp(v[3]), v[4]),
        starts,
        (True, False, True, False, False),
    )


SPECS: dict[str, Callable[[], _Spec]] = {
    "von_mises": _spec_vm,
    "wrapped_cauchy": _spec_wc,
    "cardioid": _spec_cardioid,
    "jones_pewsey": _spec_jp,
    "inverse_batschelet_nu0": lambda: _spec_ib(fix_nu=True),
    "inverse_batschelet_lam0": lambda: _spec_ib(fix_lam=True),
    "inverse_batschelet": _spec_ib,
    "von_mises_mixture": _spec_mix,
}
MODEL_NAMES = ("uniform", *SPECS)


def _nll(spec: _Spec, v: np.ndarray, x: np.ndarray) -> float:
    try:
        val = -float(np.sum(spec.build(v).logpdf(x)))
    except ModelError:
        return 1e300
    return val if np.isfinite(val) else 1e300


def _hessian(f: Callable[[np.ndarray], float], v: np.ndarray, h: np.ndarray) -> np.ndarray:
    """Central-difference Hessian of a scalar function."""
    k = v.size
    hess = np.empty((k, k))
    f0 = f(v)
    for i in range(k):
        ei = np.zeros(k)
        ei[i] = h[i]
        hess[i, i] = (f(v + ei) - 2 * f0 + f(v - ei)) / h[i] ** 2
        for j in range(i):
            ej = np.zeros(k)
            ej[j] = h[j]
            hess[i, j] = hess[j, i] = (
                f(v + ei + ej) - f(v + ei - ej) - f(v - ei + ej) + f(v - ei - ej)
            ) / (4 * h[i] * h[j])
    return hess


@dataclass(frozen=True)
class RawFit:
    """Optimiser output in the optimisation space (internal)."""

    spec: _Spec
    v: np.ndarray
    nll: float
    converged: bool
    at_bound: tuple[bool, ...]
    cov: np.ndarray  # covariance in x-space (NaN rows/cols at bounds)
    tic_penalty: float  # tr(J H^-1) over the free coordinates


def _at_bounds(spec: _Spec, v: np.ndarray) -> tuple[bool, ...]:
    out = []
    for val, (lo, hi) in zip(v, spec.bounds, strict=True):
        tol = 1e-5 * max(1.0, abs(val))
        out.append(
            bool((lo is not None and val <= lo + tol) or (hi is not None and val >= hi - tol))
        )
    return tuple(out)


def _local(spec: _Spec, v0: np.ndarray, x: np.ndarray) -> optimize.OptimizeResult:
    return optimize.minimize(
        lambda v: _nll(spec, v, x),
        v0,
        method="L-BFGS-B",
        bounds=spec.bounds,
        options={"maxiter": 500, "ftol": 1e-13, "gtol": 1e-8},
    )


def fit_spec(
    spec: _Spec,
    x: np.ndarray,
    *,
    n_local: int = 3,
    start: np.ndarray | None = None,
    covariance: bool = True,
) -> RawFit:
    """Multi-start maximum likelihood for one model on angles ``x`` (radians, circular scale)."""
    if start is not None:
        candidates = [np.asarray(start, float)]
    else:
        grid = spec.starts(x)
        vals = np.array([_nll(spec, v, x) for v in grid])
        order = np.argsort(vals)
        candidates = []
        for i in order:  # best few distinct starts
            if all(np.max(np.abs(grid[i] - c)) > 1e-6 for c in candidates):
                candidates.append(grid[i])
            if len(candidates) >= n_local:
                break
    best = None
    for v0 in candidates:
        res = _local(spec, v0, x)
        if best is None or res.fun < best.fun:
            best = res
    v = best.x.copy()
    for j, per in enumerate(spec.periodic):
        if per:
            v[j] = float(np.mod(v[j], TWO_PI))
    nll = _nll(spec, v, x)
    at_bound = _at_bounds(spec, v)
    if covariance:
        cov, tic = _covariance(spec, v, x, at_bound)
    else:
        cov, tic = np.full((v.size, v.size), np.nan), float("nan")
    return RawFit(spec, v, nll, bool(best.success), at_bound, cov, tic)


def _steps(v: np.ndarray) -> np.ndarray:
    return 1e-4 * np.maximum(1.0, np.abs(v))


def _covariance(
    spec: _Spec, v: np.ndarray, x: np.ndarray, at_bound: tuple[bool, ...]
) -> tuple[np.ndarray, float]:
    """Inverse observed information over the free coordinates and the TIC penalty tr(J H⁻¹)."""
    k = v.size
    cov = np.full((k, k), np.nan)
    free = np.array([not b for b in at_bound])
    if not free.any():
        return cov, 0.0
    idx = np.flatnonzero(free)
    h = _steps(v)

    def sub(w):
        full = v.copy()
        full[idx] = w
        return _nll(spec, full, x)

    hess = _hessian(sub, v[idx], h[idx])
    # per-observation scores (central differences of log f_i)
    scores = np.empty((x.size, idx.size))
    for a, j in enumerate(idx):
        e = np.zeros(k)
        e[j] = h[j]
        try:
            up = spec.build(v + e).logpdf(x)
            dn = spec.build(v - e).logpdf(x)
        except ModelError:
            return cov, float("nan")
        scores[:, a] = (up - dn) / (2 * h[j])
    try:
        inv = np.linalg.inv(hess)
    except np.linalg.LinAlgError:
        return cov, float("nan")
    if np.any(np.diag(inv) <= 0):
        return cov, float("nan")
    cov[np.ix_(idx, idx)] = inv
    jmat = scores.T @ scores
    return cov, float(np.trace(jmat @ inv))


def natural_estimates(
    raw: RawFit, level: float
) -> tuple[dict[str, float], dict[str, float], dict[str, tuple[float, float]]]:
    """Natural-scale estimates, standard errors (delta method) and Wald intervals.

    Log-scale parameters get intervals exp(x ± z·se_x); shape parameters are clipped to their box;
    locations are reported modulo 2π with a symmetric interval (which may cross 0).
    """
    z = float(stats.norm.ppf(0.5 + level / 2))
    est, se, ci = {}, {}, {}
    for j, name in enumerate(raw.spec.labels):
        xv, sx = raw.v[j], math.sqrt(raw.cov[j, j]) if np.isfinite(raw.cov[j, j]) else float("nan")
        if raw.spec.log_scale[j]:
            val = math.exp(xv)
            est[name], se[name] = val, val * sx
            ci[name] = (math.exp(xv - z * sx), math.exp(xv + z * sx))
        else:
            lo, hi = raw.spec.bounds[j]
            est[name], se[name] = float(xv), sx
            a, b = xv - z * sx, xv + z * sx
            if lo is not None:
                a = max(a, lo)
            if hi is not None:
                b = min(b, hi)
            ci[name] = (a, b)
    return est, se, ci


def uniform_raw(x: np.ndarray) -> float:
    """Negative log-likelihood of the uniform model (n log 2π)."""
    return -float(np.sum(UniformCircular().logpdf(x)))
