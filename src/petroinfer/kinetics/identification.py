"""Sparse identification of reaction–transport equations (weak form, evidence-greedy selection).

Public names; implementation in ``_identification_core`` and ``_identification_weak``. See
``docs/methods/reaction_transport.md``.
"""

from petroinfer.kinetics._identification_core import (
    IdentificationResult,
    ReactionTransportIdentification,
    field_from_table,
)

__all__ = ["IdentificationResult", "ReactionTransportIdentification", "field_from_table"]
