"""Sparse/convex solvers against known optima: closed forms, KKT conditions, scipy NNLS."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import minimize
from scipy.optimize import nnls as scipy_nnls

from petroinfer.inference.sparse import (
    fista,
    group_l2_norms,
    group_l2_penalty,
    lipschitz_least_squares,
    lipschitz_multinomial,
    nnls,
    nonneg_lasso,
    nonneg_lasso_gram,
    nonneg_lasso_kkt,
    prox_group_l2,
    prox_l1,
    prox_nonneg,
    prox_nonneg_l1,
)


def _orthonormal(n: int, p: int, seed: int) -> np.ndarray:
    q, _ = np.linalg.qr(np.random.default_rng(seed).standard_normal((n, p)))
    return q


def test_prox_operators_match_their_definition_by_brute_force():
    rng = np.random.default_rng(1)
    v = rng.standard_normal(6) * 2
    t = 0.7
    for prox, g in [
        (lambda v: prox_l1(v, t), lambda x: t * np.abs(x).sum()),
        (lambda v: prox_nonneg_l1(v, t), lambda x: t * x.sum() if (x >= 0).all() else np.inf),
        (
            lambda v: prox_group_l2(v, t, np.array([0, 0, 1, 1, 1, 2])),
            lambda x: t * group_l2_penalty(x, np.array([0, 0, 1, 1, 1, 2])),
        ),
    ]:
        x = prox(v)
        obj = 0.5 * np.sum((x - v) ** 2) + g(x)
        for _ in range(200):  # no random perturbation does better
            z = x + 0.05 * rng.standard_normal(6)
            if not np.isfinite(g(z)):
                z = np.maximum(z, 0)
            assert 0.5 * np.sum((z - v) ** 2) + g(z) >= obj - 1e-12
    assert np.array_equal(prox_nonneg(np.array([-1.0, 2.0])), [0.0, 2.0])
    # weighted soft threshold and the per-(group, column) block norms
    assert np.allclose(prox_l1(np.array([2.0, 2.0]), np.array([0.5, 3.0])), [1.5, 0.0])
    W = np.array([[3.0, 0.0], [4.0, 1.0], [1.0, 2.0]])
    assert np.allclose(group_l2_norms(W, np.array([0, 0, 1]), per_column=True)[:, 0], [5, 5, 1])
    assert group_l2_penalty(W, None) == pytest.approx(3 + np.sqrt(17) + np.sqrt(5))


def test_lasso_with_orthonormal_design_is_soft_thresholding():
    """Orthonormal columns: argmin ½‖Ax−b‖² + λ‖x‖₁ = S_λ(Aᵀb) (Tibshirani 1996, eq. 2.6)."""
    A = _orthonormal(30, 8, 0)
    x_true = np.array([3.0, -2.0, 0.0, 0.0, 0.4, 0.0, 1.0, -0.1])
    b = A @ x_true + 0.01 * np.random.default_rng(2).standard_normal(30)
    lam = 0.5
    exact = np.sign(A.T @ b) * np.maximum(np.abs(A.T @ b) - lam, 0)
    res = fista(
        lambda x: (0.5 * np.sum((A @ x - b) ** 2), A.T @ (A @ x - b)),
        lambda v, s: prox_l1(v, s * lam),
        np.zeros(8),
        lipschitz_least_squares(A),
        tol=1e-12,
        max_iter=5000,
    )
    assert res.converged
    assert np.allclose(res.x, exact, atol=1e-10)
    assert (res.x == 0).sum() == (exact == 0).sum() == 5


def test_fista_general_lasso_satisfies_kkt_with_and_without_backtracking():
    rng = np.random.default_rng(3)
    A = rng.standard_normal((40, 10))
    A[:, 1] = A[:, 0] + 0.1 * rng.standard_normal(40)  # near-collinear pair
    b = A[:, 0] * 2 + A[:, 5] - A[:, 7] + 0.1 * rng.standard_normal(40)
    lam = 2.0
    L = lipschitz_least_squares(A)
    assert L == pytest.approx(np.linalg.eigvalsh(A.T @ A).max())
    for kw in ({}, {"lipschitz_max": L}):
        res = fista(
            lambda x: (0.5 * np.sum((A @ x - b) ** 2), A.T @ (A @ x - b)),
            lambda v, s: prox_l1(v, s * lam),
            np.zeros(10),
            L if not kw else 0.01 * L,
            tol=1e-8,
            max_iter=20000,
            **kw,
        )
        assert res.converged
        g = A.T @ (A @ res.x - b)
        on = res.x != 0
        # KKT: g_j = -λ sign(x_j) on the support, |g_j| <= λ off it
        assert np.allclose(g[on], -lam * np.sign(res.x[on]), atol=1e-7)
        assert np.all(np.abs(g[~on]) <= lam + 1e-7)


def test_group_lasso_with_orthonormal_blocks_is_block_soft_thresholding():
    """Orthonormal blocks: β_g = (1 − λ/‖A_gᵀb‖)₊ A_gᵀb (Yuan & Lin 2006, eq. 2.4)."""
    A = _orthonormal(40, 9, 4)
    groups = np.repeat(np.arange(3), 3)
    beta = np.array([2.0, -1.0, 0.5, 0.1, 0.05, -0.1, 0.0, 1.0, 1.0])
    b = A @ beta
    lam = 0.4
    z = A.T @ b
    norms = np.array([np.linalg.norm(z[groups == g]) for g in range(3)])[groups]
    exact = np.maximum(0, 1 - lam / norms) * z
    res = fista(
        lambda x: (0.5 * np.sum((A @ x - b) ** 2), A.T @ (A @ x - b)),
        lambda v, s: prox_group_l2(v, s * lam, groups),
        np.zeros(9),
        1.0,
        tol=1e-12,
    )
    assert np.allclose(res.x, exact, atol=1e-10)
    assert np.all(res.x[groups == 1] == 0)  # the weak group is removed as a whole


def test_nonneg_lasso_kkt_and_agreement_with_a_generic_bounded_solver():
    rng = np.random.default_rng(5)
    A = rng.standard_normal((50, 8))
    b = A @ np.array([1.0, 0.0, 0.5, 0.0, 0.0, 2.0, 0.0, 0.3]) + 0.05 * rng.standard_normal(50)
    w = rng.uniform(0.5, 2.0, 8)
    lam = 3.0
    x = nonneg_lasso(A, b, lam, weights=w, tol=1e-14, max_iter=5000)
    G, c = A.T @ A, A.T @ b
    assert nonneg_lasso_kkt(G, c, x, lam, w) < 1e-8
    assert np.all(x >= 0) and (x == 0).sum() >= 3
    ref = minimize(
        lambda z: 0.5 * np.sum((A @ z - b) ** 2) + lam * w @ z,
        np.ones(8),
        jac=lambda z: A.T @ (A @ z - b) + lam * w,
        bounds=[(0, None)] * 8,
        method="L-BFGS-B",
        options={"ftol": 1e-15, "gtol": 1e-12},
    )
    assert np.allclose(x, ref.x, atol=1e-5)
    # the Gram form gives the same answer; the zero solution from λ_max on
    lam_max = np.max(np.maximum(c, 0) / w)
    assert np.allclose(nonneg_lasso_gram(G, c, lam, w, tol=1e-14, max_iter=5000), x)
    assert np.all(nonneg_lasso_gram(G, c, lam_max * 1.0001, w) == 0)
    assert np.any(nonneg_lasso_gram(G, c, lam_max * 0.99, w) > 0)
    # the KKT check can fail: a perturbed point violates it
    assert nonneg_lasso_kkt(G, c, x + 0.01, lam, w) > 1e-3


def test_nnls_matches_scipy_and_kkt():
    rng = np.random.default_rng(6)
    A = rng.standard_normal((30, 6))
    b = rng.standard_normal(30)
    x, r = nnls(A, b)
    xs, rs = scipy_nnls(A, b)
    assert np.allclose(x, xs) and r == pytest.approx(rs)
    assert r == pytest.approx(np.linalg.norm(A @ x - b))
    # NNLS is the λ = 0 non-negative lasso
    assert np.allclose(nonneg_lasso(A, b, 0.0, tol=1e-14, max_iter=10000), x, atol=1e-7)
    g = A.T @ (A @ x - b)
    assert np.all(g[x == 0] >= -1e-10) and np.allclose(g[x > 0], 0, atol=1e-10)


def test_lipschitz_multinomial_bounds_the_hessian():
    """Böhning's bound ½ λ_max([X 1]ᵀW[X 1]) dominates the curvature of the weighted loss."""
    rng = np.random.default_rng(7)
    X = rng.standard_normal((60, 3))
    w = np.full(60, 1 / 60)
    L = lipschitz_multinomial(X, w)
    Xa = np.hstack([X, np.ones((60, 1))])
    assert L == pytest.approx(0.5 * np.linalg.eigvalsh(Xa.T @ (Xa * w[:, None])).max())
    # the Hessian of the binary (K = 2) logistic loss at the origin has curvature ¼ λ_max <= L
    assert 0.25 * np.linalg.eigvalsh(Xa.T @ (Xa * w[:, None])).max() <= L
