"""``petroinfer.geochem.components.centred_pca_scores`` (the PCA the ``cluster`` command plots).

Lives with the CLI tests because the helper replaced the command's inline PCA; candidates for
``tests/geochem``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from petroinfer.errors import InputError, ModelError
from petroinfer.geochem.components import centred_pca_scores


def test_scores_match_the_covariance_eigenvectors():
    rng = np.random.default_rng(3)
    t = rng.normal(0.0, 3.0, 200)
    direction = np.array([1.0, 2.0, -1.0]) / np.sqrt(6.0)
    X = 5.0 + np.outer(t, direction) + rng.normal(0.0, 0.1, (200, 3))
    frame = pd.DataFrame(X, columns=["a", "b", "c"], index=[f"s{i}" for i in range(200)])
    T = centred_pca_scores(frame, n_components=2)
    assert list(T.columns) == ["PC1", "PC2"] and list(T.index) == list(frame.index)
    # independent route: eigenvectors of the sample covariance (np.cov + eigh)
    w, V = np.linalg.eigh(np.cov(X, rowvar=False))
    V = V[:, np.argsort(w)[::-1]]
    ref = (X - X.mean(axis=0)) @ V[:, :2]
    for k in range(2):
        sign = np.sign(ref[:, k] @ T.iloc[:, k].to_numpy())
        np.testing.assert_allclose(T.iloc[:, k].to_numpy(), sign * ref[:, k], atol=1e-10)
    # the first axis is the generating direction, its score variance that of t (+ noise)
    assert abs(abs(V[:, 0] @ direction) - 1.0) < 1e-3
    assert T["PC1"].var() == pytest.approx(np.var(t, ddof=1) + 0.01, rel=0.02)
    assert abs(T["PC1"].mean()) < 1e-12


def test_bad_arguments():
    X = np.arange(12.0).reshape(4, 3)
    with pytest.raises(ModelError, match="n_components"):
        centred_pca_scores(X, n_components=4)
    with pytest.raises(ModelError, match="n_components"):
        centred_pca_scores(X, n_components=0)
    with pytest.raises(InputError):
        centred_pca_scores(np.array([[1.0, np.nan], [2.0, 3.0]]))
