"""The whole image of an image windows study: solved if it fits, else extrapolated.

A windows study of a measured image (:mod:`sve.study.image`) answers "what
is the property at the image's size". The whole image is solved, once per
boundary condition, by one task on a worker, when the memory model of the
task (:func:`whole_image_estimate`: :func:`sve.solvers.memory_estimate` with
the study's property, boundary conditions, discretization, voxel size, voids
and contrast, plus the image's labels, which the task holds while it solves)
admits it within that worker's budget: ``solver.memory_limit`` if the spec sets
one, else the worker's Dask memory limit less what it holds, else the
memory available on the machine (:func:`sve.study.tasks._memory_limit`).
Otherwise nothing is solved, and the report's value at the image's size is the mean of the
windows of the largest size, with the spread of the fitted variance law at
the image's volume: an extrapolation, flagged as such. A window task's
estimate is :func:`window_task_estimate` (measured against both:
``benchmarks/bench_image_study.py``, ``tests/sve/study/test_task_memory.py``).

The outcome is the study dataset's attribute :data:`WHOLE_IMAGE_ATTR`
(JSON, written to the store; a resumed study does not solve it again):

- ``mode``: ``"solved"`` or ``"extrapolated"``;
- ``estimate_bytes``: the memory model's peak for the whole image (the
  largest over the boundary conditions), ``budget_source``: what it was
  held to;
- ``reason``: why it was extrapolated (empty when solved);
- solved: ``bc`` (the study's), ``tensor`` (one apparent tensor per bc, as the
  study's variable: conductivity ``d x d``, stiffness ``m x m`` Mandel),
  ``converged``, ``iterations``, ``residual`` per bc, and
  ``volume_fraction`` of phase 1.

What depends on the machine and not on the inputs, the budget in bytes
(``budget_bytes``, null where none is known: then it is solved) and the
solves' ``wall_time`` (seconds per bc), is the attribute
:data:`WHOLE_IMAGE_BUDGET_ATTR`, so that the results stay identical across
worker counts (provenance, like ``attrs["runs"]``).
"""

from __future__ import annotations

import json
import math
import time
import warnings
from typing import Any

import numpy as np

from sve.microstructure import Microstructure
from sve.solvers import (
    UnresolvedThroatWarning,
    apparent_conductivity,
    apparent_permeability,
    apparent_stiffness,
)
from sve.solvers._core.memory import (
    MemoryBudgetError,
    MemoryEstimate,
    memory_limit_bytes,
)
from sve.solvers.conductivity.batch import BATCH_LARGEST
from sve.study.estimates import case_estimate
from sve.study.image import read_window, with_labels
from sve.study.spec import StudySpec
from sve.study.tasks import _memory_limit, flow_options, worker_threads
from sve.study.windows import window_count

__all__ = [
    "WHOLE_IMAGE_ATTR",
    "WHOLE_IMAGE_BUDGET_ATTR",
    "WHOLE_IMAGE_MODES",
    "solve_estimate",
    "solve_whole_image",
    "whole_image_estimate",
    "window_task_estimate",
]

#: The study dataset's attribute holding the whole image's outcome (JSON).
WHOLE_IMAGE_ATTR = "whole_image"
#: The attribute of its machine-dependent part: the budget in bytes and the solves' times.
WHOLE_IMAGE_BUDGET_ATTR = "whole_image_budget"
#: Values of its ``mode``.
WHOLE_IMAGE_MODES = ("solved", "extrapolated")


def solve_estimate(spec: StudySpec, shape: tuple[int, ...]) -> MemoryEstimate:
    """The memory model's estimate of one solve of `shape` in the study (the largest over
    its boundary conditions), without the labels the task holds: the study's property,
    discretization, voxel size, voids and contrast (or tensors).
    """
    return case_estimate(
        shape,
        spec.property,
        spec.bc,
        discretization=spec.discretization,
        phases=spec.phases,
        precision=spec.precision,
        spacing=spec.voxel_size,
    )


def whole_image_estimate(spec: StudySpec) -> int:
    """Bytes the memory model gives for the whole-image task (largest over the bcs): the
    solve (:func:`solve_estimate`) plus the image's labels, which the task reads and holds
    while it solves (:func:`sve.study.image.with_labels`).
    """
    if not spec.image:
        raise ValueError("the study has no image (medium.image)")
    return with_labels(solve_estimate(spec, tuple(spec.medium["image_shape"]))).bytes


def window_task_estimate(spec: StudySpec, size: int) -> int:
    """Bytes the memory model gives for a task solving windows of edge `size` of an image
    study: one window's solve (:func:`solve_estimate`) plus the labels of the windows the
    task holds while it solves: one, where windows of more than ``BATCH_LARGEST`` voxels
    are solved one at a time (every property but conductivity, and conductivity windows
    above ``64**3`` voxels), else the batch's (``spec.task_batch(size)`` windows at most).

    A worker's peak is its resident memory before its tasks plus the largest of its tasks'
    estimates (``benchmarks/bench_image_study.py`` measures both). Not counted: the
    batched periodic solves of small conductivity windows (at most ``BATCH_LARGEST``
    voxels each), whose lock-step vectors are bounded by ``BATCH_NODES``
    (:mod:`sve.solvers.conductivity.batch`).
    """
    if not spec.image:
        raise ValueError("the study has no image (medium.image)")
    shape = spec.window_shape(size)
    held = 1
    if spec.property == "conductivity" and math.prod(shape) <= BATCH_LARGEST:
        held = min(spec.task_batch(size), window_count(spec, size))
    return with_labels(solve_estimate(spec, shape), held).bytes


def _extrapolated(estimate: int, limit: int | None, source: str, reason: str) -> dict:
    return {
        "mode": "extrapolated",
        "estimate_bytes": int(estimate),
        "budget_source": source,
        "reason": reason,
        "budget_bytes": None if limit is None else int(limit),
        "wall_time": [],
    }


@worker_threads()  # Numba's threads: those of the Dask worker
def solve_whole_image(spec: StudySpec) -> dict[str, Any]:
    """Solve the whole image of an image study if its memory estimate fits (a worker task).

    Returns
    -------
    dict
        The outcome, JSON-ready (module docstring), with ``budget_bytes`` and
        ``wall_time`` (the machine-dependent part the runner stores apart).
    """
    estimate = whole_image_estimate(spec)
    shape = tuple(spec.medium["image_shape"])
    limit = _memory_limit(spec)
    source = "solver.memory_limit" if spec.solver.memory_limit else "the worker's memory limit"
    if limit is None:
        limit, source = memory_limit_bytes(None)
    if limit is not None and estimate > limit:
        return _extrapolated(
            estimate, limit, source,
            f"the whole image ({'x'.join(map(str, shape))} voxels) needs about "
            f"{estimate / 2**20:.1f} MiB by the memory model, over the memory budget "
            f"({source})",
        )  # fmt: skip
    labels = read_window(spec.medium, (0,) * len(shape), shape)
    provenance = {"image": spec.medium["image"], "sha256": spec.medium["sha256"], "whole": True}
    phases = Microstructure(
        labels, spacing=spec.voxel_size, unit=spec.medium["unit"], provenance=provenance
    )
    options: dict[str, Any] = {"tol": spec.tol, "maxiter": spec.maxiter, "memory_limit": limit}
    if spec.property == "permeability":
        options = {**flow_options(spec), "memory_limit": limit}

        def solve(phases, materials, **kwargs):  # the throat is stored per window instead
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UnresolvedThroatWarning)
                return apparent_permeability(phases, **kwargs)

        materials = None
    elif spec.property == "conductivity":
        solve, materials = apparent_conductivity, list(spec.phases)
        options.update(discretization=spec.discretization, stop=spec.stop)
        if spec.precision != "double":
            options["precision"] = spec.precision
    else:
        solve, materials = apparent_stiffness, spec.phase_stiffness()
    out: dict[str, Any] = {
        "mode": "solved",
        "estimate_bytes": int(estimate),
        "budget_bytes": None if limit is None else int(limit),
        "budget_source": source,
        "reason": "",
        "bc": list(spec.bc),
        "tensor": [],
        "converged": [],
        "iterations": [],
        "residual": [],
        "wall_time": [],
        "volume_fraction": float(np.count_nonzero(labels == 1) / labels.size),
    }
    for bc in spec.bc:
        start = time.perf_counter()
        try:
            result = solve(phases, materials, bc=bc, on_failure="flag", **options)
        except MemoryBudgetError:  # the solver's own check, after "auto" is resolved
            return _extrapolated(
                estimate, limit, source,
                f"the solver's own memory check refused the whole image ({source})",
            )  # fmt: skip
        out["wall_time"].append(time.perf_counter() - start)
        out["tensor"].append(np.asarray(result.tensor, dtype=float).tolist())
        out["converged"].append(bool(result.converged))
        out["iterations"].append(int(max(result.iterations, default=0)))
        out["residual"].append(float(result.residual))
    return json.loads(json.dumps(out))  # plain JSON types (NaN of mixed-bc couplings kept)
