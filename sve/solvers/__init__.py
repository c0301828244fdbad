"""Cell problems: apparent properties of voxel images under boundary conditions."""

from sve.solvers._core.bc import canonical_bc, implemented_bc
from sve.solvers._core.memory import MemoryBudgetError, MemoryEstimate, memory_estimate
from sve.solvers.bounds import (
    cubic_polycrystal_shear_bounds,
    hashin_shtrikman_bounds,
    hashin_shtrikman_bulk_bounds,
    hashin_shtrikman_shear_bounds,
    maxwell_garnett,
    reuss_bound,
    voigt_bound,
)
from sve.solvers.conductivity.apparent import IMPLEMENTED_BCS as CONDUCTIVITY_BCS
from sve.solvers.conductivity.apparent import apparent_conductivity
from sve.solvers.elasticity.apparent import IMPLEMENTED_BCS as ELASTICITY_BCS
from sve.solvers.elasticity.apparent import apparent_stiffness
from sve.solvers.moduli import (
    IsotropicProjection,
    cubic,
    isotropic,
    isotropic_projection,
    lame_parameters,
)
from sve.solvers.permeability.apparent import IMPLEMENTED_BCS as PERMEABILITY_BCS
from sve.solvers.permeability.apparent import (
    UnresolvedThroatWarning,
    apparent_permeability,
    permeability_memory_estimate,
)
from sve.solvers.result import (
    ConductivityResult,
    ConvergenceError,
    PermeabilityResult,
    StiffnessResult,
)

__all__ = [
    "CONDUCTIVITY_BCS",
    "ELASTICITY_BCS",
    "ConductivityResult",
    "ConvergenceError",
    "IsotropicProjection",
    "MemoryBudgetError",
    "MemoryEstimate",
    "PERMEABILITY_BCS",
    "PermeabilityResult",
    "StiffnessResult",
    "UnresolvedThroatWarning",
    "apparent_conductivity",
    "apparent_permeability",
    "apparent_stiffness",
    "canonical_bc",
    "cubic",
    "hashin_shtrikman_bounds",
    "hashin_shtrikman_bulk_bounds",
    "hashin_shtrikman_shear_bounds",
    "cubic_polycrystal_shear_bounds",
    "implemented_bc",
    "isotropic",
    "isotropic_projection",
    "lame_parameters",
    "maxwell_garnett",
    "memory_estimate",
    "permeability_memory_estimate",
    "reuss_bound",
    "voigt_bound",
]
