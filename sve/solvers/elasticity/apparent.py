"""Apparent stiffness of a voxel image (Q1 voxel finite elements, linear elasticity)."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence

import numpy as np
from numpy.typing import ArrayLike

from sve._validation import (
    SYMMETRY_TOLERANCE,
    check_choice,
    check_integer,
    check_phases,
    check_real,
    check_spacing,
)
from sve.microstructure import labels_and_spacing
from sve.solvers._core.bc import implemented_bc
from sve.solvers._core.clusters import find_clusters
from sve.solvers._core.fields import fields_mode
from sve.solvers._core.materials import distinct_tensors, volume_averages
from sve.solvers._core.memory import (
    cases_that_fit,
    check_budget,
    memory_estimate,
    memory_limit_bytes,
    upper_bound,
)
from sve.solvers._core.spacing import normalized
from sve.solvers.elasticity.cell_problem import MIXED_SHEAR, Problem
from sve.solvers.elasticity.fields import Collector
from sve.solvers.elasticity.q1 import (
    mandel_size,
)
from sve.solvers.elasticity.q1_multigrid import LARGEST_COARSEST, MAX_MATERIALS
from sve.solvers.elasticity.q1_multigrid import supported as multigrid_supported
from sve.solvers.moduli import isotropic
from sve.solvers.result import ConvergenceError, StiffnessResult

IMPLEMENTED_BCS = ("kinematic", "periodic", "static", "mixed")
_ON_FAILURE = ("raise", "flag")
_PRECONDITIONERS = ("auto", "fft", "multigrid")
# An apparent stiffness whose smallest eigenvalue is below this fraction of its norm is
# singular (a solid that does not carry some load: round-off or solver error only).
_SINGULAR = 1e-10


def apparent_stiffness(
    phases: ArrayLike,
    stiffness: Sequence | ArrayLike,
    *,
    bc: str = "periodic",
    spacing: float | tuple[float, ...] | None = None,
    tol: float = 1e-6,
    maxiter: int = 1000,
    on_failure: str = "raise",
    memory_limit: int | str | None = None,
    fields: bool | str = False,
    preconditioner: str = "auto",
) -> StiffnessResult:
    r"""Compute the apparent stiffness tensor of a voxel image.

    Each voxel is one Q1 element (bilinear in 2-D plane strain, trilinear in
    3-D) with vector nodal displacements and one stiffness tensor. One cell
    problem is solved per load case: unit Mandel strains (3 in 2-D, 6 in
    3-D) or, under static conditions, unit Mandel stresses.

    Parameters
    ----------
    phases : array_like of shape (N0, N1) or (N0, N1, N2), integer, or Microstructure
        Phase label (or grain id) of every voxel, >= 0, at least 2 voxels
        per axis.
    stiffness : sequence or ndarray
        One of

        * a sequence with one entry per label, each either a mapping of
          isotropic moduli (``{"E": .., "nu": ..}``, ``{"K": .., "G": ..}``
          or ``{"lam": .., "mu": ..}``, 3-D moduli also in 2-D: plane
          strain) or a Mandel matrix (3, 3) / (6, 6);
        * an ndarray (n, m, m): one Mandel matrix per label, e.g. per grain
          ``generators.rotate_tensor(cubic(...), crystal.rotations)`` with
          ``phases = crystal.grain_ids``;
        * an ndarray ``phases.shape + (m, m)``: one Mandel matrix per voxel
          (the labels are then not used; distinct matrices are found with
          ``numpy.unique``, so prefer the per-label form for many voxels).

        Every matrix must be symmetric positive definite, or zero: a void
        (``{"E": 0.0, ...}`` is not accepted; pass ``np.zeros((m, m))``).
        See Notes for porous media.
    bc : str, default "periodic"
        ``"kinematic"`` (``"KUBC"``), ``"periodic"`` (``"PBC"``),
        ``"static"`` (``"SUBC"``) or ``"mixed"`` (``"MUBC"``); see Notes.
    spacing : float or sequence of float, optional
        Voxel edge length: one number (cubic voxels) or one per axis
        ``(h0, h1[, h2])``, finite and > 0 (box voxels, e.g. ``(1, 1, 3)``
        for FIB-SEM slices thicker than the pixels: the element stiffness,
        the strain averages, the preconditioner's symbol and the rigid and
        zero-energy modes take the edge of each axis). Default: the spacing
        of a `Microstructure` given as `phases`, else 1. The tensor does not
        depend on a uniform scaling of it, only on the ratios of its
        entries.
    tol : float, default 1e-6
        Relative residual (preconditioner norm) at which CG stops, in (0, 1).
    maxiter : int, default 1000
        Largest number of iterations per load case.
    on_failure : {"raise", "flag"}, default "raise"
        Raise `ConvergenceError` on non-convergence, or return the result
        with ``converged=False``.
    memory_limit : int or str, optional
        Bytes the solve may use (a number, or a string such as ``"8 GB"`` or
        ``"8 GiB"``). Default: the memory available on the machine
        (``MemAvailable`` of /proc/meminfo, or the room under the cgroup's
        limit when lower). The solve's peak is estimated before anything
        large is allocated (`sve.solvers.memory_estimate`) and a solve that
        would exceed the limit is refused with `MemoryBudgetError`.
    fields : bool or {"summary", "full"}, default False
        The local fields of every load case: ``"summary"`` stores the
        per-phase means and second moments of the strain and the stress
        (``phase_moments``, a `StiffnessMoments`), ``"full"`` (or True) also
        the displacement fluctuation, strain and stress of every voxel
        (``fields``, a `StiffnessFields`: about ``2 m + d`` image-sized
        arrays per load case more, not counted by `memory_limit`). Off by
        default: the solve and its result are then exactly those without the
        option. See Notes, **Local fields**.
    preconditioner : {"auto", "fft", "multigrid"}, default "auto"
        ``"fft"``: the reference-medium preconditioner (transforms), under
        every condition. ``"multigrid"``: a geometric multigrid cycle with
        Galerkin coarse levels and block-Jacobi smoothing
        (``sve/solvers/elasticity/q1_multigrid.py``), for periodic 3-D images
        without voids, with at most 64 distinct materials, whose axes halve
        down to a small coarsest grid; a ValueError elsewhere. ``"auto"``
        takes ``"fft"``: about even with multigrid at 64^3 on the benchmark's
        medium, faster at low and very high contrasts
        (``benchmarks/bench_elasticity.py``, docs' solver notes). The
        tensors agree to the solver tolerance.

    Returns
    -------
    StiffnessResult

    Raises
    ------
    TypeError, ValueError
        For an invalid argument; the message names it.
    ConvergenceError
        If a load case does not converge and ``on_failure="raise"``.
    MemoryBudgetError
        If the estimated peak memory of the solve exceeds `memory_limit` (or
        the available memory); the message says how much it needs, how much
        is available and the largest window that would fit, before anything
        large is allocated.

    Notes
    -----
    The theory of the cell problems, their boundary conditions and
    preconditioners is in the docs' solver notes (``docs/solver_notes.rst``).

    **Mandel notation.** Strain ``(e11, e22, e33, sqrt2 e23, sqrt2 e13,
    sqrt2 e12)`` (2-D: ``(e11, e22, sqrt2 e12)``), stress likewise, and
    ``sigma = C eps``; the energy is ``eps . C eps``. Column ``k`` of the
    tensor is the average stress for the unit Mandel strain ``e_k`` (a
    shear column therefore has tensor shear strain ``1 / sqrt2``).

    **Boundary conditions** (``u = E . x + u~``, ``<.>`` volume average):

    * ``periodic``: ``u~`` periodic (N nodes per axis); column ``k`` is
      ``<sigma>`` for ``E = e_k``.
    * ``kinematic``: ``u = E . x`` on the whole boundary (``u~ = 0``).
    * ``static``: uniform traction ``t = Sigma . n`` on the whole boundary,
      the consistent nodal loads of the uniform stress ``Sigma``; the rigid
      modes (3 in 2-D, 6 in 3-D) are projected out of the iterates. Column
      ``k`` of the apparent compliance is ``<eps>`` for ``Sigma = e_k``; the
      tensor is its inverse.
    * ``mixed`` (orthogonal uniform mixed [5]_, [6]_): each displacement
      component is either imposed (``u_c = (E . x)_c``) or free with zero
      traction on each face, the imposed strains and the zero stresses being
      complementary, so that the boundary term ``(t - Sigma n) . (u - E x)``
      vanishes component by component and Hill-Mandel holds. Normal loads
      (``E = e_k e_k``, d cases): the normal component is imposed on the
      faces normal to it, the tangential tractions vanish; they give the
      normal block. Shear loads (``E = e_k``, k > d): the tangential
      components are imposed on every face, the normal tractions vanish;
      they give the shear block. The normal-shear coupling, which neither
      load set determines, is NaN.

    One conforming discretization for all of them gives Huet's ordering
    ``C_static <= C_periodic <= C_kinematic`` exactly per image, and the
    normal (shear) block of the mixed tensor between the inverse of the
    normal (shear) block of the static compliance and the normal (shear)
    block of the kinematic tensor (as quadratic forms). Mixed conditions return the
    input tensor of a homogeneous medium only if it does not couple normal
    strains to shear stresses (orthotropic in the grid axes): a rotated
    crystal gets a value between ``C_nn`` and ``(S_nn)^-1``.

    **Voids.** A zero stiffness matrix is a void (porous media). Solid
    voxels form *parts* connected through shared faces (edges in 2-D).
    Parts touching only at a node (2-D), along an edge or at a corner (3-D)
    share those nodes: a hinge that transmits forces but no moment. The
    zero-energy displacements (rigid motions of every part that no fixed
    face holds, under periodic conditions restricted to rotations about the
    directions in which a part wraps around, and the mechanisms of hinged
    parts) are found from the rigid motions of the parts constrained at
    shared and fixed nodes, and projected out of the iterates with the
    nodes that touch no solid (fixed at zero); the loads are
    self-equilibrated on them, so the stresses are unique. A ``notes``
    entry counts parts, hinge nodes and modes. A solid that carries no load
    in some direction (no part wrapping around the cell under periodic
    conditions, an island under kinematic ones, an all-void image) gives
    the corresponding zero rows and columns and a NaN compliance with a
    note. Under static conditions a uniform traction on void faces cannot
    be carried: the tensor is zero outside the subspace of stresses whose
    boundary loads only act on solid and do no work on a zero-energy mode
    (with a note), as for conductivity.

    **Discretization.** ``Ke = sum_g w_g B_g^T C B_g`` (2**d-point Gauss
    rule, exact), computed once per distinct material and applied
    matrix-free, indexed per voxel. The element average of the Q1 strain is
    ``Bbar u_e``, so averages are exact.

    **Local fields** (``fields=``). Per load case the Mandel strain and
    stress of every voxel (element averages, the values at the voxel
    centres) and the displacement fluctuation at the nodes; per phase ``a``
    the means ``<eps>_a``, ``<sigma>_a``, the second moments
    ``<eps (x) eps>_a``, ``<sigma (x) sigma>_a`` and the energy
    ``<sigma . eps>_a``, exact integrals of the Q1 fields (2**d-point Gauss
    rule). Hill-Mandel holds on them: ``sum_a phi_a <sigma . eps>_a =
    <sigma> . <eps>`` (periodic, kinematic, static, to the solver tolerance;
    mixed: ``= E . <sigma>``), and ``phi_a <eps . dC eps>_a`` is the
    derivative of ``E . C E`` along a change ``dC`` of the stiffness of
    phase ``a`` (minimum principle).

    **Solver.** Preconditioned conjugate gradients with the operator of a
    homogeneous isotropic reference medium (moduli: geometric means of the
    extreme Voigt-type bulk and shear moduli of the materials). Periodic:
    exact inverse per wave vector of the d x d Q1 symbol, by FFT (see
    ``sve/solvers/elasticity/fft_preconditioner.py``). Bounded grids: the block-diagonal
    part of the reference operator by sine (fixed) and cosine (free)
    transforms per component. Since ``a C0 <= C(x) <= b C0`` gives a
    condition number ``b / a`` (periodic) or a resolution-independent
    multiple of it (bounded), iteration counts depend on the contrast, not
    on the grid size.

    References
    ----------
    .. [1] C. Huet, "Application of variational concepts to size effects in
       elastic heterogeneous bodies", J. Mech. Phys. Solids 38 (1990) 813-841.
    .. [2] S. Hazanov, C. Huet, "Order relationships for boundary conditions
       effect in heterogeneous bodies smaller than the representative
       volume", J. Mech. Phys. Solids 42 (1994) 1995-2011.
    .. [3] H. Moulinec, P. Suquet, Comput. Methods Appl. Mech. Engrg. 157
       (1998) 69-94 (reference-medium preconditioning).
    .. [4] E. J. Garboczi, "Finite element and finite difference programs
       for computing the linear electric and elastic properties of digital
       images of random materials", NISTIR 6269 (1998).
    .. [5] S. Hazanov, M. Amieur, "On overall properties of elastic heterogeneous
       bodies smaller than the representative volume", Int. J. Eng. Sci. 33
       (1995) 1289-1301.
    .. [6] D. H. Pahr, P. K. Zysset, "Influence of boundary conditions on
       computed apparent elastic properties of cancellous bone", Biomech.
       Model. Mechanobiol. 7 (2008) 463-476.

    Examples
    --------
    >>> import numpy as np
    >>> phases = np.zeros((4, 4), dtype=np.int8)
    >>> result = apparent_stiffness(phases, [{"lam": 1.0, "mu": 0.5}])
    >>> bool(np.allclose(result.tensor, [[2, 1, 0], [1, 2, 0], [0, 0, 1]]))
    True
    """
    phases, spacing = labels_and_spacing(phases, spacing)
    start = time.perf_counter()
    phases = check_phases(phases)
    bc = implemented_bc(bc, IMPLEMENTED_BCS, "apparent_stiffness")
    spacing = check_spacing(spacing, phases.ndim)
    h = normalized(spacing)
    mode = fields_mode(fields)
    tol = check_real(tol, "tol", 0.0, 1.0)
    maxiter = check_integer(maxiter, "maxiter", 1)
    on_failure = check_choice(on_failure, "on_failure", _ON_FAILURE)
    preconditioner = check_choice(preconditioner, "preconditioner", _PRECONDITIONERS)
    if preconditioner == "auto":
        preconditioner = "fft"  # multigrid about even at 64^3 (docs' solver notes)
    limit, source = memory_limit_bytes(memory_limit, phases.shape)
    check = limit is not None and upper_bound(phases.shape) > limit
    if check:  # before any field is allocated (voids unknown: the smaller estimate)
        estimate = memory_estimate(  # one load case at a time: fewer never refuse a solve
            phases.shape,
            property="elasticity",
            bc=bc,
            preconditioner=preconditioner,
            cases_at_once=1,
        )
        check_budget(estimate, limit, "apparent_stiffness", source=source)
    material, stack = _materials(phases, stiffness)
    if check and not np.all(np.linalg.norm(stack, axis=(1, 2)) > 0.0):  # a void phase
        estimate = memory_estimate(
            phases.shape,
            property="elasticity",
            bc=bc,
            voids=True,
            preconditioner="fft",
            cases_at_once=1,
        )
        check_budget(estimate, limit, "apparent_stiffness", source=source)

    voids = not bool(np.all(np.linalg.norm(stack, axis=(1, 2)) > 0.0))
    if preconditioner == "multigrid" and not multigrid_supported(
        phases.shape, len(stack), voids, bc
    ):
        raise ValueError(
            "preconditioner='multigrid' needs bc='periodic', a 3-D image without voids, at "
            f"most {MAX_MATERIALS} distinct materials and axes that halve down to at most "
            f"{LARGEST_COARSEST} nodes; got shape {phases.shape}, bc={bc!r}, "
            f"{len(stack)} materials{', voids' if voids else ''}"
        )
    problem = Problem(material, stack, h, tol, maxiter, bc, preconditioner=preconditioner)
    if check:  # as many load cases at once as the limit allows (voids: one at a time)
        problem.max_cases = cases_that_fit(
            limit, phases.shape, property="elasticity", bc=bc, preconditioner=preconditioner
        )
    ndim = phases.ndim
    m = mandel_size(ndim)
    collector = None
    if mode is not None:
        collector = Collector(phases, mode, spacing, problem.node_shape, bc)
    if bc == "static":
        tensor, iterations, residuals, defect = problem.static(collector)
    else:
        tensor, iterations, residuals, defect = problem.affine(bc, collector)
    notes = list(problem.notes)  # after the solve: static adds its own
    blocks = [slice(0, m)]
    if bc == "mixed":  # the shear block: the complementary conditions, another operator
        shear = Problem(material, stack, h, tol, maxiter, MIXED_SHEAR)
        shear.max_cases = problem.max_cases
        shear_tensor, shear_iterations, shear_residuals, shear_defect = shear.affine(
            MIXED_SHEAR, collector
        )
        tensor[ndim:, ndim:] = shear_tensor[ndim:, ndim:]
        iterations, residuals = iterations + shear_iterations, residuals + shear_residuals
        defect = max(defect, shear_defect)
        notes += [note for note in shear.notes if note not in notes]
        notes.append(
            "mixed: the normal block (normal loads) and the shear block (shear loads) are "
            "defined; their coupling is not (NaN)"
        )
        blocks = [slice(0, ndim), slice(ndim, m)]
    resolution = tol * float(np.linalg.norm(stack, axis=(1, 2)).max())
    compliance = np.full((m, m), np.nan)
    singular = False
    for block in blocks:
        inverse = _inverse(tensor[block, block], resolution)
        singular |= inverse is None
        if inverse is not None:
            compliance[block, block] = inverse
    if singular:
        notes.append(
            "the apparent stiffness is singular (the solid does not carry every load): "
            "the compliance is undefined (NaN)"
        )
    if bc == "static" and problem.compliance is not None:
        compliance = problem.compliance
    defined = np.nan_to_num(tensor)
    scale = np.linalg.norm(defined)
    eigenvalues = np.concatenate(
        [np.linalg.eigvalsh(0.5 * (t + t.T)) for t in (tensor[b, b] for b in blocks)]
    )
    voigt_tensor, reuss_tensor, bounds_defect = _bounds(material, stack, tensor, blocks)
    converged = max(residuals) <= tol
    solid = np.linalg.norm(stack, axis=(1, 2))[material] > 0.0
    extra = {}
    if collector is not None:
        extra["phase_moments"], extra["fields"] = collector.results(ndim)
    result = StiffnessResult(
        tensor=tensor,
        compliance=compliance,
        bc=bc,
        discretization="q1",
        iterations=tuple(iterations),
        residual=float(max(residuals)),
        converged=converged,
        hill_mandel_defect=defect,
        symmetry_defect=float(np.linalg.norm(defined - defined.T) / scale) if scale > 0 else 0.0,
        min_eigenvalue=float(eigenvalues.min()),
        wall_time=time.perf_counter() - start,
        notes=tuple(notes),
        voigt_tensor=voigt_tensor,
        reuss_tensor=reuss_tensor,
        bounds_defect=bounds_defect,
        voigt=float(np.linalg.eigvalsh(voigt_tensor)[-1]),
        reuss=float(np.linalg.eigvalsh(reuss_tensor)[0]),
        percolating=_percolating(solid, bc),
        **extra,
    )
    if not converged and on_failure == "raise":
        worst = int(np.argmax(residuals))
        raise ConvergenceError(
            f"apparent_stiffness did not converge: load case {worst + 1} reached a relative "
            f"residual of {residuals[worst]:.3g} after {iterations[worst]} iterations "
            f"(tol={tol:g}, maxiter={maxiter}); raise maxiter or tol, or pass "
            "on_failure='flag' to get the unconverged result",
            result,
        )
    return result


def _bounds(material, stack, tensor, blocks) -> tuple[np.ndarray, np.ndarray, float]:
    """Voigt ``<C>`` and Reuss ``<C^-1>^-1`` tensors of the image and how far the apparent
    `tensor` leaves them on its defined diagonal `blocks`, relative to ``|<C>|``.

    A block ``b`` of a mixed tensor is bounded by ``<C>_bb`` above and ``(<C^-1>_bb)^-1``
    below (it lies between the kinematic block and the inverse of the static
    compliance's block, which the Voigt and Reuss tensors bound).
    """
    voigt, mean_s = volume_averages(material, stack)
    m = len(voigt)
    # a void: <C^-1> is infinite, the Reuss bound is 0
    reuss = np.zeros((m, m)) if mean_s is None else np.linalg.inv(mean_s)
    outside = 0.0
    for b in blocks:
        block = tensor[b, b]
        k = len(block)
        if mean_s is None:
            lower = np.zeros((k, k))
        elif k == m:
            lower = reuss
        else:
            lower = np.linalg.inv(mean_s[b, b])
        symmetric = 0.5 * (block + block.T)
        outside = max(
            outside,
            float(np.linalg.eigvalsh(symmetric - voigt[b, b]).max()),
            float(np.linalg.eigvalsh(lower - symmetric).max()),
        )
    scale = float(np.linalg.norm(voigt))  # 0 for an all-void image (every bound is 0)
    return voigt, reuss, outside / scale if scale > 0 else outside


def _percolating(solid: np.ndarray, bc: str) -> tuple[bool, ...]:
    """Per axis, whether a face-connected solid cluster joins the faces normal to it."""
    if solid.all():
        return (True,) * solid.ndim
    periodic = bc == "periodic"
    clusters = find_clusters(solid, periodic=periodic, discretization="fv")
    return clusters.percolating(periodic)


def _inverse(block: np.ndarray, resolution: float) -> np.ndarray | None:
    """Inverse of a symmetric positive definite `block`; None if its smallest eigenvalue
    is below `resolution` (``tol`` times the norm of the stiffest material: the size of
    the solver error, so nothing distinguishes it from zero) or ``_SINGULAR`` of its norm.
    """
    lowest = np.linalg.eigvalsh(0.5 * (block + block.T)).min()
    if not lowest > max(resolution, _SINGULAR * np.linalg.norm(block)):
        return None
    return np.linalg.inv(block)


def _materials(phases: np.ndarray, stiffness) -> tuple[np.ndarray, np.ndarray]:
    """Material index per voxel (int32) and the stack of distinct Mandel matrices."""
    ndim = phases.ndim
    m = mandel_size(ndim)
    per_voxel = False
    if isinstance(stiffness, np.ndarray) and stiffness.dtype != object:
        _check_real(stiffness.dtype)
        if stiffness.shape == phases.shape + (m, m):
            per_voxel = True
            stack, material = distinct_tensors(stiffness, phases.shape)
        elif stiffness.ndim == 3 and stiffness.shape[1:] == (m, m):
            stack = stiffness.astype(np.float64)
        else:
            raise ValueError(
                f"stiffness as an array must have shape (n, {m}, {m}) (one Mandel matrix per "
                f"label) or {phases.shape + (m, m)} (one per voxel) for {ndim}-D phases, "
                f"got {stiffness.shape}"
            )
    elif isinstance(stiffness, Sequence | np.ndarray) and not isinstance(stiffness, str):
        entries = []
        for index, entry in enumerate(stiffness):
            name = f"stiffness[{index}]"
            if isinstance(entry, Mapping):
                try:
                    entries.append(isotropic(ndim, **entry))
                except (ValueError, TypeError) as error:
                    raise ValueError(f"{name}: {error}") from None
            else:
                matrix = np.asarray(entry)
                if matrix.shape != (m, m):
                    raise ValueError(
                        f"{name} must be a mapping of isotropic moduli or a Mandel matrix of "
                        f"shape ({m}, {m}) for {ndim}-D phases, got shape {matrix.shape}"
                    )
                entries.append(matrix)
        if not entries:
            raise ValueError("stiffness must hold at least one material, got none")
        stack = np.array(entries)
    else:
        raise TypeError(
            "stiffness must be a sequence of per-label materials or an ndarray of Mandel "
            f"matrices, got {type(stiffness).__name__}"
        )
    _check_real(stack.dtype)
    stack = np.ascontiguousarray(stack, dtype=np.float64)
    if not np.all(np.isfinite(stack)):
        raise ValueError("stiffness must be finite, got NaN or infinity")
    for index, matrix in enumerate(stack):
        name = "stiffness (a voxel matrix)" if per_voxel else f"stiffness[{index}]"
        norm = np.linalg.norm(matrix)
        if np.linalg.norm(matrix - matrix.T) > SYMMETRY_TOLERANCE * max(norm, 1e-300):
            raise ValueError(f"{name} must be symmetric, got asymmetry {matrix - matrix.T!r}")
        if norm == 0.0:
            continue  # a void
        lowest = np.linalg.eigvalsh(matrix).min()
        if not lowest > 0:
            raise ValueError(
                f"{name} must be positive definite, or zero for a void, got smallest "
                f"eigenvalue {lowest:.3g}"
            )
    stack = 0.5 * (stack + stack.transpose(0, 2, 1))
    if not per_voxel:
        largest = int(phases.max())
        if len(stack) <= largest:
            raise ValueError(
                f"stiffness must give one material per phase label 0..{largest}, got {len(stack)}"
            )
        material = phases.astype(np.int32)
    return np.ascontiguousarray(material), np.ascontiguousarray(stack)


def _check_real(dtype: np.dtype) -> None:
    if (
        dtype == np.bool_
        or not np.issubdtype(dtype, np.number)
        or np.issubdtype(dtype, np.complexfloating)
    ):
        raise TypeError(f"stiffness must hold real numbers, got dtype {dtype}")
