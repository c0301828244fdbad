"""Speed and memory of the generators, as ratios to references measured in the same run.

Run as ``.venv/bin/python benchmarks/bench_generators.py``. It prints

- ``gaussian_field`` on 256^3 against one real FFT forward + inverse pair of the
  same size (scipy.fft, the library the generator uses); target <= 2;
- RSA of 1e5 spheres at volume fraction 0.3 in 3-D (seconds), and the time ratio
  of 1e5 to 1e4 spheres at the same fraction (linear scaling: 10);
- voxelizing 1e5 spheres and a 1e4-cell Voronoi mosaic on 256^3 (seconds);
- peak memory of each 256^3 generator as a ratio to its output array (target <= 4),
  measured as the growth of the peak resident set size (Linux: the peak is reset
  through /proc/self/clear_refs and read as VmHWM in /proc/self/status).

It never asserts a time. Kernels are compiled (or loaded from the cache) first.
"""

from __future__ import annotations

import gc
import math
import sys
import time
from pathlib import Path

import numpy as np
import scipy.fft

# Runs from a checkout without installing the package: the repository root goes first.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import generators  # noqa: E402

SHAPE = (256, 256, 256)
FRACTION = 0.3


def best_time(function, repeats: int) -> float:
    """Smallest wall time of ``repeats`` calls of ``function()`` (s)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def rsa_case(n_spheres: int, radius: float = 2.0) -> tuple[tuple[int, int, int], float]:
    """Cubic grid holding about ``n_spheres`` spheres of ``radius`` voxels at FRACTION."""
    edge = round((n_spheres * 4.0 / 3.0 * math.pi * radius**3 / FRACTION) ** (1.0 / 3.0))
    return (edge,) * 3, radius


def warm_up() -> None:
    generators.rsa_spheres((16, 16, 16), 2.0, 0.2, rng=0)
    generators.voronoi_mosaic((16, 16, 16), 0.01, rng=0)


def spheres_for_voxelization() -> tuple[np.ndarray, np.ndarray]:
    """1e5 random centres in the 256^3 box, radii for a union of about FRACTION."""
    rng = np.random.default_rng(1)
    centres = rng.random((100_000, 3)) * 256.0
    radius = (-math.log1p(-FRACTION) * 256.0**3 / 1e5 / (4.0 / 3.0 * math.pi)) ** (1.0 / 3.0)
    return centres, np.full(100_000, radius)


CASES = {
    "gaussian_field": lambda: generators.gaussian_field(SHAPE, generators.Exponential(4.0), rng=1),
    "voxelize_spheres": lambda: generators.voxelize_spheres(SHAPE, *spheres_for_voxelization()),
    "voronoi_mosaic": lambda: generators.voronoi_mosaic(SHAPE, 1e4 / 256**3, rng=1),
}


def memory_kib(field: str) -> int:
    """A field of /proc/self/status (VmRSS, VmHWM), in KiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def peak_memory_ratio(name: str) -> float:
    """Growth of the peak resident set during one call, over the size of its output."""
    gc.collect()
    Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current VmRSS
    before = memory_kib("VmRSS")
    output = CASES[name]()
    return (memory_kib("VmHWM") - before) * 1024.0 / output.nbytes


def main() -> None:
    warm_up()
    print(f"generators benchmark on {SHAPE} grids (machine-independent ratios first)")

    noise = np.random.default_rng(0).standard_normal(SHAPE)
    fft_pair = best_time(lambda: scipy.fft.irfftn(scipy.fft.rfftn(noise), s=SHAPE), 2)
    gaussian = best_time(CASES["gaussian_field"], 2)
    print(
        f"gaussian_field 256^3: {gaussian:.2f} s = {gaussian / fft_pair:.2f} x one rfftn+irfftn "
        f"pair ({fft_pair:.2f} s)  [target <= 2]"
    )

    times = {}
    for n in (10_000, 100_000):
        shape, radius = rsa_case(n)
        times[n] = best_time(
            lambda s=shape, r=radius: generators.rsa_spheres(s, r, FRACTION, rng=2), 1
        )
        count = len(generators.rsa_spheres(shape, radius, FRACTION, rng=2).radii)
        print(f"rsa_spheres, {count} spheres at {FRACTION} on {shape[0]}^3: {times[n]:.2f} s")
    print(
        f"rsa_spheres time ratio 1e5 / 1e4 spheres: {times[100_000] / times[10_000]:.1f} "
        "[linear: 10]"
    )

    voxelize = best_time(CASES["voxelize_spheres"], 2)
    print(f"voxelize_spheres, 1e5 spheres on 256^3: {voxelize:.2f} s  [target ~1 s]")
    voronoi = best_time(CASES["voronoi_mosaic"], 2)
    print(f"voronoi_mosaic, 1e4 cells on 256^3: {voronoi:.2f} s  [target ~1 s]")

    for name in CASES:
        ratio = peak_memory_ratio(name)
        print(f"peak memory of {name} / its output array: {ratio:.2f}  [target <= 4]")


if __name__ == "__main__":
    main()
