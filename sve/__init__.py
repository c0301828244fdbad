"""Statistics of random microstructures: SVE cell solvers and size-convergence studies.

Public API::

    sve.apparent_conductivity(phases, conductivity, *, bc="periodic", ...)
    sve.apparent_conductivity_batch([phases, ...], conductivity, *, bc="periodic", ...)
    sve.apparent_stiffness(phases, stiffness, *, bc="periodic", ...)
    sve.solve_conductivity_bvp(phases, conductivity, *, dirichlet=..., flux=..., source=...)
    sve.solve_elasticity_bvp(phases, stiffness, *, displacement=..., traction=..., ...)
    sve.apparent_permeability(pores, *, pore_label=None, bc="periodic", ...)
    sve.run_study(spec, *, client=None, store=None)
    sve.open_study(store)
    sve.write_report(dataset_or_store, out_dir)
    sve.calibrate(image, *, models=..., n_bootstrap=20, seed=0)

Isotropic and cubic stiffness tensors and isotropic projections (bulk and
shear moduli, Young's modulus, Poisson's ratio, distance to isotropy) are in
``sve.solvers``. The random media themselves come from the sibling package
``generators``. The report package is ``sve.report`` (``sve.report.key_numbers``,
``sve.report.sweep_numbers``); ``sve.write_report`` is its function that writes a report.
"""

from sve.images import ImageError, read_image
from sve.microstructure import Microstructure
from sve.report import write_report
from sve.solvers import (
    ConductivityResult,
    ConvergenceError,
    MemoryBudgetError,
    PermeabilityResult,
    StiffnessResult,
    apparent_conductivity,
    apparent_conductivity_batch,
    apparent_permeability,
    apparent_stiffness,
    solve_conductivity_bvp,
    solve_elasticity_bvp,
)
from sve.statistics.calibration import Calibration, calibrate
from sve.study import SpecError, StudySpec, load_spec, open_study, run_study

__all__ = [
    "Calibration",
    "ConductivityResult",
    "ConvergenceError",
    "ImageError",
    "MemoryBudgetError",
    "Microstructure",
    "PermeabilityResult",
    "SpecError",
    "StiffnessResult",
    "StudySpec",
    "apparent_conductivity",
    "apparent_permeability",
    "apparent_conductivity_batch",
    "apparent_stiffness",
    "calibrate",
    "load_spec",
    "open_study",
    "read_image",
    "run_study",
    "solve_conductivity_bvp",
    "solve_elasticity_bvp",
    "write_report",
]
