"""``petroinfer datasets list|path|fetch``: manage the public-dataset registry."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from petroinfer.cli._common import JsonOpt, OutOpt, emit, guard
from petroinfer.errors import InputError

if TYPE_CHECKING:
    from petroinfer.report import Report

__all__ = ["app", "demo_section", "fetch_cmd", "list_cmd", "path_cmd"]

app = typer.Typer(help="Public datasets (pooch cache, PETROINFER_DATA_DIR).", no_args_is_help=True)

NameArg = Annotated[str, typer.Argument(help="Dataset name (see `petroinfer datasets list`).")]


@app.command("list")
@guard
def list_cmd(out: OutOpt = None, json_out: JsonOpt = False) -> None:
    """List registered datasets and whether each is available locally."""
    from petroinfer.io import datasets as ds

    table = ds.list_datasets()
    summary = {
        name: {"local_path": row.local_path or None, "citation": row.citation}
        for name, row in table.iterrows()
    }
    emit(summary, json_out=json_out, out=out, title="petroinfer datasets")


@app.command("path")
@guard
def path_cmd(name: NameArg, json_out: JsonOpt = False) -> None:
    """Print the local path of a dataset (exit 2 with instructions when it is absent)."""
    from petroinfer.io import datasets as ds

    path = ds.fetch(name, download=False)
    if json_out:
        emit({"name": name, "path": str(path)}, json_out=True, out=None, title=name)
    else:
        typer.echo(str(path))


@app.command("fetch")
@guard
def fetch_cmd(name: NameArg, out: OutOpt = None, json_out: JsonOpt = False) -> None:
    """Download a dataset into the cache (hash-checked) unless it is already available."""
    from petroinfer.io import datasets as ds

    path = ds.fetch(name)
    emit({"name": name, "path": str(path)}, json_out=json_out, out=out, title=f"fetched {name}")


def demo_section(report: Report, out: Path) -> dict:
    """Demo: summarise the locally available public datasets."""
    from petroinfer.io import datasets as ds

    sec = report.section("Public datasets")
    table = ds.list_datasets()
    sec.text(
        "Datasets registered in petroinfer (fetched with pooch and checked by SHA-256). "
        "Local copies are looked up first in PETROINFER_DATA_DIR."
    )
    sec.table(table[["description", "licence", "citation"]])
    missing = []
    for name in ds.REGISTRY:  # fetch what is absent (hash-checked); offline, say so and go on
        try:
            ds.fetch(name, timeout=10.0)
        except InputError as exc:
            missing.append(name)
            sec.text(f"Not available: {exc}")
    summary: dict[str, object] = {
        "available": [n for n in ds.REGISTRY if n not in missing],
        "missing": missing,
    }
    if ds.dataset_path("ueki2018_basalts") is not None:
        basalts = ds.load_ueki2018_basalts()
        counts = basalts["Class"].value_counts().rename("samples").to_frame()
        sec.table(counts, caption="Ueki et al. (2018) basalts per tectonic setting (IA/IOA fixed)")
        summary["ueki2018_rows"] = len(basalts)
    else:
        sec.text(
            "The Ueki (2018) basalt file is not available locally; run "
            "`petroinfer datasets fetch ueki2018_basalts`."
        )
    return summary
