"""Argument checks shared by the cell solvers (STYLE.md rule 2)."""

from __future__ import annotations

import math
from numbers import Integral, Real

import numpy as np
from numpy.typing import ArrayLike


def check_phases(phases: ArrayLike) -> np.ndarray:
    """Return `phases` as an integer array after checking it.

    The rules: an integer array, 2-D or 3-D, at least 2 voxels along every
    axis, labels >= 0.
    """
    array = np.asarray(phases)
    if array.dtype == np.bool_ or not np.issubdtype(array.dtype, np.integer):
        raise TypeError(
            f"phases must be an integer array of phase labels, got dtype {array.dtype}"
        )
    if array.ndim not in (2, 3):
        raise ValueError(f"phases must be 2-D or 3-D, got {array.ndim}-D with shape {array.shape}")
    if min(array.shape) < 2:
        raise ValueError(f"phases must have at least 2 voxels along every axis, got {array.shape}")
    lowest = array.min()
    if lowest < 0:
        raise ValueError(f"phases must hold labels >= 0, got a label {lowest}")
    return array


def check_positive(name: str, value: Real) -> float:
    """Return `value` as a float after checking it is real, finite and > 0."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}")
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be finite and > 0, got {value!r}")
    return float(value)


def check_tol(tol: Real) -> float:
    """Return `tol` as a float after checking it lies in (0, 1)."""
    if isinstance(tol, bool) or not isinstance(tol, Real):
        raise TypeError(f"tol must be a real number, got {type(tol).__name__} {tol!r}")
    if not 0 < tol < 1:
        raise ValueError(f"tol must be in (0, 1), got {tol!r}")
    return float(tol)


def check_maxiter(maxiter: Integral) -> int:
    """Return `maxiter` as an int after checking it is an integer >= 1."""
    if isinstance(maxiter, bool) or not isinstance(maxiter, Integral):
        raise TypeError(f"maxiter must be an integer, got {type(maxiter).__name__} {maxiter!r}")
    if maxiter < 1:
        raise ValueError(f"maxiter must be >= 1, got {maxiter!r}")
    return int(maxiter)


def check_choice(name: str, value: str, choices: tuple[str, ...]) -> str:
    """Return `value` after checking it is one of the strings in `choices`."""
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of {choices}, got {value!r}")
    return value


# Relative asymmetry of an input tensor accepted as round-off of its computation
# (e.g. ``generators.rotate_tensor``): far above 1e-16, far below any physical anisotropy.
SYMMETRY_TOLERANCE = 1e-10


def check_spd_or_zero(name: str, tensors: np.ndarray, where) -> np.ndarray:
    """Return the symmetric part of a stack of tensors after checking each one.

    Parameters
    ----------
    name : str
        Argument name for the messages.
    tensors : ndarray of shape (n, d, d), float64
        The stack.
    where : callable
        ``where(index)`` names entry `index` in a message (e.g.
        ``"conductivity[3]"``).

    The rules: finite; symmetric to ``SYMMETRY_TOLERANCE`` relative to the
    Frobenius norm; positive definite, or exactly zero (a void).
    """
    if not np.all(np.isfinite(tensors)):
        index = int(np.flatnonzero(~np.all(np.isfinite(tensors), axis=(1, 2)))[0])
        raise ValueError(
            f"{name} must be finite, got {tensors[index].tolist()!r} at {where(index)}"
        )
    norms = np.linalg.norm(tensors, axis=(1, 2))
    asymmetry = np.linalg.norm(tensors - tensors.transpose(0, 2, 1), axis=(1, 2))
    bad = np.flatnonzero(asymmetry > SYMMETRY_TOLERANCE * norms)
    if bad.size:
        index = int(bad[0])
        raise ValueError(
            f"{name} must hold symmetric tensors, got {tensors[index].tolist()!r} at "
            f"{where(index)}"
        )
    tensors = 0.5 * (tensors + tensors.transpose(0, 2, 1))
    solid = norms > 0.0
    if solid.any():
        lowest = np.full(len(tensors), np.inf)
        lowest[solid] = np.linalg.eigvalsh(tensors[solid])[:, 0]
        bad = np.flatnonzero(~(lowest > 0.0))
        if bad.size:
            index = int(bad[0])
            raise ValueError(
                f"{name} must hold positive definite tensors, or zero for a void, got smallest "
                f"eigenvalue {lowest[index]:.3g} of {tensors[index].tolist()!r} at {where(index)}"
            )
    return tensors
