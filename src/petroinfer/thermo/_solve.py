"""Vectorised solvers and linearised uncertainties of the thermobarometric equilibria.

Private module behind :mod:`petroinfer.thermo.thermobarometry`. Every residual is
``ΔG°(T, P) + k0(c) + kT(c)·T + kP(c)·P``: the composition terms k are evaluated once per a–x model
(:func:`_coefficients`); linear calibrations are solved in closed form, ds62 standard states by Newton
iteration on a spline followed by exact polishing. Rows are processed in blocks of :data:`_BLOCK`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike

from petroinfer.thermo._inputs import _grt_total
from petroinfer.thermo.solutions import SolutionModel

if TYPE_CHECKING:  # pragma: no cover
    from petroinfer.thermo.thermobarometry import Equilibrium


def _combine(a: np.ndarray, nu: tuple[tuple[int, float], ...]) -> np.ndarray:
    """Σ ν_i a[..., i] over the end-members taking part (others never enter, even if ±inf)."""
    i0, v0 = nu[0]
    out = a[..., i0] if v0 == 1.0 else (-a[..., i0] if v0 == -1.0 else v0 * a[..., i0])
    for i, v in nu[1:]:
        out = (
            out + a[..., i] if v == 1.0 else (out - a[..., i] if v == -1.0 else out + v * a[..., i])
        )
    return out


def _model_key(model: SolutionModel) -> tuple:
    return model.key


def _phase_terms(model: SolutionModel, x: np.ndarray, nu) -> np.ndarray:
    """Σν ln a^ideal, Σν μ_H, Σν μ_S, Σν μ_V of one phase, shape (n, 4)."""
    idx = [i for i, _ in nu]
    sub = tuple((a, v) for a, (_, v) in enumerate(nu))  # ν on the selected columns
    out = np.empty((len(x), 4), order="F")
    out[:, 0] = _combine(model.ln_ideal_activity(x, idx), sub)
    b = model.mu_excess_basis(x, idx)
    if b.shape[1]:
        comb, W = _combine(b, sub), model.w_table()
        for p in range(3):
            out[:, 1 + p] = comb @ W[:, p]
    else:
        out[:, 1:] = 0.0
    return out


def _phase_inputs(eq: Equilibrium, c: np.ndarray):
    """((key, model, x, ν) for garnet, then for the partner phase) of ``eq`` at compositions ``c``."""
    nug, nup = eq._nu()
    return (
        (("Grt", *_model_key(eq.garnet)), eq.garnet, eq._garnet_x, nug),
        ((eq.kind, *_model_key(eq.partner)), eq.partner, eq._partner_x, nup),
    )


def _terms_to_k(eq: Equilibrium, g: np.ndarray, p: np.ndarray) -> np.ndarray:
    t = g + p
    k = np.empty((len(t), 3), order="F")
    k[:, 0] = t[:, 1]
    k[:, 1] = eq.gas_constant * t[:, 0] - t[:, 2]
    k[:, 2] = t[:, 3]
    return k


def _coefficients(eqs, c: np.ndarray) -> list[np.ndarray]:
    """:meth:`Equilibrium.linear_coefficients` of several equilibria at the same compositions, each a–x
    model evaluated once per phase (e.g. HS82 garnet shared by HS82 and KN88)."""
    cache: dict = {}
    xs: dict = {}
    out = []
    for eq in eqs:
        parts = []
        for key, model, to_x, nu in _phase_inputs(eq, c):
            ck = (key, nu)
            if ck not in cache:
                if key[0] not in xs:
                    xs[key[0]] = to_x(c)
                cache[ck] = _phase_terms(model, xs[key[0]], nu)
            parts.append(cache[ck])
        out.append(_terms_to_k(eq, *parts))
    return out


def _in_domain(T, P) -> np.ndarray:
    """Inside the tabulated ds62 standard-state domain (300–1600 K, −2–40 kbar)."""
    return (
        (np.asarray(T) > 300.0)
        & (np.asarray(T) < 1600.0)
        & (np.asarray(P) > -2000.0)
        & (np.asarray(P) < 40000.0)
    )


def _polish(eq: Equilibrium, fast, T, P, c, var: str, n_iter: int = 2):
    """Newton steps with the exact residual after iterating on the spline (nonlinear ΔG° only)."""
    if getattr(fast, "exact", True):
        return T, P
    m = (np.abs(fast(T, P)) < 10.0) & _in_domain(T, P)
    if not m.any():
        return T, P
    T, P = np.array(T, dtype=float), np.array(P, dtype=float)
    Tm, Pm, cm = T[m], P[m], c[m]
    fm = eq.fast_residual(cm)
    for _ in range(n_iter):
        r = eq.residual(Tm, Pm, cm)
        if var == "T":
            Tm = Tm - r / ((fm(Tm + 0.01, Pm) - fm(Tm - 0.01, Pm)) / 0.02)
        else:
            Pm = Pm - r / ((fm(Tm, Pm + 1.0) - fm(Tm, Pm - 1.0)) / 2.0)
    T[m], P[m] = Tm, Pm
    return T, P


#: Newton settings per unknown: start, finite-difference step, largest step, bounds, tolerance.
_NEWTON_1D = {
    "T": (900.0, 0.01, 300.0, (300.0, 2500.0), 1e-7),  # K
    "P": (6000.0, 1.0, 1e4, (-5e3, 8e4), 1e-5),  # bar
}


def _solve_1d(
    eq: Equilibrium, var: str, fixed: np.ndarray, c: np.ndarray, k: np.ndarray | None = None
) -> np.ndarray:
    """Solve ``eq`` row by row for T (``var="T"``, P fixed) or P (``var="P"``, T fixed).

    Vectorised Newton on the spline residual over the rows still moving, then the exact-residual
    polish; rows that do not converge are NaN.
    """
    x0, h, max_step, (lo, hi), tol = _NEWTON_1D[var]
    k = eq.linear_coefficients(c) if k is None else k
    std = eq.fast_standard()
    fixed = np.broadcast_to(np.asarray(fixed, dtype=float), (len(c),))
    if std.exact:  # residual linear in the unknown: the Newton fixed point directly
        a, b, d = _linear_rows(std, k)
        with np.errstate(divide="ignore", invalid="ignore"):
            x = -(a + d * fixed) / b if var == "T" else -(a + b * fixed) / d
        T = x if var == "T" else fixed
        ok = (T > _T_BOX[0] + 1) & (T < _T_BOX[1] - 1) & (x >= lo) & (x <= hi)
        return np.where(ok, x, np.nan)
    f = eq.fast_residual(c, k)
    x = np.full(len(c), x0)

    def tp(xa, fa):  # (T, P) in the residuals' argument order
        return (xa, fa) if var == "T" else (fa, xa)

    act = np.arange(len(c))
    for _ in range(60):
        g = _subset_residual(std, k[act])
        xa, fa = x[act], fixed[act]
        step = g(*tp(xa, fa)) / ((g(*tp(xa + h, fa)) - g(*tp(xa - h, fa))) / (2 * h))
        x[act] = np.clip(xa - np.clip(step, -max_step, max_step), lo, hi)
        act = act[np.abs(step) >= tol]
        if act.size == 0:
            break
    T, P = _polish(eq, f, *tp(x, fixed), c, var)
    ok = _converged(eq, f, T, P, c)
    return np.where(ok, T if var == "T" else P, np.nan)


def _converged(eq: Equilibrium, fast, T, P, c) -> np.ndarray:
    T = np.broadcast_to(T, (len(c),))
    P = np.broadcast_to(P, (len(c),))
    m = (np.abs(fast(T, P)) < 10.0) & (T > 301) & (T < 2499)
    if not getattr(fast, "exact", True):
        m &= _in_domain(T, P)
    ok = np.zeros(len(c), dtype=bool)
    if m.any():
        ok[m] = np.abs(eq.residual(T[m], P[m], c[m])) < 1e-3
    return ok


def _jac_tp(fs, T, P, hT=0.01, hP=1.0):
    J = np.empty((len(T), len(fs), 2))
    for i, f in enumerate(fs):
        J[:, i, 0] = (f(T + hT, P) - f(T - hT, P)) / (2 * hT)
        J[:, i, 1] = (f(T, P + hP) - f(T, P - hP)) / (2 * hP)
    return J


def _subset_residual(std, k):
    def r(T, P):
        return std(T, P) + k[:, 0] + k[:, 1] * T + k[:, 2] * P

    return r


def _newton_step(fs_r, fs_j, T, P):
    r = np.stack([f(T, P) for f in fs_r], axis=1)
    J = _jac_tp(fs_j, T, P)
    det = J[:, 0, 0] * J[:, 1, 1] - J[:, 0, 1] * J[:, 1, 0]
    det = np.where(np.abs(det) < 1e-300, np.nan, det)
    dT = np.nan_to_num((J[:, 1, 1] * r[:, 0] - J[:, 0, 1] * r[:, 1]) / det)
    dP = np.nan_to_num((-J[:, 1, 0] * r[:, 0] + J[:, 0, 0] * r[:, 1]) / det)
    return dT, dP


def solve_pt(
    thermo_eq: Equilibrium,
    baro_eq: Equilibrium,
    c: ArrayLike,
    T0: float = 850.0,
    P0: float = 6000.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Simultaneous (T [K], P [bar]) of a thermometer–barometer pair, row by row, vectorised.

    Parameters
    ----------
    thermo_eq : Equilibrium
        The garnet–biotite thermometer (:func:`~petroinfer.thermo.thermometer`).
    baro_eq : Equilibrium
        The GASP barometer (:func:`~petroinfer.thermo.barometer`).
    c : array_like
        Compositions, shape (n, 6), in ``COMPOSITION_COLUMNS`` order.
    T0 : float
        Starting temperature (K) of the Newton iteration.
    P0 : float
        Starting pressure (bar) of the Newton iteration.

    Returns
    -------
    T : numpy.ndarray
        Temperature (K), shape (n,); NaN where there is no solution.
    P : numpy.ndarray
        Pressure (bar), shape (n,); NaN where there is no solution.

    Notes
    -----
    Each residual is ``r = ΔG°(T, P) + k0(c) + kT(c) T + kP(c) P`` (:meth:`Equilibrium.linear_coefficients`).
    When both ΔG° are linear (FS78, HS82, KN88 with kyanite) the pair is a linear system in (T, P), solved
    by Cramer's rule; this is the fixed point of the Newton iteration, and rows outside the iteration's
    search box (301–2499 K, −5 to 80 kbar) are NaN. Otherwise a damped 2-D Newton iteration runs on
    :meth:`Equilibrium.fast_residual` (ds62 standard states from a spline) and finishes with two Newton
    steps on the exact residuals. Rows that do not converge are NaN (the caller warns).
    """
    c = np.atleast_2d(np.asarray(c, dtype=float))
    return _solve_pair(thermo_eq, baro_eq, c, tuple(_coefficients((thermo_eq, baro_eq), c)), T0, P0)


def _solve_pair(thermo_eq, baro_eq, c, ks, T0=850.0, P0=6000.0):
    """:func:`solve_pt` with the composition coefficients ``ks`` of both equilibria given."""
    stds = (thermo_eq.fast_standard(), baro_eq.fast_standard())
    if stds[0].exact and stds[1].exact:
        return _solve_linear_pair(stds, ks)
    fs = (thermo_eq.fast_residual(c, ks[0]), baro_eq.fast_residual(c, ks[1]))
    T = np.full(len(c), T0)
    P = np.full(len(c), P0)
    act = np.arange(len(c))  # rows still iterating (active set)
    for _ in range(60):
        sub = tuple(_subset_residual(std, k[act]) for std, k in zip(stds, ks, strict=True))
        dT, dP = _newton_step(sub, sub, T[act], P[act])
        scale = np.minimum(
            1.0,
            np.minimum(300 / np.maximum(np.abs(dT), 1e-12), 1e4 / np.maximum(np.abs(dP), 1e-12)),
        )
        T[act] = np.clip(T[act] - scale * dT, 300.0, 2500.0)
        P[act] = np.clip(P[act] - scale * dP, -5e3, 8e4)
        act = act[~((np.abs(dT) < 1e-7) & (np.abs(dP) < 1e-5))]
        if act.size == 0:
            break
    if not (fs[0].exact and fs[1].exact):
        m = (np.abs(fs[0](T, P)) < 10.0) & (np.abs(fs[1](T, P)) < 10.0) & _in_domain(T, P)
        if m.any():
            cm = c[m]
            exact = (
                lambda T, P: thermo_eq.residual(T, P, cm),
                lambda T, P: baro_eq.residual(T, P, cm),
            )
            fm = (thermo_eq.fast_residual(cm), baro_eq.fast_residual(cm))
            Tm, Pm = T[m], P[m]
            for _ in range(2):
                dT, dP = _newton_step(exact, fm, Tm, Pm)
                Tm, Pm = Tm - dT, Pm - dP
            T, P = T.copy(), P.copy()
            T[m], P[m] = Tm, Pm
    m = (np.abs(fs[0](T, P)) < 10.0) & (np.abs(fs[1](T, P)) < 10.0) & (T > 301) & (T < 2499)
    if not (fs[0].exact and fs[1].exact):
        m &= _in_domain(T, P)
    ok = np.zeros(len(c), dtype=bool)
    if m.any():
        ok[m] = (np.abs(thermo_eq.residual(T[m], P[m], c[m])) < 1e-3) & (
            np.abs(baro_eq.residual(T[m], P[m], c[m])) < 1e-3
        )
    return np.where(ok, T, np.nan), np.where(ok, P, np.nan)


#: Box in which the Newton iterations search (T in K, P in bar); solutions outside it are NaN.
_T_BOX = (300.0, 2500.0)
_P_BOX = (-5e3, 8e4)


def _linear_rows(std, k: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(a, b, d) with residual = a + b T + d P exactly, for a linear ΔG° (``std.linear``)."""
    a0, aT, aP = std.linear
    return a0 + k[:, 0], aT + k[:, 1], aP + k[:, 2]


def _solve_linear_pair(stds, ks) -> tuple[np.ndarray, np.ndarray]:
    """Both residuals linear in (T, P): the Newton iteration's fixed point by Cramer's rule.

    Rows whose solution lies outside the Newton search box (301–2499 K, −5–80 kbar) or whose
    system is singular are NaN, as in the iterative solver.
    """
    a1, b1, d1 = _linear_rows(stds[0], ks[0])
    a2, b2, d2 = _linear_rows(stds[1], ks[1])
    with np.errstate(divide="ignore", invalid="ignore"):
        det = b1 * d2 - d1 * b2
        T = (d1 * a2 - a1 * d2) / det
        P = (a1 * b2 - b1 * a2) / det
    ok = (T > _T_BOX[0] + 1) & (T < _T_BOX[1] - 1) & (P >= _P_BOX[0]) & (P <= _P_BOX[1])
    return np.where(ok, T, np.nan), np.where(ok, P, np.nan)


#: Rows per block in :func:`thermobarometry`: the temporaries of a block stay in the CPU cache and below
#: the allocator's mmap threshold, which makes map-sized inputs several times faster than one big pass.
_BLOCK = 8192


def _take(a: np.ndarray | None, sl: slice) -> np.ndarray | None:
    return a if a is None or np.ndim(a) == 0 else a[sl]


def _blockwise(fn, c: np.ndarray, *args, n_out: int):
    """``fn(c, *args)`` applied to blocks of :data:`_BLOCK` rows (row arguments sliced alike), stitched."""
    n = len(c)
    if n <= _BLOCK:
        return fn(c, *args)
    outs = [np.empty(n) for _ in range(n_out)]
    for start in range(0, n, _BLOCK):
        sl = slice(start, min(start + _BLOCK, n))
        res = fn(c[sl], *(_take(a, sl) for a in args))
        for o, r in zip(outs, res, strict=True):
            o[sl] = r
    return tuple(outs)


def _active(teq, beq, T_fixed, P_fixed) -> list:
    """The equilibria solved: the thermometer at fixed P, the barometer at fixed T, else both."""
    if P_fixed is not None:
        return [teq]
    if T_fixed is not None:
        return [beq]
    return [teq, beq]


def _solve_mode(teq, beq, c, T_fixed, P_fixed, ks=None):
    """(T, P) of each row: one equilibrium at the fixed condition, or the pair (``ks``: coefficients)."""
    eqs = _active(teq, beq, T_fixed, P_fixed)
    ks = _coefficients(eqs, c) if ks is None else ks
    if T_fixed is not None:
        return np.broadcast_to(T_fixed, (len(c),)).astype(float), _solve_1d(
            beq, "P", T_fixed, c, ks[0]
        )
    if P_fixed is not None:
        return _solve_1d(teq, "T", P_fixed, c, ks[0]), np.broadcast_to(P_fixed, (len(c),)).astype(
            float
        )
    return _solve_pair(teq, beq, c, tuple(ks))


def _solve_block(teq, beq, c, T_fixed, P_fixed, sig, linear: bool):
    """Solve one block of rows and, if ``linear``, its linearised SDs, sharing the composition terms."""
    ks = _coefficients(_active(teq, beq, T_fixed, P_fixed), c)
    T, P = _solve_mode(teq, beq, c, T_fixed, P_fixed, ks)
    if not linear:
        return T, P
    return (T, P, *_linear_sd(teq, beq, c, T, P, sig, T_fixed, P_fixed, ks))


def _phase_terms_jacobian(model: SolutionModel, x: np.ndarray, nu) -> np.ndarray:
    """∂/∂x_k of :func:`_phase_terms` (x_k independent), shape (4, m, n) (rows last, contiguous), from
    the analytic derivatives of the a–x model."""
    idx = [i for i, _ in nu]
    coef = [v for _, v in nu]
    dL = model.ln_ideal_activity_jacobian(x, idx)  # (n, a, m), rows contiguous
    dB = model.mu_excess_basis_jacobian(x, idx)  # (n, nt, a, m)
    out = np.empty((4, x.shape[1], x.shape[0]))
    out[0] = sum(v * dL[:, a, :].T for a, v in enumerate(coef))
    if dB.shape[1]:
        W = model.w_table()
        comb = [sum(v * dB[:, t, a, :].T for a, v in enumerate(coef)) for t in range(dB.shape[1])]
        for p in range(3):
            out[1 + p] = sum(W[t, p] * comb[t] for t in range(len(comb)) if W[t, p] != 0.0)
    else:
        out[1:] = 0.0
    return out


#: Composition columns → model mole fractions of the partner phase: d x / d c_col.
_PARTNER_DX = {"thermometer": (4, (1.0, -1.0)), "barometer": (5, (-1.0, 1.0, 0.0))}
_GARNET_COLUMNS = (
    1,
    0,
    3,
    2,
)  # model order py, alm, spss, gr ← Grt_XPrp, Grt_XAlm, Grt_XSps, Grt_XGrs


def _composition_jacobian(eqs, c: np.ndarray, T: np.ndarray, P: np.ndarray) -> np.ndarray:
    """∂r_i/∂c_j (J per unit mole fraction), shape (n, len(eqs), 6), analytically.

    ΔG° does not depend on c, so only the composition terms enter: the chain rule through the garnet
    normalisation x_k = c_π(k)/Σc (∂x_k/∂c_j = (δ_kπ⁻¹(j) − x_k)/Σc) and the partner fractions
    (x_phl = X_Mg, x_ann = 1 − X_Mg; x_an = X_An, x_ab = 1 − X_An) of the a–x models' analytic
    derivatives; each a–x model is evaluated once per phase.
    """
    n, ncol = c.shape
    J = np.zeros((len(eqs), ncol, n))  # columns contiguous: cheap row-wise arithmetic below
    cache: dict = {}
    for i, eq in enumerate(eqs):
        for key, model, to_x, nu in _phase_inputs(eq, c):
            ck = (key, nu)
            if ck not in cache:
                x = to_x(c)
                cache[ck] = (np.ascontiguousarray(x.T), _phase_terms_jacobian(model, x, nu))
            x, dt = cache[ck]
            # ∂r/∂x_k = R T ∂lnK/∂x_k + ∂H/∂x_k − T ∂S/∂x_k + P ∂V/∂x_k
            g = (eq.gas_constant * T) * dt[0] + dt[1] - T * dt[2] + P * dt[3]  # (m, n)
            if key[0] == "Grt":
                mean = ((x[0] * g[0] + x[1] * g[1]) + x[2] * g[2]) + x[3] * g[3]
                inv_total = 1.0 / _grt_total(c)
                for k, j in enumerate(_GARNET_COLUMNS):  # ∂x_k/∂c_j = (δ − x_k)/Σc
                    J[i, j] += (g[k] - mean) * inv_total
            else:
                col, dx = _PARTNER_DX[key[0]]
                J[i, col] += sum(v * g[k] for k, v in enumerate(dx) if v)
    return J


def _linear_sd(teq, beq, c, T, P, sig, T_fixed, P_fixed, ks=None):
    """Linearised SDs (and T–P correlation) by the implicit-function theorem: dθ = −J_θ⁻¹ J_c dc."""
    n = len(c)
    eqs = _active(teq, beq, T_fixed, P_fixed)
    Tq = np.nan_to_num(T, nan=900.0)
    Pq = np.nan_to_num(P, nan=5000.0)
    Jx = _composition_jacobian(eqs, c, Tq, Pq)  # (n_eq, 6, n)
    ks = _coefficients(eqs, c) if ks is None else ks
    stds = [eq.fast_standard() for eq in eqs]
    if all(std.exact for std in stds):  # linear residuals: ∂r/∂T = a_T + k_T, ∂r/∂P = a_P + k_P
        Jt = np.empty((n, len(eqs), 2))
        for i, (std, k) in enumerate(zip(stds, ks, strict=True)):
            _a, Jt[:, i, 0], Jt[:, i, 1] = _linear_rows(std, k)
    else:
        Jt = _jac_tp([eq.fast_residual(c, k) for eq, k in zip(eqs, ks, strict=True)], Tq, Pq)
    S2 = np.ascontiguousarray((sig**2).T)  # (6, n), rows contiguous
    zero = np.zeros(n)
    with np.errstate(divide="ignore", invalid="ignore"):
        if len(eqs) == 2:
            # A = −Jt⁻¹ Jx with the 2×2 inverse written out (rows are independent)
            j00, j01, j10, j11 = (np.ascontiguousarray(Jt[:, i, j]) for i, j in np.ndindex(2, 2))
            inv_det = 1.0 / (j00 * j11 - j01 * j10)
            vT, vP, cTP = zero.copy(), zero.copy(), zero.copy()
            for j in range(Jx.shape[1]):
                aT = -(j11 * Jx[0, j] - j01 * Jx[1, j]) * inv_det
                aP = -(j00 * Jx[1, j] - j10 * Jx[0, j]) * inv_det
                vT += aT * aT * S2[j]
                vP += aP * aP * S2[j]
                cTP += aT * aP * S2[j]
            sdT, sdP = np.sqrt(vT), np.sqrt(vP)
            rho = cTP / np.maximum(sdT * sdP, 1e-300)
        else:
            slope = Jt[:, 0, 0] if P_fixed is not None else Jt[:, 0, 1]
            var = sum((Jx[0, j] / slope) ** 2 * S2[j] for j in range(Jx.shape[1]))
            sd, rho = np.sqrt(var), np.full(n, np.nan)
            sdT, sdP = (sd, zero) if P_fixed is not None else (zero, sd)
    bad = ~np.isfinite(T) | ~np.isfinite(P)
    return np.where(bad, np.nan, sdT), np.where(bad, np.nan, sdP), np.where(bad, np.nan, rho)
