"""The window modes' parent and its windows (``sampling.mode`` "windows" or "both").

The parent never travels through the scheduler. Each task regenerates it
from the spec (:func:`generate_parent`, a pure function of the spec: 0.01 s
for a 512^2 level cut, 0.07 s for 1024^2, 0.15 s for 128^3, 1.5 s for
256^3 on this machine) and keeps the last one per worker process, so a worker
draws it once per study; the generators draw whole periodic fields (FFT),
so drawing only a window's region is not possible.

A study of a measured image (``medium.image``, :mod:`sve.study.image`) has
the image as its parent: the same tiling rule on the image's shape (per
axis: windows of box voxels differ in voxel count per axis), or seeded
random positions (``sampling.windows = "random"``); each task reads its
windows from the file (:func:`sve.study.image.read_window`).
"""

from __future__ import annotations

import functools
import json

import numpy as np

from sve.microstructure import Microstructure
from sve.study.image import WINDOW_TAG, read_window
from sve.study.media import draw_medium
from sve.study.seeding import parent_rng
from sve.study.spec import StudySpec

__all__ = [
    "generate_parent",
    "generate_window",
    "parent_edges",
    "parent_microstructure",
    "window_count",
    "window_origin",
    "window_sve",
]


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
    if spec.image:
        raise ValueError("an image study's parent is its image: read windows with window_sve")
    medium = json.dumps(dict(spec.medium), sort_keys=True)
    return _parent(medium, spec.seed, spec.parent_size, spec.spacing)


@functools.lru_cache(maxsize=1)
def _parent_microstructure(medium_json: str, seed: int, parent_size: int, spacing: float):
    medium = json.loads(medium_json)
    labels = _parent(medium_json, seed, parent_size, spacing)
    provenance = {"generator": medium["generator"], "seed": seed, "parent_size": parent_size}
    return Microstructure(labels, spacing=spacing, provenance=provenance)


def parent_microstructure(spec: StudySpec) -> Microstructure:
    """The study's parent (:func:`generate_parent`) as a microstructure with provenance
    (generator, seed, parent size); the last one is cached per process.
    """
    generate_parent(spec)  # checks the mode
    medium = json.dumps(dict(spec.medium), sort_keys=True)
    return _parent_microstructure(medium, spec.seed, spec.parent_size, spec.spacing)


def _tiles(spec: StudySpec, size: int) -> tuple[int, ...]:
    """Non-overlapping windows of edge ``size`` along each axis of the parent (or image)."""
    if spec.image:
        shape = spec.window_shape(size)
        return tuple(n // w for n, w in zip(spec.medium["image_shape"], shape, strict=True))
    return (spec.parent_size // size,) * spec.ndim


def window_count(spec: StudySpec, size: int) -> int:
    """Windows of edge ``size`` the study uses: ``min(realizations, (parent // size)**d)``.

    An image: the tiles per axis multiply (``prod(image_shape[i] // n_i)``);
    random windows (``sampling.windows = "random"``): ``realizations``.
    """
    if spec.image and spec.window_placement == "random":
        return spec.realizations
    return min(spec.realizations, int(np.prod(_tiles(spec, size))))


def random_origins(spec: StudySpec, size: int) -> np.ndarray:
    """Corners (realizations, ndim) of an image study's random windows of edge ``size``.

    Uniform over the positions where the window fits, drawn from
    ``SeedSequence(seed, spawn_key=(size, WINDOW_TAG))``: a pure function of
    the seed and the size, whatever the worker.
    """
    shape = np.array(spec.window_shape(size))
    room = np.array(spec.medium["image_shape"]) - shape + 1
    rng = np.random.default_rng(np.random.SeedSequence(spec.seed, spawn_key=(size, WINDOW_TAG)))
    return rng.integers(0, room, size=(spec.realizations, spec.ndim))


def window_origin(spec: StudySpec, size: int, window: int) -> tuple[int, ...]:
    """Voxel index of the corner of window ``window`` (< :func:`window_count`) of ``size``.

    The parent holds ``c**d`` non-overlapping windows (``c = parent_size //
    size``, tiled from the origin, the remainder unused). When the study
    takes ``n < c**d`` of them it spreads them over the parent: window ``k``
    is tile number ``k * c**d // n`` in C order, so they are not all
    neighbours.
    """
    tiles = _tiles(spec, size)
    available = int(np.prod(tiles))
    n = window_count(spec, size)
    if not 0 <= window < n:
        raise ValueError(f"window must be in [0, {n}) at size {size}, got {window}")
    if spec.image and spec.window_placement == "random":
        return tuple(int(c) for c in random_origins(spec, size)[window])
    tile = window * available // n
    grid = np.unravel_index(tile, tiles)
    return tuple(int(g) * w for g, w in zip(grid, spec.window_shape(size), strict=True))


def generate_window(spec: StudySpec, size: int, window: int) -> np.ndarray:
    """Phase labels (int8, shape ``(size,) * ndim``) of one window of the parent (a copy)."""
    return np.array(window_sve(spec, size, window).labels)


def window_sve(spec: StudySpec, size: int, window: int) -> Microstructure:
    """Window ``window`` of edge ``size`` as a microstructure, its origin recorded.

    A generated parent: ``parent_microstructure(spec).window(...)`` (a
    read-only view). An image: only the window's voxels are read from the
    file (:func:`sve.study.image.read_window`), with the image's voxel size
    and unit, and its provenance (file, SHA-256, image shape).
    """
    corner = window_origin(spec, size, window)
    shape = spec.window_shape(size)
    if not spec.image:
        return parent_microstructure(spec).window(corner, shape)
    medium = spec.medium
    provenance = {
        "image": medium["image"],
        "format": medium["format"],
        "sha256": medium["sha256"],
        "parent_shape": tuple(medium["image_shape"]),
        "size": size,
        "window": window,
    }
    return Microstructure(
        read_window(medium, corner, shape),
        spacing=spec.voxel_size,
        unit=medium["unit"],
        provenance=provenance,
        origin=corner,
    )


def parent_edges(parent_size: int) -> list[int]:
    """Edges of the parent's nested corner windows: ``parent_size >> k`` (>= 4), whole last."""
    return sorted({max(parent_size >> k, 4) for k in range(8)} | {parent_size})
