"""``petroinfer imaging``: element-map processing (``laicpms-deconvolve``: LA-ICP-MS line scans)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from petroinfer.cli._common import JsonOpt, OutOpt, SeedOpt, emit, guard, read_input, write_csv

if TYPE_CHECKING:
    from petroinfer.report import Report

__all__ = ["app", "demo_section", "laicpms_deconvolve"]

app = typer.Typer(
    help="Element maps: EPMA quantification and LA-ICP-MS deconvolution.", no_args_is_help=True
)


def _response(family: str, fwhm_s: float, sigma: float):
    from petroinfer.errors import ModelError
    from petroinfer.imaging import RESPONSE_FAMILIES, LogNormalResponse

    if family != "lognormal":
        raise ModelError(
            f"--response {family!r}: only 'lognormal' is set by --fwhm-s; fit any of "
            f"{sorted(RESPONSE_FAMILIES)} with --fit-response SHOTS.csv"
        )
    return LogNormalResponse.from_fwhm(fwhm_s, sigma=sigma)


def _figures(res, out: Path, sec=None) -> list[str]:
    import matplotlib.pyplot as plt

    names = []
    for i, iso in enumerate(res.estimate.isotope.values):
        fig, ax = plt.subplots(1, 2, figsize=(9, 3.6), sharey=True)
        res.plot(ax=ax, isotope=i)
        name = f"laicpms_{iso}.png"
        fig.savefig(out / name, dpi=100, bbox_inches="tight")
        if sec is not None:
            sec.figure(
                fig,
                caption=f"{iso}: measured line scans (left) and the deconvolved image (right), "
                "lines stacked vertically, time along the scan horizontally",
            )
        plt.close(fig)
        names.append(name)
    return names


def _curve_table(res):
    import pandas as pd

    if res.criterion is None:
        return pd.DataFrame()
    df = res.criterion.to_dataframe().reset_index()
    return df.drop(columns=[c for c in ("lam",) if c in df.columns])


def _report(res, out: Path, title: str, inputs=(), seed: int = 0) -> Report:
    from petroinfer.report import Report

    rep = Report(title, inputs=list(inputs), seed=seed)
    sec = rep.section(title)
    _section(sec, res, out)
    return rep


def _section(sec, res, out: Path) -> None:
    hp, dg = res.hyperparameters, res.diagnostics
    sec.text(
        "Regularised non-negative deconvolution of the washout blur along each line: s = H m + b + "
        "noise with H the single-pulse response integrated over each dwell window, Poisson weights "
        "from the model, m ≥ 0; λ chosen per isotope from the data. Forward model after Aonishi "
        "et al. (2018, JAAS 33:2210); the regulariser and λ rule are a reconstruction [R]."
    )
    sec.mapping(
        {
            "response": f"{hp['response']} {hp['response_params']}",
            "penalty": hp["penalty"],
            "criterion": hp["criterion"],
            "λ per isotope": ", ".join(f"{v:.3g}" for v in hp["lam"]),
            "χ²/N per isotope": ", ".join(f"{v:.3f}" for v in dg["chi2_per_datum"]),
            "mass ratio per isotope": ", ".join(f"{v:.3f}" for v in dg["mass_ratio"]),
        },
        caption="Model, chosen regularisation and fit diagnostics",
    )
    _figures(res, out, sec)


@app.command("laicpms-deconvolve")
@guard
def laicpms_deconvolve(
    file: Annotated[
        Path, typer.Argument(help="Shimadzu CSV export, or a long CSV: line, time_s, isotopes.")
    ],
    response: Annotated[
        str, typer.Option("--response", help="Response family set by --fwhm-s: lognormal.")
    ] = "lognormal",
    fwhm_s: Annotated[
        float, typer.Option("--fwhm-s", help="FWHM of the single-pulse response (s).")
    ] = 0.8,
    sigma: Annotated[float, typer.Option("--sigma", help="Log-normal shape σ.")] = 0.5,
    fit_shots: Annotated[
        Path | None,
        typer.Option(
            "--fit-response",
            help="CSV of single-shot transients (one numeric column per shot, fired at row 1); "
            "the family is chosen by AIC.",
        ),
    ] = None,
    shots_dt: Annotated[
        float | None,
        typer.Option("--shots-dt", help="Sampling interval of the shots (s; default: the scan's)."),
    ] = None,
    lam: Annotated[str, typer.Option("--lambda", help="'auto' or a number ≥ 0.")] = "auto",
    penalty: Annotated[
        str, typer.Option("--penalty", help="l2 | d1 | d2 | l1 | tv | none | richardson_lucy")
    ] = "l2",
    criterion: Annotated[
        str, typer.Option("--criterion", help="gcv | discrepancy | lcurve | evidence")
    ] = "gcv",
    n_lambda: Annotated[int, typer.Option("--n-lambda", help="Points on the λ grid.")] = 24,
    n_bootstrap: Annotated[
        int, typer.Option("--bootstrap", help="Parametric-bootstrap replicates (0: none).")
    ] = 0,
    seed: SeedOpt = 0,
    out: OutOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Sharpen LA-ICP-MS line scans by regularised non-negative deconvolution of the washout."""
    from petroinfer.errors import InputError
    from petroinfer.imaging import LaserDeconvolution, fit_response
    from petroinfer.io import read_laicpms

    cube = read_laicpms(file)
    dt = float(cube.attrs["dwell_s"])
    fit_table = None
    if fit_shots is not None:
        shots = read_input(fit_shots, id_column=False, numeric="all", allow_missing=False)
        fit = fit_response(shots.to_numpy(float).T, shots_dt or dt)
        resp, fit_table = fit.response, fit.table
    else:
        resp = _response(response, fwhm_s, sigma)
    if lam != "auto":
        try:
            lam_v: float | str = float(lam)
        except ValueError:
            raise InputError("--lambda must be 'auto' or a number ≥ 0", value=lam) from None
    else:
        lam_v = "auto"
    model = LaserDeconvolution(
        resp, penalty=penalty, lam=lam_v, criterion=criterion, n_lambda=n_lambda,
        n_bootstrap=n_bootstrap, random_state=seed,
    )  # fmt: skip
    res = model.fit(cube)
    summary: dict[str, object] = {
        "isotopes": [str(v) for v in cube.isotope.values],
        "lines": int(cube.sizes["line"]),
        "samples": int(cube.sizes["time"]),
        "dwell_s": round(dt, 4),
        "response": type(resp).__name__,
        "fwhm_s": round(float(resp.fwhm()), 4),
        "lambda": [float(f"{v:.4g}") for v in res.hyperparameters["lam"]],
        "criterion": res.hyperparameters["criterion"],
        "chi2_per_datum": [round(v, 3) for v in res.diagnostics["chi2_per_datum"]],
        "mass_ratio": [round(v, 4) for v in res.diagnostics["mass_ratio"]],
    }
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        res.to_netcdf(out / "sharpened.nc")
        write_csv(_curve_table(res), out / "lambda_curve.csv", index=False)
        if fit_table is not None:
            write_csv(fit_table, out / "response_fit.csv")
        rep = _report(res, out, "LA-ICP-MS deconvolution", inputs=[file], seed=seed)
        rep.save(out / "report.html")
        summary["out"] = str(out)
    emit(summary, json_out=json_out, out=out, title="petroinfer imaging laicpms-deconvolve")


def demo_section(report: Report, out: Path) -> dict:
    """Demo: synthetic particle pairs 0.6 FWHM apart, deconvolved; the shared scan when present."""
    import numpy as np
    import pandas as pd

    from petroinfer.imaging import (
        LaserDeconvolution,
        LogNormalResponse,
        simulate_line_scan,
        valley_to_peak,
    )
    from petroinfer.io import read_laicpms
    from petroinfer.io.datasets import dataset_path

    out.mkdir(parents=True, exist_ok=True)
    resp = LogNormalResponse(median=12.0, sigma=0.5)  # FWHM 11.65 samples of 1 s
    m = np.zeros((6, 200))
    for k in range(6):
        m[k, [60 + 10 * k, 67 + 10 * k]] = 1.0
    m *= 1000.0 / simulate_line_scan(m[:1], resp, 1.0).max()
    s = simulate_line_scan(m, resp, 1.0, baseline=2.0, random_state=0)
    res = LaserDeconvolution(resp, n_lambda=16, random_state=0).fit(s, dt=1.0)
    est = res.estimate.sharpened.values[0]
    vps = [valley_to_peak(est[k], 60 + 10 * k, 67 + 10 * k) for k in range(6)]
    sec = report.section("LA-ICP-MS deconvolution (Aonishi et al. 2018 forward model [R])")
    sec.text(
        "Six synthetic lines, each with two equal particles 7 samples apart (0.6 × the 11.65-sample "
        "FWHM of a log-normal washout), peak ≈ 1000 counts, baseline 2, Poisson noise: unresolved "
        "in the raw scans; Tikhonov-NNLS with λ by generalised cross-validation."
    )
    _section(sec, res, out)
    sec.table(
        pd.DataFrame(
            {"valley_to_peak": np.round(vps, 3), "resolved": np.array(vps) < 0.5},
            index=[f"line {k}" for k in range(6)],
        ),
        caption="Valley-to-peak ratio between the two particles after deconvolution (< 0.5: resolved)",
    )
    sec.code("petroinfer imaging laicpms-deconvolve LA_Data_C1SA1.csv --fwhm-s 0.4 --out results/")
    summary = {"resolved_lines": int(np.sum(np.array(vps) < 0.5)), "lines": 6}
    path = dataset_path("laicpms_sekro_c1sa1")
    if path is not None:
        cube = read_laicpms(path).isel(line=slice(0, 30))
        narrow = LogNormalResponse.from_fwhm(0.15, sigma=0.4)
        real = LaserDeconvolution(narrow, penalty="none", lam=0.0, solver="iterative").fit(cube)
        sec2 = report.section("LA-ICP-MS: the published Shimadzu scan (first 30 lines)")
        sec2.text(
            "sekro/la-icp-msi_segmentation C1SA1 (CC-BY-4.0): 4 isotopes, 330 ms dwell, counts "
            "quantised in steps of 1/40 and 1/45. Its washout is under one sample, so the "
            "deconvolution (NNLS, 0.15 s response) barely changes it — shown as an I/O check."
        )
        _figures(real, out, sec2)
        summary["real_scan_lines"] = int(cube.sizes["line"])
    return summary


# -- imaging epma: QntMap-compatible EPMA map quantification (issue 17) ----------------------------
def _epma_run(xmap, qnt, *, add_phase, fix_table, fine_th, tiles=None, se="delta", mixed=False):
    from petroinfer.errors import InputError
    from petroinfer.imaging import quantify_epma

    extra = {}
    for spec in add_phase:
        try:
            name, ix, iy = spec.split(":")
            pix = xmap.isel(x=int(ix), y=int(iy))
        except (ValueError, IndexError):
            raise InputError(
                "--add-phase must be NAME:IX:IY with 0-based pixel indices inside the map "
                "(IX along stage X, IY along stage Y)",
                value=spec,
            ) from None
        extra[name] = {str(e): float(pix.sel(element=e)) for e in xmap["element"].values}
    tile_px = None
    if tiles:
        try:
            tile_px = tuple(int(v) for v in tiles.split(","))
            assert len(tile_px) == 2 and min(tile_px) > 0
        except (ValueError, AssertionError):
            raise InputError(
                "--tiles must be two positive pixel counts MX,MY", value=tiles
            ) from None
    if se not in ("delta", "qntmap_compat", "none"):
        raise InputError("--se must be delta, qntmap_compat or none", value=se)
    return quantify_epma(
        xmap, qnt, extra_centres=extra or None, fix=fix_table, fine_th=fine_th, tiles=tile_px,
        se=None if se == "none" else se, mixed_pixels=mixed,
    )  # fmt: skip


def _epma_density(spec: str | None) -> dict[str, float] | None:
    """``--density Ol=3.32,Qtz=2.65`` → {"Ol": 3.32, "Qtz": 2.65} (g/cm³)."""
    from petroinfer.errors import InputError

    if not spec:
        return None
    out = {}
    for item in spec.split(","):
        name, _, value = item.partition("=")
        try:
            out[name.strip()] = float(value)
        except ValueError:
            raise InputError(
                "--density must be PHASE=VALUE pairs separated by commas (g/cm³)", value=item
            ) from None
    return out


def _epma_outputs(res, out: Path, sec=None, density=None) -> list[str]:
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    write_csv(res.phase_fraction().rename("fraction").to_frame(), out / "phase_fraction.csv")
    write_csv(res.summary(), out / "summary.csv")
    write_csv(res.phase_mean(), out / "phase_mean.csv")
    if density:
        write_csv(res.phase_mean(density=density), out / "phase_mean_mass.csv")
    write_csv(res.params, out / "parameters.csv")
    from petroinfer.io import atomic_path

    with atomic_path(out / "wt.nc") as tmp:
        res.wt.to_netcdf(tmp)
    names = []
    wt = res.wt
    step = -(-max(wt.sizes["x"], wt.sizes["y"]) // 1024)  # figures of at most ~1024² pixels
    if step > 1:
        wt = wt.coarsen(x=step, y=step, boundary="trim").mean()
    for v in [str(v) for v in res.wt.data_vars if not str(v).endswith("_se")]:
        fig, ax = plt.subplots(figsize=(4.8, 4))
        wt[v].plot(ax=ax, cbar_kwargs={"label": f"{v} (wt%)"})
        ax.set_xlabel("stage X (mm)")
        ax.set_ylabel("stage Y (mm)")
        ax.set_aspect("equal")
        fig.savefig(out / f"{v}.png", dpi=100, bbox_inches="tight")
        if sec is not None:
            sec.figure(fig, caption=f"Quantified {v} map (wt%), stage coordinates in mm")
        plt.close(fig)
        names.append(f"{v}.png")
    return names


def _epma_section(sec, res, out: Path, density=None) -> None:
    sec.text(
        "Raw X-ray count maps quantified with the spot analyses as internal standards (Yasumoto et "
        "al. 2018, Am. Mineral. 103:1690; QntMap-compatible): nearest-centre labels refined by a "
        "Poisson linear discriminant (Witten 2011), wt = Σ_j u_j α_ij (β_i I − γ_ij), α and γ from "
        "the spots per phase, β from spot–pixel pairs; delta-method standard errors."
    )
    sec.table(res.summary().round(3), caption="Summary of the wt% maps over all pixels")
    sec.table(res.phase_mean().round(3), caption="Mean wt% per phase (hard cluster) and overall")
    sec.table(
        res.phase_fraction().rename("mean membership").to_frame().round(5),
        caption="Phase abundance as mean Poisson-LDA membership"
        + (" (sub-pixel fractions: mixed pixels unmixed)" if res.metadata["mixed_pixels"] else ""),
    )
    if density:
        sec.table(
            res.phase_mean(density=density).round(3),
            caption="Mass-weighted (density-weighted) mean wt% per phase and overall",
        )
    _epma_outputs(res, out, sec, density)


@app.command("epma")
@guard
def epma(
    map_dir: Annotated[Path, typer.Argument(help="JEOL map folder (<k>_map.txt + <k>.cnd).")],
    qnt_dir: Annotated[Path, typer.Argument(help="JEOL spot folder (.qnt files, .cnd/elemw.cnd).")],
    dead_time_ns: Annotated[
        float | None,
        typer.Option(
            "--dead-time-ns",
            help="Detector dead time (ns; JXA-8105: 1100); default: from --map-conditions, else 0.",
        ),
    ] = None,
    fine_th: Annotated[
        float, typer.Option("--fine-th", help="Membership threshold of spots used for β.")
    ] = 0.9,
    fix: Annotated[
        Path | None,
        typer.Option(
            "--fix",
            help="CSV with element, phase and alpha/beta/gamma (fixed parameters) or wt "
            "(quasi-calibration of a phase without spots).",
        ),
    ] = None,
    add_phase: Annotated[
        list[str] | None,
        typer.Option("--add-phase", help="Phase without spots as NAME:IX:IY (its pixel)."),
    ] = None,
    phase_list: Annotated[
        Path | None, typer.Option("--phase-list", help="CSV id, phase, use overriding stg.qnt.")
    ] = None,
    tiles: Annotated[
        str | None,
        typer.Option("--tiles", help="Fit β per stage tile of MX,MY pixels (guide-net mosaics)."),
    ] = None,
    map_conditions: Annotated[
        Path | None, typer.Option("--map-conditions", help="conditions_xmap.csv instead of .cnd.")
    ] = None,
    qnt_conditions: Annotated[
        Path | None, typer.Option("--qnt-conditions", help="conditions_qnt.csv instead of elemw.")
    ] = None,
    se: Annotated[
        str,
        typer.Option("--se", help="Standard errors: delta (default), qntmap_compat or none."),
    ] = "delta",
    mixed_pixels: Annotated[
        bool,
        typer.Option(
            "--mixed-pixels", help="Quantify with sub-pixel phase fractions (boundary pixels)."
        ),
    ] = False,
    density: Annotated[
        str | None,
        typer.Option(
            "--density",
            help="Phase densities PHASE=g/cm3,... : also write mass-weighted phase_mean_mass.csv.",
        ),
    ] = None,
    chunks: Annotated[
        int | None,
        typer.Option(
            "--chunks",
            min=1,
            help="Maps larger than memory: read and quantify lazily in blocks of N × N pixels "
            "(dask); wt.nc is written block by block. Default: in memory.",
        ),
    ] = None,
    out: OutOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Quantify EPMA X-ray maps with spot analyses (QntMap-compatible; wt% maps with errors)."""
    from petroinfer.imaging import dead_time_correction
    from petroinfer.io import read_jeol_map, read_jeol_qnt

    xmap = read_jeol_map(map_dir, conditions=map_conditions, chunks=chunks)
    if chunks is not None:
        xmap = xmap.chunk({"element": -1, "y": chunks, "x": chunks})
    tau = dead_time_ns if dead_time_ns is not None else xmap.attrs["dead_time_ns_conditions"]
    if tau:
        xmap = dead_time_correction(xmap, tau)
    pl = (
        read_input(phase_list, id_column=False, normalise=False) if phase_list is not None else None
    )
    qnt = read_jeol_qnt(qnt_dir, conditions=qnt_conditions, phase_list=pl)
    fix_table = (
        read_input(fix, id_column=False, normalise=False, required=["element", "phase"])
        if fix is not None
        else None
    )
    rho = _epma_density(density)
    res = _epma_run(
        xmap, qnt, add_phase=add_phase or [], fix_table=fix_table, fine_th=fine_th, tiles=tiles,
        se=se, mixed=mixed_pixels,
    )  # fmt: skip
    pm = res.phase_mean()
    summary: dict[str, object] = {
        "map": f"{xmap.sizes['x']} x {xmap.sizes['y']} px, elements {list(res.centres.columns)}",
        "spots_used": res.metadata["n_spots_used"],
        "phase_fraction": {k: round(float(v), 5) for k, v in res.phase_fraction().items()},
        "whole_area_mean_wt%": {k: round(float(v), 4) for k, v in pm.loc["Whole area"].items()},
    }
    if rho:
        pmm = res.phase_mean(density=rho)
        summary["whole_area_mass_weighted_wt%"] = {
            k: round(float(v), 4) for k, v in pmm.loc["Whole area"].items()
        }
    if out is not None:
        from petroinfer.report import Report

        rep = Report("EPMA map quantification", inputs=[map_dir, qnt_dir])
        _epma_section(rep.section("EPMA map quantification"), res, out, rho)
        rep.save(out / "report.html")
        summary["out"] = str(out)
    emit(summary, json_out=json_out, out=out, title="petroinfer imaging epma")


def epma_demo_section(report: Report, out: Path) -> dict:
    """Demo: the QntMap minimal data set (when present), else a small synthetic two-phase map."""
    from petroinfer.errors import InputError
    from petroinfer.io import read_jeol_map, read_jeol_qnt
    from petroinfer.io.datasets import epma_qntmap_minimal_dir

    try:
        root = epma_qntmap_minimal_dir(download=False)
    except InputError:
        sec = report.section("EPMA map quantification")
        sec.text("QntMap minimal data set absent (petroinfer datasets fetch): section skipped.")
        return {"skipped": "epma_qntmap_minimal absent"}
    res = _epma_run(
        read_jeol_map(root / ".map/1"), read_jeol_qnt(root / ".qnt"),
        add_phase=[], fix_table=None, fine_th=0.9,
    )  # fmt: skip
    sec = report.section("EPMA map quantification (QntMap minimal data set, © 2018 JAMSTEC)")
    _epma_section(sec, res, out / "epma", {"Ol": 3.32, "Qtz": 2.65})
    sec.code(
        "petroinfer imaging epma minimal/.map/1 minimal/.qnt --density Ol=3.32,Qtz=2.65 "
        "--out results/"
    )
    pm = res.phase_mean()
    return {"SiO2_mean": round(float(pm.loc["Whole area", "SiO2"]), 5)}


# spatial fuzzy c-means segmentation of element maps (issue 16); defined in cli/segment.py
from petroinfer.cli import segment as _segment_cli  # noqa: E402

app.command("segment")(_segment_cli.segment)
