"""Registry of public datasets, fetched and hash-checked with :mod:`pooch` (DESIGN.md §5).

Look-up order for a dataset file ``<relpath>``:

1. ``$PETROINFER_DATA_DIR/<relpath>`` (tests point this at ``../shared/data``);
2. the pooch cache (``pooch.os_cache("petroinfer")``, or ``$PETROINFER_CACHE_DIR``);
3. download from the registered URL into the cache (only by :func:`fetch` with ``download=True``,
   the default).

Every file found is checked against its registered SHA-256: a mismatch raises
:class:`~petroinfer.errors.InputError` (a corrupted or different file is never used silently).
Loader functions return tidy :class:`pandas.DataFrame` objects.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from petroinfer.errors import InputError

__all__ = [
    "REGISTRY",
    "DatasetInfo",
    "data_dir",
    "dataset_path",
    "fetch",
    "list_datasets",
    "load_dataset",
    "load_laterites",
    "load_schoneveld2020_spinel",
    "load_ueki2018_basalts",
]

_WORKSHOP = (
    "https://raw.githubusercontent.com/morganjwilliams/202411-sgtsg-pyrolite-workshop/main/data"
)


@dataclass(frozen=True)
class DatasetInfo:
    """One registered dataset file."""

    name: str
    relpath: str
    url: str
    sha256: str
    description: str
    licence: str
    citation: str


REGISTRY: dict[str, DatasetInfo] = {
    d.name: d
    for d in [
        DatasetInfo(
            name="ueki2018_basalts",
            relpath="basalt_tectonics/Ueki2018.csv",
            url=f"{_WORKSHOP}/basalts/Ueki2018.csv",
            sha256="d8d87d8541ef5c012f130bb52a73e15fae62c6120795d7f6a7dbed4598afd5a6",
            description="2074 basalts x 29 features (8 majors wt% volatile-free, Fe as Fe2O3T; 5 "
            "isotope ratios; 16 traces ppm) with tectonic setting (8 classes)",
            licence="MIT (pyrolite workshop redistribution)",
            citation="Ueki, Hino & Kuwatani (2018) G-cubed 19:1327, doi:10.1029/2017GC007401",
        ),
        DatasetInfo(
            name="schoneveld2020_spinel",
            relpath="spinel/Schoneveld2020.csv",
            url=f"{_WORKSHOP}/spinel/Schoneveld2020.csv",
            sha256="b4f05e884590914a010a2575f424ff914468429443d464e25ba2ed09b6aecd62",
            description="550 spinel EDS/WDS analyses (oxides wt%, apfu), Norilsk-Talnakh",
            licence="MIT (pyrolite workshop redistribution)",
            citation="Schoneveld et al. (2020) Economic Geology, doi:10.5382/econgeo.4747",
        ),
        DatasetInfo(
            name="laterites",
            relpath="laterites/laterites.xlsx",
            url=f"{_WORKSHOP}/laterites/laterites.xlsx",
            sha256="2dca6fe704d91f58e82706bbdfa2918328283d1e468317f020607f8c5e848100",
            description="7742 laterite samples (Yilgarn Craton) with coordinates and 30+ elements",
            licence="CC-BY 4.0",
            citation="Smith (1987) CSIRO-AGE laterite database, doi:10.25919/9dsm-wr21",
        ),
    ]
}


def data_dir() -> Path | None:
    """The user data folder from ``$PETROINFER_DATA_DIR`` (``None`` when unset)."""
    env = os.environ.get("PETROINFER_DATA_DIR")
    return Path(env).expanduser() if env else None


def cache_dir() -> Path:
    """Folder where downloaded datasets are cached (``$PETROINFER_CACHE_DIR`` or pooch's default)."""
    import pooch

    env = os.environ.get("PETROINFER_CACHE_DIR")
    return Path(env).expanduser() if env else Path(pooch.os_cache("petroinfer"))


def _info(name: str) -> DatasetInfo:
    try:
        return REGISTRY[name]
    except KeyError:
        import difflib

        close = difflib.get_close_matches(name, list(REGISTRY), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise InputError(
            f"unknown dataset {name!r}{hint} Known datasets: {', '.join(sorted(REGISTRY))}"
        ) from None


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _checked(path: Path, info: DatasetInfo) -> Path:
    digest = _sha256(path)
    if digest != info.sha256:
        raise InputError(
            f"dataset {info.name!r} at {path} has SHA-256 {digest}, expected {info.sha256}: the file "
            "is corrupted or a different version; replace it with the published file"
        )
    return path


def dataset_path(name: str) -> Path | None:
    """Local path of a dataset if present (data dir first, then cache), hash-checked; else ``None``."""
    info = _info(name)
    candidates = []
    if (d := data_dir()) is not None:
        candidates.append(d / info.relpath)
    candidates.append(cache_dir() / info.relpath)
    for path in candidates:
        if path.is_file():
            return _checked(path, info)
    return None


def fetch(name: str, *, download: bool = True, timeout: float = 30.0) -> Path:
    """Path to a dataset file, downloading it into the cache (with hash check) when absent.

    ``timeout`` (seconds) bounds each network request.

    Parameters
    ----------
    name : str
        Dataset name (see :func:`list_datasets`).
    download : bool
        Download the file when it is not found locally.
    timeout : float
        Network timeout in seconds.

    Raises
    ------
    InputError
        Unknown name, hash mismatch, or the file is absent and cannot be downloaded; the message says
        where to put the file by hand.
    """
    info = _info(name)
    found = dataset_path(name)
    if found is not None:
        return found
    target = cache_dir() / info.relpath
    where = (
        f"put the file at {data_dir() / info.relpath}"
        if data_dir()
        else f"set PETROINFER_DATA_DIR to a folder containing {info.relpath}, or put it at {target}"
    )
    if not download:
        raise InputError(f"dataset {name!r} is not available locally: {where} (source: {info.url})")
    import pooch

    try:
        path = pooch.retrieve(
            info.url,
            known_hash=f"sha256:{info.sha256}",
            fname=Path(info.relpath).name,
            path=target.parent,
            progressbar=False,
            downloader=pooch.HTTPDownloader(timeout=timeout, progressbar=False),
        )
    except ValueError as exc:  # pooch's hash mismatch
        raise InputError(f"download of dataset {name!r} failed its hash check: {exc}") from exc
    except Exception as exc:  # network errors of many kinds
        raise InputError(
            f"dataset {name!r} is not available locally and could not be downloaded "
            f"({type(exc).__name__}: {exc}); {where} (source: {info.url})"
        ) from exc
    return Path(path)


def list_datasets() -> pd.DataFrame:
    """Registered datasets with their local availability."""
    rows = []
    for info in REGISTRY.values():
        try:
            local = dataset_path(info.name)
        except InputError:
            local = None
        rows.append(
            {
                "name": info.name,
                "description": info.description,
                "licence": info.licence,
                "citation": info.citation,
                "local_path": str(local) if local else "",
            }
        )
    return pd.DataFrame(rows).set_index("name")


def load_ueki2018_basalts(*, fix_labels: bool = True, download: bool = True) -> pd.DataFrame:
    """Basalt compositions with tectonic setting (Ueki, Hino & Kuwatani 2018).

    Columns: 8 major oxides in wt% (volatile-free, total Fe as ``Fe2O3`` = Fe2O3T), 5 isotope ratios
    (``Sr87Sr86``, ``Nd143Nd144``, ``Pb206Pb204``, ``Pb207Pb204``, ``Pb208Pb204``), 16 trace elements in
    ppm, and the label ``Class`` (CA, OI, IA, IOA, CFB, MOR, BAB, OP). The index is a ``sample`` id
    ``U0000``... (the public file has no sample names).

    Notes
    -----
    **Label fix.** In the publicly redistributed CSV the labels IA and IOA are exchanged: the 338
    intra-oceanic-arc rows (Izu–Bonin–Mariana, Tonga) carry ``IA`` and the 272 island-arc rows (Kurile,
    Aleutian, Lesser Antilles) carry ``IOA``, as shown by the co-author's own copy with sample names.
    With ``fix_labels=True`` (default) they are swapped back, giving 338 ``IOA`` and 272 ``IA`` rows.
    """
    df = pd.read_csv(fetch("ueki2018_basalts", download=download))
    df.index = pd.Index([f"U{i:04d}" for i in range(len(df))], name="sample")
    if fix_labels:
        swap = {"IA": "IOA", "IOA": "IA"}
        df["Class"] = df["Class"].map(lambda c: swap.get(c, c))
    return df


def load_schoneveld2020_spinel(*, download: bool = True) -> pd.DataFrame:
    """Spinel analyses from Norilsk–Talnakh (Schoneveld et al. 2020).

    Oxide columns lose their ``_pct`` suffix (``MgO_pct`` → ``MgO``, wt%); ``*_apfu`` columns (atoms
    per formula unit) and the descriptive columns are kept. Empty oxide cells are below detection
    (NaN; not imputed).
    """
    df = pd.read_csv(fetch("schoneveld2020_spinel", download=download))
    df = df.rename(columns=lambda c: c[: -len("_pct")] if c.endswith("_pct") else c)
    df.index = pd.Index([f"S{i:04d}" for i in range(len(df))], name="sample")
    return df


def load_laterites(*, download: bool = True) -> pd.DataFrame:
    """Laterite geochemistry of the Yilgarn Craton (CSIRO-AGE, Smith 1987), indexed by ``SampNo``.

    Majors in wt%; ``*_ppm`` columns keep their unit suffix; ``Au_ppb`` in ppb. Missing analyses are NaN.
    """
    df = pd.read_excel(fetch("laterites", download=download))
    return df.set_index("SampNo")


_LOADERS: dict[str, Callable[..., pd.DataFrame]] = {
    "ueki2018_basalts": load_ueki2018_basalts,
    "schoneveld2020_spinel": load_schoneveld2020_spinel,
    "laterites": load_laterites,
}


def load_dataset(name: str, **kwargs) -> pd.DataFrame:
    """Load a registered dataset by name as a tidy DataFrame.

    Parameters
    ----------
    name : str
        Dataset name (see :func:`list_datasets`).
    **kwargs
        Passed to the dataset's loader (e.g. ``download=``).

    Returns
    -------
    DataFrame
        The dataset, one row per sample.
    """
    _info(name)
    return _LOADERS[name](**kwargs)
