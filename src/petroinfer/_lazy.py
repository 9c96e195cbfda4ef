"""Lazy public names for sub-packages (PEP 562), so ``import petroinfer.<pkg>`` is cheap.

A package declares which module defines each public name; :func:`attach` returns the module-level
``__getattr__`` and ``__dir__`` that import a name's module on first use (and cache the name in the
package namespace). scikit-learn, SciPy and NumPy use the same PEP 562 mechanism.

Examples
--------
In ``petroinfer/geochem/__init__.py``::

    _LAZY = {"EndmemberNMF": "endmembers", "KMeansCluster": "clustering"}
    __getattr__, __dir__ = attach(__name__, _LAZY, submodules={"endmembers"})
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterable, Mapping
from typing import Any

__all__ = ["attach"]


def attach(
    package: str, names: Mapping[str, str], submodules: Iterable[str] = ()
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package`` exporting ``names`` (public name → module name)."""
    subs = frozenset(submodules)

    def __getattr__(name: str) -> Any:
        if name in names:
            value = getattr(importlib.import_module(f"{package}.{names[name]}"), name)
        elif name in subs:
            value = importlib.import_module(f"{package}.{name}")
        else:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        setattr(sys.modules[package], name, value)  # cache: later look-ups do not come back here
        return value

    def __dir__() -> list[str]:
        module = sys.modules[package]
        dunders = {k for k in vars(module) if k.startswith("__")}
        return sorted(dunders | set(getattr(module, "__all__", ())) | set(names) | subs)

    return __getattr__, __dir__
