"""Type aliases shared by the public signatures of the generators (private)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeAlias

import numpy as np

ShapeLike: TypeAlias = Sequence[int]
"""Grid shape: 1 to 3 integers, the number of voxels along each axis."""

RngLike: TypeAlias = int | np.random.Generator | np.random.SeedSequence | None
"""Anything :func:`numpy.random.default_rng` turns into a ``Generator`` here."""
