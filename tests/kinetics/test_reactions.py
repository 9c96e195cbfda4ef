"""Reaction networks: analytic surface-law limits, mass balance, extent limiting, spec round trip."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from petroinfer.errors import InputError, ModelError
from petroinfer.kinetics import (
    SURFACE_LAWS,
    ReactionNetwork,
    dissolution_precipitation,
    load_network,
    simulate_observations,
)


def _dissolution_only(law: str, k: float = 0.1) -> ReactionNetwork:
    spec = dissolution_precipitation(surface=law).to_dict()
    spec["reactions"] = spec["reactions"][:1]
    spec["reactions"][0]["rate_constant"] = k
    return ReactionNetwork.from_dict(spec)


@pytest.mark.parametrize(
    ("law", "exact"),
    [
        # dV/dt = -k V^p, V(0) = 1
        ("sphere", lambda t, k: np.maximum(1 - k * t / 3, 0) ** 3),
        ("cylinder", lambda t, k: np.maximum(1 - k * t / 2, 0) ** 2),
        ("plate", lambda t, k: np.maximum(1 - k * t, 0)),
        ("volume", lambda t, k: np.exp(-k * t)),
    ],
)
def test_surface_laws_match_analytic_dissolution(law, exact):
    k = 0.1
    net = _dissolution_only(law, k)
    t = np.linspace(0, 24, 13)  # plate and cylinder grains are used up at t = 10 and 20
    df = net.simulate(t)
    np.testing.assert_allclose(df["A"], exact(t, k), rtol=1e-5, atol=1e-5)
    # the dissolved volume appears as B
    np.testing.assert_allclose(df["A"] + df["B"], 1.0, atol=1e-6)


def test_stoichiometry_rate_terms_and_drift():
    net = dissolution_precipitation(k_dissolution=0.05, k_precipitation=0.2, c_eq=0.1)
    x = np.array([0.729, 0.3, 0.125])
    phi = net.rate_terms(x)
    np.testing.assert_allclose(phi, [0.729 ** (2 / 3), 0.125 ** (2 / 3) * 0.2])
    d = net.drift(x)
    np.testing.assert_allclose(d, [-0.05 * 0.81, 0.05 * 0.81 - 0.2 * 0.25 * 0.2, 0.2 * 0.25 * 0.2])
    assert d.sum() == pytest.approx(0.0, abs=1e-15)
    lib = net.candidate_library()
    assert len(lib.reactions) == 8 and lib.reaction_names[1] == "dissolution[cylinder]"


def test_extent_limited_steps_conserve_mass_and_positivity():
    net = dissolution_precipitation(surface="plate", k_dissolution=5.0)
    x = np.array([[0.01, 0.2, 0.5]])
    for step in (net.euler_step, net.heun_step):
        xn = step(x, net.rate_constants, 1.0)
        assert np.all(xn >= 0)
        assert xn.sum() == pytest.approx(x.sum(), rel=1e-12)
        assert xn[0, 0] == 0.0


def test_generator_truth_and_noise():
    obs, truth = simulate_observations(n_obs=120, noise=0.03, random_state=4)
    obs2, _ = simulate_observations(n_obs=120, noise=0.03, random_state=4)
    assert obs.equals(obs2)
    assert np.all(np.diff(obs["time"]) > 0) and obs["time"].iloc[-1] == pytest.approx(60.0)
    resid = (obs["B"] - truth["B"]).to_numpy()
    sd = truth.attrs["noise_sd"]["B"]
    assert sd == pytest.approx(0.03 * truth["B"].max())
    assert 0.8 * sd < resid.std() < 1.2 * sd
    # mass balance holds for the stochastic truth up to the (small) system noise
    total = truth[["A", "B", "C"]].sum(axis=1)
    assert np.all(np.abs(total - 1.05) < 0.05)


@settings(max_examples=25, deadline=None)
@given(
    k1=st.floats(1e-3, 1.0),
    k2=st.floats(1e-3, 5.0),
    law=st.sampled_from(sorted(SURFACE_LAWS)),
    ceq=st.floats(0.0, 0.5),
)
def test_spec_round_trip_and_mass_conservation(k1, k2, law, ceq):
    net = dissolution_precipitation(k1, k2, surface=law, c_eq=ceq)
    again = load_network(net.to_dict())
    assert again.to_dict() == net.to_dict()
    x = np.abs(np.random.default_rng(0).normal(size=(7, 3)))
    assert np.allclose(net.drift(x).sum(axis=1), 0.0, atol=1e-12)
    xn = net.heun_step(x, net.rate_constants, 0.5)
    assert np.all(xn >= 0) and np.allclose(xn.sum(axis=1), x.sum(axis=1))


def test_yaml_network(tmp_path):
    import yaml

    path = tmp_path / "net.yaml"
    path.write_text(yaml.safe_dump({"network": dissolution_precipitation().to_dict()}))
    assert load_network(path).species_names == ("A", "B", "C")


def test_bad_network_specs():
    spec = dissolution_precipitation().to_dict()
    bad = {**spec, "reactions": [{**spec["reactions"][0], "surface_law": "cube"}]}
    with pytest.raises(ModelError, match="surface_law"):
        ReactionNetwork.from_dict(bad)
    bad = {**spec, "reactions": [{**spec["reactions"][0], "surface": "B"}]}
    with pytest.raises(ModelError, match="must be a solid"):
        ReactionNetwork.from_dict(bad)
    bad = {**spec, "reactions": [{**spec["reactions"][0], "stoichiometry": {"Z": 1}}]}
    with pytest.raises(ModelError, match="unknown species"):
        ReactionNetwork.from_dict(bad)
    with pytest.raises(ModelError, match="species"):
        ReactionNetwork.from_dict({"reactions": []})
    with pytest.raises(InputError, match="dissolution-precipitation"):
        load_network("no-such-network")
    with pytest.raises(InputError, match="unknown species"):
        simulate_observations(observed=("Q",))


def _two_sinks(k1: float = 3.0, k2: float = 7.0) -> ReactionNetwork:
    """Solid A consumed by two reactions at once (A → B, A → 2 C), plate law (zero order)."""
    from petroinfer.kinetics import Reaction, Species

    return ReactionNetwork(
        (Species("A", "solid"), Species("B", "solid"), Species("C", "aqueous")),
        (
            Reaction("to_B", {"A": -1.0, "B": 1.0}, k1, "A", "plate", "zero"),
            Reaction("to_C", {"A": -1.0, "C": 2.0}, k2, "A", "plate", "zero"),
        ),
    )


def test_limit_extents_shares_a_solid_between_two_reactions():
    """Two reactions draining one solid: the joint limit conserves A + B + C/2 to round-off.

    Hand calculation: x = (0.1, 0.2, 0.3), dt = 1, k = (3, 7) → demands 3 and 7 on A (total 10),
    so both extents scale by 0.1/10 = 0.01: ξ = (0.03, 0.07), x' = (0, 0.23, 0.44). The old
    per-reaction limit scaled each extent to 0.1 on its own, drained 0.2 of A, clipped A at 0 and
    created 0.1 of mass.
    """
    net = _two_sinks()
    w = np.array([1.0, 1.0, 0.5])  # wᵀN = 0
    np.testing.assert_allclose(w @ net.stoichiometry_matrix(), 0.0)
    x = np.array([0.1, 0.2, 0.3])
    xi = net.limit_extents(x, np.array([3.0, 7.0]))
    np.testing.assert_allclose(xi, [0.03, 0.07], rtol=1e-14)
    xn = net.euler_step(x, net.rate_constants, 1.0)
    np.testing.assert_allclose(xn, [0.0, 0.23, 0.44], atol=1e-15)
    # many states and step sizes (batched): drift of wᵀx at round-off, never negative
    rng = np.random.default_rng(3)
    X = rng.uniform(0.0, 0.3, size=(500, 3))
    for dt in (0.01, 0.1, 1.0, 10.0):
        for step in (net.euler_step, net.heun_step):
            Xn = step(X, net.rate_constants, dt)
            assert Xn.min() >= 0.0
            assert np.max(np.abs(Xn @ w - X @ w)) < 5e-16
