"""The irregular order-2 chain prior against the integrated Wiener process it discretises.

Lindgren & Rue (2008, Scand. J. Stat. 35:691–700): on irregular nodes the order-2 random walk is the
Galerkin discretisation of :math:`x'' = \\kappa^{-1/2} W'`, i.e. of the integrated Wiener process,
whose energy (Cameron–Martin norm) is :math:`\\kappa\\int x''(s)^2\\,ds`. Two checks that see the
mass term (the lumped weights :math:`c_i = (h_{i-1} + h_i)/2`) — rank and null-space checks do not:

1. the precision's action on quadratics is exact: for :math:`x(s) = a s^2`,
   :math:`x^T R x = (2a)^2 \\sum_i c_i` (interior cells), i.e. :math:`\\int (x'')^2` over the chain
   minus half a cell at each end;
2. covariances of contrasts that annihilate the null space (second divided differences at widely
   separated nodes) converge, as :math:`O(h^2)`, to those of the integrated Wiener process
   :math:`\\mathrm{Cov}(X_s, X_t) = s^2 (3t - s) / 6` (:math:`s \\le t`, :math:`\\kappa = 1`) — the
   null space (initial level and slope) drops out of such contrasts.

A 10 % error in the mass term fails both (checked when this test was written: contrast error 0.10
against a tolerance of 0.005).
"""

from __future__ import annotations

import numpy as np
import pytest

from petroinfer.inference import ChainPrior


def _irregular(n: int, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    s = np.cumsum(np.r_[0.0, rng.uniform(0.3, 1.7, n - 1)])
    return s / s[-1]


def _iwp_covariance(s: np.ndarray) -> np.ndarray:
    lo, hi = np.minimum.outer(s, s), np.maximum.outer(s, s)
    return lo**2 * (3.0 * hi - lo) / 6.0


def _second_divided_difference(s: np.ndarray, i: int, j: int, k: int) -> np.ndarray:
    w = np.zeros(s.size)
    w[i] = 1.0 / ((s[i] - s[j]) * (s[i] - s[k]))
    w[j] = 1.0 / ((s[j] - s[i]) * (s[j] - s[k]))
    w[k] = 1.0 / ((s[k] - s[i]) * (s[k] - s[j]))
    return w


def _contrast_error(s: np.ndarray, R: np.ndarray) -> float:
    n = s.size
    triples = [(0.1, 0.3, 0.5), (0.2, 0.5, 0.9), (0.05, 0.6, 0.95), (0.3, 0.35, 0.7)]
    A = np.column_stack(
        [_second_divided_difference(s, int(n * a), int(n * b), int(n * c)) for a, b, c in triples]
    )
    gmrf = A.T @ np.linalg.pinv(R, rcond=1e-13) @ A
    iwp = A.T @ _iwp_covariance(s) @ A
    return float(np.max(np.abs(gmrf / iwp - 1.0)))


def _mass_perturbed(prior: ChainPrior, factor: float) -> np.ndarray:
    B = prior._B.toarray()
    return B.T @ np.diag(prior._wb / factor) @ B


@pytest.mark.parametrize("a", [1.0, -2.5])
def test_quadratic_energy_is_exact_on_irregular_nodes(a):
    s = 3.0 * _irregular(40, seed=7)
    prior = ChainPrior(s, order=2)
    x = a * s**2
    h = np.diff(s)
    exact = (2 * a) ** 2 * (s[-1] - s[0] - 0.5 * (h[0] + h[-1]))
    assert x @ prior._R.toarray() @ x == pytest.approx(exact, rel=1e-8)
    # through the public precision, with a smoothness kappa
    assert x @ prior.precision(2.0).toarray() @ x == pytest.approx(2.0 * exact, rel=1e-8)
    assert x @ _mass_perturbed(prior, 1.1) @ x != pytest.approx(exact, rel=0.05)


def test_contrast_covariances_converge_to_the_integrated_wiener_process():
    errors = {}
    for n in (100, 400):
        s = _irregular(n)
        errors[n] = _contrast_error(s, ChainPrior(s, order=2)._R.toarray())
    assert errors[400] < 1e-3
    assert errors[100] / errors[400] > 8.0  # second-order convergence in the spacing
    s = _irregular(200)
    prior = ChainPrior(s, order=2)
    assert _contrast_error(s, prior._R.toarray()) < 5e-3
    assert _contrast_error(s, _mass_perturbed(prior, 1.1)) > 0.05
