"""The package's layering rules (DESIGN.md §1), checked on the source tree.

* science never imports the command line or the report (``cli``/``report`` only call public API);
* no package imports another package's private module (``from petroinfer.<other>._x import ...``);
* no module is over 1000 lines;
* no science module works in °C or kbar by hand: the converters of :mod:`petroinfer.units` are the
  one place (an inline ``273.15`` is a unit conversion written again).
"""

from __future__ import annotations

import ast
import io
import tokenize
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "src" / "petroinfer"
MODULES = sorted(ROOT.rglob("*.py"))
MAX_LINES = 1000


def _package(path: Path) -> str:
    rel = path.relative_to(ROOT).parts
    return rel[0] if len(rel) > 1 else rel[0].removesuffix(".py")


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.append((node.lineno, node.module))
        elif isinstance(node, ast.Import):
            out.extend((node.lineno, alias.name) for alias in node.names)
    return [(n, m) for n, m in out if m == "petroinfer" or m.startswith("petroinfer.")]


def _violations(path: Path) -> list[str]:
    pkg = _package(path)
    rel = path.relative_to(ROOT.parent)
    found = []
    for lineno, module in _imports(path):
        parts = module.split(".")
        if len(parts) < 2:
            continue
        target = parts[1]
        if pkg not in ("cli", "report") and target in ("cli", "report"):
            found.append(f"{rel}:{lineno} imports {module} (science must not import cli/report)")
        # petroinfer._base, ._lazy, ._rng, ._version: package-wide infrastructure, open to all
        private = [p for p in parts[2:] if p.startswith("_")]
        if private and target != pkg:
            found.append(f"{rel}:{lineno} imports private {module} (use the public name)")
    return found


def test_the_checker_finds_what_it_looks_for(tmp_path):
    """The rules below can fail: a planted bad module is reported."""
    bad = ROOT / "geochem" / "_planted_for_structure_test.py"
    assert not bad.exists()
    try:
        bad.write_text("from petroinfer.cli._common import emit\nfrom petroinfer.io._x import y\n")
        msgs = _violations(bad)
    finally:
        bad.unlink()
    assert any("cli/report" in m for m in msgs)
    assert any("private petroinfer.io._x" in m for m in msgs)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_layering(path: Path):
    assert _violations(path) == []


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_module_size(path: Path):
    n = len(path.read_text(encoding="utf-8").splitlines())
    assert n <= MAX_LINES, f"{path.relative_to(ROOT)} has {n} lines; split it along its sections"


def _celsius_offsets(text: str) -> list[int]:
    """Lines where the number 273.15 appears in code (not in comments or docstrings)."""
    tokens = tokenize.generate_tokens(io.StringIO(text).readline)
    return [
        t.start[0] for t in tokens if t.type == tokenize.NUMBER and t.string.rstrip("0") == "273.15"
    ]


def test_celsius_check_can_fail():
    assert _celsius_offsets("x = t + 273.15  # K\ny = 1\n") == [1]
    assert _celsius_offsets('"""T + 273.15 in a docstring"""\n') == []


@pytest.mark.parametrize(
    "path", [p for p in MODULES if p.name != "units.py"], ids=lambda p: str(p.relative_to(ROOT))
)
def test_no_inline_celsius_offset(path: Path):
    lines = _celsius_offsets(path.read_text(encoding="utf-8"))
    assert not lines, f"{path.relative_to(ROOT)}: 273.15 at lines {lines}; use petroinfer.units"
