r"""Effective degrees of freedom of the active-set Tikhonov fit by block-banded selected inversion.

On a line's active set ``A`` (the positive shots) the non-negative Tikhonov fit is locally the
linear smoother :math:`\hat\mu = B(B^\top WB + \lambda P)^{-1}B^\top W s` with
:math:`B = [H_A, c\mathbf 1]`, so its effective degrees of freedom are

.. math:: \mathrm{df} = \operatorname{tr}(G^{-1}M),\quad M = B^\top WB,\quad G = M + \lambda P,

with :math:`P = L_A^\top L_A` (``L`` = identity or a difference operator, zero on the baseline).
``H`` is a convolution with a kernel of ``k`` samples and ``L`` has at most 3 non-zeros a row, so
:math:`G_0 = H_A^\top WH_A + \lambda P_A` is banded in the compressed (active) index with half
bandwidth :math:`b \le k - 1`; cut into blocks of ``β ≥ b`` unknowns it is block tridiagonal and the
trace needs only the blocks of :math:`G_0^{-1}` on and next to the diagonal. Those come from the block
form of the Takahashi recursion (Takahashi, Fagan & Chen 1973; Erisman & Tinney 1975; the
block-tridiagonal "recursive Green's function" sweep, e.g. Petersen et al. 2008,
J. Comput. Phys. 227:3174): with :math:`S_1 = G_{11}`,
:math:`S_k = G_{kk} - G_{k-1,k}^\top S_{k-1}^{-1}G_{k-1,k}` (Cholesky-factored),
:math:`E_k = S_k^{-1}G_{k,k+1}`,

.. math:: Z_{KK} = S_K^{-1},\quad Z_{k,k+1} = -E_kZ_{k+1,k+1},\quad
          Z_{kk} = S_k^{-1} + E_kZ_{k+1,k+1}E_k^\top,

and :math:`\operatorname{tr}(G_0^{-1}M_0) = \sum_k\langle Z_{kk}, M_{kk}\rangle
+ 2\sum_k\langle Z_{k,k+1}, M_{k,k+1}\rangle`. Cost :math:`O(|A|\,β^2)` per line with dense
BLAS-3 blocks, against :math:`O(|A|^3)` for the dense solve.

The baseline column (dense: it touches every sample) is a border. With
:math:`g = B_A^\top W c\mathbf 1`, :math:`\gamma = c^2\sum w`, :math:`u = G_0^{-1}g` and the Schur
complement :math:`s = \gamma - g^\top u`, the bordered inverse gives (no penalty on the baseline)

.. math:: \mathrm{df} = \operatorname{tr}(G_0^{-1}M_0) + 1 - \lambda\,u^\top P_A u / s,

where :math:`u^\top P_Au = \lVert L\tilde u\rVert^2` (``ũ`` = ``u`` scattered onto all samples).
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import LinAlgError, cho_factor, cho_solve
from threadpoolctl import threadpool_limits

__all__ = ["line_df", "sampled_df"]

_DIFF = {"d1": np.array([-1.0, 1.0]), "d2": np.array([1.0, -2.0, 1.0])}


def _toeplitz_block(g: np.ndarray, cols: np.ndarray, r0: int, r1: int, off: int) -> np.ndarray:
    """Dense rows ``r0:r1`` of the columns ``cols`` of ``T[r, j] = g[r - j + off]`` (0 outside)."""
    idx = np.arange(r0, r1)[:, None] - cols[None, :] + off
    ok = (idx >= 0) & (idx < g.size)
    return np.where(ok, g[np.clip(idx, 0, g.size - 1)], 0.0)


def _pen_quadratic(v: np.ndarray, penalty: str) -> float:
    """``‖L v‖²`` for the penalty operator (``v`` on all samples)."""
    if penalty == "l2":
        return float(v @ v)
    q = 1 if penalty == "d1" else 2
    return float(np.sum(np.diff(v, q) ** 2))


def _blocks(h, w, act_idx, lam, penalty, n, beta):
    """Diagonal and super-diagonal blocks of ``M0 = H_AᵀWH_A`` and ``G0 = M0 + λP_A``."""
    k = h.size
    sw = np.sqrt(w)
    starts = list(range(0, act_idx.size, beta))
    data = []
    for s0 in starts:
        J = act_idx[s0 : s0 + beta]
        r0, r1 = int(J[0]), int(min(n, J[-1] + k))
        A = _toeplitz_block(h, J, r0, r1, 0) * sw[r0:r1, None]
        if penalty in _DIFF:
            c = _DIFF[penalty]
            q = c.size - 1
            d0, d1 = max(int(J[0]) - q, 0), min(int(J[-1]) + 1, n - q)
            D = _toeplitz_block(c[::-1], J, d0, d1, q) if d1 > d0 else np.zeros((0, J.size))
        else:
            d0 = d1 = 0
            D = None
        data.append((J, r0, r1, A, d0, d1, D))
    Mdiag, Gdiag, Moff, Goff = [], [], [], []
    for i, (J, r0, r1, A, d0, d1, D) in enumerate(data):
        M = A.T @ A
        G = M.copy()
        if penalty == "l2":
            G[np.diag_indices_from(G)] += lam
        elif D is not None:
            G += lam * (D.T @ D)
        Mdiag.append(M)
        Gdiag.append(G)
        if i + 1 < len(data):
            J2, s0, _, A2, e0, _, D2 = data[i + 1]
            lo = s0  # rows shared by blocks i and i + 1: [s0, r1)
            if r1 > lo:
                Mo = A[lo - r0 :].T @ A2[: r1 - lo]
            else:
                Mo = np.zeros((J.size, J2.size))
            Go = Mo.copy()
            if D is not None and D2 is not None and d1 > e0:
                Go += lam * (D[e0 - d0 :].T @ D2[: d1 - e0])
            Moff.append(Mo)
            Goff.append(Go)
    return Mdiag, Gdiag, Moff, Goff


def _half_bandwidth(act_idx: np.ndarray, reach: int) -> int:
    """Largest number of later active samples within ``reach - 1`` samples of an active one."""
    nxt = np.searchsorted(act_idx, act_idx + reach - 1, side="right")
    return int(np.max(nxt - np.arange(act_idx.size) - 1)) if act_idx.size else 0


def line_df(
    h: np.ndarray,
    w: np.ndarray,
    active: np.ndarray,
    lam: float,
    penalty: str,
    *,
    baseline_c: float | None = None,
) -> float:
    r"""Active-set effective degrees of freedom of one line, by block selected inversion.

    Parameters
    ----------
    h : ndarray, shape (k,)
        Kernel (response integrated over each sample), ``k ≤ n``.
    w : ndarray, shape (n,)
        Data weights (counts⁻¹).
    active : ndarray of bool, shape (n,)
        Positive shots.
    lam : float
        λ of the quadratic penalty (ignored for ``"none"``).
    penalty : {"l2", "d1", "d2", "none"}
        Penalty operator ``L`` (identity, first or second differences, none).
    baseline_c : float or None
        Value ``c`` of the baseline column ``c·1`` (fitted, unpenalised), or ``None`` (no baseline).

    Returns
    -------
    float
        :math:`\operatorname{tr}((B^\top WB + \lambda P)^{-1}B^\top WB)` (see the module notes).

    Raises
    ------
    numpy.linalg.LinAlgError
        When a Schur complement is not positive definite (singular active-set design).
    """
    n = w.size
    act_idx = np.flatnonzero(active)
    lam = float(lam) if penalty != "none" else 0.0
    pen = penalty if lam > 0 else "none"
    p = act_idx.size
    if p == 0:
        return 1.0 if baseline_c is not None and np.sum(w) > 0 else 0.0
    beta = max(_half_bandwidth(act_idx, max(h.size, 3)), 1)
    Md, Gd, Mo, Go = _blocks(h, w, act_idx, lam, pen, n, beta)
    facs, E = _factor(Gd, Go)
    if lam == 0:  # tr(G⁻¹G) = |A| exactly once G is positive definite
        df = float(p)
    else:
        df = _trace(facs, E, Md, Mo)
    if baseline_c is not None:
        # g = H_AᵀW c1 (the correlation of the weights with the kernel), u = G0⁻¹g
        g = baseline_c * np.convolve(w[::-1], h)[:n][::-1][act_idx]  # (Hᵀw)_j = Σ_t w_t h_{t-j}
        u = _solve(facs, E, g, beta)
        gamma = baseline_c**2 * float(np.sum(w))
        schur = gamma - float(g @ u)
        if lam == 0:
            df += 1.0 if schur > 1e-10 * gamma else 0.0  # the constant is in span(H_A) or not
        else:
            if not schur > 0:
                raise LinAlgError("baseline Schur complement not positive")
            u_full = np.zeros(n)
            u_full[act_idx] = u
            df += 1.0 - lam * _pen_quadratic(u_full, penalty) / schur
    return df


def _factor(Gd, Go):
    """Block LDLᵀ of a block-tridiagonal SPD matrix: Cholesky factors of the Schur complements
    ``S_k`` and ``E_k = S_k⁻¹G_{k,k+1}``."""
    facs, E = [], []
    S = Gd[0]
    for i in range(len(Gd)):
        if i:
            S = Gd[i] - Go[i - 1].T @ E[i - 1]
        f = cho_factor(S, lower=False, check_finite=False)
        if not np.all(np.diag(f[0]) > 0) or not np.all(np.isfinite(f[0])):
            raise LinAlgError("Schur complement not positive definite")
        facs.append(f)
        if i + 1 < len(Gd):
            E.append(cho_solve(f, Go[i], check_finite=False))
    return facs, E


def _trace(facs, E, Md, Mo) -> float:
    """``tr(G⁻¹M)`` from the selected blocks of ``G⁻¹`` (block Takahashi recursion)."""
    Z = cho_solve(facs[-1], np.eye(Md[-1].shape[0]), check_finite=False)
    t = float(np.sum(Z * Md[-1]))
    for i in range(len(facs) - 2, -1, -1):
        Zo = -E[i] @ Z  # Z_{i,i+1}
        Z = cho_solve(facs[i], np.eye(Md[i].shape[0]), check_finite=False) - Zo @ E[i].T
        t += float(np.sum(Z * Md[i])) + 2.0 * float(np.sum(Zo * Mo[i]))
    return t


def _solve(facs, E, g, beta):
    """``G⁻¹g`` from the block LDLᵀ factors (forward, diagonal, backward sweeps)."""
    K = len(facs)
    y = [g[i * beta : (i + 1) * beta].copy() for i in range(K)]
    for i in range(1, K):
        y[i] -= E[i - 1].T @ y[i - 1]
    u = [None] * K
    u[-1] = cho_solve(facs[-1], y[-1], check_finite=False)
    for i in range(K - 2, -1, -1):
        u[i] = cho_solve(facs[i], y[i], check_finite=False) - E[i] @ u[i + 1]
    return np.concatenate(u)


def sampled_df(prob, x, w, lam, penalty, max_lines, *, dense_fallback) -> np.ndarray:
    """Per-line df of at most ``max_lines`` evenly spaced lines of the batch (all when fewer).

    ``dense_fallback(i)`` gives the df of flat line ``i`` when the block factorisation fails (a
    singular active-set design). BLAS runs single-threaded here: the blocks are small (β ≈ the
    kernel length), where threading costs more than it gains (20× slower on a busy 2-core box).
    """
    n = prob.n
    flat_x = x.reshape(-1, n + 1)
    flat_w = np.broadcast_to(w, (*x.shape[:-1], n)).reshape(-1, n)
    flat_l = np.broadcast_to(np.asarray(lam, float), (*x.shape[:-1], 1)).reshape(-1)
    lines = flat_x.shape[0]
    idx = np.unique(np.linspace(0, lines - 1, min(max_lines, lines)).astype(int))
    c = prob.c if prob.fit_baseline else None
    out = np.empty(idx.size)
    with threadpool_limits(limits=1, user_api="blas"):
        for k, i in enumerate(idx):
            act = flat_x[i, :n] > 0
            try:
                out[k] = line_df(prob.h, flat_w[i], act, flat_l[i], penalty, baseline_c=c)
            except LinAlgError:
                out[k] = dense_fallback(i)
    return out
