"""petroinfer.inference: domain-free Bayesian machinery (GMRF, REMC, SMC, ensemble smoothers)."""

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
    "FilterResult",
    "KalmanResult",
    "Result",
    "SmootherResult",
    "StateSpaceModel",
    "bootstrap_filter",
    "ffbsi_smoother",
    "kalman_filter",
    "pmmh",
    "rts_smoother",
]
