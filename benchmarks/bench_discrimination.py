"""Benchmark: petroinfer tectonic discrimination vs pyrolite's ``SVC_pipeline`` on the same folds.

Data: Ueki et al. (2018) basalts (2074 samples, 29 features, 8 settings, IA/IOA labels fixed by the
loader). Protocol: the same stratified 10-fold outer split (seed 0) for both tools; each tool tunes its
SVM inside every training fold with its own grid:

* pyrolite (v0.3.x) ``pyrolite.util.skl.pipeline.SVC_pipeline`` configured as in Williams et al.
  (AEGC 2019, ``gs2020-diggingdeeper``): CLR on the abundances and log on the isotope ratios
  (``PdUnion`` of ``CompositionalSelector`` + ``CLRTransform`` / ``LogTransform``), ``StandardScaler``,
  balanced class weights, grid gamma = logspace(-2.3, -0.85, 5) x C = logspace(-0.5, 2, 5), 10-fold
  inner CV (its default);
* petroinfer ``TectonicDiscriminator("svm")`` with its defaults (log abundances in one unit, log
  isotopes, z-score, class-Gaussian imputation, grid C in {10, 30, 100} x gamma*p in {0.5, 1, 2},
  3-fold inner CV, temperature-scaled probabilities).

Run: ``python benchmarks/bench_discrimination.py`` (writes ``benchmarks/results/discrimination.json``).
"""

from __future__ import annotations

import json
import os
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.metrics import accuracy_score, balanced_accuracy_score
from sklearn.model_selection import StratifiedKFold

HERE = Path(__file__).resolve().parent


def _pyrolite_model():
    from pyrolite.util.skl.pipeline import PdUnion, SVC_pipeline
    from pyrolite.util.skl.select import CompositionalSelector
    from pyrolite.util.skl.transform import CLRTransform, LogTransform
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    transform = PdUnion(
        [
            make_pipeline(CompositionalSelector(), CLRTransform()),
            make_pipeline(CompositionalSelector(inverse=True), LogTransform()),
        ]
    )
    grid = {"svc__gamma": np.logspace(-2.3, -0.85, 5), "svc__C": np.logspace(-0.5, 2, 5)}
    return SVC_pipeline(
        transform=transform, scaler=StandardScaler(), param_grid=grid, n_jobs=2, verbose=0
    )


def main() -> dict:
    from petroinfer.geochem.discrimination import TectonicDiscriminator
    from petroinfer.io.datasets import load_ueki2018_basalts

    df = load_ueki2018_basalts()
    y = df.pop("Class").to_numpy()
    X = df
    folds = list(StratifiedKFold(10, shuffle=True, random_state=0).split(X, y))
    pred = {
        "pyrolite SVC_pipeline": np.empty(len(y), dtype=object),
        "petroinfer svm": np.empty(len(y), dtype=object),
    }
    wall = dict.fromkeys(pred, 0.0)
    for k, (tr, te) in enumerate(folds):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t0 = time.perf_counter()
            gs = _pyrolite_model().fit(X.iloc[tr], y[tr])
            pred["pyrolite SVC_pipeline"][te] = gs.predict(X.iloc[te])
            wall["pyrolite SVC_pipeline"] += time.perf_counter() - t0
            t0 = time.perf_counter()
            est = TectonicDiscriminator("svm", n_jobs=2, random_state=0).fit(X.iloc[tr], y[tr])
            pred["petroinfer svm"][te] = est.predict(X.iloc[te])
            wall["petroinfer svm"] += time.perf_counter() - t0
        print(f"fold {k + 1}/10 done", flush=True)
    rows = {}
    for name, p in pred.items():
        p = p.astype(str)
        rows[name] = {
            "accuracy": round(accuracy_score(y, p), 4),
            "balanced_accuracy": round(balanced_accuracy_score(y, p), 4),
            "wall_seconds": round(wall[name], 1),
        }
    result = {
        "dataset": "ueki2018_basalts (2074 x 29, IA/IOA fixed)",
        "protocol": "same stratified 10-fold outer split (seed 0); tuning inside each training fold",
        "cpu_count": os.cpu_count(),
        "results": rows,
    }
    out = HERE / "results" / "discrimination.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print("| tool | accuracy | balanced accuracy | wall time (s, 10 folds) |")
    print("|---|---|---|---|")
    for name, r in rows.items():
        print(
            f"| {name} | {r['accuracy']:.4f} | {r['balanced_accuracy']:.4f} | "
            f"{r['wall_seconds']:.1f} |"
        )
    return result


if __name__ == "__main__":
    main()
