"""Tests of the Gibbs method (gibbs notes §B, §F.2 G1–G4, G7–G9; §E.2 source tests)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from petroinfer.errors import InputError, ModelError
from petroinfer.thermo import (
    SolutionModel,
    biotite_ideal,
    garnet_ideal,
    get_solution_model,
    reaction_properties,
)
from petroinfer.thermo.gibbs import (
    GibbsState,
    GibbsSystem,
    Phase,
    integrate,
    rayleigh_fractionation,
)
from petroinfer.units import GAS_CONSTANT

R = GAS_CONSTANT  # exact SI value (8.31446261815324 J/mol/K), as used by thermo
H1, S1, V1 = 52107.5, 19.506, 0.2385  # FS78 alm + phl = prp + ann
H2, S2, V2 = -48357.0, -150.66, -6.608  # KN88 3 an = grs + 2 ky + qz


def _pl():
    return SolutionModel("pl-mol", ("ab", "an"), ((1.0, np.eye(2)),), None, "a_an = X_An")


def _phases(ms=False):
    ph = [
        Phase("grt", garnet_ideal(), ("py", "alm", "gr"), "alm"),
        Phase("bt", biotite_ideal(), dependent="ann"),
        Phase("pl", _pl(), dependent="ab"),
        Phase("ky", "ky"),
        Phase("q", "q"),
    ]
    if ms:
        ph.insert(2, Phase("ms", "mu"))
    return ph


def _toy_open():
    std = {e: (0.0, 0.0, 0.0) for e in ["alm", "phl", "ann", "ab", "an", "ky", "q"]}
    std["py"] = (H1, S1, V1)
    std["gr"] = (H2, S2, V2)
    return GibbsSystem(_phases(), standard_states=std)


def closed_form(T, P, m, xan):
    """§B.1 closed-form forward model (independent of the Gibbs machinery)."""
    dG1 = H1 - T * S1 + (P - 1) * V1
    dG2 = H2 - T * S2 + (P - 1) * V2
    xg = xan * np.exp(-dG2 / (3 * R * T))
    r = m / (1 - m) * np.exp(-dG1 / (3 * R * T))
    return r * (1 - xg) / (1 + r), xg, (1 - xg) / (1 + r)


def truth(s):
    return 773.15 + 100 * s, (5 + 5 * s - 2 * s**2) * 1000.0, 0.40 + 0.05 * s, 0.30 - 0.10 * s


def _start():
    T, P, m, xan = truth(np.array([0.0]))
    xp, xg, xa = closed_form(T, P, m, xan)
    return GibbsState(
        T[0], P[0],
        {"grt": np.array([xa[0], xp[0], xg[0]]), "bt": np.array([1 - m[0], m[0]]),
         "pl": np.array([1 - xan[0], xan[0]])},
    )  # fmt: skip


def _profile(n):
    s = np.linspace(0, 1, n + 1)
    T, P, m, xan = truth(s)
    xp, xg, _ = closed_form(T, P, m, xan)
    return T, P, {"grt:py": xp, "grt:gr": xg, "bt:phl": m, "pl:an": xan}


# ---------------------------------------------------------------------------- G1
def test_g1_equilibrium_residual_zero_on_closed_form_profile():
    sys_ = _toy_open()
    for s in (0.0, 0.25, 0.5, 0.75, 1.0):
        T, P, m, xan = truth(np.array([s]))
        xp, xg, xa = closed_form(T, P, m, xan)
        assert abs(xp[0] + xg[0] + xa[0] - 1) < 1e-14
        st = GibbsState(T[0], P[0], {"grt": np.array([xa[0], xp[0], xg[0]]),
                                     "bt": np.array([1 - m[0], m[0]]),
                                     "pl": np.array([1 - xan[0], xan[0]])})  # fmt: skip
        _A, res = sys_.reaction_rows(st)
        assert np.abs(res).max() < 1e-6  # J
        # Newton (integrated mode) recovers the compositions from (T, P, matrix) to 1e-5
        guess = replace(st, x={**st.x, "grt": np.array([0.8, 0.1, 0.1])})
        back = sys_.reproject(guess, ["T", "P", "bt:phl", "pl:an"])
        assert np.allclose(back.x["grt"], [xa[0], xp[0], xg[0]], atol=1e-5)


def test_xgrs_non_monotonic_along_true_path():
    _T, _P, prof = _profile(200)
    xg = prof["grt:gr"]
    k = int(np.argmax(xg))
    assert 0 < k < 200


# ---------------------------------------------------------------------------- G2
def _hand_response(dxp, dxg):
    """Solve the §B.1 differential rows by hand (matrix fixed)."""
    T, P, m, xan = truth(np.array([0.0]))
    xp, xg, xa = closed_form(T, P, m, xan)
    T, P, xp, xg, xa = T[0], P[0], xp[0], xg[0], xa[0]
    dS1 = (H1 + (P - 1) * V1) / T
    dS2 = (H2 + (P - 1) * V2) / T
    dxa = -dxp - dxg
    A = np.array([[-dS1, V1], [-dS2, V2]])
    b = -np.array([3 * R * T * (dxp / xp - dxa / xa), 3 * R * T * (dxg / xg)])
    return np.linalg.solve(A, b)


def test_g2_local_response_and_condition_number():
    sys_ = _toy_open()
    st = _start()
    fixed = {"bt:phl": 0.0, "pl:an": 0.0}
    for dxp, dxg in ((0.01, 0.0), (0.0, 0.01)):
        d = sys_.solve_step(st, {"grt:py": dxp, "grt:gr": dxg, **fixed})
        dT, dP = _hand_response(dxp, dxg)
        assert d["T"] == pytest.approx(dT, rel=1e-10)
        assert d["P"] == pytest.approx(dP, rel=1e-10)
    # X_prp moves T and P; X_grs mainly P
    dgr = sys_.solve_step(st, {"grt:py": 0.0, "grt:gr": 0.01, **fixed})
    assert abs(dgr["P"] / 1000) > 0.5 and abs(dgr["T"]) < 10
    cond = sys_.condition_number(st, ["grt:py", "grt:gr"], ["bt:phl", "pl:an"])
    assert 10 < cond < 1000  # "of order 10²"


def test_reaction_and_per_phase_forms_agree():
    sys_ = _toy_open()
    st = _start()
    g = {"grt:py": 0.01, "grt:gr": -0.004, "bt:phl": 0.002, "pl:an": -0.003}
    a = sys_.solve_step(st, g)
    b = sys_.solve_step(st, g, form="phase")
    assert abs(a["T"] - b["T"]) < 1e-10 * max(1, abs(a["T"]))
    assert abs(a["P"] - b["P"]) < 1e-10 * max(1, abs(a["P"]))


# ---------------------------------------------------------------------------- G3
def _max_err(method, n, reproject=False):
    T, P, prof = _profile(n)
    gp = integrate(_toy_open(), _start(), prof, method=method, reproject=reproject,
                   monitors=["grt:py", "grt:gr"])  # fmt: skip
    return np.abs(gp.table["T_K"] - T).max(), np.abs(gp.table["P_bar"] - P).max()


def test_g3_integration_orders_and_reprojection():
    e = [_max_err("euler", n) for n in (10, 20, 40)]
    h = [_max_err("heun", n) for n in (10, 20, 40)]
    for k in range(2):
        assert 1.8 < e[k][0] / e[k + 1][0] < 2.2  # first order in T
        assert 1.8 < e[k][1] / e[k + 1][1] < 2.2  # and in P
        assert 3.5 < h[k][0] / h[k + 1][0] < 4.5  # second order
        assert 3.5 < h[k][1] / h[k + 1][1] < 4.5
    rk = _max_err("rk4", 10)
    assert rk[0] < h[0][0] / 10
    ep = _max_err("euler", 10, reproject=True)
    assert ep[0] < 1e-9 and ep[1] < 1e-9


def test_step_control_reaches_tolerance():
    T, _P, prof = _profile(5)
    gp = integrate(_toy_open(), _start(), prof, method="heun", tol=1e-3)
    assert np.abs(gp.table["T_K"] - T).max() < 5e-3
    assert gp.table["substeps"].max() > 1


# ---------------------------------------------------------------------------- G4
def test_g4_ds62_reaction_constants():
    R1 = {"alm": -1, "mu": -1, "ann": 1, "ky": 2, "q": 1}
    R2 = {"py": -1, "mu": -1, "phl": 1, "ky": 2, "q": 1}
    R3 = {"an": -3, "gr": 1, "ky": 2, "q": 1}
    p1, p2, p3 = (reaction_properties(r, 298.15, 1.0) for r in (R1, R2, R3))
    ex = reaction_properties({"alm": -1, "phl": -1, "py": 1, "ann": 1}, 298.15, 1.0)
    for k in ("dH", "dS", "dV"):
        assert float(p1[k] - p2[k]) == pytest.approx(float(ex[k]), rel=1e-12, abs=1e-9)
    # hand sums of the ds62 table values (H0 J, S0 J/K, V0 J/bar): GASP
    assert float(p3["dH"]) == pytest.approx(
        -6643010 + 2 * -2592970 - 910720 - 3 * -4232690, abs=0.5
    )  # J (Landau of q at 298 K)
    assert float(p3["dV"]) == pytest.approx(12.535 + 2 * 4.414 + 2.269 - 3 * 10.079, rel=1e-3)
    assert float(p1["dS"]) < 0 < float(p1["dV"])  # Grt + Ms on the high-P,T side of R1
    sys_ = GibbsSystem(_phases(ms=True))
    assert sys_.n_reactions == 3 and sys_.variance == 3  # 11 − 8 + ... : F = 3 open, 2 closed
    assert GibbsSystem(_phases(ms=True), mode="closed").variance == 2


# ---------------------------------------------------------------------------- a–x models
@pytest.mark.parametrize(
    "name", ["grt-ideal", "hs82", "berman90", "white14-g", "bt-ideal", "pl-ideal", "nh81", "fl88",
             "pl4tr", "white14-mu"],
)  # fmt: skip
def test_ax_models_gibbs_duhem_and_hessian_symmetry(name):
    model = get_solution_model(name)
    rng = np.random.default_rng(3)
    m = len(model.endmembers)
    x = rng.dirichlet(np.full(m, 3.0), size=4)
    T, P = 873.15, 6000.0
    M = model.dmu_dn(x, T, P)
    scale = np.abs(M).max()
    assert np.abs(M - np.swapaxes(M, 1, 2)).max() < 1e-10 * scale  # Hessian symmetric
    assert np.abs(np.einsum("ni,nij->nj", x, M)).max() < 1e-10 * scale  # Σ x_i dμ_i = 0
    # Theriak's Gibbs–Duhem activity test: RT ln a_m = G + ∂G/∂x_m − Σ x_j ∂G/∂x_j
    occ = [(mult, np.asarray(o, float)) for mult, o in model.sites]
    ref = np.array([
        sum(mult * sum(o[i, k] * np.log(o[i, k]) for k in range(o.shape[1]) if o[i, k] > 0)
            for mult, o in occ) for i in range(m)
    ])  # fmt: skip

    def gmix(xx):
        xx = np.atleast_2d(xx)
        conf = sum(mult * np.sum(np.where(xx @ o > 0, (xx @ o) * np.log(np.abs(xx @ o) + 1e-300), 0), axis=1)
                   for mult, o in occ)  # fmt: skip
        return R * T * (conf - xx @ ref) + model.excess_gibbs(xx, T, P)

    h = 1e-6
    for xi in x:
        grad = np.array([(gmix(xi + h * e) - gmix(xi - h * e))[0] / (2 * h) for e in np.eye(m)])
        G = gmix(xi)[0]
        rtlna = G + grad - xi @ grad
        expect = R * T * model.ln_activity(xi[None], T, P)[0]
        assert np.allclose(rtlna, expect, atol=1e-3)  # J (finite differences)


# ---------------------------------------------------------------------------- closed system
def _closed_start(mode="fractionating"):
    ph = _phases(ms=True)
    st = GibbsState(773.15, 5000.0, {"grt": np.array([0.8, 0.1, 0.1]), "bt": np.array([0.6, 0.4]),
                                    "pl": np.array([0.7, 0.3])})  # fmt: skip
    st = GibbsSystem(ph).reproject(st, ["T", "P", "pl:an"])
    sys_ = GibbsSystem(ph, mode=mode)
    st = replace(st, moles={"grt": 0.0, "bt": 1.0, "ms": 1.0, "pl": 0.5, "ky": 1.0, "q": 5.0})
    return sys_, sys_.with_bulk(st)


def test_g7_duhem_effect_closed_differs_from_open():
    sys_, st = _closed_start()
    op = GibbsSystem(_phases(ms=True))
    a = sys_.solve_step(st, {"grt:py": 0.01, "grt:gr": 0.0})
    b = sys_.solve_step(st, {"grt:py": 0.01, "grt:gr": 0.0}, form="phase")
    assert abs(a["T"] - b["T"]) < 1e-9 and abs(a["P"] - b["P"]) < 1e-7
    assert a["n_grt"] > 0  # prograde growth
    o = op.solve_step(st, {"grt:py": 0.01, "grt:gr": 0.0, "pl:an": 0.0})
    # mass balance changes the response (Duhem): here by ~15 % (the notes' toy: up to ×2)
    assert abs(a["T"] - o["T"]) > 0.1 * abs(o["T"])
    a2 = sys_.solve_step(st, {"grt:py": 0.0, "grt:gr": 0.01})
    o2 = op.solve_step(st, {"grt:py": 0.0, "grt:gr": 0.01, "pl:an": 0.0})
    assert abs(a2["T"] - o2["T"]) > 0.1 * abs(o2["T"])


def test_g8_bulk_conservation_fractionating():
    sys_, st = _closed_start()
    x0 = st.x["grt"]
    prof = {
        "grt:py": np.linspace(x0[1], x0[1] + 0.02, 11),
        "grt:gr": np.linspace(x0[2], x0[2] - 0.01, 11),
    }
    gp = integrate(sys_, st, prof, reproject=True)
    end = gp.states[-1]
    err = np.abs(end.shells + sys_.bulk(end) - st.bulk).max() / np.abs(st.bulk).max()
    assert err < 1e-12
    assert np.all(np.diff(gp.table["grown"]) > 0)
    assert np.all(np.diff(gp.table["T_C"]) > 0)
    assert np.all(np.isfinite(gp.table["condition_number"]))
    # rim → core with the reversed profile adds the garnet back and returns to the start
    back = integrate(sys_, end, {k: v[::-1] for k, v in prof.items()}, reproject=True)
    assert back.table["T_K"].iloc[-1] == pytest.approx(st.T, abs=0.05)
    assert abs(back.table["grown"].iloc[-1]) < 5e-4  # garnet given back


def test_g9_rayleigh_shell_append():
    K, n = 20.0, 20000
    ref = rayleigh_fractionation(K, [0.05, 0.10])
    assert ref == pytest.approx([0.95**19, 0.9**19], rel=1e-12)
    # shell-append: each increment dM takes C = K·C_res; reservoir mass and content decrease
    mass, content, dM = 1.0, 1.0, 0.10 / n
    out = {}
    for k in range(1, n + 1):
        c_res = content / mass
        c_grt = K * c_res
        content -= c_grt * dM
        mass -= dM
        for F in (0.05, 0.10):
            if abs(k * dM - F) < dM / 2:
                out[F] = K * content / mass / K  # rim composition / (K C0)
    assert out[0.05] == pytest.approx(ref[0], rel=2e-3)
    assert out[0.10] == pytest.approx(ref[1], rel=2e-3)


def test_open_source_relict_breakdown_linear():
    """§E.2 tests 1–2 with a relict (almandine) as source at fixed T, P: zero source → zero
    increment; response exactly linear in the source."""
    sys_, st = _closed_start(mode="closed")
    src1 = sys_.asm.to_components({"alm": 0.01})
    g = {"T": 0.0, "P": 0.0}
    d0 = sys_.solve_step(st, g)
    d1 = sys_.solve_step(st, g, source=src1)
    d2 = sys_.solve_step(st, g, source=2 * src1)
    assert max(abs(v) for v in d0.values()) < 1e-12
    for k in d1:
        assert d2[k] == pytest.approx(2 * d1[k], rel=1e-9, abs=1e-14)
    assert d1["n_grt"] > 0  # almandine component is taken up by garnet
    # integrated: garnet amount grows linearly with the supply
    n = 6
    path = {"T": np.full(n, st.T), "P": np.full(n, st.P)}
    gp = integrate(sys_, st, path, source={"alm": 0.002}, monitors=[])
    assert np.allclose(np.diff(gp.table["n_grt"]), np.diff(gp.table["n_grt"])[0], rtol=0.05)


def test_bad_input():
    sys_ = _toy_open()
    st = _start()
    with pytest.raises(ModelError, match="underdetermined"):
        sys_.solve_step(st, {"grt:py": 0.01})
    with pytest.raises(ModelError, match="unknown variable"):
        sys_.solve_step(st, {"grt:xx": 0.01, "grt:gr": 0, "bt:phl": 0, "pl:an": 0})
    with pytest.raises(ModelError, match="singular"):  # T, P, X_grs, X_An fixed: GASP cannot close
        sys_.solve_step(st, {"T": 1.0, "P": 0.0, "grt:gr": 0.0, "pl:an": 0.0})
    with pytest.raises(InputError):
        integrate(sys_, st, {"grt:py": [0.1]})
    with pytest.raises(ModelError):
        GibbsSystem(_phases(), mode="bogus")
    with pytest.raises(InputError):
        rayleigh_fractionation(20, 1.2)


@pytest.mark.slow
def test_g5_g6_fractionating_forward_and_gibbs_inverse():
    """§B.2: forward (T, P prescribed, closed + fractionating, Newton at every shell) then the Gibbs
    inverse from the shells' X_prp, X_grs: Euler order 1, Heun order 2, integrated mode ≤ 1e-9 K."""
    sys_, st = _closed_start()
    err = {}
    for n in (10, 20):
        s = np.linspace(0, 1, n + 1)
        T, P = 773.15 + 100 * s, (5 + 5 * s - 2 * s**2) * 1000
        fw = integrate(sys_, st, {"T": T, "P": P}, reproject=True, monitors=[])
        assert np.all(np.diff(fw.table["grown"]) > 0)  # garnet grows at every step (G5)
        assert np.all(np.diff(fw.table["bt:phl"]) > 0)  # matrix Mg# rises as Fe goes into garnet
        prof = {"grt:py": fw.table["grt:py"].to_numpy(), "grt:gr": fw.table["grt:gr"].to_numpy()}
        for meth, rp in (("euler", False), ("heun", False), ("euler", True)):
            inv = integrate(sys_, st, prof, method=meth, reproject=rp)
            err[n, meth, rp] = np.abs(inv.table["T_K"] - T).max()
            if rp:
                assert np.abs(inv.table["P_bar"] - P).max() < 1e-7
                assert inv.table["grown"].iloc[-1] == pytest.approx(
                    fw.table["grown"].iloc[-1], abs=1e-12
                )
    assert 1.8 < err[10, "euler", False] / err[20, "euler", False] < 2.2
    assert 3.5 < err[10, "heun", False] / err[20, "heun", False] < 4.5
    assert err[10, "euler", True] < 1e-9 and err[20, "euler", True] < 1e-9


# ---------------------------------------------------------------------------- G5, independent solver
_B2 = ("alm", "py", "gr", "ann", "phl", "mu", "an", "ab", "ky", "q")


def _b2_constant_system():
    """§B.2 toy: ideal Grt, Bt, molecular Pl; constant ds62 298 K H, S, V (ΔCp = 0, incompressible)."""
    from petroinfer.thermo import endmember

    std = {e: (endmember(e).H0, endmember(e).S0, endmember(e).V0) for e in _B2}
    ph = _phases(ms=True)
    return GibbsSystem(ph, mode="fractionating", standard_states=std), std


def _b2_independent_forward(std, T, P, start, modes):
    """§B.2 forward by scipy.optimize.root on the 3 equilibria + 7 element balances (Fe, Mg, Ca, Na,
    K, Al, Si) at every (T_k, P_k); each new garnet shell leaves the effective bulk. Written from the
    notes' equations only (no petroinfer machinery)."""
    from scipy.optimize import root

    def g(e, t, p):
        h, s_, v = std[e]
        return h - t * s_ + (p - 1.0) * v

    def dG(t, p):
        r1 = g("ann", t, p) + 2 * g("ky", t, p) + g("q", t, p) - g("alm", t, p) - g("mu", t, p)
        r2 = g("phl", t, p) + 2 * g("ky", t, p) + g("q", t, p) - g("py", t, p) - g("mu", t, p)
        r3 = g("gr", t, p) + 2 * g("ky", t, p) + g("q", t, p) - 3 * g("an", t, p)
        return r1, r2, r3

    def comp(m, xan, xp, xg):
        xa = 1 - xp - xg
        return {  # Fe, Mg, Ca, Na, K, Al, Si per formula unit
            "grt": np.array([3 * xa, 3 * xp, 3 * xg, 0, 0, 2, 3]),
            "bt": np.array([3 * (1 - m), 3 * m, 0, 0, 1, 1, 3]),
            "ms": np.array([0, 0, 0, 0, 1, 3, 3.0]),
            "pl": np.array([0, 0, xan, 1 - xan, 0, 1 + xan, 3 - xan]),
            "ky": np.array([0, 0, 0, 0, 0, 2, 1.0]),
            "q": np.array([0, 0, 0, 0, 0, 0, 1.0]),
        }

    m, xan, xp, xg = start
    c = comp(m, xan, xp, xg)
    bulk = sum(modes[k] * c[k] for k in modes)
    z = np.array([m, xan, xp, xg, 0.0, *(modes[k] for k in ("bt", "ms", "pl", "ky", "q"))])
    out, grown = [], 0.0
    for t, p in zip(T, P, strict=True):
        d1, d2, d3 = dG(t, p)

        def f(z, t=t, d1=d1, d2=d2, d3=d3, bulk=bulk):
            m, xan, xp, xg = z[:4]
            xa = 1 - xp - xg
            c = comp(m, xan, xp, xg)
            n = dict(zip(("grt", "bt", "ms", "pl", "ky", "q"), z[4:], strict=True))
            eq = [d1 / (3 * R * t) + np.log((1 - m) / xa), d2 / (3 * R * t) + np.log(m / xp),
                  d3 / (3 * R * t) + np.log(xg / xan)]  # fmt: skip
            return np.concatenate([eq, sum(n[k] * c[k] for k in n) - bulk])

        sol = root(f, z, method="hybr", tol=1e-13)
        assert np.abs(f(sol.x)).max() < 1e-11
        z = sol.x
        shell = z[4] * comp(*z[:4])["grt"]
        bulk = bulk - shell
        grown += z[4]
        out.append((*z[:4], grown))
        z = z.copy()
        z[4] = 0.0
    return np.array(out)  # m, X_An, X_prp, X_grs, cumulative garnet


@pytest.mark.slow
def test_g5_gibbs_forward_matches_independent_root_solver():
    """G5: the Gibbs-machinery forward (closed + fractionating, T and P prescribed, Newton
    re-projection every shell) equals an independent scipy.optimize.root solution of the §B.2
    equations (3 equilibria + 7 mass balances per shell, shells removed from the bulk) — X_prp,
    X_grs, X_alm, m_Bt, X_An and cumulative garnet at s = 0.1 … 1.0."""
    from scipy.optimize import root

    sys_, std = _b2_constant_system()
    T0, P0 = 773.15, 5000.0
    d = {}
    for e in _B2:
        h, s_, v = std[e]
        d[e] = h - T0 * s_ + (P0 - 1) * v
    d1 = d["ann"] + 2 * d["ky"] + d["q"] - d["alm"] - d["mu"]
    d2 = d["phl"] + 2 * d["ky"] + d["q"] - d["py"] - d["mu"]
    d3 = d["gr"] + 2 * d["ky"] + d["q"] - 3 * d["an"]

    def start_eq(z):  # m, X_prp, X_grs at X_An = 0.30
        m, xp, xg = z
        rt3 = 3 * R * T0
        return [d1 / rt3 + np.log((1 - m) / (1 - xp - xg)), d2 / rt3 + np.log(m / xp),
                d3 / rt3 + np.log(xg / 0.30)]  # fmt: skip

    m0, xp0, xg0 = root(start_eq, [0.4, 0.1, 0.05], tol=1e-14).x
    modes = {"grt": 0.0, "bt": 1.0, "ms": 1.0, "pl": 0.5, "ky": 1.0, "q": 5.0}
    st = GibbsState(T0, P0, {"grt": np.array([1 - xp0 - xg0, xp0, xg0]),
                             "bt": np.array([1 - m0, m0]), "pl": np.array([0.7, 0.3])},
                    moles=modes)  # fmt: skip
    n = 40
    s = np.linspace(0, 1, n + 1)
    T, P = T0 + 100 * s, (5 + 5 * s - 2 * s**2) * 1000
    fw = integrate(sys_, st, {"T": T, "P": P}, reproject=True, monitors=[]).table
    ind = _b2_independent_forward(std, T[1:], P[1:], (m0, 0.30, xp0, xg0), modes)
    k = np.arange(4, n + 1, 4)  # s = 0.1, 0.2, …, 1.0
    got = fw.iloc[k]
    ref = ind[k - 1]
    assert np.allclose(got["bt:phl"], ref[:, 0], atol=1e-9)
    assert np.allclose(got["pl:an"], ref[:, 1], atol=1e-9)
    assert np.allclose(got["grt:py"], ref[:, 2], atol=1e-9)
    assert np.allclose(got["grt:gr"], ref[:, 3], atol=1e-9)
    assert np.allclose(got["grt:alm"], 1 - ref[:, 2] - ref[:, 3], atol=1e-9)
    assert np.allclose(got["grown"], ref[:, 4], rtol=1e-8, atol=1e-12)
    assert np.all(np.diff(ref[:, 4]) > 0) and ref[-1, 1] < 0.30  # garnet grows; Ca leaves Pl


def test_e2_water_driven_hydration():
    """§E.2 with water infiltration as the driver (H2O added per step, relict K-feldspar breaking
    down at −dM_rel = dn_w, which keeps K:H = 1:2 of the micas; water-limited: no free fluid phase
    — the ds62 subset has no H2O end-member/fluid EoS): (1) no water → no change; (2) progress
    linear in the water supply; (3) the differential path ends at the integrated-mode (Newton)
    equilibrium of the final effective bulk."""
    from petroinfer.thermo.gibbs import metapelite_system

    sys_ = metapelite_system("grt-bt-ms-pl-ky-qtz")
    st = GibbsState(773.15, 5000.0, {"grt": np.array([0.8, 0.1, 0.1]), "bt": np.array([0.6, 0.4]),
                                     "pl": np.array([0.7, 0.3])})  # fmt: skip
    st = sys_.reproject(st, ["T", "P", "pl:an"])
    closed = sys_.with_mode("closed")
    modes = {"grt": 0.2, "bt": 1.0, "ms": 1.0, "pl": 0.5, "ky": 1.0, "q": 5.0}
    st = closed.with_bulk(replace(st, moles=modes))
    g = {"T": 0.0, "P": 0.0}
    src = closed.asm.to_components({"san": 0.01, "H2O": 0.01})
    d0 = closed.solve_step(st, g)
    assert max(abs(v) for v in d0.values()) < 1e-12
    d1 = closed.solve_step(st, g, source=src)
    d2 = closed.solve_step(st, g, source=2 * src)
    for k in d1:
        assert d2[k] == pytest.approx(2 * d1[k], rel=1e-9, abs=1e-14)
    assert d1["n_ms"] > 0  # K-feldspar + water → muscovite (retrograde hydration)
    n = 11
    path = {"T": np.full(n, st.T), "P": np.full(n, st.P)}
    source = {"san": 0.01, "H2O": 0.01}
    diff = integrate(closed, st, path, source=source, monitors=[], method="rk4", substeps=4)
    newt = integrate(closed, st, path, source=source, monitors=[], reproject=True)
    a, b = diff.table, newt.table
    for col in ("grt:py", "grt:gr", "bt:phl", "pl:an", "n_ms", "n_bt", "n_grt"):
        assert np.abs(a[col] - b[col]).max() < 1e-7, col
    # reaction progress (new muscovite) proportional to the water supplied (finding 1 of §E.1)
    dms = np.diff(b["n_ms"].to_numpy())
    assert np.allclose(dms, dms[0], rtol=0.02)
    # mass is conserved: final bulk = initial + sources
    end = newt.states[-1]
    added = (n - 1) * src
    assert np.abs(closed.bulk(end) - (st.bulk + added)).max() < 1e-12 * np.abs(st.bulk).max() * 10
