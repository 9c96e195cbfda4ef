"""InclusionPTPath on synthetic inclusion data from the project's own forward model (known truth)."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
import pytest

from petroinfer.errors import DataQualityWarning, InputError, ModelError
from petroinfer.ptpath import (
    InclusionPTPath,
    PTPathResult,
    compare_calibrations,
    pointwise_pt,
    sparse_data_experiment,
    synthetic_inclusions,
)


def _rmse(a, b):
    return float(np.sqrt(np.mean((np.asarray(a) - np.asarray(b)) ** 2)))


def _inside(est, truth):
    t, p = truth["T_C"].to_numpy(), truth["P_kbar"].to_numpy()
    return np.r_[(est["T_C_q05"].values <= t) & (t <= est["T_C_q95"].values),
                 (est["P_kbar_q05"].values <= p) & (p <= est["P_kbar_q95"].values)]  # fmt: skip


def _half(data, rng):
    inner = rng.choice(np.arange(1, len(data) - 1), size=len(data) // 2 - 2, replace=False)
    return data.iloc[np.sort(np.r_[0, len(data) - 1, inner])]


def test_synthetic_generator_is_consistent_with_calibrations():
    data, truth = synthetic_inclusions(12, sigma=0.0, random_state=0)
    assert len(data) == 24 and set(data["inclusion"]) == {"biotite", "plagioclase"}
    assert np.all(np.diff(data["radius"]) >= 0)
    pw = pointwise_pt(data)  # noise-free pairs reproduce the generating path exactly
    assert np.allclose(pw["T_C"], truth["T_C"], atol=1e-4)
    assert np.allclose(pw["P_kbar"], truth["P_kbar"], atol=1e-6)
    assert truth["P_kbar"].max() == pytest.approx(9.0, abs=0.1)  # peak between nodes
    a, _ = synthetic_inclusions(12, random_state=3)
    b, _ = synthetic_inclusions(12, random_state=3)
    assert a.equals(b)


def test_fit_returns_labelled_result(tmp_path):
    data, truth = synthetic_inclusions(12, sigma=0.005, random_state=1)
    res = InclusionPTPath(nodes=truth["radius"].to_numpy(), random_state=0, n_samples=100).fit(data)
    assert isinstance(res, PTPathResult)
    est = res.estimate
    assert est.sizes["node"] == 12 and "radius" in est.coords
    assert np.all(est["T_C_q05"] < est["T_C"]) and np.all(est["T_C"] < est["T_C_q95"])
    assert res.posterior["T_C"].dims == ("chain", "draw", "node")
    assert res.hyperparameters["chosen_by"] == "Laplace evidence"
    assert res.criterion["log_evidence"].max() == pytest.approx(res.log_evidence, abs=0.05)
    assert len(res.observations) == len(data)
    assert set(res.summary().columns) >= {"T_C", "T_C_sd", "P_kbar", "P_kbar_sd", "rho_TP"}
    res.to_netcdf(tmp_path / "r.nc")
    assert (tmp_path / "r.nc").stat().st_size > 0
    import matplotlib.pyplot as plt

    res.plot(kind="pt")
    res.plot(kind="radius")
    plt.close("all")
    # the same seed gives the same result; second-order prior also fits
    res2 = InclusionPTPath(nodes=truth["radius"].to_numpy(), random_state=0, n_samples=100).fit(
        data
    )
    assert np.allclose(res2.estimate["T_C"], est["T_C"])
    o2 = InclusionPTPath(nodes=truth["radius"].to_numpy(), order=2, n_samples=0).fit(data)
    assert _rmse(o2.estimate["T_C"], truth["T_C"]) < 25


@pytest.mark.slow
def test_mrf_beats_pointwise_and_intervals_are_calibrated():
    """30 replicates, all inclusions and half of them removed: RMSE ≥ 30 % below point-by-point,
    90 % intervals cover the truth at 80–97 % of the nodes (evidence-chosen smoothness)."""
    rng = np.random.default_rng(0)
    inside_full, inside_half, rm_mrf, rm_pw = [], [], [], []
    for rep in range(30):
        data, truth = synthetic_inclusions(16, sigma=0.005, random_state=100 + rep)
        model = InclusionPTPath(nodes=truth["radius"].to_numpy(), n_samples=0)
        full = model.fit(data).estimate
        half = model.fit(_half(data, rng)).estimate
        pw = pointwise_pt(data)
        inside_full.append(_inside(full, truth))
        inside_half.append(_inside(half, truth))
        rm_mrf.append([_rmse(full["T_C"], truth["T_C"]), _rmse(full["P_kbar"], truth["P_kbar"])])
        rm_pw.append([_rmse(pw["T_C"], truth["T_C"]), _rmse(pw["P_kbar"], truth["P_kbar"])])
    gain = 1 - np.mean(rm_mrf, axis=0) / np.mean(rm_pw, axis=0)
    assert np.all(gain >= 0.30), gain
    cov_full, cov_half = np.mean(inside_full), np.mean(inside_half)
    assert 0.80 <= cov_full <= 0.97, cov_full
    assert 0.80 <= cov_half <= 0.97, cov_half


@pytest.mark.slow
def test_laplace_agrees_with_replica_exchange():
    """REMC means within 0.2 Laplace SD, SD ratios in [0.8, 1.25]. The Laplace–REMC difference at
    the core node is real (≈ 0.17 SD, nonlinearity where few inclusions constrain the path), so
    the chains must be long enough for Monte-Carlo noise not to decide the outcome: with 12000
    steps × 2 chains max |Δmean| ranged 0.12–0.22 over seeds 2–9; with 48000 × 4 it is 0.154,
    0.174, 0.184 for seeds 2, 3, 4."""
    data, truth = synthetic_inclusions(5, sigma=0.005, random_state=3)
    model = InclusionPTPath(nodes=truth["radius"].to_numpy(), random_state=0, n_samples=1000)
    res = model.fit(data)
    remc = model.sample_remc(data, res, n_steps=48000, n_temps=6, n_chains=4, random_state=2)
    th = remc.posterior["theta"].values.reshape(-1, 10)
    e = res.estimate
    dT = (th[:, :5].mean(0) - 273.15 - e["T_C"].values) / e["T_C_sd"].values
    dP = (th[:, 5:].mean(0) - e["P_kbar"].values) / e["P_kbar_sd"].values
    assert np.max(np.abs(np.r_[dT, dP])) < 0.2
    ratio = np.r_[th[:, :5].std(0) / e["T_C_sd"].values, th[:, 5:].std(0) / e["P_kbar_sd"].values]
    assert np.all((ratio > 0.8) & (ratio < 1.25))
    with pytest.raises(ModelError, match="order=1"):  # a result fitted with another prior order
        InclusionPTPath(nodes=truth["radius"].to_numpy(), order=2).sample_remc(data, res)
    with pytest.raises(ModelError, match="order must be 1 or 2"):
        InclusionPTPath(nodes=truth["radius"].to_numpy(), order=3).sample_remc(data, res)


@pytest.mark.slow
def test_laplace_agrees_with_replica_exchange_order2():
    """Second-order (curvature) prior: REMC means within 0.25 Laplace SD, SD ratios in [0.75, 1.3].
    Measured: seed 2 max |Δmean| 0.10 SD, ratios 0.996–1.010; seeds 2–9: 0.08–0.15 SD, 0.97–1.03."""
    data, truth = synthetic_inclusions(5, sigma=0.005, random_state=0)
    model = InclusionPTPath(nodes=truth["radius"].to_numpy(), order=2, random_state=0,
                            n_samples=1000)  # fmt: skip
    res = model.fit(data)
    remc = model.sample_remc(data, res, n_steps=20000, n_temps=6, n_chains=4, random_state=2)
    th = remc.posterior["theta"].values.reshape(-1, 10)
    e = res.estimate
    dT = (th[:, :5].mean(0) - 273.15 - e["T_C"].values) / e["T_C_sd"].values
    dP = (th[:, 5:].mean(0) - e["P_kbar"].values) / e["P_kbar_sd"].values
    assert np.max(np.abs(np.r_[dT, dP])) < 0.25, np.r_[dT, dP]
    ratio = np.r_[th[:, :5].std(0) / e["T_C_sd"].values, th[:, 5:].std(0) / e["P_kbar_sd"].values]
    assert np.all((ratio > 0.75) & (ratio < 1.3)), ratio


@pytest.mark.parametrize("order", [1, 2])
def test_remc_prior_is_the_fit_gmrf_made_proper(order):
    """The REMC log prior is the fit's GMRF (irregular spacing) plus weak node anchors. With anchors
    on ``order`` nodes the map x -> (increments z = D x, anchored values) is a bijection, so the
    anchored prior factorises into independent z_j ~ N(0, 1/(κ w_j)) and x_a ~ N(m_a, s_a²) times
    the constant Jacobian |det [D; E_a]|: an exact, well-conditioned reference built here from the
    Lindgren–Rue operator, used for the density and for the exact draws."""
    from scipy.stats import norm

    from petroinfer.ptpath.inclusions import _remc_prior

    data, _ = synthetic_inclusions(6, sigma=0.005, random_state=0)
    s = np.array([0.0, 0.3, 1.1, 1.5, 2.0])  # irregular spacing
    model = InclusionPTPath(nodes=s, order=order, n_samples=8, random_state=0)
    res = model.fit(data)
    log_prior, prior_sample = _remc_prior(model, model._problem(data), res, anchor_scale=20.0)
    h = np.diff(s)
    if order == 1:
        D, w = np.diff(np.eye(5), axis=0), 1.0 / h
    else:
        D = np.zeros((3, 5))
        for i in range(3):
            D[i, i : i + 3] = [1 / h[i], -(1 / h[i] + 1 / h[i + 1]), 1 / h[i + 1]]
        w = 2.0 / (h[:-1] + h[1:])
    nodes = [0] if order == 1 else [0, 4]
    M = np.vstack([D, np.eye(5)[nodes]])
    log_jac = np.linalg.slogdet(M)[1]
    e = res.estimate
    hp = res.hyperparameters
    chans = [
        (hp["smoothness_T_per_K2"], e["T_C"].values + 273.15, e["T_C_sd"].values),
        (hp["smoothness_P_per_kbar2"], e["P_kbar"].values, e["P_kbar_sd"].values),
    ]

    def reference(x):
        out = np.zeros(len(x))
        for c, (kap, m, sd) in enumerate(chans):
            xc = x[:, 5 * c : 5 * c + 5]
            out += norm.logpdf(xc @ D.T, scale=1 / np.sqrt(kap * w)).sum(1) + log_jac
            out += norm.logpdf(xc[:, nodes], m[nodes], 20.0 * sd[nodes]).sum(1)
        return out

    post = res.posterior  # Laplace draws: realistic, smooth paths
    x = np.hstack(
        [post["T_C"].values.reshape(-1, 5) + 273.15, post["P_kbar"].values.reshape(-1, 5)]
    )
    assert np.allclose(log_prior(x), reference(x), rtol=1e-10, atol=1e-8)
    # along the intrinsic null space (level; and linear trend for order 2) only the anchors act,
    # and they do act: no flat direction is left for the hot replicas to wander along
    v = np.r_[30.0 * (1.0 + (s if order == 2 else 0 * s)), np.zeros(5)]
    curv = log_prior(x + v) + log_prior(x - v) - 2 * log_prior(x)
    lam = 1.0 / (20.0 * chans[0][2][nodes]) ** 2
    assert np.allclose(curv, -np.sum(lam * v[nodes] ** 2), rtol=1e-6)  # anchors only, and < 0
    # exact draws: standardised increments and anchored values are independent N(0, 1)
    draws = prior_sample(np.random.default_rng(2), 20000)
    z = []
    for c, (kap, m, sd) in enumerate(chans):
        xc = draws[:, 5 * c : 5 * c + 5]
        z += [(xc @ D.T) * np.sqrt(kap * w), (xc[:, nodes] - m[nodes]) / (20.0 * sd[nodes])]
    z = np.hstack(z)
    assert z.shape[1] == 10
    assert np.max(np.abs(z.mean(0))) < 4.5 / np.sqrt(20000)
    assert np.allclose(z.std(0), 1.0, atol=0.03)
    assert np.max(np.abs(np.corrcoef(z.T) - np.eye(10))) < 0.04


def test_student_t_resists_reequilibrated_inclusion():
    data, truth = synthetic_inclusions(16, sigma=0.004, random_state=5)
    bad = data.copy()
    i = bad.index[(bad.inclusion == "biotite")][8]
    bad.loc[i, "Bt_XMg"] = bad.loc[i, "Bt_XMg"] - 0.08  # retrograde Fe–Mg exchange with the host
    nodes = truth["radius"].to_numpy()
    g = InclusionPTPath(nodes=nodes, n_samples=0).fit(bad)
    t = InclusionPTPath(nodes=nodes, n_samples=0, likelihood="student_t", nu=3).fit(bad)
    node = int(np.argmin(np.abs(nodes - bad.loc[i, "radius"])))
    err_g = abs(g.estimate["T_C"].values[node] - truth["T_C"].iloc[node])
    err_t = abs(t.estimate["T_C"].values[node] - truth["T_C"].iloc[node])
    assert err_t < err_g
    assert t.observations.loc[i, "weight"] < 0.3  # the outlier is down-weighted
    assert t.observations["weight"].median() > 0.8


def test_calibration_comparison_and_sparse_experiment():
    data, truth = synthetic_inclusions(14, sigma=0.004, random_state=11)
    nodes = truth["radius"].to_numpy()
    cmp_ = compare_calibrations(
        data, pairs=(("FS78", "KN88"), ("HS82", "KN88")), nodes=nodes, n_samples=0
    )
    assert list(cmp_.columns[:3]) == ["thermometer", "barometer", "log_evidence"]
    assert cmp_["thermometer"].iloc[0] == "HS82"  # the generating calibration wins
    exp = sparse_data_experiment(InclusionPTPath(nodes=nodes, n_samples=0), data, fractions=(0.0, 0.6),
                                 n_repeats=3, truth=truth, random_state=0)  # fmt: skip
    assert len(exp) == 4
    by = exp.groupby("fraction_removed").mean(numeric_only=True)
    assert by.loc[0.6, "mean_sd_T_C"] > by.loc[0.0, "mean_sd_T_C"]  # posterior widens in the gaps
    assert by.loc[0.6, "n_inclusions"] < by.loc[0.0, "n_inclusions"]


@pytest.mark.parametrize(
    ("mutate", "match", "column"),
    [
        (lambda d: d.drop(columns=["Grt_XGrs"]), "missing mineral columns", "Grt_XGrs"),
        (lambda d: d.drop(columns=["radius"]), "missing column", "radius"),
        (
            lambda d: d.assign(Pl_XAn=d.Pl_XAn.where(d.index != 1, 1.3)),
            "outside \\(0, 1\\)",
            "Pl_XAn",
        ),
        (lambda d: d.assign(radius=d.radius.where(d.index != 5, 0.0)), "not monotone", "radius"),
        (
            lambda d: d.assign(inclusion=d.inclusion.where(d.index != 2, "garnet")),
            "biotite' or 'plagioclase",
            "inclusion",
        ),
        (
            lambda d: d.assign(Bt_XMg=d.Bt_XMg.where(d.index != 0, 0.0)),
            "K_D is non-positive",
            "Bt_XMg",
        ),
    ],
)
def test_bad_input_names_column(mutate, match, column):
    data, _ = synthetic_inclusions(6, random_state=0)
    with pytest.raises(InputError, match=match) as err:
        InclusionPTPath().fit(mutate(data))
    assert err.value.column == column


def test_bad_options():
    data, _ = synthetic_inclusions(6, random_state=0)
    for kw, match in (
        ({"order": 3}, "order"),
        ({"likelihood": "cauchy"}, "likelihood"),
        ({"thermometer": "XX"}, "thermometer"),
        ({"nodes": [0.0, 0.5, 0.4]}, "strictly"),
    ):
        with pytest.raises((ModelError, InputError), match=match):
            InclusionPTPath(**kw).fit(data)
    with pytest.raises(InputError, match="within the nodes"):
        InclusionPTPath(nodes=[0.5, 1.0, 1.5]).fit(data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        assert isinstance(pointwise_pt(data), pd.DataFrame)


def test_parameters_repr_and_validation():
    """InverseProblem surface: get/set_params round trip, short repr, one message shape."""
    model = InclusionPTPath(order=2, likelihood="student_t", random_state=3)
    assert repr(model) == "InclusionPTPath(order=2, likelihood='student_t', random_state=3)"
    params = model.get_params()
    assert params["order"] == 2 and params["nu"] == 4.0 and params["radius_units"] == "mm"
    clone = InclusionPTPath(**params)
    assert clone.get_params() == params
    assert clone.set_params(order=1) is clone and clone.order == 1
    with pytest.raises(ModelError, match="unknown parameter 'ordre'"):
        clone.set_params(ordre=1)
    data, _ = synthetic_inclusions(6, random_state=0)
    for kw, match in (
        ({"n_samples": -1}, "parameter 'n_samples' must be an int in \\[0, inf\\); got -1"),
        ({"nu": 0.0}, "parameter 'nu' must be a number in \\(0, inf\\)"),
        ({"sigma": -0.1}, "parameter 'sigma'"),
        ({"smoothness": {"T": -1.0}}, "parameter 'smoothness'"),
        ({"smoothness": {"X": 1.0}}, "parameter 'smoothness'"),
    ):
        with pytest.raises(ModelError, match=match):
            InclusionPTPath(**kw).fit(data)


def test_result_units_and_short_repr():
    data, truth = synthetic_inclusions(8, random_state=0)
    res = InclusionPTPath(nodes=truth["radius"].to_numpy(), n_samples=20, random_state=0).fit(data)
    e = res.estimate
    for v in ("T_C", "T_C_sd", "T_C_q05", "T_C_q95"):
        assert e[v].attrs["units"] == "degC"
    for v in ("P_kbar", "P_kbar_sd", "P_kbar_q05", "P_kbar_q95"):
        assert e[v].attrs["units"] == "kbar"
    assert e["rho_TP"].attrs["units"] == "1" and e["radius"].attrs["units"] == "mm"
    assert res.posterior["T_C"].attrs["units"] == "degC"
    assert res.posterior["P_kbar"].attrs["units"] == "kbar"
    # the 90 % band is mean ± z_0.95 sd, z_0.95 = 1.644854 (standard normal quantile)
    np.testing.assert_allclose(e["T_C_q95"] - e["T_C"], 1.6448536 * e["T_C_sd"], rtol=1e-6)
    text = repr(res)
    assert text.startswith("PTPathResult(8 nodes along radius, T ") and len(text) < 200
    assert "log evidence" in text and "16 observations" in text and "20 draws" in text
    assert res.metadata["method"] == "InclusionPTPath"
    assert res.metadata["parameters"]["random_state"] == 0


def test_rows_named_by_sample_id():
    """Messages and the per-inclusion table name rows by sample id (index or id column), not by
    0-based position; duplicated ids are refused."""
    data, _ = synthetic_inclusions(6, random_state=0)
    ids = [f"GRT7-{i:02d}" for i in range(len(data))]
    by_index = data.set_axis(ids)
    by_column = data.assign(sample=ids)
    for d in (by_index, by_column):
        bad = d.copy()
        bad.loc[bad.index[5], "radius"] = 0.0
        with pytest.raises(InputError, match="row 'GRT7-05'") as err:
            InclusionPTPath().fit(bad)
        assert err.value.row == "GRT7-05" and err.value.column == "radius"
    sd = by_index.assign(Grt_XAlm_sd=0.004)
    sd.loc["GRT7-03", "Grt_XAlm_sd"] = -0.01
    with pytest.raises(
        InputError, match=re.escape("column 'Grt_XAlm_sd', row 'GRT7-03', value -0.01")
    ):
        InclusionPTPath().fit(sd)
    dup = by_column.assign(sample=ids[:-1] + ids[:1])
    with pytest.raises(InputError, match="duplicated sample id") as err:
        InclusionPTPath().fit(dup)
    assert err.value.row == "GRT7-00"
    res = InclusionPTPath(n_samples=0).fit(by_column)
    assert list(res.observations.index) == ids
