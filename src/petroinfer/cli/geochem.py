"""``petroinfer geochem endmembers | cluster | isocon``: whole-rock multivariate analysis.

No science lives here: tables are read by :func:`petroinfer.io.read_table`, checked by
:func:`petroinfer.composition.validate_composition` and analysed by :mod:`petroinfer.geochem`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from petroinfer.cli._common import (
    JsonOpt,
    OutOpt,
    SchedulerOpt,
    SeedOpt,
    emit,
    guard,
    read_input,
    scheduler_context,
    write_csv,
)
from petroinfer.errors import InputError, ModelError

if TYPE_CHECKING:
    import pandas as pd

    from petroinfer.report import Report

__all__ = ["app", "cluster", "demo_section", "endmembers", "isocon"]

app = typer.Typer(
    help="Whole-rock and mineral chemistry: end-members, clusters, mass transfer, tectonic "
    "discrimination.",
    no_args_is_help=True,
)

#: composition-layer categories of the columns analysed by default (abundances)
_ABUNDANCE = frozenset({"oxide", "element", "ree"})


def _read(path: Path, *, id_column: str | None = None, keep: tuple[str, ...] = ()) -> pd.DataFrame:
    """Read and check a composition table (names, numbers, signs, ids); ``keep``: metadata columns.

    Text columns whose names are not compositional are metadata and pass unchecked; any other
    unknown column (``Mg0``) is refused with the nearest known name.
    """
    from petroinfer.composition import name_category, validate_composition

    df = read_input(path, id_column=id_column)
    ignore = [
        c
        for c in df.columns
        if c in keep or (df[c].dtype == object and name_category(str(c)) in (None, "metadata"))
    ]
    validate_composition(df, totals=None, ignore=ignore)
    return df


def _abundance_columns(columns: Any) -> list[str]:
    from petroinfer.composition import name_category, parse_column

    return [
        str(c)
        for c in columns
        if name_category(str(c)) in _ABUNDANCE and parse_column(str(c)).unit != "apfu"
    ]


def _select(
    df: pd.DataFrame, columns: str | None, missing: str
) -> tuple[pd.DataFrame, dict[str, Any]]:
    import numpy as np
    import pandas as pd

    if missing not in ("error", "drop", "zero"):
        raise ModelError(f"--missing must be error, drop or zero, got {missing!r}")
    if columns:
        cols = [c.strip() for c in columns.split(",")]
        for c in cols:
            if c not in df.columns:
                raise InputError("column not found in the table", column=c)
    else:
        cols = _abundance_columns(df.columns)
        if not cols:
            raise InputError(
                "no abundance columns recognised (oxides wt%, elements ppm); use --columns"
            )
    X = df[cols].apply(pd.to_numeric, errors="coerce")
    bad = X.isna() & df[cols].notna()
    if bad.any().any():
        i, j = np.argwhere(bad.to_numpy())[0]
        raise InputError(
            "non-numeric cell", column=cols[j], row=df.index[i], value=df[cols].iat[i, j]
        )
    finite = np.isfinite(X.to_numpy()) | X.isna().to_numpy()
    if not finite.all():
        i, j = np.argwhere(~finite)[0]
        raise InputError("infinite value", column=cols[j], row=X.index[i], value=X.iat[i, j])
    info: dict[str, Any] = {
        "columns": cols,
        "excluded_columns": [c for c in df.columns if c not in cols],
    }
    rows = X.isna().any(axis=1)
    if rows.any():
        if missing == "drop":
            info["dropped_rows"] = int(rows.sum())
            info["dropped_row_ids"] = [str(i) for i in X.index[rows][:50]]
            X = X.loc[~rows]
        elif missing == "zero":
            info["zero_filled_cells"] = int(X.isna().sum().sum())
            X = X.fillna(0.0)
        else:
            i, j = np.argwhere(X.isna().to_numpy())[0]
            raise InputError(
                "empty cell (use --missing drop or --missing zero to allow it)",
                column=cols[j],
                row=X.index[i],
            )
    return X, info


def _fig_save(fig, out: Path | None, name: str, section, caption: str | None = None) -> None:
    caption = caption or name
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        fig.savefig(out / name, dpi=110, bbox_inches="tight")
    section.figure(fig, caption=caption)


def _finish(
    summary: dict[str, Any],
    info: dict[str, Any],
    report: Report,
    *,
    out: Path | None,
    json_out: bool,
    title: str,
) -> None:
    """End a command: add the column-selection ``info``, save ``report.html`` into ``out``, emit."""
    import matplotlib.pyplot as plt

    plt.close("all")
    summary.update(info)
    if out is not None:
        summary["report"] = str(report.save(out / "report.html"))
    emit(summary, json_out=json_out, out=out, title=title)


ColsOpt = typer.Option(
    None, "--columns", help="Comma-separated columns (default: all abundance columns)."
)
MissingOpt = typer.Option("error", "--missing", help="Rows with empty cells: error | drop | zero.")


def run_endmembers(
    X: pd.DataFrame,
    *,
    k: str,
    loss: str,
    restarts: int,
    bootstrap: int,
    seed: int,
    n_jobs: int | None,
    out: Path | None,
    report: Report,
    title: str,
) -> dict[str, Any]:
    import matplotlib.pyplot as plt

    from petroinfer.geochem import EndmemberNMF

    n_comp: Any = "auto" if k == "auto" else int(k)
    m = EndmemberNMF(
        n_components=n_comp,
        loss=loss,
        n_restarts=restarts,
        n_bootstrap=bootstrap,
        n_jobs=n_jobs,
        random_state=seed,
    ).fit(X)
    res = m.result_
    sec = report.section(title)
    sec.text(
        f"NMF ({loss} loss, column-mean scaling) chose K = {m.n_components_}: "
        f"{res.hyperparameters['k_rule']}."
    )
    sec.table(m.k_selection_.reset_index(), caption="K selection curves")
    sec.table(m.endmembers_, caption="End-members (input units, closed to 100 wt%)")
    fig, ax = plt.subplots(figsize=(7, 3.5))
    res.plot(ax=ax)
    _fig_save(fig, out, "endmembers.png", sec, "End-member compositions with bootstrap ranges")
    fig, axes = plt.subplots(1, 3, figsize=(10, 3))
    res.plot_k_selection(axes)
    fig.tight_layout()
    _fig_save(fig, out, "k_selection.png", sec, "Criteria for the number of end-members K")
    P = m.proportions_
    fig, ax = plt.subplots(figsize=(4.5, 4))
    a, b = P.columns[0], P.columns[min(1, P.shape[1] - 1)]
    if P.shape[1] > 2:
        sc = ax.scatter(P[a], P[b], c=P[P.columns[-1]], s=8, cmap="viridis")
    else:
        sc = ax.scatter(P[a], P[b], s=8)
    ax.set_xlabel(f"{a} fraction")
    ax.set_ylabel(f"{b} fraction")
    if P.shape[1] > 2:
        fig.colorbar(sc, ax=ax, label=f"{P.columns[-1]} fraction")
    _fig_save(fig, out, "mixing.png", sec, "Mass fractions of the end-members per sample")
    if out is not None:
        write_csv(m.endmembers_, out / "endmembers.csv")
        write_csv(P, out / "proportions.csv")
        write_csv(m.k_selection_, out / "k_selection.csv")
        if m.endmembers_lower_ is not None:
            write_csv(m.endmembers_lower_, out / "endmembers_lower.csv")
            write_csv(m.endmembers_upper_, out / "endmembers_upper.csv")
        res.to_netcdf(out / "endmembers.nc")
    return {
        "n_samples": len(X),
        "n_endmembers": m.n_components_,
        "loss": loss,
        "k_rule": res.hyperparameters["k_rule"],
        "stability_at_k": float(m.k_selection_.loc[m.n_components_, "stability"]),
    }


@app.command("endmembers")
@guard
def endmembers(
    file: Path = typer.Argument(..., help="CSV/XLSX table, one sample per row."),
    k: str = typer.Option("auto", "--k", help="Number of end-members or 'auto'."),
    loss: str = typer.Option("kl", "--loss", help="kl | frobenius"),
    restarts: int = typer.Option(50, "--restarts", help="Random restarts per K."),
    bootstrap: int = typer.Option(100, "--bootstrap", help="Bootstrap resamples (0 = none)."),
    columns: str | None = ColsOpt,
    missing: str = MissingOpt,
    n_jobs: int | None = typer.Option(None, "--n-jobs", help="Parallel workers (-1 = all cores)."),
    scheduler: SchedulerOpt = None,
    seed: SeedOpt = 0,
    out: OutOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """NMF end-members with K chosen from the data (Yoshida et al. 2018 [R])."""
    from petroinfer.report import Report

    if loss not in ("kl", "frobenius"):
        raise ModelError(f"--loss must be kl or frobenius, got {loss!r}")
    X, info = _select(_read(file), columns, missing)
    report = Report("petroinfer geochem endmembers", inputs=[file], seed=seed)
    with scheduler_context(scheduler):
        summary = run_endmembers(
            X,
            k=k,
            loss=loss,
            restarts=restarts,
            bootstrap=bootstrap,
            seed=seed,
            n_jobs=n_jobs,
            out=out,
            report=report,
            title="NMF end-members",
        )
    _finish(
        summary, info, report, out=out, json_out=json_out, title="petroinfer geochem endmembers"
    )


def run_cluster(
    X: pd.DataFrame,
    *,
    k: str,
    scaling: str,
    criterion: str,
    seed: int,
    meta: pd.Series | None,
    out: Path | None,
    report: Report,
    title: str,
    n_init: int = 20,
    proportions: pd.DataFrame | None = None,
) -> dict[str, Any]:
    import matplotlib.pyplot as plt
    import numpy as np
    import pandas as pd

    from petroinfer.geochem import KMeansCluster, crosstab_clusters, kca_direction_diagnostic
    from petroinfer.geochem.components import centred_pca_scores

    km = KMeansCluster(
        n_clusters="auto" if k == "auto" else int(k),
        scaling=scaling,
        criterion=criterion,
        n_init=n_init,
        random_state=seed,
    ).fit(X)
    sec = report.section(title)
    sec.text(
        f"k-means on {scaling} data, K = {km.n_clusters_} by {criterion} (all criteria shown)."
    )
    sec.table(
        km.k_selection_.reset_index(), caption="K selection: silhouette (max), gap, BIC (min)"
    )
    sec.table(km.centroids_, caption="Cluster centroids (input units)")
    diag = (
        kca_direction_diagnostic(
            X,
            km.n_clusters_,
            scaling=scaling if scaling != "none" else "standardise",
            n_init=10,
            random_state=seed,
        )
        if km.n_clusters_ >= 2
        else None
    )
    T = centred_pca_scores(km.transform(X), n_components=2).to_numpy()
    fig, ax = plt.subplots(figsize=(4.8, 4.2))
    ax.scatter(T[:, 0], T[:, 1], c=km.labels_, s=6, cmap="tab10")
    ax.set_xlabel("PC1 of analysed space")
    ax.set_ylabel("PC2 of analysed space")
    ax.set_title(f"clusters ({scaling})")
    _fig_save(
        fig, out, "clusters_pc.png", sec, "Samples on the first two PCs of the analysed space"
    )
    summary: dict[str, Any] = {
        "n_samples": len(X),
        "n_clusters": km.n_clusters_,
        "scaling": scaling,
        "criterion": criterion,
        "cluster_sizes": np.bincount(km.labels_).tolist(),
    }
    if diag is not None:
        summary["subspace_angle_to_pcs_deg"] = round(diag["subspace_angle_pc"], 2)
        summary["mean_angle_to_ics_deg"] = round(diag["mean_angle_to_ic"], 2)
        summary["mean_angle_to_pcs_deg"] = round(diag["mean_angle_to_pc"], 2)
        sec.mapping(
            {
                k: summary[k]
                for k in (
                    "subspace_angle_to_pcs_deg",
                    "mean_angle_to_ics_deg",
                    "mean_angle_to_pcs_deg",
                )
            },
            caption="Iwamori (2017) diagnostic: k-means centroid directions vs PCs / ICs",
        )
    if proportions is not None:
        from petroinfer.geochem import assign_clusters_to_endmembers

        if len(proportions) != len(X):
            raise InputError(
                f"the proportions table has {len(proportions)} rows but {len(X)} samples were "
                "clustered",
                value=len(proportions),
            )
        assign = assign_clusters_to_endmembers(km.labels_, proportions.select_dtypes("number"))
        sec.table(assign, caption="Mean NMF mass fractions per cluster and dominant end-member")
        summary["cluster_dominant_endmember"] = assign["dominant_endmember"].to_dict()
        if out is not None:
            write_csv(assign, out / "cluster_endmembers.csv")
    if meta is not None:
        tab = crosstab_clusters(km.labels_, meta)
        sec.table(tab, caption=f"Clusters × {meta.name}")
        if out is not None:
            write_csv(tab, out / "crosstab.csv")
    if out is not None:
        write_csv(pd.DataFrame({"cluster": km.labels_}, index=X.index), out / "labels.csv")
        write_csv(km.k_selection_, out / "k_selection.csv")
        write_csv(km.centroids_, out / "centroids.csv")
    return summary


@app.command("cluster")
@guard
def cluster(
    file: Path = typer.Argument(..., help="CSV/XLSX table, one sample per row."),
    k: str = typer.Option("auto", "--k", help="Number of clusters or 'auto'."),
    scaling: str = typer.Option("standardise", "--scaling", help="standardise | whiten | none"),
    criterion: str = typer.Option("silhouette", "--criterion", help="silhouette | gap | bic"),
    columns: str | None = ColsOpt,
    by: str | None = typer.Option(None, "--by", help="Metadata column to cross-tabulate against."),
    proportions: Path | None = typer.Option(
        None,
        "--proportions",
        help="proportions.csv from `petroinfer geochem endmembers` (same samples): assign each cluster to "
        "its dominant NMF end-member.",
    ),
    missing: str = MissingOpt,
    seed: SeedOpt = 0,
    out: OutOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """k-means cluster analysis on standardised or whitened data (Iwamori et al. 2017)."""
    from petroinfer.report import Report

    df = _read(file, keep=(by,) if by else ())
    X, info = _select(df, columns, missing)
    meta = None
    if by is not None:
        if by not in df.columns:
            raise InputError("--by column not found", column=by)
        meta = df.loc[X.index, by].rename(by)
    report = Report(
        "petroinfer geochem cluster",
        inputs=[file, *([proportions] if proportions else [])],
        seed=seed,
    )
    summary = run_cluster(
        X,
        k=k,
        scaling=scaling,
        criterion=criterion,
        seed=seed,
        meta=meta,
        out=out,
        report=report,
        title="k-means cluster analysis",
        proportions=None if proportions is None else read_input(proportions, normalise=False),
    )
    _finish(summary, info, report, out=out, json_out=json_out, title="petroinfer geochem cluster")


def run_isocon(
    df: pd.DataFrame,
    *,
    protolith: str,
    id_column: str,
    immobile: str | None,
    seed: int,
    bootstrap: int,
    out: Path | None,
    report: Report,
    title: str,
) -> dict[str, Any]:
    import matplotlib.pyplot as plt
    import numpy as np

    from petroinfer.geochem import SparseIsocon, classic_isocon

    res = SparseIsocon(n_bootstrap=bootstrap, random_state=seed).fit(
        df, protolith, id_column=id_column
    )
    sec = report.section(title)
    sec.text(f"Sparse isocon selected the immobile set {res.immobile} without assuming it.")
    mt = res.mass_table()
    sec.table(mt, caption="Mass ratio M_A/M_O with 95 % bootstrap interval")
    sec.table(res.change_table(), caption="Relative change Δm/(M_O C_O) per element")
    fig, ax = plt.subplots(figsize=(4.8, 4.5))
    res.plot(ax=ax)
    _fig_save(fig, out, "isocon.png", sec, "Isocon diagram: altered vs protolith concentrations")
    fig, ax = plt.subplots(figsize=(5, 3))
    x = np.arange(len(mt))
    ax.errorbar(
        x,
        mt["mass_ratio"],
        yerr=[
            mt["mass_ratio"] - mt.get("mass_ratio_lower", mt["mass_ratio"]),
            mt.get("mass_ratio_upper", mt["mass_ratio"]) - mt["mass_ratio"],
        ],
        fmt="o",
    )
    ax.set_xticks(x, mt.index, rotation=60)
    ax.set_xlabel("altered sample")
    ax.set_ylabel("M_A / M_O")
    _fig_save(
        fig, out, "mass_ratio.png", sec, "Mass ratio M_A/M_O per altered sample (95 % interval)"
    )
    summary: dict[str, Any] = {
        "protolith": protolith,
        "n_altered": len(mt),
        "immobile_selected": res.immobile,
        "mass_ratio": {k: round(float(v), 4) for k, v in mt["mass_ratio"].items()},
    }
    if immobile:
        c = classic_isocon(
            df,
            protolith,
            immobile.split(","),
            id_column=id_column,
            n_bootstrap=bootstrap,
            random_state=seed,
        )
        cm = c.mass_table()
        sec.table(cm, caption=f"Classic isocon through {c.immobile}")
        summary["classic_immobile"] = c.immobile
        summary["classic_mass_ratio"] = {k: round(float(v), 4) for k, v in cm["mass_ratio"].items()}
        if out is not None:
            write_csv(cm, out / "classic_mass_ratio.csv")
            write_csv(c.change_table(), out / "classic_relative_change.csv")
    if out is not None:
        write_csv(mt, out / "mass_ratio.csv")
        write_csv(res.change_table(), out / "relative_change.csv")
        res.to_netcdf(out / "isocon.nc")
    return summary


@app.command("isocon")
@guard
def isocon(
    file: Path = typer.Argument(..., help="CSV/XLSX: protolith and altered samples, one per row."),
    protolith: str = typer.Option(..., "--protolith", help="Sample id of the protolith row."),
    immobile: str | None = typer.Option(
        None, "--immobile", help="Also run a classic isocon: Ti,Zr,Al"
    ),
    id_column: str | None = typer.Option(
        None, "--id-column", help="Sample-id column (default: first)."
    ),
    columns: str | None = ColsOpt,
    bootstrap: int = typer.Option(200, "--bootstrap", help="Bootstrap replicates."),
    seed: SeedOpt = 0,
    out: OutOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Sparse isocon mass transfer (Kuwatani et al. 2020 [R]); classic isocon with --immobile."""
    import pandas as pd

    from petroinfer.report import Report

    df = _read(file, id_column=id_column)
    idc = str(df.attrs.get("id_column") or df.index.name or "sample")
    ids = pd.Series(df.index.map(str), index=df.index, name=idc)
    if protolith not in set(ids):
        raise InputError(
            f"protolith id not found in the id column (ids: {', '.join(ids.iloc[:8])}"
            f"{', …' if len(ids) > 8 else ''})",
            column=idc,
            value=protolith,
        )
    X, info = _select(df, columns, "error")
    table = pd.concat([ids, X], axis=1).reset_index(drop=True)
    report = Report("petroinfer geochem isocon", inputs=[file], seed=seed)
    summary = run_isocon(
        table,
        protolith=protolith,
        id_column=idc,
        immobile=immobile,
        seed=seed,
        bootstrap=bootstrap,
        out=out,
        report=report,
        title="Isocon mass transfer",
    )
    _finish(summary, info, report, out=out, json_out=json_out, title="petroinfer geochem isocon")


def demo_section(report: Report, out: Path) -> dict[str, Any]:
    """NMF end-members, KCA standardise vs whiten, and sparse isocon on synthetic truth (< 60 s)."""
    import pandas as pd

    from petroinfer.geochem.synthetic import (
        make_alteration,
        make_endmember_mixtures,
        make_latent_sources,
    )

    out.mkdir(parents=True, exist_ok=True)
    mix = make_endmember_mixtures(300, random_state=0)
    s1 = run_endmembers(
        mix.data,
        k="auto",
        loss="kl",
        restarts=50,
        bootstrap=30,
        seed=0,
        n_jobs=None,
        out=out / "endmembers",
        report=report,
        title="Whole-rock end-members (NMF, synthetic metapelites, truth K = 4)",
    )
    ls = make_latent_sources(600, random_state=0)
    meta = pd.Series(ls.groups, name="true_group")
    s2 = run_cluster(
        ls.data,
        k="4",
        scaling="whiten",
        criterion="silhouette",
        seed=0,
        meta=meta,
        out=out / "cluster",
        report=report,
        n_init=10,
        title="k-means on whitened data (two bimodal sources + Gaussian)",
    )
    alt = make_alteration(10, protolith_noise=0.01, random_state=0)
    s3 = run_isocon(
        alt.data,
        protolith="P0",
        id_column="sample_id",
        immobile="Ti,Al,Zr,Nb",
        seed=0,
        bootstrap=100,
        out=out / "isocon",
        report=report,
        title="Sparse isocon (synthetic alteration, 4 of 15 elements immobile)",
    )
    return {
        "nmf_k": s1["n_endmembers"],
        "kca_angle_to_ics": s2.get("mean_angle_to_ics_deg"),
        "isocon_immobile": s3["immobile_selected"],
        "isocon_truth": alt.immobile,
    }


# ``geochem melting`` (issue 20) lives in its own module; registered here.
from petroinfer.cli import melting as _melting_cli  # noqa: E402

app.command("melting")(_melting_cli.melting)

# ``geochem fcm`` (issue 16) lives in its own module; registered here.
from petroinfer.cli import fuzzy as _fuzzy_cli  # noqa: E402

app.command("fcm")(_fuzzy_cli.fcm)
