"""Ergodicity tests: a per-realization offset is flagged, ergodic media at the nominal rate."""

import numpy as np
import pytest

from generators import Exponential, gaussian_field
from sve.statistics import ergodicity_test, spatial_average_convergence

MODEL = Exponential(2.0)
WINDOW = 32


def sample(rng, offset_sd=0.0):
    """One 256^2 field and 48 independent 32^2 windows (corners of 64^2 periodic fields, so
    lags inside a window are never wrapped: same law as the tiles of the large field)."""
    large = gaussian_field((256, 256), MODEL, rng=rng) + offset_sd * rng.standard_normal()
    windows = np.array(
        [
            gaussian_field((64, 64), MODEL, rng=rng)[:WINDOW, :WINDOW]
            + offset_sd * rng.standard_normal()
            for _ in range(48)
        ]
    )
    return large, windows


@pytest.mark.statistical
def test_offset_medium_flagged():
    large, windows = sample(np.random.default_rng(0), offset_sd=1.0)
    result = ergodicity_test(large, windows)
    assert float(result["p_value"]) < 0.01 and bool(result["flagged"])
    assert int(result["n_tiles"]) == 64 and int(result["n_realizations"]) == 48


@pytest.mark.statistical
@pytest.mark.slow
def test_ergodic_false_positive_rate():
    """Over 150 seeds, p < 0.05 at most 5 % of the time, within 4 binomial standard errors."""
    trials, level = 150, 0.05
    rejected = sum(
        float(ergodicity_test(*sample(np.random.default_rng(seed)))["p_value"]) < level
        for seed in range(trials)
    )
    assert rejected / trials < level + 4 * np.sqrt(level * (1 - level) / trials)


@pytest.mark.statistical
def test_spatial_average_converges_inside_band():
    rng = np.random.default_rng(1)
    field = gaussian_field((512, 512), MODEL, rng=rng)
    area = MODEL.integral_range(2)
    ok = spatial_average_convergence(
        field, ensemble_mean=0.0, point_variance=1.0, integral_range=area
    )
    assert bool(ok["converged"])
    assert list(ok["size"].values) == [4, 8, 16, 32, 64, 128, 256, 512]
    shifted = spatial_average_convergence(
        field + 0.5, ensemble_mean=0.0, point_variance=1.0, integral_range=area
    )
    assert not bool(shifted["converged"]) and not bool(shifted["inside"].isel(size=-1))


def test_bad_inputs():
    large = np.zeros((64, 64))
    with pytest.raises(ValueError, match="at least 3 windows"):
        ergodicity_test(large, np.zeros((5, 40, 40)))
    with pytest.raises(ValueError, match="at least 3 samples"):
        ergodicity_test(large, np.zeros((2, 8, 8)))
    with pytest.raises(ValueError, match="realizations must be 3-D"):
        ergodicity_test(large, np.zeros((8, 8)))
    with pytest.raises(ValueError, match="must be finite"):
        ergodicity_test(large + np.nan, np.zeros((4, 8, 8)))
    with pytest.raises(ValueError, match="integral_range must be finite and > 0"):
        spatial_average_convergence(large, ensemble_mean=0, point_variance=1, integral_range=0)
