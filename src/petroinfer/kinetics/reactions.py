r"""Heterogeneous-reaction networks: specification, ODE forward model, state-space form, generator.

A network has solid species (amounts as volumes ``V``) and aqueous species (concentrations ``c``).
Reaction ``j`` runs at

.. math::

    r_j = k_j \, S_j(V_{s(j)}) \, f_j(c), \qquad
    \frac{dx}{dt} = N \, r(x), \qquad N_{ij} = \text{stoichiometric coefficient of species } i
    \text{ in reaction } j,

with the reactive surface of the controlling solid ``s(j)`` following a geometric law
:math:`S(V) = V^{p}` for :math:`V > 0` (0 otherwise; the prefactor is absorbed in ``k_j``):
``sphere`` p = 2/3 (shrinking/growing spheres), ``cylinder`` p = 1/2, ``plate`` p = 0 (constant area
while the solid exists), ``volume`` p = 1 (pore filling). The driving force is ``zero`` (f = 1,
far from equilibrium), ``first-order`` (f = c_driver) or ``affinity`` (f = c − c_eq for a reaction
consuming the driver, c_eq − c for one producing it).

Because the rates are linear in the constants, :math:`dx/dt = N \operatorname{diag}(\Phi(x)) k`
with :math:`\Phi_j = S_j f_j`; this is what makes the closed-form EM M-step possible.

The stochastic state-space form on a time grid :math:`t_0 < t_1 < \dots` is the Euler–Maruyama step

.. math::

    x_{i+1} = \max\{0,\; x_i + \Delta t_i \, F(x_i; k) + \sqrt{\Delta t_i}\, q \odot \varepsilon_i\},
    \quad y_i = H x_i + w_i, \; w_i \sim N(0, \operatorname{diag}\sigma^2),

observed only at the measurement times and only for the observed species (partial observation).

References
----------
Omori, Kuwatani, Okamoto & Hukushima (2016) Phys. Rev. E 94:033305 (model template; this module is a
reconstruction [R] from the abstracts, see docs/methods/reaction_kinetics.md).
Ito, Kuwatani, Oyanagi & Omori (2021) Entropy 23:824 (candidate surface models, sparse selection).
Lasaga (1998) Kinetic Theory in the Earth Sciences, Princeton (surface-controlled rate laws).
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from petroinfer._rng import RandomState, as_generator
from petroinfer.errors import InputError, ModelError

__all__ = [
    "SURFACE_LAWS",
    "Reaction",
    "ReactionNetwork",
    "Species",
    "dissolution_precipitation",
    "load_network",
    "simulate_observations",
]

#: Surface-area exponents p in S(V) = V**p.
SURFACE_LAWS: dict[str, float] = {"sphere": 2.0 / 3.0, "cylinder": 0.5, "plate": 0.0, "volume": 1.0}
RATE_FORMS = ("zero", "first-order", "affinity")
#: Floor of the multiplicative system noise, as a fraction of the network's total amount.
NOISE_FLOOR = 1e-3
PHASES = ("solid", "aqueous")


@dataclass(frozen=True)
class Species:
    """A species of the network: ``phase`` is ``"solid"`` (amount = volume) or ``"aqueous"``.

    Parameters
    ----------
    name : str
        Species name, unique in the network (used in stoichiometries and as data column).
    phase : {"solid", "aqueous"}
        ``"solid"``: the amount is a volume ``V`` and the species can control a reactive surface;
        ``"aqueous"``: the amount is a concentration ``c`` and the species can drive a rate law.
    initial : float, default 0.0
        Amount (volume or concentration, ≥ 0) at the start time of the network.
    """

    name: str
    phase: str
    initial: float = 0.0


@dataclass(frozen=True)
class Reaction:
    """One surface-controlled reaction ``r = k S(V_surface) f(c)``.

    Parameters
    ----------
    name : str
    stoichiometry : mapping species -> coefficient (negative = consumed)
    rate_constant : float
        k (> 0); the surface prefactor is absorbed in it.
    surface : str
        Solid species whose reactive surface controls the rate.
    surface_law : {"sphere", "cylinder", "plate", "volume"}
    rate_form : {"zero", "first-order", "affinity"}
    driver : str, optional
        Aqueous species in f (required unless ``rate_form="zero"``).
    c_eq : float
        Equilibrium concentration of the driver (affinity form).
    """

    name: str
    stoichiometry: Mapping[str, float]
    rate_constant: float
    surface: str
    surface_law: str = "sphere"
    rate_form: str = "zero"
    driver: str | None = None
    c_eq: float = 0.0


@dataclass(frozen=True)
class ReactionNetwork:
    """Species and surface-controlled reactions (see the module docstring for the equations).

    The network is checked on construction (:meth:`validate`; raises
    :class:`~petroinfer.errors.ModelError`).

    Parameters
    ----------
    species : sequence of Species
        The species, in the order of the state vector (converted to a tuple).
    reactions : sequence of Reaction
        At least one reaction, in the order of the rate constants (converted to a tuple).
    name : str, default "network"
        Label of the network (kept in results' metadata and in simulated data).
    _cache : dict, optional
        Internal memo of the derived index and stoichiometry arrays; leave at the default (a new
        empty dict).

    Examples
    --------
    >>> net = dissolution_precipitation()
    >>> net.species_names, net.reaction_names
    (('A', 'B', 'C'), ('dissolution', 'precipitation'))
    >>> net.stoichiometry_matrix()
    array([[-1.,  0.],
           [ 1., -1.],
           [ 0.,  1.]])
    """

    species: tuple[Species, ...]
    reactions: tuple[Reaction, ...]
    name: str = "network"
    _cache: dict = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "species", tuple(self.species))
        object.__setattr__(self, "reactions", tuple(self.reactions))
        self.validate()

    # -- structure
    @property
    def species_names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.species)

    @property
    def reaction_names(self) -> tuple[str, ...]:
        return tuple(r.name for r in self.reactions)

    @property
    def rate_constants(self) -> np.ndarray:
        return np.array([r.rate_constant for r in self.reactions], dtype=float)

    @property
    def initial_state(self) -> np.ndarray:
        return np.array([s.initial for s in self.species], dtype=float)

    def index(self, name: str) -> int:
        try:
            return self.species_names.index(name)
        except ValueError:
            raise InputError(
                f"unknown species; the network has {list(self.species_names)}", value=name
            ) from None

    def validate(self) -> None:
        """Check names, phases, stoichiometry, laws and forms (raises ModelError)."""
        names = [s.name for s in self.species]
        if not names or len(set(names)) != len(names):
            raise ModelError(f"species names must be unique and non-empty, got {names}")
        for s in self.species:
            if s.phase not in PHASES:
                raise ModelError(
                    f"species {s.name!r}: phase must be one of {PHASES}, got {s.phase!r}"
                )
            if not (np.isfinite(s.initial) and s.initial >= 0):
                raise ModelError(
                    f"species {s.name!r}: initial amount must be >= 0, got {s.initial}"
                )
        if not self.reactions:
            raise ModelError("a reaction network needs at least one reaction")
        rnames = [r.name for r in self.reactions]
        if len(set(rnames)) != len(rnames):
            raise ModelError(f"reaction names must be unique, got {rnames}")
        phase = {s.name: s.phase for s in self.species}
        for r in self.reactions:
            for sp in r.stoichiometry:
                if sp not in phase:
                    raise ModelError(
                        f"reaction {r.name!r}: unknown species {sp!r} in stoichiometry"
                    )
            if phase.get(r.surface) != "solid":
                raise ModelError(
                    f"reaction {r.name!r}: surface {r.surface!r} must be a solid species"
                )
            if r.surface_law not in SURFACE_LAWS:
                raise ModelError(
                    f"reaction {r.name!r}: surface_law must be one of {list(SURFACE_LAWS)}, "
                    f"got {r.surface_law!r}"
                )
            if r.rate_form not in RATE_FORMS:
                raise ModelError(
                    f"reaction {r.name!r}: rate_form must be one of {list(RATE_FORMS)}, "
                    f"got {r.rate_form!r}"
                )
            if r.rate_form != "zero" and phase.get(r.driver) != "aqueous":
                raise ModelError(f"reaction {r.name!r}: driver must be an aqueous species")
            if not (np.isfinite(r.rate_constant) and r.rate_constant >= 0):
                raise ModelError(f"reaction {r.name!r}: rate_constant must be >= 0")

    def stoichiometry_matrix(self) -> np.ndarray:
        """N with shape (n_species, n_reactions)."""
        N = np.zeros((len(self.species), len(self.reactions)))
        for j, r in enumerate(self.reactions):
            for sp, v in r.stoichiometry.items():
                N[self.index(sp), j] = float(v)
        return N

    def _arrays(self) -> tuple:
        if "arr" not in self._cache:
            surf = np.array([self.index(r.surface) for r in self.reactions])
            expo = np.array([SURFACE_LAWS[r.surface_law] for r in self.reactions])
            drv = np.array([self.index(r.driver) if r.driver else 0 for r in self.reactions])
            N = self.stoichiometry_matrix()
            # f = a + b c_driver: zero (1, 0), first-order (0, 1), affinity (-sign c_eq, sign)
            a = np.zeros(len(self.reactions))
            b = np.zeros(len(self.reactions))
            for j, r in enumerate(self.reactions):
                if r.rate_form == "zero":
                    a[j] = 1.0
                elif r.rate_form == "first-order":
                    b[j] = 1.0
                else:
                    sign = -np.sign(N[drv[j], j]) or 1.0
                    a[j], b[j] = -sign * r.c_eq, sign
            self._cache["arr"] = (surf, expo, drv, a, b, N, -N, bool((expo == 0).any()))
        return self._cache["arr"]

    def rate_terms(self, x: np.ndarray) -> np.ndarray:
        """Φ(x) = S_j(V) f_j(c) for states ``x`` of shape (..., n_species) → (..., n_reactions)."""
        surf, expo, drv, a, b, _, _, has_zero = self._arrays()
        v = x[..., surf]
        s = np.maximum(v, 0.0) ** expo
        if has_zero:
            s = s * (v > 0)
        return s * (a + b * x[..., drv])

    def drift(self, x: np.ndarray, k: np.ndarray | None = None) -> np.ndarray:
        """dx/dt = N diag(Φ(x)) k; ``k`` broadcasts against (..., n_reactions)."""
        k = self.rate_constants if k is None else k
        return (self.rate_terms(x) * k) @ self._arrays()[5].T

    def limit_extents(self, x: np.ndarray, xi: np.ndarray) -> np.ndarray:
        """Scale reaction extents ``xi`` (..., R) so no species is consumed below zero.

        A species s consumed by several reactions limits them jointly: with ``need_sj = -N_sj xi_j``
        and the total demand ``T_s = Σ_j max(need_sj, 0)``, every reaction consuming s is scaled
        by at most ``f_s = min(1, x_s / T_s)``, and reaction j by ``min_s f_s`` over the species it
        consumes. Then ``x_s + Σ_j N_sj ξ_j f_j ≥ x_s - f_s T_s ≥ 0``, so the step never needs
        clipping and conserves every ``wᵀx`` (``wᵀN = 0``) to round-off, also when two reactions
        draw on one solid.
        """
        negN = self._arrays()[6]
        need = xi[..., None, :] * negN  # (..., S, R)
        pos = need > 0
        total = np.where(pos, need, 0.0).sum(axis=-1)  # (..., S)
        f = np.minimum(1.0, np.divide(x, total, out=np.full(total.shape, np.inf), where=total > 0))
        per = np.where(pos, f[..., :, None], np.inf)  # (..., S, R)
        return xi * np.minimum(1.0, per.min(axis=-2))

    def _apply(self, x: np.ndarray, xi: np.ndarray) -> np.ndarray:
        xn = x + xi @ self._arrays()[5].T
        if xn.min() < 0.0:
            xn = x + self.limit_extents(x, xi) @ self._arrays()[5].T
        return np.maximum(xn, 0.0)

    def euler_step(self, x: np.ndarray, k: np.ndarray, dt: float) -> np.ndarray:
        """Deterministic extent-limited Euler step ``x + N ξ``, ``ξ = dt Φ(x) k`` (limited)."""
        return self._apply(x, dt * self.rate_terms(x) * k)

    def heun_step(self, x: np.ndarray, k: np.ndarray, dt: float) -> np.ndarray:
        """Extent-limited Heun (trapezoidal) step: ``ξ = dt (Φ(x) + Φ(x̃)) k / 2`` with ``x̃`` the
        Euler predictor; second-order accurate away from exhaustion."""
        xi1 = dt * self.rate_terms(x) * k
        xi = 0.5 * (xi1 + dt * self.rate_terms(self._apply(x, xi1)) * k)
        return self._apply(x, xi)

    # -- variants
    def with_surface_law(self, law: str) -> ReactionNetwork:
        """Copy with every reaction's surface law set to ``law``."""
        if law not in SURFACE_LAWS:
            raise ModelError(f"surface law must be one of {list(SURFACE_LAWS)}, got {law!r}")
        return replace(
            self, reactions=tuple(replace(r, surface_law=law) for r in self.reactions), _cache={}
        )

    def with_rate_constants(self, k: Sequence[float]) -> ReactionNetwork:
        """Copy with new rate constants (order of :attr:`reactions`)."""
        k = np.asarray(k, dtype=float)
        if k.shape != (len(self.reactions),):
            raise ModelError(f"expected {len(self.reactions)} rate constants, got {k.shape}")
        return replace(
            self,
            reactions=tuple(
                replace(r, rate_constant=float(v)) for r, v in zip(self.reactions, k, strict=True)
            ),
            _cache={},
        )

    def candidate_library(self, laws: Sequence[str] = tuple(SURFACE_LAWS)) -> ReactionNetwork:
        """Expanded network with one term per (reaction, surface law), named ``reaction[law]``."""
        rs = []
        for r in self.reactions:
            for law in laws:
                rs.append(replace(r, name=f"{r.name}[{law}]", surface_law=law))
        return ReactionNetwork(self.species, tuple(rs), name=f"{self.name}-library")

    # -- forward model
    def simulate(
        self, times: Any, *, k: Any = None, x0: Any = None, rtol: float = 1e-8, atol: float = 1e-10
    ) -> pd.DataFrame:
        """Deterministic ODE solution at ``times`` (scipy ``solve_ivp``, LSODA).

        The integration starts at ``times[0]`` from ``x0`` (default: the species' initial amounts).

        Examples
        --------
        >>> net = dissolution_precipitation()
        >>> df = net.simulate([0.0, 30.0, 60.0])
        >>> bool(abs(df[["A", "B", "C"]].sum(axis=1) - 1.05).max() < 1e-6)  # mass balance
        True
        """
        from scipy.integrate import solve_ivp

        t = np.asarray(times, dtype=float)
        if t.ndim != 1 or t.size < 1 or np.any(np.diff(t) <= 0):
            raise InputError("times must be a strictly increasing 1-D sequence")
        kk = self.rate_constants if k is None else np.asarray(k, dtype=float)
        y0 = self.initial_state if x0 is None else np.asarray(x0, dtype=float)

        surf, expo, *_ = self._arrays()
        N = self._arrays()[5]
        eps = 1e-6 * max(float(np.sum(y0)), 1e-300)
        plate = expo == 0

        def rhs(_t, x):
            xp = np.maximum(x, 0.0)
            phi = self.rate_terms(xp)
            if plate.any():  # continuous ramp instead of the on/off plate area (no chattering)
                phi = np.where(plate, phi * np.minimum(1.0, xp[surf] / eps), phi)
            return (phi * kk) @ N.T

        if t.size == 1:
            return pd.DataFrame([y0], columns=list(self.species_names)).assign(time=t)[
                ["time", *self.species_names]
            ]
        sol = solve_ivp(rhs, (t[0], t[-1]), y0, t_eval=t, method="LSODA", rtol=rtol, atol=atol)
        if not sol.success:
            raise ModelError(f"ODE integration failed: {sol.message}")
        df = pd.DataFrame(np.maximum(sol.y.T, 0.0), columns=list(self.species_names))
        df.insert(0, "time", t)
        return df

    def to_dict(self) -> dict[str, Any]:
        """Plain-dict (YAML-ready) specification."""
        return {
            "name": self.name,
            "species": [
                {"name": s.name, "phase": s.phase, "initial": s.initial} for s in self.species
            ],
            "reactions": [
                {
                    "name": r.name,
                    "stoichiometry": dict(r.stoichiometry),
                    "rate_constant": r.rate_constant,
                    "surface": r.surface,
                    "surface_law": r.surface_law,
                    "rate_form": r.rate_form,
                    "driver": r.driver,
                    "c_eq": r.c_eq,
                }
                for r in self.reactions
            ],
        }

    @classmethod
    def from_dict(cls, spec: Mapping[str, Any]) -> ReactionNetwork:
        """Build from a dict with keys ``species`` and ``reactions`` (see :meth:`to_dict`)."""
        if not isinstance(spec, Mapping) or "species" not in spec or "reactions" not in spec:
            raise ModelError("a network specification needs 'species' and 'reactions' lists")
        try:
            sp = tuple(
                Species(
                    str(s["name"]), str(s.get("phase", "aqueous")), float(s.get("initial", 0.0))
                )
                for s in spec["species"]
            )
            rs = tuple(
                Reaction(
                    name=str(r["name"]),
                    stoichiometry={str(a): float(b) for a, b in dict(r["stoichiometry"]).items()},
                    rate_constant=float(r.get("rate_constant", 1.0)),
                    surface=str(r["surface"]),
                    surface_law=str(r.get("surface_law", "sphere")),
                    rate_form=str(r.get("rate_form", "zero")),
                    driver=None if r.get("driver") is None else str(r["driver"]),
                    c_eq=float(r.get("c_eq", 0.0)),
                )
                for r in spec["reactions"]
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelError(f"invalid network specification: {exc!r}") from None
        return cls(sp, rs, name=str(spec.get("name", "network")))


def dissolution_precipitation(
    k_dissolution: float = 0.05,
    k_precipitation: float = 0.2,
    *,
    surface: str = "sphere",
    c_eq: float = 0.1,
    V_A0: float = 1.0,
    c_B0: float = 0.0,
    V_C0: float = 0.05,
) -> ReactionNetwork:
    """The A(solid) → B(aq) → C(solid) template (e.g. olivine → silica(aq) → serpentine) [R].

    ``dV_A/dt = −k1 S(V_A)``, ``dc_B/dt = k1 S(V_A) − k2 S(V_C)(c_B − c_eq)``,
    ``dV_C/dt = k2 S(V_C)(c_B − c_eq)`` (unit stoichiometry; time in arbitrary units, e.g. h).
    ``V_C0 > 0`` are the seeds on which C grows.

    Parameters
    ----------
    k_dissolution : float, default 0.05
        Rate constant k1 of the dissolution A → B, rate ``k1 S(V_A)`` (zero-order form; the
        surface prefactor is absorbed in k1).
    k_precipitation : float, default 0.2
        Rate constant k2 of the precipitation B → C, rate ``k2 S(V_C)(c_B − c_eq)`` (affinity
        form).
    surface : {"sphere", "cylinder", "plate", "volume"}, default "sphere"
        Surface-area law S(V) of both reactions (see :data:`SURFACE_LAWS`).
    c_eq : float, default 0.1
        Equilibrium concentration of B for the precipitation (affinity rate form).
    V_A0 : float, default 1.0
        Initial volume of the dissolving solid A.
    c_B0 : float, default 0.0
        Initial concentration of the aqueous species B.
    V_C0 : float, default 0.05
        Initial volume of the product solid C (the seeds; since S(0) = 0 for every law,
        ``V_C0 = 0`` means C never grows).

    Returns
    -------
    ReactionNetwork
        The network ``"dissolution-precipitation"`` with species A, B, C and reactions
        ``dissolution`` and ``precipitation``.
    """
    return ReactionNetwork(
        (Species("A", "solid", V_A0), Species("B", "aqueous", c_B0), Species("C", "solid", V_C0)),
        (
            Reaction("dissolution", {"A": -1.0, "B": 1.0}, k_dissolution, "A", surface, "zero"),
            Reaction(
                "precipitation",
                {"B": -1.0, "C": 1.0},
                k_precipitation,
                "C",
                surface,
                "affinity",
                "B",
                c_eq,
            ),
        ),
        name="dissolution-precipitation",
    )


def load_network(
    spec: str | os.PathLike[str] | Mapping[str, Any] | ReactionNetwork,
) -> ReactionNetwork:
    """A network from the template name ``"dissolution-precipitation"``, a YAML file or a dict.

    Parameters
    ----------
    spec : str, path-like, mapping or ReactionNetwork
        ``"dissolution-precipitation"`` (the default :func:`dissolution_precipitation` network),
        the path of a YAML file, or a mapping in the layout of :meth:`ReactionNetwork.to_dict`
        (either at the top level or under a ``network`` key). A ``ReactionNetwork`` is returned
        unchanged.

    Returns
    -------
    ReactionNetwork
        The validated network.

    Raises
    ------
    InputError
        If ``spec`` is neither the template name nor an existing file, or the YAML cannot be
        parsed or does not hold a mapping.
    ModelError
        If the specification is incomplete or invalid.
    """
    if isinstance(spec, ReactionNetwork):
        return spec
    if isinstance(spec, Mapping):
        return ReactionNetwork.from_dict(spec.get("network", spec))
    if str(spec) == "dissolution-precipitation":
        return dissolution_precipitation()
    path = Path(spec)
    if not path.is_file():
        raise InputError(
            "network must be 'dissolution-precipitation' or a YAML file", value=str(spec)
        )
    import yaml

    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise InputError(f"cannot parse YAML network file {path}: {exc}") from None
    if not isinstance(data, Mapping):
        raise InputError(f"YAML network file {path} must contain a mapping")
    return ReactionNetwork.from_dict(data.get("network", data))


def simulate_observations(
    network: ReactionNetwork | None = None,
    *,
    n_obs: int = 150,
    t_end: float = 60.0,
    observed: Sequence[str] = ("B",),
    noise: float = 0.03,
    process_noise: float = 0.02,
    irregular: bool = True,
    substeps: int = 20,
    random_state: RandomState = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    r"""Synthetic generator with known truth.

    Simulates the stochastic state-space form (Euler–Maruyama with ``substeps`` fine steps per
    observation interval) and adds Gaussian noise of SD ``noise × max(true observed series)``.

    Parameters
    ----------
    network : ReactionNetwork, default the dissolution–precipitation template
    n_obs : int
        Number of observation times in (0, t_end].
    t_end : float
    observed : sequence of str
        Observed species.
    noise : float
        Observation noise as a fraction of each observed species' maximum.
    process_noise : float
        Relative system noise: the SD of the noise added to a species over the whole run is about
        ``process_noise`` times its amount (multiplicative noise
        :math:`\sqrt{\Delta t / t_{end}}\, q\, (x + x_{floor})\, \varepsilon`, so an exhausted solid
        stays exhausted).
    irregular : bool
        Irregular (sorted uniform) rather than equally spaced times.
    substeps : int
    random_state : int, Generator or None

    Returns
    -------
    observations : DataFrame
        ``time`` and one column per observed species.
    truth : DataFrame
        ``time`` and the true hidden amounts of every species at the observation times; its
        ``attrs`` hold the rate constants, noise SDs and network name.

    Examples
    --------
    >>> obs, truth = simulate_observations(n_obs=50, random_state=0)
    >>> list(obs.columns), truth.shape
    (['time', 'B'], (50, 4))
    """
    net = dissolution_precipitation() if network is None else network
    rng = as_generator(random_state)
    for name in observed:
        net.index(name)
    if int(n_obs) < 2:
        raise ModelError("n_obs must be >= 2")
    if irregular:
        t = np.sort(rng.uniform(0.0, t_end, size=int(n_obs)))
        t = t[0] + (t - t[0]) * (t_end - t[0]) / (t[-1] - t[0])
        t = np.unique(np.round(t, 9))
        while t.size < n_obs:  # astronomically unlikely duplicates
            t = np.unique(np.append(t, rng.uniform(0, t_end)))
    else:
        t = np.linspace(t_end / n_obs, t_end, int(n_obs))
    floor = NOISE_FLOOR * process_noise_scale(net, t_end)
    q = float(process_noise) / math.sqrt(t_end)
    k = net.rate_constants
    x = net.initial_state.copy()
    prev = 0.0
    states = np.empty((t.size, x.size))
    for i, ti in enumerate(t):
        h = (ti - prev) / substeps
        for _ in range(substeps):
            m = net.heun_step(x, k, h)
            x = np.maximum(m + math.sqrt(h) * q * (m + floor) * rng.normal(size=x.size), 0.0)
        states[i] = x
        prev = ti
    truth = pd.DataFrame(states, columns=list(net.species_names))
    truth.insert(0, "time", t)
    obs = pd.DataFrame({"time": t})
    sig = {}
    for name in observed:
        s = float(noise) * float(truth[name].max())
        sig[name] = s
        obs[name] = np.maximum(truth[name].to_numpy() + s * rng.normal(size=t.size), 0.0)
    truth.attrs.update(
        rate_constants=dict(zip(net.reaction_names, k.tolist(), strict=True)),
        noise_sd=sig,
        process_noise=float(process_noise),
        network=net.name,
        surface_laws={r.name: r.surface_law for r in net.reactions},
    )
    return obs, truth


def process_noise_scale(network: ReactionNetwork, t_end: float) -> np.ndarray:
    """Per-species scale used to express the system noise: the total initial amount of the
    network's species (mass-balance scale), identical for all species."""
    total = float(np.sum(network.initial_state))
    return np.full(len(network.species), total if total > 0 else 1.0)
