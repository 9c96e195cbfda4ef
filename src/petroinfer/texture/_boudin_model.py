r"""Microboudin forward model: stress-transfer laws, grain-strength laws and the likelihood.

A columnar grain of aspect ratio R (length/width) in a deforming matrix carries a centre tensile
stress :math:`\sigma_c = \sigma_0\,g(R)` (shear-lag stress transfer, far-field differential stress
:math:`\sigma_0`). It breaks (boudinage) when :math:`\sigma_c` exceeds its strength S, so
:math:`P(R) = F_S(\sigma_0 g(R))`. With R and the boudinaged/intact indicator only, :math:`\sigma_0` and
the strength scale :math:`S_0` enter through the stress ratio :math:`r = \sigma_0/S_0`
(imaging_texture.md §E.2–E.3; a reconstruction, see ``docs/methods/microboudin.md``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from scipy import optimize, special

from petroinfer.errors import ModelError, format_value

__all__ = [
    "MicroboudinModel",
    "cox_elastic_transfer",
    "kelly_tyson_transfer",
    "viscous_transfer",
]

TRANSFER_LAWS = ("viscous", "cox_elastic", "kelly_tyson")
STRENGTH_LAWS = ("weibull", "normal", "threshold")


def viscous_transfer(
    aspect_ratio: Any, c: float = 3.0, ln_rho: float = math.log(10.0)
) -> np.ndarray:
    r"""Stress-transfer factor of a rigid grain in a Newtonian-viscous matrix.

    Parameters
    ----------
    aspect_ratio : array_like
        Grain aspect ratio R = l/a ≥ 1 (half-length over half-width).
    c : float
        Ratio of far-field differential stress to :math:`\eta\dot\varepsilon` (3 for uniaxial).
    ln_rho : float
        :math:`\ln\rho`, ρ the matrix-cell to grain radius ratio.

    Returns
    -------
    numpy.ndarray
        :math:`g(R) = \sigma_c/\sigma_0 = R^2/(c\ln\rho)` — quadratic and unbounded.

    Notes
    -----
    Interfacial shear :math:`\tau(x) = \eta\dot\varepsilon x/(a\ln\rho)` integrated along the grain
    (shear lag; imaging_texture.md §E.2, [K]).

    Examples
    --------
    >>> float(viscous_transfer(3.0, c=3.0, ln_rho=1.0))
    3.0
    """
    r = np.asarray(aspect_ratio, float)
    return r * r / (c * ln_rho)


def cox_elastic_transfer(aspect_ratio: Any, n: float, modulus_ratio: float = 1.0) -> np.ndarray:
    r"""Stress-transfer factor of an elastic grain in an elastic matrix (Cox 1952 shear lag).

    Parameters
    ----------
    aspect_ratio : array_like
        Grain aspect ratio R ≥ 1.
    n : float
        Shear-lag parameter, :math:`n^2 = 2G_m/(E_f\ln\rho)` (dimensionless, per unit R).
    modulus_ratio : float
        :math:`E_f/E_m`, grain over matrix Young's modulus.

    Returns
    -------
    numpy.ndarray
        :math:`g(R) = (E_f/E_m)[1 - \mathrm{sech}(nR)]` — quadratic for small nR, saturating at
        :math:`E_f/E_m`.

    Notes
    -----
    Cox (1952, Br. J. Appl. Phys. 3:72), centre stress of a fibre of half-length l = Ra
    (imaging_texture.md §E.2, [K]).

    Examples
    --------
    >>> round(float(cox_elastic_transfer(1e3, n=1.0, modulus_ratio=2.0)), 12)
    2.0
    """
    r = np.asarray(aspect_ratio, float)
    return modulus_ratio * (1.0 - 1.0 / np.cosh(np.minimum(n * r, 700.0)))


def kelly_tyson_transfer(aspect_ratio: Any) -> np.ndarray:
    r"""Stress-transfer factor for a constant interfacial shear stress (Kelly & Tyson 1965).

    Parameters
    ----------
    aspect_ratio : array_like
        Grain aspect ratio R ≥ 1.

    Returns
    -------
    numpy.ndarray
        :math:`g(R) = R` (:math:`\sigma_c = 2\tau_y l/a` with :math:`\tau_y = \sigma_0/2`) — linear.

    Examples
    --------
    >>> float(kelly_tyson_transfer(4.0))
    4.0
    """
    return np.asarray(aspect_ratio, float).copy()


@dataclass(frozen=True)
class MicroboudinModel:
    r"""One microboudin model: a stress-transfer law and a grain-strength law.

    Parameters
    ----------
    transfer : {"cox_elastic", "viscous", "kelly_tyson"}
        Stress-transfer law g(R) (:func:`cox_elastic_transfer`, :func:`viscous_transfer`,
        :func:`kelly_tyson_transfer`).
    strength : {"weibull", "normal", "threshold"}
        Strength distribution :math:`F_S`: Weibull, :math:`1 - \exp[-(V/V_0)(\sigma/S_0)^w]`;
        normal, :math:`\Phi((\sigma/\bar S - 1)/c_v)`; threshold (critical aspect ratio,
        :math:`w\to\infty`) with a misclassification rate ε.
    n : float or None
        Cox shear-lag parameter; ``None`` estimates it (one more parameter).
    modulus_ratio : float
        :math:`E_f/E_m` of the Cox law.
    c : float
        Viscous law: :math:`\sigma_0/(\eta\dot\varepsilon)`.
    ln_rho : float
        Viscous law: :math:`\ln\rho`.
    size_effect : bool
        Weibull weakest-link size effect at fixed width: :math:`V/V_0 = R/R_0`.
    reference_aspect : float
        :math:`R_0` of the size effect (the aspect ratio at which the strength scale is :math:`S_0`).

    Examples
    --------
    >>> m = MicroboudinModel("viscous", ln_rho=1.0, c=1.0)
    >>> round(float(m.probability(2.0, {"r": 0.25, "w": 5.0})), 6)  # (r g)^w = 1
    0.632121
    """

    transfer: str = "cox_elastic"
    strength: str = "weibull"
    n: float | None = 1.0
    modulus_ratio: float = 1.0
    c: float = 3.0
    ln_rho: float = math.log(10.0)
    size_effect: bool = False
    reference_aspect: float = 1.0

    bounds_log: ClassVar[dict[str, tuple[float, float]]] = {
        "r": (math.log(1e-6), math.log(1e6)),
        "w": (math.log(0.2), math.log(200.0)),
        "cv": (math.log(1e-3), math.log(10.0)),
        "n": (math.log(1e-3), math.log(100.0)),
        "eps": (math.log(1e-6), math.log(0.5)),
    }

    def __post_init__(self) -> None:
        if self.transfer not in TRANSFER_LAWS:
            raise ModelError(
                f"MicroboudinModel: parameter 'transfer' must be one of {list(TRANSFER_LAWS)}; "
                f"got {self.transfer!r}"
            )
        if self.strength not in STRENGTH_LAWS:
            raise ModelError(
                f"MicroboudinModel: parameter 'strength' must be one of {list(STRENGTH_LAWS)}; "
                f"got {self.strength!r}"
            )
        for name in ("modulus_ratio", "c", "ln_rho", "reference_aspect"):
            v = getattr(self, name)
            if not (np.isfinite(v) and v > 0):
                raise ModelError(
                    f"MicroboudinModel: parameter {name!r} must be > 0; got {format_value(v)}"
                )
        if self.n is not None and not (np.isfinite(self.n) and self.n > 0):
            raise ModelError(f"MicroboudinModel: parameter 'n' must be > 0 or None; got {self.n!r}")

    @property
    def param_names(self) -> tuple[str, ...]:
        """Names of the free parameters, in optimisation order."""
        second = {"weibull": "w", "normal": "cv", "threshold": "eps"}[self.strength]
        extra = ("n",) if self.transfer == "cox_elastic" and self.n is None else ()
        return ("r", second, *extra)

    @property
    def label(self) -> str:
        """Short description, e.g. ``cox_elastic(n=1)+weibull``."""
        t = self.transfer
        if t == "cox_elastic":
            t += "(n free)" if self.n is None else f"(n={self.n:g})"
        return f"{t}+{self.strength}" + ("+size" if self.size_effect else "")

    def g(self, aspect_ratio: Any, n: float | None = None) -> np.ndarray:
        """Stress-transfer factor g(R) = σ_c/σ₀ of this model.

        Parameters
        ----------
        aspect_ratio : array_like
            Aspect ratios R.
        n : float or None
            Shear-lag parameter when it is free (ignored otherwise).

        Returns
        -------
        numpy.ndarray
            g(R).
        """
        if self.transfer == "viscous":
            return viscous_transfer(aspect_ratio, self.c, self.ln_rho)
        if self.transfer == "kelly_tyson":
            return kelly_tyson_transfer(aspect_ratio)
        nn = self.n if self.n is not None else n
        if nn is None:
            raise ModelError("MicroboudinModel: the Cox law needs n (fixed or estimated)")
        return cox_elastic_transfer(aspect_ratio, nn, self.modulus_ratio)

    def log_probabilities(
        self, aspect_ratio: Any, params: dict[str, float]
    ) -> tuple[np.ndarray, np.ndarray]:
        """log P(boudinaged | R) and log P(intact | R).

        Parameters
        ----------
        aspect_ratio : array_like
            Aspect ratios R.
        params : dict
            ``r`` and the strength parameter (``w``, ``cv`` or ``eps``), plus ``n`` when free.

        Returns
        -------
        tuple of numpy.ndarray
            :math:`(\\log P, \\log(1 - P))`, computed without cancellation.
        """
        return self._logp_and_grad(aspect_ratio, params, grad=False)[:2]

    def _logp_and_grad(self, aspect_ratio: Any, params: dict[str, float], grad: bool = True):
        """(log P, log(1-P), d log P / d x_j, d log(1-P) / d x_j) with x = log(params) (smooth laws)."""
        R = np.asarray(aspect_ratio, float)
        n = params.get("n")
        g = self.g(R, n)
        s = params["r"] * g
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            if self.strength == "weibull":
                w = params["w"]
                ls = np.log(s)
                logt = w * ls + (np.log(R / self.reference_aspect) if self.size_effect else 0.0)
                t = np.exp(np.minimum(logt, 700.0))
                # log(1 - e^-t) without underflow: log t - t/2 for tiny t
                lp = np.where(logt < -20, logt - 0.5 * t, np.log(-np.expm1(-t)))
                lq = -t
                if not grad:
                    return lp, lq, None, None
                dlp = np.where(logt < -20, 1.0 - 0.5 * t, t / np.expm1(t))  # d lp / d log t
                dlogt = [np.full_like(t, w), w * ls]  # d log t / d log r, d log t / d log w
                if "n" in self.param_names:
                    dlogt.append(w * self._dlogg_dlogn(R, n))
                return lp, lq, [dlp * d for d in dlogt], [-t * d for d in dlogt]
            if self.strength == "normal":
                cv = params["cv"]
                z = (s - 1.0) / cv
                lp, lq = special.log_ndtr(z), special.log_ndtr(-z)
                if not grad:
                    return lp, lq, None, None
                lphi = -0.5 * z * z - 0.5 * math.log(2 * math.pi)
                a, b = np.exp(lphi - lp), -np.exp(lphi - lq)  # d lp/dz, d lq/dz
                dz = [s / cv, -z]
                if "n" in self.param_names:
                    dz.append(s / cv * self._dlogg_dlogn(R, n))
                return lp, lq, [a * d for d in dz], [b * d for d in dz]
            eps = float(params["eps"])
            broken = s >= 1.0
            le, l1 = np.log(eps), np.log1p(-eps)
            return np.where(broken, l1, le), np.where(broken, le, l1), None, None

    def _dlogg_dlogn(self, R: np.ndarray, n: float) -> np.ndarray:
        x = np.minimum(n * R, 700.0)
        sech = 1.0 / np.cosh(x)
        return x * sech * np.tanh(x) / np.maximum(1.0 - sech, 1e-300)

    def probability(self, aspect_ratio: Any, params: dict[str, float]) -> np.ndarray:
        """Probability that a grain of aspect ratio R is boudinaged.

        Parameters
        ----------
        aspect_ratio : array_like
            Aspect ratios R.
        params : dict
            Model parameters (see :meth:`log_probabilities`).

        Returns
        -------
        numpy.ndarray
            P(R) in [0, 1].
        """
        return np.exp(self.log_probabilities(aspect_ratio, params)[0])

    def critical_aspect_ratio(self, params: dict[str, float], p: float = 0.5) -> float:
        """Aspect ratio at which P(R) = p (for the threshold law: :math:`g^{-1}(1/r)`).

        Parameters
        ----------
        params : dict
            Model parameters.
        p : float
            Probability level.

        Returns
        -------
        float
            R, or NaN when P never reaches p on [1, 10⁴].
        """
        if self.strength == "threshold":

            def f(lr):
                return float(params["r"] * self.g(math.exp(lr), params.get("n"))) - 1.0
        else:

            def f(lr):
                return float(self.probability(math.exp(lr), params)) - p

        lo, hi = 0.0, math.log(1e4)
        if f(lo) > 0:
            return 1.0
        if f(hi) < 0:
            return math.nan
        return math.exp(optimize.brentq(f, lo, hi, xtol=1e-12))

    def simulate(
        self,
        aspect_ratio: Any,
        params: dict[str, float],
        random_state: Any = None,
    ) -> np.ndarray:
        """Draw boudinaged (1) / intact (0) indicators for the given aspect ratios.

        Parameters
        ----------
        aspect_ratio : array_like
            Aspect ratios R.
        params : dict
            Model parameters.
        random_state : int, numpy.random.Generator or None
            Seed or generator.

        Returns
        -------
        numpy.ndarray of int
            Indicators, same shape as ``aspect_ratio``.
        """
        from petroinfer._rng import as_generator

        rng = as_generator(random_state)
        p = self.probability(aspect_ratio, params)
        return (rng.random(np.shape(p)) < p).astype(int)
