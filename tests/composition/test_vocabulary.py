"""The one chemistry vocabulary: public names, misspellings, isotope ratios, oxide cations, units."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import petroinfer.composition as comp
from petroinfer.composition import (
    cf_units,
    element_symbols,
    is_isotope_ratio,
    misspelled_columns,
    oxide_cation,
    parse_unit,
    split_unit,
    suspect_misspelling,
    validate_composition,
)
from petroinfer.errors import InputError


def test_private_names_remain_aliases_of_the_public_ones():
    """Other packages switch their imports one by one: the old private names still work."""
    from petroinfer.composition import _names, _units, _validate

    assert _names._elements is element_symbols
    assert _names._strip_unit is split_unit
    assert _names._UNITS is comp.UNIT_ALIASES
    assert _units.UNIT_FACTORS is comp.UNIT_FACTORS
    assert _validate._numeric_column is comp.numeric_column
    assert _validate._override_units is comp.override_units
    assert _validate._parse_numbers is comp.parse_numbers


def test_element_symbols_and_units():
    sym = element_symbols()
    assert sym[0] == "H" and sym[25] == "Fe" and sym[-1] == "Pu" and len(sym) == 94
    assert split_unit("La (ppm)") == ("La", "ppm")
    assert split_unit("SiO2 [wt.%]") == ("SiO2", "wt%")
    assert parse_unit(" [wt.%] ") == "wt%" and parse_unit("ng/g") == "ppb"
    assert parse_unit(float("nan")) is None and parse_unit("Sample") is None
    assert cf_units("wt%") == "percent" and cf_units("ppb") == "1e-9" and cf_units("K") == "K"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Sr87Sr86", True), ("87Sr/86Sr", True), ("143Nd/144Nd", True), ("Ar40Ar39", True),
        ("Pb206Pb204", True), ("He3He4", True), ("Fe2O3", False), ("Al2O3", False),
        ("Cr2O3", False), ("SiO2", False), ("La", False), ("eNd", False),
    ],
)  # fmt: skip
def test_is_isotope_ratio(name, expected):
    assert is_isotope_ratio(name) is expected


def test_oxide_cation():
    assert [oxide_cation(n) for n in ("SiO2", "Al2O3", "FeO*", "Fe2O3T", "Grt_MnO")] == [
        "Si", "Al", "Fe", "Fe", "Mn",
    ]  # fmt: skip
    assert oxide_cation("H2O") is None and oxide_cation("Zr") is None
    assert oxide_cation("Total") is None and oxide_cation("Sample") is None


@pytest.mark.parametrize(
    ("name", "suggestion"),
    [
        ("Mg0", "MgO"), ("Al203", "Al2O3"), ("Si02", "SiO2"), ("Na20", "Na2O"), ("H20", "H2O"),
        ("Zrr", "Zr"), ("Rbb", "Rb"), ("SiO3", "SiO2"), ("Al2O4", "Al2O3"), ("TiO", "TiO2"),
        ("Mg0 (wt%)", "MgO"),
    ],
)  # fmt: skip
def test_misspelled_chemistry_names_are_suspected(name, suggestion):
    assert suspect_misspelling(name) == suggestion


@pytest.mark.parametrize(
    "name",
    [
        "Ref", "Run", "Time", "time", "Year", "x", "y", "Notes", "Class", "Unit", "Group", "Well",
        "Batch", "Source", "Region", "Locality", "Author", "Label", "Cluster", "Setting", "pH",
        "Eh", "T_C", "P_kbar", "radius", "Distance", "Comment", "alpha", "NO", "Sample2",
        "SiO2", "MgO", "Zr", "FeO*", "87Sr/86Sr", "Total",
    ],
)  # fmt: skip
def test_ordinary_headers_are_not_false_alarms(name):
    assert suspect_misspelling(name) is None


def test_misspelled_columns_respects_ignore():
    cols = ["Sample", "SiO2", "Mg0", "Zrr", "Rbb", "Ref"]
    assert misspelled_columns(cols) == {"Mg0": "MgO", "Zrr": "Zr", "Rbb": "Rb"}
    assert misspelled_columns(cols, ignore=["Mg0", "Rbb"]) == {"Zrr": "Zr"}


# --------------------------------------------------------------------------- validation fixes
def test_a_text_only_oxide_column_is_not_metadata():
    """One-row file ``A,45.1,0.1,abc,...``: the Al2O3 column holds text only — refused."""
    df = pd.DataFrame(
        {"SiO2": [45.1], "TiO2": [0.1], "Al2O3": ["abc"], "MgO": [40.0]},
        index=pd.Index(["A"], name="Sample"),
    )
    with pytest.raises(InputError, match=r"non-numeric.*column 'Al2O3', row 'A', value 'abc'"):
        validate_composition(df, totals=None)
    # an unknown name with text only is still a label, kept
    ok = validate_composition(df.assign(Al2O3=15.0, Remark=["fresh"]), totals=None)
    assert ok.loc["A", "Remark"] == "fresh"


def test_epma_total_above_100_is_not_a_unit_mixup():
    """EPMA analyses total 98–102 wt%: a ``Total`` of 100.22 is no 'looks like ppm'."""
    df = pd.DataFrame(
        {"SiO2": [37.5], "Al2O3": [21.2], "FeO": [30.1], "MgO": [5.2], "CaO": [6.22],
         "Total": [100.22]},
        index=pd.Index(["G1"], name="Sample"),
    )  # fmt: skip
    out = validate_composition(df)
    assert out.loc["G1", "Total"] == 100.22
    np.testing.assert_allclose(comp.oxide_total(out), [100.22])


@pytest.mark.parametrize(
    ("value", "unit", "pattern"),
    [
        (1e300, "wt%", r"absurd or infinite value"),
        (float("inf"), "wt%", r"absurd or infinite value"),
        (2e9, "ppm", r"absurd or infinite value"),
        (350.0, "wt%", r"looks like ppm"),
        (5e7, "wt%", r"looks like ppb"),
        (5e7, "ppm", r"looks like ppb"),
    ],
)
def test_magnitude_messages_say_what_the_value_is(value, unit, pattern):
    df = pd.DataFrame({"SiO2": [50.0, value], "MgO": [50.0, 49.0]}, index=["a", "b"])
    with pytest.raises(InputError, match=pattern + r".*column 'SiO2', row 'b'"):
        validate_composition(df, units=unit, totals=None)
