"""Convergence diagnostics for Markov-chain output in ArviZ layout (``chain``, ``draw``, ...).

The numbers are ArviZ 1.x's (:mod:`arviz_stats`: rank-normalised split R-hat, bulk and tail effective
sample size and the Monte-Carlo standard error of the mean; Vehtari et al. 2021), equal to ArviZ 0.x's
to round-off; :func:`summarize_draws` is the ArviZ-style summary table. This module adds the thresholds used across
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
import pandas as pd
import xarray as xr

from petroinfer.errors import ConvergenceWarning, InputError

__all__ = [
    "ESS_MIN",
    "RHAT_MAX",
    "SWAP_RATE_MIN",
    "TAIL_PROB",
    "batch_means_se",
    "check_convergence",
    "convergence_diagnostics",
    "summarize_draws",
]

RHAT_MAX = 1.01
ESS_MIN = 400.0
SWAP_RATE_MIN = 0.1
TAIL_PROB = 0.05


def _as_posterior(posterior: Any) -> xr.Dataset:
    if isinstance(posterior, xr.DataTree):
        node = posterior["posterior"] if "posterior" in posterior.children else posterior
        posterior = node.to_dataset()
    elif hasattr(posterior, "posterior") and not isinstance(posterior, xr.Dataset | xr.DataArray):
        posterior = posterior.posterior  # legacy arviz.InferenceData
    if isinstance(posterior, xr.DataArray):
        posterior = posterior.to_dataset(name=posterior.name or "x")
    if not isinstance(posterior, xr.Dataset):
        raise InputError(
            "posterior must be an xarray Dataset, DataArray or DataTree",
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


def _flatten(ds: xr.Dataset) -> dict[str, float]:
    """``{name: value}`` for scalars and ``{name[label]: value}`` for vector entries (ArviZ names)."""
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
    return flat


def convergence_diagnostics(posterior: Any) -> dict[str, dict[str, float]]:
    r"""R-hat, bulk/tail ESS and MCSE of the mean for every scalar quantity of a posterior.

    Parameters
    ----------
    posterior : xarray.Dataset or xarray.DataArray or xarray.DataTree
        Draws with dims ``(chain, draw, ...)``; a DataTree is read from its ``posterior`` group
        (ArviZ 1.x layout). A single chain is split into halves so that R-hat is defined.

    Returns
    -------
    dict
        ``{"r_hat": {name: value}, "ess_bulk": {...}, "ess_tail": {...}, "mcse_mean": {...}}``; names
        are ``var`` for scalars and ``var[label]`` for vector entries (ArviZ convention).

    Notes
    -----
    Computed with :mod:`arviz_stats` (ArviZ 1.x): rank-normalised split R-hat, bulk ESS, tail ESS
    as the smaller of the ESS of the indicators :math:`I(x \le q_{0.05})` and
    :math:`I(x \le q_{0.95})` (Vehtari et al. 2021), and the MCSE of the mean. The tail
    probability is passed explicitly (0.05), as ArviZ 0.x did: ArviZ 1.x otherwise derives it from
    its credible-interval default (0.89), which changes the tail ESS.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> rng = np.random.default_rng(0)
    >>> ds = xr.Dataset({"mu": (("chain", "draw"), rng.standard_normal((4, 500)))})
    >>> d = convergence_diagnostics(ds)
    >>> round(d["r_hat"]["mu"], 2) <= 1.01
    True
    """
    import arviz_stats as azs

    post = _as_posterior(posterior)
    split = _split_single_chain(post)
    stats = {
        "r_hat": azs.rhat(split, method="rank"),
        "ess_bulk": azs.ess(post, method="bulk"),
        "ess_tail": azs.ess(post, method="tail", prob=TAIL_PROB),
        "mcse_mean": azs.mcse(post, method="mean"),
    }
    return {key: _flatten(ds) for key, ds in stats.items()}


def _hdi_labels(hdi_prob: float) -> tuple[str, str]:
    return f"hdi_{100 * (1 - hdi_prob) / 2:g}%", f"hdi_{100 * (1 + hdi_prob) / 2:g}%"


def summarize_draws(posterior: Any, hdi_prob: float = 0.9) -> pd.DataFrame:
    """ArviZ-style summary table of posterior draws: moments, HDI and convergence diagnostics.

    Parameters
    ----------
    posterior : xarray.Dataset or xarray.DataArray or xarray.DataTree
        Draws with dims ``(chain, draw, ...)``.
    hdi_prob : float
        Probability mass of the highest-density interval, in (0, 1).

    Returns
    -------
    pandas.DataFrame
        One row per scalar quantity (``var`` or ``var[label]``) and the columns of ArviZ 0.x's
        ``summary``: ``mean``, ``sd``, ``hdi_{a}%``, ``hdi_{b}%`` (``a = 50(1 - hdi_prob)``,
        ``b = 50(1 + hdi_prob)``), ``mcse_mean``, ``mcse_sd``, ``ess_bulk``, ``ess_tail``,
        ``r_hat``, unrounded.

    Notes
    -----
    ``sd`` is the sample standard deviation over all draws (``ddof=1``), the HDI is the narrowest
    interval holding ``floor(hdi_prob n)`` of the ``n`` sorted draws (ArviZ's ``"nearest"``
    method), and the diagnostics are those of :func:`convergence_diagnostics`, so every column but
    ``mcse_sd`` equals ArviZ 0.23's ``summary`` to round-off; ``mcse_sd`` is ArviZ 1.x's
    (Vehtari et al. 2021, appendix), which replaced the 0.x approximation.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> rng = np.random.default_rng(0)
    >>> ds = xr.Dataset({"mu": (("chain", "draw"), rng.standard_normal((2, 400)))})
    >>> list(summarize_draws(ds).columns)[:4]
    ['mean', 'sd', 'hdi_5%', 'hdi_95%']
    """
    import arviz_stats as azs

    if not 0 < hdi_prob < 1:
        raise InputError("hdi_prob must lie in (0, 1)", value=hdi_prob)
    post = _as_posterior(posterior)
    sample = ("chain", "draw")
    hdi = azs.hdi(post, prob=hdi_prob)
    lo, hi = _hdi_labels(hdi_prob)
    diag = convergence_diagnostics(post)
    columns = {
        "mean": _flatten(post.mean(sample)),
        "sd": _flatten(post.std(sample, ddof=1)),
        lo: _flatten(hdi.isel(ci_bound=0, drop=True)),
        hi: _flatten(hdi.isel(ci_bound=1, drop=True)),
        "mcse_mean": diag["mcse_mean"],
        "mcse_sd": _flatten(azs.mcse(post, method="sd")),
        "ess_bulk": diag["ess_bulk"],
        "ess_tail": diag["ess_tail"],
        "r_hat": diag["r_hat"],
    }
    return pd.DataFrame(columns)


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
    diagnostics : Mapping
        Output of :func:`convergence_diagnostics` (keys ``r_hat`` and ``ess_bulk``).
    swap_rates : array-like or None
        Replica-exchange swap acceptance rates of neighbouring rungs (any shape; NaN ignored).
    rhat_max, ess_min, swap_rate_min : float
        Thresholds: R-hat above ``rhat_max`` (default 1.01), bulk ESS below ``ess_min`` (400) or a swap
        rate below ``swap_rate_min`` (0.1) is a failure.
    warn : bool
        Emit a :class:`~petroinfer.errors.ConvergenceWarning` when anything fails.
    stacklevel : int
        Passed to :func:`warnings.warn` so the warning points at the caller's caller.

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
    r"""Batch-means Monte-Carlo standard error of the mean of a (correlated) series.

    Parameters
    ----------
    x : numpy.ndarray
        1-D series of length ``n`` (e.g. per-sweep influence values of an estimator).
    n_batches : int or None
        Number of non-overlapping batches ``B``; default ``floor(sqrt(n))`` clipped to [10, 100]
        (Flegal & Jones 2010).

    Returns
    -------
    float
        :math:`\widehat{\mathrm{se}} = s_B / \sqrt{B}` where :math:`s_B` is the standard deviation of
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
