"""Feature vocabulary, unit checks and preprocessing transformers for tectonic discrimination.

Everything here is fitted on the training data passed to ``fit`` only, so that inside a cross-validation
loop no information from the held-out fold reaches the preprocessing (the leakage test in
``tests/geochem/test_discrimination.py`` checks it).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats
from scipy.special import logsumexp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.covariance import ledoit_wolf

from petroinfer.composition import (
    is_isotope_ratio,
    misspelled_columns,
    misspelled_message,
    name_category,
    numeric_column,
    parse_column,
)
from petroinfer.errors import DataQualityWarning, InputError, ModelError

__all__ = [
    "ISOTOPE_RATIOS",
    "MAJOR_OXIDES",
    "SETTINGS",
    "TRACE_ELEMENTS",
    "UEKI_FEATURES",
    "UEKI_ISOTOPE_RATIOS",
    "UEKI_MAJOR_OXIDES",
    "UEKI_TRACE_ELEMENTS",
    "ClassGaussianImputer",
    "GeochemPreprocessor",
    "check_discrimination_table",
    "feature_kind",
]

# The feature lists below are the columns of one dataset (Ueki et al. 2018), not a vocabulary: the
# chemistry vocabulary (which names are oxides, elements, isotope ratios) is the composition
# layer's (:mod:`petroinfer.composition`), used by :func:`feature_kind`.

#: The 8 major oxides of the Ueki et al. (2018) table (wt%, volatile-free, Fe as Fe2O3T).
UEKI_MAJOR_OXIDES: tuple[str, ...] = (
    "SiO2", "TiO2", "Al2O3", "Fe2O3", "MgO", "CaO", "Na2O", "K2O",
)  # fmt: skip
#: The 5 isotope ratios of the Ueki et al. (2018) table (not parts of the composition).
UEKI_ISOTOPE_RATIOS: tuple[str, ...] = (
    "Sr87Sr86", "Nd143Nd144", "Pb206Pb204", "Pb207Pb204", "Pb208Pb204",
)  # fmt: skip
#: The 16 trace elements of the Ueki et al. (2018) table (ppm).
UEKI_TRACE_ELEMENTS: tuple[str, ...] = (
    "La", "Ce", "Nd", "Sm", "Gd", "Yb", "Lu", "Ba", "Hf", "Nb", "Rb", "Sr", "Ta", "Th", "Y", "Zr",
)  # fmt: skip
#: The 29 features in the column order of the published table.
UEKI_FEATURES: tuple[str, ...] = UEKI_MAJOR_OXIDES + UEKI_ISOTOPE_RATIOS + UEKI_TRACE_ELEMENTS
# Deprecated aliases (one release): these names mean the whole vocabulary in
# :mod:`petroinfer.composition`; here they were the Ueki feature subsets.
MAJOR_OXIDES = UEKI_MAJOR_OXIDES
ISOTOPE_RATIOS = UEKI_ISOTOPE_RATIOS
TRACE_ELEMENTS = UEKI_TRACE_ELEMENTS
#: The 8 tectonic settings and their names.
SETTINGS: dict[str, str] = {
    "BAB": "back-arc basin",
    "CA": "continental arc",
    "CFB": "continental flood basalt",
    "IA": "island arc",
    "IOA": "intra-oceanic arc",
    "MOR": "mid-ocean ridge",
    "OI": "ocean island",
    "OP": "oceanic plateau",
}

#: Plausible ranges of natural basalt isotope ratios (outside: wrong unit, e.g. epsilon-Nd or delta).
_ISOTOPE_RANGES = {
    "Sr87Sr86": (0.69, 0.80),
    "Nd143Nd144": (0.5100, 0.5140),
    "Pb206Pb204": (14.0, 24.0),
    "Pb207Pb204": (14.0, 17.0),
    "Pb208Pb204": (33.0, 45.0),
}


def feature_kind(name: str) -> Literal["major", "trace", "isotope"] | None:
    """Classify a column name: major oxide (wt%), trace element (ppm), isotope ratio, or ``None``.

    Uses the composition vocabulary: oxides and oxygen-bearing volatiles (``H2O``, ``CO2``,
    ``LOI``) are majors; element symbols written exactly (``Rb``, ``La``, also ``F``/``Cl``/``S``)
    are traces; isotope ratios are recognised by :func:`petroinfer.composition.is_isotope_ratio`.
    """
    name = str(name)
    if is_isotope_ratio(name):
        return "isotope"
    parsed = parse_column(name)
    if parsed.name is None or parsed.prefix is not None:
        return None
    cat = name_category(name)
    if cat == "oxide" or (cat == "volatile" and ("O" in parsed.name or parsed.name == "LOI")):
        return "major"
    if cat in {"element", "ree", "volatile"} and name.strip() == parsed.name:
        return "trace"
    return None


def check_discrimination_table(
    X: pd.DataFrame,
    features: list[str],
    *,
    ignore: Iterable[str] = (),
    misspelled: Literal["raise", "ignore"] = "raise",
) -> pd.DataFrame:
    """Validate and return the feature block as float (a copy; the input is not modified).

    Parameters
    ----------
    X : DataFrame
        The table (sample ids as index); columns other than ``features`` are not used.
    features : list of str
        Feature columns; absent ones become NaN (imputed or handled natively downstream).
    ignore : iterable of str
        Columns declared as metadata: never reported as misspelled.
    misspelled : {"raise", "ignore"}
        ``"raise"`` (default): a column that looks like a misspelled chemistry name (``Zrr``,
        ``Mg0``; :func:`petroinfer.composition.suspect_misspelling`) is refused with the
        suggestion — otherwise the feature it was meant to be would silently be imputed.

    Returns
    -------
    DataFrame
        Float features, NaN where missing.

    Raises
    ------
    InputError
        Naming the column, row and value of the first offence:

        * duplicated sample ids (both rows named);
        * a misspelled chemistry column name (see ``misspelled``);
        * non-numeric cells;
        * zero or negative abundances or ratios (a log is taken);
        * infinite or absurd values (above 1e9: no measurement in any unit);
        * a major oxide above 100 (majors given in ppm instead of wt%);
        * isotope ratios outside natural ranges (e.g. epsilon-Nd given for 143Nd/144Nd);
        * trace elements whose median is below 0.05 while majors are present (traces in wt%
          instead of ppm).

    Missing cells (NaN) are allowed: they are imputed or handled natively downstream and reported.
    """
    if not isinstance(X, pd.DataFrame):
        raise InputError(
            "expected a pandas DataFrame with named feature columns", value=type(X).__name__
        )
    if misspelled not in ("raise", "ignore"):
        raise ModelError(f"misspelled must be 'raise' or 'ignore', got {misspelled!r}")
    if X.index.duplicated().any():
        sid = X.index[X.index.duplicated()][0]
        rows = [i + 1 for i, v in enumerate(X.index) if v == sid]
        raise InputError(
            f"duplicated sample id {sid!r} (data rows {' and '.join(map(str, rows[:2]))}); "
            "ids must be unique",
            column=X.index.name,
            row=sid,
        )
    if misspelled == "raise":
        extra = [c for c in X.columns if c not in features]
        bad = misspelled_columns(extra, ignore=ignore)
        if bad:
            raise InputError(misspelled_message(bad), column=next(iter(bad)))
    out = {}
    for col in features:
        if col not in X.columns:
            out[col] = np.full(len(X), np.nan)
            continue
        s = X[col]
        if pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype):
            out[col] = s.to_numpy(dtype=float, na_value=np.nan)
            continue
        blank = s.notna() & (s.astype(str).str.strip() == "")  # blank text is a missing cell
        num = numeric_column(s.mask(blank).rename(col), "non-numeric value in a feature column")
        out[col] = num.to_numpy(dtype=float, na_value=np.nan)
    F = pd.DataFrame(out, index=X.index)
    arr = F.to_numpy()
    nonpos = np.isfinite(arr) & (arr <= 0)
    if nonpos.any():
        i, j = np.argwhere(nonpos)[0]
        raise InputError(
            "zero or negative value where a logarithm is taken (use NaN for missing)",
            column=features[j],
            row=F.index[i],
            value=float(arr[i, j]),
        )
    absurd = np.isinf(arr) | (np.abs(np.nan_to_num(arr)) > 1e9)
    if absurd.any():
        i, j = np.argwhere(absurd)[0]
        raise InputError(
            "infinite or absurd value (above 1e9: no measurement in any unit)",
            column=features[j],
            row=F.index[i],
            value=float(arr[i, j]),
        )
    for j, col in enumerate(features):
        kind = feature_kind(col)
        v = arr[:, j]
        if kind == "major" and np.nanmax(v, initial=0) > 100:
            i = int(np.nanargmax(v))
            raise InputError(
                "major oxide above 100: majors must be in wt% (they look like ppm)",
                column=col,
                row=F.index[i],
                value=float(v[i]),
            )
        if kind == "isotope" and col in _ISOTOPE_RANGES:
            lo, hi = _ISOTOPE_RANGES[col]
            out_rng = np.isfinite(v) & ((v < lo) | (v > hi))
            if out_rng.any():
                i = int(np.argmax(out_rng))
                raise InputError(
                    f"isotope ratio outside the natural range {lo}–{hi} (give the ratio itself, "
                    "not epsilon or delta units)",
                    column=col,
                    row=F.index[i],
                    value=float(v[i]),
                )
    traces = [j for j, c in enumerate(features) if feature_kind(c) == "trace"]
    majors = [j for j, c in enumerate(features) if feature_kind(c) == "major"]
    if traces and majors:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            med = np.nanmedian(arr[:, traces], axis=0)
        for j, m in zip(traces, med, strict=True):
            if np.isfinite(m) and m < 0.05 and features[j] not in ("Lu", "Ta", "Tb", "Tm", "Ho"):
                raise InputError(
                    "trace element median below 0.05: traces must be in ppm (they look like wt%)",
                    column=features[j],
                    value=float(m),
                )
    return F


def _nan_mean_std(Z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        mu = np.nanmean(Z, axis=0)
        sd = np.nanstd(Z, axis=0)
    mu = np.where(np.isfinite(mu), mu, 0.0)
    sd = np.where(np.isfinite(sd) & (sd > 0), sd, 1.0)
    return mu, sd


class ClassGaussianImputer(TransformerMixin, BaseEstimator):
    """Gaussian-mixture (one component per class) imputation and domain distance.

    Fitted on standardised features with labels: per class a mean :math:`\\mu_c` and a Ledoit–Wolf
    shrunk covariance :math:`\\Sigma_c` (Ledoit & Wolf 2004, J. Multivar. Anal. 88:365), prior
    :math:`\\pi_c` = class frequency. For a row with observed part *o* and missing part *m*:

    .. math::

        r_c \\propto \\pi_c\\, \\mathcal N(z_o; \\mu_{c,o}, \\Sigma_{c,oo}),\\qquad
        \\hat z_m = \\sum_c r_c \\big[\\mu_{c,m} + \\Sigma_{c,mo} \\Sigma_{c,oo}^{-1}(z_o - \\mu_{c,o})\\big],

    the conditional expectation of the missing features under the mixture (e.g. Ghahramani & Jordan
    1994). Labels are used only at fit time; at transform time the responsibilities come from the
    observed features. Without labels a single Gaussian is fitted. Training rows with NaN are kept:
    means and covariances are then estimated from pairwise-complete data and shrunk towards the diagonal.

    :meth:`domain_distance` returns the smallest class-conditional squared Mahalanobis distance on the
    observed features and its :math:`\\chi^2_{|o|}` upper-tail probability (the applicability check).
    """

    def __init__(self, shrinkage: float | None = None) -> None:
        self.shrinkage = shrinkage

    def fit(self, X: Any, y: Any = None) -> ClassGaussianImputer:
        Z = np.asarray(X, float)
        labels = np.zeros(len(Z), int) if y is None else np.asarray(y)
        self.classes_, idx = np.unique(labels, return_inverse=True)
        p = Z.shape[1]
        self.means_ = np.empty((len(self.classes_), p))
        self.covariances_ = np.empty((len(self.classes_), p, p))
        self.log_priors_ = np.log(np.bincount(idx) / len(idx))
        for c in range(len(self.classes_)):
            Zc = Z[idx == c]
            mu, sd = _nan_mean_std(Zc)
            self.means_[c] = mu
            if np.isfinite(Zc).all() and len(Zc) > 1:
                S, _ = ledoit_wolf(Zc)
                if self.shrinkage is not None:
                    S0 = np.cov(Zc, rowvar=False)
                    mu_t = np.trace(S0) / p
                    S = (1 - self.shrinkage) * S0 + self.shrinkage * mu_t * np.eye(p)
            else:
                S0 = pd.DataFrame(Zc).cov(min_periods=2).to_numpy()
                S0 = np.where(np.isfinite(S0), S0, 0.0)
                np.fill_diagonal(S0, np.where(np.diag(S0) > 0, np.diag(S0), sd**2))
                lam = 0.2 if self.shrinkage is None else self.shrinkage
                S = (1 - lam) * S0 + lam * np.diag(np.diag(S0))
                evals, evecs = np.linalg.eigh(S)
                S = (evecs * np.maximum(evals, 1e-6 * evals.max())) @ evecs.T
            S = S + 1e-9 * np.eye(p)
            self.covariances_[c] = S
        # calibration of the domain distance on the training rows
        _, pval = self.domain_distance(Z)
        self.train_pvalues_ = pval
        return self

    def _per_pattern(self, Z: np.ndarray):
        miss = ~np.isfinite(Z)
        patterns, inv = np.unique(miss, axis=0, return_inverse=True)
        return patterns, inv.ravel()

    def _class_terms(self, z_o: np.ndarray, o: np.ndarray, c: int):
        mu_o = self.means_[c, o]
        S_oo = self.covariances_[c][np.ix_(o, o)]
        L = np.linalg.cholesky(S_oo)
        diff = z_o - mu_o
        sol = np.linalg.solve(L, diff.T)  # (|o|, n)
        d2 = (sol**2).sum(axis=0)
        logdet = 2.0 * np.log(np.diag(L)).sum()
        return L, diff, d2, logdet

    def transform(self, X: Any) -> np.ndarray:
        """Fill NaN with the mixture conditional expectation (complete rows are returned unchanged)."""
        Z = np.array(X, dtype=float, copy=True)
        if np.isfinite(Z).all():
            return Z
        patterns, inv = self._per_pattern(Z)
        K = len(self.classes_)
        for k, miss in enumerate(patterns):
            if not miss.any():
                continue
            rows = np.nonzero(inv == k)[0]
            o, m = np.nonzero(~miss)[0], np.nonzero(miss)[0]
            if len(o) == 0:
                Z[np.ix_(rows, m)] = np.exp(self.log_priors_) @ self.means_[:, m]
                continue
            logr = np.empty((K, len(rows)))
            cond = np.empty((K, len(rows), len(m)))
            for c in range(K):
                L, diff, d2, logdet = self._class_terms(Z[np.ix_(rows, o)], o, c)
                logr[c] = self.log_priors_[c] - 0.5 * (d2 + logdet)
                S_mo = self.covariances_[c][np.ix_(m, o)]
                beta = np.linalg.solve(L.T, np.linalg.solve(L, diff.T))  # Σ_oo^{-1} diff
                cond[c] = self.means_[c, m] + (S_mo @ beta).T
            r = np.exp(logr - logsumexp(logr, axis=0))
            Z[np.ix_(rows, m)] = np.einsum("kn,knm->nm", r, cond)
        return Z

    def domain_distance(self, X: Any) -> tuple[np.ndarray, np.ndarray]:
        """Smallest class-conditional squared Mahalanobis distance on the observed features, and its
        upper-tail :math:`\\chi^2` probability with as many degrees of freedom as observed features."""
        Z = np.asarray(X, float)
        patterns, inv = self._per_pattern(Z)
        d2min = np.full(len(Z), np.nan)
        pval = np.full(len(Z), np.nan)
        for k, miss in enumerate(patterns):
            rows = np.nonzero(inv == k)[0]
            o = np.nonzero(~miss)[0]
            if len(o) == 0:
                continue
            d2 = np.stack(
                [self._class_terms(Z[np.ix_(rows, o)], o, c)[2] for c in range(len(self.classes_))]
            )
            d2min[rows] = d2.min(axis=0)
            pval[rows] = stats.chi2.sf(d2min[rows], df=len(o))
        return d2min, pval


class GeochemPreprocessor(TransformerMixin, BaseEstimator):
    """Abundances → log or CLR (or Box–Cox), isotope ratios → log, then z-score; optional imputation
    and Ueki-2022 pairwise feature expansion. Everything is learned from the ``fit`` data only.

    Parameters
    ----------
    features : list of str
        Feature columns (from :data:`UEKI_FEATURES` or any major oxide / element symbol / isotope ratio).
        Majors are read as wt% and converted to ppm (×10⁴) so that majors and traces share one unit.
    abundance : {"log", "clr", "boxcox"}, default "log"
        ``"log"``: :math:`\\log x_j`; ``"clr"``: centred log-ratio over the abundance block,
        :math:`\\log x_j - \\frac1D \\sum_k \\log x_k` (Aitchison 1986); for rows with missing parts the
        geometric-mean term is estimated as :math:`\\hat g_i = \\overline{(\\log x_{ij} - c_j)}_{j\\in o}`
        with :math:`c_j` the training mean clr of part *j* (exact for complete rows);
        ``"boxcox"``: :math:`(x^\\lambda-1)/\\lambda` with :math:`\\lambda_j` by maximum likelihood per
        column on the training data (Box & Cox 1964; λ = 0 is the log).
    isotopes : {"log", "identity"}, default "log"
        Isotope ratios are never part of the composition (no closure, no log-ratio with abundances).
    impute : bool, default True
        Fill missing features with :class:`ClassGaussianImputer` (fitted with the labels given to
        ``fit``); with ``False`` NaN pass through (for models with native NaN support).
    expand : {None, "ueki"}, default None
        Append the pairwise products and ratios of the abundance features, as logarithms
        (:math:`\\log x_i + \\log x_j`, :math:`\\log x_i - \\log x_j`), then z-score them. Ueki, Hino &
        Kuwatani (2022, Front. Earth Sci. 10:994580) used 276 products and 552 ordered ratios of the 24
        elements (857 variables with the 29 raw ones); with ``ordered_ratios=False`` (default) the 276
        reversed ratios, which are exact negatives in log space, are left out.
    ordered_ratios : bool, default False
        With ``expand="ueki"``: include both ratios of every pair (:math:`\\log x_i - \\log x_j` and
        :math:`\\log x_j - \\log x_i`, the 552 ordered ratios of Ueki et al. 2022) instead of one per
        pair. The extra columns are exact negatives of the others (they add no new direction to the
        feature space); the option exists to reproduce the published feature set.
    """

    def __init__(
        self,
        features: list[str] | tuple[str, ...] = UEKI_FEATURES,
        abundance: Literal["log", "clr", "boxcox"] = "log",
        isotopes: Literal["log", "identity"] = "log",
        impute: bool = True,
        expand: Literal["ueki"] | None = None,
        ordered_ratios: bool = False,
    ) -> None:
        self.features = features
        self.abundance = abundance
        self.isotopes = isotopes
        self.impute = impute
        self.expand = expand
        self.ordered_ratios = ordered_ratios

    # -- helpers ---------------------------------------------------------------------------------
    def _blocks(self) -> None:
        feats = list(self.features)
        kinds = [feature_kind(f) for f in feats]
        unknown = [f for f, k in zip(feats, kinds, strict=True) if k is None]
        if unknown:
            raise InputError(
                "feature names must be major oxides, element symbols or isotope ratios",
                column=unknown[0],
            )
        self.abundance_idx_ = np.array(
            [i for i, k in enumerate(kinds) if k in ("major", "trace")], dtype=int
        )
        self.isotope_idx_ = np.array([i for i, k in enumerate(kinds) if k == "isotope"], dtype=int)
        self.major_mask_ = np.array([kinds[i] == "major" for i in self.abundance_idx_], dtype=bool)

    def _as_array(self, X: Any) -> np.ndarray:
        if isinstance(X, pd.DataFrame):
            X = check_discrimination_table(X, list(self.features))
        A = np.asarray(X, float)
        if A.ndim != 2 or A.shape[1] != len(self.features):
            raise InputError(
                f"expected {len(self.features)} feature columns",
                value=A.shape[1] if A.ndim == 2 else A.shape,
            )
        return A

    def _base(self, A: np.ndarray, fitting: bool) -> tuple[np.ndarray, np.ndarray]:
        """Transformed (unscaled) base block and the log-abundances (for the expansion)."""
        ab = A[:, self.abundance_idx_] * np.where(self.major_mask_, 1e4, 1.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            logab = np.log(ab)
        if self.abundance == "log":
            T = logab
        elif self.abundance == "clr":
            if fitting:
                comp = np.isfinite(logab).all(axis=1)
                ref = logab[comp] if comp.any() else logab
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)
                    c = np.nanmean(ref - np.nanmean(ref, axis=1, keepdims=True), axis=0)
                self.clr_offsets_ = np.where(np.isfinite(c), c - np.nanmean(c), 0.0)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                g = np.nanmean(logab - self.clr_offsets_, axis=1, keepdims=True)
            T = logab - g
        elif self.abundance == "boxcox":
            if fitting:
                lam = []
                for j in range(ab.shape[1]):
                    v = ab[:, j][np.isfinite(ab[:, j])]
                    lam.append(
                        stats.boxcox_normmax(v / np.median(v), method="mle") if len(v) > 2 else 0.0
                    )
                self.boxcox_lambdas_ = np.array(lam)
                self.boxcox_scale_ = np.array([np.nanmedian(ab[:, j]) for j in range(ab.shape[1])])
            lam = self.boxcox_lambdas_
            x = ab / self.boxcox_scale_
            with np.errstate(divide="ignore", invalid="ignore"):
                T = np.where(
                    np.abs(lam) < 1e-8,
                    np.log(x),
                    (x**lam - 1.0) / np.where(np.abs(lam) < 1e-8, 1.0, lam),
                )
        else:
            raise ModelError(f"abundance must be 'log', 'clr' or 'boxcox', got {self.abundance!r}")
        iso = A[:, self.isotope_idx_]
        if self.isotopes == "log":
            iso = np.log(iso)
        elif self.isotopes != "identity":
            raise ModelError(f"isotopes must be 'log' or 'identity', got {self.isotopes!r}")
        return np.hstack([T, iso]), logab

    def _pairs(self) -> list[tuple[int, int, str]]:
        n = len(self.abundance_idx_)
        out = [(i, j, "*") for i in range(n) for j in range(i + 1, n)]
        if self.ordered_ratios:
            out += [(i, j, "/") for i in range(n) for j in range(n) if i != j]
        else:
            out += [(i, j, "/") for i in range(n) for j in range(i + 1, n)]
        return out

    def _expansion(self, logab: np.ndarray) -> np.ndarray:
        pairs = self._pairs()
        i = np.array([p[0] for p in pairs])
        j = np.array([p[1] for p in pairs])
        sign = np.array([1.0 if p[2] == "*" else -1.0 for p in pairs])
        return logab[:, i] + sign * logab[:, j]

    # -- API -------------------------------------------------------------------------------------
    def fit(self, X: Any, y: Any = None) -> GeochemPreprocessor:
        """Learn transform parameters (λ, CLR offsets, means, SDs, imputer) from the training rows."""
        if self.expand not in (None, "ueki"):
            raise ModelError(f"expand must be None or 'ueki', got {self.expand!r}")
        self._blocks()
        A = self._as_array(X)
        B, logab = self._base(A, fitting=True)
        self.mean_, self.scale_ = _nan_mean_std(B)
        Z = (B - self.mean_) / self.scale_
        self.domain_model_ = ClassGaussianImputer().fit(Z, y)
        if self.expand:
            Zi = self.domain_model_.transform(Z) if self.impute else Z
            E = self._expansion(self._log_abundances(Zi, logab))
            self.expand_mean_, self.expand_scale_ = _nan_mean_std(E)
        self.n_features_in_ = len(self.features)
        return self

    def _log_abundances(self, Z: np.ndarray, logab: np.ndarray) -> np.ndarray:
        """Log-abundances with imputed values back-transformed from the z-space (log/clr only)."""
        if self.abundance == "boxcox" or not self.impute:
            return logab
        nab = len(self.abundance_idx_)
        back = Z[:, :nab] * self.scale_[:nab] + self.mean_[:nab]
        if self.abundance == "clr":
            return np.where(
                np.isfinite(logab), logab, back + np.nanmean(logab - back, axis=1, keepdims=True)
            )
        return np.where(np.isfinite(logab), logab, back)

    def transform(self, X: Any) -> np.ndarray:
        """Preprocessed feature matrix (n, n_features_out)."""
        A = self._as_array(X)
        B, logab = self._base(A, fitting=False)
        Z = (B - self.mean_) / self.scale_
        if self.impute:
            Z = self.domain_model_.transform(Z)
        if self.expand:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                E = self._expansion(self._log_abundances(Z, logab)) - self.expand_mean_
            Z = np.hstack([Z, E / self.expand_scale_])
        return Z

    def base_scaled(self, X: Any) -> np.ndarray:
        """The standardised base features (no imputation, no expansion), NaN where missing."""
        A = self._as_array(X)
        B, _ = self._base(A, fitting=False)
        return (B - self.mean_) / self.scale_

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        feats = list(self.features)
        names = [feats[i] for i in self.abundance_idx_] + [feats[i] for i in self.isotope_idx_]
        if self.expand:
            ab = [feats[i] for i in self.abundance_idx_]
            names += [f"{ab[i]}{op}{ab[j]}" for i, j, op in self._pairs()]
        return np.array(names, dtype=object)


def _warn_ignored(columns: list[str]) -> None:
    if columns:
        warnings.warn(f"columns not used as features: {columns}", DataQualityWarning, stacklevel=3)
