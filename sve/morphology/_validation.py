"""Argument checks shared by the morphology functions (private).

Each check raises ``TypeError`` or ``ValueError`` naming the argument, the
rule and the value received, and returns the normalized value.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

MAX_NDIM = 3


def is_integer(value: object) -> bool:
    """True for Python and NumPy integers, False for booleans."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool | np.bool_)


def check_phases(phases: object, *, min_ndim: int = 1) -> np.ndarray:
    """An integer (or boolean) label image, ``min_ndim``-D to 3-D, >= 2 voxels per axis."""
    array = np.asarray(phases)
    if not (array.dtype == np.bool_ or np.issubdtype(array.dtype, np.integer)):
        raise TypeError(
            f"phases must be an integer array of phase labels, got dtype {array.dtype}"
        )
    if not min_ndim <= array.ndim <= MAX_NDIM:
        raise ValueError(
            f"phases must be {min_ndim}-D to {MAX_NDIM}-D, got {array.ndim}-D "
            f"with shape {array.shape}"
        )
    if min(array.shape) < 2:
        raise ValueError(f"phases must have at least 2 voxels along every axis, got {array.shape}")
    return array


def indicator(phases: np.ndarray, phase: object) -> np.ndarray:
    """Boolean image of the voxels labelled ``phase``."""
    if not (is_integer(phase) or isinstance(phase, bool | np.bool_)):
        raise TypeError(f"phase must be an integer label, got {phase!r}")
    return phases == phase


def check_spacing(spacing: object, ndim: int) -> tuple[float, ...]:
    """One positive finite voxel edge length, or one per axis."""
    entries = spacing if isinstance(spacing, tuple | list | np.ndarray) else [spacing] * ndim
    if len(entries) != ndim:
        raise ValueError(f"spacing must have one entry per axis ({ndim}), got {spacing!r}")
    out = []
    for value in entries:
        if not isinstance(value, numbers.Real) or isinstance(value, bool | np.bool_):
            raise TypeError(
                f"spacing must be a real number or a sequence of them, got {spacing!r}"
            )
        if not (math.isfinite(value) and value > 0):
            raise ValueError(f"spacing entries must be finite and > 0, got {spacing!r}")
        out.append(float(value))
    return tuple(out)


def check_axis(axis: object, ndim: int) -> int:
    """An axis index in [-ndim, ndim), returned as a non-negative int."""
    if not is_integer(axis):
        raise TypeError(f"axis must be an integer, got {axis!r}")
    if not -ndim <= axis < ndim:
        raise ValueError(f"axis must be in [{-ndim}, {ndim}) for a {ndim}-D image, got {axis!r}")
    return int(axis) % ndim


def check_bool(value: object, name: str) -> bool:
    """A Python or NumPy boolean."""
    if not isinstance(value, bool | np.bool_):
        raise TypeError(f"{name} must be a bool, got {value!r}")
    return bool(value)


def check_confidence(confidence: object) -> float:
    """A confidence level in (0, 1)."""
    if not isinstance(confidence, numbers.Real) or isinstance(confidence, bool | np.bool_):
        raise TypeError(f"confidence must be a real number, got {confidence!r}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    return float(confidence)
