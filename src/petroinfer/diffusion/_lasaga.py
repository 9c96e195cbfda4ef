r"""The Lasaga (1979) multicomponent diffusion matrix of garnet from tracer diffusivities.

For n cations of equal charge on one site, ideal mixing and a lattice reference frame, the flux of
cation i is (Lasaga 1979, Geochim. Cosmochim. Acta 43:455–469, eq. 23)

.. math:: J_i = -D^*_i \nabla C_i + C_i D^*_i \frac{\sum_k D^*_k \nabla C_k}{\sum_k C_k D^*_k},

so that :math:`\sum_i J_i = 0`. Eliminating the dependent component n (here Ca) gives
:math:`J_i = -\sum_{j<n} D_{ij}\nabla C_j` with

.. math:: D_{ij} = D^*_i\delta_{ij} - \frac{C_i D^*_i (D^*_j - D^*_n)}{\sum_k C_k D^*_k}

(the charges cancel because all z = 2; as written in DiffusionGarnet.jl's documentation).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from petroinfer.errors import InputError

__all__ = ["lasaga_flux", "lasaga_matrix"]


def lasaga_matrix(composition: ArrayLike, tracer: ArrayLike) -> np.ndarray:
    r"""The (n−1) × (n−1) interdiffusion matrix of Lasaga (1979), last component dependent.

    Parameters
    ----------
    composition : array_like, shape (..., n)
        Mole fractions of all n components (the last is the dependent one), or shape
        ``(..., n - 1)`` (the independent ones; the last is 1 − their sum).
    tracer : array_like, shape (..., n)
        Tracer diffusivities :math:`D^*` of the n components (any consistent unit), broadcast with
        ``composition``.

    Returns
    -------
    ndarray, shape (..., n - 1, n - 1)
        :math:`D_{ij}` in the unit of ``tracer``.

    Notes
    -----
    :math:`D_{ij} = D^*_i\delta_{ij} - C_i D^*_i (D^*_j - D^*_n)/\sum_k C_k D^*_k`
    (Lasaga 1979, eq. 23, z = 2 for all cations). Its eigenvalues are real, positive and interlace
    the sorted tracer diffusivities.

    Examples
    --------
    >>> D = lasaga_matrix([0.2, 0.8], [1.0, 3.0])   # binary: D = D1 D2 / (C1 D1 + C2 D2)
    >>> round(float(D[0, 0]), 6)
    1.153846
    """
    D = np.asarray(tracer, dtype=float)
    n = D.shape[-1]
    C = np.asarray(composition, dtype=float)
    if C.shape[-1] == n - 1:
        C = np.concatenate([C, 1.0 - C.sum(axis=-1, keepdims=True)], axis=-1)
    if C.shape[-1] != n:
        raise InputError(
            f"composition must have {n} or {n - 1} components on its last axis", value=C.shape
        )
    if np.any(D <= 0):
        raise InputError("tracer diffusivities must be > 0", value=float(np.min(D)))
    C, D = np.broadcast_arrays(C, D)
    denom = np.sum(C * D, axis=-1)[..., None, None]
    ci_di = (C[..., :-1] * D[..., :-1])[..., :, None]
    dj = (D[..., :-1] - D[..., -1:])[..., None, :]
    eye = np.eye(n - 1) * D[..., :-1, None]
    return eye - ci_di * dj / denom


def lasaga_flux(composition: ArrayLike, gradient: ArrayLike, tracer: ArrayLike) -> np.ndarray:
    r"""Fluxes of all n components from the full Lasaga flux law (before elimination).

    Parameters
    ----------
    composition, gradient, tracer : array_like, shape (..., n)
        Mole fractions, their gradients (summing to 0) and tracer diffusivities.

    Returns
    -------
    ndarray, shape (..., n)
        :math:`J_i = -D^*_i\nabla C_i + C_i D^*_i \sum_k D^*_k\nabla C_k / \sum_k C_k D^*_k`;
        they sum to zero.
    """
    C = np.asarray(composition, dtype=float)
    G = np.asarray(gradient, dtype=float)
    D = np.asarray(tracer, dtype=float)
    num = np.sum(D * G, axis=-1, keepdims=True)
    den = np.sum(C * D, axis=-1, keepdims=True)
    return -D * G + C * D * num / den
