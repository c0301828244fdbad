"""Ensemble statistics of study datasets (layer 4: xarray and scipy, Dataset in, Dataset out).

Means, variances and confidence intervals over realizations (Student and
bootstrap); the variance-scaling fit and Kanit's law (integral range,
anomalous long-range exponents, RVE size, realizations needed); the boundary
condition bias and the error budget; stationarity and ergodicity tests; the
calibration of the generators to a measured image (:func:`calibrate`). Only
records whose ``status`` is ok (1) enter the statistics. Never imports Dask or
the study layer.
"""

from __future__ import annotations

from sve.statistics.bias import boundary_bias, error_budget
from sve.statistics.calibration import Calibration, calibrate
from sve.statistics.ensemble import ensemble_statistics, fit_variance_scaling, isotropic_part
from sve.statistics.ergodicity import (
    ergodicity_test,
    spatial_average_band,
    spatial_average_convergence,
    window_ergodicity,
)
from sve.statistics.representativity import image_representativity
from sve.statistics.scaling import (
    fit_integral_range,
    point_variance,
    realizations_needed,
    rve_size,
)
from sve.statistics.synthetic import synthetic_study

__all__ = [
    "Calibration",
    "boundary_bias",
    "calibrate",
    "ensemble_statistics",
    "ergodicity_test",
    "error_budget",
    "fit_integral_range",
    "fit_variance_scaling",
    "image_representativity",
    "isotropic_part",
    "point_variance",
    "realizations_needed",
    "rve_size",
    "spatial_average_band",
    "spatial_average_convergence",
    "synthetic_study",
    "window_ergodicity",
]
