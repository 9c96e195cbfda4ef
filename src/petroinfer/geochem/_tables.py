"""Private helpers shared by the whole-rock multivariate modules: table validation and units.

These are deliberately small. The composition layer (:mod:`petroinfer.composition`) owns the canonical
chemistry vocabulary (element symbols, unit suffixes, unit factors) and the cell-level numeric checks;
this module builds on it to (i) recognise which columns are abundances and in which unit, (ii) convert
ppm/ppb to wt% so that majors and traces can be mixed linearly, and (iii) validate numeric tables with
messages that name the column, row and value (DESIGN.md §4).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from petroinfer.composition import (
    UNIT_FACTORS,
    is_isotope_ratio,
    misspelled_columns,
    misspelled_message,
    name_category,
    numeric_column,
    parse_column,
    split_unit,
)
from petroinfer.errors import InputError, ModelError

__all__ = [
    "ABSURD_VALUE",
    "MAX_TOTAL",
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
#: Numbers above this magnitude are no measurement (default bound of :func:`as_numeric_frame`).
ABSURD_VALUE = 1e15

_NOT_ABUNDANCE = ("_apfu", "apfu", "total", "sumox", "mgno", "fe3no", "tot_cat", "loi")


def _strip_suffix(name: str) -> tuple[str, str | None]:
    """Split a mass-unit suffix (``_ppm``, `` wt%``, ``_pct``...) off a column name.

    The suffix grammar is the composition layer's; only units convertible to wt% count.
    """
    base, unit = split_unit(name)
    if unit in UNIT_TO_WTPCT:
        return base, unit
    return name, None


def _base_kind(base: str) -> str | None:
    """'oxide', 'element', 'isotope' or None for a column base name (suffix removed).

    The chemistry vocabulary decides (:func:`petroinfer.composition.name_category`): oxides and
    oxygen-bearing volatiles (``H2O``, ``CO2``) are oxides (wt%); elements and REE — and the
    volatile elements ``F``, ``Cl``, ``S`` — are elements (ppm), written with their exact symbol
    (``y`` is a coordinate, not yttrium). Mineral-prefixed names are not whole-rock abundances.
    """
    if is_isotope_ratio(base):
        return "isotope"
    parsed = parse_column(base)
    if parsed.name is None or parsed.prefix is not None or parsed.unit is not None:
        return None
    cat = name_category(base)
    if cat == "oxide" or (cat == "volatile" and "O" in parsed.name and parsed.name != "LOI"):
        return "oxide"
    if cat in {"element", "ree", "volatile"} and base.strip() == parsed.name:
        return "element"
    return None


def compositional_columns(
    columns: Sequence[Any],
    *,
    ignore: Iterable[str] = (),
    misspelled: Literal["raise", "ignore"] = "raise",
) -> list[str]:
    """Columns whose names read as abundances (oxides, elements, with optional unit suffix).

    Isotope ratios (``Sr87Sr86``), cation totals (``*_apfu``), analytical totals and labels are not
    parts of a composition and are left out (geochem.md §9.1).

    Parameters
    ----------
    columns : sequence
        Column headers of the table.
    ignore : iterable of str
        Headers declared as metadata: never selected, never reported as misspelled.
    misspelled : {"raise", "ignore"}
        ``"raise"`` (default): a header that looks like a misspelled chemistry name (``Mg0``,
        ``Zrr``, ``Rbb``, see :func:`petroinfer.composition.suspect_misspelling`) raises an
        :class:`InputError` with the suggestion, instead of being silently left out.

    Returns
    -------
    list of str
        The abundance columns, in table order.
    """
    if misspelled not in ("raise", "ignore"):
        raise ModelError(f"misspelled must be 'raise' or 'ignore', got {misspelled!r}")
    skip = {str(c) for c in ignore}
    keep = []
    for col in columns:
        name = str(col)
        if name in skip or any(tag in name.lower() for tag in _NOT_ABUNDANCE):
            continue
        base, _ = _strip_suffix(name)
        if _base_kind(base) in ("oxide", "element"):
            keep.append(name)
    if misspelled == "raise":
        bad = misspelled_columns([c for c in columns if str(c) not in keep], ignore=skip)
        if bad:
            raise InputError(misspelled_message(bad), column=next(iter(bad)))
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
    max_abs: float | None = ABSURD_VALUE,
    unique_index: bool = True,
) -> pd.DataFrame:
    """Validate a table of numbers and return a float DataFrame copy (inputs are never modified).

    Parameters
    ----------
    X : DataFrame or array-like
        Rows = samples (the index holds the sample ids), columns = variables.
    name : str
        How the table is named in messages.
    allow_zero, allow_negative : bool
        Whether zeros (refused where logarithms are taken) and negative values are accepted.
    min_rows : int
        Fewest rows accepted.
    max_abs : float or None
        Numbers with :math:`|x|` above this bound (default :data:`ABSURD_VALUE` = 1e15) are no
        measurement (``1e300``) and are refused; ``None`` accepts any finite number.
    unique_index : bool
        Refuse duplicated sample ids in the index of a DataFrame (both rows are named).

    Raises
    ------
    InputError
        Naming the column, row (sample id) and value for non-numeric cells, NaN/inf, absurd
        magnitudes, negative values (and zeros when ``allow_zero`` is false), and duplicated ids.
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
    if unique_index and isinstance(X, pd.DataFrame) and df.index.duplicated().any():
        sid = df.index[df.index.duplicated()][0]
        rows = [i + 1 for i, v in enumerate(df.index) if v == sid]
        raise InputError(
            f"{name}: duplicated sample id {sid!r} (data rows {' and '.join(map(str, rows[:2]))}"
            f"{'' if len(rows) <= 2 else f' and {len(rows) - 2} more'}); ids must be unique",
            column=df.index.name,
            row=sid,
        )
    for col in df.columns:
        df[col] = numeric_column(
            df[col], f"{name}: non-numeric cell (argument must be a string or a number)"
        )
    vals = df.to_numpy(dtype=float)
    checks = [
        (~np.isfinite(vals), "missing or non-finite value (NaN/inf) — fill or drop it explicitly")
    ]
    if max_abs is not None:
        checks.append(
            (
                np.abs(np.nan_to_num(vals, posinf=0.0, neginf=0.0)) > max_abs,
                f"absurd value (|x| > {max_abs:g}): not a measurement; check the cell",
            )
        )
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


#: Default upper bound (wt%) on one part and on a row total after unit conversion.
MAX_TOTAL = 105.0


def to_wtpct(
    df: pd.DataFrame,
    units: Mapping[str, str],
    *,
    check_totals: bool = True,
    max_total: float = MAX_TOTAL,
) -> pd.DataFrame:
    """Convert every column to wt% and check that the result is physically possible.

    Parameters
    ----------
    df : DataFrame
        Abundances, one unit per column.
    units : mapping
        ``{column: unit}`` with units of :data:`UNIT_TO_WTPCT`.
    check_totals : bool
        Check single parts and row totals against ``max_total``.
    max_total : float
        Largest accepted part or row total in wt% (default 105: analyses scatter a little above
        100; a ppm column read as wt% gives hundreds). Raise it for noisy or unnormalised data,
        e.g. synthetic mixtures with independent relative noise on every part.

    Returns
    -------
    DataFrame
        The table in wt%.

    Raises
    ------
    InputError
        A value, or a row total, above ``max_total`` after conversion means mixed units (a ppm
        column read as wt%): the message names the row (sample id), the column and the value.
    """
    factors = np.array([UNIT_TO_WTPCT[units[c]] for c in df.columns])
    out = df * factors
    if not check_totals:
        return out
    if not max_total > 0:
        raise ModelError(f"max_total must be a positive number of wt%, got {max_total!r}")
    hint = f"or pass max_total= above {max_total:g} if the data are meant so"
    for c in df.columns:
        over = np.flatnonzero(out[c].to_numpy() > max_total)
        if len(over):
            i = over[0]
            raise InputError(
                f"value is {out[c].iloc[i]:.4g} wt% after conversion from {units[c]!r}, above "
                f"max_total={max_total:g} wt%: mixed units? (declare the unit, e.g. "
                f"units={{column: 'ppm'}}, {hint})",
                column=c,
                row=df.index[i],
                value=float(df[c].iloc[i]),
            )
    tot = out.sum(axis=1).to_numpy()
    bad = np.flatnonzero(tot > max_total)
    if len(bad):
        i = bad[0]
        row = out.iloc[i]
        big = row.idxmax()
        raise InputError(
            f"row total {tot[i]:.4g} wt% after unit conversion exceeds max_total={max_total:g} "
            f"wt% ({len(bad)} rows): mixed units? (largest part {big!r} = {row[big]:.4g} wt%, "
            f"declared unit {units[big]!r}; {hint})",
            column=big,
            row=df.index[i],
            value=float(df.iloc[i][big]),
        )
    return out
