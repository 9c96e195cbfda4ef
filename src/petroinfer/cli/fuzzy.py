"""``petroinfer geochem fcm``: fuzzy c-means of samples, with their locations (GEOFCM / SFCM).

No science lives here: the table is read by :func:`petroinfer.io.read_table`, checked by
:func:`petroinfer.composition.validate_composition` and clustered by
:class:`petroinfer.geochem.GeoFCM` / :class:`petroinfer.geochem.FuzzyCMeans`. Registered in
:mod:`petroinfer.cli.geochem`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from petroinfer.cli._common import JsonOpt, OutOpt, SeedOpt, emit, guard, read_input, write_csv

if TYPE_CHECKING:
    import pandas as pd

    from petroinfer.report import Report

__all__ = ["demo_section", "fcm", "run_fcm"]

_METHODS = ("geofcm", "sfcm", "fcm")
_ABUNDANCE = frozenset({"oxide", "element", "ree"})


def _read(path: Path, coords: tuple[str, ...]) -> pd.DataFrame:
    """Read the table; coordinate headers keep their spelling (``y`` is not yttrium)."""
    import pandas as pd

    from petroinfer.composition import name_category, normalise_columns, validate_composition

    raw = read_input(path, normalise=False, ignore=coords)
    for c in coords:
        if c not in raw.columns:
            raise _input_error("coordinate column not found in the table", column=c)
    rest = normalise_columns(raw.drop(columns=list(coords)))
    df = pd.concat([raw[list(coords)], rest], axis=1)
    ignore = [
        c
        for c in df.columns
        if c in coords or (df[c].dtype == object and name_category(str(c)) in (None, "metadata"))
    ]
    validate_composition(df, totals=None, ignore=ignore)
    return df


def _input_error(msg: str, **kw: Any):
    from petroinfer.errors import InputError

    return InputError(msg, **kw)


def _features(df: pd.DataFrame, columns: str | None, coords: tuple[str, ...]) -> list[str]:
    from petroinfer.composition import name_category, parse_column

    if columns:
        cols = [c.strip() for c in columns.split(",") if c.strip()]
        for c in cols:
            if c not in df.columns:
                raise _input_error("column not found in the table", column=c)
        return cols
    cols = [
        str(c)
        for c in df.columns
        if c not in coords
        and name_category(str(c)) in _ABUNDANCE
        and parse_column(str(c)).unit != "apfu"
    ]
    if not cols:
        raise _input_error("no abundance columns recognised (oxides, elements); use --columns")
    return cols


def _estimator(method: str, c: Any, *, x: str | None, y: str | None, **kw: Any):
    from petroinfer.geochem import FuzzyCMeans, GeoFCM

    geo_only = ("neighbours", "k", "alpha", "coordinate_system", "duplicates")
    if method == "fcm":
        return FuzzyCMeans(c, **{k: v for k, v in kw.items() if k not in geo_only})
    spatial = {"method": "chuang"} if method == "geofcm" else {"method": "s1"}
    return GeoFCM(c, x_column=x, y_column=y, **spatial, **kw)


def _figures(est, X: pd.DataFrame, xy: Any, xy_units: str, out: Path | None, sec) -> None:
    import matplotlib.pyplot as plt
    import numpy as np

    crit = est.criterion_.reset_index()
    if len(crit) > 1:
        fig, ax = plt.subplots(figsize=(5.5, 3.5))
        for m, g in crit.groupby("m"):
            ax.plot(g["n_clusters"], g["xie_beni"], "o-", label=f"m = {m:g}")
        ax.set_xlabel("number of clusters c (dimensionless)")
        ax.set_ylabel("Xie–Beni index (dimensionless, lower is better)")
        ax.set_yscale("log")
        ax.legend()
        if out is not None:
            fig.savefig(out / "criterion.png", dpi=110, bbox_inches="tight")
        sec.figure(fig, caption="Validity index against the number of clusters; the minimum "
                   "chooses c.")  # fmt: skip
    if xy is not None:
        U = est.memberships_
        fig, axes = plt.subplots(1, 2, figsize=(10, 4.2))
        sc = axes[0].scatter(xy[:, 0], xy[:, 1], c=est.labels_, cmap="tab10", s=8,
                             vmin=0, vmax=9)  # fmt: skip
        axes[0].set_title("cluster of maximum membership")
        ent = -(U * np.log(np.clip(U, 1e-300, None))).sum(axis=1)
        sc = axes[1].scatter(xy[:, 0], xy[:, 1], c=ent, cmap="magma", s=8)
        fig.colorbar(sc, ax=axes[1], label="membership entropy (nat)")
        axes[1].set_title("uncertainty")
        for ax in axes:
            ax.set_xlabel(f"x ({xy_units})")
            ax.set_ylabel(f"y ({xy_units})")
        if out is not None:
            fig.savefig(out / "clusters_map.png", dpi=110, bbox_inches="tight")
        sec.figure(fig, caption="Sample locations coloured by fuzzy cluster (left) and by the "
                   "entropy of their memberships (right, high = ambiguous).")  # fmt: skip
    plt.close("all")


def run_fcm(
    df: pd.DataFrame,
    *,
    method: str,
    c: str,
    x_column: str | None,
    y_column: str | None,
    lonlat: bool,
    columns: str | None,
    m: float,
    neighbours: str,
    k: int,
    alpha: float,
    preprocessing: str,
    missing: str,
    duplicates: str,
    n_init: int,
    seed: int,
    out: Path | None,
    report: Report | None,
    title: str,
) -> dict[str, Any]:
    """Fit, write ``memberships.csv``/``centres.csv``/``criterion.csv``/``result.nc`` and figures."""
    import numpy as np
    import pandas as pd

    from petroinfer.errors import ModelError

    if method not in _METHODS:
        raise ModelError(f"--method must be one of {', '.join(_METHODS)}; got {method!r}")
    coords = tuple(v for v in (x_column, y_column) if v)
    if method != "fcm" and len(coords) != 2:
        raise ModelError(f"--method {method} needs --x-column and --y-column")
    cols = _features(df, columns, coords)
    try:
        n_clusters: Any = "auto" if c == "auto" else int(c)
    except ValueError:
        raise ModelError(f"--c must be 'auto' or an int; got {c!r}") from None
    est = _estimator(
        method, n_clusters, x=x_column, y=y_column, m=m, neighbours=neighbours, k=k,
        alpha=alpha, preprocessing=preprocessing, missing=missing, duplicates=duplicates,
        coordinate_system="lonlat" if lonlat else "projected", n_init=n_init, random_state=seed,
    )  # fmt: skip
    table = df[[*coords, *cols]] if method != "fcm" else df[cols]
    table = table.apply(pd.to_numeric, errors="coerce") if len(table) else table
    est.fit(table)
    U = est.memberships_
    mem = pd.DataFrame(U, index=df.index, columns=[f"u_{i}" for i in range(U.shape[1])])
    mem["cluster"] = est.labels_
    mem["entropy"] = -(U * np.log(np.clip(U, 1e-300, None))).sum(axis=1)
    summary: dict[str, Any] = {
        "samples": len(df),
        "features": cols,
        "method": method,
        "n_clusters": est.n_clusters_,
        "m": est.m_,
        "cluster_sizes": np.bincount(est.labels_, minlength=est.n_clusters_).tolist(),
        "mean_entropy_nat": round(float(mem["entropy"].mean()), 4),
        "converged": bool(est.converged_),
        "iterations": int(est.n_iter_),
    }
    if est.spatial_ is not None:
        summary["spatial_consistency"] = round(float(est.spatial_["ratio"]), 4)
        summary["morans_i"] = [round(float(v), 3) for v in est.spatial_["morans_i"]]
    if getattr(est, "isolated_", None) is not None and len(est.isolated_):
        summary["isolated_samples"] = [str(v) for v in est.isolated_[:50]]
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        write_csv(mem.round(6), out / "memberships.csv")
        cen = est.centroids_
        if cen is None:
            cen = pd.DataFrame(est.cluster_centers_, columns=cols)
        cen.index.name = "cluster"
        write_csv(cen.round(6), out / "centres.csv")
        write_csv(est.criterion_.round(6), out / "criterion.csv")
        est.result_.to_netcdf(out / "result.nc")
        summary["out"] = str(out)
    if report is not None:
        sec = report.section(title)
        sec.text(
            "Fuzzy c-means with the number of clusters chosen by the Xie–Beni index. GEOFCM "
            "(Yoshida et al. 2018) is reconstructed [R] as a spatial FCM on a neighbour graph of the "
            "sample locations: 'geofcm' filters the memberships by those of the neighbours (Chuang et "
            "al. 2006), 'sfcm' adds the neighbours' mean composition to the distance (FCM_S1 / SFCM)."
        )
        sec.mapping({k: v for k, v in summary.items() if k not in ("out",)},
                    caption="Fit summary")  # fmt: skip
        xy = getattr(est, "coordinates_", None) if method != "fcm" else None
        _figures(est, table, xy, "km" if lonlat else "coordinate units", out, sec)
        sec.table(
            est.criterion_.round(4),
            caption="Validity indices for every c tried "
            "(pc, mpc: higher is crisper; pe, xie_beni, fukuyama_sugeno: lower is better).",
        )
    return summary


@guard
def fcm(
    file: Annotated[Path, typer.Argument(help="CSV/XLSX: samples × abundances (+ coordinates).")],
    x_column: Annotated[
        str | None, typer.Option("--x-column", help="Column of x (easting or longitude).")
    ] = None,
    y_column: Annotated[
        str | None, typer.Option("--y-column", help="Column of y (northing or latitude).")
    ] = None,
    c: Annotated[str, typer.Option("--c", help="Number of clusters, or auto.")] = "auto",
    method: Annotated[
        str, typer.Option("--method", help="geofcm | sfcm | fcm (fcm ignores coordinates).")
    ] = "sfcm",
    lonlat: Annotated[
        bool, typer.Option("--lonlat", metavar="", help="x/y are longitude/latitude (degrees).")
    ] = False,
    columns: Annotated[
        str | None, typer.Option("--columns", help="Comma-separated features (default: all).")
    ] = None,
    m: Annotated[float, typer.Option("--m", help="Fuzzifier m > 1.")] = 2.0,
    neighbours: Annotated[
        str, typer.Option("--neighbours", help="knn | radius | gaussian | delaunay.")
    ] = "knn",
    k: Annotated[int, typer.Option("--k", help="Neighbours for knn.")] = 8,
    alpha: Annotated[float, typer.Option("--alpha", help="Spatial weight (sfcm).")] = 1.0,
    preprocessing: Annotated[
        str, typer.Option("--preprocessing", help="standardise | log-standardise | clr | none.")
    ] = "standardise",
    missing: Annotated[
        str, typer.Option("--missing", help="Empty cells: error | pds (partial distances).")
    ] = "error",
    duplicates: Annotated[
        str, typer.Option("--duplicates", help="Samples at one location: error | keep.")
    ] = "error",
    n_init: Annotated[int, typer.Option("--n-init", help="Restarts per c.")] = 5,
    seed: SeedOpt = 0,
    out: OutOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Fuzzy clusters of samples using where they were collected (GEOFCM / SFCM / FCM)."""
    coords = tuple(v for v in (x_column, y_column) if v)
    df = _read(file, coords)
    rep = None
    if out is not None:
        from petroinfer.report import Report

        rep = Report("Spatial fuzzy clustering", inputs=[file], seed=seed)
    summary = run_fcm(
        df, method=method, c=c, x_column=x_column, y_column=y_column, lonlat=lonlat,
        columns=columns, m=m, neighbours=neighbours, k=k, alpha=alpha,
        preprocessing=preprocessing, missing=missing, duplicates=duplicates, n_init=n_init,
        seed=seed, out=out, report=rep, title=f"Fuzzy clustering ({method})",
    )  # fmt: skip
    if rep is not None and out is not None:
        summary["report"] = str(rep.save(out / "report.html"))
    emit(summary, json_out=json_out, out=out, title="petroinfer geochem fcm")


def demo_section(report: Report, out: Path) -> dict[str, Any]:
    """Synthetic geological units (GEOFCM vs FCM, ARI) and the laterites dataset when available."""
    from sklearn.metrics import adjusted_rand_score

    from petroinfer.geochem import make_scattered_units

    df, truth = make_scattered_units(n=400, random_state=0)
    kw = dict(
        c="auto", x_column="x", y_column="y", lonlat=False, columns=None, m=2.0,
        neighbours="knn", k=8, alpha=1.0, preprocessing="standardise", missing="error",
        duplicates="error", n_init=3, seed=0, report=report,
    )  # fmt: skip
    s_geo = run_fcm(df, method="sfcm", out=out / "fcm_synthetic_sfcm",
                    title="GEOFCM (SFCM) on 3 synthetic units, truth c = 3", **kw)  # fmt: skip
    kw["c"] = "3"
    run_fcm(df, method="fcm", out=out / "fcm_synthetic_fcm",
                    title="Plain FCM on the same samples (no locations)", **kw)  # fmt: skip
    import pandas as pd

    lab_geo = pd.read_csv(out / "fcm_synthetic_sfcm" / "memberships.csv")["cluster"]
    lab_fcm = pd.read_csv(out / "fcm_synthetic_fcm" / "memberships.csv")["cluster"]
    result = {
        "synthetic_c_chosen": s_geo["n_clusters"],
        "synthetic_ari_sfcm": round(float(adjusted_rand_score(truth, lab_geo)), 3),
        "synthetic_ari_fcm": round(float(adjusted_rand_score(truth, lab_fcm)), 3),
    }
    from petroinfer.io.datasets import dataset_path

    if dataset_path("laterites") is not None:
        from petroinfer.io import load_dataset

        lat = load_dataset("laterites", download=False)
        els = ["Fe2O3", "Mn_ppm", "Cu_ppm", "Pb_ppm", "Zn_ppm", "Ni_ppm", "As_ppm", "Ga_ppm",
               "Nb_ppm", "Cr_ppm"]  # fmt: skip
        n0 = len(lat)
        lat = lat.dropna(subset=["LATITUDE", "LONGITUDE"]).reset_index()
        lat = lat.dropna(how="all", subset=els)
        lat.index = pd.RangeIndex(len(lat), name="row")
        kw.update(c="5", x_column="LONGITUDE", y_column="LATITUDE", lonlat=True,
                  columns=",".join(els), preprocessing="log-standardise", missing="pds",
                  duplicates="keep")  # fmt: skip
        s_lat = run_fcm(lat, method="sfcm", out=out / "fcm_laterites",
                        title="Laterites (Yilgarn, CSIRO-AGE): SFCM on 10 elements, c = 5",
                        **kw)  # fmt: skip
        result["laterites_samples"] = s_lat["samples"]
        result["laterites_dropped"] = n0 - len(lat)
        result["laterites_spatial_consistency"] = s_lat.get("spatial_consistency")
    return result
