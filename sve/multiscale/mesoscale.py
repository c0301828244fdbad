r"""Mesoscale random fields: the apparent tensor of the window of a parent under each element.

Each macro element takes the apparent tensor of the window of one large
parent microstructure that it covers (Huet 1990; Ostoja-Starzewski 2006),
under kinematic (KUBC) or static (SUBC) conditions; the statistics of the
macro response over realizations of the parent come from
:func:`response_statistics`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import skfem
from scipy import stats

from sve._validation import check_confidence, check_integer, check_phases, check_spacing
from sve.microstructure import labels_and_spacing
from sve.multiscale.fe2 import CellCache, CellProblem, evaluate_cells
from sve.multiscale.mesh import cell_of_elements

__all__ = [
    "Bracket",
    "ResponseStatistics",
    "mesoscale_bracket",
    "mesoscale_tensors",
    "p0_energy",
    "response_statistics",
    "window_tensors",
]


class _Windows:
    """A linear cell model whose cells are given (the windows of a parent)."""

    linear = True

    def __init__(self, physics: str, ndim: int) -> None:
        self.physics, self.ndim = physics, ndim

    def cell(self, point):  # pragma: no cover - the cells are given
        raise NotImplementedError

    def tangent(self, cell: CellProblem, gradient: np.ndarray) -> np.ndarray:
        return cell.solve()

    def response(self, cell: CellProblem, gradient: np.ndarray) -> np.ndarray:
        return cell.solve() @ gradient


def window_tensors(
    parent,
    windows: Sequence[int],
    material,
    *,
    physics: str = "conductivity",
    bc: str = "kinematic",
    spacing: float | Sequence[float] | None = None,
    tol: float = 1e-8,
    client="serial",
    workers: int | None = None,
    cache: CellCache | None = None,
) -> np.ndarray:
    """Apparent tensors of the windows that tile a parent image.

    Parameters
    ----------
    parent : array_like of int, or Microstructure
        The parent image, shape ``(N0, N1[, N2])``.
    windows : sequence of int
        Number of windows per axis, ``(n0, n1[, n2])``; each ``N_i`` must be
        a multiple of ``n_i``, and each window has at least 2 voxels per axis.
    material : sequence
        Per-phase conductivities (or tensors) or Mandel stiffnesses.
    physics : {"conductivity", "elasticity"}, default "conductivity"
    bc : {"kinematic", "static", "periodic"}, default "kinematic"
        Boundary condition of the window problems (``"KUBC"``, ``"SUBC"``,
        ``"PBC"`` accepted).
    spacing : float or sequence of float, optional
        Voxel edge lengths (default: that of a Microstructure, else 1).
    tol : float, default 1e-8
        Relative residual of the window solves.
    client, workers, cache
        As :func:`evaluate_cells`; default a plain loop in this process.
        Identical windows are solved once.

    Returns
    -------
    ndarray of shape (n0, n1[, n2], m, m), float64
        The apparent conductivity ``(d, d)`` or stiffness (Mandel) of each
        window (its symmetric part), indexed as the windows are in the
        parent.

    Raises
    ------
    TypeError, ValueError
        For a bad argument; the message names it.
    """
    labels, spacing = labels_and_spacing(parent, spacing)
    labels = check_phases(labels)
    ndim = labels.ndim
    if isinstance(windows, str) or not isinstance(windows, Sequence | np.ndarray):
        raise TypeError(f"windows must be a sequence of {ndim} integers, got {windows!r}")
    if len(windows) != ndim:
        raise ValueError(f"windows must have one entry per axis ({ndim}), got {windows!r}")
    counts = tuple(check_integer(n, "windows", 1) for n in windows)
    for n_voxels, n in zip(labels.shape, counts, strict=True):
        if n_voxels % n or n_voxels // n < 2:
            raise ValueError(
                f"windows {counts} must divide the parent shape {labels.shape} into windows "
                "of at least 2 voxels per axis"
            )
    spacing = check_spacing(spacing, ndim)
    width = [n_voxels // n for n_voxels, n in zip(labels.shape, counts, strict=True)]
    cells = []
    for index in np.ndindex(*counts):
        window = labels[
            tuple(slice(i * w, (i + 1) * w) for i, w in zip(index, width, strict=True))
        ]
        cells.append(CellProblem(physics, window, material, bc, tol, spacing))
    m = ndim if physics == "conductivity" else ndim * (ndim + 1) // 2
    _, tangents, _, _ = evaluate_cells(
        _Windows(physics, ndim),
        cells,
        np.zeros((len(cells), m)),
        client=client,
        workers=workers,
        cache=cache,
    )
    return tangents.reshape(*counts, m, m)


def mesoscale_tensors(
    mesh: skfem.Mesh,
    tensors: np.ndarray,
    *,
    length: float | Sequence[float] | None = None,
    origin: Sequence[float] | None = None,
) -> np.ndarray:
    """One tensor per macro element: that of the window holding the element's centroid.

    Parameters
    ----------
    mesh : skfem.Mesh
        The macro mesh, covering the box ``origin + [0, L0] x [0, L1] ...``.
    tensors : ndarray of shape (n0, n1[, n2], m, m)
        Window tensors (:func:`window_tensors`); window ``(i, j)`` covers
        ``[i L0/n0, (i+1) L0/n0] x [j L1/n1, (j+1) L1/n1]``.
    length : float or sequence of float, optional
        Edge lengths of the box the windows tile (default: the extent of
        the mesh nodes).
    origin : sequence of float, optional
        Lower corner of the box (default: the smallest node coordinates).

    Returns
    -------
    ndarray of shape (n_elements, m, m), float64
        For :func:`solve_macro`'s `material`. On a :func:`box_mesh` of the
        same shape as the windows, element ``e`` gets exactly its window.
    """
    if not isinstance(mesh, skfem.Mesh):
        raise TypeError(f"mesh must be a scikit-fem Mesh, got {type(mesh).__name__}")
    tensors = np.asarray(tensors, dtype=np.float64)
    ndim = mesh.dim()
    if tensors.ndim != ndim + 2 or tensors.shape[-1] != tensors.shape[-2]:
        raise ValueError(
            f"tensors must have shape (n0, ..., m, m) with {ndim} window axes, got {tensors.shape}"
        )
    low = mesh.p.min(axis=1) if origin is None else np.asarray(origin, dtype=np.float64)
    if length is None:
        extent = mesh.p.max(axis=1) - low
    else:
        extent = np.broadcast_to(np.asarray(length, dtype=np.float64), (ndim,))
    centroid = mesh.p[:, mesh.t].mean(axis=1) - low[:, None]
    index = cell_of_elements(centroid, extent, tensors.shape[:ndim])
    return tensors[tuple(index.T)]


def p0_energy(
    tensors: np.ndarray,
    volume: float,
    *,
    gradient=None,
    flux=None,
) -> float:
    """Energy of the P0 macro model of a box of windows under affine or uniform flux data.

    Parameters
    ----------
    tensors : ndarray of shape (n0, n1[, n2], m, m) or (n, m, m), float
        Window tensors (:func:`window_tensors`): conductivities ``(d, d)`` or
        Mandel stiffnesses ``(m, m)``.
    volume : float
        Volume (area) of one window, > 0.
    gradient : array_like, optional
        ``G`` (d,) of the affine Dirichlet data ``u = G . x`` on the whole
        boundary, or the strain ``E`` (d, d) of ``u = E x`` (its symmetric
        part is used).
    flux : array_like, optional
        ``Q`` (d,) of the uniform flux data ``q . n = Q . n`` on the whole
        boundary, or the symmetric stress ``S`` (d, d) of ``t = S n``.
        Exactly one of `gradient` and `flux`.

    Returns
    -------
    float
        ``1/2 sum_i |w_i| G . K_i G`` (the stored energy) or
        ``1/2 sum_i |w_i| Q . K_i^-1 Q`` (the complementary energy).

    Notes
    -----
    A field continuous and affine on every window of a box is a sum
    ``f_0(x_0) + f_1(x_1) [+ f_2(x_2)]`` of piecewise linear functions, and a
    flux constant per window with continuous normal component has ``q_i``
    constant along the rows of axis ``i``; under these data the single
    admissible fields are ``G . x`` and ``Q``, whence the sums (Huet 1990).
    """
    from sve.multiscale.macro import _mandel

    if (gradient is None) == (flux is None):
        raise ValueError("give exactly one of gradient and flux")
    stack = np.asarray(tensors, dtype=np.float64)
    if stack.ndim < 3 or stack.shape[-1] != stack.shape[-2]:
        raise ValueError(f"tensors must have shape (..., m, m), got {stack.shape}")
    stack = stack.reshape(-1, *stack.shape[-2:])
    m = stack.shape[-1]
    volume = float(volume)
    if not (np.isfinite(volume) and volume > 0):
        raise ValueError(f"volume must be a finite number > 0, got {volume!r}")
    name = "gradient" if flux is None else "flux"
    load = np.asarray(gradient if flux is None else flux, dtype=np.float64)
    if not np.all(np.isfinite(load)):
        raise ValueError(f"{name} must be finite, got {load!r}")
    if (
        load.ndim == 2
        and load.shape[0] == load.shape[1]
        and m == load.shape[0] * (load.shape[0] + 1) // 2
    ):
        if flux is not None and not np.allclose(load, load.T):
            raise ValueError("flux must be a symmetric stress for elasticity")
        load = _mandel(0.5 * (load + load.T))
    if load.shape != (m,):
        raise ValueError(
            f"{name} must have shape ({m},) or be a {m}-component tensor, got {load.shape}"
        )
    if flux is None:
        values = np.einsum("i,nij,j->n", load, stack, load)
    else:
        rhs = np.broadcast_to(load, stack.shape[:2])[..., None]
        values = np.linalg.solve(stack, rhs)[..., 0] @ load
    return 0.5 * volume * float(values.sum())


class ResponseStatistics(NamedTuple):
    """Mean, variance and confidence interval of a macro response over realizations.

    Attributes
    ----------
    n : int
        Realizations.
    mean : float
        Sample mean.
    variance : float
        Unbiased sample variance.
    std_error : float
        ``sqrt(variance / n)``.
    low, high : float
        Student-t confidence interval of the mean at `confidence`.
    confidence : float
        Its level.
    """

    n: int
    mean: float
    variance: float
    std_error: float
    low: float
    high: float
    confidence: float


def response_statistics(values, confidence: float = 0.95) -> ResponseStatistics:
    """Mean, variance and Student-t confidence interval of per-realization responses.

    Parameters
    ----------
    values : array_like of shape (n,), float
        The macro response (energy, total flux, reaction) of each
        realization, finite, n >= 2.
    confidence : float, default 0.95
        Level of the interval, in (0, 1).

    Returns
    -------
    ResponseStatistics

    Notes
    -----
    ``mean +- t_{n-1, (1+c)/2} s / sqrt(n)``: exact for normal responses,
    asymptotically right for any finite variance.
    """
    confidence = check_confidence(confidence)
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1 or array.size < 2:
        raise ValueError(f"values must be a 1-D array of >= 2 responses, got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError("values must be finite")
    n = array.size
    mean = float(array.mean())
    variance = float(array.var(ddof=1))
    std_error = (variance / n) ** 0.5
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1)) * std_error
    return ResponseStatistics(n, mean, variance, std_error, mean - half, mean + half, confidence)


class Bracket(NamedTuple):
    """The energies of the macro models of KUBC and SUBC windows of one parent.

    Attributes
    ----------
    kinematic, static : float
        Stored energy of the macro model of KUBC (SUBC) windows under affine
        Dirichlet data ``u = G . x`` (``u = E x``) on the whole boundary.
    kinematic_complementary, static_complementary : float
        Complementary energy of each model under uniform flux (traction)
        data ``q . n = Q . n`` (``t = S n``) on the whole boundary.

    Notes
    -----
    On the aligned box with these data and a constant gradient per window
    (``element="p0"`` of `mesoscale_bracket`), Huet's partition theorem
    (Huet 1990) makes the resolved energy at most `kinematic` and the
    resolved complementary energy at most `static_complementary`; with
    bilinear windows (``"q1"``) the same order is measured, not proved.
    ``static <= kinematic`` and
    ``kinematic_complementary <= static_complementary`` always (the KUBC
    windows are the stiffer). NaN for the data that were not asked for.
    """

    kinematic: float
    static: float
    kinematic_complementary: float
    static_complementary: float


def mesoscale_bracket(
    parent,
    windows: Sequence[int],
    material,
    *,
    physics: str = "conductivity",
    gradient=None,
    flux=None,
    element: str = "q1",
    spacing: float | Sequence[float] | None = None,
    tol: float = 1e-8,
    client="serial",
    workers: int | None = None,
    cache: CellCache | None = None,
) -> Bracket:
    """Macro energies of the KUBC and SUBC window fields of one parent (Huet's bracket).

    The box is the parent (``N_i h_i`` per axis), one macro element per
    window.

    Parameters
    ----------
    parent, windows, material, physics, spacing, tol, client, workers, cache
        As :func:`window_tensors`.
    gradient : array_like, optional
        Macro gradient ``G`` (d,) of the affine Dirichlet data, or the
        symmetric strain ``E`` (d, d) for elasticity.
    flux : array_like, optional
        Macro flux ``Q`` (d,) of the uniform flux data, or the symmetric
        stress ``S`` (d, d) for elasticity. At least one of the two.
    element : {"q1", "p0"}, default "q1"
        ``"q1"``: one bilinear (trilinear) element per window, solved with
        `solve_macro`. ``"p0"``: a constant gradient per window, the macro
        field affine on each window and continuous (the potential, a sum
        ``f_0(x_0) + f_1(x_1) [+ f_2(x_2)]`` of piecewise linear functions,
        and the flux constant per window with continuous normal
        component). The affine data ``u = G . x`` on the whole boundary
        then admit the single field ``G . x`` and the uniform flux data the
        single flux ``Q``, so the energies are ``1/2 sum_i |w_i| G . K_i G``
        and ``1/2 sum_i |w_i| Q . K_i^-1 Q``; with the windows solved on
        the voxels of the parent, Huet's partition theorem makes the
        resolved energy at most `kinematic` and the resolved complementary
        energy at most `static_complementary` (up to the solver tolerance).
        The Q1 macro energies under affine data are at most the P0 ones
        (``G . x`` is a Q1 field), so the Q1 bracket is not a theorem.

    Returns
    -------
    Bracket

    Examples
    --------
    >>> import numpy as np
    >>> parent = np.zeros((8, 8), dtype=np.int8)
    >>> parent[:, 2:6] = 1
    >>> b = mesoscale_bracket(parent, (2, 2), [1.0, 3.0], gradient=[1.0, 0.0])
    >>> bool(b.static <= b.kinematic)
    True
    """
    from sve.multiscale.macro import solve_macro
    from sve.multiscale.mesh import BOX_FACES, box_mesh

    if gradient is None and flux is None:
        raise ValueError("give gradient, flux or both")
    if element not in ("q1", "p0"):
        raise ValueError(f"element must be 'q1' or 'p0', got {element!r}")
    labels, h = labels_and_spacing(parent, spacing)
    labels = check_phases(labels)
    ndim = labels.ndim
    h = check_spacing(h, ndim)
    shape = (ndim,) if physics == "conductivity" else (ndim, ndim)
    arrays = {}
    for name, value in (("gradient", gradient), ("flux", flux)):
        if value is None:
            continue
        array = np.asarray(value, dtype=np.float64)
        if array.shape != shape or not np.all(np.isfinite(array)):
            raise ValueError(f"{name} must be a finite array of shape {shape}, got {value!r}")
        if array.ndim == 2 and not np.allclose(array, array.T):
            raise ValueError(f"{name} must be symmetric for elasticity")
        arrays[name] = array
    mesh = box_mesh(tuple(windows), length=[n * hh for n, hh in zip(labels.shape, h, strict=True)])
    out = {}
    for bc in ("kinematic", "static"):
        tensors = window_tensors(
            labels, windows, material, physics=physics, bc=bc, spacing=h, tol=tol,
            client=client, workers=workers, cache=cache,
        )  # fmt: skip
        if element == "p0":
            volume = float(np.prod(h)) * labels.size / tensors[..., 0, 0].size
            for name, key in (("gradient", bc), ("flux", f"{bc}_c")):
                if name in arrays:
                    out[key] = p0_energy(tensors, volume, **{name: arrays[name]})
            continue
        field = mesoscale_tensors(mesh, tensors)
        if "gradient" in arrays:
            G = arrays["gradient"]
            data = {"boundary": lambda x, G=G: np.tensordot(G, x, axes=1)}
            out[bc] = solve_macro(mesh, field, physics=physics, dirichlet=data).energy
        if "flux" in arrays:
            Q = arrays["flux"]
            data = {}
            for axis in range(ndim):
                low, high = BOX_FACES[axis]
                normal = Q[axis] if physics == "conductivity" else Q[:, axis]
                data[low] = -normal if physics == "elasticity" else -float(normal)
                data[high] = normal if physics == "elasticity" else float(normal)
            if physics == "elasticity":
                data = {k: tuple(float(c) for c in v) for k, v in data.items()}
            out[f"{bc}_c"] = solve_macro(mesh, field, physics=physics, flux=data).energy
    nan = float("nan")
    return Bracket(
        out.get("kinematic", nan),
        out.get("static", nan),
        out.get("kinematic_c", nan),
        out.get("static_c", nan),
    )
