"""The report of a random-laminate study: no isotropic bounds, no finite integral range."""

import numpy as np
import pytest

from sve import write_report
from sve.study import load_spec, run_study


@pytest.mark.slow
def test_laminate_report_drops_isotropic_bounds_and_flags_the_integral_range(tmp_path):
    spec = load_spec(
        {
            "name": "layers",
            "seed": 11,
            "medium": {
                "generator": "random_laminate",
                "ndim": 2,
                "cell_size": 2,
                "volume_fraction": 0.5,
            },  # fmt: skip
            "property": {"name": "conductivity", "phases": [1.0, 10.0]},
            "sampling": {"sizes": [8, 16, 32], "realizations": 4},
            "solver": {"bc": ["kinematic", "periodic"], "batch": 4},
        }
    )
    ds = run_study(spec, store=tmp_path / "layers.zarr", workers=1)
    written = write_report(ds, tmp_path / "report")
    numbers, text = written.numbers, written.markdown.read_text()
    assert np.isnan(float(numbers["hs_lower"])) and "Hashin–Shtrikman (2-D)" not in text
    assert "assume statistical isotropy" in text and "no finite integral range" in text
    # the per-component table: periodic across the layers is the mean of each
    # realization's harmonic mean, along them the mean of its arithmetic mean
    phi = ds["volume_fraction"].isel(size=-1)
    across = (1.0 / (phi / 10.0 + (1 - phi))).mean()
    along = (1 + 9 * phi).mean()
    periodic = numbers["component_mean"].sel(bc="periodic").isel(size=-1).values
    np.testing.assert_allclose(periodic, [across, along], rtol=1e-6)
    assert "| periodic | " + f"{periodic[0]:.5g}" in text
