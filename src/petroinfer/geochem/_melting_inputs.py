"""Input resolution for the melting models: source and partition coefficients by name, data tables.

Part of the implementation behind :mod:`petroinfer.geochem.melting`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from petroinfer.composition import name_category, partition_coefficients, reference_composition
from petroinfer.errors import InputError, ModelError
from petroinfer.geochem._tables import as_numeric_frame

__all__ = ["check_F", "element_columns", "resolve_D", "resolve_source", "sample_table"]


def resolve_source(source: Any, elements: Sequence[str]) -> pd.Series:
    """Source concentrations (ppm) of ``elements``: a reference name (``"DMM"``) or a Series."""
    if isinstance(source, str):
        ref = reference_composition(source)
    elif isinstance(source, pd.Series):
        ref = source.astype(float)
    elif isinstance(source, dict):
        ref = pd.Series(source, dtype=float)
    else:
        raise ModelError(
            f"source must be a reference-composition name or a Series of ppm; got {type(source).__name__}"
        )
    missing = [e for e in elements if e not in ref.index]
    if missing:
        raise InputError(
            f"source {getattr(ref, 'name', '')!r} has no concentration for this element",
            column=missing[0],
        )
    out = ref.loc[list(elements)].astype(float)
    bad = out[~(out > 0) | ~np.isfinite(out)]
    if len(bad):
        raise InputError(
            "source concentrations must be positive", column=str(bad.index[0]), value=bad.iloc[0]
        )
    out.attrs = {"units": "ppm", "reference": ref.attrs.get("reference", "user")}
    return out


def resolve_D(partition: Any, elements: Sequence[str], what: str = "partition") -> pd.Series:
    """Bulk D of ``elements``: a table name (its ``bulk`` row), a Series, or a phase × element table."""
    if isinstance(partition, str):
        table = partition_coefficients(partition, elements=list(elements))
        if "bulk" not in table.index:
            raise ModelError(
                f"partition-coefficient table {partition!r} has no bulk row; compute D with "
                "bulk_partition_coefficient(modes, table) and pass it as a Series"
            )
        D = table.loc["bulk"]
    elif isinstance(partition, pd.DataFrame):
        if "bulk" not in partition.index:
            raise ModelError(f"{what}: a DataFrame of coefficients needs a 'bulk' row")
        D = partition.loc["bulk"]
    elif isinstance(partition, (pd.Series, dict)):
        D = pd.Series(partition, dtype=float)
    else:
        raise ModelError(
            f"{what} must be a table name, a Series or a DataFrame; got {type(partition).__name__}"
        )
    missing = [e for e in elements if e not in D.index]
    if missing:
        raise InputError(f"no {what} coefficient for this element", column=missing[0])
    D = D.loc[list(elements)].astype(float)
    bad = D[~(D > 0) | ~np.isfinite(D)]
    if len(bad):
        raise InputError(
            f"{what} coefficients must be positive and finite",
            column=str(bad.index[0]),
            value=bad.iloc[0],
        )
    return D


def check_F(F: Any, name: str = "F") -> np.ndarray:
    """Melt fractions as an array in [0, 1)."""
    arr = np.asarray(F, dtype=float)
    if not np.all(np.isfinite(arr)) or np.any(arr < 0) or np.any(arr >= 1):
        bad = arr.ravel()[~(np.isfinite(arr.ravel()) & (arr.ravel() >= 0) & (arr.ravel() < 1))][0]
        raise InputError(f"{name} must be a melt fraction in [0, 1)", column=name, value=bad)
    return arr


def element_columns(columns: Sequence[str]) -> list[str]:
    """Trace-element columns (element symbols in ppm; oxides and labels are left out)."""
    return [c for c in columns if name_category(str(c)) in {"element", "ree"}]


def sample_table(
    data: Any, elements: Sequence[str] | None, *, min_elements: int = 3
) -> pd.DataFrame:
    """Validated table of positive concentrations, rows = samples, columns = elements (ppm)."""
    if isinstance(data, pd.Series):
        data = data.to_frame().T
    if not isinstance(data, pd.DataFrame):
        raise InputError(
            f"data must be a pandas DataFrame (samples × elements, ppm); got {type(data).__name__}"
        )
    df = data.copy()
    for col in df.columns:
        if str(col).lower() in {"sample", "sample_id", "id"}:
            df = df.set_index(col)
            break
    if elements is None:
        elements = element_columns([str(c) for c in df.columns])
    else:
        missing = [e for e in elements if e not in df.columns]
        if missing:
            raise InputError("requested element is not a column of the data", column=missing[0])
    if len(elements) < min_elements:
        raise InputError(
            f"at least {min_elements} trace-element columns (ppm) are needed; found {list(elements)}"
        )
    table = as_numeric_frame(df[list(elements)], name="melting data", allow_zero=False)
    table.index = [str(i) for i in table.index]
    table.index.name = "sample"
    table.columns.name = "element"
    return table
