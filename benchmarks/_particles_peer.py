"""Peer runner for the `particles` package (N. Chopin), executed in its own virtual environment.

`particles` 0.4 requires numpy < 2 while petroinfer requires numpy >= 2, so the benchmarks call this
script with the Python of a separate venv (see bench_smc.py). It reads the data from an .npz file
and prints one JSON line: per-replicate log-likelihood estimates and wall times.

Usage: python _particles_peer.py MODEL DATA.npz N REPS
MODEL is ``stochvol`` or ``kinetics`` (the dissolution–precipitation state-space model of
petroinfer.kinetics, re-implemented here with the same equations).
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np
import particles
from particles import state_space_models as ssm


class KineticsFK(particles.FeynmanKac):
    """Bootstrap Feynman–Kac model of A(s) -> B(aq) -> C(s), Heun step, multiplicative noise."""

    def __init__(self, d):
        self.dt = d["dt"]
        self.Y = d["Y"]
        self.x0 = d["x0"]
        self.k = d["k"]
        self.sig = float(d["sig"])
        self.q = float(d["q"])
        self.floor = float(d["floor"])
        self.p = float(d["p"])
        self.ceq = float(d["ceq"])
        self.N = np.array([[-1.0, 0.0], [1.0, -1.0], [0.0, 1.0]])
        super().__init__(T=len(self.Y))

    def _phi(self, x):
        s_a = np.where(x[:, 0] > 0, np.maximum(x[:, 0], 0) ** self.p, 0.0)
        s_c = np.where(x[:, 2] > 0, np.maximum(x[:, 2], 0) ** self.p, 0.0)
        return np.stack([s_a, s_c * (x[:, 1] - self.ceq)], axis=1)

    def _apply(self, x, xi):
        xn = x + xi @ self.N.T
        if xn.min() < 0:
            need = xi[:, None, :] * -self.N
            ratio = np.where(need > 0, x[:, :, None] / np.where(need > 0, need, 1.0), np.inf)
            xn = x + (xi * np.minimum(1.0, ratio.min(axis=1))) @ self.N.T
        return np.maximum(xn, 0.0)

    def _heun(self, x, dt):
        xi1 = dt * self._phi(x) * self.k
        xi = 0.5 * (xi1 + dt * self._phi(self._apply(x, xi1)) * self.k)
        return self._apply(x, xi)

    def M0(self, N):
        return np.tile(self.x0, (N, 1))

    def M(self, t, xp):
        dt = self.dt[t - 1]
        m = self._heun(xp, dt)
        sd = np.sqrt(dt) * self.q * (m + self.floor)
        eps = np.random.standard_normal(m.shape)  # noqa: NPY002 (particles uses the global RNG)
        return np.maximum(m + sd * eps, 0.0)

    def logG(self, t, xp, x):
        yt = self.Y[t]
        if np.isnan(yt):
            return np.zeros(x.shape[0])
        z = (yt - x[:, 1]) / self.sig
        return -0.5 * z * z - np.log(self.sig) - 0.5 * np.log(2 * np.pi)


def main() -> None:
    model, path, n, reps = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    d = np.load(path)
    if model == "stochvol":
        fk = ssm.Bootstrap(
            ssm=ssm.StochVol(mu=float(d["mu"]), rho=float(d["rho"]), sigma=float(d["sigma"])),
            data=d["y"],
        )
    else:
        fk = KineticsFK(d)
    lls, times = [], []
    for r in range(reps):
        np.random.seed(1000 + r)  # noqa: NPY002 (particles draws from the global RNG)
        t0 = time.perf_counter()
        alg = particles.SMC(fk=fk, N=n, resampling="systematic", ESSrmin=0.5)
        alg.run()
        times.append(time.perf_counter() - t0)
        lls.append(float(alg.logLt))
    print(json.dumps({"loglik": lls, "seconds": times, "numpy": np.__version__}))


if __name__ == "__main__":
    main()
