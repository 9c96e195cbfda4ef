"""petroinfer.kinetics: heterogeneous-reaction kinetics from time series.

Reaction networks with surface-area-controlled rate laws (``ReactionNetwork``), their ODE and
stochastic state-space forms, Bayesian inversion of partially observed series by particle filtering,
PMMH and evidence-based choice of the surface-area law (``ReactionKineticsInversion``), Monte-Carlo EM
with sparse (adaptive-L1) reaction-term selection (``SparseReactionSelection``) and a synthetic
generator (``simulate_observations``).

``EvidenceGreedy`` and ``SurfaceRateLibrary`` are PySINDy-compatible (optimizer and feature library);
they import PySINDy, so they load on first use (PEP 562) and ``import petroinfer.kinetics`` stays fast.
"""

from petroinfer._lazy import attach
from petroinfer.kinetics._reaction_em import ReactionKineticsEM
from petroinfer.kinetics._reaction_fit import KineticsResult, ReactionKineticsInversion
from petroinfer.kinetics._reaction_sparse import SparseReactionSelection
from petroinfer.kinetics.identification import (
    IdentificationResult,
    ReactionTransportIdentification,
    field_from_table,
)
from petroinfer.kinetics.reactions import (
    SURFACE_LAWS,
    Reaction,
    ReactionNetwork,
    Species,
    dissolution_precipitation,
    load_network,
    simulate_observations,
)
from petroinfer.kinetics.transport import (
    ReactionTransport,
    ReactionTransportInversion,
    TransportFitResult,
    check_mode_profile,
    compare_transport_models,
    layered_state,
    load_transport_spec,
    olivine_quartz_h2o,
    reaction_transport_number,
    simulate_mode_profile,
)

_LAZY = {
    "EvidenceGreedy": "_identification_pysindy",
    "SurfaceRateLibrary": "_identification_pysindy",
    "surface_law_groups": "_identification_pysindy",
    "surface_rate_weak_library": "_identification_pysindy",
}
__getattr__, __dir__ = attach(__name__, _LAZY)

__all__ = [
    "SURFACE_LAWS",
    "EvidenceGreedy",
    "IdentificationResult",
    "KineticsResult",
    "Reaction",
    "ReactionKineticsEM",
    "ReactionKineticsInversion",
    "ReactionNetwork",
    "ReactionTransport",
    "ReactionTransportIdentification",
    "ReactionTransportInversion",
    "SparseReactionSelection",
    "Species",
    "SurfaceRateLibrary",
    "TransportFitResult",
    "check_mode_profile",
    "compare_transport_models",
    "dissolution_precipitation",
    "field_from_table",
    "layered_state",
    "load_network",
    "load_transport_spec",
    "olivine_quartz_h2o",
    "reaction_transport_number",
    "simulate_mode_profile",
    "simulate_observations",
    "surface_law_groups",
    "surface_rate_weak_library",
]
