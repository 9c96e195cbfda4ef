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
