r"""Bayesian (GMRF / Markov-random-field) P–T paths from inclusion thermobarometry in a zoned garnet.

After Kuwatani et al. (2018, J. Mineral. Petrol. Sci. 113:82–95): P and T are unknown at nodes along the
garnet radius (core → rim) and vary smoothly (intrinsic GMRF prior along the radius); every biotite or
plagioclase inclusion, with the host-garnet composition at its position, is one equilibrium datum.
The full text of the paper was not available; the model below is a reconstruction [R] consistent with
its abstract and standard theory (``pt_paths.md`` §2.3).

Notes
-----
State: :math:`x_n = (T_n\,[\mathrm{K}], P_n\,[\mathrm{kbar}])` at radii :math:`r_n`. Datum :math:`k` at
radius :math:`\rho_k` sees the linear interpolation :math:`\theta_k = \sum_n w_{kn} x_n`. Observation
(residual form, dimensionless)

.. math:: 0 = g_k(\theta_k) + e_k, \quad
          g_k = \frac{\Delta G^\circ(T, P) + R T \ln K(c_k) + \sum \nu \mu_{ex}}{R T}, \quad
          e_k \sim N(0, \sigma_k^2 / \tau),

i.e. :math:`\ln K_{obs} - \ln K_{model}(T, P)` for the Grt–Bt exchange (biotite inclusions) or GASP
(plagioclase inclusions) reaction, with :math:`\sigma_k` propagated linearly from the analytical SDs of
the six mole fractions. Prior: first- (or second-) order random walk in r for T and for P with
smoothness precisions :math:`\kappa_T, \kappa_P` scaled by the node spacing
(:class:`~petroinfer.inference.gmrf.ChainPrior`). The MAP is found by Levenberg–Marquardt
(Gauss–Newton), the posterior is the Laplace approximation, and :math:`(\kappa_T, \kappa_P)` — and
optionally :math:`\tau` — maximise the Laplace evidence
(:class:`~petroinfer.inference.gmrf.NonlinearGMRF`). The Laplace posterior can be checked by
replica-exchange MC (:meth:`InclusionPTPath.sample_remc`). A Student-t likelihood (re-equilibrated
inclusions) is fitted by iteratively reweighted least squares (weights :math:`(\nu + 1)/(\nu + z^2)`),
the standard EM/IRLS scheme for t errors (Lange, Little & Taylor 1989).

References
----------
Kuwatani T., Nagata K., Yoshida K., Okada M., Toriumi M. (2018) J. Mineral. Petrol. Sci. 113:82–95.
Rue H., Held L. (2005) Gaussian Markov Random Fields. Chapman & Hall.
Lange K.L., Little R.J.A., Taylor J.M.G. (1989) J. Am. Stat. Assoc. 84:881–896.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pandas as pd

from petroinfer._base import Interval, InverseProblem, Options
from petroinfer._rng import RandomState, as_generator
from petroinfer.errors import InputError, ModelError
from petroinfer.ptpath._inclusion_model import InclusionProblem, prepare_inclusions, with_sample_ids
from petroinfer.ptpath._path import (
    anchored_path_prior,
    evidence_search,
    fit_quietly,
    path_estimate,
    path_posterior,
    path_prior,
    smoothness_start,
)
from petroinfer.ptpath._result import PTPathResult
from petroinfer.thermo import barometer, solve_pt, thermometer
from petroinfer.units import bar_to_kbar, celsius_to_kelvin, kelvin_to_celsius

if TYPE_CHECKING:
    from petroinfer.inference.remc import REMCResult

__all__ = ["InclusionPTPath", "pointwise_pt"]


class InclusionPTPath(InverseProblem):
    """P–T path along a garnet radius from biotite and plagioclase inclusions (GMRF prior, Laplace posterior).

    Parameters
    ----------
    nodes : array-like of float, optional
        Node radii (strictly increasing, core → rim, covering all inclusions). Default: ``n_nodes``
        equally spaced between the first and last inclusion.
    n_nodes : int, optional
        Number of nodes when ``nodes`` is not given (default: number of distinct inclusion radii,
        clipped to 8–60).
    order : {1, 2}
        1 (random walk, penalises slope) or 2 (penalises curvature) in T and P.
    thermometer, barometer, polymorph : str
        Calibrations (see :mod:`petroinfer.thermo.thermobarometry`): ``"FS78"|"HS82"|"ds62"``,
        ``"KN88"|"ds62"``, Al2SiO5 polymorph ``"ky"|"sill"|"and"``.
    garnet_model, plagioclase_model : str, optional
        a–x models for the barometer (default: the barometer's own).
    sigma : float or dict
        Analytical 1σ of each mole fraction where no ``<column>_sd`` column is given (a dict maps
        ``Grt_XAlm`` ... to values; missing keys 0.005).
    likelihood : {"gaussian", "student_t"}
        ``"student_t"`` is robust to re-equilibrated inclusions (``nu`` degrees of freedom).
    nu : float
        Degrees of freedom of the Student-t likelihood (> 0).
    estimate_noise : bool
        Also estimate a global noise precision τ by evidence (default False: the propagated σ_k are
        trusted).
    smoothness : dict, optional
        Fixed ``{"T": κ_T, "P": κ_P}`` (K⁻², kbar⁻² per unit radius); missing keys are chosen by
        evidence; default: both chosen by evidence.
    n_samples : int
        Laplace posterior draws stored in the result.
    radius_units : str
        Units of the ``radius`` column (a label for the outputs; default ``"mm"``).
    random_state : int or numpy.random.Generator, optional
        Seed for the draws.

    Examples
    --------
    >>> from petroinfer.ptpath import InclusionPTPath, synthetic_inclusions
    >>> data, truth = synthetic_inclusions(n_nodes=10, random_state=0)
    >>> model = InclusionPTPath(order=2, random_state=0)
    >>> model
    InclusionPTPath(order=2, random_state=0)
    >>> res = InclusionPTPath(nodes=truth["radius"].to_numpy(), random_state=0).fit(data)
    >>> bool(abs(res.estimate["T_C"] - truth["T_C"].to_numpy()).max() < 40)
    True
    >>> res.estimate["T_C"].attrs["units"]
    'degC'
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "nodes": ["array-like", None],
        "n_nodes": [Interval(int, 2, None), None],
        "order": [Options({1, 2})],
        "thermometer": [str],
        "barometer": [str],
        "polymorph": [str],
        "garnet_model": [str, None],
        "plagioclase_model": [str, None],
        "sigma": [Interval(float, 0, None), dict],
        "likelihood": [Options({"gaussian", "student_t"})],
        "nu": [Interval(float, 0, None, closed="neither")],
        "estimate_noise": [bool],
        "smoothness": [dict, None],
        "n_samples": [Interval(int, 0, None)],
        "radius_units": [str],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        nodes: Sequence[float] | np.ndarray | None = None,
        *,
        n_nodes: int | None = None,
        order: int = 1,
        thermometer: str = "HS82",
        barometer: str = "KN88",
        polymorph: str = "ky",
        garnet_model: str | None = None,
        plagioclase_model: str | None = None,
        sigma: float | dict = 0.005,
        likelihood: str = "gaussian",
        nu: float = 4.0,
        estimate_noise: bool = False,
        smoothness: dict | None = None,
        n_samples: int = 400,
        radius_units: str = "mm",
        random_state: RandomState = None,
    ) -> None:
        self.nodes = nodes
        self.n_nodes = n_nodes
        self.order = order
        self.thermometer = thermometer
        self.barometer = barometer
        self.polymorph = polymorph
        self.garnet_model = garnet_model
        self.plagioclase_model = plagioclase_model
        self.sigma = sigma
        self.likelihood = likelihood
        self.nu = nu
        self.estimate_noise = estimate_noise
        self.smoothness = smoothness
        self.n_samples = n_samples
        self.radius_units = radius_units
        self.random_state = random_state

    # ---------------------------------------------------------------- setup
    def _validate(self) -> None:
        """Parameter checks, once at the start of :meth:`fit` / :meth:`sample_remc`."""
        self._validate_params()
        if self.smoothness is not None:
            bad = set(self.smoothness) - {"T", "P"}
            vals = list(self.smoothness.values())
            if bad or not all(
                isinstance(v, (int, float)) and np.isfinite(v) and v > 0 for v in vals
            ):
                raise ModelError(
                    "InclusionPTPath: parameter 'smoothness' must be a dict with keys 'T' and/or "
                    f"'P' and positive values; got {self.smoothness!r}"
                )

    def _node_positions(self, rad: np.ndarray) -> np.ndarray:
        if self.nodes is not None:
            s = np.asarray(self.nodes, dtype=float)
            if s.ndim != 1 or s.size < self.order + 1:
                raise InputError(
                    f"nodes must be a 1-D array of at least {self.order + 1} radii", column="nodes"
                )
            bad = np.flatnonzero(~(np.diff(s) > 0))
            if bad.size:
                raise InputError(
                    "nodes must be strictly increasing (core → rim)",
                    column="nodes",
                    row=int(bad[0]) + 1,
                    value=float(s[bad[0] + 1]),
                )
            if rad.min() < s[0] - 1e-12 or rad.max() > s[-1] + 1e-12:
                raise InputError(
                    f"inclusion radii must lie within the nodes [{s[0]:g}, {s[-1]:g}]",
                    column="radius",
                )
            return s
        n = self.n_nodes or int(np.clip(np.unique(rad).size, 8, 60))
        if rad.max() <= rad.min():
            raise InputError(
                "inclusions span no radius range; give nodes explicitly", column="radius"
            )
        return np.linspace(rad.min(), rad.max(), int(n))

    def _problem(self, data: pd.DataFrame) -> InclusionProblem:
        """The forward model of ``data`` on this model's nodes (no parameter validation)."""
        data = with_sample_ids(data)
        rad, is_bt, c, sig = prepare_inclusions(data, self.sigma)
        teq = thermometer(self.thermometer)
        beq = barometer(self.barometer, self.polymorph, self.garnet_model, self.plagioclase_model)
        s = self._node_positions(rad)
        W = path_prior(s, self.order).interpolation_matrix(np.clip(rad, s[0], s[-1]))
        return InclusionProblem(rad, is_bt, c, sig, teq, beq, s, W)

    # ---------------------------------------------------------------- fit
    def fit(self, data: pd.DataFrame) -> PTPathResult:
        """Infer the path: MAP, Laplace posterior and evidence-chosen smoothness.

        Parameters
        ----------
        data : pandas.DataFrame
            One row per inclusion, ordered core → rim: ``radius``, ``inclusion`` (biotite |
            plagioclase), host-garnet ``Grt_XAlm, Grt_XPrp, Grt_XGrs, Grt_XSps`` (or prefixed
            oxides), ``Bt_XMg`` for biotite and ``Pl_XAn`` for plagioclase rows; optional
            ``<column>_sd``. Rows are named in messages and in ``observations`` by the index, or by
            an ``id``/``sample``/``sample_id``/``analysis`` column when the index is 0, 1, 2, ...

        Returns
        -------
        PTPathResult
            Path estimate (°C, kbar, 90 % bands), Laplace draws, log evidence, the chosen
            smoothness with the evidence curve (``criterion``) and the per-inclusion fit.
        """
        self._validate()
        data = with_sample_ids(data)
        pb = self._problem(data)
        prior = path_prior(pb.s, self.order)
        x0 = pb.start()
        sigma_k = pb.sigma_k(x0)
        weights = np.ones(pb.m)
        y = np.zeros(pb.m)
        n_irls = 1 if self.likelihood == "gaussian" else 8
        res, search, crit = None, None, None
        for it in range(n_irls):
            model = self._gmrf(prior, pb, sigma_k / np.sqrt(weights), x0)
            start = smoothness_start(float(pb.s[-1] - pb.s[0]), self.order)
            search, crit = evidence_search(model, y, start=start, x0=x0)
            model.set_params(**search.hyperparameters, n_samples=self.n_samples)
            res = fit_quietly(model, y, x0)
            x0 = res.estimate["mean"].values
            if self.likelihood == "student_t":
                z = res.estimate["residual"].values / sigma_k
                new = (self.nu + 1.0) / (self.nu + z**2)
                if it > 0 and np.max(np.abs(new - weights)) < 1e-3:
                    weights = new
                    break
                weights = new
        diag = {"evidence_search_converged": bool(search.converged),
                "evidence_search_at_bound": list(search.at_bound),
                "evidence_evaluations": int(search.n_evaluations)}  # fmt: skip
        return self._assemble(res, crit, diag, pb, sigma_k, weights, data)

    def _gmrf(self, prior, pb: InclusionProblem, noise_scale: np.ndarray, x0: np.ndarray):
        """The Laplace GMRF model of the residuals; hyperparameters not fixed by the user (``None``)
        are left for the evidence search."""
        from petroinfer.inference.gmrf import NonlinearGMRF

        fixed = self.smoothness or {}
        return NonlinearGMRF(
            prior, pb.forward, pb.jacobian, noise_precision=None if self.estimate_noise else 1.0,
            smoothness={"T": fixed.get("T"), "P": fixed.get("P")}, noise_scale=noise_scale,
            x0=x0, n_samples=0, random_state=self.random_state,
        )  # fmt: skip

    def _assemble(
        self, res, crit, search_diag, pb: InclusionProblem, sigma_k, weights, data
    ) -> PTPathResult:
        e = res.estimate
        sd = e["sd"].values
        rho = None
        if "covariance" in e:
            rho = e["covariance"].values[:, 0, 1] / np.maximum(sd[:, 0] * sd[:, 1], 1e-300)
        units = self.radius_units
        est = path_estimate(pb.s, e["mean"].values, sd, rho, coord="radius", coord_units=units)
        post = None
        if res.posterior is not None:
            x = res.posterior[next(iter(res.posterior.data_vars))]
            post = path_posterior(
                pb.s, x.sel(channel="T").values, x.sel(channel="P").values,
                x["chain"].values, x["draw"].values, coord="radius", coord_units=units,
            )  # fmt: skip
        obs = pd.DataFrame(
            {"radius": pb.rad, "inclusion": np.where(pb.is_bt, "biotite", "plagioclase"),
             "sigma_lnK": sigma_k, "standardised_residual": e["residual"].values / sigma_k,
             "weight": weights},
            index=data.index,
        )  # fmt: skip
        hp = dict(res.hyperparameters)
        fixed = self.smoothness and set(self.smoothness) == {"T", "P"} and not self.estimate_noise
        hyper = {
            "smoothness_T_per_K2": hp["smoothness"]["T"],
            "smoothness_P_per_kbar2": hp["smoothness"]["P"],
            "noise_precision": hp["noise_precision"],
            "order": self.order,
            "chosen_by": "fixed" if fixed else "Laplace evidence",
            "thermometer": self.thermometer,
            "barometer": f"{self.barometer}-{self.polymorph}",
            "likelihood": self.likelihood,
            "nu": self.nu if self.likelihood == "student_t" else None,
        }
        diag = {**dict(res.diagnostics), **search_diag}
        diag["n_biotite"] = int(pb.is_bt.sum())
        diag["n_plagioclase"] = int((~pb.is_bt).sum())
        return PTPathResult(
            estimate=est,
            posterior=post,
            log_evidence=res.log_evidence,
            diagnostics=diag,
            hyperparameters=hyper,
            criterion=crit,
            metadata=self._metadata(method="InclusionPTPath", inputs=(data,)),
            observations=obs,
        )

    # ---------------------------------------------------------------- REMC check
    def sample_remc(
        self,
        data: pd.DataFrame,
        result: PTPathResult,
        *,
        n_steps: int = 3000,
        n_temps: int = 10,
        n_chains: int = 2,
        anchor_scale: float = 20.0,
        random_state: RandomState = None,
    ) -> REMCResult:
        """Full posterior by replica-exchange MC at the hyperparameters of ``result`` (order 1 or 2).

        The log prior is the GMRF prior of :meth:`fit` — the precision ``Q = R ⊗ diag(κ_T, κ_P)`` of the
        same :class:`~petroinfer.inference.gmrf.ChainPrior` (irregular spacing, Lindgren & Rue 2008),
        evaluated by its public ``log_density`` for all replicas at once. That prior is intrinsic: its null
        space (per channel the level for order 1; level and linear trend for order 2) is flat, which
        the Laplace fit handles through the generalised determinant because the data fix those
        directions. REMC cannot: its β = 0 rung draws from the prior and the hot rungs would wander
        along the flat directions. The prior is therefore made proper with ``order`` weak
        :class:`~petroinfer.inference.gmrf.Anchor` s per channel (the core node; for order 2 also
        the rim node), centred on the Laplace mean with SD ``anchor_scale`` × the Laplace SD there.
        This changes the β = 1 posterior by a fraction ≈ 1/anchor_scale² of its variance.

        Parameters
        ----------
        data : pandas.DataFrame
            The inclusion table that ``result`` was fitted to.
        result : PTPathResult
            A result of :meth:`fit` on ``data`` with this model's nodes and order.
        n_steps, n_temps, n_chains : int
            Replica-exchange settings (see :class:`~petroinfer.inference.remc.ReplicaExchange`).
        anchor_scale : float
            SD of the anchors in units of the Laplace SD at the anchored nodes.
        random_state : int or numpy.random.Generator, optional
            Seed of the chains.

        Returns
        -------
        petroinfer.inference.remc.REMCResult
            Parameters ``T{n}`` (K) and ``P{n}`` (kbar).
        """
        from petroinfer.inference.remc import ReplicaExchange

        if self.order not in (1, 2):
            raise ModelError(f"order must be 1 or 2, got {self.order!r}")
        self._validate()
        pb = self._problem(data)
        if pb.s.size != result.estimate.sizes["node"]:
            raise ModelError("result does not belong to these data / nodes")
        if result.hyperparameters.get("order", self.order) != self.order:
            raise ModelError(
                f"result was fitted with order={result.hyperparameters['order']}, "
                f"this model has order={self.order}"
            )
        hp = result.hyperparameters
        tau = hp["noise_precision"]
        w = result.observations["weight"].to_numpy()
        sig = result.observations["sigma_lnK"].to_numpy() / np.sqrt(tau * w)
        N = pb.s.size
        log_prior, prior_sample = _remc_prior(self, pb, result, anchor_scale)

        def log_lik(theta):
            th = np.atleast_2d(theta)
            g = pb.forward_batch(th[:, :N], th[:, N:])
            return (
                -0.5 * np.sum((g / sig) ** 2, axis=1)
                - np.sum(np.log(sig))
                - 0.5 * g.shape[1] * np.log(2 * np.pi)
            )

        mean = np.concatenate(
            [celsius_to_kelvin(result.estimate["T_C"].values), result.estimate["P_kbar"].values]
        )
        if result.posterior is not None:
            dT = result.posterior["T_C"].values.reshape(-1, N)
            dP = result.posterior["P_kbar"].values.reshape(-1, N)
            cov = np.cov(np.hstack([dT, dP]).T)
        else:
            cov = np.diag(
                np.concatenate(
                    [result.estimate["T_C_sd"].values, result.estimate["P_kbar_sd"].values]
                )
                ** 2
            )
        rng = as_generator(random_state)
        init = mean + rng.multivariate_normal(np.zeros(2 * N), cov, size=(n_chains, n_temps)) * 0.5
        sampler = ReplicaExchange(
            log_lik, log_prior, prior_sample, vectorized=True, n_temps=n_temps, beta_min=1e-3,
            n_steps=n_steps, n_chains=n_chains, proposal_cov=cov, warn=False,
            param_names=[f"T{i}" for i in range(N)] + [f"P{i}" for i in range(N)], random_state=rng,
        )  # fmt: skip
        return sampler.fit(initial=init)


def _remc_prior(
    model: InclusionPTPath, pb: InclusionProblem, result: PTPathResult, anchor_scale: float
):
    """The anchored GMRF prior of ``model`` at the hyperparameters of ``result``:
    ``(log_prior, prior_sample)`` (see :func:`petroinfer.ptpath._path.anchored_path_prior`)."""
    hp = result.hyperparameters
    kappa = (hp["smoothness_T_per_K2"], hp["smoothness_P_per_kbar2"])
    return anchored_path_prior(pb.s, model.order, result.estimate, kappa, anchor_scale)


def pointwise_pt(
    data: pd.DataFrame,
    thermometer_name: str = "HS82",
    barometer_name: str = "KN88",
    polymorph: str = "ky",
) -> pd.DataFrame:
    """Conventional point-by-point thermobarometry of an inclusion table.

    Each biotite inclusion is paired with the plagioclase inclusion nearest in radius (and the
    biotite's host-garnet composition); thermometer and barometer are solved simultaneously.

    Parameters
    ----------
    data : pandas.DataFrame
        Inclusion table as for :meth:`InclusionPTPath.fit`.
    thermometer_name, barometer_name, polymorph : str
        Calibrations (see :mod:`petroinfer.thermo.thermobarometry`).

    Returns
    -------
    pandas.DataFrame
        ``radius``, ``T_C``, ``P_kbar``, one row per biotite inclusion, indexed by its sample id.
    """
    data = with_sample_ids(data)
    rad, is_bt, c, _ = prepare_inclusions(data, 0.0)
    if not is_bt.any() or is_bt.all():
        raise InputError(
            "pointwise P–T needs both biotite and plagioclase inclusions", column="inclusion"
        )
    rb, rp = rad[is_bt], rad[~is_bt]
    j = np.abs(rb[:, None] - rp[None, :]).argmin(axis=1)
    cc = c[is_bt].copy()
    cc[:, 5] = c[~is_bt][j, 5]
    T, P = solve_pt(thermometer(thermometer_name), barometer(barometer_name, polymorph), cc)
    return pd.DataFrame(
        {"radius": rb, "T_C": kelvin_to_celsius(T), "P_kbar": bar_to_kbar(P)},
        index=data.index[is_bt],
    )
