"""Property-based tests (hypothesis) of the single-pulse response transforms."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.integrate import quad

from petroinfer.imaging import (
    RESPONSE_FAMILIES,
    BiExponentialResponse,
    ExGaussianResponse,
    GammaResponse,
    InverseGaussianResponse,
    LogNormalResponse,
    PulseResponse,
)
from petroinfer.imaging._response import make_response

pos = st.floats(0.05, 2.0, allow_nan=False)


@st.composite
def responses(draw) -> PulseResponse:
    """A response of any family with parameters in a physically sensible range (s)."""
    family = draw(st.sampled_from(sorted(RESPONSE_FAMILIES)))
    delay = draw(st.floats(0.0, 0.5))
    if family == "lognormal":
        return LogNormalResponse(draw(pos), draw(st.floats(0.1, 1.0)), delay)
    if family == "gamma":
        return GammaResponse(draw(st.floats(1.5, 8.0)), draw(st.floats(0.02, 0.5)), delay)
    if family == "biexponential":
        rise = draw(st.floats(0.01, 0.5))
        return BiExponentialResponse(rise, rise * draw(st.floats(1.5, 20.0)), delay)
    if family == "inverse_gaussian":
        return InverseGaussianResponse(draw(pos), draw(st.floats(0.2, 10.0)), delay)
    width = draw(st.floats(0.02, 0.2))  # centre ≥ 6 widths: < 1e-9 of the pulse before t = 0
    return ExGaussianResponse(width * draw(st.floats(6.0, 15.0)), width,
                              draw(st.floats(0.02, 0.5)), delay)  # fmt: skip


@settings(max_examples=10, deadline=None)
@given(resp=responses())
def test_pdf_integrates_to_one_and_cdf_is_its_integral(resp):
    lo, hi = resp.delay, resp.quantile(1 - 1e-10)
    mode = resp.mode()
    total = quad(resp.pdf, lo, mode, limit=200)[0] + quad(resp.pdf, mode, hi, limit=200)[0]
    assert total == pytest.approx(1.0, abs=1e-6)
    t = resp.quantile(0.3)
    assert quad(resp.pdf, lo, t, limit=200)[0] == pytest.approx(0.3, abs=1e-6)
    assert float(resp.cdf(t)) == pytest.approx(0.3, abs=1e-9)


@settings(max_examples=15, deadline=None)
@given(resp=responses(), dt=st.floats(0.01, 0.5))
def test_kernel_sums_to_one_and_equals_cdf_differences(resp, dt):
    k = resp.kernel(dt)
    assert np.all(k >= -1e-15)
    assert k.sum() == pytest.approx(1.0, abs=2e-7)  # support to the 1 - 1e-7 quantile
    j = int(np.argmax(k))
    before = float(resp.cdf(j * dt)) if j > 0 else 0.0  # sample 0 starts at the pulse
    assert k[j] == pytest.approx(float(resp.cdf((j + 1) * dt)) - before, abs=1e-12)
    # a longer kernel only appends the (tiny) tail
    longer = resp.kernel(dt, k.size + 5)
    np.testing.assert_allclose(longer[: k.size], k, atol=1e-15)
    assert longer[k.size :].sum() < 2e-7


@settings(max_examples=15, deadline=None)
@given(resp=responses(), dt=st.floats(0.02, 0.2), shift=st.integers(1, 5))
def test_a_delay_of_whole_samples_shifts_the_kernel(resp, dt, shift):
    params = resp.params()
    params["delay"] = resp.delay + shift * dt
    moved = type(resp)(**params)
    k, km = resp.kernel(dt, 60), moved.kernel(dt, 60 + shift)
    np.testing.assert_allclose(km[shift:], k, atol=1e-8)  # ex-Gaussian: < 1e-9 before t = 0
    assert np.all(np.abs(km[:shift]) < 1e-8)


@settings(max_examples=25, deadline=None)
@given(fwhm=st.floats(0.01, 20.0), sigma=st.floats(0.05, 1.5), delay=st.floats(0, 2))
def test_lognormal_fwhm_round_trip(fwhm, sigma, delay):
    r = LogNormalResponse.from_fwhm(fwhm, sigma=sigma, delay=delay)
    assert r.fwhm() == pytest.approx(fwhm, rel=1e-12)
    assert r.mode() == pytest.approx(delay + r.median * math.exp(-(sigma**2)), rel=1e-12)
    assert (r.sigma, r.delay) == (sigma, delay)


@settings(max_examples=15, deadline=None)
@given(resp=responses())
def test_closed_form_mode_and_fwhm_agree_with_numeric(resp):
    assert PulseResponse.mode(resp) == pytest.approx(resp.mode(), abs=1e-6 * (1 + resp.mode()))
    half = 0.5 * float(resp.pdf(resp.mode()))
    w = resp.fwhm()
    # the two half-maximum points are w apart and straddle the mode
    assert PulseResponse.fwhm(resp) == pytest.approx(w, rel=1e-6)
    assert float(resp.pdf(resp.mode())) >= half


@settings(max_examples=15, deadline=None)
@given(resp=responses())
def test_parameters_round_trip_through_the_family_table(resp):
    name = {v: k for k, v in RESPONSE_FAMILIES.items()}[type(resp)]
    params = resp.params()
    again = make_response(name, **params)
    assert again == resp
    assert again.n_params == len(params)
    assert again.quantile(0.5) == pytest.approx(resp.quantile(0.5), rel=1e-12)


def test_ex_gaussian_mass_before_the_pulse_is_folded_into_the_first_sample():
    r = ExGaussianResponse(center=0.5, width=0.125, tail=0.5)  # Φ(-4) ≈ 3e-5 before t = 0
    k = r.kernel(0.1)
    assert k.sum() == pytest.approx(1.0, abs=2e-7)
    assert k[0] == pytest.approx(float(r.cdf(0.1)), abs=1e-15)
