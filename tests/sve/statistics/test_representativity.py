"""Representativity of one image: the D^2(V) = phi (1 - phi) A / V law, from the image itself."""

from __future__ import annotations

import math

import numpy as np
import pytest

import generators
from sve import Microstructure
from sve.statistics.representativity import image_representativity


def test_white_noise_has_an_integral_range_of_one_voxel():
    rng = np.random.default_rng(5)
    image = (rng.random((96, 96)) < 0.3).astype(np.int8)
    result = image_representativity(image, periodic=True, target=0.05)
    one = result.sel(phase=1)
    phi = float(one.volume_fraction)
    assert float(one.integral_range_low) < 1.0 < float(one.integral_range_high)
    # the formula, at the image's own estimate of A
    expected = 1.959964 * math.sqrt((1 - phi) * float(one.integral_range) / (phi * 96**2))
    assert float(one.relative_error) == pytest.approx(expected, rel=1e-6)
    edge = (1.959964**2 * (1 - phi) * float(one.integral_range) / (phi * 0.05**2)) ** 0.5
    assert float(one.rve_edge) == pytest.approx(edge, rel=1e-6)
    assert float(one.rve_edge_low) <= float(one.rve_edge) <= float(one.rve_edge_high)
    assert bool(one.representative) == (float(one.relative_error) <= 0.05)
    np.testing.assert_allclose(result.volume_fraction.sum(), 1.0)


def test_units_and_lengths_come_from_the_microstructure():
    image = (np.random.default_rng(6).random((64, 64)) < 0.5).astype(np.int8)
    plain = image_representativity(image, periodic=True)
    scaled = image_representativity(Microstructure(image, spacing=2.0, unit="um"), periodic=True)
    assert scaled.attrs["unit"] == "um" and scaled.rve_edge.attrs["units"] == "um"
    np.testing.assert_allclose(scaled.integral_range, 4.0 * plain.integral_range, rtol=1e-12)
    np.testing.assert_allclose(scaled.rve_edge, 2.0 * plain.rve_edge, rtol=1e-12)
    np.testing.assert_allclose(scaled.relative_error, plain.relative_error, rtol=1e-12)


@pytest.mark.parametrize(
    ("kwargs", "error", "text"),
    [
        ({"target": 0.0}, ValueError, "target must be in"),
        ({"confidence": 1.5}, ValueError, "confidence must be in"),
        ({"periodic": "no"}, TypeError, "periodic must be a bool"),
    ],
)
def test_bad_arguments_are_named(kwargs, error, text):
    image = np.zeros((8, 8), np.int8)
    image[:, 4:] = 1
    with pytest.raises(error, match=text):
        image_representativity(image, **kwargs)


def test_one_phase_is_refused():
    with pytest.raises(ValueError, match="at least two phases"):
        image_representativity(np.ones((8, 8), np.int8))


@pytest.mark.slow
@pytest.mark.statistical
def test_predicted_precision_against_the_spread_of_windows():
    """128^2 windows of 200 seeded 512^2 level cuts (one window per parent, so that they
    are independent). The level cut fixes each parent's fraction exactly, which lowers the
    window variance to phi (1 - phi) A (1/V - 1/V_parent) (exact for V >> A).

    * the law itself: the sample standard deviation of the windows' fractions against
      that value, within 4 standard errors of a standard deviation, 4 / sqrt(2 (n - 1));
    * coverage of phi by each window's own interval: inside the binomial band
      0.95 +- 4 sqrt(0.95 * 0.05 / n) (the upper side is bounded by the width check);
    * width: the mean predicted half-width within 25 % of the exact one (the estimator's
      A is noisy, about sqrt(2 n_B / N) per image, but its mean is not biased by more).
    """
    covariance, phi, n, parent, edge = generators.Gaussian(length=4.0), 0.3, 200, 512, 128
    area = generators.level_cut_integral_range(covariance, phi, 2)
    fractions, errors, covered = [], [], []
    for seed in range(n):
        field = generators.gaussian_field((parent, parent), covariance, rng=seed)
        window = generators.level_cut(field, phi)[:edge, :edge]
        one = image_representativity(window).sel(phase=1)
        fraction, error = float(one.volume_fraction), float(one.relative_error)
        fractions.append(fraction)
        errors.append(error)
        covered.append(abs(fraction - phi) <= error * fraction)
    spread = math.sqrt(phi * (1 - phi) * area * (1 / edge**2 - 1 / parent**2))
    assert abs(np.std(fractions, ddof=1) / spread - 1.0) <= 4 / math.sqrt(2 * (n - 1))
    band = 4 * math.sqrt(0.95 * 0.05 / n)
    assert abs(np.mean(covered) - 0.95) <= band
    exact = 1.959964 * math.sqrt((1 - phi) * area / (phi * edge**2))
    assert 0.75 <= np.mean(errors) / exact <= 1.25
