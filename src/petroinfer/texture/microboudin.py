r"""The microboudin palaeopiezometer: which matrix model, and what stress ratio.

Data are columnar grains (tourmaline, piemontite, glaucophane) with their aspect ratio R and whether they
are boudinaged (fractured into microboudins), one row per grain (``aspect_ratio``, ``boudinaged``) or one
row per aspect-ratio class (``aspect_ratio``, ``n_boudinaged``, ``n_grains``). Each candidate model
(:class:`MicroboudinModel`: a stress-transfer law × a strength law) gives :math:`P(R)`, the probability
that a grain of aspect ratio R is boudinaged; the Bernoulli/binomial likelihood is maximised, the models
are compared by AIC, AICc, BIC and exact leave-one-out predictive log-likelihood, and the stress ratio
:math:`r = \sigma_0/S_0` gets a profile-likelihood interval (Matsumura, Kuwatani & Masuda 2017, EPS
69:83, compare elastic and Newtonian-viscous matrix models by AIC and CV; the formulas here are a
reconstruction from shear-lag theory, imaging_texture.md §E — see ``docs/methods/microboudin.md``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import xarray as xr
from scipy import optimize, special, stats

from petroinfer._base import Interval, InverseProblem, Options
from petroinfer._rng import RandomState, as_generator
from petroinfer.errors import InputError, ModelError
from petroinfer.inference.results import Result
from petroinfer.texture import _criteria as _ic
from petroinfer.texture._boudin_model import MicroboudinModel

__all__ = [
    "MicroboudinFit",
    "MicroboudinModels",
    "MicroboudinResult",
    "check_microboudin_data",
    "default_microboudin_models",
    "microboudin_power",
    "simulate_microboudins",
]


def default_microboudin_models(shear_lag: float | None = 1.0) -> dict[str, MicroboudinModel]:
    """The two matrix models of Matsumura et al. (2017): Cox elastic and Newtonian viscous, Weibull.

    Parameters
    ----------
    shear_lag : float or None
        Cox shear-lag parameter n of the elastic model (``None``: estimated).

    Returns
    -------
    dict
        ``{"elastic": MicroboudinModel("cox_elastic", n=shear_lag), "viscous":
        MicroboudinModel("viscous")}``.
    """
    return {
        "elastic": MicroboudinModel("cox_elastic", "weibull", n=shear_lag),
        "viscous": MicroboudinModel("viscous", "weibull"),
    }


def check_microboudin_data(data: Any, min_grains: int = 5) -> tuple[np.ndarray, ...]:
    """Validate a microboudin table and return aspect ratios, boudinaged counts and trials.

    Parameters
    ----------
    data : pandas.DataFrame or mapping
        Per grain: columns ``aspect_ratio`` (≥ 1) and ``boudinaged`` (0/1 or bool). Binned: columns
        ``aspect_ratio``, ``n_boudinaged`` and ``n_grains`` (integers, 0 ≤ n_boudinaged ≤ n_grains).
    min_grains : int
        Minimum number of grains.

    Returns
    -------
    tuple of numpy.ndarray
        ``(R, k, m)``: aspect ratios, boudinaged counts, grains per row.

    Raises
    ------
    InputError
        Missing columns, non-numeric cells, aspect ratios < 1, indicators other than 0/1, counts out of
        range, fewer than ``min_grains`` grains.

    Examples
    --------
    >>> R, k, m = check_microboudin_data(
    ...     {"aspect_ratio": [2, 3, 4, 5, 6], "boudinaged": [0, 0, 1, 1, 1]})
    >>> int(k.sum()), int(m.sum())
    (3, 5)
    """
    df = data if isinstance(data, pd.DataFrame) else pd.DataFrame(dict(data))
    if "aspect_ratio" not in df.columns:
        raise InputError(
            "microboudin data need a column 'aspect_ratio' and either 'boudinaged' or "
            f"'n_boudinaged' + 'n_grains'; found columns {list(df.columns)}"
        )
    binned = "n_boudinaged" in df.columns or "n_grains" in df.columns
    needed = ["n_boudinaged", "n_grains"] if binned else ["boudinaged"]
    for col in needed:
        if col not in df.columns:
            raise InputError(f"microboudin data: missing column {col!r}", column=col)

    def numeric(col: str) -> np.ndarray:
        raw = df[col]
        vals = pd.to_numeric(
            raw.map(lambda v: int(v) if isinstance(v, bool) else v), errors="coerce"
        )
        bad = np.flatnonzero(~np.isfinite(vals.to_numpy(float)))
        if bad.size:
            i = int(bad[0])
            raise InputError("expected a number", column=col, row=df.index[i], value=raw.iloc[i])
        return vals.to_numpy(float)

    R = numeric("aspect_ratio")
    low = np.flatnonzero(R < 1.0)
    if low.size:
        i = int(low[0])
        raise InputError(
            "aspect ratios must be ≥ 1 (length over width of a columnar grain)",
            column="aspect_ratio",
            row=df.index[i],
            value=R[i],
        )
    if binned:
        k, m = numeric("n_boudinaged"), numeric("n_grains")
        for col, arr in (("n_boudinaged", k), ("n_grains", m)):
            bad = np.flatnonzero((arr < 0) | (arr != np.round(arr)))
            if bad.size:
                i = int(bad[0])
                raise InputError(
                    "expected a non-negative integer count",
                    column=col,
                    row=df.index[i],
                    value=arr[i],
                )
        bad = np.flatnonzero(k > m)
        if bad.size:
            i = int(bad[0])
            raise InputError(
                "n_boudinaged exceeds n_grains", column="n_boudinaged", row=df.index[i], value=k[i]
            )
    else:
        k = numeric("boudinaged")
        bad = np.flatnonzero((k != 0) & (k != 1))
        if bad.size:
            i = int(bad[0])
            raise InputError(
                "boudinaged must be 0 (intact) or 1 (boudinaged)",
                column="boudinaged",
                row=df.index[i],
                value=k[i],
            )
        m = np.ones_like(k)
    if m.sum() < min_grains:
        raise InputError(f"need at least {min_grains} grains; got {int(m.sum())}")
    return R, k, m


# ---------------------------------------------------------------------------------------------------
# fitting


def _params(model: MicroboudinModel, z: np.ndarray) -> dict[str, float]:
    return {p: math.exp(v) for p, v in zip(model.param_names, z, strict=True)}


def _loglik(model: MicroboudinModel, z, R, k, m, grad: bool = False):
    """Log-likelihood (and its gradient in z = log params when ``grad``)."""
    lp, lq, dlp, dlq = model._logp_and_grad(R, _params(model, z), grad=grad)
    with np.errstate(invalid="ignore", over="ignore"):
        terms = np.where(k > 0, k * lp, 0.0) + np.where(m - k > 0, (m - k) * lq, 0.0)
        val = float(np.sum(terms))
        if not grad:
            return val if np.isfinite(val) else -1e300
        g = np.array(
            [
                np.sum(np.where(k > 0, k * a, 0.0) + np.where(m - k > 0, (m - k) * b, 0.0))
                for a, b in zip(dlp, dlq, strict=True)
            ]
        )
    if not np.isfinite(val) or not np.all(np.isfinite(g)):
        return -1e300, np.zeros(len(z))
    return val, g


def _log_binom(k: np.ndarray, m: np.ndarray) -> float:
    return float(
        np.sum(special.gammaln(m + 1) - special.gammaln(k + 1) - special.gammaln(m - k + 1))
    )


def _bounds(model: MicroboudinModel) -> list[tuple[float, float]]:
    return [model.bounds_log[p] for p in model.param_names]


def _starts(model: MicroboudinModel, R: np.ndarray) -> list[np.ndarray]:
    shapes = {"weibull": (1.5, 5.0, 15.0), "normal": (0.1, 0.3, 1.0)}[model.strength]
    ns = (0.1, 0.3, 1.0, 3.0) if "n" in model.param_names else (None,)
    out = []
    for q in (0.1, 0.3, 0.5, 0.7, 0.9):
        rq = float(np.quantile(R, q))
        for n in ns:
            r = 1.0 / float(model.g(rq, n))
            for s in shapes:
                z = [math.log(r), math.log(s)] + ([math.log(n)] if n is not None else [])
                lo, hi = np.array(_bounds(model)).T
                out.append(np.clip(np.array(z), lo, hi))
    return out


def _optimise(model, R, k, m, z0, fixed: dict[int, float] | None = None):
    fixed = fixed or {}
    free = [j for j in range(len(model.param_names)) if j not in fixed]
    bounds = [_bounds(model)[j] for j in free]

    def full(w):
        z = np.empty(len(model.param_names))
        for j, v in fixed.items():
            z[j] = v
        z[free] = w
        return z

    def nll(w):
        val, g = _loglik(model, full(w), R, k, m, grad=True)
        return -val, -g[free]

    res = optimize.minimize(
        nll,
        np.asarray(z0, float)[free],
        jac=True,
        method="L-BFGS-B",
        bounds=bounds,
        options={"maxiter": 1000, "ftol": 1e-14, "gtol": 1e-8},
    )
    return full(res.x), -float(res.fun), bool(res.success)


def _fit_smooth(model, R, k, m):
    starts = _starts(model, R)
    vals = [_loglik(model, z, R, k, m) for z in starts]
    best = None
    for i in np.argsort(vals)[::-1][:2]:
        z, ll, ok = _optimise(model, R, k, m, starts[i])
        if best is None or ll > best[1]:
            best = (z, ll, ok)
    return best


def _threshold_scan(model, R, k, m):
    """Exact maximisation for the threshold law: scan the critical aspect ratio over the data gaps."""
    order = np.argsort(R)
    Rs, ks, ms = R[order], k[order], m[order]
    uniq, idx = np.unique(Rs, return_index=True)
    kb = np.add.reduceat(ks, idx)
    mb = np.add.reduceat(ms, idx)
    N = ms.sum()
    # candidate j: grains with R < uniq[j] intact, R >= uniq[j] boudinaged (j = len → none boudinaged)
    below_k = np.concatenate([[0.0], np.cumsum(kb)])
    above_intact = np.concatenate([np.cumsum((mb - kb)[::-1])[::-1], [0.0]])
    errors = below_k + above_intact
    eps = np.clip(errors / N, 1e-6, 0.5)
    ll = errors * np.log(eps) + (N - errors) * np.log1p(-eps)
    edges = np.concatenate([[max(1.0, uniq[0] / 1.5)], uniq, [uniq[-1] * 1.5]])
    lo_edge, hi_edge = edges[:-1], edges[1:]  # candidate j spans (edges[j], edges[j+1]]
    j = int(np.argmax(ll))
    rc = math.sqrt(lo_edge[j] * hi_edge[j])
    return ll, lo_edge, hi_edge, j, rc, float(eps[j])


@dataclass(frozen=True)
class MicroboudinFit:
    """One fitted microboudin model.

    Parameters
    ----------
    name : str
        Model key in the model set.
    model : MicroboudinModel
        The model.
    estimates : dict
        Maximum-likelihood parameters (``r`` = σ₀/S₀, ``w``/``cv``/``eps``, ``n`` when free).
    log_likelihood : float
        Maximised log-likelihood (binomial coefficients included for binned data).
    n_grains : int
        Number of grains.
    converged : bool
        Optimiser convergence.
    at_bound : tuple of str
        Parameters at the edge of their search range.
    r_interval : tuple of float
        Profile-likelihood interval of r at ``level`` (an end at the search bound is reported as
        ±inf-like bound values and flagged in ``at_bound`` as ``r_lower``/``r_upper``).
    level : float
        Coverage of ``r_interval``.
    loo : float or None
        Exact leave-one-out predictive log-likelihood.
    """

    name: str
    model: MicroboudinModel
    estimates: dict[str, float]
    log_likelihood: float
    n_grains: int
    converged: bool
    at_bound: tuple[str, ...]
    r_interval: tuple[float, float]
    level: float
    loo: float | None = None

    @property
    def k(self) -> int:
        """Number of fitted parameters."""
        return len(self.model.param_names)

    @property
    def aic(self) -> float:
        """AIC = −2ℓ̂ + 2k."""
        return _ic.aic(self.log_likelihood, self.k)

    @property
    def aicc(self) -> float:
        """AICc = AIC + 2k(k+1)/(N − k − 1), N the number of grains."""
        return _ic.aicc(self.log_likelihood, self.k, self.n_grains)

    @property
    def bic(self) -> float:
        """BIC = −2ℓ̂ + k log N."""
        return _ic.bic(self.log_likelihood, self.k, self.n_grains)

    @property
    def critical_aspect_ratio(self) -> float:
        """Aspect ratio with P(R) = 0.5 (threshold law: where σ_c = S₀)."""
        return self.model.critical_aspect_ratio(self.estimates)

    def probability(self, aspect_ratio: Any) -> np.ndarray:
        """Fitted probability of boudinage.

        Parameters
        ----------
        aspect_ratio : array_like
            Aspect ratios R.

        Returns
        -------
        numpy.ndarray
            P(R).
        """
        return self.model.probability(aspect_ratio, self.estimates)


def _profile_interval(model, R, k, m, z_hat, ll_hat, level) -> tuple[float, float, list[str]]:
    """Ends of {r : 2[ℓ̂ − ℓ_prof(r)] ≤ χ²₁(level)} by bracketing and Brent's method on log r."""
    crit = 0.5 * float(stats.chi2.ppf(level, 1))
    lo_b, hi_b = model.bounds_log["r"]
    flags = []
    memo: dict[float, float] = {}
    state = {"z": z_hat.copy()}

    def drop(lr: float) -> float:
        if lr in memo:
            return memo[lr]
        if len(model.param_names) == 1:
            val = ll_hat - _loglik(model, np.array([lr]), R, k, m) - crit
        else:
            best = -np.inf
            for z0 in (state["z"], z_hat):
                z = _newton_refit(model, R, k, m, z0, fixed={0: lr})
                ll = _loglik(model, z, R, k, m)
                if ll > best:
                    best, state["z"] = ll, z
            val = ll_hat - best - crit
        memo[lr] = val
        return val

    ends = []
    for direction, bound, flag in ((-1, lo_b, "r_lower"), (1, hi_b, "r_upper")):
        state["z"] = z_hat.copy()
        a, step = float(z_hat[0]), 0.1
        found = False
        while True:
            b = a + direction * step
            if (direction < 0 and b <= bound) or (direction > 0 and b >= bound):
                b = bound
            if drop(b) > 0:
                found = True
                break
            if b == bound:
                break
            a, step = b, step * 2.0
        if not found:
            flags.append(flag)
            ends.append(math.exp(bound))
            continue
        # drop is memoised, so the bracket keeps its signs: drop(a) <= 0 < drop(b)
        ends.append(math.exp(optimize.brentq(drop, min(a, b), max(a, b), xtol=1e-5)))
    return ends[0], ends[1], flags


def _fit_model(name, model, R, k, m, level, profile: bool = True) -> MicroboudinFit:
    N = int(m.sum())
    const = _log_binom(k, m)
    if model.strength == "threshold":
        if "n" in model.param_names:
            raise ModelError("the threshold law cannot estimate the Cox n (fix MicroboudinModel.n)")
        ll, lo_edge, hi_edge, j, rc, eps = _threshold_scan(model, R, k, m)
        r = 1.0 / float(model.g(rc))
        ok = 2 * (ll[j] - ll) <= stats.chi2.ppf(level, 1)
        r_lo = 1.0 / float(model.g(hi_edge[ok].max()))
        r_hi = 1.0 / float(model.g(lo_edge[ok].min()))
        return MicroboudinFit(
            name,
            model,
            {"r": r, "eps": eps},
            float(ll[j]) + const,
            N,
            True,
            (),
            (r_lo, r_hi),
            level,
        )
    z, ll, ok = _fit_smooth(model, R, k, m)
    bounds = _bounds(model)
    at = tuple(
        p
        for p, v, (lo, hi) in zip(model.param_names, z, bounds, strict=True)
        if v <= lo + 1e-6 or v >= hi - 1e-6
    )
    if profile:
        r_lo, r_hi, flags = _profile_interval(model, R, k, m, z, ll, level)
    else:
        r_lo, r_hi, flags = math.nan, math.nan, []
    return MicroboudinFit(
        name, model, _params(model, z), ll + const, N, ok, at + tuple(flags), (r_lo, r_hi), level
    )


def _newton_refit(model, R, k, m, z0, fixed: dict[int, float] | None = None) -> np.ndarray:
    """Maximise the likelihood from a nearby start by damped Newton steps over the free coordinates
    (converged when the gradient is below 1e-9); fall back to L-BFGS-B when Newton stalls or reaches
    a bound."""
    fixed = fixed or {}
    free = np.array([j for j in range(len(model.param_names)) if j not in fixed])
    z = np.asarray(z0, float).copy()
    for j, v in fixed.items():
        z[j] = v
    lo, hi = (a[free] for a in np.array(_bounds(model)).T)
    ll, g = _loglik(model, z, R, k, m, grad=True)
    g = g[free]
    for _ in range(30):
        if np.max(np.abs(g)) < 1e-9:
            return z
        h = 1e-6
        hess = np.empty((free.size, free.size))
        for a, j in enumerate(free):
            e = np.zeros(z.size)
            e[j] = h
            hess[:, a] = (_loglik(model, z + e, R, k, m, grad=True)[1][free] - g) / h
        hess = 0.5 * (hess + hess.T)
        try:
            step = -np.linalg.solve(hess, g)
        except np.linalg.LinAlgError:
            break
        if g @ step <= 0:  # not an ascent direction (Hessian not negative definite)
            break
        t = 1.0
        while t > 1e-6:
            zn = z.copy()
            zn[free] = np.clip(z[free] + t * step, lo, hi)
            lln, gn = _loglik(model, zn, R, k, m, grad=True)
            if lln >= ll - 1e-12:
                break
            t *= 0.5
        else:
            break
        z, ll, g = zn, lln, gn[free]
        if np.any(z[free] <= lo) or np.any(z[free] >= hi):
            break
    return _optimise(model, R, k, m, z, fixed=fixed)[0]


def _exact_loo(fit: MicroboudinFit, R, k, m) -> float:
    """Exact leave-one-grain-out predictive log-likelihood (one refit per distinct (R, outcome))."""
    model = fit.model
    z_hat = np.array([math.log(fit.estimates[p]) for p in model.param_names])
    total = 0.0
    for i in range(R.size):
        for outcome, count in ((1, k[i]), (0, m[i] - k[i])):
            if count <= 0:
                continue
            kk, mm = k.copy(), m.copy()
            kk[i] -= outcome
            mm[i] -= 1
            if model.strength == "threshold":
                _ll, _lo_edge, _hi_edge, _j, rc, eps = _threshold_scan(model, R, kk, mm)
                params = {"r": 1.0 / float(model.g(rc)), "eps": eps}
            else:
                params = _params(model, _newton_refit(model, R, kk, mm, z_hat))
            lp, lq = model.log_probabilities(R[i : i + 1], params)
            total += count * float(lp[0] if outcome else lq[0])
    return total


@dataclass(frozen=True, repr=False)
class MicroboudinResult(Result):
    """Result of :class:`MicroboudinModels`.

    Parameters
    ----------
    estimate : xarray.Dataset
        ``r``, ``r_lower``, ``r_upper``, ``log_likelihood`` (and ``sigma0*`` with a strength
        scale) per model.
    posterior : xarray.Dataset or None
        ``None`` (intervals are profile-likelihood intervals).
    log_evidence : float or None
        ``None``.
    log_evidence_se : float or None
        ``None``.
    diagnostics : Mapping
        ``converged`` and ``at_bound`` per model, ``n_grains``.
    hyperparameters : Mapping
        ``model`` (the chosen one) and ``criterion``.
    criterion : xarray.Dataset
        ``aic``, ``aicc``, ``bic``, ``loo``, ``delta`` per model.
    metadata : Mapping
        Provenance (version, parameters, input hash).
    table : pandas.DataFrame
        One row per model: ``label``, ``k``, ``log_likelihood``, ``aic``, ``aicc``, ``bic``, ``loo``,
        ``delta_aic``, ``weight``, ``r`` with its profile interval (``r_lower``, ``r_upper``), the
        strength parameter, ``n``, ``critical_aspect_ratio``, ``converged``, ``at_bound`` and, with a
        strength scale, ``sigma0``, ``sigma0_lower``, ``sigma0_upper``.
    fits : dict
        Model key → :class:`MicroboudinFit`.
    best : str
        Model chosen by the criterion.
    data : tuple of numpy.ndarray
        ``(R, k, m)`` as returned by :func:`check_microboudin_data`.
    """

    table: pd.DataFrame | None = None
    fits: Mapping[str, MicroboudinFit] = field(default_factory=dict)
    best: str = ""
    data: tuple[np.ndarray, ...] = ()

    def summary(self, hdi_prob: float = 0.9) -> pd.DataFrame:
        """The model table.

        Parameters
        ----------
        hdi_prob : float
            Unused (signature of :meth:`Result.summary`).

        Returns
        -------
        pandas.DataFrame
            ``table``.
        """
        return self.table

    def plot(self, ax=None, bins: int = 10):
        """Fraction of boudinaged grains per aspect-ratio class with the fitted P(R) curves.

        Parameters
        ----------
        ax : matplotlib.axes.Axes or None
            Axes (created when ``None``).
        bins : int
            Number of aspect-ratio classes (quantile classes of the grains).

        Returns
        -------
        matplotlib.axes.Axes
        """
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(5.5, 3.8))
        R, k, m = self.data
        edges = np.unique(np.quantile(np.repeat(R, m.astype(int)), np.linspace(0, 1, bins + 1)))
        which = np.clip(np.searchsorted(edges, R, side="right") - 1, 0, len(edges) - 2)
        kb = np.bincount(which, weights=k, minlength=len(edges) - 1)
        mb = np.bincount(which, weights=m, minlength=len(edges) - 1)
        rb = np.bincount(which, weights=R * m, minlength=len(edges) - 1) / np.maximum(mb, 1)
        ok = mb > 0
        frac = kb[ok] / mb[ok]
        err = np.sqrt(frac * (1 - frac) / mb[ok])
        ax.errorbar(rb[ok], frac, yerr=err, fmt="o", color="k", label="data (±1 binomial SE)")
        grid = np.linspace(max(1.0, R.min() * 0.9), R.max() * 1.1, 300)
        for name, fit in self.fits.items():
            ax.plot(grid, fit.probability(grid), label=f"{name}: AIC {fit.aic:.1f}")
        ax.set_xlabel("aspect ratio R (length/width, –)")
        ax.set_ylabel("fraction boudinaged (–)")
        ax.set_ylim(-0.03, 1.03)
        ax.legend(fontsize="small")
        return ax


class MicroboudinModels(InverseProblem):
    r"""Compare microboudin matrix models and estimate the stress ratio σ₀/S₀.

    Parameters
    ----------
    models : mapping of str to MicroboudinModel or None
        Candidate models (default :func:`default_microboudin_models`: Cox elastic with n = 1 and
        Newtonian viscous, both with Weibull strength).
    criterion : {"aic", "aicc", "bic", "loo"}
        Criterion choosing ``best`` (``loo`` as −2·LOO).
    loo : bool
        Compute the exact leave-one-out predictive log-likelihood (one refit per grain outcome).
    level : float
        Coverage of the profile-likelihood interval of r = σ₀/S₀.
    strength_scale : float or None
        Grain strength scale :math:`S_0` (e.g. MPa) to turn r into an absolute stress σ₀ = r·S₀.
    strength_sd : float
        Standard deviation of ``strength_scale``; combined with the r interval on the log scale.
    stress_unit : str
        Unit of ``strength_scale`` (used in column attributes).

    Notes
    -----
    Likelihood :math:`\ell = \sum_i k_i\log P(R_i) + (m_i - k_i)\log(1 - P(R_i))` (+ binomial
    coefficients for binned data). Profile interval
    :math:`\{r : 2[\hat\ell - \ell_{prof}(r)] \le \chi^2_1(\text{level})\}`. The absolute stress interval
    is :math:`\log\sigma_0 \pm \sqrt{h_r^2 + (z\,s_{S}/S_0)^2}` with :math:`h_r` the half-widths of the
    log-r interval on each side. With a free Weibull modulus the two matrix models are hard to tell
    apart unless the aspect ratios reach the elastic saturation regime (nR ≳ 2); run
    :func:`microboudin_power` with any real-data selection.

    Examples
    --------
    >>> data = simulate_microboudins("viscous", 300, random_state=0)
    >>> res = MicroboudinModels(loo=False).fit(data)
    >>> res.best in ("elastic", "viscous")
    True
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "models": [dict, None],
        "criterion": [Options({"aic", "aicc", "bic", "loo"})],
        "loo": [bool],
        "level": [Interval(float, 0, 1, closed="neither")],
        "strength_scale": [Interval(float, 0, None, closed="neither"), None],
        "strength_sd": [Interval(float, 0, None)],
        "stress_unit": [str],
    }

    def __init__(
        self,
        models: Mapping[str, MicroboudinModel] | None = None,
        *,
        criterion: str = "aic",
        loo: bool = True,
        level: float = 0.95,
        strength_scale: float | None = None,
        strength_sd: float = 0.0,
        stress_unit: str = "MPa",
    ) -> None:
        self.models = models
        self.criterion = criterion
        self.loo = loo
        self.level = level
        self.strength_scale = strength_scale
        self.strength_sd = strength_sd
        self.stress_unit = stress_unit

    def fit(self, data: Any) -> MicroboudinResult:
        """Fit every model to the grains and rank them.

        Parameters
        ----------
        data : pandas.DataFrame or mapping
            See :func:`check_microboudin_data`.

        Returns
        -------
        MicroboudinResult
            Table, fits, best model and metadata.
        """
        self._validate_params()
        if self.criterion == "loo" and not self.loo:
            raise ModelError("MicroboudinModels: criterion='loo' needs loo=True")
        models = dict(self.models) if self.models is not None else default_microboudin_models()
        for key, mdl in models.items():
            if not isinstance(mdl, MicroboudinModel):
                raise ModelError(f"MicroboudinModels: model {key!r} is not a MicroboudinModel")
        R, k, m = check_microboudin_data(data)
        fits = {}
        for key, mdl in models.items():
            f = _fit_model(key, mdl, R, k, m, self.level)
            if self.loo:
                f = MicroboudinFit(**{**f.__dict__, "loo": _exact_loo(f, R, k, m)})
            fits[key] = f
        table = self._table(fits)
        best = str(table["delta"].idxmin())
        return self._result(fits, table, best, (R, k, m))

    def _score(self, f: MicroboudinFit) -> float:
        if self.criterion == "loo":
            return -2 * f.loo
        return float(getattr(f, self.criterion))

    def _stress(self, f: MicroboudinFit) -> tuple[float, float, float]:
        s0 = float(self.strength_scale)
        z = float(stats.norm.ppf(0.5 + self.level / 2))
        rel = z * self.strength_sd / s0
        lr, lo, hi = (
            math.log(f.estimates["r"]),
            math.log(f.r_interval[0]),
            math.log(f.r_interval[1]),
        )
        down = math.hypot(lr - lo, rel)
        up = math.hypot(hi - lr, rel)
        return s0 * math.exp(lr), s0 * math.exp(lr - down), s0 * math.exp(lr + up)

    def _table(self, fits: Mapping[str, MicroboudinFit]) -> pd.DataFrame:
        rows = []
        for key, f in fits.items():
            row: dict[str, Any] = {
                "model": key,
                "label": f.model.label,
                "k": f.k,
                "log_likelihood": f.log_likelihood,
                "aic": f.aic,
                "aicc": f.aicc,
                "bic": f.bic,
                "loo": f.loo if f.loo is not None else math.nan,
                "score": self._score(f),
                "r": f.estimates["r"],
                "r_lower": f.r_interval[0],
                "r_upper": f.r_interval[1],
                "w": f.estimates.get("w", math.nan),
                "cv": f.estimates.get("cv", math.nan),
                "eps": f.estimates.get("eps", math.nan),
                "n": f.estimates.get(
                    "n", f.model.n if f.model.transfer == "cox_elastic" else math.nan
                ),
                "critical_aspect_ratio": f.critical_aspect_ratio,
                "converged": f.converged,
                "at_bound": ",".join(f.at_bound),
            }
            if self.strength_scale is not None:
                row["sigma0"], row["sigma0_lower"], row["sigma0_upper"] = self._stress(f)
            rows.append(row)
        table = pd.DataFrame(rows).set_index("model")
        score = table.pop("score")
        delta = score - score.min()
        table.insert(7, "delta", delta)
        w = np.exp(-0.5 * delta.to_numpy(float))
        table.insert(8, "weight", w / w.sum())
        optional = [c for c in ("w", "cv", "eps", "n") if table[c].isna().all()]
        table = table.drop(columns=optional)
        table.attrs["criterion"] = self.criterion
        table.attrs["level"] = self.level
        return table

    def _result(self, fits, table, best, data) -> MicroboudinResult:
        models = list(fits)
        est = xr.Dataset(
            {
                "r": ("model", table["r"].to_numpy(float)),
                "r_lower": ("model", table["r_lower"].to_numpy(float)),
                "r_upper": ("model", table["r_upper"].to_numpy(float)),
                "log_likelihood": ("model", table["log_likelihood"].to_numpy(float)),
            },
            coords={"model": models},
        )
        for v in ("r", "r_lower", "r_upper"):
            est[v].attrs["units"] = "1 (sigma0 / S0)"
        est["log_likelihood"].attrs["units"] = "nats"
        if "sigma0" in table:
            for v in ("sigma0", "sigma0_lower", "sigma0_upper"):
                est[v] = ("model", table[v].to_numpy(float))
                est[v].attrs["units"] = self.stress_unit
        crit = xr.Dataset(
            {
                c: ("model", table[c].to_numpy(float))
                for c in ("aic", "aicc", "bic", "loo", "delta")
            },
            coords={"model": models},
        )
        meta = self._metadata(
            method="texture.MicroboudinModels",
            inputs=data,
            models={k: f.model.label for k, f in fits.items()},
        )
        diag = {
            "converged": {k: f.converged for k, f in fits.items()},
            "at_bound": {k: list(f.at_bound) for k, f in fits.items()},
            "n_grains": int(data[2].sum()),
        }
        return MicroboudinResult(
            estimate=est,
            diagnostics=diag,
            hyperparameters={"model": best, "criterion": self.criterion},
            criterion=crit,
            metadata=meta,
            table=table,
            fits=fits,
            best=best,
            data=data,
        )


def _true_ratio(model: MicroboudinModel, w: float, median_aspect: float) -> float:
    """r giving P(median R) = 1/2 under a Weibull law without size effect: (r g)^w = ln 2."""
    return math.log(2.0) ** (1.0 / w) / float(model.g(median_aspect))


def simulate_microboudins(
    model: str | MicroboudinModel,
    n_grains: int,
    *,
    r: float | None = None,
    w: float = 5.0,
    shear_lag: float = 1.0,
    median_aspect: float = 5.0,
    log_sd: float = 0.5,
    random_state: RandomState = None,
) -> pd.DataFrame:
    """Synthetic grains from a microboudin model (log-normal aspect ratios, Weibull strength).

    Parameters
    ----------
    model : {"elastic", "viscous"} or MicroboudinModel
        Generating model (names refer to :func:`default_microboudin_models` with ``shear_lag``).
    n_grains : int
        Number of grains.
    r : float or None
        Stress ratio σ₀/S₀; default: the value giving P(median aspect ratio) = 1/2.
    w : float
        Weibull modulus (``model.strength == "threshold"`` ignores it).
    shear_lag : float
        Cox n of the named elastic model.
    median_aspect : float
        Median aspect ratio (log-normal; values below 1 are reflected to 1/R).
    log_sd : float
        Standard deviation of log R.
    random_state : int, numpy.random.Generator or None
        Seed or generator.

    Returns
    -------
    pandas.DataFrame
        Columns ``aspect_ratio``, ``boudinaged``; ``attrs`` hold the true parameters.

    Examples
    --------
    >>> df = simulate_microboudins("elastic", 50, random_state=1)
    >>> list(df.columns), len(df)
    (['aspect_ratio', 'boudinaged'], 50)
    """
    mdl = default_microboudin_models(shear_lag)[model] if isinstance(model, str) else model
    rng = as_generator(random_state)
    R = np.exp(math.log(median_aspect) + log_sd * rng.standard_normal(n_grains))
    R = np.where(R < 1.0, 1.0 / R, R)
    if r is None:
        r = _true_ratio(mdl, w, median_aspect)
    params = {"r": r, "w": w, "eps": 0.0, "cv": 0.2}
    if mdl.transfer == "cox_elastic" and mdl.n is None:
        params["n"] = shear_lag
    y = mdl.simulate(R, params, random_state=rng)
    df = pd.DataFrame({"aspect_ratio": R, "boudinaged": y})
    df.attrs.update({"r": r, "w": w, "model": mdl.label})
    return df


def microboudin_power(
    n_grains: Sequence[int] = (100, 300, 1000),
    *,
    shear_lag: float = 1.0,
    w: float = 5.0,
    median_aspect: float = 5.0,
    log_sd: float = 0.5,
    n_rep: int = 100,
    level: float = 0.95,
    random_state: RandomState = None,
) -> pd.DataFrame:
    """How many grains separate the elastic and viscous matrix models (simulation).

    For each sample size and each generating model, ``n_rep`` synthetic data sets (log-normal aspect
    ratios, Weibull strength with r set so that P(median R) = 1/2) are fitted by both models (Weibull
    modulus free, Cox n fixed at ``shear_lag``); the model with the smaller AIC is selected.

    Parameters
    ----------
    n_grains : sequence of int
        Sample sizes to test.
    shear_lag : float
        Cox n of the elastic model; n·median R measures how far the data reach saturation.
    w : float
        True Weibull modulus.
    median_aspect : float
        Median aspect ratio.
    log_sd : float
        Standard deviation of log R.
    n_rep : int
        Replicates per case.
    level : float
        Coverage of the profile interval of r, whose empirical coverage is also reported.
    random_state : int, numpy.random.Generator or None
        Seed or generator.

    Returns
    -------
    pandas.DataFrame
        Index (``n_grains``, ``true_model``); columns ``p_correct`` (fraction of replicates selecting
        the true model), ``mean_delta_aic`` (AIC of the wrong minus the true model, averaged),
        ``r_coverage`` (fraction of replicates whose profile interval of r under the true model
        covers the truth) and ``n_rep``.

    Examples
    --------
    >>> tab = microboudin_power([60], n_rep=3, random_state=0)
    >>> list(tab.columns)
    ['p_correct', 'mean_delta_aic', 'r_coverage', 'n_rep']
    """
    rng = as_generator(random_state)
    models = default_microboudin_models(shear_lag)
    rows = []
    for n in n_grains:
        for true in models:
            correct, deltas, covered = 0, [], 0
            r_true = _true_ratio(models[true], w, median_aspect)
            for _ in range(n_rep):
                df = simulate_microboudins(
                    models[true],
                    int(n),
                    r=r_true,
                    w=w,
                    median_aspect=median_aspect,
                    log_sd=log_sd,
                    random_state=rng,
                )
                R, k, m = check_microboudin_data(df)
                fits = {
                    key: _fit_model(key, mdl, R, k, m, level, profile=key == true)
                    for key, mdl in models.items()
                }
                other = next(key for key in models if key != true)
                d = fits[other].aic - fits[true].aic
                deltas.append(d)
                correct += d > 0
                lo, hi = fits[true].r_interval
                covered += lo <= r_true <= hi
            rows.append(
                {
                    "n_grains": int(n),
                    "true_model": true,
                    "p_correct": correct / n_rep,
                    "mean_delta_aic": float(np.mean(deltas)),
                    "r_coverage": covered / n_rep,
                    "n_rep": n_rep,
                }
            )
    return pd.DataFrame(rows).set_index(["n_grains", "true_model"])
