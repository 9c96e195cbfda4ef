"""segment_map: spatial FCM on Dask chunks with halos equals the in-memory estimator."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from sklearn.base import clone
from sklearn.metrics import adjusted_rand_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from petroinfer.errors import InputError, ModelError
from petroinfer.geochem import FuzzyCMeans, SpatialFuzzyCMeans, make_domain_map, segment_map


@pytest.fixture(scope="module")
def img():
    return make_domain_map(shape=(37, 45), random_state=4)


@pytest.fixture(scope="module")
def client():
    from petroinfer.parallel import get_client

    with get_client(n_workers=2) as c:
        yield c


@pytest.mark.parametrize("method", ["s1", "s2", "chuang"])
def test_chunked_map_equals_in_memory(img, client, method):
    image, _ = img
    Z = (image - image.mean((0, 1))) / image.std((0, 1), ddof=1)
    V0 = np.array([[-1.0] * 4, [0.0] * 4, [1.0] * 4])
    # chunks of 10 px: 4 × 5 chunks, halos cross every chunk edge
    res = segment_map(
        image,
        3,
        method=method,
        chunks=10,
        init=V0,
        tol=0.0,
        max_iter=8,
        scheduler=client,
        dtype="float64",
    )
    # in memory, 8 iterations from the same centres; then the memberships of the map's final
    # centres against one in-memory step from them
    ref8 = SpatialFuzzyCMeans(3, method=method, init=V0, tol=0.0, max_iter=8, preprocessing="none")
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref8.fit(Z)
    np.testing.assert_allclose(res.estimate["centres"].values, ref8.cluster_centers_, atol=1e-12)
    step = SpatialFuzzyCMeans(
        3, method=method, init=ref8.cluster_centers_, tol=0.0, max_iter=1, preprocessing="none"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        step.fit(Z)
    U = res.estimate["memberships"].values.reshape(-1, 3)
    np.testing.assert_allclose(U, step.memberships_, atol=1e-6)  # float32 output
    np.testing.assert_allclose(res.estimate["memberships"].sum("cluster"), 1.0, atol=1e-6)


def test_segment_map_out_of_core_netcdf(img, client, tmp_path):
    import dask.array as da

    image, truth = img
    lazy = xr.DataArray(
        da.from_array(image, chunks=(12, 12, 4)),
        dims=("y", "x", "element"),
        coords={"element": ["Si", "Mg", "Fe", "Ca"]},
    )
    res = segment_map(lazy, 3, chunks=19, scheduler=client, out=tmp_path / "seg.nc", random_state=0)
    assert (tmp_path / "seg.nc").exists()
    ds = res.estimate
    assert ds["memberships"].chunks is not None  # opened lazily from the file
    assert ds["memberships"].dims == ("y", "x", "cluster")
    assert list(ds["element"].values) == ["Si", "Mg", "Fe", "Ca"]
    ari = adjusted_rand_score(truth.ravel(), ds["label"].values.ravel())
    fcm = FuzzyCMeans(3, n_init=3, random_state=0).fit(image.reshape(-1, 4))
    assert ari >= adjusted_rand_score(truth.ravel(), fcm.labels_) + 0.1
    assert res.diagnostics["converged"]
    assert ds["entropy"].attrs["units"] == "nat"
    ds.close()


def test_segment_map_auto_and_errors(img, client):
    image, _ = img
    res = segment_map(
        image, "auto", c_range=range(2, 5), chunks=16, scheduler=client, random_state=0, n_init=2
    )
    assert res.hyperparameters["n_clusters"] == 3
    assert "xie_beni" in res.criterion
    bad = image.copy()
    bad[3, 4, 1] = np.nan
    with pytest.raises(InputError, match="non-finite"):
        segment_map(bad, 3, chunks=16, scheduler=client)
    with pytest.raises(ModelError, match="method"):
        segment_map(image, 3, method="flicm", scheduler=client)


def test_scikit_learn_api():
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(mu, 0.3, (30, 2)) for mu in (0, 4)])
    est = FuzzyCMeans(2, n_init=2, random_state=0)
    assert clone(est).get_params() == est.get_params()
    pipe = make_pipeline(FunctionTransformer(), FuzzyCMeans(2, n_init=2, random_state=0))
    labels = pipe.fit_predict(X)
    assert adjusted_rand_score(np.repeat([0, 1], 30), labels) == 1.0
    assert pipe.transform(X).shape == (60, 2)


def test_passes_scikit_learn_estimator_checks():
    import warnings

    from sklearn.utils.estimator_checks import check_estimator

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = check_estimator(FuzzyCMeans(2, n_init=1, random_state=0), on_fail=None)
    failed = [(r["check_name"], str(r["exception"])[:120]) for r in res if r["status"] == "failed"]
    assert not failed
