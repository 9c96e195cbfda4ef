"""Banded linear algebra of the GMRF core: band storage, Cholesky, selected inversion, factors.

Private module behind :mod:`petroinfer.inference.gmrf`.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Sequence

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp
from scipy.linalg import lapack
from threadpoolctl import threadpool_limits

from petroinfer.errors import ModelError

_LOG2PI = math.log(2.0 * math.pi)


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


def _tall(Y: np.ndarray, M: np.ndarray) -> np.ndarray:
    """``Y @ M`` for a tall thin ``Y`` (``n x r``, small ``r``) as a sum of column products: no
    BLAS call, whose threading makes these skinny products 100x slower on busy cores."""
    M2 = M.reshape(M.shape[0], -1)
    out = np.zeros((Y.shape[0], M2.shape[1]))
    for k in range(Y.shape[1]):
        out += Y[:, k : k + 1] * M2[k]
    return out.reshape((Y.shape[0], *M.shape[1:]))


def _tall_t(Z: np.ndarray, X: np.ndarray) -> np.ndarray:
    """``Z.T @ X`` for tall thin ``Z`` (column by column, no BLAS; see :func:`_tall`)."""
    X2 = X.reshape(X.shape[0], -1)
    out = np.empty((Z.shape[1], X2.shape[1]))
    for k in range(Z.shape[1]):
        out[k] = np.sum(Z[:, k : k + 1] * X2, axis=0)
    return out.reshape((Z.shape[1], *X.shape[1:]))


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
        Gram = _tall_t(Z, self.Y)
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
            x = x - _tall(self.Y, self.Cinv @ _tall_t(self.Z, x))
            if mean_values is not None:
                k = mean_values.size
                x = x + _tall(self.Y, self.Cinv[:, :k] @ mean_values)
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
            corr[:n] = np.einsum("ij,ij->i", _tall(self.Y, self.Cinv), self.Y)
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
        return w - _tall(self.Y, M @ _tall_t(self.Z, w))


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
