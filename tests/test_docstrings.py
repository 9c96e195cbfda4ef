"""numpydoc validation of the public API (DESIGN.md §9: numpydoc docstrings, ``name : type``).

Every class and function that a package lists in ``__all__`` is validated with
:func:`numpydoc.validate.validate`; the checks below must pass. They are the ones that make a reference
page usable: a docstring exists and starts with a summary, every parameter is documented with a type
(``name : type``), no documented parameter is unknown or out of order.
"""

from __future__ import annotations

import importlib
import inspect

import pytest
from numpydoc.validate import validate

PACKAGES = (
    "petroinfer.composition",
    "petroinfer.diffusion",
    "petroinfer.errors",
    "petroinfer.geochem",
    "petroinfer.imaging",
    "petroinfer.inference",
    "petroinfer.inference.sparse",
    "petroinfer.io",
    "petroinfer.kinetics",
    "petroinfer.numerics",
    "petroinfer.parallel",
    "petroinfer.ptpath",
    "petroinfer.report",
    "petroinfer.texture",
    "petroinfer.thermo",
    "petroinfer.units",
)
CHECKS = {
    "GL08": "the object has no docstring",
    "SS01": "no summary line",
    "PR01": "a parameter is not documented",
    "PR02": "an unknown parameter is documented",
    "PR03": "parameters documented out of order",
    "PR04": "a parameter has no type",
    "PR10": "'name: type' needs a space before the colon ('name : type')",
}


def _public_objects() -> list[str]:
    names = []
    for pkg in PACKAGES:
        module = importlib.import_module(pkg)
        for name in getattr(module, "__all__", []):
            obj = getattr(module, name)
            if inspect.isclass(obj) or inspect.isfunction(obj):
                names.append(f"{obj.__module__}.{obj.__qualname__}")
    return sorted(set(names))


PUBLIC = _public_objects()


def test_there_is_a_public_api_to_check():
    assert len(PUBLIC) > 150


@pytest.mark.parametrize("name", PUBLIC)
def test_numpydoc(name: str):
    errors = [f"{code} {msg}" for code, msg in validate(name)["errors"] if code in CHECKS]
    assert not errors, f"{name}:\n  " + "\n  ".join(errors)
