"""QntMap compatibility items (issue 17, round 2): QntMap's standard-error formula, density-weighted
domain means, the JXA-8230 stage branch and the pinned registry URLs.

Reference numbers: QntMap 1.0.2 ``R/find-AB.R`` example for the minimal set — g_se (= sd/(n − 1)),
a_se (= Var α), b_se (= Var(c)/k) and ab_se = ‖(α·b_se, β·a_se)‖ per (element, phase).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from petroinfer.errors import InputError
from petroinfer.imaging import quantify_epma, spot_pixels
from petroinfer.io import datasets as ds
from petroinfer.io import read_jeol_map, read_jeol_qnt

# elm, phase: g, g_se, a, a_se ; B: b, b_se ; AB: ab_se (find-AB.R example)
FIND_AB = {
    ("Mg", "Ol"): (5797.0, 16.15739, 0.0001011356, 1.200497e-14, 4.055329e-08),
    ("Si", "Ol"): (4282.5, 10.12659, 0.0001011270, 1.129788e-14, 3.816024e-08),
    ("Si", "Qtz"): (9891.0, 14.91865, 0.0001009895, 3.593501e-15, 3.810836e-08),
    ("Mg", "Qtz"): (0.0, 0.0, 0.0001011356, 5.848577e-15, 4.055329e-08),
}
B = {"Mg": (99.75446, 0.0004009793), "Si": (99.88468, 0.0003773498)}


@pytest.fixture(scope="module")
def root(qntmap_minimal_dir):
    return qntmap_minimal_dir


@pytest.fixture(scope="module")
def data(root):
    return read_jeol_map(root / ".map/1"), read_jeol_qnt(root / ".qnt")


@pytest.fixture(scope="module")
def compat(data):
    return quantify_epma(*data, se="qntmap_compat")


def test_qntmap_se_inputs_match_find_ab(compat):
    p = compat.params
    for (el, ph), (_g, g_se, _a, a_se, ab_se) in FIND_AB.items():
        assert p.loc[(el, ph), "gamma_se_qntmap"] == pytest.approx(g_se, rel=1e-6, abs=1e-12)
        assert p.loc[(el, ph), "alpha_var"] == pytest.approx(a_se, rel=1e-6)
        assert p.loc[(el, ph), "beta_se_qntmap"] == pytest.approx(B[el][1], rel=1e-6)
        ours = np.hypot(
            p.loc[(el, ph), "alpha"] * p.loc[(el, ph), "beta_se_qntmap"],
            p.loc[(el, ph), "beta"] * p.loc[(el, ph), "alpha_var"],
        )
        assert ours == pytest.approx(ab_se, rel=1e-5)


def test_qntmap_se_maps_by_hand(data, compat):
    xmap, _ = data
    u = compat.membership
    for ph in ("Ol", "Qtz"):
        iy, ix = np.unravel_index(int(np.argmax(u.sel(phase=ph).values)), u.shape[1:])
        w = {p: float(u.sel(phase=p)[iy, ix]) for p in ("Ol", "Qtz")}
        se2 = 0.0
        for el, ox in (("Si", "SiO2"), ("Mg", "MgO")):
            b, b_se = B[el]
            i = float(xmap.sel(element=el)[iy, ix])
            # QntMap: SE_XAB = ‖u_j s_ab,j‖, s_ab = ‖(α b_se, β a_se)‖; SE_XAG = ‖u_j s_ag,j‖,
            # s_ag = ‖(α g_se, γ a_se)‖; SE = sqrt((SE_XAB·I)² + SE_XAG²)
            xab2 = xag2 = 0.0
            for p, up in w.items():
                g, g_se, a, a_se, _ = FIND_AB[(el, p)]
                xab2 += (up * np.hypot(a * b_se, b * a_se)) ** 2
                xag2 += (up * np.hypot(a * g_se, g * a_se)) ** 2
            se = np.sqrt(xab2 * i**2 + xag2)
            assert float(compat.wt[f"{ox}_se"][iy, ix]) == pytest.approx(se, rel=1e-5)
            se2 += se**2
        assert float(compat.wt["Total_se"][iy, ix]) == pytest.approx(np.sqrt(se2), rel=1e-5)
    # QntMap's "standard errors" are orders of magnitude below the delta-method ones (variances
    # used as standard errors; no Poisson noise of the map): ~0.002 vs ~1 wt% here
    delta = quantify_epma(*data)
    ratio = compat.wt["SiO2_se"].values / delta.wt["SiO2_se"].values
    assert ratio.max() < 0.01
    np.testing.assert_allclose(compat.wt["SiO2"], delta.wt["SiO2"])  # estimates unchanged


def test_se_mode_validated(data):
    from petroinfer.errors import ModelError

    with pytest.raises(ModelError, match="se must be"):
        quantify_epma(*data, se="bootstrap")


def test_density_weighted_means(data):
    res = quantify_epma(*data, se=False)
    rho = {"Ol": 3.32, "Qtz": 2.65}
    plain, dens = res.phase_mean(), res.phase_mean(density=rho)
    # within one phase the density is constant: per-phase means unchanged
    pd.testing.assert_frame_equal(dens.loc[["Ol", "Qtz"]], plain.loc[["Ol", "Qtz"]], rtol=1e-12)
    # whole area: mass-weighted mixture of the phase means (hand formula)
    n = pd.Series(res.cluster.values.ravel()).value_counts()
    w = {ph: rho[ph] * n[ph] for ph in ("Ol", "Qtz")}
    for ox in ("SiO2", "MgO", "Total"):
        expect = sum(w[ph] * plain.loc[ph, ox] for ph in w) / sum(w.values())
        assert dens.loc["Whole area", ox] == pytest.approx(expect, rel=1e-12)
    assert dens.loc["Whole area", "SiO2"] < plain.loc["Whole area", "SiO2"]  # quartz is lighter
    # membership-weighted density ≈ cluster density on the (sharp) minimal set
    soft = res.phase_mean(density=rho, density_by="membership")
    assert soft.loc["Whole area", "SiO2"] == pytest.approx(dens.loc["Whole area", "SiO2"], abs=2e-3)
    # a custom index (two halves of the map)
    half = np.where(np.arange(100)[None, :] < 50, "left", "right").repeat(100, 0)
    by_half = res.phase_mean(half, density=rho)
    assert list(by_half.index) == ["left", "right", "Whole area"]
    with pytest.raises(InputError, match="missing"):
        res.phase_mean(density={"Ol": 3.3})


# ------------------------------------------------------------------------------- JXA-8230 branch

_CND_8230 = (
    "$XM_ANALYSIS_INSTRUMENT JXA-8230\n$XM_DATA_PROBE_CURRENT 1.000E-07\n"
    "$XM_ELEM_NAME%0 {el}\n$XM_AP_SA_DWELL_TIME%0 100\n$XM_AP_SA_STAGE_POS%0_1 {x0} 0.0 0.0\n"
    "$XM_AP_SA_PIXELS%0 {nx} {ny}\n$XM_AP_SA_PIXEL_SIZE%0 1000 1000\n"
)


def test_jxa8230_non_square_orientation(tmp_path):
    # nx = 3 stage-X steps, ny = 5 stage-Y steps; file rows run along Y, stage X decreases along
    # the columns from X = 10 mm
    a = np.arange(15).reshape(5, 3) + 100
    np.savetxt(tmp_path / "data1.csv", a, fmt="%d", delimiter=",")
    (tmp_path / "data1.cnd").write_text(_CND_8230.format(el="Si", x0=10.0, nx=3, ny=5))
    m = read_jeol_map(tmp_path)
    assert m.attrs["stage_convention"] == "JXA-8230" and m.attrs["stage_x_flipped"]
    assert m.sizes == {"element": 1, "y": 5, "x": 3}
    np.testing.assert_allclose(m["x"], [10.0, 9.0, 8.0])
    np.testing.assert_array_equal(m.values[0], a)
    spots = pd.DataFrame({"X": [8.0, 10.0, 11.0], "Y": [4.0, 1.0, 0.0]})
    px = spot_pixels(m, spots)
    assert list(px["ix"]) == [2, 0, -1] and list(px["iy"]) == [4, 1, -1]
    assert float(m.values[0][px["iy"][0], px["ix"][0]]) == a[4, 2]
    # QntMap's literal branch, x_px = −(round((X − x0)·1000/step) + 1), cannot place these spots:
    x_px = -(np.rint((spots["X"] - 10.0) * 1000 / 1000) + 1)
    assert (x_px[:2] > 0).sum() == 1 and x_px.iloc[1] == -1  # the start pixel itself is lost


def test_jxa8230_export_of_minimal_set_quantifies_identically(root, data, tmp_path):
    xmap, q = data
    for k, el in enumerate(["Si", "Mg"], start=1):
        raw = np.loadtxt(root / f".map/1/{k}_map.txt")  # rows along stage X (JXA-8105)
        # the same map as a JXA-8230 would write it: rows along Y, stage X decreasing from 99 mm
        np.savetxt(tmp_path / f"data{k}.csv", raw.T[:, ::-1], fmt="%d", delimiter=",")
        (tmp_path / f"data{k}.cnd").write_text(_CND_8230.format(el=el, x0=99.0, nx=100, ny=100))
    m8230 = read_jeol_map(tmp_path)
    px = spot_pixels(m8230, q.spots)
    assert px["inside"].all()
    qtz = (m8230.sel(element="Mg").values == 0)[px["iy"], px["ix"]]
    assert (qtz == (q.spots["phase"] == "Qtz")).all()  # every spot in a pixel of its own phase
    assert (spot_pixels(m8230, q.spots, flip_x=False)["inside"]).sum() < 40
    a, b = quantify_epma(xmap, q, se=False), quantify_epma(m8230, q, se=False)
    pd.testing.assert_frame_equal(a.params, b.params, rtol=1e-12)
    pd.testing.assert_frame_equal(a.phase_mean(), b.phase_mean(), rtol=1e-12)


# ------------------------------------------------------------------------------ registry pinning


def test_qntmap_registry_pinned_to_commit():
    urls = [i.url for k, i in ds.REGISTRY.items() if k.startswith("epma_qntmap_minimal/")]
    assert len(urls) == 17
    assert all("/atusy/qntmap/5b6a349ac12b600daad7e806e22982e514150b86/" in u for u in urls)
    assert not any("/master/" in u for u in urls)
