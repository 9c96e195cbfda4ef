"""Accuracy of a GMRF posterior solve: iterative refinement of the mean and accuracy warnings.

Private module behind :mod:`petroinfer.inference.gmrf`.

On a fine chain the prior precision :math:`\\kappa R` has entries of order :math:`\\kappa/h^3`
(order 2) while the smooth directions that matter have eigenvalues of order of the data precision;
rounding the assembled band then perturbs exactly those directions (by about
:math:`\\varepsilon\\,\\kappa\\,|R|`), and the Cholesky solution of :math:`P\\mu = b` inherits it.
The gradient :math:`g(x) = A^T W (A x - y) + Q_R x + \\Lambda (x - m)` is evaluated without
assembled rows (differences of differences), so it is accurate to rounding; Newton corrections
:math:`x \\leftarrow x - \\hat P^{-1} g(x)` with the (slightly wrong) factor :math:`\\hat P` converge
to the exact mean whenever :math:`\\|\\hat P^{-1}(P - \\hat P)\\| < 1` (iterative refinement, Wilkinson
1963; Higham 2002, *Accuracy and Stability of Numerical Algorithms*, ch. 12).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np

from petroinfer.errors import DataQualityWarning
from petroinfer.inference._gmrf_banded import _Factor

MEAN_TOL = 1e-8  # relative accuracy of the mean below which a warning is raised
EVIDENCE_TOL = 0.2  # bound on the log|P| error (nats) above which a warning is raised


def refine_mean(
    fac: _Factor,
    x: np.ndarray,
    gradient: Callable[[np.ndarray], np.ndarray],
    max_iter: int = 25,
    tol: float = 1e-11,
) -> tuple[np.ndarray, float, int]:
    """Newton/iterative refinement of a posterior mean.

    Parameters
    ----------
    fac : _Factor
        Factorisation of the (approximately assembled) posterior precision.
    x : numpy.ndarray
        First solution ``fac.solve(b)``.
    gradient : callable
        ``g(x) = P x - b`` evaluated accurately.
    max_iter : int
        Maximum number of corrections.
    tol : float
        Stop when the relative correction ``|dx| / |x|`` (infinity norms) is below ``tol``.

    Returns
    -------
    tuple of (numpy.ndarray, float, int)
        Refined mean, last relative correction (an estimate of the remaining relative error) and
        the number of corrections made.
    """
    last, rel, stalled = np.inf, 0.0, 0
    for it in range(1, max_iter + 1):
        dx = fac.solve(gradient(x))
        step = float(np.max(np.abs(dx)))
        if not np.isfinite(step):
            return x, np.inf, it - 1
        if step >= last:  # not contracting (any more): stop after a second such step
            stalled += 1
            if stalled == 2:
                return x, rel, it
        x = x - dx
        last = step
        rel = step / (float(np.max(np.abs(x))) or 1.0)
        if rel <= tol:
            return x, rel, it
    return x, rel, max_iter


def logdet_error_bound(fac: _Factor, var: np.ndarray) -> float:
    """A first-order estimate (nats) of the rounding error of ``log|P|``.

    A backward error :math:`E` with :math:`|E_{ii}| \\lesssim \varepsilon P_{ii}` changes
    :math:`\\log|P|` by :math:`\\mathrm{tr}(P^{-1}E)`, bounded (diagonal part, same sign) by
    :math:`\varepsilon\\sum_i P_{ii}\\,[P^{-1}]_{ii}`; ``var`` are the marginal variances. The
    bound is pessimistic (rounding errors have random signs) by a factor of about 10 in the tests.
    """
    n = min(var.size, fac.B.shape[1])
    return float(np.finfo(float).eps * np.sum(fac.B[0, :n] * np.maximum(var[:n], 0.0)))


def warn_evidence_accuracy(bound: float, stacklevel: int = 3) -> None:
    """Warn when the log evidence may be off by more than 0.1 nats."""
    if bound > EVIDENCE_TOL:
        warnings.warn(
            f"the log evidence may be inaccurate by up to ~{0.5 * bound:.2g} nats (rounding in "
            "the banded factorisation of a posterior precision whose entries span many orders "
            "of magnitude); compare models only by larger differences",
            DataQualityWarning,
            stacklevel=stacklevel + 1,
        )


def warn_mean_accuracy(rel: float, stacklevel: int = 3) -> None:
    """Warn when the refined mean is still inaccurate (and hence the evidence)."""
    if not rel <= MEAN_TOL:
        warnings.warn(
            f"the posterior mean could only be resolved to a relative accuracy of {rel:.1e} "
            "(the banded factorisation lost accuracy: the prior precision is many orders of "
            "magnitude larger than the data precision along some directions); the mean and the "
            "log evidence may be inaccurate",
            DataQualityWarning,
            stacklevel=stacklevel + 1,
        )


_EPS = float(np.finfo(float).eps)


def at_risk(fac: _Factor, data_band: np.ndarray) -> bool:
    """Whether rounding of the assembled band can matter: ``eps * max P_ii`` above ``1e-7`` of the
    largest data precision on the diagonal."""
    data = float(np.max(data_band[0])) if data_band.size else 0.0
    return data > 0 and _EPS * float(np.max(fac.B[0])) > 1e-7 * data


def _chain_window_apply(prior, kappa, data_band, lo, hi, V):
    """``P V`` on the node window ``[lo, hi)`` (rows at the window edges are not exact: callers
    keep a halo). Structure part in difference form, data part from its band."""
    nc, k = prior.n_channels, V.shape[1]
    h = prior._h[lo : hi - 1]
    X = V.reshape(hi - lo, nc * k)
    d = np.diff(X, axis=0)
    if prior.order == 2:
        Z = np.diff(d / h[:, None], axis=0)
        wb = prior._wb[lo : hi - 2]
    else:
        Z, wb = d, prior._wb[lo : hi - 1]
    Z = np.einsum("cd,mdk->mck", prior._K(kappa), Z.reshape(-1, nc, k)) * wb[:, None, None]
    Z = Z.reshape(-1, nc * k)
    if prior.order == 2:
        u = np.zeros((Z.shape[0] + 1, nc * k))
        u[:-1] -= Z
        u[1:] += Z
        Z = u / h[:, None]
    out = np.zeros((hi - lo, nc * k))
    out[:-1] -= Z
    out[1:] += Z
    out = out.reshape((hi - lo) * nc, k)
    r0, r1 = lo * nc, hi * nc
    idx, lam, _ = prior._anchor_arrays()
    sel = (idx >= r0) & (idx < r1)
    out[idx[sel] - r0] += lam[sel, None] * V[idx[sel] - r0]
    for j in range(data_band.shape[0]):  # symmetric band matvec on the window
        band = data_band[j, r0 : r1 - j][:, None]
        out[j:] += band * V[: V.shape[0] - j]
        if j:
            out[: V.shape[0] - j] += band * V[j:]
    return out


def chain_logdet_correction(
    fac: _Factor, prior, kappa: np.ndarray, data_band: np.ndarray, k: int, chunk: int = 65536
) -> float:
    r"""Correction of :math:`\log|\hat P|` for the rounding of the assembled band (chains).

    With :math:`F = \hat L \hat L^T` the matrix the computed factor represents and :math:`U` the
    Chebyshev polynomials :math:`T_0..T_{k-1}` of position (per channel), the Rayleigh–Ritz
    estimate of :math:`\log\det(F^{-1}P)` on smooth functions is
    :math:`\log\det(U^TPU) - \log\det(U^TFU)`: rounding perturbs :math:`P` by about
    :math:`\varepsilon\max P_{ii}`, which matters for the smooth modes whose eigenvalues are not
    far above the data precision. :math:`U^TPU` uses the difference-form operator (accurate on
    smooth vectors), :math:`U^TFU = (\hat L^TU)^T(\hat L^TU)`; rows are processed in chunks.

    Parameters
    ----------
    fac : _Factor
        Factor of the assembled posterior precision (no low-rank part).
    prior : ChainPrior
        The prior.
    kappa : numpy.ndarray
        Smoothness per channel.
    data_band : numpy.ndarray
        Lower band of the data precision :math:`A^TWA` (scaled by the noise precision).
    k : int
        Number of smooth functions per channel.
    chunk : int
        Nodes per chunk.

    Returns
    -------
    float
        Estimate of :math:`\log|P| - \log|F|` (nats).
    """
    nc, n = prior.n_channels, prior.n_nodes
    cb = fac.cb
    pos = prior.positions
    t = 2.0 * (pos - pos[0]) / (pos[-1] - pos[0]) - 1.0
    halo = prior.order + cb.shape[0] // nc + 2
    G_f = np.zeros((k * nc, k * nc))
    G_p = np.zeros((k * nc, k * nc))
    for a in range(0, n, chunk):
        b = min(n, a + chunk)
        lo, hi = max(0, a - halo), min(n, b + halo)
        T = np.polynomial.chebyshev.chebvander(t[lo:hi], k - 1)
        U = np.zeros(((hi - lo) * nc, k * nc))
        for c in range(nc):
            U[c::nc, c * k : (c + 1) * k] = T
        r0, r1 = (a - lo) * nc, (b - lo) * nc  # rows of the chunk within the window
        rows = np.arange(a * nc, b * nc)
        Upad = np.vstack([U, np.zeros((cb.shape[0], U.shape[1]))])
        LtU = cb[0, rows][:, None] * U[r0:r1]
        for j in range(1, cb.shape[0]):
            coef = np.where(rows + j < n * nc, cb[j, rows], 0.0)
            LtU += coef[:, None] * Upad[r0 + j : r1 + j]
        PU = _chain_window_apply(prior, kappa, data_band, lo, hi, U)[r0:r1]
        G_f += LtU.T @ LtU
        G_p += U[r0:r1].T @ PU
    G_p = 0.5 * (G_p + G_p.T)
    sign_p, ld_p = np.linalg.slogdet(G_p)
    sign_f, ld_f = np.linalg.slogdet(G_f)
    if sign_p <= 0 or sign_f <= 0:
        return 0.0
    return float(ld_p - ld_f)
