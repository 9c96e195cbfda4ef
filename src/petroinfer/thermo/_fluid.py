r"""Fluid end-members of ds62: H2O with the CORK equation of state (private; public via ``endmember``).

The Holland & Powell (2011) dataset ds62 gives H2O its 1-bar ideal-gas standard state (H0, S0 at
298.15 K and the heat-capacity polynomial of the solids, HP2011 eq. 2) and obtains the pressure dependence
from the compensated Redlich–Kwong (CORK) equation of state of Holland & Powell (1991): a modified
Redlich–Kwong (MRK) fluid with an H2O-specific a(T), plus a virial correction above P0 = 2 kbar whose
coefficients are those of Holland & Powell (1998). Everything is vectorised over ``T`` (K) and ``P``
(bar); energies in J/mol, entropies in J/K/mol, volumes in J/bar/mol (1 J/bar = 10 cm³).

Notes
-----
With P in kbar, R in kJ/K/mol, V in kJ/kbar (= J/bar). MRK part: Holland & Powell (1991), eqs 4 and 6
(supercritical a(T)); virial part: Holland & Powell (1998), the ds62 convention::

    a(T) = a0 + a4 (T − 673) + a5 (T − 673)² + a6 (T − 673)³
           a0 = 1113.4, a4 = −0.22291, a5 = −3.8022e−4, a6 = 1.7791e−7        (kJ² K^½ kbar⁻¹ mol⁻²)
    b = 1.465                                                                   (kJ/kbar/mol)
    MRK:   P = RT/(V − b) − a / (√T V (V + b))
    virial (P > P0 = 2 kbar):  V_vir = c1 (P − P0) + c2 (P − P0)^(1/2) + c3 (P − P0)^(1/4)
           c1 = 1.9853e−3, c2 = −8.9090e−2, c3 = 8.0331e−2
    V = V_MRK + V_vir

    RT ln f = RT ln(1000 RT/(V_MRK − b)) + P V_MRK − RT − a/(b √T) ln(1 + b/V_MRK)
              + c1/2 (P − P0)² + 2 c2/3 (P − P0)^(3/2) + 4 c3/5 (P − P0)^(5/4)

The first line of ``RT ln f`` is the Redlich–Kwong fugacity ln φ = z − 1 − ln(z − B) − (A/B) ln(1 + B/z)
(A = aP/(R²T^2.5), B = bP/(RT)) times RT plus RT ln(1000 P) (f in bar); it is stationary in V at the
EoS root, so (∂ RT ln f/∂T)_P is its partial T derivative at fixed V_MRK (used for the analytic entropy);
the 1998 virial terms do not depend on T. The apparent Gibbs energy is
G(T, P) = H(T, 1 bar) − T S(T, 1 bar) + RT ln f and S = S(T, 1 bar) − ∂(RT ln f)/∂T.

Root choice: above T_c = 695 K the cubic has one real root; between 673 and 695 K, where it can have
three, the smallest root above b (liquid-like) is taken, as in Holland & Powell (1991, appendix).
The subcritical branches (liquid and vapour a(T) below 673 K, with the saturation curve) are not
implemented: T < 673 K raises :class:`~petroinfer.errors.ModelError`.

References
----------
Holland T.J.B., Powell R. (1991) Contrib. Mineral. Petrol. 109:265–273.
Holland T.J.B., Powell R. (1998) J. Metamorph. Geol. 16:309–343.
Holland T.J.B., Powell R. (2011) J. Metamorph. Geol. 29:333–383.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib import resources

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from petroinfer.errors import InputError, ModelError, format_value
from petroinfer.thermo._accessors import PropertyAccessors
from petroinfer.units import GAS_CONSTANT

T_REF = 298.15
_R_KJ = GAS_CONSTANT * 1e-3  # kJ/K/mol
#: H2O CORK coefficients (Holland & Powell 1991, supercritical MRK a(T) and b; virial terms of Holland &
#: Powell 1998); kJ, kbar, K units. Tc is the CORK critical temperature used for the root choice.
H2O_CORK = {
    "T0": 673.0,
    "Tc": 695.0,
    "a0": 1113.4,
    "a4": -0.22291,
    "a5": -3.8022e-4,
    "a6": 1.7791e-7,
    "b": 1.465,
    "c1": 1.9853e-3,
    "c2": -8.9090e-2,
    "c3": 8.0331e-2,
    "P0": 2.0,
}


def _as_tp(T: ArrayLike, P: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    T, P = np.broadcast_arrays(np.asarray(T, dtype=float), np.asarray(P, dtype=float))
    if np.any(~np.isfinite(T)) or np.any(T <= 0):
        raise InputError(
            f"temperatures must be finite and > 0 K, got {format_value(float(np.nanmin(T)))}"
        )
    if np.any(~np.isfinite(P)) or np.any(P <= 0):
        raise InputError(
            "pressures of a fluid must be finite and > 0 bar (the CORK fugacity has ln P), got "
            f"{format_value(float(np.nanmin(P)))}"
        )
    return T, P


def _mrk_volume(
    a: np.ndarray, b: float, T: np.ndarray, p: np.ndarray, liquid: np.ndarray
) -> np.ndarray:
    """Root V (kJ/kbar) of P V³ − RT V² − (bRT + b²P − a/√T) V − ab/√T = 0 (Cardano).

    One real root: that one. Three: the largest, or where ``liquid`` the smallest one above b.
    """
    RT, sq = _R_KJ * T, np.sqrt(T)
    c2 = -RT / p
    c1 = -(b * RT / p + b * b - a / (p * sq))
    c0 = -a * b / (p * sq)
    pp = c1 - c2**2 / 3.0
    qq = 2.0 * c2**3 / 27.0 - c2 * c1 / 3.0 + c0
    disc = (qq / 2.0) ** 2 + (pp / 3.0) ** 3
    with np.errstate(invalid="ignore"):
        one = np.cbrt(-qq / 2.0 + np.sqrt(disc)) + np.cbrt(-qq / 2.0 - np.sqrt(disc))
        r = np.sqrt(np.clip(-pp / 3.0, 0.0, None))
        arg = np.clip(-qq / (2.0 * np.where(r > 0, r, 1.0) ** 3), -1.0, 1.0)
        theta = np.arccos(arg)
        big = 2.0 * r * np.cos(theta / 3.0)
        small = 2.0 * r * np.cos((theta + 2.0 * np.pi) / 3.0)
        small = np.where(small - c2 / 3.0 > b, small, 2.0 * r * np.cos((theta + 4.0 * np.pi) / 3.0))
    V = np.where(disc > 0, one, np.where(liquid, small, big)) - c2 / 3.0
    for _ in range(3):  # Newton polish of the root
        f = ((V + c2) * V + c1) * V + c0
        V = V - f / ((3.0 * V + 2.0 * c2) * V + c1)
    return V


@dataclass(frozen=True)
class FluidEndmember(PropertyAccessors):
    r"""A ds62 fluid end-member: ideal-gas standard state + the H2O CORK equation of state.

    Parameters are in petroinfer units; instances come from :func:`petroinfer.thermo.endmember`
    (``endmember("H2O")``). The equations are in the Notes of :mod:`petroinfer.thermo._fluid`
    (Holland & Powell 1991, 1998, 2011).

    Parameters
    ----------
    name : str
        Dataset name (``"H2O"``).
    formula : str
        Chemical formula.
    H0 : float
        Enthalpy of formation of the ideal gas at 298.15 K, 1 bar (J/mol).
    S0 : float
        Entropy of the ideal gas at 298.15 K, 1 bar (J/K/mol).
    cp : tuple of float
        (a, b, c, d) of Cp = a + bT + c/T² + d/√T (J/K/mol).

    Examples
    --------
    >>> from petroinfer.thermo import endmember
    >>> w = endmember("H2O")
    >>> round(float(w.volume(773.15, 1000.0)), 3)  # J/bar at 500 °C, 1 kbar (x 10 for cm³)
    3.326
    """

    name: str
    formula: str
    H0: float
    S0: float
    cp: tuple[float, float, float, float]

    def __repr__(self) -> str:
        return f"FluidEndmember({self.name!r}, {self.formula}, H0={self.H0:.6g} J, CORK)"

    def _one_bar(self, T: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        a, b, c, d = self.cp
        Tr = T_REF
        H = (
            self.H0
            + a * (T - Tr)
            + 0.5 * b * (T**2 - Tr**2)
            - c * (1 / T - 1 / Tr)
            + 2 * d * (np.sqrt(T) - np.sqrt(Tr))
        )
        S = (
            self.S0
            + a * np.log(T / Tr)
            + b * (T - Tr)
            - 0.5 * c * (1 / T**2 - 1 / Tr**2)
            - 2 * d * (1 / np.sqrt(T) - 1 / np.sqrt(Tr))
        )
        return H, S

    def fugacity_terms(self, T: ArrayLike, P: ArrayLike) -> dict[str, np.ndarray]:
        """RT ln f (J/mol), its T derivative (J/K/mol) and the volume V (J/bar/mol) of the CORK fluid.

        Parameters
        ----------
        T : array_like
            Temperature (K), ≥ 673 K (supercritical branch of the CORK).
        P : array_like
            Pressure (bar), > 0; broadcast with ``T``.

        Returns
        -------
        dict of str to numpy.ndarray
            ``RTlnf`` (J/mol; f in bar), ``dRTlnf_dT`` (J/K/mol at constant P), ``V`` (J/bar/mol),
            ``ln_f`` (f in bar).
        """
        T, P = _as_tp(T, P)
        k = H2O_CORK
        if np.any(T < k["T0"]):
            raise ModelError(
                f"{self.name}: the CORK equation of state is implemented for T >= {k['T0']:g} K "
                f"(supercritical branch), got {format_value(float(T.min()))} K"
            )
        p = P * 1e-3  # kbar
        R = _R_KJ
        RT, sq, dT = R * T, np.sqrt(T), T - k["T0"]
        a = k["a0"] + k["a4"] * dT + k["a5"] * dT**2 + k["a6"] * dT**3
        da = k["a4"] + 2 * k["a5"] * dT + 3 * k["a6"] * dT**2
        b = k["b"]
        V = _mrk_volume(a, b, T, p, T < k["Tc"])
        L = np.log1p(b / V)
        g = RT * np.log(1e3 * RT / (V - b)) + p * V - RT - a / (b * sq) * L
        dg = R * np.log(1e3 * RT / (V - b)) - (da / (b * sq) - 0.5 * a / (b * T * sq)) * L
        x = np.clip(p - k["P0"], 0.0, None)  # virial part above P0 (T-independent, HP1998)
        c1, c2, c3 = k["c1"], k["c2"], k["c3"]
        g = g + 0.5 * c1 * x**2 + 2.0 / 3.0 * c2 * x**1.5 + 0.8 * c3 * x**1.25
        V = V + c1 * x + c2 * np.sqrt(x) + c3 * x**0.25
        return {"RTlnf": 1e3 * g, "dRTlnf_dT": 1e3 * dg, "V": V, "ln_f": g / RT}

    def properties(self, T: ArrayLike, P: ArrayLike) -> dict[str, np.ndarray]:
        """G, H, S, V at (T [K], P [bar]); arrays broadcast together.

        Returns
        -------
        dict
            ``G`` (J/mol, apparent Gibbs energy of formation, HP convention), ``H`` (J/mol),
            ``S`` (J/K/mol), ``V`` (J/bar/mol).
        """
        T, P = _as_tp(T, P)
        H1, S1 = self._one_bar(T)
        f = self.fugacity_terms(T, P)
        G = H1 - T * S1 + f["RTlnf"]
        S = S1 - f["dRTlnf_dT"]
        return {"G": G, "H": G + T * S, "S": S, "V": f["V"]}

    def fugacity(self, T: ArrayLike, P: ArrayLike) -> np.ndarray:
        """Fugacity (bar) of the pure fluid at T [K], P [bar]."""
        return np.exp(self.fugacity_terms(T, P)["ln_f"])

    def heat_capacity(self, T: ArrayLike, P: ArrayLike, dT: float = 0.05) -> np.ndarray:
        """Isobaric heat capacity Cp = T (∂S/∂T)_P (J/K/mol), by a central difference of the analytic S."""
        T, P = _as_tp(T, P)
        return T * (self.entropy(T + dT, P) - self.entropy(T - dT, P)) / (2 * dT)


@functools.cache
def load_fluids() -> dict[str, FluidEndmember]:
    """The ds62 fluid end-members shipped in ``thermo/data/ds62_fluids.csv``."""
    path = resources.files("petroinfer.thermo").joinpath("data/ds62_fluids.csv")
    with path.open("r", encoding="utf-8") as fh:
        df = pd.read_csv(fh, comment="#")
    return {
        str(r["name"]): FluidEndmember(
            name=str(r["name"]),
            formula=str(r["formula"]),
            H0=float(r.H0_J),
            S0=float(r.S0_J_K),
            cp=(float(r.cp_a), float(r.cp_b), float(r.cp_c), float(r.cp_d)),
        )
        for _, r in df.iterrows()
    }
