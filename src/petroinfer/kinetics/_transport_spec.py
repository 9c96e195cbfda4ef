"""Reaction–transport set-ups from a mapping / YAML file (used by the command line and scripts)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from petroinfer.errors import InputError, ModelError
from petroinfer.kinetics._transport_model import (
    ReactionTransport,
    layered_state,
    olivine_quartz_h2o,
)
from petroinfer.kinetics.reactions import ReactionNetwork, load_network
from petroinfer.numerics import Dirichlet, Grid1D, ZeroFlux

__all__ = ["TransportSetup", "load_transport_spec"]


@dataclass(frozen=True)
class TransportSetup:
    """A ready-to-run reaction–transport problem.

    Parameters
    ----------
    model : ReactionTransport
        Forward model.
    initial_state : numpy.ndarray
        State ``(N, S)`` at time 0.
    time : float or list of float
        Observation time, or the increasing times of several snapshots.
    n_steps : int
        Time steps to each observation time.
    options : dict
        The remaining blocks of the specification (``simulation``, ``fit``).
    """

    model: ReactionTransport
    initial_state: np.ndarray
    time: float | list[float]
    n_steps: int
    options: dict


def _number(block: Mapping, key: str, default: float, positive: bool = True) -> float:
    value = block.get(key, default)
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise InputError(f"specification: {key} must be a number", value=value) from None
    if not np.isfinite(v) or (positive and v <= 0):
        raise InputError(f"specification: {key} must be a positive number", value=value)
    return v


def _times(spec: Mapping) -> float | list[float]:
    """``time``: one positive number, or a list of increasing positive snapshot times."""
    value = spec.get("time", 5.0)
    if not isinstance(value, list | tuple):
        return _number(spec, "time", 5.0)
    times = [_number({"time": v}, "time", 5.0) for v in value]
    if not times or np.any(np.diff(times) <= 0):
        raise InputError("specification: time must be a number or increasing numbers", value=value)
    return times


def load_transport_spec(spec: str | os.PathLike[str] | Mapping[str, Any]) -> TransportSetup:
    """Build a :class:`TransportSetup` from a YAML file or mapping.

    Parameters
    ----------
    spec : str, path-like or mapping
        Keys (all optional): ``network`` (``"olivine-quartz-h2o"`` (default),
        ``"dissolution-precipitation"`` or a network mapping as in
        :meth:`ReactionNetwork.to_dict`), ``surface_law``, ``grid`` (``length`` m, ``cells``),
        ``diffusivity``, ``boundary`` (``left``/``right``: ``closed`` or a fixed aqueous
        concentration), ``initial`` (``left``, ``right`` species → amount, ``contact``; default: the
        template's quartz | olivine contact, or the network's uniform initial amounts), ``time``
        (a number, or a list of increasing snapshot times), ``n_steps``, ``simulation`` and ``fit``
        blocks (passed through).

    Returns
    -------
    TransportSetup

    Examples
    --------
    >>> setup = load_transport_spec({"grid": {"cells": 20}, "time": 2.0})
    >>> setup.initial_state.shape
    (20, 5)
    >>> load_transport_spec({"time": [1.0, 4.0]}).time
    [1.0, 4.0]
    """
    if not isinstance(spec, Mapping):
        import yaml

        path = Path(spec)
        if not path.is_file():
            raise InputError("specification file not found", value=str(spec))
        try:
            spec = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            raise InputError(f"cannot read {path} as YAML: {' '.join(str(exc).split())}") from None
        if not isinstance(spec, Mapping):
            raise InputError(f"{path} must contain a YAML mapping")
    net_spec = spec.get("network", "olivine-quartz-h2o")
    template = net_spec in ("olivine-quartz-h2o", None)
    net: ReactionNetwork = olivine_quartz_h2o() if template else load_network(net_spec)
    if "surface_law" in spec:
        net = net.with_surface_law(str(spec["surface_law"]))
    grid_b = spec.get("grid", {}) or {}
    if not isinstance(grid_b, Mapping):
        raise InputError("specification: grid must be a mapping (length, cells)")
    cells = int(_number(grid_b, "cells", 24))
    if cells < 3:
        raise InputError("specification: grid.cells must be >= 3", value=cells)
    grid = Grid1D.uniform(_number(grid_b, "length", 1.0), cells)
    bounds = spec.get("boundary", {}) or {}

    def bc(side: str):
        v = bounds.get(side, "closed")
        if v in ("closed", None):
            return ZeroFlux()
        return Dirichlet(_number({side: v}, side, 0.0, positive=False))

    model = ReactionTransport(
        net, grid, _number(spec, "diffusivity", 0.01), left=bc("left"), right=bc("right")
    )
    init = spec.get("initial")
    if init is None and template:
        init = {"left": {"Qz": 0.4, "Ol": 0.02}, "right": {"Ol": 0.4}}
    if init is None:
        x0 = np.broadcast_to(net.initial_state, (cells, len(net.species))).copy()
    else:
        if not isinstance(init, Mapping):
            raise InputError("specification: initial must be a mapping (left, right, contact)")
        x0 = layered_state(
            net, grid, init.get("left", {}) or {}, init.get("right", {}) or {}, init.get("contact")
        )
    time = _times(spec)
    n_steps = int(_number(spec, "n_steps", 12))
    opts = {k: dict(spec.get(k) or {}) for k in ("simulation", "fit")}
    if any(not isinstance(spec.get(k) or {}, Mapping) for k in ("simulation", "fit")):
        raise ModelError("specification: 'simulation' and 'fit' must be mappings")
    return TransportSetup(model, x0, time, n_steps, opts)
