"""Reference compositions and partition-coefficient tables by name.

Truth: the published numbers as listed in the science notes (geochem.md §5: Workman & Hart 2005 DMM and
bulk D, Gale et al. 2013 N-MORB) and Sun & McDonough (1989, Table 1) primitive mantle.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from petroinfer.composition import (
    MAJOR_OXIDES,
    REE,
    list_partition_coefficients,
    list_reference_compositions,
    name_category,
    partition_coefficients,
    reference_composition,
)
from petroinfer.errors import InputError, ModelError

# geochem.md §5, "Source composition DMM (Workman & Hart 2005)", ppm
NOTES_DMM = dict(
    La=0.192, Ce=0.55, Nd=0.581, Sm=0.239, Eu=0.096, Gd=0.358, Dy=0.505, Er=0.348, Yb=0.365,
    Lu=0.058, Nb=0.1485, Th=0.0079, Zr=5.082, Ti=716.3, Sr=7.664, Y=3.328, Ba=0.563,
)  # fmt: skip
# geochem.md §5, "Target N-MORB (Gale et al. 2013)", ppm
NOTES_NMORB = dict(
    La=4.19, Ce=12.42, Nd=10.66, Sm=3.48, Yb=3.28, Lu=0.48, Nb=3.62, Th=0.252, Zr=101.9, Y=33.2
)
# geochem.md §5, "Bulk DMM-melt D (Workman & Hart 2005)"
NOTES_D = dict(
    Rb=1e-5, Ba=1.2e-4, Th=1e-3, U=1.1e-3, Nb=3.4e-3, Ta=3.4e-3, La=0.010, Ce=0.022, Pb=0.014,
    Pr=0.027, Nd=0.031, Sr=0.025, Zr=0.025, Hf=0.035, Sm=0.045, Eu=0.050, Ti=0.058, Gd=0.056,
    Tb=0.068, Dy=0.079, Ho=0.084, Y=0.088, Er=0.097, Yb=0.115, Lu=0.12,
)  # fmt: skip
# Sun & McDonough (1989), Table 1, primitive mantle, ppm
SM89_PM = dict(La=0.687, Ce=1.775, Nd=1.354, Sm=0.444, Yb=0.493, Nb=0.713, Th=0.085, Rb=0.635)


@pytest.mark.parametrize(
    ("name", "truth"), [("DMM", NOTES_DMM), ("N-MORB", NOTES_NMORB), ("PM", SM89_PM)]
)
def test_values_pinned_to_published_numbers(name, truth):
    comp = reference_composition(name)
    got = comp[list(truth)].to_numpy(float)
    np.testing.assert_allclose(got, list(truth.values()), rtol=1e-12)
    assert all(comp.attrs["units"][el] == "ppm" for el in truth)


def test_bulk_partition_coefficients_pinned_to_notes():
    D = partition_coefficients("workman_hart_2005")
    assert D.index.tolist() == ["bulk"] and D.index.name == "phase"
    assert list(D.columns) == list(NOTES_D)
    np.testing.assert_allclose(D.loc["bulk"].to_numpy(), list(NOTES_D.values()), rtol=1e-12)
    assert D.attrs["units"] == "1" and "Workman" in D.attrs["reference"]
    # incompatibility order of the notes' table: Rb most, Lu least incompatible; HREE rise monotonic
    hree = D.loc["bulk", ["Gd", "Tb", "Dy", "Ho", "Er", "Yb", "Lu"]].to_numpy()
    assert D.loc["bulk"].idxmin() == "Rb" and D.loc["bulk"].idxmax() == "Lu"
    assert np.all(np.diff(hree) > 0)


def test_coverage_dmm_has_every_element_with_a_bulk_d():
    dmm = reference_composition("DMM")
    D = partition_coefficients("workman_hart_2005")
    assert set(D.columns) <= set(dmm.index)
    nmorb = reference_composition("N-MORB")
    # Ti is given as TiO2 in Gale et al. (2013); every other element with a D is tabulated
    assert set(D.columns) - set(nmorb.index) == {"Ti"} and "TiO2" in nmorb.index
    pm = reference_composition("PM")
    assert set(REE) - {"Pm"} <= set(pm.index)
    assert set(D.columns) <= set(pm.index)


@pytest.mark.parametrize("name", ["DMM", "N-MORB", "PM"])
def test_units_and_vocabulary(name):
    comp = reference_composition(name)
    units = comp.attrs["units"]
    assert set(units) == set(comp.index)
    assert comp.index.is_unique and (comp > 0).all()
    for sp, unit in units.items():
        kind = name_category(sp)
        assert kind in ("oxide", "element", "ree"), (sp, kind)
        assert unit == ("wt%" if kind == "oxide" else "ppm"), sp
    assert set(comp.attrs["source"].values()) <= {"notes", "transcription"}
    assert comp.attrs["reference"] and comp.name == name


def test_major_oxide_totals_and_vocabulary():
    # Workman & Hart (2005) DMM majors close to 100 wt% (sum 99.995); Gale N-MORB > 99 %
    dmm = reference_composition("DMM")
    majors = [c for c in dmm.index if dmm.attrs["units"][c] == "wt%"]
    assert set(majors) <= set(MAJOR_OXIDES)
    assert dmm[majors].sum() == pytest.approx(99.995, abs=1e-9)
    nm = reference_composition("N-MORB")
    nmaj = [c for c in nm.index if nm.attrs["units"][c] == "wt%"]
    assert 99.0 < nm[nmaj].sum() < 100.5
    assert float(nm["MgO"]) == 7.76 and float(dmm["MgO"]) == 38.73


def test_nmorb_over_dmm_enrichment_follows_incompatibility():
    # a melt is enriched over its source more in the more incompatible elements (La vs Yb)
    ratio = reference_composition("N-MORB") / reference_composition("DMM")
    assert ratio["La"] == pytest.approx(4.19 / 0.192)
    assert ratio["La"] > ratio["Sm"] > ratio["Yb"] > 1


def test_aliases_and_listing():
    for alias in ("dmm", "DMM_WH2005", "nmorb", "NMORB_Gale2013", "primitive mantle", "PM_SM89"):
        assert isinstance(reference_composition(alias), pd.Series)
    assert reference_composition("n morb").name == "N-MORB"
    lst = list_reference_compositions()
    assert lst.index.tolist() == ["DMM", "N-MORB", "PM"]
    assert "Sun & McDonough (1989)" in lst.loc["PM", "reference"]
    assert lst.loc["DMM", "n_species"] == len(reference_composition("DMM"))
    assert list_partition_coefficients().loc["workman_hart_2005", "phases"] == "bulk"
    sub = partition_coefficients("WH2005", elements=["Yb", "La"])
    assert sub.columns.tolist() == ["Yb", "La"]


def test_unknown_names_are_model_errors_listing_known_names():
    with pytest.raises(ModelError, match=r"unknown reference composition 'EMORB'.*'DMM', 'N-MORB'"):
        reference_composition("EMORB")
    with pytest.raises(ModelError, match=r"known names are \['workman_hart_2005'\]"):
        partition_coefficients("kelemen_2003")
    with pytest.raises(ModelError, match="must be a string"):
        reference_composition(3)  # type: ignore[arg-type]


def test_element_without_coefficient_is_input_error():
    with pytest.raises(InputError, match=r"no value for this element.*column 'Cs'"):
        partition_coefficients("workman_hart_2005", elements=["La", "Cs"])


def test_returned_objects_are_copies():
    a = reference_composition("DMM")
    a["La"] = -1.0
    assert float(reference_composition("DMM")["La"]) == 0.192


def test_agrees_with_pyrolite_transcription():
    """Every typed value equals pyrolite's transcription of the same paper (peer cross-check)."""
    norm = pytest.importorskip("pyrolite.geochem.norm")
    names = {"DMM": "DMM_WH2005", "N-MORB": "NMORB_Gale2013", "PM": "PM_SM89"}
    for ours, theirs in names.items():
        comp = reference_composition(ours)
        ref = norm.get_reference_composition(theirs).comp
        for sp, v in comp.items():
            other = float(ref["FeO" if sp == "FeOT" else sp])
            assert v == pytest.approx(other, rel=1e-12), (ours, sp)
