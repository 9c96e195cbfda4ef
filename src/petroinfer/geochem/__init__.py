"""petroinfer.geochem: whole-rock and mineral-chemistry multivariate analysis.

Public names are imported lazily (PEP 562, :mod:`petroinfer._lazy`): ``import petroinfer.geochem`` does
not load scikit-learn until an estimator is used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from petroinfer._lazy import attach

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from petroinfer.geochem.clustering import (
        KMeansCluster,
        assign_clusters_to_endmembers,
        crosstab_clusters,
    )
    from petroinfer.geochem.components import (
        Standardiser,
        Whitener,
        centred_pca_scores,
        kca_direction_diagnostic,
        principal_angles,
        principal_components,
        standardise,
        whiten,
    )
    from petroinfer.geochem.discrimination import (
        DiscriminationEvaluation,
        GeochemPreprocessor,
        SparseMultinomialRegression,
        TectonicDiscriminator,
        evaluate_discrimination,
    )
    from petroinfer.geochem.endmembers import EndmemberNMF, EndmemberResult
    from petroinfer.geochem.isocon import IsoconResult, SparseIsocon, classic_isocon

_LAZY: dict[str, str] = {
    "KMeansCluster": "clustering",
    "assign_clusters_to_endmembers": "clustering",
    "crosstab_clusters": "clustering",
    "Standardiser": "components",
    "Whitener": "components",
    "centred_pca_scores": "components",
    "kca_direction_diagnostic": "components",
    "principal_angles": "components",
    "principal_components": "components",
    "standardise": "components",
    "whiten": "components",
    "DiscriminationEvaluation": "discrimination",
    "GeochemPreprocessor": "discrimination",
    "SparseMultinomialRegression": "discrimination",
    "TectonicDiscriminator": "discrimination",
    "evaluate_discrimination": "discrimination",
    "EndmemberNMF": "endmembers",
    "EndmemberResult": "endmembers",
    "IsoconResult": "isocon",
    "SparseIsocon": "isocon",
    "classic_isocon": "isocon",
}
_SUBMODULES = frozenset(
    {"clustering", "components", "discrimination", "endmembers", "isocon", "synthetic"}
)

__all__ = [
    "DiscriminationEvaluation",
    "EndmemberNMF",
    "EndmemberResult",
    "GeochemPreprocessor",
    "IsoconResult",
    "KMeansCluster",
    "SparseIsocon",
    "SparseMultinomialRegression",
    "Standardiser",
    "TectonicDiscriminator",
    "Whitener",
    "assign_clusters_to_endmembers",
    "centred_pca_scores",
    "classic_isocon",
    "crosstab_clusters",
    "evaluate_discrimination",
    "kca_direction_diagnostic",
    "principal_angles",
    "principal_components",
    "standardise",
    "whiten",
]

__getattr__, __dir__ = attach(__name__, _LAZY, _SUBMODULES)
