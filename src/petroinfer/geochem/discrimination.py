"""Tectonic-setting discrimination of basalts (Ueki, Hino & Kuwatani 2018, G-cubed 19:1327).

Public entry points (implementation in ``_discrimination.py``, ``_discrimination_interpret.py``,
``_discrimination_prep.py``, ``_smr.py``):

* :class:`TectonicDiscriminator` — preprocessing + SVM / random forest / sparse multinomial regression /
  gradient boosting, tuned by inner cross-validation, with missing-feature support and an
  out-of-domain flag (:meth:`TectonicDiscriminator.predict_table`);
* :func:`evaluate_discrimination` — repeated stratified k-fold nested cross-validation →
  :class:`DiscriminationEvaluation` (accuracy, balanced accuracy, per-class recall/precision, confusion
  matrix, log-loss, reliability diagram, accuracy with features removed);
* :class:`GeochemPreprocessor`, :class:`ClassGaussianImputer` — the transformers;
* :class:`SparseMultinomialRegression`, :func:`multinomial_lasso_path` — L1 / group-lasso multinomial
  regression by proximal gradient, penalty by the one-standard-error rule;
* interpretation: :func:`first_k_features`, :func:`plot_smr_paths`, :func:`permutation_importance_table`,
  :func:`representative_compositions`, :func:`plot_spider`.
"""

from petroinfer.geochem._discrimination import (
    MODELS,
    DiscriminationEvaluation,
    TectonicDiscriminator,
    evaluate_discrimination,
)
from petroinfer.geochem._discrimination_interpret import (
    SPIDER_ORDER,
    first_k_features,
    holdout_split,
    permutation_importance_table,
    plot_smr_paths,
    plot_spider,
    representative_compositions,
)
from petroinfer.geochem._discrimination_prep import (
    ISOTOPE_RATIOS,
    MAJOR_OXIDES,
    SETTINGS,
    TRACE_ELEMENTS,
    UEKI_FEATURES,
    UEKI_ISOTOPE_RATIOS,
    UEKI_MAJOR_OXIDES,
    UEKI_TRACE_ELEMENTS,
    ClassGaussianImputer,
    GeochemPreprocessor,
    check_discrimination_table,
)
from petroinfer.geochem._smr import SparseMultinomialRegression, multinomial_lasso_path

__all__ = [
    "ISOTOPE_RATIOS",
    "MAJOR_OXIDES",
    "MODELS",
    "SETTINGS",
    "SPIDER_ORDER",
    "TRACE_ELEMENTS",
    "UEKI_FEATURES",
    "UEKI_ISOTOPE_RATIOS",
    "UEKI_MAJOR_OXIDES",
    "UEKI_TRACE_ELEMENTS",
    "ClassGaussianImputer",
    "DiscriminationEvaluation",
    "GeochemPreprocessor",
    "SparseMultinomialRegression",
    "TectonicDiscriminator",
    "check_discrimination_table",
    "evaluate_discrimination",
    "first_k_features",
    "holdout_split",
    "multinomial_lasso_path",
    "permutation_importance_table",
    "plot_smr_paths",
    "plot_spider",
    "representative_compositions",
]
