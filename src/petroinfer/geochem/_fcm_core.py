r"""The fuzzy c-means engine shared by FCM, spatial FCM (maps) and GEOFCM (scattered points).

One alternating-optimisation loop with pluggable spatial terms (notation of the science notes,
``imaging_texture.md`` §C: data :math:`x_k`, centres :math:`v_i`, memberships :math:`u_{ik}`,
squared distances :math:`d_{ik}=\|x_k-v_i\|^2`):

* ``"fcm"`` (Bezdek 1981): :math:`u_{ik}\propto d_{ik}^{-1/(m-1)}`,
  :math:`v_i=\sum_k u_{ik}^m x_k/\sum_k u_{ik}^m`;
* ``"s1"``/``"s2"`` (FCM_S1/S2, Chen & Zhang 2004; = SFCM of Cai et al. 2007 and R geocmeans with
  :math:`\bar x = WX`): :math:`u_{ik}\propto(d_{ik}+\alpha\bar d_{ik})^{-1/(m-1)}`,
  :math:`\bar d_{ik}=\|\bar x_k-v_i\|^2`, :math:`v_i=\sum u^m(x_k+\alpha\bar x_k)/((1+\alpha)\sum u^m)`;
* ``"chuang"`` (Chuang et al. 2006): after the FCM step :math:`h_{ik}=\sum_{l\in N(k)}u_{il}` and
  :math:`u'_{ik}=u_{ik}^p h_{ik}^q/\sum_j u_{jk}^p h_{jk}^q`; centres from :math:`u'`;
* ``"flicm"`` (Krinidis & Chatzis 2010): :math:`G_{ik}=\sum_{r\ne k}(1-u_{ir})^m d_{ir}/(\delta_{kr}+1)`,
  :math:`u_{ik}\propto(d_{ik}+G_{ik})^{-1/(m-1)}`, centres as FCM;
* ``beta`` > 0 (GFCM, Zhu et al. 2009): :math:`u_{ik}\propto(D_{ik}-\beta\min_j D_{jk})^{-1/(m-1)}`;
* a noise cluster (Davé 1991): an extra cluster at constant squared distance :math:`\delta^2`.

Missing values (NaN) are handled by the partial distance strategy (Hathaway & Bezdek 2001):
:math:`d_{ik} = (F/F_k)\sum_{j\,\mathrm{observed}}(x_{kj}-v_{ij})^2` and centres averaged over
observed entries only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

__all__ = [
    "FCMState",
    "Neighbourhood",
    "chuang_filter",
    "run_fcm",
    "sq_distances",
    "update_memberships",
]

_TINY = 1e-300


class Neighbourhood(Protocol):
    """What the engine needs from a spatial neighbourhood (pixel windows or a sparse graph)."""

    def lag(self, X: np.ndarray, how: str) -> np.ndarray: ...

    def smooth(self, U: np.ndarray) -> np.ndarray: ...

    def flicm(self, A: np.ndarray) -> np.ndarray: ...


@dataclass
class Data:
    """Data prepared once: values with NaN → 0, the observed mask and the PDS scale."""

    X0: np.ndarray  # (n, F) NaN replaced by 0
    M: np.ndarray | None  # (n, F) observed mask (float) or None when complete
    scale: np.ndarray | None  # (n, 1) F / F_k or None
    sq: np.ndarray | None = None  # (n, 1) squared row norms of X0

    @classmethod
    def from_array(cls, X: np.ndarray) -> Data:
        miss = np.isnan(X)
        if not miss.any():
            return cls(X, None, None, np.einsum("ij,ij->i", X, X)[:, None])
        M = (~miss).astype(X.dtype)
        X0 = np.where(miss, 0, X).astype(X.dtype)
        nobs = M.sum(axis=1, keepdims=True)
        sq = np.einsum("ij,ij->i", X0, X0)[:, None]
        return cls(X0, M, (X.shape[1] / np.maximum(nobs, 1)).astype(X.dtype), sq)


def sq_distances(data: Data, V: np.ndarray) -> np.ndarray:
    """Squared Euclidean distances, shape (c, n) (clusters first: fast reductions over clusters),
    partial-distance scaled where values are missing."""
    X0, M = data.X0, data.M
    sq = data.sq if data.sq is not None else np.einsum("ij,ij->i", X0, X0)[:, None]
    D = (-2.0 * V).astype(X0.dtype) @ X0.T
    D += sq.T
    if M is None:
        D += (V * V).sum(axis=1)[:, None]
    else:
        D += (V * V).astype(X0.dtype) @ M.T
        D *= data.scale.T
    np.maximum(D, 0.0, out=D)
    return D


def update_memberships(
    D: np.ndarray, m: float, beta: float = 0.0, noise: float | None = None
) -> tuple[np.ndarray, np.ndarray | None]:
    r"""Memberships from (generalised) squared distances: :math:`u_{ik}\propto D_{ik}^{-1/(m-1)}`.

    ``D`` has shape (c, n) (clusters first), as the returned memberships. A sample with a zero
    distance gets membership 1 in that cluster (shared equally between ties). Returns
    ``(U, u_noise)``; ``u_noise`` (n,) is ``None`` without a noise cluster.
    """
    if beta > 0:
        D = D - beta * D.min(axis=0, keepdims=True)
    if noise is not None:
        D = np.concatenate([D, np.full((1, D.shape[1]), noise * noise, dtype=D.dtype)], axis=0)
    e = -1.0 / (m - 1.0)
    dmin = D.min(axis=0, keepdims=True)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        # scale each row by its minimum for stability: (D/Dmin)^e ∈ (0, 1]
        W = D / np.maximum(dmin, _TINY)
        if e == -1.0:
            np.reciprocal(W, out=W)
        else:
            np.power(W, e, out=W)
    cols = dmin[0] <= 0
    if cols.any():  # samples on a centre: membership 1 there (shared between ties)
        W[:, cols] = (D[:, cols] <= 0).astype(D.dtype)
    W /= W.sum(axis=0, keepdims=True)
    if noise is not None:
        return W[:-1], W[-1]
    return W, None


def weighted_centres(
    data: Data, Um: np.ndarray, lagdata: Data | None = None, alpha: float = 0.0
) -> np.ndarray:
    r"""Centres :math:`v_i=\sum_k u^m_{ik}(x_k+\alpha\bar x_k)/\sum_k u^m_{ik}(1+\alpha)` (masked).

    ``Um`` has shape (c, n).
    """
    num = Um @ data.X0
    den = Um @ data.M if data.M is not None else Um.sum(axis=1)[:, None]
    if lagdata is not None and alpha != 0:
        num = num + alpha * (Um @ lagdata.X0)
        lag_den = Um @ lagdata.M if lagdata.M is not None else Um.sum(axis=1)[:, None]
        den = den + alpha * lag_den
    with np.errstate(invalid="ignore", divide="ignore"):
        V = num / den
    return np.where(np.isfinite(V), V, 0.0).astype(data.X0.dtype)


def kmeans_pp(data: Data, c: int, rng: np.random.Generator) -> np.ndarray:
    """k-means++ seeding (Arthur & Vassilvitskii 2007) on the (partial-distance) data."""
    n = data.X0.shape[0]
    idx = [int(rng.integers(n))]
    d2 = sq_distances(data, data.X0[idx])[0]
    for _ in range(1, c):
        total = d2.sum()
        if not total > 0:
            j = int(rng.integers(n))
        else:
            j = int(rng.choice(n, p=d2 / total))
        idx.append(j)
        d2 = np.minimum(d2, sq_distances(data, data.X0[[j]])[0])
    V = data.X0[idx].copy()
    if data.M is not None:  # fill missing coordinates of a seed with column means
        colmean = data.X0.sum(axis=0) / np.maximum(data.M.sum(axis=0), 1)
        V = np.where(data.M[idx] > 0, V, colmean)
    return V


@dataclass
class FCMState:
    """The outcome of one run of the loop."""

    centres: np.ndarray
    U: np.ndarray  # (n, c)
    u_noise: np.ndarray | None
    objective: float
    n_iter: int
    converged: bool


@dataclass
class Spec:
    """The model: fuzzifier, spatial method and its weights."""

    m: float = 2.0
    method: str = "fcm"
    alpha: float = 0.0
    p: float = 1.0
    q: float = 0.0
    beta: float = 0.0
    noise: float | None = None
    lag: str = "mean"


def _generalised(
    spec: Spec, data: Data, lagdata: Data | None, hood: Any, V: np.ndarray, U_prev: np.ndarray
) -> np.ndarray:
    D = sq_distances(data, V)
    if spec.method in ("s1", "s2") and spec.alpha != 0:
        D = D + spec.alpha * sq_distances(lagdata, V)
    elif spec.method == "flicm":
        A = (1.0 - U_prev) ** spec.m * D
        D = D + hood.flicm(A.T).T
    return D


def chuang_filter(spec: Spec, U: np.ndarray, hood: Any) -> np.ndarray:
    r"""Chuang et al. (2006) filter :math:`u'_{ik}\propto u_{ik}^p h_{ik}^q` of (c, n) memberships
    (identity unless ``spec.method == "chuang"`` and (p, q) ≠ (1, 0))."""
    if spec.method != "chuang":
        return U
    if spec.q != 0:
        H = hood.smooth(U.T).T
        W = U**spec.p * np.maximum(H, 0.0) ** spec.q
        tot = W.sum(axis=0, keepdims=True)
        keep = tot[0] > 0
        scale = U.sum(axis=0, keepdims=True)  # < 1 with a noise cluster
        return np.where(keep[None, :], W / np.where(tot > 0, tot, 1.0) * scale, U)
    if spec.p != 1:
        W = U**spec.p
        return W / W.sum(axis=0, keepdims=True) * U.sum(axis=0, keepdims=True)
    return U


def _um(U: np.ndarray, m: float) -> np.ndarray:
    return U * U if m == 2.0 else U**m


def objective(spec: Spec, D: np.ndarray, U: np.ndarray, u_noise: np.ndarray | None) -> float:
    """:math:`J=\\sum_i\\sum_k u_{ik}^m D_{ik}` (+ the noise-cluster term)."""
    J = float(np.sum(_um(U, spec.m) * D))
    if u_noise is not None:
        J += float(np.sum(u_noise**spec.m)) * spec.noise**2
    return J


def run_fcm(
    spec: Spec,
    data: Data,
    V0: np.ndarray | None = None,
    *,
    U0: np.ndarray | None = None,
    hood: Any = None,
    lagdata: Data | None = None,
    tol: float = 1e-5,
    max_iter: int = 300,
) -> FCMState:
    """Alternate centre and membership updates until ``max|U_t − U_{t−1}| < tol``.

    Start from centres ``V0`` or from memberships ``U0`` (then the first step is a centre update,
    as in scikit-fuzzy's ``cmeans``).
    """
    from threadpoolctl import threadpool_limits

    # tall-skinny products are memory-bound: BLAS threads only contend (10-25x slower under load)
    with threadpool_limits(limits=1, user_api="blas"):
        return _run(spec, data, V0, U0, hood, lagdata, tol, max_iter)


def _run(spec, data, V0, U0, hood, lagdata, tol, max_iter) -> FCMState:
    n = data.X0.shape[0]
    if U0 is not None:
        U = np.ascontiguousarray(np.asarray(U0, dtype=data.X0.dtype).T)
        u_noise = None
        V = weighted_centres(
            data, _um(U, spec.m), lagdata, spec.alpha if spec.method[0] == "s" else 0
        )
    else:
        V = V0
        U = np.full((V.shape[0], n), 1.0 / V.shape[0], dtype=data.X0.dtype)
        u_noise = None
    converged = False
    it = 0
    D = None
    for it in range(1, max_iter + 1):  # noqa: B007
        D = _generalised(spec, data, lagdata, hood, V, U)
        U_new, u_noise = update_memberships(D, spec.m, spec.beta, spec.noise)
        U_new = chuang_filter(spec, U_new, hood)
        diff = U_new - U
        np.abs(diff, out=diff)
        delta = float(diff.max())
        U = U_new
        lag_alpha = spec.alpha if spec.method in ("s1", "s2") else 0.0
        V = weighted_centres(data, _um(U, spec.m), lagdata, lag_alpha)
        if delta < tol:
            converged = True
            break
    D = _generalised(spec, data, lagdata, hood, V, U)
    J = objective(spec, D, U, u_noise)
    return FCMState(V, np.ascontiguousarray(U.T), u_noise, J, it, converged)
