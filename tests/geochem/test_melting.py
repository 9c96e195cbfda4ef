"""Melting forward models (Shaw 1970) and the hierarchical Bayesian MORB inversion (issue 20)."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from petroinfer.composition import reference_composition
from petroinfer.errors import InputError, ModelError
from petroinfer.geochem import (
    MeltingInversion,
    batch_melting,
    bulk_partition_coefficient,
    fit_melting_degree,
    fractional_melting,
    make_melting_data,
    two_stage_melting,
)

WH = "workman_hart_2005"
DMM = {"La": 0.192, "Sm": 0.239, "Yb": 0.365}  # Workman & Hart (2005), ppm
D_WH = {"La": 0.010, "Sm": 0.045, "Yb": 0.115}
FAST = {"n_steps": 500, "n_burn": 400, "n_chains": 1, "warn": False}


# ------------------------------------------------------------------------------ forward: hand values
@pytest.mark.parametrize("el", ["La", "Sm", "Yb"])
def test_batch_melting_of_dmm_at_F10_matches_hand_calculation(el):
    # C_L = C0 / (D + F (1 - D)); La: 0.192 / (0.010 + 0.1 * 0.99) = 1.761468
    hand = {"La": 1.761468, "Sm": 1.701068, "Yb": 1.793612}[el]
    formula = DMM[el] / (D_WH[el] + 0.1 * (1 - D_WH[el]))
    got = float(batch_melting("DMM", WH, 0.10, elements=[el])[el])
    assert got == pytest.approx(formula, abs=1e-10)
    assert got == pytest.approx(hand, abs=1e-4)


@pytest.mark.parametrize("el", ["La", "Sm", "Yb"])
def test_aggregated_fractional_melting_of_dmm_at_F10_matches_hand_calculation(el):
    # C̄_L = C0 / F (1 - (1 - F)^(1/D)); Sm: 2.39 * (1 - 0.9^22.22) = 2.160086
    hand = {"La": 1.919949, "Sm": 2.160086, "Yb": 2.189836}[el]
    formula = DMM[el] / 0.1 * (1 - 0.9 ** (1 / D_WH[el]))
    got = float(fractional_melting("DMM", WH, 0.10, elements=[el])[el])
    assert got == pytest.approx(formula, abs=1e-10)
    assert got == pytest.approx(hand, abs=1e-4)


def test_instantaneous_fractional_is_derivative_of_extracted_mass():
    # d(F C̄_L)/dF = C_L(instantaneous): an independent check of the two formulas
    c0 = pd.Series(DMM)
    D = pd.Series(D_WH)
    F, h = 0.08, 1e-6
    up = fractional_melting(c0, D, F + h) * (F + h)
    dn = fractional_melting(c0, D, F - h) * (F - h)
    inst = fractional_melting(c0, D, F, kind="instantaneous")
    np.testing.assert_allclose(((up - dn) / (2 * h)).to_numpy(), inst.to_numpy(), rtol=1e-6)


@settings(max_examples=60, deadline=None)
@given(
    D=st.floats(1e-4, 5.0),
    F=st.floats(0.0, 0.9),
    ratio=st.floats(0.2, 3.0),
    Ft=st.floats(0.0, 0.5),
)
def test_melt_plus_residue_balances_the_source(D, F, ratio, Ft):
    c0 = pd.Series({"X": 2.0})
    Ds = pd.Series({"X": D})
    for res, melt in [
        (
            batch_melting(c0, Ds, F, residue=True),
            batch_melting(c0, Ds, F),
        ),
        (
            fractional_melting(c0, Ds, F, kind="residue"),
            fractional_melting(c0, Ds, F),
        ),
        (
            two_stage_melting(c0, Ds, Ds * ratio, F, Ft, kind="residue"),
            two_stage_melting(c0, Ds, Ds * ratio, F, Ft),
        ),
    ]:
        assert F * melt["X"] + (1 - F) * res["X"] == pytest.approx(2.0, rel=1e-9)
    # non-modal, melting mode P < D0 so that the host phases are not exhausted
    P = pd.Series({"X": D * ratio})
    if F * D * ratio < D:
        res = fractional_melting(c0, Ds, F, P=P, kind="residue")["X"]
        melt = fractional_melting(c0, Ds, F, P=P)["X"]
        assert F * melt + (1 - F) * res == pytest.approx(2.0, rel=1e-9)
    res = batch_melting(c0, Ds, F, P=P, residue=True)["X"]
    assert F * batch_melting(c0, Ds, F, P=P)["X"] + (1 - F) * res == pytest.approx(2.0)


def test_modal_batch_residue_is_D_times_melt_and_nonmodal_reduces_to_modal():
    melt = batch_melting("DMM", WH, 0.1, elements=["La", "Yb"])
    res = batch_melting("DMM", WH, 0.1, elements=["La", "Yb"], residue=True)
    np.testing.assert_allclose(res.to_numpy(), melt.to_numpy() * [0.010, 0.115], rtol=1e-12)
    D = pd.Series(D_WH)
    for kind in ("aggregated", "instantaneous", "residue"):
        a = fractional_melting(pd.Series(DMM), D, 0.07, P=D, kind=kind)
        b = fractional_melting(pd.Series(DMM), D, 0.07, kind=kind)
        np.testing.assert_allclose(a.to_numpy(), b.to_numpy(), rtol=1e-12)


def test_two_stage_reduces_to_one_stage_and_switches_D():
    c0, D = pd.Series(DMM), pd.Series(D_WH)
    same = two_stage_melting(c0, D, D, 0.12, 0.05)
    np.testing.assert_allclose(same.to_numpy(), fractional_melting(c0, D, 0.12).to_numpy())
    early = two_stage_melting(c0, D * 3, D, 0.04, 0.05)
    np.testing.assert_allclose(early.to_numpy(), fractional_melting(c0, D * 3, 0.04).to_numpy())
    # hand calculation, Yb: D1 = 0.345 (garnet-like), D2 = 0.115, F_t = 0.05, F = 0.12
    D1, D2, Ft, F = 0.345, 0.115, 0.05, 0.12
    r1 = (1 - Ft) ** (1 / D1 - 1)
    a1 = (1 - (1 - Ft) ** (1 / D1)) / Ft
    F2 = (F - Ft) / (1 - Ft)
    a2 = (1 - (1 - F2) ** (1 / D2)) / F2
    hand = 0.365 * (Ft * a1 + (F - Ft) * r1 * a2) / F
    got = two_stage_melting(c0, D * 3, D, F, Ft)["Yb"]
    assert got == pytest.approx(hand, rel=1e-12)


def test_vector_F_gives_a_table_and_bulk_D_from_modes():
    table = batch_melting("DMM", WH, np.array([0.05, 0.1]), elements=["La", "Yb"])
    assert table.shape == (2, 2) and table.index.name == "F"
    kd = pd.DataFrame({"La": [0.0005, 0.054], "Yb": [0.02, 0.4]}, index=["ol", "cpx"])
    D = bulk_partition_coefficient({"ol": 0.8, "cpx": 0.2}, kd)
    assert D["La"] == pytest.approx(0.8 * 0.0005 + 0.2 * 0.054)
    assert D["Yb"] == pytest.approx(0.8 * 0.02 + 0.2 * 0.4)


# ------------------------------------------------------------------------------ least squares (N-MORB)
NMORB_10 = ["La", "Ce", "Nd", "Sm", "Yb", "Lu", "Nb", "Th", "Zr", "Y"]


def test_nmorb_least_squares_fit_regression_values():
    # geochem notes §F.3 [C]: 10 elements in all three tables, common enrichment k.
    nmorb = reference_composition("N-MORB")
    b = fit_melting_degree(nmorb, model="batch", elements=NMORB_10)
    f = fit_melting_degree(nmorb, model="fractional", elements=NMORB_10)
    assert (b.F, b.k, b.rms) == pytest.approx((0.046337, 1.354989, 0.074908), abs=1e-4)
    assert (f.F, f.k, f.rms) == pytest.approx((0.044115, 1.115459, 0.099819), abs=1e-4)
    assert b.rms < f.rms  # batch fits better (notes §F.3)
    worst = f.residuals.abs().sort_values().index[-2:]
    assert set(worst) == {"Th", "La"}
    assert f.residuals["Th"] > 0 > f.residuals["La"]


def test_least_squares_recovers_noise_free_truth():
    melt = batch_melting("DMM", WH, 0.063, elements=NMORB_10) * 1.7
    fit = fit_melting_degree(melt, model="batch")
    assert fit.F == pytest.approx(0.063, rel=1e-5)
    assert fit.k == pytest.approx(1.7, rel=1e-5)
    assert fit.rms < 1e-6


# ------------------------------------------------------------------------------ bad input
def test_bad_input_is_refused_with_clear_errors():
    data, _ = make_melting_data(4, random_state=0)
    bad = data.copy()
    bad.iloc[2, 3] = 0.0
    with pytest.raises(InputError, match="zero") as exc:
        MeltingInversion(**FAST).fit(bad)
    assert "M03" in str(exc.value) and "Ce" in str(exc.value)
    bad.iloc[2, 3] = -1.0
    with pytest.raises(InputError, match="negative"):
        MeltingInversion(**FAST).fit(bad)
    with pytest.raises(InputError, match="Li"):
        MeltingInversion(**FAST).fit(data.assign(Li=5.0))  # no partition coefficient for Li
    with pytest.raises(ModelError, match="inverted"):
        MeltingInversion(F_bounds=(0.3, 0.01), **FAST).fit(data)
    with pytest.raises(ModelError, match="inverted"):
        fit_melting_degree(data.iloc[0], F_bounds=(0.3, 0.01))
    with pytest.raises(InputError, match="melt fraction"):
        batch_melting("DMM", WH, 1.2, elements=["La"])
    with pytest.raises(InputError, match="positive"):
        batch_melting(pd.Series({"La": -0.1}), WH, 0.1)
    with pytest.raises(ModelError, match="partition_second"):
        MeltingInversion("two_stage", **FAST).fit(data)
    with pytest.raises(ModelError, match="model"):
        MeltingInversion("eclogite", **FAST).fit(data)


# ------------------------------------------------------------------------------ Gibbs block exactness
def test_gibbs_location_block_matches_dense_gaussian_conditional():
    from petroinfer.geochem._melting_inputs import resolve_D, resolve_source
    from petroinfer.geochem._melting_run import _initial, build_model

    # k_min=None: the joint block is then exactly the untruncated Gaussian full conditional (the
    # truncated kernel of the default k >= 1 is tested in test_melting_samplers.py)
    data, _ = make_melting_data(4, elements=["La", "Sm", "Yb"], random_state=3)
    inv = MeltingInversion(k_min=None)
    els = list(data.columns)
    mm = build_model(
        inv, "batch", data, resolve_source("DMM", els), resolve_D(WH, els), None,
        (0.001, 0.4), inv._prior_numbers(0.001, 0.4),
    )  # fmt: skip
    x0 = _initial(mm)
    x0[mm.slices["logsig"]] = np.log([0.05, 0.08, 0.1])
    L, beta = 40000, 0.7
    x = np.tile(x0, (L, 1))
    mm._gibbs_location(x, np.full(L, beta), np.random.default_rng(0))
    draws = np.c_[x[:, mm.slices["c"]], x[:, mm.slices["kappa"]]]
    # dense conditional: prior N(m0, V0), observations r_ij = c_i + κ_j + e, e ~ N(0, σ_i²/β)
    n, p = mm.n, mm.p
    A = np.zeros((n * p, p + n))
    for j in range(n):
        for i in range(p):
            A[j * p + i, i] = 1.0
            A[j * p + i, p + j] = 1.0
    r = (mm.y - mm.log_g(x0[None])[0]).ravel()
    W = np.diag(np.tile(beta / np.exp(2 * x0[mm.slices["logsig"]]), n))
    m0 = np.r_[mm.log_ref, np.full(n, mm.k_mu)]
    V0inv = np.diag(np.r_[np.full(p, 1 / mm.source_sd**2), np.full(n, 1 / mm.k_sd**2)])
    cov = np.linalg.inv(V0inv + A.T @ W @ A)
    mean = cov @ (V0inv @ m0 + A.T @ W @ r)
    assert np.all(np.abs(draws.mean(axis=0) - mean) < 4 * np.sqrt(np.diag(cov) / L) + 1e-4)
    np.testing.assert_allclose(np.cov(draws.T), cov, atol=0.03 * np.abs(cov).max())


# ------------------------------------------------------------------------------ inversion
@pytest.fixture(scope="module")
def synthetic_batch():
    return make_melting_data(20, model="batch", noise=0.05, random_state=11)


@pytest.fixture(scope="module")
def batch_fit(synthetic_batch):
    data, _ = synthetic_batch
    return MeltingInversion("batch", random_state=1, **FAST).fit(data)


def test_synthetic_recovery_of_F_and_source(synthetic_batch, batch_fit):
    _, truth = synthetic_batch
    md, src = batch_fit.melting_degree(), batch_fit.source()
    assert list(md.columns) == ["sample", "F", "F_q05", "F_q95"]
    assert list(src.columns) == ["element", "C0", "C0_q05", "C0_q95"]
    cover_F = np.mean((md.F_q05 <= truth["F"]) & (truth["F"] <= md.F_q95))
    c0 = truth["C0"].to_numpy()
    cover_C = np.mean((src.C0_q05 <= c0) & (c0 <= src.C0_q95))
    assert cover_F >= 0.8 and cover_C >= 0.7
    assert np.median(np.abs(md.F / truth["F"] - 1)) < 0.15
    assert batch_fit.diagnostics["rms_log_misfit"] < 0.06
    # the C0–F trade-off: positive for the most incompatible elements, weaker for the HREE
    corr = batch_fit.estimate["corr_C0_F"].to_series()
    assert corr["Th"] > 0.2 and corr["Th"] > corr["Lu"]
    assert batch_fit.estimate["F"].attrs["units"] == "1"
    assert batch_fit.estimate["C0"].attrs["units"] == "ppm"


def test_generating_model_wins_by_evidence(synthetic_batch, batch_fit):
    data, _ = synthetic_batch
    frac = MeltingInversion("fractional", random_state=1, **FAST).fit(data)
    assert batch_fit.log_evidence - frac.log_evidence > 5.0
    assert batch_fit.log_evidence_se < 2.5 and frac.log_evidence_se < 2.5


def test_auto_model_choice_on_fractional_data_and_result_io(tmp_path):
    data, _ = make_melting_data(10, model="fractional", random_state=5)
    res = MeltingInversion("auto", random_state=2, **FAST).fit(data)
    table = res.evidence_table()
    assert res.hyperparameters["model"] == "fractional" == table["model"].iloc[0]
    assert table["log_evidence"].iloc[0] - table["log_evidence"].iloc[1] > 3.0
    path = tmp_path / "melting.nc"
    res.to_netcdf(path)
    back = type(res).from_netcdf(path)
    np.testing.assert_allclose(back.estimate["F"].values, res.estimate["F"].values)
    import matplotlib.pyplot as plt

    for kind in ("spider", "source", "degeneracy"):
        ax = res.plot(kind=kind)
        assert ax.get_ylabel() and ax.get_xlabel()
        plt.close(ax.figure)


def test_sparse_source_prior_finds_three_enriched_elements():
    enriched = ["Th", "Nb", "Zr"]
    data, _ = make_melting_data(20, source_sd=0.0, enriched=enriched, enrichment=3.0,
                                random_state=21)  # fmt: skip
    res = MeltingInversion(source_prior="sparse", random_state=3, **FAST).fit(data)
    incl = res.source().set_index("element")["inclusion_probability"]
    assert (incl[enriched] > 0.8).all(), incl
    assert (incl.drop(enriched) < 0.2).all(), incl


def test_nmorb_fit_with_dmm_reports_F_k_misfit_and_degeneracy():
    nmorb = reference_composition("N-MORB")[NMORB_10].to_frame("N-MORB").T
    res = MeltingInversion(noise=0.1, random_state=0, **FAST).fit(nmorb)
    F = float(res.estimate["F"].values[0])
    k = float(res.estimate["k"].values[0])
    assert 0.01 < F < 0.2 and 0.7 < k < 3.0
    assert res.diagnostics["rms_log_misfit"] < 0.2
    # with one sample, C0 and F trade off: incompatible La strongly correlated with F
    assert res.estimate["corr_C0_F"].to_series()["La"] > 0.3


def test_same_seed_same_result():
    data, _ = make_melting_data(3, elements=["La", "Sm", "Yb", "Lu"], random_state=0)
    kw = {"n_steps": 50, "n_burn": 20, "n_chains": 1, "n_temps": 4, "ladder": "geometric",
          "beta_min": 0.01, "warn": False, "random_state": 7}  # fmt: skip
    a = MeltingInversion(**kw).fit(data)
    b = MeltingInversion(**kw).fit(data)
    np.testing.assert_array_equal(a.posterior["F"].values, b.posterior["F"].values)


# ------------------------------------------------------------------------------ calibration (slow)
@pytest.mark.slow
def test_posterior_intervals_are_calibrated_over_repeated_datasets():
    # 20 samples, F uniform in 2-20 %, 5 % noise, source = DMM × lognormal(0.3), k lognormal(1.4,
    # 0.3) truncated at k >= 1: data drawn from the prior of the fitted model (F_prior="uniform" on
    # the same bounds, k_min=1), so nominal 90 % intervals must cover the truth ~90 % of the time
    # (simulation-based calibration). 50 datasets; coverage pooled over samples (F_j, k_j) and
    # elements (C0_i). The C0 errors of one dataset share a common mode (the C0-k scale is set by
    # the priors), so a dataset's C0 intervals tend to cover or miss together: the C0 estimate has
    # SD ~ sqrt(0.09/50) ~ 0.042 (cluster bootstrap over datasets), F and k ~ 0.013.
    # Replica exchange on a fixed 4-rung ladder [0, 0.1, 0.32, 1] (the evidence is not needed here;
    # an adaptive ladder grows to ~10 rungs since the round-4 sigma-draw fix), 500 + 250 sweeps, so
    # that 50 datasets fit in about the time 40 took before (measured F 0.899, C0 0.870, k 0.911,
    # SD(C0) 0.041; 60 datasets: 0.895, 0.865, 0.909, SD 0.037).
    hits = {"F": [], "C0": [], "k": []}
    per_dataset_C0 = []
    kw = {"F_prior": "uniform", "F_bounds": (0.02, 0.2), "n_steps": 500, "n_burn": 250,
          "n_temps": 4, "ladder": "geometric", "beta_min": 0.1, "n_chains": 1,
          "warn": False}  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for seed in range(50):
            data, truth = make_melting_data(20, F_range=(0.02, 0.2), random_state=100 + seed)
            res = MeltingInversion(random_state=seed, **kw).fit(data)
            est = res.estimate
            for name, true in (
                ("F", truth["F"]),
                ("C0", truth["C0"].to_numpy()),
                ("k", truth["k"]),
            ):
                lo, hi = est[f"{name}_q05"].values, est[f"{name}_q95"].values
                hits[name] += list((lo <= true) & (true <= hi))
            per_dataset_C0.append(np.mean(hits["C0"][-14:]))
    cover = {name: float(np.mean(h)) for name, h in hits.items()}
    sd_C0 = float(np.std(per_dataset_C0) / np.sqrt(len(per_dataset_C0)))
    print(f"coverage of 90 % intervals over 50 datasets: {cover}, SD(C0) {sd_C0:.3f}")
    assert 0.85 <= cover["F"] <= 0.97, cover
    assert 0.85 <= cover["C0"] <= 0.97, cover
    assert 0.85 <= cover["k"] <= 0.97, cover
    assert math.isfinite(sd_C0) and sd_C0 < 0.05
