"""Tests of the zoned-garnet P–T path inversion (ZonedGarnetPTPath) and its synthetic generator."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from petroinfer.errors import DataQualityWarning, InputError, ModelError
from petroinfer.ptpath import ZonedGarnetPTPath, synthetic_zoning
from petroinfer.thermo.gibbs import metapelite_system, toy_open_system

ANCHOR = {"T_C": 500.0, "P_kbar": 5.0, "sd_T": 10.0, "sd_P": 0.5}


def rmse(a, b):
    return float(np.sqrt(np.mean((np.asarray(a) - np.asarray(b)) ** 2)))


def cover(truth, e, name):
    t = truth[name].to_numpy()
    return np.mean((t > e[f"{name}_q05"].values) & (t < e[f"{name}_q95"].values))


@pytest.fixture(scope="module")
def system():
    return toy_open_system()


@pytest.fixture(scope="module")
def prograde_fit(system):
    data, truth, matrix = synthetic_zoning("prograde", n_points=30, noise=0.003, random_state=1)
    model = ZonedGarnetPTPath(system=system, matrix=matrix, anchor=ANCHOR, n_samples=100,
                              random_state=0)  # fmt: skip
    return data, truth, matrix, model, model.fit(data)


def test_synthetic_noise_free_matches_closed_form(system):
    data, truth, _ = synthetic_zoning("prograde", n_points=5, noise=0.0, random_state=0)
    R = 8.314462618
    T = truth["T_C"].to_numpy() + 273.15
    P = truth["P_kbar"].to_numpy() * 1000
    dG2 = -48357.0 + 150.66 * T - 6.608 * (P - 1)
    assert np.allclose(data["Grt_XGrs"], 0.30 * np.exp(-dG2 / (3 * R * T)), atol=1e-10)
    assert np.allclose(data[["Grt_XAlm", "Grt_XPrp", "Grt_XGrs"]].sum(axis=1), 1.0)


def test_prograde_recovery_beats_gibbs_integration(prograde_fit):
    data, truth, _m, model, res = prograde_fit
    e = res.estimate
    gib = model.gibbs_integration(data)
    rT, rP = rmse(e["T_C"], truth["T_C"]), rmse(e["P_kbar"], truth["P_kbar"])
    gT, gP = rmse(gib["T_C"], truth["T_C"]), rmse(gib["P_kbar"], truth["P_kbar"])
    assert rT < 0.7 * gT and rP < 0.7 * gP  # ≥ 30 % lower (measured: ~95 % lower)
    assert rT < 5.0 and rP < 0.2
    # evidence recovers the EPMA noise (0.003) within its sampling spread (~10 % for 60 values)
    assert 0.0021 < res.hyperparameters["noise_sd"] < 0.0039
    assert res.criterion is not None and res.criterion.sizes["evaluation"] > 5
    assert np.isfinite(res.log_evidence)
    assert e["T_C"].attrs["units"] == "degC" and e["P_kbar"].attrs["units"] == "kbar"
    assert np.all(e["condition_number"].values > 1)
    obs = res.observations
    assert rmse(obs["XPrp_denoised"], truth["Grt_XPrp"]) < 0.5 * rmse(
        obs["XPrp_observed"], truth["Grt_XPrp"]
    )
    assert res.posterior is not None and res.posterior["T_C"].dims == ("chain", "draw", "node")


def _pilot_hyperparameters(system, kind, seeds=(7, 8, 9)):
    """Geometric mean of the evidence-chosen hyperparameters of three pilot datasets."""
    keys = ("noise_precision", "smoothness_T_per_K2", "smoothness_P_per_kbar2")
    vals = []
    for seed in seeds:
        data, _truth, matrix = synthetic_zoning(kind, n_points=30, noise=0.003, random_state=seed)
        hp = ZonedGarnetPTPath(system=system, matrix=matrix, n_samples=0).fit(data).hyperparameters
        vals.append([np.log(hp[k]) for k in keys])
    out = dict(zip(keys, np.exp(np.mean(vals, axis=0)), strict=True))
    out["noise_sd"] = 1 / np.sqrt(out["noise_precision"])
    return out


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["prograde", "clockwise"])
def test_calibration_30_replicates(system, kind):
    """Nominal 90 % bands cover the truth at 80–97 % of points over 30 synthetic datasets; the MRF
    posterior mean beats the point-wise Gibbs integration by ≥ 30 % in RMSE. Hyperparameters are
    the geometric mean of the evidence optima of three pilot datasets (per-replicate searches
    cost ~5 s each)."""
    hp = _pilot_hyperparameters(system, kind)
    kap = {"T": hp["smoothness_T_per_K2"], "P": hp["smoothness_P_per_kbar2"]}
    cov, r_mrf, r_gibbs, noise = [], [], [], []
    for k in range(30):
        data, truth, matrix = synthetic_zoning(kind, n_points=30, noise=0.003, random_state=100 + k)
        m = ZonedGarnetPTPath(system=system, matrix=matrix, anchor=ANCHOR, n_samples=0,
                              noise_precision=hp["noise_precision"], smoothness=kap)  # fmt: skip
        e = m.fit(data).estimate
        cov += [cover(truth, e, "T_C"), cover(truth, e, "P_kbar")]
        g = m.gibbs_integration(data)
        r_mrf.append(rmse(e["T_C"], truth["T_C"]))
        r_gibbs.append(rmse(g["T_C"], truth["T_C"]))
        r_mrf.append(rmse(e["P_kbar"], truth["P_kbar"]) * 100)  # P in units of 10 bar
        r_gibbs.append(rmse(g["P_kbar"], truth["P_kbar"]) * 100)
        noise.append(np.std(data["Grt_XPrp"] - truth["Grt_XPrp"]))
    assert 0.80 <= np.mean(cov) <= 0.97
    assert np.mean(r_mrf) < 0.7 * np.mean(r_gibbs)
    # the pilot's evidence estimate of the noise lies within the replicate spread of the sample SD
    lo, hi = np.percentile(noise, [1, 99])
    assert 0.8 * lo < hp["noise_sd"] < 1.2 * hi


@pytest.mark.slow
@pytest.mark.parametrize("noise", [0.002, 0.005])
def test_evidence_recovers_noise_level(system, noise):
    data, _truth, matrix = synthetic_zoning("prograde", n_points=30, noise=noise, random_state=3)
    res = ZonedGarnetPTPath(system=system, matrix=matrix, n_samples=0).fit(data)
    assert res.hyperparameters["noise_sd"] == pytest.approx(noise, rel=0.3)


def test_clockwise_loop(system):
    data, truth, matrix = synthetic_zoning("clockwise", n_points=30, noise=0.003, random_state=2)
    m = ZonedGarnetPTPath(system=system, matrix=matrix, anchor=ANCHOR, n_samples=0)
    e = m.fit(data).estimate
    g = m.gibbs_integration(data)
    assert rmse(e["T_C"], truth["T_C"]) < 0.7 * rmse(g["T_C"], truth["T_C"])
    assert rmse(e["P_kbar"], truth["P_kbar"]) < 0.7 * rmse(g["P_kbar"], truth["P_kbar"])
    # the loop is clockwise: P peaks before T
    assert int(np.argmax(e["P_kbar"].values)) < int(np.argmax(e["T_C"].values))
    assert cover(truth, e, "T_C") >= 0.7 and cover(truth, e, "P_kbar") >= 0.7


@pytest.mark.slow
def test_fractionating_path_ds62():
    data, truth, matrix = synthetic_zoning(
        "fractionating", n_points=20, noise=0.003, random_state=1
    )
    assert data["Bt_XMg"].iloc[-1] > data["Bt_XMg"].iloc[0] + 0.05  # the matrix evolves
    d = np.diff(data["distance"].to_numpy())
    assert d[0] > 3 * d[-1]  # shells thin outwards (fractionation slows growth)
    m = ZonedGarnetPTPath(matrix=matrix, anchor=ANCHOR, n_samples=0,
                          noise_precision=1 / 0.003**2)  # fmt: skip
    e = m.fit(data).estimate
    g = m.gibbs_integration(data)
    assert rmse(e["T_C"], truth["T_C"]) < 0.7 * rmse(g["T_C"], truth["T_C"])
    assert rmse(e["T_C"], truth["T_C"]) < 8.0


def test_rim_to_core_and_rim_anchor(system):
    data, _truth, matrix = synthetic_zoning("prograde", n_points=20, noise=0.002, random_state=4)
    flipped = data.assign(distance=1000.0 - data["distance"]).iloc[::-1]
    anchor = {"T_C": 600.0, "P_kbar": 8.0, "sd_T": 10.0, "sd_P": 0.5, "at": "rim"}
    m = ZonedGarnetPTPath(system=system, matrix=matrix, anchor=anchor, direction="rim-to-core",
                          n_samples=0)  # fmt: skip
    res = m.fit(flipped)
    e = res.estimate  # sorted by distance from the rim: node 0 is the rim
    assert e["T_C"].values[0] == pytest.approx(600.0, abs=5.0)
    assert e["T_C"].values[-1] == pytest.approx(500.0, abs=5.0)
    g = m.gibbs_integration(flipped)
    assert g["T_C"].iloc[0] == pytest.approx(600.0, abs=1e-9)


@pytest.mark.slow
def test_remc_runs_on_the_laplace_result(system):
    """Smoke test of the REMC check (a converged comparison needs ~10⁴ steps: too slow for CI)."""
    data, _truth, matrix = synthetic_zoning("prograde", n_points=4, noise=0.004, random_state=5)
    m = ZonedGarnetPTPath(system=system, matrix=matrix, anchor=ANCHOR, n_samples=50, random_state=0)
    res = m.fit(data)
    rem = m.sample_remc(data, res, n_steps=60, n_temps=3, n_chains=1, random_state=1)
    T = rem.posterior["theta"].sel(param="T0").values - 273.15
    assert np.all(np.isfinite(T))
    assert abs(T.mean() - res.estimate["T_C"].values[0]) < 5 * res.estimate["T_C_sd"].values[0]


# ---------------------------------------------------------------------------- bad input
def _base():
    data, _t, matrix = synthetic_zoning("prograde", n_points=6, noise=0.0, random_state=0)
    return data, matrix


def test_bad_traverse_not_monotone(system):
    data, matrix = _base()
    data.loc[3, "distance"] = data.loc[1, "distance"]
    with pytest.raises(InputError, match=r"strictly monotone.*row 3"):
        ZonedGarnetPTPath(system=system, matrix=matrix).fit(data)


def test_bad_fractions(system):
    data, matrix = _base()
    bad = data.copy()
    bad.loc[2, "Grt_XPrp"] = 1.2
    with pytest.raises(InputError, match="Grt_XPrp must be in"):
        ZonedGarnetPTPath(system=system, matrix=matrix).fit(bad)
    bad = data.copy()
    bad.loc[4, "Grt_XAlm"] = 0.5
    with pytest.raises(InputError, match=r"sum to 1.*row 4"):
        ZonedGarnetPTPath(system=system, matrix=matrix).fit(bad)
    bad = data.copy()
    bad["Grt_XGrs"] = bad["Grt_XGrs"].astype(object)
    bad.loc[1, "Grt_XGrs"] = "n.d."
    with pytest.raises(InputError, match="non-numeric"):
        ZonedGarnetPTPath(system=system, matrix=matrix).fit(bad)
    with pytest.raises(InputError, match="missing column"):
        ZonedGarnetPTPath(system=system, matrix=matrix).fit(data.drop(columns="Grt_XGrs"))
    with pytest.raises(InputError, match="Pl_XAn"):
        ZonedGarnetPTPath(system=system, matrix={"Bt_XMg": 0.4}).fit(data)


def test_singular_monitor_set():
    data, matrix = _base()
    with pytest.raises(ModelError, match="singular or"):
        ZonedGarnetPTPath(system=metapelite_system("grt-bt-ms-pl-ky-qtz"), matrix=matrix).fit(data)
    with pytest.raises(ModelError, match="open"):
        ZonedGarnetPTPath(system=toy_open_system().with_mode("closed"), matrix=matrix).fit(data)


def test_anchor_outside_calibrated_range(system):
    data, matrix = _base()
    m = ZonedGarnetPTPath(system=system, matrix=matrix, n_samples=0,
                          anchor={"T_C": 1200.0, "P_kbar": 5.0}, noise_precision=1e5,
                          smoothness={"T": 1e3, "P": 1e5})  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        with pytest.warns(DataQualityWarning, match="outside the calibrated range"):
            m.fit(data)
    with pytest.raises(InputError, match="'at'"):
        ZonedGarnetPTPath(system=system, matrix=matrix, anchor={**ANCHOR, "at": "mantle"}).fit(data)
