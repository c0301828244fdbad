"""Chord lengths and the lineal path function against exact results on simple images."""

import numpy as np
import pytest

from sve.morphology import chord_length_distribution, chord_lengths, lineal_path


def laminate(shape, thickness, period, axis=0):
    """Layers of ``thickness`` voxels of phase 1 starting every ``period`` voxels at 0."""
    index = np.arange(shape[axis]) % period < thickness
    return np.broadcast_to(
        index.reshape([-1 if a == axis else 1 for a in range(len(shape))]), shape
    ).astype(np.int8)


def digital_disk(radius, size):
    x = np.indices((size, size)) - size // 2
    return ((x**2).sum(0) <= radius**2).astype(np.int8)


@pytest.mark.parametrize("periodic", [True, False])
def test_laminate(periodic):
    """Layers of 3 voxels of phase 1 in periods of 8 along axis 0 (windows cut at index 0)."""
    image = laminate((32, 5), 3, 8)
    across = chord_lengths(image, axis=0, spacing=0.5, periodic=periodic)
    np.testing.assert_array_equal(across, np.full(20 if periodic else 15, 1.5))
    # along the layers every line lies wholly in one phase: no chord
    assert chord_lengths(image, axis=1, periodic=periodic).size == 0
    r, path = lineal_path(image, axis=0, periodic=periodic)
    if periodic:  # exact: (3 - r)+ segments per 8 starting points
        expected = np.clip(3 - r, 0, None) / 8
    else:  # per line: 4 runs of 3 voxels, 32 - r starting points
        expected = 4 * np.clip(3 - r, 0, None) / (32 - r)
    np.testing.assert_allclose(path, expected, atol=1e-15)
    np.testing.assert_allclose(lineal_path(image, axis=1, periodic=periodic)[1], 3 / 8)


def test_periodic_wrap_joins_runs():
    np.testing.assert_array_equal(chord_lengths([1, 1, 0, 0, 1]), [3.0])
    np.testing.assert_array_equal(chord_lengths([1, 1, 0, 0, 1], periodic=False), [])
    np.testing.assert_array_equal(
        chord_lengths([1, 1, 0, 0, 1], periodic=False, include_edges=True), [2.0, 1.0]
    )
    np.testing.assert_allclose(lineal_path([1, 1, 0, 0, 1])[1], [0.6, 0.4, 0.2, 0.0, 0.0])


@pytest.mark.parametrize("radius", [5, 12])
def test_disk(radius):
    """Row y of a digital disk holds the 2 floor(sqrt(R^2 - y^2)) + 1 voxels of |x| <= ..."""
    size = 2 * radius + 9
    image = digital_disk(radius, size)
    y = np.arange(-radius, radius + 1)
    rows = 2 * np.floor(np.sqrt(radius**2 - y**2)).astype(int) + 1
    for periodic in (True, False):
        chords = chord_lengths(image, axis=1, periodic=periodic)
        np.testing.assert_array_equal(np.sort(chords), np.sort(rows))
    r, path = lineal_path(image, axis=1, periodic=False)
    expected = np.array([np.clip(rows - k, 0, None).sum() for k in r]) / (size * (size - r))
    np.testing.assert_allclose(path, expected, rtol=1e-14)
    lengths, p = chord_length_distribution(image, axis=1)
    # mean chord = area / number of rows (Cauchy's area / width, digitally exact)
    assert np.sum(lengths * p) == pytest.approx(image.sum() / (2 * radius + 1), rel=1e-14)


def test_bad_inputs():
    with pytest.raises(ValueError, match="axis must be in"):
        chord_lengths(np.zeros((4, 4), int), axis=2)
    with pytest.raises(TypeError, match="axis must be an integer"):
        lineal_path(np.zeros((4, 4), int), axis=0.5)
    with pytest.raises(ValueError, match="one entry per axis"):
        lineal_path(np.zeros((4, 4), int), spacing=(1.0, 1.0, 1.0))
    with pytest.raises(TypeError, match="include_edges must be a bool"):
        chord_lengths(np.zeros((4, 4), int), include_edges=1)
