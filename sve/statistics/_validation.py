"""Argument checks shared by the statistics functions (private).

Each check raises ``TypeError`` or ``ValueError`` naming the argument, the
rule and the value received.
"""

from __future__ import annotations

import math
import numbers

import numpy as np
import xarray as xr


def check_dataset(ds: object, name: str, variables: tuple[str, ...], dims: tuple[str, ...]):
    """An ``xarray.Dataset`` holding ``variables``, the first of which has ``dims``."""
    if not isinstance(ds, xr.Dataset):
        raise TypeError(f"{name} must be an xarray.Dataset, got {type(ds).__name__}")
    for variable in variables:
        if variable not in ds:
            raise ValueError(
                f"{name} has no variable {variable!r}; variables: {list(ds.data_vars)}"
            )
    missing = [dim for dim in dims if dim not in ds[variables[0]].dims]
    if missing:
        raise ValueError(
            f"{name}[{variables[0]!r}] must have dimensions {dims}, got {ds[variables[0]].dims}"
        )


def check_real(value: object, name: str, low: float, high: float) -> float:
    """A real number in the open interval (low, high)."""
    if not isinstance(value, numbers.Real) or isinstance(value, bool | np.bool_):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    if not (math.isfinite(value) or math.isinf(high)) or not low < value < high:
        raise ValueError(f"{name} must be in ({low:g}, {high:g}), got {value!r}")
    return float(value)


def check_integer(value: object, name: str, minimum: int) -> int:
    """An integer >= minimum (booleans refused)."""
    if not isinstance(value, numbers.Integral) or isinstance(value, bool | np.bool_):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value!r}")
    return int(value)


def check_confidence(confidence: object) -> float:
    """A confidence level in (0, 1)."""
    return check_real(confidence, "confidence", 0.0, 1.0)


def check_positive_values(values: object, name: str) -> object:
    """A float or DataArray whose values are all finite and > 0."""
    array = values.values if isinstance(values, xr.DataArray) else values
    if isinstance(array, bool | np.bool_) or not (
        isinstance(array, numbers.Real) or isinstance(array, np.ndarray)
    ):
        raise TypeError(f"{name} must be a real number or an xarray.DataArray, got {values!r}")
    if not np.all(np.isfinite(array) & (np.asarray(array) > 0)):
        raise ValueError(f"{name} must be finite and > 0, got {values!r}")
    return values
