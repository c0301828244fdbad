"""Permeability cell problems: Stokes flow in the pore space of a voxel image.

The public surface is `apparent_permeability`, `IMPLEMENTED_BCS`,
`UnresolvedThroatWarning` and `permeability_memory_estimate`; the modules beside it
hold the staggered (MAC) operator (``mac``, ``mac_kernels``), the aggregation
multigrid of the velocity blocks (``multigrid``), MINRES (``minres``), the load
cases (``cell_problem``) and a scipy.sparse assembly of the same operator for
checks and benchmarks (``sparse``).
"""

from sve.solvers.permeability.apparent import (
    IMPLEMENTED_BCS,
    UnresolvedThroatWarning,
    apparent_permeability,
    permeability_memory_estimate,
)

__all__ = [
    "IMPLEMENTED_BCS",
    "UnresolvedThroatWarning",
    "apparent_permeability",
    "permeability_memory_estimate",
]
