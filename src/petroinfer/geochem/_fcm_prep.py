"""Input validation and compositional preprocessing for the fuzzy c-means estimators."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from petroinfer.errors import InputError, ModelError

__all__ = ["Preprocessor", "check_coordinates", "check_table"]

PREPROCESSING = ("standardise", "log-standardise", "clr", "none")


def check_table(
    X: Any, *, missing: str, name: str = "X", min_samples: int = 2
) -> tuple[np.ndarray, list[str], Any]:
    """Validate a samples × features table; return (values, column names, row labels).

    Infinite values are always refused; NaN is refused unless ``missing="pds"`` (partial distance
    strategy), and then a sample with no value at all is refused. Messages name row, column, value.
    """
    if isinstance(X, pd.DataFrame):
        cols = [str(c) for c in X.columns]
        index = X.index
        bad = [c for c in X.columns if not pd.api.types.is_numeric_dtype(X[c])]
        if bad:
            c = bad[0]
            conv = pd.to_numeric(X[c], errors="coerce")
            r = (
                X.index[np.flatnonzero(conv.isna() & X[c].notna())[0]]
                if (conv.isna() & X[c].notna()).any()
                else X.index[0]
            )
            raise InputError(f"{name}: non-numeric value", column=str(c), row=r, value=X.at[r, c])
        if index.has_duplicates:
            dup = index[index.duplicated()][0]
            raise InputError(f"{name}: duplicated sample id", row=dup)
        A = X.to_numpy(dtype=float)
    else:
        from sklearn.utils import check_array

        try:  # sklearn's messages for sparse, complex, object, empty and 1-sample input
            A = check_array(X, dtype=float, ensure_all_finite=False, ensure_min_samples=min_samples)
        except ValueError as exc:
            if isinstance(exc, InputError):
                raise
            raise InputError(f"{name}: {exc}") from exc
        cols = [f"x{j}" for j in range(A.shape[1])]
        index = np.arange(A.shape[0])
    if A.shape[0] < min_samples or A.shape[1] < 1:
        raise InputError(
            f"{name} needs at least {min_samples} samples and 1 feature", value=A.shape
        )
    inf = np.isinf(A)
    nan = np.isnan(A)
    if inf.any() or (nan.any() and missing != "pds"):
        k, j = np.argwhere(inf | nan if missing != "pds" else inf)[0]
        hint = "" if inf[k, j] else "; pass missing='pds' to cluster incomplete samples"
        raise InputError(
            f"{name}: non-finite value (NaN or infinity){hint}",
            column=cols[j],
            row=_label(index, k),
            value=A[k, j],
        )
    if nan.any():
        empty = np.flatnonzero(nan.all(axis=1))
        if empty.size:
            raise InputError(f"{name}: sample has no value at all", row=_label(index, empty[0]))
        allnan = np.flatnonzero(nan.all(axis=0))
        if allnan.size:
            raise InputError(f"{name}: column has no value at all", column=cols[allnan[0]])
    return A, cols, index


def _label(index: Any, k: int) -> Any:
    v = index[k]
    return v.item() if hasattr(v, "item") else v


def check_coordinates(
    C: Any, n: int, index: Any, *, name: str = "coordinates", duplicates: str = "error"
) -> np.ndarray:
    """Validate (n, 2) coordinates: finite, right length, no two samples at the same place."""
    try:
        A = np.asarray(C, dtype=float)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{name} must be numbers ({exc})") from exc
    if A.ndim != 2 or A.shape[1] != 2 or A.shape[0] != n:
        raise InputError(f"{name} must have shape ({n}, 2)", value=A.shape)
    bad = ~np.isfinite(A)
    if bad.any():
        k, j = np.argwhere(bad)[0]
        raise InputError(
            f"{name}: missing or non-finite coordinate",
            column=("x", "y")[j],
            row=_label(index, k),
            value=A[k, j],
        )
    if duplicates == "keep":
        return A
    _, first, counts = np.unique(A, axis=0, return_index=True, return_counts=True)
    if (counts > 1).any():
        where = A[first[np.flatnonzero(counts > 1)[0]]]
        rows = np.flatnonzero(np.all(A == where, axis=1))[:2]
        raise InputError(
            f"{name}: samples {_label(index, rows[0])!r} and {_label(index, rows[1])!r} have the "
            "same coordinates ({int((counts > 1).sum())} duplicated locations); average them, or "
            "pass duplicates='keep' to treat co-located samples as neighbours",
            row=_label(index, rows[1]),
            value=tuple(where),
        )
    return A


class Preprocessor:
    """Column transforms applied before clustering; the inverse maps centres back to input units."""

    def __init__(self, kind: str) -> None:
        if kind not in PREPROCESSING:
            raise ModelError(f"preprocessing must be one of {PREPROCESSING}; got {kind!r}")
        self.kind = kind

    def fit_transform(self, A: np.ndarray, cols: list[str], index: Any) -> np.ndarray:
        Z = A
        if self.kind in ("log-standardise", "clr"):
            bad = A <= 0
            if bad.any():
                k, j = np.argwhere(bad)[0]
                raise InputError(
                    f"preprocessing {self.kind!r} takes logarithms: values must be > 0",
                    column=cols[j],
                    row=_label(index, k),
                    value=A[k, j],
                )
            Z = np.log(A)
        if self.kind == "clr":
            if np.isnan(Z).any():
                raise InputError("preprocessing 'clr' needs complete compositions (no NaN)")
            from petroinfer.composition import clr

            return np.asarray(clr(A), dtype=float)
        if self.kind == "none":
            self.mean_, self.scale_ = np.zeros(A.shape[1]), np.ones(A.shape[1])
            return Z
        self.mean_ = np.nanmean(Z, axis=0)
        sd = np.nanstd(Z, axis=0, ddof=1)
        const = np.flatnonzero(~(sd > 0))
        if const.size:
            raise InputError("column is constant; it cannot be standardised", column=cols[const[0]])
        self.scale_ = sd
        return (Z - self.mean_) / self.scale_

    def transform(self, A: np.ndarray) -> np.ndarray:
        if self.kind == "clr":
            from petroinfer.composition import clr

            return np.asarray(clr(A), dtype=float)
        Z = np.log(A) if self.kind == "log-standardise" else A
        return (Z - self.mean_) / self.scale_

    def inverse(self, Z: np.ndarray) -> np.ndarray | None:
        """Centres in input units (``None`` for clr, whose inverse needs the closure constant)."""
        if self.kind == "clr":
            return None
        A = Z * self.scale_ + self.mean_
        return np.exp(A) if self.kind == "log-standardise" else A
