"""Decoding and dialect detection of delimited text tables (the low level of :func:`read_table`).

Every refusal is an :class:`~petroinfer.errors.InputError` whose message starts with the file name,
so that a command can print it as its one-line reason.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from pathlib import Path

import pandas as pd

from petroinfer.errors import InputError, format_value

__all__ = ["DELIMITERS", "decode_text", "detect_delimiter", "read_delimited", "split_decimal"]

#: Field separators recognised in text tables, in order of preference on a tie.
DELIMITERS: tuple[str, ...] = ("\t", ";", ",", "|")
_NAMES = {"\t": "tab", ";": "semicolon", ",": "comma", "|": "pipe"}
_COMMA_NUMBER = re.compile(r"^[+-]?(?:\d+,\d*|,\d+)(?:[eE][+-]?\d+)?$")
_POINT_NUMBER = re.compile(r"^[+-]?(?:\d+\.\d*|\.\d+)(?:[eE][+-]?\d+)?$")
_SNIFF_LINES = 200


def where(path: Path) -> str:
    """How messages name a file: its path as given, quoted."""
    return repr(str(path))


def decode_text(path: Path) -> str:
    """Text of a table file: UTF-8 (with or without BOM), UTF-16 with BOM, or Windows-1252.

    Refuses an empty file and a binary file (NUL bytes, a ZIP/XLSX workbook, control characters)
    with an :class:`InputError` naming the file.
    """
    data = path.read_bytes()
    if not data.strip():
        raise InputError(f"{where(path)} is empty; expected a table with a header line")
    if data[:4] == b"PK\x03\x04":
        raise InputError(
            f"{where(path)} is a ZIP archive (an Excel workbook?), not a text table; "
            "give it the .xlsx extension or export it as CSV"
        )
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise InputError(f"{where(path)} is not valid UTF-16 text: {exc.reason}") from None
    else:
        nul = data.find(b"\x00")
        if nul >= 0:
            raise InputError(
                f"{where(path)} is a binary file (NUL byte at offset {nul}), not a text table"
            )
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            try:
                text = data.decode("cp1252")
            except UnicodeDecodeError as exc:
                raise InputError(
                    f"{where(path)} is neither UTF-8 nor Windows-1252 text (undecodable byte at "
                    f"offset {exc.start}); is it a binary file?"
                ) from None
    text = text.lstrip("\ufeff")
    control = re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", text)
    if control:
        raise InputError(
            f"{where(path)} is a binary file (control character "
            f"{format_value(control.group())} at character {control.start()}), not a text table"
        )
    if not text.strip():
        raise InputError(f"{where(path)} is empty; expected a table with a header line")
    return text


def detect_delimiter(text: str) -> str:
    """The separator that splits the header into most fields, consistently over the first lines.

    Candidates are :data:`DELIMITERS`. A candidate is consistent when every non-empty line of the
    first 200 splits (quotes respected) into as many fields as the header; among consistent
    candidates the one giving most header fields wins (ties: tab, semicolon, comma, pipe). With
    no consistent candidate the header decides; a single column gives ``","``.
    """
    lines = [ln for ln in text.splitlines()[:_SNIFF_LINES] if ln.strip()]
    best: tuple[int, int, int] | None = None
    chosen = ","
    for rank, sep in enumerate(reversed(DELIMITERS)):
        rows = list(csv.reader(lines, delimiter=sep))
        n = len(rows[0]) if rows else 0
        if n < 2:
            continue
        key = (int(all(len(r) == n for r in rows[1:])), n, rank)
        if best is None or key > best:
            best, chosen = key, sep
    return chosen


def read_delimited(path: Path, text: str, sep: str) -> pd.DataFrame:
    """All cells as strings (NaN for empty/NA cells); the header is row 0 of the result."""
    try:
        return pd.read_csv(
            io.StringIO(text), sep=sep, header=None, dtype=str, keep_default_na=True,
            skipinitialspace=True, skip_blank_lines=True,
        )  # fmt: skip
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
        hint = ""
        if sep == "," and re.search(r"\d,\d", text):
            hint = (
                "; numbers with a decimal comma (37,12) cannot be read from a comma-separated "
                "file: use ';' as separator or '.' as decimal mark"
            )
        raise InputError(
            f"cannot read {where(path)} as a {_NAMES[sep]}-separated table: "
            f"{' '.join(str(exc).split())}{hint}"
        ) from None


def split_decimal(path: Path, cells: pd.DataFrame, sep: str) -> tuple[pd.DataFrame, str]:
    """Detect a decimal comma; return the cells with decimal points and the decimal mark.

    In a file not separated by commas, numbers written ``37,12`` are read as 37.12 when no cell of
    the file uses a decimal point (``37.5``); both marks in one file are refused, naming one cell
    of each. In a comma-separated file a quoted ``"37,12"`` is refused (ambiguous with a thousands
    separator). The row of a refusal is the label of ``cells.index`` (the sample id).
    """
    text = cells.map(lambda v: v.strip() if isinstance(v, str) else v)
    is_comma = text.map(lambda v: isinstance(v, str) and bool(_COMMA_NUMBER.match(v)))
    if not is_comma.to_numpy().any():
        return cells, "."
    i, j = _first_true(is_comma)
    first = (cells.columns[j], cells.index[i], text.iat[i, j])
    if sep == ",":
        raise InputError(
            f"{where(path)}: a number with a decimal comma in a comma-separated file is ambiguous; "
            "save the table with ';' as separator, or with '.' as decimal mark",
            column=str(first[0]), row=first[1], value=first[2],
        )  # fmt: skip
    is_point = text.map(lambda v: isinstance(v, str) and bool(_POINT_NUMBER.match(v)))
    if is_point.to_numpy().any():
        k, m = _first_true(is_point)
        raise InputError(
            f"{where(path)} mixes decimal marks: {format_value(first[2])} (column "
            f"{str(first[0])!r}, row {first[1]!r}) uses a comma and "
            f"{format_value(text.iat[k, m])} (column {str(cells.columns[m])!r}, row "
            f"{cells.index[k]!r}) a point; use one decimal mark"
        )
    fixed = text.where(
        ~is_comma, text.map(lambda v: v.replace(",", ".") if isinstance(v, str) else v)
    )
    out = cells.where(~is_comma, fixed)
    return out, ","


def _first_true(mask: pd.DataFrame) -> tuple[int, int]:
    arr = mask.to_numpy()
    rows, cols = arr.nonzero()
    order = sorted(zip(rows.tolist(), cols.tolist(), strict=True))
    return order[0]
