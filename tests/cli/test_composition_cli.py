"""``petroinfer composition validate|formula``: outputs and every bad-input path (exit code 2)."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from petroinfer.cli.composition import demo_section
from petroinfer.cli.main import app
from petroinfer.report import Report

runner = CliRunner()

GOOD = (
    "Sample,SiO2 (wt%),TiO2,Al2O3,FeO*,MnO,MgO,CaO\n"
    "DHZ-alm,36.70,0.75,21.40,29.90,1.14,0.90,9.02\n"
    "G2,37.5,0.02,21.1,32.0,1.5,4.9,3.0\n"
)


def _run(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


def _write(tmp_path, text: str, name: str = "in.csv"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_validate_ok_json(tmp_path):
    p = _write(tmp_path, GOOD)
    res = _run("composition", "validate", str(p), "--json")
    assert res.exit_code == 0, res.stderr
    summary = json.loads(res.stdout)
    assert summary["status"] == "valid" and summary["rows"] == 2
    assert summary["oxide_total_min"] == pytest.approx(99.81, abs=0.01)


def test_validate_writes_outputs(tmp_path):
    p = _write(tmp_path, GOOD)
    out = tmp_path / "out"
    res = _run("composition", "validate", str(p), "--out", str(out))
    assert res.exit_code == 0, res.stderr
    for name in ("validated.csv", "report.html", "summary.json", "oxide_totals.png"):
        assert (out / name).exists(), name
    clean = pd.read_csv(out / "validated.csv", index_col=0)
    assert "FeOT" in clean.columns


def test_formula_garnet_writes_cations_and_endmembers(tmp_path):
    p = _write(tmp_path, GOOD)
    out = tmp_path / "grt"
    res = _run("composition", "formula", str(p), "--mineral", "garnet", "--out", str(out), "--json")
    assert res.exit_code == 0, res.stderr
    summary = json.loads(res.stdout)
    assert summary["mineral"] == "garnet" and summary["oxygens"] == 12
    f = pd.read_csv(out / "formula.csv", index_col=0)
    assert f.loc["DHZ-alm", "Si"] == pytest.approx(5.898086 / 2, abs=0.005)
    assert f.loc["DHZ-alm", "XAlm"] == pytest.approx(0.676, abs=0.005)
    assert (out / "report.html").exists() and (out / "endmembers.png").exists()
    res = _run("composition", "formula", str(p), "-m", "garnet", "--oxygens", "24", "--json")
    assert json.loads(res.stdout)["oxygens"] == 24
    assert json.loads(res.stdout)["cation_sum_max"] <= 16.0 + 1e-9


@pytest.mark.parametrize(
    ("mineral", "text", "key", "value"),
    [
        ("plagioclase", "Sample,SiO2,Al2O3,Na2O\nab,68.74,19.44,11.82\n", "XAb", 1.0),
        (
            "biotite",
            "Sample,SiO2,Al2O3,MgO,K2O,H2O\nphl,43.20,12.22,28.98,11.29,4.32\n",
            "XPhl",
            1.0,
        ),
        ("muscovite", "Sample,SiO2,Al2O3,K2O,H2O\nms,45.25,38.40,11.82,4.52\n", "XMs", 1.0),
    ],
)
def test_formula_other_minerals(tmp_path, mineral, text, key, value):
    p = _write(tmp_path, text)
    res = _run("composition", "formula", str(p), "--mineral", mineral, "--json")
    assert res.exit_code == 0, res.stderr
    assert json.loads(res.stdout)["mean_endmembers"][key] == pytest.approx(value, abs=0.005)


BAD_CASES = [
    # (csv text, extra args, fragments the one-line message must contain)
    ("Sample,SiO2,Al203\nA,50,49\n", [], ["Al203", "did you mean 'Al2O3'"]),
    (
        "Sample,SiO2,MgO\nA,50,49\nB,n.a.,49\n",
        [],
        ["non-numeric", "column 'SiO2'", "row 'B'", "'n.a.'"],
    ),
    (
        "Sample,SiO2,MgO\nA,50,49\nB,-1,49\n",
        ["--totals", "none"],
        ["negative", "column 'SiO2'", "row 'B'", "value -1)"],
    ),
    ("Sample,SiO2,MgO\nA,50,49\nB,0,0\n", ["--totals", "none"], ["all-zero", "row 'B'"]),
    ("Sample,SiO2,MgO\nA,50,49\nB,40,40\n", [], ["oxide total outside", "row 'B'", "value 80)"]),
    (
        "Sample,SiO2,MgO\nA,50,49\nA,51,48\n",
        ["--id-column", "Sample"],
        ["duplicated sample id", "row 'A'"],
    ),
    ("Sample,SiO2,MgO\nA,500000,49\n", [], ["looks like ppm", "column 'SiO2'", "row 'A'"]),
    ("Sample,XAn\nA,45\n", [], ["percentage", "column 'XAn'", "row 'A'"]),
    ("Sample,SiO2,MgO\nA,50,49\n", ["--totals", "abc"], ["--totals"]),
]


@pytest.mark.parametrize(("text", "extra", "fragments"), BAD_CASES)
@pytest.mark.parametrize("command", ["validate", "formula"])
def test_bad_input_exits_2_naming_the_cell(tmp_path, text, extra, fragments, command):
    p = _write(tmp_path, text)
    args = ["composition", command, str(p), *extra]
    if command == "formula":
        args += ["--mineral", "plagioclase"]
    res = _run(*args)
    assert res.exit_code == 2, (res.stdout, res.stderr)
    message = " ".join(res.stderr.split())
    assert message.startswith("error:")
    assert "Traceback" not in res.stderr
    for fragment in fragments:
        assert fragment in message, message


def test_formula_bad_options_and_missing_file(tmp_path):
    p = _write(tmp_path, GOOD)
    res = _run("composition", "formula", str(p), "--mineral", "amphibolex")
    assert res.exit_code == 2 and "amphibolex" in res.stderr
    res = _run("composition", "formula", str(p), "--mineral", "garnet", "--fe3", "magic")
    assert res.exit_code == 2 and "fe3" in res.stderr
    res = _run("composition", "validate", str(tmp_path / "nope.csv"))
    assert res.exit_code == 2 and "nope.csv" in res.stderr
    q = _write(tmp_path, "Sample,La,Ce\nA,1,2\n", "trace.csv")
    res = _run("composition", "formula", str(q), "--mineral", "garnet")
    assert res.exit_code == 2 and "no oxide columns" in res.stderr


def test_demo_section(tmp_path):
    report = Report("t")
    summary = demo_section(report, tmp_path / "composition")
    errors = summary["max_endmember_error"]
    # recovered end-members vs the formulae that generated the noisy analyses
    assert errors["plagioclase"] < 0.01 and errors["biotite"] < 0.01
    assert errors["garnet"] < 0.03  # Droop Fe3+ amplifies 0.3 % analytical noise
    assert (tmp_path / "composition" / "garnet_formula.csv").exists()
    assert "Composition layer" in report.to_html()
