r"""Inversion of rate constants and diffusivity from one mineral-mode profile (REMC + evidence).

Oyanagi, Okamoto & Tsuchiya (2018, Minerals 8:579) style [R]: the unknowns
:math:`θ = (\log_{10} k_r, \log_{10} D_{\mathrm{eff}}, \log_{10} σ)` (σ: noise sd of the modes, or the
Dirichlet concentration κ) get uniform priors on boxes; the forward model is
:class:`~petroinfer.kinetics.ReactionTransport`; the posterior and the log evidence come from
:class:`~petroinfer.inference.ReplicaExchange` (stepping-stone), vectorised over the replicas (one batched
forward solve per sweep). Networks or surface laws are compared by their evidence.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np
import pandas as pd
import xarray as xr
from scipy.special import gammaln, log_ndtr

from petroinfer._base import Interval, InverseProblem, Options
from petroinfer._rng import RandomState, as_generator
from petroinfer.errors import InputError, ModelError, format_value
from petroinfer.inference import ReplicaExchange, Result, compare_models
from petroinfer.kinetics._transport_model import ReactionTransport
from petroinfer.numerics import Grid1D

__all__ = [
    "ReactionTransportInversion",
    "TransportFitResult",
    "check_mode_profile",
    "compare_transport_models",
    "simulate_mode_profile",
]

MODE_TOL = 1e-6


def check_mode_profile(
    profile: pd.DataFrame, species: Sequence[str], *, x_column: str = "x", uniform: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Validate a mineral-mode profile and return ``(x, modes)``.

    Parameters
    ----------
    profile : pandas.DataFrame
        One row per position: column ``x_column`` (m) and one column per mineral (volume fraction).
    species : sequence of str
        The mineral columns expected.
    x_column : str, default "x"
        Name of the position column.
    uniform : bool, default True
        Require equally spaced, increasing positions (the finite-volume grid is built from them).

    Returns
    -------
    x : numpy.ndarray, shape (n,)
    modes : numpy.ndarray, shape (n, n_species)

    Raises
    ------
    InputError
        Missing or non-numeric columns, NaN, negative modes, modes summing to more than 1, or
        non-uniform / non-increasing positions — the message names the column, row and value.
    """
    if not isinstance(profile, pd.DataFrame):
        raise InputError("mode profile must be a table (pandas DataFrame)")
    missing = [c for c in [x_column, *species] if c not in profile.columns]
    if missing:
        raise InputError(
            f"mode profile lacks column(s) {missing}; has {list(profile.columns)}",
            column=missing[0],
        )
    if len(profile) < 3:
        raise InputError(f"mode profile needs at least 3 rows, got {len(profile)}")
    cols = {}
    for c in [x_column, *species]:
        vals = pd.to_numeric(profile[c], errors="coerce")
        bad = np.flatnonzero(vals.isna().to_numpy())
        if bad.size:
            r = int(bad[0])
            raise InputError(
                "mode profile has a missing or non-numeric value",
                column=c,
                row=profile.index[r],
                value=profile[c].iloc[r],
            )
        cols[c] = vals.to_numpy(dtype=float)
    modes = np.column_stack([cols[c] for c in species])
    neg = np.argwhere(modes < 0)
    if neg.size:
        r, j = neg[0]
        raise InputError(
            "negative mineral mode (volume fractions must be >= 0)",
            column=species[j],
            row=profile.index[r],
            value=modes[r, j],
        )
    total = modes.sum(axis=1)
    over = np.flatnonzero(total > 1.0 + MODE_TOL)
    if over.size:
        r = int(over[0])
        raise InputError(
            f"mineral modes sum to more than 1 (columns {list(species)})",
            row=profile.index[r],
            value=total[r],
        )
    x = cols[x_column]
    dx = np.diff(x)
    if np.any(dx <= 0):
        r = int(np.flatnonzero(dx <= 0)[0]) + 1
        raise InputError(
            "positions must increase", column=x_column, row=profile.index[r], value=x[r]
        )
    if uniform and np.ptp(dx) > 1e-6 * np.mean(dx):
        r = int(np.argmax(np.abs(dx - dx[0]))) + 1
        raise InputError(
            "non-uniform positions are not supported here (the profile is the finite-volume grid); "
            "resample the profile to equal spacing",
            column=x_column,
            row=profile.index[r],
            value=x[r],
        )
    return x, modes


def simulate_mode_profile(
    model: ReactionTransport,
    x0: np.ndarray,
    time: float | Sequence[float],
    noise: float = 0.03,
    *,
    species: Sequence[str] | None = None,
    n_steps: int = 20,
    random_state: RandomState = None,
) -> pd.DataFrame:
    """Synthetic mineral-mode profile: the model at ``time`` plus Gaussian noise.

    Parameters
    ----------
    model : ReactionTransport
        Forward model on a uniform :class:`~petroinfer.numerics.Grid1D`.
    x0 : numpy.ndarray
        Initial state ``(N, S)``.
    time : float or sequence of float
        Observation time, or increasing times of several snapshots (the table then has a ``time``
        column and one block of rows per time).
    noise : float
        Noise sd as a fraction of the modal range (max − min of the true modes, all times).
    species : sequence of str, optional
        Minerals reported (default: every solid).
    n_steps : int
        Time steps of the forward model.
    random_state : int, numpy.random.Generator or None
        Seed.

    Returns
    -------
    pandas.DataFrame
        Columns ``x`` and the minerals. Noisy values below 0 are reported as 0 (below detection;
        the likelihood treats them as left-censored) and rows summing above 1 are rescaled to 1;
        ``attrs`` holds ``sigma``, ``time`` and the true modes.
    """
    rng = as_generator(random_state)
    names = list(model.network.species_names)
    species = [names[i] for i in model.solids] if species is None else list(species)
    idx = [names.index(s) for s in species]
    times = _as_times(time)
    truth = model.run(x0, [0.0, *times], n_steps=n_steps)[0, 1:][..., idx]  # (T, N, S)
    sigma = float(noise) * float(np.ptp(truth))
    obs = np.maximum(truth + sigma * rng.standard_normal(truth.shape), 0.0)
    tot = obs.sum(axis=-1, keepdims=True)
    obs = np.where(tot > 1.0, obs / tot, obs)
    n = model.grid.n_cells
    df = pd.DataFrame(obs.reshape(-1, len(species)), columns=species)
    df.insert(0, "x", np.tile(model.grid.centres, len(times)))
    if np.ndim(time) == 0:
        df.attrs.update({"sigma": sigma, "time": float(time), "truth": truth[0]})
    else:
        df.insert(0, "time", np.repeat(times, n))
        df.attrs.update({"sigma": sigma, "time": list(times), "truth": truth})
    return df


def _as_times(time: float | Sequence[float]) -> list[float]:
    """Observation times as a list of increasing positive floats."""
    times = [float(t) for t in np.atleast_1d(np.asarray(time, dtype=float))]
    if not times or times[0] <= 0 or np.any(np.diff(times) <= 0):
        raise ModelError(f"observation times must be positive and increasing, got {time!r}")
    return times


@dataclass(frozen=True, repr=False)
class TransportFitResult(Result):
    """Result of :meth:`ReactionTransportInversion.fit`.

    Parameters
    ----------
    estimate : xarray.Dataset
        Per parameter (dim ``parameter``): ``mean``, ``sd``, ``q05``, ``q95`` and ``map`` (the
        highest-posterior draw), plus ``fitted_modes`` (dims ``x``, ``mineral``; ``time, x,
        mineral`` for several snapshots) at the MAP.
    posterior : xarray.Dataset or None
        One variable per parameter with dims ``(chain, draw)`` (log10 units).
    log_evidence : float or None
        Stepping-stone log evidence (nats).
    log_evidence_se : float or None
        Its Monte-Carlo standard error (nats).
    diagnostics : Mapping
        R-hat, ESS, swap rates and acceptance of the REMC run.
    hyperparameters : Mapping
        Prior bounds, noise model, ladder and run lengths.
    criterion : xarray.Dataset or None
        The REMC thermodynamic curve (``beta``, ``mean_log_likelihood`` per rung).
    metadata : Mapping
        Provenance.
    """

    def table(self) -> pd.DataFrame:
        """Posterior table with columns ``parameter, mean, sd, q05, q95, map`` (log10 units).

        Returns
        -------
        pandas.DataFrame
        """
        est = self.estimate
        return pd.DataFrame(
            {
                "parameter": [str(p) for p in est["parameter"].values],
                **{c: est[c].values for c in ("mean", "sd", "q05", "q95", "map")},
            }
        )

    def plot(self, ax=None, observed: pd.DataFrame | None = None):
        """Fitted modes at the MAP (lines) over the observed profile (points).

        Parameters
        ----------
        ax : matplotlib.axes.Axes, optional
            Target axes (default: a new figure).
        observed : pandas.DataFrame, optional
            The profile that was fitted.

        Returns
        -------
        matplotlib.axes.Axes
        """
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(6, 3.5))
        fm = self.estimate["fitted_modes"]
        if "time" in fm.dims:  # several snapshots: the last one
            t_last = fm["time"].values[-1]
            fm = fm.sel(time=t_last)
            if observed is not None and "time" in observed:
                observed = observed[np.isclose(observed["time"], t_last)]
        for i, name in enumerate(fm["mineral"].values):
            line = ax.plot(fm["x"].values, fm.values[:, i], label=str(name))[0]
            if observed is not None and name in observed:
                ax.plot(observed["x"], observed[name], "o", ms=3, color=line.get_color())
        ax.set_xlabel("position x (m)")
        ax.set_ylabel("mineral mode (volume fraction)")
        ax.legend(fontsize=8)
        return ax


class ReactionTransportInversion(InverseProblem):
    r"""Posterior of (log10 k_r, log10 D_eff) from a mineral-mode profile at one time, by REMC.

    Parameters
    ----------
    model : ReactionTransport
        Forward model on a uniform 1-D grid whose cell centres are the profile positions.
    initial_state : numpy.ndarray
        State ``(N, S)`` at time 0 (e.g. :func:`~petroinfer.kinetics.layered_state`).
    time : float or sequence of float
        Time of the observed profile (time unit of the rate constants), or increasing times of
        several snapshots of the same section; the profile table then has a ``time`` column (one
        block of rows per time). Snapshots at two times separate surface laws that one profile
        cannot (see the docs page).
    fit_reactions : sequence of str, optional
        Reactions whose rate constants are inferred (default all; others keep the network's value).
    fit_diffusivity : bool, default True
        Infer log10 D_eff (else use ``model.diffusivity``).
    bounds : mapping, optional
        log10 bounds of the uniform priors, by parameter name (``"log10_k[name]"``,
        ``"log10_D"``, ``"log10_sigma"`` or ``"log10_kappa"``); default: the network's value ± 1.5
        decades, σ in [1e-3, 0.3], κ in [1, 1e5].
    noise : {"gaussian", "dirichlet"}
        Gaussian noise of sd σ on every mode (left-censored at 0 where a mode is reported as 0), or
        a Dirichlet law of the composition (modes + remainder) with mean the model and concentration κ.
    sigma : float, optional
        Fixed Gaussian noise sd (default: inferred with the other parameters).
    n_steps : int, default 20
        Time steps of the forward model.
    n_temps, n_sweeps, n_burn, n_chains : int
        REMC ladder size, kept sweeps, burn-in sweeps (default n_sweeps // 2) and chains.
    ladder : {"adaptive", "geometric"}
        REMC temperature ladder (see :class:`~petroinfer.inference.ReplicaExchange`); the adaptive
        ladder tunes the rungs during burn-in to swap rates ≈ 0.35.
    n_jobs : int, default 1
        Chains run in parallel through :mod:`petroinfer.parallel`.
    warn : bool, default True
        Emit convergence warnings.
    random_state : int, numpy.random.Generator or None
        Seed.

    Notes
    -----
    Likelihood (Gaussian): :math:`\log L = \sum_{j,m} \log N(φ^{obs}_{jm}; φ_{jm}(θ), σ^2)`, terms with
    :math:`φ^{obs} = 0` replaced by :math:`\log Φ(-φ_{jm}(θ)/σ)` (censoring). Dirichlet:
    :math:`\log L = \sum_j [\log Γ(κ) - \sum_i \log Γ(κ p_{ji}) + \sum_i (κ p_{ji} - 1)\log y_{ji}]`
    over the parts (modes, 1 − Σ modes), :math:`p` the model floored at 1e-6. The posterior
    :math:`∝ L(θ)π(θ)` with uniform π on the log10 box is sampled by replica exchange (Hukushima &
    Nemoto 1996) and the log evidence is the stepping-stone estimate (Nagata et al. 2012) — the
    Bayes free energy with the opposite sign, used to choose networks and surface laws
    (:func:`compare_transport_models`). Reconstruction [R] of Oyanagi et al. (2018).
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "model": [ReactionTransport],
        "initial_state": ["array-like"],
        "time": [Interval(float, 0, None, closed="neither"), list, tuple, np.ndarray],
        "fit_reactions": [list, tuple, None],
        "fit_diffusivity": [bool, np.bool_],
        "bounds": [Mapping, None],
        "noise": [Options({"gaussian", "dirichlet"})],
        "sigma": [Interval(float, 0, None, closed="neither"), None],
        "n_steps": [Interval(int, 1, None)],
        "n_temps": [Interval(int, 2, None)],
        "n_sweeps": [Interval(int, 10, None)],
        "n_burn": [Interval(int, 0, None), None],
        "n_chains": [Interval(int, 1, None)],
        "ladder": [Options({"adaptive", "geometric"})],
        "n_jobs": [Interval(int, 1, None), Options({-1}), None],
        "warn": [bool, np.bool_],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        model: ReactionTransport,
        initial_state: np.ndarray,
        time: float | Sequence[float],
        *,
        fit_reactions: Sequence[str] | None = None,
        fit_diffusivity: bool = True,
        bounds: Mapping[str, tuple[float, float]] | None = None,
        noise: Literal["gaussian", "dirichlet"] = "gaussian",
        sigma: float | None = None,
        n_steps: int = 20,
        n_temps: int = 12,
        n_sweeps: int = 1500,
        n_burn: int | None = None,
        n_chains: int = 2,
        ladder: Literal["adaptive", "geometric"] = "adaptive",
        n_jobs: int | None = 1,
        warn: bool = True,
        random_state: RandomState = None,
    ) -> None:
        self.model = model
        self.initial_state = initial_state
        self.time = time
        self.fit_reactions = fit_reactions
        self.fit_diffusivity = fit_diffusivity
        self.bounds = bounds
        self.noise = noise
        self.sigma = sigma
        self.n_steps = n_steps
        self.n_temps = n_temps
        self.n_sweeps = n_sweeps
        self.n_burn = n_burn
        self.n_chains = n_chains
        self.ladder = ladder
        self.n_jobs = n_jobs
        self.warn = warn
        self.random_state = random_state

    # ------------------------------------------------------------------ set-up
    def _parameters(self) -> tuple[list[str], np.ndarray, np.ndarray]:
        net = self.model.network
        rnames = list(net.reaction_names)
        fit = rnames if self.fit_reactions is None else list(self.fit_reactions)
        for r in fit:
            if r not in rnames:
                raise ModelError(
                    f"ReactionTransportInversion: unknown reaction {r!r}; the network has {rnames}"
                )
        self._fit_idx = np.array([rnames.index(r) for r in fit], dtype=int)
        names = [f"log10_k[{r}]" for r in fit]
        centre = [np.log10(max(net.rate_constants[rnames.index(r)], 1e-300)) for r in fit]
        if self.fit_diffusivity:
            names.append("log10_D")
            centre.append(np.log10(max(self.model.diffusivity, 1e-300)))
        lo = [c - 1.5 for c in centre]
        hi = [c + 1.5 for c in centre]
        if self.sigma is None and self.noise == "gaussian":
            names.append("log10_sigma")
            lo.append(-3.0)
            hi.append(np.log10(0.3))
        elif self.noise == "dirichlet":
            names.append("log10_kappa")
            lo.append(0.0)
            hi.append(5.0)
        lo_a, hi_a = np.array(lo, float), np.array(hi, float)
        for key, (a, b) in (self.bounds or {}).items():
            if key not in names:
                raise ModelError(
                    f"ReactionTransportInversion: bounds given for unknown parameter {key!r}; "
                    f"parameters are {names}"
                )
            if not (np.isfinite(a) and np.isfinite(b) and a < b):
                raise ModelError(f"ReactionTransportInversion: bounds of {key} must be lo < hi")
            i = names.index(key)
            lo_a[i], hi_a[i] = float(a), float(b)
        if len(names) == (self.sigma is None and self.noise == "gaussian") + (
            self.noise == "dirichlet"
        ):
            raise ModelError("ReactionTransportInversion: nothing to fit")
        return names, lo_a, hi_a

    def _check_data(self, profile: pd.DataFrame) -> tuple[np.ndarray, list[str]]:
        grid = self.model.grid
        if not isinstance(grid, Grid1D) or grid.geometry != "planar":
            raise ModelError("ReactionTransportInversion: needs a planar Grid1D model")
        if np.ptp(grid.spacing) > 1e-6 * grid.spacing.mean():
            raise InputError("ReactionTransportInversion: non-uniform grids are not supported")
        solids = [self.model.network.species_names[i] for i in self.model.solids]
        observed = [s for s in solids if s in profile.columns]
        if not observed:
            raise InputError(
                f"mode profile has none of the network's minerals {solids}",
                value=list(profile.columns),
            )
        times = _as_times(self.time)
        if len(times) == 1:
            blocks = [profile]
        else:
            if "time" not in profile.columns:
                raise InputError(
                    f"{len(times)} observation times need a 'time' column in the profile",
                    column="time",
                )
            tcol = pd.to_numeric(profile["time"], errors="coerce").to_numpy()
            hits = [np.isclose(tcol, t, rtol=1e-9, atol=0.0) for t in times]
            extra = ~np.any(hits, axis=0)
            if extra.any():
                r = int(np.flatnonzero(extra)[0])
                raise InputError(
                    f"profile time is not one of the observation times {times}",
                    column="time",
                    row=profile.index[r],
                    value=profile["time"].iloc[r],
                )
            blocks = [profile[h] for h in hits]
        stack = []
        for block in blocks:
            x, m = check_mode_profile(block, observed)
            if x.size != grid.n_cells or np.abs(x - grid.centres).max() > 1e-6 * grid.spacing[0]:
                raise InputError(
                    f"profile positions must be the model's {grid.n_cells} cell centres "
                    f"({grid.centres[0]:.4g} … {grid.centres[-1]:.4g})",
                    column="x",
                )
            stack.append(m)
        modes = np.stack(stack)  # (T, N, S)
        if self.noise == "dirichlet":
            flat = modes.reshape(-1, modes.shape[-1])
            parts = np.column_stack([flat, 1.0 - flat.sum(axis=1)])
            if np.any(parts <= 0):
                raise InputError(
                    "the Dirichlet noise model needs modes > 0 and summing to < 1 in every row"
                )
        return modes, observed

    # ------------------------------------------------------------------ fit
    def fit(self, profile: pd.DataFrame) -> TransportFitResult:
        """Sample the posterior and estimate the evidence.

        Parameters
        ----------
        profile : pandas.DataFrame
            Columns ``x`` (the model's cell centres, m) and one column per observed mineral
            (volume fractions; see :func:`check_mode_profile`).

        Returns
        -------
        TransportFitResult
        """
        self._validate_params()
        x0 = np.asarray(self.initial_state, dtype=float)
        names, lo, hi = self._parameters()
        modes, observed = self._check_data(profile)
        times = _as_times(self.time)
        sp_names = list(self.model.network.species_names)
        idx = np.array([sp_names.index(s) for s in observed])
        n_k = self._fit_idx.size
        k_default = self.model.network.rate_constants
        zero = modes == 0.0
        log_width = float(np.sum(np.log(hi - lo)))

        def predict(theta: np.ndarray) -> np.ndarray:
            k = np.tile(k_default, (theta.shape[0], 1))
            k[:, self._fit_idx] = 10.0 ** theta[:, :n_k]
            D = 10.0 ** theta[:, n_k] if self.fit_diffusivity else None
            out = self.model.run(x0, [0.0, *times], k=k, diffusivity=D, n_steps=self.n_steps)
            return out[:, 1:][..., idx]  # (B, T, N, S)

        def log_likelihood(theta: np.ndarray) -> np.ndarray:
            theta = np.atleast_2d(theta)
            mu = predict(theta)
            if self.noise == "dirichlet":
                n_s = modes.shape[-1]
                return _dirichlet_loglik(
                    modes.reshape(-1, n_s), mu.reshape(mu.shape[0], -1, n_s), 10.0 ** theta[:, -1]
                )
            sig = (
                np.full(theta.shape[0], float(self.sigma))
                if self.sigma is not None
                else 10.0 ** theta[:, -1]
            )[:, None, None, None]
            z = (modes - mu) / sig
            ll = np.where(zero, log_ndtr(-mu / sig), -0.5 * z**2 - np.log(sig) - 0.9189385332046727)
            return ll.sum(axis=(1, 2, 3))

        def log_prior(theta: np.ndarray) -> np.ndarray:
            theta = np.atleast_2d(theta)
            inside = np.all((theta >= lo) & (theta <= hi), axis=1)
            return np.where(inside, -log_width, -np.inf)

        def prior_sample(rng: np.random.Generator, n: int) -> np.ndarray:
            return lo + (hi - lo) * rng.random((n, lo.size))

        sampler = ReplicaExchange(
            log_likelihood,
            log_prior,
            prior_sample,
            param_names=names,
            n_temps=int(self.n_temps),
            beta_min=1e-4,
            ladder=self.ladder,
            n_steps=int(self.n_sweeps),
            n_burn=self.n_burn if self.n_burn is not None else int(self.n_sweeps) // 2,
            n_chains=int(self.n_chains),
            vectorized=True,
            n_jobs=self.n_jobs,
            warn=bool(self.warn),
            random_state=self.random_state,
        )
        res = sampler.fit()
        return self._assemble(res, names, lo, hi, predict, observed, profile)

    def _assemble(self, res, names, lo, hi, predict, observed, profile) -> TransportFitResult:
        theta = res.posterior["theta"].values  # (chain, draw, param)
        flat = theta.reshape(-1, theta.shape[-1])
        ll = res.posterior["log_likelihood"].values.reshape(-1)
        best = flat[int(np.argmax(ll))]  # flat prior: max likelihood draw = MAP draw
        fitted = predict(best[None])[0]  # (T, N, S)
        times = _as_times(self.time)
        single = np.ndim(self.time) == 0
        fm = (("x", "mineral"), fitted[0]) if single else (("time", "x", "mineral"), fitted)
        estimate = xr.Dataset(
            {
                "mean": ("parameter", flat.mean(axis=0)),
                "sd": ("parameter", flat.std(axis=0, ddof=1)),
                "q05": ("parameter", np.quantile(flat, 0.05, axis=0)),
                "q95": ("parameter", np.quantile(flat, 0.95, axis=0)),
                "map": ("parameter", best),
                "fitted_modes": fm,
            },
            coords={
                **({} if single else {"time": times}),
                "parameter": names,
                "x": self.model.grid.centres,
                "mineral": observed,
            },
        )
        for v in ("mean", "sd", "q05", "q95", "map"):
            estimate[v].attrs["units"] = "log10 of the parameter's unit"
        estimate["fitted_modes"].attrs["units"] = "volume fraction"
        estimate["x"].attrs["units"] = "m"
        posterior = xr.Dataset(
            {n: (("chain", "draw"), theta[..., i]) for i, n in enumerate(names)},
            coords={"chain": res.posterior["chain"].values, "draw": res.posterior["draw"].values},
        )
        hyper = {
            **dict(res.hyperparameters),
            "noise": self.noise,
            "sigma": self.sigma,
            "prior_bounds": {
                n: (float(a), float(b)) for n, a, b in zip(names, lo, hi, strict=True)
            },
            "time": float(times[0]) if single else times,
            "network": self.model.network.name,
            "surface_laws": sorted({r.surface_law for r in self.model.network.reactions}),
        }
        meta = self._metadata(
            method="reaction-transport inversion (REMC, stepping-stone evidence)",
            inputs=(profile,),
        )
        return TransportFitResult(
            estimate=estimate,
            posterior=posterior,
            log_evidence=res.log_evidence,
            log_evidence_se=res.log_evidence_se,
            diagnostics=dict(res.diagnostics),
            hyperparameters=hyper,
            criterion=res.criterion,
            metadata=meta,
        )


def _dirichlet_loglik(y: np.ndarray, mu: np.ndarray, kappa: np.ndarray) -> np.ndarray:
    """Dirichlet log density of rows ``y`` (n, m) (+ remainder) with mean ``mu`` (B, n, m)."""
    yp = np.column_stack([y, 1.0 - y.sum(axis=1)])
    mp = np.concatenate([mu, 1.0 - mu.sum(axis=-1, keepdims=True)], axis=-1)
    mp = np.maximum(mp, 1e-6)
    mp = mp / mp.sum(axis=-1, keepdims=True)
    a = kappa[:, None, None] * mp
    ll = gammaln(kappa)[:, None] - gammaln(a).sum(-1) + ((a - 1.0) * np.log(yp)).sum(-1)
    return ll.sum(axis=1)


def compare_transport_models(results: Mapping[str, Result]) -> pd.DataFrame:
    """Rank fitted networks / surface laws by their log evidence.

    Parameters
    ----------
    results : mapping
        Label → :class:`TransportFitResult` fitted to the *same* profile.

    Returns
    -------
    pandas.DataFrame
        The table of :func:`petroinfer.inference.compare_models` (``log_evidence``, ``se``,
        ``free_energy``, ``delta_free_energy``, ``posterior_probability`` under equal prior odds),
        best model first.
    """
    if len(results) < 2:
        raise ModelError(
            f"compare_transport_models needs at least 2 fitted models, got {format_value(len(results))}"
        )
    return compare_models(results)
