r"""Sparse and convex solvers: proximal operators, FISTA, non-negative (weighted) lasso, NNLS.

Domain-free implementation behind :mod:`petroinfer.inference.sparse`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.linalg import eigh
from scipy.optimize import nnls as _scipy_nnls

from petroinfer.errors import ModelError

__all__ = [
    "FistaResult",
    "fista",
    "group_l2_norms",
    "group_l2_penalty",
    "lipschitz_least_squares",
    "lipschitz_multinomial",
    "nnls",
    "nonneg_lasso",
    "nonneg_lasso_gram",
    "nonneg_lasso_kkt",
    "prox_group_l2",
    "prox_l1",
    "prox_nonneg",
    "prox_nonneg_l1",
]


# -- proximal operators -------------------------------------------------------------------------
def prox_l1(x: np.ndarray, thresh: float | np.ndarray) -> np.ndarray:
    r"""Soft thresholding, the proximal operator of :math:`t\lVert x \rVert_1`.

    Parameters
    ----------
    x : ndarray
        Point (any shape).
    thresh : float or ndarray
        Threshold :math:`t \ge 0` (step size times penalty); an array broadcasting against ``x``
        gives the weighted penalty :math:`\sum_j t_j |x_j|`.

    Returns
    -------
    ndarray
        :math:`\operatorname{sign}(x)\max(|x| - t, 0)`, same shape as ``x``.

    Notes
    -----
    :math:`\operatorname{prox}_{tg}(v) = \arg\min_x \tfrac12\lVert x - v\rVert^2 + t g(x)`
    (Parikh & Boyd 2014, *Proximal Algorithms*, Found. Trends Optim. 1:127, §6.5.2).

    Examples
    --------
    >>> prox_l1(np.array([-2.0, 0.5, 3.0]), 1.0)
    array([-1.,  0.,  2.])
    """
    x = np.asarray(x, float)
    if np.all(np.asarray(thresh) <= 0):
        return x
    return np.sign(x) * np.maximum(np.abs(x) - thresh, 0.0)


def prox_nonneg(x: np.ndarray) -> np.ndarray:
    r"""Projection onto the non-negative orthant (proximal operator of its indicator).

    Parameters
    ----------
    x : ndarray
        Point (any shape).

    Returns
    -------
    ndarray
        :math:`\max(x, 0)`.

    Examples
    --------
    >>> prox_nonneg(np.array([-1.0, 2.0]))
    array([0., 2.])
    """
    return np.maximum(np.asarray(x, float), 0.0)


def prox_nonneg_l1(x: np.ndarray, thresh: float | np.ndarray) -> np.ndarray:
    r"""Proximal operator of :math:`t\sum_j x_j + \iota_{x \ge 0}` (non-negative lasso).

    Parameters
    ----------
    x : ndarray
        Point (any shape).
    thresh : float or ndarray
        Threshold :math:`t \ge 0` (scalar or per entry).

    Returns
    -------
    ndarray
        :math:`\max(x - t, 0)`.

    Examples
    --------
    >>> prox_nonneg_l1(np.array([-2.0, 0.5, 3.0]), 1.0)
    array([0., 0., 2.])
    """
    return np.maximum(np.asarray(x, float) - thresh, 0.0)


def group_l2_norms(
    x: np.ndarray, groups: np.ndarray | None = None, *, per_column: bool = False
) -> np.ndarray:
    r"""Euclidean norm of each group of rows, broadcast back to the rows.

    Parameters
    ----------
    x : ndarray, shape (p,) or (p, K)
        Coefficients; rows are the grouped units.
    groups : ndarray of int, shape (p,), optional
        Group label (0 .. G-1) of each row; ``None`` makes each row its own group.
    per_column : bool
        ``False``: one norm per group over all its rows and columns (shape (p, 1) for 2-D
        ``x``); ``True``: one norm per (group, column) block (shape (p, K); needs ``groups``).

    Returns
    -------
    ndarray
        The norm of the group of each row (1-D ``x``: shape (p,)).

    Examples
    --------
    >>> group_l2_norms(np.array([3.0, 4.0, 1.0]), np.array([0, 0, 1]))
    array([5., 5., 1.])
    """
    x = np.asarray(x, float)
    if x.ndim == 1:
        return group_l2_norms(x[:, None], groups, per_column=per_column)[:, 0]
    if per_column:
        if groups is None:
            return np.abs(x)
        G = int(groups.max()) + 1
        S = np.zeros((G, x.shape[1]))
        np.add.at(S, groups, x**2)
        return np.sqrt(S)[groups]
    sq = (x**2).sum(axis=1)
    if groups is None:
        return np.sqrt(sq)[:, None]
    return np.sqrt(np.bincount(groups, weights=sq))[groups][:, None]


def group_l2_penalty(
    x: np.ndarray, groups: np.ndarray | None = None, *, per_column: bool = False
) -> float:
    r"""Group-lasso penalty :math:`\sum_g \lVert x_g \rVert_2` (Yuan & Lin 2006).

    Parameters
    ----------
    x : ndarray, shape (p,) or (p, K)
        Coefficients.
    groups : ndarray of int, shape (p,), optional
        Group label of each row (``None``: one group per row).
    per_column : bool
        Sum over (group, column) blocks instead of groups (see :func:`group_l2_norms`).

    Returns
    -------
    float
        The penalty value.

    Examples
    --------
    >>> group_l2_penalty(np.array([3.0, 4.0, -1.0]), np.array([0, 0, 1]))
    6.0
    """
    x = np.asarray(x, float)
    if x.ndim == 1:
        x = x[:, None]
    if per_column:
        if groups is None:
            return float(np.abs(x).sum())
        G = int(groups.max()) + 1
        S = np.zeros((G, x.shape[1]))
        np.add.at(S, groups, x**2)
        return float(np.sqrt(S).sum())
    if groups is None:
        return float(np.sqrt((x**2).sum(axis=1)).sum())
    return float(np.sqrt(np.bincount(groups, weights=(x**2).sum(axis=1))).sum())


def prox_group_l2(
    x: np.ndarray,
    thresh: float,
    groups: np.ndarray | None = None,
    *,
    per_column: bool = False,
) -> np.ndarray:
    r"""Block soft thresholding, the proximal operator of :math:`t\sum_g \lVert x_g \rVert_2`.

    Parameters
    ----------
    x : ndarray, shape (p,) or (p, K)
        Point; rows are the grouped units.
    thresh : float
        Threshold :math:`t \ge 0`.
    groups : ndarray of int, shape (p,), optional
        Group label (0 .. G-1) of each row; ``None``: each row is a group (for 2-D ``x`` a
        row enters or leaves across all columns at once).
    per_column : bool
        Groups are (group, column) blocks (see :func:`group_l2_norms`).

    Returns
    -------
    ndarray
        :math:`x_g \max(0, 1 - t/\lVert x_g\rVert_2)` for every group, same shape as ``x``.

    Notes
    -----
    Yuan & Lin (2006, J. R. Stat. Soc. B 68:49), eq. 2.4 for orthonormal blocks; Parikh & Boyd
    (2014, §6.5.4).

    Examples
    --------
    >>> prox_group_l2(np.array([3.0, 4.0, 0.5]), 1.0, np.array([0, 0, 1]))
    array([2.4, 3.2, 0. ])
    """
    x = np.asarray(x, float)
    if thresh <= 0:
        return x
    norms = group_l2_norms(x, groups, per_column=per_column)
    return x * np.maximum(0.0, 1.0 - thresh / np.maximum(norms, 1e-300))


# -- Lipschitz bounds ---------------------------------------------------------------------------
def lipschitz_least_squares(A: np.ndarray) -> float:
    r"""Lipschitz constant of the gradient of :math:`\tfrac12\lVert Ax - b\rVert^2`.

    Parameters
    ----------
    A : ndarray, shape (n, p)
        Design matrix.

    Returns
    -------
    float
        :math:`\lambda_{max}(A^\top A) = \sigma_{max}(A)^2`.

    Examples
    --------
    >>> lipschitz_least_squares(np.diag([1.0, 3.0]))
    9.0
    """
    A = np.asarray(A, float)
    if A.size == 0:
        return 0.0
    return float(np.linalg.norm(A, 2) ** 2)


def lipschitz_multinomial(X: np.ndarray, sample_weight: np.ndarray) -> float:
    r"""Böhning's bound of the Lipschitz constant of the multinomial logistic loss gradient.

    Parameters
    ----------
    X : ndarray, shape (n, p)
        Features (an intercept column is appended internally).
    sample_weight : ndarray, shape (n,)
        Non-negative weights of the loss :math:`\sum_i w_i \ell_i`.

    Returns
    -------
    float
        :math:`L = \tfrac12\lambda_{max}(\tilde X^\top \operatorname{diag}(w)\tilde X)`,
        :math:`\tilde X = [X\ 1]`.

    Notes
    -----
    The Hessian of the multinomial log-likelihood is bounded by
    :math:`\tfrac12 (I - \mathbf 1\mathbf 1^\top/K) \otimes \tilde X^\top W \tilde X`
    (Böhning 1992, Ann. Inst. Stat. Math. 44:197).

    Examples
    --------
    >>> round(lipschitz_multinomial(np.zeros((4, 1)), np.full(4, 0.25)), 6)
    0.5
    """
    w = np.asarray(sample_weight, float)
    Xa = np.hstack([np.asarray(X, float), np.ones((len(w), 1))]) * np.sqrt(w)[:, None]
    G = Xa.T @ Xa
    return 0.5 * float(eigh(G, eigvals_only=True, subset_by_index=[len(G) - 1, len(G) - 1])[0])


# -- FISTA --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FistaResult:
    """Output of :func:`fista`.

    Parameters
    ----------
    x : ndarray
        The last iterate (the minimiser to ``tol``).
    n_iter : int
        Iterations run.
    converged : bool
        Whether the gradient-mapping norm fell below ``tol``.
    lipschitz : float
        The last local Lipschitz estimate (a warm start for the next problem on a path).
    """

    x: np.ndarray
    n_iter: int
    converged: bool
    lipschitz: float


def fista(
    f_grad: Callable[[np.ndarray], tuple[float, np.ndarray]],
    prox: Callable[[np.ndarray, float], np.ndarray],
    x0: np.ndarray,
    lipschitz: float,
    *,
    f: Callable[[np.ndarray], float] | None = None,
    lipschitz_max: float | None = None,
    tol: float = 1e-6,
    max_iter: int = 1000,
    restart: bool = True,
    metric: np.ndarray | None = None,
) -> FistaResult:
    r"""FISTA for :math:`\min_x f(x) + g(x)`, f smooth, g with a cheap proximal operator.

    Parameters
    ----------
    f_grad : callable
        ``f_grad(x) -> (f(x), grad f(x))``.
    prox : callable
        ``prox(v, step) -> argmin_x ½‖x − v‖² + step·g(x)`` (e.g. :func:`prox_l1` with
        ``thresh = step * lam``; constraints and masks go here too).
    x0 : ndarray
        Starting point (any shape).
    lipschitz : float
        Lipschitz constant of ∇f (fixed step 1/L), or the starting estimate of the backtracking
        search when ``lipschitz_max`` is given.
    f : callable, optional
        ``f(x) -> float`` for the backtracking test (default: ``f_grad(x)[0]``).
    lipschitz_max : float, optional
        A global bound of the Lipschitz constant. If given, the local constant is searched by
        backtracking (shrunk by 0.7 at each iteration, doubled until the quadratic upper bound
        holds, capped at ``lipschitz_max``, so every step is a descent step).
    tol : float
        Stop when the max-norm of the gradient mapping :math:`L\,(y - \mathrm{prox}(y -
        \nabla f(y)/L))` is at most ``tol`` (it is zero exactly at a minimiser).
    max_iter : int
        Iteration cap.
    restart : bool
        Gradient-based adaptive restart of the momentum.
    metric : ndarray, optional
        Positive diagonal metric :math:`D` (broadcast against ``x``) with
        :math:`\nabla^2 f \preceq L D`: the step becomes :math:`1/(L D_j)` per coordinate
        (diagonal preconditioning; ``prox`` then receives the step as an array and must be
        separable). For a non-negative quadratic Hessian :math:`M` the row sums
        :math:`D = M\mathbf 1` are such a metric with ``L = 1`` (diagonal dominance). The
        stopping rule uses the gradient mapping :math:`L D \odot (y - x^+)`. Not combined with
        backtracking.

    Returns
    -------
    FistaResult
        Solution, iteration count, convergence flag and the last Lipschitz estimate.

    Notes
    -----
    Beck & Teboulle (2009, SIAM J. Imaging Sci. 2:183), with
    :math:`t_{k+1} = (1 + \sqrt{1 + 4t_k^2})/2`, :math:`y_{k+1} = x_{k+1} + \frac{t_k - 1}{t_{k+1}}
    (x_{k+1} - x_k)`; backtracking with a shrinking local constant (Scheinberg, Goldfarb & Bai
    2014, Found. Comput. Math. 14:389); restart when :math:`(y_k - x_{k+1})^\top (x_{k+1} - x_k)
    > 0` (O'Donoghue & Candès 2015, Found. Comput. Math. 15:715).

    Examples
    --------
    Lasso :math:`\tfrac12\lVert x - b\rVert^2 + \lambda\lVert x\rVert_1` (solution: soft
    thresholding of b):

    >>> b = np.array([3.0, -0.5, 1.5])
    >>> res = fista(lambda x: (0.5 * np.sum((x - b) ** 2), x - b),
    ...             lambda v, s: prox_l1(v, s * 1.0), np.zeros(3), 1.0, tol=1e-12)
    >>> res.x, res.converged
    (array([ 2. , -0. ,  0.5]), True)
    """
    x = np.array(x0, dtype=float, copy=True)
    y = x.copy()
    t = 1.0
    L = float(lipschitz)
    backtrack = lipschitz_max is not None
    L_max = float(lipschitz_max) if backtrack else L
    f_val = f if f is not None else (lambda z: f_grad(z)[0])
    if metric is not None and backtrack:
        raise ModelError("fista: metric and lipschitz_max (backtracking) cannot be combined")
    dmet = None if metric is None else np.broadcast_to(np.asarray(metric, float), x.shape)
    for it in range(1, int(max_iter) + 1):
        fy, gy = f_grad(y)
        if backtrack:
            L = max(L * 0.7, 1e-8)
        while True:
            step = 1.0 / L if dmet is None else 1.0 / (L * dmet)
            x_new = prox(y - step * gy, step)
            d = x_new - y
            if not backtrack:
                break
            quad = fy + np.sum(gy * d) + 0.5 * L * np.sum(d**2)
            if f_val(x_new) <= quad + 1e-12 * abs(fy) or L >= L_max:
                break
            L = min(2.0 * L, L_max)
        dx = x_new - x
        if restart and np.sum(-d * dx) > 0:
            t = 1.0
        t_new = 0.5 * (1.0 + math.sqrt(1.0 + 4.0 * t * t))
        y = x_new + ((t - 1.0) / t_new) * dx
        x, t = x_new, t_new
        gmap = d if dmet is None else dmet * d
        if L * np.abs(gmap).max(initial=0.0) <= tol:
            return FistaResult(x, it, True, L)
    return FistaResult(x, int(max_iter), False, L)


# -- non-negative lasso and NNLS ----------------------------------------------------------------
def nonneg_lasso_gram(
    G: np.ndarray,
    c: np.ndarray,
    lam: float,
    weights: np.ndarray | None = None,
    x0: np.ndarray | None = None,
    *,
    max_iter: int = 500,
    tol: float = 1e-10,
) -> np.ndarray:
    r"""Non-negative weighted lasso in Gram form by cyclic coordinate descent.

    Minimises :math:`\tfrac12 x^\top G x - c^\top x + \lambda\sum_j w_j x_j` subject to
    :math:`x \ge 0` (with :math:`G = A^\top A`, :math:`c = A^\top b` this is
    :math:`\tfrac12\lVert Ax - b\rVert^2 + \lambda \sum_j w_j |x_j|`, :math:`x \ge 0`).

    Parameters
    ----------
    G : ndarray, shape (p, p)
        Symmetric positive semi-definite matrix.
    c : ndarray, shape (p,)
        Linear term.
    lam : float
        Penalty λ ≥ 0.
    weights : ndarray, shape (p,), optional
        Per-coordinate weights :math:`w_j \ge 0` (default 1; adaptive lasso, Zou 2006,
        J. Am. Stat. Assoc. 101:1418).
    x0 : ndarray, shape (p,), optional
        Warm start (clipped at zero; default zero).
    max_iter : int, default 500
        Sweeps over the coordinates.
    tol : float, default 1e-10
        Stop when the largest scaled coordinate change :math:`\sqrt{G_{jj}}|\Delta x_j|` of a
        sweep is below ``tol (1 + ‖c‖)``.

    Returns
    -------
    ndarray, shape (p,)
        The minimiser.

    Notes
    -----
    Coordinate update :math:`x_j \leftarrow \max(0, (c_j - \sum_{i \ne j} G_{ji}x_i - \lambda
    w_j)/G_{jj})` (Friedman, Hastie, Höfling & Tibshirani 2007, Ann. Appl. Stat. 1:302). The
    optimum satisfies the KKT conditions checked by :func:`nonneg_lasso_kkt`.

    Examples
    --------
    >>> nonneg_lasso_gram(np.eye(3), np.array([3.0, -1.0, 0.5]), 1.0)
    array([2., 0., 0.])
    """
    G = np.asarray(G, float)
    c = np.asarray(c, float)
    R = c.size
    w = np.ones(R) if weights is None else np.asarray(weights, float)
    x = np.zeros(R) if x0 is None else np.maximum(np.asarray(x0, float).copy(), 0.0)
    diag = np.maximum(np.diag(G), 1e-300)
    for _ in range(int(max_iter)):
        delta = 0.0
        for j in range(R):
            r = c[j] - G[j] @ x + G[j, j] * x[j]
            new = max(0.0, (r - lam * w[j]) / diag[j])
            delta = max(delta, abs(new - x[j]) * math.sqrt(diag[j]))
            x[j] = new
        if delta < tol * (1.0 + math.sqrt(float(c @ c))):
            break
    return x


def nonneg_lasso(
    A: np.ndarray,
    b: np.ndarray,
    lam: float,
    weights: np.ndarray | None = None,
    x0: np.ndarray | None = None,
    *,
    max_iter: int = 500,
    tol: float = 1e-10,
) -> np.ndarray:
    r"""Non-negative weighted lasso :math:`\min_{x\ge0} \tfrac12\lVert Ax-b\rVert^2 + \lambda\sum_j w_j x_j`.

    Parameters
    ----------
    A : ndarray, shape (n, p)
        Design matrix.
    b : ndarray, shape (n,)
        Data.
    lam : float
        Penalty λ ≥ 0 (λ = 0: non-negative least squares).
    weights : ndarray, shape (p,), optional
        Per-column weights (default 1).
    x0 : ndarray, shape (p,), optional
        Warm start.
    max_iter : int, default 500
        Sweeps over the coordinates, as in :func:`nonneg_lasso_gram`.
    tol : float, default 1e-10
        Relative stopping tolerance on the scaled coordinate change, as in
        :func:`nonneg_lasso_gram`.

    Returns
    -------
    ndarray, shape (p,)
        The minimiser.

    Notes
    -----
    Solved in Gram form (:func:`nonneg_lasso_gram` with :math:`G = A^\top A`,
    :math:`c = A^\top b`); the smallest λ with the all-zero solution is
    :math:`\lambda_{max} = \max_j \max(c_j, 0)/w_j`.

    Examples
    --------
    >>> nonneg_lasso(np.eye(2), np.array([2.0, -1.0]), 0.5)
    array([1.5, 0. ])
    """
    A = np.asarray(A, float)
    b = np.asarray(b, float)
    return nonneg_lasso_gram(A.T @ A, A.T @ b, lam, weights, x0, max_iter=max_iter, tol=tol)


def nonneg_lasso_kkt(
    G: np.ndarray, c: np.ndarray, x: np.ndarray, lam: float, weights: np.ndarray | None = None
) -> float:
    r"""Largest violation of the KKT conditions of :func:`nonneg_lasso_gram` at ``x``.

    Parameters
    ----------
    G : ndarray, shape (p, p)
        Symmetric positive semi-definite matrix of the problem, as in :func:`nonneg_lasso_gram`.
    c : ndarray, shape (p,)
        Linear term.
    x : ndarray, shape (p,)
        Candidate solution.
    lam : float
        Penalty λ ≥ 0.
    weights : ndarray, shape (p,), optional
        Per-coordinate weights :math:`w_j` (default 1).

    Returns
    -------
    float
        :math:`\max_j` of :math:`|g_j|` where :math:`x_j > 0` and :math:`\max(-g_j, 0)` where
        :math:`x_j = 0`, with :math:`g = Gx - c + \lambda w` (plus :math:`\max(-x_j, 0)`);
        zero exactly at the optimum.

    Examples
    --------
    >>> G, c = np.eye(2), np.array([2.0, -1.0])
    >>> nonneg_lasso_kkt(G, c, nonneg_lasso_gram(G, c, 0.5), 0.5)
    0.0
    """
    x = np.asarray(x, float)
    w = np.ones(x.size) if weights is None else np.asarray(weights, float)
    g = np.asarray(G, float) @ x - np.asarray(c, float) + lam * w
    viol = np.where(x > 0, np.abs(g), np.maximum(-g, 0.0))
    return float(max(viol.max(initial=0.0), np.maximum(-x, 0.0).max(initial=0.0)))


def nnls(A: np.ndarray, b: np.ndarray, *, max_iter: int | None = None) -> tuple[np.ndarray, float]:
    r"""Non-negative least squares :math:`\min_{x \ge 0}\lVert Ax - b\rVert_2`.

    Parameters
    ----------
    A : ndarray, shape (n, p)
        Design matrix.
    b : ndarray, shape (n,)
        Data.
    max_iter : int, optional
        Iteration cap of the active-set solver (scipy's default: 3 p).

    Returns
    -------
    x : ndarray, shape (p,)
        The solution.
    rnorm : float
        The residual norm :math:`\lVert Ax - b\rVert_2`.

    Notes
    -----
    Lawson & Hanson (1974, *Solving Least Squares Problems*, ch. 23) active-set algorithm, as
    implemented by :func:`scipy.optimize.nnls`.

    Examples
    --------
    >>> x, r = nnls(np.eye(2), np.array([1.0, -1.0]))
    >>> x, r
    (array([1., 0.]), 1.0)
    """
    x, rnorm = _scipy_nnls(np.asarray(A, float), np.asarray(b, float), maxiter=max_iter)
    return x, float(rnorm)
