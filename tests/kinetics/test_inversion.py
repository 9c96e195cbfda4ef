"""Kinetics inversion acceptance tests (synthetic truth from the generator, fixed seeds)."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from petroinfer.cli.main import app
from petroinfer.errors import InputError, ModelError
from petroinfer.kinetics import (
    SURFACE_LAWS,
    ReactionKineticsEM,
    ReactionKineticsInversion,
    SparseReactionSelection,
    dissolution_precipitation,
    simulate_observations,
)

K_TRUE = {"dissolution": 0.05, "precipitation": 0.2}


@pytest.fixture(scope="module")
def sphere_fit():
    obs, truth = simulate_observations(n_obs=100, noise=0.03, random_state=5)
    inv = ReactionKineticsInversion(
        surface="sphere",
        n_draws=200,
        n_tune=60,
        n_chains=4,
        n_evidence=32,
        n_trajectories=48,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return inv.fit(obs), obs, truth


def test_rate_constants_recovered_within_10_percent_and_90_interval(sphere_fit):
    res, _, _ = sphere_fit
    rc = res.rate_constants
    for name, k in K_TRUE.items():
        assert abs(rc.loc[name, "mean"] / k - 1) < 0.10
        assert rc.loc[name, "q05"] < k < rc.loc[name, "q95"], (name, rc.loc[name].to_dict())
    assert res.posterior.sizes == {"chain": 4, "draw": 200}
    assert res.diagnostics["max_r_hat"] < 1.1
    assert 0.05 < res.diagnostics["acceptance_rate"] < 0.7


def test_particle_loglik_sd_below_one_at_posterior_mean(sphere_fit):
    res, _, _ = sphere_fit
    assert res.diagnostics["loglik_sd_posterior_mean"] < 1.0
    assert res.diagnostics["n_particles"] >= 32


def test_hidden_solids_tracked_from_aqueous_data_only(sphere_fit):
    res, _, truth = sphere_fit
    hs = res.estimate
    grid = hs["time"].values
    for sp in ("A", "C"):
        med = np.interp(truth["time"], grid, hs["hidden_median"].sel(species=sp).values)
        lo = np.interp(truth["time"], grid, hs["hidden_q05"].sel(species=sp).values)
        hi = np.interp(truth["time"], grid, hs["hidden_q95"].sel(species=sp).values)
        assert np.max(np.abs(med - truth[sp])) < 0.05
        inside = np.mean((truth[sp] >= lo - 0.01) & (truth[sp] <= hi + 0.01))
        assert inside > 0.8
    ax = res.plot()
    assert len(ax) == 3


@pytest.mark.slow
def test_true_surface_law_selected_in_9_of_10_replicates():
    laws = ["sphere", "cylinder", "plate", "volume", "sphere"] * 2
    correct = 0
    for i, law in enumerate(laws):
        obs, _ = simulate_observations(
            dissolution_precipitation(surface=law), n_obs=100, noise=0.05, random_state=200 + i
        )
        inv = ReactionKineticsInversion(
            surface="auto", n_evidence=48, n_particles=32, random_state=i
        )
        table = inv.compare_surface_laws(obs)
        assert set(table.index) == set(SURFACE_LAWS)
        assert {"log_evidence_se", "aic", "bic"} <= set(table.columns)
        assert (table["log_evidence_se"] < 1.0).all()
        correct += table.index[0] == law
    assert correct >= 9


def test_rate_law_form_selected_by_evidence():
    obs, _ = simulate_observations(n_obs=100, noise=0.03, random_state=21)
    spec = dissolution_precipitation().to_dict()
    first = {
        **spec,
        "reactions": [spec["reactions"][0], {**spec["reactions"][1], "rate_form": "first-order"}],
    }
    inv = ReactionKineticsInversion(
        surface={"affinity": spec, "first-order": first},
        n_evidence=32,
        n_particles=32,
        random_state=0,
    )
    table = inv.compare_surface_laws(obs)
    assert table.index[0] == "affinity"
    assert table["log_evidence"].iloc[0] - table["log_evidence"].iloc[1] > 3


def test_sparse_selection_recovers_exact_terms_from_8_candidates():
    obs, _ = simulate_observations(n_obs=150, noise=0.02, random_state=5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = SparseReactionSelection(
            n_lambdas=8, n_particles=200, n_trajectories=30, random_state=0
        ).fit(obs)
    assert res.estimate.sizes["term"] == 8
    assert sorted(res.hyperparameters["selected_terms"]) == [
        "dissolution[sphere]",
        "precipitation[sphere]",
    ]
    k = dict(zip(res.estimate["term"].values, res.estimate["rate_constant"].values, strict=True))
    assert abs(k["dissolution[sphere]"] / 0.05 - 1) < 0.1
    assert abs(k["precipitation[sphere]"] / 0.2 - 1) < 0.1
    path = res.criterion.to_dataframe()
    assert len(path) == 8 and "bic" in path and path["n_terms"].max() >= 3
    # bracketed term names survive verbatim into every output
    assert "k[dissolution[sphere]]" in path.columns
    assert "dissolution[sphere]+precipitation[sphere]" in res.diagnostics["support_bic"]
    bic = res.diagnostics["support_bic"]
    assert min(bic, key=bic.get) == "dissolution[sphere]+precipitation[sphere]"


@pytest.mark.slow
@pytest.mark.parametrize("seed", [6, 7, 8, 9])
def test_sparse_selection_robust_over_data_seeds(seed):
    """Issue 12 item 2: before the stepwise BIC search the selection returned cylinder/plate
    (seeds 6, 8), volume/volume (7) or three terms (9) on these data sets."""
    obs, _ = simulate_observations(n_obs=150, noise=0.02, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = SparseReactionSelection(
            n_lambdas=8, n_particles=200, n_trajectories=30, random_state=0
        ).fit(obs)
    assert sorted(res.hyperparameters["selected_terms"]) == [
        "dissolution[sphere]",
        "precipitation[sphere]",
    ]
    k = res.estimate["rate_constant"]
    assert abs(float(k.sel(term="dissolution[sphere]")) / 0.05 - 1) < 0.1
    assert abs(float(k.sel(term="precipitation[sphere]")) / 0.2 - 1) < 0.1


def _scorer(obs, seed=11):
    from petroinfer.kinetics._reaction_sparse import _SupportScorer

    lib = dissolution_precipitation().candidate_library(list(SURFACE_LAWS))
    em = ReactionKineticsEM(lib, ("B",), process_noise=0.3, n_particles=200)
    ssm = em._setup(obs, lib)
    return _SupportScorer(
        ssm, dissolution_precipitation().rate_constants, 4, seed, 200, q_eval=0.02 / ssm.span**0.5
    ), list(lib.reaction_names)


def test_one_law_supports_rank_the_truth_first_with_common_random_numbers():
    """On the data set where the old path + backward elimination returned
    dissolution[cylinder] + precipitation[plate], the exhaustive one-law-per-reaction scoring ranks
    the true sphere pair first, decisively. Single exchanges alone would stop at the cylinder pair
    (a local optimum: changing either law alone fits worse), which is why the supports are
    enumerated. Common random numbers: a support scores the same twice."""
    obs, _ = simulate_observations(n_obs=150, noise=0.02, random_state=5)
    scorer, names = _scorer(obs)
    cands = scorer.one_law_supports(2, 64)
    assert len(cands) == 24 and scorer.one_law_supports(2, 23) == []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for c in cands:
            scorer.score(c, np.repeat([0.05, 0.2], 4))
        again, _ = _scorer(obs)
        old = (names.index("dissolution[cylinder]"), names.index("precipitation[plate]"))
        assert again.score(old, np.repeat([0.05, 0.2], 4))["ll"] == scorer.fitted[old]["ll"]
        bic = {s: v["bic"] for s, v in scorer.fitted.items()}
        ranked = sorted(bic, key=bic.get)
        assert [names[i] for i in ranked[0]] == ["dissolution[sphere]", "precipitation[sphere]"]
        assert bic[ranked[1]] - bic[ranked[0]] > 20
        assert bic[old] - bic[ranked[0]] > 100
        cyl = (names.index("dissolution[cylinder]"), names.index("precipitation[cylinder]"))
        stuck, _ = scorer.stepwise(cyl, len(names))
    assert stuck == cyl  # the local optimum of single moves
    ref = scorer.fitted[ranked[0]]
    assert abs(ref["k"][ranked[0][0]] / 0.05 - 1) < 0.05
    assert abs(ref["k"][ranked[0][1]] / 0.2 - 1) < 0.05


def test_kinetics_estimators_are_inverse_problems():
    from petroinfer._base import InverseProblem

    for cls in (ReactionKineticsInversion, ReactionKineticsEM, SparseReactionSelection):
        est = cls(random_state=3)
        assert isinstance(est, InverseProblem)
        assert repr(est) == f"{cls.__name__}(random_state=3)"
        assert est.get_params()["random_state"] == 3
        assert est.set_params(observed=("B",)) is est
        with pytest.raises(ModelError, match="unknown parameter"):
            est.set_params(n_particle=3)
    obs, _ = simulate_observations(n_obs=30, random_state=0)
    with pytest.raises(ModelError, match=r"SparseReactionSelection: parameter 'n_lambdas'"):
        SparseReactionSelection(n_lambdas=0).fit(obs)
    with pytest.raises(ModelError, match=r"ReactionKineticsEM: parameter 'n_particles'"):
        ReactionKineticsEM(n_particles=1).fit(obs)
    with pytest.raises(ModelError, match=r"ReactionKineticsInversion: parameter 'n_chains'"):
        ReactionKineticsInversion(n_chains=0).compare_surface_laws(obs)
    with pytest.raises(ModelError, match="laws"):
        SparseReactionSelection(laws=("sphere", "cube")).fit(obs)


def _em(k0, obs, **kw):
    em = ReactionKineticsEM(dissolution_precipitation(*k0), random_state=0, **kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return em.fit(obs)


def test_monte_carlo_em_recovers_all_constants_and_agrees_with_pmmh(sphere_fit):
    pm, obs, truth = sphere_fit
    res = _em((0.08, 0.3), obs)  # dissolution 60 % and precipitation 50 % too high at the start
    est = res.estimate
    rc = pm.rate_constants
    assert res.diagnostics["converged"] and res.diagnostics["iterations"] <= 15
    assert res.hyperparameters["m_step"] == "innovations"
    for name, k in K_TRUE.items():
        k_em, sd_em = float(est[f"k_{name}"]), float(est[f"k_{name}_sd"])
        assert abs(k_em / k - 1) < 0.03, (name, k_em)
        assert float(est[f"k_{name}_q05"]) < k < float(est[f"k_{name}_q95"]), name
        # MLE by MCEM and PMMH posterior mean agree within the posterior SD; the Louis standard
        # error matches the posterior SD
        assert abs(k_em - rc.loc[name, "mean"]) < rc.loc[name, "sd"], (name, k_em, rc.loc[name])
        assert 0.6 < sd_em / rc.loc[name, "sd"] < 1.6, (name, sd_em, rc.loc[name, "sd"])
    assert abs(float(est["sigma_B"]) / truth.attrs["noise_sd"]["B"] - 1) < 0.15
    # the innovation parametrisation converges fast: EM rate (largest eigenvalue of the fraction
    # of missing information) well below one
    assert res.diagnostics["em_rate"] < 0.8


def test_monte_carlo_em_from_below_on_a_second_dataset():
    obs, _ = simulate_observations(n_obs=120, noise=0.02, random_state=3)
    res = _em((0.03, 0.1), obs)
    est = res.estimate
    for name, k in K_TRUE.items():
        assert abs(float(est[f"k_{name}"]) / k - 1) < 0.03, name
        assert float(est[f"k_{name}_q05"]) < k < float(est[f"k_{name}_q95"]), name
    assert res.criterion["n_trajectories"].values.max() > 40  # ascent-based growth of M
    assert res.diagnostics["iterations"] <= 20


def test_state_parametrised_em_is_slow_for_the_unobserved_solid():
    """Diagnosis of the old scheme: with the states as complete data the hidden path of A follows
    the current k_dissolution, almost all information on it is missing and EM barely moves it."""
    from petroinfer.kinetics._reaction_em import louis_information, transition_loglik
    from petroinfer.kinetics._reaction_ssm import ReactionSSM

    obs, _ = simulate_observations(n_obs=120, noise=0.02, random_state=3)
    res = _em((0.08, 0.3), obs, m_step="states", max_iter=8, n_particles=150, n_trajectories=20)
    assert res.hyperparameters["m_step"] == "states"
    assert abs(float(res.estimate["k_precipitation"]) / 0.2 - 1) < 0.2  # from +50 %: moves
    assert float(res.estimate["k_dissolution"]) > 0.07  # unobserved side: < 1/3 of the way
    ssm = ReactionSSM(dissolution_precipitation(), obs["time"].values, obs[["B"]].values, ("B",))
    k = np.array([0.05, 0.2])
    X = ssm.smooth(np.log([0.05, 0.2, 0.0093]), 300, 300, np.random.default_rng(0))
    info = louis_information(lambda p: transition_loglik(ssm, X, p), np.log(k))
    assert info["missing_fraction"][0] > 0.8 and info["em_rate"] > 0.8
    with pytest.raises(ModelError, match="m_step"):
        ReactionKineticsEM(m_step="newton").fit(obs)
    with pytest.raises(ModelError, match="penalty"):
        ReactionKineticsEM(m_step="innovations", penalty=1.0).fit(obs)


def _bad(df, **kw):
    inv = ReactionKineticsInversion(surface="sphere", n_draws=5, n_tune=0, **kw)
    return inv.fit(df)


def test_bad_input_errors_name_the_problem():
    obs, _ = simulate_observations(n_obs=30, random_state=0)
    d = obs.copy()
    d.loc[5, "time"] = d.loc[3, "time"]
    with pytest.raises(InputError, match=r"monoton.*row 5"):
        _bad(d)
    d = obs.copy()
    d.loc[5, "time"] = d.loc[4, "time"]
    with pytest.raises(InputError, match=r"duplicated time.*row 5"):
        _bad(d)
    d = obs.copy()
    d.loc[7, "B"] = -0.2
    with pytest.raises(InputError, match=r"negative.*column 'B', row 7, value -0.2"):
        _bad(d)
    with pytest.raises(InputError, match=r"not in the network.*column 'D'"):
        _bad(obs.rename(columns={"B": "D"}), observed=("D",))
    with pytest.raises(InputError, match="too few observations"):
        _bad(obs.head(4))
    with pytest.raises(ModelError, match="surface"):
        ReactionKineticsInversion(surface="cube").fit(obs)
    d = obs.copy()
    d["B"] = d["B"].astype(object)
    d.loc[2, "B"] = "n.d."
    with pytest.raises(InputError, match=r"non-numeric.*row 2"):
        _bad(d)


def test_cli_simulate_then_fit(tmp_path):
    import yaml

    spec = {
        "network": dissolution_precipitation().to_dict(),
        "simulation": {"n_obs": 80, "noise": 0.03, "observed": ["B"]},
    }
    sp = tmp_path / "net.yaml"
    sp.write_text(yaml.safe_dump(spec))
    runner = CliRunner()
    r = runner.invoke(
        app, ["kinetics", "simulate", str(sp), "--out", str(tmp_path / "sim"), "--json"]
    )
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["n_obs"] == 80
    data = tmp_path / "sim" / "observations.csv"
    assert (tmp_path / "sim" / "report.html").is_file()
    r = runner.invoke(
        app,
        [
            "kinetics",
            "fit",
            str(data),
            "--network",
            str(sp),
            "--observed",
            "B",
            "--surface",
            "sphere",
            "--draws",
            "60",
            "--chains",
            "2",
            "--evidence-draws",
            "32",
            "--out",
            str(tmp_path / "fit"),
            "--json",
        ],
    )
    assert r.exit_code == 0, r.output
    summary = json.loads(r.stdout)
    assert summary["surface_law"] == "sphere"
    assert abs(summary["rate_constants"]["precipitation"]["mean"] / 0.2 - 1) < 0.2
    for f in (
        "rate_constants.csv",
        "evidence_table.csv",
        "hidden_states.csv",
        "report.html",
        "hidden_states.png",
        "result.nc",
    ):
        assert (tmp_path / "fit" / f).is_file(), f


def test_cli_bad_input_exit_code_2(tmp_path):
    obs, _ = simulate_observations(n_obs=30, random_state=0)
    obs.loc[4, "B"] = -1.0
    f = tmp_path / "bad.csv"
    obs.to_csv(f, index=False)
    r = CliRunner().invoke(app, ["kinetics", "fit", str(f), "--observed", "B"])
    assert r.exit_code == 2
    # the fifth data row of the file (a file without ids is numbered from 1, as a user counts)
    assert "negative" in r.output and "row 5" in r.output
    r = CliRunner().invoke(app, ["kinetics", "fit", str(f), "--observed", "Z"])
    assert r.exit_code == 2 and "'Z'" in r.output
    pd.DataFrame({"t": [0, 1]}).to_csv(f, index=False)
    r = CliRunner().invoke(app, ["kinetics", "fit", str(f)])
    assert r.exit_code == 2 and "time" in r.output
    r = CliRunner().invoke(app, ["kinetics", "fit", str(tmp_path / "missing.csv")])
    assert r.exit_code == 2
