"""``petroinfer demo``: run every capability on built-in examples and write one report.

Each capability contributes a *demo section*: a function ``demo_section(report, out) -> dict`` living in
its CLI module, listed in :data:`DEMO_SECTIONS` as ``"module:function"``. Sections use synthetic data
from the project's forward models with fixed seeds (and public datasets when they are available).
"""

from __future__ import annotations

import importlib
import time
import traceback
from pathlib import Path

import typer

from petroinfer.cli._common import JsonOpt, OutOpt, emit, exit_code_after, guard

__all__ = ["DEMO_SECTIONS", "demo"]

#: Ordered list of demo sections, ``"module:function"``; each capability adds its line.
DEMO_SECTIONS: list[str] = [
    "petroinfer.cli.composition:demo_section",
    "petroinfer.cli.datasets:demo_section",
    "petroinfer.cli.inference:demo_section",
    "petroinfer.cli.thermobar:demo_section",
    "petroinfer.cli.ptpath:demo_section",
    "petroinfer.cli.gibbs:demo_section",
    "petroinfer.cli.geochem:demo_section",
    "petroinfer.cli.melting:demo_section",
    "petroinfer.cli.fuzzy:demo_section",
    "petroinfer.cli.segment:demo_section",
    "petroinfer.cli.discriminate:demo_section",
    "petroinfer.cli.kinetics:demo_section",
    "petroinfer.cli.transport:demo_section",
    "petroinfer.cli.diffusion:demo_section",
    "petroinfer.cli.texture:demo_section",
    "petroinfer.cli.imaging:demo_section",
    "petroinfer.cli.imaging:epma_demo_section",
]


@guard
def demo(
    out: OutOpt = Path("demo"),
    json_out: JsonOpt = False,
    only: str | None = typer.Option(
        None, "--only", help="Comma-separated substrings: run only matching sections."
    ),
) -> None:
    """Run every capability on built-in examples and write DIR/report.html."""
    from rich.console import Console
    from rich.markup import escape

    from petroinfer.report import Report

    out = out or Path("demo")
    report = Report("petroinfer demo", seed=0)
    summary: dict[str, object] = {"out": str(out)}
    failed: list[str] = []
    wanted = [w.strip() for w in only.split(",")] if only else None
    for spec in DEMO_SECTIONS:
        if wanted and not any(w in spec for w in wanted):
            continue
        module_name, func_name = spec.split(":")
        key = module_name.rsplit(".", 1)[-1]
        if func_name != "demo_section":  # several sections in one module get their own keys
            key += "_" + func_name.removesuffix("_demo_section")
        t0 = time.perf_counter()
        try:
            func = getattr(importlib.import_module(module_name), func_name)
            result = func(report, out / key)
            summary[key] = {**(result or {}), "seconds": round(time.perf_counter() - t0, 2)}
        except Exception as exc:  # a failing section must not hide the others, but is reported
            failed.append(key)
            sec = report.section(f"{key}: FAILED")
            sec.code("".join(traceback.format_exception(exc)))
            Console(stderr=True).print(
                f"[red]demo section {escape(key)} failed:[/] {escape(str(exc))}"
            )
    path = report.save(out / "report.html")
    summary["report"] = str(path)
    summary["failed_sections"] = failed
    emit(summary, json_out=json_out, out=out, title="petroinfer demo")
    if failed:
        exit_code_after(1)
