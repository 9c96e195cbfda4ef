"""Shared machinery of the GMRF models and the linear-Gaussian model :class:`LinearGMRF`.

Private module behind :mod:`petroinfer.inference.gmrf`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar, NamedTuple

import numpy as np
import scipy.sparse as sp

from petroinfer._base import Interval, InverseProblem
from petroinfer._rng import RandomState
from petroinfer.errors import InputError, ModelError, format_value
from petroinfer.inference._gmrf_banded import (
    _add_bands,
    _Factor,
    _log_evidence,
    _lower_band,
)
from petroinfer.inference._gmrf_conditioning import (
    at_risk,
    chain_logdet_correction,
    logdet_error_bound,
    refine_mean,
    warn_evidence_accuracy,
    warn_mean_accuracy,
)
from petroinfer.inference._gmrf_prior_base import _Prior
from petroinfer.inference._gmrf_priors import ChainPrior, GridPrior
from petroinfer.inference._gmrf_results import (
    GMRFResult,
    channel_covariance,
    estimate_dataset,
    hyperparameter_record,
    marginal_variances,
    posterior_draws,
)
from petroinfer.inference._gmrf_search import HyperparameterSearch, run_search


def _validate_y(y: Any) -> np.ndarray:
    try:
        arr = np.asarray(y, dtype=float)
    except (TypeError, ValueError) as exc:
        raise InputError("observations y must be numeric") from exc
    if arr.ndim != 1 or arr.size == 0:
        raise InputError(f"observations y must be a non-empty 1-D array, got shape {arr.shape}")
    bad = np.flatnonzero(~np.isfinite(arr))
    if bad.size:
        raise InputError(
            "observations must be finite", column="y", row=int(bad[0]), value=float(arr[bad[0]])
        )
    return arr


def _positive(value: Any, name: str) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError) as exc:
        raise ModelError(
            f"{name} must be a positive number or None, got {format_value(value)}"
        ) from exc
    if not (np.isfinite(v) and v > 0):
        raise ModelError(
            f"{name} must be a positive finite number or None, got {format_value(value)}"
        )
    return v


def _smoothness_spec(smoothness: Any, channels: tuple[str, ...]) -> list[float | None]:
    nc = len(channels)
    if smoothness is None:
        return [None] * nc
    if isinstance(smoothness, Mapping):
        unknown = set(smoothness) - set(channels)
        if unknown:
            raise ModelError(
                f"smoothness names unknown channels {sorted(unknown)}; channels are {channels}"
            )
        vals = [smoothness.get(c) for c in channels]
    elif np.ndim(smoothness) == 0:
        vals = [smoothness] * nc
    else:
        vals = list(smoothness)
        if len(vals) != nc:
            raise ModelError(f"smoothness needs {nc} values (one per channel), got {len(vals)}")
    return [
        None if v is None else _positive(v, f"smoothness[{c!r}]")
        for v, c in zip(vals, channels, strict=True)
    ]


def _noise_weights(noise_scale: Any, m: int) -> np.ndarray:
    if noise_scale is None:
        return np.ones(m)
    s = np.asarray(noise_scale, dtype=float)
    if s.ndim == 0:
        s = np.full(m, float(s))
    if s.shape != (m,):
        raise InputError(
            f"noise_scale must have one value per observation ({m}), got shape {s.shape}",
            column="noise_scale",
        )
    bad = np.flatnonzero(~np.isfinite(s) | (s <= 0))
    if bad.size:
        raise InputError(
            "noise_scale must be positive and finite",
            column="noise_scale",
            row=int(bad[0]),
            value=float(s[bad[0]]),
        )
    return 1.0 / s**2


def _as_operator(A: Any, m_rows: int | None, ncols: int, name: str) -> sp.csr_matrix:
    if sp.issparse(A):
        M = sp.csr_matrix(A, dtype=float)
    else:
        try:
            arr = np.asarray(A, dtype=float)
        except (TypeError, ValueError) as exc:
            raise InputError(f"{name} must be a numeric array or a scipy.sparse matrix") from exc
        if arr.ndim == 3:
            arr = arr.reshape(arr.shape[0], -1)
        if arr.ndim != 2:
            raise InputError(f"{name} must be 2-D (n_obs, state size), got shape {arr.shape}")
        M = sp.csr_matrix(arr)
    if M.shape[1] != ncols or (m_rows is not None and M.shape[0] != m_rows):
        want = f"({m_rows if m_rows is not None else 'n_obs'}, {ncols})"
        raise InputError(
            f"{name} has shape {M.shape}, expected {want} (observations x "
            "prior.size, columns in x.ravel() order)"
        )
    if not np.all(np.isfinite(M.data)):
        bad = np.flatnonzero(~np.isfinite(M.data))[0]
        row = int(np.searchsorted(M.indptr, bad, side="right") - 1)
        raise InputError(f"{name} contains non-finite entries", row=row, value=float(M.data[bad]))
    return M


def _column_gains(A: sp.csr_matrix, nc: int) -> np.ndarray:
    """Typical |row sum| of the operator per channel (for starting values)."""
    absA = abs(A)
    gains = np.zeros(nc)
    for c in range(nc):
        rs = np.asarray(absA[:, c::nc].sum(axis=1)).ravel()
        rs = rs[rs > 0]
        gains[c] = float(np.median(rs)) if rs.size else 0.0
    return gains


class _GMRFModel(InverseProblem):
    """Common hyperparameter handling, evidence search and result assembly."""

    prior: _Prior
    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "noise_precision": [Interval(float, 0, None, closed="neither"), None],
        "n_samples": [Interval(int, 0, None), None],
        "random_state": ["random_state"],
    }

    def _check(self) -> None:
        """Validate the configuration (called once at the start of ``fit`` and of the search)."""
        if not isinstance(self.prior, _Prior):
            raise ModelError(
                f"prior must be a ChainPrior or GridPrior, got {type(self.prior).__name__}"
            )
        self._hp_spec()
        self._validate_params()

    def _hp_spec(self) -> tuple[float | None, list[float | None]]:
        tau = (
            None
            if self.noise_precision is None
            else _positive(self.noise_precision, "noise_precision")
        )
        return tau, _smoothness_spec(self.smoothness, self.prior.channels)

    def _hp_names(self) -> list[str]:
        return ["noise_precision"] + [f"smoothness_{c}" for c in self.prior.channels]

    def _theta_at(self, noise_precision: Any, smoothness: Any) -> np.ndarray:
        kap = self.prior.smoothness_array(smoothness)
        return np.log([_positive(noise_precision, "noise_precision"), *kap])

    def _start(self, scale_y: float, col_gain: np.ndarray) -> np.ndarray:
        """Heuristic starting log-precisions: noise 10 % of the data spread; prior spread over the
        whole chain comparable with the data spread (mapped through the operator gains)."""
        tau0 = 100.0 / max(scale_y, 1e-300) ** 2
        nc = self.prior.n_channels
        kap = np.empty(nc)
        for c in range(nc):
            g = col_gain[c] if col_gain[c] > 0 else 1.0
            var_x = (scale_y / g) ** 2
            kap[c] = self.prior._scale_length() / max(var_x, 1e-300)
        return np.log(np.concatenate([[tau0], kap]))

    def _search(
        self,
        evaluate: Callable[[np.ndarray, str], float],
        heuristic: Callable[[], np.ndarray],
        options: Mapping[str, Any],
    ) -> tuple[np.ndarray, HyperparameterSearch | None]:
        """Starting point and free mask from the configuration, then the evidence search (or
        ``None`` when every hyperparameter is fixed)."""
        tau, kap = self._hp_spec()
        fixed = [tau, *kap]
        free = np.array([v is None for v in fixed])
        theta0 = heuristic() if free.any() else np.zeros(len(fixed))
        names = self._hp_names()
        start = options.get("start") or {}
        for name in start:
            if name not in names:
                raise ModelError(f"start: unknown hyperparameter {name!r}; names are {names}")
        for k, v in enumerate(fixed):
            if v is not None:
                theta0[k] = math.log(v)
            elif names[k] in start:
                theta0[k] = math.log(_positive(start[names[k]], f"start[{names[k]!r}]"))
        if not free.any():
            return theta0, None
        opts = {"stacklevel": 4, **{k: v for k, v in options.items() if k != "start"}}
        return run_search(evaluate, theta0, free, names, self.prior.channels, **opts)

    def _result(
        self,
        *,
        x: np.ndarray,
        fac: _Factor,
        fitted: np.ndarray,
        y: np.ndarray,
        theta: np.ndarray,
        logz: float,
        search: HyperparameterSearch | None,
        method: str,
        diagnostics: Mapping[str, Any],
    ) -> GMRFResult:
        prior = self.prior
        blocks, var_int, s, lost = marginal_variances(fac, prior)
        bound = logdet_error_bound(fac, var_int)
        warn_evidence_accuracy(bound, stacklevel=3)
        est = estimate_dataset(prior, x, var_int, channel_covariance(blocks, s, prior), fitted, y)
        n_samples = self.n_samples
        if n_samples is None:
            n_samples = int(min(500, max(0, 2e7 // prior.size)))
        diag = {
            "bandwidth": fac.bandwidth,
            "n_evaluations": 0 if search is None else search.n_evaluations,
            "n_obs": int(y.size),
            **diagnostics,
            "at_search_bound": [] if search is None else list(search.at_bound),
            "variance_condition": lost,
            "log_evidence_error_bound": 0.5 * bound,
        }
        meta = self._metadata(
            method=method,
            inputs=(y,),
            order=prior.order,
            n_nodes=prior.n_nodes,
            channels=list(prior.channels),
            n_samples=n_samples,
        )
        return GMRFResult(
            estimate=est,
            posterior=posterior_draws(prior, x, fac, n_samples, self.random_state),
            log_evidence=float(logz),
            diagnostics=diag,
            hyperparameters=hyperparameter_record(
                prior, theta, "fixed" if search is None else "evidence"
            ),
            criterion=None if search is None else search.to_dataset(),
            metadata=meta,
        )


_N_SMOOTH = 80  # smooth modes per channel in the log-determinant correction


class _LinearSystem(NamedTuple):
    """The data-dependent pieces of a linear problem (internal state order)."""

    y: np.ndarray
    A: sp.csr_matrix
    w0: np.ndarray
    AtWA: np.ndarray
    AtWy: np.ndarray


class LinearGMRF(_GMRFModel):
    r"""Linear-Gaussian inverse problem ``y = A x + e`` with a GMRF prior on ``x``.

    Parameters
    ----------
    prior : ChainPrior or GridPrior
        The prior on the state ``x`` of shape ``prior.shape + (n_channels,)``.
    operator : array_like or scipy.sparse matrix
        ``A``, shape ``(n_obs, prior.size)``; columns follow ``x.ravel()``.
    noise_precision : float or None
        :math:`\tau` (1 / noise variance), or ``None`` (default) to choose it by maximum evidence.
    smoothness : float, sequence, mapping or None
        Prior precision :math:`\kappa_c` per channel (float, sequence, or ``{channel: value}``; a
        ``None`` entry is estimated); ``None`` (default) estimates all.
    noise_scale : array_like or None
        Optional relative noise s.d. per observation :math:`s_i`; the noise variance is
        :math:`s_i^2/\tau`. Pass known s.d.s and ``noise_precision=1`` for fully known noise.
    n_samples : int or None
        Posterior draws to return (``None``: up to 500, fewer for very large fields).
    random_state : None, int or numpy.random.Generator
        Seed or Generator for the draws.

    Notes
    -----
    With :math:`W = \tau\,\mathrm{diag}(1/s_i^2)`, prior precision :math:`Q` (with anchors
    :math:`\Lambda`, means :math:`m`) of rank deficiency :math:`d`, posterior precision
    :math:`P = Q + A^T W A` and mean :math:`\mu = P^{-1}(A^T W y + \Lambda m)`:

    .. math::

        \log p(y) = -\tfrac{m-d}{2}\log 2\pi + \tfrac12 \log|Q|^* + \tfrac12\log|W| - \tfrac12\log|P|
                    - \tfrac12\big[(y-A\mu)^T W (y-A\mu) + \mu^T Q_R \mu
                    + \textstyle\sum_a \lambda_a(\mu_a-m_a)^2\big],

    where :math:`|Q|^*` is the generalised determinant (Rue & Held 2005, eq. 3.18 and §3.3): the
    intrinsic prior is taken as flat along its null space, which is the limit of a vague proper prior
    up to a constant that does not depend on the hyperparameters. With a proper prior (:math:`d=0`)
    this is exactly :math:`\log N(y; A\mu_0, A Q^{-1} A^T + W^{-1})`. Hyperparameters maximise this
    evidence (MacKay 1992, Neural Comput. 4:415–447, "Bayesian interpolation") through
    :meth:`search_hyperparameters`. Marginal variances use the block twisted factorisation (Meurant
    1992, SIAM J. Matrix Anal. Appl. 13:707–728), the block analogue of the Takahashi selected
    inversion (Takahashi et al. 1973; Rue & Held 2005, §2.3.1). Draws: :math:`x = \mu + L^{-T} z`
    with :math:`P = L L^T` (Rue & Held 2005, Algorithm 2.4).

    Chains are solved in positions rescaled to unit mean spacing; the precisions and the log
    determinants transform back exactly (see :mod:`petroinfer.inference.gmrf`, "Conditioning"),
    and a :class:`~petroinfer.errors.DataQualityWarning` is raised when the factorisation still
    loses accuracy in the mean or the evidence.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> s = np.linspace(0.0, 1.0, 200)
    >>> truth = np.sin(2 * np.pi * s)
    >>> y = truth + 0.1 * rng.standard_normal(200)
    >>> res = LinearGMRF(ChainPrior(s, order=2), np.eye(200), random_state=0).fit(y)
    >>> sd_noise = 1 / res.hyperparameters["noise_precision"] ** 0.5  # noise s.d. recovered
    >>> bool(0.08 < sd_noise < 0.12)
    True
    >>> float(np.abs(res.estimate["mean"].sel(channel="x") - truth).max()) < 0.1
    True
    """

    def __init__(
        self,
        prior: ChainPrior | GridPrior,
        operator: Any,
        *,
        noise_precision: float | None = None,
        smoothness: float | Sequence[float | None] | Mapping[str, float | None] | None = None,
        noise_scale: Any = None,
        n_samples: int | None = None,
        random_state: RandomState = None,
    ) -> None:
        self.prior = prior
        self.operator = operator
        self.noise_precision = noise_precision
        self.smoothness = smoothness
        self.noise_scale = noise_scale
        self.n_samples = n_samples
        self.random_state = random_state

    def _system(self, y: Any) -> _LinearSystem:
        prior = self.prior
        y = _validate_y(y)
        A = _as_operator(self.operator, y.size, prior.size, "operator")
        A_int = A[:, prior._user_cols()]
        w0 = _noise_weights(self.noise_scale, y.size)
        AtWA = _lower_band(A_int.T @ sp.diags(w0) @ A_int, prior.size)
        return _LinearSystem(y, A_int, w0, AtWA, A_int.T @ (w0 * y))

    def _solve(self, theta: np.ndarray, ls: _LinearSystem, correct: bool = True):
        """Posterior mean, factor, fit and exact log evidence at log-hyperparameters ``theta``."""
        prior = self.prior
        tau, kappa = math.exp(theta[0]), np.exp(theta[1:])
        Qab, ldQ, d = prior._precision(kappa)
        terms = prior._mean_terms()
        fac = _Factor(_add_bands(Qab, ls.AtWA, 1.0, tau), terms, "posterior precision")
        rhs = tau * ls.AtWy + prior._anchor_rhs()
        x = fac.solve(rhs, None if terms is None else terms[2])

        def gradient(v: np.ndarray) -> np.ndarray:
            return tau * (ls.A.T @ (ls.w0 * (ls.A @ v - ls.y))) + prior._prior_gradient(v, kappa)

        x, accuracy, _ = refine_mean(fac, x, gradient)
        if correct and fac.Z is None and isinstance(prior, ChainPrior):
            data_band = tau * ls.AtWA
            if at_risk(fac, data_band):
                fac.logdet += chain_logdet_correction(fac, prior, kappa, data_band, _N_SMOOTH)
        fitted = ls.A @ x
        r = ls.y - fitted
        energy = tau * float(np.sum(ls.w0 * r * r)) + prior._prior_energy(x, kappa)
        logdet_w = ls.y.size * theta[0] + float(np.sum(np.log(ls.w0)))
        logz = _log_evidence(ls.y.size, d, ldQ, logdet_w, fac, energy)
        return x, fac, fitted, logz, accuracy

    def log_evidence(self, y: Any, noise_precision: float, smoothness: Any) -> float:
        """Exact log evidence at given hyperparameters (see the class Notes).

        Parameters
        ----------
        y : array_like
            Observations, shape ``(n_obs,)``.
        noise_precision : float
            :math:`\\tau`.
        smoothness : float, sequence or mapping
            :math:`\\kappa` for every channel.

        Returns
        -------
        float
            :math:`\\log p(y \\mid \\tau, \\kappa)` in nats.
        """
        self._check()
        ls = self._system(y)
        return float(self._solve(self._theta_at(noise_precision, smoothness), ls)[3])

    def search_hyperparameters(
        self,
        y: Any,
        *,
        bounds: Mapping[str, tuple[float, float]] | None = None,
        start: Mapping[str, float] | None = None,
        tol: float = 1e-2,
        max_evaluations: int | None = None,
        callback: Callable[[dict[str, Any]], Any] | None = None,
        scan: int = 10,
        profile: bool = True,
    ) -> HyperparameterSearch:
        """Maximise the evidence over the hyperparameters left free (``None``) in the model.

        Parameters
        ----------
        y : array_like
            Observations, shape ``(n_obs,)``.
        bounds : mapping or None
            ``{name: (low, high)}`` for any of ``noise_precision``, ``smoothness_<channel>``
            (natural units); default ±14 decades around the start.
        start : mapping or None
            Starting values by the same names; default a scale heuristic.
        tol : float
            Nelder–Mead tolerance on the natural log of the hyperparameters (the evidence
            tolerance is ``tol / 100`` nats).
        max_evaluations : int or None
            Budget of evidence evaluations (``None``: unlimited); reaching it ends the search with
            a :class:`~petroinfer.errors.ConvergenceWarning` and ``converged=False``.
        callback : callable or None
            ``callback(record)`` after every evaluation, with ``record`` a dict of the
            hyperparameters, ``stage`` and ``log_evidence``; returning ``True`` stops the search.
        scan : int
            Half-width in decades of the coarse scan before Nelder–Mead (0: no scan).
        profile : bool
            Profile every free hyperparameter over ±2 decades (restarting Nelder–Mead when a
            profile point is better).

        Returns
        -------
        HyperparameterSearch
            The optimum, its log evidence and every evaluation.
        """
        self._check()
        ls = self._system(y)
        opts = dict(bounds=bounds, start=start, tol=tol, max_evaluations=max_evaluations,
                    callback=callback, scan=scan, profile=profile)  # fmt: skip
        theta, search = self._search(
            lambda th, stage: self._solve(th, ls, correct=stage != "scan")[3],
            self._heuristic(ls),
            opts,
        )
        if search is None:
            return _fixed_search(self, theta, float(self._solve(theta, ls)[3]))
        return search

    def _heuristic(self, ls: _LinearSystem) -> Callable[[], np.ndarray]:
        nc = self.prior.n_channels
        return lambda: self._start(float(np.std(ls.y)) or 1.0, _column_gains(ls.A, nc))

    def fit(self, y: Any) -> GMRFResult:
        """Posterior (mean, marginal s.d., 90 % intervals, draws) and evidence for data ``y``.

        Parameters
        ----------
        y : array_like
            Observations, shape ``(n_obs,)``.

        Returns
        -------
        GMRFResult
            Posterior, log evidence, chosen hyperparameters and the evidence criterion.
        """
        self._check()
        ls = self._system(y)
        theta, search = self._search(
            lambda th, stage: self._solve(th, ls, correct=stage != "scan")[3],
            self._heuristic(ls),
            {},
        )
        x, fac, fitted, logz, accuracy = self._solve(theta, ls)
        warn_mean_accuracy(accuracy, stacklevel=2)
        return self._result(
            x=x, fac=fac, fitted=fitted, y=ls.y, theta=theta, logz=logz, search=search,
            method="LinearGMRF", diagnostics={"mean_accuracy": accuracy},
        )  # fmt: skip


def _fixed_search(model: _GMRFModel, theta: np.ndarray, logz: float) -> HyperparameterSearch:
    """A search record for a model whose hyperparameters are all fixed."""
    import pandas as pd

    names = model._hp_names()
    values = np.exp(theta)
    return HyperparameterSearch(
        hyperparameters={
            "noise_precision": float(values[0]),
            "smoothness": {
                c: float(v) for c, v in zip(model.prior.channels, values[1:], strict=True)
            },
        },
        log_evidence=logz,
        criterion=pd.DataFrame(columns=["stage", *names, "log_evidence"]),
        n_evaluations=0,
        converged=True,
    )
