"""Statistics of random microstructures: SVE cell solvers and size-convergence studies.

Public API::

    sve.apparent_conductivity(phases, conductivity, *, bc="periodic", ...)
    sve.apparent_stiffness(phases, stiffness, *, bc="periodic", ...)
    sve.apparent_permeability(pores, *, pore_label=None, bc="periodic", ...)
    sve.run_study(spec, *, client=None, store=None)
    sve.open_study(store)
    sve.write_report(dataset_or_store, out_dir)

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
    apparent_permeability,
    apparent_stiffness,
)
from sve.study import SpecError, StudySpec, load_spec, open_study, run_study

__all__ = [
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
    "apparent_stiffness",
    "load_spec",
    "open_study",
    "read_image",
    "run_study",
    "write_report",
]
