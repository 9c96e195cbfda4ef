"""GCV degrees of freedom of the LA-ICP-MS deconvolution by block-banded selected inversion.

Reference: the dense trace tr((AᵀA + λP)⁻¹AᵀA) of the active-set design written out here with
numpy (independent of the block recursion), and the exact rank for the unpenalised fit.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from threadpoolctl import threadpool_limits

from petroinfer.imaging import LogNormalResponse, simulate_line_scan
from petroinfer.imaging._deconv import DF_LINES, Problem, _df_quadratic, solve
from petroinfer.imaging._deconv_df import line_df


@pytest.fixture(autouse=True, scope="module")
def _one_blas_thread():
    """Small dense blocks: threaded BLAS only adds contention on a shared 2-core machine."""
    with threadpool_limits(limits=1, user_api="blas"):
        yield


def dense_df(h, w, active, lam, penalty, baseline_c=None):
    """tr(G⁻¹M) with the full dense matrices (independent reference)."""
    n = w.size
    H = np.zeros((n, n))
    for j in range(n):
        k = min(h.size, n - j)
        H[j : j + k, j] = h[:k]
    A = H[:, active]
    if baseline_c is not None:
        A = np.column_stack([A, np.full(n, baseline_c)])
    A = A * np.sqrt(w)[:, None]
    M = A.T @ A
    eye = np.eye(n)
    L = {"l2": eye, "d1": np.diff(eye, axis=0), "d2": np.diff(eye, 2, axis=0)}.get(penalty)
    P = np.zeros_like(M)
    if L is not None:
        La = L[:, active]
        P[: La.shape[1], : La.shape[1]] = La.T @ La
    return float(np.trace(np.linalg.solve(M + lam * P, M)))


def _line(n, fwhm, seed, rate=0.03):
    rng = np.random.default_rng(seed)
    resp = LogNormalResponse.from_fwhm(fwhm, sigma=0.5)
    m = rng.poisson(rate, (1, n)) * rng.uniform(100, 800, (1, n)) + rng.uniform(0, 5)
    s = simulate_line_scan(m, resp, 1.0, baseline=2.0, random_state=seed)
    return s, resp.kernel(1.0, n)


@pytest.mark.parametrize("penalty", ["l2", "d1", "d2"])
@pytest.mark.parametrize("baseline", [True, False])
def test_block_selected_inversion_equals_the_dense_trace(penalty, baseline):
    """Active sets from real non-negative fits (kernel 3–12 samples FWHM), λ over 8 decades."""
    worst, partial = 0.0, 0
    for n, fwhm, seed in ((200, 6.0, 0), (300, 11.65, 1), (250, 3.0, 2)):
        s, h = _line(n, fwhm, seed)
        prob = Problem(s, h, fit_baseline=baseline)
        w = prob.initial_weights()
        lam0 = float(np.mean(w)) * float(np.sum(prob.h**2))
        for f in (1e2, 1e-1, 1e-3, 1e-6):
            x, _, _ = solve(prob, lam0 * f, penalty, w, prob.initial_x(None, w), max_iter=400)
            act = x[0, :n] > 0
            assert act.any()
            partial += int(act.sum() < n)
            c = prob.c if baseline else None
            ref = dense_df(prob.h, w[0], act, lam0 * f, penalty, c)
            got = line_df(prob.h, w[0], act, lam0 * f, penalty, baseline_c=c)
            worst = max(worst, abs(got - ref) / ref)
    assert partial >= 6  # most cases have a genuine active set (some shots at zero)
    assert worst < 1e-8, worst  # measured 9e-13


def test_unpenalised_df_is_the_rank():
    s, h = _line(200, 6.0, 3)
    prob = Problem(s, h)
    w = prob.initial_weights()
    x, _, _ = solve(prob, 0.0, "none", w, prob.initial_x(None, w), max_iter=400)
    act = x[0, :200] > 0
    assert line_df(prob.h, w[0], act, 0.0, "none", baseline_c=prob.c) == act.sum() + 1
    assert line_df(prob.h, w[0], act, 0.0, "none") == act.sum()
    # a 1-sample response with every shot active: the constant is in span(H_A), rank = n
    one = np.array([1.0])
    assert line_df(one, w[0], np.ones(200, bool), 0.0, "none", baseline_c=prob.c) == 200


def test_singular_design_falls_back_to_the_dense_rank():
    """A delayed response (zero first samples) makes the last columns of H zero: the block
    Cholesky fails and the dense rank is used."""
    n = 40
    h = np.r_[0.0, 0.0, 0.5, 0.3, 0.2]
    prob = Problem(np.ones((1, n)), h, fit_baseline=False)
    x = np.ones((1, n + 1))
    df = _df_quadratic(prob, x, np.ones((1, n)), 0.0, "none")
    assert df == n - 2  # two shots fire after the scan ends: rank n - 2


def test_sampled_lines_mean_and_count():
    """df is the mean over min(DF_LINES, lines) evenly spaced lines, each equal to the dense
    trace; a batch shorter than DF_LINES uses every line."""
    rng = np.random.default_rng(4)
    resp = LogNormalResponse.from_fwhm(4.0, sigma=0.5)
    n, lines = 120, 5
    m = rng.poisson(0.05, (lines, n)) * rng.uniform(100, 800, (lines, n)) + 3.0
    s = simulate_line_scan(m, resp, 1.0, baseline=2.0, random_state=4)
    prob = Problem(s, resp.kernel(1.0, n))
    w = prob.initial_weights()
    lam = 1e-3 * float(np.mean(w)) * float(np.sum(prob.h**2))
    x, _, _ = solve(prob, lam, "l2", w, prob.initial_x(None, w), max_iter=400)
    per_line = [dense_df(prob.h, w[i], x[i, :n] > 0, lam, "l2", prob.c) for i in range(lines)]
    assert DF_LINES >= lines
    assert _df_quadratic(prob, x, w, lam, "l2") == pytest.approx(np.mean(per_line), rel=1e-9)
    # two sampled lines: lines 0 and 4
    two = _df_quadratic(prob, x, w, lam, "l2", max_lines=2)
    assert two == pytest.approx((per_line[0] + per_line[4]) / 2, rel=1e-9)


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(8, 60),
    k=st.integers(1, 25),
    density=st.floats(0.05, 1.0),
    log_lam=st.floats(-6, 2),
    penalty=st.sampled_from(["l2", "d1", "d2"]),
    baseline=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_block_df_matches_dense_for_random_designs(n, k, density, log_lam, penalty, baseline, seed):
    """Any kernel, weights, active pattern (blocks of every size, gaps wider than the kernel)."""
    rng = np.random.default_rng(seed)
    h = rng.uniform(0.01, 1.0, min(k, n))
    w = rng.uniform(0.01, 1.0, n)
    act = rng.uniform(size=n) < density
    act[rng.integers(n)] = True
    c = 1 / np.sqrt(n) if baseline else None
    ref = dense_df(h, w, act, 10.0**log_lam, penalty, c)
    got = line_df(h, w, act, 10.0**log_lam, penalty, baseline_c=c)
    assert got == pytest.approx(ref, rel=1e-8, abs=1e-10)
