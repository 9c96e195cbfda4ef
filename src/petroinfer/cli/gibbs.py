"""``petroinfer gibbs forward`` (Gibbs-method forward model) and ``petroinfer ptpath zoning``.

Only typer is imported at module level; the science is imported when a command runs.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from petroinfer.cli._common import (
    JsonOpt,
    OutOpt,
    SeedOpt,
    emit,
    guard,
    read_input,
    read_yaml_spec,
    write_csv,
)

if TYPE_CHECKING:
    from petroinfer.report import Report

__all__ = ["app", "demo_section", "forward", "zoning"]

app = typer.Typer(help="The Gibbs method (differential thermodynamics).", no_args_is_help=True)

_KINDS = ("prograde", "clockwise", "fractionating", "hydration")


def _hydration(spec: dict[str, Any]):
    """Closed Grt–Bt–Ms–Pl–Ky–Qtz with water added per step.

    ``fluid: none`` (default, water-limited): a relict K-feldspar + H2O source is consumed by the micas.
    ``fluid: saturated``: a free H2O fluid (ds62 CORK) is present; added water joins it and the solids
    follow the closed-system path from ``T_C`` to ``T_end_C`` (retrograde when cooler).
    """
    from dataclasses import replace

    import numpy as np

    from petroinfer.errors import InputError
    from petroinfer.thermo import GibbsState, integrate, metapelite_system, with_fluid
    from petroinfer.units import celsius_to_kelvin, kbar_to_bar

    T = float(celsius_to_kelvin(float(spec.get("T_C", 500.0))))
    T_end = float(celsius_to_kelvin(float(spec.get("T_end_C", spec.get("T_C", 500.0)))))
    P = float(kbar_to_bar(float(spec.get("P_kbar", 5.0))))
    steps = int(spec.get("steps", 10))
    water = float(spec.get("water_per_step", 0.01))
    relict = float(spec.get("relict_per_water", 1.0))
    fluid = str(spec.get("fluid", "none"))
    fluid_moles = float(spec.get("fluid_moles", 0.1))
    if steps < 1 or water < 0 or relict < 0 or fluid_moles < 0:
        raise InputError(
            "hydration needs steps ≥ 1, water_per_step ≥ 0, relict_per_water ≥ 0 and fluid_moles ≥ 0"
        )
    if fluid not in ("none", "saturated"):
        raise InputError(f"hydration: fluid must be 'none' or 'saturated', got {fluid!r}")
    if fluid == "saturated" and min(T, T_end) < 673.0:
        raise InputError("hydration: a free H2O fluid (CORK) needs T_C and T_end_C ≥ 399.85 °C")
    sys_ = metapelite_system("grt-bt-ms-pl-ky-qtz")
    st = GibbsState(T, P, {"grt": np.array([0.8, 0.1, 0.1]), "bt": np.array([0.6, 0.4]),
                           "pl": np.array([0.7, 0.3])})  # fmt: skip
    st = sys_.reproject(st, ["T", "P", "pl:an"])
    closed = sys_.with_mode("closed")
    modes = {"grt": 0.2, "bt": 1.0, "ms": 1.0, "pl": 0.5, "ky": 1.0, "q": 5.0}
    modes.update({k: float(v) for k, v in (spec.get("modes") or {}).items()})
    source = {"san": relict * water, "H2O": water}
    if fluid == "saturated":
        closed = with_fluid(closed)
        modes["fluid"] = fluid_moles
        source = {"H2O": water}
    st = closed.with_bulk(replace(st, moles=modes))
    path = {"T": np.linspace(T, T_end, steps + 1), "P": np.full(steps + 1, P)}
    gp = integrate(closed, st, path, source=source, monitors=[], reproject=True)
    table = gp.table.copy()
    table.insert(0, "water_added_mol", water * np.arange(steps + 1))
    return table


@app.command("forward")
@guard
def forward(
    spec: Annotated[Path, typer.Argument(help="YAML: kind, n_points, noise, matrix, seed, ….")],
    out: OutOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Forward Gibbs-method model: zoning along a P–T path, or open-system hydration."""
    from petroinfer.errors import InputError
    from petroinfer.ptpath import synthetic_zoning

    raw = read_yaml_spec(spec)
    kind = str(raw.get("kind", "prograde"))
    if kind not in _KINDS:
        raise InputError(f"{spec}: kind must be one of {', '.join(_KINDS)}, got {kind!r}")
    summary: dict[str, Any] = {"kind": kind}
    if kind == "hydration":
        table = _hydration(raw.get("hydration") or raw)
        summary.update({"steps": len(table) - 1,
                        "muscovite_growth_mol": round(float(table["n_ms"].iloc[-1] - table["n_ms"].iloc[0]), 5)})  # fmt: skip
        if "n_fluid" in table:
            summary["fluid_end_mol"] = round(float(table["n_fluid"].iloc[-1]), 5)
        profile, path = table, table[["water_added_mol", "T_C", "P_kbar"]]
    else:
        try:
            n = int(raw.get("n_points", 40))
            noise = float(raw.get("noise", 0.0))
            seed = int(raw.get("seed", 0))
        except (TypeError, ValueError) as exc:
            raise InputError(f"{spec}: n_points, noise and seed must be numbers ({exc})") from None
        profile, truth, matrix = synthetic_zoning(
            kind, n_points=n, noise=noise, matrix=raw.get("matrix"), random_state=seed
        )
        path = truth[["distance", "T_C", "P_kbar"]]
        summary.update({"points": n, "noise": noise, **matrix,
                        "X_prp_core": round(float(profile["Grt_XPrp"].iloc[0]), 4),
                        "X_prp_rim": round(float(profile["Grt_XPrp"].iloc[-1]), 4)})  # fmt: skip
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        write_csv(profile, out / "profile.csv", index=False)
        write_csv(path, out / "path.csv", index=False)
        summary["out"] = str(out)
    emit(summary, json_out=json_out, out=out, title="petroinfer gibbs forward")


def _matrix_table(path: Path | None, bt_xmg: float | None, pl_xan: float | None) -> dict:
    from petroinfer.errors import InputError

    mat: dict[str, float] = {}
    if path is not None:
        tab = read_input(path, normalise=False)
        for col in ("Bt_XMg", "Pl_XAn"):
            if col in tab.columns:
                mat[col] = float(tab[col].iloc[0])
        if not mat:
            raise InputError(
                f"{path}: the matrix table needs Bt_XMg and/or Pl_XAn", column="Bt_XMg"
            )
    if bt_xmg is not None:
        mat["Bt_XMg"] = bt_xmg
    if pl_xan is not None:
        mat["Pl_XAn"] = pl_xan
    return mat


def _report_section(sec, res, out: Path, truth=None) -> None:
    import matplotlib.pyplot as plt

    hp = res.hyperparameters
    sec.text(
        "T and P at every traverse point under a GMRF chain prior along the distance; each garnet "
        "composition (X_prp, X_grs) is linked to (T, P) by equilibrium with the matrix (Gibbs method, ds62); "
        "EPMA noise and smoothness chosen by maximum Laplace evidence. Reconstruction [R] of Kuwatani et "
        "al. (2012)."
    )
    sec.mapping(
        {"assemblage": hp["assemblage"], "log evidence": round(float(res.log_evidence), 3),
         "EPMA noise (mole fraction)": f"{hp['noise_sd']:.4f}",
         "smoothness T (K⁻²)": f"{hp['smoothness_T_per_K2']:.3g}",
         "smoothness P (kbar⁻²)": f"{hp['smoothness_P_per_kbar2']:.3g}", "order": hp["order"],
         "max condition number": round(float(res.diagnostics["max_condition_number"]), 1)},
        caption="Model and hyperparameters",
    )  # fmt: skip
    fig, ax = plt.subplots(figsize=(5.5, 4.2))
    res.plot(ax=ax, kind="pt")
    if truth is not None:
        ax.plot(truth["T_C"], truth["P_kbar"], "r--", lw=1, label="truth")
        ax.legend(fontsize="small")
    fig.savefig(out / "path_pt.png", dpi=110, bbox_inches="tight")
    sec.figure(fig, caption="P–T path: posterior mean with 90 % band and the ds62 Al2SiO5 lines")
    e = res.estimate
    d = e["distance"].values
    fig, axes = plt.subplots(3, 1, figsize=(5.5, 7), sharex=True)
    for a, (v, lab) in zip(axes[:2], (("T_C", "T (°C)"), ("P_kbar", "P (kbar)")), strict=True):
        a.fill_between(d, e[f"{v}_q05"], e[f"{v}_q95"], alpha=0.3, label="90 % band")
        a.plot(d, e[v], "k-", label="posterior mean")
        a.set_ylabel(lab)
        a.set_xlabel(f"distance ({e['distance'].attrs.get('units', '')})")
        if truth is not None:
            a.plot(truth["distance"], truth[v], "r--", lw=1, label="truth")
    o = res.observations
    for c, col in (("XPrp", "C0"), ("XGrs", "C1")):
        axes[2].plot(o["distance"], o[f"{c}_observed"], ".", color=col, ms=3, label=f"{c} observed")
        axes[2].plot(o["distance"], o[f"{c}_denoised"], "-", color=col, label=f"{c} denoised")
        axes[2].fill_between(o["distance"], o[f"{c}_q05"], o[f"{c}_q95"], color=col, alpha=0.3)
    axes[2].set_ylabel("mole fraction (1)")
    axes[2].set_xlabel(f"distance ({e['distance'].attrs.get('units', '')})")
    axes[0].legend(fontsize="x-small")
    axes[2].legend(fontsize="x-small", ncol=2)
    fig.savefig(out / "path_distance.png", dpi=110, bbox_inches="tight")
    sec.figure(
        fig, caption="T, P and garnet zoning (observed, denoised, 90 % bands) against distance"
    )
    plt.close("all")


def zoning(
    file: Annotated[
        Path, typer.Argument(help="CSV/XLSX: distance (µm) and Grt_XAlm, Grt_XPrp, Grt_XGrs.")
    ],
    assemblage: Annotated[
        str,
        typer.Option(
            "--assemblage", help="grt-bt-pl-ky-qtz | grt-bt-pl-sil-qtz | grt-bt-pl-ms-qtz"
        ),
    ] = "grt-bt-pl-ky-qtz",
    matrix: Annotated[
        Path | None, typer.Option("--matrix", help="One-row table with Bt_XMg, Pl_XAn.")
    ] = None,
    bt_xmg: Annotated[float | None, typer.Option("--bt-xmg", help="Matrix biotite X_Mg.")] = None,
    pl_xan: Annotated[
        float | None, typer.Option("--pl-xan", help="Matrix plagioclase X_An.")
    ] = None,
    anchor_t_c: Annotated[float | None, typer.Option("--anchor-T-C", help="Anchor T (°C).")] = None,
    anchor_p_kbar: Annotated[
        float | None, typer.Option("--anchor-P-kbar", help="Anchor P (kbar).")
    ] = None,
    anchor_at: Annotated[str, typer.Option("--anchor-at", help="core | rim")] = "core",
    anchor_sd_t: Annotated[float, typer.Option("--anchor-sd-T", help="Anchor SD (°C).")] = 25.0,
    anchor_sd_p: Annotated[float, typer.Option("--anchor-sd-P", help="Anchor SD (kbar).")] = 1.0,
    direction: Annotated[
        str, typer.Option("--direction", help="core-to-rim | rim-to-core (distance origin)")
    ] = "core-to-rim",
    order: Annotated[int, typer.Option("--order", help="GMRF order: 1 or 2.")] = 2,
    manganese: Annotated[
        bool,
        typer.Option(
            "--manganese",
            help="Mn-bearing garnet: solve X_prp, X_grs at the measured "
            "Grt_XSps (column required) instead of renormalising Mn away.",
        ),
    ] = False,
    link: Annotated[
        str,
        typer.Option(
            "--link",
            help="integrated (x = g(T, P)) | latent (latent compositions with "
            "model error; needs an anchor)",
        ),
    ] = "integrated",
    model_error: Annotated[
        float | None,
        typer.Option(
            "--model-error",
            help="Latent link: SD of the model error per traverse step "
            "(mole fraction); default chosen by the evidence.",
        ),
    ] = None,
    seed: SeedOpt = 0,
    out: OutOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Bayesian P–T path from a zoned-garnet traverse (Gibbs method + GMRF)."""
    from petroinfer.errors import DataQualityWarning, InputError
    from petroinfer.ptpath import ZonedGarnetPTPath

    data = read_input(file, normalise=False)
    mat = _matrix_table(matrix, bt_xmg, pl_xan)
    anchor = None
    if (anchor_t_c is None) != (anchor_p_kbar is None):
        raise InputError("give both --anchor-T-C and --anchor-P-kbar (or neither)")
    if anchor_t_c is not None:
        anchor = {"T_C": anchor_t_c, "P_kbar": anchor_p_kbar, "sd_T": anchor_sd_t,
                  "sd_P": anchor_sd_p, "at": anchor_at}  # fmt: skip
    system = None
    if manganese:
        from petroinfer.thermo import metapelite_system

        system = metapelite_system(assemblage, manganese=True)
    model = ZonedGarnetPTPath(assemblage, system=system, matrix=mat, anchor=anchor,
                              direction=direction, order=order, random_state=seed, link=link,
                              model_error=model_error)  # fmt: skip
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DataQualityWarning)
        res = model.fit(data)
    for w in caught:
        if issubclass(w.category, DataQualityWarning):
            typer.echo(f"warning: {w.message}", err=True)
    e = res.estimate
    summary: dict[str, Any] = {
        "points": len(data),
        "T_C_first": round(float(e["T_C"][0]), 1), "T_C_last": round(float(e["T_C"][-1]), 1),
        "P_kbar_first": round(float(e["P_kbar"][0]), 2), "P_kbar_last": round(float(e["P_kbar"][-1]), 2),
        "mean_T_sd": round(float(e["T_C_sd"].mean()), 2),
        "mean_P_sd": round(float(e["P_kbar_sd"].mean()), 3),
        "noise_sd": round(float(res.hyperparameters["noise_sd"]), 5),
        "max_condition_number": round(float(res.diagnostics["max_condition_number"]), 1),
        "log_evidence": float(res.log_evidence),
        "link": res.hyperparameters.get("link", "integrated"),
    }  # fmt: skip
    if "model_error_sd" in res.hyperparameters:
        summary["model_error_sd"] = float(res.hyperparameters["model_error_sd"])
    if out is not None:
        _write_zoning(res, out, "P–T path from zoned garnet", seed, [file])
        summary["out"] = str(out)
    emit(summary, json_out=json_out, out=out, title="petroinfer ptpath zoning")


def _write_zoning(res, out: Path, title: str, seed: int, inputs, truth=None) -> None:
    from petroinfer.report import Report

    out.mkdir(parents=True, exist_ok=True)
    e = res.estimate
    cols = ["T_C", "T_C_sd", "T_C_q05", "T_C_q95", "P_kbar", "P_kbar_sd", "P_kbar_q05",
            "P_kbar_q95", "condition_number"]  # fmt: skip
    table = e[cols].to_dataframe().reset_index()[["distance", *cols]]
    write_csv(table, out / "path.csv", index=False)
    write_csv(res.observations, out / "zoning_fit.csv")
    res.to_netcdf(out / "path.nc")
    rep = Report(title, inputs=list(inputs), seed=seed)
    _report_section(rep.section(title), res, out, truth)
    rep.save(out / "report.html")


def demo_section(report: Report, out: Path) -> dict:
    """Demo: Gibbs-method forward zoning (§B.1 system) and its Bayesian inversion."""
    import numpy as np

    from petroinfer.ptpath import ZonedGarnetPTPath, synthetic_zoning
    from petroinfer.thermo import toy_open_system

    out.mkdir(parents=True, exist_ok=True)
    data, truth, matrix = synthetic_zoning("clockwise", n_points=30, noise=0.003, random_state=0)
    write_csv(data, out / "synthetic_zoning.csv", index=False)
    anchor = {"T_C": 500.0, "P_kbar": 5.0, "sd_T": 10.0, "sd_P": 0.5}
    model = ZonedGarnetPTPath(
        system=toy_open_system(), matrix=matrix, anchor=anchor, random_state=0
    )
    res = model.fit(data)
    gib = model.gibbs_integration(data)
    sec = report.section(
        "P–T path from zoned garnet (Gibbs method + GMRF, Kuwatani et al. 2012 [R])"
    )
    sec.text(
        "Synthetic zoned garnet (30 points, EPMA noise 0.003) forward-modelled with the Gibbs method "
        "along a clockwise loop (red dashed) in the Grt–Bt–Pl–Ky–Qtz system of the FS78 + KN88 test set-up."
    )
    _report_section(sec, res, out, truth)

    def rmse(a, b):
        return float(np.sqrt(np.mean((np.asarray(a) - np.asarray(b)) ** 2)))

    e = res.estimate
    t = {"T_rmse_mrf": rmse(e["T_C"], truth["T_C"]), "T_rmse_gibbs": rmse(gib["T_C"], truth["T_C"]),
         "P_rmse_mrf": rmse(e["P_kbar"], truth["P_kbar"]),
         "P_rmse_gibbs": rmse(gib["P_kbar"], truth["P_kbar"])}  # fmt: skip
    sec.mapping(
        {k: round(v, 3) for k, v in t.items()}, caption="Recovery: MRF vs Gibbs integration"
    )
    sec.code(
        "petroinfer ptpath zoning synthetic_zoning.csv --bt-xmg 0.4 --pl-xan 0.3 --out results/"
    )
    t["T_C_mu_q_dehydration_5kbar"] = _fluid_demo(sec, out)
    return {k: round(v, 2) for k, v in t.items()}


def _fluid_demo(sec, out: Path) -> float:
    """Dehydration curve mu + q = san + Al2SiO5 + H2O (ds62, CORK H2O) with the Al2SiO5 lines."""
    import matplotlib.pyplot as plt
    import numpy as np

    from petroinfer.thermo import al2sio5_lines, equilibrium_temperature
    from petroinfer.units import kelvin_to_celsius

    P = np.linspace(1000.0, 8000.0, 29)
    curves = {
        poly: kelvin_to_celsius(
            equilibrium_temperature({"mu": -1, "q": -1, "san": 1, poly: 1, "H2O": 1}, P)
        )
        for poly in ("sill", "and")
    }
    fig, ax = plt.subplots(figsize=(5.5, 4.2))
    for name, (tc, pk) in al2sio5_lines(t_min_c=400.0, t_max_c=800.0).items():
        ax.plot(tc, pk, "k-", lw=0.8, label="Al2SiO5 (ds62)" if name == "ky = sill" else None)
    for poly, ls in (("sill", "-"), ("and", "--")):
        ax.plot(curves[poly], P / 1000.0, "b" + ls, label=f"Ms + Qtz = Kfs + {poly} + H2O")
    ax.set_xlabel("T (°C)")
    ax.set_ylabel("P (kbar)")
    ax.legend(fontsize="small")
    fig.savefig(out / "dehydration_pt.png", dpi=110, bbox_inches="tight")
    sec.figure(
        fig,
        caption="Muscovite dehydration in the presence of quartz (ds62 with the CORK H2O end-member, "
        "pure phases, a_H2O = 1) and the ds62 Al2SiO5 lines: solid with sillimanite, dashed with "
        "andalusite, each stable on its own side of the and = sill line.",
    )
    return float(np.interp(5000.0, P, curves["sill"]))
