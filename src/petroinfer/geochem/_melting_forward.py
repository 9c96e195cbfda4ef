r"""Forward models of trace-element partitioning during mantle melting (Shaw 1970 family).

Implementation behind :mod:`petroinfer.geochem.melting`. Every kernel works on numpy arrays and
broadcasts: ``D`` (bulk partition coefficients, last axis = elements) against ``F`` (melt fraction),
so that the sampler can evaluate ``(replica, sample, element)`` blocks in one call.

Notation (Shaw 1970): :math:`C_0` source, :math:`F` melt mass fraction, :math:`D_0 = \sum_\phi
x_\phi K_\phi` (source mode :math:`x`), :math:`P = \sum_\phi p_\phi K_\phi` (melting mode :math:`p`).
Modal melting is :math:`P = D_0 = D`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import minimize_scalar

from petroinfer.errors import InputError, ModelError

__all__ = [
    "MELT_KINDS",
    "MODELS",
    "batch_ratio",
    "bulk_partition_coefficient",
    "fractional_ratio",
    "log_melt_ratio",
    "two_stage_ratio",
]

#: Melting models of the inversion (names used by ``MeltingInversion(model=...)``).
MODELS = ("batch", "fractional", "two_stage")
#: What a fractional model returns.
MELT_KINDS = ("aggregated", "instantaneous", "residue")


# ------------------------------------------------------------------------------------ kernels
def batch_ratio(D: Any, F: Any, P: Any = None, *, residue: bool = False) -> np.ndarray:
    r"""Batch (equilibrium) melting, :math:`C/C_0` of the melt (or residue).

    Melt: :math:`C_L/C_0 = 1/(D_0 + F(1-P))` (non-modal; :math:`P = D_0` gives the modal
    :math:`1/(D + F(1-D))`). Residue by mass balance: :math:`C_S/C_0 = (1 - F C_L/C_0)/(1-F)`,
    which is :math:`D\,C_L/C_0` for modal melting (Shaw 1970).
    """
    D = np.asarray(D, dtype=float)
    F = np.asarray(F, dtype=float)
    P = D if P is None else np.asarray(P, dtype=float)
    melt = 1.0 / (D + F * (1.0 - P))
    if not residue:
        return melt
    return (1.0 - F * melt) / (1.0 - F)


def fractional_ratio(D: Any, F: Any, P: Any = None, *, kind: str = "aggregated") -> np.ndarray:
    r"""Fractional (Rayleigh) melting, :math:`C/C_0` of the melt or residue.

    Modal (Shaw 1970): instantaneous :math:`C_L/C_0 = D^{-1}(1-F)^{1/D-1}`, aggregated
    :math:`\bar C_L/C_0 = F^{-1}[1-(1-F)^{1/D}]`, residue :math:`C_S/C_0 = (1-F)^{1/D-1}`.
    Non-modal: instantaneous :math:`D_0^{-1}(1-PF/D_0)^{1/P-1}`, aggregated
    :math:`F^{-1}[1-(1-PF/D_0)^{1/P}]`, residue :math:`(1-F)^{-1}(1-PF/D_0)^{1/P}`; when
    :math:`PF \ge D_0` the host phases are exhausted and the base is clipped at 0.
    """
    if kind not in MELT_KINDS:
        raise ModelError(f"kind must be one of {MELT_KINDS}; got {kind!r}")
    D = np.asarray(D, dtype=float)
    F = np.asarray(F, dtype=float)
    if P is None:
        base, expo, d0 = 1.0 - F, 1.0 / D, D
    else:
        P = np.asarray(P, dtype=float)
        base, expo, d0 = np.clip(1.0 - P * F / D, 0.0, None), 1.0 / P, D
    with np.errstate(divide="ignore", invalid="ignore"):
        logb = np.log(base)
        if kind == "instantaneous":
            return np.exp((expo - 1.0) * logb) / d0
        if kind == "residue":
            if P is None:
                return np.exp((expo - 1.0) * logb)
            return np.exp(expo * logb) / (1.0 - F)
        agg = -np.expm1(expo * logb) / F
    return np.where(F > 0, agg, 1.0 / d0 * np.ones_like(agg))


def two_stage_ratio(
    D_first: Any, D_second: Any, F: Any, F_transition: Any, *, kind: str = "aggregated"
) -> np.ndarray:
    r"""Two-stage (polybaric) modal fractional melting, e.g. garnet field then spinel field.

    Up to :math:`F_t` the source melts fractionally with :math:`D_1`; the residue
    :math:`r_1 = (1-F_t)^{1/D_1-1}` then melts with :math:`D_2` by the fraction
    :math:`F_2 = (F-F_t)/(1-F_t)` of itself. For :math:`F > F_t` the aggregated melt is
    :math:`\bar C_L/C_0 = [F_t a_1 + (F-F_t) r_1 a_2]/F` with :math:`a_1 = F_t^{-1}[1-(1-F_t)^{1/D_1}]`
    and :math:`a_2 = F_2^{-1}[1-(1-F_2)^{1/D_2}]`; the residue is :math:`r_1(1-F_2)^{1/D_2-1}`, the
    instantaneous melt :math:`r_1 D_2^{-1}(1-F_2)^{1/D_2-1}` (Shaw 1970 applied sequentially;
    geochem notes §F.2 [R]). Melt and residue balance the source exactly.
    """
    if kind not in MELT_KINDS:
        raise ModelError(f"kind must be one of {MELT_KINDS}; got {kind!r}")
    D1 = np.asarray(D_first, dtype=float)
    D2 = np.asarray(D_second, dtype=float)
    F = np.asarray(F, dtype=float)
    Ft = np.asarray(F_transition, dtype=float)
    first = fractional_ratio(D1, F, kind=kind)
    Fc = np.maximum(F, Ft)
    r1 = fractional_ratio(D1, Ft, kind="residue")
    F2 = (Fc - Ft) / (1.0 - Ft)
    if kind == "aggregated":
        a1 = fractional_ratio(D1, Ft, kind="aggregated")
        a2 = fractional_ratio(D2, F2, kind="aggregated")
        with np.errstate(divide="ignore", invalid="ignore"):
            second = (Ft * a1 + (Fc - Ft) * r1 * a2) / Fc
    else:
        second = r1 * fractional_ratio(D2, F2, kind=kind)
    return np.where(F <= Ft, first, second)


def log_melt_ratio(
    model: str,
    D: np.ndarray,
    F: np.ndarray,
    *,
    P: np.ndarray | None = None,
    D_second: np.ndarray | None = None,
    F_transition: float | None = None,
) -> np.ndarray:
    """``log(C_L/C0)`` of the melt under ``model`` (batch melt, aggregated fractional, two-stage)."""
    if model == "batch":
        return -np.log(D + F * (1.0 - (D if P is None else P)))
    if model == "fractional":
        return np.log(fractional_ratio(D, F, P, kind="aggregated"))
    if model == "two_stage":
        return np.log(two_stage_ratio(D, D_second, F, F_transition, kind="aggregated"))
    raise ModelError(f"model must be one of {MODELS}; got {model!r}")


# ------------------------------------------------------------------------------------ bulk D
def bulk_partition_coefficient(
    modes: str | Mapping[str, float] | pd.Series,
    kd: str | pd.DataFrame = "gibson_geist_2010",
    *,
    atol: float = 0.01,
) -> pd.Series:
    r"""Bulk partition coefficients :math:`D_i = \sum_\phi x_\phi K_{\phi,i}` from a mineral mode.

    Parameters
    ----------
    modes : str, mapping or pandas.Series
        Mass fraction of each phase (``{"ol": 0.57, "opx": 0.28, "cpx": 0.13, "sp": 0.02}``), or a
        mode name from the composition layer (``"DMM"``, :func:`petroinfer.composition.mineral_modes`);
        non-negative, summing to 1 within ``atol``. A melting mode (reaction coefficients
        :math:`p_\phi`, non-modal melting) gives the :math:`P` of :func:`batch_melting`.
    kd : str or pandas.DataFrame, default "gibson_geist_2010"
        Mineral/melt partition coefficients, rows = phases (index), columns = elements, or a table
        name (:func:`petroinfer.composition.mineral_partition_coefficients`).
    atol : float
        Tolerance on the sum of the mode.

    Returns
    -------
    pandas.Series
        :math:`D_i` per element (dimensionless), ``attrs["units"] = "1"``.

    Raises
    ------
    InputError
        For a negative fraction, a mode that does not sum to 1, a phase missing from ``kd`` or a
        negative/non-finite partition coefficient.

    Notes
    -----
    Shaw (1970) Geochim. Cosmochim. Acta 34:237–243, eq. 1.

    Examples
    --------
    >>> kd = pd.DataFrame({"La": [0.0005, 0.054]}, index=["ol", "cpx"])
    >>> float(bulk_partition_coefficient({"ol": 0.8, "cpx": 0.2}, kd)["La"])
    0.0112
    >>> round(float(bulk_partition_coefficient("DMM", "gibson_geist_2010")["Sm"]), 5)
    0.04452
    """
    if isinstance(modes, str):
        from petroinfer.composition import mineral_modes

        modes = mineral_modes(modes)
    if isinstance(kd, str):
        from petroinfer.composition import mineral_partition_coefficients

        kd = mineral_partition_coefficients(kd)
    x = pd.Series(modes, dtype=float)
    if (x < 0).any() or not np.all(np.isfinite(x)):
        bad = x[(x < 0) | ~np.isfinite(x)].index[0]
        raise InputError("mineral mode fractions must be finite and >= 0", row=bad, value=x[bad])
    if abs(float(x.sum()) - 1.0) > atol:
        raise InputError(
            f"mineral mode must sum to 1 (within {atol}); it sums to {float(x.sum()):.4g}",
            value=x.to_dict(),
        )
    missing = [p for p in x.index if p not in kd.index]
    if missing:
        raise InputError(
            f"no partition coefficients for phase {missing[0]!r}; the table has {list(kd.index)}",
            row=missing[0],
        )
    k = kd.loc[x.index].astype(float)
    if not np.all(np.isfinite(k.to_numpy())) or (k.to_numpy() < 0).any():
        raise InputError("partition coefficients must be finite and >= 0")
    out = (k.mul(x, axis=0)).sum(axis=0)
    out.name = "D"
    out.index.name = "element"
    out.attrs["units"] = "1"
    return out


# ------------------------------------------------------------------------------------ LSQ fit
def least_squares_fit(
    log_obs: np.ndarray,
    log_c0: np.ndarray,
    model: str,
    D: np.ndarray,
    *,
    F_bounds: tuple[float, float],
    fractionation: bool,
    **kw: Any,
) -> tuple[float, float, np.ndarray]:
    """Least-squares ``F`` (and common ``log k``) of one melt composition; returns F, k, residuals."""

    def resid(F: float) -> tuple[np.ndarray, float]:
        r = log_obs - log_c0 - log_melt_ratio(model, D, np.asarray(F), **kw)
        logk = float(r.mean()) if fractionation else 0.0
        return r - logk, logk

    grid = np.geomspace(F_bounds[0], F_bounds[1], 200)
    ss = [float(np.sum(resid(f)[0] ** 2)) for f in grid]
    i = int(np.argmin(ss))
    lo, hi = grid[max(i - 1, 0)], grid[min(i + 1, grid.size - 1)]
    if hi > lo:
        opt = minimize_scalar(
            lambda f: float(np.sum(resid(f)[0] ** 2)),
            bounds=(lo, hi),
            method="bounded",
            options={"xatol": 1e-10},
        )
        F = float(opt.x)
    else:
        F = float(grid[i])
    r, logk = resid(F)
    return F, float(np.exp(logk)), r
