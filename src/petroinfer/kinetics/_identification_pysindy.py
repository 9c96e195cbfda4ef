r"""PySINDy-compatible pieces that PySINDy 2.1 lacks: an evidence-greedy optimizer and a petrology library.

* :class:`EvidenceGreedy` subclasses :class:`pysindy.optimizers.BaseOptimizer`, so
  ``pysindy.SINDy(optimizer=EvidenceGreedy(), feature_library=...)`` works with any PySINDy library
  (``PDELibrary``, ``WeakPDELibrary``, ``PolynomialLibrary`` ...). Per target it normalises the
  library columns to unit norm (the non-dimensional form: coefficients spanning decades compete on
  equal terms — PySINDy issue #93), fits the Bayesian linear model :math:`y = Θξ + ε`,
  :math:`ξ \sim N(0, α^{-1}I)`, :math:`ε \sim N(0, β^{-1}I)` with α, β by evidence maximisation
  (MacKay 1992, Neural Comput. 4:415), and removes the term whose removal raises the log evidence
  most until none does (backward elimination by evidence; the strategy of BINDy, Fung et al. 2025,
  Proc. R. Soc. A 481:20240200 — written from the equations). Optional exclusive groups let one
  option per block compete (e.g. one surface law per mineral). It records what a report needs:
  posterior sd and intervals of the coefficients, α, β and the evidence path.
* :class:`SurfaceRateLibrary` subclasses :class:`pysindy.feature_library.base.BaseFeatureLibrary`:
  the surface-law × rate-law terms of :func:`surface_rate_terms` (usable inside PySINDy's
  ``PDELibrary``/``WeakPDELibrary`` as ``function_library``).

This module imports PySINDy at import time; :mod:`petroinfer.kinetics` loads it only when one of
these names is first used (PEP 562), so ``import petroinfer.kinetics`` stays fast.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from pysindy.feature_library.base import BaseFeatureLibrary, x_sequence_or_item
from pysindy.optimizers import BaseOptimizer
from pysindy.utils import AxesArray, comprehend_axes
from scipy.stats import norm

from petroinfer.errors import ModelError
from petroinfer.kinetics._identification_core import surface_rate_terms
from petroinfer.kinetics._identification_weak import linear_evidence, select_with_choices
from petroinfer.kinetics.reactions import SURFACE_LAWS

__all__ = [
    "EvidenceGreedy",
    "SurfaceRateLibrary",
    "surface_law_groups",
    "surface_rate_weak_library",
]


def surface_law_groups(feature_names: Sequence[str]) -> list[tuple[str, str] | None]:
    """Exclusive groups ``(mineral, law)`` parsed from feature names ``S_<law>[<mineral>]...``.

    Parameters
    ----------
    feature_names : sequence of str
        Names as returned by ``SINDy.get_feature_names()`` or a library's ``get_feature_names``.

    Returns
    -------
    list
        ``(mineral, law)`` for surface terms, ``None`` for all others (derivatives, bias ...),
        ready for ``EvidenceGreedy(exclusive_groups=...)``.

    Examples
    --------
    >>> surface_law_groups(["S_sphere[Ol]", "S_sphere[Ol]*c", "c_11"])
    [('Ol', 'sphere'), ('Ol', 'sphere'), None]
    """
    out: list[tuple[str, str] | None] = []
    for name in feature_names:
        law, _, rest = name.partition("[")
        if law.startswith("S_") and law[2:] in SURFACE_LAWS and "]" in rest:
            out.append((rest.split("]", 1)[0], law[2:]))
        else:
            out.append(None)
    return out


class EvidenceGreedy(BaseOptimizer):
    r"""Evidence-greedy sparse regression as a PySINDy optimizer.

    Parameters
    ----------
    alpha : float, optional
        Prior precision of the coefficients on unit-norm columns (dimensionless). Default: chosen
        with β by evidence maximisation at every stage.
    interval : float, default 0.9
        Probability mass of the reported coefficient intervals ``coef_lo_``/``coef_hi_``.
    exclusive_groups : sequence, optional
        Per library column ``None`` or ``(block, option)``; only one option per block competes,
        chosen by evidence (see :func:`surface_law_groups`).
    max_iter : int, default 20
        Kept for the PySINDy interface (the elimination stops when the evidence stops rising).
    normalize_columns : bool, default False
        PySINDy's column normalisation before ``_reduce``; the optimizer normalises internally in
        any case, so results do not depend on it.
    copy_X : bool, default True
        Copy the library matrix.
    unbias : bool, default False
        PySINDy's least-squares refit of the support; off so that ``coef_`` is the posterior mean
        matching ``coef_sd_``.

    Attributes
    ----------
    coef_ : numpy.ndarray, shape (n_targets, n_features)
        Posterior means (0 for removed terms), in the units of the library columns.
    coef_sd_, coef_lo_, coef_hi_ : numpy.ndarray, shape (n_targets, n_features)
        Posterior sd and interval bounds (0 for removed terms).
    log_evidence_ : numpy.ndarray, shape (n_targets,)
        Final log evidence per target (nats; data in their own units).
    evidence_path_ : list of list of dict
        Per target, per stage: ``n_terms``, ``log_evidence`` and ``removed`` (column index).
    alpha_, beta_ : numpy.ndarray, shape (n_targets,)
        Prior and noise precisions (unit-norm columns, unit-norm target).

    Notes
    -----
    Log evidence (Bishop 2006, eq. 3.86) of :math:`y = Gξ + ε` with :math:`A = αI + βG^TG`,
    :math:`m = βA^{-1}G^Ty`:

    .. math::

        \log p(y) = \tfrac{k}{2}\log α + \tfrac{n}{2}\log β - \tfrac{β}{2}\lVert y - Gm\rVert^2
        - \tfrac{α}{2}m^Tm - \tfrac12\log|A| - \tfrac{n}{2}\log 2π,

    α and β from the fixed point :math:`α = γ/m^Tm`, :math:`β = (n - γ)/\lVert y - Gm\rVert^2`,
    :math:`γ = \sum_i λ_i/(λ_i + α)` (MacKay 1992). Rows of a weak-form library are correlated
    when test functions overlap, so the intervals are approximate there.

    Examples
    --------
    >>> import numpy as np, pysindy as ps
    >>> t = np.linspace(0, 5, 501)
    >>> x = np.column_stack([np.exp(-0.5 * t), np.exp(-2.0 * t)])
    >>> rng = np.random.default_rng(0)
    >>> x_dot = x * [-0.5, -2.0] + 1e-3 * rng.standard_normal(x.shape)  # noisy rates
    >>> model = ps.SINDy(optimizer=EvidenceGreedy(),
    ...                  feature_library=ps.PolynomialLibrary(degree=2))
    >>> _ = model.fit(x, t=t, x_dot=x_dot)
    >>> model.print()
    (x0)' = -0.500 x0
    (x1)' = -2.000 x1
    """

    def __init__(
        self,
        alpha: float | None = None,
        interval: float = 0.9,
        exclusive_groups: Sequence | None = None,
        max_iter: int = 20,
        normalize_columns: bool = False,
        copy_X: bool = True,
        unbias: bool = False,
    ) -> None:
        super().__init__(
            max_iter=max_iter, normalize_columns=normalize_columns, copy_X=copy_X, unbias=unbias
        )
        self.alpha = alpha
        self.interval = interval
        self.exclusive_groups = exclusive_groups

    def _reduce(self, x: np.ndarray, y: np.ndarray) -> None:
        x = np.asarray(x, dtype=float)
        y = np.asarray(y, dtype=float).reshape(x.shape[0], -1)
        n, k = x.shape
        if not 0.0 < float(self.interval) < 1.0:
            raise ModelError(f"EvidenceGreedy: interval must lie in (0, 1), got {self.interval!r}")
        if self.alpha is not None and not float(self.alpha) > 0:
            raise ModelError(f"EvidenceGreedy: alpha must be positive, got {self.alpha!r}")
        groups = None if self.exclusive_groups is None else list(self.exclusive_groups)
        if groups is not None and len(groups) != k:
            raise ModelError(
                f"EvidenceGreedy: exclusive_groups has {len(groups)} entries for {k} library terms"
            )
        scale = np.linalg.norm(x, axis=0)
        usable = scale > 1e-12 * max(float(scale.max(initial=0.0)), 1e-300)
        Gn = x[:, usable] / scale[usable]
        ug = None if groups is None else [g for g, ok in zip(groups, usable, strict=True) if ok]
        idx = np.flatnonzero(usable)
        zq = norm.ppf(0.5 + float(self.interval) / 2)
        T = y.shape[1]
        coef, sd = np.zeros((T, k)), np.zeros((T, k))
        self.log_evidence_ = np.zeros(T)
        self.alpha_, self.beta_ = np.zeros(T), np.zeros(T)
        self.evidence_path_ = []
        for i in range(T):
            ysc = max(float(np.linalg.norm(y[:, i])), 1e-300)
            sup, path = select_with_choices(Gn, y[:, i] / ysc, ug, alpha=self.alpha)
            le, m, cov, a, b = linear_evidence(Gn[:, sup], y[:, i] / ysc, alpha=self.alpha)
            cols = idx[sup]
            coef[i, cols] = m * ysc / scale[cols]
            sd[i, cols] = np.sqrt(np.diag(cov)) * ysc / scale[cols]
            shift = n * np.log(ysc)  # evidence of y rather than y / |y|
            self.log_evidence_[i] = le - shift
            self.alpha_[i], self.beta_[i] = a, b
            self.evidence_path_.append(
                [
                    {
                        "n_terms": p["n_terms"],
                        "log_evidence": p["log_evidence"] - shift,
                        "removed": None if p["removed"] is None else int(idx[p["removed"]]),
                    }
                    for p in path
                ]
            )
        self.coef_ = coef
        self.coef_sd_ = sd
        self._zq = zq
        self.history_.append(coef)

    def fit(self, x_, y, sample_weight=None, **reduce_kws):
        """Fit the model (PySINDy's :meth:`BaseOptimizer.fit`, plus intervals in original units).

        Parameters
        ----------
        x_ : array-like, shape (n_samples, n_features)
            Library matrix Θ.
        y : array-like, shape (n_samples,) or (n_samples, n_targets)
            Targets (time derivatives or their weak-form integrals).
        sample_weight : float or numpy.ndarray, optional
            Row weights (PySINDy's rescaling).
        **reduce_kws
            Passed to ``_reduce`` (none used).

        Returns
        -------
        EvidenceGreedy
        """
        super().fit(x_, y, sample_weight=sample_weight, **reduce_kws)
        if self.normalize_columns:  # the base class rescaled coef_ only
            norms = np.linalg.norm(np.asarray(self.Theta_), axis=0)
            self.coef_sd_ = self.coef_sd_ / np.where(norms > 0, norms, 1.0)
        self.coef_sd_ = np.where(self.coef_ != 0, self.coef_sd_, 0.0)
        self.coef_lo_ = self.coef_ - self._zq * self.coef_sd_
        self.coef_hi_ = self.coef_ + self._zq * self.coef_sd_
        return self

    def terms(
        self, feature_names: Sequence[str], target_names: Sequence[str] | None = None
    ) -> pd.DataFrame:
        """Selected terms: columns ``target, term, coefficient, sd, q05, q95`` (one row per term).

        Parameters
        ----------
        feature_names : sequence of str
            Library term names (``SINDy.get_feature_names()``).
        target_names : sequence of str, optional
            Names of the targets (default ``x0, x1, ...``).

        Returns
        -------
        pandas.DataFrame
        """
        T, k = self.coef_.shape
        if len(feature_names) != k:
            raise ModelError(f"terms: {len(feature_names)} feature names for {k} library terms")
        target_names = (
            list(target_names) if target_names is not None else [f"x{i}" for i in range(T)]
        )
        rows = [
            (target_names[i], feature_names[j], *(float(a[i, j]) for a in self._arrays()))
            for i in range(T)
            for j in range(k)
            if self.coef_[i, j] != 0
        ]
        return pd.DataFrame(rows, columns=["target", "term", "coefficient", "sd", "q05", "q95"])

    def _arrays(self) -> tuple[np.ndarray, ...]:
        return self.coef_, self.coef_sd_, self.coef_lo_, self.coef_hi_


class SurfaceRateLibrary(BaseFeatureLibrary):
    r"""Surface-law × rate-law terms of minerals and solutes, as a PySINDy feature library.

    The first ``n_solids`` input features are mineral volume fractions φ_m, the others aqueous
    concentrations c_a. For every mineral m and surface law ℓ the library has
    :math:`S_ℓ(φ_m) = φ_m^{p_ℓ}` (``S_<law>[m]``) and :math:`S_ℓ(φ_m)c_a` (``S_<law>[m]*a``) — the
    zero-order, first-order and (by combination) affinity rate laws of
    :mod:`petroinfer.kinetics.reactions` (Lasaga 1998, *Kinetic Theory in the Earth Sciences*,
    §7; surface laws sphere 2/3, cylinder 1/2, plate 0, volume 1).

    Parameters
    ----------
    n_solids : int, default 1
        Number of leading input features that are minerals.
    laws : sequence of str, default all of :data:`~petroinfer.kinetics.SURFACE_LAWS`
        Surface laws in the library.

    Attributes
    ----------
    n_features_in_ : int
        Number of input features.
    n_output_features_ : int
        Number of library terms.

    Examples
    --------
    >>> import numpy as np
    >>> lib = SurfaceRateLibrary(n_solids=1, laws=["sphere", "volume"]).fit(np.ones((4, 2)))
    >>> lib.get_feature_names(["Ol", "c"])
    ['S_sphere[Ol]', 'S_sphere[Ol]*c', 'S_volume[Ol]', 'S_volume[Ol]*c']
    """

    def __init__(self, n_solids: int = 1, laws: Sequence[str] = tuple(SURFACE_LAWS)) -> None:
        self.n_solids = n_solids
        self.laws = laws

    def _check(self, n_features: int) -> None:
        bad = [law for law in self.laws if law not in SURFACE_LAWS]
        if bad:
            raise ModelError(f"SurfaceRateLibrary: surface law must be one of {list(SURFACE_LAWS)}")
        if not 1 <= int(self.n_solids) <= n_features:
            raise ModelError(
                f"SurfaceRateLibrary: n_solids must be between 1 and {n_features}, "
                f"got {self.n_solids!r}"
            )

    def _names(self, input_features: Sequence[str]) -> tuple[list[str], list[str], list[str]]:
        names = list(input_features)
        return names, names[: self.n_solids], names[self.n_solids :]

    @x_sequence_or_item
    def fit(self, x_full, y=None):
        """Count the output terms.

        Parameters
        ----------
        x_full : array-like, shape (..., n_features)
            Data (last axis the species).
        y : None
            Ignored.

        Returns
        -------
        SurfaceRateLibrary
        """
        n = x_full[0].shape[-1]
        self._check(n)
        self.n_features_in_ = n
        self.n_output_features_ = len(self.laws) * self.n_solids * (1 + n - self.n_solids)
        return self

    @x_sequence_or_item
    def transform(self, x_full):
        """Evaluate the terms.

        Parameters
        ----------
        x_full : array-like, shape (..., n_features)
            Data.

        Returns
        -------
        numpy.ndarray, shape (..., n_output_features)
        """
        out = []
        for x in x_full:
            if x.shape[-1] != self.n_features_in_:
                raise ModelError("SurfaceRateLibrary: x shape does not match the fitted shape")
            names, solids, aqueous = self._names([f"x{i}" for i in range(x.shape[-1])])
            _, cols, _ = surface_rate_terms(np.asarray(x), names, solids, aqueous, self.laws)
            xp = np.stack(cols, axis=-1)
            out.append(AxesArray(xp, comprehend_axes(xp)))
        return out

    def get_feature_names(self, input_features: Sequence[str] | None = None) -> list[str]:
        """Term names ``S_<law>[m]`` and ``S_<law>[m]*a``.

        Parameters
        ----------
        input_features : sequence of str, optional
            Species names (default ``x0, x1, ...``).

        Returns
        -------
        list of str
        """
        n = self.n_features_in_
        feats = list(input_features) if input_features is not None else [f"x{i}" for i in range(n)]
        names, solids, aqueous = self._names(feats)
        dummy = np.zeros((1, n))
        return surface_rate_terms(dummy, names, solids, aqueous, self.laws)[0]


def surface_rate_weak_library(
    x: np.ndarray,
    t: np.ndarray,
    *,
    n_solids: int = 1,
    laws: Sequence[str] = tuple(SURFACE_LAWS),
    derivative_order: int = 2,
    n_domains: int = 400,
    half_widths: tuple[float, float] | None = None,
    random_state: int | np.random.Generator | None = 0,
):
    """PySINDy ``WeakPDELibrary`` of the petrology terms plus spatial derivatives, reproducibly.

    PySINDy draws the subdomain centres from NumPy's global generator when the library is built;
    this seeds it from ``random_state`` for that moment and restores it afterwards.

    Parameters
    ----------
    x : numpy.ndarray, shape (n_x,)
        Positions (equally spaced; any length unit).
    t : numpy.ndarray, shape (n_t,)
        Times (equally spaced).
    n_solids : int, default 1
        Leading species that are minerals (see :class:`SurfaceRateLibrary`).
    laws : sequence of str, default all surface laws
        Surface laws in the library.
    derivative_order : int, default 2
        Highest spatial derivative (terms ``u_1``, ``u_11`` ... in PySINDy's naming).
    n_domains : int, default 400
        Number of subdomains (rows of the weak system, PySINDy's ``K``).
    half_widths : tuple of float, optional
        Subdomain half-widths in x and t (default an eighth of each range).
    random_state : int or numpy.random.Generator, default 0
        Seed for the subdomain centres.

    Returns
    -------
    pysindy.WeakPDELibrary
        Unfitted library; use with ``SINDy(feature_library=..., optimizer=EvidenceGreedy(...))`` on
        data of shape ``(n_x, n_t, n_species)``.

    Examples
    --------
    >>> import numpy as np
    >>> lib = surface_rate_weak_library(np.linspace(0, 1, 64), np.linspace(0, 2, 41), laws=["sphere"])
    >>> _ = lib.fit(np.full((64, 41, 2), 0.3))
    >>> lib.get_feature_names(["M", "c"])
    ['S_sphere[M]', 'S_sphere[M]*c', 'M_1', 'c_1', 'M_11', 'c_11']
    """
    import pysindy as ps

    x = np.asarray(x, dtype=float)
    t = np.asarray(t, dtype=float)
    XT = np.stack(np.meshgrid(x, t, indexing="ij"), axis=-1)
    H = half_widths or ((x[-1] - x[0]) / 8, (t[-1] - t[0]) / 8)
    seed = np.random.default_rng(random_state).integers(2**32 - 1)
    state = np.random.get_state()  # noqa: NPY002 - PySINDy uses the legacy global generator
    np.random.seed(seed)  # noqa: NPY002
    try:
        return ps.WeakPDELibrary(
            function_library=SurfaceRateLibrary(n_solids=n_solids, laws=laws),
            derivative_order=derivative_order,
            spatiotemporal_grid=XT,
            include_interaction=False,
            K=int(n_domains),
            H_xt=list(H),
        )
    finally:
        np.random.set_state(state)  # noqa: NPY002
