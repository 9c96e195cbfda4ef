"""Replica-exchange Monte Carlo (parallel tempering) with free-energy (log-evidence) estimation.

Implementation behind :mod:`petroinfer.inference.remc`, which lists and re-exports the public names;
see :class:`ReplicaExchange`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar, Literal

import numpy as np
import xarray as xr

from petroinfer._base import Interval, InverseProblem, Options
from petroinfer._rng import RandomState, as_generator
from petroinfer.errors import InputError, ModelError, format_value
from petroinfer.inference._remc_chain import Move, _ChainSpec, _run_batch
from petroinfer.inference._remc_ladder import (
    geometric_ladder,
    stepping_stone,
    thermodynamic_integration,
    validate_ladder,
)
from petroinfer.inference._remc_result import REMCResult, compare_models
from petroinfer.inference._tasks import map_independent
from petroinfer.inference.diagnostics import check_convergence, convergence_diagnostics

__all__ = [
    "REMCResult",
    "ReplicaExchange",
    "compare_models",
    "geometric_ladder",
    "stepping_stone",
    "thermodynamic_integration",
    "validate_ladder",
]


# ----------------------------------------------------------------------------------------- sampler
class ReplicaExchange(InverseProblem):
    r"""Replica-exchange Monte Carlo (parallel tempering) with the Bayes free energy.

    Samples the tempered targets :math:`p_β(θ) ∝ L(θ)^β π(θ)` on a ladder
    :math:`0 = β_1 < … < β_L = 1` and returns the posterior (β = 1 replica) together with the log
    evidence :math:`\log Z = \log ∫ L(θ) π(θ) dθ` (minus the Bayes free energy) and its Monte-Carlo
    error.

    Parameters
    ----------
    log_likelihood : callable
        ``log_likelihood(theta)`` → float, for ``theta`` of shape ``(d,)``; with ``vectorized=True``
        it takes an ``(n, d)`` array and returns ``(n,)``. When :meth:`fit` is given ``data`` it is
        called as ``log_likelihood(theta, data)``. Must be finite wherever the prior is positive.
    log_prior : callable
        ``log_prior(theta)`` → float (normalised prior density; ``-inf`` outside the support). Same
        vectorisation convention. The evidence is only meaningful for a *normalised* prior.
    prior_sample : callable or None
        ``prior_sample(rng, n)`` → ``(n, d)`` exact prior draws; used to initialise the replicas, for
        the initial proposal covariance and as an exact (independence) move of the β = 0 rung. If
        ``None``, :meth:`fit` needs ``initial``.
    param_names : sequence of str or None
        Names of the ``d`` parameters (default ``theta0`` …).
    betas : array-like or None
        Explicit ladder (must start at 0, end at 1, strictly increase). Overrides ``n_temps``.
    n_temps, beta_min : int, float
        Geometric ladder :func:`geometric_ladder` (default 24 rungs from β = 1e-4 to 1, γ ≈ 1.5).
    ladder : {'geometric', 'adaptive'}
        ``"geometric"`` (fixed) or ``"adaptive"``: during the first 60 % of the burn-in the rungs are
        moved, and added or removed, so that every neighbouring pair swaps at ≈ 0.35 (within 0.2–0.5).
    n_steps, n_burn, thin : int, int or None, int
        Sweeps kept per chain after burn-in, burn-in sweeps (default ``max(500, n_steps // 2)``), and
        thinning of the stored β = 1 draws (the evidence uses every sweep).
    n_chains : int
        Independent runs (ArviZ chains); R-hat needs ≥ 2.
    vectorized : bool
        Whether ``log_likelihood``/``log_prior`` take ``(n, d)`` arrays (one call per sweep for all
        replicas).
    moves : sequence of callable
        Extra user moves applied every sweep after the random-walk step, each
        ``move(x, betas, log_likelihood, log_prior, rng) -> (x, log_likelihood, log_prior)`` on
        arrays of shape ``(L, d)``, ``(L,)``, ``(L,)``, ``(L,)``; each must leave every ``p_β``
        invariant (e.g. Gibbs or MALA steps with their own accept/reject).
    random_walk : bool
        Use the built-in adaptive random-walk Metropolis move (set False when ``moves`` suffice).
    target_acceptance : float or None
        Random-walk acceptance aimed at during burn-in (default 0.44 for d = 1, else 0.234; Roberts &
        Rosenthal 2001).
    proposal_cov : numpy.ndarray or None
        Initial proposal covariance (default: covariance of 2000 prior draws, else identity × 0.01).
    n_batches : int or None
        Batches for the batch-means Monte-Carlo error (default sqrt(n_steps) in [10, 100]).
    se_method : {'batch', 'runs'}
        ``"batch"`` (batch means within chains, combined) or ``"runs"`` (spread of the per-chain
        estimates; needs ``n_chains ≥ 3``).
    n_jobs, scheduler : int or None, str or distributed.Client or None
        Run chains in parallel through :mod:`petroinfer.parallel` (Dask) when ``n_jobs != 1`` or a
        scheduler is given; results are identical to the serial run.
    progress : bool
        Show a progress bar (serial runs).
    warn : bool
        Emit a :class:`~petroinfer.errors.ConvergenceWarning` when R-hat > 1.01, bulk ESS < 400 or
        any swap rate < 0.1.
    random_state : int, numpy.random.Generator or None
        Seed or Generator; each chain gets an independent child stream (same seed → same result).

    Notes
    -----
    Each sweep (Hukushima & Nemoto 1996; Nagata, Sugita & Okada 2012) applies to every rung l a
    random-walk Metropolis step accepted with probability
    :math:`\min\{1, \exp[β_l(\ell(θ') - \ell(θ)) + \log π(θ') - \log π(θ)]\}` (proposal
    covariance and scale adapted during burn-in only, Haario et al. 2001 / Andrieu & Thoms 2008), the
    β = 0 rung receiving an exact prior draw, then swaps of neighbours (deterministic even–odd pairs)
    accepted with probability :math:`\min\{1, \exp[(β_{l+1}-β_l)(\ell_l - \ell_{l+1})]\}`.

    Log evidence, stepping-stone (default; Xie et al. 2011, Nagata et al. 2012):
    :math:`\log Z = \sum_{l=1}^{L-1} \log \langle e^{(β_{l+1}-β_l)\ell} \rangle_{p_{β_l}}`;
    thermodynamic integration (diagnostic):
    :math:`\log Z = ∫_0^1 \langle \ell \rangle_β dβ` by the trapezoid rule. Per-chain estimates
    are averaged; their Monte-Carlo SE is the batch-means SE of the delta-method influence function
    (see :func:`stepping_stone`).

    References
    ----------
    Hukushima, K., Nemoto, K. (1996). Exchange Monte Carlo method and application to spin glass
    simulations. *J. Phys. Soc. Jpn.* 65, 1604–1608.
    Nagata, K., Sugita, S., Okada, M. (2012). Bayesian spectral deconvolution with the exchange Monte
    Carlo method. *Neural Networks* 28, 82–89.
    Xie, W., Lewis, P. O., Fan, Y., Kuo, L., Chen, M.-H. (2011). Improving marginal likelihood
    estimation for Bayesian phylogenetic model selection. *Syst. Biol.* 60, 150–160.
    Syed, S., Bouchard-Côté, A., Deligiannidis, G., Doucet, A. (2022). Non-reversible parallel
    tempering: a scalable highly parallel MCMC scheme. *J. R. Stat. Soc. B* 84, 321–350.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy import stats
    >>> y = np.array([0.3, -0.1, 0.5])
    >>> sampler = ReplicaExchange(
    ...     lambda th: stats.norm.logpdf(y, th[:, :1], 1.0).sum(axis=1),
    ...     lambda th: stats.norm.logpdf(th[:, 0], 0.0, 2.0),
    ...     lambda rng, n: rng.normal(0.0, 2.0, (n, 1)),
    ...     vectorized=True, n_temps=12, beta_min=1e-3, n_steps=2000, warn=False, random_state=0)
    >>> res = sampler.fit()
    >>> exact = stats.multivariate_normal.logpdf(y, np.zeros(3), np.eye(3) + 4.0)
    >>> bool(abs(res.log_evidence - exact) < 0.1)
    True
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "log_likelihood": [callable],
        "log_prior": [callable],
        "prior_sample": [callable, None],
        "n_temps": [Interval(int, 2, None)],
        "beta_min": [Interval(float, 0, 1, closed="neither")],
        "ladder": [Options({"geometric", "adaptive"})],
        "n_steps": [Interval(int, 1, None)],
        "n_burn": [Interval(int, 0, None), None],
        "thin": [Interval(int, 1, None)],
        "n_chains": [Interval(int, 1, None)],
        "vectorized": [bool, np.bool_],
        "moves": [list, tuple],
        "random_walk": [bool, np.bool_],
        "target_acceptance": [Interval(float, 0, 1, closed="neither"), None],
        "proposal_cov": ["array-like", None],
        "n_batches": [Interval(int, 2, None), None],
        "se_method": [Options({"batch", "runs"})],
        "n_jobs": [Interval(int, 1, None), Options({-1}), None],
        "progress": [bool, np.bool_],
        "warn": [bool, np.bool_],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        log_likelihood: Callable,
        log_prior: Callable,
        prior_sample: Callable | None = None,
        *,
        param_names: Sequence[str] | None = None,
        betas: Sequence[float] | np.ndarray | None = None,
        n_temps: int = 24,
        beta_min: float = 1e-4,
        ladder: Literal["geometric", "adaptive"] = "geometric",
        n_steps: int = 2000,
        n_burn: int | None = None,
        thin: int = 1,
        n_chains: int = 2,
        vectorized: bool = False,
        moves: Sequence[Move] = (),
        random_walk: bool = True,
        target_acceptance: float | None = None,
        proposal_cov: np.ndarray | None = None,
        n_batches: int | None = None,
        se_method: Literal["batch", "runs"] = "batch",
        n_jobs: int | None = 1,
        scheduler: Any = None,
        progress: bool = False,
        warn: bool = True,
        random_state: RandomState = None,
    ) -> None:
        self.log_likelihood = log_likelihood
        self.log_prior = log_prior
        self.prior_sample = prior_sample
        self.param_names = param_names
        self.betas = betas
        self.n_temps = n_temps
        self.beta_min = beta_min
        self.ladder = ladder
        self.n_steps = n_steps
        self.n_burn = n_burn
        self.thin = thin
        self.n_chains = n_chains
        self.vectorized = vectorized
        self.moves = moves
        self.random_walk = random_walk
        self.target_acceptance = target_acceptance
        self.proposal_cov = proposal_cov
        self.n_batches = n_batches
        self.se_method = se_method
        self.n_jobs = n_jobs
        self.scheduler = scheduler
        self.progress = progress
        self.warn = warn
        self.random_state = random_state

    # ------------------------------------------------------------------ validation
    def _check_consistency(self) -> None:
        """Checks that involve several parameters (after ``_validate_params``)."""
        if self.thin > self.n_steps:
            raise ModelError(f"thin ({self.thin}) must not exceed n_steps ({self.n_steps})")
        if self.se_method == "runs" and self.n_chains < 3:
            raise ModelError("se_method='runs' needs n_chains >= 3")
        if self.betas is not None:
            validate_ladder(self.betas)
        else:
            geometric_ladder(self.n_temps, self.beta_min)
        if not self.random_walk and not self.moves:
            raise ModelError("random_walk=False needs at least one user move in `moves`")
        for m in self.moves:
            if not callable(m):
                raise ModelError(f"every move must be callable, got {format_value(m)}")

    # ------------------------------------------------------------------ fit
    def fit(self, data: Any = None, initial: np.ndarray | None = None) -> REMCResult:
        """Run the chains and estimate the posterior and the log evidence.

        Parameters
        ----------
        data : object, optional
            Passed as the second argument of ``log_likelihood`` when not ``None``.
        initial : numpy.ndarray or None
            Starting states, ``(d,)``, ``(L, d)`` or ``(n_chains, L, d)`` (default: prior draws).

        Returns
        -------
        REMCResult
        """
        self._validate_params()
        self._check_consistency()
        rng = as_generator(self.random_state)
        n_burn = max(500, self.n_steps // 2) if self.n_burn is None else int(self.n_burn)
        d = self._infer_dim(initial, rng)
        names = self._names(d)
        init = self._initial_per_chain(initial, d)
        cov = self._initial_cov(d, rng)
        tacc = self.target_acceptance or (0.44 if d == 1 else 0.234)
        betas = None if self.betas is None else validate_ladder(self.betas)
        n_temps = self.n_temps if self.ladder == "geometric" else min(self.n_temps, 12)
        streams = rng.spawn(self.n_chains)
        groups = self._chain_groups()
        tasks = [
            (
                _ChainSpec(
                    log_likelihood=self.log_likelihood,
                    log_prior=self.log_prior,
                    prior_sample=self.prior_sample,
                    data=data,
                    vectorized=bool(self.vectorized),
                    betas=betas,
                    n_temps=n_temps,
                    beta_min=self.beta_min,
                    adaptive=self.ladder == "adaptive",
                    n_steps=int(self.n_steps),
                    n_burn=n_burn,
                    thin=int(self.thin),
                    moves=tuple(self.moves),
                    random_walk=bool(self.random_walk),
                    target_acceptance=tacc,
                    proposal_cov=cov,
                    initial=[init[c] for c in group],
                    n_params=d,
                    progress=bool(self.progress) and len(groups) == 1,
                ),
                [streams[c] for c in group],
            )
            for group in groups
        ]
        batches = map_independent(_run_batch, tasks, n_jobs=self.n_jobs, scheduler=self.scheduler)
        runs = [run for batch in batches for run in batch]
        return self._assemble(runs, names, n_burn, data)

    def _chain_groups(self) -> list[list[int]]:
        """Chains stacked into one vectorised batch per task (one chain per task if adaptive)."""
        chains = list(range(self.n_chains))
        if self.ladder == "adaptive":
            return [[c] for c in chains]
        if self.n_jobs in (None, 1) and self.scheduler is None:
            return [chains]
        n_tasks = self.n_chains if self.n_jobs in (None, 1, -1) else min(self.n_jobs, self.n_chains)
        return [g.tolist() for g in np.array_split(np.array(chains), n_tasks)]

    def _infer_dim(self, initial: Any, rng: np.random.Generator) -> int:
        if initial is not None:
            arr = np.asarray(initial, dtype=float)
            if arr.ndim == 0:
                raise InputError("initial must be an array of parameter vectors", value=arr.shape)
            if not np.all(np.isfinite(arr)):
                raise InputError("initial states must be finite", value=arr.tolist())
            return int(arr.shape[-1])
        if self.prior_sample is None:
            raise ModelError("give prior_sample (rng, n) -> (n, d) or initial states to fit()")
        probe = np.asarray(self.prior_sample(np.random.default_rng(0), 2), dtype=float)
        if probe.ndim == 1:
            probe = probe[:, None]
        if probe.ndim != 2 or probe.shape[0] != 2:
            raise ModelError(f"prior_sample(rng, 2) must return shape (2, d), got {probe.shape}")
        if self.param_names is not None and len(self.param_names) != probe.shape[1]:
            raise ModelError(
                f"param_names has {len(self.param_names)} names but prior_sample gives "
                f"{probe.shape[1]} parameters"
            )
        return int(probe.shape[1])

    def _names(self, d: int) -> list[str]:
        if self.param_names is None:
            return [f"theta{i}" for i in range(d)]
        names = [str(n) for n in self.param_names]
        if len(names) != d:
            raise ModelError(f"param_names has {len(names)} names for {d} parameters")
        if len(set(names)) != d:
            raise ModelError(f"param_names must be unique, got {names}")
        return names

    def _initial_per_chain(self, initial: Any, d: int) -> list[np.ndarray | None]:
        if initial is None:
            return [None] * self.n_chains
        arr = np.asarray(initial, dtype=float)
        if arr.ndim == 3:
            if arr.shape[0] != self.n_chains:
                raise InputError(
                    f"initial of shape (n_chains, L, d) needs n_chains = {self.n_chains}",
                    value=arr.shape,
                )
            if self.ladder == "adaptive":
                raise ModelError("ladder='adaptive' takes initial of shape (d,) only")
            return [arr[c] for c in range(self.n_chains)]
        if arr.ndim == 2 and self.ladder == "adaptive":
            raise ModelError("ladder='adaptive' takes initial of shape (d,) only")
        return [arr] * self.n_chains

    def _initial_cov(self, d: int, rng: np.random.Generator) -> np.ndarray:
        if self.proposal_cov is not None:
            cov = np.atleast_2d(np.asarray(self.proposal_cov, dtype=float))
            if cov.shape != (d, d) or not np.all(np.isfinite(cov)):
                raise ModelError(
                    f"proposal_cov must be a finite ({d}, {d}) matrix, got {cov.shape}"
                )
            if np.any(np.linalg.eigvalsh((cov + cov.T) / 2) <= 0):
                raise ModelError("proposal_cov must be positive definite")
            return cov
        if self.prior_sample is None:
            return np.eye(d) * 1e-2
        draws = np.asarray(
            self.prior_sample(np.random.default_rng(rng.integers(2**63)), 2000), dtype=float
        ).reshape(2000, d)
        if not np.all(np.isfinite(draws)):
            raise ModelError("prior_sample returned non-finite values")
        cov = np.atleast_2d(np.cov(draws, rowvar=False))
        return cov + 1e-12 * np.trace(cov) / d * np.eye(d)

    # ------------------------------------------------------------------ assembly
    def _assemble(self, runs: list[dict], names: list[str], n_burn: int, data: Any) -> REMCResult:
        C = len(runs)
        n_rungs = max(r["betas"].size for r in runs)

        def pad(v: np.ndarray, n: int) -> np.ndarray:
            out = np.full(n, np.nan)
            out[: v.size] = v
            return out

        ss, ti = [], []
        for r in runs:
            ss.append(stepping_stone(r["betas"], r["loglik"], self.n_batches))
            ti.append(thermodynamic_integration(r["betas"], r["loglik"], self.n_batches))
        ss_z = np.array([s[0] for s in ss])
        ss_se = np.array([s[1] for s in ss])
        ti_z = np.array([s[0] for s in ti])
        ti_se = np.array([s[1] for s in ti])
        log_z = float(ss_z.mean())
        se_batch = float(np.sqrt((ss_se**2).sum()) / C)
        se_runs = float(ss_z.std(ddof=1) / np.sqrt(C)) if C >= 2 else float("nan")
        se = se_runs if self.se_method == "runs" else se_batch

        theta = np.stack([r["draws"] for r in runs])
        posterior = xr.Dataset(
            {
                "theta": (("chain", "draw", "param"), theta),
                "log_likelihood": (("chain", "draw"), np.stack([r["draws_loglik"] for r in runs])),
            },
            coords={"chain": np.arange(C), "draw": np.arange(theta.shape[1]), "param": names},
        )
        flat = theta.reshape(-1, theta.shape[-1])
        estimate = xr.Dataset(
            {
                "mean": ("param", flat.mean(axis=0)),
                "sd": (
                    "param",
                    flat.std(axis=0, ddof=1) if flat.shape[0] > 1 else np.zeros(len(names)),
                ),
            },
            coords={"param": names},
        )
        criterion = xr.Dataset(
            {
                "beta": (("chain", "rung"), np.stack([pad(r["betas"], n_rungs) for r in runs])),
                "mean_log_likelihood": (
                    ("chain", "rung"),
                    np.stack([pad(r["loglik"].mean(axis=0), n_rungs) for r in runs]),
                ),
                "acceptance": (
                    ("chain", "rung"),
                    np.stack([pad(r["acceptance"], n_rungs) for r in runs]),
                ),
                "swap_rate": (
                    ("chain", "pair"),
                    np.stack([pad(r["swap_rates"], n_rungs - 1) for r in runs]),
                ),
                "log_evidence_ss": ("chain", ss_z),
                "log_evidence_ss_se": ("chain", ss_se),
                "log_evidence_ti": ("chain", ti_z),
                "log_evidence_ti_se": ("chain", ti_se),
            },
            coords={"chain": np.arange(C)},
            attrs={"description": "REMC ladder, thermodynamic curve and per-chain evidence"},
        )
        conv = convergence_diagnostics(posterior[["theta"]])
        swap_all = np.concatenate([r["swap_rates"] for r in runs])
        problems = check_convergence(conv, swap_rates=swap_all, warn=self.warn, stacklevel=4)
        diagnostics = {
            **conv,
            "log_evidence_ti": float(ti_z.mean()),
            "log_evidence_ti_se": float(np.sqrt((ti_se**2).sum()) / C),
            "log_evidence_se_batch": se_batch,
            "log_evidence_se_runs": se_runs,
            "log_evidence_per_chain": ss_z.tolist(),
            "swap_rate_min": float(swap_all.min()) if swap_all.size else float("nan"),
            "round_trips": [int(r["round_trips"]) for r in runs],
            "acceptance_mean": _nanmean(np.concatenate([r["acceptance"] for r in runs])),
            "n_rungs": [int(r["betas"].size) for r in runs],
            "n_likelihood_evaluations": int(sum(r["n_evals"] for r in runs)),
            "problems": problems,
        }
        hyper = {
            "ladder": self.ladder,
            "n_temps": [int(r["betas"].size) for r in runs],
            "n_steps": int(self.n_steps),
            "n_burn": n_burn,
            "thin": int(self.thin),
            "n_chains": C,
        }
        meta = self._metadata(
            method="replica-exchange Monte Carlo (stepping-stone evidence)",
            inputs=() if data is None else (_hashable(data),),
        )
        return REMCResult(
            estimate=estimate,
            posterior=posterior,
            log_evidence=log_z,
            log_evidence_se=se,
            diagnostics=diagnostics,
            hyperparameters=hyper,
            criterion=criterion,
            metadata=meta,
        )


def _nanmean(x: np.ndarray) -> float:
    x = x[np.isfinite(x)]
    return float(x.mean()) if x.size else float("nan")


def _hashable(data: Any) -> Any:
    if isinstance(data, Mapping):
        return repr(sorted((str(k), repr(v)) for k, v in data.items()))
    if isinstance(data, (list, tuple)):
        return np.asarray(data) if all(np.isscalar(v) for v in data) else repr(data)
    return data
