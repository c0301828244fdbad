"""Limits of homogenization: the homogenized and corrector-rebuilt fields against the DNS.

A macro problem on the unit square is solved three ways on the voxels of a part
made of many cells of a microstructure of period (or correlation length) ``eps``:

* the fully resolved reference (DNS), `sve.solvers.solve_conductivity_bvp` on
  the voxels of the whole part;
* the homogenized solution ``u0``, a manufactured macro field (here
  ``u0 = sin(pi x) sin(pi y)``, zero on the boundary) whose source is
  ``-div(K* grad u0)`` with ``K*`` the effective tensor of the cell;
* the first-order two-scale reconstruction ``u1 = u0 + eps w(x / eps) . grad u0``
  with ``w`` the periodic correctors of the cell problem.

`elastic_limits` does the same for plane-strain elasticity (displacement
correctors of the three unit Mandel strains).

The errors ``||u_eps - u0||_L2`` (rate 1), ``|u_eps - u1|_H1`` over the part
(rate 1/2, the boundary layer: ``u1`` does not vanish on the boundary) and away
from it (rate 1) measure where the homogenized answer can be trusted
(Bensoussan, Lions & Papanicolaou 1978; Jikov, Kozlov & Oleinik 1994, ch. 1;
Allaire 1992).

The DNS and the cell problem share the Q1 voxel discretization (the grid of the
part is the grid of the cell, tiled): the discrete two-scale expansion then
holds with the discrete effective tensor and correctors, and the measured
errors are those of homogenization, not of the voxel staircase.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from sve._validation import check_integer, check_real
from sve.solvers import apparent_conductivity, solve_conductivity_bvp
from sve.solvers._core.boundary import mass_1d
from sve.solvers._core.q1_geometry import corner_offsets

__all__ = [
    "HoleConcentration",
    "PeriodicLimits",
    "RandomLimits",
    "disk_cell",
    "elastic_limits",
    "hole_concentration",
    "l2_norm_squared",
    "periodic_limits",
    "q1_gradient_density",
    "q1_seminorm_squared",
    "random_limits",
]


def disk_cell(voxels: int, volume_fraction: float, ndim: int = 2) -> np.ndarray:
    """A periodic cell with one centred disk (2-D) or sphere (3-D), phase 1 in phase 0.

    Parameters
    ----------
    voxels : int
        Voxels per side, >= 4.
    volume_fraction : float
        Area (volume) fraction of the inclusion, in (0, pi / 4] in 2-D and
        (0, pi / 6] in 3-D; the voxels whose centre lies in the inclusion of
        that size are phase 1 (the voxel fraction is close to, not exactly,
        `volume_fraction`).
    ndim : {2, 3}, default 2

    Returns
    -------
    ndarray of shape (voxels,) * ndim, int8
    """
    voxels = check_integer(voxels, "voxels", 4)
    if ndim not in (2, 3):
        raise ValueError(f"ndim must be 2 or 3, got {ndim!r}")
    largest = math.pi / 4 if ndim == 2 else math.pi / 6
    volume_fraction = check_real(volume_fraction, "volume_fraction", 0.0, largest)
    if ndim == 2:
        radius = math.sqrt(volume_fraction / math.pi)
    else:
        radius = (3.0 * volume_fraction / (4.0 * math.pi)) ** (1.0 / 3.0)
    centre = (np.arange(voxels) + 0.5) / voxels - 0.5
    grids = np.meshgrid(*([centre] * ndim), indexing="ij")
    return (sum(g**2 for g in grids) < radius**2).astype(np.int8)


@dataclass(frozen=True)
class PeriodicLimits:
    """Errors of the homogenized and the corrector-rebuilt fields against the DNS.

    Attributes
    ----------
    eps : ndarray of shape (n,)
        Scale ratios, cell edge over part edge (the part is the unit square).
    voxels : ndarray of shape (n,), int
        Voxels per side of the part (``cell_voxels / eps``).
    l2_error : ndarray of shape (n,)
        ``||u_eps - u0||_L2`` over the part (Q1 fields, exact integral of
        the interpolant's square by the nodal mass).
    h1_error_homogenized : ndarray of shape (n,)
        ``|u_eps - u0|_H1``: does not vanish (the gradient of ``u_eps``
        oscillates), the reason for the corrector.
    h1_error : ndarray of shape (n,)
        ``|u_eps - u1|_H1`` over the part, ``u1 = u0 + eps w . grad u0``.
    h1_error_interior : ndarray of shape (n,)
        The same over the voxels farther than ``interior`` from the
        boundary (fixed subdomain).
    h1_error_margin : ndarray of shape (n,)
        The same over the voxels farther than ``margin * eps`` from the
        boundary; NaN where there is none.
    h1_error_margin_rms : ndarray of shape (n,)
        `h1_error_margin` over the square root of the measure of its
        subdomain (the rms of ``|grad(u_eps - u1)|`` there): the subdomain
        grows as eps falls, which lowers the slope of the norm itself.
    h1_error_layer : ndarray of shape (n,)
        ``|u_eps - u1|_H1`` over the voxels nearer than ``eps`` to the
        boundary (the first cell: the boundary layer, ``O(eps^(1/2))``);
        the square of `h1_error` is the sum of its square and that of the
        error beyond (``O(eps)``).
    energy_error : ndarray of shape (n,)
        ``|E_eps - E_0| / E_0`` with ``E = 1/2 int grad u . K grad u``.
    l2_slope, h1_slope, h1_interior_slope, h1_margin_slope, h1_margin_rms_slope, \
    h1_layer_slope : float
        Least-squares slopes of the log errors against ``log eps`` (over
        the finite entries; NaN with fewer than two).
    profile : ndarray of shape (m,)
        For the smallest ``eps``: the root mean square of ``|grad(u_eps -
        u1)|`` over the voxels at a distance in ``[j eps, (j + 1) eps)``
        from the boundary, ``j = 0 .. m - 1`` (the boundary layer, cell by
        cell).
    effective_tensor : ndarray of shape (d, d), or (3, 3)
        ``K*`` of the cell (periodic Q1 cell problem); `elastic_limits`: the
        Mandel stiffness ``C*``.
    volume_fraction : float
        Voxel fraction of the disk phase.
    interior, margin : float
        The distances that define the two inner subdomains.
    fields : dict of str to ndarray
        For the smallest ``eps``: nodal fields ``"dns"``, ``"homogenized"``,
        ``"corrected"`` and ``"error"`` (dns minus corrected) of shape
        ``(N + 1, N + 1)``, node ``(i, j)`` at ``(i / N, j / N)``.
    iterations : tuple of int
        Conjugate-gradient iterations of each DNS.
    """

    eps: np.ndarray
    voxels: np.ndarray
    l2_error: np.ndarray
    h1_error_homogenized: np.ndarray
    h1_error: np.ndarray
    h1_error_interior: np.ndarray
    h1_error_margin: np.ndarray
    h1_error_margin_rms: np.ndarray
    h1_error_layer: np.ndarray
    energy_error: np.ndarray
    l2_slope: float
    h1_slope: float
    h1_interior_slope: float
    h1_margin_slope: float
    h1_margin_rms_slope: float
    h1_layer_slope: float
    profile: np.ndarray
    effective_tensor: np.ndarray
    volume_fraction: float
    interior: float
    margin: float
    fields: dict = field(default_factory=dict)
    iterations: tuple = ()


def _slope(eps: np.ndarray, errors: np.ndarray) -> float:
    keep = np.isfinite(errors) & (errors > 0)
    if keep.sum() < 2:
        return math.nan
    return float(np.polyfit(np.log(eps[keep]), np.log(errors[keep]), 1)[0])


def q1_gradient_density(e: np.ndarray, h: float) -> np.ndarray:
    """Mean of ``|grad e_h|^2`` over every voxel for the Q1 interpolant of nodal `e`
    (2-D or 3-D, cubic voxels of edge `h`), shape (N, ...).

    Along axis ``a`` the derivative of ``e_h`` is multilinear in the other axes
    between the differences ``d`` along the ``2**(d-1)`` voxel edges parallel to
    ``a``, divided by `h`; the mean of its square is ``d . M d / h**2`` with ``M``
    the tensor product over the other axes of the 1-D mass ``[[1/3, 1/6], [1/6,
    1/3]]`` (in 2-D: ``(a**2 + a b + b**2) / (3 h**2)``).
    """
    ndim = e.ndim
    weights = np.array([[1.0 / 3.0, 1.0 / 6.0], [1.0 / 6.0, 1.0 / 3.0]])
    corners = corner_offsets(ndim - 1)
    total = 0.0
    for axis in range(ndim):
        d = np.diff(e, axis=axis)
        others = [b for b in range(ndim) if b != axis]
        edges = []
        for corner in corners:
            index = [slice(None)] * ndim
            for b, o in zip(others, corner, strict=True):
                index[b] = slice(o, d.shape[b] - 1 + o)
            edges.append(d[tuple(index)])
        for p, first in enumerate(corners):
            for q, second in enumerate(corners):
                weight = float(
                    np.prod([weights[i, j] for i, j in zip(first, second, strict=True)])
                )
                total = total + weight * edges[p] * edges[q]
    return total / (h * h)


def q1_seminorm_squared(e: np.ndarray, h: float, elements: np.ndarray | None = None) -> float:
    """``int |grad e_h|^2`` of the Q1 interpolant of nodal `e` (2-D or 3-D, cubic voxels of
    edge `h`) over the voxels where `elements` is True (all by default); see
    `q1_gradient_density`.
    """
    density = q1_gradient_density(e, h)
    if elements is not None:
        density = density[elements]
    return float(density.sum()) * h**e.ndim


def l2_norm_squared(e: np.ndarray, h: float) -> float:
    """``int e_h^2`` of the Q1 interpolant of nodal `e` (2-D or 3-D, cubic voxels of edge
    `h`): the tensor product of the 1-D element mass ``h / 6 [[2, 1], [1, 2]]`` per axis.
    """
    out = e
    for axis in range(e.ndim):
        out = mass_1d(out, axis, h)
    return float(np.sum(e * out))


def _check_limits_arguments(eps, cell_voxels, interior, margin, offset):
    """The checked arguments shared by the periodic limits, and ``1 / eps`` per value."""
    cell_voxels = check_integer(cell_voxels, "cell_voxels", 4)
    if cell_voxels % 2:
        raise ValueError(f"cell_voxels must be even, got {cell_voxels}")
    interior = check_real(interior, "interior", 0.0, 0.5)
    margin = check_real(margin, "margin", 0.0, math.inf)
    values = np.atleast_1d(np.asarray(eps, dtype=np.float64))
    if values.size == 0 or values.ndim != 1:
        raise ValueError(f"eps must hold at least one value 1 / n, got {eps!r}")
    counts = []
    for value in values:
        count = 1.0 / value if value > 0 else math.inf
        if not (math.isfinite(count) and abs(count - round(count)) < 1e-9 and count >= 1):
            raise ValueError(f"eps must hold values 1 / n with n a positive integer, got {eps!r}")
        counts.append(int(round(count)))
    offset = check_real(offset, "offset", -1.0, 1.0) if offset != 0 else 0.0
    shift = int(round(offset * cell_voxels)) % cell_voxels
    values = np.array([1.0 / c for c in counts])
    return cell_voxels, interior, margin, values, counts, shift


def _boundary_distance(n: int, h: float, ndim: int) -> np.ndarray:
    """Distance of each voxel centre of the unit box of ``n**ndim`` voxels to its boundary."""
    centres = (np.arange(n) + 0.5) * h
    near = np.minimum(centres, 1.0 - centres)
    distance = near
    for _ in range(ndim - 1):
        distance = np.minimum.outer(distance, near)
    return distance


def _error_row(dns, base, rebuilt, energy, homogenized_energy, distance, bands, h, h1, l2):
    """One row of the limits table: the norms of the errors of one scale ratio.

    `bands` is (interior, margin, layer): the distances beyond which the interior
    and the margin errors are taken and below which the layer error is; `h1` and
    `l2` are the squared norms of the field (scalar or vector).
    """
    interior, margin, layer = bands
    inner, outer, near = distance > interior, distance > margin, distance < layer
    error = dns - rebuilt
    beyond = math.sqrt(h1(error, h, outer)) if outer.any() else math.nan
    return (
        math.sqrt(l2(dns - base, h)),
        math.sqrt(h1(dns - base, h)),
        math.sqrt(h1(error, h)),
        math.sqrt(h1(error, h, inner)) if inner.any() else math.nan,
        beyond,
        abs(energy - homogenized_energy) / homogenized_energy,
        beyond / math.sqrt(outer.sum() * h**distance.ndim) if outer.any() else math.nan,
        math.sqrt(h1(error, h, near)),
    )


def _profile(density: np.ndarray, distance: np.ndarray, scale: float) -> np.ndarray:
    """RMS of the error's gradient density in strips of width `scale` from the boundary."""
    strip = np.floor(distance / scale).astype(int)
    return np.sqrt(
        np.bincount(strip.ravel(), weights=density.ravel()) / np.bincount(strip.ravel())
    )


def periodic_limits(
    eps=(1 / 4, 1 / 8, 1 / 16),
    *,
    volume_fraction: float = 0.3,
    conductivity=(1.0, 10.0),
    cell_voxels: int = 16,
    interior: float = 0.25,
    margin: float = 4.0,
    offset: float = 0.25,
    ndim: int = 2,
    tol: float = 1e-10,
) -> PeriodicLimits:
    r"""Measure the homogenization errors of periodic disks against the DNS.

    The part is the unit square, made of ``1 / eps`` by ``1 / eps`` copies of
    `disk_cell`; the macro solution is ``u0 = sin(pi x) sin(pi y)``, with the
    source ``f = -div(K* grad u0)`` and ``u = 0`` on the boundary for both
    the homogenized and the resolved problem.

    Parameters
    ----------
    eps : sequence of float, default (1/4, 1/8, 1/16)
        Scale ratios; each ``1 / eps`` must be an integer.
    volume_fraction : float, default 0.3
        Area fraction of the disks.
    conductivity : pair of float, default (1, 10)
        Conductivity of the matrix and of the disks, > 0.
    cell_voxels : int, default 16
        Voxels per cell side (even, >= 4); the part has ``cell_voxels / eps``.
    interior : float, default 0.25
        The interior error is taken over the voxels whose centre lies
        farther than `interior` from the boundary (a fixed subdomain, in
        units of the part's edge; ``4 eps`` for ``eps = 1/16``).
    margin : float, default 4
        The margin error is taken over the voxels farther than ``margin *
        eps`` from the boundary (a subdomain that grows as ``eps`` falls).
    offset : float, default 0.25
        Shift of the lattice of disks against the part, in cells along
        both axes. With ``0`` the part's edges are cell edges between disks,
        where the correctors vanish by symmetry (``w . grad u0 = 0`` on the
        boundary: no boundary layer); any other value cuts the cells where
        they do not.
    ndim : {2, 3}, default 2
        The unit square of disks, or the unit cube of spheres with ``u0 =
        sin(pi x) sin(pi y) sin(pi z)``.
    tol : float, default 1e-10
        Solver tolerance of the cell problem and of the DNS.

    Returns
    -------
    PeriodicLimits

    Notes
    -----
    With ``w_j`` the periodic corrector of the unit cell (``K (e_j + grad_y
    w_j)`` divergence-free, ``w_j`` of zero mean), the two-scale expansion
    ``u_eps = u0 + eps w(x / eps) . grad u0 + O(eps)`` (in H1 away from the
    boundary) gives (Bensoussan, Lions & Papanicolaou 1978; Jikov, Kozlov &
    Oleinik 1994, sec. 1.4; Allaire 1992):

    * ``||u_eps - u0||_L2 = O(eps)``;
    * ``|u_eps - u1|_H1 = O(eps^(1/2))`` over the part: ``u1`` misses the
      boundary data by ``eps w . grad u0``, and the boundary layer that
      corrects it carries an H1 norm of order ``eps^(1/2)``;
    * ``|u_eps - u1|_H1 = O(eps)`` on any subdomain at a fixed distance from
      the boundary (`interior`).

    Measured (``tests/sve/multiscale/test_limits.py``, contrast 10, phi =
    0.3, 8 voxels per cell, offset 0.25). Over eps = 1/4 .. 1/16: L2 slope
    1.01, fixed interior (distance > 1/4) slope 1.02, global H1 slope
    0.71 (local 0.75, 0.67). Over 1/16 .. 1/64: L2 1.00, interior 1.00,
    global 0.58 (local 0.60, 0.56). The global rate 1/2 is asymptotic:
    ``|u_eps - u1|_H1^2 = a eps + b eps^2`` (the boundary layer, one cell
    wide with an O(1) gradient error, `profile`; and the bulk, O(eps)),
    with a = 0.52 and b = 2.87 fitting every eps from 1/4 to 1/64 to 1 %;
    its slope is ``1/2 + (b eps / 2) / (a + b eps)``, near 1/2 only for
    ``eps << a / b = 0.18``. The same data at 16 voxels per cell give the
    same slopes (0.70 global): the voxel resolution is not the cause. The
    error beyond ``4 eps`` (a subdomain that grows as eps falls, empty on
    the unit square for eps >= 1/8) has a norm of slope 0.49 over 1/16 ..
    1/64, but its rms (`h1_error_margin_rms`) falls at 0.90: the subdomain
    grows from 56 % to 77 % of the part. With ``offset=0`` the correctors
    vanish on the boundary and the global H1 slope is 1.

    The manufactured ``u0`` is the exact homogenized solution, so the
    errors contain no macro discretization error; the DNS is solved on the
    tiled voxel grid with the consistent Q1 load of ``f``.

    References
    ----------
    .. [1] A. Bensoussan, J.-L. Lions, G. Papanicolaou, "Asymptotic Analysis
       for Periodic Structures", North-Holland (1978).
    .. [2] V. V. Jikov, S. M. Kozlov, O. A. Oleinik, "Homogenization of
       Differential Operators and Integral Functionals", Springer (1994).
    .. [3] G. Allaire, "Homogenization and two-scale convergence", SIAM J.
       Math. Anal. 23 (1992) 1482-1518.
    """
    cell_voxels, interior, margin, values, counts, shift = _check_limits_arguments(
        eps, cell_voxels, interior, margin, offset
    )
    k = np.asarray(conductivity, dtype=np.float64)
    if k.shape != (2,) or not np.all(np.isfinite(k)) or not np.all(k > 0):
        raise ValueError(f"conductivity must be two finite values > 0, got {conductivity!r}")
    cell = disk_cell(cell_voxels, volume_fraction, ndim)
    cell_result = apparent_conductivity(
        cell, k, bc="periodic", spacing=1.0 / cell_voxels, tol=tol, fields="full"
    )
    tensor = cell_result.tensor
    cell_fields = cell_result.fields  # correctors of the unit cell (edge 1)
    symmetric = 0.5 * (tensor + tensor.T)

    def u0(*x):
        return np.prod([np.sin(np.pi * xi) for xi in x], axis=0)

    def grad_u0(*x):
        out = []
        for i in range(len(x)):
            factors = [
                np.cos(np.pi * xi) if j == i else np.sin(np.pi * xi) for j, xi in enumerate(x)
            ]
            out.append(np.pi * np.prod(factors, axis=0))
        return out

    def source(*x):  # -div(K* grad u0) = -sum_ij K*_ij d_i d_j u0
        total = np.pi**2 * np.trace(symmetric) * u0(*x)
        for i in range(len(x)):
            for j in range(len(x)):
                if i != j:
                    factors = [
                        np.cos(np.pi * xl) if l in (i, j) else np.sin(np.pi * xl)
                        for l, xl in enumerate(x)
                    ]
                    total = total - np.pi**2 * symmetric[i, j] * np.prod(factors, axis=0)
        return total

    # 1/2 sum_i K_ii int (d_i u0)^2 = 1/2 tr(K) pi^2 / 2**d (the cross terms vanish)
    homogenized_energy = 0.5 * np.trace(symmetric) * np.pi**2 / 2**ndim
    rows = []
    iterations = []
    fields = {}
    for count in counts:
        n = cell_voxels * count
        h = 1.0 / n
        axes = tuple(range(ndim))
        phases = np.roll(np.tile(cell, (count,) * ndim), (shift,) * ndim, axis=axes)
        result = solve_conductivity_bvp(
            phases, k, dirichlet={"boundary": 0.0}, source=source, spacing=h, tol=tol
        )
        iterations.append(result.iterations)
        x = np.meshgrid(*result.coordinates, indexing="ij")
        base = u0(*x)
        grads = grad_u0(*x)
        scale = 1.0 / count
        # the lattice is shifted by `shift` voxels: the cell sees x - shift h
        points = np.stack([xi.ravel() - shift * h for xi in x], axis=1)
        gradient = np.stack([g.ravel() for g in grads], axis=1)
        del grads
        correction = cell_fields.first_order_correction(points, gradient, epsilon=scale)
        del points, gradient
        rebuilt = base + correction.reshape(base.shape)
        dns = result.potential
        distance = _boundary_distance(n, h, ndim)
        rows.append(
            _error_row(
                dns, base, rebuilt, result.energy, homogenized_energy, distance,
                (interior, margin * scale, scale), h, q1_seminorm_squared, l2_norm_squared,
            )
        )  # fmt: skip
        if count == max(counts):
            fields = {
                "dns": dns,
                "homogenized": base,
                "corrected": rebuilt,
                "error": dns - rebuilt,
            }
            profile = _profile(q1_gradient_density(dns - rebuilt, h), distance, scale)
    return _limits_result(
        values, counts, cell_voxels, rows, profile, tensor, cell, interior, margin, fields,
        iterations,
    )  # fmt: skip


def _mandel_4th(mandel: np.ndarray) -> np.ndarray:
    """The 2-D stiffness ``C[i, j, k, l]`` of a Mandel matrix (00, 11, sqrt2 01)."""
    pairs = {(0, 0): (0, 1.0), (1, 1): (1, 1.0), (0, 1): (2, math.sqrt(2.0))}
    pairs[(1, 0)] = pairs[(0, 1)]
    out = np.empty((2, 2, 2, 2))
    for (i, j), (p, wp) in pairs.items():
        for (k, l), (q, wq) in pairs.items():
            out[i, j, k, l] = mandel[p, q] / (wp * wq)
    return out


def elastic_limits(
    eps=(1 / 4, 1 / 8, 1 / 16),
    *,
    volume_fraction: float = 0.3,
    moduli=({"E": 1.0, "nu": 0.3}, {"E": 10.0, "nu": 0.3}),
    amplitude=(1.0, 0.5),
    cell_voxels: int = 8,
    interior: float = 0.25,
    margin: float = 4.0,
    offset: float = 0.25,
    tol: float = 1e-10,
) -> PeriodicLimits:
    r"""`periodic_limits` for plane-strain elasticity: periodic disks in a matrix.

    The unit square of ``1 / eps`` by ``1 / eps`` copies of `disk_cell`, the
    macro displacement ``u0 = a sin(pi x) sin(pi y)`` (``a`` = `amplitude`,
    zero on the boundary), the body force ``b = -div(C* : eps(u0))`` with
    ``C*`` the periodic apparent stiffness of the cell, ``u = 0`` on the
    boundary of both problems, and ``u1 = u0 + eps w(x / eps) . eps(u0)``
    with the displacement correctors ``w`` of the three unit Mandel strains.

    Parameters
    ----------
    eps, volume_fraction, cell_voxels, interior, margin, offset, tol
        As in `periodic_limits`.
    moduli : pair of mappings, default E = 1 and 10, nu = 0.3
        Isotropic moduli of the matrix and of the disks (`sve.solvers.isotropic`).
    amplitude : pair of float, default (1, 0.5)
        The vector ``a``.

    Returns
    -------
    PeriodicLimits
        The same fields, of the displacement (norms summed over the two
        components); `effective_tensor` is the Mandel ``C*`` (3, 3) and
        `energy_error` compares the DNS energy with ``1/2 int eps(u0) : C* :
        eps(u0)``.

    Notes
    -----
    The theory is that of the scalar case (Bensoussan, Lions & Papanicolaou
    1978, ch. 1; Oleinik, Shamaev & Yosifian 1992): L2 rate 1, H1 rate 1
    away from the boundary, 1/2 over the part. Measured values are in the
    guide (boundary-value problems) and ``tests/sve/multiscale/test_limits.py``.
    """
    from sve.solvers import apparent_stiffness, isotropic, solve_elasticity_bvp

    cell_voxels, interior, margin, values, counts, shift = _check_limits_arguments(
        eps, cell_voxels, interior, margin, offset
    )
    amplitude = np.asarray(amplitude, dtype=np.float64)
    if amplitude.shape != (2,) or not np.all(np.isfinite(amplitude)):
        raise ValueError(f"amplitude must be two finite numbers, got {amplitude!r}")
    if len(moduli) != 2:
        raise ValueError(f"moduli must hold two tables of moduli, got {moduli!r}")
    phases_stiffness = [isotropic(2, **dict(m)) for m in moduli]
    cell = disk_cell(cell_voxels, volume_fraction)
    cell_result = apparent_stiffness(
        cell, phases_stiffness, bc="periodic", spacing=1.0 / cell_voxels, tol=tol, fields="full"
    )
    tensor = 0.5 * (cell_result.tensor + cell_result.tensor.T)
    stiffness = _mandel_4th(tensor)
    a = amplitude
    pi = math.pi

    def derivatives(x, y):
        """First derivatives d[c, k] = d_k u0_c and second ones dd[c, k, l]."""
        ss, cc = np.sin(pi * x) * np.sin(pi * y), np.cos(pi * x) * np.cos(pi * y)
        cs, sc = np.cos(pi * x) * np.sin(pi * y), np.sin(pi * x) * np.cos(pi * y)
        d = np.array([[ac * pi * cs, ac * pi * sc] for ac in a])
        dd = np.array([[[-ac * pi**2 * ss, ac * pi**2 * cc], [ac * pi**2 * cc, -ac * pi**2 * ss]]
                       for ac in a])  # fmt: skip
        return d, dd

    def mandel_strain(d):
        return np.stack([d[0, 0], d[1, 1], math.sqrt(0.5) * (d[0, 1] + d[1, 0])], axis=-1)

    def body_force(x, y):  # b_i = -C_ijkl d_j d_l u0_k
        _, dd = derivatives(x, y)
        return -np.einsum("ijkl,kjl...->...i", stiffness, dd)

    # 1/2 int eps(u0) : C* : eps(u0), Gauss-Legendre (the integrand is a trigonometric
    # polynomial of degree 2 per axis: 8 points per axis integrate it to round-off)
    nodes, weights = np.polynomial.legendre.leggauss(8)
    nodes, weights = 0.5 * (nodes + 1.0), 0.5 * weights
    gx, gy = np.meshgrid(nodes, nodes, indexing="ij")
    strain = mandel_strain(derivatives(gx, gy)[0])
    density = np.einsum("...p,pq,...q->...", strain, tensor, strain)
    homogenized_energy = 0.5 * float(np.einsum("i,j,ij->", weights, weights, density))

    def h1_squared(e, h, where=None):
        return sum(q1_seminorm_squared(e[..., c], h, where) for c in range(2))

    def l2_squared(e, h):
        return sum(l2_norm_squared(e[..., c], h) for c in range(2))

    rows, iterations, fields, profile = [], [], {}, np.empty(0)
    for count in counts:
        n = cell_voxels * count
        h = 1.0 / n
        phases = np.roll(np.tile(cell, (count, count)), (shift, shift), axis=(0, 1))
        result = solve_elasticity_bvp(
            phases, phases_stiffness, displacement={"boundary": (0.0, 0.0)},
            body_force=body_force, spacing=h, tol=tol,
        )  # fmt: skip
        iterations.append(result.iterations)
        x, y = np.meshgrid(np.arange(n + 1) * h, np.arange(n + 1) * h, indexing="ij")
        d, _ = derivatives(x, y)
        base = np.stack([ac * np.sin(pi * x) * np.sin(pi * y) for ac in a], axis=-1)
        scale = 1.0 / count
        points = np.stack([x.ravel() - shift * h, y.ravel() - shift * h], axis=1)
        gradient = mandel_strain(d).reshape(-1, 3)
        correction = cell_result.fields.first_order_correction(points, gradient, epsilon=scale)
        rebuilt = base + correction.reshape(base.shape)
        dns = result.displacement
        distance = _boundary_distance(n, h, 2)
        rows.append(
            _error_row(
                dns, base, rebuilt, result.energy, homogenized_energy, distance,
                (interior, margin * scale, scale), h, h1_squared, l2_squared,
            )
        )  # fmt: skip
        if count == max(counts):
            error = dns - rebuilt
            fields = {"dns": dns, "homogenized": base, "corrected": rebuilt, "error": error}
            density = q1_gradient_density(error[..., 0], h) + q1_gradient_density(error[..., 1], h)
            profile = _profile(density, distance, scale)
    return _limits_result(
        values, counts, cell_voxels, rows, profile, tensor, cell, interior, margin, fields,
        iterations,
    )  # fmt: skip


def _limits_result(
    values, counts, cell_voxels, rows, profile, tensor, cell, interior, margin, fields, iterations
) -> PeriodicLimits:
    table = np.array(rows)
    return PeriodicLimits(
        eps=values,
        voxels=np.array([cell_voxels * c for c in counts]),
        l2_error=table[:, 0],
        h1_error_homogenized=table[:, 1],
        h1_error=table[:, 2],
        h1_error_interior=table[:, 3],
        h1_error_margin=table[:, 4],
        h1_error_margin_rms=table[:, 6],
        h1_error_layer=table[:, 7],
        energy_error=table[:, 5],
        l2_slope=_slope(values, table[:, 0]),
        h1_slope=_slope(values, table[:, 2]),
        h1_interior_slope=_slope(values, table[:, 3]),
        h1_margin_slope=_slope(values, table[:, 4]),
        h1_margin_rms_slope=_slope(values, table[:, 6]),
        h1_layer_slope=_slope(values, table[:, 7]),
        profile=profile,
        effective_tensor=tensor,
        volume_fraction=float(cell.mean()),
        interior=float(interior),
        margin=float(margin),
        fields=fields,
        iterations=tuple(iterations),
    )


@dataclass(frozen=True)
class RandomLimits:
    """Errors of homogenization in a random medium, per realization, against the DNS.

    Attributes
    ----------
    eps : ndarray of shape (n,)
        Scale ratios, correlation length over part edge.
    voxels : ndarray of shape (n,), int
        Voxels per side of the part.
    l2_error, h1_error, h1_error_interior : ndarray of shape (r, n)
        Per realization: ``||u_eps - u0||_L2``, ``|u_eps - u1|_H1`` over the
        part and over the voxels farther than `interior` from the boundary.
    tensors : ndarray of shape (r, n, 2, 2)
        The periodic apparent tensor of each realization (its ``K*``).
    fractions : ndarray of shape (r, n)
        Voxel fraction of phase 1 of each realization.
    l2_slope, h1_slope, h1_interior_slope : float
        Slopes of the log of the mean errors over realizations against
        ``log eps``.
    fluctuation_slope : float
        Slope of the log standard deviation of ``K_00`` over the
        realizations against ``log eps`` (the central limit theorem:
        ``d / 2 = 1`` in 2-D).
    literature_slope : float
        Slope of ``eps |ln eps|^(1/2)`` (2-D; Gloria, Neukamm & Otto 2015;
        Armstrong, Kuusi & Mourrat 2019) over the same ``eps``.
    volume_fraction : float
        Mean voxel fraction of phase 1.
    interior : float
        Distance from the boundary that defines the interior.
    """

    eps: np.ndarray
    voxels: np.ndarray
    l2_error: np.ndarray
    h1_error: np.ndarray
    h1_error_interior: np.ndarray
    tensors: np.ndarray
    fractions: np.ndarray
    l2_slope: float
    h1_slope: float
    h1_interior_slope: float
    fluctuation_slope: float
    literature_slope: float
    volume_fraction: float
    interior: float


def random_limits(
    eps=(1 / 8, 1 / 16, 1 / 32),
    *,
    volume_fraction: float = 0.3,
    conductivity=(1.0, 10.0),
    voxels_per_length: int = 8,
    realizations: int = 4,
    interior: float = 0.25,
    seed: int = 0,
    tol: float = 1e-9,
) -> RandomLimits:
    r"""Measure the homogenization errors of a random two-phase medium against the DNS.

    Per ``eps`` and realization: a periodic level cut (phase 1 at
    `volume_fraction`) of a Gaussian field with a Gaussian covariance of
    length ``eps`` on the unit square (`voxels_per_length` voxels per
    length); its periodic apparent tensor ``K`` and correctors ``w`` (the
    periodic cell problem of the whole realization, the part taken for one
    period: the correctors come from the same realization as the DNS, never
    from a tiled window); the macro solution ``u0 = sin(pi x) sin(pi y)``
    with the source ``-div(K grad u0)``; the DNS of the same source with
    ``u = 0`` on the boundary; and ``u1 = u0 + w(x) . grad u0``.

    Parameters
    ----------
    eps : sequence of float, default (1/8, 1/16, 1/32)
        Correlation length over the part's edge; ``voxels_per_length /
        eps`` must be an integer.
    volume_fraction : float, default 0.3
        Fraction of phase 1, in (0, 1).
    conductivity : pair of float, default (1, 10)
        Phases 0 and 1, > 0.
    voxels_per_length : int, default 8
        Voxels per correlation length, >= 2.
    realizations : int, default 4
        Realizations per ``eps``, >= 2.
    interior : float, default 0.25
        Distance from the boundary beyond which the interior error is taken.
    seed : int, default 0
        Seed of the realizations (``numpy.random.SeedSequence``, one child
        per ``eps`` and realization).
    tol : float, default 1e-9
        Solver tolerance.

    Returns
    -------
    RandomLimits

    Notes
    -----
    In a stationary ergodic medium with finite-range correlations, the
    first-order two-scale expansion built on the (stationary) corrector has
    an H1 error of order ``eps`` in 3-D and ``eps |ln eps|^(1/2)`` in 2-D in
    the interior, and the L2 error of ``u0`` the same order (Gloria, Neukamm
    & Otto 2015; Armstrong, Kuusi & Mourrat 2019, ch. 6-7); the fluctuations
    of the apparent tensor of a window of edge ``L`` fall as ``(l / L)^(d /
    2)``. Here the corrector is the periodic one of the realization (the
    periodization method of Gloria & Otto), and ``u0`` uses the
    realization's own apparent tensor, so that its fluctuation does not
    enter the errors. Measured values are in the docs (guide:
    boundary-value problems).

    References
    ----------
    .. [1] A. Gloria, S. Neukamm, F. Otto, "Quantification of ergodicity in
       stochastic homogenization: optimal bounds via spectral gap on Glauber
       dynamics", Invent. Math. 199 (2015) 455-515.
    .. [2] S. Armstrong, T. Kuusi, J.-C. Mourrat, "Quantitative Stochastic
       Homogenization and Large-Scale Regularity", Springer (2019).
    """
    from generators import Gaussian, gaussian_field, level_cut

    voxels_per_length = check_integer(voxels_per_length, "voxels_per_length", 2)
    realizations = check_integer(realizations, "realizations", 2)
    volume_fraction = check_real(volume_fraction, "volume_fraction", 0.0, 1.0)
    interior = check_real(interior, "interior", 0.0, 0.5)
    seed = check_integer(seed, "seed", 0)
    k = np.asarray(conductivity, dtype=np.float64)
    if k.shape != (2,) or not np.all(np.isfinite(k)) or not np.all(k > 0):
        raise ValueError(f"conductivity must be two finite values > 0, got {conductivity!r}")
    values = np.atleast_1d(np.asarray(eps, dtype=np.float64))
    if values.size < 1 or values.ndim != 1 or np.any(values <= 0) or np.any(values > 1):
        raise ValueError(f"eps must hold values in (0, 1], got {eps!r}")
    sizes = voxels_per_length / values
    if np.any(np.abs(sizes - np.round(sizes)) > 1e-9):
        raise ValueError(
            f"voxels_per_length / eps must be integers, got {voxels_per_length} / {eps!r}"
        )
    sizes = np.round(sizes).astype(int)
    children = np.random.SeedSequence(seed).spawn(values.size * realizations)
    shape = (realizations, values.size)
    l2, h1, h1_inner = np.empty(shape), np.empty(shape), np.empty(shape)
    tensors = np.empty(shape + (2, 2))
    fractions = np.empty(shape)
    for j, n in enumerate(sizes):
        h = 1.0 / n
        for r in range(realizations):
            rng = np.random.default_rng(children[j * realizations + r])
            field_ = gaussian_field((n, n), Gaussian(float(voxels_per_length)), rng=rng)
            phases = level_cut(field_, [1.0 - volume_fraction, volume_fraction])
            fractions[r, j] = float(phases.mean())
            cell = apparent_conductivity(
                phases, k, bc="periodic", spacing=h, tol=tol, fields="full"
            )
            tensor = 0.5 * (cell.tensor + cell.tensor.T)
            tensors[r, j] = cell.tensor

            def source(x, y, tensor=tensor):
                s, c = np.sin(np.pi * x), np.cos(np.pi * x)
                t, d = np.sin(np.pi * y), np.cos(np.pi * y)
                return np.pi**2 * (
                    (tensor[0, 0] + tensor[1, 1]) * s * t - 2.0 * tensor[0, 1] * c * d
                )

            result = solve_conductivity_bvp(
                phases, k, dirichlet={"boundary": 0.0}, source=source, spacing=h, tol=tol
            )
            x, y = np.meshgrid(*result.coordinates, indexing="ij")
            base = np.sin(np.pi * x) * np.sin(np.pi * y)
            gradient = np.stack(
                [
                    (np.pi * np.cos(np.pi * x) * np.sin(np.pi * y)).ravel(),
                    (np.pi * np.sin(np.pi * x) * np.cos(np.pi * y)).ravel(),
                ],
                axis=1,
            )
            points = np.stack([x.ravel(), y.ravel()], axis=1)
            rebuilt = base + cell.fields.first_order_correction(points, gradient).reshape(
                base.shape
            )
            error = result.potential - rebuilt
            centres = (np.arange(n) + 0.5) * h
            near = np.minimum(centres, 1.0 - centres)
            inner = np.minimum(near[:, None], near[None, :]) > interior
            l2[r, j] = math.sqrt(l2_norm_squared(result.potential - base, h))
            h1[r, j] = math.sqrt(q1_seminorm_squared(error, h))
            h1_inner[r, j] = math.sqrt(q1_seminorm_squared(error, h, inner))
    spread = tensors[:, :, 0, 0].std(axis=0, ddof=1)
    literature = values * np.sqrt(np.abs(np.log(values)))
    return RandomLimits(
        eps=values,
        voxels=sizes,
        l2_error=l2,
        h1_error=h1,
        h1_error_interior=h1_inner,
        tensors=tensors,
        fractions=fractions,
        l2_slope=_slope(values, l2.mean(axis=0)),
        h1_slope=_slope(values, h1.mean(axis=0)),
        h1_interior_slope=_slope(values, h1_inner.mean(axis=0)),
        fluctuation_slope=_slope(values, spread),
        literature_slope=_slope(values, literature),
        volume_fraction=float(np.mean(fractions)),
        interior=float(interior),
    )


@dataclass(frozen=True)
class HoleConcentration:
    """Flux concentration at a hole in the DNS against the homogenized medium.

    Attributes
    ----------
    eps : ndarray of shape (n,)
        Cell edge over part edge.
    total_flux, total_flux_homogenized : ndarray of shape (n,)
        Flux through the face ``xmax`` of the DNS and of the homogenized
        medium with the same hole (the macro response).
    window_flux, window_flux_homogenized : ndarray of shape (n,)
        Mean of ``q_x`` over a window one cell wide and one cell high that
        rests on the top of the hole (where the homogenized flux peaks),
        over the far-field flux ``k* / 1`` (a concentration factor).
    peak_flux : ndarray of shape (n,)
        Largest ``|q|`` of a voxel in that window in the DNS, over the
        far-field flux: the microscopic peak that homogenization never
        sees.
    peak_flux_homogenized : ndarray of shape (n,)
        Largest ``|q|`` of the homogenized field over the far-field flux
        (2 for a circular hole in the continuum; the staircase lowers or
        raises it).
    effective_conductivity : float
        ``K*_00`` of the cell.
    hole_radius : float
    """

    eps: np.ndarray
    total_flux: np.ndarray
    total_flux_homogenized: np.ndarray
    window_flux: np.ndarray
    window_flux_homogenized: np.ndarray
    peak_flux: np.ndarray
    peak_flux_homogenized: np.ndarray
    effective_conductivity: float
    hole_radius: float


def hole_concentration(
    eps=(1 / 4, 1 / 8, 1 / 16, 1 / 32),
    *,
    hole_radius: float = 0.2,
    volume_fraction: float = 0.3,
    conductivity=(1.0, 10.0),
    cell_voxels: int = 8,
    tol: float = 1e-9,
) -> HoleConcentration:
    r"""Measure the flux concentration at a hole in periodic disks against homogenization.

    The unit square of periodic disks (`disk_cell`) with a circular hole of
    radius `hole_radius` at its centre (void voxels), ``u = 0`` on ``xmin``
    and ``u = 1`` on ``xmax``, the other faces insulated. The homogenized
    reference is the same problem, on the same voxels and with the same
    hole, for the homogeneous medium ``K*`` of the cell, so that the
    staircase of the hole is common to both. As ``eps / hole_radius``
    falls, the DNS flux averaged over a cell next to the hole tends to the
    homogenized one; when the hole is a few cells wide it does not (the
    size effect), and the microscopic peak inside the window stays above
    the homogenized peak at every ``eps``.

    Parameters
    ----------
    eps : sequence of float, default (1/4, 1/8, 1/16, 1/32)
        Values ``1 / n``.
    hole_radius : float, default 0.2
        In (0, 0.5).
    volume_fraction, conductivity, cell_voxels, tol
        As in `periodic_limits`.

    Returns
    -------
    HoleConcentration
    """
    cell_voxels = check_integer(cell_voxels, "cell_voxels", 4)
    hole_radius = check_real(hole_radius, "hole_radius", 0.0, 0.5)
    k = np.asarray(conductivity, dtype=np.float64)
    if k.shape != (2,) or not np.all(np.isfinite(k)) or not np.all(k > 0):
        raise ValueError(f"conductivity must be two finite values > 0, got {conductivity!r}")
    values = np.atleast_1d(np.asarray(eps, dtype=np.float64))
    counts = []
    for value in values:
        count = 1.0 / value if value > 0 else math.inf
        if not (math.isfinite(count) and abs(count - round(count)) < 1e-9 and count >= 1):
            raise ValueError(f"eps must hold values 1 / n with n a positive integer, got {eps!r}")
        counts.append(int(round(count)))
    cell = disk_cell(cell_voxels, volume_fraction)
    tensor = apparent_conductivity(
        cell, k, bc="periodic", spacing=1.0 / cell_voxels, tol=tol
    ).tensor
    effective = float(tensor[0, 0])
    rows = []
    for count in counts:
        n = cell_voxels * count
        h = 1.0 / n
        centres = (np.arange(n) + 0.5) * h
        x, y = np.meshgrid(centres, centres, indexing="ij")
        hole = (x - 0.5) ** 2 + (y - 0.5) ** 2 < hole_radius**2
        phases = np.where(hole, 2, np.tile(cell, (count, count))).astype(np.int8)
        data = dict(dirichlet={"xmin": 0.0, "xmax": 1.0}, spacing=h, tol=tol)
        dns = solve_conductivity_bvp(phases, [k[0], k[1], 0.0], **data)
        homogenized = solve_conductivity_bvp(hole.astype(np.int8), [effective, 0.0], **data)
        scale = 1.0 / count
        window = (
            (np.abs(x - 0.5) < scale / 2)
            & (y > 0.5 + hole_radius - h)
            & (y < 0.5 + hole_radius + scale)
            & ~hole
        )
        far = effective  # the far-field flux of a unit drop over a unit length
        magnitude = np.linalg.norm(dns.flux, axis=-1)
        rows.append(
            (
                dns.face_flux["xmax"],
                homogenized.face_flux["xmax"],
                float(dns.flux[window][:, 0].mean()) / far,
                float(homogenized.flux[window][:, 0].mean()) / far,
                float(magnitude[window].max()) / far,
                float(np.linalg.norm(homogenized.flux, axis=-1).max()) / far,
            )
        )
    table = np.array(rows)
    return HoleConcentration(
        eps=np.array([1.0 / c for c in counts]),
        total_flux=table[:, 0],
        total_flux_homogenized=table[:, 1],
        window_flux=table[:, 2],
        window_flux_homogenized=table[:, 3],
        peak_flux=table[:, 4],
        peak_flux_homogenized=table[:, 5],
        effective_conductivity=effective,
        hole_radius=float(hole_radius),
    )
