"""Garnet multicomponent diffusion: an ensemble of histories in one petroinfer call versus a scipy
``solve_ivp`` method-of-lines solution of the same problem, one history at a time.

Problem (issue 14): a zoned spherical garnet (radius 1 mm, 200 cells, Mg/Fe/Mn/Ca with Ca dependent,
bell-shaped Mn, rimward Mg), closed rim, CG92 Lasaga matrix, 10 Myr piecewise-linear histories
(heating from 550 °C to a random peak in 620–700 °C at 2 Myr, cooling to 500 °C at 10 Myr; 6–9 kbar).

* petroinfer: ``simulate_garnet`` on B histories at once (finite volumes, Crank–Nicolson, one banded
  LAPACK solve per step for the whole batch), ``--steps`` equal steps (default 200, 0.05 Myr);
* scipy: the same semi-discrete finite-volume system written independently here (face
  compositions → Lasaga matrix → fluxes) integrated by ``solve_ivp(method="BDF", rtol=1e-6,
  atol=1e-9)`` with the Jacobian sparsity pattern, one history per call.

Reported: histories per minute for both, their ratio, and the max |ΔC| between the two final
profiles (the discretisation in time of petroinfer's CN run against the adaptive BDF reference).

Run:  python benchmarks/bench_diffusion.py [--batch 1000]  (writes benchmarks/results/diffusion.json)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
import warnings
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from scipy.integrate import solve_ivp

from petroinfer.diffusion import (
    SECONDS_PER_MYR,
    ThermalHistory,
    lasaga_matrix,
    simulate_garnet,
    tracer_diffusivities,
)
from petroinfer.errors import DataQualityWarning
from petroinfer.numerics import Grid1D

RADIUS, N = 1e-3, 200


def histories(B: int, seed: int = 0) -> ThermalHistory:
    rng = np.random.default_rng(seed)
    peak = rng.uniform(620.0, 700.0, B)
    T = np.stack([np.full(B, 550.0), peak, np.full(B, 500.0)], axis=1)
    P = np.stack([np.full(B, 6.0), rng.uniform(7.0, 9.0, B), np.full(B, 6.0)], axis=1)
    return ThermalHistory.from_myr([0.0, 2.0, 10.0], T, P)


def initial() -> np.ndarray:
    r = Grid1D.uniform(RADIUS, N, "spherical").centres / RADIUS
    mn = 0.02 + 0.16 * np.exp(-((r / 0.35) ** 2))
    mg = 0.05 + 0.09 * r
    ca = 0.12 - 0.05 * r
    return np.stack([mg, 1 - mn - mg - ca, mn, ca], axis=1)


def mol_rhs_factory(h: ThermalHistory, member: int):
    """Independent finite-volume method of lines for one history (state: Mg, Fe, Mn per cell)."""
    g = Grid1D.uniform(RADIUS, N, "spherical")
    e = g.edges
    vol = (e[1:] ** 3 - e[:-1] ** 3) / 3
    area = e[1:-1] ** 2
    dist = np.diff(g.centres)
    one = ThermalHistory(h.time[member], h.T[member], h.P[member])

    def rhs(t, y):
        c = y.reshape(N, 3)
        T, P = one.at(t)
        Ds = tracer_diffusivities(T, P, "CG92", warn=False)[0]
        cf = 0.5 * (c[1:] + c[:-1])
        D = lasaga_matrix(np.clip(cf, 1e-6, 1), Ds)  # (N-1, 3, 3)
        grad = (c[1:] - c[:-1]) / dist[:, None]
        J = -np.einsum("fij,fj->fi", D, grad) * area[:, None]  # outward flux × area
        dc = np.zeros_like(c)
        dc[:-1] -= J
        dc[1:] += J
        return (dc / vol[:, None]).ravel()

    block = sp.kron(sp.diags([1.0, 1.0, 1.0], [-1, 0, 1], shape=(N, N)), np.ones((3, 3)))
    return rhs, block.tocsr()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=1000)
    ap.add_argument("--peer", type=int, default=3, help="histories solved with solve_ivp")
    ap.add_argument("--steps", type=int, default=200, help="petroinfer CN steps over 10 Myr")
    args = ap.parse_args()
    warnings.simplefilter("ignore", DataQualityWarning)
    B = args.batch
    h = histories(B)
    c0 = initial()
    t0 = time.perf_counter()
    out = simulate_garnet(
        h,
        None,
        radius=RADIUS,
        n_cells=N,
        initial=c0,
        warn=False,
        max_step=10 * SECONDS_PER_MYR / args.steps,
    )
    t_pi = time.perf_counter() - t0
    errs, t_peer = [], 0.0
    for b in range(args.peer):
        rhs, sparsity = mol_rhs_factory(h, b)
        t1 = time.perf_counter()
        sol = solve_ivp(
            rhs,
            (0.0, 10 * SECONDS_PER_MYR),
            c0[:, :3].ravel(),
            method="BDF",
            rtol=1e-6,
            atol=1e-9,
            jac_sparsity=sparsity,
        )
        t_peer += time.perf_counter() - t1
        errs.append(float(np.max(np.abs(sol.y[:, -1].reshape(N, 3) - out.final[b, :, :3]))))
    per_min_pi = B / t_pi * 60
    per_min_peer = args.peer / t_peer * 60
    result = {
        "problem": f"sphere {RADIUS * 1e3:g} mm, {N} cells, 4 components (3 independent), 10 Myr, CG92",
        "petroinfer": {
            "histories": B,
            "seconds": t_pi,
            "histories_per_minute": per_min_pi,
            "time_steps": int(out.n_steps),
        },
        "scipy_solve_ivp_BDF": {
            "histories": args.peer,
            "seconds": t_peer,
            "histories_per_minute": per_min_peer,
        },
        "speed_ratio": per_min_pi / per_min_peer,
        "max_abs_difference": max(errs),
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "load_average": os.getloadavg(),
        },
    }
    path = Path(__file__).parent / "results" / "diffusion.json"
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(result, indent=2))
    print("| solver | histories | s | histories/min |\n|---|---|---|---|")
    print(f"| petroinfer (batched CN) | {B} | {t_pi:.1f} | {per_min_pi:.0f} |")
    print(f"| scipy solve_ivp BDF (MOL) | {args.peer} | {t_peer:.1f} | {per_min_peer:.1f} |")
    print(f"ratio {result['speed_ratio']:.0f}x, max |ΔC| {max(errs):.2e}")


if __name__ == "__main__":
    main()
