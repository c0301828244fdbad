"""The default study, run exactly as the README's first command runs it."""

from pathlib import Path

import numpy as np
import pytest

from sve import run_study
from sve.statistics import ensemble_statistics, fit_variance_scaling

DEFAULT = Path(__file__).parents[2] / "studies" / "default.toml"


@pytest.mark.slow
def test_default_study_variance_exponent_is_minus_two(tmp_path):
    ds = run_study(DEFAULT, store=tmp_path / "default.zarr")  # embedded LocalCluster
    assert (ds["status"] == 1).all()
    # the acceptance band for a short-range 2-D medium: -2 +- 0.3
    fit = fit_variance_scaling(ensemble_statistics(ds)).sel(bc="periodic")
    assert abs(fit["exponent"].item() + 2) <= 0.3
    # the fit is statistically consistent with -2 (its 95 % interval, from the
    # sampling error of the variances, contains it)
    assert fit["exponent_low"].item() <= -2 <= fit["exponent_high"].item()
    # exact volume fraction by rank in every realization
    np.testing.assert_array_equal(ds["volume_fraction"], 0.5)
