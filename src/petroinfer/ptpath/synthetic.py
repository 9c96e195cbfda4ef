"""Synthetic P–T path data with known truth (tests, documentation, ``petroinfer demo``).

:func:`synthetic_inclusions` builds a zoned garnet whose biotite and plagioclase inclusions record a
known P–T path through a chosen thermometer/barometer pair. Generators for the sibling inversions
(zoning profiles from the Gibbs method, diffusion-modified profiles) belong here too.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from petroinfer._rng import RandomState, as_generator
from petroinfer.errors import ModelError
from petroinfer.thermo import barometer, thermometer
from petroinfer.units import celsius_to_kelvin, kbar_to_bar

__all__ = ["synthetic_inclusions", "true_path"]


def true_path(
    s: np.ndarray, t_range: tuple[float, float], p_path: tuple[float, float, float]
) -> tuple[np.ndarray, np.ndarray]:
    """The known path of the synthetic garnets: T rises monotonically, P rises to a peak at 60 % of
    the radius and decompresses to the rim.

    Parameters
    ----------
    s : numpy.ndarray
        Relative radius in [0, 1] (core 0, rim 1).
    t_range : tuple of float
        (T at the core, T at the rim) in °C; T = t0 + (t1 − t0)(1 − (1 − s)^1.5).
    p_path : tuple of float
        (P at the core, peak P at s = 0.6, P at the rim) in kbar, joined by sin² ramps.

    Returns
    -------
    T_C : numpy.ndarray
        Temperature (°C) at ``s``.
    P_kbar : numpy.ndarray
        Pressure (kbar) at ``s``.

    Examples
    --------
    >>> import numpy as np
    >>> T, P = true_path(np.array([0.0, 0.6, 1.0]), (500.0, 620.0), (5.0, 9.0, 6.0))
    >>> np.round(T, 1).tolist(), P.tolist()
    ([500.0, 589.6, 620.0], [5.0, 9.0, 6.0])
    """
    t0, t1 = t_range
    p0, pmax, p1 = p_path
    T = t0 + (t1 - t0) * (1 - (1 - s) ** 1.5)
    up = p0 + (pmax - p0) * np.sin(0.5 * np.pi * np.clip(s / 0.6, 0, 1)) ** 2
    down = pmax - (pmax - p1) * np.sin(0.5 * np.pi * np.clip((s - 0.6) / 0.4, 0, 1)) ** 2
    return T, np.where(s <= 0.6, up, down)


def _garnet_zoning(s: np.ndarray) -> np.ndarray:
    """Bell-shaped Mn, rimward-increasing Mg, decreasing Ca: (XAlm, XPrp, XGrs, XSps)."""
    sps = 0.02 + 0.16 * np.exp(-((s / 0.35) ** 2))
    prp = 0.05 + 0.09 * s
    grs = 0.12 - 0.05 * s
    return np.column_stack([1 - sps - prp - grs, prp, grs, sps])


def _bisect(fun, lo: float, hi: float, n: int) -> np.ndarray:
    a = np.full(n, lo)
    b = np.full(n, hi)
    fa = fun(a)
    fb = fun(b)
    if np.any(np.sign(fa) == np.sign(fb)):
        raise ModelError(
            "synthetic path outside the composition range that the calibrations can reproduce"
        )
    for _ in range(60):
        mid = 0.5 * (a + b)
        fm = fun(mid)
        left = np.sign(fm) == np.sign(fa)
        a = np.where(left, mid, a)
        fa = np.where(left, fm, fa)
        b = np.where(left, b, mid)
    return 0.5 * (a + b)


def synthetic_inclusions(
    n_nodes: int = 40,
    *,
    radius_mm: float = 2.0,
    t_range_c: tuple[float, float] = (500.0, 620.0),
    p_path_kbar: tuple[float, float, float] = (5.0, 9.0, 6.0),
    sigma: float = 0.005,
    thermometer_name: str = "HS82",
    barometer_name: str = "KN88",
    polymorph: str = "ky",
    paired: bool = True,
    random_state: RandomState = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Synthetic zoned garnet with biotite and plagioclase inclusions consistent with a calibration pair.

    A true path (T rising from ``t_range_c[0]`` to ``[1]``, P rising to ``p_path_kbar[1]`` at 60 % of
    the radius then falling to ``[2]``) is set at ``n_nodes`` radii; the host garnet is zoned (bell-shaped
    Mn, rimward Mg increase, Ca decrease); at each node a biotite X_Mg and a plagioclase X_An are solved
    so that the chosen thermometer and barometer hold exactly at the true (T, P); then Gaussian noise of
    SD ``sigma`` is added to every mole fraction.

    Parameters
    ----------
    n_nodes : int
        Number of radii (≥ 3); one biotite and one plagioclase inclusion at each.
    radius_mm : float
        Garnet radius (mm).
    t_range_c : tuple of float
        Core and rim temperature (°C).
    p_path_kbar : tuple of float
        Core, peak and rim pressure (kbar).
    sigma : float
        SD of the Gaussian noise added to every mole fraction.
    thermometer_name, barometer_name, polymorph : str
        The calibration pair that the inclusions satisfy exactly before noise.
    paired : bool
        Inclusions at the node radii (True) or jittered by up to ±30 % of the spacing.
    random_state : int or numpy.random.Generator, optional
        Seed of the noise and the jitter.

    Returns
    -------
    data : pandas.DataFrame
        One row per inclusion (core → rim): ``radius`` (mm), ``inclusion``, ``Grt_X*``, ``Bt_XMg``
        or ``Pl_XAn`` (the other NaN).
    truth : pandas.DataFrame
        ``radius``, ``T_C``, ``P_kbar`` at the nodes.

    Notes
    -----
    Generator and solver share the package's calibrations; ``tests/ptpath/test_inclusions_reference.py``
    checks both against the published HS82/KN88 equations written out independently.

    Examples
    --------
    >>> data, truth = synthetic_inclusions(5, random_state=0)
    >>> data.shape, list(truth.columns)
    ((10, 8), ['radius', 'T_C', 'P_kbar'])
    """
    if int(n_nodes) < 3:
        raise ModelError(f"n_nodes must be >= 3, got {n_nodes!r}")
    rng = as_generator(random_state)
    s = np.linspace(0.0, 1.0, int(n_nodes))
    T_c, P_k = true_path(s, t_range_c, p_path_kbar)
    T, P = celsius_to_kelvin(T_c), kbar_to_bar(P_k)
    grt = _garnet_zoning(s)
    teq = thermometer(thermometer_name)
    beq = barometer(barometer_name, polymorph)
    n = s.size

    def comp(xmg, xan):
        return np.column_stack([grt, xmg, xan])

    xmg = _bisect(lambda v: teq.residual(T, P, comp(v, np.full(n, 0.3))), 0.01, 0.99, n)
    xan = _bisect(lambda v: beq.residual(T, P, comp(np.full(n, 0.4), v)), 0.02, 0.98, n)
    r_mm = s * radius_mm
    r_bt = r_mm.copy()
    r_pl = r_mm.copy()
    if not paired:
        h = radius_mm / max(n - 1, 1)
        r_bt = np.clip(r_mm + rng.uniform(-0.3, 0.3, n) * h, 0, radius_mm)
        r_pl = np.clip(r_mm + rng.uniform(-0.3, 0.3, n) * h, 0, radius_mm)

    def noisy(x):
        return np.clip(x + sigma * rng.standard_normal(x.shape), 1e-4, 0.999)

    cols = ["Grt_XAlm", "Grt_XPrp", "Grt_XGrs", "Grt_XSps"]
    bt = pd.DataFrame(noisy(grt), columns=cols)
    bt.insert(0, "inclusion", "biotite")
    bt.insert(0, "radius", r_bt)
    bt["Bt_XMg"] = noisy(xmg)
    bt["Pl_XAn"] = np.nan
    pl = pd.DataFrame(noisy(grt), columns=cols)
    pl.insert(0, "inclusion", "plagioclase")
    pl.insert(0, "radius", r_pl)
    pl["Bt_XMg"] = np.nan
    pl["Pl_XAn"] = noisy(xan)
    data = pd.concat([bt, pl], ignore_index=True)
    data = data.iloc[
        np.lexsort((data["inclusion"].to_numpy(), data["radius"].to_numpy()))
    ].reset_index(drop=True)
    truth = pd.DataFrame({"radius": r_mm, "T_C": T_c, "P_kbar": P_k})
    return data, truth
