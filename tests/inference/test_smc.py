"""Tests of the state-space toolkit: PF vs Kalman, FFBSi vs RTS, PMMH recovery, bad input."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy.special import logsumexp
from scipy.stats import multivariate_normal

from petroinfer.errors import InputError, ModelError
from petroinfer.inference.smc import (
    StateSpaceModel,
    bootstrap_filter,
    ffbsi_smoother,
    kalman_filter,
    pmmh,
    rts_smoother,
    systematic_resample,
)

PHI, SX, SY = 0.8, 0.5, 0.4


def _lg_data(T=60, seed=0):
    rng = np.random.default_rng(seed)
    x = np.empty(T)
    x[0] = rng.normal()
    for t in range(1, T):
        x[t] = PHI * x[t - 1] + SX * rng.normal()
    return x, x + SY * rng.normal(size=T)


def _lg_model():
    return StateSpaceModel(
        initial=lambda n, r: r.normal(size=(*_lead(n), 1)),
        transition=lambda x, t, r: PHI * x + SX * r.normal(size=x.shape),
        obs_logpdf=lambda yt, x, t: (
            -0.5 * ((yt[0] - x[..., 0]) / SY) ** 2 - np.log(SY * np.sqrt(2 * np.pi))
        ),
        transition_logpdf=lambda xn, xp, t: -0.5 * ((xn - PHI * xp)[..., 0] / SX) ** 2,
    )


def _lead(n):
    return (n,) if np.isscalar(n) else n


def _kf(y):
    return kalman_filter(y, [[PHI]], [[1.0]], [[SX**2]], [[SY**2]], [0.0], [[1.0]])


def test_systematic_resample_counts_within_one():
    rng = np.random.default_rng(1)
    lw = rng.normal(size=(5, 200))
    idx = systematic_resample(lw, rng)
    w = np.exp(lw - logsumexp(lw, axis=1, keepdims=True))
    for b in range(5):
        counts = np.bincount(idx[b], minlength=200)
        assert np.all(np.abs(counts - 200 * w[b]) < 1.0 + 1e-9)


def test_kalman_loglik_equals_dense_gaussian():
    _, y = _lg_data(T=25, seed=3)
    T = len(y)
    # x = A e with e the innovations; cov(x_t, x_s) = PHI^{|t-s|} var(x_min(t,s))
    var = np.empty(T)
    var[0] = 1.0
    for t in range(1, T):
        var[t] = PHI**2 * var[t - 1] + SX**2
    i, j = np.meshgrid(np.arange(T), np.arange(T), indexing="ij")
    cov = PHI ** np.abs(i - j) * var[np.minimum(i, j)] + SY**2 * np.eye(T)
    exact = multivariate_normal(np.zeros(T), cov).logpdf(y)
    assert _kf(y).log_likelihood == pytest.approx(exact, rel=1e-10)
    kf = kalman_filter(np.zeros(5), [[0.9]], [[1.0]], [[0.1]], [[0.2]], [0.0], [[1.0]])
    assert kf.log_likelihood == pytest.approx(-2.8212, abs=1e-4)


def test_particle_loglik_agrees_with_kalman_within_3_mcse():
    _, y = _lg_data()
    exact = _kf(y).log_likelihood
    m = _lg_model()
    R = 40

    def init(n, r):
        return r.normal(size=(R, n, 1))

    res = bootstrap_filter(y, init, m.transition, m.obs_logpdf, 400, n_batch=R, random_state=7)
    ll = res.log_likelihood
    assert ll.shape == (R,)
    sd = ll.std(ddof=1)
    assert 0.0 < sd < 1.0
    # logmeanexp is consistent for log p(y); delta-method MC standard error
    est = logsumexp(ll) - np.log(R)
    w = np.exp(ll - ll.max())
    se = w.std(ddof=1) / w.mean() / np.sqrt(R)
    assert abs(est - exact) < 3 * se + 1e-3
    # the plain mean is low by about sd^2/2 (Jensen) but still close
    assert abs(ll.mean() + sd**2 / 2 - exact) < 3 * sd / np.sqrt(R) + 0.05
    # filtered means track the Kalman filter
    single = m.filter(y, 2000, random_state=1)
    kf = _kf(y)
    err = np.abs(single.filtered_mean[:, 0] - kf.filtered_mean[:, 0])
    assert np.max(err / np.sqrt(kf.filtered_cov[:, 0, 0])) < 0.3
    assert np.all(single.ess > 0) and single.resampled.any()


def test_ffbsi_means_agree_with_rts():
    _, y = _lg_data(T=40, seed=5)
    kf = rts_smoother(_kf(y), [[PHI]])
    sm = _lg_model().smooth(y, n_particles=1000, n_trajectories=400, random_state=2)
    sd = np.sqrt(kf.smoothed_cov[:, 0, 0])
    z = (sm.mean[:, 0] - kf.smoothed_mean[:, 0]) / sd
    assert np.max(np.abs(z)) < 0.35
    assert np.mean(np.abs(z)) < 0.12
    ratio = np.sqrt(sm.var[:, 0]) / sd
    assert 0.8 < np.median(ratio) < 1.2
    # the smoother sharpens the filter: interior variances below filtering variances
    assert np.mean(kf.smoothed_cov[:-1, 0, 0] < kf.filtered_cov[:-1, 0, 0]) == 1.0


# stochastic volatility: x_t = mu + rho (x_{t-1} - mu) + sigma e_t, y_t ~ N(0, exp(x_t))
MU = -1.0


def _sv_data(rho, sigma, T, seed):
    rng = np.random.default_rng(seed)
    x = np.empty(T)
    x[0] = MU + sigma / np.sqrt(1 - rho**2) * rng.normal()
    for t in range(1, T):
        x[t] = MU + rho * (x[t - 1] - MU) + sigma * rng.normal()
    return x, np.exp(x / 2) * rng.normal(size=T)


def _sv_loglik(y, n):
    def ll(theta, rng):
        c = theta.shape[0]
        rho = theta[:, 0][:, None, None]
        sig = np.exp(theta[:, 1])[:, None, None]

        def init(nn, r):
            return MU + sig / np.sqrt(1 - rho**2) * r.normal(size=(c, nn, 1))

        def trans(x, t, r):
            return MU + rho * (x - MU) + sig * r.normal(size=x.shape)

        def obs(yt, x, t):
            return -0.5 * (x[..., 0] + yt[0] ** 2 * np.exp(-x[..., 0]))

        return bootstrap_filter(
            y, init, trans, obs, n, n_batch=c, moments=False, random_state=rng
        ).log_likelihood

    return ll


def _sv_prior(theta):
    rho, ls = theta[:, 0], theta[:, 1]
    ok = (rho > -1) & (rho < 1)
    return np.where(ok, -0.5 * (ls + 1.0) ** 2, -np.inf)


def test_pmmh_recovers_stochastic_volatility_parameters():
    rho, sigma = 0.9, 0.4
    _, y = _sv_data(rho, sigma, T=200, seed=11)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = pmmh(
            _sv_loglik(y, 150),
            _sv_prior,
            [0.5, np.log(0.8)],
            param_names=["rho", "log_sigma"],
            n_draws=300,
            n_tune=200,
            n_chains=4,
            proposal_cov=np.diag([0.01, 0.04]),
            random_state=3,
            warn=False,
        )
    post = res.posterior
    assert dict(post.sizes) == {"chain": 4, "draw": 300}
    for name, truth in (("rho", rho), ("log_sigma", np.log(sigma))):
        lo, hi = np.quantile(post[name].values, [0.025, 0.975])
        assert lo < truth < hi, (name, lo, hi)
    assert 0.05 < res.diagnostics["acceptance_rate"] < 0.6
    assert res.diagnostics["max_r_hat"] < 1.1
    assert (
        float(res.estimate["rho_q05"]) < float(res.estimate["rho"]) < float(res.estimate["rho_q95"])
    )
    summary = res.summary()
    assert {"mean", "r_hat", "ess_bulk"} <= set(summary.columns)


def test_same_seed_same_result():
    _, y = _lg_data(T=20)
    m = _lg_model()
    a = m.filter(y, 100, random_state=5).log_likelihood
    b = m.filter(y, 100, random_state=5).log_likelihood
    assert a == b


def test_missing_observations_skip_weighting():
    _, y = _lg_data(T=30)
    y = y.copy()
    y[10:15] = np.nan
    kf = _kf(y)
    res = _lg_model().filter(y, 3000, random_state=0)
    assert np.all(res.log_likelihood_increments[10:15] == 0.0)
    assert abs(res.log_likelihood - kf.log_likelihood) < 0.5


def test_bad_input_messages():
    m = _lg_model()
    with pytest.raises(InputError, match="finite"):
        m.filter(np.array([0.0, np.inf]), 10)
    with pytest.raises(ModelError, match="n_particles"):
        m.filter(np.zeros(3), 1)
    with pytest.raises(ModelError, match="initial sampler returned shape"):
        bootstrap_filter(
            np.zeros(3), lambda n, r: np.zeros((n + 1, 1)), m.transition, m.obs_logpdf, 10
        )
    with pytest.raises(ModelError, match="NaN"):
        bootstrap_filter(
            np.zeros(3), m.initial, m.transition, lambda yt, x, t: np.full(x.shape[0], np.nan), 10
        )
    with pytest.raises(ModelError, match="store_particles"):
        ffbsi_smoother(m.filter(np.zeros(3), 10), m.transition_logpdf)
    with pytest.raises(ModelError, match="resample_threshold"):
        m.filter(np.zeros(3), 10, resample_threshold=0.0)
    with pytest.raises(InputError, match="shape"):
        kalman_filter(np.zeros(3), [[1.0, 0.0]], [[1.0]], [[1.0]], [[1.0]], [0.0], [[1.0]])
    with pytest.raises(ModelError, match="not finite at the initial"):
        pmmh(
            lambda th, r: np.full(th.shape[0], np.nan),
            lambda th: np.zeros(th.shape[0]),
            [0.0],
            n_draws=5,
            n_tune=0,
            warn=False,
        )
    with pytest.raises(ModelError, match="positive-definite"):
        pmmh(
            lambda th, r: np.zeros(th.shape[0]),
            lambda th: np.zeros(th.shape[0]),
            [0.0, 1.0],
            proposal_cov=np.eye(3),
            n_draws=5,
        )
    with pytest.raises(InputError, match="param_names"):
        pmmh(
            lambda th, r: np.zeros(th.shape[0]),
            lambda th: np.zeros(th.shape[0]),
            [0.0],
            param_names=["a", "b"],
        )
