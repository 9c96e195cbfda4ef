"""Shared plumbing for every ``petroinfer`` command: options, errors, staged output (DESIGN.md §5).

Every command takes ``--out DIR`` and ``--json``. This module is imported when the command line
starts, so it imports only :mod:`typer`/:mod:`rich`; numpy, pandas and the science packages are
imported inside the functions that need them (``petroinfer --help`` starts in a fraction of a second).

Errors
    :class:`~petroinfer.errors.PetroinferError` (bad input, bad option), a missing or unreadable
    file and an unusable ``--out`` end with one line ``error: …`` on stderr and exit code 2, never a
    traceback. Any other exception ends with one line and exit code 1; ``petroinfer --debug …`` or
    ``PETROINFER_DEBUG=1`` shows the traceback instead.

Output policy (``--out DIR``)
    A command writes all its files into a staging folder next to ``DIR`` (``.DIR.staging-…``).
    Only when the command has finished are the files moved into ``DIR``: a command's outputs appear
    together or not at all, and a failure removes the staging folder. ``DIR`` is created if needed;
    if it already exists, files of the same name are replaced (each one atomically, by rename) and
    other files in it are left alone. ``DIR`` naming an existing file, or a folder that cannot be
    written, is refused before any work is done.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import json
import math
import os
import shutil
import sys
import tempfile
import warnings
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from petroinfer.errors import InputError, PetroinferError

__all__ = [
    "DEBUG_ENV",
    "JsonOpt",
    "OutOpt",
    "SchedulerOpt",
    "SeedOpt",
    "emit",
    "exit_code_after",
    "fail",
    "fmt_number",
    "guard",
    "moved",
    "read_input",
    "scheduler_context",
    "set_debug",
    "write_csv",
]

DEBUG_ENV = "PETROINFER_DEBUG"

OutOpt = Annotated[
    Path | None,
    typer.Option(
        "--out",
        "-o",
        help="Folder for results, figures and report.html (created; same-named files are "
        "replaced, all outputs appear together at the end).",
    ),
]
JsonOpt = Annotated[
    bool,
    typer.Option("--json", metavar="", help="Print a machine-readable JSON summary instead."),
]
SeedOpt = Annotated[int, typer.Option("--seed", help="Random seed (same seed, same result).")]
SchedulerOpt = Annotated[
    str | None,
    typer.Option(
        "--scheduler",
        envvar="PETROINFER_SCHEDULER",
        help="Dask scheduler address (tcp://host:8786); default: local workers.",
    ),
]

F = TypeVar("F", bound=Callable[..., Any])

_DEBUG: contextvars.ContextVar[bool] = contextvars.ContextVar("petroinfer_debug", default=False)

#: the staged output of the running command: ``{"staging": Path, "final": Path, "pending": [...]}``
_RUN: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar(
    "petroinfer_cli_run", default=None
)


def _console(stderr: bool = False):
    from rich.console import Console

    return Console(stderr=stderr, soft_wrap=True)


def fail(message: str, code: int = 2) -> None:
    """Print a one-line ``error: …`` on stderr and exit with ``code`` (2 = bad input)."""
    from rich.markup import escape

    one_line = " ".join(str(message).split())
    _console(stderr=True).print(f"[bold red]error:[/] {escape(one_line)}", highlight=False)
    raise typer.Exit(code)


def moved(old: str, new: str) -> None:
    """Tell (on stderr) that ``petroinfer OLD`` is now ``petroinfer NEW`` (hidden aliases)."""
    _console(stderr=True).print(
        f"[yellow]note:[/] `petroinfer {old}` has moved to `petroinfer {new}`; the old name "
        "will be removed in the next release.",
        highlight=False,
    )


def set_debug(value: bool) -> None:
    """Show tracebacks of unexpected errors in this run (``petroinfer --debug``)."""
    _DEBUG.set(bool(value))


def _debug() -> bool:
    return _DEBUG.get() or os.environ.get(DEBUG_ENV, "").strip() not in ("", "0")


def _check_out(out: Path) -> None:
    """Refuse an ``--out`` that names a file or a folder that cannot be written (before any work)."""
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {str(out)!r} is an existing file, not a folder")
    probe = out if out.exists() else out.parent
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not probe.is_dir():
        raise InputError(f"--out {str(out)!r}: {str(probe)!r} is a file, not a folder")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise InputError(f"--out {str(out)!r}: the folder {str(probe)!r} is not writable")


def _commit(staging: Path, final: Path) -> None:
    """Move every file of ``staging`` into ``final`` (same-named files replaced by rename)."""
    if not final.exists():
        os.replace(staging, final)
        return
    for src in sorted(staging.rglob("*")):
        dst = final / src.relative_to(staging)
        if src.is_dir():
            if dst.exists() and not dst.is_dir():
                raise InputError(f"cannot write {str(dst)!r}: a file of that name is in the way")
            dst.mkdir(exist_ok=True)
        else:
            os.replace(src, dst)
    shutil.rmtree(staging, ignore_errors=True)


def exit_code_after(code: int) -> None:
    """Let the running command finish (outputs committed, summary printed), then exit with ``code``."""
    run = _RUN.get()
    if run is None:
        raise RuntimeError("exit_code_after() is only valid inside a guarded command")
    run["status"]["code"] = code


@contextlib.contextmanager
def _staged(out: Path | None, status: dict[str, int]) -> Iterator[Path | None]:
    """Yield the folder a command writes into (a staging folder next to ``out``)."""
    if out is None:
        token = _RUN.set({"staging": None, "final": None, "pending": [], "status": status})
        try:
            yield None
        finally:
            _RUN.reset(token)
        return
    out = Path(out)
    _check_out(out)
    where = out.resolve()  # "." and "dir/.." have no usable name/parent of their own
    where.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{where.name}.staging-", dir=where.parent))
    os.chmod(staging, 0o777 & ~_umask())
    run = {"staging": staging, "final": out, "pending": [], "status": status}
    token = _RUN.set(run)
    try:
        yield staging
        _commit(staging, where)
    finally:
        _RUN.reset(token)
        shutil.rmtree(staging, ignore_errors=True)
    for action in run["pending"]:
        action()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _handle(exc: BaseException) -> None:
    """Turn an exception into one line and an exit code (2: bad input, 1: unexpected)."""
    if isinstance(exc, PetroinferError):
        fail(str(exc))
    if isinstance(exc, FileNotFoundError):
        fail(f"file not found: {exc.filename or exc}")
    if isinstance(exc, IsADirectoryError | PermissionError | NotADirectoryError):
        fail(f"cannot access {exc.filename}: {exc.strerror}")
    if isinstance(exc, KeyboardInterrupt):
        fail("interrupted", code=130)
    if _debug():
        raise exc
    fail(
        f"unexpected {type(exc).__name__}: {exc} (run `petroinfer --debug …` for the traceback)",
        code=1,
    )


def _show_warnings(caught: list[warnings.WarningMessage]) -> None:
    """Each distinct warning once, on one line of stderr (no source lines)."""
    from rich.markup import escape

    seen: set[str] = set()
    console = _console(stderr=True)
    for w in caught:
        text = f"{w.category.__name__}: {' '.join(str(w.message).split())}"
        if text in seen or issubclass(w.category, DeprecationWarning | PendingDeprecationWarning):
            continue
        seen.add(text)
        console.print(f"[yellow]warning:[/] {escape(text)}", highlight=False)


def guard(func: F) -> F:
    """Decorator for every command: staged ``--out`` and one-line errors with exit codes 2/1.

    The ``out`` argument the command receives is the staging folder; printed paths name the final
    folder (see the module docstring).
    """

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        status = {"code": 0}
        caught: list[warnings.WarningMessage] = []
        try:
            out = kwargs.get("out")
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("default")
                with _staged(out, status) as staging:
                    if out is not None:
                        kwargs["out"] = staging
                    result = func(*args, **kwargs)
        except (typer.Exit, typer.Abort, typer.BadParameter, SystemExit):
            _show_warnings(caught)
            raise
        except BaseException as exc:  # every failure becomes one line
            _handle(exc)
        _show_warnings(caught)
        if status["code"]:
            raise typer.Exit(status["code"])
        return result

    return wrapper  # type: ignore[return-value]


def read_input(path: Path, **kwargs: Any):
    """Read an input table with :func:`petroinfer.io.read_table` (the one reader of every command)."""
    from petroinfer.io import read_table

    return read_table(path, **kwargs)


def write_csv(df: Any, path: Path, index: bool = True) -> Path:
    """Write a table atomically."""
    from petroinfer.io import atomic_write

    with atomic_write(path) as fh:
        df.to_csv(fh, index=index)
    return path


@contextlib.contextmanager
def scheduler_context(scheduler: str | None) -> Iterator[None]:
    """Run joblib-parallel work on the Dask scheduler ``scheduler`` (if given).

    An unreachable scheduler raises :class:`~petroinfer.errors.InputError` (exit 2) before any
    work starts; without a scheduler the block runs on local workers.
    """
    from petroinfer.parallel import SCHEDULER_ENV, get_client

    address = scheduler or os.environ.get(SCHEDULER_ENV, "").strip() or None
    if address is None:
        yield
        return
    import joblib

    with get_client(address, timeout=10.0), joblib.parallel_config(backend="dask"):
        yield


def fmt_number(value: Any) -> str:
    """A number as a person reads it: 4 significant digits, no float noise (``761.1986`` → ``761.2``)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if not math.isfinite(value):
        return str(value)
    if value == 0:
        return "0"
    digits = max(4, math.floor(math.log10(abs(value))) + 1)
    text = f"{value:.{digits}g}" if abs(value) >= 1e-3 and abs(value) < 1e7 else f"{value:.4g}"
    return text


def _rounded(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _rounded(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_rounded(v) for v in obj]
    return fmt_number(obj) if isinstance(obj, float) else obj


def _display(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_display(v)}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(_display(v) for v in value) if value else "(none)"
    return fmt_number(value) if isinstance(value, int | float) else str(value)


def _replace_paths(obj: Any, old: str, new: str) -> Any:
    if isinstance(obj, dict):
        return {k: _replace_paths(v, old, new) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_replace_paths(v, old, new) for v in obj]
    if isinstance(obj, str) and old in obj:
        return obj.replace(old, new)
    return obj


def _jsonable(obj: Any) -> Any:
    """Plain JSON types; numpy/pandas objects can only exist once numpy is imported."""
    if "numpy" in sys.modules:
        from petroinfer.inference.results import to_jsonable

        return to_jsonable(obj)
    if isinstance(obj, Mapping):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple | set):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    if isinstance(obj, float) and not math.isfinite(obj):
        return None if math.isnan(obj) else math.copysign(1e308, obj)
    return obj if isinstance(obj, str | int | float | bool) or obj is None else repr(obj)


def emit(summary: Mapping[str, Any], *, json_out: bool, out: Path | None, title: str) -> None:
    """Finish a command: write ``summary.json`` into ``out`` and print the summary.

    With ``json_out`` the summary goes to stdout as JSON (nothing else is printed there); otherwise a
    table with every value in full (numbers to 4 significant digits) is shown. Inside a staged
    command the summary is printed after the outputs have been moved into place.
    """
    data = _jsonable(dict(summary))
    run = _RUN.get()
    if run is not None and run["staging"] is not None:
        data = _replace_paths(data, str(run["staging"]), str(run["final"]))
    if out is not None:
        from petroinfer.io import atomic_write

        with atomic_write(Path(out) / "summary.json") as fh:
            json.dump(data, fh, indent=2)

    def show() -> None:
        if json_out:
            sys.stdout.write(json.dumps(data, indent=2) + "\n")
            return
        from rich.markup import escape
        from rich.table import Table

        table = Table(title=escape(title), show_header=False)
        table.add_column("key", overflow="fold")
        table.add_column("value", overflow="fold")
        for key, value in data.items():
            table.add_row(escape(str(key)), escape(_display(value)))
        _console().print(table)

    if run is not None and run["staging"] is not None:
        run["pending"].append(show)
    else:
        show()


def read_yaml_spec(spec: Path) -> dict[str, Any]:
    """A specification file (``SPEC.yaml``) as a mapping; a missing, unreadable or non-mapping file
    is bad input (the guard turns it into exit 2 with one line naming the file)."""
    import yaml

    if not spec.is_file():
        raise FileNotFoundError(2, "No such file", str(spec))
    try:
        raw = yaml.safe_load(spec.read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read {spec} as YAML: {' '.join(str(exc).split())}") from None
    if not isinstance(raw, dict):
        raise InputError(f"{spec} must contain a YAML mapping")
    return raw
