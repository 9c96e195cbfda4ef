r"""The Gibbs method: differential thermodynamics of an assemblage along a zoning profile.

Given a state of an assemblage (T, P, phase compositions and, for a closed system, phase amounts),
the Gibbs method (Spear, Ferry & Rumble 1982; Spear & Selverstone 1983; Spear 1988) solves the linear
system of differential equilibrium conditions for the change of the dependent variables when the
user changes the independent ones ("monitors", e.g. garnet X_prp and X_grs). Integrating these
differentials along a measured zoning profile gives the P–T path the garnet grew along.

Public names: :class:`Phase`, :class:`GibbsState`, :class:`GibbsSystem`, :func:`integrate`,
:class:`GibbsPath`, :func:`rayleigh_fractionation`.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from petroinfer.errors import ConvergenceWarning, InputError, ModelError
from petroinfer.thermo._gibbs_system import Assembly, Phase, phase_properties
from petroinfer.units import GAS_CONSTANT, bar_to_kbar, kelvin_to_celsius

__all__ = [
    "GibbsPath",
    "GibbsState",
    "GibbsSystem",
    "Phase",
    "equilibrium_composition",
    "equilibrium_conditions",
    "integrate",
    "metapelite_system",
    "rayleigh_fractionation",
    "toy_open_system",
]

_MODES = ("open", "closed", "fractionating")


@dataclass(frozen=True)
class GibbsState:
    """A point of the assemblage: T (K), P (bar), active mole fractions and phase amounts.

    Parameters
    ----------
    T : float
        Temperature (K).
    P : float
        Pressure (bar).
    x : mapping of str to array_like
        Active mole fractions of each solution phase, in the order of :attr:`Phase.active_names`
        (dependent end-member first); pure phases may be omitted.
    moles : mapping of str to float
        Phase amounts (mol of formula units); needed for closed and fractionating systems. The
        fractionating phase carries its within-step increment (0 at the start of a step).
    bulk : numpy.ndarray or None
        Effective (reactive) bulk composition in the component basis of the system; computed from
        ``moles`` when ``None``.
    grown : float
        Cumulative moles of the fractionated phase (garnet shells) since the start.
    shells : numpy.ndarray or None
        Cumulative component content of the fractionated shells (component basis).
    """

    T: float
    P: float
    x: Mapping[str, np.ndarray]
    moles: Mapping[str, float] = field(default_factory=dict)
    bulk: np.ndarray | None = None
    grown: float = 0.0
    shells: np.ndarray | None = None


class GibbsSystem:
    r"""An assemblage and the Gibbs-method linear systems of its differential equilibria.

    Parameters
    ----------
    phases : sequence of Phase
        The phases in equilibrium (at least two).
    mode : {"open", "closed", "fractionating"}
        ``open``: no mass balance (matrix compositions are monitors or drivers, variance
        :math:`F = C - \Phi + 2`); ``closed``: bulk mass balance (:math:`F = 2`, Duhem's theorem);
        ``fractionating``: closed, but the interior of ``fractionating_phase`` is isolated and only its
        new increment, at the current rim composition, exchanges mass with the reactive bulk.
    fractionating_phase : str
        Name of the phase whose interior is isolated (default ``"grt"``).
    standard_states : mapping of str to (float, float, float), optional
        Constant (ΔH J, ΔS J/K, ΔV J/bar) standard states replacing the ds62 end-members of those names
        (toy models and tests); others come from :func:`petroinfer.thermo.endmember`.
    reactions : sequence of mapping, optional
        Independent reactions ``{end-member: coefficient}``; default an orthonormal basis of the null
        space of the stoichiometric matrix (the choice of basis does not change the solution).

    Notes
    -----
    Chemical potentials :math:`\mu_m = G^\circ_m(T, P) + RT\ln a^{id}_m + \mu^{ex}_m`; partial molar
    :math:`\bar S_m = S^\circ_m - R\ln a^{id}_m - \partial\mu^{ex}_m/\partial T` and
    :math:`\bar V_m = V^\circ_m + \partial\mu^{ex}_m/\partial P`; :math:`M_{ik} = \partial\mu_i/\partial n_k`
    at :math:`\sum n = 1` (the a–x model's analytic Hessian). With the dependent end-member 1 of a phase,
    the composition variable :math:`\xi_l = X_l` moves along :math:`e_l - e_1`.

    *Reaction form* (Spear 1993; PT notes §4.2), one row per independent reaction r:
    :math:`-\Delta\bar S_r dT + \Delta\bar V_r dP + \sum_m \nu_{rm}\sum_l (M_{ml}-M_{m1}) d\xi_l = 0`.

    *Per-phase form* (Spear et al. 1982; gibbs notes §A.2), with component potentials μ_c:
    Gibbs–Duhem :math:`S_\alpha dT - V_\alpha dP + \sum_j X_j \sum_c \nu_{jc} d\mu_c = 0` per phase and
    :math:`\sum_c (\nu_{lc}-\nu_{1c}) d\mu_c + (\bar S_l-\bar S_1) dT - (\bar V_l - \bar V_1) dP
    - \sum_m H_{lm} d\xi_m = 0`, with :math:`H_{lm} = \partial^2 g/\partial\xi_l\partial\xi_m` symmetric.

    *Mass balance* (gibbs notes §A.3): :math:`\sum_\alpha [\nu_{\alpha c} dM_\alpha + M_\alpha
    \sum_l(\nu_{lc}-\nu_{1c}) d\xi_{\alpha l}] = dB^{ext}_c`; components are an orthonormal basis of the
    row space of the end-member × element matrix. The same rows are the exact Jacobian of the
    equilibrium residuals :math:`\Delta G_r = \sum_m \nu_{rm}\mu_m` and
    :math:`\sum_\alpha M_\alpha\nu_\alpha - B`, which is what the Newton re-projection solves.

    Examples
    --------
    >>> from petroinfer.thermo import garnet_ideal, biotite_ideal
    >>> from petroinfer.thermo.gibbs import GibbsSystem, Phase
    >>> sys_ = GibbsSystem([Phase("grt", garnet_ideal(), ("py", "alm", "gr"), "alm"),
    ...                     Phase("bt", biotite_ideal(), dependent="ann")])
    >>> sys_.variables
    ('T', 'P', 'grt:py', 'grt:gr', 'bt:phl')
    >>> sys_.n_reactions
    1
    """

    def __init__(
        self,
        phases: Sequence[Phase],
        *,
        mode: str = "open",
        fractionating_phase: str = "grt",
        standard_states: Mapping[str, tuple[float, float, float]] | None = None,
        reactions: Sequence[Mapping[str, float]] | None = None,
    ) -> None:
        if mode not in _MODES:
            raise ModelError(f"mode must be one of {_MODES}, got {mode!r}")
        self.mode = mode
        self._standard_states = dict(standard_states or {})
        self._reactions = reactions
        self.asm = Assembly(phases, standard_states, reactions)
        self.phases = self.asm.phases
        self.fractionating_phase = fractionating_phase
        if mode == "fractionating" and fractionating_phase not in [p.name for p in self.phases]:
            raise ModelError(f"fractionating phase {fractionating_phase!r} not in the assemblage")
        comp = [v for p in self.phases for v in p.variables]
        moles = [f"n_{p.name}" for p in self.phases] if mode != "open" else []
        self.variables: tuple[str, ...] = ("T", "P", *comp, *moles)
        self._col = {v: i for i, v in enumerate(self.variables)}

    def __repr__(self) -> str:
        return (
            f"GibbsSystem({'+'.join(p.name for p in self.phases)}, mode={self.mode!r}, "
            f"F={self.variance})"
        )

    def with_mode(self, mode: str, fractionating_phase: str | None = None) -> GibbsSystem:
        """The same assemblage (phases, standard states, reactions) in another ``mode``."""
        return GibbsSystem(
            self.phases, mode=mode,
            fractionating_phase=fractionating_phase or self.fractionating_phase,
            standard_states=self._standard_states, reactions=self._reactions,
        )  # fmt: skip

    @property
    def n_reactions(self) -> int:
        return int(self.asm.reactions.shape[0])

    @property
    def n_components(self) -> int:
        return int(self.asm.nu.shape[1])

    @property
    def variance(self) -> int:
        """Number of variables to prescribe: F = C − Φ + 2 (open) or 2 (closed, Duhem)."""
        n_rows = self.n_reactions + (self.n_components if self.mode != "open" else 0)
        return len(self.variables) - n_rows

    # ------------------------------------------------------------------ state helpers
    def _xa(self, state: GibbsState, p: Phase) -> np.ndarray:
        if p.is_pure:
            return np.ones(1)
        if p.name not in state.x:
            raise InputError(f"state has no composition for phase {p.name!r}")
        xa = np.asarray(state.x[p.name], dtype=float)
        if xa.shape != (len(p.active_names),):
            raise InputError(
                f"phase {p.name!r}: composition needs {len(p.active_names)} fractions "
                f"({', '.join(p.active_names)}), got shape {xa.shape}"
            )
        return xa

    def phase_composition(self, state: GibbsState, phase: str) -> np.ndarray:
        """ν_α: moles of each component per mole of ``phase`` (component basis)."""
        p = self.phases[[q.name for q in self.phases].index(phase)]
        return self._xa(state, p) @ self.asm.nu[self.asm.slices[p.name]]

    def bulk(self, state: GibbsState) -> np.ndarray:
        """Σ_α M_α ν_α of the reactive phases (component basis)."""
        out = np.zeros(self.n_components)
        for p in self.phases:
            out += state.moles.get(p.name, 0.0) * self.phase_composition(state, p.name)
        return out

    def with_bulk(self, state: GibbsState) -> GibbsState:
        """The state with ``bulk`` (and ``shells``) filled in from its phase amounts."""
        b = self.bulk(state) if state.bulk is None else np.asarray(state.bulk, float)
        sh = np.zeros(self.n_components) if state.shells is None else state.shells
        return replace(state, bulk=b, shells=sh)

    def _props(self, state: GibbsState):
        out = {}
        for p in self.phases:
            mu, S, V, M = phase_properties(p, self.asm.std, self._xa(state, p), state.T, state.P)
            out[p.name] = (mu[0], S[0], V[0], M[0])
        return out

    # ------------------------------------------------------------------ assembly
    def reaction_rows(self, state: GibbsState) -> tuple[np.ndarray, np.ndarray]:
        """Reaction-form rows (R × n_vars) and residuals ΔG_r (J), the Jacobian of ΔG_r."""
        props = self._props(state)
        rx = self.asm.reactions
        A = np.zeros((rx.shape[0], len(self.variables)))
        res = np.zeros(rx.shape[0])
        for p in self.phases:
            mu, S, V, M = props[p.name]
            nu_r = rx[:, self.asm.slices[p.name]]
            res += nu_r @ mu
            A[:, 0] -= nu_r @ S
            A[:, 1] += nu_r @ V
            for l_, var in enumerate(p.variables, start=1):
                A[:, self._col[var]] += nu_r @ (M[:, l_] - M[:, 0])
        return A, res

    def mass_balance_rows(self, state: GibbsState) -> tuple[np.ndarray, np.ndarray]:
        """Mass-balance rows (C × n_vars) and residuals Σ M_α ν_α − B (mol)."""
        C = self.n_components
        A = np.zeros((C, len(self.variables)))
        res = -np.asarray(state.bulk if state.bulk is not None else self.bulk(state), float)
        for p in self.phases:
            nu = self.asm.nu[self.asm.slices[p.name]]
            xa = self._xa(state, p)
            Mp = float(state.moles.get(p.name, 0.0))
            A[:, self._col[f"n_{p.name}"]] = xa @ nu
            res = res + Mp * (xa @ nu)
            for l_, var in enumerate(p.variables, start=1):
                A[:, self._col[var]] = Mp * (nu[l_] - nu[0])
        return A, res

    def _system(self, state: GibbsState):
        A, r = self.reaction_rows(state)
        if self.mode == "open":
            return A, r, 0
        Am, rm = self.mass_balance_rows(state)
        return np.vstack([A, Am]), np.concatenate([r, rm]), A.shape[0]

    def per_phase_matrix(self, state: GibbsState) -> tuple[np.ndarray, tuple[str, ...]]:
        """Per-phase (Gibbs–Duhem + composition rows) matrix over ``variables`` + ``mu_c`` columns."""
        props = self._props(state)
        C = self.n_components
        names = (*self.variables, *(f"mu_{c}" for c in range(C)))
        rows = []
        nv = len(self.variables)
        for p in self.phases:
            _mu, S, V, M = props[p.name]
            nu = self.asm.nu[self.asm.slices[p.name]]
            xa = self._xa(state, p)
            gd = np.zeros(nv + C)
            gd[0], gd[1] = xa @ S, -(xa @ V)
            gd[nv:] = xa @ nu
            rows.append(gd)
            k = len(p.active_names)
            H = (M - M[:, [0]])[1:] - (M - M[:, [0]])[[0]]  # ∂(μ_l−μ_1)/∂ξ_m over l, all m
            for l_ in range(1, k):
                row = np.zeros(nv + C)
                row[nv:] = nu[l_] - nu[0]
                row[0] = S[l_] - S[0]
                row[1] = -(V[l_] - V[0])
                for m_, var in enumerate(p.variables, start=1):
                    row[self._col[var]] = -H[l_ - 1, m_]
                rows.append(row)
        A = np.array(rows)
        if self.mode != "open":
            Am, _ = self.mass_balance_rows(state)
            A = np.vstack([A, np.hstack([Am, np.zeros((C, C))])])
        return A, names

    def hessian(self, state: GibbsState, phase: str) -> np.ndarray:
        """H_lm = ∂²g/∂ξ_l∂ξ_m of ``phase`` in its independent fractions (J/mol), symmetric."""
        p = self.phases[[q.name for q in self.phases].index(phase)]
        _mu, _S, _V, M = phase_properties(p, self.asm.std, self._xa(state, p), state.T, state.P)
        M = M[0]
        D = M - M[:, [0]]
        return (D[1:] - D[[0]])[:, 1:]

    # ------------------------------------------------------------------ solving
    def _split(self, A, given: Mapping[str, float], names):
        col = {v: i for i, v in enumerate(names)}
        for g in given:
            if g not in col:
                raise ModelError(
                    f"unknown variable {g!r}; the system has {', '.join(self.variables)}"
                )
        gi = [col[g] for g in given]
        ui = [i for i in range(len(names)) if i not in gi]
        if len(ui) > A.shape[0]:
            raise ModelError(
                f"{len(given)} prescribed variables leave the system underdetermined: prescribe "
                f"{len(ui) - A.shape[0]} more (variance F = {self.variance})"
            )
        return gi, ui

    def _solve(self, A, b, ui, names):
        Au = A[:, ui]
        scale = np.maximum(np.abs(Au).max(axis=0), 1e-300)
        sv = np.linalg.svd(Au / scale, compute_uv=False)
        if sv.size == 0 or sv[-1] < 1e-12 * sv[0]:
            raise ModelError(
                "the prescribed (monitor) variables are singular for this assemblage: the remaining "
                f"variables {[names[i] for i in ui]} are not determined"
            )
        z, *_ = np.linalg.lstsq(Au / scale, b, rcond=None)
        return z / scale

    def solve_step(
        self,
        state: GibbsState,
        given: Mapping[str, float],
        *,
        source: np.ndarray | None = None,
        form: str = "reaction",
    ) -> dict[str, float]:
        """Differentials of all variables for prescribed changes ``given`` (one linear solve).

        Parameters
        ----------
        state : GibbsState
            Current state (closed modes need ``moles`` and ``bulk``).
        given : mapping of str to float
            Prescribed increments, e.g. ``{"grt:py": 0.01, "grt:gr": 0.0}`` (T in K, P in bar).
        source : numpy.ndarray, optional
            External source dB_ext in the component basis (open-system infiltration; closed modes).
        form : {"reaction", "phase"}
            Which assembly to solve (they agree to round-off).

        Returns
        -------
        dict
            Increment of every variable (prescribed ones included).
        """
        if form == "reaction":
            A, _r, n_r = self._system(state)
            names = self.variables
        elif form == "phase":
            A, names = self.per_phase_matrix(state)
            n_r = A.shape[0] - (self.n_components if self.mode != "open" else 0)
        else:
            raise ModelError(f"form must be 'reaction' or 'phase', got {form!r}")
        gi, ui = self._split(A, given, names)
        b = -A[:, gi] @ np.array([given[g] for g in given], dtype=float)
        if source is not None and self.mode != "open":
            b[n_r:] += source
        z = self._solve(A, b, ui, names)
        out = dict(zip([names[i] for i in ui], z, strict=True))
        out.update({g: float(v) for g, v in given.items()})
        return {v: float(out[v]) for v in self.variables}

    def sensitivity(self, state: GibbsState, monitors: Sequence[str], fixed: Sequence[str] = ()):
        """∂(T [K], P [kbar]) / ∂(monitors), shape (2, len(monitors)), other prescribed vars fixed."""
        J = np.zeros((2, len(monitors)))
        for j, m in enumerate(monitors):
            given = {v: 0.0 for v in fixed}
            given.update({k: 0.0 for k in monitors})
            given[m] = 1.0
            d = self.solve_step(state, given)
            J[:, j] = d["T"], d["P"] / 1000.0
        return J

    def condition_number(self, state, monitors, fixed=()) -> float:
        """cond of ∂(T [K], P [kbar])/∂(monitors): large where monitors run parallel to isopleths."""
        return float(np.linalg.cond(self.sensitivity(state, monitors, fixed)))

    def apply(self, state: GibbsState, d: Mapping[str, float]) -> GibbsState:
        """State + increments ``d`` (fractionation bookkeeping included)."""
        x = {k: np.array(v, float) for k, v in state.x.items()}
        for p in self.phases:
            if p.is_pure:
                continue
            xa = self._xa(state, p).copy()
            for l_, var in enumerate(p.variables, start=1):
                xa[l_] += d.get(var, 0.0)
                xa[0] -= d.get(var, 0.0)
            x[p.name] = xa
        moles = dict(state.moles)
        bulk, shells, grown = state.bulk, state.shells, state.grown
        if self.mode != "open":
            for p in self.phases:
                moles[p.name] = moles.get(p.name, 0.0) + d.get(f"n_{p.name}", 0.0)
        return replace(
            state, T=state.T + d["T"], P=state.P + d["P"], x=x, moles=moles, bulk=bulk,
            shells=shells, grown=grown,
        )  # fmt: skip

    def reproject(
        self, state: GibbsState, fixed: Sequence[str], *, max_iter: int = 50, tol: float = 1e-13
    ) -> GibbsState:
        """Newton re-projection onto exact equilibrium (and mass balance) with ``fixed`` held.

        Solves ΔG_r = 0 (and Σ M_α ν_α = B) for the non-fixed variables; the Jacobian is the same
        assembly as :meth:`solve_step` (integrated mode of Program Gibbs).
        """
        for _ in range(max_iter):
            A, r, _n = self._system(state)
            _gi, ui = self._split(A, {f: 0.0 for f in fixed}, self.variables)
            z = self._solve(A, -r, ui, self.variables)
            d = {v: 0.0 for v in self.variables}
            d.update(dict(zip([self.variables[i] for i in ui], z, strict=True)))
            state = self.apply(state, d)
            size = max(abs(d["T"]) / max(state.T, 1.0), abs(d["P"]) / max(abs(state.P), 1.0))
            size = max(size, *(abs(d[v]) for v in self.variables[2:]), 0.0)
            if size < tol:
                return state
        warnings.warn(
            f"Newton re-projection did not converge in {max_iter} iterations",
            ConvergenceWarning,
            stacklevel=2,
        )
        return state


# ---------------------------------------------------------------------------- integration
@dataclass(frozen=True)
class GibbsPath:
    """Result of :func:`integrate`: one row per profile point.

    The constructor arguments are stored as attributes of the same name.

    Parameters
    ----------
    table : pandas.DataFrame
        ``T_K``, ``T_C``, ``P_bar``, ``P_kbar``, every composition variable, phase amounts
        ``n_<phase>`` (closed modes), ``grown`` (cumulative fractionated moles), ``radius_rel``
        ((grown/grown_end)^(1/3), the relative radius of one spherical grain), ``condition_number``
        of ∂(T, P[kbar])/∂(monitors), ``substeps`` used.
    states : list of GibbsState
        The full state at each point.
    """

    table: pd.DataFrame
    states: list


def _step(system, state, given, source, method):
    f = system.solve_step
    if method == "euler":
        return f(state, given, source=source)
    if method == "heun":
        k1 = f(state, given, source=source)
        k2 = f(system.apply(state, k1), given, source=source)
        return {v: 0.5 * (k1[v] + k2[v]) for v in k1}
    if method == "rk4":
        half = {g: 0.5 * v for g, v in given.items()}
        hs = None if source is None else 0.5 * source
        k1 = f(state, half, source=hs)
        k2 = f(system.apply(state, k1), half, source=hs)
        k3 = f(system.apply(state, k2), half, source=hs)
        k4 = f(system.apply(state, {v: 2 * k3[v] for v in k3}), half, source=hs)
        return {v: (k1[v] + 2 * k2[v] + 2 * k3[v] + k4[v]) / 3.0 for v in k1}
    raise ModelError(f"method must be 'euler', 'heun' or 'rk4', got {method!r}")


def _advance(system, state, given, source, method, n_sub, reproject, fixed_names):
    frac = system.mode == "fractionating"
    fp = system.fractionating_phase
    start_bulk = state.bulk
    for _ in range(n_sub):
        sub = {g: v / n_sub for g, v in given.items()}
        src = None if source is None else source / n_sub
        d = _step(system, state, sub, src, method)
        state = system.apply(state, d)
        if source is not None:
            state = replace(state, bulk=state.bulk + src)
    if reproject:
        targets = {g: None for g in fixed_names}
        state = system.reproject(state, list(targets))
    if frac:
        # the increment (at the rim composition) leaves the reactive bulk; the grain interior is inert
        inc = float(state.moles.get(fp, 0.0))
        shell = inc * system.phase_composition(state, fp)
        bulk = (start_bulk if source is None else start_bulk + source) - shell
        moles = dict(state.moles)
        moles[fp] = 0.0
        state = replace(
            state, bulk=bulk, moles=moles, grown=state.grown + inc, shells=state.shells + shell
        )
    return state


def integrate(
    system: GibbsSystem,
    start: GibbsState,
    path: Mapping[str, ArrayLike],
    *,
    monitors: Sequence[str] | None = None,
    method: str = "heun",
    substeps: int = 1,
    tol: float | None = None,
    reproject: bool = False,
    source: Mapping[str, ArrayLike] | None = None,
) -> GibbsPath:
    r"""Integrate the Gibbs method along a profile of prescribed variables.

    Parameters
    ----------
    system : GibbsSystem
        The assemblage and mode.
    start : GibbsState
        Equilibrium state at the first profile point (closed modes: with ``moles``).
    path : mapping of str to array_like
        Values of every prescribed variable at each profile point (all the same length n ≥ 2), e.g.
        ``{"grt:py": Xprp, "grt:gr": Xgrs}`` (closed) or also the matrix compositions (open). The
        direction (core → rim or rim → core) is the order of the points; fractionation then removes
        (or adds back) garnet.
    monitors : sequence of str, optional
        Variables whose ∂(T, P)/∂ gives the reported condition number (default the composition
        variables in ``path``, or all of them).
    method : {"euler", "heun", "rk4"}
        Explicit Euler (order 1), Heun/RK2 (order 2) or RK4 (order 4) in the profile parameter.
    substeps : int
        Sub-steps per profile interval (minimum when ``tol`` is given).
    tol : float, optional
        Step control: the sub-step count is doubled (up to 256) until T (K) and P/1000 (kbar) from
        n and 2n sub-steps differ by less than ``tol``.
    reproject : bool
        Newton re-projection onto exact equilibrium after each interval (prescribed values held).
    source : mapping of str to array_like, optional
        External additions per interval, ``{formula: moles}`` (e.g. ``{"H2O": dn_w}``; arrays of
        length n − 1 or scalars): the open-system (infiltration) source of Kuwatani & Toriumi (2017),
        as reconstructed in the gibbs notes §E.2 [R]. Needs a closed or fractionating system.

    Returns
    -------
    GibbsPath
        Table and states along the profile.

    Notes
    -----
    Each interval solves the linear system of :class:`GibbsSystem` (coefficients recomputed at every
    stage, as Program Gibbs does with finite linear steps; Spear 1993). Heun:
    :math:`s_{k+1} = s_k + (k_1 + k_2)/2` with :math:`k_2` evaluated at :math:`s_k + k_1`.
    """
    if method not in ("euler", "heun", "rk4"):
        raise ModelError(f"method must be 'euler', 'heun' or 'rk4', got {method!r}")
    if not path:
        raise InputError("path needs at least one prescribed variable")
    vals = {k: np.asarray(v, dtype=float).ravel() for k, v in path.items()}
    n = {v.size for v in vals.values()}
    if len(n) != 1 or min(n) < 2:
        raise InputError(f"every path variable needs the same length ≥ 2, got {sorted(n)}")
    n = n.pop()
    for k, v in vals.items():
        if not np.all(np.isfinite(v)):
            raise InputError(
                f"path variable {k!r} has non-finite values at {np.flatnonzero(~np.isfinite(v))}"
            )
    if source is not None and system.mode == "open":
        raise ModelError("a source (infiltration) needs a closed or fractionating system")
    src_c = None
    if source is not None:
        arrs = {k: np.broadcast_to(np.asarray(v, float), (n - 1,)) for k, v in source.items()}
        src_c = np.array(
            [system.asm.to_components({k: a[i] for k, a in arrs.items()}) for i in range(n - 1)]
        )
    state = start if system.mode == "open" else system.with_bulk(start)
    if system.mode == "fractionating":
        state = replace(state, moles={**state.moles, system.fractionating_phase: 0.0})
    monitors = list(monitors) if monitors is not None else [k for k in vals if ":" in k]
    others = [k for k in vals if k not in monitors]
    states = [state]
    used = [0]
    for i in range(n - 1):
        given = {k: vals[k][i + 1] - vals[k][i] for k in vals}
        src = None if src_c is None else src_c[i]
        m = max(int(substeps), 1)
        new = _advance(system, state, given, src, method, m, reproject, list(vals))
        if tol is not None:
            while m < 256:
                finer = _advance(system, state, given, src, method, 2 * m, reproject, list(vals))
                err = max(abs(finer.T - new.T), abs(finer.P - new.P) / 1000.0)
                new, m = finer, 2 * m
                if err < tol:
                    break
        state = new
        states.append(state)
        used.append(m)
    rows = []
    for k, s in enumerate(states):
        row = {
            "T_K": s.T,
            "T_C": float(kelvin_to_celsius(s.T)),
            "P_bar": s.P,
            "P_kbar": float(bar_to_kbar(s.P)),
        }
        for p in system.phases:
            if not p.is_pure:
                xa = np.asarray(s.x[p.name])
                for e, v in zip(p.active_names, xa, strict=True):
                    row[f"{p.name}:{e}"] = float(v)
            if system.mode != "open":
                row[f"n_{p.name}"] = float(s.moles.get(p.name, 0.0))
        row["grown"] = s.grown
        try:
            row["condition_number"] = (
                system.condition_number(s, monitors, others) if monitors else np.nan
            )
        except ModelError:
            row["condition_number"] = np.inf
        row["substeps"] = used[k]
        rows.append(row)
    table = pd.DataFrame(rows)
    g_end = table["grown"].iloc[-1]
    table["radius_rel"] = np.cbrt(table["grown"] / g_end) if g_end > 0 else np.nan
    table.attrs["units"] = {
        "T_K": "K",
        "T_C": "degC",
        "P_bar": "bar",
        "P_kbar": "kbar",
        "grown": "mol",
    }
    return GibbsPath(table=table, states=states)


def rayleigh_fractionation(K: ArrayLike, F: ArrayLike) -> np.ndarray:
    r"""Rayleigh (Hollister 1966) garnet/reservoir ratio :math:`C_{grt}/(K C_0) = (1-F)^{K-1}`.

    Parameters
    ----------
    K : array_like
        Constant garnet/matrix partition coefficient.
    F : array_like
        Mass fraction of the initial reactive system converted to garnet, in [0, 1).

    Returns
    -------
    numpy.ndarray
        :math:`C_{grt}(F)/(K C_0)`.

    Examples
    --------
    >>> round(float(rayleigh_fractionation(20, 0.05)), 6)
    0.377354
    """
    K = np.asarray(K, dtype=float)
    F = np.asarray(F, dtype=float)
    if np.any((F < 0) | (F >= 1)):
        raise InputError(f"F must be in [0, 1), got {F}")
    return (1.0 - F) ** (K - 1.0)


# ---------------------------------------------------------------------------- batched equilibria
def _batch_rows(
    system: GibbsSystem, state: GibbsState, T, P, comps: Mapping[str, np.ndarray], phase
):
    """Residuals ΔG_r/RT (n, R), ∂/∂ξ_phase (n, R, k−1) and ∂/∂(T, P) (n, R, 2), vectorised."""
    n = T.size
    rx = system.asm.reactions
    res = np.zeros((n, rx.shape[0]))
    dT = np.zeros((n, rx.shape[0]))
    dP = np.zeros((n, rx.shape[0]))
    dxi = None
    for p in system.phases:
        xa = comps.get(p.name)
        if xa is None:
            xa = np.broadcast_to(system._xa(state, p), (n, len(p.active_names)))
        mu, S, V, M = phase_properties(p, system.asm.std, xa, T, P)
        nu_r = rx[:, system.asm.slices[p.name]]
        res += mu @ nu_r.T
        dT -= S @ nu_r.T
        dP += V @ nu_r.T
        if p.name == phase:
            D = M[:, :, 1:] - M[:, :, [0]]  # (n, k, k−1)
            dxi = np.einsum("rk,nkl->nrl", nu_r, D)
    rt = GAS_CONSTANT * T[:, None]
    return res / rt, dxi / rt[:, :, None], np.stack([dT, dP], axis=-1) / rt[:, :, None]


def _safe_solve(A: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Batched solve of A x = b (A (n, k, k), b (n, k, m)); NaN rows where A is singular/non-finite."""
    out = np.full(b.shape, np.nan)
    ok = np.isfinite(A).all(axis=(1, 2)) & np.isfinite(b).all(axis=(1, 2))
    if ok.any():
        with np.errstate(all="ignore"):
            det = np.linalg.det(A[ok])
        good = np.flatnonzero(ok)[np.abs(det) > 1e-300]
        if good.size:
            out[good] = np.linalg.solve(A[good], b[good])
    return out


def _comp_arrays(system, n, matrix):
    out = {}
    for k, v in (matrix or {}).items():
        out[k] = np.broadcast_to(np.asarray(v, dtype=float), (n, np.shape(v)[-1])).copy()
    return out


def equilibrium_composition(
    system: GibbsSystem,
    state: GibbsState,
    T: ArrayLike,
    P: ArrayLike,
    *,
    phase: str = "grt",
    matrix: Mapping[str, ArrayLike] | None = None,
    x0: ArrayLike | None = None,
    max_iter: int = 40,
    fixed: Sequence[str] = (),
) -> tuple[np.ndarray, np.ndarray]:
    r"""Composition of ``phase`` in equilibrium with a fixed matrix at many (T, P), and ∂ξ/∂(T, P).

    The integrated-mode (Newton) counterpart of the open-system Gibbs method, vectorised over points:
    Gauss–Newton on :math:`\Delta G_r/RT = 0` for the independent fractions of ``phase`` with all
    other phases at the compositions of ``state`` (or ``matrix``).

    Parameters
    ----------
    system : GibbsSystem
        Open-mode system.
    state : GibbsState
        Supplies the matrix compositions (and the starting garnet composition).
    T, P : array_like
        Temperatures (K) and pressures (bar), shape (n,).
    phase : str
        The phase solved for (default ``"grt"``).
    matrix : mapping of str to array_like, optional
        Per-point active compositions of other phases, shape (n, k_α) (override ``state``).
    x0 : array_like, optional
        Starting active composition of ``phase``, shape (n, k).
    max_iter : int
        Newton iteration limit.
    fixed : sequence of str
        Independent end-members of ``phase`` held at their ``x0`` (or ``state``) fractions, e.g.
        ``("spss",)`` for Mn-bearing garnet whose measured X_sps enters no equilibrium of the
        assemblage (the remaining fractions are solved at that X_sps).

    Returns
    -------
    x : numpy.ndarray
        Active mole fractions of ``phase`` (dependent first), shape (n, k).
    sensitivity : numpy.ndarray
        :math:`\partial\xi/\partial(T, P)` (1/K, 1/bar) of the free independent fractions, shape
        (n, k−1−len(fixed), 2): the Gibbs-method matrix A of the open system,
        :math:`A = -J_\xi^{+} J_\theta`.
    """
    T = np.atleast_1d(np.asarray(T, dtype=float))
    P = np.broadcast_to(np.asarray(P, dtype=float), T.shape).astype(float)
    n = T.size
    p = system.phases[[q.name for q in system.phases].index(phase)]
    k = len(p.active_names)
    comps = _comp_arrays(system, n, matrix)
    xa = np.broadcast_to(system._xa(state, p), (n, k)).copy() if x0 is None else np.array(x0, float)
    unknown = [f for f in fixed if f not in p.active_names[1:]]
    if unknown:
        raise ModelError(f"fixed end-member(s) {unknown} are not independent in {p.name!r}")
    free = [j for j, e in enumerate(p.active_names[1:]) if e not in fixed]
    E = np.vstack([-np.ones((1, k - 1)), np.eye(k - 1)])[:, free]  # dx = E dξ_free
    for it in range(max_iter + 1):
        comps[phase] = xa
        r, J, Jt = _batch_rows(system, state, T, P, comps, phase)
        J = J[:, :, free]
        JtJ = np.einsum("nrl,nrm->nlm", J, J)
        grad = np.einsum("nrl,nr->nl", J, r)
        with np.errstate(invalid="ignore"):
            done = ~(np.abs(r) >= 1e-12).any(axis=1)  # NaN rows (failed points) count as done
        if done.all() or it == max_iter:
            break  # |ΔG/RT| < 1e-12: compositions exact to ~1e-12; J, Jt evaluated at the solution
        delta = -_safe_solve(JtJ, grad[..., None])[..., 0]
        dx = delta @ E.T
        with np.errstate(divide="ignore", invalid="ignore"):
            lim = np.where(dx < 0, -0.9 * xa / dx, np.inf).min(axis=1)
        xa = xa + np.minimum(1.0, lim)[:, None] * dx
    sens = -_safe_solve(JtJ, np.einsum("nrl,nrt->nlt", J, Jt))
    return xa, sens


def equilibrium_conditions(
    system: GibbsSystem,
    state: GibbsState,
    x: ArrayLike,
    *,
    phase: str = "grt",
    matrix: Mapping[str, ArrayLike] | None = None,
    T0: float = 873.15,
    P0: float = 6000.0,
    max_iter: int = 60,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Point-wise (T, P) of each garnet composition with the matrix fixed (thermobarometry).

    Parameters
    ----------
    system : GibbsSystem
        Open-mode system, as for :func:`equilibrium_composition`.
    state : GibbsState
        Supplies the compositions of the other (matrix) phases.
    x : array_like
        Active compositions of ``phase`` (dependent fraction first), shape (n, k); a single
        composition of shape (k,) is treated as n = 1.
    phase : str, default "grt"
        The phase whose compositions are given.
    matrix : mapping of str to array_like, optional
        Per-point active compositions of other phases, shape (n, k_α) (override ``state``).
    T0 : float, default 873.15
        Starting temperature (K) of the Gauss–Newton iteration.
    P0 : float, default 6000.0
        Starting pressure (bar).
    max_iter : int, default 60
        Newton iteration limit.

    Returns
    -------
    T : numpy.ndarray
        Temperatures (K), shape (n,) (NaN where Newton failed).
    P : numpy.ndarray
        Pressures (bar), shape (n,).
    converged : numpy.ndarray of bool
    """
    x = np.atleast_2d(np.asarray(x, dtype=float))
    n = x.shape[0]
    comps = _comp_arrays(system, n, matrix)
    comps[phase] = x
    T = np.full(n, float(T0))
    P = np.full(n, float(P0))
    step = np.full(n, np.inf)
    for _ in range(max_iter):
        r, _J, Jt = _batch_rows(system, state, T, P, comps, phase)
        Jt = Jt * np.array([100.0, 1000.0])  # scale: 100 K, 1 kbar
        with np.errstate(all="ignore"):
            d = -np.linalg.lstsq(Jt[0], r[0], rcond=None)[0] if n == 1 else None
            if d is None:
                JtJ = np.einsum("nrl,nrm->nlm", Jt, Jt)
                d = -np.linalg.solve(JtJ, np.einsum("nrl,nr->nl", Jt, r)[..., None])[..., 0]
        d = np.atleast_2d(d) * np.array([100.0, 1000.0])
        d[:, 0] = np.clip(d[:, 0], -150.0, 150.0)
        d[:, 1] = np.clip(d[:, 1], -4000.0, 4000.0)
        T = np.clip(T + d[:, 0], 300.0, 2000.0)
        P = np.clip(P + d[:, 1], 1.0, 40000.0)
        step = np.abs(d[:, 0]) + np.abs(d[:, 1]) / 1000.0
        if np.all(step < 1e-9):
            break
    ok = step < 1e-6
    return np.where(ok, T, np.nan), np.where(ok, P, np.nan), ok


# ---------------------------------------------------------------------------- assemblages
_ASSEMBLAGES = {
    "grt-bt-pl-ky-qtz": ("grt", "bt", "pl", "ky", "q"),
    "grt-bt-pl-sil-qtz": ("grt", "bt", "pl", "sill", "q"),
    "grt-bt-pl-ms-qtz": ("grt", "bt", "ms", "pl", "q"),
    "grt-bt-ms-pl-ky-qtz": ("grt", "bt", "ms", "pl", "ky", "q"),
}


def metapelite_system(
    assemblage: str = "grt-bt-pl-ky-qtz",
    *,
    garnet: str = "white14-g",
    plagioclase: str = "pl4tr",
    mode: str = "open",
    manganese: bool = False,
) -> GibbsSystem:
    """A ds62 metapelite assemblage in (Mn)NCKFMASH for the Gibbs method.

    Parameters
    ----------
    assemblage : str
        One of ``grt-bt-pl-ky-qtz``, ``grt-bt-pl-sil-qtz``, ``grt-bt-pl-ms-qtz`` (H2O implicit: the
        micas' OH is a component), ``grt-bt-ms-pl-ky-qtz``.
    garnet : str
        Garnet a–x model name (:func:`~petroinfer.thermo.get_solution_model`); ``alm`` dependent.
    plagioclase : str
        Plagioclase a–x model name; ``ab`` dependent, K-feldspar end-member inactive.
    mode : {"open", "closed", "fractionating"}
        See :class:`GibbsSystem`.
    manganese : bool
        Include spessartine in garnet (MnNCKFMASH; X_sps is then a free monitor).

    Returns
    -------
    GibbsSystem
    """
    from petroinfer.thermo.solutions import biotite_ideal, get_solution_model

    if assemblage not in _ASSEMBLAGES:
        raise ModelError(
            f"unknown assemblage {assemblage!r}; choose one of {', '.join(_ASSEMBLAGES)}"
        )
    grt_em = ("alm", "py", "spss", "gr") if manganese else ("alm", "py", "gr")
    make = {
        "grt": lambda: Phase("grt", get_solution_model(garnet), grt_em, "alm"),
        "bt": lambda: Phase("bt", biotite_ideal(), ("ann", "phl"), "ann"),
        "pl": lambda: Phase("pl", get_solution_model(plagioclase), ("ab", "an"), "ab"),
        "ms": lambda: Phase("ms", "mu"),
        "ky": lambda: Phase("ky", "ky"),
        "sill": lambda: Phase("sill", "sill"),
        "q": lambda: Phase("q", "q"),
    }
    return GibbsSystem([make[p]() for p in _ASSEMBLAGES[assemblage]], mode=mode)


#: §B.1 constants: FS78 Grt–Bt exchange and KN88 GASP (ΔH J, ΔS J/K, ΔV J/bar).
TOY_REACTIONS = {"exchange": (52107.5, 19.506, 0.2385), "gasp": (-48357.0, -150.66, -6.608)}


def toy_open_system() -> GibbsSystem:
    """The synthetic Grt–Bt–Pl–Ky–Qtz system of the gibbs notes §B.1 (constant ΔH, ΔS, ΔV; ideal).

    Garnet (alm, py, gr; a = X³), biotite (ann, phl; a = X³), plagioclase (ab, an; a_an = X_An).
    End-member standard states are zero except prp and grs, which carry the FS78 exchange and KN88
    GASP reaction constants, so that the two independent reactions have exactly those properties.
    """
    from petroinfer.thermo.solutions import SolutionModel, biotite_ideal, garnet_ideal

    pl = SolutionModel("pl-molecular", ("ab", "an"), ((1.0, np.eye(2)),), None, "a_an = X_An")
    std = {e: (0.0, 0.0, 0.0) for e in ("alm", "phl", "ann", "ab", "an", "ky", "q")}
    std["py"] = TOY_REACTIONS["exchange"]
    std["gr"] = TOY_REACTIONS["gasp"]
    phases = [
        Phase("grt", garnet_ideal(), ("alm", "py", "gr"), "alm"),
        Phase("bt", biotite_ideal(), ("ann", "phl"), "ann"),
        Phase("pl", pl, ("ab", "an"), "ab"),
        Phase("ky", "ky"),
        Phase("q", "q"),
    ]
    return GibbsSystem(phases, standard_states=std)
