"""ES-MDA: convergence to the exact linear-Gaussian posterior, reproducibility, bad input."""

from __future__ import annotations

import numpy as np
import pytest

from petroinfer.errors import InputError, ModelError
from petroinfer.inference import ESMDA, EnsembleResult
from petroinfer.inference.ensemble import inflation_coefficients


class LinearProblem:
    """y = G θ + e, θ ~ N(μ0, C0), e ~ N(0, C_D): exact Gaussian posterior."""

    def __init__(self, d: int = 3, m: int = 6, seed: int = 0):
        rng = np.random.default_rng(seed)
        self.G = rng.normal(size=(m, d))
        self.mu0 = np.array([0.5, -1.0, 2.0])[:d]
        self.C0 = np.diag(np.linspace(1.0, 2.0, d))
        self.sd = np.linspace(0.3, 0.6, m)
        theta = rng.multivariate_normal(self.mu0, self.C0)
        self.y = self.G @ theta + rng.normal(0, self.sd)

    def forward(self, theta):
        return self.G @ theta

    def prior(self, rng, n):
        return rng.multivariate_normal(self.mu0, self.C0, size=n)

    @property
    def posterior(self):
        cd_inv = np.diag(1 / self.sd**2)
        prec = np.linalg.inv(self.C0) + self.G.T @ cd_inv @ self.G
        cov = np.linalg.inv(prec)
        mean = cov @ (np.linalg.solve(self.C0, self.mu0) + self.G.T @ cd_inv @ self.y)
        return mean, cov


def _errors(prob: LinearProblem, n: int, seed: int) -> tuple[float, float]:
    res = ESMDA(
        lambda th: th @ prob.G.T,
        prob.prior,
        n_ensemble=n,
        vectorized=True,
        random_state=seed,
    ).fit(prob.y, obs_error=prob.sd)
    mean, cov = prob.posterior
    ens = res.ensemble
    sd = np.sqrt(np.diag(cov))
    mean_err = float(np.max(np.abs(ens.mean(axis=0) - mean) / sd))
    cov_err = float(np.linalg.norm(np.cov(ens, rowvar=False) - cov) / np.linalg.norm(cov))
    return mean_err, cov_err


def test_converges_to_exact_linear_gaussian_posterior():
    prob = LinearProblem()
    sizes = [50, 400, 4000]
    errs = np.array([[_errors(prob, n, seed) for seed in range(4)] for n in sizes]).mean(axis=1)
    mean_err, cov_err = errs[:, 0], errs[:, 1]
    assert np.all(np.diff(mean_err) < 0), mean_err
    assert np.all(np.diff(cov_err) < 0), cov_err
    # Monte-Carlo rate ~ 1/sqrt(N): the largest ensemble is within a few percent
    assert mean_err[-1] < 0.06
    assert cov_err[-1] < 0.06
    assert cov_err[0] > 2 * cov_err[-1]


def test_result_layout_and_misfit_history():
    prob = LinearProblem()
    res = ESMDA(
        prob.forward, prob.prior, n_ensemble=100, param_names=["a", "b", "c"], random_state=1
    ).fit(prob.y, obs_error=prob.sd)
    assert isinstance(res, EnsembleResult)
    assert res.posterior["theta"].dims == ("chain", "draw", "param")
    assert res.posterior.sizes == {"chain": 1, "draw": 100, "param": 3, "obs": 6}
    assert list(res.estimate["param"].values) == ["a", "b", "c"]
    misfit = res.criterion["misfit"].values
    assert misfit.size == 5  # prior + 4 assimilations
    assert misfit[-1] < 0.2 * misfit[0]
    assert res.diagnostics["n_forward_runs"] == 500
    assert res.hyperparameters["alphas"] == [4.0, 4.0, 4.0, 4.0]
    assert res.plot() is not None


def test_scalar_and_vectorised_forward_identical_and_reproducible():
    prob = LinearProblem()
    a = ESMDA(prob.forward, prob.prior, n_ensemble=60, random_state=3).fit(prob.y, prob.sd)
    b = ESMDA(
        lambda th: th @ prob.G.T, prob.prior, n_ensemble=60, vectorized=True, random_state=3
    ).fit(prob.y, prob.sd)
    np.testing.assert_allclose(a.ensemble, b.ensemble, rtol=1e-10, atol=1e-12)
    c = ESMDA(prob.forward, prob.prior, n_ensemble=60, random_state=4).fit(prob.y, prob.sd)
    assert not np.allclose(a.ensemble, c.ensemble)


def test_full_covariance_equals_diagonal_sds():
    prob = LinearProblem()
    a = ESMDA(prob.forward, prob.prior, n_ensemble=40, random_state=0).fit(prob.y, prob.sd)
    b = ESMDA(prob.forward, prob.prior, n_ensemble=40, random_state=0).fit(
        prob.y, np.diag(prob.sd**2)
    )
    np.testing.assert_allclose(a.ensemble, b.ensemble, rtol=1e-10)


def test_nonlinear_forward_reduces_misfit():
    rng = np.random.default_rng(0)
    x = np.linspace(0, 1, 15)
    truth = np.array([1.0, 3.0])

    def g(th):
        return th[0] * np.exp(-th[1] * x)

    y = g(truth) + rng.normal(0, 0.02, x.size)
    res = ESMDA(
        g, lambda r, n: r.normal([0.5, 2.0], [0.5, 1.0], (n, 2)), n_ensemble=200, random_state=0
    ).fit(y, 0.02)
    assert np.all(
        np.abs(res.estimate["mean"].values - truth) < 4 * res.estimate["sd"].values + 0.05
    )
    assert res.diagnostics["final_misfit"] < 3.0


def test_members_through_parallel_equal_serial():
    from petroinfer.parallel import get_client

    prob = LinearProblem()
    with get_client(n_workers=2, processes=False) as client:
        par = ESMDA(
            prob.forward,
            prob.prior,
            n_ensemble=20,
            n_assimilations=2,
            scheduler=client,
            random_state=5,
        ).fit(prob.y, prob.sd)
    serial = ESMDA(prob.forward, prob.prior, n_ensemble=20, n_assimilations=2, random_state=5).fit(
        prob.y, prob.sd
    )
    np.testing.assert_allclose(serial.ensemble, par.ensemble, rtol=1e-12)


# ------------------------------------------------------------------------------- bad input
def test_inflation_coefficients():
    assert inflation_coefficients(None, 2).tolist() == [2.0, 2.0]
    np.testing.assert_allclose(inflation_coefficients([2.0, 4.0, 4.0]), [2, 4, 4])
    with pytest.raises(ModelError, match="sum to 1"):
        inflation_coefficients([2.0, 2.0, 2.0])
    with pytest.raises(ModelError, match="positive"):
        inflation_coefficients([-1.0, 0.5])
    with pytest.raises(ModelError, match="n_assimilations"):
        inflation_coefficients(None, 0)


@pytest.mark.parametrize(
    ("y", "err", "exc", "match"),
    [
        (np.array([1.0, np.nan, 2.0]), 0.1, InputError, r"finite \(row 1, value nan\)"),
        (np.zeros((2, 3)), 0.1, InputError, "1-D"),
        (np.zeros(3), np.array([0.1, -0.2, 0.1]), InputError, r"> 0 \(row 1, value -0.2\)"),
        (np.zeros(3), np.ones(4), InputError, "scalar sd"),
        (np.zeros(3), np.ones((3, 2)), InputError, "covariance"),
        (np.zeros(3), -np.eye(3), InputError, "positive definite"),
    ],
)
def test_bad_observations(y, err, exc, match):
    es = ESMDA(lambda th: np.zeros(3), lambda r, n: r.normal(size=(n, 2)), n_ensemble=10)
    with pytest.raises(exc, match=match):
        es.fit(y, err)


def test_non_finite_forward_names_member():
    def g(th):
        return np.array([np.nan if th[0] > 1.0 else th[0], th[1]])

    es = ESMDA(g, lambda r, n: r.normal(0, 1, (n, 2)), n_ensemble=30, random_state=0)
    with pytest.raises(ModelError, match="non-finite values for ensemble member"):
        es.fit(np.zeros(2), 0.1)


def test_forward_shape_mismatch():
    es = ESMDA(lambda th: np.zeros(4), lambda r, n: r.normal(size=(n, 2)), n_ensemble=10)
    with pytest.raises(ModelError, match="4 values but there are 3 observations"):
        es.fit(np.zeros(3), 0.1)
    es = ESMDA(
        lambda th: np.zeros((len(th), 2)),
        lambda r, n: r.normal(size=(n, 2)),
        n_ensemble=10,
        vectorized=True,
    )
    with pytest.raises(ModelError, match="vectorized=True"):
        es.fit(np.zeros(3), 0.1)


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"n_ensemble": 1}, "n_ensemble"),
        ({"alphas": [3.0, 3.0]}, "sum to 1"),
        ({"param_names": ["a"]}, "param_names"),
    ],
)
def test_bad_settings(kw, match):
    es = ESMDA(lambda th: th, lambda r, n: r.normal(size=(n, 2)), **kw)
    with pytest.raises(ModelError, match=match):
        es.fit(np.zeros(2), 0.1)


def test_get_set_params_repr_and_validation():
    prob = LinearProblem()
    es = ESMDA(prob.forward, prob.prior, n_ensemble=40, random_state=0)
    assert es.get_params()["n_ensemble"] == 40 and es.get_params()["forward"] == prob.forward
    assert repr(es) == "ESMDA(forward=forward, prior_sample=prior, n_ensemble=40, random_state=0)"
    a = es.fit(prob.y, prob.sd)
    b = ESMDA(**es.get_params()).fit(prob.y, prob.sd)
    np.testing.assert_array_equal(a.posterior["theta"], b.posterior["theta"])
    es.set_params(n_jobs=0)
    with pytest.raises(ModelError, match="ESMDA: parameter 'n_jobs'"):
        es.fit(prob.y, prob.sd)
    assert a.metadata["parameters"]["n_ensemble"] == 40
    assert len(repr(a)) < 600 and repr(a).startswith("EnsembleResult(method='ES-MDA")
