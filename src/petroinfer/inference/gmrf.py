r"""Gaussian Markov random fields: intrinsic priors, exact and Laplace posteriors, evidence.

Priors
    :class:`ChainPrior` (1-D chain, order 1 or 2, non-uniform spacing) and :class:`GridPrior` (2-D
    lattice, order 1 or 2), each with one or several channels (independent or coupled increments) and
    optional proper :class:`Anchor` s (a Gaussian prior on a node, or on the channel's average:
    a dense rank-one precision term handled by Woodbury / determinant-lemma updates).
Models
    :class:`LinearGMRF` for ``y = A x + e`` (exact posterior and evidence) and :class:`NonlinearGMRF` for
    ``y = f(x) + e`` (Levenberg–Marquardt MAP, Laplace posterior and Laplace evidence). Noise and
    smoothness precisions are chosen by maximising the evidence unless fixed.

All linear algebra is banded: the posterior precision of a chain has a bandwidth of
``order * n_channels + n_channels - 1`` (interleaved node-major ordering), a grid one of about
``order * min(ny, nx) * n_channels``, so cost is linear in the number of nodes for chains and
``O(n min(ny, nx)^2)`` for grids. Marginal variances come from two banded Cholesky factorisations
(forward and reversed ordering) without ever forming the inverse (block "twisted" factorisation).

The state vector ``x`` is laid out as an array of shape ``prior.shape + (n_channels,)``; operators,
Jacobians and observations refer to ``x.ravel()`` (C order: node-major, channel fastest).

Public contract
    Models: ``fit(y) -> GMRFResult``; ``log_evidence(y, noise_precision, smoothness)`` at given
    hyperparameters (exact for :class:`LinearGMRF`, Laplace for :class:`NonlinearGMRF`);
    ``search_hyperparameters(y, *, bounds, start, tol, max_evaluations, callback, ...)`` ->
    :class:`HyperparameterSearch`. Priors: ``precision(kappa)``, ``log_determinant(kappa)``,
    ``log_density(x, kappa)``, ``mean(kappa)``, ``sample(kappa, n, random_state)``,
    :meth:`ChainPrior.interpolation_matrix`.

The implementation lives in private modules (``_gmrf_banded``: banded algebra; ``_gmrf_prior_base``
and ``_gmrf_priors``: priors; ``_gmrf_search``: evidence search; ``_gmrf_results``: the result;
``_gmrf_models`` and ``_gmrf_nonlinear``: the models; ``_gmrf_conditioning``: accuracy at scale).

Conditioning
    Prior increments are evaluated in difference form (no assembled rows), the posterior mean is
    refined by Newton corrections with that accurate gradient, and on very fine chains the log
    determinant is corrected on smooth modes; a :class:`~petroinfer.errors.DataQualityWarning`
    reports a mean or an evidence that may still be inaccurate (docs/methods/gmrf.md).
"""

from petroinfer.inference._gmrf_banded import (  # noqa: F401  (private names kept for tests)
    _add_bands,
    _band_matvec,
    _band_to_sparse,
    _cholesky,
    _Factor,
    _log_evidence,
    _logdet_star,
    _lower_band,
    _marginal_blocks,
    _pick_rows,
)
from petroinfer.inference._gmrf_models import LinearGMRF
from petroinfer.inference._gmrf_nonlinear import NonlinearGMRF
from petroinfer.inference._gmrf_prior_base import Anchor
from petroinfer.inference._gmrf_priors import ChainPrior, GridPrior
from petroinfer.inference._gmrf_results import GMRFResult
from petroinfer.inference._gmrf_search import HyperparameterSearch

__all__ = [
    "Anchor",
    "ChainPrior",
    "GMRFResult",
    "GridPrior",
    "HyperparameterSearch",
    "LinearGMRF",
    "NonlinearGMRF",
]
