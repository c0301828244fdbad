"""Speed of the morphology and statistics layers, as ratios measured in the same run.

Run as ``.venv/bin/python benchmarks/bench_statistics.py``. Prints (never asserts):

* S2 of a 256^3 two-phase image (periodic) divided by one real FFT forward +
  inverse pair of that size (``scipy.fft``, the transforms S2 uses); target <= 2.
* The statistics of a synthetic study dataset of 10^5 records (size x
  realization x bc, 3x3 tensors): ensemble statistics, variance-scaling and
  Kanit fits, RVE size, BC bias and error budget, in seconds against the
  1 s target; and the bootstrap (1000 resamples) apart.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import xarray as xr

# Runs from a checkout without installing the package: the repository root goes first.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _measure import best_time, fft_pair  # noqa: E402
from _record import Record, arguments  # noqa: E402

from sve.morphology import two_point_probability  # noqa: E402
from sve.statistics import (  # noqa: E402
    boundary_bias,
    ensemble_statistics,
    error_budget,
    fit_integral_range,
    fit_variance_scaling,
    rve_size,
)


def study(rng: np.random.Generator, records: int = 100_000) -> xr.Dataset:
    """Sizes 8..128, 3 bcs, realizations to reach ``records`` solves, 3x3 tensors."""
    sizes = np.array([8, 16, 32, 64, 128])
    bcs = ["kinematic", "periodic", "static"]
    n = records // (len(sizes) * len(bcs))
    scale = np.sqrt(0.5 * sizes.astype(float) ** -3)[:, None, None, None, None]
    tensor = 3.0 + scale * rng.standard_normal((len(sizes), n, len(bcs), 3, 3))
    return xr.Dataset(
        {
            "conductivity": (("size", "realization", "bc", "i", "j"), tensor),
            "status": (("size", "realization", "bc"), np.ones((len(sizes), n, len(bcs)), np.int8)),
            "residual": (("size", "realization", "bc"), np.full((len(sizes), n, len(bcs)), 1e-7)),
        },
        coords={"size": sizes, "length": ("size", sizes * 1.0), "bc": bcs},
    )


def main() -> None:
    rng = np.random.default_rng(0)
    shape = (256, 256, 256)
    image = (rng.random(shape) < 0.3).astype(np.int8)
    pair = best_time(fft_pair(shape, workers=1), 3)[0]
    s2 = best_time(lambda: two_point_probability(image), 3)[0]
    print(f"S2 256^3 periodic: {s2:.3f} s; FFT pair {pair:.3f} s; ratio {s2 / pair:.2f} (<= 2)")
    record = Record("statistics")
    table = record.table(
        "Morphology and statistics: time and ratio to a reference measured in the same run",
        ["case", "time [s]", "ratio", "reference", "target"],
    )
    table.add("S2 of a 256^3 image (periodic)", s2, s2 / pair, "one rfftn + irfftn pair", "<= 2")

    ds = study(rng)
    records = ds["status"].size

    def everything() -> None:
        statistics = ensemble_statistics(ds)
        fit_variance_scaling(statistics)
        fit = fit_integral_range(statistics, ndim=3, point_variance=1.0)
        rve_size(fit, statistics, relative_error=0.01)
        boundary_bias(ds)
        error_budget(ds)

    seconds = best_time(everything, 3)[0]
    print(f"statistics of {records} records: {seconds:.3f} s; ratio to 1 s target {seconds:.2f}")
    boot = best_time(lambda: ensemble_statistics(ds, bootstrap=1000, rng=1), 1)[0]
    print(f"bootstrap (1000 resamples, isotropic part) of {records} records: {boot:.3f} s")
    table.add(
        f"statistics of {records} records (ensemble, fits, RVE size, bias, budget)",
        seconds,
        seconds,
        "1 s",
        "<= 1",
    )
    table.add(f"bootstrap, 1000 resamples, {records} records", boot, None, "", "")
    record.headline(f"S₂ of a 256³ image in {s2 / pair:.1f}× one FFT pair of that size")
    record.headline(f"the statistics of a study of 10⁵ solves in {seconds:.2f} s")
    record.write()


if __name__ == "__main__":
    arguments(__doc__).parse_args()
    main()
