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
