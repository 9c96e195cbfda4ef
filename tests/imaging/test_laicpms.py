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
        res = LaserDeconvolution(RESP).fit(s, dt=1.0)
        est = res.estimate.sharpened.values[0, 0]
        raw_vp.append(valley_to_peak(s - 2.0, I, J))
        vp.append(valley_to_peak(est, I, J))
        mass.append(est.sum() / (m.sum() * hsum))
    vp, mass = np.array(vp), np.array(mass)
    assert min(raw_vp) > 0.9  # unresolved in the raw trace
    assert np.sum(vp < 0.5) >= 15  # resolved in a large majority of seeds (measured 17/20)
    assert np.all(np.abs(mass - 1) < 0.05)  # total mass within ± 5 % in every seed


@pytest.mark.slow
def test_automatic_lambda_against_the_oracle():
    """GCV's λ is within one decade of the oracle-MSE λ; the discrepancy λ is larger (smoother).

    On this two-Dirac set-up the MSE falls monotonically as λ → 0 (NNLS is itself sparse), so the
    oracle sits near the small end of the grid; the discrepancy rule stops 1-2.5 decades above it
    (it still resolves the pair and conserves mass, see the 20-seed test).
    """
    m = _particles()
    hsum = RESP.kernel(1.0, N).sum()
    dist = {"discrepancy": [], "gcv": []}
    for seed in range(6):
        s = simulate_line_scan(m, RESP, 1.0, baseline=2.0, random_state=100 + seed)
        chosen = {
            c: LaserDeconvolution(RESP, criterion=c, n_lambda=24).fit(s, dt=1.0) for c in dist
        }
        grid = chosen["gcv"].criterion.lam_value.values[0]
        mse = []
        for lam in grid:
            fit = LaserDeconvolution(RESP, lam=float(lam)).fit(s, dt=1.0)
            mse.append(np.mean((fit.estimate.sharpened.values[0, 0] - m * hsum) ** 2))
        oracle = grid[int(np.argmin(mse))]
        for c, res in chosen.items():
            dist[c].append(abs(np.log10(res.hyperparameters["lam"][0] / oracle)))
    gcv, disc = np.array(dist["gcv"]), np.array(dist["discrepancy"])
    assert np.sum(gcv <= 1.0) >= 4, gcv  # measured: see the docs page
    assert np.all(disc <= 2.6), disc


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
    assert res.hyperparameters["criterion"] == "discrepancy"
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
