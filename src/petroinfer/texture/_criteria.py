"""Information criteria shared by the orientation and microboudin model tables."""

from __future__ import annotations

import math

__all__ = ["aic", "aicc", "bic"]


def aic(log_likelihood: float, k: int) -> float:
    """Akaike (1974): AIC = −2ℓ̂ + 2k."""
    return -2 * log_likelihood + 2 * k


def aicc(log_likelihood: float, k: int, n: int) -> float:
    """AICc = AIC + 2k(k + 1)/(n − k − 1) (Hurvich & Tsai 1989); inf when n ≤ k + 1."""
    d = n - k - 1
    return aic(log_likelihood, k) + (2 * k * (k + 1) / d if d > 0 else math.inf)


def bic(log_likelihood: float, k: int, n: int) -> float:
    """Schwarz (1978): BIC = −2ℓ̂ + k log n."""
    return -2 * log_likelihood + k * math.log(n)
