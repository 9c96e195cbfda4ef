"""Tests of the top-level ``petroinfer`` command: --version, info, demo."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from petroinfer import __version__
from petroinfer.cli.demo import DEMO_SECTIONS
from petroinfer.cli.main import app

runner = CliRunner()


def _invoke(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


def test_version():
    res = _invoke("--version")
    assert res.exit_code == 0
    assert res.stdout.strip() == f"petroinfer {__version__}"


def test_version_through_the_module_entry_point():
    run = subprocess.run(
        [sys.executable, "-m", "petroinfer.cli", "--version"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == f"petroinfer {__version__}"


def test_info_json_is_valid(monkeypatch):
    monkeypatch.setenv("PETROINFER_SCHEDULER", "tcp://10.1.2.3:8786")
    res = _invoke("info", "--json")
    assert res.exit_code == 0, res.output
    info = json.loads(res.stdout)  # stdout holds JSON only
    assert info["petroinfer"] == __version__
    assert info["python"] == ".".join(map(str, sys.version_info[:3]))
    import numpy

    assert info["numpy"] == numpy.__version__
    assert {"scipy", "pandas", "xarray", "dask", "data_dir"} <= set(info)
    assert info["scheduler"] == "tcp://10.1.2.3:8786"


def test_info_default_scheduler_and_out(tmp_path, monkeypatch):
    monkeypatch.delenv("PETROINFER_SCHEDULER", raising=False)
    res = _invoke("info", "--out", str(tmp_path / "o"))
    assert res.exit_code == 0, res.output
    saved = json.loads((tmp_path / "o" / "summary.json").read_text())
    assert saved["scheduler"] == "embedded LocalCluster"
    assert "petroinfer info" in res.stdout  # the rich table title


def test_demo_writes_report(tmp_path):
    only = "composition"
    assert any(only in spec for spec in DEMO_SECTIONS)
    out = tmp_path / "demo"
    res = _invoke("demo", "--out", str(out), "--only", only, "--json")
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout)
    assert summary["failed_sections"] == []
    assert only in summary and summary[only]["seconds"] < 60
    report = out / "report.html"
    assert report.is_file() and summary["report"] == str(report)
    html = report.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and 'id="provenance"' in html
    assert "<h2>Composition layer</h2>" in html and "FAILED" not in html
    assert html.count("<section id=") == 1  # --only ran just the composition section
    assert any((out / only).iterdir())  # the section wrote its own files
    assert json.loads((out / "summary.json").read_text())["failed_sections"] == []


@pytest.mark.parametrize("args", [["no-such-command"], ["info", "--no-such-option"]])
def test_usage_errors_exit_2(args):
    res = runner.invoke(app, args)
    assert res.exit_code == 2
