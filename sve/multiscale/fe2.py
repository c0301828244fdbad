r"""FE²: a cell problem at every Gauss point of a macro model, run as Dask tasks.

The macro solver (:func:`sve.multiscale.solve_macro`) asks a :class:`CellModel`
for the cell problem of every Gauss point, then for the response (flux or
stress) and the consistent tangent of each under the point's macro gradient.
:func:`evaluate_cells` runs these evaluations: problems that are the same
(same SVE array, material, boundary condition and solver options: the same
:attr:`CellProblem.key`) are solved once, results are kept in a
:class:`CellCache` (in memory and optionally on disk) so that a macro re-solve
repeats none of them, and the remaining ones run as Dask tasks in batches.

For a linear cell the tangent is the apparent tensor of the SVE, whatever the
macro gradient, and the response is the tangent times the gradient: FE² is
then the macro problem with one apparent tensor per Gauss point, and one cell
solve per distinct SVE. A nonlinear cell (``linear = False``) returns a
response that depends on the load and its consistent tangent; the macro
solver then iterates (Newton) and the cells are evaluated at every iteration.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple, Protocol, runtime_checkable

import numpy as np

from sve._validation import check_choice, check_integer, check_real
from sve.solvers import apparent_conductivity, apparent_stiffness

__all__ = [
    "CellCache",
    "CellModel",
    "CellProblem",
    "GaussPoint",
    "SVECell",
    "evaluate_cells",
]

#: Boundary conditions of a cell problem that give a full apparent tensor.
CELL_BCS = ("kinematic", "periodic", "static")
_BC_ALIASES = {"KUBC": "kinematic", "PBC": "periodic", "SUBC": "static"}


class GaussPoint(NamedTuple):
    """A Gauss point of a macro mesh.

    Attributes
    ----------
    element : int
        Index of the macro element.
    index : int
        Index of the point in the element's quadrature rule.
    x : ndarray of shape (d,), float64
        Its coordinates, in the length unit of the mesh.
    """

    element: int
    index: int
    x: np.ndarray


@runtime_checkable
class CellModel(Protocol):
    """What the macro solver asks of a cell model (FE²).

    Attributes
    ----------
    physics : str
        ``"conductivity"`` or ``"elasticity"``.
    ndim : int
        2 or 3, the dimension of the macro mesh it serves.
    linear : bool
        True when the tangent does not depend on the gradient and the
        response is the tangent times the gradient: each distinct cell is
        then evaluated once, at zero gradient.

    Notes
    -----
    The methods:

    ``cell(point)``
        The cell problem of a :class:`GaussPoint`: any picklable value with a
        ``key`` attribute (str) that is equal for equal problems, e.g. a
        :class:`CellProblem`. Called on the client.
    ``tangent(cell, gradient)``
        The consistent tangent ``d response / d gradient``, ndarray (m, m),
        at the macro gradient (ndarray (m,): ``grad u``, or the strain in
        Mandel notation). Called in a Dask task.
    ``response(cell, gradient)``
        The averaged flux or stress (Mandel), ndarray (m,). Called in a Dask
        task (nonlinear models only; a linear model's response is computed
        from its tangent).
    """

    physics: str
    ndim: int
    linear: bool

    def cell(self, point: GaussPoint) -> Any:
        """The cell problem of `point` (a picklable value with a ``key``)."""

    def tangent(self, cell: Any, gradient: np.ndarray) -> np.ndarray:
        """The consistent tangent (m, m) of `cell` at `gradient` (m,)."""

    def response(self, cell: Any, gradient: np.ndarray) -> np.ndarray:
        """The averaged flux or stress (m,) of `cell` at `gradient` (m,)."""


def _canonical_bc(bc: object) -> str:
    if isinstance(bc, str) and bc in _BC_ALIASES:
        return _BC_ALIASES[bc]
    return check_choice(bc, "bc", CELL_BCS)


@dataclass(frozen=True, eq=False)
class CellProblem:
    """One cell problem: an SVE, its material and a boundary condition.

    Parameters
    ----------
    physics : {"conductivity", "elasticity"}
        Which apparent tensor (``sve.apparent_conductivity`` or
        ``sve.apparent_stiffness``).
    phases : ndarray of shape (N0, N1[, N2]), integer
        Phase labels of the SVE (stored as a read-only copy).
    material : ndarray
        Per-phase conductivities ``(n,)`` or tensors ``(n, d, d)``, or
        per-phase stiffnesses ``(n, m, m)`` in Mandel notation.
    bc : {"kinematic", "periodic", "static"}
        Boundary condition of the cell (``"KUBC"``, ``"PBC"``, ``"SUBC"``
        accepted).
    tol : float
        Relative residual of the cell solver.
    spacing : tuple of float or None
        Voxel edge lengths (None: 1).

    Attributes
    ----------
    key : str
        SHA-256 of everything that determines the solution: physics, bc,
        tol, spacing, and the bytes, dtype and shape of `phases` and
        `material`. Two problems with the same key are solved once.
    """

    physics: str
    phases: np.ndarray
    material: np.ndarray
    bc: str = "periodic"
    tol: float = 1e-8
    spacing: tuple[float, ...] | None = None
    key: str = field(init=False, repr=False)

    def __post_init__(self) -> None:
        check_choice(self.physics, "physics", ("conductivity", "elasticity"))
        object.__setattr__(self, "bc", _canonical_bc(self.bc))
        phases = np.array(self.phases, copy=True)
        if not np.issubdtype(phases.dtype, np.integer) or phases.ndim not in (2, 3):
            raise TypeError(
                f"phases must be a 2-D or 3-D integer array, got {phases.dtype} {phases.shape}"
            )
        phases.setflags(write=False)
        material = np.array(self.material, dtype=np.float64, copy=True)
        material.setflags(write=False)
        object.__setattr__(self, "phases", phases)
        object.__setattr__(self, "material", material)
        digest = hashlib.sha256()
        spacing = None if self.spacing is None else tuple(float(h) for h in self.spacing)
        object.__setattr__(self, "spacing", spacing)
        digest.update(repr((self.physics, self.bc, float(self.tol), spacing)).encode())
        for array in (phases, material):
            digest.update(repr((str(array.dtype), array.shape)).encode())
            digest.update(np.ascontiguousarray(array).tobytes())
        object.__setattr__(self, "key", digest.hexdigest())

    @property
    def ndim(self) -> int:
        """Dimension of the SVE."""
        return self.phases.ndim

    def solve(self) -> np.ndarray:
        """The apparent tensor of the cell, ndarray (d, d) or Mandel (m, m), float64.

        Raises
        ------
        sve.ConvergenceError
            If the cell solver does not reach `tol`.
        """
        options = {"bc": self.bc, "tol": self.tol, "spacing": self.spacing}
        if self.physics == "conductivity":
            result = apparent_conductivity(self.phases, self.material, **options)
        else:
            result = apparent_stiffness(self.phases, list(self.material), **options)
        return np.array(result.tensor)


@dataclass(frozen=True, eq=False)
class SVECell:
    """A linear cell model: at every Gauss point an SVE drawn with the local parameters.

    Parameters
    ----------
    draw : callable
        ``draw(x, rng) -> phases``: the SVE at the point ``x`` (ndarray (d,),
        the macro coordinates) drawn with ``rng`` (a
        ``numpy.random.Generator``), an integer array of phase labels. A
        graded medium reads its local parameters (volume fraction,
        correlation length) from ``x``. Must be picklable by cloudpickle
        (module-level functions and lambdas are).
    material : sequence
        Per-phase conductivities (or d x d tensors) or Mandel stiffnesses,
        as ``sve.apparent_conductivity`` / ``sve.apparent_stiffness`` take
        them.
    physics : {"conductivity", "elasticity"}, default "conductivity"
    ndim : {2, 3}, default 2
        Dimension of the SVEs and of the macro mesh.
    bc : {"periodic", "kinematic", "static"}, default "periodic"
        Boundary condition of the cell problems.
    seed : int, default 0
        Root seed. The point ``(element, index)`` draws its SVE from
        ``numpy.random.SeedSequence(seed, spawn_key=(element, index))``: a
        pure function of the point, whatever the number of workers or the
        order of the tasks.
    tol : float, default 1e-8
        Relative residual of the cell solves.
    spacing : tuple of float, optional
        Voxel edge lengths of the SVEs.

    Notes
    -----
    Linear: the tangent is the apparent tensor ``K*`` (``C*``) of the cell,
    the response ``K* G`` for the macro gradient ``G`` (Hill–Mandel: the
    average flux of the cell under the average gradient ``G``).
    """

    draw: Callable[[np.ndarray, np.random.Generator], np.ndarray]
    material: Sequence
    physics: str = "conductivity"
    ndim: int = 2
    bc: str = "periodic"
    seed: int = 0
    tol: float = 1e-8
    spacing: tuple[float, ...] | None = None
    linear: bool = field(default=True, init=False)

    def __post_init__(self) -> None:
        if not callable(self.draw):
            raise TypeError(f"draw must be callable, got {self.draw!r}")
        check_choice(self.physics, "physics", ("conductivity", "elasticity"))
        if self.ndim not in (2, 3) or isinstance(self.ndim, bool):
            raise ValueError(f"ndim must be 2 or 3, got {self.ndim!r}")
        object.__setattr__(self, "bc", _canonical_bc(self.bc))
        check_integer(self.seed, "seed", 0)
        check_real(self.tol, "tol", 0.0, 1.0)

    def cell(self, point: GaussPoint) -> CellProblem:
        """Draw the SVE of `point` and return its cell problem."""
        sequence = np.random.SeedSequence(
            self.seed, spawn_key=(int(point.element), int(point.index))
        )
        phases = np.asarray(self.draw(np.asarray(point.x), np.random.default_rng(sequence)))
        if phases.ndim != self.ndim:
            raise ValueError(f"draw must return a {self.ndim}-D array, got shape {phases.shape}")
        return CellProblem(self.physics, phases, self.material, self.bc, self.tol, self.spacing)

    def tangent(self, cell: CellProblem, gradient: np.ndarray) -> np.ndarray:
        """The apparent tensor of `cell` (any gradient)."""
        return cell.solve()

    def response(self, cell: CellProblem, gradient: np.ndarray) -> np.ndarray:
        """The average flux or stress, ``tangent @ gradient``."""
        return self.tangent(cell, gradient) @ np.asarray(gradient, dtype=np.float64)


class CellCache:
    """The results of cell evaluations, by key, in memory and optionally on disk.

    Parameters
    ----------
    directory : str or Path, optional
        Where to keep the results as ``KEY.npz`` files (created if needed),
        so that another process or a later session finds them. Memory only
        without it.

    Attributes
    ----------
    solves : int
        Evaluations that were run (not found) through this cache.
    hits : int
        Look-ups answered from memory or disk.
    """

    def __init__(self, directory: str | Path | None = None) -> None:
        self._memory: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self.directory = None if directory is None else Path(directory)
        if self.directory is not None:
            self.directory.mkdir(parents=True, exist_ok=True)
        self.solves = 0
        self.hits = 0

    def __len__(self) -> int:
        return len(self._memory)

    def get(self, key: str) -> tuple[np.ndarray, np.ndarray] | None:
        """The ``(response, tangent)`` stored under `key`, or None."""
        found = self._memory.get(key)
        if found is None and self.directory is not None:
            path = self.directory / f"{key}.npz"
            if path.is_file():
                with np.load(path) as data:
                    found = (data["response"], data["tangent"])
                self._memory[key] = found
        if found is not None:
            self.hits += 1
        return found

    def put(self, key: str, response: np.ndarray, tangent: np.ndarray) -> None:
        """Store a result (and write it to `directory`, if any)."""
        self._memory[key] = (response, tangent)
        self.solves += 1
        if self.directory is not None:
            path = self.directory / f"{key}.npz"
            temporary = path.with_suffix(".tmp.npz")
            np.savez(temporary, response=response, tangent=tangent)
            temporary.replace(path)


def _evaluation_key(model: CellModel, cell: Any, gradient: np.ndarray) -> str:
    key = str(cell.key)
    if model.linear:
        return key
    digest = hashlib.sha256(key.encode())
    digest.update(np.ascontiguousarray(gradient, dtype=np.float64).tobytes())
    return digest.hexdigest()


def _evaluate_batch(model: CellModel, cells: list, gradients: np.ndarray) -> list:
    """The task: ``(response, tangent)`` of each cell at its gradient."""
    out = []
    for cell, gradient in zip(cells, gradients, strict=True):
        tangent = np.asarray(model.tangent(cell, gradient), dtype=np.float64)
        if model.linear:
            # An apparent tensor is symmetric up to the cell solver's tolerance.
            tangent = 0.5 * (tangent + tangent.T)
            response = tangent @ gradient
        else:
            response = np.asarray(model.response(cell, gradient), dtype=np.float64)
        out.append((response, tangent))
    return out


def _check_client(client) -> None:
    """A Client, a scheduler address, "serial" or None; TypeError otherwise."""
    if client is None or isinstance(client, str):
        return
    from distributed import Client

    if not isinstance(client, Client):
        raise TypeError(
            "client must be a distributed.Client, a scheduler address, 'serial' or None, "
            f"got {type(client).__name__}"
        )


def _cells_batch(model: CellModel, points: list) -> list:
    """The task: the cell problems of some points."""
    return [model.cell(point) for point in points]


def _make_cells(model: CellModel, points: Sequence[GaussPoint], *, client="serial") -> list:
    """The cell problem of every point (``model.cell``), drawn on the workers of `client`.

    Parameters
    ----------
    model : CellModel
    points : sequence of GaussPoint
    client : distributed.Client or "serial"
        Where to draw: in batches on the workers (the draws of many SVEs are
        then parallel too), or in this process.

    Returns
    -------
    list
        The cells in the order of `points` (the same whatever the client: each
        cell is a pure function of its point).
    """
    points = list(points)
    if client == "serial" or not points:
        return _cells_batch(model, points)
    n_workers = max(1, len(client.scheduler_info(n_workers=-1)["workers"]))
    size = math.ceil(len(points) / (4 * n_workers))
    futures = [
        client.submit(_cells_batch, model, points[start : start + size], pure=False)
        for start in range(0, len(points), size)
    ]
    return [cell for part in client.gather(futures) for cell in part]


def _dask_client(stack: ExitStack, client, workers: int | None):
    # The study layer's rule: a Client, a scheduler address, or a local cluster.
    from sve.study.run import _client

    return _client(stack, client, workers)


def evaluate_cells(
    model: CellModel,
    cells: Sequence,
    gradients: np.ndarray,
    *,
    client=None,
    workers: int | None = None,
    cache: CellCache | None = None,
    batches_per_worker: int = 4,
) -> tuple[np.ndarray, np.ndarray, int, int]:
    """Evaluate the response and tangent of many cells, each distinct one once.

    Parameters
    ----------
    model : CellModel
        The cell model.
    cells : sequence
        Cell problems (``model.cell(point)`` of each point).
    gradients : ndarray of shape (n, m), float64
        The macro gradient at each cell. A linear model is evaluated once per
        distinct cell, at zero gradient, and its response is the tangent
        times the given gradient.
    client : distributed.Client, str, "serial" or None
        A client, the address of a running scheduler, ``None`` (a local
        cluster of `workers` processes, one thread each, for this call, as
        ``sve.run_study`` makes), or ``"serial"``: a plain loop in this
        process.
    workers : int, optional
        Workers of the local cluster (default: the number of CPUs).
    cache : CellCache, optional
        Where results are looked up first and stored after; a fresh one
        (this call only) when None.
    batches_per_worker : int, default 4
        The evaluations still to do are split into about this many tasks
        per worker.

    Returns
    -------
    responses : ndarray of shape (n, m), float64
    tangents : ndarray of shape (n, m, m), float64
        For a linear model, the symmetric part of what ``model.tangent``
        returns (an apparent tensor is symmetric up to the cell solver's
        tolerance).
    solved : int
        Evaluations run by this call.
    hits : int
        Cells answered by the cache or by another cell of this call with the
        same key.

    Notes
    -----
    The results are the same, bit for bit, whatever the client and the
    number of workers: every evaluation is a pure function of its cell and
    gradient, and the results are put back in the order of `cells`.
    """
    if not isinstance(model, CellModel):
        raise TypeError(f"model must follow the CellModel protocol, got {type(model).__name__}")
    gradients = np.asarray(gradients, dtype=np.float64)
    if gradients.ndim != 2 or gradients.shape[0] != len(cells):
        raise ValueError(f"gradients must have shape ({len(cells)}, m), got {gradients.shape}")
    if cache is None:
        cache = CellCache()
    elif not isinstance(cache, CellCache):
        raise TypeError(f"cache must be a CellCache or None, got {type(cache).__name__}")
    check_integer(batches_per_worker, "batches_per_worker", 1)
    _check_client(client)
    given = gradients
    if model.linear:
        gradients = np.zeros_like(gradients)
    keys = [_evaluation_key(model, cell, g) for cell, g in zip(cells, gradients, strict=True)]
    found: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    todo: dict[str, int] = {}
    for i, key in enumerate(keys):
        if key in found or key in todo:
            continue
        hit = cache.get(key)
        if hit is not None:
            found[key] = hit
        else:
            todo[key] = i
    order = list(todo.items())
    if order:
        todo_cells = [cells[i] for _, i in order]
        todo_gradients = gradients[[i for _, i in order]]
        if client == "serial":
            results = _evaluate_batch(model, todo_cells, todo_gradients)
        else:
            with ExitStack() as stack:
                dask_client = _dask_client(stack, client, workers)
                n_workers = max(1, len(dask_client.scheduler_info(n_workers=-1)["workers"]))
                n_tasks = min(len(order), batches_per_worker * n_workers)
                size = math.ceil(len(order) / n_tasks)
                futures = [
                    dask_client.submit(
                        _evaluate_batch,
                        model,
                        todo_cells[start : start + size],
                        todo_gradients[start : start + size],
                        pure=False,
                    )
                    for start in range(0, len(order), size)
                ]
                results = [item for part in dask_client.gather(futures) for item in part]
        for (key, _), (response, tangent) in zip(order, results, strict=True):
            cache.put(key, response, tangent)
            found[key] = (response, tangent)
    m = gradients.shape[1]
    responses = np.empty((len(cells), m))
    tangents = np.empty((len(cells), m, m))
    for i, key in enumerate(keys):
        response, tangent = found[key]
        tangents[i] = tangent
        responses[i] = tangent @ given[i] if model.linear else response
    return responses, tangents, len(order), len(cells) - len(order)
