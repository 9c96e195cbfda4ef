r"""Sparse modelling and convex solvers shared by petroinfer's domains.

Proximal operators (L1, non-negative L1, group L2, non-negativity), FISTA with backtracking and
adaptive restart, Lipschitz bounds, the non-negative weighted lasso (coordinate descent, with a KKT
check) and non-negative least squares. Domain-free: discrimination (sparse multinomial
regression), reaction-term selection, deconvolution and equation identification build on it.

Functions
---------
prox_l1, prox_nonneg, prox_nonneg_l1, prox_group_l2
    Proximal operators.
group_l2_norms, group_l2_penalty
    Group norms and the group-lasso penalty.
fista, FistaResult
    Accelerated proximal gradient (Beck & Teboulle 2009).
lipschitz_least_squares, lipschitz_multinomial
    Lipschitz constants of common smooth losses.
nonneg_lasso, nonneg_lasso_gram, nonneg_lasso_kkt
    Non-negative weighted lasso and its optimality check.
nnls
    Non-negative least squares (Lawson & Hanson, via scipy).
condat_vu, PrimalDualResult, diff1, diff1_adjoint
    Primal-dual splitting for f(x) + g(x) + h(Kx) (total variation; Condat 2013, Vu 2013).
richardson_lucy
    Richardson-Lucy (EM) iterations for Poisson deconvolution.

Examples
--------
>>> import numpy as np
>>> from petroinfer.inference.sparse import nonneg_lasso
>>> nonneg_lasso(np.eye(3), np.array([3.0, -1.0, 0.5]), 1.0)
array([2., 0., 0.])
"""

from petroinfer.inference._sparse import (
    FistaResult,
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
from petroinfer.inference._sparse_primal_dual import (
    PrimalDualResult,
    condat_vu,
    diff1,
    diff1_adjoint,
    richardson_lucy,
)

__all__ = [
    "FistaResult",
    "PrimalDualResult",
    "condat_vu",
    "diff1",
    "diff1_adjoint",
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
    "richardson_lucy",
]
