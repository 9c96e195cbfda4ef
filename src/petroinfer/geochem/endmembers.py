"""End-member decomposition of whole-rock compositions by non-negative matrix factorisation.

:class:`EndmemberNMF` reconstructs the NMF end-member analysis of Yoshida et al. (2018, J. Metamorph.
Geol. 36:41) with scikit-learn's :class:`~sklearn.decomposition.NMF` as the engine, and chooses the
number of end-members from the data (reconstruction error, stability over random restarts as in NMFk,
masked-entry cross-validation). The preprocessing and the K rule are a reconstruction [R]: the paper's
full text was not available (geochem.md §1, §9.2).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
import xarray as xr
from joblib import Parallel, delayed
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted
from threadpoolctl import threadpool_limits

from petroinfer._rng import RandomState, as_generator
from petroinfer.errors import ConvergenceWarning, InputError, ModelError
from petroinfer.geochem import _nmf_core as core
from petroinfer.geochem._tables import UNIT_TO_WTPCT, as_numeric_frame, column_units, to_wtpct
from petroinfer.inference.results import Result, make_metadata

__all__ = ["EndmemberNMF", "EndmemberResult"]


@dataclass(frozen=True)
class EndmemberResult(Result):
    """:class:`~petroinfer.inference.results.Result` of :class:`EndmemberNMF`.

    ``estimate`` holds ``endmembers`` (endmember × element, input units, closed to 100 wt%),
    ``endmembers_lower`` / ``endmembers_upper`` (bootstrap 95 % interval) and ``proportions``
    (sample × endmember, mass fractions). ``criterion`` holds the three K-selection curves over ``k``:
    ``reconstruction_error``, ``stability`` (minimum cluster silhouette over restarts),
    ``stability_mean``, ``cv_error`` and ``cv_se``.

    Parameters
    ----------
    estimate : xarray.Dataset
        ``endmembers`` (dims ``(endmember, element)``, input units, closed to 100 wt%), with
        bootstrap runs ``endmembers_lower`` / ``endmembers_upper`` (95 % interval);
        ``endmember_stability`` (dim ``endmember``, mean cosine silhouette over the restarts) and
        ``proportions`` (dims ``(sample, endmember)``, mass fractions).
    posterior : xarray.Dataset or None
        Not used (``None``): the uncertainty is the bootstrap interval in ``estimate``.
    log_evidence : float or None
        Not computed (``None``).
    log_evidence_se : float or None
        Not computed (``None``).
    diagnostics : Mapping
        ``reconstruction_error`` of the final fit, ``n_restarts``, ``converged_fraction_at_k``
        (share of restarts that converged at the chosen K) and ``n_bootstrap``.
    hyperparameters : Mapping
        ``n_components`` (the chosen K), ``loss``, ``scaling``, ``k_rule`` (how K was chosen) and
        the ``units`` of each input column.
    criterion : xarray.Dataset or None
        The K-selection table over dim ``k`` (see above; also ``converged_fraction``).
    metadata : Mapping
        Provenance: package version, seed, parameters, input hash.
    """

    def summary(self, hdi_prob: float = 0.9, *, n_highlight: int = 3) -> pd.DataFrame:
        r"""One row per end-member: composition highlights, proportions and stability.

        Per-sample proportions stay in ``estimate["proportions"]`` (and
        :attr:`EndmemberNMF.proportions_`); this table is the compact overview.

        Parameters
        ----------
        hdi_prob : float, default 0.9
            Accepted for the :meth:`Result.summary` signature; unused (no posterior draws).
        n_highlight : int, default 3
            Number of elements listed in ``enriched_in``.

        Returns
        -------
        pandas.DataFrame
            Indexed by ``endmember``; columns

            * ``enriched_in`` — up to ``n_highlight`` elements with the largest enrichment
              :math:`e_{kj} = H_{kj} / \bar H_{\cdot j} > 1` over the mean of the end-members
              (the largest one if none exceeds 1), written ``"K2O ×4.00; Rb ×3.96; ..."``;
            * ``mean_proportion``, ``sd_proportion`` (sample SD, ddof = 1), ``max_proportion`` —
              of the mass fraction over the samples;
            * ``stability`` — mean cosine silhouette of the end-member's cluster over the random
              restarts (NMFk, Alexandrov & Vesselinov 2014; 1 = identical in every restart);
            * ``composition_ci95_rel`` (with bootstrap) — median over elements of the 95 %
              interval width divided by the estimate, for entries ≥ 5 % of the element's largest
              end-member value.

        Examples
        --------
        >>> from petroinfer.geochem import EndmemberNMF
        >>> from petroinfer.geochem.synthetic import make_endmember_mixtures
        >>> truth = make_endmember_mixtures(120, random_state=0)
        >>> nmf = EndmemberNMF(n_components=4, n_bootstrap=0, n_restarts=5, random_state=0)
        >>> nmf.fit(truth.data).result_.summary().shape[0]
        4
        """
        e = self.estimate
        em = e["endmembers"].to_pandas()
        names = list(em.index)
        enrich = em / em.mean(axis=0).replace(0.0, np.nan)
        highlights = []
        for k in names:
            ranked = enrich.loc[k].dropna().sort_values(ascending=False)
            top = ranked[ranked > 1.0].head(int(n_highlight))
            top = top if len(top) else ranked.head(1)
            highlights.append("; ".join(f"{el} ×{v:.2f}" for el, v in top.items()))
        P = e["proportions"].to_pandas()
        out = pd.DataFrame(
            {
                "enriched_in": highlights,
                "mean_proportion": P.mean(axis=0).reindex(names).to_numpy(),
                "sd_proportion": P.std(axis=0, ddof=1).reindex(names).to_numpy(),
                "max_proportion": P.max(axis=0).reindex(names).to_numpy(),
            },
            index=pd.Index(names, name="endmember"),
        )
        if "endmember_stability" in e:
            out["stability"] = e["endmember_stability"].to_pandas().reindex(names).to_numpy()
        if "endmembers_lower" in e:
            est = em.to_numpy()
            width = (e["endmembers_upper"] - e["endmembers_lower"]).to_numpy()
            big = est >= 0.05 * est.max(axis=0, keepdims=True)
            rel = np.where(big & (est > 0), width / np.where(est > 0, est, 1.0), np.nan)
            out["composition_ci95_rel"] = np.nanmedian(rel, axis=1)
        return out

    def plot(self, ax=None):
        """Bar chart of the end-member compositions (normalised to the data mean per element)."""
        import matplotlib.pyplot as plt

        em = self.estimate["endmembers"]
        rel = em / em.mean("endmember")
        if ax is None:
            _, ax = plt.subplots(figsize=(7, 3.5))
        K = em.sizes["endmember"]
        x = np.arange(em.sizes["element"])
        w = 0.8 / K
        for k in range(K):
            ax.bar(x + k * w, rel.isel(endmember=k), width=w, label=str(em["endmember"].values[k]))
        ax.set_xticks(x + 0.4 - w / 2, em["element"].values, rotation=60)
        ax.set_xlabel("element (oxide wt% or element ppm)")
        ax.set_ylabel("end-member / mean of end-members (ratio)")
        ax.legend(fontsize="small")
        return ax

    def plot_k_selection(self, axes=None):
        """The three K-selection curves with the chosen K marked."""
        import matplotlib.pyplot as plt

        c = self.criterion
        if axes is None:
            _, axes = plt.subplots(1, 3, figsize=(10, 3))
        k = c["k"].values
        axes[0].plot(k, c["reconstruction_error"], "o-")
        axes[0].set_ylabel("reconstruction error")
        axes[0].set_yscale("log")
        axes[1].plot(k, c["stability"], "o-", label="min cluster")
        axes[1].plot(k, c["stability_mean"], "s--", label="mean")
        axes[1].set_ylabel("silhouette over restarts")
        axes[1].legend(fontsize="small")
        axes[2].errorbar(k, c["cv_error"], yerr=c["cv_se"], fmt="o-")
        axes[2].set_ylabel("masked-entry CV error")
        axes[2].set_yscale("log")
        for ax in axes:
            ax.axvline(self.hyperparameters["n_components"], color="0.6", ls=":")
            ax.set_xlabel("K")
        return axes


class EndmemberNMF(TransformerMixin, BaseEstimator):
    r"""NMF end-member analysis of compositions, with K chosen from the data.

    Model: :math:`X \approx W H` with :math:`X` (n samples × p elements, all in wt% after converting
    ppm ×10⁻⁴), :math:`W, H \ge 0`. Columns are scaled, :math:`\tilde X = X\,\mathrm{diag}(1/s)`
    (``scaling="mean"``: :math:`s_j` = column mean), so that SiO2 does not swamp the minor and trace
    elements; the factorisation of :math:`\tilde X` gives :math:`\tilde H`, and end-members are reported
    in input units as :math:`H = \tilde H\,\mathrm{diag}(s)` closed to 100 wt% (the closure constant
    moves into :math:`W`). Because the mixing is linear in mass, the rows of :math:`W` divided by their
    sums are the **mass fractions** of the end-members in each sample.

    Losses: generalised Kullback–Leibler :math:`\sum[x\log(x/y) - x + y]` (the PLSA / topic-model
    form, default) or Frobenius :math:`\tfrac12\|X - WH\|^2`; multiplicative updates (Lee & Seung 2001)
    for KL and coordinate descent for Frobenius, both by scikit-learn.

    Choice of K (``n_components="auto"``), all curves stored in ``k_selection_`` and ``result_``:

    1. reconstruction error of the best of ``n_restarts`` random restarts, per K;
    2. stability: the end-members of all restarts are aligned to the best one (Hungarian matching on
       cosine similarity) and the silhouette of that clustering is computed (cosine distance); the
       minimum cluster silhouette is the stability score (NMFk: Alexandrov & Vesselinov 2014);
    3. masked-entry cross-validation: entries are split into ``cv_folds`` folds, each fold held out in
       turn and predicted by a weighted NMF fitted to the rest (Wold 1978; Owen & Perry 2009).

    Rule: :math:`K_{cv}` is the smallest K whose CV error is within one standard error of the minimum
    (one-SE rule); the chosen K is the largest K ≤ :math:`K_{cv}` with stability ≥
    ``stability_threshold`` [R].

    Parameters
    ----------
    n_components : int or "auto", default "auto"
        Number of end-members K, or ``"auto"`` to choose it (rule above).
    loss : {"kl", "frobenius"}, default "kl"
        Generalised Kullback–Leibler or Frobenius loss.
    scaling : {"mean", "none"}, default "mean"
        Column scaling before the factorisation.
    units : str or mapping of str to str, default "auto"
        ``"auto"``, one unit for all columns, or a mapping column → ``"wt%"`` | ``"ppm"`` |
        ``"ppb"``. ``"auto"`` reads units from the DataFrame column names (oxides wt%, elements
        ppm, ``_ppm`` / ``_pct`` suffixes); a bare array is taken as one common unit (no totals
        check).
    k_range : sequence of int, optional
        Candidate K values (default 1 … min(8, p, n − 1)).
    n_restarts : int, default 50
        Random restarts per K (≥ 50 recommended for the stability curve).
    cv_folds : int, default 5
        Folds of the masked-entry cross-validation.
    stability_threshold : float, default 0.8
        Minimum cluster silhouette for a K to count as stable.
    n_bootstrap : int, default 100
        Bootstrap resamples of the samples for end-member intervals (0 = none).
    max_iter : int, default 400
        Iterations of scikit-learn's NMF per restart.
    tol : float, default 1e-4
        Tolerance of scikit-learn's NMF.
    sparsest : bool, default True
        Resolve NMF's rotational ambiguity by moving, among factorisations with the same WH, to the
        one with the sparsest proportions (end-members pulled towards the data; minimum-volume
        representative, see :func:`petroinfer.geochem._nmf_core.sparsest_equivalent`) [R].
    max_total : float, default 105.0
        Largest accepted analysis total in wt% (after ppm → wt%); a row above it is refused as a
        probable units mix-up. Raise it for unnormalised analyses with high totals.
    n_jobs : int, optional
        Parallel workers for restarts and bootstrap (joblib; -1 = all cores; default in-process).
    random_state : int, numpy Generator or None, default None
        Seed of restarts, folds and bootstrap.

    Attributes
    ----------
    n_components_ : int
        The chosen K.
    endmembers_ : pandas.DataFrame
        End-member compositions (K × p) in input units, closed to 100 wt%.
    endmembers_lower_, endmembers_upper_ : pandas.DataFrame or None
        Bootstrap 2.5 % / 97.5 % quantiles (same layout).
    proportions_ : pandas.DataFrame
        Mass fractions (n × K) of the training samples.
    components_ : ndarray of shape (K, p)
        Factor :math:`\tilde H` in scaled units (scikit-learn layout).
    scale_ : pandas.Series
        Column scale :math:`s` (wt%).
    units_ : dict of str to str
        Column → unit.
    k_selection_ : pandas.DataFrame
        All K-selection curves, indexed by K.
    endmember_stability_ : pandas.Series
        Mean cosine silhouette of each end-member over the restarts (K,).
    result_ : EndmemberResult
        The Result (estimate, criterion, hyperparameters, metadata).

    Notes
    -----
    References: Lee, D.D. & Seung, H.S. (2001) NIPS 13:556; Hofmann, T. (1999) PLSA, UAI;
    Alexandrov, B.S. & Vesselinov, V.V. (2014) Water Resour. Res. 50:7332 (NMFk); Owen, A.B. &
    Perry, P.O. (2009) Ann. Appl. Stat. 3:564 (bi-cross-validation); Yoshida, K. et al. (2018) J.
    Metamorph. Geol. 36:41.

    Examples
    --------
    >>> from petroinfer.geochem.synthetic import make_endmember_mixtures
    >>> truth = make_endmember_mixtures(120, random_state=0)
    >>> nmf = EndmemberNMF(n_components=4, n_bootstrap=0, n_restarts=5, random_state=0)
    >>> nmf.fit(truth.data).proportions_.shape
    (120, 4)
    """

    def __init__(
        self,
        n_components: int | Literal["auto"] = "auto",
        *,
        loss: Literal["kl", "frobenius"] = "kl",
        scaling: Literal["mean", "none"] = "mean",
        units: str | Mapping[str, str] = "auto",
        k_range: Sequence[int] | None = None,
        n_restarts: int = 50,
        cv_folds: int = 5,
        stability_threshold: float = 0.8,
        n_bootstrap: int = 100,
        max_iter: int = 400,
        tol: float = 1e-4,
        sparsest: bool = True,
        max_total: float = 105.0,
        n_jobs: int | None = None,
        random_state: RandomState = None,
    ) -> None:
        self.n_components = n_components
        self.loss = loss
        self.scaling = scaling
        self.units = units
        self.k_range = k_range
        self.n_restarts = n_restarts
        self.cv_folds = cv_folds
        self.stability_threshold = stability_threshold
        self.n_bootstrap = n_bootstrap
        self.max_iter = max_iter
        self.tol = tol
        self.sparsest = sparsest
        self.max_total = max_total
        self.n_jobs = n_jobs
        self.random_state = random_state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.positive_only = True
        return tags

    # ------------------------------------------------------------------ validation
    def _check_params(self) -> None:
        if self.loss not in core.SK_LOSS:
            raise ModelError(f"loss must be 'kl' or 'frobenius', got {self.loss!r}")
        if self.scaling not in ("mean", "none"):
            raise ModelError(f"scaling must be 'mean' or 'none', got {self.scaling!r}")
        if not (
            self.n_components == "auto"
            or (isinstance(self.n_components, int | np.integer) and self.n_components >= 1)
        ):
            raise ModelError(
                f"n_components must be 'auto' or a positive int, got {self.n_components!r}"
            )
        if int(self.n_restarts) < 1 or int(self.cv_folds) < 2 or int(self.n_bootstrap) < 0:
            raise ModelError("need n_restarts >= 1, cv_folds >= 2 and n_bootstrap >= 0")

    def _prepare(self, X: Any, *, fitting: bool) -> tuple[pd.DataFrame, np.ndarray]:
        df = as_numeric_frame(X, name="X", allow_zero=True, min_rows=2 if fitting else 1)
        if not fitting and df.shape[1] != len(self.feature_names_in_):
            raise InputError(
                f"X has {df.shape[1]} features, but EndmemberNMF is expecting "
                f"{len(self.feature_names_in_)} features as input"
            )
        if fitting:
            # a bare array carries no names: all columns share one (unknown) unit, no totals check
            self._generic_ = not isinstance(X, pd.DataFrame) and (
                isinstance(self.units, str) and self.units == "auto"
            )
            units = (
                dict.fromkeys(df.columns, "wt%")
                if self._generic_
                else column_units(list(df.columns), self.units)
            )
        else:
            if not isinstance(X, pd.DataFrame) and df.shape[1] == len(self.feature_names_in_):
                df.columns = list(self.feature_names_in_)
            missing = [c for c in self.feature_names_in_ if c not in df.columns]
            if missing:
                raise InputError("column used in fit is missing", column=missing[0])
            df = df[list(self.feature_names_in_)]
            units = self.units_
        wt = to_wtpct(df, units, check_totals=not self._generic_, max_total=self.max_total)
        if fitting:
            self.units_ = units
            self.feature_names_in_ = np.array(df.columns, dtype=object)
            zero = [c for c in df.columns if not (wt[c] > 0).any()]
            if zero:
                raise InputError("column is zero in every sample; remove it", column=zero[0])
            s = wt.mean().to_numpy() if self.scaling == "mean" else np.ones(wt.shape[1])
            self.scale_ = pd.Series(s, index=df.columns, name="scale_wt%")
        return df, wt.to_numpy() / self.scale_.to_numpy()

    def _candidate_ks(self, n: int, p: int) -> list[int]:
        if self.n_components != "auto":
            K = int(self.n_components)
            if K > n:
                raise InputError(f"fewer samples ({n}) than end-members requested ({K})", value=n)
            if K > p:
                raise ModelError(f"n_components={K} exceeds the number of elements ({p})")
            return [K]
        ks = (
            list(self.k_range) if self.k_range is not None else list(range(1, min(8, p, n - 1) + 1))
        )
        if not ks or min(ks) < 1:
            raise ModelError(f"k_range must hold positive ints, got {self.k_range!r}")
        if max(ks) >= n:
            raise InputError(
                f"fewer samples ({n}) than needed to compare up to {max(ks)} end-members", value=n
            )
        return sorted(set(int(k) for k in ks))

    # ------------------------------------------------------------------ fit
    def fit(self, X: Any, y: Any = None) -> EndmemberNMF:
        """Choose K (if ``auto``), fit the end-members and their bootstrap intervals."""
        import warnings

        self._check_params()
        df, Xs = self._prepare(X, fitting=True)
        n, p = Xs.shape
        ks = self._candidate_ks(n, p)
        rng = as_generator(self.random_state)
        n_jobs = 1 if self.n_jobs is None else int(self.n_jobs)
        parallel = Parallel(n_jobs=n_jobs, prefer="processes")

        # 1) restarts for every K, in chunks (one chunk per worker and K)
        n_chunks = max(1, abs(n_jobs) if n_jobs != -1 else 2)
        tasks = []
        for K in ks:
            seeds = rng.integers(0, 2**31 - 1, size=int(self.n_restarts))
            for chunk in np.array_split(seeds, min(n_chunks, len(seeds))):
                tasks.append((K, chunk))
        outs = parallel(
            delayed(core.restart_chunk)(Xs, K, self.loss, chunk, self.max_iter, self.tol)
            for K, chunk in tasks
        )
        runs: dict[int, list] = {K: [] for K in ks}
        for (K, _), out in zip(tasks, outs, strict=True):
            runs[K].extend(out)

        rows = []
        best: dict[int, tuple] = {}
        per_cluster: dict[int, np.ndarray] = {}
        for K in ks:
            losses = np.array([r[2] for r in runs[K]])
            b = int(np.argmin(losses))
            best[K] = runs[K][b]
            if self.sparsest and K > 1:
                Hs = [core.normalise_rows(core.sparsest_equivalent(r[0], r[1])[1]) for r in runs[K]]
            else:
                Hs = [core.normalise_rows(r[1]) for r in runs[K]]
            if len(Hs) > 1:
                smin, smean, per_cluster[K] = core.stability(Hs, Hs[b])
            else:
                smin, smean, per_cluster[K] = np.nan, np.nan, np.full(K, np.nan)
            rows.append(
                {
                    "k": K,
                    "reconstruction_error": float(losses[b]),
                    "stability": smin,
                    "stability_mean": smean,
                    "converged_fraction": float(np.mean([r[3] for r in runs[K]])),
                }
            )
        sel = pd.DataFrame(rows).set_index("k")

        # 2) masked-entry cross-validation (only needed when choosing K)
        if len(ks) > 1:
            with threadpool_limits(limits=1 if Xs.size < 200_000 else None):
                cv = {
                    K: core.masked_cv(
                        Xs, K, self.loss, int(self.cv_folds), rng, n_iter=int(self.max_iter)
                    )
                    for K in ks
                }
            sel["cv_error"] = [float(np.mean(cv[K])) for K in ks]
            sel["cv_se"] = [float(np.std(cv[K], ddof=1) / np.sqrt(len(cv[K]))) for K in ks]
            K, rule = self._choose_k(sel)
        else:
            sel["cv_error"] = np.nan
            sel["cv_se"] = np.nan
            K, rule = ks[0], "fixed by the user"
        self.k_selection_ = sel
        self.n_components_ = K

        # 3) polish the best restart at K and map back to input units
        W0, H0, _, _, _ = best[K]
        if self.sparsest and K > 1:
            W0, H0 = core.sparsest_equivalent(W0, H0)
        W, H, err, conv, self.n_iter_ = core.fit_one(
            Xs, K, self.loss, None, 4 * self.max_iter, self.tol, W0, H0
        )
        if not conv:
            warnings.warn(
                f"NMF at K={K} did not fully converge in {4 * self.max_iter} iterations",
                ConvergenceWarning,
                stacklevel=2,
            )
        W, H, order, c = self._to_units(W, H)
        # rows of the polished fit keep the identity of the best restart's rows (the reference of
        # the stability clustering), reordered by mean proportion
        self.endmember_stability_ = pd.Series(
            per_cluster[K][order], index=[f"EM{k + 1}" for k in range(K)], name="stability"
        )
        self.components_ = H
        self.reconstruction_err_ = err
        self._closure_ = c
        names = [f"EM{k + 1}" for k in range(K)]
        self.endmembers_ = self._endmember_frame(H * self.scale_.to_numpy()[None, :], names)
        self.n_features_in_ = p
        # proportions: the optimal W for the final H (the same solve as transform, so that
        # fit_transform(X) == transform(X))
        W = self._solve_w(Xs)
        props = W / np.maximum(W.sum(axis=1, keepdims=True), core._EPS)
        self.proportions_ = pd.DataFrame(props, index=df.index, columns=names)
        self.sample_scale_ = pd.Series(W.sum(axis=1), index=df.index, name="total_fraction")

        # 4) bootstrap intervals for the end-members
        lower = upper = None
        if int(self.n_bootstrap) > 0:
            idx_sets = [rng.integers(0, n, size=n) for _ in range(int(self.n_bootstrap))]
            chunks = [
                c for c in np.array_split(np.arange(len(idx_sets)), max(1, n_chunks)) if len(c)
            ]
            # bootstrap in the scaled, un-closed parametrisation of the polished fit
            Ws, Hs_ = W / c[None, :], H * c[:, None]
            outs = parallel(
                delayed(core.bootstrap_chunk)(
                    Xs,
                    Ws,
                    Hs_,
                    self.loss,
                    [idx_sets[i] for i in ch],
                    self.max_iter,
                    self.tol,
                    self.sparsest,
                )
                for ch in chunks
            )
            boots = np.array([self._close(h) for out in outs for h in out])
            lower = self._endmember_frame(np.quantile(boots, 0.025, axis=0), names)
            upper = self._endmember_frame(np.quantile(boots, 0.975, axis=0), names)
            self.endmembers_sd_ = self._endmember_frame(boots.std(axis=0, ddof=1), names)
        self.endmembers_lower_, self.endmembers_upper_ = lower, upper
        self._nmf_H_ = H
        self.result_ = self._make_result(df, sel, rule)
        return self

    def _choose_k(self, sel: pd.DataFrame) -> tuple[int, str]:
        cv, se = sel["cv_error"], sel["cv_se"]
        kmin = cv.idxmin()
        k_cv = int(min(k for k in sel.index if cv[k] <= cv[kmin] + se[kmin]))
        stable = [
            k
            for k in sel.index
            if k <= k_cv and sel.loc[k, "stability"] >= self.stability_threshold
        ]
        if not stable:
            import warnings

            warnings.warn(
                f"no K <= {k_cv} reaches stability {self.stability_threshold}; using the CV choice",
                ConvergenceWarning,
                stacklevel=3,
            )
            return k_cv, "one-SE masked-entry CV (no stable K)"
        return int(max(stable)), (
            f"largest K <= {k_cv} (one-SE CV choice) with restart silhouette >= "
            f"{self.stability_threshold}"
        )

    def _close(self, H_scaled: np.ndarray) -> np.ndarray:
        """Scaled factor rows → wt% rows closed to 100."""
        Hw = H_scaled * self.scale_.to_numpy()[None, :]
        return 100.0 * Hw / np.maximum(Hw.sum(axis=1, keepdims=True), core._EPS)

    def _to_units(self, W, H):
        """Close the end-members to 100 wt%, move the constant into W, order by mean proportion."""
        Hw = H * self.scale_.to_numpy()[None, :]
        c = np.maximum(Hw.sum(axis=1), core._EPS) / 100.0
        W2, H2 = W * c[None, :], H / c[:, None]
        order = np.argsort(-W2.mean(axis=0), kind="stable")
        return W2[:, order], H2[order], order, c[order]

    def _endmember_frame(self, Hw: np.ndarray, names) -> pd.DataFrame:
        """End-member rows in wt% → DataFrame in input units."""
        to_in = np.array([1.0 / UNIT_TO_WTPCT[self.units_[col]] for col in self.feature_names_in_])
        return pd.DataFrame(
            Hw * to_in[None, :],
            index=pd.Index(names, name="endmember"),
            columns=list(self.feature_names_in_),
        )

    def _make_result(self, df: pd.DataFrame, sel: pd.DataFrame, rule: str) -> EndmemberResult:
        em = xr.DataArray(
            self.endmembers_.to_numpy(),
            dims=("endmember", "element"),
            coords={"endmember": self.endmembers_.index, "element": self.endmembers_.columns},
            attrs={
                "units": "input units (see units attribute of the estimator); closed to 100 wt%"
            },
        )
        est = {"endmembers": em}
        if self.endmembers_lower_ is not None:
            est["endmembers_lower"] = em.copy(data=self.endmembers_lower_.to_numpy())
            est["endmembers_upper"] = em.copy(data=self.endmembers_upper_.to_numpy())
        est["endmember_stability"] = xr.DataArray(
            self.endmember_stability_.to_numpy(),
            dims="endmember",
            coords={"endmember": self.endmembers_.index},
            attrs={
                "units": "1",
                "long_name": "mean cosine silhouette of this end-member over the random restarts",
            },
        )
        est["proportions"] = xr.DataArray(
            self.proportions_.to_numpy(),
            dims=("sample", "endmember"),
            coords={"sample": [str(i) for i in df.index], "endmember": self.endmembers_.index},
            attrs={"units": "1", "long_name": "mass fraction of the end-member"},
        )
        crit = xr.Dataset.from_dataframe(sel)
        params = self.get_params()
        params.pop("random_state", None)
        return EndmemberResult(
            estimate=xr.Dataset(est),
            criterion=crit,
            hyperparameters={
                "n_components": int(self.n_components_),
                "loss": self.loss,
                "scaling": self.scaling,
                "k_rule": rule,
                "units": self.units_,
            },
            diagnostics={
                "reconstruction_error": float(self.reconstruction_err_),
                "n_restarts": int(self.n_restarts),
                "converged_fraction_at_k": float(sel.loc[self.n_components_, "converged_fraction"]),
                "n_bootstrap": int(self.n_bootstrap),
            },
            metadata=make_metadata(
                random_state=self.random_state,
                parameters=params,
                inputs=(df,),
                method="EndmemberNMF (sklearn NMF engine; Yoshida et al. 2018 [R])",
            ),
        )

    # ------------------------------------------------------------------ transform
    def _solve_w(self, Xs: np.ndarray) -> np.ndarray:
        """Non-negative W for fixed end-members (convex in W), in the closed parametrisation."""
        from sklearn.decomposition import non_negative_factorization

        Hs = self.components_ * self._closure_[:, None]  # the un-closed scaled factor
        with threadpool_limits(limits=1 if Xs.size < 200_000 else None):
            W, _, _ = non_negative_factorization(
                Xs,
                H=Hs,
                n_components=self.n_components_,
                init="custom",
                update_H=False,
                solver="mu",
                beta_loss=core.SK_LOSS[self.loss],
                max_iter=2000,
                tol=1e-8,
            )
        return W * self._closure_[None, :]

    def transform(self, X: Any) -> pd.DataFrame:
        """Mass fractions of the fitted end-members in new samples (end-members held fixed)."""
        check_is_fitted(self, "components_")
        df, Xs = self._prepare(X, fitting=False)
        W = self._solve_w(Xs)
        props = W / np.maximum(W.sum(axis=1, keepdims=True), core._EPS)
        return pd.DataFrame(props, index=df.index, columns=list(self.endmembers_.index))

    def fit_transform(self, X: Any, y: Any = None, **fit_params: Any) -> pd.DataFrame:
        """Fit and return the mass fractions of the training samples."""
        return self.fit(X).proportions_

    def inverse_transform(self, proportions: Any) -> pd.DataFrame:
        """Compositions (input units) of mixtures with the given mass fractions (rows closed to 1)."""
        check_is_fitted(self, "components_")
        P = as_numeric_frame(proportions, name="proportions")
        if P.shape[1] != self.n_components_:
            raise InputError(
                f"proportions need {self.n_components_} columns, got {P.shape[1]}", value=P.shape[1]
            )
        P = P.to_numpy() / np.maximum(P.to_numpy().sum(axis=1, keepdims=True), core._EPS)
        return pd.DataFrame(P @ self.endmembers_.to_numpy(), columns=self.endmembers_.columns)
