"""Conductivity cell problems: apparent conductivity (thermal, electrical, diffusive).

The public surface is `apparent_conductivity`, `apparent_conductivity_batch` (many
images, the small periodic ones solved together) and `IMPLEMENTED_BCS`, and the
boundary-value solver of a whole part, `solve_conductivity_bvp` (``boundary_value``); the modules
beside it hold its cell problem (``cell_problem``), its two discretizations
(``q1*``: Q1 voxel finite elements; ``fv*``: cell-centred finite volumes) and
their multigrid preconditioners (``*_multigrid``), each with its Numba kernels
(``*_kernels``).
"""

from sve.solvers.conductivity.apparent import IMPLEMENTED_BCS, apparent_conductivity
from sve.solvers.conductivity.batch import apparent_conductivity_batch
from sve.solvers.conductivity.boundary_value import (
    BoundaryValueResult,
    element_gradients,
    face_names,
    solve_conductivity_bvp,
)

__all__ = [
    "IMPLEMENTED_BCS",
    "BoundaryValueResult",
    "apparent_conductivity",
    "apparent_conductivity_batch",
    "element_gradients",
    "face_names",
    "solve_conductivity_bvp",
]
