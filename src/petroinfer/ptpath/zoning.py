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
    anchored_path_prior,
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
from petroinfer.units import celsius_to_kelvin, kbar_to_bar

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

    def _model(self, pb: ZoningProblem, anchor, x0: np.ndarray):
        from petroinfer.inference.gmrf import Anchor, NonlinearGMRF

        anchors = None
        if anchor is not None:
            node = self._anchor_node(pb, anchor["at"])
            anchors = [
                Anchor(node, float(celsius_to_kelvin(anchor["T_C"])), anchor["sd_T"], "T"),
                Anchor(node, anchor["P_kbar"], anchor["sd_P"], "P"),
            ]
        prior = path_prior(pb.s, self.order, anchors)
        fixed = dict(self.smoothness or {})
        return NonlinearGMRF(
            prior, pb.forward, pb.jacobian, noise_precision=self.noise_precision,
            smoothness={"T": fixed.get("T"), "P": fixed.get("P")}, x0=x0, n_samples=self.n_samples,
            random_state=self.random_state,
        )  # fmt: skip

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
            search, crit = evidence_search(model, y, start=start, x0=x0, decades=5.0)
            model.set_params(**search.hyperparameters)
            diag = {
                "evidence_search_converged": bool(search.converged),
                "evidence_search_at_bound": list(search.at_bound),
                "evidence_evaluations": int(search.n_evaluations),
            }
        res = fit_quietly(model, y, x0)
        return self._assemble(res, pb, crit, diag, data)

    def _assemble(self, res, pb: ZoningProblem, crit, diag, data) -> PTPathResult:
        e = res.estimate
        mean = e["mean"].values
        sd = e["sd"].values
        cov = e["covariance"].values if "covariance" in e else None
        rho = None if cov is None else cov[:, 0, 1] / np.maximum(sd[:, 0] * sd[:, 1], 1e-300)
        units = self.distance_units
        est = path_estimate(pb.s, mean, sd, rho, coord="distance", coord_units=units)
        x, A = pb.link(mean)
        cond = np.linalg.cond(A)
        est["condition_number"] = (
            "node",
            cond,
            {"units": "1", "long_name": "cond of dX/d(T K, P kbar)"},
        )
        if cov is None:
            cov = np.zeros((pb.n, 2, 2))
            cov[:, 0, 0], cov[:, 1, 1] = sd[:, 0] ** 2, sd[:, 1] ** 2
        xcov = np.einsum("nab,nbc,ndc->nad", A, cov, A)
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
        observations = pd.DataFrame(obs, index=data.index[pb.order_index])
        post = None
        if res.posterior is not None:
            v = res.posterior[next(iter(res.posterior.data_vars))]
            post = path_posterior(
                pb.s, v.sel(channel="T").values, v.sel(channel="P").values, v["chain"].values,
                v["draw"].values, coord="distance", coord_units=units,
            )  # fmt: skip
        hp = dict(res.hyperparameters)
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
        }
        diagnostics = {**dict(res.diagnostics), **diag, "max_condition_number": float(cond.max())}
        return PTPathResult(
            estimate=est, posterior=post, log_evidence=res.log_evidence, diagnostics=diagnostics,
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
        x = {"grt": np.concatenate([[1 - pb.y[node].sum()], pb.y[node]])}
        x.update({k: v[node] for k, v in pb.matrix.items()})
        st = GibbsState(
            float(celsius_to_kelvin(anchor["T_C"])), float(kbar_to_bar(anchor["P_kbar"])), x
        )
        path = {"grt:py": pb.y[order, 0], "grt:gr": pb.y[order, 1]}
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
        n_temps: int = 8,
        n_chains: int = 2,
        anchor_scale: float = 20.0,
        random_state: Any = None,
    ):
        """Full posterior by replica-exchange MC at the hyperparameters of ``result`` (a check of
        the Laplace approximation).

        The prior is the GMRF prior of :meth:`fit`, made proper by weak anchors (see
        :func:`petroinfer.ptpath._path.anchored_path_prior`); the likelihood is the exact Gaussian
        EPMA likelihood through the nonlinear Gibbs link, vectorised over replicas.

        Returns
        -------
        petroinfer.inference.remc.REMCResult
            Parameters ``T{n}`` (K) and ``P{n}`` (kbar).
        """
        from petroinfer.inference.remc import ReplicaExchange

        pb, _anchor = self._problem(data)
        N = pb.n
        if result.estimate.sizes["node"] != N:
            raise ModelError("result does not belong to these data")
        hp = result.hyperparameters
        kappa = (hp["smoothness_T_per_K2"], hp["smoothness_P_per_kbar2"])
        log_prior0, prior_sample = anchored_path_prior(
            pb.s, self.order, result.estimate, kappa, anchor_scale
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
            with np.errstate(all="ignore"):
                x, _ = equilibrium_composition(
                    pb.system,
                    pb.state,
                    np.where(ok, T, 800.0),
                    np.where(ok, P, 6000.0),
                    matrix=mat,
                    x0=x0,
                )
            good = np.isfinite(x).all(axis=1) & (x > 0).all(axis=1)
            warm[T.size] = np.where(good[:, None], x, np.broadcast_to(pb.state.x["grt"], x.shape))
            r = (x[:, 1:].reshape(n, N, 2) - y[None]) / sig
            ll = -0.5 * np.sum(r**2, axis=(1, 2)) - 2 * N * np.log(sig * np.sqrt(2 * np.pi))
            # outside the prior's support the value is never used (log_prior = -inf); a failed
            # equilibrium solve is treated as a vanishing likelihood
            return np.where(np.isfinite(ll), ll, -1e10)

        mean = np.concatenate(
            [celsius_to_kelvin(result.estimate["T_C"].values), result.estimate["P_kbar"].values]
        )
        sd = np.concatenate([result.estimate["T_C_sd"].values, result.estimate["P_kbar_sd"].values])
        if result.posterior is not None:
            dT = result.posterior["T_C"].values.reshape(-1, N)
            dP = result.posterior["P_kbar"].values.reshape(-1, N)
            cov = np.cov(np.hstack([dT, dP]).T) + 1e-12 * np.diag(sd**2)
        else:
            cov = np.diag(sd**2)
        rng = np.random.default_rng(random_state)
        init = mean + rng.multivariate_normal(np.zeros(2 * N), cov, size=(n_chains, n_temps)) * 0.5
        sampler = ReplicaExchange(
            log_lik, log_prior, prior_sample, vectorized=True, n_temps=n_temps, beta_min=1e-3,
            n_steps=n_steps, n_chains=n_chains, proposal_cov=cov, warn=False,
            param_names=[f"T{i}" for i in range(N)] + [f"P{i}" for i in range(N)], random_state=rng,
        )  # fmt: skip
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            return sampler.fit(initial=init)


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
