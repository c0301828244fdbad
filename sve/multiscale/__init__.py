"""Macro finite elements fed by SVEs: effective tensor, mesoscale random field, FE² on Dask.

Macro problems of conductivity and linear elasticity on scikit-fem meshes
(:func:`box_mesh`, :func:`read_mesh`, :func:`solve_macro`) take the material as
one effective tensor, one tensor per element (the windows of a parent image,
:func:`window_tensors` and :func:`mesoscale_tensors`), or a cell problem per
Gauss point (a :class:`CellModel` such as :class:`SVECell`, evaluated by
:func:`evaluate_cells` as Dask tasks, each distinct cell once, results kept in a
:class:`CellCache`). :func:`mesoscale_bracket` gives the KUBC and SUBC macro
energies of one parent (Huet's bracket; :func:`p0_energy` the energy of the
constant-gradient macro element), :func:`response_statistics` the mean,
variance and interval of a macro response over realizations, and
:func:`run_macro` runs a TOML spec (``sve macro`` or ``sve run``). The limits of homogenization
(:func:`periodic_limits`, :func:`elastic_limits`, :func:`random_limits`,
:func:`hole_concentration`) compare
homogenized and corrector-rebuilt fields with fully resolved solutions;
:func:`write_limits_report` writes their report (figures, Markdown, JSON numbers;
``sve limits`` on the command line, the figures alone from
``sve.multiscale.limits_report``). The guide pages
are ``docs/guide/multiscale.rst`` and ``docs/guide/boundary_value.rst``.
"""

from sve.multiscale.fe2 import (
    CellCache,
    CellModel,
    CellProblem,
    GaussPoint,
    SVECell,
    evaluate_cells,
)
from sve.multiscale.limits import (
    HoleConcentration,
    PeriodicLimits,
    RandomLimits,
    elastic_limits,
    hole_concentration,
    periodic_limits,
    random_limits,
)
from sve.multiscale.limits_report import LimitsReport, limits_numbers, write_limits_report
from sve.multiscale.macro import MacroResult, solve_macro
from sve.multiscale.mesh import BOX_FACES, box_mesh, read_mesh
from sve.multiscale.mesoscale import (
    Bracket,
    ResponseStatistics,
    mesoscale_bracket,
    mesoscale_tensors,
    p0_energy,
    response_statistics,
    window_tensors,
)
from sve.multiscale.spec import MODELS, run_macro

__all__ = [
    "BOX_FACES",
    "Bracket",
    "CellCache",
    "CellModel",
    "CellProblem",
    "GaussPoint",
    "HoleConcentration",
    "LimitsReport",
    "MODELS",
    "MacroResult",
    "PeriodicLimits",
    "RandomLimits",
    "ResponseStatistics",
    "SVECell",
    "box_mesh",
    "elastic_limits",
    "evaluate_cells",
    "hole_concentration",
    "limits_numbers",
    "mesoscale_bracket",
    "mesoscale_tensors",
    "p0_energy",
    "periodic_limits",
    "random_limits",
    "read_mesh",
    "response_statistics",
    "run_macro",
    "solve_macro",
    "window_tensors",
    "write_limits_report",
]
