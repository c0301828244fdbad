"""Values returned by the cell solvers."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, eq=False)
class ConductivityResult:
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
        Whether every load case reached the requested tolerance.
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

    Notes
    -----
    Equality is identity (``eq=False``): compare tensors with
    ``numpy.allclose`` and a tolerance suited to the solver tolerance.
    """

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

    def __post_init__(self) -> None:
        for name in ("tensor", "voigt_tensor", "reuss_tensor"):
            value = getattr(self, name)
            if value is None and name != "tensor":
                continue
            array = np.array(value, dtype=np.float64)
            array.setflags(write=False)
            object.__setattr__(self, name, array)


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
