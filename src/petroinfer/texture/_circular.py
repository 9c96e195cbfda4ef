r"""Circular distributions with exact normalisers, vectorised over angles.

Every distribution is a frozen dataclass holding its parameters (like a frozen ``scipy.stats``
distribution): ``logpdf``, ``pdf``, ``cdf``, ``ppf`` and ``rvs`` work on angles in radians on the
circle, :math:`\theta \in [0, 2\pi)`. The cdf is measured from 0, :math:`F(\theta) =
\int_0^{\theta} f(t)\,dt`, so ``cdf(2π) = 1``.

Normalisers are computed exactly: closed forms where they exist (von Mises, wrapped Cauchy, cardioid),
a periodic trapezoid rule for the inverse Batschelet normaliser (its integrand is analytic and
periodic, so the rule converges geometrically; the node count grows with √κ), adaptive quadrature for
Jones–Pewsey. The cdf adds exact Gauss–Legendre panel integrals; the ppf inverts it by safeguarded
Newton iterations. None of these use interpolation tables.
"""

from __future__ import annotations

import functools
import math
import warnings
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from scipy import integrate, special

from petroinfer._rng import RandomState, as_generator
from petroinfer.errors import ModelError, format_value

__all__ = [
    "Cardioid",
    "CircularDistribution",
    "InverseBatschelet",
    "JonesPewsey",
    "UniformCircular",
    "VonMises",
    "VonMisesMixture",
    "WrappedCauchy",
    "a1inv",
]

TWO_PI = 2.0 * np.pi
LOG_2PI = math.log(TWO_PI)
_GL_X, _GL_W = np.polynomial.legendre.leggauss(20)


def wrap_pi(x: Any) -> np.ndarray:
    r"""Angles mapped to :math:`[-\pi, \pi)`."""
    return np.mod(np.asarray(x, dtype=float) + np.pi, TWO_PI) - np.pi


def a1inv(rbar: Any) -> np.ndarray:
    r"""Inverse of :math:`A_1(\kappa) = I_1(\kappa)/I_0(\kappa)`: the von Mises MLE of κ from R̄.

    Parameters
    ----------
    rbar : array_like
        Mean resultant lengths in [0, 1).

    Returns
    -------
    numpy.ndarray
        κ with :math:`A_1(\kappa) = \bar R` (to 1e-13 relative); 0 for R̄ = 0.

    Notes
    -----
    Best & Fisher (1981) starting values (Fisher 1993, eq. 4.40), then Newton steps on
    :math:`A_1(\kappa) - \bar R` with :math:`A_1' = 1 - A_1/\kappa - A_1^2`.

    Examples
    --------
    >>> from scipy.special import i0e, i1e
    >>> k = a1inv(0.5)
    >>> round(float(i1e(k) / i0e(k)), 12)
    0.5
    """
    r = np.clip(np.asarray(rbar, dtype=float), 0.0, 1.0 - 1e-15)
    k = np.where(
        r < 0.53,
        2 * r + r**3 + 5 * r**5 / 6,
        np.where(r < 0.85, -0.4 + 1.39 * r + 0.43 / (1 - r), 1 / (r**3 - 4 * r**2 + 3 * r)),
    )
    for _ in range(30):
        k = np.maximum(k, 1e-300)
        a = special.i1e(k) / special.i0e(k)
        da = 1.0 - a / k - a * a
        step = (a - r) / np.maximum(da, 1e-300)
        k = np.where(r > 0, np.maximum(k - step, 0.5 * k), 0.0)
        if np.all(np.abs(step) <= 1e-14 * np.maximum(k, 1e-300)):
            break
    return k


def _bracketed_halley(f, lo, hi, x0, tol=1e-15, maxiter=80):
    """Solve the monotone equations ``f(x) = 0`` elementwise in ``[lo, hi]`` (vectorised).

    ``f(x)`` returns ``(value, first derivative, second derivative)``. Each step is Halley's; a step
    leaving the current bracket, or with a vanishing derivative, is replaced by bisection, so the
    iteration cannot fail near the flat points of Kepler-type equations (imaging_texture.md §D.3).
    """
    lo = np.array(lo, dtype=float)
    hi = np.array(hi, dtype=float)
    x = np.clip(np.array(x0, dtype=float), lo, hi)
    for _ in range(maxiter):
        g, d1, d2 = f(x)
        neg = g < 0
        lo = np.where(neg, x, lo)
        hi = np.where(neg, hi, x)
        denom = 2.0 * d1 * d1 - g * d2
        with np.errstate(divide="ignore", invalid="ignore"):
            step = np.where(np.abs(denom) > 1e-300, 2.0 * g * d1 / denom, np.inf)
        xn = x - step
        bad = ~np.isfinite(xn) | (xn <= lo) | (xn >= hi)
        xn = np.where(bad, 0.5 * (lo + hi), xn)
        done = (np.abs(g) <= tol) | (hi - lo <= tol)
        x = np.where(done, x, xn)
        if np.all(done):
            break
    return x


def _solve_skew(phi: np.ndarray, nu: Any) -> np.ndarray:
    r"""Solve :math:`y - \nu(1 + \cos y) = \varphi` for y in :math:`[-\pi, \pi]` (|ν| ≤ 1)."""
    phi, nu = np.broadcast_arrays(np.asarray(phi, float), np.asarray(nu, float))

    def f(y):
        return y - nu * (1 + np.cos(y)) - phi, 1 + nu * np.sin(y), nu * np.cos(y)

    x0 = phi + nu * (1 + np.cos(phi))
    return _bracketed_halley(f, np.full(phi.shape, -np.pi), np.full(phi.shape, np.pi), x0)


def _solve_kepler(x: np.ndarray, c: Any) -> np.ndarray:
    r"""Solve :math:`u - c \sin u = x` for u in :math:`[-\pi, \pi]` (0 ≤ c ≤ 1).

    Starter: :math:`u_0 = x + c\sin x/(1 - c\cos x)` away from the flat point, and the cubic
    :math:`u_0 = (6x)^{1/3}` near it when c → 1 (Kepler's equation with eccentricity c).
    """
    x, c = np.broadcast_arrays(np.asarray(x, float), np.asarray(c, float))

    def f(u):
        return u - c * np.sin(u) - x, 1 - c * np.cos(u), c * np.sin(u)

    with np.errstate(divide="ignore", invalid="ignore"):
        u0 = x + c * np.sin(x) / np.maximum(1 - c * np.cos(x), 1e-3)
    u0 = np.where((c > 0.9) & (np.abs(x) < 0.5), np.cbrt(6 * x), u0)
    return _bracketed_halley(f, np.full(x.shape, -np.pi), np.full(x.shape, np.pi), u0)


def _trapezoid_nodes(kappa_max: float) -> np.ndarray:
    n = int(2 ** math.ceil(math.log2(96 + 40 * math.sqrt(max(kappa_max, 0.0)))))
    return -np.pi + TWO_PI * np.arange(n) / n


def ib_log_normaliser(kappa: Any, lam: Any) -> np.ndarray:
    r"""Log of the inverse Batschelet normaliser :math:`Z(\kappa, \lambda) = 2\pi I_0(\kappa) K(\kappa, \lambda)`.

    Parameters
    ----------
    kappa : array_like
        Concentrations κ ≥ 0.
    lam : array_like
        Peakedness λ in [−1, 1]; broadcast with ``kappa``.

    Returns
    -------
    numpy.ndarray
        :math:`\log Z` (independent of the skewness ν).

    Notes
    -----
    With the substitution :math:`\varphi^* = u - \tfrac12(1+\lambda)\sin u` the normaliser becomes
    :math:`Z = \int_{-\pi}^{\pi} \exp\{\kappa\cos(u - \tfrac12(1-\lambda)\sin u)\}
    (1 - \tfrac12(1+\lambda)\cos u)\,du` — an analytic periodic integrand, integrated by the periodic
    trapezoid rule (geometric convergence). It equals Jones & Pewsey's (2012, eq. 4)
    :math:`2\pi I_0(\kappa)K(\kappa,\lambda)` and, at λ = 1, :math:`2\pi I_0(\kappa)(1 - A_1(\kappa))`.
    """
    kappa, lam = np.broadcast_arrays(np.asarray(kappa, float), np.asarray(lam, float))
    u = _trapezoid_nodes(float(np.max(kappa)) if kappa.size else 0.0)
    k = kappa[..., None]
    lm = lam[..., None]
    integrand = np.exp(k * (np.cos(u - 0.5 * (1 - lm) * np.sin(u)) - 1.0)) * (
        1 - 0.5 * (1 + lm) * np.cos(u)
    )
    return kappa + np.log(TWO_PI * integrand.mean(axis=-1))


@dataclass(frozen=True)
class CircularDistribution:
    """Base of the circular distributions: cdf, ppf and sampling from ``logpdf``.

    Subclasses define ``logpdf`` (vectorised over angles) and the class attributes ``name``,
    ``param_names``; the parameters are the dataclass fields.
    """

    name: ClassVar[str] = ""
    param_names: ClassVar[tuple[str, ...]] = ()
    n_components: ClassVar[int] = 1

    @property
    def params(self) -> dict[str, float]:
        """The parameters as ``{name: value}``."""
        return {p: float(getattr(self, p)) for p in self.param_names}

    @property
    def n_params(self) -> int:
        """Number of free parameters."""
        return len(self.param_names)

    def logpdf(self, theta: Any) -> np.ndarray:  # pragma: no cover - abstract
        """Log density (per radian) at angles ``theta`` (radians)."""
        raise NotImplementedError

    def pdf(self, theta: Any) -> np.ndarray:
        """Density (per radian) at angles ``theta`` (radians).

        Parameters
        ----------
        theta : array_like
            Angles in radians (any real values; taken modulo 2π).

        Returns
        -------
        numpy.ndarray
            f(θ), same shape as ``theta``.
        """
        return np.exp(self.logpdf(theta))

    def _modes(self) -> list[float]:
        return [float(getattr(self, "xi", 0.0))]

    @functools.cached_property
    def _panels(self) -> tuple[np.ndarray, np.ndarray]:
        """Panel break points on [0, 2π] and the cumulative probability at each (exact GL panels)."""
        grid = np.linspace(0.0, TWO_PI, 4097)
        f = self.pdf(grid)
        cum = np.concatenate([[0.0], np.cumsum(0.5 * (f[1:] + f[:-1]) * np.diff(grid))])
        qs = np.interp(np.linspace(0, cum[-1], 257)[1:-1], cum, grid)
        modes = np.mod(np.asarray(self._modes(), float), TWO_PI)
        breaks = np.unique(np.concatenate([np.linspace(0, TWO_PI, 257), qs, modes]))
        a, b = breaks[:-1], breaks[1:]
        mass = self._gl(a, b)
        return breaks, np.concatenate([[0.0], np.cumsum(mass)])

    def _gl(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        half = 0.5 * (b - a)
        nodes = (0.5 * (a + b))[..., None] + half[..., None] * _GL_X
        return half * (self.pdf(nodes) @ _GL_W)

    def cdf(self, theta: Any) -> np.ndarray:
        r"""Distribution function from 0: :math:`F(\theta) = \int_0^{\theta} f(t)\,dt`.

        Parameters
        ----------
        theta : array_like
            Angles in radians; values are taken modulo 2π (``2π`` itself gives 1).

        Returns
        -------
        numpy.ndarray
            Probabilities in [0, 1].
        """
        th = np.asarray(theta, dtype=float)
        full = th >= TWO_PI
        t = np.where(full, TWO_PI, np.mod(th, TWO_PI))
        breaks, cum = self._panels
        j = np.clip(np.searchsorted(breaks, t, side="right") - 1, 0, len(breaks) - 2)
        out = cum[j] + self._gl(breaks[j], t)
        return np.where(full, 1.0, np.clip(out, 0.0, 1.0))

    def ppf(self, q: Any) -> np.ndarray:
        """Quantile function: the angle in [0, 2π) with ``cdf(angle) = q``.

        Parameters
        ----------
        q : array_like
            Probabilities in [0, 1].

        Returns
        -------
        numpy.ndarray
            Angles in radians (Newton iterations on the exact cdf, bracketed by its panels).
        """
        q = np.asarray(q, dtype=float)
        if np.any((q < 0) | (q > 1)) or np.any(~np.isfinite(q)):
            raise ModelError("ppf: probabilities must lie in [0, 1]")
        breaks, cum = self._panels
        j = np.clip(np.searchsorted(cum, q, side="right") - 1, 0, len(breaks) - 2)
        lo, hi = breaks[j], breaks[j + 1]
        x = lo + (hi - lo) * np.clip((q - cum[j]) / np.maximum(cum[j + 1] - cum[j], 1e-300), 0, 1)
        for _ in range(50):
            g = self.cdf(x) - q
            lo = np.where(g < 0, x, lo)
            hi = np.where(g < 0, hi, x)
            fx = self.pdf(x)
            with np.errstate(divide="ignore", invalid="ignore"):
                xn = x - g / fx
            bad = ~np.isfinite(xn) | (xn <= lo) | (xn >= hi)
            xn = np.where(bad, 0.5 * (lo + hi), xn)
            done = (np.abs(g) <= 1e-14) | (hi - lo <= 1e-14)
            x = np.where(done, x, xn)
            if np.all(done):
                break
        return x

    def rvs(self, size: int | tuple[int, ...] = 1, random_state: RandomState = None) -> np.ndarray:
        """Random angles in [0, 2π) (inverse-cdf sampling unless the family has a direct sampler).

        Parameters
        ----------
        size : int or tuple of int
            Output shape.
        random_state : int, numpy.random.Generator or None
            Seed or generator.

        Returns
        -------
        numpy.ndarray
            Angles in radians.
        """
        rng = as_generator(random_state)
        return self.ppf(rng.random(size))

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v:.6g}" for k, v in self.params.items())
        return f"{type(self).__name__}({args})"


def _check(owner: str, name: str, value: float, lo: float, hi: float) -> None:
    if not (np.isfinite(value) and lo <= value <= hi):
        raise ModelError(
            f"{owner}: parameter {name!r} must be in [{lo:g}, {hi:g}]; got {format_value(value)}"
        )


@dataclass(frozen=True, repr=False)
class UniformCircular(CircularDistribution):
    """The uniform distribution on the circle, f(θ) = 1/(2π) (no parameters).

    Examples
    --------
    >>> float(UniformCircular().pdf(1.0)) * 2 * np.pi
    1.0
    """

    name: ClassVar[str] = "uniform"

    def logpdf(self, theta: Any) -> np.ndarray:
        """Log density, −log 2π everywhere.

        Parameters
        ----------
        theta : array_like
            Angles in radians.

        Returns
        -------
        numpy.ndarray
            Same shape as ``theta``.
        """
        return np.full(np.shape(theta), -LOG_2PI)

    def cdf(self, theta: Any) -> np.ndarray:
        """Distribution function θ/(2π) (θ taken modulo 2π; 2π gives 1).

        Parameters
        ----------
        theta : array_like
            Angles in radians.

        Returns
        -------
        numpy.ndarray
            Probabilities.
        """
        th = np.asarray(theta, float)
        return np.where(th >= TWO_PI, 1.0, np.mod(th, TWO_PI) / TWO_PI)

    def ppf(self, q: Any) -> np.ndarray:
        """Quantile 2πq.

        Parameters
        ----------
        q : array_like
            Probabilities in [0, 1].

        Returns
        -------
        numpy.ndarray
            Angles in radians.
        """
        return TWO_PI * np.asarray(q, float)


@dataclass(frozen=True, repr=False)
class VonMises(CircularDistribution):
    r"""Von Mises distribution: :math:`f(\theta) = e^{\kappa\cos(\theta-\xi)}/(2\pi I_0(\kappa))`.

    Parameters
    ----------
    xi : float
        Mean direction ξ (radians).
    kappa : float
        Concentration κ ≥ 0 (κ = 0 is uniform).

    Notes
    -----
    Mardia & Jupp (2000) §3.5.4.

    Examples
    --------
    >>> d = VonMises(xi=0.0, kappa=2.0)
    >>> round(float(d.cdf(2 * np.pi)), 12)
    1.0
    """

    xi: float = 0.0
    kappa: float = 1.0
    name: ClassVar[str] = "von_mises"
    param_names: ClassVar[tuple[str, ...]] = ("xi", "kappa")

    def __post_init__(self) -> None:
        _check("VonMises", "kappa", self.kappa, 0.0, 1e5)
        _check("VonMises", "xi", self.xi, -1e6, 1e6)

    def logpdf(self, theta: Any) -> np.ndarray:
        """Log density per radian.

        Parameters
        ----------
        theta : array_like
            Angles in radians.

        Returns
        -------
        numpy.ndarray
            log f(θ).
        """
        k = self.kappa
        return k * (np.cos(np.asarray(theta, float) - self.xi) - 1.0) - np.log(
            TWO_PI * special.i0e(k)
        )

    def rvs(self, size: int | tuple[int, ...] = 1, random_state: RandomState = None) -> np.ndarray:
        """Random angles in [0, 2π) (numpy's von Mises sampler).

        Parameters
        ----------
        size : int or tuple of int
            Output shape.
        random_state : int, numpy.random.Generator or None
            Seed or generator.

        Returns
        -------
        numpy.ndarray
            Angles in radians.
        """
        rng = as_generator(random_state)
        return np.mod(rng.vonmises(self.xi, self.kappa, size), TWO_PI)


@dataclass(frozen=True, repr=False)
class WrappedCauchy(CircularDistribution):
    r"""Wrapped Cauchy: :math:`f = (1-\rho^2)/(2\pi(1 + \rho^2 - 2\rho\cos(\theta-\xi)))`.

    Parameters
    ----------
    xi : float
        Location ξ (radians).
    rho : float
        Mean resultant length ρ in [0, 0.999].

    Notes
    -----
    Mardia & Jupp (2000) §3.5.7.

    Examples
    --------
    >>> round(float(WrappedCauchy(0.0, 0.5).cdf(np.pi)), 12)
    0.5
    """

    xi: float = 0.0
    rho: float = 0.5
    name: ClassVar[str] = "wrapped_cauchy"
    param_names: ClassVar[tuple[str, ...]] = ("xi", "rho")

    def __post_init__(self) -> None:
        _check("WrappedCauchy", "rho", self.rho, 0.0, 0.999)

    def logpdf(self, theta: Any) -> np.ndarray:
        """Log density per radian.

        Parameters
        ----------
        theta : array_like
            Angles in radians.

        Returns
        -------
        numpy.ndarray
            log f(θ).
        """
        r = self.rho
        c = np.cos(np.asarray(theta, float) - self.xi)
        return np.log1p(-r * r) - LOG_2PI - np.log(1 + r * r - 2 * r * c)


@dataclass(frozen=True, repr=False)
class Cardioid(CircularDistribution):
    r"""Cardioid: :math:`f = (1 + 2\rho\cos(\theta-\xi))/(2\pi)`, 0 ≤ ρ ≤ 1/2.

    Parameters
    ----------
    xi : float
        Mean direction ξ (radians).
    rho : float
        Mean resultant length ρ in [0, 0.5].

    Notes
    -----
    Mardia & Jupp (2000) §3.5.5.

    Examples
    --------
    >>> round(float(Cardioid(0.0, 0.25).pdf(0.0)) * 2 * np.pi, 12)
    1.5
    """

    xi: float = 0.0
    rho: float = 0.25
    name: ClassVar[str] = "cardioid"
    param_names: ClassVar[tuple[str, ...]] = ("xi", "rho")

    def __post_init__(self) -> None:
        _check("Cardioid", "rho", self.rho, 0.0, 0.5)

    def logpdf(self, theta: Any) -> np.ndarray:
        """Log density per radian.

        Parameters
        ----------
        theta : array_like
            Angles in radians.

        Returns
        -------
        numpy.ndarray
            log f(θ) (−inf where f = 0 at ρ = 1/2).
        """
        with np.errstate(divide="ignore"):
            return np.log1p(2 * self.rho * np.cos(np.asarray(theta, float) - self.xi)) - LOG_2PI


@dataclass(frozen=True, repr=False)
class JonesPewsey(CircularDistribution):
    r"""Jones–Pewsey family: :math:`f \propto (\cosh\kappa\psi + \sinh\kappa\psi\cos(\theta-\xi))^{1/\psi}`.

    Parameters
    ----------
    xi : float
        Mean direction ξ (radians).
    kappa : float
        Concentration κ ≥ 0.
    psi : float
        Shape ψ in [−1, 1]: ψ = 0 von Mises, ψ = 1 cardioid, ψ = −1 wrapped Cauchy.

    Notes
    -----
    Jones & Pewsey (2005, JASA 100:1422, eq. 1). The normaliser
    :math:`\int_{-\pi}^{\pi}(\cosh\kappa\psi + \sinh\kappa\psi\cos\varphi)^{1/\psi}d\varphi` is computed
    by adaptive quadrature (QUADPACK, relative tolerance 1e-13).

    Examples
    --------
    >>> a = JonesPewsey(0.3, 1.5, 0.0).pdf(np.array([0.0, 2.0]))
    >>> b = VonMises(0.3, 1.5).pdf(np.array([0.0, 2.0]))
    >>> bool(np.allclose(a, b, rtol=1e-12))
    True
    """

    xi: float = 0.0
    kappa: float = 1.0
    psi: float = 0.0
    name: ClassVar[str] = "jones_pewsey"
    param_names: ClassVar[tuple[str, ...]] = ("xi", "kappa", "psi")

    def __post_init__(self) -> None:
        _check("JonesPewsey", "kappa", self.kappa, 0.0, 1e3)
        _check("JonesPewsey", "psi", self.psi, -1.0, 1.0)

    def _logkernel(self, phi: Any) -> np.ndarray:
        """log of the unnormalised density minus its maximum κ (so ≤ 0)."""
        k, p = self.kappa, self.psi
        phi = np.asarray(phi, float)
        if abs(p) < 1e-9 or k == 0.0:
            return k * (np.cos(phi) - 1.0)
        a = abs(k * p)
        e = math.exp(-2 * a)
        base = 0.5 * ((1 + e) + math.copysign(1.0, p) * (1 - e) * np.cos(phi))
        with np.errstate(divide="ignore"):
            return (a + np.log(base)) / p - k

    @functools.cached_property
    def _lognorm(self) -> float:
        def f(x):
            return math.exp(float(self._logkernel(x)))

        opts = {"epsabs": 0.0, "epsrel": 1e-13, "limit": 200}
        with warnings.catch_warnings():  # roundoff notices at 1e-13: the value is still accurate
            warnings.simplefilter("ignore", integrate.IntegrationWarning)
            z = integrate.quad(f, -np.pi, 0.0, **opts)[0] + integrate.quad(f, 0.0, np.pi, **opts)[0]
        return math.log(z)

    def logpdf(self, theta: Any) -> np.ndarray:
        """Log density per radian.

        Parameters
        ----------
        theta : array_like
            Angles in radians.

        Returns
        -------
        numpy.ndarray
            log f(θ).
        """
        return self._logkernel(np.asarray(theta, float) - self.xi) - self._lognorm


@dataclass(frozen=True, repr=False)
class InverseBatschelet(CircularDistribution):
    r"""Inverse Batschelet distribution (Jones & Pewsey 2012): skewness ν and peakedness λ.

    Parameters
    ----------
    xi : float
        Location ξ (radians); the mode is at ξ − 2ν.
    kappa : float
        Concentration κ ≥ 0 (κ = 0 is uniform for any ν, λ).
    nu : float
        Skewness ν in [−1, 1] (ν = 0 symmetric).
    lam : float
        Peakedness λ in [−1, 1] (λ = 0 von Mises-like, λ > 0 peaked, λ < 0 flat-topped).

    Notes
    -----
    Jones & Pewsey (2012, Biometrics 68:183). With :math:`\varphi = \theta - \xi` wrapped to
    :math:`[-\pi, \pi)`:

    1. skewing, :math:`\varphi^*` solves :math:`y - \nu(1 + \cos y) = \varphi`;
    2. peakedness, :math:`u^*` solves :math:`u - \tfrac12(1+\lambda)\sin u = \varphi^*`;
    3. :math:`f(\theta) = \exp\{\kappa\cos(\varphi^* + \lambda\sin u^*)\} / Z(\kappa, \lambda)`.

    The argument :math:`\varphi^* + \lambda\sin u^*` equals J&P's
    :math:`\tfrac{1-\lambda}{1+\lambda}\varphi^* + \tfrac{2\lambda}{1+\lambda}u^*` (because
    :math:`u^* - \varphi^* = \tfrac12(1+\lambda)\sin u^*`) and stays finite at λ = −1, where it is
    :math:`\varphi^* - \sin\varphi^*`. Both equations are solved by bracketed Halley iterations
    (vectorised). :math:`Z` is :func:`ib_log_normaliser`.

    Parameter naming follows J&P (ν skewness, λ peakedness); pycircstat2's class docstring swaps the
    two words although its code agrees with J&P.

    Examples
    --------
    >>> d = InverseBatschelet(xi=np.pi / 2, kappa=2.0, nu=-0.5, lam=0.7)
    >>> round(float(d.ppf(0.5)), 8)
    2.51380344
    """

    xi: float = 0.0
    kappa: float = 1.0
    nu: float = 0.0
    lam: float = 0.0
    name: ClassVar[str] = "inverse_batschelet"
    param_names: ClassVar[tuple[str, ...]] = ("xi", "kappa", "nu", "lam")

    def __post_init__(self) -> None:
        _check("InverseBatschelet", "kappa", self.kappa, 0.0, 1e4)
        _check("InverseBatschelet", "nu", self.nu, -1.0, 1.0)
        _check("InverseBatschelet", "lam", self.lam, -1.0, 1.0)

    def _modes(self) -> list[float]:
        return [self.xi - 2 * self.nu]

    @functools.cached_property
    def _lognorm(self) -> float:
        return float(ib_log_normaliser(self.kappa, self.lam))

    def logpdf(self, theta: Any) -> np.ndarray:
        """Log density per radian.

        Parameters
        ----------
        theta : array_like
            Angles in radians.

        Returns
        -------
        numpy.ndarray
            log f(θ).
        """
        phi = wrap_pi(np.asarray(theta, float) - self.xi)
        y = _solve_skew(phi, self.nu) if self.nu != 0.0 else phi
        c = 0.5 * (1 + self.lam)
        u = _solve_kepler(y, c) if self.lam != 0.0 else y
        return self.kappa * np.cos(y + self.lam * np.sin(u)) - self._lognorm


@dataclass(frozen=True, repr=False)
class VonMisesMixture(CircularDistribution):
    r"""Two-component von Mises mixture :math:`p\,\mathrm{vM}(\xi_1,\kappa_1) + (1-p)\,\mathrm{vM}(\xi_2,\kappa_2)`.

    Parameters
    ----------
    xi1, kappa1 : float
        First component: mean direction (radians) and concentration.
    xi2, kappa2 : float
        Second component.
    p : float
        Weight of the first component, in [0, 1].

    Examples
    --------
    >>> m = VonMisesMixture(0.0, 4.0, np.pi, 4.0, 0.5)
    >>> round(float(m.cdf(np.pi)), 10)
    0.5
    """

    xi1: float = 0.0
    kappa1: float = 1.0
    xi2: float = np.pi
    kappa2: float = 1.0
    p: float = 0.5
    name: ClassVar[str] = "von_mises_mixture"
    param_names: ClassVar[tuple[str, ...]] = ("xi1", "kappa1", "xi2", "kappa2", "p")
    n_components: ClassVar[int] = 2

    def __post_init__(self) -> None:
        _check("VonMisesMixture", "kappa1", self.kappa1, 0.0, 1e5)
        _check("VonMisesMixture", "kappa2", self.kappa2, 0.0, 1e5)
        _check("VonMisesMixture", "p", self.p, 0.0, 1.0)

    def _modes(self) -> list[float]:
        return [self.xi1, self.xi2]

    def logpdf(self, theta: Any) -> np.ndarray:
        """Log density per radian.

        Parameters
        ----------
        theta : array_like
            Angles in radians.

        Returns
        -------
        numpy.ndarray
            log f(θ).
        """
        a = VonMises(self.xi1, self.kappa1).logpdf(theta)
        b = VonMises(self.xi2, self.kappa2).logpdf(theta)
        with np.errstate(divide="ignore"):
            return np.logaddexp(np.log(self.p) + a, np.log1p(-self.p) + b)

    def rvs(self, size: int | tuple[int, ...] = 1, random_state: RandomState = None) -> np.ndarray:
        """Random angles in [0, 2π): a component by its weight, then a von Mises draw.

        Parameters
        ----------
        size : int or tuple of int
            Output shape.
        random_state : int, numpy.random.Generator or None
            Seed or generator.

        Returns
        -------
        numpy.ndarray
            Angles in radians.
        """
        rng = as_generator(random_state)
        first = rng.random(size) < self.p
        a = rng.vonmises(self.xi1, self.kappa1, size)
        b = rng.vonmises(self.xi2, self.kappa2, size)
        return np.mod(np.where(first, a, b), TWO_PI)


FAMILIES: dict[str, type[CircularDistribution]] = {
    cls.name: cls
    for cls in (
        UniformCircular,
        VonMises,
        WrappedCauchy,
        Cardioid,
        JonesPewsey,
        InverseBatschelet,
        VonMisesMixture,
    )
}
