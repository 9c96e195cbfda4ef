"""``petroinfer texture``: grain-orientation statistics and the microboudin palaeopiezometer."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from petroinfer.cli._common import JsonOpt, OutOpt, SeedOpt, emit, guard, read_input, write_csv

if TYPE_CHECKING:
    import pandas as pd

    from petroinfer.report import Report

__all__ = ["app", "demo_section", "microboudin", "orientation"]

app = typer.Typer(
    help="Rock textures: orientation statistics, microboudin palaeopiezometer.",
    no_args_is_help=True,
)

_ANGLE_NAMES = ("theta", "θ", "angle", "orientation", "azimuth", "trend", "strike")


def _angle_column(data: pd.DataFrame, column: str | None) -> str:
    from petroinfer.errors import InputError

    if column is not None:
        if column not in data.columns:
            raise InputError(
                f"no column {column!r} in the input; columns are {list(data.columns)}",
                column=column,
            )
        return column
    for c in data.columns:
        if str(c).strip().lower() in _ANGLE_NAMES:
            return c
    candidates = [c for c in data.columns if not str(c).startswith("Unnamed")]
    if len(candidates) == 1:
        return candidates[0]
    raise InputError(
        f"say which column holds the angles with --column (one of {list(data.columns)})"
    )


def _orientation_summary(res, n: int) -> dict:
    import math

    models = {}
    for name, row in res.table.iterrows():
        params = {}
        for p in ("xi", "kappa", "nu", "lam", "rho", "psi", "xi1", "kappa1", "xi2", "kappa2", "p"):
            if p in row and not (isinstance(row[p], float) and math.isnan(row[p])):
                params[p] = float(row[p])
                params[f"{p}_se"] = float(row[f"{p}_se"])
        models[str(name)] = {
            "k": int(row["k"]),
            "log_likelihood": float(row["log_likelihood"]),
            "aic": float(row["aic"]),
            "aicc": float(row["aicc"]),
            "bic": float(row["bic"]),
            "loo": float(row["loo"]),
            "parameters": params,
        }
    return {
        "n": n,
        "axial": res.axial,
        "unit": res.unit,
        "best": res.best,
        "criterion": res.hyperparameters["criterion"],
        "log_likelihood_convention": res.table.attrs["log_likelihood_scale"],
        "models": models,
    }


def _orientation_report(sec, res, out: Path, stem: str = "rose") -> None:
    import matplotlib.pyplot as plt

    axial = "axial (angles doubled)" if res.axial else "circular"
    sec.text(
        f"{res.fits[res.best].n} orientations, {axial}. Models fitted by maximum likelihood (exact "
        "normalisers, multi-start) and ranked by "
        f"{res.hyperparameters['criterion'].upper()}; log-likelihoods: "
        f"{res.table.attrs['log_likelihood_scale']}. Inverse Batschelet: Jones & Pewsey (2012)."
    )
    cols = [
        c
        for c in (
            "k",
            "log_likelihood",
            "aic",
            "aicc",
            "bic",
            "loo",
            "delta",
            "weight",
            "watson_p",
            "xi",
            "kappa",
            "nu",
            "lam",
        )
        if c in res.table
    ]
    sec.table(res.table[cols].round(3), caption="Model table (locations in the input unit)")
    fig = plt.figure(figsize=(5.2, 5.2))
    ax = fig.add_subplot(projection="polar")
    res.plot(ax=ax)
    fig.savefig(out / f"{stem}.png", dpi=110, bbox_inches="tight")
    sec.figure(
        fig,
        caption=f"Rose diagram of the orientations with the fitted densities of the best model "
        f"({res.best}) and the von Mises model.",
    )
    plt.close(fig)


@app.command("orientation")
@guard
def orientation(
    file: Annotated[Path, typer.Argument(help="CSV/XLSX with a column of angles.")],
    column: Annotated[
        str | None, typer.Option("--column", help="Column with the angles (default: detected).")
    ] = None,
    axial: Annotated[
        bool, typer.Option("--axial", metavar="", help="Axial data (lines, 0–180°): double angles.")
    ] = False,
    unit: Annotated[str, typer.Option("--unit", help="deg | rad")] = "deg",
    models: Annotated[
        str | None,
        typer.Option("--models", help="Comma-separated model names (default: all)."),
    ] = None,
    criterion: Annotated[str, typer.Option("--criterion", help="aicc | aic | bic | loo")] = "aicc",
    bootstrap: Annotated[
        int, typer.Option("--bootstrap", help="Bootstrap refits of the best model.")
    ] = 0,
    seed: SeedOpt = 0,
    out: OutOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Fit circular/axial orientation models (von Mises … inverse Batschelet) and rank them."""
    from petroinfer.texture import OrientationModels

    data = read_input(file, normalise=False, id_column=False)
    col = _angle_column(data, column)
    names = [m.strip() for m in models.split(",") if m.strip()] if models else None
    model = OrientationModels(
        models=names, unit=unit, axial=axial, criterion=criterion, bootstrap=bootstrap,
        random_state=seed,
    )  # fmt: skip
    res = model.fit(data[col], column=str(col))
    summary = _orientation_summary(res, len(data))
    if out is not None:
        from petroinfer.report import Report

        out.mkdir(parents=True, exist_ok=True)
        write_csv(res.table, out / "models.csv")
        res.to_netcdf(out / "orientation.nc")
        rep = Report("Orientation statistics", inputs=[file], seed=seed)
        _orientation_report(rep.section("Orientation models"), res, out)
        rep.save(out / "report.html")
        summary["out"] = str(out)
    emit(summary, json_out=json_out, out=out, title="petroinfer texture orientation")


def _microboudin_report(sec, res, out: Path, stem: str = "microboudin") -> None:
    import matplotlib.pyplot as plt

    sec.text(
        "Probability that a columnar grain of aspect ratio R is boudinaged, P(R) = F_S(r·g(R)), with "
        "shear-lag stress transfer g (Cox elastic or Newtonian viscous matrix) and grain strength "
        "F_S; Bernoulli likelihood, AIC and exact leave-one-out, profile-likelihood interval of the "
        "stress ratio r = σ0/S0. Reconstruction [R] of Matsumura, Kuwatani & Masuda (2017)."
    )
    cols = [
        c
        for c in (
            "label",
            "k",
            "log_likelihood",
            "aic",
            "aicc",
            "bic",
            "loo",
            "delta",
            "weight",
            "r",
            "r_lower",
            "r_upper",
            "w",
            "n",
            "critical_aspect_ratio",
            "sigma0",
            "sigma0_lower",
            "sigma0_upper",
        )
        if c in res.table
    ]
    sec.table(
        res.table[cols].round(4), caption="Matrix models (r = σ0/S0 with its profile interval)"
    )
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    res.plot(ax=ax)
    fig.savefig(out / f"{stem}.png", dpi=110, bbox_inches="tight")
    sec.figure(
        fig,
        caption="Fraction of boudinaged grains per aspect-ratio class (points, ±1 binomial SE) and "
        "the fitted probability of boudinage of each matrix model.",
    )
    plt.close(fig)


@app.command("microboudin")
@guard
def microboudin(
    file: Annotated[
        Path,
        typer.Argument(
            help="CSV/XLSX: aspect_ratio + boudinaged (0/1), or aspect_ratio + n_boudinaged + "
            "n_grains."
        ),
    ],
    shear_lag: Annotated[
        float, typer.Option("--shear-lag", help="Cox shear-lag n of the elastic model (0: fit it).")
    ] = 1.0,
    strength: Annotated[
        str, typer.Option("--strength", help="weibull | normal | threshold")
    ] = "weibull",
    size_effect: Annotated[
        bool, typer.Option("--size-effect", metavar="", help="Weibull volume effect V ∝ R.")
    ] = False,
    criterion: Annotated[str, typer.Option("--criterion", help="aic | aicc | bic | loo")] = "aic",
    loo: Annotated[bool, typer.Option("--loo/--no-loo", help="Exact leave-one-out.")] = True,
    level: Annotated[float, typer.Option("--level", help="Profile-interval coverage.")] = 0.95,
    strength_scale: Annotated[
        float | None, typer.Option("--strength-scale", help="Grain strength S0 (e.g. MPa).")
    ] = None,
    strength_sd: Annotated[float, typer.Option("--strength-sd", help="1σ of S0.")] = 0.0,
    stress_unit: Annotated[str, typer.Option("--stress-unit", help="Unit of S0.")] = "MPa",
    power: Annotated[
        int, typer.Option("--power", help="Replicates of a power analysis at this n (0: none).")
    ] = 0,
    seed: SeedOpt = 0,
    out: OutOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Microboudin palaeopiezometer: elastic vs viscous matrix model and the stress ratio σ0/S0."""
    from petroinfer.texture import (
        MicroboudinModel,
        MicroboudinModels,
        check_microboudin_data,
        microboudin_power,
    )

    data = read_input(file, normalise=False, id_column=False)
    n_free = shear_lag == 0
    models = {
        "elastic": MicroboudinModel(
            "cox_elastic", strength, n=None if n_free else shear_lag, size_effect=size_effect
        ),
        "viscous": MicroboudinModel("viscous", strength, size_effect=size_effect),
    }
    inv = MicroboudinModels(
        models, criterion=criterion, loo=loo, level=level, strength_scale=strength_scale,
        strength_sd=strength_sd, stress_unit=stress_unit,
    )  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        res = inv.fit(data)
    best = res.table.loc[res.best]
    summary: dict[str, object] = {
        "grains": int(check_microboudin_data(data)[2].sum()),
        "best": res.best,
        "criterion": criterion,
        "stress_ratio": float(best["r"]),
        "stress_ratio_interval": [float(best["r_lower"]), float(best["r_upper"])],
        "level": level,
        "models": {
            str(k): {
                c: float(v) if not isinstance(v, str) else v
                for c, v in row.items()
                if c not in ("converged",)
            }
            for k, row in res.table.iterrows()
        },
    }
    if strength_scale is not None:
        summary["sigma0"] = float(best["sigma0"])
        summary["sigma0_interval"] = [float(best["sigma0_lower"]), float(best["sigma0_upper"])]
        summary["stress_unit"] = stress_unit
    tab = None
    if power > 0:
        R = check_microboudin_data(data)[0]
        import numpy as np

        tab = microboudin_power(
            [int(summary["grains"])], shear_lag=shear_lag if not n_free else 1.0,
            median_aspect=float(np.median(R)), log_sd=float(np.std(np.log(R))), n_rep=power,
            random_state=seed,
        )  # fmt: skip
        summary["power_p_correct"] = {str(t): float(v) for (_, t), v in tab["p_correct"].items()}
    if out is not None:
        from petroinfer.report import Report

        out.mkdir(parents=True, exist_ok=True)
        write_csv(res.table, out / "models.csv")
        res.to_netcdf(out / "microboudin.nc")
        rep = Report("Microboudin palaeopiezometer", inputs=[file], seed=seed)
        sec = rep.section("Matrix models and stress ratio")
        _microboudin_report(sec, res, out)
        if tab is not None:
            write_csv(tab, out / "power.csv")
            sec.table(tab.round(3), caption="Power analysis at this sample size (simulation)")
        rep.save(out / "report.html")
        summary["out"] = str(out)
    emit(summary, json_out=json_out, out=out, title="petroinfer texture microboudin")


def demo_section(report: Report, out: Path) -> dict:
    """Demo: axial orientations from an inverse Batschelet model, Fisher B2, synthetic microboudins."""
    import numpy as np
    import pandas as pd

    from petroinfer.errors import InputError
    from petroinfer.io.datasets import load_dataset
    from petroinfer.texture import (
        InverseBatschelet,
        MicroboudinModels,
        OrientationModels,
        simulate_microboudins,
    )

    out.mkdir(parents=True, exist_ok=True)
    truth = {"xi": 1.2, "kappa": 3.0, "nu": 0.4, "lam": 0.5}
    axes = np.degrees(InverseBatschelet(**truth).rvs(300, random_state=0)) / 2
    write_csv(pd.DataFrame({"theta": axes}), out / "synthetic_axes.csv", index=False)
    models = [
        "uniform",
        "von_mises",
        "wrapped_cauchy",
        "inverse_batschelet_nu0",
        "inverse_batschelet",
    ]
    res = OrientationModels(models=models, axial=True).fit(axes)
    sec = report.section("Grain orientations (inverse Batschelet, Matsumura et al. 2018)")
    sec.text(
        "300 synthetic grain long axes drawn from an inverse Batschelet distribution on the doubled "
        f"angle (ξ/2 = {np.degrees(truth['xi']) / 2:.1f}°, κ = 3, ν = 0.4, λ = 0.5)."
    )
    _orientation_report(sec, res, out, stem="rose_synthetic")
    sec.code(
        "petroinfer texture orientation synthetic_axes.csv --column theta --axial --out results/"
    )
    summary = {"orientation_best": res.best}
    try:
        b2 = load_dataset("fisher_b2", download=False)["theta"]
    except InputError:
        b2 = None
    if b2 is not None:
        res2 = OrientationModels(
            models=["uniform", "von_mises", "inverse_batschelet"], axial=True
        ).fit(b2)
        sec2 = report.section("Fisher (1993) B2 feldspar laths")
        _orientation_report(sec2, res2, out, stem="rose_fisher_b2")
        summary["fisher_b2_best"] = res2.best
    grains = simulate_microboudins("elastic", 300, random_state=0)
    write_csv(grains, out / "synthetic_microboudins.csv", index=False)
    mb = MicroboudinModels(strength_scale=30.0, strength_sd=3.0).fit(grains)
    sec3 = report.section("Microboudin palaeopiezometer (Matsumura et al. 2017 [R])")
    sec3.text(
        "300 synthetic tourmaline grains (log-normal aspect ratio, median 5) from the Cox elastic "
        f"model (n = 1, Weibull w = 5, true r = σ0/S0 = {grains.attrs['r']:.3f}); S0 = 30 ± 3 MPa."
    )
    _microboudin_report(sec3, mb, out)
    sec3.code(
        "petroinfer texture microboudin synthetic_microboudins.csv --strength-scale 30 --out results/"
    )
    summary.update(
        {
            "microboudin_best": mb.best,
            "stress_ratio": round(float(mb.table.loc[mb.best, "r"]), 4),
            "stress_ratio_true": round(float(grains.attrs["r"]), 4),
        }
    )
    return summary
