"""Convergence diagnostics for Markov-chain output in ArviZ layout (``chain``, ``draw``, ...).

The numbers are ArviZ's (rank-normalised split R-hat, bulk and tail effective sample size and the
Monte-Carlo standard error of the mean; Vehtari et al. 2021); this module adds the thresholds used across
petroinfer and turns a failed check into one :class:`~petroinfer.errors.ConvergenceWarning` that says
what failed and by how much. :func:`batch_means_se` is the batch-means standard error used for the
Monte-Carlo error of free-energy estimates.

Thresholds (DESIGN.md, issue 3): R-hat > 1.01, bulk ESS < 400, or a replica-exchange swap rate < 0.1
anywhere in the ladder are flagged.

References
----------
Vehtari, A., Gelman, A., Simpson, D., Carpenter, B., Bürkner, P.-C. (2021). Rank-normalization, folding,
and localization: an improved R-hat for assessing convergence of MCMC. *Bayesian Analysis* 16, 667–718.

Flegal, J. M., Jones, G. L. (2010). Batch means and spectral variance estimators in Markov chain Monte
Carlo. *Annals of Statistics* 38, 1034–1070.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import xarray as xr

from petroinfer.errors import ConvergenceWarning, InputError

__all__ = [
    "ESS_MIN",
    "RHAT_MAX",
    "SWAP_RATE_MIN",
    "batch_means_se",
    "check_convergence",
    "convergence_diagnostics",
]

RHAT_MAX = 1.01
ESS_MIN = 400.0
SWAP_RATE_MIN = 0.1


def _as_posterior(posterior: Any) -> xr.Dataset:
    if hasattr(posterior, "posterior") and not isinstance(posterior, xr.Dataset):
        posterior = posterior.posterior  # arviz.InferenceData
    if isinstance(posterior, xr.DataArray):
        posterior = posterior.to_dataset(name=posterior.name or "x")
    if not isinstance(posterior, xr.Dataset):
        raise InputError(
            "posterior must be an xarray Dataset/DataArray or arviz.InferenceData",
            value=type(posterior).__name__,
        )
    missing = {"chain", "draw"} - set(posterior.dims)
    if missing:
        raise InputError(
            f"posterior draws need dims ('chain', 'draw', ...); missing {sorted(missing)}",
            value=tuple(posterior.dims),
        )
    if posterior.sizes["draw"] < 4:
        raise InputError(
            "need at least 4 draws per chain for diagnostics", value=posterior.sizes["draw"]
        )
    return posterior


def _split_single_chain(posterior: xr.Dataset) -> xr.Dataset:
    """With one chain, treat its two halves as two chains (split R-hat, Gelman et al. 2013)."""
    if posterior.sizes["chain"] > 1:
        return posterior
    n = posterior.sizes["draw"] // 2
    first = posterior.isel(chain=0, draw=slice(0, n))
    second = posterior.isel(chain=0, draw=slice(n, 2 * n)).assign_coords(draw=first["draw"])
    return xr.concat([first, second], dim="chain").assign_coords(chain=[0, 1])


def convergence_diagnostics(posterior: Any) -> dict[str, dict[str, float]]:
    """R-hat, bulk/tail ESS and MCSE of the mean for every scalar quantity of a posterior.

    Parameters
    ----------
    posterior:
        ``xarray.Dataset`` (or ``arviz.InferenceData``) with dims ``(chain, draw, ...)``. A single chain
        is split into halves so that R-hat is defined.

    Returns
    -------
    dict
        ``{"r_hat": {name: value}, "ess_bulk": {...}, "ess_tail": {...}, "mcse_mean": {...}}``; names
        are ``var`` for scalars and ``var[label]`` for vector entries (ArviZ convention).

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> rng = np.random.default_rng(0)
    >>> ds = xr.Dataset({"mu": (("chain", "draw"), rng.standard_normal((4, 500)))})
    >>> d = convergence_diagnostics(ds)
    >>> round(d["r_hat"]["mu"], 2) <= 1.01
    True
    """
    import arviz as az

    post = _as_posterior(posterior)
    split = _split_single_chain(post)
    out: dict[str, dict[str, float]] = {}
    stats = {
        "r_hat": az.rhat(split, method="rank"),
        "ess_bulk": az.ess(post, method="bulk"),
        "ess_tail": az.ess(post, method="tail"),
        "mcse_mean": az.mcse(post, method="mean"),
    }
    for key, ds in stats.items():
        flat: dict[str, float] = {}
        for name, da in ds.data_vars.items():
            if da.ndim == 0:
                flat[str(name)] = float(da)
                continue
            stacked = da.stack(_k=list(da.dims)) if da.ndim > 1 else da.rename({da.dims[0]: "_k"})
            for i in range(stacked.sizes["_k"]):
                label = stacked["_k"].values[i]
                label = ",".join(map(str, label)) if isinstance(label, tuple) else str(label)
                flat[f"{name}[{label}]"] = float(stacked.values[i])
        out[key] = flat
    return out


def check_convergence(
    diagnostics: Mapping[str, Any],
    *,
    swap_rates: Sequence[float] | np.ndarray | None = None,
    rhat_max: float = RHAT_MAX,
    ess_min: float = ESS_MIN,
    swap_rate_min: float = SWAP_RATE_MIN,
    warn: bool = True,
    stacklevel: int = 2,
) -> list[str]:
    """Apply the petroinfer convergence thresholds; warn once listing every failure.

    Parameters
    ----------
    diagnostics:
        Output of :func:`convergence_diagnostics` (keys ``r_hat`` and ``ess_bulk``).
    swap_rates:
        Replica-exchange swap acceptance rates of neighbouring rungs (any shape; NaN ignored).
    rhat_max, ess_min, swap_rate_min:
        Thresholds: R-hat above ``rhat_max`` (default 1.01), bulk ESS below ``ess_min`` (400) or a swap
        rate below ``swap_rate_min`` (0.1) is a failure.
    warn:
        Emit a :class:`~petroinfer.errors.ConvergenceWarning` when anything fails.

    Returns
    -------
    list of str
        One human-readable line per failed check (empty when everything passed).
    """
    problems: list[str] = []
    rhat = diagnostics.get("r_hat", {})
    bad = {k: v for k, v in rhat.items() if not np.isfinite(v) or v > rhat_max}
    if bad:
        worst = max(bad, key=lambda k: np.inf if not np.isfinite(bad[k]) else bad[k])
        problems.append(
            f"R-hat > {rhat_max} for {len(bad)} quantities (worst {worst}: {bad[worst]:.3f})"
        )
    ess = diagnostics.get("ess_bulk", {})
    low = {k: v for k, v in ess.items() if not np.isfinite(v) or v < ess_min}
    if low:
        worst = min(low, key=lambda k: -np.inf if not np.isfinite(low[k]) else low[k])
        problems.append(
            f"bulk ESS < {ess_min:g} for {len(low)} quantities (worst {worst}: {low[worst]:.0f})"
        )
    if swap_rates is not None:
        rates = np.asarray(swap_rates, dtype=float)
        rates = rates[np.isfinite(rates)]
        if rates.size and rates.min() < swap_rate_min:
            problems.append(
                f"replica-exchange swap rate < {swap_rate_min:g} in {(rates < swap_rate_min).sum()} "
                f"ladder pairs (lowest {rates.min():.3f}); add rungs or use ladder='adaptive'"
            )
    if problems and warn:
        warnings.warn("; ".join(problems), ConvergenceWarning, stacklevel=stacklevel)
    return problems


def batch_means_se(x: np.ndarray, n_batches: int | None = None) -> float:
    """Batch-means Monte-Carlo standard error of the mean of a (correlated) series.

    Parameters
    ----------
    x:
        1-D series of length ``n`` (e.g. per-sweep influence values of an estimator).
    n_batches:
        Number of non-overlapping batches ``B``; default ``floor(sqrt(n))`` clipped to [10, 100]
        (Flegal & Jones 2010).

    Returns
    -------
    float
        :math:`\\widehat{\\mathrm{se}} = s_B / \\sqrt{B}` where :math:`s_B` is the standard deviation of
        the ``B`` batch means (the tail ``n mod B`` values are dropped).

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> se = batch_means_se(rng.standard_normal(10_000))
    >>> 0.007 < se < 0.013
    True
    """
    x = np.asarray(x, dtype=float).ravel()
    n = x.size
    if n_batches is None:
        n_batches = int(np.clip(np.floor(np.sqrt(n)), 10, 100))
    if n_batches < 2 or n < 2 * n_batches:
        raise InputError(
            f"batch means need at least 2 draws per batch ({n_batches} batches)", value=n
        )
    m = n // n_batches
    means = x[: m * n_batches].reshape(n_batches, m).mean(axis=1)
    return float(means.std(ddof=1) / np.sqrt(n_batches))
