"""CLI: ``petroinfer diffusion simulate`` and ``petroinfer ptpath assimilate``."""

from __future__ import annotations

import json

import pandas as pd
from typer.testing import CliRunner

from petroinfer.cli.main import app

runner = CliRunner()

SPEC = """
history:
  time_Myr: [0, 2, 4, 6]
  T_C: [520, 600, 650, 560]
  P_kbar: [6, 8, 9, 6]
garnet:
  radius_um: 200
  n_cells: 20
growth_Myr: [0, 3]
snapshots_Myr: [3]
"""


def test_simulate_writes_profiles(tmp_path):
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC)
    out = tmp_path / "out"
    res = runner.invoke(app, ["diffusion", "simulate", str(spec), "--out", str(out), "--json"])
    assert res.exit_code == 0, res.output
    prof = pd.read_csv(out / "profiles.csv")
    assert list(prof.columns) == ["time_Myr", "radius_um", "XPrp", "XAlm", "XSps", "XGrs"]
    assert sorted(prof["time_Myr"].unique()) == [3.0, 6.0]
    assert (out / "report.html").exists()
    summary = json.loads(res.stdout)
    assert summary["cells"] == 20


def test_simulate_refuses_bad_spec(tmp_path):
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC.replace("T_C: [520, 600, 650, 560]", "T_C: [520, 600]"))
    res = runner.invoke(app, ["diffusion", "simulate", str(spec)])
    assert res.exit_code == 2
    assert "T_C" in res.stderr
    spec.write_text(SPEC.replace("n_cells: 20", "n_cells: 4"))
    res = runner.invoke(app, ["diffusion", "simulate", str(spec)])
    assert res.exit_code == 2 and "too coarse" in res.stderr


def test_assimilate_writes_history_and_json(tmp_path):
    from petroinfer.ptpath import synthetic_garnet_profiles

    prof, _ = synthetic_garnet_profiles(random_state=0, n_cells=12, n_points=10)
    inp = tmp_path / "profile.csv"
    prof.to_csv(inp, index=False)
    spec = tmp_path / "a.yaml"
    spec.write_text(
        "growth_Myr: [0, 4]\nend_Myr: 10\nradius_um: 300\nn_cells: 12\nsmoothness: fixed\n"
        "parameterisation: [nodes, exponential_cooling]\npeak_hold: false\n"
    )
    out = tmp_path / "out"
    res = runner.invoke(
        app,
        [
            "ptpath",
            "assimilate",
            str(inp),
            "--spec",
            str(spec),
            "--n-nodes",
            "4",
            "--n-ensemble",
            "30",
            "--n-assimilations",
            "2",
            "--out",
            str(out),
            "--json",
        ],
    )
    assert res.exit_code == 0, res.output
    hist = pd.read_csv(out / "history.csv")
    assert list(hist.columns) == [
        "time_Myr",
        "T_C",
        "T_C_q05",
        "T_C_q95",
        "P_kbar",
        "P_kbar_q05",
        "P_kbar_q95",
    ]
    assert (out / "profiles_fit.csv").exists() and (out / "report.html").exists()
    summary = json.loads(res.stdout)
    assert "time_above_600C_Myr" in summary["durations"]
    assert set(summary["log_evidence_by_candidate"]) == {"nodes_4", "exponential_cooling_nohold"}
    spec.write_text("growth_Myr: [0, 4]\nbogus: 1\n")
    res = runner.invoke(app, ["ptpath", "assimilate", str(inp), "--spec", str(spec)])
    assert res.exit_code == 2 and "unknown keys" in res.stderr
