"""Tests of the common Result container, its NetCDF round trip and the provenance helpers."""

from __future__ import annotations

import dataclasses
import json
import re

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import xarray as xr

from petroinfer import __version__
from petroinfer.errors import InputError
from petroinfer.inference.results import Result, hash_inputs, make_metadata, to_jsonable


def _estimate() -> xr.Dataset:
    return xr.Dataset(
        {
            "T": ("depth", np.linspace(773.15, 973.15, 5), {"units": "K"}),
            "P": ((), 8500.0, {"units": "bar"}),
        },
        coords={"depth": ("depth", np.arange(5.0), {"units": "m"})},
        attrs={"note": "synthetic"},
    )


def _posterior(seed: int = 0) -> xr.Dataset:
    rng = np.random.default_rng(seed)
    return xr.Dataset(
        {
            "T": (("chain", "draw", "depth"), 800.0 + 10.0 * rng.normal(size=(2, 400, 5))),
            "sigma": (("chain", "draw"), rng.gamma(4.0, 0.5, size=(2, 400))),
        },
        coords={"chain": [0, 1], "draw": np.arange(400), "depth": np.arange(5.0)},
    )


def _criterion() -> xr.Dataset:
    return xr.Dataset(
        {"log_evidence": ("smoothness", np.array([-120.5, -101.25, -110.0]))},
        coords={"smoothness": [0.1, 1.0, 10.0]},
    )


@pytest.fixture
def full_result() -> Result:
    data = pd.DataFrame({"SiO2": [37.2, 36.9], "FeO": [30.1, 29.8]}, index=["S1", "S2"])
    meta = make_metadata(
        random_state=42,
        parameters={"alpha": np.float64(1.5), "grid": np.arange(3), "kind": "gmrf"},
        inputs=(data,),
        method="unit-test",
        n_samples=np.int64(2),
    )
    return Result(
        estimate=_estimate(),
        posterior=_posterior(),
        log_evidence=-101.25,
        log_evidence_se=0.125,
        diagnostics={"r_hat": np.array([1.01, 1.0]), "converged": True, "n_iter": np.int32(800)},
        hyperparameters={"smoothness": 1.0},
        criterion=_criterion(),
        metadata=meta,
    )


# --------------------------------------------------------------------------- NetCDF round trip
def test_round_trip_everything(full_result, tmp_path):
    path = tmp_path / "sub" / "result.nc"  # parent folder is created
    full_result.to_netcdf(path)
    back = Result.from_netcdf(path)
    xr.testing.assert_identical(back.estimate, full_result.estimate)
    xr.testing.assert_identical(back.posterior, full_result.posterior)
    xr.testing.assert_identical(back.criterion, full_result.criterion)
    assert back.estimate["T"].attrs["units"] == "K"
    assert back.log_evidence == -101.25
    assert back.log_evidence_se == 0.125
    assert back.diagnostics == {"r_hat": [1.01, 1.0], "converged": True, "n_iter": 800}
    assert back.hyperparameters == {"smoothness": 1.0}
    meta = back.metadata
    assert meta == dict(full_result.metadata)
    assert meta["petroinfer_version"] == __version__
    assert meta["seed"] == 42
    assert meta["method"] == "unit-test"
    assert meta["parameters"] == {"alpha": 1.5, "grid": [0, 1, 2], "kind": "gmrf"}
    assert re.fullmatch(r"[0-9a-f]{64}", meta["input_hash"])
    assert meta["n_samples"] == 2
    assert [p.name for p in path.parent.iterdir()] == ["result.nc"]


def test_round_trip_minimal_none_fields(tmp_path):
    res = Result(estimate=_estimate())
    res.to_netcdf(tmp_path / "r.nc")
    back = Result.from_netcdf(str(tmp_path / "r.nc"))  # str paths work too
    assert back.log_evidence is None and back.log_evidence_se is None
    assert back.posterior is None and back.criterion is None
    assert back.diagnostics == {} and back.metadata == {}
    xr.testing.assert_identical(back.estimate, res.estimate)


@pytest.mark.parametrize("value", [0.0, -3.5e4, 1e-300])
def test_log_evidence_float_survives(tmp_path, value):
    Result(estimate=_estimate(), log_evidence=value).to_netcdf(tmp_path / "r.nc")
    back = Result.from_netcdf(tmp_path / "r.nc")
    assert back.log_evidence == value and isinstance(back.log_evidence, float)
    assert back.log_evidence_se is None


def test_round_trip_string_sample_coordinate(tmp_path):
    df = pd.DataFrame(
        {"XAlm": [0.61, 0.58, 0.55], "XPrp": [0.2, 0.22, 0.25]},
        index=pd.Index(["Grt-1", "Grt-2", "Grt-3"], name="sample"),
    )
    res = Result(estimate=df)
    res.to_netcdf(tmp_path / "r.nc")
    back = Result.from_netcdf(tmp_path / "r.nc")
    assert list(back.estimate["sample"].values) == ["Grt-1", "Grt-2", "Grt-3"]
    np.testing.assert_array_equal(back.estimate["XAlm"].values, df["XAlm"].to_numpy())


def test_subclass_round_trip_returns_subclass(tmp_path):
    @dataclasses.dataclass(frozen=True)
    class PathResult(Result):
        n_steps: int = 0

    res = PathResult(estimate=_estimate(), log_evidence=-1.0, n_steps=3)
    res.to_netcdf(tmp_path / "r.nc")
    back = PathResult.from_netcdf(tmp_path / "r.nc")
    assert type(back) is PathResult and back.log_evidence == -1.0


# --------------------------------------------------------------------------- atomic writing
def test_to_netcdf_is_atomic_on_error(tmp_path):
    path = tmp_path / "r.nc"
    good = Result(estimate=_estimate(), log_evidence=-2.0)
    good.to_netcdf(path)
    before = path.read_bytes()
    bad = Result(estimate=xr.Dataset({"bad": ("x", np.array([{"a": 1}, {"b": 2}], dtype=object))}))
    with pytest.raises(Exception):  # noqa: B017 - whatever the NetCDF backend raises
        bad.to_netcdf(path)
    assert path.read_bytes() == before  # old file untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.nc"]  # no partial temporary file
    with pytest.raises(Exception):  # noqa: B017
        bad.to_netcdf(tmp_path / "new.nc")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.nc"]


# --------------------------------------------------------------------------- summary
def test_summary_with_draws_matches_numpy(full_result):
    table = full_result.summary(hdi_prob=0.9)
    assert {"mean", "sd", "hdi_5%", "hdi_95%", "ess_bulk", "r_hat"} <= set(table.columns)
    assert len(table) == 5 + 1  # T at five depths + sigma
    post = full_result.posterior
    np.testing.assert_allclose(table.loc["sigma", "mean"], post["sigma"].mean(), atol=1e-3)
    np.testing.assert_allclose(
        table.loc["sigma", "sd"], post["sigma"].std(ddof=1), rtol=0.01, atol=1e-3
    )
    t_rows = table.loc[[i for i in table.index if i.startswith("T[")]]
    np.testing.assert_allclose(
        t_rows["mean"].to_numpy(), post["T"].mean(("chain", "draw")).values, atol=1e-3
    )
    # independent draws: well mixed
    assert (table["r_hat"] < 1.02).all()
    assert (table["hdi_5%"] < table["mean"]).all() and (table["mean"] < table["hdi_95%"]).all()
    wide = full_result.summary(hdi_prob=0.5)
    assert {"hdi_25%", "hdi_75%"} <= set(wide.columns)


def test_summary_without_draws_is_the_estimate():
    res = Result(estimate=_estimate())
    table = res.summary()
    pd.testing.assert_frame_equal(table, _estimate().to_dataframe())
    # a "posterior" without chain/draw dims is not treated as draws
    res2 = Result(estimate=_estimate(), posterior=xr.Dataset({"T_sd": ("depth", np.ones(5))}))
    pd.testing.assert_frame_equal(res2.summary(), table)


def test_summary_of_scalar_estimate():
    res = Result(estimate={"T": 873.15, "P": 8500.0})
    table = res.summary()
    assert list(table.columns) == ["value"]
    assert table.loc["T", "value"] == 873.15 and table.loc["P", "value"] == 8500.0


def test_inference_data_requires_draws(full_result):
    idata = full_result.to_datatree()
    assert isinstance(idata, xr.DataTree)
    assert dict(idata.posterior.sizes)["draw"] == 400
    xr.testing.assert_identical(idata["posterior"].to_dataset(), full_result.posterior)
    with pytest.raises(InputError, match="no posterior"):
        Result(estimate=_estimate()).to_datatree()
    with pytest.warns(DeprecationWarning, match="to_datatree"):
        old = full_result.to_inference_data()
    assert dict(old.posterior.sizes)["draw"] == 400


def test_arviz_stats_accepts_the_datatree(full_result):
    azs = pytest.importorskip("arviz_stats")
    rhat = azs.rhat(full_result.to_datatree())
    table = full_result.summary()
    np.testing.assert_allclose(float(rhat["sigma"]), table.loc["sigma", "r_hat"], rtol=1e-12)


def _big_result() -> Result:
    rng = np.random.default_rng(0)
    n = 5000
    estimate = xr.Dataset(
        {f"v{i}": ("node", rng.normal(size=n)) for i in range(12)}, coords={"node": np.arange(n)}
    )
    posterior = xr.Dataset(
        {"x": (("chain", "draw", "node"), rng.normal(size=(4, 100, n)))},
        coords={"node": np.arange(n)},
    )
    return Result(
        estimate=estimate,
        posterior=posterior,
        log_evidence=-1234.5678,
        log_evidence_se=0.25,
        diagnostics={"r_hat": {f"x[{i}]": 1.0 for i in range(n)}},
        hyperparameters={f"kappa{i}": float(i) for i in range(10)} | {"grid": np.arange(n)},
        criterion=xr.Dataset({"log_evidence": ("kappa", rng.normal(size=200))}),
        metadata={"method": "big-test", "parameters": {"grid": list(range(n))}},
    )


def test_repr_is_short_for_a_large_result():
    res = _big_result()
    text = repr(res)
    assert len(text) < 600, text
    assert text.startswith("Result(method='big-test')")
    assert "4 chains × 100 draws" in text and "x(node=5000)" in text
    assert "v0(node=5000)" in text and "(+6 more)" in text
    assert "log_evidence: -1234.57 ± 0.25" in text
    assert "kappa0=0" in text and "(+5 more)" in text
    assert len(text.splitlines()) <= 6


def test_subclasses_inherit_the_short_repr():
    @dataclasses.dataclass(frozen=True)
    class Sub(Result):
        extra: np.ndarray | None = None

    base = _big_result()
    sub = Sub(
        **{f.name: getattr(base, f.name) for f in dataclasses.fields(Result)}, extra=np.ones(10**5)
    )
    text = repr(sub)
    assert text.startswith("Sub(method='big-test')") and len(text) < 600


# --------------------------------------------------------------------------- construction
def test_inputs_are_converted_and_result_is_frozen():
    res = Result(
        estimate=xr.DataArray(np.arange(3.0), dims="x", name="y"),
        criterion=pd.DataFrame({"score": [1.0, 2.0]}, index=pd.Index([1, 2], name="k")),
    )
    assert isinstance(res.estimate, xr.Dataset) and "y" in res.estimate
    assert isinstance(res.criterion, xr.Dataset) and list(res.criterion["k"].values) == [1, 2]
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.log_evidence = 1.0  # type: ignore[misc]
    with pytest.raises(InputError, match="estimate"):
        Result(estimate=[1, 2, 3])


def test_plot_returns_axes():
    ax = Result(estimate=_estimate()).plot()
    assert len(ax.get_lines()) == 1  # only the 1-D variable T
    plt.close(ax.figure)


# --------------------------------------------------------------------------- provenance helpers
def test_make_metadata_is_deterministic_apart_from_timestamp():
    df = pd.DataFrame({"a": [1.0, 2.0]})
    m1 = make_metadata(random_state=7, parameters={"k": 3}, inputs=(df,), method="m")
    m2 = make_metadata(random_state=7, parameters={"k": 3}, inputs=(df.copy(),), method="m")
    m1.pop("created"), m2.pop("created")
    assert m1 == m2
    assert m1["seed"] == 7 and m1["petroinfer_version"] == __version__
    json.dumps(m1)  # JSON-serialisable
    assert make_metadata(random_state=np.random.default_rng(1))["seed"] is None
    assert make_metadata()["input_hash"] is None


def test_hash_inputs_sensitivity():
    df = pd.DataFrame({"SiO2": [50.0, 51.0], "MgO": [8.0, 7.5]}, index=["A", "B"])
    base = hash_inputs(df)
    assert base == hash_inputs(df.copy())
    assert re.fullmatch(r"[0-9a-f]{64}", base)
    changed = df.copy()
    changed.loc["B", "MgO"] = 7.6
    assert hash_inputs(changed) != base
    assert hash_inputs(df.rename(columns={"MgO": "FeO"})) != base  # column names count
    assert hash_inputs(df.rename(index={"B": "C"})) != base  # sample ids count
    assert hash_inputs(df["SiO2"]) != hash_inputs(df["SiO2"].rename("TiO2"))  # Series name counts
    a = np.arange(6.0)
    assert hash_inputs(a) == hash_inputs(a.copy())
    assert hash_inputs(a) != hash_inputs(a.reshape(2, 3))  # same bytes, other shape
    assert hash_inputs(a) != hash_inputs(a.astype(np.float32))
    assert hash_inputs(a.reshape(2, 3).T) == hash_inputs(np.ascontiguousarray(a.reshape(2, 3).T))
    da = xr.DataArray(a, dims="x")
    assert hash_inputs(da) == hash_inputs(da.copy()) != hash_inputs(da + 1)
    assert hash_inputs(da) != hash_inputs(da.assign_coords(x=[5.0, 6, 7, 8, 9, 10]))
    assert hash_inputs(da.to_dataset(name="T")) != hash_inputs(da.to_dataset(name="P"))
    assert hash_inputs(b"abc") != hash_inputs(b"abd")
    assert hash_inputs(df, a) != hash_inputs(a, df)  # order counts
    assert hash_inputs({"k": 1}) == hash_inputs({"k": 1})


def test_to_jsonable():
    out = to_jsonable(
        {
            1: np.float32(0.5),
            "arr": np.arange(2),
            "nan": float("nan"),
            "inf": float("inf"),
            "s": pd.Series([1, 2]),
            "t": (1, 2),
        }
    )
    assert out == {"1": 0.5, "arr": [0, 1], "nan": None, "inf": 1e308, "s": [1, 2], "t": [1, 2]}
    json.dumps(out)


def test_grandchildren_keep_their_parents_own_repr():
    @dataclasses.dataclass(frozen=True)
    class Parent(Result):
        def __repr__(self) -> str:
            return "Parent!"

    @dataclasses.dataclass(frozen=True)
    class Child(Parent):
        extra: int = 0

    assert repr(Child(estimate=_estimate())) == "Parent!"
