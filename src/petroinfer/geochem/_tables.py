"""Private helpers shared by the whole-rock multivariate modules: table validation and units.

These are deliberately small. The composition layer (:mod:`petroinfer.composition`) owns the canonical
chemistry vocabulary (element symbols, unit suffixes, unit factors) and the cell-level numeric checks;
this module builds on it to (i) recognise which columns are abundances and in which unit, (ii) convert
ppm/ppb to wt% so that majors and traces can be mixed linearly, and (iii) validate numeric tables with
messages that name the column, row and value (DESIGN.md §4).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from petroinfer.composition._names import _elements, _strip_unit
from petroinfer.composition._units import UNIT_FACTORS
from petroinfer.composition._validate import _numeric_column
from petroinfer.errors import InputError, ModelError

__all__ = [
    "UNIT_TO_WTPCT",
    "as_numeric_frame",
    "column_units",
    "compositional_columns",
    "to_wtpct",
]

#: Multiply a value in this unit by the factor to get wt% (mass per 100 g).
UNIT_TO_WTPCT: dict[str, float] = {
    unit: UNIT_FACTORS["wt%"] / per_unit for unit, per_unit in UNIT_FACTORS.items()
}

_OXIDE_RE = re.compile(r"^((?:[A-Z][a-z]?\d*)+?)O\d*T?$")
_ISOTOPE_RE = re.compile(r"^[A-Z][a-z]?\d{1,3}[A-Z]?[a-z]?\d{1,3}$")
_NOT_ABUNDANCE = ("_apfu", "apfu", "total", "sumox", "mgno", "fe3no", "tot_cat", "loi")


@lru_cache(maxsize=1)
def _element_symbols() -> frozenset[str]:
    return frozenset(_elements())


def _strip_suffix(name: str) -> tuple[str, str | None]:
    """Split a mass-unit suffix (``_ppm``, `` wt%``, ``_pct``...) off a column name.

    The suffix grammar is the composition layer's; only units convertible to wt% count.
    """
    base, unit = _strip_unit(name)
    if unit in UNIT_TO_WTPCT:
        return base, unit
    return name, None


def _base_kind(base: str) -> str | None:
    """'oxide', 'element', 'isotope' or None for a column base name (suffix removed)."""
    if _ISOTOPE_RE.match(base) and not _OXIDE_RE.match(base):
        return "isotope"
    if base in _element_symbols():
        return "element"
    m = _OXIDE_RE.match(base)
    if m:
        cations = re.findall(r"[A-Z][a-z]?", m.group(1))
        if cations and all(c in _element_symbols() and c != "O" for c in cations):
            return "oxide"
    return None


def compositional_columns(columns: Sequence[Any]) -> list[str]:
    """Columns whose names read as abundances (oxides, elements, with optional unit suffix).

    Isotope ratios (``Sr87Sr86``), cation totals (``*_apfu``), analytical totals and labels are not
    parts of a composition and are left out (geochem.md §9.1).
    """
    keep = []
    for col in columns:
        name = str(col)
        if any(tag in name.lower() for tag in _NOT_ABUNDANCE):
            continue
        base, _ = _strip_suffix(name)
        if _base_kind(base) in ("oxide", "element"):
            keep.append(name)
    return keep


def column_units(
    columns: Sequence[str], units: str | Mapping[str, str] | None = "auto"
) -> dict[str, str]:
    """Unit of every column: explicit mapping, one unit for all, or ``"auto"`` from the names.

    ``auto``: a suffix (``_pct``, ``_ppm``, ``_ppb``) wins; otherwise oxides (``SiO2``, ``FeOT``) are
    wt% and bare element symbols (``Rb``, ``La``) ppm, the way whole-rock tables are written.
    """
    out: dict[str, str] = {}
    if units is None:
        units = "auto"
    if isinstance(units, str) and units != "auto":
        if units not in UNIT_TO_WTPCT:
            raise ModelError(
                f"units must be 'auto', one of {sorted(UNIT_TO_WTPCT)} or a mapping, got {units!r}"
            )
        return dict.fromkeys(columns, units)
    mapping: Mapping[str, str] = {} if isinstance(units, str) else units
    for col in columns:
        if col in mapping:
            unit = mapping[col]
            if unit not in UNIT_TO_WTPCT:
                raise InputError(
                    f"unknown unit {unit!r}; expected one of {sorted(UNIT_TO_WTPCT)}", column=col
                )
            out[col] = unit
            continue
        base, unit = _strip_suffix(col)
        kind = _base_kind(base)
        if unit is None:
            if kind == "oxide":
                unit = "wt%"
            elif kind == "element":
                unit = "ppm"
            else:
                raise InputError(
                    "cannot tell the unit of this column from its name; pass units={column: 'wt%'|'ppm'}",
                    column=col,
                )
        out[col] = unit
    return out


def as_numeric_frame(
    X: Any,
    *,
    name: str = "X",
    allow_zero: bool = True,
    allow_negative: bool = False,
    min_rows: int = 1,
) -> pd.DataFrame:
    """Validate a table of numbers and return a float DataFrame copy (inputs are never modified).

    Raises :class:`InputError` naming the column, row and value for non-numeric cells, NaN/inf,
    negative values (and zeros when ``allow_zero`` is false, e.g. where logs are taken).
    """
    if hasattr(X, "tocsr") or hasattr(X, "toarray"):
        raise InputError(f"{name}: sparse input is not supported; pass a dense table")
    if isinstance(X, pd.DataFrame):
        df = X.copy()
    else:
        arr = np.asarray(X)
        if np.iscomplexobj(arr):
            raise InputError(f"{name}: Complex data not supported")
        if arr.ndim != 2:
            raise InputError(
                f"{name} must be a 2-D table (samples × variables), got shape {arr.shape}; "
                "Reshape your data"
            )
        df = pd.DataFrame(arr, columns=[f"x{i}" for i in range(arr.shape[1])])
    if df.shape[0] < min_rows:
        raise InputError(
            f"{name} has {df.shape[0]} rows (n_samples={df.shape[0]}); at least {min_rows} are needed"
        )
    if df.shape[1] == 0:
        raise InputError(
            f"{name} has no columns: 0 feature(s) (shape={df.shape}) while a minimum of 1 is required."
        )
    df.columns = [str(c) for c in df.columns]
    dup = df.columns[df.columns.duplicated()]
    if len(dup):
        raise InputError(f"{name} has duplicated columns", column=str(dup[0]))
    for col in df.columns:
        df[col] = _numeric_column(
            df[col], f"{name}: non-numeric cell (argument must be a string or a number)"
        )
    vals = df.to_numpy(dtype=float)
    checks = [
        (~np.isfinite(vals), "missing or non-finite value (NaN/inf) — fill or drop it explicitly")
    ]
    if not allow_negative:
        checks.append((vals < 0, "negative abundance (Negative values in data are not allowed)"))
    if not allow_zero:
        checks.append(
            (vals == 0, "zero abundance where a logarithm is needed (positive values expected)")
        )
    for mask, msg in checks:
        if mask.any():
            i, j = np.argwhere(mask)[0]
            raise InputError(
                f"{name}: {msg}", column=df.columns[j], row=df.index[i], value=vals[i, j]
            )
    return df.astype(float)


def to_wtpct(
    df: pd.DataFrame, units: Mapping[str, str], *, check_totals: bool = True
) -> pd.DataFrame:
    """Convert every column to wt% and check that the result is physically possible.

    A value, or a row total, above 105 wt% after conversion (analyses scatter a little above 100) means
    mixed units (a ppm column read as wt%): an :class:`InputError` names the row and the column.
    """
    factors = np.array([UNIT_TO_WTPCT[units[c]] for c in df.columns])
    out = df * factors
    if not check_totals:
        return out
    for c in df.columns:
        over = np.flatnonzero(out[c].to_numpy() > 105.0)
        if len(over):
            i = over[0]
            raise InputError(
                f"value is {out[c].iloc[i]:.4g} wt% after conversion from {units[c]!r}, above 105 wt%: "
                "mixed units? (declare the unit, e.g. units={column: 'ppm'})",
                column=c,
                row=df.index[i],
                value=float(df[c].iloc[i]),
            )
    tot = out.sum(axis=1).to_numpy()
    bad = np.flatnonzero(tot > 105.0)
    if len(bad):
        i = bad[0]
        row = out.iloc[i]
        big = row.idxmax()
        raise InputError(
            f"row total {tot[i]:.4g} wt% after unit conversion exceeds 100 wt%: mixed units? "
            f"(largest part {big!r} = {row[big]:.4g} wt%, declared unit {units[big]!r})",
            column=big,
            row=df.index[i],
            value=float(df.iloc[i][big]),
        )
    return out
