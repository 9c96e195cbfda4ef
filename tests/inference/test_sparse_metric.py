"""FISTA with a diagonal metric (row-sum preconditioning) against scipy NNLS."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import nnls as scipy_nnls

from petroinfer.errors import ModelError
from petroinfer.inference.sparse import fista, prox_nonneg


def _problem(seed: int = 0):
    """Non-negative design with column scales over three decades (badly scaled)."""
    rng = np.random.default_rng(seed)
    A = rng.uniform(0, 1, (80, 40)) * np.logspace(0, 3, 40)
    x_true = np.where(rng.uniform(size=40) < 0.4, rng.uniform(1, 5, 40), 0.0)
    b = A @ x_true + rng.normal(0, 1.0, 80)
    return A, b


def test_diagonal_metric_reproduces_nnls_and_converges_faster():
    A, b = _problem()
    ref, _ = scipy_nnls(A, b, maxiter=10000)
    M = A.T @ A
    metric = M @ np.ones(M.shape[0])  # entrywise ≥ 0 Hessian: its row sums majorise it

    def f_grad(x):
        r = A @ x - b
        return 0.5 * r @ r, A.T @ r

    pre = fista(f_grad, lambda v, s: prox_nonneg(v), np.zeros(40), 1.0, metric=metric,
                tol=1e-9, max_iter=200000)  # fmt: skip
    lip = np.linalg.eigvalsh(M).max()
    plain = fista(f_grad, lambda v, s: prox_nonneg(v), np.zeros(40), lip, tol=1e-9,
                  max_iter=200000)  # fmt: skip
    assert pre.converged and plain.converged
    assert np.linalg.norm(pre.x - ref) / np.linalg.norm(ref) < 1e-8
    assert np.linalg.norm(plain.x - ref) / np.linalg.norm(ref) < 1e-8
    assert pre.n_iter < plain.n_iter / 3, (pre.n_iter, plain.n_iter)


def test_metric_is_not_combined_with_backtracking():
    A, b = _problem(1)
    with pytest.raises(ModelError, match="metric"):
        fista(lambda x: (0.0, A.T @ (A @ x - b)), lambda v, s: v, np.zeros(40), 1.0,
              metric=np.ones(40), lipschitz_max=10.0)  # fmt: skip
