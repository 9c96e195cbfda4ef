"""Reaction–transport: forward model and inversion of rate constants and diffusivity.

Public names of the reaction–diffusion part of :mod:`petroinfer.kinetics` (implementation in the
private ``_transport_*`` modules); see ``docs/methods/reaction_transport.md``.
"""

from petroinfer.kinetics._transport_fit import (
    ReactionTransportInversion,
    TransportFitResult,
    check_mode_profile,
    compare_transport_models,
    simulate_mode_profile,
)
from petroinfer.kinetics._transport_model import (
    MOLAR_VOLUMES,
    ReactionTransport,
    layered_state,
    olivine_quartz_h2o,
    reaction_transport_number,
)
from petroinfer.kinetics._transport_spec import TransportSetup, load_transport_spec

__all__ = [
    "MOLAR_VOLUMES",
    "ReactionTransport",
    "ReactionTransportInversion",
    "TransportFitResult",
    "TransportSetup",
    "check_mode_profile",
    "compare_transport_models",
    "layered_state",
    "load_transport_spec",
    "olivine_quartz_h2o",
    "reaction_transport_number",
    "simulate_mode_profile",
]
