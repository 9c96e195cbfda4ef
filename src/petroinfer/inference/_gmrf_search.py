"""Evidence search over the GMRF hyperparameters (noise and smoothness precisions).

Private module behind :mod:`petroinfer.inference.gmrf`. The search works on the natural logs of the
precisions: a coarse scan in decades (all free precisions together, then each alone), Nelder–Mead
(Nelder & Mead 1965, Comput. J. 7:308–313) from the best scanned point, then a profile of every free
coordinate over ±2 decades, restarting Nelder–Mead when a profile point beats the optimum.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import scipy.optimize as sopt
import xarray as xr

from petroinfer.errors import ConvergenceWarning, ModelError, format_value

_LN10 = float(np.log(10.0))
_DEFAULT_HALF_WIDTH = 14.0 * _LN10  # default bounds: +-14 decades around the start
_PENALTY = 1e300


@dataclass(frozen=True)
class HyperparameterSearch:
    """Outcome of a maximum-evidence search over GMRF hyperparameters.

    Parameters
    ----------
    hyperparameters : dict
        ``{"noise_precision": float, "smoothness": {channel: float}}`` at the optimum, ready to be
        passed on as ``model.log_evidence(y, **search.hyperparameters)``.
    log_evidence : float
        Log evidence (nats) at the optimum (Laplace evidence for :class:`NonlinearGMRF`).
    criterion : pandas.DataFrame
        One row per evaluation, in order: ``stage`` (``"scan"``, ``"simplex"`` or
        ``"profile"``), the hyperparameters (``noise_precision``, ``smoothness_<channel>``) and
        ``log_evidence`` (``-inf`` where the evaluation failed). For chain priors the coarse
        ``"scan"`` rows omit the log-determinant rounding correction (at most about one nat at
        10⁶ nodes, far below the decade-to-decade differences the scan ranks); the ``"simplex"``
        and ``"profile"`` rows and the reported optimum include it.
    n_evaluations : int
        Number of evidence evaluations (rows of ``criterion``).
    converged : bool
        ``True`` when Nelder–Mead met its tolerances, no evaluation budget or callback stopped the
        search and no hyperparameter ended at a search bound.
    free : tuple of str
        Names of the hyperparameters that were searched (the others were fixed).
    at_bound : tuple of str
        Free hyperparameters that ended within half a natural-log unit of a bound, e.g.
        ``"smoothness_x (upper)"``.
    profiles : dict
        For each free hyperparameter, a :class:`pandas.Series` of the log evidence along a ±2 decade
        profile through the optimum (others fixed), indexed by the hyperparameter value (empty
        when ``profile=False``).
    """

    hyperparameters: dict[str, Any]
    log_evidence: float
    criterion: pd.DataFrame
    n_evaluations: int
    converged: bool
    free: tuple[str, ...] = ()
    at_bound: tuple[str, ...] = ()
    profiles: dict[str, pd.Series] = field(default_factory=dict)

    def to_dataset(self) -> xr.Dataset:
        """The search as the ``criterion`` dataset of a :class:`GMRFResult`.

        Returns
        -------
        xarray.Dataset
            ``profile_<name>`` (log evidence on the dim ``<name>_grid``) for every profiled
            hyperparameter, ``trace_log_evidence`` and ``trace_<name>`` on the dim ``evaluation``.
        """
        data = {}
        for name, series in self.profiles.items():
            data[f"profile_{name}"] = xr.DataArray(
                series.to_numpy(dtype=float),
                dims=(f"{name}_grid",),
                coords={f"{name}_grid": series.index.to_numpy(dtype=float)},
                attrs={"long_name": "log evidence"},
            )
        crit = self.criterion
        data["trace_log_evidence"] = xr.DataArray(
            crit["log_evidence"].to_numpy(dtype=float), dims=("evaluation",)
        )
        for name in crit.columns:
            if name not in ("stage", "log_evidence"):
                data[f"trace_{name}"] = xr.DataArray(
                    crit[name].to_numpy(dtype=float), dims=("evaluation",)
                )
        return xr.Dataset(
            data,
            attrs={
                "criterion": "log evidence (nats)",
                "method": "coarse scan + Nelder-Mead in log space",
            },
        )


class _Stop(Exception):
    """Raised inside the objective to end the search (budget or callback)."""


class _Objective:
    """Negative log evidence over the free log-hyperparameters, with bounds and a trace."""

    def __init__(self, evaluate, start, free, names, lower, upper, max_evaluations, callback):
        self.evaluate, self.start, self.free, self.names = evaluate, start, free, names
        self.lower, self.upper = lower, upper
        self.max_evaluations, self.callback = max_evaluations, callback
        self.rows: list[tuple[str, np.ndarray, float]] = []
        self.stage = "scan"
        self.stopped = False

    def full(self, theta_free: np.ndarray) -> np.ndarray:
        th = self.start.copy()
        th[self.free] = theta_free
        return th

    def __call__(self, theta_free: np.ndarray) -> float:
        if np.any(theta_free < self.lower) or np.any(theta_free > self.upper):
            return _PENALTY
        if self.max_evaluations is not None and len(self.rows) >= self.max_evaluations:
            self.stopped = True
            raise _Stop
        th = self.full(theta_free)
        try:
            val = float(self.evaluate(th, self.stage))
        except ModelError:
            val = -np.inf
        self.rows.append((self.stage, th.copy(), val))
        if self.callback is not None:
            record = dict(zip(self.names, np.exp(th).tolist(), strict=True))
            record.update(stage=self.stage, log_evidence=val)
            if self.callback(record):
                self.stopped = True
                raise _Stop
        return -val if np.isfinite(val) else _PENALTY

    def best(self) -> np.ndarray:
        vals = np.array([v for *_, v in self.rows])
        k = int(np.argmax(np.where(np.isfinite(vals), vals, -np.inf)))
        return self.rows[k][1][self.free]


def _scan(f: _Objective, x0: np.ndarray, decades: int) -> np.ndarray:
    """Coarse decade scan: all free coordinates together, then each alone."""
    steps = _LN10 * np.delete(np.arange(-decades, decades + 1.0), decades)
    for j in [None, *range(x0.size)]:
        best = (f(x0), 0.0)
        for step in steps:
            trial = x0.copy()
            if j is None:
                trial += step
            else:
                trial[j] += step
            val = f(trial)
            if val < best[0]:
                best = (val, step)
        if j is None:
            x0 = x0 + best[1]
        else:
            x0[j] += best[1]
    return x0


def _nelder_mead(f: _Objective, theta: np.ndarray, tol: float) -> sopt.OptimizeResult:
    simplex = np.vstack([theta] + [theta + 1.5 * np.eye(theta.size)[k] for k in range(theta.size)])
    return sopt.minimize(
        f,
        theta,
        method="Nelder-Mead",
        options={
            "initial_simplex": simplex,
            "xatol": tol,
            "fatol": tol / 100.0,
            "maxiter": 400 * theta.size,
        },
    )


def _profiles(f: _Objective, theta: np.ndarray, best_val: float):
    """Profiles over +-2 decades; returns them and a better point if one was found."""
    grid = _LN10 * np.linspace(-2.0, 2.0, 21)
    profiles, best_theta = {}, theta
    for k in range(theta.size):
        vals = []
        for g in grid:
            t = theta.copy()
            t[k] += g
            v = f(t)
            vals.append(-v if v < 1e299 else np.nan)
            if v < best_val - 1e-3:  # a meaningful improvement (nats): restart
                best_val, best_theta = v, t
        profiles[k] = (theta[k] + grid, np.asarray(vals))
    return profiles, best_theta


def _log_bounds(bounds, names, free, start) -> tuple[np.ndarray, np.ndarray]:
    centre = start[free]
    lower, upper = centre - _DEFAULT_HALF_WIDTH, centre + _DEFAULT_HALF_WIDTH
    free_names = [n for n, fr in zip(names, free, strict=True) if fr]
    for name, pair in (bounds or {}).items():
        if name not in names:
            raise ModelError(f"bounds: unknown hyperparameter {name!r}; names are {names}")
        if name not in free_names:
            continue
        try:
            lo, hi = (float(v) for v in pair)
        except (TypeError, ValueError) as exc:
            raise ModelError(
                f"bounds[{name!r}] must be (low, high); got {format_value(pair)}"
            ) from exc
        if not (0 < lo < hi < np.inf):
            raise ModelError(
                f"bounds[{name!r}] must satisfy 0 < low < high < inf; got {format_value(pair)}"
            )
        k = free_names.index(name)
        lower[k], upper[k] = np.log(lo), np.log(hi)
    return lower, upper


def run_search(
    evaluate: Callable[[np.ndarray, str], float],
    start: np.ndarray,
    free: np.ndarray,
    names: Sequence[str],
    channels: Sequence[str],
    *,
    bounds: Mapping[str, tuple[float, float]] | None = None,
    tol: float = 1e-2,
    max_evaluations: int | None = None,
    callback: Callable[[dict[str, Any]], Any] | None = None,
    scan: int = 10,
    profile: bool = True,
    stacklevel: int = 3,
) -> tuple[np.ndarray, HyperparameterSearch]:
    """Maximise ``evaluate(log hyperparameters, stage)`` over the ``free`` coordinates; returns the
    optimal log hyperparameters (all of them) and the search record."""
    lower, upper = _log_bounds(bounds, list(names), free, start)
    x0 = np.clip(start[free].copy(), lower, upper)
    f = _Objective(evaluate, start, free, list(names), lower, upper, max_evaluations, callback)
    nm_ok, profiles = False, {}
    try:
        theta = _scan(f, x0, int(scan)) if scan else x0
        for _ in range(4 if profile else 1):
            f.stage = "simplex"
            res = _nelder_mead(f, theta, tol)
            theta, nm_ok = res.x, bool(res.success)
            if not profile:
                break
            f.stage = "profile"
            profiles, better = _profiles(f, theta, res.fun)
            if better is theta:
                break
            theta = better
    except _Stop:
        theta = f.best() if f.rows else x0
    full = f.full(theta)
    logz = float(evaluate(full, "final"))
    if not np.isfinite(logz):
        raise ModelError(
            "the evidence could not be evaluated for any hyperparameter value tried (the MAP "
            "did not converge or the posterior was not positive definite); fix the "
            "hyperparameters, give a better x0, or add observations/anchors"
        )
    free_names = [n for n, fr in zip(names, free, strict=True) if fr]
    at_bound = tuple(
        f"{nm} ({'upper' if t > 0.5 * (lo + hi) else 'lower'})"
        for nm, t, lo, hi in zip(free_names, theta, lower, upper, strict=True)
        if t > hi - 0.5 or t < lo + 0.5
    )
    if at_bound:
        warnings.warn(
            f"evidence still increasing at the search bound for {list(at_bound)}: the data are "
            "consistent with the limit (smoothness upper: a constant/linear path; noise "
            "precision upper: noise-free data); the value at the bound is used",
            ConvergenceWarning,
            stacklevel=stacklevel,
        )
    if f.stopped and max_evaluations is not None and len(f.rows) >= max_evaluations:
        warnings.warn(
            f"the evidence search stopped after max_evaluations={max_evaluations} evaluations "
            "before converging; the best point found is used",
            ConvergenceWarning,
            stacklevel=stacklevel,
        )
    table = pd.DataFrame(
        {
            "stage": [s for s, _, _ in f.rows],
            **{
                nm: np.exp([th[k] for _, th, _ in f.rows]) if f.rows else np.zeros(0)
                for k, nm in enumerate(names)
            },
            "log_evidence": np.asarray([v for *_, v in f.rows], dtype=float),
        }
    )
    prof = {
        free_names[k]: pd.Series(vals, index=pd.Index(np.exp(xs), name=free_names[k]))
        for k, (xs, vals) in profiles.items()
    }
    values = np.exp(full)
    return full, HyperparameterSearch(
        hyperparameters={
            "noise_precision": float(values[0]),
            "smoothness": {c: float(v) for c, v in zip(channels, values[1:], strict=True)},
        },
        log_evidence=logz,
        criterion=table,
        n_evaluations=len(f.rows),
        converged=bool(nm_ok and not f.stopped and not at_bound),
        free=tuple(free_names),
        at_bound=at_bound,
        profiles=prof,
    )
