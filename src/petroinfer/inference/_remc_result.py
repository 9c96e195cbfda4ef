"""The result of replica exchange and model comparison by minimum free energy.

Part of the implementation behind :mod:`petroinfer.inference.remc`: :class:`REMCResult` and
:func:`compare_models`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from petroinfer.errors import ModelError
from petroinfer.inference.results import Result

__all__ = ["REMCResult", "compare_models"]


@dataclass(frozen=True)
class REMCResult(Result):
    """Result of :meth:`ReplicaExchange.fit`.

    ``posterior`` holds the draws of the β = 1 replica as ``theta`` with dims ``(chain, draw, param)``
    (plus ``log_likelihood`` with dims ``(chain, draw)``); ``criterion`` holds the ladder and the
    thermodynamic curve (dims ``(chain, rung)``); ``log_evidence`` ± ``log_evidence_se`` is the
    stepping-stone estimate. Replica-exchange statistics are exposed as properties.

    Parameters
    ----------
    estimate : xarray.Dataset
        Posterior ``mean`` and ``sd`` (``ddof=1``, over all chains and draws) of every parameter,
        dim ``param``.
    posterior : xarray.Dataset or None
        Draws of the β = 1 replica: ``theta`` with dims ``(chain, draw, param)`` and
        ``log_likelihood`` with dims ``(chain, draw)``.
    log_evidence : float or None
        Stepping-stone log evidence log Z (nats), averaged over the chains.
    log_evidence_se : float or None
        Its standard error (nats): from batch means or from the spread of the independent chains,
        as chosen by ``ReplicaExchange(se_method=...)``.
    diagnostics : Mapping
        Convergence diagnostics of ``theta`` (R-hat, ESS, ...), the thermodynamic-integration
        estimate ``log_evidence_ti`` (± ``log_evidence_ti_se``), both standard errors
        (``log_evidence_se_batch``, ``log_evidence_se_runs``), ``log_evidence_per_chain``,
        ``swap_rate_min``, ``round_trips`` and ``n_rungs`` per chain, ``acceptance_mean``,
        ``n_likelihood_evaluations`` and the list of convergence ``problems``.
    hyperparameters : Mapping
        ``ladder``, ``n_temps`` (rungs per chain), ``n_steps``, ``n_burn``, ``thin`` and
        ``n_chains``.
    criterion : xarray.Dataset or None
        Per chain and rung (NaN-padded when adaptive ladders differ in length): ``beta``,
        ``mean_log_likelihood`` (the thermodynamic curve ⟨log L⟩_β) and ``acceptance``; per pair of
        neighbouring rungs ``swap_rate``; per chain ``log_evidence_ss``/``log_evidence_ti`` and their
        standard errors.
    metadata : Mapping
        Provenance: package version, seed, parameters, input hash.
    """

    @property
    def free_energy(self) -> float:
        """Bayes free energy F = −log Z (nats)."""
        return -float(self.log_evidence)

    @property
    def betas(self) -> np.ndarray:
        """Inverse-temperature ladder of each chain, ``(chain, rung)`` (NaN-padded if adaptive)."""
        return self.criterion["beta"].values

    @property
    def swap_rates(self) -> np.ndarray:
        """Swap acceptance of each neighbouring pair, ``(chain, pair)``."""
        return self.criterion["swap_rate"].values

    @property
    def acceptance(self) -> np.ndarray:
        """Random-walk acceptance rate of each rung, ``(chain, rung)``."""
        return self.criterion["acceptance"].values

    @property
    def round_trips(self) -> list[int]:
        """Number of prior → posterior → prior round trips of the replicas, per chain."""
        return list(self.diagnostics["round_trips"])

    def plot(self, ax=None, kind: Literal["thermodynamic", "swap", "posterior"] = "thermodynamic"):
        """Plot the thermodynamic curve ⟨log L⟩_β (default), the swap rates, or the marginals."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(5, 3.5))
        crit = self.criterion
        if kind == "thermodynamic":
            for c in range(crit.sizes["chain"]):
                ax.plot(
                    crit["beta"][c], crit["mean_log_likelihood"][c], "o-", ms=3, label=f"chain {c}"
                )
            ax.set_xscale("symlog", linthresh=float(np.nanmin(crit["beta"].values[:, 1])))
            ax.set_xlabel("inverse temperature β")
            ax.set_ylabel("⟨log L⟩_β")
            ax.set_title(f"log Z = {self.log_evidence:.3f} ± {self.log_evidence_se:.3f}")
        elif kind == "swap":
            for c in range(crit.sizes["chain"]):
                ax.plot(crit["swap_rate"][c], "o-", ms=3, label=f"chain {c}")
            ax.axhspan(0.2, 0.5, color="0.9", zorder=0)
            ax.axhline(0.1, color="r", lw=0.8, ls="--")
            ax.set_xlabel("pair (rung l, l+1)")
            ax.set_ylabel("swap acceptance")
        elif kind == "posterior":
            theta = self.posterior["theta"]
            for p in theta["param"].values:
                ax.hist(
                    theta.sel(param=p).values.ravel(),
                    bins=50,
                    histtype="step",
                    density=True,
                    label=str(p),
                )
            ax.set_xlabel("parameter value")
        else:
            raise ModelError(f"kind must be 'thermodynamic', 'swap' or 'posterior', got {kind!r}")
        ax.legend(loc="best", fontsize="small")
        return ax


def compare_models(results: Mapping[str, Result]) -> pd.DataFrame:
    """Rank models by log evidence (minimum Bayes free energy).

    Parameters
    ----------
    results : Mapping[str, Result]
        ``{model name: Result}`` with ``log_evidence`` (and ideally ``log_evidence_se``).

    Returns
    -------
    pandas.DataFrame
        Index = model names sorted from best; columns ``log_evidence``, ``se``, ``free_energy``
        (F = −log Z), ``delta_free_energy`` (F − F_min) and ``posterior_probability``
        (∝ exp(−F) under equal prior model probabilities; Nagata et al. 2012 §2).

    Examples
    --------
    >>> from petroinfer.inference.results import Result
    >>> import xarray as xr
    >>> r = {"a": Result(xr.Dataset(), log_evidence=-10.0, log_evidence_se=0.1),
    ...      "b": Result(xr.Dataset(), log_evidence=-12.0, log_evidence_se=0.1)}
    >>> compare_models(r).index.tolist()
    ['a', 'b']
    """
    if not results:
        raise ModelError("compare_models needs at least one result")
    rows = {}
    for name, res in results.items():
        if res.log_evidence is None or not np.isfinite(res.log_evidence):
            raise ModelError(f"result {name!r} has no finite log_evidence")
        se = res.log_evidence_se
        rows[name] = (float(res.log_evidence), np.nan if se is None else float(se))
    df = pd.DataFrame.from_dict(rows, orient="index", columns=["log_evidence", "se"])
    df["free_energy"] = -df["log_evidence"]
    df["delta_free_energy"] = df["free_energy"] - df["free_energy"].min()
    w = np.exp(-df["delta_free_energy"].to_numpy())
    df["posterior_probability"] = w / w.sum()
    return df.sort_values("free_energy")
