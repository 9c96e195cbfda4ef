"""``petroinfer imaging epma``: outputs, --fix / --add-phase, bad input (exit 2, one line)."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from petroinfer.cli.main import app

runner = CliRunner()


@pytest.fixture(scope="module")
def root(qntmap_minimal_dir):
    return qntmap_minimal_dir


def test_epma_command_writes_outputs(root, tmp_path):
    out = tmp_path / "out"
    res = runner.invoke(
        app,
        ["imaging", "epma", str(root / ".map/1"), str(root / ".qnt"), "--out", str(out), "--json"],
    )
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["whole_area_mean_wt%"]["SiO2"] == pytest.approx(48.43476, abs=1e-4)
    for f in (
        "phase_fraction.csv",
        "summary.csv",
        "phase_mean.csv",
        "wt.nc",
        "SiO2.png",
        "report.html",
    ):
        assert (out / f).is_file(), f
    pm = pd.read_csv(out / "phase_mean.csv", index_col=0)
    assert pm.loc["Ol", "Total"] == pytest.approx(99.92493, abs=5e-5)


def test_epma_add_phase_and_fix(root, tmp_path):
    pl = tmp_path / "phases.csv"
    pd.DataFrame(
        {"id": range(1, 41), "phase": ["Qtz"] * 20 + ["Ol"] * 20, "use": [False] * 20 + [True] * 20}
    ).to_csv(pl, index=False)
    fix = tmp_path / "fix.csv"
    fix.write_text("element,phase,wt\nSi,Qtz,100\n")
    res = runner.invoke(
        app,
        [
            "imaging",
            "epma",
            str(root / ".map/1"),
            str(root / ".qnt"),
            "--phase-list",
            str(pl),
            "--add-phase",
            "Qtz:27:17",
            "--fix",
            str(fix),
            "--out",
            str(tmp_path / "o"),
        ],
    )
    assert res.exit_code == 0, res.output
    s = pd.read_csv(tmp_path / "o" / "summary.csv", index_col=0)
    assert s.loc["SiO2", "Mean"] == pytest.approx(48.54, abs=5.1e-3)
    assert s.loc["SiO2", "Max."] == pytest.approx(102.41, abs=5.1e-3)


def test_epma_bad_input(root, tmp_path):
    res = runner.invoke(app, ["imaging", "epma", str(tmp_path / "nope"), str(root / ".qnt")])
    assert res.exit_code == 2 and "not a folder" in res.stderr
    res = runner.invoke(
        app,
        ["imaging", "epma", str(root / ".map/1"), str(root / ".qnt"), "--add-phase", "Qtz:500:1"],
    )
    assert res.exit_code == 2 and "--add-phase" in res.stderr
    res = runner.invoke(app, ["imaging", "epma", str(root / ".map/1"), str(root / ".qnt"),
                              "--tiles", "50"])  # fmt: skip
    assert res.exit_code == 2 and "--tiles" in res.stderr
    assert "Traceback" not in res.output


def test_epma_se_mixed_density_options(root, tmp_path):
    out = tmp_path / "o2"
    args = ["imaging", "epma", str(root / ".map/1"), str(root / ".qnt"), "--se", "qntmap_compat",
            "--mixed-pixels", "--density", "Ol=3.32,Qtz=2.65", "--out", str(out), "--json"]  # fmt: skip
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    mass = data["whole_area_mass_weighted_wt%"]["SiO2"]
    assert mass < data["whole_area_mean_wt%"]["SiO2"]  # quartz is the lighter phase
    pmm = pd.read_csv(out / "phase_mean_mass.csv", index_col=0)
    assert pmm.loc["Whole area", "SiO2"] == pytest.approx(mass, abs=1e-4)


@pytest.mark.parametrize(
    "extra", [["--se", "bootstrap"], ["--density", "Ol=heavy"], ["--density", "Ol=3.3"]]
)
def test_epma_bad_new_options_exit_2(root, tmp_path, extra):
    args = ["imaging", "epma", str(root / ".map/1"), str(root / ".qnt"), *extra,
            "--out", str(tmp_path / "o3")]  # fmt: skip
    res = runner.invoke(app, args)
    assert res.exit_code == 2, res.output
    assert len(res.output.strip().splitlines()) == 1


def test_epma_chunks_gives_the_in_memory_outputs(root, tmp_path):
    """``--chunks``: lazy read + dask pipeline; every output equals the in-memory run."""
    import numpy as np
    import xarray as xr

    outs = {}
    for tag, extra in (("mem", []), ("lazy", ["--chunks", "30"])):
        outs[tag] = tmp_path / tag
        res = runner.invoke(
            app,
            [
                "imaging",
                "epma",
                str(root / ".map/1"),
                str(root / ".qnt"),
                "--out",
                str(outs[tag]),
                *extra,
            ],
        )
        assert res.exit_code == 0, res.output
    for f in ("phase_fraction.csv", "summary.csv", "phase_mean.csv", "parameters.csv"):
        a = pd.read_csv(outs["mem"] / f, index_col=0)
        b = pd.read_csv(outs["lazy"] / f, index_col=0)
        pd.testing.assert_frame_equal(a, b, rtol=1e-12, atol=1e-12)
    with xr.open_dataset(outs["mem"] / "wt.nc") as a, xr.open_dataset(outs["lazy"] / "wt.nc") as b:
        for v in a.data_vars:
            np.testing.assert_allclose(b[v].values, a[v].values, rtol=1e-12, atol=1e-12)
    bad = runner.invoke(
        app, ["imaging", "epma", str(root / ".map/1"), str(root / ".qnt"), "--chunks", "0"]
    )
    assert bad.exit_code == 2
