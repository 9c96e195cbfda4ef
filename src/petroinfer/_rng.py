"""Random-state handling shared by every stochastic routine (DESIGN.md §3)."""

from __future__ import annotations

import numpy as np

from petroinfer.errors import ModelError

RandomState = int | np.random.Generator | None

__all__ = ["RandomState", "as_generator", "seed_of"]


def as_generator(random_state: RandomState) -> np.random.Generator:
    """Return a :class:`numpy.random.Generator` from ``None``, an int seed or a Generator.

    The same int gives the same stream, so results are reproducible; a Generator is used as is
    (and advanced).
    """
    if random_state is None:
        return np.random.default_rng()
    if isinstance(random_state, np.random.Generator):
        return random_state
    if isinstance(random_state, (int, np.integer)) and not isinstance(random_state, bool):
        if random_state < 0:
            raise ModelError(f"random_state must be a non-negative int, got {random_state}")
        return np.random.default_rng(int(random_state))
    raise ModelError(
        f"random_state must be None, a non-negative int or a numpy Generator, got {random_state!r}"
    )


def seed_of(random_state: RandomState) -> int | None:
    """The int seed recorded in result metadata (``None`` when a Generator or nothing was given)."""
    if isinstance(random_state, (int, np.integer)) and not isinstance(random_state, bool):
        return int(random_state)
    return None
