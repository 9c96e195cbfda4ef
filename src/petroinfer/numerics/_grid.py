"""Cell-centred finite-volume grids: 1-D planar / cylindrical / spherical, and 2-D rectangular."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

from petroinfer.errors import InputError, ModelError

__all__ = ["Grid1D", "Grid2D"]

Geometry = Literal["planar", "cylindrical", "spherical"]
_EXPONENT = {"planar": 0, "cylindrical": 1, "spherical": 2}


@dataclass(frozen=True)
class Grid1D:
    r"""A 1-D cell-centred finite-volume grid.

    Parameters
    ----------
    edges : array_like, shape (N + 1,)
        Cell faces, strictly increasing, in m (or any length unit used consistently). For
        cylindrical and spherical grids ``edges[0]`` may be 0 (the centre: a face of zero area, so no
        special centre row is needed — Versypt & Braatz 2014 discuss the alternatives).
    geometry : {"planar", "cylindrical", "spherical"}
        Planar: cell volumes :math:`\Delta x` and face areas 1. Cylindrical: per radian and unit
        length, volumes :math:`(r_{i+1}^2 - r_i^2)/2`, areas :math:`r`. Spherical: per steradian,
        volumes :math:`(r_{i+1}^3 - r_i^3)/3`, areas :math:`r^2`.

    Attributes
    ----------
    centres : ndarray, shape (N,)
        Volume centroids of the cells (the points that cell averages are second-order accurate at).
    volumes : ndarray, shape (N,)
    areas : ndarray, shape (N + 1,)
        Face areas (zero at a centre face).

    Examples
    --------
    >>> g = Grid1D.uniform(1.0, 4, "spherical")
    >>> float(g.volumes.sum() * 3)  # volume of the unit sphere per steradian, times 3
    1.0
    >>> round(g.integrate(np.ones(4)), 12)
    0.333333333333
    """

    edges: np.ndarray
    geometry: Geometry = "planar"
    centres: np.ndarray = field(init=False, repr=False)
    volumes: np.ndarray = field(init=False, repr=False)
    areas: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.geometry not in _EXPONENT:
            raise ModelError(
                f"Grid1D: geometry must be one of {sorted(_EXPONENT)}; got {self.geometry!r}"
            )
        e = np.asarray(self.edges, dtype=float)
        if e.ndim != 1 or e.size < 2:
            raise InputError("Grid1D: edges must be a 1-D array of at least 2 faces", value=e.shape)
        if not np.all(np.isfinite(e)) or np.any(np.diff(e) <= 0):
            raise InputError("Grid1D: edges must be finite and strictly increasing")
        if self.geometry != "planar" and e[0] < 0:
            raise InputError(f"Grid1D: a {self.geometry} grid starts at r >= 0", value=e[0])
        k = _EXPONENT[self.geometry]
        volumes = (e[1:] ** (k + 1) - e[:-1] ** (k + 1)) / (k + 1)
        areas = e**k if k else np.ones_like(e)
        # volume centroid: (int r^(k+1) dr) / (int r^k dr) over each cell
        centres = (e[1:] ** (k + 2) - e[:-1] ** (k + 2)) / (k + 2) / volumes
        object.__setattr__(self, "edges", e)
        object.__setattr__(self, "volumes", volumes)
        object.__setattr__(self, "areas", areas)
        object.__setattr__(self, "centres", centres)

    @classmethod
    def uniform(cls, length: float, n: int, geometry: Geometry = "planar", start: float = 0.0):
        """``n`` equal cells on ``[start, start + length]``."""
        if not (isinstance(n, int | np.integer) and n >= 1):
            raise ModelError(f"Grid1D.uniform: n must be a positive int; got {n!r}")
        if not length > 0:
            raise ModelError(f"Grid1D.uniform: length must be > 0; got {length!r}")
        return cls(np.linspace(start, start + length, int(n) + 1), geometry)

    @property
    def n_cells(self) -> int:
        """Number of cells N."""
        return self.volumes.size

    @property
    def spacing(self) -> np.ndarray:
        """Distances between neighbouring centres, shape (N - 1,)."""
        return np.diff(self.centres)

    def integrate(self, c: ArrayLike, axis: int = -1) -> np.ndarray | float:
        """Volume integral of cell averages ``c`` along ``axis`` (the conserved amount)."""
        c = np.moveaxis(np.asarray(c, dtype=float), axis, -1)
        out = c @ self.volumes
        return float(out) if np.ndim(out) == 0 else out

    def cell_averages(self, f, n_points: int = 8) -> np.ndarray:
        """Cell averages of a function ``f(r)`` by Gauss–Legendre quadrature with the volume weight."""
        x, w = np.polynomial.legendre.leggauss(n_points)
        a, b = self.edges[:-1, None], self.edges[1:, None]
        r = 0.5 * (b - a) * x + 0.5 * (a + b)
        weight = r ** _EXPONENT[self.geometry]
        vals = np.asarray(f(r), dtype=float)
        return (0.5 * (b - a) * w * weight * vals).sum(axis=1) / self.volumes


@dataclass(frozen=True)
class Grid2D:
    """A uniform 2-D cell-centred grid of ``ny × nx`` cells of size ``dy × dx`` (row-major: y, x).

    Parameters
    ----------
    nx : int
        Number of cells along x (columns); >= 1.
    ny : int
        Number of cells along y (rows); >= 1.
    dx : float, default 1.0
        Cell size along x (any length unit, used consistently with the diffusivity); > 0.
    dy : float, default 1.0
        Cell size along y; > 0.

    Examples
    --------
    >>> g = Grid2D(nx=4, ny=3, dx=0.5, dy=1.0)
    >>> g.shape, g.n_cells, float(g.cell_area)
    ((3, 4), 12, 0.5)
    """

    nx: int
    ny: int
    dx: float = 1.0
    dy: float = 1.0

    def __post_init__(self) -> None:
        for name in ("nx", "ny"):
            v = getattr(self, name)
            if not (isinstance(v, int | np.integer) and v >= 1):
                raise ModelError(f"Grid2D: {name} must be a positive int; got {v!r}")
        for name in ("dx", "dy"):
            v = getattr(self, name)
            if not (np.isfinite(v) and v > 0):
                raise ModelError(f"Grid2D: {name} must be > 0; got {v!r}")

    @property
    def shape(self) -> tuple[int, int]:
        """``(ny, nx)``."""
        return (int(self.ny), int(self.nx))

    @property
    def n_cells(self) -> int:
        """``nx * ny``."""
        return int(self.nx * self.ny)

    @property
    def cell_area(self) -> float:
        """``dx * dy``."""
        return float(self.dx * self.dy)

    @property
    def x(self) -> np.ndarray:
        """Cell-centre x coordinates, shape (nx,)."""
        return (np.arange(self.nx) + 0.5) * self.dx

    @property
    def y(self) -> np.ndarray:
        """Cell-centre y coordinates, shape (ny,)."""
        return (np.arange(self.ny) + 0.5) * self.dy

    def integrate(self, c: ArrayLike) -> np.ndarray | float:
        """Area integral over the last two axes (y, x)."""
        out = np.asarray(c, dtype=float).sum(axis=(-2, -1)) * self.cell_area
        return float(out) if np.ndim(out) == 0 else out
