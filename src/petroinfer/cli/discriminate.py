"""``petroinfer discriminate evaluate | train | predict``: tectonic-setting discrimination of basalts.

No science lives here: everything is :mod:`petroinfer.geochem.discrimination`.
"""

from __future__ import annotations

import contextlib
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from petroinfer.cli._common import (
    JsonOpt,
    OutOpt,
    SchedulerOpt,
    SeedOpt,
    emit,
    guard,
    read_input,
    scheduler_context,
    write_csv,
)
from petroinfer.errors import InputError, ModelError

if TYPE_CHECKING:
    import pandas as pd

    from petroinfer.report import Report

__all__ = ["app", "demo_section", "evaluate", "predict", "train"]

app = typer.Typer(
    help="Tectonic-setting discrimination of basalts (SVM, random forest, sparse multinomial "
    "regression, gradient boosting).",
    no_args_is_help=True,
)

DatasetOpt = Annotated[
    str | None,
    typer.Option("--dataset", help="Built-in dataset: 'ueki2018' (2074 basalts, 8 settings)."),
]
DataOpt = Annotated[
    Path | None, typer.Option("--data", help="Own training table (CSV/XLSX) instead of --dataset.")
]
LabelOpt = Annotated[str, typer.Option("--label-column", help="Label column of --data.")]
ModelOpt = Annotated[str, typer.Option("--model", help="svm | rf | smr | hgb (evaluate: or all).")]
_MODEL_NAMES = ("svm", "rf", "smr", "hgb")


def _load(dataset: str | None, data: Path | None, label_column: str) -> tuple[pd.DataFrame, Any]:
    """Feature table and labels from the built-in dataset or a user file."""
    if (dataset is None) == (data is None):
        raise InputError("give exactly one of --dataset ueki2018 or --data FILE")
    if dataset is not None:
        if dataset.lower() not in ("ueki2018", "ueki2018_basalts"):
            raise InputError("unknown dataset (available: ueki2018)", value=dataset)
        from petroinfer.io.datasets import load_ueki2018_basalts

        df = load_ueki2018_basalts()
        label_column = "Class"
    else:
        df = _read(data)
    if label_column not in df.columns:
        raise InputError("label column not found", column=label_column)
    return df.drop(columns=[label_column]), df[label_column]


def _read(path: Path) -> pd.DataFrame:
    return read_input(path, normalise=False)


def _refuse_misspelled(columns: Any, features: list[str]) -> None:
    """An unknown column whose nearest known name is an absent model feature is a typo (``Mg0``)."""
    from petroinfer.composition import closest_names

    absent = {f for f in features if f not in columns}
    for col in columns:
        if col in features:
            continue
        near = closest_names(str(col))
        if near and near[0] in absent:
            raise InputError(
                f"column {str(col)!r} is not a feature of the model; did you mean {near[0]!r}?",
                column=str(col),
            )


def _models(model: str) -> list[str]:
    names = list(_MODEL_NAMES) if model == "all" else [m.strip() for m in model.split(",")]
    bad = [m for m in names if m not in _MODEL_NAMES]
    if bad:
        raise ModelError(f"--model must be svm, rf, smr, hgb or all, got {bad[0]!r}")
    return names


def _evaluate_one(name, X, y, folds, repeats, missing, seed, n_jobs, out, report, extras=True):
    import matplotlib.pyplot as plt
    import pandas as pd

    from petroinfer.geochem import discrimination as d

    est = d.TectonicDiscriminator(name, random_state=seed)
    t0 = time.perf_counter()
    ev = d.evaluate_discrimination(
        est,
        X,
        y,
        n_splits=folds,
        n_repeats=repeats,
        missing_fraction=missing,
        random_state=seed,
        n_jobs=n_jobs,
    )
    summary = ev.summary()
    summary["wall_seconds"] = round(time.perf_counter() - t0, 1)
    summary.pop("features", None)
    sec = report.section(f"Model {name}")
    sec.text(
        f"{folds}-fold stratified CV x {repeats} repeat(s), seed {seed}, hyperparameters tuned by "
        f"inner {est.inner_cv}-fold CV inside each training fold. Accuracy {summary['accuracy']:.3f}, "
        f"balanced accuracy {summary['balanced_accuracy']:.3f}, log-loss {summary['log_loss']:.3f}."
    )
    per_class = ev.per_class()
    sec.table(per_class, caption="Per-class recall and precision (out-of-fold)")
    write_csv(per_class, out / f"{name}_per_class.csv")
    write_csv(ev.confusion(), out / f"{name}_confusion.csv")
    write_csv(ev.fold_scores, out / f"{name}_folds.csv", index=False)
    write_csv(ev.reliability(), out / f"{name}_reliability.csv", index=False)
    oof = pd.DataFrame(
        ev.proba.mean(axis=0), index=X.index, columns=[f"P({c})" for c in ev.classes]
    )
    oof.insert(0, "true", ev.y)
    write_csv(oof, out / f"{name}_oof_probabilities.csv")
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.4))
    ev.plot_confusion(axes[0])
    ev.plot_reliability(axes[1])
    fig.tight_layout()
    fig.savefig(out / f"{name}_confusion_reliability.png", dpi=110)
    sec.figure(fig, caption="Confusion matrix (row-normalised) and reliability diagram")
    if extras and name == "smr":
        full = d.TectonicDiscriminator("smr", random_state=seed).fit(X, y)
        firstk = d.first_k_features(full, k=5)
        write_csv(firstk, out / "smr_first_features.csv")
        smr = full.pipeline_.named_steps["clf"]
        summary["smr_features_per_class_full_fit"] = {
            str(k): v for k, v in smr.n_selected().items()
        }
        summary["smr_terms_per_class_full_fit"] = {str(k): v for k, v in smr.n_terms().items()}
        sec.table(firstk, caption="First 5 features entering the SMR path per class")
        fig = d.plot_smr_paths(full)
        fig.savefig(out / "smr_paths.png", dpi=110)
        sec.figure(fig, caption="SMR coefficient paths (dashed: alpha chosen by the 1-SE rule)")
    if extras and name in ("rf", "hgb"):
        Xtr, Xte, ytr, yte = d.holdout_split(X, y, random_state=seed)
        fitted = d.TectonicDiscriminator(name, random_state=seed).fit(Xtr, ytr)
        imp = d.permutation_importance_table(fitted, Xte, yte, n_repeats=3, random_state=seed)
        write_csv(imp, out / f"{name}_permutation_importance.csv")
        sec.table(imp.head(15), caption="Permutation importance on a 25 % hold-out (accuracy drop)")
        summary["top_features"] = list(imp.index[:5])
    return ev, summary


@app.command()
@guard
def evaluate(
    dataset: DatasetOpt = None,
    data: DataOpt = None,
    label_column: LabelOpt = "Class",
    model: ModelOpt = "all",
    folds: int = typer.Option(10, "--folds", help="Outer stratified folds."),
    repeats: int = typer.Option(1, "--repeats", help="Repeats of the outer CV (seeds seed+r)."),
    missing_fraction: float = typer.Option(
        0.3, "--missing-fraction", help="Fraction of features removed per test sample (robustness)."
    ),
    n_jobs: int = typer.Option(2, "--n-jobs", help="Parallel outer folds."),
    scheduler: SchedulerOpt = None,
    seed: SeedOpt = 0,
    out: OutOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Nested, repeated stratified k-fold CV: accuracy, balanced accuracy, recall, confusion.

    Without ``--out`` nothing is written (the summary is printed only).
    """

    X, y = _load(dataset, data, label_column)
    names = _models(model)
    with contextlib.ExitStack() as stack:
        if out is None:  # the per-model files need a folder: a temporary one, discarded
            out = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="petroinfer-")))
            keep = False
        else:
            keep = True
        summary = _evaluate_all(
            X, y, names, folds, repeats, missing_fraction, seed, n_jobs, scheduler, out,
            inputs=[str(data or dataset)],
        )  # fmt: skip
        emit(
            {**summary, **({"out": str(out)} if keep else {})},
            json_out=json_out,
            out=out if keep else None,
            title="petroinfer geochem discriminate evaluate",
        )


def _evaluate_all(X, y, names, folds, repeats, missing_fraction, seed, n_jobs, scheduler, out,
                  inputs=()):  # fmt: skip
    import pandas as pd
    from rich.console import Console
    from rich.progress import Progress

    from petroinfer.geochem import discrimination as d
    from petroinfer.report import Report

    report = Report("Tectonic-setting discrimination: evaluation", seed=seed, inputs=list(inputs))
    results, evals = {}, {}
    with (
        scheduler_context(scheduler),
        Progress(console=Console(stderr=True), transient=True, disable=len(names) < 2) as progress,
    ):
        task = progress.add_task("nested CV", total=len(names))
        for name in names:
            progress.update(task, description=f"nested CV: {name}")
            ev, summ = _evaluate_one(
                name, X, y, folds, repeats, missing_fraction, seed, n_jobs, out, report
            )
            results[name], evals[name] = summ, ev
            progress.advance(task)
    best = max(results, key=lambda m: results[m]["accuracy"])
    reps = d.representative_compositions(X, y, evals[best].proba, classes=evals[best].classes)
    write_csv(reps, out / "representative_compositions.csv")
    try:
        fig = d.plot_spider(
            reps,
            kind="confident" if "confident" in reps.index.get_level_values("kind") else "centre",
        )
        fig.savefig(out / "spider_representative.png", dpi=110)
        report.section("Representative compositions").figure(
            fig,
            caption=f"Primitive-mantle-normalised (Sun & McDonough 1989) geometric mean of the "
            f"10 most confidently classified samples per setting ({best} out-of-fold)",
        )
    except (KeyError, ValueError):  # no trace elements in a user table
        pass
    table = pd.DataFrame(
        {
            m: {
                "accuracy": s["accuracy"],
                "balanced_accuracy": s["balanced_accuracy"],
                "log_loss": s["log_loss"],
                "accuracy_features_removed": s.get("accuracy_features_removed"),
            }
            for m, s in results.items()
        }
    ).T
    report.section("Overview").text(f"Best model by accuracy: {best}.").table(
        table, caption="Nested CV summary per model"
    )
    report.sections.insert(0, report.sections.pop())  # overview first
    report.save(out / "report.html")
    return {"best_model": best, "models": results}


@app.command()
@guard
def train(
    dataset: DatasetOpt = None,
    data: DataOpt = None,
    label_column: LabelOpt = "Class",
    model: ModelOpt = "svm",
    save: Path = typer.Option(..., "--save", help="Where to write the fitted model (joblib)."),
    seed: SeedOpt = 0,
    out: OutOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Tune (inner CV) and fit one model on all rows; save it with joblib."""
    import joblib

    from petroinfer.geochem.discrimination import TectonicDiscriminator, first_k_features
    from petroinfer.io import atomic_path
    from petroinfer.report import Report

    X, y = _load(dataset, data, label_column)
    if model not in _MODEL_NAMES:
        raise ModelError(f"--model must be svm, rf, smr or hgb, got {model!r}")
    if save.is_dir():
        raise InputError(f"--save {str(save)!r} is a folder; give a file name (model.joblib)")
    est = TectonicDiscriminator(model, random_state=seed).fit(X, y)
    save.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(save) as tmp:
        joblib.dump(est, tmp)
    summary: dict[str, Any] = {
        "model": model,
        "saved": str(save),
        "n_samples": len(X),
        "features": est.features_,
        "classes": [str(c) for c in est.classes_],
        "best_params": est.best_params_,
        "ignored_columns": est.ignored_columns_,
        "fit_seconds": round(est.fit_time_, 1),
    }
    if model == "smr":
        smr = est.pipeline_.named_steps["clf"]
        summary["features_per_class"] = {str(k): v for k, v in smr.n_selected().items()}
        summary["terms_per_class"] = {str(k): v for k, v in smr.n_terms().items()}
        summary["first_features"] = first_k_features(est, 5).apply(list, axis=1).to_dict()
    if out is not None:
        rep = Report(
            "Tectonic-setting discrimination: training", seed=seed, inputs=[str(data or dataset)]
        )
        rep.section("Fitted model").mapping(
            {k: v for k, v in summary.items() if k != "first_features"}
        )
        if not est.cv_results_.empty:
            write_csv(est.cv_results_, out / "tuning.csv", index=False)
            rep.section("Inner CV").table(est.cv_results_)
        rep.save(out / "report.html")
    emit(summary, json_out=json_out, out=out, title="petroinfer geochem discriminate train")


@app.command()
@guard
def predict(
    model_path: Path = typer.Argument(..., help="Model written by `discriminate train --save`."),
    table: Path = typer.Argument(
        ..., help="Samples to classify (CSV/XLSX, any subset of features)."
    ),
    out: OutOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Probabilities per setting, top class, out-of-domain flag and missing features per sample.

    Without ``--out`` the predictions are summarised only (nothing is written).
    """
    import joblib

    from petroinfer.geochem.discrimination import TectonicDiscriminator
    from petroinfer.report import Report

    if not model_path.exists():
        raise InputError(f"model file not found: {model_path}")
    try:
        est = joblib.load(model_path)
    except Exception as exc:  # unreadable pickle: bad input, not a crash
        raise InputError(f"cannot load model file {model_path}: {exc}") from exc
    if not isinstance(est, TectonicDiscriminator):
        raise InputError("model file does not hold a TectonicDiscriminator", value=str(model_path))
    X = _read(table)
    _refuse_misspelled(X.columns, est.features_)
    present = [f for f in est.features_ if f in X.columns]
    if not present:
        raise InputError("the table has none of the model's features", value=est.features_[:6])
    res = est.predict_table(X)
    summary: dict[str, Any] = {
        "n_samples": len(res),
        "predicted_counts": res["predicted"].value_counts().to_dict(),
        "n_out_of_domain": int(res["out_of_domain"].sum()),
        "absent_features": [f for f in est.features_ if f not in X.columns],
        "mean_missing_features": round(float(res["n_missing"].mean()), 2),
    }
    if out is not None:
        write_csv(res, out / "predictions.csv")
        rep = Report(
            "Tectonic-setting discrimination: prediction", inputs=[str(model_path), str(table)]
        )
        sec = rep.section("Predictions")
        sec.text(
            f"Model {est.model}; {len(res)} samples; features absent from the table: "
            f"{[f for f in est.features_ if f not in X.columns] or 'none'}."
        )
        sec.table(res)
        rep.save(out / "report.html")
        summary["predictions"] = str(out / "predictions.csv")
    emit(summary, json_out=json_out, out=out, title="petroinfer geochem discriminate predict")


def demo_section(report: Report, out: Path) -> dict:
    """Demo: 3-fold nested CV of the SVM on a stratified 40 % subsample of the Ueki (2018) basalts,
    plus a prediction with a third of the features removed (runs in well under a minute)."""
    import matplotlib.pyplot as plt

    from petroinfer.geochem import discrimination as d
    from petroinfer.io.datasets import dataset_path, load_ueki2018_basalts

    sec = report.section("Tectonic-setting discrimination of basalts")
    if dataset_path("ueki2018_basalts") is None:
        sec.text(
            "The Ueki (2018) basalt file is not available locally; run "
            "`petroinfer datasets fetch ueki2018_basalts`."
        )
        return {"skipped": "ueki2018_basalts not available"}
    out.mkdir(parents=True, exist_ok=True)
    df = load_ueki2018_basalts()
    sub, _, y, _ = d.holdout_split(
        df.drop(columns="Class"), df["Class"], test_size=0.6, random_state=0
    )
    est = d.TectonicDiscriminator("svm", param_grid={"C": [30.0], "gamma": [1.0]})
    ev = d.evaluate_discrimination(
        est, sub, y, n_splits=3, missing_fraction=0.3, random_state=0, n_jobs=2
    )
    s = ev.summary()
    sec.text(
        f"RBF SVM on log-transformed, z-scored features (fitted inside each fold), 3-fold "
        f"stratified CV on {len(sub)} of 2074 samples: accuracy {s['accuracy']:.3f}, balanced "
        f"accuracy {s['balanced_accuracy']:.3f}; with 30 % of the features removed from every test "
        f"sample: {s['accuracy_features_removed']:.3f}. Full protocol: `petroinfer geochem "
        "discriminate evaluate --dataset ueki2018 --model all`."
    )
    sec.table(ev.per_class(), caption="Per-class recall/precision (demo subsample)")
    write_csv(ev.per_class(), out / "per_class.csv")

    fig, axes = plt.subplots(1, 2, figsize=(10, 4.4))
    ev.plot_confusion(axes[0])
    ev.plot_reliability(axes[1])
    fig.tight_layout()
    fig.savefig(out / "confusion_reliability.png", dpi=100)
    sec.figure(fig, caption="Demo: confusion matrix and reliability diagram")
    return {
        "accuracy": s["accuracy"],
        "balanced_accuracy": s["balanced_accuracy"],
        "accuracy_features_removed": s["accuracy_features_removed"],
        "n_samples": len(sub),
    }
