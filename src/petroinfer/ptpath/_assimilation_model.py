r"""Parameterisations, priors, data and the vectorised forward model of the P–T–t assimilation.

Parameters θ (one row per ensemble member) map to B piecewise-linear histories (node times in Myr,
T in K, P in bar), a common log time-stretch s (the duration scale: multiplying every D by
:math:`e^s` is the same as stretching the history by :math:`e^s`) and standard-normal kinetic
perturbations z of the diffusivity set (see :func:`petroinfer.diffusion.tracer_diffusivities`).
Every prior is Gaussian in θ, which is what the ensemble smoother assumes.

* :class:`NodePath` — T and P at K fixed node times under a first-order random-walk (GMRF) prior:
  :math:`T_1 \sim N(\mu_1, \sigma_1^2)`, :math:`T_{k+1} - T_k \sim N(0, \sigma_{step}^2 \Delta t_k)`
  (``science/pt_paths.md`` §3.3); same for P. The smoothness :math:`\sigma_{step}` is either fixed
  or, by default, **hierarchical**: :math:`\ln\sigma_{step} \sim N(\ln\sigma_{ref}, s^2)` is a
  parameter learned from the data, written non-centred
  (:math:`T_k = T_1 + \sigma_{step}\sum_{j<k}\sqrt{\Delta t_j}\,w_j`, :math:`w_j \sim N(0, 1)`;
  Papaspiliopoulos, Roberts & Sköld 2007) so that the prior on θ stays Gaussian.
* :class:`LinearCooling` — prograde segment to a peak at the end of growth, an optional peak hold
  (fraction of the remaining time, logit-normal), then linear cooling at a log-normal rate.
* :class:`ExponentialCooling` — the same with Newtonian cooling after the hold,
  :math:`T(t) = T_\infty + (T_{peak} - T_\infty)\,e^{-(t - t_c)/\tau}` (``gibbs_diffusion.md``
  §D.6), log-normal τ, Gaussian :math:`T_\infty`; represented by 16 piecewise-linear segments
  (their chord error is below 0.4 % of the drop for τ ≥ the cooling interval/4).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from petroinfer.diffusion import (
    END_MEMBERS,
    SECONDS_PER_MYR,
    Growth,
    ThermalHistory,
    diffusivity_parameters,
    observe_profile,
    simulate_garnet,
)
from petroinfer.errors import InputError, ModelError
from petroinfer.units import celsius_to_kelvin

__all__ = [
    "NUMERICS",
    "ExponentialCooling",
    "LinearCooling",
    "NodePath",
    "ProfileData",
    "ProfileForward",
    "prepare_profiles",
]

_ALIASES = {
    "XPrp": 0, "Mg": 0, "XAlm": 1, "Fe": 1, "XSps": 2, "Mn": 2, "XGrs": 3, "Ca": 3,
}  # fmt: skip
_POSITION = ("distance_um", "radius_um", "x_um")
#: Time stepping of the inversions' forward runs: L-stable BDF2 with steps of at most 1/40 of the
#: history (the same steps for every member, so a member's result does not depend on its batch).
NUMERICS = {"method": "bdf2", "steps_per_history": 40}


def forward_numerics(history: ThermalHistory) -> dict:
    """``simulate_garnet`` step options of the inversions for ``history`` (see :data:`NUMERICS`)."""
    span = history.end - history.start
    return {"method": NUMERICS["method"], "max_step": span / NUMERICS["steps_per_history"]}


def _kinetic_slots(parameters) -> list[tuple[int, int]]:
    """(element, kind) pairs with a published σ > 0 (kind 0: ln D0, 1: Q, 2: ΔV)."""
    p = diffusivity_parameters(parameters)
    sig = np.stack([p.sigma_ln_D0, p.sigma_Q, p.sigma_dV], axis=1)
    slots = []
    for e in range(4):
        if p.ca_from_fe > 0 and e == 3:
            continue
        slots += [(e, k) for k in range(3) if sig[e, k] > 0]
    return slots


@dataclass
class _Base:
    """Shared pieces: kinetic slots, the duration scale, the Gaussian prior assembly."""

    parameters: Any = "CG92"
    duration_sd: float = 0.3
    marginalise_kinetics: bool = True
    slots: list = field(init=False, default_factory=list)

    def _extras(self) -> tuple[list[str], list[float], list[float]]:
        self.slots = _kinetic_slots(self.parameters) if self.marginalise_kinetics else []
        names, mean, sd = [], [], []
        if self.duration_sd > 0:
            names.append("ln_time_scale")
            mean.append(0.0)
            sd.append(float(self.duration_sd))
        kinds = ("lnD0", "Q", "dV")
        for e, k in self.slots:
            names.append(f"z_{kinds[k]}_{END_MEMBERS[e]}")
            mean.append(0.0)
            sd.append(1.0)
        return names, mean, sd

    def split_extras(self, theta: np.ndarray, n_main: int):
        """(log time scale (B,), kinetic z (B, 4, 3) or None) from the trailing parameters."""
        B = theta.shape[0]
        j = n_main
        if self.duration_sd > 0:
            s = theta[:, j]
            j += 1
        else:
            s = np.zeros(B)
        z = None
        if self.slots:
            z = np.zeros((B, 4, 3))
            for e, k in self.slots:
                z[:, e, k] = theta[:, j]
                j += 1
            if diffusivity_parameters(self.parameters).ca_from_fe > 0:
                z[:, 3] = z[:, 1]
        return s, z


@dataclass
class NodePath(_Base):
    r"""T and P at fixed node times (Myr) under first-order random-walk priors.

    Parameters
    ----------
    parameters : str or DiffusivityParameters
        Diffusivity set whose kinetic uncertainty is marginalised.
    duration_sd : float
        Prior SD of the log duration scale (0: fixed time axis).
    marginalise_kinetics : bool
        Add the standard-normal kinetic perturbations to θ.
    times_Myr : array_like, shape (K,)
        Node times, Myr (the first is 0 = start of growth by convention).
    T0_C, T0_sd : float
        Prior mean and SD of the first-node T, °C and K.
    T_step_sd : float
        Random-walk SD of T per √Myr, K Myr⁻¹ᐟ² (the reference value of the hierarchical prior).
    P0_kbar, P0_sd, P_step_sd : float
        The same for P (kbar, kbar, kbar Myr⁻¹ᐟ²).
    smoothness : {"hierarchical", "fixed"}
        ``"hierarchical"``: :math:`\ln\sigma_{T,step}` and :math:`\ln\sigma_{P,step}` are
        parameters with priors N(ln T_step_sd, smoothness_log_sd²) (and the same for P), inferred
        with the history; ``"fixed"``: the step SDs are used as given.
    smoothness_log_sd : float
        Prior SD of the log step SDs (hierarchical only).
    name : str
        Label of the candidate (e.g. ``"nodes_6"``).
    """

    times_Myr: Any = None
    T0_C: float = 550.0
    T0_sd: float = 60.0
    T_step_sd: float = 40.0
    P0_kbar: float = 6.0
    P0_sd: float = 1.5
    P_step_sd: float = 1.0
    smoothness: str = "hierarchical"
    smoothness_log_sd: float = 0.75
    name: str = "nodes"

    def __post_init__(self) -> None:
        t = np.asarray(self.times_Myr, dtype=float)
        if t.ndim != 1 or t.size < 2 or np.any(np.diff(t) <= 0):
            raise ModelError("NodePath: times_Myr must be >= 2 strictly increasing node times")
        if self.smoothness not in ("hierarchical", "fixed"):
            raise ModelError(
                f"NodePath: smoothness must be 'hierarchical' or 'fixed'; got {self.smoothness!r}"
            )
        if not (self.T_step_sd > 0 and self.P_step_sd > 0 and self.smoothness_log_sd > 0):
            raise ModelError("NodePath: T_step_sd, P_step_sd and smoothness_log_sd must be > 0")
        self.times_Myr = t

    @property
    def hierarchical(self) -> bool:
        return self.smoothness == "hierarchical"

    @property
    def n_main(self) -> int:
        return 2 * self.times_Myr.size + (2 if self.hierarchical else 0)

    def prior(self) -> tuple[list[str], np.ndarray, np.ndarray]:
        """Parameter names, prior mean and covariance."""
        t = self.times_Myr
        K = t.size
        T0 = float(celsius_to_kelvin(self.T0_C))
        en, em, es = self._extras()
        if self.hierarchical:
            names = (
                ["T_0"] + [f"wT_{k}" for k in range(1, K)]
                + ["P_0"] + [f"wP_{k}" for k in range(1, K)]
                + ["ln_T_step_sd", "ln_P_step_sd"]
            )  # fmt: skip
            mean = np.r_[T0, np.zeros(K - 1), self.P0_kbar, np.zeros(K - 1),
                         np.log(self.T_step_sd), np.log(self.P_step_sd)]  # fmt: skip
            sd = np.r_[self.T0_sd, np.ones(K - 1), self.P0_sd, np.ones(K - 1),
                       self.smoothness_log_sd, self.smoothness_log_sd]  # fmt: skip
            return names + en, np.r_[mean, em], np.diag(np.square(np.r_[sd, es]))
        # random walk: x = x1 + cumulative sum of increments → covariance L diag(v) Lᵀ
        Lw = np.tril(np.ones((K, K)))
        cov_T = Lw @ np.diag(np.r_[self.T0_sd**2, self.T_step_sd**2 * np.diff(t)]) @ Lw.T
        cov_P = Lw @ np.diag(np.r_[self.P0_sd**2, self.P_step_sd**2 * np.diff(t)]) @ Lw.T
        names = [f"T_{k}" for k in range(K)] + [f"P_{k}" for k in range(K)]
        mean = np.r_[np.full(K, T0), np.full(K, self.P0_kbar)]
        cov = np.zeros((2 * K + len(en),) * 2)
        cov[:K, :K] = cov_T
        cov[K : 2 * K, K : 2 * K] = cov_P
        cov[2 * K :, 2 * K :] = np.diag(np.square(es))
        return names + en, np.r_[mean, em], cov

    def node_values(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """T (B, K) in K and P (B, K) in kbar at the nodes (before clipping)."""
        K = self.times_Myr.size
        if not self.hierarchical:
            return theta[:, :K], theta[:, K : 2 * K]
        sq = np.sqrt(np.diff(self.times_Myr))
        sT = np.exp(theta[:, 2 * K])[:, None]
        sP = np.exp(theta[:, 2 * K + 1])[:, None]
        cum = lambda w: np.concatenate([np.zeros((w.shape[0], 1)), np.cumsum(w * sq, 1)], 1)  # noqa: E731
        T = theta[:, :1] + sT * cum(theta[:, 1:K])
        P = theta[:, K : K + 1] + sP * cum(theta[:, K + 1 : 2 * K])
        return T, P

    def histories(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Node times (B, K) in Myr, T (B, K) in K and P (B, K) in bar."""
        K = self.times_Myr.size
        B = theta.shape[0]
        T, P = self.node_values(theta)
        return (
            np.broadcast_to(self.times_Myr, (B, K)),
            np.maximum(T, 300.0),
            np.maximum(P, 0.05) * 1e3,
        )


@dataclass
class _PeakThenCooling(_Base):
    """Prograde to a peak at the end of growth, an optional peak hold, then a cooling law given by
    the subclass (``_law``: its parameters and priors; ``_cooling``: times and T after the hold)."""

    growth_end_Myr: float = 4.0
    end_Myr: float = 10.0
    T_start_C: float = 550.0
    T_peak_C: float = 650.0
    T_sd: float = 60.0
    P_start_kbar: float = 6.0
    P_peak_kbar: float = 8.0
    P_end_kbar: float = 5.0
    P_sd: float = 1.5
    peak_hold: bool = True

    def _head(self) -> tuple[list[str], list[float], list[float]]:
        names = ["T_start", "P_start", "T_peak", "P_peak"] + (["u_hold"] if self.peak_hold else [])
        mean = [float(celsius_to_kelvin(self.T_start_C)), self.P_start_kbar,
                float(celsius_to_kelvin(self.T_peak_C)), self.P_peak_kbar]  # fmt: skip
        sd = [self.T_sd, self.P_sd, self.T_sd, self.P_sd]
        if self.peak_hold:
            mean.append(0.0)
            sd.append(1.5)
        ln, lm, ls = self._law()
        return names + ln + ["P_end"], mean + lm + [self.P_end_kbar], sd + ls + [self.P_sd]

    @property
    def n_main(self) -> int:
        return len(self._head()[0])

    def prior(self) -> tuple[list[str], np.ndarray, np.ndarray]:
        names, mean, sd = self._head()
        en, em, es = self._extras()
        return names + en, np.r_[mean, em], np.diag(np.square(np.r_[sd, es]))

    def _hold(self, theta: np.ndarray) -> np.ndarray:
        tg, te = float(self.growth_end_Myr), float(self.end_Myr)
        if not self.peak_hold:
            return np.zeros(theta.shape[0])
        return (te - tg) * 0.98 / (1 + np.exp(-theta[:, 4])) + 0.01 * (te - tg)

    def histories(self, theta: np.ndarray):
        B = theta.shape[0]
        tg, te = float(self.growth_end_Myr), float(self.end_Myr)
        tc = tg + self._hold(theta)
        Tpk = theta[:, 2]
        tcool, Tcool = self._cooling(theta, Tpk, tc)
        P_end = theta[:, self.n_main - 1]
        frac = (tcool - tc[:, None]) / np.maximum(te - tc, 1e-12)[:, None]
        Pcool = theta[:, 3:4] + (P_end - theta[:, 3])[:, None] * frac
        t = np.concatenate([np.zeros((B, 1)), np.full((B, 1), tg), tc[:, None], tcool], axis=1)
        T = np.concatenate([theta[:, :1], Tpk[:, None], Tpk[:, None], Tcool], axis=1)
        P = np.concatenate([theta[:, 1:2], theta[:, 3:4], theta[:, 3:4], Pcool], axis=1)
        if not self.peak_hold:  # drop the zero-length hold segment
            t, T, P = (np.delete(a, 2, axis=1) for a in (t, T, P))
        return t, np.maximum(T, 300.0), np.maximum(P, 0.05) * 1e3


@dataclass
class LinearCooling(_PeakThenCooling):
    """Prograde to a peak at the end of growth, an optional peak hold, then linear cooling.

    θ = (T_start, P_start, T_peak, P_peak, [u_hold], ln rate, P_end): the hold lasts
    ``expit(u_hold)`` of the time between the end of growth and ``end_Myr`` (1–99 %); T falls at
    ``exp(ln rate)`` K Myr⁻¹ after it; P falls linearly to P_end at ``end_Myr``. Without
    ``peak_hold`` cooling starts at the end of growth and u_hold is not a parameter.

    Parameters
    ----------
    parameters : str or DiffusivityParameters
        Diffusivity set whose kinetic uncertainty is marginalised.
    duration_sd : float
        Prior SD of the log duration scale.
    marginalise_kinetics : bool
        Add the standard-normal kinetic perturbations to θ.
    growth_end_Myr, end_Myr : float
        End of growth (= time of the peak) and end of the history, Myr.
    T_start_C, T_peak_C, T_sd : float
        Prior means of the start and peak T (°C) and their SD (K).
    P_start_kbar, P_peak_kbar, P_end_kbar, P_sd : float
        Prior means of P at start, peak and end (kbar) and their SD (kbar).
    peak_hold : bool
        Include the peak-hold duration.
    rate_K_per_Myr, rate_log_sd : float
        Prior median cooling rate (K/Myr) and its log-SD.
    name : str
        Label of the candidate.
    """

    rate_K_per_Myr: float = 20.0
    rate_log_sd: float = 0.7
    name: str = "linear_cooling"

    def _law(self) -> tuple[list[str], list[float], list[float]]:
        """Names, prior means and SDs of the cooling-law parameters after P_peak."""
        return ["ln_rate"], [np.log(self.rate_K_per_Myr)], [self.rate_log_sd]

    def _cooling(self, theta, Tpk, tc):
        """Times (B, n) after the hold and T there (B, n); law parameters start at index j."""
        j = 5 if self.peak_hold else 4
        te = float(self.end_Myr)
        Tend = Tpk - np.exp(theta[:, j]) * (te - tc)
        return np.full((theta.shape[0], 1), te), Tend[:, None]


@dataclass
class ExponentialCooling(_PeakThenCooling):
    r"""Prograde to a peak, optional hold, then Newtonian cooling towards T_inf.

    After the hold :math:`T(t) = T_\infty + (T_{peak} - T_\infty) e^{-(t - t_c)/\tau}`
    (``science/gibbs_diffusion.md`` §D.6, "exponential"), θ gains ``ln_tau`` (τ in Myr,
    log-normal) and ``T_inf`` (K, Gaussian) in place of ``ln_rate``. The curve is represented by
    ``n_segments`` equal piecewise-linear segments.

    Parameters
    ----------
    parameters : str or DiffusivityParameters
        Diffusivity set whose kinetic uncertainty is marginalised.
    duration_sd : float
        Prior SD of the log duration scale.
    marginalise_kinetics : bool
        Add the standard-normal kinetic perturbations to θ.
    growth_end_Myr, end_Myr : float
        End of growth (= time of the peak) and end of the history, Myr.
    T_start_C, T_peak_C, T_sd : float
        Prior means of the start and peak T (°C) and their SD (K).
    P_start_kbar, P_peak_kbar, P_end_kbar, P_sd : float
        Prior means of P at start, peak and end (kbar) and their SD (kbar).
    peak_hold : bool
        Include the peak-hold duration.
    tau_Myr, tau_log_sd : float
        Prior median cooling time scale (Myr) and its log-SD.
    T_inf_C, T_inf_sd : float
        Prior mean (°C) and SD (K) of the asymptotic temperature.
    n_segments : int
        Linear segments of the cooling curve.
    name : str
        Label of the candidate.
    """

    tau_Myr: float = 5.0
    tau_log_sd: float = 0.7
    T_inf_C: float = 300.0
    T_inf_sd: float = 100.0
    n_segments: int = 16
    name: str = "exponential_cooling"

    def _law(self) -> tuple[list[str], list[float], list[float]]:
        return (
            ["ln_tau", "T_inf"],
            [np.log(self.tau_Myr), float(celsius_to_kelvin(self.T_inf_C))],
            [self.tau_log_sd, self.T_inf_sd],
        )

    def _cooling(self, theta, Tpk, tc):
        j = 5 if self.peak_hold else 4
        te = float(self.end_Myr)
        u = np.linspace(0.0, 1.0, int(self.n_segments) + 1)[1:]
        times = tc[:, None] + (te - tc)[:, None] * u
        tau = np.exp(theta[:, j])[:, None]
        Tinf = theta[:, j + 1][:, None]
        T = Tinf + (Tpk[:, None] - Tinf) * np.exp(-(times - tc[:, None]) / tau)
        return times, T


@dataclass(frozen=True)
class ProfileData:
    """Measured profiles flattened into one data vector.

    Attributes
    ----------
    garnets : list of str
    positions : list of ndarray
        Traverse positions per garnet, m.
    elements : tuple of int
        Observed components (indices into Mg, Fe, Mn, Ca).
    y, sigma : ndarray, shape (m,)
        Observations and their SDs, garnet-major, then position, then element.
    table : pandas.DataFrame
        One row per datum: ``garnet``, ``position_um``, ``element``, ``observed``, ``sigma``.
    """

    garnets: list
    positions: list
    elements: tuple
    y: np.ndarray
    sigma: np.ndarray
    table: pd.DataFrame


def prepare_profiles(profiles: Any, sigma: Any = 0.003, source: str = "profile") -> ProfileData:
    """Validate measured profiles and flatten them.

    Parameters
    ----------
    profiles : pandas.DataFrame or mapping of name to DataFrame
        Columns: a position (``distance_um``, ``radius_um`` or ``x_um``, µm, strictly increasing
        within a garnet), any of ``XPrp``, ``XAlm``, ``XSps``, ``XGrs`` (mole fractions in (0, 1)),
        and optionally ``garnet`` (several garnets of one rock sharing the history). With all four
        end-members the dependent XAlm is dropped (closure makes the covariance singular).
    sigma : float or mapping
        Analytical SD of the mole fractions (one value or one per end-member).
    source : str
        Name used in error messages (e.g. the file name).
    """
    if isinstance(profiles, pd.DataFrame):
        if "garnet" in profiles.columns:
            groups = {str(k): g for k, g in profiles.groupby("garnet", sort=False)}
        else:
            groups = {"garnet": profiles}
    elif isinstance(profiles, dict):
        groups = {str(k): v for k, v in profiles.items()}
    else:
        raise InputError(f"{source}: profiles must be a DataFrame or a dict of DataFrames")
    if not groups:
        raise InputError(f"{source}: no profiles given")
    elements: tuple | None = None
    positions, ys, sds, rows = [], [], [], []
    for name, df in groups.items():
        pos_col = next((c for c in _POSITION if c in df.columns), None)
        if pos_col is None:
            raise InputError(f"{source}: missing a position column (one of {list(_POSITION)})")
        cols = [c for c in END_MEMBERS if c in df.columns]
        if len(cols) == 4:
            cols.remove("XAlm")
        if not cols:
            raise InputError(f"{source}: no end-member columns (expected some of {END_MEMBERS})")
        el = tuple(_ALIASES[c] for c in cols)
        if elements is not None and el != elements:
            raise InputError(f"{source}: every garnet must report the same end-members")
        elements = el
        x = pd.to_numeric(df[pos_col], errors="coerce").to_numpy(float)
        for i, v in enumerate(x):
            if not np.isfinite(v):
                raise InputError(
                    f"{source}: non-numeric position",
                    column=pos_col,
                    row=df.index[i],
                    value=df[pos_col].iloc[i],
                )
        if x.size < 3:
            raise InputError(f"{source}: garnet {name!r} has fewer than 3 points", value=x.size)
        bad = np.flatnonzero(np.diff(x) <= 0)
        if bad.size:
            i = int(bad[0]) + 1
            raise InputError(
                f"{source}: positions must be strictly increasing along the traverse "
                f"(garnet {name!r})",
                column=pos_col,
                row=df.index[i],
                value=float(x[i]),
            )
        vals = np.empty((x.size, len(cols)))
        for j, c in enumerate(cols):
            v = pd.to_numeric(df[c], errors="coerce").to_numpy(float)
            badv = np.flatnonzero(~np.isfinite(v) | (v <= 0) | (v >= 1))
            if badv.size:
                i = int(badv[0])
                raise InputError(
                    f"{source}: mole fractions must be numbers strictly between 0 and 1",
                    column=c,
                    row=df.index[i],
                    value=df[c].iloc[i],
                )
            vals[:, j] = v
        if isinstance(sigma, dict):
            s = np.array([float(sigma.get(c, np.nan)) for c in cols])
        else:
            s = np.full(len(cols), float(sigma))
        if not np.all(np.isfinite(s) & (s > 0)):
            raise InputError(f"{source}: sigma must be > 0 for every end-member", value=s)
        positions.append(x * 1e-6)
        ys.append(vals.ravel())
        sds.append(np.tile(s, x.size))
        for i in range(x.size):
            for j, c in enumerate(cols):
                rows.append((name, x[i], c, vals[i, j], s[j]))
    table = pd.DataFrame(rows, columns=["garnet", "position_um", "element", "observed", "sigma"])
    return ProfileData(
        list(groups), positions, elements, np.concatenate(ys), np.concatenate(sds), table
    )


@dataclass
class ProfileForward:
    """θ (B, d) → predicted data (B, m): histories → :func:`simulate_garnet` → EPMA operator.

    A plain picklable object so that chunks of an ensemble can be shipped to Dask workers.
    """

    param: Any
    data: ProfileData
    rim: Any
    growth_Myr: tuple
    radii: list
    offsets: list
    beam_sigma: float
    n_cells: int
    geometry: str = "spherical"

    def histories(self, theta: np.ndarray):
        """(ThermalHistory in real time, log time scale, kinetic z) for the ensemble."""
        theta = np.atleast_2d(theta)
        t, T, P = self.param.histories(theta)
        s, z = self.param.split_extras(theta, self.param.n_main)
        h = ThermalHistory(np.asarray(t) * SECONDS_PER_MYR, T, P)
        return h, s, z

    def simulate(self, theta: np.ndarray):
        h, s, z = self.histories(theta)
        g = Growth(self.growth_Myr[0] * SECONDS_PER_MYR, self.growth_Myr[1] * SECONDS_PER_MYR)
        out = []
        for radius in self.radii:
            out.append(
                simulate_garnet(
                    h,
                    self.rim,
                    radius=radius,
                    n_cells=self.n_cells,
                    growth=g,
                    geometry=self.geometry,
                    parameters=self.param.parameters,
                    kinetics_z=z,
                    d_scale=np.exp(s),
                    clip=True,
                    warn=False,
                    **forward_numerics(h),
                )
            )
        return out

    def __call__(self, theta: np.ndarray) -> np.ndarray:
        sims = self.simulate(theta)
        pred = []
        for sim, x, d in zip(sims, self.data.positions, self.offsets, strict=True):
            y = observe_profile(
                sim.grid.centres, sim.final, x, offset=d, beam_sigma=self.beam_sigma
            )
            pred.append(y[..., list(self.data.elements)].reshape(y.shape[0], -1))
        return np.concatenate(pred, axis=1)
