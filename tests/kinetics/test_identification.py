"""Sparse identification of reaction–transport equations (issue 15)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from petroinfer.errors import InputError, ModelError
from petroinfer.kinetics import Reaction, ReactionNetwork, ReactionTransport, Species
from petroinfer.kinetics.identification import (
    ReactionTransportIdentification,
    field_from_table,
)
from petroinfer.numerics import Grid1D

K, C_EQ, D = 0.5, 0.5, 0.01
TRUE = {
    ("M", "S_sphere[M]"): -K * C_EQ,
    ("M", "S_sphere[M]*c"): K,
    ("c", "S_sphere[M]"): K * C_EQ,
    ("c", "S_sphere[M]*c"): -K,
    ("c", "d2/dx2[c]"): D,
}


def _field(noise: float, seed: int = 0, n_x: int = 128, n_t: int = 161):
    """Dissolution towards saturation + diffusion: dM/dt = -k S(M)(c_eq - c), dc/dt = D c_xx + k S(M)(c_eq - c)."""
    net = ReactionNetwork(
        (Species("M", "solid"), Species("c", "aqueous")),
        (Reaction("diss", {"M": -1.0, "c": 1.0}, K, "M", "sphere", "affinity", "c", C_EQ),),
    )
    g = Grid1D.uniform(1.0, n_x)
    x = g.centres
    x0 = np.column_stack([0.3 + 0.25 * np.cos(2 * np.pi * x), 0.25 * (1 + np.sin(2 * np.pi * x))])
    da = ReactionTransport(net, g, diffusivity=D).simulate(x0, np.linspace(0, 4, n_t), n_steps=5)
    F = da.values
    scale = F.max(axis=(0, 1)) - F.min(axis=(0, 1))
    rng = np.random.default_rng(seed)
    return da.copy(data=np.maximum(F + noise * scale * rng.standard_normal(F.shape), 0.0))


@pytest.mark.parametrize("noise", [0.01, 0.03, 0.05])
def test_correct_terms_and_coefficients_within_ten_percent(noise):
    res = ReactionTransportIdentification(["M"], ["c"]).fit(_field(noise))
    terms = res.terms()
    found = {(r.target, r.term): r.coefficient for r in terms.itertuples()}
    assert set(found) == set(TRUE), sorted(found)
    for key, value in TRUE.items():
        assert found[key] == pytest.approx(value, rel=0.10), (key, found[key])
    # the evidence path is recorded and increases while terms are removed
    path = res.criterion["log_evidence"].sel(target="M").values
    path = path[np.isfinite(path)]
    assert path.size >= 2 and np.all(np.diff(path) > 0)
    assert res.diagnostics["stoichiometric_ratios"]["c"]["rate[M]"] == pytest.approx(-1.0, rel=0.1)


def test_intervals_cover_the_mineral_coefficients():
    res = ReactionTransportIdentification(["M"], ["c"]).fit(_field(0.03, seed=1))
    est = res.estimate
    for term in ("S_sphere[M]", "S_sphere[M]*c"):
        lo = float(est["q05"].sel(target="M", term=term))
        hi = float(est["q95"].sel(target="M", term=term))
        assert lo < TRUE[("M", term)] < hi


def test_steady_snapshot_identifies_ratios_to_D():
    """0 = c_xx + (k/D) S(φ)(c_eq - c) on a field built to satisfy it exactly."""
    x = np.linspace(0.0, 1.0, 201)
    c = C_EQ - 0.3 + 0.1 * np.sin(np.pi * x)
    cxx = -0.1 * np.pi**2 * np.sin(np.pi * x)
    ratio = 20.0  # k / D
    S = cxx / (ratio * (c - C_EQ))
    phi = S**1.5  # sphere law S = φ^(2/3)
    table = pd.DataFrame({"x": x, "M": phi, "c": c})
    res = ReactionTransportIdentification(["M"], ["c"], laws=["sphere", "volume"]).fit(table)
    assert res.diagnostics["mode"] == "steady"
    found = {r.term: r.coefficient for r in res.terms().itertuples()}
    assert set(found) == {"S_sphere[M]", "S_sphere[M]*c"}
    assert found["S_sphere[M]"] == pytest.approx(ratio * C_EQ, rel=0.02)
    assert found["S_sphere[M]*c"] == pytest.approx(-ratio, rel=0.02)


def test_field_table_round_trip_and_bad_input():
    da = _field(0.0, n_x=32, n_t=25)
    df = da.to_dataset(dim="species").to_dataframe().reset_index()
    back = field_from_table(df, ["M", "c"])
    np.testing.assert_allclose(back.values, da.values)
    ident = ReactionTransportIdentification(["M"], ["c"])
    uneven = df[df["x"] != df["x"].unique()[3]]
    with pytest.raises(InputError, match="non-uniform x"):
        ident.fit(uneven)
    neg = df.copy()
    neg.loc[7, "M"] = -0.1
    with pytest.raises(InputError, match="negative mineral mode"):
        ident.fit(neg)
    over = df.copy()
    over.loc[7, "M"] = 1.5
    with pytest.raises(InputError, match="sum to more than 1"):
        ident.fit(over)
    with pytest.raises(InputError, match="lacks"):
        ident.fit(df.drop(columns="c"))
    bad = df.astype({"c": object})
    bad.loc[3, "c"] = "n/a"
    with pytest.raises(InputError, match="non-numeric"):
        ident.fit(bad)
    with pytest.raises(InputError, match="full grid"):
        ident.fit(df.drop(index=5))
    with pytest.raises(ModelError, match="surface law"):
        ReactionTransportIdentification(["M"], ["c"], laws=["cube"]).fit(df)
