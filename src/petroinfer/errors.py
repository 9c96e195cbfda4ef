"""Exception and warning hierarchy of petroinfer (the only place they are defined).

``PetroinferError`` is the base of everything the package raises on purpose. User-facing checks raise
:class:`InputError` (bad data: the message names the column, the row and the value, and says what was
expected) or :class:`ModelError` (an ill-posed or unsupported model choice). The command line turns both
into a one-line message and exit code 2.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "ConvergenceWarning",
    "DataQualityWarning",
    "InputError",
    "ModelError",
    "PetroinferError",
    "TaskError",
    "format_value",
]


def format_value(value: Any, *, max_len: int = 60) -> str:
    """A short, user-facing rendering of a value for messages: no numpy reprs.

    ``np.float64(nan)`` → ``nan``, ``np.int64(3)`` → ``3``, floats to 6 significant digits, arrays by
    their shape, long reprs cut with an ellipsis.

    Parameters
    ----------
    value : Any
        The value to render. Numpy scalars are converted to Python scalars first; objects with a
        ``shape`` and a ``dtype`` (arrays) are rendered as ``array of shape (...)``.
    max_len : int, default 60
        Maximum length of the returned text in characters; longer renderings are cut to
        ``max_len - 1`` characters followed by ``…``.

    Returns
    -------
    str
        The rendering, at most ``max_len`` characters long.

    Examples
    --------
    >>> import numpy as np
    >>> format_value(np.float64(1 / 3))
    '0.333333'
    >>> format_value(np.zeros((2, 3)))
    'array of shape (2, 3)'
    """
    if hasattr(value, "dtype") and getattr(value, "shape", None) == () and hasattr(value, "item"):
        value = value.item()
    if hasattr(value, "shape") and hasattr(value, "dtype"):
        text = f"array of shape {tuple(value.shape)}"
    elif isinstance(value, float):
        text = f"{value:.6g}"
    else:
        text = repr(value)
    return text if len(text) <= max_len else text[: max_len - 1] + "…"


class PetroinferError(Exception):
    """Base class of all petroinfer errors."""


class InputError(PetroinferError, ValueError):
    """Bad input data.

    Subclasses :class:`ValueError` so that generic callers (and scikit-learn's checks) still see a
    ``ValueError``.

    Parameters
    ----------
    message : str
        What is wrong and what was expected.
    column : str, optional
        Name of the offending column. Appended to the message as ``column 'SiO2'`` and stored as
        ``self.column``.
    row : Any, optional
        Label (or position) of the offending row. Appended as ``row 'S12'`` and stored as ``self.row``.
    value : Any, optional
        The offending value. Appended as ``value -3.1`` (rendered with :func:`format_value`) and
        stored as ``self.value``.
    """

    def __init__(
        self,
        message: str,
        *,
        column: str | None = None,
        row: Any = None,
        value: Any = None,
    ) -> None:
        self.column = column
        self.row = row
        self.value = value
        where = []
        if column is not None:
            where.append(f"column {column!r}")
        if row is not None:
            where.append(f"row {row!r}")
        if value is not None:
            where.append(f"value {format_value(value)}")
        full = message if not where else f"{message} ({', '.join(where)})"
        super().__init__(full)


class ModelError(PetroinferError, ValueError):
    """An ill-posed or unsupported model choice (bad hyperparameter, unknown option, ...)."""


class TaskError(PetroinferError, RuntimeError):
    """A task mapped by :func:`petroinfer.parallel.map_tasks` raised.

    The message names the position of the item in the input and its ``repr``; the original exception
    is chained as ``__cause__``. ``index`` and ``item`` hold the failing position and item.

    Parameters
    ----------
    message : str
        The full error message.
    index : int, optional
        Position of the failing item in the input sequence (stored as ``self.index``).
    item : Any, optional
        The failing item itself (stored as ``self.item``).
    """

    def __init__(self, message: str, *, index: int | None = None, item: Any = None) -> None:
        self.index = index
        self.item = item
        super().__init__(message)


class ConvergenceWarning(UserWarning):
    """A sampler or optimiser did not meet its convergence criteria (R-hat, ESS, swap rate, ...)."""


class DataQualityWarning(UserWarning):
    """The data are usable but suspicious (outside a calibration range, rows dropped by policy, ...)."""
