"""The result of every P–T(–t) path inversion in :mod:`petroinfer.ptpath` (:class:`PTPathResult`).

The three path inversions (inclusion thermobarometry, zoned-garnet Gibbs method, diffusion
assimilation) all return a path of T and P at nodes along one coordinate (radius, growth step or
time) with a Gaussian or sampled posterior. This module holds the result container and its
plots; the estimate and posterior datasets are built by :mod:`petroinfer.ptpath._path`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from petroinfer.inference.results import Result
from petroinfer.ptpath._path import Z90

__all__ = ["PTPathResult"]


@dataclass(frozen=True, repr=False)
class PTPathResult(Result):
    """A P–T path with uncertainty, returned by the ``fit`` of the :mod:`petroinfer.ptpath` inversions.

    Parameters
    ----------
    estimate : xarray.Dataset
        Dim ``node`` with the path coordinate (``radius`` for inclusions) as a coordinate:
        ``T_C`` and ``P_kbar`` posterior means, ``*_sd``, ``*_q05``/``*_q95`` (90 % band) and
        ``rho_TP`` (posterior T–P correlation at each node); every variable carries
        ``attrs["units"]`` (``degC``, ``kbar``, ``1``).
    posterior : xarray.Dataset or None
        Draws ``T_C`` and ``P_kbar`` with dims ``(chain, draw, node)`` (ArviZ layout).
    log_evidence : float or None
        Laplace log evidence (nats) at the chosen hyperparameters.
    log_evidence_se : float or None
        Monte-Carlo standard error of ``log_evidence`` (``None`` for the Laplace evidence).
    diagnostics : mapping
        MAP convergence, evidence-search outcome, counts of each inclusion kind.
    hyperparameters : mapping
        Chosen smoothness (``smoothness_T_per_K2``, ``smoothness_P_per_kbar2``), noise precision,
        prior order, calibrations, likelihood, and how they were chosen.
    criterion : xarray.Dataset or None
        Every evaluation of the evidence search (dim ``evaluation``).
    metadata : mapping
        Provenance: package version, seed, parameters, input hash.
    observations : pandas.DataFrame or None
        One row per datum, indexed like the input table (the sample ids): position, kind,
        σ of the residual, standardised residual and IRLS weight.

    Notes
    -----
    The 90 % band of the Laplace posterior is ``mean ± z_{0.95} sd`` with ``z_{0.95} = 1.6449``.
    """

    observations: pd.DataFrame | None = None

    def __repr__(self) -> str:
        e = self.estimate
        n = int(e.sizes.get("node", 0))
        coord = next((c for c in e.coords if c != "node"), "node")
        parts = [f"{n} nodes along {coord}"]
        if n:
            t, p = e["T_C"].values, e["P_kbar"].values
            parts.append(f"T {np.min(t):.0f}–{np.max(t):.0f} °C")
            parts.append(f"P {np.min(p):.2f}–{np.max(p):.2f} kbar")
        if self.log_evidence is not None:
            parts.append(f"log evidence {float(self.log_evidence):.2f}")
        if self.observations is not None:
            parts.append(f"{len(self.observations)} observations")
        if self.posterior is not None:
            parts.append(f"{int(self.posterior.sizes.get('draw', 0))} draws")
        return f"{type(self).__name__}({', '.join(parts)})"

    def summary(self, hdi_prob: float = 0.9) -> pd.DataFrame:
        """The path table: one row per node.

        Parameters
        ----------
        hdi_prob : float
            Accepted for API parity with :meth:`Result.summary`; the band columns are the 90 %
            Laplace band stored in ``estimate``.

        Returns
        -------
        pandas.DataFrame
            Columns: the path coordinate, ``T_C``, ``T_C_sd``, ``T_C_q05``, ``T_C_q95``, ``P_kbar``,
            ... one row per node.
        """
        return self.estimate.to_dataframe().drop(columns=["node"], errors="ignore")

    def plot(self, ax: Any = None, kind: str = "pt") -> Any:
        """Plot the path.

        Parameters
        ----------
        ax : matplotlib Axes or sequence of two Axes, optional
            Where to draw (created when ``None``).
        kind : {"pt", "radius"}
            ``"pt"``: P–T diagram with the 90 % error bars, the posterior draws and the ds62
            Al2SiO5 boundaries; ``"radius"``: T and P against the path coordinate (two axes).

        Returns
        -------
        matplotlib Axes or array of Axes
        """
        if kind == "radius":
            return plot_path_profile(self.estimate, ax=ax)
        return plot_pt_diagram(self.estimate, self.posterior, ax=ax)


def _coordinate(e) -> tuple[str, np.ndarray]:
    name = next((c for c in e.coords if c != "node"), "node")
    return name, e[name].values


def plot_path_profile(estimate, ax: Any = None) -> Any:
    """T and P (mean and 90 % band) against the path coordinate on two stacked axes."""
    import matplotlib.pyplot as plt

    name, r = _coordinate(estimate)
    if ax is None:
        _, ax = plt.subplots(2, 1, figsize=(5.5, 5), sharex=True)
    for a, v, lab in zip(ax, ("T_C", "P_kbar"), ("T (°C)", "P (kbar)"), strict=True):
        a.fill_between(r, estimate[f"{v}_q05"], estimate[f"{v}_q95"], alpha=0.3, label="90 % band")
        a.plot(r, estimate[v], lw=1.5, label="posterior mean")
        a.set_ylabel(lab)
    units = estimate[name].attrs.get("units") if name in estimate.coords else None
    ax[-1].set_xlabel(f"{name} ({units})" if units else name)
    ax[0].legend(fontsize="small")
    return ax


def plot_pt_diagram(estimate, posterior=None, ax: Any = None) -> Any:
    """P–T diagram: posterior mean path with 90 % error bars, up to 60 posterior draws, the core
    marked, and the ds62 Al2SiO5 univariant lines (:func:`petroinfer.thermo.al2sio5_lines`)."""
    import matplotlib.pyplot as plt

    from petroinfer.thermo import al2sio5_lines

    e = estimate
    n = e.sizes["node"]
    if ax is None:
        _, ax = plt.subplots(figsize=(5.5, 4.2))
    if posterior is not None:
        t = posterior["T_C"].values.reshape(-1, n)
        p = posterior["P_kbar"].values.reshape(-1, n)
        for i in range(0, t.shape[0], max(1, t.shape[0] // 60)):
            ax.plot(t[i], p[i], color="0.6", lw=0.4, alpha=0.4)
    ax.errorbar(
        e["T_C"],
        e["P_kbar"],
        xerr=Z90 * e["T_C_sd"],
        yerr=Z90 * e["P_kbar_sd"],
        fmt="o-",
        ms=2.5,
        lw=1.0,
        elinewidth=0.5,
        label="posterior mean ± 90 %",
    )
    ax.plot(e["T_C"][0], e["P_kbar"][0], "gs", label="core")
    tmin, tmax = float(np.min(e["T_C_q05"])) - 30, float(np.max(e["T_C_q95"])) + 30
    pmin, pmax = float(np.min(e["P_kbar_q05"])) - 1, float(np.max(e["P_kbar_q95"])) + 1
    for name, (tt, pp) in al2sio5_lines().items():
        ax.plot(tt, pp, "k-", lw=0.7)
        ax.annotate(name, (tt[len(tt) // 2], pp[len(pp) // 2]), fontsize=7)
    ax.set_xlim(tmin, tmax)
    ax.set_ylim(max(pmin, 0), pmax)
    ax.set_xlabel("T (°C)")
    ax.set_ylabel("P (kbar)")
    ax.legend(fontsize="small", loc="best")
    return ax
