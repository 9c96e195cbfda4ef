"""One batch of replica-exchange chains: state, moves, swaps, adaptation and the sweep loop.

Part of the implementation behind :mod:`petroinfer.inference.remc`; :class:`ReplicaExchange`
builds a :class:`_ChainSpec` per batch of chains and runs :func:`_run_batch` on each (serially or
through :mod:`petroinfer.parallel`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from petroinfer.errors import InputError, ModelError, format_value
from petroinfer.inference._remc_ladder import geometric_ladder

Move = Callable[..., tuple[np.ndarray, np.ndarray, np.ndarray]]

_TARGET_SWAP = 0.35  # middle of the 0.2–0.5 band
_MAX_RUNGS = 96


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
            f"{name} returned a non-finite value {format_value(float(values[i]))} at parameters "
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
