"""The Gibbs method with a free H2O fluid (pure phase, ds62 CORK): variance, Clausius–Clapeyron,
closed-system equilibria to Newton tolerance, and saturated vs water-limited hydration."""

from dataclasses import replace

import numpy as np
import pytest

from petroinfer.errors import ModelError
from petroinfer.thermo import (
    GibbsState,
    GibbsSystem,
    Phase,
    equilibrium_temperature,
    integrate,
    metapelite_system,
    reaction_properties,
    with_fluid,
)

DRY = metapelite_system("grt-bt-ms-pl-ky-qtz")
RX = {"mu": -1, "q": -1, "san": 1, "ky": 1, "H2O": 1}
X0 = {"grt": np.array([0.8, 0.1, 0.1]), "bt": np.array([0.6, 0.4]), "pl": np.array([0.7, 0.3])}


@pytest.fixture(scope="module")
def univariant_state():
    """Grt–Bt–Ms–Pl–Ky–Qtz equilibrium carried (open system, re-projected) to mu + q = san + ky + H2O."""
    st = DRY.reproject(GibbsState(773.15, 5000.0, X0), ["T", "P", "pl:an"])
    t_eq = float(equilibrium_temperature(RX, 5000.0))
    n = 11
    path = {"T": np.linspace(st.T, t_eq, n), "P": np.full(n, 5000.0),
            "pl:an": np.full(n, st.x["pl"][1])}  # fmt: skip
    return integrate(DRY, st, path, reproject=True).states[-1]


def test_variance_bookkeeping():
    # micas fix K : H = 1 : 2 -> H2O is a new component, F unchanged, no new reaction (spectator)
    for name in ("grt-bt-pl-ms-qtz", "grt-bt-ms-pl-ky-qtz"):
        dry = metapelite_system(name)
        wet = with_fluid(dry)
        assert wet.n_components == dry.n_components + 1
        assert wet.variance == dry.variance == dry.n_components - len(dry.phases) + 2
        assert wet.n_reactions == dry.n_reactions
        assert with_fluid(dry.with_mode("closed")).variance == 2  # Duhem
    # with K-feldspar, H2O is already a component: the fluid removes one degree of freedom
    ksp = GibbsSystem([*DRY.phases, Phase("ksp", "san")])
    wet = with_fluid(ksp)
    assert wet.n_components == ksp.n_components
    assert (wet.variance, wet.n_reactions) == (ksp.variance - 1, ksp.n_reactions + 1)
    assert wet.variance == wet.n_components - len(wet.phases) + 2
    with pytest.raises(ModelError, match="already has a phase"):
        with_fluid(wet)


def test_gibbs_step_follows_clausius_clapeyron(univariant_state):
    st = univariant_state
    wet = with_fluid(GibbsSystem([*DRY.phases, Phase("ksp", "san")]))
    assert np.abs(wet.reaction_rows(st)[1]).max() < 1e-6  # J: all four equilibria hold
    d = wet.solve_step(st, {"P": 100.0, "pl:an": 0.0})
    rp = reaction_properties(RX, st.T, st.P)
    assert d["T"] == pytest.approx(100.0 * float(rp["dV"] / rp["dS"]), rel=1e-10)
    # and against finite differences of the computed curve
    h = 1.0
    fd = (equilibrium_temperature(RX, st.P + h) - equilibrium_temperature(RX, st.P - h)) / (2 * h)
    assert d["T"] / 100.0 == pytest.approx(float(fd), rel=1e-6)


def test_closed_saturated_buffer_and_hydration(univariant_state):
    """Closed, fluid-saturated, at the univariant mu + q = san + ky + H2O: consuming fluid at fixed P
    (retrograde hydration) runs the reaction backwards at constant T; T and P cannot both be
    prescribed (singular)."""
    wet = with_fluid(GibbsSystem([*DRY.phases, Phase("ksp", "san")]), "fluid").with_mode("closed")
    moles = {"grt": 0.2, "bt": 1.0, "ms": 1.0, "pl": 0.5, "ky": 1.0, "q": 5.0, "ksp": 1.0,
             "fluid": 0.5}  # fmt: skip
    st = wet.with_bulk(replace(univariant_state, moles=moles))
    with pytest.raises(ModelError, match="singular"):
        wet.solve_step(st, {"T": -1.0, "P": 0.0})
    d = wet.solve_step(st, {"P": 0.0, "n_fluid": -0.01})
    assert abs(d["T"]) < 1e-9
    for ph, nu in (("ms", 1), ("q", 1), ("ksp", -1), ("ky", -1)):
        assert d[f"n_{ph}"] == pytest.approx(0.01 * nu, abs=1e-12)
    for v in ("grt:py", "grt:gr", "bt:phl", "pl:an", "n_grt", "n_bt", "n_pl"):
        assert abs(d[v]) < 1e-12
    # integrate 10 such steps with Newton re-projection: every equilibrium and the bulk hold
    n = 11
    path = {"P": np.full(n, st.P), "n_fluid": np.linspace(0.5, 0.1, n)}
    gp = integrate(wet, st, path, monitors=[], reproject=True)
    for s in gp.states:
        assert np.abs(wet.reaction_rows(s)[1]).max() < 1e-6
        assert np.abs(wet.mass_balance_rows(s)[1]).max() < 1e-12
    assert gp.table["n_ms"].iloc[-1] == pytest.approx(1.4, abs=1e-9)
    assert np.ptp(gp.table["T_K"]) < 1e-9


def test_saturated_vs_water_limited_hydration():
    """Grt–Bt–Ms–Pl–Ky–Qtz: water-limited (no fluid, H2O + relict Kfs source) vs H2O-saturated."""
    st = DRY.reproject(GibbsState(773.15, 5000.0, X0), ["T", "P", "pl:an"])
    moles = {"grt": 0.2, "bt": 1.0, "ms": 1.0, "pl": 0.5, "ky": 1.0, "q": 5.0}
    src_limited = {"san": 0.01, "H2O": 0.01}
    n = 6
    path = {"T": np.linspace(st.T, st.T - 25.0, n), "P": np.full(n, 5000.0)}
    closed = DRY.with_mode("closed")
    lim = integrate(closed, closed.with_bulk(replace(st, moles=moles)), path,
                    source=src_limited, monitors=[], reproject=True)  # fmt: skip
    wet = with_fluid(closed)
    sat0 = wet.with_bulk(replace(st, moles={**moles, "fluid": 0.1}))
    # saturated: added water goes to the fluid, the solids do not react to it
    d = wet.solve_step(sat0, {"T": 0.0, "P": 0.0}, source=wet.asm.to_components({"H2O": 0.01}))
    assert d["n_fluid"] == pytest.approx(0.01, abs=1e-12)
    assert max(abs(v) for k, v in d.items() if k != "n_fluid") < 1e-12
    sat = integrate(wet, sat0, path, source={"H2O": 0.01}, monitors=[], reproject=True)
    for s in sat.states:
        assert np.abs(wet.reaction_rows(s)[1]).max() < 1e-6
        assert np.abs(wet.mass_balance_rows(s)[1]).max() < 1e-12
    np.testing.assert_allclose(sat.table["n_fluid"], 0.1 + 0.01 * np.arange(n), atol=1e-10)
    # the solids' path is the same closed-system cooling path with or without a spectator fluid
    sat_dry = integrate(wet, sat0, path, monitors=[], reproject=True)
    dry_only = integrate(closed, closed.with_bulk(replace(st, moles=moles)), path, monitors=[],
                         reproject=True)  # fmt: skip
    # water-limited: the same supply is consumed by muscovite growth (1 mol Ms per mol H2O + Kfs)
    extra = lim.table["n_ms"].to_numpy() - dry_only.table["n_ms"].to_numpy()
    np.testing.assert_allclose(extra, 0.01 * np.arange(n), rtol=0.05)
    np.testing.assert_allclose(sat.table["n_ms"], dry_only.table["n_ms"], atol=1e-9)
    for v in ("grt:py", "grt:gr", "bt:phl", "pl:an", "n_grt", "n_ms"):
        np.testing.assert_allclose(sat_dry.table[v], dry_only.table[v], atol=1e-9)


def test_cli_forward_fluid_saturated(tmp_path):
    import json

    from typer.testing import CliRunner

    from petroinfer.cli.main import app

    spec = tmp_path / "spec.yaml"
    spec.write_text(
        "kind: hydration\nhydration:\n  T_C: 560\n  T_end_C: 540\n  P_kbar: 5\n  steps: 2\n"
        "  water_per_step: 0.01\n  fluid: saturated\n",
        encoding="utf-8",
    )
    res = CliRunner().invoke(
        app, ["gibbs", "forward", str(spec), "--out", str(tmp_path / "o"), "--json"]
    )
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout)
    assert summary["fluid_end_mol"] == pytest.approx(0.12, abs=1e-9)
    bad = tmp_path / "bad.yaml"
    bad.write_text("kind: hydration\nhydration:\n  fluid: wet\n", encoding="utf-8")
    res = CliRunner().invoke(app, ["gibbs", "forward", str(bad), "--out", str(tmp_path / "b")])
    assert res.exit_code == 2 and "fluid must be" in res.output
