r"""State-space models: bootstrap particle filter, FFBSi smoother, Kalman/RTS reference, PMMH.

A (hidden Markov) state-space model is

.. math::

    x_0 \sim \mu(\cdot), \qquad x_t \mid x_{t-1} \sim f_t(\cdot \mid x_{t-1}), \qquad
    y_t \mid x_t \sim g_t(\cdot \mid x_t), \qquad t = 0, \dots, T-1 .

The user supplies three (vectorised) callables: a sampler of the initial state, a sampler of the
transition and the observation log-density; the smoother additionally needs the transition
log-density. Everything is vectorised over particles (and optionally over a *batch* of independent
filters, e.g. one per parameter value or per MCMC chain); there is no Python loop over particles.

Nothing in this module knows about rocks (DESIGN.md §1).

References
----------
Gordon, Salmond & Smith (1993) IEE Proc. F 140:107 (bootstrap filter).
Kitagawa (1996) J. Comput. Graph. Stat. 5:1 (Monte Carlo filter and smoother, systematic resampling).
Del Moral (2004) Feynman–Kac Formulae, Springer (unbiasedness of the likelihood estimate).
Godsill, Doucet & West (2004) JASA 99:156 (forward-filtering backward-simulation, FFBSi).
Kalman (1960) J. Basic Eng. 82:35; Rauch, Tung & Striebel (1965) AIAA J. 3:1445 (RTS smoother).
Andrieu, Doucet & Holenstein (2010) JRSS B 72:269 (particle marginal Metropolis–Hastings).
Haario, Saksman & Tamminen (2001) Bernoulli 7:223 (adaptive Metropolis).
Chopin & Papaspiliopoulos (2020) An Introduction to Sequential Monte Carlo, Springer.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from petroinfer._rng import RandomState, as_generator
from petroinfer.errors import InputError, ModelError
from petroinfer.inference.diagnostics import check_convergence, convergence_diagnostics
from petroinfer.inference.results import Result, make_metadata

__all__ = [
    "FilterResult",
    "KalmanResult",
    "SmootherResult",
    "StateSpaceModel",
    "bootstrap_filter",
    "ffbsi_smoother",
    "kalman_filter",
    "pmmh",
    "rts_smoother",
    "sampler_diagnostics",
    "systematic_resample",
]

Array = np.ndarray


# ----------------------------------------------------------------------------- resampling
def systematic_resample(log_weights: Array, rng: np.random.Generator) -> Array:
    """Systematic resampling, row by row.

    Parameters
    ----------
    log_weights : ndarray, shape (B, N) or (N,)
        Unnormalised log weights (rows are independent particle systems).
    rng : numpy.random.Generator

    Returns
    -------
    ndarray of int, same shape
        Ancestor indices into each row.

    Notes
    -----
    One uniform ``U ~ U(0, 1)`` per row, points ``(U + i) / N`` inverted through the cumulative
    normalised weights (Kitagawa 1996). Each ancestor count differs from ``N W_i`` by less than one.
    """
    lw = np.atleast_2d(np.asarray(log_weights, dtype=float))
    b, n = lw.shape
    w = np.exp(lw - lw.max(axis=1, keepdims=True))
    cs = np.cumsum(w, axis=1)
    cs /= cs[:, -1:]
    cs[:, -1] = 1.0
    u = (rng.random((b, 1)) + np.arange(n)) / n
    offs = np.arange(b)[:, None]
    idx = np.searchsorted((cs + offs).ravel(), (u + offs).ravel(), side="left").reshape(b, n)
    idx = np.minimum(idx - offs * n, n - 1)
    return idx if np.ndim(log_weights) == 2 else idx[0]


# ----------------------------------------------------------------------------- particle filter
@dataclass(frozen=True)
class FilterResult:
    """Output of :func:`bootstrap_filter`.

    Arrays carry a leading batch axis ``B`` only when the filter was run with ``n_batch``.
    The constructor arguments are stored as attributes of the same name.

    Parameters
    ----------
    log_likelihood : float or ndarray (B,)
        Estimate of ``log p(y_{0:T-1})`` (its exponential is unbiased); ``-inf`` when every particle
        of a filter became impossible.
    log_likelihood_increments : ndarray ([B,] T)
        ``log p̂(y_t | y_{0:t-1})`` (0 at steps whose observation is missing).
    filtered_mean : ndarray ([B,] T, d)
        Weighted particle mean of ``x_t | y_{0:t}`` (NaN when run with ``moments=False``).
    filtered_var : ndarray ([B,] T, d)
        Weighted particle variance of ``x_t | y_{0:t}`` (NaN when run with ``moments=False``).
    ess : ndarray ([B,] T)
        Effective sample size after weighting at each step.
    resampled : ndarray of bool ([B,] T)
        Whether resampling happened before propagating to step t.
    particles : ndarray (T, [B,] N, d) or None, optional
        Particles at every step (``store_particles=True``); ``None`` otherwise.
    log_weights : ndarray (T, [B,] N) or None, optional
        Normalised log weights at every step (``store_particles=True``); ``None`` otherwise.
    n_particles : int, optional
        Number N of particles per filter (default 0, i.e. unknown).
    """

    log_likelihood: Any
    log_likelihood_increments: Array
    filtered_mean: Array
    filtered_var: Array
    ess: Array
    resampled: Array
    particles: Array | None = None
    log_weights: Array | None = None
    n_particles: int = 0


def _check_y(y: Any) -> Array:
    arr = np.asarray(y, dtype=float)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2 or arr.shape[0] == 0:
        raise InputError(
            "observations y must have shape (T,) or (T, p) with T >= 1",
            value=getattr(arr, "shape", None),
        )
    if np.isinf(arr).any():
        t = int(np.argwhere(np.isinf(arr))[0, 0])
        raise InputError(
            "observations must be finite (NaN marks a missing value)",
            row=t,
            value=float(arr[t][np.isinf(arr[t])][0]),
        )
    return arr


def bootstrap_filter(
    y: Any,
    initial: Callable[[int, np.random.Generator], Array],
    transition: Callable[[Array, int, np.random.Generator], Array],
    obs_logpdf: Callable[[Array, Array, int], Array],
    n_particles: int = 1000,
    *,
    n_batch: int | None = None,
    resample_threshold: float = 0.5,
    store_particles: bool = False,
    moments: bool = True,
    random_state: RandomState = None,
) -> FilterResult:
    r"""Bootstrap particle filter with adaptive systematic resampling.

    Parameters
    ----------
    y : array_like, shape (T,) or (T, p)
        Observations; a row containing NaN is treated as *missing* (no weighting at that step) —
        ``obs_logpdf`` still decides what to do with partially missing rows, it receives the row.
    initial : callable ``(n_particles, rng) -> x``
        Sampler of ``x_0``; returns ``(N, d)`` (or ``(B, N, d)`` with ``n_batch``).
    transition : callable ``(x_prev, t, rng) -> x``
        Sampler of ``x_t | x_{t-1}`` for ``t >= 1``, vectorised over the particle array.
    obs_logpdf : callable ``(y_t, x, t) -> logg``
        ``log g_t(y_t | x)`` for every particle, shape ``(N,)`` (or ``(B, N)``). ``-inf`` is allowed
        (impossible particle), NaN is not.
    n_particles : int
        Number of particles N per filter.
    n_batch : int, optional
        Run B independent filters at once (e.g. one per parameter value). The callables then work on
        ``(B, N, d)`` arrays and every output gets a leading batch axis.
    resample_threshold : float in (0, 1]
        Resample (systematically) when ``ESS < resample_threshold * N``; 1 resamples every step.
    store_particles : bool
        Keep all particles and weights (needed by :func:`ffbsi_smoother`; memory ``T N d``).
    moments : bool
        Compute the filtered means and variances (set False to save time when only the
        likelihood is wanted, e.g. inside PMMH; they are then NaN).
    random_state : int, Generator or None

    Returns
    -------
    FilterResult

    Notes
    -----
    With normalised weights :math:`W_{t-1}^i` carried from the previous step (uniform after a
    resampling) and incremental weights :math:`w_t^i = g_t(y_t | x_t^i)`,

    .. math::

        \hat p(y_t | y_{0:t-1}) = \sum_i W_{t-1}^i w_t^i, \qquad
        \log \hat p(y_{0:T-1}) = \sum_t \log \hat p(y_t | y_{0:t-1}),

    which is unbiased for the likelihood (Del Moral 2004; Chopin & Papaspiliopoulos 2020, ch. 16).
    ESS is :math:`1 / \sum_i (W_t^i)^2`.

    Examples
    --------
    A linear-Gaussian AR(1) observed with noise:

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> y = np.cumsum(rng.normal(size=50)) * 0.1
    >>> res = bootstrap_filter(
    ...     y,
    ...     initial=lambda n, r: r.normal(size=(n, 1)),
    ...     transition=lambda x, t, r: 0.9 * x + 0.3 * r.normal(size=x.shape),
    ...     obs_logpdf=lambda yt, x, t: -0.5 * ((yt[0] - x[..., 0]) / 0.5) ** 2,
    ...     n_particles=500, random_state=1)
    >>> res.filtered_mean.shape
    (50, 1)
    """
    yy = _check_y(y)
    n = int(n_particles)
    if n < 2:
        raise ModelError(f"n_particles must be >= 2, got {n_particles}")
    if not 0.0 < float(resample_threshold) <= 1.0:
        raise ModelError(f"resample_threshold must be in (0, 1], got {resample_threshold}")
    rng = as_generator(random_state)
    batched = n_batch is not None
    b = int(n_batch) if batched else 1
    if b < 1:
        raise ModelError(f"n_batch must be >= 1, got {n_batch}")

    if batched:
        init_f, trans_f, obs_f = initial, transition, obs_logpdf
    else:

        def init_f(nn, r):
            return np.asarray(initial(nn, r), dtype=float)[None]

        def trans_f(x, t, r):
            return np.asarray(transition(x[0], t, r), dtype=float)[None]

        def obs_f(yt, x, t):
            return np.asarray(obs_logpdf(yt, x[0], t), dtype=float)[None]

    x = np.asarray(init_f(n, rng), dtype=float)
    if x.ndim == 2:
        x = x[..., None]
    if x.shape[:2] != (b, n):
        raise ModelError(
            f"initial sampler returned shape {x.shape}, expected ({b}, {n}, d)"
            if batched
            else f"initial sampler returned shape {x.shape[1:]}, expected ({n}, d)"
        )
    T = yy.shape[0]
    d = x.shape[-1]
    logw = np.full((b, n), -math.log(n))
    w = np.full((b, n), 1.0 / n)
    ll_inc = np.zeros((b, T))
    means = np.full((b, T, d), np.nan)
    variances = np.full((b, T, d), np.nan)
    ess = np.empty((b, T))
    resampled = np.zeros((b, T), dtype=bool)
    store_x = np.empty((T, b, n, d)) if store_particles else None
    store_w = np.empty((T, b, n)) if store_particles else None
    thr = float(resample_threshold) * n
    ess_now = np.full(b, float(n))
    log_n = math.log(n)
    for t in range(T):
        if t > 0:
            need = ess_now < thr
            if need.all():
                idx = systematic_resample(logw, rng)
                x = np.take_along_axis(x, idx[..., None], axis=1)
                logw = np.full((b, n), -log_n)
                resampled[:, t] = True
            elif need.any():
                idx = systematic_resample(logw[need], rng)
                x[need] = np.take_along_axis(x[need], idx[..., None], axis=1)
                logw[need] = -log_n
                resampled[need, t] = True
            x = trans_f(x, t, rng)
            if x.ndim == 2:
                x = x[..., None]
        yt = yy[t]
        if not np.isnan(yt).all():
            lg = np.asarray(obs_f(yt, x, t), dtype=float).reshape(b, n)
            m = logw + lg
            mx = m.max(axis=1, keepdims=True)  # NaN anywhere propagates into the max
            dead = None
            if not np.isfinite(mx).all():
                if np.isnan(mx).any():
                    raise ModelError(f"obs_logpdf returned NaN at step {t}")
                # a filter whose particles are all impossible has likelihood estimate zero; keep
                # its weights uniform so the run continues (its log-likelihood stays -inf)
                dead = ~np.isfinite(mx[:, 0])
                mx[dead] = 0.0
                m[dead] = -log_n
            e = np.exp(m - mx)
            se = e.sum(axis=1)
            inc = np.log(se) + mx[:, 0]
            logw = m - inc[:, None]
            w = e / se[:, None]
            ll_inc[:, t] = inc if dead is None else np.where(dead, -np.inf, inc)
        elif t == 0 or resampled[:, t].any():
            w = np.exp(logw)
        ess_now = 1.0 / np.einsum("bn,bn->b", w, w)
        ess[:, t] = ess_now
        if moments:
            mu = np.einsum("bn,bnd->bd", w, x)
            means[:, t] = mu
            variances[:, t] = np.maximum(np.einsum("bn,bnd->bd", w, x * x) - mu * mu, 0.0)
        if store_particles:
            store_x[t] = x
            store_w[t] = logw
    ll = ll_inc.sum(axis=1)
    if batched:
        return FilterResult(ll, ll_inc, means, variances, ess, resampled, store_x, store_w, n)
    return FilterResult(
        float(ll[0]),
        ll_inc[0],
        means[0],
        variances[0],
        ess[0],
        resampled[0],
        None if store_x is None else store_x[:, 0],
        None if store_w is None else store_w[:, 0],
        n,
    )


# ----------------------------------------------------------------------------- smoother
@dataclass(frozen=True)
class SmootherResult:
    """Output of :func:`ffbsi_smoother`.

    The constructor arguments are stored as attributes of the same name.

    Parameters
    ----------
    trajectories : ndarray (M, T, d)
        Draws from the joint smoothing distribution ``p(x_{0:T-1} | y_{0:T-1})``.
    mean : ndarray (T, d)
        Smoothed marginal means (average over the trajectories).
    var : ndarray (T, d)
        Smoothed marginal variances (population variance over the trajectories).
    """

    trajectories: Array
    mean: Array
    var: Array


def ffbsi_smoother(
    filt: FilterResult,
    transition_logpdf: Callable[[Array, Array, int], Array],
    n_trajectories: int = 100,
    *,
    random_state: RandomState = None,
) -> SmootherResult:
    r"""Forward-filtering backward-simulation (FFBSi) smoother.

    Parameters
    ----------
    filt : FilterResult
        A non-batched filter run with ``store_particles=True``.
    transition_logpdf : callable ``(x_next, x_prev, t) -> logf``
        ``log f_t(x_next | x_prev)``; called with ``x_next`` of shape ``(M, 1, d)`` and ``x_prev`` of
        shape ``(1, N, d)`` and must broadcast to ``(M, N)``.
    n_trajectories : int
        Number M of backward trajectories.
    random_state : int, Generator or None

    Returns
    -------
    SmootherResult

    Notes
    -----
    Godsill, Doucet & West (2004): draw :math:`\tilde x_{T-1} \sim \sum_i W_{T-1}^i
    \delta_{x_{T-1}^i}`, then backwards for :math:`t = T-2, \dots, 0`

    .. math::

        P(\tilde x_t = x_t^i) \propto W_t^i \, f_{t+1}(\tilde x_{t+1} \mid x_t^i).

    Cost :math:`O(T M N)`, vectorised over M and N.
    """
    if filt.particles is None or filt.log_weights is None:
        raise ModelError("ffbsi_smoother needs a filter run with store_particles=True")
    if filt.particles.ndim != 3:
        raise ModelError(
            "ffbsi_smoother works on a non-batched filter (particles of shape (T, N, d))"
        )
    rng = as_generator(random_state)
    X, LW = filt.particles, filt.log_weights
    T, n, d = X.shape
    m = int(n_trajectories)
    if m < 1:
        raise ModelError(f"n_trajectories must be >= 1, got {n_trajectories}")
    traj = np.empty((m, T, d))
    idx = _categorical(np.broadcast_to(LW[-1], (m, n)), rng)
    traj[:, -1] = X[-1][idx]
    for t in range(T - 2, -1, -1):
        lf = np.asarray(transition_logpdf(traj[:, t + 1][:, None, :], X[t][None, :, :], t + 1))
        lp = LW[t][None, :] + lf
        bad = ~np.isfinite(lp).any(axis=1)
        if bad.any():  # no particle can reach the drawn state: fall back on filter weights
            lp[bad] = LW[t][None, :]
        idx = _categorical(lp, rng)
        traj[:, t] = X[t][idx]
    return SmootherResult(traj, traj.mean(axis=0), traj.var(axis=0))


def _categorical(logp: Array, rng: np.random.Generator) -> Array:
    """One draw per row from unnormalised log probabilities (inverse-CDF, vectorised)."""
    p = np.exp(logp - logp.max(axis=1, keepdims=True))
    cs = np.cumsum(p, axis=1)
    u = rng.random(p.shape[0]) * cs[:, -1]
    return np.minimum((cs < u[:, None]).sum(axis=1), p.shape[1] - 1)


# ----------------------------------------------------------------------------- model bundle
@dataclass(frozen=True)
class StateSpaceModel:
    """A state-space model given by its four callables (see :func:`bootstrap_filter`).

    Parameters
    ----------
    initial : callable ``(n_particles, rng) -> x``
        Sampler of ``x_0``; returns an ``(N, d)`` array.
    transition : callable ``(x_prev, t, rng) -> x``
        Sampler of ``x_t | x_{t-1}`` for ``t >= 1``, vectorised over the ``(N, d)`` particle array.
    obs_logpdf : callable ``(y_t, x, t) -> logg``
        ``log g_t(y_t | x)`` for every particle, shape ``(N,)``; ``-inf`` allowed, NaN not.
    transition_logpdf : callable ``(x_next, x_prev, t) -> logf``, optional
        ``log f_t(x_next | x_prev)``, broadcasting over particles (see :func:`ffbsi_smoother`).
        Only needed by :meth:`smooth`; default ``None``.

    Examples
    --------
    >>> import numpy as np
    >>> m = StateSpaceModel(
    ...     initial=lambda n, r: r.normal(size=(n, 1)),
    ...     transition=lambda x, t, r: 0.9 * x + 0.3 * r.normal(size=x.shape),
    ...     obs_logpdf=lambda yt, x, t: -0.5 * ((yt[0] - x[..., 0]) / 0.5) ** 2,
    ...     transition_logpdf=lambda xn, xp, t: -0.5 * ((xn - 0.9 * xp)[..., 0] / 0.3) ** 2)
    >>> sm = m.smooth(np.zeros(20), n_particles=200, random_state=0)
    >>> sm.mean.shape
    (20, 1)
    """

    initial: Callable[[int, np.random.Generator], Array]
    transition: Callable[[Array, int, np.random.Generator], Array]
    obs_logpdf: Callable[[Array, Array, int], Array]
    transition_logpdf: Callable[[Array, Array, int], Array] | None = None

    def filter(self, y: Any, n_particles: int = 1000, **kwargs: Any) -> FilterResult:
        """Run :func:`bootstrap_filter` on ``y``."""
        return bootstrap_filter(
            y, self.initial, self.transition, self.obs_logpdf, n_particles, **kwargs
        )

    def smooth(
        self,
        y: Any,
        n_particles: int = 1000,
        n_trajectories: int = 100,
        random_state: RandomState = None,
    ) -> SmootherResult:
        """Filter then run :func:`ffbsi_smoother` (needs ``transition_logpdf``)."""
        if self.transition_logpdf is None:
            raise ModelError("smoothing needs transition_logpdf")
        rng = as_generator(random_state)
        f = self.filter(y, n_particles, store_particles=True, random_state=rng)
        return ffbsi_smoother(f, self.transition_logpdf, n_trajectories, random_state=rng)


# ----------------------------------------------------------------------------- Kalman
@dataclass(frozen=True)
class KalmanResult:
    """Output of :func:`kalman_filter` (and, with smoothed fields, :func:`rts_smoother`).

    The constructor arguments are stored as attributes of the same name; ``T`` is the number of
    time steps and ``d`` the state dimension.

    Parameters
    ----------
    log_likelihood : float
        Exact log-likelihood ``log p(y_{0:T-1})`` (nats).
    filtered_mean : ndarray (T, d)
        Filtered means ``m_{t|t}``.
    filtered_cov : ndarray (T, d, d)
        Filtered covariances ``P_{t|t}``.
    predicted_mean : ndarray (T, d)
        One-step predicted means ``m_{t|t-1}`` (``m0`` at t = 0).
    predicted_cov : ndarray (T, d, d)
        One-step predicted covariances ``P_{t|t-1}`` (``P0`` at t = 0).
    smoothed_mean : ndarray (T, d) or None, optional
        RTS smoothed means ``m_{t|T}`` (set by :func:`rts_smoother`; default ``None``).
    smoothed_cov : ndarray (T, d, d) or None, optional
        RTS smoothed covariances ``P_{t|T}`` (set by :func:`rts_smoother`; default ``None``).
    """

    log_likelihood: float
    filtered_mean: Array
    filtered_cov: Array
    predicted_mean: Array
    predicted_cov: Array
    smoothed_mean: Array | None = None
    smoothed_cov: Array | None = None


def _mat(a: Any, shape: tuple[int, int], name: str) -> Array:
    arr = np.atleast_2d(np.asarray(a, dtype=float))
    if arr.shape != shape:
        raise InputError(f"{name} must have shape {shape}", value=arr.shape)
    if not np.isfinite(arr).all():
        raise InputError(f"{name} must be finite")
    return arr


def kalman_filter(y: Any, F: Any, H: Any, Q: Any, R: Any, m0: Any, P0: Any) -> KalmanResult:
    r"""Kalman filter for the linear-Gaussian model (exact reference for the particle filter).

    ``x_0 ~ N(m0, P0)``, ``x_t = F x_{t-1} + w_t``, ``w_t ~ N(0, Q)``, ``y_t = H x_t + e_t``,
    ``e_t ~ N(0, R)``. Rows of ``y`` containing NaN are missing (prediction only).

    Parameters
    ----------
    y : array_like (T,) or (T, p)
        Observations; NaN entries are missing.
    F : array_like (d, d)
        State transition matrix.
    H : array_like (p, d)
        Observation matrix.
    Q : array_like (d, d)
        Covariance of the state noise ``w_t``.
    R : array_like (p, p)
        Covariance of the observation noise ``e_t``.
    m0 : array_like (d,)
        Mean of the initial state ``x_0``.
    P0 : array_like (d, d)
        Covariance of the initial state ``x_0``.

    Returns
    -------
    KalmanResult
        Filtered/predicted means ``(T, d)`` and covariances ``(T, d, d)`` and the exact
        log-likelihood :math:`\sum_t \log N(y_t; H m_{t|t-1}, H P_{t|t-1} H^T + R)`.

    Notes
    -----
    Kalman (1960); Joseph-form covariance update for numerical symmetry.

    Examples
    --------
    >>> import numpy as np
    >>> kf = kalman_filter(np.zeros(5), [[0.9]], [[1.0]], [[0.1]], [[0.2]], [0.0], [[1.0]])
    >>> round(kf.log_likelihood, 4)
    -2.8212
    """
    yy = _check_y(y)
    T, p = yy.shape
    m0 = np.atleast_1d(np.asarray(m0, dtype=float))
    d = m0.size
    F = _mat(F, (d, d), "F")
    Q = _mat(Q, (d, d), "Q")
    H = _mat(H, (p, d), "H")
    R = _mat(R, (p, p), "R")
    P0 = _mat(P0, (d, d), "P0")
    mf = np.empty((T, d))
    Pf = np.empty((T, d, d))
    mp = np.empty((T, d))
    Pp = np.empty((T, d, d))
    ll = 0.0
    m, P = m0, P0
    eye = np.eye(d)
    for t in range(T):
        if t > 0:
            m = F @ m
            P = F @ P @ F.T + Q
        mp[t], Pp[t] = m, P
        obs = ~np.isnan(yy[t])
        if obs.any():
            Hs, Rs = H[obs], R[np.ix_(obs, obs)]
            S = Hs @ P @ Hs.T + Rs
            v = yy[t, obs] - Hs @ m
            L = np.linalg.cholesky(S)
            a = np.linalg.solve(L, v)
            ll += (
                -0.5 * (a @ a) - np.log(np.diag(L)).sum() - 0.5 * obs.sum() * math.log(2 * math.pi)
            )
            K = np.linalg.solve(S, Hs @ P).T
            m = m + K @ v
            A = eye - K @ Hs
            P = A @ P @ A.T + K @ Rs @ K.T
        mf[t], Pf[t] = m, P
    return KalmanResult(float(ll), mf, Pf, mp, Pp)


def rts_smoother(kf: KalmanResult, F: Any) -> KalmanResult:
    """Rauch–Tung–Striebel smoother on a :func:`kalman_filter` result.

    Parameters
    ----------
    kf : KalmanResult
        The output of :func:`kalman_filter` for the same model.
    F : array_like (d, d)
        The state transition matrix used by the filter.

    Returns
    -------
    KalmanResult
        ``kf`` with ``smoothed_mean`` ``(T, d)`` and ``smoothed_cov`` ``(T, d, d)`` filled in.

    Notes
    -----
    Rauch, Tung & Striebel (1965): with :math:`G_t = P_{t|t} F^T P_{t+1|t}^{-1}`,
    :math:`m_{t|T} = m_{t|t} + G_t (m_{t+1|T} - m_{t+1|t})` and
    :math:`P_{t|T} = P_{t|t} + G_t (P_{t+1|T} - P_{t+1|t}) G_t^T`.
    """
    d = kf.filtered_mean.shape[1]
    F = _mat(F, (d, d), "F")
    T = kf.filtered_mean.shape[0]
    ms = kf.filtered_mean.copy()
    Ps = kf.filtered_cov.copy()
    for t in range(T - 2, -1, -1):
        G = np.linalg.solve(kf.predicted_cov[t + 1], F @ kf.filtered_cov[t]).T
        ms[t] = kf.filtered_mean[t] + G @ (ms[t + 1] - kf.predicted_mean[t + 1])
        Ps[t] = kf.filtered_cov[t] + G @ (Ps[t + 1] - kf.predicted_cov[t + 1]) @ G.T
    return KalmanResult(
        kf.log_likelihood,
        kf.filtered_mean,
        kf.filtered_cov,
        kf.predicted_mean,
        kf.predicted_cov,
        ms,
        Ps,
    )


# ----------------------------------------------------------------------------- diagnostics
def sampler_diagnostics(posterior: xr.Dataset, *, warn: bool = True) -> dict[str, Any]:
    """ArviZ convergence diagnostics of ``(chain, draw)`` draws, with summary extremes.

    The per-quantity numbers come from :func:`petroinfer.inference.diagnostics.convergence_diagnostics`
    (rank-normalised split R-hat, Vehtari et al. 2021; bulk/tail ESS; MCSE of the mean) and the
    thresholds from :func:`~petroinfer.inference.diagnostics.check_convergence` (R-hat > 1.01 or bulk
    ESS < 400 → :class:`~petroinfer.errors.ConvergenceWarning`). Adds ``max_r_hat``, ``min_ess_bulk``
    and ``converged``.
    """
    out: dict[str, Any] = dict(convergence_diagnostics(posterior))
    out["max_r_hat"] = max(out["r_hat"].values(), default=float("nan"))
    out["min_ess_bulk"] = min(out["ess_bulk"].values(), default=float("nan"))
    problems = check_convergence(out, warn=warn, stacklevel=3)
    out["converged"] = not problems
    return out


# ----------------------------------------------------------------------------- PMMH
def pmmh(
    log_likelihood: Callable[[Array, np.random.Generator], Array],
    log_prior: Callable[[Array], Array],
    initial: Any,
    *,
    param_names: Sequence[str] | None = None,
    n_draws: int = 1000,
    n_tune: int = 500,
    n_chains: int = 4,
    proposal_cov: Any = None,
    target_acceptance: float = 0.2,
    vectorized: bool = True,
    random_state: RandomState = None,
    warn: bool = True,
) -> Result:
    r"""Particle marginal Metropolis–Hastings for static parameters.

    Parameters
    ----------
    log_likelihood : callable ``(theta, rng) -> ll``
        A (noisy, exp-unbiased) log-likelihood estimate, e.g. from :func:`bootstrap_filter`. With
        ``vectorized=True`` it receives ``theta`` of shape ``(C, p)`` (one row per chain) and returns
        ``(C,)`` — run one batched filter; otherwise ``(p,) -> float``.
    log_prior : callable ``(theta (C, p)) -> (C,)``
        Log prior density (``-inf`` outside the support).
    initial : array_like (p,) or (C, p)
        Starting point(s); a single point is jittered by the proposal for each chain.
    param_names : sequence of str, optional
        Names of the parameters (default ``theta_0 ...``).
    n_draws, n_tune : int
        Kept draws per chain and adaptive tuning iterations (discarded).
    n_chains : int
    proposal_cov : array_like (p, p), optional
        Initial random-walk covariance (default: diagonal 0.1²); adapted during tuning (Haario et al.
        2001, scaled by :math:`2.38^2/p`) with a scale factor steered to ``target_acceptance``.
    target_acceptance : float
        Target acceptance during tuning (0.1–0.25 is efficient for noisy likelihoods,
        Sherlock et al. 2015, Ann. Stat. 43:238).
    vectorized : bool
    random_state : int, Generator or None
    warn : bool
        Emit :class:`~petroinfer.errors.ConvergenceWarning` on poor R-hat/ESS.

    Returns
    -------
    Result
        ``posterior`` with dims ``(chain, draw)`` per parameter; ``estimate`` = posterior mean, SD and
        5/95 % quantiles; ``diagnostics`` with acceptance, R-hat, ESS, MCSE and the log-likelihood
        trace summary.

    Notes
    -----
    Andrieu, Doucet & Holenstein (2010): the Metropolis–Hastings ratio uses the *estimated* likelihood
    of the proposal and keeps the estimate of the current state (never re-estimated), so the chain
    targets the exact posterior :math:`p(\theta | y) \propto p(y | \theta) p(\theta)` for any
    number of particles; the efficiency depends on the SD of the log-likelihood estimate
    (≈ 1 is near-optimal, Doucet et al. 2015, Biometrika 102:295).

    Examples
    --------
    >>> import numpy as np
    >>> ll = lambda th, r: -0.5 * (th[:, 0] - 1.0) ** 2 + 0.1 * r.normal(size=th.shape[0])
    >>> lp = lambda th: -0.5 * th[:, 0] ** 2 / 100
    >>> res = pmmh(ll, lp, [0.0], n_draws=300, n_tune=200, random_state=0, warn=False)
    >>> 0.6 < float(res.estimate["theta_0"]) < 1.4
    True
    """
    rng = as_generator(random_state)
    init = np.atleast_2d(np.asarray(initial, dtype=float))
    p = init.shape[1]
    names = list(param_names) if param_names is not None else [f"theta_{i}" for i in range(p)]
    if len(names) != p:
        raise InputError(f"param_names has {len(names)} names for {p} parameters")
    c = int(n_chains)
    if c < 1 or int(n_draws) < 1 or int(n_tune) < 0:
        raise ModelError("n_chains and n_draws must be >= 1 and n_tune >= 0")
    if not np.isfinite(init).all():
        raise InputError("initial parameter values must be finite", value=init.tolist())
    cov = (
        (np.eye(p) * 0.01)
        if proposal_cov is None
        else np.atleast_2d(np.asarray(proposal_cov, dtype=float))
    )
    if cov.shape != (p, p) or not np.all(np.linalg.eigvalsh((cov + cov.T) / 2) > 0):
        raise ModelError(f"proposal_cov must be a positive-definite ({p}, {p}) matrix")

    def ll_fn(th: Array) -> Array:
        if vectorized:
            out = np.asarray(log_likelihood(th, rng), dtype=float).reshape(th.shape[0])
        else:
            out = np.array([float(log_likelihood(row, rng)) for row in th])
        return np.where(np.isnan(out), -np.inf, out)

    def lp_fn(th: Array) -> Array:
        return np.asarray(log_prior(th), dtype=float).reshape(th.shape[0])

    L0 = np.linalg.cholesky(cov)
    if init.shape[0] == 1:
        theta = init + (rng.normal(size=(c, p)) @ L0.T) * 0.5
        theta[0] = init[0]
    elif init.shape[0] == c:
        theta = init.copy()
    else:
        raise InputError(f"initial must have shape ({p},) or ({c}, {p})", value=init.shape)
    lpri = lp_fn(theta)
    bad = ~np.isfinite(lpri)
    if bad.any():
        theta[bad] = init[0]
        lpri = lp_fn(theta)
    if not np.isfinite(lpri).all():
        raise ModelError("log_prior is not finite at the initial parameter values")
    lik = ll_fn(theta)
    if not np.isfinite(lik).all():
        raise ModelError(
            "the log-likelihood estimate is not finite at the initial parameter values"
        )

    total = int(n_tune) + int(n_draws)
    chain = np.empty((c, total, p))
    lltrace = np.empty((c, total))
    acc = np.zeros((c, total), dtype=bool)
    scale = 1.0
    Lprop = L0
    for it in range(total):
        prop = theta + rng.normal(size=(c, p)) @ (scale * Lprop).T
        lp_prop = lp_fn(prop)
        ok = np.isfinite(lp_prop)
        ll_prop = np.full(c, -np.inf)
        if ok.any():
            ll_prop[ok] = ll_fn(prop[ok])
        log_alpha = ll_prop + lp_prop - lik - lpri
        accept = np.log(rng.random(c)) < log_alpha
        theta = np.where(accept[:, None], prop, theta)
        lik = np.where(accept, ll_prop, lik)
        lpri = np.where(accept, lp_prop, lpri)
        chain[:, it] = theta
        lltrace[:, it] = lik
        acc[:, it] = accept
        if it < n_tune and (it + 1) % 25 == 0:
            rate = acc[:, max(0, it - 49) : it + 1].mean()
            scale *= math.exp(1.5 * (rate - target_acceptance))
            if it + 1 >= 100:
                hist = chain[:, (it + 1) // 2 : it + 1].reshape(-1, p)
                emp = np.cov(hist, rowvar=False).reshape(p, p) * (2.38**2 / p)
                emp += np.eye(p) * 1e-10 * max(1.0, float(np.trace(emp)))
                try:
                    Lprop = np.linalg.cholesky(emp)
                    scale = 1.0 if it + 1 == 100 else scale
                except np.linalg.LinAlgError:
                    pass
    kept = chain[:, n_tune:]
    post = xr.Dataset(
        {nm: (("chain", "draw"), kept[:, :, i]) for i, nm in enumerate(names)},
        coords={"chain": np.arange(c), "draw": np.arange(int(n_draws))},
    )
    diag = sampler_diagnostics(post, warn=warn)
    llk = lltrace[:, n_tune:]
    diag.update(
        acceptance_rate=float(acc[:, n_tune:].mean()),
        acceptance_rate_per_chain=acc[:, n_tune:].mean(axis=1).tolist(),
        proposal_scale=float(scale),
        log_likelihood_mean=float(llk.mean()),
        log_likelihood_max=float(llk.max()),
    )
    flat = kept.reshape(-1, p)
    est = xr.Dataset({nm: float(flat[:, i].mean()) for i, nm in enumerate(names)})
    for i, nm in enumerate(names):
        est[f"{nm}_sd"] = float(flat[:, i].std(ddof=1)) if flat.shape[0] > 1 else 0.0
        est[f"{nm}_q05"] = float(np.quantile(flat[:, i], 0.05))
        est[f"{nm}_q95"] = float(np.quantile(flat[:, i], 0.95))
    return Result(
        estimate=est,
        posterior=post,
        diagnostics=diag,
        hyperparameters={
            "n_draws": int(n_draws),
            "n_tune": int(n_tune),
            "n_chains": c,
            "target_acceptance": target_acceptance,
        },
        criterion=xr.Dataset({"log_likelihood": (("chain", "draw"), llk)}),
        metadata=make_metadata(
            random_state=random_state, method="pmmh", parameters={"param_names": names}
        ),
    )
