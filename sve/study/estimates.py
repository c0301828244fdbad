"""Memory estimates of a study's solves, from the study's fields (one place for the
validation of ``solver.memory_limit`` and for the tasks of :mod:`sve.study.whole`).
"""

from __future__ import annotations

from typing import Any

from sve.solvers import permeability_memory_estimate
from sve.solvers._core.memory import MemoryEstimate, memory_estimate


def case_estimate(
    shape: tuple[int, ...],
    prop: str,
    bcs: Any,
    *,
    discretization: str = "q1",
    phases: Any = (),
    precision: str = "double",
    spacing: Any = None,
) -> MemoryEstimate:
    """The memory model's estimate of one solve of `shape` (the largest over the
    boundary conditions `bcs`), from a study's fields: its property `prop`; for
    conductivity the discretization, the precision, and the voids and contrast of scalar
    `phases` as ``"auto"`` sees them (tensors otherwise); the voxel edges `spacing`
    (box voxels change ``"auto"``).

    Used by :func:`sve.study.whole.solve_estimate` and by the validation of
    ``solver.memory_limit`` (which runs before there is a
    :class:`~sve.study.spec.StudySpec`).
    """
    shape = tuple(int(n) for n in shape)
    if prop == "permeability":  # the Stokes solver's own model (MAC grid, MINRES)
        estimates = [permeability_memory_estimate(shape, bc=bc) for bc in bcs]
        return max(estimates, key=lambda e: e.bytes)
    case: dict[str, Any] = {}
    if prop == "conductivity":
        case["discretization"] = discretization
        case["precision"] = precision
        values = [float(v) for v in phases if isinstance(v, int | float)]
        if len(values) == len(phases):  # scalars: contrast and voids, as "auto" sees them
            case.update(voids=min(values) <= 0.0, contrast=max(values) / max(min(values), 1e-300))
        else:
            case["tensors"] = True
    estimates = [
        memory_estimate(shape, property=prop, bc=bc, spacing=spacing, **case) for bc in bcs
    ]
    return max(estimates, key=lambda e: e.bytes)
