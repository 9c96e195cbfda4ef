"""A self-contained HTML report builder (DESIGN.md §5).

Figures are embedded as base64 PNG (or inline SVG), tables are rendered from DataFrames, and a
provenance footer records the package version, inputs, seed and command line, so ``report.html`` is one
file that can be mailed or archived.
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import io
import os
import platform
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from petroinfer._version import __version__
from petroinfer.errors import ModelError
from petroinfer.io import atomic_write

__all__ = ["Report", "Section"]

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1100px;margin:2em auto;
padding:0 1em;color:#222;line-height:1.45}
h1{border-bottom:3px solid #7a4b2a;padding-bottom:.2em}
h2{color:#7a4b2a;margin-top:2em;border-bottom:1px solid #ddd}
div.table-wrap{max-width:100%;overflow-x:auto;margin:.8em 0}
table.data{border-collapse:collapse;font-size:.85em;margin:0}
table.data th,table.data td{border:1px solid #ccc;padding:.25em .6em;text-align:right}
table.data th{background:#f4ede6}
figure{margin:1em 0}figure img{max-width:100%}figcaption{font-size:.85em;color:#555}
nav ul{columns:2}footer{margin-top:3em;font-size:.8em;color:#555;border-top:1px solid #ddd}
pre{background:#f6f6f6;padding:.6em;overflow-x:auto}
"""


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "section"


def _unique_anchors(anchors: Iterable[str]) -> list[str]:
    """Make repeated anchors unique (``results``, ``results-2``, ...) so every link has one target."""
    seen: dict[str, int] = {}
    out = []
    for a in anchors:
        seen[a] = seen.get(a, 0) + 1
        out.append(a if seen[a] == 1 else f"{a}-{seen[a]}")
    return out


_FILE_NAME = re.compile(r"^[\w.\-/]+\.(png|svg|pdf|csv|nc|json|html)$", re.IGNORECASE)


def _unlabelled_axes(fig: Any) -> list[str]:
    """Names of the visible, ticked axes of ``fig`` that have no label ("panel 1 x", ...)."""
    missing = []
    for i, ax in enumerate(fig.get_axes(), start=1):
        if not ax.axison or not ax.get_visible():
            continue
        if type(ax).__name__ == "Colorbar" or ax.get_label() == "<colorbar>":
            continue
        for name, axis, label in (
            ("x", ax.xaxis, ax.get_xlabel()),
            ("y", ax.yaxis, ax.get_ylabel()),
        ):
            ticks = [t for t in axis.get_ticklabels() if t.get_text()] or axis.get_ticklocs()
            if axis.get_visible() and len(ticks) and not label.strip():
                missing.append(f"panel {i} {name}")
    return missing


@dataclass
class Section:
    """One report section: a title and an ordered list of HTML blocks.

    Usually created by :meth:`Report.section` and filled with the chainable methods :meth:`text`,
    :meth:`table`, :meth:`figure`, :meth:`mapping` and :meth:`code`.

    Parameters
    ----------
    title : str
        Heading of the section; also gives its anchor in the table of contents.
    blocks : list of str, optional
        HTML fragments shown in order under the heading (default: empty). The adding methods append
        to this list; fragments given here are inserted verbatim (not escaped).
    """

    title: str
    blocks: list[str] = field(default_factory=list)

    @property
    def anchor(self) -> str:
        return _slug(self.title)

    def text(self, text: str) -> Section:
        """Add a paragraph (plain text; blank lines separate paragraphs)."""
        for para in str(text).strip().split("\n\n"):
            self.blocks.append(f"<p>{html.escape(para)}</p>")
        return self

    def table(
        self,
        df: pd.DataFrame,
        caption: str | None = None,
        float_format: str = "{:.4g}",
        max_rows: int = 60,
    ) -> Section:
        """Add a table rendered from a DataFrame.

        Parameters
        ----------
        df : pandas.DataFrame
            The table; its index is shown.
        caption : str, optional
            A sentence saying what the table holds (with units).
        float_format : str
            Format of floating-point cells.
        max_rows : int
            Longer tables are cut with a note of how many rows are not shown.

        Returns
        -------
        Section
            This section, for chaining.

        Notes
        -----
        Missing cells are shown as an em dash (never ``NaN``); wide tables scroll horizontally
        inside the page instead of overflowing it.
        """
        shown = df.head(max_rows)
        body = shown.to_html(
            classes="data",
            border=0,
            float_format=lambda v: float_format.format(v),
            na_rep="—",
            escape=True,
        )
        note = (
            f"<p><em>{len(df) - max_rows} more rows not shown.</em></p>"
            if len(df) > max_rows
            else ""
        )
        cap = f"<p><strong>{html.escape(caption)}</strong></p>" if caption else ""
        self.blocks.append(f'{cap}<div class="table-wrap">{body}</div>{note}')
        return self

    def figure(
        self, fig: Any, caption: str | None = None, fmt: str = "png", dpi: int = 110
    ) -> Section:
        """Embed a matplotlib figure (closed afterwards) as base64 PNG (``fmt="png"``) or inline SVG.

        Parameters
        ----------
        fig : matplotlib.figure.Figure
            The figure. Every visible axis must be labelled (quantity and unit, e.g.
            ``"T (°C)"``); an unlabelled axis raises :class:`~petroinfer.errors.ModelError`, so a
            report never shows a bare number line.
        caption : str, optional
            A sentence describing the figure (not a file name).
        fmt : {"png", "svg"}
            Embedding format.
        dpi : int
            Resolution of PNG figures.

        Returns
        -------
        Section
            This section, for chaining.
        """
        import matplotlib.pyplot as plt

        if fmt not in ("png", "svg"):
            raise ModelError(f"Section.figure: fmt must be 'png' or 'svg', got {fmt!r}")
        if caption is not None and _FILE_NAME.match(caption.strip()):
            raise ModelError(
                f"Section.figure: the caption must describe the figure, got {caption!r}"
            )
        unlabelled = _unlabelled_axes(fig)
        if unlabelled:
            plt.close(fig)
            raise ModelError(
                "Section.figure: every axis needs a label with its unit; unlabelled: "
                + ", ".join(unlabelled)
            )

        buf = io.BytesIO()
        fig.savefig(buf, format=fmt, dpi=dpi, bbox_inches="tight")
        plt.close(fig)
        if fmt == "svg":
            img = buf.getvalue().decode("utf-8")
            img = img[img.find("<svg") :]
        else:
            data = base64.b64encode(buf.getvalue()).decode("ascii")
            img = f'<img alt="{html.escape(caption or self.title)}" src="data:image/png;base64,{data}">'
        cap = f"<figcaption>{html.escape(caption)}</figcaption>" if caption else ""
        self.blocks.append(f"<figure>{img}{cap}</figure>")
        return self

    def mapping(self, values: Mapping[str, Any], caption: str | None = None) -> Section:
        """Add a two-column key/value table."""
        df = pd.DataFrame({"value": [str(v) for v in values.values()]}, index=list(values.keys()))
        return self.table(df, caption=caption)

    def code(self, text: str) -> Section:
        """Add preformatted text (e.g. the command that produced the section)."""
        self.blocks.append(f"<pre>{html.escape(text)}</pre>")
        return self


class Report:
    """Build a single-file HTML report.

    Parameters
    ----------
    title : str
        Title of the document (``<title>`` and the top ``<h1>`` heading).
    inputs : sequence of str or os.PathLike, optional
        Input files the report was made from, listed in the provenance footer (default: none, shown
        as "(built-in examples)").
    seed : int, optional
        Random seed used for the analysis, recorded in the provenance footer (default: ``None``,
        shown as "none").
    command : str, optional
        Command line recorded in the provenance footer (default: the current ``sys.argv``, program
        name without its directory).

    Examples
    --------
    >>> import pandas as pd
    >>> rep = Report("Demo")
    >>> _ = rep.section("Numbers").text("Hello").table(pd.DataFrame({"a": [1.0]}))
    >>> "Numbers" in rep.to_html()
    True
    """

    def __init__(
        self,
        title: str,
        *,
        inputs: Sequence[str | os.PathLike[str]] = (),
        seed: int | None = None,
        command: str | None = None,
    ) -> None:
        self.title = title
        self.sections: list[Section] = []
        self.inputs = [os.fspath(p) for p in inputs]
        self.seed = seed
        self.command = (
            command if command is not None else " ".join([Path(sys.argv[0]).name, *sys.argv[1:]])
        )

    def section(self, title: str) -> Section:
        """Append and return a new section."""
        sec = Section(title)
        self.sections.append(sec)
        return sec

    def to_html(self) -> str:
        """The whole document as a string."""
        anchors = _unique_anchors(s.anchor for s in self.sections)
        toc = "".join(
            f'<li><a href="#{a}">{html.escape(s.title)}</a></li>'
            for a, s in zip(anchors, self.sections, strict=True)
        )
        body = "".join(
            f'<section id="{a}"><h2>{html.escape(s.title)}</h2>{"".join(s.blocks)}</section>'
            for a, s in zip(anchors, self.sections, strict=True)
        )
        prov = {
            "petroinfer": __version__,
            "python": platform.python_version(),
            "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
            "command": self.command,
            "inputs": ", ".join(self.inputs) or "(built-in examples)",
            "seed": "none" if self.seed is None else str(self.seed),
        }
        foot = "".join(
            f"<li><strong>{html.escape(k)}</strong>: {html.escape(v)}</li>" for k, v in prov.items()
        )
        return (
            '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
            f"<title>{html.escape(self.title)}</title><style>{_CSS}</style></head><body>"
            f"<h1>{html.escape(self.title)}</h1><nav><ul>{toc}</ul></nav>{body}"
            f'<footer id="provenance"><h3>Provenance</h3><ul>{foot}</ul></footer></body></html>'
        )

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the report atomically and return its path."""
        with atomic_write(path) as fh:
            fh.write(self.to_html())
        return Path(path)
