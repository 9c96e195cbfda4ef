r"""Validity indices of fuzzy partitions and spatial-consistency diagnostics of memberships.

Notation: memberships ``U`` of shape (n, c) (rows sum to 1), centres ``V`` (c, F), fuzzifier m.
Equations: science notes ``imaging_texture.md`` §C.4 and §C.1 item 8 [K]:

* partition coefficient :math:`PC=\frac1n\sum_k\sum_i u_{ik}^2` (Bezdek 1974; ↑) and its modified form
  :math:`MPC=1-\frac{c}{c-1}(1-PC)` (Dave 1996; ↑);
* partition entropy :math:`PE=-\frac1n\sum_k\sum_i u_{ik}\ln u_{ik}` (Bezdek 1974; ↓);
* Xie–Beni :math:`XB=\sum_i\sum_k u_{ik}^m d_{ik}/(n\min_{i\ne j}\|v_i-v_j\|^2)` (Xie & Beni 1991; ↓);
* Fukuyama–Sugeno :math:`FS=\sum_i\sum_k u_{ik}^m(d_{ik}-\|v_i-\bar v\|^2)` (1989; ↓);
* fuzzy silhouette :math:`FSil=\sum_k(u_{(1)k}-u_{(2)k})^{a}s_k/\sum_k(u_{(1)k}-u_{(2)k})^{a}` with the
  crisp silhouettes :math:`s_k` (Campello & Hruschka 2006; ↑);
* spatial consistency :math:`I=\sum_k\sum_l w_{kl}\|u_k-u_l\|^2` divided by its value after random
  permutations of the rows of U (Gelb & Apparicio's ``spConsistency``; 0 = smooth, ≈ 1 = random);
* Moran's I of each membership column :math:`I=\frac{n}{S_0}\frac{z^\top Wz}{z^\top z}` (Moran 1950).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from petroinfer._rng import RandomState, as_generator

__all__ = [
    "fukuyama_sugeno",
    "fuzzy_silhouette",
    "membership_morans_i",
    "modified_partition_coefficient",
    "partition_coefficient",
    "partition_entropy",
    "spatial_consistency",
    "xie_beni",
]


def partition_coefficient(U: np.ndarray) -> float:
    """PC = (1/n) Σ u² (1/c … 1; higher = crisper).

    Parameters
    ----------
    U : array of shape (n, c)
        Memberships (rows sum to 1).

    Returns
    -------
    float

    Examples
    --------
    >>> partition_coefficient([[1.0, 0.0], [0.5, 0.5]])
    0.75
    """
    U = np.asarray(U, dtype=float)
    return float(np.sum(U * U) / U.shape[0])


def modified_partition_coefficient(U: np.ndarray) -> float:
    """MPC = 1 − c(1 − PC)/(c − 1) (0 … 1; higher = crisper).

    Parameters
    ----------
    U : array of shape (n, c)
        Memberships (rows sum to 1).

    Returns
    -------
    float

    Examples
    --------
    >>> modified_partition_coefficient([[1.0, 0.0], [0.5, 0.5]])
    0.5
    """
    c = np.asarray(U).shape[1]
    if c < 2:
        return float("nan")
    return float(1.0 - c * (1.0 - partition_coefficient(U)) / (c - 1))


def partition_entropy(U: np.ndarray) -> float:
    """PE = −(1/n) Σ u ln u (0 … ln c; lower = crisper), in nats.

    Parameters
    ----------
    U : array of shape (n, c)
        Memberships (rows sum to 1).

    Returns
    -------
    float

    Examples
    --------
    >>> round(partition_entropy([[0.5, 0.5]]), 6)
    0.693147
    """
    U = np.asarray(U, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(U > 0, U * np.log(np.where(U > 0, U, 1.0)), 0.0)
    return float(-t.sum() / U.shape[0])


def _sqd(X: np.ndarray, V: np.ndarray) -> np.ndarray:
    miss = np.isnan(X)
    X0 = np.where(miss, 0.0, X)
    M = (~miss).astype(float)
    D = (X0**2).sum(1)[:, None] - 2 * X0 @ V.T + M @ (V**2).T
    D *= X.shape[1] / np.maximum(M.sum(1, keepdims=True), 1)
    return np.maximum(D, 0.0)


def xie_beni(X: np.ndarray, U: np.ndarray, V: np.ndarray, m: float = 2.0) -> float:
    """Xie–Beni index (lower = compact, well-separated clusters).

    Parameters
    ----------
    X : array of shape (n, F)
        The clustered (analysed) data; NaN allowed (partial distances).
    U : array of shape (n, c)
        Memberships.
    V : array of shape (c, F)
        Centres.
    m : float, default 2.0
        Fuzzifier.

    Returns
    -------
    float

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[0.0], [4.0]])
    >>> xie_beni(X, np.eye(2), X)
    0.0
    """
    X, U, V = (np.asarray(a, dtype=float) for a in (X, U, V))
    sep = np.sum((V[:, None, :] - V[None, :, :]) ** 2, axis=2)
    np.fill_diagonal(sep, np.inf)
    with np.errstate(divide="ignore", invalid="ignore"):  # coincident centres → +inf
        return float(np.sum(U**m * _sqd(X, V)) / (X.shape[0] * sep.min()))


def fukuyama_sugeno(X: np.ndarray, U: np.ndarray, V: np.ndarray, m: float = 2.0) -> float:
    """Fukuyama–Sugeno index (lower = better).

    Parameters
    ----------
    X : array of shape (n, F)
        The clustered (analysed) data; NaN allowed (partial distances).
    U : array of shape (n, c)
        Memberships.
    V : array of shape (c, F)
        Centres.
    m : float, default 2.0
        Fuzzifier.

    Returns
    -------
    float

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[0.0], [4.0]])
    >>> fukuyama_sugeno(X, np.eye(2), X)
    -8.0
    """
    X, U, V = (np.asarray(a, dtype=float) for a in (X, U, V))
    vbar = np.nanmean(X, axis=0)
    between = np.sum((V - vbar) ** 2, axis=1)
    return float(np.sum(U**m * (_sqd(X, V) - between[None, :])))


def fuzzy_silhouette(
    X: np.ndarray,
    U: np.ndarray,
    *,
    a: float = 1.0,
    max_samples: int = 4000,
    random_state: RandomState = 0,
) -> float:
    """Fuzzy silhouette (higher = better); computed on at most ``max_samples`` complete rows.

    Parameters
    ----------
    X : array of shape (n, F)
        The clustered (analysed) data (rows with NaN are skipped).
    U : array of shape (n, c)
        Memberships; the crisp labels are their argmax.
    a : float, default 1.0
        Exponent of the weights :math:`(u_{(1)k}-u_{(2)k})^a`.
    max_samples : int, default 4000
        Random subsample size (the silhouette costs O(n²)).
    random_state : int, numpy Generator or None, default 0
        Seed of the subsample.

    Returns
    -------
    float
        NaN when fewer than two clusters are occupied.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[0.0], [0.1], [5.0], [5.1]])
    >>> U = np.array([[0.9, 0.1], [0.9, 0.1], [0.1, 0.9], [0.1, 0.9]])
    >>> round(fuzzy_silhouette(X, U), 3)
    0.98
    """
    from sklearn.metrics import silhouette_samples

    X, U = np.asarray(X, dtype=float), np.asarray(U, dtype=float)
    ok = np.flatnonzero(np.all(np.isfinite(X), axis=1))
    if ok.size > max_samples:
        ok = np.sort(as_generator(random_state).choice(ok, max_samples, replace=False))
    labels = U[ok].argmax(axis=1)
    if ok.size < 3 or np.unique(labels).size < 2 or np.unique(labels).size >= ok.size:
        return float("nan")
    s = silhouette_samples(X[ok], labels)
    top2 = np.sort(U[ok], axis=1)[:, -2:]
    w = (top2[:, 1] - top2[:, 0]) ** a
    return float(np.sum(w * s) / np.sum(w)) if np.sum(w) > 0 else float(np.mean(s))


def _moran(W: sp.csr_matrix, z: np.ndarray) -> float:
    z = z - z.mean()
    den = float(z @ z)
    if den <= 0:
        return float("nan")
    return float(z.shape[0] / W.sum() * (z @ (W @ z)) / den)


def membership_morans_i(U: np.ndarray, W: sp.spmatrix) -> np.ndarray:
    """Moran's I of every membership column; > 0 = spatially clustered.

    Parameters
    ----------
    U : array of shape (n, c)
        Memberships.
    W : scipy.sparse matrix of shape (n, n)
        Spatial weights (e.g. from :func:`~petroinfer.geochem.neighbour_weights`).

    Returns
    -------
    ndarray of shape (c,)

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> W = sp.csr_matrix(np.array([[0, 1, 0, 0], [1, 0, 0, 0], [0, 0, 0, 1], [0, 0, 1, 0.0]]))
    >>> membership_morans_i(np.array([[1.0, 0], [1, 0], [0, 1], [0, 1]]), W).tolist()
    [1.0, 1.0]
    """
    W = sp.csr_matrix(W)
    U = np.asarray(U, dtype=float)
    return np.array([_moran(W, U[:, i]) for i in range(U.shape[1])])


def _pair_sum(W: sp.csr_matrix, U: np.ndarray) -> float:
    coo = W.tocoo()
    diff = U[coo.row] - U[coo.col]
    return float(np.sum(coo.data * np.sum(diff * diff, axis=1)))


def spatial_consistency(
    U: np.ndarray,
    W: sp.spmatrix,
    *,
    n_permutations: int = 99,
    random_state: RandomState = 0,
) -> dict[str, Any]:
    """Spatial inconsistency of memberships relative to random permutations.

    Parameters
    ----------
    U : array of shape (n, c)
        Memberships.
    W : scipy.sparse matrix of shape (n, n)
        Spatial weights.
    n_permutations : int, default 99
        Random row permutations of U.
    random_state : int, numpy Generator or None, default 0
        Seed of the permutations.

    Returns
    -------
    dict

        ``statistic`` I, ``ratio`` mean(I / I_perm) (0 = smooth, ≈ 1 = random), ``ratio_q05``,
        ``ratio_q95`` and ``p_value`` = (1 + #{I_perm ≤ I}) / (1 + n_permutations), the one-sided
        test of "memberships are not spatially smoother than random".

    Examples
    --------
    >>> import numpy as np
    >>> from petroinfer.geochem import neighbour_weights
    >>> u = np.repeat([0.0, 1.0], 8)
    >>> sc = spatial_consistency(np.c_[u, 1 - u], neighbour_weights(shape=(4, 4)), random_state=0)
    >>> sc["ratio"] < 0.5
    True
    """
    W = sp.csr_matrix(W)
    U = np.asarray(U, dtype=float)
    rng = as_generator(random_state)
    obs = _pair_sum(W, U)
    perm = np.array([_pair_sum(W, U[rng.permutation(U.shape[0])]) for _ in range(n_permutations)])
    ratios = obs / perm
    return {
        "statistic": obs,
        "ratio": float(np.mean(ratios)),
        "ratio_q05": float(np.quantile(ratios, 0.05)),
        "ratio_q95": float(np.quantile(ratios, 0.95)),
        "p_value": float((1 + np.sum(perm <= obs)) / (1 + n_permutations)),
    }
