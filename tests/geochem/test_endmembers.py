"""EndmemberNMF: K chosen from the data, end-members and proportions recovered, bad input."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linear_sum_assignment
from typer.testing import CliRunner

from petroinfer.cli.main import app
from petroinfer.errors import InputError, ModelError
from petroinfer.geochem import EndmemberNMF
from petroinfer.geochem.synthetic import endmember_compositions, make_endmember_mixtures


@pytest.fixture(scope="module")
def truth():
    return make_endmember_mixtures(300, noise=0.02, random_state=0)


@pytest.fixture(scope="module")
def fitted(truth):
    return EndmemberNMF(k_range=range(1, 7), n_restarts=50, n_bootstrap=20, random_state=0).fit(
        truth.data
    )


def _match(est: pd.DataFrame, true: pd.DataFrame, scale: np.ndarray):
    """Cosine similarity (in column-scaled units, so traces count) after Hungarian matching."""
    A = est.to_numpy() / scale
    B = true.to_numpy() / scale
    A /= np.linalg.norm(A, axis=1, keepdims=True)
    B /= np.linalg.norm(B, axis=1, keepdims=True)
    C = B @ A.T
    r, c = linear_sum_assignment(-C)
    return C[r, c], c


def test_endmember_compositions_are_closed():
    em = endmember_compositions()
    factor = np.array([1e-4 if c in ("Rb", "Sr", "Zr", "Ba") else 1.0 for c in em.columns])
    np.testing.assert_allclose((em * factor).sum(axis=1), 100.0, rtol=1e-12)


def test_k4_chosen_and_endmembers_recovered(truth, fitted):
    assert fitted.n_components_ == 4
    sel = fitted.k_selection_
    assert {"reconstruction_error", "stability", "cv_error", "cv_se"} <= set(sel.columns)
    assert list(sel.index) == [1, 2, 3, 4, 5, 6]
    assert sel.loc[4, "stability"] > 0.8 > sel.loc[5, "stability"]
    cos, perm = _match(fitted.endmembers_, truth.endmembers, truth.data.mean().to_numpy())
    assert cos.min() > 0.99
    P = fitted.proportions_.to_numpy()[:, perm]
    rmse = np.sqrt(np.mean((P - truth.proportions.to_numpy()) ** 2))
    assert rmse < 0.03
    # end-members closed to 100 wt% with the ppm traces converted
    factor = np.array(
        [1e-4 if truth.units[c] == "ppm" else 1.0 for c in fitted.endmembers_.columns]
    )
    np.testing.assert_allclose((fitted.endmembers_ * factor).sum(axis=1), 100.0, rtol=1e-9)
    # traces come back in ppm: muscovite Ba ~2200 ppm
    mus = perm[list(truth.endmembers.index).index("muscovite")]
    assert fitted.endmembers_.iloc[mus]["Ba"] == pytest.approx(
        truth.endmembers.loc["muscovite", "Ba"], rel=0.05
    )


def test_bootstrap_interval_brackets_estimate_and_result_has_curves(fitted, tmp_path):
    lo, hi = fitted.endmembers_lower_.to_numpy(), fitted.endmembers_upper_.to_numpy()
    est = fitted.endmembers_.to_numpy()
    assert (lo <= hi).all() and np.isfinite(lo).all()
    # away from the non-negativity boundary (entries >= 5 % of the column maximum) the estimate lies
    # inside its percentile interval; at the boundary, intervals of near-zero entries may exclude it
    big = est >= 0.05 * est.max(axis=0, keepdims=True)
    inside = (lo <= est + 1e-6) & (est <= hi + 1e-6)
    assert inside[big].all()
    assert np.median((hi - lo)[big] / est[big]) < 0.05  # 300 samples: tight intervals
    res = fitted.result_
    assert res.hyperparameters["n_components"] == 4
    assert set(res.criterion.data_vars) >= {"reconstruction_error", "stability", "cv_error"}
    res.to_netcdf(tmp_path / "nmf.nc")
    back = type(res).from_netcdf(tmp_path / "nmf.nc")
    np.testing.assert_allclose(
        back.estimate["endmembers"].values, res.estimate["endmembers"].values
    )


def test_transform_and_frobenius(truth):
    m = EndmemberNMF(n_components=4, loss="frobenius", n_restarts=5, n_bootstrap=0, random_state=1)
    m.fit(truth.data)
    cos, _perm = _match(m.endmembers_, truth.endmembers, truth.data.mean().to_numpy())
    assert cos.min() > 0.99
    P = m.transform(truth.data.iloc[:20]).to_numpy()
    np.testing.assert_allclose(P.sum(axis=1), 1.0, atol=1e-9)
    # transform reproduces the fitted proportions of the training samples
    np.testing.assert_allclose(P, m.proportions_.to_numpy()[:20], atol=0.01)
    # round trip: inverse_transform of the proportions approximates the analyses (input units)
    back = m.inverse_transform(m.proportions_.iloc[:20])
    rel = (back["SiO2"].to_numpy() / truth.data["SiO2"].to_numpy()[:20]) - 1
    assert np.abs(rel).max() < 0.1


def test_bad_input(truth):
    X = truth.data.copy()
    X.iloc[3, 2] = -1.0
    with pytest.raises(InputError, match="negative") as e:
        EndmemberNMF(n_components=2, n_restarts=2, n_bootstrap=0).fit(X)
    assert "Al2O3" in str(e.value) and "S003" in str(e.value)
    # mixed units: Ba declared in wt% although it is ppm
    with pytest.raises(InputError, match="mixed units") as e:
        EndmemberNMF(n_components=2, n_restarts=2, n_bootstrap=0, units={"Ba": "wt%"}).fit(
            truth.data
        )
    assert "Ba" in str(e.value)
    with pytest.raises(InputError, match="fewer samples"):
        EndmemberNMF(n_components=4, n_restarts=2, n_bootstrap=0).fit(truth.data.iloc[:3])
    with pytest.raises(ModelError, match="loss"):
        EndmemberNMF(loss="l1").fit(truth.data)
    X = truth.data.copy()
    X.iloc[0, 0] = np.nan
    with pytest.raises(InputError, match="NaN"):
        EndmemberNMF(n_components=2, n_restarts=2, n_bootstrap=0).fit(X)
    assert np.isnan(X.iloc[0, 0])  # input not modified


def test_spinel_smoke():
    ds = pytest.importorskip("petroinfer.io.datasets")
    try:
        df = ds.load_schoneveld2020_spinel(download=False)
    except InputError as exc:  # pragma: no cover - data folder absent
        pytest.skip(f"spinel data not available: {exc}")
    cols = [c for c in ("MgO", "Al2O3", "TiO2", "Cr2O3", "MnO", "FeO") if c in df.columns]
    assert len(cols) == 6, df.columns
    X = df[cols].dropna()
    m = EndmemberNMF(k_range=range(1, 5), n_restarts=10, n_bootstrap=0, random_state=0).fit(X)
    # chromite–(Ti-)magnetite: at least a Cr-rich and an Fe-rich end-member
    assert 2 <= m.n_components_ <= 4
    assert m.endmembers_["Cr2O3"].max() > 30 and m.endmembers_["FeO"].max() > 70
    np.testing.assert_allclose(m.proportions_.sum(axis=1), 1.0, atol=1e-9)
    assert (m.endmembers_.sum(axis=1) - 100).abs().max() < 1e-6


def test_ueki_majors_and_traces_smoke():
    """wt% majors and ppm traces together (isotope ratios left out) on the Ueki et al. (2018) basalts."""
    ds = pytest.importorskip("petroinfer.io.datasets")
    try:
        df = ds.load_ueki2018_basalts(download=False)
    except InputError as exc:  # pragma: no cover - data folder absent
        pytest.skip(f"Ueki data not available: {exc}")
    from petroinfer.geochem._tables import compositional_columns

    cols = compositional_columns(df.columns)
    assert "Sr87Sr86" not in cols and "La" in cols and "SiO2" in cols and len(cols) == 24
    m = EndmemberNMF(
        k_range=(2, 3), n_restarts=4, cv_folds=3, n_bootstrap=0, max_iter=200, random_state=0
    ).fit(df[cols])
    assert m.n_components_ in (2, 3)
    assert m.units_["La"] == "ppm" and m.units_["SiO2"] == "wt%"
    # traces reported in ppm: the end-members' La must be of the order of the data (ppm), not 1e-4
    assert 0.1 < m.endmembers_["La"].max() < 1000
    np.testing.assert_allclose(m.proportions_.sum(axis=1), 1.0, atol=1e-9)


@settings(max_examples=30, deadline=None)
@given(
    st.lists(st.floats(0.0, 30.0), min_size=3, max_size=3),
    st.lists(st.floats(0.0, 5000.0), min_size=2, max_size=2),
)
def test_unit_conversion_property(majors, traces):
    from petroinfer.geochem._tables import column_units, to_wtpct

    df = pd.DataFrame([majors + traces], columns=["SiO2", "FeOT", "Na2O_pct", "La", "Rb_ppm"])
    units = column_units(list(df.columns))
    assert units == {"SiO2": "wt%", "FeOT": "wt%", "Na2O_pct": "wt%", "La": "ppm", "Rb_ppm": "ppm"}
    wt = to_wtpct(df, units)
    np.testing.assert_allclose(
        wt[["La", "Rb_ppm"]].to_numpy() * 1e4, df[["La", "Rb_ppm"]].to_numpy(), atol=1e-9
    )
    np.testing.assert_allclose(wt[["SiO2", "FeOT", "Na2O_pct"]], df[["SiO2", "FeOT", "Na2O_pct"]])


def test_column_units_read_the_composition_suffix_grammar():
    from petroinfer.geochem._tables import column_units, compositional_columns

    cols = ["SiO2_wtpct", "Na2O_wt%", "La (ppm)", "Au_ppb", "Cr_apfu", "Sr87Sr86"]
    assert compositional_columns(cols) == cols[:4]
    assert column_units(cols[:4]) == {
        "SiO2_wtpct": "wt%", "Na2O_wt%": "wt%", "La (ppm)": "ppm", "Au_ppb": "ppb",
    }  # fmt: skip
    with pytest.raises(InputError, match="cannot tell the unit") as e:
        column_units(["SiO2_mol"])  # a molar unit is not a mass unit: not converted to wt%
    assert e.value.column == "SiO2_mol"


# --------------------------------------------------------------------------- CLI
runner = CliRunner()


def test_endmembers_and_cluster_cli(tmp_path):
    mix = make_endmember_mixtures(60, random_state=0)
    f = tmp_path / "mix.csv"
    mix.data.to_csv(f)
    out = tmp_path / "em"
    r = runner.invoke(
        app,
        [
            "geochem",
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
            "geochem",
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
    r = runner.invoke(app, ["geochem", "endmembers", str(f), "--k", "2"])
    assert r.exit_code == 2 and "TiO2" in r.output and "negative" in r.output
    r = runner.invoke(app, ["geochem", "endmembers", str(f), "--loss", "l1"])
    assert r.exit_code == 2
    assert np.isfinite(mix.data.to_numpy()).all()


def test_sklearn_estimator_checks():
    from sklearn.utils.estimator_checks import check_estimator

    # transform returns a labelled DataFrame (pandas in, pandas out), so dtype preservation of
    # numpy output does not apply
    check_estimator(
        EndmemberNMF(n_components=2, n_restarts=2, n_bootstrap=0, random_state=0),
        expected_failed_checks={
            "check_transformer_preserve_dtypes": "returns a pandas DataFrame of proportions",
            "check_dtype_object": "InputError (ValueError) names the non-numeric cell",
        },
    )


def test_summary_is_one_row_per_endmember(truth, fitted):
    """The summary is compact (K rows, not n × K) and its numbers are the per-sample proportions'
    moments and the restart silhouettes of the K-selection table."""
    res = fitted.result_
    s = res.summary()
    K = fitted.n_components_
    assert s.shape[0] == K and list(s.index) == list(fitted.endmembers_.index)
    P = fitted.proportions_
    np.testing.assert_allclose(s["mean_proportion"], P.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(s["sd_proportion"], P.std(axis=0, ddof=1), rtol=1e-12)
    np.testing.assert_allclose(s["mean_proportion"].sum(), 1.0, rtol=1e-9)
    # the minimum per-end-member silhouette is the K-selection stability at the chosen K
    assert s["stability"].min() == pytest.approx(fitted.k_selection_.loc[K, "stability"], abs=1e-12)
    assert (s["stability"] > 0.8).all()
    assert res.estimate["endmember_stability"].attrs["units"] == "1"
    # composition highlights: the muscovite end-member is the Ba/K2O/Rb carrier of the mixture
    _, perm = _match(fitted.endmembers_, truth.endmembers, truth.data.mean().to_numpy())
    mus = fitted.endmembers_.index[perm[list(truth.endmembers.index).index("muscovite")]]
    top = [part.split(" ×")[0] for part in s.loc[mus, "enriched_in"].split("; ")]
    assert set(top) <= {"Ba", "K2O", "Rb"} and len(top) == 3
    assert (s["composition_ci95_rel"] < 0.05).all()
    # per-sample proportions stay available in the estimate
    assert res.estimate["proportions"].shape == (len(truth.data), K)


def test_max_total_relaxes_the_totals_check_for_unnormalised_analyses():
    """The generator's 2 % noise is unnormalised: sample S064 of this draw totals 105.5 wt%, which the
    default check refuses by name; ``max_total`` accepts it (and the fit then runs)."""
    data = make_endmember_mixtures(120, random_state=1).data
    with pytest.raises(InputError, match=r"S064"):
        EndmemberNMF(n_components=4, n_restarts=2, n_bootstrap=0, random_state=0).fit(data)
    model = EndmemberNMF(
        n_components=4, n_restarts=2, n_bootstrap=0, max_total=110.0, random_state=0
    ).fit(data)
    assert model.endmembers_.shape == (4, data.shape[1])
