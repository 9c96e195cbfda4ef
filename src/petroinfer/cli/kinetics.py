"""``petroinfer kinetics fit|simulate|select-terms``: heterogeneous-reaction kinetics from time series."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

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
from petroinfer.errors import InputError

if TYPE_CHECKING:
    import pandas as pd

    from petroinfer.report import Report

__all__ = ["app", "demo_section", "fit", "select_terms", "simulate"]

app = typer.Typer(
    help="Reaction kinetics: rate constants, hidden solids and surface-area laws from time series.",
    no_args_is_help=True,
)

NetworkOpt = Annotated[
    str,
    typer.Option("--network", help="'dissolution-precipitation' or a YAML network specification."),
]
ObservedOpt = Annotated[
    str, typer.Option("--observed", help="Observed species (comma-separated columns), e.g. B.")
]
TimeOpt = Annotated[str, typer.Option("--time-column", help="Name of the time column.")]
SeriesArg = Annotated[Path, typer.Argument(help="CSV with a time column and the observed species.")]


def _read(path: Path) -> pd.DataFrame:
    """The time series as written (no renaming); rows are named by their sample id when the file has an
    id column, else by their 1-based data-row number, so messages point at the row a user sees."""
    return read_input(path, normalise=False, id_column=None)


def _observed(text: str) -> tuple[str, ...]:
    names = tuple(s.strip() for s in text.split(",") if s.strip())
    if not names:
        raise InputError("--observed needs at least one species name")
    return names


@app.command("fit")
@guard
def fit(
    file: SeriesArg,
    network: NetworkOpt = "dissolution-precipitation",
    observed: ObservedOpt = "B",
    surface: Annotated[
        str, typer.Option("--surface", help="auto|sphere|cylinder|plate|volume")
    ] = "auto",
    draws: Annotated[int, typer.Option("--draws", help="PMMH draws per chain.")] = 1000,
    chains: Annotated[int, typer.Option("--chains", help="PMMH chains.")] = 4,
    particles: Annotated[
        int | None, typer.Option("--particles", help="Particles (default: chosen, SD(ll) < 1).")
    ] = None,
    evidence_draws: Annotated[
        int, typer.Option("--evidence-draws", help="Importance draws per candidate law (IS²).")
    ] = 256,
    time_column: TimeOpt = "time",
    seed: SeedOpt = 0,
    out: OutOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Rate constants (mean, 90 % interval), surface law by evidence and hidden time courses."""
    from petroinfer.errors import ConvergenceWarning
    from petroinfer.kinetics import ReactionKineticsInversion

    data = _read(file)
    inv = ReactionKineticsInversion(
        network,
        _observed(observed),
        surface,
        n_particles=particles,
        n_draws=draws,
        n_chains=chains,
        n_evidence=evidence_draws,
        n_tune=max(100, draws // 3),
        time=time_column,
        random_state=seed,
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        res = inv.fit(data)
    summary = _fit_summary(res)
    summary["warnings"] = [str(w.message) for w in caught if issubclass(w.category, Warning)][:3]
    if out is not None:
        _write_fit(res, data, out, title=f"Reaction kinetics: {file.name}", inputs=[file])
    emit(summary, json_out=json_out, out=out, title="petroinfer kinetics fit")


def _fit_summary(res) -> dict:
    rc = res.rate_constants
    return {
        "surface_law": res.hyperparameters["surface_law"],
        "rate_constants": {
            r: {"mean": row["mean"], "q05": row["q05"], "q95": row["q95"]}
            for r, row in rc.iterrows()
        },
        "log_evidence": res.log_evidence,
        "log_evidence_se": res.log_evidence_se,
        "evidence_table": res.evidence_table[["log_evidence", "log_evidence_se", "aic", "bic"]]
        .round(3)
        .to_dict(orient="index"),
        "n_particles": res.diagnostics["n_particles"],
        "loglik_sd_at_posterior_mean": res.diagnostics["loglik_sd_posterior_mean"],
        "max_r_hat": res.diagnostics["max_r_hat"],
        "min_ess_bulk": res.diagnostics["min_ess_bulk"],
    }


def _write_fit(
    res,
    data: pd.DataFrame,
    out: Path,
    title: str,
    report: Report | None = None,
    section: str | None = None,
    inputs: list | tuple = (),
) -> None:
    import matplotlib.pyplot as plt

    from petroinfer.report import Report

    out.mkdir(parents=True, exist_ok=True)
    write_csv(res.rate_constants, out / "rate_constants.csv")
    write_csv(res.evidence_table, out / "evidence_table.csv")
    write_csv(res.hidden_states, out / "hidden_states.csv", index=False)
    res.to_netcdf(out / "result.nc")
    own = report is None
    report = report or Report(title, inputs=list(inputs))
    sec = report.section(section or "Heterogeneous-reaction kinetics")
    sec.text(
        f"Selected surface-area law: {res.hyperparameters['surface_law']} "
        f"(log evidence {res.log_evidence:.2f} ± {res.log_evidence_se:.2f}, IS² with the "
        f"particle-filter likelihood; {res.diagnostics['n_particles']} particles, SD of the "
        f"log-likelihood at the posterior mean {res.diagnostics['loglik_sd_posterior_mean']:.2f})."
    )
    sec.table(res.rate_constants, caption="Rate constants: posterior mean, SD, 90 % interval")
    sec.table(res.evidence_table, caption="Candidate surface laws (best first)")
    axes = res.plot(data=data)
    fig = axes[0].figure
    for ax in axes:  # panels share the quantity of the first one
        if not ax.get_ylabel():
            ax.set_ylabel(axes[0].get_ylabel())
    fig.tight_layout()
    fig.savefig(out / "hidden_states.png", dpi=110)
    sec.figure(fig, caption="Hidden time courses (median, 90 % band) and observations")
    ev = res.evidence_table
    fig2, ax2 = plt.subplots(figsize=(4.5, 3))
    ax2.errorbar(range(len(ev)), ev["log_evidence"], yerr=2 * ev["log_evidence_se"], fmt="o")
    ax2.set_xticks(range(len(ev)), list(ev.index))
    ax2.set_xlabel("surface-area law")
    ax2.set_ylabel("log evidence (± 2 SE)")
    fig2.tight_layout()
    fig2.savefig(out / "evidence.png", dpi=110)
    sec.figure(fig2, caption="Log evidence of the candidate surface laws")
    if own:
        report.save(out / "report.html")


@app.command("simulate")
@guard
def simulate(
    spec: Annotated[Path, typer.Argument(help="YAML network (optional 'simulation' block).")],
    n_obs: Annotated[int | None, typer.Option("--n-obs", help="Observation times.")] = None,
    t_end: Annotated[float | None, typer.Option("--t-end", help="End time.")] = None,
    noise: Annotated[
        float | None, typer.Option("--noise", help="Noise SD as a fraction of the maximum.")
    ] = None,
    observed: Annotated[str | None, typer.Option("--observed", help="Observed species.")] = None,
    seed: SeedOpt = 0,
    out: OutOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Forward-simulate a network: noisy observations, true hidden states and the ODE solution."""
    import numpy as np

    from petroinfer.kinetics import load_network, simulate_observations
    from petroinfer.report import Report

    raw = read_yaml_spec(spec)
    net = load_network(raw.get("network", raw))
    sim = dict(raw.get("simulation", {}) or {})
    n = int(n_obs if n_obs is not None else sim.get("n_obs", 150))
    te = float(t_end if t_end is not None else sim.get("t_end", 60.0))
    nz = float(noise if noise is not None else sim.get("noise", 0.03))
    obs_names = _observed(observed) if observed else tuple(sim.get("observed", ["B"]))
    obs, truth = simulate_observations(
        net,
        n_obs=n,
        t_end=te,
        observed=obs_names,
        noise=nz,
        process_noise=float(sim.get("process_noise", 0.02)),
        random_state=seed,
    )
    ode = net.simulate(np.linspace(0.0, te, 201))
    summary = {
        "network": net.name,
        "n_obs": n,
        "t_end": te,
        "observed": list(obs_names),
        "noise": nz,
        "rate_constants": truth.attrs["rate_constants"],
        "final_state": ode.iloc[-1].to_dict(),
    }
    if out is not None:
        import matplotlib.pyplot as plt

        write_csv(obs, out / "observations.csv", index=False)
        write_csv(truth, out / "truth.csv", index=False)
        write_csv(ode, out / "ode.csv", index=False)
        fig, ax = plt.subplots(figsize=(5, 3.3))
        for sp in net.species_names:
            ax.plot(ode["time"], ode[sp], label=f"{sp} (ODE)")
        for sp in obs_names:
            ax.plot(obs["time"], obs[sp], ".", ms=3, label=f"{sp} observed")
        ax.set_xlabel("time (model units)")
        ax.set_ylabel("amount / concentration")
        ax.legend(fontsize="small")
        fig.tight_layout()
        fig.savefig(out / "simulation.png", dpi=110)
        rep = Report(f"Simulation: {spec.name}", seed=seed, inputs=[spec])
        sec = rep.section("Forward simulation")
        sec.mapping({k: v for k, v in summary.items() if k != "final_state"})
        sec.figure(fig, caption="ODE solution and noisy observations")
        rep.save(out / "report.html")
    emit(summary, json_out=json_out, out=out, title="petroinfer kinetics simulate")


@app.command("select-terms")
@guard
def select_terms(
    file: SeriesArg,
    network: NetworkOpt = "dissolution-precipitation",
    observed: ObservedOpt = "B",
    time_column: TimeOpt = "time",
    seed: SeedOpt = 0,
    out: OutOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Sparse reaction-term selection (reactions × surface laws) with an adaptive-L1 EM path."""
    from petroinfer.kinetics import SparseReactionSelection
    from petroinfer.report import Report

    res = SparseReactionSelection(
        network, _observed(observed), time=time_column, random_state=seed
    ).fit(_read(file))
    summary = {
        "selected_terms": res.hyperparameters["selected_terms"],
        "rate_constants": dict(
            zip(
                res.estimate["term"].values.tolist(),
                res.estimate["rate_constant"].values.tolist(),
                strict=True,
            )
        ),
    }
    if out is not None:
        path = res.criterion.to_dataframe()
        write_csv(path, out / "selection_path.csv")
        rep = Report("Sparse reaction-term selection", seed=seed, inputs=[file])
        sec = rep.section("Selection path (adaptive L1 inside the EM M-step)")
        sec.table(path.reset_index(), caption="Coefficients, PF log-likelihood and BIC along λ")
        rep.save(out / "report.html")
    emit(summary, json_out=json_out, out=out, title="petroinfer kinetics select-terms")


def demo_section(report: Report, out: Path) -> dict:
    """Demo: synthetic dissolution–precipitation series, fit with automatic surface-law choice."""
    from petroinfer.kinetics import (
        ReactionKineticsInversion,
        dissolution_precipitation,
        simulate_observations,
    )

    out.mkdir(parents=True, exist_ok=True)
    obs, _truth = simulate_observations(
        dissolution_precipitation(surface="sphere"), n_obs=120, noise=0.03, random_state=0
    )
    write_csv(obs, out / "observations.csv", index=False)
    inv = ReactionKineticsInversion(
        surface="auto",
        n_draws=300,
        n_tune=100,
        n_chains=4,
        n_evidence=64,
        n_trajectories=100,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = inv.fit(obs)
    _write_fit(
        res,
        obs,
        out,
        title="",
        report=report,
        section="Reaction kinetics: dissolution–precipitation (synthetic, only B observed)",
    )
    report.sections[-1].text(
        "Truth: sphere law, k_dissolution = 0.05, k_precipitation = 0.2, 3 % noise on B. "
        "Command: petroinfer kinetics fit observations.csv --observed B --surface auto --out DIR"
    )
    s = _fit_summary(res)
    return {
        "surface_law": s["surface_law"],
        "k": {r: round(v["mean"], 4) for r, v in s["rate_constants"].items()},
    }


# --- reaction–transport commands (issue 15), implemented in cli/transport.py --------------------
from petroinfer.cli import transport as _transport  # noqa: E402

app.command("transport-simulate")(guard(_transport.transport_simulate))
app.command("transport-fit")(guard(_transport.transport_fit))
app.command("identify")(guard(_transport.identify))
