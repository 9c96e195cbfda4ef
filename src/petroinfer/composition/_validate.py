"""Validation of composition tables (DESIGN.md §4): every problem names column, row and value."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from petroinfer.composition._names import (
    _unknown_message,
    name_category,
    normalise_columns,
    parse_column,
)
from petroinfer.errors import InputError, ModelError

__all__ = [
    "DEFAULT_UNITS",
    "numeric_column",
    "override_units",
    "oxide_total",
    "parse_numbers",
    "validate_composition",
]

#: Default unit of each category when neither ``units=`` nor the table says otherwise.
DEFAULT_UNITS: dict[str, str] = {
    "oxide": "wt%", "volatile": "wt%", "total": "wt%", "element": "ppm", "ree": "ppm",
    "endmember": "fraction",
}  # fmt: skip
_MAX = {"wt%": 100.0, "ppm": 1e6, "ppb": 1e9, "fraction": 1.0, "mol%": 100.0}
_ABUNDANCE = {"oxide", "volatile", "element", "ree", "endmember", "total"}
_SUM_EXCLUDE = {"Total", "CationSum", "LOI", "H2O-"}


def _first(mask: pd.Series | np.ndarray, index: pd.Index) -> tuple[object, int]:
    arr = np.asarray(mask)
    pos = int(np.flatnonzero(arr)[0])
    return index[pos], int(arr.sum())


def parse_numbers(raw: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Numbers of one column and the mask of its cells that hold something other than a number.

    Parameters
    ----------
    raw : Series
        Cells as read (strings, numbers, NaN/None for empty cells).

    Returns
    -------
    numbers : Series
        Float values; NaN where the cell is empty or not a number.
    bad : ndarray of bool
        True where the cell holds something (text such as ``"<0.01"``, ``"n.d."``) that is not
        a number; empty cells are not bad.

    Examples
    --------
    >>> import pandas as pd
    >>> num, bad = parse_numbers(pd.Series(["1.5", "n.d.", None]))
    >>> num.tolist()[0], bad.tolist()
    (1.5, [False, True, False])
    """
    numeric = pd.to_numeric(raw, errors="coerce")
    return numeric, (numeric.isna() & raw.notna()).to_numpy()


def numeric_column(raw: pd.Series, message: str) -> pd.Series:
    """Float copy of one column, or an :class:`InputError` naming the first non-numeric cell.

    Parameters
    ----------
    raw : Series
        One column; its ``name`` is the column named in the error, its index the row ids.
    message : str
        What is wrong; ``{n}`` is replaced by the number of non-numeric cells in the column.

    Returns
    -------
    Series
        Float values. Empty cells (NaN/None) are not errors here: they stay NaN for the caller
        to judge.

    Raises
    ------
    InputError
        Naming the column, the row (index label) and the cell's value.

    Examples
    --------
    >>> import pandas as pd
    >>> numeric_column(pd.Series(["1", "2.5"], name="SiO2"), "non-numeric cell").tolist()
    [1.0, 2.5]
    """
    numeric, bad = parse_numbers(raw)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(
            message.replace("{n}", str(int(bad.sum()))),
            column=str(raw.name),
            row=raw.index[i],
            value=raw.iloc[i],
        )
    return numeric.astype(float)


def override_units(
    found: Mapping[str, str],
    columns: Iterable[Any],
    units: str | Mapping[str, str] | None,
    key: Callable[[str], str],
) -> dict[str, str]:
    """Units ``found`` in the table, overridden by the caller's ``units=``.

    Parameters
    ----------
    found : mapping
        ``{column: unit}`` read from the table (header suffixes, units row).
    columns : iterable
        The table's columns.
    units : str, mapping or None
        A string applies to every abundance column (oxide, volatile, element, REE, total); a
        mapping sets single columns, its keys translated to column names by ``key``.
    key : callable
        Maps a key of ``units`` to the column it means (e.g. :func:`canonical_name`).

    Returns
    -------
    dict
        ``{column: unit}``.

    Examples
    --------
    >>> override_units({"SiO2": "wt%"}, ["SiO2", "Rb"], "ppm", str)
    {'SiO2': 'ppm', 'Rb': 'ppm'}
    """
    out = dict(found)
    if isinstance(units, str):
        for c in columns:
            if name_category(str(c)) in {"oxide", "volatile", "element", "ree", "total"}:
                out[c] = units
    elif units is not None:
        for k, v in units.items():
            out[key(k)] = v
    return out


# private aliases kept while other packages switch to the public names
_parse_numbers = parse_numbers
_numeric_column = numeric_column
_override_units = override_units


#: Larger numbers are no measurement in any unit of a mass fraction (1 = 10^9 ppb).
ABSURD = 1e9


def _magnitude_hint(unit: str, value: float) -> str:
    """What a value above the maximum of its unit most likely is."""
    if unit == "wt%" and value <= _MAX["ppm"]:
        return "looks like ppm; convert, or pass units='ppm'"
    if unit in {"wt%", "ppm"} and value <= _MAX["ppb"]:
        return "looks like ppb; convert, or pass units='ppb'"
    if unit == "fraction" and value <= 100.0:
        return "looks like a percentage; divide by 100"
    if unit == "mol%":
        return "check the unit"
    return f"not a {unit} value; check the cell and the unit"


def _unit_of(col: str, units: Mapping[str, str]) -> str | None:
    if col in units:
        return units[col]
    cat = name_category(col)
    if cat == "endmember" and parse_column(col).name in {"Mg#", "Cr#"}:
        return "fraction"
    return DEFAULT_UNITS.get(cat or "")


def oxide_total(df: pd.DataFrame) -> pd.Series:
    """Sum of oxide and volatile columns per row (wt%), without double-counting iron.

    Total-iron columns (FeOT, Fe2O3T) are used only when neither FeO nor Fe2O3 is present;
    ``Total``, ``LOI`` and ``H2O-`` are excluded. Missing cells count as zero.

    Parameters
    ----------
    df : DataFrame
        Analyses (rows) with oxide columns in wt%.
    """
    groups: dict[str | None, list[str]] = {}
    for c in df.columns:
        p = parse_column(str(c))
        if p.name is None or name_category(str(c)) not in {"oxide", "volatile"}:
            continue
        if p.name in _SUM_EXCLUDE:
            continue
        groups.setdefault(p.prefix, []).append(str(c))
    if not groups:
        return pd.Series(np.nan, index=df.index, name="Total")
    cols: list[str] = []
    for members in groups.values():
        names = {parse_column(c).name: c for c in members}
        split = {"FeO", "Fe2O3"} & set(names)
        for n, c in names.items():
            if n in {"FeOT", "Fe2O3T"} and split:
                continue
            if n == "Fe2O3T" and "FeOT" in names:
                continue
            cols.append(c)
    values = df[cols].apply(pd.to_numeric, errors="coerce")
    return values.sum(axis=1, min_count=1).rename("Total")


def validate_composition(
    df: pd.DataFrame,
    *,
    id_column: str | None = None,
    units: str | Mapping[str, str] | None = None,
    totals: tuple[float, float] | None = (95.0, 102.0),
    ignore: Iterable[str] = (),
    unknown: str = "raise",
) -> pd.DataFrame:
    """Check a composition table and return a clean, numeric copy with canonical column names.

    Parameters
    ----------
    df : DataFrame
        One analysis per row; not modified. Sample ids are the index, or ``id_column``.
    id_column : str | None
        Column holding sample ids (it becomes the index of the result).
    units : str | Mapping[str, str] | None
        One unit for all abundance columns (``"wt%"``, ``"ppm"``, ``"ppb"``) or a mapping
        ``{column: unit}``. Default: ``df.attrs["units"]`` (set by
        :func:`petroinfer.io.read_table`), else oxides in wt%, elements in ppm, end-members as
        fractions.
    totals : tuple[float, float] | None
        Accepted window (wt%) for the oxide total of each analysis; default 95–102 wt% (mineral
        analyses). ``None`` skips the check (e.g. trace-element tables).
    ignore : Iterable[str]
        Columns to leave out of all checks (kept in the result as they are).
    unknown : str
        ``"raise"`` (default) or ``"ignore"`` for headers outside the vocabulary. Columns with an
        unknown name and no numeric cell at all (labels, comments) are treated as metadata and
        never flagged.

    Returns
    -------
    DataFrame
        Copy with canonical column names, numeric abundance columns, sample ids as index and
        ``attrs["units"]``.

    Raises
    ------
    InputError
        On the first of: duplicated sample ids; unknown column names (all listed, each with the
        closest known name); non-numeric cells (a column named like an oxide or element must
        hold numbers even when all its cells are text); negative abundances; infinite or absurd
        numbers (above :data:`ABSURD` = 1e9, impossible in any unit); values impossible in their
        unit (oxide > 100 wt%: a ppm/wt% mix-up; fraction > 1: a percentage — an analytical
        ``Total`` is not such a value, it is judged by ``totals``); all-zero rows; oxide
        totals outside ``totals``. The message names the column, the row
        (sample id) and the value, and counts further offending cells.

    Examples
    --------
    >>> import pandas as pd
    >>> raw = pd.DataFrame({"SiO2": [50.0, 48.0], "MgO": [50.0, 51.0]}, index=["a", "b"])
    >>> validate_composition(raw).shape
    (2, 2)
    """
    if not isinstance(df, pd.DataFrame):
        raise InputError(f"expected a pandas DataFrame, got {type(df).__name__}")
    if unknown not in {"raise", "ignore"}:
        raise ModelError(f"unknown={unknown!r} is not one of 'raise', 'ignore'")
    if totals is not None:
        lo, hi = (float(t) for t in totals)
        if not lo < hi:
            raise ModelError(f"totals={totals} must be (low, high) with low < high")
    work = df
    if id_column is not None:
        if id_column not in df.columns:
            raise InputError(f"id column {id_column!r} not in the table", column=id_column)
        work = df.set_index(id_column)
    # 1. duplicated sample ids
    dup = work.index.duplicated(keep=False)
    if dup.any():
        sid, n = _first(dup, work.index)
        positions = [i + 1 for i, v in enumerate(work.index) if v == sid]
        raise InputError(
            f"duplicated sample id (data rows {positions}; {n} rows share ids)",
            column=work.index.name or id_column,
            row=sid,
        )
    ignored = {str(c) for c in ignore}
    missing_ignored = ignored - {str(c) for c in work.columns}
    if missing_ignored:
        col = sorted(missing_ignored)[0]
        raise InputError(f"ignore={sorted(missing_ignored)} not in the table", column=col)
    # 2. names (ignored columns are kept verbatim)
    keep = [c for c in work.columns if str(c) not in ignored]
    normal = normalise_columns(work[keep])
    rename = dict(zip(keep, normal.columns, strict=True))
    rename.update({c: c for c in work.columns if str(c) in ignored})
    clash = set(normal.columns) & ignored
    if clash:
        col = sorted(clash)[0]
        raise InputError(f"ignored column {col!r} clashes with a normalised name", column=col)
    out = work.copy()
    out.columns = [rename[c] for c in work.columns]
    out.attrs = normal.attrs
    ignored_new = ignored
    col_units = override_units(
        out.attrs.get("units", {}), out.columns, units, lambda k: rename.get(k, k)
    )
    bad_units = {c: u for c, u in col_units.items() if u not in _MAX and u not in {"apfu", "mol"}}
    if bad_units:
        c, u = next(iter(bad_units.items()))
        raise ModelError(f"unit {u!r} of column {c!r} is not one of {sorted(_MAX)}")
    candidates = [c for c in out.columns if c not in ignored_new]
    unknown_cols: list[str] = []
    text_cols: list[str] = []
    for c in candidates:
        cat = name_category(str(c))
        if cat == "metadata":
            continue
        if cat is not None:
            continue  # a chemistry name holds numbers, even when every cell is text (step 3)
        numeric = pd.to_numeric(out[c], errors="coerce")
        if numeric.notna().sum() == 0 and out[c].notna().any():
            text_cols.append(c)  # labels/comments under an unknown name: metadata
            continue
        unknown_cols.append(str(c))
    if unknown_cols and unknown == "raise":
        raise InputError(_unknown_message(unknown_cols), column=unknown_cols[0])
    chem = [
        c for c in candidates
        if c not in text_cols and name_category(str(c)) not in {None, "metadata"}
    ]  # fmt: skip
    # 3. non-numeric cells
    for c in chem:
        out[c] = numeric_column(
            out[c],
            "non-numeric cell ({n} in this column; write below-detection values as numbers "
            "or leave them empty)",
        )
    abundance = [c for c in chem if name_category(str(c)) in _ABUNDANCE]
    # 4. negative values (isotope ratios and delta values are not abundances)
    for c in abundance:
        neg = out[c] < 0
        if neg.any():
            sid, n = _first(neg, out.index)
            raise InputError(
                f"negative value ({n} in this column); abundances must be >= 0",
                column=str(c), row=sid, value=float(out.at[sid, c]),
            )  # fmt: skip
    # 5. non-finite and absurd numbers, then impossible magnitudes (unit mix-ups)
    for c in chem:
        v = out[c].to_numpy(dtype=float)
        bad = np.isinf(v) | (np.abs(np.nan_to_num(v)) > ABSURD)
        if bad.any():
            sid, n = _first(bad, out.index)
            raise InputError(
                f"absurd or infinite value ({n} in this column; |x| > {ABSURD:g} is no "
                "measurement in any unit): check the cell",
                column=str(c), row=sid, value=float(out.at[sid, c]),
            )  # fmt: skip
    for c in abundance:
        if name_category(str(c)) == "total":
            continue  # an analytical total may exceed 100 wt%; judged by ``totals``
        unit = _unit_of(str(c), col_units)
        if unit not in _MAX:
            continue
        limit = _MAX[unit]
        over = out[c] > limit * (1.0 + 1e-9)
        if over.any():
            sid, n = _first(over, out.index)
            value = float(out.at[sid, c])
            raise InputError(
                f"value above {limit:g} {unit} ({n} cells in this column): "
                f"{_magnitude_hint(unit, value)}",
                column=str(c), row=sid, value=value,
            )  # fmt: skip
    # 6. all-zero / empty rows
    comp = [c for c in abundance if name_category(str(c)) not in {"total", "endmember"}]
    if comp:
        block = out[comp]
        empty = (block.fillna(0.0) == 0).all(axis=1)
        if empty.any():
            sid, n = _first(empty, out.index)
            raise InputError(
                f"all-zero or empty analysis ({n} such rows)", row=sid, value=0.0,
            )  # fmt: skip
    # 7. oxide totals
    wt_oxides = [
        c for c in comp
        if name_category(str(c)) in {"oxide", "volatile"} and _unit_of(str(c), col_units) == "wt%"
    ]  # fmt: skip
    if totals is not None and len(wt_oxides) >= 2:
        total = oxide_total(out[wt_oxides])
        outside = (total < lo) | (total > hi)
        if outside.any():
            sid, n = _first(outside, out.index)
            raise InputError(
                f"oxide total outside {lo:g}–{hi:g} wt% ({n} rows); pass totals=None or a wider "
                "window if intended",
                column="Total", row=sid, value=round(float(total.loc[sid]), 3),
            )  # fmt: skip
    out.attrs = {**df.attrs, "units": {c: _unit_of(str(c), col_units) for c in abundance}}
    return out
