"""Synthetic test cases with known truth for spatial fuzzy clustering (fixed seeds)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from petroinfer._rng import RandomState, as_generator

__all__ = ["make_domain_map", "make_scattered_units"]

#: Domain means (3 domains × 4 elements, arbitrary concentration units) used by make_domain_map.
DOMAIN_MEANS = np.array([[10.0, 20.0, 5.0, 8.0], [12.0, 18.0, 6.0, 8.5], [11.0, 21.5, 6.5, 7.0]])


def _domains(shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """Three contiguous domains: Voronoi cells of three seeds spread over the map."""
    ny, nx = shape
    seeds = np.array([[0.25, 0.3], [0.7, 0.25], [0.5, 0.75]]) + rng.uniform(-0.05, 0.05, (3, 2))
    yy, xx = np.mgrid[0:ny, 0:nx]
    P = np.stack([yy / ny, xx / nx], axis=-1)
    d = ((P[..., None, :] - seeds) ** 2).sum(-1)
    return d.argmin(-1)


def make_domain_map(
    shape: tuple[int, int] = (64, 64),
    *,
    noise: float = 1.0,
    salt: float = 0.10,
    random_state: RandomState = None,
) -> tuple[np.ndarray, np.ndarray]:
    """An element map of 3 domains with overlapping compositions and salt noise.

    Each pixel is its domain's mean (:data:`DOMAIN_MEANS`, 4 elements) plus Gaussian noise of SD
    ``noise`` per element (the domain means are 1–2.5 SD apart, so their compositional
    distributions overlap); a fraction ``salt`` of the pixels is replaced by values drawn uniformly
    between the 1st and 99th percentiles ×(0.5, 1.5) of each element (impulse noise).

    Parameters
    ----------
    shape : (int, int), default (64, 64)
        Map size (ny, nx) in pixels.
    noise : float, default 1.0
        Gaussian noise SD per element (concentration units).
    salt : float, default 0.10
        Fraction of pixels replaced by impulse noise.
    random_state : int, numpy Generator or None
        Seed.

    Returns
    -------
    image : ndarray of shape (ny, nx, 4)
    truth : ndarray of int, shape (ny, nx)
        Domain of every pixel (0, 1, 2).

    Examples
    --------
    >>> img, truth = make_domain_map(shape=(8, 8), random_state=0)
    >>> img.shape, sorted(set(truth.ravel().tolist()))
    ((8, 8, 4), [0, 1, 2])
    """
    rng = as_generator(random_state)
    truth = _domains(shape, rng)
    img = DOMAIN_MEANS[truth] + rng.normal(0.0, noise, size=(*shape, DOMAIN_MEANS.shape[1]))
    n_salt = round(salt * truth.size)
    pick = rng.choice(truth.size, n_salt, replace=False)
    lo = np.percentile(img, 1, axis=(0, 1)) * 0.5
    hi = np.percentile(img, 99, axis=(0, 1)) * 1.5
    flat = img.reshape(-1, img.shape[2])
    flat[pick] = rng.uniform(lo, hi, size=(n_salt, img.shape[2]))
    return img, truth


def make_scattered_units(
    n: int = 400,
    *,
    extent_km: float = 50.0,
    noise: float = 0.35,
    random_state: RandomState = None,
) -> tuple[pd.DataFrame, np.ndarray]:
    """Scattered field samples from 3 geological units with overlapping compositional trends.

    Samples are uniform over an ``extent_km`` square; the units are three bands along x. In each
    unit the composition follows a linear differentiation trend :math:`x=a_u+t\\,b_u`,
    :math:`t\\sim U(0,1)`, plus Gaussian noise (SD ``noise``); the three trends cross in
    composition space, so composition alone cannot separate the units everywhere.

    Parameters
    ----------
    n : int, default 400
        Number of samples.
    extent_km : float, default 50.0
        Side of the sampled square (km).
    noise : float, default 0.35
        Noise SD in units of each element's scale (2, 1, 0.5, 15).
    random_state : int, numpy Generator or None
        Seed.

    Returns
    -------
    table : pandas.DataFrame
        Columns ``x``, ``y`` (km) and ``SiO2``, ``MgO``, ``K2O``, ``Rb`` (arbitrary units, positive).
    truth : ndarray of int, shape (n,)
        Unit of every sample (0, 1, 2).

    Examples
    --------
    >>> df, truth = make_scattered_units(n=10, random_state=0)
    >>> list(df.columns)
    ['x', 'y', 'SiO2', 'MgO', 'K2O', 'Rb']
    """
    rng = as_generator(random_state)
    xy = rng.uniform(0, extent_km, size=(n, 2))
    truth = np.digitize(xy[:, 0] + 0.15 * xy[:, 1], [extent_km * 0.38, extent_km * 0.78])
    a = np.array([[58.0, 6.0, 1.5, 60.0], [59.0, 5.6, 1.6, 62.0], [58.5, 5.8, 1.4, 58.0]])
    b = np.array([[12.0, -4.0, 1.0, 20.0], [6.0, -1.0, 3.0, 30.0], [8.0, -2.0, 0.5, 120.0]])
    t = rng.uniform(0, 1, size=(n, 1))
    scale = np.array([2.0, 1.0, 0.5, 15.0])
    comp = a[truth] + t * b[truth] + rng.normal(0, noise, size=(n, 4)) * scale
    comp = np.abs(comp) + 0.01
    df = pd.DataFrame(comp, columns=["SiO2", "MgO", "K2O", "Rb"])
    df.insert(0, "y", xy[:, 1])
    df.insert(0, "x", xy[:, 0])
    df.index = pd.Index([f"S{i:04d}" for i in range(n)], name="sample")
    return df, truth
