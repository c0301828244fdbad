from __future__ import annotations

import math

import numpy as np
import pytest
from _generators_stats import N_SIGMA, mean_and_standard_error
from scipy.spatial import cKDTree

from generators import RSA_SATURATION, rsa_spheres
from generators.packing import ball_volume


def closest_surface_gap(packing, box):
    tree = cKDTree(np.mod(packing.centres, box), boxsize=box)
    distances, _ = tree.query(np.mod(packing.centres, box), k=2)
    return distances[:, 1].min() - 2.0 * packing.radii[0]


@pytest.mark.parametrize(
    ("shape", "radius", "volume_fraction", "gap"),
    [((96, 96), 3.0, 0.4, 0.0), ((96, 96), 2.5, 0.3, 1.0), ((32, 32, 32), 2.0, 0.3, 0.2)],
)
def test_no_overlaps_and_the_target_count(shape, radius, volume_fraction, gap):
    packing = rsa_spheres(shape, radius, volume_fraction, gap=gap, rng=3)
    box = np.array(shape, float)
    target = round(volume_fraction * np.prod(box) / ball_volume(radius, len(shape)))
    assert len(packing.radii) == target
    assert np.all(packing.radii == radius)
    assert closest_surface_gap(packing, box) >= gap - 1e-12  # round-off of the distances
    assert packing.labels.dtype == np.int8 and packing.labels.shape == shape


def test_count_scales_with_the_box_volume():
    # doubling every edge at a fixed fraction multiplies the count by 2^d
    small = rsa_spheres((40, 40), 2.0, 0.35, rng=1)
    big = rsa_spheres((80, 80), 2.0, 0.35, rng=1)
    expected = round(0.35 * 6400 / (math.pi * 4))
    assert len(small.radii) == round(0.35 * 1600 / (math.pi * 4))
    assert len(big.radii) == expected


@pytest.mark.statistical
@pytest.mark.parametrize(("shape", "radius", "n"), [((160, 160), 4.0, 6), ((48, 48, 48), 3.0, 4)])
def test_saturated_packings_reproduce_the_jamming_limit(shape, radius, n):
    # volume_fraction=None runs to saturation; the mean over realizations is within 1 % of
    # the literature limit (the brief's requirement) and within its own sampling band
    ndim = len(shape)
    fractions = []
    for seed in range(n):
        packing = rsa_spheres(shape, radius, None, rng=seed)
        fractions.append(len(packing.radii) * ball_volume(radius, ndim) / np.prod(shape))
    mean, error = mean_and_standard_error(fractions)
    limit = RSA_SATURATION[ndim]
    assert abs(mean / limit - 1.0) <= 0.01
    # finite periodic boxes of a few hundred spheres: their O(1/n) bias is far below 4 sigma
    assert abs(mean - limit) <= N_SIGMA * error + 1e-3


@pytest.mark.statistical
def test_voxel_fraction_is_unbiased():
    # voxel-centre inclusion samples the continuous packing at the voxel centres, so the
    # voxel fraction has the continuous fraction as its mean
    rng = np.random.default_rng(4)
    packings = [rsa_spheres((64, 64), 2.7, 0.4, rng=rng) for _ in range(24)]
    continuous = [len(p.radii) * math.pi * 2.7**2 / 64**2 for p in packings]
    difference = [p.labels.mean() - c for p, c in zip(packings, continuous, strict=True)]
    mean, error = mean_and_standard_error(difference)
    assert abs(mean) <= N_SIGMA * error


def test_same_seed_same_packing():
    first = rsa_spheres((48, 48), 2.0, 0.3, rng=9)
    np.testing.assert_array_equal(first.centres, rsa_spheres((48, 48), 2.0, 0.3, rng=9).centres)
    assert not np.array_equal(first.centres, rsa_spheres((48, 48), 2.0, 0.3, rng=10).centres)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"volume_fraction": 0.55}, ValueError, "below the RSA saturation limit 0.547"),
        ({"volume_fraction": 0.5, "gap": 1.0}, ValueError, "saturation limit 0.350"),
        ({"shape": (32, 32, 32), "volume_fraction": 0.39}, ValueError, "limit 0.384"),
        ({"volume_fraction": 0.0}, ValueError, r"volume_fraction must be in \(0, 1\)"),
        ({"volume_fraction": 1.2}, ValueError, r"volume_fraction must be in \(0, 1\)"),
        ({"radius": 17.0}, ValueError, "at most half the smallest box edge"),
        ({"radius": 15.0, "gap": 2.0}, ValueError, "radius \\+ gap must be at most half"),
        ({"radius": -1.0}, ValueError, r"radius must be in \(0, inf\)"),
        ({"gap": -0.5}, ValueError, "gap must be >= 0"),
        ({"gap": "1"}, TypeError, "gap must be a real number"),
    ],
)
def test_bad_arguments_are_rejected(kwargs, error, message):
    arguments = {"shape": (32, 32), "radius": 2.0, "volume_fraction": 0.3} | kwargs
    with pytest.raises(error, match=message):
        rsa_spheres(**arguments)


def test_a_target_this_box_cannot_reach_raises():
    # just below the limit a small box may saturate first (this seed: 24 disks, 25 wanted):
    # a clear error, not a hang
    with pytest.raises(ValueError, match="beyond what RSA reached in this box"):
        rsa_spheres((24, 24), 2.0, 0.546, rng=2)
