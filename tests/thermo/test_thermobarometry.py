"""Thermobarometers against hand calculations from the published equations; solver, uncertainty, input checks."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from petroinfer.errors import DataQualityWarning, InputError, ModelError
from petroinfer.thermo import (
    barometer,
    garnet_biotite_kd,
    garnet_biotite_temperature,
    gasp_pressure,
    mineral_fractions,
    solve_pt,
    thermobarometry,
    thermometer,
)
from petroinfer.units import GAS_CONSTANT as R

# pt_paths.md §2.7 regression composition
CASE = {
    "Grt_XAlm": 0.75,
    "Grt_XPrp": 0.12,
    "Grt_XGrs": 0.08,
    "Grt_XSps": 0.05,
    "Bt_XMg": 0.45,
    "Pl_XAn": 0.25,
}
LNKD = np.log((0.12 / 0.75) / (0.45 / 0.55))
# ds62 G (J) and V (J/bar) of the Al2SiO5 polymorphs at 600 °C, 5 kbar, computed independently with BurnMan 2.1
# (HP_2011_ds62; the same recorded constants as tests/thermo/test_endmembers.py)
AL2SIO5_873K_5KBAR = {
    "ky": (-2699451.988, 4.463381),
    "sill": (-2699797.457, 5.010653),
    "and": (-2699518.151, 5.203103),
}


@pytest.fixture
def case():
    return pd.DataFrame({k: [v] for k, v in CASE.items()}, index=["s1"])


def test_kd_convention(case):
    assert float(garnet_biotite_kd(case).iloc[0]) == pytest.approx(0.19556, abs=5e-6)
    # the ideal ln K the solvers use is 3 ln K_D for alm + phl = py + ann (K_D = (Mg/Fe)Grt/(Mg/Fe)Bt,
    # pt_paths.md §2.7: ln K_D = −1.6319), and ln a_grs − 3 ln a_an for GASP
    c = np.array([[CASE[k] for k in CASE]])
    assert thermometer("FS78").ln_k_ideal(c)[0] == pytest.approx(3 * -1.6319, abs=3e-4)
    x_an = CASE["Pl_XAn"]
    ln_a_an_ideal = np.log(x_an * (1 + x_an) ** 2 / 4)  # Al avoidance (Kerrick & Darken 1975)
    assert barometer("KN88").ln_k_ideal(c)[0] == pytest.approx(
        3 * np.log(0.08) - 3 * ln_a_an_ideal, abs=1e-12
    )


@pytest.mark.parametrize("p_kbar", [3.0, 5.0, 7.0])
def test_fs78_and_hs82_hand_calculation(case, p_kbar):
    P = p_kbar * 1e3
    fs = (12454 + 0.057 * P) / (4.662 - 5.961 * LNKD) - 273.15
    hs = (12454 + 0.057 * P + 9900 * 0.08) / (4.662 + 4.5 * 0.08 - 5.961 * LNKD) - 273.15
    t_fs = garnet_biotite_temperature(case, p_kbar, "FS78", uncertainty="none")["T_C"].iloc[0]
    t_hs = garnet_biotite_temperature(case, p_kbar, "HS82", uncertainty="none")["T_C"].iloc[0]
    assert t_fs == pytest.approx(fs, abs=1e-6)
    assert t_hs == pytest.approx(hs, abs=1e-6)
    assert 590 < t_fs < 630 and 620 < t_hs < 660  # sanity of the numbers (≈ 604–620 and 636–652 °C)


def test_kn88_end_member_line():
    """P = 22.80 T(°C) − 1093 bar within 0.05 kbar over 400–900 °C."""
    T_c = np.linspace(400, 900, 26)
    P = barometer("KN88", "ky").standard_pressure(T_c + 273.15)
    assert np.max(np.abs(P - (22.80 * T_c - 1093))) < 50.0


def test_kn88_pressure_hand_calculation(case):
    T_c = 600.0
    T = T_c + 273.15
    W = (3300 - 1.5 * T) * 4.184
    ln_a_grs = 3 * (np.log(0.08) + W * 0.12 * (1 - 0.08) / (R * T))
    X = 0.25
    ln_a_an = np.log(X * (1 + X) ** 2 / 4) + (1 - X) ** 2 * (2050 + 9392 * X) * 4.184 / (R * T)
    lnK = ln_a_grs - 3 * ln_a_an
    hand = 1 + (T * -150.66 - -48357 - R * T * lnK) / -6.608
    p = gasp_pressure(case, T_c, "KN88", uncertainty="none")["P_kbar"].iloc[0]
    assert p * 1e3 == pytest.approx(hand, abs=1e-3)


def test_simultaneous_solution_satisfies_both_equations(case):
    for th in ("FS78", "HS82"):
        out = thermobarometry(case, th, "KN88", uncertainty="none")
        T, P = out["T_C"].iloc[0] + 273.15, out["P_kbar"].iloc[0] * 1e3
        # the thermometer at the solved P gives the solved T, the barometer at T gives P
        t_only = garnet_biotite_temperature(case, P / 1e3, th, uncertainty="none")["T_C"].iloc[0]
        p_only = gasp_pressure(case, T - 273.15, "KN88", uncertainty="none")["P_kbar"].iloc[0]
        assert t_only + 273.15 == pytest.approx(T, abs=1e-6)
        assert p_only * 1e3 == pytest.approx(P, abs=1e-3)
    hs = thermobarometry(case, "HS82", "KN88", uncertainty="none").iloc[0]
    assert hs["T_C"] == pytest.approx(659.457, abs=0.01) and hs["P_kbar"] == pytest.approx(
        8.944, abs=0.001
    )


def test_polymorph_shift_and_ds62(case):
    ky = thermobarometry(case, "HS82", "KN88", polymorph="ky", uncertainty="none").iloc[0]
    sil = thermobarometry(case, "HS82", "KN88", polymorph="sill", uncertainty="none").iloc[0]
    assert sil["P_kbar"] > ky["P_kbar"]  # sill is the high-entropy, larger-volume polymorph
    d62 = thermobarometry(case, "ds62", "ds62", uncertainty="none").iloc[0]
    assert abs(d62["T_C"] - ky["T_C"]) < 40 and abs(d62["P_kbar"] - ky["P_kbar"]) < 1.5


def test_vectorised_rows_equal_single_rows():
    rng = np.random.default_rng(3)
    n = 300
    g = rng.dirichlet([30, 5, 3, 2], size=n)
    df = pd.DataFrame(
        {
            "Grt_XAlm": g[:, 0],
            "Grt_XPrp": g[:, 1],
            "Grt_XGrs": g[:, 2],
            "Grt_XSps": g[:, 3],
            "Bt_XMg": rng.uniform(0.3, 0.6, n),
            "Pl_XAn": rng.uniform(0.2, 0.45, n),
        }
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        out = thermobarometry(df, "HS82", "KN88", uncertainty="none")
    for i in (0, 17, 299):
        T, P = solve_pt(thermometer("HS82"), barometer("KN88"), df.iloc[[i]].to_numpy())
        assert out["T_C"].iloc[i] == pytest.approx(T[0] - 273.15, abs=1e-6)
        assert out["P_kbar"].iloc[i] == pytest.approx(P[0] / 1e3, abs=1e-6)


def test_linear_and_monte_carlo_uncertainties_agree(case):
    out = thermobarometry(
        case, "HS82", "KN88", sigma=0.004, uncertainty="both", n_draws=2000, random_state=1
    )
    r = out.iloc[0]
    assert r["T_C_sd_mc"] == pytest.approx(r["T_C_sd"], rel=0.15)
    assert r["P_kbar_sd_mc"] == pytest.approx(r["P_kbar_sd"], rel=0.15)
    assert 0.5 < r["rho_TP"] < 1.0  # Grt–Bt and GASP slopes give positively correlated errors
    # per-cell SD columns override sigma; zero SD → zero uncertainty
    df = case.assign(**{f"{c}_sd": 0.0 for c in CASE})
    z = thermobarometry(df, uncertainty="linear").iloc[0]
    assert z["T_C_sd"] == 0.0 and z["P_kbar_sd"] == 0.0
    # same seed, same Monte Carlo
    a = thermobarometry(case, uncertainty="mc", random_state=5)
    b = thermobarometry(case, uncertainty="mc", random_state=5)
    assert a.equals(b)


def _messages(func):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        func()
    return " | ".join(str(w.message) for w in caught if issubclass(w.category, DataQualityWarning))


def test_calibration_range_warnings(case):
    assert "X_An < 0.17" in _messages(lambda: thermobarometry(case.assign(Pl_XAn=0.10)))
    msg = _messages(
        lambda: thermobarometry(case.assign(Grt_XSps=0.20, Grt_XAlm=0.60), "FS78", "KN88")
    )
    assert "X_Ca + X_Mn > 0.2" in msg and "['s1']" in msg
    assert _messages(lambda: thermobarometry(case, "HS82", "KN88")) == ""  # inside every range


@settings(max_examples=30, deadline=None)
@given(
    st.lists(st.floats(0.01, 1.0), min_size=4, max_size=4),
    st.floats(0.01, 0.99),
    st.floats(0.01, 0.99),
)
def test_mineral_fractions_round_trip(g, xmg, xan):
    g = np.asarray(g) / np.sum(g)
    df = pd.DataFrame([dict(zip(("Grt_XAlm", "Grt_XPrp", "Grt_XGrs", "Grt_XSps", "Bt_XMg", "Pl_XAn"),
                                [*g, xmg, xan], strict=True))])  # fmt: skip
    out = mineral_fractions(df)
    assert np.allclose(out.to_numpy(), df.to_numpy())
    assert out is not df and df.shape == (1, 6)  # input untouched


def test_oxide_input_recalculated(case):
    # garnet with cation fractions of CASE; all Fe as FeO
    mm = {"FeO": 71.8444, "MgO": 40.3044, "CaO": 56.0774, "MnO": 70.9374}
    grt = {
        f"Grt_{o}": f * mm[o]
        for o, f in zip(("FeO", "MgO", "CaO", "MnO"), (0.75, 0.12, 0.08, 0.05), strict=True)
    }
    ox = pd.DataFrame(
        {
            "Grt_SiO2": [3 * 60.0843],
            "Grt_Al2O3": [101.9613],
            **{k: [v] for k, v in grt.items()},
            "Bt_SiO2": [35.0],
            "Bt_Al2O3": [19.0],
            "Bt_FeO": [0.55 * 71.8444],
            "Bt_MgO": [0.45 * 40.3044],
            "Bt_K2O": [9.0],
            "Pl_SiO2": [62.0],
            "Pl_Al2O3": [24.0],
            "Pl_CaO": [0.25 * 56.0774],
            "Pl_Na2O": [0.75 * 61.9789 / 2],
        },
        index=["s1"],
    )
    fr = mineral_fractions(ox)
    for c, v in CASE.items():
        assert fr[c].iloc[0] == pytest.approx(v, abs=2e-5)  # molar masses differ in the last digits


@pytest.mark.parametrize(
    ("change", "match", "column"),
    [
        ({"Pl_XAn": 1.2}, "outside \\(0, 1\\)", "Pl_XAn"),
        ({"Pl_XAn": -0.1}, "outside \\(0, 1\\)", "Pl_XAn"),
        ({"Grt_XPrp": 0.0}, "K_D is non-positive", "Grt_XPrp"),
        ({"Bt_XMg": 0.0}, "K_D is non-positive", "Bt_XMg"),
        ({"Bt_XMg": "abc"}, "non-numeric", "Bt_XMg"),
    ],
)
def test_bad_values_name_column_row_value(case, change, match, column):
    bad = case.astype(object).assign(**change)
    with pytest.raises(InputError, match=match) as err:
        thermobarometry(bad)
    assert err.value.column == column and err.value.row == "s1"


def test_missing_columns_and_bad_options(case):
    with pytest.raises(InputError, match="missing mineral columns") as err:
        thermobarometry(case.drop(columns=["Bt_XMg"]))
    assert err.value.column == "Bt_XMg"
    with pytest.raises(ModelError, match="unknown thermometer"):
        thermobarometry(case, "XX")
    with pytest.raises(ModelError, match="polymorph"):
        thermobarometry(case, polymorph="cor")
    with pytest.raises(ModelError, match="at most one"):
        thermobarometry(case, P_kbar=5, T_C=600)


@pytest.mark.parametrize("polymorph", ["sill", "and"])
@pytest.mark.parametrize("calibration", ["KN88", "ds62"])
def test_gasp_polymorph_shift_is_twice_the_ds62_al2sio5_reaction(case, calibration, polymorph):
    """3 an = gr + 2 Al2SiO5 + q: swapping ky for another polymorph adds 2 ΔG(ky → polymorph) to the
    residual, with ΔG from independent ds62 values (BurnMan) at 600 °C, 5 kbar."""
    c = case.to_numpy(dtype=float)
    T, P = 873.15, 5000.0
    shift = barometer(calibration, polymorph).residual(T, P, c) - barometer(
        calibration, "ky"
    ).residual(T, P, c)
    dG = AL2SIO5_873K_5KBAR[polymorph][0] - AL2SIO5_873K_5KBAR["ky"][0]
    assert shift[0] == pytest.approx(2 * dG, abs=0.01)  # −690.94 J (sill), −132.33 J (and)


@pytest.mark.parametrize("polymorph", ["sill", "and"])
def test_kn88_polymorph_pressure_difference_from_ds62_al2sio5(polymorph):
    """KN88 P(poly) − P(ky) at fixed T: the KN88 residual with HS82/NH81 is linear in P with slope
    ΔV° = −6.608 J/bar, so −6.608 (P_poly − P_ky) + 2 ΔG_{ky→poly}(T, P_poly) = 0. With ΔG linearised about
    5 kbar from the independent ds62 G and V (BurnMan), P_poly = (6.608 P_ky + 2 ΔG₅ − 2 ΔV₅·5000) /
    (6.608 − 2 ΔV₅); the neglected curvature of ΔG (compressibility, |∂ΔV/∂P| ~ 1e-6 J/bar²) is < 0.01 bar
    within 0.2 kbar of 5 kbar."""
    # a garnet-poor, calcic-plagioclase rock whose KN88-ky pressure at 600 °C is near 5 kbar
    df = pd.DataFrame({"Grt_XAlm": [0.76], "Grt_XPrp": [0.12], "Grt_XGrs": [0.07], "Grt_XSps": [0.05],
                       "Bt_XMg": [0.45], "Pl_XAn": [0.60]})  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        p_ky = gasp_pressure(df, 600.0, "KN88", "ky", uncertainty="none")["P_kbar"].iloc[0] * 1e3
        p_poly = gasp_pressure(df, 600.0, "KN88", polymorph, uncertainty="none")["P_kbar"].iloc[0]
    assert abs(p_ky - 5000) < 200
    dG5 = AL2SIO5_873K_5KBAR[polymorph][0] - AL2SIO5_873K_5KBAR["ky"][0]
    dV5 = AL2SIO5_873K_5KBAR[polymorph][1] - AL2SIO5_873K_5KBAR["ky"][1]
    expected = (6.608 * p_ky + 2 * dG5 - 2 * dV5 * 5000.0) / (6.608 - 2 * dV5)
    assert p_poly * 1e3 == pytest.approx(expected, abs=0.5)
    assert abs(p_poly * 1e3 - p_ky) > 5  # the shift (−112 bar sill, −6.6 bar and) is resolved


def test_output_units_and_fixed_condition_checks(case):
    out = thermobarometry(case, uncertainty="both", n_draws=20, random_state=0)
    assert out.attrs["units"] == {
        "T_C": "degC", "P_kbar": "kbar", "KD": "1", "T_C_sd": "degC", "P_kbar_sd": "kbar",
        "rho_TP": "1", "T_C_sd_mc": "degC", "P_kbar_sd_mc": "kbar",
    }  # fmt: skip
    two = pd.concat([case, case.rename(index={"s1": "s2"})])
    with pytest.raises(InputError, match="one value per row") as err:
        thermobarometry(two, T_C=[600.0, 610.0, 620.0])
    assert err.value.column == "T_C"
    with pytest.raises(InputError, match="finite"):
        thermobarometry(case, P_kbar=float("nan"))
    with pytest.raises(InputError, match="numeric"):
        thermobarometry(case, P_kbar="five")
    # one fixed value per row is accepted and used row by row
    per_row = thermobarometry(two, "FS78", P_kbar=[3.0, 7.0], uncertainty="none")["T_C"].to_numpy()
    fs = [(12454 + 0.057 * p) / (4.662 - 5.961 * LNKD) - 273.15 for p in (3000.0, 7000.0)]
    assert per_row == pytest.approx(fs, abs=1e-6)


def test_block_processing_equals_row_by_row():
    """Map-sized inputs are solved in blocks; a block boundary changes nothing."""
    rng = np.random.default_rng(7)
    n = 9000  # > one block of 8192 rows
    g = rng.dirichlet([30, 5, 3, 2], size=n)
    df = pd.DataFrame({"Grt_XAlm": g[:, 0], "Grt_XPrp": g[:, 1], "Grt_XGrs": g[:, 2], "Grt_XSps": g[:, 3],
                       "Bt_XMg": rng.uniform(0.3, 0.6, n), "Pl_XAn": rng.uniform(0.2, 0.45, n)})  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        whole = thermobarometry(df, "HS82", "KN88", uncertainty="linear")
        for i in (0, 8191, 8192, 8999):
            one = thermobarometry(df.iloc[[i]], "HS82", "KN88", uncertainty="linear").iloc[0]
            for col in ("T_C", "P_kbar", "T_C_sd", "P_kbar_sd", "rho_TP"):
                assert whole[col].iloc[i] == pytest.approx(one[col], rel=1e-12, nan_ok=True)
