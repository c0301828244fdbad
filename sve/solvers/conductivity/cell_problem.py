"""Load cases of the conductivity cell problem under each boundary condition (private).

One driver for both discretizations: a grid object (``Q1Grid`` or
``FVGrid``) applies the operator and averages fluxes; this module chooses
the unknowns, the loads and the preconditioner of every boundary condition,
runs conjugate gradients and turns the solutions into the apparent tensor.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from sve.solvers._core.clusters import Clusters, find_clusters, projector
from sve.solvers._core.pcg import FREE_FROM, pcg, pcg_energy, pcg_free, vector_ops_for
from sve.solvers._core.pcg_kernels import dot, half_dot
from sve.solvers._core.refinement import Work, pcg_refined
from sve.solvers._core.transforms import preconditioner
from sve.solvers.conductivity.fv import FVGrid, Phases
from sve.solvers.conductivity.fv_multigrid import fv_multigrid
from sve.solvers.conductivity.q1 import Q1Grid, TensorQ1Grid
from sve.solvers.conductivity.q1_multigrid import FINE_DTYPE, SLABS_FROM, multigrid

# b . M^-1 b below this fraction of the energy of the affine field is round-off: the affine
# field already solves the problem (homogeneous medium, laminate along its layers).
_ROUND_OFF_ENERGY = (1e3 * np.finfo(float).eps) ** 2
# A load vector Q outside the compatible subspace of a static problem: relative size of the
# net load per cluster; exact loads are multiples of the face area of a node over 2**(d-1)
# (face node weights), a product of d - 1 voxel edges.
_INCOMPATIBLE = 1e-8
# Entries of the float64 buffer in which `_solve_free` widens a kept float16 force.
_WIDEN = 1 << 16


@dataclass(frozen=True)
class Tensors:
    """Conductivity tensors of an image: one material index per voxel into a stack.

    Attributes
    ----------
    material : ndarray of the image shape, int32
        Index of every voxel into `tensors`.
    tensors : ndarray of shape (n, d, d), float64
        Symmetric tensors, positive definite or zero (a void). For finite
        volumes they are diagonal.
    reference : float
        Conductivity of the isotropic reference medium of the preconditioner.
    """

    material: np.ndarray
    tensors: np.ndarray
    reference: float


def _grid(k, kinds, spacing, discretization, tensors: Tensors | None):
    """The operator of `discretization` on the image, scalar or tensor conductivities."""
    if discretization == "fv":  # tensors are diagonal here: K_aa across faces normal to a
        along = None
        if tensors is not None:
            along = tuple(
                np.ascontiguousarray(tensors.tensors[:, a, a][tensors.material])
                for a in range(k.ndim)
            )
        return FVGrid(k, kinds, spacing, along=along)
    if tensors is None:
        return Q1Grid(k, kinds, spacing)
    return TensorQ1Grid(k, kinds, spacing, tensors.material, tensors.tensors)


@dataclass
class Solution:
    """Raw outcome of the load cases of one call."""

    tensor: np.ndarray
    iterations: list[int]
    residuals: list[float]
    hill_mandel_defect: float
    percolating: tuple[bool, ...]
    notes: list[str] = field(default_factory=list)
    # stop="tensor": estimated relative energy error per load case, and the bound it gives on
    # every entry of `tensor` (its units); NaN under the residual rule.
    errors: list[float] = field(default_factory=list)
    tensor_error: float = float("nan")


class _Solver:
    """PCG on one grid with the transform (or multigrid) preconditioner and the void projection.

    `clusters` are given where the clusters float (periodic and static conditions) and None
    where no projection is needed (no voids, or the dead clusters made void: see
    ``load_case_solver``).
    """

    def __init__(
        self,
        grid,
        clusters: Clusters | None,
        *,
        tol: float,
        maxiter: int,
        reference: float | None = None,
        use_multigrid: bool = False,
        precision: str = "double",
    ) -> None:
        self.grid = grid
        self.single = precision == "single"
        self.multigrid = use_multigrid
        self.tol = tol
        self.maxiter = maxiter
        if reference is None:
            reference = float(grid.k.mean())
        if use_multigrid and grid.discretization == "fv":  # kinematic, mixed: fv_multigrid.py
            self._apply_inverse = fv_multigrid(grid)
        elif use_multigrid:  # Q1, scalar k: the W-cycle of q1_multigrid.py
            voids = not grid.k.min() > 0.0  # an array, or Phases
            # float32 coarse vectors in 3-D: same iterations as float64 at 32^3 and 48^3 up to
            # contrast 1e4; in 2-D up to 15 % more at 96^2, contrast 1e4 (float64 kept there)
            dtype = np.float32 if self.single or grid.k.ndim == 3 else np.float64
            fine = np.float64 if self.single else FINE_DTYPE  # float32 r: no v_cycle_single
            self._apply_inverse = multigrid(
                grid.k, grid.spacing, grid.kinds, voids=voids, dtype=dtype, fine_dtype=fine
            )
        else:  # Single precision transforms: the preconditioner need only be a good SPD
            # approximation, and they move half the bytes (see ``preconditioner``).
            # The transforms run in the memory of `out` (z), the fixed nodes of a Dirichlet
            # axis left out by `free` and set to zero there: no buffer, no symbol array.
            self._apply_inverse = preconditioner(
                grid.discretization,
                grid.kinds,
                grid.k.shape,
                grid.spacing,
                reference,
                dtype=np.float32,
                free=grid.free,
            )
        # A p of the conjugate gradient by the plane-wise operator (`_apply`): small 3-D
        # multigrid solves in double precision, scalar k (docs/solver_notes.rst, seventh round)
        self._planes = (
            use_multigrid
            and not self.single
            and grid.discretization == "q1"
            and not isinstance(grid, TensorQ1Grid)  # (multigrid is scalar: never)
            and grid.k.ndim == 3
            and math.prod(grid.shape) < SLABS_FROM
        )
        self.project = None
        if clusters is not None:  # periodic and static: no Dirichlet face, every cluster floats
            self.project = projector(clusters.labels, clusters.floating(()))
        self._room = None
        if self.single:  # float32 r, z and q, p; a float64 scratch over z and p
            # z is followed by room for the half spectrum of the periodic transforms
            rows = int(np.prod(grid.shape[:-1]))
            self.refinement = Work(grid.shape, room=0 if use_multigrid else 2 * rows)
            self.scratch = self.refinement.scratch
            self._room = None if use_multigrid else self.refinement.room
        else:  # r (which takes the load: ``load``), z and q, p: see ``_pcg._iterations``
            self.work = tuple(np.empty(grid.shape) for _ in range(3))
            self.scratch = self.work[1]  # free after a solve: the forces of Hill-Mandel

    def spare(self) -> np.ndarray:
        """A vector of the solve that is free once it ended (the residual's), not `scratch`."""
        return self.refinement.r if self.single else self.work[0]

    def load(self) -> np.ndarray:
        """The array to write a load into before `solve` (the residual's: no field more)."""
        return self.work[0]

    def constrain(self, x: np.ndarray) -> None:
        """Zero the fixed and empty unknowns, remove floating-cluster means."""
        self.grid.zero_fixed(x)
        if self.project is not None:
            self.project(x)

    def precondition(self, r: np.ndarray, out: np.ndarray) -> None:
        if self._room is not None and out is self.refinement.z:
            self._apply_inverse(r, out, self._room)
        else:  # multigrid: every unknown, the cycle leaves the fixed nodes at zero
            self._apply_inverse(r, out)
        if self.project is not None:
            self.project(out)

    def solve(self, load: np.ndarray, out: np.ndarray, floor: float) -> tuple[int, float]:
        """Solve ``A out = load`` (`load` already constrained, overwritten if it is `load()`)
        to the relative residual `tol`.
        """
        return pcg(self._apply, self.precondition, load, out, **self._options(floor))

    def solve_refined(self, residual, out: np.ndarray, floor: float) -> tuple[int, float]:
        """``precision="single"``: solve for `out` (float64) with float32 conjugate
        gradients and the float64 residual ``residual(x, r)`` (``b - A x``, constrained) of
        every round (``_core/refinement.py``).
        """
        return pcg_refined(
            self._apply,
            self.precondition,
            residual,
            out,
            tol=self.tol,
            maxiter=self.maxiter,
            work=self.refinement,
            floor=floor,
        )

    def solve_energy(
        self, load: np.ndarray, out: np.ndarray, floor: float, energy
    ) -> tuple[int, float, float]:
        """Solve ``A out = load`` until the estimated relative error of ``energy(out . A out)``
        (the apparent energy times the volume) is at most `tol`; see ``pcg_energy``.
        """
        options = self._options(floor)
        return pcg_energy(self._apply, self.precondition, load, out, energy=energy, **options)

    def _apply(self, p: np.ndarray, q: np.ndarray) -> None:
        if self._planes:
            self.grid.flux_planes(p, q)
        else:
            self.grid.flux(p, np.zeros(self.grid.k.ndim), q)

    def _options(self, floor: float) -> dict:
        ops = vector_ops_for(self.work[0].size)  # threaded on large images (the same bits)
        return dict(tol=self.tol, maxiter=self.maxiter, work=self.work, floor=floor,
                    vector_ops=ops)  # fmt: skip


def _kinds(bc: str, ndim: int, axis: int) -> tuple[str, ...]:
    if bc == "periodic":
        return ("periodic",) * ndim
    if bc == "kinematic":
        return ("dirichlet",) * ndim
    if bc == "static":
        return ("neumann",) * ndim
    return tuple("dirichlet" if a == axis else "neumann" for a in range(ndim))


def solve_cell(
    k: np.ndarray,
    *,
    bc: str,
    discretization: str,
    spacing: np.ndarray,
    tol: float,
    maxiter: int,
    tensors: Tensors | None = None,
    use_multigrid: bool = False,
    stop: str = "residual",
    collector=None,
    precision: str = "double",
) -> Solution:
    """Solve the d load cases of `bc` and return the apparent tensor.

    `spacing` holds the voxel edges per axis, float64 (d,). `k` holds the voxel
    conductivities, or with `tensors` a scalar stand-in per voxel (> 0 where it
    conducts, 0 for a void: its mean scales the round-off floor). See
    ``apparent_conductivity`` for the meaning of every boundary condition.
    `use_multigrid` replaces the transform preconditioner by a multigrid cycle (Q1
    scalar problems, ``q1_multigrid.supported``; kinematic and mixed finite volumes,
    ``conductivity/fv_multigrid.py``).
    ``stop="tensor"`` stops every load case on the estimated error of its apparent energy
    and returns the energy form of the tensor (see ``apparent_conductivity``).
    `collector` (``conductivity/fields.py``), when given, takes every load case's solution
    for the local fields.
    ``precision="single"`` runs float32 conjugate gradients with float64 residuals
    (``_core/refinement.py``, ``stop="residual"`` only) and keeps the solutions of the load
    cases, between their solve and the Hill-Mandel defect, in float32.
    """
    ndim = k.ndim
    periodic = bc == "periodic"
    clusters = None
    percolating = (True,) * ndim
    notes = []
    if k.min() <= 0.0:  # an array, or Phases with a void phase
        conducting = k.conducting() if isinstance(k, Phases) else k
        clusters = find_clusters(conducting, periodic=periodic, discretization=discretization)
        conducting = None
        percolating = clusters.percolating(periodic)
        floating = int(np.count_nonzero(clusters.floating(_dirichlet_axes(bc, ndim))))
        handling = (
            "made void: they carry no flux"
            if bc in ("kinematic", "mixed")
            else "their means are projected out of the iterates"
        )
        notes.append(
            f"voids: {clusters.count} conducting cluster(s), {floating} of them floating "
            f"({handling})"
        )
        if bc in ("kinematic", "mixed"):  # one byte per voxel instead of the labels
            clusters = Carriers.of(clusters, bc, k.shape)
    options = dict(
        spacing=spacing,
        tol=tol,
        maxiter=maxiter,
        tensors=tensors,
        use_multigrid=use_multigrid,
        stop=stop,
        collector=collector,
        precision=precision,
    )
    if bc == "static":
        solution = _static(k, clusters, **options)
    else:
        solution = _affine(
            k, clusters, percolating, bc=bc, discretization=discretization, **options
        )
    solution.percolating = percolating
    solution.notes = notes + solution.notes
    return solution


def _dirichlet_axes(bc: str, ndim: int) -> tuple[int, ...]:
    """Axes whose faces hold a cluster (for counting floating clusters; mixed: any)."""
    return tuple(range(ndim)) if bc in ("kinematic", "mixed") else ()


def load_case_solver(
    k,
    clusters,
    *,
    bc,
    axis,
    discretization,
    spacing,
    tol,
    maxiter,
    tensors,
    use_multigrid,
    precision="double",
) -> _Solver:
    """The solver of load case `axis` (gradient along it) of a periodic, kinematic or
    mixed condition; one solver serves every case of the periodic and kinematic ones.

    `clusters` are the image's `Clusters` with voids (or, kinematic and mixed, their
    `Carriers`), None without. Under Dirichlet conditions the clusters that carry no
    flux are made void first (``Carriers``): their temperature is constant in the exact
    solution, so the tensor does not change, and what remains has no null
    space. The solver then needs no projection: the void unknowns have empty
    rows and a zero load, so the residual stays zero on them and they enter
    no flux; conjugate gradients on the conducting unknowns are the same
    with or without them (the nonzero spectrum of ``M^-1 A`` is that of the
    preconditioner restricted to the conducting unknowns).
    """
    kinds = _kinds(bc, k.ndim, axis)
    if clusters is not None and bc != "periodic":
        if isinstance(clusters, Clusters):
            clusters = Carriers.of(clusters, bc, k.shape)
        k, tensors = _voided(k, clusters, axis, tensors)
        clusters = None
    grid = _grid(k, kinds, spacing, discretization, tensors)
    return _Solver(
        grid,
        clusters,
        tol=tol,
        maxiter=maxiter,
        reference=None if tensors is None else tensors.reference,
        use_multigrid=use_multigrid,
        precision=precision,
    )


def _carrying(clusters: Clusters, bc: str, axis: int) -> np.ndarray:
    """Per cluster, whether it can carry flux under `bc` (kinematic or mixed along `axis`).

    Kinematic: a cluster that touches a face, where the temperature is ``E . x``.
    Mixed: a cluster that joins the two faces normal to `axis`; one touching a
    single face holds the constant temperature of that face, one touching none
    a constant of its own.
    """
    if bc == "mixed":
        return clusters.low[:, axis] & clusters.high[:, axis]
    return (clusters.low | clusters.high).any(axis=1)


@dataclass(frozen=True)
class Carriers:
    """Under kinematic and mixed conditions, which voxels carry flux in which load case.

    Attributes
    ----------
    bits : ndarray of the image shape, uint8
        Bit ``a`` is set where the voxel's cluster (Q1: the cluster of its first node)
        carries flux in load case ``a`` (``_carrying``), and every bit where it has no
        cluster. A void stays void whatever its bits. One byte per voxel: the clusters'
        labels (4) are not kept through the solve.
    """

    bits: np.ndarray

    @classmethod
    def of(cls, clusters: Clusters, bc: str, shape: tuple[int, ...]) -> Carriers:
        """The carriers of the voxels of `shape` in `clusters` under `bc`."""
        table = np.zeros(clusters.count + 1, np.uint8)
        table[-1] = 0xFF  # label -1: no cluster
        for axis in range(len(shape)):
            table[:-1] |= _carrying(clusters, bc, axis).astype(np.uint8) << axis
        corner = clusters.labels[tuple(slice(0, n) for n in shape)]  # Q1: the first node
        return cls(table[corner])


def _voided(k, carriers: Carriers, axis: int, tensors: Tensors | None):
    """`k` and `tensors` with the voxels that carry no flux in load case `axis` made void
    (`k` an array, or Phases: those voxels take its void phase).
    """
    dead = (carriers.bits & np.uint8(1 << axis)) == 0
    if not dead.any():
        return k, tensors
    if isinstance(k, Phases):
        labels = k.labels.astype(np.min_scalar_type(len(k.table) - 1))  # a copy (uint8)
        labels[dead] = np.flatnonzero(k.table <= 0.0)[0]
        k = Phases.of(labels, k.table)
    else:
        k = np.where(dead, 0.0, k)
    if tensors is not None:  # one zero tensor more, for the dead voxels
        material = np.where(dead, tensors.tensors.shape[0], tensors.material).astype(np.int32)
        stack = np.concatenate([tensors.tensors, np.zeros((1,) + tensors.tensors.shape[1:])])
        tensors = Tensors(material, stack, tensors.reference)
    return k, tensors


def _affine(
    k,
    clusters,
    percolating,
    *,
    bc,
    discretization,
    spacing,
    tol,
    maxiter,
    tensors,
    use_multigrid,
    stop,
    collector=None,
    precision="double",
) -> Solution:
    """Periodic, kinematic and mixed conditions: ``T = E . x + u``, ``u`` periodic or zero
    on the Dirichlet faces; column ``j`` of the tensor is ``<q>`` for ``E = e_j``.

    With ``stop="tensor"`` the tensor is the energy form ``W_ij = <q_j . g_i>`` instead,
    ``<q>`` plus the Hill-Mandel gap: for conjugate-gradient iterates its error is the Gram
    matrix ``e_i . A e_j / V`` of the energy errors (``e_j = u*_j - u_j``), and each case
    ``j`` stops when the estimate of ``e_j . A e_j`` is at most ``tol V W_jj``.
    """
    ndim = k.ndim
    mixed = bc == "mixed"
    periodic = bc == "periodic"
    volume = k.size * float(np.prod(spacing))
    tensor = np.full((ndim, ndim), np.nan) if mixed else np.zeros((ndim, ndim))
    iterations = [0] * ndim
    residuals = [0.0] * ndim
    errors = [0.0 if stop == "tensor" else np.nan] * ndim
    notes = []
    forces = {}  # j -> (force of case j in float16 and its scale, <k grad u_j>): ``_cross_terms``
    gap = np.zeros((ndim, ndim))
    solver = None
    floor = _ROUND_OFF_ENERGY * float(k.mean()) * volume
    for j in range(ndim):
        if bc in ("periodic", "mixed") and not percolating[j]:
            tensor[j, j] = 0.0
            notes.append(
                f"no conducting path along axis {j}: the apparent conductivity along it is 0"
            )
            continue
        if solver is None or mixed:
            # mixed: the previous case's operator and scratch go before the next are made
            solver = u = grid = load = force = None
            solver = load_case_solver(
                k,
                clusters,
                bc=bc,
                axis=j,
                discretization=discretization,
                spacing=spacing,
                tol=tol,
                maxiter=maxiter,
                tensors=tensors,
                use_multigrid=use_multigrid,
                precision=precision,
            )
        grid = solver.grid
        gradient = np.eye(ndim)[j]
        if _keeps_no_solution(solver, stop, collector):  # the same quantities, no u
            keep = not mixed and any(percolating[i] or not periodic for i in range(j + 1, ndim))
            iterations[j], residuals[j], flux = _solve_free(
                solver, gradient, floor, {} if mixed else forces, gap, volume, keep
            )
            if mixed:
                tensor[j, j] = flux[j]
            else:
                tensor[:, j] = flux
            continue
        u = np.empty(grid.shape)
        if solver.single:  # the residual of u: -A (u + E . x), constrained, in float64

            def residual(x, out, grid=grid, gradient=gradient, solver=solver):
                grid.flux(x, gradient, out)
                np.negative(out, out=out)
                solver.constrain(out)

            iterations[j], residuals[j] = solver.solve_refined(residual, u, floor)
            residual = None  # it holds the solver, whose arrays go before the next case's
        else:
            load = solver.load()
            u[...] = 0.0  # the fluctuation of the affine field, in the solution's array
            grid.flux(u, gradient, load)
            np.negative(load, out=load)
            solver.constrain(load)
            if stop == "tensor":  # V E . K E at a CG iterate of energy s: V <E . k E> - s
                affine = volume * float(grid.mean_flux(u, gradient)[j])  # u = 0 still
                iterations[j], residuals[j], errors[j] = solver.solve_energy(
                    load, u, floor, lambda s, affine=affine: affine - s
                )
            else:
                iterations[j], residuals[j] = solver.solve(load, u, floor)
        if not mixed and hasattr(grid, "mean_fluxes"):  # with the mean below, in one pass
            flux, mean = grid.mean_fluxes(u, gradient)
        else:
            flux = grid.mean_flux(u, gradient)
            mean = None if mixed else grid.mean_flux(u, np.zeros(ndim))
        if collector is not None:
            collector.record(j, grid, u, gradient)
        if mixed:
            tensor[j, j] = flux[j]
        else:
            tensor[:, j] = flux
        force = solver.scratch  # the scratch of the solve, free again (float64)
        grid.flux(u, gradient, force)  # minus the true residual, zero on fixed nodes
        solver.constrain(force)
        gap[j, j] = dot(u.reshape(-1), force.reshape(-1)) / volume
        if not mixed:  # the cross terms with the cases before, from their kept forces
            _cross_terms(gap, j, u, mean, forces, volume, solver.spare())
            if any(percolating[i] or not periodic for i in range(j + 1, ndim)):
                kept = kept_force(force, tensor=stop == "tensor")
                forces[j] = (kept, forces[j][1])  # a later case's
        u = force = None
    if stop == "tensor":  # the energy form <q_j . g_i> = <q_j> . e_i + gap[i, j]
        tensor += gap  # mixed: gap is diagonal, the NaN stay
    if periodic:
        closed = [j for j in range(ndim) if not percolating[j]]
        tensor[closed, :] = 0.0  # <q_j> = 0 whatever E when no cluster wraps along j
        tensor[:, closed] = 0.0
    scale = np.linalg.norm(np.nan_to_num(tensor))
    defect = float(np.linalg.norm(gap) / scale) if scale > 0 else 0.0
    tensor_error = np.nan
    if stop == "tensor":  # |W_ij - W*_ij| <= sqrt(eps_i eps_j) (Cauchy-Schwarz), eps_j the
        tensor_error = max(errors[j] * tensor[j, j] for j in range(ndim))  # energy error / V
    return Solution(
        tensor, iterations, residuals, defect, percolating, notes, errors, float(tensor_error)
    )


def _keeps_no_solution(solver: _Solver, stop: str, collector, single: bool = False) -> bool:
    """Whether a load case of `solver` runs `_solve_free`: Q1 multigrid, double precision,
    the residual rule, no local fields, at least `FREE_FROM` unknowns. With `single`,
    whether the static cases in single precision keep forces instead of temperatures
    (`_static_forces`): the same, but single precision.
    """
    return (
        solver.multigrid
        and solver.single == single
        and stop == "residual"
        and collector is None
        and solver.grid.discretization == "q1"
        and not isinstance(solver.grid, TensorQ1Grid)  # (multigrid is scalar: never)
        and int(np.prod(solver.grid.shape)) >= FREE_FROM
    )


def _free_pcg(solver: _Solver, r, floor, halves, flux: bool):
    """Conjugate gradients from ``x = 0`` on the constrained load in `r` (``pcg_free``: the
    solution is not formed), accumulating while each direction ``p_k`` is alive the mean
    ``sum_k alpha_k <k grad p_k>`` (`flux`; else ``<grad p_k>``) and, per kept float16
    force ``half`` in `halves`, ``sum_k alpha_k p_k . half`` (widened exactly in a buffer).
    On return `r` holds the force ``A x - b`` (minus the recursive residual), constrained.
    Returns ``(iterations, residual, mean, cross)``.
    """
    grid = solver.grid
    mean = np.zeros(len(grid.shape))
    cross = np.zeros(len(halves))
    buffer = np.empty(min(_WIDEN, r.size))

    def observe(p: np.ndarray, alpha: float) -> None:
        mean[...] += alpha * grid.direction_mean(p, flux=flux)
        for n, half in enumerate(halves):
            cross[n] += alpha * half_dot(p.reshape(-1), half.reshape(-1), buffer)

    options = solver._options(floor)
    iterations, residual = pcg_free(
        solver._apply, solver.precondition, r, observe=observe, **options
    )
    np.negative(r, out=r)
    solver.constrain(r)
    return iterations, residual, mean, cross


def _solve_free(solver: _Solver, gradient, floor, forces, gap, volume, keep):
    """Solve the load case of the affine `gradient` (``e_j``) without its solution ``u``.

    Conjugate gradients from ``u = 0`` build ``u = sum_k alpha_k p_k`` (``pcg_free``), so
    every linear functional of ``u`` is the sum of ``alpha_k`` times its value at ``p_k``.
    Accumulated while ``p_k`` is alive:

    * the mean flux ``<k grad u> = sum_k alpha_k <k grad p_k>`` (``direction_mean`` of
      each direction, a pass over the voxels per iteration): column ``j`` of the tensor is
      ``<k> e_j + <k grad u>``;
    * the Hill-Mandel cross terms ``u . f_i = sum_k alpha_k p_k . f_i`` with the kept
      float16 force ``f_i`` of every case ``i`` in `forces` (``_cross_terms``, the same
      formulas).

    The force of this case, ``f_j = A (u + e_j . x) = -(b - A u)``, is minus the final
    recursive residual (constrained), where the kept-solution path forms the true residual
    from ``u``: they differ by the rounding of the recurrence (the residual gap). The
    diagonal of the gap, ``-u . r / V``, is 0 in exact arithmetic (the residual is
    orthogonal to the Krylov space holding ``u``) and is only a rounding error there
    (1e-17 to 1e-13 of the tensor at ``tol = 1e-8``, mixed conditions); it is taken as 0.
    With `keep` the force of this case is kept (`kept_force`) for the cases after it.

    Returns ``(iterations, residual, flux)``, `flux` the mean flux ``<k grad(u + e_j . x)>``
    (shape (d,)); `gap` (row and column ``j``) and `forces` are updated in place.
    """
    grid = solver.grid
    r, z, _ = solver.work
    z[...] = 0.0
    grid.flux(z, gradient, r)  # the load -A (e_j . x), in the residual's array
    np.negative(r, out=r)
    solver.constrain(r)
    affine = grid.mean_flux(z, gradient)  # <k> e_j (z = 0 still)
    earlier = list(forces.items())
    iterations, residual, mean, cross = _free_pcg(
        solver, r, floor, [half for _, ((half, _), _) in earlier], flux=True
    )
    j = int(np.argmax(gradient))
    gap[j, j] = 0.0
    for n, (i, ((_, scale), before)) in enumerate(earlier):
        gap[j, i] = cross[n] * scale / volume
        gap[i, j] = gap[j, i] + before[j] - mean[i]
    forces[j] = (kept_force(r) if keep else None, mean.copy())
    return iterations, residual, affine + mean


def _static_free(solver: _Solver, load, flux, forces, gap, keep):
    """Solve the static load case of the boundary flux `flux` without its temperature ``T``
    (``pcg_free``; see `_solve_free`): its mean gradient ``<grad T> = sum_k alpha_k <grad
    p_k>`` and ``T . f_a = sum_k alpha_k p_k . f_a`` with the kept float16 force ``f_a``
    (``A T_a - l_a``, minus the recursive residual) of every case ``a`` before in `forces`,
    written to ``gap[b, a]`` (not yet divided by the volume; ``b = len(forces)``). The
    diagonal ``T_b . f_b`` is 0 in exact arithmetic and left 0. With `keep` this case's
    force is kept for the cases after it. Returns ``(iterations, residual, <grad T>)``.
    """
    r = solver.work[0]
    load(flux, r)
    solver.constrain(r)
    earlier = list(forces.items())
    iterations, residual, mean, cross = _free_pcg(
        solver, r, 0.0, [half for _, (half, _) in earlier], flux=False
    )
    b = len(earlier)
    for n, (a, (_, scale)) in enumerate(earlier):
        gap[b, a] = cross[n] * scale
    forces[b] = kept_force(r) if keep else (None, 1.0)
    return iterations, residual, mean


def _static_forces(solver: _Solver, temperature, flux, forces, gap, keep):
    """Single precision, static: the Hill-Mandel terms of the temperature ``T_b`` just
    solved (float64, `temperature`) with the cases before, and its force kept instead of
    the temperature. The force ``f_b = A T_b - l_b`` (minus the true residual) is made in
    the float64 scratch of the solve; ``gap[b, a] = T_b . f_a`` with the kept float16
    force of every case ``a`` in `forces`, ``gap[b, b] = T_b . f_b`` (not yet divided by
    the volume); ``gap[a, b]`` follows in `_static` from the symmetry identity. With
    `keep` the force is kept (`kept_force`) for the cases after it.
    """
    grid = solver.grid
    force = solver.scratch  # float64, free after the solve
    grid.flux(temperature, np.zeros(flux.size), force)
    grid.boundary_load(-flux, force, add=True)
    solver.constrain(force)
    t = temperature.reshape(-1)
    buffer = np.empty(min(_WIDEN, t.size))
    b = len(forces)
    for a, (half, scale) in forces.items():
        gap[b, a] = half_dot(t, half.reshape(-1), buffer) * scale
    gap[b, b] = dot(t, force.reshape(-1))
    forces[b] = kept_force(force) if keep else (None, 1.0)


def kept_force(force: np.ndarray, tensor: bool = False) -> tuple[np.ndarray, float]:
    """``(force / s, s)``, the first in float16, ``s`` the power of 2 just above the largest
    magnitude of `force` (the float16 values lie in ``(-1, 1)``, where float16 keeps 11 bits
    of every value above ``6e-5`` and an absolute ``3e-8`` below; the scaling is exact).
    Made by a buffered ufunc: no float64 temporary of the image.

    With `tensor` (``stop="tensor"``, where the cross terms enter the tensor, whose excess
    over the exact one is the Gram matrix of the energy errors, positive semi-definite to
    round-off) ``(force in float32, 1.0)``: float16 would move the small off-diagonal
    excess by more than the diagonal one.
    """
    if tensor:
        return force.astype(np.float32), 1.0
    peak = max(float(force.max()), -float(force.min())) if force.size else 0.0
    scale = 2.0 ** math.frexp(peak)[1] if peak > 0.0 and math.isfinite(peak) else 1.0
    half = np.empty(force.shape, dtype=np.float16)
    with np.errstate(over="ignore", invalid="ignore"):
        np.multiply(force, 1.0 / scale, out=half, casting="unsafe")
    return half, scale


def _cross_terms(gap, j, u, mean, forces, volume, spare) -> None:
    """The Hill-Mandel cross terms of case `j` with the cases ``i < j`` before it.

    ``gap[i, j] = u_i . f_j / V`` with ``f_j = A (u_j + e_j . x)`` (minus the true
    residual, constrained). Only the force of every case before is kept, in float16
    scaled by a power of 2 (`kept_force`: 2 bytes per unknown; float32 under
    ``stop="tensor"``), not its fluctuation:
    ``gap[j, i] = u_j . f_i / V`` directly, and, since ``A`` is symmetric on the
    constrained fluctuations,

        u_i . f_j - u_j . f_i = u_i . A (e_j . x) - u_j . A (e_i . x)
                              = V (<k grad u_i>_j - <k grad u_j>_i)

    (``u . A (e . x) = V <e . k grad u>`` for the element integrals), so ``gap[i, j]``
    follows from two flux averages. `mean` is ``<k grad u_j>`` (shape (d,)); `forces`
    maps every earlier case ``i`` to ``((f_i / s_i, s_i), <k grad u_i>)``, and
    case `j`'s mean is added to it here (the caller adds its force where a later case needs
    it). `spare` is a free float array of `u`'s size (a conjugate-gradient vector after the
    solve), where the float16 values are widened (exactly) for the dot product. The float16
    rounding of ``f_i`` (at most ``2**-12`` of each value of the small force, ``3e-8`` of
    its largest below ``6e-5`` of it) is the only change from keeping the fluctuations: a
    few ``1e-4`` of the cross terms at most (measured: ``docs/solver_notes.rst``); the
    diagonal of the gap is exact.
    """
    flat = u.reshape(-1)
    widened = spare.reshape(-1)[: flat.size]
    for i, ((half, scale), before) in forces.items():
        widened[...] = half.reshape(-1)
        gap[j, i] = dot(flat, widened) * scale / volume
        gap[i, j] = gap[j, i] + before[j] - mean[i]
    forces[j] = (None, mean)


def _static(
    k,
    clusters,
    *,
    spacing,
    tol,
    maxiter,
    tensors,
    use_multigrid,
    stop,
    collector=None,
    precision="double",
) -> Solution:
    """Uniform flux ``q . n = Q . n`` on the whole boundary (Q1 only).

    Solves ``A T = f(Q)`` with ``f = A_1 (Q . x)`` the nodal loads of the
    boundary flux, for ``Q`` in the subspace where every cluster receives no
    net load; the apparent resistivity there is ``R_ab = Q_a . <grad T_b>``
    and the conductivity is its inverse on the subspace, zero off it.

    Only the d temperatures outlive their solve: a load is made in the residual's
    array of the solver (``_Solver.load``) and again where it is needed (one
    application of ``A_1``, the cost of one iteration), and the forces of the
    Hill-Mandel defect are made one at a time in the scratch of the solves,
    d + 3 fields of the node grid at the peak.

    With ``stop="tensor"`` the resistivity is the energy form ``P_ab = (f_a . T_b + f_b . T_a
    - T_a . A T_b) / V``, ``R`` minus the Hill-Mandel gap: its error is minus the Gram matrix
    ``G_ab = e_a . A e_b / V`` of the energy errors, each case stops when the estimate of
    ``e_a . A e_a`` is at most ``tol V P_aa``, and the bound on the tensor ``C = B P^-1 B^T``
    is carried to first order: ``|dC_ij| <= s_i s_j``, ``s = |B P^-1| sqrt(diag G)``.
    """
    ndim = k.ndim
    grid = _grid(k, ("neumann",) * ndim, spacing, "q1", tensors)
    reference = None if tensors is None else tensors.reference
    solver = _Solver(
        grid,
        clusters,
        tol=tol,
        maxiter=maxiter,
        reference=reference,
        use_multigrid=use_multigrid,
        precision=precision,
    )

    def load(flux: np.ndarray, out: np.ndarray) -> np.ndarray:
        """``out = A_1 (flux . x)``, the nodal loads of the uniform boundary flux."""
        grid.boundary_load(flux, out)
        return out

    basis = np.eye(ndim)
    notes = []
    if clusters is not None:
        basis = _compatible_loads(load, clusters.labels, clusters.count, spacing, grid.shape)
        if basis.shape[1] < ndim:
            notes.append(
                "static: voids on the boundary (or clusters reaching one face only) cannot "
                f"carry a uniform flux; the apparent conductivity is 0 outside a subspace of "
                f"dimension {basis.shape[1]}"
            )
    cases = basis.shape[1]
    if collector is not None:
        collector.count = cases
    temperatures = []
    gradients = np.empty((ndim, cases))
    gap = np.zeros((cases, cases))
    iterations = [0] * ndim
    residuals = [0.0] * ndim
    errors = [0.0 if stop == "tensor" else np.nan] * ndim
    free = _keeps_no_solution(solver, stop, collector)  # no temperature kept: forces
    # single precision, the same sizes: each temperature's force, not the temperature
    by_force = _keeps_no_solution(solver, stop, collector, single=True)
    forces = {}
    for b in range(cases):
        if free:
            iterations[b], residuals[b], gradients[:, b] = _static_free(
                solver, load, basis[:, b], forces, gap, keep=b + 1 < cases
            )
            continue
        temperature = np.empty(grid.shape)
        if solver.single:  # the residual f - A T, constrained, in float64

            def residual(x, out, flux=basis[:, b]):
                grid.flux(x, np.zeros(ndim), out)
                np.negative(out, out=out)
                grid.boundary_load(flux, out, add=True)
                solver.constrain(out)

            iterations[b], residuals[b] = solver.solve_refined(residual, temperature, 0.0)
        elif stop == "tensor":  # V Q . R Q at a CG iterate of energy s is s (f . T = T . A T)
            f = load(basis[:, b], solver.load())
            solver.constrain(f)
            iterations[b], residuals[b], errors[b] = solver.solve_energy(
                f, temperature, 0.0, float
            )
        else:
            f = load(basis[:, b], solver.load())
            solver.constrain(f)
            iterations[b], residuals[b] = solver.solve(f, temperature, 0.0)
        gradients[:, b] = grid.mean_gradient(temperature)
        if by_force:
            _static_forces(solver, temperature, basis[:, b], forces, gap, keep=b + 1 < cases)
            temperature = None  # before the next case's is made
            continue
        if collector is not None:
            collector.record(b, grid, temperature, np.zeros(ndim), load=basis[:, b])
        temperatures.append(temperature.astype(np.float32) if solver.single else temperature)
        temperature = None
    resistivity = basis.T @ gradients
    tensor = np.zeros((ndim, ndim))
    tensor_error = np.nan if stop == "residual" else 0.0
    if cases and (free or by_force):  # T_a . f_b - T_b . f_a = T_b . l_a - T_a . l_b (A
        # symmetric), T . l_a = V Q_a . <grad T> (the divergence theorem on the Q1 field)
        for b in range(cases):
            for a in range(b):
                gap[a, b] = gap[b, a] + grid.volume * (resistivity[a, b] - resistivity[b, a])
        gap /= grid.volume
        defect = float(np.linalg.norm(gap) / np.linalg.norm(resistivity))
        tensor = basis @ np.linalg.inv(resistivity) @ basis.T
    elif cases:
        if solver.single:
            force = solver.scratch  # float64 over the float32 vectors, free again
        else:
            f, force = solver.work[1], solver.work[2]  # the scratch of the solves, free again
        for b in range(cases):  # the force of case b: A T_b - f_b, minus the true residual
            if solver.single:
                grid.flux(temperatures[b], np.zeros(ndim), force)
                grid.boundary_load(-basis[:, b], force, add=True)
            else:
                load(basis[:, b], f)
                solver.constrain(f)
                grid.flux(temperatures[b], np.zeros(ndim), force)
                force -= f
            solver.constrain(force)
            for a in range(cases):
                gap[a, b] = dot(temperatures[a].reshape(-1), force.reshape(-1))
        gap /= grid.volume
        defect = float(np.linalg.norm(gap) / np.linalg.norm(resistivity))
        if stop == "tensor":
            resistivity = resistivity - gap
        inverse = np.linalg.inv(resistivity)
        tensor = basis @ inverse @ basis.T
        if stop == "tensor":
            spread = np.abs(basis @ inverse) @ np.sqrt(
                np.array(errors[:cases]) * np.diag(resistivity)
            )
            tensor_error = float(np.max(spread) ** 2)
    else:
        defect = 0.0
    return Solution(
        tensor, iterations, residuals, defect, (True,) * ndim, notes, errors, tensor_error
    )


def _compatible_loads(load, labels, count, spacing, shape) -> np.ndarray:
    """Orthonormal basis (d, s) of the flux vectors that load no cluster with a net flux
    and put no load on a node that touches no conducting voxel.

    ``load(Q, out)`` writes the nodal loads of the uniform flux ``Q`` into `out` (an
    array of `shape`), made one axis at a time.
    """
    ndim = len(shape)
    flat = labels.reshape(-1)
    active = flat >= 0
    face = float(np.prod(spacing)) ** ((ndim - 1) / ndim)  # the scale of a face area
    rows = []
    f = np.empty(shape)
    for j in range(ndim):
        values = load(np.eye(ndim)[j], f).reshape(-1) / face
        rows.append(
            np.concatenate(
                [
                    np.bincount(flat[active], weights=values[active], minlength=count),
                    values[~active],
                ]
            )
        )
    net = np.array(rows)  # (d, clusters + empty nodes)
    squares, vectors = np.linalg.eigh(net @ net.T)  # ascending singular values squared
    return vectors[:, squares <= _INCOMPATIBLE**2].copy()
