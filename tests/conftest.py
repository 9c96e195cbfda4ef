"""Test configuration: point the dataset registry at ``../shared/data`` unless told otherwise."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

_SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
if "PETROINFER_DATA_DIR" not in os.environ and _SHARED.is_dir():
    os.environ["PETROINFER_DATA_DIR"] = str(_SHARED)
