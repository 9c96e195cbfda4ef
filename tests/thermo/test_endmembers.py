"""ds62 end-members (HP2011 EoS) against independently computed values.

Reference numbers were computed once with BurnMan 2.1 (``burnman.minerals.HP_2011_ds62``, an independent
implementation of Holland & Powell 2011) in a scratch environment and are recorded here as constants;
BurnMan is not a dependency.
"""

from __future__ import annotations

import numpy as np
import pytest

from petroinfer.errors import InputError, ModelError
from petroinfer.thermo import (
    DS62_ENDMEMBERS,
    al2sio5_lines,
    al2sio5_triple_point,
    ds62_table,
    endmember,
    equilibrium_pressure,
    equilibrium_temperature,
    reaction_properties,
)

# G (J), S (J/K), V (J/bar) at 873.15 K and 5 kbar (BurnMan 2.1, HP_2011_ds62)
REF_873K_5KBAR = {
    "alm": (-5650800.555, 806.66597, 11.656651), "py": (-6603481.462, 714.81189, 11.46897),
    "gr": (-6947215.681, 704.27432, 12.695916), "spss": (-6073994.565, 791.7697, 11.939858),
    "ann": (-5591747.676, 913.02682, 15.671161), "phl": (-6577621.612, 802.22741, 15.215389),
    "east": (-6686702.56, 793.50855, 14.993159), "mu": (-6304798.116, 743.63284, 14.236773),
    "pa": (-6261664.177, 726.67201, 13.431494), "cel": (-6162470.996, 742.38023, 14.155381),
    "ab": (-4157546.33, 495.60223, 10.149265), "an": (-4449850.705, 488.19236, 10.116227),
    "san": (-4193179.554, 508.30327, 10.920151), "q": (-955649.524, 105.192, 2.309915),
    "ky": (-2699451.988, 258.56741, 4.463381), "sill": (-2699797.457, 269.91623, 5.010653),
    "and": (-2699518.151, 267.61315, 5.203103),
}  # fmt: skip
# End-member GASP (3 an = gr + 2 ky + q) equilibrium pressure (bar) in ds62 (BurnMan 2.1)
REF_GASP_P = {500: 10299.63, 600: 12512.17, 700: 14736.11, 800: 16978.8, 900: 19248.57, 1000: 21554.06,
              1100: 23903.84}  # fmt: skip
REF_KYSIL_P = {550: 4593.02, 650: 6673.02, 750: 8771.55}
GASP = {"gr": 1, "ky": 2, "q": 1, "an": -3}
GRTBT = {"py": 1, "ann": 1, "alm": -1, "phl": -1}


@pytest.mark.parametrize("name", DS62_ENDMEMBERS)
def test_endmember_g_s_v_match_independent_values(name):
    G, S, V = REF_873K_5KBAR[name]
    p = endmember(name).properties(873.15, 5000.0)
    assert p["G"] == pytest.approx(G, abs=0.5)
    assert p["S"] == pytest.approx(S, abs=1e-3)
    assert p["V"] == pytest.approx(V, abs=1e-5)


def test_reference_state_and_vectorisation():
    ky = endmember("ky")
    p = ky.properties(298.15, 1.0)
    assert p["H"] == pytest.approx(ky.H0, abs=1e-6)
    assert p["S"] == pytest.approx(ky.S0, abs=1e-9)
    assert p["V"] == pytest.approx(ky.V0, abs=1e-9)
    T = np.linspace(400, 1200, 7)
    P = np.linspace(1, 20000, 7)
    vec = ky.gibbs(T, P)
    one = np.array([ky.gibbs(t, p) for t, p in zip(T, P, strict=True)]).ravel()
    assert np.allclose(vec, one)
    # Cp at 298 K, 1 bar equals the polynomial a + bT + c/T² + d/√T
    a, b, c, d = ky.cp
    assert ky.heat_capacity(298.15, 1.0) == pytest.approx(
        a + b * 298.15 + c / 298.15**2 + d / 298.15**0.5, rel=1e-6
    )


def test_entropy_and_volume_are_derivatives_of_g():
    for name in ("q", "an", "sill", "ann"):  # Landau, Bragg–Williams, plain
        em = endmember(name)
        T, P = 905.0, 7000.0
        dGdT = (em.gibbs(T + 0.01, P) - em.gibbs(T - 0.01, P)) / 0.02
        dGdP = (em.gibbs(T, P + 1.0) - em.gibbs(T, P - 1.0)) / 2.0
        assert -dGdT == pytest.approx(float(em.entropy(T, P)), abs=2e-3)
        assert dGdP == pytest.approx(float(em.volume(T, P)), abs=2e-5)


def test_gasp_end_member_line_matches_independent_and_kn88():
    T = np.array(sorted(REF_GASP_P), dtype=float)
    P = equilibrium_pressure(GASP, T + 273.15)
    assert np.allclose(P, [REF_GASP_P[int(t)] for t in T], atol=10.0)  # 0.01 kbar
    # ds62 agrees closely with the Koziol & Newton (1988) line P = 22.80 T(°C) − 1093
    assert np.max(np.abs(P - (22.80 * T - 1093))) < 1000.0


def test_al2sio5_boundaries_and_triple_point():
    for t, p in REF_KYSIL_P.items():
        assert float(equilibrium_pressure({"sill": 1, "ky": -1}, t + 273.15)[()]) == pytest.approx(
            p, abs=10
        )
    T, P = al2sio5_triple_point()
    assert T - 273.15 == pytest.approx(536.19, abs=0.5)
    assert P == pytest.approx(4306.7, abs=10)
    for rx in ({"and": 1, "ky": -1}, {"sill": 1, "ky": -1}, {"sill": 1, "and": -1}):
        assert abs(float(reaction_properties(rx, T, P)["dG"])) < 1e-3
    # temperature solver is the inverse of the pressure solver
    t = equilibrium_temperature({"sill": 1, "ky": -1}, 6673.02)
    assert float(t) - 273.15 == pytest.approx(650.0, abs=0.05)


def test_grt_bt_exchange_reaction_properties():
    r = reaction_properties(GRTBT, 298.15, 1.0)
    assert float(r["dH"]) == pytest.approx(49900.0, abs=0.5)
    assert float(r["dS"]) == pytest.approx(21.5, abs=1e-6)
    assert float(r["dV"]) == pytest.approx(0.256, abs=1e-6)
    r = reaction_properties(GRTBT, 873.15, 5000.0)
    assert float(r["dG"]) == pytest.approx(33193.0289, abs=0.5)
    # close to Ferry & Spear (1978): ΔH = 52.1 kJ, ΔS = 19.5 J/K
    assert abs(float(r["dH"]) - 52108) < 3000 and abs(float(r["dS"]) - 19.5) < 1


def test_bad_inputs():
    with pytest.raises(ModelError, match="unknown end-member"):
        endmember("xyz")
    with pytest.raises(InputError, match="temperatures"):
        endmember("ky").gibbs(-5.0, 1.0)
    assert set(ds62_table()["name"]) == set(DS62_ENDMEMBERS)


def test_al2sio5_lines_meet_at_the_triple_point_and_are_equilibria():
    lines = al2sio5_lines(t_min_c=350.0, t_max_c=900.0, n=25)
    assert set(lines) == {"ky = sill", "ky = and", "and = sill"}
    t_tp, p_tp = al2sio5_triple_point()
    ends = {
        "ky = sill": 0,
        "and = sill": 0,
        "ky = and": -1,
    }  # the end of each line at the triple point
    for name, (t_c, p_kbar) in lines.items():
        assert len(t_c) == len(p_kbar) == 25 and np.all(p_kbar > 0)
        assert t_c[ends[name]] + 273.15 == pytest.approx(t_tp, abs=1e-9)
        assert p_kbar[ends[name]] * 1e3 == pytest.approx(p_tp, abs=1e-4)
    assert lines["ky = and"][0][0] == pytest.approx(350.0, abs=1e-9)
    assert lines["ky = sill"][0][-1] == pytest.approx(900.0, abs=1e-9)
    # every point of ky = sill is an equilibrium: ΔG(ky → sill) = 0 to 1e-6 J
    t_c, p_kbar = lines["ky = sill"]
    dG = reaction_properties({"sill": 1, "ky": -1}, t_c + 273.15, p_kbar * 1e3)["dG"]
    assert np.max(np.abs(dG)) < 1e-6
    # and it is the independently computed boundary (BurnMan ds62: 6673.02 bar at 650 °C)
    assert np.interp(650.0, t_c, p_kbar) * 1e3 == pytest.approx(REF_KYSIL_P[650], abs=15)
    with pytest.raises(ModelError, match="t_min_c"):
        al2sio5_lines(t_min_c=900.0, t_max_c=400.0)
    with pytest.raises(ModelError, match="n must be"):
        al2sio5_lines(n=1)
