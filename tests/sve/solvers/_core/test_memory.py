"""The memory budget: the estimate, its breakdown, the refusal and the measured peak."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

import sve
from sve.solvers import MemoryBudgetError, memory_estimate
from sve.solvers._core.memory import (
    _PER_POINT,
    FIXED_BYTES,
    available_memory,
    parse_memory,
)

ROOT = Path(__file__).resolve().parents[4]
MEASURED = "(measured)"


def _counted(estimate) -> int:
    """Bytes of the breakdown's items that are counted arrays (not measured, not fixed)."""
    return sum(
        value
        for name, value in estimate.breakdown.items()
        if MEASURED not in name and not name.startswith("fixed")
    )


# -- parsing and the machine ---------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("8 GB", 8 * 10**9),
        ("8GiB", 8 * 2**30),
        ("512 MiB", 512 * 2**20),
        ("1.5 kB", 1500),
        ("2.5e9", 2_500_000_000),
        (1024, 1024),
        (3.0e6, 3_000_000),
    ],
)
def test_parse_memory_reads_bytes_and_units(text, expected):
    assert parse_memory(text) == expected


@pytest.mark.parametrize("bad", ["8 GX", "lots", "-1 GB", 0, -5, float("nan")])
def test_parse_memory_rejects_bad_values_naming_the_argument(bad):
    with pytest.raises(ValueError, match="memory_limit"):
        parse_memory(bad)


def test_parse_memory_rejects_other_types():
    with pytest.raises(TypeError, match="memory_limit"):
        parse_memory([8])
    with pytest.raises(TypeError, match="memory_limit"):
        parse_memory(True)


def test_available_memory_is_positive_and_at_most_the_total():
    available = available_memory()
    assert available is not None  # Linux: /proc/meminfo
    total = next(
        int(line.split()[1]) * 1024
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal:")
    )
    assert 0 < available <= total


# -- the estimate and its breakdown ----------------------------------------------------


@pytest.mark.parametrize(
    ("shape", "bc", "discretization", "points"),
    [
        ((10, 12, 14), "periodic", "q1", 10 * 12 * 14),
        ((10, 12, 14), "kinematic", "q1", 11 * 13 * 15),
        ((10, 12, 14), "static", "q1", 11 * 13 * 15),
        ((10, 12, 14), "mixed", "fv", 10 * 12 * 14),
        ((30, 20), "mixed", "q1", 31 * 21),
    ],
)
def test_breakdown_counts_the_arrays_of_the_solve(shape, bc, discretization, points):
    """Counted by hand: the conductivity field (float64 per voxel with tensors; none for
    per-phase scalars, a void phase included: read from the labels), the solution being
    solved and the float16 forces of the load cases before it (periodic, kinematic;
    static: one float64 solution per load case; mixed: one at a time) and three
    conjugate-gradient vectors (float64 per grid point)."""
    ndim = len(shape)
    voxels = int(np.prod(shape))
    estimate = memory_estimate(shape, bc=bc, discretization=discretization, preconditioner="fft")
    breakdown = estimate.breakdown
    assert estimate.points == points
    assert "conductivity field (float64 per voxel)" not in breakdown
    voids = memory_estimate(shape, bc=bc, discretization=discretization, voids=True)
    assert "conductivity field (float64 per voxel)" not in voids.breakdown  # a void phase
    tensors = memory_estimate(shape, bc=bc, discretization=discretization, tensors=True)
    assert tensors.breakdown["conductivity field (float64 per voxel)"] == 8 * voxels
    if bc == "static":
        assert breakdown["solutions kept (float64, one per load case)"] == 8 * ndim * points
    else:
        assert breakdown["solution (float64)"] == 8 * points
    if bc in ("periodic", "kinematic"):
        forces = breakdown["forces kept (float16, one per load case but the last)"]
        assert forces == 2 * (ndim - 1) * points
    assert breakdown["conjugate-gradient vectors (3 float64)"] == 24 * points
    assert breakdown["fixed (interpreter, plans, small arrays)"] == FIXED_BYTES
    assert estimate.bytes == sum(breakdown.values())
    assert estimate.bytes_per_voxel == pytest.approx(estimate.bytes / voxels)
    measured = [value for name, value in breakdown.items() if MEASURED in name]
    assert measured and all(value >= 0 for value in measured)


def test_breakdown_of_tensors_voids_and_elasticity():
    shape = (8, 8, 8)
    scalar = memory_estimate(shape, preconditioner="fft")
    tensors = memory_estimate(shape, preconditioner="fft", tensors=True)
    assert tensors.breakdown["tensor index (int32 per voxel)"] == 4 * 512
    assert tensors.bytes > scalar.bytes
    voids = memory_estimate(shape, preconditioner="fft", voids=True)
    assert voids.breakdown["void clusters and projection (measured)"] > 0
    elastic = memory_estimate(shape, property="elasticity", bc="kinematic")
    assert elastic.points == 9**3
    assert elastic.breakdown["solutions kept (float64, d per node and load case)"] == (
        8 * 3 * 6 * 9**3
    )
    assert elastic.breakdown["conjugate-gradient vectors (3 float64 per component)"] == (
        24 * 3 * 9**3
    )


def test_every_measured_case_leaves_a_nonnegative_remainder():
    """The counted arrays never exceed the measured total of any case."""
    for prop, bc, discretization, preconditioner, ndim in _PER_POINT:
        shape = (64,) * ndim
        estimate = memory_estimate(
            shape,
            property=prop,
            bc=bc,
            discretization=discretization,
            preconditioner=preconditioner,
        )
        assert _counted(estimate) + FIXED_BYTES <= estimate.bytes
        assert estimate.bytes == sum(estimate.breakdown.values())


def test_estimate_grows_with_the_voxels():
    small = memory_estimate((64, 64, 64), preconditioner="fft")
    large = memory_estimate((128, 128, 128), preconditioner="fft")
    assert (large.bytes - FIXED_BYTES) == pytest.approx(8 * (small.bytes - FIXED_BYTES), rel=1e-6)
    # documented range, 3-D scalar conductivity: the counted 36 (solution, two float16
    # forces, three CG vectors) plus the fixed part
    assert 36 < large.bytes_per_voxel < 80


def test_auto_resolves_like_the_solver():
    low = memory_estimate((64, 64, 64), contrast=10.0)
    high = memory_estimate((64, 64, 64), contrast=1e4)
    assert (low.preconditioner, high.preconditioner) == ("multigrid", "fft")
    unknown = memory_estimate((64, 64, 64))  # the larger of the two candidates
    assert unknown.bytes == max(low.bytes, high.bytes)
    assert memory_estimate((64, 64), contrast=10.0).preconditioner == "fft"  # 2-D
    assert memory_estimate((64, 64, 64), bc="mixed", discretization="fv").preconditioner == (
        "multigrid"
    )


@pytest.mark.parametrize(
    ("arguments", "match"),
    [
        ({"property": "heat"}, "property"),
        ({"bc": "nope"}, "bc"),
        ({"discretization": "fe"}, "discretization"),
        ({"preconditioner": "ilu"}, "preconditioner"),
        ({"property": "elasticity", "discretization": "fv"}, "discretization"),
        ({"discretization": "fv", "preconditioner": "multigrid"}, "multigrid"),
    ],
)
def test_estimate_rejects_bad_arguments(arguments, match):
    with pytest.raises(ValueError, match=match):
        memory_estimate((8, 8, 8), **arguments)


def test_estimate_rejects_bad_shapes():
    with pytest.raises(ValueError, match="shape"):
        memory_estimate((8,))
    with pytest.raises(ValueError, match="shape"):
        memory_estimate((8, 1, 8))


def test_numpy_arrays_of_a_small_solve_lie_between_the_counted_items_and_the_estimate():
    """tracemalloc sees NumPy's arrays (not Numba's or the FFT's buffers): their peak holds
    at least the counted arrays and at most the whole estimate."""
    phases = (np.indices((32, 32, 32)).sum(axis=0) // 3 % 2).astype(np.int8)
    sve.apparent_conductivity(
        phases, [1.0, 10.0], preconditioner="fft", maxiter=2, on_failure="flag"
    )  # compile first
    estimate = memory_estimate(phases.shape, preconditioner="fft")
    tracemalloc.start()
    sve.apparent_conductivity(
        phases, [1.0, 10.0], preconditioner="fft", maxiter=2, on_failure="flag"
    )
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert _counted(estimate) <= peak <= estimate.bytes


# -- refusal -------------------------------------------------------------------------


def test_a_solve_over_budget_is_refused_at_once_without_allocating():
    phases = np.zeros((256, 256, 256), dtype=np.int8)  # 16 MiB; the solve needs > 0.6 GB
    phases[:, :, 128:] = 1
    tracemalloc.start()
    start = time.perf_counter()
    with pytest.raises(MemoryBudgetError) as caught:
        sve.apparent_conductivity(phases, [1.0, 10.0], memory_limit="100 MB")
    elapsed = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert elapsed < 0.5
    assert peak < 2**20  # not one field of the image (16 MiB of labels, 128 MiB of float64)
    error = caught.value
    assert isinstance(error, MemoryError)
    assert error.available == 100 * 10**6
    assert error.needed >= 256**3 * 36  # the counted arrays of periodic Q1
    message = str(error)
    assert "needs about" in message and "0.1 GB is memory_limit" in message
    assert "a window of at most" in message
    edge = int(message.split("a window of at most ")[1].split("**")[0])
    fits = memory_estimate((edge,) * 3, preconditioner=error.estimate.preconditioner)
    assert fits.bytes <= 100 * 10**6
    assert memory_estimate((edge + 1,) * 3, preconditioner=error.estimate.preconditioner).bytes > (
        100 * 10**6
    )


def test_refusal_names_the_alternatives_that_fit():
    phases = np.zeros((64, 64, 64), dtype=np.int8)
    phases[::2] = 1
    mg = memory_estimate(phases.shape, preconditioner="multigrid")
    fft = memory_estimate(phases.shape, preconditioner="fft")
    assert fft.bytes < mg.bytes
    limit = (fft.bytes + mg.bytes) // 2
    with pytest.raises(MemoryBudgetError, match="preconditioner='fft'") as caught:
        sve.apparent_conductivity(
            phases, [1.0, 10.0], preconditioner="multigrid", memory_limit=limit
        )
    assert caught.value.needed == mg.bytes
    # The same solve with the alternative runs.
    result = sve.apparent_conductivity(
        phases, [1.0, 10.0], preconditioner="fft", memory_limit=limit, maxiter=2, on_failure="flag"
    )
    assert result.preconditioner == "fft"


def test_auto_takes_the_transforms_where_only_they_fit():
    """A 64^3 periodic Q1 case that "auto" solves by multigrid (contrast 10, no voids):
    under a limit between the two estimates it runs with the transforms and says so;
    with room for both it keeps multigrid; under both it is refused."""
    phases = np.zeros((64, 64, 64), dtype=np.int8)
    phases[::2] = 1
    mg = memory_estimate(phases.shape, preconditioner="multigrid")
    fft = memory_estimate(phases.shape, preconditioner="fft")
    options = dict(maxiter=2, on_failure="flag")
    roomy = sve.apparent_conductivity(phases, [1.0, 10.0], memory_limit=2 * mg.bytes, **options)
    assert roomy.preconditioner == "multigrid"
    tight = sve.apparent_conductivity(
        phases, [1.0, 10.0], memory_limit=(fft.bytes + mg.bytes) // 2, **options
    )
    assert tight.preconditioner == "fft"
    assert any("'auto' took 'fft' instead of 'multigrid'" in note for note in tight.notes)
    assert not any("'auto' took" in note for note in roomy.notes)
    with pytest.raises(MemoryBudgetError):
        sve.apparent_conductivity(phases, [1.0, 10.0], memory_limit=fft.bytes // 2, **options)


def test_stiffness_over_budget_is_refused_at_once():
    phases = np.zeros((128, 128, 128), dtype=np.int8)
    phases[64:] = 1
    tracemalloc.start()
    start = time.perf_counter()
    with pytest.raises(MemoryBudgetError, match="apparent_stiffness") as caught:
        sve.apparent_stiffness(
            phases, [{"lam": 1.0, "mu": 1.0}, {"lam": 2.0, "mu": 1.0}], memory_limit="512 MiB"
        )
    assert time.perf_counter() - start < 0.5
    assert tracemalloc.get_traced_memory()[1] < 2**20
    tracemalloc.stop()
    assert caught.value.available == 2**29
    assert caught.value.needed > 2**29


def test_memory_limit_is_validated():
    phases = np.zeros((4, 4), dtype=np.int8)
    with pytest.raises(ValueError, match="memory_limit"):
        sve.apparent_conductivity(phases, [1.0], memory_limit="a lot")
    with pytest.raises(TypeError, match="memory_limit"):
        sve.apparent_stiffness(phases, [{"lam": 1.0, "mu": 1.0}], memory_limit=[1])


def test_exported_from_sve():
    assert sve.MemoryBudgetError is MemoryBudgetError
    assert issubclass(MemoryBudgetError, MemoryError)


# -- the estimate against the measured peak (fresh interpreters) ------------------------


def _measured_growth(shape, case) -> int:
    """Peak resident growth of the solve of `case` (see benchmarks/bench_memory.py)."""
    script = ROOT / "benchmarks" / "bench_memory.py"
    code = (
        f"import sys, tempfile, json, numpy as np; sys.path.insert(0, {str(script.parent)!r})\n"
        "import bench_memory as b\n"
        f"phases = b.case_medium({tuple(shape)!r}, {tuple(case)!r})\n"
        "with tempfile.TemporaryDirectory() as d:\n"
        f"    print(json.dumps(b.measure(phases, {tuple(case)!r}, d)))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])["growth"]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("shape", "case"),
    [
        # 36 bytes per voxel since the transforms run in z and the forces are float16
        # (about 1.2 GB)
        ((320, 320, 320), ("conductivity", "periodic", "q1", "fft", False, False)),
        # a void phase read from the labels: 39 bytes per voxel (100 with a float64 field)
        ((300, 300, 300), ("conductivity", "mixed", "fv", "multigrid", False, True)),
        # Q1 multigrid: 43 bytes per voxel without the solution (static: two float16 forces
        # instead of three float64 temperatures), 38 in single precision (about 1.4 and
        # 1.3 GB; the edges must halve to a coarsest level of at most 512 nodes: 320 = 64 x 5)
        ((320, 320, 320), ("conductivity", "kinematic", "q1", "multigrid", False, False)),
        ((320, 320, 320), ("conductivity", "static", "q1", "multigrid", False, False)),
        ((320, 320, 320), ("conductivity", "periodic", "q1", "multigrid", False, False, "single")),
        ((144, 144, 144), ("elasticity", "periodic", "q1", "fft", False, False)),
        # precision="single" (float32 conjugate-gradient vectors). The mixed fv single
        # case (faces read from the labels, 24 bytes per voxel) is measured at 800^3 by
        # benchmarks/bench_memory.py (record memory_800): 87 s here at 352^3 was too long
        # for the suite's budget.
        ((352, 352, 352), ("conductivity", "periodic", "q1", "fft", False, False, "single")),
    ],
)
def test_estimate_within_15_percent_of_the_measured_peak(shape, case):
    prop, bc, discretization, preconditioner, tensors, voids = case[:6]
    extra = {"precision": case[6]} if len(case) > 6 else {}
    estimate = memory_estimate(
        shape,
        property=prop,
        bc=bc,
        discretization=discretization,
        preconditioner=preconditioner,
        tensors=tensors,
        voids=voids,
        **extra,
    )
    assert estimate.bytes >= 10**9
    growth = _measured_growth(shape, case)
    print(
        f"{' '.join(map(str, case))} {shape}: estimate {estimate.bytes / 1e9:.3f} GB, "
        f"measured {growth / 1e9:.3f} GB, ratio {estimate.bytes / growth:.3f}"
    )
    assert 0.85 <= estimate.bytes / growth <= 1.15, (estimate.bytes, growth)


def test_800_cubed_single_fits_16_gib_and_1000_cubed_is_refused_before_allocating():
    """Issue 18: an 800^3 two-phase image in single precision within 16 GB (measured:
    ``benchmarks/bench_memory.py --sizes 800 ... --converge``); the budget predicts 1000^3
    and refuses it. The 1000^3 image is a zero-stride view of one line of alternating
    phases (a laminate, two phases as "auto" sees them): nothing of 10^9 voxels exists.
    """
    options = dict(bc="mixed", discretization="fv", precision="single", contrast=10.0)
    assert memory_estimate((800,) * 3, **options).bytes + 800**3 <= 16 * 2**30  # with labels
    line = (np.arange(1000) % 2).astype(np.int8)
    image = np.lib.stride_tricks.as_strided(line, (1000,) * 3, (0, 0, 1), writeable=False)
    assert memory_estimate(image.shape, **options).bytes > 16 * 2**30
    tracemalloc.start()
    with pytest.raises(MemoryBudgetError) as caught:
        sve.apparent_conductivity(
            image, [1.0, 10.0], bc="mixed", discretization="fv", precision="single",
            memory_limit="16 GiB",
        )  # fmt: skip
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 2**24  # not one array of the image's size (1 GB of labels)
    chosen = caught.value.estimate.preconditioner  # the smaller need, where auto may choose
    options.pop("contrast")
    needed = memory_estimate(image.shape, preconditioner=chosen, **options).bytes
    assert caught.value.needed == needed > 16 * 2**30
    assert "1000x1000x1000" in str(caught.value) and "window of at most" in str(caught.value)
