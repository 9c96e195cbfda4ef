"""Input handling for the thermobarometers: mineral mole fractions from a table, validated.

Private module behind :mod:`petroinfer.thermo`; the public names are :func:`mineral_fractions`,
:func:`garnet_biotite_kd` and :data:`COLUMNS` (re-exported as ``COMPOSITION_COLUMNS``).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from petroinfer.errors import InputError

#: The six mole-fraction columns used by the thermobarometers.
COLUMNS = ("Grt_XAlm", "Grt_XPrp", "Grt_XGrs", "Grt_XSps", "Bt_XMg", "Pl_XAn")


def _grt_total(c: np.ndarray) -> np.ndarray:
    """X_Alm + X_Prp + X_Grs + X_Sps per row (summed column by column: fast on tall arrays)."""
    return ((c[:, 0] + c[:, 1]) + c[:, 2]) + c[:, 3]


_REQUIRED_OXIDES = {
    "Grt": ("FeO", "MgO", "CaO", "MnO"),
    "Bt": ("FeO", "MgO"),
    "Pl": ("CaO", "Na2O"),
}


def _fractions_from_oxides(data: pd.DataFrame) -> pd.DataFrame:
    """Recalculate prefixed oxide analyses with :func:`petroinfer.composition.mineral_formula`.

    All Fe is taken as Fe²⁺ (the convention of the empirical calibrations), so that
    X_Alm + X_Prp + X_Grs + X_Sps = 1.
    """
    from petroinfer.composition import mineral_formula

    for prefix, oxides in _REQUIRED_OXIDES.items():
        for ox in oxides:
            names = [f"{prefix}_{ox}"] + (
                [f"{prefix}_FeOT", f"{prefix}_FeOt"] if ox == "FeO" else []
            )
            if not any(n in data.columns for n in names):
                raise InputError(
                    f"missing column for {prefix} {ox} (oxide input needs it)", column=names[0]
                )
            col = next(n for n in names if n in data.columns)
            _numeric(data, col)
    out = pd.DataFrame(index=data.index)
    g = mineral_formula(data, "garnet", prefix="Grt", fe3="ferrous")
    for c in ("Grt_XAlm", "Grt_XPrp", "Grt_XGrs", "Grt_XSps"):
        out[c] = g[c].to_numpy(dtype=float)
    out["Bt_XMg"] = mineral_formula(data, "biotite", prefix="Bt", fe3="ferrous")["Bt_XMg"].to_numpy(
        dtype=float
    )
    out["Pl_XAn"] = mineral_formula(data, "plagioclase", prefix="Pl")["Pl_XAn"].to_numpy(
        dtype=float
    )
    return out


def _numeric(df: pd.DataFrame, col: str) -> np.ndarray:
    if pd.api.types.is_float_dtype(df[col].dtype):
        v = df[col].to_numpy(dtype=float)
        if not np.isnan(v).any():
            return v
    s = pd.to_numeric(df[col], errors="coerce")
    bad = s.isna()
    if bad.any():
        row = df.index[np.flatnonzero(bad.to_numpy())[0]]
        raise InputError(
            "non-numeric or missing value", column=col, row=row, value=df[col].loc[row]
        )
    return s.to_numpy(dtype=float)


def mineral_fractions(data: pd.DataFrame) -> pd.DataFrame:
    """The six mole fractions of :data:`COLUMNS` from a table, validated.

    Parameters
    ----------
    data : pandas.DataFrame
        Mole fractions or prefixed oxide analyses (see below), one row per analysis.

    Returns
    -------
    pandas.DataFrame
        The columns of :data:`COLUMNS`, indexed like ``data``.

    Rows give either the fractions directly or oxide wt% with mineral prefixes (``Grt_FeO``, ``Grt_MgO``,
    ``Grt_CaO``, ``Grt_MnO``, ``Bt_FeO``, ``Bt_MgO``, ``Pl_CaO``, ``Pl_Na2O``, optional ``Pl_K2O``; FeO may
    be given as ``FeOT``), which are recalculated by :func:`petroinfer.composition.mineral_formula`
    (all Fe as Fe²⁺): X_i^Grt = i/(Fe + Mg + Ca + Mn), X_Mg^Bt = Mg/(Mg + Fe), X_An = Ca/(Ca + Na + K).

    Raises
    ------
    InputError
        Missing columns, non-numeric cells, fractions outside (0, 1) (naming column, row and value),
        or a non-positive K_D (zero Mg or Fe in garnet or biotite).
    """
    if not isinstance(data, pd.DataFrame):
        raise InputError(
            "thermobarometry input must be a pandas DataFrame", value=type(data).__name__
        )
    return pd.DataFrame(dict(zip(COLUMNS, _fraction_matrix(data).T, strict=True)), index=data.index)


def _fraction_matrix(data: pd.DataFrame) -> np.ndarray:
    """:func:`mineral_fractions` as an array of shape (n, 6) in :data:`COLUMNS` order."""
    if not isinstance(data, pd.DataFrame):
        raise InputError(
            "thermobarometry input must be a pandas DataFrame", value=type(data).__name__
        )
    have = [c for c in COLUMNS if c in data.columns]
    if len(have) == len(COLUMNS):
        cols = [_numeric(data, c) for c in COLUMNS]
    elif any(
        c.startswith(("Grt_", "Bt_", "Pl_")) and not c.split("_", 1)[1].startswith("X")
        for c in data.columns
    ):
        out = _fractions_from_oxides(data)
        for c in COLUMNS:  # fractions given explicitly take precedence over recalculated ones
            if c in data.columns:
                out[c] = _numeric(data, c)
        cols = [out[c].to_numpy(dtype=float) for c in COLUMNS]
    else:
        missing = [c for c in COLUMNS if c not in data.columns]
        raise InputError(
            "missing mineral columns: give the mole fractions "
            f"{', '.join(COLUMNS)} or prefixed oxides (Grt_FeO, Bt_MgO, Pl_CaO, ...)",
            column=missing[0],
        )
    _validate_fractions(cols, data.index)
    out = np.empty(
        (len(cols[0]), len(cols)), order="F"
    )  # columns contiguous: fast column arithmetic
    for j, v in enumerate(cols):
        out[:, j] = v
    return out


def _validate_fractions(cols: list[np.ndarray], index: pd.Index) -> None:
    for c, v in zip(COLUMNS, cols, strict=True):
        if v.size == 0 or ((v.min() >= 0 if c == "Grt_XSps" else v.min() > 0) and v.max() < 1):
            continue  # all inside (NaN makes min/max NaN and falls through to the row search)
        # NaN and ±inf fail the comparisons and are caught too
        bad = ~((v >= 0) & (v < 1)) if c == "Grt_XSps" else ~((v > 0) & (v < 1))
        if not bad.any():
            continue
        if c in ("Grt_XPrp", "Grt_XAlm", "Bt_XMg") and np.any(v <= 0):
            i = int(np.flatnonzero(v <= 0)[0])
            raise InputError(
                "K_D is non-positive (zero Mg or Fe); garnet–biotite K_D needs Mg and Fe > 0",
                column=c,
                row=index[i],
                value=float(v[i]),
            )
        i = int(np.flatnonzero(bad)[0])
        raise InputError("mole fraction outside (0, 1)", column=c, row=index[i], value=float(v[i]))
    s = ((cols[0] + cols[1]) + cols[2]) + cols[3]
    bad = np.abs(s - 1) > 0.05
    if np.any(bad):
        i = int(np.flatnonzero(bad)[0])
        raise InputError(
            "garnet XAlm + XPrp + XGrs + XSps must be 1 ± 0.05",
            column="Grt_X*",
            row=index[i],
            value=round(float(s[i]), 4),
        )


def garnet_biotite_kd(data: pd.DataFrame) -> pd.Series:
    """K_D = (X_Mg/X_Fe)^Grt / (X_Mg/X_Fe)^Bt per row (biotite X_Fe = 1 − X_Mg).

    Parameters
    ----------
    data : pandas.DataFrame
        Input accepted by :func:`mineral_fractions`.

    Returns
    -------
    pandas.Series
        ``KD`` (dimensionless), indexed like ``data``.
    """
    f = mineral_fractions(data)
    return pd.Series(
        (f.Grt_XPrp / f.Grt_XAlm) / (f.Bt_XMg / (1 - f.Bt_XMg)), index=f.index, name="KD"
    )


def _sigma_matrix(data: pd.DataFrame, sigma: float | Mapping[str, float]) -> np.ndarray:
    out = np.empty((len(data), len(COLUMNS)))
    for j, col in enumerate(COLUMNS):
        if f"{col}_sd" in data.columns:
            out[:, j] = _numeric(data, f"{col}_sd")
        elif isinstance(sigma, Mapping):
            out[:, j] = float(sigma.get(col, 0.0))
        else:
            out[:, j] = float(sigma)
    if np.any(out < 0):
        raise InputError("analytical standard deviations must be >= 0", value=float(out.min()))
    return out


def _fixed_condition(value: float | ArrayLike, name: str, n: int) -> np.ndarray:
    """A fixed T (°C) or P (kbar): a finite scalar or one finite value per row."""
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be numeric", column=name, value=value) from None
    if arr.ndim > 1 or (arr.ndim == 1 and arr.size != n):
        raise InputError(
            f"{name} must be a number or one value per row ({n} rows)", column=name, value=arr
        )
    bad = ~np.isfinite(arr)
    if np.any(bad):
        i = int(np.flatnonzero(np.atleast_1d(bad))[0])
        raise InputError(f"{name} must be finite", column=name, value=np.atleast_1d(arr)[i])
    return arr
