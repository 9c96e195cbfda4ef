"""``kinetics transport-simulate`` / ``transport-fit`` with several snapshots of one section."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from typer.testing import CliRunner

from petroinfer.cli.main import app

runner = CliRunner()


def test_two_snapshots_simulated_then_fitted(tmp_path):
    spec = tmp_path / "spec.yaml"
    spec.write_text("network: dissolution-precipitation\ntime: [2.0, 5.0]\nn_steps: 12\n")
    sim = runner.invoke(
        app, ["kinetics", "transport-simulate", str(spec), "--out", str(tmp_path / "s")]
    )
    assert sim.exit_code == 0, sim.output
    profile = pd.read_csv(tmp_path / "s" / "profile.csv")
    truth = pd.read_csv(tmp_path / "s" / "truth.csv")
    assert list(profile.columns[:2]) == ["time", "x"]
    assert sorted(set(profile["time"])) == [2.0, 5.0] and len(profile) == 2 * 24
    assert sorted(set(truth["time"])) == [2.0, 5.0]
    # the true modes change between the snapshots (A dissolves): the later one is not a copy
    a = truth.pivot(index="x", columns="time", values="A")
    assert float((a[2.0] - a[5.0]).min()) > 0.05

    # the fit takes its times from the profile's time column (not the set-up's default)
    other = tmp_path / "other.yaml"
    other.write_text("network: dissolution-precipitation\nn_steps: 12\n")
    args = [
        "kinetics",
        "transport-fit",
        str(tmp_path / "s" / "profile.csv"),
        "--network",
        str(other),
    ]
    fit = runner.invoke(app, [*args, "--sweeps", "200", "--temps", "8", "--json"])
    assert fit.exit_code == 0, fit.output
    out = json.loads(fit.stdout)
    assert out["time"] == [2.0, 5.0]
    post = {r["parameter"]: r for r in out["posterior"]}
    k = post["log10_k[dissolution]"]
    assert k["q05"] < np.log10(0.05) < k["q95"]  # truth of the network (k = 0.05)
    assert k["q95"] - k["q05"] < 0.2  # two snapshots pin the dissolution rate tightly

    # a row whose time is not positive is named
    bad = profile.copy()
    bad.loc[7, "time"] = -1.0
    bad.to_csv(tmp_path / "bad.csv", index=False)
    res = runner.invoke(
        app, ["kinetics", "transport-fit", str(tmp_path / "bad.csv"), "--network", str(other)]
    )
    assert res.exit_code == 2
    assert "time" in res.output and "-1" in res.output
