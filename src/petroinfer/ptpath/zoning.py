r"""P–T paths from zoned garnet: Bayesian (GMRF) inversion of the Gibbs method.

:class:`ZonedGarnetPTPath` puts T and P at every point of a measured garnet traverse under a GMRF
chain prior along the distance coordinate and links them to the measured garnet composition through
the thermodynamic equilibrium of garnet with a known matrix (biotite, plagioclase, Al2SiO5/muscovite,
quartz) — the Gibbs-method link, whose Jacobian is the Gibbs-method matrix A_i. Hyperparameters (EPMA
noise, κ_T, κ_P) are chosen by the Laplace evidence; :func:`synthetic_zoning` makes test profiles.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from petroinfer._base import Interval, InverseProblem, Options
from petroinfer.errors import ConvergenceWarning, DataQualityWarning, InputError, ModelError
from petroinfer.ptpath._path import (
    Z90,
    evidence_search,
    fit_quietly,
    path_estimate,
    path_posterior,
    path_prior,
    smoothness_start,
)
from petroinfer.ptpath._result import PTPathResult
from petroinfer.ptpath._zoning_problem import (
    ZoningProblem,
    build_problem,
    check_anchor,
    validate_table,
)
from petroinfer.thermo.gibbs import (
    GibbsState,
    GibbsSystem,
    equilibrium_composition,
    integrate,
    metapelite_system,
    toy_open_system,
)
from petroinfer.units import CELSIUS_OFFSET, celsius_to_kelvin, kbar_to_bar

__all__ = ["ZonedGarnetPTPath", "synthetic_zoning"]


class ZonedGarnetPTPath(InverseProblem):
    r"""P–T path along a zoned-garnet traverse: Gibbs-method link + GMRF prior + evidence.

    Parameters
    ----------
    assemblage : str
        Matrix assemblage for :func:`~petroinfer.thermo.gibbs.metapelite_system`
        (``grt-bt-pl-ky-qtz``, ``grt-bt-pl-sil-qtz``, ``grt-bt-pl-ms-qtz``); ignored when
        ``system`` is given.
    system : GibbsSystem, optional
        An open-mode Gibbs system with a Mn-free garnet ``grt`` (alm, py, gr) and two independent
        garnet equilibria (e.g. :func:`~petroinfer.thermo.gibbs.toy_open_system`).
    matrix : mapping, optional
        Matrix compositions ``{"Bt_XMg": ..., "Pl_XAn": ...}`` (the side table); per-point columns of
        the same names in the traverse override them.
    anchor : mapping, optional
        ``{"T_C", "P_kbar", "sd_T" (°C, default 25), "sd_P" (kbar, default 1), "at": "core"|"rim"}``:
        thermobarometry of the core or rim (e.g. a ``thermobarometry`` result's T and P).
    direction : {"core-to-rim", "rim-to-core"}
        Whether ``distance`` grows from the core outwards or from the rim inwards.
    order : {1, 2}
        Order of the GMRF chain prior on T and P along the distance.
    noise_precision : float or None
        1/σ² of the EPMA noise in mole fraction; ``None`` = chosen by the evidence.
    smoothness : mapping or None
        Fixed ``{"T": κ_T, "P": κ_P}``; ``None`` (or a missing channel) = chosen by the evidence.
    n_samples : int
        Laplace posterior draws in the result.
    random_state : int, numpy.random.Generator or None
        Seed of the draws.
    distance_units : str
        Units of ``distance`` (reported in the result).
    evidence_start : mapping, optional
        Warm start of the evidence search: the ``hyperparameters`` of an earlier result (keys
        ``noise_precision``, ``smoothness_T_per_K2``, ``smoothness_P_per_kbar2``), e.g. a pilot
        garnet of the same sample. The search then skips the coarse decade scan and stays within
        ±1.5 decades of the start (about 5× fewer evidence evaluations).
    link : {"integrated", "latent"}
        ``integrated``: x_i = g(θ_i) (garnet in equilibrium with the matrix at θ_i). ``latent``: the
        true compositions are latent, x_i = g(θ_i) + δ_i with the model error
        η_i = δ_{i+1} − δ_i ~ N(0, σ_η² h_i/h̄) (the differential Gibbs link of Kuwatani et al. 2012
        [R]; needs an anchor); see Notes.
    model_error : float or None
        σ_η of the latent link: SD of η per mean traverse spacing h̄ (mole fraction); ``None`` =
        chosen by the Laplace evidence (1-D, the other hyperparameters at their integrated-link
        values).
    latent_level : {"free", "equilibrium"}
        Level of δ in the latent link: ``free`` (only the differentials of the zoning carry P–T
        information, as in the differential Gibbs method; the absolute P–T comes from the anchor)
        or ``equilibrium`` (δ = 0 at the anchor node: the anchored garnet is in equilibrium with
        the matrix, and the model error accumulates away from it; as σ_η → 0 this is exactly the
        integrated link).

    Notes
    -----
    Model (Kuwatani et al. 2012 [A]; reconstruction [R], gibbs notes §A, PT notes §1.3):

    * state :math:`\theta_i = (T_i, P_i)` at each traverse point, GMRF prior
      :math:`p(\theta) \propto \exp[-\tfrac{\kappa_T}{2} T^T R T - \tfrac{\kappa_P}{2} P^T R P]`
      (random walk of order 1 or 2, spacing-aware; Rue & Held 2005, Lindgren & Rue 2008);
    * Gibbs link :math:`x_i = g(\theta_i)`: the garnet (X_prp, X_grs) in equilibrium with the matrix at
      θ_i (integrated mode), whose Jacobian :math:`A_i = \partial x/\partial\theta` is the open-system
      Gibbs-method matrix; the differential link
      :math:`x_{i+1} - x_i = A_i(\theta_{i+1} - \theta_i)` holds to second order;
    * EPMA observation :math:`y_i = x_i + \varepsilon_i`, :math:`\varepsilon_i \sim N(0, \tau^{-1} I)`;
    * optional anchor :math:`\theta_{core|rim} \sim N(\theta_{ref}, \mathrm{diag}(sd_T^2, sd_P^2))`.

    * ``link="latent"``: latent true compositions :math:`x_i = g(\theta_i) + \delta_i` with the model
      error :math:`\eta_i = \delta_{i+1} - \delta_i \sim N(0, \sigma_\eta^2 h_i/\bar h\, I)`, i.e. the
      differential link :math:`x_{i+1} - x_i = A_i(\theta_{i+1} - \theta_i) + \eta_i` with its
      second-order remainder computed exactly; σ_η (and τ) by the Laplace evidence. With δ pinned at
      the anchor and σ_η → 0 it reduces to the integrated link;
    * Mn-bearing garnet (``metapelite_system(..., manganese=True)``): X_prp, X_grs are solved at the
      measured X_sps of each point (spessartine enters no equilibrium of these assemblages).

    MAP by Levenberg–Marquardt/Gauss–Newton re-linearising :math:`A_i` every iteration, Laplace
    posterior, hyperparameters (τ, κ_T, κ_P) by maximum Laplace evidence
    (:class:`~petroinfer.inference.gmrf.NonlinearGMRF`). The denoised zoning and its band follow from
    the delta method :math:`\mathrm{Cov}(x_i) = A_i \Sigma_{\theta_i} A_i^T`. The condition number of
    :math:`A_i` (T in K, P in kbar) is reported per point: large values mark segments where the
    isopleths of X_prp and X_grs run parallel and the path is ill-posed.

    Examples
    --------
    >>> from petroinfer.ptpath.zoning import ZonedGarnetPTPath, synthetic_zoning
    >>> from petroinfer.thermo.gibbs import toy_open_system
    >>> data, truth, matrix = synthetic_zoning("prograde", n_points=25, noise=0.003, random_state=1)
    >>> res = ZonedGarnetPTPath(system=toy_open_system(), matrix=matrix).fit(data)
    >>> bool(abs(res.estimate["T_C"] - truth["T_C"].to_numpy()).max() < 40)
    True
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "order": [Options({1, 2})],
        "direction": [Options({"core-to-rim", "rim-to-core"})],
        "noise_precision": [Interval(float, 0, None, closed="neither"), None],
        "n_samples": [Interval(int, 0, None)],
        "random_state": ["random_state"],
        "assemblage": [str],
        "link": [Options({"integrated", "latent"})],
        "model_error": [Interval(float, 0, None, closed="neither"), None],
        "latent_level": [Options({"free", "equilibrium"})],
    }

    def __init__(
        self,
        assemblage: str = "grt-bt-pl-ky-qtz",
        *,
        system: GibbsSystem | None = None,
        matrix: Mapping[str, float] | None = None,
        anchor: Mapping[str, Any] | None = None,
        direction: str = "core-to-rim",
        order: int = 2,
        noise_precision: float | None = None,
        smoothness: Mapping[str, float | None] | None = None,
        n_samples: int = 200,
        random_state: Any = None,
        distance_units: str = "um",
        evidence_start: Mapping[str, Any] | None = None,
        link: str = "integrated",
        model_error: float | None = None,
        latent_level: str = "free",
    ) -> None:
        self.assemblage = assemblage
        self.system = system
        self.matrix = matrix
        self.anchor = anchor
        self.direction = direction
        self.order = order
        self.noise_precision = noise_precision
        self.smoothness = smoothness
        self.n_samples = n_samples
        self.random_state = random_state
        self.distance_units = distance_units
        self.evidence_start = evidence_start
        self.link = link
        self.model_error = model_error
        self.latent_level = latent_level

    # ------------------------------------------------------------------ helpers
    def _problem(self, data: pd.DataFrame) -> tuple[ZoningProblem, dict | None]:
        self._validate_params()
        validate_table(data)
        anchor = check_anchor(self.anchor)
        system = self.system if self.system is not None else metapelite_system(self.assemblage)
        pb = build_problem(data, system, self.matrix, self.direction)
        return pb, anchor

    def _anchor_node(self, pb: ZoningProblem, at: str) -> int:
        core = 0 if pb.core_first else pb.n - 1
        return core if at == "core" else pb.n - 1 - core

    def _start(self, pb: ZoningProblem, anchor) -> np.ndarray:
        T0 = (
            float(celsius_to_kelvin(600.0))
            if anchor is None
            else float(celsius_to_kelvin(anchor["T_C"]))
        )
        P0 = 6000.0 if anchor is None else float(kbar_to_bar(anchor["P_kbar"]))
        T, P, ok = pb.pointwise(T0, P0)
        if ok.sum() < 2:
            raise ModelError(
                "no traverse point is in equilibrium with the matrix at any P–T: check the matrix "
                "compositions and the assemblage"
            )
        if (~ok).any():
            warnings.warn(
                f"point-wise thermobarometry failed at {int((~ok).sum())} point(s); the start "
                "interpolates them",
                DataQualityWarning,
                stacklevel=3,
            )
        T = np.interp(pb.s, pb.s[ok], T[ok])
        P = np.interp(pb.s, pb.s[ok], P[ok])
        # a smooth start (the data are noisy): a low-order polynomial fit
        deg = min(3, pb.n - 1)
        t = (pb.s - pb.s[0]) / max(pb.s[-1] - pb.s[0], 1e-300)
        T = np.polyval(np.polyfit(t, T, deg), t)
        P = np.polyval(np.polyfit(t, P, deg), t)
        return np.column_stack([T, P / 1000.0])

    def _anchors(self, pb: ZoningProblem, anchor) -> list | None:
        from petroinfer.inference.gmrf import Anchor

        if anchor is None:
            return None
        node = self._anchor_node(pb, anchor["at"])
        return [
            Anchor(node, float(celsius_to_kelvin(anchor["T_C"])), anchor["sd_T"], "T"),
            Anchor(node, anchor["P_kbar"], anchor["sd_P"], "P"),
        ]

    def _model(self, pb: ZoningProblem, anchor, x0: np.ndarray):
        from petroinfer.inference.gmrf import NonlinearGMRF

        prior = path_prior(pb.s, self.order, self._anchors(pb, anchor))
        fixed = dict(self.smoothness or {})
        return NonlinearGMRF(
            prior, pb.forward, pb.jacobian, noise_precision=self.noise_precision,
            smoothness={"T": fixed.get("T"), "P": fixed.get("P")}, x0=x0, n_samples=self.n_samples,
            random_state=self.random_state,
        )  # fmt: skip

    def _free_names(self) -> set[str]:
        free = {"noise_precision"} if self.noise_precision is None else set()
        fixed = dict(self.smoothness or {})
        return free | {f"smoothness_{c}" for c in ("T", "P") if fixed.get(c) is None}

    # ------------------------------------------------------------------ fit
    def fit(self, data: pd.DataFrame) -> PTPathResult:
        """Infer the P–T path of a garnet traverse.

        Parameters
        ----------
        data : pandas.DataFrame
            One row per traverse point: ``distance`` (strictly monotone; see ``direction``) and garnet
            ``Grt_XAlm, Grt_XPrp, Grt_XGrs`` (``Grt_XSps`` optional, renormalised away); optional
            per-point matrix columns ``Bt_XMg``, ``Pl_XAn``.

        Returns
        -------
        PTPathResult
            ``estimate`` (dim ``node``, coordinate ``distance``): T (°C) and P (kbar) means, SDs, 90 %
            bands, T–P correlation and ``condition_number``; ``observations``: observed and denoised
            zoning with 90 % bands; ``log_evidence``; the evidence curve in ``criterion``.
        """
        pb, anchor = self._problem(data)
        x0 = self._start(pb, anchor)
        model = self._model(pb, anchor, x0)
        y = pb.y.ravel()
        free = self.noise_precision is None or any(
            (self.smoothness or {}).get(c) is None for c in ("T", "P")
        )
        crit, diag = None, {}
        if free:
            start = smoothness_start(float(pb.s[-1] - pb.s[0]), self.order)
            start["noise_precision"] = 1.0 / 0.003**2
            opts: dict[str, Any] = {"decades": 5.0}
            if self.evidence_start is not None:
                keys = {"noise_precision": "noise_precision", "smoothness_T": "smoothness_T_per_K2",
                        "smoothness_P": "smoothness_P_per_kbar2"}  # fmt: skip
                try:
                    start = {k: float(self.evidence_start[v]) for k, v in keys.items()}
                except (KeyError, TypeError, ValueError) as exc:
                    raise InputError(
                        f"evidence_start needs numeric {sorted(keys.values())}; got "
                        f"{dict(self.evidence_start)!r}"
                    ) from exc
                if not all(np.isfinite(v) and v > 0 for v in start.values()):
                    raise InputError(f"evidence_start values must be > 0, got {start!r}")
                opts = {"decades": 1.5, "scan": 0}
            start = {k: v for k, v in start.items() if k in self._free_names()}
            search, crit = evidence_search(model, y, start=start, x0=x0, **opts)
            model.set_params(**search.hyperparameters)
            diag = {
                "evidence_search_converged": bool(search.converged),
                "evidence_search_at_bound": list(search.at_bound),
                "evidence_evaluations": int(search.n_evaluations),
            }
        res = fit_quietly(model, y, x0)
        if self.link == "latent":
            return self._fit_latent(res, pb, anchor, crit, diag, data)
        return self._assemble(res, pb, crit, diag, data)

    def _fit_latent(self, res, pb: ZoningProblem, anchor, crit, diag, data) -> PTPathResult:
        """Latent compositions with model error η (``link="latent"``), started from the integrated
        fit ``res`` and at its τ, κ_T, κ_P."""
        import xarray as xr

        from petroinfer.inference.gmrf import Anchor, ChainPrior
        from petroinfer.ptpath._zoning_latent import fit_latent, search_model_error

        if anchor is None:
            raise ModelError(
                "link='latent' (differential Gibbs link with model error) needs an anchor: the "
                "model error makes the absolute level of the compositions free"
            )
        hp = dict(res.hyperparameters)
        tau = float(hp["noise_precision"])
        kap = {"T": float(hp["smoothness"]["T"]), "P": float(hp["smoothness"]["P"])}
        anchors = self._anchors(pb, anchor)
        tprior = path_prior(pb.s, self.order, anchors)
        pins = None
        if self.latent_level == "equilibrium":
            node = self._anchor_node(pb, anchor["at"])
            pins = [Anchor(node, 0.0, 1e-7, c) for c in ("dPrp", "dGrs")]
        eprior = ChainPrior(pb.s, order=1, channels=("dPrp", "dGrs"), anchors=pins)
        hbar = float(pb.s[-1] - pb.s[0]) / (pb.n - 1)
        z0 = np.column_stack([res.estimate["mean"].values, np.zeros((pb.n, 2))])

        def fit_at(sd: float, tau_: float, blocks: bool = False):
            return fit_latent(pb.link, pb.y, tprior, kap, anchors, eprior, hbar / sd**2, tau_, z0,
                              blocks=blocks)  # fmt: skip

        def logz(sd: float) -> float:
            try:
                return fit_at(sd, tau).log_evidence
            except ModelError:
                return -np.inf

        if self.model_error is None:
            sd, evals = search_model_error(logz, np.geomspace(1e-5, 1e-2, 7))
            ev = np.array(evals)
            curve = xr.Dataset(
                {"model_error_sd": ("eta_evaluation", ev[:, 0], {"units": "1"}),
                 "log_evidence_latent": ("eta_evaluation", ev[:, 1], {"units": "nats"})},
                attrs={"criterion": "Laplace log evidence of the latent link over sigma_eta"},
            )  # fmt: skip
            crit = curve if crit is None else xr.merge([crit, curve], compat="override")
        else:
            sd = float(self.model_error)
        lf = fit_at(sd, tau, blocks=True)
        hp["noise_precision"] = tau
        diag = {**diag, "latent_iterations": lf.iterations, "latent_converged": lf.converged}
        extra = {"model_error_sd": sd, "link": "latent", "latent_level": self.latent_level,
                 "model_error_chosen_by": "Laplace evidence" if self.model_error is None else "fixed"}  # fmt: skip
        cov = lf.cov[:, :2, :2]
        sd2 = np.sqrt(np.einsum("naa->na", cov))
        rho = cov[:, 0, 1] / np.maximum(sd2[:, 0] * sd2[:, 1], 1e-300)
        B = np.concatenate([lf.A, np.broadcast_to(np.eye(2), (pb.n, 2, 2))], axis=2)
        xcov = np.einsum("nab,nbc,ndc->nad", B, lf.cov, B)
        x = lf.x.copy()
        x[:, 1:] += lf.z[:, 2:]
        x[:, 0] = 1.0 - x[:, 1:].sum(axis=1)
        return self._build(pb, lf.z[:, :2], sd2, rho, x, lf.A, xcov, None, hp, crit, diag,
                           lf.log_evidence, data, extra)  # fmt: skip

    def _assemble(self, res, pb: ZoningProblem, crit, diag, data) -> PTPathResult:
        e = res.estimate
        mean = e["mean"].values
        sd = e["sd"].values
        cov = e["covariance"].values if "covariance" in e else None
        rho = None if cov is None else cov[:, 0, 1] / np.maximum(sd[:, 0] * sd[:, 1], 1e-300)
        x, A = pb.link(mean)
        if cov is None:
            cov = np.zeros((pb.n, 2, 2))
            cov[:, 0, 0], cov[:, 1, 1] = sd[:, 0] ** 2, sd[:, 1] ** 2
        xcov = np.einsum("nab,nbc,ndc->nad", A, cov, A)
        post = None
        if res.posterior is not None:
            v = res.posterior[next(iter(res.posterior.data_vars))]
            post = path_posterior(
                pb.s, v.sel(channel="T").values, v.sel(channel="P").values, v["chain"].values,
                v["draw"].values, coord="distance", coord_units=self.distance_units,
            )  # fmt: skip
        return self._build(pb, mean, sd, rho, x, A, xcov, post, dict(res.hyperparameters), crit,
                           {**dict(res.diagnostics), **diag}, res.log_evidence, data, {})  # fmt: skip

    def _build(self, pb, mean, sd, rho, x, A, xcov, post, hp, crit, diag, logz, data, extra):
        units = self.distance_units
        est = path_estimate(pb.s, mean, sd, rho, coord="distance", coord_units=units)
        cond = np.linalg.cond(A)
        est["condition_number"] = (
            "node",
            cond,
            {"units": "1", "long_name": "cond of dX/d(T K, P kbar)"},
        )
        xsd = np.sqrt(np.maximum(np.einsum("naa->na", xcov), 0.0))
        obs = {"distance": pb.s}
        comps = {"XPrp": 1, "XGrs": 2}
        for name, j in comps.items():
            obs[f"{name}_observed"] = pb.y[:, j - 1]
            obs[f"{name}_denoised"] = x[:, j]
            obs[f"{name}_sd"] = xsd[:, j - 1]
            obs[f"{name}_q05"] = x[:, j] - Z90 * xsd[:, j - 1]
            obs[f"{name}_q95"] = x[:, j] + Z90 * xsd[:, j - 1]
        obs["XAlm_denoised"] = x[:, 0]
        if pb.sps is not None:
            obs["XSps_observed"] = pb.sps
        observations = pd.DataFrame(obs, index=data.index[pb.order_index])
        tau = float(hp["noise_precision"])
        hyper = {
            "noise_precision": tau,
            "noise_sd": 1.0 / np.sqrt(tau),
            "smoothness_T_per_K2": hp["smoothness"]["T"],
            "smoothness_P_per_kbar2": hp["smoothness"]["P"],
            "order": self.order,
            "chosen_by": "Laplace evidence" if crit is not None else "fixed",
            "assemblage": "+".join(p.name for p in pb.system.phases),
            "anchor": None if self.anchor is None else dict(self.anchor),
            "link": "integrated",
            **extra,
        }
        diagnostics = {**diag, "max_condition_number": float(cond.max())}
        return PTPathResult(
            estimate=est, posterior=post, log_evidence=logz, diagnostics=diagnostics,
            hyperparameters=hyper, criterion=crit,
            metadata=self._metadata(method="ZonedGarnetPTPath", inputs=(data,)),
            observations=observations,
        )  # fmt: skip

    # ------------------------------------------------------------------ baselines and checks
    def gibbs_integration(self, data: pd.DataFrame, *, method: str = "heun") -> pd.DataFrame:
        """Classical (Program Gibbs) path: integrate the Gibbs method along the measured zoning.

        Starts at the anchor (T, P) with the measured composition there and follows the measured
        increments of X_prp and X_grs (and of the matrix, if given per point) with the open-system
        Gibbs method — deterministic, no smoothing and no uncertainty; the baseline the MRF inversion
        improves on.

        Returns
        -------
        pandas.DataFrame
            ``distance``, ``T_C``, ``P_kbar``, ``condition_number`` in traverse order from the anchor.
        """
        pb, anchor = self._problem(data)
        if anchor is None:
            raise ModelError("the Gibbs-method integration needs an anchor (T, P at core or rim)")
        node = self._anchor_node(pb, anchor["at"])
        order = np.arange(pb.n) if node == 0 else np.arange(pb.n)[::-1]
        x = {"grt": pb.observed_full()[node]}
        x.update({k: v[node] for k, v in pb.matrix.items()})
        st = GibbsState(
            float(celsius_to_kelvin(anchor["T_C"])), float(kbar_to_bar(anchor["P_kbar"])), x
        )
        path = {"grt:py": pb.y[order, 0], "grt:gr": pb.y[order, 1]}
        if pb.sps is not None:
            path["grt:spss"] = pb.sps[order]
        for ph, comp in pb.matrix.items():
            em = next(p for p in pb.system.phases if p.name == ph).variables[0]
            path[em] = comp[order, 1]
        gp = integrate(pb.system, st, path, method=method, monitors=["grt:py", "grt:gr"])
        t = gp.table
        out = pd.DataFrame(
            {"distance": pb.s[order], "T_C": t["T_C"].to_numpy(), "P_kbar": t["P_kbar"].to_numpy(),
             "condition_number": t["condition_number"].to_numpy()}
        )  # fmt: skip
        return out.sort_values("distance").reset_index(drop=True)

    def sample_remc(
        self,
        data: pd.DataFrame,
        result: PTPathResult,
        *,
        n_steps: int = 2000,
        n_burn: int | None = None,
        n_temps: int = 3,
        n_chains: int = 4,
        anchor_scale: float = 20.0,
        laplace_proposal: bool = True,
        proposal_scale: float = 1.3,
        random_state: Any = None,
    ):
        r"""Full posterior by replica-exchange MC at the hyperparameters of ``result`` (a check of
        the Laplace approximation).

        Parameters
        ----------
        data : pandas.DataFrame
            The traverse given to :meth:`fit`.
        result : PTPathResult
            The Laplace result of :meth:`fit` on ``data`` (hyperparameters and proposal).
        n_steps : int
            Sweeps kept per chain.
        n_burn : int or None
            Burn-in sweeps (default ``max(500, n_steps // 2)``).
        n_temps : int
            Rungs of the geometric ladder (β from 1e-3 to 1).
        n_chains : int
            Independent chains (R-hat, Monte-Carlo errors).
        anchor_scale : float
            The intrinsic directions of the GMRF prior are made proper by weak anchors centred on
            the Laplace means with SD ``anchor_scale`` × the Laplace SDs (at 20 SD their pull is
            1/400 of the posterior precision).
        laplace_proposal : bool
            Add an independence Metropolis–Hastings move drawing from the Laplace Gaussian (with
            its covariance inflated by ``proposal_scale``²) to every rung; exact for every tempered
            target (the Hastings ratio includes the proposal density). It makes the β = 1 chain
            nearly independent from sweep to sweep when the Laplace approximation is good, and
            rejects (leaving the random walk in charge) where it is not.
        proposal_scale : float
            SD inflation of the Laplace proposal (> 1 keeps its tails heavier than the target's).
        random_state : int, numpy.random.Generator or None
            Seed.

        Returns
        -------
        petroinfer.inference.remc.REMCResult
            Parameters ``T{n}`` (K) and ``P{n}`` (kbar).

        Notes
        -----
        The prior is the GMRF prior of :meth:`fit` (with its thermobarometric anchor, if any) plus
        the weak anchors; the likelihood is the exact Gaussian EPMA likelihood through the
        nonlinear Gibbs link, vectorised over replicas. The Laplace covariance used by the proposal
        is the inverse of :math:`Q + \tau J^T J` at the MAP (the Gauss–Newton Hessian of
        :meth:`fit`). Compare with :meth:`compare_remc`.
        """
        from petroinfer.inference.gmrf import Anchor
        from petroinfer.inference.remc import ReplicaExchange
        from petroinfer.ptpath._path import _prior_functions

        pb, anchor = self._problem(data)
        N = pb.n
        if result.estimate.sizes["node"] != N:
            raise ModelError("result does not belong to these data")
        if not (np.isfinite(proposal_scale) and proposal_scale > 0):
            raise ModelError(f"proposal_scale must be > 0, got {proposal_scale!r}")
        hp = result.hyperparameters
        kappa = (hp["smoothness_T_per_K2"], hp["smoothness_P_per_kbar2"])
        est = result.estimate
        mean2 = np.column_stack([celsius_to_kelvin(est["T_C"].values), est["P_kbar"].values])
        sd2 = np.column_stack([est["T_C_sd"].values, est["P_kbar_sd"].values])
        real = self._anchors(pb, anchor) or []
        pinned = {self._anchor_node(pb, anchor["at"])} if anchor is not None else set()
        weak_nodes = [i for i in (0, N - 1) if i not in pinned][: self.order - len(pinned)]
        weak = [
            Anchor(int(i), float(mean2[i, c]), float(anchor_scale * sd2[i, c]), ch)
            for c, ch in enumerate(("T", "P"))
            for i in weak_nodes
        ]
        log_prior0, prior_sample = _prior_functions(
            path_prior(pb.s, self.order, [*real, *weak]), N, np.asarray(kappa), anchor_scale
        )

        def in_range(th):
            T, P = th[:, :N], th[:, N:]
            return ((T > 300) & (T < 2000) & (P > 0.001) & (P < 40)).all(axis=1)

        def log_prior(theta):
            th = np.atleast_2d(theta)
            return np.where(in_range(th), log_prior0(th), -np.inf)

        sig = hp["noise_sd"]
        y = pb.y
        warm: dict[int, np.ndarray] = {}

        def log_lik(theta):
            th = np.atleast_2d(theta)
            n = th.shape[0]
            ok = np.repeat(in_range(th), N)
            T = th[:, :N].ravel()
            P = th[:, N:].ravel() * 1000.0
            mat = {k: np.tile(v, (n, 1)) for k, v in pb.matrix.items()}
            x0 = warm.get(T.size)
            if x0 is None:
                x0 = np.tile(pb.observed_full(), (n, 1))
            with np.errstate(all="ignore"):
                x, _ = equilibrium_composition(
                    pb.system, pb.state, np.where(ok, T, 800.0), np.where(ok, P, 6000.0),
                    matrix=mat, x0=x0, fixed=("spss",) if pb.sps is not None else (),
                )  # fmt: skip
            good = np.isfinite(x).all(axis=1) & (x > 0).all(axis=1)
            warm[T.size] = np.where(good[:, None], x, np.tile(pb.observed_full(), (n, 1)))
            x = x[:, list(pb.cols[1:])]
            r = (x.reshape(n, N, 2) - y[None]) / sig
            ll = -0.5 * np.sum(r**2, axis=(1, 2)) - 2 * N * np.log(sig * np.sqrt(2 * np.pi))
            # outside the prior's support the value is never used (log_prior = -inf); a failed
            # equilibrium solve is treated as a vanishing likelihood
            return np.where(np.isfinite(ll), ll, -1e10)

        # the Laplace Gaussian at the MAP: Q (prior of fit, with its anchors) + τ JᵀJ, node-major
        Q = (
            path_prior(pb.s, self.order, real or None)
            .precision({"T": kappa[0], "P": kappa[1]})
            .toarray()
        )
        J = pb.jacobian(mean2.ravel()).toarray()
        H = Q + (J.T @ J) / sig**2
        perm = np.concatenate([np.arange(0, 2 * N, 2), np.arange(1, 2 * N, 2)])
        cov = np.linalg.inv(H)[np.ix_(perm, perm)]
        cov = 0.5 * (cov + cov.T)
        mean = np.concatenate([mean2[:, 0], mean2[:, 1]])
        moves = []
        if laplace_proposal:
            moves.append(_laplace_move(mean, cov * proposal_scale**2, log_lik, log_prior))
        rng = np.random.default_rng(random_state)
        init = mean + rng.multivariate_normal(np.zeros(2 * N), cov, size=(n_chains, n_temps)) * 0.5
        sampler = ReplicaExchange(
            log_lik, log_prior, prior_sample, vectorized=True, n_temps=n_temps, beta_min=1e-3,
            n_steps=n_steps, n_burn=n_burn, n_chains=n_chains, proposal_cov=cov, warn=False, moves=moves,
            param_names=[f"T{i}" for i in range(N)] + [f"P{i}" for i in range(N)], random_state=rng,
        )  # fmt: skip
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            return sampler.fit(initial=init)

    @staticmethod
    def compare_remc(result: PTPathResult, remc) -> pd.DataFrame:
        """Laplace against REMC posterior means per node, in Laplace SDs, with Monte-Carlo errors.

        Parameters
        ----------
        result : PTPathResult
            The Laplace result of :meth:`fit`.
        remc : petroinfer.inference.remc.REMCResult
            The result of :meth:`sample_remc` on the same data.

        Returns
        -------
        pandas.DataFrame
            Per node: ``distance``; for ``T_C`` and ``P_kbar`` the Laplace mean and SD, the REMC
            mean and SD, the Monte-Carlo standard error of the REMC mean (batch means per chain,
            combined over chains; Flegal & Jones 2010) and ``*_dz`` = (REMC − Laplace mean) /
            Laplace SD; ``ess_min`` is the smallest bulk ESS over all parameters.
        """
        from petroinfer.inference.diagnostics import batch_means_se

        est = result.estimate
        N = est.sizes["node"]
        th = remc.posterior["theta"]
        out: dict[str, Any] = {"distance": est[next(iter(est.coords.keys() - {"node"}))].values}
        for name, prefix, shift in (("T_C", "T", -CELSIUS_OFFSET), ("P_kbar", "P", 0.0)):
            draws = np.stack(
                [th.sel(param=f"{prefix}{i}").values + shift for i in range(N)], axis=-1
            )  # (chain, draw, node)
            m = draws.mean(axis=(0, 1))
            se = np.array(
                [
                    np.sqrt(sum(batch_means_se(draws[c, :, i]) ** 2 for c in range(draws.shape[0])))
                    / draws.shape[0]
                    for i in range(N)
                ]
            )
            lap, lsd = est[name].values, est[f"{name}_sd"].values
            out.update({f"{name}_laplace": lap, f"{name}_laplace_sd": lsd, f"{name}_remc": m,
                        f"{name}_remc_sd": draws.std(axis=(0, 1), ddof=1), f"{name}_mcse": se,
                        f"{name}_dz": (m - lap) / lsd})  # fmt: skip
        ess = remc.diagnostics.get("ess_bulk_min", np.nan) if remc.diagnostics else np.nan
        df = pd.DataFrame(out)
        df.attrs["ess_bulk_min"] = ess
        return df


def _laplace_move(mean: np.ndarray, cov: np.ndarray, log_lik, log_prior):
    """Independence Metropolis–Hastings move with a Gaussian proposal N(mean, cov), for every rung
    of a replica-exchange chain: accept with min{1, exp[β(ℓ'−ℓ) + log π' − log π + log q(θ) −
    log q(θ')]} (Hastings 1970; Tierney 1994), which leaves each tempered target invariant."""
    L = np.linalg.cholesky(cov)
    Linv = np.linalg.inv(L)

    def log_q(x):
        z = (x - mean) @ Linv.T
        return -0.5 * np.sum(z**2, axis=-1)

    def move(x, betas, ll, lp, rng):
        prop = mean + rng.standard_normal(x.shape) @ L.T
        lpp = log_prior(prop)
        llp = np.full(x.shape[0], -np.inf)
        ok = np.isfinite(lpp)
        if ok.any():
            llp[ok] = log_lik(prop[ok])
        with np.errstate(invalid="ignore"):
            log_a = betas * (llp - ll) + lpp - lp + log_q(x) - log_q(prop)
        acc = ok & (np.log(rng.random(x.shape[0])) < log_a)
        x[acc], ll[acc], lp[acc] = prop[acc], llp[acc], lpp[acc]
        return x, ll, lp

    return move


# ---------------------------------------------------------------------------- synthetic data
def _true_path(kind: str, s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if kind in ("prograde", "fractionating"):
        return 500.0 + 100.0 * s, 5.0 + 5.0 * s - 2.0 * s**2
    if kind == "clockwise":
        return 500.0 + 150.0 * np.sin(0.75 * np.pi * s), 5.0 + 4.0 * np.sin(np.pi * s)
    raise InputError(f"kind must be 'prograde', 'clockwise' or 'fractionating', got {kind!r}")


def synthetic_zoning(
    kind: str = "prograde",
    *,
    n_points: int = 40,
    noise: float = 0.003,
    system: GibbsSystem | None = None,
    matrix: Mapping[str, float] | None = None,
    radius_um: float = 1000.0,
    random_state: Any = None,
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, float]]:
    """A noisy garnet zoning profile forward-modelled by the Gibbs method along a known P–T path.

    Parameters
    ----------
    kind : {"prograde", "clockwise", "fractionating"}
        ``prograde``: the gibbs notes §B.1 path (500 → 600 °C, 5 → 8 kbar) with the matrix fixed;
        ``clockwise``: a loop (P peaks before T) with the matrix fixed; ``fractionating``: the §B.1
        path in the closed, fractionating ds62 Grt–Bt–Ms–Pl–Ky–Qtz system of the gibbs notes §B.2
        (modes Bt 1, Ms 1, Pl 0.5, Ky 1, Qtz 5 mol; garnet shells removed from the reactive bulk;
        ``system`` is ignored; the evolving matrix is returned per point as ``Bt_XMg``, ``Pl_XAn``
        columns; the distance is the predicted radius of one spherical grain). Invert it with the
        default ds62 ``grt-bt-pl-ky-qtz`` assemblage.
    n_points : int
        Traverse points (≥ 3).
    noise : float
        EPMA noise SD in mole fraction, added to X_prp and X_grs (X_alm closes the sum).
    system : GibbsSystem, optional
        Open-mode system (default :func:`~petroinfer.thermo.gibbs.toy_open_system`).
    matrix : mapping, optional
        ``{"Bt_XMg", "Pl_XAn"}`` at the core (default 0.40 and 0.30).
    radius_um : float
        Garnet radius (µm) = distance of the rim.
    random_state : int, numpy.random.Generator or None
        Seed of the noise.

    Returns
    -------
    data : pandas.DataFrame
        ``distance`` (µm, core → rim) and ``Grt_XAlm, Grt_XPrp, Grt_XGrs`` (noisy).
    truth : pandas.DataFrame
        ``distance, T_C, P_kbar`` and the noise-free fractions.
    matrix : dict
        The matrix side table used.
    """
    if int(n_points) < 3:
        raise InputError(f"n_points must be ≥ 3, got {n_points!r}")
    if not (np.isfinite(noise) and noise >= 0):
        raise InputError(f"noise must be ≥ 0, got {noise!r}")
    rng = np.random.default_rng(random_state)
    system = system if system is not None else toy_open_system()
    mat = {"Bt_XMg": 0.40, "Pl_XAn": 0.30, **dict(matrix or {})}
    s = np.linspace(0.0, 1.0, int(n_points))
    T_C, P_kbar = _true_path(kind, s)
    st = GibbsState(
        float(celsius_to_kelvin(T_C[0])), float(kbar_to_bar(P_kbar[0])),
        {"grt": np.array([0.8, 0.1, 0.1]), "bt": np.array([1 - mat["Bt_XMg"], mat["Bt_XMg"]]),
         "pl": np.array([1 - mat["Pl_XAn"], mat["Pl_XAn"]])},
    )  # fmt: skip
    extra: dict[str, np.ndarray] = {}
    distance = radius_um * s
    if kind == "fractionating":
        from dataclasses import replace

        # §B.2: closed Grt–Bt–Ms–Pl–Ky–Qtz (ds62), garnet shells removed from the reactive bulk
        opened = metapelite_system("grt-bt-ms-pl-ky-qtz")
        st = opened.reproject(st, ["T", "P", "pl:an"])
        frac = opened.with_mode("fractionating")
        st = replace(st, moles={"grt": 0.0, "bt": 1.0, "ms": 1.0, "pl": 0.5, "ky": 1.0, "q": 5.0})
        st = frac.with_bulk(st)
        gp = integrate(frac, st, {"T": celsius_to_kelvin(T_C), "P": kbar_to_bar(P_kbar)}, reproject=True,
                       monitors=[])  # fmt: skip
        t = gp.table
        x = t[["grt:alm", "grt:py", "grt:gr"]].to_numpy()
        extra = {"Bt_XMg": t["bt:phl"].to_numpy(), "Pl_XAn": t["pl:an"].to_numpy()}
        r = np.cbrt(np.maximum(t["grown"].to_numpy(), 0.0))
        if r[-1] > 0 and np.all(np.diff(r) > 0):
            distance = radius_um * r / r[-1]
        mat = {"Bt_XMg": float(extra["Bt_XMg"][0]), "Pl_XAn": float(extra["Pl_XAn"][0])}
    else:
        x, _ = equilibrium_composition(system, st, celsius_to_kelvin(T_C), kbar_to_bar(P_kbar))
    noisy = x[:, 1:] + noise * rng.standard_normal((s.size, 2))
    noisy = np.clip(noisy, 1e-4, None)
    data = pd.DataFrame(
        {"distance": distance, "Grt_XAlm": 1.0 - noisy.sum(axis=1), "Grt_XPrp": noisy[:, 0],
         "Grt_XGrs": noisy[:, 1], **extra}
    )  # fmt: skip
    truth = pd.DataFrame(
        {"distance": distance, "T_C": T_C, "P_kbar": P_kbar, "Grt_XAlm": x[:, 0],
         "Grt_XPrp": x[:, 1], "Grt_XGrs": x[:, 2]}
    )  # fmt: skip
    return data, truth, {k: float(v) for k, v in mat.items()}
