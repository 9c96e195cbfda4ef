r"""Bayesian recovery of temperature–pressure–time histories from diffusion-modified garnet zoning.

The question (Kuwatani, Nagao, Ito, Okamoto, Yoshida & Okudaira 2018, Phys. Rev. E 98:043311 —
only the bibliographic record was available, so the formulation is a reconstruction [R] after
``science/pt_paths.md`` §3.3 and ``science/gibbs_diffusion.md`` §D): a garnet grew along a P–T–t
path, recording the rim equilibrium in its growth zoning, and diffusion then partly erased that
zoning. Which histories T(t), P(t) are consistent with the measured profiles, and how long and how
hot was the rock?

Model. Data :math:`y = H(C(r, t_{end}; \theta)) + \varepsilon`, ε ~ N(0, σ² + σ_model²), where C is
the shell-append growth + Lasaga multicomponent diffusion model
(:func:`petroinfer.diffusion.simulate_garnet`) along the history encoded by θ and H the EPMA
operator (off-centre section, Gaussian beam; :func:`petroinfer.diffusion.observe_profile`).
θ holds the history (T, P at nodes under a random-walk prior whose smoothness is learned
hierarchically or chosen by the evidence, or a linear or exponential cooling law with an optional
peak hold), a log duration scale and the standard-normal kinetic perturbations of the diffusivity set within its
published σ (the diffusion parameters are marginalised). Several garnets of one rock share θ.

Inference. ES-MDA (:class:`petroinfer.inference.ESMDA`, Emerick & Reynolds 2013), the ensemble run
through :mod:`petroinfer.parallel` in chunks when ``n_jobs``/``scheduler`` ask for it, or
replica-exchange Monte Carlo (:class:`petroinfer.inference.remc.ReplicaExchange`) for a full
posterior and a stepping-stone evidence. The node count (and the parameterisation) is chosen by
the evidence.

Identifiability (§D.7 of the notes): diffusion constrains :math:`\zeta_i = \int D^*_i\,dt` per
element; T and t trade off (10 K ≈ a factor 1.5 in time at 600 °C). The result reports ζ, the
T–t correlations and how much an independent geochronological duration would narrow the peak T.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from petroinfer._base import Interval, InverseProblem, Options
from petroinfer._rng import RandomState, as_generator
from petroinfer.diffusion import (
    END_MEMBERS,
    SECONDS_PER_MYR,
    DiffusivityParameters,
    RimEquilibrium,
    ThermalHistory,
    diffusivity_parameters,
    simulate_garnet,
)
from petroinfer.diffusion import Growth as _Growth
from petroinfer.errors import DataQualityWarning, ModelError
from petroinfer.ptpath._assimilation_model import (
    ExponentialCooling,
    LinearCooling,
    NodePath,
    ProfileForward,
    _PeakThenCooling,
    forward_numerics,
    prepare_profiles,
)
from petroinfer.ptpath._assimilation_report import (
    criterion_dataset,
    linearised_evidence,
    summarise_ensemble,
)
from petroinfer.ptpath._result import PTPathResult, plot_path_profile
from petroinfer.units import celsius_to_kelvin, kelvin_to_celsius

__all__ = [
    "AssimilationResult",
    "DiffusionAssimilation",
    "ExponentialCooling",
    "LinearCooling",
    "NodePath",
    "clockwise_loop",
    "default_rim_equilibrium",
    "synthetic_garnet_profiles",
]


@dataclass(frozen=True, repr=False)
class AssimilationResult(PTPathResult):
    """T(t), P(t) with 90 % bands, durations, fitted profiles and the identifiability report.

    Parameters
    ----------
    estimate, posterior, log_evidence, log_evidence_se, diagnostics, hyperparameters : object
        As in :class:`~petroinfer.inference.results.Result` (see the attributes below).
    criterion, metadata, observations : object
        Evidence per candidate parameterisation, provenance, and the per-datum fit table.
    durations, profiles_fit : pandas.DataFrame or None
        See the attributes below.
    identifiability : dict
        See the attributes below.

    Attributes
    ----------
    estimate : xarray.Dataset
        Dim ``node`` along ``time`` (Myr): ``T_C``, ``P_kbar``, their SDs and 5/95 % quantiles
        (``*_q05``, ``*_q95``), ``rho_TP``.
    posterior : xarray.Dataset
        Draws ``(chain, draw, ...)``: ``T_C``, ``P_kbar`` on the time grid, ``theta`` (param),
        ``zeta_um2`` (element), ``peak_T_C``, ``time_above_*C_Myr``, ``duration_Myr``.
    durations : pandas.DataFrame
        Peak T, its time, the duration and the time above each threshold: mean, sd, q05, q50, q95.
    profiles_fit : pandas.DataFrame
        One row per datum: ``garnet``, ``position_um``, ``element``, ``observed``, ``sigma``,
        ``fit_mean``, ``fit_q05``, ``fit_q95``, ``residual_z``.
    identifiability : dict
        ``zeta_um2`` (DataFrame, ∫D dt per element), ``corr_peakT_time_above``,
        ``corr_peakT_ln_duration``, ``peak_T_sd_K`` and ``peak_T_sd_with_geochronology_K``
        (a duration known to log-SD 0.05), ``geochronology_gain`` (DataFrame: posterior SD of the
        peak T, of the time above the first threshold and relative SD of ζ_Fe if an independent
        duration of log-SD 0.2, 0.1, 0.05, 0.02 were added; ``inf`` row = now),
        ``dlnD_dT_at_peak_per_K`` and ``duration_factor_per_10K``.
    """

    durations: pd.DataFrame | None = None
    profiles_fit: pd.DataFrame | None = None
    identifiability: dict = field(default_factory=dict)

    def history_table(self) -> pd.DataFrame:
        """``time_Myr, T_C, T_C_q05, T_C_q95, P_kbar, P_kbar_q05, P_kbar_q95`` (one row per time)."""
        e = self.estimate
        cols = ["T_C", "T_C_q05", "T_C_q95", "P_kbar", "P_kbar_q05", "P_kbar_q95"]
        df = pd.DataFrame({c: e[c].values for c in cols})
        df.insert(0, "time_Myr", e["time"].values)
        return df

    def plot(self, ax: Any = None, kind: str = "history") -> Any:
        """``"history"``: T and P against time with the 90 % bands; ``"pt"``: P–T diagram;
        ``"profiles"``: measured and fitted profiles."""
        if kind == "history":
            return plot_path_profile(self.estimate, ax=ax)
        if kind == "profiles":
            return _plot_profiles(self.profiles_fit, ax)
        return super().plot(ax=ax, kind="pt")


def _plot_profiles(fit: pd.DataFrame, ax: Any = None) -> Any:
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(5.5, 3.8))
    for (g, el), d in fit.groupby(["garnet", "element"], sort=False):
        (line,) = ax.plot(d["position_um"], d["fit_mean"], lw=1.2, label=f"{el} fit ({g})")
        ax.fill_between(
            d["position_um"], d["fit_q05"], d["fit_q95"], alpha=0.25, color=line.get_color()
        )
        ax.errorbar(
            d["position_um"], d["observed"], yerr=d["sigma"], fmt=".", ms=3, color=line.get_color()
        )
    ax.set_xlabel("distance along traverse (µm)")
    ax.set_ylabel("mole fraction (1)")
    ax.legend(fontsize="x-small")
    return ax


def default_rim_equilibrium() -> RimEquilibrium:
    """The linear rim-equilibrium surrogate used by the synthetic tests and the demo.

    C_eq(T, P) = C0 + a (T − 823.15 K) + b (P − 6000 bar) with C0 = (Mg 0.08, Fe 0.72, Mn 0.10,
    Ca 0.10), a = (6, 3, −8, −1)·10⁻⁴ K⁻¹ and b = (0.5, −2, 0, 1.5)·10⁻⁵ bar⁻¹: Mg rises and Mn
    falls with T, Ca rises with P (a test surrogate, ``science/pt_paths.md`` §3.2).
    """
    return RimEquilibrium(
        [0.08, 0.72, 0.10, 0.10], 823.15, 6000.0,
        [6e-4, 3e-4, -8e-4, -1e-4], [0.5e-5, -2e-5, 0.0, 1.5e-5],
    )  # fmt: skip


def clockwise_loop() -> pd.DataFrame:
    """The synthetic truth: a clockwise P–T–t loop (P peaks at the end of growth, 4 Myr, T at
    6 Myr), columns ``time_Myr``, ``T_C``, ``P_kbar``."""
    return pd.DataFrame(
        {
            "time_Myr": [0.0, 2.0, 4.0, 6.0, 8.0, 10.0],
            "T_C": [520.0, 580.0, 630.0, 660.0, 620.0, 540.0],
            "P_kbar": [6.0, 8.0, 9.0, 8.0, 6.5, 5.0],
        }
    )


def synthetic_garnet_profiles(
    truth: pd.DataFrame | None = None,
    *,
    rim: RimEquilibrium | None = None,
    growth_Myr: tuple[float, float] = (0.0, 4.0),
    radius_um: float = 300.0,
    n_cells: int = 30,
    n_points: int = 25,
    offset_um: float = 0.0,
    beam_um: float = 1.0,
    sigma: float = 0.003,
    parameters: str | DiffusivityParameters = "CG92",
    random_state: RandomState = None,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """A garnet grown and diffused along a known history, measured with EPMA noise.

    Parameters
    ----------
    truth : pandas.DataFrame, optional
        ``time_Myr``, ``T_C``, ``P_kbar`` nodes (default :func:`clockwise_loop`).
    rim : RimEquilibrium, optional
        Default :func:`default_rim_equilibrium`.
    growth_Myr : tuple of float
        Growth interval, Myr (R linear in time).
    radius_um, n_cells, n_points, offset_um, beam_um : float, int, int, float, float
        Garnet radius (µm), model cells, EPMA points from the centre to 96 % of the apparent
        radius, section offset (µm) and beam SD (µm).
    sigma : float
        Gaussian noise SD of every mole fraction.
    parameters : str or DiffusivityParameters
        Diffusivity set of the truth.
    random_state : int, Generator or None
        Noise seed.

    Returns
    -------
    profile : pandas.DataFrame
        ``distance_um``, ``XPrp``, ``XSps``, ``XGrs`` (XAlm is the dependent one).
    truth : dict
        ``history`` (the nodes), ``zeta_um2`` (∫D*dt per end-member, µm²), ``time_above_600C_Myr``,
        ``peak_T_C``, ``noise_free`` (the profile without noise).
    """
    truth = clockwise_loop() if truth is None else truth
    rim = default_rim_equilibrium() if rim is None else rim
    h = ThermalHistory.from_myr(truth["time_Myr"], truth["T_C"], truth["P_kbar"])
    g = _Growth(growth_Myr[0] * SECONDS_PER_MYR, growth_Myr[1] * SECONDS_PER_MYR)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        sim = simulate_garnet(
            h,
            rim,
            radius=radius_um * 1e-6,
            n_cells=n_cells,
            growth=g,
            parameters=parameters,
            **forward_numerics(h),
        )
    from petroinfer.diffusion import observe_profile

    apparent = np.sqrt(max(radius_um**2 - offset_um**2, 1.0))
    x = np.linspace(0.0, 0.96 * apparent, n_points)
    y = observe_profile(
        sim.grid.centres, sim.final[0], x * 1e-6, offset=offset_um * 1e-6, beam_sigma=beam_um * 1e-6
    )
    rng = as_generator(random_state)
    noisy = y + sigma * rng.standard_normal(y.shape)
    prof = pd.DataFrame(
        {"distance_um": x, "XPrp": noisy[:, 0], "XSps": noisy[:, 2], "XGrs": noisy[:, 3]}
    )
    zeta = h.integrated_diffusivity(parameters)[0] * 1e12
    fine = h.sample_times(4000)
    T, _ = h.at(fine)
    above = np.trapezoid((T[0] > celsius_to_kelvin(600.0)).astype(float), fine) / SECONDS_PER_MYR
    info = {
        "history": truth.copy(),
        "zeta_um2": dict(zip(END_MEMBERS, zeta.tolist(), strict=True)),
        "time_above_600C_Myr": float(above),
        "peak_T_C": float(kelvin_to_celsius(T.max())),
        "noise_free": pd.DataFrame(
            {"distance_um": x, **{e: y[:, i] for i, e in enumerate(END_MEMBERS)}}
        ),
    }
    return prof, info


def _chunked(forward, n_chunks, client, theta):
    """Run the vectorised forward on chunks of the ensemble through petroinfer.parallel (Dask),
    on the one client opened for the whole fit."""
    from petroinfer.parallel import map_tasks

    chunks = np.array_split(theta, n_chunks) if theta.shape[0] >= n_chunks else [theta]
    out = map_tasks(
        forward, chunks, scheduler=client, progress=False, description="garnet forward runs"
    )
    return np.vstack(out)


def _smoothness_estimate(run: dict) -> dict[str, Any]:
    """The smoothness the data chose: posterior median and 90 % interval of the hierarchical step
    SDs, or the step SDs of the evidence-chosen candidate."""
    p = run["forward"].param
    if not isinstance(p, NodePath):
        return {}
    if p.hierarchical:
        out: dict[str, Any] = {}
        for key in ("ln_T_step_sd", "ln_P_step_sd"):
            v = np.exp(run["theta"][:, run["names"].index(key)])
            q = np.quantile(v, [0.05, 0.5, 0.95])
            out[key[3:] + "_posterior"] = {"q05": float(q[0]), "q50": float(q[1]),
                                            "q95": float(q[2])}  # fmt: skip
        return out
    return {"T_step_sd_chosen": float(p.T_step_sd), "P_step_sd_chosen": float(p.P_step_sd)}


class DiffusionAssimilation(InverseProblem):
    r"""Recover T(t), P(t) and durations from diffusion-modified garnet zoning profiles.

    Parameters
    ----------
    rim : RimEquilibrium or callable, optional
        Rim composition in equilibrium with the matrix, ``rim(T [K], P [bar]) -> (..., 4)``
        (default :func:`default_rim_equilibrium`).
    growth_Myr : tuple of float
        Growth interval (start, end) on the model time axis, Myr.
    end_Myr : float
        End of the history on the model time axis, Myr (the duration scale stretches it).
    parameterisation : {"nodes", "linear_cooling", "exponential_cooling"} or sequence
        History family; a sequence of families/objects is compared by the evidence.
    n_nodes : int or sequence of int
        Node count(s) of the ``"nodes"`` family, equally spaced on [0, end_Myr]; several are
        compared by the evidence.
    T0_C, T0_sd, T_step_sd, P0_kbar, P0_sd, P_step_sd : float
        Random-walk prior of the node family (°C, K, K Myr⁻¹ᐟ², kbar, kbar, kbar Myr⁻¹ᐟ²); the
        step SDs are the reference values of the smoothness (see ``smoothness``).
    smoothness : {"evidence", "hierarchical", "fixed"} or sequence of float
        How the random-walk step SDs of the node family are chosen from the data:
        ``"evidence"`` (default) = the factors (0.5, 1, 2): one candidate per factor ×
        (T_step_sd, P_step_sd), the evidence chooses (the criterion curve is in
        ``result.criterion``, the choice in ``result.hyperparameters``); a sequence of factors
        does the same with those factors; ``"hierarchical"`` learns ln σ_step (T and P) with the
        history under N(ln T_step_sd, 0.75²) priors (one run; its 90 % bands covered 82 % of the
        true T(t) in the I1 set-up against 94 % for ``"evidence"`` — ES-MDA handles the scale
        parameters' funnel poorly; prefer it with ``method="remc"``); ``"fixed"`` uses T_step_sd,
        P_step_sd as given.
    peak_hold : bool
        The cooling families include a peak-hold duration (else cooling starts at the end of
        growth).
    duration_sd : float
        Prior SD of the log duration scale (0 fixes the time axis).
    radius_um : float or dict
        Garnet radius, µm (one per garnet name for several garnets).
    offset_um : float or dict
        Distance of the section from the centre, µm.
    beam_um : float
        EPMA beam SD, µm.
    n_cells : int
        Model cells per garnet.
    parameters : str or DiffusivityParameters
        Diffusivity set (``"CG92"``, ``"C06"``, ``"CA15"``).
    marginalise_kinetics : bool
        Sample the diffusivity parameters within their published σ.
    model_error : float
        Model-error SD added in quadrature to the analytical σ (mole fraction).
    method : {"esmda", "remc"}
        Ensemble smoother (fast) or replica exchange (full posterior; slow).
    n_ensemble, n_assimilations : int
        ES-MDA ensemble size and number of assimilations.
    remc_steps, remc_temps : int
        Sweeps and rungs of the replica-exchange option.
    remc_beta_min : float
        Smallest positive inverse temperature of its geometric ladder: the stepping-stone evidence
        is only accurate when the ladder starts where β·log L at prior draws is O(1) (log L of
        prior draws reaches −10⁴ for garnet profiles, hence 1e-5) and has ≥ 16 rungs.
    thresholds_C : sequence of float
        Temperatures (°C) for the "time above" durations.
    n_jobs, scheduler : int or None, str or Client or None
        Map chunks of the ensemble over Dask (:mod:`petroinfer.parallel`, one client for the whole
        fit) when ``n_jobs != 1``, a scheduler is given or ``$PETROINFER_SCHEDULER`` is set;
        otherwise the ensemble is one in-process vectorised call.
    random_state : int, Generator or None
        Seed.

    Notes
    -----
    See the module docstring and ``docs/methods/ptpath_assimilation.md``. ES-MDA approximates the
    posterior by Gaussian-type updates (exact for linear-Gaussian problems); REMC samples it.

    Examples
    --------
    >>> import warnings
    >>> from petroinfer.errors import DataQualityWarning
    >>> prof, truth = synthetic_garnet_profiles(random_state=0, n_cells=20, n_points=12)
    >>> with warnings.catch_warnings():  # CG92 is extrapolated below 1100 °C
    ...     warnings.simplefilter("ignore", DataQualityWarning)
    ...     fit = DiffusionAssimilation(n_nodes=4, n_cells=20, n_ensemble=40, n_assimilations=2,
    ...                                 random_state=1).fit(prof)
    >>> list(fit.history_table().columns)[:3]
    ['time_Myr', 'T_C', 'T_C_q05']
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "n_cells": [Interval(int, 10, None)],
        "n_ensemble": [Interval(int, 10, None)],
        "n_assimilations": [Interval(int, 1, None)],
        "method": [Options({"esmda", "remc"})],
        "duration_sd": [Interval(float, 0, None)],
        "model_error": [Interval(float, 0, None)],
        "beam_um": [Interval(float, 0, None)],
        "end_Myr": [Interval(float, 0, None, closed="neither")],
        "remc_steps": [Interval(int, 10, None)],
        "remc_temps": [Interval(int, 2, None)],
        "remc_beta_min": [Interval(float, 0, 1, closed="neither")],
        "n_jobs": [Interval(int, 1, None), Options({-1}), None],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        rim: Any = None,
        *,
        growth_Myr: tuple[float, float] = (0.0, 4.0),
        end_Myr: float = 10.0,
        parameterisation: Any = "nodes",
        n_nodes: int | Sequence[int] = 6,
        T0_C: float = 550.0,
        T0_sd: float = 60.0,
        T_step_sd: float = 40.0,
        P0_kbar: float = 6.0,
        P0_sd: float = 1.5,
        P_step_sd: float = 1.0,
        smoothness: Any = "evidence",
        peak_hold: bool = True,
        duration_sd: float = 0.3,
        radius_um: float | dict = 300.0,
        offset_um: float | dict = 0.0,
        beam_um: float = 1.0,
        n_cells: int = 30,
        parameters: str | DiffusivityParameters = "CG92",
        marginalise_kinetics: bool = True,
        model_error: float = 0.0,
        method: str = "esmda",
        n_ensemble: int = 200,
        n_assimilations: int = 4,
        remc_steps: int = 400,
        remc_temps: int = 8,
        remc_beta_min: float = 1e-5,
        thresholds_C: Sequence[float] = (600.0,),
        n_jobs: int | None = 1,
        scheduler: Any = None,
        random_state: RandomState = None,
    ) -> None:
        self.rim = rim
        self.growth_Myr = growth_Myr
        self.end_Myr = end_Myr
        self.parameterisation = parameterisation
        self.n_nodes = n_nodes
        self.T0_C = T0_C
        self.T0_sd = T0_sd
        self.T_step_sd = T_step_sd
        self.P0_kbar = P0_kbar
        self.P0_sd = P0_sd
        self.P_step_sd = P_step_sd
        self.smoothness = smoothness
        self.peak_hold = peak_hold
        self.duration_sd = duration_sd
        self.radius_um = radius_um
        self.offset_um = offset_um
        self.beam_um = beam_um
        self.n_cells = n_cells
        self.parameters = parameters
        self.marginalise_kinetics = marginalise_kinetics
        self.model_error = model_error
        self.method = method
        self.n_ensemble = n_ensemble
        self.n_assimilations = n_assimilations
        self.remc_steps = remc_steps
        self.remc_temps = remc_temps
        self.remc_beta_min = remc_beta_min
        self.thresholds_C = thresholds_C
        self.n_jobs = n_jobs
        self.scheduler = scheduler
        self.random_state = random_state

    # ------------------------------------------------------------------ candidates
    def _smoothness_options(self) -> list[tuple[str, float, str]]:
        """(mode, factor, suffix) per smoothness candidate of the node family."""
        sm = (0.5, 1.0, 2.0) if self.smoothness == "evidence" else self.smoothness
        if isinstance(sm, str):
            if sm not in ("hierarchical", "fixed"):
                raise ModelError(
                    "DiffusionAssimilation: smoothness must be 'evidence', 'hierarchical', "
                    f"'fixed' or a sequence of positive factors; got {sm!r}"
                )
            return [(sm, 1.0, "")]
        factors = [float(f) for f in np.atleast_1d(np.asarray(sm, dtype=float))]
        if not factors or not all(np.isfinite(f) and f > 0 for f in factors):
            raise ModelError(f"DiffusionAssimilation: smoothness factors must be > 0; got {sm!r}")
        return [("fixed", f, f"_s{f:g}") for f in factors]

    def _candidates(self) -> list:
        fams = self.parameterisation
        single = str | NodePath | _PeakThenCooling
        fams = [fams] if isinstance(fams, single) else list(fams)
        common = dict(
            parameters=self.parameters,
            duration_sd=float(self.duration_sd),
            marginalise_kinetics=bool(self.marginalise_kinetics),
        )
        cooling = dict(
            growth_end_Myr=float(self.growth_Myr[1]), end_Myr=float(self.end_Myr),
            T_start_C=self.T0_C, T_sd=self.T0_sd, P_start_kbar=self.P0_kbar, P_sd=self.P0_sd,
            peak_hold=bool(self.peak_hold), **common,
        )  # fmt: skip
        out = []
        for f in fams:
            if isinstance(f, NodePath | _PeakThenCooling):
                out.append(f)
            elif f == "nodes":
                ks = [self.n_nodes] if np.isscalar(self.n_nodes) else list(self.n_nodes)
                for k in ks:
                    if int(k) < 2:
                        raise ModelError(f"DiffusionAssimilation: n_nodes must be >= 2; got {k!r}")
                    for mode, fac, suffix in self._smoothness_options():
                        out.append(NodePath(
                            times_Myr=np.linspace(0.0, float(self.end_Myr), int(k)),
                            T0_C=self.T0_C, T0_sd=self.T0_sd, T_step_sd=self.T_step_sd * fac,
                            P0_kbar=self.P0_kbar, P0_sd=self.P0_sd,
                            P_step_sd=self.P_step_sd * fac, smoothness=mode,
                            name=f"nodes_{int(k)}{suffix}", **common,
                        ))  # fmt: skip
            elif f in ("linear_cooling", "exponential_cooling"):
                if float(self.growth_Myr[1]) >= float(self.end_Myr):
                    raise ModelError(
                        f"DiffusionAssimilation: {f} needs time after growth (growth_Myr end < "
                        "end_Myr)"
                    )
                cls = LinearCooling if f == "linear_cooling" else ExponentialCooling
                hold = "" if self.peak_hold else "_nohold"
                out.append(cls(name=f"{f}{hold}", **cooling))
            else:
                raise ModelError(
                    "DiffusionAssimilation: parameterisation must be 'nodes', 'linear_cooling', "
                    "'exponential_cooling', a NodePath/LinearCooling/ExponentialCooling or a "
                    f"sequence of them; got {f!r}"
                )
        return out

    def _geometry(self, data) -> tuple[list, list]:
        def pick(v, name, what):
            if isinstance(v, dict):
                if name not in v:
                    raise ModelError(f"DiffusionAssimilation: no {what} for garnet {name!r}")
                return float(v[name])
            return float(v)

        radii = [pick(self.radius_um, g, "radius_um") * 1e-6 for g in data.garnets]
        offs = [pick(self.offset_um, g, "offset_um") * 1e-6 for g in data.garnets]
        for g, r, d, x in zip(data.garnets, radii, offs, data.positions, strict=True):
            if not (r > 0 and 0 <= d < r):
                raise ModelError(f"garnet {g!r}: need radius > offset >= 0 (µm)")
            if np.max(np.sqrt(x**2 + d**2)) > r * (1 + 1e-9):
                raise ModelError(
                    f"garnet {g!r}: traverse points lie outside the garnet radius {r * 1e6:g} µm"
                )
        return radii, offs

    # ------------------------------------------------------------------ fit
    def fit(self, profiles: Any, sigma: Any = 0.003) -> AssimilationResult:
        """Assimilate measured profiles.

        Parameters
        ----------
        profiles : pandas.DataFrame or dict of DataFrames
            Traverses (see :func:`~petroinfer.ptpath._assimilation_model.prepare_profiles`):
            ``distance_um`` plus some of ``XPrp``, ``XAlm``, ``XSps``, ``XGrs``, optionally
            ``garnet``.
        sigma : float or dict
            Analytical SD of the mole fractions.

        Returns
        -------
        AssimilationResult
        """
        self._validate_params()
        diffusivity_parameters(self.parameters)
        g0, g1 = (float(v) for v in self.growth_Myr)
        if not (0 <= g0 < g1 <= float(self.end_Myr)):
            raise ModelError(
                f"DiffusionAssimilation: growth_Myr must satisfy 0 <= start < end <= end_Myr; "
                f"got {self.growth_Myr!r}"
            )
        data = prepare_profiles(profiles, sigma)
        radii, offs = self._geometry(data)
        rim = default_rim_equilibrium() if self.rim is None else self.rim
        sd = np.sqrt(data.sigma**2 + float(self.model_error) ** 2)
        rng = as_generator(self.random_state)
        runs = []
        with self._client() as client:
            for cand in self._candidates():
                names, mu0, cov0 = cand.prior()
                fwd = ProfileForward(
                    cand, data, rim, (g0, g1), radii, offs, float(self.beam_um) * 1e-6,
                    int(self.n_cells),
                )  # fmt: skip
                run = self._run(fwd, names, mu0, cov0, data.y, sd, rng, client)
                run.update(name=cand.name, forward=fwd, names=names, n_params=len(names))
                runs.append(run)
        best = max(runs, key=lambda r: r["log_evidence"])
        summary = summarise_ensemble(
            best["forward"],
            best["theta"],
            best["pred"],
            best["names"],
            thresholds_C=tuple(float(t) for t in self.thresholds_C),
        )
        T_all = kelvin_to_celsius(best["forward"].histories(best["theta"])[0].T)
        lo, hi = diffusivity_parameters(self.parameters).calibration_C
        if np.min(T_all) < lo or np.max(T_all) > hi:
            warnings.warn(
                f"posterior temperatures {np.min(T_all):.0f}–{np.max(T_all):.0f} °C lie outside the "
                f"calibration range {lo:.0f}–{hi:.0f} °C of the {self.parameters} diffusivities "
                "(extrapolated; their published σ is marginalised)",
                DataQualityWarning,
                stacklevel=2,
            )
        diagnostics = {
            "method": best["method"], "final_misfit": best["misfit"],
            "n_forward_runs": best["n_runs"], "chosen": best["name"],
            "log_evidence_by_candidate": {r["name"]: r["log_evidence"] for r in runs},
            **best.get("extra", {}),
        }  # fmt: skip
        hyper = {
            "parameterisation": best["name"], "n_params": best["n_params"],
            "duration_sd": float(self.duration_sd), "T_step_sd": float(self.T_step_sd),
            "P_step_sd": float(self.P_step_sd), "model_error": float(self.model_error),
            "smoothness": self.smoothness if isinstance(self.smoothness, str) else "evidence",
            **_smoothness_estimate(best),
        }  # fmt: skip
        meta = self._metadata(
            method=f"{best['method']} P–T–t assimilation of garnet diffusion profiles",
            inputs=(data.table,),
        )
        obs = summary["profiles_fit"]
        return AssimilationResult(
            estimate=summary["estimate"], posterior=summary["posterior"],
            log_evidence=float(best["log_evidence"]), log_evidence_se=best.get("log_evidence_se"),
            diagnostics=diagnostics, hyperparameters=hyper, criterion=criterion_dataset(runs),
            metadata=meta, observations=obs, durations=summary["durations"], profiles_fit=obs,
            identifiability=summary["identifiability"],
        )  # fmt: skip

    def _client(self):
        """One Dask client for the whole fit when ``n_jobs``, ``scheduler`` or the
        ``PETROINFER_SCHEDULER`` environment variable ask for parallelism (threads of an embedded
        cluster: the batched forward is numpy work), else none."""
        import contextlib
        import os

        from petroinfer.parallel import SCHEDULER_ENV, get_client

        env = os.environ.get(SCHEDULER_ENV, "").strip()
        if self.scheduler is None and self.n_jobs in (1, None) and not env:
            return contextlib.nullcontext(None)

        n = None if self.n_jobs in (None, -1) else int(self.n_jobs)
        return get_client(self.scheduler, n_workers=n)

    def _run(self, fwd, names, mu0, cov0, y, sd, rng, client=None) -> dict[str, Any]:
        chol = np.linalg.cholesky(cov0 + 1e-12 * np.eye(len(mu0)))

        def prior_sample(r, n):
            return mu0 + r.standard_normal((n, len(mu0))) @ chol.T

        if client is not None:
            n_chunks = 2 if self.n_jobs in (None, -1, 1) else int(self.n_jobs)
            forward = functools.partial(_chunked, fwd, n_chunks, client)
        else:
            forward = fwd
        seed = int(rng.integers(2**31))
        if self.method == "remc":
            return self._run_remc(forward, names, mu0, cov0, chol, y, sd, seed, prior_sample)
        from petroinfer.inference import ESMDA

        es = ESMDA(forward, prior_sample, n_ensemble=int(self.n_ensemble),
                   n_assimilations=int(self.n_assimilations), param_names=names,
                   vectorized=True, random_state=seed)  # fmt: skip
        res = es.fit(y, sd)
        theta = res.ensemble
        pred = res.posterior["predicted"].values[0]
        cd = np.diag(sd**2)
        return {
            "method": "ES-MDA", "theta": theta, "pred": pred,
            "log_evidence": linearised_evidence(theta, pred, y, cd, mu0, cov0),
            "misfit": float(res.diagnostics["final_misfit"]),
            "n_runs": int(res.diagnostics["n_forward_runs"]),
        }  # fmt: skip

    def _run_remc(self, forward, names, mu0, cov0, chol, y, sd, seed, prior_sample):
        from scipy import stats

        from petroinfer.inference.remc import ReplicaExchange

        prior = stats.multivariate_normal(mu0, cov0 + 1e-12 * np.eye(len(mu0)))

        def loglik(theta):
            pred = forward(np.atleast_2d(theta))
            return (
                -0.5 * np.sum(((pred - y) / sd) ** 2, axis=1)
                - np.log(sd).sum()
                - 0.5 * y.size * np.log(2 * np.pi)
            )

        def logprior(theta):
            return np.atleast_1d(prior.logpdf(np.atleast_2d(theta)))

        sampler = ReplicaExchange(
            loglik, logprior, prior_sample, param_names=names, n_temps=int(self.remc_temps),
            beta_min=float(self.remc_beta_min), n_steps=int(self.remc_steps), n_burn=int(self.remc_steps),
            n_chains=2, vectorized=True, warn=False, random_state=seed,
        )  # fmt: skip
        res = sampler.fit()
        draws = (
            res.posterior["theta"].values.reshape(-1, len(names))
            if "theta" in res.posterior
            else np.stack([res.posterior[n].values.ravel() for n in names], axis=1)
        )
        keep = np.linspace(0, draws.shape[0] - 1, min(400, draws.shape[0])).astype(int)
        theta = draws[keep]
        pred = forward(theta)
        return {
            "method": "REMC", "theta": theta, "pred": pred,
            "log_evidence": float(res.log_evidence),
            "log_evidence_se": None if res.log_evidence_se is None else float(res.log_evidence_se),
            "misfit": float(np.mean(((pred.mean(0) - y) / sd) ** 2)),
            "n_runs": int(2 * (2 * int(self.remc_steps)) * int(self.remc_temps)),
            "extra": {"remc": {k: v for k, v in res.diagnostics.items() if np.isscalar(v)}},
        }  # fmt: skip
