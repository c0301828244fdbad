"""Apparent conductivity of a voxel image (Q1 voxel finite elements)."""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike

from sve._validation import (
    SYMMETRY_TOLERANCE,
    check_choice,
    check_integer,
    check_phases,
    check_real,
    check_spacing,
    check_spd_or_zero,
)
from sve.microstructure import labels_and_spacing
from sve.solvers._core.bc import implemented_bc
from sve.solvers._core.fields import fields_mode
from sve.solvers._core.materials import distinct_tensors, volume_averages
from sve.solvers._core.memory import (
    AUTO_CANDIDATES,
    check_budget,
    memory_estimate,
    memory_limit_bytes,
    upper_bound,
)
from sve.solvers._core.refinement import MIN_TOL
from sve.solvers._core.spacing import normalized
from sve.solvers.conductivity.cell_problem import Tensors, _kinds, solve_cell
from sve.solvers.conductivity.fields import Collector
from sve.solvers.conductivity.fv import Phases
from sve.solvers.conductivity.q1_multigrid import coarsening_steps, supported
from sve.solvers.result import ConductivityResult, ConvergenceError

IMPLEMENTED_BCS = ("kinematic", "periodic", "static", "mixed")
_ON_FAILURE = ("raise", "flag")
_DISCRETIZATIONS = ("q1", "fv")
_PRECONDITIONERS = ("auto", "fft", "multigrid")
#: Largest phase contrast (largest over smallest voxel conductivity) for which
#: ``preconditioner="auto"`` takes multigrid on a 3-D Q1 image: measured faster or even at
#: contrast 100, even or slower at 1e4 (`_auto_preconditioner`).
AUTO_CONTRAST = 1e3
#: Largest 3-D image (voxels) on which ``preconditioner="auto"`` keeps the transforms under
#: periodic conditions. CPU time per periodic tensor of multigrid over the transforms (level
#: cuts of correlation length 4, contrast 100, tol 1e-6, issue 18, 2026-12-07, after the
#: cheaper cycle of small images, fourth round), multigrid one image at a time against the
#: transforms batched as studies run them: 1.00 at 16^3 (6.62 / 6.59 ms, 8.42 / 8.46 at a
#: higher load), 0.80 at 24^3 (20.9 / 26.1 ms, 24.5 / 30.5), and 0.70-0.94 against the
#: transforms one at a time at 24^3; from 32^3 on 3-D images are not batched (0.88-0.91 at
#: 32^3 in the third round, less since). So the transforms stay up to 16^3.
AUTO_TRANSFORMS_LARGEST = 16**3
#: The same under the other conditions (static, kinematic, mixed; never batched), where
#: multigrid took 0.59-0.72 times the CPU time of the transforms at 16^3, 0.62-0.77 at 24^3
#: and 0.50-0.64 at 32^3 (same media and measurement).
AUTO_TRANSFORMS_LARGEST_BOUNDED = 16**3 - 1
_STOPS = ("residual", "tensor")
PRECISIONS = ("double", "single")


def apparent_conductivity(
    phases: ArrayLike,
    conductivity: Sequence[float] | ArrayLike,
    *,
    bc: str = "periodic",
    spacing: float | tuple[float, ...] | None = None,
    tol: float = 1e-6,
    maxiter: int = 1000,
    on_failure: str = "raise",
    discretization: str = "q1",
    preconditioner: str = "auto",
    stop: str = "residual",
    memory_limit: int | str | None = None,
    fields: bool | str = False,
    precision: str = "double",
) -> ConductivityResult:
    r"""Compute the apparent conductivity tensor of a voxel image.

    Each voxel is one Q1 finite element (bilinear in 2-D, trilinear in 3-D)
    with one conductivity (a scalar or a symmetric d x d tensor) and nodal
    temperatures, or, with
    ``discretization="fv"``, one cell-centred finite volume. One cell
    problem is solved per load case (unit macroscopic gradient or flux along
    each axis).

    Parameters
    ----------
    phases : array_like of shape (N0, N1) or (N0, N1, N2), integer, or Microstructure
        Phase label of every voxel, labels >= 0, at least 2 voxels per axis.
    conductivity : sequence of float, or ndarray
        One of

        * one value per phase label (``conductivity[label]``; length
          greater than the largest label);
        * one value per voxel (an array of the shape of `phases`; the labels
          are then not used);
        * one d x d tensor per label, an ndarray (n, d, d), e.g. per grain
          ``generators.rotate_tensor(k_crystal, crystal.rotations)`` with
          ``phases = crystal.grain_ids``;
        * one d x d tensor per voxel, an ndarray ``phases.shape + (d, d)``
          (the labels are then not used; distinct tensors are found with
          ``numpy.unique``, so prefer the per-label form for many voxels).

        Scalars are finite and >= 0; tensors are finite, symmetric (to
        ``1e-10`` relative, round-off of a rotation) and positive definite,
        or exactly zero. Any unit (W/(m K), S/m, ...); zero marks a void. At
        least one voxel must conduct. An array of the shape of `phases` is
        read as per-voxel scalars, whatever its trailing axes.
    bc : str, default "periodic"
        Boundary condition (Huet 1990; Hazanov & Huet 1994): ``"kinematic"``
        (``"KUBC"``), ``"periodic"`` (``"PBC"``), ``"static"``
        (``"SUBC"``) or ``"mixed"`` (``"MUBC"``); see Notes.
    spacing : float or sequence of float, optional
        Voxel edge length, in any length unit: one number (cubic voxels) or
        one per axis ``(h0, h1[, h2])``, finite and > 0, e.g. ``(1, 1, 3)``
        for FIB-SEM slices three times thicker than the pixels (box voxels;
        see Notes, **Box voxels**). Default: the spacing of a
        `Microstructure` given as `phases`, else 1. The apparent tensor does
        not depend on a uniform scaling of it, only on the ratios of its
        entries.
    tol : float, default 1e-6
        In (0, 1). With ``stop="residual"``, the relative residual at which
        conjugate gradients stop (see Notes for what it guarantees on the
        tensor); with ``stop="tensor"``, the requested relative accuracy of
        the tensor entries.
    maxiter : int, default 1000
        Largest number of iterations per load case, >= 1.
    on_failure : {"raise", "flag"}, default "raise"
        What to do when a load case does not reach `tol` within `maxiter`:
        raise `ConvergenceError` (its ``result`` attribute holds the
        unconverged result), or return the result with ``converged=False``.
    discretization : {"q1", "fv"}, default "q1"
        Q1 voxel finite elements (every boundary condition), or cell-centred
        finite volumes with harmonic-mean face conductances (``"periodic"``,
        ``"kinematic"``, ``"mixed"``; scalars and diagonal tensors only).
    preconditioner : {"auto", "fft", "multigrid"}, default "auto"
        The reference medium diagonalised by fast transforms (every case),
        or a geometric multigrid cycle with Galerkin coarse operators
        (``discretization="q1"`` under every boundary condition, scalar
        conductivities, axes that halve down to at most 512 nodes, e.g.
        powers of two; or ``discretization="fv"`` with ``bc="kinematic"`` or
        ``"mixed"``, any shape); see Notes, **Solver**. ``"auto"`` takes the
        one measured faster per case (``docs/performance.rst``): multigrid
        for kinematic and mixed finite volumes, and for 3-D Q1 images of
        more than ``AUTO_TRANSFORMS_LARGEST`` (16**3) voxels under periodic
        conditions, of at least 16**3 under the others, with scalar
        conductivities without voids, a contrast of at most
        ``AUTO_CONTRAST`` and voxels close enough to cubes that the cycle
        halves every axis (``max(h) / min(h) <= sqrt(2)``); the transforms
        everywhere else (2-D images, small 3-D images, higher contrasts,
        voids, tensors, box voxels); and the transforms where multigrid's
        memory estimate exceeds `memory_limit` and theirs fits (a note
        says so). The result names the one that ran.
    stop : {"residual", "tensor"}, default "residual"
        Stopping rule of each load case: the relative residual (the tensor
        is then the average flux), or the estimated error of the apparent
        energy (the tensor is then its energy form, symmetric, and
        ``tensor_accuracy`` estimates its error); see Notes, **Stopping on
        the tensor**.
    memory_limit : int or str, optional
        Bytes the solve may use (a number, or a string such as ``"8 GB"`` or
        ``"8 GiB"``). Default: the memory available on the machine
        (``MemAvailable`` of /proc/meminfo, or the room under the cgroup's
        limit when lower). The solve's peak is estimated before anything
        large is allocated (`sve.solvers.memory_estimate`) and a solve that
        would exceed the limit is refused with `MemoryBudgetError`.
    fields : bool or {"summary", "full"}, default False
        The local fields of every load case: ``"summary"`` stores the
        per-phase means and second moments of the gradient and the flux
        (``phase_moments``, a `ConductivityMoments`), ``"full"`` (or True)
        also the corrector, gradient and flux of every voxel (``fields``, a
        `ConductivityFields`: ``2 d`` image-sized arrays per load case more,
        not counted by `memory_limit`). Off by default: the solve and its
        result are then exactly those without the option. See Notes,
        **Local fields**.
    precision : {"double", "single"}, default "double"
        ``"single"`` stores the conjugate-gradient vectors in float32 (the
        multigrid hierarchy and the transforms of the preconditioners are
        float32 in both) and keeps the solutions of the load cases between
        their solve and the Hill-Mandel defect in float32; every round
        recomputes the residual in float64 and the solution and the tensor
        are float64 (iterative refinement, ``sve/solvers/_core/refinement.py``).
        The tensor then differs from the double-precision one by at most
        about `tol` (measured: ``docs/solver_notes.rst``). Needs ``tol >=
        1e-8`` and ``stop="residual"``. See Notes, **Precision**.

    Returns
    -------
    ConductivityResult
        ``tensor`` of shape (d, d), float64, in the units of `conductivity`
        (NaN off the diagonal under ``"mixed"``), with the diagnostics of the
        solve: iterations, residual, Hill-Mandel and symmetry defects,
        smallest eigenvalue, Voigt and Reuss means, percolation per axis,
        notes, discretization and wall time; with ``stop="tensor"`` the
        estimated ``tensor_accuracy``.

    Raises
    ------
    TypeError, ValueError
        For an invalid argument; the message names it. Also for tensors that
        are not diagonal with ``discretization="fv"``.
    NotImplementedError
        For ``bc="static"`` with ``discretization="fv"``.
    ConvergenceError
        If a load case does not converge and ``on_failure="raise"``.
    MemoryBudgetError
        If the estimated peak memory of the solve exceeds `memory_limit` (or
        the available memory); the message says how much it needs, how much
        is available and what would fit (the other preconditioner, finite
        volumes, a smaller window), before anything large is allocated.

    Notes
    -----
    The theory and the measured behaviour of this solver (iteration counts,
    accuracy of the stopping rules, times and memory) are in the docs: the
    solver notes (``docs/solver_notes.rst``) and the performance page
    (``docs/performance.rst``, made from the benchmark records).

    **Precision.** With ``precision="single"`` each round solves
    ``A d = r`` for the true residual ``r = b - A x`` (float64 arithmetic,
    rounded to float32) by float32 conjugate gradients until its
    preconditioned norm has fallen by ``1e-6`` (or to `tol`), adding the
    steps to the float64 ``x``; the stopping rule is evaluated on the true
    residual of each round. The conjugate gradient stores 20 bytes per
    unknown instead of 32, and the kept fluctuations 4 instead of 8; the
    Hill-Mandel defect is then computed from float32 fluctuations (a floor
    of about ``1e-7`` relative on it).

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
    (``w_E[a] = sum_i h_i a_i E_i``, ``h_i`` the voxel edge along axis
    ``i``), the Galerkin equations are
    ``A u = b = -sum_e k_e Ke w_E`` on the free nodes. ``Ke`` is the
    tensor-product element stiffness of unit conductivity, applied
    matrix-free and diagonal in the Walsh-Hadamard transform of the ``2**d``
    corner values. The element average of the Q1 gradient is exact from the
    nodal values, so ``<q>`` is evaluated exactly. A tensor ``K`` per voxel
    gives ``Ke = int grad N . K grad N``; tensors that are all multiples of
    the identity take the scalar path bit for bit, and the Voigt and Reuss
    bounds become the tensors ``<K>`` and ``<K^-1>^-1`` (``voigt_tensor``,
    ``reuss_tensor``), checked as quadratic forms. Under ``"mixed"``
    conditions a homogeneous anisotropic medium gives
    ``1 / (K^-1)_ii <= C_mixed,ii <= K_ii``, with equality only for tensors
    diagonal in the grid axes.

    Finite volumes (``discretization="fv"``) give the face normal to axis
    ``a`` the harmonic mean of ``K_aa`` of its two voxels (two-point flux,
    exact for tensors diagonal in the grid axes; other tensors are
    refused). Q1 elements conduct through voxels that share only an edge or
    a corner, finite volumes do not; both converge to the same continuum
    tensor at first order in the voxel size.

    **Voids.** Zero conductivities are allowed. Under kinematic and mixed
    conditions a cluster that touches no loaded face carries no flux and is
    made void before the solve; under periodic and static conditions the
    mean of every floating cluster is projected out of the preconditioned
    residual. A direction without a conducting path gets exactly 0
    (``percolating[i] = False``, with a note); under static conditions the
    tensor is 0 outside the fluxes that every cluster can carry (a note
    says so).

    **Box voxels.** With a spacing ``(h0, h1[, h2])`` of different entries
    every part of the solve takes the edge of its axis (element stiffness,
    gradients, finite-volume conductances ``prod(h) / h_a**2`` times the
    harmonic mean, the symbol of the transforms, averages weighted by
    ``prod(h)``). The change of variables ``x_i = h_i y_i`` makes this
    exactly the problem of unit cubes with the diagonal tensor
    ``k prod(h) / h_i**2`` and ``C = H C_cube H / prod(h)``, ``H = diag(h)``.
    The reference medium has the same edges, so the condition-number bound
    below holds unchanged; both multigrid cycles semi-coarsen, halving only
    the strongly coupled axes until the coarse voxels are nearly cubic
    (Trottenberg, Oosterlee & Schüller 2001, sec. 5.1).

    **Solver.** Conjugate gradients (Hestenes & Stiefel 1952; Zeman et al.
    2010), preconditioned by a geometric multigrid cycle or by the operator
    ``M = k_0 A_1`` of a homogeneous reference medium (Moulinec & Suquet
    1998) diagonalised by the FFT (periodic), DST-I (Dirichlet) or DCT-I
    (Neumann) per axis (DST-II and DCT-II for finite volumes). Its symbol is

    .. math:: \lambda(\theta) = \sum_i K_1(\theta_i)
              \prod_{j \ne i} M_1(\theta_j), \quad
              K_1 = \frac{2 - 2\cos\theta}{h}, \quad
              M_1 = \frac{h (4 + 2\cos\theta)}{6},

    with ``theta_i = 2 pi m_i / N_i`` (periodic) or ``pi m_i / N_i`` and
    ``h = h_i`` in ``K_1(theta_i)``, ``h = h_j`` in ``M_1(theta_j)``.
    Since ``k_min A_1 <= A <= k_max A_1``, the preconditioned operator has a
    condition number at most ``kappa = k_max / k_min`` whatever the
    resolution, and the iteration count is at most about
    ``sqrt(kappa) / 2 ln(2 sqrt(kappa) / tol)``. The iterates do not depend
    on ``k_0``. With tensors ``k_0 = sqrt(l_min l_max)`` over their
    eigenvalues and ``kappa = l_max / l_min``. The multigrid cycle (Q1:
    Galerkin coarse operators ``R A P`` with trilinear ``P``, Alcouffe et
    al. 1981, damped Jacobi and Chebyshev smoothing, W-cycle; kinematic and
    mixed finite volumes: aggregation of 2 cells per axis with a scaled
    coarse correction, Braess 1995) sees the geometry; ``"auto"`` takes it
    where it was measured faster (not for Q1 on box voxels, whose
    semi-coarsened cycle costs more per iteration).

    **Stopping rule and accuracy.** A load case stops when the relative
    residual in the preconditioner norm,
    ``rho = sqrt(r . M^-1 r / b . M^-1 b)``, is at most `tol`. In exact
    arithmetic the error of the tensor with respect to the exact discrete
    tensor ``K*`` is then bounded by

    .. math:: |K_{ij} - K^*_{ij}| \le \sqrt{\kappa}\, \rho_j
              \sqrt{(\bar k - K^*_{ii})(\bar k - K^*_{jj})},
              \qquad
              0 \le K_{jj} - K^*_{jj} \le \kappa \rho_j^2
              (\bar k - K^*_{jj}),

    with ``kbar`` the mean conductivity (Voigt bound). The discretization
    error (voxel staircase) is separate.

    **Stopping on the tensor** (``stop="tensor"``). The tensor returned is
    the energy form ``W_ij = <q_j . g_i>``; under periodic, kinematic and
    mixed conditions ``W - K*`` is the Gram matrix ``e_i . A e_j / V`` of
    the energy errors ``e_j = u*_j - u_j``, so ``W >= K*``, ``W`` is
    symmetric, and

    .. math:: |W_{ij} - K^*_{ij}| \le \sqrt{\varepsilon_i \varepsilon_j},
              \qquad \varepsilon_j = \|e_j\|_A^2 / V.

    Under static conditions the same holds for the resistivity from below,
    carried through the inverse to first order; mixed conditions bound the
    diagonal only. Each load case stops when an estimate of ``eps_j`` is at
    most ``tol`` times its apparent energy, so every entry is within
    ``tol sqrt(K_ii K_jj) <= tol ||K||`` of ``K*``; ``tensor_accuracy``
    reports the largest bound over the entries divided by ``||K||``. The
    estimate sums ``alpha_j r_j . z_j`` over a delay of later iterations
    (Strakos & Tichy 2002; Meurant, Papez & Tichy 2021): a lower bound of
    the squared energy error, so an estimate, not a guarantee.

    **Local fields** (``fields=``). Per load case the gradient
    ``g = E + grad w`` and the flux ``q = k g`` of every voxel (Q1: element
    averages, which are the values at the voxel centres; finite volumes: the
    means of the two face fluxes of the cell along each axis) and the
    fluctuation ``w`` on the solver's grid (Q1 nodes, cell centres), and per
    phase ``a`` the means ``<g>_a``, ``<q>_a``, the second moments
    ``<g (x) g>_a``, ``<q (x) q>_a`` and the energy ``<q . g>_a``, integrated
    exactly over the discrete fields. They satisfy Hill-Mandel on the fields,
    ``sum_a phi_a <q . g>_a = <q> . <g>`` (periodic, kinematic, static, to
    the solver tolerance; mixed: ``= E . <q> = <q_i>``, the averages
    ``<q_j>``, ``<g_j>``, ``j != i``, need not vanish), and for scalar
    conductivities per phase ``phi_a <g . g>_a = d(E . K E) / d k_a``
    (the minimum principle of the cell problem; static: minus the derivative
    of ``Q . K^-1 Q``), the numbers of sensitivity, localization and
    nonlinear (secant) estimates (Ponte Castañeda & Suquet 1998).

    **Diagnostics.** ``symmetry_defect`` is ``||K - K^T|| / ||K||``.
    ``hill_mandel_defect`` is ``||W - K|| / ||K||`` with
    ``W_ij = <q_j . g_i>`` and ``K_ij = <q_j> . <g_i>`` (mixed: the diagonal
    only); its diagonal vanishes for every conjugate-gradient iterate, up to
    round-off, and its off-diagonal part is of the order of the tensor
    error. ``bounds_defect`` measures how far the eigenvalues leave
    ``[reuss, voigt]``.

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
    .. [8] G. W. Milton, "The Theory of Composites", Cambridge University
       Press (2002), ch. 9 (laminates).
    .. [9] D. J. Eyre, G. W. Milton, "A fast numerical scheme for computing
       the response of composites using grid refinement", Eur. Phys. J.
       Appl. Phys. 6 (1999) 41-47.
    .. [10] T. Gergelits, K.-A. Mardal, B. F. Nielsen, Z. Strakos,
       "Laplacian preconditioning of elliptic PDEs: localization of the
       eigenvalues of the discretized operator", SIAM J. Numer. Anal. 57
       (2019) 1369-1394.
    .. [11] R. E. Alcouffe, A. Brandt, J. E. Dendy, J. W. Painter, "The
       multi-grid method for the diffusion equation with strongly
       discontinuous coefficients", SIAM J. Sci. Stat. Comput. 2 (1981)
       430-454.
    .. [12] U. Trottenberg, C. W. Oosterlee, A. Schüller, "Multigrid",
       Academic Press (2001).
    .. [13] Z. Strakos, P. Tichy, "On error estimation in the conjugate
       gradient method and why it works in finite precision computations",
       Electron. Trans. Numer. Anal. 13 (2002) 56-80.
    .. [14] G. Meurant, J. Papez, P. Tichy, "Accurate error estimation in
       CG", Numer. Algorithms 88 (2021) 1337-1359,
       doi:10.1007/s11075-021-01078-w.
    .. [15] P. Ponte Castañeda, P. Suquet, "Nonlinear composites", Adv.
       Appl. Mech. 34 (1998) 171-302.

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

    Anisotropic layers: each phase a tensor. Across the layers the normal
    flux and the tangential gradient are continuous (the tensor laminate
    formula; Milton 2002, ch. 9).

    >>> layers = np.array([[[2.0, 1.0], [1.0, 2.0]], [[1.0, 0.0], [0.0, 4.0]]])
    >>> tensor = apparent_conductivity(phases, layers, tol=1e-10).tensor
    >>> print(np.round(tensor, 4))
    [[1.4167 0.6667]
     [0.6667 2.6667]]
    """
    steps = _steps(
        phases,
        conductivity,
        bc=bc,
        spacing=spacing,
        tol=tol,
        maxiter=maxiter,
        on_failure=on_failure,
        discretization=discretization,
        preconditioner=preconditioner,
        stop=stop,
        memory_limit=memory_limit,
        fields=fields,
        precision=precision,
    )
    request = next(steps)
    try:
        steps.send(solve_cell(**request))
    except StopIteration as finished:
        return finished.value
    raise AssertionError("_steps yields once")  # pragma: no cover


def _steps(
    phases,
    conductivity,
    *,
    bc,
    spacing,
    tol,
    maxiter,
    on_failure,
    discretization,
    preconditioner,
    stop,
    memory_limit,
    fields,
    precision="double",
):
    """`apparent_conductivity` as a generator: it yields the arguments of ``solve_cell``
    once, takes the `Solution` sent back, and returns the result (``StopIteration.value``).

    One body for the single solve and for `apparent_conductivity_batch`, which collects
    the requests of many images and solves those of one kind together.
    """
    phases, spacing = labels_and_spacing(phases, spacing)
    start = time.perf_counter()
    phases = check_phases(phases)
    bc = implemented_bc(bc, IMPLEMENTED_BCS, "apparent_conductivity")
    spacing = check_spacing(spacing, phases.ndim)
    h = normalized(spacing)
    mode = fields_mode(fields)
    tol = check_real(tol, "tol", 0.0, 1.0)
    maxiter = check_integer(maxiter, "maxiter", 1)
    on_failure = check_choice(on_failure, "on_failure", _ON_FAILURE)
    discretization = check_choice(discretization, "discretization", _DISCRETIZATIONS)
    preconditioner = check_choice(preconditioner, "preconditioner", _PRECONDITIONERS)
    stop = check_choice(stop, "stop", _STOPS)
    precision = check_choice(precision, "precision", PRECISIONS)
    if precision == "single" and tol < MIN_TOL:
        raise ValueError(
            f"tol must be >= {MIN_TOL:g} with precision='single' (float32 iterations with "
            f"float64 residuals reach no further), got tol={tol:g}; use precision='double'"
        )
    if precision == "single" and stop != "residual":
        raise ValueError(
            "stop='tensor' needs precision='double' (its energy estimate assumes one "
            "conjugate-gradient run from zero), got precision='single'"
        )
    if discretization == "fv" and bc == "static":
        raise NotImplementedError(
            "bc='static' is implemented for discretization='q1' only; finite volumes "
            "support 'periodic', 'kinematic' and 'mixed'"
        )
    limit, source = memory_limit_bytes(memory_limit, phases.shape)
    # Before any field is allocated: the smallest estimate the case may have.
    _check_memory(
        phases.shape, bc, discretization, preconditioner, h, limit, source, precision=precision
    )
    # Per-phase scalars (a void phase included) are read from the labels: no float64 field.
    k, material, stack = _element_conductivity(phases, conductivity, labels=mode is None)
    fallback = None
    if preconditioner == "auto":
        preconditioner = _auto_preconditioner(bc, discretization, k, stack, h)
        fallback = _memory_fallback(
            phases.shape, bc, discretization, preconditioner, h, limit, precision
        )
        if fallback is not None:
            preconditioner = "fft"
    if preconditioner == "multigrid" and not (
        (
            discretization == "q1"
            and stack is None
            and supported(_kinds(bc, phases.ndim, 0), phases.shape, h)
        )
        or (discretization == "fv" and bc in ("kinematic", "mixed"))
    ):
        raise ValueError(
            "preconditioner='multigrid' needs discretization='q1', scalar conductivities and "
            "axes that halve down to at most 512 nodes, or discretization='fv' with "
            f"bc='kinematic' or 'mixed', got bc={bc!r}, discretization={discretization!r}, "
            f"{'tensors' if stack is not None else 'scalars'}, shape {phases.shape}"
        )
    # Now that the case is known (tensors, voids, the preconditioner "auto" takes).
    _check_memory(
        phases.shape,
        bc,
        discretization,
        preconditioner,
        h,
        limit,
        source,
        tensors=stack is not None,
        voids=bool(k.min() <= 0.0),
        precision=precision,
    )
    tensors = None
    notes = [] if fallback is None else [fallback]
    if stack is not None:
        if discretization == "fv":
            stack = _diagonal_for_fv(stack)
        voigt_tensor, reuss_tensor, mixed_lower, lowest, highest = _tensor_bounds(material, stack)
        tensors = Tensors(material, stack, float(np.sqrt(lowest * highest)))
        notes.append(
            f"anisotropic: {len(stack)} distinct tensor(s), eigenvalues in [{lowest:.4g}, "
            f"{highest:.4g}]; isotropic reference {tensors.reference:.4g} of the "
            f"preconditioner, condition number up to {highest / lowest:.4g}"
        )

    collector = None
    if mode is not None:
        nodes = phases.shape
        if discretization == "q1" and bc != "periodic":
            nodes = tuple(n + 1 for n in nodes)
        collector = Collector(phases, k <= 0.0, mode, spacing, nodes, discretization, bc)
    solution = yield dict(
        k=k,
        collector=collector,
        bc=bc,
        discretization=discretization,
        spacing=h,
        tol=tol,
        maxiter=maxiter,
        tensors=tensors,
        use_multigrid=preconditioner == "multigrid",
        stop=stop,
        precision=precision,
    )
    if precision == "single":
        notes.append("precision: single (float32 iterations, float64 residuals and tensor)")
    tensor = solution.tensor
    defined = np.nan_to_num(tensor)
    scale = np.linalg.norm(defined)
    if bc == "mixed":
        eigenvalues = np.diag(tensor)
    else:
        eigenvalues = np.linalg.eigvalsh(0.5 * (tensor + tensor.T))
    ndim = phases.ndim
    if isinstance(k, Phases):
        voigt, reuss = k.mean(), k.reuss()
    if tensors is None:
        if not isinstance(k, Phases):
            voigt = float(k.mean())
            reuss = float(1.0 / np.mean(1.0 / k)) if np.all(k > 0.0) else 0.0
        outside = max(0.0, eigenvalues.max() - voigt, reuss - eigenvalues.min())
        voigt_tensor, reuss_tensor = voigt * np.eye(ndim), reuss * np.eye(ndim)
    else:
        voigt = float(np.linalg.eigvalsh(voigt_tensor).max())
        reuss = float(np.linalg.eigvalsh(reuss_tensor).min())
        if bc == "mixed":
            diagonal = np.diag(tensor)
            above = diagonal - np.diag(voigt_tensor)
            below = mixed_lower - diagonal
        else:
            symmetric = 0.5 * (tensor + tensor.T)
            above = np.linalg.eigvalsh(symmetric - voigt_tensor)
            below = np.linalg.eigvalsh(reuss_tensor - symmetric)
        outside = max(0.0, float(above.max()), float(below.max()))
    reached = solution.errors if stop == "tensor" else solution.residuals
    converged = max(reached) <= tol
    extra = {}
    if collector is not None:
        extra["phase_moments"], extra["fields"] = collector.results(ndim)
    result = ConductivityResult(
        tensor=tensor,
        bc=bc,
        discretization=discretization,
        preconditioner=preconditioner,
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
        notes=tuple(notes + solution.notes),
        voigt_tensor=voigt_tensor,
        reuss_tensor=reuss_tensor,
        stop=stop,
        tensor_accuracy=float(
            solution.tensor_error / scale if scale > 0 else solution.tensor_error
        ),
        **extra,
    )
    if not converged and on_failure == "raise":
        worst = int(np.argmax(reached))
        measure = "relative residual" if stop == "residual" else "estimated relative error"
        raise ConvergenceError(
            f"apparent_conductivity did not converge: load case {worst + 1} reached a "
            f"{measure} of {reached[worst]:.3g} after "
            f"{solution.iterations[worst]} iterations (tol={tol:g}, maxiter={maxiter}); raise "
            "maxiter or tol, or pass on_failure='flag' to get the unconverged result",
            result,
        )
    return result


def _auto_candidates(
    shape, *, bc, discretization, tensors, voids, spacing, contrast
) -> tuple[str, ...]:
    """The preconditioners ``"auto"`` may take for a case described without its image
    (`_auto_preconditioner`'s rule; both where `contrast` is None and it decides).
    """
    if discretization == "fv":
        return ("multigrid",) if bc in ("kinematic", "mixed") else ("fft",)
    h = np.ones(len(shape)) if spacing is None else np.asarray(spacing, dtype=float)
    h = np.broadcast_to(h, (len(shape),)) / np.min(h)
    if tensors or voids or len(shape) != 3 or not supported(_kinds(bc, 3, 0), shape, h):
        return ("fft",)
    if not np.all(coarsening_steps(h) == 2) or int(np.prod(shape)) <= _transforms_largest(bc):
        return ("fft",)
    if contrast is None:
        return ("fft", "multigrid")
    return ("multigrid",) if contrast <= AUTO_CONTRAST else ("fft",)


AUTO_CANDIDATES["conductivity"] = _auto_candidates


def _check_memory(
    shape,
    bc,
    discretization,
    preconditioner,
    spacing,
    limit,
    source,
    *,
    tensors=False,
    voids=False,
    precision="double",
) -> None:
    """Refuse the solve (`MemoryBudgetError`) if its estimate exceeds `limit` bytes.

    With ``preconditioner="auto"`` (before the conductivities are read) the smaller
    estimate of its candidates, so that only a case that cannot fit is refused early.
    """
    if limit is None or upper_bound(shape) <= limit:
        return

    def estimate(**change):
        case = dict(
            property="conductivity",
            bc=bc,
            discretization=discretization,
            preconditioner=preconditioner,
            tensors=tensors,
            voids=voids,
            spacing=spacing,
            precision=precision,
        )
        case.update(change)
        if case["preconditioner"] == "auto":
            return min(
                (estimate(preconditioner=p) for p in ("fft", "multigrid") if _allowed(case, p)),
                key=lambda e: e.bytes,
            )
        return memory_estimate(shape, **case)

    def _allowed(case, option):
        if option == "fft":
            return True
        if case["discretization"] == "fv":
            return case["bc"] in ("kinematic", "mixed")
        return not case["tensors"] and supported(_kinds(case["bc"], len(shape), 0), shape, spacing)

    alternatives = {}
    if precision == "double":
        alternatives["precision='single'"] = estimate(precision="single")
    if preconditioner != "auto" and not _allowed(
        dict(discretization=discretization, bc=bc, tensors=tensors), preconditioner
    ):
        return  # refused with its own ValueError
    base = dict(discretization=discretization, bc=bc, tensors=tensors)
    for option in ("fft", "multigrid"):
        if preconditioner != "auto" and option != preconditioner and _allowed(base, option):
            alternatives[f"preconditioner={option!r}"] = estimate(preconditioner=option)
    if discretization == "q1" and bc != "static":
        for option in ("fft", "multigrid"):
            if _allowed(dict(discretization="fv", bc=bc, tensors=tensors), option):
                alternatives[f"discretization='fv', preconditioner={option!r}"] = estimate(
                    discretization="fv", preconditioner=option
                )
    check_budget(
        estimate(), limit, "apparent_conductivity", source=source, alternatives=alternatives
    )


def _memory_fallback(shape, bc, discretization, chosen, spacing, limit, precision):
    """The note of ``"auto"`` falling back to the transforms, or None.

    ``"auto"`` picks multigrid for speed (`_auto_preconditioner`); where its estimate
    exceeds the memory `limit` and the transforms' fits (Q1 periodic 3-D: 41.8 against
    36.3 bytes per voxel in double precision at 200**3, `memory_estimate`), the
    transforms are taken instead of refusing the solve: slower, but it runs.
    """
    if chosen != "multigrid" or limit is None:
        return None
    case = dict(property="conductivity", bc=bc, discretization=discretization, spacing=spacing)
    case["precision"] = precision
    needed = memory_estimate(shape, preconditioner="multigrid", **case).bytes
    transforms = memory_estimate(shape, preconditioner="fft", **case).bytes
    if needed <= limit or transforms > limit:
        return None
    return (
        f"preconditioner 'auto' took 'fft' instead of 'multigrid': multigrid needs about "
        f"{needed / 2**30:.3g} GiB, over the memory limit of {limit / 2**30:.3g} GiB; the "
        f"transforms need about {transforms / 2**30:.3g} GiB"
    )


def _auto_preconditioner(
    bc: str, discretization: str, k: np.ndarray, stack, spacing: np.ndarray
) -> str:
    """The preconditioner ``"auto"`` takes: the one measured faster for the case.

    Multigrid for kinematic and mixed finite volumes, and for 3-D Q1 images of more
    than `AUTO_TRANSFORMS_LARGEST` voxels (periodic; `AUTO_TRANSFORMS_LARGEST_BOUNDED`
    under the other conditions) with scalar conductivities without voids, a
    contrast of at most `AUTO_CONTRAST` and nearly cubic voxels; the transforms
    everywhere else (2-D images, small 3-D images, higher contrasts, voids, tensors,
    box voxels). The measurements behind the rule are those of
    ``benchmarks/bench_preconditioners.py``, ``benchmarks/bench_spacing.py`` and
    ``benchmarks/bench_throughput.py``, rendered in ``docs/performance.rst``.
    """
    if discretization == "fv":
        return "multigrid" if bc in ("kinematic", "mixed") else "fft"
    if stack is not None or k.ndim != 3 or not supported(_kinds(bc, 3, 0), k.shape, spacing):
        return "fft"
    if not np.all(coarsening_steps(spacing) == 2):  # box voxels: semi-coarsened, not faster
        return "fft"
    lowest = float(k.min())
    if lowest <= 0.0 or float(k.max()) > AUTO_CONTRAST * lowest:
        return "fft"
    if k.size <= _transforms_largest(bc):  # small images: the transforms (batched in studies)
        return "fft"
    return "multigrid"


def _transforms_largest(bc: str) -> int:
    """Largest 3-D image on which ``"auto"`` keeps the transforms under condition `bc`."""
    return AUTO_TRANSFORMS_LARGEST if bc == "periodic" else AUTO_TRANSFORMS_LARGEST_BOUNDED


def _diagonal_for_fv(stack: np.ndarray) -> np.ndarray:
    """The tensors with their round-off off-diagonal entries dropped; ValueError if one is
    not diagonal (two-point fluxes cannot represent it).
    """
    ndim = stack.shape[-1]
    off = stack * (1.0 - np.eye(ndim))
    norms = np.linalg.norm(stack, axis=(1, 2))
    bad = np.flatnonzero(np.linalg.norm(off, axis=(1, 2)) > SYMMETRY_TOLERANCE * norms)
    if bad.size:
        raise ValueError(
            "conductivity must hold diagonal (axis-aligned) tensors with discretization='fv' "
            "(two-point face fluxes carry no cross term), got "
            f"{stack[bad[0]].tolist()!r}; use discretization='q1' for rotated tensors"
        )
    return np.ascontiguousarray(stack * np.eye(ndim))


def _element_conductivity(
    phases: np.ndarray, conductivity: ArrayLike, *, labels: bool = False
) -> tuple[np.ndarray | Phases, np.ndarray | None, np.ndarray | None]:
    """Read `conductivity` as scalars or tensors.

    Returns
    -------
    k : ndarray of the shape of `phases`, float64, or Phases
        Scalar conductivity of every voxel; for anisotropic tensors, a
        stand-in (trace / d, zero for a void). With `labels`, per-phase
        scalars (a void phase included): `Phases` (the labels and the table,
        no field).
    material : ndarray of the shape of `phases`, int32, or None
        Tensor index of every voxel (None for scalars, and for tensors that
        are all multiples of the identity: they take the scalar path).
    tensors : ndarray of shape (n, d, d), float64, or None
    """
    values = np.asarray(conductivity)
    if values.dtype == np.bool_ or not (
        np.issubdtype(values.dtype, np.integer) or np.issubdtype(values.dtype, np.floating)
    ):
        raise TypeError(f"conductivity must hold real numbers, got dtype {values.dtype}")
    ndim = phases.ndim
    if labels and values.ndim == 1:
        table = _phase_values(int(phases.max()), values)
        medium = Phases.of(np.ascontiguousarray(phases), table)
        if medium.max() > 0.0:  # else the error of `_scalar_conductivity`
            return medium, None, None
    if values.ndim == 1 or values.shape == phases.shape:
        return _scalar_conductivity(phases, values), None, None
    per_voxel = values.shape == phases.shape + (ndim, ndim)
    if not per_voxel and not (values.ndim == 3 and values.shape[1:] == (ndim, ndim)):
        raise ValueError(
            "conductivity must be a 1-D sequence of per-phase values (n,), an array of the "
            f"shape of phases {phases.shape}, one {ndim}x{ndim} tensor per label "
            f"(n, {ndim}, {ndim}) or one per voxel {phases.shape + (ndim, ndim)}, got shape "
            f"{values.shape}"
        )
    values = values.astype(np.float64)
    if per_voxel:
        stack, material = distinct_tensors(values, phases.shape)

        def where(index: int) -> str:
            voxel = np.unravel_index(int(np.flatnonzero(material == index)[0]), phases.shape)
            return f"voxel {tuple(int(i) for i in voxel)}"

    else:
        stack = values
        if len(stack) <= int(phases.max()):
            raise ValueError(
                f"conductivity must give one tensor per phase label 0..{int(phases.max())}, "
                f"got {len(stack)} tensor(s)"
            )
        material = phases.astype(np.int32)

        def where(index: int) -> str:
            return f"conductivity[{index}]"

    stack = check_spd_or_zero("conductivity", np.ascontiguousarray(stack), where)
    present = np.zeros(len(stack), dtype=bool)
    present[np.unique(material)] = True
    solid = np.linalg.norm(stack, axis=(1, 2)) > 0.0
    if not np.any(solid & present):
        raise ValueError("conductivity must be > 0 in at least one voxel, got zero everywhere")
    diagonal = np.einsum("nii->ni", stack)
    isotropic = np.all(stack == diagonal[:, :, None] * np.eye(ndim)) and np.all(
        diagonal == diagonal[:, :1]
    )
    if isotropic:  # multiples of the identity: exactly the scalar problem
        return np.ascontiguousarray(diagonal[:, 0][material]), None, None
    k = np.ascontiguousarray((diagonal.sum(axis=1) / ndim)[material])
    return k, np.ascontiguousarray(material), np.ascontiguousarray(stack)


def _phase_values(largest: int | None, values: np.ndarray) -> np.ndarray:
    """`values` as float64, checked: one per label ``0..largest`` (if given), finite, >= 0."""
    if largest is not None and values.size <= largest:
        raise ValueError(
            f"conductivity must give one value per phase label 0..{largest}, "
            f"got {values.size} value(s)"
        )
    values = values.astype(np.float64)
    for rule, bad in (("finite", ~np.isfinite(values)), (">= 0", values < 0.0)):
        if bad.any():
            raise ValueError(f"conductivity must be {rule}, got {float(values[bad][0])!r}")
    return values


def _scalar_conductivity(phases: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Return the conductivity of every voxel, float64, shape of `phases`."""
    per_phase = values.ndim == 1
    values = _phase_values(int(phases.max()) if per_phase else None, values)
    field = values[phases] if per_phase else values
    if not np.any(field > 0.0):
        raise ValueError("conductivity must be > 0 in at least one voxel, got zero everywhere")
    return np.ascontiguousarray(field, dtype=np.float64)


def _tensor_bounds(material: np.ndarray, tensors: np.ndarray):
    """Voigt and Reuss tensors, the mixed lower bounds, the reference and its range."""
    ndim = tensors.shape[-1]
    present = np.bincount(material.reshape(-1), minlength=len(tensors)) > 0
    solid = np.linalg.norm(tensors, axis=(1, 2)) > 0.0
    voigt, compliance = volume_averages(material, tensors)
    if compliance is not None:
        reuss = np.linalg.inv(compliance)
        mixed_lower = 1.0 / np.diag(compliance)
    else:
        reuss = np.zeros((ndim, ndim))
        mixed_lower = np.zeros(ndim)
    eigenvalues = np.linalg.eigvalsh(tensors[present & solid])
    lowest, highest = float(eigenvalues.min()), float(eigenvalues.max())
    return voigt, reuss, mixed_lower, lowest, highest
