"""Dataset registry: lookup order, hash checks, loaders (IA/IOA fix), CLI."""

from __future__ import annotations

import json
import shutil

import pytest
from typer.testing import CliRunner

from petroinfer.cli.main import app
from petroinfer.errors import InputError
from petroinfer.io import datasets as ds

runner = CliRunner()


def _need(name: str):
    if ds.dataset_path(name) is None:
        pytest.skip(
            f"dataset {name!r} absent: set PETROINFER_DATA_DIR to a folder with "
            f"{ds.REGISTRY[name].relpath}"
        )


def test_ueki_loader_swaps_ia_and_ioa():
    _need("ueki2018_basalts")
    df = ds.load_ueki2018_basalts()
    counts = df["Class"].value_counts()
    assert len(df) == 2074
    assert counts["IOA"] == 338
    assert counts["IA"] == 272
    raw = ds.load_ueki2018_basalts(fix_labels=False)["Class"].value_counts()
    assert raw["IA"] == 338 and raw["IOA"] == 272
    assert df.shape[1] == 30 and df.index.is_unique


def test_spinel_and_laterite_loaders():
    _need("schoneveld2020_spinel")
    sp = ds.load_schoneveld2020_spinel()
    assert len(sp) == 550
    assert {"MgO", "Al2O3", "Cr2O3", "FeO"} <= set(sp.columns)
    assert not any(c.endswith("_pct") for c in sp.columns)
    _need("laterites")
    lat = ds.load_laterites()
    assert lat.shape[0] == 7742 and lat.index.name == "SampNo"


def test_hash_mismatch_is_detected(tmp_path, monkeypatch):
    _need("ueki2018_basalts")
    src = ds.dataset_path("ueki2018_basalts")
    bad = tmp_path / ds.REGISTRY["ueki2018_basalts"].relpath
    bad.parent.mkdir(parents=True)
    shutil.copy(src, bad)
    with open(bad, "a") as fh:
        fh.write("tampered\n")
    monkeypatch.setenv("PETROINFER_DATA_DIR", str(tmp_path))
    with pytest.raises(InputError, match="SHA-256"):
        ds.load_ueki2018_basalts()


def test_missing_file_without_download_says_where(tmp_path, monkeypatch):
    monkeypatch.setenv("PETROINFER_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("PETROINFER_CACHE_DIR", str(tmp_path / "cache"))
    with pytest.raises(InputError, match=r"basalt_tectonics/Ueki2018.csv"):
        ds.fetch("ueki2018_basalts", download=False)


def test_unknown_dataset_suggests_name():
    with pytest.raises(InputError, match="did you mean 'laterites'"):
        ds.fetch("laterite")


def test_cli_list_json_and_path():
    res = runner.invoke(app, ["datasets", "list", "--json"])
    assert res.exit_code == 0, res.output
    listing = json.loads(res.stdout)
    assert set(listing) == set(ds.REGISTRY)
    _need("ueki2018_basalts")
    res = runner.invoke(app, ["datasets", "path", "ueki2018_basalts"])
    assert res.exit_code == 0
    assert res.stdout.strip().endswith("Ueki2018.csv")


def test_cli_bad_name_exits_2():
    res = runner.invoke(app, ["datasets", "path", "nope"])
    assert res.exit_code == 2
    assert "unknown dataset 'nope'" in res.stderr
