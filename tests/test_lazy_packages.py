"""Sub-packages with lazy public names (``petroinfer._lazy``) start without their heavy dependencies."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

LAZY_PACKAGES = ("petroinfer.geochem", "petroinfer.inference")
HEAVY = ("sklearn", "scipy", "pandas", "xarray", "arviz_stats", "matplotlib")


@pytest.mark.parametrize("package", LAZY_PACKAGES)
def test_import_is_light(package):
    code = (
        f"import sys, {package}\n"
        f"print(sorted({{k.split('.')[0] for k in sys.modules}} & set({HEAVY!r})))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("package", LAZY_PACKAGES)
def test_public_names_resolve_and_match_the_table(package):
    module = importlib.import_module(package)
    assert sorted(module.__all__) == sorted(module._LAZY)
    for name in module.__all__:
        assert getattr(module, name).__name__ == name
    assert set(module.__all__) <= set(dir(module))
    with pytest.raises(AttributeError, match="NoSuchName"):
        module.NoSuchName
