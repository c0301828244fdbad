"""Argument checks shared by the generators (private).

Each check raises ``TypeError`` or ``ValueError`` with a message naming the
argument, the rule and the value received, and returns the normalized value.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

MAX_NDIM = 3


def is_integer(value: object) -> bool:
    """True for Python and NumPy integers, False for booleans."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool | np.bool_)


def as_shape(shape: object) -> tuple[int, ...]:
    """Check a grid shape: 1 to 3 integers, each >= 2."""
    try:
        entries = tuple(shape)
    except TypeError:
        raise TypeError(
            f"shape must be a sequence of 1 to {MAX_NDIM} integers, got {shape!r}"
        ) from None
    if not 1 <= len(entries) <= MAX_NDIM:
        raise ValueError(f"shape must have 1 to {MAX_NDIM} entries, got {shape!r}")
    if not all(is_integer(n) for n in entries):
        raise TypeError(f"shape entries must be integers, got {shape!r}")
    if min(entries) < 2:
        raise ValueError(f"shape entries must be >= 2, got {shape!r}")
    return tuple(int(n) for n in entries)


def as_integer(value: object, name: str, *, minimum: int) -> int:
    """Check an integer >= minimum."""
    if not is_integer(value):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value!r}")
    return int(value)


def as_real_in(value: object, name: str, low: float, high: float) -> float:
    """Check a real number in the open interval (low, high)."""
    if not isinstance(value, numbers.Real) or isinstance(value, bool | np.bool_):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    if not low < value < high:
        raise ValueError(f"{name} must be in ({low:g}, {high:g}), got {value!r}")
    return float(value)


def as_positive(value: object, name: str) -> float:
    """Check a finite real number > 0."""
    return as_real_in(value, name, 0.0, math.inf)


def exactly_one(**alternatives: object) -> str:
    """The name of the one argument given (not None) of two alternative parameterizations.

    ``exactly_one(intensity=a, cell_size=b)``: ``ValueError`` naming both
    when none or both are given.
    """
    given = [name for name, value in alternatives.items() if value is not None]
    if len(given) != 1:
        names = " and ".join(alternatives)
        values = ", ".join(f"{name}={value!r}" for name, value in alternatives.items())
        raise ValueError(f"give exactly one of {names}, got {values}")
    return given[0]


def as_float_array(values: object, name: str, low: float, high: float) -> np.ndarray:
    """Check real values, none NaN, all in the closed interval [low, high]."""
    array = np.asarray(values)
    if not (np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)):
        raise TypeError(f"{name} must hold real numbers, got dtype {array.dtype}")
    array = array.astype(np.float64, copy=False)
    if np.isnan(array).any():
        raise ValueError(f"{name} must not contain NaN")
    if array.size and not (low <= array.min() and array.max() <= high):
        raise ValueError(
            f"{name} must lie in [{low:g}, {high:g}], got values in "
            f"[{array.min():g}, {array.max():g}]"
        )
    return array


def as_generator(rng: object) -> np.random.Generator:
    """Normalize ``rng`` once with :func:`numpy.random.default_rng`."""
    if not (
        rng is None
        or is_integer(rng)
        or isinstance(rng, np.random.Generator | np.random.SeedSequence)
    ):
        raise TypeError(
            "rng must be an int seed, a numpy.random.Generator, a numpy.random.SeedSequence "
            f"or None, got {rng!r}"
        )
    if is_integer(rng) and rng < 0:
        raise ValueError(f"rng must be a non-negative int seed, got {rng!r}")
    return np.random.default_rng(rng)
