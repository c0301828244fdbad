"""The synthetic study dataset follows the variance law it is drawn from."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sve.statistics import ensemble_statistics, synthetic_study


@pytest.mark.statistical
def test_variance_follows_kanit_law_within_sampling_error():
    n = 400
    ds = synthetic_study(sizes=(4, 8), realizations=n, point_variance=2.0, integral_range=3.0,
                         ndim=3, rng=1)  # fmt: skip
    variance = ds.conductivity.squeeze().var("realization", ddof=1).values
    exact = 2.0 * 3.0 / np.array([4.0, 8.0]) ** 3
    # relative standard error of a normal sample variance: sqrt(2 / (n - 1)); 4 of them
    assert np.all(np.abs(variance / exact - 1) <= 4 * math.sqrt(2 / (n - 1)))
    assert ensemble_statistics(ds)["n"].values.ravel().tolist() == [n, n]


def test_gap_orders_the_boundary_conditions():
    ds = synthetic_study(bc=["kinematic", "periodic", "static"], gap=2.0, realizations=10)
    values = ds.conductivity.squeeze()
    assert (values.sel(bc="kinematic") > values.sel(bc="periodic")).all()
    assert (values.sel(bc="periodic") > values.sel(bc="static")).all()


@pytest.mark.parametrize(
    ("kwargs", "text"),
    [({"bc": ["sideways"]}, "bc must hold"), ({"realizations": 1}, "realizations must be >= 2"),
     ({"sizes": [0, 4]}, "sizes must be"), ({"point_variance": -1.0}, "point_variance")],
)  # fmt: skip
def test_bad_arguments_are_named(kwargs, text):
    with pytest.raises(ValueError, match=text):
        synthetic_study(**kwargs)
