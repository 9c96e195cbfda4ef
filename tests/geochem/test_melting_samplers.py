"""Melting inversion (issue 20): the k >= 1 constraint, the HMC move, modes and two-stage melting."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, stats

from petroinfer.errors import ModelError
from petroinfer.geochem import (
    MeltingInversion,
    batch_melting,
    bulk_partition_coefficient,
    fractional_melting,
    make_melting_data,
    two_stage_melting,
)

WH = "workman_hart_2005"
FAST = {"n_steps": 400, "n_burn": 300, "n_chains": 1, "warn": False}


# ------------------------------------------------------------------------------ k >= 1
def test_k_prior_is_a_normalised_truncation_at_one(melting_model_x0):
    data, truth = make_melting_data(6, random_state=0)
    assert truth["k"].min() >= 1.0
    mm, _ = melting_model_x0(data)
    kappa = np.array([-0.2, -1e-9, 0.0, 0.3])
    lp = mm.log_k_prior(kappa)
    assert np.isneginf(lp[:2]).all() and np.isfinite(lp[2:]).all()
    # density of log k ~ N(log 1.4, 0.3²) truncated to log k >= 0 integrates to one
    total, _ = integrate.quad(lambda t: np.exp(mm.log_k_prior(np.array([t])))[0], 0.0, 5.0)
    assert total == pytest.approx(1.0, abs=1e-8)
    draws = mm.prior_sample(np.random.default_rng(1), 20000)[:, mm.slices["kappa"]].ravel()
    assert draws.min() >= 0.0
    ref = stats.truncnorm(-np.log(1.4) / 0.3, np.inf, loc=np.log(1.4), scale=0.3)
    assert stats.kstest(draws[:5000], ref.cdf).pvalue > 1e-3
    # without the bound the generator and the prior allow k < 1
    _, free = make_melting_data(200, k_min=None, random_state=0)
    assert (free["k"] < 1).mean() > 0.05


def test_truncated_location_kernel_leaves_its_target_invariant(melting_model_x0):
    # Target: (c, κ) | u, σ under L^β π — a Gaussian (dense formula) restricted to κ >= 0. Start
    # replicas from exact target draws (rejection sampling), apply the kernel (joint proposal +
    # blockwise truncated draws + common shift) once: the output must have the same distribution.
    # k prior and truth close to the bound (median 1.05), so that the truncation matters
    data, _ = make_melting_data(3, elements=["La", "Sm", "Yb"], k_prior=(1.05, 0.1), random_state=4)
    mm, x0 = melting_model_x0(data, k_prior=(1.05, 0.1))
    x0[mm.slices["logsig"]] = np.log([0.05, 0.08, 0.1])
    n, p, beta = mm.n, mm.p, 0.7
    A = np.zeros((n * p, p + n))
    for j in range(n):
        for i in range(p):
            A[j * p + i, i] = A[j * p + i, p + j] = 1.0
    r = (mm.y - mm.log_g(x0[None])[0]).ravel()
    W = np.diag(np.tile(beta / np.exp(2 * x0[mm.slices["logsig"]]), n))
    m0 = np.r_[mm.log_ref, np.full(n, mm.k_mu)]
    V0inv = np.diag(np.r_[np.full(p, 1 / mm.source_sd**2), np.full(n, 1 / mm.k_sd**2)])
    cov = np.linalg.inv(V0inv + A.T @ W @ A)
    mean = cov @ (V0inv @ m0 + A.T @ W @ r)
    rng = np.random.default_rng(0)
    z = rng.multivariate_normal(mean, cov, size=400000)
    inside = (z[:, p:] >= 0).all(axis=1)
    assert 0.15 < inside.mean() < 0.8  # the bound cuts the conditional
    z = z[inside]
    assert len(z) >= 60000
    L = 30000
    x = np.tile(x0, (L, 1))
    x[:, mm.slices["c"]] = z[:L, :p]
    x[:, mm.slices["kappa"]] = z[:L, p:]
    mm._gibbs_location(x, np.full(L, beta), np.random.default_rng(1))
    out = np.c_[x[:, mm.slices["c"]], x[:, mm.slices["kappa"]]]
    ref = z[L : 2 * L]
    assert out[:, p:].min() >= 0.0
    se = np.sqrt(np.var(ref, axis=0) / L * 2)
    assert np.all(np.abs(out.mean(axis=0) - ref.mean(axis=0)) < 4.5 * se)
    np.testing.assert_allclose(np.cov(out.T), np.cov(ref.T), atol=0.04 * np.abs(cov).max())


def test_posterior_k_draws_respect_the_bound():
    data, _ = make_melting_data(6, k_prior=(1.05, 0.1), random_state=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = MeltingInversion(k_prior=(1.05, 0.1), random_state=0, **FAST).fit(data)
        free = MeltingInversion(k_prior=(1.05, 0.1), k_min=None, random_state=0, **FAST).fit(data)
    k = res.posterior["k"].values
    assert k.min() >= 1.0 and (k < 1.05).mean() > 0.1
    assert free.posterior["k"].values.min() < 1.0
    assert res.hyperparameters["k_min"] == 1.0


# ------------------------------------------------------------------------------ HMC
@pytest.mark.parametrize("model", ["batch", "fractional"])
@pytest.mark.parametrize("prior", ["normal", "sparse"])
def test_hmc_gradient_matches_finite_differences(model, prior, melting_model_x0):
    from petroinfer.geochem._melting_hmc import MeltingHMC

    data, _ = make_melting_data(4, model=model, random_state=3)
    mm, x0 = melting_model_x0(data, model, source_prior=prior)
    hmc = MeltingHMC(mm, x0)
    rng = np.random.default_rng(0)
    m = mm.slices["u"].stop
    x = np.tile(x0, (3, 1))
    x[:, :m] += 0.05 * rng.standard_normal((3, m))
    x[:, mm.slices["kappa"]] = np.abs(x[:, mm.slices["kappa"]]) + 0.01
    betas = np.array([1.0, 0.5, 0.1])
    _, g = hmc.log_target_and_grad(x, betas)
    h = 1e-6
    num = np.empty_like(g)
    for k in range(m):
        up, dn = x.copy(), x.copy()
        up[:, k] += h
        dn[:, k] -= h
        num[:, k] = hmc.log_target_and_grad(up, betas)[0] - hmc.log_target_and_grad(dn, betas)[0]
    num /= 2 * h
    np.testing.assert_allclose(g, num, rtol=1e-5, atol=1e-4)


def test_hmc_and_gibbs_remc_agree_on_one_dataset():
    # cross-check of the two samplers on the same posterior (8 samples, 14 elements); the ladder
    # is short (4 rungs), so the evidence is not compared here (see the docs for that check)
    data, _ = make_melting_data(8, F_range=(0.02, 0.2), random_state=7)
    kw = {"F_prior": "uniform", "F_bounds": (0.02, 0.2), "n_temps": 4, "n_steps": 500,
          "n_burn": 250, "n_chains": 1, "warn": False, "random_state": 0}  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gibbs = MeltingInversion(**kw).fit(data)
        hmc = MeltingInversion(sampler="hmc", **kw).fit(data)
    assert 0.4 < hmc.diagnostics["hmc_accept_rate"] < 0.99
    lf_g = np.log(gibbs.posterior["F"].values).reshape(-1, 8)
    lf_h = np.log(hmc.posterior["F"].values).reshape(-1, 8)
    sd = lf_g.std(axis=0)
    assert np.all(np.abs(lf_g.mean(axis=0) - lf_h.mean(axis=0)) < 0.5 * sd + 0.02)
    np.testing.assert_allclose(lf_h.std(axis=0), sd, rtol=0.5)
    lc_g = np.log(gibbs.posterior["C0"].values).reshape(-1, 14).mean(axis=0)
    lc_h = np.log(hmc.posterior["C0"].values).reshape(-1, 14).mean(axis=0)
    assert np.abs(lc_g - lc_h).max() < 0.05


def test_hmc_refuses_models_without_gradients():
    data, _ = make_melting_data(4, random_state=0)
    D2 = bulk_partition_coefficient("DMM")
    with pytest.raises(ModelError, match="hmc"):
        MeltingInversion("two_stage", partition_second=D2, sampler="hmc", **FAST).fit(data)
    with pytest.raises(ModelError, match="sampler"):
        MeltingInversion(sampler="nuts", **FAST).fit(data)


# ------------------------------------------------------------------------------ modes
GARNET_MODE = {"ol": 0.60, "opx": 0.20, "cpx": 0.10, "gt": 0.10}  # illustrative (test only)


def test_two_stage_garnet_to_spinel_with_mineral_modes():
    D_gt = bulk_partition_coefficient(GARNET_MODE)
    D_sp = bulk_partition_coefficient("DMM")
    # hand: Yb, D_gt = 0.6*0.020 + 0.2*0.080 + 0.1*0.400 + 0.1*6.6 = 0.728
    #           D_sp = 0.57*0.020 + 0.28*0.080 + 0.13*0.400 + 0.02*0.01 = 0.086
    assert D_gt["Yb"] == pytest.approx(0.728) and D_sp["Yb"] == pytest.approx(0.086)
    F, Ft, c0 = 0.10, 0.04, 0.365
    r1 = (1 - Ft) ** (1 / 0.728 - 1)
    a1 = (1 - (1 - Ft) ** (1 / 0.728)) / Ft
    F2 = (F - Ft) / (1 - Ft)
    a2 = (1 - (1 - F2) ** (1 / 0.086)) / F2
    hand = c0 * (Ft * a1 + (F - Ft) * r1 * a2) / F
    got = two_stage_melting("DMM", D_gt, D_sp, F, Ft, elements=["La", "Yb"])
    assert got["Yb"] == pytest.approx(hand, rel=1e-12)
    # garnet holds back the HREE: Yb lower than spinel-only melting, La nearly unchanged
    sp_only = fractional_melting("DMM", D_sp, F, elements=["La", "Yb"])
    assert got["Yb"] < 0.8 * sp_only["Yb"]
    assert got["La"] == pytest.approx(sp_only["La"], rel=0.05)


def test_non_modal_batch_from_a_melting_mode():
    # P from a melting mode (illustrative reaction coefficients, cpx-dominated), D0 from DMM:
    # C_L = C0 / (D0 + F (1 - P)), Sm: D0 = 0.044517, P = 0.1*0.0011 + 0.2*0.0200 + 0.7*0.293
    P = bulk_partition_coefficient({"ol": 0.1, "opx": 0.2, "cpx": 0.7})
    D0 = bulk_partition_coefficient("DMM")
    P_sm = 0.1 * 0.0011 + 0.2 * 0.0200 + 0.7 * 0.293
    assert P["Sm"] == pytest.approx(P_sm)
    got = batch_melting("DMM", D0, 0.08, P=P, elements=["Sm"])["Sm"]
    assert got == pytest.approx(0.239 / (0.044517 + 0.08 * (1 - P_sm)), rel=1e-6)
    modal = batch_melting("DMM", D0, 0.08, elements=["Sm"])["Sm"]
    assert got > modal  # cpx melting out first releases Sm faster


def test_inversion_with_bulk_D_from_modes_recovers_F():
    D = bulk_partition_coefficient("DMM")
    data, truth = make_melting_data(10, partition=D, source_sd=0.1, random_state=5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = MeltingInversion(partition=D, random_state=0, **FAST).fit(data)
    md = res.melting_degree()
    assert np.median(np.abs(md.F / truth["F"] - 1)) < 0.2
    assert isinstance(res.source(), pd.DataFrame)
