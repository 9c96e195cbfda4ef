"""Unit conversion, oxide ↔ element, Fe speciation, volatile-free renormalisation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from petroinfer.composition import (
    convert_units,
    element_to_oxide,
    molar_mass,
    oxide_stoichiometry,
    oxide_to_element,
    recalculate_iron,
    renormalise_volatile_free,
)
from petroinfer.errors import InputError, ModelError


def test_molar_masses_match_iupac_values():
    # IUPAC standard atomic weights: Si 28.085, O 15.999, Fe 55.845, Mg 24.305
    assert molar_mass("SiO2") == pytest.approx(60.083, abs=2e-3)
    assert molar_mass("FeO") == pytest.approx(71.844, abs=2e-3)
    assert molar_mass("FeOT") == molar_mass("FeO")
    assert molar_mass("Fe2O3T") == pytest.approx(159.687, abs=2e-3)
    assert molar_mass("Grt_MgO") == pytest.approx(40.304, abs=2e-3)
    assert oxide_stoichiometry("Na2O") == ("Na", 2.0, 1.0)
    with pytest.raises(InputError):
        molar_mass("LOI")


def test_wt_percent_ppm_and_mol():
    s = pd.Series({"SiO2": 60.083, "La": 10.0})
    ppm = convert_units(s, "wt%", "ppm")
    assert ppm["SiO2"] == pytest.approx(600830.0)
    mol = convert_units(s, "wt%", "mol", columns=["SiO2"])
    assert mol["SiO2"] == pytest.approx(1.0, rel=1e-4)  # 1 mol per 100 g
    assert mol["La"] == 10.0  # untouched
    with pytest.raises(ModelError, match="to_unit"):
        convert_units(s, "wt%", "furlongs")


def test_oxide_element_factors():
    el = oxide_to_element(pd.Series({"SiO2": 100.0, "K2O": 100.0}))
    # textbook gravimetric factors: Si/SiO2 = 0.4675, 2K/K2O = 0.8301
    assert el["Si"] == pytest.approx(46.74, abs=0.01)
    assert el["K"] == pytest.approx(83.01, abs=0.01)
    back = element_to_oxide(el)
    assert back["SiO2"] == pytest.approx(100.0)
    assert back["K2O"] == pytest.approx(100.0)


def test_fe_speciation():
    s = pd.Series({"SiO2": 50.0, "FeO": 5.0, "Fe2O3": 2.0})
    feot = recalculate_iron(s, "FeOT")
    assert feot["FeOT"] == pytest.approx(5.0 + 0.8998 * 2.0, abs=1e-3)
    assert "FeO" not in feot and "Fe2O3" not in feot
    fe2o3t = recalculate_iron(s, "Fe2O3T")
    assert fe2o3t["Fe2O3T"] == pytest.approx(2.0 + 1.1113 * 5.0, abs=1e-3)
    split = recalculate_iron(feot, "FeO+Fe2O3", fe3_fe_total=0.0)
    assert split["FeO"] == pytest.approx(feot["FeOT"]) and split["Fe2O3"] == 0.0
    with pytest.raises(ModelError, match="fe3_fe_total"):
        recalculate_iron(feot, "FeO+Fe2O3")
    with pytest.raises(InputError, match="no iron column"):
        recalculate_iron(pd.Series({"SiO2": 1.0}))


def test_prefixed_iron_is_recalculated_per_mineral():
    df = pd.DataFrame({"Grt_FeO": [30.0], "Bt_Fe2O3T": [20.0]})
    out = recalculate_iron(df, "FeOT")
    assert set(out.columns) == {"Grt_FeOT", "Bt_FeOT"}
    assert out["Bt_FeOT"].iloc[0] == pytest.approx(20.0 * 0.89981, abs=1e-3)


def test_volatile_free_renormalisation():
    df = pd.DataFrame(
        {"SiO2": [45.0, 60.0], "MgO": [45.0, 35.0], "LOI": [10.0, 5.0], "Rb": [10.0, 20.0]},
        index=["a", "b"],
    )
    out = renormalise_volatile_free(df)
    assert "LOI" not in out
    np.testing.assert_allclose(out[["SiO2", "MgO"]].sum(axis=1), 100.0)
    assert out.loc["a", "SiO2"] == pytest.approx(50.0)
    assert out.loc["a", "Rb"] == 10.0
    assert "LOI" in df  # input untouched
    with pytest.raises(InputError, match="sum to zero"):
        renormalise_volatile_free(pd.DataFrame({"SiO2": [0.0], "MgO": [0.0]}, index=["z"]))


_OXIDES = ["SiO2", "TiO2", "Al2O3", "FeO", "Fe2O3", "MgO", "CaO", "Na2O", "K2O", "P2O5"]
_UNITS = ["wt%", "ppm", "ppb", "fraction", "mol"]


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.floats(1e-3, 99.0), min_size=len(_OXIDES), max_size=len(_OXIDES)),
    st.sampled_from(_UNITS),
    st.sampled_from(_UNITS),
)
def test_unit_conversion_round_trip(values, u1, u2):
    s = pd.Series(dict(zip(_OXIDES, values, strict=True)))
    there = convert_units(s, "wt%", u1)
    via = convert_units(there, u1, u2)
    back = convert_units(via, u2, "wt%")
    np.testing.assert_allclose(back.to_numpy(float), s.to_numpy(float), rtol=1e-10)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(1e-3, 99.0), min_size=len(_OXIDES), max_size=len(_OXIDES)))
def test_oxide_element_round_trip(values):
    s = pd.Series(dict(zip(_OXIDES, values, strict=True))).drop("Fe2O3")
    back = element_to_oxide(oxide_to_element(s), oxides={"Fe": "FeO"})
    np.testing.assert_allclose(back[s.index].to_numpy(float), s.to_numpy(float), rtol=1e-10)


@settings(max_examples=100, deadline=None)
@given(st.floats(0.0, 50.0), st.floats(0.0, 50.0), st.floats(0.0, 1.0))
def test_iron_round_trip(feo, fe2o3, r):
    s = pd.Series({"FeO": feo, "Fe2O3": fe2o3})
    total = recalculate_iron(s, "FeOT")["FeOT"]
    split = recalculate_iron(pd.Series({"FeOT": total}), "FeO+Fe2O3", fe3_fe_total=r)
    again = recalculate_iron(split, "Fe2O3T")
    assert recalculate_iron(again, "FeOT")["FeOT"] == pytest.approx(total, rel=1e-10, abs=1e-12)
