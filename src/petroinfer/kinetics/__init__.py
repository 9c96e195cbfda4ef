"""petroinfer.kinetics: heterogeneous-reaction kinetics from time series.

Reaction networks with surface-area-controlled rate laws (``ReactionNetwork``), their ODE and
stochastic state-space forms, Bayesian inversion of partially observed series by particle filtering,
PMMH and evidence-based choice of the surface-area law (``ReactionKineticsInversion``), Monte-Carlo EM
with sparse (adaptive-L1) reaction-term selection (``SparseReactionSelection``) and a synthetic
generator (``simulate_observations``).
"""

from petroinfer.kinetics._reaction_em import ReactionKineticsEM
from petroinfer.kinetics._reaction_fit import KineticsResult, ReactionKineticsInversion
from petroinfer.kinetics._reaction_sparse import SparseReactionSelection
from petroinfer.kinetics.reactions import (
    SURFACE_LAWS,
    Reaction,
    ReactionNetwork,
    Species,
    dissolution_precipitation,
    load_network,
    simulate_observations,
)

__all__ = [
    "SURFACE_LAWS",
    "KineticsResult",
    "Reaction",
    "ReactionKineticsEM",
    "ReactionKineticsInversion",
    "ReactionNetwork",
    "SparseReactionSelection",
    "Species",
    "dissolution_precipitation",
    "load_network",
    "simulate_observations",
]
