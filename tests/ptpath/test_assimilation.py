"""P–T–t assimilation of diffusion-modified garnet zoning (ptpath.assimilation): I1 and bad input."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from petroinfer.errors import DataQualityWarning, InputError, ModelError
from petroinfer.ptpath import (
    AssimilationResult,
    DiffusionAssimilation,
    ExponentialCooling,
    LinearCooling,
    NodePath,
    clockwise_loop,
    synthetic_garnet_profiles,
)

SMALL = dict(n_cells=12, n_nodes=5, n_ensemble=60, n_assimilations=3)


def _coverage(res, truth):
    ht = res.history_table()
    tr = truth["history"]
    keep = ht["time_Myr"] <= tr["time_Myr"].iloc[-1]
    T_true = np.interp(ht["time_Myr"][keep], tr["time_Myr"], tr["T_C"])
    inside = (ht["T_C_q05"][keep] <= T_true) & (T_true <= ht["T_C_q95"][keep])
    return float(inside.mean())


def _fit(seed, **kw):
    prof, truth = synthetic_garnet_profiles(
        random_state=seed, n_cells=kw.get("n_cells", 12), n_points=15
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        res = DiffusionAssimilation(**{**SMALL, **kw}, random_state=seed + 100).fit(prof)
    return res, truth


def test_single_recovery_reports_bands_durations_and_tradeoff():
    res, truth = _fit(0)
    assert isinstance(res, AssimilationResult)
    ht = res.history_table()
    assert list(ht.columns) == [
        "time_Myr",
        "T_C",
        "T_C_q05",
        "T_C_q95",
        "P_kbar",
        "P_kbar_q05",
        "P_kbar_q95",
    ]
    assert res.estimate["T_C"].attrs["units"] == "degC"
    # growth-zoning pins the prograde path: T at 2 Myr within 30 K of the truth (580 °C)
    assert np.interp(2.0, ht["time_Myr"], ht["T_C"]) == pytest.approx(580.0, abs=30.0)
    assert _coverage(res, truth) >= 0.6
    d = res.durations
    assert d.loc["peak_T_C", "q05"] < 660.0 + 25 and d.loc["peak_T_C", "q95"] > 660.0 - 25
    assert res.hyperparameters["smoothness"] == "evidence"
    assert res.hyperparameters["T_step_sd_chosen"] in (20.0, 40.0, 80.0)
    assert res.criterion.sizes["candidate"] == 3
    ident = res.identifiability
    gain = ident["geochronology_gain"]
    assert list(gain.index) == [np.inf, 0.2, 0.1, 0.05, 0.02]
    assert np.all(np.diff(gain["peak_T_sd_K"].values) <= 1e-12)  # more precise → narrower
    assert gain.loc[0.05, "peak_T_sd_K"] == pytest.approx(ident["peak_T_sd_with_geochronology_K"])
    z = ident["zeta_um2"]
    assert z.loc["XAlm", "q05"] <= truth["zeta_um2"]["XAlm"] <= z.loc["XAlm", "q95"]
    assert np.isfinite(ident["corr_peakT_time_above"])
    assert ident["peak_T_sd_with_geochronology_K"] <= ident["peak_T_sd_K"]
    fit = res.profiles_fit
    assert {"observed", "fit_mean", "fit_q05", "fit_q95"} <= set(fit.columns)
    assert np.sqrt(np.mean(fit["residual_z"] ** 2)) < 2.5
    assert res.log_evidence is not None and np.isfinite(res.log_evidence)


def test_evidence_compares_node_counts_smoothness_and_families():
    """Node counts × smoothness factors and the three families, ranked by the evidence."""
    prof, _ = synthetic_garnet_profiles(random_state=3, n_cells=12, n_points=12)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        res = DiffusionAssimilation(
            parameterisation=["nodes", "linear_cooling", "exponential_cooling"],
            n_nodes=[3, 5],
            smoothness=[0.5, 2.0],
            n_cells=12,
            n_ensemble=40,
            n_assimilations=2,
            random_state=0,
        ).fit(prof)
    crit = res.criterion
    assert list(crit["candidate"].values) == [
        "nodes_3_s0.5", "nodes_3_s2", "nodes_5_s0.5", "nodes_5_s2",
        "linear_cooling", "exponential_cooling",
    ]  # fmt: skip
    assert np.all(np.isfinite(crit["log_evidence"].values))
    best = str(crit["candidate"].values[int(np.argmax(crit["log_evidence"].values))])
    assert res.diagnostics["chosen"] == best
    if best.startswith("nodes"):  # the chosen smoothness is reported
        factor = float(best.split("_s")[1])
        assert res.hyperparameters["T_step_sd_chosen"] == pytest.approx(40.0 * factor)
    # the evidence penalises complexity: it is not simply the best fit
    misfit = crit["final_misfit"].values
    assert np.ptp(crit["log_evidence"].values) > 1.0 and np.all(np.isfinite(misfit))


def test_cooling_laws_by_hand():
    """Linear and exponential cooling with and without a peak hold, against hand calculations."""
    th = np.array([[800.0, 6.0, 900.0, 8.0, 0.0, np.log(20.0), 5.0]])
    t, T, P = LinearCooling(growth_end_Myr=4.0, end_Myr=10.0).histories(th)
    hold = 6.0 * 0.98 / 2 + 0.06  # expit(0) = 1/2 of the 6 Myr after growth, within 1-99 %
    assert np.allclose(t, [[0, 4, 4 + hold, 10]])
    assert np.allclose(T, [[800, 900, 900, 900 - 20 * (6 - hold)]])
    assert np.allclose(P, [[6e3, 8e3, 8e3, 5e3]])
    t, T, P = LinearCooling(growth_end_Myr=4.0, end_Myr=10.0, peak_hold=False).histories(
        np.delete(th, 4, axis=1)
    )
    assert np.allclose(t, [[0, 4, 10]]) and np.allclose(T, [[800, 900, 780]])
    ex = ExponentialCooling(growth_end_Myr=4.0, end_Myr=10.0, peak_hold=False, n_segments=6)
    names, _, _ = ex.prior()
    assert names[:7] == ["T_start", "P_start", "T_peak", "P_peak", "ln_tau", "T_inf", "P_end"]
    th = np.array([[800.0, 6.0, 900.0, 8.0, np.log(3.0), 500.0, 5.0]])
    t, T, P = ex.histories(th)
    assert np.allclose(t[0], [0, 4, 5, 6, 7, 8, 9, 10])
    assert np.allclose(T[0, 1:], 500 + 400 * np.exp(-(t[0, 1:] - 4) / 3.0))
    assert np.allclose(P[0, 1:] / 1e3, 8 + (5 - 8) * (t[0, 1:] - 4) / 6)


def test_hierarchical_smoothness_is_a_gaussian_prior_on_the_random_walk():
    """Non-centred nodes: at fixed ln σ the node prior is the random walk of the fixed mode."""
    t = np.array([0.0, 1.0, 3.0, 6.0])
    h = NodePath(times_Myr=t, duration_sd=0.0, marginalise_kinetics=False)
    names, mu, cov = h.prior()
    assert names[-2:] == ["ln_T_step_sd", "ln_P_step_sd"]
    rng = np.random.default_rng(0)
    th = mu + rng.standard_normal((20000, mu.size)) * np.sqrt(np.diag(cov))
    th[:, -2:] = np.log([40.0, 1.0])  # condition on the reference smoothness
    T, _ = h.node_values(th)
    fixed = NodePath(times_Myr=t, smoothness="fixed", duration_sd=0.0, marginalise_kinetics=False)
    cov_fixed = fixed.prior()[2][:4, :4]
    assert np.allclose(np.cov(T.T), cov_fixed, rtol=0.05, atol=60.0)
    assert np.allclose(T.mean(0), 550 + 273.15, atol=2.0)


def test_chu_ague_2015_uncertainties_are_marginalised():
    """CA15 now carries its published σ: 12 kinetic perturbations enter θ (CG92: 6)."""
    kin = lambda p: [n for n in p.prior()[0] if n.startswith("z_")]  # noqa: E731
    ca15 = NodePath(times_Myr=[0.0, 5.0], parameters="CA15")
    cg92 = NodePath(times_Myr=[0.0, 5.0], parameters="CG92")
    assert len(kin(ca15)) == 12 and len(kin(cg92)) == 6
    assert {"z_lnD0_XGrs", "z_Q_XSps", "z_dV_XAlm"} <= set(kin(ca15))


def test_hierarchical_smoothness_is_learned_and_reported():
    res, _ = _fit(0, smoothness="hierarchical")
    post = res.hyperparameters["T_step_sd_posterior"]
    assert post["q05"] < post["q50"] < post["q95"]
    assert 5.0 < post["q50"] < 200.0
    assert res.hyperparameters["smoothness"] == "hierarchical"


def test_linearised_evidence_is_exact_for_a_linear_gaussian_model():
    """The ensemble-linearised evidence equals the closed form when the forward model is linear
    (G is then recovered exactly from any non-degenerate ensemble)."""
    from scipy import stats

    from petroinfer.inference import ESMDA
    from petroinfer.ptpath._assimilation_report import linearised_evidence

    rng = np.random.default_rng(1)
    A = rng.standard_normal((12, 3))
    b = rng.standard_normal(12)
    mu0, cov0 = np.array([1.0, -0.5, 0.2]), np.diag([0.5, 1.0, 2.0])
    sd = np.full(12, 0.3)
    y = A @ np.array([1.2, -0.1, 0.6]) + b + sd * rng.standard_normal(12)
    exact = stats.multivariate_normal(A @ mu0 + b, A @ cov0 @ A.T + np.diag(sd**2)).logpdf(y)
    es = ESMDA(
        lambda th: th @ A.T + b,
        lambda r, n: mu0 + r.standard_normal((n, 3)) * np.sqrt(np.diag(cov0)),
        n_ensemble=50, n_assimilations=4, vectorized=True, random_state=0,
    ).fit(y, sd)  # fmt: skip
    pred = es.posterior["predicted"].values[0]
    approx = linearised_evidence(es.ensemble, pred, y, np.diag(sd**2), mu0, cov0)
    assert approx == pytest.approx(exact, abs=1e-8)


def test_two_garnets_share_one_history():
    p1, _ = synthetic_garnet_profiles(random_state=1, n_cells=12, n_points=10, radius_um=300)
    p2, _ = synthetic_garnet_profiles(random_state=2, n_cells=12, n_points=10, radius_um=200)
    prof = pd.concat([p1.assign(garnet="A"), p2.assign(garnet="B")], ignore_index=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        res = DiffusionAssimilation(
            radius_um={"A": 300.0, "B": 200.0},
            smoothness="fixed",
            n_cells=12,
            n_nodes=4,
            n_ensemble=40,
            n_assimilations=2,
            random_state=0,
        ).fit(prof)
    assert set(res.profiles_fit["garnet"]) == {"A", "B"}


def test_bad_input():
    prof, _ = synthetic_garnet_profiles(random_state=0, n_cells=12, n_points=10)
    da = DiffusionAssimilation(**SMALL)
    bad = prof.copy()
    bad.loc[4, "distance_um"] = bad.loc[2, "distance_um"]
    with pytest.raises(InputError, match=r"strictly increasing.*row 4"):
        da.fit(bad)
    bad = prof.copy()
    bad.loc[3, "XSps"] = 1.2
    with pytest.raises(InputError, match=r"between 0 and 1.*'XSps'"):
        da.fit(bad)
    with pytest.raises(InputError, match="position column"):
        da.fit(prof.drop(columns="distance_um"))
    with pytest.raises(ModelError, match="outside the garnet radius"):
        DiffusionAssimilation(radius_um=100.0, **SMALL).fit(prof)
    with pytest.raises(ModelError, match="growth_Myr"):
        DiffusionAssimilation(growth_Myr=(5.0, 2.0), **SMALL).fit(prof)
    with pytest.raises(ModelError, match="n_cells"):
        DiffusionAssimilation(n_cells=4).fit(prof)
    with pytest.raises(ModelError, match="smoothness"):
        DiffusionAssimilation(smoothness="wiggly", **SMALL).fit(prof)
    with pytest.raises(ModelError, match="smoothness factors"):
        DiffusionAssimilation(smoothness=[0.0, 1.0], **SMALL).fit(prof)
    with pytest.raises(ModelError, match="time after growth"):
        DiffusionAssimilation(
            parameterisation="exponential_cooling", growth_Myr=(0.0, 10.0), **SMALL
        ).fit(prof)
    with pytest.raises(ModelError, match="parameterisation"):
        DiffusionAssimilation(parameterisation="spline", **{k: v for k, v in SMALL.items()}).fit(
            prof
        )


@pytest.mark.slow
def test_i1_calibration_over_20_replicates():
    """I1: 90 % bands cover the true T(t) at >= 80 % of times over 20 replicates; ζ covered."""
    cover, zeta_in, sds = [], [], []
    for seed in range(20):
        res, truth = _fit(seed)
        cover.append(_coverage(res, truth))
        z = res.identifiability["zeta_um2"]
        zeta_in.append(z.loc["XAlm", "q05"] <= truth["zeta_um2"]["XAlm"] <= z.loc["XAlm", "q95"])
        sds.append(res.identifiability["peak_T_sd_K"])
    print(
        "coverage",
        np.round(cover, 2),
        "mean",
        np.mean(cover),
        "zeta",
        np.mean(zeta_in),
        "peak-T sd",
        np.round(np.median(sds), 1),
    )
    assert np.mean(cover) >= 0.80
    assert np.mean(zeta_in) >= 0.75
    # the T–t trade-off is not hidden: the peak-T posterior stays wider than 10 K (§D.7)
    assert np.median(sds) > 10.0


def test_clockwise_loop_is_clockwise():
    loop = clockwise_loop()
    assert loop["P_kbar"].idxmax() < loop["T_C"].idxmax()


@pytest.mark.slow
def test_remc_agrees_with_esmda_on_a_small_case():
    """One small case (3 nodes, fixed smoothness, no kinetic/duration nuisance, 6 parameters):
    the ES-MDA linearised evidence [R] against REMC stepping-stone (16 rungs from β = 1e-5) and
    importance sampling (multivariate-t proposal fitted to the ES-MDA ensemble, 2000 draws).
    Measured: ES-MDA 122.24, IS 121.92, REMC 121.49 ± 0.78 nats."""
    from scipy import stats
    from scipy.special import logsumexp

    prof, _ = synthetic_garnet_profiles(random_state=5, n_cells=10, n_points=10)
    kw = dict(n_cells=10, n_nodes=3, duration_sd=0.0, marginalise_kinetics=False,
              smoothness="fixed", random_state=0)  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        es = DiffusionAssimilation(n_ensemble=150, n_assimilations=4, **kw).fit(prof)
        mc = DiffusionAssimilation(method="remc", remc_steps=150, remc_temps=16, **kw).fit(prof)
    # importance-sampling evidence with the same forward model, prior and likelihood
    from petroinfer.ptpath import default_rim_equilibrium
    from petroinfer.ptpath._assimilation_model import ProfileForward, prepare_profiles

    data = prepare_profiles(prof)
    cand = NodePath(times_Myr=np.linspace(0, 10, 3), smoothness="fixed", duration_sd=0.0,
                    marginalise_kinetics=False)  # fmt: skip
    _, mu0, cov0 = cand.prior()
    f = ProfileForward(cand, data, default_rim_equilibrium(), (0, 4), [3e-4], [0.0], 1e-6, 10)
    prior = stats.multivariate_normal(mu0, cov0)
    ens = es.posterior["theta"].values[0]
    prop = stats.multivariate_t(ens.mean(0), 2.0 * np.cov(ens.T), df=5)
    x = prop.rvs(2000, random_state=11)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        r = (f(x) - data.y) / data.sigma
    ll = -0.5 * np.sum(r**2, 1) - np.log(data.sigma).sum() - 0.5 * data.y.size * np.log(2 * np.pi)
    lw = ll + prior.logpdf(x) - prop.logpdf(x)
    log_z_is = float(logsumexp(lw) - np.log(lw.size))
    w = np.exp(lw - lw.max())
    assert w.sum() ** 2 / (w**2).sum() > 100  # effective sample size of the check
    print("log Z: ES-MDA", es.log_evidence, "IS", log_z_is, "REMC", mc.log_evidence,
          "+-", mc.log_evidence_se)  # fmt: skip
    assert mc.diagnostics["method"] == "REMC" and np.isfinite(mc.log_evidence)
    assert abs(es.log_evidence - log_z_is) < 1.0
    assert abs(mc.log_evidence - log_z_is) < 3 * mc.log_evidence_se + 0.5
    a, b = es.durations.loc["peak_T_C"], mc.durations.loc["peak_T_C"]
    print("peak T esmda", a.to_dict(), "remc", b.to_dict())
    assert abs(a["mean"] - b["mean"]) < 2 * max(a["sd"], b["sd"]) + 5.0
    za = es.identifiability["zeta_um2"].loc["XAlm", "q50"]
    zb = mc.identifiability["zeta_um2"].loc["XAlm", "q50"]
    assert 0.5 < za / zb < 2.0


def test_dask_chunks_give_the_serial_result(monkeypatch):
    """Ensemble members go through petroinfer.parallel.map_tasks on one Dask client per fit."""
    import petroinfer.parallel as par

    calls = []
    real = par.map_tasks

    def spy(func, items, scheduler=None, **kw):
        calls.append((scheduler, len(items)))
        return real(func, items, scheduler=scheduler, **kw)

    monkeypatch.setattr(par, "map_tasks", spy)
    monkeypatch.delenv(par.SCHEDULER_ENV, raising=False)
    prof, _ = synthetic_garnet_profiles(random_state=0, n_cells=10, n_points=8)
    kw = dict(n_cells=10, n_nodes=3, n_ensemble=20, n_assimilations=1, random_state=0)
    kw["smoothness"] = "fixed"  # one candidate: two maps
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        serial = DiffusionAssimilation(**kw).fit(prof)
        assert calls == []
        dask = DiffusionAssimilation(n_jobs=2, **kw).fit(prof)
    assert np.allclose(
        serial.posterior["theta"].values, dask.posterior["theta"].values, rtol=0, atol=1e-10
    )
    assert len(calls) == 2  # prior ensemble + one assimilation, each as 2 chunks
    assert all(n == 2 for _, n in calls)
    assert calls[0][0] is calls[1][0] and calls[0][0] is not None  # one client for the fit
