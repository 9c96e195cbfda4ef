"""Fixtures of the geochemistry tests."""

from __future__ import annotations

import functools

import pytest


@pytest.fixture(scope="session")
def melting_model():
    """Build the sampler's model of a ``MeltingInversion`` for a table (DMM source, W&H bulk D).

    ``melting_model(data, model="batch", **kw)`` returns ``(MeltingModel, MeltingInversion)``;
    with ``initial=True`` it returns ``(MeltingModel, initial state)`` instead.
    """
    from petroinfer.geochem import MeltingInversion
    from petroinfer.geochem._melting_inputs import resolve_D, resolve_source
    from petroinfer.geochem._melting_run import _initial, build_model

    def build(data, model="batch", *, initial=False, **kw):
        inv = MeltingInversion(model, **kw)
        els = list(data.columns)
        lo, hi = inv.F_bounds
        mm = build_model(
            inv, model, data, resolve_source("DMM", els), resolve_D("workman_hart_2005", els),
            None, (lo, hi), inv._prior_numbers(lo, hi),
        )  # fmt: skip
        return (mm, _initial(mm)) if initial else (mm, inv)

    return build


@pytest.fixture(scope="session")
def melting_model_x0(melting_model):
    """``melting_model`` returning ``(MeltingModel, initial state)``."""
    return functools.partial(melting_model, initial=True)
