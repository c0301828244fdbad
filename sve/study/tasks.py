"""The pure functions a study runs on its workers.

A task is a function of plain arguments (the spec, a size, a run of
realization indices) that generates its SVEs inside the worker and returns
small arrays; it never touches the store and knows nothing of Dask.
"""

from __future__ import annotations

import time

import numpy as np

from sve.solvers import apparent_conductivity, apparent_stiffness
from sve.study.media import draw_medium
from sve.study.spec import StudySpec

__all__ = ["STATUS", "realization_rng", "generate_sve", "solve_batch", "failed_batch"]

#: Status codes of each (size, realization, bc) record, stored as int8. ``failed``:
#: the task raised (or its workers kept dying); the error text is in ``error``.
STATUS = {"pending": 0, "ok": 1, "not_converged": 2, "failed": 3}

#: Length of the stored error messages (fixed-width strings in the store).
ERROR_LENGTH = 200

SEEDING_SCHEME = (
    "numpy.random.SeedSequence(entropy=seed, spawn_key=(size_in_voxels, realization)) "
    "-> numpy.random.default_rng (PCG64)"
)


def realization_rng(seed: int, size: int, realization: int) -> np.random.Generator:
    """The random stream of one realization: a pure function of its identity.

    Keyed by the *size in voxels* (not its position in the list of sizes), so
    that adding, removing or reordering sizes or realizations leaves every
    existing realization bit-for-bit unchanged, whatever the worker or the
    order of execution.
    """
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(size, realization)))


def generate_sve(spec: StudySpec, size: int, realization: int) -> np.ndarray:
    """Phase labels (int8, shape ``(size,) * spec.ndim``) of one realization."""
    rng = realization_rng(spec.seed, size, realization)
    return draw_medium(spec.medium, size, spec.spacing, rng)


def _empty_batch(spec: StudySpec, n: int) -> dict[str, np.ndarray]:
    n_bc, m = len(spec.bc), spec.tensor_size
    return {
        spec.variable: np.full((n, n_bc, m, m), np.nan),
        "volume_fraction": np.full(n, np.nan),
        "iterations": np.zeros((n, n_bc), np.int32),
        "residual": np.full((n, n_bc), np.nan),
        "hill_mandel_defect": np.full((n, n_bc), np.nan),
        "wall_time": np.full((n, n_bc), np.nan),
        "error": np.full(n, "", dtype=f"<U{ERROR_LENGTH}"),
        "status": np.zeros((n, n_bc), np.int8),
    }


def failed_batch(spec: StudySpec, realizations: range, error: BaseException) -> dict:
    """The records of a batch whose task failed: status ``failed`` and the error text."""
    out = _empty_batch(spec, len(realizations))
    out["error"][:] = f"{type(error).__name__}: {error}"[:ERROR_LENGTH]
    out["status"][:] = STATUS["failed"]
    return out


def solve_batch(spec: StudySpec, size: int, realizations: range) -> dict[str, np.ndarray]:
    """Generate and solve a run of realizations at one size.

    Returns
    -------
    dict of ndarray
        ``conductivity`` (n, n_bc, d, d) or, for elasticity, ``stiffness``
        (n, n_bc, m, m) in Mandel notation (NaN shear entries under mixed
        conditions), ``volume_fraction`` (n,),
        ``iterations``, ``residual``, ``hill_mandel_defect``, ``wall_time``
        (seconds) and ``status`` (see :data:`STATUS`), each (n, n_bc);
        ``error`` (n,), empty strings.
    """
    out = _empty_batch(spec, len(realizations))
    options = {"spacing": spec.spacing, "tol": spec.tol, "maxiter": spec.maxiter}
    if spec.property == "conductivity":
        solve, materials = apparent_conductivity, list(spec.phases)
        options["discretization"] = spec.discretization
    else:
        solve, materials = apparent_stiffness, spec.phase_stiffness()
    for a, realization in enumerate(realizations):
        phases = generate_sve(spec, size, realization)
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
    return out
