"""Condat–Vũ primal–dual splitting and Richardson–Lucy against known optima."""

from __future__ import annotations

import numpy as np
from scipy.optimize import nnls as scipy_nnls

from petroinfer.inference.sparse import condat_vu, diff1, diff1_adjoint, richardson_lucy


def test_diff_adjoint_identity():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(3, 9)), rng.normal(size=(3, 8))
    assert np.isclose(np.sum(diff1(x) * y), np.sum(x * diff1_adjoint(y)), atol=1e-12)


def test_tv_denoising_of_a_step_matches_the_closed_form():
    # min ½‖x − b‖² + λ‖Dx‖₁ for a step of height 1 (levels n1, n2): each level moves by λ/n_level
    n1, n2, lam = 5, 3, 0.6
    b = np.r_[np.zeros(n1), np.ones(n2)]
    res = condat_vu(
        lambda x: x - b,
        lambda v, t: v,
        lambda v, s: np.clip(v, -lam, lam),
        diff1,
        diff1_adjoint,
        np.zeros(n1 + n2),
        lipschitz=1.0,
        norm_K=2.0,
        tol=1e-13,
        max_iter=100000,
    )
    expected = np.r_[np.full(n1, lam / n1), np.full(n2, 1 - lam / n2)]
    assert res.converged
    np.testing.assert_allclose(res.x, expected, atol=1e-8)


def test_condat_vu_at_zero_penalty_is_nnls():
    rng = np.random.default_rng(1)
    A = rng.normal(size=(40, 15))
    b = A @ np.maximum(rng.normal(size=15), 0) + 0.3 * rng.normal(size=40)
    L = np.linalg.norm(A, 2) ** 2
    res = condat_vu(
        lambda x: A.T @ (A @ x - b),
        lambda v, t: np.maximum(v, 0.0),
        lambda v, s: np.clip(v, 0.0, 0.0),
        diff1,
        diff1_adjoint,
        np.zeros(15),
        lipschitz=L,
        norm_K=2.0,
        tol=1e-14,
        max_iter=200000,
    )
    ref, _ = scipy_nnls(A, b)
    assert np.linalg.norm(res.x - ref) / np.linalg.norm(ref) < 1e-6


def test_richardson_lucy_conserves_flux_and_converges():
    rng = np.random.default_rng(2)
    n = 30
    h = np.array([0.5, 0.3, 0.2])
    H = sum(np.eye(n + 2, n, -k) * h[k] for k in range(3))  # full convolution: columns sum to 1
    x_true = rng.gamma(2.0, 5.0, n)
    s = H @ x_true
    flux = []
    x, k = richardson_lucy(
        lambda v: H @ v,
        lambda r: H.T @ r,
        s,
        np.ones(n),
        n_iter=5,
        callback=lambda k, v: flux.append(v.sum()) or False,
    )
    assert k == 5
    np.testing.assert_allclose(flux, s.sum(), rtol=1e-12)
    x, _ = richardson_lucy(lambda v: H @ v, lambda r: H.T @ r, s, np.ones(n), n_iter=20000)
    assert np.all(x >= 0)
    np.testing.assert_allclose(H @ x, s, rtol=1e-4)
