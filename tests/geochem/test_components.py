"""Standardise/whiten, PCA/ICA and the Iwamori (2017) k-means ↔ PC/IC direction diagnostic."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from petroinfer.errors import InputError
from petroinfer.geochem import Standardiser, Whitener, kca_direction_diagnostic, standardise, whiten
from petroinfer.geochem.synthetic import make_latent_sources


@settings(max_examples=25, deadline=None)
@given(arrays(float, (12, 3), elements=st.floats(-1e3, 1e3)))
def test_standardise_whiten_properties(A):
    if np.any(A.std(axis=0) < 1e-3 * (1 + np.abs(A).max())):
        return
    Z = Standardiser().fit_transform(A)
    np.testing.assert_allclose(Z.mean(axis=0), 0, atol=1e-8)
    np.testing.assert_allclose(Z.std(axis=0, ddof=1), 1, rtol=1e-8)
    np.testing.assert_allclose(
        Standardiser().fit(A).inverse_transform(Z), A, atol=1e-6 * (1 + np.abs(A).max())
    )
    w = Whitener(n_components=3, variance_threshold=1.0).fit(A)
    if w.n_components_ == 3 and w.explained_variance_.min() > 1e-6:
        Y = w.transform(A)
        np.testing.assert_allclose(np.cov(Y, rowvar=False), np.eye(3), atol=1e-6)


def test_whiten_keeps_components_by_variance():
    ls = make_latent_sources(500, n_features=5, random_state=0)
    Y = whiten(ls.data)
    assert Y.shape[1] == 3  # three sources, two noise dimensions dropped at 99 %
    np.testing.assert_allclose(np.cov(Y.to_numpy(), rowvar=False), np.eye(3), atol=1e-8)
    assert list(standardise(ls.data).columns) == list(ls.data.columns)


def test_kmeans_matches_pcs_after_standardising():
    rng = np.random.default_rng(1)
    centres = rng.normal(size=(3, 6)) * 5
    X = np.vstack([c + rng.normal(size=(200, 6)) for c in centres])
    d = kca_direction_diagnostic(X, 3, scaling="standardise", n_init=10, random_state=0)
    assert d["subspace_angle_pc"] < 5.0


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_kmeans_matches_ics_after_whitening(seed):
    ls = make_latent_sources(600, random_state=seed)
    d = kca_direction_diagnostic(ls.data, 4, scaling="whiten", n_init=10, random_state=0)
    assert d["mean_angle_to_ic"] < d["mean_angle_to_pc"]
    assert d["mean_angle_to_ic"] < 10.0


def test_bad_input():
    df = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [1.0, 1.0, 1.0]})
    with pytest.raises(InputError, match="constant") as e:
        standardise(df)
    assert "'b'" in str(e.value)
    df = pd.DataFrame({"a": [1.0, "x", 3.0], "b": [1.0, 2.0, 1.0]})
    with pytest.raises(InputError, match="non-numeric"):
        whiten(df)


@pytest.mark.parametrize("est", [Standardiser(), Whitener()], ids=["Standardiser", "Whitener"])
def test_sklearn_estimator_checks(est):
    from sklearn.utils.estimator_checks import check_estimator

    check_estimator(est, expected_failed_checks=_EXPECTED)


#: petroinfer raises InputError (a ValueError naming column/row/value), not TypeError, on object cells
_EXPECTED = {"check_dtype_object": "InputError (ValueError) names the non-numeric cell"}
