"""Apparent conductivities of many images in one call (the throughput path).

`apparent_conductivity_batch` runs `apparent_conductivity` on every image, and solves
the periodic Q1 load cases of scalar images without voids, preconditioned by the
transforms, of all the images of one shape together: one batched conjugate gradient
(``_core/pcg_batch.py``) with the Q1 operator applied image by image in one kernel call
and the transforms of every system in one call. Each system runs the iteration it runs
alone, so every result equals that of `apparent_conductivity`, tensor bit for bit.
Both stopping rules are batched (``stop="tensor"``: each system runs the estimate of
``pcg.pcg_energy`` on its own decreases). Other cases (other conditions, multigrid,
tensors, voids, fields, 3-D images of ``BATCH_3D_BELOW`` voxels or more) are solved one
image at a time, as `apparent_conductivity` solves them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.fft
from numpy.typing import ArrayLike

from sve.solvers._core.pcg_batch import pcg_batch
from sve.solvers._core.pcg_kernels import dot
from sve.solvers._core.transforms import _pseudo_inverse, fft_workers, symbol
from sve.solvers.conductivity.apparent import _steps
from sve.solvers.conductivity.cell_problem import (
    _ROUND_OFF_ENERGY,
    Solution,
    _cross_terms,
    kept_force,
    solve_cell,
)
from sve.solvers.conductivity.fv import Phases
from sve.solvers.conductivity.q1 import Q1Grid
from sve.solvers.conductivity.q1_batch_kernels import (
    nodal_flux_columns_2d,
    nodal_flux_columns_3d,
)
from sve.solvers.result import ConductivityResult

__all__ = ["apparent_conductivity_batch"]

#: Largest image (nodes) solved in a batch: beyond it the interpreter's share of an
#: iteration is small, and a batch holds 5 fields per load case against d + 3 alone.
BATCH_LARGEST = 64**3
#: 3-D images of at least this many voxels are solved one at a time, though batchable
#: and held by a study task as a batch. At 32**3 (the 16 SVEs of the throughput
#: benchmark, 4 alternated rounds, load 7 to 9) one image at a time took 0.93 to 0.99
#: times the CPU time of the batch under the residual rule and 0.77 to 0.79 under the
#: tensor rule in direct calls, 0.95 to 1.01 and 0.81 to 1.02 in the study task: the
#: batch's fields (12.6 MB each for 48 systems) leave the caches one image's stay in.
BATCH_3D_BELOW = 32**3
#: Largest number of systems (images times load cases) in one lock-step batch, and of
#: their nodes together (5 float64 fields of that many nodes, 168 MB, bound the batch's
#: memory beyond that of one solve); a larger group is cut in batches.
BATCH_SYSTEMS = 256
BATCH_NODES = 2**22
#: The same bound on 2-D batches, lower: 32 systems of 64**2 nodes (1 MB per float64
#: field, the L2 cache of a core here). The 64**2 study task took 0.88 and 0.92 times
#: (medians of 10 and 8 alternated rounds) the CPU time per tensor of 128-system batches
#: with the former operator; caps of 16, 64 or 128 systems 1.16 to 1.17 times that of 32
#: (issue 18, docs/solver_notes.rst "2-D, 64²").
BATCH_NODES_2D = 2**17
#: Fewest columns (systems) of the lock-step arrays, per dimension: the 3-D operator is a
#: vector loop from 32 columns on (2.4 times faster per system than one at a time), so a
#: smaller 3-D batch is padded with frozen columns (zero loads); 2-D batches are not
#: padded (the 2-D operator from 24 columns on takes 0.6 times its time per system on
#: 16, but a frozen column costs the transforms and the vector operations as well).
COLUMNS = {2: 1, 3: 32}


def apparent_conductivity_batch(
    phases: Sequence[ArrayLike],
    conductivity: Sequence[float] | ArrayLike,
    *,
    bc: str = "periodic",
    spacing: float | tuple[float, ...] | None = None,
    tol: float = 1e-6,
    maxiter: int = 1000,
    on_failure: str = "raise",
    discretization: str = "q1",
    preconditioner: str = "auto",
    stop: str = "residual",
    memory_limit: int | str | None = None,
    fields: bool | str = False,
    precision: str = "double",
) -> list[ConductivityResult]:
    """Compute the apparent conductivity tensors of several voxel images.

    The same as ``[apparent_conductivity(p, conductivity, ...) for p in phases]``, result
    for result (the tensors bit for bit), but the periodic load cases of Q1 images of one
    shape (2-D, or 3-D of fewer than 32**3 voxels) with scalar conductivities, no voids,
    the transform preconditioner and either stopping rule are solved together (see the
    module notes; what a batch saves is measured by ``benchmarks/bench_throughput.py``
    and reported in the solver notes of the docs). Other cases are solved one at a time.

    Parameters
    ----------
    phases : sequence of array_like or Microstructure
        The images, each as `apparent_conductivity` takes it; they may differ in shape.
    conductivity : sequence of float, or ndarray
        One value (or tensor) per phase label, for every image (or one array of the shape
        of every image, if they share it).
    bc, spacing, tol, maxiter, on_failure
        As in `apparent_conductivity`, for every image.
    discretization, preconditioner, stop, memory_limit, fields, precision
        As in `apparent_conductivity`, for every image; ``preconditioner="auto"`` decides
        per image, as there. Single-precision solves are never batched.

    Returns
    -------
    list of ConductivityResult
        One per image, in order. ``wall_time`` is the time from the image's preparation
        to its result, the batch solve included.

    Raises
    ------
    TypeError, ValueError, NotImplementedError, MemoryBudgetError
        As `apparent_conductivity`, for the first image that fails; nothing is solved
        then.
    ConvergenceError
        If a load case does not converge and ``on_failure="raise"`` (the first such
        image).

    See Also
    --------
    apparent_conductivity : one image, and the meaning of every argument.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> images = [rng.integers(0, 2, (16, 16)) for _ in range(3)]
    >>> results = apparent_conductivity_batch(images, [1.0, 10.0])
    >>> from sve.solvers import apparent_conductivity
    >>> single = apparent_conductivity(images[1], [1.0, 10.0])
    >>> bool(np.array_equal(results[1].tensor, single.tensor))
    True
    """
    if isinstance(phases, np.ndarray) or not isinstance(phases, Sequence):
        raise TypeError(
            "phases must be a sequence (list or tuple) of images, got "
            f"{type(phases).__name__}; use apparent_conductivity for one image"
        )
    options = dict(
        bc=bc,
        spacing=spacing,
        tol=tol,
        maxiter=maxiter,
        on_failure=on_failure,
        discretization=discretization,
        preconditioner=preconditioner,
        stop=stop,
        memory_limit=memory_limit,
        fields=fields,
        precision=precision,
    )
    steps = [_steps(image, conductivity, **options) for image in phases]
    requests = [next(step) for step in steps]  # every image validated before any solve
    solutions = solve_cells(requests)
    results = []
    for step, solution in zip(steps, solutions, strict=True):
        try:
            step.send(solution)
        except StopIteration as finished:
            results.append(finished.value)
    return results


def batchable(request: dict) -> bool:
    """Whether the ``solve_cell`` arguments `request` take the batched path."""
    return (
        request["bc"] == "periodic"
        and request["discretization"] == "q1"
        and request["tensors"] is None
        and not request["use_multigrid"]
        and request["stop"] in ("residual", "tensor")
        and request["precision"] == "double"
        and request["collector"] is None
        and request["k"].size <= BATCH_LARGEST
        and (request["k"].ndim == 2 or request["k"].size < BATCH_3D_BELOW)
        and float(request["k"].min()) > 0.0  # an array, or Phases (labels and table)
    )


def _field(k) -> np.ndarray:
    """The float64 conductivity field of `k` (an array, or Phases: ``table[labels]``)."""
    return k.table[k.labels] if isinstance(k, Phases) else k


def solve_cells(requests: list[dict]) -> list[Solution]:
    """``[solve_cell(**r) for r in requests]``, the batchable ones solved by groups of one
    shape, spacing, tolerance and iteration limit (at most `BATCH_SYSTEMS` systems and
    `BATCH_NODES` nodes each, `BATCH_NODES_2D` in 2-D).
    """
    solutions: list[Solution | None] = [None] * len(requests)
    groups: dict[tuple, list[int]] = {}
    for index, request in enumerate(requests):
        if batchable(request):
            key = (
                request["k"].shape,
                request["spacing"].tobytes(),
                request["tol"],
                request["maxiter"],
                request["stop"],
            )
            groups.setdefault(key, []).append(index)
        else:
            solutions[index] = solve_cell(**request)
    for members in groups.values():
        k = requests[members[0]]["k"]
        nodes = BATCH_NODES_2D if k.ndim == 2 else BATCH_NODES
        size = max(1, min(BATCH_SYSTEMS, nodes // k.size) // k.ndim)  # images
        for first in range(0, len(members), size):
            part = members[first : first + size]
            solved = _periodic_batch([requests[i] for i in part])
            for index, solution in zip(part, solved, strict=True):
                solutions[index] = solution
    return solutions


def _periodic_batch(requests: list[dict]) -> list[Solution]:
    """The periodic Q1 solutions of images of one shape without voids (``cell_problem._affine``
    with ``bc="periodic"`` and the transform preconditioner, either stopping rule), together.
    """
    first = requests[0]
    k = np.stack([_field(request["k"]) for request in requests])  # small images
    images, shape = len(requests), k.shape[1:]
    ndim = len(shape)
    spacing, tol, maxiter = first["spacing"], first["tol"], first["maxiter"]
    energy_rule = first["stop"] == "tensor"
    grids = [Q1Grid(request["k"], ("periodic",) * ndim, spacing) for request in requests]
    volume = grids[0].volume
    systems = images * ndim
    image = np.repeat(np.arange(images), ndim).astype(np.int64)  # system s: image s // d
    # loads: b = -A (e_j . x), as cell_problem._affine makes them
    b = np.empty((systems,) + shape)
    zero = np.zeros(shape)
    for s in range(systems):
        grids[s // ndim].flux(zero, np.eye(ndim)[s % ndim], b[s])
        np.negative(b[s], out=b[s])
    floor = np.array([_ROUND_OFF_ENERGY * float(grids[i].k.mean()) * volume for i in image])
    # stop="tensor": V E . K E of the affine field, from which a CG iterate's energy is taken
    affine = np.array(
        [volume * float(grids[s // ndim].mean_flux(zero, np.eye(ndim)[s % ndim])[s % ndim])
         for s in range(systems)]
    )  # fmt: skip
    # the transform preconditioner of each image (transforms.preconditioner, float32)
    full = symbol("q1", ("periodic",) * ndim, shape, spacing)[..., : shape[-1] // 2 + 1]
    inverse = np.stack(
        [_pseudo_inverse(float(grid.k.mean()) * full).astype(np.float32) for grid in grids]
    )  # per image
    # the columns: system s in column s, then zero loads (frozen) up to COLUMNS[ndim]
    width = max(systems, COLUMNS[ndim])
    image = np.concatenate([image, np.zeros(width - systems, np.int64)])
    loads = np.zeros(shape + (width,))
    loads[..., :systems] = np.moveaxis(b, 0, -1)
    floor = np.concatenate([floor, np.zeros(width - systems)])
    affine = np.concatenate([affine, np.zeros(width - systems)])
    by_image = np.ascontiguousarray(np.moveaxis(k, 0, -1))  # (nodes..., images)
    inverse_by_image = np.ascontiguousarray(np.moveaxis(inverse, 0, -1))
    axes = tuple(range(ndim))
    workers = fft_workers(int(np.prod(shape)))
    modes = grids[0]._modes
    carry = np.empty((4, width))
    packed = {}  # the coefficients of the current columns (pcg_batch packs them)

    def coefficients(columns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if packed.get("columns") is not columns:
            packed.update(
                columns=columns,
                k=np.ascontiguousarray(by_image[..., image[columns]]),
                inverse=np.ascontiguousarray(inverse_by_image[..., image[columns]]),
            )
        return packed["k"], packed["inverse"]

    def apply_operator(columns: np.ndarray, p: np.ndarray, out: np.ndarray) -> None:
        conductivity, _ = coefficients(columns)
        fields = shape + (columns.size,)
        if ndim == 2:
            nodal_flux_columns_2d(p.reshape(fields), conductivity, modes, out.reshape(fields))
        else:
            nodal_flux_columns_3d(p.reshape(fields), conductivity, modes, out.reshape(fields),
                                  carry[:, : columns.size])  # fmt: skip

    def precondition(columns: np.ndarray, staged: np.ndarray) -> np.ndarray:
        _, spectral = coefficients(columns)
        fields = shape + (columns.size,)
        spectrum = scipy.fft.rfftn(
            staged.reshape(fields), axes=axes, workers=workers, overwrite_x=True
        )
        np.multiply(spectrum, spectral, out=spectrum)
        result = scipy.fft.irfftn(spectrum, s=shape, axes=axes, workers=workers, overwrite_x=True)
        return result.reshape(staged.shape)

    x = np.empty((width, int(np.prod(shape))))
    iterations, residuals, errors = pcg_batch(
        apply_operator,
        precondition,
        loads.reshape(-1, width),
        x,
        tol=tol,
        maxiter=maxiter,
        floor=floor,
        width=COLUMNS[ndim],
        energy=affine if energy_rule else None,
    )
    solutions = []
    force = np.empty(shape)
    spare = np.empty(shape, dtype=np.float32)  # the kept forces widened (``_cross_terms``)
    for i, grid in enumerate(grids):
        us = [x[i * ndim + j].reshape(shape) for j in range(ndim)]
        tensor = np.zeros((ndim, ndim))
        means = []
        for j in range(ndim):  # <k grad (u + e_j . x)> and <k grad u> in one pass
            tensor[:, j], mean = grid.mean_fluxes(us[j], np.eye(ndim)[j])
            means.append(mean)
        gap = np.zeros((ndim, ndim))
        forces = {}
        for j in range(ndim):  # the Hill-Mandel gap, as in cell_problem._affine
            grid.flux(us[j], np.eye(ndim)[j], force)
            gap[j, j] = dot(us[j].reshape(-1), force.reshape(-1)) / volume
            _cross_terms(gap, j, us[j], means[j], forces, volume, spare)
            if j < ndim - 1:  # the last case's force is used by no later case
                forces[j] = (kept_force(force, tensor=energy_rule), forces[j][1])
        if energy_rule:  # the energy form <q_j . g_i> = <q_j> . e_i + gap[i, j]
            tensor += gap
        scale = np.linalg.norm(np.nan_to_num(tensor))
        defect = float(np.linalg.norm(gap) / scale) if scale > 0 else 0.0
        cases = slice(i * ndim, (i + 1) * ndim)
        tensor_error = np.nan
        if energy_rule:  # as cell_problem._affine: the bound on every entry
            tensor_error = max(errors[i * ndim + j] * tensor[j, j] for j in range(ndim))
        solutions.append(
            Solution(
                tensor,
                [int(n) for n in iterations[cases]],
                [float(v) for v in residuals[cases]],
                defect,
                (True,) * ndim,
                [],
                [float(e) for e in errors[cases]],
                float(tensor_error),
            )
        )
    return solutions
