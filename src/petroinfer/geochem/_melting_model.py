r"""The hierarchical melting model: state layout, likelihood, prior and a tempered Gibbs sweep.

Implementation behind :class:`petroinfer.geochem.melting.MeltingInversion` (reconstruction [R] of
geochem notes §5 and §F.2). Samples j = 1…n, elements i = 1…p,

.. math:: \log C^{obs}_{ij} = c_i + \kappa_j + \log g(D_i e^{v_i}, F_j) + \varepsilon_{ij},
          \qquad \varepsilon_{ij} \sim N(0, \sigma_i^2),

with :math:`c = \log C_0`, :math:`\kappa_j = \log k_j`, :math:`g` the melt/source ratio of the melting
model (``noise_model="student"``: :math:`\varepsilon_{ij} \sim t_\nu(0, \sigma_i^2)`, sampled by the
tempered scale mixture of :mod:`petroinfer.geochem._melting_student`, which replaces steps (2)–(3)).
State vector of one replica: ``[c (p), κ (n, if fractionation), u (n), log σ (p, if estimated),
v (p, if D uncertain), w (1, if two-stage)]``; :math:`F_j = F_{lo} + (F_{hi}-F_{lo})\,\mathrm{expit}(u_j)`,
:math:`F_t = F_{hi}\,\mathrm{expit}(w)`.

The sweep (one call per replica-exchange sweep, all rungs at once, each step leaving the tempered
target :math:`L^\beta \pi` invariant): (1) for the spike-and-slab source prior, slab indicators drawn
given :math:`c` (data augmentation); (2) :math:`(c, \kappa)` jointly from their Gaussian full
conditional — under the bound :math:`\kappa_j \ge \log k_{min}` (default :math:`k \ge 1`) as an
independence proposal accepted inside the support, followed by exact blockwise truncated draws and
the common shift :math:`(c + a, \kappa - a)` (a generalised Gibbs step along a translation group,
Liu & Sabatti 2000, JASA 95:1497–1510); (3) :math:`\sigma_i^2` from its inverse-gamma full
conditional (one independent Gamma variate per element and rung); (4) Metropolis updates of each
:math:`u_j` along the :math:`(F_j, k_j)` trade-off ridge (κ shifted by the mean change of
:math:`\log g`, a volume-preserving shear) and plain (the ridge only exists near β = 1; near β = 0
F and k are independent under the prior); (5) a global ridge move shifting every :math:`u_j` and
:math:`c`; (6) Metropolis updates of :math:`v_i` and :math:`w`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import expit, log_ndtr, ndtr, ndtri

from petroinfer.geochem._melting_forward import log_melt_ratio
from petroinfer.geochem._melting_student import (
    draw_weights,
    gibbs_location_weighted,
    gibbs_noise_weighted,
    student_logpdf,
)

__all__ = ["MeltingModel"]

_LOG2PI = float(np.log(2.0 * np.pi))
_SCALES = np.array([0.3, 1.0, 3.0])  # proposal-scale mixture (symmetric, state independent)
_WIDE = np.array([0.25, 1.0, 4.0, 16.0])  # for the melt fractions (long tails near the F bounds)


def _norm_logpdf(x: np.ndarray, mu: np.ndarray | float, var: np.ndarray | float) -> np.ndarray:
    return -0.5 * (_LOG2PI + np.log(var) + (x - mu) ** 2 / var)


def _truncnorm(
    mean: np.ndarray, sd: np.ndarray | float, lo: float | np.ndarray, hi: float | np.ndarray, z
) -> np.ndarray:
    """Inverse-CDF draws of N(mean, sd²) truncated to [lo, hi] from uniforms ``z`` (vectorised).

    Works on the side of the mean where the tail mass is larger, so that the CDF differences stay
    accurate far in the tails.
    """
    mean = np.asarray(mean, dtype=float)
    sd = np.broadcast_to(np.asarray(sd, dtype=float), mean.shape)
    a = (np.asarray(lo, dtype=float) - mean) / sd
    bb = (np.asarray(hi, dtype=float) - mean) / sd
    flip = a > 0  # lower bound above the mean: mirror, so that ndtr is evaluated in its left tail
    lo_s = np.where(flip, -bb, a)
    hi_s = np.where(flip, -a, bb)
    pa, pb = ndtr(lo_s), ndtr(hi_s)
    q = ndtri(np.clip(pa + z * (pb - pa), 1e-300, 1.0 - 1e-16))
    q = np.clip(q, lo_s, hi_s)
    return mean + sd * np.where(flip, -q, q)


@dataclass
class MeltingModel:
    """Data, prior and layout of one hierarchical melting problem (see the module docstring)."""

    y: np.ndarray  # (n, p) log observed concentrations
    log_ref: np.ndarray  # (p,) log reference source
    D: np.ndarray  # (p,) bulk D (first stage for two-stage)
    model: str
    P: np.ndarray | None = None
    D_second: np.ndarray | None = None
    source_prior: str = "normal"  # or "spike_slab"
    source_sd: float = 0.3
    slab_probability: float = 0.2
    spike_sd: float = 0.02
    slab_sd: float = 0.5
    fractionation: bool = True
    k_mu: float = float(np.log(1.4))
    k_sd: float = 0.3
    k_min: float | None = 1.0  # hard lower bound of k (k >= 1: enrichment by crystallisation)
    F_lo: float = 0.001
    F_hi: float = 0.4
    u_mu: float = 0.0
    u_sd: float = 1.0
    u_logistic: bool = False  # u ~ Logistic(0, 1), i.e. F uniform on (F_lo, F_hi)
    noise: float | None = None  # fixed sigma (log units) or None = estimated per element
    ig_shape: float = 2.0
    ig_scale: float = 0.01
    D_sd: float | None = None
    n_sweep_F: int = 1
    noise_model: str = "gaussian"  # or "student": Student-t on log C (see _melting_student)
    df: float = 4.0  # degrees of freedom ν of the Student-t

    def __post_init__(self) -> None:
        n, p = self.y.shape
        self.n, self.p = n, p
        sizes = [
            ("c", p),
            ("kappa", n if self.fractionation else 0),
            ("u", n),
            ("logsig", p if self.noise is None else 0),
            ("v", p if self.D_sd is not None else 0),
            ("w", 1 if self.model == "two_stage" else 0),
        ]
        self.slices: dict[str, slice] = {}
        start = 0
        for name, size in sizes:
            self.slices[name] = slice(start, start + size)
            start += size
        self.dim = start
        self.kappa_lo = -np.inf if self.k_min is None else float(np.log(self.k_min))

    # ------------------------------------------------------------------ transforms
    def F_of(self, u: np.ndarray) -> np.ndarray:
        return self.F_lo + (self.F_hi - self.F_lo) * expit(u)

    def Ft_of(self, w: np.ndarray) -> np.ndarray:
        return self.F_hi * expit(w)

    def names(self, samples: list[str], elements: list[str]) -> list[str]:
        out = [f"logC0[{e}]" for e in elements]
        if self.fractionation:
            out += [f"logk[{s}]" for s in samples]
        out += [f"u[{s}]" for s in samples]
        if self.noise is None:
            out += [f"logsigma[{e}]" for e in elements]
        if self.D_sd is not None:
            out += [f"logDfactor[{e}]" for e in elements]
        if self.model == "two_stage":
            out += ["w_transition"]
        return out

    def parts(self, x: np.ndarray) -> dict[str, np.ndarray]:
        return {k: x[..., s] for k, s in self.slices.items()}

    def sigma2(self, x: np.ndarray) -> np.ndarray:
        if self.noise is None:
            return np.exp(2.0 * x[..., self.slices["logsig"]])
        return np.full((*x.shape[:-1], self.p), float(self.noise) ** 2)

    def kappa(self, x: np.ndarray) -> np.ndarray:
        if self.fractionation:
            return x[..., self.slices["kappa"]]
        return np.zeros((*x.shape[:-1], self.n))

    def log_g(self, x: np.ndarray, u: np.ndarray | None = None) -> np.ndarray:
        """``log g(D, F)``, shape ``(L, n, p)`` (``u`` overrides the state's u)."""
        F = self.F_of(x[..., self.slices["u"]] if u is None else u)[..., None]
        scale = np.exp(x[..., self.slices["v"]])[..., None, :] if self.D_sd is not None else 1.0
        D = self.D * scale
        kw: dict = {}
        if self.P is not None:
            kw["P"] = self.P * scale
        if self.model == "two_stage":
            kw["D_second"] = self.D_second * scale
            kw["F_transition"] = self.Ft_of(x[..., self.slices["w"]])[..., None]
        return log_melt_ratio(self.model, D, F, **kw)

    def mean(self, x: np.ndarray, u: np.ndarray | None = None) -> np.ndarray:
        """Predicted log concentration ``(L, n, p)``."""
        c = x[..., self.slices["c"]][..., None, :]
        return c + self.kappa(x)[..., :, None] + self.log_g(x, u)

    # ------------------------------------------------------------------ densities
    @property
    def student(self) -> bool:
        return self.noise_model == "student"

    def _pointwise(self, mu: np.ndarray, var: np.ndarray) -> np.ndarray:
        """Pointwise log density of the data given the predicted log concentration ``mu``."""
        if self.student:
            return student_logpdf(self.y, mu, var, float(self.df))
        return _norm_logpdf(self.y, mu, var)

    def loglik_terms(self, x: np.ndarray, u: np.ndarray | None = None) -> np.ndarray:
        """Pointwise log-likelihood ``(L, n, p)`` (Gaussian or marginal Student-t)."""
        var = self.sigma2(x)[..., None, :]
        return self._pointwise(self.mean(x, u), var)

    def loglik(self, x: np.ndarray) -> np.ndarray:
        x = np.atleast_2d(x)
        out = self.loglik_terms(x).sum(axis=(-2, -1))
        return np.where(np.isfinite(out), out, -1e300)

    def log_u_prior(self, u: np.ndarray) -> np.ndarray:
        """Prior log density of the scaled melt fractions u (normal, or logistic = uniform F)."""
        if self.u_logistic:
            return -u - 2.0 * np.log1p(np.exp(-u))
        return _norm_logpdf(u, self.u_mu, self.u_sd**2)

    def log_k_prior(self, kappa: np.ndarray) -> np.ndarray:
        r"""Prior log density of :math:`\kappa = \log k`: normal truncated to :math:`\kappa \ge
        \log k_{min}` (``-inf`` below), normalised so that the evidence stays exact."""
        out = _norm_logpdf(kappa, self.k_mu, self.k_sd**2)
        if self.k_min is None:
            return out
        out = out - log_ndtr((self.k_mu - self.kappa_lo) / self.k_sd)
        return np.where(kappa >= self.kappa_lo, out, -np.inf)

    def sample_kappa(
        self, rng: np.random.Generator, mean: np.ndarray, sd: np.ndarray | float
    ) -> np.ndarray:
        """Draws of N(mean, sd²) truncated to κ ≥ log k_min (inverse-CDF, vectorised)."""
        mean = np.asarray(mean, dtype=float)
        z = rng.random(mean.shape)
        if self.k_min is None:
            return mean + sd * ndtri(np.clip(z, 1e-300, 1.0 - 1e-16))
        return _truncnorm(mean, sd, self.kappa_lo, np.inf, z)

    def log_source_prior(self, c: np.ndarray) -> np.ndarray:
        delta = c - self.log_ref
        if self.source_prior == "normal":
            return _norm_logpdf(delta, 0.0, self.source_sd**2)
        a = np.log(self.slab_probability) + _norm_logpdf(delta, 0.0, self.slab_sd**2)
        b = np.log1p(-self.slab_probability) + _norm_logpdf(delta, 0.0, self.spike_sd**2)
        return np.logaddexp(a, b)

    def slab_probability_given(self, c: np.ndarray) -> np.ndarray:
        """P(slab | δ) for each element (the Rao–Blackwellised inclusion probability)."""
        delta = c - self.log_ref
        a = np.log(self.slab_probability) + _norm_logpdf(delta, 0.0, self.slab_sd**2)
        b = np.log1p(-self.slab_probability) + _norm_logpdf(delta, 0.0, self.spike_sd**2)
        return np.exp(a - np.logaddexp(a, b))

    def logprior(self, x: np.ndarray) -> np.ndarray:
        x = np.atleast_2d(x)
        s = self.slices
        lp = self.log_source_prior(x[:, s["c"]]).sum(axis=1)
        if self.fractionation:
            lp += self.log_k_prior(x[:, s["kappa"]]).sum(axis=1)
        lp += self.log_u_prior(x[:, s["u"]]).sum(axis=1)
        if self.noise is None:
            ls = x[:, s["logsig"]]
            s2 = np.exp(2.0 * ls)
            a, b = self.ig_shape, self.ig_scale
            from scipy.special import gammaln

            lp += (
                a * np.log(b) - gammaln(a) - (a + 1) * np.log(s2) - b / s2 + np.log(2.0 * s2)
            ).sum(axis=1)
        if self.D_sd is not None:
            lp += _norm_logpdf(x[:, s["v"]], 0.0, self.D_sd**2).sum(axis=1)
        if self.model == "two_stage":
            w = x[:, s["w"]][:, 0]
            lp += -w - 2.0 * np.log1p(np.exp(-w))
        return lp

    def prior_sample(self, rng: np.random.Generator, m: int) -> np.ndarray:
        s = self.slices
        x = np.empty((m, self.dim))
        if self.source_prior == "normal":
            x[:, s["c"]] = self.log_ref + self.source_sd * rng.standard_normal((m, self.p))
        else:
            slab = rng.random((m, self.p)) < self.slab_probability
            sd = np.where(slab, self.slab_sd, self.spike_sd)
            x[:, s["c"]] = self.log_ref + sd * rng.standard_normal((m, self.p))
        if self.fractionation:
            x[:, s["kappa"]] = self.sample_kappa(rng, np.full((m, self.n), self.k_mu), self.k_sd)
        if self.u_logistic:
            x[:, s["u"]] = rng.logistic(0.0, 1.0, (m, self.n))
        else:
            x[:, s["u"]] = self.u_mu + self.u_sd * rng.standard_normal((m, self.n))
        if self.noise is None:
            s2 = self.ig_scale / rng.gamma(self.ig_shape, 1.0, (m, self.p))
            x[:, s["logsig"]] = 0.5 * np.log(s2)
        if self.D_sd is not None:
            x[:, s["v"]] = self.D_sd * rng.standard_normal((m, self.p))
        if self.model == "two_stage":
            x[:, s["w"]] = rng.logistic(0.0, 1.0, (m, 1))
        return x

    # ------------------------------------------------------------------ Gibbs sweep
    def __call__(self, x, betas, ll, lp, rng):
        x = x.copy()
        if self.student:  # scale-mixture data augmentation (ω drawn, used, discarded)
            omega = draw_weights(self, x, betas, rng)
            gibbs_location_weighted(self, x, omega / self.sigma2(x)[:, None, :], rng)
            if self.noise is None:
                gibbs_noise_weighted(self, x, omega, betas, rng)
        else:
            self._gibbs_location(x, betas, rng)
            if self.noise is None:
                self._gibbs_noise(x, betas, rng)
        for _ in range(self.n_sweep_F):
            self._mh_F(x, betas, rng, ridge=self.fractionation)
            if self.fractionation:
                # and a plain step: near beta = 0 F and k are independent (no ridge), and the
                # ridge step alone left the low rungs far from their law for ~50 sweeps
                self._mh_F(x, betas, rng, ridge=False)
        self._mh_global(x, betas, rng)
        self._mh_global(x, betas, rng)
        if self.D_sd is not None:
            self._mh_D(x, betas, rng)
        if self.model == "two_stage":
            self._mh_transition(x, betas, rng)
        return x, self.loglik(x), self.logprior(x)

    def source_prior_variance(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Prior variance ``(L, p)`` of each source deviation c_i: ``source_sd²`` (normal prior), or
        the slab or spike variance drawn from the conditional inclusion probability (sparse prior)."""
        L, p = x.shape[0], self.p
        if self.source_prior == "normal":
            return np.full((L, p), self.source_sd**2)
        pz = self.slab_probability_given(x[:, self.slices["c"]])
        slab = rng.random((L, p)) < pz
        return np.where(slab, self.slab_sd**2, self.spike_sd**2)

    def _gibbs_location(self, x: np.ndarray, betas: np.ndarray, rng: np.random.Generator) -> None:
        """Draw (c, κ) from their joint Gaussian full conditional under L^β π.

        The precision is ``[[diag(a), β w 1ᵀ], [β 1 wᵀ, d I]]`` (``a_i = 1/v_i + βn w_i``,
        ``d = 1/s_k² + β Σ_i w_i``): c is drawn from its marginal (precision ``diag(a) − (nβ²/d) w wᵀ``,
        the Schur complement) and then κ | c elementwise.
        """
        L, n, p = x.shape[0], self.n, self.p
        s = self.slices
        v0c = self.source_prior_variance(x, rng)
        w = 1.0 / self.sigma2(x)  # (L, p)
        r = self.y - self.log_g(x)  # (L, n, p)
        b = betas[:, None]
        a = 1.0 / v0c + b * n * w
        rc = self.log_ref / v0c + b * (w[:, None, :] * r).sum(axis=1)
        if not self.fractionation:
            x[:, s["c"]] = rc / a + rng.standard_normal((L, p)) / np.sqrt(a)
            return
        d = 1.0 / self.k_sd**2 + b * w.sum(axis=1, keepdims=True)  # (L, 1)
        rk = self.k_mu / self.k_sd**2 + b * (w[:, None, :] * r).sum(axis=2)  # (L, n)
        g = n * b**2 / d  # (L, 1)
        Qc = -(g[:, :, None] * w[:, :, None] * w[:, None, :])
        Qc[:, np.arange(p), np.arange(p)] += a
        rhs = rc - b * w * rk.sum(axis=1, keepdims=True) / d
        R = np.linalg.cholesky(Qc)
        z = rng.standard_normal((L, p, 1))
        both = np.concatenate([rhs[..., None], z], axis=2)
        sol = np.linalg.solve(Qc, both)
        noise = np.linalg.solve(np.swapaxes(R, 1, 2), z)[..., 0]
        c = sol[..., 0] + noise
        mk = (rk - b * (w * c).sum(axis=1, keepdims=True)) / d
        kappa = mk + rng.standard_normal((L, n)) / np.sqrt(d)
        if self.k_min is None:
            x[:, s["c"]] = c
            x[:, s["kappa"]] = kappa
            return
        # k >= k_min: the joint draw is an independence proposal from the untruncated conditional,
        # accepted exactly when it lies in the support; then exact blockwise truncated updates.
        ok = (kappa >= self.kappa_lo).all(axis=1)
        x[ok, s["c"]] = c[ok]
        x[ok, s["kappa"]] = kappa[ok]
        self._gibbs_blocks(x, b, w, r, v0c, rng)

    def _gibbs_blocks(
        self,
        x: np.ndarray,
        b: np.ndarray,
        w: np.ndarray,
        r: np.ndarray,
        v0c: np.ndarray,
        rng: np.random.Generator,
    ) -> None:
        r"""Exact blockwise updates under the truncated k prior (all rungs at once).

        (i) :math:`c \mid \kappa` (independent Gaussians); (ii) :math:`\kappa_j \mid c` (independent
        normals truncated to :math:`\kappa_j \ge \log k_{min}`); (iii) the common shift
        :math:`(c + a, \kappa - a)`, which leaves the likelihood unchanged, so that :math:`a` has a
        Gaussian full conditional from the priors alone, truncated to
        :math:`a \le \min_j \kappa_j - \log k_{min}`. Each is a Gibbs step of
        :math:`L^\beta \pi`; the shift moves along the ridge that only the priors pin down.
        """
        s = self.slices
        n = self.n
        kappa = x[:, s["kappa"]]
        a = 1.0 / v0c + b * n * w
        rc = self.log_ref / v0c + b * (w[:, None, :] * (r - kappa[:, :, None])).sum(axis=1)
        c = rc / a + rng.standard_normal(a.shape) / np.sqrt(a)
        d = 1.0 / self.k_sd**2 + b * w.sum(axis=1, keepdims=True)
        rk = self.k_mu / self.k_sd**2 + b * (w[:, None, :] * (r - c[:, None, :])).sum(axis=2)
        kappa = self.sample_kappa(rng, rk / d, 1.0 / np.sqrt(d))
        prec = (1.0 / v0c).sum(axis=1) + n / self.k_sd**2
        m = ((self.log_ref - c) / v0c).sum(axis=1) + (kappa - self.k_mu).sum(axis=1) / self.k_sd**2
        m = m / prec
        hi = kappa.min(axis=1) - self.kappa_lo
        shift = _truncnorm(m, 1.0 / np.sqrt(prec), -np.inf, hi, rng.random(m.shape))
        x[:, s["c"]] = c + shift[:, None]
        x[:, s["kappa"]] = kappa - shift[:, None]

    def _gibbs_noise(self, x: np.ndarray, betas: np.ndarray, rng: np.random.Generator) -> None:
        ss = ((self.y - self.mean(x)) ** 2).sum(axis=1)  # (L, p)
        shape = self.ig_shape + betas[:, None] * self.n / 2.0
        rate = self.ig_scale + betas[:, None] * ss / 2.0
        # one Gamma variate per element and rung: the sigma_i are conditionally independent
        s2 = rate / rng.gamma(np.broadcast_to(shape, rate.shape), 1.0)
        x[:, self.slices["logsig"]] = 0.5 * np.log(s2)

    def _ll_from(self, x: np.ndarray, G: np.ndarray, kappa: np.ndarray) -> np.ndarray:
        """Pointwise log-likelihood ``(L, n, p)`` for given ``log g`` and κ."""
        var = self.sigma2(x)[:, None, :]
        mu = x[:, self.slices["c"]][:, None, :] + kappa[:, :, None] + G
        if self.student:
            return student_logpdf(self.y, mu, var, float(self.df))
        return -0.5 * (_LOG2PI + np.log(var) + (self.y - mu) ** 2 / var)

    def _mh_F(
        self, x: np.ndarray, betas: np.ndarray, rng: np.random.Generator, *, ridge: bool
    ) -> None:
        """Metropolis update of every u_j (independent given the rest); ``ridge`` also shears κ_j
        by the precision-weighted mean change of log g (volume preserving, so no Jacobian)."""
        L, n = x.shape[0], self.n
        s = self.slices
        w = 1.0 / self.sigma2(x)
        prior_prec = 1.0 / (1.8**2 if self.u_logistic else self.u_sd**2)
        base = 1.0 / np.sqrt(betas[:, None] * 0.5 * w.sum(axis=1, keepdims=True) + prior_prec)
        scale = base * rng.choice(_WIDE * (3.0 if ridge else 1.0), size=(L, n))
        u0 = x[:, s["u"]]
        u1 = u0 + scale * rng.standard_normal((L, n))
        G0, G1 = self.log_g(x, u0), self.log_g(x, u1)
        k0 = self.kappa(x)
        k1 = k0
        if ridge:
            wn = (w / w.sum(axis=1, keepdims=True))[:, None, :]
            k1 = k0 + ((G0 - G1) * wn).sum(axis=-1)
        ll0 = self._ll_from(x, G0, k0).sum(axis=-1)
        ll1 = self._ll_from(x, G1, k1).sum(axis=-1)
        log_a = betas[:, None] * (ll1 - ll0)
        log_a += self.log_u_prior(u1) - self.log_u_prior(u0)
        if ridge:
            log_a += self.log_k_prior(k1) - self.log_k_prior(k0)
        acc = np.log(rng.random((L, n))) < np.nan_to_num(log_a, nan=-np.inf)
        x[:, s["u"]] = np.where(acc, u1, u0)
        if ridge:
            x[:, s["kappa"]] = np.where(acc, k1, k0)

    def _mh_global(self, x: np.ndarray, betas: np.ndarray, rng: np.random.Generator) -> None:
        r"""Shift every u_j by one ε and compensate in the source and the enrichments.

        The change of log g, :math:`\Delta_{ij}`, is split into an element part
        :math:`a_i = \mathrm{mean}_j \Delta_{ij}` (taken off :math:`c_i`) and a sample part
        :math:`b_j` = weighted mean over i of :math:`\Delta_{ij} - a_i` (taken off
        :math:`\kappa_j`): the source-shape / F trade-off. The shifts depend on u only (a shear,
        Jacobian 1) and change sign with ε, so the proposal is symmetric.
        """
        L = x.shape[0]
        s = self.slices
        eps = 0.3 * rng.choice(_WIDE, size=(L, 1)) * rng.standard_normal((L, 1))
        u0 = x[:, s["u"]]
        u1 = u0 + eps
        G0, G1 = self.log_g(x, u0), self.log_g(x, u1)
        delta = G1 - G0
        a = delta.mean(axis=1)  # (L, p)
        x1 = x.copy()
        x1[:, s["u"]] = u1
        x1[:, s["c"]] = x[:, s["c"]] - a
        k0 = self.kappa(x)
        k1 = k0
        dlp = (self.log_source_prior(x1[:, s["c"]]) - self.log_source_prior(x[:, s["c"]])).sum(
            axis=1
        ) + (self.log_u_prior(u1) - self.log_u_prior(u0)).sum(axis=1)
        if self.fractionation:
            w = 1.0 / self.sigma2(x)
            wn = (w / w.sum(axis=1, keepdims=True))[:, None, :]
            k1 = k0 - ((delta - a[:, None, :]) * wn).sum(axis=-1)
            x1[:, s["kappa"]] = k1
            dlp += (self.log_k_prior(k1) - self.log_k_prior(k0)).sum(axis=1)
        dll = self._ll_from(x1, G1, k1).sum(axis=(1, 2)) - self._ll_from(x, G0, k0).sum(axis=(1, 2))
        log_a = betas * dll + dlp
        acc = np.log(rng.random(L)) < np.nan_to_num(log_a, nan=-np.inf)
        x[acc] = x1[acc]

    def _accept_full(
        self, x: np.ndarray, x1: np.ndarray, betas: np.ndarray, rng: np.random.Generator
    ) -> None:
        log_a = betas * (self.loglik(x1) - self.loglik(x)) + self.logprior(x1) - self.logprior(x)
        acc = np.log(rng.random(x.shape[0])) < np.nan_to_num(log_a, nan=-np.inf)
        x[acc] = x1[acc]

    def _mh_D(self, x: np.ndarray, betas: np.ndarray, rng: np.random.Generator) -> None:
        L, p = x.shape[0], self.p
        s = self.slices
        v0 = x[:, s["v"]]
        v1 = v0 + self.D_sd * rng.choice(_SCALES, size=(L, p)) * rng.standard_normal((L, p))
        x1 = x.copy()
        x1[:, s["v"]] = v1
        ll0 = self.loglik_terms(x).sum(axis=-2)
        ll1 = self.loglik_terms(x1).sum(axis=-2)
        log_a = (
            betas[:, None] * (ll1 - ll0)
            + _norm_logpdf(v1, 0.0, self.D_sd**2)
            - _norm_logpdf(v0, 0.0, self.D_sd**2)
        )
        acc = np.log(rng.random((L, p))) < np.nan_to_num(log_a, nan=-np.inf)
        x[:, s["v"]] = np.where(acc, v1, v0)

    def _mh_transition(self, x: np.ndarray, betas: np.ndarray, rng: np.random.Generator) -> None:
        L = x.shape[0]
        x1 = x.copy()
        x1[:, self.slices["w"]] += (
            0.5 * rng.choice(_SCALES, size=(L, 1)) * rng.standard_normal((L, 1))
        )
        self._accept_full(x, x1, betas, rng)
