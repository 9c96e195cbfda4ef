"""Standardise or whiten, then PCA / ICA, and compare with k-means (Iwamori et al. 2017).

Iwamori et al. (2017, G-cubed 18:994) show that k-means cluster analysis (KCA) and PCA give essentially
the same picture on **standardised** data (the continuous relaxation of the k-means indicator matrix is
spanned by the first K−1 PCs; Ding & He 2004), whereas on **whitened** data (every principal direction
rescaled to unit variance) k-means, like ICA, is driven by non-Gaussian structure (groups, independent
trends) irrespective of the variance. This module provides the two transformers, PCA / FastICA wrappers
and a diagnostic that measures the angles between the k-means centroid directions and the PC / IC
directions (geochem.md §3, §9.4).

Equations [K]: standardise :math:`Z = (X-\\mu)/\\sigma`; :math:`\\mathrm{cov}(Z) = V\\Lambda V^T`;
PCA scores :math:`T = ZV`; whiten :math:`Y = Z V_m \\Lambda_m^{-1/2}` so that :math:`\\mathrm{cov}(Y)=I`.
FastICA (Hyvärinen 1999) on :math:`Y` with :math:`g = \\tanh` and symmetric decorrelation.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy.linalg import subspace_angles
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.cluster import KMeans
from sklearn.decomposition import FastICA
from sklearn.utils.validation import check_is_fitted
from threadpoolctl import threadpool_limits

from petroinfer._rng import RandomState, as_generator
from petroinfer.errors import InputError, ModelError
from petroinfer.geochem._tables import as_numeric_frame

__all__ = [
    "Standardiser",
    "Whitener",
    "centred_pca_scores",
    "direction_angles",
    "independent_components",
    "kca_direction_diagnostic",
    "principal_angles",
    "principal_components",
    "standardise",
    "whiten",
]


def _frame(X: Any, min_rows: int = 2) -> pd.DataFrame:
    return as_numeric_frame(X, name="X", allow_negative=True, min_rows=min_rows)


class Standardiser(TransformerMixin, BaseEstimator):
    """Zero mean, unit standard deviation per column: :math:`Z = (X-\\mu)/\\sigma` (σ with ddof = 1).

    Examples
    --------
    >>> import numpy as np
    >>> Z = Standardiser().fit_transform(np.array([[1.0, 10.0], [3.0, 30.0]]))
    >>> np.allclose(Z.std(axis=0, ddof=1), 1.0)
    True
    """

    def fit(self, X: Any, y: Any = None) -> Standardiser:
        df = _frame(X)
        sd = df.std(ddof=1).to_numpy()
        const = np.flatnonzero(~(sd > 0))
        if len(const):
            c = df.columns[const[0]]
            raise InputError(
                "column is constant; it cannot be standardised",
                column=c,
                value=float(df[c].iloc[0]),
            )
        self.mean_ = df.mean().to_numpy()
        self.scale_ = sd
        self.feature_names_in_ = np.array(df.columns, dtype=object)
        self.n_features_in_ = df.shape[1]
        return self

    def transform(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "mean_")
        A = _frame(X, min_rows=1).to_numpy()
        if A.shape[1] != self.n_features_in_:
            raise InputError(
                f"X has {A.shape[1]} features, but {type(self).__name__} is expecting "
                f"{self.n_features_in_} features as input"
            )
        return (A - self.mean_) / self.scale_

    def inverse_transform(self, Z: Any) -> np.ndarray:
        check_is_fitted(self, "mean_")
        return np.asarray(Z, dtype=float) * self.scale_ + self.mean_


class Whitener(TransformerMixin, BaseEstimator):
    r"""Standardise, rotate to principal axes and rescale each axis to unit variance (Iwamori 2017).

    :math:`Y = Z V_m \Lambda_m^{-1/2}` keeps the m leading components; ``n_components="auto"`` picks
    the smallest m whose cumulative explained variance reaches ``variance_threshold``.

    Parameters
    ----------
    n_components : int or "auto", default "auto"
        Number m of leading principal components kept (``1 <= m <= p``), or ``"auto"`` to choose it
        from ``variance_threshold``. Components with (numerically) zero variance are always dropped,
        so ``n_components_`` may be smaller than requested.
    variance_threshold : float, default 0.99
        With ``n_components="auto"``: the smallest cumulative explained-variance ratio (in (0, 1])
        the kept components must reach.

    Attributes
    ----------
    n_components_ : int
        Number m of components kept.
    components_ : ndarray, shape (m, p)
        Rows are the PC directions in standardised space.
    explained_variance_ : ndarray, shape (m,)
        Their variances Λ_m (eigenvalues of the correlation matrix).
    explained_variance_ratio_ : ndarray, shape (m,)
        Fractions of the total variance.
    standardiser_ : Standardiser
        The fitted standardisation applied first.
    """

    def __init__(
        self, n_components: int | Literal["auto"] = "auto", variance_threshold: float = 0.99
    ):
        self.n_components = n_components
        self.variance_threshold = variance_threshold

    def fit(self, X: Any, y: Any = None) -> Whitener:
        if not 0 < self.variance_threshold <= 1:
            raise ModelError(f"variance_threshold must be in (0, 1], got {self.variance_threshold}")
        self.standardiser_ = Standardiser().fit(X)
        Z = self.standardiser_.transform(X)
        lam, V = np.linalg.eigh(np.atleast_2d(np.cov(Z, rowvar=False)))
        order = np.argsort(lam)[::-1]
        lam, V = np.maximum(lam[order], 0.0), V[:, order]
        ratio = lam / lam.sum()
        if self.n_components == "auto":
            m = int(np.searchsorted(np.cumsum(ratio), self.variance_threshold - 1e-12) + 1)
        else:
            m = int(self.n_components)
            if not 1 <= m <= Z.shape[1]:
                raise ModelError(f"n_components must be in 1..{Z.shape[1]}, got {m}")
        m = min(m, int(np.sum(lam > 1e-12 * lam[0])))
        self.n_components_ = m
        self.components_ = V[:, :m].T
        self.explained_variance_ = lam[:m]
        self.explained_variance_ratio_ = ratio[:m]
        self.n_features_in_ = Z.shape[1]
        return self

    def transform(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "components_")
        Z = self.standardiser_.transform(X)
        return (Z @ self.components_.T) / np.sqrt(self.explained_variance_)


def standardise(X: Any) -> pd.DataFrame:
    r"""Standardised copy of a table (DataFrame with the same index and columns).

    Parameters
    ----------
    X : DataFrame or array-like, shape (n_samples, n_features)
        Finite numeric table with at least two rows and no constant column.

    Returns
    -------
    DataFrame, shape (n_samples, n_features)
        :math:`(X - \mu) / \sigma` per column, with σ the sample standard deviation (ddof = 1).
    """
    df = _frame(X)
    return pd.DataFrame(Standardiser().fit_transform(df), index=df.index, columns=df.columns)


def whiten(
    X: Any, n_components: int | Literal["auto"] = "auto", variance_threshold: float = 0.99
) -> pd.DataFrame:
    """Whitened scores ``W1 … Wm`` of a table (see :class:`Whitener`).

    Parameters
    ----------
    X : DataFrame or array-like, shape (n_samples, n_features)
        Finite numeric table with at least two rows and no constant column.
    n_components : int or "auto", default "auto"
        Number of principal components kept, or ``"auto"`` to choose it from
        ``variance_threshold``.
    variance_threshold : float, default 0.99
        With ``n_components="auto"``: the cumulative explained-variance ratio, in (0, 1], the kept
        components must reach.

    Returns
    -------
    DataFrame, shape (n_samples, m)
        Columns ``W1 … Wm``, each with unit sample variance and mutually uncorrelated; same index as
        ``X``.
    """
    df = _frame(X)
    w = Whitener(n_components, variance_threshold)
    Y = w.fit_transform(df)
    return pd.DataFrame(Y, index=df.index, columns=[f"W{i + 1}" for i in range(Y.shape[1])])


def principal_components(X: Any, n_components: int | None = None) -> dict[str, Any]:
    """PCA of the standardised table: scores, loadings (directions), explained variance ratio.

    Parameters
    ----------
    X : DataFrame or array-like, shape (n_samples, n_features)
        Finite numeric table with at least two rows and no constant column.
    n_components : int, optional
        Number m of leading components returned (default: all ``n_features``; components with zero
        variance are dropped).

    Returns
    -------
    dict
        ``"scores"`` (DataFrame ``(n_samples, m)``, columns ``PC1 … PCm``, the standardised data
        projected on the directions), ``"loadings"`` (DataFrame ``(n_features, m)``, unit direction
        vectors in standardised space) and ``"explained_variance_ratio"`` (Series of length m).
    """
    df = _frame(X)
    w = Whitener(n_components=n_components or df.shape[1], variance_threshold=1.0).fit(df)
    Z = w.standardiser_.transform(df)
    names = [f"PC{i + 1}" for i in range(w.n_components_)]
    return {
        "scores": pd.DataFrame(Z @ w.components_.T, index=df.index, columns=names),
        "loadings": pd.DataFrame(w.components_.T, index=df.columns, columns=names),
        "explained_variance_ratio": pd.Series(w.explained_variance_ratio_, index=names),
    }


def centred_pca_scores(X: Any, n_components: int = 2) -> pd.DataFrame:
    r"""Scores of a table on its first principal axes, after centring only (no rescaling).

    Use it on data that are already in the space to be displayed (e.g. the standardised or
    whitened coordinates a clustering worked in); :func:`principal_components` standardises first.

    Parameters
    ----------
    X : array-like or DataFrame, shape (n_samples, n_features)
        Numeric table, at least two rows; a DataFrame's index labels the scores.
    n_components : int
        Number of leading principal axes, ``1 <= n_components <= min(n_samples, n_features)``.

    Returns
    -------
    DataFrame, shape (n_samples, n_components)
        Columns ``PC1 … PCm``: :math:`T = X_c V_m`.

    Notes
    -----
    With the centred data :math:`X_c = X - \mathbf{1}\bar{x}^T` and its thin singular value
    decomposition :math:`X_c = U \Sigma V^T`, the principal axes are the columns of :math:`V`
    (eigenvectors of the sample covariance, Jolliffe 2002, §3.5) and the scores are
    :math:`T = X_c V_m = U_m \Sigma_m`. The sign of each axis is that returned by LAPACK.

    References
    ----------
    Jolliffe, I. T. (2002). *Principal Component Analysis*, 2nd ed. Springer.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0], [3.0, 3.0]])
    >>> T = centred_pca_scores(X, n_components=1)
    >>> np.round(np.abs(T["PC1"].to_numpy()), 4).tolist()
    [2.1213, 0.7071, 0.7071, 2.1213]
    """
    df = _frame(X)
    if (
        isinstance(n_components, bool)
        or not isinstance(n_components, int | np.integer)
        or not 1 <= n_components <= min(df.shape)
    ):
        raise ModelError(f"n_components must be an int in 1..{min(df.shape)}, got {n_components!r}")
    A = df.to_numpy(dtype=float)
    A = A - A.mean(axis=0)
    _, _, Vt = np.linalg.svd(A, full_matrices=False)
    T = A @ Vt[:n_components].T
    return pd.DataFrame(T, index=df.index, columns=[f"PC{i + 1}" for i in range(n_components)])


def independent_components(
    Y: Any, n_components: int | None = None, random_state: RandomState = None
) -> np.ndarray:
    """FastICA (logcosh contrast, symmetric decorrelation; Hyvärinen 1999) on whitened data.

    Returns the unit unmixing rows (IC directions in the whitened space), shape (m, m); with
    ``n_components`` only the first m whitened coordinates are used."""
    A = _frame(Y).to_numpy()
    if n_components is not None:
        A = A[:, :n_components]
    seed = int(as_generator(random_state).integers(0, 2**31 - 1))
    ica = FastICA(
        whiten=False, fun="logcosh", algorithm="parallel", random_state=seed, max_iter=500, tol=1e-4
    )
    ica.fit(A)
    W = ica.components_
    return W / np.linalg.norm(W, axis=1, keepdims=True)


def principal_angles(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Principal angles (degrees, descending) between the column spaces of A and B (Björck & Golub 1973).

    Parameters
    ----------
    A : ndarray, shape (n, k)
        Columns spanning the first subspace of R^n.
    B : ndarray, shape (n, l)
        Columns spanning the second subspace of R^n.

    Returns
    -------
    ndarray, shape (min(rank A, rank B),)
        The principal angles in degrees, largest first (0 = a shared direction).
    """
    return np.degrees(subspace_angles(np.asarray(A, float), np.asarray(B, float)))


def direction_angles(centroids: np.ndarray, directions: np.ndarray) -> np.ndarray:
    """Angle (degrees) between each centroid's nearest-neighbour difference vector and the closest
    of the given ``directions`` (rows; sign ignored).

    The nearest-neighbour differences are the "centroid directions": for clusters laid out along
    independent trends they point along those trends.
    """
    C = np.asarray(centroids, float)
    D = np.asarray(directions, float)
    D = D / np.linalg.norm(D, axis=1, keepdims=True)
    dist = np.linalg.norm(C[:, None, :] - C[None, :, :], axis=-1)
    np.fill_diagonal(dist, np.inf)
    nn = np.argmin(dist, axis=1)
    diffs = C[nn] - C
    diffs /= np.linalg.norm(diffs, axis=1, keepdims=True)
    cos = np.abs(diffs @ D.T).max(axis=1)
    return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))


def kca_direction_diagnostic(
    X: Any,
    n_clusters: int,
    *,
    scaling: Literal["standardise", "whiten"] = "standardise",
    variance_threshold: float = 0.99,
    n_init: int = 50,
    random_state: RandomState = None,
) -> dict[str, Any]:
    """How k-means centroids relate to PCs and ICs after standardising or whitening (Iwamori 2017).

    Parameters
    ----------
    X : DataFrame or array-like, shape (n_samples, n_features)
        Finite numeric table with no constant column.
    n_clusters : int
        Number K of k-means clusters, ``2 <= K <= n_samples``.
    scaling : {"standardise", "whiten"}, default "standardise"
        Space in which k-means and ICA run: the standardised data Z (PC directions are the
        eigenvectors of their correlation matrix) or the whitened data Y (the coordinate axes are
        the rescaled PCs).
    variance_threshold : float, default 0.99
        With ``scaling="whiten"``: cumulative explained-variance ratio that decides how many
        components are kept (see :class:`Whitener`).
    n_init : int, default 50
        Number of k-means restarts (the best inertia is kept).
    random_state : int, numpy.random.Generator or None
        Seed of the k-means initialisation and of FastICA.

    Returns
    -------
    dict
        ``scaling`` and ``n_clusters`` as given; ``subspace_angle_pc`` (largest principal angle,
        degrees, between the centred centroid subspace and the top K−1 PCs); ``angles_to_pc`` /
        ``angles_to_ic`` (per centroid, degrees, see :func:`direction_angles`) and their means
        ``mean_angle_to_pc`` / ``mean_angle_to_ic``; plus ``centroids`` (K × m), ``labels``,
        ``pc_directions`` and ``ic_directions`` (rows) in the analysed space (standardised Z or
        whitened Y).
    """
    df = _frame(X)
    rng = as_generator(random_state)
    if n_clusters < 2 or n_clusters > len(df):
        raise ModelError(f"n_clusters must be in 2..{len(df)}, got {n_clusters}")
    if scaling == "standardise":
        S = Standardiser().fit_transform(df)
        w = Whitener(n_components=df.shape[1], variance_threshold=1.0).fit(df)
        pcs = w.components_
    elif scaling == "whiten":
        S = Whitener(variance_threshold=variance_threshold).fit_transform(df)
        pcs = np.eye(S.shape[1])  # whitened coordinates are the (rescaled) PC axes
    else:
        raise ModelError(f"scaling must be 'standardise' or 'whiten', got {scaling!r}")
    with threadpool_limits(limits=1 if S.size < 200_000 else None):
        km = KMeans(n_clusters, n_init=n_init, random_state=int(rng.integers(0, 2**31 - 1))).fit(S)
        ics = independent_components(S, random_state=rng)
    C = km.cluster_centers_
    Cc = C - np.average(C, axis=0, weights=np.bincount(km.labels_, minlength=n_clusters))
    k1 = min(n_clusters - 1, pcs.shape[0])
    sub = principal_angles(Cc.T, pcs[:k1].T)
    to_pc = direction_angles(C, pcs)
    to_ic = direction_angles(C, ics)
    return {
        "scaling": scaling,
        "n_clusters": n_clusters,
        "subspace_angle_pc": float(sub.max()),
        "angles_to_pc": to_pc,
        "angles_to_ic": to_ic,
        "mean_angle_to_pc": float(to_pc.mean()),
        "mean_angle_to_ic": float(to_ic.mean()),
        "centroids": C,
        "labels": km.labels_,
        "pc_directions": pcs,
        "ic_directions": ics,
    }
