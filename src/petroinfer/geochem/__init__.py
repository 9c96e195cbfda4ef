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
    from petroinfer.geochem.fuzzy import (
        FuzzyCMeans,
        GeoFCM,
        SpatialFuzzyCMeans,
        fuzzy_silhouette,
        make_domain_map,
        make_scattered_units,
        membership_morans_i,
        neighbour_weights,
        segment_map,
        spatial_consistency,
        validity_indices,
        xie_beni,
    )
    from petroinfer.geochem.isocon import IsoconResult, SparseIsocon, classic_isocon
    from petroinfer.geochem.melting import (
        MeltingFit,
        MeltingInversion,
        MeltingResult,
        batch_melting,
        bulk_partition_coefficient,
        fit_melting_degree,
        fractional_melting,
        make_melting_data,
        two_stage_melting,
    )

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
    "FuzzyCMeans": "fuzzy",
    "GeoFCM": "fuzzy",
    "SpatialFuzzyCMeans": "fuzzy",
    "fuzzy_silhouette": "fuzzy",
    "make_domain_map": "fuzzy",
    "make_scattered_units": "fuzzy",
    "membership_morans_i": "fuzzy",
    "neighbour_weights": "fuzzy",
    "segment_map": "fuzzy",
    "spatial_consistency": "fuzzy",
    "validity_indices": "fuzzy",
    "xie_beni": "fuzzy",
    "IsoconResult": "isocon",
    "SparseIsocon": "isocon",
    "classic_isocon": "isocon",
    "MeltingFit": "melting",
    "MeltingInversion": "melting",
    "MeltingResult": "melting",
    "batch_melting": "melting",
    "bulk_partition_coefficient": "melting",
    "fit_melting_degree": "melting",
    "fractional_melting": "melting",
    "make_melting_data": "melting",
    "two_stage_melting": "melting",
}
_SUBMODULES = frozenset(
    {
        "clustering",
        "components",
        "discrimination",
        "endmembers",
        "fuzzy",
        "isocon",
        "melting",
        "synthetic",
    }
)

__all__ = [
    "DiscriminationEvaluation",
    "EndmemberNMF",
    "EndmemberResult",
    "FuzzyCMeans",
    "GeoFCM",
    "GeochemPreprocessor",
    "IsoconResult",
    "KMeansCluster",
    "MeltingFit",
    "MeltingInversion",
    "MeltingResult",
    "SparseIsocon",
    "SparseMultinomialRegression",
    "SpatialFuzzyCMeans",
    "Standardiser",
    "TectonicDiscriminator",
    "Whitener",
    "assign_clusters_to_endmembers",
    "batch_melting",
    "bulk_partition_coefficient",
    "centred_pca_scores",
    "classic_isocon",
    "crosstab_clusters",
    "evaluate_discrimination",
    "fit_melting_degree",
    "fractional_melting",
    "fuzzy_silhouette",
    "kca_direction_diagnostic",
    "make_domain_map",
    "make_melting_data",
    "make_scattered_units",
    "membership_morans_i",
    "neighbour_weights",
    "principal_angles",
    "principal_components",
    "segment_map",
    "spatial_consistency",
    "standardise",
    "two_stage_melting",
    "validity_indices",
    "whiten",
    "xie_beni",
]

__getattr__, __dir__ = attach(__name__, _LAZY, _SUBMODULES)
