"""One vocabulary: the parameter names study specs use work in the generators too.

Where two parameterizations are natural (intensity and cell size, intensity
and volume fraction, probability and volume fraction), the generators take
either as keyword-only alternatives, exactly one of each pair, and the
conversions are the generators' own formulas.
"""

import math

import numpy as np
import pytest

from generators import (
    boolean_intensity,
    boolean_spheres,
    boolean_volume_fraction,
    covariance_model,
    random_checkerboard,
    voronoi_integral_range,
    voronoi_intensity,
    voronoi_mosaic,
    voronoi_polycrystal,
)


@pytest.mark.parametrize(("cell_size", "ndim"), [(4.0, 2), (3.0, 3), (2.5, 2)])
def test_cell_size_is_the_edge_of_the_mean_cell(cell_size, ndim):
    intensity = voronoi_intensity(cell_size=cell_size, ndim=ndim)
    assert intensity == pytest.approx(cell_size**-ndim, rel=1e-15)
    assert voronoi_intensity(intensity=0.25) == 0.25
    assert voronoi_integral_range(cell_size=cell_size, ndim=ndim) == voronoi_integral_range(
        intensity, ndim
    )


def test_voronoi_mosaic_takes_either_name_of_each_pair():
    shape = (24, 24)
    reference = voronoi_mosaic(shape, 1 / 16, 0.3, rng=5)
    same = voronoi_mosaic(shape, cell_size=4.0, volume_fraction=0.3, rng=5)
    np.testing.assert_array_equal(same, reference)
    np.testing.assert_array_equal(voronoi_mosaic(shape, 1 / 16, volume_fraction=0.3, rng=5),
                                  reference)  # fmt: skip
    assert not np.array_equal(voronoi_mosaic(shape, cell_size=4.0, rng=5), reference)  # p = 0.5


def test_voronoi_polycrystal_takes_cell_size():
    a = voronoi_polycrystal((16, 16), 1 / 16, rng=3)
    b = voronoi_polycrystal((16, 16), cell_size=4.0, rng=3)
    np.testing.assert_array_equal(a.grain_ids, b.grain_ids)
    np.testing.assert_array_equal(a.rotations, b.rotations)


@pytest.mark.statistical
def test_expected_number_of_cells_is_intensity_times_volume():
    """Germs are Poisson(lambda |V|) (conditioned on >= 1, negligible at a mean of 50):
    the mean count over 400 seeds is within 4 standard errors of cell_size**-d |V|."""
    cell_size, shape = math.sqrt(32.0), (40, 40)
    expected = 1600 / cell_size**2  # 50 germs
    counts = [len(voronoi_polycrystal(shape, cell_size=cell_size, rng=s).centres)
              for s in range(400)]  # fmt: skip
    error = math.sqrt(expected / len(counts))
    assert abs(np.mean(counts) - expected) < 4 * error
    assert np.var(counts, ddof=1) == pytest.approx(expected, rel=0.25)  # Poisson: var = mean


@pytest.mark.parametrize(
    ("call", "names"),
    [
        (lambda: voronoi_mosaic((8, 8), 0.1, cell_size=2.0), "intensity and cell_size"),
        (lambda: voronoi_mosaic((8, 8)), "intensity and cell_size"),
        (lambda: voronoi_mosaic((8, 8), 0.1, 0.4, volume_fraction=0.4),
         "probability and volume_fraction"),
        (lambda: voronoi_polycrystal((8, 8), 0.1, cell_size=2.0), "intensity and cell_size"),
        (lambda: voronoi_integral_range(0.1, 2, cell_size=2.0), "intensity and cell_size"),
        (lambda: random_checkerboard((8, 8), 2, cell_size=2), "cell and cell_size"),
        (lambda: random_checkerboard((8, 8), 2, 0.5, volume_fraction=0.5),
         "probability and volume_fraction"),
        (lambda: boolean_spheres((8, 8), 1.0, intensity=0.1, volume_fraction=0.3),
         "intensity and volume_fraction"),
        (lambda: boolean_spheres((8, 8), 1.0), "intensity and volume_fraction"),
    ],
)  # fmt: skip
def test_both_or_neither_of_a_pair_is_a_clear_error(call, names):
    with pytest.raises(ValueError, match=f"give exactly one of {names}"):
        call()


def test_random_checkerboard_takes_the_spec_names():
    reference = random_checkerboard((8, 8), 2, 0.3, rng=1)
    np.testing.assert_array_equal(
        random_checkerboard((8, 8), cell_size=2, volume_fraction=0.3, rng=1), reference
    )
    with pytest.raises(ValueError, match="multiples of cell_size = 3"):
        random_checkerboard((8, 8), cell_size=3)


@pytest.mark.parametrize(("intensity", "radius", "ndim"), [(0.05, 2.0, 2), (0.01, 1.5, 3)])
def test_boolean_volume_fraction_and_intensity_are_inverse(intensity, radius, ndim):
    ball = math.pi * radius**2 if ndim == 2 else 4 / 3 * math.pi * radius**3
    phi = boolean_volume_fraction(intensity, radius, ndim)
    assert phi == pytest.approx(1 - math.exp(-intensity * ball), rel=1e-14)
    assert boolean_intensity(phi, radius, ndim) == pytest.approx(intensity, rel=1e-12)


def test_covariance_takes_correlation_length():
    assert covariance_model("gaussian", correlation_length=3.0) == covariance_model(
        "gaussian", length=3.0
    )
    with pytest.raises(ValueError, match="exactly one of length and correlation_length"):
        covariance_model("gaussian", length=3.0, correlation_length=3.0)
