"""Benchmark: vectorised thermobarometry, MRF (GMRF) P–T path inversion cost, Laplace vs REMC.

Run: ``python benchmarks/bench_thermobar.py`` (≈ 2–4 min on 2 cores), or
``python benchmarks/bench_thermobar.py --only thermobarometry`` (≈ 1 min; the other sections' results
already in the JSON are kept). Writes ``benchmarks/results/thermobar.json`` and prints markdown tables.

Peers, in the same run:

* thermobarometry at map scale — the baseline is what a user would write: a plain vectorised Newton solve
  of the same published equations (HS82 + KN88 with HS82 γ_grs and NH81 a_an, written out below) on numpy
  arrays, without input validation, warnings or uncertainties. petroinfer's ``thermobarometry`` is timed
  on the same 10⁵ analyses (a DataFrame in, a DataFrame out), without and with linearised uncertainties,
  interleaved with the baseline; each timing is the best of several repeats, as wall-clock and as process
  CPU time (the CPU time is insensitive to other jobs on a shared machine; the ratios use it). The older
  peer, one ``scipy.optimize.fsolve`` per analysis, is timed on a subset;
* MRF hyperparameters — ``NonlinearGMRF``'s built-in evidence optimiser vs the 2-D evidence search of
  ``InclusionPTPath`` (both give the Laplace evidence optimum);
* posterior — Laplace (GMRF) vs replica-exchange MC (``inference.remc``) at the same hyperparameters.
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.optimize import fsolve

from petroinfer.errors import DataQualityWarning
from petroinfer.thermo import thermobarometry

warnings.simplefilter("ignore", DataQualityWarning)
R = 8.314462618
OUT = Path(__file__).parent / "results" / "thermobar.json"
COLS = ("Grt_XAlm", "Grt_XPrp", "Grt_XGrs", "Grt_XSps", "Bt_XMg", "Pl_XAn")


def _analyses(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    g = rng.dirichlet([30, 5, 3, 2], size=n)
    return pd.DataFrame({"Grt_XAlm": g[:, 0], "Grt_XPrp": g[:, 1], "Grt_XGrs": g[:, 2], "Grt_XSps": g[:, 3],
                         "Bt_XMg": rng.uniform(0.3, 0.6, n), "Pl_XAn": rng.uniform(0.2, 0.45, n)})  # fmt: skip


def plain_hs82_kn88(df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """What a user would write: HS82 + KN88 (HS82 garnet, NH81 plagioclase) by vectorised Newton.

    Hodges & Spear (1982): 4.184 (12454 + 0.057 P − 4.662 T + 5.961 T ln K_D) + 3 W X_grs = 0 with
    W = (3300 − 1.5 T) 4.184 J; Koziol & Newton (1988): −48357 + 150.66 T − 6.608 (P − 1) + R T ln K = 0,
    ln K = 3 ln X_grs + 3 W X_prp (1 − X_grs)/RT − 3 ln a_an, a_an of Newton & Haselton (1981).
    Returns T (°C) and P (kbar).
    """
    alm, prp, grs, sps, xmg, xan = (df[c].to_numpy(dtype=float) for c in COLS)
    tot = alm + prp + grs + sps
    alm, prp, grs = alm / tot, prp / tot, grs / tot
    lnkd = np.log((prp / alm) / (xmg / (1 - xmg)))
    lnk_id = 3 * np.log(grs) - 3 * np.log(xan * (1 + xan) ** 2 / 4)
    g_an = 3 * (1 - xan) ** 2 * (2050 + 9392 * xan) * 4.184  # 3 RT ln γ_an (J)
    T = np.full(len(alm), 850.0)
    P = np.full(len(alm), 6000.0)
    for _ in range(50):
        W = (3300 - 1.5 * T) * 4.184
        r1 = 4.184 * (12454 + 0.057 * P - 4.662 * T + 5.961 * T * lnkd) + 3 * W * grs
        r2 = -48357 + 150.66 * T - 6.608 * (P - 1) + R * T * lnk_id + 3 * W * prp * (1 - grs) - g_an
        a = 4.184 * (-4.662 + 5.961 * lnkd) - 3 * 1.5 * 4.184 * grs  # ∂r1/∂T
        b = 4.184 * 0.057  # ∂r1/∂P
        c = 150.66 + R * lnk_id - 3 * 1.5 * 4.184 * prp * (1 - grs)  # ∂r2/∂T
        d = -6.608  # ∂r2/∂P
        det = a * d - b * c
        dT, dP = (d * r1 - b * r2) / det, (a * r2 - c * r1) / det
        T, P = T - dT, P - dP
        if np.max(np.abs(dT)) < 1e-9 and np.max(np.abs(dP)) < 1e-7:
            break
    return T - 273.15, P / 1e3


def _scalar_hs82_kn88(row) -> tuple[float, float]:
    """Hand-coded HS82 + KN88 (HS82 garnet, NH81 plagioclase) for one analysis, solved with fsolve."""
    alm, prp, grs, sps, xmg, xan = row
    tot = alm + prp + grs + sps
    alm, prp, grs = alm / tot, prp / tot, grs / tot
    lnkd = np.log((prp / alm) / (xmg / (1 - xmg)))

    def f(v):
        T, P = v[0] * 1000, v[1] * 1e4
        W = (3300 - 1.5 * T) * 4.184
        r1 = 4.184 * (12454 + 0.057 * P - 4.662 * T + 5.961 * T * lnkd) + 3 * W * grs
        ln_grs = 3 * (np.log(grs) + W * prp * (1 - grs) / (R * T))
        ln_an = np.log(xan * (1 + xan) ** 2 / 4) + (1 - xan) ** 2 * (2050 + 9392 * xan) * 4.184 / (
            R * T
        )
        r2 = -48357 + 150.66 * T - 6.608 * (P - 1) + R * T * (ln_grs - 3 * ln_an)
        return [r1 / 1e4, r2 / 1e4]

    T, P = fsolve(f, [0.85, 0.6], xtol=1e-12)
    return T * 1000, P * 1e4


def _best_times(fns: dict, repeats: int) -> dict:
    """Best wall-clock and CPU seconds of each callable, the callables interleaved repeat by repeat."""
    best = {k: [np.inf, np.inf] for k in fns}
    for _ in range(repeats):
        for k, f in fns.items():
            w0, c0 = time.perf_counter(), time.process_time()
            f()
            w, c = time.perf_counter() - w0, time.process_time() - c0
            best[k] = [min(best[k][0], w), min(best[k][1], c)]
    return best


def bench_thermobarometry(n: int = 100_000, repeats: int = 25) -> list[dict]:
    big = _analyses(n)
    ref_T, ref_P = plain_hs82_kn88(big)
    ours = thermobarometry(big, "HS82", "KN88", uncertainty="none")
    ok = np.isfinite(ours["T_C"].to_numpy())
    agree_T = float(np.max(np.abs(ours["T_C"].to_numpy()[ok] - ref_T[ok])))
    agree_P = float(np.max(np.abs(ours["P_kbar"].to_numpy()[ok] - ref_P[ok]) * 1e3))
    fns = {
        "baseline": lambda: plain_hs82_kn88(big),
        "none": lambda: thermobarometry(big, "HS82", "KN88", uncertainty="none"),
        "linear": lambda: thermobarometry(big, "HS82", "KN88", uncertainty="linear"),
    }
    best = _best_times(fns, repeats)
    base_cpu, base_wall = best["baseline"][1], best["baseline"][0]
    labels = {
        "baseline": "baseline: plain vectorised Newton, HS82+KN88 written out (numpy arrays)",
        "none": "petroinfer thermobarometry HS82+KN88 (uncertainty=none)",
        "linear": "petroinfer thermobarometry HS82+KN88 (uncertainty=linear)",
    }
    rows = []
    for k, (wall, cpu) in best.items():
        row = {"method": labels[k], "n": n, "us_per_analysis_cpu": 1e6 * cpu / n,
               "us_per_analysis_wall": 1e6 * wall / n, "ratio_to_baseline_cpu": cpu / base_cpu,
               "ratio_to_baseline_wall": wall / base_wall}  # fmt: skip
        if k == "none":
            row.update({"failed": int((~ok).sum()), "max_abs_dT_vs_baseline_C": agree_T,
                        "max_abs_dP_vs_baseline_bar": agree_P})  # fmt: skip
        rows.append(row)
    for th, ba, unc in (("ds62", "ds62", "none"), ("ds62", "ds62", "linear")):
        t0, c0 = time.perf_counter(), time.process_time()
        out = thermobarometry(big, th, ba, uncertainty=unc)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        rows.append({"method": f"petroinfer thermobarometry {th}+{ba} (uncertainty={unc})", "n": n,
                     "us_per_analysis_cpu": 1e6 * cpu / n, "us_per_analysis_wall": 1e6 * wall / n,
                     "ratio_to_baseline_cpu": cpu / base_cpu, "ratio_to_baseline_wall": wall / base_wall,
                     "failed": int(out["T_C"].isna().sum())})  # fmt: skip
    small = _analyses(2000, seed=1)
    t0, c0 = time.perf_counter(), time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # fsolve progress warnings on hopeless rows
        res = [_scalar_hs82_kn88(r) for r in small.to_numpy()]
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    ref = thermobarometry(small, "HS82", "KN88", uncertainty="none")
    diff = np.nanmax(np.abs(np.array(res)[:, 0] - 273.15 - ref["T_C"].to_numpy()))
    rows.append({"method": "scipy fsolve loop, HS82+KN88 hand-coded (older peer)", "n": len(small),
                 "us_per_analysis_cpu": 1e6 * cpu / len(small), "us_per_analysis_wall": 1e6 * wall / len(small),
                 "ratio_to_baseline_cpu": cpu / len(small) / (base_cpu / n),
                 "ratio_to_baseline_wall": wall / len(small) / (base_wall / n),
                 "max_abs_dT_vs_petroinfer_C": float(diff)})  # fmt: skip
    return rows


def bench_mrf_scaling() -> list[dict]:
    from petroinfer.ptpath import InclusionPTPath, synthetic_inclusions

    rows = []
    for n in (10, 20, 40, 80):
        data, truth = synthetic_inclusions(n, random_state=0)
        model = InclusionPTPath(nodes=truth["radius"].to_numpy(), n_samples=0)
        t0 = time.perf_counter()
        res = model.fit(data)
        dt = time.perf_counter() - t0
        rows.append({"nodes": n, "inclusions": len(data), "seconds": dt,
                     "evidence_evaluations": int(res.criterion.sizes["evaluation"]),
                     "T_rmse_C": float(np.sqrt(np.mean((res.estimate["T_C"].values - truth["T_C"].to_numpy()) ** 2)))})  # fmt: skip
    # inclusions at fixed nodes: 20 nodes, 1–4 inclusion pairs per node
    for per in (2, 4):
        parts = [synthetic_inclusions(20, random_state=k)[0] for k in range(per)]
        data = pd.concat(parts).sort_values("radius", kind="stable").reset_index(drop=True)
        nodes = synthetic_inclusions(20, random_state=0)[1]["radius"].to_numpy()
        t0 = time.perf_counter()
        InclusionPTPath(nodes=nodes, n_samples=0).fit(data)
        rows.append({"nodes": 20, "inclusions": len(data), "seconds": time.perf_counter() - t0})
    return rows


def bench_builtin_optimiser() -> dict:
    from petroinfer.inference.gmrf import ChainPrior, NonlinearGMRF
    from petroinfer.ptpath import InclusionPTPath, synthetic_inclusions

    data, truth = synthetic_inclusions(16, random_state=0)
    model = InclusionPTPath(nodes=truth["radius"].to_numpy(), n_samples=0)
    t0 = time.perf_counter()
    ours = model.fit(data)
    t_ours = time.perf_counter() - t0
    pb = model._problem(data)
    x0 = pb.start()
    prior = ChainPrior(pb.s, order=1, channels=("T", "P"))
    t0 = time.perf_counter()
    builtin = NonlinearGMRF(prior, pb.forward, pb.jacobian, noise_precision=1.0, noise_scale=pb.sigma_k(x0),
                            x0=x0, n_samples=0).fit(np.zeros(pb.m))  # fmt: skip
    t_builtin = time.perf_counter() - t0
    return {"nodes": 16, "InclusionPTPath_2D_search_s": t_ours, "NonlinearGMRF_builtin_s": t_builtin,
            "log_evidence_ours": float(ours.log_evidence), "log_evidence_builtin": float(builtin.log_evidence),
            "evaluations_ours": int(ours.criterion.sizes["evaluation"]),
            "evaluations_builtin": int(builtin.diagnostics["n_evaluations"])}  # fmt: skip


def bench_laplace_vs_remc() -> list[dict]:
    from petroinfer.ptpath import InclusionPTPath, synthetic_inclusions

    rows = []
    for n in (5, 8):
        data, truth = synthetic_inclusions(n, random_state=3)
        model = InclusionPTPath(nodes=truth["radius"].to_numpy(), random_state=0, n_samples=1000)
        t0 = time.perf_counter()
        res = model.fit(data)
        t_lap = time.perf_counter() - t0
        t0 = time.perf_counter()
        remc = model.sample_remc(data, res, n_steps=12000, n_temps=6, random_state=2)
        t_remc = time.perf_counter() - t0
        th = remc.posterior["theta"].values.reshape(-1, 2 * n)
        e = res.estimate
        d = np.r_[(th[:, :n].mean(0) - 273.15 - e["T_C"].values) / e["T_C_sd"].values,
                  (th[:, n:].mean(0) - e["P_kbar"].values) / e["P_kbar_sd"].values]  # fmt: skip
        ess = min(remc.diagnostics["ess_bulk"].values())
        rows.append({"nodes": n, "laplace_s": t_lap, "remc_s": t_remc, "max_abs_mean_diff_in_sd": float(np.abs(d).max()),
                     "remc_min_ess_bulk": float(ess), "remc_log_evidence": float(remc.log_evidence)})  # fmt: skip
    return rows


def _md(rows: list[dict]) -> str:
    df = pd.DataFrame(rows)
    return (
        df.to_markdown(index=False, floatfmt=".4g")
        if hasattr(df, "to_markdown")
        else df.to_string()
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=SECTIONS, nargs="+", help="run only these sections")
    args = parser.parse_args()
    results = json.loads(OUT.read_text()) if OUT.exists() else {}
    for key in args.only or SECTIONS:
        results[key] = SECTIONS[key]()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(results, indent=2))
    for key, val in results.items():
        print(f"\n### {key}\n")
        try:
            print(_md(val if isinstance(val, list) else [val]))
        except ImportError:
            print(pd.DataFrame(val if isinstance(val, list) else [val]).to_string())


SECTIONS = {
    "thermobarometry": bench_thermobarometry,
    "mrf_scaling": lambda: bench_mrf_scaling(),
    "hyperparameter_search": lambda: bench_builtin_optimiser(),
    "laplace_vs_remc": lambda: bench_laplace_vs_remc(),
}


if __name__ == "__main__":
    main()
