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


def nodal_values(
    name: str, value: Data, points: tuple[np.ndarray, ...], shape, where: str | None = None
) -> np.ndarray:
    """Values of `value` (number, array of `shape`, or callable of the coordinates) at the
    nodes of `points` (one coordinate array per axis, each of `shape`).

    `where` names `shape` in the error of an array of another shape (default: the node
    shape of a face).
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
            where = where or f"the node shape {shape} of its face"
            raise ValueError(f"{name} must have {where}, got {out.shape}")
        out = out.astype(np.float64)
    if not np.all(np.isfinite(out)):
        raise ValueError(f"{name} must be finite, got a non-finite value")
    return np.array(out, dtype=np.float64)


def voxel_loads(values: np.ndarray, mask: np.ndarray, h: np.ndarray, nodes) -> np.ndarray:
    """Nodal loads of a density constant on each voxel: ``values`` (the voxel shape, with
    an optional trailing component axis) integrated over the voxels of `mask`, each
    voxel's integral shared equally by its ``2**d`` corner nodes (`nodes` per axis).
    """
    ndim = mask.ndim
    shape = mask.shape
    if values.ndim > ndim:
        mask = mask[..., None]
    per_corner = np.where(mask, values, 0.0) * (float(np.prod(h)) / 2**ndim)
    out = np.zeros(tuple(nodes) + values.shape[ndim:])
    for c in corner_offsets(ndim):
        out[tuple(slice(o, o + n) for o, n in zip(c, shape, strict=True))] += per_corner
    return out


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


# -- reference-medium solver with a Dirichlet or Neumann condition at each end of each axis --

#: End conditions of an axis: (low, high), "d" Dirichlet (end node fixed), "n" Neumann.
ENDS = ("nn", "dd", "dn", "nd")


def _axis_transform(ends: str, n: int, h: float):
    """The 1-D pieces of the reference operator along one axis of `n` voxels.

    Returns ``(free, theta, weight, analysis, synthesis, norms)``: the slice of the free
    nodes, the angles of the eigenvectors, the 1-D node weights ``w`` (1/2 at a Neumann
    end), ``analysis(x, axis)`` = ``Phi^T x`` and ``synthesis(c, axis)`` = ``Phi c`` along
    `axis`, and ``D = diag(Phi^T W Phi)``. The eigenvectors ``Phi`` of the Q1 stiffness and
    mass pencils (``K Phi = W Phi diag(2 - 2 cos theta)``, ``M Phi = W Phi diag((4 + 2 cos
    theta) / 6)``, unit edge) are cosines (``nn``: DCT-I), sines (``dd``: DST-I) or the
    quarter-wave sines ``sin(pi (2 k + 1) i / (2 n))`` (``dn``: DST-III analysis, DST-II
    synthesis; ``nd`` is ``dn`` read backwards).
    """
    import scipy.fft

    if ends == "nn":
        free = slice(None)
        theta = np.pi * np.arange(n + 1) / n
        weight = np.ones(n + 1)
        weight[[0, -1]] = 0.5

        def analysis(x, axis):
            return 0.5 * scipy.fft.dct(x / _along(weight, axis, x.ndim), type=1, axis=axis)

        synthesis = analysis
        norms = np.full(n + 1, n / 2.0)
        norms[[0, -1]] = n
    elif ends == "dd":
        free = slice(1, -1)
        theta = np.pi * np.arange(1, n) / n
        weight = np.ones(n - 1)

        def analysis(x, axis):
            return 0.5 * scipy.fft.dst(x, type=1, axis=axis)

        synthesis = analysis
        norms = np.full(n - 1, n / 2.0)
    else:
        theta = np.pi * (2 * np.arange(n) + 1) / (2 * n)
        weight = np.ones(n)
        if ends == "dn":
            free = slice(1, None)
            weight[-1] = 0.5
            flip = False
        else:
            free = slice(0, -1)
            weight[0] = 0.5
            flip = True

        def analysis(x, axis):
            y = x / _along(weight, axis, x.ndim)
            if flip:
                y = np.flip(y, axis=axis)
            return 0.5 * scipy.fft.dst(y, type=3, axis=axis)

        def synthesis(c, axis):
            y = 0.5 * scipy.fft.dst(c, type=2, axis=axis)
            return np.flip(y, axis=axis) if flip else y

        norms = np.full(n, n / 2.0)
    return free, theta, weight, analysis, synthesis, norms


def _along(values: np.ndarray, axis: int, ndim: int) -> np.ndarray:
    shape = [1] * ndim
    shape[axis] = values.size
    return values.reshape(shape)


def reference_solver(ends: tuple[str, ...], shape: tuple[int, ...], spacing, weights):
    """Return ``apply(r, out)``: the (pseudo-)inverse of the Q1 operator
    ``sum_i weights[i] K_i (x) prod_{j != i} M_j`` of a homogeneous medium on the node grid
    of an image of `shape` voxels, each axis with the end conditions ``ends[a]`` (`ENDS`).

    `r` and `out` are whole node fields (``N + 1`` per axis); the fixed end nodes of `out`
    are set to zero and those of `r` are not read. With ``weights = k0 * ones(d)`` this is
    the reference medium of the conductivity solver; with ``mu0 + (lam0 + mu0) e_c`` that
    of component ``c`` of the elastic one. Exact: the eigenvectors of the 1-D stiffness and
    mass pencils are the same (`_axis_transform`), so the operator is diagonal in the
    tensor product of the axis transforms, ``A^-1 = Phi diag(1 / (lambda D)) Phi^T``.
    """
    ndim = len(shape)
    h = np.broadcast_to(np.asarray(spacing, dtype=np.float64), (ndim,))
    pieces = [_axis_transform(e, n, float(ha)) for e, n, ha in zip(ends, shape, h, strict=True)]
    kappa = [(2.0 - 2.0 * np.cos(p[1])) / ha for p, ha in zip(pieces, h, strict=True)]
    mu = [(4.0 + 2.0 * np.cos(p[1])) * ha / 6.0 for p, ha in zip(pieces, h, strict=True)]
    symbol = 0.0
    for i in range(ndim):
        term = np.ones(())
        for j in range(ndim):
            term = np.multiply.outer(term, kappa[j] if j == i else mu[j])
        symbol = symbol + weights[i] * term
    norms = np.ones(())
    for p in pieces:
        norms = np.multiply.outer(norms, p[5])
    scaled = symbol * norms
    inverse = np.zeros_like(scaled)
    np.divide(1.0, scaled, out=inverse, where=scaled > 1e-12 * scaled.max())
    free = tuple(p[0] for p in pieces)

    def apply(r: np.ndarray, out: np.ndarray) -> None:
        x = r[free]
        for axis, p in enumerate(pieces):
            x = p[3](x, axis)
        x *= inverse
        for axis, p in enumerate(pieces):
            x = p[4](x, axis)
        out[...] = 0.0
        out[free] = x

    return apply
