"""Replica-exchange Monte Carlo with free energy (log evidence) for Bayesian model selection.

Public entry points: :class:`ReplicaExchange` (the sampler, ``fit()`` → :class:`REMCResult`),
:func:`geometric_ladder`, :func:`validate_ladder`, the evidence estimators :func:`stepping_stone` and
:func:`thermodynamic_integration`, and :func:`compare_models` (ranking by minimum free energy).
"""

from petroinfer.inference._remc import ReplicaExchange
from petroinfer.inference._remc_ladder import (
    geometric_ladder,
    stepping_stone,
    thermodynamic_integration,
    validate_ladder,
)
from petroinfer.inference._remc_result import REMCResult, compare_models

__all__ = [
    "REMCResult",
    "ReplicaExchange",
    "compare_models",
    "geometric_ladder",
    "stepping_stone",
    "thermodynamic_integration",
    "validate_ladder",
]
