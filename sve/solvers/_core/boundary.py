"""Geometry and data of boundary-value problems on the node grid of a voxel image (private).

Shared by the boundary-value solvers of every physics: the names and slices of the faces
of the box, data given as numbers, arrays or functions of the node coordinates, the
consistent Q1 mass (loads of sources and of face data) and the voxel averages of the Q1
gradient. The box is ``[0, N_0 h_0] x ...``, node ``(i, j[, l])`` at ``(i h_0, j h_1[, l
h_2])``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike

from sve._validation import is_real
from sve.solvers._core.q1_geometry import corner_offsets

AXES = "xyz"

Data = float | ArrayLike | Callable[..., ArrayLike]


def face_names(ndim: int) -> tuple[str, ...]:
    """Names of the faces of a `ndim`-D box: ``"xmin", "xmax", "ymin", ...``.

    Axis 0 is ``x``, axis 1 ``y``, axis 2 ``z``; ``min`` is the face at
    coordinate 0, ``max`` the face at ``N_a h_a``.
    """
    return tuple(f"{AXES[a]}{end}" for a in range(ndim) for end in ("min", "max"))


def face_index(face: str, ndim: int) -> tuple[int, int]:
    """(axis, end) of a face name; end 0 for ``min``, -1 for ``max``."""
    names = face_names(ndim)
    if not isinstance(face, str) or face not in names:
        raise ValueError(f"face must be one of {names} (or 'boundary'), got {face!r}")
    return AXES.index(face[0]), 0 if face.endswith("min") else -1


def face_slice(axis: int, end: int, ndim: int) -> tuple:
    index = [slice(None)] * ndim
    index[axis] = end
    return tuple(index)


def nodal_values(name: str, value: Data, points: tuple[np.ndarray, ...], shape) -> np.ndarray:
    """Values of `value` (number, array of `shape`, or callable of the coordinates) at the
    nodes of `points` (one coordinate array per axis, each of `shape`).
    """
    if callable(value):
        out = np.asarray(value(*points), dtype=np.float64)
        try:
            out = np.broadcast_to(out, shape)
        except ValueError:
            raise ValueError(
                f"{name}: the function returned shape {out.shape}, expected {shape}"
            ) from None
    elif is_real(value):
        out = np.full(shape, float(value))
    else:
        out = np.asarray(value)
        if out.dtype == np.bool_ or not np.issubdtype(out.dtype, np.number):
            raise TypeError(f"{name} must be a number, an array or a callable, got {value!r}")
        if out.shape != shape:
            raise ValueError(
                f"{name} must have the node shape {shape} of its face, got {out.shape}"
            )
        out = out.astype(np.float64)
    if not np.all(np.isfinite(out)):
        raise ValueError(f"{name} must be finite, got a non-finite value")
    return np.array(out, dtype=np.float64)


def face_points(nodes: tuple[int, ...], h: np.ndarray, axis: int, end: int):
    """Coordinates (one array per axis) of the nodes of a face, and their shape."""
    ndim = len(nodes)
    axes = []
    for a in range(ndim):
        if a == axis:
            axes.append(np.array([0.0 if end == 0 else (nodes[a] - 1) * h[a]]))
        else:
            axes.append(np.arange(nodes[a]) * h[a])
    grids = np.meshgrid(*axes, indexing="ij")
    shape = tuple(n for a, n in enumerate(nodes) if a != axis)
    return tuple(g.reshape(shape) for g in grids), shape


def mass_1d(v: np.ndarray, axis: int, h: float) -> np.ndarray:
    """``M1 v`` along `axis`: the assembled 1-D Q1 mass ``h/6 [v_{i-1} + 4 v_i + v_{i+1}]``
    (ends ``h/6 [2 v_0 + v_1]``), on an element mask already folded into `v` by the caller.
    """
    out = 4.0 * v
    lo = [slice(None)] * v.ndim
    hi = [slice(None)] * v.ndim
    lo[axis], hi[axis] = slice(0, -1), slice(1, None)
    out[tuple(lo)] += v[tuple(hi)]
    out[tuple(hi)] += v[tuple(lo)]
    for end in (0, -1):
        index = [slice(None)] * v.ndim
        index[axis] = end
        out[tuple(index)] -= 2.0 * v[tuple(index)]
    return out * (h / 6.0)


def masked_mass(values: np.ndarray, mask: np.ndarray, h: np.ndarray) -> np.ndarray:
    """``sum_e mask_e M_e values|_e``: the consistent Q1 mass of the elements of `mask`
    (shape of the elements; `values` on their node grid, one more per axis) applied to
    nodal `values`. ``M_e`` is the tensor product of the 1-D element masses
    ``h/6 [[2, 1], [1, 2]]``.
    """
    ndim = values.ndim
    if mask.all():  # the tensor product on the whole grid
        out = values
        for axis in range(ndim):
            out = mass_1d(out, axis, float(h[axis]))
        return out
    offsets = corner_offsets(ndim)
    weights = np.array([[2.0, 1.0], [1.0, 2.0]]) / 6.0
    out = np.zeros_like(values)
    shape = mask.shape
    m = mask.astype(np.float64) * float(np.prod(h))
    for a in offsets:
        slot_a = tuple(slice(o, o + n) for o, n in zip(a, shape, strict=True))
        total = np.zeros(shape)
        for b in offsets:
            weight = float(np.prod([weights[i, j] for i, j in zip(a, b, strict=True)]))
            slot_b = tuple(slice(o, o + n) for o, n in zip(b, shape, strict=True))
            total += weight * values[slot_b]
        out[slot_a] += m * total
    return out


def element_gradients(potential: np.ndarray, spacing) -> np.ndarray:
    """Average of the Q1 gradient of nodal `potential` over every voxel.

    Parameters
    ----------
    potential : ndarray of shape (N0 + 1, ..., N_{d-1} + 1), float64
        Nodal values.
    spacing : float or sequence of float
        Voxel edges per axis.

    Returns
    -------
    ndarray of shape (N0, ..., N_{d-1}, d), float64
        Along axis ``a``, the mean of the differences over the ``2**(d-1)``
        voxel edges parallel to it, divided by ``h_a`` (exact average of the
        Q1 gradient).
    """
    ndim = potential.ndim
    h = np.broadcast_to(np.asarray(spacing, dtype=np.float64), (ndim,))
    out = []
    for a in range(ndim):
        g = np.diff(potential, axis=a) / h[a]
        for b in range(ndim):
            if b != a:
                lo = [slice(None)] * ndim
                hi = [slice(None)] * ndim
                lo[b], hi[b] = slice(0, -1), slice(1, None)
                g = 0.5 * (g[tuple(lo)] + g[tuple(hi)])
        out.append(g)
    return np.stack(out, axis=-1)
