"""Replica-exchange Monte Carlo (parallel tempering) with free-energy (log-evidence) estimation.

Implementation behind :mod:`petroinfer.inference.remc`, which lists and re-exports the public names;
see :class:`ReplicaExchange`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
import xarray as xr

from petroinfer._rng import RandomState, as_generator
from petroinfer.errors import InputError, ModelError
from petroinfer.inference._tasks import map_independent
from petroinfer.inference.diagnostics import (
    batch_means_se,
    check_convergence,
    convergence_diagnostics,
)
from petroinfer.inference.results import Result, make_metadata

Move = Callable[..., tuple[np.ndarray, np.ndarray, np.ndarray]]

_TARGET_SWAP = 0.35  # middle of the 0.2–0.5 band
_MAX_RUNGS = 96


# ----------------------------------------------------------------------------------------- ladders
def geometric_ladder(n_temps: int, beta_min: float = 1e-4) -> np.ndarray:
    """Geometric inverse-temperature ladder with a prior rung: ``[0, β_min, …, 1]``.

    Parameters
    ----------
    n_temps:
        Number of rungs ``L ≥ 2`` including β = 0 and β = 1.
    beta_min:
        Smallest positive inverse temperature β₂ (0 < β_min < 1).

    Returns
    -------
    numpy.ndarray
        β₁ = 0 and β_l = γ^{l−L} for l = 2 … L with γ = β_min^{−1/(L−2)} (Nagata, Sugita & Okada 2012,
        §3; γ ≈ 1.2–1.6 gives swap rates of 0.2–0.5 on typical problems).

    Examples
    --------
    >>> geometric_ladder(4, 0.01).round(3).tolist()
    [0.0, 0.01, 0.1, 1.0]
    """
    if not isinstance(n_temps, (int, np.integer)) or n_temps < 2:
        raise ModelError(f"n_temps must be an int >= 2, got {n_temps!r}")
    if not (0.0 < beta_min < 1.0):
        raise ModelError(f"beta_min must lie in (0, 1), got {beta_min!r}")
    if n_temps == 2:
        return np.array([0.0, 1.0])
    return np.concatenate([[0.0], np.geomspace(beta_min, 1.0, n_temps - 1)])


def validate_ladder(betas: Any) -> np.ndarray:
    """Check an inverse-temperature ladder: 1-D, finite, starts at 0, ends at 1, strictly increasing."""
    try:
        b = np.asarray(betas, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ModelError(f"betas must be numbers, got {betas!r}") from exc
    if b.ndim != 1 or b.size < 2:
        raise ModelError(f"betas must be a 1-D ladder of at least 2 values, got shape {b.shape}")
    if not np.all(np.isfinite(b)):
        raise ModelError(f"betas must be finite, got {b.tolist()}")
    if b[0] != 0.0:
        raise ModelError(f"the ladder must start at beta = 0 (the prior), got betas[0] = {b[0]!r}")
    if b[-1] != 1.0:
        raise ModelError(
            f"the ladder must end at beta = 1 (the posterior), got betas[-1] = {b[-1]!r}"
        )
    steps = np.diff(b)
    if np.any(steps <= 0):
        i = int(np.argmax(steps <= 0))
        raise ModelError(
            f"betas must be strictly increasing; betas[{i}] = {b[i]!r} >= betas[{i + 1}] = {b[i + 1]!r}"
        )
    return b


# ----------------------------------------------------------------------------------------- estimators
def _stepping_stone_terms(betas: np.ndarray, loglik: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-rung log ratios and per-draw influence values for the stepping-stone estimator."""
    dbeta = np.diff(betas)  # (L-1,)
    a = dbeta[None, :] * loglik[:, :-1]  # (n, L-1)
    c = a.max(axis=0)
    r = np.exp(a - c)  # (n, L-1), in (0, 1]
    m = r.mean(axis=0)
    log_ratios = np.log(m) + c
    influence = (r / m - 1.0).sum(axis=1)  # delta-method linearisation of sum log mean
    return log_ratios, influence


def stepping_stone(betas: Any, loglik: Any, n_batches: int | None = None) -> tuple[float, float]:
    """Stepping-stone estimate of the log evidence from tempered log-likelihood draws.

    Parameters
    ----------
    betas:
        Ladder ``(L,)`` with β₁ = 0 and β_L = 1.
    loglik:
        ``(n_draws, L)`` log-likelihood values of the state of each rung at each sweep.
    n_batches:
        Batches for the batch-means standard error (default ``sqrt(n)`` in [10, 100]).

    Returns
    -------
    log_z, se:
        :math:`\\log \\hat Z = \\sum_{l=1}^{L-1} \\log \\frac1n \\sum_t
        \\exp[(β_{l+1}-β_l)\\,\\ell(w^{(l)}_t)]` (Xie et al. 2011; Nagata et al. 2012 eq. 13), computed
        with a per-rung log-sum-exp shift; the standard error is the batch-means SE of the delta-method
        influence :math:`ψ_t = \\sum_l (r_{l,t}/\\bar r_l - 1)`, which keeps the correlation between
        rungs of one sweep.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> b = np.array([0.0, 1.0])
    >>> ll = np.column_stack([rng.standard_normal(4000), np.zeros(4000)])  # log L ~ N(0,1) under prior
    >>> round(stepping_stone(b, ll)[0], 1)  # log E[exp(N(0,1))] = 0.5
    0.5
    """
    b = validate_ladder(betas)
    ll = np.asarray(loglik, dtype=float)
    if ll.ndim != 2 or ll.shape[1] != b.size:
        raise InputError(f"loglik must have shape (n_draws, {b.size})", value=ll.shape)
    log_ratios, infl = _stepping_stone_terms(b, ll)
    return float(log_ratios.sum()), batch_means_se(infl, n_batches)


def thermodynamic_integration(
    betas: Any, loglik: Any, n_batches: int | None = None
) -> tuple[float, float]:
    """Thermodynamic-integration estimate of the log evidence (trapezoid rule over the ladder).

    :math:`\\log Z = \\int_0^1 \\langle \\ell \\rangle_β\\, dβ` (Kirkwood 1935; Gelman & Meng 1998;
    Lartillot & Philippe 2006), discretised with the trapezoid rule on the ladder. It carries a
    discretisation bias on coarse ladders, so petroinfer reports it as a diagnostic next to the
    stepping-stone estimate. Returns ``(log_z, batch-means se)``.
    """
    b = validate_ladder(betas)
    ll = np.asarray(loglik, dtype=float)
    if ll.ndim != 2 or ll.shape[1] != b.size:
        raise InputError(f"loglik must have shape (n_draws, {b.size})", value=ll.shape)
    w = np.zeros(b.size)
    db = np.diff(b)
    w[:-1] += db / 2
    w[1:] += db / 2
    mean = ll.mean(axis=0)
    return float(w @ mean), batch_means_se((ll - mean) @ w, n_batches)


# ----------------------------------------------------------------------------------------- evaluation
def _evaluator(
    fn: Callable, name: str, vectorized: bool, data: Any
) -> Callable[[np.ndarray], np.ndarray]:
    extra = () if data is None else (data,)

    def evaluate(x: np.ndarray) -> np.ndarray:
        m = x.shape[0]
        if m == 0:
            return np.empty(0)
        if vectorized:
            out = np.asarray(fn(x, *extra), dtype=float)
            if out.shape != (m,):
                if out.size == m:
                    out = out.reshape(m)
                else:
                    raise ModelError(
                        f"{name} (vectorized=True) must return shape ({m},) for an ({m}, "
                        f"{x.shape[1]}) array of parameter vectors, got shape {out.shape}"
                    )
            return out
        out = np.empty(m)
        for i in range(m):
            v = np.asarray(fn(x[i], *extra), dtype=float)
            if v.size != 1:
                raise ModelError(
                    f"{name} must return one number for a parameter vector of shape "
                    f"({x.shape[1]},), got shape {v.shape}; set vectorized=True if it takes an "
                    "(n, d) array"
                )
            out[i] = v.reshape(())
        return out

    return evaluate


def _check_values(values: np.ndarray, x: np.ndarray, name: str, *, allow_neg_inf: bool) -> None:
    bad = np.isnan(values) | (values == np.inf)
    if not allow_neg_inf:
        bad |= values == -np.inf
    if np.any(bad):
        i = int(np.argmax(bad))
        hint = (
            " (put hard constraints in log_prior, which may return -inf)"
            if not allow_neg_inf
            else ""
        )
        raise ModelError(
            f"{name} returned a non-finite value {float(values[i])!r} at parameters "
            f"{np.array2string(x[i], precision=6)}{hint}"
        )


# ----------------------------------------------------------------------------------------- one chain
@dataclass
class _ChainSpec:
    log_likelihood: Callable
    log_prior: Callable
    prior_sample: Callable | None
    data: Any
    vectorized: bool
    betas: np.ndarray | None
    n_temps: int
    beta_min: float
    adaptive: bool
    n_steps: int
    n_burn: int
    thin: int
    moves: tuple
    random_walk: bool
    target_acceptance: float
    proposal_cov: np.ndarray
    initial: list[np.ndarray | None] | None
    n_params: int
    progress: bool = False


class _Batch:
    """State and sweeps of ``C`` independent replica-exchange runs sharing one ladder.

    The chains are stacked (arrays ``(C, L, ...)``) so that one call of a vectorised likelihood serves
    every replica of every chain; each chain draws from its own random stream, so a chain's
    trajectory does not depend on which other chains share its batch (serial == parallel).
    """

    _PRIOR_BLOCK = 256

    def __init__(self, spec: _ChainSpec, rngs: Sequence[np.random.Generator]) -> None:
        self.spec = spec
        self.rngs = list(rngs)
        C = len(self.rngs)
        self.loglik_fn = _evaluator(
            spec.log_likelihood, "log_likelihood", spec.vectorized, spec.data
        )
        self.logprior_fn = _evaluator(spec.log_prior, "log_prior", spec.vectorized, None)
        self.n_evals = np.zeros(C, dtype=np.int64)
        d = spec.n_params
        self.betas = (
            spec.betas.copy()
            if spec.betas is not None
            else geometric_ladder(spec.n_temps, spec.beta_min)
        )
        L = self.betas.size
        self._prior_buf = [np.empty((0, d))] * C
        self._prior_pos = [0] * C
        x = np.empty((C, L, d))
        for c in range(C):
            init = spec.initial[c] if spec.initial is not None else None
            if init is None:
                x[c] = self._prior_draws(self.rngs[c], L)
                continue
            xc = np.array(init, dtype=float)
            if xc.ndim == 1:
                xc = np.tile(xc, (L, 1))
            if xc.shape != (L, d):
                raise InputError(
                    f"initial states must have shape ({d},) or ({L}, {d})", value=xc.shape
                )
            x[c] = xc
        self.x = x
        flat = x.reshape(C * L, d)
        lp = self.logprior_fn(flat)
        _check_values(lp, flat, "log_prior", allow_neg_inf=True)
        if np.any(~np.isfinite(lp)):
            i = int(np.argmax(~np.isfinite(lp)))
            raise ModelError(
                f"initial state {np.array2string(flat[i], precision=6)} has zero prior "
                "density (log_prior = -inf)"
            )
        self.lp = lp.reshape(C, L)
        self.ll = self._loglik(flat).reshape(C, L)
        self.n_evals += L
        self.cov = np.tile(spec.proposal_cov, (C, L, 1, 1))
        self.mu = x.copy()
        self.log_scale = np.full((C, L), math.log(2.38 / math.sqrt(d)))
        self.chol = self._cholesky(self.cov)
        self.t_adapt = 0

    # -- helpers
    def _prior_draws(self, rng: np.random.Generator, n: int) -> np.ndarray:
        out = np.asarray(self.spec.prior_sample(rng, n), dtype=float)
        if out.ndim == 1 and self.spec.n_params == 1:
            out = out[:, None]
        if out.shape != (n, self.spec.n_params):
            raise ModelError(
                f"prior_sample(rng, {n}) must return shape ({n}, {self.spec.n_params}), "
                f"got {out.shape}"
            )
        return out

    def _next_prior(self) -> np.ndarray:
        """One exact prior draw per chain (drawn in blocks from each chain's own stream)."""
        out = np.empty((len(self.rngs), self.spec.n_params))
        for c, rng in enumerate(self.rngs):
            if self._prior_pos[c] >= self._prior_buf[c].shape[0]:
                self._prior_buf[c] = self._prior_draws(rng, self._PRIOR_BLOCK)
                self._prior_pos[c] = 0
            out[c] = self._prior_buf[c][self._prior_pos[c]]
            self._prior_pos[c] += 1
        return out

    def _loglik(self, x: np.ndarray) -> np.ndarray:
        out = self.loglik_fn(x)
        _check_values(out, x, "log_likelihood", allow_neg_inf=False)
        return out

    @staticmethod
    def _cholesky(cov: np.ndarray) -> np.ndarray:
        d = cov.shape[-1]
        scale = np.trace(cov, axis1=-2, axis2=-1) / d
        jitter = (1e-10 * scale + 1e-300)[..., None, None] * np.eye(d)
        try:
            return np.linalg.cholesky(cov + jitter)
        except np.linalg.LinAlgError:
            diag = np.sqrt(np.clip(np.diagonal(cov, axis1=-2, axis2=-1), 1e-300, None))
            return diag[..., :, None] * np.eye(d)

    # -- moves
    def rw_step(self) -> np.ndarray:
        """One random-walk Metropolis update of every rung; rung 0 gets an exact prior draw."""
        C, L, d = self.x.shape
        z = np.stack([g.standard_normal((L, d)) for g in self.rngs])
        step = np.einsum("clij,clj->cli", self.chol, z)
        prop = self.x + np.exp(self.log_scale)[..., None] * step
        exact0 = self.spec.prior_sample is not None and self.betas[0] == 0.0
        if exact0:
            prop[:, 0] = self._next_prior()
        flat = prop.reshape(C * L, d)
        lp = self.logprior_fn(flat)
        _check_values(lp, flat, "log_prior", allow_neg_inf=True)
        lp = lp.reshape(C, L)
        ok = np.isfinite(lp)
        ll = np.zeros((C, L))
        ll[ok] = self._loglik(prop[ok])
        self.n_evals += ok.sum(axis=1)
        log_a = np.full((C, L), -np.inf)
        beta = np.broadcast_to(self.betas, (C, L))
        log_a[ok] = beta[ok] * (ll[ok] - self.ll[ok]) + lp[ok] - self.lp[ok]
        if exact0:
            log_a[:, 0] = 0.0  # independence proposal from the prior is exact at beta = 0
        u = np.stack([g.random(L) for g in self.rngs])
        acc = np.log(u) < log_a
        self.x[acc] = prop[acc]
        self.ll[acc] = ll[acc]
        self.lp[acc] = lp[acc]
        return acc

    def user_moves(self) -> None:
        _, L, d = self.x.shape
        for move in self.spec.moves:
            for c, rng in enumerate(self.rngs):
                out = move(
                    self.x[c].copy(), self.betas.copy(), self.ll[c].copy(), self.lp[c].copy(), rng
                )
                try:
                    x, ll, lp = (np.asarray(o, dtype=float) for o in out)
                except (TypeError, ValueError) as exc:
                    raise ModelError(
                        "a move must return (x, log_likelihood, log_prior) arrays"
                    ) from exc
                if x.shape != (L, d) or ll.shape != (L,) or lp.shape != (L,):
                    raise ModelError(
                        f"a move must return x of shape ({L}, {d}) and log_likelihood/log_prior "
                        f"of shape ({L},); got {x.shape}, {ll.shape}, {lp.shape}"
                    )
                _check_values(ll, x, "log_likelihood (from a move)", allow_neg_inf=False)
                if np.any(~np.isfinite(lp)):
                    raise ModelError("a move returned a state with zero prior density")
                self.x[c], self.ll[c], self.lp[c] = x, ll, lp

    def swap_step(self, parity: int) -> tuple[np.ndarray, np.ndarray]:
        """Deterministic even–odd neighbour swaps (Okabe et al. 2001; Syed et al. 2022)."""
        C, L = self.ll.shape
        i = np.arange(parity, L - 1, 2)
        log_a = (self.betas[i + 1] - self.betas[i]) * (self.ll[:, i] - self.ll[:, i + 1])
        u = np.stack([g.random(i.size) for g in self.rngs])
        acc = np.log(u) < log_a
        rows, cols = np.nonzero(acc)
        j = i[cols]
        perm = np.tile(np.arange(L), (C, 1))
        perm[rows, j], perm[rows, j + 1] = j + 1, j
        self.x = np.take_along_axis(self.x, perm[..., None], axis=1)
        self.ll = np.take_along_axis(self.ll, perm, axis=1)
        self.lp = np.take_along_axis(self.lp, perm, axis=1)
        self.walker = np.take_along_axis(self.walker, perm, axis=1)
        return i, acc

    # -- adaptation
    def adapt_proposals(self, acc: np.ndarray, refresh: bool) -> None:
        self.t_adapt += 1
        t = self.t_adapt
        gain = 1.0 / (t + 1) ** 0.6
        self.log_scale += gain * (acc.astype(float) - self.spec.target_acceptance)
        eta = max(1.0 / (t + 20), 1.0 / 300)
        diff = self.x - self.mu
        self.mu += eta * diff
        self.cov = (1 - eta) * (self.cov + eta * np.einsum("cli,clj->clij", diff, diff))
        if refresh:
            self.chol = self._cholesky(self.cov)

    def adapt_ladder(self, attempts: np.ndarray, accepts: np.ndarray) -> None:
        """Redistribute (and re-count) the rungs so that every pair has the same swap rate near 0.35.

        The communication barrier Λ(β) is estimated as the cumulative sum of the pair rejection rates
        and the new ladder puts equal barrier between neighbours (Syed, Bouchard-Côté, Deligiannidis &
        Doucet 2022, §5.1); the number of rungs is set so that the per-pair rejection is 1 − 0.35.
        Only used with one chain per batch (each chain adapts its own ladder).
        """
        rate = np.where(attempts > 0, accepts / np.maximum(attempts, 1), 0.5)
        rej = np.clip(1.0 - rate, 0.02, 1.0)
        lam = np.concatenate([[0.0], np.cumsum(rej)])
        n_pairs_old = self.betas.size - 1
        n_pairs = math.ceil(lam[-1] / (1.0 - _TARGET_SWAP))
        n_pairs = int(
            np.clip(n_pairs, max(1, n_pairs_old // 2), min(2 * n_pairs_old + 1, _MAX_RUNGS - 1))
        )
        new = np.interp(np.linspace(0.0, lam[-1], n_pairs + 1), lam, self.betas)
        new[0], new[-1] = 0.0, 1.0
        new = np.maximum.accumulate(new)
        if np.any(np.diff(new) <= 0):
            return
        # each new rung takes the state and proposal of the nearest old rung
        src = np.abs(new[:, None] - self.betas[None, :]).argmin(axis=1)
        self.betas = new
        self.x, self.ll, self.lp = self.x[:, src], self.ll[:, src], self.lp[:, src]
        self.cov, self.mu = self.cov[:, src], self.mu[:, src]
        self.log_scale, self.chol = self.log_scale[:, src], self.chol[:, src]

    # -- driver
    def run(self) -> list[dict[str, Any]]:
        spec = self.spec
        C = len(self.rngs)
        self.walker = np.tile(np.arange(self.betas.size), (C, 1))
        n_ladder = int(0.6 * spec.n_burn) if spec.adaptive else 0
        window = max(50, n_ladder // 6) if spec.adaptive else 0
        att = np.zeros(self.betas.size - 1)
        accs = np.zeros(self.betas.size - 1)
        for t in _sweeps(spec.n_burn, spec.progress, f"REMC burn-in ({C} chains)"):
            acc = self.rw_step() if spec.random_walk else None
            self.user_moves()
            if spec.random_walk:
                self.adapt_proposals(acc, refresh=(t % 10 == 9))
            pairs, sacc = self.swap_step(t % 2)
            if t < n_ladder:
                att[pairs] += C
                accs[pairs] += sacc.sum(axis=0)
                if (t + 1) % window == 0 and n_ladder - (t + 1) >= window // 2:
                    self.adapt_ladder(att, accs)
                    self.walker = np.tile(np.arange(self.betas.size), (C, 1))
                    att = np.zeros(self.betas.size - 1)
                    accs = np.zeros(self.betas.size - 1)
        if spec.random_walk and spec.n_burn:
            self.chol = self._cholesky(self.cov)

        _, L, d = self.x.shape
        n_keep = spec.n_steps // spec.thin
        draws = np.empty((C, n_keep, d))
        draws_ll = np.empty((C, n_keep))
        loglik = np.empty((spec.n_steps, C, L))
        rw_acc = np.zeros((C, L))
        swap_att = np.zeros(L - 1)
        swap_acc = np.zeros((C, L - 1))
        self.walker = np.tile(np.arange(L), (C, 1))
        direction = np.zeros((C, L), dtype=np.int8)  # 0 unknown, 1 heading up, 2 heading down
        direction[:, 0] = 1
        round_trips = np.zeros(C, dtype=np.int64)
        rows = np.arange(C)
        for s in _sweeps(spec.n_steps, spec.progress, f"REMC sampling ({C} chains)"):
            if spec.random_walk:
                rw_acc += self.rw_step()
            self.user_moves()
            loglik[s] = self.ll
            pairs, sacc = self.swap_step((spec.n_burn + s) % 2)
            swap_att[pairs] += 1
            swap_acc[:, pairs] += sacc
            w0, wt = self.walker[:, 0], self.walker[:, -1]
            round_trips += direction[rows, w0] == 2
            direction[rows, w0] = 1
            dt = direction[rows, wt]
            direction[rows, wt] = np.where(dt == 1, 2, dt)
            if (s + 1) % spec.thin == 0:
                k = (s + 1) // spec.thin - 1
                draws[:, k] = self.x[:, -1]
                draws_ll[:, k] = self.ll[:, -1]
        acceptance = rw_acc / spec.n_steps if spec.random_walk else np.full((C, L), np.nan)
        return [
            {
                "betas": self.betas.copy(),
                "draws": draws[c],
                "draws_loglik": draws_ll[c],
                "loglik": loglik[:, c],
                "acceptance": acceptance[c],
                "swap_rates": swap_acc[c] / np.maximum(swap_att, 1),
                "round_trips": int(round_trips[c]),
                "n_evals": int(self.n_evals[c]),
            }
            for c in range(C)
        ]


def _sweeps(n: int, progress: bool, label: str):
    """``range(n)``, with a rich progress bar on stderr when asked."""
    if not progress or n == 0:
        yield from range(n)
        return
    from rich.progress import Progress

    with Progress(transient=True) as bar:
        task = bar.add_task(label, total=n)
        for i in range(n):
            yield i
            if i % 50 == 49 or i == n - 1:
                bar.update(task, completed=i + 1)


def _run_batch(task: tuple[_ChainSpec, Sequence[np.random.Generator]]) -> list[dict[str, Any]]:
    spec, rngs = task
    return _Batch(spec, rngs).run()


# ----------------------------------------------------------------------------------------- result
@dataclass(frozen=True)
class REMCResult(Result):
    """Result of :meth:`ReplicaExchange.fit`.

    ``posterior`` holds the draws of the β = 1 replica as ``theta`` with dims ``(chain, draw, param)``
    (plus ``log_likelihood`` with dims ``(chain, draw)``); ``criterion`` holds the ladder and the
    thermodynamic curve (dims ``(chain, rung)``); ``log_evidence`` ± ``log_evidence_se`` is the
    stepping-stone estimate. Replica-exchange statistics are exposed as properties.
    """

    @property
    def free_energy(self) -> float:
        """Bayes free energy F = −log Z (nats)."""
        return -float(self.log_evidence)

    @property
    def betas(self) -> np.ndarray:
        """Inverse-temperature ladder of each chain, ``(chain, rung)`` (NaN-padded if adaptive)."""
        return self.criterion["beta"].values

    @property
    def swap_rates(self) -> np.ndarray:
        """Swap acceptance of each neighbouring pair, ``(chain, pair)``."""
        return self.criterion["swap_rate"].values

    @property
    def acceptance(self) -> np.ndarray:
        """Random-walk acceptance rate of each rung, ``(chain, rung)``."""
        return self.criterion["acceptance"].values

    @property
    def round_trips(self) -> list[int]:
        """Number of prior → posterior → prior round trips of the replicas, per chain."""
        return list(self.diagnostics["round_trips"])

    def plot(self, ax=None, kind: Literal["thermodynamic", "swap", "posterior"] = "thermodynamic"):
        """Plot the thermodynamic curve ⟨log L⟩_β (default), the swap rates, or the marginals."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(5, 3.5))
        crit = self.criterion
        if kind == "thermodynamic":
            for c in range(crit.sizes["chain"]):
                ax.plot(
                    crit["beta"][c], crit["mean_log_likelihood"][c], "o-", ms=3, label=f"chain {c}"
                )
            ax.set_xscale("symlog", linthresh=float(np.nanmin(crit["beta"].values[:, 1])))
            ax.set_xlabel("inverse temperature β")
            ax.set_ylabel("⟨log L⟩_β")
            ax.set_title(f"log Z = {self.log_evidence:.3f} ± {self.log_evidence_se:.3f}")
        elif kind == "swap":
            for c in range(crit.sizes["chain"]):
                ax.plot(crit["swap_rate"][c], "o-", ms=3, label=f"chain {c}")
            ax.axhspan(0.2, 0.5, color="0.9", zorder=0)
            ax.axhline(0.1, color="r", lw=0.8, ls="--")
            ax.set_xlabel("pair (rung l, l+1)")
            ax.set_ylabel("swap acceptance")
        elif kind == "posterior":
            theta = self.posterior["theta"]
            for p in theta["param"].values:
                ax.hist(
                    theta.sel(param=p).values.ravel(),
                    bins=50,
                    histtype="step",
                    density=True,
                    label=str(p),
                )
            ax.set_xlabel("parameter value")
        else:
            raise ModelError(f"kind must be 'thermodynamic', 'swap' or 'posterior', got {kind!r}")
        ax.legend(loc="best", fontsize="small")
        return ax


# ----------------------------------------------------------------------------------------- sampler
class ReplicaExchange:
    """Replica-exchange Monte Carlo (parallel tempering) with the Bayes free energy.

    Samples the tempered targets :math:`p_β(θ) ∝ L(θ)^β π(θ)` on a ladder
    :math:`0 = β_1 < … < β_L = 1` and returns the posterior (β = 1 replica) together with the log
    evidence :math:`\\log Z = \\log ∫ L(θ) π(θ) dθ` (minus the Bayes free energy) and its Monte-Carlo
    error.

    Parameters
    ----------
    log_likelihood:
        ``log_likelihood(theta)`` → float, for ``theta`` of shape ``(d,)``; with ``vectorized=True``
        it takes an ``(n, d)`` array and returns ``(n,)``. When :meth:`fit` is given ``data`` it is
        called as ``log_likelihood(theta, data)``. Must be finite wherever the prior is positive.
    log_prior:
        ``log_prior(theta)`` → float (normalised prior density; ``-inf`` outside the support). Same
        vectorisation convention. The evidence is only meaningful for a *normalised* prior.
    prior_sample:
        ``prior_sample(rng, n)`` → ``(n, d)`` exact prior draws; used to initialise the replicas, for
        the initial proposal covariance and as an exact (independence) move of the β = 0 rung. If
        ``None``, :meth:`fit` needs ``initial``.
    param_names:
        Names of the ``d`` parameters (default ``theta0`` …).
    betas:
        Explicit ladder (must start at 0, end at 1, strictly increase). Overrides ``n_temps``.
    n_temps, beta_min:
        Geometric ladder :func:`geometric_ladder` (default 24 rungs from β = 1e-4 to 1, γ ≈ 1.5).
    ladder:
        ``"geometric"`` (fixed) or ``"adaptive"``: during the first 60 % of the burn-in the rungs are
        moved, and added or removed, so that every neighbouring pair swaps at ≈ 0.35 (within 0.2–0.5).
    n_steps, n_burn, thin:
        Sweeps kept per chain after burn-in, burn-in sweeps (default ``max(500, n_steps // 2)``), and
        thinning of the stored β = 1 draws (the evidence uses every sweep).
    n_chains:
        Independent runs (ArviZ chains); R-hat needs ≥ 2.
    vectorized:
        Whether ``log_likelihood``/``log_prior`` take ``(n, d)`` arrays (one call per sweep for all
        replicas).
    moves:
        Extra user moves applied every sweep after the random-walk step, each
        ``move(x, betas, log_likelihood, log_prior, rng) -> (x, log_likelihood, log_prior)`` on
        arrays of shape ``(L, d)``, ``(L,)``, ``(L,)``, ``(L,)``; each must leave every ``p_β``
        invariant (e.g. Gibbs or MALA steps with their own accept/reject).
    random_walk:
        Use the built-in adaptive random-walk Metropolis move (set False when ``moves`` suffice).
    target_acceptance:
        Random-walk acceptance aimed at during burn-in (default 0.44 for d = 1, else 0.234; Roberts &
        Rosenthal 2001).
    proposal_cov:
        Initial proposal covariance (default: covariance of 2000 prior draws, else identity × 0.01).
    n_batches:
        Batches for the batch-means Monte-Carlo error (default sqrt(n_steps) in [10, 100]).
    se_method:
        ``"batch"`` (batch means within chains, combined) or ``"runs"`` (spread of the per-chain
        estimates; needs ``n_chains ≥ 3``).
    n_jobs, scheduler:
        Run chains in parallel through :mod:`petroinfer.parallel` (Dask) when ``n_jobs != 1`` or a
        scheduler is given; results are identical to the serial run.
    progress:
        Show a progress bar (serial runs).
    warn:
        Emit a :class:`~petroinfer.errors.ConvergenceWarning` when R-hat > 1.01, bulk ESS < 400 or
        any swap rate < 0.1.
    random_state:
        Seed or Generator; each chain gets an independent child stream (same seed → same result).

    Notes
    -----
    Each sweep (Hukushima & Nemoto 1996; Nagata, Sugita & Okada 2012) applies to every rung l a
    random-walk Metropolis step accepted with probability
    :math:`\\min\\{1, \\exp[β_l(\\ell(θ') - \\ell(θ)) + \\log π(θ') - \\log π(θ)]\\}` (proposal
    covariance and scale adapted during burn-in only, Haario et al. 2001 / Andrieu & Thoms 2008), the
    β = 0 rung receiving an exact prior draw, then swaps of neighbours (deterministic even–odd pairs)
    accepted with probability :math:`\\min\\{1, \\exp[(β_{l+1}-β_l)(\\ell_l - \\ell_{l+1})]\\}`.

    Log evidence, stepping-stone (default; Xie et al. 2011, Nagata et al. 2012):
    :math:`\\log Z = \\sum_{l=1}^{L-1} \\log \\langle e^{(β_{l+1}-β_l)\\ell} \\rangle_{p_{β_l}}`;
    thermodynamic integration (diagnostic):
    :math:`\\log Z = ∫_0^1 \\langle \\ell \\rangle_β dβ` by the trapezoid rule. Per-chain estimates
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
    def _validate(self) -> None:
        for name in ("log_likelihood", "log_prior"):
            if not callable(getattr(self, name)):
                raise ModelError(f"{name} must be callable, got {getattr(self, name)!r}")
        if self.prior_sample is not None and not callable(self.prior_sample):
            raise ModelError("prior_sample must be callable (rng, n) -> (n, d) or None")
        for name, lo in (("n_steps", 1), ("thin", 1), ("n_chains", 1)):
            v = getattr(self, name)
            if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < lo:
                raise ModelError(f"{name} must be an int >= {lo}, got {v!r}")
        if self.n_burn is not None and (
            not isinstance(self.n_burn, (int, np.integer)) or self.n_burn < 0
        ):
            raise ModelError(f"n_burn must be an int >= 0 or None, got {self.n_burn!r}")
        if self.thin > self.n_steps:
            raise ModelError(f"thin ({self.thin}) must not exceed n_steps ({self.n_steps})")
        if self.ladder not in ("geometric", "adaptive"):
            raise ModelError(f"ladder must be 'geometric' or 'adaptive', got {self.ladder!r}")
        if self.se_method not in ("batch", "runs"):
            raise ModelError(f"se_method must be 'batch' or 'runs', got {self.se_method!r}")
        if self.se_method == "runs" and self.n_chains < 3:
            raise ModelError("se_method='runs' needs n_chains >= 3")
        if self.betas is not None:
            validate_ladder(self.betas)
        else:
            geometric_ladder(self.n_temps, self.beta_min)
        if self.target_acceptance is not None and not (0 < self.target_acceptance < 1):
            raise ModelError(
                f"target_acceptance must lie in (0, 1), got {self.target_acceptance!r}"
            )
        nj = self.n_jobs
        if nj is not None and (
            not isinstance(nj, (int, np.integer)) or isinstance(nj, bool) or nj == 0 or nj < -1
        ):
            raise ModelError(f"n_jobs must be a positive int, -1 (all cores) or None, got {nj!r}")
        if not self.random_walk and not self.moves:
            raise ModelError("random_walk=False needs at least one user move in `moves`")
        for m in self.moves:
            if not callable(m):
                raise ModelError(f"every move must be callable, got {m!r}")

    # ------------------------------------------------------------------ fit
    def fit(self, data: Any = None, initial: np.ndarray | None = None) -> REMCResult:
        """Run the chains and estimate the posterior and the log evidence.

        Parameters
        ----------
        data:
            Passed as the second argument of ``log_likelihood`` when not ``None``.
        initial:
            Starting states, ``(d,)``, ``(L, d)`` or ``(n_chains, L, d)`` (default: prior draws).

        Returns
        -------
        REMCResult
        """
        self._validate()
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
        params = {k: v for k, v in hyper.items()}
        params.update(
            beta_min=self.beta_min, se_method=self.se_method, vectorized=bool(self.vectorized)
        )
        meta = make_metadata(
            random_state=self.random_state,
            parameters=params,
            inputs=() if data is None else (_hashable(data),),
            method="replica-exchange Monte Carlo (stepping-stone evidence)",
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


def compare_models(results: Mapping[str, Result]) -> pd.DataFrame:
    """Rank models by log evidence (minimum Bayes free energy).

    Parameters
    ----------
    results:
        ``{model name: Result}`` with ``log_evidence`` (and ideally ``log_evidence_se``).

    Returns
    -------
    pandas.DataFrame
        Index = model names sorted from best; columns ``log_evidence``, ``se``, ``free_energy``
        (F = −log Z), ``delta_free_energy`` (F − F_min) and ``posterior_probability``
        (∝ exp(−F) under equal prior model probabilities; Nagata et al. 2012 §2).

    Examples
    --------
    >>> from petroinfer.inference.results import Result
    >>> import xarray as xr
    >>> r = {"a": Result(xr.Dataset(), log_evidence=-10.0, log_evidence_se=0.1),
    ...      "b": Result(xr.Dataset(), log_evidence=-12.0, log_evidence_se=0.1)}
    >>> compare_models(r).index.tolist()
    ['a', 'b']
    """
    if not results:
        raise ModelError("compare_models needs at least one result")
    rows = {}
    for name, res in results.items():
        if res.log_evidence is None or not np.isfinite(res.log_evidence):
            raise ModelError(f"result {name!r} has no finite log_evidence")
        se = res.log_evidence_se
        rows[name] = (float(res.log_evidence), np.nan if se is None else float(se))
    df = pd.DataFrame.from_dict(rows, orient="index", columns=["log_evidence", "se"])
    df["free_energy"] = -df["log_evidence"]
    df["delta_free_energy"] = df["free_energy"] - df["free_energy"].min()
    w = np.exp(-df["delta_free_energy"].to_numpy())
    df["posterior_probability"] = w / w.sum()
    return df.sort_values("free_energy")
