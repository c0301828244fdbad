"""Argument checks shared by every public function of ``sve`` (private).

Validate, then compute (docs: style, rule 2): each check raises ``TypeError``
(wrong kind of value) or ``ValueError`` (right kind, outside its rule) naming
the argument, the rule and the value received, and returns the normalized
value. Every check takes the value first and its name second. The generators
keep their own checks (``generators/_validation.py``): they never import sve.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

MAX_NDIM = 3

# Relative asymmetry of an input tensor accepted as round-off of its computation
# (e.g. ``generators.rotate_tensor``): far above 1e-16, far below any physical anisotropy.
SYMMETRY_TOLERANCE = 1e-10


def is_integer(value: object) -> bool:
    """True for Python and NumPy integers, False for booleans."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool | np.bool_)


def is_real(value: object) -> bool:
    """True for Python and NumPy real numbers, False for booleans."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool | np.bool_)


def _dimensions(ndims: tuple[int, ...]) -> str:
    if len(ndims) == 2:
        return f"{ndims[0]}-D or {ndims[1]}-D"
    return f"{ndims[0]}-D to {ndims[-1]}-D"


def check_phases(
    phases: object,
    *,
    ndims: tuple[int, ...] = (2, 3),
    allow_bool: bool = False,
    nonnegative: bool = True,
) -> np.ndarray:
    """Return `phases` as an integer (or boolean) label array after checking it.

    The rules: an integer array (booleans too where `allow_bool`), of one of
    the dimensions `ndims`, at least 2 voxels along every axis, labels >= 0
    where `nonnegative`.
    """
    array = np.asarray(phases)
    integer = np.issubdtype(array.dtype, np.integer) and array.dtype != np.bool_
    if not (integer or (allow_bool and array.dtype == np.bool_)):
        raise TypeError(
            f"phases must be an integer array of phase labels, got dtype {array.dtype}"
        )
    if array.ndim not in ndims:
        raise ValueError(
            f"phases must be {_dimensions(ndims)}, got {array.ndim}-D with shape {array.shape}"
        )
    if min(array.shape) < 2:
        raise ValueError(f"phases must have at least 2 voxels along every axis, got {array.shape}")
    if nonnegative and integer:
        lowest = array.min()
        if lowest < 0:
            raise ValueError(f"phases must hold labels >= 0, got a label {lowest}")
    return array


def indicator(phases: np.ndarray, phase: object) -> np.ndarray:
    """Boolean image of the voxels labelled `phase`."""
    if not (is_integer(phase) or isinstance(phase, bool | np.bool_)):
        raise TypeError(f"phase must be an integer label, got {phase!r}")
    return phases == phase


def check_real(value: object, name: str, low: float, high: float) -> float:
    """A real number in the open interval (low, high); `high` may be infinite."""
    if not is_real(value):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}")
    if not (math.isfinite(value) and low < value < high):
        raise ValueError(f"{name} must be in ({low:g}, {high:g}), got {value!r}")
    return float(value)


def check_positive(value: object, name: str) -> float:
    """A real number, finite and > 0."""
    if not is_real(value):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}")
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be finite and > 0, got {value!r}")
    return float(value)


def check_integer(value: object, name: str, minimum: int) -> int:
    """An integer >= `minimum` (booleans refused)."""
    if not is_integer(value):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__} {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value!r}")
    return int(value)


def check_bool(value: object, name: str) -> bool:
    """A Python or NumPy boolean."""
    if not isinstance(value, bool | np.bool_):
        raise TypeError(f"{name} must be a bool, got {value!r}")
    return bool(value)


def check_choice(value: object, name: str, choices: tuple[str, ...]) -> str:
    """One of the strings in `choices`."""
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of {choices}, got {value!r}")
    return value


def check_confidence(confidence: object) -> float:
    """A confidence level in (0, 1)."""
    return check_real(confidence, "confidence", 0.0, 1.0)


def check_spacing(spacing: object, ndim: int) -> tuple[float, ...]:
    """One positive finite voxel edge length, or one per axis; returns one per axis."""
    entries = spacing if isinstance(spacing, tuple | list | np.ndarray) else [spacing] * ndim
    if len(entries) != ndim:
        raise ValueError(f"spacing must have one entry per axis ({ndim}), got {spacing!r}")
    for value in entries:
        if not is_real(value):
            raise TypeError(
                f"spacing must be a real number or a sequence of them, got {spacing!r}"
            )
        if not (math.isfinite(value) and value > 0):
            raise ValueError(f"spacing must be finite and > 0 along every axis, got {spacing!r}")
    return tuple(float(value) for value in entries)


def check_axis(axis: object, ndim: int) -> int:
    """An axis index in [-ndim, ndim), returned as a non-negative int."""
    if not is_integer(axis):
        raise TypeError(f"axis must be an integer, got {axis!r}")
    if not -ndim <= axis < ndim:
        raise ValueError(f"axis must be in [{-ndim}, {ndim}) for a {ndim}-D image, got {axis!r}")
    return int(axis) % ndim


def check_positive_values(values: object, name: str) -> object:
    """A real number or an ``xarray.DataArray`` whose values are all finite and > 0."""
    import xarray as xr

    array = values.values if isinstance(values, xr.DataArray) else values
    if not (is_real(array) or isinstance(array, np.ndarray)):
        raise TypeError(f"{name} must be a real number or an xarray.DataArray, got {values!r}")
    if not np.all(np.isfinite(array) & (np.asarray(array) > 0)):
        raise ValueError(f"{name} must be finite and > 0, got {values!r}")
    return values


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

    Returns
    -------
    ndarray of shape (n, d, d), float64
        The symmetric parts.

    Notes
    -----
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
