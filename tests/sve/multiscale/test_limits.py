"""Limits of homogenization on periodic disks: rates of the errors against the DNS.

Periodic disks (phi = 0.3, contrast 10) on the unit square, u0 = sin(pi x) sin(pi y)
manufactured with the cell's effective tensor. The rates are those of the two-scale
expansion (Bensoussan, Lions & Papanicolaou 1978; Jikov, Kozlov & Oleinik 1994); the
tolerance 0.15 on each slope is that of the issue. The DNS and the cell problem share
the voxel grid, so the errors are those of homogenization alone.
"""

from __future__ import annotations

import numpy as np
import pytest

from sve.multiscale.limits import (
    disk_cell,
    l2_norm_squared,
    periodic_limits,
    q1_seminorm_squared,
)


@pytest.fixture(scope="module")
def issue_range():
    """The issue's range: eps = 1/4 .. 1/16, 8 voxels per cell (0.5 s)."""
    return periodic_limits((1 / 4, 1 / 8, 1 / 16), cell_voxels=8)


def test_l2_error_of_the_homogenized_field_falls_at_rate_one(issue_range):
    """eps = 1/4 .. 1/16, 8 voxels per cell: ||u_eps - u0||_L2 ~ eps (measured 1.01).
    The H1 error of u0 alone does not fall (the gradient of u_eps oscillates: it tends
    to |grad_y w . grad u0|_L2): it keeps 90 % of its value where the L2 error falls by
    4 (measured 98 %); the energy of the DNS tends to the homogenized one."""
    result = issue_range
    assert abs(result.l2_slope - 1.0) < 0.15, result.l2_error
    h1 = result.h1_error_homogenized
    assert h1[-1] > 0.9 * h1[0]
    assert np.all(np.diff(result.energy_error) < 0)
    # isotropic by symmetry of the disk on the square lattice
    tensor = result.effective_tensor
    assert tensor[0, 1] == pytest.approx(0.0, abs=1e-9)
    assert tensor[0, 0] == pytest.approx(tensor[1, 1], rel=1e-9)
    assert result.fields["dns"].shape == (129, 129)


def test_corrector_h1_rates_over_the_issue_range(issue_range):
    """eps = 1/4 .. 1/16 (8 voxels per cell, lattice shifted by a quarter cell), u0 and
    grad u0 exact. Interior (voxels farther than 1/4 = 4 eps(1/16) from the boundary, the
    largest subdomain that exists at eps = 1/4): |u_eps - u1|_H1 falls at rate 1 (measured
    1.02). Globally the two-scale theory gives |u_eps - u1|_H1^2 = a eps + b eps^2 +
    O(eps^3): the boundary layer (one cell wide, O(1) gradient error) and the bulk
    (O(eps)). The slope tends to 1/2 only when b eps << a; here b / a = 5.6, so over
    1/4 .. 1/16 it is 0.71 (local 0.75, 0.67), not 0.5 +- 0.15. The test checks that
    theory: a and b fitted on eps = 1/8 and 1/16 predict the error at eps = 1/4 (measured
    to 0.1 %; 2 % asserted, the O(eps^3) term), with a > 0, and the slope of the fitted
    model over the range equals the measured one."""
    result = issue_range
    assert abs(result.h1_interior_slope - 1.0) < 0.15, result.h1_error_interior
    _two_term_check(result, rel=0.02)
    assert 0.5 < result.h1_slope < 1.0
    # the boundary layer: the rms gradient error in the first cell is several times that
    # of the second (measured 3.4 times at eps = 1/16)
    assert result.profile[0] > 2 * result.profile[1]


@pytest.mark.slow
def test_corrector_h1_rates_global_and_interior():
    """eps = 1/16 .. 1/64, 8 voxels per cell, lattice shifted by a quarter cell: with the
    first-order corrector, |u_eps - u1|_H1 falls as eps^(1/2) over the part (measured
    0.58, local 0.60 then 0.56: b eps / a falls to 0.09) and as eps on the fixed interior
    at a distance > 1/4 = 4 eps(1/16) from the boundary (measured 1.00). Beyond 4 eps (a
    subdomain that grows as eps falls) the rms error falls as eps (measured 0.90; the
    norm itself only at 0.49, its subdomain growing from 56 % to 77 % of the part)."""
    result = periodic_limits((1 / 16, 1 / 32, 1 / 64), cell_voxels=8)
    assert abs(result.h1_slope - 0.5) < 0.15, result.h1_error
    assert abs(result.h1_interior_slope - 1.0) < 0.15, result.h1_error_interior
    assert abs(result.h1_margin_rms_slope - 1.0) < 0.15, result.h1_error_margin_rms
    assert abs(result.h1_layer_slope - 0.5) < 0.15, result.h1_error_layer
    # the boundary layer: the first cell carries an rms gradient error several times
    # that of the second (measured 10 times at eps = 1/64)
    assert result.profile[0] > 5 * result.profile[1]


@pytest.mark.slow
def test_no_boundary_layer_when_the_correctors_vanish_on_the_boundary():
    """Cell edges on the part's edges (offset 0): w_x is odd about the disk centre and
    periodic, so it vanishes on the faces x = const through cell edges, and w . grad u0
    = 0 on the whole boundary (grad u0 is normal there): no boundary layer, the global H1
    error falls at rate 1 (measured 1.01) instead of 1/2."""
    result = periodic_limits((1 / 4, 1 / 8, 1 / 16), cell_voxels=16, offset=0.0)
    assert abs(result.h1_slope - 1.0) < 0.15, result.h1_error


def _two_term_check(result, rel):
    """|u_eps - u1|_H1^2 = a eps + b eps^2 + O(eps^3): a, b fitted on the two smallest
    eps predict the error at the largest within `rel`; the slope of that model over the
    range equals the measured one (to 0.02); a, b > 0."""
    eps, squared = result.eps, result.h1_error**2
    b, a = np.polyfit(eps[1:], squared[1:] / eps[1:], 1)
    assert a > 0 and b > 0
    assert a * eps[0] + b * eps[0] ** 2 == pytest.approx(squared[0], rel=rel)
    model = np.sqrt(a * eps + b * eps**2)
    slope = np.polyfit(np.log(eps), np.log(model), 1)[0]
    assert result.h1_slope == pytest.approx(slope, abs=0.02)
    return a, b


@pytest.mark.slow
def test_limits_in_3d():
    """Spheres (phi = 0.3, contrast 10, 8 voxels per cell, up to 128^3 voxels, 10 s CPU),
    eps = 1/4 .. 1/16: L2 slope 1 (measured 0.98), H1 slope of u1 at a distance > 1/4
    from the boundary 1 (measured 1.05), both within the issue's 0.15. Over the part the
    slope is 0.85: the boundary layer weighs less in 3-D (a / b = 0.053 against 0.18 in
    2-D), so eps^(1/2) shows only for eps << 0.05; the two-term theory predicts the error
    at 1/4 from 1/8 and 1/16 (measured to 0.5 %; 3 % asserted, the O(eps^3) term)."""
    result = periodic_limits((1 / 4, 1 / 8, 1 / 16), cell_voxels=8, ndim=3)
    tensor = result.effective_tensor
    assert np.allclose(tensor, tensor[0, 0] * np.eye(3), atol=1e-9)  # cubic symmetry
    assert abs(result.l2_slope - 1.0) < 0.15, result.l2_error
    assert abs(result.h1_interior_slope - 1.0) < 0.15, result.h1_error_interior
    a, b = _two_term_check(result, rel=0.03)
    assert a / b < 0.1
    assert np.all(np.diff(result.energy_error) < 0)


def test_elastic_limits_over_the_issue_range():
    """Plane strain, disks E = 10 in a matrix E = 1 (nu = 0.3, phi = 0.3, 8 voxels per
    cell), u0 = (1, 0.5) sin(pi x) sin(pi y), eps = 1/4 .. 1/16: L2 slope 1 (measured
    1.00), interior H1 slope 1 (1.02), global H1 slope 0.5 +- 0.15 (0.61: the boundary
    layer weighs more than for conduction, a / b = 0.42), explained by the two-term
    theory (the error at 1/4 predicted from 1/8 and 1/16 to 1.6 %; 3 % asserted)."""
    from sve.multiscale.limits import elastic_limits

    result = elastic_limits((1 / 4, 1 / 8, 1 / 16), cell_voxels=8)
    C = result.effective_tensor
    assert C[0, 0] == pytest.approx(C[1, 1], rel=1e-9)  # square symmetry of the cell
    assert abs(C[0, 2]) < 1e-9 and abs(C[1, 2]) < 1e-9
    assert abs(result.l2_slope - 1.0) < 0.15, result.l2_error
    assert abs(result.h1_interior_slope - 1.0) < 0.15, result.h1_error_interior
    assert abs(result.h1_slope - 0.5) < 0.15, result.h1_error
    _two_term_check(result, rel=0.03)
    assert np.all(np.diff(result.energy_error) < 0)


@pytest.mark.slow
def test_elastic_limits_asymptotic_range():
    """Elasticity, eps = 1/16 .. 1/64 (3 s CPU): global H1 slope 0.54, boundary-layer strip
    0.51, interior 1.00, rms beyond 4 eps 0.93 (measured), each within 0.15 of theory."""
    from sve.multiscale.limits import elastic_limits

    result = elastic_limits((1 / 16, 1 / 32, 1 / 64), cell_voxels=8)
    assert abs(result.h1_slope - 0.5) < 0.15, result.h1_error
    assert abs(result.h1_layer_slope - 0.5) < 0.15, result.h1_error_layer
    assert abs(result.h1_interior_slope - 1.0) < 0.15, result.h1_error_interior
    assert abs(result.h1_margin_rms_slope - 1.0) < 0.15, result.h1_error_margin_rms
    assert result.profile[0] > 5 * result.profile[1]  # measured 14 times


def test_norms_of_q1_fields_are_exact():
    """Fields in the Q1 space on grids of edge 1/4 (2-D and 3-D): the norms are exact
    integrals, to round-off: int (x + 2 y)^2 = 8/3, int |grad(x + 2 y)|^2 = 5, ..."""
    x, y = np.meshgrid(np.linspace(0, 1, 5), np.linspace(0, 1, 5), indexing="ij")
    field = x + 2 * y
    assert l2_norm_squared(field, 0.25) == pytest.approx(1 / 3 + 1 + 4 / 3, rel=1e-12)
    assert q1_seminorm_squared(field, 0.25) == pytest.approx(5.0, rel=1e-12)
    bilinear = x * y  # |grad|^2 = y^2 + x^2 -> 2/3, exact for the Q1 field x y
    assert q1_seminorm_squared(bilinear, 0.25) == pytest.approx(2 / 3, rel=1e-12)
    x, y, z = np.meshgrid(*([np.linspace(0, 1, 5)] * 3), indexing="ij")
    assert q1_seminorm_squared(x + 2 * y - z, 0.25) == pytest.approx(6.0, rel=1e-12)
    # |grad xyz|^2 = y2 z2 + x2 z2 + x2 y2 -> 3 / 9; int (x y)^2 = 1 / 9
    assert q1_seminorm_squared(x * y * z, 0.25) == pytest.approx(1 / 3, rel=1e-12)
    assert l2_norm_squared(x * y, 0.25) == pytest.approx(1 / 9, rel=1e-12)


def test_disk_cell_fraction():
    cell = disk_cell(64, 0.3)
    assert cell.dtype == np.int8
    assert abs(cell.mean() - 0.3) < 0.01  # staircase of a disk of radius 19.6 voxels
    sphere = disk_cell(32, 0.3, ndim=3)
    assert sphere.shape == (32, 32, 32)
    assert abs(sphere.mean() - 0.3) < 0.01  # a sphere of radius 13.2 voxels


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(eps=(0.3,)), "eps"),
        (dict(eps=(0.25,), cell_voxels=7), "even"),
        (dict(eps=(0.25,), conductivity=(1.0, 0.0)), "conductivity"),
        (dict(eps=(0.25,), interior=0.7), "interior"),
        (dict(eps=()), "eps"),
    ],
)
def test_bad_inputs(kwargs, match):
    eps = kwargs.pop("eps")
    with pytest.raises(ValueError, match=match):
        periodic_limits(eps, **kwargs)


@pytest.mark.slow
def test_random_limits_same_realization_bounds_and_reproducible():
    """Two sizes, two realizations: each periodic apparent tensor lies between the Reuss
    and Voigt means of its own realization (to 1e-6, the solver tolerance 1e-9 and
    round-off), the errors are finite and positive, and a second run is bit-identical
    (seeded)."""
    from sve.multiscale.limits import random_limits

    options = dict(realizations=2, voxels_per_length=4, seed=5)
    result = random_limits((1 / 8, 1 / 16), **options)
    k = np.array([1.0, 10.0])
    phi = result.fractions
    voigt = (1 - phi) * k[0] + phi * k[1]
    reuss = 1 / ((1 - phi) / k[0] + phi / k[1])
    for axis in range(2):
        diagonal = result.tensors[..., axis, axis]
        assert np.all(diagonal <= voigt * (1 + 1e-6))
        assert np.all(diagonal >= reuss * (1 - 1e-6))
    for errors in (result.l2_error, result.h1_error, result.h1_error_interior):
        assert errors.shape == (2, 2) and np.all(np.isfinite(errors)) and np.all(errors > 0)
    again = random_limits((1 / 8, 1 / 16), **options)
    assert np.array_equal(again.h1_error, result.h1_error)
    reference = [e * np.sqrt(np.log(1 / e)) for e in (1 / 8, 1 / 16)]
    expected = np.log(reference[0] / reference[1]) / np.log(2.0)
    assert result.literature_slope == pytest.approx(expected, rel=1e-12)


@pytest.mark.slow
def test_hole_concentration_macro_response_and_micro_peak():
    """A hole of radius 0.2 in periodic disks, unit drop along x: the flux through xmax of
    the DNS approaches that of the homogenized medium with the same hole (relative gap
    2.2 % at eps = 1/4, where the hole is 0.8 cell wide, below 0.5 % from 1/8 on;
    measured 0.05 % at 1/32), while the largest voxel flux next to the hole stays above
    the homogenized peak at every eps (by 22 % to 95 % measured): the microscopic
    concentration that the homogenized field does not carry."""
    from sve.multiscale.limits import hole_concentration

    result = hole_concentration((1 / 4, 1 / 8, 1 / 16, 1 / 32), cell_voxels=8)
    gap = np.abs(result.total_flux / result.total_flux_homogenized - 1)
    assert gap[0] > 0.01
    assert np.all(gap[1:] < 0.005)
    assert np.all(result.peak_flux > 1.1 * result.peak_flux_homogenized)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(amplitude=(1.0,)), "amplitude"),
        (dict(moduli=({"E": 1.0, "nu": 0.3},)), "moduli"),
        (dict(cell_voxels=7), "even"),
        (dict(eps=(0.3,)), "eps"),
    ],
)
def test_elastic_limits_bad_inputs(kwargs, match):
    from sve.multiscale.limits import elastic_limits

    eps = kwargs.pop("eps", (0.25,))
    with pytest.raises(ValueError, match=match):
        elastic_limits(eps, **kwargs)
