"""Rose diagrams with fitted densities (matplotlib, imported lazily)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from petroinfer.errors import ModelError

__all__ = ["rose_diagram"]

_UNITS = {"deg": 180.0 / np.pi, "rad": 1.0}


def rose_diagram(
    angles: Any,
    fits: Sequence[Any] = (),
    *,
    unit: str = "deg",
    axial: bool = False,
    bins: int = 18,
    ax=None,
):
    r"""Rose diagram (polar histogram as a density) with fitted densities overlaid.

    Parameters
    ----------
    angles : array_like
        Angles in ``unit`` (axial: axis angles in [0°, 180°)).
    fits : sequence of CircularFit
        Fitted models whose densities are drawn (see :func:`fit_circular`).
    unit : {"deg", "rad"}
        Unit of ``angles``.
    axial : bool
        Axial data: each axis is drawn at θ and θ + 180° with half its density, so that the bars and
        the curves (:math:`f(2\theta)`) integrate to 1 over the full circle.
    bins : int
        Number of sectors over the data's own range (180° for axial data, 360° otherwise).
    ax : matplotlib.axes.Axes or None
        Polar axes (created when ``None``).

    Returns
    -------
    matplotlib.axes.Axes
        The polar axes; the radial axis is the density per radian, the angular axis the azimuth in
        degrees (0° at the top, clockwise, as for strikes and trends).

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> ax = rose_diagram([10.0, 20.0, 25.0, 200.0, 15.0])
    >>> ax.get_ylabel()
    'density (rad⁻¹)'
    """
    import matplotlib.pyplot as plt

    if unit not in _UNITS:
        raise ModelError(f"unit must be one of {sorted(_UNITS)}; got {unit!r}")
    t = np.mod(np.asarray(angles, float) / _UNITS[unit], np.pi if axial else 2 * np.pi)
    if ax is None:
        fig = plt.figure(figsize=(5, 5))
        ax = fig.add_subplot(projection="polar")
    if hasattr(ax, "set_theta_zero_location"):
        ax.set_theta_zero_location("N")
        ax.set_theta_direction(-1)
    span = np.pi if axial else 2 * np.pi
    edges = np.linspace(0.0, span, bins + 1)
    counts, _ = np.histogram(t, bins=edges)
    width = span / bins
    dens = counts / (t.size * width) / (2.0 if axial else 1.0)
    starts = edges[:-1]
    if axial:
        starts, dens = np.concatenate([starts, starts + np.pi]), np.concatenate([dens, dens])
    ax.bar(
        starts, dens, width=width, align="edge", color="#d9c4ac", edgecolor="#7a4b2a", label="data"
    )
    grid = np.linspace(0.0, 2 * np.pi, 721)
    for fit in fits:
        f = fit.pdf(grid, unit="rad") / (2.0 if axial else 1.0)
        ax.plot(grid, f, lw=1.8, label=f"{fit.model} (AIC {fit.aic:.1f})")
    ax.set_xlabel("azimuth (°)")
    ax.set_ylabel("density (rad⁻¹)")
    ax.legend(loc="lower left", bbox_to_anchor=(0.75, -0.12), fontsize="small")
    return ax
