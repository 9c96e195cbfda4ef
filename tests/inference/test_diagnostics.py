"""Convergence diagnostics: ArviZ numbers, thresholds, warnings and batch-means errors."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import xarray as xr

from petroinfer.errors import ConvergenceWarning, InputError
from petroinfer.inference.diagnostics import (
    batch_means_se,
    check_convergence,
    convergence_diagnostics,
    summarize_draws,
)


def ar1(rng, rho, shape):
    """Stationary AR(1) series with unit marginal variance along the last axis."""
    eps = rng.standard_normal(shape) * np.sqrt(1 - rho**2)
    x = np.empty(shape)
    x[..., 0] = rng.standard_normal(shape[:-1])
    for t in range(1, shape[-1]):
        x[..., t] = rho * x[..., t - 1] + eps[..., t]
    return x


def test_iid_chains_pass_and_vector_names():
    rng = np.random.default_rng(0)
    ds = xr.Dataset(
        {
            "mu": (("chain", "draw"), rng.standard_normal((4, 1000))),
            "theta": (("chain", "draw", "param"), rng.standard_normal((4, 1000, 2))),
        },
        coords={"param": ["a", "b"]},
    )
    d = convergence_diagnostics(ds)
    assert set(d["r_hat"]) == {"mu", "theta[a]", "theta[b]"}
    assert all(abs(v - 1) < 0.01 for v in d["r_hat"].values())
    assert all(3000 < v < 5500 for v in d["ess_bulk"].values())
    # MCSE of the mean of iid N(0,1) draws is 1/sqrt(4000)
    assert all(abs(v - 1 / np.sqrt(4000)) < 0.004 for v in d["mcse_mean"].values())
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        assert check_convergence(d, swap_rates=[0.3, 0.4]) == []


def test_unmixed_chains_flag_rhat():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((4, 500)) + np.array([0.0, 0.0, 0.0, 1.0])[:, None]
    d = convergence_diagnostics(xr.Dataset({"x": (("chain", "draw"), x)}))
    assert d["r_hat"]["x"] > 1.05
    with pytest.warns(ConvergenceWarning, match="R-hat > 1.01"):
        problems = check_convergence(d)
    assert problems[0].startswith("R-hat > 1.01 for 1 quantities (worst x:")


def test_autocorrelated_chain_flags_ess_and_single_chain_split():
    rng = np.random.default_rng(2)
    x = ar1(rng, 0.99, (1, 2000))
    d = convergence_diagnostics(xr.Dataset({"x": (("chain", "draw"), x)}))
    assert np.isfinite(d["r_hat"]["x"])  # one chain is split in halves
    assert d["ess_bulk"]["x"] < 200
    problems = check_convergence(d, warn=False)
    assert any("bulk ESS < 400" in p for p in problems)


def test_swap_rate_threshold():
    d = {"r_hat": {"x": 1.0}, "ess_bulk": {"x": 1000.0}}
    with pytest.warns(ConvergenceWarning, match="swap rate < 0.1 in 2 ladder pairs"):
        check_convergence(d, swap_rates=np.array([[0.5, 0.05], [0.02, np.nan]]))
    assert check_convergence(d, swap_rates=[0.1, 0.9], warn=False) == []


def test_batch_means_matches_ar1_theory():
    rng = np.random.default_rng(3)
    rho, n = 0.8, 40_000
    x = ar1(rng, rho, (n,))
    se = batch_means_se(x)
    theory = np.sqrt((1 + rho) / (1 - rho) / n)  # integrated autocorrelation time (1+ρ)/(1−ρ)
    assert abs(se / theory - 1) < 0.3


def test_bad_inputs():
    with pytest.raises(InputError, match="chain"):
        convergence_diagnostics(xr.Dataset({"x": (("draw",), np.zeros(10))}))
    with pytest.raises(InputError, match="at least 4 draws"):
        convergence_diagnostics(xr.Dataset({"x": (("chain", "draw"), np.zeros((2, 3)))}))
    with pytest.raises(InputError, match="xarray"):
        convergence_diagnostics(np.zeros((2, 10)))
    with pytest.raises(InputError, match="batch"):
        batch_means_se(np.zeros(15), n_batches=10)


# --------------------------------------------------------------------------- ArviZ 0.x → 1.x
def _fixed_draws() -> xr.Dataset:
    """4 AR(1) chains (rho 0.7) of 250 draws, one chain offset; a scalar and a 2-vector."""
    rng = np.random.default_rng(20240611)
    e = rng.standard_normal((4, 250, 3))
    x = np.empty_like(e)
    x[:, 0] = e[:, 0]
    for t in range(1, 250):
        x[:, t] = 0.7 * x[:, t - 1] + e[:, t]
    x[1] += 0.15
    return xr.Dataset(
        {
            "mu": (("chain", "draw"), x[..., 0] + 2.0),
            "theta": (("chain", "draw", "k"), x[..., 1:] * np.array([1.0, 3.0])),
        },
        coords={"chain": np.arange(4), "draw": np.arange(250), "k": ["a", "b"]},
    )


# Recorded with arviz 0.23.4 (az.rhat method="rank", az.ess "bulk"/"tail", az.mcse "mean",
# az.summary(hdi_prob=0.9, round_to="none")) on _fixed_draws(), before the move to arviz-stats.
ARVIZ_023 = {
    "r_hat": {
        "mu": 1.0209151355725201,
        "theta[a]": 1.0310919078422875,
        "theta[b]": 1.0142357493685323,
    },
    "ess_bulk": {
        "mu": 181.4490246454482,
        "theta[a]": 142.9652063912215,
        "theta[b]": 203.7676136564532,
    },
    "ess_tail": {
        "mu": 281.25828330069214,
        "theta[a]": 320.2490816207681,
        "theta[b]": 377.89773869258136,
    },
    "mcse_mean": {
        "mu": 0.11497189504331831,
        "theta[a]": 0.11199546832717651,
        "theta[b]": 0.3114016512626154,
    },
}
ARVIZ_023_SINGLE_CHAIN = {  # chain 0 only; R-hat from petroinfer's split of the chain in halves
    "r_hat": {
        "mu": 1.0411934474179394,
        "theta[a]": 1.0640491630099178,
        "theta[b]": 1.0118742786375192,
    },
    "ess_bulk": {
        "mu": 33.80507684909393,
        "theta[a]": 31.680492913242993,
        "theta[b]": 64.93067783872706,
    },
    "ess_tail": {
        "mu": 99.0593495080483,
        "theta[a]": 78.39947086732224,
        "theta[b]": 65.98461960999725,
    },
    "mcse_mean": {
        "mu": 0.2781405383560629,
        "theta[a]": 0.200766989914681,
        "theta[b]": 0.5390675240488301,
    },
}
ARVIZ_023_SUMMARY = {  # rows mu, theta[a], theta[b]
    "mean": [2.071800615672746, -0.02586908695499096, -0.5300722472759665],
    "sd": [1.544033605688022, 1.3268089021571874, 4.442850747882775],
    "hdi_5%": [-0.5890559493227299, -2.070819228206151, -7.579803792181108],
    "hdi_95%": [4.39015194492279, 2.283587339793788, 6.794071383750242],
    "mcse_mean": [0.11497189504331831, 0.1119954683271765, 0.3114016512626154],
    "ess_bulk": [181.4490246454482, 142.9652063912215, 203.7676136564532],
    "ess_tail": [281.25828330069214, 320.2490816207681, 377.89773869258136],
    "r_hat": [1.0209151355725201, 1.0310919078422875, 1.0142357493685323],
}


@pytest.mark.parametrize(
    ("chains", "expected"), [([0, 1, 2, 3], ARVIZ_023), ([0], ARVIZ_023_SINGLE_CHAIN)]
)
def test_diagnostics_equal_arviz_023_values(chains, expected):
    d = convergence_diagnostics(_fixed_draws().isel(chain=chains))
    for key, values in expected.items():
        assert set(d[key]) == set(values)
        for name, value in values.items():
            assert d[key][name] == pytest.approx(value, rel=1e-10), (key, name)


def test_summary_equals_arviz_023_summary():
    table = summarize_draws(_fixed_draws(), hdi_prob=0.9)
    assert list(table.index) == ["mu", "theta[a]", "theta[b]"]
    assert list(table.columns) == [
        "mean", "sd", "hdi_5%", "hdi_95%", "mcse_mean", "mcse_sd", "ess_bulk", "ess_tail", "r_hat"
    ]  # fmt: skip
    for column, values in ARVIZ_023_SUMMARY.items():
        np.testing.assert_allclose(table[column].to_numpy(), values, rtol=1e-10, err_msg=column)
    # mcse_sd is ArviZ 1.x's estimator (0.x gave 0.0617, 0.0483, 0.151): same order, positive
    assert np.all((table["mcse_sd"] > 0.03) & (table["mcse_sd"] < 0.3))


def test_datatree_input_is_read_from_its_posterior_group():
    ds = _fixed_draws()
    tree = xr.DataTree.from_dict(
        {"/posterior": ds, "/observed_data": xr.Dataset({"y": ("n", [1.0])})}
    )
    assert convergence_diagnostics(tree) == convergence_diagnostics(ds)
    with pytest.raises(InputError, match="hdi_prob"):
        summarize_draws(ds, hdi_prob=1.5)
