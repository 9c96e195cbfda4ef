"""LA-ICP-MS deconvolution: wall time on a large image, and resolution against Wiener/FFT division.

1. **Scale**: a 1000-line × 2000-sample × 4-isotope synthetic image (log-normal response of FWHM
   6 samples, random particles on a smooth background, Poisson counts): λ per isotope by GCV
   (12-point grid) on the first 20 lines, then the whole image deconvolved at that λ by
   ``LaserDeconvolution`` (Tikhonov-NNLS, FISTA with a diagonal row-sum metric and a Wiener warm
   start, vectorised over all 1000 lines; tolerance 1e-5, up to 3000 iterations); wall time and
   convergence.
2. **Resolution** on the calibrated synthetic test (imaging_texture.md §B test (c): two equal
   particles 0.6 FWHM apart, FWHM 11.65 samples, peak ≈ 1000 counts, baseline 2, Poisson; 20 seeds):
   petroinfer's Tikhonov-NNLS with the GCV λ (the default) versus plain FFT division (pewlib's approach,
   written fresh here: ``ifft(fft(s)/fft(h))``) and a Wiener filter with the oracle noise-to-signal
   constant chosen from a grid by the MSE against the truth (the best any Wiener constant can do).
   Reported: fraction of seeds resolved (valley/peak < 0.5), total-mass error, MSE.
3. **GCV degrees of freedom on long lines** (``--df``): the GCV fit (12-point λ grid) of a
   ``lines × 2000``-sample image of the scale set-up; at every λ of the path the active-set df is
   computed three ways — the round-2 estimator (dense trace, O(|A|³), on max(2, 16·(400/n)²) = 2
   lines), the current one (block-banded selected inversion on ``DF_LINES`` = 64 evenly spaced
   lines) and the all-line mean (block-banded, every line: the target) — with their wall times,
   errors against the target, the sampling SD of each estimator (per-line SD/√lines, finite-population
   corrected) and the λ each GCV curve picks.

Run:  python benchmarks/bench_laicpms.py [--quick] [--df [LINES]] [--skip-scale]
      (writes benchmarks/results/laicpms.json; ``--df LINES`` alone runs section 3 and merges it in
      as ``gcv_df_<LINES>``)
"""

from __future__ import annotations

import json
import platform
import sys
import time
import warnings
from pathlib import Path

import numpy as np

from petroinfer.imaging import (
    LaserDeconvolution,
    LogNormalResponse,
    simulate_line_scan,
    valley_to_peak,
)

RESP = LogNormalResponse(median=12.0, sigma=0.5)
N, I, J = 200, 90, 97


def _particles() -> np.ndarray:
    m = np.zeros(N)
    m[[I, J]] = 1.0
    return m * 1000.0 / simulate_line_scan(m, RESP, 1.0).max()


def fft_division(s: np.ndarray, h: np.ndarray, nsr: float = 0.0) -> np.ndarray:
    """Plain FFT division (nsr = 0) or a Wiener filter with constant noise-to-signal ratio."""
    n = s.size
    H = np.fft.rfft(h, 2 * n)
    S = np.fft.rfft(s, 2 * n)
    G = np.conj(H) / (np.abs(H) ** 2 + nsr) if nsr > 0 else 1.0 / H
    return np.fft.irfft(S * G, 2 * n)[:n]


def resolution(seeds: int) -> dict:
    m = _particles()
    h = RESP.kernel(1.0, N)
    truth = m * h.sum()
    out = {k: {"resolved": 0, "mass_err": [], "mse": []} for k in ("petroinfer", "fft", "wiener")}
    raw = []
    t_pi = 0.0
    for seed in range(seeds):
        s = simulate_line_scan(m, RESP, 1.0, baseline=2.0, random_state=seed)
        raw.append(valley_to_peak(s - 2.0, I, J))
        t0 = time.perf_counter()
        est = LaserDeconvolution(RESP).fit(s, dt=1.0).estimate.sharpened.values[0, 0]
        t_pi += time.perf_counter() - t0
        f = fft_division(s - 2.0, h) * h.sum()
        best = min(
            (np.mean((fft_division(s - 2.0, h, q) * h.sum() - truth) ** 2), q)
            for q in np.logspace(-6, 0, 25)
        )
        wn = fft_division(s - 2.0, h, best[1]) * h.sum()
        for k, e in (("petroinfer", est), ("fft", f), ("wiener", wn)):
            vp = valley_to_peak(np.maximum(e, 0), I, J)
            out[k]["resolved"] += int(vp < 0.5)
            out[k]["mass_err"].append(float(e.sum() / truth.sum() - 1))
            out[k]["mse"].append(float(np.mean((e - truth) ** 2)))
    summary = {
        k: {
            "fraction_resolved": v["resolved"] / seeds,
            "max_abs_mass_error": float(np.max(np.abs(v["mass_err"]))),
            "median_mse": float(np.median(v["mse"])),
        }
        for k, v in out.items()
    }
    summary["raw_valley_to_peak_min"] = float(min(raw))
    summary["petroinfer_seconds_per_line"] = t_pi / seeds
    return summary


def scale(lines: int, samples: int, isotopes: int, search_lines: int = 20) -> dict:
    rng = np.random.default_rng(0)
    resp = LogNormalResponse.from_fwhm(6.0, sigma=0.5)
    bg = 20 + 10 * np.sin(np.linspace(0, 6, samples))[None, None]
    m = rng.poisson(0.01, (isotopes, lines, samples)) * rng.uniform(
        100, 800, (isotopes, lines, samples)
    )
    m = m + bg * rng.uniform(0.5, 1.5, (isotopes, lines, 1))
    s = simulate_line_scan(m, resp, 1.0, baseline=2.0, random_state=1)
    res = {"shape": [isotopes, lines, samples], "tol": 1e-5}
    # 1. λ per isotope by GCV (12-point grid) on the first `search_lines` lines
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = LaserDeconvolution(resp, n_lambda=12, solver="iterative", tol=1e-5).fit(
            s[:, :search_lines], 1.0
        )
    res["gcv_search_s"] = time.perf_counter() - t0
    res["gcv_search_lines"] = search_lines
    res["lambda"] = r.hyperparameters["lam"]
    # 2. the whole image at the chosen λ (FISTA with the row-sum metric, all lines at once)
    t0 = time.perf_counter()
    conv, mass = [], []
    for i in range(isotopes):
        with warnings.catch_warnings(record=True):
            warnings.simplefilter("always")
            fit = LaserDeconvolution(resp, lam=r.hyperparameters["lam"][i], solver="iterative",
                                     tol=1e-5, max_iter=3000).fit(s[i], 1.0)  # fmt: skip
        conv.append(bool(fit.diagnostics["converged"]))
        mass.append(fit.diagnostics["mass_ratio"][0])
    res["full_image_s"] = time.perf_counter() - t0
    res["converged"] = conv
    res["mass_ratio"] = mass
    return res


def legacy_df(prob, x, w, lam, penalty, max_lines=16):
    """The round-2 df estimator, kept here for the before/after comparison: the dense trace
    ``tr(G⁻¹AᵀA)`` (O(|A|³)) on ``max(2, 16·(400/n)²)`` evenly spaced lines."""
    n = prob.n
    max_lines = max(2, min(max_lines, int(max_lines * (400 / n) ** 2)))
    flat_x = x.reshape(-1, n + 1)
    flat_w = np.broadcast_to(w, (*x.shape[:-1], n)).reshape(-1, n)
    flat_l = np.broadcast_to(np.asarray(lam, float), (*x.shape[:-1], 1)).reshape(-1)
    idx = np.unique(
        np.linspace(0, flat_x.shape[0] - 1, min(max_lines, flat_x.shape[0])).astype(int)
    )
    Hfull = prob.H(np.eye(n)).T
    eye = np.eye(n)
    L = {"l2": eye, "d1": np.diff(eye, axis=0), "d2": np.diff(eye, 2, axis=0)}.get(penalty)
    out = []
    for i in idx:
        act = flat_x[i, :n] > 0
        A = (
            np.column_stack([Hfull[:, act], np.full(n, prob.c)])
            if prob.fit_baseline
            else Hfull[:, act]
        )
        A = A * np.sqrt(flat_w[i])[:, None]
        G = A.T @ A
        if L is not None and penalty != "none":
            P = L[:, act].T @ L[:, act]
            G = G + flat_l[i] * (np.pad(P, ((0, 1), (0, 1))) if prob.fit_baseline else P)
        out.append(float(np.trace(np.linalg.solve(G, A.T @ A))))
    return float(np.mean(out))


def gcv_df(lines: int, samples: int = 2000, n_lambda: int = 12) -> dict:
    """Section 3: df estimators along a GCV path (see the module docstring)."""
    from threadpoolctl import threadpool_limits

    import petroinfer.imaging._deconv as dc
    from petroinfer.imaging._deconv_df import line_df

    rng = np.random.default_rng(0)
    resp = LogNormalResponse.from_fwhm(6.0, sigma=0.5)
    bg = 20 + 10 * np.sin(np.linspace(0, 6, samples))[None]
    m = rng.poisson(0.01, (lines, samples)) * rng.uniform(100, 800, (lines, samples))
    m = m + bg * rng.uniform(0.5, 1.5, (lines, 1))
    s = simulate_line_scan(m, resp, 1.0, baseline=2.0, random_state=1)
    rows, per_line = [], []
    current = dc._df_quadratic

    def recorder(prob, x, w, lam, penalty, max_lines=dc.DF_LINES):
        row = {"lam": float(np.asarray(lam).ravel()[0])}
        t0 = time.perf_counter()
        row["df_legacy"] = legacy_df(prob, x, w, lam, penalty)
        row["t_legacy_s"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        row["df_new"] = current(prob, x, w, lam, penalty)
        row["t_new_s"] = time.perf_counter() - t0
        n = prob.n
        flat_x, flat_w = x.reshape(-1, n + 1), np.broadcast_to(w, s.shape)
        t0 = time.perf_counter()
        with threadpool_limits(limits=1, user_api="blas"):
            per = np.array(
                [line_df(prob.h, flat_w[i], flat_x[i, :n] > 0, row["lam"], penalty,
                         baseline_c=prob.c) for i in range(flat_x.shape[0])]
            )  # fmt: skip
        row["t_all_s"] = time.perf_counter() - t0
        per_line.append(per)
        row["df_all"] = float(per.mean())
        row["df_line_sd"] = float(per.std(ddof=1))
        fpc = lambda k: np.sqrt(max(1 - k / per.size, 0.0) / k)  # noqa: E731
        row["sd_legacy"] = row["df_line_sd"] * fpc(2)
        row["sd_new"] = row["df_line_sd"] * fpc(min(dc.DF_LINES, per.size))
        row["active_mean"] = float(np.mean(np.sum(flat_x[:, :n] > 0, -1)))
        rows.append(row)
        return row["df_new"]

    dc._df_quadratic = recorder
    try:
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            r = LaserDeconvolution(resp, n_lambda=n_lambda, solver="iterative", tol=1e-5).fit(
                s, 1.0
            )
        wall = time.perf_counter() - t0
    finally:
        dc._df_quadratic = current
    chi2 = r.criterion.chi2.values[0]
    N = float(s.size)
    picks = {}
    for key in ("df_legacy", "df_new", "df_all"):
        df = np.array([row[key] for row in rows]) * lines
        picks[key] = float(
            r.criterion.lam_value.values[0][int(np.argmin(N * chi2 / (N - df) ** 2))]
        )
    t = {k: float(np.sum([row[k] for row in rows])) for k in ("t_legacy_s", "t_new_s", "t_all_s")}
    # spread of the GCV choice when df is the mean over k random lines (sampling noise of df)
    per_line = np.array(per_line)  # (lambda, line)
    grid = r.criterion.lam_value.values[0]
    best = int(np.argmin(N * chi2 / (N - per_line.mean(1) * lines) ** 2))
    sub = {}
    rs = np.random.default_rng(0)
    for k in sorted({2, 16, min(dc.DF_LINES, lines), min(256, lines)}):
        picks_k = []
        for _ in range(2000):
            df = per_line[:, rs.choice(lines, k, replace=False)].mean(1) * lines
            picks_k.append(int(np.argmin(N * chi2 / (N - df) ** 2)))
        d = np.abs(np.log10(grid[picks_k] / grid[best]))
        sub[str(k)] = {
            "fraction_same_lambda_as_all_lines": float(np.mean(np.array(picks_k) == best)),
            "max_decades_from_all_lines": float(d.max()),
            "mean_decades_from_all_lines": float(d.mean()),
        }
    return {
        "shape": [lines, samples],
        "kernel_samples": int(dc.Problem(s[:1], resp.kernel(1.0, samples)).h.size),
        "df_lines_new": min(dc.DF_LINES, lines),
        "fit_wall_s_with_all_estimators": wall,
        "df_time_per_path_s": t,
        "per_lambda": rows,
        "gcv_lambda": picks,
        "max_rel_err_legacy": float(max(abs(r_["df_legacy"] / r_["df_all"] - 1) for r_ in rows)),
        "max_rel_err_new": float(max(abs(r_["df_new"] / r_["df_all"] - 1) for r_ in rows)),
        "gcv_choice_with_k_random_lines": sub,
    }


def main() -> None:
    quick = "--quick" in sys.argv
    path = Path(__file__).parent / "results" / "laicpms.json"
    if "--df" in sys.argv:
        i = sys.argv.index("--df")
        lines = int(sys.argv[i + 1]) if len(sys.argv) > i + 1 and sys.argv[i + 1].isdigit() else 200
        out = json.loads(path.read_text()) if path.exists() else {}
        key = f"gcv_df_{lines}"
        out[key] = gcv_df(lines)
        out[key]["load_average"] = list(__import__("os").getloadavg())
        path.write_text(json.dumps(out, indent=2))
        print(json.dumps({k: v for k, v in out[key].items() if k != "per_lambda"}, indent=2))
        return
    shape = (100, 2000, 4) if quick else (1000, 2000, 4)
    out = {
        "machine": platform.platform(),
        "python": platform.python_version(),
        "resolution_20_seeds": resolution(20),
        "scale": scale(*shape),
    }
    path.write_text(json.dumps(out, indent=2))
    r = out["resolution_20_seeds"]
    print("| method | resolved (20 seeds) | max |mass error| | median MSE |")
    print("|---|---:|---:|---:|")
    for k in ("petroinfer", "wiener", "fft"):
        v = r[k]
        print(
            f"| {k} | {v['fraction_resolved']:.2f} | {v['max_abs_mass_error']:.3f} | "
            f"{v['median_mse']:.4g} |"
        )
    print(json.dumps(out["scale"], indent=2))


if __name__ == "__main__":
    main()
