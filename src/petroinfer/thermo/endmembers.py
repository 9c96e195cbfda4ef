"""End-member thermodynamics: the Holland & Powell (2011) equation of state and the ds62 parameter table.

Everything is vectorised over temperature ``T`` (K) and pressure ``P`` (bar); energies are in J/mol,
entropies in J/K/mol and volumes in J/bar/mol (1 J/bar = 10 cm³). The parameters of the 17 end-members
needed for garnet–biotite–plagioclase–white-mica–Al2SiO5–quartz thermobarometry are the published ds62
values (Holland & Powell 2011, THERMOCALC file ``tc-ds62.txt``), transcribed into
``thermo/data/ds62_subset.csv``.

Notes
-----
Heat capacity (Holland & Powell 2011, eq. 2 and its integrals)::

    Cp = a + b T + c / T² + d / √T
    H(T, 1 bar) = H0 + a (T − Tr) + b/2 (T² − Tr²) − c (1/T − 1/Tr) + 2 d (√T − √Tr)
    S(T, 1 bar) = S0 + a ln(T/Tr) + b (T − Tr) − c/2 (1/T² − 1/Tr²) − 2 d (1/√T − 1/√Tr)

Pressure (modified Tait equation with an Einstein thermal pressure; Holland & Powell 2011, eqs 3–4)::

    a = (1 + K′) / (1 + K′ + K K″),  b = K′/K − K″/(1 + K′),  c = (1 + K′ + K K″) / (K′² + K′ − K K″)
    θ = 10636 / (S0/n + 6.44),  ξ0 = u0² e^u0 / (e^u0 − 1)²,  u0 = θ/Tr
    Pth = α0 K0 θ / ξ0 · [1/(e^(θ/T) − 1) − 1/(e^u0 − 1)]
    V = V0 [1 − a (1 − (1 + b (P − Pth))^(−c))]
    ∫V dP = P V0 [1 − a + a ((1 − b Pth)^(1−c) − (1 + b (P − Pth))^(1−c)) / (b (c − 1) P)]

with P measured from the 1-bar reference pressure of H0 and S0 (P → P − 1 bar).

Quartz α–β transition: tricritical Landau model of Holland & Powell (1998, 2011) with Q⁴ = (Tc − T)/Tc0,
Tc = Tc0 + Vmax (P − 1)/Smax, relative to the 298 K state Q0⁴ = (Tc0 − Tr)/Tc0::

    G_L = Tc0 Smax (Q0² − Q0⁶/3) − Smax (Tc Q² − Tc0 Q⁶/3) − T Smax (Q0² − Q²) + (P − 1) Vmax Q0²

Al–Si order–disorder (ab, an, san, sill): Bragg–Williams model of Holland & Powell (1996, Am. Mineral.
81:1413, appendix eqs A2-2, A2-4), with the equilibrium order parameter found by vectorised bisection.

References
----------
Holland T.J.B., Powell R. (2011) J. Metamorph. Geol. 29:333–383.
Holland T.J.B., Powell R. (1998) J. Metamorph. Geol. 16:309–343.
Holland T.J.B., Powell R. (1996) Am. Mineral. 81:1413–1424.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from petroinfer.errors import InputError, ModelError, format_value
from petroinfer.thermo._accessors import PropertyAccessors
from petroinfer.thermo._fluid import FluidEndmember, load_fluids
from petroinfer.units import GAS_CONSTANT, bar_to_kbar, celsius_to_kelvin, kelvin_to_celsius

__all__ = [
    "DS62_ENDMEMBERS",
    "DS62_FLUIDS",
    "Endmember",
    "al2sio5_lines",
    "al2sio5_triple_point",
    "ds62_table",
    "endmember",
    "equilibrium_pressure",
    "equilibrium_temperature",
    "reaction_properties",
]

T_REF = 298.15
P_REF = 1.0
#: Names of the end-members in the shipped ds62 subset.
DS62_ENDMEMBERS = (
    "alm", "py", "gr", "spss", "ann", "phl", "east", "mu", "pa", "cel",
    "ab", "an", "san", "q", "ky", "sill", "and",
)  # fmt: skip
#: Fluid end-members (ideal-gas standard state + CORK equation of state, :mod:`petroinfer.thermo._fluid`).
DS62_FLUIDS = ("H2O",)


def _as_tp(T: ArrayLike, P: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    T, P = np.broadcast_arrays(np.asarray(T, dtype=float), np.asarray(P, dtype=float))
    if np.any(~np.isfinite(T)) or np.any(T <= 0):
        raise InputError("temperatures must be finite and > 0 K", value=float(np.nanmin(T)))
    if np.any(~np.isfinite(P)):
        raise InputError("pressures must be finite (bar)")
    return T, P


@dataclass(frozen=True)
class Endmember(PropertyAccessors):
    """One end-member of the Holland & Powell (2011) dataset.

    Parameters are in petroinfer units (J, J/K, J/bar, bar); see the module docstring for the equations.
    Instances are obtained with :func:`endmember`.

    Parameters
    ----------
    name : str
        THERMOCALC abbreviation (``"alm"``, ``"ky"``, ...).
    formula : str
        Chemical formula.
    H0 : float
        Enthalpy of formation from the elements at 298.15 K, 1 bar (J/mol).
    S0 : float
        Third-law entropy at 298.15 K, 1 bar (J/K/mol).
    V0 : float
        Volume at 298.15 K, 1 bar (J/bar/mol).
    cp : tuple of float
        Heat-capacity coefficients (a, b, c, d) of Cp = a + bT + c/T² + d/√T (J/K/mol).
    alpha0 : float
        Thermal-expansion parameter α0 (1/K).
    K0 : float
        Bulk modulus at 298.15 K (bar).
    K0_prime : float
        Pressure derivative of the bulk modulus.
    K0_dprime : float
        Second pressure derivative of the bulk modulus (1/bar).
    n_atoms : float
        Atoms per formula unit (Einstein temperature).
    landau : tuple of float, optional
        Landau parameters (Tc0 [K], Smax [J/K], Vmax [J/bar]) or None.
    bragg_williams : tuple of float, optional
        Bragg–Williams parameters (ΔH [J], ΔV [J/bar], W [J], W_V [J/bar], n, factor) or None.

    Examples
    --------
    >>> from petroinfer.thermo import endmember
    >>> round(float(endmember("ky").volume(298.15, 1.0)), 3)
    4.414
    """

    name: str
    formula: str
    H0: float
    S0: float
    V0: float
    cp: tuple[float, float, float, float]
    alpha0: float
    K0: float
    K0_prime: float
    K0_dprime: float
    n_atoms: float
    landau: tuple[float, float, float] | None = None  # Tc0, Smax, Vmax
    bragg_williams: tuple[float, float, float, float, float, float] | None = None

    def __repr__(self) -> str:
        return f"Endmember({self.name!r}, {self.formula}, H0={self.H0:.6g} J, S0={self.S0:.6g} J/K)"

    # ------------------------------------------------------------------ 1 bar part
    def _cp_integrals(self, T: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        a, b, c, d = self.cp
        Tr = T_REF
        dH = (
            a * (T - Tr)
            + 0.5 * b * (T**2 - Tr**2)
            - c * (1 / T - 1 / Tr)
            + 2 * d * (np.sqrt(T) - np.sqrt(Tr))
        )
        dS = (
            a * np.log(T / Tr)
            + b * (T - Tr)
            - 0.5 * c * (1 / T**2 - 1 / Tr**2)
            - 2 * d * (1 / np.sqrt(T) - 1 / np.sqrt(Tr))
        )
        return dH, dS

    # ------------------------------------------------------------------ Tait part
    def _tait(self):
        K0, Kp, Kpp = self.K0, self.K0_prime, self.K0_dprime
        a = (1 + Kp) / (1 + Kp + K0 * Kpp)
        b = Kp / K0 - Kpp / (1 + Kp)
        c = (1 + Kp + K0 * Kpp) / (Kp**2 + Kp - K0 * Kpp)
        return a, b, c

    def _thermal_pressure(self, T: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        theta = 10636.0 / (self.S0 / self.n_atoms + 6.44)
        u0 = theta / T_REF
        xi0 = u0**2 * np.exp(u0) / np.expm1(u0) ** 2
        pref = self.alpha0 * self.K0 * theta / xi0
        u = theta / T
        pth = pref * (1 / np.expm1(u) - 1 / np.expm1(u0))
        dpth_dT = pref * (u / T) * np.exp(u) / np.expm1(u) ** 2
        return pth, dpth_dT

    def _pressure_terms(self, T: np.ndarray, P: np.ndarray):
        a, b, c = self._tait()
        pth, dpth = self._thermal_pressure(T)
        P = P - P_REF  # H0 and S0 refer to 1 bar: integrate V dP from 1 bar
        inner = 1 + b * (P - pth)
        if np.any(inner <= 0) or np.any(1 - b * pth <= 0):
            raise ModelError(
                f"{self.name}: (P, T) outside the domain of the Tait equation of state"
            )
        V = self.V0 * (1 - a * (1 - inner ** (-c)))
        with np.errstate(invalid="ignore", divide="ignore"):
            intvdp = P * self.V0 * (1 - a) + self.V0 * a * (
                (1 - b * pth) ** (1 - c) - inner ** (1 - c)
            ) / (b * (c - 1))
        dF_dpth = self.V0 * a * ((1 - b * pth) ** (-c) - inner ** (-c))
        return intvdp, V, -dF_dpth * dpth

    # ------------------------------------------------------------------ ordering
    def _landau_terms(self, T: np.ndarray, P: np.ndarray):
        Tc0, Smax, Vmax = self.landau  # type: ignore[misc]
        Q0sq = np.sqrt((Tc0 - T_REF) / Tc0) if T_REF < Tc0 else 0.0
        Tc = Tc0 + Vmax * (P - 1.0) / Smax
        Qsq = np.sqrt(np.clip((Tc - T) / Tc0, 0.0, None))
        G = (
            Tc0 * Smax * (Q0sq - Q0sq**3 / 3)
            - Smax * (Tc * Qsq - Tc0 * Qsq**3 / 3)
            - T * Smax * (Q0sq - Qsq)
            + (P - 1.0) * Vmax * Q0sq
        )
        S = Smax * (Q0sq - Qsq)
        V = Vmax * (Q0sq - Qsq)
        return G, S, V

    def _bw_terms(self, T: np.ndarray, P: np.ndarray):
        dH, dV, W, Wv, n, factor = self.bragg_williams  # type: ignore[misc]
        f0, f1 = (factor, factor) if factor > 0 else (1.0, -factor)
        R = GAS_CONSTANT
        Hd = dH + P * dV
        Wt = W + P * Wv

        def resid(Q):
            return (
                Hd
                + R
                * T
                * n
                / (n + 1)
                * (
                    f0 * np.log(n * (1 - Q))
                    + f1 * np.log(1 - Q)
                    - f0 * np.log(1 + n * Q)
                    - f1 * np.log(n + Q)
                )
                + (2 * Q - 1) * Wt
            )

        lo = np.full(T.shape, 1e-12)
        hi = np.full(T.shape, 1 - 1e-12)
        has_root = (resid(lo) > 0) & (resid(hi) < 0)
        for _ in range(60):  # vectorised bisection, |Q error| < 1e-18
            mid = 0.5 * (lo + hi)
            pos = resid(mid) > 0
            lo = np.where(pos, mid, lo)
            hi = np.where(pos, hi, mid)
        Q = np.where(has_root, 0.5 * (lo + hi), 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):

            def xlogx(w, y):
                return np.where(w > 0, w * np.log(np.where(y > 0, y, 1.0)), 0.0)

            S = (
                -R
                * (
                    f0
                    * (
                        xlogx(1 + n * Q, (1 + n * Q) / (n + 1))
                        + xlogx(n * (1 - Q), n * (1 - Q) / (n + 1))
                    )
                    + f1
                    * (
                        xlogx(n * (1 - Q), (1 - Q) / (n + 1))
                        + xlogx(n * (n + Q), (n + Q) / (n + 1))
                    )
                )
                / (n + 1)
            )
        G = (1 - Q) * Hd + (1 - Q) * Q * Wt - T * S
        V = (1 - Q) * dV + (1 - Q) * Q * Wv
        return G, S, V

    # ------------------------------------------------------------------ public
    def properties(self, T: ArrayLike, P: ArrayLike) -> dict[str, np.ndarray]:
        """G, H, S, V at (T [K], P [bar]); arrays broadcast together.

        Returns
        -------
        dict
            ``G`` (J/mol, apparent Gibbs energy of formation from the elements, HP convention),
            ``H`` (J/mol), ``S`` (J/K/mol), ``V`` (J/bar/mol).
        """
        T, P = _as_tp(T, P)
        dH, dS = self._cp_integrals(T)
        intvdp, V, dS_p = self._pressure_terms(T, P)
        S = self.S0 + dS + dS_p
        G = self.H0 + dH - T * (self.S0 + dS) + intvdp
        if self.landau is not None:
            gl, sl, vl = self._landau_terms(T, P)
            G, S, V = G + gl, S + sl, V + vl
        if self.bragg_williams is not None:
            gb, sb, vb = self._bw_terms(T, P)
            G, S, V = G + gb, S + sb, V + vb
        return {"G": G, "H": G + T * S, "S": S, "V": V}

    def heat_capacity(self, T: ArrayLike, P: ArrayLike, dT: float = 0.05) -> np.ndarray:
        """Isobaric heat capacity Cp = T (∂S/∂T)_P (J/K/mol), by a central difference of the analytic S."""
        T, P = _as_tp(T, P)
        return T * (self.entropy(T + dT, P) - self.entropy(T - dT, P)) / (2 * dT)


def _opt(row: pd.Series, key: str) -> float | None:
    v = row[key]
    return None if pd.isna(v) else float(v)


@functools.cache
def _load() -> dict[str, Endmember]:
    path = resources.files("petroinfer.thermo").joinpath("data/ds62_subset.csv")
    with path.open("r", encoding="utf-8") as fh:
        df = pd.read_csv(fh, comment="#")
    out = {}
    for _, r in df.iterrows():
        landau = None
        if _opt(r, "landau_Tc0_K") is not None:
            landau = (float(r.landau_Tc0_K), float(r.landau_Smax_J_K), float(r.landau_Vmax_J_bar))
        bw = None
        if _opt(r, "bw_dH_J") is not None:
            bw = tuple(
                float(r[k])
                for k in ("bw_dH_J", "bw_dV_J_bar", "bw_W_J", "bw_Wv_J_bar", "bw_n", "bw_factor")
            )
        out[str(r["name"])] = Endmember(
            name=str(r["name"]),
            formula=str(r["formula"]),
            H0=float(r.H0_J),
            S0=float(r.S0_J_K),
            V0=float(r.V0_J_bar),
            cp=(float(r.cp_a), float(r.cp_b), float(r.cp_c), float(r.cp_d)),
            alpha0=float(r.alpha0_K),
            K0=float(r.K0_bar),
            K0_prime=float(r.K0_prime),
            K0_dprime=float(r.K0_dprime_per_bar),
            n_atoms=float(r.n_atoms),
            landau=landau,
            bragg_williams=bw,  # type: ignore[arg-type]
        )
    return out


def endmember(name: str) -> Endmember | FluidEndmember:
    """The ds62 end-member called ``name``.

    Parameters
    ----------
    name : str
        THERMOCALC abbreviation, one of :data:`DS62_ENDMEMBERS` (e.g. ``"alm"``, ``"ky"``) or of
        :data:`DS62_FLUIDS` (``"H2O"``: ideal-gas standard state and the CORK equation of state of
        Holland & Powell 1991/1998, valid from 673 K).

    Returns
    -------
    Endmember or FluidEndmember
        Its parameters and equation of state; both give ``properties(T, P)`` → G, H, S, V.

    Examples
    --------
    >>> from petroinfer.thermo import endmember
    >>> round(float(endmember("H2O").gibbs(873.15, 5000.0)))  # J/mol at 600 °C, 5 kbar
    -361284
    """
    if name in DS62_FLUIDS:
        return load_fluids()[name]
    table = _load()
    if name not in table:
        raise ModelError(
            f"unknown end-member {name!r}; available: {', '.join(DS62_ENDMEMBERS + DS62_FLUIDS)}"
        )
    return table[name]


def ds62_table() -> pd.DataFrame:
    """The shipped ds62 subset as a DataFrame (petroinfer units; see the CSV header for the source)."""
    path = resources.files("petroinfer.thermo").joinpath("data/ds62_subset.csv")
    with path.open("r", encoding="utf-8") as fh:
        return pd.read_csv(fh, comment="#")


def reaction_properties(
    reaction: Mapping[str, float], T: ArrayLike, P: ArrayLike
) -> dict[str, np.ndarray]:
    """ΔG, ΔH, ΔS, ΔV of a reaction between pure end-members.

    Parameters
    ----------
    reaction : mapping of str to float
        Stoichiometric coefficients, products positive and reactants negative, e.g. GASP
        ``{"gr": 1, "ky": 2, "q": 1, "an": -3}``.
    T : array_like
        Temperature (K), broadcast with ``P``.
    P : array_like
        Pressure (bar).

    Returns
    -------
    dict of str to numpy.ndarray
        ``dG`` (J), ``dH`` (J), ``dS`` (J/K), ``dV`` (J/bar).
    """
    out = {"dG": 0.0, "dH": 0.0, "dS": 0.0, "dV": 0.0}
    for name, nu in reaction.items():
        p = endmember(name).properties(T, P)
        for k in ("G", "H", "S", "V"):
            out["d" + k] = out["d" + k] + nu * p[k]
    return {k: np.asarray(v) for k, v in out.items()}


def equilibrium_pressure(
    reaction: Mapping[str, float], T: ArrayLike, ln_k: ArrayLike = 0.0, P0: float = 5000.0
) -> np.ndarray:
    """Pressure (bar) at which ΔG°(P, T) + RT ln K = 0, by vectorised Newton iteration (∂ΔG/∂P = ΔV).

    Parameters
    ----------
    reaction : mapping of str to float
        Stoichiometric coefficients (products positive), see :func:`reaction_properties`.
    T : array_like
        Temperature (K).
    ln_k : array_like
        ln K of the activities (0 for pure end-members), broadcast with ``T``.
    P0 : float
        Starting pressure (bar).

    Returns
    -------
    numpy.ndarray
        Equilibrium pressure (bar).

    Examples
    --------
    >>> from petroinfer.thermo import equilibrium_pressure
    >>> p = equilibrium_pressure({"sill": 1, "ky": -1}, 873.15)  # Ky = Sil at 600 °C
    >>> round(float(p))  # bar
    5631
    """
    return _solve_reaction(reaction, "P", T, ln_k, P0)


def equilibrium_temperature(
    reaction: Mapping[str, float], P: ArrayLike, ln_k: ArrayLike = 0.0, T0: float = 900.0
) -> np.ndarray:
    """Temperature (K) at which ΔG°(P, T) + RT ln K = 0 (Newton; ∂(ΔG + RT ln K)/∂T = −ΔS + R ln K).

    Parameters
    ----------
    reaction : mapping of str to float
        Stoichiometric coefficients (products positive), see :func:`reaction_properties`.
    P : array_like
        Pressure (bar).
    ln_k : array_like
        ln K of the activities (0 for pure end-members), broadcast with ``P``.
    T0 : float
        Starting temperature (K).

    Returns
    -------
    numpy.ndarray
        Equilibrium temperature (K).
    """
    return _solve_reaction(reaction, "T", P, ln_k, T0)


#: Newton settings per unknown: iterations, largest step, bounds, tolerance on the step.
_REACTION_NEWTON = {
    "P": (50, 20000.0, (-np.inf, np.inf), 1e-6),  # bar
    "T": (60, 200.0, (200.0, 3000.0), 1e-8),  # K
}


def _solve_reaction(
    reaction: Mapping[str, float], var: str, fixed: ArrayLike, ln_k: ArrayLike, x0: float
) -> np.ndarray:
    """Root in P (``var="P"``, T fixed) or T (P fixed) of ΔG°(P, T) + RT ln K by Newton iteration.

    Slopes: ∂/∂P = ΔV; ∂/∂T = −ΔS + R ln K.
    """
    n_iter, max_step, bounds, tol = _REACTION_NEWTON[var]
    fixed = np.asarray(fixed, dtype=float)
    lnk = np.broadcast_to(
        np.asarray(ln_k, dtype=float), np.broadcast_shapes(fixed.shape, np.shape(ln_k))
    )
    fixed = np.broadcast_to(fixed, lnk.shape)
    x = np.full(fixed.shape, float(x0))
    for _ in range(n_iter):
        T, P = (fixed, x) if var == "P" else (x, fixed)
        rp = reaction_properties(reaction, T, P)
        f = rp["dG"] + GAS_CONSTANT * T * lnk
        step = f / (rp["dV"] if var == "P" else -rp["dS"] + GAS_CONSTANT * lnk)
        x = np.clip(x - np.clip(step, -max_step, max_step), *bounds)
        if np.all(np.abs(step) < tol):
            break
    return x


def al2sio5_triple_point() -> tuple[float, float]:
    """The ky–sill–and triple point of ds62 as (T [K], P [bar]), by 2-D Newton on ΔG(ky→and) = ΔG(ky→sill) = 0."""
    T, P = 800.0, 4000.0
    for _ in range(50):
        a = reaction_properties({"and": 1, "ky": -1}, T, P)
        s = reaction_properties({"sill": 1, "ky": -1}, T, P)
        J = np.array([[-a["dS"], a["dV"]], [-s["dS"], s["dV"]]], dtype=float)
        f = np.array([a["dG"], s["dG"]], dtype=float)
        dT, dP = np.linalg.solve(J, -f)
        T, P = T + dT, P + dP
        if abs(dT) < 1e-9 and abs(dP) < 1e-7:
            break
    return float(T), float(P)


def al2sio5_lines(
    t_min_c: float = 350.0, t_max_c: float = 900.0, n: int = 40
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    r"""The three ds62 Al2SiO5 univariant lines, each on its stable side of the triple point.

    Parameters
    ----------
    t_min_c : float
        Lowest temperature (°C) of the ky = and line.
    t_max_c : float
        Highest temperature (°C) of the ky = sill and and = sill lines.
    n : int
        Number of temperatures per line (evenly spaced).

    Returns
    -------
    dict of str to (numpy.ndarray, numpy.ndarray)
        ``{"ky = sill": (T_C, P_kbar), "ky = and": ..., "and = sill": ...}``: temperatures in °C and
        equilibrium pressures in kbar; points with P ≤ 0 are left out.

    Notes
    -----
    Each line is the root in P of :math:`\Delta G^\circ(T, P) = 0` for the reaction between the two
    polymorphs (:func:`equilibrium_pressure`, Holland & Powell 2011 ds62). ky = sill and and = sill run
    from the triple point (:func:`al2sio5_triple_point`) to ``t_max_c``; ky = and from ``t_min_c`` to
    the triple point.

    Examples
    --------
    >>> from petroinfer.thermo import al2sio5_lines
    >>> lines = al2sio5_lines(n=5)
    >>> sorted(lines)
    ['and = sill', 'ky = and', 'ky = sill']
    >>> t, p = lines["ky = sill"]
    >>> round(float(t[0]), 1), round(float(p[0]), 2)  # starts at the triple point
    (536.2, 4.31)
    """
    if isinstance(n, bool) or int(n) < 2:
        raise ModelError(f"n must be an integer >= 2, got {format_value(n)}")
    if not t_min_c < t_max_c:
        raise ModelError(
            f"t_min_c must be below t_max_c, got {format_value(t_min_c)} and {format_value(t_max_c)}"
        )
    t_tp, p_tp = al2sio5_triple_point()
    t_min, t_max = float(celsius_to_kelvin(t_min_c)), float(celsius_to_kelvin(t_max_c))
    out = {}
    for name, rx, lo, hi in (
        ("ky = sill", {"sill": 1, "ky": -1}, t_tp, t_max),
        ("ky = and", {"and": 1, "ky": -1}, t_min, t_tp),
        ("and = sill", {"sill": 1, "and": -1}, t_tp, t_max),
    ):
        T = np.linspace(lo, hi, int(n))
        P = equilibrium_pressure(rx, T, P0=p_tp)
        keep = P > 0
        out[name] = (kelvin_to_celsius(T[keep]), bar_to_kbar(P[keep]))
    return out
