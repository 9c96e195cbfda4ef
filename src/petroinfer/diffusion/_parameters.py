r"""Tracer diffusivities of Fe, Mg, Mn and Ca in garnet: published Arrhenius parameter sets.

Every set is stored in SI units (D0 in m² s⁻¹, Q in J mol⁻¹, ΔV in m³ mol⁻¹) and evaluated as

.. math:: D^*_i(T, P) = D_{0,i} \exp\!\left[-\frac{Q_i + (P - P_0)\,\Delta V_i}{R T}\right],

with P in Pa, :math:`P_0` = 1 bar for Chakraborty & Ganguly (1992) (their reference) and 0 for
the others, and R the exact SI gas constant :math:`N_A k_B` = 8.31446261815324 J mol⁻¹ K⁻¹
(``petroinfer.units.GAS_CONSTANT``, equal to ``scipy.constants.R``; the value GeoParams.jl/Unitful
use, so the DiffusionGarnet.jl test vectors are reproduced to 1e-14). The 10-digit rounding
8.314462618 would, at the activation energies of garnet (Q/RT ≈ 36), alone shift D by 7e-10
relative. A year is the Julian year (365.25 d), as in Unitful.

Sources (transcribed from the primary tables as quoted in ``science/pt_paths.md`` §3.2):

* ``"CG92"`` — Chakraborty & Ganguly (1992, Contrib. Mineral. Petrol. 111:74–86): Fe, Mg, Mn; Ca is
  taken as :math:`D^*_{Ca} = 0.5 D^*_{Fe}` (Loomis et al. 1985), as in THERIA_G and
  DiffusionGarnet.jl. Calibrated at 1100–1480 °C, 1.4–4.3 kbar.
* ``"C06"`` — Carlson (2006, Am. Mineral. 91:1–11), natural garnets, 500–1500 °C; the
  unit-cell (:math:`a_X`) and oxygen-fugacity factors are set to 1 (graphite buffer, the reference
  cell edge) — a simplification, stated in the docs page.
* ``"CA15"`` — Chu & Ague (2015, Contrib. Mineral. Petrol. 170:25), their Bayesian (MCMC)
  regression of the experimental data of ten studies: log10 D0, Q, ΔV of Fe, Mg, Mn and Ca with
  their published 1σ (as tabulated in GeoParams.jl ``Data/Garnet/Elements/*.jl``, "checked values"
  of 2025-08-06); the unit-cell (:math:`a_X`) and fO2 factors are set to 1 as for C06. The σ of
  log10 D0 is converted to natural log (× ln 10).

Uncertainty (used to marginalise the kinetics in the inversions) is a standard-normal vector
:math:`z` per element and parameter, entering as

.. math:: \ln D^* = \ln D_0 + z_0\sigma_{\ln D_0}
          - \frac{Q + z_Q\sigma_Q + (P - P_0)(\Delta V + z_V\sigma_V)}{RT}
          + \frac{z_Q\sigma_Q}{R T_{pivot}}.

For CG92, whose D0 uncertainty is not published, :math:`T_{pivot}` is the middle of the
experimental range so that a change of Q rotates the Arrhenius line about the data rather than
about 1/T = 0 (a reconstruction [R]); for Carlson (2006) and Chu & Ague (2015) the published
σ(ln D0) and σ(Q) are used independently (1/T_pivot = 0), which is conservative because their
covariance is not available.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from petroinfer.errors import DataQualityWarning, InputError, ModelError
from petroinfer.units import GAS_CONSTANT as _R
from petroinfer.units import celsius_to_kelvin, kelvin_to_celsius

__all__ = [
    "COMPONENTS",
    "END_MEMBERS",
    "SECONDS_PER_MYR",
    "DiffusivityParameters",
    "diffusivity_parameters",
    "tracer_diffusivities",
]

#: Cations in the order used by every array of this package; the last (Ca) is the dependent one.
COMPONENTS: tuple[str, ...] = ("Mg", "Fe", "Mn", "Ca")
#: Garnet end-member mole fractions corresponding to :data:`COMPONENTS`.
END_MEMBERS: tuple[str, ...] = ("XPrp", "XAlm", "XSps", "XGrs")
#: One million Julian years (365.25 d) in seconds.
SECONDS_PER_MYR = 1e6 * 365.25 * 86400.0

_CAL = 4.184  # J per thermochemical calorie
_CM2 = 1e-4  # m² per cm²
_CM3 = 1e-6  # m³ per cm³


@dataclass(frozen=True)
class DiffusivityParameters:
    """One published set of tracer-diffusion Arrhenius parameters for (Mg, Fe, Mn, Ca) in garnet.

    Parameters
    ----------
    name : str
        Short key (``"CG92"``, ``"C06"``, ``"CA15"``).
    citation : str
        The source.
    ln_D0 : ndarray, shape (4,)
        Natural log of the pre-exponential factor D0 in m² s⁻¹, order :data:`COMPONENTS`.
    Q : ndarray, shape (4,)
        Activation energies, J mol⁻¹.
    dV : ndarray, shape (4,)
        Activation volumes, m³ mol⁻¹.
    sigma_ln_D0, sigma_Q, sigma_dV : ndarray, shape (4,)
        Published one-sigma uncertainties (0 where not published or not applicable).
    P0 : float
        Reference pressure of the ΔV term, Pa.
    T_pivot : float
        Pivot temperature (K) of the Q perturbation (``inf`` for none); see the module notes.
    ca_from_fe : float
        When > 0, D*_Ca = ca_from_fe · D*_Fe (CG92 convention) and the Ca row is ignored.
    calibration_C : tuple of float
        Temperature range (°C) of the calibration; outside it a :class:`DataQualityWarning` is
        issued (``(-inf, inf)`` when unknown).
    notes : str
        Caveats of the set.
    """

    name: str
    citation: str
    ln_D0: np.ndarray
    Q: np.ndarray
    dV: np.ndarray
    sigma_ln_D0: np.ndarray
    sigma_Q: np.ndarray
    sigma_dV: np.ndarray
    P0: float = 0.0
    T_pivot: float = np.inf
    ca_from_fe: float = 0.0
    calibration_C: tuple[float, float] = (-np.inf, np.inf)
    notes: str = ""

    def __post_init__(self) -> None:
        for name in ("ln_D0", "Q", "dV", "sigma_ln_D0", "sigma_Q", "sigma_dV"):
            v = np.asarray(getattr(self, name), dtype=float)
            if v.shape != (4,):
                raise ModelError(
                    f"DiffusivityParameters.{name} must have 4 values (Mg, Fe, Mn, Ca)"
                )
            object.__setattr__(self, name, v)

    def table(self):
        """The parameters as a DataFrame (rows Mg, Fe, Mn, Ca; SI units in the column names)."""
        import pandas as pd

        return pd.DataFrame(
            {
                "ln_D0 (m2/s)": self.ln_D0,
                "sigma_ln_D0": self.sigma_ln_D0,
                "Q (J/mol)": self.Q,
                "sigma_Q (J/mol)": self.sigma_Q,
                "dV (m3/mol)": self.dV,
                "sigma_dV (m3/mol)": self.sigma_dV,
            },
            index=pd.Index(COMPONENTS, name="element"),
        )


def _cg92() -> DiffusivityParameters:
    d0_cm2 = np.array([1.1e-3, 6.4e-4, 5.1e-4, 6.4e-4])  # Mg, Fe, Mn, (Ca = 0.5 Fe)
    q_cal = np.array([67997.0, 65824.0, 60569.0, 65824.0])
    sq = np.array([37500.0, 8721.0 * _CAL, 8889.0 * _CAL, 8721.0 * _CAL])
    return DiffusivityParameters(
        name="CG92",
        citation="Chakraborty & Ganguly (1992), Contrib. Mineral. Petrol. 111:74-86",
        ln_D0=np.log(d0_cm2 * _CM2),
        Q=q_cal * _CAL,
        dV=np.array([5.3, 5.6, 6.0, 5.6]) * _CM3,
        sigma_ln_D0=np.zeros(4),
        sigma_Q=sq,
        sigma_dV=np.array([3.0, 2.9, 2.9, 2.9]) * _CM3,
        P0=1e5,
        T_pivot=float(celsius_to_kelvin(1290.0)),
        ca_from_fe=0.5,
        calibration_C=(1100.0, 1480.0),
        notes="D*_Ca = 0.5 D*_Fe (Loomis et al. 1985); extrapolated below 1100 °C in metamorphic use",
    )


def _c06() -> DiffusivityParameters:
    return DiffusivityParameters(
        name="C06",
        citation="Carlson (2006), Am. Mineral. 91:1-11 (aX and fO2 factors set to 1)",
        ln_D0=np.array([-19.947, -17.638, -17.619, -22.572]),
        Q=np.array([244.21, 264.55, 264.44, 230.56]) * 1e3,
        dV=np.array([8.565, 13.568, 9.631, 9.795]) * _CM3,
        sigma_ln_D0=np.array([0.919, 0.776, 0.876, 0.716]),
        sigma_Q=np.array([5.32, 4.63, 5.99, 7.15]) * 1e3,
        sigma_dV=np.array([0.647, 0.799, 1.11, 1.139]) * _CM3,
        calibration_C=(500.0, 1500.0),
        notes="unit-cell (aX) and fO2 factors set to 1",
    )


def _ca15() -> DiffusivityParameters:
    ln10 = np.log(10.0)
    return DiffusivityParameters(
        name="CA15",
        citation="Chu & Ague (2015), Contrib. Mineral. Petrol. 170:25 (aX and fO2 factors set to 1)",
        ln_D0=np.array([-8.28, -7.98, -9.86, -6.36]) * ln10,  # log10 D0 (m²/s): Mg, Fe, Mn, Ca
        Q=np.array([258.0, 250.8, 212.9, 299.3]) * 1e3,
        dV=np.array([0.72, 1.40, 0.95, 1.77]) * 1e-5,  # 1 J/bar = 1e-5 m³/mol
        sigma_ln_D0=np.array([0.70, 0.71, 0.70, 0.92]) * ln10,
        sigma_Q=np.array([7.4, 9.13, 13.4, 18.4]) * 1e3,
        sigma_dV=np.array([0.09, 0.13, 0.13, 0.14]) * 1e-5,
        calibration_C=(500.0, 1500.0),
        notes="unit-cell (aX) and fO2 factors set to 1; sigma of log10 D0 converted to ln",
    )


_SETS = {"CG92": _cg92, "C06": _c06, "CA15": _ca15}
_ALIASES = {
    "chakraborty_ganguly_1992": "CG92",
    "carlson_2006": "C06",
    "chu_ague_2015": "CA15",
}


def diffusivity_parameters(name: str | DiffusivityParameters = "CG92") -> DiffusivityParameters:
    """A published tracer-diffusivity set by name.

    Parameters
    ----------
    name : str or DiffusivityParameters
        ``"CG92"`` (Chakraborty & Ganguly 1992), ``"C06"`` (Carlson 2006) or ``"CA15"`` (Chu & Ague
        2015), or the long aliases ``"chakraborty_ganguly_1992"``, ``"carlson_2006"``,
        ``"chu_ague_2015"``; an instance is returned unchanged.

    Returns
    -------
    DiffusivityParameters

    Examples
    --------
    >>> p = diffusivity_parameters("CG92")
    >>> round(float(p.Q[1]) / 1e3, 1)  # Fe activation energy, kJ/mol
    275.4
    """
    if isinstance(name, DiffusivityParameters):
        return name
    key = _ALIASES.get(str(name).lower(), str(name).upper())
    if key not in _SETS:
        raise ModelError(
            f"unknown diffusivity set {name!r}; choose one of {sorted(_SETS)} or {sorted(_ALIASES)}"
        )
    return _SETS[key]()


def tracer_diffusivities(
    T: ArrayLike,
    P: ArrayLike,
    parameters: str | DiffusivityParameters = "CG92",
    *,
    z: ArrayLike | None = None,
    warn: bool = True,
) -> np.ndarray:
    r"""Tracer diffusivities :math:`D^*` of (Mg, Fe, Mn, Ca) in garnet, m² s⁻¹.

    Parameters
    ----------
    T : array_like
        Temperature, K (any shape S).
    P : array_like
        Pressure, bar (broadcast with T).
    parameters : str or DiffusivityParameters
        The Arrhenius set (see :func:`diffusivity_parameters`).
    z : array_like, optional
        Standard-normal perturbations of shape ``(..., 4, 3)`` (element × (ln D0, Q, ΔV)),
        broadcast with ``S``: one kinetic realisation per member (see the module notes).
    warn : bool
        Issue a :class:`~petroinfer.errors.DataQualityWarning` when T leaves the calibration range.

    Returns
    -------
    ndarray, shape S + (4,)

    Notes
    -----
    :math:`D^* = D_0 \exp[-(Q + (P - P_0)\Delta V)/RT]` in SI units (Chakraborty & Ganguly 1992;
    the :math:`+P\Delta V` sign as in GeoParams.jl); with the CG92 set, Ca is 0.5 × Fe
    (Loomis et al. 1985).

    Examples
    --------
    CG92 at 650 °C and 2 kbar, in µm² Myr⁻¹ (DiffusionGarnet.jl test values 241.556, 455.875,
    6306.30, 227.938):

    >>> D = tracer_diffusivities(923.15, 2000.0, "CG92", warn=False)
    >>> (D * 1e12 * SECONDS_PER_MYR).round(3).tolist()
    [241.556, 455.875, 6306.299, 227.938]
    """
    p = diffusivity_parameters(parameters)
    T = np.asarray(T, dtype=float)
    P = np.asarray(P, dtype=float)
    if np.any(~np.isfinite(T)) or np.any(T <= 0):
        raise InputError("temperatures must be finite and > 0 K", value=np.min(T))
    if np.any(~np.isfinite(P)):
        raise InputError("pressures must be finite", value=P.ravel()[0])
    if warn:
        check_calibration(T, p)
    T, P = np.broadcast_arrays(T, P)
    RT = _R * T[..., None]
    P_pa = P[..., None] * 1e5 - p.P0
    ln_d0, Q, dV = p.ln_D0, p.Q, p.dV
    if z is not None:
        zz = np.asarray(z, dtype=float)
        if zz.shape[-2:] != (4, 3):
            raise ModelError("z must have shape (..., 4, 3): element x (ln D0, Q, dV)")
        ln_d0 = ln_d0 + zz[..., 0] * p.sigma_ln_D0
        dq = zz[..., 1] * p.sigma_Q
        Q = Q + dq
        dV = dV + zz[..., 2] * p.sigma_dV
        pivot = 0.0 if not np.isfinite(p.T_pivot) else 1.0 / (_R * p.T_pivot)
        ln_d0 = ln_d0 + dq * pivot
    D = np.exp(ln_d0 - (Q + P_pa * dV) / RT)
    if p.ca_from_fe > 0:
        D = D.copy()
        D[..., 3] = p.ca_from_fe * D[..., 1]
    return D


def check_calibration(T: ArrayLike, parameters: str | DiffusivityParameters) -> None:
    """Warn (:class:`~petroinfer.errors.DataQualityWarning`) when any T (K) lies outside the
    calibration range of the diffusivity set."""
    p = diffusivity_parameters(parameters)
    lo, hi = p.calibration_C
    t_c = kelvin_to_celsius(np.asarray(T, dtype=float))
    if t_c.size and (np.min(t_c) < lo or np.max(t_c) > hi):
        warnings.warn(
            f"temperatures {np.min(t_c):.0f}–{np.max(t_c):.0f} °C lie outside the calibration range "
            f"{lo:.0f}–{hi:.0f} °C of the {p.name} diffusivities ({p.citation}); the values are "
            "extrapolated",
            DataQualityWarning,
            stacklevel=3,
        )
