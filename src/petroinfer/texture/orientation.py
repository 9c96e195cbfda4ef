r"""Grain-orientation statistics: circular and axial models, maximum likelihood and a model table.

The question: which circular model describes a set of grain orientations (long axes of tourmaline,
feldspar laths ...) — uniform, von Mises, wrapped Cauchy, cardioid, Jones–Pewsey, the inverse Batschelet
family (skewness ν and peakedness λ on top of location and concentration; Jones & Pewsey 2012, used for
tourmaline preferred orientation by Matsumura, Kuwatani, Ando & Masuda 2018, JSG 114:288) or a
two-component von Mises mixture — chosen by AIC, AICc, BIC or a leave-one-out predictive score.

**Axial data** (``axial=True``; an orientation θ and θ + 180° are the same line): angles are doubled,
:math:`x = 2\theta \bmod 2\pi`, the circular model is fitted to x, and the axial density is
:math:`f_{ax}(\theta) = 2 f(2\theta)` on :math:`[0, \pi)`. Reported locations are halved (the mean
*axis*, in [0°, 180°)); concentrations and shape parameters stay on the doubled scale. Reported
log-likelihoods are those of the data on their own scale in radians, i.e. of :math:`f_{ax}`: they exceed
the doubled-angle log-likelihoods by :math:`n\log 2` for every model, so AIC differences are unchanged.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import xarray as xr

from petroinfer._base import Interval, InverseProblem, Options
from petroinfer._rng import RandomState, as_generator
from petroinfer.errors import InputError, ModelError
from petroinfer.inference.results import Result
from petroinfer.texture import _criteria as _ic
from petroinfer.texture._circular import TWO_PI, CircularDistribution, UniformCircular
from petroinfer.texture._fitting import (
    MODEL_NAMES,
    SPECS,
    RawFit,
    fit_spec,
    natural_estimates,
    uniform_raw,
)
from petroinfer.texture._gof import kuiper_test, watson_u2_test

__all__ = [
    "MODEL_NAMES",
    "CircularFit",
    "OrientationModels",
    "OrientationResult",
    "check_angles",
    "fit_circular",
]

_UNITS = {"deg": 180.0 / np.pi, "rad": 1.0}
_LOCATIONS = ("xi", "xi1", "xi2")


def check_angles(
    angles: Any,
    *,
    unit: str = "deg",
    axial: bool = False,
    column: str | None = None,
    min_n: int = 5,
) -> np.ndarray:
    """Validate orientation data and return them in radians on the circle used for fitting.

    Parameters
    ----------
    angles : array_like or pandas.Series
        Measured angles. Accepted ranges: circular data within ±360° (±2π rad), axial data within
        ±180° (±π rad); the row label of a Series is used in error messages.
    unit : {"deg", "rad"}
        Unit of ``angles``.
    axial : bool
        Axial data (lines): the returned angles are doubled, ``2θ mod 2π``.
    column : str or None
        Column name for error messages.
    min_n : int
        Minimum number of angles.

    Returns
    -------
    numpy.ndarray
        Angles in radians in [0, 2π) (doubled if ``axial``), shape (n,).

    Raises
    ------
    InputError
        Non-numeric or missing values, values outside the unit's range, fewer than ``min_n`` angles.

    Examples
    --------
    >>> check_angles([10, 100, 170, 5, 90], axial=True).round(4).tolist()
    [0.3491, 3.4907, 5.9341, 0.1745, 3.1416]
    """
    if unit not in _UNITS:
        raise ModelError(f"unit must be one of {sorted(_UNITS)}; got {unit!r}")
    labels = list(angles.index) if isinstance(angles, pd.Series) else None
    raw = angles.to_numpy() if isinstance(angles, pd.Series) else np.asarray(angles, dtype=object)
    raw = np.atleast_1d(raw).ravel()
    values = pd.to_numeric(pd.Series(raw), errors="coerce").to_numpy(float)
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        i = int(bad[0])
        raise InputError(
            "angles must be finite numbers",
            column=column,
            row=labels[i] if labels else i,
            value=raw[i],
        )
    limit = (180.0 if axial else 360.0) * (1.0 if unit == "deg" else np.pi / 180.0)
    out = np.flatnonzero(np.abs(values) > limit * (1 + 1e-12))
    if out.size:
        i = int(out[0])
        kind = "axial" if axial else "circular"
        span = f"±{limit:g} {unit}" if unit == "deg" else f"±{limit / np.pi:g}π rad"
        raise InputError(
            f"{kind} angles in {unit} must lie within {span} (is the unit right?)",
            column=column,
            row=labels[i] if labels else i,
            value=values[i],
        )
    if values.size < min_n:
        raise InputError(
            f"need at least {min_n} angles to fit orientation models; got {values.size}"
        )
    rad = values / _UNITS[unit]
    return np.mod(2 * rad if axial else rad, TWO_PI)


@dataclass(frozen=True)
class CircularFit:
    """One fitted circular model.

    Parameters
    ----------
    model : str
        Model name (see ``MODEL_NAMES``).
    distribution : CircularDistribution
        The fitted distribution on the circle that was fitted (the doubled-angle circle for axial
        data).
    n : int
        Number of angles.
    axial : bool
        Whether the data are axial.
    log_likelihood : float
        Maximised log-likelihood of the data on their own scale, density per radian (axial: of
        :math:`f_{ax}(\\theta) = 2f(2\\theta)`).
    estimates, se : dict
        Natural-scale parameter estimates and standard errors (inverse observed information, delta
        method); locations in radians on the fitted circle.
    intervals : dict
        Wald intervals at ``level`` (log scale for concentrations).
    level : float
        Nominal coverage of ``intervals``.
    converged : bool
        Whether the optimiser reported convergence.
    at_bound : tuple of str
        Parameters at the edge of their range (their SE is NaN: the Hessian is taken over the others).
    tic_penalty : float
        :math:`\\mathrm{tr}(J H^{-1})`, the Takeuchi penalty (≈ k when the model is right).
    loo : float or None
        Leave-one-out predictive log density (``exact`` refits or the TIC approximation).
    n_params : int
        Number of fitted parameters (−1: those of ``distribution``).
    x : numpy.ndarray
        The fitted angles (radians, doubled for axial data).
    """

    model: str
    distribution: CircularDistribution
    n: int
    axial: bool
    log_likelihood: float
    estimates: dict[str, float]
    se: dict[str, float]
    intervals: dict[str, tuple[float, float]]
    level: float
    converged: bool
    at_bound: tuple[str, ...]
    tic_penalty: float
    loo: float | None = None
    n_params: int = -1
    x: np.ndarray = field(default_factory=lambda: np.empty(0), repr=False)

    @property
    def k(self) -> int:
        """Number of fitted parameters."""
        return self.n_params if self.n_params >= 0 else self.distribution.n_params

    @property
    def aic(self) -> float:
        """AIC = −2ℓ̂ + 2k."""
        return _ic.aic(self.log_likelihood, self.k)

    @property
    def aicc(self) -> float:
        """AICc = AIC + 2k(k + 1)/(n − k − 1) (Hurvich & Tsai 1989); inf when n ≤ k + 1."""
        return _ic.aicc(self.log_likelihood, self.k, self.n)

    @property
    def bic(self) -> float:
        """BIC = −2ℓ̂ + k log n."""
        return _ic.bic(self.log_likelihood, self.k, self.n)

    def location(self, name: str = "xi", unit: str = "deg") -> float:
        """A location parameter on the data's own scale (the mean axis for axial data).

        Parameters
        ----------
        name : str
            ``"xi"``, ``"xi1"`` or ``"xi2"``.
        unit : {"deg", "rad"}
            Output unit.

        Returns
        -------
        float
            In [0, 360°) for circular data, [0, 180°) for axial data (ξ/2).
        """
        v = self.estimates[name] % TWO_PI
        return float((v / 2 if self.axial else v) * _UNITS[unit])

    def pdf(self, theta: Any, unit: str = "rad") -> np.ndarray:
        """Fitted density on the data's own scale, per radian.

        Parameters
        ----------
        theta : array_like
            Angles in ``unit`` (axial: the axis angles).
        unit : {"deg", "rad"}
            Unit of ``theta``.

        Returns
        -------
        numpy.ndarray
            :math:`f(\\theta)`, or :math:`2f(2\\theta)` for axial data (per radian of θ).
        """
        t = np.asarray(theta, float) / _UNITS[unit]
        return 2 * self.distribution.pdf(2 * t) if self.axial else self.distribution.pdf(t)

    def goodness_of_fit(self) -> dict[str, float]:
        """Kuiper V and Watson U² of the probability-integral transform of the data.

        Returns
        -------
        dict
            ``kuiper_V``, ``kuiper_p``, ``watson_U2``, ``watson_p``. The p-values are the asymptotic
            ones for a fully specified distribution (Stephens 1970); with fitted parameters they are
            conservative (too large).
        """
        u = self.distribution.cdf(self.x)
        v, pv = kuiper_test(u)
        w, pw = watson_u2_test(u)
        return {"kuiper_V": v, "kuiper_p": pv, "watson_U2": w, "watson_p": pw}


def _from_raw(
    raw: RawFit, x: np.ndarray, axial: bool, level: float, loo: float | None = None
) -> CircularFit:
    est, se, ci = natural_estimates(raw, level)
    offset = x.size * math.log(2.0) if axial else 0.0
    return CircularFit(
        model=raw.spec.name,
        distribution=raw.spec.build(raw.v),
        n=int(x.size),
        axial=axial,
        log_likelihood=-raw.nll + offset,
        estimates=est,
        se=se,
        intervals=ci,
        level=level,
        converged=raw.converged,
        at_bound=tuple(n for n, b in zip(raw.spec.labels, raw.at_bound, strict=True) if b),
        tic_penalty=raw.tic_penalty,
        loo=loo,
        n_params=raw.spec.k,
        x=x,
    )


def _uniform_fit(x: np.ndarray, axial: bool, level: float) -> CircularFit:
    offset = x.size * math.log(2.0) if axial else 0.0
    ll = -uniform_raw(x) + offset
    return CircularFit(
        "uniform",
        UniformCircular(),
        int(x.size),
        axial,
        ll,
        {},
        {},
        {},
        level,
        True,
        (),
        0.0,
        ll,
        0,
        x,
    )


def _exact_loo(raw: RawFit, x: np.ndarray, axial: bool) -> float:
    total = 0.0
    keep = np.ones(x.size, bool)
    for i in range(x.size):
        keep[i] = False
        sub = fit_spec(raw.spec, x[keep], start=raw.v, covariance=False)
        keep[i] = True
        total += float(raw.spec.build(sub.v).logpdf(x[i : i + 1])[0])
    return total + (x.size * math.log(2.0) if axial else 0.0)


def _fit_one(name: str, x: np.ndarray, axial: bool, level: float, loo: str | None) -> CircularFit:
    if name == "uniform":
        return _uniform_fit(x, axial, level)
    raw = fit_spec(SPECS[name](), x)
    fit = _from_raw(raw, x, axial, level)
    if loo == "tic":
        val = fit.log_likelihood - raw.tic_penalty if np.isfinite(raw.tic_penalty) else math.nan
    elif loo == "exact":
        val = _exact_loo(raw, x, axial)
    else:
        return fit
    return _from_raw(raw, x, axial, level, loo=val)


def fit_circular(
    angles: Any,
    model: str = "inverse_batschelet",
    *,
    unit: str = "deg",
    axial: bool = False,
    level: float = 0.9,
    loo: str | None = "tic",
) -> CircularFit:
    r"""Maximum-likelihood fit of one circular model.

    Parameters
    ----------
    angles : array_like
        Angles in ``unit`` (see :func:`check_angles` for the accepted ranges).
    model : str
        One of ``MODEL_NAMES``: ``uniform``, ``von_mises``, ``wrapped_cauchy``, ``cardioid``,
        ``jones_pewsey``, ``inverse_batschelet_nu0`` (symmetric), ``inverse_batschelet_lam0``
        (ν only), ``inverse_batschelet``, ``von_mises_mixture``.
    unit : {"deg", "rad"}
        Unit of ``angles``.
    axial : bool
        Axial data: fit to doubled angles (module docstring).
    level : float
        Nominal coverage of the Wald intervals.
    loo : {"tic", "exact"} or None
        Leave-one-out predictive log density: the first-order approximation
        :math:`\hat\ell - \mathrm{tr}(JH^{-1})` (Stone 1977) or exact refits (n fits).

    Returns
    -------
    CircularFit
        The fitted model.

    Notes
    -----
    Locations are optimised as free real numbers (wrapped at the end), concentrations on a log scale,
    shapes in their box (ν, λ, ψ ∈ [−1, 1]; ρ ∈ [0, 0.999] wrapped Cauchy, [0, 0.5] cardioid; mixture
    weight in [0.05, 0.95] and κ ≤ 500). L-BFGS-B runs from the best few of a grid of starts (8
    locations × 2 concentrations × ν, λ ∈ {−0.6, 0, 0.6} for the inverse Batschelet family). Standard
    errors come from the inverse of a central-difference observed information.

    Examples
    --------
    >>> from petroinfer.texture import VonMises
    >>> x = np.degrees(VonMises(1.0, 4.0).rvs(300, random_state=0))
    >>> fit = fit_circular(x, "von_mises")
    >>> bool(abs(fit.estimates["kappa"] - 4.0) < 0.8)
    True
    """
    if model not in MODEL_NAMES:
        raise ModelError(f"unknown circular model {model!r}; choose one of {list(MODEL_NAMES)}")
    if loo not in (None, "tic", "exact"):
        raise ModelError(f"loo must be 'tic', 'exact' or None; got {loo!r}")
    x = check_angles(angles, unit=unit, axial=axial)
    return _fit_one(model, x, axial, level, loo)


@dataclass(frozen=True, repr=False)
class OrientationResult(Result):
    """Result of :class:`OrientationModels`: a model table, every fit and the chosen model.

    Parameters
    ----------
    estimate : xarray.Dataset
        ``value``, ``se``, ``lower``, ``upper`` with dims ``(model, parameter)`` (natural scale on
        the fitted circle; NaN where a model lacks the parameter), ``log_likelihood`` and ``k`` per
        model.
    posterior : xarray.Dataset or None
        Bootstrap draws of the best model's parameters, dims ``(chain, draw)`` (one chain).
    log_evidence : float or None
        Not defined here (``None``).
    log_evidence_se : float or None
        ``None``.
    diagnostics : Mapping
        ``converged`` and ``at_bound`` per model, ``n``.
    hyperparameters : Mapping
        ``model`` (the chosen one) and ``criterion``.
    criterion : xarray.Dataset
        ``aic``, ``aicc``, ``bic``, ``loo``, ``delta`` per model.
    metadata : Mapping
        Provenance (version, parameters, input hash).
    table : pandas.DataFrame
        One row per model (index ``model``): ``k``, ``log_likelihood``, ``aic``, ``aicc``, ``bic``,
        ``loo``, ``delta`` and ``weight`` of the selection criterion, ``converged``, ``at_bound``,
        goodness of fit, parameters (locations in the data unit on the data's own scale; the axis for
        axial data) and their standard errors (``*_se``).
    fits : dict
        Model name → :class:`CircularFit`.
    best : str
        The model with the smallest criterion.
    axial : bool
        Whether the data are axial.
    unit : str
        Unit of the input angles.
    """

    table: pd.DataFrame | None = None
    fits: Mapping[str, CircularFit] = field(default_factory=dict)
    best: str = ""
    axial: bool = False
    unit: str = "deg"

    def summary(self, hdi_prob: float = 0.9) -> pd.DataFrame:
        """The model table (see ``table``).

        Parameters
        ----------
        hdi_prob : float
            Unused (kept for the :class:`~petroinfer.inference.Result` signature).

        Returns
        -------
        pandas.DataFrame
            The model table.
        """
        return self.table

    def plot(self, ax=None, models: Sequence[str] | None = None, bins: int = 18):
        """Rose diagram of the data with fitted densities (see :func:`rose_diagram`).

        Parameters
        ----------
        ax : matplotlib.axes.Axes or None
            Polar axes to draw on (created when ``None``).
        models : sequence of str or None
            Models to draw (default: the best one and the von Mises fit).
        bins : int
            Number of histogram sectors on the data's own range.

        Returns
        -------
        matplotlib.axes.Axes
        """
        from petroinfer.texture._plot import rose_diagram

        names = (
            list(models) if models is not None else list(dict.fromkeys([self.best, "von_mises"]))
        )
        fits = [self.fits[m] for m in names if m in self.fits]
        first = next(iter(self.fits.values()))
        x = first.x / 2 if self.axial else first.x
        return rose_diagram(x, fits=fits, unit="rad", axial=self.axial, bins=bins, ax=ax)


class OrientationModels(InverseProblem):
    r"""Fit a set of circular/axial models to grain orientations and rank them.

    Parameters
    ----------
    models : sequence of str or None
        Models to fit (default all of ``MODEL_NAMES``).
    unit : {"deg", "rad"}
        Unit of the input angles.
    axial : bool
        Axial data (grain long axes): doubled-angle fitting, see the module docstring.
    criterion : {"aicc", "aic", "bic", "loo"}
        Criterion that picks ``best`` (smaller is better; ``loo`` is used as −2·LOO).
    loo : {"tic", "exact"} or None
        How the leave-one-out column is computed (see :func:`fit_circular`).
    level : float
        Nominal coverage of the Wald intervals.
    bootstrap : int
        Number of nonparametric bootstrap refits of the best model (0: none); the draws are the
        ``posterior`` of the result (one chain) and give percentile intervals.
    random_state : int, numpy.random.Generator or None
        Seed of the bootstrap.

    Notes
    -----
    AIC = −2ℓ̂ + 2k, AICc = AIC + 2k(k+1)/(n−k−1), BIC = −2ℓ̂ + k log n; Akaike weights
    :math:`w_m \propto \exp(-\Delta_m/2)`. The default AICc suits the small per-section n of thin
    sections (imaging_texture.md §D.4). For axial data all log-likelihoods are on the axial scale
    (:math:`f_{ax} = 2f(2\theta)`, per radian); subtract :math:`n\log 2` for the doubled-angle
    convention. Comparisons involving the mixture are irregular (a component can vanish), so its AIC
    is indicative only.

    Examples
    --------
    >>> from petroinfer.texture import VonMises
    >>> x = np.degrees(VonMises(1.0, 3.0).rvs(200, random_state=1))
    >>> res = OrientationModels(models=["uniform", "von_mises", "wrapped_cauchy"]).fit(x)
    >>> res.best
    'von_mises'
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "models": [list, tuple, None],
        "unit": [Options({"deg", "rad"})],
        "axial": [bool],
        "criterion": [Options({"aic", "aicc", "bic", "loo"})],
        "loo": [Options({"tic", "exact"}), None],
        "level": [Interval(float, 0, 1, closed="neither")],
        "bootstrap": [Interval(int, 0, None)],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        models: Sequence[str] | None = None,
        *,
        unit: str = "deg",
        axial: bool = False,
        criterion: str = "aicc",
        loo: str | None = "tic",
        level: float = 0.9,
        bootstrap: int = 0,
        random_state: RandomState = None,
    ) -> None:
        self.models = models
        self.unit = unit
        self.axial = axial
        self.criterion = criterion
        self.loo = loo
        self.level = level
        self.bootstrap = bootstrap
        self.random_state = random_state

    def _model_list(self) -> list[str]:
        names = list(MODEL_NAMES if self.models is None else self.models)
        unknown = [m for m in names if m not in MODEL_NAMES]
        if unknown or not names:
            raise ModelError(
                f"OrientationModels: parameter 'models' must list names from {list(MODEL_NAMES)}; "
                f"got {unknown or names}"
            )
        return names

    def fit(self, angles: Any, column: str | None = None) -> OrientationResult:
        """Fit every model, build the table and pick the best model.

        Parameters
        ----------
        angles : array_like or pandas.Series
            Orientation angles in ``unit``.
        column : str or None
            Column name, for error messages.

        Returns
        -------
        OrientationResult
            Table, fits, best model, bootstrap draws (if requested) and metadata.
        """
        self._validate_params()
        names = self._model_list()
        if self.criterion == "loo" and self.loo is None:
            raise ModelError("OrientationModels: criterion='loo' needs loo='tic' or 'exact'")
        x = check_angles(angles, unit=self.unit, axial=self.axial, column=column)
        fits = {m: _fit_one(m, x, self.axial, self.level, self.loo) for m in names}
        table = self._table(fits)
        best = str(table["delta"].idxmin())
        posterior = self._bootstrap(fits[best], x) if self.bootstrap else None
        return self._result(fits, table, best, posterior, x)

    def _score(self, fit: CircularFit) -> float:
        if self.criterion == "loo":
            return -2 * fit.loo if fit.loo is not None and np.isfinite(fit.loo) else math.inf
        return float(getattr(fit, self.criterion))

    def _table(self, fits: Mapping[str, CircularFit]) -> pd.DataFrame:
        rows = []
        u = _UNITS[self.unit]
        for name, f in fits.items():
            row: dict[str, Any] = {
                "model": name,
                "k": f.k,
                "log_likelihood": f.log_likelihood,
                "aic": f.aic,
                "aicc": f.aicc,
                "bic": f.bic,
                "loo": f.loo if f.loo is not None else math.nan,
                "score": self._score(f),
                "converged": f.converged,
                "at_bound": ",".join(f.at_bound),
            }
            row.update(f.goodness_of_fit())
            for p, v in f.estimates.items():
                if p in _LOCATIONS:
                    row[p] = f.location(p, self.unit)
                    row[f"{p}_se"] = f.se[p] * (0.5 if self.axial else 1.0) * u
                else:
                    row[p] = v
                    row[f"{p}_se"] = f.se[p]
            rows.append(row)
        table = pd.DataFrame(rows).set_index("model")
        delta = table.pop("score")
        delta = delta - delta.min()
        table.insert(6, "delta", delta)
        w = np.exp(-0.5 * delta.to_numpy(float))
        table.insert(7, "weight", w / w.sum())
        table.attrs["criterion"] = self.criterion
        table.attrs["log_likelihood_scale"] = (
            "axial density 2 f(2θ) per radian; subtract n log 2 for the doubled-angle convention"
            if self.axial
            else "circular density per radian"
        )
        return table

    def _bootstrap(self, fit: CircularFit, x: np.ndarray) -> xr.Dataset:
        rng = as_generator(self.random_state)
        if fit.model == "uniform":
            return None
        spec = SPECS[fit.model]()
        v0 = _start_vector(fit, spec)
        draws = []
        for _ in range(self.bootstrap):
            xb = x[rng.integers(0, x.size, x.size)]
            raw = fit_spec(spec, xb, start=v0, covariance=False)
            est, _, _ = natural_estimates(raw, self.level)
            draws.append(est)
        data = {}
        for p in spec.labels:
            vals = np.array([d[p] for d in draws])
            if p in _LOCATIONS:  # centre on the estimate so draws do not wrap across 0
                centre = fit.estimates[p]
                vals = centre + np.mod(vals - centre + np.pi, TWO_PI) - np.pi
            data[p] = xr.DataArray(vals[None, :], dims=("chain", "draw"))
        ds = xr.Dataset(data)
        for p in ds.data_vars:
            ds[p].attrs["units"] = "rad (fitted circle)" if p in _LOCATIONS else "1"
        return ds

    def _result(self, fits, table, best, posterior, x) -> OrientationResult:
        params = sorted({p for f in fits.values() for p in f.estimates})
        models = list(fits)
        value = np.full((len(models), len(params)), np.nan)
        se = value.copy()
        lo = value.copy()
        hi = value.copy()
        for i, m in enumerate(models):
            for j, p in enumerate(params):
                if p in fits[m].estimates:
                    value[i, j] = fits[m].estimates[p]
                    se[i, j] = fits[m].se[p]
                    lo[i, j], hi[i, j] = fits[m].intervals[p]
        coords = {"model": models, "parameter": params}
        dims = ("model", "parameter")
        est = xr.Dataset(
            {
                "value": (dims, value),
                "se": (dims, se),
                "lower": (dims, lo),
                "upper": (dims, hi),
                "log_likelihood": ("model", table["log_likelihood"].to_numpy(float)),
                "k": ("model", table["k"].to_numpy(int)),
            },
            coords=coords,
        )
        for v in ("value", "se", "lower", "upper"):
            est[v].attrs["units"] = "rad for xi*, 1 otherwise (fitted circle: doubled if axial)"
        est["log_likelihood"].attrs["units"] = "nats (density per radian of the data scale)"
        est.attrs["level"] = self.level
        crit = xr.Dataset(
            {
                c: ("model", table[c].to_numpy(float))
                for c in ("aic", "aicc", "bic", "loo", "delta")
            },
            coords={"model": models},
        )
        for v in crit.data_vars:
            crit[v].attrs["units"] = "nats" if v == "loo" else "1"
        diag = {
            "converged": {m: f.converged for m, f in fits.items()},
            "at_bound": {m: list(f.at_bound) for m, f in fits.items()},
            "n": int(x.size),
        }
        meta = self._metadata(method="texture.OrientationModels", inputs=(x,), n=int(x.size))
        return OrientationResult(
            estimate=est,
            posterior=posterior,
            diagnostics=diag,
            hyperparameters={"model": best, "criterion": self.criterion},
            criterion=crit,
            metadata=meta,
            table=table,
            fits=fits,
            best=best,
            axial=self.axial,
            unit=self.unit,
        )


def _start_vector(fit: CircularFit, spec) -> np.ndarray:
    return np.array(
        [
            math.log(max(fit.estimates[p], 1e-5)) if log else fit.estimates[p]
            for p, log in zip(spec.labels, spec.log_scale, strict=True)
        ]
    )
