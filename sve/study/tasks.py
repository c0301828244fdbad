"""The pure functions a study runs on its workers.

A task is a function of plain arguments (the spec, a size, a run of
realization indices) that generates its SVEs inside the worker and returns
small arrays; it never touches the store and knows nothing of Dask.

The window modes' parent and its windows are :mod:`sve.study.windows`, the
random streams :mod:`sve.study.seeding`, the record layout and status codes
:mod:`sve.study.schema` (names re-exported here for existing callers).
"""

from __future__ import annotations

import contextlib
import time
import warnings
from collections.abc import Iterator

import numba
import numpy as np

from generators import rotate_tensor
from sve.microstructure import Microstructure
from sve.solvers import (
    UnresolvedThroatWarning,
    apparent_conductivity_batch,
    apparent_permeability,
    apparent_stiffness,
)
from sve.solvers.conductivity.batch import BATCH_LARGEST
from sve.study.media import draw_medium, draw_polycrystal
from sve.study.schema import ERROR_LENGTH, FIELD_MOMENTS, SAMPLINGS, STATUS
from sve.study.seeding import (
    PARENT_SEEDING_SCHEME,
    PARENT_TAG,
    SEEDING_SCHEME,
    parent_rng,
    realization_rng,
)
from sve.study.spec import StudySpec
from sve.study.windows import (
    generate_parent,
    generate_window,
    window_count,
    window_origin,
    window_sve,
)

__all__ = [
    "STATUS",
    "realization_rng",
    "parent_rng",
    "generate_sve",
    "generate_parent",
    "sve_microstructure",
    "window_count",
    "window_origin",
    "solve_batch",
    "failed_batch",
    "absent_batch",
    # defined in sve.study.schema, .seeding and .windows; importable from here too
    "ERROR_LENGTH",
    "PARENT_SEEDING_SCHEME",
    "PARENT_TAG",
    "SAMPLINGS",
    "SEEDING_SCHEME",
    "generate_window",
]


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


def sve_microstructure(
    spec: StudySpec, size: int, realization: int, sampling: str | None = None
) -> Microstructure:
    """One record's SVE as the microstructure the solver takes, with its provenance.

    Generated: the labels of :func:`generate_sve` with the study's spacing
    and provenance (generator, seed, size, realization; a window also its
    origin in the parent, :func:`sve.study.windows.window_sve`). An image
    study: the window read from the image, with its voxel size per axis.
    """
    if sampling is None:
        sampling = "windows" if spec.sampling_mode == "windows" else "independent"
    if sampling == "windows":
        sve = window_sve(spec, size, realization)
        if spec.image:
            return sve
        provenance = {**sve.provenance, "size": size, "realization": realization}
        return Microstructure(sve.labels, spacing=sve.spacing, provenance=provenance,
                              origin=sve.origin)  # fmt: skip
    labels = generate_sve(spec, size, realization, sampling)
    provenance = {
        "generator": spec.medium["generator"],
        "seed": spec.seed,
        "size": size,
        "realization": realization,
    }
    return Microstructure(labels, spacing=spec.spacing, provenance=provenance)


def _empty_batch(spec: StudySpec, n: int) -> dict[str, np.ndarray]:
    """Pending records of n realizations; mode "both" adds an axis of 2 after the first."""
    n_bc, m = len(spec.bc), spec.tensor_size
    k = (n, len(SAMPLINGS)) if spec.sampling_mode == "both" else (n,)
    accuracy = {"tensor_accuracy": np.full((*k, n_bc), np.nan)} if spec.stop == "tensor" else {}
    if spec.field_moments:  # (record, load_case, phase, ...): see sve.study.schema
        for name, (dims, _) in FIELD_MOMENTS[spec.property].items():
            shape = (*k, n_bc, m, 2) + (m,) * len(dims)
            accuracy[f"phase_{name}"] = np.full(shape, np.nan)
    if spec.conducting_phase is not None:
        accuracy["percolating"] = np.full((*k, n_bc, spec.ndim), -1, np.int8)
        accuracy["tortuosity"] = np.full((*k, n_bc, spec.ndim), np.nan)
    if spec.property == "permeability":
        accuracy["porosity"] = np.full(k, np.nan)
        accuracy["percolating"] = np.full((*k, n_bc, spec.ndim), -1, np.int8)
        accuracy["symmetry_defect"] = np.full((*k, n_bc), np.nan)
        accuracy["throat"] = np.full((*k, n_bc), np.nan)
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


def _worker_nthreads() -> int | None:
    """The threads of the Dask worker running the calling task; None outside a worker."""
    try:
        from distributed import get_worker

        worker = get_worker()
    except (ImportError, ValueError):  # not on a Dask worker
        return None
    state = getattr(worker, "state", worker)  # distributed >= 2022.11: the worker state
    return getattr(state, "nthreads", None)


@contextlib.contextmanager
def worker_threads() -> Iterator[None]:
    """Run the body with as many Numba threads as the Dask worker has (outside a worker:
    unchanged), restored after.

    A study's cluster runs one single-threaded worker per core (``sve.study.run``): a
    task there solves on one thread, as the solvers' threaded kernels
    (``sve.solvers._core.threads``) would otherwise put Numba's threads of every
    worker on every core. ``numba.set_num_threads`` holds for the calling thread
    only, the worker's thread that runs the task; the results are the same bits
    on any number of threads.
    """
    count = _worker_nthreads()
    if count is None:
        yield
        return
    previous = numba.get_num_threads()
    numba.set_num_threads(max(1, min(int(count), numba.config.NUMBA_NUM_THREADS)))
    try:
        yield
    finally:
        numba.set_num_threads(previous)


@worker_threads()  # Numba's threads: those of the Dask worker
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


def _memory_limit(spec: StudySpec) -> int | None:
    """Bytes a solve may use: ``solver.memory_limit``, else on a Dask worker its memory
    limit less what the worker holds, else None (the machine's available memory).
    """
    if spec.solver.memory_limit:
        return spec.solver.memory_limit
    try:
        from distributed import get_worker

        worker = get_worker()
    except (ImportError, ValueError):  # not on a Dask worker
        return None
    manager = getattr(worker, "memory_manager", worker)  # distributed >= 2021.11: the manager
    limit = getattr(manager, "memory_limit", None)
    if not limit:
        return None
    from sve.solvers._core.memory import resident_bytes

    return max(1, int(limit) - resident_bytes())


def _solve(
    spec: StudySpec, size: int, realizations: range, sampling: str | None
) -> dict[str, np.ndarray]:
    out = _empty_batch(spec.replace(sampling_mode="independent"), len(realizations))
    windows = sampling == "windows" or (sampling is None and spec.sampling_mode == "windows")
    options = {"tol": spec.tol, "maxiter": spec.maxiter}  # the SVE brings its voxel size
    options["memory_limit"] = _memory_limit(spec)
    if spec.property == "permeability":
        return _solve_flow(spec, size, realizations, sampling, windows, options, out)
    if spec.property == "conductivity":
        solve, materials = None, list(spec.phases)
        options.update(discretization=spec.discretization, stop=spec.stop)
        if spec.precision != "double":  # the default call stays the one before the option
            options["precision"] = spec.precision
    else:
        solve = apparent_stiffness
        materials = None if spec.polycrystal else spec.phase_stiffness()
    if spec.field_moments:
        options["fields"] = "summary"
    records, images = [], []  # the solved records and their SVEs
    for a, realization in enumerate(realizations):
        if windows and realization >= window_count(spec, size):
            out["status"][a] = STATUS["absent"]
            continue
        if spec.polycrystal:  # grain ids, one rotated crystal per grain; no phase fraction
            rng = realization_rng(spec.seed, size, realization)
            crystal = draw_polycrystal(spec.medium, size, spec.spacing, rng)
            provenance = {"generator": spec.medium["generator"], "seed": spec.seed,
                          "size": size, "realization": realization}  # fmt: skip
            phases = Microstructure(crystal.grain_ids, spacing=spec.spacing, provenance=provenance)
            materials = rotate_tensor(spec.crystal_stiffness(), crystal.rotations)
            for b, bc in enumerate(spec.bc):
                start = time.perf_counter()
                result = solve(phases, materials, bc=bc, on_failure="flag", **options)
                _record(spec, out, (a, b), result, time.perf_counter() - start)
            continue
        phases = sve_microstructure(spec, size, realization, sampling)
        labels = phases.labels
        out["volume_fraction"][a] = np.count_nonzero(labels == 1) / labels.size
        del labels
        if spec.property == "conductivity":  # solved together below, one call per condition
            records.append(a)
            images.append(phases)
            if phases.labels.size > BATCH_LARGEST:  # never batched: solve it now, drop it
                _solve_conductivity(spec, out, records, images, materials, options)
                records, images = [], []
            continue
        for b, bc in enumerate(spec.bc):
            start = time.perf_counter()
            result = solve(phases, materials, bc=bc, on_failure="flag", **options)
            _record(spec, out, (a, b), result, time.perf_counter() - start)
        del phases  # the next SVE is read without this one in memory
    if images:
        _solve_conductivity(spec, out, records, images, materials, options)
    return out


def _solve_conductivity(spec, out, records, images, materials, options) -> None:
    """Solve the conductivity SVEs `images` (records `records` of `out`), one call per
    condition.

    SVEs of one size share a shape: apparent_conductivity_batch solves their
    periodic load cases together (the same tensors as one at a time, bit for bit),
    and every other case one at a time; each record gets the batch's mean time.
    SVEs larger than ``BATCH_LARGEST`` voxels are never batched: `_solve` passes
    them one at a time, so that a task holds one large window's labels, not all
    of its batch's (:func:`sve.study.whole.window_task_estimate`).
    """
    for b, bc in enumerate(spec.bc):
        start = time.perf_counter()
        results = apparent_conductivity_batch(
            images, materials, bc=bc, on_failure="flag", **options
        )
        share = (time.perf_counter() - start) / len(images)
        for a, result in zip(records, results, strict=True):
            _record(spec, out, (a, b), result, share)


def _record(spec: StudySpec, out: dict, record: tuple, result, seconds: float) -> None:
    """Write one solve's result into `out` at `record` (realization, load case)."""
    out["wall_time"][record] = seconds
    out[spec.variable][record] = result.tensor
    out["iterations"][record] = max(result.iterations)
    out["residual"][record] = result.residual
    out["hill_mandel_defect"][record] = result.hill_mandel_defect
    out["status"][record] = STATUS["ok" if result.converged else "not_converged"]
    if spec.stop == "tensor":
        out["tensor_accuracy"][record] = result.tensor_accuracy
    if spec.conducting_phase is not None:
        _tortuosity(spec, out, record, result, out["volume_fraction"][record[0]])
    if spec.field_moments:
        _field_moments(spec, out, record, result.phase_moments)


def _field_moments(spec: StudySpec, out: dict, record: tuple, moments) -> None:
    """The per-phase field moments of one record, phase labels 0 and 1 in their slots
    (a phase absent from the SVE stays NaN; so do the load cases a static solve with
    voids leaves out).
    """
    cases = moments.loads.shape[0]
    for name in FIELD_MOMENTS[spec.property]:
        values = getattr(moments, name)
        for p, label in enumerate(moments.labels):
            out[f"phase_{name}"][record][:cases, int(label)] = values[:, p]


def flow_options(spec: StudySpec) -> dict:
    """The keyword arguments of :func:`sve.apparent_permeability` a permeability study
    passes to every solve (the SVE brings its voxel size; ``bc`` is the record's).
    """
    physics = spec.physics
    return {
        "pore_label": physics.pore_label,
        "viscosity": physics.viscosity,
        "walls": physics.walls,
        "reservoir": physics.reservoir,
        "tol": spec.tol,
        "maxiter": spec.maxiter,
    }


def _solve_flow(spec, size, realizations, sampling, windows, options, out) -> dict:
    """The records of a permeability study's batch (:func:`_solve`'s flow branch).

    An axis the pore space does not cross gets permeability 0 (its row and
    column; the solver's flag in ``percolating``), never NaN; an SVE without a
    pore voxel (possible in a small window) is all zero, not percolating, and
    counts as solved. An SVE without a solid voxel (whose permeability is
    infinite under periodic conditions: the solver refuses it) is recorded
    ``failed`` with the solver's message (larger SVEs avoid it), as is a solve
    that breaks down (``ArithmeticError``): the other records of the batch
    keep their values, and a rerun retries the failed ones.
    """
    options = {**flow_options(spec), "memory_limit": options["memory_limit"]}
    d = spec.ndim
    for a, realization in enumerate(realizations):
        if windows and realization >= window_count(spec, size):
            out["status"][a] = STATUS["absent"]
            continue
        phases = sve_microstructure(spec, size, realization, sampling)
        labels = phases.labels
        out["volume_fraction"][a] = np.count_nonzero(labels == 1) / labels.size
        pores = np.count_nonzero(labels == spec.pore_label)
        out["porosity"][a] = pores / labels.size
        for b, bc in enumerate(spec.bc):
            start = time.perf_counter()
            if pores < 2:  # nothing to flow through: k = 0, not a solver's business
                tensor = np.zeros((d, d)) if bc == "periodic" else _mixed_zero(d)
                out[spec.variable][a, b] = tensor
                out["percolating"][a, b] = 0
                out["iterations"][a, b] = 0
                out["residual"][a, b] = 0.0
                out["hill_mandel_defect"][a, b] = 0.0
                out["status"][a, b] = STATUS["ok"]
                out["wall_time"][a, b] = time.perf_counter() - start
                continue
            try:
                with warnings.catch_warnings():  # the throat is stored (``throat``) instead
                    warnings.simplefilter("ignore", UnresolvedThroatWarning)
                    result = apparent_permeability(phases, bc=bc, on_failure="flag", **options)
            except (ValueError, ArithmeticError) as err:  # e.g. no solid voxel: no finite k
                out["status"][a, b] = STATUS["failed"]
                out["error"][a] = f"{type(err).__name__}: {err}"[:ERROR_LENGTH]
                continue
            out["wall_time"][a, b] = time.perf_counter() - start
            flags = np.array(result.percolating, dtype=bool)
            tensor = np.array(result.tensor, dtype=np.float64)
            # an axis without a path carries no flux: 0 (the solver's value), never NaN
            closed = ~flags
            tensor[closed, :] = np.where(np.isnan(tensor[closed, :]), tensor[closed, :], 0.0)
            tensor[:, closed] = np.where(np.isnan(tensor[:, closed]), tensor[:, closed], 0.0)
            diagonal = np.arange(d)
            tensor[diagonal[closed], diagonal[closed]] = 0.0
            out[spec.variable][a, b] = tensor
            out["percolating"][a, b] = flags
            out["iterations"][a, b] = max(result.iterations, default=0)
            out["residual"][a, b] = result.residual
            out["hill_mandel_defect"][a, b] = result.hill_mandel_defect
            out["symmetry_defect"][a, b] = result.symmetry_defect
            out["throat"][a, b] = result.throat
            out["status"][a, b] = STATUS["ok" if result.converged else "not_converged"]
    return out


def _mixed_zero(d: int) -> np.ndarray:
    """The tensor of an SVE without pores under mixed conditions: 0 on the diagonal,
    NaN off it (mixed conditions give directional values only).
    """
    tensor = np.full((d, d), np.nan)
    np.fill_diagonal(tensor, 0.0)
    return tensor


def _tortuosity(spec: StudySpec, out: dict, record: tuple, result, fraction: float) -> None:
    """Percolation flags and TauFactor's tau = phi D0 / D_eff per axis of one record.

    phi is the window's conducting fraction, D0 the conducting phase's
    conductivity, D_eff the apparent diagonal value along the axis; NaN
    where the window does not percolate along it (no path: zero
    conductivity, :func:`sve.study.percolation.percolation_summary`).
    """
    phase = spec.conducting_phase
    phi = fraction if phase == 1 else 1 - fraction
    flags = np.array(result.percolating, dtype=bool)
    diagonal = np.diagonal(result.tensor)
    out["percolating"][record] = flags
    with np.errstate(divide="ignore", invalid="ignore"):
        tau = phi * spec.phases[phase] / diagonal
    out["tortuosity"][record] = np.where(flags & (diagonal > 0), tau, np.nan)
