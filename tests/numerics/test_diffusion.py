"""Finite-volume diffusion kernels against analytic solutions (Crank 1975) and exact identities.

Reference numbers: ``shared/science/gibbs_diffusion.md`` §C.1 (series evaluations of Crank's eq. 6.18
and of the zero-flux sphere relaxing (r/a)², 400 roots of tan x = x), recomputed independently here
from the series where a point value is needed.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import erfc

from petroinfer.errors import InputError, ModelError
from petroinfer.numerics import (
    Dirichlet,
    Exchange,
    Flux,
    Grid1D,
    Grid2D,
    ImplicitDiffusion2D,
    ZeroFlux,
    diffusion_operator,
    diffusion_operator_2d,
    face_average,
    solve_diffusion,
)


def crank_sphere(r: np.ndarray, tau: float, terms: int = 2000) -> np.ndarray:
    """Crank (1975) eq. 6.18: sphere of radius 1 at 0, surface held at 1 (series written here)."""
    n = np.arange(1, terms + 1)[:, None]
    r = np.asarray(r, dtype=float)[None, :]
    series = ((-1.0) ** n / n * np.sin(n * np.pi * r) * np.exp(-(n**2) * np.pi**2 * tau)).sum(0)
    return (1 + 2 / (np.pi * r) * series)[0] if r.shape[1] else np.empty(0)


def crank_uptake(tau: float, terms: int = 2000) -> float:
    n = np.arange(1, terms + 1)
    return float(1 - 6 / np.pi**2 * np.sum(np.exp(-(n**2) * np.pi**2 * tau) / n**2))


def _sphere_run(n: int, tau: float, method: str = "cn"):
    g = Grid1D.uniform(1.0, n, "spherical")
    sol = solve_diffusion(
        g, np.zeros(n), 1.0, [0.0, tau], right=Dirichlet(1.0), method=method, n_steps=4 * n
    )
    return g, sol


# ------------------------------------------------------------------------- spherical, analytic
def test_series_reproduces_the_published_table():
    """The series written in this test gives the notes' table row τ = 0.1 (C(0.5a), M_t/M_∞)."""
    assert crank_sphere([0.5], 0.1)[0] == pytest.approx(0.525513, abs=1e-6)
    assert crank_uptake(0.1) == pytest.approx(0.770479, abs=1e-6)
    assert crank_uptake(0.0836276) == pytest.approx(0.728047, abs=1e-6)


@pytest.mark.parametrize("method", ["cn", "bdf2"])
def test_sphere_with_fixed_rim_converges_at_second_order(method):
    errs = []
    for n in (25, 50, 100, 200):
        g, sol = _sphere_run(n, 0.1, method)
        uptake = 3 * sol.total()[-1]  # per steradian volume of the unit sphere is 1/3
        errs.append(abs(uptake - crank_uptake(0.1)))
    orders = np.log2(np.array(errs[:-1]) / np.array(errs[1:]))
    assert np.all((orders > 1.9) & (orders < 2.1)), (errs, orders)
    assert errs[-1] < 1e-6
    # point values (centroid values, linearly interpolated) at the finest grid
    profile = np.interp([0.25, 0.5, 0.75], g.centres, sol.c[-1])
    np.testing.assert_allclose(profile, crank_sphere([0.25, 0.5, 0.75], 0.1), atol=1e-5)


def test_backward_euler_is_first_order_in_time():
    g = Grid1D.uniform(1.0, 200, "spherical")
    errs = []
    for k in (10, 20, 40):
        sol = solve_diffusion(
            g, np.zeros(200), 1.0, [0, 0.1], right=Dirichlet(1.0), method="be", n_steps=k
        )
        errs.append(abs(3 * sol.total()[-1] - crank_uptake(0.1)))
    ratios = np.array(errs[:-1]) / np.array(errs[1:])
    assert np.all((ratios > 1.7) & (ratios < 2.3)), ratios


def test_zero_flux_sphere_conserves_and_relaxes_like_the_series():
    """f = (r/a)², mean 0.6; notes' table: C(0.5a) = 0.480227 at τ = 0.05 (400 roots)."""
    n = 200
    g = Grid1D.uniform(1.0, n, "spherical")
    c0 = g.cell_averages(lambda r: r**2)
    sol = solve_diffusion(g, c0, 1.0, [0.0, 0.01, 0.05, 0.1], n_steps=400)
    totals = sol.total()
    np.testing.assert_allclose(totals, totals[0], rtol=1e-12)
    assert 3 * totals[0] == pytest.approx(0.6, rel=1e-12)
    mid = np.interp(0.5, g.centres, sol.c[2])
    assert mid == pytest.approx(0.480227, abs=2e-5)
    # C(0) = 6τ while the boundary is not yet felt (r² + 6Dt is a heat polynomial)
    centre = np.interp(0.0, g.centres[:3], sol.c[1][:3])
    assert centre == pytest.approx(0.06, abs=2e-4)


# ------------------------------------------------------------------------- planar, analytic
def test_planar_half_space_matches_erfc():
    D, t, L, n = 2.0, 0.05, 4.0, 400
    g = Grid1D.uniform(L, n)
    sol = solve_diffusion(g, np.zeros(n), D, [0, t], left=Dirichlet(1.0), n_steps=400)
    exact = erfc(g.centres / (2 * np.sqrt(D * t)))
    assert np.abs(sol.c[-1] - exact).max() < 5e-4


def test_exchange_boundary_reaches_the_series_resistance_steady_state():
    """Steady planar flux through a slab (D, L) and a surface transfer h in series."""
    D, L, h, n = 0.5, 2.0, 0.8, 50
    g = Grid1D.uniform(L, n)
    sol = solve_diffusion(
        g, np.zeros(n), D, [0, 200.0], left=Dirichlet(1.0), right=Exchange(h, 0.0), method="be"
    )
    flux = 1.0 / (L / D + 1.0 / h)
    np.testing.assert_allclose(sol.c[-1], 1.0 - flux * g.centres / D, atol=1e-9)


def test_given_flux_adds_exactly_that_amount():
    g = Grid1D.uniform(1.0, 30, "cylindrical", start=0.5)
    q = 0.3
    sol = solve_diffusion(g, np.ones(30), 1.0, [0, 2.0], right=Flux(q), n_steps=50)
    added = sol.total()[-1] - sol.total()[0]
    assert added == pytest.approx(q * g.areas[-1] * 2.0, rel=1e-12)


# ------------------------------------------------------------------------- identities
def test_matrix_diffusion_decouples_in_the_eigenbasis():
    """D = P Λ P⁻¹ (Lasaga-like, non-symmetric): P⁻¹c evolves as m scalar problems."""
    rng = np.random.default_rng(3)
    P = np.eye(3) + 0.3 * rng.normal(size=(3, 3))
    lam = np.array([0.2, 1.0, 4.0])
    Dm = P @ np.diag(lam) @ np.linalg.inv(P)
    g = Grid1D.uniform(1.0, 40, "spherical")
    c0 = rng.normal(size=(40, 3))
    rim = np.array([0.3, -0.1, 0.5])
    sol = solve_diffusion(g, c0, Dm, [0, 0.02, 0.05], right=Dirichlet(rim), method="bdf2")
    w0, w_rim = c0 @ np.linalg.inv(P).T, np.linalg.solve(P, rim)
    for k in range(3):
        ref = solve_diffusion(
            g, w0[:, k], lam[k], [0, 0.02, 0.05], right=Dirichlet(w_rim[k]), method="bdf2"
        )
        np.testing.assert_allclose(sol.c[:, :, :] @ np.linalg.inv(P).T[:, k], ref.c, atol=1e-11)


def test_explicit_components_resolve_the_n_cells_equals_m_ambiguity():
    """Three cells, three components: without ``n_components`` c0 (3, 3) reads as a batch of three
    one-component members; with it, as one member with three coupled components."""
    g = Grid1D.uniform(1.0, 3)
    c0 = np.arange(9.0).reshape(3, 3)
    Dm = np.diag([1.0, 2.0, 3.0])
    coupled = solve_diffusion(g, c0, Dm, [0, 0.1], n_components=3)
    assert not coupled.single_component
    np.testing.assert_allclose(coupled.total()[0], g.volumes @ c0, rtol=1e-14)
    for k, d in enumerate((1.0, 2.0, 3.0)):
        alone = solve_diffusion(g, c0[:, k], d, [0, 0.1])
        np.testing.assert_allclose(coupled.c[:, :, k], alone.c, atol=1e-13)
    with pytest.raises(InputError, match="components"):
        solve_diffusion(g, c0, Dm, [0, 0.1], n_components=2)


def test_a_batch_equals_separate_runs():
    g = Grid1D(np.sort(np.r_[0.0, np.random.default_rng(1).uniform(0, 1, 30), 1.0]), "spherical")
    c0 = np.stack([np.linspace(0, 1, g.n_cells), np.ones(g.n_cells)])
    Ds = np.array([0.5, 2.0])
    sol = solve_diffusion(g, c0, Ds[:, None], [0, 0.01, 0.03], right=Dirichlet(0.2))
    for b in range(2):
        one = solve_diffusion(g, c0[b], Ds[b], [0, 0.01, 0.03], right=Dirichlet(0.2))
        np.testing.assert_allclose(sol.c[:, b], one.c, rtol=1e-12, atol=1e-14)


def test_time_dependent_diffusivity_follows_the_crank_time_transform():
    """D(t) = D0(1 + t/t0): the solution at t equals the constant-D solution at ζ = ∫D dt."""
    D0, t0, t_end = 1.0, 0.05, 0.06
    zeta = D0 * (t_end + t_end**2 / (2 * t0))
    g = Grid1D.uniform(1.0, 100, "spherical")
    varying = solve_diffusion(
        g, np.zeros(100), lambda t, c: D0 * (1 + t / t0), [0, t_end], right=Dirichlet(1.0)
    )
    const = solve_diffusion(g, np.zeros(100), 1.0, [0, zeta], right=Dirichlet(1.0))
    assert np.abs(varying.c[-1] - const.c[-1]).max() < 2e-4


def test_composition_dependent_diffusivity_conserves_with_picard():
    g = Grid1D(np.r_[0.0, np.cumsum(np.linspace(0.5, 1.5, 40))], "planar")
    c0 = np.exp(-(((g.centres - 10) / 3) ** 2))

    def D(t, c):
        return face_average(g, 0.2 + c[..., 0])  # D grows with c (a nonlinear problem)

    sol = solve_diffusion(g, c0, D, [0, 5.0, 20.0], picard=2, method="cn")
    np.testing.assert_allclose(sol.total(), sol.total()[0], rtol=1e-12)
    assert sol.c[-1].max() < c0.max()


@settings(max_examples=30, deadline=None)
@given(
    widths=st.lists(st.floats(0.05, 2.0), min_size=2, max_size=25),
    d=st.floats(1e-3, 1e3),
    geometry=st.sampled_from(["planar", "cylindrical", "spherical"]),
    rim=st.floats(-5, 5),
)
def test_property_constants_are_fixed_points_and_closed_grids_conserve(widths, d, geometry, rim):
    g = Grid1D(np.r_[0.0, np.cumsum(widths)], geometry)
    n = g.n_cells
    flat = solve_diffusion(g, np.full(n, rim), d, [0, 1.0], right=Dirichlet(rim), n_steps=3)
    np.testing.assert_allclose(flat.c[-1], rim, atol=1e-9 * (1 + abs(rim)))
    c0 = np.linspace(-1, 1, n) ** 2
    closed = solve_diffusion(g, c0, d, [0, 1.0], n_steps=3)
    tot = closed.total()
    assert abs(tot[-1] - tot[0]) <= 1e-10 * (1 + abs(tot[0]))


def test_operator_rows_sum_to_zero_inside_and_sources_balance_dirichlet():
    g = Grid1D.uniform(1.0, 6, "spherical")
    A, b = diffusion_operator(g, 1.5, right=Dirichlet(2.0))
    ones = np.ones((1, 6, 1))
    # A·(2) + b = 0: the rim value is an equilibrium
    np.testing.assert_allclose(A.matvec(2 * ones) + b, 0.0, atol=1e-12)


# ------------------------------------------------------------------------- 2-D
def test_2d_cosine_mode_decays_by_the_exact_discrete_factor():
    g = Grid2D(nx=16, ny=12, dx=0.5, dy=0.25)
    D, dt, n = 0.7, 0.01, 25
    kx, ky = 2, 3
    mode = np.cos(ky * np.pi * (np.arange(12) + 0.5) / 12)[:, None] * np.cos(
        kx * np.pi * (np.arange(16) + 0.5) / 16
    )
    lam = -4 * D * (np.sin(kx * np.pi / 32) ** 2 / g.dx**2 + np.sin(ky * np.pi / 24) ** 2 / g.dy**2)
    out = ImplicitDiffusion2D(g, D, dt).advance(np.stack([mode, 2 * mode]), n)
    factor = (1 / (1 - dt * lam)) ** n
    np.testing.assert_allclose(out[0], factor * mode, atol=1e-12)
    np.testing.assert_allclose(out[1], 2 * factor * mode, atol=1e-12)


def test_2d_dirichlet_sides_give_the_linear_steady_state():
    g = Grid2D(nx=10, ny=4, dx=0.1, dy=0.3)
    L, b = diffusion_operator_2d(g, 2.0, dirichlet={"left": 1.0, "right": 0.0})
    steady = np.linalg.solve(L.toarray(), -b).reshape(g.shape)
    np.testing.assert_allclose(steady, np.broadcast_to(1 - g.x / 1.0, g.shape), atol=1e-12)
    cn = ImplicitDiffusion2D(g, 2.0, 0.05, method="cn", dirichlet={"left": 1.0, "right": 0.0})
    np.testing.assert_allclose(cn.advance(np.zeros(g.shape), 400), steady, atol=1e-8)


# ------------------------------------------------------------------------- bad input
def test_bad_input_is_reported():
    g = Grid1D.uniform(1.0, 5)
    with pytest.raises(InputError, match="cells"):
        solve_diffusion(g, np.zeros(4), 1.0, [0, 1])
    with pytest.raises(InputError, match="increasing"):
        solve_diffusion(g, np.zeros(5), 1.0, [1, 0])
    with pytest.raises(ModelError, match="method"):
        solve_diffusion(g, np.zeros(5), 1.0, [0, 1], method="rk4")
    with pytest.raises(InputError, match="diffusivity"):
        solve_diffusion(g, np.zeros(5), np.ones(3), [0, 1])
    with pytest.raises(InputError, match="increasing"):
        Grid1D(np.array([0.0, 1.0, 1.0]))
    with pytest.raises(ModelError, match="geometry"):
        Grid1D(np.array([0.0, 1.0]), "conical")
    with pytest.raises(InputError, match="non-finite"):
        solve_diffusion(g, np.full(5, np.nan), 1.0, [0, 1])
    with pytest.raises(ModelError, match="sides"):
        diffusion_operator_2d(Grid2D(3, 3), 1.0, dirichlet={"north": 1.0})
    assert isinstance(ZeroFlux(), ZeroFlux)
