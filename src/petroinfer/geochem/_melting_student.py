r"""Student-t noise for the hierarchical melting model: density and tempered scale-mixture Gibbs steps.

Implementation behind ``MeltingInversion(noise_model="student")`` (science notes imaging_texture
§F.2 [R]: Student-t with ν = 4 on log C, to limit the influence of altered or mobile analyses).
Pointwise, with residual :math:`r_{ij} = \log C^{obs}_{ij} - \mu_{ij}` and scale :math:`\sigma_i`,

.. math:: t_\nu(r \mid \sigma) = \frac{\Gamma(\frac{\nu+1}{2})}{\Gamma(\frac{\nu}{2})
          \sqrt{\nu\pi}\,\sigma}\Bigl(1 + \frac{r^2}{\nu\sigma^2}\Bigr)^{-\frac{\nu+1}{2}}

(e.g. Gelman et al. 2013, *Bayesian Data Analysis*, 3rd ed., appendix A). This marginal density is
what the likelihood (and so the replica-exchange stepping-stone evidence) uses.

**Tempered scale mixture.** A replica at inverse temperature β targets :math:`\pi(\theta)\,
\prod_{ij} t_\nu(r_{ij})^\beta`. The usual Gaussian scale mixture (Andrews & Mallows 1974;
Geweke 1993, *J. Appl. Econometrics* 8:S19–S40) :math:`t_\nu = \int N(r \mid 0, \sigma^2/\omega)\,
\mathrm{Gamma}(\omega \mid \nu/2, \nu/2)\,d\omega` does not survive the power β. Instead, with
:math:`\gamma = \beta(\nu+1)/2` and the Gamma integral
:math:`(1+q)^{-\gamma} = \Gamma(\gamma)^{-1} \int_0^\infty \lambda^{\gamma-1} e^{-\lambda(1+q)}\,
d\lambda`, :math:`q = r^2/(\nu\sigma^2)`, the tempered density is the marginal of

.. math:: K_\nu^\beta\,\sigma^{-\beta}\;
          \frac{\lambda^{\gamma-1} e^{-\lambda}}{\Gamma(\gamma)}\;
          \exp\!\Bigl(-\frac{\omega\, r^2}{2\sigma^2}\Bigr),
          \qquad \omega = 2\lambda/\nu,

exact for every β > 0 (:math:`K_\nu` the constant above). Hence (i) :math:`\omega_{ij} \mid \theta
\sim \mathrm{Gamma}(\text{shape } \beta(\nu+1)/2,\ \text{rate } (\nu + r_{ij}^2/\sigma_i^2)/2)`;
(ii) given ω the location block :math:`(\log C_0, \log k)` is Gaussian with per-observation
precision :math:`\omega_{ij}/\sigma_i^2` (no β factor: the temperature lives in the Gamma shape);
(iii) :math:`\sigma_i^2 \mid \omega, \theta \sim \mathrm{IG}(a + \beta n/2,\ b + \sum_j \omega_{ij}
r_{ij}^2/2)`. At β = 1 (i) is the familiar :math:`\mathrm{Gamma}((\nu+1)/2, (\nu + r^2/\sigma^2)/2)`
of the Student-t EM/Gibbs algorithms (Lange, Little & Taylor 1989, *JASA* 84:881–896). ω is drawn
afresh at the start of each sweep and discarded after the σ draw (data augmentation), so every other
move of the sweep works on the marginal Student-t target and the state vector is unchanged.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from scipy.special import gammaln

if TYPE_CHECKING:
    from petroinfer.geochem._melting_model import MeltingModel

__all__ = [
    "draw_weights",
    "gibbs_location_weighted",
    "gibbs_noise_weighted",
    "student_logpdf",
    "student_score",
]


def student_logpdf(y: np.ndarray, mu: np.ndarray, var: np.ndarray | float, nu: float) -> np.ndarray:
    """Log density of the location–scale Student-t ``t_ν(y | μ, σ² = var)`` (elementwise)."""
    z2 = (y - mu) ** 2 / var
    return (
        gammaln(0.5 * (nu + 1.0))
        - gammaln(0.5 * nu)
        - 0.5 * np.log(nu * np.pi * var)
        - 0.5 * (nu + 1.0) * np.log1p(z2 / nu)
    )


def student_score(r: np.ndarray, var: np.ndarray | float, nu: float) -> np.ndarray:
    r"""``∂ log t_ν / ∂μ`` at residual ``r = y − μ``: :math:`(\nu+1) r / (\nu\sigma^2 + r^2)`."""
    return (nu + 1.0) * r / (nu * var + r**2)


def draw_weights(
    mm: MeltingModel, x: np.ndarray, betas: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    r"""Latent precision weights :math:`\omega_{ij} \mid \theta` of every rung, shape ``(L, n, p)``."""
    nu = float(mm.df)
    var = mm.sigma2(x)[:, None, :]
    q = (mm.y - mm.mean(x)) ** 2 / var
    shape = np.broadcast_to((0.5 * (nu + 1.0) * betas)[:, None, None], q.shape)
    return rng.gamma(shape) / (0.5 * (nu + q))


def gibbs_location_weighted(
    mm: MeltingModel, x: np.ndarray, prec: np.ndarray, rng: np.random.Generator
) -> None:
    r"""Draw :math:`(c, \kappa)` given per-observation precisions ``prec`` ``(L, n, p)`` (in place).

    Joint Gaussian full conditional: precision blocks :math:`a_i = 1/v_i + \sum_j P_{ij}`,
    :math:`d_j = 1/s_k^2 + \sum_i P_{ij}`, coupling :math:`P_{ij}`; c is drawn from its marginal
    (Schur complement :math:`\mathrm{diag}(a) - \sum_j P_{\cdot j} P_{\cdot j}^T / d_j`), then
    :math:`\kappa \mid c`. Under the bound :math:`\kappa \ge \log k_{min}` the joint draw is an
    independence proposal accepted inside the support, followed by exact blockwise truncated draws
    and the prior-only common shift, as in the Gaussian sweep of :class:`MeltingModel`.
    """
    L, n, p = x.shape[0], mm.n, mm.p
    s = mm.slices
    v0c = mm.source_prior_variance(x, rng)
    r = mm.y - mm.log_g(x)  # (L, n, p)
    pr = prec * r
    a = 1.0 / v0c + prec.sum(axis=1)
    rc = mm.log_ref / v0c + pr.sum(axis=1)
    if not mm.fractionation:
        x[:, s["c"]] = rc / a + rng.standard_normal((L, p)) / np.sqrt(a)
        return
    d = 1.0 / mm.k_sd**2 + prec.sum(axis=2)  # (L, n)
    rk = mm.k_mu / mm.k_sd**2 + pr.sum(axis=2)  # (L, n)
    Qc = -np.einsum("ljp,ljq->lpq", prec / d[:, :, None], prec)
    Qc[:, np.arange(p), np.arange(p)] += a
    rhs = rc - (prec * (rk / d)[:, :, None]).sum(axis=1)
    R = np.linalg.cholesky(Qc)
    z = rng.standard_normal((L, p, 1))
    mean = np.linalg.solve(Qc, rhs[..., None])[..., 0]
    c = mean + np.linalg.solve(np.swapaxes(R, 1, 2), z)[..., 0]
    mk = (rk - (prec * c[:, None, :]).sum(axis=2)) / d
    kappa = mk + rng.standard_normal((L, n)) / np.sqrt(d)
    if mm.k_min is None:
        x[:, s["c"]] = c
        x[:, s["kappa"]] = kappa
        return
    ok = (kappa >= mm.kappa_lo).all(axis=1)
    x[ok, s["c"]] = c[ok]
    x[ok, s["kappa"]] = kappa[ok]
    _blocks_weighted(mm, x, prec, r, v0c, rng)


def _blocks_weighted(
    mm: MeltingModel,
    x: np.ndarray,
    prec: np.ndarray,
    r: np.ndarray,
    v0c: np.ndarray,
    rng: np.random.Generator,
) -> None:
    """Exact blockwise draws c | κ, κ | c (truncated) and the common shift, per-observation weights."""
    from petroinfer.geochem._melting_model import _truncnorm

    s = mm.slices
    n = mm.n
    kappa = x[:, s["kappa"]]
    a = 1.0 / v0c + prec.sum(axis=1)
    rc = mm.log_ref / v0c + (prec * (r - kappa[:, :, None])).sum(axis=1)
    c = rc / a + rng.standard_normal(a.shape) / np.sqrt(a)
    d = 1.0 / mm.k_sd**2 + prec.sum(axis=2)
    rk = mm.k_mu / mm.k_sd**2 + (prec * (r - c[:, None, :])).sum(axis=2)
    kappa = mm.sample_kappa(rng, rk / d, 1.0 / np.sqrt(d))
    pshift = (1.0 / v0c).sum(axis=1) + n / mm.k_sd**2
    m = ((mm.log_ref - c) / v0c).sum(axis=1) + (kappa - mm.k_mu).sum(axis=1) / mm.k_sd**2
    m = m / pshift
    hi = kappa.min(axis=1) - mm.kappa_lo
    shift = _truncnorm(m, 1.0 / np.sqrt(pshift), -np.inf, hi, rng.random(m.shape))
    x[:, s["c"]] = c + shift[:, None]
    x[:, s["kappa"]] = kappa - shift[:, None]


def gibbs_noise_weighted(
    mm: MeltingModel,
    x: np.ndarray,
    omega: np.ndarray,
    betas: np.ndarray,
    rng: np.random.Generator,
) -> None:
    r""":math:`\sigma_i^2 \sim \mathrm{IG}(a + \beta n/2, b + \sum_j \omega_{ij} r_{ij}^2/2)` (in place)."""
    ss = (omega * (mm.y - mm.mean(x)) ** 2).sum(axis=1)  # (L, p)
    shape = mm.ig_shape + betas[:, None] * mm.n / 2.0
    rate = mm.ig_scale + ss / 2.0
    # one Gamma variate per element and rung: the sigma_i are conditionally independent
    x[:, mm.slices["logsig"]] = 0.5 * np.log(rate / rng.gamma(np.broadcast_to(shape, rate.shape)))
