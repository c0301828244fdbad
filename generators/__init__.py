"""Generators of random and analytic media (layer 1: never imports ``sve``).

Random fields and their covariance models, level cuts, Boolean and hard-sphere
packings, Voronoi tessellations and polycrystals, deterministic test media, and
the exact statistics (volume fraction, two-point probability, integral range)
to compare measurements with. Everything is returned as plain NumPy arrays on a
periodic voxel grid.
"""

from __future__ import annotations

from generators._warnings import ClippedEmbeddingWarning
from generators.analytic import checkerboard, laminate, random_checkerboard
from generators.boolean import (
    boolean_integral_range,
    boolean_intensity,
    boolean_s2,
    boolean_spheres,
    boolean_volume_fraction,
)
from generators.covariance import (
    CovarianceModel,
    Exponential,
    Gaussian,
    Matern,
    PowerLaw,
    covariance_model,
)
from generators.gaussian import (
    embedding_variance_excess,
    gaussian_field,
    lognormal_field,
    nonergodic_gaussian_field,
)
from generators.level_cut import level_cut, level_cut_integral_range, level_cut_s2
from generators.packing import Packing, voxelize_spheres
from generators.rsa import RSA_SATURATION, rsa_spheres
from generators.tensors import grain_tensors, random_rotations, rotate_tensor
from generators.voronoi import (
    Polycrystal,
    voronoi_integral_range,
    voronoi_intensity,
    voronoi_mosaic,
    voronoi_polycrystal,
)

__all__ = [
    "RSA_SATURATION",
    "ClippedEmbeddingWarning",
    "CovarianceModel",
    "Exponential",
    "Gaussian",
    "Matern",
    "Packing",
    "Polycrystal",
    "PowerLaw",
    "boolean_integral_range",
    "boolean_intensity",
    "boolean_s2",
    "boolean_spheres",
    "boolean_volume_fraction",
    "checkerboard",
    "covariance_model",
    "embedding_variance_excess",
    "gaussian_field",
    "grain_tensors",
    "laminate",
    "level_cut",
    "level_cut_integral_range",
    "level_cut_s2",
    "lognormal_field",
    "nonergodic_gaussian_field",
    "random_checkerboard",
    "random_rotations",
    "rotate_tensor",
    "rsa_spheres",
    "voronoi_integral_range",
    "voronoi_intensity",
    "voronoi_mosaic",
    "voronoi_polycrystal",
    "voxelize_spheres",
]
