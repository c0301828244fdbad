"""Morphology functions with several results return named tuples that still unpack."""

import numpy as np
import pytest

from sve.morphology import (
    ChordLengthDistribution,
    Clusters,
    IntegralRangeEstimate,
    LinealPath,
    RadialProfile,
    chord_length_distribution,
    connected_components,
    integral_range,
    lineal_path,
    radial_average,
)

IMAGE = np.array([[1, 1, 0, 1], [0, 1, 0, 0], [1, 0, 0, 1], [1, 1, 0, 1]])


@pytest.mark.parametrize(
    ("call", "kind", "fields"),
    [
        (lambda: chord_length_distribution(IMAGE), ChordLengthDistribution,
         ("lengths", "probability")),
        (lambda: lineal_path(IMAGE), LinealPath, ("lengths", "probability")),
        (lambda: connected_components(IMAGE), Clusters, ("labels", "count")),
        (lambda: radial_average(IMAGE.astype(float)), RadialProfile, ("radii", "profile")),
        (lambda: integral_range(np.tile(IMAGE, (8, 8)), radius=2.0), IntegralRangeEstimate,
         ("value", "standard_error", "low", "high", "radius", "replicates")),
    ],
)  # fmt: skip
def test_named_fields_equal_the_unpacked_values(call, kind, fields):
    result = call()
    assert isinstance(result, kind) and isinstance(result, tuple)
    assert result._fields == fields
    unpacked = tuple(result)
    for name, value in zip(fields, unpacked, strict=True):
        np.testing.assert_array_equal(getattr(result, name), value)


def test_clusters_count_matches_labels():
    labels, count = connected_components(IMAGE, periodic=False)
    assert count == labels.max() == len(np.unique(labels[labels > 0]))
    assert connected_components(IMAGE, periodic=True).count <= count
