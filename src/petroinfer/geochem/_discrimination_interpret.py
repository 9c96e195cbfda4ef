"""Interpretation of fitted tectonic discriminators: SMR feature order and coefficient paths,
permutation importance, representative compositions and spider diagrams (split from
``_discrimination.py``; public through :mod:`petroinfer.geochem.discrimination`)."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from petroinfer._rng import RandomState
from petroinfer.errors import ModelError
from petroinfer.geochem._discrimination import TectonicDiscriminator, _clean_labels, _seed
from petroinfer.geochem._discrimination_prep import check_discrimination_table
from petroinfer.geochem._smr import SparseMultinomialRegression


# ------------------------------------------------------------------------------------------------
# Interpretation
# ------------------------------------------------------------------------------------------------
def _smr_of(est: TectonicDiscriminator) -> SparseMultinomialRegression:
    clf = est.pipeline_.named_steps["clf"]
    if not isinstance(clf, SparseMultinomialRegression):
        raise ModelError("this needs a TectonicDiscriminator fitted with model='smr'")
    return clf


def first_k_features(est: TectonicDiscriminator, k: int = 5) -> pd.DataFrame:
    """The first ``k`` features entering the SMR path for each class (geoSMR's printout).

    Returns a DataFrame (class × rank) of feature names; ``""`` when fewer than k ever enter.
    """
    smr = _smr_of(est)
    names = list(est.pipeline_.named_steps["prep"].get_feature_names_out())
    order = smr.entry_order(names)
    data = {str(c): (v[:k] + [""] * k)[:k] for c, v in order.items()}
    return pd.DataFrame(data, index=pd.RangeIndex(1, k + 1, name="rank")).T


def plot_smr_paths(est: TectonicDiscriminator, n_label: int = 4) -> Any:
    """Coefficient paths per class against log10(alpha), chosen alpha marked (one panel per class)."""
    import matplotlib.pyplot as plt

    smr = _smr_of(est)
    names = list(est.pipeline_.named_steps["prep"].get_feature_names_out())
    K = len(smr.classes_)
    ncol = 4
    nrow = int(np.ceil(K / ncol))
    fig, axes = plt.subplots(
        nrow, ncol, figsize=(3.2 * ncol, 2.6 * nrow), sharex=True, squeeze=False
    )
    la = np.log10(smr.alphas_)
    for k, c in enumerate(smr.classes_):
        ax = axes.flat[k]
        path = smr.coef_path_[:, :, k]
        ax.plot(la, path, lw=0.8)
        ax.axvline(np.log10(smr.alpha_), color="k", ls="--", lw=0.8)
        top = np.argsort(-np.abs(path[-1]))[:n_label]
        for j in top:
            ax.annotate(names[j], (la[-1], path[-1, j]), fontsize=6)
        ax.set_title(str(c), fontsize=9)
    axes.flat[0].invert_xaxis()  # shared x axis: invert once (large penalty on the left)
    for ax in axes.flat[K:]:
        ax.axis("off")
    fig.supxlabel("log10 alpha (penalty decreases →)")
    fig.supylabel("coefficient (z-scored features)")
    fig.tight_layout()
    return fig


def permutation_importance_table(
    est: TectonicDiscriminator,
    X: pd.DataFrame,
    y: Any,
    *,
    n_repeats: int = 5,
    random_state: RandomState = 0,
) -> pd.DataFrame:
    """Permutation importance (drop in accuracy when one raw feature column is shuffled) on ``X, y``,
    which should be held out from ``est``'s training data (Breiman 2001; scikit-learn
    ``permutation_importance``)."""
    from sklearn.inspection import permutation_importance

    F = check_discrimination_table(X, est.features_)
    labels = _clean_labels(y, X.index, est.classes)
    res = permutation_importance(
        est, F, labels, n_repeats=n_repeats, random_state=_seed(random_state), scoring="accuracy"
    )
    return pd.DataFrame(
        {"importance_mean": res.importances_mean, "importance_sd": res.importances_std},
        index=pd.Index(est.features_, name="feature"),
    ).sort_values("importance_mean", ascending=False)


#: Spider-diagram order (decreasing incompatibility, Sun & McDonough 1989) of the available elements.
SPIDER_ORDER: tuple[str, ...] = (
    "Rb",
    "Ba",
    "Th",
    "Nb",
    "Ta",
    "K",
    "La",
    "Ce",
    "Sr",
    "Nd",
    "Zr",
    "Hf",
    "Sm",
    "Ti",
    "Gd",
    "Y",
    "Yb",
    "Lu",
)
_OXIDE_TO_ELEMENT = {
    "TiO2": ("Ti", 47.867 / (47.867 + 2 * 15.999)),
    "K2O": ("K", 2 * 39.098 / (2 * 39.098 + 15.999)),
}


def representative_compositions(
    X: pd.DataFrame,
    y: Any,
    proba: np.ndarray | None = None,
    classes: Any = None,
    n_top: int = 10,
) -> pd.DataFrame:
    """Per-setting representative compositions (ppm) for spider diagrams.

    For each class: ``centre`` = class-conditional centre in log space (geometric mean of each element;
    Aitchison 1986) and, when out-of-fold probabilities ``proba`` (n, K) are given, ``confident`` = the
    geometric mean of the ``n_top`` samples of that class with the highest probability of it (the
    most confidently classified members, a reading of Ueki et al.'s "most representative basalt" [R]).
    Ti and K are computed from TiO2 and K2O (wt% → ppm of the element).

    Returns a DataFrame indexed by (class, kind) with element columns in :data:`SPIDER_ORDER`.
    """
    labels = _clean_labels(y, X.index)
    el = {}
    for name in SPIDER_ORDER:
        if name in X.columns:
            el[name] = pd.to_numeric(X[name], errors="coerce").to_numpy(float)
    for ox, (name, f) in _OXIDE_TO_ELEMENT.items():
        if ox in X.columns:
            el[name] = pd.to_numeric(X[ox], errors="coerce").to_numpy(float) * f * 1e4
    cols = [c for c in SPIDER_ORDER if c in el]
    L = np.log(np.column_stack([el[c] for c in cols]))
    classes = np.unique(labels) if classes is None else np.asarray(classes)
    rows, index = [], []
    for k, c in enumerate(classes):
        m = labels == c
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            rows.append(np.exp(np.nanmean(L[m], axis=0)))
        index.append((str(c), "centre"))
        if proba is not None:
            p = proba.mean(axis=0) if proba.ndim == 3 else proba
            idx = np.nonzero(m)[0]
            top = idx[np.argsort(-p[idx, k])[:n_top]]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                rows.append(np.exp(np.nanmean(L[top], axis=0)))
            index.append((str(c), "confident"))
    return pd.DataFrame(
        rows, columns=cols, index=pd.MultiIndex.from_tuples(index, names=["class", "kind"])
    )


def plot_spider(reps: pd.DataFrame, reference: str = "PM_SM89", kind: str = "centre") -> Any:
    """Primitive-mantle-normalised spider diagram of :func:`representative_compositions`.

    ``reference`` is a pyrolite reference-composition name (default ``PM_SM89``: Sun & McDonough 1989
    primitive mantle, via ``pyrolite.geochem.norm.get_reference_composition``).
    """
    import matplotlib.pyplot as plt
    from pyrolite.geochem.norm import get_reference_composition

    ref = get_reference_composition(reference).comp
    cols = [c for c in reps.columns if c in ref.index and np.isfinite(float(ref[c]))]
    sub = reps.xs(kind, level="kind")[cols]
    norm = sub / ref[cols].astype(float).to_numpy()
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for c, row in norm.iterrows():
        ax.plot(range(len(cols)), row.to_numpy(), "o-", ms=3, lw=1.2, label=str(c))
    ax.set_yscale("log")
    ax.set_xticks(range(len(cols)), cols)
    ax.set_ylabel(f"sample / {reference}")
    ax.set_title(f"Representative composition per setting ({kind})")
    ax.legend(ncol=4, fontsize=8)
    return fig


def holdout_split(X: pd.DataFrame, y: Any, test_size: float = 0.25, random_state: RandomState = 0):
    """Stratified train/test split used for permutation importance (fixed seed)."""
    labels = _clean_labels(y, X.index)
    return train_test_split(
        X, labels, test_size=test_size, stratify=labels, random_state=_seed(random_state)
    )
