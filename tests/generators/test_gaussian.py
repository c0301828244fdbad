from __future__ import annotations

import hashlib
import math
import os
import warnings
from collections import OrderedDict

import numpy as np
import pytest
import scipy.fft
from _generators_stats import (
    N_REALIZATIONS,
    N_SIGMA,
    gaussian_autocorrelation_sd,
    lags,
    mean_and_standard_error,
    periodic_autocorrelation,
)
from scipy import stats

from generators import (
    ClippedEmbeddingWarning,
    Exponential,
    Gaussian,
    Matern,
    PowerLaw,
    embedding_variance_excess,
    gaussian_field,
    lognormal_field,
    nonergodic_gaussian_field,
)
from generators import gaussian as gaussian_module
from generators.gaussian import _embedding, _grid_correlation

# (shape, spacing) pairs: 1-D, the same physical box at two resolutions, a bigger box, 3-D;
# every box spans >= 16 correlation lengths of the models below, so no eigenvalue is clipped
GRIDS = [((256,), 0.5), ((64, 64), 1.0), ((128, 128), 0.5), ((128, 128), 1.0), ((32, 32, 32), 1.0)]
MODELS = [Exponential(2.0), Gaussian(2.0)]

# an unexpected clipping warning would invalidate the comparisons with the model
pytestmark = pytest.mark.filterwarnings("error::UserWarning")


def check_band_width(error, sd, n=N_REALIZATIONS):
    """The band's standard error (from the spread of n realizations) against its exact
    value sd / sqrt(n): a sample standard deviation of n near-normal values has relative
    standard error 1 / sqrt(2 (n - 1)), so the ratio lies within N_SIGMA of those."""
    ratio = error / (sd / math.sqrt(n))
    assert abs(ratio - 1.0) <= N_SIGMA / math.sqrt(2 * (n - 1)), ratio


def realizations(shape, model, spacing, seed, n=N_REALIZATIONS):
    rng = np.random.default_rng(seed)
    return np.stack([gaussian_field(shape, model, spacing=spacing, rng=rng) for _ in range(n)])


@pytest.mark.statistical
@pytest.mark.parametrize(("shape", "spacing"), GRIDS)
@pytest.mark.parametrize("model", MODELS, ids=repr)
def test_empirical_covariance_matches_the_model_in_physical_units(shape, spacing, model):
    fields = realizations(shape, model, spacing, seed=20240611)
    mean, error = mean_and_standard_error([periodic_autocorrelation(f) for f in fields])
    sd = gaussian_autocorrelation_sd(_grid_correlation(shape, model, spacing))
    for lag in lags(len(shape)):
        expected = model.correlation(spacing * math.hypot(*lag))
        assert abs(mean[lag] - expected) <= N_SIGMA * error[lag], (lag, mean[lag], expected)
        check_band_width(error[lag], sd[lag])


@pytest.mark.statistical
@pytest.mark.parametrize(("shape", "spacing"), GRIDS)
@pytest.mark.parametrize("model", MODELS, ids=repr)
def test_mean_and_variance_have_their_exact_sampling_laws(shape, spacing, model):
    # Gaussian field with grid covariance rho: the spatial mean of one realization is
    # N(0, sum(rho) / N) and the spatial mean of f^2 has mean 1 and variance 2 sum(rho^2) / N
    fields = realizations(shape, model, spacing, seed=7)
    rho = _grid_correlation(shape, model, spacing)
    n_voxels = rho.size
    means = fields.mean(axis=tuple(range(1, fields.ndim)))
    squares = (fields**2).mean(axis=tuple(range(1, fields.ndim)))
    sd_mean = math.sqrt(rho.sum() / n_voxels)
    sd_square = math.sqrt(2.0 * (rho**2).sum() / n_voxels)

    assert abs(means.mean()) <= N_SIGMA * sd_mean / math.sqrt(len(means))
    assert abs(squares.mean() - 1.0) <= N_SIGMA * sd_square / math.sqrt(len(squares))
    # the realizations are not standardized one by one: their means scatter as predicted
    # (chi-square with one degree of freedom per realization, two-sided 1e-4 quantiles)
    chi2 = np.sum((means / sd_mean) ** 2)
    dof = len(means)
    assert stats.chi2.ppf(1e-4, dof) <= chi2 <= stats.chi2.isf(1e-4, dof)


@pytest.mark.statistical
@pytest.mark.parametrize("model", MODELS, ids=repr)
def test_field_is_periodic_across_the_box_faces(model):
    # opposite faces are neighbours: E[f(0, y) f(N - 1, y)] = rho(spacing)
    spacing = 0.5
    fields = realizations((64, 64), model, spacing, seed=3)
    for axis in (0, 1):
        first = np.take(fields, 0, axis=axis + 1)
        last = np.take(fields, -1, axis=axis + 1)
        mean, error = mean_and_standard_error((first * last).mean(axis=1))
        assert abs(mean - model.correlation(spacing)) <= N_SIGMA * error


@pytest.mark.parametrize("model", MODELS, ids=repr)
def test_grid_covariance_depends_on_physical_lags_only(model):
    # the realized covariance is exactly the model at minimum-image physical distances:
    # halving the voxels per length and doubling the spacing keeps it at every common lag,
    # and growing the box keeps it at every lag shorter than half the smaller box
    fine = _grid_correlation((64, 64), model, 1.0)
    coarse = _grid_correlation((32, 32), model, 2.0)
    big = _grid_correlation((128, 128), model, 1.0)
    np.testing.assert_array_equal(fine[::2, ::2], coarse)
    np.testing.assert_array_equal(big[:33, :33], fine[:33, :33])
    assert fine[3, 4] == model.correlation(5.0)
    assert fine[-3, 60] == model.correlation(5.0)


@pytest.mark.parametrize("shape", [(16,), (9,), (12, 8), (5, 6, 7)])
def test_output_shape_dtype_and_finiteness(shape):
    field = gaussian_field(shape, Exponential(1.0), rng=0)
    assert field.shape == shape
    assert field.dtype == np.float64
    assert np.isfinite(field).all()


@pytest.mark.statistical
def test_embedding_variance_excess_is_the_variance_the_fields_gain():
    shape, model = (16, 16), Gaussian(6.0)
    excess = embedding_variance_excess(shape, model)
    assert excess > 0.01  # a box under 3 correlation lengths: clipping is not negligible
    with pytest.warns(ClippedEmbeddingWarning) as caught:
        fields = realizations(shape, model, 1.0, seed=8, n=4000)
    assert caught[0].message.excess == pytest.approx(excess, rel=1e-12)
    # per-realization mean square: independent draws, so the band is 4 standard errors
    mean, se = mean_and_standard_error((fields**2).mean(axis=(1, 2)))
    assert abs(mean - (1 + excess)) < N_SIGMA * se
    assert embedding_variance_excess((64, 64), Gaussian(2.0)) < 1e-12  # round-off only


def test_same_seed_same_field_different_seed_different_field():
    args = ((24, 16, 12), Gaussian(1.0))
    first = gaussian_field(*args, rng=42)
    np.testing.assert_array_equal(first, gaussian_field(*args, rng=42))
    np.testing.assert_array_equal(first, gaussian_field(*args, rng=np.random.default_rng(42)))
    np.testing.assert_array_equal(first, gaussian_field(*args, rng=np.random.SeedSequence(42)))
    assert not np.array_equal(first, gaussian_field(*args, rng=43))


def test_a_generator_advances_between_calls():
    rng = np.random.default_rng(5)
    first = gaussian_field((16, 16), Exponential(1.0), rng=rng)
    assert not np.array_equal(first, gaussian_field((16, 16), Exponential(1.0), rng=rng))


def test_clipped_eigenvalues_are_reported():
    # a Gaussian correlation as long as half the box is not positive definite on its torus
    with pytest.warns(ClippedEmbeddingWarning) as caught:
        field = gaussian_field((16, 16), Gaussian(8.0), rng=1)
    assert issubclass(ClippedEmbeddingWarning, UserWarning)  # caught by UserWarning filters
    assert caught[0].message.excess == pytest.approx(
        embedding_variance_excess((16, 16), Gaussian(8.0)), rel=1e-12
    )
    assert np.isfinite(field).all()


@pytest.mark.parametrize(
    ("shape", "error", "message"),
    [
        (64, TypeError, "shape must be a sequence"),
        ((), ValueError, "shape must have 1 to 3 entries"),
        ((4, 4, 4, 4), ValueError, "shape must have 1 to 3 entries"),
        ((1, 8), ValueError, "shape entries must be >= 2"),
        ((8.0, 8), TypeError, "shape entries must be integers"),
        ("ab", TypeError, "shape entries must be integers"),
    ],
)
def test_bad_shape_is_rejected(shape, error, message):
    with pytest.raises(error, match=message):
        gaussian_field(shape, Exponential(1.0))


@pytest.mark.parametrize(
    ("spacing", "error"),
    [(0.0, ValueError), (-1.0, ValueError), (math.nan, ValueError), (math.inf, ValueError)]
    + [("1", TypeError), (None, TypeError)],
)
def test_bad_spacing_is_rejected(spacing, error):
    with pytest.raises(error, match="spacing"):
        gaussian_field((8, 8), Exponential(1.0), spacing=spacing)


def test_bad_covariance_is_rejected():
    with pytest.raises(TypeError, match="covariance must be a CovarianceModel"):
        gaussian_field((8, 8), "exponential")


@pytest.mark.parametrize(("rng", "error"), [(-1, ValueError), (1.5, TypeError), ("a", TypeError)])
def test_bad_rng_is_rejected(rng, error):
    with pytest.raises(error, match="rng"):
        gaussian_field((8, 8), Exponential(1.0), rng=rng)


# --- new models, anisotropy, non-ergodic and lognormal fields -----------------------------


@pytest.mark.statistical
@pytest.mark.parametrize(
    ("shape", "model"),
    [
        ((64, 64), Matern(2.0, 1.5)),
        ((16, 16, 16), Matern(1.5, 0.7)),
        ((128, 128), PowerLaw(1.0, 1.0)),  # long range: beta < d
        ((64, 64), Exponential((6.0, 1.5), rotation=math.pi / 5)),
        ((24, 20, 16), Gaussian((2.0, 1.0, 1.5))),
    ],
    ids=repr,
)
def test_empirical_covariance_of_new_and_anisotropic_models(shape, model):
    # the field's covariance on the grid is the model at the (minimum-image) lag vectors,
    # in every direction, the rotated principal axes included
    assert embedding_variance_excess(shape, model) == 0.0
    fields = realizations(shape, model, 1.0, seed=515)
    mean, error = mean_and_standard_error([periodic_autocorrelation(f) for f in fields])
    sd = gaussian_autocorrelation_sd(_grid_correlation(shape, model, 1.0))
    ndim = len(shape)
    lag_list = lags(ndim) + [tuple((-1) ** a * (a + 2) for a in range(ndim))]
    for lag in lag_list:
        expected = model.correlation_at(np.array(lag, dtype=float))
        assert abs(mean[lag] - expected) <= N_SIGMA * error[lag], (lag, mean[lag], expected)
        check_band_width(error[lag], sd[lag])


def test_rotated_model_is_symmetric_on_the_grid():
    # the symmetrized minimum-image correlation of a rotated model: c(j) = c(-j)
    model = Gaussian((5.0, 1.0), rotation=0.4)
    grid = _grid_correlation((16, 16), model, 1.0)
    mirrored = np.roll(np.flip(grid), 1, axis=(0, 1))
    np.testing.assert_array_equal(grid, mirrored)
    assert grid[3, 2] == model.correlation_at(np.array([3.0, 2.0]))


@pytest.mark.statistical
def test_correlation_length_is_unchanged_when_only_the_box_grows():
    # the same model on a 4x larger box: the covariance at each physical lag is unchanged
    model = Exponential(2.0)
    small = realizations((32, 32), model, 1.0, seed=8)
    big = realizations((128, 128), model, 1.0, seed=9)
    for fields in (small, big):
        mean, error = mean_and_standard_error([periodic_autocorrelation(f) for f in fields])
        sd = gaussian_autocorrelation_sd(_grid_correlation(fields.shape[1:], model, 1.0))
        for lag in lags(2):
            expected = model.correlation(math.hypot(*lag))
            assert abs(mean[lag] - expected) <= N_SIGMA * error[lag]
            check_band_width(error[lag], sd[lag])


@pytest.mark.statistical
def test_nonergodic_field_means_scatter_by_the_offset_variance():
    # the spatial mean of one realization is N(0, s^2 + sum(rho) / N): a chi-square law,
    # two-sided 1e-4 quantiles; the covariance within a realization is still rho
    shape, model, offset_variance = (64, 64), Exponential(2.0), 0.5
    rng = np.random.default_rng(12)
    fields = np.stack(
        [nonergodic_gaussian_field(shape, model, offset_variance, rng=rng) for _ in range(64)]
    )
    rho = _grid_correlation(shape, model, 1.0)
    sd = math.sqrt(offset_variance + rho.sum() / rho.size)
    means = fields.mean(axis=(1, 2))
    chi2 = np.sum((means / sd) ** 2)
    assert stats.chi2.ppf(1e-4, len(means)) <= chi2 <= stats.chi2.isf(1e-4, len(means))
    centred = fields - means[:, None, None]
    within = [periodic_autocorrelation(f)[1, 0] for f in centred]
    m, e = mean_and_standard_error(within)
    # centring by the own mean removes sum(rho)/N from every lag: O(1e-3) here
    assert abs(m - (model.correlation(1.0) - rho.mean())) <= N_SIGMA * e


@pytest.mark.statistical
@pytest.mark.parametrize(("mean", "cv"), [(10.0, 0.3), (1.0, 1.5)])
def test_lognormal_field_has_the_exact_mean_and_cv(mean, cv):
    # E[Z] = mean and E[Z^2] = mean^2 (1 + cv^2) exactly; bands from the spread of the
    # realizations' spatial averages (they are correlated within a realization)
    rng = np.random.default_rng(31)
    fields = np.stack(
        [lognormal_field((64, 64), Gaussian(2.0), mean, cv, rng=rng) for _ in range(64)]
    )
    assert fields.min() > 0.0
    m1, e1 = mean_and_standard_error(fields.mean(axis=(1, 2)))
    m2, e2 = mean_and_standard_error((fields**2).mean(axis=(1, 2)))
    assert abs(m1 - mean) <= N_SIGMA * e1
    assert abs(m2 - mean**2 * (1.0 + cv**2)) <= N_SIGMA * e2


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: gaussian_field((8, 8, 8), Exponential((1.0, 2.0))), ValueError, "2 entries"),
        (
            lambda: nonergodic_gaussian_field((8, 8), Exponential(1.0), 0.0),
            ValueError,
            r"offset_variance must be in \(0, inf\)",
        ),
        (
            lambda: lognormal_field((8, 8), Exponential(1.0), -1.0, 0.5),
            ValueError,
            r"mean must be in \(0, inf\)",
        ),
        (
            lambda: lognormal_field((8, 8), Exponential(1.0), 1.0, 0.0),
            ValueError,
            r"cv must be in \(0, inf\)",
        ),
        (lambda: lognormal_field((8, 8), "gaussian", 1.0, 0.5), TypeError, "covariance"),
    ],
)
def test_new_field_arguments_are_validated(call, error, message):
    with pytest.raises(error, match=message):
        call()


@pytest.mark.parametrize("shape", [(7,), (9, 6), (6, 5, 7), (8, 8, 3)])
def test_odd_and_even_axes_give_the_full_spectrum_eigenvalues(shape):
    # the corner DCT / real FFT shortcut equals the real FFT of the whole grid; round-off
    from generators.gaussian import _embedding

    model = Matern(1.3, 1.5)
    direct = np.fft.rfftn(_grid_correlation(shape, model, 0.7)).real
    eigenvalues, _ = _embedding(shape, model, 0.7)
    np.testing.assert_allclose(eigenvalues, np.maximum(direct, 0.0), atol=1e-12 * direct.max())


# --- the same field, bit for bit, however it is computed --------------------------------
#
# gaussian_field caches the amplitudes, draws and weights the spectrum in slabs (with a
# second thread when workers > 1) and runs the transforms on `workers` threads. Committed
# study stores and their resume tests depend on a field being a function of the seed
# only, so none of this may change a bit of it.

# SHA-256 of two successive fields drawn from default_rng(seed) followed by the next two
# deviates of the stream, computed with the code before these changes (commit 3e2d9cb).
# PowerLaw(length, 2.0) evaluates to 1 / (1 + u^2) with u from sqrt: correctly rounded
# operations only, so the digests do not depend on the CPU's exp; some of these grids
# clip the embedding (the warning is not under test here).
STORED_DIGESTS = [
    (
        (16, 12, 10),
        PowerLaw(1.5, 2.0),
        0.5,
        11,
        "270488613d7e18551e570eec4280e315e827112c797ee9f721c660e5f3568b7d",
    ),
    (
        (9, 8, 7),
        PowerLaw(1.0, 2.0),
        1.0,
        12,
        "60fe2de2d3eb71b81970b6971024e0af4b9350456ec44608b95a40772b2889c5",
    ),
    (
        (24, 20),
        PowerLaw((3.0, 1.5), 2.0),
        1.0,
        13,
        "0e9edb0bb59aca8f2606350ee42078ad15bd23a52f6c23a3011a8bd727c060c1",
    ),
    (
        (33,),
        PowerLaw(2.0, 2.0),
        1.0,
        15,
        "9450aba3888da9ea213e85f42e417e8e425c9a6e2a4c9c34850625b68986860a",
    ),
    (
        (40, 36, 32),
        PowerLaw((2.0, 3.0, 1.0), 2.0),
        0.75,
        16,
        "a587628e4a9618f06115d886356367ae4fe28ebdeb2ad518df86139e0cd9e299",
    ),
]

# slab sizes: the default (one slab for these small grids: drawn, then weighted) and one
# row or a few per slab (many slabs: the second thread weights while the next is drawn)
SLAB_BYTES = [None, 1024]


@pytest.fixture
def fresh_cache(monkeypatch):
    """An empty amplitude cache for the test, so that what it computes is its own."""
    monkeypatch.setattr(gaussian_module, "_amplitudes", OrderedDict())
    return gaussian_module


def stream_digest(shape, model, spacing, seed, **options):
    rng = np.random.default_rng(seed)
    digest = hashlib.sha256()
    for _ in range(2):
        digest.update(gaussian_field(shape, model, spacing=spacing, rng=rng, **options).tobytes())
    digest.update(rng.standard_normal(2).tobytes())
    return digest.hexdigest()


@pytest.mark.parametrize("slab_bytes", SLAB_BYTES)
@pytest.mark.parametrize("workers", [1, 2, 3])
@pytest.mark.parametrize(
    ("shape", "model", "spacing", "seed", "expected"), STORED_DIGESTS, ids=lambda v: repr(v)[:24]
)
def test_field_and_stream_are_those_of_the_previous_code(
    fresh_cache, monkeypatch, shape, model, spacing, seed, expected, workers, slab_bytes
):
    if slab_bytes is not None:
        monkeypatch.setattr(gaussian_module, "_SLAB_BYTES", slab_bytes)
    warnings.simplefilter("ignore", ClippedEmbeddingWarning)  # reset after the test
    # twice: the amplitudes computed, then taken from the cache
    for _ in range(2):
        assert stream_digest(shape, model, spacing, seed, workers=workers) == expected


def previous_gaussian_field(shape, model, spacing, rng):
    """gaussian_field before the amplitudes were cached and the spectrum drawn in slabs
    (commit 3e2d9cb): whole-array passes on one thread, scipy's irfftn."""
    eigenvalues, _ = _embedding(shape, model, spacing)
    amplitude = np.sqrt(eigenvalues)
    n_last, leading = shape[-1], shape[:-1]
    spectrum = np.empty((*leading, n_last // 2 + 1), dtype=np.complex128)
    rng.standard_normal(out=spectrum.view(np.float64))
    spectrum *= math.sqrt(math.prod(shape) / 2.0)
    for k in (0, n_last // 2) if n_last % 2 == 0 else (0,):
        plane = math.sqrt(n_last) * rng.standard_normal(leading)
        spectrum[..., k] = scipy.fft.fftn(plane) if leading else plane
    spectrum *= amplitude
    return scipy.fft.irfftn(spectrum, s=shape)


# models whose correlation calls exp, Bessel functions, a rotation: compared with the
# previous code run here, on whatever CPU runs the tests
PREVIOUS_CASES = [
    ((16, 12, 10), Exponential(3.0), 0.5),
    ((9, 8, 7), Gaussian(2.0), 1.0),
    ((24, 20), Gaussian((3.0, 1.5), rotation=0.4), 1.0),
    ((12, 10, 8), Matern((2.0, 3.0, 1.0), 1.5), 1.0),
    ((33,), Exponential(2.0), 1.0),
    ((8, 8), Gaussian(4.0), 1.0),  # clipped
]


@pytest.mark.parametrize("slab_bytes", SLAB_BYTES)
@pytest.mark.parametrize("workers", [1, 2, -1])
@pytest.mark.parametrize(("shape", "model", "spacing"), PREVIOUS_CASES, ids=repr)
def test_field_equals_the_previous_code_bit_for_bit(
    fresh_cache, monkeypatch, shape, model, spacing, workers, slab_bytes
):
    if slab_bytes is not None:
        monkeypatch.setattr(gaussian_module, "_SLAB_BYTES", slab_bytes)
    warnings.simplefilter("ignore", ClippedEmbeddingWarning)  # reset after the test
    new_rng, old_rng = np.random.default_rng(99), np.random.default_rng(99)
    for _ in range(2):
        new = gaussian_field(shape, model, spacing=spacing, rng=new_rng, workers=workers)
        old = previous_gaussian_field(shape, model, spacing, old_rng)
        assert new.dtype == np.float64 and new.flags.c_contiguous
        assert np.array_equal(new, old)
    assert new_rng.bit_generator.state == old_rng.bit_generator.state


@pytest.mark.slow
def test_benchmark_field_equals_the_previous_code_bit_for_bit():
    # 256^3: 37 slabs of the default size, weighted by the second thread
    shape, model = (256, 256, 256), Exponential(4.0)
    new = gaussian_field(shape, model, rng=1, workers=2)
    old = previous_gaussian_field(shape, model, 1.0, np.random.default_rng(1))
    assert np.array_equal(new, old)


def test_default_workers_follow_scipy_set_workers_and_give_the_same_field(fresh_cache):
    shape, model = (20, 18, 16), Gaussian(1.5)
    reference = gaussian_field(shape, model, rng=5, workers=1)
    assert np.array_equal(gaussian_field(shape, model, rng=5), reference)
    with scipy.fft.set_workers(3):
        assert gaussian_module._as_workers(None) == 3
        assert np.array_equal(gaussian_field(shape, model, rng=5), reference)
    assert gaussian_module._as_workers(-1) == (os.cpu_count() or 1)


# --- the amplitude cache -----------------------------------------------------------------


def counting_embedding(monkeypatch):
    """Replace _embedding by a wrapper that records the grids it is called for."""
    calls = []
    original = gaussian_module._embedding

    def embedding(shape, covariance, spacing, workers=1):
        calls.append((shape, covariance, spacing))
        return original(shape, covariance, spacing, workers)

    monkeypatch.setattr(gaussian_module, "_embedding", embedding)
    return calls


def test_amplitudes_are_computed_once_per_shape_spacing_and_model(fresh_cache, monkeypatch):
    warnings.simplefilter("ignore", ClippedEmbeddingWarning)  # small boxes; reset after
    calls = counting_embedding(monkeypatch)
    gaussian_field((16, 16), Exponential(2.0), rng=0)
    gaussian_field((16, 16), Exponential(2), rng=1)  # an equal model, another instance
    embedding_variance_excess((16, 16), Exponential(2.0))
    assert len(calls) == 1
    gaussian_field((16, 16), Gaussian(2.0), rng=0)  # same parameters, other model
    gaussian_field((16, 16), Exponential(2.0), spacing=0.5, rng=0)
    gaussian_field((16, 18), Exponential(2.0), rng=0)
    gaussian_field((16, 16), Exponential((2.0, 1.0)), rng=0)
    assert len(calls) == 5
    amplitude, _ = gaussian_module._amplitude((16, 16), Exponential(2.0), 1.0)
    assert not amplitude.flags.writeable
    assert len(calls) == 5


def test_amplitude_cache_is_bounded_in_bytes_least_recently_used_out(fresh_cache, monkeypatch):
    warnings.simplefilter("ignore", ClippedEmbeddingWarning)  # small boxes; reset after
    calls = counting_embedding(monkeypatch)
    one_grid = 16 * 9 * 8  # bytes of the amplitudes of a 16 x 16 grid
    monkeypatch.setattr(gaussian_module, "AMPLITUDE_CACHE_BYTES", 2 * one_grid)
    first, second, third = Exponential(2.0), Exponential(3.0), Exponential(4.0)
    for model in (first, second, first, third):  # `second` is now the least recent
        gaussian_field((16, 16), model, rng=0)
    assert len(calls) == 3
    assert len(gaussian_module._amplitudes) == 2
    gaussian_field((16, 16), first, rng=0)
    assert len(calls) == 3
    gaussian_field((16, 16), second, rng=0)
    assert len(calls) == 4
    # a grid larger than the whole cache is computed every time and evicts nothing
    gaussian_field((32, 32), first, rng=0)
    gaussian_field((32, 32), first, rng=0)
    assert len(calls) == 6
    assert len(gaussian_module._amplitudes) == 2


def test_clipping_warning_is_given_at_every_call_from_the_cache(fresh_cache):
    for _ in range(2):
        with pytest.warns(ClippedEmbeddingWarning) as record:
            gaussian_field((8, 8), Gaussian(4.0), rng=0)
        assert record[0].message.excess > 1e-3


@pytest.mark.parametrize(
    ("workers", "error", "message"),
    [
        (0, ValueError, "workers must be >= 1 or -1"),
        (-2, ValueError, "workers must be >= 1 or -1"),
        (1.5, TypeError, "workers must be an integer or None"),
        ("2", TypeError, "workers must be an integer or None"),
    ],
)
def test_workers_is_validated(workers, error, message):
    with pytest.raises(error, match=message):
        gaussian_field((8, 8), Exponential(1.0), workers=workers)
