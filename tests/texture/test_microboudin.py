"""Microboudin palaeopiezometer: transfer laws, probabilities, likelihood, selection, intervals.

Truth: hand calculations of the shear-lag and strength laws, finite differences, brute-force refits,
an independent profile computation, and synthetic data from the forward model with fixed seeds
(imaging_texture.md §E.3 acceptance (i)–(iv)).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import optimize, stats

from petroinfer.errors import InputError, ModelError
from petroinfer.texture import (
    MicroboudinModel,
    MicroboudinModels,
    check_microboudin_data,
    cox_elastic_transfer,
    default_microboudin_models,
    kelly_tyson_transfer,
    microboudin_power,
    simulate_microboudins,
    viscous_transfer,
)
from petroinfer.texture.microboudin import _exact_loo, _fit_model, _loglik, _optimise


# ------------------------------------------------------------------------------------ forward model
def test_transfer_laws_hand_values():
    assert float(viscous_transfer(4.0, c=3.0, ln_rho=2.0)) == pytest.approx(16 / 6)
    assert float(kelly_tyson_transfer(7.5)) == 7.5
    # Cox: small nR → (E_f/E_m) (nR)²/2; large nR → E_f/E_m; sech(1) by hand
    assert float(cox_elastic_transfer(1.0, n=0.01, modulus_ratio=3.0)) == pytest.approx(
        3.0 * 0.01**2 / 2, rel=1e-4
    )
    assert float(cox_elastic_transfer(50.0, n=1.0, modulus_ratio=3.0)) == pytest.approx(3.0)
    assert float(cox_elastic_transfer(2.0, n=0.5)) == pytest.approx(1 - 1 / math.cosh(1.0))


def test_probabilities_hand_values():
    m = MicroboudinModel("kelly_tyson", "weibull")
    # P = 1 - exp(-(r R)^w): r R = 1.2, w = 3
    assert float(m.probability(4.0, {"r": 0.3, "w": 3.0})) == pytest.approx(1 - math.exp(-(1.2**3)))
    ms = MicroboudinModel("kelly_tyson", "weibull", size_effect=True, reference_aspect=2.0)
    assert float(ms.probability(4.0, {"r": 0.3, "w": 3.0})) == pytest.approx(
        1 - math.exp(-2.0 * 1.2**3)
    )
    mn = MicroboudinModel("kelly_tyson", "normal")
    assert float(mn.probability(4.0, {"r": 0.3, "cv": 0.1})) == pytest.approx(stats.norm.cdf(2.0))
    mt = MicroboudinModel("kelly_tyson", "threshold")
    np.testing.assert_allclose(mt.probability([3.0, 3.4], {"r": 0.3, "eps": 0.05}), [0.05, 0.95])
    lp, _lq = m.log_probabilities(np.array([1.0, 1e-30 ** (1 / 3)]), {"r": 1e-12, "w": 3.0})
    assert np.all(np.isfinite(lp)) and lp[0] == pytest.approx(3 * math.log(1e-12), rel=1e-9)


@pytest.mark.parametrize(
    "model",
    [
        MicroboudinModel("cox_elastic", "weibull", n=None),
        MicroboudinModel("viscous", "weibull"),
        MicroboudinModel("cox_elastic", "normal", n=None),
        MicroboudinModel("kelly_tyson", "weibull", size_effect=True),
    ],
)
def test_loglik_gradient(model):
    df = simulate_microboudins("elastic", 80, random_state=1)
    R, k, m = check_microboudin_data(df)
    z = np.array([math.log(0.3), math.log(2.0), math.log(0.7)])[: len(model.param_names)]
    _, g = _loglik(model, z, R, k, m, grad=True)
    num = optimize.approx_fprime(z, lambda v: _loglik(model, v, R, k, m), 1e-7)
    np.testing.assert_allclose(g, num, rtol=1e-5, atol=1e-4)


def test_binned_equals_per_grain_up_to_binomial_constant():
    rng = np.random.default_rng(0)
    R = np.repeat([2.0, 3.0, 4.0, 6.0], [10, 12, 9, 7])
    y = (rng.random(R.size) < np.repeat([0.1, 0.3, 0.6, 0.9], [10, 12, 9, 7])).astype(int)
    grains = pd.DataFrame({"aspect_ratio": R, "boudinaged": y})
    g = grains.groupby("aspect_ratio")["boudinaged"]
    binned = pd.DataFrame({"n_boudinaged": g.sum(), "n_grains": g.size()}).reset_index()
    mdl = {"v": MicroboudinModel("viscous")}
    a = MicroboudinModels(mdl, loo=True).fit(grains).fits["v"]
    b = MicroboudinModels(mdl, loo=True).fit(binned).fits["v"]
    const = sum(
        math.log(math.comb(int(n), int(k)))
        for k, n in zip(binned["n_boudinaged"], binned["n_grains"], strict=True)
    )
    assert b.log_likelihood - a.log_likelihood == pytest.approx(const, abs=1e-6)
    assert a.estimates["r"] == pytest.approx(b.estimates["r"], rel=1e-5)
    assert a.loo == pytest.approx(b.loo, abs=1e-5)


# ------------------------------------------------------------------------------ fitting and intervals
def test_exact_loo_matches_brute_force():
    # w = 2: overlapping classes (a separable sample makes the held-out prediction ill-posed)
    df = simulate_microboudins("viscous", 40, w=2.0, random_state=3)
    R, k, m = check_microboudin_data(df)
    model = default_microboudin_models()["viscous"]
    fit = _fit_model("viscous", model, R, k, m, 0.95)
    total = 0.0
    for i in range(R.size):
        keep = np.arange(R.size) != i
        z, _, _ = _optimise(model, R[keep], k[keep], m[keep], np.log([fit.estimates["r"], 2.0]))
        lp, lq = model.log_probabilities(R[i : i + 1], {"r": math.exp(z[0]), "w": math.exp(z[1])})
        total += float(lp[0] if k[i] else lq[0])
    assert _exact_loo(fit, R, k, m) == pytest.approx(total, abs=1e-5)


def test_profile_interval_ends_by_independent_profile():
    df = simulate_microboudins("elastic", 200, random_state=5)
    res = MicroboudinModels(loo=False).fit(df)
    fit = res.fits["elastic"]
    R, k, m = check_microboudin_data(df)
    model = fit.model

    def prof(r):  # maximise over log w by a bounded 1-D search, written here independently
        out = optimize.minimize_scalar(
            lambda lw: -_loglik(model, np.array([math.log(r), lw]), R, k, m),
            bounds=model.bounds_log["w"],
            method="bounded",
            options={"xatol": 1e-10},
        )
        return -out.fun

    target = fit.log_likelihood - 0.5 * stats.chi2.ppf(0.95, 1)
    for end in fit.r_interval:
        assert prof(end) == pytest.approx(target, abs=2e-3)
    assert fit.r_interval[0] < fit.estimates["r"] < fit.r_interval[1]


def test_absolute_stress():
    df = simulate_microboudins("viscous", 150, random_state=2)
    plain = MicroboudinModels(loo=False).fit(df).table
    exact = MicroboudinModels(loo=False, strength_scale=40.0).fit(df).table
    assert exact.loc["viscous", "sigma0"] == pytest.approx(40 * plain.loc["viscous", "r"])
    assert exact.loc["viscous", "sigma0_lower"] == pytest.approx(
        40 * plain.loc["viscous", "r_lower"]
    )
    wide = MicroboudinModels(loo=False, strength_scale=40.0, strength_sd=8.0).fit(df).table
    assert wide.loc["viscous", "sigma0_upper"] > exact.loc["viscous", "sigma0_upper"]
    # log-scale quadrature by hand: upper = σ exp(√(h² + (1.96·0.2)²))
    h = math.log(plain.loc["viscous", "r_upper"] / plain.loc["viscous", "r"])
    z = stats.norm.ppf(0.975)
    assert wide.loc["viscous", "sigma0_upper"] == pytest.approx(
        exact.loc["viscous", "sigma0"] * math.exp(math.hypot(h, z * 0.2)), rel=1e-9
    )


def test_threshold_critical_aspect_ratio_within_5_percent():
    """(iii): w → ∞; the threshold fit recovers R_c = g⁻¹(1/r) within ±5 % with 300 grains."""
    mdl = MicroboudinModel("cox_elastic", "threshold", n=0.3, modulus_ratio=2.0)
    rc_true = 5.0
    r = 1.0 / float(mdl.g(rc_true))
    df = simulate_microboudins(mdl, 300, r=r, random_state=4)
    res = MicroboudinModels({"thr": mdl}, loo=True).fit(df)
    fit = res.fits["thr"]
    assert fit.critical_aspect_ratio == pytest.approx(rc_true, rel=0.05)
    assert fit.estimates["eps"] == pytest.approx(1e-6)
    assert fit.r_interval[0] <= r <= fit.r_interval[1]


# -------------------------------------------------------------------------------- selection (§E.3)
@pytest.mark.parametrize("true", ["elastic", "viscous"])
def test_true_model_chosen_at_sufficient_sample_size(true):
    """(i): n = 1, 300 grains, P(5) = 1/2 — where the power analysis gives ≥ 0.85 for both models.

    6 seeds per model, at least 5 correct."""
    wins, covered = 0, 0
    for seed in range(6):
        df = simulate_microboudins(true, 300, random_state=100 + seed)
        res = MicroboudinModels(loo=False).fit(df)
        wins += res.best == true
        lo, hi = res.fits[true].r_interval
        covered += lo <= df.attrs["r"] <= hi
    assert wins >= 5
    assert covered >= 5


def test_weak_saturation_is_not_over_claimed():
    """(iv): n·median R = 1 — the average |ΔAIC| stays below 2."""
    tab = microboudin_power([300], shear_lag=0.2, n_rep=4, random_state=1)
    assert tab["mean_delta_aic"].abs().max() < 2.0


@pytest.mark.slow
def test_profile_interval_coverage():
    """(ii): 95 % profile intervals of r cover the truth in ≥ 90 % of replicates (both models)."""
    rng = np.random.default_rng(11)
    for true, model in default_microboudin_models().items():
        hits = 0
        for _ in range(30):
            df = simulate_microboudins(true, 300, random_state=rng)
            R, k, m = check_microboudin_data(df)
            lo, hi = _fit_model(true, model, R, k, m, 0.95).r_interval
            hits += lo <= df.attrs["r"] <= hi
        assert hits >= 27, (true, hits)


# ---------------------------------------------------------------------------------------- bad input
def test_bad_microboudin_input():
    good = {"aspect_ratio": [2, 3, 4, 5, 6], "boudinaged": [0, 0, 1, 1, 1]}
    with pytest.raises(InputError, match="≥ 1") as exc:
        check_microboudin_data({**good, "aspect_ratio": [2, 0.5, 4, 5, 6]})
    assert "row 1" in str(exc.value) and "'aspect_ratio'" in str(exc.value)
    with pytest.raises(InputError, match="at least 5 grains"):
        check_microboudin_data({"aspect_ratio": [2, 3, 4, 5], "boudinaged": [0, 0, 1, 1]})
    with pytest.raises(InputError, match="0 \\(intact\\) or 1"):
        check_microboudin_data({**good, "boudinaged": [0, 2, 1, 1, 1]})
    with pytest.raises(InputError, match="expected a number"):
        check_microboudin_data({**good, "aspect_ratio": [2, "x", 4, 5, 6]})
    with pytest.raises(InputError, match="'aspect_ratio'"):
        check_microboudin_data({"length": [1, 2, 3, 4, 5], "boudinaged": [0] * 5})
    with pytest.raises(InputError, match="exceeds"):
        check_microboudin_data({"aspect_ratio": [2, 3], "n_boudinaged": [1, 5], "n_grains": [4, 4]})
    with pytest.raises(ModelError, match="'transfer'"):
        MicroboudinModel("plastic")
    with pytest.raises(ModelError, match="'criterion'"):
        MicroboudinModels(criterion="cv").fit(good)
