r"""Piecewise-linear temperature–pressure–time histories, one or a batch of them.

A :class:`ThermalHistory` holds B histories sampled at K nodes (times may be shared or per member);
between nodes T(t) and P(t) are linear, outside them constant. It is the input of the garnet
forward model (:func:`~petroinfer.diffusion.simulate_garnet`) and the object the P–T–t
assimilation (:mod:`petroinfer.ptpath.assimilation`) builds from its parameters.

The integrated diffusivity :math:`\zeta_i = \int D^*_i(T(t), P(t))\,dt` (Crank 1975, §7.1: for a
single component with D = D(t) the solution depends on t only through ζ) is the quantity that
diffusion-modified zoning constrains best (``science/gibbs_diffusion.md`` §D.7).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from petroinfer.diffusion._parameters import (
    SECONDS_PER_MYR,
    DiffusivityParameters,
    tracer_diffusivities,
)
from petroinfer.errors import InputError
from petroinfer.units import celsius_to_kelvin, kbar_to_bar, kelvin_to_celsius  # noqa: F401

__all__ = ["ThermalHistory"]


@dataclass(frozen=True)
class ThermalHistory:
    """B piecewise-linear T(t), P(t) histories on K nodes (SI inside: s, K, bar).

    Parameters
    ----------
    time : array_like, shape (K,) or (B, K)
        Node times, s, strictly increasing along the last axis.
    T : array_like, shape (B, K) or (K,)
        Temperatures at the nodes, K.
    P : array_like, shape (B, K) or (K,)
        Pressures at the nodes, bar.

    Examples
    --------
    >>> h = ThermalHistory.from_myr([0, 10], [600, 500], [8, 6])
    >>> T, P = h.at(5 * 3.15576e13)
    >>> float(kelvin_to_celsius(T[0])), float(P[0])
    (550.0, 7000.0)
    """

    time: np.ndarray
    T: np.ndarray
    P: np.ndarray

    def __post_init__(self) -> None:
        T = np.atleast_2d(np.asarray(self.T, dtype=float))
        P = np.atleast_2d(np.asarray(self.P, dtype=float))
        t = np.asarray(self.time, dtype=float)
        if T.shape != P.shape:
            raise InputError("ThermalHistory: T and P must have the same shape", value=P.shape)
        if t.ndim not in (1, 2) or t.shape[-1] != T.shape[-1]:
            raise InputError(
                f"ThermalHistory: time must have {T.shape[-1]} nodes (shape (K,) or (B, K))",
                value=t.shape,
            )
        t2 = np.broadcast_to(np.atleast_2d(t), T.shape)
        if T.shape[-1] > 1 and np.any(np.diff(t2, axis=-1) <= 0):
            raise InputError("ThermalHistory: node times must be strictly increasing")
        for name, v in (("time", t2), ("T", T), ("P", P)):
            if not np.all(np.isfinite(v)):
                raise InputError(f"ThermalHistory: {name} has non-finite values")
        if np.any(T <= 0):
            raise InputError("ThermalHistory: temperatures must be > 0 K", value=float(T.min()))
        if np.any(P < 0):
            raise InputError("ThermalHistory: pressures must be >= 0 bar", value=float(P.min()))
        object.__setattr__(self, "time", np.array(t2))
        object.__setattr__(self, "T", T)
        object.__setattr__(self, "P", P)

    @classmethod
    def from_myr(cls, time_Myr: ArrayLike, T_C: ArrayLike, P_kbar: ArrayLike) -> ThermalHistory:
        """Build from node times in Myr, T in °C and P in kbar (the user-facing units)."""
        return cls(
            np.asarray(time_Myr, dtype=float) * SECONDS_PER_MYR,
            celsius_to_kelvin(T_C),
            kbar_to_bar(P_kbar),
        )

    @property
    def n_members(self) -> int:
        """B, the number of histories."""
        return self.T.shape[0]

    @property
    def start(self) -> float:
        """Earliest node time (s)."""
        return float(self.time[:, 0].min())

    @property
    def end(self) -> float:
        """Latest node time (s)."""
        return float(self.time[:, -1].max())

    def at(self, t: float | ArrayLike) -> tuple[np.ndarray, np.ndarray]:
        """T (K) and P (bar) of every member at time(s) ``t`` (s): shapes ``(B,)`` or ``(B, n)``."""
        ts = np.asarray(t, dtype=float)
        scalar = ts.ndim == 0
        ts = np.atleast_1d(ts)
        K = self.time.shape[1]
        if K == 1:
            shape = (self.n_members, ts.size)
            T, P = np.broadcast_to(self.T, shape), np.broadcast_to(self.P, shape)
        else:
            # index of the segment of each (member, time), vectorised over both
            idx = np.clip((self.time[:, None, :] <= ts[None, :, None]).sum(-1) - 1, 0, K - 2)
            t0 = np.take_along_axis(self.time, idx, axis=1)
            t1 = np.take_along_axis(self.time, idx + 1, axis=1)
            w = np.clip((ts[None, :] - t0) / (t1 - t0), 0.0, 1.0)

            def lerp(v):
                a = np.take_along_axis(v, idx, axis=1)
                b = np.take_along_axis(v, idx + 1, axis=1)
                return a + w * (b - a)

            T, P = lerp(self.T), lerp(self.P)
        return (T[:, 0], P[:, 0]) if scalar else (T, P)

    def sample_times(self, n: int = 400, t0: float | None = None, t1: float | None = None):
        """A time grid through [t0, t1] that contains every node time (for quadrature)."""
        a = self.start if t0 is None else float(t0)
        b = self.end if t1 is None else float(t1)
        nodes = self.time.ravel()
        grid = np.concatenate([np.linspace(a, b, int(n)), nodes[(nodes > a) & (nodes < b)]])
        return np.unique(grid)

    def integrated_diffusivity(
        self,
        parameters: str | DiffusivityParameters = "CG92",
        *,
        t0: float | None = None,
        t1: float | None = None,
        z: ArrayLike | None = None,
        n: int = 400,
    ) -> np.ndarray:
        r"""ζ_i = ∫ D*_i(T(t), P(t)) dt for (Mg, Fe, Mn, Ca), m², shape (B, 4).

        Parameters
        ----------
        parameters : str or DiffusivityParameters
            Tracer-diffusivity set.
        t0, t1 : float, optional
            Integration limits, s (default: the whole history).
        z : array_like, optional
            Kinetic perturbations ``(B, 4, 3)`` (see :func:`tracer_diffusivities`).
        n : int
            Number of uniform quadrature points (the node times are added).

        Notes
        -----
        Trapezoidal rule on a uniform time grid that contains every node time; D is smooth
        between nodes, and the tests check the quadrature against the closed form of an
        isothermal history.
        """
        ts = self.sample_times(n, t0, t1)
        T, P = self.at(ts)  # (B, n)
        zz = None if z is None else np.asarray(z, dtype=float)[:, None]
        D = tracer_diffusivities(T, P, parameters, z=zz, warn=False)  # (B, n, 4)
        return np.trapezoid(D, ts, axis=1)

    def duration_above(self, T_threshold: float, n: int = 2000) -> np.ndarray:
        """Time (s) each member spends above ``T_threshold`` (K), shape (B,)."""
        ts = self.sample_times(n)
        T, _ = self.at(ts)
        above = (T > T_threshold).astype(float)
        # exact for piecewise-linear T up to the grid resolution of the crossings
        return np.trapezoid(above, ts, axis=1)
