r"""Sparse identification of reaction–transport equations from fields of mineral modes.

Candidate library (petrology terms): per target species u, the diffusion term
:math:`\partial_x^2 u`, and for every solid m and surface law ℓ the surface term
:math:`S_ℓ(φ_m)` and its products with each aqueous concentration :math:`S_ℓ(φ_m)\,c_a` — the
surface-law × rate-law products of :mod:`petroinfer.kinetics.reactions` (zero-order, first-order and,
as their combination, affinity laws). Space–time fields use the weak form of
:math:`\partial_t u = D\partial_x^2 u + \sum ξ_j θ_j`; a single snapshot (a rock texture) uses the
steady implicit form :math:`0 = \partial_x^2 c + \sum (ξ_j/D) θ_j` with the diffusion coefficient as
normalisation [R] (dynamics_imaging §2.3). See :mod:`._identification_weak` for the regression.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import xarray as xr

from petroinfer._base import Interval, InverseProblem
from petroinfer.errors import InputError, ModelError
from petroinfer.inference import Result
from petroinfer.kinetics._identification_weak import (
    bump_matrices,
    linear_evidence,
    select_with_choices,
)
from petroinfer.kinetics.reactions import SURFACE_LAWS

__all__ = [
    "IdentificationResult",
    "ReactionTransportIdentification",
    "field_from_table",
    "surface_rate_terms",
]


def field_from_table(
    table: pd.DataFrame, species: Sequence[str], n_solids: int | None = None
) -> xr.DataArray:
    """Turn a long table (columns ``time``, ``x`` and one per species) into a ``(time, x, species)`` array.

    Parameters
    ----------
    table : pandas.DataFrame
        One row per (time, x) point; a table without ``time`` is one snapshot (time 0).
    species : sequence of str
        Species columns.
    n_solids : int, optional
        The first ``n_solids`` species are mineral modes: checked to be >= 0 and to sum to <= 1
        row by row (errors name the row).

    Returns
    -------
    xarray.DataArray
    """
    if not isinstance(table, pd.DataFrame):
        raise InputError("field must be a table (pandas DataFrame) or an xarray.DataArray")
    t = table.assign(time=0.0) if "time" not in table.columns else table
    missing = [c for c in ["x", *species] if c not in t.columns]
    if missing:
        raise InputError(f"field lacks column(s) {missing}", column=missing[0])
    for c in ["time", "x", *species]:
        vals = pd.to_numeric(t[c], errors="coerce")
        if vals.isna().any():
            r = int(np.flatnonzero(vals.isna().to_numpy())[0])
            raise InputError(
                "field has a missing or non-numeric value",
                column=c,
                row=t.index[r],
                value=t[c].iloc[r],
            )
    for c in species[:n_solids] if n_solids is not None else ():
        neg = np.flatnonzero(pd.to_numeric(t[c]).to_numpy() < 0)
        if neg.size:
            r = int(neg[0])
            raise InputError("negative mineral mode", column=c, row=t.index[r], value=t[c].iloc[r])
    if n_solids:
        tot = t[list(species[:n_solids])].apply(pd.to_numeric).sum(axis=1).to_numpy()
        over = np.flatnonzero(tot > 1.0 + 1e-6)
        if over.size:
            r = int(over[0])
            raise InputError("mineral modes sum to more than 1", row=t.index[r], value=tot[r])
    if t.duplicated(["time", "x"]).any():
        r = int(np.flatnonzero(t.duplicated(["time", "x"]).to_numpy())[0])
        raise InputError("duplicated (time, x) point in field", row=t.index[r])
    wide = t.set_index(["time", "x"])[list(species)].sort_index()
    times = np.unique(wide.index.get_level_values(0))
    xs = np.unique(wide.index.get_level_values(1))
    if len(wide) != times.size * xs.size:
        raise InputError(
            f"field must be a full grid: {times.size} times × {xs.size} positions expected "
            f"{times.size * xs.size} rows, got {len(wide)}"
        )
    if xs.size < 5:
        raise InputError(f"field needs at least 5 positions x, got {xs.size}", column="x")
    arr = wide.to_numpy(dtype=float).reshape(times.size, xs.size, len(species))
    return xr.DataArray(
        arr,
        dims=("time", "x", "species"),
        coords={"time": times, "x": xs, "species": list(species)},
    )


def _uniform(coord: np.ndarray, name: str) -> float:
    d = np.diff(coord)
    if np.any(d <= 0):
        raise InputError(f"{name} must increase", column=name)
    if np.ptp(d) > 1e-6 * np.mean(d):
        i = int(np.argmax(np.abs(d - d[0]))) + 1
        raise InputError(
            f"non-uniform {name} spacing is not supported (weak-form quadrature on an equal grid)",
            column=name,
            value=coord[i],
        )
    return float(d.mean())


def _surface(phi: np.ndarray, law: str) -> np.ndarray:
    p = SURFACE_LAWS[law]
    return (phi > 0).astype(float) if p == 0 else np.maximum(phi, 0.0) ** p


def surface_rate_terms(
    F: np.ndarray,
    species: Sequence[str],
    solids: Sequence[str],
    aqueous: Sequence[str],
    laws: Sequence[str],
) -> tuple[list[str], list[np.ndarray], list[tuple[str, str]]]:
    r"""The petrology candidate terms: surface law × rate law for every mineral, law and solute.

    For each mineral m and surface law ℓ: :math:`S_ℓ(φ_m)` (zero-order in solution) and
    :math:`S_ℓ(φ_m)\,c_a` for each aqueous species a (first order); affinity laws
    :math:`S(φ)(c_{eq} - c)` are their combinations (rate laws of :mod:`petroinfer.kinetics.reactions`).

    Parameters
    ----------
    F : numpy.ndarray, shape (..., n_species)
        Field values, last axis the species.
    species : sequence of str
        Names along the last axis of ``F``.
    solids, aqueous : sequence of str
        Minerals (volume fractions) and solutes.
    laws : sequence of str
        Surface laws (keys of :data:`~petroinfer.kinetics.SURFACE_LAWS`).

    Returns
    -------
    names : list of str
        ``S_<law>[m]`` and ``S_<law>[m]*a``.
    columns : list of numpy.ndarray
        The terms, each of shape ``F.shape[:-1]``.
    groups : list of tuple
        ``(mineral, law)`` of each term (one law per mineral is chosen by evidence).
    """
    names = list(species)
    terms, cols, groups = [], [], []
    for m in solids:
        phi = F[..., names.index(m)]
        for law in laws:
            s = _surface(phi, law)
            terms.append(f"S_{law}[{m}]")
            cols.append(s)
            groups.append((m, law))
            for a in aqueous:
                terms.append(f"S_{law}[{m}]*{a}")
                cols.append(s * F[..., names.index(a)])
                groups.append((m, law))
    return terms, cols, groups


def _noise_variance(u: np.ndarray) -> float:
    r"""Noise variance of a field from its second differences along x (Gasser et al. 1986).

    :math:`\hat σ^2 = \langle (u_{i+1} - 2u_i + u_{i-1})^2 \rangle / 6` — unbiased for white noise
    on a signal whose second difference is negligible at the grid scale.
    """
    d2 = u[..., 2:] - 2.0 * u[..., 1:-1] + u[..., :-2]
    return float(np.mean(d2**2) / 6.0)


def _corrected_refit(
    rs: dict, G: np.ndarray, y: np.ndarray, lam: np.ndarray, lam_y: np.ndarray
) -> dict:
    """Refit the selected columns with ``(GᵀG - Λ)⁻¹(Gᵀy - λ_y)`` (noise covariances Λ, λ_y)."""
    sup = np.flatnonzero(rs["support"])
    if sup.size == 0:
        return rs
    Gs = G[:, sup]
    A = Gs.T @ Gs - lam[np.ix_(sup, sup)]
    if np.linalg.eigvalsh(0.5 * (A + A.T)).min() <= 0:  # correction too large: keep the plain fit
        return rs
    coef = rs["coef"].copy()
    coef[sup] = np.linalg.solve(A, Gs.T @ y - lam_y[sup])
    shift = coef - rs["coef"]
    return {**rs, "coef": coef, "lo": rs["lo"] + shift, "hi": rs["hi"] + shift}


def _expand_rates(rs: dict, results: dict, minerals: list, lib_terms: list, target: str) -> dict:
    """Express an aqueous equation fitted on ``rate[m]`` columns in the library terms.

    Coefficient of term j = Σ_m r_m ξ_mj; sd by first-order propagation of both uncertainties.
    """
    names = [f"d2/dx2[{target}]", *lib_terms]
    coef = np.zeros(len(names))
    var = np.zeros(len(names))
    coef[0], var[0] = rs["coef"][0], rs["sd"][0] ** 2
    for i, m in enumerate(minerals):
        r, r_sd = rs["coef"][i + 1], rs["sd"][i + 1]
        xi, xi_sd = results[m]["coef"][1:], results[m]["sd"][1:]
        coef[1:] += r * xi
        var[1:] += (r * xi_sd) ** 2 + (xi * r_sd) ** 2
    sd = np.sqrt(var)
    z = (rs["hi"][0] - rs["coef"][0]) / rs["sd"][0] if rs["sd"][0] > 0 else 1.6448536269514722
    support = coef != 0
    ratios = {f"rate[{m}]": float(rs["coef"][i + 1]) for i, m in enumerate(minerals)}
    return {
        **rs,
        "names": names,
        "coef": coef,
        "sd": sd,
        "lo": coef - z * sd,
        "hi": coef + z * sd,
        "support": support,
        "stoichiometric_ratios": ratios,
        "removed": rs["removed"],
    }


@dataclass(frozen=True, repr=False)
class IdentificationResult(Result):
    """Result of :meth:`ReactionTransportIdentification.fit`.

    Parameters
    ----------
    estimate : xarray.Dataset
        Dims ``(target, term)``: ``coefficient`` (0 where not selected), ``sd``, ``q05``, ``q95``
        and ``selected``.
    posterior : xarray.Dataset or None
        ``None`` (Gaussian posterior summarised analytically in ``estimate``).
    log_evidence : float or None
        Sum over targets of the final log evidence (nats).
    log_evidence_se : float or None
        ``None`` (the evidence is analytic).
    diagnostics : Mapping
        Rows of the weak system, residual sd, mode (``"space-time"`` or ``"steady"``).
    hyperparameters : Mapping
        Test-function widths and strides, laws, interval mass, and per target α, β.
    criterion : xarray.Dataset or None
        The evidence path: ``log_evidence`` and ``removed`` term per ``(target, stage)``.
    metadata : Mapping
        Provenance.
    """

    def terms(self) -> pd.DataFrame:
        """Selected terms: columns ``target, term, coefficient, sd, q05, q95``.

        Returns
        -------
        pandas.DataFrame
        """
        df = self.estimate[["coefficient", "sd", "q05", "q95", "selected"]].to_dataframe()
        df = df[df["selected"].astype(bool)].drop(columns="selected").reset_index()
        return df[["target", "term", "coefficient", "sd", "q05", "q95"]]

    def plot(self, ax=None):
        """Evidence path: log evidence against the number of terms, per target.

        Parameters
        ----------
        ax : matplotlib.axes.Axes, optional
            Target axes.

        Returns
        -------
        matplotlib.axes.Axes
        """
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(5, 3.5))
        crit = self.criterion
        for tgt in crit["target"].values:
            c = crit.sel(target=tgt)
            ok = np.isfinite(c["log_evidence"].values)
            ax.plot(c["n_terms"].values[ok], c["log_evidence"].values[ok], "o-", label=str(tgt))
        ax.set_xlabel("number of terms in the model (count)")
        ax.set_ylabel("log evidence (nats)")
        ax.invert_xaxis()
        ax.legend(fontsize=8)
        return ax


class ReactionTransportIdentification(InverseProblem):
    r"""Find which diffusion and surface-reaction terms govern a field of modes and concentrations.

    Parameters
    ----------
    solids : sequence of str
        Species that are minerals (volume fractions; they make the surface terms).
    aqueous : sequence of str
        Species that are aqueous concentrations (they diffuse and drive rate laws).
    laws : sequence of str, default all of :data:`~petroinfer.kinetics.SURFACE_LAWS`
        Surface laws in the library.
    targets : sequence of str, optional
        Species whose equations are identified (default: all in space–time mode, the aqueous species
        in steady mode).
    half_width : tuple of int, optional
        Test-function half-widths ``(in x cells, in time steps)`` (default ``(max(3, n_x // 8),
        max(3, n_t // 6))``).
    stride : tuple of int, optional
        Spacing of the test-function centres (default: the half-widths, 50 % overlap).
    interval : float, default 0.9
        Probability mass of the reported coefficient intervals.
    one_law_per_mineral : bool, default True
        Each mineral reacts through one surface law: the law of every mineral is chosen by evidence
        (coordinate ascent over minerals), then terms are eliminated greedily. ``False`` lets all
        laws compete at once (collinear columns; less stable).
    stoichiometric_coupling : bool, default True
        Space–time mode: identify the minerals' equations first (they have no transport term, so
        their reaction terms are well determined), then explain each aqueous species by its
        diffusion term plus multiples of the identified mineral rates ``rate[m]`` (the multiples
        are stoichiometric ratios ν_a/ν_m); coefficients are reported expanded on the library
        terms. ``False`` fits the aqueous species on the raw library (noise in their diffusion
        column then biases D low at a few per cent noise).

    Notes
    -----
    Equations and sources in :mod:`petroinfer.kinetics._identification_weak` (weak form: Messenger
    & Bortz 2021; evidence-greedy selection: MacKay 1992, Fung et al. 2025). Columns are normalised
    to unit norm before selection (the non-dimensional γ-like scaling), and coefficients are
    reported in the data's units. The intervals come from the Gaussian posterior of the weak system;
    overlapping test functions make its rows correlated, so they are approximate.
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "solids": [list, tuple],
        "aqueous": [list, tuple],
        "laws": [list, tuple],
        "targets": [list, tuple, None],
        "half_width": [tuple, list, None],
        "stride": [tuple, list, None],
        "interval": [Interval(float, 0, 1, closed="neither")],
        "one_law_per_mineral": [bool, np.bool_],
        "stoichiometric_coupling": [bool, np.bool_],
    }

    def __init__(
        self,
        solids: Sequence[str],
        aqueous: Sequence[str],
        *,
        laws: Sequence[str] = tuple(SURFACE_LAWS),
        targets: Sequence[str] | None = None,
        half_width: tuple[int, int] | None = None,
        stride: tuple[int, int] | None = None,
        interval: float = 0.9,
        one_law_per_mineral: bool = True,
        stoichiometric_coupling: bool = True,
    ) -> None:
        self.solids = solids
        self.aqueous = aqueous
        self.laws = laws
        self.targets = targets
        self.half_width = half_width
        self.stride = stride
        self.interval = interval
        self.one_law_per_mineral = one_law_per_mineral
        self.stoichiometric_coupling = stoichiometric_coupling

    def _library(self, F: np.ndarray, names: list[str]) -> tuple[list[str], list, list]:
        return surface_rate_terms(F, names, self.solids, self.aqueous, self.laws)

    def fit(self, field: xr.DataArray | pd.DataFrame) -> IdentificationResult:
        """Build the weak (or steady) system per target and select terms by evidence.

        Parameters
        ----------
        field : xarray.DataArray or pandas.DataFrame
            Dims ``(time, x, species)`` (e.g. :meth:`ReactionTransport.simulate` plus noise) or a long
            table with columns ``time`` (optional: absent = one snapshot), ``x`` and the species.

        Returns
        -------
        IdentificationResult
        """
        self._validate_params()
        species = [*self.solids, *self.aqueous]
        if not self.solids or len(set(species)) != len(species):
            raise ModelError(
                "ReactionTransportIdentification: give distinct solids and aqueous names"
            )
        for law in self.laws:
            if law not in SURFACE_LAWS:
                raise ModelError(
                    f"ReactionTransportIdentification: unknown surface law {law!r}; "
                    f"choose from {list(SURFACE_LAWS)}"
                )
        da = (
            field
            if isinstance(field, xr.DataArray)
            else field_from_table(field, species, n_solids=len(self.solids))
        )
        if set(da.dims) != {"time", "x", "species"}:
            raise InputError("field must have dims (time, x, species)", value=da.dims)
        missing = [s for s in species if s not in list(da["species"].values)]
        if missing:
            raise InputError(f"field lacks species {missing}", column=missing[0])
        da = da.sel(species=species).transpose("time", "x", "species")
        F = np.asarray(da.values, dtype=float)
        if not np.all(np.isfinite(F)):
            raise InputError("field has non-finite values")
        solid_vals = F[..., : len(self.solids)]
        if np.any(solid_vals < 0):
            idx = np.argwhere(solid_vals < 0)[0]
            raise InputError(
                "negative mineral mode", column=self.solids[idx[2]], value=solid_vals[tuple(idx)]
            )
        if np.any(solid_vals.sum(-1) > 1.0 + 1e-6):
            raise InputError("mineral modes sum to more than 1 at some point of the field")
        x = np.asarray(da["x"].values, dtype=float)
        t = np.asarray(da["time"].values, dtype=float)
        _uniform(x, "x")
        steady = t.size == 1
        if not steady:
            _uniform(t, "time")
        nt, nx = F.shape[:2]
        hw = self.half_width or (max(3, nx // 8), max(3, nt // 6))
        st = self.stride or hw
        if nx < 2 * hw[0] + 1 or (not steady and nt < 2 * hw[1] + 1):
            raise InputError(
                f"field too small for test functions of half-width {tuple(hw)} "
                f"({nt} times × {nx} positions)"
            )
        Bx = bump_matrices(x, int(hw[0]), int(st[0]), (0, 2))
        Bt = None if steady else bump_matrices(t, int(hw[1]), int(st[1]), (0, 1))
        lib_terms, lib_cols, lib_groups = self._library(F, species)

        def integrate(f: np.ndarray, kt: int, kx: int) -> np.ndarray:
            if steady:
                return Bx[kx] @ f[0]
            return (Bt[kt] @ f @ Bx[kx].T).reshape(-1)

        targets = (
            list(self.targets) if self.targets else (list(self.aqueous) if steady else species)
        )
        for tg in targets:
            if tg not in species:
                raise ModelError(f"ReactionTransportIdentification: unknown target {tg!r}")
            if steady and tg not in self.aqueous:
                raise ModelError("steady (single-snapshot) identification needs aqueous targets")
        lib_int = [integrate(c, 0, 0) for c in lib_cols]
        results = {}
        couple = self.stoichiometric_coupling and not steady
        # minerals first: their equations (no transport) define the reaction rates
        order = sorted(targets, key=lambda s: s in self.aqueous) if couple else targets
        for tg in order:
            u = F[..., species.index(tg)]
            solid_rates = [m for m in self.solids if m in results and results[m]["support"].any()]
            if couple and tg in self.aqueous and solid_rates:
                y = -integrate(u, 1, 0)
                names = [f"d2/dx2[{tg}]", *[f"rate[{m}]" for m in solid_rates]]
                cols = [integrate(u, 0, 2)]
                for m in solid_rates:  # the mineral's reaction part (its own diffusion excluded)
                    cols.append(np.column_stack(lib_int) @ results[m]["coef"][1:])
                G = np.column_stack(cols)
                rs = self._select(G, y, names, [None] * len(names))
                # errors-in-variables (corrected least squares, Fuller 1987 §2.2): the columns'
                # noise, linearised in the noise of u, has a covariance known up to σ²
                sig2 = _noise_variance(u)
                ia = species.index(tg)
                w_rows = [np.einsum("at,bx->abtx", Bt[0], Bx[2])]  # diffusion column
                for m in solid_rates:
                    g = np.zeros_like(u)
                    for j, name in enumerate(lib_terms):
                        if name.endswith(f"*{tg}"):
                            g += (
                                results[m]["coef"][1 + j]
                                * lib_cols[j]
                                / np.where(F[..., ia] != 0, F[..., ia], np.inf)
                            )
                    w_rows.append(np.einsum("at,bx->abtx", Bt[0], Bx[0]) * g)
                W = np.stack([w.reshape(-1, u.size) for w in w_rows])  # (cols, rows, points)
                Wy = -np.einsum("at,bx->abtx", Bt[1], Bx[0]).reshape(-1, u.size)
                lam = sig2 * np.einsum("irp,jrp->ij", W, W)
                lam_y = sig2 * np.einsum("irp,rp->i", W, Wy)
                rs = _corrected_refit(rs, G, y, lam, lam_y)
                results[tg] = _expand_rates(rs, results, solid_rates, lib_terms, tg)
                results[tg]["noise_sd"] = float(np.sqrt(sig2))
                continue
            if steady:  # 0 = u_xx + Σ (ξ/D) θ  →  -∫ψ_xx u = Σ (ξ/D) ∫ψ θ
                y = -integrate(u, 0, 2)
                names, cols, groups = lib_terms, lib_int, lib_groups
            else:  # -∫ψ_t u = D ∫ψ_xx u + Σ ξ ∫ψ θ
                y = -integrate(u, 1, 0)
                names = [f"d2/dx2[{tg}]", *lib_terms]
                cols = [integrate(u, 0, 2), *lib_int]
                groups = [None, *lib_groups]
            results[tg] = self._select(np.column_stack(cols), y, names, groups)
        return self._assemble(results, targets, hw, st, steady, field)

    def _law_choice(self, Gn: np.ndarray, y: np.ndarray, groups: list) -> tuple[np.ndarray, list]:
        """One surface law per mineral: coordinate ascent of the greedy-path evidence over laws."""
        return select_with_choices(Gn, y, groups, one_per_block=bool(self.one_law_per_mineral))

    def _select(
        self, G: np.ndarray, y: np.ndarray, names: list[str], groups: list
    ) -> dict[str, Any]:
        from scipy.stats import norm

        scale = np.linalg.norm(G, axis=0)
        usable = scale > 1e-12 * max(scale.max(), 1e-300)
        Gn = np.where(usable, G / np.where(usable, scale, 1.0), 0.0)[:, usable]
        ysc = max(float(np.linalg.norm(y)), 1e-300)
        ugroups = [g for g, ok in zip(groups, usable, strict=True) if ok]
        support_u, path = self._law_choice(Gn, y / ysc, ugroups)
        support = np.zeros(len(names), dtype=bool)
        support[np.flatnonzero(usable)[support_u]] = True
        le, m, cov, alpha, beta = linear_evidence(G[:, support] / scale[support], y / ysc)
        coef = np.zeros(len(names))
        sd = np.zeros(len(names))
        coef[support] = m * ysc / scale[support]
        sd[support] = np.sqrt(np.diag(cov)) * ysc / scale[support]
        zq = norm.ppf(0.5 + self.interval / 2)
        used = np.flatnonzero(usable)
        removed = [None if p["removed"] is None else names[used[p["removed"]]] for p in path]
        resid = y - G[:, support] @ coef[support] if support.any() else y
        return {
            "names": names,
            "coef": coef,
            "sd": sd,
            "lo": coef - zq * sd,
            "hi": coef + zq * sd,
            "support": support,
            "log_evidence": le + (-len(y) * np.log(ysc)),
            "path": [(p["n_terms"], p["log_evidence"] - len(y) * np.log(ysc)) for p in path],
            "removed": removed,
            "alpha": alpha,
            "beta": beta,
            "rows": len(y),
            "resid_sd": float(np.std(resid)),
        }

    def _assemble(self, results, targets, hw, st, steady, field) -> IdentificationResult:
        all_terms: list[str] = []
        for tg in targets:
            for n in results[tg]["names"]:
                if n not in all_terms:
                    all_terms.append(n)
        shape = (len(targets), len(all_terms))
        arrs = {k: np.zeros(shape) for k in ("coefficient", "sd", "q05", "q95")}
        sel = np.zeros(shape, dtype=bool)
        for i, tg in enumerate(targets):
            r = results[tg]
            for j, n in enumerate(r["names"]):
                c = all_terms.index(n)
                arrs["coefficient"][i, c] = r["coef"][j]
                arrs["sd"][i, c] = r["sd"][j]
                arrs["q05"][i, c] = r["lo"][j]
                arrs["q95"][i, c] = r["hi"][j]
                sel[i, c] = r["support"][j]
        unit = "coefficient / D (steady form)" if steady else "per time unit (terms' units)"
        estimate = xr.Dataset(
            {k: (("target", "term"), v, {"units": unit}) for k, v in arrs.items()}
            | {"selected": (("target", "term"), sel)},
            coords={"target": targets, "term": all_terms},
        )
        n_stage = max(len(results[tg]["path"]) for tg in targets)
        le = np.full((len(targets), n_stage), np.nan)
        nterm = np.full((len(targets), n_stage), np.nan)
        removed = np.full((len(targets), n_stage), "", dtype=object)
        for i, tg in enumerate(targets):
            for s, ((n, v), rm) in enumerate(
                zip(results[tg]["path"], results[tg]["removed"], strict=True)
            ):
                le[i, s], nterm[i, s], removed[i, s] = v, n, rm or ""
        criterion = xr.Dataset(
            {
                "log_evidence": (("target", "stage"), le, {"units": "nats"}),
                "n_terms": (("target", "stage"), nterm),
                "removed": (("target", "stage"), removed.astype(str)),
            },
            coords={"target": targets, "stage": np.arange(n_stage)},
        )
        return IdentificationResult(
            estimate=estimate,
            log_evidence=float(sum(results[tg]["log_evidence"] for tg in targets)),
            diagnostics={
                "mode": "steady" if steady else "space-time",
                "rows": {tg: results[tg]["rows"] for tg in targets},
                "residual_sd": {tg: results[tg]["resid_sd"] for tg in targets},
                "stoichiometric_ratios": {
                    tg: results[tg]["stoichiometric_ratios"]
                    for tg in targets
                    if "stoichiometric_ratios" in results[tg]
                },
            },
            hyperparameters={
                "half_width": tuple(int(v) for v in hw),
                "stride": tuple(int(v) for v in st),
                "laws": list(self.laws),
                "interval": float(self.interval),
                "alpha": {tg: results[tg]["alpha"] for tg in targets},
                "beta": {tg: results[tg]["beta"] for tg in targets},
            },
            criterion=criterion,
            metadata=self._metadata(
                method="weak-form sparse identification (evidence-greedy)",
                inputs=(field if isinstance(field, pd.DataFrame) else field.values,),
            ),
        )
