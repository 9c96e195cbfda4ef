"""Atomic file output: write to a temporary file in the target folder, then rename (DESIGN.md §4).

The finished file gets the permissions any other new file of the user would get (``0o666`` minus
the process umask), not the ``0o600`` of :func:`tempfile.mkstemp`; errors name the target file,
never the hidden temporary one.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

__all__ = ["atomic_path", "atomic_write", "current_umask"]


def current_umask() -> int:
    """The process umask, read without changing it where the OS allows.

    Returns
    -------
    int
        E.g. ``0o022``. On Linux it is read from ``/proc/self/status``; elsewhere it is read with
        the classic ``os.umask`` set-and-restore (not thread-safe, but instantaneous).

    Examples
    --------
    >>> 0 <= current_umask() <= 0o777
    True
    """
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _retarget(exc: OSError, tmp: Path, target: Path) -> OSError:
    """The same error, naming ``target`` instead of the temporary file."""
    if exc.filename is not None and str(exc.filename) == str(tmp):
        return type(exc)(exc.errno, exc.strerror or str(exc), str(target))
    return exc


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on success it is renamed onto ``path``.

    Use it with writers that want a file name (``xarray.Dataset.to_netcdf``, ``Figure.savefig``).

    Parameters
    ----------
    path : str or path-like
        Final file name; its folder is created if needed.

    Yields
    ------
    Path
        A hidden temporary file in the same folder (same file system, so the rename is atomic).

    Notes
    -----
    On success the file gets mode ``0o666 & ~umask`` (what ``open(path, "w")`` would give), so
    results follow the user's umask like figures and any other file. On error the temporary file
    is removed, ``path`` is left untouched, and an :class:`OSError` about the temporary file is
    re-raised naming ``path`` instead.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "out.txt"
    >>> with atomic_path(target) as tmp:
    ...     _ = tmp.write_text("ok")
    >>> target.read_text()
    'ok'
    """
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise type(exc)(exc.errno, exc.strerror or str(exc), str(target)) from None
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        try:
            yield tmp_path
            os.chmod(tmp_path, 0o666 & ~current_umask())
            os.replace(tmp_path, target)
        except OSError as exc:
            new = _retarget(exc, tmp_path, target)
            if new is exc:
                raise
            raise new from exc
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


@contextlib.contextmanager
def atomic_write(
    path: str | os.PathLike[str], mode: str = "w", encoding: str | None = "utf-8"
) -> Iterator[IO]:
    """Open a temporary file for writing and move it onto ``path`` when the block succeeds.

    Parameters
    ----------
    path : str or path-like
        Final file name.
    mode : str
        ``"w"`` (text, default) or ``"wb"`` (binary).
    encoding : str or None
        Text encoding (ignored in binary mode).

    Yields
    ------
    file object
        Open on the temporary file; see :func:`atomic_path` for permissions and errors.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "out.csv"
    >>> with atomic_write(target) as fh:
    ...     _ = fh.write("a,b\\n1,2\\n")
    >>> target.read_text().splitlines()
    ['a,b', '1,2']
    """
    if "b" in mode:
        encoding = None
    with atomic_path(path) as tmp, open(tmp, mode, encoding=encoding) as fh:
        yield fh
