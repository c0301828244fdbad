"""The elastic cell problem of one image: operator, preconditioners, constraints and
load cases under every boundary condition, solved by preconditioned conjugate gradients
on Q1 voxel elements (private; the public wrapper is ``apparent.py``).
"""

from __future__ import annotations

import numpy as np

from sve.solvers._core.pcg import pcg
from sve.solvers._core.pcg_kernels import THREADED, dot
from sve.solvers._core.spacing import per_axis
from sve.solvers._core.threads import case_threads, run_cases
from sve.solvers.elasticity.fft_preconditioner import (
    bounded_preconditioner,
    periodic_preconditioner,
    rigid_modes,
)
from sve.solvers.elasticity.q1 import (
    affine_nodal,
    element_stiffness,
    mandel_basis,
    mandel_size,
    mean_strain_matrix,
    sparse_hadamard,
)
from sve.solvers.elasticity.q1_kernels import (
    mean_strain_stress_2d,
    mean_strain_stress_3d,
    sparse_force_2d,
    sparse_force_3d,
)
from sve.solvers.elasticity.q1_multigrid import multigrid
from sve.solvers.elasticity.voids import zero_modes
from sve.solvers.moduli import isotropic, isotropic_projection

# The shear loads of the mixed conditions: tangential displacements imposed on every face,
# normal tractions free (the complement of the normal loads' conditions).
MIXED_SHEAR = "mixed_shear"
# b . M^-1 b below this fraction of the energy of the affine field is round-off (as in
# the conductivity cell problem): the affine field already solves the problem.
_ROUND_OFF_ENERGY = (1e3 * np.finfo(float).eps) ** 2
# A load outside the compatible subspace of a static problem with voids: relative size of
# its force on empty nodes and its work on zero-energy modes (exact loads are multiples of
# the face area of a node over 2**(d-1), the face node weights).
_INCOMPATIBLE = 1e-8


def _to_full(mandel: np.ndarray) -> np.ndarray:
    """Full 4th-order tensor (d, d, d, d) of a Mandel matrix."""
    ndim = 2 if mandel.shape[0] == 3 else 3
    basis = mandel_basis(ndim)
    return np.einsum("Kij,KL,Lkl->ijkl", basis, mandel, basis)


class Problem:
    """Operator, preconditioners, constraints and load cases of one image."""

    def __init__(self, material, stack, spacing, tol, maxiter, bc, preconditioner="fft") -> None:
        self.material = material
        self.preconditioner = preconditioner  # "fft" or "multigrid" (periodic, no voids)
        self.stack = stack
        self.h = spacing = per_axis(spacing, material.ndim)  # voxel edges per axis
        self.tol = tol
        self.maxiter = maxiter
        self.ndim = ndim = material.ndim
        self.m = mandel_size(ndim)
        self.ke = sparse_hadamard(element_stiffness(stack, spacing))
        self.bbar = mean_strain_matrix(ndim, spacing)
        self._kernel = sparse_force_2d if ndim == 2 else sparse_force_3d
        self._means = mean_strain_stress_2d if ndim == 2 else mean_strain_stress_3d
        counts = np.bincount(material.reshape(-1), minlength=len(stack))
        self.mean_c = np.einsum("n,nij->ij", counts / material.size, stack)
        self.volume = material.size * float(np.prod(spacing))
        solid = np.any(stack != 0.0, axis=(1, 2))
        # Reference medium from the solid materials present (any, for an all-void image).
        present = solid & (counts > 0)
        projections = [isotropic_projection(c) for c in stack[present]] or [
            isotropic_projection(np.eye(self.m))
        ]
        bulk = np.array([p.bulk_voigt for p in projections])
        shear = np.array([p.shear_voigt for p in projections])
        self.k0 = float(np.sqrt(bulk.min() * bulk.max()))
        self.mu0 = float(np.sqrt(shear.min() * shear.max()))
        self.lam0 = self.k0 - 2.0 * self.mu0 / ndim
        self.floor = _ROUND_OFF_ENERGY * float(np.linalg.eigvalsh(self.mean_c).max()) * self.volume
        self.compliance = None
        self.notes = []
        #: Most load cases solved at once that the memory limit allows (None: no limit).
        self.max_cases = None
        self.threads = 1  # load cases solved at once by the last `affine`
        shape = material.shape
        if bc == "periodic":
            self.node_shape = shape + (ndim,)
            self.kinds = None
        else:
            self.node_shape = tuple(n + 1 for n in shape) + (ndim,)
            self.kinds = tuple(
                tuple(
                    "dirichlet"
                    if bc == "kinematic"
                    or (bc == "mixed" and a == c)
                    or (bc == MIXED_SHEAR and a != c)
                    else "neumann"
                    for a in range(ndim)
                )
                for c in range(ndim)
            )
        self.fixed = np.zeros(self.node_shape, dtype=bool)
        self._fixed_faces = []  # slices: cheaper than the mask in every iteration
        for c in range(ndim):
            for axis in range(ndim):
                if self.kinds is not None and self.kinds[c][axis] == "dirichlet":
                    for end in (0, -1):
                        index = [slice(None)] * (ndim + 1)
                        index[axis] = end
                        index[ndim] = c
                        self._fixed_faces.append(tuple(index))
                        self.fixed[tuple(index)] = True
        self.voids = None
        if not solid[material].all():
            self.voids = zero_modes(
                solid[material], self.fixed, periodic=bc == "periodic", spacing=spacing
            )
            self.notes.append(
                f"voids: {self.voids.parts} face-connected solid part(s), "
                f"{self.voids.hinges} hinge node(s) shared by parts through an edge or corner "
                f"only, {self.voids.modes} zero-energy mode(s) (rigid motions of floating "
                f"parts, hinge mechanisms) and {int(self.voids.empty.sum())} node(s) touching "
                "no solid projected out of the iterates"
            )

    def constrain(self, x) -> None:
        """Zero the fixed dofs and the empty nodes, remove the zero-energy modes."""
        for index in self._fixed_faces:
            x[index] = 0.0
        if self.voids is not None:
            self.voids.project(x)

    def _force(self, u, w, material, ke, out) -> None:
        self._kernel(u, w, material, *ke, out)

    def force(self, u, strain, out, ke=None) -> None:
        """``out = A (u + E . x)``, `strain` the Mandel vector of ``E``; `ke` another
        (single, sparse Hadamard) element stiffness for every voxel.
        """
        w = affine_nodal(strain, self.h)
        material = self.material
        if ke is None:
            ke = self.ke
        else:
            material = np.zeros_like(material)
        self._force(u, w, material, ke, out)

    def means(self, u) -> tuple[np.ndarray, np.ndarray]:
        """Volume averages of the strain and the stress of `u`, as Mandel vectors."""
        strain, stress = np.empty(self.m), np.empty(self.m)
        self._means(u, self.material, self.stack, self.bbar, strain, stress)
        return strain, stress

    def case_threads(self, cases: int) -> int:
        """Load cases solved at once (``threads.case_threads``, at most `max_cases`)."""
        threads = case_threads(cases)
        return threads if self.max_cases is None else max(1, min(threads, self.max_cases))

    def _pcg(self, apply, precondition, b, x, floor):
        work = tuple(np.empty_like(b) for _ in range(3))
        return pcg(
            apply,
            precondition,
            b,
            x,
            tol=self.tol,
            maxiter=self.maxiter,
            work=work,
            floor=floor,
            vector_ops=THREADED,
        )

    def _apply(self, p, q) -> None:
        self._force(p, np.zeros(2**self.ndim * self.ndim), self.material, self.ke, q)
        self.constrain(q)

    def affine(self, bc: str, collector=None):
        """Solve the load cases of a kinematic, periodic or mixed condition `bc`.

        Returns the tensor, the iterations and residuals per load case and the
        Hill-Mandel defect. `collector` (``elasticity/fields.py``), when given, takes
        every load case's solution for the local fields.
        """
        ndim, m = self.ndim, self.m
        shape = self.material.shape
        node_shape = self.node_shape
        if bc == "periodic" and self.preconditioner == "multigrid":
            inverse = multigrid(self)
        elif bc == "periodic":
            c0 = _to_full(isotropic(ndim, lam=self.lam0, mu=self.mu0))
            inverse = periodic_preconditioner(shape, self.h, c0)
        else:
            inverse = bounded_preconditioner(self.kinds, shape, self.h, self.lam0, self.mu0)

        def precondition(r, out):
            inverse(r, out)
            if self.voids is not None:
                self.constrain(out)

        # mixed conditions define a block each: normal loads, then (MIXED_SHEAR) shear loads
        rows = {"mixed": slice(0, ndim), MIXED_SHEAR: slice(ndim, m)}.get(bc, slice(0, m))
        cases = range(rows.start, rows.stop)
        tensor = np.zeros((m, m)) if rows == slice(0, m) else np.full((m, m), np.nan)

        def solve(k):  # every array its own: the cases may run side by side
            strain = np.eye(m)[k]
            load = np.empty(node_shape)
            self.force(np.zeros(node_shape), strain, load)
            np.negative(load, out=load)
            self.constrain(load)
            u = np.empty(node_shape)
            its, res = self._pcg(self._apply, precondition, load, u, self.floor)
            del load
            _, stress = self.means(u)
            stress += self.mean_c @ strain
            residual = np.empty(node_shape)
            self.force(u, strain, residual)
            self.constrain(residual)
            return its, res, u, stress, residual

        threads = self.case_threads(len(cases)) if self.voids is None else 1
        self.threads = threads
        iterations, residuals, solutions, forces = [], [], [], []
        for k, (its, res, u, stress, residual) in zip(
            cases, run_cases(solve, cases, threads), strict=True
        ):
            iterations.append(its)
            residuals.append(res)
            if collector is not None:
                collector.record(k, self, u, np.eye(m)[k])
            tensor[rows, k] = stress[rows]
            solutions.append(u)
            forces.append(residual)
        gap = (
            np.array([[dot(a.reshape(-1), f.reshape(-1)) for f in forces] for a in solutions])
            / self.volume
        )
        scale = np.linalg.norm(np.nan_to_num(tensor))
        defect = float(np.linalg.norm(gap) / scale) if scale > 0 else 0.0
        return tensor, iterations, residuals, defect

    def static(self, collector=None):
        """Solve the load cases of the static condition (uniform tractions).

        Returns the stiffness (the inverse of the apparent compliance on the
        compatible stresses), the iterations and residuals per load case and
        the Hill-Mandel defect; `collector` as in `affine`.
        """
        ndim, m = self.ndim, self.m
        shape = self.material.shape
        node_shape = self.node_shape
        inverse = bounded_preconditioner(self.kinds, shape, self.h, self.lam0, self.mu0)
        if self.voids is None:
            modes = rigid_modes(node_shape[:-1], self.h).reshape(-1, int(np.prod(node_shape)))

            def project(x):
                flat = x.reshape(-1)
                flat -= modes.T @ (modes @ flat)

        else:
            project = self.voids.project

        def precondition(r, out):
            inverse(r, out)
            project(out)

        def apply(p, q):
            self._force(p, np.zeros(2**ndim * ndim), self.material, self.ke, q)
            if self.voids is not None:
                project(q)

        unit = sparse_hadamard(element_stiffness(np.eye(m)[None], self.h))
        loads = []
        for k in range(m):
            load = np.empty(node_shape)
            self.force(np.zeros(node_shape), np.eye(m)[k], load, ke=unit)
            loads.append(load)
        basis = np.eye(m)
        if self.voids is not None:
            basis = _compatible_stresses(loads, self.voids, self.h)
            if basis.shape[1] < m:
                self.notes.append(
                    "static: a uniform traction on voids (or an unbalanced one on a floating "
                    "part) cannot be carried; the apparent stiffness is 0 outside a subspace of "
                    f"stresses of dimension {basis.shape[1]}"
                )
        cases = basis.shape[1]
        if collector is not None:
            collector.count = cases
        strains = np.zeros((m, cases))
        iterations, residuals = [0] * m, [0.0] * m
        solutions, forces = [], []
        for b in range(cases):
            load = sum(basis[j, b] * loads[j] for j in range(m))
            project(load)  # round-off only: the loads are self-equilibrated
            u = np.empty(node_shape)
            iterations[b], residuals[b] = self._pcg(apply, precondition, load, u, 0.0)
            strains[:, b], _ = self.means(u)
            if collector is not None:
                collector.record(b, self, u, np.zeros(m), load=basis[:, b])
            residual = np.empty(node_shape)
            apply(u, residual)
            residual -= load
            project(residual)
            solutions.append(u)
            forces.append(residual)
        gap = (
            np.array([[dot(a.reshape(-1), f.reshape(-1)) for f in forces] for a in solutions])
            / self.volume
        )
        tensor = np.zeros((m, m))
        if cases:
            reduced = basis.T @ strains  # the apparent compliance on the compatible stresses
            tensor = basis @ np.linalg.inv(reduced) @ basis.T
            if cases == m:
                self.compliance = strains @ basis.T
        scale = np.linalg.norm(strains)
        defect = float(np.linalg.norm(gap) / scale) if scale > 0 else 0.0
        return tensor, iterations, residuals, defect


def _compatible_stresses(loads, voids, spacing) -> np.ndarray:
    """Orthonormal basis (m, s) of the uniform stresses whose boundary loads put no force
    on a node touching no solid and do no work on any zero-energy mode.
    """
    ndim = loads[0].ndim - 1
    face = float(np.prod(spacing)) ** ((ndim - 1) / ndim)  # the scale of a face area
    rows = np.array([voids.components(f) for f in loads]) / face
    squares, vectors = np.linalg.eigh(rows @ rows.T)
    return vectors[:, squares <= _INCOMPATIBLE**2].copy()
