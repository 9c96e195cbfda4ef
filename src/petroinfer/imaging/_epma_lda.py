r"""Poisson linear discriminant analysis (Witten 2011), written from the paper's equations.

PoiClaClu (R, GPL) is *not* the source of this code; the equations are those of Witten (2011)
§2–3 as paraphrased in the project notes (imaging_texture.md §A.5).
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted

from petroinfer.errors import InputError, ModelError, format_value

__all__ = ["PoissonLDA", "power_transform_alpha"]


def alpha_grid(n_grid: int = 50) -> np.ndarray:
    r"""The power-transform grid :math:`\alpha_j = 0.01 + 0.99 (j-1)/(n_\mathrm{grid}-1)`."""
    return 0.01 + 0.99 * np.arange(n_grid) / (n_grid - 1)


def _alpha_stats(x: np.ndarray, grid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r"""Sufficient statistics of :math:`G(X^\alpha)` for a block of rows ``x`` (n, p).

    Returns ``C`` (G, p) column sums :math:`z_{\cdot j}` and ``S`` (G, p)
    :math:`\sum_i z_{ij}^2 / z_{i\cdot}` (rows with :math:`z_{i\cdot} = 0` dropped), one row per
    α of ``grid``. Both are sums over rows, so blocks of a map add up (chunked maps).
    """
    C = np.empty((len(grid), x.shape[1]))
    S = np.empty_like(C)
    for g, a in enumerate(grid):
        z = x**a
        r = z.sum(axis=1)
        C[g] = z.sum(axis=0)
        inv = np.divide(1.0, r, out=np.zeros_like(r), where=r > 0)
        S[g] = (z * z * inv[:, None]).sum(axis=0)
    return C, S


def _alpha_from_stats(C: np.ndarray, S: np.ndarray, n: int, grid: np.ndarray) -> float:
    r"""α* from the block sums of :func:`_alpha_stats`.

    With :math:`\hat z_{ij} = z_{i\cdot} z_{\cdot j}/T`, :math:`T = z_{\cdot\cdot}` and the terms
    with :math:`\hat z = 0` dropped, :math:`G = \sum z^2/\hat z - 2T + T =
    T\,(\sum_j S_j / z_{\cdot j} - 1)`.
    """
    p = C.shape[1]
    T = C.sum(axis=1)
    ratio = np.divide(S, C, out=np.zeros_like(S), where=C > 0).sum(axis=1)
    G = T * (ratio - 1.0)
    return float(grid[int(np.argmin(np.abs(G - (n - 1) * (p - 1))))])


def power_transform_alpha(x: np.ndarray, n_grid: int = 50) -> float:
    r"""Power :math:`\alpha^*` making a count table look Poisson (Witten 2011, §4.1).

    :math:`\alpha^* = \arg\min_{\alpha} |G(X^\alpha) - (n-1)(p-1)|` over the grid
    :math:`\alpha_j = 0.01 + 0.99 (j-1)/(n_\mathrm{grid}-1)`, with Pearson's statistic
    :math:`G(Z) = \sum_{ij} (z_{ij} - \hat z_{ij})^2/\hat z_{ij}`,
    :math:`\hat z_{ij} = z_{i\cdot} z_{\cdot j}/z_{\cdot\cdot}` (terms with :math:`\hat z = 0` dropped),
    evaluated as :math:`G = T(\sum_j S_j/z_{\cdot j} - 1)` with :math:`S_j = \sum_i z_{ij}^2/z_{i\cdot}`
    — sums over rows only, so a chunked map gives the same α* (see :func:`classify_map`).

    Parameters
    ----------
    x : ndarray, shape (n, p)
        Non-negative counts.
    n_grid : int, default 50
        Number of grid points on [0.01, 1].

    Returns
    -------
    float
        The chosen power.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.random.default_rng(0).poisson(50, size=(200, 3))
    >>> power_transform_alpha(x) > 0.5
    True
    """
    x = np.asarray(x, dtype=float)
    grid = alpha_grid(n_grid)
    C, S = _alpha_stats(x, grid)
    return _alpha_from_stats(C, S, x.shape[0], grid)


def _class_sums(x: np.ndarray, labels: np.ndarray, k: int, alpha: float):
    """Per-class sums of z = x^α (k, p), of the row sums (k,) and class sizes (k,)."""
    z = x**alpha
    r = z.sum(axis=1)
    a = np.stack([np.bincount(labels, weights=z[:, j], minlength=k) for j in range(z.shape[1])], 1)
    return a, np.bincount(labels, weights=r, minlength=k), np.bincount(labels, minlength=k)


class PoissonLDA(ClassifierMixin, BaseEstimator):
    r"""Poisson linear discriminant classifier for count data (Witten 2011).

    Parameters
    ----------
    beta : float, default 1.0
        Gamma-prior pseudo-count added to numerator and denominator of the class rates.
    rho : float, default 0.0
        Soft-threshold shrinking the class rates toward 1 (0: no shrinkage).
    transform : bool, default True
        Apply the power transform :math:`X \to X^{\alpha^*}` (:func:`power_transform_alpha`).

    Attributes
    ----------
    classes_ : ndarray, shape (K,)
    alpha_ : float
        Power used (1.0 without transform).
    rates_ : ndarray, shape (K, p)
        Class rates :math:`d_{kj}`.
    col_totals_ : ndarray, shape (p,)
        Training column totals :math:`z_{\cdot j}` (after the transform).

    Notes
    -----
    With :math:`Z` the (transformed) training counts, size factors :math:`s_i = z_{i\cdot}/z_{\cdot\cdot}`
    and null means :math:`N_{ij} = s_i z_{\cdot j}`, the class rates are

    .. math:: d_{kj} = \frac{\sum_{i\in C_k} z_{ij} + \beta}{\sum_{i\in C_k} N_{ij} + \beta},

    optionally shrunk as :math:`d = 1 + \mathrm{sign}(a/b-1)\max(|a/b-1| - \rho/\sqrt b, 0)`. A row
    :math:`\tilde z` with :math:`\tilde s = \sum_j \tilde z_j / z_{\cdot\cdot}` scores

    .. math:: \delta_k = \sum_j \tilde z_j \log d_{kj} - \tilde s \sum_j z_{\cdot j} d_{kj} + \log\pi_k,

    with uniform :math:`\pi_k = 1/K`; probabilities are :math:`\mathrm{softmax}_k \delta_k`
    (Witten 2011, Ann. Appl. Stat. 5:2493, eqs. 2.1–2.6, 3.1).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = np.vstack([rng.poisson([100, 10], (50, 2)), rng.poisson([10, 100], (50, 2))])
    >>> y = np.repeat([0, 1], 50)
    >>> float((PoissonLDA().fit(X, y).predict(X) == y).mean())
    1.0
    """

    def __init__(self, beta: float = 1.0, rho: float = 0.0, transform: bool = True):
        self.beta = beta
        self.rho = rho
        self.transform = transform

    def _check_x(self, X) -> np.ndarray:
        X = np.asarray(X, dtype=float)
        if X.ndim != 2:
            raise InputError(f"X must be 2-D (samples, features), got shape {X.shape}")
        bad = ~np.isfinite(X) | (X < 0)
        if bad.any():
            i, j = np.argwhere(bad)[0]
            raise InputError(
                f"counts must be finite and ≥ 0: row {i}, feature {j} is {format_value(X[i, j])}"
            )
        return X

    def fit(self, X, y) -> PoissonLDA:
        """Fit class rates from counts ``X`` (n, p) and labels ``y`` (n,)."""
        if self.beta <= 0 or self.rho < 0:
            raise ModelError(f"beta must be > 0 and rho ≥ 0, got {self.beta}, {self.rho}")
        X = self._check_x(X)
        y = np.asarray(y)
        if len(y) != len(X):
            raise InputError(f"X has {len(X)} rows but y has {len(y)} labels")
        self.classes_, yi = np.unique(y, return_inverse=True)
        alpha = power_transform_alpha(X) if self.transform else 1.0
        a, r, _ = _class_sums(X, yi, len(self.classes_), alpha)
        return self._fit_sums(a, r, alpha, X.shape[1])

    def _fit_sums(self, class_z: np.ndarray, class_r: np.ndarray, alpha: float, p: int):
        r"""Set the fitted state from per-class sums (chunked maps add these up block by block).

        ``class_z`` (K, p): :math:`\sum_{i\in C_k} z_{ij}`; ``class_r`` (K,):
        :math:`\sum_{i\in C_k} z_{i\cdot}`. Then :math:`z_{\cdot j} = \sum_k` ``class_z``,
        :math:`\sum_{i\in C_k} N_{ij} = z_{\cdot j}\,` ``class_r[k]`` :math:`/T`.
        """
        if self.beta <= 0 or self.rho < 0:
            raise ModelError(f"beta must be > 0 and rho ≥ 0, got {self.beta}, {self.rho}")
        self.alpha_ = float(alpha)
        self.col_totals_ = class_z.sum(axis=0)
        self.total_ = float(self.col_totals_.sum())
        if self.total_ <= 0:
            raise InputError("all counts are zero: nothing to classify")
        a = class_z + self.beta
        b = np.outer(class_r / self.total_, self.col_totals_) + self.beta
        d = a / b
        if self.rho > 0:
            d = 1 + np.sign(d - 1) * np.maximum(np.abs(d - 1) - self.rho / np.sqrt(b), 0)
        self.rates_ = d
        self.n_features_in_ = p
        return self

    def decision_function(self, X) -> np.ndarray:
        r"""Discriminant scores :math:`\delta_{ik}`, shape (n, K)."""
        check_is_fitted(self, "rates_")
        z = self._check_x(X) ** self.alpha_
        s = z.sum(axis=1) / self.total_
        with np.errstate(divide="ignore"):
            logd = np.log(self.rates_)
        logd = np.where(np.isfinite(logd), logd, -1e300)
        return z @ logd.T - np.outer(s, self.rates_ @ self.col_totals_) - np.log(len(self.classes_))

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities (softmax of the discriminant), shape (n, K)."""
        from scipy.special import softmax

        return softmax(self.decision_function(X), axis=1)

    def predict(self, X) -> np.ndarray:
        """Most probable class of each row."""
        return self.classes_[np.argmax(self.decision_function(X), axis=1)]
