r"""Moving-boundary diffusion in a growing grain by the Landau transform ξ = r / R(t).

With ξ ∈ [0, 1] the grain always fills the grid and growth becomes an advective term
(Landau 1950; Crank 1984, *Free and Moving Boundary Problems*, §3.3; ``science/gibbs_diffusion.md``
§C.5):

.. math:: \left.\frac{\partial c}{\partial t}\right|_\xi
          = \frac{\mathbf D}{R^2}\left(c_{\xi\xi} + \frac{k}{\xi}c_\xi\right)
          + \frac{\xi\dot R}{R}\,c_\xi,

k = 2 (sphere) or 0 (slab); at the centre :math:`(k+1)\mathbf D c_{\xi\xi}/R^2`, discretised with
the symmetry :math:`c_{-1} = c_1`. Nodes :math:`\xi_j = j/M`, central differences, Crank–Nicolson in
time, a Dirichlet rim :math:`c(1, t) = c^{eq}(t)`. The scheme reproduces the heat polynomial
:math:`A + B(r^2 + 6Dt)` to round-off for any R(t) whose R² the trapezoidal rule integrates exactly
(linear or square-root growth) and converges at second order otherwise.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

from petroinfer.errors import InputError, ModelError

__all__ = ["LandauSolution", "solve_landau"]


@dataclass(frozen=True)
class LandauSolution:
    """Node values of a Landau-transformed solution.

    Attributes
    ----------
    t : ndarray, shape (T,)
    xi : ndarray, shape (M + 1,)
        Transformed coordinate r / R(t).
    radius : ndarray, shape (T,)
        R(t).
    c : ndarray, shape (T, M + 1, m)
    """

    t: np.ndarray
    xi: np.ndarray
    radius: np.ndarray
    c: np.ndarray


def _stencils(M: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Node operators on ξ_j = j/M: diffusion (c_ξξ + k c_ξ/ξ) and advection (ξ c_ξ)."""
    h = 1.0 / M
    xi = np.arange(M + 1) * h
    S = np.zeros((M + 1, M + 1))
    A = np.zeros((M + 1, M + 1))
    S[0, 0], S[0, 1] = -2.0 * (k + 1) / h**2, 2.0 * (k + 1) / h**2
    j = np.arange(1, M)
    S[j, j - 1] = 1 / h**2 - k / (xi[j] * 2 * h)
    S[j, j] = -2 / h**2
    S[j, j + 1] = 1 / h**2 + k / (xi[j] * 2 * h)
    A[j, j - 1] = -xi[j] / (2 * h)
    A[j, j + 1] = xi[j] / (2 * h)
    return S, A


def solve_landau(
    c0: ArrayLike | Callable[[np.ndarray], ArrayLike],
    D: ArrayLike | Callable[[float], ArrayLike],
    radius: Callable[[float], float],
    radius_rate: Callable[[float], float],
    rim: Callable[[float], ArrayLike],
    t_span: tuple[float, float],
    *,
    n_nodes: int = 40,
    n_steps: int = 160,
    geometry: Literal["spherical", "planar"] = "spherical",
    t_eval: ArrayLike | None = None,
) -> LandauSolution:
    r"""Diffusion of m coupled components in a grain of radius R(t) (Landau transform, CN).

    Parameters
    ----------
    c0 : array_like or callable
        Initial node values ``(M + 1, m)`` (or ``(M + 1,)``), or ``c0(r)`` of the physical radius.
    D : array_like or callable
        Diffusivity: scalar or ``(m, m)`` matrix, or ``D(t)`` returning one.
    radius, radius_rate : callable
        R(t) (> 0) and dR/dt.
    rim : callable
        ``rim(t)`` → the m rim values (Dirichlet).
    t_span : tuple of float
        Start and end times.
    n_nodes : int
        M (nodes ξ_j = j/M, j = 0..M).
    n_steps : int
        Crank–Nicolson steps over ``t_span``.
    geometry : {"spherical", "planar"}
        k = 2 or 0.
    t_eval : array_like, optional
        Output times (each must fall on a step); default the two ends.

    Returns
    -------
    LandauSolution

    Notes
    -----
    :math:`\partial_t c|_\xi = (\mathbf D/R^2)(c_{\xi\xi} + (k/\xi)c_\xi) + (\xi\dot R/R)c_\xi`
    (Landau 1950, Q. Appl. Math. 8:81; §C.5 of the project's notes). With growth fast compared with
    diffusion (:math:`\dot R \gg D/R`) the centred advection needs Δt ≤ Δξ R/|Ṙ|.

    Examples
    --------
    The heat polynomial 1 + r² + 6t (D = 1) in a sphere growing as R = 0.5 + 2t:

    >>> f = lambda r, t: 1 + r**2 + 6 * t
    >>> sol = solve_landau(lambda r: f(r, 0.1), 1.0, lambda t: 0.5 + 2 * t, lambda t: 2.0,
    ...                    lambda t: [f(0.5 + 2 * t, t)], (0.1, 1.1), n_nodes=20, n_steps=80)
    >>> r = sol.xi * sol.radius[-1]
    >>> bool(np.allclose(sol.c[-1, :, 0], f(r, 1.1), rtol=0, atol=1e-12))
    True
    """
    if geometry not in ("spherical", "planar"):
        raise ModelError(
            f"solve_landau: geometry must be 'spherical' or 'planar'; got {geometry!r}"
        )
    M = int(n_nodes)
    if M < 4:
        raise ModelError(f"solve_landau: grid too coarse, n_nodes must be >= 4; got {n_nodes!r}")
    if int(n_steps) < 1:
        raise ModelError(f"solve_landau: n_steps must be >= 1; got {n_steps!r}")
    t0, t1 = (float(v) for v in t_span)
    if not t1 > t0:
        raise InputError("solve_landau: t_span must be increasing", value=t_span)
    k = 2 if geometry == "spherical" else 0
    xi = np.linspace(0.0, 1.0, M + 1)
    R0 = float(radius(t0))
    if not R0 > 0:
        raise ModelError("solve_landau: R(t0) must be > 0 (start from a seed, not from R = 0)")
    c = np.asarray(c0(xi * R0) if callable(c0) else c0, dtype=float)
    c = c.reshape(M + 1, -1)
    m = c.shape[1]
    S, A = _stencils(M, k)
    eye_m = np.eye(m)

    def Dmat(t: float) -> np.ndarray:
        d = np.asarray(D(t) if callable(D) else D, dtype=float)
        return d.reshape(1, 1) * eye_m if d.size == 1 else d.reshape(m, m)

    def L(t: float) -> np.ndarray:
        R, Rd = float(radius(t)), float(radius_rate(t))
        if not R > 0:
            raise ModelError(f"solve_landau: R(t) must stay > 0; R({t:g}) = {R:g}")
        return np.kron(S, Dmat(t)) / R**2 + np.kron(A, eye_m) * (Rd / R)

    n = int(n_steps)
    dt = (t1 - t0) / n
    times = t0 + dt * np.arange(n + 1)
    wanted = np.array([t0, t1]) if t_eval is None else np.asarray(t_eval, dtype=float)
    idx = np.rint((wanted - t0) / dt).astype(int)
    if np.any(np.abs(times[np.clip(idx, 0, n)] - wanted) > 1e-9 * max(1.0, abs(t1))):
        raise InputError("solve_landau: t_eval must fall on the time steps")
    inner = slice(0, M * m)
    rim_sl = slice(M * m, (M + 1) * m)
    x = c.ravel().copy()
    out = {0: x.copy()}
    Ln = L(t0)
    I_in = np.eye(M * m)
    for s in range(1, n + 1):
        tb = times[s]
        Lb = L(tb)
        rim_b = np.asarray(rim(tb), dtype=float).ravel()
        rhs = x[inner] + 0.5 * dt * (Ln[inner] @ x)
        rhs += 0.5 * dt * Lb[inner, rim_sl] @ rim_b
        lhs = I_in - 0.5 * dt * Lb[inner, inner]
        x = np.concatenate([np.linalg.solve(lhs, rhs), rim_b])
        Ln = Lb
        out[s] = x.copy()
    sel = np.clip(idx, 0, n)
    return LandauSolution(
        t=times[sel],
        xi=xi,
        radius=np.array([radius(t) for t in times[sel]], dtype=float),
        c=np.stack([out[i].reshape(M + 1, m) for i in sel]),
    )
