"""petroinfer — data-driven petrology with calibrated uncertainty.

Sub-packages are organised by domain (see ``DESIGN.md``): :mod:`petroinfer.composition`,
:mod:`petroinfer.io`, :mod:`petroinfer.inference`, :mod:`petroinfer.thermo`,
:mod:`petroinfer.ptpath`, :mod:`petroinfer.geochem`, :mod:`petroinfer.kinetics`, ...
Importing :mod:`petroinfer` itself is cheap: sub-packages are imported on demand.
"""

from petroinfer._version import __version__
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
