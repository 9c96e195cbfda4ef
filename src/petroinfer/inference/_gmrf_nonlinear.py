"""The nonlinear GMRF model: Levenberg–Marquardt MAP, Laplace posterior and Laplace evidence.

Private module behind :mod:`petroinfer.inference.gmrf`.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar, NamedTuple

import numpy as np
import scipy.sparse as sp

from petroinfer._base import Interval
from petroinfer._rng import RandomState
from petroinfer.errors import ConvergenceWarning, InputError, ModelError, PetroinferError
from petroinfer.inference._gmrf_banded import _add_bands, _Factor, _log_evidence, _lower_band
from petroinfer.inference._gmrf_models import (
    _as_operator,
    _column_gains,
    _fixed_search,
    _GMRFModel,
    _noise_weights,
    _validate_y,
)
from petroinfer.inference._gmrf_priors import ChainPrior, GridPrior
from petroinfer.inference._gmrf_results import GMRFResult
from petroinfer.inference._gmrf_search import HyperparameterSearch


class _MAP(NamedTuple):
    """A Levenberg–Marquardt solution at fixed hyperparameters."""

    x: np.ndarray
    fac: _Factor
    fitted: np.ndarray
    log_evidence: float
    iterations: int
    converged: bool
    objective: float


class NonlinearGMRF(_GMRFModel):
    r"""Nonlinear inverse problem ``y = f(x) + e`` with a GMRF prior: MAP + Laplace posterior.

    Parameters
    ----------
    prior : ChainPrior or GridPrior
        A :class:`ChainPrior` or :class:`GridPrior`.
    forward : callable
        ``f(x) -> (n_obs,)`` predictions, with ``x`` an array of shape ``prior.shape + (n_channels,)``
        (e.g. ``(n_nodes, 2)`` for channels ``("T", "P")``). Called once per iteration on the whole
        state (vectorise inside).
    jacobian : callable
        ``J(x) -> (n_obs, prior.size)`` (dense, ``scipy.sparse``, or dense of shape
        ``(n_obs,) + prior.shape + (n_channels,)``): derivatives of ``f`` with respect to
        ``x.ravel()``. Sparse rows (each datum touches few nodes) keep the problem banded.
    noise_precision, smoothness, noise_scale : see LinearGMRF
        As for :class:`LinearGMRF` (``None`` = chosen by maximum Laplace evidence).
    x0 : array_like or None
        Starting state, shape ``prior.shape + (n_channels,)``; default: the null-space function
        through the anchors, or zeros.
    max_iter : int
        Levenberg–Marquardt iteration limit.
    tol : float
        Relative tolerance on the objective (Gauss–Newton predicted decrease).
    n_samples, random_state : see LinearGMRF
        As for :class:`LinearGMRF`.

    Notes
    -----
    The MAP minimises :math:`\Phi(x) = \tfrac12 (y-f(x))^T W (y-f(x)) + \tfrac12 x^T Q_R x +
    \tfrac12\sum_a\lambda_a(x_a-m_a)^2` by Levenberg–Marquardt (Marquardt 1963, J. SIAM 11:431–441):
    Gauss–Newton steps :math:`(P + \lambda\,\mathrm{diag} P)\,\delta = -\nabla\Phi` with the banded
    :math:`P = Q + J^T W J`, re-linearised at every iterate. The Laplace approximation (Tierney &
    Kadane 1986, JASA 81:82–86; MacKay 1992) uses :math:`N(\hat x, \hat P^{-1})` and

    .. math::

        \log p(y) \approx -\tfrac{m-d}{2}\log 2\pi + \tfrac12\log|Q|^* + \tfrac12\log|W|
            - \tfrac12\log|\hat P| - \Phi(\hat x),

    which equals the exact evidence of :class:`LinearGMRF` when ``f`` is linear. Hyperparameters
    maximise it, re-solving the MAP (warm-started) at each trial value.

    Examples
    --------
    Two channels (T, P) along a garnet radius; each datum is a nonlinear function of (T, P)
    interpolated at its radius:

    >>> import numpy as np
    >>> r = np.linspace(0.0, 1.0, 30)                    # node radii
    >>> prior = ChainPrior(r, order=2, channels=("T", "P"))
    >>> at = np.linspace(0.02, 0.98, 40)                 # datum radii
    >>> W = prior.interpolation_matrix(at)               # (40, 30) interpolation weights
    >>> def forward(x):                                  # x: (30, 2) = (T, P) per node
    ...     T, P = W @ x[:, 0], W @ x[:, 1]
    ...     return np.concatenate([np.log(T), P / T])      # 80 predictions
    >>> def jacobian(x):
    ...     import scipy.sparse as sp
    ...     T, P = W @ x[:, 0], W @ x[:, 1]
    ...     zero = sp.csr_matrix(W.shape)
    ...     dlogT = sp.hstack([sp.diags(1 / T) @ W, zero])            # d/dT, d/dP
    ...     dratio = sp.hstack([sp.diags(-P / T**2) @ W, sp.diags(1 / T) @ W])
    ...     J = sp.vstack([dlogT, dratio]).tocsc()
    ...     # reorder columns from (T-block, P-block) to x.ravel() order (node-major)
    ...     order = np.arange(60).reshape(2, 30).T.ravel()
    ...     return J[:, order]
    >>> truth = np.column_stack([800 + 150 * np.sin(2 * r), 5 + 3 * r**2])
    >>> rng = np.random.default_rng(1)
    >>> y = forward(truth) + 0.002 * rng.standard_normal(80)
    >>> x0 = np.column_stack([np.full(30, 850.0), np.full(30, 6.0)])
    >>> model = NonlinearGMRF(prior, forward, jacobian, x0=x0, noise_precision=1 / 0.002**2,
    ...                       random_state=0)
    >>> res = model.fit(y)
    >>> T_hat = res.estimate["mean"].sel(channel="T")
    >>> bool(np.abs(T_hat - truth[:, 0]).max() < 15)
    True
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        **_GMRFModel._parameter_constraints,
        "max_iter": [Interval(int, 1, None)],
        "tol": [Interval(float, 0, None, closed="neither")],
    }

    def __init__(
        self,
        prior: ChainPrior | GridPrior,
        forward: Callable[[np.ndarray], np.ndarray],
        jacobian: Callable[[np.ndarray], Any],
        *,
        noise_precision: float | None = None,
        smoothness: float | Sequence[float | None] | Mapping[str, float | None] | None = None,
        noise_scale: Any = None,
        x0: Any = None,
        max_iter: int = 100,
        tol: float = 1e-10,
        n_samples: int | None = None,
        random_state: RandomState = None,
    ) -> None:
        if not callable(forward) or not callable(jacobian):
            raise ModelError("forward and jacobian must be callables f(x) and J(x)")
        self.prior = prior
        self.forward = forward
        self.jacobian = jacobian
        self.noise_precision = noise_precision
        self.smoothness = smoothness
        self.noise_scale = noise_scale
        self.x0 = x0
        self.max_iter = max_iter
        self.tol = tol
        self.n_samples = n_samples
        self.random_state = random_state

    # -- user-function wrappers (user layout <-> internal flat order)
    def _call(self, fn: Callable[[np.ndarray], Any], name: str, x_int: np.ndarray) -> Any:
        """``fn`` at the internal state ``x_int`` given in the user's layout; its own errors are
        reported as :class:`ModelError` naming ``name``."""
        prior = self.prior
        xu = np.empty(prior.size)
        xu[prior._user_cols()] = x_int
        try:
            return fn(xu.reshape((*prior.shape, prior.n_channels)))
        except PetroinferError:
            raise
        except Exception as exc:
            raise ModelError(f"{name} failed: {exc}") from exc

    def _f(self, x_int: np.ndarray, m: int) -> np.ndarray:
        out = self._call(lambda v: np.asarray(self.forward(v), float), "forward(x)", x_int)
        if out.shape != (m,):
            raise ModelError(f"forward(x) returned shape {out.shape}, expected ({m},)")
        return out

    def _J(self, x_int: np.ndarray, m: int) -> sp.csr_matrix:
        J = self._call(self.jacobian, "jacobian(x)", x_int)
        try:
            J = _as_operator(J, m, self.prior.size, "jacobian(x)")
        except InputError as exc:
            raise ModelError(str(exc)) from exc
        return J[:, self.prior._user_cols()]

    def _start_state(self, x0: Any) -> np.ndarray:
        """The starting state in internal order (``x0``, else the model's ``x0``, else the
        null-space function through the anchors)."""
        prior = self.prior
        x0 = self.x0 if x0 is None else x0
        if x0 is None:
            return prior._anchor_start()
        xa = np.asarray(x0, dtype=float)
        if xa.size != prior.size:
            raise InputError(
                f"x0 must have shape {(*prior.shape, prior.n_channels)}, got {xa.shape}",
                column="x0",
            )
        bad = np.flatnonzero(~np.isfinite(xa.ravel()))
        if bad.size:
            raise InputError("x0 must be finite", column="x0", row=int(bad[0]))
        return xa.ravel()[prior._user_cols()]

    def _lm_step(self, x, fx, phi, grad, H, low, lam, objective, m):
        """One damped step (increase the damping until the objective decreases)."""
        for _ in range(40):
            Hd = H.copy()
            Hd[0] *= 1.0 + lam
            step = -_Factor(Hd, low, "damped Hessian").solve(grad)
            x_new = x + step
            f_new = self._f(x_new, m)
            phi_new = objective(x_new, f_new) if np.all(np.isfinite(f_new)) else np.inf
            if phi_new <= phi:
                return x_new, f_new, phi_new, max(lam / 10.0, 1e-12)
            lam *= 10.0
        return None

    def _map(
        self,
        x: np.ndarray,
        theta: np.ndarray,
        y: np.ndarray,
        w0: np.ndarray,
        max_iter: int | None = None,
    ) -> _MAP:
        """Levenberg–Marquardt MAP at fixed hyperparameters and its Laplace evidence."""
        prior = self.prior
        m = y.size
        kappa = np.exp(theta[1:])
        Qab, ldQ, d = prior._precision(kappa)
        low = prior._mean_terms()
        w = math.exp(theta[0]) * w0

        def objective(xv, fv):
            r = y - fv
            return 0.5 * float(np.sum(w * r * r)) + 0.5 * prior._prior_energy(xv, kappa)

        def hessian(xv):
            J = self._J(xv, m)
            return J, _add_bands(Qab, _lower_band(J.T @ sp.diags(w) @ J, prior.size))

        fx = self._f(x, m)
        if not np.all(np.isfinite(fx)):
            raise ModelError("forward(x) returned non-finite values at the starting state")
        phi, lam, converged, it = objective(x, fx), 1e-3, False, 0
        for it in range(1, (max_iter or self.max_iter) + 1):  # noqa: B007
            J, H = hessian(x)
            grad = -(J.T @ (w * (y - fx))) + prior._prior_gradient(x, kappa)
            # Gauss-Newton predicted decrease: stop when it is negligible
            step_gn = -_Factor(H, low, "Gauss-Newton Hessian").solve(grad)
            if -0.5 * float(grad @ step_gn) <= self.tol * (1.0 + abs(phi)):
                converged = True  # polish with the undamped step (exact for a linear forward)
                f_gn = self._f(x + step_gn, m)
                if np.all(np.isfinite(f_gn)):
                    phi_gn = objective(x + step_gn, f_gn)
                    if phi_gn <= phi + 1e-12 * abs(phi):
                        x, fx, phi = x + step_gn, f_gn, phi_gn
                break
            stepped = self._lm_step(x, fx, phi, grad, H, low, lam, objective, m)
            if stepped is None:  # no decrease possible: at the optimum up to rounding?
                converged = -0.5 * float(grad @ step_gn) <= 1e-6 * (1.0 + abs(phi))
                break
            x, fx, phi, lam = stepped
        fac = _Factor(hessian(x)[1], low, "Laplace posterior precision")
        logz = _log_evidence(m, d, ldQ, float(np.sum(np.log(w))), fac, 2.0 * phi)
        return _MAP(x, fac, fx, logz, it, converged, phi)

    def log_evidence(
        self, y: Any, noise_precision: float, smoothness: Any, *, x0: Any = None
    ) -> float:
        """Laplace log evidence at given hyperparameters (see the class Notes).

        Parameters
        ----------
        y : array_like
            Observations, shape ``(n_obs,)``.
        noise_precision : float
            :math:`\\tau`.
        smoothness : float, sequence or mapping
            :math:`\\kappa` for every channel.
        x0 : array_like or None
            Start of the MAP search, shape ``prior.shape + (n_channels,)`` (default: the model's
            ``x0``).

        Returns
        -------
        float
            Laplace approximation of :math:`\\log p(y \\mid \\tau, \\kappa)` in nats, at the MAP
            reached from ``x0``; a :class:`~petroinfer.errors.ConvergenceWarning` is raised when
            Levenberg–Marquardt did not converge.
        """
        self._check()
        y = _validate_y(y)
        w0 = _noise_weights(self.noise_scale, y.size)
        sol = self._map(self._start_state(x0), self._theta_at(noise_precision, smoothness), y, w0)
        if not sol.converged:
            warnings.warn(
                f"Levenberg–Marquardt did not converge in {self.max_iter} iterations",
                ConvergenceWarning,
                stacklevel=2,
            )
        return float(sol.log_evidence)

    def _run(self, y, w0, x, options) -> tuple[np.ndarray, HyperparameterSearch | None, dict]:
        """The evidence search with a warm-started MAP; returns the optimum, the search and the
        warm-start state (the MAP of the best converged evaluation)."""
        m = y.size
        state = {"x": x, "best": -np.inf}

        def heuristic():
            spread = float(np.std(y - self._f(x, m))) or float(np.std(y)) or 1.0
            return self._start(spread, _column_gains(self._J(x, m), self.prior.n_channels))

        def evaluate(theta, stage):
            # warm start from the MAP of the best hyperparameters so far; the coarse scan uses a
            # few LM iterations only
            scanning = stage == "scan"
            sol = self._map(state["x"].copy(), theta, y, w0, 15 if scanning else self.max_iter)
            if sol.converged and sol.log_evidence > state["best"]:
                state["x"], state["best"] = sol.x, sol.log_evidence
            if not (sol.converged or scanning):
                return -np.inf  # unreliable (ill-conditioned) region: not a candidate optimum
            return sol.log_evidence

        theta, search = self._search(evaluate, heuristic, options)
        return theta, search, state

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
        x0: Any = None,
    ) -> HyperparameterSearch:
        """Maximise the Laplace evidence over the hyperparameters left free in the model.

        Each evaluation re-solves the MAP, warm-started from the MAP of the best evaluation so far
        (no Result is built). Parameters are those of :meth:`LinearGMRF.search_hyperparameters`,
        plus ``x0``, the starting state (default: the model's ``x0``).

        Parameters
        ----------
        y : array_like
            Observations, shape ``(n_obs,)``.
        bounds : mapping or None
            ``{name: (low, high)}`` by hyperparameter name (natural units).
        start : mapping or None
            Starting values by hyperparameter name.
        tol : float
            Nelder–Mead tolerance on the natural log of the hyperparameters.
        max_evaluations : int or None
            Budget of evidence evaluations.
        callback : callable or None
            Called with a dict after every evaluation; returning ``True`` stops the search.
        scan : int
            Half-width in decades of the coarse scan (0: none).
        profile : bool
            Profile the free hyperparameters around the optimum.
        x0 : array_like or None
            Starting state, shape ``prior.shape + (n_channels,)``.

        Returns
        -------
        HyperparameterSearch
            The optimum, its Laplace log evidence and every evaluation.
        """
        self._check()
        y = _validate_y(y)
        w0 = _noise_weights(self.noise_scale, y.size)
        opts = dict(bounds=bounds, start=start, tol=tol, max_evaluations=max_evaluations,
                    callback=callback, scan=scan, profile=profile, stacklevel=5)  # fmt: skip
        theta, search, state = self._run(y, w0, self._start_state(x0), opts)
        if search is None:
            sol = self._map(state["x"].copy(), theta, y, w0)
            return _fixed_search(self, theta, float(sol.log_evidence))
        return search

    def fit(self, y: Any, x0: Any = None) -> GMRFResult:
        """MAP, Laplace marginals/draws and Laplace evidence for data ``y``.

        Parameters
        ----------
        y : array_like
            Observations, shape ``(n_obs,)``.
        x0 : array_like or None
            Starting state (overrides the model's ``x0``).

        Returns
        -------
        GMRFResult
            Laplace posterior, Laplace log evidence and the chosen hyperparameters.
        """
        self._check()
        y = _validate_y(y)
        w0 = _noise_weights(self.noise_scale, y.size)
        theta, search, state = self._run(y, w0, self._start_state(x0), {"stacklevel": 5})
        sol = self._map(state["x"].copy(), theta, y, w0)
        if not sol.converged:
            warnings.warn(
                f"Levenberg–Marquardt did not converge in {self.max_iter} iterations",
                ConvergenceWarning,
                stacklevel=2,
            )
        return self._result(
            x=sol.x, fac=sol.fac, fitted=sol.fitted, y=y, theta=theta, logz=sol.log_evidence,
            search=search, method="NonlinearGMRF",
            diagnostics={"map_iterations": sol.iterations, "map_converged": sol.converged,
                         "laplace": True},
        )  # fmt: skip
