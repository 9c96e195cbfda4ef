"""Docstrings of the sampling core render as written: no escape turned into a control character."""

from __future__ import annotations

import importlib
import inspect

import pytest

MODULES = [
    "petroinfer.inference",
    "petroinfer.inference.diagnostics",
    "petroinfer.inference.ensemble",
    "petroinfer.inference.remc",
    "petroinfer.inference.results",
    "petroinfer.inference.smc",
]


def _docstrings(module):
    yield module.__name__, module.__doc__ or ""
    for name in getattr(module, "__all__", []):
        obj = getattr(module, name)
        yield f"{module.__name__}.{name}", inspect.getdoc(obj) or ""
        if inspect.isclass(obj):
            for meth_name, meth in vars(obj).items():
                if callable(meth) and meth.__doc__:
                    yield f"{module.__name__}.{name}.{meth_name}", meth.__doc__


@pytest.mark.parametrize("module_name", MODULES)
def test_no_control_characters_in_docstrings(module_name):
    module = importlib.import_module(module_name)
    for where, doc in _docstrings(module):
        bad = sorted({repr(c) for c in doc if ord(c) < 32 and c != "\n"})
        assert not bad, f"{where}: {bad} in docstring (use a raw r-string for LaTeX)"
        assert "\\\\" not in doc.replace("\\\\\n", ""), f"{where}: doubled backslash"
