"""Macro meshes: a box of structured elements, holes and notches from a mask, mesh files."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import skfem

from sve._validation import check_choice, check_integer, check_positive

__all__ = ["box_mesh", "read_mesh", "BOX_FACES", "ELEMENT_KINDS"]

#: Element kinds of :func:`box_mesh` per dimension.
ELEMENT_KINDS = {2: ("quad", "tri"), 3: ("hex", "tet")}

#: Names of the faces of a box, per axis: (lower face, upper face).
BOX_FACES = (("xmin", "xmax"), ("ymin", "ymax"), ("zmin", "zmax"))

_MESHES = {
    "quad": skfem.MeshQuad,
    "tri": skfem.MeshTri,
    "hex": skfem.MeshHex,
    "tet": skfem.MeshTet,
}


def _face_tests(lengths: tuple[float, ...]) -> dict:
    """The tests of the box faces on facet midpoints (relative tolerance 1e-9 of the edge)."""
    tests = {}
    for axis, length in enumerate(lengths):
        low, high = BOX_FACES[axis]
        atol = 1e-9 * length
        tests[low] = lambda x, a=axis, t=atol: np.abs(x[a]) <= t
        tests[high] = lambda x, a=axis, L=length, t=atol: np.abs(x[a] - L) <= t
    return tests


def box_mesh(
    shape: Sequence[int],
    *,
    length: float | Sequence[float] = 1.0,
    element: str | None = None,
    mask: np.ndarray | None = None,
) -> skfem.Mesh:
    """Return a structured mesh of the box ``[0, L0] x [0, L1] (x [0, L2])``.

    Parameters
    ----------
    shape : sequence of int
        Number of cells per axis, ``(n0, n1)`` or ``(n0, n1, n2)``, each >= 1.
        Axis ``i`` of `shape` is the coordinate ``x_i`` of the mesh, as axis
        ``i`` of a voxel image is (so that the cell ``(i, j)`` covers the
        window ``phases[i*w0:(i+1)*w0, j*w1:(j+1)*w1]`` of an image of
        ``(n0*w0, n1*w1)`` voxels).
    length : float or sequence of float, default 1.0
        Edge lengths of the box, one number or one per axis, finite and > 0,
        in any length unit.
    element : {"quad", "tri"} in 2-D, {"hex", "tet"} in 3-D, optional
        One bilinear quadrilateral (trilinear hexahedron) per cell, or the
        cell cut into 2 triangles (6 tetrahedra). Default ``"quad"`` /
        ``"hex"``.
    mask : ndarray of bool of shape `shape`, optional
        Cells to keep (True) and to remove (False): holes and notches. The
        elements of a removed cell go; nodes that no element uses go too.

    Returns
    -------
    skfem.Mesh
        With named boundaries ``"xmin"``, ``"xmax"``, ``"ymin"``, ``"ymax"``
        (and ``"zmin"``, ``"zmax"``): the facets on each face of the box;
        ``"holes"``: the other boundary facets (those a mask opened; absent
        without them); ``"boundary"``: every boundary facet.

    Raises
    ------
    TypeError, ValueError
        For a bad argument (the message names it), a mask that removes every
        cell.

    Examples
    --------
    >>> mesh = box_mesh((4, 2), length=(2.0, 1.0))
    >>> mesh.t.shape[1], sorted(mesh.boundaries)[:2]
    (8, ['boundary', 'xmax'])
    """
    if isinstance(shape, str | bytes) or not isinstance(shape, Sequence | np.ndarray):
        raise TypeError(f"shape must be a sequence of 2 or 3 integers, got {shape!r}")
    if len(shape) not in (2, 3):
        raise ValueError(f"shape must have 2 or 3 entries, got {tuple(shape)!r}")
    cells = tuple(check_integer(n, "shape", 1) for n in shape)
    ndim = len(cells)
    lengths = length if isinstance(length, Sequence | np.ndarray) else [length] * ndim
    if len(lengths) != ndim:
        raise ValueError(f"length must have one entry per axis ({ndim}), got {length!r}")
    lengths = tuple(check_positive(value, "length") for value in lengths)
    element = ELEMENT_KINDS[ndim][0] if element is None else element
    check_choice(element, "element", ELEMENT_KINDS[ndim])
    axes = [np.linspace(0.0, L, n + 1) for L, n in zip(lengths, cells, strict=True)]
    mesh = _MESHES[element].init_tensor(*axes)
    if mask is not None:
        keep = np.asarray(mask)
        if keep.dtype != np.bool_:
            raise TypeError(f"mask must be a boolean array, got dtype {keep.dtype}")
        if keep.shape != cells:
            raise ValueError(f"mask must have the shape {cells} of the cells, got {keep.shape}")
        if not keep.any():
            raise ValueError("mask removes every cell")
        index = cell_of_elements(mesh.p[:, mesh.t].mean(axis=1), lengths, cells)
        removed = np.flatnonzero(~keep[tuple(index.T)])
        if removed.size:
            mesh = mesh.remove_elements(removed)
    return _named(mesh, lengths)


def cell_of_elements(
    centroid: np.ndarray, lengths: Sequence[float], cells: Sequence[int]
) -> np.ndarray:
    """The box cell ``(i, j[, k])`` that holds each centroid (d, n_el); shape (n_el, d), int."""
    index = [
        np.clip(np.floor(centroid[a] / lengths[a] * cells[a]).astype(np.int64), 0, cells[a] - 1)
        for a in range(len(cells))
    ]
    return np.stack(index, axis=1)


def _named(mesh: skfem.Mesh, lengths: tuple[float, ...]) -> skfem.Mesh:
    tests = _face_tests(lengths)
    mesh = mesh.with_boundaries(tests)
    every = mesh.boundary_facets()
    on_faces = np.unique(np.concatenate([mesh.boundaries[name] for name in tests]))
    holes = np.setdiff1d(every, on_faces)
    extra = {"boundary": every}
    if holes.size:
        extra["holes"] = holes
    return mesh.with_boundaries(extra)


def read_mesh(path: str | Path, *, boundaries: dict | None = None) -> skfem.Mesh:
    """Read a mesh file with meshio (any format it reads: Gmsh, VTK, XDMF, ...).

    Parameters
    ----------
    path : str or Path
        The file. Triangles, quadrilaterals, tetrahedra or hexahedra (linear).
    boundaries : dict, optional
        Extra named boundaries: name -> callable on facet midpoints ``x`` of
        shape (d, n) returning a boolean array (n,), tested on boundary
        facets only.

    Returns
    -------
    skfem.Mesh
        The mesh, with the boundaries the file names (Gmsh physical groups),
        those of `boundaries`, and ``"boundary"``: every boundary facet.

    Raises
    ------
    ValueError
        If the file does not exist or meshio cannot read it.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"path must be an existing mesh file, got {str(path)!r}")
    try:
        mesh = skfem.Mesh.load(str(path))
    except Exception as err:  # meshio's errors are many and unrelated classes
        raise ValueError(f"path {str(path)!r}: meshio could not read it ({err})") from err
    if boundaries:
        for name, test in boundaries.items():
            if not callable(test):
                raise TypeError(f"boundaries[{name!r}] must be callable, got {test!r}")
        mesh = mesh.with_boundaries(dict(boundaries))
    return mesh.with_boundaries({"boundary": mesh.boundary_facets()})
