"""Apparent conductivity of a voxel image (Q1 voxel finite elements)."""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike

from sve.solvers._bc import implemented_bc
from sve.solvers._cell_problem import solve_cell
from sve.solvers._validation import (
    check_choice,
    check_maxiter,
    check_phases,
    check_positive,
    check_tol,
)
from sve.solvers.result import ConductivityResult, ConvergenceError

IMPLEMENTED_BCS = ("kinematic", "periodic", "static", "mixed")
_ON_FAILURE = ("raise", "flag")
_DISCRETIZATIONS = ("q1", "fv")


def apparent_conductivity(
    phases: ArrayLike,
    conductivity: Sequence[float] | ArrayLike,
    *,
    bc: str = "periodic",
    spacing: float = 1.0,
    tol: float = 1e-6,
    maxiter: int = 1000,
    on_failure: str = "raise",
    discretization: str = "q1",
) -> ConductivityResult:
    r"""Compute the apparent conductivity tensor of a voxel image.

    Each voxel is one Q1 finite element (bilinear in 2-D, trilinear in 3-D)
    with one scalar conductivity and nodal temperatures, or, with
    ``discretization="fv"``, one cell-centred finite volume. One cell
    problem is solved per load case (unit macroscopic gradient or flux along
    each axis).

    Parameters
    ----------
    phases : array_like of shape (N0, N1) or (N0, N1, N2), integer
        Phase label of every voxel, labels >= 0, at least 2 voxels per axis.
    conductivity : sequence of float, or ndarray of the shape of `phases`
        Either one value per phase label (``conductivity[label]``; length
        greater than the largest label), or one value per voxel (an array of
        the shape of `phases`; the labels are then not used). Finite and
        >= 0, in any unit (W/(m K), S/m, ...); zero marks a void. At least
        one voxel must conduct.
    bc : str, default "periodic"
        Boundary condition (Huet 1990; Hazanov & Huet 1994): ``"kinematic"``
        (``"KUBC"``), ``"periodic"`` (``"PBC"``), ``"static"``
        (``"SUBC"``) or ``"mixed"`` (``"MUBC"``); see Notes.
    spacing : float, default 1.0
        Voxel edge length, in any length unit. The apparent tensor does not
        depend on it.
    tol : float, default 1e-6
        Relative residual at which conjugate gradients stop, in (0, 1); see
        Notes for what it guarantees on the tensor.
    maxiter : int, default 1000
        Largest number of iterations per load case, >= 1.
    on_failure : {"raise", "flag"}, default "raise"
        What to do when a load case does not reach `tol` within `maxiter`:
        raise `ConvergenceError` (its ``result`` attribute holds the
        unconverged result), or return the result with ``converged=False``.
    discretization : {"q1", "fv"}, default "q1"
        Q1 voxel finite elements (every boundary condition), or cell-centred
        finite volumes with harmonic-mean face conductances (``"periodic"``,
        ``"kinematic"``, ``"mixed"``).

    Returns
    -------
    ConductivityResult
        ``tensor`` of shape (d, d), float64, in the units of `conductivity`
        (NaN off the diagonal under ``"mixed"``), with the diagnostics of the
        solve: iterations, residual, Hill-Mandel and symmetry defects,
        smallest eigenvalue, Voigt and Reuss means, percolation per axis,
        notes, discretization and wall time.

    Raises
    ------
    TypeError, ValueError
        For an invalid argument; the message names it.
    NotImplementedError
        For ``bc="static"`` with ``discretization="fv"``.
    ConvergenceError
        If a load case does not converge and ``on_failure="raise"``.

    Notes
    -----
    **Boundary conditions.** The flux is ``q = k grad T`` (conductivity
    times gradient, without the minus sign of Fourier's law) and ``<.>`` is
    the volume average.

    * ``periodic``: ``T = E . x + u`` with ``u`` periodic; column ``j`` of
      the tensor is ``<q>`` for ``E = e_j``. The node grid has N nodes per
      axis.
    * ``kinematic``: ``T = E . x`` on the whole boundary, ``u = 0`` there;
      column ``j`` is ``<q>`` for ``E = e_j``. Non-periodic problems live on
      the (N + 1)**d node grid.
    * ``static``: the flux ``q . n = Q . n`` on the whole boundary, i.e. the
      consistent nodal loads ``f = int (Q . n) N_a dS = A_1 (Q . x)``; the
      Neumann problem ``A T = f`` is solved with its constants removed,
      column ``j`` of the apparent resistivity ``R`` is ``<grad T>`` for
      ``Q = e_j``, and the tensor is ``R^-1``.
    * ``mixed`` (orthogonal uniform mixed, the condition of TauFactor,
      PoreSpy and PuMA): for load direction ``i``, ``T = x_i`` on the two
      faces normal to ``i`` and no flux through the others; the diagonal
      entry ``i`` is ``<q_i>``. The averages ``<q_j>``, ``j != i``, of this
      problem are not entries of a tensor (the other load cases fix other
      faces), so the off-diagonal entries are NaN. The diagonal obeys
      Hill-Mandel exactly: ``<q . grad T> = <q_i>``.

    With one conforming discretization, the ordering of Huet (1990) holds
    for every image exactly, not only in the limit: ``C_static <= C_periodic
    <= C_kinematic`` as quadratic forms and
    ``1 / (R_static)_ii <= C_mixed,ii <= (C_kinematic)_ii`` (Hazanov &
    Huet 1994), up to the solver tolerance.

    **Discretization.** With ``A = sum_e k_e Ke`` assembled on the node
    grid and ``w_E`` the nodal values of ``E . x`` on one voxel
    (``w_E[a] = h sum_i a_i E_i``), the Galerkin equations are
    ``A u = b = -sum_e k_e Ke w_E`` on the free nodes. ``Ke`` is the
    tensor-product element stiffness of unit conductivity (1-D stiffness
    and mass); it is applied matrix-free, diagonalised by the
    Walsh-Hadamard transform of the ``2**d`` corner values (see
    ``sve/solvers/_q1.py``). The element average of the Q1 gradient is
    exact from the nodal values, so ``<q>`` is evaluated exactly.

    **Q1 or finite volumes.** Both converge to the same continuum tensor,
    at first order in the voxel size for staircase interfaces. They differ
    most where voxels of a good conductor touch along an edge or at a
    corner only: Q1 elements share the node and conduct through it (too
    well: a checkerboard lies above the exact ``sqrt(k1 k2)``), finite
    volumes exchange flux through faces only (too little: below it). With
    voids this decides percolation itself: a diagonal chain of voxels
    percolates in Q1 and not in finite volumes. Image-analysis tools
    (TauFactor, PoreSpy, PuMA) use finite volumes; use ``"fv"`` to compare
    with them and ``"q1"`` for the exact boundary-condition hierarchy.

    **Voids and floating clusters.** Zero conductivities are allowed.
    Unknowns that touch no conducting voxel are removed, and every cluster
    of conducting voxels that no Dirichlet face holds (all of them under
    periodic and static conditions) has its mean projected out of the
    preconditioned residual, so conjugate gradients work on the range of
    the operator. A direction without a conducting path gets exactly 0
    under periodic and mixed conditions (no solve, a note, and
    ``percolating[i] = False``). Under static conditions a uniform flux
    through void boundary faces is incompatible: the tensor is 0 outside
    the subspace of fluxes that load every cluster with zero net flux, and
    a note says so.

    **Solver.** Preconditioned conjugate gradients (Hestenes & Stiefel
    1952; in FFT homogenization Zeman et al. 2010) with the operator of a
    homogeneous reference medium with the same boundary conditions,
    ``M = k_0 A_1`` (reference-medium preconditioning after Moulinec &
    Suquet 1998), diagonalised per axis by the FFT (periodic), the sine
    transform DST-I (Dirichlet) or the cosine transform DCT-I (Neumann); DST-II
    and DCT-II for finite volumes (see ``sve/solvers/_transforms.py``). Its
    symbol is

    .. math:: \lambda(\theta) = \sum_i K_1(\theta_i)
              \prod_{j \ne i} M_1(\theta_j), \quad
              K_1 = \frac{2 - 2\cos\theta}{h}, \quad
              M_1 = \frac{h (4 + 2\cos\theta)}{6},

    with ``theta_i = 2 pi m_i / N_i`` (periodic) or ``pi m_i / N_i``;
    the constant mode (``lambda = 0``, the null space of ``A`` under
    periodic and static conditions) is removed. Since
    ``k_min A_1 <= A <= k_max A_1``, the preconditioned operator has a
    condition number at most ``kappa = k_max / k_min``, whatever the
    resolution: the iteration count depends on the contrast, not on the
    grid size. ``k_0`` is the mean conductivity; the iterates do not
    depend on it.

    Voids make ``k_min = 0``: the iteration count then depends on the
    geometry of the clusters, not on the resolution of a given geometry.
    Mixed conditions solve their load cases with one preconditioner each.

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
    discretization error (voxel staircase, Q1) is separate. A load whose
    energy ``b . M^-1 b`` is at round-off level of the affine field's
    (homogeneous medium, laminate along its layers) needs no iteration.

    **Diagnostics.** ``symmetry_defect`` is ``||K - K^T|| / ||K||``.
    ``hill_mandel_defect`` is ``||W - K|| / ||K||`` with
    ``W_ij = <q_j . g_i>`` the volume average of flux times gradient over the
    load cases ``i, j`` and ``K_ij = <q_j> . <g_i>``; it equals
    ``u_i . f_j / V`` with ``f_j`` the nodal residual of load case ``j``
    (static: the same with ``R`` and the temperatures; mixed: the diagonal
    only). Its diagonal vanishes for every Galerkin (conjugate-gradient)
    iterate, up to round-off; its off-diagonal part, like the symmetry
    defect, is of the order of the tensor error above. ``bounds_defect``
    measures how far the eigenvalues leave ``[reuss, voigt]``.

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
    .. [5] C. Huet, "Application of variational concepts to size effects in
       elastic heterogeneous bodies", J. Mech. Phys. Solids 38 (1990)
       813-841.
    .. [6] S. Hazanov, C. Huet, "Order relationships for boundary conditions
       effect in heterogeneous bodies smaller than the representative
       volume", J. Mech. Phys. Solids 42 (1994) 1995-2011.
    .. [7] S. J. Cooper, A. Bertei, P. R. Shearing, J. A. Kilner, N. P.
       Brandon, "TauFactor: an open-source application for calculating
       tortuosity factors from tomographic data", SoftwareX 5 (2016)
       203-210.

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

    The same laminate under the four conditions, along the layers (axis 0):
    only static conditions fall below the arithmetic mean.

    >>> for bc in ("kinematic", "periodic", "mixed", "static"):
    ...     tensor = apparent_conductivity(phases, [1.0, 10.0], bc=bc, tol=1e-10).tensor
    ...     print(bc, round(float(tensor[0, 0]), 4))
    kinematic 5.5
    periodic 5.5
    mixed 5.5
    static 2.8454
    """
    start = time.perf_counter()
    phases = check_phases(phases)
    k = _element_conductivity(phases, conductivity)
    bc = implemented_bc(bc, IMPLEMENTED_BCS, "apparent_conductivity")
    h = check_positive("spacing", spacing)
    tol = check_tol(tol)
    maxiter = check_maxiter(maxiter)
    on_failure = check_choice("on_failure", on_failure, _ON_FAILURE)
    discretization = check_choice("discretization", discretization, _DISCRETIZATIONS)
    if discretization == "fv" and bc == "static":
        raise NotImplementedError(
            "bc='static' is implemented for discretization='q1' only; finite volumes "
            "support 'periodic', 'kinematic' and 'mixed'"
        )

    solution = solve_cell(
        k, bc=bc, discretization=discretization, spacing=h, tol=tol, maxiter=maxiter
    )
    tensor = solution.tensor
    defined = np.nan_to_num(tensor)
    scale = np.linalg.norm(defined)
    if bc == "mixed":
        eigenvalues = np.diag(tensor)
    else:
        eigenvalues = np.linalg.eigvalsh(0.5 * (tensor + tensor.T))
    voigt = float(k.mean())
    reuss = float(1.0 / np.mean(1.0 / k)) if np.all(k > 0.0) else 0.0
    outside = max(0.0, eigenvalues.max() - voigt, reuss - eigenvalues.min())
    converged = max(solution.residuals) <= tol
    result = ConductivityResult(
        tensor=tensor,
        bc=bc,
        discretization=discretization,
        iterations=tuple(solution.iterations),
        residual=max(solution.residuals),
        converged=converged,
        hill_mandel_defect=solution.hill_mandel_defect,
        symmetry_defect=float(np.linalg.norm(defined - defined.T) / scale) if scale > 0 else 0.0,
        wall_time=time.perf_counter() - start,
        min_eigenvalue=float(eigenvalues.min()),
        voigt=voigt,
        reuss=reuss,
        bounds_defect=float(outside / voigt),
        percolating=solution.percolating,
        notes=tuple(solution.notes),
    )
    if not converged and on_failure == "raise":
        worst = int(np.argmax(solution.residuals))
        raise ConvergenceError(
            f"apparent_conductivity did not converge: load case {worst + 1} reached a "
            f"relative residual of {solution.residuals[worst]:.3g} after "
            f"{solution.iterations[worst]} iterations (tol={tol:g}, maxiter={maxiter}); raise "
            "maxiter or tol, or pass on_failure='flag' to get the unconverged result",
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
    for rule, bad in (("finite", ~np.isfinite(values)), (">= 0", values < 0.0)):
        if bad.any():
            raise ValueError(f"conductivity must be {rule}, got {float(values[bad][0])!r}")
    field = values[phases] if per_phase else values
    if not np.any(field > 0.0):
        raise ValueError("conductivity must be > 0 in at least one voxel, got zero everywhere")
    return np.ascontiguousarray(field, dtype=np.float64)
