"""Tests of the zoned-garnet P–T path inversion (ZonedGarnetPTPath) and its synthetic generator."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from petroinfer.errors import DataQualityWarning, InputError, ModelError
from petroinfer.ptpath import ZonedGarnetPTPath, synthetic_zoning
from petroinfer.thermo.gibbs import metapelite_system, toy_open_system
from petroinfer.units import GAS_CONSTANT

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
    R = GAS_CONSTANT  # exact SI value (8.31446261815324 J/mol/K), as used by thermo
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
    """Over 30 synthetic datasets: nominal 90 % bands cover the truth at 80–97 % of points; the MRF
    posterior mean beats the point-wise Gibbs integration by ≥ 30 % in RMSE; the EPMA noise is
    chosen per replicate by the evidence and recovers the true 0.003 within its sampling spread.
    κ_T, κ_P: geometric mean of the evidence optima of three pilot datasets (a per-replicate 3-D
    search costs ~60 evidence evaluations, ≈ 2–6 s, per replicate); τ: per-replicate evidence
    search warm-started from the pilot (1-D, ~10 evaluations)."""
    hp = _pilot_hyperparameters(system, kind)
    kap = {"T": hp["smoothness_T_per_K2"], "P": hp["smoothness_P_per_kbar2"]}
    cov, r_mrf, r_gibbs, sig_hat, sig_sample = [], [], [], [], []
    for k in range(30):
        data, truth, matrix = synthetic_zoning(kind, n_points=30, noise=0.003, random_state=100 + k)
        m = ZonedGarnetPTPath(system=system, matrix=matrix, anchor=ANCHOR, n_samples=0,
                              smoothness=kap, evidence_start=hp)  # fmt: skip
        res = m.fit(data)
        e = res.estimate
        sig_hat.append(res.hyperparameters["noise_sd"])
        cov += [cover(truth, e, "T_C"), cover(truth, e, "P_kbar")]
        g = m.gibbs_integration(data)
        r_mrf.append(rmse(e["T_C"], truth["T_C"]))
        r_gibbs.append(rmse(g["T_C"], truth["T_C"]))
        r_mrf.append(rmse(e["P_kbar"], truth["P_kbar"]) * 100)  # P in units of 10 bar
        r_gibbs.append(rmse(g["P_kbar"], truth["P_kbar"]) * 100)
        resid = (
            data[["Grt_XPrp", "Grt_XGrs"]].to_numpy() - truth[["Grt_XPrp", "Grt_XGrs"]].to_numpy()
        )
        sig_sample.append(np.sqrt(np.mean(resid**2)))
    sig_hat = np.array(sig_hat)
    print(f"\n[{kind}] coverage {np.mean(cov):.3f}; RMSE T {np.mean(r_mrf[::2]):.2f} vs "
          f"{np.mean(r_gibbs[::2]):.2f} C, P {np.mean(r_mrf[1::2]) / 100:.3f} vs "
          f"{np.mean(r_gibbs[1::2]) / 100:.3f} kbar; noise_sd mean {sig_hat.mean():.5f} sd "
          f"{sig_hat.std(ddof=1):.5f} (realised sd {np.std(sig_sample):.5f}); pilot {hp}")  # fmt: skip
    assert 0.80 <= np.mean(cov) <= 0.97
    assert np.mean(r_mrf) < 0.7 * np.mean(r_gibbs)
    spread = sig_hat.std(ddof=1)
    # the evidence estimate scatters like the realised noise SD (sampling spread of 60 values ~9 %)
    assert 0.5 * np.std(sig_sample) < spread < 2.5 * np.std(sig_sample)
    # and recovers the true level within that spread (bias < 1/2 spread; truth inside q05–q95)
    assert abs(sig_hat.mean() - 0.003) < 0.5 * spread
    lo, hi = np.percentile(sig_hat, [5, 95])
    assert lo < 0.003 < hi


@pytest.mark.slow
def test_calibration_fractionating_30_replicates():
    """The same calibration for the closed, fractionating ds62 path (§B.2 forward; matrix evolving
    per point): 30 noise realisations of one forward profile; hyperparameters from the evidence of a
    pilot realisation (a per-replicate search costs ~70 ds62 evidence evaluations)."""
    data0, truth, matrix = synthetic_zoning("fractionating", n_points=30, noise=0.0, random_state=1)
    x = truth[["Grt_XPrp", "Grt_XGrs"]].to_numpy()

    def noisy(seed):
        r = x + 0.003 * np.random.default_rng(seed).standard_normal(x.shape)
        return data0.assign(Grt_XPrp=r[:, 0], Grt_XGrs=r[:, 1], Grt_XAlm=1 - r.sum(axis=1))

    pilot = ZonedGarnetPTPath(matrix=matrix, n_samples=0).fit(noisy(999)).hyperparameters
    assert 0.0021 < pilot["noise_sd"] < 0.0039  # ~9 % sampling SD for 60 values
    kap = {"T": pilot["smoothness_T_per_K2"], "P": pilot["smoothness_P_per_kbar2"]}
    cov, r_mrf, r_gibbs = [], [], []
    for k in range(30):
        data = noisy(200 + k)
        m = ZonedGarnetPTPath(matrix=matrix, anchor=ANCHOR, n_samples=0, smoothness=kap,
                              noise_precision=pilot["noise_precision"])  # fmt: skip
        e = m.fit(data).estimate
        g = m.gibbs_integration(data)
        cov += [cover(truth, e, "T_C"), cover(truth, e, "P_kbar")]
        r_mrf += [rmse(e["T_C"], truth["T_C"]), 100 * rmse(e["P_kbar"], truth["P_kbar"])]
        r_gibbs += [rmse(g["T_C"], truth["T_C"]), 100 * rmse(g["P_kbar"], truth["P_kbar"])]
    print(f"\n[fractionating] coverage {np.mean(cov):.3f}; RMSE T {np.mean(r_mrf[::2]):.2f} vs "
          f"{np.mean(r_gibbs[::2]):.2f} C, P {np.mean(r_mrf[1::2]) / 100:.3f} vs "
          f"{np.mean(r_gibbs[1::2]) / 100:.3f} kbar; pilot noise {pilot['noise_sd']:.5f}")  # fmt: skip
    assert 0.80 <= np.mean(cov) <= 0.97
    assert np.mean(r_mrf) < 0.7 * np.mean(r_gibbs)


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
def test_laplace_and_remc_means_agree(system):
    """Laplace (MAP + Gauss–Newton covariance) and REMC posterior means agree within 0.2 Laplace SD
    at every node, and the REMC Monte-Carlo error is small enough (< 0.1 SD) to make that decisive.
    REMC uses the Laplace Gaussian as an independence proposal (exact Metropolis–Hastings), so
    600 sweeps × 2 chains give an ESS of several hundred."""
    data, _truth, matrix = synthetic_zoning("prograde", n_points=6, noise=0.003, random_state=5)
    m = ZonedGarnetPTPath(system=system, matrix=matrix, anchor=ANCHOR, n_samples=0, random_state=0,
                          noise_precision=1 / 0.003**2, smoothness={"T": 1e-4, "P": 0.05})  # fmt: skip
    res = m.fit(data)
    rem = m.sample_remc(data, res, n_steps=600, n_burn=300, n_temps=2, n_chains=2, random_state=1)
    cmp_ = m.compare_remc(res, rem)
    print("\n" + cmp_[["T_C_dz", "T_C_mcse", "T_C_laplace_sd", "P_kbar_dz", "P_kbar_mcse",
                        "P_kbar_laplace_sd"]].to_string())  # fmt: skip
    for name in ("T_C", "P_kbar"):
        assert np.all(cmp_[f"{name}_mcse"] < 0.1 * cmp_[f"{name}_laplace_sd"])
        assert np.all(np.abs(cmp_[f"{name}_dz"]) < 0.2)
        # the posterior SDs agree too (Laplace is near-exact here)
        assert np.allclose(cmp_[f"{name}_remc_sd"], cmp_[f"{name}_laplace_sd"], rtol=0.2)
    assert np.all(np.isfinite(rem.posterior["theta"].values))


# ---------------------------------------------------------------------------- latent link, Mn
def test_latent_link_reduces_to_integrated_link(system):
    """link='latent' with δ pinned at the anchor node and σ_η → 0 is the integrated link: same
    means, SDs and Laplace evidence (an independent check of the latent solver's algebra)."""
    data, _truth, matrix = synthetic_zoning("prograde", n_points=30, noise=0.003, random_state=1)
    kw = dict(system=system, matrix=matrix, anchor=ANCHOR, n_samples=0,
              noise_precision=1 / 0.003**2, smoothness={"T": 1e-4, "P": 0.05})  # fmt: skip
    r0 = ZonedGarnetPTPath(**kw).fit(data)
    r1 = ZonedGarnetPTPath(**kw, link="latent", model_error=1e-7, latent_level="equilibrium").fit(
        data
    )
    e0, e1 = r0.estimate, r1.estimate
    for name in ("T_C", "P_kbar"):
        assert np.abs((e1[name] - e0[name]) / e0[f"{name}_sd"]).max() < 1e-6
        assert np.allclose(e1[f"{name}_sd"], e0[f"{name}_sd"], rtol=1e-6)
    assert r1.log_evidence == pytest.approx(r0.log_evidence, abs=1e-6)
    assert r1.hyperparameters["link"] == "latent"
    # a free level (differential information only) widens the bands and lowers the evidence
    r2 = ZonedGarnetPTPath(**kw, link="latent", model_error=1e-7).fit(data)
    assert np.all(r2.estimate["P_kbar_sd"].values[1:] > 1.2 * e0["P_kbar_sd"].values[1:])
    assert r2.log_evidence < r0.log_evidence
    with pytest.raises(ModelError, match="needs an anchor"):
        ZonedGarnetPTPath(**{**kw, "anchor": None}, link="latent").fit(data)


@pytest.mark.slow
def test_latent_link_covers_under_model_error(system):
    """Zoning with a genuine model error (a random walk of 0.002 per step added to the equilibrium
    compositions, plus EPMA noise 0.002): the integrated link is overconfident; the latent link at
    the true σ_η covers the truth. σ_η is weakly identified (A_i invertible: δ maps onto θ), so the
    evidence curve is only checked to exist and to be nearly flat below the truth."""
    data, truth, matrix = synthetic_zoning("prograde", n_points=60, noise=0.0, random_state=1)
    rng = np.random.default_rng(1)
    eta = 0.002 * np.cumsum(rng.standard_normal((60, 2)), axis=0)
    eta -= eta[0]
    y = truth[["Grt_XPrp", "Grt_XGrs"]].to_numpy() + eta + 0.002 * rng.standard_normal((60, 2))
    data = data.assign(Grt_XPrp=y[:, 0], Grt_XGrs=y[:, 1], Grt_XAlm=1 - y.sum(axis=1))
    kw = dict(system=system, matrix=matrix, anchor=ANCHOR, n_samples=0,
              smoothness={"T": 3e-4, "P": 0.3})  # fmt: skip
    r0 = ZonedGarnetPTPath(**kw).fit(data)
    r1 = ZonedGarnetPTPath(**kw, link="latent", model_error=0.002).fit(data)
    assert r1.diagnostics["latent_converged"]
    c0 = np.mean([cover(truth, r0.estimate, "T_C"), cover(truth, r0.estimate, "P_kbar")])
    c1 = np.mean([cover(truth, r1.estimate, "T_C"), cover(truth, r1.estimate, "P_kbar")])
    print(f"\ncoverage integrated {c0:.3f}, latent {c1:.3f}")
    assert c0 < 0.5 < 0.75 < c1
    r2 = ZonedGarnetPTPath(**kw, link="latent").fit(data)
    curve = r2.criterion["log_evidence_latent"].values
    assert np.all(np.isfinite(curve)) and curve.max() - curve.min() < 2.0  # nearly flat
    print(r2.criterion[["model_error_sd", "log_evidence_latent"]].to_dataframe().to_string())


def test_manganese_garnet_inversion():
    """Mn-bearing garnet (ds62 white14-g with spessartine): X_prp, X_grs solved at the measured
    X_sps. Noise-free zoning from the same equilibria is recovered exactly; renormalising Mn away
    (the Mn-free model) is biased by ~10 °C; the Gibbs integration prescribes X_sps too."""
    from petroinfer.thermo.gibbs import GibbsState, equilibrium_composition

    sysm = metapelite_system("grt-bt-pl-ky-qtz", manganese=True)
    n = 12
    s = np.linspace(0, 1, n)
    T, P = 773.15 + 100 * s, 5 + 5 * s - 2 * s**2
    sps = 0.02 + 0.13 * (1 - s) ** 2  # Rayleigh-like spessartine bell
    st = GibbsState(T[0], P[0] * 1000, {"grt": np.array([0.7, 0.1, 0.1, 0.1]),
                                        "bt": np.array([0.6, 0.4]), "pl": np.array([0.7, 0.3])})  # fmt: skip
    x0 = np.tile([0.7, 0.1, 0.1, 0.1], (n, 1))
    x0[:, 2] = sps
    x0[:, 0] = 1 - x0[:, 1:].sum(axis=1)
    x, _ = equilibrium_composition(sysm, st, T, P * 1000, x0=x0, fixed=("spss",))
    assert np.allclose(x[:, 2], sps, atol=1e-15)
    data = pd.DataFrame({"distance": 1000 * s, "Grt_XAlm": x[:, 0], "Grt_XPrp": x[:, 1],
                         "Grt_XGrs": x[:, 3], "Grt_XSps": sps})  # fmt: skip
    kw = dict(matrix={"Bt_XMg": 0.4, "Pl_XAn": 0.3}, anchor=ANCHOR, n_samples=0,
              noise_precision=1 / 0.0005**2, smoothness={"T": 1e-6, "P": 1e-3})  # fmt: skip
    e = ZonedGarnetPTPath(system=sysm, **kw).fit(data).estimate
    assert np.abs(e["T_C"].values - (T - 273.15)).max() < 1e-3
    assert np.abs(e["P_kbar"].values - P).max() < 1e-4
    with pytest.warns(DataQualityWarning, match="renormalises"):
        e2 = ZonedGarnetPTPath(**kw).fit(data).estimate
    assert np.abs(e2["T_C"].values - (T - 273.15)).max() > 5.0
    g = ZonedGarnetPTPath(system=sysm, **kw).gibbs_integration(data)
    assert np.abs(g["T_C"].values - (T - 273.15)).max() < 0.1
    no_mn = data.drop(columns="Grt_XSps").assign(Grt_XAlm=1 - x[:, 1] - x[:, 3])
    with pytest.raises(InputError, match="needs a Grt_XSps column"):
        ZonedGarnetPTPath(system=sysm, **kw).fit(no_mn)


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


# ---------------------------------------------------------------------------- command line
@pytest.mark.slow
def test_cli_zoning_latent_and_manganese_options(tmp_path):
    """CLI options --link/--model-error/--manganese (ds62 evidence search: slow)."""
    import json

    from typer.testing import CliRunner

    from petroinfer.cli.main import app

    data, _t, _m = synthetic_zoning("prograde", n_points=8, noise=0.002, random_state=1)
    f = tmp_path / "traverse.csv"
    data.to_csv(f, index=False)
    base = ["ptpath", "zoning", str(f), "--bt-xmg", "0.4", "--pl-xan", "0.3"]
    runner = CliRunner()
    res = runner.invoke(app, [*base, "--anchor-T-C", "500", "--anchor-P-kbar", "5", "--link",
                              "latent", "--model-error", "0.001", "--json"])  # fmt: skip
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["link"] == "latent" and out["model_error_sd"] == pytest.approx(0.001)
    res = runner.invoke(app, [*base, "--manganese"])
    assert res.exit_code == 2 and "Grt_XSps" in res.output
    res = runner.invoke(app, [*base, "--link", "bogus"])
    assert res.exit_code == 2 and "link" in res.output
