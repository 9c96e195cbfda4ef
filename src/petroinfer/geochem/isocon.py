r"""Isocon mass-transfer analysis: classic (Grant 1986) and sparse (no assumed immobile elements).

Mass balance of element *i* between protolith O and altered rock A (Gresens 1967; Grant 1986):
:math:`M_A C_i^A = M_O C_i^O + \Delta m_i`. Immobile elements (:math:`\Delta m_i = 0`) satisfy
:math:`C_i^A = (M_O/M_A)\,C_i^O` — they lie on the *isocon*, a line through the origin. In log-ratios
:math:`r_{ij} = \log(C_{ij}^A/C_i^O) = t_j + \delta_{ij}` with :math:`t_j = \log(M_O/M_A)_j` and
:math:`\delta_{ij} = \log(1 + \Delta m_{ij}/(M_O C_i^O))` the (log) relative change, zero for immobile
elements.

*Classic isocon*: the user names the immobile set *S*; :math:`t_j` is the (uncertainty-weighted) mean of
:math:`r_{ij}` over *S* (equivalently the geometric-mean slope of the isocon, which, unlike a least-squares
line in concentration space, does not let SiO2 dominate a line fitted through ppm-level elements).

*Sparse isocon* (Kuwatani et al. 2020, Chem. Geol. 532:119345, reconstruction [R]): the immobile set is
not assumed but selected from the data so that the element changes :math:`\delta_{ij}` are *sparse*.
Several samples altered from one protolith share the immobile set, so the sparsity is grouped over
samples: with :math:`u_i^2 = \sum_j (r_{ij}-t_j)^2/\tau_i^2`, minimise

.. math:: J(t, S) = \sum_{i\in S} u_i^2 + c\,(p - |S|), \qquad c = \chi^2_{n,\,1-\alpha},

i.e. a group-:math:`\ell_0` penalty on the rows :math:`\delta_{i\cdot}` (a redescending, truncated
quadratic loss over elements). The convex relaxations — the weighted median of :math:`r_{\cdot j}` (the
single-sample :math:`\ell_1` solution) or the group-:math:`\ell_1` geometric median over samples — have a
50 % breakdown point: they fail when the immobile elements are a **minority**, which is the usual case in
real alteration. :math:`J` is minimised exactly in *S* for given *t* (keep element *i* iff
:math:`u_i^2 < c`) and in *t* for given *S* (weighted mean), alternating from every pair of elements as a
seed; the best :math:`J` wins. It is mode seeking: it finds the densest cluster of log-ratios that is
shared by all samples. The noise scale :math:`\tau_i` comes from the analytical uncertainty when given,
otherwise it is estimated from the tightest triple of elements and then re-estimated from the selected set.
Confidence intervals come from a parametric bootstrap that repeats the whole selection.
"""

from __future__ import annotations

import functools
import itertools
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np
import pandas as pd
import xarray as xr
from scipy.stats import chi2

from petroinfer._base import Interval, InverseProblem, Options
from petroinfer._rng import RandomState, as_generator
from petroinfer.errors import DataQualityWarning, InputError, ModelError
from petroinfer.geochem._tables import as_numeric_frame, column_units
from petroinfer.inference.results import Result, make_metadata

__all__ = ["IsoconResult", "SparseIsocon", "classic_isocon", "resolve_elements"]


@dataclass(frozen=True)
class IsoconResult(Result):
    r"""Result of :func:`classic_isocon` and :class:`SparseIsocon`.

    ``estimate`` variables: ``mass_ratio`` (sample; :math:`M_A/M_O`), ``mass_ratio_lower/_upper``
    (95 % bootstrap interval), ``isocon_slope`` (sample; :math:`M_O/M_A`), ``relative_change``
    (sample × element; :math:`\Delta m_i/(M_O C_i^O)`) with ``_lower/_upper``, ``delta``
    (sample × element; gain/loss per unit mass of protolith, in the element's input unit),
    ``immobile`` (element; bool), ``selection_frequency`` (element; share of bootstrap replicates that
    selected it), ``protolith`` and ``altered`` concentrations.

    Parameters
    ----------
    estimate : xarray.Dataset
        The variables listed above, with dims ``sample`` and/or ``element``; the interval and
        ``selection_frequency`` variables only with a bootstrap. Every variable carries
        ``attrs["units"]`` (``"1"`` for ratios, fractions and flags).
    posterior : xarray.Dataset or None
        Not used (``None``): the uncertainty is the bootstrap interval in ``estimate``.
    log_evidence : float or None
        Not computed (``None``).
    log_evidence_se : float or None
        Not computed (``None``).
    diagnostics : Mapping
        ``tau_log`` (the log-ratio noise s.d. of each element) and, with a bootstrap, ``n_bootstrap``.
    hyperparameters : Mapping
        ``method`` (``"classic"`` or the :class:`SparseIsocon` method), ``uncertainty``, for
        :class:`SparseIsocon` also ``alpha`` and ``chi2_threshold``; the selected ``immobile``
        elements and the ``units`` of each element.
    criterion : xarray.Dataset or None
        Not used (``None``).
    metadata : Mapping
        Provenance: package version, seed, parameters, input hash.
    """

    def mass_table(self) -> pd.DataFrame:
        """Per-sample mass ratio with its interval."""
        e = self.estimate
        return pd.DataFrame(
            {
                k: e[k].to_series()
                for k in ("mass_ratio", "mass_ratio_lower", "mass_ratio_upper", "isocon_slope")
                if k in e
            }
        )

    def change_table(self) -> pd.DataFrame:
        """Relative change (sample × element)."""
        return self.estimate["relative_change"].to_pandas()

    @property
    def immobile(self) -> list[str]:
        imm = self.estimate["immobile"]
        return [str(e) for e, v in zip(imm["element"].values, imm.values, strict=True) if v]

    def plot(self, ax=None, sample: str | None = None):
        """Isocon diagram (log–log): altered vs protolith concentration, isocon through the immobile set."""
        import matplotlib.pyplot as plt

        e = self.estimate
        s = str(e["sample"].values[0]) if sample is None else sample
        if ax is None:
            _, ax = plt.subplots(figsize=(4.8, 4.5))
        x = e["protolith"].values
        y = e["altered"].sel(sample=s).values
        imm = e["immobile"].values.astype(bool)
        ax.loglog(x[~imm], y[~imm], "o", color="tab:orange", label="mobile")
        ax.loglog(x[imm], y[imm], "s", color="tab:blue", label="immobile (selected)")
        for xi, yi, name in zip(x, y, e["element"].values, strict=True):
            ax.annotate(str(name), (xi, yi), fontsize=7, xytext=(3, 2), textcoords="offset points")
        lim = np.array([min(x.min(), y.min()) * 0.5, max(x.max(), y.max()) * 2])
        slope = float(e["isocon_slope"].sel(sample=s))
        ax.loglog(
            lim,
            slope * lim,
            "-",
            color="tab:blue",
            lw=1,
            label=f"isocon, M_A/M_O = {1 / slope:.3f}",
        )
        ax.loglog(lim, lim, ":", color="0.5", lw=1, label="constant concentration")
        ax.set_xlabel("protolith concentration (input units)")
        ax.set_ylabel(f"altered concentration, {s}")
        ax.legend(fontsize="small")
        return ax


# --------------------------------------------------------------------------- helpers
def resolve_elements(names: Sequence[str], columns: Sequence[str]) -> list[str]:
    """Map user names (``Ti``, ``TiO2``, ``Zr``) to table columns (``TiO2``, ``Zr`` …)."""
    out = []
    for name in names:
        name = name.strip()
        if name in columns:
            out.append(name)
            continue
        hits = [
            c
            for c in columns
            if c.split("_")[0].startswith(name)
            and (len(c) == len(name) or not c[len(name)].islower())
        ]
        if len(hits) != 1:
            raise InputError(
                f"immobile element {name!r} matches {len(hits)} columns; use a column name",
                column=name,
            )
        out.append(hits[0])
    return out


def _split(data: Any, protolith: str | pd.Series, id_column: str | None):
    """Return (protolith Series, altered DataFrame) of positive numbers."""
    if isinstance(protolith, pd.Series):
        O = protolith
        A = data
    else:
        df = data.copy() if isinstance(data, pd.DataFrame) else pd.DataFrame(data)
        if id_column is not None:
            if id_column not in df.columns:
                raise InputError("id column not found", column=id_column)
            df = df.set_index(id_column)
        df.index = df.index.map(str)
        dup = df.index[df.index.duplicated()]
        if len(dup):
            raise InputError("duplicated sample id", row=str(dup[0]))
        if str(protolith) not in df.index:
            raise InputError(
                f"protolith sample id not found among {len(df)} samples",
                row=str(protolith),
                column=id_column,
            )
        O = df.loc[str(protolith)]
        A = df.drop(index=str(protolith))
    A = as_numeric_frame(A, name="altered samples", allow_zero=False, min_rows=1)
    O = as_numeric_frame(
        pd.DataFrame([O]).reindex(columns=A.columns), name="protolith", allow_zero=False
    ).iloc[0]
    if A.shape[1] < 3:
        raise InputError(f"isocon analysis needs at least 3 elements, got {A.shape[1]}")
    return O, A


def _tau(uncertainty, columns) -> np.ndarray | None:
    """Log-ratio noise SD per element from relative analytical uncertainty (both analyses)."""
    if uncertainty is None:
        return None
    if isinstance(uncertainty, Mapping | pd.Series):
        u = pd.Series(uncertainty).reindex(columns)
        if u.isna().any():
            raise InputError("uncertainty missing for an element", column=str(u.index[u.isna()][0]))
        u = u.to_numpy(float)
    else:
        u = np.full(len(columns), float(uncertainty))
    if np.any(u <= 0):
        raise ModelError("relative uncertainties must be positive")
    return np.sqrt(2.0) * u


def _select(r: np.ndarray, tau: np.ndarray, crit: float, max_iter: int = 50):
    """Minimise J(t, S) by alternation from every pair seed (vectorised over seeds).

    r: (n_samples, p) log-ratios; tau: (p,). Returns (S bool (p,), t (n_samples,), J).
    """
    _n, p = r.shape
    w = 1.0 / tau**2
    pairs = np.array(list(itertools.combinations(range(p), 2)))
    S = np.zeros((len(pairs), p), dtype=bool)
    S[np.arange(len(pairs)), pairs[:, 0]] = True
    S[np.arange(len(pairs)), pairs[:, 1]] = True
    for _ in range(max_iter):
        Sw = S * w
        t = (Sw @ r.T) / np.maximum(Sw.sum(axis=1, keepdims=True), 1e-300)  # (seeds, n)
        d = r[None, :, :] - t[:, :, None]  # (seeds, n, p)
        u2 = _mahalanobis(d) * w  # (seeds, p)
        S_new = u2 < crit
        S_new[S_new.sum(axis=1) < 2] = S[S_new.sum(axis=1) < 2]  # keep a seed alive
        if np.array_equal(S_new, S):
            break
        S = S_new
    J = np.where(S, u2, crit).sum(axis=1)
    order = np.lexsort((-S.sum(axis=1), J))
    b = order[0]
    return S[b], t[b], float(J[b])


def _mahalanobis(d: np.ndarray) -> np.ndarray:
    r"""Σ_j d_j² − (Σ_j d_j)²/(n+1), times 1/τ² gives the χ²_n distance of an element's residual row.

    The protolith is analysed once, so its error is shared by all n log-ratios of an element: with
    equal altered/protolith variances τ²/2 the covariance is (τ²/2)(I + 11ᵀ), whose inverse is
    (2/τ²)(I − 11ᵀ/(n+1)) (Sherman–Morrison); the factor 2 is absorbed so that E[u²] = n.
    """
    n = d.shape[-2]
    return 2.0 * (np.sum(d**2, axis=-2) - np.sum(d, axis=-2) ** 2 / (n + 1))


def _pooled_tau(d: np.ndarray) -> float:
    """Pooled τ from the residuals d (n × k) of k elements about their own mean isocon."""
    n, k = d.shape
    return float(np.sqrt(max(np.sum(_mahalanobis(d)) / (n * (k - 1)), 1e-24)))


def _auto_tau(r: np.ndarray) -> float:
    """Initial log-ratio noise SD from the tightest triple of elements (pooled, dof-corrected)."""
    _n, p = r.shape
    best = np.inf
    for tri in itertools.combinations(range(p), 3):
        sub = r[:, tri]
        best = min(best, _pooled_tau(sub - sub.mean(axis=1, keepdims=True)))
    return float(max(best, 1e-12))


# --------------------------------------------------------------------------- estimators
def _result(O, A, r, t, S, tau, boot, hyper, metadata, cols):
    """Assemble the :class:`IsoconResult` from the fitted log-ratio model."""
    units = _units_from_names(cols)
    conc_units = (
        next(iter(set(units.values())))
        if units and len(set(units.values())) == 1
        else "input unit of each element (hyperparameters['units'])"
    )
    samples = list(A.index)
    rel = np.expm1(r - t[:, None])
    rel[:, S] = 0.0
    coords = {"sample": samples, "element": cols}
    dims2 = ("sample", "element")
    est = {
        "mass_ratio": xr.DataArray(np.exp(-t), dims="sample", coords={"sample": samples}),
        "isocon_slope": xr.DataArray(np.exp(t), dims="sample", coords={"sample": samples}),
        "relative_change": xr.DataArray(rel, dims=dims2, coords=coords),
        "delta": xr.DataArray(
            rel * O.to_numpy()[None, :],
            dims=dims2,
            coords=coords,
            attrs={"units": f"{conc_units}, per unit protolith mass"},
        ),
        "immobile": xr.DataArray(S, dims="element", coords={"element": cols}),
        "protolith": xr.DataArray(O.to_numpy(), dims="element", coords={"element": cols}),
        "altered": xr.DataArray(A.to_numpy(), dims=dims2, coords=coords),
    }
    diagnostics: dict[str, Any] = {"tau_log": [float(x) for x in tau]}
    if boot is not None:
        tb, relb, Sb = boot
        mr = np.exp(-tb)
        est["mass_ratio_lower"] = est["mass_ratio"].copy(data=np.quantile(mr, 0.025, axis=0))
        est["mass_ratio_upper"] = est["mass_ratio"].copy(data=np.quantile(mr, 0.975, axis=0))
        est["relative_change_lower"] = est["relative_change"].copy(
            data=np.quantile(relb, 0.025, axis=0)
        )
        est["relative_change_upper"] = est["relative_change"].copy(
            data=np.quantile(relb, 0.975, axis=0)
        )
        est["selection_frequency"] = est["immobile"].copy(data=Sb.mean(axis=0))
        diagnostics["n_bootstrap"] = len(tb)
    for k, v in est.items():
        # CF-style: "1" for dimensionless ratios, fractions and flags
        v.attrs.setdefault("units", conc_units if k in ("protolith", "altered") else "1")
    return IsoconResult(
        estimate=xr.Dataset(est),
        hyperparameters={
            **hyper,
            "immobile": [c for c, s in zip(cols, S, strict=True) if s],
            "units": units,
        },
        diagnostics=diagnostics,
        metadata=metadata,
    )


def classic_isocon(
    data: Any,
    protolith: str | pd.Series,
    immobile: Sequence[str],
    *,
    id_column: str | None = None,
    uncertainty: float | Mapping[str, float] | None = None,
    n_bootstrap: int = 200,
    random_state: RandomState = None,
) -> IsoconResult:
    r"""Classic isocon (Grant 1986) through a user-chosen immobile set.

    Parameters
    ----------
    data : pandas.DataFrame
        Samples × elements, positive concentrations (any units, one unit per column).
    protolith : str or pandas.Series
        Sample id of the protolith row (in the index or ``id_column``), or its composition.
    immobile : sequence of str
        Element or column names of the immobile set (``Ti`` resolves to ``TiO2``).
    id_column : str, optional
        Column holding the sample ids (default: the index).
    uncertainty : float, mapping of str to float, or None, default None
        Relative analytical uncertainty (1σ) per element or for all; ``None`` estimates it from the
        scatter of the immobile elements about the isocon.
    n_bootstrap : int, default 200
        Parametric bootstrap replicates for the 95 % intervals (0 = none).
    random_state : int, numpy Generator or None, default None
        Seed of the bootstrap.

    Returns
    -------
    IsoconResult
        Mass ratio :math:`M_A/M_O` per sample, relative changes and gains/losses per element.

    Notes
    -----
    With log-ratios :math:`r_{ij} = \log(C^A_{ij}/C^O_i)`, the isocon of sample *j* is
    :math:`t_j = \sum_{i\in S} r_{ij}/\tau_i^2 \big/ \sum_{i\in S} 1/\tau_i^2`, the weighted
    mean over the immobile set *S* (geometric-mean slope of the isocon; Grant 1986, Econ. Geol.
    81:1976; Gresens 1967, Chem. Geol. 2:47); :math:`M_A/M_O = e^{-t_j}` and the relative change of
    element *i* is :math:`e^{r_{ij} - t_j} - 1`.

    Examples
    --------
    >>> from petroinfer.geochem.synthetic import make_alteration
    >>> truth = make_alteration(4, random_state=1)
    >>> res = classic_isocon(truth.data, "P0", truth.immobile, id_column="sample_id",
    ...                      n_bootstrap=0)
    >>> bool((res.mass_table()["mass_ratio"] / truth.mass_ratio - 1).abs().max() < 0.05)
    True
    """
    O, A = _split(data, protolith, id_column)
    cols = list(A.columns)
    imm = resolve_elements(list(immobile), cols)
    if len(imm) < 1:
        raise ModelError("classic isocon needs at least one immobile element")
    S = np.isin(cols, imm)
    r = np.log(A.to_numpy()) - np.log(O.to_numpy())[None, :]
    tau = _tau(uncertainty, cols)
    if tau is None:
        if S.sum() >= 2:
            tau = np.full(len(cols), _pooled_tau(r[:, S] - r[:, S].mean(axis=1, keepdims=True)))
        else:
            tau = np.full(len(cols), 0.02 * np.sqrt(2))
            warnings.warn(
                "one immobile element and no uncertainty: assuming 2 % (1σ)",
                DataQualityWarning,
                stacklevel=2,
            )
    w = S / tau**2
    t = (r @ w) / w.sum()
    boot = _bootstrap(r, S, t, tau, n_bootstrap, random_state, lambda rs: (S, (rs @ w) / w.sum()))
    hyper = {"method": "classic", "uncertainty": uncertainty}
    meta = make_metadata(
        random_state=random_state,
        parameters=hyper,
        inputs=(A, O),
        method="classic isocon (Grant 1986)",
    )
    return _result(O, A, r, t, S, tau, boot, hyper, meta, cols)


def _bootstrap(r, S, t, tau, n_bootstrap, random_state, estimate):
    """Parametric bootstrap around the fitted isocon: ``n_bootstrap`` replicates simulated from the
    fit, each re-estimated by ``estimate(rs) -> (S, t)``; returns (t, relative change, S) stacked over
    replicates, or None without replicates."""
    if n_bootstrap <= 0:
        return None
    rng = as_generator(random_state)
    r_hat = r.copy()
    r_hat[:, S] = t[:, None]
    tb, relb, Sb = [], [], []
    for _ in range(int(n_bootstrap)):
        rs = _simulate(r_hat, tau, rng)
        Ss, ts = estimate(rs)
        rel = np.expm1(rs - ts[:, None])
        rel[:, Ss] = 0.0
        tb.append(ts)
        relb.append(rel)
        Sb.append(Ss)
    return np.array(tb), np.array(relb), np.array(Sb)


def _units_from_names(cols) -> dict[str, str]:
    """Units read from the column names, or {} when a name does not tell its unit."""
    try:
        return column_units(cols, "auto")
    except InputError:
        return {}


def _simulate(r_hat: np.ndarray, tau: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Parametric replicate: independent altered-sample noise plus protolith noise shared by samples."""
    half = tau / np.sqrt(2.0)
    return r_hat + rng.normal(size=r_hat.shape) * half - rng.normal(size=r_hat.shape[1]) * half


class SparseIsocon(InverseProblem):
    r"""Sparse isocon analysis: immobile elements and mass change selected from the data.

    Parameters
    ----------
    method : {"group", "median"}, default "group"
        ``"group"``: group-sparse selection shared by all altered samples (minimise
        :math:`J(t, S)` of the module docstring); ``"median"``: per-sample weighted median of the
        log-ratios (the convex :math:`\ell_1` solution; valid only when most elements are immobile —
        warns otherwise).
    uncertainty : float, mapping of str to float, or None, default None
        Relative analytical uncertainty (1σ) for all elements or per element; ``None`` estimates
        the log-ratio noise from the data.
    alpha : float, default 1e-4
        False-selection level of the χ² test that keeps an element in the immobile set
        (threshold :math:`c = \chi^2_{n,\,1-\alpha}`, *n* altered samples); in (0, 0.5).
    n_bootstrap : int, default 200
        Parametric bootstrap replicates (whole selection repeated) for the 95 % intervals; 0 = none.
    random_state : int, numpy Generator or None, default None
        Seed of the bootstrap.

    Notes
    -----
    Model, selection rule and noise estimate: module docstring (Gresens 1967; Grant 1986; Kuwatani
    et al. 2020, Chem. Geol. 532:119345, reconstruction [R]). The protolith error is shared by the
    *n* log-ratios of an element, so the residual row :math:`d` of element *i* is scored by the
    Mahalanobis distance :math:`u_i^2 = d^\top [\tfrac{\tau_i^2}{2}(I + \mathbf{1}\mathbf{1}^\top)]^{-1}
    d = \tfrac{2}{\tau_i^2}\,[\sum_j d_j^2 - (\sum_j d_j)^2/(n+1)]` (Sherman–Morrison), which is
    :math:`\chi^2_n` for an immobile element.

    Examples
    --------
    >>> from petroinfer.geochem.synthetic import make_alteration
    >>> truth = make_alteration(6, random_state=1)
    >>> iso = SparseIsocon(n_bootstrap=0)
    >>> iso
    SparseIsocon(n_bootstrap=0)
    >>> res = iso.fit(truth.data, "P0", id_column="sample_id")
    >>> sorted(res.immobile) == sorted(truth.immobile)
    True
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "method": [Options({"group", "median"})],
        "uncertainty": [Interval(float, 0, None, closed="neither"), Mapping, pd.Series, None],
        "alpha": [Interval(float, 0, 0.5, closed="neither")],
        "n_bootstrap": [Interval(int, 0, None)],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        *,
        method: Literal["group", "median"] = "group",
        uncertainty: float | Mapping[str, float] | None = None,
        alpha: float = 1e-4,
        n_bootstrap: int = 200,
        random_state: RandomState = None,
    ) -> None:
        self.method = method
        self.uncertainty = uncertainty
        self.alpha = alpha
        self.n_bootstrap = n_bootstrap
        self.random_state = random_state

    def _estimate(self, r, tau, crit):
        if self.method == "median":
            return self._median(r, tau)
        return _select(r, tau, crit)[:2]

    def _median(self, r, tau):
        n, _p = r.shape
        t = np.empty(n)
        w = 1.0 / tau
        for j in range(n):
            o = np.argsort(r[j])
            cw = np.cumsum(w[o])
            t[j] = r[j, o[np.searchsorted(cw, 0.5 * cw[-1])]]
        close = np.abs(r - t[:, None]) < 3 * tau[None, :]
        S = close.all(axis=0)
        return S, t

    def fit(
        self, data: Any, protolith: str | pd.Series, *, id_column: str | None = None
    ) -> IsoconResult:
        """Select the immobile set, estimate mass ratios and element changes with 95 % intervals.

        Parameters
        ----------
        data : pandas.DataFrame
            Samples × elements, positive concentrations (any units, one unit per column); holds the
            protolith row unless ``protolith`` is a Series.
        protolith : str or pandas.Series
            Sample id of the protolith row (index or ``id_column``), or its composition.
        id_column : str, optional
            Column holding the sample ids (default: the index).

        Returns
        -------
        IsoconResult
            Mass ratios, element changes, the selected immobile set and, with ``n_bootstrap > 0``,
            95 % intervals and selection frequencies.

        Raises
        ------
        ModelError
            For an invalid parameter (checked once here).
        InputError
            For bad data (missing protolith, non-positive or non-numeric values, duplicated ids).
        """
        self._validate_params()
        O, A = _split(data, protolith, id_column)
        cols = list(A.columns)
        n, p = A.shape
        r = np.log(A.to_numpy()) - np.log(O.to_numpy())[None, :]
        crit = float(chi2.ppf(1 - self.alpha, df=n))
        tau = _tau(self.uncertainty, cols)
        auto = tau is None
        if auto:
            tau = np.full(p, _auto_tau(r))
        S, t = self._estimate(r, tau, crit)
        if auto:  # re-estimate the noise from the selected set until the set is stable
            for _ in range(5):
                k = int(S.sum())
                if k < 2:
                    break
                tau = np.full(p, _pooled_tau(r[:, S] - t[:, None]))
                S_new, t = self._estimate(r, tau, crit)
                if np.array_equal(S_new, S):
                    break
                S = S_new
        if self.method == "median" and S.sum() < p / 2:
            warnings.warn(
                f"only {int(S.sum())} of {p} elements lie on the median isocon: the median (ℓ1) "
                "estimator assumes most elements are immobile; use method='group'",
                DataQualityWarning,
                stacklevel=2,
            )
        if S.sum() < 2 and self.method == "group":
            warnings.warn(
                "fewer than two elements selected as immobile; the isocon is weakly determined",
                DataQualityWarning,
                stacklevel=2,
            )
        refit = functools.partial(self._estimate, tau=tau, crit=crit)
        boot = _bootstrap(r, S, t, tau, self.n_bootstrap, self.random_state, refit)
        hyper = {
            "method": self.method,
            "alpha": self.alpha,
            "chi2_threshold": crit,
            "uncertainty": "estimated" if auto else self.uncertainty,
        }
        meta = self._metadata(
            method="sparse isocon (Kuwatani et al. 2020 [R])",
            inputs=(A, O),
            chi2_threshold=crit,
        )
        return _result(O, A, r, t, S, tau, boot, hyper, meta, cols)
