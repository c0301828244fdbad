"""Values returned by the cell solvers."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


def _read_only(result, names: tuple[str, ...]) -> None:
    """Store the array attributes `names` of a frozen result as read-only float64 copies
    (None stays None).
    """
    for name in names:
        value = getattr(result, name)
        if value is not None:
            array = np.array(value, dtype=np.float64)
            array.setflags(write=False)
            object.__setattr__(result, name, array)


@dataclass(frozen=True, eq=False)
class _ApparentResult:
    """The fields every apparent-property result has (documented on each result)."""

    tensor: np.ndarray
    bc: str
    discretization: str
    iterations: tuple[int, ...]
    residual: float
    converged: bool
    hill_mandel_defect: float
    symmetry_defect: float
    wall_time: float
    min_eigenvalue: float = float("nan")
    voigt: float = float("nan")
    reuss: float = float("nan")
    bounds_defect: float = float("nan")
    percolating: tuple[bool, ...] = ()
    notes: tuple[str, ...] = ()
    voigt_tensor: np.ndarray | None = None
    reuss_tensor: np.ndarray | None = None
    preconditioner: str = "fft"
    stop: str = "residual"
    tensor_accuracy: float = float("nan")

    def __post_init__(self) -> None:
        _read_only(self, ("tensor", "voigt_tensor", "reuss_tensor"))


@dataclass(frozen=True, eq=False)
class ConductivityResult(_ApparentResult):
    """Apparent conductivity of one volume element and how it was obtained.

    Attributes
    ----------
    tensor : ndarray of shape (d, d), float64
        Apparent conductivity tensor, in the units of the input conductivity.
        Under ``"mixed"`` conditions only the diagonal is defined; the
        off-diagonal entries are NaN. Read-only.
    bc : str
        Canonical name of the boundary condition (``"periodic"``, ...).
    discretization : str
        ``"q1"``: voxel finite elements with trilinear (bilinear in 2-D)
        nodal shape functions; ``"fv"``: cell-centred finite volumes with
        harmonic-mean face conductances.
    iterations : tuple of int
        Conjugate-gradient iterations, one entry per load case (0 for a load
        case that needed no solve).
    residual : float
        Largest final relative residual over the load cases, in the norm of
        the stopping rule of the solver.
    converged : bool
        Whether every load case reached the requested tolerance (in the norm
        of `stop`).
    hill_mandel_defect : float
        Relative gap between the volume average of flux times gradient and
        the product of their volume averages (Frobenius norms).
    symmetry_defect : float
        ``||K - K^T|| / ||K||`` (Frobenius norms).
    wall_time : float
        Seconds spent in the call, validation included.
    min_eigenvalue : float
        Smallest eigenvalue of the symmetric part of `tensor` (of its
        diagonal under mixed conditions); 0 where a direction carries no
        flux.
    voigt, reuss : float
        Arithmetic and harmonic means of the voxel conductivities (the
        harmonic mean is 0 with voids): every apparent tensor lies between.
        For conductivity tensors, the largest eigenvalue of `voigt_tensor`
        and the smallest of `reuss_tensor`.
    bounds_defect : float
        How far the eigenvalues (diagonal under mixed conditions) leave
        ``[reuss, voigt]``, relative to `voigt`; 0 inside. For conductivity
        tensors, how far the symmetric part of `tensor` leaves
        ``reuss_tensor <= K <= voigt_tensor`` as quadratic forms (largest
        eigenvalue of the excess; under mixed conditions the diagonal against
        ``1 / <K^-1>_ii`` and ``<K>_ii``), relative to `voigt`.
    percolating : tuple of bool
        Per axis, whether a conducting cluster joins the two faces normal to
        it (wraps around the period under periodic conditions). All True
        without voids.
    notes : tuple of str
        Plain-language diagnostics: voids and floating clusters, directions
        without a conducting path, incompatible static loads, the
        eigenvalue range of anisotropic tensors.
    voigt_tensor, reuss_tensor : ndarray of shape (d, d), float64, or None
        ``<K>`` and ``<K^-1>^-1`` (zero with voids): the Voigt and Reuss
        bounds as tensors (``voigt I`` and ``reuss I`` for scalar input).
        Read-only.
    preconditioner : str
        The preconditioner of the conjugate gradients: ``"fft"`` (reference
        medium diagonalised by fast transforms) or ``"multigrid"``.
    stop : str
        The stopping rule: ``"residual"`` (relative residual at most ``tol``)
        or ``"tensor"`` (estimated relative error of the apparent tensor at
        most ``tol``).
    tensor_accuracy : float
        With ``stop="tensor"``: the estimated bound on ``|K_ij - K*_ij|``
        over the entries, relative to ``||K||`` (Frobenius), ``K*`` the
        exact tensor of the discrete problem; under static conditions to
        first order. NaN under the residual rule, which does not estimate
        it.

    Notes
    -----
    Equality is identity (``eq=False``): compare tensors with
    ``numpy.allclose`` and a tolerance suited to the solver tolerance.
    """

    def __post_init__(self) -> None:
        _read_only(self, ("tensor", "voigt_tensor", "reuss_tensor"))


@dataclass(frozen=True, eq=False)
class StiffnessResult(_ApparentResult):
    """Apparent stiffness of one volume element and how it was obtained.

    Attributes
    ----------
    tensor : ndarray of shape (3, 3) (2-D plane strain) or (6, 6) (3-D), float64
        Apparent stiffness in Mandel notation (``sqrt2`` on the shear
        components, module ``sve.solvers.moduli``), in the units of
        the input stiffness. Under ``"mixed"`` conditions the d x d block of
        normal components and the block of shear components are defined;
        their coupling entries are NaN. Read-only.
    compliance : ndarray, shape of `tensor`
        Its inverse (under ``"static"`` conditions, the computed apparent
        compliance itself; under ``"mixed"``, the inverse of each of the two
        blocks, NaN in the coupling). NaN if the tensor is singular to the solver
        accuracy (smallest eigenvalue below ``tol`` times the norm of the
        stiffest material: a solid with voids that does not carry every
        load). Read-only.
    bc : str
        Canonical name of the boundary condition.
    discretization : str
        ``"q1"``: trilinear (bilinear) voxel elements, 2**d-point Gauss rule.
    iterations : tuple of int
        Conjugate-gradient iterations per load case.
    residual : float
        Largest final relative residual over the load cases.
    converged : bool
        Whether every load case reached the tolerance.
    hill_mandel_defect : float
        ``||W - C|| / ||C||`` with ``W_ij = <sigma_j : eps_i>`` over the load
        cases (static: the same with the compliance).
    symmetry_defect : float
        ``||C - C^T|| / ||C||`` (Frobenius; defined entries).
    min_eigenvalue : float
        Smallest eigenvalue of the symmetric part of `tensor` (of its two
        blocks under mixed conditions).
    wall_time : float
        Seconds spent in the call.
    notes : tuple of str
        Plain-language diagnostics.
    voigt_tensor, reuss_tensor : ndarray, shape of `tensor`, float64
        The Voigt bound ``<C>`` and the Reuss bound ``<C^-1>^-1`` (zero when
        the image has voids) of every apparent stiffness of the image (Hill
        1952), read-only.
    bounds_defect : float
        How far `tensor` leaves ``reuss_tensor <= C <= voigt_tensor`` as
        quadratic forms (largest eigenvalue of ``C - voigt_tensor`` and of
        ``reuss_tensor - C``), relative to the norm of `voigt_tensor`; 0
        inside. Mixed conditions: each block ``b`` against ``<C>_bb`` and
        ``(<C^-1>_bb)^-1`` (which bounds the static compliance's block, hence
        the mixed block, from below).
    voigt, reuss : float
        Largest eigenvalue of `voigt_tensor` and smallest of `reuss_tensor`
        (0 with voids): every eigenvalue of an apparent stiffness lies
        between.
    percolating : tuple of bool
        Per axis, whether a face-connected solid cluster joins the two faces
        normal to it (wraps around the period under periodic conditions).
        All True without voids.
    preconditioner : str
        ``"fft"``: the reference medium diagonalised by fast transforms (the
        only preconditioner of elasticity so far).
    stop : str
        ``"residual"``: the relative residual at most ``tol`` (the only
        stopping rule of elasticity so far).
    tensor_accuracy : float
        NaN: the residual rule does not estimate the tensor's accuracy.
    """

    compliance: np.ndarray = field(kw_only=True)

    def __post_init__(self) -> None:
        _read_only(self, ("tensor", "compliance", "voigt_tensor", "reuss_tensor"))


@dataclass(frozen=True, eq=False)
class PermeabilityResult(_ApparentResult):
    """Apparent permeability of one pore space and how it was obtained.

    Attributes
    ----------
    tensor : ndarray of shape (d, d), float64
        Apparent permeability, in the square of the unit of the spacing (the
        superficial Darcy velocity, averaged over the whole cell, solid
        included, is ``-tensor @ grad p / viscosity``). Under ``"mixed"``
        conditions only the diagonal is defined; the off-diagonal entries are
        NaN. A direction without a percolating pore path has 0 on its row and
        column. Read-only.
    bc : str
        ``"periodic"`` or ``"mixed"``.
    discretization : str
        ``"mac"``: staggered finite volumes, velocities on the voxel faces,
        pressures in the voxels.
    iterations : tuple of int
        MINRES iterations, one entry per load case (0 for a direction that
        needed no solve).
    residual : float
        Largest final relative residual over the load cases, in the norm of
        the preconditioner (the quantity MINRES minimises and stops on).
    converged : bool
        Whether every load case reached the requested tolerance.
    hill_mandel_defect : float
        ``||W - K|| / ||K||`` with ``W_ij`` the mean viscous dissipation of
        the load cases ``i`` and ``j`` over the product of their loads
        (``mu <grad u_i : grad u_j> / (f_i f_j)``) and ``K`` the tensor from
        the mean velocities (mixed: the diagonal only).
    symmetry_defect : float
        ``||K - K^T|| / ||K||`` (Frobenius; 0 under mixed conditions).
    wall_time : float
        Seconds spent in the call.
    min_eigenvalue : float
        Smallest eigenvalue of the symmetric part of `tensor` (of its
        diagonal under mixed conditions).
    percolating : tuple of bool
        Per axis, whether a face-connected pore cluster wraps around the
        period (periodic) or joins the two faces normal to it (mixed).
    notes : tuple of str
        Plain-language diagnostics: removed dead clusters, directions without
        a pore path, the narrowest throat.
    porosity : float
        Pore fraction of the image (every pore voxel, isolated ones included).
    divergence_residual : float
        Largest over the load cases of ``||div u|| / ||grad u||`` (cell
        divergences against the face velocity differences, Euclidean norms).
    momentum_residual : float
        Largest over the load cases of ``||A u + B^T p - f|| / ||f||``
        (Euclidean norms over the active faces).
    throat : float
        Estimated width of the narrowest throat on the widest path (voxels),
        ``2 r_c - 1`` with ``r_c`` the percolation threshold of the distance
        map (see `apparent_permeability`); NaN where nothing percolates.
    velocity : ndarray or None
        With ``fields=True``: the velocity of each load case at the voxel
        centres (mean of the two faces), shape ``(d, d) + image shape`` for
        ``[load case, component, ...]``, for a unit pressure gradient (body
        force) along the load axis, in the units ``length^2 * pressure /
        (length * viscosity)``; otherwise None. Read-only.
    pressure : ndarray or None
        With ``fields=True``: the pressure of each load case in the voxels,
        shape ``(d,) + image shape`` (periodic: the periodic fluctuation
        driven by the unit body force, zero mean per pore cluster; mixed: the
        full pressure, from the image length at the inlet to 0 at the
        outlet); 0 in the solid; otherwise None. Read-only.
    preconditioner : str
        ``"multigrid"`` (the block preconditioner of MINRES, see
        `sve.apparent_permeability`).
    stop : str
        ``"residual"``.
    voigt, reuss, bounds_defect, tensor_accuracy : float
        NaN: no such bounds or estimate for the permeability; ``voigt_tensor``
        and ``reuss_tensor`` are None.
    """

    porosity: float = field(kw_only=True)
    divergence_residual: float = field(kw_only=True)
    momentum_residual: float = field(kw_only=True)
    throat: float = field(kw_only=True, default=float("nan"))
    velocity: np.ndarray | None = field(kw_only=True, default=None)
    pressure: np.ndarray | None = field(kw_only=True, default=None)

    def __post_init__(self) -> None:
        _read_only(self, ("tensor", "velocity", "pressure"))


class ConvergenceError(RuntimeError):
    """The iterative solver did not reach its tolerance within ``maxiter``.

    Parameters
    ----------
    message : str
        What failed, with the iteration count and the residual reached.
    result : ConductivityResult or None
        The unconverged result (``converged=False``), for diagnostics.
    """

    def __init__(self, message: str, result: ConductivityResult | None = None) -> None:
        super().__init__(message)
        self.result = result

    def __reduce__(self):
        # Keep the result when the error travels between processes (Dask).
        return type(self), (self.args[0], self.result)
