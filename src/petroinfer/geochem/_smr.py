"""Sparse multinomial logistic regression (SMR) with L1 or grouped penalties.

scikit-learn has no grouped (per feature, across classes) penalty for the multinomial model, so the
solver here is a proximal-gradient method (FISTA with adaptive restart, the proximal operators and
the Lipschitz bound from :mod:`petroinfer.inference.sparse`) applied to the equations below; the
plain L1 penalty uses the same solver so that both paths are computed identically.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from scipy.special import logsumexp
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.model_selection import StratifiedKFold
from sklearn.utils.multiclass import unique_labels

from petroinfer._rng import RandomState, seed_of
from petroinfer.errors import InputError, ModelError
from petroinfer.inference.sparse import (
    fista,
    group_l2_norms,
    lipschitz_multinomial,
    prox_group_l2,
    prox_l1,
)

__all__ = [
    "SparseMultinomialRegression",
    "multinomial_lasso_path",
    "relaxed_refit",
    "support_mask",
]


def _softmax(eta: np.ndarray) -> np.ndarray:
    eta = eta - eta.max(axis=1, keepdims=True)
    np.exp(eta, out=eta)
    eta /= eta.sum(axis=1, keepdims=True)
    return eta


def _loss_grad(
    X: np.ndarray, Y: np.ndarray, w: np.ndarray, W: np.ndarray, b: np.ndarray
) -> tuple[float, np.ndarray, np.ndarray]:
    eta = X @ W + b
    lse = logsumexp(eta, axis=1)
    loss = float(w @ (lse - (eta * Y).sum(axis=1)))
    R = (_softmax(eta) - Y) * w[:, None]
    return loss, X.T @ R, R.sum(axis=0)


def _fista(
    X: np.ndarray,
    Y: np.ndarray,
    w: np.ndarray,
    alpha: float,
    penalty: str,
    W0: np.ndarray,
    b0: np.ndarray,
    L0: float,
    L_max: float,
    max_iter: int,
    tol: float,
    groups: np.ndarray | None = None,
    mask: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, int, bool, float]:
    """FISTA (:func:`petroinfer.inference.sparse.fista`, backtracking capped by ``L_max``,
    Böhning's global bound, and adaptive restart) on the stacked unknowns ``[W; b]`` ((p+1) x K,
    intercepts in the last row, unpenalised)."""
    p = W0.shape[0]

    def f_grad(Z: np.ndarray) -> tuple[float, np.ndarray]:
        loss, gW, gb = _loss_grad(X, Y, w, Z[:p], Z[p])
        return loss, np.vstack([gW, gb[None]])

    def prox(V: np.ndarray, step: float) -> np.ndarray:
        Wv = V[:p] if mask is None else V[:p] * mask
        return np.vstack([_penalty_prox(Wv, step * alpha, penalty, groups), V[p:]])

    res = fista(
        f_grad,
        prox,
        np.vstack([W0, b0[None]]),
        L0,
        f=lambda Z: _loss_grad_value(X, Y, w, Z[:p], Z[p]),
        lipschitz_max=L_max,
        tol=tol,
        max_iter=max_iter,
    )
    return res.x[:p], res.x[p], res.n_iter, res.converged, res.lipschitz


def _penalty_prox(
    W: np.ndarray, thresh: float, penalty: str, groups: np.ndarray | None
) -> np.ndarray:
    """Proximal operator of ``thresh`` times the L1 (per (group, class) block when grouped) or
    the group penalty (rows, or groups of rows, across all classes) of ``W`` (p x K)."""
    if penalty == "l1" and groups is None:
        return prox_l1(W, thresh)
    return prox_group_l2(W, thresh, groups, per_column=penalty == "l1")


def _loss_grad_value(
    X: np.ndarray, Y: np.ndarray, w: np.ndarray, W: np.ndarray, b: np.ndarray
) -> float:
    eta = X @ W + b
    return float(w @ (logsumexp(eta, axis=1) - (eta * Y).sum(axis=1)))


def _alpha_max(
    X: np.ndarray, Y: np.ndarray, w: np.ndarray, penalty: str, groups: np.ndarray | None = None
) -> float:
    prior = (w @ Y) / w.sum()
    G = X.T @ ((prior[None, :] - Y) * w[:, None])
    if penalty == "l1":
        if groups is None:
            return float(np.abs(G).max())
        return float(group_l2_norms(G, groups, per_column=True).max())
    return float(group_l2_norms(G, groups).max())


def support_mask(W: np.ndarray, penalty: str, groups: np.ndarray | None = None) -> np.ndarray:
    """(p, K) 0/1 mask of the coefficients selected by ``W``: every entry of an active (group,
    class) block (``"l1"``) or of an active group across all classes (``"group"``)."""
    if groups is None:
        active = np.abs(W) > 0
        if penalty == "group":
            active = np.broadcast_to(active.any(axis=1, keepdims=True), W.shape)
    elif penalty == "l1":
        active = group_l2_norms(W, groups, per_column=True) > 0
    else:
        active = np.broadcast_to(group_l2_norms(W, groups) > 0, W.shape)
    return active.astype(float)


def relaxed_refit(
    X: np.ndarray,
    Y: np.ndarray,
    support: np.ndarray,
    alpha: float,
    alpha_relaxed: float,
    *,
    penalty: Literal["l1", "group"] = "l1",
    sample_weight: np.ndarray | None = None,
    groups: np.ndarray | None = None,
    max_iter: int = 1000,
    tol: float = 1e-4,
    init: tuple[np.ndarray, np.ndarray] | None = None,
    lipschitz: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Relaxed-lasso refit: the coefficients in ``support`` (a (p, K) 0/1 mask, e.g.
    :func:`support_mask` of the path solution at ``alpha``) refitted at the weaker penalty
    ``alpha_relaxed``; all others held at zero.

    The lasso penalty does two jobs at once — it selects the support and it shrinks the selected
    coefficients towards zero. A penalty strong enough for a small support therefore also biases the
    fit and costs accuracy, so cross-validation drives the lasso to large supports. The relaxed
    lasso (Meinshausen 2007, Comput. Stat. Data Anal. 52:374; Hastie, Tibshirani & Tibshirani 2020,
    Stat. Sci. 35:579) separates the jobs: the support :math:`S(\\alpha)` comes from the path, the
    coefficients minimise the same objective restricted to :math:`S(\\alpha)` at
    :math:`\\phi\\alpha`, here at the fixed small penalty ``alpha_relaxed`` (the end of the path), which
    keeps the near-unpenalised multinomial fit finite when classes are separable on the support.
    Solved by FISTA on the columns of the support only: from ``init`` (e.g. the path solution at
    ``alpha``, which lies on the support) directly at ``alpha_relaxed``, or without ``init`` along
    4 log-spaced penalties from ``alpha`` down to ``alpha_relaxed`` (warm starts). The problem is
    convex, so both reach the same optimum (to ``tol``).

    Returns
    -------
    (W, b) : coefficients (p, K) with zeros outside the support, intercepts (K,).
    """
    mask = np.asarray(support, float)
    cols = np.nonzero(mask.any(axis=1))[0]
    W = np.zeros(mask.shape)
    if len(cols) == 0:
        w = (
            np.full(len(Y), 1.0 / len(Y))
            if sample_weight is None
            else sample_weight / sample_weight.sum()
        )
        prior = np.clip(w @ Y, 1e-12, None)
        return W, np.log(prior) - np.log(prior).mean()
    sub_groups = None if groups is None else np.unique(groups[cols], return_inverse=True)[1]
    a_end = min(alpha_relaxed, alpha)
    path = multinomial_lasso_path(
        X[:, cols],
        Y,
        penalty=penalty,
        alphas=np.geomspace(alpha, a_end, 4) if init is None else np.array([a_end]),
        sample_weight=sample_weight,
        max_iter=max_iter,
        tol=tol,
        groups=sub_groups,
        mask=mask[cols],
        coef_init=None if init is None else init[0][cols],
        intercept_init=None if init is None else init[1],
        lipschitz=lipschitz,
    )
    W[cols] = path["coef"][-1]
    return W, path["intercept"][-1]


def multinomial_lasso_path(
    X: np.ndarray,
    Y: np.ndarray,
    *,
    penalty: Literal["l1", "group"] = "l1",
    alphas: np.ndarray | None = None,
    n_alphas: int = 25,
    alpha_min_ratio: float = 1e-3,
    sample_weight: np.ndarray | None = None,
    max_iter: int = 1000,
    tol: float = 1e-4,
    groups: np.ndarray | None = None,
    mask: np.ndarray | None = None,
    coef_init: np.ndarray | None = None,
    intercept_init: np.ndarray | None = None,
    lipschitz: float | None = None,
) -> dict[str, Any]:
    """Regularisation path of the penalised multinomial logistic regression.

    Minimises, for each ``alpha`` on a decreasing grid (warm starts),

    .. math::

        F(B, b) = -\\sum_i w_i \\Big[x_i^\\top \\beta_{y_i} + b_{y_i}
                  - \\log \\sum_c \\exp(x_i^\\top \\beta_c + b_c)\\Big] + \\alpha\\, \\Omega(B),

    with :math:`\\sum_i w_i = 1`, :math:`\\Omega(B) = \\sum_{j,c} |\\beta_{jc}|` (``"l1"``) or
    :math:`\\Omega(B) = \\sum_j \\lVert \\beta_{j\\cdot} \\rVert_2` (``"group"``: a feature enters or
    leaves for all classes at once, glmnet's ``type.multinomial = "grouped"``). Intercepts are not
    penalised.

    Parameters
    ----------
    X : ndarray (n, p)
        Standardised features.
    Y : ndarray (n, K)
        One-hot labels.
    penalty : {"l1", "group"}
    alphas : ndarray, optional
        Decreasing penalty grid; by default ``n_alphas`` log-spaced values from :math:`\\alpha_{max}`
        (the smallest penalty giving an all-zero model: the largest absolute (L1) or row-norm (group)
        gradient at the intercept-only fit) down to ``alpha_min_ratio`` times it.
    sample_weight : ndarray (n,), optional
        Non-negative weights (normalised to sum 1).
    max_iter, tol :
        FISTA iteration cap and tolerance on the max-norm of the gradient mapping
        :math:`(V - \\mathrm{prox}(V - t\\nabla f(V)))/t` (zero at the optimum).
    groups : ndarray (p,) of int, optional
        Group label (0 .. G-1) of each column (e.g. the basis functions of one original feature).
        ``"group"``: :math:`\\Omega = \\sum_g \\lVert B_{g\\cdot} \\rVert_F` (a feature enters
        for all classes at once); ``"l1"``: :math:`\\Omega = \\sum_{g,c} \\lVert B_{gc} \\rVert_2`
        (a feature enters class by class, with all its basis functions). ``None``: one group per
        column, i.e. the plain penalties above.
    mask : ndarray (p, K) of {0, 1}, optional
        Coefficients where ``mask == 0`` are held at zero (the fit is restricted to a chosen support;
        used by the relaxed refit of :class:`SparseMultinomialRegression`).
    coef_init, intercept_init : ndarray (p, K) and (K,), optional
        Warm start for the first ``alpha`` (default: zero coefficients, log-prior intercepts).
    lipschitz : float, optional
        An upper bound of the Lipschitz constant (default: Böhning's bound, from the largest
        eigenvalue of the weighted Gram matrix). For a column subset of a matrix the parent's bound
        is valid (eigenvalue interlacing); the relaxed refits use this to skip one eigenvalue
        problem each.

    Returns
    -------
    dict
        ``alphas`` (m,), ``coef`` (m, p, K), ``intercept`` (m, K), ``n_iter`` (m,),
        ``converged`` (m,), ``lipschitz`` (the bound used).

    Notes
    -----
    The gradient of the smooth part is :math:`X^\\top W (P - Y)` with :math:`P` the softmax
    probabilities; its Lipschitz constant is bounded by Böhning's (1992) bound
    :math:`\\tfrac12 \\lambda_{max}(\\tilde X^\\top W \\tilde X)`, which caps a backtracking search
    for the local constant. The proximal map is
    soft-thresholding (L1) or block soft-thresholding of feature rows (group lasso; Yuan & Lin 2006).
    Accelerated by FISTA (Beck & Teboulle 2009, SIAM J. Imaging Sci. 2:183) with adaptive restart
    (O'Donoghue & Candès 2015, Found. Comput. Math. 15:715). Path and warm starts follow glmnet
    (Friedman, Hastie & Tibshirani 2010, J. Stat. Softw. 33(1)).
    """
    if penalty not in ("l1", "group"):
        raise ModelError(f"penalty must be 'l1' or 'group', got {penalty!r}")
    n, p = X.shape
    K = Y.shape[1]
    w = np.full(n, 1.0 / n) if sample_weight is None else np.asarray(sample_weight, float)
    w = w / w.sum()
    if alphas is None:
        amax = _alpha_max(X, Y, w, penalty, groups)
        alphas = np.geomspace(amax, amax * alpha_min_ratio, n_alphas)
    alphas = np.asarray(alphas, float)
    L_max = lipschitz_multinomial(X, w) if lipschitz is None else float(lipschitz)
    L = 0.1 * L_max
    prior = np.clip((w @ Y), 1e-12, None)
    W = np.zeros((p, K)) if coef_init is None else np.array(coef_init, float)
    b = np.log(prior) - np.log(prior).mean() if intercept_init is None else np.array(intercept_init)
    if mask is not None:
        W *= mask
    coefs = np.empty((len(alphas), p, K))
    inters = np.empty((len(alphas), K))
    iters = np.empty(len(alphas), int)
    conv = np.empty(len(alphas), bool)
    for k, a in enumerate(alphas):
        W, b, it, ok, L = _fista(
            X, Y, w, float(a), penalty, W, b, L, L_max, max_iter, tol, groups, mask
        )
        coefs[k], inters[k], iters[k], conv[k] = W, b, it, ok
    return {
        "alphas": alphas,
        "coef": coefs,
        "intercept": inters,
        "n_iter": iters,
        "converged": conv,
        "lipschitz": L_max,
    }


class SparseMultinomialRegression(ClassifierMixin, BaseEstimator):
    """Sparse multinomial logistic regression with the penalty chosen by cross-validation.

    Parameters
    ----------
    penalty : {"l1", "group"}, default "l1"
        ``"l1"``: lasso on every coefficient (glmnet ``family="multinomial"`` default, as in the
        geoSMR code of Ueki et al.); ``"group"``: group lasso on the coefficients of one feature across
        all classes, so that a feature is selected or dropped for the whole model.
    alpha : float or None, default None
        Penalty strength. ``None`` chooses it from the data: ``cv``-fold stratified cross-validation along
        the path and the **one-standard-error rule** (the largest ``alpha`` whose mean held-out
        multinomial deviance is within one standard error of the minimum; Hastie, Tibshirani & Friedman
        2009, §7.10). ``rule="min"`` takes the minimum instead.
    n_alphas : int, default 25
        Number of penalties on the log-spaced path (``alphas_``, ``coef_path_``), along which
        ``alpha=None`` is chosen by cross-validation.
    alpha_min_ratio : float, default 1e-3
        Depth of the path: its smallest penalty is ``alpha_min_ratio`` times :math:`\\alpha_{max}`,
        the smallest penalty giving an all-zero model.
    cv : int, default 5
        Folds of the internal cross-validation.
    rule : {"1se", "min"}, default "1se"
        Choice of ``alpha`` along the cross-validated path: the one-standard-error rule or the
        minimum mean held-out deviance.
    class_weight : {"balanced"} or None, default None
        ``"balanced"`` weights samples by n / (K n_c), so that small settings (OP, BAB) are not removed
        first by the penalty.
    max_iter : int, default 1000
        FISTA iteration cap per penalty on the path.
    tol : float, default 1e-4
        FISTA tolerance on the max-norm of the gradient mapping (see
        :func:`multinomial_lasso_path`).
    basis : {"linear", "hinge"}, default "linear"
        ``"linear"``: the model is linear in the features. ``"hinge"``: sparse additive multinomial
        model: each feature :math:`x_j` is expanded into :math:`\\{x_j, (x_j - \\kappa_{j1})_+, \\dots,
        (x_j - \\kappa_{jq})_+\\}` (continuous piecewise-linear functions with knots
        :math:`\\kappa` at the training quantiles :math:`1/(q+1), \\dots, q/(q+1)`), each column
        standardised, and the penalty acts on **all basis coefficients of one original feature**
        (per class for ``"l1"``, across classes for ``"group"``), so sparsity is still "which of the
        original features are used" (SpAM, Ravikumar et al. 2009, J. R. Stat. Soc. B 71:1009; group
        lasso, Yuan & Lin 2006).
    n_knots : int, default 4
        Hinge knots per feature (``basis="hinge"``).
    interactions : bool, default False
        ``basis="hinge"`` only: also add the pairwise products :math:`x_j x_k` (j < k), each its
        own penalty group, so that a product enters only if it pays for itself (hierarchical
        interaction screening is *not* enforced: a product may enter without its main effects).
    relaxed : bool, default False
        Relaxed lasso (:func:`relaxed_refit`; Meinshausen 2007): the path only *selects* the support
        at each ``alpha``; the coefficients are refitted on that support at the smallest penalty of
        the path, and the cross-validation (deviance, 1-SE rule) compares these refitted models.
        Selection is then no longer paid for with shrinkage, so the rule settles on much smaller
        supports at equal accuracy (Ueki data: see ``docs/methods/discrimination.md``).
    heredity : bool, default False
        With ``relaxed=True`` and ``interactions=True``: strong heredity (Bien, Taylor & Tibshirani
        2013, Ann. Stat. 41:1111) imposed on the support before the refit — a product
        :math:`x_j x_k` stays in class *c* only if both :math:`x_j` and :math:`x_k` have a main
        effect in class *c*. The model then never uses a feature through a product alone, which
        makes "features used per class" the set of main effects. **[R]** A screening rule on the
        lasso support, not the hierNet convex penalty; the cross-validation compares the models
        as refitted, so the choice of ``alpha`` accounts for it.
    random_state : int, Generator or None
        Seed of the internal folds.

    Attributes
    ----------
    classes_, coef_ (K, p), intercept_ (K,), alpha_, alphas_, cv_deviance_ (folds, m),
    cv_accuracy_ (folds, m), alpha_min_, alpha_1se_, coef_path_ (m, p, K), n_features_in_.
    With ``basis="hinge"``, ``coef_`` and ``coef_path_`` hold the per-feature effect size (L2 norm
    of the feature's basis coefficients in each class; zero = feature not used) and
    ``basis_coef_`` (K, p(q+1) + pairs), ``knots_`` (p, q), ``basis_mean_``, ``basis_scale_`` the
    model; ``interaction_pairs_`` (pairs, 2) and ``interaction_coef_`` (K, pairs) the products.
    ``features_used_`` (K, p) bool: which original features each class uses.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(300, 6)); y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(int)
    >>> smr = SparseMultinomialRegression(n_alphas=10, random_state=0).fit(X, y)
    >>> bool(smr.score(X, y) > 0.9), int((np.abs(smr.coef_) > 0).any(axis=0)[2:].sum()) <= 2
    (True, True)
    """

    def __init__(
        self,
        penalty: Literal["l1", "group"] = "l1",
        alpha: float | None = None,
        *,
        n_alphas: int = 25,
        alpha_min_ratio: float = 1e-3,
        cv: int = 5,
        rule: Literal["1se", "min"] = "1se",
        class_weight: str | None = None,
        max_iter: int = 1000,
        tol: float = 1e-4,
        basis: Literal["linear", "hinge"] = "linear",
        n_knots: int = 4,
        interactions: bool = False,
        relaxed: bool = False,
        heredity: bool = False,
        random_state: RandomState = 0,
    ) -> None:
        self.penalty = penalty
        self.alpha = alpha
        self.n_alphas = n_alphas
        self.alpha_min_ratio = alpha_min_ratio
        self.cv = cv
        self.rule = rule
        self.class_weight = class_weight
        self.max_iter = max_iter
        self.tol = tol
        self.basis = basis
        self.n_knots = n_knots
        self.interactions = interactions
        self.relaxed = relaxed
        self.heredity = heredity
        self.random_state = random_state

    def _expand(self, X: np.ndarray) -> np.ndarray:
        """Hinge basis (n, p(q+1)) of the features, standardised with the training moments."""
        if self.basis == "linear":
            return X
        H = np.maximum(X[:, :, None] - self.knots_[None, :, :], 0.0)  # (n, p, q)
        Z = np.concatenate([X[:, :, None], H], axis=2).reshape(X.shape[0], -1)
        if self.interactions:
            i, j = self.interaction_pairs_.T
            Z = np.hstack([Z, X[:, i] * X[:, j]])
        return (Z - self.basis_mean_) / self.basis_scale_

    def _support(self, W: np.ndarray, kw: dict[str, Any]) -> np.ndarray:
        """Support of the path solution ``W`` for the relaxed refit; with ``heredity`` a product
        stays in a class only if both its features have a main effect in that class."""
        mask = support_mask(W, self.penalty, kw.get("groups"))
        if self.interactions and self.heredity:
            p, q1 = self.n_features_in_, int(self.n_knots) + 1
            main = mask[: p * q1].reshape(p, q1, -1).max(axis=1)  # (p, K)
            i, j = self.interaction_pairs_.T
            mask[p * q1 :] *= main[i] * main[j]
        return mask

    def _feature_effect(self, W: np.ndarray) -> np.ndarray:
        """(p, K) effect size per original feature: the coefficients (linear) or the L2 norm of the
        feature's basis coefficients in each class (hinge)."""
        if self.basis == "linear":
            return W
        p = self.n_features_in_
        W = W[: p * (int(self.n_knots) + 1)]
        return np.sqrt((W.reshape(p, -1, W.shape[1]) ** 2).sum(axis=1))

    def _weights(self, y_idx: np.ndarray, K: int) -> np.ndarray:
        if self.class_weight is None:
            return np.ones(len(y_idx))
        if self.class_weight != "balanced":
            raise ModelError(f"class_weight must be None or 'balanced', got {self.class_weight!r}")
        counts = np.bincount(y_idx, minlength=K)
        return (len(y_idx) / (K * counts))[y_idx]

    def fit(self, X: Any, y: Any) -> SparseMultinomialRegression:
        """Fit the path, choose ``alpha`` (unless given) and store the coefficients at it."""
        if self.penalty not in ("l1", "group"):
            raise ModelError(f"penalty must be 'l1' or 'group', got {self.penalty!r}")
        if self.rule not in ("1se", "min"):
            raise ModelError(f"rule must be '1se' or 'min', got {self.rule!r}")
        X = np.asarray(X, float)
        if not np.isfinite(X).all():
            raise InputError("SparseMultinomialRegression needs finite features (impute NaN first)")
        if self.basis not in ("linear", "hinge"):
            raise ModelError(f"basis must be 'linear' or 'hinge', got {self.basis!r}")
        if self.basis == "hinge" and (int(self.n_knots) != self.n_knots or self.n_knots < 1):
            raise ModelError(f"n_knots must be a positive integer, got {self.n_knots!r}")
        if self.interactions and self.basis != "hinge":
            raise ModelError("interactions=True needs basis='hinge'")
        if self.heredity and not (self.relaxed and self.interactions):
            raise ModelError("heredity=True needs relaxed=True and interactions=True")
        y = np.asarray(y)
        self.classes_ = unique_labels(y)
        if len(self.classes_) < 2:
            raise InputError("SparseMultinomialRegression needs at least two classes")
        K = len(self.classes_)
        y_idx = np.searchsorted(self.classes_, y)
        Y = np.eye(K)[y_idx]
        w = self._weights(y_idx, K)
        self.n_features_in_ = X.shape[1]
        kw: dict[str, Any] = dict(penalty=self.penalty, max_iter=self.max_iter, tol=self.tol)
        p0 = X.shape[1]
        self.interaction_pairs_ = (
            np.column_stack(np.triu_indices(p0, 1)) if self.interactions else np.empty((0, 2), int)
        )
        if self.basis != "linear":
            q = int(self.n_knots)
            self.knots_ = np.quantile(X, np.arange(1, q + 1) / (q + 1), axis=0).T  # (p, q)
            self.basis_mean_, self.basis_scale_ = np.float64(0.0), np.float64(1.0)
            Z = self._expand(X)
            self.basis_mean_ = Z.mean(axis=0)
            sd = Z.std(axis=0)
            self.basis_scale_ = np.where(sd > 1e-12, sd, 1.0)
            X = (Z - self.basis_mean_) / self.basis_scale_
            kw["groups"] = np.concatenate(
                [
                    np.repeat(np.arange(self.n_features_in_), q + 1),
                    self.n_features_in_ + np.arange(len(self.interaction_pairs_)),
                ]
            )
        full = multinomial_lasso_path(
            X,
            Y,
            n_alphas=self.n_alphas,
            alpha_min_ratio=self.alpha_min_ratio,
            sample_weight=w,
            **kw,
        )
        self.alphas_ = full["alphas"]
        self.intercept_path_ = full["intercept"]
        self.path_converged_ = full["converged"]
        if self.alpha is None:
            self._cross_validate(X, Y, y_idx, w, kw)
            k = int(np.argmin(np.abs(self.alphas_ - self.alpha_)))
            W, b = full["coef"][k], self.intercept_path_[k]
        else:
            self.alpha_ = float(self.alpha)
            W, b = self._refit_at(X, Y, w, self.alpha_, kw)
        if self.relaxed:
            W, b = relaxed_refit(
                X,
                Y,
                self._support(W, kw),
                self.alpha_,
                self.alphas_[-1],
                sample_weight=w,
                init=(W, b),
                lipschitz=full["lipschitz"],
                **kw,
            )
        self.coef_path_ = np.stack([self._feature_effect(B) for B in full["coef"]])
        self.coef_ = self._feature_effect(W).T.copy()
        used = np.abs(self.coef_.T) > 0  # (p, K)
        if self.interactions:
            self.interaction_coef_ = W[self.n_features_in_ * (int(self.n_knots) + 1) :].T.copy()
            act = np.abs(self.interaction_coef_.T) > 0  # (pairs, K)
            np.logical_or.at(used, self.interaction_pairs_[:, 0], act)
            np.logical_or.at(used, self.interaction_pairs_[:, 1], act)
        self.features_used_ = used.T.copy()
        if self.basis != "linear":
            self.basis_coef_ = W.T.copy()
            self.basis_coef_path_ = full["coef"]
        self.intercept_ = b.copy()
        return self

    def _refit_at(self, X, Y, w, alpha, kw):
        k = int(np.searchsorted(-self.alphas_, -alpha))
        grid = np.append(self.alphas_[: max(k, 0)], alpha)
        path = multinomial_lasso_path(X, Y, alphas=grid, sample_weight=w, **kw)
        return path["coef"][-1], path["intercept"][-1]

    def _relax_path(self, path: dict[str, Any], X, Y, w, kw) -> None:
        """Replace each path solution by its relaxed refit (in place); a support met before is
        not refitted again."""
        done: dict[bytes, tuple[np.ndarray, np.ndarray]] = {}
        for m, a in enumerate(self.alphas_):
            support = self._support(path["coef"][m], kw)
            key = np.packbits(support > 0).tobytes()
            if key not in done:
                init = (path["coef"][m], path["intercept"][m])
                done[key] = relaxed_refit(
                    X,
                    Y,
                    support,
                    a,
                    self.alphas_[-1],
                    sample_weight=w,
                    init=init,
                    lipschitz=path["lipschitz"],
                    **kw,
                )
            path["coef"][m], path["intercept"][m] = done[key]

    def _cross_validate(self, X, Y, y_idx, w, kw) -> None:
        min_count = int(np.bincount(y_idx).min())
        n_splits = min(self.cv, min_count)
        if n_splits < 2:
            raise InputError(
                "a class has fewer than 2 samples; cannot cross-validate the SMR penalty",
                value=min_count,
            )
        skf = StratifiedKFold(n_splits, shuffle=True, random_state=seed_of(self.random_state) or 0)
        dev = np.empty((n_splits, len(self.alphas_)))
        acc = np.empty_like(dev)
        for f, (tr, te) in enumerate(skf.split(X, y_idx)):
            path = multinomial_lasso_path(
                X[tr], Y[tr], alphas=self.alphas_, sample_weight=w[tr], **kw
            )
            if self.relaxed:
                self._relax_path(path, X[tr], Y[tr], w[tr], kw)
            eta = np.einsum("np,mpk->mnk", X[te], path["coef"]) + path["intercept"][:, None, :]
            logp = eta - logsumexp(eta, axis=2, keepdims=True)
            wt = w[te] / w[te].sum()
            dev[f] = -2.0 * np.einsum("mnk,nk,n->m", logp, Y[te], wt)
            acc[f] = ((eta.argmax(axis=2) == y_idx[te][None, :]) * wt).sum(axis=1)
        self.cv_deviance_, self.cv_accuracy_ = dev, acc
        mean = dev.mean(axis=0)
        se = dev.std(axis=0, ddof=1) / np.sqrt(n_splits)
        k_min = int(np.argmin(mean))
        self.alpha_min_ = float(self.alphas_[k_min])
        ok = np.nonzero(mean <= mean[k_min] + se[k_min])[0]
        self.alpha_1se_ = float(self.alphas_[ok.min()])  # alphas decrease: smallest index = largest
        self.alpha_ = self.alpha_1se_ if self.rule == "1se" else self.alpha_min_

    def decision_function(self, X: Any) -> np.ndarray:
        """Linear predictors :math:`x^\\top \\beta_c + b_c` (n, K) (of the basis with ``"hinge"``)."""
        X = np.asarray(X, float)
        if self.basis == "linear":
            return X @ self.coef_.T + self.intercept_
        return self._expand(X) @ self.basis_coef_.T + self.intercept_

    def predict_proba(self, X: Any) -> np.ndarray:
        """Softmax class probabilities (n, K)."""
        return _softmax(self.decision_function(X))

    def predict(self, X: Any) -> np.ndarray:
        """Most probable class."""
        return self.classes_[np.argmax(self.decision_function(X), axis=1)]

    def n_selected(self) -> dict[Any, int]:
        """Number of original features used per class at the chosen ``alpha`` (a non-zero
        coefficient of the feature, of one of its basis functions, or of an interaction with it)."""
        return {c: int(self.features_used_[k].sum()) for k, c in enumerate(self.classes_)}

    def n_terms(self) -> dict[Any, int]:
        """Number of non-zero terms per class at the chosen ``alpha``: main effects (a feature's
        coefficient or basis block) plus pairwise products (``interactions=True``)."""
        n = (np.abs(self.coef_) > 0).sum(axis=1)
        if self.interactions:
            n = n + (np.abs(self.interaction_coef_) > 0).sum(axis=1)
        return {c: int(n[k]) for k, c in enumerate(self.classes_)}

    def entry_order(self, feature_names: list[str] | None = None) -> dict[Any, list[str]]:
        """Features per class in the order they enter the path (largest ``alpha`` first), as geoSMR
        prints the first k non-zero coefficients per class."""
        names = feature_names or [f"x{j}" for j in range(self.n_features_in_)]
        nz = np.abs(self.coef_path_) > 0  # (m, p, K)
        first = np.where(nz.any(axis=0), nz.argmax(axis=0), len(self.alphas_))  # (p, K)
        out = {}
        for k, c in enumerate(self.classes_):
            order = np.lexsort((-np.abs(self.coef_path_[-1, :, k]), first[:, k]))
            out[c] = [names[j] for j in order if first[j, k] < len(self.alphas_)]
        return out
