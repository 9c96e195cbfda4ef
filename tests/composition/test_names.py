"""Canonical names and alias normalisation."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from petroinfer.composition import (
    canonical_name,
    closest_names,
    known_names,
    name_category,
    normalise_columns,
    parse_column,
    select_prefix,
    split_prefix,
)
from petroinfer.errors import InputError


@pytest.mark.parametrize(
    ("spelling", "canonical"),
    [
        ("SiO2", "SiO2"),
        ("SIO2", "SiO2"),
        ("sio2", "SiO2"),
        ("SiO2 (wt%)", "SiO2"),
        ("SiO2 [wt.%]", "SiO2"),
        ("SiO2_pct", "SiO2"),
        ("TiO2%", "TiO2"),
        ("FeO*", "FeOT"),
        ("FeOt", "FeOT"),
        ("FeO(T)", "FeOT"),
        ("FeOtot", "FeOT"),
        ("FeO_T", "FeOT"),
        ("Fe2O3(T)", "Fe2O3T"),
        ("Fe2O3t", "Fe2O3T"),
        ("Fe2O3*", "Fe2O3T"),
        ("87Sr/86Sr", "Sr87Sr86"),
        ("Sr87Sr86", "Sr87Sr86"),
        ("Sr87/Sr86", "Sr87Sr86"),
        ("143Nd/144Nd", "Nd143Nd144"),
        ("206Pb/204Pb", "Pb206Pb204"),
        ("Rb (ppm)", "Rb"),
        ("Rb_ppm", "Rb"),
        ("H2O+", "H2O+"),
        ("H2O-", "H2O-"),
        ("loi", "LOI"),
        ("Mg#", "Mg#"),
        ("Mgno", "Mg#"),
        ("X_alm", "XAlm"),
        ("Xpy", "XPrp"),
        ("xan", "XAn"),
        ("δ18O", "d18O"),
        ("Grt_SiO2", "Grt_SiO2"),
        ("grt-sio2", "Grt_SiO2"),
        ("Bt_MgO", "Bt_MgO"),
        ("Pl_CaO", "Pl_CaO"),
        ("Grt_XAlm", "Grt_XAlm"),
        ("Bt_XMg", "Bt_XMg"),
        ("Pl_XAn", "Pl_XAn"),
        ("Grt XGrs", "Grt_XGrs"),
        ("SiO2_Grt", "Grt_SiO2"),
        ("Grt_FeO*", "Grt_FeOT"),
        ("SampNo", "Sample"),
    ],
)
def test_aliases_map_to_canonical_names(spelling, canonical):
    assert canonical_name(spelling) == canonical


def test_units_are_parsed_from_headers():
    assert parse_column("SiO2 (wt%)").unit == "wt%"
    assert parse_column("Rb_ppm").unit == "ppm"
    assert parse_column("Au_ppb").unit == "ppb"
    assert parse_column("Cr_apfu").unit == "apfu"
    assert parse_column("SiO2").unit is None
    # the suffix the whole-rock modules (geochem column_units) have always accepted
    p = parse_column("Na2O_wtpct")
    assert (p.name, p.unit) == ("Na2O", "wt%")


def test_categories():
    assert name_category("SiO2") == "oxide"
    assert name_category("La") == "ree"
    assert name_category("Rb") == "element"
    assert name_category("87Sr/86Sr") == "isotope"
    assert name_category("Grt_XAlm") == "endmember"
    assert name_category("LOI") == "volatile"
    assert name_category("Al203") is None
    assert set(known_names("ree")) >= {"La", "Lu", "Eu"}


def test_element_symbol_case_is_respected_for_exact_names():
    assert canonical_name("Co") == "Co"
    assert canonical_name("Cs") == "Cs"
    assert canonical_name("Pt") == "Pt"


def test_aliases_do_not_shadow_canonical_names():
    assert canonical_name("h2o") == "H2O"
    assert canonical_name("H2O-") == "H2O-"
    for name in known_names():
        assert canonical_name(name.lower()) == name or canonical_name(name.upper()) == name


def test_split_prefix():
    assert split_prefix("Grt_SiO2") == ("Grt", "SiO2")
    assert split_prefix("bt_xmg") == ("Bt", "XMg")
    assert split_prefix("plag_XAn") == ("Pl", "XAn")
    assert split_prefix("FeO*") == (None, "FeOT")
    assert split_prefix("something") == (None, "something")


def test_select_prefix():
    df = pd.DataFrame({"Grt_SiO2": [37.0], "Bt_SiO2": [35.0], "grt-MgO": [4.0], "SiO2": [1.0]})
    grt = select_prefix(df, "garnet")
    assert list(grt.columns) == ["SiO2", "MgO"] and grt["SiO2"].iloc[0] == 37.0
    assert list(select_prefix(df, None).columns) == ["SiO2"]
    assert list(select_prefix(df, "Bt", strip=False).columns) == ["Bt_SiO2"]


def test_unknown_names_get_suggestions():
    assert canonical_name("Al203", strict=True) is None
    assert canonical_name("Al203") == "Al203"
    assert closest_names("Al203") == ["Al2O3"]
    assert closest_names("SiO3") == ["SiO2"]
    assert closest_names("Fe0") == ["FeO"]


def test_normalise_columns_renames_and_records_units():
    df = pd.DataFrame({"SIO2 (wt%)": [50.0], "FeO*": [9.0], "Rb_ppm": [3.0], "Note": ["x"]})
    out = normalise_columns(df)
    assert list(out.columns) == ["SiO2", "FeOT", "Rb", "Note"]
    assert out.attrs["units"] == {"SiO2": "wt%", "Rb": "ppm"}
    assert list(df.columns) == ["SIO2 (wt%)", "FeO*", "Rb_ppm", "Note"]  # input untouched


def test_normalise_columns_raises_on_unknown_and_on_clashes():
    with pytest.raises(InputError, match=r"Al203.*did you mean 'Al2O3'"):
        normalise_columns(pd.DataFrame({"Al203": [1.0]}), errors="raise")
    with pytest.raises(InputError, match="both mean 'FeOT'"):
        normalise_columns(pd.DataFrame({"FeO*": [1.0], "FeOt": [1.0]}))


_SPELLINGS = st.one_of(
    st.sampled_from(known_names()),
    st.sampled_from(["FeO*", "SIO2 (wt%)", "87Sr/86Sr", "Grt_X_alm", "bt-mgo", "Rb_ppm", "LOI"]),
    st.text(alphabet="abcdefgSiOFeMgCaNaKTl0123456789_ ()*%#/+-", min_size=1, max_size=12),
)


@settings(max_examples=300, deadline=None)
@given(_SPELLINGS)
def test_alias_normalisation_is_idempotent(name):
    once = canonical_name(name)
    assert canonical_name(once) == once


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(known_names()))
def test_canonical_names_map_to_themselves(name):
    assert canonical_name(name) == name
