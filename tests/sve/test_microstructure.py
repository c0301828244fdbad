"""The Microstructure value: geometry, windows, and the functions that take it."""

from __future__ import annotations

import numpy as np
import pytest

import sve
from sve import Microstructure
from sve.morphology import specific_surface, two_point_probability

LAYERS = np.zeros((8, 8), dtype=np.int8)
LAYERS[:, 4:] = 1


def test_geometry_in_physical_units():
    image = Microstructure(LAYERS, spacing=(2.0, 0.5), unit="um", provenance={"file": "a.tif"})
    assert image.shape == (8, 8) and image.ndim == 2 and image.unit == "um"
    assert image.lengths == (16.0, 4.0) and image.volume == 64.0 and not image.is_cubic
    np.testing.assert_array_equal(image.volume_fractions(), [0.5, 0.5])
    assert image.origin == (0, 0) and image.provenance["file"] == "a.tif"


def test_labels_are_a_read_only_copy():
    labels = LAYERS.copy()
    image = Microstructure(labels)
    labels[0, 0] = 1
    assert image.labels[0, 0] == 0
    with pytest.raises(ValueError):
        image.labels[0, 0] = 1


def test_windows_count_their_origin_in_the_outermost_parent():
    image = Microstructure(np.arange(36).reshape(6, 6) % 3, spacing=0.5, unit="mm")
    inner = image.window((1, 2), (4, 3)).window((1, 0), (2, 2))
    assert inner.origin == (2, 2) and inner.spacing == (0.5, 0.5) and inner.unit == "mm"
    np.testing.assert_array_equal(inner.labels, image.labels[2:4, 2:4])
    assert inner.provenance["parent_shape"] == (6, 6)


@pytest.mark.parametrize(
    ("kwargs", "error", "text"),
    [
        ({"labels": np.zeros((4, 4), float)}, TypeError, "phases must be an integer array"),
        ({"labels": np.zeros((4, 1), np.int8)}, ValueError, "at least 2 voxels"),
        ({"labels": LAYERS, "spacing": (1.0,)}, ValueError, "one entry per axis"),
        ({"labels": LAYERS, "spacing": -1.0}, ValueError, "spacing must be finite and > 0"),
        ({"labels": LAYERS, "unit": ""}, TypeError, "unit must be a non-empty string"),
        ({"labels": LAYERS, "origin": (0, -1)}, ValueError, "origin must hold 2 integers"),
        ({"labels": LAYERS, "provenance": [1]}, TypeError, "provenance must be a mapping"),
    ],
)
def test_bad_input_names_the_argument(kwargs, error, text):
    with pytest.raises(error, match=text):
        Microstructure(**kwargs)


def test_a_window_outside_the_image_is_refused():
    with pytest.raises(ValueError, match="must lie inside the image"):
        Microstructure(LAYERS).window((6, 0), (4, 4))


def test_solvers_take_a_microstructure_and_its_spacing():
    image = Microstructure(LAYERS, spacing=0.25, unit="mm")
    plain = sve.apparent_conductivity(LAYERS, [1.0, 3.0], bc="periodic", tol=1e-10)
    wrapped = sve.apparent_conductivity(image, [1.0, 3.0], bc="periodic", tol=1e-10)
    # layers along axis 1: arithmetic mean across axis 0, harmonic along axis 1 (exact)
    np.testing.assert_allclose(np.diag(wrapped.tensor), [2.0, 1.5], rtol=1e-8)
    np.testing.assert_allclose(wrapped.tensor, plain.tensor, rtol=1e-12, atol=1e-14)
    stiffness = sve.apparent_stiffness(image, [{"E": 1.0, "nu": 0.3}, {"E": 2.0, "nu": 0.3}])
    assert stiffness.tensor.shape == (3, 3)


def test_solvers_take_box_voxels_and_refuse_conflicting_spacing():
    # layers along axis 1 stay exact on box voxels (tests/sve/solvers/conductivity/
    # test_box_voxels.py has the rest)
    boxes = sve.apparent_conductivity(Microstructure(LAYERS, spacing=(1.0, 2.0)), [1.0, 3.0])
    np.testing.assert_allclose(np.diag(boxes.tensor), [2.0, 1.5], rtol=1e-8)
    with pytest.raises(ValueError, match="disagrees with the microstructure"):
        sve.apparent_conductivity(Microstructure(LAYERS, spacing=0.5), [1.0, 2.0], spacing=1.0)


def test_morphology_takes_a_microstructure_and_its_spacing():
    image = Microstructure(LAYERS, spacing=(0.5, 0.5))
    # two interfaces of length 8 * 0.5 in an area of (8 * 0.5)**2 (periodic)
    assert specific_surface(image, method="faces") == pytest.approx(2 * 4.0 / 16.0)
    assert specific_surface(LAYERS, method="faces") == pytest.approx(2 * 8.0 / 64.0)
    np.testing.assert_array_equal(two_point_probability(image), two_point_probability(LAYERS))
