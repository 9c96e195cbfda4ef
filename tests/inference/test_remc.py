"""Replica-exchange Monte Carlo: evidence against analytic values, multimodality, model selection,
reproducibility, the result container and bad input."""

from __future__ import annotations

import warnings

import arviz_stats as azs
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.special import logsumexp

from petroinfer.errors import ConvergenceWarning, InputError, ModelError
from petroinfer.inference import REMCResult, ReplicaExchange, compare_models
from petroinfer.inference.remc import (
    geometric_ladder,
    stepping_stone,
    thermodynamic_integration,
    validate_ladder,
)

LOG2PI = np.log(2 * np.pi)


def gaussian_logpdf(y: np.ndarray, cov: np.ndarray) -> float:
    """log N(y; 0, cov) written out (the analytic evidence of the conjugate models)."""
    sign, logdet = np.linalg.slogdet(cov)
    assert sign > 0
    return float(-0.5 * (y @ np.linalg.solve(cov, y) + logdet + y.size * LOG2PI))


class LinearGaussian:
    """y = A θ + e, e ~ N(0, σ² I), θ ~ N(0, τ² I): conjugate, evidence N(y; 0, τ² A Aᵀ + σ² I)."""

    def __init__(self, d: int, n: int = 20, sigma: float = 0.5, tau: float = 2.0, seed: int = 0):
        rng = np.random.default_rng(seed)
        self.d, self.n, self.sigma, self.tau = d, n, sigma, tau
        self.A = rng.normal(size=(n, d))
        self.theta = rng.normal(0, tau, d)
        self.y = self.A @ self.theta + rng.normal(0, sigma, n)

    @property
    def exact(self) -> float:
        cov = self.tau**2 * self.A @ self.A.T + self.sigma**2 * np.eye(self.n)
        return gaussian_logpdf(self.y, cov)

    def loglik(self, X: np.ndarray) -> np.ndarray:
        r = self.y - X @ self.A.T
        return -0.5 * np.sum(r**2, axis=-1) / self.sigma**2 - self.n * (
            np.log(self.sigma) + 0.5 * LOG2PI
        )

    def logprior(self, X: np.ndarray) -> np.ndarray:
        return -0.5 * np.sum(X**2, axis=-1) / self.tau**2 - self.d * (
            np.log(self.tau) + 0.5 * LOG2PI
        )

    def sample_prior(self, rng: np.random.Generator, m: int) -> np.ndarray:
        return rng.normal(0, self.tau, (m, self.d))

    def tempered_moments(self, beta: float) -> tuple[np.ndarray, np.ndarray]:
        """Mean and covariance of p_β ∝ L^β π (Gaussian)."""
        prec = np.eye(self.d) / self.tau**2 + beta * self.A.T @ self.A / self.sigma**2
        cov = np.linalg.inv(prec)
        return cov @ (beta * self.A.T @ self.y / self.sigma**2), cov

    def sampler(self, **kw) -> ReplicaExchange:
        kw.setdefault("vectorized", True)
        kw.setdefault("warn", False)
        return ReplicaExchange(self.loglik, self.logprior, self.sample_prior, **kw)


# --------------------------------------------------------------------------------- ladders
def test_geometric_ladder_matches_nagata_form():
    b = geometric_ladder(6, 1e-4)
    assert b[0] == 0.0 and b[-1] == 1.0
    ratios = b[2:] / b[1:-1]
    np.testing.assert_allclose(ratios, 10.0, rtol=1e-12)  # γ = β_min^{-1/(L-2)} = 10


@pytest.mark.parametrize(
    ("betas", "match"),
    [
        ([0.1, 0.5, 1.0], "start at beta = 0"),
        ([0.0, 0.5, 0.9], "end at beta = 1"),
        ([0.0, 0.6, 0.4, 1.0], "strictly increasing"),
        ([0.0, 0.5, 0.5, 1.0], "strictly increasing"),
        ([0.0, np.nan, 1.0], "finite"),
        ([[0.0, 1.0]], "1-D"),
        ([1.0], "1-D ladder of at least 2"),
    ],
)
def test_bad_ladders_are_model_errors(betas, match):
    with pytest.raises(ModelError, match=match):
        validate_ladder(betas)
    lg = LinearGaussian(1)
    with pytest.raises(ModelError, match=match):
        lg.sampler(betas=betas, n_steps=10).fit()


# --------------------------------------------------------------------------------- estimators
def test_estimators_on_exact_tempered_draws():
    """With exact draws at each β, stepping-stone is unbiased-ish and TI carries a small
    discretisation bias that shrinks on a dense ladder (science notes §8.1 [C])."""
    lg = LinearGaussian(3, seed=3)
    rng = np.random.default_rng(0)
    betas = geometric_ladder(40, 1e-5)
    draws = []
    for b in betas:
        m, c = lg.tempered_moments(b)
        draws.append(lg.loglik(rng.multivariate_normal(m, c, size=4000)))
    ll = np.column_stack(draws)
    ss, ss_se = stepping_stone(betas, ll)
    ti, _ = thermodynamic_integration(betas, ll)
    assert abs(ss - lg.exact) < max(0.05, 3 * ss_se)
    assert ss_se < 0.05
    assert abs(ti - lg.exact) < 0.3
    # the error estimate is about right: independent draws, SE of the sum of log means
    assert 0.005 < ss_se < 0.05


def test_stepping_stone_shape_check():
    with pytest.raises(InputError, match="shape"):
        stepping_stone([0.0, 1.0], np.zeros((100, 3)))


# --------------------------------------------------------------------------------- evidence
@pytest.mark.parametrize("d", [1, 2, 3, 4, 5])
def test_log_evidence_linear_gaussian(d):
    lg = LinearGaussian(d, seed=d)
    res = lg.sampler(n_steps=8000, n_chains=4, random_state=10 + d).fit()
    assert isinstance(res, REMCResult)
    assert abs(res.log_evidence - lg.exact) < 0.1, (res.log_evidence, lg.exact)
    assert 0.005 < res.log_evidence_se < 0.05, res.log_evidence_se
    # posterior of the beta = 1 replica matches the analytic posterior
    m, c = lg.tempered_moments(1.0)
    sd = np.sqrt(np.diag(c))
    np.testing.assert_allclose(res.estimate["mean"].values, m, atol=0.15 * sd.max())
    np.testing.assert_allclose(res.estimate["sd"].values, sd, rtol=0.15)
    # thermodynamic integration is reported as a diagnostic, with a visible bias allowed
    assert abs(res.diagnostics["log_evidence_ti"] - lg.exact) < 1.0


def test_reported_se_is_calibrated_over_repeated_runs():
    """Errors divided by the reported SE behave like standard normal draws (RMS ≈ 1)."""
    lg = LinearGaussian(2, seed=5)
    z = []
    for seed in range(12):
        res = lg.sampler(
            n_steps=800, n_burn=400, n_temps=16, beta_min=1e-3, random_state=100 + seed
        ).fit()
        z.append((res.log_evidence - lg.exact) / res.log_evidence_se)
    rms = float(np.sqrt(np.mean(np.square(z))))
    assert 0.5 < rms < 1.6, z
    assert np.max(np.abs(z)) < 3.5


@given(
    st.lists(st.floats(1e-6, 1 - 1e-6), min_size=0, max_size=20, unique=True),
)
def test_any_strictly_increasing_ladder_from_0_to_1_is_valid(inner):
    b = np.array([0.0, *sorted(inner), 1.0])
    np.testing.assert_array_equal(validate_ladder(b), b)
    with pytest.raises(ModelError):
        validate_ladder(b[::-1])


@given(st.integers(2, 60), st.floats(1e-8, 0.9))
def test_geometric_ladder_is_always_valid(n, beta_min):
    b = geometric_ladder(n, beta_min)
    assert b.size == n
    validate_ladder(b)


@pytest.mark.slow
def test_posterior_interval_coverage():
    """Nominal 90 % intervals of the beta = 1 replica cover the generating parameters ≈ 90 % of
    the time over repeated synthetic datasets (DESIGN.md §7)."""
    hits = []
    for k in range(40):
        lg = LinearGaussian(2, n=8, sigma=1.0, tau=1.0, seed=1000 + k)  # theta drawn from prior
        theta = lg.theta
        res = lg.sampler(n_steps=500, n_burn=250, n_temps=6, beta_min=1e-2, random_state=k).fit()
        draws = res.posterior["theta"].values.reshape(-1, 2)
        lo, hi = np.quantile(draws, [0.05, 0.95], axis=0)
        hits.extend((lo <= theta) & (theta <= hi))
    coverage = float(np.mean(hits))
    assert 0.8 <= coverage <= 0.97, coverage


def test_adaptive_ladder_targets_swap_band():
    lg = LinearGaussian(3, seed=7)
    res = lg.sampler(ladder="adaptive", n_steps=3000, n_burn=2000, random_state=1).fit()
    rates = res.swap_rates[np.isfinite(res.swap_rates)]
    assert rates.min() > 0.15 and rates.max() < 0.6, rates
    assert abs(res.log_evidence - lg.exact) < 0.2
    b = res.betas[0][np.isfinite(res.betas[0])]
    assert b[0] == 0.0 and b[-1] == 1.0 and np.all(np.diff(b) > 0)


def test_bimodal_weights_and_evidence():
    mu = np.array([[-3.0, 0.0], [3.0, 0.0]])
    w = np.array([0.3, 0.7])
    s, tau = 0.3, 5.0

    def loglik(X):
        sq = ((X[:, None, :] - mu[None]) ** 2).sum(-1)
        comp = -0.5 * sq / s**2 - np.log(2 * np.pi * s**2) + np.log(w)
        return logsumexp(comp, axis=1)

    def logprior(X):
        return -0.5 * (X**2).sum(-1) / tau**2 - np.log(2 * np.pi * tau**2)

    sampler = ReplicaExchange(
        loglik,
        logprior,
        lambda rng, m: rng.normal(0, tau, (m, 2)),
        vectorized=True,
        n_steps=3000,
        warn=False,
        random_state=0,
    )
    res = sampler.fit()
    theta = res.posterior["theta"].values
    # symmetric prior → posterior mode weights equal the mixture weights
    frac = (theta[..., 0] > 0).mean()
    assert abs(frac - 0.7) < 0.05, frac
    exact = logsumexp(
        [
            np.log(wk) + gaussian_logpdf(m, (s**2 + tau**2) * np.eye(2))
            for wk, m in zip(w, mu, strict=True)
        ]
    )
    assert abs(res.log_evidence - exact) < 0.1
    assert min(res.round_trips) > 20  # replicas do travel prior → posterior → prior


@pytest.mark.slow
def test_model_selection_picks_true_polynomial_degree():
    rng = np.random.default_rng(42)
    x = np.linspace(-1, 1, 30)
    sigma, tau = 0.3, 2.0
    y = 0.5 - 1.0 * x + 1.5 * x**2 + rng.normal(0, sigma, x.size)  # true degree 2
    results, exact = {}, {}
    for deg in range(5):
        V = np.vander(x, deg + 1, increasing=True)

        def loglik(X, data, V=V):
            r = data - X @ V.T
            return -0.5 * (r**2).sum(-1) / sigma**2 - data.size * np.log(sigma * np.sqrt(2 * np.pi))

        def logprior(X, k=deg + 1):
            return -0.5 * (X**2).sum(-1) / tau**2 - k * np.log(tau * np.sqrt(2 * np.pi))

        sampler = ReplicaExchange(
            loglik,
            logprior,
            lambda rng_, m, k=deg + 1: rng_.normal(0, tau, (m, k)),
            vectorized=True,
            n_steps=3000,
            n_chains=4,
            warn=False,
            random_state=deg,
        )
        results[f"degree {deg}"] = sampler.fit(data=y)
        exact[f"degree {deg}"] = gaussian_logpdf(y, tau**2 * V @ V.T + sigma**2 * np.eye(x.size))
    table = compare_models(results)
    assert table.index[0] == "degree 2"
    assert table.index[0] == max(exact, key=exact.get)
    for name, res in results.items():
        assert abs(res.log_evidence - exact[name]) < 0.2, (name, res.log_evidence, exact[name])
    assert table["posterior_probability"].iloc[0] > 0.5
    np.testing.assert_allclose(table["free_energy"], -table["log_evidence"])


# --------------------------------------------------------------------------------- API behaviour
def test_scalar_and_vectorised_functions_give_identical_runs():
    lg = LinearGaussian(2, seed=1)
    vec = lg.sampler(n_steps=150, n_burn=100, n_temps=6, random_state=3).fit()
    scal = ReplicaExchange(
        lambda th: float(lg.loglik(th[None])[0]),
        lambda th: float(lg.logprior(th[None])[0]),
        lg.sample_prior,
        n_steps=150,
        n_burn=100,
        n_temps=6,
        warn=False,
        random_state=3,
    ).fit()
    np.testing.assert_allclose(scal.posterior["theta"], vec.posterior["theta"], rtol=1e-10)
    assert scal.log_evidence == pytest.approx(vec.log_evidence, rel=1e-10)


def test_reproducible_with_seed_and_different_without():
    lg = LinearGaussian(2, seed=1)
    a = lg.sampler(n_steps=200, n_burn=100, random_state=5).fit()
    b = lg.sampler(n_steps=200, n_burn=100, random_state=5).fit()
    c = lg.sampler(n_steps=200, n_burn=100, random_state=6).fit()
    np.testing.assert_array_equal(a.posterior["theta"], b.posterior["theta"])
    assert a.log_evidence == b.log_evidence
    assert not np.array_equal(a.posterior["theta"], c.posterior["theta"])


def test_result_layout_properties_and_netcdf(tmp_path):
    lg = LinearGaussian(2, seed=1)
    res = lg.sampler(
        n_steps=400, n_burn=200, thin=2, n_chains=3, param_names=["a", "b"], random_state=0
    ).fit()
    post = res.posterior
    assert post["theta"].dims == ("chain", "draw", "param")
    assert post.sizes == {"chain": 3, "draw": 200, "param": 2}
    assert list(post["param"].values) == ["a", "b"]
    summ = azs.summary(res.to_datatree())  # ArviZ 1.x works on the posterior unchanged
    assert {"r_hat", "ess_bulk", "ess_tail"} <= set(summ.columns)
    assert res.swap_rates.shape == (3, 23) and res.acceptance.shape == (3, 24)
    assert np.all(res.acceptance[:, 0] == 1.0)  # exact prior draws at beta = 0
    assert np.all((res.acceptance[:, 1:] > 0.1) & (res.acceptance[:, 1:] < 0.6))
    assert len(res.round_trips) == 3
    assert res.free_energy == -res.log_evidence
    assert set(res.diagnostics["r_hat"]) == {"theta[a]", "theta[b]"}
    assert res.diagnostics["n_likelihood_evaluations"] == 3 * 600 * 24 + 3 * 24
    assert res.metadata["seed"] == 0
    path = tmp_path / "remc.nc"
    res.to_netcdf(path)
    back = REMCResult.from_netcdf(path)
    assert back.log_evidence == pytest.approx(res.log_evidence)
    np.testing.assert_allclose(back.swap_rates, res.swap_rates)
    for kind in ("thermodynamic", "swap", "posterior"):
        assert res.plot(kind=kind) is not None
    with pytest.raises(ModelError, match="kind"):
        res.plot(kind="nope")


def test_user_move_hook_exact_gibbs():
    """An exact draw from each tempered Gaussian is a valid user move; with it alone (no random
    walk) the sampler still gets the evidence right and the hook is called every sweep."""
    lg = LinearGaussian(2, seed=4)
    calls = []

    moments = {}

    def gibbs(x, betas, ll, lp, rng):
        calls.append(1)
        key = tuple(betas)
        if key not in moments:
            mc = [lg.tempered_moments(b) for b in betas]
            moments[key] = (np.array([m for m, _ in mc]), np.linalg.cholesky([c for _, c in mc]))
        mean, chol = moments[key]
        new = mean + np.einsum("lij,lj->li", chol, rng.standard_normal(x.shape))
        return new, lg.loglik(new), lg.logprior(new)

    res = lg.sampler(
        moves=[gibbs], random_walk=False, n_temps=12, n_steps=1500, n_burn=10, random_state=0
    ).fit()
    assert len(calls) == 2 * 1510
    assert abs(res.log_evidence - lg.exact) < 0.1
    assert np.all(np.isnan(res.acceptance))


def test_convergence_warning_for_sparse_ladder():
    lg = LinearGaussian(2, seed=1)
    with pytest.warns(ConvergenceWarning, match="swap rate"):
        ReplicaExchange(
            lg.loglik,
            lg.logprior,
            lg.sample_prior,
            vectorized=True,
            betas=[0.0, 1.0],
            n_steps=300,
            n_burn=200,
            random_state=0,
        ).fit()


def test_no_warning_when_converged():
    lg = LinearGaussian(1, seed=2)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        res = ReplicaExchange(
            lg.loglik,
            lg.logprior,
            lg.sample_prior,
            vectorized=True,
            n_steps=3000,
            random_state=0,
        ).fit()
    assert res.diagnostics["problems"] == []


def test_se_over_independent_runs():
    lg = LinearGaussian(1, seed=2)
    res = lg.sampler(n_steps=600, n_burn=300, n_chains=4, se_method="runs", random_state=0).fit()
    per_chain = np.array(res.diagnostics["log_evidence_per_chain"])
    assert res.log_evidence_se == pytest.approx(per_chain.std(ddof=1) / 2)
    assert res.log_evidence == pytest.approx(per_chain.mean())


def test_parallel_chains_equal_serial():
    """Chains mapped over a Dask cluster (one task per chain) reproduce the serial run exactly."""
    from petroinfer.parallel import get_client

    lg = LinearGaussian(2, seed=1)
    serial = lg.sampler(n_steps=200, n_burn=100, n_temps=8, n_chains=3, random_state=9).fit()
    with get_client(n_workers=2, processes=False) as client:
        par = lg.sampler(
            n_steps=200, n_burn=100, n_temps=8, n_chains=3, scheduler=client, random_state=9
        ).fit()
    np.testing.assert_array_equal(serial.posterior["theta"], par.posterior["theta"])
    assert serial.log_evidence == par.log_evidence


# --------------------------------------------------------------------------------- bad input
def _fit(loglik, logprior=None, prior=None, **kw):
    lg = LinearGaussian(2, seed=1)
    kw.setdefault("vectorized", True)
    return ReplicaExchange(
        loglik,
        logprior or lg.logprior,
        prior or lg.sample_prior,
        n_steps=20,
        n_burn=10,
        n_temps=4,
        warn=False,
        random_state=0,
        **kw,
    ).fit()


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_log_likelihood_is_model_error(bad):
    def loglik(X):
        out = -0.5 * (X**2).sum(-1)
        out[0] = bad
        return out

    with pytest.raises(ModelError, match="log_likelihood returned a non-finite value"):
        _fit(loglik)


def test_nan_log_prior_is_model_error():
    with pytest.raises(ModelError, match="log_prior returned a non-finite value nan"):
        _fit(lambda X: np.zeros(len(X)), logprior=lambda X: np.full(len(X), np.nan))


def test_wrong_vectorised_shape_is_model_error():
    with pytest.raises(ModelError, match=r"must return shape \(\d+,\)"):
        _fit(lambda X: np.zeros((len(X), 3)))


def test_scalar_function_returning_array_is_model_error():
    with pytest.raises(ModelError, match="set vectorized=True"):
        _fit(lambda th: np.zeros(3), logprior=lambda th: 0.0, vectorized=False)


def test_prior_sampler_wrong_shape_is_model_error():
    with pytest.raises(ModelError, match="prior_sample"):
        _fit(lambda X: np.zeros(len(X)), prior=lambda rng, m: rng.normal(size=(m, 2, 2)))


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"n_steps": 0}, "n_steps"),
        ({"thin": 0}, "thin"),
        ({"n_chains": 1.5}, "n_chains"),
        ({"ladder": "linear"}, "ladder"),
        ({"se_method": "runs"}, "n_chains >= 3"),
        ({"random_walk": False}, "user move"),
        ({"beta_min": 2.0}, "beta_min"),
        ({"n_temps": 1}, "n_temps"),
        ({"target_acceptance": 1.2}, "target_acceptance"),
        ({"proposal_cov": np.eye(3)}, "proposal_cov"),
        ({"param_names": ["a"]}, "param_names"),
        ({"n_jobs": 0}, "n_jobs"),
    ],
)
def test_bad_settings(kw, match):
    lg = LinearGaussian(2, seed=1)
    with pytest.raises(ModelError, match=match):
        lg.sampler(**{"n_steps": 20, "n_burn": 5, "n_temps": 4, **kw}).fit()


def test_missing_prior_sampler_needs_initial():
    lg = LinearGaussian(2, seed=1)
    s = ReplicaExchange(
        lg.loglik,
        lg.logprior,
        None,
        vectorized=True,
        n_steps=50,
        n_burn=20,
        n_temps=4,
        warn=False,
        random_state=0,
    )
    with pytest.raises(ModelError, match="initial"):
        s.fit()
    res = s.fit(initial=np.zeros(2))
    assert res.posterior.sizes["param"] == 2
    with pytest.raises(InputError, match="initial states must have shape"):
        s.fit(initial=np.zeros((3, 2)))
    with pytest.raises(InputError, match="finite"):
        s.fit(initial=np.array([np.nan, 0.0]))


def test_bad_move_output_is_model_error():
    def move(x, betas, ll, lp, rng):
        return x[:-1], ll, lp

    with pytest.raises(ModelError, match="a move must return"):
        _fit(lambda X: -0.5 * (X**2).sum(-1), moves=[move])


def test_compare_models_rejects_missing_evidence():
    from petroinfer.inference import Result

    with pytest.raises(ModelError, match="no finite log_evidence"):
        compare_models({"a": Result(estimate={})})
    with pytest.raises(ModelError, match="at least one"):
        compare_models({})


# --------------------------------------------------------------------------------- InverseProblem API
def test_get_set_params_repr_and_validation_once():
    lg = LinearGaussian(2, seed=1)
    s = lg.sampler(n_steps=60, n_burn=20, n_temps=4, random_state=3)
    params = s.get_params()
    assert params["n_temps"] == 4 and params["log_likelihood"] == lg.loglik
    assert set(params) >= {"betas", "ladder", "moves", "n_jobs", "scheduler", "random_state"}
    text = repr(s)
    assert text.startswith("ReplicaExchange(") and "n_temps=4" in text and len(text) < 300
    assert "n_chains" not in text  # defaults are not shown
    a = s.fit()
    # a copy configured from get_params reproduces the run exactly
    b = ReplicaExchange(**s.get_params()).fit()
    np.testing.assert_array_equal(a.posterior["theta"], b.posterior["theta"])
    assert s.set_params(n_steps=0) is s
    with pytest.raises(ModelError, match=r"ReplicaExchange: parameter 'n_steps' must be an int"):
        s.fit()
    with pytest.raises(ModelError, match="unknown parameter 'n_step'"):
        s.set_params(n_step=10)
    with pytest.raises(ModelError, match="parameter 'random_state'"):
        lg.sampler(random_state=-1).fit()
    assert a.metadata["parameters"]["n_temps"] == 4
    assert a.metadata["method"].startswith("replica-exchange")


def test_result_repr_is_short():
    res = LinearGaussian(2, seed=1).sampler(n_steps=200, n_burn=50, n_temps=4, random_state=0).fit()
    text = repr(res)
    assert text.startswith("REMCResult(method='replica-exchange")
    assert "2 chains × 200 draws" in text and "theta(param=2)" in text
    assert f"log_evidence: {res.log_evidence:.6g} ± " in text
    assert len(text) < 600
