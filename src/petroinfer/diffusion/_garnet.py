r"""Garnet growth (shell append) and multicomponent diffusion along T(t), P(t) histories.

The state is the mole fractions of Mg, Fe and Mn (Ca = 1 − their sum is the dependent component)
in the cells of a 1-D spherical (or planar) finite-volume grid, for a batch of B histories advanced
together by :func:`petroinfer.numerics.solve_diffusion`:

.. math:: \frac{\partial C_i}{\partial t} = \frac{1}{r^2}\frac{\partial}{\partial r}
          \left(r^2 \sum_{j=1}^{3} D_{ij}\frac{\partial C_j}{\partial r}\right),

with :math:`D_{ij}` the Lasaga (1979) matrix (:func:`lasaga_matrix`) of the face compositions and the
tracer diffusivities at T(t), P(t) (:func:`tracer_diffusivities`), re-evaluated every step
(Crank–Nicolson or BDF2; composition lagged by one step).

Growth is a moving boundary handled by shell append (THERIA_G style; Gaidies et al. 2008,
``science/gibbs_diffusion.md`` §C.5): the final radius is cut into N equal shells; shell k is added
when the growth law R(t) reaches the middle of the shell, with the rim-equilibrium composition
:math:`C^{eq}(T(t), P(t))` of that moment; between additions the grain diffuses on the enlarged grid
with the rim held at :math:`C^{eq}` (local equilibrium with the matrix). After growth the rim is
closed (zero flux), held at the retrograde equilibrium, or exchanges with it (Robin condition).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike

from petroinfer.diffusion._history import ThermalHistory
from petroinfer.diffusion._lasaga import lasaga_matrix
from petroinfer.diffusion._parameters import (
    COMPONENTS,
    END_MEMBERS,
    SECONDS_PER_MYR,
    DiffusivityParameters,
    check_calibration,
    diffusivity_parameters,
    tracer_diffusivities,
)
from petroinfer.errors import InputError, ModelError
from petroinfer.numerics import Dirichlet, Exchange, Grid1D, ZeroFlux, solve_diffusion

__all__ = ["GarnetProfiles", "Growth", "RimEquilibrium", "simulate_garnet"]

MIN_CELLS = 10
MAX_CN_RATIO = 200.0


@dataclass(frozen=True)
class RimEquilibrium:
    r"""Linear surrogate of the rim composition in equilibrium with the matrix.

    :math:`C^{eq}(T, P) = C_0 + a (T - T_0) + b (P - P_0)` for (Mg, Fe, Mn, Ca)
    (``science/pt_paths.md`` §3.2: a test surrogate for a thermodynamic model). ``a`` and ``b``
    must sum to zero over the components so that the fractions stay closed.

    Parameters
    ----------
    composition : array_like, shape (4,)
        :math:`C_0`, mole fractions (Mg, Fe, Mn, Ca) at (T0, P0), summing to 1.
    T0 : float
        Reference temperature, K.
    P0 : float
        Reference pressure, bar.
    dT : array_like, shape (4,)
        :math:`a`, K⁻¹.
    dP : array_like, shape (4,)
        :math:`b`, bar⁻¹.
    """

    composition: Any
    T0: float
    P0: float
    dT: Any
    dP: Any

    def __post_init__(self) -> None:
        c = np.asarray(self.composition, dtype=float)
        a = np.asarray(self.dT, dtype=float)
        b = np.asarray(self.dP, dtype=float)
        for name, v in (("composition", c), ("dT", a), ("dP", b)):
            if v.shape != (4,) or not np.all(np.isfinite(v)):
                raise InputError(
                    f"RimEquilibrium: {name} must be 4 finite numbers (Mg, Fe, Mn, Ca)"
                )
        check_fractions(c[None], "RimEquilibrium composition")
        if abs(c.sum() - 1) > 1e-6:
            raise InputError("RimEquilibrium: composition must sum to 1", value=float(c.sum()))
        if abs(a.sum()) > 1e-9 or abs(b.sum()) > 1e-12:
            raise InputError("RimEquilibrium: dT and dP must each sum to 0 over the components")
        object.__setattr__(self, "composition", c)
        object.__setattr__(self, "dT", a)
        object.__setattr__(self, "dP", b)

    def __call__(self, T: ArrayLike, P: ArrayLike) -> np.ndarray:
        """Rim composition (..., 4) at T (K) and P (bar)."""
        T = np.asarray(T, dtype=float)[..., None]
        P = np.asarray(P, dtype=float)[..., None]
        return self.composition + self.dT * (T - self.T0) + self.dP * (P - self.P0)


@dataclass(frozen=True)
class Growth:
    """Growth of the garnet radius from 0 to its final value between ``start`` and ``end`` (s).

    Parameters
    ----------
    start, end : float
        Start and end of growth, s.
    law : {"linear", "volume"}
        ``"linear"``: R grows linearly in time; ``"volume"``: R³ grows linearly in time.
    """

    start: float
    end: float
    law: Literal["linear", "volume"] = "linear"

    def __post_init__(self) -> None:
        if not (np.isfinite(self.start) and np.isfinite(self.end) and self.end > self.start):
            raise InputError("Growth: end must be later than start", value=(self.start, self.end))
        if self.law not in ("linear", "volume"):
            raise ModelError(f"Growth: law must be 'linear' or 'volume'; got {self.law!r}")

    def time_at_fraction(self, f: np.ndarray) -> np.ndarray:
        """Time (s) at which R/R_final = f."""
        f = np.asarray(f, dtype=float)
        frac = f if self.law == "linear" else f**3
        return self.start + frac * (self.end - self.start)


def check_fractions(c: np.ndarray, what: str) -> None:
    """Mole fractions must lie in (0, 1): :class:`InputError` naming the first offender."""
    bad = ~((c > 0) & (c < 1))
    if np.any(bad):
        idx = np.argwhere(bad)[0]
        raise InputError(
            f"{what}: mole fractions must lie strictly between 0 and 1",
            column=COMPONENTS[int(idx[-1])] if c.shape[-1] == 4 else None,
            row=int(idx[-2]) if c.ndim >= 2 else None,
            value=float(c[tuple(idx)]),
        )


@dataclass(frozen=True)
class GarnetProfiles:
    """Compositions of B simulated garnets at the snapshot times.

    Parameters
    ----------
    time : ndarray, shape (S,)
        Snapshot times, s (the last is the end of the history).
    grid : Grid1D
        The final grid (radius in m).
    composition : ndarray, shape (S, B, N, 4)
        Mole fractions (Mg, Fe, Mn, Ca) per snapshot, member and cell; NaN in cells not yet grown.
    n_steps : int
        Time steps taken.
    """

    time: np.ndarray
    grid: Grid1D
    composition: np.ndarray
    n_steps: int

    @property
    def final(self) -> np.ndarray:
        """Compositions at the end, shape (B, N, 4)."""
        return self.composition[-1]

    def to_dataframe(self, member: int = 0):
        """Long table: ``time_Myr``, ``radius_um`` and one column per end-member (XPrp, XAlm, XSps,
        XGrs), one row per snapshot and grown cell, for one member."""
        import pandas as pd

        rows = []
        for s, t in enumerate(self.time):
            c = self.composition[s, member]
            ok = np.all(np.isfinite(c), axis=-1)
            d = pd.DataFrame(c[ok], columns=list(END_MEMBERS))
            d.insert(0, "radius_um", self.grid.centres[ok] * 1e6)
            d.insert(0, "time_Myr", t / SECONDS_PER_MYR)
            rows.append(d)
        return pd.concat(rows, ignore_index=True)

    def plot(self, ax: Any = None, member: int = 0, snapshot: int = -1) -> Any:
        """Profiles of the four end-members (mole fraction against radius in µm)."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(5.5, 3.8))
        r = self.grid.centres * 1e6
        c = self.composition[snapshot, member]
        for k, name in enumerate(END_MEMBERS):
            ax.plot(r, c[:, k], label=name)
        ax.set_xlabel("radius (µm)")
        ax.set_ylabel("mole fraction (1)")
        ax.set_title(f"t = {self.time[snapshot] / SECONDS_PER_MYR:.2f} Myr", fontsize="small")
        ax.legend(fontsize="small")
        return ax


def _diffusivity(history, params, z, scale):
    """``D(t, c)`` on the faces, shape (B, N + 1, 3, 3), for solve_diffusion (SI units)."""

    def D(t: float, c: np.ndarray) -> np.ndarray:
        T, P = history.at(t)
        tracer = tracer_diffusivities(T, P, params, z=z, warn=False)  # (B, 4)
        if scale is not None:
            tracer = tracer * scale[:, None]
        x = np.clip(c, 1e-6, 1.0)
        faces = np.concatenate([x[:, :1], 0.5 * (x[:, 1:] + x[:, :-1]), x[:, -1:]], axis=1)
        return lasaga_matrix(faces, tracer[:, None, :])

    return D


def _dmax(history, params, z, a: float, b: float) -> float:
    """Largest tracer diffusivity (m² s⁻¹) over members and the interval [a, b] (T, P are
    piecewise linear, so the extremes are at the ends or the nodes inside)."""
    ts = np.concatenate([[a, b], history.time.ravel()])
    ts = ts[(ts >= a) & (ts <= b)]
    T, P = history.at(ts)
    zz = None if z is None else z[:, None]
    return float(np.max(tracer_diffusivities(T, P, params, z=zz, warn=False)))


def simulate_garnet(
    history: ThermalHistory,
    rim: RimEquilibrium | Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
    *,
    radius: float = 1e-3,
    n_cells: int = 50,
    growth: Growth | None = None,
    initial: ArrayLike | None = None,
    geometry: Literal["spherical", "planar"] = "spherical",
    parameters: str | DiffusivityParameters = "CG92",
    kinetics_z: ArrayLike | None = None,
    d_scale: ArrayLike | None = None,
    after_growth: Literal["closed", "equilibrium", "exchange"] = "closed",
    exchange_h: float = 1e-13,
    method: Literal["cn", "bdf2", "be"] = "cn",
    courant: float = 10.0,
    max_step: float | None = None,
    max_substeps: int | None = None,
    save_times: ArrayLike | None = None,
    clip: bool = False,
    warn: bool = True,
) -> GarnetProfiles:
    r"""Grow a garnet along B T–P–t histories and diffuse it (Lasaga matrix, finite volumes).

    Parameters
    ----------
    history : ThermalHistory
        B piecewise-linear histories (time s, T K, P bar); one call advances all of them.
    rim : RimEquilibrium or callable, optional
        Rim composition in equilibrium with the matrix, ``rim(T (B,), P (B,)) -> (B, 4)`` (Mg, Fe,
        Mn, Ca); needed with ``growth`` and with ``after_growth`` other than ``"closed"``.
    radius : float
        Final radius (sphere) or half-width (planar), m.
    n_cells : int
        Cells (= growth shells), at least 10.
    growth : Growth, optional
        Growth interval and law; without it the garnet is whole from the start with ``initial``.
    initial : array_like, optional
        Initial compositions (N, 4) or (B, N, 4) when there is no growth.
    geometry : {"spherical", "planar"}
        Sphere (radius from the centre) or slab (half-width from the symmetry plane).
    parameters : str or DiffusivityParameters
        Tracer-diffusivity set (see :func:`diffusivity_parameters`).
    kinetics_z : array_like, optional
        Standard-normal kinetic perturbations per member, shape (B, 4, 3).
    d_scale : array_like, optional
        Factor (B,) multiplying every tracer diffusivity of each member — equivalently, a
        stretch of that member's history in time by the same factor (the equations involve t only
        through D·dt); used by the inversions for an uncertain duration.
    after_growth : {"closed", "equilibrium", "exchange"}
        Rim condition after growth (and throughout without growth): zero flux, held at
        ``rim(T, P)``, or Robin exchange with it at transfer coefficient ``exchange_h`` (m s⁻¹).
    exchange_h : float
        Transfer coefficient of the exchange rim, m s⁻¹.
    method : {"cn", "bdf2", "be"}
        Time stepper of :func:`petroinfer.numerics.solve_diffusion`.
    courant : float
        Step control: Δt ≤ courant · Δr² / D_max (D_max the largest tracer D of the interval).
    max_step : float, optional
        An explicit largest step, s (overrides ``courant``; refused for Crank–Nicolson when it
        exceeds 200 Δr²/D_max, where CN rings on the steps that new shells create).
    max_substeps : int, optional
        Cap on the steps between two events (shell additions, history nodes, snapshots): for
        ensembles whose hottest members homogenise anyway, with an L-stable ``method="bdf2"``.
    save_times : array_like, optional
        Snapshot times, s (default: the end only).
    clip : bool
        Clip rim compositions into (1e-4, 1) instead of refusing them (used by the inversions,
        whose ensemble members may stray outside the surrogate's range).
    warn : bool
        Warn when temperatures leave the calibration range of the diffusivities.

    Returns
    -------
    GarnetProfiles

    Notes
    -----
    Shell append (Gaidies et al. 2008, THERIA_G) with the conservative finite volumes of
    :mod:`petroinfer.numerics`; see the module docstring for the equations and
    ``docs/methods/garnet_diffusion.md`` for the validation (Crank 1975 series, Lasaga test vector,
    ζ-equivalence, second-order convergence).

    Examples
    --------
    >>> h = ThermalHistory.from_myr([0, 2, 6], [550, 650, 600], [6, 8, 7])
    >>> rim = RimEquilibrium([0.08, 0.70, 0.12, 0.10], 823.15, 6000.0,
    ...                      [4e-4, 2e-4, -5e-4, -1e-4], [0, 1e-6, 0, -1e-6])
    >>> out = simulate_garnet(h, rim, radius=3e-4, n_cells=20,
    ...                       growth=Growth(0.0, 2 * 3.15576e13), warn=False)
    >>> out.final.shape
    (1, 20, 4)
    """
    if not isinstance(history, ThermalHistory):
        raise ModelError("simulate_garnet: history must be a ThermalHistory")
    if not (isinstance(n_cells, int | np.integer) and n_cells >= MIN_CELLS):
        raise ModelError(
            f"simulate_garnet: grid too coarse: n_cells must be an int >= {MIN_CELLS} "
            f"(a profile needs several cells per feature); got {n_cells!r}"
        )
    if not (np.isfinite(radius) and radius > 0):
        raise InputError("simulate_garnet: radius must be > 0 m", value=radius)
    if geometry not in ("spherical", "planar"):
        raise ModelError(
            f"simulate_garnet: geometry must be 'spherical' or 'planar'; got {geometry!r}"
        )
    if after_growth not in ("closed", "equilibrium", "exchange"):
        raise ModelError(
            "simulate_garnet: after_growth must be 'closed', 'equilibrium' or 'exchange'; "
            f"got {after_growth!r}"
        )
    if not (np.isfinite(courant) and courant > 0):
        raise ModelError(f"simulate_garnet: courant must be > 0; got {courant!r}")
    params = diffusivity_parameters(parameters)
    B = history.n_members
    z = None if kinetics_z is None else np.broadcast_to(np.asarray(kinetics_z, float), (B, 4, 3))
    scale = None
    if d_scale is not None:
        scale = np.broadcast_to(np.asarray(d_scale, dtype=float), (B,))
        if np.any(~np.isfinite(scale)) or np.any(scale <= 0):
            raise InputError("simulate_garnet: d_scale must be finite and > 0")
    d_scale = scale
    if warn:
        check_calibration(history.T, params)
    if (growth is not None or after_growth != "closed") and rim is None:
        raise ModelError("simulate_garnet: a rim equilibrium is needed for growth or an open rim")
    dr = radius / n_cells
    edges = np.linspace(0.0, radius, n_cells + 1)
    t_end = history.end
    saves = np.array([t_end]) if save_times is None else np.unique(np.asarray(save_times, float))
    if saves.size == 0 or saves.min() < history.start or saves.max() > t_end:
        raise InputError("simulate_garnet: save_times must lie within the history", value=saves)

    def rim_at(t: float) -> np.ndarray:
        T, P = history.at(t)
        c = np.asarray(rim(T, P), dtype=float).reshape(B, 4)  # type: ignore[misc]
        if clip:
            c = np.clip(c, 1e-4, 1.0)
            c = c / c.sum(axis=1, keepdims=True)
        else:
            check_fractions(c, f"rim composition at t = {t / SECONDS_PER_MYR:.3g} Myr")
        return c

    # events: (time, n_cells present after it)
    if growth is not None:
        t_shell = growth.time_at_fraction((np.arange(n_cells) + 0.5) / n_cells)
        if t_shell[0] < history.start or growth.end > t_end:
            raise InputError("simulate_garnet: the growth interval must lie within the history")
        t0 = float(t_shell[0])
        state = rim_at(t0)[:, None, :3]
        n_now = 1
    else:
        if initial is None:
            raise ModelError("simulate_garnet: give growth= or an initial profile")
        c0 = np.broadcast_to(np.asarray(initial, dtype=float), (B, n_cells, 4))
        check_fractions(c0.reshape(-1, 4), "initial profile")
        t_shell = np.array([history.start])
        t0 = history.start
        state = np.array(c0[..., :3])
        n_now = n_cells
    # numerics.solve_diffusion reads an array whose last axis equals the cell count as a scalar
    # batch, so a 3-cell grid of 3 components is ambiguous: the third shell is appended together
    # with the fourth (it misses the diffusion of one shell interval in the core; documented).
    shell_stops = np.delete(t_shell, 2) if growth is not None and n_cells > 3 else t_shell
    nodes = np.unique(history.time)
    nodes = nodes if nodes.size <= 64 else np.array([])
    stops = np.unique(np.concatenate([shell_stops[1:], saves, nodes, [t_end]]))
    stops = stops[stops > t0]
    snaps = np.full((saves.size, B, n_cells, 4), np.nan)

    def store(t: float) -> None:
        k = np.flatnonzero(np.isclose(saves, t, rtol=0, atol=1e-9 * max(1.0, abs(t))))
        if k.size:
            full = np.concatenate([state, 1.0 - state.sum(-1, keepdims=True)], axis=-1)
            snaps[k[0], :, :n_now] = full

    store(t0)
    shells_added = 1 if growth is not None else n_cells
    t = t0
    total_steps = 0
    for stop in stops:
        growing = growth is not None and shells_added < n_cells
        grid = Grid1D(edges[: n_now + 1], geometry)
        if growing or after_growth == "equilibrium":
            right = Dirichlet(lambda tt: rim_at(tt)[:, :3])
        elif after_growth == "exchange":
            right = Exchange(exchange_h, lambda tt: rim_at(tt)[:, :3])
        else:
            right = ZeroFlux()
        dmax = _dmax(history, params, z, t, float(stop)) * (1.0 if scale is None else scale.max())
        if max_step is not None:
            k = max(1, int(np.ceil((stop - t) / max_step - 1e-9)))
            ratio = (stop - t) / k * dmax / dr**2
            if method == "cn" and ratio > MAX_CN_RATIO:
                raise ModelError(
                    f"simulate_garnet: unstable time step: max_step gives D·Δt/Δr² = {ratio:.3g} "
                    f"> {MAX_CN_RATIO:g}; Crank–Nicolson would ring on the composition steps of new "
                    "shells — use a smaller max_step, more steps, or method='bdf2'"
                )
        else:
            k = max(1, int(np.ceil((stop - t) * dmax / (courant * dr * dr))))
        if max_substeps is not None:
            k = min(k, max(1, int(max_substeps)))
        sol = solve_diffusion(
            grid,
            state,
            _diffusivity(history, params, z, d_scale),
            [t, float(stop)],
            right=right,
            method=method,
            n_steps=k,
        )
        state = sol.c[-1]
        total_steps += sol.n_steps
        t = float(stop)
        while (
            growth is not None
            and shells_added < n_cells
            and t_shell[shells_added] <= t * (1 + 1e-12)
        ):
            new = rim_at(float(t_shell[shells_added]))[:, None, :3]
            state = np.concatenate([state, new], axis=1)
            shells_added += 1
            n_now += 1
            if n_now == 3:
                continue
            break
        store(t)
    if not np.all(np.isfinite(snaps[-1])):
        raise ModelError("simulate_garnet: the garnet did not finish growing before the end")
    bad = (snaps[-1] <= -1e-6) | (snaps[-1] >= 1 + 1e-6)
    if np.any(bad) and not clip:
        warnings.warn(
            "simulated mole fractions left [0, 1] (grid too coarse for the gradients?)",
            RuntimeWarning,
            stacklevel=2,
        )
    return GarnetProfiles(saves, Grid1D(edges, geometry), snaps, total_steps)
