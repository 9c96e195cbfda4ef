"""Gaussian Markov random fields: intrinsic priors, exact and Laplace posteriors, evidence.

Priors
    :class:`ChainPrior` (1-D chain, order 1 or 2, non-uniform spacing) and :class:`GridPrior` (2-D
    lattice, order 1 or 2), each with one or several channels (independent or coupled increments) and
    optional proper :class:`Anchor` s (a Gaussian prior on a node, or on the channel's average:
    a dense rank-one precision term handled by Woodbury / determinant-lemma updates).
Models
    :class:`LinearGMRF` for ``y = A x + e`` (exact posterior and evidence) and :class:`NonlinearGMRF` for
    ``y = f(x) + e`` (Levenberg–Marquardt MAP, Laplace posterior and Laplace evidence). Noise and
    smoothness precisions are chosen by maximising the evidence unless fixed.

All linear algebra is banded: the posterior precision of a chain has a bandwidth of
``order * n_channels + n_channels - 1`` (interleaved node-major ordering), a grid one of about
``order * min(ny, nx) * n_channels``, so cost is linear in the number of nodes for chains and
``O(n min(ny, nx)^2)`` for grids. Marginal variances come from two banded Cholesky factorisations
(forward and reversed ordering) without ever forming the inverse (block "twisted" factorisation).

The state vector ``x`` is laid out as an array of shape ``prior.shape + (n_channels,)``; operators,
Jacobians and observations refer to ``x.ravel()`` (C order: node-major, channel fastest).
"""

from __future__ import annotations

import contextlib
import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy.linalg as sla
import scipy.optimize as sopt
import scipy.sparse as sp
import xarray as xr
from scipy.linalg import lapack
from threadpoolctl import threadpool_limits

from petroinfer._rng import RandomState, as_generator
from petroinfer.errors import (
    ConvergenceWarning,
    DataQualityWarning,
    InputError,
    ModelError,
    PetroinferError,
)
from petroinfer.inference.results import Result, make_metadata

__all__ = [
    "Anchor",
    "ChainPrior",
    "GMRFResult",
    "GridPrior",
    "LinearGMRF",
    "NonlinearGMRF",
]

_Z95 = 1.6448536269514722  # standard-normal 95 % quantile (central 90 % interval)
_LOG2PI = math.log(2.0 * math.pi)


# ======================================================================================= banded algebra
def _lower_band(S: sp.spmatrix, n: int) -> np.ndarray:
    """Lower band storage ``ab[i - j, j] = S[i, j]`` (``i >= j``) of a symmetric sparse matrix."""
    S = sp.coo_matrix(sp.csr_matrix(S))  # sums duplicates
    keep = (S.row >= S.col) & (S.data != 0)
    r, c, v = S.row[keep], S.col[keep], S.data[keep]
    k = r - c
    b = int(k.max()) if k.size else 0
    ab = np.zeros((b + 1, n))
    ab[k, c] = v
    return ab


def _add_bands(a: np.ndarray, b: np.ndarray, wa: float = 1.0, wb: float = 1.0) -> np.ndarray:
    out = np.zeros((max(a.shape[0], b.shape[0]), a.shape[1]))
    out[: a.shape[0]] += wa * a
    out[: b.shape[0]] += wb * b
    return out


def _blas_guard(bandwidth: int):
    """Single-threaded BLAS for wide bands: LAPACK ``pbtrf`` issues many small BLAS-3 calls and
    multi-threaded OpenBLAS slows it down by orders of magnitude when cores are busy."""
    if bandwidth >= 8:
        return threadpool_limits(limits=1, user_api="blas")
    return contextlib.nullcontext()


def _cholesky(ab: np.ndarray, what: str) -> np.ndarray:
    """Banded Cholesky (lower); a failure means the matrix is not positive definite."""
    try:
        with _blas_guard(ab.shape[0] - 1):
            return sla.cholesky_banded(ab, lower=True, check_finite=False)
    except (np.linalg.LinAlgError, ValueError) as exc:
        raise ModelError(_not_pd_message(what)) from exc


def _not_pd_message(what: str) -> str:
    return (
        f"the {what} is not positive definite: the data (and anchors) do not constrain the "
        "null space of the intrinsic prior (a constant per channel for order 1, a constant and a "
        "linear trend for order 2), or a precision is far too small/large; add observations, an "
        "Anchor, or fix the hyperparameters"
    )


def _log_evidence(
    m: int, d: int, logdet_q: float, logdet_w: float, fac: _Factor, energy: float
) -> float:
    """``-(m-d)/2 log 2 pi + (log|Q|* + log|W| - log|P| - energy) / 2`` (see LinearGMRF Notes)."""
    return float(-(m - d) / 2 * _LOG2PI + 0.5 * (logdet_q + logdet_w - fac.logdet - energy))


def _logdet_chol(cb: np.ndarray) -> float:
    return 2.0 * float(np.sum(np.log(cb[0])))


def _cho_solve(cb: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    with _blas_guard(cb.shape[0] - 1):
        return sla.cho_solve_banded((cb, True), rhs, check_finite=False)


def _solve_lt(cb: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Solve ``L^T x = z`` for the banded lower factor ``L`` (LAPACK ``dtbtrs``)."""
    with _blas_guard(cb.shape[0] - 1):
        x, info = lapack.dtbtrs(cb, z, uplo="L", trans="T", diag="N")
    if info != 0:  # pragma: no cover - only on a singular factor
        raise ModelError("triangular solve failed while sampling the posterior")
    return x


def _diag_blocks(ab: np.ndarray, s: int, start: int, stop: int) -> np.ndarray:
    """Lower triangles of the diagonal ``s x s`` blocks ``start..stop-1`` of a band matrix."""
    b = ab.shape[0] - 1
    p, q = np.tril_indices(s)
    k = p - q
    ok = k <= b
    p, q, k = p[ok], q[ok], k[ok]
    blocks = np.zeros((stop - start, s, s))
    cols = (np.arange(start, stop)[:, None] * s) + q[None, :]
    blocks[:, p, q] = ab[k[None, :], cols]
    return blocks


def _marginal_blocks(ab: np.ndarray, cb: np.ndarray, s: int) -> np.ndarray:
    """Diagonal ``s x s`` blocks of ``P^{-1}`` for a banded SPD ``P`` without forming the inverse.

    Block twisted factorisation (Meurant 1992): partition ``P`` into blocks of size ``s >= bandwidth``
    so it is block tridiagonal. With ``D+_I = L_II L_II^T`` the forward Schur complements (diagonal
    blocks of the Cholesky factor) and ``D-_I`` the backward ones (the same from the reversed matrix),
    ``[P^{-1}]_II = (D+_I + D-_I - P_II)^{-1}``.
    """
    b, n = ab.shape[0] - 1, ab.shape[1]
    npad = -(-n // s) * s
    if npad > n:  # pad with decoupled unit nodes: the block structure is unchanged
        abp = np.zeros((b + 1, npad))
        abp[:, :n] = ab
        abp[0, n:] = 1.0
        cbp = np.zeros((b + 1, npad))
        cbp[:, :n] = cb
        cbp[0, n:] = 1.0
    else:
        abp, cbp = ab, cb
    rev = np.zeros_like(abp)
    for k in range(b + 1):
        rev[k, : npad - k] = abp[k, : npad - k][::-1]
    mb = _cholesky(rev, "posterior precision")
    nb = npad // s
    out = np.empty((nb, s, s))
    chunk = max(1, int(2e6 // (s * s)))
    with _blas_guard(s):
        for start in range(0, nb, chunk):
            stop = min(nb, start + chunk)
            lo = _diag_blocks(cbp, s, start, stop)
            dplus = lo @ np.swapaxes(lo, 1, 2)
            # reversed block nb-1-I corresponds to block I, reversed along both axes
            mlo = _diag_blocks(mb, s, nb - stop, nb - start)[::-1]
            dminus = (mlo @ np.swapaxes(mlo, 1, 2))[:, ::-1, ::-1]
            qlo = _diag_blocks(abp, s, start, stop)
            qii = qlo + np.swapaxes(qlo, 1, 2)
            qii[:, np.arange(s), np.arange(s)] *= 0.5
            prec = dplus + dminus - qii
            out[start:stop] = 1.0 / prec if s == 1 else np.linalg.inv(prec)
    return out


def _logdet_star(ab_sparse: sp.spmatrix, null_basis: np.ndarray) -> float:
    """log generalised determinant (product of non-zero eigenvalues) of a banded PSD matrix.

    With ``V`` a basis of the null space and ``F`` a set of ``d = rank deficiency`` indices with
    ``V_F`` non-singular: ``log|Q|* = log|Q_{-F,-F}| + log|V^T V| - 2 log|det V_F|`` (the generalised
    matrix-tree identity; checked numerically against the eigenvalues in the tests).
    """
    n = ab_sparse.shape[0]
    d = null_basis.shape[1]
    if d == 0:
        return _logdet_chol(_cholesky(_lower_band(ab_sparse, n), "prior precision"))
    F = _pick_rows(null_basis, d)
    keep = np.ones(n, bool)
    keep[F] = False
    keep = np.flatnonzero(keep)
    S = sp.csr_matrix(ab_sparse)[keep][:, keep]
    ld = _logdet_chol(
        _cholesky(_lower_band(S, keep.size), "prior precision without its null space")
    )
    ld += np.linalg.slogdet(null_basis.T @ null_basis)[1]
    ld -= 2.0 * np.linalg.slogdet(null_basis[F])[1]
    return float(ld)


def _pick_rows(V: np.ndarray, k: int, exclude: Sequence[int] = ()) -> np.ndarray:
    """Greedy choice of ``k`` rows of ``V`` (n x d) making ``V_F`` well conditioned (pivoted
    Gram-Schmidt on the rows, O(n d^2)); rows in ``exclude`` are not chosen."""
    W = np.array(V, dtype=float, copy=True)
    picked: list[int] = []
    ban = np.zeros(W.shape[0], bool)
    ban[list(exclude)] = True
    for _ in range(k):
        norms = np.einsum("ij,ij->i", W, W)
        norms[ban] = -1.0
        i = int(np.argmax(norms))
        picked.append(i)
        ban[i] = True
        u = W[i] / np.sqrt(norms[i])
        W -= np.outer(W @ u, u)
    return np.sort(np.asarray(picked, int))


class _Factor:
    r"""Factorisation of a posterior precision ``P = band + U diag(lam) U^T`` (banded plus low rank).

    The low-rank part comes from mean anchors (dense rows ``u`` = weights of a channel average). It
    is handled by the Woodbury identity and the matrix determinant lemma (Woodbury 1950, Princeton
    Stat. Res. Group Memo 42; Harville 1997, *Matrix Algebra from a Statistician's Perspective*,
    ch. 18) so that everything stays banded and O(N). The banded part alone may be singular (the
    mean anchor may be the only thing fixing the level), so a banded SPD ``B = band + G G^T`` is
    factorised, ``G`` pinning one node per remaining null direction of each anchored channel with
    the precision the band already has there, and ``P = B + Z D Z^T`` with ``Z = [U, G]``,
    ``D = diag(lam, -1)``:

    .. math::

        P^{-1} = B^{-1} - Y C^{-1} Y^T,\quad Y = B^{-1} Z,\quad C = D^{-1} + Z^T B^{-1} Z,\qquad
        |P| = |B|\,|D|\,|C|.

    ``P`` is positive definite iff ``C`` has exactly as many negative eigenvalues as ``G`` has
    columns (inertia additivity of the Schur complement, Haynsworth 1968, Linear Algebra Appl.
    1:73–81). Without a low-rank part this is the plain banded Cholesky factor of ``P``.
    """

    def __init__(self, ab: np.ndarray, low: tuple | None, what: str) -> None:
        self.what = what
        if low is None:
            self.B = ab
            self.cb = _cholesky(ab, what)
            self.Z = None
            self.logdet = _logdet_chol(self.cb)
            return
        U, lam, _, pins = low
        n = ab.shape[1]
        g2 = np.maximum(ab[0, pins], np.finfo(float).tiny)
        B = ab.copy()
        B[0, pins] += g2
        G = np.zeros((n, pins.size))
        G[pins, np.arange(pins.size)] = np.sqrt(g2)
        Z = np.column_stack([U, G])
        dz = np.concatenate([lam, -np.ones(pins.size)])
        self.B, self.cb, self.Z, self.dz = B, _cholesky(B, what), Z, dz
        self.Y = _cho_solve(self.cb, Z)
        Gram = Z.T @ self.Y
        self.gram = 0.5 * (Gram + Gram.T)
        C = np.diag(1.0 / dz) + self.gram
        ev, vecs = np.linalg.eigh(C)
        if np.sum(ev < 0) != pins.size or np.min(np.abs(ev)) <= 1e-13 * np.max(np.abs(ev)):
            raise ModelError(_not_pd_message(what))
        self.Cinv = (vecs / ev) @ vecs.T
        self.logdet = (
            _logdet_chol(self.cb) + float(np.sum(np.log(lam))) + float(np.sum(np.log(np.abs(ev))))
        )

    @property
    def bandwidth(self) -> int:
        return int(self.B.shape[0] - 1)

    def solve(self, rhs: np.ndarray, mean_values: np.ndarray | None = None) -> np.ndarray:
        """``P^{-1} (rhs + U diag(lam) mean_values)``. The mean-anchor part uses
        ``P^{-1} Z D = Y C^{-1}`` so that a huge ``lam`` (sd -> 0) does not cancel."""
        x = _cho_solve(self.cb, rhs)
        if self.Z is not None:
            x = x - self.Y @ (self.Cinv @ (self.Z.T @ x))
            if mean_values is not None:
                k = mean_values.size
                x = x + self.Y @ (self.Cinv[:, :k] @ mean_values)
        return x

    def marginal_blocks(self, s: int, full: bool = True) -> tuple[np.ndarray, float]:
        """Diagonal ``s x s`` blocks of ``P^{-1}`` and the worst loss-of-precision factor (with
        ``full=False`` only the diagonals of the blocks are exact: the low-rank correction is then
        applied to the marginal variances alone, which is cheaper)."""
        blocks = _marginal_blocks(self.B, self.cb, s)
        n = self.B.shape[1]
        var_b = np.diagonal(blocks, axis1=1, axis2=2).ravel()[:n]
        lost = float(np.max(self.B[0] * var_b))
        if self.Z is None:
            return blocks, lost
        nb = blocks.shape[0]
        if full:
            Yp = np.zeros((nb * s, self.Y.shape[1]))
            Yp[:n] = self.Y
            Yb = Yp.reshape(nb, s, -1)
            blocks = blocks - (Yb @ self.Cinv) @ np.swapaxes(Yb, 1, 2)
        else:
            corr = np.zeros(nb * s)
            corr[:n] = np.einsum("ij,ij->i", self.Y @ self.Cinv, self.Y)
            diag = blocks.reshape(nb, s * s)[:, :: s + 1]
            blocks.reshape(nb, s * s)[:, :: s + 1] = diag - corr.reshape(nb, s)
        var_p = np.diagonal(blocks, axis1=1, axis2=2).ravel()[:n]
        ratio = float(np.max(var_b / np.maximum(var_p, np.finfo(float).tiny)))
        return blocks, lost * max(ratio, 1.0)

    def draw(self, z: np.ndarray) -> np.ndarray:
        """``F z`` with ``F F^T = P^{-1}``: ``w = L_B^{-T} z`` (Rue & Held 2005, Alg. 2.4), then the
        symmetric low-rank correction ``x = w - Y M Z^T w`` with
        ``M = S^{-1} (I - (I + S D S)^{-1/2}) S^{-1}``, ``S = (Z^T B^{-1} Z)^{1/2}``, which solves
        ``M + M^T - M (Z^T B^{-1} Z) M^T = C^{-1}`` (derived here; exact, checked in the tests)."""
        w = _solve_lt(self.cb, z)
        if self.Z is None:
            return w
        eg, vg = np.linalg.eigh(self.gram)
        eg = np.maximum(eg, np.finfo(float).tiny)
        S = (vg * np.sqrt(eg)) @ vg.T
        Sinv = (vg / np.sqrt(eg)) @ vg.T
        E = S @ (self.dz[:, None] * S)
        ee, ve = np.linalg.eigh(0.5 * (E + E.T))
        T = (ve * (1.0 - 1.0 / np.sqrt(np.maximum(1.0 + ee, np.finfo(float).tiny)))) @ ve.T
        M = Sinv @ T @ Sinv
        return w - self.Y @ (M @ (self.Z.T @ w))


# ============================================================================================= priors
@dataclass(frozen=True)
class Anchor:
    r"""A proper Gaussian prior ``x[node, channel] ~ N(mean, sd^2)`` that pins the intrinsic prior.

    ``node`` is an int for a chain, a ``(row, col)`` tuple for a grid, or the string ``"mean"`` for a
    Gaussian prior on the **average** of the channel, :math:`ar x = \sum_i w_i x_i \sim
    N(	ext{mean}, 	ext{sd}^2)`; ``channel`` is a name or an index. The average is the spatial one:
    for a chain the trapezoidal weights :math:`w_i = (h_{i-1} + h_i) / (2 L)` (:math:`h_i` the
    spacings, :math:`h_{-1} = h_{n-1} = 0`, :math:`L` the chain length), i.e. the integral mean of
    the piecewise-linear path, which does not change when nodes are added; for a grid the pixel mean
    :math:`w_i = 1/N`.

    Up to ``order`` anchors per channel (grids: 1 or 3), on distinct nodes and at most one
    ``"mean"``, none redundant: one node or the mean fixes the level of an order-1 prior and makes it
    proper; an order-2 prior needs two (e.g. the mean and a node), otherwise the remaining linear
    trend stays intrinsic (flat), which the evidence handles through the generalised determinant.
    A node anchor adds :math:`\lambda = 1/	ext{sd}^2` to one diagonal entry of the precision; the
    mean anchor adds the dense rank-one term :math:`\lambda w w^T`, handled by the Woodbury identity
    and the matrix determinant lemma so that all the algebra stays banded and O(N).

    Examples
    --------
    Only increments are observed, so the data say nothing about the level; the mean anchor fixes
    the average of the path:

    >>> import numpy as np
    >>> s = np.array([0.0, 1.0, 3.0, 4.0])
    >>> prior = ChainPrior(s, anchors=[Anchor("mean", 800.0, 0.001)])
    >>> A = np.diff(np.eye(4), axis=0)  # rows x[i+1] - x[i]
    >>> model = LinearGMRF(prior, A, noise_precision=100.0, smoothness=1.0, n_samples=0)
    >>> x = model.fit([1.0, -2.0, 0.5]).estimate["mean"].values[:, 0]
    >>> w = np.array([0.5, 1.5, 1.5, 0.5]) / 4.0  # trapezoidal weights of the average
    >>> round(float(w @ x), 3)
    800.0
    """

    node: int | tuple[int, int] | str
    mean: float
    sd: float
    channel: str | int = 0


def _check_names(channels: Sequence[str] | str) -> tuple[str, ...]:
    if isinstance(channels, str):
        channels = (channels,)
    names = tuple(str(c) for c in channels)
    if not names:
        raise ModelError("channels must name at least one channel")
    if len(set(names)) != len(names):
        raise ModelError(f"channel names must be unique, got {names}")
    return names


def _check_correlation(correlation: Any, nc: int) -> np.ndarray | None:
    if correlation is None:
        return None
    if np.isscalar(correlation):
        if nc != 2:
            raise ModelError("a scalar correlation needs exactly two channels")
        correlation = [[1.0, float(correlation)], [float(correlation), 1.0]]
    C = np.asarray(correlation, dtype=float)
    if C.shape != (nc, nc) or not np.all(np.isfinite(C)):
        raise ModelError(f"correlation must be a finite {nc}x{nc} matrix, got shape {C.shape}")
    if not np.allclose(C, C.T) or not np.allclose(np.diag(C), 1.0):
        raise ModelError("correlation must be symmetric with a unit diagonal")
    if np.linalg.eigvalsh(C).min() <= 1e-12:
        raise ModelError("correlation matrix must be positive definite (|rho| < 1)")
    return C


class _Prior:
    """Shared machinery. Subclasses set ``shape``, ``order``, ``_R`` (structure matrix in internal
    node order), ``_N`` (null-space basis, internal order), ``_perm`` (internal -> user node index)."""

    shape: tuple[int, ...]
    order: int
    channels: tuple[str, ...]
    _R: sp.csr_matrix
    _N: np.ndarray
    _perm: np.ndarray | None

    def _setup_common(self, channels, correlation, anchors) -> None:
        self.channels = _check_names(channels)
        self.correlation = _check_correlation(correlation, len(self.channels))
        self.anchors = tuple(anchors or ())
        for a in self.anchors:
            if not isinstance(a, Anchor):
                raise ModelError(f"anchors must be Anchor objects, got {type(a).__name__}")

    # -- sizes
    @property
    def n_nodes(self) -> int:
        return int(np.prod(self.shape))

    @property
    def n_channels(self) -> int:
        return len(self.channels)

    @property
    def size(self) -> int:
        """Length of the state vector ``x.ravel()``."""
        return self.n_nodes * self.n_channels

    # -- orderings
    def _channel_index(self, ch: str | int) -> int:
        if isinstance(ch, (int, np.integer)) and not isinstance(ch, bool):
            if not 0 <= ch < self.n_channels:
                raise InputError(
                    f"anchor channel index out of range 0..{self.n_channels - 1}",
                    column="anchors",
                    value=int(ch),
                )
            return int(ch)
        if ch not in self.channels:
            raise InputError(
                f"unknown anchor channel; channels are {self.channels}",
                column="anchors",
                value=ch,
            )
        return self.channels.index(ch)

    def _user_cols(self) -> np.ndarray:
        """For each internal state index, the index in the user's ``x.ravel()``."""
        nc = self.n_channels
        perm = np.arange(self.n_nodes) if self._perm is None else self._perm
        return (perm[:, None] * nc + np.arange(nc)[None, :]).ravel()

    def _internal_node(self, node: Any) -> int:
        raise NotImplementedError

    # -- precision pieces (internal, interleaved order)
    def _basis_bands(self) -> dict[tuple[int, int], np.ndarray]:
        if not hasattr(self, "_bands"):
            nc, n = self.n_channels, self.size
            bands = {}
            if nc == 1:
                bands[(0, 0)] = _lower_band(self._R, n)
            for c in range(nc if nc > 1 else 0):
                for d in range(c, nc):
                    E = np.zeros((nc, nc))
                    E[c, d] = E[d, c] = 1.0
                    bands[(c, d)] = _lower_band(sp.kron(self._R, sp.csr_matrix(E)), n)
            self._bands = bands
        return self._bands

    def _K(self, kappa: np.ndarray) -> np.ndarray:
        s = np.sqrt(kappa)
        if self.correlation is None:
            return np.diag(kappa)
        return s[:, None] * np.linalg.inv(self.correlation) * s[None, :]

    def _checked_anchors(self) -> list[tuple[int, int | None, float, float]]:
        """Validated anchors as ``(channel index, internal node or None for the mean, lam, mean)``."""
        if not hasattr(self, "_checked"):
            out = []
            per_channel: dict[int, list[int | None]] = {}
            for k, a in enumerate(self.anchors):
                c = self._channel_index(a.channel)
                is_mean = isinstance(a.node, str)
                if is_mean and a.node != "mean":
                    raise InputError(
                        f"anchor node must be an int, a (row, col) tuple or 'mean', got {a.node!r}",
                        column="anchors",
                        row=k,
                        value=a.node,
                    )
                node = None if is_mean else self._internal_node(a.node)
                for name in ("mean", "sd"):
                    v = getattr(a, name)
                    try:
                        ok = bool(np.isfinite(float(v))) and (name == "mean" or float(v) > 0)
                    except (TypeError, ValueError):
                        ok = False
                    if not ok:
                        need = "a finite mean" if name == "mean" else "a positive finite sd"
                        raise InputError(
                            f"anchor on node {a.node!r} needs a finite mean and a positive sd, "
                            f"got {name}={v!r} ({need} expected)",
                            column="anchors",
                            row=k,
                            value=v,
                        )
                per_channel.setdefault(c, []).append(node)
                out.append((c, node, 1.0 / float(a.sd) ** 2, float(a.mean)))
            d = self._N.shape[1]
            for c, nodes in per_channel.items():
                fixed = [i for i in nodes if i is not None]
                n_mean = len(nodes) - len(fixed)
                if len(set(fixed)) != len(fixed) or n_mean > 1 or len(nodes) > d:
                    shown = ["mean" if i is None else i for i in nodes]
                    raise ModelError(
                        f"channel {self.channels[c]!r}: at most {d} anchors on distinct nodes (at "
                        f"most one on the mean) are allowed for an order-{self.order} prior, got "
                        f"{shown}"
                    )
                rows = self._N[fixed]
                if n_mean:
                    rows = np.vstack([rows, self._mean_weights() @ self._N])
                if np.linalg.matrix_rank(rows) < len(nodes):
                    raise ModelError(f"channel {self.channels[c]!r}: anchors are collinear")
            self._checked = out
        return self._checked

    def _anchor_arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Internal state indices, precisions and means of the node anchors (validated)."""
        if not hasattr(self, "_anch"):
            nc = self.n_channels
            node = [(c, i, lam, mu) for c, i, lam, mu in self._checked_anchors() if i is not None]
            self._anch = (
                np.asarray([i * nc + c for c, i, _, _ in node], int),
                np.asarray([lam for *_, lam, _ in node], float),
                np.asarray([mu for *_, mu in node], float),
            )
        return self._anch

    def _mean_weights(self) -> np.ndarray:
        """Weights ``w`` (internal node order, summing to 1) of the channel average."""
        raise NotImplementedError

    def _mean_terms(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
        """Mean anchors as ``(U, lam, mu, pins)``: columns of ``U`` (internal order) are the weights
        of the anchored channel averages, the prior adds ``U diag(lam) U^T`` to the precision and
        ``U diag(lam) mu`` to the linear term; ``pins`` are internal indices (one per remaining null
        direction of each anchored channel) used to make the banded part definite (``_Factor``).
        ``None`` without mean anchors."""
        if not hasattr(self, "_mterms"):
            mean = [(c, lam, mu) for c, i, lam, mu in self._checked_anchors() if i is None]
            if not mean:
                self._mterms = None
                return None
            nc = self.n_channels
            w = self._mean_weights()
            U = np.zeros((self.size, len(mean)))
            pins = []
            V = self._null_basis()
            for j, (c, _, _) in enumerate(mean):
                U[c::nc, j] = w
                Vc = V[c::nc][:, np.any(V[c::nc] != 0, axis=0)]
                pins += [int(p) * nc + c for p in _pick_rows(Vc, Vc.shape[1])]
            self._mterms = (
                U,
                np.asarray([lam for _, lam, _ in mean]),
                np.asarray([mu for *_, mu in mean]),
                np.asarray(pins, int),
            )
        return self._mterms

    def _mean_logdet(self) -> tuple[float, int]:
        """Change of ``log|Q|*`` and of the rank deficiency caused by the mean anchors.

        With ``V`` a basis of the null space of the node-anchored precision ``Q0``,
        ``M = diag(lam)^{1/2} U^T V`` and ``W = V K`` (``K`` an orthonormal basis of ``null(M)``) the
        null space of ``Q = Q0 + U diag(lam) U^T``, the identity
        ``|Q0 + Z Z^T| = |Q0|* det(Z^T V)^2 / det(V^T V)`` (square ``Z^T V``) with
        ``Z = [U diag(lam)^{1/2}, W]`` and ``|Q|* = |Q + W W^T| / det(W^T W)`` give
        ``log|Q|* - log|Q0|* = log det(Z^T V)^2 - log det(V^T V) - log det(W^T W)`` — closed form,
        no solve with the (ill-conditioned) prior."""
        terms = self._mean_terms()
        if terms is None:
            return 0.0, 0
        if not hasattr(self, "_mld"):
            U, lam, _, _ = terms
            V = self._null_basis()
            M = np.sqrt(lam)[:, None] * (U.T @ V)
            K = sla.null_space(M) if M.shape[0] < M.shape[1] else np.zeros((V.shape[1], 0))
            VtV = V.T @ V
            ZtV = np.vstack([M, K.T @ VtV])
            ld = 2.0 * np.linalg.slogdet(ZtV)[1] - np.linalg.slogdet(VtV)[1]
            if K.shape[1]:
                ld -= np.linalg.slogdet(K.T @ VtV @ K)[1]
            self._mld = (float(ld), int(lam.size))
        return self._mld

    def _null_basis(self) -> np.ndarray:
        """Basis (internal order) of the null space of the anchored prior precision."""
        nc, n = self.n_channels, self.n_nodes
        idx, _, _ = self._anchor_arrays()
        cols = []
        for c in range(nc):
            nodes = [i // nc for i in idx if i % nc == c]
            Nc = self._N
            if nodes:
                ns = sla.null_space(self._N[nodes])
                Nc = self._N @ ns
            for j in range(Nc.shape[1]):
                v = np.zeros(n * nc)
                v[c::nc] = Nc[:, j]
                cols.append(v)
        return np.column_stack(cols) if cols else np.zeros((n * nc, 0))

    def _logdet_R(self) -> float:
        if not hasattr(self, "_ldR"):
            self._ldR = _logdet_star(self._R, self._N)
        return self._ldR

    def _precision(self, kappa: np.ndarray) -> tuple[np.ndarray, float, int]:
        """Lower band of the prior precision with node anchors (the dense mean-anchor term
        ``U diag(lam) U^T`` of :meth:`_mean_terms` is kept apart), and the log generalised
        determinant and rank deficiency of the whole prior precision (mean anchors included)."""
        ab, ld, d = self._node_precision(kappa)
        dld, k = self._mean_logdet()
        return ab, ld + dld, d - k

    def _node_precision(self, kappa: np.ndarray) -> tuple[np.ndarray, float, int]:
        """Lower band of the prior precision with node anchors, its log generalised determinant and
        its rank deficiency."""
        K = self._K(kappa)
        bands = self._basis_bands()
        width = max(v.shape[0] for v in bands.values())
        ab = np.zeros((width, self.size))
        for (c, d), band in bands.items():
            ab[: band.shape[0]] += K[c, d] * band
        idx, lam, _ = self._anchor_arrays()
        n, d, nc = self.n_nodes, self._N.shape[1], self.n_channels
        if idx.size == 0:
            ld = nc * self._logdet_R() + (n - d) * np.linalg.slogdet(K)[1]
            return ab, float(ld), d * nc
        ab[0, idx] += lam
        if self.correlation is not None or nc == 0:
            V = self._null_basis()
            return ab, _logdet_star(_band_to_sparse(ab), V), V.shape[1]
        # independent channels: closed form per channel from |R|* (no ill-conditioned factorisation)
        N = self._N
        ld_nn = np.linalg.slogdet(N.T @ N)[1]
        ld, dprime = 0.0, 0
        for c in range(nc):
            sel = [k for k, i in enumerate(idx) if i % nc == c]
            S = [int(idx[k] // nc) for k in sel]
            ld += (n - d) * math.log(kappa[c]) + self._logdet_R()
            if not S:
                dprime += d
                continue
            Vc = N @ sla.null_space(N[S]) if len(S) < d else np.zeros((n, 0))
            Fp = _pick_rows(Vc, Vc.shape[1], exclude=S) if Vc.shape[1] else np.zeros(0, int)
            G = np.sort(np.concatenate([np.asarray(S, int), Fp]))
            # |Q_c|* = prod(lam_S) kappa^(n-d) |R_{-G}| |V'^T V'| / |V'_F'|^2,
            # |R_{-G}| = |R|* |N_G|^2 / |N^T N|   (generalised matrix-tree identity)
            ld += float(np.sum(np.log(lam[sel]))) + 2.0 * np.linalg.slogdet(N[G])[1] - ld_nn
            if Vc.shape[1]:
                ld += np.linalg.slogdet(Vc.T @ Vc)[1] - 2.0 * np.linalg.slogdet(Vc[Fp])[1]
            dprime += Vc.shape[1]
        return ab, float(ld), dprime

    def _prior_energy(self, x: np.ndarray, kappa: np.ndarray) -> float:
        """``x^T (R (x) K) x + sum lam (x_a - m_a)^2`` (internal order), evaluated from the
        increments ``B x`` (``R = B^T diag(w) B``) so that large offsets do not cancel."""
        nc = self.n_channels
        Z = self._B @ x.reshape(-1, nc)
        e = float(np.sum(self._wb[:, None] * (Z @ self._K(kappa)) * Z))
        idx, lam, mu = self._anchor_arrays()
        if idx.size:
            e += float(np.sum(lam * (x[idx] - mu) ** 2))
        terms = self._mean_terms()
        if terms is not None:
            U, lam_m, mu_m, _ = terms
            e += float(np.sum(lam_m * (U.T @ x - mu_m) ** 2))
        return e

    def _prior_gradient(self, x: np.ndarray, kappa: np.ndarray) -> np.ndarray:
        """Gradient of half the prior energy: ``Q_R x + Lambda (x - m)``."""
        nc = self.n_channels
        Z = self._B @ x.reshape(-1, nc)
        g = (self._B.T @ (self._wb[:, None] * (Z @ self._K(kappa)))).ravel()
        idx, lam, mu = self._anchor_arrays()
        if idx.size:
            g[idx] += lam * (x[idx] - mu)
        terms = self._mean_terms()
        if terms is not None:
            U, lam_m, mu_m, _ = terms
            g += U @ (lam_m * (U.T @ x - mu_m))
        return g

    def _anchor_rhs(self) -> np.ndarray:
        """Linear term ``Lambda m`` of the node anchors (internal order); the mean anchors' part
        ``U diag(lam) mu`` is applied by :meth:`_Factor.solve`."""
        b = np.zeros(self.size)
        idx, lam, mu = self._anchor_arrays()
        b[idx] += lam * mu
        return b

    def _anchor_start(self) -> np.ndarray:
        """A starting state: per channel the null-space function through the anchors (else 0)."""
        nc = self.n_channels
        x = np.zeros(self.size)
        for c in range(nc):
            anch = [(i, mu) for ch, i, _, mu in self._checked_anchors() if ch == c]
            if not anch:
                continue
            rows = [self._mean_weights() @ self._N if i is None else self._N[i] for i, _ in anch]
            coef = np.linalg.lstsq(np.vstack(rows), [mu for _, mu in anch], rcond=None)[0]
            x[c::nc] = self._N @ coef
        return x


def _band_to_sparse(ab: np.ndarray) -> sp.csr_matrix:
    n = ab.shape[1]
    diags = [ab[0]]
    offs = [0]
    for k in range(1, ab.shape[0]):
        diags += [ab[k, : n - k], ab[k, : n - k]]
        offs += [-k, k]
    return sp.diags(diags, offs, shape=(n, n), format="csr")


def _band_matvec(ab: np.ndarray, x: np.ndarray) -> np.ndarray:
    n = ab.shape[1]
    y = ab[0] * x
    for k in range(1, ab.shape[0]):
        y[k:] += ab[k, : n - k] * x[: n - k]
        y[: n - k] += ab[k, : n - k] * x[k:]
    return y


def _first_difference(n: int) -> sp.csr_matrix:
    return sp.diags([-np.ones(n - 1), np.ones(n - 1)], [0, 1], shape=(n - 1, n), format="csr")


class ChainPrior(_Prior):
    r"""Intrinsic GMRF (random walk) prior of order 1 or 2 along a 1-D chain of nodes.

    Parameters
    ----------
    positions:
        Strictly increasing node positions (e.g. radius in a garnet, in any length unit), shape ``(n,)``.
        Defaults to ``0, 1, ..., n_nodes - 1``.
    n_nodes:
        Number of nodes when ``positions`` is not given.
    order:
        1 (first-order random walk: penalises slopes) or 2 (second order: penalises curvature).
    channels:
        Channel names, e.g. ``("T", "P")``. Each channel has its own smoothness precision.
    correlation:
        Correlation matrix of the increments of the channels (scalar for two channels); ``None``
        (default) means independent channels.
    anchors:
        Optional :class:`Anchor` s (proper Gaussian priors on nodes or, with ``node="mean"``, on the
        length-weighted average of a channel).

    Notes
    -----
    With spacings :math:`h_i = s_{i+1} - s_i` and channel precision :math:`\kappa`:

    *Order 1* (Rue & Held 2005, §3.3.1): increments are independent,
    :math:`x_{i+1} - x_i \sim N(0, h_i/\kappa)`, i.e. the discretised Wiener process. Structure matrix
    :math:`R = D^T \mathrm{diag}(1/h) D` with the first-difference matrix :math:`D`; null space: constants.

    *Order 2, non-uniform* (Lindgren & Rue 2008, Scand. J. Stat. 35:691–700; Rue & Held 2005, §3.4):
    Galerkin discretisation of the integrated Wiener process :math:`x'' = \kappa^{-1/2} W'` with
    piecewise-linear elements. For interior nodes the rows of :math:`H` are
    :math:`(1/h_{i-1},\ -(1/h_{i-1}+1/h_i),\ 1/h_i)` and the lumped mass is
    :math:`c_i = (h_{i-1}+h_i)/2`, giving :math:`R = H^T \mathrm{diag}(1/c) H`; null space: constants
    and linear functions of position. For unit spacing this is the familiar second-difference RW2
    :math:`R = D_2^T D_2`; for spacing :math:`h` the precision scales as :math:`h^{-3}`, as for the
    integrated Wiener process.

    Several channels use the node-major interleaved ordering and precision
    :math:`Q = R \otimes K`, :math:`K = \mathrm{diag}(\sqrt\kappa)\,\mathrm{Corr}^{-1}
    \mathrm{diag}(\sqrt\kappa)` (independent channels: :math:`K = \mathrm{diag}(\kappa)`).

    Examples
    --------
    >>> import numpy as np
    >>> prior = ChainPrior(np.array([0.0, 0.5, 2.0, 2.5]), order=2, channels=("T", "P"))
    >>> prior.size
    8
    """

    def __init__(
        self,
        positions: Sequence[float] | np.ndarray | None = None,
        *,
        n_nodes: int | None = None,
        order: int = 1,
        channels: Sequence[str] | str = ("x",),
        correlation: float | np.ndarray | None = None,
        anchors: Sequence[Anchor] | None = None,
    ) -> None:
        if order not in (1, 2):
            raise ModelError(f"order must be 1 or 2, got {order!r}")
        if positions is None:
            if n_nodes is None or int(n_nodes) != n_nodes:
                raise ModelError("give either positions or an integer n_nodes")
            positions = np.arange(int(n_nodes), dtype=float)
        s = np.asarray(positions, dtype=float)
        if s.ndim != 1:
            raise InputError(f"positions must be one-dimensional, got shape {s.shape}")
        if s.size < order + 1:
            raise InputError(
                f"an order-{order} chain needs at least {order + 1} nodes, got {s.size}",
                column="positions",
            )
        bad = np.flatnonzero(~np.isfinite(s))
        if bad.size:
            raise InputError(
                "positions must be finite",
                column="positions",
                row=int(bad[0]),
                value=float(s[bad[0]]),
            )
        h = np.diff(s)
        bad = np.flatnonzero(h <= 0)
        if bad.size:
            i = int(bad[0]) + 1
            raise InputError(
                "positions must be strictly increasing",
                column="positions",
                row=i,
                value=float(s[i]),
            )
        self.positions = s
        self.order = order
        self.shape = (s.size,)
        self._perm = None
        self._setup_common(channels, correlation, anchors)
        n = s.size
        if order == 1:
            self._B, self._wb = _first_difference(n), 1.0 / h
            self._N = np.ones((n, 1))
        else:
            inv_l, inv_r = 1.0 / h[:-1], 1.0 / h[1:]
            H = sp.diags(
                [inv_l, -(inv_l + inv_r), inv_r], [0, 1, 2], shape=(n - 2, n), format="csr"
            )
            self._B, self._wb = H, 1.0 / (0.5 * (h[:-1] + h[1:]))
            t = (s - s.mean()) / (s.max() - s.min())
            self._N = np.column_stack([np.ones(n), t])
        self._R = sp.csr_matrix(self._B.T @ sp.diags(self._wb) @ self._B)
        self._anchor_arrays()  # validate anchors now

    def _logdet_R(self) -> float:
        """Closed form of log|R|*: fixing the first ``order`` nodes makes the difference operator
        square triangular, so |R_{-F}| = prod(w) prod(diag)^2, then the generalised matrix-tree
        identity |R|* = |R_{-F}| |N^T N| / |N_F|^2."""
        h = np.diff(self.positions)
        ld = float(np.sum(np.log(self._wb)))
        if self.order == 1:
            return ld + math.log(self.n_nodes)  # D_{:,1:} has a unit diagonal; N = 1
        ld += -2.0 * float(np.sum(np.log(h[1:])))  # diagonal 1/h_i of H_{:,2:}
        N = self._N
        scale = self.positions.max() - self.positions.min()
        det_nf = h[0] / scale  # det [[1, t0], [1, t1]] = t1 - t0, computed without cancellation
        return ld + float(np.linalg.slogdet(N.T @ N)[1]) - 2.0 * math.log(det_nf)

    @property
    def length(self) -> float:
        return float(self.positions[-1] - self.positions[0])

    def _mean_weights(self) -> np.ndarray:
        """Trapezoidal weights: the integral mean of the piecewise-linear path over the chain."""
        h = np.diff(self.positions)
        w = np.zeros(self.n_nodes)
        w[:-1] += 0.5 * h
        w[1:] += 0.5 * h
        return w / w.sum()

    def _internal_node(self, node: Any) -> int:
        if not isinstance(node, (int, np.integer)) or not 0 <= node < self.n_nodes:
            raise ModelError(f"anchor node must be an int in 0..{self.n_nodes - 1}, got {node!r}")
        return int(node)

    def interpolation_matrix(self, at: Sequence[float] | np.ndarray) -> sp.csr_matrix:
        """Sparse ``(len(at), n_nodes)`` matrix of linear-interpolation weights at positions ``at``.

        ``W @ x[:, c]`` gives channel ``c`` interpolated at ``at`` (which must lie within the chain).
        """
        a = np.asarray(at, dtype=float).ravel()
        s = self.positions
        bad = np.flatnonzero(~np.isfinite(a) | (a < s[0]) | (a > s[-1]))
        if bad.size:
            raise InputError(
                f"interpolation positions must be finite and within [{s[0]}, {s[-1]}]",
                row=int(bad[0]),
                value=float(a[bad[0]]),
            )
        j = np.clip(np.searchsorted(s, a, side="right") - 1, 0, s.size - 2)
        w = (a - s[j]) / (s[j + 1] - s[j])
        rows = np.repeat(np.arange(a.size), 2)
        cols = np.column_stack([j, j + 1]).ravel()
        vals = np.column_stack([1.0 - w, w]).ravel()
        return sp.csr_matrix((vals, (rows, cols)), shape=(a.size, s.size))

    def _coords(self) -> dict[str, Any]:
        return {"node": np.arange(self.n_nodes), "position": ("node", self.positions)}

    def _dims(self) -> tuple[str, ...]:
        return ("node",)

    def _scale_length(self) -> float:
        return self.length ** (2 * self.order - 1)


class GridPrior(_Prior):
    r"""Intrinsic GMRF prior on a regular 2-D grid (pixels of an image), order 1 or 2.

    Parameters
    ----------
    shape:
        ``(ny, nx)`` grid shape (unit pixel spacing).
    order:
        1: first-order lattice IGMRF, :math:`\kappa \sum_{\text{nbrs}} (x_i - x_j)^2` over the 4
        nearest neighbours (Rue & Held 2005, §3.3.2). 2: discrete thin-plate energy
        :math:`\kappa \sum (\Delta^2_{xx}x)^2 + (\Delta^2_{yy}x)^2 + 2 (\Delta_x\Delta_y x)^2`
        (Rue & Held 2005, §3.4.2), null space spanned by 1, x, y.
    channels, correlation, anchors:
        As for :class:`ChainPrior` (anchor nodes are ``(row, col)``).

    Notes
    -----
    Sparse Cholesky without CHOLMOD: nodes are ordered along the shorter grid side, which makes the
    precision banded with bandwidth ``order * min(ny, nx) * n_channels`` (plus ``n_channels - 1``), and
    LAPACK banded Cholesky costs :math:`O(n\,\min(n_y,n_x)^2)` — adequate for images of a few hundred
    pixels on the short side.
    """

    def __init__(
        self,
        shape: tuple[int, int],
        *,
        order: int = 1,
        channels: Sequence[str] | str = ("x",),
        correlation: float | np.ndarray | None = None,
        anchors: Sequence[Anchor] | None = None,
    ) -> None:
        if order not in (1, 2):
            raise ModelError(f"order must be 1 or 2, got {order!r}")
        try:
            ny, nx = (int(v) for v in shape)
        except (TypeError, ValueError) as exc:
            raise InputError(f"shape must be (ny, nx), got {shape!r}") from exc
        if min(ny, nx) < order + 1:
            raise InputError(
                f"an order-{order} grid needs at least {order + 1} pixels per side, "
                f"got shape {(ny, nx)}"
            )
        self.shape = (ny, nx)
        self.order = order
        self._setup_common(channels, correlation, anchors)
        # internal layout (a, b) with b the shorter side varying fastest
        transpose = nx > ny
        na, nb = (nx, ny) if transpose else (ny, nx)
        ia, ib = np.meshgrid(np.arange(na), np.arange(nb), indexing="ij")
        user = (ib * nx + ia) if transpose else (ia * nx + ib)
        self._perm = None if not transpose else user.ravel()
        Ia, Ib = sp.identity(na, format="csr"), sp.identity(nb, format="csr")
        D1a, D1b = _first_difference(na), _first_difference(nb)
        if order == 1:
            Ga, Gb = sp.kron(D1a, Ib), sp.kron(Ia, D1b)
            self._B = sp.vstack([Ga, Gb], format="csr")
            self._wb = np.ones(self._B.shape[0])
        else:
            D2a, D2b = D1a[1:, 1:] @ D1a, D1b[1:, 1:] @ D1b
            Ga, Gb, Gm = sp.kron(D2a, Ib), sp.kron(Ia, D2b), sp.kron(D1a, D1b)
            self._B = sp.vstack([Ga, Gb, Gm], format="csr")
            self._wb = np.concatenate(
                [np.ones(Ga.shape[0] + Gb.shape[0]), np.full(Gm.shape[0], 2.0)]
            )
        self._R = sp.csr_matrix(self._B.T @ sp.diags(self._wb) @ self._B)
        n = na * nb
        if order == 1:
            self._N = np.ones((n, 1))
        else:
            ta = (ia.ravel() - (na - 1) / 2) / max(na - 1, 1)
            tb = (ib.ravel() - (nb - 1) / 2) / max(nb - 1, 1)
            self._N = np.column_stack([np.ones(n), ta, tb])
        self._anchor_arrays()

    def _mean_weights(self) -> np.ndarray:
        """Pixel mean (unit spacing): equal weights."""
        return np.full(self.n_nodes, 1.0 / self.n_nodes)

    def _internal_node(self, node: Any) -> int:
        ny, nx = self.shape
        try:
            r, c = (int(v) for v in node)
        except (TypeError, ValueError) as exc:
            raise ModelError(f"grid anchor node must be (row, col), got {node!r}") from exc
        if not (0 <= r < ny and 0 <= c < nx):
            raise ModelError(f"grid anchor node {node!r} outside shape {self.shape}")
        flat = r * nx + c
        if self._perm is None:
            return flat
        return int(np.flatnonzero(self._perm == flat)[0])

    def _coords(self) -> dict[str, Any]:
        return {"y": np.arange(self.shape[0]), "x": np.arange(self.shape[1])}

    def _dims(self) -> tuple[str, ...]:
        return ("y", "x")

    def _scale_length(self) -> float:
        return float(max(self.shape)) ** 2 if self.order > 1 else 1.0


# ============================================================================================ results
@dataclass(frozen=True)
class GMRFResult(Result):
    """:class:`~petroinfer.inference.results.Result` of a GMRF fit.

    ``estimate`` holds ``mean`` (posterior mean, or MAP = Laplace mean for nonlinear models), ``sd``,
    ``q05`` and ``q95`` (5 % / 95 % marginal quantiles) with dims ``prior dims + ("channel",)``, and
    ``fitted`` (model prediction at the estimate) and ``residual`` with dim ``obs``. ``criterion``
    holds the log evidence along profile curves of every estimated hyperparameter (others at their
    optimum) and the optimiser trace.
    """

    def summary(self, hdi_prob: float = 0.9) -> pd.DataFrame:
        """One row per node and channel: ``mean``, ``sd``, ``q05``, ``q95`` (analytic marginals; the
        interval is the central 90 % one whatever ``hdi_prob``)."""
        del hdi_prob
        table = self.estimate[["mean", "sd", "q05", "q95"]].to_dataframe()
        return table.drop(
            columns=[c for c in table.columns if c not in ("mean", "sd", "q05", "q95")]
        )

    def plot(self, ax=None):
        """Mean with the 90 % band along the chain, per channel (one axis per channel for several)."""
        import matplotlib.pyplot as plt

        est = self.estimate
        if "node" not in est.dims:
            if ax is None:
                _, ax = plt.subplots(figsize=(4.5, 4))
            est["mean"].isel(channel=0).plot(ax=ax)
            return ax
        chans = list(est["channel"].values)
        if ax is None:
            _, axes = plt.subplots(len(chans), 1, figsize=(5.5, 2.6 * len(chans)), squeeze=False)
            axes = axes[:, 0]
        else:
            axes = np.atleast_1d(ax)
        pos = est["position"].values
        for a, ch in zip(axes, chans, strict=False):
            e = est.sel(channel=ch)
            a.fill_between(pos, e["q05"], e["q95"], alpha=0.3, label="90 % interval")
            a.plot(pos, e["mean"], lw=1.5, label="posterior mean")
            a.set_ylabel(str(ch))
            a.legend(loc="best", fontsize="small")
        axes[-1].set_xlabel("position")
        return axes[0] if len(axes) == 1 else axes


# ============================================================================================= models
def _validate_y(y: Any) -> np.ndarray:
    try:
        arr = np.asarray(y, dtype=float)
    except (TypeError, ValueError) as exc:
        raise InputError("observations y must be numeric") from exc
    if arr.ndim != 1 or arr.size == 0:
        raise InputError(f"observations y must be a non-empty 1-D array, got shape {arr.shape}")
    bad = np.flatnonzero(~np.isfinite(arr))
    if bad.size:
        raise InputError(
            "observations must be finite", column="y", row=int(bad[0]), value=float(arr[bad[0]])
        )
    return arr


def _positive(value: Any, name: str) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError) as exc:
        raise ModelError(f"{name} must be a positive number or None, got {value!r}") from exc
    if not (np.isfinite(v) and v > 0):
        raise ModelError(f"{name} must be a positive finite number or None, got {value!r}")
    return v


def _smoothness_spec(smoothness: Any, channels: tuple[str, ...]) -> list[float | None]:
    nc = len(channels)
    if smoothness is None:
        return [None] * nc
    if isinstance(smoothness, Mapping):
        unknown = set(smoothness) - set(channels)
        if unknown:
            raise ModelError(
                f"smoothness names unknown channels {sorted(unknown)}; channels are {channels}"
            )
        vals = [smoothness.get(c) for c in channels]
    elif np.ndim(smoothness) == 0:
        vals = [smoothness] * nc
    else:
        vals = list(smoothness)
        if len(vals) != nc:
            raise ModelError(f"smoothness needs {nc} values (one per channel), got {len(vals)}")
    return [
        None if v is None else _positive(v, f"smoothness[{c!r}]")
        for v, c in zip(vals, channels, strict=True)
    ]


def _noise_weights(noise_scale: Any, m: int) -> np.ndarray:
    if noise_scale is None:
        return np.ones(m)
    s = np.asarray(noise_scale, dtype=float)
    if s.ndim == 0:
        s = np.full(m, float(s))
    if s.shape != (m,):
        raise InputError(
            f"noise_scale must have one value per observation ({m}), got shape {s.shape}",
            column="noise_scale",
        )
    bad = np.flatnonzero(~np.isfinite(s) | (s <= 0))
    if bad.size:
        raise InputError(
            "noise_scale must be positive and finite",
            column="noise_scale",
            row=int(bad[0]),
            value=float(s[bad[0]]),
        )
    return 1.0 / s**2


class _GMRFModel:
    """Common evidence optimisation and result assembly."""

    prior: _Prior

    def _init_common(
        self, prior, noise_precision, smoothness, noise_scale, n_samples, random_state
    ) -> None:
        if not isinstance(prior, _Prior):
            raise ModelError(f"prior must be a ChainPrior or GridPrior, got {type(prior).__name__}")
        self.prior = prior
        self.noise_precision = noise_precision
        self.smoothness = smoothness
        self.noise_scale = noise_scale
        self.n_samples = n_samples
        self.random_state = random_state

    # -- hyperparameter handling
    def _hp_spec(self) -> tuple[float | None, list[float | None]]:
        tau = (
            None
            if self.noise_precision is None
            else _positive(self.noise_precision, "noise_precision")
        )
        return tau, _smoothness_spec(self.smoothness, self.prior.channels)

    def _hp_names(self) -> list[str]:
        return ["noise_precision"] + [f"smoothness_{c}" for c in self.prior.channels]

    def _optimise(
        self, evaluate: Callable[[np.ndarray], float], start: np.ndarray, free: np.ndarray
    ) -> tuple[np.ndarray, float, xr.Dataset, int]:
        """Maximise ``evaluate(log hyperparameters)`` over the free coordinates (Nelder–Mead in log
        space after a coarse scan), then profile each free coordinate; returns the optimum, its value,
        the criterion dataset and the number of evaluations."""
        trace_x: list[np.ndarray] = []
        trace_f: list[float] = []

        center = start[free].copy()
        bound = 14.0 * np.log(10.0)  # search within +-14 decades of the heuristic start

        def f(theta_free: np.ndarray) -> float:
            if np.any(np.abs(theta_free - center) > bound):
                return 1e300
            th = start.copy()
            th[free] = theta_free
            try:
                val = evaluate(th)
            except ModelError:
                val = -np.inf
            trace_x.append(th.copy())
            trace_f.append(val)
            return -val if np.isfinite(val) else 1e300

        x0 = start[free].copy()
        # coarse scans: all free precisions together, then each alone (robust starting point);
        # nonlinear models may evaluate these approximately (few LM iterations)
        self._scanning = True
        for j in [None, *range(free.sum())]:
            best = (f(x0), 0.0)
            for step in np.log(10.0) * np.delete(np.arange(-10.0, 11.0), 10):
                trial = x0.copy()
                if j is None:
                    trial += step
                else:
                    trial[j] += step
                val = f(trial)
                if val < best[0]:
                    best = (val, step)
            if j is None:
                x0 = x0 + best[1]
            else:
                x0[j] += best[1]
        self._scanning = False
        theta = x0
        for _ in range(4):
            simplex = np.vstack(
                [theta] + [theta + 1.5 * np.eye(theta.size)[k] for k in range(theta.size)]
            )
            res = sopt.minimize(
                f,
                theta,
                method="Nelder-Mead",
                options={
                    "initial_simplex": simplex,
                    "xatol": 1e-2,
                    "fatol": 1e-4,
                    "maxiter": 400 * theta.size,
                },
            )
            theta = res.x
            # profiles around the optimum; restart if any point beats it
            profiles = {}
            best_val, best_theta = res.fun, theta
            grid = np.log(10.0) * np.linspace(-2.0, 2.0, 21)
            for k in range(theta.size):
                vals = []
                for g in grid:
                    t = theta.copy()
                    t[k] += g
                    v = f(t)
                    vals.append(-v if v < 1e299 else np.nan)
                    if v < best_val - 1e-3:  # a meaningful improvement (nats): restart
                        best_val, best_theta = v, t
                profiles[k] = (theta[k] + grid, np.asarray(vals))
            if best_theta is theta:
                break
            theta = best_theta
        full = start.copy()
        full[free] = theta
        logz = evaluate(full)
        if not np.isfinite(logz):
            raise ModelError(
                "the evidence could not be evaluated for any hyperparameter value tried (the MAP "
                "did not converge or the posterior was not positive definite); fix the "
                "hyperparameters, give a better x0, or add observations/anchors"
            )
        free_names = [n for n, fr in zip(self._hp_names(), free, strict=True) if fr]
        self._at_bound = [
            f"{nm} ({'upper' if t > c else 'lower'})"
            for nm, t, c in zip(free_names, theta, center, strict=True)
            if abs(t - c) > bound - 0.5
        ]
        if self._at_bound:
            warnings.warn(
                f"evidence still increasing at the search bound for {self._at_bound}: the data are "
                "consistent with the limit (smoothness upper: a constant/linear path; noise "
                "precision upper: noise-free data); the value at the bound is used",
                ConvergenceWarning,
                stacklevel=4,
            )
        names = self._hp_names()
        free_names = [nm for nm, fr in zip(names, free, strict=True) if fr]
        data = {}
        for k, nm in enumerate(free_names):
            xs, vals = profiles[k]
            data[f"profile_{nm}"] = xr.DataArray(
                vals,
                dims=(f"{nm}_grid",),
                coords={f"{nm}_grid": np.exp(xs)},
                attrs={"long_name": "log evidence"},
            )
        tx, tf = np.exp(np.asarray(trace_x)), np.asarray(trace_f)
        data["trace_log_evidence"] = xr.DataArray(tf, dims=("evaluation",))
        for k, nm in enumerate(names):
            data[f"trace_{nm}"] = xr.DataArray(tx[:, k], dims=("evaluation",))
        crit = xr.Dataset(
            data,
            attrs={
                "criterion": "log evidence (nats)",
                "method": "coarse scan + Nelder-Mead in log space",
            },
        )
        return full, logz, crit, len(trace_f)

    def _start(self, scale_y: float, col_gain: np.ndarray) -> np.ndarray:
        """Heuristic starting log-precisions: noise 10 % of the data spread; prior spread over the
        whole chain comparable with the data spread (mapped through the operator gains)."""
        tau0 = 100.0 / max(scale_y, 1e-300) ** 2
        nc = self.prior.n_channels
        kap = np.empty(nc)
        for c in range(nc):
            g = col_gain[c] if col_gain[c] > 0 else 1.0
            var_x = (scale_y / g) ** 2
            kap[c] = self.prior._scale_length() / max(var_x, 1e-300)
        return np.log(np.concatenate([[tau0], kap]))

    # -- result assembly
    def _assemble(
        self,
        x: np.ndarray,
        fac: _Factor,
        fitted: np.ndarray,
        y: np.ndarray,
        theta: np.ndarray,
        logz: float,
        crit: xr.Dataset | None,
        n_evaluations: int,
        chosen_by: str,
        method: str,
        **extra_diagnostics: Any,
    ) -> GMRFResult:
        prior = self.prior
        nc, N = prior.n_channels, prior.size
        diagnostics = {
            "bandwidth": fac.bandwidth,
            "n_evaluations": n_evaluations,
            "n_obs": int(y.size),
            **extra_diagnostics,
            "at_search_bound": self._at_bound,
        }
        b = fac.bandwidth
        s = nc * max(1, -(-b // nc))
        blocks, lost = fac.marginal_blocks(s, full=nc > 1)
        var_int = np.diagonal(blocks, axis1=1, axis2=2).ravel()[:N]
        diagnostics["variance_condition"] = lost
        if lost > 1e10:
            warnings.warn(
                f"marginal variances may have lost up to {math.log10(lost):.0f} digits (the posterior "
                "is barely constrained along some direction); consider an Anchor",
                DataQualityWarning,
                stacklevel=3,
            )
        ucols = prior._user_cols()
        mean_u = np.empty(N)
        var_u = np.empty(N)
        mean_u[ucols] = x
        var_u[ucols] = np.maximum(var_int, 0.0)
        shape = (*prior.shape, nc)
        mean = mean_u.reshape(shape)
        sd = np.sqrt(var_u).reshape(shape)
        dims = (*prior._dims(), "channel")
        coords = {**prior._coords(), "channel": list(prior.channels)}
        est = xr.Dataset(
            {
                "mean": (dims, mean),
                "sd": (dims, sd),
                "q05": (dims, mean - _Z95 * sd),
                "q95": (dims, mean + _Z95 * sd),
                "fitted": (("obs",), fitted),
                "residual": (("obs",), y - fitted),
            },
            coords=coords,
        )
        if nc > 1 and s % nc == 0:
            nodes_per_block = s // nc
            nb = blocks.shape[0]
            cov = blocks.reshape(nb, nodes_per_block, nc, nodes_per_block, nc)
            idx = np.arange(nodes_per_block)
            cov = cov[:, idx, :, idx, :]  # (nodes_per_block, nb, nc, nc)
            cov = np.swapaxes(cov, 0, 1).reshape(-1, nc, nc)[: prior.n_nodes]
            cov_u = np.empty_like(cov)
            perm = np.arange(prior.n_nodes) if prior._perm is None else prior._perm
            cov_u[perm] = cov
            est["covariance"] = (
                (*prior._dims(), "channel", "channel_"),
                cov_u.reshape((*prior.shape, nc, nc)),
            )
            est = est.assign_coords(channel_=list(prior.channels))
        # samples
        n_samples = self.n_samples
        if n_samples is None:
            n_samples = int(min(500, max(0, 2e7 // N)))
        posterior = None
        if n_samples > 0:
            rng = as_generator(self.random_state)
            z = rng.standard_normal((N, n_samples))
            draws = x[:, None] + fac.draw(z)
            du = np.empty_like(draws)
            du[ucols] = draws
            du = du.T.reshape((1, n_samples, *shape))
            posterior = xr.Dataset(
                {"state": (("chain", "draw", *dims), du)},
                coords={**coords, "chain": [0], "draw": np.arange(n_samples)},
            )
        tau = float(np.exp(theta[0]))
        kap = np.exp(theta[1:])
        hyper = {
            "noise_precision": tau,
            "smoothness": {c: float(k) for c, k in zip(prior.channels, kap, strict=True)},
            "order": prior.order,
            "channels": list(prior.channels),
            "correlation": None if prior.correlation is None else prior.correlation.tolist(),
            "chosen_by": chosen_by,
        }
        meta = make_metadata(
            random_state=self.random_state,
            method=method,
            inputs=(y,),
            parameters={
                "order": prior.order,
                "n_nodes": prior.n_nodes,
                "channels": list(prior.channels),
                "n_samples": n_samples,
            },
        )
        return GMRFResult(
            estimate=est,
            posterior=posterior,
            log_evidence=float(logz),
            diagnostics=diagnostics,
            hyperparameters=hyper,
            criterion=crit,
            metadata=meta,
        )

    def _resolve(
        self, evaluate, start: Callable[[], np.ndarray]
    ) -> tuple[np.ndarray, float, xr.Dataset | None, int, str]:
        tau, kap = self._hp_spec()
        fixed = [tau, *kap]
        free = np.array([v is None for v in fixed])
        theta0 = start() if free.any() else np.zeros(len(fixed))
        for k, v in enumerate(fixed):
            if v is not None:
                theta0[k] = math.log(v)
        self._at_bound = []
        if not free.any():
            return theta0, None, None, 0, "fixed"  # the caller evaluates once at theta0
        theta, logz, crit, nev = self._optimise(evaluate, theta0, free)
        return theta, logz, crit, nev, "evidence"


def _as_operator(A: Any, m_rows: int | None, ncols: int, name: str) -> sp.csr_matrix:
    if sp.issparse(A):
        M = sp.csr_matrix(A, dtype=float)
    else:
        try:
            arr = np.asarray(A, dtype=float)
        except (TypeError, ValueError) as exc:
            raise InputError(f"{name} must be a numeric array or a scipy.sparse matrix") from exc
        if arr.ndim == 3:
            arr = arr.reshape(arr.shape[0], -1)
        if arr.ndim != 2:
            raise InputError(f"{name} must be 2-D (n_obs, state size), got shape {arr.shape}")
        M = sp.csr_matrix(arr)
    if M.shape[1] != ncols or (m_rows is not None and M.shape[0] != m_rows):
        want = f"({m_rows if m_rows is not None else 'n_obs'}, {ncols})"
        raise InputError(
            f"{name} has shape {M.shape}, expected {want} (observations x "
            "prior.size, columns in x.ravel() order)"
        )
    if not np.all(np.isfinite(M.data)):
        bad = np.flatnonzero(~np.isfinite(M.data))[0]
        row = int(np.searchsorted(M.indptr, bad, side="right") - 1)
        raise InputError(f"{name} contains non-finite entries", row=row, value=float(M.data[bad]))
    return M


def _column_gains(A: sp.csr_matrix, nc: int) -> np.ndarray:
    """Typical |row sum| of the operator per channel (for starting values)."""
    absA = abs(A)
    gains = np.zeros(nc)
    for c in range(nc):
        rs = np.asarray(absA[:, c::nc].sum(axis=1)).ravel()
        rs = rs[rs > 0]
        gains[c] = float(np.median(rs)) if rs.size else 0.0
    return gains


class LinearGMRF(_GMRFModel):
    r"""Linear-Gaussian inverse problem ``y = A x + e`` with a GMRF prior on ``x``.

    Parameters
    ----------
    prior:
        A :class:`ChainPrior` or :class:`GridPrior`.
    operator:
        ``A``, dense or ``scipy.sparse``, shape ``(n_obs, prior.size)``; columns follow ``x.ravel()``
        with ``x`` of shape ``prior.shape + (n_channels,)``.
    noise_precision:
        :math:`\tau` (1 / noise variance), or ``None`` (default) to choose it by maximum evidence.
    smoothness:
        Prior precision :math:`\kappa_c` per channel (float, sequence, or ``{channel: value}``; a
        ``None`` entry is estimated); ``None`` (default) estimates all.
    noise_scale:
        Optional relative noise s.d. per observation :math:`s_i`; the noise variance is
        :math:`s_i^2/\tau`. Pass known s.d.s and ``noise_precision=1`` for fully known noise.
    n_samples:
        Posterior draws to return (``None``: up to 500, fewer for very large fields).
    random_state:
        Seed or Generator for the draws.

    Notes
    -----
    With :math:`W = \tau\,\mathrm{diag}(1/s_i^2)`, prior precision :math:`Q` (with anchors
    :math:`\Lambda`, means :math:`m`) of rank deficiency :math:`d`, posterior precision
    :math:`P = Q + A^T W A` and mean :math:`\mu = P^{-1}(A^T W y + \Lambda m)`:

    .. math::

        \log p(y) = -\tfrac{m-d}{2}\log 2\pi + \tfrac12 \log|Q|^* + \tfrac12\log|W| - \tfrac12\log|P|
                    - \tfrac12\big[(y-A\mu)^T W (y-A\mu) + \mu^T Q_R \mu
                    + \textstyle\sum_a \lambda_a(\mu_a-m_a)^2\big],

    where :math:`|Q|^*` is the generalised determinant (Rue & Held 2005, eq. 3.18 and §3.3): the
    intrinsic prior is taken as flat along its null space, which is the limit of a vague proper prior
    up to a constant that does not depend on the hyperparameters. With a proper prior (:math:`d=0`)
    this is exactly :math:`\log N(y; A\mu_0, A Q^{-1} A^T + W^{-1})`. Hyperparameters maximise this
    evidence (MacKay 1992, Neural Comput. 4:415–447, "Bayesian interpolation"). Marginal variances use
    the block twisted factorisation (Meurant 1992, SIAM J. Matrix Anal. Appl. 13:707–728), the block
    analogue of the Takahashi selected inversion (Takahashi et al. 1973; Rue & Held 2005, §2.3.1).
    Draws: :math:`x = \mu + L^{-T} z` with :math:`P = L L^T` (Rue & Held 2005, Algorithm 2.4).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> s = np.linspace(0.0, 1.0, 200)
    >>> truth = np.sin(2 * np.pi * s)
    >>> y = truth + 0.1 * rng.standard_normal(200)
    >>> res = LinearGMRF(ChainPrior(s, order=2), np.eye(200), random_state=0).fit(y)
    >>> sd_noise = 1 / res.hyperparameters["noise_precision"] ** 0.5  # noise s.d. recovered
    >>> bool(0.08 < sd_noise < 0.12)
    True
    >>> float(np.abs(res.estimate["mean"].sel(channel="x") - truth).max()) < 0.1
    True
    """

    def __init__(
        self,
        prior: ChainPrior | GridPrior,
        operator: Any,
        *,
        noise_precision: float | None = None,
        smoothness: float | Sequence[float | None] | Mapping[str, float | None] | None = None,
        noise_scale: Any = None,
        n_samples: int | None = None,
        random_state: RandomState = None,
    ) -> None:
        self._init_common(prior, noise_precision, smoothness, noise_scale, n_samples, random_state)
        self.operator = operator

    def _setup(self, y: np.ndarray):
        prior = self.prior
        A = _as_operator(self.operator, y.size, prior.size, "operator")
        A_int = A[:, prior._user_cols()]
        w0 = _noise_weights(self.noise_scale, y.size)
        AtWA = _lower_band(A_int.T @ sp.diags(w0) @ A_int, prior.size)
        AtWy = A_int.T @ (w0 * y)
        return A_int, w0, AtWA, AtWy

    def _evaluate(self, theta, y, A_int, w0, AtWA, AtWy, full: bool = False):
        prior = self.prior
        tau, kappa = math.exp(theta[0]), np.exp(theta[1:])
        Qab, ldQ, d = prior._precision(kappa)
        fac = _Factor(_add_bands(Qab, AtWA, 1.0, tau), prior._mean_terms(), "posterior precision")
        terms = prior._mean_terms()
        x = fac.solve(tau * AtWy + prior._anchor_rhs(), None if terms is None else terms[2])
        r = y - A_int @ x
        energy = tau * float(np.sum(w0 * r * r)) + prior._prior_energy(x, kappa)
        logz = _log_evidence(y.size, d, ldQ, y.size * theta[0] + np.sum(np.log(w0)), fac, energy)
        if full:
            return logz, x, fac, A_int @ x
        return logz

    def log_evidence(self, y: Any, noise_precision: float, smoothness: Any) -> float:
        """Exact log evidence at given hyperparameters (see the class Notes)."""
        y = _validate_y(y)
        kap = _smoothness_spec(smoothness, self.prior.channels)
        if any(k is None for k in kap):
            raise ModelError("log_evidence needs every smoothness value")
        theta = np.log([_positive(noise_precision, "noise_precision"), *kap])
        return float(self._evaluate(theta, y, *self._setup(y)))

    def fit(self, y: Any) -> GMRFResult:
        """Posterior (mean, marginal s.d., 90 % intervals, draws) and evidence for data ``y``."""
        y = _validate_y(y)
        prep = self._setup(y)
        theta, _, crit, nev, how = self._resolve(
            lambda th: self._evaluate(th, y, *prep),
            lambda: self._start(
                float(np.std(y)) or 1.0, _column_gains(prep[0], self.prior.n_channels)
            ),
        )
        logz, x, fac, fitted = self._evaluate(theta, y, *prep, full=True)
        return self._assemble(x, fac, fitted, y, theta, logz, crit, nev, how, "LinearGMRF")


class NonlinearGMRF(_GMRFModel):
    r"""Nonlinear inverse problem ``y = f(x) + e`` with a GMRF prior: MAP + Laplace posterior.

    Parameters
    ----------
    prior:
        A :class:`ChainPrior` or :class:`GridPrior`.
    forward:
        ``f(x) -> (n_obs,)`` predictions, with ``x`` an array of shape ``prior.shape + (n_channels,)``
        (e.g. ``(n_nodes, 2)`` for channels ``("T", "P")``). Called once per iteration on the whole
        state (vectorise inside).
    jacobian:
        ``J(x) -> (n_obs, prior.size)`` (dense, ``scipy.sparse``, or dense of shape
        ``(n_obs,) + prior.shape + (n_channels,)``): derivatives of ``f`` with respect to
        ``x.ravel()``. Sparse rows (each datum touches few nodes) keep the problem banded.
    noise_precision, smoothness, noise_scale, n_samples, random_state:
        As for :class:`LinearGMRF` (``None`` = chosen by maximum Laplace evidence).
    x0:
        Starting state, shape ``prior.shape + (n_channels,)``; default: the null-space function
        through the anchors, or zeros.
    max_iter, tol:
        Levenberg–Marquardt iteration limit and relative tolerance on the objective.

    Notes
    -----
    The MAP minimises :math:`\Phi(x) = \tfrac12 (y-f(x))^T W (y-f(x)) + \tfrac12 x^T Q_R x +
    \tfrac12\sum_a\lambda_a(x_a-m_a)^2` by Levenberg–Marquardt (Marquardt 1963, J. SIAM 11:431–441):
    Gauss–Newton steps :math:`(P + \lambda\,\mathrm{diag} P)\,\delta = -\nabla\Phi` with the banded
    :math:`P = Q + J^T W J`, re-linearised at every iterate. The Laplace approximation (Tierney &
    Kadane 1986, JASA 81:82–86; MacKay 1992) uses :math:`N(\hat x, \hat P^{-1})` and

    .. math::

        \log p(y) \approx -\tfrac{m-d}{2}\log 2\pi + \tfrac12\log|Q|^* + \tfrac12\log|W|
            - \tfrac12\log|\hat P| - \Phi(\hat x),

    which equals the exact evidence of :class:`LinearGMRF` when ``f`` is linear. Hyperparameters
    maximise it, re-solving the MAP (warm-started) at each trial value.

    Examples
    --------
    Two channels (T, P) along a garnet radius; each datum is a nonlinear function of (T, P)
    interpolated at its radius:

    >>> import numpy as np
    >>> r = np.linspace(0.0, 1.0, 30)                    # node radii
    >>> prior = ChainPrior(r, order=2, channels=("T", "P"))
    >>> at = np.linspace(0.02, 0.98, 40)                 # datum radii
    >>> W = prior.interpolation_matrix(at)               # (40, 30) interpolation weights
    >>> def forward(x):                                  # x: (30, 2) = (T, P) per node
    ...     T, P = W @ x[:, 0], W @ x[:, 1]
    ...     return np.concatenate([np.log(T), P / T])      # 80 predictions
    >>> def jacobian(x):
    ...     import scipy.sparse as sp
    ...     T, P = W @ x[:, 0], W @ x[:, 1]
    ...     zero = sp.csr_matrix(W.shape)
    ...     dlogT = sp.hstack([sp.diags(1 / T) @ W, zero])            # d/dT, d/dP
    ...     dratio = sp.hstack([sp.diags(-P / T**2) @ W, sp.diags(1 / T) @ W])
    ...     J = sp.vstack([dlogT, dratio]).tocsc()
    ...     # reorder columns from (T-block, P-block) to x.ravel() order (node-major)
    ...     order = np.arange(60).reshape(2, 30).T.ravel()
    ...     return J[:, order]
    >>> truth = np.column_stack([800 + 150 * np.sin(2 * r), 5 + 3 * r**2])
    >>> rng = np.random.default_rng(1)
    >>> y = forward(truth) + 0.002 * rng.standard_normal(80)
    >>> x0 = np.column_stack([np.full(30, 850.0), np.full(30, 6.0)])
    >>> model = NonlinearGMRF(prior, forward, jacobian, x0=x0, noise_precision=1 / 0.002**2,
    ...                       random_state=0)
    >>> res = model.fit(y)
    >>> T_hat = res.estimate["mean"].sel(channel="T")
    >>> bool(np.abs(T_hat - truth[:, 0]).max() < 15)
    True
    """

    def __init__(
        self,
        prior: ChainPrior | GridPrior,
        forward: Callable[[np.ndarray], np.ndarray],
        jacobian: Callable[[np.ndarray], Any],
        *,
        noise_precision: float | None = None,
        smoothness: float | Sequence[float | None] | Mapping[str, float | None] | None = None,
        noise_scale: Any = None,
        x0: Any = None,
        max_iter: int = 100,
        tol: float = 1e-10,
        n_samples: int | None = None,
        random_state: RandomState = None,
    ) -> None:
        self._init_common(prior, noise_precision, smoothness, noise_scale, n_samples, random_state)
        if not callable(forward) or not callable(jacobian):
            raise ModelError("forward and jacobian must be callables f(x) and J(x)")
        self.forward = forward
        self.jacobian = jacobian
        self.x0 = x0
        self.max_iter = max_iter
        self.tol = tol

    # -- user-function wrappers (user layout <-> internal flat order)
    def _call(self, fn: Callable[[np.ndarray], Any], name: str, x_int: np.ndarray) -> Any:
        """``fn`` at the internal state ``x_int`` given in the user's layout; its own errors are
        reported as :class:`ModelError` naming ``name``."""
        prior = self.prior
        xu = np.empty(prior.size)
        xu[prior._user_cols()] = x_int
        try:
            return fn(xu.reshape((*prior.shape, prior.n_channels)))
        except PetroinferError:
            raise
        except Exception as exc:
            raise ModelError(f"{name} failed: {exc}") from exc

    def _f(self, x_int: np.ndarray, m: int) -> np.ndarray:
        out = self._call(lambda v: np.asarray(self.forward(v), float), "forward(x)", x_int)
        if out.shape != (m,):
            raise ModelError(f"forward(x) returned shape {out.shape}, expected ({m},)")
        return out

    def _J(self, x_int: np.ndarray, m: int) -> sp.csr_matrix:
        J = self._call(self.jacobian, "jacobian(x)", x_int)
        try:
            J = _as_operator(J, m, self.prior.size, "jacobian(x)")
        except InputError as exc:
            raise ModelError(str(exc)) from exc
        return J[:, self.prior._user_cols()]

    def _map(
        self,
        x: np.ndarray,
        theta: np.ndarray,
        y: np.ndarray,
        w0: np.ndarray,
        max_iter: int | None = None,
    ):
        """Levenberg–Marquardt MAP at fixed hyperparameters; returns x, factor, f, log Z, info."""
        prior = self.prior
        m = y.size
        tau, kappa = math.exp(theta[0]), np.exp(theta[1:])
        Qab, ldQ, d = prior._precision(kappa)
        low = prior._mean_terms()
        w = tau * w0

        def objective(xv, fv):
            r = y - fv
            return 0.5 * float(np.sum(w * r * r)) + 0.5 * prior._prior_energy(xv, kappa)

        fx = self._f(x, m)
        if not np.all(np.isfinite(fx)):
            raise ModelError("forward(x) returned non-finite values at the starting state")
        phi = objective(x, fx)
        lam = 1e-3
        converged = False
        it = 0
        for it in range(1, (max_iter or self.max_iter) + 1):  # noqa: B007
            J = self._J(x, m)
            H = _add_bands(Qab, _lower_band(J.T @ sp.diags(w) @ J, prior.size))
            grad = -(J.T @ (w * (y - fx))) + prior._prior_gradient(x, kappa)
            # Gauss-Newton predicted decrease: stop when it is negligible
            step_gn = -_Factor(H, low, "Gauss-Newton Hessian").solve(grad)
            if -0.5 * float(grad @ step_gn) <= self.tol * (1.0 + abs(phi)):
                converged = True  # polish with the undamped step (exact for a linear forward)
                f_gn = self._f(x + step_gn, m)
                if np.all(np.isfinite(f_gn)):
                    phi_gn = objective(x + step_gn, f_gn)
                    if phi_gn <= phi + 1e-12 * abs(phi):
                        x, fx, phi = x + step_gn, f_gn, phi_gn
                break
            accepted = False
            for _ in range(40):
                Hd = H.copy()
                Hd[0] *= 1.0 + lam
                step = -_Factor(Hd, low, "damped Hessian").solve(grad)
                x_new = x + step
                f_new = self._f(x_new, m)
                phi_new = objective(x_new, f_new) if np.all(np.isfinite(f_new)) else np.inf
                if phi_new <= phi:
                    accepted = True
                    lam = max(lam / 10.0, 1e-12)
                    break
                lam *= 10.0
            if not accepted:  # no decrease possible: at the optimum up to rounding?
                converged = -0.5 * float(grad @ step_gn) <= 1e-6 * (1.0 + abs(phi))
                break
            x, fx, phi = x_new, f_new, phi_new
        J = self._J(x, m)
        P = _add_bands(Qab, _lower_band(J.T @ sp.diags(w) @ J, prior.size))
        fac = _Factor(P, low, "Laplace posterior precision")
        logz = _log_evidence(m, d, ldQ, float(np.sum(np.log(w))), fac, 2.0 * phi)
        info = {"iterations": it, "converged": converged, "objective": phi}
        return x, fac, fx, logz, info

    def fit(self, y: Any, x0: Any = None) -> GMRFResult:
        """MAP, Laplace marginals/draws and Laplace evidence for data ``y``."""
        prior = self.prior
        y = _validate_y(y)
        w0 = _noise_weights(self.noise_scale, y.size)
        x0 = self.x0 if x0 is None else x0
        if x0 is None:
            x = prior._anchor_start()
        else:
            xa = np.asarray(x0, dtype=float)
            if xa.size != prior.size:
                raise InputError(
                    f"x0 must have shape {(*prior.shape, prior.n_channels)}, got {xa.shape}",
                    column="x0",
                )
            bad = np.flatnonzero(~np.isfinite(xa.ravel()))
            if bad.size:
                raise InputError("x0 must be finite", column="x0", row=int(bad[0]))
            x = xa.ravel()[prior._user_cols()]
        state = {"x": x, "best": -np.inf}

        def start():
            fx0 = self._f(x, y.size)
            spread = float(np.std(y - fx0)) or float(np.std(y)) or 1.0
            return self._start(spread, _column_gains(self._J(x, y.size), prior.n_channels))

        def evaluate(theta):
            # warm start from the MAP of the best hyperparameters so far
            scanning = getattr(self, "_scanning", False)
            max_iter = 15 if scanning else self.max_iter
            xs, *_, logz, info = self._map(state["x"].copy(), theta, y, w0, max_iter)
            if info["converged"] and logz > state["best"]:
                state["x"], state["best"] = xs, logz
            if not (info["converged"] or scanning):
                return -np.inf  # unreliable (ill-conditioned) region: not a candidate optimum
            return logz

        theta, _, crit, nev, how = self._resolve(evaluate, start)
        x, fac, fx, logz, info = self._map(state["x"].copy(), theta, y, w0)
        if not info["converged"]:
            warnings.warn(
                f"Levenberg–Marquardt did not converge in {self.max_iter} iterations",
                ConvergenceWarning,
                stacklevel=2,
            )
        return self._assemble(
            x,
            fac,
            fx,
            y,
            theta,
            logz,
            crit,
            nev,
            how,
            "NonlinearGMRF",
            map_iterations=info["iterations"],
            map_converged=info["converged"],
            laplace=True,
        )
