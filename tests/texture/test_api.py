"""Public API of petroinfer.texture: numpydoc docstrings (the checks of tests/test_docstrings.py),
lazy command-line module, a round trip through NetCDF, and the two CLI commands end to end."""

from __future__ import annotations

import inspect
import json

import numpy as np
import pandas as pd
import pytest
from numpydoc.validate import validate
from typer.testing import CliRunner

import petroinfer.texture as texture
from petroinfer.inference import Result

CHECKS = {"GL08", "SS01", "PR01", "PR02", "PR03", "PR04", "PR10"}


def _public():
    for name in texture.__all__:
        obj = getattr(texture, name)
        if inspect.isclass(obj) or inspect.isfunction(obj):
            yield f"{obj.__module__}.{obj.__qualname__}"


@pytest.mark.parametrize("qualname", sorted(set(_public())))
def test_numpydoc(qualname):
    errors = [(code, msg) for code, msg in validate(qualname)["errors"] if code in CHECKS]
    assert not errors, errors


def test_result_netcdf_round_trip(tmp_path):
    x = np.degrees(texture.VonMises(1.0, 3.0).rvs(80, random_state=0))
    res = texture.OrientationModels(models=["uniform", "von_mises"]).fit(x)
    res.to_netcdf(tmp_path / "o.nc")
    back = Result.from_netcdf(tmp_path / "o.nc")
    np.testing.assert_allclose(back.estimate["log_likelihood"], res.estimate["log_likelihood"])
    assert back.hyperparameters["model"] == res.best


def test_cli_orientation_and_microboudin(tmp_path):
    from petroinfer.cli.main import app

    runner = CliRunner()
    axes = np.degrees(texture.VonMises(1.0, 3.0).rvs(60, random_state=1)) / 2
    pd.DataFrame({"theta": axes}).to_csv(tmp_path / "axes.csv", index=False)
    res = runner.invoke(
        app,
        [
            *("texture", "orientation", str(tmp_path / "axes.csv"), "--axial"),
            *(
                "--models",
                "uniform,von_mises,wrapped_cauchy",
                "--json",
                "--out",
                str(tmp_path / "o"),
            ),
        ],
    )
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout)
    assert summary["best"] == "von_mises" and summary["axial"] is True
    vm = summary["models"]["von_mises"]
    assert vm["aic"] == pytest.approx(-2 * vm["log_likelihood"] + 4)
    assert 0 <= vm["parameters"]["xi"] < 180
    assert (tmp_path / "o" / "rose.png").is_file() and (tmp_path / "o" / "report.html").is_file()

    texture.simulate_microboudins("viscous", 120, random_state=2).to_csv(
        tmp_path / "g.csv", index=False
    )
    res = runner.invoke(
        app,
        [
            *("texture", "microboudin", str(tmp_path / "g.csv"), "--no-loo"),
            *("--strength-scale", "50", "--json", "--out", str(tmp_path / "m")),
        ],
    )
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout)
    lo, hi = summary["stress_ratio_interval"]
    assert lo < summary["stress_ratio"] < hi
    assert summary["sigma0"] == pytest.approx(50 * summary["stress_ratio"])
    assert (tmp_path / "m" / "models.csv").is_file()
