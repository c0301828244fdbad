"""Argument checks of ``sve.atoms`` (private): stretches, deformation gradients, potentials."""

from __future__ import annotations

import numpy as np

from sve._validation import check_integer, is_real


def _real_array(value: object, name: str) -> np.ndarray:
    """`value` as a float64 array; TypeError unless it holds integers or floats."""
    array = np.asarray(value)
    if not (np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)):
        raise TypeError(f"{name} must hold real numbers, got dtype {array.dtype}")
    return array.astype(np.float64)


def check_stretch(stretch: object, name: str = "stretch") -> np.ndarray:
    """A real number or array of them, finite and > 0, as a float64 array."""
    if not (is_real(stretch) or isinstance(stretch, list | tuple | np.ndarray)):
        raise TypeError(f"{name} must be a real number or an array of them, got {stretch!r}")
    array = _real_array(stretch, name)
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must be finite, got {stretch!r}")
    if not np.all(array > 0):
        raise ValueError(f"{name} must be > 0 (a stretch, 1 = undeformed), got {stretch!r}")
    return array


def check_gradient(gradient: object) -> np.ndarray:
    """A deformation gradient (..., 2, 2), finite, with a positive determinant."""
    array = _real_array(gradient, "F")
    if array.ndim < 2 or array.shape[-2:] != (2, 2):
        raise ValueError(f"F must have shape (..., 2, 2), got {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"F must be finite, got {gradient!r}")
    if not np.all(np.linalg.det(array) > 0):
        raise ValueError(f"F must have a positive determinant, got {gradient!r}")
    return array


def check_neighbours(n_neighbours: object) -> int:
    """A number of neighbours (or shells) >= 1."""
    return check_integer(n_neighbours, "n_neighbours", 1)


def check_wavenumbers(q: object) -> np.ndarray:
    """Reduced wavenumbers (phase per atom), finite reals."""
    array = _real_array(q, "q")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"q must be finite, got {q!r}")
    return array
