"""The inclusion-thermobarometry forward model behind :class:`~petroinfer.ptpath.InclusionPTPath`.

:func:`prepare_inclusions` validates the inclusion table (rows are named by their sample id: the
table's index, or an ``id``/``sample``/``sample_id``/``analysis`` column when the index is a plain
0-based range) and :class:`InclusionProblem` evaluates the scaled equilibrium residuals
``g_k = [ΔG°(T, P) + R T ln K(c_k)] / (R T)`` of the Grt–Bt exchange (biotite inclusions) and GASP
(plagioclase inclusions) at the path interpolated to each inclusion, their Jacobian and the σ of
each residual propagated from the analytical SDs of the six mole fractions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from petroinfer.errors import InputError
from petroinfer.thermo import COMPOSITION_COLUMNS, mineral_fractions
from petroinfer.units import GAS_CONSTANT, celsius_to_kelvin, kbar_to_bar

__all__ = ["ID_COLUMNS", "InclusionProblem", "prepare_inclusions", "with_sample_ids"]

_KINDS = {"biotite": "biotite", "bt": "biotite", "plagioclase": "plagioclase", "pl": "plagioclase",
          "plag": "plagioclase"}  # fmt: skip
#: Columns that name the rows when the table's index is a plain 0-based range.
ID_COLUMNS = ("id", "sample", "sample_id", "analysis", "Sample", "ID")


def with_sample_ids(data: pd.DataFrame) -> pd.DataFrame:
    """``data`` indexed by its sample ids: an id column replaces a default 0-based index; duplicated
    ids are refused (a row must be identifiable in every message)."""
    if isinstance(data.index, pd.RangeIndex):
        for col in ID_COLUMNS:
            if col in data.columns:
                data = data.set_index(col)
                break
    dup = data.index.duplicated()
    if dup.any():
        i = int(np.flatnonzero(dup)[0])
        raise InputError(
            "duplicated sample id: every inclusion needs its own id",
            column=data.index.name or "index",
            row=data.index[i],
        )
    return data


def prepare_inclusions(
    data: pd.DataFrame, sigma: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Validate an inclusion table and return its arrays.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per inclusion, core → rim (see :meth:`InclusionPTPath.fit`), indexed by sample id
        (see :func:`with_sample_ids`; call it first).
    sigma : float or dict
        Analytical 1σ of each mole fraction where no ``<column>_sd`` column is given.

    Returns
    -------
    radius : numpy.ndarray
        Shape ``(m,)``.
    is_biotite : numpy.ndarray of bool
        Shape ``(m,)``.
    compositions : numpy.ndarray
        ``(m, 6)`` mole fractions in the order of ``petroinfer.thermo.COMPOSITION_COLUMNS``.
    sd : numpy.ndarray
        ``(m, 6)`` analytical SDs (zero for the mineral an inclusion does not contain).
    """
    if not isinstance(data, pd.DataFrame):
        raise InputError("inclusion data must be a pandas DataFrame", value=type(data).__name__)
    for col in ("radius", "inclusion"):
        if col not in data.columns:
            raise InputError(
                "missing column (needs radius, inclusion, host-garnet and inclusion compositions)",
                column=col,
            )
    if len(data) < 3:
        raise InputError(f"need at least 3 inclusions, got {len(data)}")
    rad = pd.to_numeric(data["radius"], errors="coerce").to_numpy(dtype=float)
    bad = np.flatnonzero(~np.isfinite(rad))
    if bad.size:
        i = int(bad[0])
        raise InputError(
            "radius must be a finite number",
            column="radius",
            row=data.index[i],
            value=data["radius"].iloc[i],
        )
    dec = np.flatnonzero(np.diff(rad) < 0)
    if dec.size:
        i = int(dec[0]) + 1
        raise InputError(
            "radius is not monotone: rows must be ordered core → rim (non-decreasing radius)",
            column="radius",
            row=data.index[i],
            value=float(rad[i]),
        )
    kinds = data["inclusion"].astype(str).str.strip().str.lower()
    unknown = ~kinds.isin(list(_KINDS))
    if unknown.any():
        i = int(np.flatnonzero(unknown.to_numpy())[0])
        raise InputError(
            "inclusion must be 'biotite' or 'plagioclase'",
            column="inclusion",
            row=data.index[i],
            value=data["inclusion"].iloc[i],
        )
    is_bt = kinds.map(_KINDS).to_numpy() == "biotite"
    full = data.copy()
    for col, mask in (("Bt_XMg", ~is_bt), ("Pl_XAn", is_bt)):
        if col not in full.columns:
            if (~mask).any():
                raise InputError(
                    f"missing column {col} for {'biotite' if col == 'Bt_XMg' else 'plagioclase'} "
                    "inclusions",
                    column=col,
                )
            full[col] = 0.5
        else:
            full[col] = full[col].astype(object).where(~mask, 0.5)
    fr = mineral_fractions(full)
    c = fr[list(COMPOSITION_COLUMNS)].to_numpy(dtype=float)
    sig = np.empty_like(c)
    for j, col in enumerate(COMPOSITION_COLUMNS):
        if f"{col}_sd" in data.columns:
            raw = data[f"{col}_sd"]
            sig[:, j] = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float)
            bad = np.flatnonzero(~np.isfinite(sig[:, j]) | (sig[:, j] < 0))
            if bad.size:
                i = int(bad[0])
                raise InputError(
                    "analytical SDs must be finite and >= 0",
                    column=f"{col}_sd",
                    row=data.index[i],
                    value=raw.iloc[i],
                )
        else:
            sig[:, j] = sigma.get(col, 0.005) if isinstance(sigma, dict) else float(sigma)
    if np.any(~np.isfinite(sig) | (sig < 0)):
        raise InputError("analytical SDs must be finite and >= 0", column="sigma", value=sigma)
    sig[is_bt, 5] = 0.0
    sig[~is_bt, 4] = 0.0
    return rad, is_bt, c, sig


@dataclass
class InclusionProblem:
    """Scaled residuals of the inclusion equilibria along an interpolated (T [K], P [kbar]) path.

    ``W`` interpolates node values to the inclusion radii; ``teq``/``beq`` are the thermometer and
    barometer :class:`~petroinfer.thermo.Equilibrium` objects.
    """

    rad: np.ndarray
    is_bt: np.ndarray
    c: np.ndarray
    sig: np.ndarray
    teq: object
    beq: object
    s: np.ndarray
    W: sp.csr_matrix

    @property
    def m(self) -> int:
        return self.rad.size

    def __post_init__(self) -> None:
        self.coef = self._coefficients(self.c)
        self._std = {True: self.teq.fast_standard(), False: self.beq.fast_standard()}

    def _coefficients(self, c: np.ndarray, is_bt: np.ndarray | None = None) -> np.ndarray:
        is_bt = self.is_bt if is_bt is None else is_bt
        k = np.empty((len(c), 3))
        if is_bt.any():
            k[is_bt] = self.teq.linear_coefficients(c[is_bt])
        if (~is_bt).any():
            k[~is_bt] = self.beq.linear_coefficients(c[~is_bt])
        return k

    def g(
        self, T: np.ndarray, Pk: np.ndarray, c: np.ndarray | None = None, is_bt=None, coef=None
    ) -> np.ndarray:
        """Scaled residuals r/(RT) for flat arrays T (K), P (kbar); r = ΔG°(T, P) + k0 + kT T + kP P."""
        is_bt = self.is_bt if is_bt is None else is_bt
        if coef is not None:
            k = coef
        elif c is None:
            k = self.coef if len(T) == self.m else np.tile(self.coef, (len(T) // self.m, 1))
        else:
            k = self._coefficients(c, is_bt)
        P = kbar_to_bar(Pk)
        std = np.where(is_bt, self._std[True](T, P), self._std[False](T, P))
        return (std + k[:, 0] + k[:, 1] * T + k[:, 2] * P) / (GAS_CONSTANT * T)

    def forward(self, x: np.ndarray) -> np.ndarray:
        return self.g(self.W @ x[:, 0], self.W @ x[:, 1])

    def forward_batch(self, T: np.ndarray, P: np.ndarray) -> np.ndarray:
        n = T.shape[0]
        Tk = (self.W @ T.T).T.ravel()
        Pk = (self.W @ P.T).T.ravel()
        bt = np.tile(self.is_bt, n)
        return self.g(Tk, Pk, None, bt).reshape(n, self.m)

    def jacobian(self, x: np.ndarray) -> sp.csr_matrix:
        T, P = self.W @ x[:, 0], self.W @ x[:, 1]
        dT = (self.g(T + 0.01, P) - self.g(T - 0.01, P)) / 0.02
        dP = (self.g(T, P + 1e-3) - self.g(T, P - 1e-3)) / 2e-3
        Wc = self.W.tocoo()
        rows = np.concatenate([Wc.row, Wc.row])
        cols = np.concatenate([2 * Wc.col, 2 * Wc.col + 1])
        vals = np.concatenate([Wc.data * dT[Wc.row], Wc.data * dP[Wc.row]])
        return sp.csr_matrix((vals, (rows, cols)), shape=(self.m, 2 * self.s.size))

    def sigma_k(self, x: np.ndarray) -> np.ndarray:
        """σ of each scaled residual propagated from the analytical SDs of the mole fractions."""
        T, P = self.W @ x[:, 0], self.W @ x[:, 1]
        var = np.zeros(self.m)
        for j in range(self.c.shape[1]):
            h = 1e-6
            cp, cm = self.c.copy(), self.c.copy()
            cp[:, j] += h
            cm[:, j] -= h
            d = (self.g(T, P, cp) - self.g(T, P, cm)) / (2 * h)
            var += (d * self.sig[:, j]) ** 2
        return np.sqrt(np.maximum(var, 1e-12))

    def _median_root(self, rows, var: str, x0: float, fixed: float, h: float, bounds) -> float:
        """Median over ``rows`` of the root in T (``var="T"``, biotite rows, P fixed) or in P
        (``var="P"``, plagioclase rows, T fixed): 30 clipped finite-difference Newton steps."""
        k = int(rows.sum())
        x, y = np.full(k, x0), np.full(k, fixed)
        is_bt, coef = np.full(k, var == "T"), self.coef[rows]

        def g(xa):
            T, P = (xa, y) if var == "T" else (y, xa)
            return self.g(T, P, None, is_bt, coef)

        for _ in range(30):
            d = (g(x + h) - g(x - h)) / (2 * h)
            x = np.clip(x - g(x) / np.where(d == 0, 1e-12, d), *bounds)
        return float(np.median(x))

    def start(self) -> np.ndarray:
        """Constant starting path: median thermometer T at P0, median barometer P at that T (twice)."""
        T0, P0 = float(celsius_to_kelvin(600.0)), 6.0
        bt, pl = self.is_bt, ~self.is_bt
        for _ in range(2):
            if bt.any():
                T0 = self._median_root(bt, "T", T0, P0, 0.01, (400.0, 1500.0))
            if pl.any():
                P0 = self._median_root(pl, "P", P0, T0, 1e-3, (0.1, 30.0))
        n = self.s.size
        return np.column_stack([np.full(n, T0), np.full(n, P0)])
