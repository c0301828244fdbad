"""The window modes' parent and its windows (``sampling.mode`` "windows" or "both").

The parent never travels through the scheduler. Each task regenerates it
from the spec (:func:`generate_parent`, a pure function of the spec: 0.01 s
for a 512^2 level cut, 0.07 s for 1024^2, 0.15 s for 128^3, 1.5 s for
256^3 on this machine) and keeps the last one per worker process, so a worker
draws it once per study; the generators draw whole periodic fields (FFT),
so drawing only a window's region is not possible.
"""

from __future__ import annotations

import functools
import json

import numpy as np

from sve.study.media import draw_medium
from sve.study.seeding import parent_rng
from sve.study.spec import StudySpec

__all__ = ["generate_parent", "generate_window", "parent_edges", "window_count", "window_origin"]


@functools.lru_cache(maxsize=1)
def _parent(medium_json: str, seed: int, parent_size: int, spacing: float) -> np.ndarray:
    medium = json.loads(medium_json)
    phases = draw_medium(medium, parent_size, spacing, parent_rng(seed, parent_size))
    phases.flags.writeable = False  # shared by every task of this worker
    return phases


def generate_parent(spec: StudySpec) -> np.ndarray:
    """Phase labels (int8, read-only, shape ``(parent_size,) * ndim``) of the study's parent.

    One periodic realization of the medium, a pure function of the spec
    (seed, medium, parent size, spacing); the last one is cached per process.
    """
    if not spec.windows:
        raise ValueError(f"the study samples no windows (sampling.mode {spec.sampling_mode!r})")
    medium = json.dumps(dict(spec.medium), sort_keys=True)
    return _parent(medium, spec.seed, spec.parent_size, spec.spacing)


def window_count(spec: StudySpec, size: int) -> int:
    """Windows of edge ``size`` the study uses: ``min(realizations, (parent // size)**d)``."""
    return min(spec.realizations, (spec.parent_size // size) ** spec.ndim)


def window_origin(spec: StudySpec, size: int, window: int) -> tuple[int, ...]:
    """Voxel index of the corner of window ``window`` (< :func:`window_count`) of ``size``.

    The parent holds ``c**d`` non-overlapping windows (``c = parent_size //
    size``, tiled from the origin, the remainder unused). When the study
    takes ``n < c**d`` of them it spreads them over the parent: window ``k``
    is tile number ``k * c**d // n`` in C order, so they are not all
    neighbours.
    """
    available = (spec.parent_size // size) ** spec.ndim
    n = window_count(spec, size)
    if not 0 <= window < n:
        raise ValueError(f"window must be in [0, {n}) at size {size}, got {window}")
    tile = window * available // n
    grid = np.unravel_index(tile, (spec.parent_size // size,) * spec.ndim)
    return tuple(int(g) * size for g in grid)


def generate_window(spec: StudySpec, size: int, window: int) -> np.ndarray:
    """Phase labels (int8, shape ``(size,) * ndim``) of one window of the parent (a copy)."""
    corner = window_origin(spec, size, window)
    region = tuple(slice(c, c + size) for c in corner)
    return np.array(generate_parent(spec)[region])


def parent_edges(parent_size: int) -> list[int]:
    """Edges of the parent's nested corner windows: ``parent_size >> k`` (>= 4), whole last."""
    return sorted({max(parent_size >> k, 4) for k in range(8)} | {parent_size})
