"""Morphology of one SVE image: two-point and lineal-path functions, chords, surface,
connectivity and percolation, and the integral range estimated from the image.

Every function takes one label image (an integer ``phases`` array, 1-D to 3-D,
as produced by :mod:`generators`) and returns NumPy values; a function with
several results returns a named tuple (:class:`ChordLengthDistribution`,
:class:`LinealPath`, :class:`Clusters`, :class:`RadialProfile`,
:class:`IntegralRangeEstimate`), which also unpacks like a plain tuple.
Lengths are physical (``spacing`` units), lags are in FFT order.
"""

from __future__ import annotations

from sve.morphology.chords import (
    ChordLengthDistribution,
    LinealPath,
    chord_length_distribution,
    chord_lengths,
    lineal_path,
)
from sve.morphology.connectivity import Clusters, connected_components, percolates
from sve.morphology.integral_range import IntegralRangeEstimate, integral_range
from sve.morphology.surface import specific_surface
from sve.morphology.two_point import RadialProfile, radial_average, two_point_probability

__all__ = [
    "ChordLengthDistribution",
    "Clusters",
    "IntegralRangeEstimate",
    "LinealPath",
    "RadialProfile",
    "chord_length_distribution",
    "chord_lengths",
    "connected_components",
    "integral_range",
    "lineal_path",
    "percolates",
    "radial_average",
    "specific_surface",
    "two_point_probability",
]
