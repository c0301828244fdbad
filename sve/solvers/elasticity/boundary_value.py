"""Boundary-value problems of linear elasticity on the voxel grid of a whole part.

The elastic counterpart of ``conductivity/boundary_value.py``: the Q1 operator,
reference-medium preconditioner and zero-energy modes of the elastic cell
solver (``elasticity/cell_problem.py``, ``voids.py``) on the node grid of the
whole image, with prescribed displacements (all or some components) on part
of the boundary, tractions on the rest and body forces.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike

from sve._validation import check_choice, check_integer, check_phases, check_real, check_spacing
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
from sve.solvers._core.memory import check_budget, memory_estimate, memory_limit_bytes
from sve.solvers._core.pcg import pcg
from sve.solvers.elasticity.apparent import _materials
from sve.solvers.elasticity.fft_preconditioner import rigid_modes
from sve.solvers.elasticity.q1 import (
    MANDEL_PAIRS,
    SQRT2,
    element_stiffness,
    mandel_size,
    sparse_hadamard,
)
from sve.solvers.elasticity.q1_kernels import sparse_force_2d, sparse_force_3d
from sve.solvers.elasticity.voids import zero_modes
from sve.solvers.moduli import isotropic_projection
from sve.solvers.result import ConvergenceError

_ON_FAILURE = ("raise", "flag")
# Work of a load on the zero-energy modes, relative to the load's norm, taken for round-off.
_INCOMPATIBLE = 1e-9
_CONFLICT = 1e-12


@dataclass(frozen=True)
class ElasticBoundaryValueResult:
    """Solution of `solve_elasticity_bvp`.

    Attributes
    ----------
    displacement : ndarray of shape (N0 + 1, ..., N_{d-1} + 1, d), float64
        Nodal displacement, node ``(i, j[, l])`` at ``(i h_0, j h_1[, l h_2])``;
        NaN on the nodes that touch no solid voxel.
    strain, stress : ndarray of shape (N0, ..., N_{d-1}, m), float64
        Voxel averages of the strain and of the stress ``C : strain``, Mandel
        vectors (``m = 3`` in 2-D: 00, 11, sqrt2 01; ``6`` in 3-D: 00, 11,
        22, sqrt2 12, sqrt2 02, sqrt2 01); strain NaN and stress 0 in voids.
    energy : float
        ``1/2 int strain : C : strain dV``, exact for the Q1 field.
    face_force : dict of str to ndarray (d,)
        Per face, the resultant ``int sigma . n dS``: prescribed tractions on
        free components, reactions on prescribed ones.
    body_total : ndarray (d,)
        ``int b dV``; balance: ``sum(face_force) + body_total = 0``.
    boundary_work, body_work : float
        ``int_boundary u . sigma n dS`` and ``int b . u dV``; their sum is
        ``2 energy`` (Clapeyron).
    spacing : tuple of float
    fixed : ndarray of the node shape + (d,), bool
        The prescribed degrees of freedom.
    iterations : int
    residual : float
    converged : bool
    notes : tuple of str
    wall_time : float
    """

    displacement: np.ndarray
    strain: np.ndarray
    stress: np.ndarray
    energy: float
    face_force: dict[str, np.ndarray]
    body_total: np.ndarray
    boundary_work: float
    body_work: float
    spacing: tuple[float, ...]
    fixed: np.ndarray
    iterations: int
    residual: float
    converged: bool
    notes: tuple[str, ...] = field(default_factory=tuple)
    wall_time: float = 0.0


def _components(name: str, data, points, shape, ndim):
    """Values (shape + (d,)) and a mask of the components given: a function of the
    coordinates returning (..., d), an array of shape + (d,), or a sequence of d entries
    (numbers, or None for a free component).
    """
    if callable(data) or isinstance(data, np.ndarray):
        values = nodal_values(name, data, points, shape + (ndim,))
        return values, np.ones(ndim, dtype=bool)
    if isinstance(data, Sequence) and not isinstance(data, str) and len(data) == ndim:
        given = np.array([entry is not None for entry in data])
        numbers = [0.0 if entry is None else entry for entry in data]
        values = np.stack([nodal_values(name, value, points, shape) for value in numbers], axis=-1)
        return values, given
    raise TypeError(
        f"{name} must be a function of the coordinates returning (..., {ndim}), an array of "
        f"the face's nodes + ({ndim},), or a sequence of {ndim} numbers (None: free), got "
        f"{data!r}"
    )


def _displacements(displacement, nodes, h, ndim):
    """Mask and values of the prescribed dofs (node shape + (d,))."""
    shape = nodes + (ndim,)
    fixed = np.zeros(shape, dtype=bool)
    values = np.zeros(shape)
    if displacement is None:
        return fixed, values, {}
    if isinstance(displacement, tuple):
        if len(displacement) != 2:
            raise ValueError("displacement as a tuple must be (mask, values) on the node grid")
        mask, given = (np.asarray(a) for a in displacement)
        if mask.dtype != np.bool_:
            raise TypeError(f"displacement mask must be a boolean array, got dtype {mask.dtype}")
        if mask.shape != shape:
            raise ValueError(f"displacement mask must have the shape {shape}, got {mask.shape}")
        given = nodal_values("displacement values", given, (), shape)
        fixed[...] = mask
        values[mask] = given[mask]
        return fixed, values, {}
    if not isinstance(displacement, Mapping):
        raise TypeError(
            "displacement must be a mapping of face name to data, or a (mask, values) tuple, "
            f"got {type(displacement).__name__}"
        )
    components = {}
    for face, data in displacement.items():
        targets = face_names(ndim) if face == "boundary" else (face,)
        for target in targets:
            axis, end = face_index(target, ndim)
            points, face_shape = face_points(nodes, h, axis, end)
            face_values, given = _components(
                f"displacement[{face!r}]", data, points, face_shape, ndim
            )
            index = face_slice(axis, end, ndim)
            for c in np.flatnonzero(given):
                already = fixed[index + (c,)]
                old = values[index + (c,)]
                new = face_values[..., c]
                scale = max(float(np.abs(new).max()), float(np.abs(old).max()), 1e-300)
                if (already & (np.abs(old - new) > _CONFLICT * scale)).any():
                    raise ValueError(
                        f"displacement: face {target!r} and another face give different "
                        f"values of component {c} on the nodes they share"
                    )
                values[index + (c,)] = new
                fixed[index + (c,)] = True
            components[target] = components.get(target, np.zeros(ndim, bool)) | given
    return fixed, values, components


def _traction_loads(traction, nodes, h, solid, ndim, components) -> dict[str, np.ndarray]:
    """Nodal loads ``int_face t N dS`` per traction face (node shape + (d,)), over the faces
    of solid voxels; `t` Q1-interpolated from its nodal values.
    """
    loads = {}
    if traction is None:
        return loads
    if not isinstance(traction, Mapping):
        raise TypeError(
            f"traction must be a mapping of face name to data, got {type(traction).__name__}"
        )
    for face, data in traction.items():
        axis, end = face_index(face, ndim)
        if components.get(face, np.zeros(ndim, bool)).all():
            raise ValueError(f"traction: every component of face {face!r} is prescribed")
        points, face_shape = face_points(nodes, h, axis, end)
        if isinstance(data, Sequence) and not isinstance(data, str):
            if len(data) != ndim or any(entry is None for entry in data):
                raise ValueError(f"traction[{face!r}] must hold {ndim} numbers, got {data!r}")
        values, _ = _components(f"traction[{face!r}]", data, points, face_shape, ndim)
        layer = solid[face_slice(axis, end, ndim)]
        others = np.array([h[a] for a in range(ndim) if a != axis])
        load = np.zeros(nodes + (ndim,))
        for c in range(ndim):
            load[face_slice(axis, end, ndim) + (c,)] = masked_mass(values[..., c], layer, others)
        loads[face] = load
    return loads


def _body_loads(body_force, nodes, h, solid, ndim) -> np.ndarray:
    """Nodal loads ``int b N dV`` over the solid voxels: `body_force` a constant vector,
    one vector per voxel, or a function of the node coordinates returning (..., d).
    """
    out = np.zeros(nodes + (ndim,))
    if body_force is None:
        return out
    shape = solid.shape
    if callable(body_force):
        grids = np.meshgrid(*(np.arange(n) * h[a] for a, n in enumerate(nodes)), indexing="ij")
        values = nodal_values("body_force", body_force, tuple(grids), nodes + (ndim,))
        for c in range(ndim):
            out[..., c] = masked_mass(np.ascontiguousarray(values[..., c]), solid, h)
        return out
    values = np.asarray(body_force)
    if values.dtype == np.bool_ or not np.issubdtype(values.dtype, np.number):
        raise TypeError(f"body_force must hold real numbers, got {body_force!r}")
    if values.shape == (ndim,):
        values = np.broadcast_to(values, shape + (ndim,))
    elif values.shape != shape + (ndim,):
        raise ValueError(
            f"body_force must be a vector ({ndim},), one per voxel {shape + (ndim,)} or a "
            f"function, got shape {values.shape}"
        )
    if not np.all(np.isfinite(values)):
        raise ValueError("body_force must be finite, got a non-finite value")
    return voxel_loads(values, solid, h, nodes)


def solve_elasticity_bvp(
    phases: ArrayLike,
    stiffness,
    *,
    displacement: Mapping[str, Data] | tuple[ArrayLike, ArrayLike] | None = None,
    traction: Mapping[str, Data] | None = None,
    body_force: Data | None = None,
    spacing: float | tuple[float, ...] | None = None,
    tol: float = 1e-8,
    maxiter: int = 5000,
    on_failure: str = "raise",
    memory_limit: int | str | None = None,
) -> ElasticBoundaryValueResult:
    r"""Solve a linear elastic boundary-value problem on the voxels of a part.

    Finds ``u`` with ``-div(C : grad u) = b`` in the part, prescribed
    components of ``u`` on part of the boundary and the traction ``sigma . n
    = t`` on the rest (outward normal ``n``; faces without data are free),
    with the Q1 voxel elements of `sve.apparent_stiffness`.

    Parameters
    ----------
    phases : array_like of shape (N0, N1) or (N0, N1, N2), integer, or Microstructure
        Phase labels; the part is the box of the voxels. 2-D is plane strain.
    stiffness : sequence or ndarray
        As in `sve.apparent_stiffness`: per label a mapping of isotropic
        moduli (``{"E": .., "nu": ..}``, ...) or a Mandel matrix, or one
        Mandel matrix per voxel; zero marks a void (a hole).
    displacement : mapping or (mask, values), optional
        Prescribed displacements. A mapping of face name (``"xmin"``,
        ``"xmax"``, ..., or ``"boundary"``) to a sequence of d entries
        (numbers, or None for a free component: ``(0.0, None)`` is a roller
        normal to x), an array of the face's nodes + (d,), or a function
        ``g(x, y[, z])`` of the node coordinates returning ``(..., d)``. Or a
        pair of arrays (mask, values) of the node shape + (d,): any set of
        degrees of freedom.
    traction : mapping, optional
        Prescribed traction ``sigma . n`` per face: a vector of d numbers, an
        array of the face's nodes + (d,), or a function of the coordinates
        returning ``(..., d)`` (Q1-interpolated). On a face with some
        prescribed components it acts on the others.
    body_force : vector, ndarray or callable, optional
        Force per unit volume: a constant vector (d,), one vector per voxel
        (shape of `phases` + (d,)), or a function of the node coordinates.
    spacing : float or sequence of float, optional
        Voxel edges per axis; default the Microstructure's, else 1.
    tol : float, default 1e-8
        Relative residual of conjugate gradients (preconditioner norm).
    maxiter : int, default 5000
    on_failure : {"raise", "flag"}, default "raise"
    memory_limit : int or str, optional
        As in `sve.apparent_stiffness`.

    Returns
    -------
    ElasticBoundaryValueResult

    Raises
    ------
    TypeError, ValueError
        For an invalid argument; for loads that do work on a zero-energy
        mode (a rigid motion left free by the displacement data, or of a
        floating part): no equilibrium exists.
    ConvergenceError
        If ``tol`` is not reached and ``on_failure="raise"``.
    MemoryBudgetError
        If the estimated peak memory exceeds the limit.

    Notes
    -----
    The loads are consistent (Q1 interpolants integrated exactly); ``u =
    u_D + w`` with ``w`` solving ``A_ff w_f = (f - A u_D)_f`` on the free
    degrees of freedom. The zero-energy modes left by the data (rigid
    motions, floating parts, hinges; ``elasticity/voids.py``) are projected
    out: the loads must do no work on them, and the displacement returned
    has no component along them. Conjugate gradients are preconditioned by
    the block-diagonal isotropic reference medium of the cell solver, each
    component with its own end conditions per face (held where the
    component is prescribed on the whole face: sine, cosine or quarter-wave
    sine transforms), with an additive coarse correction on the rigid
    motions when some prescribed components fill no whole face.
    ``face_force`` sums the nodal boundary terms ``A u - f_b`` over the
    face's nodes: the prescribed loads on free components, the
    reactions on prescribed ones (a component prescribed on two faces that
    share an edge has its reaction split evenly there).

    Examples
    --------
    A bar pulled along x on rollers: uniform stress, exact.

    >>> import numpy as np
    >>> result = solve_elasticity_bvp(
    ...     np.zeros((8, 4), dtype=np.int8),
    ...     [{"E": 1.0, "nu": 0.25}],
    ...     displacement={"xmin": (0.0, None), "ymin": (None, 0.0)},
    ...     traction={"xmax": (0.1, 0.0)},
    ... )
    >>> print(np.round(result.stress[0, 0], 6) + 0.0)  # Mandel: xx, yy, sqrt2 xy
    [0.1 0.  0. ]
    >>> print(np.round(result.face_force["xmin"], 6) + 0.0)
    [-0.4  0. ]
    """
    phases, spacing = labels_and_spacing(phases, spacing)
    start = time.perf_counter()
    phases = check_phases(phases)
    ndim = phases.ndim
    h = np.asarray(check_spacing(spacing, ndim), dtype=np.float64)
    tol = check_real(tol, "tol", 0.0, 1.0)
    maxiter = check_integer(maxiter, "maxiter", 1)
    on_failure = check_choice(on_failure, "on_failure", _ON_FAILURE)
    limit, origin = memory_limit_bytes(memory_limit, phases.shape)
    if limit is not None:
        estimate = memory_estimate(phases.shape, property="elasticity", bc="mixed", voids=True)
        check_budget(estimate, limit, "solve_elasticity_bvp", source=origin)
    material, stack = _materials(phases, stiffness)
    m = mandel_size(ndim)
    solid_material = np.any(stack != 0.0, axis=(1, 2))
    solid = solid_material[material]
    if not solid.any():
        raise ValueError("stiffness must be nonzero in at least one voxel, got zero everywhere")
    nodes = tuple(n + 1 for n in phases.shape)
    node_shape = nodes + (ndim,)
    ke = sparse_hadamard(element_stiffness(stack, h))
    kernel = sparse_force_2d if ndim == 2 else sparse_force_3d
    no_offset = np.zeros(2**ndim * ndim)

    def force(u: np.ndarray, out: np.ndarray) -> None:
        kernel(u, no_offset, material, *ke, out)

    fixed, prescribed, components = _displacements(displacement, nodes, h, ndim)
    tractions = _traction_loads(traction, nodes, h, solid, ndim, components)
    body = _body_loads(body_force, nodes, h, solid, ndim)
    load = body.copy()
    for face_load in tractions.values():
        load += face_load

    modes = zero_modes(solid, fixed, periodic=False, spacing=h)
    notes = []
    if modes.modes:
        notes.append(
            f"{modes.modes} zero-energy mode(s) left by the displacement data and the voids "
            "(rigid motions, floating parts, hinges): projected out"
        )
    free_load = np.where(fixed, 0.0, load)
    free_load[modes.empty] = 0.0
    work = np.abs(modes.components(free_load)[int(modes.empty.sum() * ndim) :])
    scale = float(np.linalg.norm(free_load)) or 1.0
    if work.size and work.max() > _INCOMPATIBLE * scale:
        raise ValueError(
            "the tractions and body forces do work on a zero-energy mode (a rigid motion "
            f"that the displacement data leave free, or a floating part; relative work "
            f"{work.max() / scale:.3g}): no equilibrium exists; prescribe more "
            "displacement components or balance the loads"
        )

    def constrain(x: np.ndarray) -> None:
        x[fixed] = 0.0
        modes.project(x)

    lift = np.where(fixed, prescribed, 0.0)
    lift[modes.empty] = 0.0
    b = np.empty(node_shape)
    force(lift, b)
    np.subtract(load, b, out=b)
    constrain(b)

    def held(a: int, end: int, c: int) -> bool:
        return bool(fixed[face_slice(a, end, ndim) + (c,)].all())

    lam0, mu0 = _reference(stack, material, solid_material, ndim)
    ends = [
        tuple(
            ("d" if held(a, 0, c) else "n") + ("d" if held(a, -1, c) else "n") for a in range(ndim)
        )
        for c in range(ndim)
    ]
    solvers = [
        reference_solver(ends[c], phases.shape, h, mu0 + (lam0 + mu0) * np.eye(ndim)[c])
        for c in range(ndim)
    ]
    component = np.empty(nodes)

    def inverse(r: np.ndarray, out: np.ndarray) -> None:
        for c in range(ndim):
            solvers[c](np.ascontiguousarray(r[..., c]), component)
            out[..., c] = component

    covered = np.zeros(node_shape, dtype=bool)
    for c in range(ndim):
        for a in range(ndim):
            for end in (0, -1):
                if held(a, end, c):
                    covered[face_slice(a, end, ndim) + (c,)] = True
    coarse = None
    if (fixed & ~covered).any() or not covered.any():
        coarse = _rigid_correction(nodes, h, force, constrain)

    def precondition(r: np.ndarray, out: np.ndarray) -> None:
        inverse(r, out)
        constrain(out)
        if coarse is not None:
            coarse(r, out)

    def apply(p: np.ndarray, out: np.ndarray) -> None:
        force(p, out)
        constrain(out)

    scratch = tuple(np.empty(node_shape) for _ in range(3))
    w = np.empty(node_shape)
    iterations, residual = pcg(apply, precondition, b, w, tol=tol, maxiter=maxiter, work=scratch)
    del scratch
    u = w
    u += lift
    reaction = np.empty(node_shape)
    force(u, reaction)
    reaction -= body
    reaction[modes.empty] = 0.0
    energy = 0.5 * float(np.dot(u.reshape(-1), (reaction + body).reshape(-1)))
    boundary_work = float(np.dot(u.reshape(-1), reaction.reshape(-1)))
    body_work = float(np.dot(u.reshape(-1), body.reshape(-1)))
    face_force = _face_forces(reaction, fixed, tractions, ndim)
    u[modes.empty] = np.nan
    gradient = np.stack([element_gradients(u[..., c], h) for c in range(ndim)], axis=-2)
    strain = np.empty(phases.shape + (m,))
    for k, (i, j) in enumerate(MANDEL_PAIRS[ndim]):
        value = 0.5 * (gradient[..., i, j] + gradient[..., j, i])
        strain[..., k] = value if i == j else SQRT2 * value
    stress = np.einsum("...kl,...l->...k", stack[material], np.nan_to_num(strain))
    strain[~solid] = np.nan
    stress[~solid] = 0.0
    converged = residual <= tol
    result = ElasticBoundaryValueResult(
        displacement=u,
        strain=strain,
        stress=stress,
        energy=energy,
        face_force=face_force,
        body_total=body.reshape(-1, ndim).sum(axis=0),
        boundary_work=boundary_work,
        body_work=body_work,
        spacing=tuple(float(x) for x in h),
        fixed=fixed,
        iterations=int(iterations),
        residual=float(residual),
        converged=bool(converged),
        notes=tuple(notes),
        wall_time=time.perf_counter() - start,
    )
    if not converged and on_failure == "raise":
        raise ConvergenceError(
            f"solve_elasticity_bvp did not converge: relative residual {residual:.3g} after "
            f"{iterations} iterations (tol={tol:g}, maxiter={maxiter}); raise maxiter or tol, "
            "or pass on_failure='flag' to get the unconverged result",
            result,
        )
    return result


def _reference(stack, material, solid_material, ndim) -> tuple[float, float]:
    """Lame constants of the isotropic reference medium (as the cell solver takes them)."""
    counts = np.bincount(material.reshape(-1), minlength=len(stack))
    present = solid_material & (counts > 0)
    projections = [isotropic_projection(c) for c in stack[present]]
    bulk = np.array([p.bulk_voigt for p in projections])
    shear = np.array([p.shear_voigt for p in projections])
    k0 = float(np.sqrt(bulk.min() * bulk.max()))
    mu0 = float(np.sqrt(shear.min() * shear.max()))
    return k0 - 2.0 * mu0 / ndim, mu0


def _rigid_correction(nodes, h, force, constrain):
    """``add(r, out)``: ``out += Z (Z^T A Z)^+ Z^T r`` on the rigid motions ``Z`` (made
    free of the prescribed dofs and of the zero-energy modes): the motions the reference
    medium of a grid with Neumann faces leaves in its null space.
    """
    basis = rigid_modes(nodes, h)
    columns = []
    for mode in basis:
        z = np.array(mode)
        constrain(z)
        columns.append(z.reshape(-1))
    z = np.array(columns).T
    az = np.empty_like(z)
    for k in range(z.shape[1]):
        force(z[:, k].reshape(basis.shape[1:]), az[:, k].reshape(basis.shape[1:]))
    gram = z.T @ az
    values, vectors = np.linalg.eigh(0.5 * (gram + gram.T))
    keep = values > 1e-12 * max(values.max(), 0.0)
    pseudo = (vectors[:, keep] / values[keep]) @ vectors[:, keep].T

    def add(r: np.ndarray, out: np.ndarray) -> None:
        out += (z @ (pseudo @ (z.T @ r.reshape(-1)))).reshape(out.shape)

    return add


def _face_forces(reaction, fixed, tractions, ndim) -> dict[str, np.ndarray]:
    """Resultant ``int sigma . n dS`` per face (see the Notes of `solve_elasticity_bvp`)."""
    rest = reaction.copy()
    for load in tractions.values():
        rest -= load
    faces = face_names(ndim)
    holds = {}
    sharing = np.zeros(reaction.shape)
    for face in faces:
        axis, end = face_index(face, ndim)
        index = face_slice(axis, end, ndim)
        inner = fixed[index][tuple(slice(1, -1) for _ in range(ndim - 1))]
        holds[face] = inner.reshape(-1, ndim).any(axis=0)  # per component
        sharing[index] += fixed[index] & holds[face]
    out = {}
    for face in faces:
        axis, end = face_index(face, ndim)
        index = face_slice(axis, end, ndim)
        total = np.zeros(ndim)
        if face in tractions:
            total += np.where(fixed[index], 0.0, tractions[face][index]).reshape(-1, ndim).sum(0)
        mask = fixed[index] & holds[face]
        share = np.where(mask, rest[index] / np.where(mask, sharing[index], 1.0), 0.0)
        total += share.reshape(-1, ndim).sum(axis=0)
        out[face] = total
    return out
