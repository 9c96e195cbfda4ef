"""Garnet–biotite Fe–Mg exchange thermometry and GASP barometry, vectorised, with uncertainties.

An *equilibrium* (:class:`Equilibrium`) is a reaction with a standard-state term ΔG°(T, P) and a–x
models; its residual ``r(T, P, c) = ΔG°(T, P) + R T ln K_ideal(c) + Σ ν μ_ex(c, T, P)`` (J) is zero at
equilibrium. Thermometers solve r = 0 for T at given P, barometers for P at given T, and a pair is solved
simultaneously for (T, P) by a vectorised 2-D Newton iteration. Analytical uncertainties of the mole
fractions are propagated linearly (implicit-function theorem) and by Monte Carlo.

Compositions are the six mole fractions ``Grt_XAlm, Grt_XPrp, Grt_XGrs, Grt_XSps, Bt_XMg, Pl_XAn`` (the
four garnet fractions are renormalised to sum 1; biotite X_Mg = Mg/(Mg + Fe); plagioclase is Or-free).

Notes
-----
Sign convention: K_D = (Mg/Fe)^Grt / (Mg/Fe)^Bt, for alm + phl = py + ann (K = K_D³ for ideal mixing).
(XMapTools' ``lnKd`` is −ln K_D.)

* **FS78** (Ferry & Spear 1978): 12454 − 4.662 T + 0.057 P + 3 R T ln K_D = 0 (cal, K, bar, R = 1.987),
  i.e. T = (12454 + 0.057 P)/(4.662 − 5.961 ln K_D).
* **HS82** (Hodges & Spear 1982): FS78 plus garnet W_CaMg = 3300 − 1.5 T cal per site, so that
  T = (12454 + 0.057 P + 9900 X_Ca)/(4.662 + 4.5 X_Ca − 5.961 ln K_D).
* **ds62**: ΔG° of alm + phl = py + ann from Holland & Powell (2011) with White et al. (2014) garnet and
  ideal Fe–Mg biotite [R: the ideal biotite is a simplification of the White 2014 biotite model].
* **KN88** GASP (Koziol & Newton 1988), 3 an = gr + 2 ky + q: ΔH° = −48357 J, ΔS° = −150.66 J/K,
  ΔV° = −6.608 J/bar, so P = 1 + (TΔS° − ΔH° − RT ln K)/ΔV°; the end-member line is
  P = 22.80 T(°C) − 1093 bar. Sillimanite or andalusite add 2[G(poly) − G(ky)] from ds62. Default a–x:
  HS82 garnet γ_grs and Newton & Haselton (1981) a_an.
* **ds62** GASP: ΔG° from ds62 (gr + 2 Al2SiO5 + q − 3 an) with White 2014 garnet and pl4tr plagioclase.

Calibration ranges used for :class:`~petroinfer.errors.DataQualityWarning` (application ranges):
FS78 550–800 °C and X_Ca + X_Mn ≤ 0.2 in garnet (Ferry & Spear 1978); HS82 450–800 °C and X_Ca ≤ 0.3;
GASP X_grs ≥ 0.03 and X_An ≥ 0.17 (Todd 1998), 400–900 °C; ds62 400–900 °C, 1–20 kbar.

References
----------
Ferry J.M., Spear F.S. (1978) Contrib. Mineral. Petrol. 66:113–117.
Hodges K.V., Spear F.S. (1982) Am. Mineral. 67:1118–1134.
Koziol A.M., Newton R.C. (1988) Am. Mineral. 73:216–223.
Holland T.J.B., Powell R. (2011) J. Metamorph. Geol. 29:333–383.
Todd C.S. (1998) Am. Mineral. 83:1161–1167.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from petroinfer._rng import RandomState, as_generator
from petroinfer.errors import DataQualityWarning, ModelError
from petroinfer.thermo._inputs import (
    COLUMNS,
    _fixed_condition,
    _fraction_matrix,
    _grt_total,
    _sigma_matrix,
    garnet_biotite_kd,
    mineral_fractions,
)
from petroinfer.thermo._solve import (
    _blockwise,
    _coefficients,
    _combine,
    _solve_block,
    _solve_mode,
    solve_pt,
)
from petroinfer.thermo.endmembers import reaction_properties
from petroinfer.thermo.solutions import SolutionModel, get_solution_model
from petroinfer.units import (
    GAS_CONSTANT,
    bar_to_kbar,
    celsius_to_kelvin,
    kbar_to_bar,
    kelvin_to_celsius,
)

__all__ = [
    "BAROMETERS",
    "COMPOSITION_COLUMNS",
    "THERMOMETERS",
    "Equilibrium",
    "barometer",
    "garnet_biotite_kd",
    "garnet_biotite_temperature",
    "gasp_pressure",
    "mineral_fractions",
    "solve_pt",
    "thermobarometry",
    "thermometer",
]

CAL = 4.184
R_CAL_J = 1.987 * CAL  # the gas constant of the cal-based calibrations, in J/K
#: The six mole-fraction columns used by the thermobarometers.
COMPOSITION_COLUMNS = COLUMNS
THERMOMETERS = ("FS78", "HS82", "ds62")
BAROMETERS = ("KN88", "ds62")
POLYMORPHS = ("ky", "sill", "and")
#: Reaction coefficients (end-member index, ν) of garnet (py, alm, spss, gr) and of the partner phase:
#: alm + phl = py + ann (partner phl, ann) and 3 an = gr + 2 Al2SiO5 + q (partner ab, an, san).
_NU = {
    "thermometer": (((0, 1.0), (1, -1.0)), ((0, -1.0), (1, 1.0))),
    "barometer": (((3, 1.0),), ((1, -3.0),)),
}


# ---------------------------------------------------------------------------- equilibria
@dataclass(frozen=True)
class Equilibrium:
    """A thermobarometric equilibrium: standard-state ΔG° plus a–x models.

    Parameters
    ----------
    name : str
        Calibration name, e.g. ``"HS82"`` or ``"KN88-ky"``.
    kind : {"thermometer", "barometer"}
        Garnet–biotite Fe–Mg exchange (alm + phl = py + ann) or GASP (3 an = gr + 2 Al2SiO5 + q).
    standard : callable
        ΔG°(T [K], P [bar]) in J.
    gas_constant : float
        R (J/K/mol) used with ln K_ideal (1.987 cal × 4.184 for the cal-based FS78/HS82 so that the
        published equations are reproduced exactly).
    garnet : SolutionModel
        Garnet a–x model (end-member order py, alm, spss, gr).
    partner : SolutionModel
        Biotite (phl, ann) or plagioclase (ab, an, san) a–x model.
    t_range_c : tuple of float
        Application range in °C, for warnings.
    p_range_kbar : tuple of float
        Application range in kbar, for warnings.
    reference : str
        Literature source.
    extra_checks : tuple of (str, callable)
        Composition checks ``(message, fn(c) -> bool per row)`` for warnings.
    """

    name: str
    kind: str
    standard: Callable[[np.ndarray, np.ndarray], np.ndarray]
    gas_constant: float
    garnet: SolutionModel
    partner: SolutionModel
    t_range_c: tuple[float, float] = (400.0, 900.0)
    p_range_kbar: tuple[float, float] = (0.5, 20.0)
    reference: str = ""
    extra_checks: tuple[tuple[str, Callable[[np.ndarray], np.ndarray]], ...] = field(
        default=(), repr=False
    )
    _fast: list = field(default_factory=list, init=False, repr=False, compare=False)

    def __repr__(self) -> str:
        return (
            f"Equilibrium({self.name!r}, {self.kind}, garnet={self.garnet.name!r}, "
            f"partner={self.partner.name!r}, reference={self.reference!r})"
        )

    # ---- compositions → model mole fractions
    @staticmethod
    def _garnet_x(c: np.ndarray) -> np.ndarray:
        inv_total = 1.0 / (((c[:, 1] + c[:, 0]) + c[:, 3]) + c[:, 2])
        x = np.empty((len(c), 4), order="F")  # columns contiguous
        for k, j in enumerate((1, 0, 3, 2)):  # py, alm, spss, gr
            np.multiply(c[:, j], inv_total, out=x[:, k])
        return x

    def _partner_x(self, c: np.ndarray) -> np.ndarray:
        if self.kind == "thermometer":
            x = np.empty((len(c), 2), order="F")
            x[:, 0] = c[:, 4]  # phl
            np.subtract(1.0, c[:, 4], out=x[:, 1])  # ann
            return x
        x = np.zeros((len(c), 3), order="F")
        np.subtract(1.0, c[:, 5], out=x[:, 0])  # ab
        x[:, 1] = c[:, 5]  # an (san = 0)
        return x

    def _nu(self) -> tuple[tuple[tuple[int, float], ...], tuple[tuple[int, float], ...]]:
        """Reaction coefficients (end-member index, ν) of the garnet and the partner phase."""
        return _NU[self.kind]

    @staticmethod
    def _combine(a: np.ndarray, nu: tuple[tuple[int, float], ...]) -> np.ndarray:
        """Σ ν_i a[..., i] over the end-members taking part (others never enter, even if ±inf)."""
        return _combine(a, nu)

    def ln_k_ideal(self, c: np.ndarray) -> np.ndarray:
        """ln K of the ideal (site-mixing) activities, shape (n,).

        Parameters
        ----------
        c : numpy.ndarray
            Compositions, shape (n, 6), in :data:`COLUMNS` order.

        Returns
        -------
        numpy.ndarray
            Σ ν ln a^ideal over garnet and partner, shape (n,).
        """
        nug, nup = self._nu()
        gi = self.garnet.ln_ideal_activity(self._garnet_x(c))
        pi = self.partner.ln_ideal_activity(self._partner_x(c))
        return self._combine(gi, nug) + self._combine(pi, nup)

    def excess_term(self, T: np.ndarray, P: np.ndarray, c: np.ndarray) -> np.ndarray:
        """Σ ν μ_ex (J) at T [K], P [bar], shape (n,)."""
        nug, nup = self._nu()
        gm = self.garnet.mu_excess(self._garnet_x(c), T, P)
        pm = self.partner.mu_excess(self._partner_x(c), T, P)
        return self._combine(gm, nug) + self._combine(pm, nup)

    def linear_coefficients(self, c: ArrayLike) -> np.ndarray:
        """Composition terms (k0, kT, kP), shape (n, 3), such that
        ``residual = ΔG°(T, P) + k0 + kT·T + kP·P`` exactly (all W's are linear in T and P).

        Parameters
        ----------
        c : array_like
            Compositions, shape (n, 6), in :data:`COLUMNS` order.

        Returns
        -------
        numpy.ndarray
            Shape (n, 3): k0 = Σν μ_H (J), kT = R ln K_ideal − Σν μ_S (J/K), kP = Σν μ_V (J/bar).

        Notes
        -----
        Each a–x model is linear in its interaction parameters, μ_i^ex = Σ_t (W_H,t − T W_S,t + P W_V,t)
        b_ti(x) (:meth:`~petroinfer.thermo.SolutionModel.mu_excess_basis`), so one evaluation of the
        basis per phase gives all three coefficients.
        """
        return _coefficients((self,), np.atleast_2d(np.asarray(c, dtype=float)))[0]

    def residual(self, T: ArrayLike, P: ArrayLike, c: ArrayLike) -> np.ndarray:
        """ΔG° + R T ln K (J) at T [K], P [bar] for compositions ``c`` of shape (n, 6) in :data:`COLUMNS` order."""
        c = np.atleast_2d(np.asarray(c, dtype=float))
        n = c.shape[0]
        T = np.broadcast_to(np.asarray(T, dtype=float), (n,))
        P = np.broadcast_to(np.asarray(P, dtype=float), (n,))
        return (
            self.standard(T, P)
            + self.gas_constant * T * self.ln_k_ideal(c)
            + self.excess_term(T, P, c)
        )

    def fast_standard(self) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
        """ΔG°(T, P) as a fast callable: exact when ΔG° is linear in T and P (empirical calibrations),
        otherwise a bicubic spline of the ds62 standard state on 300–1600 K × −2–40 kbar (built once per
        equilibrium; interpolation error < 0.5 J, i.e. < 1e-4 in ln K)."""
        if self._fast:
            return self._fast[0]
        Tt = np.array([500.0, 900.0, 700.0, 1200.0])
        Pt = np.array([1000.0, 1000.0, 8000.0, 15000.0])
        base = float(self.standard(np.array([600.0]), np.array([0.0]))[0])
        gT = (float(self.standard(np.array([700.0]), np.array([0.0]))[0]) - base) / 100.0
        gP = (float(self.standard(np.array([600.0]), np.array([1000.0]))[0]) - base) / 1000.0
        if np.allclose(
            self.standard(Tt, Pt), base + gT * (Tt - 600.0) + gP * Pt, atol=1e-6, rtol=0
        ):

            def fn(T, P):
                return base + gT * (np.asarray(T) - 600.0) + gP * np.asarray(P)

            fn.linear = (base - 600.0 * gT, gT, gP)  # type: ignore[attr-defined]
            exact = True
        else:
            from scipy.interpolate import RectBivariateSpline

            tg = np.arange(300.0, 1600.1, 10.0)
            pg = np.arange(-2000.0, 40000.1, 250.0)
            TT, PP = np.meshgrid(tg, pg, indexing="ij")
            spl = RectBivariateSpline(
                tg, pg, self.standard(TT.ravel(), PP.ravel()).reshape(TT.shape)
            )

            def fn(T, P):
                return spl.ev(np.asarray(T, dtype=float), np.asarray(P, dtype=float))

            exact = False
        fn.exact = exact  # type: ignore[attr-defined]
        self._fast.append(
            fn
        )  # cached on the instance (the list is mutable inside the frozen dataclass)
        return fn

    def fast_residual(
        self, c: ArrayLike, coefficients: np.ndarray | None = None
    ) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
        """Residual r(T, P) (J) for fixed compositions, cheap to evaluate at many (T, P).

        Parameters
        ----------
        c : array_like
            Compositions, shape (n, 6), in :data:`COLUMNS` order.
        coefficients : numpy.ndarray, optional
            :meth:`linear_coefficients` of ``c`` if already computed (shape (n, 3)).

        Returns
        -------
        callable
            ``r(T, P) = ΔG°_fast(T, P) + k0 + kT·T + kP·P`` with :meth:`fast_standard`; its attribute
            ``exact`` says whether ΔG° is exact (linear calibrations) or interpolated.
        """
        k = self.linear_coefficients(c) if coefficients is None else coefficients
        std = self.fast_standard()

        def r(T, P):
            return std(T, P) + k[:, 0] + k[:, 1] * T + k[:, 2] * P

        r.exact = std.exact  # type: ignore[attr-defined]
        return r

    def standard_pressure(self, T: ArrayLike) -> np.ndarray:
        """Pressure (bar) where ΔG°(T, P) = 0: the end-member equilibrium line, by Newton iteration."""
        T = np.atleast_1d(np.asarray(T, dtype=float))
        P = np.full(T.shape, 5000.0)
        for _ in range(50):
            r = self.standard(T, P)
            d = (self.standard(T, P + 1.0) - self.standard(T, P - 1.0)) / 2.0
            step = r / d
            P = P - step
            if np.all(np.abs(step) < 1e-6):
                break
        return P

    def check_range(
        self,
        T: np.ndarray | None,
        P: np.ndarray | None,
        c: np.ndarray,
        index=None,
        valid: np.ndarray | None = None,
    ) -> None:
        """Warn (DataQualityWarning) about rows outside this calibration's application range.

        Parameters
        ----------
        T, P : numpy.ndarray or None
            Temperature (K) and pressure (bar) per row; ``None`` skips that check.
        c : numpy.ndarray
            Compositions, shape (n, 6), in :data:`COLUMNS` order.
        index : sequence, optional
            Row labels for the message (default: positions).
        valid : numpy.ndarray of bool, optional
            Rows to check (default: all), e.g. the rows that have a solution.
        """
        msgs = []

        def rows(bad: np.ndarray) -> list:
            first = np.flatnonzero(bad)[:5]
            return (first if index is None else np.asarray(index)[first]).tolist()

        if T is not None:
            bad = _outside(T, *self.t_range_c, kelvin_to_celsius)
            if bad is not None and np.any(bad):
                msgs.append(
                    f"T outside {self.t_range_c[0]:.0f}–{self.t_range_c[1]:.0f} °C in rows {rows(bad)}"
                )
        if P is not None:
            bad = _outside(P, *self.p_range_kbar, bar_to_kbar)
            if bad is not None and np.any(bad):
                msgs.append(
                    f"P outside {self.p_range_kbar[0]}–{self.p_range_kbar[1]} kbar in rows {rows(bad)}"
                )
        for text, fn in self.extra_checks:
            bad = fn(c) if valid is None else fn(c) & valid
            if np.any(bad):
                msgs.append(f"{text} in rows {rows(bad)}")
        for m in msgs:
            warnings.warn(
                f"{self.name}: {m} (outside the calibration range)",
                DataQualityWarning,
                stacklevel=3,
            )


def _outside(v: np.ndarray, lo: float, hi: float, convert) -> np.ndarray | None:
    """Rows with ``convert(v)`` outside [lo, hi] (NaN rows never), or None when the NaN-ignoring
    extremes already lie inside (``convert`` is monotonic, so this is exact)."""
    v = np.asarray(v, dtype=float)
    if v.size == 0:
        return None
    vmin, vmax = convert(np.fmin.reduce(v, axis=None)), convert(np.fmax.reduce(v, axis=None))
    if not (vmin < lo or vmax > hi):
        return None
    cv = convert(v)
    return (cv < lo) | (cv > hi)


def _grt_bt_fs78(T, P):
    return CAL * (12454.0 - 4.662 * T + 0.057 * P)


def _grt_bt_ds62(T, P):
    return reaction_properties({"py": 1, "ann": 1, "alm": -1, "phl": -1}, T, P)["dG"]


def _poly_shift(polymorph: str) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    if polymorph == "ky":
        return lambda T, P: np.zeros(np.shape(T))
    return lambda T, P: 2 * reaction_properties({polymorph: 1, "ky": -1}, T, P)["dG"]


def _ca_mn(c):
    return (c[:, 2] + c[:, 3]) / _grt_total(c) > 0.2


def _ca(c):
    return c[:, 2] / _grt_total(c) > 0.3


def _gasp_checks():
    return (
        ("garnet X_grs < 0.03", lambda c: c[:, 2] / _grt_total(c) < 0.03),
        ("plagioclase X_An < 0.17", lambda c: c[:, 5] < 0.17),
    )


def thermometer(name: str = "HS82") -> Equilibrium:
    """A garnet–biotite Fe–Mg exchange thermometer.

    Parameters
    ----------
    name : {"FS78", "HS82", "ds62"}
        Ferry & Spear (1978), Hodges & Spear (1982) or ds62 + White et al. (2014) garnet.

    Returns
    -------
    Equilibrium
        The thermometer (residual in J).
    """
    bt = get_solution_model("bt-ideal")
    if name == "FS78":
        return Equilibrium(
            "FS78", "thermometer", _grt_bt_fs78, R_CAL_J, get_solution_model("grt-ideal"), bt,
            (550.0, 800.0), (0.5, 12.0), "Ferry & Spear (1978) CMP 66:113",
            (("garnet X_Ca + X_Mn > 0.2", _ca_mn),),
        )  # fmt: skip
    if name == "HS82":
        return Equilibrium(
            "HS82", "thermometer", _grt_bt_fs78, R_CAL_J, get_solution_model("hs82"), bt,
            (450.0, 800.0), (0.5, 12.0), "Hodges & Spear (1982) Am. Mineral. 67:1118",
            (("garnet X_Ca > 0.3", _ca),),
        )  # fmt: skip
    if name == "ds62":
        return Equilibrium(
            "ds62", "thermometer", _grt_bt_ds62, GAS_CONSTANT, get_solution_model("white14-g"), bt,
            (400.0, 900.0), (1.0, 20.0), "Holland & Powell (2011); White et al. (2014)",
        )  # fmt: skip
    raise ModelError(f"unknown thermometer {name!r}; choose one of {', '.join(THERMOMETERS)}")


def barometer(
    name: str = "KN88",
    polymorph: str = "ky",
    garnet_model: str | None = None,
    plagioclase_model: str | None = None,
) -> Equilibrium:
    """A GASP barometer (3 an = gr + 2 Al2SiO5 + q): ``"KN88"`` or ``"ds62"``.

    Parameters
    ----------
    name : {"KN88", "ds62"}
        Koziol & Newton (1988) or ds62 standard state.
    polymorph : {"ky", "sill", "and"}
        The Al2SiO5 polymorph; sill and and add 2[G(poly) − G(ky)] from ds62 to KN88.
    garnet_model : str, optional
        Garnet a–x model name (see :func:`~petroinfer.thermo.get_solution_model`); default HS82 for
        KN88 and White 2014 garnet for ds62.
    plagioclase_model : str, optional
        Plagioclase a–x model name; default NH81 for KN88 and pl4tr for ds62.

    Returns
    -------
    Equilibrium
        The barometer (residual in J).
    """
    if polymorph not in POLYMORPHS:
        raise ModelError(f"unknown Al2SiO5 polymorph {polymorph!r}; choose one of ky, sill, and")
    if name == "KN88":
        shift = _poly_shift(polymorph)

        def std(T, P):
            return -48357.0 + 150.66 * T - 6.608 * (P - 1.0) + shift(T, P)

        return Equilibrium(
            f"KN88-{polymorph}", "barometer", std, GAS_CONSTANT,
            get_solution_model(garnet_model or "hs82"), get_solution_model(plagioclase_model or "nh81"),
            (400.0, 900.0), (0.5, 20.0), "Koziol & Newton (1988) Am. Mineral. 73:216", _gasp_checks(),
        )  # fmt: skip
    if name == "ds62":
        rx = {"gr": 1, polymorph: 2, "q": 1, "an": -3}

        def std62(T, P):
            return reaction_properties(rx, T, P)["dG"]

        return Equilibrium(
            f"ds62-{polymorph}", "barometer", std62, GAS_CONSTANT,
            get_solution_model(garnet_model or "white14-g"), get_solution_model(plagioclase_model or "pl4tr"),
            (400.0, 900.0), (1.0, 20.0), "Holland & Powell (2011); White et al. (2014)", _gasp_checks(),
        )  # fmt: skip
    raise ModelError(f"unknown barometer {name!r}; choose one of {', '.join(BAROMETERS)}")


def thermobarometry(
    data: pd.DataFrame,
    thermometer_name: str = "HS82",
    barometer_name: str = "KN88",
    *,
    polymorph: str = "ky",
    P_kbar: float | ArrayLike | None = None,
    T_C: float | ArrayLike | None = None,
    sigma: float | Mapping[str, float] = 0.005,
    uncertainty: str = "linear",
    n_draws: int = 200,
    garnet_model: str | None = None,
    plagioclase_model: str | None = None,
    random_state: RandomState = None,
) -> pd.DataFrame:
    """Temperature and pressure per analysis from garnet–biotite and GASP equilibria.

    Parameters
    ----------
    data : pandas.DataFrame
        Rows of :data:`COLUMNS` mole fractions or prefixed oxides (see :func:`mineral_fractions`).
        Optional per-cell analytical SDs in ``<column>_sd`` columns.
    thermometer_name : {"FS78", "HS82", "ds62"}
        Garnet–biotite calibration.
    barometer_name : {"KN88", "ds62"}
        GASP calibration.
    polymorph : {"ky", "sill", "and"}
        Al2SiO5 polymorph for GASP.
    P_kbar : float or array_like, optional
        Fixed pressure (kbar; one value or one per row): compute T only (thermometer at fixed P).
    T_C : float or array_like, optional
        Fixed temperature (°C; one value or one per row): compute P only. With neither, the
        simultaneous P–T solution of the pair.
    sigma : float or mapping of str to float
        Absolute 1σ of each mole fraction (scalar or per column) where no ``_sd`` column is given.
    uncertainty : {"linear", "mc", "both", "none"}
        Linearised (implicit-function) propagation, Monte Carlo with ``n_draws``, both, or none.
    n_draws : int
        Monte Carlo draws per row (>= 10).
    garnet_model : str, optional
        Override the barometer's garnet a–x model.
    plagioclase_model : str, optional
        Override the barometer's plagioclase a–x model.
    random_state : int or numpy.random.Generator, optional
        Seed or Generator for the Monte Carlo.

    Returns
    -------
    pandas.DataFrame
        Indexed like ``data``: ``T_C`` (°C), ``P_kbar`` (kbar), ``KD``, and ``T_C_sd``, ``P_kbar_sd``,
        ``rho_TP`` (linear) and/or ``T_C_sd_mc``, ``P_kbar_sd_mc`` (Monte Carlo); units (CF-style) in
        ``attrs["units"]``.

    Notes
    -----
    The equations and a–x models are listed in the module docstring. Rows are solved in blocks; for the
    linear calibrations (FS78, HS82, KN88-ky) the pair is solved in closed form. Linearised SDs use
    dθ = −J_θ⁻¹ J_c dc with analytic derivatives of the a–x models.

    Examples
    --------
    >>> import pandas as pd
    >>> from petroinfer.thermo import thermobarometry
    >>> df = pd.DataFrame({"Grt_XAlm": [0.75], "Grt_XPrp": [0.12], "Grt_XGrs": [0.08],
    ...                    "Grt_XSps": [0.05], "Bt_XMg": [0.45], "Pl_XAn": [0.25]})
    >>> out = thermobarometry(df, "FS78", "KN88", P_kbar=5.0)
    >>> round(float(out.T_C.iloc[0]), 1)
    612.1
    """
    if uncertainty not in ("linear", "mc", "both", "none"):
        raise ModelError(
            f"uncertainty must be 'linear', 'mc', 'both' or 'none', got {uncertainty!r}"
        )
    if P_kbar is not None and T_C is not None:
        raise ModelError("give at most one of P_kbar and T_C")
    if isinstance(n_draws, bool) or int(n_draws) < 10:
        raise ModelError(f"n_draws must be an integer >= 10, got {n_draws!r}")
    teq = thermometer(thermometer_name)
    beq = barometer(barometer_name, polymorph, garnet_model, plagioclase_model)
    c = _fraction_matrix(data)
    P_fixed = None if P_kbar is None else kbar_to_bar(_fixed_condition(P_kbar, "P_kbar", len(c)))
    T_fixed = None if T_C is None else celsius_to_kelvin(_fixed_condition(T_C, "T_C", len(c)))
    linear = uncertainty in ("linear", "both")
    sig = _sigma_matrix(data, sigma) if uncertainty != "none" else None
    res = _blockwise(
        lambda cb, tb, pb, sb: _solve_block(teq, beq, cb, tb, pb, sb, linear),
        c, T_fixed, P_fixed, sig, n_out=5 if linear else 2,
    )  # fmt: skip
    T, P = res[0], res[1]
    cols = {
        "T_C": kelvin_to_celsius(T),
        "P_kbar": bar_to_kbar(P),
        "KD": (c[:, 1] / c[:, 0]) / (c[:, 4] / (1 - c[:, 4])),
    }
    if linear:
        sdT, sdP, rho = res[2:]
        cols.update(T_C_sd=sdT, P_kbar_sd=bar_to_kbar(sdP), rho_TP=rho)
    if uncertainty in ("mc", "both"):
        rng = as_generator(random_state)
        k = int(n_draws)
        cc = np.repeat(c[None], k, axis=0) + rng.standard_normal((k, *c.shape)) * sig[None]
        cc = np.clip(cc, 1e-6, 1 - 1e-6).reshape(-1, c.shape[1])
        tf = None if T_fixed is None else np.tile(np.broadcast_to(T_fixed, (len(c),)), k)
        pf = None if P_fixed is None else np.tile(np.broadcast_to(P_fixed, (len(c),)), k)
        Tm, Pm = _blockwise(
            lambda cb, tb, pb: _solve_mode(teq, beq, cb, tb, pb), cc, tf, pf, n_out=2
        )
        Tm, Pm = Tm.reshape(k, -1), Pm.reshape(k, -1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            cols["T_C_sd_mc"] = np.nanstd(Tm, axis=0, ddof=1)
            cols["P_kbar_sd_mc"] = bar_to_kbar(np.nanstd(Pm, axis=0, ddof=1))
    failed = ~np.isfinite(T) | ~np.isfinite(P)
    if np.any(failed):
        warnings.warn(
            f"no P–T solution for {int(failed.sum())} rows (e.g. {data.index[failed][:5].tolist()}); "
            "they are NaN in the output", DataQualityWarning, stacklevel=2,
        )  # fmt: skip
    valid = ~failed if failed.any() else None  # rows without a solution are not range-checked
    # NaN T or P fail every range comparison, so only the composition checks need ``valid``
    if T_fixed is None:
        teq.check_range(T, P if P_fixed is None else None, c, data.index, valid)
    if P_fixed is None:
        beq.check_range(T if T_fixed is None else None, P, c, data.index, valid)
    out = pd.DataFrame(cols, index=data.index, copy=False)
    out.attrs["units"] = {k: v for k, v in OUTPUT_UNITS.items() if k in out.columns}
    return out


#: CF-style units of the :func:`thermobarometry` output columns (also in ``DataFrame.attrs["units"]``).
OUTPUT_UNITS = {
    "T_C": "degC", "P_kbar": "kbar", "KD": "1", "T_C_sd": "degC", "P_kbar_sd": "kbar", "rho_TP": "1",
    "T_C_sd_mc": "degC", "P_kbar_sd_mc": "kbar",
}  # fmt: skip


def garnet_biotite_temperature(
    data: pd.DataFrame, P_kbar: float | ArrayLike, calibration: str = "HS82", **kwargs
) -> pd.DataFrame:
    """Garnet–biotite temperature (°C) at given pressure.

    Parameters
    ----------
    data : pandas.DataFrame
        Input accepted by :func:`thermobarometry`.
    P_kbar : float or array_like
        Pressure (kbar), one value or one per row.
    calibration : {"FS78", "HS82", "ds62"}
        Garnet–biotite calibration.
    **kwargs
        Further options of :func:`thermobarometry`.

    Returns
    -------
    pandas.DataFrame
        As :func:`thermobarometry`.
    """
    return thermobarometry(data, calibration, "KN88", P_kbar=P_kbar, **kwargs)


def gasp_pressure(
    data: pd.DataFrame,
    T_C: float | ArrayLike,
    calibration: str = "KN88",
    polymorph: str = "ky",
    **kwargs,
) -> pd.DataFrame:
    """GASP pressure (kbar) at given temperature.

    Parameters
    ----------
    data : pandas.DataFrame
        Input accepted by :func:`thermobarometry`.
    T_C : float or array_like
        Temperature (°C), one value or one per row.
    calibration : {"KN88", "ds62"}
        GASP calibration.
    polymorph : {"ky", "sill", "and"}
        Al2SiO5 polymorph.
    **kwargs
        Further options of :func:`thermobarometry`.

    Returns
    -------
    pandas.DataFrame
        As :func:`thermobarometry`.
    """
    return thermobarometry(data, "HS82", calibration, polymorph=polymorph, T_C=T_C, **kwargs)
