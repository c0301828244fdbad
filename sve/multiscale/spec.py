r"""Macro problems from a TOML spec: what ``sve macro SPEC.toml`` runs.

``sve run SPEC.toml`` runs the same code for a spec whose problem is in a
``[macro]`` table (the fields below, a ``[medium]`` beside it or inside it),
and for this flat layout (`sve.study.spec.spec_kind`).

A macro spec names the mesh, the physics, the material and the boundary data::

    physics = "conductivity"          # or "elasticity"
    seed = 1
    realizations = 4                  # mesoscale and FE² only (default 1)

    [mesh]
    shape = [16, 16]                  # cells per axis (box_mesh)
    length = [1.0, 1.0]               # not with material.model = "mesoscale"
    element = "quad"                  # quad/tri, hex/tet; "p0" (mesoscale): see below
    # file = "part.msh"               # instead of shape: a mesh meshio reads

    [material]
    model = "fe2"                     # "homogenized", "mesoscale" or "fe2"
    # homogenized: tensor = [[...]] (Mandel for elasticity), conductivity = 2.0,
    #              or moduli = {E = 1.0, nu = 0.3}
    phases = [1.0, 10.0]              # mesoscale, fe2: per phase (moduli tables for elasticity)
    bc = "periodic"                   # cell or window condition
    sve_size = 32                     # voxels per SVE (fe2) or window (mesoscale) edge
    spacing = 1.0                     # voxel edge (mesoscale: sets the box length)
    tol = 1e-8
    grading = [0.2, 0.8]              # fe2: volume fraction from x0 = 0 to x0 = L0

    [medium]                          # as in a study spec (docs/spec.rst)
    generator = "gaussian_level_cut"
    ndim = 2
    covariance = "exponential"
    correlation_length = 4.0
    volume_fraction = 0.5

    [dirichlet]                       # boundary name -> value
    xmin = 0.0
    xmax = {value = 0.0, gradient = [1.0, 0.0]}   # u = value + gradient . x
    # elasticity: [0.0, "free"] per component, or {gradient = [[..], [..]]}: u = H x

    [flux]                            # boundary name -> q . n, or a traction [t0, t1]
    ymax = 0.0

``mesh.element = "p0"`` (mesoscale model only) makes each window one macro
element with a constant gradient, the element of Huet's partition theorem
(`mesoscale_bracket` with ``element="p0"``): it takes affine Dirichlet data
on the whole boundary (``dirichlet.boundary = {gradient = G}``, nothing
else) or uniform flux data (``q . n = Q . n``, a traction ``S n``) on the
faces of the box (faces left out carry ``Q_i = 0``), and the energy is
`p0_energy` of the windows.
"""

from __future__ import annotations

import math
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import numpy as np

from sve.multiscale.fe2 import CellCache, SVECell
from sve.multiscale.macro import PHYSICS, mandel_size, solve_macro
from sve.multiscale.mesh import BOX_FACES, ELEMENT_KINDS, box_mesh, read_mesh
from sve.multiscale.mesoscale import (
    mesoscale_tensors,
    p0_energy,
    response_statistics,
    window_tensors,
)
from sve.solvers import isotropic
from sve.study import SpecError
from sve.study.media import draw_medium, validate_medium
from sve.study.spec import MACRO_FIELDS, _integer, _positive, macro_tables, read_spec_tables

__all__ = ["run_macro", "MODELS"]

#: The material models of a macro spec.
MODELS = ("homogenized", "mesoscale", "fe2")

_TOP = set(MACRO_FIELDS)


def _fail(message: str):
    raise SpecError(message)


def _number(value: Any, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise SpecError(f"{field} must be a finite number, got {value!r}")
    return float(value)


class _GradedDraw:
    """The SVE at a point: the medium with its volume fraction graded along x0."""

    def __init__(self, medium: dict, size: int, spacing: float, grading, length: float):
        self.medium, self.size, self.spacing = medium, size, spacing
        self.grading, self.length = grading, length

    def __call__(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        medium = self.medium
        if self.grading is not None:
            low, high = self.grading
            t = min(max(float(x[0]) / self.length, 0.0), 1.0)
            medium = {**medium, "volume_fraction": low + (high - low) * t}
        return draw_medium(medium, self.size, self.spacing, rng)


def _phase_material(phases: Any, physics: str, ndim: int) -> list:
    if not isinstance(phases, list) or not phases:
        raise SpecError(f"material.phases must be a non-empty list, got {phases!r}")
    if physics == "conductivity":
        return [_positive(v, f"material.phases[{i}]") for i, v in enumerate(phases)]
    out = []
    for i, moduli in enumerate(phases):
        if not isinstance(moduli, dict):
            raise SpecError(f"material.phases[{i}] must be a table of moduli, got {moduli!r}")
        try:
            out.append(isotropic(ndim, **moduli))
        except (TypeError, ValueError) as err:
            raise SpecError(f"material.phases[{i}]: {err}") from None
    return out


def _dirichlet_value(value: Any, field: str, physics: str, ndim: int):
    if isinstance(value, dict):
        unknown = set(value) - {"value", "gradient"}
        if unknown:
            raise SpecError(f"{field}: unknown keys {sorted(unknown)} (value, gradient)")
        constant = _number(value.get("value", 0.0), f"{field}.value")
        gradient = np.asarray(value.get("gradient", np.zeros(ndim)), dtype=np.float64)
        want = (ndim,) if physics == "conductivity" else (ndim, ndim)
        if physics == "elasticity" and gradient.shape == (ndim,):
            gradient = np.zeros(want)
        if gradient.shape != want or not np.all(np.isfinite(gradient)):
            raise SpecError(f"{field}.gradient must be a finite array of shape {want}")
        return lambda x: constant + np.tensordot(gradient, x, axes=1)
    if physics == "elasticity" and isinstance(value, list):
        if len(value) != ndim:
            raise SpecError(f"{field} must have {ndim} entries, got {value!r}")
        return tuple(
            None if v == "free" else _number(v, f"{field}[{i}]") for i, v in enumerate(value)
        )
    return _number(value, field)


def _flux_value(value: Any, field: str, physics: str, ndim: int):
    if physics == "elasticity" and isinstance(value, list):
        if len(value) != ndim:
            raise SpecError(f"{field} must have {ndim} entries, got {value!r}")
        traction = np.array([_number(v, f"{field}[{i}]") for i, v in enumerate(value)])
        return lambda x: traction.reshape(-1, *([1] * (x.ndim - 1))) + 0.0 * x
    return _number(value, field)


def _p0_data(dirichlet: dict, flux: dict, physics: str, ndim: int) -> tuple[str, np.ndarray]:
    """The load of a P0 mesoscale spec: ``("gradient", G)`` or ``("flux", Q)``.

    P0 takes affine Dirichlet data on the whole boundary or uniform flux data on
    the faces of the box: the data under which the P0 field is unique.
    """
    need = (
        "mesh.element = 'p0' takes affine Dirichlet data on the whole boundary "
        "(dirichlet.boundary = {gradient = ...}) or uniform flux data on the faces of the "
        "box (flux.xmax = Q0, flux.xmin = -Q0, ...), not both"
    )
    if bool(dirichlet) == bool(flux):
        raise SpecError(need)
    want = (ndim,) if physics == "conductivity" else (ndim, ndim)
    if dirichlet:
        if set(dirichlet) != {"boundary"}:
            raise SpecError(f"{need}; got dirichlet parts {sorted(dirichlet)}")
        value = dirichlet["boundary"]
        if isinstance(value, dict):
            _dirichlet_value(value, "dirichlet.boundary", physics, ndim)  # validates
            gradient = np.asarray(value.get("gradient", np.zeros(want)), dtype=np.float64)
            if gradient.shape != want:  # an elastic spec with a vector gradient
                gradient = np.zeros(want)
            return "gradient", gradient
        if physics == "conductivity":
            _number(value, "dirichlet.boundary")
            return "gradient", np.zeros(want)
        raise SpecError(f"{need}; got dirichlet.boundary = {value!r}")
    faces = [face for pair in BOX_FACES[:ndim] for face in pair]
    unknown = sorted(set(flux) - set(faces))
    if unknown:
        raise SpecError(f"{need}; got flux parts {unknown} (faces: {faces})")
    load = np.zeros(want)
    for axis, (low, high) in enumerate(BOX_FACES[:ndim]):
        values = []
        for face in (low, high):
            value = flux.get(face, 0.0 if physics == "conductivity" else [0.0] * ndim)
            if physics == "conductivity":
                values.append(np.asarray(_number(value, f"flux.{face}")))
            else:
                if not isinstance(value, list) or len(value) != ndim:
                    raise SpecError(f"flux.{face} must be a traction of {ndim} numbers")
                values.append(
                    np.array([_number(v, f"flux.{face}[{i}]") for i, v in enumerate(value)])
                )
        if not np.array_equal(values[0], -values[1]):
            raise SpecError(f"{need}; flux.{low} must be minus flux.{high}")
        load[..., axis] = values[1]
    if physics == "elasticity" and not np.allclose(load, load.T, rtol=1e-12, atol=0.0):
        raise SpecError(f"{need}; the tractions must come from a symmetric stress S (t = S n)")
    return "flux", load


def _p0_boundary_flux(part: str, name: str, load: np.ndarray, mesh, physics: str):
    """The total flux (force) through a part of the P0 problem: zero through the whole
    boundary under affine data (no source), ``int Q . n dS`` through a face under
    uniform flux data (exact: the data are the flux).
    """
    ndim = mesh.dim()
    if name == "gradient":
        return 0.0 if physics == "conductivity" else [0.0] * ndim
    axis, upper = next(
        (a, pair.index(part)) for a, pair in enumerate(BOX_FACES[:ndim]) if part in pair
    )
    extent = mesh.p.max(axis=1) - mesh.p.min(axis=1)
    area = float(np.prod(np.delete(extent, axis)))
    sign = 1.0 if upper else -1.0
    return _summary(sign * area * load[..., axis])


def _summary(value) -> float | list[float]:
    return float(value) if np.ndim(value) == 0 else [float(v) for v in value]


def run_macro(
    spec: str | Path | dict,
    *,
    client=None,
    workers: int | None = None,
    cache: CellCache | None = None,
) -> dict:
    """Run the macro problem of a spec (a TOML file, its text's dict, see module notes).

    Parameters
    ----------
    spec : str, Path or dict
        A TOML file or its content as a dict.
    client, workers, cache
        As :func:`solve_macro` (FE² cells and mesoscale windows); one client
        serves every realization.

    Returns
    -------
    dict
        ``physics``, ``model``, ``elements``, ``gauss_points``, ``realizations``
        (per realization: ``energy``, ``boundary_flux`` per named part of the
        data, ``cell_solves``, ``cache_hits``, ``wall_time``), and with two
        realizations or more ``statistics``: mean, variance and 95%
        confidence interval of the energy and of each boundary flux.

    Raises
    ------
    sve.SpecError
        For a bad spec; the message names the field.
    """
    base = path = None
    if isinstance(spec, str | Path):
        path = Path(spec)
        data = read_spec_tables(path)
        base = path.parent
    elif isinstance(spec, dict):
        data = spec
    else:
        raise TypeError(f"spec must be a path or a dict, got {type(spec).__name__}")
    try:
        return _run_macro(data, base, client, workers, cache)
    except SpecError as err:
        if path is None:
            raise
        raise SpecError(f"{err} (spec file {str(path)!r})") from None


def _run_macro(data: dict, base: Path | None, client, workers, cache) -> dict:
    if "macro" in data:  # the layout of ``sve run``: the problem in a [macro] table
        data = macro_tables(data)
    unknown = set(data) - _TOP
    if unknown:
        raise SpecError(f"unknown top-level fields {sorted(unknown)}; known: {sorted(_TOP)}")
    physics = data.get("physics", "conductivity")
    if physics not in PHYSICS:
        raise SpecError(f"physics must be one of {PHYSICS}, got {physics!r}")
    seed = _integer(data.get("seed", 0), "seed", 0)
    realizations = _integer(data.get("realizations", 1), "realizations", 1)
    material = dict(data.get("material", {}))
    model = material.pop("model", "homogenized")
    if model not in MODELS:
        raise SpecError(f"material.model must be one of {MODELS}, got {model!r}")

    mesh_table = dict(data.get("mesh", {}))
    p0 = mesh_table.get("element") == "p0"
    if p0 and model != "mesoscale":
        raise SpecError(f"mesh.element = 'p0' needs material.model = 'mesoscale', got {model!r}")
    medium = None
    if model != "homogenized":
        if "medium" not in data:
            raise SpecError(f"material.model = {model!r} needs a [medium] table")
        medium = validate_medium(dict(data["medium"]), _positive, _fail)
    size = _integer(material.get("sve_size", 32), "material.sve_size", 2)
    spacing = _positive(material.get("spacing", 1.0), "material.spacing")
    if "file" in mesh_table:
        if model == "mesoscale":
            raise SpecError("material.model = 'mesoscale' needs a box (mesh.shape), not mesh.file")
        path = Path(mesh_table["file"])
        mesh = read_mesh(path if path.is_absolute() or base is None else base / path)
        shape = None
    else:
        shape = mesh_table.get("shape")
        if not isinstance(shape, list):
            raise SpecError(f"mesh.shape must be a list of 2 or 3 integers, got {shape!r}")
        length = mesh_table.get("length", 1.0)
        element = mesh_table.get("element")
        kinds = (*ELEMENT_KINDS.get(len(shape), ()), "p0")
        if element is not None and element not in kinds:
            raise SpecError(f"mesh.element must be one of {kinds}, got {element!r}")
        if element == "p0":
            element = None  # one box cell per window
        if model == "mesoscale":
            if "length" in mesh_table:
                raise SpecError(
                    "mesh.length is set by the windows with material.model = 'mesoscale' "
                    "(shape x sve_size x spacing)"
                )
            length = [n * size * spacing for n in shape]
        try:
            mesh = box_mesh(shape, length=length, element=element)
        except (TypeError, ValueError) as err:
            raise SpecError(f"mesh: {err}") from None
    ndim = mesh.dim()
    if medium is not None and medium["ndim"] != ndim:
        raise SpecError(f"medium.ndim is {medium['ndim']}, the mesh is {ndim}-D")
    m = ndim if physics == "conductivity" else mandel_size(ndim)

    dirichlet = {
        name: _dirichlet_value(v, f"dirichlet.{name}", physics, ndim)
        for name, v in dict(data.get("dirichlet", {})).items()
    }
    flux = {
        name: _flux_value(v, f"flux.{name}", physics, ndim)
        for name, v in dict(data.get("flux", {})).items()
    }
    parts = list(dirichlet) + list(flux)
    if p0:
        p0_load = _p0_data(
            dict(data.get("dirichlet", {})), dict(data.get("flux", {})), physics, ndim
        )
    tol = _positive(material.get("tol", 1e-8), "material.tol")

    if model == "homogenized":
        if "tensor" in material:
            tensor = np.asarray(material["tensor"], dtype=np.float64)
            if tensor.shape != (m, m):
                raise SpecError(f"material.tensor must be {m} x {m}, got shape {tensor.shape}")
        elif "conductivity" in material and physics == "conductivity":
            tensor = _positive(material["conductivity"], "material.conductivity")
        elif "moduli" in material and physics == "elasticity":
            tensor = _phase_material([material["moduli"]], physics, ndim)[0]
        else:
            raise SpecError(
                "material (homogenized) needs tensor, conductivity (conductivity) or "
                "moduli (elasticity)"
            )
        realizations = 1
    else:
        phases = _phase_material(material.get("phases"), physics, ndim)
        bc = material.get("bc", "kinematic" if model == "mesoscale" else "periodic")
        grading = material.get("grading")
        if grading is not None:
            if model != "fe2" or not isinstance(grading, list) or len(grading) != 2:
                raise SpecError("material.grading is a pair [phi(x0=0), phi(x0=L0)], fe2 only")
            for i, phi in enumerate(grading):
                if not isinstance(phi, int | float) or not 0 < phi < 1:
                    raise SpecError(f"material.grading[{i}] must be in (0, 1), got {phi!r}")
    records = []
    with ExitStack() as stack:
        if model != "homogenized" and client != "serial":
            from sve.multiscale.fe2 import _dask_client

            client = _dask_client(stack, client, workers)
        cache = CellCache() if cache is None else cache
        for r in range(realizations):
            start = time.perf_counter()
            solves, hits = cache.solves, cache.hits
            stream = np.random.SeedSequence(seed, spawn_key=(r,))
            if model == "homogenized":
                chosen = tensor
            elif model == "mesoscale":
                parent = draw_medium(
                    medium, max(shape) * size, spacing, np.random.default_rng(stream)
                )
                parent = parent[tuple(slice(0, n * size) for n in shape)]
                try:
                    windows = window_tensors(
                        parent, shape, phases, physics=physics, bc=bc, spacing=spacing, tol=tol,
                        client=client, cache=cache,
                    )  # fmt: skip
                except (TypeError, ValueError) as err:
                    raise SpecError(f"material: {err}") from None
                if p0:
                    name, load = p0_load
                    volume = float(np.prod(mesh.p.max(axis=1) - mesh.p.min(axis=1))) / len(
                        mesh.t.T
                    )
                    energy = p0_energy(windows, volume, **{name: load})
                    records.append(
                        {
                            "energy": energy,
                            "boundary_flux": {
                                p: _p0_boundary_flux(p, name, load, mesh, physics) for p in parts
                            },
                            "cell_solves": cache.solves - solves,
                            "cache_hits": cache.hits - hits,
                            "wall_time": time.perf_counter() - start,
                        }
                    )
                    continue
                chosen = mesoscale_tensors(mesh, windows)
            else:
                extent = float(mesh.p[0].max() - mesh.p[0].min())
                try:
                    chosen = SVECell(
                        _GradedDraw(medium, size, spacing, grading, extent),
                        phases, physics=physics, ndim=ndim, bc=bc, tol=tol,
                        seed=int(stream.generate_state(1)[0]), spacing=(spacing,) * ndim,
                    )  # fmt: skip
                except (TypeError, ValueError) as err:
                    raise SpecError(f"material: {err}") from None
            result = solve_macro(
                mesh, chosen, physics=physics, dirichlet=dirichlet, flux=flux,
                client=client, cache=cache,
            )  # fmt: skip
            records.append(
                {
                    "energy": result.energy,
                    "boundary_flux": {p: _summary(result.boundary_flux(p)) for p in parts},
                    "cell_solves": cache.solves - solves,  # FE2 cells or mesoscale windows
                    "cache_hits": cache.hits - hits,
                    "wall_time": time.perf_counter() - start,
                }
            )
    out = {
        "physics": physics,
        "model": model,
        "elements": int(mesh.t.shape[1]),
        "gauss_points": int(mesh.t.shape[1]) if p0 else int(result.weights.size),
        "realizations": records,
    }
    if len(records) >= 2:
        series = {"energy": [rec["energy"] for rec in records]}
        for p in parts:
            values = np.array([rec["boundary_flux"][p] for rec in records], dtype=np.float64)
            if values.ndim == 1:
                series[f"flux.{p}"] = values
            else:
                for c in range(values.shape[1]):
                    series[f"flux.{p}[{c}]"] = values[:, c]
        out["statistics"] = {
            name: response_statistics(values)._asdict() for name, values in series.items()
        }
    return out
