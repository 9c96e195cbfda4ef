r"""Gradient-based (Hamiltonian Monte Carlo) move for the hierarchical melting model.

Implementation behind ``MeltingInversion(sampler="hmc" | "gibbs+hmc")`` (reconstruction [R]; the
science notes, imaging_texture §F.2, suggest NUTS on the unconstrained parameters). One call updates
the location block :math:`(c, \kappa, u)` of every replica-exchange rung at once by HMC (Duane et al.
1987; Neal 2011, *MCMC using Hamiltonian dynamics*, Handbook of MCMC ch. 5) on the tempered target
:math:`\beta \log L + \log \pi`, with the analytic gradient

.. math:: \partial_{c_i} \log L = \textstyle\sum_j R_{ij}, \quad
          \partial_{\kappa_j} \log L = \textstyle\sum_i R_{ij}, \quad
          \partial_{u_j} \log L = \textstyle\sum_i R_{ij}\,
          \partial_F \log g(D_i, F_j)\, \mathrm{d}F_j/\mathrm{d}u_j,

:math:`R_{ij} = (y_{ij} - \mu_{ij})/\sigma_i^2` (Gaussian) or
:math:`(\nu+1) r_{ij}/(\nu\sigma_i^2 + r_{ij}^2)` (Student-t, ``noise_model="student"``), :math:`\partial_F \log g = -(1-D)/(D + F(1-D))`
(batch) or :math:`D^{-1}(1-F)^{1/D-1}/(1-(1-F)^{1/D}) - F^{-1}` (aggregated fractional),
:math:`\mathrm{d}F/\mathrm{d}u = (F_{hi}-F_{lo})\,\mathrm{expit}(u)(1-\mathrm{expit}(u))`.
The bound :math:`\kappa_j \ge \log k_{min}` is kept by reflecting position and momentum at the wall
(Neal 2011, §5.5.1), which preserves volume and reversibility. The noise :math:`\sigma` is held
fixed during the move, so the diagonal mass matrix may depend on it: it is the Gauss–Newton
curvature of each coordinate, with :math:`\partial_F \log g` taken at a fixed reference state (the
least-squares start), so that the mass does not depend on the moving coordinates. Step size and path
length are jittered (uniform) per call, which keeps the kernel reversible.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit

from petroinfer.errors import ModelError
from petroinfer.geochem._melting_model import MeltingModel
from petroinfer.geochem._melting_student import (
    draw_weights,
    gibbs_noise_weighted,
    student_score,
)

__all__ = ["MeltingHMC", "NoiseGibbs", "dlogg_dF"]


def dlogg_dF(model: str, D: np.ndarray, F: np.ndarray) -> np.ndarray:
    """Derivative of ``log(C_L/C_0)`` with respect to F (modal batch or aggregated fractional)."""
    if model == "batch":
        return -(1.0 - D) / (D + F * (1.0 - D))
    if model == "fractional":
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            log1mF = np.log1p(-F)
            return np.exp((1.0 / D - 1.0) * log1mF) / (D * (-np.expm1(log1mF / D))) - 1.0 / F
    raise ModelError(
        f"the gradient-based sampler supports batch and fractional models; got {model!r}"
    )


class MeltingHMC:
    """HMC move of ``(c, κ, u)`` for :class:`petroinfer.inference.ReplicaExchange` (see module doc).

    Parameters
    ----------
    mm : MeltingModel
        The model (batch or fractional, D known, modal).
    x_ref : numpy.ndarray
        Reference state (the least-squares start) where ``∂F log g`` is taken for the mass matrix.
    step : float
        Leapfrog step in mass-whitened units (jittered in [0.5, 1] × ``step``).
    n_leapfrog : int
        Maximum number of leapfrog steps (jittered in [n/2, n]).
    """

    def __init__(
        self, mm: MeltingModel, x_ref: np.ndarray, *, step: float = 0.7, n_leapfrog: int = 30
    ) -> None:
        if mm.model not in ("batch", "fractional") or mm.D_sd is not None or mm.P is not None:
            raise ModelError(
                "sampler='hmc' supports modal batch and fractional melting with known D; use "
                "sampler='gibbs' for two-stage, non-modal or uncertain-D models"
            )
        self.mm = mm
        self.step = float(step)
        self.n_leapfrog = int(n_leapfrog)
        # curvature bound of the u coordinates: max over u of (∂F log g · dF/du)², per element
        # (state independent, so the mass matrix does not depend on the moving coordinates)
        u_grid = np.linspace(-8.0, 8.0, 161)[:, None]
        dFdu = (mm.F_hi - mm.F_lo) * expit(u_grid) * (1 - expit(u_grid))
        J = dlogg_dF(mm.model, mm.D, mm.F_of(u_grid)) * dFdu
        self._J2 = np.broadcast_to(np.nanmax(J**2, axis=0), (mm.n, mm.p))  # (n, p)
        self.x_ref = x_ref
        self.accept_rate: list[float] = []

    # ------------------------------------------------------------------ pieces
    def _loc_slice(self) -> slice:
        s = self.mm.slices
        stop = s["u"].stop
        return slice(0, stop)  # c, κ (if any), u are contiguous at the start of the state

    def _prior_grad_c(self, c: np.ndarray) -> np.ndarray:
        mm = self.mm
        delta = c - mm.log_ref
        if mm.source_prior == "normal":
            return -delta / mm.source_sd**2
        p = mm.slab_probability_given(c)
        return -delta * (p / mm.slab_sd**2 + (1 - p) / mm.spike_sd**2)

    def log_target_and_grad(
        self, x: np.ndarray, betas: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Tempered log target ``β log L + log π`` of each replica and its gradient in (c, κ, u)."""
        mm = self.mm
        s = mm.slices
        u = x[:, s["u"]]
        F = mm.F_of(u)[:, :, None]
        G = mm.log_g(x)
        var = mm.sigma2(x)[:, None, :]
        mu = x[:, s["c"]][:, None, :] + mm.kappa(x)[:, :, None] + G
        if mm.student:  # ∂ log t_ν / ∂μ
            R = student_score(mm.y - mu, var, float(mm.df))
        else:
            R = (mm.y - mu) / var  # (L, n, p)
        b = betas[:, None]
        grad = np.zeros((x.shape[0], s["u"].stop))
        grad[:, s["c"]] = b * R.sum(axis=1) + self._prior_grad_c(x[:, s["c"]])
        if mm.fractionation:
            grad[:, s["kappa"]] = b * R.sum(axis=2) - (x[:, s["kappa"]] - mm.k_mu) / mm.k_sd**2
        dFdu = (mm.F_hi - mm.F_lo) * expit(u) * (1 - expit(u))
        dldu = (R * dlogg_dF(mm.model, mm.D, F)).sum(axis=2) * dFdu
        if mm.u_logistic:
            dpu = 1.0 - 2.0 * expit(u)
        else:
            dpu = -(u - mm.u_mu) / mm.u_sd**2
        grad[:, s["u"]] = b * dldu + dpu
        logt = betas * mm.loglik(x) + mm.logprior(x)
        return logt, np.nan_to_num(grad, nan=0.0, posinf=0.0, neginf=0.0)

    def _mass(self, x: np.ndarray, betas: np.ndarray) -> np.ndarray:
        mm = self.mm
        s = mm.slices
        w = 1.0 / mm.sigma2(x)  # (L, p)
        if mm.student:  # Fisher information of the Student-t location: (ν+1)/((ν+3)σ²)
            w = w * (mm.df + 1.0) / (mm.df + 3.0)
        b = betas[:, None]
        m = np.empty((x.shape[0], s["u"].stop))
        prior_c = 1.0 / (mm.source_sd if mm.source_prior == "normal" else mm.slab_sd) ** 2
        m[:, s["c"]] = prior_c + b * mm.n * w
        if mm.fractionation:
            m[:, s["kappa"]] = 1.0 / mm.k_sd**2 + b * w.sum(axis=1, keepdims=True)
        prior_u = 1.0 / (1.8**2 if mm.u_logistic else mm.u_sd**2)
        m[:, s["u"]] = prior_u + b * (w[:, None, :] * self._J2[None]).sum(axis=2)
        return m

    # ------------------------------------------------------------------ the move
    def __call__(self, x, betas, ll, lp, rng):
        mm = self.mm
        s = mm.slices
        loc = self._loc_slice()
        x = x.copy()
        L = x.shape[0]
        m = self._mass(x, betas)
        eps = self.step * rng.uniform(0.5, 1.0, size=(L, 1))  # leapfrog step (per rung)
        n_lf = int(rng.integers(max(1, self.n_leapfrog // 2), self.n_leapfrog + 1))
        p = rng.standard_normal((L, loc.stop)) * np.sqrt(m)  # momentum ~ N(0, M)
        logt0, g = self.log_target_and_grad(x, betas)
        h0 = -logt0 + 0.5 * (p**2 / m).sum(axis=1)
        x1 = x.copy()
        kap = s["kappa"] if mm.fractionation and np.isfinite(mm.kappa_lo) else None
        p = p + 0.5 * eps * g
        for i in range(n_lf):
            x1[:, loc] += eps * p / m
            if kap is not None:  # reflect at κ = log k_min (Neal 2011, §5.5.1)
                below = x1[:, kap] < mm.kappa_lo
                x1[:, kap] = np.where(below, 2 * mm.kappa_lo - x1[:, kap], x1[:, kap])
                p[:, kap] = np.where(below, -p[:, kap], p[:, kap])
            logt1, g = self.log_target_and_grad(x1, betas)
            p = p + (eps if i < n_lf - 1 else 0.5 * eps) * g
        h1 = -logt1 + 0.5 * (p**2 / m).sum(axis=1)
        log_a = np.nan_to_num(h0 - h1, nan=-np.inf)
        acc = np.log(rng.random(L)) < log_a
        x[acc] = x1[acc]
        self.accept_rate.append(float(acc[int(np.argmax(betas))]))
        return x, mm.loglik(x), mm.logprior(x)


class NoiseGibbs:
    """The exact inverse-gamma draw of the noise variances alone (used with ``sampler="hmc"``).

    For Student-t noise the latent weights ω are drawn first and discarded after the σ draw
    (see :mod:`petroinfer.geochem._melting_student`).
    """

    def __init__(self, mm: MeltingModel) -> None:
        self.mm = mm

    def __call__(self, x, betas, ll, lp, rng):
        x = x.copy()
        if self.mm.noise is None and self.mm.student:  # σ | ω, θ after ω | θ (then ω discarded)
            gibbs_noise_weighted(self.mm, x, draw_weights(self.mm, x, betas, rng), betas, rng)
        elif self.mm.noise is None:
            self.mm._gibbs_noise(x, betas, rng)
        return x, self.mm.loglik(x), self.mm.logprior(x)
