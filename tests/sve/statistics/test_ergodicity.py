"""Ergodicity tests: a per-realization offset is flagged, ergodic media at the nominal rate."""

import numpy as np
import pytest
from scipy import stats

from generators import Exponential, gaussian_field, nonergodic_gaussian_field
from sve.statistics import ergodicity_test, spatial_average_convergence
from sve.statistics.ergodicity import spatial_average_band, window_ergodicity

MODEL = Exponential(2.0)
WINDOW = 32


def sample(rng, offset_variance=0.0):
    """One 256^2 field and 48 independent 32^2 windows (corners of 64^2 periodic fields, so
    lags inside a window are never wrapped: same law as the tiles of the large field).
    With an offset variance, the generators' non-ergodic field (one random offset per
    realization)."""

    def field(shape):
        if offset_variance == 0.0:
            return gaussian_field(shape, MODEL, rng=rng)
        return nonergodic_gaussian_field(shape, MODEL, offset_variance, rng=rng)

    large = field((256, 256))
    windows = np.array([field((64, 64))[:WINDOW, :WINDOW] for _ in range(48)])
    return large, windows


@pytest.mark.statistical
def test_offset_medium_flagged():
    large, windows = sample(np.random.default_rng(0), offset_variance=1.0)
    result = ergodicity_test(large, windows)
    assert float(result["p_value"]) < 0.01 and bool(result["flagged"])
    assert int(result["n_tiles"]) == 64 and int(result["n_realizations"]) == 48


@pytest.mark.statistical
@pytest.mark.slow
def test_ergodic_false_positive_rate():
    """Over 150 seeds, p < 0.05 at most 5 % of the time, within 4 binomial standard errors;
    and the test is not conservative by construction: under ergodicity the Welch and F
    p-values are each uniform, so their means lie within 4 standard errors 1/√(12·150)
    of 1/2 on both sides (a test whose p-values pile up near 1, which never rejects,
    fails here while passing the rate)."""
    trials, level = 150, 0.05
    results = [ergodicity_test(*sample(np.random.default_rng(seed))) for seed in range(trials)]
    rejected = sum(float(r["p_value"]) < level for r in results)
    assert rejected / trials < level + 4 * np.sqrt(level * (1 - level) / trials)
    for name in ("p_mean", "p_variance"):
        mean = np.mean([float(r[name]) for r in results])
        assert abs(mean - 0.5) < 4 / np.sqrt(12 * trials), (name, mean)


@pytest.mark.statistical
def test_spatial_average_converges_inside_band():
    rng = np.random.default_rng(1)
    field = gaussian_field((512, 512), MODEL, rng=rng)
    area = MODEL.integral_range(2)
    ok = spatial_average_convergence(
        field, ensemble_mean=0.0, point_variance=1.0, integral_range=area
    )
    assert bool(ok["converged"])
    assert list(ok["size"].values) == [4, 8, 16, 32, 64, 128, 256, 512]
    # the band is z sqrt(sigma² A / V) exactly: neither wider nor narrower
    expected = stats.norm.ppf(0.995) * np.sqrt(area / ok["size"].values.astype(float) ** 2)
    np.testing.assert_allclose(ok["band"], expected, rtol=1e-12)
    assert (np.abs(ok["z_score"]) < stats.norm.ppf(0.995)).all()  # inside on both sides
    shifted = spatial_average_convergence(
        field + 0.5, ensemble_mean=0.0, point_variance=1.0, integral_range=area
    )
    assert not bool(shifted["converged"]) and not bool(shifted["inside"].isel(size=-1))


def test_bad_inputs():
    large = np.zeros((64, 64))
    with pytest.raises(ValueError, match="at least 3 windows"):
        ergodicity_test(large, np.zeros((5, 40, 40)))
    with pytest.raises(ValueError, match="at least 3 samples"):
        ergodicity_test(large, np.zeros((2, 8, 8)))
    with pytest.raises(ValueError, match="realizations must be 3-D"):
        ergodicity_test(large, np.zeros((8, 8)))
    with pytest.raises(ValueError, match="must be finite"):
        ergodicity_test(large + np.nan, np.zeros((4, 8, 8)))
    with pytest.raises(ValueError, match="integral_range must be finite and > 0"):
        spatial_average_convergence(large, ensemble_mean=0, point_variance=1, integral_range=0)


# ---------------------------------------------------------------- study level (mode "both")


def study(rng, *, shift=0.0, window_sd=1.0, n=12, sizes=(8, 16), bcs=("kinematic", "static")):
    """A synthetic mode "both" dataset: per (size, bc) isotropic conductivity 3 + noise,
    the windows shifted by ``shift`` with spread ``window_sd`` (the ensemble's is 1)."""
    import xarray as xr

    shape = (len(sizes), n, 2, len(bcs))
    values = 3.0 + rng.standard_normal(shape)
    values[:, :, 1] = 3.0 + shift + window_sd * rng.standard_normal(shape[:2] + shape[3:])
    tensor = np.zeros((*shape, 2, 2))
    tensor[..., 0, 0] = tensor[..., 1, 1] = values
    return xr.Dataset(
        {
            "conductivity": (("size", "realization", "sampling", "bc", "i", "j"), tensor),
            "status": (("size", "realization", "sampling", "bc"), np.ones(shape, np.int8)),
        },
        coords={
            "size": list(sizes),
            "length": ("size", np.array(sizes, float)),
            "sampling": ["independent", "windows"],
            "bc": list(bcs),
        },
    )


def test_window_ergodicity_is_the_two_sample_test_per_size_and_bc():
    from scipy import stats

    ds = study(np.random.default_rng(5))
    out = window_ergodicity(ds)
    values = ds["conductivity"].isel(i=0, j=0)
    tiles = values.sel(size=16, bc="static", sampling="windows").values
    means = values.sel(size=16, bc="static", sampling="independent").values
    cell = out.sel(size=16, bc="static")
    assert float(cell["p_mean"]) == pytest.approx(
        stats.ttest_ind(tiles, means, equal_var=False).pvalue
    )
    assert float(cell["window_variance"]) == pytest.approx(tiles.var(ddof=1))
    assert int(cell["n_windows"]) == 12 and int(cell["n_realizations"]) == 12
    assert int(out["n_tests"]) == 4 and out.attrs["bcs"] == ["kinematic", "static"]
    smallest = float(out["p_value"].min())
    assert float(out["combined_p_value"]) == pytest.approx(min(1.0, 4 * smallest))
    assert not bool(out["flagged_combined"])


def test_window_ergodicity_flags_an_offset_and_a_narrow_parent():
    # a parent whose windows sit one ensemble sd away, with a tenth of the spread
    out = window_ergodicity(study(np.random.default_rng(6), shift=1.0, window_sd=0.1))
    assert float(out["combined_p_value"]) < 1e-6 and bool(out["flagged_combined"])


def test_window_ergodicity_needs_three_values_and_skips_periodic():
    ds = study(np.random.default_rng(7), bcs=("kinematic", "periodic"))
    ds["status"][1, 2:, 1] = 4  # only 2 windows at size 16: not testable there
    out = window_ergodicity(ds)
    assert not bool(out["testable"].sel(size=16).any()) and np.isnan(out["p_value"][1]).all()
    assert out.attrs["bcs"] == ["kinematic"] and int(out["n_tests"]) == 1
    only = window_ergodicity(ds, bcs="periodic")
    assert only.attrs["bcs"] == ["periodic"] and int(only["n_tests"]) == 1
    ds["status"][:, :, 1] = 4
    none = window_ergodicity(ds)
    assert int(none["n_tests"]) == 0 and np.isnan(float(none["combined_p_value"]))
    assert not bool(none["flagged_combined"])


def test_window_ergodicity_bad_inputs():
    ds = study(np.random.default_rng(8))
    with pytest.raises(ValueError, match="'sampling' dimension"):
        window_ergodicity(ds.sel(sampling="windows", drop=True))
    with pytest.raises(ValueError, match="bcs must be a non-empty subset"):
        window_ergodicity(ds, bcs=["mixed"])
    with pytest.raises(ValueError, match="confidence"):
        window_ergodicity(ds, confidence=1.5)


def test_spatial_average_band_equals_the_field_version():
    field = gaussian_field((128, 128), MODEL, rng=np.random.default_rng(2)) + 0.1
    area = MODEL.integral_range(2)
    full = spatial_average_convergence(
        field, ensemble_mean=0.0, point_variance=1.0, integral_range=area
    )
    means = [field[:n, :n].mean() for n in full["size"].values]
    band = spatial_average_band(
        means, full["length"].values, ndim=2, ensemble_mean=0.0, point_variance=1.0,
        integral_range=area,
    )  # fmt: skip
    np.testing.assert_allclose(band["band"], full["band"])
    np.testing.assert_array_equal(band["inside"], full["inside"])
    assert bool(band["converged"]) == bool(full["converged"])
    with pytest.raises(ValueError, match="1-D of one non-zero length"):
        spatial_average_band([0.1], [1.0, 2.0], ndim=2, ensemble_mean=0, point_variance=1,
                             integral_range=1)  # fmt: skip
    with pytest.raises(ValueError, match="ndim must be 1, 2 or 3"):
        spatial_average_band([0.1], [1.0], ndim=4, ensemble_mean=0, point_variance=1,
                             integral_range=1)  # fmt: skip
