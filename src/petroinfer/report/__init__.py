"""Figures and the self-contained HTML report."""

from petroinfer.report._report import Report, Section

__all__ = ["Report", "Section"]
