"""Closure and log-ratio transforms of compositional data (Aitchison geometry).

Compositions are vectors of positive parts carrying only relative information (DESIGN.md §2).
These functions accept a DataFrame (rows = analyses, columns = parts), a 2-D array or a 1-D
array / Series (one composition) and return the same kind of object. DataFrame outputs carry
``attrs["logratio"]`` so that the inverse transform restores the original part names.

References
----------
Aitchison, J. (1986) *The Statistical Analysis of Compositional Data*. Chapman & Hall.
Egozcue, J.J., Pawlowsky-Glahn, V., Mateu-Figueras, G. & Barceló-Vidal, C. (2003) Isometric
logratio transformations for compositional data analysis. *Math. Geol.* 35, 279–300.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from petroinfer.errors import InputError, ModelError

__all__ = [
    "alr",
    "close",
    "clr",
    "helmert_basis",
    "ilr",
    "inverse_alr",
    "inverse_clr",
    "inverse_ilr",
]


def _to_array(X: Any) -> tuple[np.ndarray, Any]:
    """2-D float array plus what is needed to rebuild the caller's type."""
    if isinstance(X, pd.DataFrame):
        arr = X.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
        bad = np.isnan(arr) & X.notna().to_numpy()
        if bad.any():
            i, j = np.argwhere(bad)[0]
            raise InputError(
                "non-numeric cell", column=str(X.columns[j]), row=X.index[i], value=X.iat[i, j]
            )
        return arr, ("frame", X.index, list(X.columns), X.attrs)
    if isinstance(X, pd.Series):
        arr = pd.to_numeric(X, errors="coerce").to_numpy(dtype=float)[None, :]
        return arr, ("series", X.name, list(X.index), X.attrs)
    arr = np.asarray(X, dtype=float)
    if arr.ndim == 1:
        return arr[None, :], ("1d", None, None, {})
    if arr.ndim != 2:
        raise InputError(f"expected a 1-D or 2-D composition array, got {arr.ndim} dimensions")
    return arr, ("2d", None, None, {})


def _from_array(arr: np.ndarray, info: Any, columns: Sequence[str] | None, attrs: dict) -> Any:
    kind, index_or_name, _, old_attrs = info
    if kind == "frame":
        out = pd.DataFrame(arr, index=index_or_name, columns=columns)
        out.attrs = {**old_attrs, **attrs}
        return out
    if kind == "series":
        out = pd.Series(arr[0], index=columns, name=index_or_name)
        out.attrs = {**old_attrs, **attrs}
        return out
    return arr[0] if kind == "1d" else arr


def _label(info: Any, i: int, j: int) -> tuple[Any, Any]:
    kind, index_or_name, cols, _ = info
    row = index_or_name[i] if kind == "frame" else (index_or_name if kind == "series" else i)
    col = cols[j] if cols is not None else j
    return row, col


def _check_positive(arr: np.ndarray, info: Any, *, allow_zero: bool = False) -> None:
    bad = ~np.isfinite(arr) | (arr < 0 if allow_zero else arr <= 0)
    if bad.any():
        i, j = np.argwhere(bad)[0]
        row, col = _label(info, i, j)
        what = "non-negative" if allow_zero else "strictly positive (log-ratios need no zeros)"
        raise InputError(
            f"composition parts must be finite and {what}; "
            f"{int(bad.sum())} bad cell(s), replace zeros/missing values explicitly",
            column=str(col),
            row=row,
            value=float(arr[i, j]),
        )


def close(X: Any, total: float = 1.0) -> Any:
    r"""Closure: rescale each composition so that its parts sum to ``total``.

    Parameters
    ----------
    X : Any
        Composition(s): a 1-D vector of parts, a 2-D array (rows = analyses) or a DataFrame.
    total : float
        Sum of the parts after closure (1 for proportions, 100 for wt%).

    Notes
    -----
    :math:`\mathcal{C}(x)_i = \kappa\, x_i / \sum_j x_j` (Aitchison 1986, Def. 2.1).

    Examples
    --------
    >>> close([1.0, 3.0]).tolist()
    [0.25, 0.75]
    """
    arr, info = _to_array(X)
    _check_positive(arr, info, allow_zero=True)
    s = arr.sum(axis=1)
    if np.any(s <= 0):
        i = int(np.flatnonzero(s <= 0)[0])
        row, _ = _label(info, i, 0)
        raise InputError("composition with all parts zero cannot be closed", row=row, value=0.0)
    return _from_array(total * arr / s[:, None], info, info[2], {})


def clr(X: Any) -> Any:
    r"""Centred log-ratio transform.

    Parameters
    ----------
    X : Any
        Composition(s): a 1-D vector of parts, a 2-D array (rows = analyses) or a DataFrame.

    Notes
    -----
    :math:`\mathrm{clr}(x)_i = \ln x_i - \frac{1}{D}\sum_j \ln x_j` (Aitchison 1986).
    The result sums to zero along each row; it is scale invariant, so closure is not needed.

    Examples
    --------
    >>> clr([1.0, 1.0]).tolist()
    [0.0, 0.0]
    """
    arr, info = _to_array(X)
    _check_positive(arr, info)
    lx = np.log(arr)
    out = lx - lx.mean(axis=1, keepdims=True)
    return _from_array(out, info, info[2], {"logratio": {"kind": "clr", "parts": info[2]}})


def inverse_clr(Y: Any, total: float = 1.0) -> Any:
    r"""Inverse of :func:`clr`: :math:`x = \mathcal{C}(\exp y)`.

    Parameters
    ----------
    Y : Any
        Centred log-ratio coordinates (D per analysis), as returned by :func:`clr`.
    total : float
        Sum of the parts of the result.

    Returns
    -------
    Any
        Compositions of the same kind as ``Y`` (array or DataFrame), rows summing to ``total``.
    """
    arr, info = _to_array(Y)
    out = np.exp(arr - arr.max(axis=1, keepdims=True))
    out = total * out / out.sum(axis=1, keepdims=True)
    parts = (info[3].get("logratio") or {}).get("parts") or info[2]
    attrs = {k: v for k, v in info[3].items() if k != "logratio"}
    return _from_array(out, (info[0], info[1], parts, attrs), parts, {})


def _ref_index(reference: int | str, cols: Sequence[Any] | None, D: int) -> int:
    if isinstance(reference, str):
        if cols is None or reference not in cols:
            raise ModelError(f"reference={reference!r} is not one of the parts {cols}")
        return list(cols).index(reference)
    if not -D <= int(reference) < D:
        raise ModelError(f"reference={reference} out of range for {D} parts")
    return int(reference) % D


def alr(X: Any, reference: int | str = -1) -> Any:
    r"""Additive log-ratio transform against one reference part.

    Parameters
    ----------
    X : Any
        Composition(s): a 1-D vector of parts, a 2-D array (rows = analyses) or a DataFrame.
    reference : int | str
        Position or name of the denominator part (default: the last part).

    Notes
    -----
    :math:`\mathrm{alr}(x)_i = \ln(x_i/x_r)` for :math:`i \ne r` (Aitchison 1986).

    Examples
    --------
    >>> alr([1.0, 1.0, 2.0]).round(4).tolist()
    [-0.6931, -0.6931]
    """
    arr, info = _to_array(X)
    _check_positive(arr, info)
    D = arr.shape[1]
    r = _ref_index(reference, info[2], D)
    keep = [i for i in range(D) if i != r]
    out = np.log(arr[:, keep]) - np.log(arr[:, [r]])
    cols = info[2]
    new_cols = [f"ln({cols[i]}/{cols[r]})" for i in keep] if cols is not None else None
    return _from_array(
        out, info, new_cols, {"logratio": {"kind": "alr", "parts": cols, "reference": r}}
    )


def inverse_alr(
    Y: Any, reference: int = -1, *, parts: Sequence[str] | None = None, total: float = 1.0
) -> Any:
    """Inverse of :func:`alr`; the reference part is re-inserted at position ``reference``.

    Part names and position are taken from ``Y.attrs["logratio"]`` when ``Y`` came from
    :func:`alr`; otherwise pass ``parts``.

    Parameters
    ----------
    Y : Any
        Log-ratio coordinates (D−1 per analysis), as returned by :func:`alr`.
    reference : int
        Position of the reference part in the reconstructed composition.
    parts : Sequence[str] | None
        Names of the D parts of the result (default: taken from ``Y`` when it carries them).
    total : float
        Sum of the parts of the result.
    """
    arr, info = _to_array(Y)
    meta = info[3].get("logratio") or {}
    parts = parts if parts is not None else meta.get("parts")
    D = arr.shape[1] + 1
    r = int(meta.get("reference", reference)) % D
    full = np.insert(arr, r, 0.0, axis=1)
    out = np.exp(full - full.max(axis=1, keepdims=True))
    out = total * out / out.sum(axis=1, keepdims=True)
    attrs = {k: v for k, v in info[3].items() if k != "logratio"}
    return _from_array(out, (info[0], info[1], parts, attrs), parts, {})


def helmert_basis(D: int) -> np.ndarray:
    r"""Orthonormal (D−1)×D contrast matrix of the Helmert type (rows sum to zero).

    Parameters
    ----------
    D : int
        Number of parts (at least 2).

    Notes
    -----
    Row *i* (1-based): :math:`1/\sqrt{i(i+1)}` for the first *i* parts, :math:`-i/\sqrt{i(i+1)}`
    for part *i+1*, zero afterwards (Egozcue et al. 2003, Eq. 2 style balances).
    :math:`V V^T = I_{D-1}`, :math:`V \mathbf{1} = 0`.
    """
    if D < 2:
        raise ModelError(f"an ilr basis needs at least 2 parts, got {D}")
    V = np.zeros((D - 1, D))
    for i in range(1, D):
        V[i - 1, :i] = 1.0 / np.sqrt(i * (i + 1))
        V[i - 1, i] = -i / np.sqrt(i * (i + 1))
    return V


def ilr(X: Any, basis: np.ndarray | None = None) -> Any:
    r"""Isometric log-ratio transform.

    Parameters
    ----------
    X : Any
        Composition(s): a 1-D vector of parts, a 2-D array (rows = analyses) or a DataFrame.
    basis : ndarray | None
        Orthonormal (D−1)×D contrast matrix; default :func:`helmert_basis`.

    Notes
    -----
    :math:`\mathrm{ilr}(x) = V\,\mathrm{clr}(x)` (Egozcue et al. 2003). The map is an isometry
    between the simplex with the Aitchison metric and :math:`\mathbb{R}^{D-1}`.

    Examples
    --------
    >>> ilr([1.0, 1.0, 1.0]).round(12).tolist()
    [0.0, 0.0]
    """
    arr, info = _to_array(X)
    _check_positive(arr, info)
    D = arr.shape[1]
    V = helmert_basis(D) if basis is None else np.asarray(basis, dtype=float)
    if V.shape != (D - 1, D):
        raise ModelError(f"basis must have shape {(D - 1, D)}, got {V.shape}")
    lx = np.log(arr)
    out = (lx - lx.mean(axis=1, keepdims=True)) @ V.T
    cols = [f"ilr{i + 1}" for i in range(D - 1)] if info[2] is not None else None
    return _from_array(
        out, info, cols, {"logratio": {"kind": "ilr", "parts": info[2], "basis": V.tolist()}}
    )


def inverse_ilr(
    Y: Any,
    basis: np.ndarray | None = None,
    *,
    parts: Sequence[str] | None = None,
    total: float = 1.0,
) -> Any:
    r"""Inverse of :func:`ilr`: :math:`x = \mathcal{C}(\exp(V^T y))`.

    Parameters
    ----------
    Y : Any
        Isometric log-ratio coordinates (D−1 per analysis), as returned by :func:`ilr`.
    basis : ndarray | None
        The (D−1)×D contrast matrix used by :func:`ilr` (default :func:`helmert_basis`).
    parts : Sequence[str] | None
        Names of the D parts of the result.
    total : float
        Sum of the parts of the result.

    Returns
    -------
    Any
        Compositions of the same kind as ``Y`` (array or DataFrame), rows summing to ``total``.
    """
    arr, info = _to_array(Y)
    meta = info[3].get("logratio") or {}
    if basis is None and "basis" in meta:
        basis = np.asarray(meta["basis"], dtype=float)
    D = arr.shape[1] + 1
    V = helmert_basis(D) if basis is None else np.asarray(basis, dtype=float)
    if V.shape != (D - 1, D):
        raise ModelError(f"basis must have shape {(D - 1, D)}, got {V.shape}")
    z = arr @ V
    out = np.exp(z - z.max(axis=1, keepdims=True))
    out = total * out / out.sum(axis=1, keepdims=True)
    parts = parts if parts is not None else meta.get("parts")
    attrs = {k: v for k, v in info[3].items() if k != "logratio"}
    return _from_array(out, (info[0], info[1], parts, attrs), parts, {})
