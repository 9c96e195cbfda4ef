"""petroinfer.numerics: domain-free numerical kernels (finite-volume diffusion/transport, steppers).

Used by the garnet diffusion models (``petroinfer.diffusion``) and by reaction–transport
(``petroinfer.kinetics``); nothing here knows about minerals. See ``docs/methods/numerics.md``.

* :class:`Grid1D` (planar, cylindrical, spherical; non-uniform cells) and :class:`Grid2D`;
* :func:`diffusion_operator` / :func:`solve_diffusion`: conservative finite volumes for one or several
  coupled components (matrix diffusivity), batches of independent members in one banded LAPACK solve,
  Crank–Nicolson (Rannacher start), backward Euler and BDF2, time- and composition-dependent D;
* :func:`diffusion_operator_2d` / :class:`ImplicitDiffusion2D`: 5-point finite volumes on a 2-D grid
  with a sparse LU factor reused across steps and members.
"""

from petroinfer.numerics._diffusion1d import (
    DiffusionSolution,
    Dirichlet,
    Exchange,
    Flux,
    ZeroFlux,
    diffusion_operator,
    face_average,
    solve_diffusion,
)
from petroinfer.numerics._diffusion2d import ImplicitDiffusion2D, diffusion_operator_2d
from petroinfer.numerics._grid import Grid1D, Grid2D

__all__ = [
    "DiffusionSolution",
    "Dirichlet",
    "Exchange",
    "Flux",
    "Grid1D",
    "Grid2D",
    "ImplicitDiffusion2D",
    "ZeroFlux",
    "diffusion_operator",
    "diffusion_operator_2d",
    "face_average",
    "solve_diffusion",
]
