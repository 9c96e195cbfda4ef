"""petroinfer.ptpath — P–T(–t) path inversions (inclusion thermobarometry with a GMRF prior)."""

from petroinfer.ptpath.inclusions import (
    InclusionPTPath,
    PTPathResult,
    compare_calibrations,
    pointwise_pt,
    sparse_data_experiment,
    synthetic_inclusions,
)

__all__ = [
    "InclusionPTPath",
    "PTPathResult",
    "compare_calibrations",
    "pointwise_pt",
    "sparse_data_experiment",
    "synthetic_inclusions",
]
