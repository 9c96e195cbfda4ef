"""Circular/axial orientation models: exact normalisers, cdf/ppf, nesting, MLE, model table, data.

Truth: direct adaptive quadrature (scipy.integrate.quad) written in the tests, closed forms of the
nested families, the published-by-calculation constants of imaging_texture.md §D.2, independent
von Mises estimates (A1⁻¹ by brentq), and pycircstat2 0.1.15's fitted log-likelihoods on Fisher B2/B5
recorded as constants (pycircstat2 is not a dependency).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, optimize, special, stats

from petroinfer.errors import InputError, ModelError
from petroinfer.texture import (
    MODEL_NAMES,
    Cardioid,
    InverseBatschelet,
    JonesPewsey,
    OrientationModels,
    UniformCircular,
    VonMises,
    VonMisesMixture,
    WrappedCauchy,
    check_angles,
    fit_circular,
    ib_log_normaliser,
    kuiper_test,
    watson_u2_test,
)
from petroinfer.texture._circular import _solve_kepler, _solve_skew
from petroinfer.texture._fitting import SPECS, fit_spec, natural_estimates

TWO_PI = 2 * np.pi

# pycircstat2 0.1.15 inverse_batschelet.fit(2θ) (MLE, |ν|,|λ| ≤ 0.99) — its own reported loglik on the
# doubled angles, recorded with /tmp scratch venv on 2026-12-06; von Mises fit likewise.
PCS2_IB_LOGLIK = {"B2": -238.45062414368556, "B5": -106.07582452290362}
PCS2_VM_LOGLIK = {"B2": -242.55772341078222, "B5": -106.85298584394187}
PCS2_CDF = 0.11796336892075589  # cdf(π/2; ξ=π/2, κ=2, ν=-0.5, λ=0.7)
PCS2_PPF = 2.5137729476810207  # ppf(0.5), same parameters
EXACT_PPF = 2.5138034351  # imaging_texture.md §D.2 [C]


def quad(f, a, b, points=None):
    return integrate.quad(f, a, b, epsabs=0.0, epsrel=1e-13, limit=500, points=points)[0]


def direct_normaliser(kappa, lam):
    """K(κ, λ) of Jones & Pewsey (2012) by direct quadrature of their formula (λ < 1)."""
    inner = quad(lambda x: np.exp(kappa * np.cos(x - 0.5 * (1 - lam) * np.sin(x))), -np.pi, np.pi)
    i0 = special.i0(kappa)
    return (1 + lam) / (1 - lam) - 2 * lam / (1 - lam) * inner / (2 * np.pi * i0)


# ------------------------------------------------------------------------------------- normaliser
@pytest.mark.parametrize(
    ("kappa", "lam", "ref"), [(2, 0.7, 0.479729758), (5, -0.6, 1.921919901), (1, 0.3, 0.856607384)]
)
def test_normaliser_reference_values(kappa, lam, ref):
    k = math.exp(float(ib_log_normaliser(kappa, lam))) / (2 * np.pi * special.i0(kappa))
    assert k == pytest.approx(ref, abs=1e-9)


@pytest.mark.parametrize(
    ("kappa", "lam"), [(0.5, -1.0), (2.0, -0.5), (2.0, 0.0), (8.0, 0.9), (40.0, 0.3), (300.0, -0.8)]
)
def test_normaliser_matches_direct_formula(kappa, lam):
    k = math.exp(float(ib_log_normaliser(kappa, lam))) / (2 * np.pi * special.i0(kappa))
    assert k == pytest.approx(direct_normaliser(kappa, lam), rel=1e-11)


def test_normaliser_lambda_one_closed_form():
    for kappa in (0.3, 2.0, 20.0):
        a1 = special.i1(kappa) / special.i0(kappa)
        z = 2 * np.pi * special.i0(kappa) * (1 - a1)
        assert float(ib_log_normaliser(kappa, 1.0)) == pytest.approx(math.log(z), abs=1e-12)


@pytest.mark.parametrize(
    "params",
    [(2, 0, 0), (2, 0.5, 0.7), (5, -0.3, -0.6), (1, 0.9, 0.3), (30, 1.0, 1.0), (10, -1.0, -1.0)],
)
def test_density_integrates_to_one(params):
    d = InverseBatschelet(0.4, *params)
    mode = (0.4 - 2 * params[1]) % TWO_PI
    assert quad(d.pdf, 0, TWO_PI, points=[mode]) == pytest.approx(1.0, abs=1e-10)


# -------------------------------------------------------------------------------- cdf and quantiles
def test_cdf_and_ppf_against_quadrature_and_pycircstat2():
    d = InverseBatschelet(np.pi / 2, 2.0, -0.5, 0.7)
    exact = quad(d.pdf, 0, np.pi / 2)
    assert float(d.cdf(np.pi / 2)) == pytest.approx(exact, abs=1e-8)
    assert float(d.cdf(np.pi / 2)) == pytest.approx(PCS2_CDF, abs=1e-4)
    q = float(d.ppf(0.5))
    assert q == pytest.approx(EXACT_PPF, abs=1e-8)
    assert q == pytest.approx(PCS2_PPF, abs=1e-4)
    assert quad(d.pdf, 0, q) == pytest.approx(0.5, abs=1e-10)


@pytest.mark.parametrize(
    "dist",
    [
        InverseBatschelet(5.5, 8.0, 0.6, -0.4),
        InverseBatschelet(1.0, 0.7, -0.9, 0.95),
        JonesPewsey(2.0, 3.0, -0.6),
        WrappedCauchy(0.2, 0.8),
        Cardioid(3.0, 0.4),
        VonMisesMixture(0.5, 6.0, 3.5, 2.0, 0.3),
    ],
)
def test_cdf_ppf_exact(dist):
    theta = np.array([0.3, 1.7, 3.1, 4.4, 6.0])
    exact = [quad(dist.pdf, 0, t) for t in theta]
    np.testing.assert_allclose(dist.cdf(theta), exact, atol=1e-9)
    q = np.array([0.01, 0.2, 0.5, 0.77, 0.999])
    np.testing.assert_allclose(dist.cdf(dist.ppf(q)), q, atol=1e-11)
    assert float(dist.cdf(TWO_PI)) == 1.0


def test_von_mises_cdf_matches_scipy():
    d = VonMises(1.2, 3.0)
    theta = np.linspace(0.05, 6.2, 9)
    ref = stats.vonmises.cdf(theta, 3.0, loc=1.2) - stats.vonmises.cdf(0.0, 3.0, loc=1.2)
    ref = np.mod(ref, 1.0)
    np.testing.assert_allclose(d.cdf(theta), ref, atol=1e-10)


# --------------------------------------------------------------------------------- special cases
@pytest.mark.parametrize(("nu", "lam"), [(0.0, 0.0), (0.7, -0.4), (-1.0, 1.0), (0.3, -1.0)])
def test_kappa_zero_is_uniform(nu, lam):
    theta = np.linspace(0, TWO_PI, 17)
    np.testing.assert_allclose(
        InverseBatschelet(1.0, 0.0, nu, lam).pdf(theta), 1 / TWO_PI, atol=5e-13
    )


def test_submodels_nest_exactly():
    theta = np.linspace(-1.0, 7.0, 41)
    vm = VonMises(0.7, 2.3).pdf(theta)
    np.testing.assert_allclose(InverseBatschelet(0.7, 2.3, 0.0, 0.0).pdf(theta), vm, rtol=1e-12)
    np.testing.assert_allclose(JonesPewsey(0.7, 2.3, 0.0).pdf(theta), vm, rtol=1e-12)
    # Jones-Pewsey ψ = 1 is a cardioid with ρ = tanh(κ)/2, ψ = -1 a wrapped Cauchy with ρ = tanh(κ/2)
    np.testing.assert_allclose(
        JonesPewsey(0.7, 1.1, 1.0).pdf(theta),
        Cardioid(0.7, np.tanh(1.1) / 2).pdf(theta),
        rtol=1e-11,
    )
    np.testing.assert_allclose(
        JonesPewsey(0.7, 1.1, -1.0).pdf(theta),
        WrappedCauchy(0.7, np.tanh(0.55)).pdf(theta),
        rtol=1e-11,
    )
    # the mixture with equal components is one von Mises
    np.testing.assert_allclose(VonMisesMixture(0.7, 2.3, 0.7, 2.3, 0.4).pdf(theta), vm, rtol=1e-12)


def test_mode_is_xi_minus_two_nu():
    d = InverseBatschelet(2.0, 4.0, 0.3, 0.5)
    res = optimize.minimize_scalar(lambda t: -float(d.pdf(t)), bounds=(0.5, 2.5), method="bounded")
    assert res.x == pytest.approx(2.0 - 0.6, abs=1e-5)


def test_solvers_near_the_flat_point():
    # u - sin u = x has a triple root at 0 when λ = 1 (c = 1): plain Newton fails there (§D.3)
    x = np.concatenate([np.geomspace(1e-12, 1e-2, 25), np.linspace(-np.pi, np.pi, 101)])
    u = _solve_kepler(x, 1.0)
    assert np.max(np.abs(u - np.sin(u) - x)) < 1e-14
    for xi in (1e-9, 0.02, 2.0):
        ref = optimize.brentq(lambda v, xi=xi: v - np.sin(v) - xi, -np.pi, np.pi, xtol=1e-15)
        assert float(_solve_kepler(np.array([xi]), 1.0)[0]) == pytest.approx(ref, abs=1e-9)
    y = _solve_skew(x, -1.0)
    assert np.max(np.abs(y + (1 + np.cos(y)) - x)) < 1e-14


def test_rvs_follow_the_distribution():
    d = InverseBatschelet(4.0, 3.0, 0.4, -0.3)
    x = d.rvs(1500, random_state=11)
    _v, p = kuiper_test(d.cdf(x))
    assert p > 0.01
    _, p_wrong = kuiper_test(VonMises(4.0, 3.0).cdf(x))
    assert p_wrong < 1e-3


def test_bad_parameters_raise():
    with pytest.raises(ModelError, match="'nu'"):
        InverseBatschelet(0.0, 1.0, 1.5, 0.0)
    with pytest.raises(ModelError, match="'kappa'"):
        VonMises(0.0, -1.0)
    with pytest.raises(ModelError, match="'rho'"):
        Cardioid(0.0, 0.6)


# ------------------------------------------------------------------------------------------ MLE
def test_mle_recovery_n800_within_two_se():
    truth = {"xi": 0.8, "kappa": 2.5, "nu": -0.25, "lam": 0.4}
    x = InverseBatschelet(**truth).rvs(800, random_state=2024)
    fit = fit_circular(x, "inverse_batschelet", unit="rad")
    assert fit.converged and fit.at_bound == ()
    for p, t in truth.items():
        err = fit.estimates[p] - t
        if p == "xi":
            err = (err + np.pi) % TWO_PI - np.pi
        assert abs(err) < 2 * fit.se[p], (p, fit.estimates[p], fit.se[p])
    # the §D.2 tolerances of pycircstat2's own recovery test
    assert abs(((fit.estimates["xi"] - 0.8 + np.pi) % TWO_PI) - np.pi) < 0.2
    assert abs(fit.estimates["kappa"] - 2.5) < 0.7
    assert abs(fit.estimates["nu"] + 0.25) < 0.12 and abs(fit.estimates["lam"] - 0.4) < 0.12


def test_location_near_zero_does_not_stick():
    x = VonMises(0.02, 5.0).rvs(400, random_state=3)
    fit = fit_circular(x, "von_mises", unit="rad")
    mu = np.arctan2(np.sin(x).mean(), np.cos(x).mean()) % TWO_PI
    assert fit.estimates["xi"] == pytest.approx(mu, abs=1e-5)


def test_nested_fits_are_ordered():
    x = InverseBatschelet(1.0, 2.0, 0.3, -0.3).rvs(150, random_state=5)
    ll = {m: fit_circular(x, m, unit="rad", loo=None).log_likelihood for m in MODEL_NAMES}
    tol = 1e-6
    assert ll["inverse_batschelet"] >= ll["inverse_batschelet_nu0"] - tol
    assert ll["inverse_batschelet"] >= ll["inverse_batschelet_lam0"] - tol
    assert ll["inverse_batschelet_nu0"] >= ll["von_mises"] - tol
    assert ll["inverse_batschelet_lam0"] >= ll["von_mises"] - tol
    assert ll["jones_pewsey"] >= ll["von_mises"] - tol
    assert ll["von_mises"] >= ll["uniform"]
    assert ll["uniform"] == pytest.approx(-150 * math.log(TWO_PI), abs=1e-9)


@pytest.mark.slow
def test_wald_intervals_cover_about_90_percent():
    """Nominal 90 % intervals of (ξ, κ, ν, λ) over 40 synthetic samples of n = 800."""
    truth = np.array([0.8, math.log(2.5), -0.25, 0.4])
    spec = SPECS["inverse_batschelet"]()
    rng = np.random.default_rng(7)
    hits = []
    for _ in range(40):
        x = spec.build(truth).rvs(800, random_state=rng)
        raw = fit_spec(spec, x, start=truth)  # local search only: calibrates the intervals
        _, _, ci = natural_estimates(raw, 0.9)
        t = {"xi": 0.8, "kappa": 2.5, "nu": -0.25, "lam": 0.4}
        hits += [ci[p][0] <= t[p] <= ci[p][1] for p in t]
    cover = np.mean(hits)
    assert 0.83 <= cover <= 0.96, cover


# --------------------------------------------------------------------------- table and axial data
def test_axial_loglik_offset_and_axis_location():
    rng = np.random.default_rng(1)
    axes = np.degrees(VonMises(2.0, 2.0).rvs(120, random_state=rng) / 2)  # axes in [0, 180)
    ax_fit = fit_circular(axes, "von_mises", axial=True, loo=None)
    circ_fit = fit_circular((2 * axes) % 360, "von_mises", loo=None)
    assert ax_fit.log_likelihood - circ_fit.log_likelihood == pytest.approx(
        120 * math.log(2), abs=1e-8
    )
    assert ax_fit.location() == pytest.approx(circ_fit.location() / 2, abs=1e-6)
    assert 0 <= ax_fit.location() < 180
    # the axial density integrates to one over [0, π)
    assert quad(lambda t: float(ax_fit.pdf(t)), 0, np.pi) == pytest.approx(1.0, abs=1e-10)


def test_model_table_criteria_and_selection():
    x = np.degrees(VonMises(1.0, 3.0).rvs(250, random_state=8))
    res = OrientationModels(
        models=["uniform", "von_mises", "wrapped_cauchy", "inverse_batschelet_nu0"], criterion="aic"
    ).fit(x)
    t = res.table
    for _m, row in t.iterrows():
        assert row["aic"] == pytest.approx(-2 * row["log_likelihood"] + 2 * row["k"])
        assert row["bic"] == pytest.approx(-2 * row["log_likelihood"] + row["k"] * math.log(250))
        n, k = 250, row["k"]
        if k:
            assert row["aicc"] == pytest.approx(row["aic"] + 2 * k * (k + 1) / (n - k - 1))
    assert t["weight"].sum() == pytest.approx(1.0)
    assert res.best == t["aic"].idxmin() == "von_mises"
    assert t.loc["von_mises", "xi"] == pytest.approx(np.degrees(1.0), abs=8)
    assert set(res.estimate["value"].coords["parameter"].values) >= {"xi", "kappa", "lam"}
    assert res.estimate["log_likelihood"].attrs["units"].startswith("nats")
    assert res.metadata["method"] == "texture.OrientationModels"


def test_tic_loo_close_to_exact_loo():
    x = np.degrees(VonMises(1.0, 2.0).rvs(60, random_state=4))
    tic = fit_circular(x, "von_mises", loo="tic").loo
    exact = fit_circular(x, "von_mises", loo="exact").loo
    assert tic == pytest.approx(exact, abs=0.15)


def test_bootstrap_posterior():
    x = np.degrees(VonMises(1.0, 4.0).rvs(150, random_state=9))
    res = OrientationModels(models=["von_mises"], bootstrap=20, random_state=0).fit(x)
    post = res.posterior
    assert dict(post.sizes) == {"chain": 1, "draw": 20}
    sd = float(post["kappa"].std())
    assert sd == pytest.approx(res.fits["von_mises"].se["kappa"], rel=0.5)
    res2 = OrientationModels(models=["von_mises"], bootstrap=20, random_state=0).fit(x)
    np.testing.assert_array_equal(post["kappa"].values, res2.posterior["kappa"].values)


# ----------------------------------------------------------------------------------- goodness of fit
def test_gof_statistics_hand_values():
    u = np.array([0.1, 0.3, 0.5, 0.7, 0.9])
    v, _ = kuiper_test(u)
    assert v == pytest.approx(0.2)  # D+ = D- = 0.1
    u2, _ = watson_u2_test(u)
    # Σ(u_i − (2i−1)/(2n))² = 0, ū = 1/2: U² = 1/(12n)
    assert u2 == pytest.approx(1 / 60)


def test_gof_detects_wrong_model():
    x = VonMises(1.0, 3.0).rvs(400, random_state=12)
    assert watson_u2_test(VonMises(1.0, 3.0).cdf(x))[1] > 0.05
    assert watson_u2_test(UniformCircular().cdf(x))[1] < 1e-3


# ---------------------------------------------------------------------------------------- bad input
def test_bad_angles():
    with pytest.raises(InputError, match="within ±180 deg") as exc:
        check_angles(pd.Series([10, 20, 200, 30, 40], index=list("abcde")), axial=True, column="θ")
    assert "row 'c'" in str(exc.value) and "column 'θ'" in str(exc.value)
    with pytest.raises(InputError, match="unit right"):
        check_angles([1.0, 2.0, 30.0, 3.0, 4.0], unit="rad")
    with pytest.raises(InputError, match="at least 5"):
        fit_circular([10, 20, 30, 40], "von_mises")
    with pytest.raises(InputError, match="finite"):
        check_angles([10, np.nan, 20, 30, 40])
    with pytest.raises(InputError, match="finite"):
        check_angles(["10", "x", "20", "30", "40"])
    with pytest.raises(ModelError, match="unknown circular model"):
        fit_circular([10, 20, 30, 40, 50], "batschelet")
    with pytest.raises(ModelError, match="'criterion'"):
        OrientationModels(criterion="cv").fit([10, 20, 30, 40, 50])


@settings(max_examples=30, deadline=None)
@given(
    st.lists(st.floats(0, 179.999, allow_nan=False), min_size=5, max_size=30),
)
def test_check_angles_axial_doubling_property(values):
    x = check_angles(values, axial=True)
    assert np.all((x >= 0) & (x < TWO_PI))
    np.testing.assert_allclose(np.cos(x), np.cos(np.radians(2 * np.asarray(values))), atol=1e-12)
    # an axis and the same axis + 180° are the same line
    y = check_angles(np.asarray(values) - 180.0 + 1e-9 * 0, axial=True)
    np.testing.assert_allclose(np.cos(y), np.cos(x), atol=1e-9)


@settings(max_examples=25, deadline=None)
@given(
    st.floats(0.0, 20.0),
    st.floats(-1.0, 1.0),
    st.floats(-1.0, 1.0),
    st.floats(0.0, 6.28),
)
def test_ib_density_is_positive_and_cdf_monotone(kappa, nu, lam, xi):
    d = InverseBatschelet(xi, kappa, nu, lam)
    grid = np.linspace(0, TWO_PI, 200)
    assert np.all(d.pdf(grid) > 0)
    c = d.cdf(grid)
    assert np.all(np.diff(c) >= -1e-12)
    assert c[0] == pytest.approx(0.0, abs=1e-12)


def test_rose_diagram_is_labelled():
    import matplotlib

    matplotlib.use("Agg")
    x = np.degrees(VonMises(1.0, 3.0).rvs(100, random_state=1)) / 2
    res = OrientationModels(models=["uniform", "von_mises"], axial=True).fit(x)
    ax = res.plot()
    assert ax.get_xlabel() and "rad⁻¹" in ax.get_ylabel()
    assert len(ax.lines) == 1 and len(ax.patches) == 36
