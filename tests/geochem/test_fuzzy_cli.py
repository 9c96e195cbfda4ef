"""The ``geochem fcm`` command and the ``segment`` command module (imaging group)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import typer
import xarray as xr
from sklearn.metrics import adjusted_rand_score
from typer.testing import CliRunner

from petroinfer.cli.main import app
from petroinfer.geochem import make_domain_map, make_scattered_units

runner = CliRunner()


def test_geochem_fcm_writes_memberships_and_centres(tmp_path):
    df, truth = make_scattered_units(n=200, random_state=0)
    src = tmp_path / "units.csv"
    df.to_csv(src)
    out = tmp_path / "out"
    res = runner.invoke(
        app,
        [
            *("geochem", "fcm", str(src), "--x-column", "x", "--y-column", "y"),
            *("--c", "3", "--method", "sfcm", "--n-init", "2", "--out", str(out), "--json"),
        ],
    )
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout)
    assert summary["n_clusters"] == 3
    mem = pd.read_csv(out / "memberships.csv", index_col=0)
    assert list(mem.columns) == ["u_0", "u_1", "u_2", "cluster", "entropy"]
    np.testing.assert_allclose(mem[["u_0", "u_1", "u_2"]].sum(axis=1), 1.0, atol=1e-5)
    assert adjusted_rand_score(truth, mem["cluster"]) > 0.8
    cen = pd.read_csv(out / "centres.csv", index_col=0)
    assert list(cen.columns) == ["SiO2", "MgO", "K2O", "Rb"]
    for f in ("criterion.csv", "result.nc", "report.html", "clusters_map.png"):
        assert (out / f).is_file(), f


def test_geochem_fcm_refuses_duplicated_locations(tmp_path):
    df, _ = make_scattered_units(n=40, random_state=0)
    df.iloc[5, :2] = df.iloc[2, :2].to_numpy()
    src = tmp_path / "dup.csv"
    df.to_csv(src)
    res = runner.invoke(app, ["geochem", "fcm", str(src), "--x-column", "x", "--y-column", "y"])
    assert res.exit_code == 2
    assert "same coordinates" in res.stderr


@pytest.fixture
def segment_app():
    from petroinfer.cli.segment import segment

    sub = typer.Typer()
    sub.command("segment")(segment)
    sub.command("noop")(lambda: None)  # keep "segment" a sub-command
    return sub


def test_segment_csv_matrices_and_netcdf(tmp_path, segment_app):
    img, truth = make_domain_map(shape=(40, 50), random_state=0)
    folder = tmp_path / "maps"
    folder.mkdir()
    for j, el in enumerate(["Si", "Al", "Fe", "Mg"]):
        np.savetxt(folder / f"{el}.csv", img[..., j], delimiter=",")
    out = tmp_path / "seg"
    res = runner.invoke(
        segment_app, ["segment", str(folder), "--c", "3", "--chunks", "25", "--out", str(out)]
    )
    assert res.exit_code == 0, res.output
    seg = xr.open_dataset(out / "segmentation.nc", engine="h5netcdf")
    assert list(seg["element"].values) == ["Al", "Fe", "Mg", "Si"]
    assert seg["memberships"].shape == (40, 50, 3)
    assert adjusted_rand_score(truth.ravel(), seg["label"].values.ravel()) > 0.6
    seg.close()
    for f in ("centroids.csv", "labels.png", "entropy.png", "report.html", "summary.json"):
        assert (out / f).is_file(), f
    # the written NetCDF is itself a valid input (lazy, chunked)
    nc = tmp_path / "maps.nc"
    xr.Dataset({el: (("y", "x"), img[..., j]) for j, el in enumerate("ABCD")}).to_netcdf(
        nc, engine="h5netcdf"
    )
    res = runner.invoke(segment_app, ["segment", str(nc), "--c", "3", "--chunks", "25", "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["elements"] == ["A", "B", "C", "D"]


def test_segment_bad_maps(tmp_path, segment_app):
    folder = tmp_path / "maps"
    folder.mkdir()
    np.savetxt(folder / "Si.csv", np.ones((6, 6)), delimiter=",")
    np.savetxt(folder / "Mg.csv", np.ones((5, 6)), delimiter=",")
    res = runner.invoke(segment_app, ["segment", str(folder), "--c", "2"])
    assert res.exit_code == 2 and "shape differs" in res.stderr
    (folder / "Mg.csv").write_text("1,2,x\n3,4,5\n")
    res = runner.invoke(segment_app, ["segment", str(folder), "--c", "2"])
    assert res.exit_code == 2, res.output
    res = runner.invoke(segment_app, ["segment", str(tmp_path / "nope.nc")])
    assert res.exit_code == 2 and "nope.nc" in res.stderr


def test_segment_zarr_output_and_missing_pixels(tmp_path, segment_app):
    img, truth = make_domain_map(shape=(40, 50), random_state=0)
    img[3, 4, 1] = np.nan
    nc = tmp_path / "maps.nc"
    xr.Dataset({el: (("y", "x"), img[..., j]) for j, el in enumerate("ABCD")}).to_netcdf(
        nc, engine="h5netcdf"
    )
    args = ["segment", str(nc), "--c", "3", "--chunks", "25"]
    res = runner.invoke(segment_app, args)
    assert res.exit_code == 2 and "missing='pds'" in res.stderr
    out = tmp_path / "seg"
    res = runner.invoke(
        segment_app, [*args, "--missing", "pds", "--format", "zarr", "--out", str(out)]
    )
    assert res.exit_code == 0, res.output
    seg = xr.open_zarr(out / "segmentation.zarr")
    assert seg["memberships"].shape == (40, 50, 3)
    assert np.isfinite(seg["memberships"].values).all()
    assert adjusted_rand_score(truth.ravel(), seg["label"].values.ravel()) > 0.6
    assert not (out / "segmentation.nc").exists()
    summary = json.loads((out / "summary.json").read_text())
    assert sum(summary["cluster_fractions"]) == pytest.approx(1.0, abs=1e-3)
    res = runner.invoke(segment_app, [*args, "--missing", "pds", "--format", "tiff"])
    assert res.exit_code == 2 and "--format" in res.stderr
    # a written Zarr store is itself a valid input
    zin = tmp_path / "maps.zarr"
    xr.Dataset({el: (("y", "x"), img[..., j]) for j, el in enumerate("ABCD")}).to_zarr(
        zin, zarr_format=2, consolidated=True
    )
    res = runner.invoke(segment_app, ["segment", str(zin), "--c", "3", "--missing", "pds",
                                      "--chunks", "25", "--json"])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["elements"] == ["A", "B", "C", "D"]
