"""Read composition tables from CSV/TSV and Excel files (DESIGN.md §2, §4).

Headers are normalised through the composition vocabulary (``SIO2 (wt%)`` → ``SiO2``), units
are taken from header suffixes or from a units row under the header, and the sample-id column
becomes the index. The input file is never modified.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from petroinfer.composition._names import (
    _UNITS,
    canonical_name,
    normalise_columns,
    parse_column,
)
from petroinfer.composition._validate import _override_units, _parse_numbers
from petroinfer.errors import InputError

__all__ = ["read_table"]

_EXCEL = {".xlsx", ".xlsm", ".xls", ".ods"}
_TEXT = {".csv", ".txt", ".tsv", ".tab", ".dat"}
_ID_FALLBACKS = ("Analysis", "Spot", "Point", "Label")


def _unit_token(cell: object) -> str | None:
    if cell is None or (isinstance(cell, float) and np.isnan(cell)):
        return None
    text = str(cell).strip().strip("()[]{}").strip().lower().replace(" ", "")
    return _UNITS.get(text)


def _sniff_separator(path: Path) -> str:
    """Comma, semicolon, tab or pipe, whichever splits the header and first lines consistently."""
    import csv

    with open(path, encoding="utf-8-sig", errors="replace") as fh:
        sample = "".join(fh.readline() for _ in range(20))
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        return ","


def _read_raw(path: Path, sheet: str | int) -> pd.DataFrame:
    suffix = path.suffix.lower()
    try:
        if suffix in _EXCEL:
            return pd.read_excel(path, sheet_name=sheet, dtype=object)
        if suffix in _TEXT or suffix == "":
            sep = "\t" if suffix in {".tsv", ".tab"} else _sniff_separator(path)
            return pd.read_csv(
                path, sep=sep, dtype=str, keep_default_na=True, skipinitialspace=True,
                encoding="utf-8-sig",
            )  # fmt: skip
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, ValueError) as exc:
        raise InputError(f"cannot read {str(path)!r} as a table: {exc}") from exc
    raise InputError(
        f"unsupported file type {suffix!r} for {str(path)!r}; use CSV/TSV or XLSX",
        value=suffix,
    )


def _to_numbers(col: pd.Series) -> pd.Series:
    """Numeric if every non-empty cell parses; otherwise the cells are kept as they are."""
    stripped = col.map(lambda v: v.strip() if isinstance(v, str) else v)
    stripped = stripped.replace("", np.nan)
    num, text = _parse_numbers(stripped)
    if text.any():
        return stripped.astype(object)
    return num.astype(float)


def read_table(
    path: str | os.PathLike[str],
    id_column: str | None = None,
    units: str | Mapping[str, str] | None = None,
    *,
    sheet: str | int = 0,
    normalise: bool = True,
) -> pd.DataFrame:
    """Read a composition table from CSV/TSV or XLSX.

    Parameters
    ----------
    path:
        ``.csv``, ``.tsv``/``.txt`` (separator sniffed) or ``.xlsx``/``.xls`` file.
    id_column:
        Column with sample ids (original or canonical spelling). Default: detected — a column
        named like ``Sample``/``Sample ID``/``SampNo``/``ID``/``Specimen`` (or ``Analysis``,
        ``Spot``, ``Point``, ``Label``) with unique values, else the first text column with
        unique values; otherwise rows are numbered from 1 (index name ``row``).
    units:
        Unit for all abundance columns (``"wt%"``, ``"ppm"``) or ``{column: unit}``; overrides
        units found in the file.
    sheet:
        Excel sheet name or position.
    normalise:
        Rename headers to canonical names (``FeO*`` → ``FeOT``); unknown headers are kept.

    Returns
    -------
    DataFrame
        Sample ids as index; numeric columns as float; columns with any non-numeric cell are
        kept as text so that :func:`~petroinfer.composition.validate_composition` can name the
        cell. ``attrs``: ``source``, ``units`` (``{column: unit}``), ``id_column``,
        ``original_columns`` (``{canonical: original}``), ``dropped_empty_rows``.

    Notes
    -----
    Units are recognised as header suffixes (``SiO2 (wt%)``, ``SiO2 [wt.%]``, ``Rb_ppm``,
    ``Au_ppb``, ``Cr_apfu``) or as a units row directly under the header (a row whose non-empty
    cells are all unit tokens such as ``wt%``, ``ppm``). Completely empty rows (spreadsheet
    artefacts) are dropped and counted in ``attrs["dropped_empty_rows"]``.

    Raises
    ------
    InputError
        Missing/unreadable file, unsupported type, empty table, ``id_column`` absent or with
        duplicated/empty ids (the message names the id and the rows).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "a.csv"
    >>> _ = p.write_text("Sample,SIO2 (wt%),FeO*\\nA,50.1,8.2\\nB,48.0,9.1\\n")
    >>> df = read_table(p)
    >>> list(df.columns), df.index.tolist(), df.attrs["units"]
    (['SiO2', 'FeOT'], ['A', 'B'], {'SiO2': 'wt%'})
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(2, "No such file", str(path))
    if path.is_dir():
        raise InputError(f"{str(path)!r} is a folder, not a table file")
    raw = _read_raw(path, sheet)
    if raw.shape[1] == 0 or raw.shape[0] == 0:
        raise InputError(f"{str(path)!r} contains no data rows")
    raw.columns = [str(c).strip() for c in raw.columns]
    unnamed = [c for c in raw.columns if c.startswith("Unnamed:")]
    if unnamed and raw[unnamed].isna().all().all():
        raw = raw.drop(columns=unnamed)
    # units row directly under the header
    row_units: dict[str, str] = {}
    first = raw.iloc[0]
    tokens = {c: _unit_token(v) for c, v in first.items()}
    non_empty = [c for c, v in first.items() if pd.notna(v) and str(v).strip() != ""]
    if non_empty and all(tokens[c] is not None for c in non_empty):
        row_units = {c: tokens[c] for c in non_empty}  # type: ignore[misc]
        raw = raw.iloc[1:].reset_index(drop=True)
    empty = raw.map(lambda v: v is None or (isinstance(v, str) and not v.strip())).to_numpy()
    empty = empty | raw.isna().to_numpy()
    empty_rows = empty.all(axis=1)
    raw = raw.loc[~empty_rows].reset_index(drop=True)
    if raw.shape[0] == 0:
        raise InputError(f"{str(path)!r} contains no data rows")
    df = pd.DataFrame({c: _to_numbers(raw[c]) for c in raw.columns}, index=raw.index)
    df.index = pd.RangeIndex(1, len(df) + 1, name="row")
    original = list(df.columns)
    if normalise:
        try:
            df = normalise_columns(df)
        except InputError:
            raise
        new_names = list(df.columns)
    else:
        new_names = original
    mapping = dict(zip(new_names, original, strict=True))
    file_units = dict(df.attrs.get("units", {}))
    for new, old in mapping.items():
        if old in row_units:
            file_units[new] = row_units[old]
    file_units = _override_units(
        file_units, df.columns, units, lambda k: k if k in df.columns else canonical_name(k)
    )
    # sample ids
    chosen = _choose_id(df, id_column, mapping)
    if chosen is not None:
        ids = df[chosen]
        if id_column is not None:
            _check_ids(ids, chosen)
        df = df.drop(columns=[chosen])
        df.index = pd.Index(
            [str(v).strip() if isinstance(v, str) else v for v in ids], name=mapping[chosen]
        )
    df.attrs = {
        "source": str(path),
        "units": {c: u for c, u in file_units.items() if c in df.columns},
        "id_column": mapping[chosen] if chosen is not None else None,
        "original_columns": {k: v for k, v in mapping.items() if k in df.columns},
        "dropped_empty_rows": int(empty_rows.sum()),
    }
    return df


def _check_ids(ids: pd.Series, column: str) -> None:
    missing = ids.isna()
    if missing.any():
        row = ids.index[np.flatnonzero(missing.to_numpy())[0]]
        raise InputError(f"empty sample id in data row {row}", column=column, row=row)
    dup = ids.duplicated(keep=False)
    if dup.any():
        sid = ids[dup].iloc[0]
        rows = ids.index[(ids == sid).to_numpy()].tolist()
        raise InputError(
            f"duplicated sample id (data rows {rows}; {int(dup.sum())} rows share ids)",
            column=column,
            row=sid,
        )


def _unique_ids(col: pd.Series) -> bool:
    return bool(col.notna().all() and not col.duplicated().any())


def _choose_id(df: pd.DataFrame, id_column: str | None, mapping: dict[str, str]) -> str | None:
    if id_column is not None:
        if id_column in df.columns:
            return id_column
        for new, old in mapping.items():
            if old == id_column or new == canonical_name(id_column):
                return new
        raise InputError(
            f"id column {id_column!r} not found; columns are {list(mapping.values())}",
            column=id_column,
        )
    for target in ("Sample", *_ID_FALLBACKS):
        for c in df.columns:
            if parse_column(str(c)).name == target and _unique_ids(df[c]):
                return str(c)
    first = df.columns[0]
    col = df[first]
    if col.dtype == object and parse_column(str(first)).name is None and _unique_ids(col):
        return str(first)
    return None
