"""Single-pulse response families: closed forms, integrated kernels, fitting by AIC."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.integrate import quad

from petroinfer.errors import InputError, ModelError
from petroinfer.imaging import (
    BiExponentialResponse,
    ExGaussianResponse,
    GammaResponse,
    InverseGaussianResponse,
    LogNormalResponse,
    PulseResponse,
    fit_response,
)


def test_quoted_closed_form_numbers():
    # imaging_texture.md §B test (a): values computed independently, to 1e-6
    assert LogNormalResponse(median=0.5, sigma=0.6).fwhm() == pytest.approx(0.5349017, abs=1e-6)
    assert BiExponentialResponse(rise=0.05, decay=0.4).mode() == pytest.approx(0.1188252, abs=1e-6)
    assert InverseGaussianResponse(mean=0.3, shape=2.0).mode() == pytest.approx(0.24, abs=1e-6)


@pytest.mark.parametrize(
    "resp",
    [
        LogNormalResponse(0.5, 0.6),
        BiExponentialResponse(0.05, 0.4),
        InverseGaussianResponse(0.3, 2.0),
        GammaResponse(3.0, 0.1),
    ],
    ids=lambda r: type(r).__name__,
)
def test_closed_forms_match_numeric_mode_and_fwhm(resp):
    # the generic numeric mode/FWHM (root finding on the pdf) equals the closed forms
    assert PulseResponse.mode(resp) == pytest.approx(resp.mode(), abs=1e-6)
    assert PulseResponse.fwhm(resp) == pytest.approx(resp.fwhm(), abs=1e-6)
    # unit area, and the cdf is the integral of the pdf
    assert quad(resp.pdf, 0, np.inf, limit=200)[0] == pytest.approx(1.0, abs=1e-6)
    t = resp.mode() * 1.7
    assert quad(resp.pdf, 0, t)[0] == pytest.approx(float(resp.cdf(t)), abs=1e-8)


def test_integrated_kernel_and_delay():
    resp = ExGaussianResponse(center=0.3, width=0.05, tail=0.2, delay=0.1)
    k = resp.kernel(0.05)
    assert k.sum() == pytest.approx(1.0, abs=1e-6)
    j = 7  # sample 7 holds the integral of the pdf over [0.35, 0.40] s
    assert k[j] == pytest.approx(quad(resp.pdf, 0.35, 0.40)[0], abs=1e-10)
    assert np.all(k[:2] < 1e-6)  # nothing before the delay + Gaussian onset


def test_from_fwhm_and_bad_parameters():
    r = LogNormalResponse.from_fwhm(0.8, sigma=0.4)
    assert r.fwhm() == pytest.approx(0.8, rel=1e-12)
    with pytest.raises(ModelError, match="rise < decay"):
        BiExponentialResponse(rise=0.5, decay=0.1)
    with pytest.raises(ModelError):
        LogNormalResponse.from_fwhm(-1.0)
    with pytest.raises(ModelError, match="sampling interval"):
        r.kernel(0.0)


def test_fit_response_recovers_the_family_and_width():
    true = LogNormalResponse(median=0.4, sigma=0.5, delay=0.1)
    dt = 0.05
    t = np.arange(60) * dt
    shots = np.random.default_rng(3).poisson(
        np.broadcast_to(400 * (true.cdf(t + dt) - true.cdf(t)) + 1, (10, 60))
    )
    fit = fit_response(shots, dt, families=("lognormal", "biexponential"))
    assert fit.table.index[0] == "lognormal"
    assert fit.table.loc["biexponential", "delta_aic"] > 10
    assert fit.response.fwhm() == pytest.approx(true.fwhm(), rel=0.05)
    assert fit.table.loc["lognormal", "amplitude"] == pytest.approx(4000, rel=0.05)


def test_fit_response_edge():
    true = GammaResponse(shape=4.0, scale=0.08)
    dt = 0.04
    t = np.arange(80) * dt
    edge = 800 * np.mean([true.cdf(t + g * dt) for g in np.linspace(0, 1, 9)], axis=0) + 3
    fit = fit_response(np.random.default_rng(4).poisson(edge), dt, kind="edge", families=("gamma",))
    assert fit.response.fwhm() == pytest.approx(true.fwhm(), rel=0.1)


def test_fit_response_bad_input():
    with pytest.raises(InputError, match="≥ 0"):
        fit_response(np.r_[np.ones(10), -1.0], 0.1)
    with pytest.raises(InputError, match="at least 8"):
        fit_response(np.ones(4), 0.1)
    with pytest.raises(ModelError, match="unknown response family"):
        fit_response(np.ones(20), 0.1, families=("voigt",))
