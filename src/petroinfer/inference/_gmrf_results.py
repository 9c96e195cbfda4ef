"""The GMRF result class and its assembly from a posterior factorisation.

Private module behind :mod:`petroinfer.inference.gmrf`.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from petroinfer._rng import as_generator
from petroinfer.errors import DataQualityWarning
from petroinfer.inference._gmrf_banded import _Factor
from petroinfer.inference._gmrf_prior_base import _Prior
from petroinfer.inference.results import Result

_Z95 = 1.6448536269514722  # standard-normal 95 % quantile (central 90 % interval)


@dataclass(frozen=True)
class GMRFResult(Result):
    """:class:`~petroinfer.inference.results.Result` of a GMRF fit.

    ``estimate`` holds ``mean`` (posterior mean, or MAP = Laplace mean for nonlinear models), ``sd``,
    ``q05`` and ``q95`` (5 % / 95 % marginal quantiles) with dims ``prior dims + ("channel",)``, and
    ``fitted`` (model prediction at the estimate) and ``residual`` with dim ``obs``. ``criterion``
    holds the log evidence along profile curves of every estimated hyperparameter (others at their
    optimum) and the optimiser trace (:meth:`HyperparameterSearch.to_dataset`).

    Parameters
    ----------
    estimate : xarray.Dataset
        Posterior mean, s.d., 5 %/95 % quantiles, fit and residual (and per-node covariances).
    posterior : xarray.Dataset or None
        Draws ``state`` with dims ``(chain, draw, *prior dims, channel)``.
    log_evidence : float
        Exact (linear) or Laplace (nonlinear) log evidence, nats.
    log_evidence_se : float or None
        Not used (the evidence is not a Monte-Carlo estimate).
    diagnostics : dict
        Bandwidth, evaluations, LM convergence, ``variance_condition``, ``mean_accuracy``,
        ``log_evidence_error_bound``, ``at_search_bound``.
    hyperparameters : dict
        Chosen ``noise_precision``, ``smoothness`` per channel and how they were chosen.
    criterion : xarray.Dataset or None
        The evidence search (``None`` when every hyperparameter was fixed).
    metadata : dict
        Provenance.
    """

    def summary(self, hdi_prob: float = 0.9) -> pd.DataFrame:
        """One row per node and channel: ``mean``, ``sd``, ``q05``, ``q95``.

        Parameters
        ----------
        hdi_prob : float
            Accepted for API parity; the interval is the central 90 % one (analytic marginals).

        Returns
        -------
        pandas.DataFrame
            Indexed by node (or pixel) and channel.
        """
        del hdi_prob
        table = self.estimate[["mean", "sd", "q05", "q95"]].to_dataframe()
        return table.drop(
            columns=[c for c in table.columns if c not in ("mean", "sd", "q05", "q95")]
        )

    def plot(self, ax=None):
        """Mean with the 90 % band along the chain, per channel (one axis per channel for several).

        Parameters
        ----------
        ax : matplotlib.axes.Axes or sequence of Axes or None
            Where to draw (new figure when ``None``).

        Returns
        -------
        matplotlib.axes.Axes or numpy.ndarray of Axes
            The axis (or axes, one per channel).
        """
        import matplotlib.pyplot as plt

        est = self.estimate
        if "node" not in est.dims:
            if ax is None:
                _, ax = plt.subplots(figsize=(4.5, 4))
            est["mean"].isel(channel=0).plot(ax=ax)
            return ax
        chans = list(est["channel"].values)
        if ax is None:
            _, axes = plt.subplots(len(chans), 1, figsize=(5.5, 2.6 * len(chans)), squeeze=False)
            axes = axes[:, 0]
        else:
            axes = np.atleast_1d(ax)
        pos = est["position"].values
        for a, ch in zip(axes, chans, strict=False):
            e = est.sel(channel=ch)
            a.fill_between(pos, e["q05"], e["q95"], alpha=0.3, label="90 % interval")
            a.plot(pos, e["mean"], lw=1.5, label="posterior mean")
            a.set_ylabel(str(ch))
            a.legend(loc="best", fontsize="small")
        axes[-1].set_xlabel("position")
        return axes[0] if len(axes) == 1 else axes


def marginal_variances(fac: _Factor, prior: _Prior) -> tuple[np.ndarray, np.ndarray, int, float]:
    """Diagonal blocks of the posterior covariance (internal order), the marginal variances, the
    block size and the worst loss-of-precision factor; warns when digits were lost."""
    nc = prior.n_channels
    s = nc * max(1, -(-fac.bandwidth // nc))
    blocks, lost = fac.marginal_blocks(s, full=nc > 1)
    var_int = np.diagonal(blocks, axis1=1, axis2=2).ravel()[: prior.size]
    if lost > 1e10:
        warnings.warn(
            f"marginal variances may have lost up to {math.log10(lost):.0f} digits (the posterior "
            "is barely constrained along some direction); consider an Anchor",
            DataQualityWarning,
            stacklevel=4,
        )
    return blocks, var_int, s, lost


def channel_covariance(blocks: np.ndarray, s: int, prior: _Prior) -> np.ndarray | None:
    """Per-node ``(n_channels, n_channels)`` posterior covariances in the user's node layout."""
    nc = prior.n_channels
    if nc < 2 or s % nc:
        return None
    per_block = s // nc
    nb = blocks.shape[0]
    cov = blocks.reshape(nb, per_block, nc, per_block, nc)
    idx = np.arange(per_block)
    cov = cov[:, idx, :, idx, :]  # (per_block, nb, nc, nc)
    cov = np.swapaxes(cov, 0, 1).reshape(-1, nc, nc)[: prior.n_nodes]
    cov_u = np.empty_like(cov)
    perm = np.arange(prior.n_nodes) if prior._perm is None else prior._perm
    cov_u[perm] = cov
    return cov_u.reshape((*prior.shape, nc, nc))


def estimate_dataset(
    prior: _Prior,
    x: np.ndarray,
    var_int: np.ndarray,
    cov: np.ndarray | None,
    fitted: np.ndarray,
    y: np.ndarray,
) -> xr.Dataset:
    """Posterior mean, s.d., 90 % interval, fit and residual as a labelled dataset."""
    ucols = prior._user_cols()
    shape = (*prior.shape, prior.n_channels)
    mean_u, var_u = np.empty(prior.size), np.empty(prior.size)
    mean_u[ucols] = x
    var_u[ucols] = np.maximum(var_int, 0.0)
    mean, sd = mean_u.reshape(shape), np.sqrt(var_u).reshape(shape)
    dims = (*prior._dims(), "channel")
    est = xr.Dataset(
        {
            "mean": (dims, mean),
            "sd": (dims, sd),
            "q05": (dims, mean - _Z95 * sd),
            "q95": (dims, mean + _Z95 * sd),
            "fitted": (("obs",), fitted),
            "residual": (("obs",), y - fitted),
        },
        coords={**prior._coords(), "channel": list(prior.channels)},
    )
    if cov is not None:
        est["covariance"] = ((*prior._dims(), "channel", "channel_"), cov)
        est = est.assign_coords(channel_=list(prior.channels))
    return est


def posterior_draws(
    prior: _Prior, x: np.ndarray, fac: _Factor, n_samples: int, random_state: Any
) -> xr.Dataset | None:
    """``n_samples`` exact draws ``x + L^{-T} z`` as an ArviZ-style ``(chain, draw, ...)`` dataset."""
    if n_samples <= 0:
        return None
    N = prior.size
    z = as_generator(random_state).standard_normal((N, n_samples))
    draws = x[:, None] + fac.draw(z)
    du = np.empty_like(draws)
    du[prior._user_cols()] = draws
    du = du.T.reshape((1, n_samples, *prior.shape, prior.n_channels))
    dims = (*prior._dims(), "channel")
    coords = {**prior._coords(), "channel": list(prior.channels)}
    return xr.Dataset(
        {"state": (("chain", "draw", *dims), du)},
        coords={**coords, "chain": [0], "draw": np.arange(n_samples)},
    )


def hyperparameter_record(prior: _Prior, theta: np.ndarray, chosen_by: str) -> dict[str, Any]:
    """The ``hyperparameters`` mapping of a :class:`GMRFResult`."""
    kap = np.exp(theta[1:])
    return {
        "noise_precision": float(np.exp(theta[0])),
        "smoothness": {c: float(k) for c, k in zip(prior.channels, kap, strict=True)},
        "order": prior.order,
        "channels": list(prior.channels),
        "correlation": None if prior.correlation is None else prior.correlation.tolist(),
        "chosen_by": chosen_by,
    }
