r"""Memory budget of a solve: estimated before it starts, checked against the machine.

The model (:func:`memory_estimate`) is the peak resident growth of a solve over
its input (the label image), in bytes:

.. math:: B = c \, G + B_0,

with ``G`` the points of the solve's grid (Q1 under kinematic, static and mixed
conditions: the ``prod(n_i + 1)`` nodes; periodic Q1, finite volumes: the
``prod(n_i)`` voxels), ``c`` the bytes per grid point of the case and ``B_0 =
FIXED_BYTES`` (interpreter, transform plans and small arrays). ``c`` is the sum
of the arrays counted in the code (below) and of the preconditioner's work
arrays and the temporaries, which were measured (``benchmarks/bench_memory.py``:
VmHWM of a fresh interpreter after the solve, minus its VmRSS before it, at
128**3 voxels in 3-D and 2048**2 in 2-D; tracemalloc would miss Numba's and
scipy.fft's buffers). Counted, per grid point, in bytes (``d`` the dimension):

* the conductivity of every voxel, float64: 8 (per voxel; none with per-phase
  scalars and no void phase, which Q1 and the finite volumes read from the labels);
* tensors: their index per voxel, int32: 4;
* the solution being solved, float64: 8 (none for Q1 multigrid in double precision from
  ``pcg.FREE_FROM`` points, ``pcg.pcg_free``); under periodic and kinematic conditions the
  force (minus the true residual) of every load case but the last, float16 scaled by a
  power of 2, kept for the cross terms of the Hill-Mandel defect: ``2 (d - 1)``
  (float32 under ``stop="tensor"``, 2 bytes more per case, not counted); static
  conditions keep the solution of every load case, float64: ``8 d``; elasticity ``8 d
  m`` (``m = d (d + 1) / 2`` load cases of ``d`` components);
* the conjugate-gradient vectors (residual, search direction, operator
  product), float64: ``24`` (conductivity), ``24 d`` (elasticity);
* measured: the preconditioner (the multigrid hierarchy; the conductivity transforms
  keep no array of the image: they run in the memory of the preconditioned residual and
  compute their symbol where they apply it), the load, the clusters of voids and the
  temporaries of the flux averages.

The measured totals ``c`` (bytes per grid point; conductivity with contrast 10,
elasticity with two isotropic phases, scalar conductivities) are in ``_PER_POINT``,
the extra of a void phase in ``_VOIDS`` and of anisotropic tensors in ``_TENSORS``;
:func:`memory_estimate` returns them with the breakdown.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

#: Bytes of a solve that do not grow with the image (measured intercept, rounded up).
FIXED_BYTES = 2 * 2**20

#: Measured peak growth per grid point (bytes) of a solve with scalar properties and no
#: voids: (property, bc, discretization, preconditioner, ndim) -> bytes.
_PER_POINT: dict[tuple[str, str, str, str, int], float] = {}
#: Extra bytes per grid point with a void phase: (property, bc, discretization, ndim).
_VOIDS: dict[tuple[str, str, str, int], float] = {}
#: Extra bytes per grid point with anisotropic tensors: (bc, discretization, ndim).
_TENSORS: dict[tuple[str, str, int], float] = {}

# -- calibration (benchmarks/bench_memory.py) --
_PER_POINT.update(
    {
        ("conductivity", "kinematic", "fv", "fft", 2): 34.0,
        ("conductivity", "kinematic", "fv", "fft", 3): 36.0,
        ("conductivity", "kinematic", "fv", "multigrid", 2): 44.9,
        ("conductivity", "kinematic", "fv", "multigrid", 3): 39.0,
        ("conductivity", "kinematic", "q1", "fft", 2): 34.0,
        ("conductivity", "kinematic", "q1", "fft", 3): 36.0,
        ("conductivity", "kinematic", "q1", "multigrid", 2): 66.5,
        ("conductivity", "kinematic", "q1", "multigrid", 3): 50.0,
        ("conductivity", "mixed", "fv", "fft", 2): 32.0,
        ("conductivity", "mixed", "fv", "fft", 3): 32.0,
        ("conductivity", "mixed", "fv", "multigrid", 2): 42.7,
        ("conductivity", "mixed", "fv", "multigrid", 3): 35.0,
        ("conductivity", "mixed", "q1", "fft", 2): 32.0,
        ("conductivity", "mixed", "q1", "fft", 3): 32.0,
        ("conductivity", "mixed", "q1", "multigrid", 2): 70.0,
        ("conductivity", "mixed", "q1", "multigrid", 3): 48.0,
        ("conductivity", "periodic", "fv", "fft", 2): 34.0,
        ("conductivity", "periodic", "fv", "fft", 3): 36.0,
        ("conductivity", "periodic", "q1", "fft", 2): 34.0,
        ("conductivity", "periodic", "q1", "fft", 3): 36.0,
        ("conductivity", "periodic", "q1", "multigrid", 2): 65.5,
        ("conductivity", "periodic", "q1", "multigrid", 3): 49.5,
        ("conductivity", "static", "q1", "fft", 2): 40.0,
        ("conductivity", "static", "q1", "fft", 3): 48.0,
        ("conductivity", "static", "q1", "multigrid", 2): 72.0,
        ("conductivity", "static", "q1", "multigrid", 3): 62.0,
        ("elasticity", "kinematic", "q1", "fft", 2): 205.4,
        ("elasticity", "kinematic", "q1", "fft", 3): 426.4,
        ("elasticity", "mixed", "q1", "fft", 2): 166.5,
        ("elasticity", "mixed", "q1", "fft", 3): 286.6,
        ("elasticity", "periodic", "q1", "fft", 2): 195.0,
        ("elasticity", "periodic", "q1", "fft", 3): 440.0,
        ("elasticity", "periodic", "q1", "multigrid", 3): 520.0,
        ("elasticity", "static", "q1", "fft", 2): 340.7,
        ("elasticity", "static", "q1", "fft", 3): 963.2,
    }
)
_TENSORS.update(
    {
        ("kinematic", "q1", 2): 2.1,
        ("kinematic", "q1", 3): 6.7,
        ("mixed", "fv", 2): 72.3,
        ("mixed", "fv", 3): 72.2,
        ("mixed", "q1", 2): 2.1,
        ("mixed", "q1", 3): 10.8,
        ("periodic", "fv", 2): 50.0,
        ("periodic", "fv", 3): 51.1,
        ("periodic", "q1", 2): 2.1,
        ("periodic", "q1", 3): 3.0,
        ("static", "q1", 2): 10.1,
        ("static", "q1", 3): 10.7,
    }
)
_VOIDS.update(
    {
        ("conductivity", "kinematic", "q1", 2): 1.2,
        ("conductivity", "kinematic", "q1", 3): 2.8,
        ("conductivity", "kinematic", "fv", 2): 9.6,
        ("conductivity", "kinematic", "fv", 3): 5.3,
        ("conductivity", "mixed", "fv", 2): 3.6,
        ("conductivity", "mixed", "fv", 3): 4.1,
        # 2-D mixed Q1: 1.1 measured with the transforms, 12.7 with multigrid (1024**2)
        ("conductivity", "mixed", "q1", 2): 6.0,
        ("conductivity", "mixed", "q1", 3): 3.7,
        ("conductivity", "periodic", "fv", 2): 3.9,
        ("conductivity", "periodic", "fv", 3): 4.7,
        ("conductivity", "periodic", "q1", 2): 4.1,
        ("conductivity", "periodic", "q1", 3): 4.6,
        ("conductivity", "static", "q1", 2): 0.0,
        ("conductivity", "static", "q1", 3): 0.0,
        ("elasticity", "kinematic", "q1", 2): 77.5,
        ("elasticity", "kinematic", "q1", 3): 164.5,
        ("elasticity", "periodic", "q1", 2): 111.7,
        ("elasticity", "periodic", "q1", 3): 141.9,
    }
)
#: Bytes per grid point that ``precision="single"`` saves beyond the counted vectors: the
#: Q1 multigrid's level-0 product and coarse vectors, float64 in 2-D under double precision
#: (in 3-D they are float32, or not stored, under both): (discretization, ndim) -> bytes.
_SINGLE_MULTIGRID = {("q1", 2): 9.0}
# -- end calibration --

PROPERTIES = ("conductivity", "elasticity")
_UNITS = {
    "": 1,
    "b": 1,
    "kb": 10**3,
    "mb": 10**6,
    "gb": 10**9,
    "tb": 10**12,
    "kib": 2**10,
    "mib": 2**20,
    "gib": 2**30,
    "tib": 2**40,
}


class MemoryBudgetError(MemoryError):
    """A solve would need more memory than is available, refused before it starts.

    A subclass of `MemoryError`: the arguments are valid (the same solve runs on a
    machine with more memory), and code that already handles running out of memory
    (a study that records a failed task, a Dask worker) handles it too, told instead of
    killed. Attributes: ``needed`` and ``available`` (bytes) and ``estimate``
    (:class:`MemoryEstimate`).
    """

    def __init__(self, message: str, needed: int, available: int, estimate: MemoryEstimate):
        super().__init__(message)
        self.needed = needed
        self.available = available
        self.estimate = estimate


@dataclass(frozen=True)
class MemoryEstimate:
    """The estimated peak memory of a solve over its input.

    Attributes
    ----------
    bytes : int
        Total, the sum of `breakdown`.
    bytes_per_voxel : float
        ``bytes`` over the voxels of the image (the fixed part included).
    breakdown : dict of str to int
        Bytes per array (or group of arrays), see `memory_estimate`.
    shape, property, bc, discretization, preconditioner, tensors, voids
        The case; `preconditioner` as it runs (``"auto"`` resolved).
    precision : str
        ``"double"`` or ``"single"`` (float32 conjugate-gradient vectors).
    per_point : float
        Bytes per grid point, the part that grows with the image.
    points : int
        Grid points of the solve (nodes for non-periodic Q1, voxels otherwise).
    """

    bytes: int
    bytes_per_voxel: float
    breakdown: dict[str, int]
    shape: tuple[int, ...]
    property: str
    bc: str
    discretization: str
    preconditioner: str
    tensors: bool
    voids: bool
    per_point: float
    points: int
    fixed: int = field(default=FIXED_BYTES)
    precision: str = "double"


def parse_memory(value: object, name: str = "memory_limit") -> int:
    """Bytes from an integer (or float) count or a string such as ``"8 GB"``, ``"8GiB"``,
    ``"512 MiB"``, ``"2.5e9"`` (decimal units kB, MB, GB, TB; binary KiB, MiB, GiB, TiB;
    case-insensitive). ValueError or TypeError naming `name` otherwise.
    """
    if isinstance(value, bool) or not isinstance(
        value, int | float | np.integer | np.floating | str
    ):
        raise TypeError(
            f"{name} must be a number of bytes or a string such as '8 GB', got {value!r}"
        )
    if isinstance(value, str):
        match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*([a-zA-Z]*)\s*", value)
        unit = match.group(2).lower() if match else None
        if unit not in _UNITS:
            raise ValueError(
                f"{name} must be a number of bytes or a string such as '8 GB' or '8 GiB' "
                f"(units B, kB, MB, GB, TB, KiB, MiB, GiB, TiB), got {value!r}"
            )
        number = float(match.group(1)) * _UNITS[unit]
    else:
        number = float(value)
    if not np.isfinite(number) or number <= 0:
        raise ValueError(f"{name} must be > 0 bytes, got {value!r}")
    return int(number)


def available_memory() -> int | None:
    """Bytes this process may still allocate: ``MemAvailable`` of /proc/meminfo, or the
    room left under the cgroup's memory limit when that is lower (Linux); psutil's
    ``virtual_memory().available`` elsewhere if psutil is installed; None if unknown.
    """
    values = []
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                values.append(int(line.split()[1]) * 1024)
    except (OSError, ValueError, IndexError):
        pass
    for limit, usage in (
        ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
        (
            "/sys/fs/cgroup/memory/memory.limit_in_bytes",
            "/sys/fs/cgroup/memory/memory.usage_in_bytes",
        ),
    ):
        try:
            cap = Path(limit).read_text().strip()
            used = int(Path(usage).read_text().strip())
        except (OSError, ValueError):
            continue
        if cap.isdigit() and int(cap) < 2**60:
            values.append(max(0, int(cap) - used))
        break
    if not values:
        try:
            import psutil  # optional: only where /proc is missing
        except ImportError:
            return None
        return int(psutil.virtual_memory().available)
    return min(values)


def resident_bytes() -> int:
    """Resident memory of this process (VmRSS of /proc/self/status; psutil elsewhere, 0 if
    neither is there).
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        import psutil
    except ImportError:
        return 0
    return int(psutil.Process().memory_info().rss)


def _points(shape: tuple[int, ...], bc: str, discretization: str) -> int:
    if discretization == "q1" and bc != "periodic":
        return int(np.prod([n + 1 for n in shape], dtype=np.float64))
    return int(np.prod(shape, dtype=np.float64))


#: Per property, the function that lists the preconditioners ``"auto"`` may take
#: (registered by the physics package, which the core does not import).
AUTO_CANDIDATES: dict[str, Callable[..., tuple[str, ...]]] = {}


def _candidates(shape, *, property, **case) -> tuple[str, ...]:
    """The preconditioners ``"auto"`` may take for the case (one where it is decided)."""
    if property not in AUTO_CANDIDATES:
        return ("fft",)
    return AUTO_CANDIDATES[property](shape, **case)


def memory_estimate(
    shape: tuple[int, ...],
    *,
    property: str = "conductivity",
    bc: str = "periodic",
    discretization: str = "q1",
    preconditioner: str = "auto",
    tensors: bool = False,
    voids: bool = False,
    spacing: float | tuple[float, ...] | None = None,
    contrast: float | None = None,
    precision: str = "double",
    cases_at_once: int | None = None,
) -> MemoryEstimate:
    r"""Estimate the peak memory of a solve, before it starts.

    Parameters
    ----------
    shape : tuple of int
        Voxels per axis of the image (2-D or 3-D).
    property : {"conductivity", "elasticity"}, default "conductivity"
        `sve.apparent_conductivity` or `sve.apparent_stiffness`.
    bc : {"periodic", "kinematic", "static", "mixed"}, default "periodic"
    discretization : {"q1", "fv"}, default "q1"
        Finite volumes for conductivity only.
    preconditioner : {"auto", "fft", "multigrid"}, default "auto"
        ``"auto"`` is resolved as `sve.apparent_conductivity` resolves it from
        `tensors`, `voids`, `spacing` and `contrast`; without `contrast` (the
        largest over the smallest conductivity), the larger estimate of its two
        candidates. Elasticity: ``"auto"`` is ``"fft"``; ``"multigrid"`` periodic
        3-D only.
    tensors : bool, default False
        Anisotropic conductivity tensors (not multiples of the identity).
    voids : bool, default False
        A phase of zero conductivity or stiffness.
    spacing : float or tuple of float, optional
        Voxel edges (box voxels change what ``"auto"`` takes).
    contrast : float, optional
        Largest over smallest conductivity, for ``"auto"``.
    precision : {"double", "single"}, default "double"
        ``"single"`` (conductivity only): float32 conjugate-gradient vectors
        (``r`` and one buffer of 8 bytes for ``z`` and ``p`` or the float64
        residual: 12 bytes instead of 24) and, under static conditions, float32
        kept solutions (the one being solved stays float64: ``4 d + 8`` bytes
        instead of ``8 d``; the other conditions keep what double precision
        keeps); the measured part is that of double precision.
    cases_at_once : int, optional
        Load cases solved at the same time (``_core/threads.run_cases``; elasticity
        under periodic, kinematic and mixed conditions without voids; conductivity
        solves them in turn): each further one adds its work arrays (`_CONCURRENT`).
        Default: as many as the solve takes without a memory limit,
        ``threads.case_threads`` (Numba's thread count in force, at most the load cases
        of a block); a solve whose limit does not allow that many takes fewer, down to
        one.

    Returns
    -------
    MemoryEstimate
        ``bytes`` (the peak growth of resident memory of the solve over its
        input), ``bytes_per_voxel`` and ``breakdown`` (bytes per array or group
        of arrays: the conductivity field, tensors, the kept solutions, the
        conjugate-gradient vectors, the measured preconditioner and
        temporaries, voids, and the fixed part).

    Notes
    -----
    The model, in bytes, is ``B = c G + B0``: ``G`` grid points (the nodes
    ``prod(n_i + 1)`` for Q1 under kinematic, static and mixed conditions,
    the voxels ``prod(n_i)`` otherwise), ``c`` bytes per grid point and
    ``B0 = FIXED_BYTES`` (2 MiB). ``c`` is the sum of the arrays counted in
    the code, in bytes per grid point (``d`` the dimension):

    * the conductivity of every voxel, float64: 8 (per voxel, tensors; per-phase
      scalars are read from the labels instead, a void phase included: 0);
    * tensors: their index per voxel, int32: 4 (per voxel);
    * the solution being solved, float64: 8, and (periodic, kinematic) the
      float16 force of every load case but the last, for the cross terms of
      the Hill-Mandel defect: ``2 (d - 1)`` (float32 under ``stop="tensor"``:
      ``4 (d - 1)``, not counted); static conditions keep every solution,
      float64: ``8 d``; elasticity ``8 d m`` (``m = d (d + 1) / 2`` load
      cases of ``d`` components). Q1 multigrid in double precision from
      ``pcg.FREE_FROM`` points keeps no solution (``pcg.pcg_free``), static
      conditions the float16 forces ``2 (d - 1)`` instead (local fields and
      ``stop="tensor"`` keep it: 8 more, not counted);
    * three conjugate-gradient vectors, float64: 24 (conductivity), ``24 d``
      (elasticity);

    and of a part measured with ``benchmarks/bench_memory.py`` (VmHWM of a
    fresh interpreter after the solve minus its VmRSS before it, at 128**3
    and 1024**2, voids at 70 % solid): the preconditioner (the multigrid
    hierarchy; the conductivity transforms keep no array of the image), the
    load, the clusters of voids and the temporaries. Measured totals ``c``
    in 3-D, scalar conductivity, no voids (both discretizations read the
    labels): with the transforms the counted arrays alone, 32 (mixed), 36
    (periodic, kinematic) and 48 (static) bytes (Q1 and finite volumes);
    with multigrid 40-44 (Q1: 42 periodic, 40 mixed, 44 static, since it
    keeps no solution; 50, 52 and 64 before, 65-80 before its level 0
    stopped storing fields, ``q1_multigrid._Slabs``),
    35-39 (finite volumes); voids add 0-10 (the clusters' int32 labels, and
    under Dirichlet conditions the voided labels of a load case; measured at
    128**3, 240**3 and 1024**2 in 2026-12; before, with int64 labels and a
    float64 field, the field and 0-16, finite volumes 31-57), tensors the
    field and 3-11 (finite volumes 51-72);
    ``precision="single"`` 12-16 less; elasticity 287 (mixed), 426
    (kinematic), 440 (periodic: 429 measured one case at a time in
    2026-12, 476 before), 963 (static), 520
    (periodic, multigrid: measured at 64**3, 519, where the transforms took
    466), voids add 140-165, and every further load case solved at once 27
    (mixed), 86 (kinematic) or 65 (periodic: 31-99 measured, as the two
    cases' peaks meet). In 2-D: 32-40 (conductivity, transforms), 66-72 (Q1,
    multigrid; 9 more saved by ``precision="single"``, whose multigrid
    vectors are float32), 43-45 (finite volumes, multigrid), elasticity
    167-341 (periodic 195), a further load case at once 56-80. The Q1
    multigrid figures are those of the record ``memory_q1mg`` (160**3 and
    1024**2: 1.00 to 1.14 of its peaks).
    Measured from 128**3 to 500**3 and at 1024**2 the estimate was within
    15 % of the peak (0.96 to 1.16 in the records ``memory``,
    ``memory_precision`` and ``memory_500`` of ``benchmarks/records``, the
    largest for 2-D periodic elasticity; the slow tests of
    ``tests/sve/solvers/_core/test_memory.py``); at 64**3, where the fixed
    part is 8 bytes per voxel, it is up to 1.35 times the peak (conductivity
    with the transforms). The conductivity figures were
    measured again (``python benchmarks/bench_memory.py --sizes 128
    --sizes-2d 1024 --only conductivity --no-record``) after the transforms
    stopped keeping a symbol and buffers (they run in the memory of the
    preconditioned residual) and the periodic and kinematic solves kept
    their forces in float16.

    Limits: with voids the elasticity solve searches the zero-energy modes
    of the solid parts (``sve/solvers/elasticity/voids.py``), whose memory
    grows with the number of floating parts faster than the image: a
    2048**2 periodic image at 50 % solid peaked at 18.1 GB (4300 bytes per
    voxel) where 1024**2 took 329 bytes per voxel; the estimate does not
    see that. Voids at another solid fraction than the 70 % measured change
    the elasticity figure (at 50 %: 10-30 % less than estimated).

    Examples
    --------
    >>> from sve.solvers import memory_estimate
    >>> estimate = memory_estimate((256, 256, 256), preconditioner="fft")
    >>> 0.5 < estimate.bytes / 2**30 < 1.0  # GiB: 36 bytes per voxel (periodic Q1)
    True
    """
    shape = tuple(int(n) for n in shape)
    if len(shape) not in (2, 3) or min(shape) < 2:
        raise ValueError(f"shape must be 2-D or 3-D with at least 2 voxels per axis, got {shape}")
    if property not in PROPERTIES:
        raise ValueError(f"property must be one of {PROPERTIES}, got {property!r}")
    from sve.solvers._core.bc import canonical_bc

    bc = canonical_bc(bc)
    if discretization not in ("q1", "fv"):
        raise ValueError(f"discretization must be 'q1' or 'fv', got {discretization!r}")
    if property == "elasticity" and discretization != "q1":
        raise ValueError("discretization must be 'q1' for elasticity")
    if preconditioner not in ("auto", "fft", "multigrid"):
        raise ValueError(
            f"preconditioner must be 'auto', 'fft' or 'multigrid', got {preconditioner!r}"
        )
    if precision not in ("double", "single"):
        raise ValueError(f"precision must be 'double' or 'single', got {precision!r}")
    if property == "elasticity" and precision != "double":
        raise ValueError("precision='single' is for conductivity only")
    if preconditioner == "auto":
        options = _candidates(
            shape,
            property=property,
            bc=bc,
            discretization=discretization,
            tensors=tensors,
            voids=voids,
            spacing=spacing,
            contrast=contrast,
        )
        estimates = [
            memory_estimate(
                shape,
                property=property,
                bc=bc,
                discretization=discretization,
                preconditioner=option,
                tensors=tensors,
                voids=voids,
                precision=precision,
                cases_at_once=cases_at_once,
            )
            for option in options
        ]
        return max(estimates, key=lambda e: e.bytes)
    ndim = len(shape)
    voxels = int(np.prod(shape, dtype=np.float64))
    points = _points(shape, bc, discretization)
    ratio = voxels / points
    counted: dict[str, float] = {}
    if property == "conductivity":
        if tensors:  # per-phase scalars are read from the labels (``fv.Phases``)
            counted["conductivity field (float64 per voxel)"] = 8.0 * ratio
            counted["tensor index (int32 per voxel)"] = 4.0 * ratio
        if bc == "mixed":  # one load case at a time
            counted["solution (float64)"] = 8.0
        elif bc == "static":
            counted["solutions kept (float64, one per load case)"] = 8.0 * ndim
        else:  # periodic, kinematic: the forces of the cases before, for Hill-Mandel
            counted["solution (float64)"] = 8.0
            counted["forces kept (float16, one per load case but the last)"] = 2.0 * (ndim - 1)
        counted["conjugate-gradient vectors (3 float64)"] = 24.0
    else:
        cases = ndim * (ndim + 1) // 2
        counted["solutions kept (float64, d per node and load case)"] = 8.0 * ndim * cases
        counted["conjugate-gradient vectors (3 float64 per component)"] = 24.0 * ndim
    key = (property, bc, discretization, preconditioner, ndim)
    if key not in _PER_POINT:
        raise ValueError(
            f"no {preconditioner!r} preconditioner for {property} with bc={bc!r}, "
            f"discretization={discretization!r} in {ndim}-D"
        )
    total = _PER_POINT[key]
    if property == "conductivity" and tensors:
        total += 8.0 * ratio  # the float64 field the solvers read then (counted)
    if tensors:
        total += _TENSORS.get((bc, discretization, ndim), max(_TENSORS.values(), default=0.0))
    free = (
        property == "conductivity"
        and discretization == "q1"
        and preconditioner == "multigrid"
        and points >= _free_from()
    )
    if free and precision == "double":  # no solution kept (``pcg.pcg_free``); static: forces
        saved = counted.pop("solution (float64)", 0.0)
        if bc == "static":
            saved = counted.pop("solutions kept (float64, one per load case)") - 2.0 * (ndim - 1)
            counted["forces kept (float16, one per load case but the last)"] = 2.0 * (ndim - 1)
        total -= saved
    name = f"{'multigrid hierarchy' if preconditioner == 'multigrid' else 'transform buffers'}"
    rest = total - sum(counted.values())
    counted[f"{name}, load and temporaries (measured)"] = max(rest, 0.0)
    if precision == "single":  # the same measured part, the counted vectors in float32
        del counted["conjugate-gradient vectors (3 float64)"]
        if bc == "static" and free:  # forces kept, not temperatures (``_static_forces``)
            del counted["solutions kept (float64, one per load case)"]
            counted["solution (float64)"] = 8.0
            counted["forces kept (float16, one per load case but the last)"] = 2.0 * (ndim - 1)
        elif bc == "static":  # periodic, kinematic, mixed: as in double precision
            del counted["solutions kept (float64, one per load case)"]
            counted["solutions kept (float32; the one being solved float64)"] = 4.0 * ndim + 8.0
        counted["conjugate-gradient vectors (float32 r, z, p)"] = 12.0
        if preconditioner == "multigrid" and property == "conductivity":
            saved = _SINGLE_MULTIGRID.get((discretization, ndim), 0.0)
            measured = f"{name}, load and temporaries (measured)"
            counted[measured] = max(counted[measured] - saved, 0.0)
    if voids:
        extra = _VOIDS.get((property, bc, discretization, ndim))
        if extra is None:  # not measured: the largest extra of the property and dimension
            extra = max(
                (v for (p, _, _, n), v in _VOIDS.items() if p == property and n == ndim),
                default=0.0,
            )
        counted["void clusters and projection (measured)"] = extra
    at_once = _cases_at_once(property, bc, ndim, voids, cases_at_once)
    if at_once > 1:
        counted[f"{at_once - 1} more load case(s) solved at once (measured)"] = (
            at_once - 1
        ) * _CONCURRENT[property, bc, ndim]
    breakdown = {name: int(np.ceil(per * points)) for name, per in counted.items()}
    breakdown["fixed (interpreter, plans, small arrays)"] = FIXED_BYTES
    total_bytes = int(sum(breakdown.values()))
    return MemoryEstimate(
        bytes=total_bytes,
        bytes_per_voxel=total_bytes / voxels,
        breakdown=breakdown,
        shape=shape,
        property=property,
        bc=bc,
        discretization=discretization,
        preconditioner=preconditioner,
        tensors=bool(tensors),
        voids=bool(voids),
        per_point=float(sum(counted.values())),
        points=points,
        precision=precision,
    )


def _free_from() -> int:
    """``pcg.FREE_FROM``: unknowns from which Q1 multigrid keeps no solution (double)."""
    from sve.solvers._core.pcg import FREE_FROM

    return FREE_FROM


def _largest_edge(estimate: MemoryEstimate, limit: int) -> int:
    """Largest cubic (square) window edge whose estimate of the same case fits `limit`."""
    ndim = len(estimate.shape)
    room = limit - estimate.fixed
    if room <= 0:
        return 0
    edge = int((room / estimate.per_point) ** (1.0 / ndim)) + 1
    while edge >= 2:
        points = _points((edge,) * ndim, estimate.bc, estimate.discretization)
        if estimate.per_point * points + estimate.fixed <= limit:
            return edge
        edge -= 1
    return 0


def _gb(value: float) -> str:
    return f"{value / 1e9:.3g} GB"


#: Below this upper bound a solve is not checked against the machine (reading its
#: available memory costs about 0.5 ms, as much as a small solve's budget).
SMALL_BYTES = 64 * 2**20


def upper_bound(shape: tuple[int, ...]) -> float:
    """Bytes no solve of `shape` exceeds by the model: the largest per-point cost of any
    case (voids, tensors and load cases solved at once included) on the node grid, plus
    `FIXED_BYTES`.
    """
    from sve.solvers._core.threads import case_threads

    ndim = len(shape)
    per_point = (
        max(v for k, v in _PER_POINT.items() if k[-1] == ndim)
        + max((v for k, v in _VOIDS.items() if k[-1] == ndim), default=0.0)
        + max((v for k, v in _TENSORS.items() if k[-1] == ndim), default=0.0)
        + max((v for k, v in _CONCURRENT.items() if k[-1] == ndim), default=0.0)
        * (case_threads(ndim * (ndim + 1) // 2) - 1)
    )
    return per_point * float(np.prod([n + 1 for n in shape], dtype=np.float64)) + FIXED_BYTES


def memory_limit_bytes(
    memory_limit: object | None, shape: tuple[int, ...] | None = None
) -> tuple[int | None, str]:
    """The limit a solve of `shape` is checked against, in bytes, and where it comes from:
    `memory_limit` (bytes or a string such as "8 GB") if given, else `available_memory`;
    None (no check) where that is unknown, or when no solve of `shape` reaches
    `SMALL_BYTES` and `memory_limit` is not given.
    """
    if memory_limit is None:
        if shape is not None and upper_bound(shape) <= SMALL_BYTES:
            return None, ""
        return available_memory(), "available (MemAvailable, or the cgroup limit if lower)"
    return parse_memory(memory_limit), "memory_limit"


def check_budget(
    estimate: MemoryEstimate,
    limit: int | None,
    function: str,
    *,
    source: str = "memory_limit",
    alternatives: dict[str, MemoryEstimate] | None = None,
) -> None:
    """Raise `MemoryBudgetError` if `estimate` exceeds `limit` bytes (None: no check).
    `alternatives` maps a change of argument (e.g. ``"preconditioner='fft'"``) to its
    estimate; those that fit are named in the message, with the largest window edge that
    fits.
    """
    if limit is None:
        return
    if estimate.bytes <= limit:
        return
    fits = [
        f"{change} (about {_gb(other.bytes)})"
        for change, other in (alternatives or {}).items()
        if other.bytes <= limit
    ]
    edge = _largest_edge(estimate, limit)
    ndim = len(estimate.shape)
    if edge >= 2:
        fits.append(f"a window of at most {edge}" + (f"**{ndim}" if ndim > 1 else "") + " voxels")
    largest = max(estimate.breakdown.items(), key=lambda item: item[1])
    message = (
        f"{function}: the solve of a {'x'.join(map(str, estimate.shape))} image "
        f"(bc={estimate.bc!r}, discretization={estimate.discretization!r}, "
        f"preconditioner={estimate.preconditioner!r}"
        f"{', tensors' if estimate.tensors else ''}{', voids' if estimate.voids else ''}) "
        f"needs about {_gb(estimate.bytes)} ({estimate.bytes_per_voxel:.0f} bytes per voxel; "
        f"largest item: {largest[0]}, {_gb(largest[1])}), but {_gb(limit)} is {source}; "
        + ("what would fit: " + "; ".join(fits) if fits else "nothing smaller would fit")
        + " (sve.solvers.memory_estimate gives the breakdown)"
    )
    raise MemoryBudgetError(message, estimate.bytes, limit, estimate)


#: Bytes per grid point of every load case solved beside the first (``threads.run_cases``):
#: its conjugate-gradient vectors, load, transform buffers and temporaries, measured as
#: the peak growth on 2 threads minus that on 1 (``NUMBA_NUM_THREADS=1``), fresh
#: interpreters, ``benchmarks/bench_memory.py`` at 128**3 and 1024**2 (2026-12-07):
#: (property, bc, ndim) -> bytes. The multigrid preconditioner (periodic 3-D) is taken
#: as the transforms. Cases not listed (conductivity: docs/solver_notes.rst, "Threads")
#: run one at a time.
_CONCURRENT: dict[tuple[str, str, int], float] = {
    ("elasticity", "periodic", 2): 80.0,
    ("elasticity", "periodic", 3): 65.0,  # 31-99 measured (how the two peaks meet): the middle
    ("elasticity", "kinematic", 2): 56.0,
    ("elasticity", "kinematic", 3): 86.0,
    ("elasticity", "mixed", 2): 80.0,
    ("elasticity", "mixed", 3): 27.0,
}


def load_cases_of(property: str, bc: str, ndim: int) -> int:
    """Load cases of one block of a solve (run together by ``threads.run_cases``)."""
    if property == "elasticity":
        return ndim if bc == "mixed" else ndim * (ndim + 1) // 2
    return ndim


def _cases_at_once(property, bc, ndim, voids, requested) -> int:
    """The load cases a solve runs at once (1 where it runs them in turn)."""
    if voids or (property, bc, ndim) not in _CONCURRENT:
        return 1
    if requested is None:
        from sve.solvers._core.threads import case_threads

        requested = case_threads(load_cases_of(property, bc, ndim))
    return max(1, int(requested))


def cases_that_fit(limit: int | None, shape: tuple[int, ...], **case) -> int | None:
    """The most load cases a solve of `case` (`memory_estimate`'s arguments) runs at once
    within `limit` bytes: ``threads.case_threads``, fewer (down to 1) where the limit
    needs it; None where there is no limit.
    """
    if limit is None:
        return None
    from sve.solvers._core.threads import case_threads

    at_once = case_threads(load_cases_of(case["property"], case["bc"], len(shape)))
    while at_once > 1 and memory_estimate(shape, cases_at_once=at_once, **case).bytes > limit:
        at_once -= 1
    return at_once
