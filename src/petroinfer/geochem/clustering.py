"""k-means cluster analysis (KCA) of whole-rock data with K chosen from the data.

:class:`KMeansCluster` standardises or whitens the table (Iwamori et al. 2017), runs k-means with many
restarts for each candidate K and reports three criteria for K: mean silhouette (Rousseeuw 1987), the gap
statistic (Tibshirani, Walther & Hastie 2001) and the BIC of the spherical-Gaussian model implied by
k-means (Pelleg & Moore 2000). Helpers cross-tabulate clusters against sample metadata (e.g.
metamorphic zone) and assign each cluster to its dominant NMF end-member (Yoshida et al. 2018 [R]).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClusterMixin, TransformerMixin
from sklearn.cluster import KMeans
from sklearn.metrics import silhouette_score
from sklearn.utils.validation import check_is_fitted
from threadpoolctl import threadpool_limits

from petroinfer._rng import RandomState, as_generator
from petroinfer.errors import InputError, ModelError
from petroinfer.geochem._tables import as_numeric_frame
from petroinfer.geochem.components import Standardiser, Whitener

__all__ = ["KMeansCluster", "assign_clusters_to_endmembers", "crosstab_clusters", "kmeans_bic"]


def kmeans_bic(Z: np.ndarray, labels: np.ndarray, centers: np.ndarray) -> float:
    r"""BIC of k-means as identical spherical Gaussians (Pelleg & Moore 2000, X-means), lower = better.

    :math:`\hat\sigma^2 = \frac{1}{d(n-K)}\sum_i\|x_i-\mu_{c_i}\|^2`,
    :math:`\ell = \sum_k n_k\log(n_k/n) - \tfrac{nd}{2}\log(2\pi\hat\sigma^2) - \tfrac{d(n-K)}{2}`,
    :math:`\mathrm{BIC} = -2\ell + [(K-1) + Kd + 1]\log n`.

    Parameters
    ----------
    Z : ndarray of shape (n, d)
        The analysed (scaled) data.
    labels : ndarray of shape (n,)
        Cluster index of every row, in ``0 … K-1``.
    centers : ndarray of shape (K, d)
        Cluster centres in the same space as ``Z``.

    Returns
    -------
    float
        The BIC (dimensionless; lower is better).

    Examples
    --------
    >>> import numpy as np
    >>> Z = np.array([[0.0], [0.2], [5.0], [5.2]])
    >>> one = kmeans_bic(Z, np.zeros(4, int), Z.mean(axis=0, keepdims=True))
    >>> two = kmeans_bic(Z, np.array([0, 0, 1, 1]), np.array([[0.1], [5.1]]))
    >>> bool(two < one)
    True
    """
    n, d = Z.shape
    K = centers.shape[0]
    rss = float(np.sum((Z - centers[labels]) ** 2))
    var = max(rss / max(d * (n - K), 1), 1e-300)
    nk = np.bincount(labels, minlength=K).astype(float)
    nk = nk[nk > 0]
    ll = float(np.sum(nk * np.log(nk / n))) - n * d / 2 * np.log(2 * np.pi * var) - d * (n - K) / 2
    q = (K - 1) + K * d + 1
    return -2.0 * ll + q * np.log(n)


def _gap(Z, K, inertia, B, rng, n_init):
    """Gap statistic with reference data uniform in the PCA-aligned bounding box (Tibshirani 2001)."""
    Zc = Z - Z.mean(axis=0)
    _, _, Vt = np.linalg.svd(Zc, full_matrices=False)
    P = Zc @ Vt.T
    lo, hi = P.min(axis=0), P.max(axis=0)
    logw = np.empty(B)
    for b in range(B):
        R = rng.uniform(lo, hi, size=P.shape) @ Vt
        km = KMeans(K, n_init=n_init, random_state=int(rng.integers(0, 2**31 - 1))).fit(R)
        logw[b] = np.log(km.inertia_)
    gap = logw.mean() - np.log(inertia)
    sk = logw.std(ddof=0) * np.sqrt(1 + 1 / B)
    return float(gap), float(sk)


class KMeansCluster(ClusterMixin, TransformerMixin, BaseEstimator):
    """k-means cluster analysis with standardising or whitening and K chosen from the data.

    Parameters
    ----------
    n_clusters : int or "auto", default "auto"
        Number of clusters, or ``"auto"`` to choose it by ``criterion``.
    scaling : {"standardise", "whiten", "none"}, default "standardise"
        Scaling before k-means (Iwamori et al. 2017: whitened data for independent groups).
    criterion : {"silhouette", "gap", "bic"}, default "silhouette"
        The criterion that picks K; all three are reported. ``silhouette``: maximum mean silhouette;
        ``gap``: smallest K with Gap(K) ≥ Gap(K+1) − s(K+1) (Tibshirani, Walther & Hastie 2001);
        ``bic``: minimum BIC (:func:`kmeans_bic`).
    k_range : sequence of int, optional
        Candidate K (default 2 … min(10, n − 1)).
    n_init : int, default 20
        k-means restarts per K.
    n_references : int, default 10
        Reference data sets for the gap statistic.
    variance_threshold : float, default 0.99
        Whitening keeps components up to this cumulative explained variance.
    random_state : int, numpy Generator or None, default None
        Seed of the restarts and of the gap references.

    Attributes
    ----------
    n_clusters_ : int
        The chosen K.
    labels_ : ndarray of shape (n,)
        Cluster of every training sample.
    cluster_centers_ : ndarray of shape (K, d)
        Centres in the analysed (scaled) space.
    centroids_ : pandas.DataFrame
        Centres in input units (K × columns).
    k_selection_ : pandas.DataFrame
        Over K: ``inertia``, ``silhouette``, ``gap``, ``gap_se``, ``bic``.
    scaler_ : Standardiser, Whitener or None
        The fitted scaling.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = np.vstack([rng.normal(m, 0.3, size=(50, 3)) for m in (0, 3, 6)])
    >>> KMeansCluster(random_state=0, n_init=5, n_references=3).fit(X).n_clusters_
    3
    """

    def __init__(
        self,
        n_clusters: int | Literal["auto"] = "auto",
        *,
        scaling: Literal["standardise", "whiten", "none"] = "standardise",
        criterion: Literal["silhouette", "gap", "bic"] = "silhouette",
        k_range: Sequence[int] | None = None,
        n_init: int = 20,
        n_references: int = 10,
        variance_threshold: float = 0.99,
        random_state: RandomState = None,
    ) -> None:
        self.n_clusters = n_clusters
        self.scaling = scaling
        self.criterion = criterion
        self.k_range = k_range
        self.n_init = n_init
        self.n_references = n_references
        self.variance_threshold = variance_threshold
        self.random_state = random_state

    def _scale(self, df: pd.DataFrame, fitting: bool) -> np.ndarray:
        if fitting:
            if self.scaling == "standardise":
                self.scaler_ = Standardiser().fit(df)
            elif self.scaling == "whiten":
                self.scaler_ = Whitener(variance_threshold=self.variance_threshold).fit(df)
            elif self.scaling == "none":
                self.scaler_ = None
            else:
                raise ModelError(
                    f"scaling must be 'standardise', 'whiten' or 'none', got {self.scaling!r}"
                )
        return df.to_numpy() if self.scaler_ is None else self.scaler_.transform(df)

    def fit(self, X: Any, y: Any = None) -> KMeansCluster:
        """Scale, run k-means for every candidate K and keep the K picked by ``criterion``."""
        if self.criterion not in ("silhouette", "gap", "bic"):
            raise ModelError(
                f"criterion must be 'silhouette', 'gap' or 'bic', got {self.criterion!r}"
            )
        df = as_numeric_frame(X, name="X", allow_negative=True, min_rows=3)
        n = len(df)
        Z = self._scale(df, fitting=True)
        rng = as_generator(self.random_state)
        if self.n_clusters == "auto":
            ks = (
                list(self.k_range)
                if self.k_range is not None
                else list(range(2, min(10, n - 1) + 1))
            )
        else:
            ks = [int(self.n_clusters)]
        if min(ks) < 1 or max(ks) >= n:
            raise InputError(f"fewer samples ({n}) than clusters requested ({max(ks)})", value=n)
        # small tables: one BLAS/OpenMP thread is faster and avoids oversubscription
        limits = 1 if Z.size < 200_000 else None
        with threadpool_limits(limits=limits):
            sel, models = self._scan(Z, ks, rng, n)
        K = ks[0] if len(ks) == 1 else self._choose(sel)
        self.k_selection_ = sel
        self.n_clusters_ = K
        km = models[K]
        self.kmeans_ = km
        self.labels_ = km.labels_
        self.cluster_centers_ = km.cluster_centers_
        self.centroids_ = df.groupby(km.labels_).mean().rename_axis("cluster")
        self.feature_names_in_ = np.array(df.columns, dtype=object)
        self.n_features_in_ = df.shape[1]
        return self

    def _scan(self, Z, ks, rng, n):
        models, rows = {}, []
        for K in sorted(set(ks)):
            km = KMeans(
                K, n_init=int(self.n_init), random_state=int(rng.integers(0, 2**31 - 1))
            ).fit(Z)
            models[K] = km
            row = {
                "k": K,
                "inertia": float(km.inertia_),
                "bic": kmeans_bic(Z, km.labels_, km.cluster_centers_),
            }
            row["silhouette"] = (
                float(silhouette_score(Z, km.labels_)) if 1 < len(set(km.labels_)) < n else np.nan
            )
            if len(ks) > 1 and int(self.n_references) > 0:
                row["gap"], row["gap_se"] = _gap(Z, K, km.inertia_, int(self.n_references), rng, 1)
            else:
                row["gap"], row["gap_se"] = np.nan, np.nan
            rows.append(row)
        return pd.DataFrame(rows).set_index("k"), models

    def _choose(self, sel: pd.DataFrame) -> int:
        if self.criterion == "silhouette":
            return int(sel["silhouette"].idxmax())
        if self.criterion == "bic":
            return int(sel["bic"].idxmin())
        ks = list(sel.index)
        for a, b in itertools.pairwise(ks):
            if sel.loc[a, "gap"] >= sel.loc[b, "gap"] - sel.loc[b, "gap_se"]:
                return int(a)
        return int(ks[-1])

    def predict(self, X: Any) -> np.ndarray:
        """Nearest fitted centroid for new samples."""
        check_is_fitted(self, "kmeans_")
        df = as_numeric_frame(X, name="X", allow_negative=True)
        return self.kmeans_.predict(self._scale(df, fitting=False))

    def transform(self, X: Any) -> np.ndarray:
        """The analysed (standardised / whitened) coordinates."""
        check_is_fitted(self, "kmeans_")
        return self._scale(as_numeric_frame(X, name="X", allow_negative=True), fitting=False)


def crosstab_clusters(labels: Any, metadata: Any, *, normalize: bool = False) -> pd.DataFrame:
    """Contingency table of clusters (rows) against a metadata column (e.g. metamorphic zone).

    Parameters
    ----------
    labels : array-like of shape (n,)
        Cluster label of every sample.
    metadata : array-like or pandas.Series of shape (n,)
        The categorical variable to cross-tabulate, in the same sample order.
    normalize : bool, default False
        Divide each row by its total (share of each category within a cluster).

    Returns
    -------
    pandas.DataFrame
        Index ``cluster``, one column per metadata category; counts, or row fractions.

    Examples
    --------
    >>> crosstab_clusters([0, 0, 1], ["chl", "grt", "grt"]).to_numpy().tolist()
    [[1, 1], [0, 1]]
    """
    lab = np.asarray(labels)
    original = pd.Series(metadata)
    meta = original.reset_index(drop=True)
    if len(meta) != len(lab):
        raise InputError(f"metadata has {len(meta)} rows but there are {len(lab)} cluster labels")
    if meta.isna().any():
        first = int(np.flatnonzero(meta.isna())[0])
        raise InputError("metadata has missing values", row=str(original.index[first]))
    tab = pd.crosstab(pd.Series(lab, name="cluster"), meta.rename(meta.name or "metadata"))
    return tab.div(tab.sum(axis=1), axis=0) if normalize else tab


def assign_clusters_to_endmembers(labels: Any, proportions: Any) -> pd.DataFrame:
    """Dominant NMF end-member of each cluster: mean mass fractions per cluster and their argmax.

    Parameters
    ----------
    labels : array-like of shape (n,)
        Cluster label of every sample.
    proportions : pandas.DataFrame or array-like of shape (n, K)
        End-member mass fractions of the same samples (e.g. ``EndmemberNMF.proportions_``).

    Returns
    -------
    pandas.DataFrame
        Indexed by ``cluster``: the mean proportion of every end-member (mass fraction), ``n`` and
        ``dominant_endmember``.

    Examples
    --------
    >>> import pandas as pd
    >>> P = pd.DataFrame({"EM1": [0.9, 0.8, 0.1], "EM2": [0.1, 0.2, 0.9]})
    >>> assign_clusters_to_endmembers([0, 0, 1], P)["dominant_endmember"].tolist()
    ['EM1', 'EM2']
    """
    P = as_numeric_frame(proportions, name="proportions")
    lab = np.asarray(labels)
    if len(lab) != len(P):
        raise InputError(f"proportions have {len(P)} rows but there are {len(lab)} cluster labels")
    mean = P.groupby(lab).mean().rename_axis("cluster")
    mean["n"] = pd.Series(lab).value_counts().sort_index().to_numpy()
    mean["dominant_endmember"] = P.groupby(lab).mean().idxmax(axis=1).to_numpy()
    return mean
