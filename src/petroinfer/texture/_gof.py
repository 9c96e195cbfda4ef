r"""Goodness-of-fit statistics on the circle: Kuiper's V and Watson's U².

Both act on the probability-integral transform :math:`u_i = F(\theta_i)` of the data and are invariant
to the choice of origin on the circle, as a circular test must be.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["kuiper_test", "watson_u2_test"]


def kuiper_test(u: Any) -> tuple[float, float]:
    r"""Kuiper's V for uniformity of PIT values and its asymptotic p-value.

    Parameters
    ----------
    u : array_like
        :math:`F(\theta_i)` of n observations under the fitted distribution, in [0, 1].

    Returns
    -------
    V : float
        :math:`V = D^+ + D^-`, :math:`D^+ = \max(i/n - u_{(i)})`, :math:`D^- = \max(u_{(i)} - (i-1)/n)`.
    p : float
        :math:`P = \sum_{j\ge1} 2(4j^2V_*^2 - 1)e^{-2j^2V_*^2}` with Stephens' (1970, JRSS B 32:115)
        modification :math:`V_* = V(\sqrt n + 0.155 + 0.24/\sqrt n)`; valid for a fully specified F
        (conservative when parameters were estimated).

    Examples
    --------
    >>> v, p = kuiper_test(np.linspace(0.01, 0.99, 50))
    >>> bool(p > 0.99)
    True
    """
    u = np.sort(np.asarray(u, float))
    n = u.size
    i = np.arange(1, n + 1)
    v = float(np.max(i / n - u) + np.max(u - (i - 1) / n))
    vs = v * (math.sqrt(n) + 0.155 + 0.24 / math.sqrt(n))
    j = np.arange(1, 101)
    p = float(np.sum(2 * (4 * j**2 * vs**2 - 1) * np.exp(-2 * j**2 * vs**2)))
    return v, float(np.clip(p, 0.0, 1.0))


def watson_u2_test(u: Any) -> tuple[float, float]:
    r"""Watson's U² for uniformity of PIT values and its asymptotic p-value.

    Parameters
    ----------
    u : array_like
        :math:`F(\theta_i)` under the fitted distribution, in [0, 1].

    Returns
    -------
    U2 : float
        :math:`U^2 = \sum_i (u_{(i)} - \tfrac{2i-1}{2n})^2 - n(\bar u - \tfrac12)^2 + \tfrac{1}{12n}`.
    p : float
        :math:`P = 2\sum_{j\ge1}(-1)^{j-1}e^{-2j^2\pi^2U_*^2}` with Stephens' (1970) modification
        :math:`U_*^2 = (U^2 - 0.1/n + 0.1/n^2)(1 + 0.8/n)`; conservative with fitted parameters.

    Examples
    --------
    >>> u2, p = watson_u2_test(np.full(40, 0.5))
    >>> bool(p < 1e-6)
    True
    """
    u = np.sort(np.asarray(u, float))
    n = u.size
    i = np.arange(1, n + 1)
    u2 = float(np.sum((u - (2 * i - 1) / (2 * n)) ** 2) - n * (u.mean() - 0.5) ** 2 + 1 / (12 * n))
    us = (u2 - 0.1 / n + 0.1 / n**2) * (1 + 0.8 / n)
    if us <= 0:
        return u2, 1.0
    j = np.arange(1, 101)
    p = float(2 * np.sum((-1.0) ** (j - 1) * np.exp(-2 * j**2 * np.pi**2 * us)))
    return u2, float(np.clip(p, 0.0, 1.0))
