"""Closure and log-ratio transforms: properties, inverses, agreement with pyrolite."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from petroinfer.composition import (
    alr,
    close,
    clr,
    helmert_basis,
    ilr,
    inverse_alr,
    inverse_clr,
    inverse_ilr,
)
from petroinfer.errors import InputError, ModelError

_COMPS = st.tuples(st.integers(2, 5), st.integers(2, 7)).flatmap(
    lambda shape: arrays(np.float64, shape, elements=st.floats(1e-4, 1e4))
)


@settings(max_examples=200, deadline=None)
@given(_COMPS)
def test_closure_sums_to_one(X):
    C = close(X)
    np.testing.assert_allclose(C.sum(axis=1), 1.0, rtol=1e-12)
    assert np.all(C > 0)
    np.testing.assert_allclose(close(X, total=100.0).sum(axis=1), 100.0, rtol=1e-12)


@settings(max_examples=200, deadline=None)
@given(_COMPS)
def test_clr_round_trip(X):
    Y = clr(X)
    np.testing.assert_allclose(Y.sum(axis=1), 0.0, atol=1e-9)
    np.testing.assert_allclose(inverse_clr(Y), close(X), rtol=1e-9, atol=1e-15)


@settings(max_examples=200, deadline=None)
@given(_COMPS)
def test_ilr_round_trip_and_isometry(X):
    Y = ilr(X)
    assert Y.shape == (X.shape[0], X.shape[1] - 1)
    np.testing.assert_allclose(inverse_ilr(Y), close(X), rtol=1e-9, atol=1e-15)
    # isometry: Aitchison distance = Euclidean distance of clr = of ilr
    d_clr = np.linalg.norm(clr(X)[0] - clr(X)[1])
    d_ilr = np.linalg.norm(Y[0] - Y[1])
    assert d_ilr == pytest.approx(d_clr, rel=1e-9, abs=1e-12)


@settings(max_examples=200, deadline=None)
@given(_COMPS, st.integers(0, 1))
def test_alr_round_trip(X, ref):
    np.testing.assert_allclose(
        inverse_alr(alr(X, reference=ref), reference=ref), close(X), rtol=1e-9, atol=1e-15
    )


def test_helmert_basis_is_orthonormal():
    for D in (2, 3, 8):
        V = helmert_basis(D)
        np.testing.assert_allclose(V @ V.T, np.eye(D - 1), atol=1e-12)
        np.testing.assert_allclose(V.sum(axis=1), 0.0, atol=1e-12)


def test_dataframes_keep_labels_and_round_trip():
    df = pd.DataFrame(
        {"SiO2": [50.0, 60.0], "MgO": [10.0, 5.0], "CaO": [8.0, 6.0]}, index=["a", "b"]
    )
    y = alr(df, reference="MgO")
    assert list(y.columns) == ["ln(SiO2/MgO)", "ln(CaO/MgO)"]
    back = inverse_alr(y)
    assert list(back.columns) == ["SiO2", "MgO", "CaO"]
    pd.testing.assert_frame_equal(back, close(df), check_exact=False, rtol=1e-10)
    back = inverse_ilr(ilr(df))
    assert list(back.index) == ["a", "b"] and list(back.columns) == list(df.columns)
    s = clr(df.loc["a"])
    assert isinstance(s, pd.Series) and s.sum() == pytest.approx(0.0, abs=1e-12)


def test_agreement_with_pyrolite():
    codata = pytest.importorskip("pyrolite.comp.codata")
    rng = np.random.default_rng(1)
    X = rng.dirichlet(np.ones(5), size=10)
    np.testing.assert_allclose(ilr(X), codata.ILR(X), atol=1e-10)
    np.testing.assert_allclose(clr(X), codata.CLR(X), atol=1e-10)
    np.testing.assert_allclose(alr(X), codata.ALR(X), atol=1e-10)


def test_zero_and_negative_parts_are_reported():
    df = pd.DataFrame({"SiO2": [50.0, 0.0], "MgO": [10.0, 5.0]}, index=["s1", "s2"])
    with pytest.raises(InputError, match=r"column 'SiO2', row 's2', value 0\)"):
        clr(df)
    with pytest.raises(InputError, match="row 's1'"):
        close(pd.DataFrame({"a": [-1.0]}, index=["s1"]))
    with pytest.raises(InputError, match="all parts zero"):
        close(pd.DataFrame({"a": [0.0], "b": [0.0]}, index=["s1"]))
    with pytest.raises(ModelError, match="reference"):
        alr(df.iloc[:1], reference="CaO")
