r"""Assembly of the Gibbs-method linear systems (private; public names in :mod:`petroinfer.thermo.gibbs`).

Two assemblies of the same differential equilibrium conditions are built here:

* the **reaction form** (Spear 1993; PT notes §4.2): one row per independent reaction,
  :math:`-\Delta\bar S_r\,dT + \Delta\bar V_r\,dP + \sum_m \nu_{rm}\,d\mu_m^{X} = 0`;
* the **per-phase form** (Spear, Ferry & Rumble 1982; gibbs notes §A.2): one Gibbs–Duhem row per phase
  and (k−1) composition rows per solution, with the component potentials dμ_c as extra unknowns.

Both optionally carry the closed-system mass balance (gibbs notes §A.3), with a fractionating phase
whose interior is isolated.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import scipy.linalg

from petroinfer.errors import InputError, ModelError
from petroinfer.thermo.endmembers import endmember
from petroinfer.thermo.solutions import SolutionModel
from petroinfer.units import GAS_CONSTANT

R = GAS_CONSTANT

_TOKEN = re.compile(r"([A-Z][a-z]?|\(|\)|\d+\.?\d*)")


def parse_formula(formula: str) -> dict[str, float]:
    """Element counts of a chemical formula with optional parentheses, e.g. ``KFe3AlSi3O10(OH)2``."""
    tokens = _TOKEN.findall(formula)
    if "".join(tokens) != formula.replace(" ", ""):
        raise InputError(f"cannot parse the formula {formula!r}")
    stack: list[dict[str, float]] = [{}]
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        mult = 1.0
        if i + 1 < len(tokens) and tokens[i + 1][0].isdigit():
            mult = float(tokens[i + 1])
        if tok == "(":
            stack.append({})
        elif tok == ")":
            group = stack.pop()
            for el, n in group.items():
                stack[-1][el] = stack[-1].get(el, 0.0) + n * mult
        elif tok[0].isdigit():
            pass
        else:
            stack[-1][tok] = stack[-1].get(tok, 0.0) + mult
        if i + 1 < len(tokens) and tokens[i + 1][0].isdigit():
            i += 1
        i += 1
    if len(stack) != 1:
        raise InputError(f"unbalanced parentheses in the formula {formula!r}")
    return stack[0]


def _formula(name: str) -> str:
    from petroinfer.thermo.endmembers import ds62_table

    table = ds62_table().set_index("name")
    if name in table.index:
        return str(table.loc[name, "formula"])
    if name == "H2O":
        return "H2O"
    raise ModelError(f"no formula known for the end-member {name!r}")


@dataclass(frozen=True)
class Phase:
    """A phase of a Gibbs-method assemblage.

    Parameters
    ----------
    name : str
        Short label used in variable names (``"grt"`` gives ``grt:py``, ``n_grt``).
    model : SolutionModel or str
        The a–x model of a solution, or the ds62 name of a pure phase (``"q"``, ``"ky"``).
    endmembers : tuple of str, optional
        Active end-members of the solution (default all of the model's); the others are held at 0
        (e.g. Mn-free garnet ``("py", "alm", "gr")``).
    dependent : str, optional
        The dependent end-member, eliminated by :math:`\\sum_j X_j = 1` (default the first active).
    """

    name: str
    model: SolutionModel | str
    endmembers: tuple[str, ...] | None = None
    dependent: str | None = None
    _active: tuple[int, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if isinstance(self.model, str):
            active: tuple[int, ...] = (0,)
        else:
            names = self.model.endmembers
            want = names if self.endmembers is None else self.endmembers
            bad = [e for e in want if e not in names]
            if bad:
                raise ModelError(f"phase {self.name!r}: {bad} not end-members of {self.model.name}")
            active = tuple(names.index(e) for e in want)
            dep = self.dependent if self.dependent is not None else want[0]
            if dep not in want:
                raise ModelError(f"phase {self.name!r}: dependent {dep!r} is not active")
            # put the dependent end-member first
            k = want.index(dep)
            active = (active[k], *active[:k], *active[k + 1 :])
        object.__setattr__(self, "_active", active)

    @property
    def is_pure(self) -> bool:
        return isinstance(self.model, str)

    @property
    def active_names(self) -> tuple[str, ...]:
        if self.is_pure:
            return (str(self.model),)
        return tuple(self.model.endmembers[i] for i in self._active)  # type: ignore[union-attr]

    @property
    def variables(self) -> tuple[str, ...]:
        """Independent composition variables, ``phase:endmember`` (dependent one excluded)."""
        return tuple(f"{self.name}:{e}" for e in self.active_names[1:])

    def full(self, xa: np.ndarray) -> np.ndarray:
        """Model-length mole fractions from active fractions, shape (n, m)."""
        xa = np.atleast_2d(xa)
        if self.is_pure:
            return np.ones((xa.shape[0], 1))
        out = np.zeros((xa.shape[0], len(self.model.endmembers)))  # type: ignore[union-attr]
        out[:, list(self._active)] = xa
        return out


class ConstantStandardState:
    """End-member with constant ΔH, ΔS, ΔV: G = H − T S + (P − 1) V (J; T in K, P in bar)."""

    def __init__(self, H: float, S: float, V: float) -> None:
        self.H, self.S, self.V = float(H), float(S), float(V)

    def properties(self, T, P):
        T = np.asarray(T, dtype=float)
        P = np.asarray(P, dtype=float)
        G = self.H - T * self.S + (P - 1.0) * self.V
        return {
            "G": G,
            "S": np.broadcast_to(self.S, G.shape),
            "V": np.broadcast_to(self.V, G.shape),
        }


def phase_properties(phase: Phase, std: Mapping[str, object], xa: np.ndarray, T, P):
    """μ, S̄, V̄ of the active end-members and M = ∂μ_i/∂x_k (Σn = 1), vectorised over n points.

    Returns mu (n, k) J, S (n, k) J/K, V (n, k) J/bar, M (n, k, k) J.
    """
    xa = np.atleast_2d(np.asarray(xa, dtype=float))
    n = xa.shape[0]
    T = np.broadcast_to(np.asarray(T, dtype=float), (n,))
    P = np.broadcast_to(np.asarray(P, dtype=float), (n,))
    names = phase.active_names
    props = [std[e].properties(T, P) for e in names]  # type: ignore[attr-defined]
    G0 = np.stack([np.broadcast_to(p["G"], (n,)) for p in props], axis=1)
    S0 = np.stack([np.broadcast_to(p["S"], (n,)) for p in props], axis=1)
    V0 = np.stack([np.broadcast_to(p["V"], (n,)) for p in props], axis=1)
    if phase.is_pure:
        return G0, S0, V0, np.zeros((n, 1, 1))
    model: SolutionModel = phase.model  # type: ignore[assignment]
    idx = list(phase._active)
    x = phase.full(xa)
    with np.errstate(divide="ignore", invalid="ignore"):
        ln_id = model.ln_ideal_activity(x)[:, idx]
        muH, muS, muV = model.mu_excess_parts(x)
        dmu = model.dmu_dn(x, T, P)
    mu_ex = muH[:, idx] - T[:, None] * muS[:, idx] + P[:, None] * muV[:, idx]
    mu = G0 + R * T[:, None] * ln_id + mu_ex
    S = S0 - R * ln_id + muS[:, idx]
    V = V0 + muV[:, idx]
    M = dmu[:, idx][:, :, idx]
    return mu, S, V, M


class Assembly:
    """Stoichiometry, component basis, reactions and variable layout of an assemblage."""

    def __init__(
        self,
        phases: Sequence[Phase],
        standard_states: Mapping[str, tuple[float, float, float]] | None = None,
        reactions: Sequence[Mapping[str, float]] | None = None,
    ) -> None:
        names = [p.name for p in phases]
        if len(set(names)) != len(names):
            raise ModelError(f"phase names must be unique, got {names}")
        self.phases = tuple(phases)
        self.em = [(p.name, e) for p in phases for e in p.active_names]
        em_names = [e for _, e in self.em]
        std: dict[str, object] = {}
        overrides = dict(standard_states or {})
        for e in em_names:
            std[e] = ConstantStandardState(*overrides[e]) if e in overrides else endmember(e)
        self.std = std
        comp = [parse_formula(_formula(e)) for e in em_names]
        self.elements = sorted({el for c in comp for el in c})
        nu = np.array([[c.get(el, 0.0) for el in self.elements] for c in comp])
        self.nu_elements = nu
        _u, s, vt = np.linalg.svd(nu, full_matrices=False)
        rank = int(np.sum(s > 1e-10 * s[0]))
        self.basis = vt[:rank].T  # elements × C
        self.nu = nu @ self.basis  # end-members × C
        if reactions is None:
            self.reactions = scipy.linalg.null_space(nu.T).T  # R × N_em
        else:
            rx = np.zeros((len(reactions), len(em_names)))
            for r, reac in enumerate(reactions):
                for e, v in reac.items():
                    if e not in em_names:
                        raise ModelError(f"reaction end-member {e!r} not in the assemblage")
                    rx[r, em_names.index(e)] = v
            if np.abs(rx @ nu).max() > 1e-9:
                raise ModelError("the given reactions are not balanced")
            self.reactions = rx
        # slices of each phase's end-members in the em list
        self.slices: dict[str, slice] = {}
        k = 0
        for p in phases:
            self.slices[p.name] = slice(k, k + len(p.active_names))
            k += len(p.active_names)

    def to_components(self, formula_amounts: Mapping[str, float]) -> np.ndarray:
        """A source given as {formula or end-member: moles} in the component basis (C,)."""
        vec = np.zeros(len(self.elements))
        for key, amount in formula_amounts.items():
            try:
                comp = parse_formula(_formula(key))
            except ModelError:
                comp = parse_formula(key)
            for el, n in comp.items():
                if el not in self.elements:
                    raise ModelError(f"source {key!r} contains {el}, absent from the assemblage")
                vec[self.elements.index(el)] += n * float(amount)
        c = self.basis.T @ vec
        if np.linalg.norm(self.basis @ c - vec) > 1e-9 * max(1.0, np.linalg.norm(vec)):
            raise ModelError("the source is not in the span of the assemblage's components")
        return c


def with_fluid(system, name: str = "fluid"):
    r"""The same assemblage saturated with a pure H2O fluid phase (``Phase(name, "H2O")``).

    Parameters
    ----------
    system : GibbsSystem
        An assemblage (any mode); its phases, mode, standard states and fractionating phase are kept.
    name : str
        Label of the fluid phase (variable ``n_<name>`` in closed modes).

    Returns
    -------
    GibbsSystem
        The H2O-saturated system. μ_H2O is that of pure H2O from the ds62 CORK equation of state
        (:func:`petroinfer.thermo.endmember`, Holland & Powell 1991, 1998, 2011): a_H2O = 1.

    Notes
    -----
    Phase rule bookkeeping (open mode, F = C − Φ + 2): the fluid adds a phase, and adds a component
    only if H2O was not already in the span of the assemblage. In Grt–Bt–Ms–Pl–Qtz(–Ky) the micas fix
    K : H = 1 : 2, so H2O becomes a new component and F is unchanged — no reaction involves the fluid
    and it is a spectator of the equilibria. With K-feldspar present H2O is already a component, the
    fluid removes one degree of freedom and adds one reaction (e.g. mu + q = san + sill/ky + H2O).

    Examples
    --------
    >>> from petroinfer.thermo import metapelite_system, with_fluid
    >>> dry = metapelite_system("grt-bt-ms-pl-ky-qtz")
    >>> wet = with_fluid(dry)
    >>> (dry.variance, wet.variance, wet.n_components - dry.n_components)
    (3, 3, 1)
    """
    from petroinfer.thermo.gibbs import GibbsSystem

    if name in [p.name for p in system.phases]:
        raise ModelError(f"the system already has a phase called {name!r}")
    return GibbsSystem(
        [*system.phases, Phase(name, "H2O")],
        mode=system.mode,
        fractionating_phase=system.fractionating_phase,
        standard_states=system._standard_states or None,
    )
