"""The default study, run exactly as the README's first command runs it."""

from pathlib import Path

import numpy as np
import pytest
from scipy import stats

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
    # and statistically consistent with -2: within 4 standard errors of the fit,
    # which come from the sampling error of the variances
    se = (fit["exponent_high"].item() - fit["exponent_low"].item()) / (2 * stats.norm.ppf(0.975))
    assert abs(fit["exponent"].item() + 2) <= 4 * se
    # the expected volume fraction: the mean over 64 realizations of the largest
    # size within 4 standard errors (their spread) of 0.5
    phi = ds["volume_fraction"].isel(size=-1)
    assert abs(float(phi.mean()) - 0.5) <= 4 * float(phi.std()) / np.sqrt(phi.size)
