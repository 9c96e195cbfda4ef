"""CLI: petroinfer endmembers / cluster / isocon, outputs and bad-input exit codes."""

from __future__ import annotations

import json

import numpy as np
from typer.testing import CliRunner

from petroinfer.cli.main import app
from petroinfer.geochem.synthetic import make_alteration, make_endmember_mixtures

runner = CliRunner()


def test_isocon_cli(tmp_path):
    alt = make_alteration(8, protolith_noise=0.01, random_state=1)
    f = tmp_path / "alt.csv"
    alt.data.to_csv(f, index=False)
    out = tmp_path / "out"
    r = runner.invoke(
        app,
        [
            "isocon",
            str(f),
            "--protolith",
            "P0",
            "--immobile",
            "Ti,Zr",
            "--bootstrap",
            "20",
            "--out",
            str(out),
            "--json",
        ],
    )
    assert r.exit_code == 0, r.output
    s = json.loads(r.stdout)
    assert sorted(s["immobile_selected"]) == sorted(alt.immobile)
    assert (out / "report.html").exists() and (out / "isocon.png").exists()
    r = runner.invoke(app, ["isocon", str(f), "--protolith", "NOPE"])
    assert r.exit_code == 2 and "NOPE" in r.output


def test_endmembers_and_cluster_cli(tmp_path):
    mix = make_endmember_mixtures(60, random_state=0)
    f = tmp_path / "mix.csv"
    mix.data.to_csv(f)
    out = tmp_path / "em"
    r = runner.invoke(
        app,
        [
            "endmembers",
            str(f),
            "--k",
            "3",
            "--restarts",
            "3",
            "--bootstrap",
            "0",
            "--out",
            str(out),
            "--json",
        ],
    )
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["n_endmembers"] == 3
    assert (out / "endmembers.csv").exists() and (out / "k_selection.png").exists()
    r = runner.invoke(
        app,
        [
            "cluster",
            str(f),
            "--k",
            "3",
            "--scaling",
            "whiten",
            "--out",
            str(tmp_path / "cl"),
            "--proportions",
            str(out / "proportions.csv"),
            "--json",
        ],
    )
    assert r.exit_code == 0, r.output
    summ = json.loads(r.stdout)
    assert summ["n_clusters"] == 3
    assert set(summ["cluster_dominant_endmember"].values()) <= {"EM1", "EM2", "EM3"}
    assert (tmp_path / "cl" / "cluster_endmembers.csv").exists()
    bad = mix.data.copy()
    bad.iloc[5, 1] = -2.0
    bad.to_csv(f)
    r = runner.invoke(app, ["endmembers", str(f), "--k", "2"])
    assert r.exit_code == 2 and "TiO2" in r.output and "negative" in r.output
    r = runner.invoke(app, ["endmembers", str(f), "--loss", "l1"])
    assert r.exit_code == 2
    assert np.isfinite(mix.data.to_numpy()).all()
