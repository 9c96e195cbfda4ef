r"""Single-pulse response (SPR) families of LA-ICP-MS: pdf, cdf, mode, FWHM, integrated kernel.

The SPR :math:`h(t)` is the detector signal of one laser pulse fired at :math:`t = 0` (unit area,
time in s). A reading over the dwell window :math:`[t_i, t_i + \Delta t]` integrates it, so the
discrete kernel is :math:`h_j = F((j+1)\Delta t) - F(j\Delta t)` with :math:`F` the cdf.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import numpy as np
from scipy import optimize, stats

from petroinfer.errors import InputError, ModelError

__all__ = [
    "RESPONSE_FAMILIES",
    "BiExponentialResponse",
    "ExGaussianResponse",
    "GammaResponse",
    "InverseGaussianResponse",
    "LogNormalResponse",
    "PulseResponse",
]

_TAIL = 1e-7  # kernel support: up to the (1 - _TAIL) quantile


class PulseResponse:
    """Base of the single-pulse response families (a unit-area pdf in time, s).

    Subclasses are frozen dataclasses whose last field is ``delay`` (transport delay, s).
    """

    delay: float = 0.0

    # -- to be specialised ------------------------------------------------------------------
    def _dist(self):  # pragma: no cover - overridden
        raise NotImplementedError

    def pdf(self, t: np.ndarray) -> np.ndarray:
        """Response :math:`h(t)` (1/s) at times ``t`` (s) after the pulse."""
        return self._dist().pdf(np.asarray(t, float) - self.delay)

    def cdf(self, t: np.ndarray) -> np.ndarray:
        """Cumulative response :math:`F(t) = \\int_0^t h` (dimensionless)."""
        return self._dist().cdf(np.asarray(t, float) - self.delay)

    def quantile(self, q: float) -> float:
        """Time (s) by which a fraction ``q`` of the pulse has arrived."""
        return float(self._dist().ppf(q)) + self.delay

    def mode(self) -> float:
        """Time of the peak (s), numerically (closed forms in the subclasses)."""
        lo, hi = self.quantile(1e-6), self.quantile(0.999)
        res = optimize.minimize_scalar(
            lambda t: -self.pdf(t), bounds=(lo, hi), method="bounded", options={"xatol": 1e-12}
        )
        return float(res.x)

    def fwhm(self) -> float:
        """Full width at half maximum (s), by bracketed root finding either side of the mode."""
        tm = self.mode()
        half = 0.5 * float(self.pdf(tm))
        lo = self.delay + max(self.quantile(1e-12) - self.delay, 0.0)
        hi = self.quantile(1 - 1e-12)
        left = optimize.brentq(lambda t: self.pdf(t) - half, lo, tm, xtol=1e-14, rtol=1e-14)
        right = optimize.brentq(lambda t: self.pdf(t) - half, tm, hi, xtol=1e-14, rtol=1e-14)
        return float(right - left)

    def kernel(self, dt: float, n: int | None = None) -> np.ndarray:
        r"""Response integrated over each dwell window: :math:`h_j = F((j+1)\Delta t) - F(j\Delta t)`.

        Parameters
        ----------
        dt : float
            Sampling (dwell) interval, s.
        n : int, optional
            Number of kernel samples (default: up to the :math:`1 - 10^{-7}` quantile).

        Returns
        -------
        ndarray, shape (n,)
            Fraction of the pulse read in each sample after the one it was fired in (sums to ≤ 1).
        """
        if not dt > 0:
            raise ModelError(f"the sampling interval must be > 0 s; got {dt}")
        if n is None:
            n = max(1, math.ceil(self.quantile(1 - _TAIL) / dt))
        edges = np.arange(int(n) + 1) * float(dt)
        F = self.cdf(edges)
        F[0] = 0.0  # causal: any mass a family puts before the pulse (ex-Gaussian) goes to sample 0
        return np.diff(F)

    @property
    def n_params(self) -> int:
        """Number of free parameters (including the delay)."""
        return len(fields(self))

    def params(self) -> dict[str, float]:
        """The parameters as a dict."""
        return {f.name: float(getattr(self, f.name)) for f in fields(self)}


@dataclass(frozen=True)
class LogNormalResponse(PulseResponse):
    r"""Log-normal response: median ``median`` (s), shape ``sigma``.

    :math:`h(t) = \exp(-[\ln(t/\tau)]^2/2\sigma^2)/(t\sigma\sqrt{2\pi})`; mode :math:`\tau e^{-\sigma^2}`;
    FWHM :math:`2\tau e^{-\sigma^2}\sinh(\sigma\sqrt{2\ln 2})` (imaging_texture.md §B.1 [C]).

    Parameters
    ----------
    median : float
        Median τ of the log-normal, s.
    sigma : float
        Shape σ (log-space standard deviation), dimensionless.
    delay : float
        Transport delay before the response starts, s.
    """

    median: float = 0.5
    sigma: float = 0.5
    delay: float = 0.0

    def _dist(self):
        return stats.lognorm(s=self.sigma, scale=self.median)

    def mode(self) -> float:
        """Closed-form mode :math:`\\tau e^{-\\sigma^2}` (s)."""
        return self.delay + self.median * math.exp(-(self.sigma**2))

    def fwhm(self) -> float:
        """Closed-form FWHM :math:`2\\tau e^{-\\sigma^2}\\sinh(\\sigma\\sqrt{2\\ln 2})` (s)."""
        s = self.sigma
        return 2 * self.median * math.exp(-s * s) * math.sinh(s * math.sqrt(2 * math.log(2)))

    @classmethod
    def from_fwhm(cls, fwhm: float, sigma: float = 0.5, delay: float = 0.0) -> LogNormalResponse:
        """The log-normal response of a given FWHM (s) and shape."""
        if not fwhm > 0:
            raise ModelError(f"the FWHM must be > 0 s; got {fwhm}")
        unit = cls(1.0, sigma).fwhm()
        return cls(median=fwhm / unit, sigma=sigma, delay=delay)


@dataclass(frozen=True)
class GammaResponse(PulseResponse):
    r"""Gamma response :math:`t^{k-1}e^{-t/\theta}/(\Gamma(k)\theta^k)`; mode :math:`(k-1)\theta`.

    Parameters
    ----------
    shape : float
        Shape k, dimensionless.
    scale : float
        Scale θ, s.
    delay : float
        Transport delay before the response starts, s.
    """

    shape: float = 3.0
    scale: float = 0.1
    delay: float = 0.0

    def _dist(self):
        return stats.gamma(a=self.shape, scale=self.scale)

    def mode(self) -> float:
        """Closed-form mode :math:`(k-1)\\theta` for :math:`k \\ge 1` (s)."""
        return self.delay + max(self.shape - 1.0, 0.0) * self.scale


class _BiExp(stats.rv_continuous):
    """Hypo-exponential pdf (sum of two exponential delays), for quantiles only."""

    def _pdf(self, t, r, d):
        return (np.exp(-t / d) - np.exp(-t / r)) / (d - r)

    def _cdf(self, t, r, d):
        return (d * (1 - np.exp(-t / d)) - r * (1 - np.exp(-t / r))) / (d - r)


_biexp = _BiExp(a=0.0, name="biexp")


@dataclass(frozen=True)
class BiExponentialResponse(PulseResponse):
    r"""Bi-exponential response :math:`(e^{-t/\tau_2} - e^{-t/\tau_1})/(\tau_2 - \tau_1)`.

    Rise ``rise`` :math:`\tau_1` < decay ``decay`` :math:`\tau_2` (s); the convolution of two
    exponential delays (a well-mixed cell and a funnel). Peak at
    :math:`\tau_1\tau_2\ln(\tau_2/\tau_1)/(\tau_2 - \tau_1)` (§B.1 [C]).

    Parameters
    ----------
    rise : float
        Rise time constant τ₁, s.
    decay : float
        Decay time constant τ₂ > τ₁, s.
    delay : float
        Transport delay before the response starts, s.
    """

    rise: float = 0.05
    decay: float = 0.4
    delay: float = 0.0

    def __post_init__(self) -> None:
        if not 0 < self.rise < self.decay:
            raise ModelError(
                f"BiExponentialResponse needs 0 < rise < decay; got rise={self.rise}, "
                f"decay={self.decay}"
            )

    def _dist(self):
        return _biexp(self.rise, self.decay)

    def pdf(self, t: np.ndarray) -> np.ndarray:
        """Closed-form response (1/s)."""
        u = np.maximum(np.asarray(t, float) - self.delay, 0.0)
        r, d = self.rise, self.decay
        return np.where(np.asarray(t) >= self.delay, (np.exp(-u / d) - np.exp(-u / r)) / (d - r), 0)

    def cdf(self, t: np.ndarray) -> np.ndarray:
        """Closed-form cumulative response."""
        u = np.maximum(np.asarray(t, float) - self.delay, 0.0)
        r, d = self.rise, self.decay
        return (d * (1 - np.exp(-u / d)) - r * (1 - np.exp(-u / r))) / (d - r)

    def quantile(self, q: float) -> float:
        """Time (s) by which a fraction ``q`` has arrived (root of the closed-form cdf)."""
        hi = self.decay * (50.0 + abs(math.log(max(1 - q, 1e-300))))
        u = optimize.brentq(lambda t: float(self.cdf(t + self.delay)) - q, 0.0, hi, xtol=1e-15)
        return u + self.delay

    def mode(self) -> float:
        """Closed-form peak time (s)."""
        r, d = self.rise, self.decay
        return self.delay + r * d * math.log(d / r) / (d - r)


@dataclass(frozen=True)
class InverseGaussianResponse(PulseResponse):
    r"""Inverse-Gaussian response (axial dispersion in a transfer tube): mean ``mean``, shape ``shape``.

    :math:`h(t) = \sqrt{\lambda/2\pi t^3}\exp(-\lambda(t-\mu)^2/2\mu^2 t)`, the first-passage time
    of advection–dispersion (:math:`\mu = L/u`, :math:`\lambda = L^2/2D`); mode
    :math:`\mu[\sqrt{1 + 9\mu^2/4\lambda^2} - 3\mu/2\lambda]` (§B.1 [C]).

    Parameters
    ----------
    mean : float
        Mean μ, s.
    shape : float
        Shape λ, s.
    delay : float
        Transport delay before the response starts, s.
    """

    mean: float = 0.3
    shape: float = 2.0
    delay: float = 0.0

    def _dist(self):
        return stats.invgauss(mu=self.mean / self.shape, scale=self.shape)

    def mode(self) -> float:
        """Closed-form mode (s)."""
        m, lam = self.mean, self.shape
        return self.delay + m * (math.sqrt(1 + 9 * m * m / (4 * lam * lam)) - 1.5 * m / lam)


@dataclass(frozen=True)
class ExGaussianResponse(PulseResponse):
    r"""Exponentially modified Gaussian: :math:`N(\mu, s^2) \otimes \mathrm{Exp}(\tau)`.

    ``center`` :math:`\mu` (s), ``width`` :math:`s` (s), ``tail`` :math:`\tau` (s): a Gaussian
    transport delay followed by a well-mixed volume of time constant :math:`V/Q`. The Gaussian
    puts a mass :math:`\approx\Phi(-\mu/s)` before the pulse (t < delay); :meth:`kernel` folds it
    into the first sample so the kernel stays causal and sums to 1.

    Parameters
    ----------
    center : float
        Gaussian centre μ, s.
    width : float
        Gaussian width s, s.
    tail : float
        Exponential time constant τ, s.
    delay : float
        Transport delay before the response starts, s.
    """

    center: float = 0.3
    width: float = 0.05
    tail: float = 0.2
    delay: float = 0.0

    def _dist(self):
        return stats.exponnorm(K=self.tail / self.width, loc=self.center, scale=self.width)


#: family name -> class
RESPONSE_FAMILIES: dict[str, type[PulseResponse]] = {
    "lognormal": LogNormalResponse,
    "gamma": GammaResponse,
    "biexponential": BiExponentialResponse,
    "inverse_gaussian": InverseGaussianResponse,
    "exgaussian": ExGaussianResponse,
}


def make_response(family: str, **params: float) -> PulseResponse:
    """A response of a named family (see :data:`RESPONSE_FAMILIES`)."""
    try:
        cls = RESPONSE_FAMILIES[family]
    except KeyError:
        raise ModelError(
            f"unknown response family {family!r}; choose one of {sorted(RESPONSE_FAMILIES)}"
        ) from None
    for k, v in params.items():
        if k != "delay" and not (np.isfinite(v) and v > 0):
            raise InputError(f"response parameter {k!r} must be a finite number > 0", value=v)
    return cls(**params)
