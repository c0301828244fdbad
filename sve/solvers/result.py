"""Values returned by the cell solvers."""

from __future__ import annotations

from dataclasses import dataclass, field
from dataclasses import fields as dataclass_fields

import numpy as np

from sve._validation import check_positive
from sve.solvers._core.fields import periodic_interpolation


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


def _freeze_moments(moments) -> None:
    """Store the arrays of a frozen phase-moments result read-only: the labels as int64,
    every other field as float64 (`_read_only`).
    """
    _read_only(moments, tuple(f.name for f in dataclass_fields(moments) if f.name != "labels"))
    labels = np.array(moments.labels, dtype=np.int64)
    labels.setflags(write=False)
    object.__setattr__(moments, "labels", labels)


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
    fields: object = None
    phase_moments: object = None

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
    fields : ConductivityFields or None
        With ``fields="full"`` (or True): the corrector, gradient and flux of
        every load case. None otherwise.
    phase_moments : ConductivityMoments or None
        With ``fields="summary"`` or ``"full"``: per-phase means and second
        moments of the gradient and the flux. None otherwise.

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
    fields : StiffnessFields or None
        With ``fields="full"`` (or True): the displacement fluctuation,
        strain and stress of every load case. None otherwise.
    phase_moments : StiffnessMoments or None
        With ``fields="summary"`` or ``"full"``: per-phase means and second
        moments of the strain and the stress. None otherwise.
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
        ``||W - diag(K)|| / ||K||`` with ``W_i`` the mean viscous dissipation
        of load case ``i`` over the square of its load (``mu <grad u_i :
        grad u_i> / f_i^2``) and ``K`` the tensor from the mean velocities:
        the diagonal only (the cross terms ``<grad u_i : grad u_j>`` would
        keep every load case's solution in memory to the end).
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


@dataclass(frozen=True, eq=False)
class ConductivityMoments:
    """Per-phase means and second moments of the local fields of a conductivity solve.

    Every array has a leading load-case axis ``L`` (the load cases of the
    solve, in the order of `loads`) and a phase axis ``P`` (the labels in
    `labels`). ``<.>_a`` is the average over the voxels of phase ``a``;
    ``sum_a volume_fraction[a] <f>_a`` is the volume average of ``f``.
    Read-only arrays, float64.

    Attributes
    ----------
    labels : ndarray of shape (P,), int64
        The phase labels present in the image, ascending.
    volume_fraction : ndarray of shape (P,)
        Volume fraction of each phase.
    loads : ndarray of shape (L, d)
        The macroscopic load of each case: the gradient ``E`` (periodic,
        kinematic and mixed conditions) or the flux ``Q`` (static).
    mean_gradient, mean_flux : ndarray of shape (L, P, d)
        ``<g>_a`` and ``<q>_a``, ``g = grad T`` (units of the load's
        gradient) and ``q = k g`` (units of the conductivity times those).
    gradient_moment, flux_moment : ndarray of shape (L, P, d, d)
        ``<g (x) g>_a`` and ``<q (x) q>_a``, the exact integrals of the
        discrete fields (Q1: 2**d-point Gauss rule, exact for the products of
        the element's gradients; finite volumes: the two half-cells of every
        face, see Notes).
    energy : ndarray of shape (L, P)
        ``<q . g>_a``: ``sum_a volume_fraction[a] energy[:, a]`` is the
        apparent energy ``<q . g>`` of each case, and for a scalar
        conductivity per phase ``volume_fraction[a] <g . g>_a`` is the
        derivative of the energy ``E . K E`` of the apparent tensor in
        ``k_a`` (periodic, kinematic, mixed conditions; minus the derivative
        of ``Q . K^-1 Q`` under static ones).

    Notes
    -----
    Finite volumes carry one flux per face, constant over the two half
    cells beside it; the gradient in a half cell is that flux over the
    cell's conductivity. The diagonal of the moments is exact for this
    model (``<g_a g_a>`` is the mean over the two half cells along ``a``);
    the off-diagonal entries are the products of the cell values, the
    scheme having no cross term. In a void (zero conductivity) the flux is
    0 and the gradient undetermined (NaN); the moments of a phase with a
    void voxel are NaN for the gradient.

    Examples
    --------
    The phase energies weighted by the volume fractions give the diagonal
    of the apparent tensor (Hill-Mandel):

    >>> import numpy as np
    >>> from sve.solvers import apparent_conductivity
    >>> phases = np.random.default_rng(0).integers(0, 2, (8, 8))
    >>> result = apparent_conductivity(phases, [1.0, 10.0], tol=1e-10, fields="summary")
    >>> moments = result.phase_moments
    >>> moments.mean_gradient.shape, moments.gradient_moment.shape
    ((2, 2, 2), (2, 2, 2, 2))
    >>> bool(np.allclose(moments.energy @ moments.volume_fraction, np.diag(result.tensor)))
    True
    """

    labels: np.ndarray
    volume_fraction: np.ndarray
    loads: np.ndarray
    mean_gradient: np.ndarray
    mean_flux: np.ndarray
    gradient_moment: np.ndarray
    flux_moment: np.ndarray
    energy: np.ndarray

    def __post_init__(self) -> None:
        _freeze_moments(self)


@dataclass(frozen=True, eq=False)
class StiffnessMoments:
    """Per-phase means and second moments of the local strain and stress of an elastic solve.

    As `ConductivityMoments`, with Mandel vectors of length ``m`` (3 in 2-D,
    6 in 3-D; ``sqrt2`` on the shear components, so that ``sigma . eps`` is
    the energy density without factors).

    Attributes
    ----------
    labels : ndarray of shape (P,), int64
        The phase labels present in the image, ascending.
    volume_fraction : ndarray of shape (P,)
        Volume fraction of each phase.
    loads : ndarray of shape (L, m)
        The macroscopic Mandel strain ``E`` of each case (periodic, kinematic,
        mixed) or Mandel stress ``Sigma`` (static).
    mean_strain, mean_stress : ndarray of shape (L, P, m)
        ``<eps>_a`` and ``<sigma>_a`` (stress in the units of the stiffness).
    strain_moment, stress_moment : ndarray of shape (L, P, m, m)
        ``<eps (x) eps>_a`` and ``<sigma (x) sigma>_a``, exact integrals of
        the Q1 fields (2**d-point Gauss rule).
    energy : ndarray of shape (L, P)
        ``<sigma . eps>_a``; ``volume_fraction[a] <eps . dC eps>_a`` is the
        derivative of the apparent energy ``E . C E`` along a change ``dC`` of
        the stiffness of phase ``a`` (periodic, kinematic, mixed), e.g.
        ``2 volume_fraction[a] trace(strain_moment)`` for the shear modulus
        ``mu_a`` of an isotropic phase. In a void the stress is 0 and the
        strain NaN.
    """

    labels: np.ndarray
    volume_fraction: np.ndarray
    loads: np.ndarray
    mean_strain: np.ndarray
    mean_stress: np.ndarray
    strain_moment: np.ndarray
    stress_moment: np.ndarray
    energy: np.ndarray

    def __post_init__(self) -> None:
        _freeze_moments(self)


class _PeriodicCorrectors:
    """`corrector_at` and `first_order_correction` of `ConductivityFields` and
    `StiffnessFields` (the conductivity corrector is a scalar per load case, the
    elastic one a displacement: a trailing axis of d).
    """

    def corrector_at(self, points) -> np.ndarray:
        """The periodic corrector of every load case at arbitrary points.

        Parameters
        ----------
        points : array_like of shape (n, d) or (d,)
            Positions in the unit of the spacing, wrapped into the cell
            (``N_i h_i`` per axis), the origin at the low corner of the first
            voxel.

        Returns
        -------
        ndarray of shape (L, n), or (L, n, d) for `StiffnessFields`, float64
            The multilinear interpolant of `corrector` (on Q1 nodes, the Q1
            field itself; finite volumes: between the cell centres).

        Raises
        ------
        ValueError
            If the fields are not those of periodic conditions, or `points`
            is not (n, d) real and finite.
        """
        if self.bc != "periodic":
            raise ValueError(
                f"corrector_at needs the fields of periodic conditions, got bc={self.bc!r}"
            )
        ndim = len(self.spacing)
        points = np.asarray(points, dtype=np.float64)
        if points.ndim == 1:
            points = points[None]
        if points.ndim != 2 or points.shape[1] != ndim or not np.all(np.isfinite(points)):
            raise ValueError(
                f"points must be finite positions of shape (n, {ndim}), got shape {points.shape}"
            )
        return periodic_interpolation(
            np.asarray(self.corrector),
            np.asarray(self.spacing, dtype=np.float64),
            points,
            centred=self.location == "cell",
        )

    def first_order_correction(self, points, gradient, epsilon: float = 1.0) -> np.ndarray:
        """The first-order corrector term ``epsilon w(x / epsilon) . grad u0`` at `points`.

        The two-scale expansion ``u_eps ~ u0 + epsilon sum_j w_j(x / epsilon)
        G_j(x)`` of a medium ``k(x / epsilon)`` with this cell as its period
        (Bensoussan, Lions & Papanicolaou 1978): ``G`` the macroscopic
        gradient (`StiffnessFields`: Mandel strain) of ``u0`` at each point,
        ``w_j`` the corrector of the unit load ``e_j``.

        Parameters
        ----------
        points : array_like of shape (n, d)
            Positions ``x`` (macroscopic coordinates).
        gradient : array_like of shape (n, d), or (n, m) for `StiffnessFields`
            Gradient (Mandel strain) of the homogenized solution at `points`.
        epsilon : float, default 1.0
            Scale ratio: the period of the medium is ``epsilon`` times the
            cell.

        Returns
        -------
        ndarray of shape (n,), or (n, d) for `StiffnessFields`
            To add to ``u0(points)``.

        Raises
        ------
        ValueError
            If the fields are not periodic with the unit load cases, or the
            shapes do not match.
        """
        cases = self.loads.shape[1]
        if self.loads.shape[0] != cases or not np.array_equal(self.loads, np.eye(cases)):
            raise ValueError(
                "first_order_correction needs the correctors of the unit load cases (periodic "
                "conditions, every direction percolating)"
            )
        epsilon = check_positive(epsilon, "epsilon")
        points = np.asarray(points, dtype=np.float64)
        gradient = np.asarray(gradient, dtype=np.float64)
        if gradient.shape != (len(points), cases):
            raise ValueError(
                f"gradient must have shape (n, {cases}) for {len(points)} point(s), got "
                f"{gradient.shape}"
            )
        values = self.corrector_at(points / epsilon)  # (L, n) or (L, n, d)
        trailing = (1,) * (values.ndim - 2)
        return epsilon * np.sum(values * gradient.T.reshape(gradient.T.shape + trailing), axis=0)


@dataclass(frozen=True, eq=False)
class ConductivityFields(_PeriodicCorrectors):
    """The local fields of a conductivity solve, one entry per load case.

    Attributes
    ----------
    loads : ndarray of shape (L, d)
        Macroscopic gradient ``E`` (periodic, kinematic, mixed) or flux ``Q``
        (static) of each load case: the unit vectors, or under static
        conditions with voids the compatible fluxes.
    corrector : ndarray of shape (L,) + grid shape
        The fluctuation ``w = T - E . x`` on the solver's grid, in the length
        unit of the spacing times the load: Q1 nodes (``N_i`` per axis
        periodic, ``N_i + 1`` otherwise), finite-volume cell centres (``N_i``).
        Periodic: the periodic corrector of the unit load ``e_j``, ``w_j``,
        zero mean on every conducting cluster. Static: ``T - <g> . x`` with
        ``<g>`` the case's mean gradient (``T`` defined up to a constant).
    coordinates : tuple of d ndarray
        Positions along each axis of the points of `corrector` (the origin at
        the low corner of the first voxel), in the unit of the spacing.
    centres : tuple of d ndarray
        Positions of the voxel centres along each axis, ``(i + 1/2) h_i``.
    gradient, flux : ndarray of shape (L,) + image shape + (d,)
        Temperature gradient ``g = E + grad w`` and flux ``q = k g`` of every
        voxel: Q1 element averages (equal to the values at the voxel centre,
        the gradient of a Q1 field being multilinear in the other axes);
        finite volumes: the mean of the two face fluxes of the cell along each
        axis over the face area, and that over the cell's conductivity. Void
        voxels: flux 0, gradient NaN; clusters that carry no flux under
        kinematic or mixed conditions: both 0 (constant temperature).
    location : str
        ``"element average"`` (Q1) or ``"cell"`` (finite volumes).
    bc : str
        The boundary condition of the solve.
    spacing : tuple of float
        The voxel edges per axis, in the user's unit.

    Notes
    -----
    ``T = E . x + w`` is the full temperature of a case; the volume average
    of `gradient` is ``E`` under periodic and kinematic conditions, and of
    `flux` is ``Q`` under static ones. The product of the voxel values
    misses the variation inside a Q1 element, so ``mean(flux . gradient)``
    is below the energy ``<q . g>`` of the solve by that intra-element part
    (which vanishes under refinement); the exact energies are in
    `ConductivityMoments`.

    Under periodic conditions two methods evaluate the correctors anywhere:
    ``corrector_at(points)`` (shape (L, n), multilinear, wrapped into the
    cell) and ``first_order_correction(points, gradient, epsilon=1.0)``,
    the term ``epsilon sum_j w_j(x / epsilon) G_j`` of the two-scale
    expansion ``u0 + epsilon w(x / epsilon) . grad u0`` for the macroscopic
    gradient ``G`` at each point (shape (n,)).

    Examples
    --------
    A laminate with layers normal to axis 1: across them (load case 1) the
    flux is the harmonic mean everywhere, the gradient that over each
    layer's conductivity.

    >>> import numpy as np
    >>> from sve.solvers import apparent_conductivity
    >>> phases = np.zeros((4, 4), dtype=np.int8)
    >>> phases[:, 2:] = 1
    >>> fields = apparent_conductivity(phases, [1.0, 10.0], tol=1e-10, fields=True).fields
    >>> fields.gradient.shape, fields.corrector.shape
    ((2, 4, 4, 2), (2, 4, 4))
    >>> print(np.round(fields.flux[1, 0, :, 1], 4))
    [1.8182 1.8182 1.8182 1.8182]
    >>> print(np.round(fields.gradient[1, 0, :, 1], 4))
    [1.8182 1.8182 0.1818 0.1818]
    """

    loads: np.ndarray
    corrector: np.ndarray
    coordinates: tuple
    centres: tuple
    gradient: np.ndarray
    flux: np.ndarray
    location: str
    bc: str = "periodic"
    spacing: tuple = ()

    def __post_init__(self) -> None:
        _read_only(self, ("loads", "corrector", "gradient", "flux"))


@dataclass(frozen=True, eq=False)
class StiffnessFields(_PeriodicCorrectors):
    """The local fields of an elastic solve, one entry per load case.

    Attributes
    ----------
    loads : ndarray of shape (L, m)
        Macroscopic Mandel strain ``E`` (periodic, kinematic, mixed) or stress
        ``Sigma`` (static) of each load case.
    corrector : ndarray of shape (L,) + node shape + (d,)
        The displacement fluctuation ``w = u - E . x`` at the Q1 nodes
        (``N_i`` per axis periodic, ``N_i + 1`` otherwise), in the length unit
        of the spacing times the load. Static: ``u - <eps> . x``.
    coordinates : tuple of d ndarray
        Node positions along each axis, in the unit of the spacing.
    centres : tuple of d ndarray
        Voxel centres along each axis.
    strain, stress : ndarray of shape (L,) + image shape + (m,)
        Mandel strain and stress, element averages (the values at the voxel
        centre). Void voxels: stress 0, strain NaN.
    location : str
        ``"element average"``.
    bc : str
        The boundary condition of the solve.
    spacing : tuple of float
        The voxel edges per axis, in the user's unit.

    Notes
    -----
    Under periodic conditions ``corrector_at(points)`` (shape (L, n, d))
    and ``first_order_correction(points, strain, epsilon=1.0)`` (the
    displacement ``epsilon sum_k w_k(x / epsilon) E_k``, shape (n, d), for
    the macroscopic Mandel strain ``E`` at each point) evaluate the
    correctors anywhere, as for `ConductivityFields`.
    """

    loads: np.ndarray
    corrector: np.ndarray
    coordinates: tuple
    centres: tuple
    strain: np.ndarray
    stress: np.ndarray
    location: str
    bc: str = "periodic"
    spacing: tuple = ()

    def __post_init__(self) -> None:
        _read_only(self, ("loads", "corrector", "strain", "stress"))
