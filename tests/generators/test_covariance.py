from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from scipy import integrate, special

from generators import CovarianceModel, Exponential, Gaussian, covariance_model

MODELS = [Exponential(1.5), Gaussian(1.5), Exponential(0.2), Gaussian(4.0)]

QUADRATURE_RTOL = 1e-6
"""Required agreement with numerical integration. The quadratures are asked for 1e-10,
and the Hankel transforms stop at 60 lengths, where the correlation is below e^-60."""


def unit_sphere_area(ndim: int) -> float:
    return 2.0 * math.pi ** (ndim / 2) / math.gamma(ndim / 2)


@pytest.mark.parametrize("model", MODELS, ids=repr)
@pytest.mark.parametrize("ndim", [1, 2, 3])
def test_integral_range_is_the_integral_of_the_correlation(model, ndim):
    radial, _ = integrate.quad(
        lambda r: r ** (ndim - 1) * model.correlation(r),
        0.0,
        np.inf,
        epsabs=0.0,
        epsrel=1e-10,
        limit=200,
    )
    assert model.integral_range(ndim) == pytest.approx(
        unit_sphere_area(ndim) * radial, rel=QUADRATURE_RTOL
    )


@pytest.mark.parametrize("model", MODELS[:2], ids=repr)
def test_integral_range_in_2d_over_the_plane(model):
    # a Cartesian integral over R^2 (four quadrants), independent of the radial form
    quadrant, _ = integrate.dblquad(
        lambda y, x: model.correlation(math.hypot(x, y)),
        0.0,
        np.inf,
        0.0,
        np.inf,
        epsabs=0.0,
        epsrel=1e-10,
    )
    assert model.integral_range(2) == pytest.approx(4.0 * quadrant, rel=QUADRATURE_RTOL)


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        (Exponential(2.0), [4.0, 8.0 * math.pi, 64.0 * math.pi]),
        (Gaussian(2.0), [2.0 * math.sqrt(math.pi), 4.0 * math.pi, 8.0 * math.pi**1.5]),
    ],
    ids=repr,
)
def test_integral_range_closed_forms(model, expected):
    # round-off only
    assert [model.integral_range(d) for d in (1, 2, 3)] == pytest.approx(expected, rel=1e-14)


@pytest.mark.parametrize("model", MODELS, ids=repr)
@pytest.mark.parametrize("ndim", [1, 2, 3])
def test_spectral_density_is_the_fourier_transform(model, ndim):
    # isotropic Fourier transform as a Hankel transform:
    # S(k) = (2 pi)^(d/2) k^(1 - d/2) int_0^inf r^(d/2) J_(d/2 - 1)(k r) rho(r) dr
    cutoff = 60.0 * model.length  # rho < e^-60 beyond it for both models
    for k in np.array([0.3, 1.0, 2.5]) / model.length:
        hankel, _ = integrate.quad(
            lambda r, k=k: (
                r ** (ndim / 2) * special.jv(ndim / 2 - 1, k * r) * model.correlation(r)
            ),
            0.0,
            cutoff,
            epsabs=0.0,
            epsrel=1e-10,
            limit=500,
        )
        expected = (2.0 * math.pi) ** (ndim / 2) * k ** (1 - ndim / 2) * hankel
        assert model.spectral_density(k, ndim) == pytest.approx(expected, rel=QUADRATURE_RTOL)


@pytest.mark.parametrize("model", MODELS, ids=repr)
@pytest.mark.parametrize("ndim", [1, 2, 3])
def test_spectral_density_at_zero_is_the_integral_range(model, ndim):
    # S(0) = int rho dh by the stated convention; round-off only
    assert model.spectral_density(0.0, ndim) == pytest.approx(
        model.integral_range(ndim), rel=1e-14
    )


@pytest.mark.parametrize("model", MODELS, ids=repr)
def test_correlation_is_one_at_zero_and_decreasing(model):
    r = np.linspace(0.0, 10.0 * model.length, 101)
    rho = model.correlation(r)
    assert rho.dtype == np.float64
    assert rho.shape == r.shape
    assert rho[0] == 1.0
    assert np.all(np.diff(rho) < 0.0)


def test_correlation_at_one_length():
    assert Exponential(3.0).correlation(3.0) == pytest.approx(math.exp(-1.0), rel=1e-15)
    assert Gaussian(3.0).correlation(6.0) == pytest.approx(math.exp(-4.0), rel=1e-15)


@pytest.mark.parametrize("cls", [Exponential, Gaussian])
def test_models_are_immutable_values_with_declared_bounds(cls):
    model = cls(2)
    assert isinstance(model, CovarianceModel)
    assert model.length == 2.0 and isinstance(model.length, float)
    assert model == cls(2.0) and hash(model) == hash(cls(2.0))
    assert dict(cls.bounds) == {"length": (0.0, math.inf)}
    with pytest.raises(dataclasses.FrozenInstanceError):
        model.length = 3.0


@pytest.mark.parametrize("cls", [Exponential, Gaussian])
@pytest.mark.parametrize("length", [0.0, -1.0, math.nan, math.inf])
def test_length_out_of_bounds_is_rejected(cls, length):
    with pytest.raises(ValueError, match=r"length must be in \(0, inf\)"):
        cls(length)


@pytest.mark.parametrize("length", ["2", None, True])
def test_length_of_wrong_type_is_rejected(length):
    with pytest.raises(TypeError, match="length must be a real number"):
        Exponential(length)


def test_negative_distance_is_rejected():
    with pytest.raises(ValueError, match=r"r must lie in \[0, inf\]"):
        Exponential(1.0).correlation([1.0, -0.5])


@pytest.mark.parametrize(("ndim", "error"), [(0, ValueError), (2.0, TypeError)])
def test_bad_ndim_is_rejected(ndim, error):
    with pytest.raises(error, match="ndim"):
        Gaussian(1.0).integral_range(ndim)
    with pytest.raises(error, match="ndim"):
        Gaussian(1.0).spectral_density(1.0, ndim)


def test_negative_wavenumber_is_rejected():
    with pytest.raises(ValueError, match="k must lie in"):
        Gaussian(1.0).spectral_density(-1.0, 2)


@pytest.mark.parametrize(("name", "cls"), [("exponential", Exponential), ("gaussian", Gaussian)])
def test_covariance_model_by_name(name, cls):
    assert covariance_model(name, length=2.5) == cls(2.5)


def test_unknown_covariance_name_lists_the_known_ones():
    with pytest.raises(ValueError, match=r"name must be one of .*exponential, gaussian.*'matern'"):
        covariance_model("matern", length=1.0)


def test_covariance_model_rejects_bad_arguments():
    with pytest.raises(TypeError, match="name must be a str"):
        covariance_model(3, length=1.0)
    with pytest.raises(TypeError, match="scale"):
        covariance_model("gaussian", scale=1.0)
    with pytest.raises(ValueError, match="length"):
        covariance_model("exponential", length=-2.0)
