r"""The EPMA observation operator: sample a radial profile along a traverse through a section.

A traverse at positions x (m) along a section cut at distance d from the grain centre sees the
radius :math:`r = \sqrt{x^2 + d^2}` (off-centre cuts make a grain look smaller and its profiles
steeper; ``science/gibbs_diffusion.md`` §D.7–D.8). The electron beam averages over a Gaussian of SD
:math:`\sigma_b` along the traverse (Borinski et al. 2012 use the same convolution model):

.. math:: y(x) = \int C\!\left(\sqrt{x'^2 + d^2}\right) \frac{1}{\sqrt{2\pi}\sigma_b}
          e^{-(x'-x)^2/2\sigma_b^2}\,dx' \approx \sum_q \frac{w_q}{\sqrt\pi}
          C\!\left(\sqrt{(x + \sqrt2\sigma_b u_q)^2 + d^2}\right)

(Gauss–Hermite nodes :math:`u_q`, weights :math:`w_q`). C(r) interpolates the cell values linearly
between cell centroids and is constant beyond the first and last centroid (outside the grain the
beam is taken to see the rim composition).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from petroinfer.errors import InputError

__all__ = ["observe_profile"]


def observe_profile(
    centres: ArrayLike,
    composition: ArrayLike,
    positions: ArrayLike,
    *,
    offset: float = 0.0,
    beam_sigma: float = 0.0,
    n_quadrature: int = 9,
) -> np.ndarray:
    r"""Model values at EPMA traverse points.

    Parameters
    ----------
    centres : array_like, shape (N,)
        Increasing cell centroids of the model grid, m.
    composition : array_like, shape (..., N, m)
        Cell values (any leading batch axes).
    positions : array_like, shape (n,)
        Traverse coordinates x, m (signed; 0 is the point closest to the centre).
    offset : float
        Distance d of the section plane from the centre, m.
    beam_sigma : float
        Gaussian beam SD along the traverse, m (0: point sampling).
    n_quadrature : int
        Gauss–Hermite nodes of the beam average.

    Returns
    -------
    ndarray, shape (..., n, m)

    Examples
    --------
    >>> r = np.array([0.5, 1.5, 2.5])
    >>> c = np.array([[0.0], [1.0], [2.0]])
    >>> observe_profile(r, c, [1.0, 2.0])[:, 0].tolist()
    [0.5, 1.5]
    """
    r = np.asarray(centres, dtype=float)
    c = np.asarray(composition, dtype=float)
    x = np.asarray(positions, dtype=float)
    if r.ndim != 1 or np.any(np.diff(r) <= 0):
        raise InputError("observe_profile: centres must be strictly increasing")
    if c.ndim < 2 or c.shape[-2] != r.size:
        raise InputError(
            f"observe_profile: composition must have {r.size} cells on axis -2", value=c.shape
        )
    if x.ndim != 1 or not np.all(np.isfinite(x)):
        raise InputError("observe_profile: positions must be a 1-D array of finite numbers")
    if not (np.isfinite(offset) and offset >= 0):
        raise InputError("observe_profile: offset must be >= 0", value=offset)
    if not (np.isfinite(beam_sigma) and beam_sigma >= 0):
        raise InputError("observe_profile: beam_sigma must be >= 0", value=beam_sigma)
    if beam_sigma > 0:
        u, w = np.polynomial.hermite.hermgauss(int(n_quadrature))
        xq = x[:, None] + np.sqrt(2.0) * beam_sigma * u[None, :]
        wq = w / np.sqrt(np.pi)
    else:
        xq = x[:, None]
        wq = np.ones(1)
    rq = np.sqrt(xq**2 + offset**2).ravel()
    # linear interpolation weights, shared by every member and component
    j = np.clip(np.searchsorted(r, rq) - 1, 0, r.size - 2) if r.size > 1 else np.zeros_like(rq, int)
    if r.size > 1:
        f = np.clip((rq - r[j]) / (r[j + 1] - r[j]), 0.0, 1.0)
        vals = c[..., j, :] * (1 - f)[:, None] + c[..., j + 1, :] * f[:, None]
    else:
        vals = np.repeat(c, rq.size, axis=-2)
    vals = vals.reshape(*c.shape[:-2], x.size, wq.size, c.shape[-1])
    return np.einsum("...nqm,q->...nm", vals, wq)
