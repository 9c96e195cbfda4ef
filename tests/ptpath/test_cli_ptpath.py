"""``petroinfer ptpath inclusions`` end to end and on bad input."""

from __future__ import annotations

import json

import pandas as pd
from typer.testing import CliRunner

from petroinfer.cli.main import app
from petroinfer.ptpath import synthetic_inclusions

runner = CliRunner()


def test_ptpath_cli(tmp_path):
    data, truth = synthetic_inclusions(10, random_state=0)
    f = tmp_path / "inc.csv"
    data.to_csv(f, index=False)
    out = tmp_path / "out"
    res = runner.invoke(
        app, ["ptpath", "inclusions", str(f), "--n-nodes", "10", "--out", str(out), "--json"]
    )
    assert res.exit_code == 0, res.output
    s = json.loads(res.stdout)
    assert s["nodes"] == 10 and abs(s["T_C_rim"] - truth["T_C"].iloc[-1]) < 30
    table = pd.read_csv(out / "ptpath.csv")
    assert {"radius", "T_C", "T_C_q05", "T_C_q95", "P_kbar"} <= set(table.columns)
    for name in (
        "report.html",
        "ptpath_pt.png",
        "ptpath_radius.png",
        "ptpath.nc",
        "inclusions_fit.csv",
    ):
        assert (out / name).exists(), name


def test_ptpath_cli_bad_input(tmp_path):
    data, _ = synthetic_inclusions(6, random_state=0)
    f = tmp_path / "bad.csv"
    data.assign(radius=data.radius[::-1].to_numpy()).to_csv(f, index=False)
    res = runner.invoke(app, ["ptpath", "inclusions", str(f)])
    assert res.exit_code == 2 and "radius" in res.stderr and "monotone" in res.stderr
    g = tmp_path / "bad2.csv"
    data.assign(Pl_XAn=data.Pl_XAn.where(data.index != 1, -0.2)).to_csv(g, index=False)
    res = runner.invoke(app, ["ptpath", "inclusions", str(g)])
    assert res.exit_code == 2 and "Pl_XAn" in res.stderr and "-0.2" in res.stderr
