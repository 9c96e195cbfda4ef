r"""Latent-composition link of :class:`~petroinfer.ptpath.zoning.ZonedGarnetPTPath` (model error η).

Kuwatani et al. (2012) keep the true garnet compositions :math:`x_i` latent and link them by the
differential Gibbs method with a model error,

.. math:: x_{i+1} - x_i = A_i(\theta_{i+1} - \theta_i) + \eta_i, \qquad
          \eta_i \sim N(0, h_i\,\sigma_\eta^2 I),

(PT notes §1.3 [R]; :math:`h_i` the spacing of the traverse, so the model error is a random walk along
the growth coordinate). Writing :math:`x_i = g(\theta_i) + \delta_i`, with :math:`g` the garnet in
equilibrium with the matrix (integrated mode, Jacobian :math:`A_i`), the link becomes
:math:`\delta_{i+1} - \delta_i = \eta_i` up to the second-order remainder of
:math:`g(\theta_{i+1}) - g(\theta_i) - A_i\Delta\theta_i` (which the integrated form removes instead
of absorbing it into η). So the latent model is: δ is a first-order random walk with precision
:math:`\kappa_\eta = 1/\sigma_\eta^2` per unit distance (Rue & Held 2005 §3.3.1), intrinsic in its
level (the Gibbs method only knows differentials, so the absolute P–T comes from the anchor), and
the EPMA observation :math:`y_i = g(\theta_i) + \delta_i + \varepsilon_i`. As :math:`\sigma_\eta
\to 0` it reduces to the integrated link with the level of δ free.

Everything here is Gaussian-Markov along the traverse: the state :math:`z = (T_i, P_i, \delta_{prp,i},
\delta_{grs,i})_i` has a banded posterior precision :math:`\hat P = Q + \tau J^T J`, solved by sparse
LU. MAP by Gauss–Newton with re-linearisation of :math:`A_i` and step halving; the Laplace evidence

.. math:: \log p(y) \approx \tfrac12\log|Q|^* - \tfrac{r}{2}\log 2\pi + \tfrac m2\log\frac{\tau}{2\pi}
          + \tfrac d2 \log 2\pi - \tfrac12\log|\hat P| - \Phi(\hat z)

(Tierney & Kadane 1986; r the rank of the prior precision, d = 4N, m = 2N) chooses σ_η.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import splu

from petroinfer.errors import ModelError

LOG2PI = float(np.log(2.0 * np.pi))


@dataclass
class LatentFit:
    """MAP, Laplace blocks and evidence of the latent link at fixed hyperparameters."""

    z: np.ndarray  # (N, 4): T K, P kbar, δ_prp, δ_grs
    cov: np.ndarray  # (N, 4, 4) marginal posterior covariance blocks
    log_evidence: float
    x: np.ndarray  # (N, 3) equilibrium garnet g(θ̂) (alm, prp, grs)
    A: np.ndarray  # (N, 2, 2) ∂(prp, grs)/∂(T K, P kbar) at θ̂
    iterations: int
    converged: bool
    precision: Any = None  # the factorised posterior precision (splu) and its permutation


def _interleave(n: int) -> tuple[np.ndarray, np.ndarray]:
    idx = np.arange(4 * n).reshape(n, 4)
    return idx[:, :2].ravel(), idx[:, 2:].ravel()


def _embed(Q: sp.spmatrix, rows: np.ndarray, size: int) -> sp.csr_matrix:
    Q = sp.coo_matrix(Q)
    return sp.csr_matrix((Q.data, (rows[Q.row], rows[Q.col])), shape=(size, size))


def _jacobian(A: np.ndarray) -> sp.csr_matrix:
    """∂(g(θ_i) + δ_i)/∂z: rows (prp_i, grs_i), columns (T_i, P_i, δprp_i, δgrs_i)."""
    n = A.shape[0]
    blk = np.concatenate([A, np.broadcast_to(np.eye(2), (n, 2, 2))], axis=2)  # (n, 2, 4)
    rows = np.repeat(np.arange(2 * n), 4)
    cols = (np.arange(n)[:, None, None] * 4 + np.arange(4)[None, None, :]).repeat(2, axis=1)
    return sp.csr_matrix((blk.ravel(), (rows, cols.ravel())), shape=(2 * n, 4 * n))


def _logdet_lu(lu) -> float:
    return float(np.sum(np.log(np.abs(lu.U.diagonal()))) + np.sum(np.log(np.abs(lu.L.diagonal()))))


def fit_latent(
    link,
    y: np.ndarray,
    theta_prior,
    kappa: dict[str, float],
    anchors: list,
    eta_prior,
    kappa_eta: float,
    tau: float,
    z0: np.ndarray,
    *,
    max_iter: int = 200,
    tol: float = 1e-6,
    blocks: bool = True,
) -> LatentFit:
    """MAP + Laplace of the latent-composition model at fixed (τ, κ_T, κ_P, κ_η).

    Parameters
    ----------
    link : callable
        ``theta (N, 2) -> (x (N, 3), A (N, 2, 2))`` (T in K, P in kbar).
    y : numpy.ndarray
        Observed (X_prp, X_grs), shape (N, 2).
    theta_prior : ChainPrior
        (T, P) chain prior with its anchors.
    kappa : dict
        ``{"T": κ_T, "P": κ_P}``.
    anchors : list of Anchor
        The anchors of ``theta_prior`` (for the linear term of the prior energy).
    eta_prior : ChainPrior
        Order-1 chain prior with two channels (the δ random walk).
    kappa_eta : float
        1/σ_η² (per unit distance).
    tau : float
        EPMA noise precision.
    z0 : numpy.ndarray
        Starting state (N, 4).
    """
    n = y.shape[0]
    d = 4 * n
    it_idx, dl_idx = _interleave(n)
    Qt = theta_prior.precision(kappa)
    ke = {c: kappa_eta for c in eta_prior.channels}
    Q = _embed(Qt, it_idx, d) + _embed(eta_prior.precision(ke), dl_idx, d)
    b = np.zeros(d)
    c0 = 0.0
    for a in anchors:
        lam = 1.0 / a.sd**2
        j = 4 * a.node + (0 if a.channel == "T" else 1)
        b[j] += lam * a.mean
        c0 += 0.5 * lam * a.mean**2

    def energy(z):
        th = z.reshape(n, 4)[:, :2]
        x, A = link(th)
        r = y - x[:, 1:] - z.reshape(n, 4)[:, 2:]
        if not np.all(np.isfinite(r)):
            return np.inf, None, None, None
        phi = 0.5 * tau * np.sum(r**2) + 0.5 * z @ (Q @ z) - b @ z + c0
        return phi, r, x, A

    z = np.asarray(z0, float).ravel().copy()
    phi, r, x, A = energy(z)
    if not np.isfinite(phi):
        raise ModelError("the latent-link start is outside the equilibrium solver's range")
    converged = False
    it = 0
    lam = 1e-4
    for it in range(1, max_iter + 1):  # noqa: B007 (reported after the loop)
        # Levenberg–Marquardt (Marquardt 1963): the θ–δ ridge (θ + A⁻¹δ fits equally well) makes
        # undamped Gauss–Newton steps overshoot along it
        J = _jacobian(A)
        P = (Q + tau * (J.T @ J)).tocsc()
        grad = Q @ z - b - tau * (J.T @ r.ravel())
        D = sp.diags(P.diagonal())
        for _ in range(40):
            step = splu((P + lam * D).tocsc(), permc_spec="MMD_AT_PLUS_A",
                        diag_pivot_thresh=0.0).solve(-grad)  # fmt: skip
            pred = -grad @ step - 0.5 * step @ (P @ step)  # model decrease (>0)
            zn = z + step
            phin, rn, xn, An = energy(zn)
            if phin <= phi:
                lam = max(lam / 5.0, 1e-12)
                break
            lam *= 4.0
        else:
            break
        gain = phi - phin
        z, phi, r, x, A = zn, phin, rn, xn, An
        if gain < tol and pred < 10 * tol:
            converged = True  # decrease below `tol` nats: the evidence is exact to ~tol
            break
    J = _jacobian(A)
    P = (Q + tau * (J.T @ J)).tocsc()
    lu = splu(P, permc_spec="MMD_AT_PLUS_A", diag_pivot_thresh=0.0)
    ldt, deft = theta_prior.log_determinant(kappa)
    lde, defe = eta_prior.log_determinant(ke)
    rank = d - deft - defe
    m = y.size
    logz = (
        0.5 * (ldt + lde) - 0.5 * rank * LOG2PI + 0.5 * m * (np.log(tau) - LOG2PI)
        + 0.5 * d * LOG2PI - 0.5 * _logdet_lu(lu) - phi
    )  # fmt: skip
    cov = _marginal_blocks(lu, n) if blocks else np.full((n, 4, 4), np.nan)
    return LatentFit(z.reshape(n, 4), cov, float(logz), x, A, it, converged, lu)


def _marginal_blocks(lu, n: int, chunk: int = 256) -> np.ndarray:
    """4×4 diagonal blocks of P̂⁻¹ by solves against unit columns, ``chunk`` nodes at a time
    (O(N²) work: the latent link is meant for traverses of up to a few thousand points)."""
    out = np.empty((n, 4, 4))
    for a in range(0, n, chunk):
        c = min(chunk, n - a)
        E = np.zeros((4 * n, 4 * c))
        E[4 * a + np.arange(4 * c), np.arange(4 * c)] = 1.0
        X = lu.solve(E)  # (4n, 4c)
        for k in range(c):
            i = a + k
            out[i] = X[4 * i : 4 * i + 4, 4 * k : 4 * k + 4]
    return 0.5 * (out + out.transpose(0, 2, 1))


def search_model_error(fit_at, sd_grid: np.ndarray) -> tuple[float, list[tuple[float, float]]]:
    """Maximise the Laplace evidence over the model-error SD σ_η: a log-spaced grid, then a bounded
    Brent refinement (scipy ``minimize_scalar``) between the neighbours of the best grid point.

    ``fit_at(sd) -> log evidence``. Returns the optimum and every (σ_η, log evidence) evaluated.
    """
    from scipy.optimize import minimize_scalar

    evals: list[tuple[float, float]] = []

    def f(log_sd):
        sd_ = float(np.exp(log_sd))
        v = fit_at(sd_)
        evals.append((sd_, v))
        return -v if np.isfinite(v) else 1e300

    vals = [f(np.log(s_)) for s_ in sd_grid]
    k = int(np.argmin(vals))
    best = float(sd_grid[k])
    if 0 < k < len(sd_grid) - 1:
        res = minimize_scalar(
            f, bounds=(np.log(sd_grid[k - 1]), np.log(sd_grid[k + 1])), method="bounded",
            options={"xatol": 0.1, "maxiter": 12},
        )  # fmt: skip
        if res.fun <= vals[k]:
            best = float(np.exp(res.x))
    return best, evals
