"""Boundary-value problems of conductivity on the voxel grid of a whole part.

The cell solvers of this package compute apparent tensors under the four
boundary conditions of homogenization; this module solves the general steady
problem on the same Q1 voxel elements, with the same matrix-free operator,
preconditioners and void handling: Dirichlet data on part of the boundary,
prescribed normal fluxes on the rest, volumetric sources, and the full fields
returned. It is the fully resolved reference (DNS) of a macro problem.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike

from sve._validation import (
    check_choice,
    check_integer,
    check_phases,
    check_real,
    check_spacing,
)
from sve.microstructure import labels_and_spacing
from sve.solvers._core.boundary import (
    Data,
    element_gradients,
    face_index,
    face_names,
    face_points,
    face_slice,
    masked_mass,
    nodal_values,
    reference_solver,
    voxel_loads,
)
from sve.solvers._core.clusters import find_clusters, projector
from sve.solvers._core.memory import check_budget, memory_estimate, memory_limit_bytes
from sve.solvers._core.pcg import pcg
from sve.solvers._core.q1_geometry import corner_offsets
from sve.solvers.conductivity.apparent import _element_conductivity
from sve.solvers.conductivity.q1 import Q1Grid, TensorQ1Grid
from sve.solvers.conductivity.q1_multigrid import (
    DEGREE,
    FINE_DEGREE,
    GAMMA,
    Cycle,
    _coarsest_inverse,
    hierarchy,
    supported,
)
from sve.solvers.result import ConvergenceError

AXES = "xyz"
_PRECONDITIONERS = ("auto", "multigrid", "fft")
_ON_FAILURE = ("raise", "flag")
# Net load of a floating cluster, relative to the largest nodal load, taken for round-off.
_INCOMPATIBLE = 1e-9
# Two Dirichlet values given for one node (two faces sharing an edge) that differ by more
# than this, relative to the largest value, are a conflict.
_CONFLICT = 1e-12


@dataclass(frozen=True)
class BoundaryValueResult:
    """Solution of `solve_conductivity_bvp`: nodal potential, element fields, energies.

    Attributes
    ----------
    potential : ndarray of shape (N0 + 1, ..., N_{d-1} + 1), float64
        Nodal potential ``u`` (temperature, electric potential...), node
        ``(i, j[, l])`` at ``x = (i h_0, j h_1[, l h_2])``; NaN on the nodes
        that touch no conducting voxel (inside a hole).
    gradient : ndarray of shape (N0, ..., N_{d-1}, d), float64
        Average of ``grad u`` over every voxel (units of u per length); NaN in
        voids.
    flux : ndarray of shape (N0, ..., N_{d-1}, d), float64
        Average of ``q = K grad u`` over every voxel (``K`` constant on it;
        the sign convention of the cell solvers: no minus sign); 0 in voids.
    energy : float
        ``1/2 int grad u . K grad u dV`` over the part, exact for the Q1
        field (``1/2 u . A u``), in units of conductivity times u**2 times
        length**(d-2).
    face_flux : dict of str to float
        Per face (``face_names``), ``int n . q dS`` with ``n`` the outward
        normal: the prescribed flux on flux faces, the reaction on Dirichlet
        faces (see `solve_conductivity_bvp`, Notes).
    source_total : float
        ``int s dV`` over the conducting voxels; balance:
        ``sum(face_flux.values()) + source_total = 0`` up to the solver
        tolerance.
    boundary_work, source_work : float
        ``int_boundary u n . q dS`` and ``int s u dV``; Clapeyron:
        ``boundary_work + source_work = 2 energy``.
    spacing : tuple of float
        Voxel edges per axis.
    dirichlet_nodes : ndarray of the node shape, bool
        The nodes where the potential was prescribed.
    iterations : int
        Conjugate-gradient iterations.
    residual : float
        Final relative residual ``sqrt(r . M^-1 r / b . M^-1 b)``.
    converged : bool
        Whether `residual` reached `tol`.
    preconditioner : str
        ``"multigrid"`` or ``"fft"``, the one that ran.
    notes : tuple of str
        What the solver decided (voids, floating clusters).
    wall_time : float
        Seconds.
    """

    potential: np.ndarray
    gradient: np.ndarray
    flux: np.ndarray
    energy: float
    face_flux: dict[str, float]
    source_total: float
    boundary_work: float
    source_work: float
    spacing: tuple[float, ...]
    dirichlet_nodes: np.ndarray
    iterations: int
    residual: float
    converged: bool
    preconditioner: str
    notes: tuple[str, ...] = field(default_factory=tuple)
    wall_time: float = 0.0

    @property
    def coordinates(self) -> tuple[np.ndarray, ...]:
        """Node coordinates per axis, 1-D arrays ``i h_a`` (open grids: ``np.ix_`` them)."""
        return tuple(
            np.arange(n) * h for n, h in zip(self.potential.shape, self.spacing, strict=True)
        )


class _Problem:
    """The assembled data of one boundary-value problem on the node grid."""

    def __init__(self, k, material, stack, h):
        self.ndim = k.ndim
        self.k = k
        self.h = h
        self.nodes = tuple(n + 1 for n in k.shape)
        kinds = ("neumann",) * self.ndim
        if stack is None:
            self.grid = Q1Grid(k, kinds, h)
        else:
            self.grid = TensorQ1Grid(k, kinds, h, material, stack)
        self.conducting = k > 0.0
        # nodes that touch a conducting voxel
        touched = np.zeros(self.nodes, dtype=bool)
        for c in corner_offsets(self.ndim):
            touched[tuple(slice(o, o + n) for o, n in zip(c, k.shape, strict=True))] |= (
                self.conducting
            )
        self.touched = touched

    def apply(self, u: np.ndarray, out: np.ndarray) -> None:
        """``out = A u`` on the whole node grid (no node fixed)."""
        self.grid.flux(u, np.zeros(self.ndim), out)


def _dirichlet(problem: _Problem, dirichlet) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Mask and values of the prescribed nodes, and the faces they fill completely."""
    ndim, nodes, h = problem.ndim, problem.nodes, problem.h
    fixed = np.zeros(nodes, dtype=bool)
    values = np.zeros(nodes)
    faces: list[str] = []
    if dirichlet is None:
        return fixed, values, faces
    if isinstance(dirichlet, tuple):
        if len(dirichlet) != 2:
            raise ValueError("dirichlet as a tuple must be (mask, values) on the node grid")
        mask, given = (np.asarray(a) for a in dirichlet)
        if mask.dtype != np.bool_:
            raise TypeError(f"dirichlet mask must be a boolean array, got dtype {mask.dtype}")
        if mask.shape != nodes:
            raise ValueError(f"dirichlet mask must have the node shape {nodes}, got {mask.shape}")
        given = nodal_values("dirichlet values", given, (), nodes)
        fixed[...] = mask
        values[mask] = given[mask]
        return fixed, values, faces
    if not isinstance(dirichlet, Mapping):
        raise TypeError(
            "dirichlet must be a mapping of face name to data, or a (mask, values) tuple, "
            f"got {type(dirichlet).__name__}"
        )
    owner = np.full(nodes, "", dtype=object)
    for face, data in dirichlet.items():
        targets = face_names(ndim) if face == "boundary" else (face,)
        for target in targets:
            axis, end = face_index(target, ndim)
            points, shape = face_points(nodes, h, axis, end)
            face_values = nodal_values(f"dirichlet[{face!r}]", data, points, shape)
            index = face_slice(axis, end, ndim)
            already = fixed[index]
            old = values[index]
            scale = max(float(np.abs(face_values).max()), float(np.abs(old).max()), 1e-300)
            clash = already & (np.abs(old - face_values) > _CONFLICT * scale)
            if clash.any():
                other = owner[index][clash].flat[0]
                raise ValueError(
                    f"dirichlet: faces {other!r} and {target!r} give different values on "
                    "the nodes they share; make the data agree on their common edge"
                )
            values[index] = face_values
            fixed[index] = True
            owner[index] = target
            faces.append(target)
    return fixed, values, faces


def _flux_loads(problem: _Problem, flux, dirichlet_faces) -> dict[str, np.ndarray]:
    """Nodal loads ``int_face j N_n dS`` of every flux face (j interpolated by Q1 on the
    face from its nodal values), over the faces of conducting voxels only.
    """
    ndim, nodes, h = problem.ndim, problem.nodes, problem.h
    loads: dict[str, np.ndarray] = {}
    if flux is None:
        return loads
    if not isinstance(flux, Mapping):
        raise TypeError(f"flux must be a mapping of face name to data, got {type(flux).__name__}")
    for face, data in flux.items():
        axis, end = face_index(face, ndim)
        if face in dirichlet_faces:
            raise ValueError(f"flux: face {face!r} already has Dirichlet data")
        points, shape = face_points(nodes, h, axis, end)
        j = nodal_values(f"flux[{face!r}]", data, points, shape)
        # the voxels behind the face: their face elements carry the flux
        layer = problem.conducting[face_slice(axis, end, ndim)]
        others = np.array([h[a] for a in range(ndim) if a != axis])
        load = np.zeros(nodes)
        load[face_slice(axis, end, ndim)] = masked_mass(j, layer, others)
        loads[face] = load
    return loads


def _source_loads(problem: _Problem, source) -> np.ndarray:
    """Nodal loads ``int s N_n dV`` over the conducting voxels: `source` per voxel
    (constant on it) or at the nodes (a callable of the coordinates, Q1-interpolated).
    """
    nodes, h = problem.nodes, problem.h
    if source is None:
        return np.zeros(nodes)
    if callable(source):
        points = np.meshgrid(*(np.arange(n) * h[a] for a, n in enumerate(nodes)), indexing="ij")
        s = nodal_values("source", source, tuple(points), nodes)
        return masked_mass(s, problem.conducting, h)
    shape = problem.k.shape
    s = nodal_values("source", source, (), shape, where=f"the voxel shape {shape}")
    return voxel_loads(s, problem.conducting, h, nodes)


def solve_conductivity_bvp(
    phases: ArrayLike,
    conductivity,
    *,
    dirichlet: Mapping[str, Data] | tuple[ArrayLike, ArrayLike] | None = None,
    flux: Mapping[str, Data] | None = None,
    source: Data | None = None,
    spacing: float | tuple[float, ...] | None = None,
    tol: float = 1e-8,
    maxiter: int = 2000,
    preconditioner: str = "auto",
    on_failure: str = "raise",
    memory_limit: int | str | None = None,
) -> BoundaryValueResult:
    r"""Solve a steady conductivity boundary-value problem on the voxels of a part.

    Finds ``u`` with ``-div(K grad u) = s`` in the part, ``u = g`` on the
    Dirichlet boundary and ``n . K grad u = j`` (outward normal ``n``) on
    the rest, with Q1 voxel finite elements: the discretization, operator,
    void handling and preconditioners of `sve.apparent_conductivity`, on
    the node grid of the whole image.

    Parameters
    ----------
    phases : array_like of shape (N0, N1) or (N0, N1, N2), integer, or Microstructure
        Phase label of every voxel, labels >= 0. The part is the box
        ``[0, N0 h0] x [0, N1 h1] (x [0, N2 h2])``.
    conductivity : sequence of float, or ndarray
        As in `sve.apparent_conductivity`: one value per label, one per
        voxel, one d x d tensor per label or per voxel. Zero marks a void (a
        hole): it carries no flux, takes no source and no boundary flux.
    dirichlet : mapping or (mask, values), optional
        Prescribed potential. A mapping of face name (``"xmin"``,
        ``"xmax"``, ``"ymin"``, ``"ymax"``, ``"zmin"``, ``"zmax"``; axis 0
        is x; or ``"boundary"`` for every face) to a number, an array of the
        face's node shape (the node grid without the face's axis), or a
        function ``g(x, y[, z])`` of the node coordinates (arrays) returning
        the values. Faces that share nodes must agree on them. Or a pair
        ``(mask, values)`` of arrays of the node shape ``(N0 + 1, ...)``:
        the nodes where ``mask`` is True (boundary or interior, any subset)
        take ``values``. Default: none (a pure flux problem, solved up to a
        constant: the returned potential has zero mean over each cluster).
    flux : mapping, optional
        Prescribed normal flux ``j = n . K grad u`` per face (outward
        normal; ``j > 0`` makes ``u`` grow outward: heat enters the part in
        the physical convention ``-K grad u``): a number, an array of the
        face's nodes, or a function of the node coordinates, interpolated by
        Q1 on the face. Faces without data are insulated (``j = 0``). A face
        may not carry both kinds.
    source : float, ndarray or callable, optional
        Volumetric source ``s``: a number, one value per voxel (shape of
        `phases`, constant on the voxel), or a function of the node
        coordinates (Q1-interpolated; second order). Default 0.
    spacing : float or sequence of float, optional
        Voxel edges per axis (length unit of the coordinates). Default: the
        spacing of a `Microstructure`, else 1.
    tol : float, default 1e-8
        Relative residual of conjugate gradients in the preconditioner norm,
        in (0, 1).
    maxiter : int, default 2000
        Largest number of iterations.
    preconditioner : {"auto", "multigrid", "fft"}, default "auto"
        Geometric multigrid cycle of the cell solvers (axes that halve down
        to at most 512 nodes, e.g. powers of two; for tensors the cycle of
        the scalar medium ``trace(K) / d``), or the DCT/DST reference
        medium (every shape). ``"auto"`` takes multigrid where it applies.
    on_failure : {"raise", "flag"}, default "raise"
        Non-convergence raises `ConvergenceError` (the result in its
        ``result`` attribute), or is flagged by ``converged=False``.
    memory_limit : int or str, optional
        Bytes the solve may use, as in `sve.apparent_conductivity`; the
        estimate is checked before anything large is allocated
        (`MemoryBudgetError`).

    Returns
    -------
    BoundaryValueResult
        Nodal potential, voxel gradients and fluxes, energy, face fluxes,
        works and the diagnostics of the solve.

    Raises
    ------
    TypeError, ValueError
        For an invalid argument (the message names it); for flux or source
        data that load a cluster held by no Dirichlet node with a net flux
        (no steady solution exists).
    ConvergenceError
        If conjugate gradients do not reach `tol` and ``on_failure="raise"``.
    MemoryBudgetError
        If the estimated peak memory exceeds the limit.

    Notes
    -----
    **Discretization.** With ``A = sum_e Ke(K_e)`` the assembled Q1
    stiffness (``conductivity/q1.py``), the nodal loads are
    ``f = int s N dV + int_flux-faces j N dS`` (consistent: the Q1
    interpolant of nodal data is integrated exactly, so a smooth solution
    converges at second order in ``h`` in L2 and first in H1), and with
    ``u = u_D + w``, ``u_D`` the Dirichlet values on the prescribed nodes
    and 0 elsewhere, ``w`` solves ``A_ff w_f = (f - A u_D)_f`` on the free
    nodes ``f``.

    **Solver.** Conjugate gradients preconditioned by ``Pi B Pi``, with
    ``B`` the multigrid cycle (or the reference-medium transform) of the
    image on the node grid with every fully prescribed face held at zero
    (multigrid: on every level; transforms: a sine, cosine or quarter-wave
    sine transform per axis after its two end conditions), and ``Pi`` the
    projection that zeroes the prescribed nodes and the nodes inside holes
    and removes the mean of every floating cluster. ``Pi B Pi`` is
    symmetric positive definite on the free unknowns. Prescribed nodes off
    whole faces (part of a face, interior nodes) are held by ``Pi`` alone,
    with an additive coarse correction on the constants of each cluster
    that no whole prescribed face holds (iteration counts in the docs).

    **Voids.** A void voxel is a hole. Nodes that touch no conducting voxel
    are not unknowns (NaN in `potential`). A conducting cluster that
    touches no prescribed node (a floating inclusion) is determined up to a
    constant: the flux and source data must give it no net load (else
    ValueError), and its mean potential is set to 0.

    **Face fluxes and works.** The nodal boundary terms are
    ``R = A u - int s N dV``; on a flux face they are the prescribed loads,
    on a Dirichlet face the reactions. ``face_flux[face]`` sums them over
    the face's nodes. A node on the common edge of two Dirichlet faces
    gets from each face the share ``n . q`` of the voxels behind that face
    would give it (exact for affine fields), and the rest of its reaction
    (minus the prescribed loads of flux faces there) split evenly. Sums
    over the whole boundary are exact:
    ``sum(face_flux) = -int s dV`` and ``u . R = int_boundary u n . q dS``,
    so that ``u . A u = boundary_work + source_work`` (Clapeyron).

    **Energy.** ``energy = 1/2 u . A u = 1/2 int grad u . K grad u dV``,
    exact for the discrete field. Under affine Dirichlet data on the whole
    boundary it is the resolved energy of a kinematic (KUBC) macro test;
    under uniform flux data on the whole boundary, ``1/2 int q . K^-1 q
    dV``, the complementary energy of the static (SUBC) test, has the same
    value at the solution.

    References
    ----------
    .. [1] E. J. Garboczi, "Finite element and finite difference programs
       for computing the linear electric and elastic properties of digital
       images of random materials", NISTIR 6269 (1998).
    .. [2] U. Trottenberg, C. W. Oosterlee, A. Schüller, "Multigrid",
       Academic Press (2001).
    .. [3] C. Huet, "Application of variational concepts to size effects in
       elastic heterogeneous bodies", J. Mech. Phys. Solids 38 (1990)
       813-841.

    Examples
    --------
    Two layers across the gradient: the flux is the harmonic mean times
    the drop over the length.

    >>> import numpy as np
    >>> phases = np.zeros((8, 4), dtype=np.int8)
    >>> phases[4:] = 1
    >>> result = solve_conductivity_bvp(
    ...     phases, [1.0, 3.0], dirichlet={"xmin": 0.0, "xmax": 1.0}, spacing=0.125
    ... )
    >>> round(result.face_flux["xmax"], 10)  # 1.5 / 1.0 * width 0.5
    0.75
    >>> round(result.energy, 10)  # half the drop times the flux
    0.375
    """
    phases, spacing = labels_and_spacing(phases, spacing)
    start = time.perf_counter()
    phases = check_phases(phases)
    h = np.asarray(check_spacing(spacing, phases.ndim), dtype=np.float64)
    tol = check_real(tol, "tol", 0.0, 1.0)
    maxiter = check_integer(maxiter, "maxiter", 1)
    preconditioner = check_choice(preconditioner, "preconditioner", _PRECONDITIONERS)
    on_failure = check_choice(on_failure, "on_failure", _ON_FAILURE)
    ndim = phases.ndim
    limit, origin = memory_limit_bytes(memory_limit, phases.shape)
    _check_memory(phases.shape, preconditioner, limit, origin)
    k, material, stack = _element_conductivity(phases, conductivity)
    if preconditioner == "auto":
        preconditioner = "multigrid" if _multigrid_fits(k.shape, h) else "fft"
    if preconditioner == "multigrid" and not _multigrid_fits(k.shape, h):
        raise ValueError(
            "preconditioner='multigrid' needs axes that halve down to at most 512 nodes "
            f"(e.g. powers of two), got shape {phases.shape}; use preconditioner='fft'"
        )
    problem = _Problem(k, material, stack, h)
    fixed, prescribed, dirichlet_faces = _dirichlet(problem, dirichlet)
    flux_loads = _flux_loads(problem, flux, dirichlet_faces)
    volume_load = _source_loads(problem, source)
    load = volume_load.copy()
    for face_load in flux_loads.values():
        load += face_load

    # Free unknowns: not prescribed, touching a conducting voxel. Clusters: those held by no
    # prescribed node float (a constant each); their net load must vanish.
    notes = []
    voids = not bool(np.all(problem.conducting))
    held = fixed & problem.touched
    labels = None
    floating = np.zeros(0, dtype=bool)
    if voids or not held.any():
        if voids:
            clusters = find_clusters(k, periodic=False, discretization="q1")
            labels = clusters.labels
            count = clusters.count
        else:
            labels = np.zeros(problem.nodes, dtype=np.int64)
            count = 1
        anchored = np.zeros(count, dtype=bool)
        anchored[np.unique(labels[held & (labels >= 0)])] = True
        floating = ~anchored
        net = np.bincount(labels[labels >= 0], weights=load[labels >= 0], minlength=count)
        scale = float(np.abs(load).max()) if np.abs(load).max() > 0 else 1.0
        bad = floating & (np.abs(net) > _INCOMPATIBLE * scale * labels.size**0.5)
        if bad.any():
            raise ValueError(
                f"flux and source data give {int(bad.sum())} conducting cluster(s) held by no "
                f"Dirichlet node a net load (first: {float(net[bad][0]):.6g}): no steady "
                "solution exists; prescribe the potential somewhere on each cluster or "
                "balance the fluxes and sources"
            )
        if voids:
            notes.append(
                f"voids: {count} conducting cluster(s), {int(floating.sum())} of them held "
                "by no Dirichlet node (their mean potential set to 0)"
            )
        elif floating.any():
            notes.append("no Dirichlet data: the potential is defined up to a constant; mean 0")
    free = ~fixed & problem.touched
    project_clusters = projector(labels, floating) if labels is not None else None

    def constrain(x: np.ndarray) -> None:
        x[~free] = 0.0
        if project_clusters is not None and floating.any():
            project_clusters(x)

    # the lifted load b = f - A u_D on the free nodes
    lift = np.where(fixed & problem.touched, prescribed, 0.0)
    b = np.empty(problem.nodes)
    problem.apply(lift, b)
    np.subtract(load, b, out=b)
    constrain(b)

    # Faces whose every node is prescribed (or in a hole): the preconditioner holds them at
    # zero (multigrid: any such face; transforms: both faces of an axis).
    full_faces = [
        (a, end)
        for a in range(ndim)
        for end in (0, -1)
        if (fixed | ~problem.touched)[face_slice(a, end, ndim)].all()
        and fixed[face_slice(a, end, ndim)].any()
    ]
    if preconditioner == "fft":
        reference = float(k[k > 0].mean()) if stack is None else _reference(stack, material)
        ends = tuple(
            ("d" if (a, 0) in full_faces else "n") + ("d" if (a, -1) in full_faces else "n")
            for a in range(ndim)
        )
        inverse = reference_solver(ends, k.shape, h, np.full(ndim, reference))
    else:  # tensors: the cycle of the scalar stand-in (trace / d per voxel)
        inverse = _face_multigrid(k, h, full_faces, voids)
    covered = np.zeros(problem.nodes, dtype=bool)
    for a, end in full_faces:
        covered[face_slice(a, end, ndim)] = True
    coarse = None
    if (fixed & ~covered & problem.touched).any():
        coarse = _constant_correction(problem, free, labels, floating, covered)

    def precondition(r: np.ndarray, out: np.ndarray) -> None:
        inverse(r, out)
        constrain(out)
        if coarse is not None:
            coarse(r, out)

    def apply(p: np.ndarray, out: np.ndarray) -> None:
        problem.apply(p, out)
        constrain(out)

    work = tuple(np.empty(problem.nodes) for _ in range(3))
    w = np.empty(problem.nodes)
    iterations, residual = pcg(apply, precondition, b, w, tol=tol, maxiter=maxiter, work=work)
    del work
    u = w
    u += lift
    # boundary terms R = A u - int s N, reactions on the Dirichlet faces
    reaction = np.empty(problem.nodes)
    problem.apply(u, reaction)
    reaction -= volume_load
    reaction[~problem.touched] = 0.0
    energy = 0.5 * float(np.dot(u.reshape(-1), (reaction + volume_load).reshape(-1)))
    boundary_work = float(np.dot(u.reshape(-1), reaction.reshape(-1)))
    source_work = float(np.dot(u.reshape(-1), volume_load.reshape(-1)))
    gradient = element_gradients(u, h)
    if stack is None:
        q = k[..., None] * gradient
    else:
        q = np.einsum("...ij,...j->...i", stack[material], gradient)
    q[~problem.conducting] = 0.0
    face_flux = _face_fluxes(reaction, fixed, flux_loads, q, h)
    u[~problem.touched] = np.nan
    gradient[~problem.conducting] = np.nan
    converged = residual <= tol
    result = BoundaryValueResult(
        potential=u,
        gradient=gradient,
        flux=q,
        energy=energy,
        face_flux=face_flux,
        source_total=float(volume_load.sum()),
        boundary_work=boundary_work,
        source_work=source_work,
        spacing=tuple(float(x) for x in h),
        dirichlet_nodes=fixed,
        iterations=int(iterations),
        residual=float(residual),
        converged=bool(converged),
        preconditioner=preconditioner,
        notes=tuple(notes),
        wall_time=time.perf_counter() - start,
    )
    if not converged and on_failure == "raise":
        raise ConvergenceError(
            f"solve_conductivity_bvp did not converge: relative residual {residual:.3g} after "
            f"{iterations} iterations (tol={tol:g}, maxiter={maxiter}); raise maxiter or tol, "
            "or pass on_failure='flag' to get the unconverged result",
            result,
        )
    return result


def _face_multigrid(k, h, faces, voids):
    """The W-cycle of ``q1_multigrid`` on the Neumann node grid with the nodes of `faces`
    ((axis, end) pairs) held at zero on every level.

    Holding a whole face keeps the property the cell solvers' Dirichlet axes rely on
    (``q1_multigrid``, Hierarchy): a coarse free node interpolates only onto fine free
    nodes, so the free blocks of the Galerkin operators are those of the constrained
    problem. The face nodes get a zero inverse diagonal on every level and are left out of
    the coarsest solve (of the level's stored coarsest matrix).
    """
    ndim = k.ndim
    levels = hierarchy(k, h, ("neumann",) * ndim)
    for level in levels:
        if level.inverse_diagonal is None:  # level 0 in 3-D: made from the labels (_Slabs)
            level.slabs.held += list(faces)
            continue
        diagonal = level.inverse_diagonal.reshape(level.shape)
        for axis, end in faces:
            diagonal[face_slice(axis, end, ndim)] = 0.0
        if level.coarsest is not None and faces:
            level.coarsest = _coarsest_inverse(
                level.coarsest_matrix, level.inverse_diagonal, constants=False, voids=voids
            )
    cycle = Cycle(levels, DEGREE, FINE_DEGREE, GAMMA)
    constants = not voids and not faces

    def apply(r: np.ndarray, out: np.ndarray) -> None:
        cycle(r, out)
        if constants:
            out -= out.mean()

    return apply


def _constant_correction(problem, free, labels, floating, covered):
    """Return ``add(r, out)``: ``out += Z (Z^T A Z)^-1 Z^T r``, the additive coarse
    correction on the constants of the clusters held by prescribed nodes.

    The cycle (or transform) of a grid with Neumann axes has the constants (per cluster)
    in its null space; once some nodes are prescribed, those constants are no longer null
    vectors of the operator but its smoothest modes, which the cycle alone would leave
    uncorrected (thousands of iterations at 128^2 with one Dirichlet face). ``Z`` holds
    one column per held cluster, its indicator on the free nodes; clusters share no
    element, so ``Z^T A Z`` is diagonal and one operator application gives it.
    """
    if labels is None:
        labels = np.where(problem.touched, 0, -1)
        floating = np.zeros(1, dtype=bool)
    count = floating.size
    member = free & (labels >= 0)
    member &= ~floating[np.where(labels >= 0, labels, 0)]
    # clusters that touch a face the preconditioner holds need no correction
    held = np.zeros(count, dtype=bool)
    held[np.unique(labels[covered & (labels >= 0)])] = True
    member &= ~held[np.where(labels >= 0, labels, 0)]
    index = labels[member]
    z = member.astype(np.float64)
    az = np.empty(problem.nodes)
    problem.apply(z, az)
    diagonal = np.bincount(index, weights=az[member], minlength=count)
    inverse = np.where(diagonal > 0.0, 1.0 / np.where(diagonal > 0.0, diagonal, 1.0), 0.0)

    def add(r: np.ndarray, out: np.ndarray) -> None:
        sums = np.bincount(index, weights=r[member], minlength=count)
        out[member] += (sums * inverse)[index]

    return add


def _reference(stack: np.ndarray, material: np.ndarray) -> float:
    """Isotropic reference of the transform preconditioner: sqrt(l_min l_max)."""
    present = np.bincount(material.reshape(-1), minlength=len(stack)) > 0
    solid = np.linalg.norm(stack, axis=(1, 2)) > 0.0
    eigenvalues = np.linalg.eigvalsh(stack[present & solid])
    return float(np.sqrt(eigenvalues.min() * eigenvalues.max()))


def _multigrid_fits(shape: tuple[int, ...], h: np.ndarray) -> bool:
    return supported(("neumann",) * len(shape), shape, h / h.min())


def _face_fluxes(reaction, fixed, flux_loads, q, h) -> dict[str, float]:
    """``int n . q dS`` per face from the nodal boundary terms (see the Notes of
    `solve_conductivity_bvp`); `q` the voxel fluxes, `h` the voxel edges.
    """
    ndim = reaction.ndim
    dirichlet_part = reaction.copy()
    for load in flux_loads.values():
        dirichlet_part -= load
    # The Dirichlet faces holding each prescribed node: the faces it lies on that have a
    # prescribed node off their edges (a corner of a Dirichlet face is not a Dirichlet node
    # of the insulated face beside it). Per face, the estimate of its share of a node's
    # reaction from the normal fluxes of the voxels behind it.
    faces = face_names(ndim)
    holds, estimates = {}, {}
    sharing = np.zeros(reaction.shape)
    estimated = np.zeros(reaction.shape)
    for face in faces:
        axis, end = face_index(face, ndim)
        index = face_slice(axis, end, ndim)
        inner = fixed[index][tuple(slice(1, -1) for _ in range(ndim - 1))]
        holds[face] = bool(inner.any())
        if not holds[face]:
            continue
        sharing[index] += fixed[index]
        normal = (1.0 if end == -1 else -1.0) * q[index + (axis,)]
        area = float(np.prod([h[a] for a in range(ndim) if a != axis]))
        share = np.zeros(fixed[index].shape)
        for c in corner_offsets(ndim - 1):
            share[tuple(slice(o, o + n) for o, n in zip(c, normal.shape, strict=True))] += (
                normal * area / 2 ** (ndim - 1)
            )
        estimates[face] = share
        estimated[index] += np.where(fixed[index], share, 0.0)
    out = {}
    for face in faces:
        axis, end = face_index(face, ndim)
        index = face_slice(axis, end, ndim)
        total = float(flux_loads[face].sum()) if face in flux_loads else 0.0
        mask = fixed[index]
        if holds[face] and mask.any():
            rest = (dirichlet_part[index] - estimated[index])[mask] / sharing[index][mask]
            total += float((estimates[face][mask] + rest).sum())
        out[face] = total
    return out


def _check_memory(shape, preconditioner, limit, origin) -> None:
    """Refuse a solve whose estimate exceeds `limit` (`MemoryBudgetError`): the model of a
    kinematic Q1 cell solve (same node grid, operator and preconditioner) with one solution
    kept instead of d, plus the returned fields (potential on the nodes, gradient and flux
    on the voxels: 8 (1 + 2 d) bytes per point) and the loads and lift (3 nodal fields).
    """
    if limit is None:
        return
    ndim = len(shape)
    options = ("fft", "multigrid") if preconditioner == "auto" else (preconditioner,)
    estimates = []
    for option in options:
        if option == "multigrid" and not supported(("neumann",) * ndim, shape):
            continue
        base = memory_estimate(shape, bc="kinematic", preconditioner=option, voids=True)
        extra = 8.0 * (2 * ndim + 3) - 8.0 * (ndim - 1)
        breakdown = dict(base.breakdown)
        breakdown["returned fields, loads and lift (float64)"] = int(np.ceil(extra * base.points))
        field = 8 * int(np.prod(shape))
        breakdown["conductivity field (float64 per voxel)"] = field
        total = int(sum(breakdown.values()))
        estimates.append(
            type(base)(
                bytes=total,
                bytes_per_voxel=total / float(np.prod(shape)),
                breakdown=breakdown,
                shape=base.shape,
                property=base.property,
                bc="boundary-value",
                discretization=base.discretization,
                preconditioner=option,
                tensors=False,
                voids=True,
                per_point=base.per_point + extra + field / base.points,
                points=base.points,
            )
        )
    if estimates:
        check_budget(
            min(estimates, key=lambda e: e.bytes), limit, "solve_conductivity_bvp", source=origin
        )
