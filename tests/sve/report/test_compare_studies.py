"""A calibrated study beside the windows study of its image (``compare_studies``)."""

from __future__ import annotations

import tomllib

import numpy as np
import pytest

import generators
from sve import calibrate, load_spec, write_report
from sve.report import compare_studies, key_numbers


@pytest.fixture(scope="module")
def studies(tmp_path_factory, solve_study):
    """A 96^2 exponential level cut (length 2 voxels of 0.5 um): the study of its tiles
    and the study of the medium calibrated to it, both solved in-process."""
    folder = tmp_path_factory.mktemp("calibrated")
    field = generators.gaussian_field((96, 96), generators.Exponential(4.0), rng=21)
    labels = generators.level_cut(field, 0.4, exact=False)
    np.save(folder / "scan.npy", labels.astype(np.uint8))
    common = {
        "property": {"name": "conductivity", "phases": [1.0, 10.0]},
        "solver": {"bc": ["periodic", "mixed"], "batch": 8},
    }
    windows = load_spec({
        "name": "windows", "seed": 1, **common,
        "medium": {"image": str(folder / "scan.npy"), "voxel_size": [0.5, 0.5], "unit": "um"},
        "sampling": {"sizes": [8, 12, 16, 24], "realizations": 8},
    })  # fmt: skip
    result = calibrate(labels, spacing=0.5, models=("exponential",), seed=2)
    medium = tomllib.loads(result.to_medium_toml())["medium"]
    calibrated = load_spec({
        "name": "calibrated", "seed": 2, **common, "medium": medium,
        "sampling": {"sizes": [8, 12, 16, 24], "realizations": 8, "spacing": 0.5,
                     "length_unit": "um"},
    })  # fmt: skip
    return solve_study(calibrated), solve_study(windows)


def test_numbers_are_those_of_each_study(studies):
    calibrated, windows = studies
    comparison = compare_studies(calibrated, windows)
    assert list(comparison["study"].values) == ["calibrated", "windows"]
    assert list(comparison["bc"].values) == ["periodic", "mixed"]
    assert comparison.attrs["unit"] == "um" and comparison.attrs["ndim"] == 2
    for study, ds in zip(("calibrated", "windows"), studies, strict=True):
        numbers = key_numbers(ds)
        for bc in ("periodic", "mixed"):
            row, ours = numbers.sel(bc=bc), comparison.sel(study=study, bc=bc)
            assert float(ours["mean"]) == float(row["mean"].isel(size=-1))
            assert float(ours["mean_low"]) == float(row["ci_low"].isel(size=-1))
            assert float(ours["integral_range"]) == float(row["integral_range"])
            assert float(ours["largest_length"]) == 24 * 0.5
    for bc in ("periodic", "mixed"):
        c = comparison.sel(bc=bc)
        lows, highs = c["integral_range_low"].values, c["integral_range_high"].values
        assert bool(c["integral_range_overlap"]) == (max(lows) <= min(highs))


def test_the_calibrated_medium_matches_its_image(studies):
    """Same medium, same statistics: both studies' mean conductivity intervals overlap,
    and so do their periodic integral ranges (each from 8 realizations of 4 sizes; the
    mixed conditions' variance law is not a power law at these sizes, its interval
    unbounded)."""
    comparison = compare_studies(*studies)
    assert bool(comparison["mean_overlap"].all())
    periodic = comparison.sel(bc="periodic")
    assert bool(periodic["integral_range_overlap"])
    assert np.all(np.isfinite(periodic[["integral_range_low", "integral_range_high"]].to_array()))


@pytest.mark.slow
def test_report_section(studies, tmp_path):
    calibrated, windows = studies
    report = write_report(calibrated, tmp_path / "report", compare_with=windows)
    text = report.read_text()
    assert "## Beside the windows study of the image" in text
    assert "| periodic | windows |" in text and "integral range (um^2)" in text
    assert "Beside the windows study" in report.html.read_text()


@pytest.mark.slow
def test_mismatched_studies_are_refused(studies, tiny_spec_data, solve_study):
    calibrated, _ = studies
    other = solve_study(load_spec(tiny_spec_data(solver={"bc": ["kinematic"]})))
    with pytest.raises(ValueError, match="one unit|share no boundary condition"):
        compare_studies(calibrated, other)
    with pytest.raises(TypeError, match="windows must be an xarray.Dataset"):
        compare_studies(calibrated, 3)
