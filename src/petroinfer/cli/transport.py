"""``petroinfer kinetics transport-simulate|transport-fit|identify``: reaction–transport commands.

Registered in the ``kinetics`` group by lines at the end of :mod:`petroinfer.cli.kinetics`. Only typer
and the CLI helpers are imported at module level; the science is imported inside the commands.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from petroinfer.cli._common import JsonOpt, OutOpt, SeedOpt, emit, read_input, write_csv
from petroinfer.errors import InputError

if TYPE_CHECKING:
    from petroinfer.report import Report

__all__ = ["demo_section", "identify", "transport_fit", "transport_simulate"]

SpecArg = Annotated[
    Path, typer.Argument(help="YAML set-up: network, grid, diffusivity, initial layers, time.")
]


def _names(text: str, what: str) -> list[str]:
    names = [s.strip() for s in text.split(",") if s.strip()]
    if not names:
        raise InputError(f"{what} needs at least one species name")
    return names


def _profile_times(profile, file: Path) -> float | list[float]:
    """The snapshot times of a profile's ``time`` column (numeric, positive), in increasing order."""
    import numpy as np
    import pandas as pd

    t = pd.to_numeric(profile["time"], errors="coerce")
    bad = ~np.isfinite(t.to_numpy(float)) | (t.to_numpy(float) <= 0)
    if bad.any():
        r = int(np.flatnonzero(bad)[0])
        raise InputError(
            f"{file.name}: snapshot times must be positive numbers",
            column="time",
            row=profile.index[r],
            value=profile["time"].iloc[r],
        )
    times = sorted({float(v) for v in t})
    return times[0] if len(times) == 1 else times


def _profile_figure(fit, profile, out: Path, report: Report, title: str) -> None:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5))
    fit.plot(ax=ax, observed=profile)
    fig.tight_layout()
    fig.savefig(out / "profile_fit.png", dpi=120)
    sec = report.section(title)
    sec.figure(
        fig,
        caption="Observed mineral modes (points) and the modes of the maximum-a-posteriori "
        "reaction–transport model (lines) along the profile (the last snapshot when there "
        "are several).",
    )
    sec.table(fit.table().round(4), caption="Posterior of the log10 parameters.")
    plt.close(fig)


def transport_simulate(
    spec: SpecArg,
    noise: Annotated[
        float | None, typer.Option("--noise", help="Noise SD as a fraction of the modal range.")
    ] = None,
    seed: SeedOpt = 0,
    out: OutOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Simulate a reaction–diffusion set-up: the noisy mode profile and the true state at `time`."""
    from petroinfer.kinetics import load_transport_spec, simulate_mode_profile

    setup = load_transport_spec(spec)
    sim = setup.options.get("simulation", {})
    nz = float(noise if noise is not None else sim.get("noise", 0.03))
    if not (0 <= nz < 1):
        raise InputError("--noise must be in [0, 1)", value=nz)
    profile = simulate_mode_profile(
        setup.model,
        setup.initial_state,
        setup.time,
        nz,
        n_steps=setup.n_steps,
        random_state=seed,
    )
    times = setup.time if isinstance(setup.time, list) else [setup.time]
    truth = setup.model.simulate(setup.initial_state, [0.0, *times], n_steps=setup.n_steps).isel(
        time=slice(1, None)
    )
    summary = {
        "network": setup.model.network.name,
        "cells": int(setup.model.grid.n_cells),
        "time": setup.time,
        "diffusivity": setup.model.diffusivity,
        "rate_constants": dict(
            zip(
                setup.model.network.reaction_names,
                setup.model.network.rate_constants.tolist(),
                strict=True,
            )
        ),
        "noise": nz,
        "sigma": profile.attrs["sigma"],
    }
    if out is not None:
        import matplotlib.pyplot as plt

        from petroinfer.report import Report

        write_csv(profile, out / "profile.csv", index=False)
        tdf = truth.to_dataframe(name="amount")["amount"].unstack("species")
        tdf = tdf[list(truth["species"].values)]
        if len(times) == 1:
            tdf = tdf.droplevel("time")
        write_csv(tdf, out / "truth.csv")
        minerals = [c for c in profile.columns if c not in ("time", "x")]
        fig, ax = plt.subplots(figsize=(6, 3.5))
        for k, t in enumerate(times):
            style = "-" if k == len(times) - 1 else ":"
            sel = profile if len(times) == 1 else profile[profile["time"] == t]
            state = truth.isel(time=k).to_pandas()
            for j, sp in enumerate(minerals):
                colour = f"C{j}"
                label = sp if k == len(times) - 1 else None
                ax.plot(state.index, state[sp], style, color=colour, label=label)
                ax.plot(
                    sel["x"],
                    sel[sp],
                    "o",
                    ms=3,
                    color=colour,
                    alpha=0.4 + 0.6 * (k + 1) / len(times),
                )
        ax.set_xlabel("position x (m)")
        ax.set_ylabel("mineral mode (volume fraction)")
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(out / "profile.png", dpi=120)
        when = (
            f"at t = {times[0]:g}"
            if len(times) == 1
            else "at t = " + ", ".join(f"{t:g}" for t in times) + " (dotted: earlier snapshots)"
        )
        report = Report("Reaction–transport simulation")
        report.section("Simulated mineral-mode profile").figure(
            fig,
            caption=f"True modes (lines) and the noisy profile (points, {nz:.0%} of the modal "
            f"range) {when}.",
        )
        plt.close(fig)
        report.save(out / "report.html")
    emit(summary, json_out=json_out, out=out, title="Reaction–transport simulation")


def transport_fit(
    file: Annotated[
        Path,
        typer.Argument(
            help="CSV with column x and one column per mineral; with a time column, several "
            "snapshots of one section (their times replace the set-up's time)."
        ),
    ],
    network: Annotated[
        Path, typer.Option("--network", help="YAML set-up (as for transport-simulate).")
    ],
    sweeps: Annotated[int, typer.Option("--sweeps", help="REMC sweeps kept per chain.")] = 600,
    temps: Annotated[int, typer.Option("--temps", help="Maximum REMC rungs.")] = 12,
    chains: Annotated[int, typer.Option("--chains", help="Independent REMC chains.")] = 2,
    noise_model: Annotated[
        str, typer.Option("--noise-model", help="gaussian|dirichlet")
    ] = "gaussian",
    seed: SeedOpt = 0,
    out: OutOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Posterior of log10 rate constants and log10 diffusivity from mineral-mode profiles (REMC).

    One profile at the set-up's time, or (with a ``time`` column) several snapshots of the same
    section at the times in that column: two snapshots separate surface laws that one cannot.
    """
    from petroinfer.kinetics import ReactionTransportInversion, load_transport_spec

    setup = load_transport_spec(network)
    profile = read_input(file, normalise=False, id_column=None)
    time = _profile_times(profile, file) if "time" in profile.columns else setup.time
    fopts = setup.options.get("fit", {})
    inv = ReactionTransportInversion(
        setup.model,
        setup.initial_state,
        time,
        fit_reactions=fopts.get("reactions"),
        noise=noise_model,
        n_steps=setup.n_steps,
        n_temps=int(temps),
        n_sweeps=int(sweeps),
        n_chains=int(chains),
        random_state=seed,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = inv.fit(profile)
    table = res.table()
    summary = {
        "network": setup.model.network.name,
        "time": time,
        "log_evidence": res.log_evidence,
        "log_evidence_se": res.log_evidence_se,
        "posterior": table[["parameter", "mean", "q05", "q95"]].to_dict(orient="records"),
    }
    if out is not None:
        from petroinfer.report import Report

        write_csv(table, out / "posterior.csv", index=False)
        res.to_netcdf(out / "posterior.nc")
        report = Report("Reaction–transport inversion")
        _profile_figure(res, profile, out, report, "Rate constants and diffusivity (REMC)")
        report.save(out / "report.html")
    emit(summary, json_out=json_out, out=out, title="Reaction–transport inversion")


def identify(
    file: Annotated[Path, typer.Argument(help="CSV with columns time (optional), x and species.")],
    solids: Annotated[
        str, typer.Option("--solids", help="Mineral columns, comma-separated.")
    ] = "M",
    aqueous: Annotated[
        str, typer.Option("--aqueous", help="Aqueous-species columns, comma-separated.")
    ] = "c",
    laws: Annotated[
        str, typer.Option("--laws", help="Surface laws in the library, comma-separated.")
    ] = "sphere,cylinder,plate,volume",
    out: OutOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Identify the diffusion and surface-reaction terms of a field (weak form, evidence-greedy)."""
    from petroinfer.kinetics import ReactionTransportIdentification

    table = read_input(file, normalise=False, id_column=None)
    res = ReactionTransportIdentification(
        _names(solids, "--solids"), _names(aqueous, "--aqueous"), laws=_names(laws, "--laws")
    ).fit(table)
    terms = res.terms()
    summary = {
        "mode": res.diagnostics["mode"],
        "terms": terms.to_dict(orient="records"),
        "log_evidence": res.log_evidence,
    }
    if out is not None:
        import matplotlib.pyplot as plt

        from petroinfer.report import Report

        write_csv(terms, out / "terms.csv", index=False)
        fig, ax = plt.subplots(figsize=(5, 3.5))
        res.plot(ax=ax)
        fig.tight_layout()
        fig.savefig(out / "evidence_path.png", dpi=120)
        report = Report("Equation identification")
        sec = report.section("Selected terms")
        sec.figure(
            fig,
            caption="Log evidence of the weak-form regression as candidate terms are removed "
            "(backward elimination), per target species.",
        )
        sec.table(terms.round(5), caption="Selected terms with 90 % intervals.")
        plt.close(fig)
        report.save(out / "report.html")
    emit(summary, json_out=json_out, out=out, title="Equation identification")


def demo_section(report: Report, out: Path) -> dict:
    """Demo: olivine–quartz–H2O profile inverted by REMC; identification of a dissolution field."""
    import matplotlib.pyplot as plt
    import numpy as np

    from petroinfer.kinetics import (
        Reaction,
        ReactionNetwork,
        ReactionTransport,
        ReactionTransportIdentification,
        ReactionTransportInversion,
        Species,
        load_transport_spec,
        simulate_mode_profile,
    )
    from petroinfer.numerics import Grid1D

    out.mkdir(parents=True, exist_ok=True)
    setup = load_transport_spec({"time": 5.0, "n_steps": 12})
    profile = simulate_mode_profile(
        setup.model, setup.initial_state, setup.time, 0.03, n_steps=12, random_state=0
    )
    write_csv(profile, out / "transport_profile.csv", index=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = ReactionTransportInversion(
            setup.model,
            setup.initial_state,
            setup.time,
            n_steps=12,
            n_sweeps=300,
            n_chains=1,
            warn=False,
            random_state=1,
        ).fit(profile)
    write_csv(fit.table(), out / "transport_posterior.csv", index=False)
    fig, ax = plt.subplots(figsize=(6, 3.5))
    fit.plot(ax=ax, observed=profile)
    fig.tight_layout()
    sec = report.section("Reaction–transport: olivine–quartz–H2O profile (synthetic, 3 % noise)")
    sec.figure(
        fig,
        caption="Mineral modes across a quartz | olivine contact after silica metasomatism and "
        "hydration: observed (points) and maximum-a-posteriori model (lines).",
    )
    sec.table(fit.table().round(3), caption="Posterior of log10 k and log10 D (REMC).")
    sec.text(
        "Truth: log10 k = 0.301, -1.301, 0.699; log10 D = -2. Command: petroinfer kinetics "
        "transport-fit profile.csv --network setup.yaml --out DIR"
    )
    plt.close(fig)

    net = ReactionNetwork(
        (Species("M", "solid"), Species("c", "aqueous")),
        (Reaction("diss", {"M": -1.0, "c": 1.0}, 0.5, "M", "sphere", "affinity", "c", 0.5),),
    )
    g = Grid1D.uniform(1.0, 128)
    x = g.centres
    x0 = np.column_stack([0.3 + 0.25 * np.cos(2 * np.pi * x), 0.25 * (1 + np.sin(2 * np.pi * x))])
    da = ReactionTransport(net, g, diffusivity=0.01).simulate(x0, np.linspace(0, 4, 161), n_steps=5)
    F = da.values
    rng = np.random.default_rng(0)
    noisy = da.copy(
        data=np.maximum(F + 0.03 * np.ptp(F, axis=(0, 1)) * rng.standard_normal(F.shape), 0.0)
    )
    ident = ReactionTransportIdentification(["M"], ["c"]).fit(noisy)
    terms = ident.terms()
    write_csv(terms, out / "identified_terms.csv", index=False)
    sec2 = report.section("Equation identification: dissolution + diffusion (3 % noise)")
    fig2, ax2 = plt.subplots(figsize=(5, 3.5))
    ident.plot(ax=ax2)
    fig2.tight_layout()
    sec2.figure(
        fig2,
        caption="Log evidence along the backward elimination of candidate terms, per species.",
    )
    sec2.table(
        terms.round(4),
        caption="Selected terms (truth: M: -0.25 S + 0.5 S c; c: 0.01 "
        "c_xx + 0.25 S - 0.5 S c, S = M^(2/3)).",
    )
    plt.close(fig2)
    tab = fit.table().set_index("parameter")
    return {
        "log10_D": round(float(tab.loc["log10_D", "mean"]), 3),
        "identified_terms": len(terms),
    }
