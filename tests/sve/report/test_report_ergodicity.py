"""The ergodicity verdict of a report: windows of one parent against independent realizations.

Tiny mode "both" studies (2-D, sizes 8 and 16, a 64^2 parent, 16 realizations,
seeds pinned) solved in-process with ``solve_batch``, no Dask: a second each.
The ergodic medium (offset 0) is not flagged; the non-ergodic control (a
random per-realization offset of the Gaussian field) is.
"""

import json
import tomllib

import numpy as np
import pytest
import xarray as xr
from scipy import stats

from generators import Exponential, level_cut_integral_range
from sve.report import key_numbers, write_report
from sve.statistics import ensemble_statistics
from sve.statistics.ergodicity import window_ergodicity
from sve.study import load_spec
from sve.study.schema import empty_dataset
from sve.study.tasks import solve_batch

BOTH = """
name = "ergodicity-tiny"
seed = 0
[medium]
generator = "gaussian_level_cut"
ndim = 2
covariance = "exponential"
correlation_length = 1.0
volume_fraction = 0.5
offset_variance = {offset}
[property]
name = "conductivity"
phases = [1.0, 10.0]
[sampling]
sizes = [8, 16]
realizations = 16
mode = "{mode}"
parent_size = 64
[solver]
bc = ["kinematic", "periodic", "static"]
"""


def solved(offset=0.0, mode="both"):
    spec = load_spec(tomllib.loads(BOTH.format(offset=offset, mode=mode)))
    ds = empty_dataset(spec)
    for k, size in enumerate(spec.sizes):
        for name, values in solve_batch(spec, size, range(spec.realizations)).items():
            ds[name].values[k] = values
    ds.attrs["runs"] = json.dumps([])
    return ds


@pytest.fixture(scope="module")
def ergodic():
    return solved(0.0)


@pytest.fixture(scope="module")
def control():
    return solved(0.25)


@pytest.mark.slow
def test_ergodic_medium_is_not_flagged(ergodic, tmp_path):
    numbers = key_numbers(ergodic)
    p = float(numbers["ergodicity_p_value"])
    assert np.isfinite(p) and p >= 0.01 and not bool(numbers["ergodicity_flagged"])
    # the statistics layer's verdict, on the non-periodic bcs
    test = window_ergodicity(ergodic, confidence=0.99)
    assert test.attrs["bcs"] == ["kinematic", "static"]
    assert p == pytest.approx(float(test["combined_p_value"]))
    np.testing.assert_allclose(numbers["ergodicity_p"], test["p_value"])
    assert bool(numbers["parent_inside"].all())
    # the parent's band is z sqrt(phi (1 - phi) A / V) with the exact integral range of
    # the level cut's indicator: a wider band could not fail the line above
    area = level_cut_integral_range(Exponential(1.0), 0.5, 2)
    edges = numbers["parent_length"].values.astype(float)
    expected = stats.norm.ppf(0.995) * np.sqrt(0.25 * area / edges**2)
    np.testing.assert_allclose(numbers["parent_band"], expected, rtol=1e-12)
    # the convergence pages use the independent realizations only
    independent = ergodic.sel(sampling="independent", drop=True)
    xr.testing.assert_allclose(numbers["mean"], ensemble_statistics(independent)["mean"])
    text = write_report(ergodic, tmp_path).read_text()
    section = text.split("## Ergodicity", 1)[1].split("\n## ", 1)[0]
    assert f"Verdict: **not rejected**, p = {p:.3g}." in section
    assert "| 16 | static | 16 |" in section and "| 64 | 0.4968 |" in section
    assert "Sampling: independent periodic realizations" in text
    assert "Ergodicity" in (tmp_path / "report.html").read_text()


@pytest.mark.slow
def test_nonergodic_control_is_flagged(control, tmp_path):
    numbers = key_numbers(control)
    p = float(numbers["ergodicity_p_value"])
    assert p < 1e-6 and bool(numbers["ergodicity_flagged"])
    assert "non-ergodic: rejected at the 0.01 level" in numbers.attrs["ergodicity"]
    assert not bool(numbers["parent_inside"].isel(parent_length=-1))
    text = write_report(control, tmp_path).read_text()
    assert f"Verdict: **non-ergodic**, p = {p:.3g}." in text


def test_windows_only_study_reports_without_a_p_value(tmp_path):
    ds = solved(0.0, mode="windows")
    written = write_report(ds, tmp_path)
    numbers = written.numbers
    assert np.isnan(float(numbers["ergodicity_p_value"]))
    assert 'sampling.mode = "windows"' in numbers.attrs["ergodicity"]
    assert int(numbers["n"].sel(size=16).min()) == 16  # (64 // 16)^2 windows
    section = written.read_text().split("## Ergodicity", 1)[1].split("\n## ", 1)[0]
    assert "p =" not in section and "parent corner window edge" in section
