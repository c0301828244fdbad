"""Statistics of random microstructures: SVE cell solvers and size-convergence studies.

Public API::

    sve.apparent_conductivity(phases, conductivity, *, bc="periodic", ...)
    sve.run_study(spec, *, client=None, store=None)
    sve.open_study(store)
    sve.report(dataset_or_store, out_dir)

The random media themselves come from the sibling package ``generators``.
"""

from sve.report import report
from sve.solvers import ConductivityResult, ConvergenceError, apparent_conductivity
from sve.study import SpecError, StudySpec, load_spec, open_study, run_study

__all__ = [
    "ConductivityResult",
    "ConvergenceError",
    "SpecError",
    "StudySpec",
    "apparent_conductivity",
    "load_spec",
    "open_study",
    "report",
    "run_study",
]
