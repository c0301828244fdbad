from __future__ import annotations

import numpy as np
import pytest

from generators import checkerboard, laminate, random_checkerboard


@pytest.mark.parametrize(
    ("shape", "volume_fraction", "axis", "n_layers"),
    [
        ((40,), 0.25, 0, 2),
        ((40, 8), 0.25, 0, 2),
        ((6, 30, 4), 0.6, 1, 3),
        ((8, 8, 16), 0.5, -1, 4),
    ],
)
def test_laminate_fraction_is_exact_and_layers_are_normal_to_axis(
    shape, volume_fraction, axis, n_layers
):
    phases = laminate(shape, volume_fraction, axis=axis, n_layers=n_layers)
    assert phases.dtype == np.int8
    assert phases.shape == shape
    assert phases.mean() == volume_fraction  # phi * period is an integer: exact
    profile = np.moveaxis(phases, axis, 0).reshape(shape[axis], -1)
    assert np.all(profile == profile[:, :1])  # constant across the layers
    period = shape[axis] // n_layers
    thickness = round(volume_fraction * period)
    expected = np.tile(np.r_[np.ones(thickness), np.zeros(period - thickness)], n_layers)
    np.testing.assert_array_equal(profile[:, 0], expected)


def test_laminate_rounds_the_layer_thickness_to_the_nearest_voxel():
    # period 8: 0.3 * 8 = 2.4 -> 2 layers; 0.3125 * 8 = 2.5 -> 2 (ties to even)
    assert laminate((16,), 0.3, n_layers=2).mean() == 0.25
    assert laminate((16,), 0.3125, n_layers=2).mean() == 0.25


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"volume_fraction": 1.3}, ValueError, r"volume_fraction must be in \(0, 1\), got 1.3"),
        ({"volume_fraction": 0.0}, ValueError, r"volume_fraction must be in \(0, 1\)"),
        ({"volume_fraction": 0.02}, ValueError, "must round to 1..15 voxel layers"),
        ({"volume_fraction": 0.99}, ValueError, "must round to 1..15 voxel layers"),
        ({"n_layers": 3}, ValueError, "shape.0. must be a multiple of n_layers = 3, got 16"),
        ({"n_layers": 0}, ValueError, "n_layers must be >= 1"),
        ({"n_layers": 2.0}, TypeError, "n_layers must be an integer"),
        ({"axis": 2}, ValueError, r"axis must be in \[-2, 1\]"),
        ({"axis": -3}, ValueError, "axis must be >= -2"),
        ({"axis": None}, TypeError, "axis must be an integer"),
        ({"shape": (16, 8, 8, 8)}, ValueError, "shape must have 1 to 3 entries"),
    ],
)
def test_laminate_rejects_bad_arguments(kwargs, error, message):
    arguments = {"shape": (16, 8), "volume_fraction": 0.5} | kwargs
    with pytest.raises(error, match=message):
        laminate(**arguments)


@pytest.mark.parametrize(("shape", "cell"), [((8,), 2), ((12, 8), 2), ((6, 6, 12), 3)])
def test_checkerboard_structure(shape, cell):
    phases = checkerboard(shape, cell)
    assert phases.dtype == np.int8
    assert phases.shape == shape
    assert phases.mean() == 0.5
    assert np.all(phases[(slice(0, cell),) * len(shape)] == 0)  # the origin cell is phase 0
    for axis in range(len(shape)):
        # a shift by one cell along any axis swaps the phases, across the box faces too
        np.testing.assert_array_equal(np.roll(phases, cell, axis=axis), 1 - phases)


@pytest.mark.parametrize(
    ("shape", "cell", "error", "message"),
    [
        ((6, 8), 2, ValueError, r"multiples of 2 \* cell = 4 .*got shape \(6, 8\)"),
        ((8, 8), 0, ValueError, "cell must be >= 1"),
        ((8, 8), 1.5, TypeError, "cell must be an integer"),
        ((0, 8), 1, ValueError, "shape entries must be >= 2"),
    ],
)
def test_checkerboard_rejects_bad_arguments(shape, cell, error, message):
    with pytest.raises(error, match=message):
        checkerboard(shape, cell)


@pytest.mark.parametrize(("shape", "cell"), [((12, 8), 2), ((6, 9, 3), 3)])
def test_random_checkerboard_is_constant_on_cells(shape, cell):
    phases = random_checkerboard(shape, cell, 0.4, rng=1)
    assert phases.dtype == np.int8 and phases.shape == shape
    coarse = phases[tuple(slice(None, None, cell) for _ in shape)]
    expanded = coarse
    for axis in range(len(shape)):
        expanded = np.repeat(expanded, cell, axis=axis)
    np.testing.assert_array_equal(phases, expanded)
    np.testing.assert_array_equal(phases, random_checkerboard(shape, cell, 0.4, rng=1))


@pytest.mark.statistical
def test_random_checkerboard_fraction_is_binomial():
    # 4096 independent cells: the fraction is Binomial(4096, p) / 4096
    phases = random_checkerboard((128, 128), 2, 0.3, rng=2)
    assert abs(phases.mean() - 0.3) <= 4.0 * np.sqrt(0.3 * 0.7 / 4096)


@pytest.mark.parametrize(
    ("args", "error", "message"),
    [
        (((10, 8), 4), ValueError, "multiples of cell = 4"),
        (((8, 8), 2, 1.0), ValueError, r"probability must be in \(0, 1\)"),
        (((8, 8), 0), ValueError, "cell must be >= 1"),
    ],
)
def test_random_checkerboard_rejects_bad_arguments(args, error, message):
    with pytest.raises(error, match=message):
        random_checkerboard(*args)
