"""Speed and memory of the generators, as ratios to references measured in the same run.

Run as ``.venv/bin/python benchmarks/bench_generators.py``. It prints

- ``gaussian_field`` on 256^3 (Exponential(4.0), rng=1, default workers: all cores)
  against FFT_REFERENCE, "one scipy.fft rfftn + irfftn pair of 256^3, workers=-1"
  (the library the generator uses, on all cores as the generator is); target <= 1.5.
  The same pair on one core gives the speed-up the machine allowed the reference:
  far below the core count, another load shared the cores and the ratios are not
  those of a quiet machine.
  Timed alternately with the pair, ``GAUSSIAN_REPEATS`` times each, best and median:
  a repeated call (amplitudes from the cache), a first call on the grid (cache
  emptied before each), and the 256^3 normal deviates alone (one
  ``standard_normal`` fill: the part that stays on one thread, since the stream of
  a seed must not change);
- RSA of 1e5 spheres at volume fraction 0.3 in 3-D (seconds), and the time ratio
  of 1e5 to 1e4 spheres at the same fraction (linear scaling: 10), best of
  ``REPEATS`` runs each, after the kernels are compiled; with the number of attempts
  per sphere (the algorithmic work: constant at a fixed fraction) and the time per
  attempt (memory traffic: it grows once the cell list and the centres outgrow the
  cache);
- voxelizing 1e5 spheres and a 1e4-cell Voronoi mosaic on 256^3 (seconds);
- peak memory of each 256^3 generator as a ratio to its output array (target <= 4),
  measured two ways, the output included and the inputs made before the call:
  the peak of the memory traced by ``tracemalloc`` (every NumPy array, but not the
  buffers that Numba kernels or scipy.fft's C++ code allocate themselves), and the
  growth of the peak resident set in a fresh process that has made one call before
  (Linux: the peak is reset through /proc/self/clear_refs and read as VmHWM in
  /proc/self/status; a fresh process, because in this one memory freed by earlier
  cases is reused without growing the resident set).

It never asserts a time. Kernels are compiled (or loaded from the cache) first.
"""

from __future__ import annotations

import argparse
import gc
import math
import os
import statistics
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

# Runs from a checkout without installing the package: the repository root goes first.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _measure import best_time, fft_pair, status_bytes  # noqa: E402
from _record import Record, arguments  # noqa: E402

import generators  # noqa: E402
from generators._kernels import rsa  # noqa: E402
from generators.rsa import MAX_REFINEMENTS, PLAIN_FAILURES  # noqa: E402

SHAPE = (256, 256, 256)
FRACTION = 0.3
REPEATS = 3
GAUSSIAN_REPEATS = 5
FFT_REFERENCE = "one scipy.fft rfftn + irfftn pair of 256^3, workers=-1"


def rsa_case(n_spheres: int, radius: float = 2.0) -> tuple[tuple[int, int, int], float]:
    """Cubic grid holding about ``n_spheres`` spheres of ``radius`` voxels at FRACTION."""
    edge = round((n_spheres * 4.0 / 3.0 * math.pi * radius**3 / FRACTION) ** (1.0 / 3.0))
    return (edge,) * 3, radius


def rsa_attempts(shape: tuple[int, ...], radius: float, count: int) -> int:
    """Attempts the RSA kernel makes for ``count`` spheres, as ``rsa_spheres(..., rng=2)``."""
    box = np.array(shape, dtype=np.float64)
    _, attempts = rsa(
        box,
        2.0 * radius,
        count,
        max(PLAIN_FAILURES, count),
        MAX_REFINEMENTS,
        np.random.default_rng(2),
    )
    return attempts


def warm_up() -> None:
    generators.rsa_spheres((16, 16, 16), 2.0, 0.2, rng=0)
    generators.voronoi_mosaic((16, 16, 16), 0.01, rng=0)


def spheres_for_voxelization() -> tuple[np.ndarray, np.ndarray]:
    """1e5 random centres in the 256^3 box, radii for a union of about FRACTION."""
    rng = np.random.default_rng(1)
    centres = rng.random((100_000, 3)) * 256.0
    radius = (-math.log1p(-FRACTION) * 256.0**3 / 1e5 / (4.0 / 3.0 * math.pi)) ** (1.0 / 3.0)
    return centres, np.full(100_000, radius)


def cases() -> dict:
    """The 256^3 generators as calls without arguments; their inputs are made here."""
    centres, radii = spheres_for_voxelization()
    return {
        "gaussian_field": lambda: generators.gaussian_field(
            SHAPE, generators.Exponential(4.0), rng=1
        ),
        "voxelize_spheres": lambda: generators.voxelize_spheres(SHAPE, centres, radii),
        "voronoi_mosaic": lambda: generators.voronoi_mosaic(SHAPE, 1e4 / 256**3, rng=1),
    }


GAUSSIAN_CASES = (
    "gaussian_field 256^3, repeated (amplitudes cached)",
    "gaussian_field 256^3, first call on the grid",
    "its 2^24 normal deviates alone (one thread)",
)


def gaussian_times(field) -> dict[str, tuple[float, float]]:
    """Best and median seconds of ``field()`` (a 256^3 Gaussian field), of the same call
    with the amplitude cache emptied first, of the normal deviates alone and of the
    reference pair, timed in turn ``GAUSSIAN_REPEATS`` times so that a change of load
    touches them all."""
    pairs = {-1: fft_pair(SHAPE, workers=-1), 1: fft_pair(SHAPE, workers=1)}
    deviates = np.empty((*SHAPE[:-1], SHAPE[-1] // 2 + 1), dtype=np.complex128)
    rng = np.random.default_rng(1)

    def first_call():
        generators.gaussian._amplitudes.clear()
        start = time.perf_counter()
        field()
        return time.perf_counter() - start

    def timed(function):
        start = time.perf_counter()
        function()
        return time.perf_counter() - start

    field()  # compiled plans, warm allocator and cache, as in a long session
    samples = {
        name: [] for name in ("reference pair", "reference pair, one core", *GAUSSIAN_CASES)
    }
    for _ in range(GAUSSIAN_REPEATS):
        for name, workers in (("reference pair", -1), ("reference pair, one core", 1)):
            samples[name].append(timed(pairs[workers]))
        samples[GAUSSIAN_CASES[0]].append(timed(field))
        samples[GAUSSIAN_CASES[1]].append(first_call())
        samples[GAUSSIAN_CASES[2]].append(
            timed(lambda: rng.standard_normal(out=deviates.view(np.float64)))
        )
    field()  # leave the cache filled for the memory cases
    return {name: (min(t), statistics.median(t)) for name, t in samples.items()}


def peak_memory_ratio(function) -> float:
    """Peak of the memory traced during one call of ``function()``, over its output size."""
    gc.collect()
    tracemalloc.start()
    try:
        start, _ = tracemalloc.get_traced_memory()
        output = function()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return (peak - start) / output.nbytes


def resident_memory_ratio(name: str) -> None:
    """Print the growth of the peak resident set during one call of case ``name``."""
    warm_up()
    function = cases()[name]
    function()  # the allocator's arenas and scipy.fft's plans, as in a long session
    gc.collect()
    Path("/proc/self/clear_refs").write_text("5")  # VmHWM := VmRSS
    before = status_bytes("VmRSS")
    output = function()
    print((status_bytes("VmHWM") - before) / output.nbytes)


def resident_memory_ratio_in_fresh_process(name: str) -> str:
    """``resident_memory_ratio`` run in a new interpreter, formatted; n/a off Linux."""
    result = subprocess.run(
        [sys.executable, __file__, "--resident", name], capture_output=True, text=True
    )
    if result.returncode != 0:
        return "n/a"
    return f"{float(result.stdout.split()[-1]):.2f}"


def main() -> None:
    warm_up()
    print(f"generators benchmark on {SHAPE} grids (machine-independent ratios first)")

    record = Record("generators")
    speed = record.table(
        "Generators: time and ratio to a reference measured in the same run",
        ["case", "time [s]", "ratio", "reference", "target"],
    )
    calls = cases()
    gaussian = gaussian_times(calls["gaussian_field"])
    pair = gaussian["reference pair"]
    one_core = gaussian.pop("reference pair, one core")
    speedup = one_core[0] / pair[0]
    print(
        f"reference pair on all cores {speedup:.2f} x faster than on one (best of "
        f"{GAUSSIAN_REPEATS} each): well under the core count on a loaded machine, where "
        "the ratios below are not those of a quiet one"
    )
    speed.add(
        "reference pair on one core (workers=1)",
        one_core[0],
        speedup,
        f"speed-up of {FFT_REFERENCE} over it; {os.cpu_count()} cores",
        "",
    )
    for name, (best, median) in gaussian.items():
        print(
            f"{name}: best {best:.3f} s = {best / pair[0]:.2f} x, median {median:.3f} s = "
            f"{median / pair[1]:.2f} x {FFT_REFERENCE}"
            + ("  [target <= 1.5]" if name == GAUSSIAN_CASES[0] else "")
        )
        if name != "reference pair":
            speed.add(
                name,
                best,
                best / pair[0],
                f"{FFT_REFERENCE}: {pair[0]:.3g} s (best of {GAUSSIAN_REPEATS}; ratio of "
                f"the medians {median / pair[1]:.2f})",
                "<= 1.5" if name == GAUSSIAN_CASES[0] else "",
            )
    repeated = gaussian[GAUSSIAN_CASES[0]][0]
    record.headline(
        f"a 256³ Gaussian field in {repeated:.2f} s, {repeated / pair[0]:.1f}× one all-core "
        f"FFT pair of that size (which ran {speedup:.1f}× faster than on one core)"
    )

    times, counts = {}, {}
    for n in (10_000, 100_000):
        shape, radius = rsa_case(n)
        times[n] = best_time(
            lambda s=shape, r=radius: generators.rsa_spheres(s, r, FRACTION, rng=2), REPEATS
        )[0]
        packing = generators.rsa_spheres(shape, radius, FRACTION, rng=2)
        counts[n] = len(packing.radii)
        reached = counts[n] * 4.0 / 3.0 * math.pi * radius**3 / math.prod(shape)
        attempts = rsa_attempts(shape, radius, counts[n])
        print(
            f"rsa_spheres, {counts[n]} spheres at {reached:.4f} on {shape[0]}^3: {times[n]:.3f} s "
            f"({times[n] / counts[n] * 1e6:.1f} us per sphere, {attempts / counts[n]:.1f} "
            f"attempts per sphere, {times[n] / attempts * 1e9:.0f} ns per attempt)"
        )
        speed.add(
            f"rsa_spheres, {counts[n]} spheres at {reached:.3f}",
            times[n],
            attempts / counts[n],
            "attempts per sphere",
            "",
        )
    print(
        f"rsa_spheres time ratio 1e5 / 1e4 spheres: {times[100_000] / times[10_000]:.1f} for "
        f"{counts[100_000] / counts[10_000]:.2f} x the spheres [linear: 10]"
    )
    speed.add(
        "rsa_spheres 1e5 / 1e4 spheres",
        times[100_000],
        times[100_000] / times[10_000],
        f"time of 1e4 spheres, {counts[100_000] / counts[10_000]:.2f} x fewer",
        "linear: 10",
    )

    voxelize = best_time(calls["voxelize_spheres"], 2)[0]
    print(f"voxelize_spheres, 1e5 spheres on 256^3: {voxelize:.2f} s  [target ~1 s]")
    voronoi = best_time(calls["voronoi_mosaic"], 2)[0]
    print(f"voronoi_mosaic, 1e4 cells on 256^3: {voronoi:.2f} s  [target ~1 s]")
    speed.add("voxelize_spheres, 1e5 spheres on 256^3", voxelize, None, "", "~1 s")
    speed.add("voronoi_mosaic, 1e4 cells on 256^3", voronoi, None, "", "~1 s")
    memory = record.table(
        "Generators: peak memory over the output array (256^3)",
        ["generator", "traced", "resident", "target"],
        "traced: tracemalloc (NumPy arrays, not the buffers of Numba kernels or scipy.fft); "
        "resident: growth of the peak resident set in a fresh process (Linux)",
    )

    for name, function in calls.items():
        ratio = peak_memory_ratio(function)
        resident = resident_memory_ratio_in_fresh_process(name)
        print(
            f"peak memory of {name} / its output array: {ratio:.2f} traced, {resident} "
            "resident  [target <= 4]"
        )
        memory.add(name, ratio, resident, "<= 4")
    record.write()


if __name__ == "__main__":
    parser = arguments(__doc__)
    parser.add_argument("--resident", metavar="CASE", help=argparse.SUPPRESS)  # the child
    options = parser.parse_args()
    if options.resident:
        resident_memory_ratio(options.resident)
    else:
        main()
