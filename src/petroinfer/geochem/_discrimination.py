"""Tectonic-setting discrimination of basalts (Ueki, Hino & Kuwatani 2018, and beyond).

A :class:`TectonicDiscriminator` wraps preprocessing (:class:`GeochemPreprocessor`) and one of four
classifiers (RBF SVM, random forest, sparse multinomial regression, histogram gradient boosting) whose
hyperparameters are tuned by an inner cross-validation; :func:`evaluate_discrimination` runs the outer,
repeated stratified k-fold loop (nested CV) and returns a :class:`DiscriminationEvaluation`.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    confusion_matrix,
    log_loss,
    precision_score,
    recall_score,
)
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.svm import SVC

from petroinfer._rng import RandomState, seed_of
from petroinfer.errors import DataQualityWarning, InputError, ModelError
from petroinfer.geochem._discrimination_prep import (
    UEKI_FEATURES,
    GeochemPreprocessor,
    check_discrimination_table,
    feature_kind,
)
from petroinfer.geochem._smr import SparseMultinomialRegression

__all__ = [
    "MODELS",
    "DiscriminationEvaluation",
    "TectonicDiscriminator",
    "evaluate_discrimination",
]

MODELS: tuple[str, ...] = ("svm", "rf", "smr", "hgb")

#: Default tuning grids (small on purpose: 2 CPU cores). SVM ``gamma`` is given in units of
#: 1/n_features (the scikit-learn "scale" value for z-scored data); C spans the plateau found on the
#: Ueki data (accuracy flat within 1 % for C = 10–100, gamma·p = 0.5–2).
DEFAULT_GRIDS: dict[str, dict[str, list[Any]]] = {
    "svm": {"C": [10.0, 30.0, 100.0], "gamma": [0.5, 1.0, 2.0]},
    "rf": {"max_features": ["sqrt", 0.5]},
    "hgb": {"learning_rate": [0.1, 0.2]},
    "smr": {},
}


def _seed(random_state: RandomState, default: int = 0) -> int:
    s = seed_of(random_state)
    return default if s is None else s


def _clean_labels(y: Any, index: Any = None, classes: Any = None) -> np.ndarray:
    ys = pd.Series(np.asarray(y, dtype=object), index=index)
    blank = ys.isna() | (ys.astype(str).str.strip() == "")
    if blank.any():
        raise InputError(
            "missing label", column="label", row=ys.index[int(np.argmax(blank))], value=None
        )
    labels = ys.astype(str).str.strip().to_numpy()
    if classes is not None:
        allowed = {str(c) for c in classes}
        bad = ~np.isin(labels, list(allowed))
        if bad.any():
            i = int(np.argmax(bad))
            raise InputError(
                f"unknown label (expected one of {sorted(allowed)})",
                column="label",
                row=ys.index[i],
                value=labels[i],
            )
    return labels


def _check_class_counts(labels: np.ndarray, n_splits: int, what: str) -> None:
    cls, counts = np.unique(labels, return_counts=True)
    if len(cls) < 2:
        raise InputError("at least two classes are needed", value=list(cls))
    small = counts < n_splits
    if small.any():
        i = int(np.argmax(small))
        raise InputError(
            f"class {cls[i]!r} has {counts[i]} samples, fewer than the {n_splits} folds of the "
            f"{what}; remove the class or use fewer folds",
            column="label",
            value=str(cls[i]),
        )


def _resolve_features(X: pd.DataFrame, features: Any) -> tuple[list[str], list[str]]:
    if features is not None:
        feats = list(features)
        bad = [f for f in feats if feature_kind(f) is None]
        if bad:
            raise InputError(
                "unknown feature name (expected a major oxide, an element symbol or an "
                "isotope ratio such as Sr87Sr86)",
                column=bad[0],
            )
        return feats, [c for c in X.columns if c not in feats]
    present = [f for f in UEKI_FEATURES if f in X.columns]
    if not present:
        present = [c for c in X.columns if feature_kind(str(c)) is not None]
    if not present:
        raise InputError(
            "no feature columns found (expected e.g. SiO2, La, Sr87Sr86)",
            value=list(map(str, X.columns[:8])),
        )
    return present, [c for c in X.columns if c not in present]


class TectonicDiscriminator(ClassifierMixin, BaseEstimator):
    """Classify basalts into tectonic settings from major, trace and isotope features.

    Parameters
    ----------
    model : {"svm", "rf", "smr", "hgb"}, default "svm"
        RBF support-vector machine (Platt-scaled probabilities), random forest (300 trees), sparse
        multinomial regression (:class:`SparseMultinomialRegression`; penalty chosen on its path by
        the one-standard-error rule), or histogram gradient boosting (native NaN handling).
    features : list of str or None
        Feature columns; ``None`` uses the Ueki et al. (2018) 29 features present in ``X``.
    abundance : {"log", "clr", "boxcox"}, default "log"
        Transformation of the abundances (see :class:`GeochemPreprocessor`).
    isotopes : {"log", "identity"}, default "log"
        Transformation of the isotope ratios (see :class:`GeochemPreprocessor`).
    expand : {None, "ueki"}, default None
        Ueki et al. (2022) pairwise products and ratios of the abundances (see
        :class:`GeochemPreprocessor`).
    penalty : {"l1", "group"}, default "l1"
        SMR penalty.
    basis : {"linear", "hinge"}, default "hinge"
        SMR feature expansion (see :class:`SparseMultinomialRegression`): ``basis="hinge"`` makes
        SMR a sparse additive model (piecewise-linear in each feature, selected per feature).
        Only used with ``model="smr"``, like the three options below.
    interactions : bool, default True
        SMR: also add penalised pairwise products of the features (``basis="hinge"`` only).
    relaxed : bool, default True
        SMR: relaxed-lasso refit on the support selected along the path (see
        :class:`SparseMultinomialRegression`).
    heredity : bool, default True
        SMR: keep a product only where both its main effects are selected (applied only when
        ``relaxed`` and ``interactions`` are both true). Defaults (hinge + interactions + relaxed +
        heredity): 10-fold accuracy 0.928 on the Ueki data with 19.8 of 29 features per class,
        against 0.932 with 26.9 features for the plain lasso and 0.892 for the linear SMR.
    param_grid : dict or None
        Grid for the inner cross-validation (keys without the step prefix, e.g. ``{"C": [1, 10]}``);
        ``None`` uses :data:`DEFAULT_GRIDS`. SVM ``gamma`` values are multiplied by 1/n_features.
    inner_cv : int, default 3
        Folds of the inner (tuning) cross-validation.
    scoring : str, default "accuracy"
        scikit-learn scorer for tuning (``"balanced_accuracy"`` favours the small settings).
    class_weight : {"balanced"} or None, default None
        ``"balanced"`` weights the training samples inversely to the size of their class (passed to
        the classifier).
    classes : list of str or None
        Allowed labels; any other label is an :class:`InputError`. ``None`` accepts all.
    ood_alpha : float, default 0.01
        Fraction of training samples that the out-of-domain test would flag (the threshold on the
        Mahalanobis χ² probability is this quantile of the training probabilities).
    max_missing : float, default 0.5
        A sample with a larger fraction of missing features is flagged out of domain.
    n_jobs : int, default 1
        Parallel jobs of the inner grid search (scikit-learn/joblib convention; -1 = all CPUs).
    random_state : int, Generator or None, default 0
        Seed of the inner cross-validation folds and of the classifier.

    Attributes
    ----------
    pipeline_ : sklearn Pipeline (``prep`` → ``clf``) fitted on all training rows.
    classes_, features_, best_params_, cv_results_ (DataFrame), ignored_columns_,
    ood_threshold_, fit_time_.

    Examples
    --------
    On the Ueki et al. data (``petroinfer.io.datasets.load_ueki2018_basalts()``, label column
    ``Class``) the call is the same; here a small synthetic table with four of the features:

    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"SiO2": rng.normal(50, 1, 80), "MgO": rng.normal(8, 1, 80),
    ...                   "La": np.exp(rng.normal(1.5, 0.3, 80)), "Nb": np.exp(rng.normal(1, 0.5, 80))})
    >>> y = np.where(X["Nb"] > np.e, "OI", "MOR")
    >>> clf = TectonicDiscriminator("svm", param_grid={"C": [10.0], "gamma": [1.0]}).fit(X, y)
    >>> clf.features_
    ['SiO2', 'MgO', 'La', 'Nb']
    >>> table = clf.predict_table(X.drop(columns="La").head(3))  # a missing feature is imputed
    >>> table[["predicted", "missing_features"]].to_numpy().tolist() == [
    ...     [p, "La"] for p in y[:3]]
    True
    """

    def __init__(
        self,
        model: Literal["svm", "rf", "smr", "hgb"] = "svm",
        *,
        features: list[str] | None = None,
        abundance: Literal["log", "clr", "boxcox"] = "log",
        isotopes: Literal["log", "identity"] = "log",
        expand: Literal["ueki"] | None = None,
        penalty: Literal["l1", "group"] = "l1",
        basis: Literal["linear", "hinge"] = "hinge",
        interactions: bool = True,
        relaxed: bool = True,
        heredity: bool = True,
        param_grid: dict[str, list[Any]] | None = None,
        inner_cv: int = 3,
        scoring: str = "accuracy",
        class_weight: str | None = None,
        classes: list[str] | None = None,
        ood_alpha: float = 0.01,
        max_missing: float = 0.5,
        n_jobs: int = 1,
        random_state: RandomState = 0,
    ) -> None:
        self.model = model
        self.features = features
        self.abundance = abundance
        self.isotopes = isotopes
        self.expand = expand
        self.penalty = penalty
        self.basis = basis
        self.interactions = interactions
        self.relaxed = relaxed
        self.heredity = heredity
        self.param_grid = param_grid
        self.inner_cv = inner_cv
        self.scoring = scoring
        self.class_weight = class_weight
        self.classes = classes
        self.ood_alpha = ood_alpha
        self.max_missing = max_missing
        self.n_jobs = n_jobs
        self.random_state = random_state

    # -- construction ----------------------------------------------------------------------------
    def _classifier(self, seed: int) -> BaseEstimator:
        if self.model == "svm":
            return SVC(kernel="rbf", class_weight=self.class_weight, random_state=seed)
        if self.model == "rf":
            return RandomForestClassifier(
                n_estimators=300, class_weight=self.class_weight, random_state=seed, n_jobs=1
            )
        if self.model == "hgb":
            # early stopping on a 10 % validation split chooses the number of boosting rounds
            return HistGradientBoostingClassifier(
                max_iter=150,
                max_leaf_nodes=15,
                class_weight=self.class_weight,
                early_stopping=True,
                n_iter_no_change=10,
                random_state=seed,
            )
        if self.model == "smr":
            return SparseMultinomialRegression(
                self.penalty,
                class_weight=self.class_weight,
                n_alphas=20,
                max_iter=500,
                tol=1e-3,
                basis=self.basis,
                interactions=self.interactions,
                relaxed=self.relaxed,
                heredity=self.heredity and self.relaxed and self.interactions,
                random_state=seed,
            )
        raise ModelError(f"model must be one of {MODELS}, got {self.model!r}")

    def _grid(self, n_out: int) -> dict[str, list[Any]]:
        grid = dict(DEFAULT_GRIDS[self.model] if self.param_grid is None else self.param_grid)
        if self.model == "svm" and "gamma" in grid:
            grid["gamma"] = [g / n_out if isinstance(g, int | float) else g for g in grid["gamma"]]
        return {f"clf__{k}": list(v) for k, v in grid.items()}

    def _feature_frame(self, X: Any) -> pd.DataFrame:
        if not isinstance(X, pd.DataFrame):
            X = pd.DataFrame(np.asarray(X, float), columns=self.features_)
        return check_discrimination_table(X, self.features_)

    # -- fit -------------------------------------------------------------------------------------
    def fit(self, X: pd.DataFrame, y: Any) -> TectonicDiscriminator:
        """Tune by inner stratified CV, then refit the best pipeline on all rows of ``X``."""
        t0 = time.perf_counter()
        if self.model not in MODELS:
            raise ModelError(f"model must be one of {MODELS}, got {self.model!r}")
        if not isinstance(X, pd.DataFrame):
            raise InputError(
                "X must be a pandas DataFrame with named feature columns", value=type(X).__name__
            )
        if len(y) != len(X):
            raise InputError("X and y have different numbers of rows", value=(len(X), len(y)))
        labels = _clean_labels(y, X.index, self.classes)
        self.features_, ignored = _resolve_features(X, self.features)
        self.ignored_columns_ = [str(c) for c in ignored]
        F = check_discrimination_table(X, self.features_)
        allnan = F.isna().all(axis=0)
        if allnan.any():
            raise InputError(
                "feature column has no values in the training data",
                column=str(allnan.index[int(np.argmax(allnan.to_numpy()))]),
            )
        _check_class_counts(labels, self.inner_cv, "inner (tuning) cross-validation")
        seed = _seed(self.random_state)
        prep = GeochemPreprocessor(
            self.features_,
            abundance=self.abundance,
            isotopes=self.isotopes,
            impute=self.model != "hgb",
            expand=self.expand,
        )
        pipe = Pipeline([("prep", prep), ("clf", self._classifier(seed))])
        prep._blocks()
        grid = self._grid(len(prep.get_feature_names_out()))
        n_cand = int(np.prod([len(v) for v in grid.values()])) if grid else 1
        if n_cand > 1:
            search = GridSearchCV(
                pipe,
                grid,
                scoring=self.scoring,
                refit=False,
                n_jobs=self.n_jobs,
                cv=StratifiedKFold(self.inner_cv, shuffle=True, random_state=seed),
            )
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DataQualityWarning)
                search.fit(F, labels)
            self.best_params_ = {k.removeprefix("clf__"): v for k, v in search.best_params_.items()}
            keep = [
                c
                for c in search.cv_results_
                if c.startswith(("param_", "mean_test", "std_test", "rank_test"))
            ]
            self.cv_results_ = pd.DataFrame({k: search.cv_results_[k] for k in keep})
        else:
            self.best_params_ = {k.removeprefix("clf__"): v[0] for k, v in grid.items()}
            self.cv_results_ = pd.DataFrame()
        final = clone(pipe).set_params(**{f"clf__{k}": v for k, v in self.best_params_.items()})
        if self.model == "svm":
            # temperature scaling of the decision values on internal folds (replaces the deprecated
            # SVC(probability=True); Guo et al. 2017)
            final.set_params(
                clf=CalibratedClassifierCV(
                    final.named_steps["clf"],
                    method="temperature",
                    ensemble=False,
                    cv=StratifiedKFold(self.inner_cv, shuffle=True, random_state=seed),
                )
            )
        final.fit(F, labels)
        self.pipeline_ = final
        self.classes_ = final.classes_
        dm = final.named_steps["prep"].domain_model_
        self.ood_threshold_ = float(np.nanquantile(dm.train_pvalues_, self.ood_alpha))
        self.n_features_in_ = len(self.features_)
        self.fit_time_ = time.perf_counter() - t0
        return self

    # -- predict ---------------------------------------------------------------------------------
    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Class probabilities (n, n_classes); absent or NaN features are imputed/handled natively."""
        return self.pipeline_.predict_proba(self._feature_frame(X))

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """Most probable setting."""
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]

    def predict_table(self, X: pd.DataFrame) -> pd.DataFrame:
        """Probabilities per setting, top class, missing features and the applicability check.

        Columns: ``P(<class>)`` ..., ``predicted``, ``probability``, ``n_missing``,
        ``missing_features`` (``;``-separated), ``mahalanobis_d2`` (smallest class-conditional squared
        distance on the observed preprocessed features), ``domain_pvalue`` (its χ² upper tail),
        ``out_of_domain`` and ``ood_reason``.
        """
        F = self._feature_frame(X)
        proba = self.pipeline_.predict_proba(F)
        prep = self.pipeline_.named_steps["prep"]
        d2, pval = prep.domain_model_.domain_distance(prep.base_scaled(F))
        miss = F.isna().to_numpy()
        out = pd.DataFrame(proba, index=F.index, columns=[f"P({c})" for c in self.classes_])
        out["predicted"] = self.classes_[np.argmax(proba, axis=1)]
        out["probability"] = proba.max(axis=1)
        out["n_missing"] = miss.sum(axis=1)
        feats = np.array(self.features_, dtype=object)
        out["missing_features"] = [";".join(feats[m]) for m in miss]
        out["mahalanobis_d2"] = d2
        out["domain_pvalue"] = pval
        too_many = miss.mean(axis=1) > self.max_missing
        far = ~(pval >= self.ood_threshold_)
        out["out_of_domain"] = too_many | far
        out["ood_reason"] = np.where(
            too_many,
            f"more than {self.max_missing:.0%} of features missing",
            np.where(far, "far from all training settings (Mahalanobis)", ""),
        )
        return out

    def summary(self, evaluation: DiscriminationEvaluation | None = None) -> pd.DataFrame:
        """Short description of the fitted discriminator (one row per item, column ``value``).

        Parameters
        ----------
        evaluation : DiscriminationEvaluation, optional
            Result of :func:`evaluate_discrimination` for this configuration; adds its nested-CV
            ``cv_accuracy`` and ``cv_balanced_accuracy`` (the tuning score alone is optimistic).

        Returns
        -------
        pandas.DataFrame
            Index ``item``: ``model``, ``classes``, ``n_classes``, ``n_features`` (input features),
            ``n_model_inputs`` (after preprocessing), ``scoring``, ``tuning_score`` (mean inner-CV
            score of the chosen grid point; NaN without a grid), ``param:<name>`` per chosen
            hyperparameter, for SMR ``smr_alpha`` and ``smr_features_per_class_mean`` /
            ``smr_terms_per_class_mean``, ``fit_seconds``.

        Examples
        --------
        >>> import numpy as np, pandas as pd
        >>> rng = np.random.default_rng(0)
        >>> X = pd.DataFrame({"La": np.exp(rng.normal(1.5, 0.3, 60)),
        ...                   "Nb": np.exp(rng.normal(1, 0.5, 60))})
        >>> y = np.where(X["Nb"] > np.e, "OI", "MOR")
        >>> clf = TectonicDiscriminator("svm", param_grid={"C": [10.0], "gamma": [1.0]}).fit(X, y)
        >>> clf.summary().loc[["model", "classes", "n_features", "param:C"], "value"].tolist()
        ['svm', 'MOR, OI', 2, 10.0]
        """
        if not hasattr(self, "pipeline_"):
            raise ModelError("TectonicDiscriminator is not fitted; call fit first")
        prep = self.pipeline_.named_steps["prep"]
        rows: dict[str, Any] = {
            "model": self.model,
            "classes": ", ".join(str(c) for c in self.classes_),
            "n_classes": len(self.classes_),
            "n_features": len(self.features_),
            "n_model_inputs": len(prep.get_feature_names_out()),
            "scoring": self.scoring,
            "tuning_score": np.nan,
        }
        cv = self.cv_results_
        if len(cv) and "rank_test_score" in cv:
            best = cv.loc[cv["rank_test_score"].idxmin()]
            rows["tuning_score"] = round(float(best["mean_test_score"]), 4)
        for k, v in self.best_params_.items():
            rows[f"param:{k}"] = v
        clf = self.pipeline_.named_steps["clf"]
        if isinstance(clf, SparseMultinomialRegression):
            rows["smr_alpha"] = float(clf.alpha_)
            rows["smr_features_per_class_mean"] = float(np.mean(list(clf.n_selected().values())))
            rows["smr_terms_per_class_mean"] = float(np.mean(list(clf.n_terms().values())))
        if evaluation is not None:
            rows["cv_accuracy"] = round(evaluation.accuracy, 4)
            rows["cv_balanced_accuracy"] = round(evaluation.balanced_accuracy, 4)
        rows["fit_seconds"] = round(float(self.fit_time_), 2)
        return pd.DataFrame(
            {"value": pd.Series(rows, dtype=object)}, index=pd.Index(list(rows), name="item")
        )


# ------------------------------------------------------------------------------------------------
# Evaluation
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DiscriminationEvaluation:
    """Outcome of repeated stratified k-fold (nested) cross-validation of one model.

    Returned by :func:`evaluate_discrimination`; the constructor arguments are stored as attributes
    of the same name.

    Parameters
    ----------
    model : str
        The evaluated model (``TectonicDiscriminator.model``: ``"svm"``, ``"rf"``, ``"smr"`` or
        ``"hgb"``).
    classes : ndarray, shape (K,)
        The class labels (sorted strings); the last axis of ``proba`` follows this order.
    y : ndarray, shape (n,)
        True label of every sample (stripped strings).
    proba : ndarray, shape (n_repeats, n, K)
        Out-of-fold class probabilities of every sample in every repeat.
    proba_masked : ndarray, shape (n_repeats, n, K), or None
        The same with a fraction of the features removed at random from each test sample; ``None``
        when ``missing_fraction`` was 0.
    fold_scores : pandas.DataFrame
        One row per (repeat, fold): ``repeat``, ``fold``, ``fit_seconds``, the chosen
        hyperparameters ``params`` (text), ``accuracy``, ``balanced_accuracy`` and
        ``accuracy_features_removed``; for SMR also ``n_selected``, ``n_terms`` (mean per class)
        and ``alpha``.
    settings : dict, optional
        The protocol: ``n_splits``, ``n_repeats``, ``seed``, ``missing_fraction``, ``n_samples`` and
        ``features`` (default empty). Merged into :meth:`summary`.
    """

    model: str
    classes: np.ndarray
    y: np.ndarray
    proba: np.ndarray
    proba_masked: np.ndarray | None
    fold_scores: pd.DataFrame
    settings: dict[str, Any] = field(default_factory=dict)

    def _pred(self, proba: np.ndarray) -> np.ndarray:
        return self.classes[np.argmax(proba, axis=-1)]

    def _per_repeat(self, proba: np.ndarray, fn) -> np.ndarray:
        return np.array([fn(self.y, self._pred(p)) for p in proba])

    @property
    def accuracy(self) -> float:
        """Mean over repeats of the pooled out-of-fold accuracy."""
        return float(self._per_repeat(self.proba, accuracy_score).mean())

    @property
    def balanced_accuracy(self) -> float:
        return float(self._per_repeat(self.proba, balanced_accuracy_score).mean())

    @property
    def masked_accuracy(self) -> float | None:
        if self.proba_masked is None:
            return None
        return float(self._per_repeat(self.proba_masked, accuracy_score).mean())

    def per_class(self) -> pd.DataFrame:
        """Recall, precision and support per class (means over repeats)."""
        kw = dict(labels=self.classes, average=None, zero_division=0)
        rec = np.mean([recall_score(self.y, self._pred(p), **kw) for p in self.proba], axis=0)
        pre = np.mean([precision_score(self.y, self._pred(p), **kw) for p in self.proba], axis=0)
        sup = [int((self.y == c).sum()) for c in self.classes]
        return pd.DataFrame(
            {"recall": rec, "precision": pre, "support": sup},
            index=pd.Index(self.classes, name="class"),
        )

    def confusion(self) -> pd.DataFrame:
        """Confusion matrix (rows: true, columns: predicted), summed over repeats / n_repeats."""
        cm = np.mean(
            [confusion_matrix(self.y, self._pred(p), labels=self.classes) for p in self.proba],
            axis=0,
        )
        return pd.DataFrame(
            cm,
            index=pd.Index(self.classes, name="true"),
            columns=pd.Index(self.classes, name="predicted"),
        )

    @property
    def log_loss(self) -> float:
        return float(
            np.mean(
                [log_loss(self.y, np.clip(p, 1e-15, 1), labels=self.classes) for p in self.proba]
            )
        )

    def reliability(self, n_bins: int = 10) -> pd.DataFrame:
        """Top-label reliability table: mean confidence vs accuracy per confidence bin."""
        conf = self.proba.max(axis=-1).ravel()
        correct = (self._pred(self.proba) == self.y[None, :]).ravel()
        edges = np.linspace(0, 1, n_bins + 1)
        b = np.clip(np.digitize(conf, edges) - 1, 0, n_bins - 1)
        rows = []
        for k in range(n_bins):
            m = b == k
            if m.any():
                rows.append(
                    {
                        "bin_low": edges[k],
                        "bin_high": edges[k + 1],
                        "count": int(m.sum()),
                        "confidence": float(conf[m].mean()),
                        "accuracy": float(correct[m].mean()),
                    }
                )
        return pd.DataFrame(rows)

    @property
    def expected_calibration_error(self) -> float:
        rel = self.reliability()
        return float(
            (rel["count"] * (rel["confidence"] - rel["accuracy"]).abs()).sum() / rel["count"].sum()
        )

    def summary(self) -> dict[str, Any]:
        """Plain-dict summary (what ``petroinfer discriminate evaluate --json`` prints)."""
        pc = self.per_class()
        acc_r = self._per_repeat(self.proba, accuracy_score)
        out = {
            "model": self.model,
            "accuracy": round(self.accuracy, 4),
            "accuracy_sd_over_repeats": round(
                float(acc_r.std(ddof=1)) if len(acc_r) > 1 else 0.0, 4
            ),
            "accuracy_sd_over_folds": round(float(self.fold_scores["accuracy"].std(ddof=1)), 4),
            "balanced_accuracy": round(self.balanced_accuracy, 4),
            "log_loss": round(self.log_loss, 4),
            "expected_calibration_error": round(self.expected_calibration_error, 4),
            "recall": {str(k): round(float(v), 4) for k, v in pc["recall"].items()},
            "precision": {str(k): round(float(v), 4) for k, v in pc["precision"].items()},
            "confusion_matrix": self.confusion().round(2).to_numpy().tolist(),
            "classes": [str(c) for c in self.classes],
            "fit_seconds_per_fold": round(float(self.fold_scores["fit_seconds"].mean()), 2),
            **self.settings,
        }
        if self.proba_masked is not None:
            out["accuracy_features_removed"] = round(self.masked_accuracy, 4)
            out["accuracy_drop_features_removed"] = round(self.accuracy - self.masked_accuracy, 4)
        if "n_selected" in self.fold_scores:
            out["smr_features_per_class_mean"] = round(
                float(self.fold_scores["n_selected"].mean()), 1
            )
            out["smr_terms_per_class_mean"] = round(float(self.fold_scores["n_terms"].mean()), 1)
        return out

    def plot_confusion(self, ax: Any = None) -> Any:
        import matplotlib.pyplot as plt

        cm = self.confusion()
        norm = cm.to_numpy() / np.maximum(cm.to_numpy().sum(axis=1, keepdims=True), 1e-12)
        if ax is None:
            _, ax = plt.subplots(figsize=(5.2, 4.6))
        im = ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
        k = len(self.classes)
        ax.set_xticks(range(k), self.classes, rotation=45)
        ax.set_yticks(range(k), self.classes)
        for i in range(k):
            for j in range(k):
                ax.text(
                    j,
                    i,
                    f"{norm[i, j]:.2f}",
                    ha="center",
                    va="center",
                    fontsize=7,
                    color="white" if norm[i, j] > 0.6 else "black",
                )
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        ax.set_title(f"{self.model}: row-normalised confusion")
        ax.figure.colorbar(im, ax=ax, fraction=0.046)
        return ax

    def plot_reliability(self, ax: Any = None) -> Any:
        import matplotlib.pyplot as plt

        rel = self.reliability()
        if ax is None:
            _, ax = plt.subplots(figsize=(4.2, 4.2))
        ax.plot([0, 1], [0, 1], "k:", lw=1, label="perfect calibration")
        ax.plot(rel["confidence"], rel["accuracy"], "o-", label=self.model)
        ax.set_xlabel("predicted probability of the top class")
        ax.set_ylabel("observed accuracy")
        ax.set_title("reliability diagram")
        ax.legend(loc="upper left", fontsize=8)
        return ax


def _mask_features(F: pd.DataFrame, fraction: float, rng: np.random.Generator) -> pd.DataFrame:
    """Remove ``round(fraction * p)`` randomly chosen features from each row (set to NaN)."""
    n, p = F.shape
    k = round(fraction * p)
    if k == 0:
        return F
    order = np.argsort(rng.random((n, p)), axis=1)[:, :k]
    arr = F.to_numpy(dtype=float, copy=True)
    np.put_along_axis(arr, order, np.nan, axis=1)
    return pd.DataFrame(arr, index=F.index, columns=F.columns)


def _run_fold(est, F, labels, tr, te, fraction, seed, r, f):
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        model = clone(est).fit(F.iloc[tr], labels[tr])
    fit_s = time.perf_counter() - t0
    proba = model.predict_proba(F.iloc[te])
    proba_m = None
    if fraction > 0:
        rng = np.random.default_rng([seed, r, f])
        proba_m = model.predict_proba(_mask_features(F.iloc[te], fraction, rng))
    row = {
        "repeat": r,
        "fold": f,
        "fit_seconds": fit_s,
        "params": ", ".join(
            f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
            for k, v in model.best_params_.items()
        ),
    }
    clf = model.pipeline_.named_steps["clf"]
    if isinstance(clf, SparseMultinomialRegression):
        row["n_selected"] = float(np.mean(list(clf.n_selected().values())))
        row["n_terms"] = float(np.mean(list(clf.n_terms().values())))
        row["alpha"] = clf.alpha_
    return r, te, proba, proba_m, model.classes_, row


def evaluate_discrimination(
    estimator: TectonicDiscriminator,
    X: pd.DataFrame,
    y: Any,
    *,
    n_splits: int = 10,
    n_repeats: int = 1,
    missing_fraction: float = 0.3,
    random_state: RandomState = 0,
    n_jobs: int = 1,
) -> DiscriminationEvaluation:
    """Repeated stratified k-fold cross-validation with tuning nested inside each training fold.

    Each outer training fold is given to ``clone(estimator).fit`` (which tunes by its own inner CV and
    fits the preprocessing on that fold only); the held-out fold is predicted once as is and once with
    ``missing_fraction`` of its features removed at random per sample (the missing-data robustness
    check). Repeat *r* uses ``StratifiedKFold(n_splits, shuffle=True, random_state=seed + r)``, so the
    same seed gives the same folds and the same numbers.

    Parameters
    ----------
    estimator : TectonicDiscriminator
        The (unfitted) model configuration; it is cloned for every fold and not modified.
    X : pandas.DataFrame
        Samples × features (the columns ``estimator.features`` resolves to; others are ignored).
    y : array_like, shape (n_samples,)
        Tectonic-setting label of every row of ``X``; blank labels, and labels outside
        ``estimator.classes`` when that is set, are an :class:`InputError`.
    n_splits : int, default 10
        Folds of the outer cross-validation (>= 2). Every class needs at least ``n_splits`` samples,
        and every training fold at least ``estimator.inner_cv`` samples of each class.
    n_repeats : int, default 1
        Number of repetitions of the outer cross-validation with different shuffles (>= 1).
    missing_fraction : float, default 0.3
        Fraction of the features (rounded to a whole number per sample) removed at random from each
        held-out sample for the robustness check, in [0, 1); 0 skips the check.
    random_state : int, Generator or None, default 0
        Seed of the fold shuffles and of the feature removal.
    n_jobs : int, default 1
        Folds fitted in parallel (joblib; -1 = all CPUs).

    Returns
    -------
    DiscriminationEvaluation

    Raises
    ------
    InputError
        Unknown or missing labels, or a class with fewer samples than ``n_splits``.
    """
    if not isinstance(estimator, TectonicDiscriminator):
        raise ModelError("estimator must be a TectonicDiscriminator")
    if not 0 <= missing_fraction < 1:
        raise ModelError(f"missing_fraction must be in [0, 1), got {missing_fraction}")
    if n_splits < 2 or n_repeats < 1:
        raise ModelError(f"need n_splits >= 2 and n_repeats >= 1, got {n_splits}, {n_repeats}")
    labels = _clean_labels(y, X.index, estimator.classes)
    feats, _ = _resolve_features(X, estimator.features)
    F = check_discrimination_table(X, feats)
    _check_class_counts(labels, n_splits, "outer cross-validation")
    # each training fold must still hold inner_cv samples of every class
    cls, counts = np.unique(labels, return_counts=True)
    min_train = int(np.floor(counts.min() * (n_splits - 1) / n_splits))
    if min_train < estimator.inner_cv:
        raise InputError(
            f"class {cls[np.argmin(counts)]!r} has too few samples ({counts.min()}) for "
            f"{n_splits} outer x {estimator.inner_cv} inner folds",
            column="label",
        )
    seed = _seed(random_state)
    est = clone(estimator).set_params(features=feats)
    tasks = []
    for r in range(n_repeats):
        skf = StratifiedKFold(n_splits, shuffle=True, random_state=seed + r)
        for f, (tr, te) in enumerate(skf.split(F, labels)):
            tasks.append((r, f, tr, te))
    results = Parallel(n_jobs=n_jobs)(
        delayed(_run_fold)(est, F, labels, tr, te, missing_fraction, seed, r, f)
        for r, f, tr, te in tasks
    )
    classes = np.unique(labels)
    proba = np.zeros((n_repeats, len(F), len(classes)))
    proba_m = np.zeros_like(proba) if missing_fraction > 0 else None
    rows = []
    for r, te, p, pm, cls_fold, row in results:
        cols = np.searchsorted(classes, cls_fold)
        proba[r][np.ix_(te, cols)] = p
        if proba_m is not None:
            proba_m[r][np.ix_(te, cols)] = pm
        yt = labels[te]
        row["accuracy"] = accuracy_score(yt, cls_fold[np.argmax(p, axis=1)])
        row["balanced_accuracy"] = balanced_accuracy_score(yt, cls_fold[np.argmax(p, axis=1)])
        if pm is not None:
            row["accuracy_features_removed"] = accuracy_score(yt, cls_fold[np.argmax(pm, axis=1)])
        rows.append(row)
    settings = {
        "n_splits": n_splits,
        "n_repeats": n_repeats,
        "seed": seed,
        "missing_fraction": missing_fraction,
        "n_samples": len(F),
        "features": feats,
    }
    return DiscriminationEvaluation(
        model=estimator.model,
        classes=classes,
        y=labels,
        proba=proba,
        proba_masked=proba_m,
        fold_scores=pd.DataFrame(rows),
        settings=settings,
    )
