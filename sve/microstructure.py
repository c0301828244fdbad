"""One value for a microstructure: labels, voxel size per axis and its unit, provenance.

The solvers, the morphology functions and the studies take a `Microstructure`
wherever they take an image of phase labels; plain arrays still work (their
voxel size is then the ``spacing`` argument, 1 by default). Generators return
plain arrays (they never import sve): wrap one with ``Microstructure(labels,
spacing=..., provenance=...)``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from sve._validation import check_phases, check_spacing, is_integer

__all__ = ["Microstructure", "labels_and_spacing"]


@dataclass(frozen=True, eq=False)
class Microstructure:
    """A voxel image of phase labels with its geometry and where it came from.

    Parameters
    ----------
    labels : array_like of shape (N0, N1[, N2]), integer or bool
        Phase label of every voxel (1-D to 3-D; at least 2 voxels per axis).
        Stored read-only.
    spacing : float or sequence of float, optional
        Voxel edge length, one number or one per axis (a FIB-SEM stack's
        slices are often thicker than its pixels), in `unit`. Default 1.
    unit : str, optional
        Unit of `spacing` and of every length derived from it: ``"voxel"``
        (the default: lengths counted in voxels), ``"nm"``, ``"um"``,
        ``"mm"``, ``"m"`` or any other non-empty name.
    provenance : mapping, optional
        Where the image came from, as JSON-friendly key-value pairs (a file
        and its dataset path, or a generator, its parameters and its seed).
    origin : sequence of int, optional
        Voxel index of the first voxel in the parent image when this one is a
        window of it (see `window`); zeros by default.

    Examples
    --------
    >>> import numpy as np
    >>> from sve import Microstructure
    >>> image = Microstructure(np.eye(4, dtype=np.int8), spacing=(2.0, 0.5), unit="um")
    >>> image.shape, image.lengths
    ((4, 4), (8.0, 2.0))
    >>> window = image.window((1, 2), (2, 2))
    >>> window.origin, window.provenance["parent_shape"]
    ((1, 2), (4, 4))
    >>> float(image.volume_fractions()[1])
    0.25
    """

    labels: np.ndarray
    spacing: tuple[float, ...] = 1.0
    unit: str = "voxel"
    provenance: Mapping = field(default_factory=dict)
    origin: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        labels = check_phases(self.labels, ndims=(1, 2, 3), allow_bool=True)
        labels = labels.copy() if labels.flags.writeable else labels
        labels.flags.writeable = False
        ndim = labels.ndim
        spacing = check_spacing(self.spacing, ndim)
        if not isinstance(self.unit, str) or not self.unit.strip():
            raise TypeError(f"unit must be a non-empty string, got {self.unit!r}")
        if not isinstance(self.provenance, Mapping):
            raise TypeError(f"provenance must be a mapping, got {type(self.provenance).__name__}")
        origin = (0,) * ndim if self.origin is None else tuple(self.origin)
        if len(origin) != ndim or not all(is_integer(o) and o >= 0 for o in origin):
            raise ValueError(
                f"origin must hold {ndim} integers >= 0 (one per axis), got {self.origin!r}"
            )
        object.__setattr__(self, "labels", labels)
        object.__setattr__(self, "spacing", spacing)
        object.__setattr__(self, "origin", tuple(int(o) for o in origin))
        object.__setattr__(self, "provenance", MappingProxyType(dict(self.provenance)))

    @property
    def shape(self) -> tuple[int, ...]:
        """Voxels per axis."""
        return self.labels.shape

    @property
    def ndim(self) -> int:
        """Number of axes (1 to 3)."""
        return self.labels.ndim

    @property
    def lengths(self) -> tuple[float, ...]:
        """Edge lengths of the image per axis, in `unit`."""
        return tuple(n * h for n, h in zip(self.shape, self.spacing, strict=True))

    @property
    def volume(self) -> float:
        """Volume (area in 2-D) of the image, in `unit` to the power `ndim`."""
        return math.prod(self.lengths)

    @property
    def is_cubic(self) -> bool:
        """Whether the voxels have the same edge along every axis."""
        return all(h == self.spacing[0] for h in self.spacing)

    def volume_fractions(self) -> np.ndarray:
        """Fraction of the voxels carrying each label ``0 .. max``, float64."""
        counts = np.bincount(self.labels.reshape(-1).astype(np.int64))
        return counts / self.labels.size

    def window(self, start, shape) -> Microstructure:
        """The sub-image of `shape` voxels whose first voxel is `start` (a view, no copy).

        Its `origin` is counted in the outermost parent, and its provenance
        names the parent's shape beside the parent's own provenance.
        """
        start, shape = tuple(start), tuple(shape)
        if len(start) != self.ndim or len(shape) != self.ndim:
            raise ValueError(
                f"start and shape must hold {self.ndim} entries, got {start!r} and {shape!r}"
            )
        for s, n, total in zip(start, shape, self.shape, strict=True):
            if not (is_integer(s) and is_integer(n) and s >= 0 and n >= 2 and s + n <= total):
                raise ValueError(
                    f"window start={start!r}, shape={shape!r} must lie inside the image of "
                    f"shape {self.shape} with at least 2 voxels per axis"
                )
        index = tuple(slice(s, s + n) for s, n in zip(start, shape, strict=True))
        provenance = dict(self.provenance)
        provenance.setdefault("parent_shape", self.shape)
        return Microstructure(
            self.labels[index],
            spacing=self.spacing,
            unit=self.unit,
            provenance=provenance,
            origin=tuple(o + s for o, s in zip(self.origin, start, strict=True)),
        )

    def __array__(self, dtype=None, copy=None):
        """The labels, so that every function taking an array takes a microstructure."""
        return self.labels if dtype is None else self.labels.astype(dtype)

    def __repr__(self) -> str:
        return (
            f"Microstructure(shape={self.shape}, spacing={self.spacing}, unit={self.unit!r}, "
            f"origin={self.origin}, provenance={dict(self.provenance)!r})"
        )


def labels_and_spacing(phases: object, spacing: object) -> tuple[object, object]:
    """The label array and the voxel size a function should use.

    A `Microstructure` brings its own spacing: `spacing` must then be None or
    equal to it. A plain array takes `spacing`, 1 when None. The values are
    returned unchecked: the caller validates them with its own rules.
    """
    if isinstance(phases, Microstructure):
        if spacing is not None and check_spacing(spacing, phases.ndim) != phases.spacing:
            raise ValueError(
                f"spacing={spacing!r} disagrees with the microstructure's spacing "
                f"{phases.spacing}; leave spacing out to use the microstructure's"
            )
        return phases.labels, phases.spacing
    return phases, 1.0 if spacing is None else spacing
