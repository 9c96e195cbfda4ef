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

# Pinned to a commit (not a branch) so a later change upstream cannot break the checksums.
_WORKSHOP = (
    "https://raw.githubusercontent.com/morganjwilliams/202411-sgtsg-pyrolite-workshop/"
    "2ae4b33114ab1362ecc183ea4db8e76181310c3b/data"
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


# -- LA-ICP-MS line scans (issue 18) --------------------------------------------------------------
_SEKRO = (
    "https://raw.githubusercontent.com/sekro/la-icp-msi_segmentation/"
    "7f8a7c42fafc2337582c34bcb323852981354dde/data"
)
REGISTRY["laicpms_sekro_c1sa1"] = DatasetInfo(
    name="laicpms_sekro_c1sa1",
    relpath="laicpms/LA_Data_C1SA1.csv",
    url=f"{_SEKRO}/LA_Data_C1SA1.csv",
    sha256="c0772c294ceffc412ec854e586c641a5d064f3156eae6a77e900dd6ea0da27c3",
    description="LA-ICP-MS imaging line scans (Shimadzu export): 200 lines x 219 samples "
    "(330 ms) x 4 isotopes (P31, Fe57, Zn64, Zn66), biological tissue; time column in days",
    licence="CC-BY-4.0 (data of sekro/la-icp-msi_segmentation)",
    citation="sekro/la-icp-msi_segmentation, data/LA_Data_C1SA1.csv (GitHub, CC-BY-4.0)",
)


def load_laicpms_sekro_c1sa1(*, download: bool = True) -> pd.DataFrame:
    """The sekro LA-ICP-MS scan as a tidy table (``isotope``, ``line``, ``time`` s, ``signal``).

    For the labelled cube use ``petroinfer.io.read_laicpms(fetch("laicpms_sekro_c1sa1"))``.
    """
    from petroinfer.io._laicpms import read_laicpms

    cube = read_laicpms(fetch("laicpms_sekro_c1sa1", download=download))
    return cube.drop_vars(["count_quantum", "line_start"]).to_dataframe().reset_index()


_LOADERS["laicpms_sekro_c1sa1"] = load_laicpms_sekro_c1sa1


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


# -- Fisher (1993) axial orientations B2/B5 (issue 19, texture) -----------------------------------
_PYCIRCSTAT2_FISHER = (
    "https://raw.githubusercontent.com/circstat/pycircstat2/"
    "2dd1477937a0555fdcb396df19d88c3a1cda79e3/pycircstat2/data/fisher"
)
for _name, _file, _sha, _desc in (
    (
        "fisher_b2",
        "B2.csv",
        "8c5d5252199b158bc69e796bbe2888808392a0862f2ee2325537acc89d58140d",
        "133 long-axis orientations of feldspar laths in basalt (axial, degrees 0-180); Fisher "
        "(1993) data set B.2, Smith (1988) set 28-6-1co",
    ),
    (
        "fisher_b5",
        "B5.csv",
        "e7b55f181ada58ca05f8aec7d7df4c6bc8052a29ed7a99834c734d35d934332c",
        "60 long-axis orientations of feldspar laths in basalt (axial, degrees); Fisher (1993) data "
        "set B.5 as packaged by pycircstat2 (its metadata mentions 164 laths: the file has 60 rows)",
    ),
):
    REGISTRY[_name] = DatasetInfo(
        name=_name,
        relpath=f"orientations/fisher_{_file}",
        url=f"{_PYCIRCSTAT2_FISHER}/{_file}",
        sha256=_sha,
        description=_desc,
        licence="MIT (pycircstat2 redistribution of Fisher 1993)",
        citation="Fisher, N.I. (1993) Statistical analysis of circular data, Cambridge Univ. "
        "Press, Appendix B; data via circstat/pycircstat2 (MIT)",
    )


def load_fisher_orientations(name: str = "fisher_b2", *, download: bool = True) -> pd.DataFrame:
    """Fisher (1993) B2 or B5 feldspar-lath long-axis orientations (axial data, degrees).

    One column ``theta`` (degrees, an axis: θ and θ + 180° are the same line), index ``lath`` from 1.
    ``fisher_b5`` has 60 rows although its source metadata mentions 164 laths.
    """
    df = pd.read_csv(fetch(name, download=download), index_col=0)
    df.columns = ["theta"]
    df.index.name = "lath"
    return df


_LOADERS["fisher_b2"] = lambda **kw: load_fisher_orientations("fisher_b2", **kw)
_LOADERS["fisher_b5"] = lambda **kw: load_fisher_orientations("fisher_b5", **kw)


# -- QntMap minimal EPMA data set (issue 17, imaging.epma) ----------------------------------------
# A multi-file dataset: one registry entry per file, all under ``epma_qntmap/minimal/``;
# :func:`epma_qntmap_minimal_dir` fetches them all and returns the folder.
# pinned to atusy/qntmap HEAD 5b6a349 (2021-04-06; the minimal data last changed in 2d10ce2)
_QNTMAP_COMMIT = "5b6a349ac12b600daad7e806e22982e514150b86"
_QNTMAP = f"https://raw.githubusercontent.com/atusy/qntmap/{_QNTMAP_COMMIT}/inst/extdata/minimal"
_QNTMAP_FILES = {
    ".map/1/1_map.txt": "548d7d77b36fd0e409b31e9dc21343e96d605a5cb2f95b6f1dd304278f0081d8",
    ".map/1/1.cnd": "32646dae904b7d10cd2889e93c5586eb16e707093c51a07e95caea6fd4e9237a",
    ".map/1/2_map.txt": "7a97eb9ae1c90042e26351e8ec91a4f4a44c5ee0d0a35c381c8ec7f425710768",
    ".map/1/2.cnd": "62a2029726987a98e4b3c9fc1467c2e928724194d4fffc094b5089b8dcd4db97",
    ".qnt/bgm.qnt": "a033cb6361e6f5f774bf80c1abef16ea155f55610e50717b293243dbbd90b4ff",
    ".qnt/bgp.qnt": "13f8292ad94be0ff93b6bf93818668e1b5399701dc050825f23731606275f8a2",
    ".qnt/elem.qnt": "f0894ff60b38445bd4c9a2d85497896de4b918052b0201511b4a65117de57c32",
    ".qnt/elint.qnt": "3d0f3039a8e6691143a8e299f7cb2a3ee9c2136332f762267941cadd2aa415e4",
    ".qnt/mes.qnt": "ade0a6581875994c2507df49e508b720455048bca13fae9dc4faf4e103ce4288",
    ".qnt/net.qnt": "9ec9e2825e89504429a250f0cbb40275f9f5e185a86540769f999104409d1964",
    ".qnt/pkint.qnt": "3e3daea7608112cb3b51d16b7a9787e917d1662715cb4c20a554a3d93376b849",
    ".qnt/stg.qnt": "fa8e03ad5ee1fc921b92c8aac824362e647083107fd18890eed9116a379714df",
    ".qnt/wt.qnt": "91839a89c17b98491ebe06087658e26a521e7efe8316bdf5a930f5a31a629f68",
    ".qnt/.cnd/elemw.cnd": "976355688523ca306aab708b571e5bd4e04079008094e4405a87e6c5e0501218",
    "conditions_qnt.csv": "cc9d0bfe81b039cc40b96ec5f0f8f0b805fe3e4a4f1030c1a211cbabb85cef87",
    "conditions_xmap.csv": "a71b2f550a232593879c873fddd770dee0dfaf040114bfcc01f2d3c6d999f4db",
    "README.md": "5e9140909d25f90ea336ca6ad7c2717a3f34fe67cad04ac0e4cdcaa011f8eb5e",
}
for _rel, _sha in _QNTMAP_FILES.items():
    REGISTRY[f"epma_qntmap_minimal/{_rel}"] = DatasetInfo(
        name=f"epma_qntmap_minimal/{_rel}",
        relpath=f"epma_qntmap/minimal/{_rel}",
        url=f"{_QNTMAP}/{_rel}",
        sha256=_sha,
        description="QntMap minimal EPMA set (artificial, JXA-8105 format): 100x100 Si/Mg maps "
        f"and 40 quartz/olivine spots — file {_rel}",
        licence="MIT (qntmap; data (c) 2018 JAMSTEC)",
        citation="Yasumoto et al. (2018) Am. Mineral. 103:1690, doi:10.2138/am-2018-6323; "
        "atusy/qntmap inst/extdata/minimal",
    )


def epma_qntmap_minimal_dir(*, download: bool = True) -> Path:
    """Folder of the QntMap minimal data set (``.map/1`` and ``.qnt`` inside), every file checked."""
    paths = [fetch(f"epma_qntmap_minimal/{rel}", download=download) for rel in _QNTMAP_FILES]
    return paths[-1].parent  # README.md sits at the top of the folder


def load_epma_qntmap_minimal_spots(*, download: bool = True) -> pd.DataFrame:
    """Spot table (id, X, Y, Z mm, phase, use, current_A) of the QntMap minimal set."""
    from petroinfer.io._jeol import read_jeol_qnt

    return read_jeol_qnt(epma_qntmap_minimal_dir(download=download) / ".qnt").spots


for _rel in _QNTMAP_FILES:
    _LOADERS[f"epma_qntmap_minimal/{_rel}"] = load_epma_qntmap_minimal_spots
