"""read_table on CSV/TSV/XLSX written to tmp_path."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from petroinfer.composition import validate_composition
from petroinfer.errors import InputError
from petroinfer.io import read_table


def test_csv_with_suffix_units_and_aliases(tmp_path):
    p = tmp_path / "a.csv"
    p.write_text(
        "Sample ID,SIO2 (wt%),FeO*,Al2O3 [wt.%],87Sr/86Sr,Rb_ppm,Comment\n"
        "A-1,50.1,8.2,15.0,0.7035,12,fresh\n"
        "A-2,48.0,9.1,16.0,0.7041,8,altered\n",
        encoding="utf-8",
    )
    before = p.read_bytes()
    df = read_table(p)
    assert df.index.tolist() == ["A-1", "A-2"]
    assert df.index.name == "Sample ID"
    assert list(df.columns) == ["SiO2", "FeOT", "Al2O3", "Sr87Sr86", "Rb", "Comment"]
    assert df.attrs["units"] == {"SiO2": "wt%", "Al2O3": "wt%", "Rb": "ppm"}
    assert df.attrs["original_columns"]["FeOT"] == "FeO*"
    assert df["SiO2"].dtype == float and df.loc["A-2", "Rb"] == 8.0
    assert p.read_bytes() == before  # input untouched


def test_units_row_and_semicolon_separator(tmp_path):
    p = tmp_path / "b.csv"
    p.write_text("Sample;SiO2;MgO;La\n;wt%;wt%;ppm\nx;45,5;40;1.2\n".replace("45,5", "45.5"))
    df = read_table(p)
    assert df.attrs["units"] == {"SiO2": "wt%", "MgO": "wt%", "La": "ppm"}
    assert df.loc["x", "SiO2"] == 45.5 and df.loc["x", "La"] == 1.2


def test_single_column_and_quoted_separators(tmp_path):
    p = tmp_path / "one.csv"
    p.write_text("SiO2\n50\n51\n")
    assert list(read_table(p).columns) == ["SiO2"]
    p = tmp_path / "quoted.csv"
    p.write_text('Sample,SiO2,Reference\n"a, b",50,"Barnes and Kunilov, 2000"\nc,51,x\n')
    df = read_table(p)
    assert df.index.tolist() == ["a, b", "c"]
    assert df.loc["a, b", "Reference"] == "Barnes and Kunilov, 2000"


def test_xlsx_round_trip_with_id_detection(tmp_path):
    p = tmp_path / "c.xlsx"
    raw = pd.DataFrame(
        {
            "Spot": ["g1", "g2", "g3"],
            "Grt_SiO2": [37.0, 36.8, 37.2],
            "Grt_FeO(T)": [33.0, 32.0, 31.0],
            "Bt_MgO": [10.0, 11.0, 12.0],
        }
    )
    raw.to_excel(p, index=False)
    df = read_table(p)
    assert df.index.tolist() == ["g1", "g2", "g3"]
    assert list(df.columns) == ["Grt_SiO2", "Grt_FeOT", "Bt_MgO"]
    np.testing.assert_allclose(df["Grt_SiO2"], [37.0, 36.8, 37.2])


def test_no_id_column_gives_row_numbers_and_empty_rows_are_counted(tmp_path):
    p = tmp_path / "d.tsv"
    p.write_text("SiO2\tMgO\n50\t10\n\t\n52\t9\n")
    df = read_table(p)
    assert df.index.name == "row" and df.index.tolist() == [1, 2]
    assert df.attrs["dropped_empty_rows"] == 1
    assert df.attrs["id_column"] is None


def test_repeated_sample_ids_are_refused_naming_both_rows(tmp_path):
    p = tmp_path / "e.csv"
    p.write_text("Sample,SiO2,MgO\nS1,50,10\nS1,51,9\n")
    pattern = r"e\.csv'.*duplicated sample id 'S1' in data rows 1 and 2.*column 'Sample', row 'S1'"
    with pytest.raises(InputError, match=pattern):
        read_table(p)
    with pytest.raises(InputError, match=pattern):
        read_table(p, id_column="Sample")
    df = read_table(p, id_column=False)  # explicitly no ids: rows numbered, names kept as data
    assert df.index.name == "row" and df["Sample"].tolist() == ["S1", "S1"]


def test_non_numeric_cells_survive_for_validation(tmp_path):
    p = tmp_path / "f.csv"
    p.write_text("Sample,SiO2,MgO\nS1,50,10\nS2,<0.01,9\n")
    df = read_table(p)
    assert df.loc["S2", "SiO2"] == "<0.01"
    with pytest.raises(InputError, match=r"column 'SiO2', row 'S2', value '<0.01'"):
        validate_composition(df, totals=None)


def test_units_argument_overrides(tmp_path):
    p = tmp_path / "g.csv"
    p.write_text("Sample,Rb,Sr\nS1,1.5,300\n")
    df = read_table(p, units={"Rb": "wt%"})
    assert df.attrs["units"]["Rb"] == "wt%"
    df = read_table(p, units="ppm")
    assert df.attrs["units"] == {"Rb": "ppm", "Sr": "ppm"}


def test_reader_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_table(tmp_path / "missing.csv")
    (tmp_path / "x.json").write_text("{}")
    with pytest.raises(InputError, match=r"unsupported file type '\.json'"):
        read_table(tmp_path / "x.json")
    (tmp_path / "empty.csv").write_text("SiO2,MgO\n")
    with pytest.raises(InputError, match="no data rows"):
        read_table(tmp_path / "empty.csv")
    (tmp_path / "h.csv").write_text("Sample,SiO2\nS1,50\n")
    with pytest.raises(InputError, match="id column 'Nope' not found"):
        read_table(tmp_path / "h.csv", id_column="Nope")
    with pytest.raises(InputError, match="folder"):
        read_table(tmp_path)


def test_real_dataset_reads_and_validates():
    """The Ueki et al. (2018) basalt table (shared test data) passes validation unchanged."""
    path = Path(os.environ.get("PETROINFER_DATA_DIR", "")) / "basalt_tectonics" / "Ueki2018.csv"
    if not path.is_file():
        pytest.skip(f"dataset file not available: {path}")
    df = read_table(path)
    assert df.shape == (2074, 30)
    assert {"SiO2", "Fe2O3", "Sr87Sr86", "Nd143Nd144", "La", "Class"} <= set(df.columns)
    clean = validate_composition(df, totals=(95.0, 102.0))
    assert len(clean) == 2074
