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
    ident = res.identifiability
    z = ident["zeta_um2"]
    assert z.loc["XAlm", "q05"] <= truth["zeta_um2"]["XAlm"] <= z.loc["XAlm", "q95"]
    assert np.isfinite(ident["corr_peakT_time_above"])
    assert ident["peak_T_sd_with_geochronology_K"] <= ident["peak_T_sd_K"]
    fit = res.profiles_fit
    assert {"observed", "fit_mean", "fit_q05", "fit_q95"} <= set(fit.columns)
    assert np.sqrt(np.mean(fit["residual_z"] ** 2)) < 2.5
    assert res.log_evidence is not None and np.isfinite(res.log_evidence)


def test_evidence_compares_node_counts_and_families():
    prof, _ = synthetic_garnet_profiles(random_state=3, n_cells=12, n_points=12)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        res = DiffusionAssimilation(
            parameterisation=["nodes", "linear_cooling"],
            n_nodes=[3, 5],
            n_cells=12,
            n_ensemble=40,
            n_assimilations=2,
            random_state=0,
        ).fit(prof)
    crit = res.criterion
    assert list(crit["candidate"].values) == ["nodes_3", "nodes_5", "linear_cooling"]
    assert np.all(np.isfinite(crit["log_evidence"].values))
    best = str(crit["candidate"].values[int(np.argmax(crit["log_evidence"].values))])
    assert res.diagnostics["chosen"] == best


def test_two_garnets_share_one_history():
    p1, _ = synthetic_garnet_profiles(random_state=1, n_cells=12, n_points=10, radius_um=300)
    p2, _ = synthetic_garnet_profiles(random_state=2, n_cells=12, n_points=10, radius_um=200)
    prof = pd.concat([p1.assign(garnet="A"), p2.assign(garnet="B")], ignore_index=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        res = DiffusionAssimilation(
            radius_um={"A": 300.0, "B": 200.0},
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
    """REMC (full posterior, stepping-stone evidence) as a check of ES-MDA on one small case."""
    prof, _ = synthetic_garnet_profiles(random_state=5, n_cells=10, n_points=10)
    kw = dict(n_cells=10, n_nodes=3, duration_sd=0.0, marginalise_kinetics=False, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        es = DiffusionAssimilation(n_ensemble=150, n_assimilations=4, **kw).fit(prof)
        mc = DiffusionAssimilation(method="remc", remc_steps=100, remc_temps=4, **kw).fit(prof)
    assert mc.diagnostics["method"] == "REMC" and np.isfinite(mc.log_evidence)
    a, b = es.durations.loc["peak_T_C"], mc.durations.loc["peak_T_C"]
    print("peak T esmda", a.to_dict(), "remc", b.to_dict())
    assert abs(a["mean"] - b["mean"]) < 2 * max(a["sd"], b["sd"]) + 5.0
    za = es.identifiability["zeta_um2"].loc["XAlm", "q50"]
    zb = mc.identifiability["zeta_um2"].loc["XAlm", "q50"]
    assert 0.5 < za / zb < 2.0


def test_dask_chunks_give_the_serial_result():
    prof, _ = synthetic_garnet_profiles(random_state=0, n_cells=10, n_points=8)
    kw = dict(n_cells=10, n_nodes=3, n_ensemble=20, n_assimilations=1, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        serial = DiffusionAssimilation(**kw).fit(prof)
        dask = DiffusionAssimilation(n_jobs=2, **kw).fit(prof)
    assert np.allclose(
        serial.posterior["theta"].values, dask.posterior["theta"].values, rtol=0, atol=1e-10
    )
