"""Read composition tables from CSV/TSV and Excel files (DESIGN.md §2, §4).

Headers are normalised through the composition vocabulary (``SIO2 (wt%)`` → ``SiO2``), units
are taken from header suffixes or from a units row under the header, and the sample-id column
becomes the index. The input file is never modified.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from petroinfer.composition import (
    canonical_name,
    misspelled_columns,
    name_category,
    normalise_columns,
    override_units,
    parse_column,
    parse_numbers,
    parse_unit,
)
from petroinfer.errors import InputError
from petroinfer.io._text import decode_text, detect_delimiter, read_delimited, split_decimal, where

__all__ = ["ABSURD_VALUE", "read_table"]

_EXCEL = {".xlsx", ".xlsm", ".xls", ".ods"}
_TEXT = {".csv", ".txt", ".tsv", ".tab", ".dat"}
_ID_FALLBACKS = ("Analysis", "Spot", "Point", "Label")
#: Default bound on the magnitude of a number in a table: larger values are not measurements.
ABSURD_VALUE = 1e20
#: Categories of the vocabulary whose columns must hold numbers (``numeric="chemistry"``).
_NUMERIC_CATEGORIES = {
    "oxide",
    "volatile",
    "element",
    "ree",
    "isotope",
    "delta",
    "endmember",
    "total",
}


def _read_raw(path: Path, sheet: str | int) -> tuple[pd.DataFrame, str]:
    """All cells (header in row 0) and the field separator (``""`` for workbooks)."""
    suffix = path.suffix.lower()
    if suffix in _EXCEL:
        try:
            raw = pd.read_excel(path, sheet_name=sheet, dtype=object, header=None)
        except (ValueError, OSError, KeyError, ImportError) as exc:
            raise InputError(f"cannot read {where(path)} as a workbook: {exc}") from None
        except Exception as exc:  # zipfile.BadZipFile, xlrd/openpyxl errors are not ValueErrors
            raise InputError(
                f"cannot read {where(path)} as a workbook ({type(exc).__name__}: {exc})"
            ) from None
        return raw, ""
    if suffix in _TEXT or suffix == "":
        text = decode_text(path)
        sep = "\t" if suffix in {".tsv", ".tab"} else detect_delimiter(text)
        return read_delimited(path, text, sep), sep
    raise InputError(
        f"unsupported file type {suffix!r} for {where(path)}; use CSV/TSV or XLSX", value=suffix
    )


def _header(path: Path, raw: pd.DataFrame) -> list[str]:
    names = []
    for j, v in enumerate(raw.iloc[0].tolist()):
        blank = v is None or (isinstance(v, float) and np.isnan(v)) or not str(v).strip()
        names.append(f"Unnamed: {j}" if blank else str(v).strip())
    seen: dict[str, int] = {}
    for j, n in enumerate(names):
        if n in seen:
            raise InputError(
                f"{where(path)}: column name {n!r} appears twice in the header (columns "
                f"{seen[n] + 1} and {j + 1}); rename one of them",
                column=n,
            )
        seen[n] = j
    return names


def _to_numbers(col: pd.Series) -> pd.Series:
    """Numeric if every non-empty cell parses; otherwise the cells are kept as they are."""
    stripped = col.map(lambda v: v.strip() if isinstance(v, str) else v)
    stripped = stripped.replace("", np.nan)
    num, text = parse_numbers(stripped)
    if text.any():
        return stripped.astype(object)
    return num.astype(float)


def read_table(
    path: str | os.PathLike[str],
    id_column: str | Literal[False] | None = None,
    units: str | Mapping[str, str] | None = None,
    *,
    sheet: str | int = 0,
    normalise: bool = True,
    required: Iterable[str] = (),
    numeric: Literal["chemistry", "all"] | Iterable[str] | None = None,
    allow_missing: bool = True,
    max_abs: float | None = ABSURD_VALUE,
    ignore: Iterable[str] = (),
    misspelled: Literal["raise", "ignore"] = "ignore",
) -> pd.DataFrame:
    r"""Read a table from CSV/TSV/TXT or XLSX — the one reader behind every command.

    Parameters
    ----------
    path : str or path-like
        ``.csv``, ``.tsv``/``.txt``/``.dat`` (separator detected) or ``.xlsx``/``.xls`` file.
    id_column : str, False or None
        Column with sample ids (original or canonical spelling); ``False``: no id column, rows
        are numbered. ``None`` (default): detected — a column named like ``Sample``/``Sample
        ID``/``SampNo``/``ID``/``Name``/``Specimen`` (its ids must then be unique and non-empty),
        else ``Analysis``/``Spot``/``Point``/``Label`` or the first text column when their values
        are unique; otherwise rows are numbered from 1 (index name ``row``).
    units : str, mapping or None
        Unit for all abundance columns (``"wt%"``, ``"ppm"``) or ``{column: unit}``; overrides
        units found in the file.
    sheet : str or int
        Excel sheet name or position.
    normalise : bool
        Rename headers to canonical names (``FeO*`` → ``FeOT``); unknown headers are kept. With
        ``False`` headers are only stripped of surrounding spaces.
    required : iterable of str
        Columns that must be present (original or canonical spelling); a missing one raises,
        naming the closest column of the file.
    numeric : {"chemistry", "all"}, iterable of str or None
        Columns whose every non-empty cell must be a number: ``"chemistry"`` — every column named
        in the chemistry vocabulary (oxides, elements, isotope ratios, end-members, totals), even
        when all its cells are text; ``"all"`` — every column but the ids and ``ignore``;
        or a list of names. ``None`` (default): no column is enforced and a column with a text
        cell is kept as text, so that :func:`~petroinfer.composition.validate_composition` can
        name the cell.
    allow_missing : bool
        With ``False`` an empty or ``NaN`` cell in an enforced (``numeric``) column raises.
    max_abs : float or None
        Numbers with :math:`|x|` above this bound (default ``1e20``) and infinities are refused as
        not being measurements; ``None`` accepts any finite number.
    ignore : iterable of str
        Columns declared as metadata: never enforced as numbers nor reported as misspelled.
    misspelled : {"ignore", "raise"}
        ``"raise"``: refuse headers that look like misspelled chemistry names (``Mg0``, ``Zrr``,
        see :func:`~petroinfer.composition.suspect_misspelling`) unless listed in ``ignore``.

    Returns
    -------
    DataFrame
        Sample ids as index; numeric columns as float; columns with a non-numeric cell (and not
        enforced) kept as text. ``attrs``: ``source``, ``units`` (``{column: unit}``),
        ``id_column``, ``original_columns`` (``{canonical: original}``), ``dropped_empty_rows``,
        ``delimiter``, ``decimal``.

    Notes
    -----
    Text files: UTF-8 with or without a byte-order mark, UTF-16 with a BOM, or Windows-1252. The
    separator (tab, semicolon, comma, pipe) is the one that splits the header into most fields
    consistently over the first 200 lines. In a file not separated by commas, numbers written
    with a decimal comma (``37,12``) are read as such when no number of the file uses a decimal
    point; both marks in one file, or a decimal comma inside a comma-separated file, are refused
    with the reason.

    Units are recognised as header suffixes (``SiO2 (wt%)``, ``SiO2 [wt.%]``, ``Rb_ppm``,
    ``Au_ppb``, ``Cr_apfu``) or as a units row directly under the header (a row whose non-empty
    cells are all unit tokens such as ``wt%``, ``ppm``). Completely empty rows (spreadsheet
    artefacts) are dropped and counted in ``attrs["dropped_empty_rows"]``.

    Raises
    ------
    FileNotFoundError
        The file does not exist.
    InputError
        The message starts with the file name; where a cell is at fault it names the column, the
        row (sample id, or the 1-based data row when the table has no ids) and the value.
        Raised for: a folder, an unsupported type, an empty file, a binary file, a header without
        data rows, a repeated header, ``id_column`` absent, empty or duplicated sample ids (both
        rows named), a missing ``required`` column, a misspelled chemistry header
        (``misspelled="raise"``), mixed or ambiguous decimal marks, a non-numeric or (with
        ``allow_missing=False``) empty cell in an enforced column, and infinite or absurd numbers.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "a.csv"
    >>> _ = p.write_text("Sample,SIO2 (wt%),FeO*\nA,50.1,8.2\nB,48.0,9.1\n")
    >>> df = read_table(p)
    >>> list(df.columns), df.index.tolist(), df.attrs["units"]
    (['SiO2', 'FeOT'], ['A', 'B'], {'SiO2': 'wt%'})
    >>> _ = p.write_text("\ufeffSample;SiO2;MgO\nA;37,12;40,1\n", encoding="utf-8")
    >>> df = read_table(p)
    >>> float(df.loc["A", "SiO2"]), df.attrs["delimiter"], df.attrs["decimal"]
    (37.12, ';', ',')
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(2, "No such file", str(path))
    if path.is_dir():
        raise InputError(f"{where(path)} is a folder, not a table file")
    if misspelled not in {"raise", "ignore"}:
        from petroinfer.errors import ModelError

        raise ModelError(f"misspelled={misspelled!r} is not one of 'raise', 'ignore'")
    raw, sep = _read_raw(path, sheet)
    if raw.shape[0] == 0 or raw.shape[1] == 0:
        raise InputError(f"{where(path)} is empty; expected a table with a header")
    names = _header(path, raw)
    raw = raw.iloc[1:].reset_index(drop=True)
    raw.columns = names
    unnamed = [c for c in names if c.startswith("Unnamed:")]
    if unnamed and raw[unnamed].isna().all().all():
        raw = raw.drop(columns=unnamed)
    if raw.shape[0] == 0:
        raise InputError(
            f"{where(path)} has a header but no data rows (columns: {', '.join(raw.columns)})"
        )
    # units row directly under the header
    row_units: dict[str, str] = {}
    first = raw.iloc[0]
    tokens = {c: parse_unit(v) for c, v in first.items()}
    non_empty = [c for c, v in first.items() if pd.notna(v) and str(v).strip() != ""]
    if non_empty and all(tokens[c] is not None for c in non_empty):
        row_units = {c: tokens[c] for c in non_empty}  # type: ignore[misc]
        raw = raw.iloc[1:].reset_index(drop=True)
    empty = raw.map(lambda v: v is None or (isinstance(v, str) and not v.strip())).to_numpy()
    empty = empty | raw.isna().to_numpy()
    empty_rows = empty.all(axis=1)
    raw = raw.loc[~empty_rows].reset_index(drop=True)
    if raw.shape[0] == 0:
        raise InputError(
            f"{where(path)} has a header but no data rows (columns: {', '.join(raw.columns)})"
        )
    raw.index = pd.RangeIndex(1, len(raw) + 1, name="row")
    original = list(raw.columns)
    if normalise:
        try:
            raw = normalise_columns(raw)
        except InputError as exc:
            raise InputError(f"{where(path)}: {exc}") from None
    new_names = list(raw.columns)
    mapping = dict(zip(new_names, original, strict=True))
    file_units = dict(raw.attrs.get("units", {}))
    for new, old in mapping.items():
        if old in row_units:
            file_units[new] = row_units[old]
    # sample ids (chosen on the cells as written, before any number parsing)
    enforced_before = _enforced(numeric, raw.columns, mapping, [])
    chosen = _choose_id(
        path,
        raw,
        id_column,
        mapping,
        not_ids=set(enforced_before) | set(_resolve(required, raw.columns, mapping)),
    )
    if chosen is not None:
        ids = raw[chosen].map(lambda v: v.strip() if isinstance(v, str) else v)
        raw = raw.drop(columns=[chosen])
        raw.index = pd.Index(ids.tolist(), name=mapping[chosen])
    ignored = _resolve(ignore, raw.columns, mapping)
    if misspelled == "raise":
        from petroinfer.composition import misspelled_message

        bad = misspelled_columns([mapping[c] for c in raw.columns], ignore=ignore)
        if bad:
            raise InputError(f"{where(path)}: {misspelled_message(bad)}", column=next(iter(bad)))
    missing = [r for r in required if not _resolve([r], raw.columns, mapping, strict=False)]
    if missing:
        hint = _closest_column(missing[0], [mapping[c] for c in raw.columns])
        raise InputError(
            f"{where(path)}: missing required column {missing[0]!r}{hint}; columns are "
            f"{[mapping[c] for c in raw.columns]}",
            column=missing[0],
        )
    if sep and sep != "":
        raw, decimal = split_decimal(path, raw, sep)
    else:
        decimal = "."
    df = pd.DataFrame({c: _to_numbers(raw[c]) for c in raw.columns}, index=raw.index)
    enforced = _enforced(numeric, df.columns, mapping, ignored)
    _check_cells(path, df, enforced, allow_missing=allow_missing, max_abs=max_abs)
    file_units = override_units(
        file_units, df.columns, units, lambda k: k if k in df.columns else canonical_name(k)
    )
    df.attrs = {
        "source": str(path),
        "units": {c: u for c, u in file_units.items() if c in df.columns},
        "id_column": mapping[chosen] if chosen is not None else None,
        "original_columns": {k: v for k, v in mapping.items() if k in df.columns},
        "dropped_empty_rows": int(empty_rows.sum()),
        "delimiter": sep or None,
        "decimal": decimal,
    }
    return df


def _resolve(
    names: Iterable[str], columns: Iterable[str], mapping: Mapping[str, str], *, strict: bool = True
) -> list[str]:
    """Columns of the table meant by ``names`` (original or canonical spelling)."""
    cols = list(columns)
    out = []
    for n in names:
        n = str(n)
        hit = next(
            (c for c in cols if c == n or mapping.get(c) == n or c == canonical_name(n)), None
        )
        if hit is None and strict:
            continue
        if hit is not None:
            out.append(hit)
    return out


def _closest_column(name: str, columns: list[str]) -> str:
    import difflib

    close = difflib.get_close_matches(name, columns, n=1, cutoff=0.6)
    if not close:
        close = difflib.get_close_matches(name.lower(), [c.lower() for c in columns], n=1)
        close = [c for c in columns if close and c.lower() == close[0]]
    return f" (did you mean {close[0]!r}?)" if close else ""


def _enforced(
    numeric: object, columns: Iterable[str], mapping: Mapping[str, str], ignored: list[str]
) -> list[str]:
    cols = [c for c in columns if c not in ignored]
    if numeric is None:
        return []
    if numeric == "all":
        return cols
    if numeric == "chemistry":
        return [c for c in cols if name_category(str(c)) in _NUMERIC_CATEGORIES]
    if isinstance(numeric, str):
        numeric = [numeric]
    return _resolve(numeric, cols, mapping)  # type: ignore[arg-type]


def _check_cells(
    path: Path,
    df: pd.DataFrame,
    enforced: list[str],
    *,
    allow_missing: bool,
    max_abs: float | None,
) -> None:
    for c in enforced:
        col = df[c]
        if col.dtype == object:
            _, bad = parse_numbers(col)
            i = int(np.flatnonzero(bad)[0])
            raise InputError(
                f"{where(path)}: non-numeric cell in a numeric column ({int(bad.sum())} in this "
                "column; write below-detection values as numbers or leave the cell empty)",
                column=str(c), row=df.index[i], value=col.iloc[i],
            )  # fmt: skip
        if not allow_missing and col.isna().any():
            i = int(np.flatnonzero(col.isna().to_numpy())[0])
            raise InputError(
                f"{where(path)}: empty or NaN cell where a number is required "
                f"({int(col.isna().sum())} in this column)",
                column=str(c), row=df.index[i],
            )  # fmt: skip
    for c in df.columns:
        col = df[c]
        if col.dtype != float:
            continue
        v = col.to_numpy()
        bad = np.isinf(v)
        what = "infinite value: not a measurement"
        if not bad.any() and max_abs is not None:
            bad = np.abs(np.nan_to_num(v)) > max_abs
            what = f"absurd value (|x| > {max_abs:g}): not a measurement; check the cell"
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise InputError(
                f"{where(path)}: {what}", column=str(c), row=df.index[i], value=float(v[i])
            )


def _check_ids(path: Path, ids: pd.Series, column: str) -> None:
    blank = ids.map(
        lambda v: v is None or (isinstance(v, float) and np.isnan(v)) or not str(v).strip()
    )
    if blank.any():
        row = ids.index[np.flatnonzero(blank.to_numpy())[0]]
        raise InputError(
            f"{where(path)}: empty sample id in data row {row}", column=column, row=row
        )
    text = ids.map(lambda v: str(v).strip())
    dup = text.duplicated(keep=False)
    if dup.any():
        sid = text[dup].iloc[0]
        rows = text.index[(text == sid).to_numpy()].tolist()
        raise InputError(
            f"{where(path)}: duplicated sample id {sid!r} in data rows "
            f"{' and '.join(map(str, rows)) if len(rows) == 2 else rows} "
            f"({int(dup.sum())} rows share ids); ids must be unique",
            column=column,
            row=sid,
        )


def _unique_ids(col: pd.Series) -> bool:
    return bool(col.notna().all() and not col.duplicated().any())


def _choose_id(
    path: Path,
    df: pd.DataFrame,
    id_column: str | Literal[False] | None,
    mapping: dict[str, str],
    not_ids: set[str],
) -> str | None:
    """The id column: given, named like ``Sample``, or (not in ``not_ids``) a unique text column."""
    if id_column is False:
        return None
    if id_column is not None:
        if id_column in df.columns:
            chosen = id_column
        else:
            chosen = next(
                (
                    new
                    for new, old in mapping.items()
                    if old == id_column or new == canonical_name(id_column)
                ),
                None,
            )
        if chosen is None:
            raise InputError(
                f"{where(path)}: id column {id_column!r} not found; columns are "
                f"{list(mapping.values())}",
                column=id_column,
            )
        _check_ids(path, df[chosen], mapping[chosen])
        return chosen
    for c in df.columns:
        if parse_column(str(c)).name == "Sample":
            _check_ids(path, df[c], mapping[c])
            return str(c)
    for target in _ID_FALLBACKS:
        for c in df.columns:
            if parse_column(str(c)).name == target and _unique_ids(df[c]) and c not in not_ids:
                return str(c)
    first = df.columns[0]
    if first in not_ids:
        return None
    col = df[first]
    if parse_column(str(first)).name is None and _unique_ids(col):
        _, bad = parse_numbers(col.map(lambda v: v.strip() if isinstance(v, str) else v))
        if bad.any():  # a text column
            return str(first)
    return None
