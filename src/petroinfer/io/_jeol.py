"""Readers for JEOL EPMA exports: X-ray map folders and quantitative spot (``.qnt``) folders.

File layouts follow QntMap (Yasumoto et al. 2018, Am. Mineral. 103:1690; atusy/qntmap, MIT):

- map folder: ``<k>_map.txt`` (or ``data<k>.csv``) ASCII count matrices paired in listing order with
  ``<k>.cnd`` (or ``data<k>.cnd``) condition files (``$KEY value … [unit]`` lines), or a
  ``conditions_xmap.csv`` table;
- spot folder: ``elem.qnt``, ``elint.qnt``, ``bgm.qnt``, ``bgp.qnt``, ``net.qnt``, ``pkint.qnt``
  (optional), ``wt.qnt``, ``mes.qnt``, ``stg.qnt`` and ``.cnd/elemw.cnd`` (or ``conditions_qnt.csv``).

Axis convention (QntMap's): the **rows of a map file run along stage X** and its columns along stage
Y. The returned map therefore has dims ``(element, y, x)`` with ``x`` = file row, ``y`` = file
column, so that stage coordinates and array axes agree.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from petroinfer.errors import InputError, format_value

__all__ = ["ELECTRON_SIGNALS", "JeolSpots", "read_jeol_map", "read_jeol_qnt"]

#: Electron signals: loaded, usable for clustering, never dead-time corrected or quantified.
ELECTRON_SIGNALS = frozenset({"BSE", "BSI", "COMPO", "CP", "SEI", "SL", "TOPO", "TP"})

_MAP_RE = re.compile(r"^(data[0-9]+\.csv|[1-9][0-9]*_map\.txt)$")
_CND_RE = re.compile(r"^(data[0-9]+|[1-9][0-9]*)\.cnd$")
_KEYS = {
    "element": (r"\$XM_ELEMENT\b", r"\$XM_ELEM_NAME%0", r"\$XM_ELEM_IMS_SIGNAL_TYPE%0"),
    "dwell": (r"\$XM_DWELL_TIME\b", r"\$XM_AP_SA_DWELL_TIME%0"),
    "current": (r"\$CM_CURRENT\b", r"\$XM_DATA_PROBE_CURRENT\b"),
    "start": (r"\$XM_MAP_START\b", r"\$XM_AP_SA_STAGE_POS%0_1"),
    "points": (r"\$XM_POINTS\b", r"\$XM_AP_SA_PIXELS%0"),
    "step": (r"\$XM_STEP_SIZE\b", r"\$XM_AP_SA_PIXEL_SIZE%0"),
    "instrument": (r"\$CM_INSTRUMENT\b", r"\$XM_ANALYSIS_INSTRUMENT\b"),
}


def _natural(p: Path) -> tuple[int, str]:
    m = re.search(r"[0-9]+", p.name)
    return (int(m.group()) if m else 0, p.name)


def _cnd_value(path: Path, lines: list[str], key: str, *, required: bool = True) -> list[str]:
    for pattern in _KEYS[key]:
        for line in lines:
            if re.match(pattern, line.strip()):
                return line.split()[1:]
    if required:
        raise InputError(f"{path}: no {' or '.join(_KEYS[key])} line (the {key} of the map)")
    return []


def _numbers(path: Path, values: list[str], n: int, what: str) -> list[float]:
    try:
        out = [float(v) for v in values[:n]]
    except ValueError:
        raise InputError(
            f"{path}: {what} must be {n} number(s), got {format_value(' '.join(values))}"
        ) from None
    if len(out) < n:
        raise InputError(f"{path}: {what} needs {n} number(s), got {len(out)}")
    return out


def _read_matrix(path: Path) -> np.ndarray:
    sep = "," if path.suffix.lower() == ".csv" else None
    rows: list[list[float]] = []
    with open(path, encoding="utf-8", errors="replace") as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            cells = line.strip().split(sep)
            try:
                row = [float(c) for c in cells]
            except ValueError:
                bad = next(c for c in cells if not _is_float(c))
                raise InputError(
                    f"{path}, line {lineno}: non-numeric count {format_value(bad)}"
                ) from None
            if rows and len(row) != len(rows[0]):
                raise InputError(
                    f"{path}, line {lineno}: ragged row with {len(row)} values, expected "
                    f"{len(rows[0])} like line 1"
                )
            rows.append(row)
    if not rows:
        raise InputError(f"{path}: empty map file")
    return np.asarray(rows, dtype=float)


def _scan_matrix(path: Path) -> tuple[np.ndarray, int, int]:
    """Validate a map file in one streaming pass and index its rows (constant memory).

    Every non-blank line is parsed and checked (numeric, same length as the first, finite and
    non-negative) exactly as :func:`_read_matrix` and :func:`read_jeol_map` check a file read
    whole, but only the byte offset of each row is kept. Returns ``(offsets, n_rows, n_cols)``
    with ``offsets`` of length ``n_rows + 1`` (the last is the end of the file).
    """
    sep = "," if path.suffix.lower() == ".csv" else None
    offsets: list[int] = []
    n_cols = 0
    pos = 0
    with open(path, "rb") as fh:
        for lineno, raw in enumerate(fh, start=1):
            start, pos = pos, pos + len(raw)
            line = raw.decode("utf-8", errors="replace")
            if not line.strip():
                continue
            cells = line.strip().split(sep)
            try:
                row = np.array([float(c) for c in cells])
            except ValueError:
                bad = next(c for c in cells if not _is_float(c))
                raise InputError(
                    f"{path}, line {lineno}: non-numeric count {format_value(bad)}"
                ) from None
            if offsets and row.size != n_cols:
                raise InputError(
                    f"{path}, line {lineno}: ragged row with {row.size} values, expected "
                    f"{n_cols} like line 1"
                )
            ok = np.isfinite(row) & (row >= 0)
            if not ok.all():
                raise InputError(
                    f"{path}, line {lineno}: negative or missing count {format_value(row[~ok][0])}"
                )
            n_cols = row.size
            offsets.append(start)
    if not offsets:
        raise InputError(f"{path}: empty map file")
    return np.asarray([*offsets, pos], dtype=np.int64), len(offsets), n_cols


def _read_block(path: str, start: int, stop: int, n_rows: int, n_cols: int) -> np.ndarray:
    """Rows of a validated map file between two byte offsets, as an ``(n_rows, n_cols)`` array."""
    with open(path, "rb") as fh:
        fh.seek(start)
        text = fh.read(stop - start).decode("utf-8", errors="replace")
    return np.array(text.replace(",", " ").split(), dtype=float).reshape(n_rows, n_cols)


def _lazy_matrix(path: Path, offsets: np.ndarray, n_cols: int, rows_per_block: int):
    """A dask array over a validated map file, in blocks of whole file rows."""
    import dask
    import dask.array as dsa

    n = len(offsets) - 1
    blocks = []
    for i in range(0, n, rows_per_block):
        j = min(n, i + rows_per_block)
        part = dask.delayed(_read_block, pure=True)(
            str(path), int(offsets[i]), int(offsets[j]), j - i, n_cols
        )
        blocks.append(dsa.from_delayed(part, shape=(j - i, n_cols), dtype=float))
    return dsa.concatenate(blocks, axis=0)


def _is_float(s: str) -> bool:
    try:
        float(s)
    except ValueError:
        return False
    return True


def _conditions_from_cnd(folder: Path) -> tuple[list[Path], dict]:
    maps = sorted((p for p in folder.iterdir() if _MAP_RE.match(p.name)), key=_natural)
    cnds = sorted((p for p in folder.iterdir() if _CND_RE.match(p.name)), key=_natural)
    if not maps:
        raise InputError(f"{folder}: no map files (*_map.txt or data*.csv)")
    if len(maps) != len(cnds):
        raise InputError(
            f"{folder}: {len(maps)} map files but {len(cnds)} condition (.cnd) files; each map "
            "needs its own .cnd (e.g. 1_map.txt + 1.cnd)"
        )
    elements = []
    for cnd in cnds:
        lines = cnd.read_text(encoding="utf-8", errors="replace").splitlines()
        value = _cnd_value(cnd, lines, "element")
        if not value:
            raise InputError(f"{cnd}: the element line has no element name")
        elements.append(value[0])
    first = cnds[0]
    lines = first.read_text(encoding="utf-8", errors="replace").splitlines()
    cond = {
        "elements": elements,
        "dwell_ms": _numbers(first, _cnd_value(first, lines, "dwell"), 1, "dwell time")[0],
        "current_A": _numbers(first, _cnd_value(first, lines, "current"), 1, "probe current")[0],
        "start_mm": _numbers(first, _cnd_value(first, lines, "start"), 2, "map start"),
        "points": [
            int(v) for v in _numbers(first, _cnd_value(first, lines, "points"), 2, "points")
        ],
        "step_um": _numbers(first, _cnd_value(first, lines, "step"), 2, "step size"),
        "instrument": " ".join(_cnd_value(first, lines, "instrument", required=False)),
        "dead_time_ns": 0.0,
    }
    cond["jxa8230"] = _is_jxa8230(lines, cond["instrument"])
    return maps, cond


def _is_jxa8230(lines: list[str], instrument: str) -> bool:
    """JXA-8230 condition file: its map keys (``$XM_AP_SA_…``) or its instrument name."""
    keys = any(re.match(r"\$XM_AP_SA_PIXELS%0", ln.strip()) for ln in lines)
    return keys or re.search(r"JXA-?8230", instrument, re.IGNORECASE) is not None


_XMAP_CSV_COLS = (
    "Element",
    "File path",
    "Instrument",
    "Dwell [msec]",
    "Probe current [A]",
    "Start X [mm]",
    "Start Y [mm]",
    "Step size [um]",
    "Steps X",
    "Steps Y",
    "dead time [ns]",
)


def _conditions_from_csv(csv: Path) -> tuple[list[Path], dict]:
    df = pd.read_csv(csv)
    missing = [c for c in _XMAP_CSV_COLS if c not in df.columns]
    if missing:
        raise InputError(f"{csv}: missing column(s) {', '.join(missing)}")
    if df["Element"].isna().any():
        row = int(np.flatnonzero(df["Element"].isna())[0]) + 2
        raise InputError(f"{csv}, line {row}: missing element name")
    first = df.iloc[0]
    for col in _XMAP_CSV_COLS[3:]:
        if not np.isfinite(pd.to_numeric(first[col], errors="coerce")):
            raise InputError(
                f"{csv}, line 2, column {col!r}: {format_value(first[col])} not a number"
            )
    maps = [csv.parent / p for p in df["File path"]]
    for lineno, p in enumerate(maps, start=2):
        if not p.is_file():
            raise InputError(f"{csv}, line {lineno}: map file {p} not found")
    step = float(first["Step size [um]"])
    cond = {
        "elements": [str(e) for e in df["Element"]],
        "dwell_ms": float(first["Dwell [msec]"]),
        "current_A": float(first["Probe current [A]"]),
        "start_mm": [float(first["Start X [mm]"]), float(first["Start Y [mm]"])],
        "points": [int(first["Steps X"]), int(first["Steps Y"])],
        "step_um": [step, step],
        "instrument": "" if pd.isna(first["Instrument"]) else str(first["Instrument"]),
        "dead_time_ns": float(first["dead time [ns]"]),
    }
    cond["jxa8230"] = _is_jxa8230([], cond["instrument"])
    return maps, cond


def read_jeol_map(
    path: str | Path, *, conditions: str | Path | None = None, chunks: int | None = None
) -> xr.DataArray:
    """Read a JEOL X-ray map folder into a labelled count cube.

    Parameters
    ----------
    path : str or Path
        Map folder holding ``<k>_map.txt`` + ``<k>.cnd`` pairs (JXA-8105/8800 and JXA-8230 keys).
    conditions : str or Path, optional
        A ``conditions_xmap.csv`` table (QntMap's alternative input; columns ``Element, File path,
        Instrument, Dwell [msec], Probe current [A], Start X [mm], Start Y [mm], Step size [um],
        Steps X, Steps Y, dead time [ns]``; paths relative to the csv; only the first row's
        conditions are used). Replaces the ``.cnd`` files.
    chunks : int, optional
        Read lazily: a dask-backed map in blocks of ``chunks`` whole file rows (stage-X lines —
        stage-Y lines for JXA-8230), for maps larger than memory. Every file is first checked in
        one streaming pass (same errors as a whole read, with the file line), keeping only the
        byte offset of each row; the blocks are parsed when computed. Rechunk the result (e.g.
        ``.chunk({"y": 256, "x": 256})``) for square blocks. Default: read into memory.

    Returns
    -------
    DataArray
        Raw counts, dims ``(element, y, x)``; coords ``x``/``y`` are stage positions (mm,
        ``start + index·step``), ``electron`` (bool per channel: electron signal, never quantified).
        Attrs: ``units="counts"``, ``dwell_s``, ``current_A``, ``step_um`` (x, y), ``start_mm``,
        ``instrument``, ``dead_time_ns`` (0: not corrected), ``dead_time_ns_conditions`` (the dead
        time stated by ``conditions_xmap.csv``, else 0: apply it with
        :func:`petroinfer.imaging.dead_time_correction`), ``stage_x_flipped`` and
        ``stage_convention`` (``"JXA-8105/8800"`` or ``"JXA-8230"``, see Notes), ``source``.

    Raises
    ------
    InputError
        Missing condition keys, a map without a condition file, ragged or non-numeric rows (file and
        line named), a map whose shape is the transpose of ``$XM_POINTS`` or otherwise disagrees.

    Notes
    -----
    QntMap reads a map file column-major with pixel index ``(col−1)·nrow + row`` and maps stage X to
    the row and stage Y to the column (Yasumoto et al. 2018; QntMap ``read_xmap``). Here the file is
    transposed on reading so that ``x`` is stage X and ``y`` is stage Y.

    JXA-8230 exports (``$XM_AP_SA_…`` keys, or an instrument name containing ``JXA-8230``) follow
    QntMap's JXA-8230 branch (``tidy_epma``): the file's rows run along stage Y (index
    ``(x_px − 1)·ny + y_px``) and stage X *decreases* along the pixel x axis (x_px·(−1)). The file
    is then not transposed, the ``x`` coordinate is ``start − index·step`` and
    ``attrs["stage_x_flipped"]`` is True (used by :func:`petroinfer.imaging.spot_pixels`). QntMap's
    branch as written cannot place any spot (its indices are ≤ 0), and no JXA-8230 export was
    available: this orientation is a reconstruction (notes imaging_texture.md §A.2).

    Examples
    --------
    >>> from petroinfer.io import read_jeol_map  # doctest: +SKIP
    >>> read_jeol_map("minimal/.map/1").sizes  # doctest: +SKIP
    Frozen({'element': 2, 'y': 100, 'x': 100})
    """
    folder = Path(path)
    if conditions is not None:
        maps, cond = _conditions_from_csv(Path(conditions))
    else:
        if not folder.is_dir():
            raise InputError(f"{folder}: not a folder (expected a JEOL map folder)")
        maps, cond = _conditions_from_cnd(folder)
    nx, ny = cond["points"]
    jxa8230 = cond["jxa8230"]
    if chunks is not None and (isinstance(chunks, bool) or int(chunks) < 1):
        raise InputError("chunks must be a positive number of file rows", value=chunks)
    cubes = []
    for p in maps:
        if chunks is None:
            m = _read_matrix(p)
            shape = m.T.shape if jxa8230 else m.shape
        else:
            offsets, n_rows, n_cols = _scan_matrix(p)
            shape = (n_cols, n_rows) if jxa8230 else (n_rows, n_cols)
        # JXA-8230: rows run along stage Y (QntMap's JXA-8230 index (x_px − 1)·ny + y_px)
        if shape != (nx, ny):
            hint = (
                " — the map looks transposed (rows must run along stage X)"
                if shape == (ny, nx)
                else ""
            )
            raise InputError(
                f"{p}: {shape[0]} rows × {shape[1]} columns, expected {nx} × {ny} from the "
                f"conditions ($XM_POINTS nx ny){hint}"
            )
        if chunks is not None:
            lazy = _lazy_matrix(p, offsets, n_cols, int(chunks))
            cubes.append(lazy if jxa8230 else lazy.T)  # stage X → last axis
            continue
        if jxa8230:
            m = m.T
        if not np.all(np.isfinite(m)) or (m < 0).any():
            r, c = np.argwhere(~(np.isfinite(m) & (m >= 0)))[0]
            raise InputError(
                f"{p}, line {r + 1}: negative or missing count {format_value(m[r, c])}"
            )
        cubes.append(m.T)  # file rows = stage X → last axis
    (sx, sy), (x0, y0) = cond["step_um"], cond["start_mm"][:2]
    xsign = -1.0 if jxa8230 else 1.0  # JXA-8230: stage X decreases along the pixel x axis
    elements = cond["elements"]
    if chunks is None:
        stacked = np.stack(cubes)
    else:
        import dask.array as dsa

        stacked = dsa.stack(cubes)
    da = xr.DataArray(
        stacked,
        dims=("element", "y", "x"),
        coords={
            "element": elements,
            "x": ("x", x0 + xsign * np.arange(nx) * sx / 1000.0, {"units": "mm"}),
            "y": ("y", y0 + np.arange(ny) * sy / 1000.0, {"units": "mm"}),
            "electron": ("element", [e.upper() in ELECTRON_SIGNALS for e in elements]),
        },
        name="counts",
        attrs={
            "units": "counts",
            "dwell_s": cond["dwell_ms"] / 1000.0,
            "current_A": cond["current_A"],
            "step_um": (float(sx), float(sy)),
            "start_mm": (float(x0), float(y0)),
            "instrument": cond["instrument"],
            "dead_time_ns": 0.0,
            "dead_time_ns_conditions": float(cond["dead_time_ns"]),
            "stage_x_flipped": bool(jxa8230),
            "stage_convention": "JXA-8230" if jxa8230 else "JXA-8105/8800",
            "source": str(folder if conditions is None else conditions),
        },
    )
    return da


# ---------------------------------------------------------------------------------------- spots


@dataclass(frozen=True)
class JeolSpots:
    """Spot analyses of a JEOL ``.qnt`` folder.

    Returned by :func:`read_jeol_qnt`; the constructor arguments are stored as frozen attributes of
    the same name.

    Parameters
    ----------
    spots : DataFrame
        Index ``id``; columns ``X``, ``Y``, ``Z`` (stage, mm), ``phase`` (from the ``stg.qnt``
        comment or a phase list), ``use`` (bool), ``current_A`` (probe current, A).
    conditions : DataFrame
        Index ``element`` (as measured, ``Si``); columns ``oxide`` (species of the ZAF correction,
        ``SiO2``), ``bg_plus_mm``, ``bg_minus_mm`` (background offsets, mm), ``t_peak_s``, ``t_bg_s``.
    pk, bgm, bgp, net : DataFrame
        Peak, minus/plus background and net intensities (cps/µA), index ``id``, columns elements.
        ``pk`` is computed as net + background when ``pkint.qnt`` is absent.
    wt : DataFrame
        ZAF concentrations (wt% of the oxide species), index ``id``, columns elements.
    """

    spots: pd.DataFrame
    conditions: pd.DataFrame
    pk: pd.DataFrame
    bgm: pd.DataFrame
    bgp: pd.DataFrame
    net: pd.DataFrame
    wt: pd.DataFrame

    @property
    def elements(self) -> list[str]:
        """Element names as measured."""
        return list(self.conditions.index)

    @property
    def background(self) -> pd.DataFrame:
        """Background at the peak, QntMap's form (bgm·pos₋ + bgp·pos₊)/(pos₋ + pos₊) (cps/µA)."""
        pm = self.conditions["bg_minus_mm"]
        pp = self.conditions["bg_plus_mm"]
        return (self.bgm * pm + self.bgp * pp) / (pm + pp)


def _read_rows(path: Path, *, min_cols: int) -> list[tuple[int, list[str]]]:
    if not path.is_file():
        raise InputError(f"{path}: file not found (required in a JEOL .qnt folder)")
    out = []
    with open(path, encoding="utf-8", errors="replace") as fh:
        for lineno, line in enumerate(fh, start=1):
            cells = line.split()
            if not cells:
                continue
            if len(cells) < min_cols:
                raise InputError(
                    f"{path}, line {lineno}: {len(cells)} fields, expected at least {min_cols}"
                )
            out.append((lineno, cells))
    if not out:
        raise InputError(f"{path}: empty file")
    return out


def _read_values(path: Path, elements: list[str], ids: list[int]) -> pd.DataFrame:
    n = len(elements)
    rows = _read_rows(path, min_cols=2)
    if len(rows) != len(ids):
        raise InputError(f"{path}: {len(rows)} spot rows, expected {len(ids)} like stg.qnt")
    data = np.empty((len(rows), n))
    for k, (lineno, cells) in enumerate(rows):
        want = 2 + n if path.name == "mes.qnt" else 3 + n
        if len(cells) != want:
            raise InputError(
                f"{path}, line {lineno}: ragged row with {len(cells)} fields, expected {want} "
                f"(id, n, {n} value(s){'' if path.name == 'mes.qnt' else ', total'})"
            )
        if int(float(cells[0])) != ids[k]:
            raise InputError(
                f"{path}, line {lineno}: spot id {format_value(cells[0])}, expected {ids[k]} "
                "(the same order as stg.qnt)"
            )
        try:
            data[k] = [float(c) for c in cells[2 : 2 + n]]
        except ValueError:
            raise InputError(f"{path}, line {lineno}: non-numeric value in {cells[2:]}") from None
    return pd.DataFrame(data, index=pd.Index(ids, name="id"), columns=elements)


def _elemw(path: Path, n: int) -> pd.DataFrame:
    if not path.is_file():
        raise InputError(f"{path}: file not found (or give conditions_qnt.csv)")
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    pats = {
        "bg_plus_mm": r"Back\s*\+",
        "bg_minus_mm": r"Back\s*-",
        "t_peak_s": r"Peak Meas\.? Time",
        "t_bg_s": r"Back Meas\.? Time",
    }
    cols = {}
    for key, pat in pats.items():
        vals = []
        for lineno, line in enumerate(lines, start=1):
            if re.search(pat, line):
                try:
                    vals.append(float(line.split()[0]))
                except (ValueError, IndexError):
                    raise InputError(f"{path}, line {lineno}: no number before {pat!r}") from None
        if len(vals) != n:
            raise InputError(f"{path}: {len(vals)} '{pat}' line(s), expected one per element ({n})")
        cols[key] = vals
    return pd.DataFrame(cols)


def read_jeol_qnt(
    path: str | Path,
    *,
    conditions: str | Path | None = None,
    phase_list: str | Path | pd.DataFrame | None = None,
) -> JeolSpots:
    """Read a JEOL quantitative spot folder (``.qnt``).

    Parameters
    ----------
    path : str or Path
        The ``.qnt`` folder.
    conditions : str or Path, optional
        ``conditions_qnt.csv`` (columns ``Oxide, Element, Bg+ [mm], Bg- [mm], Peak [sec],
        Bg [sec]``) replacing ``elem.qnt``/``elint.qnt``/``.cnd/elemw.cnd``.
    phase_list : str, Path or DataFrame, optional
        Table with columns ``id, phase, use`` overriding the phase labels of ``stg.qnt``; spots with
        ``use = False`` are kept in the table but excluded from fits.

    Returns
    -------
    JeolSpots
        Spots table, element conditions and per-element intensity/concentration tables.

    Raises
    ------
    InputError
        A missing file, ragged rows, spot ids out of order, element lists that disagree between
        files (file and line named).

    Examples
    --------
    >>> from petroinfer.io import read_jeol_qnt  # doctest: +SKIP
    >>> read_jeol_qnt("minimal/.qnt").spots.phase.value_counts().to_dict()  # doctest: +SKIP
    {'Qtz': 20, 'Ol': 20}
    """
    folder = Path(path)
    if not folder.is_dir():
        raise InputError(f"{folder}: not a folder (expected a JEOL .qnt folder)")
    stg = _read_rows(folder / "stg.qnt", min_cols=10)
    ids, rows = [], []
    for lineno, cells in stg:
        try:
            sid = int(float(cells[0]))
            x, y, z = (float(c) for c in cells[4:7])
        except ValueError:
            raise InputError(
                f"{folder / 'stg.qnt'}, line {lineno}: id and stage X, Y, Z (columns 1, 5–7) "
                f"must be numbers, got {format_value(' '.join(cells[:7]))}"
            ) from None
        ids.append(sid)
        rows.append({"X": x, "Y": y, "Z": z, "phase": " ".join(cells[9:])})
    if len(set(ids)) != len(ids):
        raise InputError(f"{folder / 'stg.qnt'}: duplicated spot ids")
    if conditions is not None:
        c = pd.read_csv(conditions)
        need = ["Oxide", "Element", "Bg+ [mm]", "Bg- [mm]", "Peak [sec]", "Bg [sec]"]
        missing = [k for k in need if k not in c.columns]
        if missing:
            raise InputError(f"{conditions}: missing column(s) {', '.join(missing)}")
        cond = pd.DataFrame(
            {
                "oxide": c["Oxide"].astype(str).to_numpy(),
                "bg_plus_mm": c["Bg+ [mm]"].to_numpy(float),
                "bg_minus_mm": c["Bg- [mm]"].to_numpy(float),
                "t_peak_s": c["Peak [sec]"].to_numpy(float),
                "t_bg_s": c["Bg [sec]"].to_numpy(float),
            },
            index=pd.Index(c["Element"].astype(str), name="element"),
        )
    else:
        elint = _read_rows(folder / "elint.qnt", min_cols=3)
        elem = _read_rows(folder / "elem.qnt", min_cols=3)
        elements, oxides = elint[0][1][2:], elem[0][1][2:]
        for f, rows_ in (("elint.qnt", elint), ("elem.qnt", elem)):
            ref = rows_[0][1][2:]
            for lineno, cells in rows_:
                if cells[2:] != ref:
                    raise InputError(
                        f"{folder / f}, line {lineno}: elements {' '.join(cells[2:])} differ from "
                        f"line {rows_[0][0]} ({' '.join(ref)})"
                    )
        if len(oxides) != len(elements):
            raise InputError(
                f"{folder}: elem.qnt lists {len(oxides)} species but elint.qnt {len(elements)}"
            )
        cond = _elemw(folder / ".cnd" / "elemw.cnd", len(elements))
        cond.insert(0, "oxide", oxides)
        cond.index = pd.Index(elements, name="element")
    elements = list(cond.index)
    tables = {
        k: _read_values(folder / f"{k}.qnt", elements, ids) for k in ("bgm", "bgp", "net", "wt")
    }
    if (folder / "pkint.qnt").is_file():
        pk = _read_values(folder / "pkint.qnt", elements, ids)
    else:
        pm, pp = cond["bg_minus_mm"], cond["bg_plus_mm"]
        pk = tables["net"] + (tables["bgm"] * pm + tables["bgp"] * pp) / (pm + pp)
    mes = _read_values(folder / "mes.qnt", ["current_A"], ids)
    spots = pd.DataFrame(rows, index=pd.Index(ids, name="id"))
    spots["use"] = True
    spots["current_A"] = mes["current_A"]
    if phase_list is not None:
        pl = phase_list if isinstance(phase_list, pd.DataFrame) else pd.read_csv(phase_list)
        where = "phase list" if isinstance(phase_list, pd.DataFrame) else f"{phase_list}"
        if not {"id", "phase"} <= set(pl.columns):
            raise InputError(f"{where}: needs columns id, phase[, use]; got {list(pl.columns)}")
        ids_pl = pd.to_numeric(pl["id"], errors="coerce")
        if ids_pl.isna().any() or (ids_pl != ids_pl.round()).any():
            row = int(np.flatnonzero(ids_pl.isna() | (ids_pl != ids_pl.round()))[0]) + 1
            raise InputError(f"{where}, row {row}: spot id {format_value(pl['id'].iloc[row - 1])}")
        pl = pl.assign(id=ids_pl.astype(int)).set_index("id")
        unknown = sorted(set(pl.index) - set(ids))
        if unknown:
            raise InputError(f"phase list: unknown spot id(s) {unknown[:5]}")
        spots.loc[pl.index, "phase"] = pl["phase"].astype(str)
        if "use" in pl.columns:
            spots.loc[pl.index, "use"] = pl["use"].astype(str).str.upper().isin(["TRUE", "1"])
    return JeolSpots(spots=spots, conditions=cond, pk=pk, **tables)
