"""Fuzzy c-means family: FCM vs scikit-fuzzy, spatial reductions, synthetic truth, indices, errors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import adjusted_rand_score

from petroinfer.errors import InputError, ModelError
from petroinfer.geochem import (
    FuzzyCMeans,
    GeoFCM,
    SpatialFuzzyCMeans,
    make_domain_map,
    make_scattered_units,
    neighbour_weights,
    spatial_consistency,
    validity_indices,
)
from petroinfer.geochem._fcm_core import update_memberships
from petroinfer.geochem.fuzzy import lonlat_to_km

# -- scikit-fuzzy parity -------------------------------------------------------------------------
# Recorded with scikit-fuzzy 0.5.0 (BSD, installed in a scratch venv only):
#   skfuzzy.cluster.cmeans(X.T, 3, 2.0, error=1e-12, maxiter=1000, init=U0.T)  (19 iterations)
#   skfuzzy.cluster.cmeans(X.T, 3, 2.0, error=0.0, maxiter=3, init=U0.T)
# with X and U0 built exactly as in _skf_inputs() below.
SKF_CENTRES = [
    [5.902024340952362, -0.9548952116191727],
    [0.02450965993104542, 0.005790275538541023],
    [3.0632349529466114, 2.0566160529944235],
]
SKF_U = [
    [0.00644975604114, 0.973364482056928, 0.020185761901931],
    [0.008029425381851, 0.972747600001473, 0.019222974616677],
    [0.000538515060458, 0.998091033093586, 0.001370451845956],
    [0.007486228386434, 0.97125415330681, 0.021259618306756],
    [0.008121991228296, 0.973758364069165, 0.018119644702539],
    [0.005841564653996, 0.006221983422457, 0.987936451923548],
    [0.006414296734072, 0.010678723638845, 0.982906979627083],
    [0.021370845125557, 0.035212666469869, 0.943416488404575],
    [0.012545458066904, 0.013393150583629, 0.974061391349467],
    [0.003019550461904, 0.003518406882622, 0.993462042655474],
    [0.984585682629857, 0.005365864735729, 0.010048452634414],
    [0.981025768486241, 0.00562292319245, 0.013351308321309],
    [0.971540968889856, 0.009983322497536, 0.018475708612608],
    [0.99972196644065, 9.0862529258e-05, 0.000187171030092],
    [0.981612153855099, 0.005583757878109, 0.012804088266792],
]
SKF_FPC = 0.9595392496401203
SKF_U3 = [
    [0.319646472502058, 0.348473826647471, 0.331879700850471],
    [0.323721994714544, 0.34523564115358, 0.331042364131876],
    [0.322925771491487, 0.345485628333244, 0.331588600175269],
    [0.32156097781198, 0.346443244653236, 0.331995777534784],
    [0.325119733071456, 0.343714839604065, 0.331165427324479],
    [0.312886032331687, 0.349069313012388, 0.338044654655925],
    [0.305366647289729, 0.357771159003635, 0.336862193706636],
    [0.290194661755322, 0.372259332307635, 0.337546005937043],
    [0.314770338932895, 0.347653768883206, 0.337575892183899],
    [0.30583237269418, 0.355233411206597, 0.338934216099222],
    [0.352396402376272, 0.315149291103, 0.332454306520727],
    [0.35005027538933, 0.316526004980423, 0.333423719630247],
    [0.348181597559448, 0.318889973080882, 0.33292842935967],
    [0.350450651203168, 0.316583660042225, 0.332965688754607],
    [0.35261675559072, 0.314325439406934, 0.333057805002346],
]
SKF_C3 = [  # centres from the memberships of iteration 2 (skfuzzy returns the pre-update centres)
    [3.0558040642149886, 0.29641106434762204],
    [2.9321827972553614, 0.42394050790289095],
    [3.00319812795912, 0.37975148203936493],
]


def _skf_inputs():
    k = np.arange(15)
    X = np.column_stack(
        [
            np.repeat([0.0, 3.0, 6.0], 5) + 0.4 * np.sin(1.7 * k),
            np.repeat([0.0, 2.0, -1.0], 5) + 0.5 * np.cos(2.3 * k),
        ]
    )
    U0 = np.array([[1.0 + ((i + 1) * (kk + 2)) % 5 for i in range(3)] for kk in range(15)])
    return X, U0 / U0.sum(1, keepdims=True)


def _fcm(**kw):
    base = {"preprocessing": "none", "tol": 1e-12, "max_iter": 1000}
    base.update(kw)
    return FuzzyCMeans(3, **base)


def test_fcm_matches_scikit_fuzzy_converged():
    X, U0 = _skf_inputs()
    f = _fcm(init=U0).fit(X)
    np.testing.assert_allclose(f.memberships_, SKF_U, atol=1e-10)
    np.testing.assert_allclose(f.cluster_centers_, SKF_CENTRES, atol=1e-9)
    assert f.criterion_["pc"].iloc[0] == pytest.approx(SKF_FPC, abs=1e-10)


@pytest.mark.filterwarnings("ignore::petroinfer.errors.ConvergenceWarning")
def test_fcm_matches_scikit_fuzzy_fixed_iterations():
    X, U0 = _skf_inputs()
    f3 = _fcm(init=U0, tol=0.0, max_iter=3).fit(X)
    np.testing.assert_allclose(f3.memberships_, SKF_U3, atol=1e-13)
    f2 = _fcm(init=U0, tol=0.0, max_iter=2).fit(X)
    np.testing.assert_allclose(f2.cluster_centers_, SKF_C3, atol=1e-13)


# -- spatial variants reduce to FCM ---------------------------------------------------------------
@pytest.fixture(scope="module")
def domain_map():
    return make_domain_map(shape=(48, 48), random_state=0)


@pytest.mark.parametrize(
    "kw",
    [
        {"method": "s1", "alpha": 0.0},
        {"method": "s2", "alpha": 0.0},
        {"method": "chuang", "p": 1.0, "q": 0.0},
    ],
)
def test_spatial_map_reduces_to_fcm(domain_map, kw):
    img, _ = domain_map
    V0 = np.array([[-1.0] * 4, [0.0] * 4, [1.0] * 4])
    common = {"init": V0, "tol": 1e-9, "max_iter": 200}
    f = FuzzyCMeans(3, **common).fit(img.reshape(-1, 4))
    s = SpatialFuzzyCMeans(3, **kw, **common).fit(img)
    np.testing.assert_allclose(s.memberships_, f.memberships_, rtol=0, atol=1e-12)
    np.testing.assert_allclose(s.cluster_centers_, f.cluster_centers_, rtol=0, atol=1e-12)


@pytest.mark.parametrize(
    "kw",
    [{"method": "s1", "alpha": 0.0}, {"method": "chuang", "q": 0.0}, {"method": "s2", "alpha": 0}],
)
def test_geofcm_reduces_to_fcm(kw):
    df, _ = make_scattered_units(n=120, random_state=3)
    V0 = np.array([[-1.0] * 4, [0.0] * 4, [1.0] * 4])
    common = {"init": V0, "tol": 1e-9, "max_iter": 300}
    f = FuzzyCMeans(3, **common).fit(df.drop(columns=["x", "y"]))
    g = GeoFCM(3, x_column="x", y_column="y", **kw, **common).fit(df)
    np.testing.assert_allclose(g.memberships_, f.memberships_, rtol=0, atol=1e-12)


@pytest.mark.filterwarnings("ignore::petroinfer.errors.ConvergenceWarning")
def test_sfcm_centre_update_by_hand():
    """One SFCM centre step on a 1-D toy follows v = Σu^m(x + αx̄)/((1+α)Σu^m)."""
    x = np.array([0.0, 1.0, 4.0, 5.0])
    coords = np.column_stack([np.arange(4.0), np.zeros(4)])
    U0 = np.array([[0.9, 0.1], [0.8, 0.2], [0.3, 0.7], [0.1, 0.9]])
    # k = 1 neighbours on a line: 0↔1, 1↔0 (nearer than 2), 2↔3, 3↔2 — symmetrised: same pairs
    xbar = np.array([1.0, 0.0, 5.0, 4.0])
    a = 0.5
    um = U0**2
    v_hand = (um * (x + a * xbar)[:, None]).sum(0) / ((1 + a) * um.sum(0))
    g = GeoFCM(
        2, method="s1", alpha=a, k=1, init=U0, tol=0.0, max_iter=1, preprocessing="none"
    ).fit(x[:, None], coordinates=coords + np.array([[0, 0], [0, 0], [0.5, 0], [0.5, 0]]))
    # max_iter=1: centres(U0) → U1 → centres(U1); recompute by hand from U1
    U1 = g.memberships_
    um1 = U1**2
    v1 = (um1 * (x + a * xbar)[:, None]).sum(0) / ((1 + a) * um1.sum(0))
    np.testing.assert_allclose(g.cluster_centers_.ravel(), v1, atol=1e-12)
    # and U1 is the SFCM membership of the hand-computed first centres
    d = (x[:, None] - v_hand) ** 2 + a * (xbar[:, None] - v_hand) ** 2
    u_hand = (1 / d) / (1 / d).sum(1, keepdims=True)
    np.testing.assert_allclose(U1, u_hand, atol=1e-12)


# -- synthetic truth -------------------------------------------------------------------------------
def test_spatial_map_beats_fcm(domain_map):
    img, truth = domain_map
    f = FuzzyCMeans(3, n_init=3, random_state=0).fit(img.reshape(-1, 4))
    ari_fcm = adjusted_rand_score(truth.ravel(), f.labels_)
    W = neighbour_weights(shape=img.shape[:2])
    sc_fcm = spatial_consistency(f.memberships_, W, n_permutations=19)["ratio"]
    for method in ("s1", "chuang", "flicm"):
        s = SpatialFuzzyCMeans(3, method=method, n_init=3, random_state=0).fit(img)
        ari = adjusted_rand_score(truth.ravel(), s.labels_)
        assert ari >= ari_fcm + 0.1, (method, ari, ari_fcm)
        assert s.spatial_["ratio"] < sc_fcm - 0.1, (method, s.spatial_["ratio"], sc_fcm)


@pytest.mark.parametrize("seed", [0, 1])
def test_geofcm_beats_fcm_on_scattered_units(seed):
    df, truth = make_scattered_units(n=400, random_state=seed)
    f = FuzzyCMeans(3, n_init=5, random_state=0).fit(df.drop(columns=["x", "y"]))
    g = GeoFCM(3, x_column="x", y_column="y", n_init=5, random_state=0).fit(df)
    ari_f = adjusted_rand_score(truth, f.labels_)
    ari_g = adjusted_rand_score(truth, g.labels_)
    assert ari_g >= ari_f + 0.1, (ari_g, ari_f)
    assert ari_g > 0.8


def test_number_of_clusters_found_on_points():
    df, _ = make_scattered_units(n=400, random_state=0)
    g = GeoFCM(x_column="x", y_column="y", c_range=range(2, 7), n_init=3, random_state=0).fit(df)
    assert g.n_clusters_ == 3
    crit = g.result_.criterion
    assert {"xie_beni", "mpc", "pe", "fuzzy_silhouette", "spatial_consistency"} <= set(crit)
    assert g.result_.hyperparameters["n_clusters"] == 3


def test_number_of_clusters_found_on_map():
    img, _ = make_domain_map(shape=(40, 40), random_state=0)
    s = SpatialFuzzyCMeans(c_range=range(2, 6), n_init=2, random_state=0).fit(img)
    assert s.n_clusters_ == 3


# -- validity indices and spatial diagnostics -------------------------------------------------------
def test_indices_by_hand():
    X = np.array([[0.0], [1.0], [4.0], [5.0]])
    U = np.array([[0.9, 0.1], [0.8, 0.2], [0.2, 0.8], [0.1, 0.9]])
    V = np.array([[0.5], [4.5]])
    idx = validity_indices(X, U, V, m=2.0)
    pc = (0.81 + 0.01 + 0.64 + 0.04) * 2 / 4
    assert idx["pc"] == pytest.approx(pc, abs=1e-14)
    assert idx["mpc"] == pytest.approx(1 - 2 * (1 - pc), abs=1e-14)
    pe = -2 * (0.9 * np.log(0.9) + 0.1 * np.log(0.1) + 0.8 * np.log(0.8) + 0.2 * np.log(0.2)) / 4
    assert idx["pe"] == pytest.approx(pe, abs=1e-14)
    # Xie–Beni: Σ u² d / (n · 16)
    d = (X - V.T) ** 2
    assert idx["xie_beni"] == pytest.approx(float(np.sum(U**2 * d) / (4 * 16)), abs=1e-14)
    between = (V.ravel() - 2.5) ** 2
    fs = float(np.sum(U**2 * (d - between)))
    assert idx["fukuyama_sugeno"] == pytest.approx(fs, abs=1e-12)


def test_spatial_consistency_smooth_vs_random():
    W = neighbour_weights(shape=(30, 30))
    _, xx = np.mgrid[0:30, 0:30]
    u = (xx / 29.0).ravel()
    U = np.column_stack([u, 1 - u])
    smooth = spatial_consistency(U, W, n_permutations=49, random_state=1)
    rng = np.random.default_rng(0)
    Ur = U[rng.permutation(900)]
    rand = spatial_consistency(Ur, W, n_permutations=49, random_state=1)
    assert smooth["ratio"] < 0.01 and smooth["p_value"] == pytest.approx(0.02)
    assert 0.9 < rand["ratio"] < 1.1


@settings(max_examples=50, deadline=None)
@given(
    st.integers(2, 6),
    st.floats(1.1, 4.0),
    st.integers(0, 2**31 - 1),
)
def test_memberships_are_a_partition(c, m, seed):
    D = np.random.default_rng(seed).exponential(size=(20, c))
    D[0, 0] = 0.0  # a sample on a centre
    U = update_memberships(D.T, m)[0].T  # the engine works clusters-first, (c, n)
    assert np.all(U >= 0) and np.all(U <= 1)
    np.testing.assert_allclose(U.sum(1), 1.0, atol=1e-12)
    assert U[0, 0] == 1.0
    # order of memberships follows the order of distances
    order_u = np.argsort(-U[1:], axis=1, kind="stable")
    order_d = np.argsort(D[1:], axis=1, kind="stable")
    ties = np.any(np.diff(np.sort(D[1:], axis=1), axis=1) == 0, axis=1)
    assert np.all((order_u == order_d).all(1) | ties)


def test_lonlat_to_km_matches_haversine():
    lon = np.array([117.0, 117.5])
    lat = np.array([-31.0, -31.3])
    xy = lonlat_to_km(lon, lat)
    phi, lam = np.radians(lat), np.radians(lon)
    a = (
        np.sin((phi[1] - phi[0]) / 2) ** 2
        + np.cos(phi[0]) * np.cos(phi[1]) * np.sin((lam[1] - lam[0]) / 2) ** 2
    )
    hav = 2 * 6371.0088 * np.arcsin(np.sqrt(a))
    assert np.linalg.norm(xy[1] - xy[0]) == pytest.approx(hav, rel=1e-3)


# -- options -----------------------------------------------------------------------------------------
def test_noise_cluster_flags_outlier():
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(0, 0.2, (30, 2)), rng.normal(3, 0.2, (30, 2)), [[30.0, -30.0]]])
    f = FuzzyCMeans(2, noise_distance=1.0, preprocessing="none", random_state=0, n_init=3).fit(X)
    assert f.noise_membership_[-1] > 0.95
    assert np.median(f.noise_membership_[:-1]) < 0.2
    np.testing.assert_allclose(f.memberships_.sum(1) + f.noise_membership_, 1.0, atol=1e-12)


def test_missing_values_partial_distance():
    df, _ = make_scattered_units(n=200, random_state=2)
    X = df.drop(columns=["x", "y"])
    full = FuzzyCMeans(3, missing="pds", random_state=0, n_init=3).fit(X)
    ref = FuzzyCMeans(3, random_state=0, n_init=3).fit(X)
    np.testing.assert_allclose(full.memberships_, ref.memberships_, atol=1e-12)
    Xm = X.copy()
    Xm.iloc[::7, 1] = np.nan
    part = FuzzyCMeans(3, missing="pds", random_state=0, n_init=3).fit(Xm)
    agree = adjusted_rand_score(ref.labels_, part.labels_)
    assert agree > 0.7


def test_float32_close_to_float64(domain_map):
    img, _ = domain_map
    V0 = np.array([[-1.0] * 4, [0.0] * 4, [1.0] * 4])
    a = SpatialFuzzyCMeans(3, init=V0, tol=1e-6).fit(img)
    b = SpatialFuzzyCMeans(3, init=V0, tol=1e-6, dtype="float32").fit(img)
    np.testing.assert_allclose(a.cluster_centers_, b.cluster_centers_, atol=1e-4)


def test_result_contents_and_netcdf(tmp_path):
    df, _ = make_scattered_units(n=100, random_state=0)
    g = GeoFCM(3, x_column="x", y_column="y", n_init=2, random_state=0).fit(df)
    est = g.result_.estimate
    assert est["memberships"].dims == ("sample", "cluster")
    assert est["entropy"].attrs["units"] == "nat"
    assert list(est["centroids"].feature.values) == ["SiO2", "MgO", "K2O", "Rb"]
    # centroids are back in input units: close to the weighted means of the data
    w = g.memberships_**2
    X = df[["SiO2", "MgO", "K2O", "Rb"]].to_numpy()
    assert np.allclose(est["centroids"].values[:, 0], (w * X[:, [0]]).sum(0) / w.sum(0), rtol=0.02)
    g.result_.to_netcdf(tmp_path / "r.nc")
    assert (tmp_path / "r.nc").stat().st_size > 0


def test_predict_proba_on_training_data_is_fcm_step():
    X, _ = _skf_inputs()
    f = _fcm(random_state=0, n_init=2).fit(X)
    np.testing.assert_allclose(f.predict_proba(X), f.memberships_, atol=1e-9)
    assert (f.predict(X) == f.labels_).all()


# -- bad input ----------------------------------------------------------------------------------------
def test_bad_input():
    df, _ = make_scattered_units(n=30, random_state=0)
    geo = GeoFCM(3, x_column="x", y_column="y", n_init=1)
    bad = df.copy()
    bad.iloc[4, 0] = np.nan
    with pytest.raises(InputError, match=r"missing or non-finite coordinate.*S0004"):
        geo.fit(bad)
    dup = df.copy()
    dup.iloc[7, :2] = dup.iloc[3, :2].to_numpy()
    with pytest.raises(InputError, match=r"S0003.*S0007.*same coordinates"):
        geo.fit(dup)
    inf = df.copy()
    inf.iloc[5, 3] = np.inf
    with pytest.raises(InputError, match=r"non-finite value.*MgO.*S0005"):
        geo.fit(inf)
    nan = df.copy()
    nan.iloc[6, 2] = np.nan
    with pytest.raises(InputError, match="missing='pds'"):
        geo.fit(nan)
    with pytest.raises(ModelError, match="smaller than the number of samples"):
        FuzzyCMeans(30).fit(df[["SiO2", "MgO"]])
    with pytest.raises(InputError, match="coordinate column not found"):
        GeoFCM(3, x_column="east", y_column="y").fit(df)
    with pytest.raises(InputError, match="needs coordinates"):
        GeoFCM(3).fit(df)
    with pytest.raises(ModelError, match="'m' must be"):
        FuzzyCMeans(3, m=1.0).fit(df[["SiO2", "MgO"]])
    with pytest.raises(ModelError, match="window"):
        SpatialFuzzyCMeans(3, window=4).fit(np.ones((5, 5, 2)))
    with pytest.raises(InputError, match="longitude/latitude"):
        GeoFCM(3, x_column="x", y_column="y", coordinate_system="lonlat").fit(
            df.assign(y=df["y"] + 100)
        )


# -- public dataset -------------------------------------------------------------------------------------
LATERITE_ELEMENTS = [
    "Fe2O3", "Mn_ppm", "Cu_ppm", "Pb_ppm", "Zn_ppm", "Ni_ppm", "As_ppm", "Ga_ppm", "Nb_ppm", "Cr_ppm",
]  # fmt: skip


@pytest.fixture(scope="module")
def laterites():
    from petroinfer.io import load_dataset

    try:
        return load_dataset("laterites", download=False)
    except InputError as exc:
        pytest.skip(f"laterites dataset not available locally: {exc}")


def test_laterites_end_to_end(laterites):
    # (run time is reported by --durations, not asserted: timings belong in benchmarks/)
    # documented preparation: 1 sample without coordinates and the samples with none of the 10
    # elements are removed (counted here); duplicated sample ids (29) are renumbered; the 44
    # duplicated locations are kept as mutual neighbours (duplicates="keep").
    df = laterites.dropna(subset=["LATITUDE", "LONGITUDE"]).reset_index()
    df = df.dropna(how="all", subset=LATERITE_ELEMENTS)
    assert len(df) == 7741 - 76
    g = GeoFCM(
        5,
        method="s1",
        x_column="LONGITUDE",
        y_column="LATITUDE",
        coordinate_system="lonlat",
        duplicates="keep",
        missing="pds",
        preprocessing="log-standardise",
        k=8,
        n_init=3,
        random_state=0,
    ).fit(df[["LONGITUDE", "LATITUDE", *LATERITE_ELEMENTS]])
    assert g.converged_
    assert g.memberships_.shape == (len(df), 5)
    # memberships are spatially coherent on the real map (Moran's I > 0.5, spConsistency < 0.3)
    assert min(g.spatial_["morans_i"]) > 0.5
    assert g.spatial_["ratio"] < 0.3
