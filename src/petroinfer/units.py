"""Physical unit conversions at the edges of the package (the one place they happen).

Inside petroinfer temperatures are in K, pressures in bar, energies in J and lengths in m (DESIGN.md §2).
Users see °C and kbar in the command line, reports and plots; these helpers convert.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

__all__ = [
    "CELSIUS_OFFSET",
    "GAS_CONSTANT",
    "bar_to_gpa",
    "bar_to_kbar",
    "celsius_to_kelvin",
    "gpa_to_bar",
    "kbar_to_bar",
    "kelvin_to_celsius",
]

CELSIUS_OFFSET = 273.15
#: Molar gas constant R = N_A k_B in J mol⁻¹ K⁻¹ (CODATA 2018, exact; equal to ``scipy.constants.R``).
GAS_CONSTANT = 8.31446261815324


def celsius_to_kelvin(t_c: ArrayLike) -> np.ndarray:
    """Temperature in °C → K.

    Parameters
    ----------
    t_c : array_like
        Temperature(s) in °C; scalars and arrays of any shape are accepted.

    Returns
    -------
    numpy.ndarray
        Temperature(s) in K (float array of the same shape, ``t_c + 273.15``).
    """
    return np.asarray(t_c, dtype=float) + CELSIUS_OFFSET


def kelvin_to_celsius(t_k: ArrayLike) -> np.ndarray:
    """Temperature in K → °C.

    Parameters
    ----------
    t_k : array_like
        Temperature(s) in K; scalars and arrays of any shape are accepted.

    Returns
    -------
    numpy.ndarray
        Temperature(s) in °C (float array of the same shape, ``t_k - 273.15``).
    """
    return np.asarray(t_k, dtype=float) - CELSIUS_OFFSET


def kbar_to_bar(p_kbar: ArrayLike) -> np.ndarray:
    """Pressure in kbar → bar.

    Parameters
    ----------
    p_kbar : array_like
        Pressure(s) in kbar; scalars and arrays of any shape are accepted.

    Returns
    -------
    numpy.ndarray
        Pressure(s) in bar (float array of the same shape, ``1e3 * p_kbar``).
    """
    return np.asarray(p_kbar, dtype=float) * 1e3


def bar_to_kbar(p_bar: ArrayLike) -> np.ndarray:
    """Pressure in bar → kbar.

    Parameters
    ----------
    p_bar : array_like
        Pressure(s) in bar; scalars and arrays of any shape are accepted.

    Returns
    -------
    numpy.ndarray
        Pressure(s) in kbar (float array of the same shape, ``1e-3 * p_bar``).
    """
    return np.asarray(p_bar, dtype=float) * 1e-3


def bar_to_gpa(p_bar: ArrayLike) -> np.ndarray:
    """Pressure in bar → GPa.

    Parameters
    ----------
    p_bar : array_like
        Pressure(s) in bar; scalars and arrays of any shape are accepted.

    Returns
    -------
    numpy.ndarray
        Pressure(s) in GPa (float array of the same shape, ``1e-4 * p_bar``).
    """
    return np.asarray(p_bar, dtype=float) * 1e-4


def gpa_to_bar(p_gpa: ArrayLike) -> np.ndarray:
    """Pressure in GPa → bar.

    Parameters
    ----------
    p_gpa : array_like
        Pressure(s) in GPa; scalars and arrays of any shape are accepted.

    Returns
    -------
    numpy.ndarray
        Pressure(s) in bar (float array of the same shape, ``1e4 * p_gpa``).
    """
    return np.asarray(p_gpa, dtype=float) * 1e4
