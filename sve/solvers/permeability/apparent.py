"""Apparent permeability of a voxel pore space (Stokes cell problems, MAC)."""

from __future__ import annotations

import functools
import time
import warnings
from collections.abc import Callable

import numpy as np
import scipy.ndimage
from numpy.typing import ArrayLike

from sve._validation import (
    check_bool,
    check_choice,
    check_integer,
    check_phases,
    check_positive,
    check_real,
    check_spacing,
    is_integer,
    is_real,
)
from sve.microstructure import labels_and_spacing
from sve.solvers._core.bc import implemented_bc
from sve.solvers._core.clusters import find_clusters
from sve.solvers._core.memory import (
    MemoryEstimate,
    check_budget,
    memory_limit_bytes,
)
from sve.solvers._core.pcg_kernels import dot
from sve.solvers.permeability import cell_problem
from sve.solvers.permeability.cell_problem import (
    body_force_compact,
    pressure_drop_compact,
    release_free_memory,
    solve_cases,
)
from sve.solvers.permeability.mac import StokesOperator
from sve.solvers.result import ConvergenceError, PermeabilityResult

IMPLEMENTED_BCS = ("periodic", "mixed")
WALLS = ("no-slip", "free-slip")
_ON_FAILURE = ("raise", "flag")
#: Narrowest throat (voxels across, ``2 r_c - 1``) below which a warning is issued.
THROAT_WARNING = 4.0
#: Periodic images are padded by this many voxels per side for the distance map: the
#: throat estimate is exact up to widths of about twice this.
THROAT_MARGIN = 8
#: Bytes of a solve that do not grow with the image: the interpreter's and Numba's
#: buffers, the allocator's retained pages (measured: the peak resident growth of
#: ``benchmarks/bench_permeability.py`` minus the counted arrays was 7.9, 9.2 and
#: 9.8 MB at 32^3, 48^3 and 64^3), 8 MiB.
FIXED_PERMEABILITY_BYTES = 8 * 2**20


class UnresolvedThroatWarning(UserWarning):
    """The narrowest throat of the pore path is under about 4 voxels across.

    The permeability is then set by a few voxels of the throat: a resolution
    artefact as much as a property of the medium (the error of the staggered
    scheme is about ``2 / w^2`` relative for a channel ``w`` voxels wide).
    ``throat`` holds the estimated width in voxels.
    """

    def __init__(self, message: str, throat: float = float("nan")) -> None:
        super().__init__(message)
        self.throat = throat


def _hierarchy(grid: tuple[int, ...]) -> tuple[int, int]:
    """Unknowns of the coarse levels of `multigrid.AggregationMultigrid` on `grid`
    (3-D), in all, and of its coarsest level.
    """
    from sve.solvers.permeability.multigrid import COARSEST

    shape = tuple(grid)
    coarse = 0
    while int(np.prod(shape, dtype=np.float64)) > COARSEST and max(shape) > 1:
        shape = tuple((n + 1) // 2 if n > 1 else 1 for n in shape)
        coarse += int(np.prod(shape, dtype=np.float64))
    return coarse, int(np.prod(shape, dtype=np.float64))


def permeability_memory_estimate(
    shape: tuple[int, ...],
    *,
    bc: str = "periodic",
    porosity: float | None = None,
    spacing: float | tuple[float, ...] | None = None,
) -> MemoryEstimate:
    """Estimated peak memory of `apparent_permeability` on an image of `shape` (bytes).

    The peak is during a MINRES solve (every load case's alike: no solution is kept
    after its figures are taken). Counted, with ``N`` the voxels, ``d`` the dimension
    and ``u = (d + 1) N phi`` a bound on the unknowns (the active faces and the fluid
    cells, ``phi`` the `porosity`; 1 if not given, a bound for every image):

    * the masks (the pores and the fluid, bool): ``2 N``;
    * the viscous stencils, one byte per face (`mac.CodedStencil`: the 24 to 128
      distinct coefficient rows seen fit the 256 codes), which also tell the active
      faces (`mac.Component`): ``d N``;
    * the multigrid hierarchies of the ``d`` components (the first coarse level's
      stencil two bytes a point, uint16 codes of its rows, `mac.stored`; the others
      float32, exact under equal spacings; float64 counted under unequal ones:
      `spacing`) and of the pressure
      (float32, `cell_problem.PRESSURE_SINGLE`), the shared work arrays (five per
      coarse level, the Chebyshev direction included; no residual array: every level
      restricts its residual as it forms it) and the dense coarsest inverses;
    * the pressure block: its finest stencil (float32: the three couplings, ``12 N``,
      periodic, where the kernels sum the diagonal; with the diagonal, ``16 N``,
      mixed) and the cluster labels of the fluid cells (``4 phi N`` counted; int8
      while under 128 clusters);
    * two float64 work grids of the largest component (``16 N``): the compact
      operator's and the preconditioner's way through the full grids, the pressure
      polynomial's finest arrays among them (its iterate kept on the unknowns);
    * MINRES: six compact float64 vectors (``48 u``).

    plus ``FIXED_PERMEABILITY_BYTES``. Within 15 % of the measured peak resident
    growth at 32^3 to 64^3 on a level cut of pore fraction 0.35, periodic and
    mixed (``benchmarks/bench_permeability.py``), at 128^3 periodic, and in 2-D at
    pore fraction 0.65 from 256^2 to 1024^2.

    Parameters
    ----------
    shape : tuple of int
        The image's shape (2-D or 3-D).
    bc : {"periodic", "mixed"}, default "periodic"
        The boundary conditions.
    porosity : float, optional
        The pore fraction in [0, 1]; default 1 (an upper bound).
    spacing : float or sequence of float, optional
        The voxel spacing; unequal spacings keep the coarse viscous stencils in
        float64.
    """
    shape = tuple(int(n) for n in shape)
    ndim = len(shape)
    if ndim not in (2, 3):
        raise ValueError(f"shape must be 2-D or 3-D, got {shape}")
    phi = 1.0
    if porosity is not None:
        if not is_real(porosity):
            raise TypeError(f"porosity must be a real number, got {porosity!r}")
        if not 0.0 <= porosity <= 1.0:
            raise ValueError(f"porosity must be in [0, 1], got {porosity!r}")
        phi = float(porosity)
    equal = True
    if spacing is not None:
        h = check_spacing(spacing, ndim)
        equal = all(x == h[0] for x in h)
    voxels = int(np.prod(shape, dtype=np.float64))
    coarse, coarsest = _hierarchy(shape + (1,) * (3 - ndim))
    first = int(np.prod([(n + 1) // 2 if n > 1 else 1 for n in shape], dtype=np.float64))
    # per coarse point of a velocity hierarchy: its first level uint16-coded (2 bytes),
    # the others float32; unequal spacings: float64 counted on every level
    viscous = ndim * (2 * first + 16 * (coarse - first)) if equal else ndim * 32 * coarse
    unknowns = (ndim + 1) * phi * voxels
    grid = voxels
    if bc == "mixed":
        grid = int(np.prod([n + 1 if a == 0 else n for a, n in enumerate(shape)]))
    degree = cell_problem.PRESSURE_DEGREE
    pressure = 4 if cell_problem.PRESSURE_SINGLE else 8
    # the periodic block keeps no diagonal (`mac.SumStencil`)
    arrays = 3 if bc == "periodic" and cell_problem.PRESSURE_SUM else 4
    counted = {
        "masks (pores, fluid; bool)": 2 * voxels,
        "viscous stencils and active faces (one byte per face)": ndim * voxels,
        "multigrid coarse stencils (first viscous level coded; float32)": viscous
        + 4 * pressure * coarse,
        # five per coarse level; no level keeps a residual (restricted as it is formed)
        "multigrid work arrays (shared) and coarsest inverses": 40 * coarse
        + (ndim + 1) * 8 * coarsest**2,
        # degree 2: its two finest arrays are work grids (`cell_problem`); else three own
        "pressure polynomial's own finest arrays (degree > 2)": 24 * voxels if degree > 2 else 0,
        "pressure block (stencil float32, compact cluster labels)": arrays * pressure * voxels
        + 4 * phi * voxels,
        "work grids of the compact operator and preconditioner (2 float64)": 2 * 8 * grid,
        "MINRES vectors on the unknowns (6 float64)": 48 * unknowns,
    }
    breakdown = {name: int(np.ceil(value)) for name, value in counted.items()}
    breakdown["fixed (interpreter, Numba, allocator)"] = FIXED_PERMEABILITY_BYTES
    total = int(sum(breakdown.values()))
    return MemoryEstimate(
        bytes=total,
        bytes_per_voxel=total / voxels,
        breakdown=breakdown,
        shape=shape,
        property="permeability",
        bc=bc,
        discretization="mac",
        preconditioner="multigrid",
        tensors=False,
        voids=True,
        per_point=float(sum(counted.values())) / voxels,
        points=voxels,
        fixed=FIXED_PERMEABILITY_BYTES,
    )


def _pore_mask(pores: object, pore_label: object) -> np.ndarray:
    array = np.asarray(pores)
    if array.ndim not in (2, 3):
        raise ValueError(
            f"pores must be a 2-D or 3-D image, got {array.ndim}-D with shape {array.shape}"
        )
    if min(array.shape) < 2:
        raise ValueError(f"pores must have at least 2 voxels along every axis, got {array.shape}")
    if array.dtype == np.bool_:
        if pore_label is not None and not isinstance(pore_label, bool | np.bool_):
            raise TypeError(
                f"pore_label must be None (or True) for a boolean pore mask, got {pore_label!r}"
            )
        array = check_phases(array, allow_bool=True)
        return array if pore_label in (None, True) else ~array
    if not np.issubdtype(array.dtype, np.integer):
        raise TypeError(
            "pores must be a boolean pore mask or an integer label array with pore_label "
            f"naming the pore phase, got dtype {array.dtype}"
        )
    array = check_phases(array)
    if pore_label is None:
        raise ValueError(
            "pore_label must name the pore phase of an integer label image (e.g. "
            "pore_label=0), got None"
        )
    if not is_integer(pore_label):
        raise TypeError(f"pore_label must be an integer label, got {pore_label!r}")
    return array == pore_label


def throat_width(fluid: np.ndarray, axis: int, *, periodic: bool) -> float:
    """Estimated width (voxels) of the narrowest throat of the widest path along `axis`.

    ``r`` is the Euclidean distance map of the pore space (voxel centre to the
    nearest solid voxel centre, periodic images included under periodic
    conditions); ``r_c`` the largest threshold such that ``{r >= r_c}`` still
    percolates along `axis` (wraps around, or joins the two faces); the width is
    ``2 r_c - 1``: exact for a channel of an odd number of voxels, one voxel
    short for an even one. NaN if the pores do not percolate. Periodic images are
    padded by ``THROAT_MARGIN`` voxels per side, so distances beyond it may be
    overestimated: widths up to about ``2 THROAT_MARGIN`` are exact.
    """
    margin = [(0, 0)] * fluid.ndim
    if periodic:
        margin = [(min(n, THROAT_MARGIN),) * 2 for n in fluid.shape]
        padded = np.pad(fluid, margin, mode="wrap")
    else:
        padded = fluid
    distance = scipy.ndimage.distance_transform_edt(padded)
    crop = tuple(slice(lo, lo + n) for (lo, _), n in zip(margin, fluid.shape, strict=True))
    distance = distance[crop]
    values = np.unique(distance[fluid])
    if values.size == 0:
        return float("nan")

    def percolates(threshold: float) -> bool:
        clusters = find_clusters(distance >= threshold, periodic=periodic, discretization="fv")
        if clusters.count == 0:
            return False
        return clusters.percolating(periodic)[axis]

    lo, hi = 0, values.size - 1
    if not percolates(values[0]):
        return float("nan")
    while lo < hi:  # largest index whose threshold percolates
        mid = (lo + hi + 1) // 2
        if percolates(values[mid]):
            lo = mid
        else:
            hi = mid - 1
    return float(2.0 * values[lo] - 1.0)


def _as3d(array: np.ndarray) -> np.ndarray:
    return array.reshape(array.shape + (1,) * (3 - array.ndim))


def apparent_permeability(
    pores: ArrayLike,
    *,
    pore_label: int | None = None,
    bc: str = "periodic",
    spacing: float | tuple[float, ...] | None = None,
    viscosity: float = 1.0,
    tol: float = 1e-8,
    maxiter: int = 5000,
    on_failure: str = "raise",
    walls: str = "no-slip",
    reservoir: bool = False,
    fields: bool = False,
    memory_limit: int | str | None = None,
) -> PermeabilityResult:
    r"""Compute the apparent permeability tensor of a voxel pore space (Stokes flow).

    The steady Stokes equations ``-mu lap u + grad p = f``, ``div u = 0`` are
    solved in the pore space with no slip on every solid voxel face, on a
    staggered (MAC) finite-volume grid: velocities on the voxel faces,
    pressures in the voxels, so that the image needs no meshing (the scheme
    of PuMA's and GeoDict's voxel Stokes solvers).

    Parameters
    ----------
    pores : array_like of shape (N0, N1) or (N0, N1, N2), bool or integer, or Microstructure
        A boolean pore mask (True in the pores), or integer phase labels with
        `pore_label` naming the pore phase; at least 2 voxels per axis.
    pore_label : int, optional
        The label of the pore phase, required for integer labels (None or
        True for a boolean mask).
    bc : {"periodic", "mixed"}, default "periodic"
        ``"periodic"`` (``"PBC"``): the full d x d tensor from d body-force
        load cases. ``"mixed"`` (``"MUBC"``): the laboratory setup, a
        pressure drop between the two faces normal to each axis in turn,
        walls on the other faces; one directional value per axis (the
        diagonal; off-diagonal entries NaN). See Notes.
    spacing : float or sequence of float, optional
        Voxel edge length in any length unit, one number or one per axis.
        Default: the spacing of a `Microstructure`, else 1 (the tensor is
        then in voxels squared). The tensor is in the square of this unit.
    viscosity : float, default 1.0
        Dynamic viscosity ``mu``, finite and > 0. The permeability does not
        depend on it; it scales the velocity of the returned fields.
    tol : float, default 1e-8
        In (0, 1): the relative residual (in the preconditioner norm) at
        which MINRES stops.
    maxiter : int, default 5000
        Largest number of MINRES iterations per load case, >= 1.
    on_failure : {"raise", "flag"}, default "raise"
        When a load case does not reach `tol`: raise `ConvergenceError` (its
        ``result`` attribute holds the unconverged result) or return the
        result with ``converged=False``.
    walls : {"no-slip", "free-slip"}, default "no-slip"
        Mixed conditions: the side walls (the faces parallel to the pressure
        drop) hold the fluid (no slip) or let it slide (free slip, zero
        tangential stress). Not used under periodic conditions.
    reservoir : bool, default False
        Mixed conditions: add a one-voxel layer of fluid before the inlet and
        after the outlet (as in PuMA and GeoDict), so that the inflow spreads
        over the inlet face. The pressure drop and the length of the
        permeability are then those of the padded sample.
    fields : bool, default False
        Return the velocity and pressure of every load case
        (``result.velocity``, ``result.pressure``).
    memory_limit : int or str, optional
        Bytes the solve may use (a number or a string such as ``"8 GB"``).
        Default: the memory available on the machine. The peak is estimated
        before anything large is allocated (`permeability_memory_estimate`)
        and a solve that would exceed it is refused with
        `MemoryBudgetError`.

    Returns
    -------
    PermeabilityResult
        ``tensor`` (length squared), with the diagnostics of the solve.

    Raises
    ------
    TypeError, ValueError
        For an invalid argument (the message names it): no pore voxel, a
        single pore voxel, no solid voxel (the permeability of an empty cell
        is infinite), a non-finite viscosity, a wrong shape or type.
    NotImplementedError
        For a known boundary condition not implemented here (kinematic,
        static).
    ConvergenceError
        If a load case does not converge and ``on_failure="raise"``.
    MemoryBudgetError
        If the estimated peak memory exceeds `memory_limit`.

    Warns
    -----
    UnresolvedThroatWarning
        When the narrowest throat of a percolating direction is estimated
        under ``THROAT_WARNING`` (4) voxels across.

    Notes
    -----
    **Darcy's law and the superficial velocity.** The tensor ``K`` relates
    the superficial (Darcy) velocity ``U = <u>``, the average of the fluid
    velocity over the whole cell, solid voxels (where ``u = 0``) included,
    to the macroscopic pressure gradient: ``U = -K grad P / mu``. The
    interstitial (mean pore) velocity is ``U / porosity``.

    **Periodic conditions (the cell problem).** With a periodic velocity and
    pressure fluctuation, a uniform body force ``f = e_j`` (standing for
    ``-grad P``) drives the flow of load case ``j``; column ``j`` of ``K``
    is ``mu <u_j>``. By reciprocity ``K`` is symmetric, and the Hill-Mandel
    condition ``mu <grad u_i : grad u_j> = <u_i> . e_j`` (the mean viscous
    dissipation equals the load times the apparent flux) makes it positive
    semi-definite; both are checked (``symmetry_defect``,
    ``hill_mandel_defect``, ``min_eigenvalue``). The Hill-Mandel check takes
    the diagonal ``i = j``, each load case's own dissipation, computed as the
    case finishes: the cross terms would keep every solution to the end.

    **Mixed conditions.** For axis ``a``, the pressure is ``L_a`` (the
    length of the image along ``a``) on the inlet face and 0 on the outlet
    face (unit mean gradient), with zero normal derivative of the velocity
    there, and walls on the other faces (no slip, or free slip with
    `walls`). ``K_aa`` is ``mu <u_a>``. No hierarchy between the mixed and
    periodic values holds in general; a straight channel along the drop
    gives the same value under both.

    **Discretization.** Staggered finite volumes (Harlow & Welch 1965): a
    face is an unknown when both its voxels are pores; every other face has
    zero normal velocity. The tangential no-slip condition at a wall half a
    cell away uses the ghost value ``-u``. The channel of ``w`` voxels
    between plates gives ``k (1 + 2 / w^2)``: second order.

    **Dead ends and isolated pores.** Pore clusters (face-connected) that do
    not wrap around the period along any axis (periodic), or that do not
    join the two faces of the loaded axis (mixed), carry no flux and are
    made solid before the solve (a note says how many voxels). A direction
    along which no cluster percolates gets exactly 0 on its row and column
    (``percolating[i] = False``, with a note), without a solve; the mean
    pressure of every remaining cluster (the null space of the periodic
    problem) is projected out.

    **Solver.** MINRES (Paige & Saunders 1975) on the symmetric indefinite
    system, preconditioned by ``diag(A~^-1, I / mu)``: ``A~^-1`` one
    W-cycle of aggregation multigrid per velocity component (each a
    Laplacian with Dirichlet walls on its own staggered grid; Braess 1995),
    and the identity on the pore cells for the pressure Schur complement,
    spectrally equivalent to it on an inf-sup stable grid (Silvester &
    Wathen 1994; Elman, Silvester & Wathen 2014), plus a multigrid cycle of
    the Darcy-scale operator ``B K B^T`` (``K`` the face conductances
    ``A^-1 1``), so that the iteration
    count does not grow with the resolution for a fixed geometry. The
    measured counts are in the guide (``docs/guide/permeability.rst``).

    **Throats.** ``throat`` is ``2 r_c - 1``, ``r_c`` the largest value of
    the Euclidean distance map of the pores (distance from a voxel centre to
    the nearest solid voxel centre) whose superlevel set still percolates,
    minimised over the percolating axes: the diameter of the largest sphere
    that passes through the narrowest throat of the best path.

    References
    ----------
    .. [1] F. H. Harlow, J. E. Welch, "Numerical calculation of
       time-dependent viscous incompressible flow of fluid with free
       surface", Phys. Fluids 8 (1965) 2182-2189.
    .. [2] C. C. Paige, M. A. Saunders, "Solution of sparse indefinite
       systems of linear equations", SIAM J. Numer. Anal. 12 (1975)
       617-629.
    .. [3] D. Silvester, A. Wathen, "Fast iterative solution of stabilised
       Stokes systems part II: using general block preconditioners", SIAM J.
       Numer. Anal. 31 (1994) 1352-1367.
    .. [4] D. Braess, "Towards algebraic multigrid for elliptic problems of
       second order", Computing 55 (1995) 379-393.
    .. [5] H. C. Elman, D. J. Silvester, A. J. Wathen, "Finite Elements and
       Fast Iterative Solvers", 2nd ed., Oxford University Press (2014).
    .. [6] A. S. Sangani, A. Acrivos, "Slow flow through a periodic array of
       spheres", Int. J. Multiphase Flow 8 (1982) 343-360.
    .. [7] A. A. Zick, G. M. Homsy, "Stokes flow through periodic arrays of
       spheres", J. Fluid Mech. 115 (1982) 13-26.

    Examples
    --------
    A channel 6 voxels wide between plates, in a periodic cell 8 voxels
    high: close to ``h^3 / (12 H) = 2.25`` voxels squared along the plates,
    0 across them.

    >>> import numpy as np
    >>> pores = np.zeros((4, 8), dtype=bool)
    >>> pores[:, 1:7] = True
    >>> result = apparent_permeability(pores)
    >>> print(np.round(result.tensor, 4))
    [[2.375 0.   ]
     [0.    0.   ]]
    >>> result.percolating
    (True, False)
    """
    start = time.perf_counter()
    array, spacing = labels_and_spacing(pores, spacing)
    fluid = _pore_mask(array, pore_label)
    ndim = fluid.ndim
    bc = implemented_bc(bc, IMPLEMENTED_BCS, "apparent_permeability")
    h = np.array(check_spacing(spacing, ndim))
    viscosity = check_positive(viscosity, "viscosity")
    tol = check_real(tol, "tol", 0.0, 1.0)
    maxiter = check_integer(maxiter, "maxiter", 1)
    on_failure = check_choice(on_failure, "on_failure", _ON_FAILURE)
    walls = check_choice(walls, "walls", WALLS)
    reservoir = check_bool(reservoir, "reservoir")
    fields = check_bool(fields, "fields")
    if reservoir and bc != "mixed":
        raise ValueError("reservoir=True needs bc='mixed' (an inlet and an outlet)")
    pore_count = int(fluid.sum())
    if pore_count == 0:
        raise ValueError("pores has no pore voxel: there is no pore space to flow through")
    if pore_count == 1:
        raise ValueError("pores has a single pore voxel: no flow path can exist")
    if pore_count == fluid.size and (bc == "periodic" or walls == "free-slip"):
        raise ValueError(
            "pores has no solid voxel: without walls the permeability is infinite "
            "(use bc='mixed' with walls='no-slip' for a duct)"
        )
    shape = fluid.shape
    estimate_shape = shape
    if reservoir:
        estimate_shape = tuple(n + 2 for n in shape)
    padded = int(np.prod(estimate_shape))  # the reservoir layers are all pore
    limit, source = memory_limit_bytes(memory_limit, estimate_shape)
    check_budget(
        permeability_memory_estimate(
            estimate_shape,
            bc=bc,
            porosity=min(1.0, (pore_count + padded - fluid.size) / padded),
            spacing=tuple(h),
        ),
        limit,
        "apparent_permeability",
        source=source,
    )

    scale = float(h.min())
    hn = np.ones(3)
    hn[:ndim] = h / scale
    porosity = pore_count / fluid.size
    notes: list[str] = []
    tensor = np.zeros((ndim, ndim))
    hill = np.zeros(ndim)  # the viscous energy of each load case over the volume
    iterations = [0] * ndim
    residuals = [0.0] * ndim
    divergence_residuals = [0.0] * ndim
    momentum_residuals = [0.0] * ndim
    velocity_fields = np.zeros((ndim, ndim) + shape) if fields else None
    pressure_fields = np.zeros((ndim,) + shape) if fields else None

    # Before the solve, so that the distance map is freed before the solver's arrays exist.
    widths = [throat_width(fluid, a, periodic=bc == "periodic") for a in range(ndim)]
    widths = [w for w in widths if not np.isnan(w)]
    throat = float(min(widths)) if widths else float("nan")
    release_free_memory()
    if widths:
        notes.append(f"narrowest throat about {throat:g} voxels across (2 r_c - 1)")
    if widths and throat < THROAT_WARNING:
        warnings.warn(
            UnresolvedThroatWarning(
                f"apparent_permeability: the narrowest throat is about {throat:g} voxel(s) "
                f"across (under {THROAT_WARNING:g}); the permeability is then a resolution "
                "artefact as much as a property: refine the image",
                throat,
            ),
            stacklevel=2,
        )

    if bc == "periodic":
        clusters = find_clusters(fluid, periodic=True, discretization="fv")
        keep = clusters.wraps.any(axis=1)
        percolating = tuple(bool(b) for b in clusters.wraps.any(axis=0))
        kept = (clusters.labels >= 0) & keep[np.maximum(clusters.labels, 0)]
        del clusters  # the labels: freed before the solver's arrays exist
        removed = pore_count - int(kept.sum())
        if removed:
            notes.append(
                f"{removed} pore voxel(s) in {int((~keep).sum())} cluster(s) that do not wrap "
                "around the period carry no flux and were made solid"
            )
        axes = [a for a in range(ndim) if percolating[a]]
        if axes:
            operator = StokesOperator(_as3d(kept), hn, ndim)
            del kept
            release_free_memory()
            loads = [functools.partial(body_force_compact, operator, a) for a in axes]

            def finish(index, x, count, relative):
                a = axes[index]
                tensor[:, a] = operator.mean_velocity_compact(x)
                iterations[a] = count
                residuals[a] = relative
                divergence_residuals[a], momentum_residuals[a], energy = _residuals(
                    operator, x, loads[index]
                )
                hill[a] = energy / operator.cells
                if fields:
                    full = operator.expand(x)
                    _store_fields(operator, full, velocity_fields[a], pressure_fields[a], shape)

            solve_cases(operator, loads, finish, periodic=True, tol=tol, maxiter=maxiter)
            not_percolating = [a for a in range(ndim) if not percolating[a]]
            tensor[not_percolating, :] = 0.0
            tensor[:, not_percolating] = 0.0
    else:
        percolating_list = []
        for a in range(ndim):
            clusters = find_clusters(fluid, periodic=False, discretization="fv")
            joins = clusters.low[:, a] & clusters.high[:, a]
            percolating_list.append(bool(joins.any()))
            if not joins.any():
                continue
            kept = (clusters.labels >= 0) & joins[np.maximum(clusters.labels, 0)]
            del clusters  # the labels: freed before the solver's arrays exist
            removed = pore_count - int(kept.sum())
            if removed:
                notes.append(
                    f"axis {a}: {removed} pore voxel(s) in clusters that do not join the "
                    "inlet and outlet faces carry no flux and were made solid"
                )
            if reservoir:
                pad = [(0, 0)] * ndim
                pad[a] = (1, 1)
                kept = np.pad(kept, pad, constant_values=True)
            operator = StokesOperator(
                _as3d(kept), hn, ndim, mixed=True, load=a, no_slip_walls=walls == "no-slip"
            )
            release_free_memory()
            length = kept.shape[a] * hn[a]
            load = functools.partial(pressure_drop_compact, operator, a, length)

            def finish(index, x, count, relative, a=a, kept=kept, operator=operator, load=load):
                tensor[a, a] = operator.mean_velocity_compact(x)[a]
                iterations[a] = count
                residuals[a] = relative
                divergence_residuals[a], momentum_residuals[a], energy = _residuals(
                    operator, x, load
                )
                hill[a] = energy / operator.cells
                if fields:
                    crop = (1, kept.shape[a] - 1) if reservoir else None
                    full = operator.expand(x)
                    _store_fields(
                        operator, full, velocity_fields[a], pressure_fields[a], shape, a, crop
                    )

            solve_cases(operator, [load], finish, periodic=False, tol=tol, maxiter=maxiter)
            del operator, finish, load  # freed before the next axis's operator is built
        percolating = tuple(percolating_list)
        off = ~np.eye(ndim, dtype=bool)
        tensor[off] = np.nan
    for a in range(ndim):
        if not percolating[a]:
            notes.append(f"no pore path along axis {a}: permeability 0 there")

    area = scale**2
    tensor *= area
    hill *= area
    defined = np.nan_to_num(tensor)
    norm = float(np.linalg.norm(defined))
    if bc == "mixed":
        eigenvalues = np.diag(tensor)
        symmetry = 0.0
    else:
        eigenvalues = np.linalg.eigvalsh(0.5 * (tensor + tensor.T))
        symmetry = float(np.linalg.norm(tensor - tensor.T) / norm) if norm > 0 else 0.0
    # from the diagonal: the energy of two load cases, u_a . A u_b, would need every
    # solution kept to the end (see the Notes)
    hill_defect = float(np.linalg.norm(hill - np.diag(defined)) / norm) if norm > 0 else 0.0
    if fields:
        velocity_fields *= area / viscosity
        pressure_fields *= scale
    converged = max(residuals) <= tol
    result = PermeabilityResult(
        tensor=tensor,
        bc=bc,
        discretization="mac",
        preconditioner="multigrid",
        iterations=tuple(iterations),
        residual=float(max(residuals)),
        converged=bool(converged),
        hill_mandel_defect=hill_defect,
        symmetry_defect=symmetry,
        wall_time=time.perf_counter() - start,
        min_eigenvalue=float(eigenvalues.min()),
        percolating=percolating,
        notes=tuple(notes),
        porosity=float(porosity),
        divergence_residual=float(max(divergence_residuals)),
        momentum_residual=float(max(momentum_residuals)),
        throat=throat,
        velocity=velocity_fields,
        pressure=pressure_fields,
    )
    if not converged and on_failure == "raise":
        worst = int(np.argmax(residuals))
        raise ConvergenceError(
            f"apparent_permeability did not converge: load case {worst + 1} reached a "
            f"relative residual of {residuals[worst]:.3g} after {iterations[worst]} "
            f"iterations (tol={tol:g}, maxiter={maxiter}); raise maxiter or tol, or pass "
            "on_failure='flag' to get the unconverged result",
            result,
        )
    return result


def _norm(x: np.ndarray) -> float:
    """Euclidean norm summed in a fixed order (the same bits whatever the threads)."""
    flat = np.ascontiguousarray(x).reshape(-1)
    return float(np.sqrt(dot(flat, flat)))


def _residuals(
    operator: StokesOperator, x: np.ndarray, load: Callable[[], np.ndarray]
) -> tuple[float, float, float]:
    """Relative divergence and momentum residuals of the compact solution `x` of the load
    ``load()``, and its viscous energy ``u . A u`` (on the operator's work grids; the
    sums of the full vectors, whose entries off the unknowns are zeros).
    """
    energy = operator.viscous_energy_compact(x)
    div = float(_norm(operator.divergence_compact(x)) / np.sqrt(energy)) if energy > 0 else 0.0
    y = np.empty_like(x)
    operator.apply_compact(x, y)
    b = load()
    y -= b
    end = operator.segments[operator.ndim].start
    load_norm = _norm(b[:end])
    momentum = float(_norm(y[:end]) / load_norm) if load_norm > 0 else 0.0
    return div, momentum, energy


def _store_fields(operator, x, velocity, pressure, shape, axis=None, crop=None):
    """Voxel-centred velocity (mean of the two faces) and pressure of `x`, cropped to
    the image (reservoir layers removed).
    """
    ndim = len(shape)
    for comp in operator.components:
        u = operator.velocity(x, comp.axis)
        c = comp.axis
        if comp.shift == 1:
            lo = np.take(u, range(0, u.shape[c] - 1), axis=c)
            hi = np.take(u, range(1, u.shape[c]), axis=c)
        else:
            lo = u
            hi = np.roll(u, 1, axis=c)
            if operator.mixed:
                index = [slice(None)] * 3
                index[c] = 0
                hi[tuple(index)] = 0.0
        centred = 0.5 * (lo + hi)
        p = operator.pressure(x)
        if crop is not None:
            centred = np.take(centred, range(*crop), axis=axis)
            p = np.take(p, range(*crop), axis=axis)
        velocity[c] = centred.reshape(shape)
        if c == ndim - 1:
            pressure[...] = np.where(
                np.take(operator.fluid, range(*crop), axis=axis) if crop else operator.fluid,
                p,
                0.0,
            ).reshape(shape)
