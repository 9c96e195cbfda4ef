"""Experiments with the inclusion P–T path inversion (Kuwatani et al. 2018).

:func:`compare_calibrations` ranks thermometer/barometer pairs by Laplace evidence;
:func:`sparse_data_experiment` repeats the inversion with inclusions removed at random.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from petroinfer._rng import RandomState, as_generator
from petroinfer.errors import ModelError
from petroinfer.ptpath.inclusions import InclusionPTPath

__all__ = ["compare_calibrations", "sparse_data_experiment"]


def compare_calibrations(
    data: pd.DataFrame,
    pairs: Sequence[tuple[str, str]] = (("FS78", "KN88"), ("HS82", "KN88"), ("ds62", "ds62")),
    **kwargs: Any,
) -> pd.DataFrame:
    """Laplace log evidence of the inclusion data under each (thermometer, barometer) pair.

    Parameters
    ----------
    data : pandas.DataFrame
        Inclusion table (see :meth:`InclusionPTPath.fit`).
    pairs : sequence of (str, str)
        (thermometer, barometer) names.
    **kwargs
        Further :class:`InclusionPTPath` parameters (``nodes``, ``order``, ``n_samples`` ...).

    Returns
    -------
    pandas.DataFrame
        Sorted by evidence: ``thermometer``, ``barometer``, ``log_evidence``, the chosen
        ``smoothness_T``/``smoothness_P`` and ``delta`` (log evidence relative to the best).

    Notes
    -----
    [R] The evidences compare residual-space likelihoods whose scale is set by the propagated
    analytical σ, which is (nearly) calibration-independent.
    """
    rows = []
    for th, ba in pairs:
        res = InclusionPTPath(thermometer=th, barometer=ba, **kwargs).fit(data)
        rows.append(
            {
                "thermometer": th,
                "barometer": ba,
                "log_evidence": res.log_evidence,
                "smoothness_T": res.hyperparameters["smoothness_T_per_K2"],
                "smoothness_P": res.hyperparameters["smoothness_P_per_kbar2"],
            }
        )
    out = pd.DataFrame(rows).sort_values("log_evidence", ascending=False).reset_index(drop=True)
    out["delta"] = out["log_evidence"] - out["log_evidence"].iloc[0]
    return out


def sparse_data_experiment(
    model: InclusionPTPath,
    data: pd.DataFrame,
    fractions: Sequence[float] = (0.0, 0.25, 0.5, 0.75),
    *,
    n_repeats: int = 5,
    truth: pd.DataFrame | None = None,
    random_state: RandomState = None,
) -> pd.DataFrame:
    """Repeat the inversion with a random fraction of the inclusions removed (Kuwatani et al. 2018).

    The node grid of ``model`` is kept (give ``nodes`` so that it does not shrink with the data; the
    first and last inclusions are always kept). Errors are measured against ``truth`` (``radius``,
    ``T_C``, ``P_kbar`` at the nodes) or, without it, against the full-data posterior mean.

    Parameters
    ----------
    model : InclusionPTPath
        The configured inversion.
    data : pandas.DataFrame
        Inclusion table (see :meth:`InclusionPTPath.fit`).
    fractions : sequence of float
        Fractions of inclusions removed, each in [0, 1).
    n_repeats : int
        Random removals per fraction > 0.
    truth : pandas.DataFrame, optional
        ``T_C`` and ``P_kbar`` at the nodes.
    random_state : int or numpy.random.Generator, optional
        Seed of the removals.

    Returns
    -------
    pandas.DataFrame
        One row per (fraction, repeat): ``fraction_removed``, ``repeat``, ``n_inclusions``,
        ``rmse_T_C``, ``rmse_P_kbar``, ``mean_sd_T_C``, ``mean_sd_P_kbar`` and ``coverage90``
        (share of node values inside the 90 % band).
    """
    rng = as_generator(random_state)
    if model.nodes is None:
        rad = pd.to_numeric(data["radius"], errors="coerce").to_numpy(dtype=float)
        model = InclusionPTPath(
            **{
                **model.get_params(),
                "nodes": np.linspace(rad.min(), rad.max(), model.n_nodes or 30),
            }
        )
    if truth is None:
        full = model.fit(data).estimate
        ref_t, ref_p = full["T_C"].values, full["P_kbar"].values
    else:
        ref_t, ref_p = truth["T_C"].to_numpy(dtype=float), truth["P_kbar"].to_numpy(dtype=float)
    rows = []
    m = len(data)
    for f in fractions:
        if not 0 <= f < 1:
            raise ModelError(f"fractions must lie in [0, 1), got {f!r}")
        for rep in range(n_repeats if f > 0 else 1):
            n_remove = round(f * m)
            inner = np.arange(1, m - 1)
            drop = (
                rng.choice(inner, size=min(n_remove, inner.size), replace=False) if n_remove else []
            )
            sub = data.drop(index=data.index[list(drop)])
            if (
                sub["inclusion"].str.lower().str.startswith("b").sum() == 0
                or sub["inclusion"].str.lower().str.startswith("p").sum() == 0
            ):
                continue
            est = model.fit(sub).estimate
            t, p = est["T_C"].values, est["P_kbar"].values
            inside = np.concatenate(
                [
                    (est["T_C_q05"].values <= ref_t) & (ref_t <= est["T_C_q95"].values),
                    (est["P_kbar_q05"].values <= ref_p) & (ref_p <= est["P_kbar_q95"].values),
                ]
            )
            rows.append(
                {
                    "fraction_removed": f,
                    "repeat": rep,
                    "n_inclusions": len(sub),
                    "rmse_T_C": float(np.sqrt(np.mean((t - ref_t) ** 2))),
                    "rmse_P_kbar": float(np.sqrt(np.mean((p - ref_p) ** 2))),
                    "mean_sd_T_C": float(est["T_C_sd"].mean()),
                    "mean_sd_P_kbar": float(est["P_kbar_sd"].mean()),
                    "coverage90": float(inside.mean()),
                }
            )
    return pd.DataFrame(rows)
