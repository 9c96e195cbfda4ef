r"""Melting degree and mantle source composition from basalt trace elements.

Forward models of the Shaw (1970) family — modal and non-modal batch melting, fractional melting
(instantaneous, aggregated, residue) and a two-stage (garnet → spinel field) fractional option — and
:class:`MeltingInversion`, the hierarchical Bayesian inversion of many basalts sharing one source: a
shared source :math:`C_0` (prior around a reference such as DMM, optionally sparse deviations), a
melting degree :math:`F_j` and a fractional-crystallisation enrichment :math:`k_j` per sample,
optionally uncertain :math:`D`, and per-element noise. The posterior is sampled by replica exchange
(:class:`petroinfer.inference.ReplicaExchange`) with a tempered Gibbs sweep (optionally a
gradient-based HMC move), which also gives the log
evidence used to choose between batch, fractional and two-stage melting.

The inversion is a reconstruction [R] of the idea in Kuwatani, Nagata, Akaho & Iwamori (JpGU 2016,
MTT27-01; abstract only): no paper gives its likelihood, prior or sampler. See
``docs/methods/melting.md``.

References
----------
Shaw, D.M. (1970) Trace element fractionation during anatexis. *Geochim. Cosmochim. Acta* 34:237–243.
Workman, R.K. & Hart, S.R. (2005) Major and trace element composition of the depleted MORB mantle
(DMM). *Earth Planet. Sci. Lett.* 231:53–72.
Gale, A. et al. (2013) The mean composition of ocean ridge basalts. *G-cubed* 14:489–518.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np
import pandas as pd
import xarray as xr

from petroinfer._base import Interval, InverseProblem, Options
from petroinfer._rng import RandomState
from petroinfer.errors import InputError, ModelError
from petroinfer.geochem._melting_forward import (
    MODELS,
    batch_ratio,
    bulk_partition_coefficient,
    fractional_ratio,
    least_squares_fit,
    two_stage_ratio,
)
from petroinfer.geochem._melting_inputs import (
    check_F,
    resolve_D,
    resolve_source,
    sample_table,
)
from petroinfer.geochem._melting_result import MeltingResult

__all__ = [
    "MeltingFit",
    "MeltingInversion",
    "MeltingResult",
    "batch_melting",
    "bulk_partition_coefficient",
    "fit_melting_degree",
    "fractional_melting",
    "make_melting_data",
    "two_stage_melting",
]

#: Elements used by default in synthetic data: incompatible to moderately incompatible, all present
#: in DMM (Workman & Hart 2005) and in the Workman & Hart bulk-D table.
DEFAULT_ELEMENTS = (
    "Th",
    "Nb",
    "La",
    "Ce",
    "Nd",
    "Zr",
    "Sm",
    "Eu",
    "Gd",
    "Dy",
    "Y",
    "Er",
    "Yb",
    "Lu",
)


# ------------------------------------------------------------------------------------ forward API
def _frame(ratio: np.ndarray, c0: pd.Series, F: np.ndarray, name: str) -> pd.Series | pd.DataFrame:
    units = c0.attrs.get("units", "ppm")
    if F.ndim == 0:
        out = pd.Series(np.asarray(ratio) * c0.to_numpy(), index=c0.index, name=name)
    else:
        out = pd.DataFrame(
            np.asarray(ratio) * c0.to_numpy(),
            index=pd.Index(F.ravel(), name="F"),
            columns=c0.index,
        )
    out.attrs["units"] = units if isinstance(units, str) else "ppm"
    return out


def _inputs(c0: Any, D: Any, elements: Sequence[str] | None, F: Any) -> tuple:
    if elements is None:
        if isinstance(c0, pd.Series):
            elements = list(c0.index)
        elif isinstance(D, pd.Series):
            elements = list(D.index)
        else:
            raise ModelError("give elements=[...] when neither c0 nor D is a Series")
    src = resolve_source(c0, elements)
    Ds = resolve_D(D, elements)
    Fa = check_F(F)
    return src, Ds, (Fa if Fa.ndim == 0 else Fa.reshape(-1, 1)), list(elements)


def batch_melting(
    c0: str | pd.Series,
    D: str | pd.Series,
    F: float | np.ndarray,
    *,
    P: pd.Series | None = None,
    residue: bool = False,
    elements: Sequence[str] | None = None,
) -> pd.Series | pd.DataFrame:
    r"""Batch (equilibrium) melting: melt or residue composition.

    Parameters
    ----------
    c0 : str or pandas.Series
        Source concentrations (ppm) or a reference-composition name (``"DMM"``, see
        :func:`petroinfer.composition.reference_composition`).
    D : str or pandas.Series
        Bulk solid/melt partition coefficients of the source mode :math:`D_0`, or a table name
        (``"workman_hart_2005"``, its ``bulk`` row).
    F : float or array-like
        Melt mass fraction(s) in [0, 1).
    P : pandas.Series, optional
        Bulk coefficients of the melting mode (non-modal melting); default modal (:math:`P = D_0`).
    residue : bool
        Return the residual solid instead of the melt.
    elements : sequence of str, optional
        Elements to compute (default: the index of ``c0`` or ``D``).

    Returns
    -------
    pandas.Series or pandas.DataFrame
        Concentrations (units of ``c0``, ppm for a named source), a Series for scalar ``F``, else a
        DataFrame indexed by ``F``.

    Notes
    -----
    Shaw (1970): :math:`C_L = C_0/(D_0 + F(1-P))` (modal :math:`C_L = C_0/(D + F(1-D))`); residue
    from mass balance :math:`F C_L + (1-F) C_S = C_0`, which is :math:`C_S = D C_L` when modal.

    Examples
    --------
    >>> melt = batch_melting("DMM", "workman_hart_2005", 0.10, elements=["La", "Yb"])
    >>> round(float(melt["La"]), 4)  # 0.192 / (0.010 + 0.1 * 0.990)
    1.7615
    """
    src, Ds, Fa, _ = _inputs(c0, D, elements, F)
    Pa = None if P is None else resolve_D(P, list(src.index), "melting-mode").to_numpy()
    ratio = batch_ratio(Ds.to_numpy(), Fa, Pa, residue=residue)
    return _frame(ratio, src, Fa, "residue" if residue else "melt")


def fractional_melting(
    c0: str | pd.Series,
    D: str | pd.Series,
    F: float | np.ndarray,
    *,
    P: pd.Series | None = None,
    kind: Literal["aggregated", "instantaneous", "residue"] = "aggregated",
    elements: Sequence[str] | None = None,
) -> pd.Series | pd.DataFrame:
    r"""Fractional (Rayleigh) melting: aggregated or instantaneous melt, or residue.

    Parameters
    ----------
    c0 : str or pandas.Series
        Source concentrations (ppm) or a reference-composition name (``"DMM"``), as in
        :func:`batch_melting`.
    D : str or pandas.Series
        Bulk solid/melt partition coefficients of the source mode :math:`D_0`, or a table name
        (``"workman_hart_2005"``).
    F : float or array-like
        Melt mass fraction(s) in [0, 1).
    P : pandas.Series, optional
        Bulk coefficients of the melting mode (non-modal melting); default modal (:math:`P = D_0`).
    kind : {"aggregated", "instantaneous", "residue"}, default "aggregated"
        The pooled melt extracted up to ``F``, the last drop of melt at ``F``, or the residue.
    elements : sequence of str, optional
        Elements to compute (default: the index of ``c0`` or ``D``).

    Returns
    -------
    pandas.Series or pandas.DataFrame
        As in :func:`batch_melting`.

    Notes
    -----
    Shaw (1970), modal: :math:`C_L/C_0 = D^{-1}(1-F)^{1/D-1}`,
    :math:`\bar C_L/C_0 = F^{-1}[1-(1-F)^{1/D}]`, :math:`C_S/C_0 = (1-F)^{1/D-1}`; non-modal:
    :math:`D_0^{-1}(1-PF/D_0)^{1/P-1}`, :math:`F^{-1}[1-(1-PF/D_0)^{1/P}]`,
    :math:`(1-F)^{-1}(1-PF/D_0)^{1/P}`.

    Examples
    --------
    >>> agg = fractional_melting("DMM", "workman_hart_2005", 0.10, elements=["La"])
    >>> round(float(agg["La"]), 4)  # 0.192 / 0.1 * (1 - 0.9 ** 100)
    1.9199
    """
    src, Ds, Fa, _ = _inputs(c0, D, elements, F)
    Pa = None if P is None else resolve_D(P, list(src.index), "melting-mode").to_numpy()
    ratio = fractional_ratio(Ds.to_numpy(), Fa, Pa, kind=kind)
    return _frame(ratio, src, Fa, "residue" if kind == "residue" else "melt")


def two_stage_melting(
    c0: str | pd.Series,
    D_first: str | pd.Series,
    D_second: str | pd.Series,
    F: float | np.ndarray,
    F_transition: float,
    *,
    kind: Literal["aggregated", "instantaneous", "residue"] = "aggregated",
    elements: Sequence[str] | None = None,
) -> pd.Series | pd.DataFrame:
    r"""Two-stage (polybaric) fractional melting: first field up to ``F_transition``, then the second.

    Parameters
    ----------
    c0 : str or pandas.Series
        Source concentrations (ppm) or a reference-composition name (``"DMM"``), as in
        :func:`batch_melting`.
    D_first, D_second : str or pandas.Series
        Bulk D of the first (e.g. garnet-field) and second (spinel-field) stage (Series or table
        name).
    F : float or array-like
        Total melt mass fraction(s) in [0, 1).
    F_transition : float
        Total melt fraction at which the mode and D switch, in [0, 1).
    kind : {"aggregated", "instantaneous", "residue"}, default "aggregated"
        As in :func:`fractional_melting`.
    elements : sequence of str, optional
        Elements to compute (default: the index of ``c0`` or ``D_first``).

    Returns
    -------
    pandas.Series or pandas.DataFrame

    Notes
    -----
    Shaw (1970) applied sequentially (geochem notes §F.2, [R]): the residue of stage 1,
    :math:`r_1 = (1-F_t)^{1/D_1-1}`, melts by :math:`F_2 = (F-F_t)/(1-F_t)` of itself; the pooled
    melt is :math:`[F_t a_1 + (F-F_t) r_1 a_2]/F` with :math:`a_k` the aggregated ratios of each
    stage. Melt and residue balance the source exactly.

    Examples
    --------
    >>> D1 = pd.Series({"Yb": 0.3}); D2 = pd.Series({"Yb": 0.1})
    >>> c = two_stage_melting(pd.Series({"Yb": 1.0}), D1, D2, 0.05, 0.05)
    >>> bool(np.isclose(c["Yb"], fractional_melting(pd.Series({"Yb": 1.0}), D1, 0.05)["Yb"]))
    True
    """
    src, D1, Fa, els = _inputs(c0, D_first, elements, F)
    D2 = resolve_D(D_second, els, "second-stage partition")
    Ft = float(check_F(F_transition, "F_transition"))
    ratio = two_stage_ratio(D1.to_numpy(), D2.to_numpy(), Fa, Ft, kind=kind)
    return _frame(ratio, src, Fa, "residue" if kind == "residue" else "melt")


def make_melting_data(
    n_samples: int = 20,
    *,
    model: Literal["batch", "fractional"] = "batch",
    noise: float = 0.05,
    F_range: tuple[float, float] = (0.02, 0.20),
    source: str | pd.Series = "DMM",
    partition: str | pd.Series = "workman_hart_2005",
    source_sd: float = 0.3,
    enriched: Sequence[str] = (),
    enrichment: float = 3.0,
    k_prior: tuple[float, float] | None = (1.4, 0.3),
    k_min: float | None = 1.0,
    elements: Sequence[str] = DEFAULT_ELEMENTS,
    random_state: RandomState = None,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    r"""Synthetic basalts melted from one source, with the forward models of this module.

    The source is the reference times :math:`e^{s\,z_i}` (:math:`z_i` standard normal; ``source_sd=0``
    gives the reference itself), with the ``enriched`` elements multiplied by ``enrichment``;
    :math:`F_j \sim U(F_{range})`; :math:`k_j` log-normal (median, log-sd) = ``k_prior`` truncated to
    :math:`k_j \ge` ``k_min`` (``k_prior=None``: :math:`k = 1`) — the prior of
    :class:`MeltingInversion`; log-normal noise of sd ``noise``.

    Parameters
    ----------
    n_samples : int, default 20
        Number of synthetic basalts (rows).
    model : {"batch", "fractional"}, default "batch"
        Forward model: batch melt (:func:`batch_melting`) or aggregated fractional melt
        (:func:`fractional_melting`).
    noise : float, default 0.05
        Standard deviation of the multiplicative log-normal noise (natural-log units).
    F_range : (float, float), default (0.02, 0.20)
        Bounds of the uniform distribution of the melt fractions (0 < lower < upper < 1).
    source : str or pandas.Series, default "DMM"
        Reference source (name or ppm Series) around which the true source is drawn.
    partition : str or pandas.Series, default "workman_hart_2005"
        Bulk partition coefficients (table name or Series).
    source_sd : float, default 0.3
        Log-sd :math:`s` of the source perturbation (natural-log units).
    enriched : sequence of str, default ()
        Elements of the source multiplied by ``enrichment``; each must be in ``elements``.
    enrichment : float, default 3.0
        Multiplicative enrichment factor of the ``enriched`` elements.
    k_prior : (float, float) or None, default (1.4, 0.3)
        Median and log-sd of the log-normal enrichment factors :math:`k_j`; ``None`` gives
        :math:`k_j = 1`.
    k_min : float or None, default 1.0
        Lower bound of :math:`k_j` (the log-normal is truncated there; ``None``: no bound).
    elements : sequence of str, default DEFAULT_ELEMENTS
        Elements (columns) to simulate (Th, Nb, La … Lu).
    random_state : int, numpy.random.Generator or None, default None
        Seed or generator.

    Returns
    -------
    data : pandas.DataFrame
        Samples ``M01…`` × elements, ppm.
    truth : dict
        ``C0`` (Series, ppm), ``F``, ``k`` (arrays), ``model``.

    Examples
    --------
    >>> data, truth = make_melting_data(5, random_state=0)
    >>> data.shape, bool(truth["F"].min() >= 0.02)
    ((5, 14), True)
    """
    rng = (
        np.random.default_rng(random_state)
        if not isinstance(random_state, np.random.Generator)
        else random_state
    )
    els = list(elements)
    c0 = resolve_source(source, els) * np.exp(source_sd * rng.standard_normal(len(els)))
    for e in enriched:
        if e not in c0.index:
            raise InputError("enriched element is not among the elements", column=str(e))
        c0[e] *= float(enrichment)
    lo, hi = _check_bounds(F_range)
    F = rng.uniform(lo, hi, n_samples)
    if k_prior is None:
        k = np.ones(n_samples)
    else:
        mu, sd = np.log(k_prior[0]), float(k_prior[1])
        if k_min is None:
            k = np.exp(mu + sd * rng.standard_normal(n_samples))
        else:
            from scipy.special import ndtr, ndtri

            p_lo = ndtr((np.log(k_min) - mu) / sd)  # inverse-CDF draw of the truncated normal
            k = np.exp(mu + sd * ndtri(p_lo + (1.0 - p_lo) * rng.random(n_samples)))
    fn = batch_melting if model == "batch" else fractional_melting
    melt = fn(c0, partition, F).to_numpy() * k[:, None]
    obs = melt * np.exp(noise * rng.standard_normal(melt.shape))
    ids = [f"M{j + 1:02d}" for j in range(n_samples)]
    data = pd.DataFrame(obs, index=pd.Index(ids, name="sample"), columns=els)
    data.attrs["units"] = "ppm"
    return data, {"C0": c0, "F": F, "k": k, "model": model}


# ------------------------------------------------------------------------------------ LSQ fit
@dataclass(frozen=True)
class MeltingFit:
    """Least-squares melting degree of one melt: ``F``, common enrichment ``k``, rms log misfit.

    Returned by :func:`fit_melting_degree`; the constructor arguments are stored as frozen
    attributes of the same name.

    Parameters
    ----------
    F : float
        Best-fitting melt mass fraction.
    k : float
        Common enrichment factor (fractional crystallisation); 1 when not fitted.
    rms : float
        Root-mean-square log residual (natural-log units).
    residuals : pandas.Series
        Log residuals (natural-log units, observed − model) indexed by ``element``.
    model : str
        Melting model fitted (``"batch"``, ``"fractional"`` or ``"two_stage"``).
    """

    F: float
    k: float
    rms: float
    residuals: pd.Series
    model: str


def fit_melting_degree(
    composition: pd.Series | dict,
    *,
    source: str | pd.Series = "DMM",
    partition: str | pd.Series = "workman_hart_2005",
    model: Literal["batch", "fractional", "two_stage"] = "batch",
    elements: Sequence[str] | None = None,
    fractionation: bool = True,
    F_bounds: tuple[float, float] = (0.001, 0.4),
    partition_second: pd.Series | None = None,
    F_transition: float | None = None,
) -> MeltingFit:
    r"""Least-squares melting degree (and common enrichment factor) of one basalt.

    Minimises :math:`\sum_i [\log C_i - \log k - \log C_{0,i} - \log g(D_i, F)]^2` over ``F`` in
    ``F_bounds`` (grid then bounded Brent search) with :math:`\log k` the mean residual (closed form);
    ``fractionation=False`` fixes :math:`k = 1`.

    Parameters
    ----------
    composition : pandas.Series or dict
        Melt concentrations (ppm) by element; non-positive values are refused.
    source, partition : str or pandas.Series
        Source (reference name or ppm Series) and bulk D (table name or Series).
    model : {"batch", "fractional", "two_stage"}
        Batch melt, aggregated fractional melt, or two-stage aggregated (needs ``partition_second``
        and ``F_transition``).
    elements : sequence of str, optional
        Default: the elements of ``composition`` that have a partition coefficient and a source
        value (others are skipped); an element named here without them is an :class:`InputError`.
    fractionation : bool
        Fit the common enrichment factor ``k``.
    F_bounds : (float, float)
        Search interval of F (lower < upper, both in (0, 1)).
    partition_second : pandas.Series, optional
        Bulk D of the second stage (spinel field); required when ``model="two_stage"``.
    F_transition : float, optional
        Total melt fraction at which the two-stage model switches from ``partition`` to
        ``partition_second``; used (and needed) only when ``model="two_stage"``.

    Returns
    -------
    MeltingFit

    Examples
    --------
    >>> from petroinfer.composition import reference_composition
    >>> fit = fit_melting_degree(reference_composition("N-MORB"), elements=["La", "Sm", "Yb", "Lu"])
    >>> 0.0 < fit.F < 0.4 and fit.k > 0
    True
    """
    comp = pd.Series(composition, dtype=float) if isinstance(composition, dict) else composition
    if not isinstance(comp, pd.Series):
        raise InputError(f"composition must be a Series of ppm; got {type(comp).__name__}")
    lo, hi = _check_bounds(F_bounds)
    if model not in MODELS:
        raise ModelError(f"model must be one of {MODELS}; got {model!r}")
    if elements is None:
        elements = _default_elements(list(comp.index), source, partition)
    table = sample_table(comp.to_frame().T, list(elements))
    els = list(table.columns)
    src = resolve_source(source, els)
    D = resolve_D(partition, els).to_numpy()
    kw = _two_stage_kw(model, partition_second, F_transition, els)
    F, k, r = least_squares_fit(
        np.log(table.to_numpy()[0]),
        np.log(src.to_numpy()),
        model,
        D,
        F_bounds=(lo, hi),
        fractionation=fractionation,
        **kw,
    )
    res = pd.Series(r, index=pd.Index(els, name="element"), name="log_residual")
    return MeltingFit(F=F, k=k, rms=float(np.sqrt(np.mean(r**2))), residuals=res, model=model)


def _check_bounds(F_bounds: Any) -> tuple[float, float]:
    try:
        lo, hi = (float(v) for v in F_bounds)
    except (TypeError, ValueError) as exc:
        raise ModelError(f"F_bounds must be two numbers (lower, upper); got {F_bounds!r}") from exc
    if not (0.0 < lo < hi < 1.0):
        raise ModelError(
            f"F_bounds must satisfy 0 < lower < upper < 1; got ({lo:g}, {hi:g})"
            + (" (bounds inverted)" if lo >= hi else "")
        )
    return lo, hi


def _default_elements(columns: list[str], source: Any, partition: Any) -> list[str]:
    from petroinfer.geochem._melting_inputs import element_columns

    els = element_columns(columns)
    keep = []
    for e in els:
        try:
            resolve_D(partition, [e])
            resolve_source(source, [e])
        except InputError:
            continue
        keep.append(e)
    if len(keep) < 3:
        raise InputError(
            f"fewer than 3 elements of {columns} have both a partition coefficient and a source value"
        )
    return keep


def _two_stage_kw(model: str, partition_second: Any, F_transition: Any, els: list[str]) -> dict:
    if model != "two_stage":
        return {}
    if partition_second is None:
        raise ModelError("model='two_stage' needs partition_second (bulk D of the second stage)")
    kw = {"D_second": resolve_D(partition_second, els, "second-stage partition").to_numpy()}
    if F_transition is not None:
        kw["F_transition"] = float(check_F(F_transition, "F_transition"))
    return kw


# ------------------------------------------------------------------------------------ inversion
class MeltingInversion(InverseProblem):
    r"""Hierarchical Bayesian inversion of basalt trace elements for source and melting degrees.

    Parameters
    ----------
    model : {"batch", "fractional", "two_stage", "auto"}
        Melting model: batch melt, aggregated fractional melt, two-stage aggregated fractional melt
        (``partition`` = first stage, ``partition_second`` = second stage, transition :math:`F_t`
        sampled), or ``"auto"``: every applicable model is fitted and the one with the largest log
        evidence is returned (the evidence table is in ``criterion``).
    source : str or pandas.Series
        Reference source (prior centre) by name (``"DMM"``, Workman & Hart 2005) or as ppm Series.
    partition : str or pandas.Series
        Bulk D by table name (``"workman_hart_2005"``) or Series.
    partition_second : pandas.Series, optional
        Bulk D of the second stage (two-stage model).
    elements : sequence of str, optional
        Elements to use (default: every element column of the data).
    source_prior : {"normal", "sparse"}
        ``"normal"``: :math:`\log C_{0,i} \sim N(\log C_{ref,i}, s^2)`; ``"sparse"``: spike-and-slab
        deviations :math:`\delta_i = \log C_{0,i} - \log C_{ref,i} \sim (1-\pi) N(0, s_0^2) + \pi
        N(0, s_1^2)`, with inclusion probabilities :math:`P(\text{slab} \mid \text{data})`.
    source_sd : float
        :math:`s` (natural-log units) of the normal source prior.
    slab_probability, spike_sd, slab_sd : float
        :math:`\pi`, :math:`s_0`, :math:`s_1` of the sparse prior.
    fractionation : bool
        Include the per-sample enrichment :math:`k_j` (fractional crystallisation); else :math:`k=1`.
    k_prior : (float, float)
        Median and log-sd of the (untruncated parent) log-normal prior on :math:`k_j`.
    k_min : float or None
        Hard lower bound of :math:`k_j` (default 1: fractional crystallisation only enriches
        incompatible elements); the log-normal prior is truncated there. ``None`` drops the bound.
    F_prior : (float, float) or "uniform"
        Median of :math:`F` and sd of the normal prior on the logit of the scaled melt fraction
        :math:`u_j`, or ``"uniform"``: :math:`F_j` uniform on ``F_bounds``.
    F_bounds : (float, float)
        Support of :math:`F` (lower < upper in (0, 1)).
    D_uncertainty : float or None
        Log-sd of a per-element multiplicative uncertainty of D (``None`` = D known).
    noise : float or None
        Known log-noise sd for every element, or ``None`` (estimated per element).
    noise_prior : (float, float)
        Shape and scale of the inverse-gamma prior on :math:`\sigma_i^2`.
    noise_model : {"gaussian", "student"}
        Noise distribution on log C: Gaussian, or Student-t with ``student_df`` degrees of freedom
        and scale :math:`\sigma_i` (robust to a few altered or outlying analyses; notes §F.2).
        With ``"student"``, ``estimate["weight"]`` holds the posterior mean precision weight of
        every analysis (1 = fully trusted, < 0.3 = treated as an outlier).
    student_df : float
        Degrees of freedom ν of the Student-t (fixed; default 4, the notes' choice: tails heavy
        enough that a ×3 outlier (5–20 σ) is discounted, variance still finite).
    sampler : {"gibbs", "hmc", "gibbs+hmc"}
        Move of every replica-exchange sweep: the tempered Gibbs/shear sweep (default), Hamiltonian
        Monte Carlo on :math:`(\log C_0, \log k, u)` with analytic gradients plus the exact noise
        draw (``"hmc"``; modal batch/fractional with known D only), or both in turn.
    n_steps, n_burn, n_temps, beta_min, ladder, n_chains : int, int or None, int, float, str, int
        Replica exchange settings (see :class:`petroinfer.inference.ReplicaExchange`); the default
        ``ladder="adaptive"`` places the rungs so that neighbours swap at ≈ 0.35.
    n_jobs : int or None
        Parallel chains through :mod:`petroinfer.parallel`.
    progress, warn : bool
        Progress bar; convergence warnings.
    random_state : int, numpy.random.Generator or None
        Seed (same seed → same result).

    Notes
    -----
    Likelihood (geochem notes §5 [R]):
    :math:`\log C^{obs}_{ij} \sim N(\log k_j + \log C_{0,i} + \log g(D_i, F_j), \sigma_i^2)` with
    :math:`g` the melt/source ratio of :func:`batch_melting` (batch),
    :func:`fractional_melting` (aggregated) or :func:`two_stage_melting`. Priors: source as above;
    :math:`\log k_j \sim N(\log k_{med}, s_k^2)` truncated to :math:`k_j \ge k_{min} = 1` (the
    fractional-crystallisation constraint of the notes, exact: draws below the bound have zero
    prior density and the truncation constant enters the evidence); :math:`F_j = F_{lo} + (F_{hi}-F_{lo})\,
    \mathrm{expit}(u_j)` with :math:`u_j` normal (centred on ``F_prior[0]``) or logistic (``F_prior=
    "uniform"``: :math:`F_j` uniform on the bounds); :math:`\sigma_i^2 \sim
    \mathrm{IG}(a, b)`; with ``noise_model="student"`` the normal is replaced by the Student-t
    :math:`t_\nu(0, \sigma_i^2)` (Lange, Little & Taylor 1989), sampled through a tempered
    Gaussian scale mixture whose latent precision weights are Gamma(:math:`\beta(\nu+1)/2`,
    :math:`(\nu + r^2/\sigma^2)/2`) at inverse temperature β, so that every rung targets
    :math:`t_\nu^\beta \pi` exactly and the evidence integrates the marginal Student-t likelihood;
    optional :math:`\log(D_i/D_{lit,i}) \sim N(0, s_D^2)`; for two-stage,
    :math:`F_t/F_{hi}` uniform. Sampling: replica exchange (Hukushima & Nemoto 1996) whose sweep is a
    tempered Gibbs sampler — exact (truncated) Gaussian draws of :math:`(\log C_0, \log k)` (joint,
    then blockwise and along their common shift), inverse-gamma draws
    of :math:`\sigma^2`, Metropolis updates of every :math:`F_j` plain and along the
    :math:`F_j`–:math:`k_j` trade-off, a global :math:`F`–:math:`C_0` ridge move — and the
    stepping-stone log evidence (Xie et al. 2011) compares melting models. ``sampler="hmc"``
    replaces the location moves by Hamiltonian Monte Carlo (Neal 2011) on :math:`(\log C_0, \log k,
    u)` with analytic gradients, reflecting at :math:`k = k_{min}`. When :math:`D \ll F`,
    :math:`C_L \approx k C_0/F`: only :math:`k C_0/F` is identified, and elements with
    :math:`D \approx F` (HREE, Y) plus many samples sharing one source break the degeneracy; the
    posterior correlation of :math:`\log C_0` and :math:`\log F` is reported (``corr_C0_F``).

    Examples
    --------
    >>> from petroinfer.geochem.melting import batch_melting
    >>> els = ["La", "Ce", "Nd", "Sm", "Eu", "Gd", "Dy", "Er", "Yb", "Lu"]
    >>> F = np.array([0.03, 0.08, 0.15])
    >>> data = batch_melting("DMM", "workman_hart_2005", F, elements=els).reset_index(drop=True)
    >>> res = MeltingInversion(fractionation=False, noise=0.05, n_steps=300, n_temps=6,
    ...                        n_chains=1, warn=False, random_state=0).fit(data)
    >>> res.melting_degree().shape
    (3, 4)
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "model": [Options({*MODELS, "auto"})],
        "source": [str, pd.Series, dict],
        "partition": [str, pd.Series, pd.DataFrame, dict],
        "partition_second": [pd.Series, dict, str, None],
        "source_prior": [Options({"normal", "sparse"})],
        "source_sd": [Interval(float, 0, None, closed="neither")],
        "slab_probability": [Interval(float, 0, 1, closed="neither")],
        "spike_sd": [Interval(float, 0, None, closed="neither")],
        "slab_sd": [Interval(float, 0, None, closed="neither")],
        "fractionation": [bool, np.bool_],
        "k_min": [Interval(float, 0, None, closed="neither"), None],
        "D_uncertainty": [Interval(float, 0, None, closed="neither"), None],
        "noise": [Interval(float, 0, None, closed="neither"), None],
        "noise_model": [Options({"gaussian", "student"})],
        "student_df": [Interval(float, 0, None, closed="neither")],
        "sampler": [Options({"gibbs", "hmc", "gibbs+hmc"})],
        "n_steps": [Interval(int, 10, None)],
        "n_burn": [Interval(int, 0, None), None],
        "n_temps": [Interval(int, 2, None)],
        "beta_min": [Interval(float, 0, 1, closed="neither")],
        "ladder": [Options({"geometric", "adaptive"})],
        "n_chains": [Interval(int, 1, None)],
        "n_jobs": [Interval(int, 1, None), Options({-1}), None],
        "progress": [bool, np.bool_],
        "warn": [bool, np.bool_],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        model: Literal["batch", "fractional", "two_stage", "auto"] = "batch",
        *,
        source: str | pd.Series = "DMM",
        partition: str | pd.Series = "workman_hart_2005",
        partition_second: pd.Series | None = None,
        elements: Sequence[str] | None = None,
        source_prior: Literal["normal", "sparse"] = "normal",
        source_sd: float = 0.3,
        slab_probability: float = 0.2,
        spike_sd: float = 0.02,
        slab_sd: float = 0.5,
        fractionation: bool = True,
        k_prior: tuple[float, float] = (1.4, 0.3),
        k_min: float | None = 1.0,
        F_prior: tuple[float, float] | Literal["uniform"] = (0.08, 1.0),
        F_bounds: tuple[float, float] = (0.001, 0.4),
        D_uncertainty: float | None = None,
        noise: float | None = None,
        noise_prior: tuple[float, float] = (2.0, 0.01),
        noise_model: Literal["gaussian", "student"] = "gaussian",
        student_df: float = 4.0,
        sampler: Literal["gibbs", "hmc", "gibbs+hmc"] = "gibbs",
        n_steps: int = 2000,
        n_burn: int | None = None,
        n_temps: int = 16,
        beta_min: float = 1e-5,
        ladder: Literal["geometric", "adaptive"] = "adaptive",
        n_chains: int = 2,
        n_jobs: int | None = 1,
        progress: bool = False,
        warn: bool = True,
        random_state: RandomState = None,
    ) -> None:
        self.model = model
        self.source = source
        self.partition = partition
        self.partition_second = partition_second
        self.elements = elements
        self.source_prior = source_prior
        self.source_sd = source_sd
        self.slab_probability = slab_probability
        self.spike_sd = spike_sd
        self.slab_sd = slab_sd
        self.fractionation = fractionation
        self.k_prior = k_prior
        self.k_min = k_min
        self.F_prior = F_prior
        self.F_bounds = F_bounds
        self.D_uncertainty = D_uncertainty
        self.noise = noise
        self.noise_prior = noise_prior
        self.noise_model = noise_model
        self.student_df = student_df
        self.sampler = sampler
        self.n_steps = n_steps
        self.n_burn = n_burn
        self.n_temps = n_temps
        self.beta_min = beta_min
        self.ladder = ladder
        self.n_chains = n_chains
        self.n_jobs = n_jobs
        self.progress = progress
        self.warn = warn
        self.random_state = random_state

    # ------------------------------------------------------------------ fit
    def fit(self, data: pd.DataFrame) -> MeltingResult:
        """Sample the posterior of source, melting degrees, enrichments and noise.

        Parameters
        ----------
        data : pandas.DataFrame
            Rows = samples (index or a ``sample`` column = ids), columns = elements in ppm
            (``La``, ``Yb`` …; oxide and label columns are ignored unless named in ``elements``).
            Values must be positive and finite.

        Returns
        -------
        MeltingResult
        """
        self._validate_params()
        lo, hi = _check_bounds(self.F_bounds)
        table = sample_table(data, self.elements)
        els = list(table.columns)
        ref = resolve_source(self.source, els)
        D = resolve_D(self.partition, els)
        D2 = None
        if self.partition_second is not None:
            D2 = resolve_D(self.partition_second, els, "second-stage partition")
        models = self._models(D2 is not None)
        from petroinfer.geochem._melting_run import run_model

        results = {
            m: run_model(self, m, table, ref, D, D2, (lo, hi), self._prior_numbers(lo, hi))
            for m in models
        }
        best = max(results, key=lambda m: results[m].log_evidence)
        res = results[best]
        crit = xr.Dataset(
            {
                "log_evidence": ("model", [float(results[m].log_evidence) for m in models]),
                "log_evidence_se": ("model", [float(results[m].log_evidence_se) for m in models]),
            },
            coords={"model": list(models)},
            attrs={"description": "stepping-stone log evidence of each melting model"},
        )
        diag = dict(res.diagnostics)
        diag["model_comparison"] = {m: float(results[m].log_evidence) for m in models}
        return MeltingResult(
            estimate=res.estimate,
            posterior=res.posterior,
            log_evidence=res.log_evidence,
            log_evidence_se=res.log_evidence_se,
            diagnostics=diag,
            hyperparameters={**res.hyperparameters, "model": best},
            criterion=crit,
            metadata=self._metadata(
                method=f"hierarchical melting inversion ({best}), replica exchange",
                inputs=(table,),
            ),
        )

    def _models(self, has_second: bool) -> list[str]:
        if self.model == "auto":
            return ["batch", "fractional", *(["two_stage"] if has_second else [])]
        if self.model == "two_stage" and not has_second:
            raise ModelError(
                "model='two_stage' needs partition_second (bulk D of the second stage)"
            )
        return [self.model]

    def _prior_numbers(self, lo: float, hi: float) -> dict[str, Any]:
        try:
            k_med, k_sd = (float(v) for v in self.k_prior)
            a, b = (float(v) for v in self.noise_prior)
        except (TypeError, ValueError) as exc:
            raise ModelError("k_prior and noise_prior must be pairs of numbers") from exc
        if not (k_med > 0 and k_sd > 0 and a > 0 and b > 0):
            raise ModelError("k_prior = (median > 0, sd > 0), noise_prior = (shape > 0, scale > 0)")
        out: dict[str, Any] = {
            "k_mu": float(np.log(k_med)),
            "k_sd": k_sd,
            "k_min": None if self.k_min is None else float(self.k_min),
            "ig_shape": a,
            "ig_scale": b,
        }
        if isinstance(self.F_prior, str):
            if self.F_prior != "uniform":
                raise ModelError(f"F_prior must be 'uniform' or (median, sd); got {self.F_prior!r}")
            return {**out, "u_logistic": True}
        try:
            f_med, f_sd = (float(v) for v in self.F_prior)
        except (TypeError, ValueError) as exc:
            raise ModelError(
                f"F_prior must be 'uniform' or (median, sd); got {self.F_prior!r}"
            ) from exc
        if not f_sd > 0:
            raise ModelError(f"F_prior sd must be > 0; got {f_sd:g}")
        if not (lo < f_med < hi):
            raise ModelError(f"F_prior median {f_med:g} must lie inside F_bounds ({lo:g}, {hi:g})")
        z = (f_med - lo) / (hi - lo)
        return {**out, "u_mu": float(np.log(z / (1 - z))), "u_sd": f_sd}
