"""Connectivity and percolation on hand-made images, periodic wrap included."""

import numpy as np
import pytest

from sve.morphology import connected_components, percolates


def image_from(text):
    return np.array([[int(c) for c in row] for row in text.split()], dtype=np.int8)


def test_straight_channel():
    image = image_from("0100 0100 0100 0100")
    np.testing.assert_array_equal(percolates(image), [True, False])
    np.testing.assert_array_equal(percolates(image, periodic=False), [True, False])


def test_touching_both_faces_without_wrapping():
    """Ends at columns 0 and 3: spans the window, but the tiled medium is a zig-zag of
    finite pieces because row 3 column 3 never meets row 0 column 0 across the wrap."""
    image = image_from("1000 1100 0110 0011")
    np.testing.assert_array_equal(percolates(image, periodic=False), [True, True])
    np.testing.assert_array_equal(percolates(image), [False, False])


def test_cluster_closed_only_through_the_wrap():
    """Three pieces, none spanning the window, form a loop that winds once along axis 0:
    (0..2, 5) -wrap axis 1- (2..5, 0) -wrap axis 1- (5, 5) -wrap axis 0- (0, 5)."""
    image = np.zeros((6, 6), dtype=np.int8)
    image[0:3, 5] = 1
    image[2:6, 0] = 1
    image[5, 5] = 1
    np.testing.assert_array_equal(percolates(image, periodic=False), [False, False])
    np.testing.assert_array_equal(percolates(image), [True, False])
    image[5, 5] = 0  # the loop is open: a finite cluster of the tiled medium
    np.testing.assert_array_equal(percolates(image), [False, False])


def test_diagonal_winding():
    """A diagonal line wraps along both axes with corner connectivity, along none with faces."""
    image = np.eye(6, dtype=np.int8)
    np.testing.assert_array_equal(percolates(image, connectivity=2), [True, True])
    np.testing.assert_array_equal(percolates(image, connectivity=1), [False, False])
    shifted = np.roll(image, 2, axis=1)  # the line now crosses the wrap in the middle
    np.testing.assert_array_equal(percolates(shifted, connectivity=2), [True, True])
    np.testing.assert_array_equal(
        percolates(shifted, connectivity=2, periodic=False), [False, False]
    )


def test_wrap_only_through_periodic_faces_3d():
    image = np.zeros((6, 6, 6), dtype=np.int8)
    image[:3, 2, 2] = 1
    image[4:, 2, 2] = 1  # gap at index 3: no percolation along axis 0
    assert not percolates(image).any()
    image[3, 2, 2] = 1
    np.testing.assert_array_equal(percolates(image), [True, False, False])
    image[3, 2, 2] = 0
    image[0, 2, 2] = 0
    image[5, 2, 2] = 1  # pieces 1-2 and 4-5 only: the wrap joins 5 to 0, which is empty
    assert not percolates(image).any()


def test_connected_components_periodic_merge():
    image = image_from("1001 0000 0000 1001")
    labels, n = connected_components(image)
    assert n == 1 and set(np.unique(labels)) == {0, 1}
    labels, n = connected_components(image, periodic=False)
    assert n == 4
    full, n = connected_components(np.ones((3, 3), int))
    assert n == 1 and (full == 1).all()


def test_bad_inputs():
    with pytest.raises(ValueError, match="connectivity must be in"):
        percolates(np.zeros((4, 4), int), connectivity=3)
    with pytest.raises(TypeError, match="connectivity must be an integer"):
        connected_components(np.zeros((4, 4), int), connectivity=1.0)
