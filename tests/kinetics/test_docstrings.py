"""Docstrings of the kinetics package and the sparse solvers render as written (no control
characters from LaTeX escapes such as ``\\v`` in ``\\varepsilon``; no doubled backslashes)."""

from __future__ import annotations

import importlib
import inspect

import pytest

MODULES = [
    "petroinfer.kinetics",
    "petroinfer.kinetics.reactions",
    "petroinfer.kinetics._reaction_ssm",
    "petroinfer.kinetics._reaction_em",
    "petroinfer.kinetics._reaction_fit",
    "petroinfer.kinetics._reaction_sparse",
    "petroinfer.kinetics.transport",
    "petroinfer.kinetics.identification",
    "petroinfer.kinetics._identification_pysindy",
    "petroinfer.inference.sparse",
]


def _docstrings(module):
    yield module.__name__, module.__doc__ or ""
    for name, obj in vars(module).items():
        if getattr(obj, "__module__", None) != module.__name__:
            continue
        yield f"{module.__name__}.{name}", obj.__doc__ or ""
        if inspect.isclass(obj):
            for meth_name, meth in vars(obj).items():
                doc = getattr(meth, "__doc__", None)
                if callable(meth) and doc:
                    yield f"{module.__name__}.{name}.{meth_name}", doc


@pytest.mark.parametrize("module_name", MODULES)
def test_no_control_characters_in_docstrings(module_name):
    module = importlib.import_module(module_name)
    n = 0
    for where, doc in _docstrings(module):
        n += 1
        bad = sorted({repr(c) for c in doc if ord(c) < 32 and c != "\n"})
        assert not bad, f"{where}: {bad} in docstring (use a raw r-string for LaTeX)"
        assert "\\\\" not in doc, f"{where}: doubled backslash"
    assert n >= 1
