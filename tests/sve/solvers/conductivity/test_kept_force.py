"""The forces kept for the Hill-Mandel cross terms: float16 scaled by a power of 2."""

import math

import numpy as np
import pytest

from sve.solvers.conductivity.cell_problem import kept_force


@pytest.mark.parametrize("magnitude", [1e-9, 3.7, 2.0**20])
def test_kept_force_rounds_each_value_to_float16_after_an_exact_scaling(magnitude):
    """``half * scale`` is the force to 11 bits where the scaled value is a normal float16
    (at least 2**-14), to half a subnormal step (2**-25 of the scale) below; the scale is
    the power of 2 just above the largest magnitude, so no value overflows."""
    rng = np.random.default_rng(11)
    force = magnitude * rng.standard_normal((40, 30)) * 10.0 ** rng.uniform(-8, 0, (40, 30))
    half, scale = kept_force(force)
    assert half.dtype == np.float16 and half.shape == force.shape
    mantissa, exponent = math.frexp(scale)
    assert mantissa == 0.5 and np.abs(force).max() < scale <= 2 * np.abs(force).max()
    assert np.abs(half).max() <= 1.0
    back = half.astype(np.float64) * scale
    normal = np.abs(force) >= 2.0**-14 * scale
    assert normal.any() and (~normal).any()
    error = np.abs(back - force)
    assert np.all(error[normal] <= 2.0**-11 * np.abs(force[normal]))
    assert np.all(error[~normal] <= 2.0**-25 * scale)


def test_kept_force_of_zero_and_under_the_tensor_rule():
    half, scale = kept_force(np.zeros((3, 4)))
    assert scale == 1.0 and not half.any()
    force = np.random.default_rng(2).standard_normal((5, 6))
    single, scale = kept_force(force, tensor=True)  # stop="tensor": float32, unscaled
    assert single.dtype == np.float32 and scale == 1.0
    np.testing.assert_array_equal(single, force.astype(np.float32))
