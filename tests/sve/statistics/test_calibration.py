"""Calibration of the generators to an image: parameters recovered within their bootstrap
errors, model choice, checks on statistics not fitted, the spec section, bad inputs.

Every image is made by the generators with a pinned seed and every bootstrap is seeded,
so each figure below is deterministic; the tolerances are the bootstrap's own standard
deviations (20 refitted images, relative error of a standard deviation about 16 %).
Measured on 512^2 level cuts at phi = 0.4, correlation length 8, periodic estimator,
with the second stage (GLS on the shell means of S2, weighted by the covariance of
their residuals): bootstrap standard deviation of the correlation length 1.2 %
(Gaussian), 4.3 % (exponential), with the shape parameter fitted Matérn 3.7 % (nu 2.1 %)
and power law 4.0 % (beta 10.9 %: the tail exponent is not identified to 5 % at 512^2 by
S2, whatever the weight; see docs/guide/calibration.rst).
"""

from __future__ import annotations

import math
import tomllib

import numpy as np
import pytest

import generators
from sve import Microstructure, calibrate, load_spec
from sve.statistics.calibration import DEFAULT_MODELS, MIN_BOOTSTRAP

SHAPE = {"matern": {"nu": 1.5}, "power_law": {"beta": 3.0}}


def level_cut_image(family, shape=(512, 512), length=8.0, phi=0.4, seed=11, exact=True):
    covariance = generators.covariance_model(family, length=length, **SHAPE.get(family, {}))
    field = generators.gaussian_field(shape, covariance, rng=seed)
    return generators.level_cut(field, phi, exact=exact)


def assert_recovered(result, truth, max_relative_sd):
    """Every true parameter within 3 bootstrap standard deviations, each at most
    `max_relative_sd` of the value."""
    for name, value in truth.items():
        fitted, sd = result.parameters[name], result.standard_errors[name]
        assert abs(fitted - value) <= 3 * sd, (name, fitted, value, sd)
        assert sd <= max_relative_sd[name] * value, (name, sd / value)


def test_gaussian_level_cut_recovered_and_chosen():
    """512^2, the five models tried: the Gaussian family wins, its length is within 3 SD
    (SD 1.2 % measured, at most 5 %), phi within 0.005 (a rank cut holds it exactly)."""
    image = level_cut_image("gaussian")
    result = calibrate(image, periodic=True, seed=3)
    assert result.model == "gaussian" and result.isotropic
    assert_recovered(result, {"correlation_length": 8.0}, {"correlation_length": 0.05})
    assert abs(result.parameters["volume_fraction"] - 0.4) <= 0.005
    assert {f.model for f in result.fits} == set(DEFAULT_MODELS)
    # the reported fit is the second stage's (GLS on the shell means): its first-stage
    # misfit is at least the first stage's least, and close to it
    first = min(f.misfit for f in result.fits if f.model == "gaussian")
    assert first <= result.misfit <= 1.1 * first
    # the Gaussian family's misfit is a fraction of the wrong smoothness's
    misfits = {f.model: f.misfit for f in result.fits}
    assert misfits["exponential"] > 4 * misfits["gaussian"]
    assert result.consistent and all(check.passed for check in result.checks)


def test_bootstrap_spread_of_phi_is_the_exact_one():
    """The bootstrap images are level cuts at the fixed threshold, so their fraction
    scatters with the exact variance phi (1 - phi) A_I / V (A_I from
    level_cut_integral_range): the ratio of the standard deviations within 3 standard
    errors of a 20-sample standard deviation (1 / sqrt(2 * 19) = 0.16)."""
    image = level_cut_image("gaussian", shape=(256, 256), length=6.0)
    result = calibrate(image, models=("gaussian",), periodic=True, seed=4)
    area = generators.level_cut_integral_range(generators.Gaussian(6.0), 0.4, 2)
    exact = math.sqrt(0.4 * 0.6 * area / 256**2)
    assert abs(result.standard_errors["volume_fraction"] / exact - 1) <= 3 / math.sqrt(38)


@pytest.mark.slow
@pytest.mark.parametrize("family", ["exponential", "matern", "power_law"])
def test_level_cut_family_chosen_and_recovered(family):
    """512^2 of each other family: the fit chooses it among the five models; its
    parameters are within 3 SD. Bounds on the SD (measured with these seeds): the
    exponential's length 4.3 % (5.1 % when the weight was the raw shell means'
    covariance), Matérn's length/nu 3.7 %/2.1 % (4.0/4.3 %), the issue's 5 %; the power
    law's length 4.0 % (5 %) and beta 10.9 %, held to 15 %: its tail exponent is weakly
    identified at 512^2 (8.7 % over 40 images even with the weight at the true
    parameters, 8.5 % by Whittle's likelihood; 4.7 % and 4.0 % at 1024^2:
    `python benchmarks/bench_calibration.py --limit`)."""
    image = level_cut_image(family)
    result = calibrate(image, periodic=True, seed=3)
    assert result.model == family
    truth = {"correlation_length": 8.0, **SHAPE.get(family, {})}
    bounds = {
        "exponential": {"correlation_length": 0.05},
        "matern": {"correlation_length": 0.05, "nu": 0.05},
        "power_law": {"correlation_length": 0.05, "beta": 0.15},
    }[family]
    assert_recovered(result, truth, bounds)
    assert abs(result.parameters["volume_fraction"] - 0.4) <= 0.005


@pytest.mark.slow
@pytest.mark.parametrize("family", ["matern", "power_law"])
def test_shape_parameter_held(family):
    """With nu (beta) given, the length's SD is at most 5 % (3.3 % and 2.7 % measured)."""
    image = level_cut_image(family)
    result = calibrate(image, models=(family,), periodic=True, seed=3, **SHAPE[family])
    assert_recovered(result, {"correlation_length": 8.0}, {"correlation_length": 0.05})
    name, value = next(iter(SHAPE[family].items()))
    assert result.parameters[name] == value and result.standard_errors[name] == 0.0


@pytest.mark.slow
def test_three_dimensional_level_cut():
    """128^3 Gaussian level cut of length 8: length within 3 SD, SD at most 5 %."""
    image = level_cut_image("gaussian", shape=(128, 128, 128))
    result = calibrate(image, models=("gaussian", "exponential"), periodic=True, seed=5)
    assert result.model == "gaussian" and result.ndim == 3
    assert_recovered(result, {"correlation_length": 8.0}, {"correlation_length": 0.05})
    assert abs(result.parameters["volume_fraction"] - 0.4) <= 0.005


@pytest.mark.slow
def test_boolean_recovered_and_told_from_a_level_cut():
    """512^2 disks of radius 8 at phi = 0.4 (intensity 2.54e-3): the Gaussian level cut
    has the least S2 misfit (5 % below the Boolean model's) but fails the checks on the
    lineal path and the specific surface, so the Boolean model is chosen; its radius and
    intensity are within 3 SD, SD 0.42 % and 3.2 % measured (at most 5 %; 1.2 % and 4.4 %
    before the second stage: the GLS weight sees the kink of S2 at twice the radius); the
    image's own fraction (0.408) is within 3 SD of 0.4."""
    radius, phi = 8.0, 0.4
    image = generators.boolean_spheres((512, 512), radius, volume_fraction=phi, rng=5).labels
    intensity = generators.boolean_intensity(phi, radius, 2)
    result = calibrate(image, periodic=True, seed=1)
    assert result.model == "boolean" and result.consistent
    assert_recovered(
        result,
        {"radius": radius, "intensity": intensity, "volume_fraction": phi},
        {"radius": 0.05, "intensity": 0.05, "volume_fraction": 0.05},
    )
    assert any(note.startswith("gaussian") and "fails the checks" in note for note in result.notes)


@pytest.mark.slow
def test_boolean_image_fitted_as_a_level_cut_fails_the_checks():
    """Model discrimination: the same Boolean image with the level cuts only: S2 fits
    (first-stage misfit below 0.01), statistics not fitted do not (the lineal paths),
    while the Boolean fit passes every check."""
    image = generators.boolean_spheres((512, 512), 8.0, volume_fraction=0.4, rng=5).labels
    level_cut = calibrate(image, models=("gaussian", "exponential"), periodic=True, seed=1)
    # first stage (the model choice): S2 fits. The reported second stage's misfit is 3.1
    # times it (0.031): with a wrong model the GLS weight of the residuals' covariance
    # and the first stage's diagonal weight pull the parameters apart (a correct model
    # stays within 10 %: test_gaussian_level_cut_recovered_and_chosen)
    first = min(f.misfit for f in level_cut.fits)
    assert level_cut.model == "gaussian" and first < 0.01
    assert not level_cut.consistent
    failed = {c.name for c in level_cut.checks if not c.passed}
    assert {"lineal_path_0", "lineal_path_1"} <= failed
    boolean = calibrate(image, models=("boolean",), periodic=True, seed=1)
    assert boolean.consistent and all(c.passed for c in boolean.checks)


def test_statistic_not_fitted_inside_the_band_and_band_is_narrow():
    """A level cut fitted by its own family: each unfitted statistic lies in the band of
    the bootstrap images, and the band is narrow (half-width below 10 % of the value
    for the chord means and the specific surface: the interval bounds its width too)."""
    image = level_cut_image("exponential", shape=(256, 256), length=4.0)
    result = calibrate(image, models=("exponential",), periodic=True, seed=2)
    for check in result.checks:
        assert check.low <= check.value <= check.high and check.passed, check
        if check.name.startswith(("chord", "specific")):
            assert (check.high - check.low) / 2 < 0.10 * check.value, check


def test_anisotropic_lengths_per_axis():
    """Per-axis lengths (4, 10) are found by the automatic choice, each within 3 SD."""
    covariance = generators.Gaussian((4.0, 10.0))
    field = generators.gaussian_field((256, 256), covariance, rng=8)
    image = generators.level_cut(field, 0.5, exact=True)
    result = calibrate(image, models=("gaussian",), periodic=True, seed=6)
    assert not result.isotropic
    lengths, sds = (
        result.parameters["correlation_length"],
        result.standard_errors["correlation_length"],
    )
    for fitted, sd, true in zip(lengths, sds, (4.0, 10.0), strict=True):
        assert abs(fitted - true) <= 3 * sd and sd <= 0.05 * true
    medium = tomllib.loads(result.to_medium_toml())["medium"]
    assert medium["correlation_length"] == list(lengths)


def test_anisotropic_medium_section_runs_and_draws_the_per_axis_lengths():
    """An anisotropic calibrated [medium] (lengths (4, 10)) loads in a spec, solves one SVE,
    and the study's medium draws a field with those lengths: the S2 of phase 1 along each
    axis of a 512^2 draw against the exact level-cut S2 at lags 0..16 voxels, within 0.035
    (4 standard deviations of one draw's S2 at the worst lag, 0.0088 over 16 seeded draws;
    this seed's largest deviation is 0.0069, the mean's over the 16 draws 0.0007). The
    isotropic S2 of the other axis's length misses by more than 0.1 at some lag, so the
    test tells the axes apart."""
    from sve.report._figures import exact_s2
    from sve.study.media import draw_medium
    from sve.study.tasks import solve_batch

    covariance = generators.Gaussian((4.0, 10.0))
    image = generators.level_cut(
        generators.gaussian_field((256, 256), covariance, rng=8), 0.5, exact=True
    )
    result = calibrate(image, models=("gaussian",), periodic=True, seed=6)
    text = result.to_medium_toml()
    spec = load_spec(
        tomllib.loads(
            'name = "aniso"\nseed = 1\n\n' + text + "\n[property]\n"
            'name = "conductivity"\nphases = [1.0, 10.0]\n\n[sampling]\nsizes = [16]\n'
            "realizations = 2\n"
        )
    )
    lengths = result.parameters["correlation_length"]
    assert list(spec.medium["correlation_length"]) == list(lengths)
    batch = solve_batch(spec, 16, range(1))
    assert np.all(batch["status"] == 1)
    # the drawn medium honours the per-axis lengths: exact lengths (4, 10), phi 1/2
    medium = {**spec.medium, "correlation_length": [4.0, 10.0], "volume_fraction": 0.5}
    phases = draw_medium(medium, 512, 1.0, np.random.default_rng(3)).astype(float)
    lags = np.arange(17)
    model = generators.Gaussian((4.0, 10.0))
    for axis in (0, 1):
        measured = [np.mean(phases * np.roll(phases, -k, axis=axis)) for k in lags]
        vector = np.zeros((lags.size, 2))
        vector[:, axis] = lags
        exact = generators.level_cut_s2(model.correlation_at(vector), 0.5)
        assert np.max(np.abs(measured - exact)) < 0.035, axis
        wrong = generators.level_cut_s2(generators.Gaussian((4.0, 10.0)[1 - axis]).correlation(
            lags.astype(float)), 0.5)  # fmt: skip
        assert np.max(np.abs(wrong - exact)) > 0.1
    # the report's exact S2 follows: the direction average lies between the two axes'
    spec_exact = load_spec({**_spec_dict(spec), "medium": medium})
    r = np.linspace(0.0, 12.0, 7)
    _, averaged = exact_s2(spec_exact, r)
    along = [generators.level_cut_s2(generators.Gaussian(ell).correlation(r), 0.5)
             for ell in (4.0, 10.0)]  # fmt: skip
    assert np.all(along[0] - 1e-12 <= averaged) and np.all(averaged <= along[1] + 1e-12)
    assert spec_exact.length == 10.0


def _spec_dict(spec):
    return {"name": "aniso", "seed": 1, "property": {"name": "conductivity",
            "phases": [1.0, 10.0]}, "sampling": {"sizes": [16], "realizations": 2}}  # fmt: skip


def test_voxel_size_and_unit_carry_into_the_lengths():
    """The same image with voxels of 0.5 um: every length halves (to 1e-6: the fit stops
    at its own tolerance, in the logarithm of the length), standard errors too."""
    image = level_cut_image("exponential", shape=(96, 96), length=3.0)
    plain = calibrate(image, models=("exponential",), seed=1, isotropic=True)
    scaled = calibrate(Microstructure(image, spacing=0.5, unit="um"), models=("exponential",),
                       seed=1, isotropic=True)  # fmt: skip
    assert scaled.unit == "um" and scaled.max_lag == pytest.approx(plain.max_lag / 2)
    assert scaled.parameters["correlation_length"] == pytest.approx(
        plain.parameters["correlation_length"] / 2, rel=1e-6
    )
    assert scaled.standard_errors["correlation_length"] == pytest.approx(
        plain.standard_errors["correlation_length"] / 2, rel=1e-6
    )


def test_reproducible_and_seed_dependent():
    image = level_cut_image("exponential", shape=(96, 96), length=3.0)
    a = calibrate(image, models=("exponential",), seed=7)
    b = calibrate(image, models=("exponential",), seed=7)
    c = calibrate(image, models=("exponential",), seed=8, isotropic=True)
    np.testing.assert_array_equal(
        a.bootstrap_parameters["correlation_length"], b.bootstrap_parameters["correlation_length"]
    )
    assert a.to_dict() == b.to_dict()
    assert a.standard_errors != c.standard_errors
    assert len(a.bootstrap_parameters["correlation_length"]) == MIN_BOOTSTRAP


def test_phase_and_mask_inputs_agree():
    """Labels with the phase named, and the boolean mask of that phase, give one fit."""
    labels = 2 * level_cut_image("exponential", shape=(96, 96), length=3.0)  # labels 0, 2
    by_label = calibrate(labels, phase=2, models=("exponential",), seed=1, isotropic=True)
    by_mask = calibrate(labels == 2, models=("exponential",), seed=1, isotropic=True)
    assert by_label.to_dict() == by_mask.to_dict()


def test_medium_section_loads_in_a_spec_and_runs_one_sve(tmp_path):
    """The written [medium] drops into a spec, which validates and solves one SVE."""
    from sve.study.tasks import solve_batch

    image = level_cut_image("exponential", shape=(128, 128), length=4.0)
    result = calibrate(image, models=("exponential", "gaussian"), seed=1)
    text = result.to_medium_toml()
    medium = tomllib.loads(text)["medium"]
    assert medium["generator"] == "gaussian_level_cut"
    assert medium["covariance"] == "exponential"
    assert medium["correlation_length"] == result.parameters["correlation_length"]
    spec_text = (
        'name = "calibrated"\nseed = 1\n\n' + text + "\n[property]\n"
        'name = "conductivity"\nphases = [1.0, 10.0]\n\n[sampling]\nsizes = [16]\n'
        "realizations = 2\n"
    )
    path = tmp_path / "calibrated.toml"
    path.write_text(spec_text)
    spec = load_spec(path)
    assert spec.medium["volume_fraction"] == pytest.approx(result.parameters["volume_fraction"])
    batch = solve_batch(spec, 16, range(1))
    assert np.all(batch["status"] == 1)
    tensor = batch[spec.variable][0, 0]  # realization 0, the one bc
    assert np.all((np.linalg.eigvalsh(tensor) > 1.0) & (np.linalg.eigvalsh(tensor) < 10.0))


def test_boolean_medium_section():
    image = generators.boolean_spheres((128, 128), 4.0, volume_fraction=0.3, rng=2).labels
    result = calibrate(image, models=("boolean",), periodic=True, seed=1)
    medium = tomllib.loads(result.to_medium_toml())["medium"]
    assert medium == {
        "generator": "boolean_spheres",
        "ndim": 2,
        "radius": result.parameters["radius"],
        "volume_fraction": result.parameters["volume_fraction"],
    }
    conductivity = {"name": "conductivity", "phases": [1.0, 2.0]}
    sampling = {"sizes": [16], "realizations": 2}
    spec = load_spec(
        {"name": "b", "seed": 1, "medium": medium, "property": conductivity, "sampling": sampling}
    )
    assert spec.medium["radius"] == result.parameters["radius"]


@pytest.mark.parametrize(
    ("image", "kwargs", "error", "match"),
    [
        (np.zeros((64, 64), dtype=np.int8), {}, ValueError, "image must hold two phases"),
        (np.ones((64, 64), dtype=np.int8), {}, ValueError, "the phase only"),
        (np.zeros(64, dtype=np.int8), {}, ValueError, "image must be 2-D or 3-D"),
        (np.zeros((4, 4, 4, 4), dtype=np.int8), {}, ValueError, "image must be 2-D or 3-D"),
        (np.zeros((64, 64)), {}, TypeError, "integer array"),
        (None, {"models": ("gaussian", "spline")}, ValueError, "models must be among"),
        (None, {"models": ()}, ValueError, "models must name at least one"),
        (None, {"max_lag": 40.0}, ValueError, "max_lag must be at most a quarter"),
        (None, {"max_lag": 2.0}, ValueError, "too small for the range"),
        (None, {"max_lag": -1.0}, ValueError, "max_lag must be finite and > 0"),
        (None, {"n_bootstrap": 5}, ValueError, "n_bootstrap must be >= 20"),
        (None, {"isotropic": "yes"}, TypeError, "isotropic must be a bool"),
        (None, {"seed": 1.5}, TypeError, "seed must be an integer"),
        (None, {"nu": 30.0}, ValueError, "nu must be in"),
    ],
)
def test_bad_inputs_name_the_argument(image, kwargs, error, match):
    if image is None:
        image = level_cut_image("exponential", shape=(96, 96), length=3.0)
    with pytest.raises(error, match=match):
        calibrate(image, **kwargs)


def test_too_small_image_for_the_range():
    image = level_cut_image("exponential", shape=(12, 12), length=2.0, seed=1)
    with pytest.raises(ValueError, match="too small for the range"):
        calibrate(image)


def test_boolean_needs_cubic_voxels():
    image = Microstructure(level_cut_image("exponential", shape=(96, 96), length=3.0),
                           spacing=(1.0, 2.0))  # fmt: skip
    with pytest.raises(ValueError, match="models: the Boolean model needs cubic voxels"):
        calibrate(image, models=("boolean",))
    result = calibrate(image, models=("exponential", "boolean"), seed=1)
    assert result.model == "exponential"
    assert any("boolean skipped" in note for note in result.notes)


@pytest.mark.parametrize(
    ("length", "match"),
    [
        ([4.0, 10.0, 3.0], r"medium.correlation_length must be one number or 2 \(one per axis"),
        ([4.0, -1.0], r"medium.correlation_length\[1\] must be a finite number > 0"),
        ([4.0, "x"], r"medium.correlation_length\[1\] must be a finite number > 0"),
    ],
)
def test_per_axis_correlation_length_bad_input(length, match):
    from sve.study.spec import SpecError

    medium = {"generator": "gaussian_level_cut", "ndim": 2, "covariance": "gaussian",
              "correlation_length": length, "volume_fraction": 0.5}  # fmt: skip
    with pytest.raises(SpecError, match=match):
        load_spec({**_spec_dict(None), "medium": medium})


@pytest.mark.slow
def test_lognormal_boolean_radius_law_is_recovered_and_runs_in_a_study():
    """Disks of log-normal radius (median 5, sigma 0.3) at phi 0.35 on 256^2: the
    "boolean_lognormal" fit finds the median and sigma each within 3 bootstrap SDs of
    the truth (measured: 4.64 +- 0.13, 0.301 +- 0.023: the SD of sigma is 7.8 % of it on
    this image, 10.3 % with the raw shell means' covariance as the weight, 33 % before
    the second stage; held to 12 %, above the 5 % asked of one-radius fits), every
    unfitted statistic lies
    in its band, and the written [medium] (with radius_sigma) loads and solves one SVE."""
    import scipy.stats

    from sve.study.spec import SpecError
    from sve.study.tasks import solve_batch

    law = scipy.stats.lognorm(0.3, scale=5.0)
    image = generators.boolean_spheres((256, 256), law, volume_fraction=0.35, rng=3).labels
    result = calibrate(image, models=("boolean_lognormal",), periodic=True, seed=1)
    p, sd = result.parameters, result.standard_errors
    assert abs(p["radius"] - 5.0) <= 3 * sd["radius"] and sd["radius"] <= 0.05 * 5.0
    assert abs(p["radius_sigma"] - 0.3) <= 3 * sd["radius_sigma"]
    assert sd["radius_sigma"] <= 0.12 * 0.3
    assert all(check.passed for check in result.checks)
    medium = tomllib.loads(result.to_medium_toml())["medium"]
    assert medium["radius_sigma"] == p["radius_sigma"]
    with pytest.raises(SpecError, match="the smallest SVE .16 voxels. must be at least"):
        load_spec({**_spec_dict(None), "medium": medium})  # grains up to the 1 - 1e-9 quantile
    data = _spec_dict(None)
    data["sampling"]["sizes"] = [64]
    spec = load_spec({**data, "medium": medium})
    assert spec.medium["radius_sigma"] == p["radius_sigma"]
    assert np.all(solve_batch(spec, 64, range(1))["status"] == 1)
