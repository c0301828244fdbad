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

import importlib
import importlib.util

# Where each public name lives. Imported on first use (PEP 562): ``import sve`` and the
# ``sve`` command line then load only what they use (the solvers, Dask, xarray and
# matplotlib take seconds to import).
_HOMES = {
    "Calibration": "sve.statistics.calibration",
    "ConductivityResult": "sve.solvers",
    "ConvergenceError": "sve.solvers",
    "ImageError": "sve.images",
    "MemoryBudgetError": "sve.solvers",
    "Microstructure": "sve.microstructure",
    "PermeabilityResult": "sve.solvers",
    "SpecError": "sve.study",
    "StiffnessResult": "sve.solvers",
    "StudySpec": "sve.study",
    "apparent_conductivity": "sve.solvers",
    "apparent_conductivity_batch": "sve.solvers",
    "apparent_permeability": "sve.solvers",
    "apparent_stiffness": "sve.solvers",
    "calibrate": "sve.statistics.calibration",
    "load_spec": "sve.study",
    "open_study": "sve.study",
    "read_image": "sve.images",
    "run_study": "sve.study",
    "solve_conductivity_bvp": "sve.solvers",
    "solve_elasticity_bvp": "sve.solvers",
    "write_report": "sve.report",
}


def __getattr__(name: str):
    """A public name of `_HOMES`, or a subpackage (``sve.solvers``, ``sve.study``...),
    imported on first use.
    """
    if name in _HOMES:
        value = getattr(importlib.import_module(_HOMES[name]), name)
    elif not name.startswith("_") and importlib.util.find_spec(f"sve.{name}") is not None:
        value = importlib.import_module(f"sve.{name}")
    else:
        raise AttributeError(f"module 'sve' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_HOMES))


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
