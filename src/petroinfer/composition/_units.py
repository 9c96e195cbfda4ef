"""Units of composition: wt% ↔ ppm ↔ mol, oxide ↔ element, Fe speciation, volatile-free sums.

Molar masses come from :mod:`periodictable` (IUPAC standard atomic weights). All functions take a
DataFrame (rows = analyses) or a Series (one analysis), return a new object of the same kind and
never modify their input. Column names are normalised through
:func:`~petroinfer.composition.canonical_name`; mineral prefixes (``Grt_FeO``) are kept.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from typing import TypeVar

import numpy as np
import pandas as pd

from petroinfer.composition._names import VOLATILES, name_category, parse_column
from petroinfer.composition._validate import numeric_column
from petroinfer.errors import InputError, ModelError

__all__ = [
    "CF_UNITS",
    "DEFAULT_OXIDES",
    "UNIT_FACTORS",
    "cf_units",
    "convert_units",
    "element_to_oxide",
    "molar_mass",
    "oxide_cation",
    "oxide_stoichiometry",
    "oxide_to_element",
    "recalculate_iron",
    "renormalise_volatile_free",
]

T = TypeVar("T", pd.DataFrame, pd.Series)

#: Mass-fraction units and their value for a mass fraction of 1.
UNIT_FACTORS: dict[str, float] = {"fraction": 1.0, "wt%": 1e2, "ppm": 1e6, "ppb": 1e9}

#: CF/UDUNITS-2 spelling of each composition unit, for ``attrs["units"]`` of output variables
#: (CF conventions §3.1: dimensionless ratios as ``"1"`` or a power of ten; UDUNITS ``percent``).
CF_UNITS: dict[str, str] = {
    "wt%": "percent", "mol%": "percent", "fraction": "1", "ppm": "1e-6", "ppb": "1e-9",
    "apfu": "1", "permil": "1e-3", "mol": "mol/(100 g)",
}  # fmt: skip

#: Oxide used for each element when converting elements to oxides (total Fe as FeO).
DEFAULT_OXIDES: dict[str, str] = {
    "Si": "SiO2", "Ti": "TiO2", "Al": "Al2O3", "Cr": "Cr2O3", "V": "V2O3", "Fe": "FeOT",
    "Mn": "MnO", "Ni": "NiO", "Co": "CoO", "Zn": "ZnO", "Cu": "CuO", "Mg": "MgO", "Ca": "CaO",
    "Sr": "SrO", "Ba": "BaO", "Pb": "PbO", "Li": "Li2O", "Na": "Na2O", "K": "K2O",
    "Rb": "Rb2O", "Cs": "Cs2O", "P": "P2O5", "Zr": "ZrO2", "Hf": "HfO2", "Nb": "Nb2O5",
    "Ta": "Ta2O5", "Sn": "SnO2", "Sc": "Sc2O3", "Y": "Y2O3", "La": "La2O3", "Ce": "Ce2O3",
    "Pr": "Pr2O3", "Nd": "Nd2O3", "Sm": "Sm2O3", "Gd": "Gd2O3", "Dy": "Dy2O3", "Th": "ThO2",
    "U": "UO2", "B": "B2O3", "Be": "BeO", "Ga": "Ga2O3", "Ge": "GeO2", "W": "WO3", "Mo": "MoO3",
}  # fmt: skip

_FORMULA_ALIASES = {"FeOT": "FeO", "Fe2O3T": "Fe2O3", "H2O+": "H2O", "H2O-": "H2O"}


def _formula_text(name: str) -> str:
    parsed = parse_column(name)
    base = parsed.name if parsed.name is not None else str(name)
    return _FORMULA_ALIASES.get(base, base)


@lru_cache(maxsize=512)
def molar_mass(species: str) -> float:
    """Molar mass in g/mol of an oxide, element or formula (``"SiO2"``, ``"FeOT"``, ``"Grt_MgO"``).

    Total-iron names use the mass of FeO / Fe2O3. Values from :mod:`periodictable`.

    Examples
    --------
    >>> round(molar_mass("SiO2"), 3)
    60.083
    """
    import periodictable

    text = _formula_text(species)
    if text in {"LOI", "Total", "CationSum"} or not re.fullmatch(r"([A-Z][a-z]?\d*)+", text):
        raise InputError(f"no molar mass for {species!r} (not a chemical formula)", column=species)
    try:
        return float(periodictable.formula(text).mass)
    except Exception as exc:  # pyparsing errors are not ValueErrors
        raise InputError(f"cannot parse {species!r} as a chemical formula", column=species) from exc


@lru_cache(maxsize=512)
def oxide_stoichiometry(oxide: str) -> tuple[str, float, float]:
    """(cation symbol, cations per formula, oxygens per formula) of a simple oxide.

    Examples
    --------
    >>> oxide_stoichiometry("Al2O3")
    ('Al', 2.0, 3.0)
    """
    import periodictable

    text = _formula_text(oxide)
    try:
        atoms = {str(k): float(v) for k, v in periodictable.formula(text).atoms.items()}
    except Exception as exc:  # pyparsing errors are not ValueErrors
        raise InputError(f"cannot parse {oxide!r} as an oxide formula", column=oxide) from exc
    cations = [k for k in atoms if k != "O"]
    if len(cations) != 1 or "O" not in atoms:
        raise InputError(f"{oxide!r} is not a simple oxide M_xO_y", column=oxide)
    return cations[0], atoms[cations[0]], atoms["O"]


def cf_units(unit: str) -> str:
    """CF-style units string of a composition unit (``"wt%"`` → ``"percent"``, ``"ppm"`` → ``"1e-6"``).

    The one place where petroinfer's unit names meet the CF conventions used in the
    ``attrs["units"]`` of xarray/NetCDF outputs. Units that are already CF/UDUNITS strings
    (``"K"``, ``"bar"``, ``"m2 s-1"``) are returned unchanged.

    Parameters
    ----------
    unit : str
        A unit name as used in tables (a key of :data:`CF_UNITS`) or a UDUNITS string.

    Returns
    -------
    str

    Examples
    --------
    >>> cf_units("wt%"), cf_units("ppm"), cf_units("K")
    ('percent', '1e-6', 'K')
    """
    return CF_UNITS.get(str(unit), str(unit))


def oxide_cation(name: str) -> str | None:
    """Cation symbol of an oxide column (``"Al2O3"`` → ``"Al"``, ``"FeOT"`` → ``"Fe"``), else ``None``.

    Parameters
    ----------
    name : str
        Any header; aliases and mineral prefixes are resolved (``"Grt_FeO*"`` → ``"Fe"``).

    Returns
    -------
    str or None
        ``None`` for anything that is not a simple oxide :math:`M_xO_y` of the vocabulary
        (elements, volatiles such as ``H2O``, isotope ratios, metadata).

    Examples
    --------
    >>> oxide_cation("Al2O3"), oxide_cation("Grt_FeO*"), oxide_cation("La")
    ('Al', 'Fe', None)
    """
    if name_category(str(name)) != "oxide":
        return None
    try:
        return oxide_stoichiometry(str(name))[0]
    except InputError:
        return None


def _as_frame(data: T) -> tuple[pd.DataFrame, bool]:
    if isinstance(data, pd.Series):
        return data.to_frame().T, True
    if isinstance(data, pd.DataFrame):
        return data, False
    raise InputError(f"expected a pandas DataFrame or Series, got {type(data).__name__}")


def _back(df: pd.DataFrame, was_series: bool, template: pd.DataFrame | pd.Series) -> T:
    if was_series:
        out = df.iloc[0]
        out.name = template.name  # type: ignore[union-attr]
        return out  # type: ignore[return-value]
    return df  # type: ignore[return-value]


def _numeric(df: pd.DataFrame, cols: Iterable[str]) -> pd.DataFrame:
    return pd.DataFrame(
        {c: numeric_column(df[c], "non-numeric cell") for c in cols}, index=df.index
    )


def _chemical_columns(df: pd.DataFrame, categories: set[str]) -> list[str]:
    return [c for c in df.columns if name_category(str(c)) in categories]


def convert_units(
    data: T,
    from_unit: str,
    to_unit: str,
    *,
    columns: Iterable[str] | None = None,
) -> T:
    r"""Convert abundances between ``"wt%"``, ``"ppm"``, ``"ppb"``, ``"fraction"`` and ``"mol"``.

    Parameters
    ----------
    data : DataFrame or Series
        DataFrame (rows = analyses) or Series; columns named by species.
    from_unit, to_unit : str
        ``"mol"`` means moles of the species per 100 g of sample (wt% / M), the quantity used in
        formula recalculation and the CIPW norm.
    columns : Iterable[str] | None
        Columns to convert (default: every oxide, volatile and element column).

    Returns
    -------
    Same type as ``data``; other columns are copied unchanged.

    Notes
    -----
    Mass fractions: :math:`w_{ppm} = 10^4 w_{wt\%}`; moles per 100 g: :math:`n_i = w_{i,wt\%}/M_i`
    with :math:`M_i` the molar mass of species *i*.

    Examples
    --------
    >>> import pandas as pd
    >>> float(convert_units(pd.Series({"SiO2": 1.0}), "wt%", "ppm")["SiO2"])
    10000.0
    """
    units = set(UNIT_FACTORS) | {"mol"}
    for u, label in ((from_unit, "from_unit"), (to_unit, "to_unit")):
        if u not in units:
            raise ModelError(f"{label}={u!r} is not one of {sorted(units)}")
    df, was_series = _as_frame(data)
    cols = (
        list(columns)
        if columns is not None
        else _chemical_columns(df, {"oxide", "volatile", "element", "ree"})
    )
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise InputError(f"column(s) {missing} not in the table", column=missing[0])
    out = df.copy()
    values = _numeric(df, cols)
    for c in cols:
        v = values[c].to_numpy()
        if from_unit == "mol":
            v = v * molar_mass(c) / 100.0  # → mass fraction
        else:
            v = v / UNIT_FACTORS[from_unit]
        if to_unit == "mol":
            v = v * 100.0 / molar_mass(c)
        else:
            v = v * UNIT_FACTORS[to_unit]
        out[c] = v
    out.attrs = {**df.attrs, "units": {**df.attrs.get("units", {}), **dict.fromkeys(cols, to_unit)}}
    return _back(out, was_series, data)


def _split(name: str) -> tuple[str | None, str]:
    p = parse_column(str(name))
    return p.prefix, (p.name if p.name is not None else str(name))


def oxide_to_element(data: T, *, columns: Iterable[str] | None = None) -> T:
    r"""Convert oxide mass fractions to element mass fractions (same unit).

    Each oxide column :math:`M_xO_y` becomes a column of element :math:`M` with
    :math:`w_M = w_{ox}\, x M_M / M_{ox}`. Total-iron oxides give ``Fe``; when FeO and Fe2O3 are
    both present their Fe is summed.

    Parameters
    ----------
    data : DataFrame or Series
        Oxide abundances: DataFrame (rows = analyses) or Series (one analysis).
    columns : Iterable[str] | None
        Columns to convert (default: every oxide column).

    Examples
    --------
    >>> import pandas as pd
    >>> round(float(oxide_to_element(pd.Series({"SiO2": 100.0}))["Si"]), 2)
    46.74
    """
    df, was_series = _as_frame(data)
    cols = list(columns) if columns is not None else _chemical_columns(df, {"oxide"})
    values = _numeric(df, cols)
    out = df.drop(columns=cols).copy()
    new: dict[str, np.ndarray] = {}
    for c in cols:
        prefix, base = _split(c)
        el, n_cat, _ = oxide_stoichiometry(base)
        name = f"{prefix}_{el}" if prefix else el
        factor = n_cat * molar_mass(el) / molar_mass(base)
        v = values[c].to_numpy() * factor
        new[name] = np.nansum([new[name], v], axis=0) if name in new else v
    for name, v in new.items():
        if name in out.columns:
            raise InputError(
                f"element column {name!r} already present; cannot add converted oxide",
                column=name,
            )
        out[name] = v
    return _back(out, was_series, data)


def element_to_oxide(
    data: T, *, oxides: dict[str, str] | None = None, columns: Iterable[str] | None = None
) -> T:
    """Convert element mass fractions to oxide mass fractions (same unit).

    Parameters
    ----------
    data : DataFrame or Series
        Element abundances: DataFrame (rows = analyses) or Series (one analysis).
    oxides : dict[str, str] | None
        Element → oxide overrides of :data:`DEFAULT_OXIDES` (e.g. ``{"Fe": "Fe2O3T"}``).
    columns : Iterable[str] | None
        Columns to convert (default: every element and REE column).

    Examples
    --------
    >>> import pandas as pd
    >>> round(float(element_to_oxide(pd.Series({"Mg": 60.304}))["MgO"]), 2)
    100.0
    """
    table = {**DEFAULT_OXIDES, **(oxides or {})}
    df, was_series = _as_frame(data)
    cols = list(columns) if columns is not None else _chemical_columns(df, {"element", "ree"})
    values = _numeric(df, cols)
    out = df.drop(columns=cols).copy()
    for c in cols:
        prefix, el = _split(c)
        if el not in table:
            raise InputError(f"no default oxide for element {el!r}; pass oxides=", column=c)
        ox = table[el]
        el2, n_cat, _ = oxide_stoichiometry(ox)
        if el2 != el:
            raise ModelError(f"oxide {ox!r} given for {el!r} does not contain it")
        name = f"{prefix}_{ox}" if prefix else ox
        out[name] = values[c].to_numpy() * molar_mass(ox) / (n_cat * molar_mass(el))
    return _back(out, was_series, data)


def recalculate_iron(data: T, to: str = "FeOT", *, fe3_fe_total: float | None = None) -> T:
    r"""Express iron as ``"FeOT"``, ``"Fe2O3T"`` or split into ``"FeO+Fe2O3"``.

    All iron columns present (FeO, Fe2O3, FeOT, Fe2O3T) are first combined into total Fe (as
    FeO), then written in the requested form; the source iron columns are removed.

    Parameters
    ----------
    data : DataFrame or Series
        Analyses: DataFrame (rows = analyses) or Series (one analysis).
    to : str
        Target speciation.
    fe3_fe_total : float | None
        Molar Fe3+/ΣFe used to split total iron when ``to="FeO+Fe2O3"`` (required then).

    Notes
    -----
    :math:`FeO_T = FeO + 2 M_{FeO}/M_{Fe_2O_3}\,Fe_2O_3 = FeO + 0.89981\,Fe_2O_3` and
    :math:`Fe_2O_3^T = 1.11134\,FeO_T`. With :math:`r` = Fe3+/ΣFe:
    :math:`FeO = (1-r) FeO_T`, :math:`Fe_2O_3 = 1.11134\, r\, FeO_T`.
    If FeOT (or Fe2O3T) is given together with FeO or Fe2O3, the total column wins.

    Examples
    --------
    >>> import pandas as pd
    >>> round(float(recalculate_iron(pd.Series({"FeO": 5.0, "Fe2O3": 2.0}))["FeOT"]), 4)
    6.7996
    """
    targets = {"FeOT", "Fe2O3T", "FeO+Fe2O3"}
    if to not in targets:
        raise ModelError(f"to={to!r} is not one of {sorted(targets)}")
    if to == "FeO+Fe2O3":
        if fe3_fe_total is None or not 0.0 <= fe3_fe_total <= 1.0:
            raise ModelError("to='FeO+Fe2O3' needs fe3_fe_total in [0, 1]")
    df, was_series = _as_frame(data)
    k = 2.0 * molar_mass("FeO") / molar_mass("Fe2O3")  # Fe2O3 → FeO equivalent
    groups: dict[str | None, dict[str, str]] = {}
    for c in df.columns:
        prefix, base = _split(c)
        if base in {"FeO", "Fe2O3", "FeOT", "Fe2O3T"}:
            groups.setdefault(prefix, {})[base] = c
    if not groups:
        raise InputError("no iron column (FeO, Fe2O3, FeOT or Fe2O3T) in the table")
    out = df.copy()
    for prefix, found in groups.items():
        vals = _numeric(df, found.values())
        get = {b: vals[c].fillna(0.0).to_numpy() for b, c in found.items()}
        if "FeOT" in get:
            total = get["FeOT"]
        elif "Fe2O3T" in get:
            total = get["Fe2O3T"] * k
        else:
            total = get.get("FeO", 0.0) + k * get.get("Fe2O3", 0.0)
        out = out.drop(columns=list(found.values()))

        def name(b: str, prefix: str | None = prefix) -> str:
            return f"{prefix}_{b}" if prefix else b

        if to == "FeOT":
            out[name("FeOT")] = total
        elif to == "Fe2O3T":
            out[name("Fe2O3T")] = total / k
        else:
            r = float(fe3_fe_total)  # type: ignore[arg-type]
            out[name("FeO")] = (1.0 - r) * total
            out[name("Fe2O3")] = r * total / k
    return _back(out, was_series, data)


def renormalise_volatile_free(
    data: T, *, total: float = 100.0, volatiles: Iterable[str] = VOLATILES
) -> T:
    r"""Drop volatile columns and rescale the oxides of each analysis to ``total``.

    Parameters
    ----------
    data : DataFrame or Series
        Analyses: DataFrame (rows = analyses) or Series (one analysis).
    total : float
        Sum of the oxides after rescaling (wt%).
    volatiles : Iterable[str]
        Names of the volatile columns to drop (default :data:`VOLATILES`).

    Notes
    -----
    :math:`w_i' = w_i \cdot \text{total} / \sum_{j \notin V} w_j` over oxide columns only
    (trace elements in ppm are left as they are; a ``Total`` column is recomputed).

    Examples
    --------
    >>> import pandas as pd
    >>> s = renormalise_volatile_free(pd.Series({"SiO2": 45.0, "MgO": 45.0, "LOI": 10.0}))
    >>> float(s["SiO2"])
    50.0
    """
    df, was_series = _as_frame(data)
    vol = set(volatiles)
    drop = [c for c in df.columns if _split(c)[1] in vol]
    oxides = [c for c in _chemical_columns(df, {"oxide"}) if c not in drop]
    if not oxides:
        raise InputError("no oxide columns to renormalise")
    vals = _numeric(df, oxides)
    s = vals.sum(axis=1, min_count=1)
    bad = ~(s > 0)
    if bad.any():
        row = df.index[np.flatnonzero(bad.to_numpy())[0]]
        raise InputError("oxides sum to zero; cannot renormalise", row=row)
    out = df.drop(columns=drop).copy()
    scaled = vals.mul(total / s, axis=0)
    for c in oxides:
        out[c] = scaled[c]
    totals = [c for c in out.columns if _split(c)[1] == "Total"]
    for c in totals:
        out[c] = scaled.sum(axis=1)
    return _back(out, was_series, data)
