from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from scipy import integrate, special

from generators import CovarianceModel, Exponential, Gaussian, Matern, PowerLaw, covariance_model

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
    with pytest.raises(
        ValueError, match=r"name must be one of .*exponential, gaussian, matern, power_law.*'sph'"
    ):
        covariance_model("sph", length=1.0)


def test_covariance_model_rejects_bad_arguments():
    with pytest.raises(TypeError, match="name must be a str"):
        covariance_model(3, length=1.0)
    with pytest.raises(TypeError, match="scale"):
        covariance_model("gaussian", scale=1.0)
    with pytest.raises(ValueError, match="length"):
        covariance_model("exponential", length=-2.0)


# --- Matérn, power law, anisotropy -------------------------------------------------------


NEW_MODELS = [Matern(1.5, 0.5), Matern(1.0, 1.5), Matern(2.0, 4.0), PowerLaw(1.0, 4.5)]


def fourier_transform(model, k, ndim):
    # S(k) by the 1-D cosine transform (d = 1) or the 3-D sine transform of the radial
    # profile, with QUADPACK's Fourier-integral routine that handles slow power-law tails
    if ndim == 1:
        value, _ = integrate.quad(
            lambda r: model.correlation(r), 0.0, np.inf, weight="cos", wvar=k
        )
        return 2.0 * value
    value, _ = integrate.quad(
        lambda r: r * model.correlation(r), 0.0, np.inf, weight="sin", wvar=k
    )
    return 4.0 * math.pi / k * value


@pytest.mark.parametrize("model", NEW_MODELS, ids=repr)
@pytest.mark.parametrize("ndim", [1, 2, 3])
def test_new_models_integral_range_is_the_integral_of_the_correlation(model, ndim):
    radial, _ = integrate.quad(
        lambda r: r ** (ndim - 1) * model.correlation(r),
        0.0,
        np.inf,
        epsabs=0.0,
        epsrel=1e-10,
        limit=500,
    )
    assert model.integral_range(ndim) == pytest.approx(
        unit_sphere_area(ndim) * radial, rel=QUADRATURE_RTOL
    )


@pytest.mark.parametrize("model", NEW_MODELS, ids=repr)
@pytest.mark.parametrize("ndim", [1, 3])
def test_new_models_spectral_density_is_the_fourier_transform(model, ndim):
    for k in (0.3, 1.0, 2.5):
        assert model.spectral_density(k, ndim) == pytest.approx(
            fourier_transform(model, k, ndim), rel=QUADRATURE_RTOL
        )


@pytest.mark.parametrize("ndim", [1, 2, 3])
def test_matern_one_half_is_exponential(ndim):
    # same formula family at nu = 1/2; round-off only
    r = np.linspace(0.0, 20.0, 81)
    matern, exponential = Matern(2.0, 0.5), Exponential(2.0)
    np.testing.assert_allclose(matern.correlation(r), exponential.correlation(r), rtol=1e-13)
    np.testing.assert_allclose(
        matern.spectral_density(r, ndim), exponential.spectral_density(r, ndim), rtol=1e-13
    )
    assert matern.integral_range(ndim) == pytest.approx(exponential.integral_range(ndim), 1e-14)


def test_matern_tends_to_the_gaussian_limit():
    # exp(-r^2 / (2 l^2)) is the nu -> infinity limit; at nu = 19.9 the gap is O(1/nu)
    r = np.linspace(0.0, 3.0, 31)
    gap = np.abs(Matern(1.0, 19.9).correlation(r) - np.exp(-(r**2) / 2.0)).max()
    assert gap < 0.02


@pytest.mark.parametrize(("beta", "ndim"), [(0.5, 1), (1.0, 1), (1.5, 2), (2.0, 2), (3.0, 3)])
def test_power_law_with_beta_up_to_d_has_infinite_integral_range(beta, ndim):
    model = PowerLaw(2.0, beta)
    assert model.integral_range(ndim) == math.inf
    assert model.spectral_density(0.0, ndim) == math.inf
    # the tail is the announced power law: rho(r) (r / l)^beta -> 1
    assert model.correlation(2.0e4) * 1e4**beta == pytest.approx(1.0, rel=1e-6)


@pytest.mark.parametrize(
    "model", [Exponential((4.0, 1.0)), Matern((3.0, 1.0, 2.0), 1.5)], ids=repr
)
def test_per_axis_lengths_scale_each_axis(model):
    lengths = np.asarray(model.length)
    unit = type(model)(1.0, *[getattr(model, f) for f in ("nu",) if hasattr(model, f)])
    for axis, length in enumerate(lengths):
        lag = np.zeros((5, len(lengths)))
        lag[:, axis] = np.linspace(0.0, 3.0, 5) * length
        np.testing.assert_allclose(
            model.correlation_at(lag), unit.correlation(np.linspace(0.0, 3.0, 5)), rtol=1e-14
        )
    ndim = len(lengths)
    assert model.integral_range(ndim) == pytest.approx(
        np.prod(lengths) * unit.integral_range(ndim), rel=1e-14
    )


def test_rotation_turns_the_principal_axes():
    angle = math.pi / 6
    model = Gaussian((4.0, 1.0), rotation=angle)
    axis = np.array([math.cos(angle), math.sin(angle)])
    normal = np.array([-math.sin(angle), math.cos(angle)])
    t = np.linspace(0.0, 5.0, 11)[:, None]
    np.testing.assert_allclose(model.correlation_at(t * axis), np.exp(-((t[:, 0] / 4.0) ** 2)))
    np.testing.assert_allclose(model.correlation_at(t * normal), np.exp(-(t[:, 0] ** 2)))
    # the angle and the matrix give the same model; the integral range ignores rotations
    matrix = np.column_stack([axis, normal])
    assert Gaussian((4.0, 1.0), rotation=matrix) == model
    assert model.integral_range(2) == pytest.approx(4.0 * math.pi, rel=1e-14)
    # spectral density: the principal lengths act on the rotated wave vector
    k = np.array([0.7, -0.2])
    kappa2 = (4.0 * (k @ axis)) ** 2 + (k @ normal) ** 2
    expected = 4.0 * math.pi * math.exp(-kappa2 / 4.0)
    assert model.spectral_density_at(k) == pytest.approx(expected, rel=1e-13)


def test_isotropic_vector_methods_agree_with_the_radial_ones():
    model = Matern(1.5, 2.5)
    lag = np.array([[0.3, 0.4, 1.2], [2.0, 0.0, 0.0]])
    np.testing.assert_allclose(
        model.correlation_at(lag), model.correlation(np.linalg.norm(lag, axis=1)), rtol=1e-14
    )
    np.testing.assert_allclose(
        model.spectral_density_at(lag),
        model.spectral_density(np.linalg.norm(lag, axis=1), 3),
        rtol=1e-14,
    )


@pytest.mark.parametrize(
    ("build", "error", "message"),
    [
        (lambda: Matern(1.0, 0.0), ValueError, r"nu must be in \(0, 20\), got 0.0"),
        (lambda: Matern(1.0, -1.0), ValueError, r"nu must be in \(0, 20\)"),
        (lambda: Matern(1.0, 25.0), ValueError, r"nu must be in \(0, 20\)"),
        (lambda: PowerLaw(1.0, 0.0), ValueError, r"beta must be in \(0, inf\)"),
        (lambda: PowerLaw(1.0, math.inf), ValueError, r"beta must be in \(0, inf\)"),
        (lambda: Exponential((1.0, -2.0)), ValueError, r"length\[1\] must be in \(0, inf\)"),
        (lambda: Exponential((1.0,)), ValueError, "length must have 2 or 3 per-axis entries"),
        (lambda: Exponential(1.0, rotation=0.3), ValueError, "rotation needs per-axis lengths"),
        (lambda: Exponential((1.0, 2.0), rotation=np.eye(3)), ValueError, r"shape \(2, 2\)"),
        (lambda: Exponential((1.0, 2.0), rotation=[[1, 0], [0, -1]]), ValueError, "det R"),
        (lambda: Exponential((1.0, 2.0), rotation=[[1, 1], [0, 1]]), ValueError, "proper"),
        (lambda: Exponential((1.0, 2.0, 3.0), rotation=0.3), ValueError, "angle needs 2"),
        (lambda: Exponential((1.0, 2.0)).correlation(1.0), ValueError, "use correlation_at"),
        (lambda: Exponential((1.0, 2.0)).spectral_density(1.0, 2), ValueError, "_at"),
        (lambda: Exponential((1.0, 2.0)).integral_range(3), ValueError, "ndim must be 2"),
        (lambda: Exponential((1.0, 2.0)).correlation_at([1.0, 2.0, 3.0]), ValueError, "length 2"),
    ],
)
def test_new_parameters_are_validated(build, error, message):
    with pytest.raises(error, match=message):
        build()


@pytest.mark.parametrize(
    ("name", "params", "expected"),
    [
        ("matern", {"length": 2.0, "nu": 1.5}, Matern(2.0, 1.5)),
        ("power_law", {"length": 1.0, "beta": 0.5}, PowerLaw(1.0, 0.5)),
        (
            "exponential",
            {"length": (2.0, 1.0), "rotation": 0.5},
            Exponential((2.0, 1.0), rotation=0.5),
        ),
    ],
)
def test_new_models_by_name(name, params, expected):
    assert covariance_model(name, **params) == expected
