"""Bayesian (GMRF / Markov-random-field) P–T paths from inclusion thermobarometry in a zoned garnet.

After Kuwatani et al. (2018, J. Mineral. Petrol. Sci. 113:82–95): P and T are unknown at nodes along the
garnet radius (core → rim) and vary smoothly (intrinsic GMRF prior along the radius); every biotite or
plagioclase inclusion, with the host-garnet composition at its position, is one equilibrium datum.
The full text of the paper was not available; the model below is a reconstruction [R] consistent with
its abstract and standard theory (``pt_paths.md`` §2.3).

Notes
-----
State: x_n = (T_n [K], P_n [kbar]) at radii r_n. Datum k at radius ρ_k sees the linear interpolation
θ_k = Σ_n w_kn x_n. Observation (residual form, dimensionless)::

    0 = g_k(θ_k) + e_k,   g_k = [ΔG°(T, P) + R T ln K(c_k) + Σ ν μ_ex] / (R T),   e_k ~ N(0, σ_k² / τ)

i.e. ln K_obs − ln K_model(T, P) for the Grt–Bt exchange (biotite inclusions) or GASP (plagioclase
inclusions) reaction, with σ_k propagated linearly from the analytical SDs of the six mole fractions.
Prior: first- (or second-) order random walk in r for T and for P with smoothness precisions κ_T, κ_P
scaled by the node spacing (:class:`~petroinfer.inference.gmrf.ChainPrior`). The MAP is found by
Levenberg–Marquardt (Gauss–Newton), the posterior is the Laplace approximation, and (κ_T, κ_P) — and
optionally τ — maximise the Laplace evidence (:class:`~petroinfer.inference.gmrf.NonlinearGMRF`). The
Laplace posterior can be checked by replica-exchange MC (:meth:`InclusionPTPath.sample_remc`).
A Student-t likelihood (re-equilibrated inclusions) is fitted by iteratively reweighted least squares
(weights (ν + 1)/(ν + z²)), the standard EM/IRLS scheme for t errors (Lange, Little & Taylor 1989).

References
----------
Kuwatani T., Nagata K., Yoshida K., Okada M., Toriumi M. (2018) J. Mineral. Petrol. Sci. 113:82–95.
Rue H., Held L. (2005) Gaussian Markov Random Fields. Chapman & Hall.
Lange K.L., Little R.J.A., Taylor J.M.G. (1989) J. Am. Stat. Assoc. 84:881–896.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp
import xarray as xr

from petroinfer._rng import RandomState, as_generator
from petroinfer.errors import ConvergenceWarning, DataQualityWarning, InputError, ModelError
from petroinfer.inference.results import Result, make_metadata
from petroinfer.thermo import (
    COMPOSITION_COLUMNS,
    barometer,
    mineral_fractions,
    solve_pt,
    thermometer,
)
from petroinfer.units import GAS_CONSTANT

__all__ = [
    "InclusionPTPath",
    "PTPathResult",
    "compare_calibrations",
    "pointwise_pt",
    "sparse_data_experiment",
    "synthetic_inclusions",
]

_Z95 = 1.6448536269514722
_KINDS = {"biotite": "biotite", "bt": "biotite", "plagioclase": "plagioclase", "pl": "plagioclase",
          "plag": "plagioclase"}  # fmt: skip


# ============================================================================ result
@dataclass(frozen=True)
class PTPathResult(Result):
    """Result of :meth:`InclusionPTPath.fit`.

    ``estimate`` (dim ``node``, coordinate ``radius``) holds ``T_C`` and ``P_kbar`` posterior means,
    ``*_sd``, ``*_q05``/``*_q95`` (90 % band) and ``rho_TP``; ``posterior`` holds draws ``T_C`` and
    ``P_kbar`` with dims ``(chain, draw, node)``; ``observations`` the per-inclusion table (radius,
    kind, σ, standardised residual, weight).
    """

    observations: pd.DataFrame | None = None

    def summary(self, hdi_prob: float = 0.9) -> pd.DataFrame:
        """The path table: one row per node."""
        return self.estimate.to_dataframe().drop(columns=["node"], errors="ignore")

    def plot(self, ax=None, kind: str = "pt"):
        """``kind="pt"``: P–T diagram with the 90 % band and ds62 Al2SiO5 boundaries; ``"radius"``: T and P
        against radius (two axes)."""
        import matplotlib.pyplot as plt

        e = self.estimate
        r = e["radius"].values
        if kind == "radius":
            if ax is None:
                _, ax = plt.subplots(2, 1, figsize=(5.5, 5), sharex=True)
            for a, v, lab in zip(ax, ("T_C", "P_kbar"), ("T (°C)", "P (kbar)"), strict=True):
                a.fill_between(r, e[f"{v}_q05"], e[f"{v}_q95"], alpha=0.3, label="90 % band")
                a.plot(r, e[v], lw=1.5, label="posterior mean")
                a.set_ylabel(lab)
            ax[-1].set_xlabel("radius")
            ax[0].legend(fontsize="small")
            return ax
        from petroinfer.cli.thermobar import al2sio5_lines

        if ax is None:
            _, ax = plt.subplots(figsize=(5.5, 4.2))
        if self.posterior is not None:
            t = self.posterior["T_C"].values.reshape(-1, r.size)
            p = self.posterior["P_kbar"].values.reshape(-1, r.size)
            for i in range(0, t.shape[0], max(1, t.shape[0] // 60)):
                ax.plot(t[i], p[i], color="0.6", lw=0.4, alpha=0.4)
        ax.errorbar(
            e["T_C"],
            e["P_kbar"],
            xerr=_Z95 * e["T_C_sd"],
            yerr=_Z95 * e["P_kbar_sd"],
            fmt="o-",
            ms=2.5,
            lw=1.0,
            elinewidth=0.5,
            label="posterior mean ± 90 %",
        )
        ax.plot(e["T_C"][0], e["P_kbar"][0], "gs", label="core")
        tmin, tmax = float(np.min(e["T_C_q05"])) - 30, float(np.max(e["T_C_q95"])) + 30
        pmin, pmax = float(np.min(e["P_kbar_q05"])) - 1, float(np.max(e["P_kbar_q95"])) + 1
        for name, (tt, pp) in al2sio5_lines().items():
            ax.plot(tt, pp, "k-", lw=0.7)
            ax.annotate(name, (tt[len(tt) // 2], pp[len(pp) // 2]), fontsize=7)
        ax.set_xlim(tmin, tmax)
        ax.set_ylim(max(pmin, 0), pmax)
        ax.set_xlabel("T (°C)")
        ax.set_ylabel("P (kbar)")
        ax.legend(fontsize="small", loc="best")
        return ax


# ============================================================================ input
def _prepare(data: pd.DataFrame, sigma) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """radius (m,), is_biotite (m,), compositions (m, 6), analytical SDs (m, 6)."""
    if not isinstance(data, pd.DataFrame):
        raise InputError("inclusion data must be a pandas DataFrame", value=type(data).__name__)
    for col in ("radius", "inclusion"):
        if col not in data.columns:
            raise InputError(
                "missing column (needs radius, inclusion, host-garnet and inclusion compositions)",
                column=col,
            )
    if len(data) < 3:
        raise InputError(f"need at least 3 inclusions, got {len(data)}")
    rad = pd.to_numeric(data["radius"], errors="coerce").to_numpy(dtype=float)
    bad = np.flatnonzero(~np.isfinite(rad))
    if bad.size:
        i = int(bad[0])
        raise InputError(
            "radius must be a finite number",
            column="radius",
            row=data.index[i],
            value=data["radius"].iloc[i],
        )
    dec = np.flatnonzero(np.diff(rad) < 0)
    if dec.size:
        i = int(dec[0]) + 1
        raise InputError(
            "radius is not monotone: rows must be ordered core → rim (non-decreasing radius)",
            column="radius",
            row=data.index[i],
            value=float(rad[i]),
        )
    kinds = data["inclusion"].astype(str).str.strip().str.lower()
    unknown = ~kinds.isin(list(_KINDS))
    if unknown.any():
        i = int(np.flatnonzero(unknown.to_numpy())[0])
        raise InputError(
            "inclusion must be 'biotite' or 'plagioclase'",
            column="inclusion",
            row=data.index[i],
            value=data["inclusion"].iloc[i],
        )
    is_bt = kinds.map(_KINDS).to_numpy() == "biotite"
    full = data.copy()
    for col, mask in (("Bt_XMg", ~is_bt), ("Pl_XAn", is_bt)):
        if col not in full.columns:
            if (~mask).any():
                raise InputError(
                    f"missing column {col} for {'biotite' if col == 'Bt_XMg' else 'plagioclase'} "
                    "inclusions",
                    column=col,
                )
            full[col] = 0.5
        else:
            full[col] = full[col].astype(object).where(~mask, 0.5)
    fr = mineral_fractions(full)
    c = fr[list(COMPOSITION_COLUMNS)].to_numpy(dtype=float)
    sig = np.empty_like(c)
    for j, col in enumerate(COMPOSITION_COLUMNS):
        if f"{col}_sd" in data.columns:
            sig[:, j] = pd.to_numeric(data[f"{col}_sd"], errors="coerce").to_numpy(dtype=float)
        else:
            sig[:, j] = sigma.get(col, 0.005) if isinstance(sigma, dict) else float(sigma)
    if np.any(~np.isfinite(sig) | (sig < 0)):
        raise InputError("analytical SDs must be finite and >= 0", column="*_sd")
    sig[is_bt, 5] = 0.0
    sig[~is_bt, 4] = 0.0
    return rad, is_bt, c, sig


# ============================================================================ model
class InclusionPTPath:
    """P–T path along a garnet radius from biotite and plagioclase inclusions (GMRF prior, Laplace posterior).

    Parameters
    ----------
    nodes:
        Node radii (strictly increasing, core → rim, covering all inclusions). Default: ``n_nodes``
        equally spaced between the first and last inclusion.
    n_nodes:
        Number of nodes when ``nodes`` is not given (default: number of distinct inclusion radii,
        clipped to 8–60).
    order:
        1 (random walk, penalises slope) or 2 (penalises curvature) in T and P.
    thermometer, barometer, polymorph, garnet_model, plagioclase_model:
        Calibrations (see :func:`petroinfer.thermo.thermobarometry`).
    sigma:
        Analytical 1σ of each mole fraction where no ``<column>_sd`` column is given.
    likelihood:
        ``"gaussian"`` or ``"student_t"`` (robust to re-equilibrated inclusions; ``nu`` dof).
    estimate_noise:
        Also estimate a global noise precision τ by evidence (default False: the propagated σ_k are
        trusted).
    smoothness:
        Fixed ``{"T": κ_T, "P": κ_P}`` (K⁻², kbar⁻² per unit radius); default chosen by evidence.
    n_samples:
        Laplace posterior draws stored in the result.
    random_state:
        Seed for the draws.

    Examples
    --------
    >>> from petroinfer.ptpath import InclusionPTPath, synthetic_inclusions
    >>> data, truth = synthetic_inclusions(n_nodes=10, random_state=0)
    >>> res = InclusionPTPath(nodes=truth["radius"].to_numpy(), random_state=0).fit(data)
    >>> bool(abs(res.estimate["T_C"] - truth["T_C"].to_numpy()).max() < 40)
    True
    """

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
        self.random_state = random_state

    # ---------------------------------------------------------------- setup
    def _validate(self) -> None:
        if self.order not in (1, 2):
            raise ModelError(f"order must be 1 or 2, got {self.order!r}")
        if self.likelihood not in ("gaussian", "student_t"):
            raise ModelError(
                f"likelihood must be 'gaussian' or 'student_t', got {self.likelihood!r}"
            )
        if not (np.isfinite(self.nu) and self.nu > 0):
            raise ModelError(f"nu must be > 0, got {self.nu!r}")
        if self.smoothness is not None and not (
            isinstance(self.smoothness, dict) and set(self.smoothness) <= {"T", "P"}
        ):
            raise ModelError("smoothness must be a dict with keys 'T' and/or 'P'")

    def _equilibria(self):
        return (
            thermometer(self.thermometer),
            barometer(self.barometer, self.polymorph, self.garnet_model, self.plagioclase_model),
        )

    def _node_positions(self, rad: np.ndarray) -> np.ndarray:
        if self.nodes is not None:
            s = np.asarray(self.nodes, dtype=float)
            if s.ndim != 1 or s.size < self.order + 1:
                raise InputError(
                    f"nodes must be a 1-D array of at least {self.order + 1} radii", column="nodes"
                )
            bad = np.flatnonzero(np.diff(s) <= 0)
            if bad.size:
                raise InputError(
                    "nodes must be strictly increasing (core → rim)",
                    column="nodes",
                    row=int(bad[0]) + 1,
                    value=float(s[bad[0] + 1]),
                )
            if rad.min() < s[0] - 1e-12 or rad.max() > s[-1] + 1e-12:
                raise InputError(
                    f"inclusion radii must lie within the nodes [{s[0]}, {s[-1]}]", column="radius"
                )
            return s
        n = self.n_nodes or int(np.clip(np.unique(rad).size, 8, 60))
        if rad.max() <= rad.min():
            raise InputError(
                "inclusions span no radius range; give nodes explicitly", column="radius"
            )
        return np.linspace(rad.min(), rad.max(), int(n))

    def _problem(self, data: pd.DataFrame):
        self._validate()
        rad, is_bt, c, sig = _prepare(data, self.sigma)
        teq, beq = self._equilibria()
        s = self._node_positions(rad)
        W = sp.csr_matrix(_interp(s, rad))
        return _Problem(rad, is_bt, c, sig, teq, beq, s, W)

    def _chain_prior(self, pb: _Problem, anchors=None):
        """The GMRF prior on (T, P) along the nodes: the one object that :meth:`fit` (intrinsic, no
        anchors) and :meth:`sample_remc` (with weak node anchors) both build their precision from."""
        from petroinfer.inference.gmrf import ChainPrior

        return ChainPrior(pb.s, order=self.order, channels=("T", "P"), anchors=anchors)

    # ---------------------------------------------------------------- fit
    def fit(self, data: pd.DataFrame) -> PTPathResult:
        """Infer the path: MAP, Laplace posterior and evidence-chosen smoothness.

        Parameters
        ----------
        data:
            One row per inclusion, ordered core → rim: ``radius``, ``inclusion`` (biotite | plagioclase),
            host-garnet ``Grt_XAlm, Grt_XPrp, Grt_XGrs, Grt_XSps`` (or prefixed oxides), ``Bt_XMg`` for
            biotite and ``Pl_XAn`` for plagioclase rows; optional ``<column>_sd``.
        """
        pb = self._problem(data)
        prior = self._chain_prior(pb)
        x0 = pb.start()
        sigma_k = pb.sigma_k(x0)
        weights = np.ones(pb.m)
        n_irls = 1 if self.likelihood == "gaussian" else 8
        res = None
        for it in range(n_irls):
            theta, crit = self._choose_hyperparameters(prior, pb, sigma_k / np.sqrt(weights), x0)
            res = self._gmrf(prior, pb, sigma_k / np.sqrt(weights), x0, theta, self.n_samples)
            x0 = res.estimate["mean"].values
            if self.likelihood == "student_t":
                z = res.estimate["residual"].values / sigma_k
                new = (self.nu + 1.0) / (self.nu + z**2)
                if it > 0 and np.max(np.abs(new - weights)) < 1e-3:
                    weights = new
                    break
                weights = new
        res = _replace_criterion(res, crit)
        return self._assemble(res, pb, sigma_k, weights, data)

    def _gmrf(self, prior, pb, noise_scale, x0, theta, n_samples):
        from petroinfer.inference.gmrf import NonlinearGMRF

        tau = float(np.exp(theta[2])) if self.estimate_noise else 1.0
        model = NonlinearGMRF(
            prior, pb.forward, pb.jacobian, noise_precision=tau,
            smoothness={"T": float(np.exp(theta[0])), "P": float(np.exp(theta[1]))},
            noise_scale=noise_scale, x0=x0, n_samples=n_samples, random_state=self.random_state,
        )  # fmt: skip
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DataQualityWarning)
            warnings.simplefilter("ignore", ConvergenceWarning)
            return model.fit(np.zeros(pb.m))

    def _choose_hyperparameters(self, prior, pb, noise_scale, x0):
        """Maximise the Laplace evidence over (ln κ_T, ln κ_P[, ln τ]) by Nelder–Mead from a
        scale-based start (κ such that the prior SD over the whole radius is 60 K and 2 kbar).

        Uses :class:`~petroinfer.inference.gmrf.NonlinearGMRF` at fixed hyperparameters for each
        evidence evaluation (warm-started MAP); fixed values in ``smoothness`` are not optimised.
        """
        from scipy.optimize import minimize

        L = float(pb.s[-1] - pb.s[0]) or 1.0
        scale = L ** (2 * self.order - 1)
        start = np.log([scale / 60.0**2, scale / 2.0**2, 1.0])
        fixed = {0: (self.smoothness or {}).get("T"), 1: (self.smoothness or {}).get("P")}
        free = [k for k in (0, 1) if fixed[k] is None] + ([2] if self.estimate_noise else [])
        for k, v in fixed.items():
            if v is not None:
                start[k] = np.log(float(v))
        state = {"x": x0}
        trace: list[tuple[np.ndarray, float]] = []

        def full(z):
            th = start.copy()
            th[free] = z
            return th

        def neg(z):
            th = full(z)
            try:
                r = self._gmrf(prior, pb, noise_scale, state["x"], th, 0)
            except ModelError:
                trace.append((th, -np.inf))
                return 1e300
            val = float(r.log_evidence)
            if r.diagnostics.get("map_converged", True):
                state["x"] = r.estimate["mean"].values
            trace.append((th, val))
            return -val

        if free:
            z0 = start[free]
            # coarse scan of the common scale (decades), then Nelder–Mead in log space
            best = (neg(z0), 0.0)
            for step in np.log(10.0) * np.array([-2.0, -1.0, 1.0, 2.0]):
                v = neg(z0 + step)
                if v < best[0]:
                    best = (v, step)
            z0 = z0 + best[1]
            simplex = np.vstack([z0] + [z0 + 1.2 * np.eye(len(free))[k] for k in range(len(free))])
            opt = minimize(
                neg,
                z0,
                method="Nelder-Mead",
                options={"initial_simplex": simplex, "xatol": 0.1, "fatol": 0.01, "maxiter": 120},
            )
            theta = full(opt.x)
        else:
            theta = start
        ths = np.array([t for t, _ in trace]) if trace else np.empty((0, 3))
        crit = xr.Dataset(
            {"log_evidence": ("evaluation", np.array([v for _, v in trace])),
             "smoothness_T": ("evaluation", np.exp(ths[:, 0]) if len(ths) else []),
             "smoothness_P": ("evaluation", np.exp(ths[:, 1]) if len(ths) else []),
             "noise_precision": ("evaluation", np.exp(ths[:, 2]) if len(ths) and self.estimate_noise else np.ones(len(ths)))},
            attrs={"criterion": "Laplace log evidence (nats)", "method": "decade scan + Nelder-Mead in log space"},
        )  # fmt: skip
        return theta, crit

    def _assemble(self, res, pb: _Problem, sigma_k, weights, data) -> PTPathResult:
        e = res.estimate
        mean = e["mean"].values
        sd = e["sd"].values
        cov = e["covariance"].values if "covariance" in e else None
        rho = (
            cov[:, 0, 1] / np.maximum(sd[:, 0] * sd[:, 1], 1e-300)
            if cov is not None
            else np.full(len(pb.s), np.nan)
        )
        T_c, P_k = mean[:, 0] - 273.15, mean[:, 1]
        est = xr.Dataset(
            {
                "T_C": ("node", T_c), "T_C_sd": ("node", sd[:, 0]),
                "T_C_q05": ("node", T_c - _Z95 * sd[:, 0]), "T_C_q95": ("node", T_c + _Z95 * sd[:, 0]),
                "P_kbar": ("node", P_k), "P_kbar_sd": ("node", sd[:, 1]),
                "P_kbar_q05": ("node", P_k - _Z95 * sd[:, 1]), "P_kbar_q95": ("node", P_k + _Z95 * sd[:, 1]),
                "rho_TP": ("node", rho),
            },
            coords={"node": np.arange(len(pb.s)), "radius": ("node", pb.s)},
            attrs={"T_units": "degC", "P_units": "kbar"},
        )  # fmt: skip
        post = None
        if res.posterior is not None:
            x = res.posterior[next(iter(res.posterior.data_vars))]
            post = xr.Dataset(
                {"T_C": (("chain", "draw", "node"), x.sel(channel="T").values - 273.15),
                 "P_kbar": (("chain", "draw", "node"), x.sel(channel="P").values)},
                coords={"chain": x["chain"].values, "draw": x["draw"].values, "node": np.arange(len(pb.s)),
                        "radius": ("node", pb.s)},
            )  # fmt: skip
        obs = pd.DataFrame(
            {"radius": pb.rad, "inclusion": np.where(pb.is_bt, "biotite", "plagioclase"), "sigma_lnK": sigma_k,
             "standardised_residual": e["residual"].values / sigma_k, "weight": weights},
            index=data.index,
        )  # fmt: skip
        hp = dict(res.hyperparameters)
        hyper = {
            "smoothness_T_per_K2": hp["smoothness"]["T"], "smoothness_P_per_kbar2": hp["smoothness"]["P"],
            "noise_precision": hp["noise_precision"], "order": self.order,
            "chosen_by": "fixed" if self.smoothness and set(self.smoothness) == {"T", "P"} and not self.estimate_noise
            else "Laplace evidence",
            "thermometer": self.thermometer, "barometer": f"{self.barometer}-{self.polymorph}",
            "likelihood": self.likelihood, "nu": self.nu if self.likelihood == "student_t" else None,
        }  # fmt: skip
        diag = dict(res.diagnostics)
        diag["n_biotite"] = int(pb.is_bt.sum())
        diag["n_plagioclase"] = int((~pb.is_bt).sum())
        meta = make_metadata(
            random_state=self.random_state,
            method="InclusionPTPath",
            inputs=(data,),
            parameters=self.get_params(),
        )
        return PTPathResult(
            estimate=est,
            posterior=post,
            log_evidence=res.log_evidence,
            diagnostics=diag,
            hyperparameters=hyper,
            criterion=res.criterion,
            metadata=meta,
            observations=obs,
        )

    def get_params(self) -> dict:
        """Constructor parameters (scikit-learn style)."""
        keys = ("nodes", "n_nodes", "order", "thermometer", "barometer", "polymorph", "garnet_model",
                "plagioclase_model", "sigma", "likelihood", "nu", "estimate_noise", "smoothness", "n_samples",
                "random_state")  # fmt: skip
        out = {k: getattr(self, k) for k in keys}
        if out["nodes"] is not None:
            out["nodes"] = np.asarray(out["nodes"]).tolist()
        return out

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
    ):
        """Full posterior by replica-exchange MC at the hyperparameters of ``result`` (order 1 or 2).

        The log prior is the GMRF prior of :meth:`fit` — the precision ``Q = R ⊗ diag(κ_T, κ_P)`` of the
        same :class:`~petroinfer.inference.gmrf.ChainPrior` (irregular spacing, Lindgren & Rue 2008),
        evaluated from its increments for all replicas at once. That prior is intrinsic: its null
        space (per channel the level for order 1; level and linear trend for order 2) is flat, which
        the Laplace fit handles through the generalised determinant because the data fix those
        directions. REMC cannot: its β = 0 rung draws from the prior and the hot rungs would wander
        along the flat directions. The prior is therefore made proper with ``order`` weak
        :class:`~petroinfer.inference.gmrf.Anchor` s per channel (the core node; for order 2 also
        the rim node), centred on the Laplace mean with SD ``anchor_scale`` × the Laplace SD there.
        This changes the β = 1 posterior by a fraction ≈ 1/anchor_scale² of its variance.

        Returns
        -------
        :class:`~petroinfer.inference.remc.REMCResult`; parameters ``T{n}`` (K) and ``P{n}`` (kbar).
        """
        from petroinfer.inference.remc import ReplicaExchange

        if self.order not in (1, 2):
            raise ModelError(f"order must be 1 or 2, got {self.order!r}")
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
            [result.estimate["T_C"].values + 273.15, result.estimate["P_kbar"].values]
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


def _remc_prior(model: InclusionPTPath, pb: _Problem, result: PTPathResult, anchor_scale: float):
    r"""Proper (anchored) version of the fit's GMRF prior for REMC: ``(log_prior, prior_sample)``.

    Parameters are ordered ``(T_0..T_{N-1} [K], P_0..P_{N-1} [kbar])``; the prior's internal state is
    node-major interleaved ``(T_0, P_0, T_1, ...)``. The density is

    .. math:: \log p(x) = -\tfrac12 \big[\textstyle\sum_j w_j z_j^T K z_j
              + \sum_a \lambda_a (x_a - \mu_a)^2\big] + \tfrac12 \log|Q| - N \log 2\pi,

    with increments ``z = B x`` (``R = B^T diag(w) B``: first differences / h for order 1, the
    Lindgren–Rue second-difference operator for order 2), ``K = diag(κ_T, κ_P)``, anchor precisions
    ``λ_a`` and ``log|Q|`` from the same :class:`~petroinfer.inference.gmrf.ChainPrior`; exact draws
    are ``x = Q^{-1} Λ μ + L^{-T} ε`` with the banded Cholesky factor ``L`` of ``Q`` (Rue & Held 2005,
    Alg. 2.4).
    """
    from petroinfer.inference.gmrf import Anchor, _Factor

    if not (np.isfinite(anchor_scale) and anchor_scale > 0):
        raise ModelError(f"anchor_scale must be > 0, got {anchor_scale!r}")
    e = result.estimate
    N = pb.s.size
    m = {"T": e["T_C"].values + 273.15, "P": e["P_kbar"].values}
    sd = {"T": e["T_C_sd"].values, "P": e["P_kbar_sd"].values}
    nodes = (0,) if model.order == 1 else (0, N - 1)
    anchors = [
        Anchor(int(i), float(m[ch][i]), float(anchor_scale * sd[ch][i]), ch)
        for ch in ("T", "P")
        for i in nodes
    ]
    prior = model._chain_prior(pb, anchors)
    hp = result.hyperparameters
    kap = np.array([hp["smoothness_T_per_K2"], hp["smoothness_P_per_kbar2"]], dtype=float)
    ab, logdet, rank_def = prior._precision(kap)
    if rank_def != 0:  # pragma: no cover - guarded by the anchor choice above
        raise ModelError(
            "the anchored prior is still improper; REMC would explore a flat direction"
        )
    B = prior._B
    wb = np.broadcast_to(np.asarray(prior._wb, dtype=float), (B.shape[0],))
    K = prior._K(kap)
    idx, lam, mu = prior._anchor_arrays()
    const = 0.5 * logdet - N * np.log(2 * np.pi)

    def log_prior(theta):
        th = np.atleast_2d(theta)
        zt = (B @ th[:, :N].T).T
        zp = (B @ th[:, N:].T).T
        energy = (wb * (K[0, 0] * zt**2 + 2.0 * K[0, 1] * zt * zp + K[1, 1] * zp**2)).sum(axis=1)
        inter = np.stack([th[:, :N], th[:, N:]], axis=-1).reshape(th.shape[0], 2 * N)
        energy += np.sum(lam * (inter[:, idx] - mu) ** 2, axis=1)
        return const - 0.5 * energy

    try:
        fac = _Factor(ab, None, "anchored prior precision")
    except ModelError as exc:
        raise ModelError(
            f"the anchored REMC prior is numerically singular at anchor_scale={anchor_scale!r}: "
            "the anchors are too weak to make the intrinsic directions proper; use a smaller "
            "anchor_scale (default 20)"
        ) from exc
    centre = fac.solve(prior._anchor_rhs())

    def prior_sample(rng, n):
        x = centre[:, None] + fac.draw(rng.standard_normal((2 * N, n)))
        x = x.T.reshape(n, N, 2)
        return np.hstack([x[:, :, 0], x[:, :, 1]])

    return log_prior, prior_sample


def _replace_criterion(res, crit):
    import dataclasses

    return dataclasses.replace(res, criterion=crit)


def _interp(s: np.ndarray, at: np.ndarray) -> sp.csr_matrix:
    j = np.clip(np.searchsorted(s, at, side="right") - 1, 0, s.size - 2)
    w = (at - s[j]) / (s[j + 1] - s[j])
    rows = np.repeat(np.arange(at.size), 2)
    cols = np.column_stack([j, j + 1]).ravel()
    vals = np.column_stack([1.0 - w, w]).ravel()
    return sp.csr_matrix((vals, (rows, cols)), shape=(at.size, s.size))


@dataclass
class _Problem:
    rad: np.ndarray
    is_bt: np.ndarray
    c: np.ndarray
    sig: np.ndarray
    teq: object
    beq: object
    s: np.ndarray
    W: sp.csr_matrix

    @property
    def m(self) -> int:
        return self.rad.size

    def __post_init__(self) -> None:
        self.coef = self._coefficients(self.c)
        self._std = {True: self.teq.fast_standard(), False: self.beq.fast_standard()}

    def _coefficients(self, c: np.ndarray, is_bt: np.ndarray | None = None) -> np.ndarray:
        is_bt = self.is_bt if is_bt is None else is_bt
        k = np.empty((len(c), 3))
        if is_bt.any():
            k[is_bt] = self.teq.linear_coefficients(c[is_bt])
        if (~is_bt).any():
            k[~is_bt] = self.beq.linear_coefficients(c[~is_bt])
        return k

    def g(
        self, T: np.ndarray, Pk: np.ndarray, c: np.ndarray | None = None, is_bt=None, coef=None
    ) -> np.ndarray:
        """Scaled residuals r/(RT) for flat arrays T (K), P (kbar); r = ΔG°(T, P) + k0 + kT T + kP P."""
        is_bt = self.is_bt if is_bt is None else is_bt
        if coef is not None:
            k = coef
        elif c is None:
            k = self.coef if len(T) == self.m else np.tile(self.coef, (len(T) // self.m, 1))
        else:
            k = self._coefficients(c, is_bt)
        P = Pk * 1e3
        std = np.where(is_bt, self._std[True](T, P), self._std[False](T, P))
        return (std + k[:, 0] + k[:, 1] * T + k[:, 2] * P) / (GAS_CONSTANT * T)

    def forward(self, x: np.ndarray) -> np.ndarray:
        return self.g(self.W @ x[:, 0], self.W @ x[:, 1])

    def forward_batch(self, T: np.ndarray, P: np.ndarray) -> np.ndarray:
        n = T.shape[0]
        Tk = (self.W @ T.T).T.ravel()
        Pk = (self.W @ P.T).T.ravel()
        bt = np.tile(self.is_bt, n)
        return self.g(Tk, Pk, None, bt).reshape(n, self.m)

    def jacobian(self, x: np.ndarray) -> sp.csr_matrix:
        T, P = self.W @ x[:, 0], self.W @ x[:, 1]
        dT = (self.g(T + 0.01, P) - self.g(T - 0.01, P)) / 0.02
        dP = (self.g(T, P + 1e-3) - self.g(T, P - 1e-3)) / 2e-3
        Wc = self.W.tocoo()
        rows = np.concatenate([Wc.row, Wc.row])
        cols = np.concatenate([2 * Wc.col, 2 * Wc.col + 1])
        vals = np.concatenate([Wc.data * dT[Wc.row], Wc.data * dP[Wc.row]])
        return sp.csr_matrix((vals, (rows, cols)), shape=(self.m, 2 * self.s.size))

    def sigma_k(self, x: np.ndarray) -> np.ndarray:
        """σ of each scaled residual propagated from the analytical SDs of the mole fractions."""
        T, P = self.W @ x[:, 0], self.W @ x[:, 1]
        var = np.zeros(self.m)
        for j in range(self.c.shape[1]):
            h = 1e-6
            cp, cm = self.c.copy(), self.c.copy()
            cp[:, j] += h
            cm[:, j] -= h
            d = (self.g(T, P, cp) - self.g(T, P, cm)) / (2 * h)
            var += (d * self.sig[:, j]) ** 2
        return np.sqrt(np.maximum(var, 1e-12))

    def _median_root(self, rows, var: str, x0: float, fixed: float, h: float, bounds) -> float:
        """Median over ``rows`` of the root in T (``var="T"``, biotite rows, P fixed) or in P
        (``var="P"``, plagioclase rows, T fixed): 30 clipped finite-difference Newton steps."""
        k = int(rows.sum())
        x, y = np.full(k, x0), np.full(k, fixed)
        is_bt, coef = np.full(k, var == "T"), self.coef[rows]

        def g(xa):
            T, P = (xa, y) if var == "T" else (y, xa)
            return self.g(T, P, None, is_bt, coef)

        for _ in range(30):
            d = (g(x + h) - g(x - h)) / (2 * h)
            x = np.clip(x - g(x) / np.where(d == 0, 1e-12, d), *bounds)
        return float(np.median(x))

    def start(self) -> np.ndarray:
        """Constant starting path: median thermometer T at P0, median barometer P at that T (twice)."""
        T0, P0 = 873.15, 6.0
        bt, pl = self.is_bt, ~self.is_bt
        for _ in range(2):
            if bt.any():
                T0 = self._median_root(bt, "T", T0, P0, 0.01, (400.0, 1500.0))
            if pl.any():
                P0 = self._median_root(pl, "P", P0, T0, 1e-3, (0.1, 30.0))
        n = self.s.size
        return np.column_stack([np.full(n, T0), np.full(n, P0)])


def pointwise_pt(
    data: pd.DataFrame,
    thermometer_name: str = "HS82",
    barometer_name: str = "KN88",
    polymorph: str = "ky",
) -> pd.DataFrame:
    """Conventional point-by-point thermobarometry: each biotite inclusion paired with the plagioclase
    inclusion nearest in radius (and the biotite's host-garnet composition), solved simultaneously."""
    rad, is_bt, c, _ = _prepare(data, 0.0)
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
        {"radius": rb, "T_C": T - 273.15, "P_kbar": P / 1e3}, index=data.index[is_bt]
    )


# ============================================================================ synthetic data
def _true_path(s: np.ndarray, t_range: tuple[float, float], p_path: tuple[float, float, float]):
    """T rises monotonically, P rises to a peak at 60 % of the radius and decompresses to the rim."""
    t0, t1 = t_range
    p0, pmax, p1 = p_path
    T = t0 + (t1 - t0) * (1 - (1 - s) ** 1.5)
    up = p0 + (pmax - p0) * np.sin(0.5 * np.pi * np.clip(s / 0.6, 0, 1)) ** 2
    down = pmax - (pmax - p1) * np.sin(0.5 * np.pi * np.clip((s - 0.6) / 0.4, 0, 1)) ** 2
    return T, np.where(s <= 0.6, up, down)


def _garnet_zoning(s: np.ndarray) -> np.ndarray:
    """Bell-shaped Mn, rimward-increasing Mg, decreasing Ca: (XAlm, XPrp, XGrs, XSps)."""
    sps = 0.02 + 0.16 * np.exp(-((s / 0.35) ** 2))
    prp = 0.05 + 0.09 * s
    grs = 0.12 - 0.05 * s
    return np.column_stack([1 - sps - prp - grs, prp, grs, sps])


def _bisect(fun, lo: float, hi: float, n: int) -> np.ndarray:
    a = np.full(n, lo)
    b = np.full(n, hi)
    fa = fun(a)
    fb = fun(b)
    if np.any(np.sign(fa) == np.sign(fb)):
        raise ModelError(
            "synthetic path outside the composition range that the calibrations can reproduce"
        )
    for _ in range(60):
        mid = 0.5 * (a + b)
        fm = fun(mid)
        left = np.sign(fm) == np.sign(fa)
        a = np.where(left, mid, a)
        fa = np.where(left, fm, fa)
        b = np.where(left, b, mid)
    return 0.5 * (a + b)


def synthetic_inclusions(
    n_nodes: int = 40,
    *,
    radius_mm: float = 2.0,
    t_range_c: tuple[float, float] = (500.0, 620.0),
    p_path_kbar: tuple[float, float, float] = (5.0, 9.0, 6.0),
    sigma: float = 0.005,
    thermometer_name: str = "HS82",
    barometer_name: str = "KN88",
    polymorph: str = "ky",
    paired: bool = True,
    random_state: RandomState = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Synthetic zoned garnet with biotite and plagioclase inclusions consistent with a calibration pair.

    A true path (T rising from ``t_range_c[0]`` to ``[1]``, P rising to ``p_path_kbar[1]`` at 60 % of
    the radius then falling to ``[2]``) is set at ``n_nodes`` radii; the host garnet is zoned (bell-shaped
    Mn, rimward Mg increase, Ca decrease); at each node a biotite X_Mg and a plagioclase X_An are solved
    so that the chosen thermometer and barometer hold exactly at the true (T, P); then Gaussian noise of
    SD ``sigma`` is added to every mole fraction.

    Returns
    -------
    data:
        One row per inclusion (core → rim): ``radius`` (mm), ``inclusion``, ``Grt_X*``, ``Bt_XMg`` or
        ``Pl_XAn`` (the other NaN).
    truth:
        ``radius``, ``T_C``, ``P_kbar`` at the nodes.
    """
    if int(n_nodes) < 3:
        raise ModelError(f"n_nodes must be >= 3, got {n_nodes!r}")
    rng = as_generator(random_state)
    s = np.linspace(0.0, 1.0, int(n_nodes))
    T_c, P_k = _true_path(s, t_range_c, p_path_kbar)
    T, P = T_c + 273.15, P_k * 1e3
    grt = _garnet_zoning(s)
    teq = thermometer(thermometer_name)
    beq = barometer(barometer_name, polymorph)
    n = s.size

    def comp(xmg, xan):
        return np.column_stack([grt, xmg, xan])

    xmg = _bisect(lambda v: teq.residual(T, P, comp(v, np.full(n, 0.3))), 0.01, 0.99, n)
    xan = _bisect(lambda v: beq.residual(T, P, comp(np.full(n, 0.4), v)), 0.02, 0.98, n)
    r_mm = s * radius_mm
    r_bt = r_mm.copy()
    r_pl = r_mm.copy()
    if not paired:
        h = radius_mm / max(n - 1, 1)
        r_bt = np.clip(r_mm + rng.uniform(-0.3, 0.3, n) * h, 0, radius_mm)
        r_pl = np.clip(r_mm + rng.uniform(-0.3, 0.3, n) * h, 0, radius_mm)

    def noisy(x):
        return np.clip(x + sigma * rng.standard_normal(x.shape), 1e-4, 0.999)

    cols = ["Grt_XAlm", "Grt_XPrp", "Grt_XGrs", "Grt_XSps"]
    bt = pd.DataFrame(noisy(grt), columns=cols)
    bt.insert(0, "inclusion", "biotite")
    bt.insert(0, "radius", r_bt)
    bt["Bt_XMg"] = noisy(xmg)
    bt["Pl_XAn"] = np.nan
    pl = pd.DataFrame(noisy(grt), columns=cols)
    pl.insert(0, "inclusion", "plagioclase")
    pl.insert(0, "radius", r_pl)
    pl["Bt_XMg"] = np.nan
    pl["Pl_XAn"] = noisy(xan)
    data = pd.concat([bt, pl], ignore_index=True)
    data = data.iloc[
        np.lexsort((data["inclusion"].to_numpy(), data["radius"].to_numpy()))
    ].reset_index(drop=True)
    truth = pd.DataFrame({"radius": r_mm, "T_C": T_c, "P_kbar": P_k})
    return data, truth


# ============================================================================ experiments
def compare_calibrations(
    data: pd.DataFrame,
    pairs: Sequence[tuple[str, str]] = (("FS78", "KN88"), ("HS82", "KN88"), ("ds62", "ds62")),
    **kwargs,
) -> pd.DataFrame:
    """Laplace log evidence of the inclusion data under each (thermometer, barometer) pair.

    Returns a table sorted by evidence with ``log_evidence``, ``delta`` (relative to the best) and the
    chosen smoothness. [R] The evidences compare residual-space likelihoods whose scale is set by the
    propagated analytical σ, which is (nearly) calibration-independent.
    """
    rows = []
    for th, ba in pairs:
        res = InclusionPTPath(thermometer=th, barometer=ba, **kwargs).fit(data)
        rows.append(
            {
                "thermometer": th,
                "barometer": ba,
                "log_evidence": res.log_evidence,
                "smoothness_T": res.hyperparameters["smoothness_T_per_K2"],
                "smoothness_P": res.hyperparameters["smoothness_P_per_kbar2"],
            }
        )
    out = pd.DataFrame(rows).sort_values("log_evidence", ascending=False).reset_index(drop=True)
    out["delta"] = out["log_evidence"] - out["log_evidence"].iloc[0]
    return out


def sparse_data_experiment(
    model: InclusionPTPath,
    data: pd.DataFrame,
    fractions: Sequence[float] = (0.0, 0.25, 0.5, 0.75),
    *,
    n_repeats: int = 5,
    truth: pd.DataFrame | None = None,
    random_state: RandomState = None,
) -> pd.DataFrame:
    """Repeat the inversion with a random fraction of the inclusions removed (Kuwatani et al. 2018).

    The node grid of ``model`` is kept (give ``nodes`` so that it does not shrink with the data; the
    first and last inclusions are always kept). Errors are measured against ``truth`` (``radius``,
    ``T_C``, ``P_kbar`` at the nodes) or, without it, against the full-data posterior mean.

    Returns
    -------
    DataFrame with one row per (fraction, repeat): ``rmse_T_C``, ``rmse_P_kbar``, ``mean_sd_T_C``,
    ``mean_sd_P_kbar``, ``coverage90`` (share of node values inside the 90 % band) and ``n_inclusions``.
    """
    rng = as_generator(random_state)
    if model.nodes is None:
        rad = pd.to_numeric(data["radius"], errors="coerce").to_numpy(dtype=float)
        model = InclusionPTPath(
            **{
                **model.get_params(),
                "nodes": np.linspace(rad.min(), rad.max(), model.n_nodes or 30),
            }
        )
    if truth is None:
        full = model.fit(data).estimate
        ref_t, ref_p = full["T_C"].values, full["P_kbar"].values
    else:
        ref_t, ref_p = truth["T_C"].to_numpy(dtype=float), truth["P_kbar"].to_numpy(dtype=float)
    rows = []
    m = len(data)
    for f in fractions:
        if not 0 <= f < 1:
            raise ModelError(f"fractions must lie in [0, 1), got {f!r}")
        for rep in range(n_repeats if f > 0 else 1):
            n_remove = round(f * m)
            inner = np.arange(1, m - 1)
            drop = (
                rng.choice(inner, size=min(n_remove, inner.size), replace=False) if n_remove else []
            )
            sub = data.drop(index=data.index[list(drop)])
            if (
                sub["inclusion"].str.lower().str.startswith("b").sum() == 0
                or sub["inclusion"].str.lower().str.startswith("p").sum() == 0
            ):
                continue
            est = model.fit(sub).estimate
            t, p = est["T_C"].values, est["P_kbar"].values
            inside = np.concatenate(
                [
                    (est["T_C_q05"].values <= ref_t) & (ref_t <= est["T_C_q95"].values),
                    (est["P_kbar_q05"].values <= ref_p) & (ref_p <= est["P_kbar_q95"].values),
                ]
            )
            rows.append(
                {
                    "fraction_removed": f,
                    "repeat": rep,
                    "n_inclusions": len(sub),
                    "rmse_T_C": float(np.sqrt(np.mean((t - ref_t) ** 2))),
                    "rmse_P_kbar": float(np.sqrt(np.mean((p - ref_p) ** 2))),
                    "mean_sd_T_C": float(est["T_C_sd"].mean()),
                    "mean_sd_P_kbar": float(est["P_kbar_sd"].mean()),
                    "coverage90": float(inside.mean()),
                }
            )
    return pd.DataFrame(rows)
