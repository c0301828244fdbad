"""Cell problems: apparent properties of voxel images under boundary conditions."""

from sve.solvers._bc import canonical_bc, implemented_bc
from sve.solvers.bounds import (
    hashin_shtrikman_bounds,
    maxwell_garnett,
    reuss_bound,
    voigt_bound,
)
from sve.solvers.conductivity import IMPLEMENTED_BCS as CONDUCTIVITY_BCS
from sve.solvers.conductivity import apparent_conductivity
from sve.solvers.result import ConductivityResult, ConvergenceError

__all__ = [
    "CONDUCTIVITY_BCS",
    "ConductivityResult",
    "ConvergenceError",
    "apparent_conductivity",
    "canonical_bc",
    "hashin_shtrikman_bounds",
    "implemented_bc",
    "maxwell_garnett",
    "reuss_bound",
    "voigt_bound",
]
