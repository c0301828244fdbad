"""The pure functions a study runs on its workers.

A task is a function of plain arguments (the spec, a size, a run of
realization indices) that generates its SVEs inside the worker and returns
small arrays; it never touches the store and knows nothing of Dask.

Window modes (``sampling.mode`` "windows" or "both", :mod:`sve.study.spec`):
the parent never travels through the scheduler. Each task regenerates it
from the spec (:func:`generate_parent`, a pure function of the spec: 0.01 s
for a 512^2 level cut, 0.07 s for 1024^2, 0.15 s for 128^3, 1.5 s for
256^3 on this machine) and keeps the last one per worker process, so a worker
draws it once per study; the generators draw whole periodic fields (FFT),
so drawing only a window's region is not possible.
"""

from __future__ import annotations

import functools
import json
import time
from dataclasses import replace

import numpy as np

from generators import rotate_tensor
from sve.solvers import apparent_conductivity, apparent_stiffness
from sve.study.media import draw_medium, draw_polycrystal
from sve.study.spec import StudySpec

__all__ = [
    "STATUS",
    "realization_rng",
    "parent_rng",
    "generate_sve",
    "generate_parent",
    "window_count",
    "window_origin",
    "solve_batch",
    "failed_batch",
    "absent_batch",
]

#: Status codes of each (size, realization, bc) record, stored as int8. ``failed``:
#: the task raised (or its workers kept dying); the error text is in ``error``.
#: ``absent``: a record that is not sampled: in the window modes a window index beyond
#: the windows the parent holds at that size (:func:`window_count`); in an adaptive
#: study a realization beyond those its size needed (:func:`sve.study.store.adaptive_progress`).
#: No value, never solved, counts as finished.
STATUS = {"pending": 0, "ok": 1, "not_converged": 2, "failed": 3, "absent": 4}

#: The ``sampling`` coordinate of a mode "both" dataset (dimension after ``realization``).
SAMPLINGS = ("independent", "windows")

#: Second spawn-key word of the parent's stream: a realization index no study reaches,
#: so the parent never shares a stream with an independent realization.
PARENT_TAG = 2**63 - 1

#: Length of the stored error messages (fixed-width strings in the store).
ERROR_LENGTH = 200

SEEDING_SCHEME = (
    "numpy.random.SeedSequence(entropy=seed, spawn_key=(size_in_voxels, realization)) "
    "-> numpy.random.default_rng (PCG64)"
)
PARENT_SEEDING_SCHEME = (
    f"numpy.random.SeedSequence(entropy=seed, spawn_key=(parent_size, {PARENT_TAG})) "
    "-> numpy.random.default_rng (PCG64); windows tile the parent from its origin"
)


def realization_rng(seed: int, size: int, realization: int) -> np.random.Generator:
    """The random stream of one realization: a pure function of its identity.

    Keyed by the *size in voxels* (not its position in the list of sizes), so
    that adding, removing or reordering sizes or realizations leaves every
    existing realization bit-for-bit unchanged, whatever the worker or the
    order of execution.
    """
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(size, realization)))


def parent_rng(seed: int, parent_size: int) -> np.random.Generator:
    """The random stream of a study's parent (window modes): keyed by its edge only."""
    return np.random.default_rng(
        np.random.SeedSequence(seed, spawn_key=(int(parent_size), PARENT_TAG))
    )


@functools.lru_cache(maxsize=1)
def _parent(medium_json: str, seed: int, parent_size: int, spacing: float) -> np.ndarray:
    medium = json.loads(medium_json)
    phases = draw_medium(medium, parent_size, spacing, parent_rng(seed, parent_size))
    phases.flags.writeable = False  # shared by every task of this worker
    return phases


def generate_parent(spec: StudySpec) -> np.ndarray:
    """Phase labels (int8, read-only, shape ``(parent_size,) * ndim``) of the study's parent.

    One periodic realization of the medium, a pure function of the spec
    (seed, medium, parent size, spacing); the last one is cached per process.
    """
    if not spec.windows:
        raise ValueError(f"the study samples no windows (sampling.mode {spec.sampling_mode!r})")
    medium = json.dumps(spec.medium, sort_keys=True)
    return _parent(medium, spec.seed, spec.parent_size, spec.spacing)


def window_count(spec: StudySpec, size: int) -> int:
    """Windows of edge ``size`` the study uses: ``min(realizations, (parent // size)**d)``."""
    return min(spec.realizations, (spec.parent_size // size) ** spec.ndim)


def window_origin(spec: StudySpec, size: int, window: int) -> tuple[int, ...]:
    """Voxel index of the corner of window ``window`` (< :func:`window_count`) of ``size``.

    The parent holds ``c**d`` non-overlapping windows (``c = parent_size //
    size``, tiled from the origin, the remainder unused). When the study
    takes ``n < c**d`` of them it spreads them over the parent: window ``k``
    is tile number ``k * c**d // n`` in C order, so they are not all
    neighbours.
    """
    available = (spec.parent_size // size) ** spec.ndim
    n = window_count(spec, size)
    if not 0 <= window < n:
        raise ValueError(f"window must be in [0, {n}) at size {size}, got {window}")
    tile = window * available // n
    grid = np.unravel_index(tile, (spec.parent_size // size,) * spec.ndim)
    return tuple(int(g) * size for g in grid)


def generate_window(spec: StudySpec, size: int, window: int) -> np.ndarray:
    """Phase labels (int8, shape ``(size,) * ndim``) of one window of the parent (a copy)."""
    corner = window_origin(spec, size, window)
    region = tuple(slice(c, c + size) for c in corner)
    return np.array(generate_parent(spec)[region])


def generate_sve(
    spec: StudySpec, size: int, realization: int, sampling: str | None = None
) -> np.ndarray:
    """Phase labels (int8, shape ``(size,) * spec.ndim``) of one record's SVE.

    ``sampling`` is "independent" (a periodic realization of its own) or
    "windows" (window ``realization`` of the parent); by default the study's
    own kind: windows in mode "windows", independent otherwise.
    """
    if sampling is None:
        sampling = "windows" if spec.sampling_mode == "windows" else "independent"
    if sampling == "windows":
        return generate_window(spec, size, realization)
    if sampling != "independent":
        raise ValueError(f"sampling must be one of {SAMPLINGS}, got {sampling!r}")
    rng = realization_rng(spec.seed, size, realization)
    return draw_medium(spec.medium, size, spec.spacing, rng)


def _empty_batch(spec: StudySpec, n: int) -> dict[str, np.ndarray]:
    """Pending records of n realizations; mode "both" adds an axis of 2 after the first."""
    n_bc, m = len(spec.bc), spec.tensor_size
    k = (n, len(SAMPLINGS)) if spec.sampling_mode == "both" else (n,)
    accuracy = {"tensor_accuracy": np.full((*k, n_bc), np.nan)} if spec.stop == "tensor" else {}
    return {
        **accuracy,
        spec.variable: np.full((*k, n_bc, m, m), np.nan),
        "volume_fraction": np.full(k, np.nan),
        "iterations": np.zeros((*k, n_bc), np.int32),
        "residual": np.full((*k, n_bc), np.nan),
        "hill_mandel_defect": np.full((*k, n_bc), np.nan),
        "wall_time": np.full((*k, n_bc), np.nan),
        "error": np.full(k, "", dtype=f"<U{ERROR_LENGTH}"),
        "status": np.zeros((*k, n_bc), np.int8),
    }


def failed_batch(spec: StudySpec, realizations: range, error: BaseException) -> dict:
    """The records of a batch whose task failed: status ``failed`` and the error text."""
    out = _empty_batch(spec, len(realizations))
    out["error"][:] = f"{type(error).__name__}: {error}"[:ERROR_LENGTH]
    out["status"][:] = STATUS["failed"]
    return out


def absent_batch(spec: StudySpec, n: int) -> dict[str, np.ndarray]:
    """The records of n realizations that are not sampled: status ``absent``, no values."""
    out = _empty_batch(spec, n)
    out["status"][:] = STATUS["absent"]
    return out


def solve_batch(spec: StudySpec, size: int, realizations: range) -> dict[str, np.ndarray]:
    """Generate and solve a run of realizations at one size.

    Returns
    -------
    dict of ndarray
        ``conductivity`` (n, n_bc, d, d) or, for elasticity, ``stiffness``
        (n, n_bc, m, m) in Mandel notation (NaN normal-shear coupling under mixed
        conditions), ``volume_fraction`` (n,; NaN for the polycrystal),
        ``iterations``, ``residual``, ``hill_mandel_defect``, ``wall_time``
        (seconds) and ``status`` (see :data:`STATUS`), each (n, n_bc), and
        with ``solver.stop = "tensor"`` ``tensor_accuracy`` (n, n_bc);
        ``error`` (n,), empty strings. Mode "windows": realization k is
        window k of the parent, ``absent`` beyond :func:`window_count`. Mode
        "both": every array has an extra axis of length 2 after the first
        (``independent``, ``windows``: :data:`SAMPLINGS`).
    """
    out = _empty_batch(spec, len(realizations))
    if spec.sampling_mode == "both":
        for s, sampling in enumerate(SAMPLINGS):
            part = _solve(spec, size, realizations, sampling)
            for name, values in part.items():
                out[name][:, s] = values
        return out
    return _solve(spec, size, realizations, None)


def _solve(
    spec: StudySpec, size: int, realizations: range, sampling: str | None
) -> dict[str, np.ndarray]:
    out = _empty_batch(replace(spec, sampling_mode="independent"), len(realizations))
    windows = sampling == "windows" or (sampling is None and spec.sampling_mode == "windows")
    options = {"spacing": spec.spacing, "tol": spec.tol, "maxiter": spec.maxiter}
    if spec.property == "conductivity":
        solve, materials = apparent_conductivity, list(spec.phases)
        options.update(discretization=spec.discretization, stop=spec.stop)
    else:
        solve = apparent_stiffness
        materials = None if spec.polycrystal else spec.phase_stiffness()
    for a, realization in enumerate(realizations):
        if windows and realization >= window_count(spec, size):
            out["status"][a] = STATUS["absent"]
            continue
        if spec.polycrystal:  # grain ids, one rotated crystal per grain; no phase fraction
            rng = realization_rng(spec.seed, size, realization)
            crystal = draw_polycrystal(spec.medium, size, spec.spacing, rng)
            phases = crystal.grain_ids
            materials = rotate_tensor(spec.crystal_stiffness(), crystal.rotations)
        else:
            phases = generate_sve(spec, size, realization, sampling)
            out["volume_fraction"][a] = np.count_nonzero(phases == 1) / phases.size
        for b, bc in enumerate(spec.bc):
            start = time.perf_counter()
            result = solve(phases, materials, bc=bc, on_failure="flag", **options)
            out["wall_time"][a, b] = time.perf_counter() - start
            out[spec.variable][a, b] = result.tensor
            out["iterations"][a, b] = max(result.iterations)
            out["residual"][a, b] = result.residual
            out["hill_mandel_defect"][a, b] = result.hill_mandel_defect
            out["status"][a, b] = STATUS["ok" if result.converged else "not_converged"]
            if spec.stop == "tensor":
                out["tensor_accuracy"][a, b] = result.tensor_accuracy
    return out
