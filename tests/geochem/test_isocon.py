"""Classic and sparse isocon on synthetic alteration with a minority of immobile elements."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from typer.testing import CliRunner

from petroinfer.cli.main import app
from petroinfer.errors import DataQualityWarning, InputError
from petroinfer.geochem import SparseIsocon, classic_isocon
from petroinfer.geochem.synthetic import make_alteration


@pytest.fixture(scope="module")
def truth():
    # 10 altered samples, 15 elements, 4 immobile (TiO2, Al2O3, Zr, Nb), mass change -30..+40 %,
    # mobile elements changed by 25-150 %, 2 % analytical noise on every altered analysis. The protolith
    # is the mean of 4 analyses (1 % noise): with a single 2 % protolith analysis its error is shared by
    # every sample and alone gives ~1 % SD on all mass ratios at once (see docs/methods/isocon.md).
    return make_alteration(10, noise=0.02, protolith_noise=0.01, random_state=0)


@pytest.fixture(scope="module")
def sparse(truth):
    return SparseIsocon(n_bootstrap=200, random_state=0).fit(
        truth.data, "P0", id_column="sample_id"
    )


def test_sparse_recovers_minority_immobile_set(truth, sparse):
    assert len(truth.immobile) == 4 and truth.data.shape[1] - 1 == 15
    assert sorted(sparse.immobile) == sorted(truth.immobile)


def test_mass_ratio_within_3pct_and_inside_interval(truth, sparse):
    mt = sparse.mass_table()
    rel = (mt["mass_ratio"] / truth.mass_ratio - 1).abs()
    assert rel.max() < 0.03
    assert (
        (mt["mass_ratio_lower"] <= truth.mass_ratio) & (truth.mass_ratio <= mt["mass_ratio_upper"])
    ).all()
    # element changes: mobile changes recovered to within the noise
    ch = sparse.change_table()
    mobile = [c for c in ch.columns if c not in truth.immobile]
    err = np.abs(np.log1p(ch[mobile]) - np.log1p(truth.change[mobile]))
    assert float(err.to_numpy().max()) < 0.12


def test_classic_agrees_with_sparse(truth, sparse):
    c = classic_isocon(
        truth.data, "P0", ["Ti", "Al", "Zr", "Nb"], id_column="sample_id", random_state=0
    )
    assert sorted(c.immobile) == sorted(truth.immobile)
    np.testing.assert_allclose(
        c.mass_table()["mass_ratio"], sparse.mass_table()["mass_ratio"], rtol=1e-3
    )
    assert (c.mass_table()["mass_ratio"] / truth.mass_ratio - 1).abs().max() < 0.03


def test_median_fails_gracefully_with_minority_immobile(truth):
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        res = SparseIsocon(method="median", n_bootstrap=0).fit(
            truth.data, "P0", id_column="sample_id"
        )
    assert any(issubclass(w.category, DataQualityWarning) for w in rec)
    assert sorted(res.immobile) != sorted(truth.immobile)


def test_single_protolith_analysis_still_selects_set():
    tr = make_alteration(10, noise=0.02, random_state=4)
    res = SparseIsocon(n_bootstrap=0).fit(tr.data, "P0", id_column="sample_id")
    assert sorted(res.immobile) == sorted(tr.immobile)
    assert (res.mass_table()["mass_ratio"] / tr.mass_ratio - 1).abs().max() < 0.05


def test_bad_input(truth):
    with pytest.raises(InputError, match="protolith sample id not found") as e:
        SparseIsocon(n_bootstrap=0).fit(truth.data, "NOPE", id_column="sample_id")
    assert "NOPE" in str(e.value)
    bad = truth.data.copy()
    bad.loc[3, "Zr"] = 0.0
    with pytest.raises(InputError, match="zero") as e:
        SparseIsocon(n_bootstrap=0).fit(bad, "P0", id_column="sample_id")
    assert "Zr" in str(e.value) and "A03" in str(e.value)
    bad.loc[3, "Zr"] = -5.0
    with pytest.raises(InputError, match="negative"):
        classic_isocon(bad, "P0", ["Zr"], id_column="sample_id")
    with pytest.raises(InputError, match="matches 0 columns"):
        classic_isocon(truth.data, "P0", ["Xx"], id_column="sample_id")


def test_given_uncertainty_and_single_sample():
    tr = make_alteration(10, noise=0.02, protolith_noise=0.01, random_state=2)
    res = SparseIsocon(uncertainty=0.02, n_bootstrap=0).fit(tr.data, "P0", id_column="sample_id")
    assert sorted(res.immobile) == sorted(tr.immobile)
    assert res.hyperparameters["uncertainty"] == 0.02
    # one altered sample: the classic isocon still works and the diagram can be drawn
    one = tr.data.iloc[:2]
    c = classic_isocon(one, "P0", tr.immobile, id_column="sample_id", n_bootstrap=0)
    assert abs(float(c.mass_table()["mass_ratio"].iloc[0]) / tr.mass_ratio.iloc[0] - 1) < 0.05
    ax = c.plot()
    assert ax.get_xscale() == "log"


# --------------------------------------------------------------------------- CLI
runner = CliRunner()


def test_isocon_cli(tmp_path):
    alt = make_alteration(8, protolith_noise=0.01, random_state=1)
    f = tmp_path / "alt.csv"
    alt.data.to_csv(f, index=False)
    out = tmp_path / "out"
    r = runner.invoke(
        app,
        [
            "geochem",
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
    r = runner.invoke(app, ["geochem", "isocon", str(f), "--protolith", "NOPE"])
    assert r.exit_code == 2 and "NOPE" in r.output


# --------------------------------------------------------------------------- Sherman–Morrison
def test_mahalanobis_update_matches_direct_solve():
    """The closed-form χ² distance of an element's residual row equals d^T C^{-1} d solved directly.

    C = (τ²/2)(I + 11ᵀ): n altered analyses with variance τ²/2 each and one protolith analysis
    (variance τ²/2) shared by all n log-ratios of the element.
    """
    from petroinfer.geochem.isocon import _mahalanobis

    rng = np.random.default_rng(11)
    for n in (1, 2, 5, 12):
        p = 7
        d = rng.normal(scale=0.05, size=(n, p))
        tau = rng.uniform(0.01, 0.1, size=p)
        fast = _mahalanobis(d) / tau**2
        direct = np.empty(p)
        for i in range(p):
            C = 0.5 * tau[i] ** 2 * (np.eye(n) + np.ones((n, n)))
            direct[i] = d[:, i] @ np.linalg.solve(C, d[:, i])
        np.testing.assert_allclose(fast, direct, rtol=1e-10)


def test_mahalanobis_is_chi2_n_under_shared_protolith_noise():
    """Simulated immobile elements (independent altered noise + one shared protolith error): the
    distance about the true isocon has mean n and variance 2n (χ²_n)."""
    from petroinfer.geochem.isocon import _mahalanobis

    rng = np.random.default_rng(5)
    n, reps, tau = 6, 40_000, 0.03
    half = tau / np.sqrt(2.0)
    d = rng.normal(scale=half, size=(n, reps)) - rng.normal(scale=half, size=(1, reps))
    u2 = _mahalanobis(d) / tau**2
    assert abs(u2.mean() - n) < 4 * np.sqrt(2 * n / reps)
    assert abs(u2.var() / (2 * n) - 1) < 0.05


def test_sparse_isocon_parameters_validated_once_in_fit(truth):
    from petroinfer.errors import ModelError

    iso = SparseIsocon(alpha=0.7, n_bootstrap=0)
    assert repr(iso) == "SparseIsocon(alpha=0.7, n_bootstrap=0)"
    with pytest.raises(ModelError, match=r"SparseIsocon: parameter 'alpha' must be .*got 0.7"):
        iso.fit(truth.data, "P0", id_column="sample_id")
    with pytest.raises(ModelError, match=r"parameter 'method' must be one of"):
        SparseIsocon(method="lasso").fit(truth.data, "P0", id_column="sample_id")
    with pytest.raises(ModelError, match=r"parameter 'n_bootstrap'"):
        SparseIsocon(n_bootstrap=-1).fit(truth.data, "P0", id_column="sample_id")
    with pytest.raises(ModelError, match=r"unknown parameter 'tau'"):
        iso.set_params(tau=1.0)
    params = iso.set_params(alpha=1e-3).get_params()
    assert params == {
        "method": "group",
        "uncertainty": None,
        "alpha": 1e-3,
        "n_bootstrap": 0,
        "random_state": None,
    }
    res = iso.fit(truth.data, "P0", id_column="sample_id")
    assert res.metadata["parameters"]["alpha"] == 1e-3
    assert res.metadata["chi2_threshold"] == pytest.approx(res.hyperparameters["chi2_threshold"])
    assert res.metadata["input_hash"]
    units = {k: v.attrs.get("units") for k, v in res.estimate.data_vars.items()}
    assert all(units.values()), units
    assert units["mass_ratio"] == "1" and units["relative_change"] == "1"
