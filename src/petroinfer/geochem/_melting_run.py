"""Run one melting model by replica exchange and turn the draws into labelled results.

Part of the implementation behind :mod:`petroinfer.geochem.melting`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from petroinfer.geochem._melting_forward import least_squares_fit
from petroinfer.geochem._melting_model import MeltingModel
from petroinfer.geochem._melting_result import MeltingResult
from petroinfer.inference import ReplicaExchange

__all__ = ["build_model", "run_model"]

_N_PRED = 400  # draws used for the predicted-melt bands


def build_model(
    inv: Any,
    model: str,
    table: pd.DataFrame,
    ref: pd.Series,
    D: pd.Series,
    D2: pd.Series | None,
    bounds: tuple[float, float],
    priors: dict[str, float],
) -> MeltingModel:
    """The :class:`MeltingModel` of one inversion configuration."""
    return MeltingModel(
        y=np.log(table.to_numpy()),
        log_ref=np.log(ref.to_numpy()),
        D=D.to_numpy(),
        model=model,
        D_second=None if D2 is None else D2.to_numpy(),
        source_prior="spike_slab" if inv.source_prior == "sparse" else "normal",
        source_sd=float(inv.source_sd),
        slab_probability=float(inv.slab_probability),
        spike_sd=float(inv.spike_sd),
        slab_sd=float(inv.slab_sd),
        fractionation=bool(inv.fractionation),
        F_lo=bounds[0],
        F_hi=bounds[1],
        noise=None if inv.noise is None else float(inv.noise),
        D_sd=None if inv.D_uncertainty is None else float(inv.D_uncertainty),
        noise_model=str(getattr(inv, "noise_model", "gaussian")),
        df=float(getattr(inv, "student_df", 4.0)),
        **priors,
    )


def _initial(mm: MeltingModel) -> np.ndarray:
    """Start at the reference source with per-sample least-squares F (and k)."""
    x = np.zeros(mm.dim)
    s = mm.slices
    x[s["c"]] = mm.log_ref
    kw: dict[str, Any] = {}
    if mm.model == "two_stage":
        kw = {"D_second": mm.D_second, "F_transition": 0.5 * mm.F_hi}
    span = mm.F_hi - mm.F_lo
    for j in range(mm.n):
        F, k, _ = least_squares_fit(
            mm.y[j],
            mm.log_ref,
            mm.model,
            mm.D,
            F_bounds=(mm.F_lo + 1e-3 * span, mm.F_hi - 1e-3 * span),
            fractionation=mm.fractionation,
            **kw,
        )
        z = np.clip((F - mm.F_lo) / span, 1e-3, 1 - 1e-3)
        x[s["u"].start + j] = np.log(z / (1 - z))
        if mm.fractionation:
            x[s["kappa"].start + j] = np.clip(
                np.log(k), max(mm.k_mu - 3 * mm.k_sd, mm.kappa_lo + 1e-6), mm.k_mu + 3 * mm.k_sd
            )
    if mm.noise is None:
        x[s["logsig"]] = np.log(0.1)
    return x


def run_model(
    inv: Any,
    model: str,
    table: pd.DataFrame,
    ref: pd.Series,
    D: pd.Series,
    D2: pd.Series | None,
    bounds: tuple[float, float],
    priors: dict[str, float],
) -> MeltingResult:
    """Sample one melting model and return its labelled result (no model comparison)."""
    mm = build_model(inv, model, table, ref, D, D2, bounds, priors)
    samples, elements = list(table.index), list(table.columns)
    x0 = _initial(mm)
    sampler_kind = getattr(inv, "sampler", "gibbs")
    moves: list[Any] = [mm]
    hmc = None
    if sampler_kind in ("hmc", "gibbs+hmc"):
        from petroinfer.geochem._melting_hmc import MeltingHMC, NoiseGibbs

        hmc = MeltingHMC(mm, x0)
        moves = [NoiseGibbs(mm), hmc] if sampler_kind == "hmc" else [mm, hmc]
    sampler = ReplicaExchange(
        mm.loglik,
        mm.logprior,
        mm.prior_sample,
        param_names=mm.names(samples, elements),
        n_temps=int(inv.n_temps),
        beta_min=float(inv.beta_min),
        ladder=inv.ladder,
        n_steps=int(inv.n_steps),
        n_burn=inv.n_burn,
        n_chains=int(inv.n_chains),
        vectorized=True,
        moves=moves,
        random_walk=False,
        n_jobs=inv.n_jobs,
        progress=bool(inv.progress),
        warn=bool(inv.warn),
        random_state=inv.random_state,
    )
    rem = sampler.fit(initial=x0)
    theta = rem.posterior["theta"].values  # (C, N, d)
    post, est = _labelled(mm, theta, table, ref, D)
    post["log_likelihood"] = rem.posterior["log_likelihood"]
    diag = {
        k: rem.diagnostics[k]
        for k in (
            "problems",
            "swap_rate_min",
            "round_trips",
            "log_evidence_ti",
            "log_evidence_se_batch",
            "n_likelihood_evaluations",
        )
    }
    diag["r_hat_max"] = _extreme(rem.diagnostics.get("r_hat", {}), max)
    diag["ess_bulk_min"] = _extreme(rem.diagnostics.get("ess_bulk", {}), min)
    diag["rms_log_misfit"] = float(est["rms_log_misfit"])
    diag["sampler"] = sampler_kind
    if hmc is not None and hmc.accept_rate:
        diag["hmc_accept_rate"] = float(np.mean(hmc.accept_rate))
    hyper = {
        "model": model,
        "source_reference": str(getattr(ref, "name", "") or inv.source),
        "source_reference_ppm": ref.to_numpy().tolist(),
        "D": D.to_numpy().tolist(),
        "source_prior": inv.source_prior,
        "fractionation": bool(inv.fractionation),
        "k_min": None if mm.k_min is None else float(mm.k_min),
        "F_bounds": list(bounds),
        "noise_model": mm.noise_model,
        "student_df": float(mm.df) if mm.student else None,
        **rem.hyperparameters,
    }
    return MeltingResult(
        estimate=est,
        posterior=post,
        log_evidence=rem.log_evidence,
        log_evidence_se=rem.log_evidence_se,
        diagnostics=diag,
        hyperparameters=hyper,
        criterion=None,
        metadata=rem.metadata,
    )


def _extreme(d: Any, fn: Any) -> float:
    vals = [float(v) for v in dict(d).values() if np.isfinite(v)]
    return float(fn(vals)) if vals else float("nan")


def _labelled(
    mm: MeltingModel, theta: np.ndarray, table: pd.DataFrame, ref: pd.Series, D: pd.Series
) -> tuple[xr.Dataset, xr.Dataset]:
    C, N, _ = theta.shape
    samples, elements = list(table.index), list(table.columns)
    flat = theta.reshape(C * N, -1)
    s = mm.slices
    F = mm.F_of(theta[..., s["u"]])
    k = np.exp(mm.kappa(theta))
    C0 = np.exp(theta[..., s["c"]])
    sig = np.sqrt(mm.sigma2(theta))
    dims_s, dims_e = ("chain", "draw", "sample"), ("chain", "draw", "element")
    post = xr.Dataset(
        {
            "F": (dims_s, F, {"units": "1", "long_name": "melt mass fraction"}),
            "k": (dims_s, k, {"units": "1", "long_name": "enrichment by fractionation"}),
            "C0": (dims_e, C0, {"units": "ppm", "long_name": "source concentration"}),
            "sigma": (
                dims_e,
                sig,
                {
                    "units": "1 (natural log)",
                    "long_name": "noise scale (Student-t)" if mm.student else "noise sd",
                },
            ),
        },
        coords={
            "chain": np.arange(C),
            "draw": np.arange(N),
            "sample": samples,
            "element": elements,
        },
    )
    if mm.D_sd is not None:
        post["D"] = (dims_e, D.to_numpy() * np.exp(theta[..., s["v"]]), {"units": "1"})
    if mm.model == "two_stage":
        post["F_transition"] = (("chain", "draw"), mm.Ft_of(theta[..., s["w"]][..., 0]))
        post["F_transition"].attrs["units"] = "1"

    def q(a: np.ndarray, p: float) -> np.ndarray:
        return np.quantile(a.reshape(C * N, *a.shape[2:]), p, axis=0)

    est = xr.Dataset(coords={"sample": samples, "element": elements})
    for name, arr, dim, unit in (
        ("F", F, "sample", "1"),
        ("k", k, "sample", "1"),
        ("C0", C0, "element", "ppm"),
    ):
        est[name] = (dim, arr.reshape(C * N, -1).mean(axis=0), {"units": unit})
        est[f"{name}_q05"] = (dim, q(arr, 0.05), {"units": unit})
        est[f"{name}_q95"] = (dim, q(arr, 0.95), {"units": unit})
    est["sigma"] = ("element", sig.reshape(C * N, -1).mean(axis=0), {"units": "1 (natural log)"})
    lc = np.log(C0.reshape(C * N, -1))
    lf = np.log(F.reshape(C * N, -1))
    corr = _corr(lc, lf)  # (element, sample)
    est["corr_C0_F"] = ("element", np.nanmean(corr, axis=1), {"units": "1"})
    if mm.source_prior == "spike_slab":
        incl = mm.slab_probability_given(flat[:, s["c"]]).mean(axis=0)
        est["inclusion_probability"] = ("element", incl, {"units": "1"})
    pick = np.linspace(0, C * N - 1, min(_N_PRED, C * N)).astype(int)
    pred = np.exp(mm.mean(flat[pick]))  # (m, n, p)
    est["C_obs"] = (("sample", "element"), table.to_numpy(), {"units": "ppm"})
    est["C_pred"] = (("sample", "element"), pred.mean(axis=0), {"units": "ppm"})
    est["C_pred_q05"] = (("sample", "element"), np.quantile(pred, 0.05, axis=0), {"units": "ppm"})
    est["C_pred_q95"] = (("sample", "element"), np.quantile(pred, 0.95, axis=0), {"units": "ppm"})
    if mm.student:  # E[ω_ij | data] at β = 1: (ν+1)/(ν + r²/σ²), averaged over draws
        var = mm.sigma2(flat[pick])[:, None, :]
        q = (mm.y - mm.mean(flat[pick])) ** 2 / var
        wgt = ((mm.df + 1.0) / (mm.df + q)).mean(axis=0)
        est["weight"] = (
            ("sample", "element"),
            wgt,
            {
                "units": "1",
                "long_name": "posterior mean Student-t precision weight (< 0.3: outlier)",
            },
        )
    resid = np.log(table.to_numpy()) - np.log(est["C_pred"].values)
    est["rms_log_misfit"] = ((), float(np.sqrt(np.mean(resid**2))), {"units": "1 (natural log)"})
    est["C0_reference"] = ("element", ref.to_numpy(), {"units": "ppm"})
    return post, est


def _corr(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Correlation of every column of ``a`` with every column of ``b`` (draws on axis 0)."""
    az = a - a.mean(axis=0)
    bz = b - b.mean(axis=0)
    num = az.T @ bz
    den = np.sqrt((az**2).sum(axis=0))[:, None] * np.sqrt((bz**2).sum(axis=0))[None, :]
    with np.errstate(invalid="ignore", divide="ignore"):
        return num / den
