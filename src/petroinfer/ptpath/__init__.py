"""petroinfer.ptpath — P–T(–t) path inversions.

* :class:`InclusionPTPath` (``inclusions.py``): GMRF path along a garnet radius from biotite and
  plagioclase inclusion thermobarometry (Kuwatani et al. 2018);
* shared machinery (``_path.py``: prior, evidence search, bands and units; ``_result.py``:
  :class:`PTPathResult` and the P–T diagram) for the sibling inversions;
* :mod:`petroinfer.ptpath.synthetic` (generators with known truth) and
  :mod:`petroinfer.ptpath.experiments` (calibration comparison, sparse-data experiment).
"""

from petroinfer.ptpath._result import PTPathResult
from petroinfer.ptpath.experiments import compare_calibrations, sparse_data_experiment
from petroinfer.ptpath.inclusions import InclusionPTPath, pointwise_pt
from petroinfer.ptpath.synthetic import synthetic_inclusions, true_path

__all__ = [
    "InclusionPTPath",
    "PTPathResult",
    "compare_calibrations",
    "pointwise_pt",
    "sparse_data_experiment",
    "synthetic_inclusions",
    "true_path",
]
