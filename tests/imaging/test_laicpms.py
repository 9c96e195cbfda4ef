"""LA-ICP-MS line-scan deconvolution: solvers vs NNLS, calibrated resolution test, real scan."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import nnls as scipy_nnls

from petroinfer.errors import InputError, ModelError
from petroinfer.imaging import (
    LaserDeconvolution,
    LogNormalResponse,
    simulate_line_scan,
    valley_to_peak,
)
from petroinfer.imaging._deconv import Problem, solve
from petroinfer.io import read_laicpms
from petroinfer.io.datasets import dataset_path

# §B test (c) set-up: n = 200, log-normal SPR τ = 12 samples, σ = 0.5 (FWHM 11.65 samples),
# two equal particles 7 samples apart (0.6 FWHM), peak ≈ 1000 counts, baseline 2 counts, Poisson.
RESP = LogNormalResponse(median=12.0, sigma=0.5)
N, I, J = 200, 90, 97


def _particles() -> np.ndarray:
    m = np.zeros(N)
    m[[I, J]] = 1.0
    return m * 1000.0 / simulate_line_scan(m, RESP, 1.0).max()


@pytest.mark.parametrize("penalty", ["none", "l1", "l2", "tv"])
def test_iterative_solvers_reproduce_scipy_nnls_at_zero_penalty(penalty):
    resp = LogNormalResponse(0.6, 0.5)  # well-conditioned kernel (|ĥ| ≥ 0.7)
    rng = np.random.default_rng(0)
    m = np.zeros(300)
    m[rng.choice(300, 30, replace=False)] = rng.uniform(100, 1000, 30)
    s = rng.poisson(simulate_line_scan(m, resp, 1.0)).astype(float)
    prob = Problem(s, resp.kernel(1.0, 300), fit_baseline=False)
    H = prob.H(np.eye(300)).T
    ref, _ = scipy_nnls(H, s, maxiter=10000)
    x, ok, _ = solve(prob, 0.0, penalty, np.ones(300), np.zeros(301), tol=1e-12, max_iter=10**5)
    assert ok
    assert np.linalg.norm(x[:300] - ref) / np.linalg.norm(ref) < 1e-6


def test_batched_lines_equal_single_lines():
    m = np.stack([_particles(), np.roll(_particles(), 30)])
    s = simulate_line_scan(m, RESP, 1.0, baseline=2.0, random_state=5)
    est = LaserDeconvolution(RESP, lam=1e-4, solver="iterative", tol=1e-9).fit(s, dt=1.0)
    one = LaserDeconvolution(RESP, lam=1e-4, solver="iterative", tol=1e-9).fit(s[1], dt=1.0)
    ex = LaserDeconvolution(RESP, lam=1e-4, solver="exact").fit(s[1], dt=1.0)
    a = est.estimate.sharpened.values[0, 1]
    np.testing.assert_allclose(a, one.estimate.sharpened.values[0, 0], atol=1e-3 * a.max())
    np.testing.assert_allclose(a, ex.estimate.sharpened.values[0, 0], atol=2e-2 * a.max())


@pytest.mark.slow
def test_calibrated_synthetic_resolution_20_seeds():
    m = _particles()
    hsum = RESP.kernel(1.0, N).sum()
    raw_vp, vp, mass = [], [], []
    for seed in range(20):
        s = simulate_line_scan(m, RESP, 1.0, baseline=2.0, random_state=seed)
        res = LaserDeconvolution(RESP).fit(s, dt=1.0)  # default: λ by GCV
        est = res.estimate.sharpened.values[0, 0]
        raw_vp.append(valley_to_peak(s - 2.0, I, J))
        vp.append(valley_to_peak(est, I, J))
        mass.append(est.sum() / (m.sum() * hsum))
    vp, mass = np.array(vp), np.array(mass)
    assert min(raw_vp) > 0.9  # unresolved in the raw trace
    assert np.sum(vp < 0.5) >= 18  # resolved in a large majority of seeds (measured 20/20)
    assert np.all(np.abs(mass - 1) < 0.05)  # total mass within ± 5 % in every seed


@pytest.mark.slow
def test_automatic_lambda_within_one_decade_of_the_oracle():
    """The default rule (GCV) picks λ within one decade of the oracle-MSE λ on most seeds.

    Oracle: the λ of the fit's own grid whose fixed-λ refit has the smallest MSE against the true
    shot masses. On this two-Dirac set-up the MSE falls until ≈ 10⁻⁶ λ₀ and is flat below it
    (NNLS is itself sparse), so the oracle sits at the small end of the grid; the discrepancy rule
    stops 1–2.8 decades above it (measured 0/20 within one decade).
    """
    m = _particles()
    hsum = RESP.kernel(1.0, N).sum()
    dist, mse_ratio = [], []
    for seed in range(12):
        s = simulate_line_scan(m, RESP, 1.0, baseline=2.0, random_state=100 + seed)
        res = LaserDeconvolution(RESP, n_lambda=24).fit(s, dt=1.0)
        assert res.hyperparameters["criterion"] == "gcv"
        grid = res.criterion.lam_value.values[0]
        mse = []
        for lam in grid:
            fit = LaserDeconvolution(RESP, lam=float(lam)).fit(s, dt=1.0)
            mse.append(np.mean((fit.estimate.sharpened.values[0, 0] - m * hsum) ** 2))
        chosen = res.hyperparameters["lam"][0]
        dist.append(abs(np.log10(chosen / grid[int(np.argmin(mse))])))
        mse_ratio.append(mse[int(np.argmin(np.abs(grid - chosen)))] / min(mse))
    dist = np.array(dist)
    assert np.sum(dist <= 1.0) >= 10, dist  # measured 11/12 (19/20 on seeds 100-119)
    # the MSE at the chosen λ is near the oracle's (measured median 1.43, range 1.0-4.5: the MSE
    # drops steeply just above the flat region)
    assert np.median(mse_ratio) < 2.0, mse_ratio


@pytest.mark.slow
def test_bootstrap_interval_of_a_feature_mass_is_calibrated():
    """Nominal 90 % parametric-bootstrap intervals of the mass of the particle pair (a window of
    ± 6 samples around it) cover the truth in ≈ 90 % of 40 synthetic lines (measured 35/40 here,
    36/40 on seeds 0-39 with 100 draws). Pointwise intervals and the whole-line total are not
    calibrated: the total carries a 1.4 % bias (baseline vs a spread of small shots) against a 0.8 %
    bootstrap spread (measured coverage 5/40); see docs/methods/laicpms.md."""
    m = _particles()
    truth = m * Problem(np.ones(N), RESP.kernel(1.0, N)).Ht(np.ones(N))
    s = np.stack(
        [simulate_line_scan(m, RESP, 1.0, baseline=2.0, random_state=1000 + k) for k in range(40)]
    )
    res = LaserDeconvolution(RESP, n_bootstrap=50, random_state=0).fit(s, dt=1.0)
    win = slice(I - 6, J + 7)
    boot = res.posterior.sharpened.values[0, :, 0, :, win].sum(-1)  # draw, line
    lo, hi = np.quantile(boot, [0.05, 0.95], axis=0)
    tv = truth[win].sum()
    covered = np.sum((lo <= tv) & (tv <= hi))
    assert 31 <= covered <= 39, covered  # binomial(40, 0.9): 31-39 holds 99 % of the mass
    assert np.mean(hi - lo) / tv == pytest.approx(2 * 1.645 * 0.0087, rel=0.3)  # ≈ Poisson width


def test_penalties_and_richardson_lucy_sharpen_and_conserve_mass():
    m = _particles()
    s = simulate_line_scan(m, RESP, 1.0, baseline=2.0, random_state=3)
    hsum = RESP.kernel(1.0, N).sum()
    for pen in ("l1", "d1", "richardson_lucy"):
        res = LaserDeconvolution(RESP, penalty=pen, n_lambda=8).fit(s, dt=1.0)
        est = res.estimate.sharpened.values[0, 0]
        assert est.min() >= 0
        assert est.sum() / (m.sum() * hsum) == pytest.approx(1.0, abs=0.08), pen
        assert valley_to_peak(est, I, J) < 0.5, pen


def _rise(x: np.ndarray) -> int:
    """Samples between 10 % and 90 % of an edge's height."""
    c = (x - x[:20].mean()) / (x[-40:-20].mean() - x[:20].mean())
    return int(np.argmax(c > 0.9) - np.argmax(c > 0.1))


@pytest.mark.filterwarnings("ignore::petroinfer.errors.ConvergenceWarning")
def test_total_variation_sharpens_an_edge():
    resp = LogNormalResponse(median=4.0, sigma=0.5)
    m = np.r_[np.zeros(60), np.full(60, 200.0)]
    s = simulate_line_scan(m, resp, 1.0, baseline=2.0, random_state=2)
    res = LaserDeconvolution(resp, penalty="tv", n_lambda=6, max_iter=1500).fit(s, dt=1.0)
    est = res.estimate.sharpened.values[0, 0]
    assert _rise(est) <= 2 < _rise(s)
    assert est[30:55].mean() == pytest.approx(0.0, abs=5.0)
    assert est[70:95].mean() == pytest.approx(200.0 * resp.kernel(1.0, 120).sum(), rel=0.05)


def test_result_contents_and_bootstrap():
    m = _particles()
    s = simulate_line_scan(m, RESP, 1.0, baseline=2.0, random_state=1)
    res = LaserDeconvolution(RESP, n_lambda=12, n_bootstrap=8, random_state=0).fit(s, dt=1.0)
    assert res.criterion is not None and res.criterion.sizes["lam"] == 12
    assert {"chi2", "gcv", "mass_ratio", "lam_value"} <= set(res.criterion.data_vars)
    assert res.posterior.sharpened.dims == ("chain", "draw", "isotope", "line", "time")
    assert res.posterior.sizes["draw"] == 8
    q = res.posterior.sharpened.sum("time").quantile([0.05, 0.95], dim="draw").values.ravel()
    assert q[0] < q[1]
    # the constant baseline trades off against a uniform spread of small shots (weakly
    # identified as λ → 0); the fitted signal is what is pinned
    assert 0.0 <= res.estimate.baseline.values[0, 0] <= 3.0
    mu = simulate_line_scan(m, RESP, 1.0, baseline=2.0)
    fit = res.estimate.fitted.values[0, 0]
    assert np.sqrt(np.mean((fit - mu) ** 2)) / np.sqrt(np.mean(mu**2)) < 0.05
    assert res.hyperparameters["criterion"] == "gcv"
    assert res.estimate.sharpened.attrs["units"]


@pytest.fixture(scope="module")
def sekro():
    path = dataset_path("laicpms_sekro_c1sa1")
    if path is None:
        pytest.skip("dataset laicpms_sekro_c1sa1 absent (set PETROINFER_DATA_DIR to shared data)")
    return read_laicpms(path)


def test_real_scan_one_sample_response_changes_little(sekro):
    cube = sekro.isel(line=slice(0, 40))
    narrow = LogNormalResponse(median=0.05, sigma=0.3)  # all within the first 330 ms sample
    assert narrow.kernel(cube.attrs["dwell_s"], 3)[0] > 0.999
    res = LaserDeconvolution(narrow, penalty="none", lam=0.0, solver="iterative").fit(cube)
    est = res.estimate
    rebuilt = est.sharpened + est.baseline  # NNLS with a 1-sample response: ≈ the data
    rms = float(np.sqrt(((rebuilt - cube) ** 2).mean()) / np.sqrt((cube**2).mean()))
    assert rms < 0.05
    assert not bool(est.sharpened.isnull().any())


def test_bad_input():
    good = simulate_line_scan(_particles(), RESP, 1.0, baseline=2.0, random_state=0)
    bad = good.copy()
    bad[5] = np.nan
    with pytest.raises(InputError, match="NaN"):
        LaserDeconvolution(RESP).fit(bad, dt=1.0)
    bad[5] = -1.0
    with pytest.raises(InputError, match="sample 5"):
        LaserDeconvolution(RESP).fit(bad, dt=1.0)
    with pytest.raises(ModelError, match="wider than the scan"):
        LaserDeconvolution(LogNormalResponse(300.0, 0.5)).fit(good, dt=1.0)
    with pytest.raises(ModelError, match="penalty"):
        LaserDeconvolution(RESP, penalty="l3").fit(good, dt=1.0)
    with pytest.raises(ModelError, match="evidence"):
        LaserDeconvolution(RESP, penalty="tv", criterion="evidence").fit(good, dt=1.0)
    with pytest.raises(InputError, match="dt"):
        LaserDeconvolution(RESP).fit(good)


@pytest.mark.parametrize("criterion", ["lcurve", "evidence", "gcv"])
def test_every_criterion_gives_a_finite_curve_and_an_interior_choice(criterion):
    m = _particles()
    s = simulate_line_scan(m, RESP, 1.0, baseline=2.0, random_state=7)
    res = LaserDeconvolution(RESP, criterion=criterion, n_lambda=12).fit(s, dt=1.0)
    grid = res.criterion.lam_value.values[0]
    lam = res.hyperparameters["lam"][0]
    assert grid.min() <= lam <= grid.max()
    key = {"lcurve": "penalty", "evidence": "log_evidence", "gcv": "gcv"}[criterion]
    assert np.all(np.isfinite(res.criterion[key].values))
    est = res.estimate.sharpened.values[0, 0]
    assert est.sum() / (m.sum() * RESP.kernel(1.0, N).sum()) == pytest.approx(1.0, abs=0.1)
