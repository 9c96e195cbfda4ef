"""validate_composition: every InputError path names the column, the row and the value."""

from __future__ import annotations

import pandas as pd
import pytest

from petroinfer.composition import oxide_total, validate_composition
from petroinfer.errors import InputError, ModelError


@pytest.fixture
def garnets() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "SiO2": [37.2, 36.9, 37.5],
            "Al2O3": [21.0, 20.8, 21.2],
            "FeO*": [33.0, 32.1, 30.0],
            "MnO": [1.2, 2.0, 0.8],
            "MgO": [4.1, 3.9, 5.0],
            "CaO": [3.0, 4.0, 5.1],
            "Rb_ppm": [1.0, 2.0, 0.5],
            "Comment": ["rim", "core", "mantle"],
        },
        index=pd.Index(["G1", "G2", "G3"], name="Sample"),
    )


def test_valid_table_is_returned_clean(garnets):
    out = validate_composition(garnets)
    assert list(out.columns[:3]) == ["SiO2", "Al2O3", "FeOT"]
    assert out["Comment"].tolist() == ["rim", "core", "mantle"]  # text column kept
    assert out.attrs["units"]["SiO2"] == "wt%" and out.attrs["units"]["Rb"] == "ppm"
    assert list(garnets.columns)[2] == "FeO*"  # input not modified
    assert oxide_total(out).round(1).tolist() == [99.5, 99.7, 99.6]


def test_id_column(garnets):
    df = garnets.reset_index()
    out = validate_composition(df, id_column="Sample")
    assert out.index.tolist() == ["G1", "G2", "G3"]
    with pytest.raises(InputError, match="id column 'Nope'"):
        validate_composition(df, id_column="Nope")


def test_duplicated_sample_ids(garnets):
    df = garnets.rename(index={"G3": "G1"})
    with pytest.raises(InputError, match=r"duplicated sample id .*rows \[1, 3\].*row 'G1'"):
        validate_composition(df)


def test_unknown_columns_are_listed_with_suggestions(garnets):
    df = garnets.rename(columns={"Al2O3": "Al203", "MgO": "Mg0"})
    with pytest.raises(InputError) as err:
        validate_composition(df)
    msg = str(err.value)
    assert "'Al203' (did you mean 'Al2O3'?)" in msg
    assert "'Mg0' (did you mean 'MgO'?)" in msg
    assert err.value.column == "Al203"
    out = validate_composition(df, ignore=["Al203", "Mg0"], totals=None)
    assert "Al203" in out.columns
    validate_composition(df, unknown="ignore", totals=None)


def test_non_numeric_cell(garnets):
    df = garnets.astype({"MnO": object})
    df.loc["G2", "MnO"] = "bdl"
    with pytest.raises(InputError, match=r"non-numeric cell.*column 'MnO', row 'G2', value 'bdl'"):
        validate_composition(df)


def test_negative_value(garnets):
    df = garnets.copy()
    df.loc["G3", "CaO"] = -0.2
    with pytest.raises(InputError, match=r"negative.*column 'CaO', row 'G3', value -0.2"):
        validate_composition(df, totals=None)


def test_negative_delta_values_are_allowed():
    df = pd.DataFrame({"eNd": [-5.0, 3.0], "Sr87Sr86": [0.7035, 0.704]}, index=["a", "b"])
    validate_composition(df)


def test_all_zero_row(garnets):
    df = garnets.copy()
    cols = ["SiO2", "Al2O3", "FeO*", "MnO", "MgO", "CaO", "Rb_ppm"]
    df.loc["G2", cols] = 0.0
    with pytest.raises(InputError, match=r"all-zero or empty analysis.*row 'G2'"):
        validate_composition(df, totals=None)


def test_totals_window(garnets):
    df = garnets.copy()
    df.loc["G3", "SiO2"] = 30.0  # total 92.1
    with pytest.raises(InputError, match=r"oxide total outside 95–102.*column 'Total', row 'G3'"):
        validate_composition(df)
    out = validate_composition(df, totals=(90, 102))
    assert len(out) == 3
    validate_composition(df, totals=None)
    with pytest.raises(ModelError, match="totals"):
        validate_composition(df, totals=(102, 95))


def test_ppm_wt_percent_mixup_by_magnitude(garnets):
    df = garnets.copy()
    df.loc["G1", "SiO2"] = 372000.0  # SiO2 given in ppm
    with pytest.raises(InputError, match=r"looks like ppm.*column 'SiO2', row 'G1', value 372000"):
        validate_composition(df)


def test_endmember_fraction_given_in_percent():
    df = pd.DataFrame({"XAn": [0.35, 42.0]}, index=["p1", "p2"])
    with pytest.raises(InputError, match=r"percentage.*column 'XAn', row 'p2', value 42\)"):
        validate_composition(df)


def test_ppm_above_one_million():
    df = pd.DataFrame({"Rb": [10.0, 2.0e6]}, index=["r1", "r2"])
    with pytest.raises(InputError, match=r"column 'Rb', row 'r2'"):
        validate_composition(df)
    with pytest.raises(ModelError, match="unit"):
        validate_composition(df, units={"Rb": "furlongs"})


def test_non_dataframe_input():
    with pytest.raises(InputError, match="DataFrame"):
        validate_composition([1, 2, 3])  # type: ignore[arg-type]
