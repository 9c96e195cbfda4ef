"""Mixed pixels and maps larger than memory (issue 17, round 2).

Mixed pixels: a synthetic two-phase map whose sub-pixel quartz fraction is known (discs on an
8×-supersampled grid, blurred by a Gaussian beam, averaged over each pixel footprint); counts are the
linear mixture of the pure-phase intensities. Truth per pixel: wt = Σ_j f_j wt_j (equal densities).
Chunked maps: the dask path must give the in-memory numbers on the QntMap minimal set.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import ndimage

from petroinfer.errors import InputError
from petroinfer.imaging import (
    classify_map,
    power_transform_alpha,
    quantify_epma,
    unmix_counts,
)
from petroinfer.io import JeolSpots, read_jeol_map, read_jeol_qnt
from petroinfer.io import datasets as ds

WT = {"Ol": (42.71, 57.29), "Qtz": (100.0, 0.0)}  # SiO2, MgO
ALPHA = {"Ol": (1.0e-4, 1.0e-4), "Qtz": (1.15e-4, 1.0e-4)}  # a 15 % matrix effect for Si in Qtz
GAMMA = {"Ol": (4280.0, 5800.0), "Qtz": (9890.0, 0.0)}
BETA = 100.0  # = 1/(dwell 0.1 s × 0.1 µA): map counts × β = spot cps/µA


def _pk(ph):
    return np.array([WT[ph][i] / ALPHA[ph][i] + GAMMA[ph][i] for i in range(2)])


def mixed_map(n=96, sup=8, beam=0.35, seed=0, noise=True):
    """Map, spots, true quartz fraction f (y, x) and true wt (element, y, x)."""
    rng = np.random.default_rng(seed)
    m = n * sup
    yy, xx = np.mgrid[0:m, 0:m] / sup
    ind = np.zeros((m, m))
    for cy, cx, r in [(30.3, 28.7, 14.2), (66.1, 61.4, 17.6), (24.6, 72.2, 9.3)]:
        ind[(yy - cy) ** 2 + (xx - cx) ** 2 < r**2] = 1.0
    ind = ndimage.gaussian_filter(ind, beam * sup)  # beam footprint, σ = 0.35 px
    f = ind.reshape(n, sup, n, sup).mean(axis=(1, 3))  # pixel footprint
    lam = np.stack([((1 - f) * _pk("Ol")[i] + f * _pk("Qtz")[i]) / BETA for i in range(2)])
    counts = rng.poisson(lam).astype(float) if noise else lam
    truth = np.stack([(1 - f) * WT["Ol"][i] + f * WT["Qtz"][i] for i in range(2)])
    xmap = xr.DataArray(
        counts,
        dims=("element", "y", "x"),
        coords={"element": ["Si", "Mg"], "x": np.arange(n) * 1.0, "y": np.arange(n) * 1.0,
                "electron": ("element", [False, False])},
        attrs={"dwell_s": 0.1, "current_A": 1e-7, "step_um": (1000.0, 1000.0),
               "start_mm": (0.0, 0.0), "dead_time_ns": 0.0},
    )  # fmt: skip
    rows, pk, bg, wt = [], [], [], []
    for ph, pure in (("Qtz", f > 1 - 1e-6), ("Ol", f < 1e-6)):
        iy, ix = np.nonzero(pure)
        for k in rng.choice(len(ix), 20, replace=False):
            rows.append({"X": float(ix[k]), "Y": float(iy[k]), "Z": 0.0, "phase": ph})
            pk.append(_pk(ph) * rng.normal(1, 0.003, 2))
            bg.append(np.array(GAMMA[ph]) * rng.normal(1, 0.01, 2))
            wt.append(WT[ph])
    idx = pd.Index(range(1, len(rows) + 1), name="id")
    cols = ["Si", "Mg"]
    pk, bg = pd.DataFrame(pk, idx, cols), pd.DataFrame(bg, idx, cols)
    cond = pd.DataFrame(
        {"oxide": ["SiO2", "MgO"], "bg_plus_mm": 1.0, "bg_minus_mm": 1.0, "t_peak_s": 10.0,
         "t_bg_s": 5.0},
        index=pd.Index(cols, name="element"),
    )  # fmt: skip
    qnt = JeolSpots(
        spots=pd.DataFrame(rows, index=idx).assign(use=True, current_A=1e-8),
        conditions=cond, pk=pk, bgm=bg, bgp=bg, net=(pk - bg).clip(lower=0),
        wt=pd.DataFrame(wt, idx, cols),
    )  # fmt: skip
    return xmap, qnt, f, truth


def _rms(a):
    return float(np.sqrt(np.mean(a**2)))


def test_noiseless_mixed_pixels_analytic():
    xmap, qnt, f, truth = mixed_map(noise=False)
    mix = quantify_epma(xmap, qnt, se=False, mixed_pixels=True)
    hard = quantify_epma(xmap, qnt, se=False)
    frac = mix.membership.sel(phase="Qtz").values
    assert np.abs(frac - f).max() < 2e-3  # sub-pixel fractions recovered
    np.testing.assert_allclose(mix.membership.sum("phase"), 1.0, atol=1e-12)
    for i, ox in enumerate(["SiO2", "MgO"]):
        # Σ_j f_j α_j (β Σ_k f_k I_k − γ_j) − Σ_j f_j wt_j = −f(1−f)(α_Qtz − α_Ol)(pk_Qtz − pk_Ol):
        # the bias of membership weighting itself when α differs between phases
        cross = -f * (1 - f) * (ALPHA["Qtz"][i] - ALPHA["Ol"][i]) * (_pk("Qtz")[i] - _pk("Ol")[i])
        err = mix.wt[ox].values - truth[i]
        assert np.abs(err - cross).max() < 0.15, ox  # α, β, γ from noisy spots (0.3 %, 1 %)
    bd = (f > 0.02) & (f < 0.98)
    e_mix = mix.wt["SiO2"].values - truth[0]
    e_hard = hard.wt["SiO2"].values - truth[0]
    assert np.abs(e_hard[bd]).max() > 10.0  # hard assignment: up to 10 wt% off at boundaries
    # fractions: within the cross term (max ¼·0.15e-4·4.48e5 = 1.68 wt% at f = ½) + 0.15
    assert np.abs(e_mix[bd]).max() < 1.85


def test_poisson_mixed_pixels_beat_hard_assignment():
    xmap, qnt, f, truth = mixed_map(seed=3)
    mix = quantify_epma(xmap, qnt, se=False, mixed_pixels=True)
    hard = quantify_epma(xmap, qnt, se=False)
    bd = (f > 0.02) & (f < 0.98)
    assert bd.sum() > 300
    frac = mix.membership.sel(phase="Qtz").values
    assert _rms((frac - f)[bd]) < 0.02
    lda = hard.membership.sel(phase="Qtz").values
    assert _rms((lda - f)[bd]) > 0.3  # LDA memberships are ~0/1 even at boundaries
    e_mix, e_hard = mix.wt["SiO2"].values - truth[0], hard.wt["SiO2"].values - truth[0]
    # Poisson noise alone gives ≈ 0.65–1.2 wt% SiO2; hard assignment ≈ 6.6 wt% at boundaries
    assert _rms(e_mix[bd]) < 2.0
    assert _rms(e_mix[bd]) < 0.35 * _rms(e_hard[bd])
    m_mix, m_hard = mix.wt["MgO"].values - truth[1], hard.wt["MgO"].values - truth[1]
    assert _rms(m_mix[bd]) < _rms(m_hard[bd])  # MgO: same α in both phases, hard errs by α·Δγ·f
    # pure pixels are not degraded
    assert _rms(e_mix[~bd]) <= 1.05 * _rms(e_hard[~bd])


@pytest.fixture(scope="module")
def minimal():
    try:
        d = ds.epma_qntmap_minimal_dir(download=False)
    except InputError as exc:
        pytest.skip(f"QntMap minimal data set absent (set PETROINFER_DATA_DIR): {exc}")
    return read_jeol_map(d / ".map/1"), read_jeol_qnt(d / ".qnt")


def test_minimal_set_boundary_pixels_sensible(minimal):
    xmap, q = minimal
    res = quantify_epma(xmap, q, mixed_pixels=True)
    frac = res.membership.values
    assert frac.min() >= 0 and frac.max() <= 1
    np.testing.assert_allclose(frac.sum(axis=0), 1.0, atol=1e-12)
    qtz = res.cluster.values == "Qtz"
    boundary = qtz ^ ndimage.binary_erosion(qtz, border_value=1)  # quartz pixels touching olivine
    boundary |= ndimage.binary_dilation(qtz) & ~qtz  # and olivine pixels touching quartz
    assert boundary.sum() > 50
    tot = res.wt["Total"].values
    ref = quantify_epma(xmap, q).wt["Total"].values
    # the artificial minimal set has no mixed pixels (Mg = 0 exactly in quartz): totals at the
    # boundary stay within the map's range and close to the LDA quantification
    assert tot[boundary].min() > 96.0 and tot[boundary].max() < 104.5
    assert np.abs(tot - ref)[boundary].max() < 0.1
    assert frac[list(res.membership["phase"].values).index("Qtz")][boundary & qtz].min() > 0.97
    pm = res.phase_mean()
    assert pm.loc["Ol", "SiO2"] == pytest.approx(42.71, abs=0.1)
    assert pm.loc["Qtz", "SiO2"] == pytest.approx(99.92, abs=0.1)


@settings(max_examples=40, deadline=None)
@given(
    f=st.lists(st.floats(0, 1), min_size=3, max_size=3),
    e=st.lists(st.floats(10, 1e4), min_size=9, max_size=9),
)
def test_unmix_counts_recovers_noiseless_mixtures(f, e):
    f = np.asarray(f) + 1e-9
    f = f / f.sum()
    E = np.asarray(e).reshape(3, 3)
    if np.linalg.cond(np.vstack([E.T, np.ones(3)])) > 1e6:
        return  # (nearly) collinear endmembers: fractions not identifiable
    x = (f @ E)[None]
    got = unmix_counts(x, E)[0]
    assert got.min() >= 0 and got.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(got @ E, x[0], rtol=1e-6, atol=1e-6 * E.max())


def test_unmix_counts_is_the_constrained_optimum():
    from scipy.optimize import minimize

    rng = np.random.default_rng(5)
    E = rng.uniform(100, 5000, (3, 4))
    x = rng.poisson(rng.dirichlet([0.3, 0.3, 0.3], 40) @ E * 1.3 + 200).astype(float)
    got = unmix_counts(x, E)
    w = 1.0 / np.maximum(x, 1.0)
    for i in range(len(x)):

        def obj(f, i=i):
            return float(np.sum(w[i] * (x[i] - f @ E) ** 2))

        ref = minimize(obj, np.full(3, 1 / 3), method="SLSQP", bounds=[(0, 1)] * 3,
                       constraints=[{"type": "eq", "fun": lambda f: f.sum() - 1}],
                       options={"ftol": 1e-14, "maxiter": 500})  # fmt: skip
        assert obj(got[i]) <= ref.fun * (1 + 1e-5)  # SLSQP may violate Σf = 1 by ~1e-7
        np.testing.assert_allclose(got[i], ref.x, atol=2e-3)
    assert (got == 0).any()  # some pixels lie outside the simplex: fractions on its faces


# ------------------------------------------------------------------ chunked (dask) classification


def _pearson_g(z):
    """Pearson statistic written out directly (the textbook form)."""
    r, c = z.sum(1), z.sum(0)
    zhat = np.outer(r, c) / z.sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        t = (z - zhat) ** 2 / zhat
    return np.nansum(np.where(zhat > 0, t, 0.0))


def test_power_transform_equals_direct_pearson_search(minimal):
    grid = 0.01 + 0.99 * np.arange(50) / 49
    rng = np.random.default_rng(2)
    cases = [minimal[0].values.reshape(2, -1).T, rng.poisson([30, 300, 3], (500, 3)).astype(float)]
    for x in cases:
        dev = [abs(_pearson_g(x**a) - (len(x) - 1) * (x.shape[1] - 1)) for a in grid]
        assert power_transform_alpha(x) == grid[int(np.argmin(dev))]


@pytest.mark.parametrize("options", [{}, {"mixed_pixels": True}, {"se": "qntmap_compat"}])
def test_chunked_pipeline_identical_to_in_memory(minimal, options):
    pytest.importorskip("dask")
    xmap, q = minimal
    eager = quantify_epma(xmap, q, **options)
    lazy = quantify_epma(xmap.chunk({"y": 30, "x": 40}), q, **options)
    assert not isinstance(lazy.wt["SiO2"].data, np.ndarray)  # lazy until asked
    assert not isinstance(lazy.membership.data, np.ndarray)
    assert lazy.lda.alpha_ == eager.lda.alpha_
    np.testing.assert_allclose(lazy.lda.rates_, eager.lda.rates_, rtol=1e-10)
    np.testing.assert_allclose(lazy.membership.values, eager.membership.values, atol=1e-10)
    assert (lazy.cluster.values == eager.cluster.values).all()
    for v in eager.wt.data_vars:
        np.testing.assert_allclose(lazy.wt[v].values, eager.wt[v].values, rtol=1e-10, atol=1e-10)
    pd.testing.assert_frame_equal(lazy.params, eager.params, rtol=1e-10)
    pd.testing.assert_frame_equal(lazy.phase_mean(), eager.phase_mean(), rtol=1e-10)
    pd.testing.assert_frame_equal(lazy.summary(), eager.summary(), rtol=1e-10)
    pd.testing.assert_series_equal(lazy.phase_fraction(), eager.phase_fraction(), rtol=1e-10)


def test_chunked_quasi_calibration_identical(minimal):
    xmap, q = minimal
    fix = pd.DataFrame({"element": ["Si"], "phase": ["Qtz"], "wt": [100.0]})
    eager = quantify_epma(xmap, q, fix=fix, se=False)
    lazy = quantify_epma(xmap.chunk({"y": 50, "x": 25}), q, fix=fix, se=False)
    pd.testing.assert_frame_equal(lazy.params, eager.params, rtol=1e-10)
    pd.testing.assert_frame_equal(lazy.phase_mean(), eager.phase_mean(), rtol=1e-10)


def test_chunked_classify_rejects_bad_counts(minimal):
    xmap, _ = minimal
    bad = xmap.copy(data=xmap.values.copy())
    bad.values[1, 70, 3] = -5.0
    cen = pd.DataFrame({"Si": [4270.0, 10000.0], "Mg": [5720.0, 0.0]}, index=["Ol", "Qtz"])
    with pytest.raises(InputError, match="1 negative or non-finite"):
        classify_map(bad.chunk({"y": 25}), cen)
