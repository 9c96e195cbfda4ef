"""Result of the Bayesian melting inversion: tables, evidence and the spider/degeneracy plots.

Part of the implementation behind :mod:`petroinfer.geochem.melting`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from petroinfer.errors import ModelError
from petroinfer.inference.results import Result

__all__ = ["MeltingResult"]


@dataclass(frozen=True)
class MeltingResult(Result):
    r"""Result of :meth:`MeltingInversion.fit`.

    ``estimate`` (posterior means and 5 %/95 % quantiles): ``F``, ``F_q05``, ``F_q95`` and ``k``,
    ``k_q05``, ``k_q95`` (dim ``sample``); ``C0``, ``C0_q05``, ``C0_q95`` (ppm), ``sigma`` (log
    units), ``corr_C0_F`` (posterior correlation of :math:`\log C_{0,i}` with :math:`\log F_j`,
    averaged over samples) and, for the sparse source prior, ``inclusion_probability`` (dim
    ``element``); ``C_obs``, ``C_pred``, ``C_pred_q05``, ``C_pred_q95`` (ppm, dims ``sample,
    element``) and, for Student-t noise, ``weight`` (posterior mean precision weight
    :math:`E[(\nu+1)/(\nu + r_{ij}^2/\sigma_i^2)]` of every analysis; < 0.3 marks an outlier). ``posterior`` holds the draws (``chain, draw, ...``). ``criterion`` holds the log
    evidence of every melting model tried (dim ``model``).

    Parameters
    ----------
    estimate : xarray.Dataset
        Posterior means and quantiles listed above.
    posterior : xarray.Dataset or None, optional
        Posterior draws with leading dims ``(chain, draw)``.
    log_evidence : float or None, optional
        Stepping-stone log evidence (nats) of the selected melting model.
    log_evidence_se : float or None, optional
        Monte-Carlo standard error of ``log_evidence`` (nats).
    diagnostics : Mapping, optional
        Convergence numbers (R-hat, ESS, acceptance and swap rates) and ``model_comparison`` (log
        evidence of every model tried).
    hyperparameters : Mapping, optional
        Prior and sampler settings used, including the selected ``model``.
    criterion : xarray.Dataset or None, optional
        ``log_evidence`` and ``log_evidence_se`` of every melting model tried (dim ``model``).
    metadata : Mapping, optional
        Provenance (package version, seed, parameters, input hash).
    """

    def melting_degree(self) -> pd.DataFrame:
        """Table ``sample, F, F_q05, F_q95`` (melt mass fraction)."""
        est = self.estimate
        return pd.DataFrame(
            {
                "sample": est["sample"].values,
                "F": est["F"].values,
                "F_q05": est["F_q05"].values,
                "F_q95": est["F_q95"].values,
            }
        )

    def source(self) -> pd.DataFrame:
        """Table ``element, C0, C0_q05, C0_q95`` (ppm) plus ``inclusion_probability`` if sparse."""
        est = self.estimate
        out = pd.DataFrame(
            {
                "element": est["element"].values,
                "C0": est["C0"].values,
                "C0_q05": est["C0_q05"].values,
                "C0_q95": est["C0_q95"].values,
            }
        )
        if "inclusion_probability" in est:
            out["inclusion_probability"] = est["inclusion_probability"].values
        return out

    def evidence_table(self) -> pd.DataFrame:
        """Log evidence (± MC SE) of each melting model tried, best first, with Δ free energy."""
        crit = self.criterion
        if crit is None or "log_evidence" not in crit:
            raise ModelError("this result holds no model evidence")
        df = pd.DataFrame(
            {
                "model": crit["model"].values,
                "log_evidence": crit["log_evidence"].values,
                "se": crit["log_evidence_se"].values,
            }
        ).sort_values("log_evidence", ascending=False)
        df["delta_free_energy"] = df["log_evidence"].max() - df["log_evidence"]
        w = np.exp(-df["delta_free_energy"].to_numpy())
        df["posterior_probability"] = w / w.sum()
        return df.reset_index(drop=True)

    def plot(self, ax=None, kind: Literal["spider", "degeneracy", "source"] = "spider"):
        """Spider diagram of data and posterior bands, the source, or the C0–F degeneracy.

        ``kind="spider"``: observed concentrations (points) and the posterior 90 % band of the
        predicted melt, normalised to the fitted source, per sample. ``kind="source"``: source
        :math:`C_0` with its 90 % interval, normalised to the prior reference. ``kind="degeneracy"``:
        draws of :math:`F` of the first sample against :math:`C_0` of the most incompatible element.
        """
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(6.5, 4))
        est = self.estimate
        elements = [str(e) for e in est["element"].values]
        xs = np.arange(len(elements))
        if kind == "spider":
            ref = est["C0"].values
            for j, s in enumerate(est["sample"].values[:12]):
                (line,) = ax.plot(xs, est["C_obs"].values[j] / ref, "o", ms=3, label=str(s))
                ax.fill_between(
                    xs,
                    est["C_pred_q05"].values[j] / ref,
                    est["C_pred_q95"].values[j] / ref,
                    color=line.get_color(),
                    alpha=0.25,
                )
            ax.set_yscale("log")
            ax.set_ylabel("melt / fitted source C0 (ppm/ppm)")
            ax.set_title("data (points) and posterior 90 % bands of the melt")
        elif kind == "source":
            ref = np.asarray(self.hyperparameters.get("source_reference_ppm", est["C0"].values))
            ax.errorbar(
                xs,
                est["C0"].values / ref,
                yerr=[
                    (est["C0"].values - est["C0_q05"].values) / ref,
                    (est["C0_q95"].values - est["C0"].values) / ref,
                ],
                fmt="o",
                capsize=2,
            )
            ax.axhline(1.0, color="0.5", lw=0.8)
            ax.set_yscale("log")
            ax.set_ylabel("source C0 / reference (ppm/ppm)")
            ax.set_title("source composition, posterior mean and 90 % interval")
        elif kind == "degeneracy":
            post = self.posterior
            i = int(np.argmin(self.hyperparameters.get("D", np.zeros(len(elements)))))
            f = post["F"].isel(sample=0).values.ravel()
            c = post["C0"].isel(element=i).values.ravel()
            ax.plot(100 * f, c, ".", ms=2, alpha=0.4)
            r = float(np.corrcoef(np.log(f), np.log(c))[0, 1])
            ax.set_xlabel(f"melting degree F of sample {est['sample'].values[0]} (%)")
            ax.set_ylabel(f"source {elements[i]} (ppm)")
            ax.set_title(f"C0–F trade-off, posterior correlation of logs = {r:.2f}")
            return ax
        else:
            raise ModelError(f"kind must be 'spider', 'source' or 'degeneracy'; got {kind!r}")
        ax.set_xticks(xs, elements, rotation=90)
        ax.set_xlabel("element (in the order of the data)")
        if kind == "spider":
            ax.legend(fontsize="x-small", ncol=2, loc="best")
        return ax
