"""Speed of the conductivity solver, as ratios to FFTs timed in the same run.

Run as ``.venv/bin/python benchmarks/bench_conductivity.py`` (periodic
sweep below, then every boundary condition), or with ``--bcs`` for the
boundary-condition part only, ``--large`` to add 256^3 to its iteration
sweep, ``--anisotropic`` for the anisotropic polycrystal part only.

Periodic sweep. For two-phase
media (level cut at the median of a smoothed periodic white noise, smoothing
length N / 32 voxels, so every size is the same medium family) and phase
contrasts 10 and 100, it prints the time per solve (d load cases), the
iterations per load case, and the time per conjugate-gradient iteration
divided by the time of one real FFT forward + inverse pair of the same
size (numpy.fft, the transform the preconditioner uses). It never asserts a
time.

Anisotropic polycrystal (``--anisotropic``). A 3-D Poisson-Voronoi
polycrystal (mean grain volume 8^3 voxels) with one uniaxial tensor
``diag(1, 1, a)`` rotated per grain, anisotropy ratio ``a`` = 1, 10, 100: per
boundary condition the iterations per load case at 32^3 and 64^3 (they
depend on ``a``, not on the size: the preconditioner is isotropic), the
time of the solve and the time of one application of the tensor operator
over the scalar one on the same grid.

Boundary conditions. A 3-D level cut at phi = 0.5 of a Gaussian field with a
Gaussian covariance of correlation length 8 voxels, contrast 100: per
boundary condition the time, the iterations per load case, the time per
iteration over one FFT pair and the peak of the memory allocated by numpy
(tracemalloc) at 128^3, then the iteration counts from 32^3 up.
"""

from __future__ import annotations

import sys
import time
import tracemalloc
from functools import partial
from pathlib import Path

import numpy as np
import scipy.ndimage

# Runs from a checkout without installing the package: the repository root goes first.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from generators import Gaussian, gaussian_field, level_cut, voronoi_polycrystal  # noqa: E402
from sve.solvers import CONDUCTIVITY_BCS, apparent_conductivity  # noqa: E402
from sve.solvers._kernels import nodal_flux_2d, nodal_flux_3d  # noqa: E402
from sve.solvers._q1 import Q1Grid, TensorQ1Grid, element_modes  # noqa: E402

SHAPES = [(128, 128), (256, 256), (512, 512), (32, 32, 32), (64, 64, 64), (128, 128, 128)]
CONTRASTS = [10.0, 100.0]
TOL = 1e-6


def two_phase_medium(shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    """Labels 0/1 (int8), half each: level cut of a smoothed periodic noise."""
    noise = rng.standard_normal(shape)
    field = scipy.ndimage.gaussian_filter(noise, max(shape) / 32.0, mode="wrap")
    return (field > np.median(field)).astype(np.int8)


def best_time(function, repeats: int) -> tuple[float, object]:
    """Smallest wall time of `repeats` calls of ``function()`` (s), and its last value."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        value = function()
        times.append(time.perf_counter() - start)
    return min(times), value


def fft_pair_time(shape: tuple[int, ...], repeats: int) -> float:
    """Time of one numpy rfftn + irfftn pair on a float64 array of `shape`."""
    axes = tuple(range(len(shape)))
    field = np.random.default_rng(0).standard_normal(shape)
    spectrum = np.fft.rfftn(field, axes=axes)
    back = np.empty(shape)

    def pair() -> None:
        np.fft.rfftn(field, axes=axes, out=spectrum)
        np.fft.irfftn(spectrum, s=shape, axes=axes, out=back)

    return best_time(pair, repeats)[0]


def operator_time(phases: np.ndarray, contrast: float, repeats: int) -> float:
    """Time of one matrix-free application of the Q1 operator."""
    ndim = phases.ndim
    kernel = nodal_flux_2d if ndim == 2 else nodal_flux_3d
    k = np.array([1.0, contrast])[phases]
    u = np.random.default_rng(0).standard_normal(phases.shape)
    out = np.empty(phases.shape)
    offset = np.zeros(2**ndim)
    modes = element_modes(ndim, 1.0)
    return best_time(partial(kernel, u, offset, k, modes, out), repeats)[0]


def main() -> None:
    for ndim in (2, 3):  # compile (or load from the cache) before timing
        apparent_conductivity(np.indices((4,) * ndim).sum(axis=0) % 2, [1.0, 2.0])
    rng = np.random.default_rng(20240611)
    print(f"tol={TOL:g}; ratios are to one numpy real FFT forward+inverse pair of the same size")
    header = (
        f"{'shape':>15} {'contrast':>8} {'solve [s]':>10} {'iterations':>14} "
        f"{'FFT pair [ms]':>13} {'CG iter / FFT':>13} {'A u / FFT':>9}"
    )
    print(header)
    for shape in SHAPES:
        size = int(np.prod(shape))
        repeats = 5 if size <= 2**17 else (3 if size <= 2**19 else 1)
        fft = fft_pair_time(shape, max(repeats, 3))
        phases = two_phase_medium(shape, rng)
        for contrast in CONTRASTS:
            solve, result = best_time(
                partial(apparent_conductivity, phases, [1.0, contrast], tol=TOL), repeats
            )
            iterations = result.iterations
            per_iteration = solve / sum(iterations)
            apply = operator_time(phases, contrast, max(repeats, 3))
            print(
                f"{'x'.join(map(str, shape)):>15} {contrast:>8g} {solve:>10.3f} "
                f"{','.join(map(str, iterations)):>14} {1e3 * fft:>13.2f} "
                f"{per_iteration / fft:>13.2f} {apply / fft:>9.2f}"
            )


def level_cut_medium(size: int, rng: np.random.Generator) -> np.ndarray:
    """Labels 0/1 (int8), phi = 0.5, Gaussian covariance of length 8 voxels."""
    return level_cut(gaussian_field((size,) * 3, Gaussian(8.0), rng=rng), 0.5)


def boundary_conditions(sizes: list[int]) -> None:
    """Every boundary condition on the 128^3 level cut, then iterations against size."""
    values = [1.0, 100.0]
    phases = level_cut_medium(128, np.random.default_rng(7))
    fft = fft_pair_time(phases.shape, 3)
    print(f"\n128^3 level cut, phi=0.5, length 8, contrast 100, tol={TOL:g}")
    print(
        f"{'bc':>10} {'solve [s]':>10} {'iterations':>14} {'CG iter / FFT':>13} {'peak [MiB]':>10}"
    )
    for bc in CONDUCTIVITY_BCS:
        tracemalloc.start()
        start = time.perf_counter()
        result = apparent_conductivity(phases, values, bc=bc, tol=TOL)
        solve = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        per_iteration = solve / max(sum(result.iterations), 1)
        print(
            f"{bc:>10} {solve:>10.2f} {','.join(map(str, result.iterations)):>14} "
            f"{per_iteration / fft:>13.2f} {peak / 2**20:>10.0f}"
        )
    print("\niterations per load case against size (same medium family)")
    print(f"{'size':>6} " + " ".join(f"{bc:>14}" for bc in CONDUCTIVITY_BCS))
    for size in sizes:
        phases = level_cut_medium(size, np.random.default_rng(size))
        counts = [
            ",".join(map(str, apparent_conductivity(phases, values, bc=bc, tol=TOL).iterations))
            for bc in CONDUCTIVITY_BCS
        ]
        print(f"{size:>6} " + " ".join(f"{c:>14}" for c in counts))


def anisotropic(sizes: list[int], ratios: list[float]) -> None:
    """Iterations and time of a polycrystal of uniaxial grains against the anisotropy ratio."""
    print("\nVoronoi polycrystal, mean grain 8^3 voxels, grain tensors R diag(1, 1, a) R^T")
    print(
        f"{'size':>6} {'a':>6} {'bc':>10} {'solve [s]':>10} {'iterations':>14} "
        f"{'A_K u / A_k u':>13}"
    )
    for size in sizes:
        shape = (size,) * 3
        crystal = voronoi_polycrystal(shape, 1.0 / 8**3, rng=size)
        phases = crystal.grain_ids
        apply_scalar = Q1Grid(np.ones(shape), ("periodic",) * 3, 1.0)
        u = np.random.default_rng(0).standard_normal(shape)
        out = np.empty(shape)
        gradient = np.zeros(3)
        scalar_time = best_time(partial(apply_scalar.flux, u, gradient, out), 3)[0]
        for ratio in ratios:
            tensors = np.einsum(
                "nia,ab,njb->nij", crystal.rotations, np.diag([1.0, 1.0, ratio]), crystal.rotations
            )
            grid = TensorQ1Grid(
                np.ones(shape), ("periodic",) * 3, 1.0, phases.astype(np.int32), tensors
            )
            ratio_time = best_time(partial(grid.flux, u, gradient, out), 3)[0] / scalar_time
            for bc in CONDUCTIVITY_BCS:
                start = time.perf_counter()
                result = apparent_conductivity(phases, tensors, bc=bc, tol=TOL)
                solve = time.perf_counter() - start
                print(
                    f"{size:>6} {ratio:>6g} {bc:>10} {solve:>10.2f} "
                    f"{','.join(map(str, result.iterations)):>14} {ratio_time:>13.2f}"
                )


if __name__ == "__main__":
    if "--anisotropic" in sys.argv:
        anisotropic([32, 64], [1.0, 10.0, 100.0])
        sys.exit()
    if "--bcs" not in sys.argv:
        main()
    boundary_conditions([32, 64, 128] + ([256] if "--large" in sys.argv else []))
