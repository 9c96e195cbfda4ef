r"""Spot outliers for the β fit: Poisson intervals against Poisson–gamma predictive intervals.

A spot is an outlier when, for any element, both its spot peak intensity and its map intensity lie
wholly outside what the other predicts (project notes imaging_texture.md §A.7, after QntMap
``find_outlier``; written from that description).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

__all__ = ["garwood_interval", "spot_outliers"]


def garwood_interval(value, offset, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    r"""Exact (Garwood 1936) Poisson interval of a rate ``value`` observed over ``offset``.

    With :math:`k = \mathrm{round}(value \cdot offset)` counts:
    :math:`L = \Gamma^{-1}(a/2;\,k)/offset`, :math:`H = \Gamma^{-1}(1-a/2;\,k+1)/offset`,
    :math:`a = 1 - level` (L = 0 for k = 0).

    Parameters
    ----------
    value : float or array-like
        Observed rate(s) (counts per unit of ``offset``, e.g. cps).
    offset : float or array-like
        Exposure (e.g. counting time, s) by which ``value`` is multiplied to give counts;
        broadcast against ``value``.
    level : float, default 0.95
        Confidence level of the two-sided interval.

    Returns
    -------
    lo, hi : numpy.ndarray
        Lower and upper bounds of the interval, in the units of ``value``.

    Examples
    --------
    >>> lo, hi = garwood_interval(10.0, 1.0)
    >>> round(float(lo), 3), round(float(hi), 3)
    (4.795, 18.39)
    """
    a = 1 - level
    k = np.rint(np.asarray(value, float) * offset)
    lo = np.where(k > 0, stats.gamma.ppf(a / 2, np.maximum(k, 1e-300)), 0.0) / offset
    hi = stats.gamma.ppf(1 - a / 2, k + 1) / offset
    return lo, hi


def _median_slope(x: np.ndarray, y: np.ndarray) -> float:
    """L1 regression through the origin: weighted median of y/x with weights |x|."""
    m = x > 0
    if not m.any():
        return np.nan
    r, w = y[m] / x[m], x[m]
    o = np.argsort(r)
    cw = np.cumsum(w[o])
    return float(r[o][np.searchsorted(cw, 0.5 * cw[-1])])


def spot_outliers(
    pk: pd.DataFrame,
    mapint: pd.DataFrame,
    *,
    t_pk: pd.Series,
    t_map: float,
    percentile: float = 0.99,
) -> pd.Series:
    r"""Flag spots whose peak and map intensities contradict each other.

    Parameters
    ----------
    pk : DataFrame
        Spot peak intensities (cps/µA), spots × elements.
    mapint : DataFrame
        Map intensities at the spot pixels, counts/(dwell[s]·I_map[µA]), same shape.
    t_pk : Series
        Per spot and element offset of the peak count, peak time[s]·spot current[µA]; a Series
        indexed by element (same for all spots) or a DataFrame like ``pk``.
    t_map : float
        Map offset dwell[s]·I_map[µA].
    percentile : float, default 0.99
        Coverage of the predictive interval.

    Returns
    -------
    Series of bool
        True for outliers, indexed like ``pk``.

    Notes
    -----
    Slope :math:`\hat b` by median regression of pk on mapint through the origin. The predictive
    interval of pk is :math:`[NB^{-1}(lo;\,mapint_L\hat b t_{pk}, \tfrac12),
    NB^{-1}(hi;\,mapint_H\hat b t_{pk}, \tfrac12)]/t_{pk}` — a negative binomial with size λ and
    p = ½ has mean λ and variance 2λ (Poisson–gamma) — with (mapint_L, mapint_H) its Garwood 95 %
    interval; symmetrically for mapint given pk with :math:`1/\hat b` and :math:`t_{map}`. A spot is an
    outlier if, for some element, both intervals miss. QntMap pairs the mapint bounds with the
    opposite quantiles; here each bound uses its own quantile.
    """
    lo_q, hi_q = (1 - percentile) / 2, 1 - (1 - percentile) / 2
    flag = np.zeros(len(pk), dtype=bool)
    for el in pk.columns:
        tp = np.asarray(t_pk[el] if isinstance(t_pk, pd.DataFrame) else t_pk.loc[el], float)
        y, x = pk[el].to_numpy(float), mapint[el].to_numpy(float)
        b = _median_slope(x, y)
        if not np.isfinite(b) or b <= 0:
            continue
        pk_l, pk_h = garwood_interval(y, tp)
        mi_l, mi_h = garwood_interval(x, t_map)
        with np.errstate(invalid="ignore"):
            pk_lo_est = stats.nbinom.ppf(lo_q, np.maximum(mi_l * b * tp, 1e-12), 0.5) / tp
            pk_hi_est = stats.nbinom.ppf(hi_q, np.maximum(mi_h * b * tp, 1e-12), 0.5) / tp
            mi_lo_est = stats.nbinom.ppf(lo_q, np.maximum(pk_l / b * t_map, 1e-12), 0.5) / t_map
            mi_hi_est = stats.nbinom.ppf(hi_q, np.maximum(pk_h / b * t_map, 1e-12), 0.5) / t_map
        bad_pk = (pk_h < pk_lo_est) | (pk_l > pk_hi_est)
        bad_map = (mi_h < mi_lo_est) | (mi_l > mi_hi_est)
        flag |= bad_pk & bad_map
    return pd.Series(flag, index=pk.index, name="outlier")
