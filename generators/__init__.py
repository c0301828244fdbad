"""Generators of random and analytic media (layer 1: never imports ``sve``).

Random fields and their covariance models, level cuts with their exact
two-point statistics, and deterministic test media, all returned as plain
NumPy arrays on a voxel grid.
"""

from __future__ import annotations

from .analytic import checkerboard, laminate
from .covariance import CovarianceModel, Exponential, Gaussian, covariance_model
from .gaussian import embedding_variance_excess, gaussian_field
from .level_cut import level_cut, level_cut_s2

__all__ = [
    "CovarianceModel",
    "Exponential",
    "Gaussian",
    "checkerboard",
    "covariance_model",
    "embedding_variance_excess",
    "gaussian_field",
    "laminate",
    "level_cut",
    "level_cut_s2",
]
