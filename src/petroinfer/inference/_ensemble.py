"""Ensemble smoother with multiple data assimilation (ES-MDA); see :class:`ESMDA`."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import scipy.linalg as sla
import xarray as xr

from petroinfer._base import Interval, InverseProblem, Options
from petroinfer._rng import RandomState, as_generator
from petroinfer.errors import InputError, ModelError, format_value
from petroinfer.inference._tasks import map_independent, task_scheduler
from petroinfer.inference.results import Result

__all__ = ["ESMDA", "EnsembleResult", "inflation_coefficients"]


def inflation_coefficients(alphas: Any = None, n_assimilations: int = 4) -> np.ndarray:
    """Check (or build) ES-MDA inflation coefficients α_i with Σ 1/α_i = 1.

    Parameters
    ----------
    alphas : array-like or None
        Explicit coefficients (each > 0, reciprocals summing to 1 within 1e-8). ``None`` gives the
        constant choice α_i = N_a of Emerick & Reynolds (2013).
    n_assimilations : int
        N_a when ``alphas`` is ``None``.

    Examples
    --------
    >>> inflation_coefficients(None, 4).tolist()
    [4.0, 4.0, 4.0, 4.0]
    >>> inflation_coefficients([9.333333333333334, 7.0, 4.0, 2.0]).round(2).tolist()
    [9.33, 7.0, 4.0, 2.0]
    """
    if alphas is None:
        if (
            not isinstance(n_assimilations, (int, np.integer))
            or isinstance(n_assimilations, bool)
            or n_assimilations < 1
        ):
            raise ModelError(
                f"n_assimilations must be an int >= 1, got {format_value(n_assimilations)}"
            )
        return np.full(int(n_assimilations), float(n_assimilations))
    try:
        a = np.asarray(alphas, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ModelError(f"alphas must be numbers, got {format_value(alphas)}") from exc
    if a.ndim != 1 or a.size < 1 or not np.all(np.isfinite(a)) or np.any(a <= 0):
        raise ModelError(
            f"alphas must be a 1-D sequence of positive numbers, got {format_value(alphas)}"
        )
    total = float(np.sum(1.0 / a))
    if abs(total - 1.0) > 1e-8:
        raise ModelError(
            f"the reciprocals of the inflation coefficients must sum to 1 "
            f"(Emerick & Reynolds 2013), got sum(1/alpha) = {total:.6g}"
        )
    return a


def _obs_covariance(obs_error: Any, m: int) -> np.ndarray:
    try:
        e = np.asarray(obs_error, dtype=float)
    except (TypeError, ValueError) as exc:
        raise InputError("obs_error must be numbers", value=repr(obs_error)) from exc
    if not np.all(np.isfinite(e)):
        raise InputError("obs_error must be finite", value=e.tolist())
    if e.ndim == 0 or e.ndim == 1:
        sd = np.broadcast_to(e, (m,)) if e.ndim == 0 or e.size == m else None
        if sd is None:
            raise InputError(
                f"obs_error must be a scalar sd, {m} sds or an ({m}, {m}) covariance", value=e.shape
            )
        if np.any(sd <= 0):
            i = int(np.argmax(sd <= 0))
            raise InputError(
                "observation standard deviations must be > 0", row=i, value=float(sd[i])
            )
        return np.diag(sd.astype(float) ** 2)
    if e.shape != (m, m):
        raise InputError(f"obs_error covariance must have shape ({m}, {m})", value=e.shape)
    if not np.allclose(e, e.T) or np.linalg.eigvalsh((e + e.T) / 2).min() <= 0:
        raise InputError("obs_error covariance must be symmetric positive definite")
    return e.copy()


def _forward_one(theta: np.ndarray, forward: Callable) -> np.ndarray:
    return np.asarray(forward(theta), dtype=float)


@dataclass(frozen=True)
class EnsembleResult(Result):
    """Result of :meth:`ESMDA.fit`.

    The updated ensemble is in ``posterior`` (``chain`` = 1, ``draw`` = member, ``param``) with its
    predicted data (``predicted``, dims ``(chain, draw, obs)``), and the data misfit after each
    assimilation is in ``criterion``.

    Parameters
    ----------
    estimate : xarray.Dataset
        Ensemble ``mean`` and ``sd`` (``ddof=1``) of every parameter, dim ``param`` (the parameter
        names).
    posterior : xarray.Dataset or None
        The final ensemble ``theta`` with dims ``(chain, draw, param)`` (one chain, one draw per
        member) and, when ``final_forward=True``, its predicted data ``predicted`` with dims
        ``(chain, draw, obs)``.
    log_evidence : float or None
        Not computed by ES-MDA (``None``).
    log_evidence_se : float or None
        Not computed by ES-MDA (``None``).
    diagnostics : Mapping
        ``n_forward_runs`` (total forward-model evaluations), ``misfit`` (list, one per step),
        ``final_misfit`` and ``ensemble_sd_min`` (smallest ensemble s.d., a collapse indicator).
    hyperparameters : Mapping
        ``n_ensemble`` and the inflation factors ``alphas`` (Σ 1/α_i = 1).
    criterion : xarray.Dataset or None
        Dim ``step`` (0 = prior ensemble): ``misfit``, the mean squared residual normalised by the
        Cholesky factor of ``C_D`` (≈ 1 at a good fit), and ``alpha``, the inflation of the
        assimilation that led to the step (NaN at step 0).
    metadata : Mapping
        Provenance: package version, seed, parameters, input hash.
    """

    @property
    def ensemble(self) -> np.ndarray:
        """The posterior ensemble as an ``(n_ensemble, d)`` array."""
        return self.posterior["theta"].values[0]

    def plot(self, ax=None):
        """Data misfit (mean squared normalised residual) against the assimilation step."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(5, 3.5))
        c = self.criterion
        ax.plot(c["step"], c["misfit"], "o-")
        ax.axhline(1.0, color="0.5", ls="--", lw=0.8)
        ax.set_yscale("log")
        ax.set_xlabel("assimilation step (0 = prior)")
        ax.set_ylabel("mean squared normalised residual")
        return ax


class ESMDA(InverseProblem):
    r"""Ensemble smoother with multiple data assimilation for expensive forward models.

    Approximates the posterior of ``theta`` given data ``y = g(theta) + e``, ``e ~ N(0, C_D)``, with an
    ensemble that is updated ``N_a`` times by Kalman-type steps whose data-error covariance is inflated
    by α_i (Σ 1/α_i = 1). Gradient-free: only forward runs ``g(theta_j)`` are needed, and those are
    independent, so they can be mapped over a Dask cluster.

    Parameters
    ----------
    forward : callable
        ``forward(theta)`` → ``(m,)`` predicted data for ``theta`` of shape ``(d,)``; with
        ``vectorized=True`` it maps ``(N, d)`` → ``(N, m)``.
    prior_sample : callable
        ``prior_sample(rng, n)`` → ``(n, d)`` draws from the prior (the initial ensemble).
    n_ensemble : int
        Ensemble size ``N`` (≥ 2; a few hundred for tens of parameters).
    alphas, n_assimilations : array-like or None, int
        Inflation coefficients (see :func:`inflation_coefficients`); default ``N_a = 4`` constant
        α_i = 4.
    param_names : sequence of str or None
        Names of the ``d`` parameters.
    vectorized : bool
        Whether ``forward`` takes the whole ensemble at once.
    final_forward : bool
        Run the forward model once more on the final ensemble (predicted data and final misfit).
    n_jobs, scheduler : int or None, str or distributed.Client or None
        Map ensemble members through :mod:`petroinfer.parallel` (Dask) when ``n_jobs != 1`` or a
        scheduler is given (ignored when ``vectorized``).
    random_state : int, numpy.random.Generator or None
        Seed or Generator (prior ensemble and data perturbations).

    Notes
    -----
    For i = 1 … N_a (Emerick & Reynolds 2013, Algorithm 1):

    .. math::

        d_j &= g(θ_j), \qquad
        \tilde y_j = y + \sqrt{α_i}\, C_D^{1/2} z_j, \quad z_j ∼ N(0, I),\\
        θ_j &← θ_j + C_{θd} (C_{dd} + α_i C_D)^{-1} (\tilde y_j - d_j),

    with ensemble cross- and auto-covariances :math:`C_{θd}, C_{dd}` (divisor N − 1). The linear
    system is solved by Cholesky factorisation. For linear ``g`` and Gaussian prior the ensemble
    converges to the exact Gaussian posterior as N → ∞; for nonlinear ``g`` it is an approximation
    (Gaussian-type update, no evidence).

    References
    ----------
    Emerick, A. A., Reynolds, A. C. (2013). Ensemble smoother with multiple data assimilation.
    *Computers & Geosciences* 55, 3–15.
    Evensen, G. (2009). *Data Assimilation: The Ensemble Kalman Filter*, 2nd ed. Springer.

    Examples
    --------
    >>> import numpy as np
    >>> G = np.array([[1.0, 0.5], [0.2, 1.0], [1.0, -1.0]])
    >>> es = ESMDA(lambda th: G @ th, lambda rng, n: rng.normal(0, 1, (n, 2)), n_ensemble=500,
    ...            random_state=0)
    >>> res = es.fit(np.array([1.0, 0.5, 0.2]), obs_error=0.1)
    >>> res.estimate["mean"].values.round(1).tolist()
    [0.7, 0.4]
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "forward": [callable],
        "prior_sample": [callable],
        "n_ensemble": [Interval(int, 2, None)],
        "n_assimilations": [Interval(int, 1, None)],
        "vectorized": [bool, np.bool_],
        "final_forward": [bool, np.bool_],
        "n_jobs": [Interval(int, 1, None), Options({-1}), None],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        forward: Callable,
        prior_sample: Callable,
        *,
        n_ensemble: int = 200,
        alphas: Sequence[float] | np.ndarray | None = None,
        n_assimilations: int = 4,
        param_names: Sequence[str] | None = None,
        vectorized: bool = False,
        final_forward: bool = True,
        n_jobs: int | None = 1,
        scheduler: Any = None,
        random_state: RandomState = None,
    ) -> None:
        self.forward = forward
        self.prior_sample = prior_sample
        self.n_ensemble = n_ensemble
        self.alphas = alphas
        self.n_assimilations = n_assimilations
        self.param_names = param_names
        self.vectorized = vectorized
        self.final_forward = final_forward
        self.n_jobs = n_jobs
        self.scheduler = scheduler
        self.random_state = random_state

    def _run_forward(self, ens: np.ndarray, m: int | None, scheduler: Any = None) -> np.ndarray:
        n, _ = ens.shape
        if self.vectorized:
            out = np.asarray(self.forward(ens), dtype=float)
            if out.ndim == 1 and m in (None, 1) and out.size == n:
                out = out[:, None]
            if out.ndim != 2 or out.shape[0] != n or (m is not None and out.shape[1] != m):
                raise ModelError(
                    f"forward (vectorized=True) must return shape ({n}, "
                    f"{'m' if m is None else m}), got {out.shape}"
                )
        else:
            rows = map_independent(
                functools.partial(_forward_one, forward=self.forward),
                list(ens),
                n_jobs=1 if scheduler is None else self.n_jobs,
                scheduler=scheduler,
                description="ES-MDA forward runs",
            )
            shapes = {np.shape(r) for r in rows}
            if len(shapes) != 1 or len(next(iter(shapes))) > 1:
                raise ModelError(
                    f"forward must return a 1-D array of the same length for every "
                    f"member, got shapes {sorted(shapes)}"
                )
            out = np.stack([np.atleast_1d(r) for r in rows])
            if m is not None and out.shape[1] != m:
                raise ModelError(
                    f"forward returns {out.shape[1]} values but there are {m} observations"
                )
        bad = ~np.all(np.isfinite(out), axis=1)
        if np.any(bad):
            j = int(np.argmax(bad))
            raise ModelError(
                f"forward returned non-finite values for ensemble member {j} at "
                f"parameters {np.array2string(ens[j], precision=6)}"
            )
        return out

    def fit(self, observations: Any, obs_error: Any) -> EnsembleResult:
        """Assimilate ``observations`` (``(m,)``) with error ``obs_error`` (scalar sd, ``(m,)`` sds or
        an ``(m, m)`` covariance) and return the updated ensemble."""
        self._validate_params()
        n = int(self.n_ensemble)
        alphas = inflation_coefficients(self.alphas, self.n_assimilations)
        try:
            y = np.asarray(observations, dtype=float)
        except (TypeError, ValueError) as exc:
            raise InputError("observations must be numeric", value=repr(observations)) from exc
        if y.ndim != 1 or y.size == 0:
            raise InputError("observations must be a non-empty 1-D array", value=y.shape)
        if not np.all(np.isfinite(y)):
            i = int(np.argmax(~np.isfinite(y)))
            raise InputError("observations must be finite", row=i, value=float(y[i]))
        m = y.size
        cd = _obs_covariance(obs_error, m)
        cd_chol = np.linalg.cholesky(cd)
        rng = as_generator(self.random_state)
        ens = np.asarray(self.prior_sample(rng, n), dtype=float)
        if ens.ndim == 1:
            ens = ens[:, None]
        if ens.ndim != 2 or ens.shape[0] != n or not np.all(np.isfinite(ens)):
            raise ModelError(
                f"prior_sample(rng, {n}) must return finite values of shape ({n}, d), "
                f"got {ens.shape}"
            )
        d = ens.shape[1]
        names = (
            [f"theta{i}" for i in range(d)]
            if self.param_names is None
            else [str(s) for s in self.param_names]
        )
        if len(names) != d:
            raise ModelError(f"param_names has {len(names)} names for {d} parameters")
        cd_inv_chol = sla.solve_triangular(cd_chol, np.eye(m), lower=True)

        def misfit(pred: np.ndarray) -> float:
            r = (y[None, :] - pred) @ cd_inv_chol.T
            return float(np.mean(r**2))

        misfits: list[float] = []
        n_runs = 0
        pred = None
        use_tasks = not self.vectorized
        with task_scheduler(
            self.n_jobs if use_tasks else 1, self.scheduler if use_tasks else None
        ) as sched:
            for alpha in alphas:
                pred = self._run_forward(ens, m, sched)
                n_runs += n
                misfits.append(misfit(pred))
                dm = ens - ens.mean(axis=0)
                dd = pred - pred.mean(axis=0)
                c_md = dm.T @ dd / (n - 1)
                c_dd = dd.T @ dd / (n - 1)
                pert = y[None, :] + np.sqrt(alpha) * rng.standard_normal((n, m)) @ cd_chol.T
                fac = sla.cho_factor(c_dd + alpha * cd, lower=True)
                ens = ens + sla.cho_solve(fac, (pert - pred).T).T @ c_md.T
                if not np.all(np.isfinite(ens)):
                    raise ModelError(
                        "ES-MDA update produced non-finite parameters (ensemble collapse?)"
                    )
            if self.final_forward:
                pred = self._run_forward(ens, m, sched)
                n_runs += n
                misfits.append(misfit(pred))
        steps = np.arange(len(misfits))
        posterior = xr.Dataset(
            {"theta": (("chain", "draw", "param"), ens[None])},
            coords={"chain": [0], "draw": np.arange(n), "param": names},
        )
        if self.final_forward:
            posterior["predicted"] = (("chain", "draw", "obs"), pred[None])
        estimate = xr.Dataset(
            {"mean": ("param", ens.mean(axis=0)), "sd": ("param", ens.std(axis=0, ddof=1))},
            coords={"param": names},
        )
        criterion = xr.Dataset(
            {
                "misfit": ("step", np.asarray(misfits)),
                "alpha": ("step", np.concatenate([[np.nan], alphas])[: steps.size]),
            },
            coords={"step": steps},
        )
        hyper = {"n_ensemble": int(n), "alphas": alphas.tolist()}
        diagnostics = {
            "n_forward_runs": n_runs,
            "misfit": misfits,
            "final_misfit": misfits[-1],
            "ensemble_sd_min": float(estimate["sd"].min()),
        }
        meta = self._metadata(method="ES-MDA (Emerick & Reynolds 2013)", inputs=(y, cd))
        return EnsembleResult(
            estimate=estimate,
            posterior=posterior,
            diagnostics=diagnostics,
            hyperparameters=hyper,
            criterion=criterion,
            metadata=meta,
        )
