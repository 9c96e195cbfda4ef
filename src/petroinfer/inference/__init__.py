"""petroinfer.inference: domain-free Bayesian machinery (GMRF, REMC, SMC, ensemble smoothers,
sparse modelling).

The public names are imported lazily (PEP 562): ``import petroinfer.inference`` is cheap, and a
name such as :class:`ReplicaExchange` loads its module (and NumPy/SciPy/xarray/ArviZ behind it) the
first time it is used, so that light commands and the domain packages start fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from petroinfer._lazy import attach

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from petroinfer.inference.diagnostics import check_convergence, convergence_diagnostics
    from petroinfer.inference.ensemble import ESMDA, EnsembleResult
    from petroinfer.inference.gmrf import (
        Anchor,
        ChainPrior,
        GMRFResult,
        GridPrior,
        HyperparameterSearch,
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
    from petroinfer.inference.sparse import (
        FistaResult,
        PrimalDualResult,
        condat_vu,
        diff1,
        diff1_adjoint,
        fista,
        group_l2_norms,
        group_l2_penalty,
        lipschitz_least_squares,
        lipschitz_multinomial,
        nnls,
        nonneg_lasso,
        nonneg_lasso_gram,
        nonneg_lasso_kkt,
        prox_group_l2,
        prox_l1,
        prox_nonneg,
        prox_nonneg_l1,
        richardson_lucy,
    )

# public name -> module that defines it (relative to this package)
_LAZY: dict[str, str] = {
    "check_convergence": "diagnostics",
    "convergence_diagnostics": "diagnostics",
    "ESMDA": "ensemble",
    "EnsembleResult": "ensemble",
    "Anchor": "gmrf",
    "ChainPrior": "gmrf",
    "GMRFResult": "gmrf",
    "GridPrior": "gmrf",
    "HyperparameterSearch": "gmrf",
    "LinearGMRF": "gmrf",
    "NonlinearGMRF": "gmrf",
    "REMCResult": "remc",
    "ReplicaExchange": "remc",
    "compare_models": "remc",
    "Result": "results",
    "FilterResult": "smc",
    "KalmanResult": "smc",
    "SmootherResult": "smc",
    "StateSpaceModel": "smc",
    "bootstrap_filter": "smc",
    "ffbsi_smoother": "smc",
    "kalman_filter": "smc",
    "pmmh": "smc",
    "rts_smoother": "smc",
    "FistaResult": "sparse",
    "fista": "sparse",
    "group_l2_norms": "sparse",
    "group_l2_penalty": "sparse",
    "lipschitz_least_squares": "sparse",
    "lipschitz_multinomial": "sparse",
    "nnls": "sparse",
    "nonneg_lasso": "sparse",
    "nonneg_lasso_gram": "sparse",
    "nonneg_lasso_kkt": "sparse",
    "prox_group_l2": "sparse",
    "prox_l1": "sparse",
    "prox_nonneg": "sparse",
    "prox_nonneg_l1": "sparse",
    "PrimalDualResult": "sparse",
    "condat_vu": "sparse",
    "diff1": "sparse",
    "diff1_adjoint": "sparse",
    "richardson_lucy": "sparse",
}
_SUBMODULES = frozenset({"diagnostics", "ensemble", "gmrf", "remc", "results", "smc", "sparse"})

__all__ = [
    "ESMDA",
    "Anchor",
    "ChainPrior",
    "EnsembleResult",
    "FilterResult",
    "FistaResult",
    "GMRFResult",
    "GridPrior",
    "HyperparameterSearch",
    "KalmanResult",
    "LinearGMRF",
    "NonlinearGMRF",
    "PrimalDualResult",
    "REMCResult",
    "ReplicaExchange",
    "Result",
    "SmootherResult",
    "StateSpaceModel",
    "bootstrap_filter",
    "check_convergence",
    "compare_models",
    "condat_vu",
    "convergence_diagnostics",
    "diff1",
    "diff1_adjoint",
    "ffbsi_smoother",
    "fista",
    "group_l2_norms",
    "group_l2_penalty",
    "kalman_filter",
    "lipschitz_least_squares",
    "lipschitz_multinomial",
    "nnls",
    "nonneg_lasso",
    "nonneg_lasso_gram",
    "nonneg_lasso_kkt",
    "pmmh",
    "prox_group_l2",
    "prox_l1",
    "prox_nonneg",
    "prox_nonneg_l1",
    "richardson_lucy",
    "rts_smoother",
]


__getattr__, __dir__ = attach(__name__, _LAZY, _SUBMODULES)
