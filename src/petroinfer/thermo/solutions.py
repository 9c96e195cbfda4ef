"""Activity–composition (a–x) models written as molar Gibbs energies with analytic derivatives.

Every model is a :class:`SolutionModel`: an ideal site-mixing part plus an excess Gibbs energy
``G_ex(x, T, P)`` (Margules polynomial or van Laar / asymmetric formalism). From ``G_ex`` and its
analytic gradient and Hessian in the mole fractions the model returns activity coefficients,
activities, excess chemical potentials, partial molar excess entropies and volumes, and the matrix
∂μ_i/∂n_j needed by the Gibbs method. Compositions ``x`` have shape ``(n, m)`` (``n`` analyses, ``m``
end-members, rows summing to 1); ``T`` in K and ``P`` in bar broadcast to ``(n,)``.

Notes
-----
Chemical potentials of a molar function g(x) extended homogeneously to amounts n (Σ n = 1)::

    μ_i = g + ∂g/∂x_i − Σ_k x_k ∂g/∂x_k
    ∂μ_i/∂n_j = [(I − 1 xᵀ) H (I − x 1ᵀ)]_ij,   H = ∂²g/∂x∂x

Ideal part (site mixing, e.g. Powell & Holland 1993): site fractions y = x·O (occupancy matrix O per
site, multiplicity m_s) and ln a_i^id = Σ_s m_s Σ_k O_ik (ln y_k − ln O_ik). The Al-avoidance
plagioclase model a_an = X_an (1 + X_an)²/4 (Kerrick & Darken 1975) is the site model with two T1 sites
holding (Al½Si½) in ab/san and Al in an.

Interaction parameters follow W = W_H − T W_S + P W_V with W_H in J, W_S in J/K and W_V in J/bar.
THERMOCALC tables give W_S in **kJ/K** (``W = a + bT + cP`` with b in kJ/K): those are converted with
×1000 here. One public implementation is suspected to drop that factor (``pt_paths.md`` §5.2), which
loses the temperature dependence of the pl4tr and mica W's; ``tests/thermo`` pins the converted values.

References
----------
Hodges K.V., Spear F.S. (1982) Am. Mineral. 67:1118–1134 (garnet W_CaMg = 3300 − 1.5 T cal).
Berman R.G. (1990) Am. Mineral. 75:328–344 (quaternary garnet), transcribed from the JUN92 database.
Newton R.C., Haselton H.T. (1981) in Thermodynamics of Minerals and Melts, Springer, 131–147 (plagioclase).
Fuhrman M.L., Lindsley D.H. (1988) Am. Mineral. 73:201–215 (ternary feldspar).
White R.W., Powell R., Holland T.J.B., Johnson T.E., Green E.C.R. (2014) J. Metamorph. Geol. 32:261–286
(garnet, pl4tr plagioclase, muscovite).
Holland T.J.B., Powell R. (2003) Contrib. Mineral. Petrol. 145:492–501 (asymmetric formalism, pl4tr).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike

from petroinfer.errors import InputError, ModelError
from petroinfer.units import GAS_CONSTANT

__all__ = [
    "ASFExcess",
    "MargulesExcess",
    "SolutionModel",
    "biotite_ideal",
    "garnet_berman1990",
    "garnet_hodges_spear1982",
    "garnet_ideal",
    "garnet_white2014",
    "get_solution_model",
    "muscovite_white2014",
    "plagioclase_fuhrman_lindsley1988",
    "plagioclase_ideal",
    "plagioclase_newton_haselton1981",
    "plagioclase_white2014",
]

CAL = 4.184


# ---------------------------------------------------------------------------- excess models
@dataclass(frozen=True)
class MargulesExcess:
    """Polynomial (Margules) excess Gibbs energy ``G_ex = mult · Σ_t W_t Π_{k∈t} x_k``.

    Parameters
    ----------
    terms : tuple of (tuple of int, float, float, float)
        ``(indices, W_H, W_S, W_V)``; ``indices`` is a tuple of 2 (regular, ``W x_i x_j``) or 3
        (subregular/ternary, e.g. ``(i, i, j)`` for the ``112`` term ``W x_i² x_j``) end-member indices.
    multiplicity : float
        Factor applied to the polynomial, e.g. 3 for per-site garnet parameters.
    """

    terms: tuple[tuple[tuple[int, ...], float, float, float], ...]
    multiplicity: float = 1.0

    def evaluate(self, x: np.ndarray, W: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """g, ∇g, ∇²g for interaction values ``W`` of shape (n, n_terms)."""
        n, m = x.shape
        g = np.zeros(n)
        grad = np.zeros((n, m))
        hess = np.zeros((n, m, m))
        for t, (idx, *_rest) in enumerate(self.terms):
            w = W[:, t]
            g += w * np.prod(x[:, list(idx)], axis=1)
            for p, ip in enumerate(idx):
                others = [q for q in range(len(idx)) if q != p]
                grad[:, ip] += w * np.prod(x[:, [idx[q] for q in others]], axis=1)
                for q in others:
                    rest = [idx[r] for r in others if r != q]
                    val = np.prod(x[:, rest], axis=1) if rest else np.ones(n)
                    hess[:, ip, idx[q]] += w * val
        k = self.multiplicity
        return k * g, k * grad, k * hess

    def basis(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per-term functions f_t(x) and gradients, with ``G_ex = Σ_t W_t f_t(x)``.

        Parameters
        ----------
        x : numpy.ndarray
            Mole fractions, shape (n, m).

        Returns
        -------
        f : numpy.ndarray
            Shape (n, n_terms): ``multiplicity · Π_{k∈t} x_k``.
        grad : numpy.ndarray
            Shape (n, n_terms, m): ∂f_t/∂x_k (mole fractions treated as independent).
        """
        n, m = x.shape
        k = self.multiplicity
        f = np.empty((n, len(self.terms)))
        grad = np.zeros((n, len(self.terms), m))
        for t, (idx, *_rest) in enumerate(self.terms):
            cols = [x[:, i] for i in idx]
            f[:, t] = k * functools.reduce(np.multiply, cols)
            for p, ip in enumerate(idx):
                others = [cols[q] for q in range(len(idx)) if q != p]
                grad[:, t, ip] += k * functools.reduce(np.multiply, others)
        return f, grad

    def mu_basis(self, x: np.ndarray, endmembers: Sequence[int]) -> np.ndarray:
        """μ_i^ex per unit W_t, ``b_ti = (1 − d_t) f_t + ∂f_t/∂x_i`` (shape (n, n_terms, len(endmembers))).

        Uses Euler's theorem for the degree-d_t monomials, Σ_k x_k ∂f_t/∂x_k = d_t f_t, in
        ``μ_i = g + ∂g/∂x_i − Σ_k x_k ∂g/∂x_k``, so only the wanted partial derivatives are formed.
        """
        k = self.multiplicity
        out = np.zeros((x.shape[0], len(self.terms), len(endmembers)), order="F")
        for t, (idx, *_rest) in enumerate(self.terms):
            cols = [x[:, i] for i in idx]
            out[:, t, :] = ((1 - len(idx)) * k * functools.reduce(np.multiply, cols))[:, None]
            for a, i in enumerate(endmembers):
                for p, ip in enumerate(idx):
                    if ip == i:
                        others = [cols[q] for q in range(len(idx)) if q != p]
                        out[:, t, a] += k * functools.reduce(np.multiply, others)
        return out

    def mu_basis_jacobian(self, x: np.ndarray, endmembers: Sequence[int]) -> np.ndarray:
        """∂b_ti/∂x_k of :meth:`mu_basis` (x_k independent), shape (n, n_terms, len(endmembers), m).

        ``∂b_ti/∂x_k = (1 − d_t) ∂f_t/∂x_k + ∂²f_t/∂x_i∂x_k``.
        """
        n, m = x.shape
        k = self.multiplicity
        out = np.zeros((n, len(self.terms), len(endmembers), m), order="F")
        for t, (idx, *_rest) in enumerate(self.terms):
            cols = [x[:, i] for i in idx]
            d = len(idx)
            for p, ip in enumerate(idx):  # (1 − d) ∂f/∂x_ip, for every wanted i
                rest = [cols[q] for q in range(d) if q != p]
                out[:, t, :, ip] += ((1 - d) * k * functools.reduce(np.multiply, rest))[:, None]
            for a, i in enumerate(endmembers):  # ∂²f/∂x_i∂x_k over ordered pairs of positions
                for p, ip in enumerate(idx):
                    if ip != i:
                        continue
                    for q, iq in enumerate(idx):
                        if q == p:
                            continue
                        rest = [cols[r] for r in range(d) if r not in (p, q)]
                        out[:, t, a, iq] += k * (
                            functools.reduce(np.multiply, rest) if rest else 1.0
                        )
        return out

    @functools.cached_property
    def _w(self) -> np.ndarray:
        w = np.array([t[1:4] for t in self.terms], dtype=float).reshape(-1, 3)
        w.flags.writeable = False
        return w

    def w_table(self) -> np.ndarray:
        """Interaction parameters as an array of shape (n_terms, 3): columns W_H (J), W_S (J/K), W_V (J/bar)."""
        return self._w

    def w_values(self, T: np.ndarray, P: np.ndarray, part: str = "G") -> np.ndarray:
        """W per row and term, shape (n, n_terms): W_H − T W_S + P W_V (``part="G"``) or one of its parts.

        Parameters
        ----------
        T, P : numpy.ndarray
            Temperature (K) and pressure (bar), shape (n,).
        part : {"G", "H", "S", "V"}
            ``"G"`` for W(T, P); ``"H"``, ``"S"``, ``"V"`` for W_H, W_S (= −∂W/∂T), W_V (= ∂W/∂P).

        Returns
        -------
        numpy.ndarray
            Shape (n, n_terms), in J (or J/K, J/bar).
        """
        WH = np.array([t[1] for t in self.terms])
        WS = np.array([t[2] for t in self.terms])
        WV = np.array([t[3] for t in self.terms])
        if part == "H":  # W at T = 0, P = 0
            return np.broadcast_to(WH, (T.size, WH.size))
        if part == "S":  # −∂W/∂T
            return np.broadcast_to(WS, (T.size, WS.size))
        if part == "V":  # ∂W/∂P
            return np.broadcast_to(WV, (T.size, WV.size))
        return WH[None, :] - T[:, None] * WS[None, :] + P[:, None] * WV[None, :]


@dataclass(frozen=True)
class ASFExcess:
    """Asymmetric formalism (van Laar) excess Gibbs energy (Holland & Powell 2003).

    ``G_ex = Σ_{i<j} φ_i φ_j (2 v̄ / (v_i + v_j)) W_ij`` with ``φ_i = x_i v_i / v̄`` and ``v̄ = Σ x_k v_k``;
    equivalently ``G_ex = ½ uᵀ B u / v̄`` with ``u = v ∘ x`` and ``B_ij = 2 W_ij / (v_i + v_j)``.

    Parameters
    ----------
    pairs : tuple of (int, int, float, float, float)
        ``(i, j, W_H, W_S, W_V)`` per binary, W = W_H − T W_S + P W_V in J, J/K, J/bar.
    sizes : tuple of float
        Size parameters v_i of the end-members.
    """

    pairs: tuple[tuple[int, int, float, float, float], ...]
    sizes: tuple[float, ...]

    def evaluate(self, x: np.ndarray, W: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        n, m = x.shape
        v = np.asarray(self.sizes, dtype=float)
        B = np.zeros((n, m, m))
        for t, (i, j, *_r) in enumerate(self.pairs):
            b = 2 * W[:, t] / (v[i] + v[j])
            B[:, i, j] = b
            B[:, j, i] = b
        u = x * v
        s = u.sum(axis=1)
        Bu = np.einsum("nij,nj->ni", B, u)
        q = np.einsum("ni,ni->n", u, Bu)
        g = 0.5 * q / s
        vBu = v * Bu
        grad = vBu / s[:, None] - 0.5 * (q / s**2)[:, None] * v
        hess = (
            B * v[None, :, None] * v[None, None, :] / s[:, None, None]
            - (vBu[:, :, None] * v[None, None, :] + v[None, :, None] * vBu[:, None, :])
            / (s**2)[:, None, None]
            + (q / s**3)[:, None, None] * np.outer(v, v)[None]
        )
        return g, grad, hess

    def basis(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per-pair functions f_t(x) and gradients, with ``G_ex = Σ_t W_t f_t(x)``.

        Parameters
        ----------
        x : numpy.ndarray
            Mole fractions, shape (n, m).

        Returns
        -------
        f : numpy.ndarray
            Shape (n, n_pairs): ``f_t = 2 v_i v_j x_i x_j / ((v_i + v_j) v̄)``.
        grad : numpy.ndarray
            Shape (n, n_pairs, m): ∂f_t/∂x_k = c_t [(δ_ki x_j + δ_kj x_i)/v̄ − x_i x_j v_k/v̄²],
            ``c_t = 2 v_i v_j/(v_i + v_j)``.
        """
        n, m = x.shape
        v = np.asarray(self.sizes, dtype=float)
        s = x @ v
        inv_s = 1.0 / s
        f = np.empty((n, len(self.pairs)))
        grad = np.empty((n, len(self.pairs), m))
        for t, (i, j, *_r) in enumerate(self.pairs):
            ct = 2 * v[i] * v[j] / (v[i] + v[j])
            xij = x[:, i] * x[:, j]
            f[:, t] = ct * xij * inv_s
            grad[:, t, :] = -(ct * xij * inv_s**2)[:, None] * v[None, :]
            grad[:, t, i] += ct * x[:, j] * inv_s
            grad[:, t, j] += ct * x[:, i] * inv_s
        return f, grad

    def mu_basis(self, x: np.ndarray, endmembers: Sequence[int]) -> np.ndarray:
        """μ_i^ex per unit W_t, shape (n, n_pairs, len(endmembers)).

        Each f_t is homogeneous of degree 1 in x (Euler: Σ_k x_k ∂f_t/∂x_k = f_t), so
        ``b_ti = ∂f_t/∂x_i = c_t [(δ_ii' x_j + δ_ij x_i')/v̄ − x_i' x_j v_i/v̄²]`` for the pair t = (i', j).
        """
        v = np.asarray(self.sizes, dtype=float)
        inv_s = 1.0 / (x @ v)
        out = np.empty((x.shape[0], len(self.pairs), len(endmembers)), order="F")
        for t, (i, j, *_r) in enumerate(self.pairs):
            ct = 2 * v[i] * v[j] / (v[i] + v[j])
            common = ct * x[:, i] * x[:, j] * inv_s**2
            for a, e in enumerate(endmembers):
                col = -v[e] * common
                if e == i:
                    col = col + ct * x[:, j] * inv_s
                if e == j:
                    col = col + ct * x[:, i] * inv_s
                out[:, t, a] = col
        return out

    def mu_basis_jacobian(self, x: np.ndarray, endmembers: Sequence[int]) -> np.ndarray:
        """∂b_ti/∂x_k = ∂²f_t/∂x_i∂x_k of :meth:`mu_basis`, shape (n, n_pairs, len(endmembers), m).

        For f = c x_p x_q / v̄: ∂²f/∂x_a∂x_b = c [(δ_ap δ_bq + δ_aq δ_bp)/v̄ − (δ_ap x_q + δ_aq x_p) v_b/v̄²
        − (δ_bp x_q + δ_bq x_p) v_a/v̄² + 2 x_p x_q v_a v_b/v̄³].
        """
        n, m = x.shape
        v = np.asarray(self.sizes, dtype=float)
        inv_s = 1.0 / (x @ v)
        out = np.zeros((n, len(self.pairs), len(endmembers), m), order="F")
        for t, (p, q, *_r) in enumerate(self.pairs):
            ct = 2 * v[p] * v[q] / (v[p] + v[q])
            xpq = x[:, p] * x[:, q]
            for a, e in enumerate(endmembers):
                lin_a = (x[:, q] if e == p else 0.0) + (
                    x[:, p] if e == q else 0.0
                )  # δ_ep x_q + δ_eq x_p
                block = ct * (2 * xpq * v[e] * inv_s**3)[:, None] * v[None, :]
                block -= ct * (lin_a * inv_s**2)[:, None] * v[None, :]
                block[:, p] -= ct * v[e] * x[:, q] * inv_s**2
                block[:, q] -= ct * v[e] * x[:, p] * inv_s**2
                if e == p:
                    block[:, q] += ct * inv_s
                if e == q:
                    block[:, p] += ct * inv_s
                out[:, t, a, :] = block
        return out

    @functools.cached_property
    def _w(self) -> np.ndarray:
        w = np.array([p[2:5] for p in self.pairs], dtype=float).reshape(-1, 3)
        w.flags.writeable = False
        return w

    def w_table(self) -> np.ndarray:
        """Interaction parameters as an array of shape (n_pairs, 3): columns W_H (J), W_S (J/K), W_V (J/bar)."""
        return self._w

    def w_values(self, T: np.ndarray, P: np.ndarray, part: str = "G") -> np.ndarray:
        """W per row and pair, shape (n, n_pairs); see :meth:`MargulesExcess.w_values`."""
        WH = np.array([p[2] for p in self.pairs])
        WS = np.array([p[3] for p in self.pairs])
        WV = np.array([p[4] for p in self.pairs])
        if part == "H":
            return np.broadcast_to(WH, (T.size, WH.size))
        if part == "S":
            return np.broadcast_to(WS, (T.size, WS.size))
        if part == "V":
            return np.broadcast_to(WV, (T.size, WV.size))
        return WH[None, :] - T[:, None] * WS[None, :] + P[:, None] * WV[None, :]


# ---------------------------------------------------------------------------- solution model
@dataclass(frozen=True)
class SolutionModel:
    """An a–x model: end-members, ideal site mixing and an excess Gibbs energy.

    Parameters
    ----------
    name : str
        Short identifier (``"hs82"``, ``"pl4tr"`` ...).
    endmembers : tuple of str
        End-member names (ds62 abbreviations).
    sites : tuple of (float, numpy.ndarray)
        ``(multiplicity, occupancy)`` per mixing site; ``occupancy`` has one row per end-member and one
        column per species on that site (rows sum to 1).
    excess : MargulesExcess or ASFExcess or None
        The excess Gibbs energy; ``None`` for ideal mixing.
    reference : str
        Literature source.

    Examples
    --------
    >>> import numpy as np
    >>> from petroinfer.thermo import garnet_hodges_spear1982
    >>> grt = garnet_hodges_spear1982()
    >>> x = np.array([[0.12, 0.75, 0.05, 0.08]])  # py, alm, spss, gr
    >>> bool(grt.ln_gamma(x, 873.15, 5000.0)[0, 3] > 0)  # Ca–Mg non-ideality raises γ_grs
    True
    """

    name: str
    endmembers: tuple[str, ...]
    sites: tuple[tuple[float, np.ndarray], ...]
    excess: MargulesExcess | ASFExcess | None = None
    reference: str = ""
    _ref_ln: np.ndarray = field(init=False, repr=False, compare=False)
    _occ: tuple[tuple[float, np.ndarray, np.ndarray | None], ...] = field(
        init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        m = len(self.endmembers)
        ref = np.zeros(m)
        occs = []
        for mult, occ in self.sites:
            occ = np.asarray(occ, dtype=float)
            if occ.shape[0] != m:
                raise ModelError(f"{self.name}: site occupancy needs one row per end-member")
            with np.errstate(divide="ignore"):
                ref += mult * np.sum(
                    np.where(occ > 0, occ * np.log(np.where(occ > 0, occ, 1)), 0.0), axis=1
                )
            identity = occ.shape == (m, m) and np.array_equal(occ, np.eye(m))
            occs.append((float(mult), occ, None if identity else occ.T.copy()))
        object.__setattr__(self, "_ref_ln", ref)
        object.__setattr__(self, "_occ", tuple(occs))

    def __repr__(self) -> str:
        kind = "ideal" if self.excess is None else type(self.excess).__name__
        return (
            f"SolutionModel({self.name!r}, endmembers={self.endmembers}, excess={kind}, "
            f"reference={self.reference!r})"
        )

    # ------------------------------------------------------------------ helpers
    def _prep(self, x: ArrayLike, T: ArrayLike, P: ArrayLike):
        x = np.atleast_2d(np.asarray(x, dtype=float))
        if x.shape[-1] != len(self.endmembers):
            raise InputError(
                f"{self.name}: composition needs {len(self.endmembers)} mole fractions "
                f"({', '.join(self.endmembers)}), got {x.shape[-1]}"
            )
        n = x.shape[0]
        T = np.broadcast_to(np.asarray(T, dtype=float), (n,)).astype(float)
        P = np.broadcast_to(np.asarray(P, dtype=float), (n,)).astype(float)
        return x, T, P

    def _excess(self, x, T, P, part="G"):
        n, m = x.shape
        if self.excess is None:
            return np.zeros(n), np.zeros((n, m)), np.zeros((n, m, m))
        return self.excess.evaluate(x, self.excess.w_values(T, P, part))

    @staticmethod
    def _mu_from(g, grad, x):
        return g[:, None] + grad - np.einsum("nk,nk->n", x, grad)[:, None]

    def mu_excess_basis(self, x: ArrayLike, endmembers: Sequence[int] | None = None) -> np.ndarray:
        """Excess chemical potentials per unit interaction parameter, shape (n, n_terms, m).

        Every excess model here is linear in its interaction parameters, ``G_ex = Σ_t W_t f_t(x)``, so
        ``μ_i^ex = Σ_t W_t b_ti(x)`` with ``b_ti = f_t + ∂f_t/∂x_i − Σ_k x_k ∂f_t/∂x_k``. Contracting the
        basis with the columns of :meth:`w_table` gives the H, S and V parts of μ^ex at once.

        Parameters
        ----------
        x : array_like
            Mole fractions, shape (n, m) (rows summing to 1).
        endmembers : sequence of int, optional
            Indices i of the end-members wanted (default: all m).

        Returns
        -------
        numpy.ndarray
            ``b_ti`` (dimensionless), shape (n, n_terms, m) or (n, n_terms, len(endmembers));
            n_terms = 0 for an ideal model.
        """
        x = np.atleast_2d(np.asarray(x, dtype=float))
        idx = list(range(x.shape[1])) if endmembers is None else list(endmembers)
        if self.excess is None:
            return np.zeros((x.shape[0], 0, len(idx)))
        return self.excess.mu_basis(x, idx)

    def mu_excess_basis_jacobian(self, x: ArrayLike, endmembers: Sequence[int]) -> np.ndarray:
        """∂b_ti/∂x_k of :meth:`mu_excess_basis` (mole fractions treated as independent).

        Parameters
        ----------
        x : array_like
            Mole fractions, shape (n, m).
        endmembers : sequence of int
            Indices i of the end-members wanted.

        Returns
        -------
        numpy.ndarray
            Shape (n, n_terms, len(endmembers), m).
        """
        x = np.atleast_2d(np.asarray(x, dtype=float))
        if self.excess is None:
            return np.zeros((x.shape[0], 0, len(endmembers), x.shape[1]))
        return self.excess.mu_basis_jacobian(x, list(endmembers))

    def ln_ideal_activity_jacobian(self, x: ArrayLike, endmembers: Sequence[int]) -> np.ndarray:
        r"""∂ ln a_i^ideal/∂x_k (x_k independent) for the wanted end-members, shape (n, len(endmembers), m).

        :math:`\partial \ln a_i / \partial x_k = \sum_s m_s \sum_j O_{ij} O_{kj} / y_j`.
        """
        x = np.atleast_2d(np.asarray(x, dtype=float))
        out = np.zeros((x.shape[0], len(endmembers), x.shape[1]), order="F")
        with np.errstate(divide="ignore", invalid="ignore"):
            for mult, occ, occ_t, species in self._site_plan:
                for a, i in enumerate(endmembers):
                    for j in species[i]:
                        y = x[:, j] if occ_t is None else x @ occ[:, j]
                        w = (mult * occ[i, j]) / y
                        for k in np.flatnonzero(occ[:, j]):  # end-members with species j on site s
                            out[:, a, k] += w * occ[k, j] if occ[k, j] != 1.0 else w
        return out

    def w_table(self) -> np.ndarray:
        """Interaction parameters, shape (n_terms, 3): W_H (J), W_S (J/K), W_V (J/bar) per term."""
        return np.zeros((0, 3)) if self.excess is None else self.excess.w_table()

    def _mu_part(self, x: np.ndarray, T: np.ndarray, P: np.ndarray, part: str) -> np.ndarray:
        b = self.mu_excess_basis(x)
        if b.shape[1] == 0:
            return np.zeros(x.shape)
        W = self.excess.w_values(T, P, part)  # type: ignore[union-attr]
        return np.einsum("nti,nt->ni", b, W)

    # ------------------------------------------------------------------ public API
    def excess_gibbs(self, x: ArrayLike, T: ArrayLike, P: ArrayLike) -> np.ndarray:
        """Molar excess Gibbs energy (J/mol), shape (n,)."""
        x, T, P = self._prep(x, T, P)
        return self._excess(x, T, P)[0]

    def mu_excess(self, x: ArrayLike, T: ArrayLike, P: ArrayLike) -> np.ndarray:
        """Excess chemical potentials μ_i^ex = RT ln γ_i (J/mol), shape (n, m)."""
        x, T, P = self._prep(x, T, P)
        return self._mu_part(x, T, P, "G")

    def partial_excess_entropy(self, x: ArrayLike, T: ArrayLike, P: ArrayLike) -> np.ndarray:
        """Partial molar excess entropies −∂μ_i^ex/∂T (J/K/mol), shape (n, m)."""
        x, T, P = self._prep(x, T, P)
        return self._mu_part(x, T, P, "S")

    def partial_excess_volume(self, x: ArrayLike, T: ArrayLike, P: ArrayLike) -> np.ndarray:
        """Partial molar excess volumes ∂μ_i^ex/∂P (J/bar/mol), shape (n, m)."""
        x, T, P = self._prep(x, T, P)
        return self._mu_part(x, T, P, "V")

    def mu_excess_parts(self, x: ArrayLike) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(μ_H, μ_S, μ_V) with μ_ex(T, P) = μ_H − T μ_S + P μ_V exactly (W's are linear in T and P)."""
        x, _T, _P = self._prep(x, 1.0, 0.0)
        b = self.mu_excess_basis(x)
        if b.shape[1] == 0:
            return np.zeros(x.shape), np.zeros(x.shape), np.zeros(x.shape)
        mu = np.einsum("nti,tp->pni", b, self.w_table())
        return mu[0], mu[1], mu[2]

    def ln_gamma(self, x: ArrayLike, T: ArrayLike, P: ArrayLike) -> np.ndarray:
        """Natural log of the activity coefficients (relative to the ideal site-mixing activity)."""
        x, T, P = self._prep(x, T, P)
        return self.mu_excess(x, T, P) / (GAS_CONSTANT * T[:, None])

    def _site_fractions(self, x):
        return [
            (mult, np.asarray(occ, float), x @ np.asarray(occ, float)) for mult, occ in self.sites
        ]

    def ln_ideal_activity(
        self, x: ArrayLike, endmembers: Sequence[int] | None = None
    ) -> np.ndarray:
        r"""ln a_i^ideal from site mixing (−inf where a site species is absent).

        Parameters
        ----------
        x : array_like
            Mole fractions, shape (n, m).
        endmembers : sequence of int, optional
            Indices of the end-members wanted (default: all m).

        Returns
        -------
        numpy.ndarray
            :math:`\ln a_i^{id} = \sum_s m_s \sum_k O_{ik} (\ln y_k - \ln O_{ik})` with site fractions
            :math:`y = x O`, shape (n, m) or (n, len(endmembers)).
        """
        x = np.atleast_2d(np.asarray(x, dtype=float))
        idx = list(range(x.shape[1])) if endmembers is None else list(endmembers)
        out = np.empty((x.shape[0], len(idx)), order="F")
        with np.errstate(divide="ignore", invalid="ignore"):
            for a, i in enumerate(idx):
                total = None
                for s, (mult, occ, _occ_t, species) in enumerate(self._site_plan):
                    # species absent from end-member i contribute 0·ln y = 0
                    for k in species[i]:
                        w = mult * occ[i, k]
                        term = self._log_site_fraction(x, s, k)
                        term = term if w == 1.0 else w * term
                        total = term if total is None else total + term
                ref = self._ref_ln[i]
                out[:, a] = 0.0 if total is None else (total - ref if ref != 0.0 else total)
        return out

    def _log_site_fraction(self, x: np.ndarray, site: int, k: int) -> np.ndarray:
        """ln y_k on ``site`` (−inf where y_k ≤ 0), y = x O."""
        _mult, occ, occ_t, _sp = self._site_plan[site]
        y = x[:, k] if occ_t is None else x @ occ[:, k]
        return np.log(np.maximum(y, 0.0))

    @functools.cached_property
    def _site_plan(self) -> tuple:
        """Per site: multiplicity, occupancy, its transpose (None if the identity), the species of each
        end-member (indices with non-zero occupancy)."""
        return tuple(
            (mult, occ, occ_t, tuple(tuple(int(k) for k in np.flatnonzero(row > 0)) for row in occ))
            for mult, occ, occ_t in self._occ
        )

    @functools.cached_property
    def key(self) -> tuple:
        """A hashable identity of the model (name, end-members, excess parameters, site occupancies)."""
        return (
            self.name,
            self.endmembers,
            self.excess,
            tuple((m, o.tobytes()) for m, o, _ in self._occ),
        )

    def ln_activity(self, x: ArrayLike, T: ArrayLike, P: ArrayLike) -> np.ndarray:
        """ln a_i = ln a_i^ideal + ln γ_i, shape (n, m)."""
        return self.ln_ideal_activity(x) + self.ln_gamma(x, T, P)

    def activity(self, x: ArrayLike, T: ArrayLike, P: ArrayLike) -> np.ndarray:
        """Activities a_i, shape (n, m)."""
        return np.exp(self.ln_activity(x, T, P))

    def d_ln_ideal_activity_dx(self, x: ArrayLike) -> np.ndarray:
        """∂ ln a_i^ideal / ∂x_k treating the x_k as independent, shape (n, m, m)."""
        x = np.atleast_2d(np.asarray(x, dtype=float))
        out = np.zeros((x.shape[0], x.shape[1], x.shape[1]))
        for mult, occ, y in self._site_fractions(x):
            with np.errstate(divide="ignore", invalid="ignore"):
                inv = np.where(y > 0, 1.0 / np.where(y > 0, y, 1.0), np.inf)
                w = occ[:, None, :] * occ[None, :, :]  # (i, k, s)
                out += mult * np.where(w[None] > 0, w[None] * inv[:, None, None, :], 0.0).sum(
                    axis=-1
                )
        return out

    def dmu_dn(self, x: ArrayLike, T: ArrayLike, P: ArrayLike) -> np.ndarray:
        """∂μ_i/∂n_j at Σn = 1 (J/mol), ideal plus excess, shape (n, m, m); symmetric, rows sum (x-weighted) to 0."""
        x, T, P = self._prep(x, T, P)
        _n, m = x.shape
        Pm = np.eye(m)[None] - np.ones((1, m, 1)) * x[:, None, :]  # (I − 1 xᵀ)_ik = δ_ik − x_k
        D = self.d_ln_ideal_activity_dx(x)
        ideal = GAS_CONSTANT * T[:, None, None] * (D @ np.swapaxes(Pm, 1, 2))
        _, _, H = self._excess(x, T, P)
        ex = Pm @ H @ np.swapaxes(Pm, 1, 2)
        return ideal + ex

    def excess_hessian(self, x: ArrayLike, T: ArrayLike, P: ArrayLike) -> np.ndarray:
        """∂²G_ex/∂x_i∂x_j (mole fractions treated as independent), shape (n, m, m)."""
        x, T, P = self._prep(x, T, P)
        return self._excess(x, T, P)[2]


# ---------------------------------------------------------------------------- factories
_GRT = ("py", "alm", "spss", "gr")


def _one_site(m: int, mult: float) -> tuple[tuple[float, np.ndarray], ...]:
    return ((mult, np.eye(m)),)


def garnet_ideal() -> SolutionModel:
    """Ideal (Mg, Fe, Mn, Ca)3 garnet: a_i = X_i³. End-member order ``py, alm, spss, gr``."""
    return SolutionModel("grt-ideal", _GRT, _one_site(4, 3.0), None, "ideal mixing on 3 X sites")


def garnet_hodges_spear1982() -> SolutionModel:
    """Hodges & Spear (1982) garnet: symmetric Ca–Mg term W = 3300 − 1.5 T cal per cation (×3 per formula).

    RT ln γ_Ca = W X_Mg (1 − X_Ca) per site; a_grs = (X_Ca γ_Ca)³. Order ``py, alm, spss, gr``.
    """
    ex = MargulesExcess((((3, 0), 3300 * CAL, 1.5 * CAL, 0.0),), multiplicity=3.0)
    return SolutionModel(
        "hs82", _GRT, _one_site(4, 3.0), ex, "Hodges & Spear (1982) Am. Mineral. 67:1118"
    )


def garnet_berman1990() -> SolutionModel:
    """Berman (1990) quaternary garnet (per-site subregular W's ×3), as tabulated in JUN92.

    ``112`` = W x_i² x_j, ``122`` = W x_i x_j², ``123`` = ternary coefficient; binaries with Sps ideal.
    Order ``py, alm, spss, gr`` (indices 0, 1, 2, 3).
    """
    py, alm, sps, gr = 0, 1, 2, 3
    terms = (
        ((gr, gr, py), 21560.0, 18.79, 0.10),
        ((gr, py, py), 69200.0, 18.79, 0.10),
        ((gr, gr, alm), 20320.0, 5.08, 0.17),
        ((gr, alm, alm), 2620.0, 5.08, 0.09),
        ((py, py, alm), 230.0, 0.0, 0.01),
        ((py, alm, alm), 3720.0, 0.0, 0.06),
        ((gr, py, alm), 58825.0, 23.87, 0.265),
        ((gr, py, sps), 45424.0, 18.79, 0.1),
        ((gr, alm, sps), 11470.0, 5.08, 0.13),
        ((py, alm, sps), 1975.0, 0.0, 0.035),
    )
    return SolutionModel(
        "berman90",
        _GRT,
        _one_site(4, 3.0),
        MargulesExcess(terms, 3.0),
        "Berman (1990) Am. Mineral. 75:328",
    )


def garnet_white2014() -> SolutionModel:
    """White et al. (2014) garnet (ds62-consistent ASF), Fe³⁺-free subset ``py, alm, spss, gr``."""
    pairs = (
        (0, 1, 2500.0, 0.0, 0.0),
        (0, 2, 2000.0, 0.0, 0.0),
        (0, 3, 31000.0, 0.0, 0.0),
        (1, 2, 2000.0, 0.0, 0.0),
        (1, 3, 5000.0, 0.0, 0.0),
        (2, 3, 0.0, 0.0, 0.0),
    )
    return SolutionModel(
        "white14-g",
        _GRT,
        _one_site(4, 3.0),
        ASFExcess(pairs, (1.0, 1.0, 1.0, 2.7)),
        "White et al. (2014) JMG 32:261",
    )


def biotite_ideal() -> SolutionModel:
    """Ideal Fe–Mg biotite on 3 octahedral sites: a_phl = X_Mg³, a_ann = X_Fe³. Order ``phl, ann``."""
    return SolutionModel("bt-ideal", ("phl", "ann"), _one_site(2, 3.0), None, "ideal Fe–Mg mixing")


_PL = ("ab", "an", "san")
_AL_AVOID = (
    (1.0, np.eye(3)),
    (2.0, np.array([[0.5, 0.5], [1.0, 0.0], [0.5, 0.5]])),
)


def plagioclase_ideal() -> SolutionModel:
    """Al-avoidance ideal feldspar: a_an = X_an (1 + X_an)²/4, a_ab = X_ab (1 − X_an²). Order ``ab, an, san``."""
    return SolutionModel("pl-ideal", _PL, _AL_AVOID, None, "Kerrick & Darken (1975) Al avoidance")


def plagioclase_newton_haselton1981() -> SolutionModel:
    """Newton & Haselton (1981) plagioclase: Al avoidance × asymmetric Margules.

    RT ln γ_an = X_ab² [2050 + 2 X_an (6746 − 2050)] cal = (1 − X_an)² (2050 + 9392 X_an) cal, i.e.
    G_ex = X_an X_ab (6746 X_an + 2050 X_ab) cal. Order ``ab, an, san`` (san is ideal).
    """
    ab, an = 0, 1
    ex = MargulesExcess(
        (((an, an, ab), 6746 * CAL, 0.0, 0.0), ((an, ab, ab), 2050 * CAL, 0.0, 0.0))
    )
    return SolutionModel("nh81", _PL, _AL_AVOID, ex, "Newton & Haselton (1981)")


def plagioclase_fuhrman_lindsley1988() -> SolutionModel:
    """Fuhrman & Lindsley (1988) ternary feldspar (as tabulated in JUN92, polynomial form).

    The ternary coefficient 100045.5 J equals ½ Σ binary W's + W_OrAbAn (8700 J), the polynomial form of
    FL88's Wohl-type expansion. Order ``ab, an, san``.
    """
    ab, an, san = 0, 1, 2
    terms = (
        ((ab, san, san), 18810.0, 10.3, 0.394),
        ((ab, ab, san), 27320.0, 10.3, 0.394),
        ((ab, an, an), 28226.0, 0.0, 0.0),
        ((ab, ab, an), 8471.0, 0.0, 0.0),
        ((an, san, san), 52468.0, 0.0, -0.120),
        ((an, an, san), 47396.0, 0.0, 0.0),
        ((ab, an, san), 100045.5, 10.3, -0.76),
    )
    return SolutionModel(
        "fl88",
        _PL,
        _AL_AVOID,
        MargulesExcess(terms),
        "Fuhrman & Lindsley (1988) Am. Mineral. 73:201",
    )


def plagioclase_white2014() -> SolutionModel:
    """White et al. (2014) ``pl4tr`` (Holland & Powell 2003 Cbar1 feldspar), ds62-consistent.

    W(ab,an) = 14.6 − 0.00935 T − 0.04 P, W(ab,san) = 24.1 − 0.00957 T + 0.338 P, W(an,san) = 48.5 − 0.13 P
    (kJ, T in K, P in kbar): W_S = 9.35 and 9.57 **J/K**. v = (0.674, 0.55, 1). Sites: A (Na, Ca, K) and
    one tetrahedral site with Al¼Si¾ (ab, san) or Al½Si½ (an).
    """
    sites = (
        (1.0, np.eye(3)),
        (1.0, np.array([[0.25, 0.75], [0.5, 0.5], [0.25, 0.75]])),
    )
    pairs = (
        (0, 1, 14600.0, 9.35, -0.04),
        (0, 2, 24100.0, 9.57, 0.338),
        (1, 2, 48500.0, 0.0, -0.13),
    )
    return SolutionModel(
        "pl4tr", _PL, sites, ASFExcess(pairs, (0.674, 0.55, 1.0)), "White et al. (2014) JMG 32:261"
    )


def muscovite_white2014() -> SolutionModel:
    """Muscovite–paragonite binary of White et al. (2014): W = 10.12 + 0.0034 T + 0.353 P (kJ, K, kbar).

    i.e. W_H = 10120 J, W_S = −3.4 J/K, W_V = 0.353 J/bar; v(mu) = 0.63, v(pa) = 0.37; K/Na mixing on A.
    """
    pairs = ((0, 1, 10120.0, -3.4, 0.353),)
    return SolutionModel(
        "white14-mu",
        ("mu", "pa"),
        _one_site(2, 1.0),
        ASFExcess(pairs, (0.63, 0.37)),
        "White et al. (2014) JMG 32:261",
    )


_REGISTRY = {
    "grt-ideal": garnet_ideal,
    "hs82": garnet_hodges_spear1982,
    "berman90": garnet_berman1990,
    "white14-g": garnet_white2014,
    "bt-ideal": biotite_ideal,
    "pl-ideal": plagioclase_ideal,
    "nh81": plagioclase_newton_haselton1981,
    "fl88": plagioclase_fuhrman_lindsley1988,
    "pl4tr": plagioclase_white2014,
    "white14-mu": muscovite_white2014,
}


def get_solution_model(name: str) -> SolutionModel:
    """A solution model by name.

    Parameters
    ----------
    name : str
        One of ``grt-ideal, hs82, berman90, white14-g, bt-ideal, pl-ideal, nh81, fl88, pl4tr,
        white14-mu``.

    Returns
    -------
    SolutionModel
        A new instance of the model.
    """
    if name not in _REGISTRY:
        raise ModelError(f"unknown a–x model {name!r}; choose one of {', '.join(_REGISTRY)}")
    return _REGISTRY[name]()
