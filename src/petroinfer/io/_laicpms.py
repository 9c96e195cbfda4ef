r"""Reader of LA-ICP-MS line-scan exports into an (isotope, line, time) cube.

Two layouts are understood:

* the **Shimadzu** export (as published with sekro/la-icp-msi_segmentation): row 0 holds
  ``Time of scan[ms/(24*60*60*1000)]`` then one ``<sample>_NNN`` label per (line, isotope) column;
  row 1 the acquisition timestamp of each line; row 2 the isotope label ``El:mass``; then one row per
  time sample, the time column in **days**;
* a **generic long** table with columns ``line``, ``time_s`` and one column per isotope (one row per
  line and time sample); a ``time_ms`` column is accepted instead of ``time_s``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from petroinfer.errors import InputError

__all__ = ["count_quantum", "read_laicpms"]

_DAY_S = 86400.0
_ISOTOPE = re.compile(r"^\s*([A-Z][a-z]?)\s*:?\s*(\d{1,3})\s*$")


def _isotope_name(label: str) -> str:
    """``'P:31'`` → ``'P31'``; ``'Zn66'`` stays; anything else is returned stripped."""
    m = _ISOTOPE.match(str(label))
    return f"{m.group(1)}{m.group(2)}" if m else str(label).strip()


def count_quantum(
    values: np.ndarray, *, max_scale: int = 99, tol: float | None = None, min_fraction: float = 0.99
) -> float:
    r"""The count quantum of a quantised signal: the smallest ``1/k`` whose multiples hold every value.

    Exports that average integer counts over ``k`` sweeps (or divide them by a constant) and round
    to a fixed number of decimals hold values ``round(n/k, d)``; this finds the smallest integer
    ``k ≤ max_scale`` for which (nearly) every finite value lies within the rounding half-width of a
    multiple of ``1/k``. A small fraction of exceptions is allowed (the published Shimadzu export
    has ~0.1 % of large values off the grid, probably a dead-time correction).

    Parameters
    ----------
    values : ndarray
        The signal values (any shape; NaN ignored).
    max_scale : int
        Largest ``k`` tried. With ``d`` decimals only ``k < 10**d`` can be told apart.
    tol : float, optional
        Rounding half-width (default: half a unit of the last decimal found in the data).
    min_fraction : float
        Fraction of the values that must lie on the grid.

    Returns
    -------
    float
        The quantum ``1/k`` (1.0 for integer counts), or NaN when no ``k`` fits.

    Examples
    --------
    >>> count_quantum(np.round(np.arange(0, 200) / 40, 2))
    0.025
    """
    v = np.asarray(values, float).ravel()
    v = v[np.isfinite(v)]
    if v.size == 0:
        return float("nan")
    if tol is None:
        decimals = 0
        for d in range(0, 7):
            if np.all(np.abs(v - np.round(v, d)) <= 1e-9 * (1 + np.abs(v))):
                decimals = d
                break
        else:
            decimals = 7
        tol = 0.5 * 10.0 ** (-decimals) + 1e-9
    limit = int(max_scale) if tol < 1e-8 else max(1, min(int(max_scale), int(1.0 / (2.0 * tol))))
    for k in range(1, limit + 1):
        if np.mean(np.abs(v - np.round(v * k) / k) <= tol) >= min_fraction:
            return 1.0 / k
    return float("nan")


def _numeric_block(block: pd.DataFrame, path: Path, headers: list[str], row0: int) -> np.ndarray:
    arr = block.to_numpy(dtype=object)
    try:
        num = arr.astype(float)
    except (TypeError, ValueError):
        num = None
    if num is None:
        num = pd.DataFrame(arr).apply(pd.to_numeric, errors="coerce").to_numpy(float)
        text = pd.DataFrame(arr).astype(str).apply(lambda c: c.str.strip()).to_numpy()
        bad = np.isnan(num) & pd.notna(arr) & (text != "") & (text != "nan")
        if bad.any():
            r, c = np.argwhere(bad)[0]
            raise InputError(
                f"{path.name}: non-numeric signal value",
                column=headers[c],
                row=int(row0 + r),
                value=arr[r, c],
            )
    missing = ~np.isfinite(num)
    if missing.any():
        r, c = np.argwhere(missing)[0]
        raise InputError(
            f"{path.name}: missing or non-finite value — the line scans are ragged (every line "
            "must have the same time samples)",
            column=headers[c],
            row=int(row0 + r),
        )
    return num


def _read_shimadzu(path: Path, raw: pd.DataFrame) -> xr.DataArray:
    headers = [str(h) for h in raw.iloc[0].tolist()]
    iso_labels = raw.iloc[2].tolist()
    stamps = raw.iloc[1].tolist()
    if raw.shape[0] < 5 or raw.shape[1] < 2:
        raise InputError(f"{path.name}: a Shimadzu export needs 3 header rows and time samples")
    data_cols = list(range(1, raw.shape[1]))
    lines_lab, isos = [], []
    for c in data_cols:
        m = re.search(r"_(\d+)\s*$", headers[c])
        if m is None:
            raise InputError(
                f"{path.name}: column header does not end in a line number '_NNN'",
                column=headers[c],
            )
        lines_lab.append(int(m.group(1)))
        if pd.isna(iso_labels[c]) or not str(iso_labels[c]).strip():
            raise InputError(f"{path.name}: empty isotope label in row 2", column=headers[c])
        isos.append(_isotope_name(iso_labels[c]))
    isotopes = list(dict.fromkeys(isos))
    lines = list(dict.fromkeys(lines_lab))
    n_iso = len(isotopes)
    if len(data_cols) != n_iso * len(lines):
        raise InputError(
            f"{path.name}: {len(data_cols)} signal columns are not {len(lines)} lines × {n_iso} "
            f"isotopes ({', '.join(isotopes)})"
        )
    for j, c in enumerate(data_cols):
        expect_line, expect_iso = lines[j // n_iso], isotopes[j % n_iso]
        if lines_lab[j] != expect_line or isos[j] != expect_iso:
            raise InputError(
                f"{path.name}: columns are not in the repeating (line, isotope) order; expected line "
                f"{expect_line} isotope {expect_iso}",
                column=headers[c],
                value=f"line {lines_lab[j]} isotope {isos[j]}",
            )
    body = raw.iloc[3:]
    body = body.loc[~body.isna().all(axis=1)]
    t_days = _numeric_block(body.iloc[:, [0]], path, [headers[0]], 3)[:, 0]
    values = _numeric_block(body.iloc[:, 1:], path, headers[1:], 3)
    time_s = (t_days - t_days[0]) * _DAY_S
    if np.any(np.diff(time_s) <= 0):
        i = int(np.argmax(np.diff(time_s) <= 0)) + 1
        raise InputError(
            f"{path.name}: time column is not strictly increasing",
            column=headers[0],
            row=3 + i,
            value=t_days[i],
        )
    n_t = len(time_s)
    cube = values.reshape(n_t, len(lines), n_iso).transpose(2, 1, 0)
    starts = pd.to_datetime(
        pd.Series([stamps[data_cols[n_iso * k]] for k in range(len(lines))]),
        format="%m/%d/%Y %I:%M:%S %p",
        errors="coerce",
    ).to_numpy()
    label = re.sub(r"_(\d+)\s*$", "", headers[1]).strip()
    return _cube(cube, isotopes, lines, time_s, path, "shimadzu", starts, label)


def _read_long(path: Path, table: pd.DataFrame) -> xr.DataArray:
    cols = {c.strip().lower(): c for c in table.columns.astype(str)}
    if "line" not in cols or not ({"time_s", "time_ms"} & set(cols)):
        raise InputError(
            f"{path.name}: expected a Shimadzu export or a long table with columns 'line', "
            "'time_s' (or 'time_ms') and one column per isotope",
            column=", ".join(map(str, table.columns[:6])),
        )
    tcol = cols.get("time_s", cols.get("time_ms"))
    scale = 1.0 if "time_s" in cols else 1e-3
    iso_cols = [c for c in table.columns if c not in (cols["line"], tcol)]
    if not iso_cols:
        raise InputError(f"{path.name}: no isotope columns besides 'line' and the time")
    headers = [str(c) for c in table.columns]
    num = _numeric_block(table[[tcol, *iso_cols]], path, [tcol, *map(str, iso_cols)], 1)
    lines_col = table[cols["line"]].to_numpy()
    as_num = pd.to_numeric(pd.Series(lines_col), errors="coerce")
    if as_num.notna().all() and np.all(as_num == np.round(as_num)):
        lines_col = as_num.to_numpy().astype(int)
    lines = list(dict.fromkeys(lines_col.tolist()))
    first = lines_col == lines[0]
    t0 = num[first, 0] * scale
    n_t = int(first.sum())
    cube = np.empty((len(iso_cols), len(lines), n_t))
    for k, ln in enumerate(lines):
        sel = lines_col == ln
        t = num[sel, 0] * scale
        if t.size != n_t or not np.allclose(t - t[0], t0 - t0[0], rtol=0, atol=1e-6 * (1 + t0[-1])):
            raise InputError(
                f"{path.name}: line {ln!r} has {t.size} time samples, or different times, than "
                f"line {lines[0]!r} ({n_t}): the line scans are ragged",
                column=headers[headers.index(str(cols["line"]))],
                value=ln,
            )
        cube[:, k, :] = num[sel, 1:].T
    isotopes = [_isotope_name(c) for c in iso_cols]
    return _cube(cube, isotopes, lines, t0 - t0[0], path, "long", None, path.stem)


def _cube(cube, isotopes, lines, time_s, path, layout, starts, label) -> xr.DataArray:
    if np.any(cube < 0):
        i, k, j = np.argwhere(cube < 0)[0]
        raise InputError(
            f"{path.name}: negative signal",
            column=f"isotope {isotopes[i]}",
            row=f"line {lines[k]}, time sample {j}",
            value=cube[i, k, j],
        )
    quanta = np.array([count_quantum(cube[i]) for i in range(len(isotopes))])
    coords = {
        "isotope": ("isotope", np.asarray(isotopes, dtype=str)),
        "line": ("line", np.asarray(lines)),
        "time": ("time", np.asarray(time_s, float), {"units": "s", "long_name": "time in line"}),
        "count_quantum": (
            "isotope",
            quanta,
            {"units": "signal units", "long_name": "detected quantum (1/count_scale)"},
        ),
    }
    if starts is not None:
        coords["line_start"] = ("line", starts)
    dt = float(np.median(np.diff(time_s))) if len(time_s) > 1 else float("nan")
    return xr.DataArray(
        cube,
        dims=("isotope", "line", "time"),
        coords=coords,
        name="signal",
        attrs={
            "units": "instrument signal (counts / count_scale)",
            "source": os.fspath(path),
            "layout": layout,
            "sample": label,
            "dwell_s": dt,
            "count_scale": [float(1.0 / q) if np.isfinite(q) else float("nan") for q in quanta],
        },
    )


def read_laicpms(path: str | os.PathLike[str]) -> xr.DataArray:
    r"""Read an LA-ICP-MS line-scan export into a labelled cube ``(isotope, line, time)``.

    Parameters
    ----------
    path : str or os.PathLike
        A Shimadzu CSV export (detected by its ``Time of scan`` header) or a long CSV table with
        columns ``line``, ``time_s`` (or ``time_ms``) and one column per isotope.

    Returns
    -------
    xarray.DataArray
        ``signal`` with dims ``(isotope, line, time)``; coords ``isotope`` (``'P31'``, ...),
        ``line`` (labels as in the file, never flipped), ``time`` (s from the first sample),
        ``count_quantum`` per isotope (the detected value step; NaN when the values are not
        quantised) and, for Shimadzu files, ``line_start`` (acquisition timestamp of each line).
        ``attrs``: ``units``, ``source``, ``layout``, ``sample``, ``dwell_s`` (median sampling
        interval, s) and ``count_scale`` (1/quantum per isotope: multiply a signal by it to get
        counts for a Poisson noise model).

    Raises
    ------
    InputError
        Unreadable layout, a header not ending in a line number, columns out of the
        (line, isotope) order, ragged lines, non-numeric or negative values (the message names the
        column/line and row), a non-increasing time column.

    Notes
    -----
    The Shimadzu time column is in days (``ms/(24·60·60·1000)``) and is converted to seconds. The
    values of the published export are quantised in steps of 1/40 or 1/45, consistent with integer
    counts divided by a per-isotope constant; :func:`count_quantum` finds the step.

    Examples
    --------
    >>> import tempfile, pandas as pd
    >>> tab = pd.DataFrame({"line": [1, 1, 2, 2], "time_s": [0.0, 0.5, 0.0, 0.5],
    ...                     "Zn66": [3.0, 4.0, 1.0, 0.0]})
    >>> with tempfile.TemporaryDirectory() as d:
    ...     tab.to_csv(f"{d}/scan.csv", index=False)
    ...     cube = read_laicpms(f"{d}/scan.csv")
    >>> dict(cube.sizes), float(cube.count_quantum[0])
    ({'isotope': 1, 'line': 2, 'time': 2}, 1.0)
    """
    p = Path(path)
    if not p.is_file():
        raise InputError(f"LA-ICP-MS file not found: {p}")
    try:
        with open(p, encoding="utf-8-sig", errors="strict") as fh:
            head = fh.readline().strip().lower()
    except UnicodeDecodeError:
        head = ""
    if head.startswith("time of scan"):
        try:
            raw = pd.read_csv(
                p, header=None, dtype=str, keep_default_na=False, na_values=[""],
                encoding="utf-8-sig",
            )  # fmt: skip
        except (pd.errors.ParserError, UnicodeDecodeError) as exc:
            raise InputError(f"{p.name}: not a readable Shimadzu CSV export ({exc})") from exc
        return _read_shimadzu(p, raw)
    from petroinfer.io._tables import read_table

    table = read_table(p, id_column=False, normalise=False)
    cols = {str(c).strip().lower() for c in table.columns}
    if "line" not in cols:
        raise InputError(
            f"{p.name}: expected a Shimadzu export or a long table with columns 'line', "
            "'time_s' (or 'time_ms') and one column per isotope",
            column=", ".join(map(str, table.columns[:6])),
        )
    return _read_long(p, table.reset_index(drop=True))
