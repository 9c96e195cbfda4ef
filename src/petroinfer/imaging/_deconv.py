r"""Batched non-negative deconvolution of line scans: operator, solvers and λ criteria.

Arrays are ``(..., n)``: any leading batch dims (isotope, line, bootstrap replicate) and time last.
The unknowns per line are the shot masses ``m`` (n, counts) and a constant baseline ``b`` (counts),
stored as ``x = [m, β]`` with ``b = β/√n`` (so the baseline column has unit norm and the
Lipschitz constant stays O(1)). Each line's objective is divided by its own Lipschitz bound, which
leaves the per-line minimisers unchanged and lets one FISTA run solve all lines at once.
"""

from __future__ import annotations

import numpy as np
from scipy import fft as sfft
from scipy.fft import next_fast_len
from scipy.ndimage import uniform_filter1d

from petroinfer.errors import ModelError
from petroinfer.imaging._deconv_df import sampled_df
from petroinfer.inference.sparse import condat_vu, diff1, diff1_adjoint, fista, richardson_lucy

__all__ = ["Problem", "criteria", "richardson_lucy_path", "solve"]

PENALTIES = ("l2", "d1", "d2", "l1", "tv", "none")
_FLOOR = 1.0  # counts: weight floor 1/max(mu, 1)


class Problem:
    """Line-scan deconvolution data: counts ``s`` (..., n), kernel ``h``, weights and the baseline."""

    def __init__(self, s: np.ndarray, h: np.ndarray, *, fit_baseline: bool = True, coupling=0.0):
        self.s = np.asarray(s, float)
        self.n = self.s.shape[-1]
        h = np.asarray(h, float)[: self.n]
        keep = np.flatnonzero(np.abs(h) > 1e-15 * np.abs(h).max(initial=0.0))
        self.h = h[: keep[-1] + 1] if keep.size else h[:1]  # drop the negligible tail (FFT size)
        self.fit_baseline = fit_baseline
        self.c = 1.0 / np.sqrt(self.n)
        self.coupling = float(coupling)
        self.hsum = float(self.h.sum())

    # ---- operator -------------------------------------------------------------------------
    def _spectrum(self):
        if getattr(self, "_hf", None) is None:
            self._nfft = next_fast_len(self.n + self.h.size - 1, real=True)
            self._hf = sfft.rfft(self.h, self._nfft)
        return self._hf, self._nfft

    def H(self, m: np.ndarray) -> np.ndarray:
        """Blur :math:`Hm` (linear convolution with the kernel, first n samples), by FFT."""
        if self.h.size == 1:
            return m * self.h[0]
        hf, nfft = self._spectrum()
        return sfft.irfft(sfft.rfft(m, nfft, axis=-1) * hf, nfft, axis=-1)[..., : self.n]

    def Ht(self, r: np.ndarray) -> np.ndarray:
        """Adjoint Hᵀr (correlation with the kernel), by FFT."""
        if self.h.size == 1:
            return r * self.h[0]
        hf, nfft = self._spectrum()
        return sfft.irfft(sfft.rfft(r, nfft, axis=-1) * np.conj(hf), nfft, axis=-1)[..., : self.n]

    def split(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return x[..., : self.n], x[..., self.n :] * self.c

    def mu(self, x: np.ndarray) -> np.ndarray:
        m, b = self.split(x)
        return self.H(m) + b

    def initial_weights(self) -> np.ndarray:
        width = max(3, int(np.argmax(np.cumsum(self.h) >= 0.5)) * 2 + 1)
        return 1.0 / np.maximum(uniform_filter1d(self.s, width, axis=-1, mode="nearest"), _FLOOR)

    def initial_x(self, lam: float | None = None, w: np.ndarray | None = None) -> np.ndarray:
        r"""Starting point: baseline = 10 % quantile of each line; shots = the signal above it
        divided by :math:`\sum h`, or (``lam`` and ``w`` given) the Tikhonov–Wiener solution
        :math:`\hat m = \mathcal F^{-1}[\bar h^* \hat s/(|\hat h|^2 + \lambda/\bar w)]` with the
        line-mean weight :math:`\bar w`, clipped at 0 (a warm start for FISTA)."""
        b = np.quantile(self.s, 0.1, axis=-1, keepdims=True)
        r = np.maximum(self.s - b, 0.0) if self.fit_baseline else self.s
        if lam is None or w is None or self.h.size == 1:
            m = r / max(self.hsum, 1e-12)
        else:
            nfft = next_fast_len(self.n + self.h.size - 1, real=True)
            hf = np.fft.rfft(self.h, nfft)
            ratio = np.asarray(lam, float) / np.maximum(np.mean(w, axis=-1, keepdims=True), 1e-300)
            sf = np.fft.rfft(r, nfft, axis=-1)
            m = np.fft.irfft(np.conj(hf) * sf / (np.abs(hf) ** 2 + ratio), nfft, axis=-1)
            m = np.maximum(m[..., : self.n], 0.0)
        return np.concatenate([m, b / self.c if self.fit_baseline else 0 * b], axis=-1)


def _pen_matrix_norm(penalty: str) -> float:
    return {"l2": 1.0, "d1": 4.0, "d2": 16.0}.get(penalty, 0.0)


def _d2(m):
    return np.diff(m, 2, axis=-1)


def _d2t(y):
    return diff1_adjoint(diff1_adjoint(y))


def _quad_pen_grad(m: np.ndarray, penalty: str) -> np.ndarray:
    if penalty == "l2":
        return m
    if penalty == "d1":
        return diff1_adjoint(diff1(m))
    if penalty == "d2":
        return _d2t(_d2(m))
    return np.zeros_like(m)


def penalty_value(m: np.ndarray, penalty: str) -> np.ndarray:
    """Penalty seminorm per line (sum over the last axis): ‖m‖², ‖Dm‖², ‖D²m‖², Σm or TV."""
    if penalty == "l2":
        return np.sum(m * m, axis=-1)
    if penalty == "d1":
        return np.sum(diff1(m) ** 2, axis=-1)
    if penalty == "d2":
        return np.sum(_d2(m) ** 2, axis=-1)
    if penalty == "l1":
        return np.sum(np.abs(m), axis=-1)
    if penalty == "tv":
        return np.sum(np.abs(diff1(m)), axis=-1)
    return np.zeros(m.shape[:-1])


def solve(
    prob: Problem,
    lam: float | np.ndarray,
    penalty: str,
    w: np.ndarray,
    x0: np.ndarray,
    *,
    tol: float = 1e-7,
    max_iter: int = 3000,
    precondition: bool = True,
) -> tuple[np.ndarray, bool, int]:
    r"""Minimise :math:`\tfrac12\lVert W^{1/2}(Hm + b - s)\rVert^2 + \text{penalty}` over m, b ≥ 0.

    ``lam`` broadcasts against the batch dims (shape ``(..., 1)``). Returns ``(x, converged,
    n_iter)``. FISTA with a diagonal (row-sum) metric when ``precondition`` (Condat–Vũ for TV).
    """
    if penalty not in PENALTIES:
        raise ModelError(f"unknown penalty {penalty!r}; choose one of {PENALTIES}")
    w = np.broadcast_to(w, prob.s.shape)
    return _solve_batch(prob, lam, penalty, w, x0, tol, max_iter, precondition)[:3]


def _abs_tol(prob, w, lam, penalty, tol):
    """Gradient-mapping tolerance (per-line-scaled units) of the whole batch."""
    scale = 1.0 / _lipschitz(prob, w, lam, penalty)
    return tol * (float(np.max(np.abs(prob.s))) + 1.0) * float(scale.max())


def _lipschitz(prob, w, lam, penalty):
    lip = np.max(w, axis=-1, keepdims=True) * (prob.hsum**2 + (1.0 if prob.fit_baseline else 0.0))
    if penalty in ("l2", "d1", "d2"):
        lip = lip + lam * _pen_matrix_norm(penalty)
    if prob.coupling > 0:
        lip = np.full_like(lip, lip.max() + 4.0 * prob.coupling)
    return lip


def _solve_batch(prob, lam, penalty, w, x0, tol, max_iter, precondition, abs_tol=None):
    """One FISTA (or Condat–Vũ) run over the whole batch; also returns the per-line gradient
    mapping (max-norm) at the end."""
    n = prob.n
    lam = np.broadcast_to(np.asarray(lam, float), (*prob.s.shape[:-1], 1)) * (penalty != "none")
    quad = penalty in ("l2", "d1", "d2")
    gam = prob.coupling
    scale = 1.0 / _lipschitz(prob, w, lam, penalty)  # per-line (or global) objective scaling
    mask = np.ones(n + 1)
    if not prob.fit_baseline:
        mask[n] = 0.0

    def grad(x):
        m = x[..., :n]
        r = prob.mu(x) - prob.s
        wr = w * r
        gm = prob.Ht(wr)
        if quad:
            gm = gm + lam * _quad_pen_grad(m, penalty)
        if gam > 0 and m.ndim >= 2 and m.shape[-2] > 1:
            gm = gm + gam * diff1_adjoint(diff1(m, axis=-2), axis=-2)
        gb = prob.c * np.sum(wr, axis=-1, keepdims=True)
        return np.concatenate([gm, gb], axis=-1) * scale * mask

    if penalty == "tv":
        res = condat_vu(
            grad,
            lambda v, t: np.maximum(v, 0.0),
            lambda v, s: np.clip(v, -lam * scale, lam * scale),
            lambda x: diff1(x[..., :n]),
            lambda y: np.concatenate([diff1_adjoint(y), np.zeros((*y.shape[:-1], 1))], -1),
            x0,
            lipschitz=1.0,
            norm_K=2.0,
            tol=tol,
            max_iter=max_iter,
        )
        return res.x, res.converged, res.n_iter, None

    thr = (lam * scale) if penalty == "l1" else 0.0
    thr_mask = np.zeros(n + 1)
    thr_mask[:n] = 1.0

    def f_grad(x):
        return 0.0, grad(x)

    def prox(v, step):
        return np.maximum(v - step * thr * thr_mask, 0.0)

    metric = None
    if precondition:
        pen_row = lam * _pen_matrix_norm(penalty) if quad else 0.0
        metric = (_row_sums(prob, w) + pen_row + 4.0 * gam) * scale
        metric = np.maximum(metric, 1e-12 * metric.max(axis=-1, keepdims=True))
    if abs_tol is None:
        abs_tol = tol * (float(np.max(np.abs(prob.s))) + 1.0) * float(scale.max())
    res = fista(f_grad, prox, x0, 1.0, tol=abs_tol, max_iter=max_iter, metric=metric)
    d = 1.0 if metric is None else metric
    step = 1.0 / d
    gmap = np.abs(d * (res.x - prox(res.x - step * grad(res.x), step)))
    return res.x, res.converged, res.n_iter, gmap.reshape(-1, n + 1).max(axis=-1)


def _row_sums(prob: Problem, w: np.ndarray) -> np.ndarray:
    r"""Row sums :math:`B^\top W B\mathbf 1` of the data Hessian (entrywise ≥ 0, so their diagonal
    majorises it: a diagonal metric for preconditioned FISTA), ``B = [H, c\mathbf 1]``."""
    n = prob.n
    c = prob.c if prob.fit_baseline else 0.0
    wb = w * (prob.H(np.ones(n)) + c)
    rm = prob.Ht(wb)
    rb = c * np.sum(wb, axis=-1, keepdims=True) if prob.fit_baseline else np.ones_like(rm[..., :1])
    return np.concatenate([rm, rb], axis=-1)


def _sampled_lines(prob, x, w, lam, max_lines, *, baseline=False):
    """Active-set designs of at most ``max_lines`` evenly spaced lines of the batch.

    Yields ``(A, act, lam_i)`` with ``A = W^{1/2} [H[:, act], c 1]`` (the baseline column only with
    ``baseline=True``; ``H`` column j = response of a shot at j) — the local linearisation of the
    non-negative problem on its active set, dense."""
    n = prob.n
    flat_x = x.reshape(-1, n + 1)
    flat_w = w.reshape(-1, n)
    flat_l = np.broadcast_to(lam, (*x.shape[:-1], 1)).reshape(-1)
    idx = np.unique(
        np.linspace(0, flat_x.shape[0] - 1, min(max_lines, flat_x.shape[0])).astype(int)
    )
    Hfull = prob.H(np.eye(n)).T
    for i in idx:
        act = flat_x[i, :n] > 0
        cols = Hfull[:, act]
        if baseline:
            cols = np.column_stack([cols, np.full(n, prob.c)])
        yield cols * np.sqrt(flat_w[i])[:, None], act, flat_l[i]


DF_LINES = 64  # lines per isotope sampled for the GCV degrees of freedom (all when fewer)


def _df_quadratic(prob, x, w, lam, penalty, max_lines=DF_LINES):
    """Effective degrees of freedom on the active set (local linearisation), mean over at most
    ``max_lines`` evenly spaced lines, by block-banded selected inversion (``_deconv_df``);
    the dense trace is the fallback for a singular active-set design."""

    def dense(i):
        return _df_dense(prob, x.reshape(-1, prob.n + 1)[i], _flat_w(prob, x, w)[i],
                         _flat_lam(x, lam)[i], penalty)  # fmt: skip

    return float(np.mean(sampled_df(prob, x, w, lam, penalty, max_lines, dense_fallback=dense)))


def _flat_w(prob, x, w):
    return np.broadcast_to(w, (*x.shape[:-1], prob.n)).reshape(-1, prob.n)


def _flat_lam(x, lam):
    return np.broadcast_to(np.asarray(lam, float), (*x.shape[:-1], 1)).reshape(-1)


def _df_dense(prob, x_line, w_line, lam_i, penalty):
    """Reference df of one line: the dense trace ``tr(G⁻¹AᵀA)`` (O(|A|³)); the matrix rank of
    the design when unpenalised or when ``G`` is singular."""
    n = prob.n
    act = x_line[:n] > 0
    A = prob.H(np.eye(n)).T[:, act]
    if prob.fit_baseline:
        A = np.column_stack([A, np.full(n, prob.c)])
    A = A * np.sqrt(w_line)[:, None]
    G = A.T @ A
    if penalty in ("l2", "d1", "d2"):
        eye = np.eye(n)
        L = {"l2": eye, "d1": np.diff(eye, axis=0), "d2": np.diff(eye, 2, axis=0)}[penalty]
        P = L[:, act].T @ L[:, act]
        if prob.fit_baseline:
            P = np.pad(P, ((0, 1), (0, 1)))
        G = G + lam_i * P
    else:  # unpenalised: tr(G⁻¹G) is the rank of the design
        return float(np.linalg.matrix_rank(A))
    try:
        return float(np.trace(np.linalg.solve(G, A.T @ A)))
    except np.linalg.LinAlgError:
        return float(np.linalg.matrix_rank(A))


def _log_evidence_l2(prob, x, w, lam, chi2, pen, max_lines=16):
    """Laplace (active-set) log evidence of the Gaussian-prior Tikhonov model, mean per line."""
    vals = []
    for A, act, lam_i in _sampled_lines(prob, x, w, lam, max_lines):
        G = A.T @ A + lam_i * np.eye(int(act.sum()))
        _, logdet = np.linalg.slogdet(G)
        vals.append(0.5 * act.sum() * np.log(lam_i) - 0.5 * logdet)
    flat_l = np.broadcast_to(lam, (*x.shape[:-1], 1)).reshape(-1)
    return float(np.mean(vals)) * chi2.size - 0.5 * np.sum(chi2) - 0.5 * np.sum(pen * flat_l[0])


def criteria(prob, x, w, lam, penalty, *, want_df=True, want_evidence=False) -> dict[str, float]:
    """χ², deviance, penalty, df, GCV, evidence and mass summed over the batch (one isotope)."""
    m, b = prob.split(x)
    mu = prob.H(m) + b
    r = mu - prob.s
    wm = 1.0 / np.maximum(mu, _FLOOR)
    chi2 = np.sum(wm * r * r, axis=-1)
    s = prob.s
    with np.errstate(divide="ignore", invalid="ignore"):
        dev = 2 * np.sum(np.where(s > 0, s * np.log(s / np.maximum(mu, 1e-12)), 0) - (s - mu), -1)
    pen = penalty_value(m, penalty)
    N = float(np.prod(prob.s.shape))
    out = {
        "chi2": float(np.sum(chi2)),
        "deviance": float(np.sum(dev)),
        "n_data": N,
        "penalty": float(np.sum(pen)),
        "mass_ratio": float(np.sum(prob.H(m)) / max(np.sum(s - b), 1e-12)),
        "active": float(np.mean(np.sum(m > 0, axis=-1))),
    }
    lines = N / prob.n
    if want_df:
        if penalty in ("l2", "d1", "d2") or penalty == "none":
            df = _df_quadratic(prob, x, w, lam, penalty)
        elif penalty == "l1":
            df = out["active"] + prob.fit_baseline
        else:  # tv: constant pieces of the positive part
            d = np.abs(diff1(m)) > 1e-9 * (1 + np.abs(m).max())
            df = float(np.mean(np.sum(d, -1) + 1)) + prob.fit_baseline
        out["df"] = df * lines
        out["gcv"] = N * out["chi2"] / max(N - out["df"], 1.0) ** 2
    if want_evidence:
        out["log_evidence"] = _log_evidence_l2(prob, x, w, lam, chi2, pen)
    return out


def richardson_lucy_path(prob: Problem, checkpoints: np.ndarray, background: np.ndarray):
    """RL iterates at the given iteration counts (batched); yields ``(k, m)``."""
    s = prob.s
    m = np.full_like(s, max(float(np.mean(np.maximum(s - background, 0))), 1e-3))
    done = 0
    for k in checkpoints:
        m, _ = richardson_lucy(prob.H, prob.Ht, s, m, background=background, n_iter=int(k) - done)
        done = int(k)
        yield done, m


def solve_exact(prob: Problem, lam, penalty: str, w: np.ndarray) -> np.ndarray:
    r"""Line-by-line exact solve: active-set NNLS on the augmented system (quadratic penalties) or
    coordinate-descent non-negative lasso (``l1``); for short scans and few lines."""
    from petroinfer.inference.sparse import nnls, nonneg_lasso_gram

    n = prob.n
    Hfull = prob.H(np.eye(n)).T
    L = {"l2": np.eye(n), "d1": np.diff(np.eye(n), axis=0), "d2": np.diff(np.eye(n), 2, axis=0)}
    flat_s = prob.s.reshape(-1, n)
    flat_w = np.broadcast_to(w, prob.s.shape).reshape(-1, n)
    flat_l = np.broadcast_to(np.asarray(lam, float), (*prob.s.shape[:-1], 1)).reshape(-1)
    out = np.zeros((flat_s.shape[0], n + 1))
    cols = np.column_stack([Hfull, np.full(n, prob.c)]) if prob.fit_baseline else Hfull
    for i in range(flat_s.shape[0]):
        sw = np.sqrt(flat_w[i])
        A = cols * sw[:, None]
        y = flat_s[i] * sw
        if penalty == "l1":
            lam_w = np.ones(A.shape[1])
            if prob.fit_baseline:
                lam_w[-1] = 0.0
            x = nonneg_lasso_gram(A.T @ A, A.T @ y, flat_l[i], lam_w, max_iter=5000, tol=1e-12)
        else:
            if penalty in L:
                P = np.sqrt(flat_l[i]) * L[penalty]
                if prob.fit_baseline:
                    P = np.column_stack([P, np.zeros(P.shape[0])])
                A = np.vstack([A, P])
                y = np.concatenate([y, np.zeros(P.shape[0])])
            x, _ = nnls(A, y, max_iter=50 * A.shape[1])
        out[i, : x.size] = x
    return out.reshape((*prob.s.shape[:-1], n + 1))
