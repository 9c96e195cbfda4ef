"""Input handling and the forward link of :class:`~petroinfer.ptpath.zoning.ZonedGarnetPTPath`."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from petroinfer.errors import DataQualityWarning, InputError, ModelError, format_value
from petroinfer.thermo.gibbs import (
    GibbsState,
    GibbsSystem,
    equilibrium_composition,
    equilibrium_conditions,
)

GARNET = ("Grt_XAlm", "Grt_XPrp", "Grt_XGrs")
MATRIX = {"Bt_XMg": ("bt", "phl"), "Pl_XAn": ("pl", "an")}
T_RANGE_C = (350.0, 900.0)
P_RANGE_KBAR = (1.0, 20.0)


def _row_name(data: pd.DataFrame, i: int) -> Any:
    return data.index[i]


def validate_table(data: pd.DataFrame, sum_tol: float = 0.02) -> pd.DataFrame:
    """Check the traverse table: distance strictly monotone, garnet fractions in (0, 1) summing to 1."""
    if not isinstance(data, pd.DataFrame):
        raise InputError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    need = ["distance", *GARNET]
    missing = [c for c in need if c not in data.columns]
    if missing:
        raise InputError(
            f"missing column(s) {missing}; expected distance and garnet fractions "
            f"{', '.join(GARNET)} (Grt_XSps optional)",
            column=missing[0],
        )
    if len(data) < 3:
        raise InputError(f"a traverse needs at least 3 points, got {len(data)}")
    cols = need + [c for c in ("Grt_XSps", *MATRIX) if c in data.columns]
    for c in cols:
        v = pd.to_numeric(data[c], errors="coerce").to_numpy(float)
        bad = np.flatnonzero(~np.isfinite(v))
        if bad.size:
            raise InputError(
                f"column {c!r} has a non-numeric or missing value {format_value(data[c].iloc[bad[0]])} "
                f"at row {_row_name(data, bad[0])!r}",
                column=c,
            )
    d = data["distance"].to_numpy(float)
    step = np.diff(d)
    if not (np.all(step > 0) or np.all(step < 0)):
        k = int(np.flatnonzero(step * np.sign(step[0] or 1.0) <= 0)[0]) + 1
        raise InputError(
            f"distance must be strictly monotone along the traverse; it breaks at row "
            f"{_row_name(data, k)!r} (value {float(d[k])!r} after {float(d[k - 1])!r})",
            column="distance",
        )
    comp_cols = [*GARNET, *(["Grt_XSps"] if "Grt_XSps" in data.columns else [])]
    X = data[comp_cols].to_numpy(float)
    for j, c in enumerate(comp_cols[:3]):
        bad = np.flatnonzero((X[:, j] <= 0) | (X[:, j] >= 1))
        if bad.size:
            raise InputError(
                f"{c} must be in (0, 1), got {float(X[bad[0], j])!r} at row {_row_name(data, bad[0])!r}",
                column=c,
            )
    tot = X.sum(axis=1)
    bad = np.flatnonzero(np.abs(tot - 1.0) > sum_tol)
    if bad.size:
        raise InputError(
            f"garnet fractions must sum to 1 (±{sum_tol}); they sum to {tot[bad[0]]:.4f} at row "
            f"{_row_name(data, bad[0])!r}",
            column=comp_cols[0],
        )
    for c in MATRIX:
        if c in data.columns:
            v = data[c].to_numpy(float)
            bad = np.flatnonzero((v <= 0) | (v >= 1))
            if bad.size:
                raise InputError(
                    f"{c} must be in (0, 1), got {float(v[bad[0]])!r} at row {_row_name(data, bad[0])!r}",
                    column=c,
                )
    return data


def check_anchor(anchor: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """Normalise the anchor mapping; warn outside the calibrated range."""
    if anchor is None:
        return None
    a = {"sd_T": 25.0, "sd_P": 1.0, "at": "core", **dict(anchor)}
    for k in ("T_C", "P_kbar", "sd_T", "sd_P"):
        try:
            a[k] = float(a[k])
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(f"anchor needs a numeric {k!r}, got {a.get(k)!r}") from exc
        if not np.isfinite(a[k]):
            raise InputError(f"anchor {k} must be finite, got {a[k]!r}")
    if a["sd_T"] <= 0 or a["sd_P"] <= 0:
        raise InputError(f"anchor SDs must be > 0, got sd_T={a['sd_T']}, sd_P={a['sd_P']}")
    if a["at"] not in ("core", "rim"):
        raise InputError(f"anchor 'at' must be 'core' or 'rim', got {a['at']!r}")
    if not (T_RANGE_C[0] <= a["T_C"] <= T_RANGE_C[1]) or not (
        P_RANGE_KBAR[0] <= a["P_kbar"] <= P_RANGE_KBAR[1]
    ):
        warnings.warn(
            f"anchor {a['T_C']:.0f} °C / {a['P_kbar']:.1f} kbar is outside the calibrated range "
            f"{T_RANGE_C[0]:.0f}–{T_RANGE_C[1]:.0f} °C, {P_RANGE_KBAR[0]:.0f}–{P_RANGE_KBAR[1]:.0f} kbar "
            "of the metapelite a–x models",
            DataQualityWarning,
            stacklevel=3,
        )
    return a


@dataclass
class ZoningProblem:
    """The traverse (sorted by distance), the matrix and the Gibbs link x_i = g(T_i, P_i)."""

    system: GibbsSystem
    state: GibbsState
    s: np.ndarray
    y: np.ndarray  # (N, 2): X_prp, X_grs
    matrix: dict[str, np.ndarray]
    order_index: np.ndarray
    core_first: bool
    cache: dict[str, np.ndarray] = field(default_factory=dict)
    sps: np.ndarray | None = None  # measured X_sps per point (Mn-bearing garnet model), else None
    cols: tuple[int, int, int] = (0, 1, 2)  # alm, py, gr in the garnet's active order

    @property
    def n(self) -> int:
        return self.s.size

    @property
    def sps_col(self) -> int:
        """Column of spss in the garnet's active order (the index that is not alm, py or gr)."""
        return 6 - self.cols[1] - self.cols[2]

    def link(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Garnet (alm, prp, grs) and ∂(prp, grs)/∂(T [K], P [kbar]) at θ = (T K, P kbar), (N, 2).

        With Mn-bearing garnet the measured X_sps of each point is held (it enters no equilibrium
        of the assemblage) and X_prp, X_grs are solved at it."""
        T, P = theta[:, 0], theta[:, 1] * 1000.0
        x0 = self.cache.get("x")
        fixed: tuple[str, ...] = ()
        if self.sps is not None:
            fixed = ("spss",)
            if x0 is None:
                x0 = np.broadcast_to(self.state.x["grt"], (self.n, 4)).copy()
            x0 = x0.copy()
            j = self.sps_col
            x0[:, j] = self.sps
            x0[:, 0] = 1.0 - x0[:, 1:].sum(axis=1)
        x, sens = equilibrium_composition(
            self.system, self.state, T, P, matrix=self.matrix, x0=x0, fixed=fixed
        )
        if np.all(np.isfinite(x)) and np.all(x > 0):
            self.cache["x"] = x
        sens = sens * np.array([1.0, 1000.0])
        return x[:, list(self.cols)], sens

    def forward(self, theta: np.ndarray) -> np.ndarray:
        x, _ = self.link(np.asarray(theta).reshape(self.n, 2))
        return x[:, 1:].ravel()

    def jacobian(self, theta: np.ndarray):
        _, A = self.link(np.asarray(theta).reshape(self.n, 2))
        N = self.n
        rows = np.repeat(np.arange(2 * N), 2)
        cols = (np.arange(N)[:, None, None] * 2 + np.array([0, 1])[None, None, :]).repeat(2, axis=1)
        return sp.csr_matrix((A.ravel(), (rows, cols.ravel())), shape=(2 * N, 2 * N))

    def pointwise(self, T0: float, P0: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Point-by-point (T K, P bar) of every observed composition (thermobarometry)."""
        x = self.observed_full()
        return equilibrium_conditions(self.system, self.state, x, matrix=self.matrix, T0=T0, P0=P0)

    def observed_full(self) -> np.ndarray:
        """Observed garnet in the active order of the system's garnet (dependent alm first)."""
        k = 4 if self.sps is not None else 3
        x = np.zeros((self.n, k))
        x[:, self.cols[1]], x[:, self.cols[2]] = self.y[:, 0], self.y[:, 1]
        if self.sps is not None:
            x[:, self.sps_col] = self.sps
        x[:, 0] = 1.0 - x[:, 1:].sum(axis=1)
        return x


def build_problem(
    data: pd.DataFrame,
    system: GibbsSystem,
    matrix: Mapping[str, float] | None,
    direction: str,
) -> ZoningProblem:
    """Sort the traverse by distance and collect the garnet observations and matrix compositions."""
    if system.mode != "open":
        raise ModelError(
            "ZonedGarnetPTPath links garnet to a known matrix (open-system Gibbs method); "
            f"give an open-mode system, got mode={system.mode!r}"
        )
    names = [p.name for p in system.phases]
    if "grt" not in names:
        raise ModelError("the assemblage needs a garnet phase named 'grt'")
    grt = system.phases[names.index("grt")]
    em = grt.active_names
    if em[0] != "alm" or set(em) not in ({"alm", "py", "gr"}, {"alm", "py", "gr", "spss"}):
        raise ModelError(
            "the zoning inversion uses garnet (alm dependent, py, gr[, spss]; observed X_prp, X_grs "
            f"at the measured X_sps); got garnet end-members {em}"
        )
    manganese = "spss" in em
    if system.n_reactions != 2:
        raise ModelError(
            f"with the matrix fixed the monitors X_prp, X_grs need exactly 2 independent garnet "
            f"equilibria; this assemblage has {system.n_reactions} (monitor set singular or "
            "over-determined for the assemblage)"
        )
    if direction not in ("core-to-rim", "rim-to-core"):
        raise InputError(f"direction must be 'core-to-rim' or 'rim-to-core', got {direction!r}")
    d = data["distance"].to_numpy(float)
    idx = np.argsort(d)
    X = data[list(GARNET)].to_numpy(float)[idx]
    sps_obs = None
    if manganese:
        if "Grt_XSps" not in data.columns:
            raise InputError(
                "Mn-bearing garnet model: the traverse needs a Grt_XSps column", column="Grt_XSps"
            )
        sps_obs = data["Grt_XSps"].to_numpy(float)[idx]
        bad = np.flatnonzero((sps_obs <= 0) | (sps_obs >= 1))
        if bad.size:
            raise InputError(
                f"Grt_XSps must be in (0, 1), got {float(sps_obs[bad[0]])!r} at row "
                f"{_row_name(data, idx[bad[0]])!r}",
                column="Grt_XSps",
            )
        tot = X.sum(axis=1) + sps_obs
        X = X / tot[:, None]
        sps_obs = sps_obs / tot
    else:
        if "Grt_XSps" in data.columns:
            sps = data["Grt_XSps"].to_numpy(float)
            if np.max(sps) > 0.02:
                warnings.warn(
                    f"Grt_XSps up to {np.max(sps):.3f}: the Mn-free inversion renormalises "
                    "alm+prp+grs (use metapelite_system(..., manganese=True) to keep Mn)",
                    DataQualityWarning,
                    stacklevel=3,
                )
        X = X / X.sum(axis=1, keepdims=True)
    n = d.size
    given = dict(matrix or {})
    unknown = [k for k in given if k not in MATRIX]
    if unknown:
        raise InputError(f"unknown matrix key(s) {unknown}; use {list(MATRIX)}")
    comps: dict[str, np.ndarray] = {}
    x_state: dict[str, np.ndarray] = {}
    for col, (phase, _em) in MATRIX.items():
        if phase not in names:
            continue
        if col in data.columns:
            v = data[col].to_numpy(float)[idx]
        elif col in given:
            v = np.full(n, float(given[col]))
            if not 0 < v[0] < 1:
                raise InputError(f"matrix {col} must be in (0, 1), got {given[col]!r}", column=col)
        else:
            raise InputError(
                f"the matrix composition {col} is needed (a column of the traverse or the matrix "
                "side table)",
                column=col,
            )
        comps[phase] = np.column_stack([1.0 - v, v])
        x_state[phase] = comps[phase][0]
    cols = (0, em.index("py"), em.index("gr"))
    x_grt = np.zeros(len(em))
    x_grt[cols[1]], x_grt[cols[2]] = X[0, 1], X[0, 2]
    if manganese:
        x_grt[em.index("spss")] = sps_obs[0]
    x_grt[0] = 1.0 - x_grt[1:].sum()
    x_state["grt"] = x_grt
    state = GibbsState(873.15, 6000.0, x_state)
    return ZoningProblem(
        system=system, state=state, s=d[idx], y=X[:, 1:], matrix=comps, order_index=idx,
        core_first=(direction == "core-to-rim"), sps=sps_obs, cols=cols,
    )  # fmt: skip
