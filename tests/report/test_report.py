"""Tests of the self-contained HTML report, including a render in headless Chromium."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import matplotlib.image as mpimg
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from petroinfer import __version__
from petroinfer.errors import ModelError
from petroinfer.report import Report

# A colour that nothing in the page style uses: if it shows up in the screenshot, the embedded PNG
# figure was decoded and drawn by the browser.
MARKER_RGB = (0.05, 0.65, 0.25)
TITLES = ("Garnet analyses", "Temperature profile")


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    return None


def _build_report(path: Path) -> Path:
    rep = Report("Render test", inputs=["garnets.csv"], seed=42, command="petroinfer test")
    table = pd.DataFrame(
        {"SiO2": [37.21, 36.95], "FeO": [30.12, 29.8], "label": ["Grt-1 <core>", "Grt-1 rim"]},
        index=pd.Index(["S1", "S2"], name="sample"),
    )
    rep.section(TITLES[0]).text("Two analyses & a <tag> to escape.").table(table, caption="EPMA")
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.add_patch(plt.Rectangle((0, 0), 1, 1, color=MARKER_RGB))
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_title("marker")
    ax.set(xlabel="distance (mm)", ylabel="distance (mm)")
    rep.section(TITLES[1]).figure(fig, caption="A solid block of the marker colour")
    return rep.save(path)


# --------------------------------------------------------------------------- HTML without a browser
def test_report_is_self_contained(tmp_path):
    path = _build_report(tmp_path / "out" / "report.html")
    text = path.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    # nothing is fetched from elsewhere: no external scripts, stylesheets or images
    assert "<script" not in text and "<link" not in text
    srcs = re.findall(r'src="([^"]*)"', text)
    assert len(srcs) == 1 and srcs[0].startswith("data:image/png;base64,")
    assert not re.search(r'(?:src|href)="(?:https?:|file:|//)', text)
    # user text is escaped, provenance is recorded
    assert "&lt;tag&gt;" in text and "<tag>" not in text
    assert "Grt-1 &lt;core&gt;" in text
    for key in (__version__, "petroinfer test", "garnets.csv", "42"):
        assert key in text
    assert [p.name for p in path.parent.iterdir()] == ["report.html"]  # no temp files left


def test_table_truncation_and_mapping():
    rep = Report("t", command="x")
    rep.section("Long").table(pd.DataFrame({"a": np.arange(100.0)}), max_rows=10)
    rep.section("Map").mapping({"alpha": 0.5, "n": 3})
    html = rep.to_html()
    assert "90 more rows not shown" in html
    assert html.count("<tr") == 1 + 10 + 1 + 2  # header + 10 rows, header + 2 rows
    assert "alpha" in html and "0.5" in html


def test_svg_figure_inline_and_bad_format():
    rep = Report("t", command="x")
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    ax.set(xlabel="T (°C)", ylabel="P (kbar)")
    rep.section("Vector").figure(fig, fmt="svg")
    html = rep.to_html()
    assert "<svg" in html and "data:image" not in html
    assert "<?xml" not in html  # the XML prolog is stripped before inlining
    fig2, _ = plt.subplots()
    with pytest.raises(ModelError, match="fmt"):
        rep.section("Bad").figure(fig2, fmt="gif")


def test_figures_need_axis_labels_and_a_descriptive_caption():
    rep = Report("t", command="x")
    fig, ax = plt.subplots(1, 2)
    ax[0].plot([0, 1], [0, 1])
    ax[0].set(xlabel="T (°C)", ylabel="P (kbar)")
    ax[1].plot([0, 1], [0, 1])
    ax[1].set_xlabel("radius (mm)")
    with pytest.raises(ModelError, match="panel 2 y"):
        rep.section("Unlabelled").figure(fig, caption="A P–T path")
    fig2, ax2 = plt.subplots()
    ax2.plot([0, 1], [0, 1])
    ax2.set(xlabel="T (°C)", ylabel="P (kbar)")
    with pytest.raises(ModelError, match="caption"):
        rep.section("Named").figure(fig2, caption="pt_path.png")
    fig3, ax3 = plt.subplots()
    ax3.imshow(np.eye(3))
    ax3.set_axis_off()  # an image without axes needs no labels
    rep.section("Image").figure(fig3, caption="An identity matrix")
    assert "An identity matrix" in rep.to_html()


def test_tables_show_missing_cells_as_a_dash_and_scroll_when_wide():
    rep = Report("t", command="x")
    wide = pd.DataFrame([[1.5, np.nan] * 20], columns=[f"c{i}" for i in range(40)])
    rep.section("Wide").table(wide, caption="A wide table (wt%)")
    html = rep.to_html()
    assert not re.search(r">\s*nan\s*<", html, re.IGNORECASE)
    assert html.count("<td>—</td>") == 20
    assert '<div class="table-wrap">' in html and "overflow-x:auto" in html


def test_duplicate_section_titles_get_unique_anchors():
    rep = Report("t", command="x")
    rep.section("Results").text("one")
    rep.section("Results").text("two")
    rep.section("Résumé!").text("three")
    html = rep.to_html()
    ids = re.findall(r'<section id="([^"]+)"', html)
    assert len(ids) == len(set(ids)) == 3
    for anchor in ids:
        assert f'href="#{anchor}"' in html


def test_save_is_atomic_on_error(tmp_path, monkeypatch):
    path = tmp_path / "report.html"
    path.write_text("old report")
    rep = Report("t", command="x")
    rep.section("s").text("new")

    def boom(self):
        raise RuntimeError("rendering failed")

    monkeypatch.setattr(Report, "to_html", boom)
    with pytest.raises(RuntimeError):
        rep.save(path)
    assert path.read_text() == "old report"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html"]


# --------------------------------------------------------------------------- headless Chromium
@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """The report rendered by headless Chromium: (screenshot array, dumped DOM)."""
    exe = _chromium()
    if exe is None:
        if os.environ.get("PETROINFER_REQUIRE_CHROMIUM") == "1":
            pytest.fail("PETROINFER_REQUIRE_CHROMIUM=1 but no chromium executable is on PATH")
        pytest.skip(
            "Chromium is not installed (Debian: apt-get install -y chromium); "
            ".ci/run installs it, so this test runs in CI"
        )
    tmp = tmp_path_factory.mktemp("chromium")
    page = _build_report(tmp / "report.html")
    common = [
        exe,
        "--headless",
        "--no-sandbox",  # CI containers run as root
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--hide-scrollbars",
        "--no-first-run",
        f"--user-data-dir={tmp / 'profile'}",
    ]
    env = {**os.environ, "HOME": str(tmp)}
    url = page.resolve().as_uri()
    shot = tmp / "shot.png"
    run = subprocess.run(
        [*common, f"--screenshot={shot}", "--window-size=1200,2000", url],
        capture_output=True,
        timeout=90,
        env=env,
        check=False,
    )
    assert shot.exists(), f"no screenshot (exit {run.returncode}):\n{run.stderr.decode()[-2000:]}"
    dom = subprocess.run(
        [*common, "--dump-dom", url], capture_output=True, timeout=90, env=env, check=False
    )
    assert dom.returncode == 0, dom.stderr.decode()[-2000:]
    return mpimg.imread(shot), dom.stdout.decode("utf-8")


def test_chromium_screenshot_not_blank(rendered):
    img, _ = rendered
    rgb = np.asarray(img)[..., :3].astype(float)
    if rgb.max() > 1.0:
        rgb /= 255.0
    assert rgb.shape[:2] == (2000, 1200)
    assert rgb.std() > 0.05  # a blank (all-white) page has std 0
    non_white = np.mean(rgb.min(axis=-1) < 0.9)
    assert non_white > 0.02
    # the embedded matplotlib figure was decoded and drawn: a solid block of the marker colour
    marker = np.all(np.abs(rgb - np.array(MARKER_RGB)) < 0.06, axis=-1)
    assert marker.sum() > 20_000, marker.sum()


def test_chromium_dom_has_sections_table_and_footer(rendered):
    _, dom = rendered
    assert "<title>Render test</title>" in dom
    for title in TITLES:
        assert re.search(rf"<h2>\s*{re.escape(title)}\s*</h2>", dom), title
    assert "37.21" in dom and "Grt-1 &lt;core&gt;" in dom
    assert 'id="provenance"' in dom and __version__ in dom
    assert dom.count("<figure>") == 1
