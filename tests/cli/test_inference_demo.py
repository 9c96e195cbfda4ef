"""The inference-core demo section reproduces known truth (analytic evidence, mode weights)."""

from __future__ import annotations

import numpy as np

from petroinfer.cli.inference import demo_section
from petroinfer.report import Report


def test_inference_demo_section_matches_truth(tmp_path):
    report = Report("t")
    summary = demo_section(report, tmp_path)
    # analytic log evidence of the bimodal target under a U(-5, 5)^2 prior is -2 ln 10
    assert abs(summary["remc_log_evidence"] - (-2 * np.log(10.0))) < 0.15
    assert abs(summary["remc_mode_weight"] - 0.7) < 0.05
    assert 0.8 <= summary["gmrf_coverage90"] <= 1.0
    assert (tmp_path / "gmrf_result.nc").is_file()
    assert "Inference core" in report.to_html()
