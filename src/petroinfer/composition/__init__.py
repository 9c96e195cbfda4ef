"""Chemistry vocabulary of petroinfer: names, units, closure, log-ratios, mineral formulae.

Every other module uses these functions so that ``SiO2``, ``FeOT``, ``Sr87Sr86``, ``XAn`` mean the
same thing everywhere (DESIGN.md §2).

- Names: :func:`canonical_name`, :func:`parse_column`, :func:`split_prefix`,
  :func:`normalise_columns`, :func:`name_category`, :func:`known_names`.
- Units: :func:`convert_units`, :func:`oxide_to_element`, :func:`element_to_oxide`,
  :func:`recalculate_iron`, :func:`renormalise_volatile_free`, :func:`molar_mass`.
- Transforms: :func:`close`, :func:`alr`, :func:`clr`, :func:`ilr` and their inverses.
- Mineral formulae: :func:`mineral_formula`, :func:`endmember_fractions`.
- Validation: :func:`validate_composition`.
"""

from petroinfer.composition._formula import (
    MINERALS,
    MineralSpec,
    endmember_fractions,
    mineral_formula,
    oxides_from_formula,
)
from petroinfer.composition._names import (
    ENDMEMBERS,
    ISOTOPE_RATIOS,
    MAJOR_OXIDES,
    METADATA_COLUMNS,
    MINERAL_ABBREVIATIONS,
    REE,
    VOLATILES,
    ParsedName,
    canonical_name,
    closest_names,
    known_names,
    name_category,
    normalise_columns,
    parse_column,
    select_prefix,
    split_prefix,
)
from petroinfer.composition._transforms import (
    alr,
    close,
    clr,
    helmert_basis,
    ilr,
    inverse_alr,
    inverse_clr,
    inverse_ilr,
)
from petroinfer.composition._units import (
    DEFAULT_OXIDES,
    convert_units,
    element_to_oxide,
    molar_mass,
    oxide_stoichiometry,
    oxide_to_element,
    recalculate_iron,
    renormalise_volatile_free,
)
from petroinfer.composition._validate import oxide_total, validate_composition

__all__ = [
    "DEFAULT_OXIDES",
    "ENDMEMBERS",
    "ISOTOPE_RATIOS",
    "MAJOR_OXIDES",
    "METADATA_COLUMNS",
    "MINERALS",
    "MINERAL_ABBREVIATIONS",
    "REE",
    "VOLATILES",
    "MineralSpec",
    "ParsedName",
    "alr",
    "canonical_name",
    "close",
    "closest_names",
    "clr",
    "convert_units",
    "element_to_oxide",
    "endmember_fractions",
    "helmert_basis",
    "ilr",
    "inverse_alr",
    "inverse_clr",
    "inverse_ilr",
    "known_names",
    "mineral_formula",
    "molar_mass",
    "name_category",
    "normalise_columns",
    "oxide_stoichiometry",
    "oxide_to_element",
    "oxide_total",
    "oxides_from_formula",
    "parse_column",
    "recalculate_iron",
    "renormalise_volatile_free",
    "select_prefix",
    "split_prefix",
    "validate_composition",
]
