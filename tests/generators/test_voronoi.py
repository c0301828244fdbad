from __future__ import annotations

import math

import numpy as np
import pytest
from _generators_stats import N_SIGMA, mean_and_standard_error
from scipy import stats
from scipy.spatial import cKDTree

from generators import (
    voronoi_integral_range,
    voronoi_mosaic,
    voronoi_polycrystal,
)
from generators.voronoi import _nearest_germ, _poisson_germs


@pytest.mark.parametrize(
    ("shape", "intensity", "spacing"),
    [
        ((50, 37), 0.02, 1.0),
        ((20, 24, 18), 0.004, 0.5),
        ((64, 64), 0.5, 1.0),
        ((30, 8, 16), 1e-3, 1.0),
        ((40, 40, 40), 2e-5, 1.0),  # one or two germs: the search widens to the whole box
        ((24, 24, 24), 0.3, 1.0),  # germs denser than voxels
        ((6, 200), 0.01, 0.25),  # a strip thinner than the cells
        ((3, 2, 90), 0.05, 1.0),
    ],
)
def test_grain_ids_are_the_nearest_germ(shape, intensity, spacing):
    # oracle: a periodic k-d tree query of every voxel centre (ties have probability zero)
    crystal = voronoi_polycrystal(shape, intensity / spacing ** len(shape), spacing=spacing, rng=1)
    box = np.array(shape) * spacing
    centres = (np.indices(shape).reshape(len(shape), -1).T + 0.5) * spacing
    _, nearest = cKDTree(crystal.centres, boxsize=box).query(centres)
    np.testing.assert_array_equal(crystal.grain_ids.ravel(), nearest)
    assert crystal.grain_ids.dtype == np.int32


@pytest.mark.parametrize("intensity", [0.005, 0.2, 3.0])
def test_one_dimensional_cells_are_the_nearest_germ(intensity):
    rng = np.random.default_rng(8)
    germs = _poisson_germs((300,), 1.0, intensity, rng)
    ids = _nearest_germ((300,), 1.0, germs, np.arange(len(germs), dtype=np.int32))
    _, nearest = cKDTree(germs, boxsize=[300.0]).query(np.arange(300.0)[:, None] + 0.5)
    np.testing.assert_array_equal(ids, nearest)


@pytest.mark.statistical
@pytest.mark.parametrize(("shape", "intensity"), [((256, 256), 0.004), ((64, 64, 64), 4e-4)])
def test_mosaic_fraction_and_integral_range(shape, intensity):
    # the sum of squared cell volumes over the box volume estimates the integral range
    # lambda E[V^2] (voronoi_integral_range Notes); fraction p and that estimate are checked
    # against their sampling bands over 32 realizations
    rng = np.random.default_rng(42)
    fractions, ranges = [], []
    for _ in range(32):
        crystal = voronoi_polycrystal(shape, intensity, rng=rng)
        volumes = np.bincount(crystal.grain_ids.ravel()).astype(float)
        ranges.append(np.sum(volumes**2) / crystal.grain_ids.size)
        fractions.append(voronoi_mosaic(shape, intensity, 0.3, rng=rng).mean())
    expected = voronoi_integral_range(intensity, len(shape))
    # the fraction of one mosaic, sum_i V_i B_i / N with independent Bernoulli(p) cells,
    # has variance p (1 - p) E[sum V_i^2] / N^2 = p (1 - p) A / N: its band comes from
    # that, and the spread of the 32 fractions is held to it (sample variance of 32
    # near-normal values: relative error sqrt(2 / 31))
    variance = 0.3 * 0.7 * expected / np.prod(shape)
    assert abs(np.mean(fractions) - 0.3) <= N_SIGMA * np.sqrt(variance / len(fractions))
    assert abs(np.var(fractions, ddof=1) / variance - 1.0) <= N_SIGMA * np.sqrt(2.0 / 31)
    mean, error = mean_and_standard_error(ranges)
    assert abs(mean - expected) <= N_SIGMA * error, (mean, expected, error)


@pytest.mark.statistical
@pytest.mark.parametrize(("shape", "intensity"), [((48, 48, 48), 1e-3), ((128, 96), 5e-3)])
def test_no_edge_bias_in_voronoi_mosaics(shape, intensity):
    # the periodic Poisson-Voronoi mosaic is invariant in law under shifts, so every voxel
    # is phase 1 with probability p: so is each boundary slab, within its sampling error
    probability = 0.3
    rng = np.random.default_rng(17)
    phases = np.stack([voronoi_mosaic(shape, intensity, probability, rng=rng) for _ in range(32)])
    for axis in range(1, phases.ndim):
        for index in (0, -1):
            slab = np.take(phases, index, axis=axis)
            mean, error = mean_and_standard_error(slab.reshape(len(slab), -1).mean(axis=1))
            assert abs(mean - probability) <= N_SIGMA * error, (axis, index, mean, error)


@pytest.mark.statistical
def test_orientations_are_uniform_on_so3():
    # Haar measure: rotation angle w with CDF (w - sin w) / pi, entries of mean 0, variance 1/3
    rotations = voronoi_polycrystal((32, 32, 32), 0.05, rng=3).rotations
    assert len(rotations) > 1000
    np.testing.assert_allclose(
        rotations @ rotations.transpose(0, 2, 1),
        np.broadcast_to(np.eye(3), rotations.shape),
        atol=1e-12,
    )
    np.testing.assert_allclose(np.linalg.det(rotations), 1.0, atol=1e-12)
    angle = np.arccos(np.clip((np.trace(rotations, axis1=1, axis2=2) - 1.0) / 2.0, -1.0, 1.0))
    assert stats.kstest(angle, lambda w: (w - np.sin(w)) / math.pi).pvalue > 1e-4
    n = len(rotations)
    assert np.all(np.abs(rotations.mean(axis=0)) <= N_SIGMA * math.sqrt(1.0 / 3.0 / n))
    # variance of R_ij^2 under Haar measure: E[R^4] - 1/9 = 1/5 - 1/9
    second = (rotations**2).mean(axis=0)
    assert np.all(np.abs(second - 1.0 / 3.0) <= N_SIGMA * math.sqrt((0.2 - 1.0 / 9.0) / n))


@pytest.mark.statistical
def test_orientations_are_uniform_in_2d():
    rotations = voronoi_polycrystal((128, 128), 0.1, rng=4).rotations
    angle = np.mod(np.arctan2(rotations[:, 1, 0], rotations[:, 0, 0]), 2 * math.pi)
    assert stats.kstest(angle / (2 * math.pi), "uniform").pvalue > 1e-4
    np.testing.assert_allclose(rotations[:, 0, 0], rotations[:, 1, 1])


def test_same_seed_same_mosaic_and_periodicity():
    first = voronoi_mosaic((40, 40), 0.01, rng=5)
    np.testing.assert_array_equal(first, voronoi_mosaic((40, 40), 0.01, rng=5))
    assert not np.array_equal(first, voronoi_mosaic((40, 40), 0.01, rng=6))
    # a periodic tessellation: a germ near a face owns voxels on the opposite face
    crystal = voronoi_polycrystal((40, 40), 0.01, rng=5)
    assert np.intersect1d(crystal.grain_ids[0], crystal.grain_ids[-1]).size > 0


def test_integral_range_values():
    # 1-D exact: (1 + 1/2) / lambda; 2-D and 3-D: 1.280176 and 1.1790 at unit intensity
    assert voronoi_integral_range(2.0, 1) == 0.75
    assert voronoi_integral_range(1.0, 2) == pytest.approx(1.280176)
    assert voronoi_integral_range(0.5, 3) == pytest.approx(2 * 1.179)


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: voronoi_mosaic((16, 16), 1e-4), ValueError, "at least one germ"),
        (lambda: voronoi_mosaic((16, 16), 0.0), ValueError, r"intensity must be in \(0, inf\)"),
        (
            lambda: voronoi_mosaic((16, 16), 0.1, 1.0),
            ValueError,
            r"probability must be in \(0, 1\)",
        ),
        (lambda: voronoi_polycrystal((16,), 0.1), ValueError, "2 or 3 entries"),
        (lambda: voronoi_polycrystal((16, 0), 0.1), ValueError, "shape entries must be >= 2"),
        (lambda: voronoi_integral_range(1.0, 4), ValueError, "ndim must be 1 to 3"),
    ],
)
def test_bad_arguments_are_rejected(call, error, message):
    with pytest.raises(error, match=message):
        call()
