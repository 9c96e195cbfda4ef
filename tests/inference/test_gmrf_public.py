"""The public contract of petroinfer.inference.gmrf: prior methods, evidence and its search."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.stats import multivariate_normal

from petroinfer.errors import ConvergenceWarning, InputError, ModelError
from petroinfer.inference.gmrf import (
    Anchor,
    ChainPrior,
    GridPrior,
    HyperparameterSearch,
    LinearGMRF,
    NonlinearGMRF,
)


def _anchored_chain():
    s = np.array([0.0, 0.3, 1.0, 1.2, 2.0, 2.9])
    anchors = [
        Anchor(0, 800.0, 10.0, "T"),
        Anchor(5, 900.0, 20.0, "T"),
        Anchor("mean", 5.0, 1.0, "P"),
        Anchor(2, 6.0, 1.0, "P"),
    ]
    return ChainPrior(s, order=2, channels=("T", "P"), correlation=0.3, anchors=anchors)


def _dense_reference(prior, kappa):
    """Q and b (linear term) from the quadratic form of log_density itself is circular; build them
    from the definition instead: Q = R (x) K + node anchors + lam w w^T (user order)."""
    nc = prior.n_channels
    kap = prior.smoothness_array(kappa)
    s = np.sqrt(kap)
    K = s[:, None] * np.linalg.inv(prior.correlation) * s[None, :]
    Q = np.kron(prior._R.toarray(), K)  # node-major interleaved = user order for a chain
    b = np.zeros(prior.size)
    h = np.diff(prior.positions)
    w = np.zeros(prior.n_nodes)
    w[:-1] += 0.5 * h
    w[1:] += 0.5 * h
    w /= w.sum()
    for a in prior.anchors:
        c = prior.channels.index(a.channel)
        lam = 1.0 / a.sd**2
        if a.node == "mean":
            u = np.zeros(prior.size)
            u[c::nc] = w
            Q += lam * np.outer(u, u)
            b += lam * a.mean * u
        else:
            i = a.node * nc + c
            Q[i, i] += lam
            b[i] += lam * a.mean
    return Q, b


def test_precision_mean_density_and_draws_of_a_proper_prior():
    prior = _anchored_chain()
    kappa = {"T": 2.0, "P": 3.0}
    Q_ref, b = _dense_reference(prior, kappa)
    Q = prior.precision(kappa)
    assert sp.issparse(Q)
    np.testing.assert_allclose(Q.toarray(), Q_ref, rtol=1e-12, atol=1e-12)
    ld, d = prior.log_determinant(kappa)
    assert d == 0
    assert ld == pytest.approx(np.linalg.slogdet(Q_ref)[1], rel=1e-10)
    mu_ref = np.linalg.solve(Q_ref, b)
    mu = prior.mean(kappa)
    assert mu.shape == (6, 2)
    np.testing.assert_allclose(mu.ravel(), mu_ref, rtol=1e-10)
    x = mu + np.random.default_rng(0).normal(size=(3, 6, 2))
    r = x.reshape(3, -1) - mu_ref
    ref = (
        -0.5 * 12 * np.log(2 * np.pi)
        + 0.5 * np.linalg.slogdet(Q_ref)[1]
        - 0.5 * np.einsum("bi,ij,bj->b", r, Q_ref, r)
    )
    np.testing.assert_allclose(prior.log_density(x, kappa), ref, rtol=1e-10)
    # the same density as scipy's (looser: scipy inverts the ill-conditioned covariance)
    scipy_ref = multivariate_normal(mu_ref, np.linalg.inv(Q_ref)).logpdf(x.reshape(3, -1))
    np.testing.assert_allclose(prior.log_density(x, kappa), scipy_ref, rtol=1e-7)
    assert isinstance(prior.log_density(x[0], kappa), float)
    draws = prior.sample(kappa, 40000, random_state=1)
    assert draws.shape == (40000, 6, 2)
    flat = draws.reshape(40000, -1)
    cov = np.linalg.inv(Q_ref)
    sd = np.sqrt(np.diag(cov))
    # mean within 5 Monte-Carlo s.e., covariance (as correlation) within 0.03
    assert np.all(np.abs(flat.mean(0) - mu_ref) < 5 * sd / np.sqrt(40000))
    corr = np.cov(flat.T) / np.outer(sd, sd)
    assert np.abs(corr - cov / np.outer(sd, sd)).max() < 0.03
    np.testing.assert_array_equal(prior.sample(kappa, 3, random_state=5), prior.sample(kappa, 3, 5))


def test_intrinsic_prior_generalised_density_and_proper_part_draws():
    s = np.array([0.0, 0.4, 1.0, 1.5, 2.5, 3.0, 3.2])
    prior = ChainPrior(s, order=2)
    Q = prior.precision(3.0).toarray()
    ev = np.linalg.eigvalsh(Q)
    ld, d = prior.log_determinant(3.0)
    assert d == 2
    assert ld == pytest.approx(np.sum(np.log(ev[2:])), rel=1e-10)
    # generalised density is flat along constants and lines (Rue & Held 2005, eq. 3.18)
    line = (2.0 + 0.5 * s)[:, None]
    expected = -0.5 * 5 * np.log(2 * np.pi) + 0.5 * np.sum(np.log(ev[2:]))
    assert prior.log_density(line, 3.0) == pytest.approx(expected, rel=1e-12)
    draws = prior.sample(3.0, 50000, random_state=2).reshape(50000, -1)
    V = np.column_stack([np.ones(7), s])
    assert np.abs(draws @ V).max() < 1e-8  # no null-space component
    pinv = np.linalg.pinv(Q)
    assert np.abs(np.cov(draws.T) - pinv).max() < 0.03 * np.abs(pinv).max()
    np.testing.assert_allclose(prior.mean(3.0), 0.0, atol=1e-12)


def test_grid_prior_public_methods_match_dense():
    prior = GridPrior((3, 5), order=1, anchors=[Anchor((1, 2), 1.5, 0.5)])
    Q = prior.precision(2.0).toarray()
    ld, d = prior.log_determinant(2.0)
    assert d == 0 and ld == pytest.approx(np.linalg.slogdet(Q)[1], rel=1e-10)
    mu = prior.mean(2.0)
    np.testing.assert_allclose(mu, 1.5, rtol=1e-10)
    x = np.random.default_rng(3).normal(size=(3, 5, 1))
    ref = multivariate_normal(mu.ravel(), np.linalg.inv(Q)).logpdf(x.ravel())
    assert prior.log_density(x, 2.0) == pytest.approx(ref, rel=1e-10)


def test_prior_methods_reject_bad_arguments():
    prior = ChainPrior(n_nodes=5, channels=("T", "P"))
    with pytest.raises(ModelError, match="one value per channel"):
        prior.precision({"T": 1.0})
    with pytest.raises(ModelError, match="channel 'P'"):
        prior.precision([1.0, -1.0])
    with pytest.raises(InputError, match="shape"):
        prior.log_density(np.zeros((5, 3)), 1.0)
    with pytest.raises(ModelError, match="non-negative int"):
        prior.sample(1.0, -1)


def _linear_problem():
    rng = np.random.default_rng(4)
    s = np.sort(rng.uniform(0, 1, 80))
    y = np.sin(5 * s) + 0.1 * rng.normal(size=80)
    return ChainPrior(s, order=2), y


def test_linear_search_matches_fit_and_public_evidence():
    prior, y = _linear_problem()
    model = LinearGMRF(prior, np.eye(80), random_state=0)
    search = model.search_hyperparameters(y)
    assert isinstance(search, HyperparameterSearch)
    res = model.fit(y)
    assert search.log_evidence == res.log_evidence
    assert search.hyperparameters["smoothness"] == res.hyperparameters["smoothness"]
    assert search.n_evaluations == res.diagnostics["n_evaluations"] == len(search.criterion)
    assert search.converged and search.free == ("noise_precision", "smoothness_x")
    crit = search.criterion
    assert list(crit.columns) == ["stage", "noise_precision", "smoothness_x", "log_evidence"]
    assert crit["log_evidence"].max() <= search.log_evidence + 1e-6
    assert model.log_evidence(y, **search.hyperparameters) == pytest.approx(
        search.log_evidence, rel=1e-12
    )
    # a cheaper search reaches the same optimum within its tolerance
    quick = model.search_hyperparameters(y, scan=2, profile=False, tol=0.05)
    assert quick.n_evaluations < search.n_evaluations
    assert quick.log_evidence == pytest.approx(search.log_evidence, abs=0.01)


def test_search_options_bounds_start_budget_callback():
    prior, y = _linear_problem()
    model = LinearGMRF(prior, np.eye(80), noise_precision=100.0)
    seen = []
    search = model.search_hyperparameters(
        y, start={"smoothness_x": 1.0}, scan=0, callback=lambda r: seen.append(r) and False
    )
    assert search.free == ("smoothness_x",)
    assert len(seen) == search.n_evaluations and {"smoothness_x", "stage"} <= set(seen[0])
    assert seen[0]["smoothness_x"] == pytest.approx(1.0)
    with pytest.warns(ConvergenceWarning, match="search bound"):
        bounded = model.search_hyperparameters(y, bounds={"smoothness_x": (1e-8, 1e-6)})
    assert bounded.hyperparameters["smoothness"]["x"] <= 1e-6 * (1 + 1e-12)
    assert bounded.at_bound == ("smoothness_x (upper)",) and not bounded.converged
    with pytest.warns(ConvergenceWarning, match="max_evaluations"):
        short = model.search_hyperparameters(y, max_evaluations=5)
    assert short.n_evaluations == 5 and not short.converged
    stopped = model.search_hyperparameters(y, callback=lambda r: True)
    assert stopped.n_evaluations == 1 and not stopped.converged
    with pytest.raises(ModelError, match="unknown hyperparameter"):
        model.search_hyperparameters(y, bounds={"kappa": (1, 2)})
    with pytest.raises(ModelError, match="low < high"):
        model.search_hyperparameters(y, bounds={"smoothness_x": (2, 1)})
    fixed = LinearGMRF(prior, np.eye(80), noise_precision=100.0, smoothness=1.0)
    rec = fixed.search_hyperparameters(y)
    assert rec.n_evaluations == 0 and rec.log_evidence == fixed.log_evidence(y, 100.0, 1.0)


def test_nonlinear_public_evidence_and_search():
    r = np.linspace(0.0, 1.0, 30)
    prior = ChainPrior(r, order=2)

    def forward(x):
        return np.exp(x[:, 0] / 3)

    def jacobian(x):
        return np.diag(np.exp(x[:, 0] / 3) / 3)

    y = forward(np.sin(3 * r)[:, None]) + 0.05 * np.random.default_rng(2).standard_normal(30)
    model = NonlinearGMRF(prior, forward, jacobian, random_state=0)
    search = model.search_hyperparameters(y)
    res = model.fit(y)
    assert search.log_evidence == pytest.approx(res.log_evidence, abs=1e-9)
    assert search.hyperparameters["smoothness"] == res.hyperparameters["smoothness"]
    # Laplace evidence of a linear forward model equals the exact evidence
    lin = NonlinearGMRF(prior, lambda x: x[:, 0], lambda x: np.eye(30))
    exact = LinearGMRF(prior, np.eye(30)).log_evidence(y, 50.0, 0.2)
    assert lin.log_evidence(y, 50.0, 0.2) == pytest.approx(exact, rel=1e-10)
    assert model.log_evidence(y, **search.hyperparameters, x0=res.estimate["mean"].values) == (
        pytest.approx(res.log_evidence, rel=1e-10)
    )


def test_models_are_inverse_problems():
    prior, y = _linear_problem()
    model = LinearGMRF(prior, np.eye(80), noise_precision=2.0)
    assert model.get_params()["noise_precision"] == 2.0
    text = repr(model)
    assert text.startswith("LinearGMRF(prior=ChainPrior(n_nodes=80, order=2")
    assert "noise_precision=2" in text and "smoothness" not in text
    model.set_params(smoothness=3.0)
    assert model.smoothness == 3.0
    with pytest.raises(ModelError, match="unknown parameter"):
        model.set_params(kappa=1.0)
    with pytest.raises(ModelError, match="n_samples"):
        LinearGMRF(prior, np.eye(80), n_samples=-1).fit(y)
    res = model.fit(y)
    assert res.metadata["method"] == "LinearGMRF" and res.metadata["parameters"]["noise_precision"]
