"""Apparent conductivity of a voxel image (Q1 voxel finite elements)."""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike

from sve.solvers._bc import implemented_bc
from sve.solvers._kernels import (
    dot,
    mean_flux_2d,
    mean_flux_3d,
    nodal_flux_2d,
    nodal_flux_3d,
)
from sve.solvers._pcg import pcg
from sve.solvers._q1 import corner_offsets, element_modes, fft_preconditioner
from sve.solvers._validation import (
    check_choice,
    check_maxiter,
    check_phases,
    check_positive,
    check_tol,
)
from sve.solvers.result import ConductivityResult, ConvergenceError

IMPLEMENTED_BCS = ("periodic",)
_ON_FAILURE = ("raise", "flag")


def apparent_conductivity(
    phases: ArrayLike,
    conductivity: Sequence[float] | ArrayLike,
    *,
    bc: str = "periodic",
    spacing: float = 1.0,
    tol: float = 1e-6,
    maxiter: int = 1000,
    on_failure: str = "raise",
) -> ConductivityResult:
    r"""Compute the apparent conductivity tensor of a voxel image.

    Each voxel is one Q1 finite element (bilinear in 2-D, trilinear in 3-D)
    with one scalar conductivity; the unknowns are nodal temperatures. One
    cell problem is solved per unit macroscopic gradient ``e_1 .. e_d``.

    Parameters
    ----------
    phases : array_like of shape (N0, N1) or (N0, N1, N2), integer
        Phase label of every voxel, labels >= 0, at least 2 voxels per axis.
    conductivity : sequence of float, or ndarray of the shape of `phases`
        Either one value per phase label (``conductivity[label]``; length
        greater than the largest label), or one value per voxel (an array of
        the shape of `phases`; the labels are then not used). Finite and
        > 0; zero conductivity (voids) is not supported yet.
    bc : str, default "periodic"
        Boundary condition: ``"periodic"`` (alias ``"PBC"``). The names
        ``"kinematic"`` (``"KUBC"``), ``"static"`` (``"SUBC"``) and
        ``"mixed"`` (``"MUBC"``) are recognised but not implemented yet.
    spacing : float, default 1.0
        Voxel edge length. The apparent tensor does not depend on it.
    tol : float, default 1e-6
        Relative residual at which conjugate gradients stop, in (0, 1); see
        Notes for what it guarantees on the tensor.
    maxiter : int, default 1000
        Largest number of iterations per load case, >= 1.
    on_failure : {"raise", "flag"}, default "raise"
        What to do when a load case does not reach `tol` within `maxiter`:
        raise `ConvergenceError` (its ``result`` attribute holds the
        unconverged result), or return the result with ``converged=False``.

    Returns
    -------
    ConductivityResult
        ``tensor`` of shape (d, d), float64, in the units of `conductivity`,
        with the diagnostics of the solve.

    Raises
    ------
    TypeError, ValueError
        For an invalid argument; the message names it.
    NotImplementedError
        For a known boundary condition other than periodic.
    ConvergenceError
        If a load case does not converge and ``on_failure="raise"``.

    Notes
    -----
    **Cell problem.** For a macroscopic gradient ``E`` the temperature is
    ``T = E . x + u`` with ``u`` periodic, and ``u`` solves

    .. math:: \int_V k (E + \nabla u) \cdot \nabla v \, dV = 0
              \quad \text{for every periodic } v.

    The flux is ``q = k grad T`` (conductivity times gradient, without the
    minus sign of Fourier's law), and column ``j`` of the apparent tensor is
    ``K e_j = <q>`` for ``E = e_j``, ``<.>`` the volume average. The element
    average of the Q1 gradient is exact from the nodal values (mean of the
    edge differences), so ``<q>`` is evaluated exactly.

    **Discretization.** With ``A = sum_e k_e Ke`` assembled on the periodic
    node grid and ``w_E`` the nodal values of ``E . x`` on one voxel
    (``w_E[a] = h sum_i a_i E_i``), the Galerkin equations are
    ``A u = b = -sum_e k_e Ke w_E``. ``Ke`` is the tensor-product element
    stiffness of unit conductivity (1-D stiffness and mass); it is applied
    matrix-free, diagonalised by the Walsh-Hadamard transform of the
    ``2**d`` corner values (see ``sve/solvers/_q1.py``).

    **Solver.** Preconditioned conjugate gradients (Hestenes & Stiefel
    1952; in FFT homogenization Zeman et al. 2010) with the periodic Q1
    operator of a homogeneous reference medium, ``M = k_0 A_1``, inverted in
    Fourier space (reference-medium preconditioning after Moulinec & Suquet
    1998). Its symbol is

    .. math:: \lambda(\theta) = \sum_i K_1(\theta_i)
              \prod_{j \ne i} M_1(\theta_j), \quad
              K_1 = \frac{2 - 2\cos\theta}{h}, \quad
              M_1 = \frac{h (4 + 2\cos\theta)}{6},

    with ``theta_i = 2 pi m_i / N_i``; the constant mode (``lambda = 0``,
    the null space of ``A``) is removed, so ``u`` has zero mean. Since
    ``k_min A_1 <= A <= k_max A_1``, the preconditioned operator has a
    condition number at most ``kappa = k_max / k_min``, whatever the
    resolution: the iteration count depends on the contrast, not on the
    grid size. ``k_0`` is the mean conductivity; the iterates do not
    depend on it.

    **Stopping rule and accuracy.** A load case stops when the relative
    residual in the preconditioner norm,
    ``rho = sqrt(r . M^-1 r / b . M^-1 b)``, is at most `tol` (``r`` is the
    recursively updated residual). In exact arithmetic this bounds the
    energy error of ``u`` by ``sqrt(kappa) rho`` relative to the energy
    of the exact fluctuation, and the error of the tensor with respect to
    the exact discrete tensor ``K*`` by

    .. math:: |K_{ij} - K^*_{ij}| \le \sqrt{\kappa}\, \rho_j
              \sqrt{(\bar k - K^*_{ii})(\bar k - K^*_{jj})},
              \qquad
              0 \le K_{jj} - K^*_{jj} \le \kappa \rho_j^2
              (\bar k - K^*_{jj}),

    with ``kbar`` the mean conductivity (Voigt bound): off-diagonal entries
    are accurate to about ``sqrt(kappa) tol`` and diagonal ones to about
    ``kappa tol**2``, relative to the gap to the Voigt bound. The
    discretization error (voxel staircase, Q1) is separate.

    **Diagnostics.** ``symmetry_defect`` is ``||K - K^T|| / ||K||``.
    ``hill_mandel_defect`` is ``||W - K|| / ||K||`` with
    ``W_ij = <q_j . g_i>`` the volume average of flux times gradient over the
    load cases ``i, j`` (``<g_i> = e_i`` exactly for a periodic ``u``); it
    equals ``u_i . f_j / V`` with ``f_j`` the nodal residual of load case
    ``j``. Its diagonal vanishes for every Galerkin (conjugate-gradient)
    iterate, up to round-off; its off-diagonal part, like the symmetry
    defect, is of the order of the tensor error above.

    References
    ----------
    .. [1] M. R. Hestenes, E. Stiefel, "Methods of conjugate gradients for
       solving linear systems", J. Res. Natl. Bur. Stand. 49 (1952) 409-436.
    .. [2] H. Moulinec, P. Suquet, "A numerical method for computing the
       overall response of nonlinear composites with complex
       microstructure", Comput. Methods Appl. Mech. Engrg. 157 (1998)
       69-94.
    .. [3] J. Zeman, J. Vondrejc, J. Novak, I. Marek, "Accelerating a
       FFT-based solver for numerical homogenization of periodic media by
       conjugate gradients", J. Comput. Phys. 229 (2010) 8065-8071.
    .. [4] E. J. Garboczi, "Finite element and finite difference programs
       for computing the linear electric and elastic properties of digital
       images of random materials", NISTIR 6269 (1998).

    Examples
    --------
    A laminate of two phases with layers normal to axis 1: the arithmetic
    mean along the layers, the harmonic mean across them.

    >>> import numpy as np
    >>> phases = np.zeros((4, 4), dtype=np.int8)
    >>> phases[:, 2:] = 1
    >>> result = apparent_conductivity(phases, [1.0, 10.0])
    >>> bool(np.allclose(result.tensor, [[5.5, 0.0], [0.0, 20.0 / 11.0]]))
    True
    >>> result.bc, result.converged
    ('periodic', True)
    """
    start = time.perf_counter()
    phases = check_phases(phases)
    k = _element_conductivity(phases, conductivity)
    bc = implemented_bc(bc, IMPLEMENTED_BCS, "apparent_conductivity")
    h = check_positive("spacing", spacing)
    tol = check_tol(tol)
    maxiter = check_maxiter(maxiter)
    on_failure = check_choice("on_failure", on_failure, _ON_FAILURE)

    ndim = phases.ndim
    shape = phases.shape
    nodal_flux = nodal_flux_2d if ndim == 2 else nodal_flux_3d
    mean_flux = mean_flux_2d if ndim == 2 else mean_flux_3d
    modes = element_modes(ndim, h)
    corners = corner_offsets(ndim)
    zero_offset = np.zeros(2**ndim)
    zero_field = np.zeros(shape)
    precondition = fft_preconditioner(shape, h, reference=float(k.mean()))

    def apply_operator(u: np.ndarray, out: np.ndarray) -> None:
        nodal_flux(u, zero_offset, k, modes, out)

    work = tuple(np.empty(shape) for _ in range(4))
    rhs = np.empty(shape)
    fluctuations = np.empty((ndim, *shape))
    offsets = h * np.ascontiguousarray(corners.T, dtype=np.float64)  # row j: w_E, E = e_j
    gradients = np.eye(ndim)
    tensor = np.empty((ndim, ndim))
    column = np.empty(ndim)
    iterations = []
    residuals = []
    for j in range(ndim):
        # b = -sum_e k_e Ke w_E: minus the nodal fluxes of the affine field E . x alone.
        nodal_flux(zero_field, offsets[j], k, modes, rhs)
        np.negative(rhs, out=rhs)
        count, residual = pcg(
            apply_operator, precondition, rhs, fluctuations[j], tol=tol, maxiter=maxiter, work=work
        )
        iterations.append(count)
        residuals.append(residual)
        mean_flux(fluctuations[j], k, gradients[j], h, column)
        tensor[:, j] = column

    volume = k.size * h**ndim
    energy_gap = np.empty((ndim, ndim))
    nodal_residual = work[0]
    for j in range(ndim):
        nodal_flux(fluctuations[j], offsets[j], k, modes, nodal_residual)
        for i in range(ndim):
            energy_gap[i, j] = dot(fluctuations[i].reshape(-1), nodal_residual.reshape(-1))
    energy_gap /= volume
    scale = np.linalg.norm(tensor)
    converged = max(residuals) <= tol
    result = ConductivityResult(
        tensor=tensor,
        bc=bc,
        discretization="q1",
        iterations=tuple(iterations),
        residual=max(residuals),
        converged=converged,
        hill_mandel_defect=float(np.linalg.norm(energy_gap) / scale),
        symmetry_defect=float(np.linalg.norm(tensor - tensor.T) / scale),
        wall_time=time.perf_counter() - start,
    )
    if not converged and on_failure == "raise":
        worst = int(np.argmax(residuals))
        raise ConvergenceError(
            f"apparent_conductivity did not converge: load case e_{worst + 1} reached a "
            f"relative residual of {residuals[worst]:.3g} after {iterations[worst]} "
            f"iterations (tol={tol:g}, maxiter={maxiter}); raise maxiter or tol, or pass "
            f"on_failure='flag' to get the unconverged result",
            result,
        )
    return result


def _element_conductivity(phases: np.ndarray, conductivity: ArrayLike) -> np.ndarray:
    """Return the conductivity of every voxel, float64, shape of `phases`."""
    values = np.asarray(conductivity)
    if values.dtype == np.bool_ or not (
        np.issubdtype(values.dtype, np.integer) or np.issubdtype(values.dtype, np.floating)
    ):
        raise TypeError(f"conductivity must hold real numbers, got dtype {values.dtype}")
    per_phase = values.ndim == 1
    if per_phase:
        largest = int(phases.max())
        if values.size <= largest:
            raise ValueError(
                f"conductivity must give one value per phase label 0..{largest}, "
                f"got {values.size} value(s)"
            )
    elif values.shape != phases.shape:
        raise ValueError(
            "conductivity must be a 1-D sequence of per-phase values or an array of the "
            f"shape of phases {phases.shape}, got shape {values.shape}"
        )
    values = values.astype(np.float64)
    for rule, bad in (
        ("finite", ~np.isfinite(values)),
        ("> 0", values < 0.0),
        ("> 0 (zero conductivity, i.e. voids, is not supported yet)", values == 0.0),
    ):
        if bad.any():
            raise ValueError(f"conductivity must be {rule}, got {float(values[bad][0])!r}")
    field = values[phases] if per_phase else values
    return np.ascontiguousarray(field, dtype=np.float64)
