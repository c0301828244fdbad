"""Permeability against exact and published values (plates, ducts, arrays).

Each tolerance is the measured error of the discrete solution with a margin, written
beside the check.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from sve.solvers import UnresolvedThroatWarning, apparent_permeability


def plates(width: int, height: int, length: int = 4, ndim: int = 2) -> np.ndarray:
    """A channel of `width` pore voxels along axis 1, in a periodic cell `height` high."""
    shape = (length, height) + (3,) * (ndim - 2)
    pores = np.zeros(shape, dtype=bool)
    pores[:, 1 : 1 + width] = True
    return pores


def quiet(*args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnresolvedThroatWarning)
        return apparent_permeability(*args, **kwargs)


@pytest.mark.parametrize("ndim", [2, 3])
def test_plane_channel_second_order(ndim):
    # k = h^3 / (12 H), superficial. The MAC scheme with the half-cell ghost gives
    # exactly k (1 + 2 / h^2) (measured to 1e-12): an error of second order.
    errors = []
    for width in (4, 8, 16):
        height = width + 2
        result = quiet(plates(width, height, ndim=ndim), tol=1e-10)
        exact = width**3 / (12.0 * height)
        error = result.tensor[0, 0] / exact - 1.0
        assert error == pytest.approx(2.0 / width**2, rel=1e-8)
        errors.append(error)
        assert result.tensor[1, 1] == 0.0  # across the plates: no path
        assert result.percolating[:2] == (True, False)
    orders = [math.log2(errors[i] / errors[i + 1]) for i in range(2)]
    assert orders == pytest.approx([2.0, 2.0], abs=1e-6)


def _duct_series(a: float, b: float, terms: int = 200) -> float:
    """Permeability over the section of a duct of half-widths a >= b (in b^2 units
    times b^2): ``b^2 / 3 (1 - 192 b / (pi^5 a) sum tanh(i pi a / (2 b)) / i^5)``
    (White, Viscous Fluid Flow, 3rd ed. 2006, eq. 3-48)."""
    odd = np.arange(1, 2 * terms, 2)
    series = np.sum(np.tanh(odd * np.pi * a / (2.0 * b)) / odd**5)
    return b**2 / 3.0 * (1.0 - 192.0 * b / (np.pi**5 * a) * series)


def test_duct_series_matches_published_square_value():
    # Square duct of side s: k = 0.0351443 s^2 over the section (Shah & London 1978).
    assert _duct_series(0.5, 0.5) == pytest.approx(0.0351443, abs=5e-8)


@pytest.mark.parametrize("sides", [(1, 1), (2, 1)])
def test_ducts_second_order(sides):
    # Square and 2:1 rectangular ducts, one solid voxel around, periodic along the
    # axis: superficial k = k_duct * section / cell section. Measured errors for the
    # square duct: 5.8 % (8 voxels), 1.5 % (16): ratio 3.9, order 1.96.
    errors = []
    for unit in (8, 16):
        ny, nz = unit * sides[0], unit * sides[1]
        pores = np.zeros((2, ny + 2, nz + 2), dtype=bool)
        pores[:, 1:-1, 1:-1] = True
        result = quiet(pores, tol=1e-10)
        exact = _duct_series(ny / 2.0, nz / 2.0) * ny * nz / ((ny + 2) * (nz + 2))
        errors.append(result.tensor[0, 0] / exact - 1.0)
    order = math.log2(errors[0] / errors[1])
    assert 1.8 < order < 2.2
    assert 0.0 < errors[1] < 0.02


def _spheres(cells: int, c: float) -> tuple[np.ndarray, float]:
    radius = cells * (3.0 * c / (4.0 * np.pi)) ** (1.0 / 3.0)
    x = np.arange(cells) + 0.5 - cells / 2.0
    r2 = x[:, None, None] ** 2 + x[None, :, None] ** 2 + x[None, None, :] ** 2
    return r2 >= radius**2, radius


# Zick & Homsy (1982), Table 2, simple cubic arrays: F = 6 pi mu a K U, U the
# superficial velocity; force balance per cell gives k = L^3 / (6 pi a K).
ZICK_HOMSY = {0.064: 2.810, 0.216: 7.442}


@pytest.mark.slow
@pytest.mark.parametrize("c", sorted(ZICK_HOMSY))
def test_sphere_array_zick_homsy(c):
    # Measured relative errors (voxelized spheres, first order in the voxel size):
    # c = 0.064: -12.5 % (16), -8.5 % (32); c = 0.216: -12.6 % (16), -6.3 % (32);
    # 48 voxels per cell measured in the guide.
    errors = []
    for cells in (16, 32):
        pores, radius = _spheres(cells, c)
        result = apparent_permeability(pores, tol=1e-8)
        exact = cells**3 / (6.0 * np.pi * radius * ZICK_HOMSY[c])
        errors.append(result.tensor[0, 0] / exact - 1.0)
        # cubic symmetry of the array: an isotropic tensor
        assert np.allclose(result.tensor, result.tensor[0, 0] * np.eye(3), rtol=1e-6, atol=1e-6)
    assert abs(errors[1]) < abs(errors[0])
    assert abs(errors[1]) < 0.10


# Sangani & Acrivos (1982), Table 1, square arrays of cylinders: F / (mu U) per unit
# length, U superficial; k = L^2 / (F / (mu U)).
SANGANI_ACRIVOS = {0.1: 24.83, 0.2: 51.53}


@pytest.mark.slow
@pytest.mark.parametrize("c", sorted(SANGANI_ACRIVOS))
def test_cylinder_array_sangani_acrivos(c):
    # Measured relative errors (voxelized cylinders, staircase, not monotone):
    # c = 0.1: -11.6 % (32), -0.4 % (64), -2.0 % (128);
    # c = 0.2: -6.2 % (32), -3.2 % (64), -1.2 % (128).
    errors = []
    for cells in (32, 64, 128):
        radius = cells * math.sqrt(c / math.pi)
        x = np.arange(cells) + 0.5 - cells / 2.0
        pores = x[:, None] ** 2 + x[None, :] ** 2 >= radius**2
        result = apparent_permeability(pores, tol=1e-9)
        errors.append(result.tensor[0, 0] * SANGANI_ACRIVOS[c] / cells**2 - 1.0)
    assert abs(errors[2]) < abs(errors[0])
    assert abs(errors[2]) < 0.025
