"""petroinfer.diffusion — multicomponent diffusion and growth of garnet along T–P–t histories.

* :func:`tracer_diffusivities` / :func:`diffusivity_parameters`: published Arrhenius sets
  (Chakraborty & Ganguly 1992, Carlson 2006, Chu & Ague 2015) with their uncertainties, SI units;
* :func:`lasaga_matrix`: the Lasaga (1979) interdiffusion matrix (Ca dependent);
* :class:`ThermalHistory`: batches of piecewise-linear T(t), P(t) histories, ∫D dt per element;
* :func:`simulate_garnet`: shell-append growth + Crank–Nicolson/BDF2 finite-volume diffusion on
  spherical or planar grids, vectorised over an ensemble of histories (built on
  :mod:`petroinfer.numerics`);
* :func:`solve_landau`: the Landau-transformed moving-boundary solver for a smooth R(t);
* :func:`observe_profile`: the EPMA observation operator (off-centre section, Gaussian beam).

See ``docs/methods/garnet_diffusion.md``.
"""

from petroinfer.diffusion._garnet import GarnetProfiles, Growth, RimEquilibrium, simulate_garnet
from petroinfer.diffusion._history import ThermalHistory
from petroinfer.diffusion._landau import solve_landau
from petroinfer.diffusion._lasaga import lasaga_flux, lasaga_matrix
from petroinfer.diffusion._observation import observe_profile
from petroinfer.diffusion._parameters import (
    COMPONENTS,
    END_MEMBERS,
    SECONDS_PER_MYR,
    DiffusivityParameters,
    diffusivity_parameters,
    tracer_diffusivities,
)

__all__ = [
    "COMPONENTS",
    "END_MEMBERS",
    "SECONDS_PER_MYR",
    "DiffusivityParameters",
    "GarnetProfiles",
    "Growth",
    "RimEquilibrium",
    "ThermalHistory",
    "diffusivity_parameters",
    "lasaga_flux",
    "lasaga_matrix",
    "observe_profile",
    "simulate_garnet",
    "solve_landau",
    "tracer_diffusivities",
]
