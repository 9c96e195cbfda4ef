"""The ``petroinfer`` command line (Typer), commands grouped by domain (DESIGN.md §5).

``petroinfer <group> <command> INPUT [options] --out DIR``; the groups are listed in
:data:`GROUPS` (``"name": "module:attribute"`` of a :class:`typer.Typer`), so a new domain
(``imaging``, ``texture``) joins by adding one line. Command modules import only :mod:`typer`
at module level; the science is imported when a command runs, so ``petroinfer --help`` is fast.
No science lives here.
"""

from __future__ import annotations

import functools
import importlib
import os
import platform
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from petroinfer._version import __version__
from petroinfer.cli._common import JsonOpt, OutOpt, emit, guard, moved, set_debug

__all__ = ["ALIASES", "GROUPS", "app", "main"]

#: command groups: name -> ``"module:attribute"`` of their Typer app (order = order in ``--help``)
GROUPS: dict[str, str] = {
    "composition": "petroinfer.cli.composition:app",
    "thermo": "petroinfer.cli.thermobar:app",
    "gibbs": "petroinfer.cli.gibbs:app",
    "ptpath": "petroinfer.cli.ptpath:app",
    "geochem": "petroinfer.cli.geochem:app",
    "kinetics": "petroinfer.cli.kinetics:app",
    "diffusion": "petroinfer.cli.diffusion:app",
    "texture": "petroinfer.cli.texture:app",
    "imaging": "petroinfer.cli.imaging:app",
    "datasets": "petroinfer.cli.datasets:app",
}

#: sub-groups: ``(parent, name) -> "module:attribute"``
SUBGROUPS: dict[tuple[str, str], str] = {
    ("geochem", "discriminate"): "petroinfer.cli.discriminate:app",
}

#: old top-level names kept for one release (hidden): old -> new command path
ALIASES: dict[str, str] = {
    "thermobar": "thermo thermobar",
    "endmembers": "geochem endmembers",
    "cluster": "geochem cluster",
    "isocon": "geochem isocon",
    "discriminate": "geochem discriminate",
}


def _load(spec: str) -> Any:
    module, attr = spec.split(":")
    return getattr(importlib.import_module(module), attr)


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"petroinfer {__version__}")
        raise typer.Exit()


def _alias(func: Callable[..., Any], old: str, new: str) -> Callable[..., Any]:
    """The command ``func`` under its old name: says where it moved (stderr), then runs."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        moved(old, new)
        return func(*args, **kwargs)

    return wrapper


def _find_command(group: typer.Typer, name: str) -> Callable[..., Any]:
    for info in group.registered_commands:
        cmd_name = info.name or info.callback.__name__.replace("_", "-")
        if cmd_name == name:
            return info.callback
    raise LookupError(name)


def build_app() -> typer.Typer:
    """Assemble the ``petroinfer`` Typer app from :data:`GROUPS`, :data:`SUBGROUPS` and aliases."""
    root = typer.Typer(
        name="petroinfer",
        help="Data-driven petrology: P–T paths, chemistry and reaction dynamics with uncertainty.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )

    @root.callback()
    def _root(
        version: Annotated[
            bool,
            typer.Option(
                "--version",
                callback=_version_callback,
                is_eager=True,
                metavar="",
                help="Show the version.",
            ),
        ] = False,
        debug: Annotated[
            bool,
            typer.Option(
                "--debug",
                metavar="",
                help="Show the Python traceback of unexpected errors (or PETROINFER_DEBUG=1).",
            ),
        ] = False,
    ) -> None:
        """petroinfer command line."""
        set_debug(debug)

    groups = {name: _load(spec) for name, spec in GROUPS.items()}
    for (parent, name), spec in SUBGROUPS.items():
        groups[parent].add_typer(_load(spec), name=name)
    root.command("info")(info)
    root.command("demo")(_load("petroinfer.cli.demo:demo"))
    for name, group in groups.items():
        root.add_typer(group, name=name)
    for old, new in ALIASES.items():
        parent, *rest = new.split()
        target = groups[parent]
        if len(rest) == 1 and (parent, rest[0]) in SUBGROUPS:
            sub = _load(SUBGROUPS[(parent, rest[0])])
            alias = typer.Typer(help=f"Moved to `petroinfer {new}`.", no_args_is_help=True)
            for cmd in sub.registered_commands:
                cmd_name = cmd.name or cmd.callback.__name__.replace("_", "-")
                alias.command(cmd_name)(
                    _alias(cmd.callback, f"{old} {cmd_name}", f"{new} {cmd_name}")
                )
            root.add_typer(alias, name=old, hidden=True)
        else:
            root.command(old, hidden=True)(_alias(_find_command(target, rest[0]), old, new))
    return root


@guard
def info(out: OutOpt = None, json_out: JsonOpt = False) -> None:
    """Versions of petroinfer and its main dependencies, the data folder and the scheduler."""
    from importlib.metadata import PackageNotFoundError, version

    deps = {}
    for name in ("numpy", "scipy", "pandas", "scikit-learn", "xarray", "arviz", "dask", "pyrolite"):
        try:
            deps[name] = version(name)
        except PackageNotFoundError:
            deps[name] = "not installed"
    data_dir = os.environ.get("PETROINFER_DATA_DIR", "").strip()
    summary = {
        "petroinfer": __version__,
        "python": platform.python_version(),
        **deps,
        "data_dir": str(Path(data_dir).expanduser()) if data_dir else "(PETROINFER_DATA_DIR unset)",
        "scheduler": os.environ.get("PETROINFER_SCHEDULER", "embedded LocalCluster"),
    }
    emit(summary, json_out=json_out, out=out, title="petroinfer info")


app = build_app()


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
