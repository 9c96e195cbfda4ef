r"""Posterior summaries of the P–T–t assimilation: bands, durations, fitted profiles, the
identifiability report and the ensemble-linearised evidence.

**Evidence of an ensemble-smoother fit** [R]. ES-MDA gives no marginal likelihood. With the final
ensemble :math:`\{\theta_j, g(\theta_j)\}` the forward model is linearised by regression,
:math:`g(\theta) \approx \bar g + G(\theta - \bar\theta)` with
:math:`G = C_{g\theta} C_{\theta\theta}^{-1}`, and the evidence of the linear-Gaussian model with the
Gaussian prior :math:`N(\mu_0, \Sigma_0)` is

.. math:: \log p(y) \approx \log N\!\left(y;\ \bar g + G(\mu_0 - \bar\theta),\ G\Sigma_0G^T + C_D\right)

(a Laplace-type approximation; MacKay 2003, ch. 28). It ranks parameterisations (node counts,
cooling laws); the replica-exchange option gives the stepping-stone evidence instead.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from petroinfer.diffusion import END_MEMBERS, SECONDS_PER_MYR, ThermalHistory
from petroinfer.ptpath._path import path_estimate, path_posterior
from petroinfer.units import GAS_CONSTANT, celsius_to_kelvin, kelvin_to_celsius

__all__ = ["linearised_evidence", "summarise_ensemble"]


def linearised_evidence(theta, pred, y, cd, mu0, cov0) -> float:
    """Ensemble-linearised Gaussian log evidence (nats); see the module notes."""
    th = theta - theta.mean(0)
    gd = pred - pred.mean(0)
    # G = C_gθ C_θθ⁻¹ by least squares (rank-safe)
    G = np.linalg.lstsq(th, gd, rcond=None)[0].T
    mean = pred.mean(0) + G @ (mu0 - theta.mean(0))
    S = G @ cov0 @ G.T + cd
    L = np.linalg.cholesky(S)
    r = np.linalg.solve(L, y - mean)
    return float(-0.5 * r @ r - np.log(np.diag(L)).sum() - 0.5 * y.size * np.log(2 * np.pi))


def _quantiles(v: np.ndarray) -> dict[str, float]:
    v = v[np.isfinite(v)]
    q = np.quantile(v, [0.05, 0.5, 0.95]) if v.size else [np.nan] * 3
    return {"mean": float(np.mean(v)) if v.size else np.nan,
            "sd": float(np.std(v, ddof=1)) if v.size > 1 else np.nan,
            "q05": float(q[0]), "q50": float(q[1]), "q95": float(q[2])}  # fmt: skip


def summarise_ensemble(
    forward: Any,
    theta: np.ndarray,
    pred: np.ndarray,
    names: list[str],
    *,
    thresholds_C: tuple[float, ...] = (600.0,),
    geochron_sd: float = 0.05,
    n_times: int = 61,
) -> dict[str, Any]:
    """Everything the result reports, from posterior draws ``theta`` (B, d) and predictions."""
    h, s, z = forward.histories(theta)
    scale = np.exp(s)
    real = ThermalHistory(h.time * scale[:, None], h.T, h.P)  # real time axis
    ends = real.time[:, -1] / SECONDS_PER_MYR
    grid = np.linspace(0.0, float(np.quantile(ends, 0.95)), n_times)  # 95 % of members reach it
    T, P = real.at(grid * SECONDS_PER_MYR)  # (B, n) K, bar
    beyond = grid[None, :] > ends[:, None] * (1 + 1e-9)
    T = np.where(beyond, np.nan, T)
    P = np.where(beyond, np.nan, P) / 1e3
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN / single-member slices
        mean = np.stack([np.nanmean(T, 0), np.nanmean(P, 0)], axis=1)
        sd = np.stack([np.nanstd(T, 0, ddof=1), np.nanstd(P, 0, ddof=1)], axis=1)
        rho = np.array([
            np.corrcoef(T[ok, i], P[ok, i])[0, 1] if (ok := np.isfinite(T[:, i])).sum() > 2
            and np.std(T[ok, i]) > 0 and np.std(P[ok, i]) > 0 else np.nan
            for i in range(grid.size)
        ])  # fmt: skip
    est = path_estimate(grid, mean, sd, rho, coord="time", coord_units="Myr")
    for name, arr in (("T_C", kelvin_to_celsius(T)), ("P_kbar", P)):
        q = np.nanquantile(arr, [0.05, 0.95], axis=0)
        est[f"{name}_q05"].values[:] = q[0]
        est[f"{name}_q95"].values[:] = q[1]
    est.attrs["band"] = "empirical 5-95 % quantiles of the posterior ensemble"
    post = path_posterior(
        grid,
        T[None],
        P[None],
        np.array([0]),
        np.arange(theta.shape[0]),
        coord="time",
        coord_units="Myr",
    )
    post["theta"] = (("chain", "draw", "param"), theta[None])
    post = post.assign_coords(param=list(names))
    # durations ----------------------------------------------------------------------------
    fine = real.sample_times(2000, 0.0, real.end)
    Tf, _ = real.at(fine)
    Tf = np.where(fine[None, :] > real.time[:, -1:] * (1 + 1e-9), np.nan, Tf)
    peak = np.nanmax(Tf, axis=1)
    t_peak = fine[np.nanargmax(Tf, axis=1)] / SECONDS_PER_MYR
    rows = {"peak_T_C": kelvin_to_celsius(peak), "time_of_peak_Myr": t_peak, "duration_Myr": ends}
    for thr in thresholds_C:
        above = np.nan_to_num(Tf > celsius_to_kelvin(thr), nan=0.0).astype(float)
        rows[f"time_above_{thr:g}C_Myr"] = np.trapezoid(above, fine, axis=1) / SECONDS_PER_MYR
    durations = pd.DataFrame({k: _quantiles(np.asarray(v)) for k, v in rows.items()}).T
    durations.index.name = "quantity"
    # integrated diffusivities (per element, whole history, with the kinetic draws) ------------
    zeta = h.integrated_diffusivity(forward.param.parameters, z=z) * scale[:, None] * 1e12
    post["zeta_um2"] = (("chain", "draw", "element"), zeta[None], {"units": "um2"})
    post = post.assign_coords(element=list(END_MEMBERS))
    for k, v in rows.items():
        post[k] = (("chain", "draw"), np.asarray(v, float)[None])
    # identifiability ----------------------------------------------------------------------
    zt = pd.DataFrame({e: _quantiles(zeta[:, i]) for i, e in enumerate(END_MEMBERS)}).T
    zt.index.name = "element"
    ident: dict[str, Any] = {"zeta_um2": zt}
    lnscale = s
    first_thr = f"time_above_{thresholds_C[0]:g}C_Myr" if thresholds_C else None
    if first_thr:
        ident["corr_peakT_time_above"] = _corr(peak, rows[first_thr])
    if np.std(lnscale) > 0:
        ident["corr_peakT_ln_duration"] = _corr(peak, lnscale)
        ident["peak_T_sd_K"] = float(np.std(peak, ddof=1))
        ident["peak_T_sd_with_geochronology_K"] = _conditional_sd(peak, lnscale, geochron_sd)
        ident["geochronology_log_sd"] = float(geochron_sd)
        # what an independent duration (geochronology, log-SD g) would buy: Gaussian conditioning
        # of the ensemble, Var(x | s) = Var x − Cov(x, s)² / (Var s + g²)
        gain = {"peak_T_sd_K": peak}
        if first_thr:
            gain[first_thr.replace("_Myr", "_sd_Myr")] = rows[first_thr]
        gain["zeta_Fe_rel_sd"] = zeta[:, 1] / np.mean(zeta[:, 1])
        ident["geochronology_gain"] = pd.DataFrame(
            {k: [_conditional_sd(v, lnscale, g) for g in (np.inf, 0.2, 0.1, 0.05, 0.02)]
             for k, v in gain.items()},
            index=pd.Index([np.inf, 0.2, 0.1, 0.05, 0.02], name="duration_log_sd"),
        )  # fmt: skip
    p = forward.param
    from petroinfer.diffusion import diffusivity_parameters

    Q = diffusivity_parameters(p.parameters).Q
    Tm = float(np.median(peak))
    ident["dlnD_dT_at_peak_per_K"] = dict(
        zip(END_MEMBERS, (Q / (GAS_CONSTANT * Tm**2)).tolist(), strict=True)
    )
    ident["duration_factor_per_10K"] = dict(
        zip(END_MEMBERS, np.exp(10 * Q / (GAS_CONSTANT * Tm**2)).tolist(), strict=True)
    )
    # fitted profiles ------------------------------------------------------------------------
    fit = forward.data.table.copy()
    q = np.quantile(pred, [0.05, 0.95], axis=0)
    fit["fit_mean"] = pred.mean(0)
    fit["fit_q05"] = q[0]
    fit["fit_q95"] = q[1]
    fit["residual_z"] = (fit["observed"] - fit["fit_mean"]) / fit["sigma"]
    return {
        "estimate": est, "posterior": post, "durations": durations, "identifiability": ident,
        "profiles_fit": fit, "zeta": zeta, "peak": peak,
    }  # fmt: skip


def _conditional_sd(x, s, g: float) -> float:
    """SD of x after observing s with Gaussian error g (Gaussian conditioning on the ensemble;
    g = inf returns the unconditional SD)."""
    c = np.cov(np.vstack([np.asarray(x, float), np.asarray(s, float)]))
    if not np.isfinite(g):
        return float(np.sqrt(c[0, 0]))
    return float(np.sqrt(max(c[0, 0] - c[0, 1] ** 2 / (c[1, 1] + g**2), 0.0)))


def _corr(a, b) -> float:
    a, b = np.asarray(a, float), np.asarray(b, float)
    if np.std(a) == 0 or np.std(b) == 0:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])


def criterion_dataset(candidates: list[dict[str, Any]]) -> xr.Dataset:
    """Evidence and misfit per candidate parameterisation (dim ``candidate``)."""
    return xr.Dataset(
        {
            "log_evidence": ("candidate", [c["log_evidence"] for c in candidates]),
            "final_misfit": ("candidate", [c["misfit"] for c in candidates]),
            "n_params": ("candidate", [c["n_params"] for c in candidates]),
        },
        coords={"candidate": [c["name"] for c in candidates]},
        attrs={
            "criterion": "log evidence (nats): ensemble-linearised Laplace (ES-MDA) or "
            "stepping-stone (REMC)"
        },
    )
