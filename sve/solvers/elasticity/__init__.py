"""Linear elasticity cell problems: apparent stiffness in Mandel notation.

The public surface is `apparent_stiffness` and `IMPLEMENTED_BCS`; the modules
beside it hold its cell problem (``cell_problem``), Q1 voxel elements
(``q1``, ``q1_kernels``), the reference-medium preconditioner
(``fft_preconditioner``) and the rigid modes of voided images (``voids``); the
boundary-value solver of a whole part is `solve_elasticity_bvp` (``boundary_value``).
"""

from sve.solvers.elasticity.apparent import IMPLEMENTED_BCS, apparent_stiffness
from sve.solvers.elasticity.boundary_value import (
    ElasticBoundaryValueResult,
    solve_elasticity_bvp,
)

__all__ = [
    "IMPLEMENTED_BCS",
    "ElasticBoundaryValueResult",
    "apparent_stiffness",
    "solve_elasticity_bvp",
]
