"""Batched block-tridiagonal systems, solved as one banded LAPACK system.

A batch of ``B`` independent block-tridiagonal systems (``N`` cells, ``m`` components per cell) is laid
out cell-major / component-minor and the members are concatenated, which gives one banded matrix of
order ``B·N·m`` with ``2m - 1`` sub- and super-diagonals (the members do not couple). One call of
:func:`scipy.linalg.solve_banded` (LAPACK ``gbsv``) then solves the whole batch in O(B·N·m³).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.linalg import solve_banded

__all__ = ["BlockTridiagonal"]


@dataclass(frozen=True)
class BlockTridiagonal:
    """``lower[b, i] x[b, i-1] + diag[b, i] x[b, i] + upper[b, i] x[b, i+1]``.

    Shapes are ``(B, N, m, m)``; ``lower[:, 0]`` and ``upper[:, -1]`` are ignored (treated as 0).
    """

    lower: np.ndarray
    diag: np.ndarray
    upper: np.ndarray

    @property
    def shape(self) -> tuple[int, int, int]:
        """``(B, N, m)``."""
        B, N, m, _ = self.diag.shape
        return B, N, m

    def matvec(self, x: np.ndarray) -> np.ndarray:
        """``A @ x`` for ``x`` of shape ``(B, N, m)``."""
        y = np.einsum("bipq,biq->bip", self.diag, x)
        y[:, 1:] += np.einsum("bipq,biq->bip", self.lower[:, 1:], x[:, :-1])
        y[:, :-1] += np.einsum("bipq,biq->bip", self.upper[:, :-1], x[:, 1:])
        return y

    def scaled_identity_minus(self, alpha: float | np.ndarray, beta: float) -> BlockTridiagonal:
        """``alpha·I - beta·A`` (``alpha`` scalar or per member, shape (B,))."""
        m = self.shape[2]
        eye = np.eye(m) * np.reshape(alpha, (-1, 1, 1, 1))
        return BlockTridiagonal(-beta * self.lower, eye - beta * self.diag, -beta * self.upper)

    def solve(self, rhs: np.ndarray) -> np.ndarray:
        """Solve ``A x = rhs`` for ``rhs`` of shape ``(B, N, m)`` (all members in one LAPACK call)."""
        B, N, m = self.shape
        n = B * N * m
        bw = 2 * m - 1
        ab = np.zeros((2 * bw + 1, n))
        # global index of (b, i, p): (b*N + i)*m + p; entry A[row, col] sits at ab[bw + row - col, col]
        cell = np.arange(B * N).reshape(B, N)
        p = np.arange(m)
        for block, shift in ((self.diag, 0), (self.lower, -1), (self.upper, 1)):
            rows_cell = cell
            cols_cell = cell + shift
            valid = np.ones((B, N), dtype=bool)
            if shift == -1:
                valid[:, 0] = False
            elif shift == 1:
                valid[:, -1] = False
            rc = rows_cell[valid][:, None, None] * m + p[None, :, None]
            cc = cols_cell[valid][:, None, None] * m + p[None, None, :]
            rc, cc = np.broadcast_arrays(rc, cc)
            ab[bw + rc - cc, cc] = block[valid]
        x = solve_banded((bw, bw), ab, rhs.reshape(n), overwrite_ab=True, check_finite=False)
        return x.reshape(B, N, m)
