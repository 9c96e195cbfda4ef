"""Property-based tests: any table written with any delimiter/BOM/decimal mark reads back exactly."""

from __future__ import annotations

import codecs
import tempfile
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from petroinfer.composition import canonical_name, known_names, suspect_misspelling
from petroinfer.io import read_table

_COLUMNS = ["SiO2", "TiO2", "Al2O3", "FeOT", "MgO", "CaO", "Na2O", "K2O", "La", "Rb", "Sr87Sr86"]
_values = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)


@st.composite
def tables(draw):
    ncol = draw(st.integers(1, 6))
    cols = draw(st.permutations(_COLUMNS))[:ncol]
    nrow = draw(st.integers(1, 8))
    values = draw(
        st.lists(st.lists(_values, min_size=ncol, max_size=ncol), min_size=nrow, max_size=nrow)
    )
    ids = [f"S{i}-{draw(st.sampled_from(['a', 'b', 'rim', 'core']))}" for i in range(nrow)]
    sep = draw(st.sampled_from([",", ";", "\t"]))
    decimal = draw(st.sampled_from([".", ","])) if sep != "," else "."
    bom = draw(st.booleans())
    return cols, ids, values, sep, decimal, bom


def _render(cols, ids, values, sep, decimal, bom) -> bytes:
    lines = [sep.join(["Sample", *cols])]
    for sid, row in zip(ids, values, strict=True):
        cells = [repr(float(v)) for v in row]
        if decimal == ",":
            cells = [c.replace(".", ",") for c in cells]
        lines.append(sep.join([sid, *cells]))
    data = ("\n".join(lines) + "\n").encode("utf-8")
    return (codecs.BOM_UTF8 + data) if bom else data


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables())
def test_round_trip_through_delimited_text(table):
    cols, ids, values, sep, decimal, bom = table
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "t.csv"
        path.write_bytes(_render(cols, ids, values, sep, decimal, bom))
        df = read_table(path, numeric="all", allow_missing=False)
    assert list(df.columns) == [canonical_name(c) for c in cols]
    assert df.index.tolist() == ids and df.index.name == "Sample"
    assert df.attrs["delimiter"] == sep
    expected = np.array(values, dtype=float)
    np.testing.assert_array_equal(df.to_numpy(dtype=float), expected)  # exact, not approximate
    if any("." in repr(float(v)) for row in values for v in row):
        assert df.attrs["decimal"] == decimal


_spellings = st.one_of(
    st.sampled_from(known_names()),
    st.sampled_from(["FeO*", "87Sr/86Sr", "sio2 (wt%)", "Grt_FeO(T)", "Rb_ppm", "SIO2", "Mg#"]),
    st.text(
        alphabet="ABCDEFGHIJKLMNOPRSTUVWXYZabcdefghiklmnoprstuvyz0123456789_#*()/% ", max_size=12
    ),
)


@settings(max_examples=300, deadline=None)
@given(_spellings)
def test_name_normalisation_is_idempotent(name):
    once = canonical_name(name)
    assert canonical_name(once) == once
    strict = canonical_name(name, strict=True)
    if strict is not None:  # a known name is never reported as a misspelling
        assert suspect_misspelling(name) is None
        assert canonical_name(strict, strict=True) == strict


@settings(max_examples=200, deadline=None)
@given(_spellings)
def test_misspelling_suggestions_are_known_names(name):
    hit = suspect_misspelling(name)
    if hit is not None:
        assert canonical_name(hit, strict=True) == hit
        assert canonical_name(name, strict=True) is None
