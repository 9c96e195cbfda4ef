"""Numerical core of :class:`~petroinfer.geochem.EndmemberNMF` (private).

* many random restarts of :class:`sklearn.decomposition.NMF` (the engine), run in parallel chunks;
* stability of the end-members over the restarts (alignment + silhouette, NMFk-style);
* masked-entry cross-validation with weighted multiplicative updates (batched over folds, numpy);
* bootstrap refits warm-started from the point estimate.

Equations (Lee & Seung 2001; weighted form after Ho 2008 / Zhang et al. 1996 for missing entries):

* Frobenius, weights M: H ← H ⊙ Wᵀ(M⊙X) ⊘ Wᵀ(M⊙WH), W ← W ⊙ (M⊙X)Hᵀ ⊘ (M⊙WH)Hᵀ;
* generalised KL, weights M: H ← H ⊙ Wᵀ(M⊙X⊘WH) ⊘ WᵀM, W ← W ⊙ (M⊙X⊘WH)Hᵀ ⊘ MHᵀ.
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn.decomposition import NMF
from sklearn.exceptions import ConvergenceWarning as SkConvergenceWarning
from sklearn.metrics import silhouette_samples
from threadpoolctl import threadpool_limits

_EPS = 1e-12
SK_LOSS = {"kl": "kullback-leibler", "frobenius": "frobenius"}


def divergence(X: np.ndarray, WH: np.ndarray, loss: str, mask: np.ndarray | None = None) -> float:
    """Generalised KL  Σ[x log(x/y) − x + y]  or  ½ Σ (x − y)², over the entries where mask is true."""
    if mask is None:
        mask = np.ones(X.shape, dtype=bool)
    x, y = X[mask], np.maximum(WH[mask], _EPS)
    if loss == "kl":
        with np.errstate(divide="ignore", invalid="ignore"):
            t = np.where(x > 0, x * np.log(x / y), 0.0)
        return float(np.sum(t - x + y))
    return float(0.5 * np.sum((x - y) ** 2))


def _engine(K: int, loss: str, *, init: str, seed: int | None, max_iter: int, tol: float) -> NMF:
    return NMF(
        n_components=K,
        beta_loss=SK_LOSS[loss],
        solver="mu" if loss == "kl" else "cd",
        init=init,
        random_state=seed,
        max_iter=max_iter,
        tol=tol,
    )


def fit_one(X, K, loss, seed, max_iter, tol, W0=None, H0=None):
    """One sklearn NMF fit; returns (W, H, loss value, converged, n_iter)."""
    init = "custom" if W0 is not None else "random"
    model = _engine(K, loss, init=init, seed=seed, max_iter=max_iter, tol=tol)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SkConvergenceWarning)
        if W0 is not None:
            W = model.fit_transform(X, W=W0.copy(), H=H0.copy())
        else:
            W = model.fit_transform(X)
    converged = not any(issubclass(w.category, SkConvergenceWarning) for w in caught)
    H = model.components_
    return W, H, divergence(X, W @ H, loss), converged, int(model.n_iter_)


def restart_chunk(X, K, loss, seeds, max_iter, tol):
    """A chunk of random restarts (the unit of parallel work).

    BLAS is limited to one thread: the matrices are small and parallelism is over restarts, so
    multi-threaded BLAS only adds contention (20× slower on a loaded 2-core machine).
    """
    with threadpool_limits(limits=1):
        return [fit_one(X, K, loss, int(s), max_iter, tol) for s in seeds]


def sparsest_equivalent(
    W: np.ndarray, H: np.ndarray, max_sweeps: int = 50
) -> tuple[np.ndarray, np.ndarray]:
    r"""Among the factorisations equivalent to W H, move towards the one with the sparsest W.

    NMF is not unique: for end-members k ≠ l, :math:`H_k \to H_k + aH_l`,
    :math:`W_{\cdot l} \to W_{\cdot l} - aW_{\cdot k}` leaves WH unchanged and stays non-negative for
    :math:`0 \le a \le \min_i W_{il}/W_{ik}`. Taking the largest admissible a for every ordered pair
    (repeatedly; ratios taken over samples holding at least 50 % of the largest amount of k, so that
    noise in small W entries does not stop the move, clipping at zero) pulls each end-member towards
    the data until some sample rich in k contains none of the other end-member — the minimum-volume, "sufficiently scattered" representative (Fu et al. 2019). With a
    pure-oxide end-member (quartz) this stops SiO2 from being shifted out of garnet [R].
    """
    W, H = W.copy(), H.copy()
    K = H.shape[0]
    for _ in range(max_sweeps):
        moved = False
        for k in range(K):
            for l in range(K):
                if k == l:
                    continue
                wk = W[:, k]
                m = wk > 0.5 * max(wk.max(), _EPS)  # stable ratios: samples rich in k
                if not m.any():
                    continue
                a = float(np.min(W[m, l] / wk[m]))
                if a > 1e-6:
                    H[k] += a * H[l]
                    W[:, l] = np.maximum(W[:, l] - a * wk, 0.0)
                    moved = True
        if not moved:
            break
    return W, H


def normalise_rows(H: np.ndarray) -> np.ndarray:
    return H / np.maximum(H.sum(axis=1, keepdims=True), _EPS)


def align(ref: np.ndarray, H: np.ndarray) -> np.ndarray:
    """Permutation p such that H[p] best matches ref (Hungarian on cosine similarity)."""
    a = ref / np.maximum(np.linalg.norm(ref, axis=1, keepdims=True), _EPS)
    b = H / np.maximum(np.linalg.norm(H, axis=1, keepdims=True), _EPS)
    _, cols = linear_sum_assignment(-(a @ b.T))
    return cols


def stability(Hs: list[np.ndarray], ref: np.ndarray) -> tuple[float, float, np.ndarray]:
    """Silhouette of the end-members of all restarts, clustered by alignment to the reference.

    Returns (minimum cluster silhouette, mean silhouette, per-cluster silhouettes in the row order of
    ``ref``), cosine distance. One end-member (K = 1) is trivially stable: (1, 1, [1]).
    """
    K = ref.shape[0]
    if K == 1:
        return 1.0, 1.0, np.ones(1)
    rows, labels = [], []
    for H in Hs:
        p = align(ref, H)
        rows.append(H[p])
        labels.append(np.arange(K))
    R = np.vstack(rows)
    lab = np.concatenate(labels)
    s = silhouette_samples(R, lab, metric="cosine")
    per_cluster = np.array([s[lab == k].mean() for k in range(K)])
    return float(per_cluster.min()), float(s.mean()), per_cluster


def masked_cv(X, K, loss, n_folds, rng, n_iter=400):
    """Masked-entry cross-validation: each entry is held out in exactly one fold.

    Returns, for every fold, the **median** held-out loss per entry (array of length n_folds). The
    median, not the mean: with few columns a masked row can have an ill-posed W (an end-member seen
    only through near-zero observed entries), whose wild prediction of one held-out entry would
    otherwise dominate the score. All folds are fitted at once with batched weighted multiplicative
    updates.
    """
    n, p = X.shape
    fold = rng.integers(0, n_folds, size=(n, p))
    M = np.stack([(fold != f).astype(float) for f in range(n_folds)])  # 1 = observed (train)
    scale = np.sqrt(max(X.mean(), _EPS) / K)
    W = rng.uniform(0.1, 1.0, size=(n_folds, n, K)) * scale
    H = rng.uniform(0.1, 1.0, size=(n_folds, K, p)) * scale
    MX = M * X
    for _ in range(n_iter):
        WH = np.maximum(W @ H, _EPS)
        if loss == "kl":
            R = MX / WH
            H *= (W.transpose(0, 2, 1) @ R) / np.maximum(W.transpose(0, 2, 1) @ M, _EPS)
            WH = np.maximum(W @ H, _EPS)
            R = MX / WH
            W *= (R @ H.transpose(0, 2, 1)) / np.maximum(M @ H.transpose(0, 2, 1), _EPS)
        else:
            H *= (W.transpose(0, 2, 1) @ MX) / np.maximum(W.transpose(0, 2, 1) @ (M * WH), _EPS)
            WH = W @ H
            W *= (MX @ H.transpose(0, 2, 1)) / np.maximum((M * WH) @ H.transpose(0, 2, 1), _EPS)
    out = np.empty(n_folds)
    for f in range(n_folds):
        test = M[f] == 0
        out[f] = np.median(entry_loss(X[test], (W[f] @ H[f])[test], loss)) if test.any() else np.nan
    return out


def entry_loss(x: np.ndarray, y: np.ndarray, loss: str) -> np.ndarray:
    """Per-entry generalised KL x log(x/y) − x + y, or ½(x − y)²."""
    y = np.maximum(y, _EPS)
    if loss == "kl":
        with np.errstate(divide="ignore", invalid="ignore"):
            t = np.where(x > 0, x * np.log(x / y), 0.0)
        return t - x + y
    return 0.5 * (x - y) ** 2


def bootstrap_chunk(X, W, H, loss, index_sets, max_iter, tol, sparsest=True):
    """Refit on bootstrap resamples of the rows, warm-started from (W[idx], H); returns aligned H's."""
    out = []
    with threadpool_limits(limits=1):
        for idx in index_sets:
            Wb, Hb, _, _, _ = fit_one(
                X[idx], H.shape[0], loss, None, max_iter, tol, W0=W[idx], H0=H
            )
            if sparsest and H.shape[0] > 1:
                Hb = sparsest_equivalent(Wb, Hb)[1]
            out.append(Hb[align(H, Hb)])
    return out
