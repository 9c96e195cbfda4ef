"""read_table: every bad file is refused with an InputError naming the file, column, row, value."""

from __future__ import annotations

import codecs

import numpy as np
import pandas as pd
import pytest

from petroinfer.composition import validate_composition
from petroinfer.errors import InputError
from petroinfer.io import read_table


def _write(tmp_path, name, content):
    p = tmp_path / name
    if isinstance(content, bytes):
        p.write_bytes(content)
    else:
        p.write_text(content, encoding="utf-8")
    return p


@pytest.mark.parametrize(
    ("name", "content", "pattern"),
    [
        ("empty.csv", "", r"empty\.csv' is empty"),
        ("blank.csv", " \n\n  \n", r"blank\.csv' is empty"),
        ("nul.csv", b"PK\x00\x00\x01garbage\x00", r"nul\.csv' is a binary file \(NUL byte"),
        ("zip.csv", b"PK\x03\x04\x14\x00rest", r"zip\.csv' is a ZIP archive"),
        ("ctrl.csv", b"\x1b\x02\x03abc\x04\x05", r"ctrl\.csv' is a binary file \(control"),
        ("header.csv", "Sample,SiO2,MgO\n", r"header\.csv' has a header but no data rows"),
        ("units_only.csv", "Sample,SiO2\n,wt%\n", r"units_only\.csv' has a header but no data"),
        ("twice.csv", "Sample,SiO2,SiO2\nA,1,2\n", r"'SiO2' appears twice .*columns 2 and 3"),
    ],
)
def test_unreadable_files_are_refused_naming_the_file(tmp_path, name, content, pattern):
    p = _write(tmp_path, name, content)
    with pytest.raises(InputError, match=pattern):
        read_table(p)


def test_bom_is_stripped_in_every_encoding(tmp_path):
    text = "radius,SiO2\n1.5,50\n2.5,51\n"
    for i, data in enumerate(
        [
            codecs.BOM_UTF8 + text.encode(),
            codecs.BOM_UTF16_LE + text.encode("utf-16-le"),
            text.encode("cp1252"),
        ]
    ):
        df = read_table(_write(tmp_path, f"b{i}.csv", data), required=["radius"])
        assert list(df.columns) == ["radius", "SiO2"]
        np.testing.assert_allclose(df["radius"], [1.5, 2.5])


def test_windows_1252_text_is_read_not_refused(tmp_path):
    p = _write(tmp_path, "w.csv", "Sample,SiO2,Comment\nA,50,caf\xe9 \xb5m\n".encode("cp1252"))
    assert read_table(p).loc["A", "Comment"] == "café µm"


@pytest.mark.parametrize("sep", [",", ";", "\t", "|"])
def test_delimiters_are_detected(tmp_path, sep):
    p = _write(tmp_path, "d.txt", sep.join(["Sample", "SiO2", "MgO"]) + "\nA" + sep + "50.5" + sep
               + "49\nB" + sep + "48" + sep + "51.25\n")  # fmt: skip
    df = read_table(p)
    assert df.attrs["delimiter"] == sep and df.attrs["decimal"] == "."
    assert df.loc["B", "MgO"] == 51.25 and df.loc["A", "SiO2"] == 50.5


@pytest.mark.parametrize("sep", [";", "\t"])
def test_decimal_comma_is_parsed_in_non_comma_files(tmp_path, sep):
    p = _write(
        tmp_path, "dc.csv", f"Sample{sep}SiO2{sep}MgO\nA{sep}37,12{sep}62,88\nB{sep}40{sep}60\n"
    )
    df = read_table(p)
    assert df.attrs["decimal"] == ","
    assert df.loc["A", "SiO2"] == 37.12 and df.loc["A", "MgO"] == 62.88
    assert df["SiO2"].dtype == float
    assert validate_composition(df).loc["A", "SiO2"] == 37.12  # valid, and numbers, not strings


def test_mixed_or_ambiguous_decimal_marks_are_refused_with_the_reason(tmp_path):
    p = _write(tmp_path, "mix.csv", "Sample;SiO2;MgO\nA;37,12;62.88\n")
    with pytest.raises(InputError, match=r"mix\.csv' mixes decimal marks: '37,12' \(column 'SiO2'"):
        read_table(p)
    p = _write(tmp_path, "q.csv", 'Sample,SiO2,MgO\nA,"37,12",62\n')
    with pytest.raises(InputError, match=r"decimal comma in a comma-separated file.*row 'A'"):
        read_table(p)
    p = _write(tmp_path, "r.csv", "Sample,SiO2,MgO\nA,37,12,62\n")
    with pytest.raises(InputError, match=r"r\.csv' as a comma-separated table.*decimal comma"):
        read_table(p)


def test_non_numeric_blank_and_text_only_chemistry_columns(tmp_path):
    p = _write(tmp_path, "one.csv", "Sample,SiO2,TiO2,Al2O3,MgO\nA,45.1,0.1,abc,40\n")
    with pytest.raises(
        InputError, match=r"one\.csv': non-numeric cell.*column 'Al2O3', row 'A', value 'abc'"
    ):
        read_table(p, numeric="chemistry")
    # without enforcement the reader keeps the text, and validation refuses it (not 'valid')
    with pytest.raises(InputError, match=r"column 'Al2O3', row 'A', value 'abc'"):
        validate_composition(read_table(p), totals=None)
    p = _write(tmp_path, "blank.csv", "Sample,SiO2,MgO\nA,50,\nB,51,49\n")
    assert np.isnan(read_table(p, numeric="all").loc["A", "MgO"])
    with pytest.raises(InputError, match=r"empty or NaN cell.*column 'MgO', row 'A'\)"):
        read_table(p, numeric="all", allow_missing=False)
    with pytest.raises(InputError, match=r"non-numeric.*column 'time', row 2, value 'x'"):
        read_table(_write(tmp_path, "k.csv", "time,B\n0,1\nx,2\n"), numeric=["time"])


@pytest.mark.parametrize("cell", ["1e300", "-1e300", "inf", "-Infinity"])
def test_infinite_and_absurd_numbers_are_refused(tmp_path, cell):
    p = _write(tmp_path, "big.csv", f"Sample,SiO2,MgO\nA,50,49\nB,{cell},50\n")
    with pytest.raises(InputError, match=r"big\.csv': (absurd|infinite) value.*'SiO2', row 'B'"):
        read_table(p)
    if cell.lstrip("-")[0].lower() == "i":  # an infinity is never a measurement
        with pytest.raises(InputError, match="infinite value"):
            read_table(p, max_abs=None)
    else:  # a finite number passes when the bound is lifted
        assert read_table(p, max_abs=None).loc["B", "SiO2"] == float(cell)


def test_duplicate_and_empty_ids_name_the_rows(tmp_path):
    p = _write(tmp_path, "dup.csv", "Sample ID,SiO2\nA,50\nB,51\nA,52\n")
    with pytest.raises(InputError, match=r"duplicated sample id 'A' in data rows 1 and 3"):
        read_table(p)
    p = _write(tmp_path, "emp.csv", "Sample,SiO2\nA,50\n,51\n")
    with pytest.raises(InputError, match=r"emp\.csv': empty sample id in data row 2"):
        read_table(p)
    # numeric ids stay as written (no 1.0)
    df = read_table(_write(tmp_path, "num.csv", "Sample,SiO2\n1,50\n2,51\n"))
    assert df.index.tolist() == ["1", "2"]


def test_required_columns_and_misspellings(tmp_path):
    p = _write(tmp_path, "m.csv", "Sample,SiO2,Mg0,Zrr,Ref\nA,50,49,100,Smith\n")
    with pytest.raises(InputError, match=r"missing required column 'MgO'"):
        read_table(p, required=["SiO2", "MgO"])
    with pytest.raises(
        InputError,
        match=r"m\.csv': columns 'Mg0' \(did you mean 'MgO'\?\), 'Zrr' \(did you mean 'Zr'\?\)",
    ):
        read_table(p, misspelled="raise")
    df = read_table(p, misspelled="raise", ignore=["Mg0", "Zrr"])
    assert list(df.columns) == ["SiO2", "Mg0", "Zrr", "Ref"]
    p = _write(tmp_path, "r.csv", "Radius,SiO2\n1,2\n")
    with pytest.raises(
        InputError, match=r"missing required column 'radius' \(did you mean 'Radius'"
    ):
        read_table(p, normalise=False, required=["radius"])


def test_raw_names_for_non_chemistry_commands(tmp_path):
    p = _write(tmp_path, "t.tsv", "\ufefftime\tB\tC\n0\t1.0\t0\n10\t0.5\t0.5\n")
    df = read_table(p, normalise=False, numeric="all", allow_missing=False)
    assert list(df.columns) == ["time", "B", "C"] and df.index.tolist() == [1, 2]
    assert df.index.name == "row"
    pd.testing.assert_series_equal(
        df["B"], pd.Series([1.0, 0.5], index=df.index, name="B"), check_names=True
    )
