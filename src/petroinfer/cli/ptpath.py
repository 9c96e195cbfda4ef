"""``petroinfer ptpath``: P–T path inversions (``inclusions``: GMRF path from inclusion thermobarometry)."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from petroinfer.cli._common import JsonOpt, OutOpt, SeedOpt, emit, guard, read_input, write_csv
from petroinfer.cli.thermobar import BarometerOpt, ThermometerOpt

if TYPE_CHECKING:
    import pandas as pd

    from petroinfer.report import Report

__all__ = ["app", "demo_section", "inclusions"]

app = typer.Typer(help="P–T path inversions.", no_args_is_help=True)


def _write_outputs(
    res, data: pd.DataFrame, out: Path, title: str, seed: int, inputs=(), truth=None
) -> Report:
    import matplotlib.pyplot as plt

    from petroinfer.report import Report

    out.mkdir(parents=True, exist_ok=True)
    table = res.summary()
    write_csv(table, out / "ptpath.csv")
    write_csv(res.observations, out / "inclusions_fit.csv")
    res.to_netcdf(out / "ptpath.nc")
    rep = Report(title, inputs=list(inputs), seed=seed)
    _report_section(rep.section(title), res, out, truth)
    plt.close("all")
    return rep


def _report_section(sec, res, out: Path, truth=None) -> None:
    import matplotlib.pyplot as plt

    hp = res.hyperparameters
    sec.text(
        "P and T at nodes along the garnet radius (core → rim) with a first/second-order GMRF prior; each "
        "biotite (Grt–Bt exchange) or plagioclase (GASP) inclusion with its host-garnet composition is one "
        "equilibrium residual with propagated analytical uncertainty. Posterior: Laplace approximation at "
        "the MAP; smoothness chosen by maximum Laplace evidence. Reconstruction [R] of Kuwatani et al. (2018)."
    )
    sec.mapping(
        {
            "calibrations": f"{hp['thermometer']} + {hp['barometer']}",
            "log evidence": round(float(res.log_evidence), 3),
            "smoothness T (K⁻²)": f"{hp['smoothness_T_per_K2']:.3g}",
            "smoothness P (kbar⁻²)": f"{hp['smoothness_P_per_kbar2']:.3g}",
            "order": hp["order"],
            "likelihood": hp["likelihood"],
        },
        caption="Model and hyperparameters",
    )
    fig, ax = plt.subplots(figsize=(5.5, 4.2))
    res.plot(ax=ax, kind="pt")
    if truth is not None:
        ax.plot(truth["T_C"], truth["P_kbar"], "r--", lw=1, label="truth")
        ax.legend(fontsize="small")
    fig.savefig(out / "ptpath_pt.png", dpi=110, bbox_inches="tight")
    sec.figure(
        fig,
        caption="P–T path: posterior mean with 90 % bands, Laplace draws (grey), ds62 Al2SiO5 lines",
    )
    fig, axes = plt.subplots(2, 1, figsize=(5.5, 5), sharex=True)
    res.plot(ax=axes, kind="radius")
    axes[0].set_xlabel(axes[-1].get_xlabel())  # shared radius axis, labelled on both panels
    if truth is not None:
        axes[0].plot(truth["radius"], truth["T_C"], "r--", lw=1)
        axes[1].plot(truth["radius"], truth["P_kbar"], "r--", lw=1)
    fig.savefig(out / "ptpath_radius.png", dpi=110, bbox_inches="tight")
    sec.figure(fig, caption="T and P against radius with 90 % bands")
    sec.table(res.summary().round(3), caption="Path table (T °C, P kbar)")


@app.command("inclusions")
@guard
def inclusions(
    file: Annotated[
        Path, typer.Argument(help="CSV/XLSX: radius, inclusion, Grt_X*, Bt_XMg / Pl_XAn.")
    ],
    thermometer: ThermometerOpt = "HS82",
    barometer: BarometerOpt = "KN88",
    polymorph: Annotated[str, typer.Option("--polymorph", help="ky | sill | and")] = "ky",
    n_nodes: Annotated[
        int | None, typer.Option("--n-nodes", help="Nodes along the radius.")
    ] = None,
    order: Annotated[int, typer.Option("--order", help="GMRF order: 1 or 2.")] = 1,
    sigma: Annotated[float, typer.Option("--sigma", help="1σ of each mole fraction.")] = 0.005,
    robust: Annotated[
        bool,
        typer.Option(
            "--robust", metavar="", help="Student-t likelihood (re-equilibrated inclusions)."
        ),
    ] = False,
    seed: SeedOpt = 0,
    out: OutOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Bayesian P–T path along a garnet radius from biotite and plagioclase inclusions."""
    from petroinfer.errors import DataQualityWarning
    from petroinfer.ptpath import InclusionPTPath

    data = read_input(file, normalise=False)
    model = InclusionPTPath(
        n_nodes=n_nodes, order=order, thermometer=thermometer, barometer=barometer, polymorph=polymorph,
        sigma=sigma, likelihood="student_t" if robust else "gaussian", random_state=seed,
    )  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        res = model.fit(data)
    est = res.estimate
    summary: dict[str, object] = {
        "inclusions": len(data),
        "nodes": int(est.sizes["node"]),
        "T_C_core": round(float(est["T_C"][0]), 1),
        "T_C_rim": round(float(est["T_C"][-1]), 1),
        "P_kbar_core": round(float(est["P_kbar"][0]), 2),
        "P_kbar_rim": round(float(est["P_kbar"][-1]), 2),
        "P_kbar_max": round(float(est["P_kbar"].max()), 2),
        "mean_T_sd": round(float(est["T_C_sd"].mean()), 2),
        "mean_P_sd": round(float(est["P_kbar_sd"].mean()), 3),
        "log_evidence": float(res.log_evidence),
    }
    if out is not None:
        rep = _write_outputs(res, data, out, "P–T path from inclusions", seed, inputs=[file])
        rep.save(out / "report.html")
        summary["out"] = str(out)
    emit(summary, json_out=json_out, out=out, title="petroinfer ptpath inclusions")


def demo_section(report: Report, out: Path) -> dict:
    """Demo: MRF P–T path of a synthetic zoned garnet, all inclusions and half of them removed."""
    import numpy as np
    import pandas as pd

    from petroinfer.ptpath import InclusionPTPath, pointwise_pt, synthetic_inclusions

    out.mkdir(parents=True, exist_ok=True)
    data, truth = synthetic_inclusions(n_nodes=30, sigma=0.005, random_state=0)
    write_csv(data, out / "synthetic_inclusions.csv", index=False)
    nodes = truth["radius"].to_numpy()
    res = InclusionPTPath(nodes=nodes, random_state=0).fit(data)
    rng = np.random.default_rng(0)
    keep = np.sort(
        np.r_[
            0,
            len(data) - 1,
            rng.choice(np.arange(1, len(data) - 1), len(data) // 2 - 2, replace=False),
        ]
    )
    half = InclusionPTPath(nodes=nodes, random_state=0).fit(data.iloc[keep])
    pw = pointwise_pt(data)
    sec = report.section("P–T path from inclusions (GMRF, Kuwatani et al. 2018 [R])")
    sec.text(
        "Synthetic garnet (30 nodes, biotite + plagioclase inclusion at each, σ = 0.005 on every mole "
        "fraction) generated with HS82 + KN88 along a clockwise path (red dashed)."
    )
    _report_section(sec, res, out, truth)

    def rmse(a, b):
        return float(np.sqrt(np.mean((np.asarray(a) - np.asarray(b)) ** 2)))

    def cover(e):
        t, p = truth["T_C"].to_numpy(), truth["P_kbar"].to_numpy()
        return float(
            np.mean(
                np.r_[
                    (e["T_C_q05"].values <= t) & (t <= e["T_C_q95"].values),
                    (e["P_kbar_q05"].values <= p) & (p <= e["P_kbar_q95"].values),
                ]
            )
        )

    comp = pd.DataFrame(
        {
            "T_rmse_C": [rmse(pw["T_C"], truth["T_C"]), rmse(res.estimate["T_C"], truth["T_C"]),
                         rmse(half.estimate["T_C"], truth["T_C"])],
            "P_rmse_kbar": [rmse(pw["P_kbar"], truth["P_kbar"]), rmse(res.estimate["P_kbar"], truth["P_kbar"]),
                            rmse(half.estimate["P_kbar"], truth["P_kbar"])],
            "coverage90": [np.nan, cover(res.estimate), cover(half.estimate)],
        },
        index=["point-by-point", "MRF, all inclusions", "MRF, half removed"],
    )  # fmt: skip
    sec.table(comp.round(3), caption="Recovery of the true path")
    sec.code("petroinfer ptpath inclusions synthetic_inclusions.csv --out results/")
    return {
        "T_rmse_mrf": round(comp.iloc[1, 0], 2),
        "T_rmse_pointwise": round(comp.iloc[0, 0], 2),
        "coverage_half": round(comp.iloc[2, 2], 3),
    }


# ``ptpath assimilate`` (issue 14): defined in cli/diffusion.py (typer-only imports at top level)
from petroinfer.cli import diffusion as _diffusion_cli  # noqa: E402

app.command("assimilate")(guard(_diffusion_cli.assimilate))

# ``ptpath zoning`` (issue 13): defined in cli/gibbs.py (typer-only imports at top level)
from petroinfer.cli import gibbs as _gibbs_cli  # noqa: E402

app.command("zoning")(guard(_gibbs_cli.zoning))
