"""Shared machinery of the GMRF priors: anchors, precision assembly, generalised determinants.

Private module behind :mod:`petroinfer.inference.gmrf`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp

from petroinfer.errors import InputError, ModelError, format_value
from petroinfer.inference._gmrf_banded import (
    _band_to_sparse,
    _Factor,
    _logdet_star,
    _lower_band,
    _pick_rows,
)


@dataclass(frozen=True)
class Anchor:
    r"""A proper Gaussian prior ``x[node, channel] ~ N(mean, sd^2)`` that pins the intrinsic prior.

    ``node`` is an int for a chain, a ``(row, col)`` tuple for a grid, or the string ``"mean"`` for a
    Gaussian prior on the **average** of the channel, :math:`\bar x = \sum_i w_i x_i \sim
    N(\text{mean}, \text{sd}^2)`; ``channel`` is a name or an index. The average is the spatial one:
    for a chain the trapezoidal weights :math:`w_i = (h_{i-1} + h_i) / (2 L)` (:math:`h_i` the
    spacings, :math:`h_{-1} = h_{n-1} = 0`, :math:`L` the chain length), i.e. the integral mean of
    the piecewise-linear path, which does not change when nodes are added; for a grid the pixel mean
    :math:`w_i = 1/N`.

    Up to ``order`` anchors per channel (grids: 1 or 3), on distinct nodes and at most one
    ``"mean"``, none redundant: one node or the mean fixes the level of an order-1 prior and makes it
    proper; an order-2 prior needs two (e.g. the mean and a node), otherwise the remaining linear
    trend stays intrinsic (flat), which the evidence handles through the generalised determinant.
    A node anchor adds :math:`\lambda = 1/\text{sd}^2` to one diagonal entry of the precision; the
    mean anchor adds the dense rank-one term :math:`\lambda w w^T`, handled by the Woodbury identity
    and the matrix determinant lemma so that all the algebra stays banded and O(N).

    Parameters
    ----------
    node : int, tuple of int or "mean"
        The anchored node (chain index, grid ``(row, col)``) or ``"mean"`` for the channel average.
    mean : float
        Prior mean of the node (or of the average), in the channel's units.
    sd : float
        Prior standard deviation (> 0).
    channel : str or int
        Channel name or index (default the first channel).

    Examples
    --------
    Only increments are observed, so the data say nothing about the level; the mean anchor fixes
    the average of the path:

    >>> import numpy as np
    >>> from petroinfer.inference.gmrf import ChainPrior, LinearGMRF
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

    def __repr__(self) -> str:
        extent = f"n_nodes={self.n_nodes}" if len(self.shape) == 1 else f"shape={self.shape}"
        extra = f", anchors={len(self.anchors)}" if self.anchors else ""
        return (
            f"{type(self).__name__}({extent}, order={self.order}, channels={self.channels}{extra})"
        )

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

    def _increments(self, X: np.ndarray) -> np.ndarray:
        """``B X`` for node-major columns ``X`` (shape ``(n_nodes, k)``)."""
        return np.asarray(self._B @ X)

    def _increments_transpose(self, Z: np.ndarray) -> np.ndarray:
        """``B^T Z`` (shape ``(n_nodes, k)``)."""
        return np.asarray(self._B.T @ Z)

    def _structure_apply(self, V: np.ndarray, kappa: np.ndarray) -> np.ndarray:
        """``(R (x) K + node anchors) V`` for columns ``V`` (internal order) in difference form."""
        nc, k = self.n_channels, V.shape[1]
        X = V.reshape(self.n_nodes, nc, k)
        Z = self._increments(X.reshape(self.n_nodes, nc * k)).reshape(-1, nc, k)
        Z = np.einsum("cd,mdk->mck", self._K(kappa), Z) * self._wb_column()[:, None, None]
        out = self._increments_transpose(Z.reshape(-1, nc * k)).reshape(self.size, k)
        idx, lam, _ = self._anchor_arrays()
        if idx.size:
            out[idx] += lam[:, None] * V[idx]
        return out

    def _wb_column(self) -> np.ndarray:
        return np.broadcast_to(np.asarray(self._wb, dtype=float), (self._B.shape[0],))

    def _prior_energy(self, x: np.ndarray, kappa: np.ndarray) -> float:
        """``x^T (R (x) K) x + sum lam (x_a - m_a)^2`` (internal order), evaluated from the
        increments ``B x`` (``R = B^T diag(w) B``) so that large offsets do not cancel."""
        nc = self.n_channels
        Z = self._increments(x.reshape(-1, nc))
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
        Z = self._increments(x.reshape(-1, nc))
        g = self._increments_transpose(self._wb[:, None] * (Z @ self._K(kappa))).ravel()
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

    # ------------------------------------------------------------------------------ public contract
    def smoothness_array(self, kappa: Any) -> np.ndarray:
        """Smoothness precisions as an array in channel order.

        Parameters
        ----------
        kappa : float or sequence of float or mapping
            One positive value for every channel (a scalar applies to all channels; a mapping is
            keyed by channel name).

        Returns
        -------
        numpy.ndarray
            Shape ``(n_channels,)``.
        """
        names = self.channels
        if isinstance(kappa, Mapping):
            missing = [c for c in names if c not in kappa]
            unknown = sorted(set(map(str, kappa)) - set(names))
            if missing or unknown:
                raise ModelError(
                    f"smoothness must give one value per channel {list(names)}; missing "
                    f"{missing}, unknown {unknown}"
                )
            vals = [kappa[c] for c in names]
        elif np.ndim(kappa) == 0:
            vals = [kappa] * len(names)
        else:
            vals = list(np.asarray(kappa, dtype=object).ravel())
        if len(vals) != len(names):
            raise ModelError(
                f"smoothness needs {len(names)} values (one per channel), got {len(vals)}"
            )
        out = np.empty(len(names))
        for k, (v, c) in enumerate(zip(vals, names, strict=True)):
            try:
                out[k] = float(v)
            except (TypeError, ValueError):
                out[k] = np.nan
            if not (np.isfinite(out[k]) and out[k] > 0):
                raise ModelError(
                    f"smoothness for channel {c!r} must be a positive finite number; "
                    f"got {format_value(v)}"
                )
        return out

    def precision(self, kappa: Any) -> sp.csr_matrix:
        r"""Prior precision matrix :math:`Q` with all anchors, in the order of ``x.ravel()``.

        Parameters
        ----------
        kappa : float or sequence of float or mapping
            Smoothness precision per channel (see :meth:`smoothness_array`).

        Returns
        -------
        scipy.sparse.csr_matrix
            Shape ``(size, size)``: :math:`Q = R \otimes K + \sum_a \lambda_a e_a e_a^T +
            \sum_b \lambda_b u_b u_b^T` (structure matrix, node anchors, mean anchors).

        Notes
        -----
        A mean anchor adds the dense rank-one term :math:`\lambda_b u_b u_b^T` (``size**2``
        non-zeros); for large fields use :meth:`log_density` and :meth:`sample`, which keep that
        term low-rank.
        """
        kap = self.smoothness_array(kappa)
        ab, _, _ = self._node_precision(kap)
        Q = _band_to_sparse(ab)
        terms = self._mean_terms()
        if terms is not None:
            U, lam, _, _ = terms
            Q = Q + sp.csr_matrix((U * lam) @ U.T)
        inv = np.argsort(self._user_cols())
        return sp.csr_matrix(Q[inv][:, inv])

    def log_determinant(self, kappa: Any) -> tuple[float, int]:
        r"""Log generalised determinant :math:`\log|Q|^*` of :meth:`precision` and its rank deficiency.

        Parameters
        ----------
        kappa : float or sequence of float or mapping
            Smoothness precision per channel.

        Returns
        -------
        tuple of (float, int)
            :math:`\log|Q|^*` (sum of the logs of the non-zero eigenvalues, Rue & Held 2005, §3.2)
            and the dimension ``d`` of the null space (0 for a proper prior).
        """
        _, ld, d = self._precision(self.smoothness_array(kappa))
        return float(ld), int(d)

    def _as_internal(self, x: Any, name: str = "x") -> tuple[np.ndarray, tuple[int, ...]]:
        """``x`` of shape ``(..., *shape, n_channels)`` as ``(batch, size)`` in internal order."""
        arr = np.asarray(x, dtype=float)
        tail = (*self.shape, self.n_channels)
        if arr.shape[arr.ndim - len(tail) :] != tail:
            raise InputError(
                f"{name} must have shape (..., {', '.join(map(str, tail))}), got {arr.shape}",
                column=name,
            )
        lead = arr.shape[: arr.ndim - len(tail)]
        flat = arr.reshape(-1, self.size)
        return flat[:, self._user_cols()], lead

    def _to_user(self, x_int: np.ndarray) -> np.ndarray:
        """``(batch, size)`` internal order -> ``(batch, *shape, n_channels)``."""
        out = np.empty_like(x_int)
        out[:, self._user_cols()] = x_int
        return out.reshape((x_int.shape[0], *self.shape, self.n_channels))

    def log_density(self, x: Any, kappa: Any) -> float | np.ndarray:
        r"""Log prior density (the generalised density for an intrinsic prior).

        Parameters
        ----------
        x : array_like
            States of shape ``(..., *prior.shape, n_channels)``; leading dimensions are a batch.
        kappa : float or sequence of float or mapping
            Smoothness precision per channel.

        Returns
        -------
        float or numpy.ndarray
            One value per state (a float for a single state).

        Notes
        -----
        .. math::

            \log p(x) = -\tfrac{n-d}{2}\log 2\pi + \tfrac12\log|Q|^*
                        - \tfrac12\Big[\textstyle\sum_j w_j z_j^T K z_j
                        + \sum_a\lambda_a (x_a-m_a)^2 + \sum_b \lambda_b (u_b^T x - m_b)^2\Big],

        with :math:`n` the state size, :math:`d` the rank deficiency, increments :math:`z = B x`
        (:math:`R = B^T \mathrm{diag}(w) B`) and :math:`|Q|^*` the generalised determinant. For
        :math:`d = 0` this is the normalised Gaussian density; for :math:`d > 0` it is the
        density of the proper part, flat along the null space (Rue & Held 2005, eq. 3.18).
        """
        xi, lead = self._as_internal(x)
        kap = self.smoothness_array(kappa)
        nc = self.n_channels
        batch = xi.shape[0]
        X = xi.reshape(batch, -1, nc).transpose(1, 0, 2).reshape(self.n_nodes, batch * nc)
        Z = self._increments(X).reshape(-1, batch, nc)
        wb = np.broadcast_to(np.asarray(self._wb, dtype=float), (Z.shape[0],))
        energy = np.einsum("m,mbc,cd,mbd->b", wb, Z, self._K(kap), Z)
        idx, lam, mu = self._anchor_arrays()
        if idx.size:
            energy += np.sum(lam * (xi[:, idx] - mu) ** 2, axis=1)
        terms = self._mean_terms()
        if terms is not None:
            U, lam_m, mu_m, _ = terms
            energy += np.sum(lam_m * (xi @ U - mu_m) ** 2, axis=1)
        ld, d = self.log_determinant(kap)
        out = -0.5 * (self.size - d) * math.log(2.0 * math.pi) + 0.5 * ld - 0.5 * energy
        return float(out[0]) if not lead else out.reshape(lead)

    def _proper_factor(self, kap: np.ndarray) -> tuple[_Factor, np.ndarray]:
        """Factor of ``Q + c W W^T`` (``W`` an orthonormal basis of ``null(Q)``) and ``W``."""
        nc = self.n_channels
        ab, _, _ = self._node_precision(kap)
        V = self._null_basis()
        terms = self._mean_terms()
        U = np.zeros((self.size, 0)) if terms is None else terms[0]
        lam = np.zeros(0) if terms is None else terms[1]
        W = V
        if terms is not None and V.shape[1]:
            M = np.sqrt(lam)[:, None] * (U.T @ V)
            W = V @ sla.null_space(M)
        W = np.linalg.qr(W)[0] if W.shape[1] else W
        if V.shape[1] == 0 and terms is None:
            return _Factor(ab, None, "prior precision"), W
        pins: list[int] = []
        for c in range(nc):
            Vc = V[c::nc][:, np.any(V[c::nc] != 0, axis=0)]
            pins += [int(p) * nc + c for p in _pick_rows(Vc, Vc.shape[1])]
        scale = float(np.median(ab[0])) or 1.0
        low = (
            np.column_stack([U, W]),
            np.concatenate([lam, np.full(W.shape[1], scale)]),
            None,
            np.asarray(pins, int),
        )
        return _Factor(ab, low, "prior precision"), W

    def mean(self, kappa: Any) -> np.ndarray:
        r"""Prior mean :math:`Q^{+} b` (``b`` the anchors' linear term), zero along the null space.

        Parameters
        ----------
        kappa : float or sequence of float or mapping
            Smoothness precision per channel.

        Returns
        -------
        numpy.ndarray
            Shape ``(*prior.shape, n_channels)``. For a proper prior the mean; for an intrinsic one
            the minimum-norm mode (any null-space function may be added).
        """
        kap = self.smoothness_array(kappa)
        fac, W = self._proper_factor(kap)
        terms = self._mean_terms()
        x = fac.solve(self._anchor_rhs(), None if terms is None else terms[2])
        if W.shape[1]:
            x = x - W @ (W.T @ x)
        return self._to_user(x[None, :])[0]

    def sample(self, kappa: Any, n: int = 1, random_state: Any = None) -> np.ndarray:
        r"""Exact draws from the prior (of its proper part for an intrinsic prior).

        Parameters
        ----------
        kappa : float or sequence of float or mapping
            Smoothness precision per channel.
        n : int
            Number of draws.
        random_state : None, int or numpy.random.Generator
            Seed or generator.

        Returns
        -------
        numpy.ndarray
            Shape ``(n, *prior.shape, n_channels)``.

        Notes
        -----
        :math:`x = \mu + L^{-T} z`, :math:`z \sim N(0, I)`, with the banded Cholesky factor of
        :math:`Q` (Rue & Held 2005, Algorithm 2.4); mean anchors enter through a symmetric low-rank
        correction. For an intrinsic prior the null space ``W`` (orthonormal) is made proper with
        :math:`Q + cWW^T` and the draws are projected onto its orthogonal complement, which gives
        exactly :math:`N(\mu, Q^{+})` (the draws carry no null-space component).
        """
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
            raise ModelError(f"n must be a non-negative int; got {format_value(n)}")
        from petroinfer._rng import as_generator

        kap = self.smoothness_array(kappa)
        fac, W = self._proper_factor(kap)
        terms = self._mean_terms()
        mu = fac.solve(self._anchor_rhs(), None if terms is None else terms[2])
        z = as_generator(random_state).standard_normal((self.size, int(n)))
        x = mu[:, None] + fac.draw(z)
        if W.shape[1]:
            x = x - W @ (W.T @ x)
        return self._to_user(x.T)
