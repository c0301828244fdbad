"""Local fields of the cell solvers: Q1 corner gathering, Gauss-point gradients and
per-phase sums (private; the public results are in ``sve/solvers/result.py``).

The fields are made on request only (``fields=`` of the apparent-property
functions), after each load case's solve, slab by slab along axis 0 so that
the temporary corner arrays stay small.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from sve._validation import check_choice
from sve.solvers._core.field_kernels import run_gauss_moments
from sve.solvers._core.q1_geometry import corner_offsets

FIELD_MODES = ("summary", "full")
# Voxels per slab of the corner gathering (times 2**d corners, times the components).
_SLAB = 1 << 16


def fields_mode(fields: object) -> str | None:
    """The mode of a ``fields=`` argument: None (off), ``"summary"`` or ``"full"``.

    False and None are off, True is ``"full"``; anything else must be one of
    `FIELD_MODES` (ValueError naming ``fields``).
    """
    if fields is None:
        return None
    if isinstance(fields, bool | np.bool_):
        return "full" if fields else None
    return check_choice(fields, "fields", FIELD_MODES)


def q1_gauss_gradients(ndim: int, spacing: np.ndarray) -> np.ndarray:
    """Shape-function gradients of a Q1 voxel at its 2**d Gauss points.

    Returns ``G[g, a, i]`` (2**d, 2**d, d): the derivative along axis ``i``
    of the shape function of corner ``a`` (`corner_offsets` order) at Gauss
    point ``g``; the rule (weights ``1 / 2**d`` of the voxel) integrates the
    products of two Q1 gradients exactly.
    """
    h = np.asarray(spacing, dtype=np.float64)
    corners = corner_offsets(ndim)
    points = (0.5 - 0.5 / math.sqrt(3.0), 0.5 + 0.5 / math.sqrt(3.0))
    out = np.empty((2**ndim, 2**ndim, ndim))
    for g, point in enumerate(itertools.product(points, repeat=ndim)):
        x = np.array(point)
        value = np.where(corners == 1, x, 1.0 - x)
        slope = np.where(corners == 1, 1.0, -1.0) / h
        for i in range(ndim):
            others = [j for j in range(ndim) if j != i]
            out[g, :, i] = slope[:, i] * np.prod(value[:, others], axis=1)
    return out


def gauss_moments(corners: np.ndarray, weights: np.ndarray, load: np.ndarray):
    """Mean and second moment over the 2**d equal-weight Gauss points of each voxel.

    `corners` (..., K) holds the K corner dofs of n voxels, `weights` (G, K, c)
    maps them to ``c`` components at ``G`` points and `load` (c,) is added at
    every point (the affine part). Returns the mean (n, c) and the second moment
    (n, c, c), by one Numba loop over the voxels (``field_kernels.py``).
    """
    return run_gauss_moments(corners, weights, load)


def slabs(n0: int, rest: tuple[int, ...]):
    """Ranges ``(start, stop)`` along axis 0 of about `_SLAB` voxels each."""
    step = max(1, _SLAB // max(1, int(np.prod(rest))))
    for start in range(0, n0, step):
        yield start, min(n0, start + step)


def corner_values(nodal: np.ndarray, voxels: tuple[int, ...], start: int, stop: int):
    """The nodal values at the 2**d corners of the voxels of rows `start`:`stop`.

    `nodal` has the node shape (``N_i`` nodes on a periodic axis, whose
    corner ``i + 1`` wraps to 0, ``N_i + 1`` otherwise) and optional trailing
    component axes; returns ``(stop - start,) + voxels[1:] + (2**d,) +
    trailing``.
    """
    ndim = len(voxels)
    ranges = [np.arange(start, stop)] + [np.arange(n) for n in voxels[1:]]
    sizes = nodal.shape[:ndim]
    out = []
    for offset in corner_offsets(ndim):
        index = np.ix_(*[(r + o) % s for r, o, s in zip(ranges, offset, sizes, strict=True)])
        out.append(nodal[index])
    return np.stack(out, axis=ndim)


class PhaseSums:
    """Per-label sums of voxel values, accumulated slab by slab (np.bincount)."""

    def __init__(self, labels: np.ndarray) -> None:
        self.labels = labels
        self.present, counts = np.unique(labels, return_counts=True)
        self.index = np.searchsorted(self.present, labels)  # dense phase index per voxel
        self.counts = counts.astype(np.float64)
        self.volume_fraction = self.counts / labels.size
        self.sums: dict[str, np.ndarray] = {}

    def add(self, name: str, start: int, stop: int, values: np.ndarray) -> None:
        """Add `values` (rows `start`:`stop` of the image, then the value axes) to `name`."""
        index = self.index[start:stop].reshape(-1)
        flat = values.reshape(index.size, -1)
        total = np.empty((len(self.present), flat.shape[1]))
        for c in range(flat.shape[1]):
            total[:, c] = np.bincount(index, weights=flat[:, c], minlength=len(self.present))
        total = total.reshape((len(self.present),) + values.shape[self.labels.ndim :])
        if name in self.sums:
            self.sums[name] += total
        else:
            self.sums[name] = total

    def means(self, name: str) -> np.ndarray:
        """The per-phase mean of `name`, shape (P,) + value shape."""
        total = self.sums[name]
        return total / self.counts.reshape((-1,) + (1,) * (total.ndim - 1))


class CaseCollector:
    """Per-phase sums and per-load-case results of one cell solve (base of the physics
    packages' ``Collector``).

    Parameters
    ----------
    labels : ndarray of the image shape, integer
        Phase labels (the moments are per label).
    mode : {"summary", "full"}
        Whether the voxel fields are kept.
    spacing : ndarray (d,)
        The voxel edges in the user's unit (the solver works with them over their
        smallest: the corrector is scaled back by `scale`).
    bc : str
        The boundary condition.
    """

    def __init__(self, labels, mode, spacing, bc) -> None:
        self.bc = bc
        self.sums = PhaseSums(labels)
        self.full = mode == "full"
        self.spacing = np.asarray(spacing, dtype=np.float64)
        self.scale = float(self.spacing.min())
        self.cases: dict[int, dict] = {}
        self.loads: dict[int, np.ndarray] = {}
        self.count = None  # the number of load cases, where not the default (static, voids)

    def gathered_moments(self, names: tuple[str, ...], size: int):
        """The loads (total, size) and the per-phase moments of every load case.

        `names` are the mean, the conjugate mean, their second moments and the
        energy; `size` the number of components (and of the unit load cases,
        unless `count` says otherwise). A case not solved is NaN (its load the
        unit load).
        """
        total = size if self.count is None else self.count
        phases = len(self.sums.present)
        loads = np.eye(size)[:total]
        shapes = ((phases, size), (phases, size), (phases, size, size), (phases, size, size))
        template = dict(zip(names, shapes + ((phases,),), strict=True))
        moments = {name: np.full((total,) + shape, np.nan) for name, shape in template.items()}
        for case, entry in self.cases.items():
            loads[case] = self.loads[case]
            for name in template:
                moments[name][case] = entry[name]
        return loads, moments

    def gathered_fields(self, size: int, shapes: dict[str, tuple[int, ...]]):
        """The field `name` (shape ``shapes[name]``) of every load case (`size` or
        `count` of them, as in `gathered_moments`) stacked on a first axis, NaN for a
        case not solved.
        """
        total = size if self.count is None else self.count
        fields = {name: np.full((total,) + shape, np.nan) for name, shape in shapes.items()}
        for case, entry in self.cases.items():
            for name in shapes:
                fields[name][case] = entry[name]
        return fields


def axis_positions(count: int, step: float, centred: bool) -> np.ndarray:
    """``count`` positions ``i h`` (nodes) or ``(i + 1/2) h`` (centres) along one axis."""
    return (np.arange(count) + (0.5 if centred else 0.0)) * step


def periodic_interpolation(
    values: np.ndarray, spacing: np.ndarray, points: np.ndarray, centred: bool
) -> np.ndarray:
    """Multilinear interpolation of periodic grid values at arbitrary points.

    Parameters
    ----------
    values : ndarray of shape (L,) + grid + trailing
        Values on a periodic grid of ``grid[i]`` points per axis at ``j h_i``
        (nodes) or ``(j + 1/2) h_i`` (`centred`: cell centres).
    spacing : ndarray (d,)
        Grid step per axis.
    points : ndarray of shape (n, d)
        Positions, any real numbers: they are wrapped into the period
        ``grid[i] h_i``.

    Returns
    -------
    ndarray of shape (L, n) + trailing
        On a Q1 node grid, the values of the Q1 interpolant itself.
    """
    ndim = len(spacing)
    grid = np.array(values.shape[1 : 1 + ndim])
    y = points / spacing - (0.5 if centred else 0.0)
    base = np.floor(y)
    t = y - base
    base = base.astype(np.int64)
    out = 0.0
    for offset in corner_offsets(ndim):
        index = tuple((base[:, a] + offset[a]) % grid[a] for a in range(ndim))
        weight = np.prod(np.where(offset == 1, t, 1.0 - t), axis=1)
        corner = values[(slice(None),) + index]  # (L, n) + trailing
        out = out + corner * weight.reshape((1, -1) + (1,) * (corner.ndim - 2))
    return out
