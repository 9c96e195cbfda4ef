"""Chain and grid GMRF priors (intrinsic random walks of order 1 or 2).

Private module behind :mod:`petroinfer.inference.gmrf`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp

from petroinfer.errors import InputError, ModelError
from petroinfer.inference._gmrf_banded import _first_difference
from petroinfer.inference._gmrf_prior_base import Anchor, _Prior


class ChainPrior(_Prior):
    r"""Intrinsic GMRF (random walk) prior of order 1 or 2 along a 1-D chain of nodes.

    Parameters
    ----------
    positions : array_like or None
        Strictly increasing node positions (e.g. radius in a garnet, in any length unit), shape ``(n,)``.
        Defaults to ``0, 1, ..., n_nodes - 1``.
    n_nodes : int or None
        Number of nodes when ``positions`` is not given.
    order : {1, 2}
        1 (first-order random walk: penalises slopes) or 2 (second order: penalises curvature).
    channels : str or sequence of str
        Channel names, e.g. ``("T", "P")``. Each channel has its own smoothness precision.
    correlation : float, array_like or None
        Correlation matrix of the increments of the channels (scalar for two channels); ``None``
        (default) means independent channels.
    anchors : sequence of Anchor or None
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
        self._h = h
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

    def _increments(self, X: np.ndarray) -> np.ndarray:
        """``B X`` from differences of differences: ``diff(X) / h`` are the slopes and order 2
        takes their differences. Evaluating the exact (Sterbenz) differences first avoids the
        cancellation of the assembled rows ``(1/h_l, -(1/h_l + 1/h_r), 1/h_r)``, whose error
        ``eps |x| / h`` would dominate the curvature of a smooth path on a fine chain."""
        d = np.diff(X, axis=0)
        if self.order == 1:
            return d
        return np.diff(d / self._h[:, None], axis=0)

    def _increments_transpose(self, Z: np.ndarray) -> np.ndarray:
        """``B^T Z`` by the transposed difference steps (no assembled rows, as :meth:`_increments`)."""
        if self.order == 2:
            u = np.zeros((Z.shape[0] + 1, Z.shape[1]))
            u[:-1] -= Z
            u[1:] += Z
            Z = u / self._h[:, None]
        out = np.zeros((Z.shape[0] + 1, Z.shape[1]))
        out[:-1] -= Z
        out[1:] += Z
        return out

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

        Parameters
        ----------
        at : array_like
            Positions (same unit as ``positions``) within ``[positions[0], positions[-1]]``.

        Returns
        -------
        scipy.sparse.csr_matrix
            ``W`` with two non-zeros per row; ``W @ x[:, c]`` is channel ``c`` interpolated at
            ``at``.
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
    shape : tuple of int
        ``(ny, nx)`` grid shape (unit pixel spacing).
    order : {1, 2}
        1: first-order lattice IGMRF, :math:`\kappa \sum_{\text{nbrs}} (x_i - x_j)^2` over the 4
        nearest neighbours (Rue & Held 2005, §3.3.2). 2: discrete thin-plate energy
        :math:`\kappa \sum (\Delta^2_{xx}x)^2 + (\Delta^2_{yy}x)^2 + 2 (\Delta_x\Delta_y x)^2`
        (Rue & Held 2005, §3.4.2), null space spanned by 1, x, y.
    channels, correlation, anchors : see ChainPrior
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
