"""The report package's public names, and every dataset function on a lazy study.

``sve.open_study`` returns a lazy (Dask-backed) dataset. Every public function
of ``sve.statistics`` and ``sve.report`` that takes a dataset must accept it
and give what it gives for the same dataset in memory. The stores are real:
tiny studies (2-D, 3 sizes, 6 realizations) run by ``sve.run_study`` on an
in-process Dask client, a few seconds in all.
"""

import tomllib

import numpy as np
import pytest
import xarray as xr
from distributed import Client

import sve
import sve.statistics as st
from sve.report import key_numbers, sweep_numbers, write_report
from sve.study import load_spec, open_study, run_study

TINY = """
name = "lazy-tiny"
seed = 5
[medium]
generator = "gaussian_level_cut"
ndim = 2
covariance = "exponential"
correlation_length = 1.0
volume_fraction = 0.5
[property]
name = "conductivity"
phases = [1.0, 10.0]
[sampling]
sizes = [6, 9, 12]
realizations = 6
mode = "both"
parent_size = 36
[solver]
bc = ["kinematic", "periodic", "static"]
"""

SWEEP = (
    TINY.replace('mode = "both"\nparent_size = 36\n', "").replace("lazy-tiny", "lazy-sweep")
    + '[sweep]\n"property.phases[1]" = [5.0, 20.0]\n'
)


def _run(text, store):
    with Client(processes=False, n_workers=1, threads_per_worker=1, dashboard_address=":0") as c:
        run_study(load_spec(tomllib.loads(text)), client=c, store=store)
    return store


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    folder = tmp_path_factory.mktemp("lazy")
    return _run(TINY, folder / "tiny.zarr"), _run(SWEEP, folder / "sweep.zarr")


@pytest.fixture(scope="module")
def lazy(stores):
    ds = open_study(stores[0])
    assert ds["conductivity"].chunks is not None  # the case under test: Dask-backed
    return ds


def _is_lazy(ds):
    return any(v.chunks is not None for v in ds.variables.values())


@pytest.mark.slow  # the module's two studies take ~8 s
def test_report_is_the_package_and_write_report_its_function(stores, tmp_path):
    import sve.report as package

    assert sve.report is package
    assert sve.write_report is package.write_report
    # the documented call, which raised AttributeError when sve.report was a function
    summary = sve.report.sweep_numbers(open_study(stores[1]))
    assert summary.sizes["sweep"] == 2
    assert np.isfinite(summary["exponent"]).all()
    written = sve.write_report(open_study(stores[0]), tmp_path / "report")
    assert written.markdown.is_file() and written.html.is_file()
    assert not hasattr(sve.report, "report")


@pytest.mark.slow  # the module's two studies take ~8 s
def test_statistics_accept_the_lazy_dataset(lazy):
    loaded = lazy.compute()
    calls = {
        "ensemble_statistics": lambda ds: st.ensemble_statistics(ds),
        "boundary_bias": lambda ds: st.boundary_bias(ds),
        "error_budget": lambda ds: st.error_budget(ds, tol=1e-6),
        "window_ergodicity": lambda ds: st.window_ergodicity(ds),
        "independent": lambda ds: st.ensemble_statistics(ds.sel(sampling="independent")),
    }
    for name, call in calls.items():
        got, expected = call(lazy), call(loaded)
        assert not _is_lazy(got), name
        xr.testing.assert_identical(got, expected)
    assert _is_lazy(lazy)  # the caller's dataset stays lazy


@pytest.mark.slow  # the module's two studies take ~8 s
def test_fits_accept_lazy_statistics(lazy):
    stats = st.ensemble_statistics(lazy.sel(sampling="independent").compute())
    chunked = stats.chunk()
    assert _is_lazy(chunked)
    fit = st.fit_variance_scaling(chunked)
    xr.testing.assert_identical(fit, st.fit_variance_scaling(stats))
    kanit = st.fit_integral_range(chunked, ndim=2, point_variance=20.25)
    xr.testing.assert_identical(kanit, st.fit_integral_range(stats, ndim=2, point_variance=20.25))
    xr.testing.assert_identical(
        st.rve_size(kanit.chunk(), chunked, relative_error=0.05),
        st.rve_size(kanit, stats, relative_error=0.05),
    )
    xr.testing.assert_identical(
        st.realizations_needed(chunked, relative_error=0.05),
        st.realizations_needed(stats, relative_error=0.05),
    )
    tensor = lazy["conductivity"]
    xr.testing.assert_identical(st.isotropic_part(tensor), st.isotropic_part(tensor.compute()))


@pytest.mark.slow  # the module's two studies take ~8 s
def test_key_numbers_and_sweep_numbers_accept_lazy_datasets(lazy, stores):
    xr.testing.assert_identical(key_numbers(lazy), key_numbers(lazy.compute()))
    sweep = open_study(stores[1])
    assert _is_lazy(sweep)
    xr.testing.assert_identical(sweep_numbers(sweep), sweep_numbers(sweep.compute()))


def test_report_functions_refuse_what_is_not_a_dataset():
    with pytest.raises(TypeError, match="ds must be an xarray.Dataset"):
        sweep_numbers({"sweep": [1]})
    with pytest.raises(ValueError, match="parameter sweep"):
        sweep_numbers(xr.Dataset({"x": ("a", [1.0])}))
    with pytest.raises(TypeError, match="tensor must be an xarray.DataArray"):
        st.isotropic_part(np.eye(2))
    with pytest.raises(TypeError, match="statistics must be an xarray.Dataset"):
        st.realizations_needed({"mean": 1.0}, relative_error=0.1)
    with pytest.raises(TypeError, match="source must be an xarray.Dataset or a path"):
        write_report([1, 2], "unused")
