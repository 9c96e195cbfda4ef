"""Ensemble smoother with multiple data assimilation (ES-MDA) for expensive forward models.

Public entry points: :class:`ESMDA` (``fit(observations, obs_error)`` → :class:`EnsembleResult`) and
:func:`inflation_coefficients`.
"""

from petroinfer.inference._ensemble import ESMDA, EnsembleResult, inflation_coefficients

__all__ = ["ESMDA", "EnsembleResult", "inflation_coefficients"]
