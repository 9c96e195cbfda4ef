"""Property accessors shared by the solid (:class:`Endmember`) and fluid end-members (private)."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["PropertyAccessors"]


class PropertyAccessors:
    """``gibbs``/``entropy``/``volume``/``enthalpy`` read from the subclass's ``properties(T, P)``."""

    def properties(self, T: ArrayLike, P: ArrayLike) -> dict[str, np.ndarray]:  # pragma: no cover
        raise NotImplementedError

    def gibbs(self, T: ArrayLike, P: ArrayLike) -> np.ndarray:
        """Apparent Gibbs energy (J/mol) at T [K], P [bar]."""
        return self.properties(T, P)["G"]

    def entropy(self, T: ArrayLike, P: ArrayLike) -> np.ndarray:
        """Entropy (J/K/mol)."""
        return self.properties(T, P)["S"]

    def volume(self, T: ArrayLike, P: ArrayLike) -> np.ndarray:
        """Volume (J/bar/mol; × 10 for cm³/mol)."""
        return self.properties(T, P)["V"]

    def enthalpy(self, T: ArrayLike, P: ArrayLike) -> np.ndarray:
        """Apparent enthalpy of formation (J/mol)."""
        return self.properties(T, P)["H"]
