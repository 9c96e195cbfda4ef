"""petroinfer.imaging: element-map processing — LA-ICP-MS line-scan deconvolution.

Single-pulse response families with closed forms (log-normal, gamma, bi-exponential, inverse
Gaussian, exponentially modified Gaussian), their fit to single shots or an edge with AIC
(``fit_response``), and regularised non-negative deconvolution of line scans vectorised over lines
and isotopes (``LaserDeconvolution``: Tikhonov/L1 by FISTA, TV by Condat–Vũ, Richardson–Lucy; λ by
the discrepancy principle, GCV, L-curve or evidence; parametric bootstrap).
"""

from petroinfer.imaging._fit_response import ResponseFit, fit_response
from petroinfer.imaging._response import (
    RESPONSE_FAMILIES,
    BiExponentialResponse,
    ExGaussianResponse,
    GammaResponse,
    InverseGaussianResponse,
    LogNormalResponse,
    PulseResponse,
)
from petroinfer.imaging.laicpms import (
    DeconvolutionResult,
    LaserDeconvolution,
    simulate_line_scan,
    valley_to_peak,
)

__all__ = [
    "RESPONSE_FAMILIES",
    "BiExponentialResponse",
    "DeconvolutionResult",
    "ExGaussianResponse",
    "GammaResponse",
    "InverseGaussianResponse",
    "LaserDeconvolution",
    "LogNormalResponse",
    "PulseResponse",
    "ResponseFit",
    "fit_response",
    "simulate_line_scan",
    "valley_to_peak",
]

# -- EPMA map quantification (issue 17) --
from petroinfer.imaging._epma_classify import classify_map
from petroinfer.imaging._epma_lda import PoissonLDA, power_transform_alpha
from petroinfer.imaging._epma_mixed import phase_fractions, unmix_counts
from petroinfer.imaging._epma_outliers import garwood_interval, spot_outliers
from petroinfer.imaging.epma import (
    EPMAQuantification,
    dead_time_correction,
    fit_alpha_gamma,
    fit_beta,
    initial_centres,
    quantify_epma,
    quantify_map,
    spot_pixels,
)

__all__ += [
    "EPMAQuantification",
    "PoissonLDA",
    "classify_map",
    "dead_time_correction",
    "fit_alpha_gamma",
    "fit_beta",
    "garwood_interval",
    "initial_centres",
    "phase_fractions",
    "power_transform_alpha",
    "quantify_epma",
    "quantify_map",
    "spot_outliers",
    "spot_pixels",
    "unmix_counts",
]
