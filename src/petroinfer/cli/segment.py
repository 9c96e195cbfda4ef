"""``petroinfer imaging segment``: spatial fuzzy c-means segmentation of element maps (Dask chunks).

No science lives here: maps are read into an xarray object (NetCDF lazily, CSV matrices one per
element) and segmented by :func:`petroinfer.geochem.segment_map`. To be registered in the
``imaging`` group (``app.command("segment")(segment)``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from petroinfer.cli._common import JsonOpt, OutOpt, SchedulerOpt, SeedOpt, emit, guard, write_csv

if TYPE_CHECKING:
    from petroinfer.report import Report

__all__ = ["demo_section", "read_maps", "segment"]


def read_maps(paths: list[Path], chunks: int, missing: str = "error") -> Any:
    """Element maps from a NetCDF file or Zarr store (lazy, dask-chunked) or CSV/TXT matrices (one
    per element).

    A folder stands for the ``*.csv``/``*.txt`` matrices inside it (or is a Zarr store when it
    ends in ``.zarr``); the element is the file stem. Empty or NaN cells are refused unless
    ``missing="pds"``.
    """
    import numpy as np
    import xarray as xr

    from petroinfer.errors import InputError

    files: list[Path] = []
    if len(paths) == 1 and paths[0].suffix.lower() == ".zarr" and paths[0].is_dir():
        try:
            ds = xr.open_zarr(paths[0])
        except (OSError, ValueError, KeyError) as exc:
            raise InputError(f"cannot read {paths[0].name} as Zarr ({exc})") from exc
        return _pick_maps(ds, paths[0].name)
    for p in paths:
        if p.is_dir():
            files += sorted(q for q in p.iterdir() if q.suffix.lower() in (".csv", ".txt"))
        elif not p.exists():
            raise FileNotFoundError(2, "No such file", str(p))
        else:
            files.append(p)
    if not files:
        raise InputError("no map files found (give a .nc file, CSV matrices or a folder of them)")
    if len(files) == 1 and files[0].suffix.lower() in (".nc", ".nc4", ".h5"):
        try:
            ds = xr.open_dataset(files[0], chunks={}, engine="h5netcdf")
        except (OSError, ValueError) as exc:
            raise InputError(f"cannot read {files[0].name} as NetCDF ({exc})") from exc
        return _pick_maps(ds, files[0].name)
    maps = {}
    shape = None
    for f in files:
        try:
            import pandas as pd

            A = pd.read_csv(f, header=None, sep=None, engine="python").to_numpy(dtype=float)
        except (ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:
            raise InputError(f"{f.name}: not a numeric matrix ({exc})") from exc
        if A.ndim != 2 or A.size == 0:
            raise InputError(f"{f.name}: not a 2-D matrix", value=A.shape)
        if shape is not None and A.shape != shape:
            raise InputError(f"{f.name}: map shape differs from the first map", value=A.shape)
        shape = A.shape
        bad = ~np.isfinite(A) if missing != "pds" else np.isinf(A)
        if bad.any():
            i, j = np.argwhere(bad)[0]
            raise InputError(f"{f.name}: non-finite or non-numeric pixel", row=int(i),
                             column=str(j))  # fmt: skip
        maps[f.stem] = (("y", "x"), A)
    return xr.Dataset(maps)


def _pick_maps(ds: Any, name: str) -> Any:
    """The 2-D element maps of a dataset (or its one 3-D (y, x, element) variable)."""
    from petroinfer.errors import InputError

    two_d = [k for k, v in ds.data_vars.items() if v.ndim == 2]
    three_d = [k for k, v in ds.data_vars.items() if v.ndim == 3]
    if three_d and not two_d:
        return ds[three_d[0]]
    if not two_d:
        raise InputError(f"{name}: no 2-D element maps in the file")
    return ds[two_d]


def _map_figure(da, title: str, label: str, cmap: str, out: Path | None, name: str, sec, cap: str):
    import matplotlib.pyplot as plt

    step = max(1, max(da.shape) // 1024)  # at most ~1024 px per side in the figure
    img = da[::step, ::step].values
    fig, ax = plt.subplots(figsize=(5.5, 4.5))
    im = ax.imshow(img, cmap=cmap, interpolation="nearest", extent=(0, da.shape[1], da.shape[0], 0))
    fig.colorbar(im, ax=ax, label=label)
    ax.set_xlabel("x (pixel)")
    ax.set_ylabel("y (pixel)")
    ax.set_title(title)
    if out is not None:
        fig.savefig(out / name, dpi=110, bbox_inches="tight")
    sec.figure(fig, caption=cap)


def run_segment(
    maps: Any,
    *,
    c: str,
    method: str,
    alpha: float,
    window: int,
    transform: str | None,
    chunks: int,
    scheduler: str | None,
    seed: int,
    out: Path | None,
    report: Report | None,
    title: str,
    missing: str = "error",
    fmt: str = "netcdf",
) -> dict[str, Any]:
    """Segment, write ``segmentation.nc`` (or ``.zarr``), ``centroids.csv`` and PNG maps; return
    the summary. The maps are processed and written block by block; without ``out`` the outputs
    go to a temporary folder that is removed at the end."""
    import tempfile

    from petroinfer.errors import ModelError
    from petroinfer.geochem import segment_map

    try:
        n_clusters: Any = "auto" if c == "auto" else int(c)
    except ValueError:
        raise ModelError(f"--c must be 'auto' or an int; got {c!r}") from None
    if fmt not in ("netcdf", "zarr"):
        raise ModelError(f"--format must be 'netcdf' or 'zarr'; got {fmt!r}")
    with tempfile.TemporaryDirectory(prefix="petroinfer-segment-") as scratch:
        where = Path(scratch) if out is None else out
        where.mkdir(parents=True, exist_ok=True)
        seg_path = where / ("segmentation.zarr" if fmt == "zarr" else "segmentation.nc")
        res = segment_map(
            maps, n_clusters, method=method, alpha=alpha, window=window, transform=transform,
            missing=missing, chunks=chunks, scheduler=scheduler, out=seg_path, out_format=fmt,
            random_state=seed,
        )  # fmt: skip
        summary = _summarise(res, method, out, report, title)
    return summary


def _summarise(res: Any, method: str, out: Path | None, report: Report | None, title: str):
    import numpy as np

    est = res.estimate
    label = est["label"]
    sizes = np.asarray(res.diagnostics["cluster_pixels"], dtype=float)
    summary: dict[str, Any] = {
        "shape": list(label.shape),
        "elements": [str(e) for e in est["element"].values],
        "n_clusters": res.hyperparameters["n_clusters"],
        "method": method,
        "cluster_fractions": [round(float(v), 4) for v in sizes / sizes.sum()],
        "mean_entropy_nat": round(float(res.diagnostics["mean_entropy"]), 4),
        "passes": res.diagnostics["n_passes"],
        "converged": res.diagnostics["converged"],
        "chunks": res.diagnostics["n_chunks"],
    }
    cen = est["centroids"].to_pandas()
    if out is not None:
        write_csv(cen.round(6), out / "centroids.csv")
        if res.criterion is not None:
            write_csv(res.criterion.to_dataframe().round(6), out / "criterion.csv")
        summary["out"] = str(out)
    if report is not None:
        sec = report.section(title)
        sec.text(
            "Spatial fuzzy c-means (FCM_S1/S2 = SFCM, or Chuang's membership filter) on a window "
            "of pixels, run chunk by chunk with halos on Dask; c chosen by the Xie–Beni index on a "
            "strided overview of the whole map when --c auto."
        )
        sec.mapping(summary, caption="Segmentation summary")
        _map_figure(label, "cluster of maximum membership", "cluster (index)", "tab10", out,
                    "labels.png", sec, "Map of the cluster with the highest membership per pixel.")  # fmt: skip
        _map_figure(est["entropy"], "membership entropy", "entropy (nat)", "magma", out,
                    "entropy.png", sec, "Membership entropy per pixel: high where the "
                    "segmentation is ambiguous (boundaries, mixed pixels).")  # fmt: skip
        sec.table(cen.round(4), caption="Cluster centroids in the input units of each element map.")
    if hasattr(est, "close"):
        est.close()
    return summary


@guard
def segment(
    maps: Annotated[
        list[Path],
        typer.Argument(
            help="NetCDF file or Zarr store of element maps, or CSV matrices (one per element)."
        ),
    ],
    c: Annotated[str, typer.Option("--c", help="Number of clusters, or auto.")] = "auto",
    method: Annotated[str, typer.Option("--method", help="s1 | s2 | chuang.")] = "s1",
    alpha: Annotated[float, typer.Option("--alpha", help="Spatial weight (s1/s2).")] = 1.0,
    window: Annotated[int, typer.Option("--window", help="Odd window size (pixels).")] = 3,
    transform: Annotated[
        str, typer.Option("--transform", help="none | anscombe | sqrt | log (count maps).")
    ] = "none",
    chunks: Annotated[int, typer.Option("--chunks", help="Block side (pixels).")] = 512,
    missing: Annotated[
        str, typer.Option("--missing", help="error | pds (partial distances for NaN pixels).")
    ] = "error",
    fmt: Annotated[
        str, typer.Option("--format", help="netcdf | zarr: format of the segmentation output.")
    ] = "netcdf",
    scheduler: SchedulerOpt = None,
    seed: SeedOpt = 0,
    out: OutOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Segment element maps into phases/domains with soft memberships (spatial FCM on Dask)."""
    data = read_maps(maps, chunks, missing)
    rep = None
    if out is not None:
        from petroinfer.report import Report

        rep = Report("Element-map segmentation", inputs=list(maps), seed=seed)
    summary = run_segment(
        data, c=c, method=method, alpha=alpha, window=window,
        transform=None if transform == "none" else transform, chunks=chunks,
        scheduler=scheduler, seed=seed, out=out, report=rep, title=f"Spatial FCM ({method})",
        missing=missing, fmt=fmt,
    )  # fmt: skip
    if rep is not None and out is not None:
        summary["report"] = str(rep.save(out / "report.html"))
    emit(summary, json_out=json_out, out=out, title="petroinfer imaging segment")


def demo_section(report: Report, out: Path) -> dict[str, Any]:
    """A synthetic 3-domain map with 10 % salt noise: spatial FCM vs truth (ARI)."""
    from sklearn.metrics import adjusted_rand_score

    from petroinfer.geochem import make_domain_map

    img, truth = make_domain_map(shape=(96, 96), random_state=0)
    import xarray as xr

    maps = xr.DataArray(img, dims=("y", "x", "element"),
                        coords={"element": ["Si", "Al", "Fe", "Mg"]})  # fmt: skip
    s = run_segment(
        maps, c="auto", method="s1", alpha=1.0, window=3, transform=None, chunks=48,
        scheduler=None, seed=0, out=out / "segment", report=report,
        title="Spatial FCM on a synthetic 3-domain map (10 % salt noise)",
    )  # fmt: skip
    seg = xr.open_dataset(out / "segment" / "segmentation.nc", engine="h5netcdf")
    ari = adjusted_rand_score(truth.ravel(), seg["label"].values.ravel())
    seg.close()
    return {"c_chosen": s["n_clusters"], "ari": round(float(ari), 3)}
