"""scikit-learn estimators for fuzzy c-means, spatial FCM on element maps and GEOFCM on points."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
import xarray as xr
from sklearn.base import BaseEstimator, ClusterMixin, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from petroinfer._rng import RandomState, as_generator, seed_of
from petroinfer.errors import ConvergenceWarning, InputError, ModelError
from petroinfer.geochem import _fcm_indices as fi
from petroinfer.geochem._fcm_core import (
    Data,
    FCMState,
    Spec,
    kmeans_pp,
    run_fcm,
    sq_distances,
    update_memberships,
)
from petroinfer.geochem._fcm_docs import fill_parameters
from petroinfer.geochem._fcm_neighbours import GridNeighbourhood, lonlat_to_km, points_graph
from petroinfer.geochem._fcm_prep import Preprocessor, check_coordinates, check_table

__all__ = ["FuzzyCMeans", "GeoFCM", "SpatialFuzzyCMeans"]

CRITERIA = {  # name -> (column in the criterion table, +1 = higher is better)
    "fuzzy_silhouette": ("fuzzy_silhouette", 1),
    "xie_beni": ("xie_beni", -1),
    "mpc": ("mpc", 1),
    "pc": ("pc", 1),
    "pe": ("pe", -1),
    "fukuyama_sugeno": ("fukuyama_sugeno", -1),
}
_METHODS = ("fcm", "s1", "s2", "chuang", "flicm")


def _entropy(U: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(U > 0, U * np.log(np.where(U > 0, U, 1.0)), 0.0)
    return -t.sum(axis=1)


@fill_parameters
class FuzzyCMeans(ClusterMixin, TransformerMixin, BaseEstimator):
    r"""Fuzzy c-means clustering (Bezdek 1981) with the number of clusters and m chosen from the data.

    Parameters
    ----------
    @PARAMETERS@

    Attributes
    ----------
    n_clusters_, m_ : int, float
        The chosen c and m.
    cluster_centers_ : ndarray of shape (c, F)
        Centres in the analysed (preprocessed) space.
    centroids_ : pandas.DataFrame or None
        Centres in input units (``None`` after clr).
    memberships_ : ndarray of shape (n, c)
        Memberships of the training samples (rows sum to 1, or to 1 − noise membership).
    labels_ : ndarray of shape (n,)
        Cluster of maximum membership.
    criterion_ : pandas.DataFrame
        Validity indices for every (c, m) fitted.
    result_ : petroinfer.inference.Result
        Estimate (centres, memberships, labels, entropy), criterion curves, hyperparameters,
        diagnostics (iterations, convergence, objective) and metadata.

    Notes
    -----
    Minimises :math:`J=\sum_i\sum_k u_{ik}^m\|x_k-v_i\|^2` subject to :math:`\sum_i u_{ik}=1` by
    alternating :math:`v_i=\sum_k u_{ik}^m x_k/\sum_k u_{ik}^m` and
    :math:`u_{ik}=1/\sum_j(d_{ik}/d_{jk})^{1/(m-1)}` (Bezdek 1981; Bezdek, Ehrlich & Full 1984).
    Validity indices: PC, MPC, PE (Bezdek 1974; Dave 1996), Xie–Beni (1991), Fukuyama–Sugeno
    (1989), fuzzy silhouette (Campello & Hruschka 2006).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = np.vstack([rng.normal(mu, 0.3, size=(40, 2)) for mu in (0, 3, 6)])
    >>> fcm = FuzzyCMeans(random_state=0, n_init=3).fit(X)
    >>> fcm.n_clusters_, fcm.memberships_.shape
    (3, (120, 3))
    """

    _method = "fcm"

    def __init__(
        self,
        n_clusters: int | Literal["auto"] = "auto",
        *,
        m: float | Literal["auto"] = 2.0,
        preprocessing: str = "standardise",
        criterion: str = "xie_beni",
        c_range: Sequence[int] | None = None,
        m_grid: Sequence[float] = (1.5, 2.0, 2.5),
        tol: float = 1e-5,
        max_iter: int = 300,
        n_init: int = 10,
        init: Any = "k-means++",
        beta: float = 0.0,
        noise_distance: float | None = None,
        missing: Literal["error", "pds"] = "error",
        dtype: Literal["float64", "float32"] = "float64",
        random_state: RandomState = None,
    ) -> None:
        self.n_clusters = n_clusters
        self.m = m
        self.preprocessing = preprocessing
        self.criterion = criterion
        self.c_range = c_range
        self.m_grid = m_grid
        self.tol = tol
        self.max_iter = max_iter
        self.n_init = n_init
        self.init = init
        self.beta = beta
        self.noise_distance = noise_distance
        self.missing = missing
        self.dtype = dtype
        self.random_state = random_state

    # -- configuration ---------------------------------------------------------------------------
    def _check_params(self, n: int) -> tuple[list[int], list[float]]:
        name = type(self).__name__

        def bad(p: str, what: str) -> ModelError:
            return ModelError(f"{name}: parameter {p!r} must be {what}; got {getattr(self, p)!r}")

        if self.criterion not in CRITERIA:
            raise bad("criterion", f"one of {sorted(CRITERIA)}")
        if self.missing not in ("error", "pds"):
            raise bad("missing", "'error' or 'pds'")
        if self.dtype not in ("float64", "float32"):
            raise bad("dtype", "'float64' or 'float32'")
        for p, lo in (("tol", 0.0), ("beta", 0.0)):
            v = getattr(self, p)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not v >= lo:
                raise bad(p, f"a number ≥ {lo:g}")
        if not self.beta < 1:
            raise bad("beta", "in [0, 1)")
        for p in ("max_iter", "n_init"):
            v = getattr(self, p)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise bad(p, "a positive int")
        if self.noise_distance is not None and not (
            isinstance(self.noise_distance, (int, float)) and self.noise_distance > 0
        ):
            raise bad("noise_distance", "None or a positive number")
        if isinstance(self.init, str) and self.init not in ("k-means++", "random"):
            raise bad("init", "'k-means++', 'random' or an array")
        if self.n_clusters == "auto":
            cs = (
                list(self.c_range)
                if self.c_range is not None
                else list(range(2, min(8, n - 1) + 1))
            )
        elif isinstance(self.n_clusters, (int, np.integer)) and not isinstance(
            self.n_clusters, bool
        ):
            cs = [int(self.n_clusters)]
        else:
            raise bad("n_clusters", "an int ≥ 1 or 'auto'")
        if not cs or (any(c < 2 for c in cs) and self.n_clusters == "auto"):
            raise bad("c_range", "made of ints ≥ 2")
        if any(c < 1 for c in cs):
            raise bad("n_clusters", "an int ≥ 1 or 'auto'")
        if max(cs) >= n:
            raise ModelError(
                f"{name}: n_clusters must be smaller than the number of samples; got c = {max(cs)} "
                f"for {n} samples"
            )
        ms = list(self.m_grid) if self.m == "auto" else [self.m]
        for mm in ms:
            if isinstance(mm, bool) or not isinstance(mm, (int, float)) or not mm > 1:
                raise bad("m", "a number > 1 or 'auto' (with m_grid values > 1)")
        return cs, [float(x) for x in ms]

    def _spec(self, m: float) -> Spec:
        return Spec(m=m, method="fcm", beta=float(self.beta), noise=self.noise_distance)

    # -- data ------------------------------------------------------------------------------------
    def _prepare(self, X: Any, **fit_params: Any) -> dict[str, Any]:
        A, cols, index = check_table(X, missing=self.missing)
        self._prep = Preprocessor(self.preprocessing)
        Z = self._prep.fit_transform(A, cols, index)
        return {"Z": Z, "cols": cols, "index": index, "hood": None, "coords": None}

    # -- fitting ---------------------------------------------------------------------------------
    def _run(self, spec, data, lagdata, hood, c, rng) -> FCMState:
        init = self.init
        best = None
        if isinstance(init, str):
            n_runs = self.n_init
        else:
            n_runs = 1
            arr = np.asarray(init, dtype=data.X0.dtype)
            n, F = data.X0.shape
            if arr.shape == (n, c):
                U0 = arr / arr.sum(axis=1, keepdims=True)
                return run_fcm(
                    spec,
                    data,
                    U0=U0,
                    hood=hood,
                    lagdata=lagdata,
                    tol=self.tol,
                    max_iter=self.max_iter,
                )
            if arr.shape != (c, F):
                raise InputError(
                    f"init array must have shape ({c}, {F}) (centres) or ({n}, {c}) (memberships)",
                    value=arr.shape,
                )
            return run_fcm(
                spec,
                data,
                arr.copy(),
                hood=hood,
                lagdata=lagdata,
                tol=self.tol,
                max_iter=self.max_iter,
            )
        for _ in range(n_runs):
            if init == "random":
                U0 = rng.dirichlet(np.ones(c), size=data.X0.shape[0]).astype(data.X0.dtype)
                st = run_fcm(
                    spec,
                    data,
                    U0=U0,
                    hood=hood,
                    lagdata=lagdata,
                    tol=self.tol,
                    max_iter=self.max_iter,
                )
            else:
                V0 = kmeans_pp(data, c, rng)
                st = run_fcm(
                    spec, data, V0, hood=hood, lagdata=lagdata, tol=self.tol, max_iter=self.max_iter
                )
            if best is None or st.objective < best.objective:
                best = st
        return best

    def _spatial_weights(self, prep: dict[str, Any]):
        hood = prep["hood"]
        return None if hood is None else hood.weights()

    def _engine_inputs(self, X: Any, **fit_params: Any):
        prep = self._prepare(X, **fit_params)
        Z = prep["Z"]
        cs, ms = self._check_params(Z.shape[0])
        dt = np.dtype(self.dtype)
        data = Data.from_array(Z.astype(dt))
        spec0 = self._spec(ms[0])
        lagdata = None
        if spec0.method in ("s1", "s2"):
            lagdata = Data.from_array(prep["hood"].lag(Z, spec0.lag).astype(dt))
        return prep, Z, cs, ms, data, lagdata

    def _best_centres(self, X: Any) -> np.ndarray:
        """Centres of the best restart for one (c, m), in analysed units — without the validity
        indices, spatial diagnostics and Result of :meth:`fit` (initial centres for map scale)."""
        prep, _, cs, ms, data, lagdata = self._engine_inputs(X)
        if len(cs) != 1 or len(ms) != 1:
            raise ModelError("_best_centres needs one number of clusters and one m")
        rng = as_generator(self.random_state)
        st = self._run(self._spec(ms[0]), data, lagdata, prep["hood"], cs[0], rng)
        return st.centres.astype(float)

    def fit(self, X: Any, y: Any = None, **fit_params: Any) -> FuzzyCMeans:
        """Fit on ``X`` (DataFrame or array, samples × features); returns ``self``."""
        prep, Z, cs, ms, data, lagdata = self._engine_inputs(X, **fit_params)
        rng = as_generator(self.random_state)
        Wsp = self._spatial_weights(prep)
        rows, states = [], {}
        for mm in ms:
            spec = self._spec(mm)
            for c in cs:
                st = self._run(spec, data, lagdata, prep["hood"], c, rng)
                states[(c, mm)] = st
                rows.append(self._indices(Z, st, c, mm, Wsp))
        crit = pd.DataFrame(rows).set_index(["n_clusters", "m"])
        col, sign = CRITERIA[self.criterion]
        score = sign * crit[col].to_numpy(dtype=float)
        if not np.isfinite(score).any():
            raise ModelError(f"criterion {self.criterion!r} is undefined for every candidate")
        c_best, m_best = crit.index[int(np.nanargmax(score))]
        st = states[(c_best, m_best)]
        if not st.converged:
            warnings.warn(
                f"{type(self).__name__}: not converged after {self.max_iter} iterations "
                f"(tol {self.tol:g}); raise max_iter or tol",
                ConvergenceWarning,
                stacklevel=2,
            )
        self.n_clusters_, self.m_ = int(c_best), float(m_best)
        self.cluster_centers_ = st.centres.astype(float)
        self.memberships_ = st.U.astype(float)
        self.noise_membership_ = None if st.u_noise is None else st.u_noise.astype(float)
        self.labels_ = st.U.argmax(axis=1)
        self.objective_ = st.objective
        self.n_iter_ = st.n_iter
        self.converged_ = st.converged
        self.criterion_ = crit
        self.feature_names_in_ = np.array(prep["cols"], dtype=object)
        self.n_features_in_ = len(prep["cols"])
        inv = self._prep.inverse(self.cluster_centers_)
        self.centroids_ = None if inv is None else pd.DataFrame(inv, columns=prep["cols"])
        self.spatial_ = None
        if Wsp is not None:
            self.spatial_ = fi.spatial_consistency(
                self.memberships_,
                Wsp,
                n_permutations=99,
                random_state=seed_of(self.random_state) or 0,
            )
            self.spatial_["morans_i"] = fi.membership_morans_i(self.memberships_, Wsp).tolist()
        self.result_ = self._make_result(X, prep)
        return self

    def _indices(self, Z, st: FCMState, c: int, m: float, Wsp) -> dict[str, float]:
        row = {
            "n_clusters": c,
            "m": m,
            "objective": st.objective,
            "pc": fi.partition_coefficient(st.U),
            "mpc": fi.modified_partition_coefficient(st.U),
            "pe": fi.partition_entropy(st.U),
            "xie_beni": fi.xie_beni(Z, st.U, st.centres, m),
            "fukuyama_sugeno": fi.fukuyama_sugeno(Z, st.U, st.centres, m),
            "fuzzy_silhouette": fi.fuzzy_silhouette(
                Z, st.U, random_state=seed_of(self.random_state) or 0
            ),
            "n_iter": st.n_iter,
        }
        if Wsp is not None:
            sc = fi.spatial_consistency(st.U, Wsp, n_permutations=19, random_state=0)
            row["spatial_consistency"] = sc["ratio"]
        return row

    # -- result ------------------------------------------------------------------------------------
    def _sample_dims(self, prep: dict[str, Any]) -> tuple[tuple[str, ...], dict[str, Any], tuple]:
        idx = prep["index"]
        return ("sample",), {"sample": np.asarray(idx)}, (len(idx),)

    def _make_result(self, X: Any, prep: dict[str, Any]):
        from petroinfer.inference import Result
        from petroinfer.inference.results import make_metadata

        dims, coords, shape = self._sample_dims(prep)
        c = self.n_clusters_
        U = self.memberships_.reshape(*shape, c)
        cl = np.arange(c)
        ds = xr.Dataset(
            {
                "memberships": ((*dims, "cluster"), U, {"units": "1"}),
                "label": (dims, self.labels_.reshape(shape), {"units": "1"}),
                "entropy": (dims, _entropy(self.memberships_).reshape(shape), {"units": "nat"}),
                "centres": (
                    ("cluster", "feature"),
                    self.cluster_centers_,
                    {"units": f"analysed units ({self.preprocessing})"},
                ),
            },
            coords={**coords, "cluster": cl, "feature": list(prep["cols"])},
        )
        if self.centroids_ is not None:
            ds["centroids"] = (
                ("cluster", "feature"),
                self.centroids_.to_numpy(),
                {"units": "input units"},
            )
        if self.noise_membership_ is not None:
            ds["noise_membership"] = (dims, self.noise_membership_.reshape(shape), {"units": "1"})
        crit = xr.Dataset.from_dataframe(self.criterion_)
        diag = {"n_iter": self.n_iter_, "converged": self.converged_, "objective": self.objective_}
        if self.spatial_ is not None:
            diag["spatial_consistency"] = self.spatial_
        hyper = {"n_clusters": c, "m": self.m_, "criterion": self.criterion}
        hyper.update(self._extra_hyper())
        params = {k: v for k, v in self.get_params().items() if not isinstance(v, np.ndarray)}
        meta = make_metadata(
            random_state=self.random_state,
            parameters=params,
            inputs=(X,),
            method=f"{type(self).__name__}({self._spec(self.m_).method})",
        )
        return Result(
            estimate=ds, diagnostics=diag, hyperparameters=hyper, criterion=crit, metadata=meta
        )

    def _extra_hyper(self) -> dict[str, Any]:
        return {"beta": self.beta, "noise_distance": self.noise_distance}

    # -- prediction --------------------------------------------------------------------------------
    def _analysed(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "cluster_centers_")
        A, _, _ = check_table(X, missing=self.missing, min_samples=1)
        if A.shape[1] != self.n_features_in_:
            raise InputError(
                f"X has {A.shape[1]} features, but {type(self).__name__} is expecting "
                f"{self.n_features_in_} features as input"
            )
        return self._prep.transform(A)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Memberships (n, c) of new samples to the fitted centres (no spatial term)."""
        data = Data.from_array(self._analysed(X))
        U, _ = update_memberships(
            sq_distances(data, self.cluster_centers_), self.m_, self.beta, self.noise_distance
        )
        return np.ascontiguousarray(U.T)

    def predict(self, X: Any) -> np.ndarray:
        """Cluster of maximum membership of new samples."""
        return self.predict_proba(X).argmax(axis=1)

    def transform(self, X: Any) -> np.ndarray:
        """Euclidean distances (n, c) of samples to the centres in the analysed space."""
        return np.sqrt(sq_distances(Data.from_array(self._analysed(X)), self.cluster_centers_).T)


@fill_parameters
class SpatialFuzzyCMeans(FuzzyCMeans):
    r"""Spatial fuzzy c-means for element maps (pixels × elements) with a window neighbourhood.

    Parameters
    ----------
    @PARAMETERS@

    Notes
    -----
    ``fit(X)`` takes an image: an ndarray of shape (ny, nx, n_elements), an
    ``xarray.DataArray`` with dims ``(y, x, element)`` (any names, the last is the element axis)
    or an ``xarray.Dataset`` of 2-D maps (one variable per element). Memberships in ``result_`` are
    maps with dims (y, x, cluster). Updates: see :mod:`petroinfer.geochem.fuzzy` and the method
    page. For maps larger than memory use :func:`~petroinfer.geochem.segment_map` (Dask chunks with
    halos).

    Examples
    --------
    >>> from petroinfer.geochem.fuzzy import make_domain_map
    >>> img, truth = make_domain_map(shape=(24, 24), random_state=0)
    >>> sfcm = SpatialFuzzyCMeans(3, method="s1", n_init=2, random_state=0).fit(img)
    >>> sfcm.result_.estimate["memberships"].dims
    ('y', 'x', 'cluster')
    """

    def __init__(
        self,
        n_clusters: int | Literal["auto"] = "auto",
        *,
        method: Literal["s1", "s2", "chuang", "flicm"] = "s1",
        alpha: float = 1.0,
        p: float = 1.0,
        q: float = 2.0,
        window: int = 3,
        m: float | Literal["auto"] = 2.0,
        preprocessing: str = "standardise",
        criterion: str = "xie_beni",
        c_range: Sequence[int] | None = None,
        m_grid: Sequence[float] = (1.5, 2.0, 2.5),
        tol: float = 1e-5,
        max_iter: int = 300,
        n_init: int = 10,
        init: Any = "k-means++",
        beta: float = 0.0,
        noise_distance: float | None = None,
        missing: Literal["error", "pds"] = "error",
        dtype: Literal["float64", "float32"] = "float64",
        random_state: RandomState = None,
    ) -> None:
        super().__init__(
            n_clusters,
            m=m,
            preprocessing=preprocessing,
            criterion=criterion,
            c_range=c_range,
            m_grid=m_grid,
            tol=tol,
            max_iter=max_iter,
            n_init=n_init,
            init=init,
            beta=beta,
            noise_distance=noise_distance,
            missing=missing,
            dtype=dtype,
            random_state=random_state,
        )
        self.method = method
        self.alpha = alpha
        self.p = p
        self.q = q
        self.window = window

    def _check_spatial(self) -> None:
        name = type(self).__name__
        if self.method not in ("s1", "s2", "chuang", "flicm"):
            raise ModelError(
                f"{name}: parameter 'method' must be one of 's1', 's2', 'chuang', 'flicm'; "
                f"got {self.method!r}"
            )
        for p in ("alpha", "p", "q"):
            v = getattr(self, p)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not v >= 0:
                raise ModelError(f"{name}: parameter {p!r} must be a number ≥ 0; got {v!r}")

    def _spec(self, m: float) -> Spec:
        return Spec(
            m=m,
            method=self.method,
            alpha=float(self.alpha),
            p=float(self.p),
            q=float(self.q),
            beta=float(self.beta),
            noise=self.noise_distance,
            lag="median" if self.method == "s2" else "mean",
        )

    def _extra_hyper(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "alpha": self.alpha,
            "p": self.p,
            "q": self.q,
            "window": self.window,
            **super()._extra_hyper(),
        }

    def _prepare(self, X: Any, **fit_params: Any) -> dict[str, Any]:
        self._check_spatial()
        w = self.window
        if isinstance(w, bool) or not isinstance(w, (int, np.integer)) or w < 3 or w % 2 == 0:
            raise ModelError(
                f"{type(self).__name__}: parameter 'window' must be an odd int ≥ 3; got {w!r}"
            )
        img, names, ydim, xdim, ycoord, xcoord = image_array(X)
        ny, nx, F = img.shape
        flat = pd.DataFrame(img.reshape(ny * nx, F), columns=names)
        A, cols, _ = check_table(flat, missing=self.missing, name="map")
        if self.method != "fcm" and np.isnan(A).any() and self.method in ("s2",):
            raise InputError("the median lag (s2) needs complete maps (no NaN)")
        self._prep = Preprocessor(self.preprocessing)
        Z = self._prep.fit_transform(A, cols, np.arange(ny * nx))
        hood = GridNeighbourhood((ny, nx), w)
        self._map_dims = (ydim, xdim, ycoord, xcoord)
        return {"Z": Z, "cols": cols, "index": np.arange(ny * nx), "hood": hood, "coords": None}

    def _sample_dims(self, prep):
        ydim, xdim, ycoord, xcoord = self._map_dims
        return (ydim, xdim), {ydim: ycoord, xdim: xcoord}, (len(ycoord), len(xcoord))


def image_array(X: Any) -> tuple[np.ndarray, list[str], str, str, np.ndarray, np.ndarray]:
    """(ny, nx, F) float array, element names, dim names and coordinates of an element-map stack."""
    if isinstance(X, xr.Dataset):
        names = [str(k) for k in X.data_vars]
        if not names:
            raise InputError("the map Dataset has no variables")
        X = xr.concat([X[k] for k in names], dim=pd.Index(names, name="element")).transpose(
            ..., "element"
        )
    if isinstance(X, xr.DataArray):
        if X.ndim != 3:
            raise InputError(
                "an element-map DataArray must have 3 dims (y, x, element)", value=X.dims
            )
        ydim, xdim, edim = (str(d) for d in X.dims)
        names = (
            [str(v) for v in X[edim].values]
            if edim in X.coords
            else [f"e{j}" for j in range(X.shape[2])]
        )
        yc = X[ydim].values if ydim in X.coords else np.arange(X.shape[0])
        xc = X[xdim].values if xdim in X.coords else np.arange(X.shape[1])
        return np.asarray(X.values, dtype=float), names, ydim, xdim, yc, xc
    try:
        A = np.asarray(X, dtype=float)
    except (TypeError, ValueError) as exc:
        raise InputError(f"map values must be numbers ({exc})") from exc
    if A.ndim == 2:
        A = A[:, :, None]
    if A.ndim != 3:
        raise InputError("an element map must have shape (ny, nx, n_elements)", value=A.shape)
    if A.shape[0] < 3 or A.shape[1] < 3:
        raise InputError("an element map must be at least 3 × 3 pixels", value=A.shape)
    return (
        A,
        [f"e{j}" for j in range(A.shape[2])],
        "y",
        "x",
        np.arange(A.shape[0]),
        np.arange(A.shape[1]),
    )


@fill_parameters
class GeoFCM(SpatialFuzzyCMeans):
    r"""GEOFCM: spatial fuzzy c-means for scattered field samples (Yoshida et al. 2018, JMPS) [R].

    Neighbouring samples weight each other's memberships through a sparse graph built on the sample
    coordinates. The exact weighting of the paper is not available; this is the reconstruction of
    the science notes (``imaging_texture.md`` §C.2): the SFCM feature lag :math:`\bar x=WX`
    (``method="s1"``, default; ``"s2"`` = neighbour median), the Chuang-type membership filter
    :math:`u'\propto u^p(Wu)^q` (``"chuang"``, the literal reading of "neighbouring samples as a
    weighting function") or FLICM. The default has an explicit objective, so restarts and the
    validity indices compare like with like; both readings reach the same accuracy on the synthetic
    test (docs/methods/fuzzy_clustering.md).

    Parameters
    ----------
    @PARAMETERS@

    Examples
    --------
    >>> from petroinfer.geochem.fuzzy import make_scattered_units
    >>> df, truth = make_scattered_units(n=150, random_state=1)
    >>> geo = GeoFCM(3, x_column="x", y_column="y", n_init=2, random_state=0).fit(df)
    >>> geo.memberships_.shape
    (150, 3)
    """

    def __init__(
        self,
        n_clusters: int | Literal["auto"] = "auto",
        *,
        method: Literal["s1", "s2", "chuang", "flicm"] = "s1",
        neighbours: Literal["knn", "radius", "gaussian", "delaunay"] = "knn",
        k: int = 8,
        radius: float | None = None,
        bandwidth: float | None = None,
        x_column: str | None = None,
        y_column: str | None = None,
        coordinate_system: Literal["projected", "lonlat"] = "projected",
        duplicates: Literal["error", "keep"] = "error",
        alpha: float = 1.0,
        p: float = 1.0,
        q: float = 2.0,
        m: float | Literal["auto"] = 2.0,
        preprocessing: str = "standardise",
        criterion: str = "xie_beni",
        c_range: Sequence[int] | None = None,
        m_grid: Sequence[float] = (1.5, 2.0, 2.5),
        tol: float = 1e-5,
        max_iter: int = 300,
        n_init: int = 10,
        init: Any = "k-means++",
        beta: float = 0.0,
        noise_distance: float | None = None,
        missing: Literal["error", "pds"] = "error",
        dtype: Literal["float64", "float32"] = "float64",
        random_state: RandomState = None,
    ) -> None:
        super().__init__(
            n_clusters,
            method=method,
            alpha=alpha,
            p=p,
            q=q,
            m=m,
            preprocessing=preprocessing,
            criterion=criterion,
            c_range=c_range,
            m_grid=m_grid,
            tol=tol,
            max_iter=max_iter,
            n_init=n_init,
            init=init,
            beta=beta,
            noise_distance=noise_distance,
            missing=missing,
            dtype=dtype,
            random_state=random_state,
        )
        del self.window
        self.neighbours = neighbours
        self.k = k
        self.radius = radius
        self.bandwidth = bandwidth
        self.x_column = x_column
        self.y_column = y_column
        self.coordinate_system = coordinate_system
        self.duplicates = duplicates

    def _extra_hyper(self) -> dict[str, Any]:
        out = {
            "method": self.method,
            "alpha": self.alpha,
            "p": self.p,
            "q": self.q,
            "neighbours": self.neighbours,
            "k": self.k,
            "radius": self.radius,
            "bandwidth": self.bandwidth,
            "beta": self.beta,
            "noise_distance": self.noise_distance,
        }
        return out

    def fit(self, X: Any, y: Any = None, coordinates: Any = None) -> GeoFCM:
        """Fit on a table ``X`` and sample coordinates (``coordinates`` (n, 2) or the x/y columns)."""
        return super().fit(X, y, coordinates=coordinates)

    def _prepare(self, X: Any, coordinates: Any = None, **_: Any) -> dict[str, Any]:
        self._check_spatial()
        if self.coordinate_system not in ("projected", "lonlat"):
            raise ModelError(
                "GeoFCM: parameter 'coordinate_system' must be 'projected' or "
                f"'lonlat'; got {self.coordinate_system!r}"
            )
        if isinstance(self.k, bool) or not isinstance(self.k, (int, np.integer)) or self.k < 1:
            raise ModelError(f"GeoFCM: parameter 'k' must be a positive int; got {self.k!r}")
        feats = X
        if coordinates is None:
            if self.x_column is None or self.y_column is None or not isinstance(X, pd.DataFrame):
                raise InputError(
                    "GeoFCM needs coordinates: pass coordinates=(n, 2) to fit, or a "
                    "DataFrame with x_column and y_column set"
                )
            for col in (self.x_column, self.y_column):
                if col not in X.columns:
                    raise InputError("coordinate column not found in the table", column=col)
            coordinates = X[[self.x_column, self.y_column]].apply(pd.to_numeric, errors="coerce")
            feats = X.drop(columns=[self.x_column, self.y_column])
        A, cols, index = check_table(feats, missing=self.missing)
        if self.duplicates not in ("error", "keep"):
            raise ModelError(
                f"GeoFCM: parameter 'duplicates' must be 'error' or 'keep'; got {self.duplicates!r}"
            )
        C = check_coordinates(coordinates, A.shape[0], index, duplicates=self.duplicates)
        if self.coordinate_system == "lonlat":
            bad = (np.abs(C[:, 1]) > 90) | (np.abs(C[:, 0]) > 360)
            if bad.any():
                k = int(np.flatnonzero(bad)[0])
                raise InputError("longitude/latitude out of range", row=index[k], value=tuple(C[k]))
            C = lonlat_to_km(C[:, 0], C[:, 1])
        self._prep = Preprocessor(self.preprocessing)
        Z = self._prep.fit_transform(A, cols, index)
        hood = points_graph(
            C, self.neighbours, k=self.k, radius=self.radius, bandwidth=self.bandwidth
        )
        self.coordinates_ = C
        self.isolated_ = np.asarray(index)[hood.isolated]
        return {"Z": Z, "cols": cols, "index": index, "hood": hood, "coords": C}

    def _sample_dims(self, prep):
        return FuzzyCMeans._sample_dims(self, prep)
