"""``petroinfer thermo thermobar`` end to end, including bad input (exit 2, message names column/row)."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from petroinfer.cli.main import app

runner = CliRunner()
ROW = {
    "id": "s1",
    "Grt_XAlm": 0.75,
    "Grt_XPrp": 0.12,
    "Grt_XGrs": 0.08,
    "Grt_XSps": 0.05,
    "Bt_XMg": 0.45,
    "Pl_XAn": 0.25,
}


def test_thermobar_cli_writes_outputs(tmp_path):
    f = tmp_path / "in.csv"
    pd.DataFrame([ROW, {**ROW, "id": "s2", "Bt_XMg": 0.40}]).to_csv(f, index=False)
    out = tmp_path / "out"
    res = runner.invoke(
        app,
        [
            "thermo",
            "thermobar",
            str(f),
            "--thermometer",
            "FS78",
            "--barometer",
            "KN88",
            "--out",
            str(out),
            "--json",
        ],
    )
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout)
    assert summary["rows"] == 2
    table = pd.read_csv(out / "thermobar.csv", index_col=0)
    assert {"T_C", "P_kbar", "T_C_sd", "P_kbar_sd", "T_C_sd_mc", "P_kbar_sd_mc"} <= set(
        table.columns
    )
    assert table.loc["s1", "T_C"] == pytest.approx(624.763, abs=0.01)
    for name in ("report.html", "thermobar_pt.png", "summary.json"):
        assert (out / name).exists()
    # fixed pressure → temperature only
    res = runner.invoke(
        app, ["thermo", "thermobar", str(f), "--thermometer", "FS78", "--P-kbar", "5", "--json"]
    )
    assert res.exit_code == 0
    assert 612.0 < json.loads(res.stdout)["T_C_median"] < 700.0  # rows at 612.1 °C and higher
    # independent check: the joint FS78 + KN88 temperature of s1 satisfies Ferry & Spear (1978)
    # at the pressure found, 12454 - 4.662 T + 0.057 P + 3 R T ln KD = 0 (cal, K, bar)
    assert table.loc["s1", "T_C"] == pytest.approx(
        _fs78_celsius(ROW, table.loc["s1", "P_kbar"] * 1e3), abs=0.05
    )


def _fs78_celsius(row: dict, p_bar: float) -> float:
    """Ferry & Spear (1978) garnet–biotite temperature written out from the paper (°C)."""
    import math

    r_cal = 1.987  # cal/(mol K), the value used by Ferry & Spear (1978)
    kd = (row["Grt_XPrp"] / row["Grt_XAlm"]) / (row["Bt_XMg"] / (1.0 - row["Bt_XMg"]))
    return (12454.0 + 0.057 * p_bar) / (4.662 - 3.0 * r_cal * math.log(kd)) - 273.15


def test_fs78_reference_at_fixed_pressure(tmp_path):
    """T at a fixed 5 kbar equals the FS78 equation evaluated by hand (not the code's own output)."""
    f = tmp_path / "in.csv"
    pd.DataFrame([ROW]).to_csv(f, index=False)
    out = tmp_path / "o"
    res = runner.invoke(
        app,
        ["thermo", "thermobar", str(f), "--thermometer", "FS78", "--P-kbar", "5", "-o", str(out)],
    )
    assert res.exit_code == 0, res.output
    t = pd.read_csv(out / "thermobar.csv", index_col=0).loc["s1", "T_C"]
    assert t == pytest.approx(_fs78_celsius(ROW, 5000.0), abs=0.05)  # 612.2 °C


def test_old_name_is_a_hidden_alias(tmp_path):
    f = tmp_path / "in.csv"
    pd.DataFrame([ROW]).to_csv(f, index=False)
    res = runner.invoke(app, ["thermobar", str(f), "--P-kbar", "5", "--json"])
    assert res.exit_code == 0, res.output
    assert "thermo thermobar" in res.stderr and json.loads(res.stdout)["rows"] == 1
    assert "thermobar" not in runner.invoke(app, ["--help"]).stdout.split("Commands")[-1]


def test_thermobar_cli_bad_input(tmp_path):
    f = tmp_path / "bad.csv"
    pd.DataFrame([{**ROW, "Pl_XAn": 1.5}]).to_csv(f, index=False)
    res = runner.invoke(app, ["thermo", "thermobar", str(f)])
    assert res.exit_code == 2
    assert "Pl_XAn" in res.stderr and "s1" in res.stderr and "1.5" in res.stderr
    g = tmp_path / "missing.csv"
    pd.DataFrame([{k: v for k, v in ROW.items() if k != "Grt_XGrs"}]).to_csv(g, index=False)
    res = runner.invoke(app, ["thermo", "thermobar", str(g)])
    assert res.exit_code == 2 and "Grt_XGrs" in res.stderr
    res = runner.invoke(app, ["thermo", "thermobar", str(tmp_path / "nope.csv")])
    assert res.exit_code == 2
    res = runner.invoke(app, ["thermo", "thermobar", str(f), "--thermometer", "XYZ"])
    assert res.exit_code == 2 and "XYZ" in res.stderr
