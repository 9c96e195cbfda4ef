r"""Quantitative EPMA element maps, QntMap-compatible (Yasumoto et al. 2018, Am. Mineral. 103:1690).

Raw X-ray count maps become wt% maps with the spot analyses as internal standards:

1. dead-time correction of the map counts;
2. spot → pixel mapping (QntMap's convention: stage X ↔ map-file row);
3. initial phase centres from spot peak intensities, nearest-centre labels, then a Poisson linear
   discriminant (Witten 2011) giving per-pixel phase memberships;
4. α, γ per (element, phase) from the spots and β per element from spot–pixel pairs;
5. wt = Σ_j u_j α_ij (β_i I − γ_ij), clipped at 0, with delta-method standard errors.

The implementation follows the description in the project notes (imaging_texture.md §A), written
from the equations, not from QntMap's R code. Beyond QntMap: mixed pixels (sub-pixel phase fractions
by constrained unmixing, ``mixed_pixels=True``) and maps larger than memory (a dask-backed map is
classified and quantified chunk by chunk, :func:`petroinfer.imaging.classify_map`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from petroinfer.errors import InputError, ModelError, format_value
from petroinfer.imaging._epma_classify import classify_map, is_lazy
from petroinfer.imaging._epma_mixed import phase_fractions
from petroinfer.imaging._epma_outliers import spot_outliers
from petroinfer.imaging._epma_result import EPMAQuantification

__all__ = [
    "EPMAQuantification",
    "dead_time_correction",
    "fit_alpha_gamma",
    "fit_beta",
    "initial_centres",
    "quantify_epma",
    "quantify_map",
    "spot_pixels",
]


def dead_time_correction(counts: xr.DataArray, dead_time_ns: float) -> xr.DataArray:
    r"""Dead-time-correct X-ray map counts: :math:`N' = N / (1 - \tau N / t)`.

    Parameters
    ----------
    counts : DataArray
        Map from :func:`petroinfer.io.read_jeol_map` (attrs ``dwell_s``, ``dead_time_ns``).
        Electron channels are left unchanged. A map already corrected with τ₀ is first uncorrected.
    dead_time_ns : float
        Dead time τ (ns), ≥ 0 (JXA-8105 default in QntMap's GUI: 1100 ns).

    Returns
    -------
    DataArray
        Corrected counts; ``attrs["dead_time_ns"] = dead_time_ns``.

    Notes
    -----
    Non-paralysable detector: :math:`N' = N/(1 - \tau\,10^{-9} N/t_\mathrm{dwell})` with dwell in s
    (QntMap ``read_xmap``; e.g. Reed 2005, *Electron microprobe analysis*, §dead time).

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> m = xr.DataArray(np.full((1, 1, 1), 1e4), dims=("element", "y", "x"),
    ...                  coords={"element": ["Si"], "electron": ("element", [False])},
    ...                  attrs={"dwell_s": 0.1, "dead_time_ns": 0.0})
    >>> float(dead_time_correction(m, 1.0)[0, 0, 0])
    10001.0001000...
    """
    if not np.isfinite(dead_time_ns) or dead_time_ns < 0:
        raise ModelError(f"dead_time_ns must be ≥ 0, got {format_value(dead_time_ns)}")
    dwell = float(counts.attrs["dwell_s"])
    tau0 = float(counts.attrs.get("dead_time_ns", 0.0)) * 1e-9
    tau = dead_time_ns * 1e-9
    raw = counts / (1 + tau0 * counts / dwell) if tau0 else counts  # undo the old correction
    denom = 1 - tau * raw / dwell
    if (denom <= 0).any():
        raise ModelError(f"dead time {dead_time_ns} ns saturates the detector (τ·rate ≥ 1)")
    corrected = raw / denom
    electron = counts["electron"] if "electron" in counts.coords else False
    out = xr.where(electron, counts, corrected).transpose(*counts.dims)
    out.attrs = {**counts.attrs, "dead_time_ns": float(dead_time_ns)}
    out.name = counts.name
    return out


def spot_pixels(
    xmap: xr.DataArray,
    spots: pd.DataFrame,
    *,
    transpose: bool = False,
    flip_x: bool | None = None,
) -> pd.DataFrame:
    r"""Map pixel of every spot (QntMap's convention: stage X selects the map-file row).

    :math:`i_x = \mathrm{round}((X - x_0)\,1000/s_x)`, :math:`i_y = \mathrm{round}((Y-y_0)\,1000/s_y)`
    (0-based; QntMap adds 1). ``transpose=True`` swaps the roles of X and Y (the other convention).
    ``flip_x=True`` has stage X *decrease* along the pixel x axis,
    :math:`i_x = \mathrm{round}((x_0 - X)\,1000/s_x)` — the JXA-8230 branch of QntMap
    (``tidy_epma``: x_px·(−1), notes §A.2). QntMap's literal form, −(round((X − x₀)·1000/s_x) + 1),
    gives indices ≤ 0 for every spot at or beyond the map start (so that branch cannot have
    worked); here the flip is applied to the offset from the start, which keeps the start pixel
    at index 0. This is a reconstruction: no JXA-8230 export was available to confirm it.

    Parameters
    ----------
    xmap : DataArray
        Map with attrs ``start_mm`` and ``step_um`` and dims ``(element, y, x)``.
    spots : DataFrame
        Columns ``X``, ``Y`` (mm).
    transpose : bool, default False
    flip_x : bool, optional
        Default ``xmap.attrs["stage_x_flipped"]`` (set by :func:`petroinfer.io.read_jeol_map`
        for JXA-8230 condition files), else False.

    Returns
    -------
    DataFrame
        Index of ``spots``; columns ``ix``, ``iy`` (int, −1 outside) and ``inside`` (bool).

    Raises
    ------
    InputError
        No spot falls inside the map (map and spots do not overlap).
    """
    (x0, y0), (sx, sy) = xmap.attrs["start_mm"], xmap.attrs["step_um"]
    X, Y = spots["X"].to_numpy(float), spots["Y"].to_numpy(float)
    if transpose:
        X, Y = Y - y0 + x0, X - x0 + y0
    if flip_x is None:
        flip_x = bool(xmap.attrs.get("stage_x_flipped", False))
    ix = np.rint((x0 - X if flip_x else X - x0) * 1000 / sx).astype(int)
    iy = np.rint((Y - y0) * 1000 / sy).astype(int)
    inside = (ix >= 0) & (ix < xmap.sizes["x"]) & (iy >= 0) & (iy < xmap.sizes["y"])
    if not inside.any():
        raise InputError(
            f"none of the {len(spots)} spots lies inside the map (stage X {X.min():g}–{X.max():g} "
            f"mm, Y {Y.min():g}–{Y.max():g} mm; map starts at {x0:g}, {y0:g} mm with "
            f"{xmap.sizes['x']} × {xmap.sizes['y']} steps of {sx:g} × {sy:g} µm): map and spots "
            "do not overlap"
        )
    return pd.DataFrame(
        {"ix": np.where(inside, ix, -1), "iy": np.where(inside, iy, -1), "inside": inside},
        index=spots.index,
    )


def _current_uA(xmap: xr.DataArray) -> float:
    return float(xmap.attrs["current_A"]) * 1e6


def _at_pixels(da: xr.DataArray, iy, ix) -> np.ndarray:
    """Values at pixels (iy, ix) → numpy (other dims..., spot); dask maps load only those chunks."""
    sel = da.isel(
        y=xr.DataArray(np.asarray(iy, int), dims="spot"),
        x=xr.DataArray(np.asarray(ix, int), dims="spot"),
    )
    return np.asarray(sel.transpose(..., "spot").values)


def initial_centres(
    xmap: xr.DataArray, qnt, pixels: pd.DataFrame, *, mode: str = "qntmap"
) -> pd.DataFrame:
    """Initial phase centres in map-count units, phase × element.

    ``mode="qntmap"``: median over the phase's spots of ``pk · dwell[s] · I_map[µA]`` (what QntMap
    computes in practice, notes §A.4); ``mode="map_median"``: median of the map counts at the spot
    pixels (QntMap's documented intent).

    Parameters
    ----------
    xmap : DataArray
        (element, y, x) map counts with attrs ``dwell_s`` (dwell time, s) and ``current_A`` (probe
        current, A), from :func:`petroinfer.io.read_jeol_map`.
    qnt : JeolSpots
        Spots from :func:`petroinfer.io.read_jeol_qnt`; only spots with ``use`` are taken.
    pixels : DataFrame
        Spot pixels from :func:`spot_pixels` (``ix``, ``iy``, ``inside``); spots outside the map
        are skipped.
    mode : {"qntmap", "map_median"}, default "qntmap"
        How the centres are computed (see above).

    Returns
    -------
    DataFrame
        Index phase, columns the elements present in both the map and the spots (map counts).
    """
    elements = [e for e in xmap["element"].values if e in qnt.pk.columns]
    use = qnt.spots["use"] & pixels["inside"]
    phase = qnt.spots.loc[use, "phase"]
    if mode == "qntmap":
        vals = qnt.pk.loc[use, elements] * float(xmap.attrs["dwell_s"]) * _current_uA(xmap)
    elif mode == "map_median":
        p = pixels.loc[use]
        arr = _at_pixels(xmap.sel(element=elements), p["iy"], p["ix"]).T
        vals = pd.DataFrame(arr, index=p.index, columns=elements)
    else:
        raise ModelError(f"mode must be 'qntmap' or 'map_median', got {mode!r}")
    return vals.groupby(phase).median()


def fit_alpha_gamma(qnt) -> pd.DataFrame:
    r"""α and γ per (element, phase) from the spots (QntMap ``find_AG``).

    :math:`\hat\alpha_{ij} = \sum wt\,net / \sum net^2` (least squares through the origin over the
    spots of phase j, net clipped at 0), :math:`\mathrm{Var}\,\hat\alpha = \hat\sigma^2/\sum net^2`
    with :math:`\hat\sigma^2 = RSS/(n-1)`; :math:`\hat\gamma_{ij}` = mean background at the peak,
    :math:`\mathrm{Var}\,\hat\gamma = s^2/n`. Where the per-phase fit is undefined (all net = 0, e.g.
    Mg in quartz) α and its variance come from the fit over all spots (γ stays per phase).

    Parameters
    ----------
    qnt : JeolSpots
        Spots from :func:`petroinfer.io.read_jeol_qnt` (``net``, ``wt``, background and the
        ``phase``/``use`` columns of ``spots``); only spots with ``use`` are fitted.

    Returns
    -------
    DataFrame
        MultiIndex (element, phase); columns ``alpha`` (wt% per cps/µA), ``alpha_var``, ``gamma``
        (cps/µA), ``gamma_var``, ``n`` and ``gamma_se_qntmap`` = s/(n − 1), the quantity QntMap
        uses as the standard error of γ (notes §A.9; for ``se="qntmap_compat"``).
    """
    use = qnt.spots["use"].to_numpy(bool)
    phases = qnt.spots["phase"].to_numpy()[use]
    net = qnt.net.clip(lower=0).to_numpy()[use]
    wt = qnt.wt.to_numpy()[use]
    bg = qnt.background.to_numpy()[use]
    if not use.any():
        raise InputError("no spot has use = True: α and γ cannot be estimated")

    def ls(x, y):
        sxx = float(np.sum(x * x))
        if sxx <= 0:
            return np.nan, np.nan
        a = float(np.sum(x * y)) / sxx
        n = len(x)
        var = float(np.sum((y - a * x) ** 2)) / max(n - 1, 1) / sxx
        return a, var

    rows = []
    for k, el in enumerate(qnt.elements):
        a_all, v_all = ls(net[:, k], wt[:, k])
        for ph in pd.unique(phases):
            m = phases == ph
            a, v = ls(net[m, k], wt[m, k])
            if not np.isfinite(a):
                a, v = a_all, v_all
            g = bg[m, k]
            n = int(m.sum())
            sd = float(np.std(g, ddof=1)) if n > 1 else 0.0
            rows.append((el, ph, a, v, float(g.mean()), sd**2 / n, n, sd / max(n - 1, 1)))
    cols = ["element", "phase", "alpha", "alpha_var", "gamma", "gamma_var", "n", "gamma_se_qntmap"]
    return pd.DataFrame(rows, columns=cols).set_index(["element", "phase"])


def fit_beta(
    xmap: xr.DataArray,
    qnt,
    pixels: pd.DataFrame,
    membership: xr.DataArray,
    *,
    fine_th: float = 0.9,
    outliers: bool = True,
    tiles: tuple[int, int] | None = None,
) -> pd.DataFrame:
    r"""β per element: spot peak intensity against map counts (QntMap ``find_B``, no tiles).

    Weights :math:`w_s = u_s [\text{pixel's hard phase} = \text{spot phase}][u_s > \text{fine\_th}]`
    (0 for outlier spots when ``outliers``, see :func:`spot_outliers`); weighted least squares
    through the origin of pk on :math:`I/(t\,I_\mu)` gives slope c and :math:`\beta = c/(t\,I_\mu)`
    (cps/µA per map count).

    With ``tiles = (maps_x, maps_y)`` β is fitted per stage tile of maps_x × maps_y pixels (QntMap's
    guide-net mosaics); a tile without usable spots takes the element-wide β.

    Parameters
    ----------
    xmap : DataArray
        (element, y, x) dead-time-corrected map counts with attrs ``dwell_s`` (s) and
        ``current_A`` (A).
    qnt : JeolSpots
        Spots from :func:`petroinfer.io.read_jeol_qnt`; only spots with ``use`` are fitted.
    pixels : DataFrame
        Spot pixels from :func:`spot_pixels` (``ix``, ``iy``, ``inside``); spots outside the map
        are skipped.
    membership : DataArray
        (phase, y, x) memberships, e.g. from the Poisson LDA of :func:`quantify_epma`.
    fine_th : float, default 0.9
        A spot counts only if its pixel's largest membership exceeds this and belongs to the
        spot's phase.
    outliers : bool, default True
        Give zero weight to the spots flagged by :func:`spot_outliers`.
    tiles : (int, int), optional
        Tile size ``(maps_x, maps_y)`` in pixels for a per-tile β; default one β per element.

    Returns
    -------
    DataFrame
        Index element (with ``tiles``: element, tile_x, tile_y, plus a ``fallback`` column);
        columns ``beta``, ``beta_var``, ``n`` (spots with non-zero weight) and, without tiles,
        ``beta_se_qntmap`` = Var(c)/(t·I_µA), QntMap's "standard error" of β (notes §A.9);
        ``attrs["outliers"]`` lists the ids of the spots rejected as outliers.
    """
    scale = float(xmap.attrs["dwell_s"]) * _current_uA(xmap)
    ok = qnt.spots["use"] & pixels["inside"]
    p = pixels.loc[ok]
    u = _at_pixels(membership, p["iy"], p["ix"])  # (phase, spot); lazy maps: only these pixels
    phases = list(membership["phase"].values)
    hard = np.asarray(phases)[np.argmax(u, axis=0)]
    umax = u.max(axis=0)
    w = umax * (hard == qnt.spots.loc[ok, "phase"].to_numpy()) * (umax > fine_th)
    elements = [e for e in xmap["element"].values if e in qnt.pk.columns]
    flagged: list = []
    at_spots = _at_pixels(xmap.sel(element=elements), p["iy"], p["ix"])  # (element, spot)
    if outliers:
        mapint = pd.DataFrame(
            at_spots.T / scale,
            index=p.index,
            columns=elements,
        )
        t_pk = pd.DataFrame(
            np.outer(
                qnt.spots.loc[ok, "current_A"] * 1e6, qnt.conditions.loc[elements, "t_peak_s"]
            ),
            index=p.index,
            columns=elements,
        )
        out_flag = spot_outliers(qnt.pk.loc[ok, elements], mapint, t_pk=t_pk, t_map=scale)
        w = w * ~out_flag.to_numpy()
        flagged = list(out_flag.index[out_flag])
    if not (w > 0).any():
        raise ModelError(
            f"no spot has a membership > fine_th={fine_th} in its own phase: β cannot be fitted"
        )

    def wls(el, m):
        mapint = at_spots[elements.index(el)][m] / scale
        pk, ww = qnt.pk.loc[ok, el].to_numpy()[m], w[m]
        sxx = float(np.sum(ww * mapint**2))
        c = float(np.sum(ww * mapint * pk)) / sxx
        n = int((ww > 0).sum())
        var_c = float(np.sum(ww * (pk - c * mapint) ** 2)) / max(n - 1, 1) / sxx
        return c / scale, var_c / scale**2, n

    everything = np.ones(len(w), dtype=bool)
    rows = [(el, *wls(el, everything)) for el in elements]
    out = pd.DataFrame(rows, columns=["element", "beta", "beta_var", "n"]).set_index("element")
    out["beta_se_qntmap"] = out["beta_var"] * scale  # QntMap's b_se = Var(c)/k (notes §A.9)
    if tiles is not None:
        mx, my = (int(t) for t in tiles)
        if mx < 1 or my < 1:
            raise ModelError(f"tiles must be two positive pixel counts, got {tiles}")
        tx, ty = p["ix"].to_numpy() // mx, p["iy"].to_numpy() // my
        trows = []
        for el in elements:
            for i in range(-(-xmap.sizes["x"] // mx)):
                for j in range(-(-xmap.sizes["y"] // my)):
                    m = (tx == i) & (ty == j)
                    if (w[m] > 0).any():
                        trows.append((el, i, j, *wls(el, m), False))
                    else:  # tile without usable spots: element-wide β
                        trows.append((el, i, j, *out.loc[el, ["beta", "beta_var"]], 0, True))
        cols = ["element", "tile_x", "tile_y", "beta", "beta_var", "n", "fallback"]
        out = (
            pd.DataFrame(trows, columns=cols)
            .set_index(["element", "tile_x", "tile_y"])
            .sort_index()
        )
        out.attrs["tiles"] = (mx, my)
    out.attrs["outliers"] = flagged
    return out


def _beta_map(table: pd.DataFrame, xmap: xr.DataArray) -> xr.Dataset:
    """Per-pixel β and Var β (element, y, x) from a tiled :func:`fit_beta` table."""
    mx, my = table.attrs["tiles"]
    ix = np.arange(xmap.sizes["x"]) // mx
    iy = np.arange(xmap.sizes["y"]) // my
    elements = list(table.index.get_level_values("element").unique())
    out = {}
    for col in ("beta", "beta_var"):
        maps = []
        for el in elements:
            grid = table.loc[el, col].unstack("tile_y").to_numpy()  # (tile_x, tile_y)
            maps.append(grid[ix[None, :], iy[:, None]])
        out[col] = (("element", "y", "x"), np.stack(maps))
    return xr.Dataset(out, coords={"element": elements, "y": xmap["y"], "x": xmap["x"]})


def quantify_map(
    counts: xr.DataArray,
    membership: xr.DataArray,
    params: pd.DataFrame,
    *,
    oxides: dict[str, str] | None = None,
    se: bool | str | None = True,
    beta_map: xr.Dataset | None = None,
) -> xr.Dataset:
    r"""wt% maps from counts, memberships and (α, β, γ) per (element, phase).

    Notes
    -----
    .. math:: wt_{ip} = \max\big(0, \textstyle\sum_j u_{pj}\alpha_{ij}\beta_i I_{ip} -
              \sum_j u_{pj}\alpha_{ij}\gamma_{ij}\big), \quad Total_p = \sum_i wt_{ip}

    (Yasumoto et al. 2018, eq. 4). Delta-method variance (notes §A.9, recommended form):

    .. math:: \mathrm{Var}\,wt_{ip} \approx \sum_j u_{pj}^2\big[(\beta_i I-\gamma_{ij})^2
              \mathrm{Var}\,\alpha_{ij} + \alpha_{ij}^2 I^2 \mathrm{Var}\,\beta_i +
              \alpha_{ij}^2\mathrm{Var}\,\gamma_{ij}\big] + \big(\sum_j u_{pj}\alpha_{ij}\beta_i\big)^2 I

    the last term being the Poisson noise of the map count (Var I = I).

    ``se="qntmap_compat"`` reproduces QntMap 1.0.2 (``find_XAG``, ``find_AB``, ``quantify``; notes
    §A.9): :math:`SE_{XAG} = \sqrt{\sum_j (u_j s_{ag,j})^2}`,
    :math:`s_{ag} = \sqrt{(\alpha s_\gamma)^2 + (\gamma s_\alpha)^2}`,
    :math:`SE_{XAB} = \sqrt{\sum_j (u_j s_{ab,j})^2}`,
    :math:`s_{ab} = \sqrt{(\alpha s_\beta)^2 + (\beta s_\alpha)^2}`,
    :math:`SE = \sqrt{(SE_{XAB} I)^2 + SE_{XAG}^2}`, :math:`SE_{Total} = \sqrt{\sum_i SE_i^2}` —
    with QntMap's inputs, which are not standard errors: :math:`s_\alpha = \mathrm{Var}\,\hat\alpha`
    (column ``alpha_var``), :math:`s_\beta = \mathrm{Var}(c)/k` (``beta_se_qntmap``) and
    :math:`s_\gamma = s/(n-1)` (``gamma_se_qntmap``); no map Poisson noise. For comparison with
    QntMap output only; use the delta method otherwise.

    ``counts`` and ``membership`` may be dask-backed (``.chunk(...)``): the result is then lazy and
    computed chunk by chunk (``.compute()`` or ``to_netcdf``), so maps larger than memory work.

    Parameters
    ----------
    counts : DataArray
        (element, y, x) dead-time-corrected counts.
    membership : DataArray
        (phase, y, x) memberships summing to 1 over phase.
    params : DataFrame
        MultiIndex (element, phase); columns ``alpha``, ``beta``, ``gamma`` and optionally
        ``alpha_var``, ``beta_var``, ``gamma_var`` (missing variances count as 0).
    oxides : dict, optional
        element → output name (``{"Si": "SiO2"}``); default the element names.
    se : {"delta", "qntmap_compat"} or bool or None, default True
        Also return ``<name>_se`` maps: ``True``/``"delta"`` the delta method, ``"qntmap_compat"``
        QntMap's formula (see Notes), ``False``/``None`` none.
    beta_map : Dataset, optional
        Per-pixel ``beta`` and ``beta_var`` (element, y, x), e.g. from a tiled β fit; replaces the
        ``beta``/``beta_var`` columns of ``params``.

    Returns
    -------
    Dataset
        One wt% variable per element (dims y, x; ``attrs["units"] = "wt%"``), ``Total`` and, with
        ``se``, standard errors.
    """
    oxides = oxides or {}
    mode = "delta" if se is True else (None if se is False or se is None else se)
    if mode not in ("delta", "qntmap_compat", None):
        raise ModelError(f"se must be 'delta', 'qntmap_compat', True, False or None, got {se!r}")
    se = mode is not None
    phases = list(membership["phase"].values)
    u = membership.data  # numpy or dask: dask stays lazy (maps larger than memory)
    out = {}
    total = 0.0
    var_total = 0.0
    for el in params.index.get_level_values("element").unique():
        if el not in counts["element"].values:
            raise InputError(f"parameters name element {el!r}, absent from the map")
        p = params.loc[el].reindex(phases)
        if p[["alpha", "beta", "gamma"]].isna().any().any():
            missing = p.index[p[["alpha", "beta", "gamma"]].isna().any(axis=1)].tolist()
            raise ModelError(f"no α/β/γ for element {el!r} in phase(s) {missing}")
        a = p["alpha"].to_numpy()[:, None, None]
        b = p["beta"].to_numpy()[:, None, None]
        g = p["gamma"].to_numpy()[:, None, None]
        intensity = counts.sel(element=el).data
        if beta_map is not None:
            b = beta_map["beta"].sel(element=el).data[None]
            vb_map = beta_map["beta_var"].sel(element=el).data[None]
        wt = np.maximum(0.0, np.sum(u * a * (b * intensity - g), axis=0))
        name = oxides.get(el, el)
        coords = {"y": counts["y"], "x": counts["x"]}
        out[name] = xr.DataArray(wt, dims=("y", "x"), coords=coords, attrs={"units": "wt%"})
        total = total + wt
        if se:
            va, vb, vg = (
                p.get(c, pd.Series(0.0, index=p.index)).fillna(0).to_numpy()[:, None, None]
                for c in ("alpha_var", "beta_var", "gamma_var")
            )
            if beta_map is not None:
                vb = vb_map
            if mode == "qntmap_compat":
                s_a, s_b, s_g = (
                    va,
                    *(
                        p.get(c, pd.Series(0.0, index=p.index)).fillna(0).to_numpy()[:, None, None]
                        for c in ("beta_se_qntmap", "gamma_se_qntmap")
                    ),
                )
                s_ag2 = (a * s_g) ** 2 + (g * s_a) ** 2
                s_ab2 = (a * s_b) ** 2 + (b * s_a) ** 2
                var = np.sum(u**2 * s_ab2, axis=0) * intensity**2 + np.sum(u**2 * s_ag2, axis=0)
            else:
                var = (
                    np.sum(
                        u**2
                        * ((b * intensity - g) ** 2 * va + a**2 * intensity**2 * vb + a**2 * vg),
                        axis=0,
                    )
                    + np.sum(u * a * b, axis=0) ** 2 * intensity
                )
            out[f"{name}_se"] = xr.DataArray(
                np.sqrt(var), dims=("y", "x"), coords=coords, attrs={"units": "wt%"}
            )
            var_total = var_total + var
    out["Total"] = xr.DataArray(
        total, dims=("y", "x"), coords={"y": counts["y"], "x": counts["x"]}, attrs={"units": "wt%"}
    )
    if se:
        out["Total_se"] = xr.DataArray(
            np.sqrt(var_total),
            dims=("y", "x"),
            coords={"y": counts["y"], "x": counts["x"]},
            attrs={"units": "wt%"},
        )
    return xr.Dataset(out)


def quantify_epma(
    xmap: xr.DataArray,
    qnt,
    *,
    extra_centres: dict[str, dict[str, float]] | None = None,
    fine_th: float = 0.9,
    outliers: bool = True,
    tiles: tuple[int, int] | None = None,
    fix: pd.DataFrame | None = None,
    centres: str = "qntmap",
    transpose: bool = False,
    flip_x: bool | None = None,
    se: bool | str | None = True,
    mixed_pixels: bool = False,
) -> EPMAQuantification:
    """Run the QntMap pipeline: pixels, centres, Poisson LDA, α/β/γ, quantification.

    A dask-backed ``xmap`` (``xmap.chunk({"y": 512, "x": 512})``) is classified and quantified
    chunk by chunk (two reduction passes for the classifier, then lazy maps); the result's maps are
    lazy and can be streamed to disk with ``res.wt.to_netcdf(path)``.

    Parameters
    ----------
    xmap : DataArray
        (element, y, x) counts from :func:`petroinfer.io.read_jeol_map` (dead-time corrected).
    qnt : JeolSpots
        Spots from :func:`petroinfer.io.read_jeol_qnt`.
    extra_centres : dict, optional
        Phases without spots: ``{"Qtz": {"Si": 9900.0, "Mg": 0.0}}`` (map counts). They are clustered
        and quantified with the element-wide α, γ unless ``fix`` calibrates them.
    fine_th : float, default 0.9
        Membership threshold for spots used in the β fit.
    outliers : bool, default True
        Reject spots whose peak and map intensities contradict each other from the β fit
        (:func:`spot_outliers`); their ids are in ``metadata["outliers"]``.
    tiles : (int, int), optional
        Fit β per stage tile of this many pixels along x and y (see :func:`fit_beta`); the
        per-tile table is ``metadata["beta_tiles"]``.
    fix : DataFrame, optional
        Columns ``element, phase`` and any of ``alpha, beta, gamma`` (override the fitted values)
        or ``wt`` (quasi-calibration: α·β := wt / weighted median of the counts of the pixels
        hard-assigned to the phase, weights = max membership; the γ term keeps the fitted α·γ).
    centres : {"qntmap", "map_median"}
    transpose : bool, default False
        Use the transposed stage ↔ pixel convention (see :func:`spot_pixels`).
    flip_x : bool, optional
        Stage X decreasing along the pixel x axis (JXA-8230); default from the map
        (see :func:`spot_pixels`).
    se : {"delta", "qntmap_compat"} or bool or None, default True
        Standard-error maps (see :func:`quantify_map`): delta method (True), QntMap's formula, or
        none.
    mixed_pixels : bool, default False
        Quantify with sub-pixel phase fractions instead of the Poisson-LDA memberships:
        constrained unmixing of each pixel's counts between the pure-phase counts (mean spot peak
        intensity / β for phases with spots; else the mean over the pixels with LDA membership >
        ``fine_th``), see
        :func:`petroinfer.imaging.phase_fractions`. Beyond QntMap; the hard clusters, β fit and
        ``fix`` still use the LDA.

    Returns
    -------
    EPMAQuantification

    Examples
    --------
    >>> from petroinfer.io import read_jeol_map, read_jeol_qnt  # doctest: +SKIP
    >>> res = quantify_epma(read_jeol_map("minimal/.map/1"), read_jeol_qnt("minimal/.qnt"))  # doctest: +SKIP
    >>> res.phase_mean().round(1)  # doctest: +SKIP
    """
    if not 0 <= fine_th < 1:
        raise ModelError(f"fine_th must be in [0, 1), got {format_value(fine_th)}")
    pixels = spot_pixels(xmap, qnt.spots, transpose=transpose, flip_x=flip_x)
    cen = initial_centres(xmap, qnt, pixels, mode=centres)
    elements = list(cen.columns)
    for ph, vals in (extra_centres or {}).items():
        missing = [e for e in elements if e not in vals]
        if missing:
            raise InputError(f"extra centre {ph!r} lacks element(s) {missing}")
        cen.loc[ph] = [float(vals[e]) for e in elements]
    phases = list(cen.index)
    lda, membership = classify_map(xmap, cen)
    cluster = membership.idxmax("phase").rename("cluster")
    ag = fit_alpha_gamma(qnt)
    b = fit_beta(xmap, qnt, pixels, membership, fine_th=fine_th, outliers=outliers)
    b_tiles = (
        fit_beta(xmap, qnt, pixels, membership, fine_th=fine_th, outliers=outliers, tiles=tiles)
        if tiles is not None
        else None
    )
    use = qnt.spots["use"].to_numpy(bool)
    all_ag = fit_alpha_gamma(
        type(qnt)(
            spots=qnt.spots.assign(phase="__all__"),
            **{k: getattr(qnt, k) for k in ("conditions", "pk", "bgm", "bgp", "net", "wt")},
        )
    )
    rows = []
    for el in elements:
        for ph in phases:
            if (el, ph) in ag.index:
                r = ag.loc[(el, ph)]
            else:  # phase without spots: element-wide α and γ
                r = all_ag.loc[(el, "__all__")]
            rows.append(
                {
                    "element": el,
                    "phase": ph,
                    **r[["alpha", "alpha_var", "gamma", "gamma_var", "gamma_se_qntmap"]],
                    "beta": b.loc[el, "beta"],
                    "beta_var": b.loc[el, "beta_var"],
                    "beta_se_qntmap": b.loc[el, "beta_se_qntmap"],
                }
            )
    params = pd.DataFrame(rows).set_index(["element", "phase"])
    if fix is not None:
        params = _apply_fix(params, fix, xmap, membership, cluster)
    oxides = qnt.conditions["oxide"].to_dict()
    bmap = _beta_map(b_tiles, xmap) if b_tiles is not None else None
    endmembers = (
        _endmembers(xmap, qnt, pixels, membership, cen, b, fine_th) if mixed_pixels else None
    )
    weights = phase_fractions(xmap, endmembers) if mixed_pixels else membership
    wt = quantify_map(
        xmap.sel(element=elements), weights, params, oxides=oxides, se=se, beta_map=bmap
    )
    meta = {
        "n_spots_used": int(use.sum()),
        "n_spots_inside": int(pixels["inside"].sum()),
        "fine_th": fine_th,
        "centres": centres,
        "dead_time_ns": xmap.attrs.get("dead_time_ns"),
        "outliers": b.attrs["outliers"],
        "beta_tiles": b_tiles,
        "mixed_pixels": bool(mixed_pixels),
        "endmembers": endmembers,
        "lazy": is_lazy(xmap),
    }
    return EPMAQuantification(wt, weights, cluster, params, cen, pixels, lda, meta)


def _endmembers(xmap, qnt, pixels, membership, cen, beta, fine_th) -> pd.DataFrame:
    r"""Pure-phase mean map counts (phase × element) for the mixed-pixel unmixing.

    A phase with spots: :math:`\lambda_{ij} = \overline{pk}_{ij}/\beta_i` over its spots (the
    calibration's own prediction of a pure pixel; spots sit in pure grains). A phase without spots:
    the mean counts of the pixels whose LDA membership exceeds ``fine_th`` (else its centre).
    """
    import dask

    elements = list(cen.columns)
    out = cen.copy().astype(float)
    use = qnt.spots["use"] & pixels["inside"]
    pk = qnt.pk.loc[use, elements].groupby(qnt.spots.loc[use, "phase"]).mean()
    counts = xmap.sel(element=elements)
    parts = {}
    for ph in cen.index:
        if ph in pk.index:
            out.loc[ph] = pk.loc[ph].to_numpy(float) / beta.loc[elements, "beta"].to_numpy(float)
        else:
            pure = membership.sel(phase=ph) > fine_th
            parts[ph] = (counts.where(pure).sum(("y", "x")), pure.sum())
    (parts,) = dask.compute(parts)
    for ph, (tot, n) in parts.items():
        if int(n) > 0:
            out.loc[ph] = np.asarray(tot.values, float) / int(n)
    return out


def _apply_fix(params, fix, xmap, membership, cluster) -> pd.DataFrame:
    params = params.copy()
    if "stage" in fix.columns:
        raise ModelError("fix tables with a 'stage' column (tiled β) are not supported")
    need = {"element", "phase"}
    if not need <= set(fix.columns):
        raise InputError(f"fix table needs columns element, phase; got {list(fix.columns)}")
    for _, r in fix.iterrows():
        key = (r["element"], r["phase"])
        if key not in params.index:
            raise InputError(f"fix: unknown (element, phase) {key}")
        for col in ("alpha", "beta", "gamma"):
            if col in fix.columns and np.isfinite(r[col]):
                params.loc[key, col] = float(r[col])
                params.loc[key, f"{col}_var"] = 0.0
                if f"{col}_se_qntmap" in params.columns:
                    params.loc[key, f"{col}_se_qntmap"] = 0.0
        if "wt" in fix.columns and np.isfinite(r["wt"]):
            vals, w = _phase_pixels(xmap.sel(element=r["element"]), membership, cluster, r["phase"])
            if not len(vals):
                raise ModelError(f"fix: no pixel is assigned to phase {r['phase']!r}")
            med = _weighted_median(vals, w)
            ab = float(r["wt"]) / med
            a, g = params.loc[key, "alpha"], params.loc[key, "gamma"]
            # keep the γ term α·γ, replace α·β: new α = ab/β, new γ = α·γ/new α
            beta = params.loc[key, "beta"]
            params.loc[key, "alpha"] = ab / beta
            params.loc[key, "gamma"] = a * g / (ab / beta)
            zero = [c for c in params.columns if c.endswith(("_var", "_se_qntmap"))]
            params.loc[key, zero] = 0.0
    return params


def _phase_pixels(counts, membership, cluster, phase) -> tuple[np.ndarray, np.ndarray]:
    """Counts and max memberships of the pixels hard-assigned to ``phase`` (1-D numpy arrays).

    For a dask map only these pixels are gathered (one value and one weight per pixel).
    """
    m = (cluster == phase).data.ravel()
    vals, w = counts.data.ravel()[m], membership.max("phase").data.ravel()[m]
    if is_lazy(counts) or is_lazy(membership):
        import dask

        vals, w = dask.compute(vals, w)
    return np.asarray(vals, float), np.asarray(w, float)


def _weighted_median(x: np.ndarray, w: np.ndarray) -> float:
    o = np.argsort(x)
    cw = np.cumsum(w[o])
    return float(x[o][np.searchsorted(cw, 0.5 * cw[-1])])
