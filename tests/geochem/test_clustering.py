"""KMeansCluster: K by silhouette/gap/BIC, cross-tabulation, assignment to NMF end-members."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from petroinfer.errors import InputError, ModelError
from petroinfer.geochem import (
    KMeansCluster,
    assign_clusters_to_endmembers,
    crosstab_clusters,
)
from petroinfer.geochem.clustering import kmeans_bic


@pytest.fixture(scope="module")
def blobs():
    rng = np.random.default_rng(0)
    centres = np.array([[0, 0, 0], [4, 0, 1], [0, 4, -1], [4, 4, 3]], float)
    X = np.vstack([c + 0.5 * rng.normal(size=(60, 3)) for c in centres])
    return pd.DataFrame(X, columns=["a", "b", "c"]), np.repeat(np.arange(4), 60)


@pytest.mark.parametrize("criterion", ["silhouette", "gap", "bic"])
def test_k_chosen_by_each_criterion(blobs, criterion):
    X, y = blobs
    km = KMeansCluster(
        criterion=criterion, k_range=range(2, 7), n_init=10, n_references=5, random_state=0
    ).fit(X)
    assert km.n_clusters_ == 4
    assert set(km.k_selection_.columns) >= {"silhouette", "gap", "gap_se", "bic", "inertia"}
    tab = crosstab_clusters(km.labels_, pd.Series(y, name="zone"))
    assert (tab.max(axis=1) == 60).all()  # every cluster is one zone


def test_bic_prefers_truth_over_one_cluster(blobs):
    X, y = blobs
    Z = X.to_numpy()
    centres = np.array([Z[y == k].mean(axis=0) for k in range(4)])
    one = Z.mean(axis=0, keepdims=True)
    assert kmeans_bic(Z, y, centres) < kmeans_bic(Z, np.zeros(len(Z), int), one)


def test_assign_clusters_to_endmembers():
    labels = np.array([0, 0, 1, 1, 1])
    P = pd.DataFrame({"EM1": [0.9, 0.8, 0.1, 0.2, 0.0], "EM2": [0.1, 0.2, 0.9, 0.8, 1.0]})
    out = assign_clusters_to_endmembers(labels, P)
    assert list(out["dominant_endmember"]) == ["EM1", "EM2"]
    assert out.loc[1, "EM2"] == pytest.approx(0.9)
    assert list(out["n"]) == [2, 3]


def test_bad_input(blobs):
    X, _ = blobs
    with pytest.raises(InputError, match="fewer samples"):
        KMeansCluster(n_clusters=5).fit(X.iloc[:4])
    with pytest.raises(ModelError, match="scaling"):
        KMeansCluster(scaling="log").fit(X)
    with pytest.raises(InputError, match="rows"):
        crosstab_clusters([0, 1], ["a"])


def test_ueki_isotopes_whitened_smoke():
    ds = pytest.importorskip("petroinfer.io.datasets")
    try:
        df = ds.load_ueki2018_basalts(download=False)
    except InputError as exc:  # pragma: no cover - data folder absent
        pytest.skip(f"Ueki data not available: {exc}")
    iso = df[["Sr87Sr86", "Nd143Nd144", "Pb206Pb204", "Pb207Pb204", "Pb208Pb204"]]
    km = KMeansCluster(
        scaling="whiten", k_range=range(2, 6), n_init=3, n_references=0, random_state=0
    ).fit(iso)
    assert 2 <= km.n_clusters_ <= 6
    tab = crosstab_clusters(km.labels_, df["Class"])
    assert tab.to_numpy().sum() == len(df)
    # MORB and OIB are distributed differently over the clusters (isotopically distinct sources)
    frac = tab.div(tab.sum(axis=0), axis=1)
    assert 0.5 * (frac["MOR"] - frac["OI"]).abs().sum() > 0.15


def test_sklearn_estimator_checks():
    from sklearn.utils.estimator_checks import check_estimator

    check_estimator(
        KMeansCluster(n_clusters=2, n_init=2, random_state=0), expected_failed_checks=_EXPECTED
    )


#: petroinfer raises InputError (a ValueError naming column/row/value), not TypeError, on object cells
_EXPECTED = {"check_dtype_object": "InputError (ValueError) names the non-numeric cell"}
