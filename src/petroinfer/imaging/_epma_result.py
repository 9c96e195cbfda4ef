"""Result of the EPMA map quantification: wt% maps, memberships, parameters and domain means."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import xarray as xr

from petroinfer.errors import InputError
from petroinfer.imaging._epma_classify import is_lazy
from petroinfer.imaging._epma_lda import PoissonLDA

__all__ = ["EPMAQuantification"]

_STATS = ["Min.", "1st Qu.", "Median", "Mean", "3rd Qu.", "Max."]


@dataclass(frozen=True)
class EPMAQuantification:
    """Result of :func:`petroinfer.imaging.quantify_epma`.

    The constructor arguments are stored as frozen attributes of the same name. For a dask-backed
    map, ``wt``, ``membership`` and ``cluster`` are lazy: ``wt.to_netcdf(path)`` streams them to
    disk chunk by chunk; :meth:`phase_mean` and :meth:`phase_fraction` are chunked reductions;
    :meth:`summary` (exact quantiles) loads one (y, x) map at a time.

    Parameters
    ----------
    wt : Dataset
        wt% maps per oxide, ``Total`` and ``*_se`` standard errors (dims y, x).
    membership : DataArray
        (phase, y, x) memberships used in the quantification: Poisson-LDA memberships, or the
        sub-pixel phase fractions with ``mixed_pixels=True``.
    cluster : DataArray
        (y, x) hard phase labels (Poisson LDA).
    params : DataFrame
        (element, phase) → alpha, beta, gamma, their variances and QntMap's "standard errors".
    centres : DataFrame
        Initial centres (phase × element, map counts).
    pixels : DataFrame
        Spot pixels (``ix``, ``iy``, ``inside``).
    lda : PoissonLDA
        The fitted classifier (``alpha_``, ``rates_``).
    metadata : dict, optional
        Run information: ``n_spots_used``, ``n_spots_inside``, ``fine_th``, ``centres``,
        ``dead_time_ns``, ``outliers`` (ids of spots rejected from the β fit), ``beta_tiles``
        (per-tile β table or ``None``), ``mixed_pixels`` and ``endmembers`` (pure-phase mean
        counts used for unmixing, or ``None``); default empty.
    """

    wt: xr.Dataset
    membership: xr.DataArray
    cluster: xr.DataArray
    params: pd.DataFrame
    centres: pd.DataFrame
    pixels: pd.DataFrame
    lda: PoissonLDA
    metadata: dict = field(default_factory=dict)

    def _names(self) -> list[str]:
        return [str(v) for v in self.wt.data_vars if not str(v).endswith("_se")]

    def summary(self) -> pd.DataFrame:
        """Oxide (and Total) × min, Q1, median, mean, Q3, max over all pixels (wt%).

        Quantiles are R's type 7 (numpy's default linear interpolation), as QntMap's
        ``summary(qmap)``.
        """
        rows = {}
        for v in self._names():
            a = np.asarray(self.wt[v].values).ravel()
            q = np.quantile(a, [0, 0.25, 0.5, 0.75, 1.0])
            rows[v] = dict(zip(_STATS, [q[0], q[1], q[2], a.mean(), q[3], q[4]], strict=True))
        return pd.DataFrame(rows).T

    def _pixel_density(self, density: dict[str, float] | None, by: str):
        if density is None:
            return None
        phases = [str(p) for p in self.membership["phase"].values]
        missing = [p for p in phases if p not in density]
        if missing:
            raise InputError(
                f"density must give every phase of the map; missing {missing} (phases: {phases})",
                value=density,
            )
        rho = xr.DataArray([float(density[p]) for p in phases], dims="phase",
                           coords={"phase": self.membership["phase"]})  # fmt: skip
        if (rho <= 0).any() or not np.isfinite(rho).all():
            raise InputError("densities must be positive numbers", value=density)
        if by == "membership":  # ρ_p = Σ_j u_pj ρ_j: mixed pixels get a mixed density
            return (self.membership * rho).sum("phase")
        if by == "cluster":  # QntMap: the density of the pixel's hard cluster
            return (rho * (self.cluster == rho["phase"])).sum("phase")
        raise InputError(f"density_by must be 'cluster' or 'membership', got {by!r}")

    def phase_mean(
        self,
        index: xr.DataArray | np.ndarray | None = None,
        *,
        density: dict[str, float] | None = None,
        density_by: str = "cluster",
    ) -> pd.DataFrame:
        r"""Mean wt% per domain (default: hard cluster) plus ``Whole area``; domain × oxide.

        Parameters
        ----------
        index : array-like (y, x), optional
            Domain label of every pixel (e.g. a segmentation mask); default the hard cluster.
        density : dict, optional
            Density of every phase (e.g. ``{"Ol": 3.3, "Qtz": 2.65}``, g/cm³): the means are then
            mass-weighted, :math:`\bar w_d = \sum_{p\in d}\rho_p w_p / \sum_{p\in d}\rho_p`
            (QntMap ``mean(qmap, index, cluster, density)``), i.e. bulk wt% of the domain.
        density_by : {"cluster", "membership"}, default "cluster"
            Pixel density :math:`\rho_p`: that of the pixel's hard cluster (QntMap) or the
            membership-weighted :math:`\sum_j u_{pj}\rho_j` (mixed pixels).

        Returns
        -------
        DataFrame
            Index domain labels (sorted) then ``Whole area``; columns oxides and ``Total`` (wt%).
        """
        names = self._names()
        lab = self.cluster if index is None else index
        if not isinstance(lab, xr.DataArray):
            lab = np.asarray(lab)
            if lab.size != self.cluster.size:
                raise InputError(
                    f"index must have one label per pixel ({self.cluster.size}), got {lab.size}"
                )
            lab = xr.DataArray(lab.reshape(self.cluster.shape), dims=self.cluster.dims)
        rho = self._pixel_density(density, density_by)
        if not is_lazy(self.wt[names[0]]) and not is_lazy(lab):
            df = pd.DataFrame({v: np.asarray(self.wt[v].values).ravel() for v in names})
            w = np.ones(len(df)) if rho is None else np.asarray(rho.values, float).ravel()
            g = np.asarray(lab.values).ravel()
            num = df.mul(w, axis=0)
            out = num.groupby(g).sum().div(pd.Series(w).groupby(g).sum(), axis=0)
            out.loc["Whole area"] = num.sum() / w.sum()
        else:
            import dask

            ds = self.wt[names]
            w = xr.ones_like(self.cluster, dtype=float) if rho is None else rho
            labels = (
                [str(p) for p in self.membership["phase"].values]
                if index is None
                else sorted(np.unique(np.asarray(lab.values)).tolist())
            )
            parts = {L: ((ds * w).where(lab == L).sum(), w.where(lab == L).sum()) for L in labels}
            parts["Whole area"] = ((ds * w).sum(), w.sum())
            (parts,) = dask.compute(parts)
            rows = {L: {v: float(n[v]) / float(d) for v in names}
                    for L, (n, d) in parts.items() if float(d) > 0}  # fmt: skip
            out = pd.DataFrame(rows).T[names]
        out.index.name = "phase"
        return out

    def phase_fraction(self) -> pd.Series:
        """Mean membership per phase (soft abundance; QntMap ``summary(cluster)``)."""
        return self.membership.mean(dim=("y", "x")).to_series()
