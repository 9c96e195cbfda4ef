"""petroinfer.inference: domain-free Bayesian machinery (GMRF, REMC, SMC, ensemble smoothers)."""

from petroinfer.inference.diagnostics import check_convergence, convergence_diagnostics
from petroinfer.inference.ensemble import ESMDA, EnsembleResult
from petroinfer.inference.gmrf import (
    Anchor,
    ChainPrior,
    GMRFResult,
    GridPrior,
    LinearGMRF,
    NonlinearGMRF,
)
from petroinfer.inference.remc import REMCResult, ReplicaExchange, compare_models
from petroinfer.inference.results import Result
from petroinfer.inference.smc import (
    FilterResult,
    KalmanResult,
    SmootherResult,
    StateSpaceModel,
    bootstrap_filter,
    ffbsi_smoother,
    kalman_filter,
    pmmh,
    rts_smoother,
)

__all__ = [
    "ESMDA",
    "Anchor",
    "ChainPrior",
    "EnsembleResult",
    "FilterResult",
    "GMRFResult",
    "GridPrior",
    "KalmanResult",
    "LinearGMRF",
    "NonlinearGMRF",
    "REMCResult",
    "ReplicaExchange",
    "Result",
    "SmootherResult",
    "StateSpaceModel",
    "bootstrap_filter",
    "check_convergence",
    "compare_models",
    "convergence_diagnostics",
    "ffbsi_smoother",
    "kalman_filter",
    "pmmh",
    "rts_smoother",
]
