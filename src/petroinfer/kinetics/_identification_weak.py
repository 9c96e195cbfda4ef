r"""Weak-form regression matrices and evidence-greedy selection for equation identification.

Weak form (Messenger & Bortz 2021, Multiscale Model. Simul. 19:1474; J. Comput. Phys. 443:110525):
multiplying :math:`\partial_t u = D\,\partial_x^2 u + \sum_j ξ_j θ_j(u)` by a smooth test function
ψ with compact support inside the domain and integrating by parts moves every derivative onto ψ,

.. math::

    -∫ψ_t\,u = D ∫ψ_{xx}\,u + \sum_j ξ_j ∫ψ\,θ_j(u),

so no derivative of the noisy data is ever taken. Test functions are separable polynomial bumps
:math:`ψ = φ((t - t_c)/H_t)\,φ((x - x_c)/H_x)`, :math:`φ(s) = (1 - s^2)^p` on |s| < 1 (p = 4, so ψ and
ψ_x vanish on the support boundary); integrals by the trapezoid rule.

Selection: Bayesian linear regression on the column-normalised matrix (the non-dimensional form:
each candidate term scaled to unit norm, so rate constants spanning decades compete on equal terms —
PySINDy issue #93) with prior :math:`ξ \sim N(0, α^{-1}I)` and noise precision β, both set by
evidence maximisation (MacKay 1992, Neural Comput. 4:415; Tipping 2001 eq. for log|Σ|), then
backward elimination of the term whose removal raises the evidence most until none does (the
"evidence-greedy" strategy of BINDy, Fung et al. 2025, Proc. R. Soc. A 481:20240200, written from
the equations; the PySINDy 2.1.0 release has no such optimizer, so
:class:`petroinfer.kinetics.EvidenceGreedy` offers this selection as a PySINDy optimizer).
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "bump_matrices",
    "bump_rows",
    "evidence_greedy",
    "linear_evidence",
    "select_with_choices",
    "trapezoid_weights",
]

P_BUMP = 4


def trapezoid_weights(n: int, h: float) -> np.ndarray:
    """Trapezoid-rule weights of ``n`` equally spaced points ``h`` apart."""
    w = np.full(n, h)
    w[[0, -1]] = 0.5 * h
    return w


def _bump(s: np.ndarray, order: int) -> np.ndarray:
    """φ(s) = (1 - s²)^p and its first two derivatives with respect to s (0 outside |s| < 1)."""
    p = P_BUMP
    inside = np.abs(s) < 1
    q = np.where(inside, 1.0 - s * s, 0.0)
    if order == 0:
        return q**p
    if order == 1:
        return -2.0 * p * s * q ** (p - 1)
    return np.where(inside, -2.0 * p * q ** (p - 1) + 4.0 * p * (p - 1) * s * s * q ** (p - 2), 0.0)


def bump_rows(
    coords: np.ndarray, centres: np.ndarray, half_width: float, orders: tuple[int, ...]
) -> dict[int, np.ndarray]:
    """Test functions with given centres, as rows ``(K, n)`` times trapezoid weights.

    Parameters
    ----------
    coords : numpy.ndarray
        Equally spaced coordinates, shape ``(n,)``.
    centres : numpy.ndarray
        Centres in grid-index units, shape ``(K,)`` (half-integers put a centre between two grid
        points); each support ``centre ± half_width`` lies inside the grid.
    half_width : float
        Half-width of a support in grid steps (with ``centre ± half_width`` on grid points the
        trapezoid rule integrates over exactly the support).
    orders : tuple of int
        Derivative orders wanted (0, 1, 2).

    Returns
    -------
    dict
        order → ``(K, n)`` weights whose dot product with samples gives ∫ d^kψ/dx^k · f.
    """
    n = coords.size
    h = float(coords[1] - coords[0])
    H = float(half_width) * h
    c = coords[0] + np.asarray(centres, dtype=float) * h
    s = (coords[None, :] - c[:, None]) / H
    w = trapezoid_weights(n, h)
    return {k: _bump(s, k) / H**k * w for k in orders}


def bump_matrices(
    coords: np.ndarray, half_width: int, stride: int, orders: tuple[int, ...]
) -> dict[int, np.ndarray]:
    """Test functions on a regular tiling of one axis (centres ``stride`` steps apart).

    Parameters
    ----------
    coords : numpy.ndarray
        Equally spaced coordinates.
    half_width : int
        Half-width of a support in grid steps.
    stride : int
        Distance between consecutive centres in grid steps.
    orders : tuple of int
        Derivative orders wanted (0, 1, 2).

    Returns
    -------
    dict
        order → ``(K, n)`` weights (see :func:`bump_rows`).
    """
    centres = np.arange(half_width, coords.size - half_width, max(int(stride), 1))
    return bump_rows(coords, centres, half_width, orders)


def linear_evidence(
    G: np.ndarray, y: np.ndarray, n_iter: int = 200, alpha: float | None = None
) -> tuple[float, np.ndarray, np.ndarray, float, float]:
    r"""Log evidence of :math:`y = Gξ + ε` with ξ ~ N(0, α⁻¹I), ε ~ N(0, β⁻¹I); α, β maximised.

    Parameters
    ----------
    G : numpy.ndarray, shape (n, k)
        Design matrix (k may be 0).
    y : numpy.ndarray, shape (n,)
        Target.
    n_iter : int
        MacKay fixed-point iterations.
    alpha : float, optional
        Fixed prior precision (then only β is maximised); default: α maximised too.

    Returns
    -------
    log_evidence : float
    mean : numpy.ndarray, shape (k,)
    cov : numpy.ndarray, shape (k, k)
    alpha, beta : float
    """
    n, k = G.shape
    if k == 0:
        beta = n / max(float(y @ y), 1e-300)
        le = 0.5 * n * np.log(beta) - 0.5 * beta * float(y @ y) - 0.5 * n * np.log(2 * np.pi)
        return float(le), np.zeros(0), np.zeros((0, 0)), np.inf, beta
    GtG, Gty = G.T @ G, G.T @ y
    lam0 = np.linalg.eigvalsh(GtG)
    fixed = alpha is not None
    alpha, beta = (float(alpha) if fixed else 1.0), n / max(float(y @ y), 1e-300)
    for _ in range(n_iter):
        A = alpha * np.eye(k) + beta * GtG
        m = beta * np.linalg.solve(A, Gty)
        lam = beta * lam0
        gamma = float(np.sum(lam / (lam + alpha)))
        r2 = float(np.sum((y - G @ m) ** 2))
        a_new = alpha if fixed else gamma / max(float(m @ m), 1e-300)
        b_new = max(n - gamma, 1e-9) / max(r2, 1e-300)
        done = abs(np.log(a_new / alpha)) < 1e-8 and abs(np.log(b_new / beta)) < 1e-8
        alpha, beta = a_new, b_new
        if done:
            break
    A = alpha * np.eye(k) + beta * GtG
    m = beta * np.linalg.solve(A, Gty)
    r2 = float(np.sum((y - G @ m) ** 2))
    _, logdet = np.linalg.slogdet(A)
    le = (
        0.5 * k * np.log(alpha)
        + 0.5 * n * np.log(beta)
        - 0.5 * beta * r2
        - 0.5 * alpha * float(m @ m)
        - 0.5 * logdet
        - 0.5 * n * np.log(2 * np.pi)
    )
    return float(le), m, np.linalg.inv(A), float(alpha), float(beta)


def evidence_greedy(
    G: np.ndarray, y: np.ndarray, alpha: float | None = None
) -> tuple[np.ndarray, list[dict]]:
    """Backward elimination by evidence on column-normalised ``G``.

    Parameters
    ----------
    G : numpy.ndarray, shape (n, k)
        Column-normalised candidate matrix.
    y : numpy.ndarray, shape (n,)
        Target.
    alpha : float, optional
        Fixed prior precision (default: maximised at every stage).

    Returns
    -------
    support : numpy.ndarray of bool, shape (k,)
        Selected columns.
    path : list of dict
        One entry per stage: ``n_terms``, ``log_evidence``, ``removed`` (column index or None).
    """
    k = G.shape[1]
    support = np.ones(k, dtype=bool)
    le = linear_evidence(G, y, alpha=alpha)[0]
    path = [{"n_terms": k, "log_evidence": le, "removed": None}]
    while support.any():
        best, best_le = None, le
        for j in np.flatnonzero(support):
            trial = support.copy()
            trial[j] = False
            le_j = linear_evidence(G[:, trial], y, alpha=alpha)[0]
            if le_j > best_le:
                best, best_le = j, le_j
        if best is None:
            break
        support[best] = False
        le = best_le
        path.append({"n_terms": int(support.sum()), "log_evidence": le, "removed": int(best)})
    return support, path


def select_with_choices(
    G: np.ndarray,
    y: np.ndarray,
    groups: list | None = None,
    one_per_block: bool = True,
    alpha: float | None = None,
) -> tuple[np.ndarray, list[dict]]:
    """Evidence-greedy elimination with one option per block chosen by evidence.

    Parameters
    ----------
    G : numpy.ndarray, shape (n, k)
        Column-normalised candidate matrix.
    y : numpy.ndarray, shape (n,)
        Target.
    groups : list, optional
        Per column ``None`` (always a candidate) or ``(block, option)``, e.g. ``(mineral, surface
        law)``. With ``one_per_block`` only the columns of one option per block compete; the option
        of each block is chosen by coordinate ascent of the final evidence of the greedy path
        (options in order of first appearance; at most two sweeps).
    one_per_block : bool, default True
        ``False``: all columns compete at once.
    alpha : float, optional
        Fixed prior precision (default: maximised).

    Returns
    -------
    support : numpy.ndarray of bool, shape (k,)
    path : list of dict
        As :func:`evidence_greedy`, column indices in the full matrix.
    """
    k = G.shape[1]
    groups = [None] * k if groups is None else list(groups)
    blocks = list(dict.fromkeys(g[0] for g in groups if g is not None))
    options = {
        b: list(dict.fromkeys(g[1] for g in groups if g is not None and g[0] == b)) for b in blocks
    }
    choice = {b: (options[b][0] if one_per_block else None) for b in blocks}

    def run(ch: dict) -> tuple[float, np.ndarray, list]:
        keep = np.array(
            [g is None or ch[g[0]] is None or g[1] == ch[g[0]] for g in groups], dtype=bool
        )
        sup, path = evidence_greedy(G[:, keep], y, alpha=alpha)
        idx = np.flatnonzero(keep)
        full = np.zeros(k, dtype=bool)
        full[idx[sup]] = True
        path = [
            {**p, "removed": None if p["removed"] is None else int(idx[p["removed"]])} for p in path
        ]
        return path[-1]["log_evidence"], full, path

    best = run(choice)
    if not one_per_block or all(len(o) < 2 for o in options.values()):
        return best[1], best[2]
    for _ in range(2):
        changed = False
        for b in blocks:
            for opt in options[b]:
                trial = {**choice, b: opt}
                res = run(trial)
                if res[0] > best[0] + 1e-9:
                    best, choice, changed = res, trial, True
        if not changed:
            break
    return best[1], best[2]
