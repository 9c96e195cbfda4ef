"""petroinfer.ptpath — P–T(–t) path inversions.

* :class:`InclusionPTPath` (``inclusions.py``): GMRF path along a garnet radius from biotite and
  plagioclase inclusion thermobarometry (Kuwatani et al. 2018);
* :class:`ZonedGarnetPTPath` (``zoning.py``): GMRF path along a garnet traverse through the Gibbs
  method (Kuwatani et al. 2012), with :func:`synthetic_zoning`;
* :class:`DiffusionAssimilation` (``assimilation.py``): T(t), P(t) and durations from
  diffusion-modified garnet zoning by ES-MDA or REMC (Kuwatani et al. 2018 PRE [R]), with
  :func:`synthetic_garnet_profiles`;
* shared machinery (``_path.py``: prior, evidence search, bands and units; ``_result.py``:
  :class:`PTPathResult` and the P–T diagram) for the sibling inversions;
* :mod:`petroinfer.ptpath.synthetic` (generators with known truth) and
  :mod:`petroinfer.ptpath.experiments` (calibration comparison, sparse-data experiment).
"""

from petroinfer.ptpath._result import PTPathResult
from petroinfer.ptpath.assimilation import (
    AssimilationResult,
    DiffusionAssimilation,
    ExponentialCooling,
    LinearCooling,
    NodePath,
    clockwise_loop,
    default_rim_equilibrium,
    synthetic_garnet_profiles,
)
from petroinfer.ptpath.experiments import compare_calibrations, sparse_data_experiment
from petroinfer.ptpath.inclusions import InclusionPTPath, pointwise_pt
from petroinfer.ptpath.synthetic import synthetic_inclusions, true_path
from petroinfer.ptpath.zoning import ZonedGarnetPTPath, synthetic_zoning

__all__ = [
    "AssimilationResult",
    "DiffusionAssimilation",
    "ExponentialCooling",
    "InclusionPTPath",
    "LinearCooling",
    "NodePath",
    "PTPathResult",
    "ZonedGarnetPTPath",
    "clockwise_loop",
    "compare_calibrations",
    "default_rim_equilibrium",
    "pointwise_pt",
    "sparse_data_experiment",
    "synthetic_garnet_profiles",
    "synthetic_inclusions",
    "synthetic_zoning",
    "true_path",
]
