"""The ``petroinfer`` command line (Typer). One module per command group; no science lives here."""

from __future__ import annotations

import os
import platform

import typer

from petroinfer._version import __version__
from petroinfer.cli import composition, datasets, geochem
from petroinfer.cli import discriminate as discriminate_cli
from petroinfer.cli import kinetics as kinetics_cli
from petroinfer.cli import ptpath as ptpath_cli
from petroinfer.cli import thermobar as thermobar_cli
from petroinfer.cli._common import JsonOpt, OutOpt, emit, guard
from petroinfer.cli.demo import demo

app = typer.Typer(
    name="petroinfer",
    help="Data-driven petrology: P–T paths, chemistry and reaction dynamics with uncertainty.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"petroinfer {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version_callback, is_eager=True, help="Show the version."
    ),
) -> None:
    """petroinfer command line."""


@app.command()
@guard
def info(out: OutOpt = None, json_out: JsonOpt = False) -> None:
    """Versions of petroinfer and its main dependencies, the data folder and the scheduler."""
    from importlib.metadata import PackageNotFoundError, version

    from petroinfer.io.datasets import data_dir

    deps = {}
    for name in ("numpy", "scipy", "pandas", "scikit-learn", "xarray", "arviz", "dask", "pyrolite"):
        try:
            deps[name] = version(name)
        except PackageNotFoundError:
            deps[name] = "not installed"
    summary = {
        "petroinfer": __version__,
        "python": platform.python_version(),
        **deps,
        "data_dir": str(data_dir() or "(PETROINFER_DATA_DIR unset)"),
        "scheduler": os.environ.get("PETROINFER_SCHEDULER", "embedded LocalCluster"),
    }
    emit(summary, json_out=json_out, out=out, title="petroinfer info")


app.command("demo")(demo)
app.add_typer(datasets.app, name="datasets")
app.add_typer(composition.app, name="composition")
app.add_typer(kinetics_cli.app, name="kinetics")
app.command("endmembers")(geochem.endmembers)
app.command("cluster")(geochem.cluster)
app.command("isocon")(geochem.isocon)
app.add_typer(discriminate_cli.app, name="discriminate")
app.command("thermobar")(thermobar_cli.thermobar)
app.add_typer(ptpath_cli.app, name="ptpath")


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":  # pragma: no cover
    main()

__all__ = ["app", "main"]
