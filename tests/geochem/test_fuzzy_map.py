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


def _with_gaps(image, frac=0.04, seed=7):
    """Knock out ``frac`` of the values (never every element of a pixel)."""
    rng = np.random.default_rng(seed)
    out = image.copy()
    gaps = rng.random(image.shape) < frac
    gaps[..., 0] &= ~gaps[..., 1:].all(axis=-1)  # keep ≥ 1 value per pixel
    out[gaps] = np.nan
    assert gaps.sum() > 50 and not np.isnan(out).all(axis=-1).any()
    return out


def test_window_mean_skips_missing_neighbours():
    from petroinfer.geochem.fuzzy import GridNeighbourhood

    img = np.arange(16.0).reshape(4, 4, 1)
    img[1, 1, 0] = np.nan
    lag = GridNeighbourhood((4, 4), 3).lag(img.reshape(-1, 1)).reshape(4, 4)
    # pixel (1, 2): neighbours 1, 2, 3, (nan), 7, 9, 10, 11 → mean of the 7 observed
    assert lag[1, 2] == pytest.approx((1 + 2 + 3 + 7 + 9 + 10 + 11) / 7, abs=1e-12)
    # the NaN pixel's own lag uses its 8 observed neighbours; far pixels are unaffected
    assert lag[1, 1] == pytest.approx((0 + 1 + 2 + 4 + 6 + 8 + 9 + 10) / 8, abs=1e-12)
    assert lag[3, 3] == pytest.approx((10 + 11 + 11 + 14 + 15 + 14 + 15 + 15) / 8, abs=1e-12)


@pytest.mark.parametrize("method", ["s1", "chuang"])
def test_chunked_missing_pds_equals_in_memory(img, client, method):
    import warnings

    import dask.array as da

    image = _with_gaps(img[0])
    V0 = np.array([[-1.0] * 4, [0.0] * 4, [1.0] * 4])
    lazy = xr.DataArray(da.from_array(image, chunks=(11, 13, 4)), dims=("y", "x", "element"))
    res = segment_map(lazy, 3, method=method, chunks=10, init=V0, tol=0.0, max_iter=8,
                      scheduler=client, dtype="float64", missing="pds")  # fmt: skip
    kw = dict(method=method, tol=0.0, missing="pds", preprocessing="standardise")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref8 = SpatialFuzzyCMeans(3, init=V0, max_iter=8, **kw).fit(image)
        step = SpatialFuzzyCMeans(3, init=ref8.cluster_centers_, max_iter=1, **kw).fit(image)
    np.testing.assert_allclose(res.estimate["centres"].values, ref8.cluster_centers_, atol=1e-10)
    U = res.estimate["memberships"].values.reshape(-1, 3)
    np.testing.assert_allclose(U, step.memberships_, atol=1e-10)
    np.testing.assert_allclose(
        res.estimate["centroids"].values, ref8.centroids_.to_numpy(), atol=1e-10
    )
    with pytest.raises(InputError, match="missing='pds'"):
        segment_map(image, 3, chunks=16, scheduler=client)
    with pytest.raises(ModelError, match="median"):
        segment_map(image, 3, method="s2", missing="pds", scheduler=client)
    empty = image.copy()
    empty[5, 6] = np.nan
    with pytest.raises(InputError, match=r"no value .* y=5, x=6"):
        segment_map(empty, 3, chunks=16, scheduler=client, missing="pds")


def test_netcdf_zarr_and_lazy_outputs_agree(img, client, tmp_path):
    import dask.array as da

    image, _ = img
    kw = dict(chunks=16, scheduler=client, random_state=0, n_init=1)
    mem = segment_map(image, 3, **kw)
    nc = segment_map(image, 3, out=tmp_path / "seg.nc", **kw)
    zr = segment_map(image, 3, out=tmp_path / "seg.zarr", **kw)
    lazy = segment_map(da.from_array(image, chunks=(20, 20, 4)), 3, **kw)
    assert (tmp_path / "seg.zarr").is_dir() and zr.diagnostics["out_format"] == "zarr"
    assert nc.diagnostics["out_format"] == "netcdf"
    assert lazy.estimate["label"].chunks is not None
    on_disk = xr.open_zarr(tmp_path / "seg.zarr")  # a plain reader, no petroinfer
    for other in (nc.estimate, zr.estimate, lazy.estimate, on_disk):
        for v in ("memberships", "label", "entropy", "centres"):
            np.testing.assert_array_equal(other[v].values, mem.estimate[v].values)
        assert other["entropy"].attrs["units"] == "nat"
    counts = np.bincount(mem.estimate["label"].values.ravel(), minlength=3)
    assert mem.diagnostics["cluster_pixels"] == counts.tolist()
    assert mem.diagnostics["mean_entropy"] == pytest.approx(
        float(mem.estimate["entropy"].values.mean(dtype=np.float64)), rel=1e-6
    )
    for ds in (nc.estimate, zr.estimate, on_disk):
        ds.close()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporaries left
    with pytest.raises(ModelError, match="out_format"):
        segment_map(image, 3, out=tmp_path / "x.h5", out_format="hdf", scheduler=client)


_MEMORY_CHILD = """
import resource, sys
import numpy as np, xarray as xr, dask.array as da
from petroinfer.geochem import segment_map
n, F, path, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]

def block(block_info=None):  # the map is made lazily, 96² × F at a time: never whole here
    (y0, y1), (x0, x1), _ = block_info[None]["array-location"]
    g = np.random.default_rng([y0, x0]).normal(size=(y1 - y0, x1 - x0, F))
    return (g + 3.0 * (np.arange(y0, y1) > n // 2)[:, None, None]).astype(np.float32)

arr = da.map_blocks(block, chunks=((96,) * (n // 96), (96,) * (n // 96), (F,)), dtype=np.float32)
xr.Dataset({"maps": (("y", "x", "element"), arr)}).to_netcdf(
    path, engine="h5netcdf", encoding={"maps": {"chunksizes": (96, 96, F)}})
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
maps = xr.open_dataset(path, engine="h5netcdf", chunks={})["maps"]
res = segment_map(maps, 2, chunks=96, max_iter=1, tile=64, n_workers=2, out=out, random_state=0)
labels = res.estimate["label"][::8, ::8].values
res.estimate.close()
print(base / 1024, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""


@pytest.mark.slow
def test_peak_memory_does_not_grow_with_the_map(tmp_path):
    """Peak RSS of a whole segmentation (statistics, overview, pass, NetCDF outputs, read-back) of
    a lazily opened 768² × 32 float32 map (72 MiB) exceeds that of a 192² map (same blocks of 96²,
    same overview) by much less than the larger map's size: memory follows the block, not the map.
    """
    import subprocess
    import sys

    def growth(n):
        out = subprocess.run(
            [sys.executable, "-c", _MEMORY_CHILD, str(n), "32", str(tmp_path / f"m{n}.nc"),
             str(tmp_path / f"s{n}.nc")],
            capture_output=True, text=True, check=True, timeout=600,
        )  # fmt: skip
        base, peak = (float(v) for v in out.stdout.split()[-2:])
        return peak - base

    small, large = growth(192), growth(768)
    map_mib = 768 * 768 * 32 * 4 / 2**20
    # measured 19 and 29 MiB (block 96² × 32, three blocks in flight); the map is 72 MiB
    assert large - small < 0.5 * map_mib, (small, large)
