"""Bayesian inversion of heterogeneous-reaction time series (PMMH + IS² evidence + smoother)."""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import xarray as xr

from petroinfer._base import Interval
from petroinfer._rng import RandomState, as_generator
from petroinfer.errors import ModelError
from petroinfer.inference.results import Result
from petroinfer.inference.smc import pmmh
from petroinfer.kinetics._reaction_ssm import (
    ReactionSSM,
    SeriesEstimator,
    choose_n_particles,
    is2_evidence,
    loglik_sd,
)
from petroinfer.kinetics.reactions import SURFACE_LAWS, ReactionNetwork, load_network

__all__ = ["KineticsResult", "ReactionKineticsInversion"]


@dataclass(frozen=True)
class KineticsResult(Result):
    """:class:`~petroinfer.inference.Result` of :class:`ReactionKineticsInversion`.

    ``estimate`` holds the rate constants (``k_<reaction>``, ``_sd``, ``_q05``, ``_q95``), the
    observation-noise SDs and the hidden time courses (``hidden_median``, ``hidden_q05``,
    ``hidden_q95`` on dims ``(time, species)``); ``posterior`` the PMMH draws in natural units;
    ``criterion`` the evidence table of the candidate surface laws.

    Parameters
    ----------
    estimate : xarray.Dataset
        Posterior mean, SD (``ddof=1``) and 5 % / 95 % quantiles (suffixes ``""``, ``_sd``,
        ``_q05``, ``_q95``) of each rate constant ``k_<reaction>`` and each observation-noise SD
        ``sigma_<species>`` (scalars, in the units of the data), plus the smoothed hidden time
        courses ``hidden_median``, ``hidden_q05`` and ``hidden_q95`` with dims
        ``(time, species)`` on the filter grid.
    posterior : xarray.Dataset or None
        PMMH draws of ``k_<reaction>`` and ``sigma_<species>`` in natural (not log) units, dims
        ``(chain, draw)``.
    log_evidence : float or None
        IS² log evidence (nats) of the selected surface law (or candidate model).
    log_evidence_se : float or None
        Monte-Carlo standard error of ``log_evidence`` (nats).
    diagnostics : Mapping
        Convergence diagnostics of the draws (R-hat, ESS, ``max_r_hat``, ``min_ess_bulk``,
        ``converged``), the PMMH acceptance and proposal figures, ``loglik_sd_posterior_mean``
        (SD of the particle log-likelihood estimate at the posterior mean), ``n_particles`` and
        ``evidence_method``.
    hyperparameters : Mapping
        ``surface_law`` (the selected candidate), ``candidates``, ``n_particles``,
        ``process_noise``, ``observed`` (species), ``reactions`` (names) and ``t0``.
    criterion : xarray.Dataset or None
        Evidence table of the candidates (dim ``surface_law``): ``log_evidence``,
        ``log_evidence_se``, ``is_ess``, ``log_likelihood_mode``, ``aic``, ``bic``,
        ``laplace_log_evidence``, ``n_particles``, ``loglik_sd_mode`` and
        ``posterior_probability``.
    metadata : Mapping
        Provenance: package version, method, seed, parameters, input hash, the fitted network
        (``network``) and ``surface_candidates``.
    """

    @property
    def rate_constants(self) -> pd.DataFrame:
        """Posterior mean, SD and 90 % interval of each rate constant."""
        rows = {}
        for name in self.hyperparameters.get("reactions", []):
            v = f"k_{name}"
            rows[name] = {s: float(self.estimate[f"{v}{s}"]) for s in ("", "_sd", "_q05", "_q95")}
        df = pd.DataFrame(rows).T
        df.columns = ["mean", "sd", "q05", "q95"]
        return df

    @property
    def evidence_table(self) -> pd.DataFrame:
        """One row per candidate surface law: log evidence ± SE, AIC, BIC, ... (best first)."""
        if self.criterion is None:
            return pd.DataFrame()
        df = self.criterion.to_dataframe()
        return df.sort_values("log_evidence", ascending=False)

    @property
    def hidden_states(self) -> pd.DataFrame:
        """Median and 90 % band of every species on the filter grid (long format)."""
        ds = self.estimate[["hidden_median", "hidden_q05", "hidden_q95"]]
        return ds.to_dataframe().reset_index()

    def plot(self, ax=None, data: pd.DataFrame | None = None):
        """Hidden time courses with 90 % bands (one panel per species), data overlaid."""
        import matplotlib.pyplot as plt

        species = list(self.estimate["species"].values)
        if ax is None:
            _, ax = plt.subplots(1, len(species), figsize=(3.6 * len(species), 3.2), squeeze=False)
            ax = ax[0]
        ax = np.atleast_1d(ax)
        t = self.estimate["time"].values
        for a, sp in zip(ax, species, strict=False):
            med = self.estimate["hidden_median"].sel(species=sp).values
            lo = self.estimate["hidden_q05"].sel(species=sp).values
            hi = self.estimate["hidden_q95"].sel(species=sp).values
            a.fill_between(t, lo, hi, color="tab:blue", alpha=0.25, lw=0, label="90 % band")
            a.plot(t, med, color="tab:blue", lw=1.5, label="median")
            if data is not None and sp in data.columns:
                a.plot(data["time"], data[sp], ".", color="k", ms=3, label="observed")
            a.set_title(sp)
            a.set_xlabel("time")
        ax[0].set_ylabel("amount / concentration")
        ax[0].legend(fontsize="small")
        return ax


class ReactionKineticsInversion(SeriesEstimator):
    """Rate constants, hidden solids and the surface-area law from a partially observed series.

    Parameters
    ----------
    network : ReactionNetwork, "dissolution-precipitation", YAML path or dict
        The reaction network; its rate constants are only starting values.
    observed : sequence of str
        Observed species (columns of the data), e.g. ``("B",)``.
    surface : {"auto", "sphere", "cylinder", "plate", "volume"} or mapping
        Surface-area law applied to every reaction; ``"auto"`` compares all four by log evidence and
        keeps the best. A mapping ``{label: network}`` compares arbitrary candidate models instead
        (e.g. first-order versus affinity rate laws, or different networks) on the same data.
    process_noise : float
        Relative system noise (see :func:`~petroinfer.kinetics.simulate_observations`).
    n_particles : int or None
        Particles per filter; ``None`` chooses N so that the SD of the log-likelihood estimate at the
        mode is about 0.5 (always < 1).
    n_draws, n_tune, n_chains : int
        PMMH settings.
    n_evidence : int
        Importance draws per candidate for the IS² evidence.
    n_trajectories : int
        Smoothed trajectories used for the hidden time-course bands.
    time : str
        Name of the time column.
    t0 : float
        Start time at which the network's initial amounts hold.
    random_state : int, Generator or None
        Seed or generator of every random draw (filters, PMMH, smoother).

    Notes
    -----
    For each candidate law: (1) the MAP of the noise-free (skeleton) model and its Laplace
    covariance; (2) the particle number for an SD of the log-likelihood ≤ 0.5 there; (3) the log
    evidence by importance sampling squared with the bootstrap-filter likelihood (Tran et al. 2014),
    with AIC/BIC from the particle log-likelihood at the mode. The best law gets PMMH (Andrieu et al.
    2010) started at its mode with the Laplace covariance as proposal; hidden states come from FFBSi
    trajectories at posterior draws. Priors: log k ~ N(−log(span), 3²), log σ ~ N(log(0.05 max y),
    1.5²). Reconstruction [R] of Omori et al. (2016), see docs/methods/reaction_kinetics.md.

    Examples
    --------
    >>> from petroinfer.kinetics import simulate_observations
    >>> obs, truth = simulate_observations(n_obs=60, random_state=0)
    >>> inv = ReactionKineticsInversion(surface="sphere", n_draws=60, n_tune=40, n_chains=2,
    ...                                 n_evidence=32, random_state=0)
    >>> res = inv.fit(obs)  # doctest: +SKIP
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        **SeriesEstimator._parameter_constraints,
        "surface": [str, Mapping],
        "process_noise": [Interval(float, 0, None, closed="neither")],
        "n_particles": [Interval(int, 2, None), None],
        "n_draws": [Interval(int, 1, None)],
        "n_tune": [Interval(int, 0, None)],
        "n_chains": [Interval(int, 1, None)],
        "n_evidence": [Interval(int, 1, None)],
        "n_trajectories": [Interval(int, 1, None)],
    }

    def __init__(
        self,
        network: Any = "dissolution-precipitation",
        observed: Sequence[str] = ("B",),
        surface: str = "auto",
        *,
        process_noise: float = 0.02,
        n_particles: int | None = None,
        n_draws: int = 1000,
        n_tune: int = 300,
        n_chains: int = 4,
        n_evidence: int = 256,
        n_trajectories: int = 200,
        time: str = "time",
        t0: float = 0.0,
        random_state: RandomState = None,
    ) -> None:
        super().__init__(network, observed, time=time, t0=t0, random_state=random_state)
        self.surface = surface
        self.process_noise = process_noise
        self.n_particles = n_particles
        self.n_draws = n_draws
        self.n_tune = n_tune
        self.n_chains = n_chains
        self.n_evidence = n_evidence
        self.n_trajectories = n_trajectories

    def _check(self) -> tuple[dict[str, ReactionNetwork], list[str], tuple[str, ...]]:
        observed = self._observed_names()
        if isinstance(self.surface, Mapping):
            if not self.surface:
                raise ModelError("the mapping of candidate models is empty")
            nets = {str(k): load_network(v) for k, v in self.surface.items()}
        else:
            net = load_network(self.network)
            if self.surface == "auto":
                nets = {law: net.with_surface_law(law) for law in SURFACE_LAWS}
            elif self.surface in SURFACE_LAWS:
                nets = {self.surface: net.with_surface_law(self.surface)}
            else:
                raise ModelError(
                    f"surface must be 'auto', one of {list(SURFACE_LAWS)} or a mapping of "
                    f"candidate networks, got {self.surface!r}"
                )
        if not (np.isfinite(self.process_noise) and self.process_noise > 0):
            raise ModelError(f"process_noise must be > 0, got {self.process_noise}")
        for name in ("n_draws", "n_chains", "n_evidence", "n_trajectories"):
            if int(getattr(self, name)) < 1:
                raise ModelError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.n_particles is not None and int(self.n_particles) < 2:
            raise ModelError(f"n_particles must be >= 2, got {self.n_particles}")
        return nets, list(nets), observed

    def _prepare(self, data: pd.DataFrame) -> tuple:
        """Checked candidates plus the validated series (times, values)."""
        self._validate_params()
        nets, laws, observed = self._check()
        n_params = max(len(v.reactions) for v in nets.values()) + len(observed)
        t, y = self._series(data, list(nets.values()), n_params)
        return nets, laws, observed, t, y

    def compare_surface_laws(self, data: pd.DataFrame) -> pd.DataFrame:
        """Evidence table of the candidate surface laws (or models) only (no PMMH), best first."""
        net, laws, observed, t, y = self._prepare(data)
        table, _ = self._candidates(net, laws, observed, t, y, as_generator(self.random_state))
        return table.sort_values("log_evidence", ascending=False)

    def _candidates(self, net, laws, observed, t, y, rng) -> tuple[pd.DataFrame, dict]:
        rows = []
        fits = {}
        for law in laws:
            ssm = ReactionSSM(net[law], t, y, observed, self.process_noise, self.t0)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                mode, cov, log_post = ssm.skeleton_map()
                if self.n_particles is None:
                    n, sd = choose_n_particles(ssm, mode, rng)
                else:
                    n = int(self.n_particles)
                    sd = loglik_sd(ssm, mode, n, rng)
                n_ev = min(n, 256)  # IS² stays unbiased with fewer particles, only noisier
                ev = is2_evidence(ssm, mode, cov, n_ev, rng, n_draws=int(self.n_evidence))
                ll_mode = float(np.mean(ssm.loglik(np.tile(mode, (4, 1)), n_ev, rng)))
            k = ssm.n_params
            nobs = y.size
            rows.append(
                {
                    "surface_law": law,
                    "log_evidence": ev["log_evidence"],
                    "log_evidence_se": ev["log_evidence_se"],
                    "is_ess": ev["is_ess"],
                    "log_likelihood_mode": ll_mode,
                    "aic": -2 * ll_mode + 2 * k,
                    "bic": -2 * ll_mode + k * math.log(nobs),
                    "laplace_log_evidence": log_post
                    + 0.5 * np.linalg.slogdet(cov)[1]
                    + 0.5 * k * math.log(2 * math.pi),
                    "n_particles": n_ev,
                    "loglik_sd_mode": sd,
                }
            )
            fits[law] = (ssm, mode, cov, n)
        table = pd.DataFrame(rows).set_index("surface_law")
        lz = table["log_evidence"].to_numpy()
        table["posterior_probability"] = np.exp(lz - lz.max()) / np.exp(lz - lz.max()).sum()
        return table, fits

    def fit(self, data: pd.DataFrame) -> KineticsResult:
        """Run the inversion on a table with a time column and the observed species."""
        nets, laws, observed, t, y = self._prepare(data)
        rng = as_generator(self.random_state)
        table, fits = self._candidates(nets, laws, observed, t, y, rng)
        best = str(table["log_evidence"].idxmax())
        ssm, mode, cov, n = fits[best]
        net = ssm.network

        p = ssm.n_params
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            res = pmmh(
                lambda th, r: ssm.loglik(th, n, r),
                ssm.log_prior,
                mode,
                param_names=ssm.param_names,
                n_draws=int(self.n_draws),
                n_tune=int(self.n_tune),
                n_chains=int(self.n_chains),
                proposal_cov=cov * (2.38**2 / p),
                random_state=rng,
                warn=False,
            )
        logpost = res.posterior
        flat = np.column_stack([logpost[nm].values.ravel() for nm in ssm.param_names])
        post_mean = flat.mean(axis=0)
        sd_at_mean = loglik_sd(ssm, post_mean, n, rng, 20)

        # natural-unit posterior
        nat = xr.Dataset(coords=logpost.coords)
        for j, r in enumerate(net.reaction_names):
            nat[f"k_{r}"] = np.exp(logpost[ssm.param_names[j]])
        for j, s in enumerate(observed):
            nat[f"sigma_{s}"] = np.exp(logpost[ssm.param_names[ssm.R + j]])
        from petroinfer.inference.smc import sampler_diagnostics

        diag = sampler_diagnostics(nat, warn=True)
        diag.update(
            {
                k: v
                for k, v in res.diagnostics.items()
                if k.startswith(("acceptance", "proposal", "log_likelihood"))
            }
        )
        diag.update(
            loglik_sd_posterior_mean=sd_at_mean,
            n_particles=n,
            evidence_method="IS2 (importance sampling squared, PF likelihood)",
        )

        est = xr.Dataset()
        for v in nat.data_vars:
            vals = nat[v].values.ravel()
            est[v] = float(vals.mean())
            est[f"{v}_sd"] = float(vals.std(ddof=1))
            est[f"{v}_q05"] = float(np.quantile(vals, 0.05))
            est[f"{v}_q95"] = float(np.quantile(vals, 0.95))
        est = est.merge(self._hidden(ssm, flat, n, rng))
        crit = xr.Dataset.from_dataframe(table)
        return KineticsResult(
            estimate=est,
            posterior=nat,
            log_evidence=float(table.loc[best, "log_evidence"]),
            log_evidence_se=float(table.loc[best, "log_evidence_se"]),
            diagnostics=diag,
            hyperparameters={
                "surface_law": best,
                "candidates": laws,
                "n_particles": n,
                "process_noise": self.process_noise,
                "observed": list(observed),
                "reactions": list(net.reaction_names),
                "t0": self.t0,
            },
            criterion=crit,
            metadata=self._metadata(
                method="reaction-kinetics PMMH + IS2 evidence",
                inputs=(data,),
                network=net.to_dict(),
                surface_candidates=list(laws),
            ),
        )

    def _hidden(self, ssm: ReactionSSM, flat: np.ndarray, n: int, rng) -> xr.Dataset:
        n_sets = min(16, flat.shape[0])
        per = max(1, math.ceil(int(self.n_trajectories) / n_sets))
        pick = rng.choice(flat.shape[0], size=n_sets, replace=False)
        trajs = np.concatenate([ssm.smooth(flat[i], max(n, 64), per, rng) for i in pick])
        q = np.quantile(trajs, [0.05, 0.5, 0.95], axis=0)
        coords = {"time": ssm.grid, "species": list(ssm.network.species_names)}
        dims = ("time", "species")
        return xr.Dataset(
            {"hidden_q05": (dims, q[0]), "hidden_median": (dims, q[1]), "hidden_q95": (dims, q[2])},
            coords=coords,
        )
