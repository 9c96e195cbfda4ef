"""Command-line plumbing: fast start, grouped commands and hidden aliases, console output, errors."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest
from typer.testing import CliRunner

from petroinfer.cli._common import fmt_number
from petroinfer.cli.main import ALIASES, app

runner = CliRunner()


def test_importing_the_cli_loads_no_science_stack():
    """``petroinfer --help`` must not import numpy/pandas/scipy or the science packages."""
    code = (
        "import sys, petroinfer.cli.main\n"
        "heavy = ('numpy', 'pandas', 'scipy', 'sklearn', 'xarray', 'matplotlib',\n"
        "         'petroinfer.inference', 'petroinfer.geochem', 'petroinfer.report')\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert run.stdout.strip() == "[]", run.stdout


def test_help_runs_in_a_fresh_interpreter():
    # its speed comes from the lazy imports pinned by the test above (~0.4 s on an idle machine;
    # 3.5-4.3 s with eager imports); wall time is not asserted, it depends on the machine's load
    run = subprocess.run(
        [sys.executable, "-m", "petroinfer.cli", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0 and "geochem" in run.stdout


def test_groups_and_hidden_aliases():
    top = runner.invoke(app, ["--help"]).stdout
    for group in ("composition", "thermo", "ptpath", "geochem", "kinetics", "datasets", "demo"):
        assert group in top
    listed = top.split("Commands")[-1]
    for old in ALIASES:
        assert f" {old} " not in listed, old
    geochem = runner.invoke(app, ["geochem", "--help"]).stdout
    for cmd in ("endmembers", "cluster", "isocon", "discriminate"):
        assert cmd in geochem
    res = runner.invoke(app, ["discriminate", "evaluate", "--model", "knn", "--dataset", "x"])
    assert res.exit_code == 2
    assert "geochem discriminate evaluate" in res.stderr and "error:" in res.stderr


def test_no_bool_metavar_after_our_flags():
    text = runner.invoke(app, ["ptpath", "inclusions", "--help"]).stdout
    for line in text.splitlines():
        if "--json" in line or "--robust" in line:
            assert "<bool>" not in line, line


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (761.1986306311776, "761.2"),
        (24.774153922817476, "24.77"),
        (0.0123456, "0.01235"),
        (12345.678, "12346"),
        (3, "3"),
        (0.0, "0"),
        (1.5e-7, "1.5e-07"),
    ],
)
def test_fmt_number(value, text):
    assert fmt_number(value) == text


def test_console_table_keeps_brackets_and_full_values(tmp_path, monkeypatch):
    from petroinfer.cli import _common

    monkeypatch.setenv("COLUMNS", "80")
    long = "x" * 200
    res = runner.invoke(app, ["info"])
    assert res.exit_code == 0
    # emit directly: bracketed names survive rich markup, nothing is cut with an ellipsis
    from io import StringIO

    from rich.console import Console

    buf = StringIO()
    monkeypatch.setattr(
        _common, "_console", lambda stderr=False: Console(file=buf, width=80, soft_wrap=True)
    )
    _common.emit(
        {"term": "dissolution[sphere]", "k": 761.1986306311776, "long": long},
        json_out=False,
        out=None,
        title="t",
    )
    shown = buf.getvalue()
    assert "dissolution[sphere]" in shown and "761.2" in shown and "761.19863" not in shown
    assert shown.count("x") >= 200 and "…" not in shown


def test_unexpected_error_is_one_line_with_exit_1(tmp_path, monkeypatch):
    import petroinfer.thermo

    def boom(*args, **kwargs):
        raise RuntimeError("kaboom")

    monkeypatch.setattr(petroinfer.thermo, "thermobarometry", boom)
    f = tmp_path / "in.csv"
    pd.DataFrame([{"id": "s1", "Grt_XAlm": 0.7, "Bt_XMg": 0.4}]).to_csv(f, index=False)
    res = runner.invoke(app, ["thermo", "thermobar", str(f)])
    assert res.exit_code == 1
    assert res.stderr.strip().splitlines() == [
        "error: unexpected RuntimeError: kaboom (run `petroinfer --debug …` for the traceback)"
    ]
    res = runner.invoke(app, ["--debug", "thermo", "thermobar", str(f)])
    assert res.exit_code == 1 and isinstance(res.exception, RuntimeError)


def test_unreachable_scheduler_is_a_clean_error(tmp_path, monkeypatch):
    from petroinfer.geochem.synthetic import make_endmember_mixtures

    f = tmp_path / "mix.csv"
    make_endmember_mixtures(12, random_state=0).data.to_csv(f)
    monkeypatch.setenv("PETROINFER_SCHEDULER", "tcp://127.0.0.1:1")
    out = tmp_path / "out"
    res = runner.invoke(
        app, ["geochem", "endmembers", str(f), "--k", "2", "--restarts", "1", "-o", str(out)]
    )
    assert res.exit_code == 2, res.output
    assert "scheduler" in res.stderr and "127.0.0.1:1" in res.stderr
    assert "Traceback" not in res.output and not out.exists()


def test_json_without_out_writes_nothing(tmp_path, monkeypatch):
    """``discriminate evaluate --json`` without ``--out`` creates no folder in the working dir."""
    from petroinfer.io.datasets import dataset_path, load_ueki2018_basalts

    if dataset_path("ueki2018_basalts") is None:
        pytest.skip("Ueki (2018) basalts not available")
    df = load_ueki2018_basalts()
    small = pd.concat([df[df["Class"] == c].head(10) for c in df["Class"].unique()[:2]])
    f = tmp_path / "data" / "b.csv"
    f.parent.mkdir()
    small.to_csv(f, index=False)
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    res = runner.invoke(
        app,
        [
            *("geochem", "discriminate", "evaluate", "--data", str(f), "--model", "svm"),
            *("--folds", "2", "--n-jobs", "1", "--missing-fraction", "0", "--json"),
        ],
    )
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout)
    assert summary["best_model"] == "svm" and 0.0 <= summary["models"]["svm"]["accuracy"] <= 1.0
    assert "out" not in summary
    assert list(work.iterdir()) == []


def test_kinetics_report_names_the_input_file(tmp_path):
    from petroinfer.kinetics import dissolution_precipitation, simulate_observations

    obs, _ = simulate_observations(
        dissolution_precipitation(surface="sphere"), n_obs=20, noise=0.03, random_state=0
    )
    f = tmp_path / "series.csv"
    obs[["time", "B"]].to_csv(f, index=False)
    out = tmp_path / "out"
    res = runner.invoke(
        app,
        [
            *("kinetics", "fit", str(f), "--surface", "sphere", "--draws", "20", "--chains", "1"),
            *("--particles", "32", "--evidence-draws", "4", "--out", str(out)),
        ],
    )
    assert res.exit_code == 0, res.output
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "series.csv" in html and "(built-in examples)" not in html


@pytest.mark.parametrize("out_arg", [".", "sub/../res", "res"])
def test_relative_out_folders(tmp_path, monkeypatch, out_arg):
    monkeypatch.chdir(tmp_path)
    f = tmp_path / "in.csv"
    pd.DataFrame([{"id": "s1", "Grt_XAlm": 0.75, "Grt_XPrp": 0.12, "Grt_XGrs": 0.08,
                   "Grt_XSps": 0.05, "Bt_XMg": 0.45, "Pl_XAn": 0.25}]).to_csv(f, index=False)  # fmt: skip
    res = runner.invoke(app, ["thermo", "thermobar", "in.csv", "--out", out_arg, "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["out"] == out_arg
    final = (tmp_path / out_arg).resolve()
    assert (final / "thermobar.csv").is_file() and (final / "report.html").is_file()
    assert not [p for p in tmp_path.iterdir() if ".staging-" in p.name]
