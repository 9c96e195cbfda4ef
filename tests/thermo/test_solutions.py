"""a–x models: analytic derivatives against finite differences, hand calculations, W_S units."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from petroinfer.errors import InputError, ModelError
from petroinfer.thermo import (
    garnet_hodges_spear1982,
    get_solution_model,
    plagioclase_newton_haselton1981,
    plagioclase_white2014,
)
from petroinfer.units import GAS_CONSTANT as R

MODELS = [
    "grt-ideal",
    "hs82",
    "berman90",
    "white14-g",
    "bt-ideal",
    "pl-ideal",
    "nh81",
    "fl88",
    "pl4tr",
    "white14-mu",
]


def _random_state(model, n=4, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.dirichlet(np.full(len(model.endmembers), 3.0), size=n)
    return x, rng.uniform(700, 1100, n), rng.uniform(2000, 12000, n)


@pytest.mark.parametrize("name", MODELS)
def test_dmu_dn_matches_finite_differences(name):
    m = get_solution_model(name)
    x, T, P = _random_state(m)

    def mu(n):
        return R * T[:, None] * m.ln_activity(n / n.sum(1, keepdims=True), T, P)

    D = m.dmu_dn(x, T, P)
    num = np.empty_like(D)
    h = 1e-6
    for j in range(x.shape[1]):
        up, dn = x.copy(), x.copy()
        up[:, j] += h
        dn[:, j] -= h
        num[:, :, j] = (mu(up) - mu(dn)) / (2 * h)
    assert np.max(np.abs(D - num)) / np.max(np.abs(num)) < 1e-6
    assert np.allclose(D, np.swapaxes(D, 1, 2), rtol=1e-8, atol=1e-6)  # symmetric
    assert np.allclose(np.einsum("ni,nij->nj", x, D), 0.0, atol=1e-6)  # Gibbs–Duhem


@pytest.mark.parametrize("name", MODELS)
def test_mu_excess_is_derivative_of_excess_gibbs(name):
    m = get_solution_model(name)
    x, T, P = _random_state(m, seed=1)
    mu = m.mu_excess(x, T, P)
    h = 1e-6
    for j in range(x.shape[1]):
        up, dn = x.copy(), x.copy()
        up[:, j] += h
        dn[:, j] -= h
        # G(n) = N g(n/N): μ_j = ∂G/∂n_j
        Gu = up.sum(1) * m.excess_gibbs(up / up.sum(1, keepdims=True), T, P)
        Gd = dn.sum(1) * m.excess_gibbs(dn / dn.sum(1, keepdims=True), T, P)
        assert np.allclose((Gu - Gd) / (2 * h), mu[:, j], rtol=1e-6, atol=1e-4)
    # partial excess S and V are −∂μ/∂T and ∂μ/∂P
    dT = (m.mu_excess(x, T + 0.01, P) - m.mu_excess(x, T - 0.01, P)) / 0.02
    dP = (m.mu_excess(x, T, P + 1.0) - m.mu_excess(x, T, P - 1.0)) / 2.0
    assert np.allclose(-dT, m.partial_excess_entropy(x, T, P), atol=1e-5)
    assert np.allclose(dP, m.partial_excess_volume(x, T, P), atol=1e-6)
    # excess Hessian against finite differences of the gradient-free function
    H = m.excess_hessian(x, T, P)
    e = np.eye(x.shape[1])
    for i in range(x.shape[1]):
        for j in range(x.shape[1]):
            hh = 1e-4
            f = [
                m.excess_gibbs(x + a * hh * e[i] + b * hh * e[j], T, P)
                for a, b in ((1, 1), (1, -1), (-1, 1), (-1, -1))
            ]
            num = (f[0] - f[1] - f[2] + f[3]) / (4 * hh * hh)
            assert np.allclose(num, H[:, i, j], rtol=1e-4, atol=1e-2)


def test_hodges_spear_garnet_hand_calculation():
    m = garnet_hodges_spear1982()
    x = np.array([[0.12, 0.75, 0.05, 0.08]])  # py, alm, spss, gr
    T = 873.0
    W = (3300 - 1.5 * T) * 4.184
    lng = m.ln_gamma(x, T, 1.0)[0]
    # per-site RT ln γ_Ca = W X_Mg (1 − X_Ca), ×3 for the formula unit; RT ln(γ_Mg/γ_Fe) = W X_Ca
    assert lng[3] == pytest.approx(3 * W * 0.12 * (1 - 0.08) / (R * T), rel=1e-12)
    assert lng[0] - lng[1] == pytest.approx(3 * W * 0.08 / (R * T), rel=1e-12)
    assert m.ln_activity(x, T, 1.0)[0, 3] == pytest.approx(3 * np.log(0.08) + lng[3], rel=1e-12)


def test_newton_haselton_anorthite_activity_hand_calculation():
    m = plagioclase_newton_haselton1981()
    X, T = 0.25, 873.0
    a = m.activity(np.array([[1 - X, X, 0.0]]), T, 5000.0)[0, 1]
    hand = X * (1 + X) ** 2 / 4 * np.exp((1 - X) ** 2 * (2050 + 9392 * X) * 4.184 / (R * T))
    assert a == pytest.approx(hand, rel=1e-12)


def test_pl4tr_ws_in_joules_per_kelvin():
    """THERMOCALC W_S are kJ/K: W(ab,an) = 14.6 − 0.00935 T − 0.04 P (kJ, K, kbar) → 9.35 J/K."""
    m = plagioclase_white2014()
    x = np.array([[0.5, 0.5, 0.0]])
    T, P = 900.0, 1000.0
    W = 14600 - 9.35 * T - 0.04 * P
    v1, v2 = 0.674, 0.55
    s = 0.5 * v1 + 0.5 * v2
    hand = (0.5 * v1 / s) * (0.5 * v2 / s) * 2 * s / (v1 + v2) * W
    assert m.excess_gibbs(x, T, P)[0] == pytest.approx(hand, rel=1e-12)
    # the temperature dependence is not lost (a 1000x smaller W_S would change G_ex by < 0.1 %)
    assert m.excess_gibbs(x, 600, P)[0] - m.excess_gibbs(x, 900, P)[0] > 600


@settings(max_examples=40, deadline=None)
@given(st.floats(0.02, 0.96), st.floats(0.01, 0.5), st.floats(600, 1200))
def test_plagioclase_activities_positive_and_gibbs_duhem(xan, xor, T):
    xor = min(xor, 0.99 - xan)
    x = np.array([[1 - xan - xor, xan, xor]])
    for name in ("nh81", "fl88", "pl4tr", "pl-ideal"):
        m = get_solution_model(name)
        lna = m.ln_activity(x, T, 5000.0)
        assert np.all(np.isfinite(lna))
        D = m.dmu_dn(x, T, 5000.0)
        assert np.allclose(x[0] @ D[0], 0.0, atol=1e-6 * np.abs(D).max())


def test_bad_model_inputs():
    with pytest.raises(ModelError, match="unknown a–x model"):
        get_solution_model("nope")
    with pytest.raises(InputError, match="mole fractions"):
        garnet_hodges_spear1982().ln_gamma(np.array([[0.5, 0.5]]), 800, 1)


# ---------------------------------------------------------------------------- published parameters
# Independent transcriptions of the published tables (``docs/methods/thermobarometry.md``; pt_paths.md §2.6):
# W = W_H − T W_S + P W_V in J, J/K, J/bar. Keys are end-member index tuples in the model order
# (garnet py, alm, spss, gr = 0, 1, 2, 3; feldspar ab, an, san = 0, 1, 2): (i, i, j) is the coefficient of
# X_i² X_j ("112"), (i, j, j) of X_i X_j² ("122"), (i, j, k) the ternary "123" term.
PY, ALM, SPS, GR = 0, 1, 2, 3
BERMAN1990 = {  # Berman (1990) Am. Mineral. 75:328, per site (× 3 sites), JUN92
    (GR, GR, PY): (21560, 18.79, 0.10), (GR, PY, PY): (69200, 18.79, 0.10),
    (GR, GR, ALM): (20320, 5.08, 0.17), (GR, ALM, ALM): (2620, 5.08, 0.09),
    (PY, PY, ALM): (230, 0, 0.01), (PY, ALM, ALM): (3720, 0, 0.06),
    (GR, PY, ALM): (58825, 23.87, 0.265), (GR, PY, SPS): (45424, 18.79, 0.1),
    (GR, ALM, SPS): (11470, 5.08, 0.13), (PY, ALM, SPS): (1975, 0, 0.035),
}  # fmt: skip
AB, AN, SAN = 0, 1, 2
FL1988 = {  # Fuhrman & Lindsley (1988) Am. Mineral. 73:201, as in JUN92 (per formula unit)
    (AB, SAN, SAN): (18810, 10.3, 0.394), (AB, AB, SAN): (27320, 10.3, 0.394),
    (AB, AN, AN): (28226, 0, 0), (AB, AB, AN): (8471, 0, 0),
    (AN, SAN, SAN): (52468, 0, -0.120), (AN, AN, SAN): (47396, 0, 0),
    (AB, AN, SAN): (100045.5, 10.3, -0.76),
}  # fmt: skip
# White et al. (2014) JMG 32:261: W (kJ, kJ/K, kJ/kbar → J, J/K, J/bar ×1000, ×1000, ×1) and sizes v
WHITE2014_G = {
    (PY, ALM): (2500, 0, 0), (PY, SPS): (2000, 0, 0), (PY, GR): (31000, 0, 0),
    (ALM, SPS): (2000, 0, 0), (ALM, GR): (5000, 0, 0), (SPS, GR): (0, 0, 0),
}  # fmt: skip
WHITE2014_G_V = (1.0, 1.0, 1.0, 2.7)
WHITE2014_PL4TR = {
    (AB, AN): (14600, 9.35, -0.04),
    (AB, SAN): (24100, 9.57, 0.338),
    (AN, SAN): (48500, 0, -0.13),
}
WHITE2014_PL4TR_V = (0.674, 0.55, 1.0)
WHITE2014_MU = {(0, 1): (10120, -3.4, 0.353)}  # W = 10.12 + 0.0034 T + 0.353 P (kJ, K, kbar)
WHITE2014_MU_V = (0.63, 0.37)


def _margules_g(table, mult, x, T, P):
    """Per-formula excess G (J) of a polynomial Margules model, written out from the table."""
    g = 0.0
    for idx, (wh, ws, wv) in table.items():
        g = g + (wh - T * ws + P * wv) * np.prod([x[..., i] for i in idx], axis=0)
    return mult * g


def _asf_ln_gamma(table, v, x, T, P):
    """Holland & Powell (2003) eq. 2: RT ln γ_l = −Σ_{i<j} q_i q_j W_ij 2 v_l/(v_i + v_j), q_i = δ_il − φ_i."""
    v = np.asarray(v, dtype=float)
    phi = x * v / np.sum(x * v)
    out = np.zeros(len(v))
    for ell in range(len(v)):
        q = (np.arange(len(v)) == ell) - phi
        for (i, j), (wh, ws, wv) in table.items():
            out[ell] -= q[i] * q[j] * (wh - T * ws + P * wv) * 2 * v[ell] / (v[i] + v[j])
    return out / (R * T)


def _ln_gamma_by_differences(g_of_x, x, T, h=1e-6):
    """ln γ_i = ∂(N g(n/N))/∂n_i / RT by central differences in the amounts."""
    out = np.zeros(len(x))
    for i in range(len(x)):
        up, dn = x.copy(), x.copy()
        up[i] += h
        dn[i] -= h
        out[i] = (up.sum() * g_of_x(up / up.sum()) - dn.sum() * g_of_x(dn / dn.sum())) / (2 * h)
    return out / (R * T)


def _canonical(terms):
    return {tuple(sorted(t[0])): tuple(t[1:4]) for t in terms}


@pytest.mark.parametrize(
    ("name", "table", "mult"), [("berman90", BERMAN1990, 3.0), ("fl88", FL1988, 1.0)]
)
def test_margules_parameters_and_activities_are_the_published_ones(name, table, mult):
    m = get_solution_model(name)
    assert m.excess.multiplicity == mult
    assert _canonical(m.excess.terms) == {tuple(sorted(k)): v for k, v in table.items()}
    x = np.array([0.17, 0.62, 0.09, 0.12]) if name == "berman90" else np.array([0.62, 0.33, 0.05])
    for T, P in ((873.15, 6000.0), (1073.15, 12000.0)):
        hand = _ln_gamma_by_differences(lambda y, T=T, P=P: _margules_g(table, mult, y, T, P), x, T)
        assert np.allclose(m.ln_gamma(x[None], T, P)[0], hand, rtol=0, atol=1e-7)


@pytest.mark.parametrize(
    ("name", "table", "sizes"),
    [
        ("white14-g", WHITE2014_G, WHITE2014_G_V),
        ("pl4tr", WHITE2014_PL4TR, WHITE2014_PL4TR_V),
        ("white14-mu", WHITE2014_MU, WHITE2014_MU_V),
    ],
)
def test_asf_parameters_and_activities_are_the_published_ones(name, table, sizes):
    m = get_solution_model(name)
    assert m.excess.sizes == sizes
    assert {(p[0], p[1]): tuple(p[2:5]) for p in m.excess.pairs} == table
    x = {
        "white14-g": [0.17, 0.62, 0.09, 0.12],
        "pl4tr": [0.62, 0.33, 0.05],
        "white14-mu": [0.8, 0.2],
    }
    x = np.array(x[name])
    for T, P in ((873.15, 6000.0), (1073.15, 12000.0)):
        hand = _asf_ln_gamma(table, sizes, x, T, P)
        assert np.allclose(m.ln_gamma(x[None], T, P)[0], hand, rtol=0, atol=1e-9)


def test_asf_closed_form_is_the_derivative_of_its_excess_energy():
    """The Holland & Powell (2003) closed form used above agrees with differentiating G_ex itself."""
    v = np.asarray(WHITE2014_G_V)
    x, T, P = np.array([0.17, 0.62, 0.09, 0.12]), 873.15, 6000.0

    def g(y):
        phi = y * v / np.sum(y * v)
        return sum(
            phi[i] * phi[j] * 2 * np.sum(y * v) / (v[i] + v[j]) * (wh - T * ws + P * wv)
            for (i, j), (wh, ws, wv) in WHITE2014_G.items()
        )

    assert np.allclose(
        _ln_gamma_by_differences(g, x, T), _asf_ln_gamma(WHITE2014_G, v, x, T, P), atol=1e-8
    )


def test_garnet_activities_at_a_stated_composition():
    """a_grs and a_prp of Berman (1990) and White et al. (2014) garnet at X(py, alm, sps, grs) =
    (0.12, 0.75, 0.05, 0.08), 600 °C, 5 kbar, from the published equations written out here."""
    x, T, P = np.array([0.12, 0.75, 0.05, 0.08]), 873.15, 5000.0
    for name, lng in (
        (
            "berman90",
            _ln_gamma_by_differences(lambda y: _margules_g(BERMAN1990, 3.0, y, T, P), x, T),
        ),
        ("white14-g", _asf_ln_gamma(WHITE2014_G, WHITE2014_G_V, x, T, P)),
    ):
        a = get_solution_model(name).activity(x[None], T, P)[0]
        assert a[GR] == pytest.approx(x[GR] ** 3 * np.exp(lng[GR]), rel=1e-7)
        assert a[PY] == pytest.approx(x[PY] ** 3 * np.exp(lng[PY]), rel=1e-7)
