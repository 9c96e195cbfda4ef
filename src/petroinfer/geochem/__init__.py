"""petroinfer.geochem: whole-rock and mineral-chemistry multivariate analysis."""

from petroinfer.geochem.clustering import (
    KMeansCluster,
    assign_clusters_to_endmembers,
    crosstab_clusters,
)
from petroinfer.geochem.components import (
    Standardiser,
    Whitener,
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
    "classic_isocon",
    "crosstab_clusters",
    "evaluate_discrimination",
    "kca_direction_diagnostic",
    "principal_angles",
    "principal_components",
    "standardise",
    "whiten",
]
