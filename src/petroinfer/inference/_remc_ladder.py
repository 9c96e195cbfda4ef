"""Inverse-temperature ladders and the log-evidence estimators of replica exchange.

Part of the implementation behind :mod:`petroinfer.inference.remc` (which re-exports the public
names): :func:`geometric_ladder`, :func:`validate_ladder`, :func:`stepping_stone` and
:func:`thermodynamic_integration`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from petroinfer.errors import InputError, ModelError, format_value
from petroinfer.inference.diagnostics import batch_means_se

__all__ = ["geometric_ladder", "stepping_stone", "thermodynamic_integration", "validate_ladder"]


# ----------------------------------------------------------------------------------------- ladders
def geometric_ladder(n_temps: int, beta_min: float = 1e-4) -> np.ndarray:
    """Geometric inverse-temperature ladder with a prior rung: ``[0, β_min, …, 1]``.

    Parameters
    ----------
    n_temps : int
        Number of rungs ``L ≥ 2`` including β = 0 and β = 1.
    beta_min : float
        Smallest positive inverse temperature β₂ (0 < β_min < 1).

    Returns
    -------
    numpy.ndarray
        β₁ = 0 and β_l = γ^{l−L} for l = 2 … L with γ = β_min^{−1/(L−2)} (Nagata, Sugita & Okada 2012,
        §3; γ ≈ 1.2–1.6 gives swap rates of 0.2–0.5 on typical problems).

    Examples
    --------
    >>> geometric_ladder(4, 0.01).round(3).tolist()
    [0.0, 0.01, 0.1, 1.0]
    """
    if not isinstance(n_temps, (int, np.integer)) or n_temps < 2:
        raise ModelError(f"n_temps must be an int >= 2, got {format_value(n_temps)}")
    if not (0.0 < beta_min < 1.0):
        raise ModelError(f"beta_min must lie in (0, 1), got {format_value(beta_min)}")
    if n_temps == 2:
        return np.array([0.0, 1.0])
    return np.concatenate([[0.0], np.geomspace(beta_min, 1.0, n_temps - 1)])


def validate_ladder(betas: Any) -> np.ndarray:
    """Check an inverse-temperature ladder: 1-D, finite, starts at 0, ends at 1, strictly increasing.

    Parameters
    ----------
    betas : array-like
        Candidate ladder ``(L,)``, ``L ≥ 2``.

    Returns
    -------
    numpy.ndarray
        The ladder as floats.

    Raises
    ------
    ModelError
        Naming the first violated condition and the offending value.

    Examples
    --------
    >>> validate_ladder([0, 0.1, 1]).tolist()
    [0.0, 0.1, 1.0]
    >>> validate_ladder([0, 0.5, 0.5, 1])
    Traceback (most recent call last):
    ...
    petroinfer.errors.ModelError: betas must be strictly increasing; betas[1] = 0.5 >= betas[2] = 0.5
    """
    try:
        b = np.asarray(betas, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ModelError(f"betas must be numbers, got {format_value(betas)}") from exc
    if b.ndim != 1 or b.size < 2:
        raise ModelError(f"betas must be a 1-D ladder of at least 2 values, got shape {b.shape}")
    if not np.all(np.isfinite(b)):
        raise ModelError(f"betas must be finite, got {b.tolist()}")
    if b[0] != 0.0:
        raise ModelError(
            f"the ladder must start at beta = 0 (the prior), got betas[0] = {format_value(b[0])}"
        )
    if b[-1] != 1.0:
        raise ModelError(
            f"the ladder must end at beta = 1 (the posterior), got betas[-1] = {format_value(b[-1])}"
        )
    steps = np.diff(b)
    if np.any(steps <= 0):
        i = int(np.argmax(steps <= 0))
        raise ModelError(
            f"betas must be strictly increasing; betas[{i}] = {format_value(b[i])} >= betas[{i + 1}] = {format_value(b[i + 1])}"
        )
    return b


# ----------------------------------------------------------------------------------------- estimators
def _stepping_stone_terms(betas: np.ndarray, loglik: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-rung log ratios and per-draw influence values for the stepping-stone estimator."""
    dbeta = np.diff(betas)  # (L-1,)
    a = dbeta[None, :] * loglik[:, :-1]  # (n, L-1)
    c = a.max(axis=0)
    r = np.exp(a - c)  # (n, L-1), in (0, 1]
    m = r.mean(axis=0)
    log_ratios = np.log(m) + c
    influence = (r / m - 1.0).sum(axis=1)  # delta-method linearisation of sum log mean
    return log_ratios, influence


def stepping_stone(betas: Any, loglik: Any, n_batches: int | None = None) -> tuple[float, float]:
    r"""Stepping-stone estimate of the log evidence from tempered log-likelihood draws.

    Parameters
    ----------
    betas : array-like
        Ladder ``(L,)`` with β₁ = 0 and β_L = 1.
    loglik : array-like
        ``(n_draws, L)`` log-likelihood values of the state of each rung at each sweep.
    n_batches : int or None
        Batches for the batch-means standard error (default ``sqrt(n)`` in [10, 100]).

    Returns
    -------
    log_z, se : float
        :math:`\log \hat Z = \sum_{l=1}^{L-1} \log \frac1n \sum_t
        \exp[(β_{l+1}-β_l)\,\ell(w^{(l)}_t)]` (Xie et al. 2011; Nagata et al. 2012 eq. 13), computed
        with a per-rung log-sum-exp shift; the standard error is the batch-means SE of the delta-method
        influence :math:`ψ_t = \sum_l (r_{l,t}/\bar r_l - 1)`, which keeps the correlation between
        rungs of one sweep.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> b = np.array([0.0, 1.0])
    >>> ll = np.column_stack([rng.standard_normal(4000), np.zeros(4000)])  # log L ~ N(0,1) under prior
    >>> round(stepping_stone(b, ll)[0], 1)  # log E[exp(N(0,1))] = 0.5
    0.5
    """
    b = validate_ladder(betas)
    ll = np.asarray(loglik, dtype=float)
    if ll.ndim != 2 or ll.shape[1] != b.size:
        raise InputError(f"loglik must have shape (n_draws, {b.size})", value=ll.shape)
    log_ratios, infl = _stepping_stone_terms(b, ll)
    return float(log_ratios.sum()), batch_means_se(infl, n_batches)


def thermodynamic_integration(
    betas: Any, loglik: Any, n_batches: int | None = None
) -> tuple[float, float]:
    r"""Thermodynamic-integration estimate of the log evidence (trapezoid rule over the ladder).

    :math:`\log Z = \int_0^1 \langle \ell \rangle_β\, dβ` (Kirkwood 1935; Gelman & Meng 1998;
    Lartillot & Philippe 2006), discretised with the trapezoid rule on the ladder. It carries a
    discretisation bias on coarse ladders, so petroinfer reports it as a diagnostic next to the
    stepping-stone estimate.

    Parameters
    ----------
    betas : array-like
        Ladder ``(L,)`` with β₁ = 0 and β_L = 1.
    loglik : array-like
        ``(n_draws, L)`` log-likelihood values of the state of each rung at each sweep.
    n_batches : int or None
        Batches for the batch-means standard error (default ``sqrt(n)`` in [10, 100]).

    Returns
    -------
    log_z, se : float
        The trapezoid-rule estimate and the batch-means standard error of
        :math:`\sum_l w_l \ell_l` per sweep.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> ll = np.column_stack([rng.normal(-1.0, 0.1, 4000), rng.normal(-0.5, 0.1, 4000)])
    >>> round(thermodynamic_integration([0.0, 1.0], ll)[0], 2)  # (-1 - 0.5) / 2
    -0.75
    """
    b = validate_ladder(betas)
    ll = np.asarray(loglik, dtype=float)
    if ll.ndim != 2 or ll.shape[1] != b.size:
        raise InputError(f"loglik must have shape (n_draws, {b.size})", value=ll.shape)
    w = np.zeros(b.size)
    db = np.diff(b)
    w[:-1] += db / 2
    w[1:] += db / 2
    mean = ll.mean(axis=0)
    return float(w @ mean), batch_means_se((ll - mean) @ w, n_batches)
