r"""Shared machinery of the P–T(–t) path inversions in :mod:`petroinfer.ptpath`.

Every path inversion (inclusions, zoned-garnet Gibbs method, diffusion assimilation) puts T and P
at nodes along one coordinate under a GMRF chain prior, chooses the smoothness by the evidence and
reports the path in °C and kbar with 90 % bands. The pieces they share live here:

* :func:`path_prior` — the (T, P) :class:`~petroinfer.inference.gmrf.ChainPrior`;
* :func:`evidence_search` — the evidence maximisation over (ln κ_T, ln κ_P[, ln τ]) with its
  criterion curve;
* :func:`path_estimate` / :func:`path_posterior` — unit conversion at the edge (K → °C; kbar kept)
  and the labelled estimate (mean, sd, 90 % band, T–P correlation) and draws;
* :func:`anchored_path_prior` — the proper (anchored) version of the prior for replica exchange.

Internally T is in K and P in kbar (the GMRF state); users see °C and kbar.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import xarray as xr

from petroinfer.errors import ConvergenceWarning, DataQualityWarning, ModelError
from petroinfer.units import celsius_to_kelvin, kelvin_to_celsius

__all__ = [
    "Z90",
    "anchored_path_prior",
    "evidence_search",
    "fit_quietly",
    "path_estimate",
    "path_posterior",
    "path_prior",
    "smoothness_start",
]

#: Standard-normal quantile z_{0.95}: ``mean ± Z90 * sd`` is the central 90 % band.
Z90 = 1.6448536269514722

_UNITS = {"T_C": "degC", "P_kbar": "kbar", "rho_TP": "1"}


def path_prior(positions: np.ndarray, order: int, anchors: Sequence[Any] | None = None):
    """The GMRF chain prior on (T [K], P [kbar]) at ``positions`` (node-major interleaved state).

    Parameters
    ----------
    positions : numpy.ndarray
        Strictly increasing node positions, shape ``(n,)``.
    order : int
        1 (random walk) or 2 (integrated random walk, Lindgren & Rue 2008).
    anchors : sequence of Anchor, optional
        Proper Gaussian priors on nodes (see :class:`~petroinfer.inference.gmrf.Anchor`).

    Returns
    -------
    petroinfer.inference.gmrf.ChainPrior
    """
    from petroinfer.inference.gmrf import ChainPrior

    return ChainPrior(positions, order=order, channels=("T", "P"), anchors=anchors)


def evidence_search(
    model: Any,
    y: np.ndarray,
    *,
    start: Mapping[str, float] | None = None,
    x0: np.ndarray | None = None,
    tol: float = 0.1,
    scan: int = 2,
    profile: bool = False,
    decades: float = 6.0,
) -> tuple[Any, xr.Dataset]:
    """Choose the free hyperparameters of a GMRF path model by its (Laplace) evidence.

    A thin wrapper of the public
    :meth:`~petroinfer.inference.gmrf.NonlinearGMRF.search_hyperparameters` with the settings the
    path inversions share, warnings of the inner evaluations silenced (the outcome is reported by
    ``converged``/``at_bound`` of the returned search), and the evaluations as a labelled
    criterion curve.

    Parameters
    ----------
    model : petroinfer.inference.gmrf.NonlinearGMRF or LinearGMRF
        Configured model; hyperparameters left ``None`` are searched.
    y : numpy.ndarray
        Observations (residual-form models: zeros), shape ``(n_obs,)``.
    start : mapping, optional
        Starting values by hyperparameter name (``smoothness_T``, ``smoothness_P``,
        ``noise_precision``), e.g. from :func:`smoothness_start`.
    x0 : numpy.ndarray, optional
        Starting state ``(n_nodes, 2)`` of the MAP (nonlinear models).
    tol : float
        Nelder–Mead tolerance on the natural log of the hyperparameters.
    scan : int
        Half-width in decades of the coarse scan before Nelder–Mead.
    profile : bool
        Profile every free hyperparameter over ±2 decades after Nelder–Mead.
    decades : float
        Search bounds: ``start × 10^(±decades)`` for every hyperparameter in ``start``.

    Returns
    -------
    search : petroinfer.inference.gmrf.HyperparameterSearch
        The optimum (``search.hyperparameters`` can be passed to ``model.set_params``).
    criterion : xarray.Dataset
        Every evaluation (dim ``evaluation``): ``log_evidence`` (nats), ``stage`` and each
        hyperparameter.

    Notes
    -----
    The bounds matter where the evidence is flat towards a limit (e.g. κ_T → ∞ when T varies
    linearly along an order-2 chain): there the Laplace evidence of very stiff priors is
    numerically noisy and an unbounded search chases the noise. At the bound the path is already
    indistinguishable from the limit (prior SD over the path 10⁻⁶ of the starting 60 K / 2 kbar);
    ``search.at_bound`` names such hyperparameters.
    """
    kwargs: dict[str, Any] = {"start": start, "tol": tol, "scan": scan, "profile": profile}
    if start:
        kwargs["bounds"] = {k: (v * 10.0**-decades, v * 10.0**decades) for k, v in start.items()}
    if x0 is not None:
        kwargs["x0"] = x0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        warnings.simplefilter("ignore", ConvergenceWarning)
        search = model.search_hyperparameters(y, **kwargs)
    table = search.criterion
    data: dict[str, Any] = {}
    for name in table.columns:
        values = table[name].to_numpy()
        values = values.astype(str) if name == "stage" else values.astype(float)
        data[name] = ("evaluation", values)
    crit = xr.Dataset(
        data,
        attrs={
            "criterion": "Laplace log evidence (nats)",
            "method": f"coarse scan (±{scan} decades) + Nelder-Mead in log space (tol {tol:g})",
        },
    )
    return search, crit


def fit_quietly(model: Any, y: np.ndarray, x0: np.ndarray | None = None) -> Any:
    """``model.fit(y, x0)`` with the data-quality and convergence warnings of the GMRF core
    silenced (the path inversions report convergence in their diagnostics)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(y) if x0 is None else model.fit(y, x0=x0)


def smoothness_start(length: float, order: int) -> dict[str, float]:
    """Scale-based start of the evidence search: κ_T, κ_P such that the prior SD over a path of
    ``length`` is about 60 K and 2 kbar (κ ∝ L^(2·order−1)/SD²), and τ = 1.

    Parameters
    ----------
    length : float
        Length of the path coordinate (last node − first node).
    order : int
        Order of the chain prior.

    Returns
    -------
    dict
        ``{"smoothness_T": ..., "smoothness_P": ..., "noise_precision": 1.0}``.
    """
    scale = (length or 1.0) ** (2 * order - 1)
    return {"smoothness_T": scale / 60.0**2, "smoothness_P": scale / 2.0**2, "noise_precision": 1.0}


def _coords(coord: str, positions: np.ndarray, coord_units: str | None) -> dict[str, Any]:
    attrs = {"units": coord_units} if coord_units else {}
    n = positions.size
    return {"node": np.arange(n), coord: ("node", np.asarray(positions, dtype=float), attrs)}


def path_estimate(
    positions: np.ndarray,
    mean: np.ndarray,
    sd: np.ndarray,
    rho: np.ndarray | None = None,
    *,
    coord: str = "radius",
    coord_units: str | None = None,
) -> xr.Dataset:
    """The labelled path estimate in °C and kbar from the GMRF state in K and kbar.

    Parameters
    ----------
    positions : numpy.ndarray
        Node positions, shape ``(n,)``.
    mean, sd : numpy.ndarray
        Posterior means and SDs, shape ``(n, 2)``: column 0 is T (K), column 1 is P (kbar).
    rho : numpy.ndarray, optional
        Posterior T–P correlation at each node (NaN when not given).
    coord : str
        Name of the path coordinate (``"radius"``, ``"distance"``, ``"time"`` ...).
    coord_units : str, optional
        Units of the coordinate (stored in its ``attrs["units"]``).

    Returns
    -------
    xarray.Dataset
        ``T_C``, ``T_C_sd``, ``T_C_q05``, ``T_C_q95``, ``P_kbar``, ``P_kbar_sd``, ``P_kbar_q05``,
        ``P_kbar_q95`` and ``rho_TP`` on dim ``node``, each with ``attrs["units"]``. The band is
        ``mean ± z_{0.95} sd`` (Gaussian posterior).
    """
    mean = np.asarray(mean, dtype=float)
    sd = np.asarray(sd, dtype=float)
    n = mean.shape[0]
    rho = np.full(n, np.nan) if rho is None else np.asarray(rho, dtype=float)
    vals = {"T_C": kelvin_to_celsius(mean[:, 0]), "P_kbar": mean[:, 1]}
    data: dict[str, Any] = {}
    for k, (name, m) in enumerate(vals.items()):
        units = {"units": _UNITS[name]}
        data[name] = ("node", m, units)
        data[f"{name}_sd"] = ("node", sd[:, k], units)
        data[f"{name}_q05"] = ("node", m - Z90 * sd[:, k], units)
        data[f"{name}_q95"] = ("node", m + Z90 * sd[:, k], units)
    data["rho_TP"] = ("node", rho, {"units": "1"})
    return xr.Dataset(
        data,
        coords=_coords(coord, positions, coord_units),
        attrs={"T_units": "degC", "P_units": "kbar"},
    )


def path_posterior(
    positions: np.ndarray,
    T_K: np.ndarray,
    P_kbar: np.ndarray,
    chain: np.ndarray,
    draw: np.ndarray,
    *,
    coord: str = "radius",
    coord_units: str | None = None,
) -> xr.Dataset:
    """Posterior draws of the path in °C and kbar, dims ``(chain, draw, node)`` (ArviZ layout).

    Parameters
    ----------
    positions : numpy.ndarray
        Node positions, shape ``(n,)``.
    T_K, P_kbar : numpy.ndarray
        Draws of T (K) and P (kbar), shape ``(n_chain, n_draw, n)``.
    chain, draw : numpy.ndarray
        Coordinate values of the ``chain`` and ``draw`` dims.
    coord, coord_units : str
        Name and units of the path coordinate.

    Returns
    -------
    xarray.Dataset
        ``T_C`` and ``P_kbar`` with ``attrs["units"]``.
    """
    dims = ("chain", "draw", "node")
    return xr.Dataset(
        {
            "T_C": (dims, kelvin_to_celsius(T_K), {"units": "degC"}),
            "P_kbar": (dims, np.asarray(P_kbar, dtype=float), {"units": "kbar"}),
        },
        coords={"chain": chain, "draw": draw, **_coords(coord, positions, coord_units)},
    )


def anchored_path_prior(
    positions: np.ndarray,
    order: int,
    estimate: xr.Dataset,
    smoothness: tuple[float, float],
    anchor_scale: float,
) -> tuple[Callable, Callable]:
    r"""Proper (anchored) GMRF path prior for replica exchange: ``(log_prior, prior_sample)``.

    Parameters
    ----------
    positions : numpy.ndarray
        Node positions, shape ``(N,)``.
    order : int
        Order of the chain prior (1 or 2).
    estimate : xarray.Dataset
        A path estimate (:func:`path_estimate`): the anchors are centred on its means with SD
        ``anchor_scale`` × its SDs.
    smoothness : tuple of float
        (κ_T [K⁻² per unit coordinate^(2·order−1)], κ_P [kbar⁻² ...]).
    anchor_scale : float
        Anchor SD in units of the estimate's SD (> 0).

    Returns
    -------
    log_prior : callable
        ``theta (n, 2N) -> (n,)`` log density; parameters ordered ``(T_0..T_{N-1} [K],
        P_0..P_{N-1} [kbar])``.
    prior_sample : callable
        ``(rng, n) -> (n, 2N)`` exact draws.

    Notes
    -----
    The intrinsic prior's null space (per channel the level for order 1; level and linear trend for
    order 2) is made proper with ``order`` :class:`~petroinfer.inference.gmrf.Anchor` s per channel
    (the first node; for order 2 also the last). With the anchored precision :math:`Q`

    .. math:: \log p(x) = -\tfrac12 (x - \mu)^T Q (x - \mu) + \tfrac12 \log|Q| - N \log 2\pi,

    where :math:`\mu = Q^{-1} \Lambda m` (Rue & Held 2005, §2.3). Evaluation and exact draws use the
    public :class:`~petroinfer.inference.gmrf.ChainPrior` contract.
    """
    from petroinfer.inference.gmrf import Anchor

    if not (np.isfinite(anchor_scale) and anchor_scale > 0):
        raise ModelError(f"anchor_scale must be > 0, got {anchor_scale!r}")
    N = positions.size
    m = {"T": celsius_to_kelvin(estimate["T_C"].values), "P": estimate["P_kbar"].values}
    sd = {"T": estimate["T_C_sd"].values, "P": estimate["P_kbar_sd"].values}
    nodes = (0,) if order == 1 else (0, N - 1)
    anchors = [
        Anchor(int(i), float(m[ch][i]), float(anchor_scale * sd[ch][i]), ch)
        for ch in ("T", "P")
        for i in nodes
    ]
    prior = path_prior(positions, order, anchors)
    return _prior_functions(prior, N, np.asarray(smoothness, dtype=float), anchor_scale)


def _prior_functions(prior, N: int, kap: np.ndarray, anchor_scale: float):
    """``(log_prior, prior_sample)`` of an anchored (T, P) chain prior, through the public
    ``ChainPrior.log_determinant`` / ``log_density`` / ``sample`` contract."""
    kappa = {"T": float(kap[0]), "P": float(kap[1])}
    if prior.log_determinant(kappa)[1] != 0:  # pragma: no cover - guarded by the anchor choice
        raise ModelError(
            "the anchored prior is still improper; REMC would explore a flat direction"
        )
    try:
        prior.sample(kappa, 1, np.random.default_rng(0))
    except ModelError as exc:
        raise ModelError(
            f"the anchored REMC prior is numerically singular at anchor_scale={anchor_scale!r}: "
            "the anchors are too weak to make the intrinsic directions proper; use a smaller "
            "anchor_scale (default 20)"
        ) from exc

    def log_prior(theta):
        th = np.atleast_2d(theta)
        return prior.log_density(np.stack([th[:, :N], th[:, N:]], axis=-1), kappa)

    def prior_sample(rng, n):
        d = prior.sample(kappa, n, rng)
        return np.hstack([d[:, :, 0], d[:, :, 1]])

    return log_prior, prior_sample
