"""Shared plumbing for every ``petroinfer`` command: options, error handling, output (DESIGN.md §5).

Every command takes ``--out DIR`` and ``--json``; bad input (:class:`~petroinfer.errors.InputError`,
:class:`~petroinfer.errors.ModelError`, a missing file) ends with a one-line message on stderr and exit
code 2, never a traceback.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Annotated, Any, TypeVar

import pandas as pd
import typer
from rich.console import Console
from rich.table import Table

from petroinfer.errors import PetroinferError
from petroinfer.inference.results import to_jsonable
from petroinfer.io._atomic import atomic_write

__all__ = [
    "JsonOpt",
    "OutOpt",
    "SchedulerOpt",
    "SeedOpt",
    "emit",
    "fail",
    "guard",
    "write_csv",
]

OutOpt = Annotated[
    Path | None,
    typer.Option("--out", "-o", help="Folder for results, figures and report.html (created)."),
]
JsonOpt = Annotated[
    bool, typer.Option("--json", help="Print a machine-readable JSON summary to stdout instead.")
]
SeedOpt = Annotated[int, typer.Option("--seed", help="Random seed (same seed, same result).")]
SchedulerOpt = Annotated[
    str | None,
    typer.Option(
        "--scheduler",
        envvar="PETROINFER_SCHEDULER",
        help="Dask scheduler address (tcp://host:8786); default: an embedded local cluster.",
    ),
]

F = TypeVar("F", bound=Callable[..., Any])

stderr = Console(stderr=True)
stdout = Console()


def fail(message: str, code: int = 2) -> None:
    """Print a one-line error and exit with ``code`` (2 = bad input)."""
    one_line = " ".join(str(message).split())
    stderr.print(f"[bold red]error:[/] {one_line}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def guard(func: F) -> F:
    """Decorator: turn petroinfer errors and unreadable inputs into ``fail(...)`` (exit 2)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except typer.Exit:
            raise
        except PetroinferError as exc:
            fail(str(exc))
        except FileNotFoundError as exc:
            fail(f"file not found: {exc.filename or exc}")
        except (IsADirectoryError, PermissionError) as exc:
            fail(f"cannot read {exc.filename}: {exc.strerror}")

    return wrapper  # type: ignore[return-value]


def write_csv(df: pd.DataFrame, path: Path, index: bool = True) -> Path:
    """Write a table atomically."""
    with atomic_write(path) as fh:
        df.to_csv(fh, index=index)
    return path


def emit(summary: Mapping[str, Any], *, json_out: bool, out: Path | None, title: str) -> None:
    """Finish a command: write ``summary.json`` into ``out`` and print the summary.

    With ``json_out`` the summary goes to stdout as JSON (nothing else is printed there); otherwise a
    short rich table is shown.
    """
    data = to_jsonable(dict(summary))
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        with atomic_write(out / "summary.json") as fh:
            json.dump(data, fh, indent=2)
    if json_out:
        sys.stdout.write(json.dumps(data, indent=2) + "\n")
        return
    table = Table(title=title, show_header=False)
    for key, value in data.items():
        text = json.dumps(value) if isinstance(value, dict | list) else str(value)
        if len(text) > 120:
            text = text[:117] + "..."
        table.add_row(str(key), text)
    stdout.print(table)
