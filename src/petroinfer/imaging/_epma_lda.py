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


def _chi2_stat(z: np.ndarray) -> float:
    r = z.sum(axis=1)
    c = z.sum(axis=0)
    tot = r.sum()
    zhat = np.outer(r, c) / tot
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = (z - zhat) ** 2 / zhat
    return float(np.nansum(np.where(zhat > 0, terms, 0.0)))


def power_transform_alpha(x: np.ndarray, n_grid: int = 50) -> float:
    r"""Power :math:`\alpha^*` making a count table look Poisson (Witten 2011, §4.1).

    :math:`\alpha^* = \arg\min_{\alpha} |G(X^\alpha) - (n-1)(p-1)|` over the grid
    :math:`\alpha_j = 0.01 + 0.99 (j-1)/(n_\mathrm{grid}-1)`, with Pearson's statistic
    :math:`G(Z) = \sum_{ij} (z_{ij} - \hat z_{ij})^2/\hat z_{ij}`,
    :math:`\hat z_{ij} = z_{i\cdot} z_{\cdot j}/z_{\cdot\cdot}` (terms with :math:`\hat z = 0` dropped).

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
    n, p = x.shape
    grid = 0.01 + 0.99 * np.arange(n_grid) / (n_grid - 1)
    target = (n - 1) * (p - 1)
    dev = [abs(_chi2_stat(x**a) - target) for a in grid]
    return float(grid[int(np.argmin(dev))])


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
        self.alpha_ = power_transform_alpha(X) if self.transform else 1.0
        z = X**self.alpha_
        self.col_totals_ = z.sum(axis=0)
        self.total_ = float(self.col_totals_.sum())
        if self.total_ <= 0:
            raise InputError("all counts are zero: nothing to classify")
        null = np.outer(z.sum(axis=1) / self.total_, self.col_totals_)
        k = len(self.classes_)
        a = np.zeros((k, z.shape[1]))
        b = np.zeros_like(a)
        np.add.at(a, yi, z)
        np.add.at(b, yi, null)
        a += self.beta
        b += self.beta
        d = a / b
        if self.rho > 0:
            d = 1 + np.sign(d - 1) * np.maximum(np.abs(d - 1) - self.rho / np.sqrt(b), 0)
        self.rates_ = d
        self.n_features_in_ = X.shape[1]
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
