"""petroinfer — data-driven petrology with calibrated uncertainty.

Sub-packages are organised by domain (see ``DESIGN.md``): :mod:`petroinfer.composition`,
:mod:`petroinfer.io`, :mod:`petroinfer.inference`, :mod:`petroinfer.thermo`,
:mod:`petroinfer.ptpath`, :mod:`petroinfer.geochem`, :mod:`petroinfer.kinetics`, ...
Importing :mod:`petroinfer` itself is cheap: sub-packages are imported on demand, and
``__version__`` is read from the installed metadata on first access (PEP 562).
"""

from typing import Any

from petroinfer.errors import (
    ConvergenceWarning,
    DataQualityWarning,
    InputError,
    ModelError,
    PetroinferError,
    TaskError,
)

__all__ = [
    "ConvergenceWarning",
    "DataQualityWarning",
    "InputError",
    "ModelError",
    "PetroinferError",
    "TaskError",
    "__version__",
]


def __getattr__(name: str) -> Any:
    """``petroinfer.__version__`` on first access (``importlib.metadata`` is slow to import)."""
    if name == "__version__":
        from petroinfer._version import __version__

        globals()["__version__"] = __version__
        return __version__
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
