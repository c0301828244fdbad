"""Run a study on Dask: sizes × realizations as tasks, results into the store.

Only this module knows Dask. Tasks are :func:`sve.study.tasks.solve_batch`
calls (pure functions of the spec, one size and a run of realizations); the
client writes each finished batch into the Zarr store as it arrives, so an
interrupted study resumes from what is done.

Adaptive studies (``sampling.adaptive_target``) run in rounds per size: the
batches of every size's current round are submitted together; when the last
batch of a size's round arrives, :func:`sve.study.adaptive.adaptive_progress`
judges the size on the realizations it has and either finishes it (the
realizations it did not need are marked ``absent``) or submits its next
round. Other sizes keep the workers busy meanwhile. A batch that failed
halts its size for this run (its round cannot be judged); a rerun retries
it and carries on.

Parameter sweeps (:mod:`sve.study.sweep`) run every value's sub-study in the
same loop: one store per value, all batches submitted together.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import json
import logging
import os
import time
import warnings
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO
from urllib.parse import urlparse

import dask
import numpy as np
import xarray as xr
import zarr
from distributed import Client, LocalCluster, as_completed
from distributed.diagnostics.plugin import WorkerPlugin

from sve.solvers import (
    UnresolvedThroatWarning,
    apparent_conductivity,
    apparent_permeability,
    apparent_stiffness,
)
from sve.study.adaptive import SizeProgress, adaptive_progress
from sve.study.schema import STATUS, completed, empty_dataset
from sve.study.spec import StudySpec, load_spec
from sve.study.store import (
    close_interrupted_run,
    create_store,
    create_sweep_store,
    open_group,
    record_run,
    write_records,
)
from sve.study.sweep import combine_sweep
from sve.study.tasks import absent_batch, failed_batch, flow_options, solve_batch
from sve.study.whole import WHOLE_IMAGE_ATTR, WHOLE_IMAGE_BUDGET_ATTR, solve_whole_image

__all__ = ["run_study", "batches"]

#: Extra attempts of a task that raised (worker deaths are retried by the scheduler
#: itself, up to its ``allowed-failures``); after them the batch is recorded ``failed``.
TASK_RETRIES = 1

#: Seconds between store writes while results arrive faster than they are written
#: (at most this much finished work is recomputed after a kill).
FLUSH_INTERVAL = 1.0


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def batches(spec: StudySpec) -> list[tuple[int, range]]:
    """All ``(size_index, realizations)`` tasks, largest sizes first.

    A batch covers ``spec.task_batch(size)`` consecutive realizations of one size. An
    adaptive study's later rounds are not known in advance: these are the
    batches of its first round (:func:`round_batches` splits the others).
    """
    return [
        (s, range(r, min(r + batch, spec.realizations)))
        for s in reversed(range(len(spec.sizes)))
        for batch in [spec.task_batch(spec.sizes[s])]
        for r in range(0, spec.realizations, batch)
    ]


def round_batches(spec: StudySpec, size_index: int, rounds: tuple[int, ...]) -> list[range]:
    """The batches of an adaptive size's rounds (ends ``rounds``): each round from its
    start in runs of ``spec.task_batch(size)`` realizations.
    """
    batch = spec.task_batch(spec.sizes[size_index])
    starts = (0, *rounds[:-1])
    return [
        range(r, min(r + batch, end))
        for start, end in zip(starts, rounds, strict=True)
        for r in range(start, end, batch)
    ]


def _runs(batch: range, needed: np.ndarray) -> list[range]:
    """The longest runs of consecutive realizations of `batch` that are `needed` (bool,
    indexed by realization): a batch whose realizations are all needed stays whole; one
    that a run with another batch (``solver.batch``) left half done sends only the rest.
    """
    runs, start = [], None
    for r in batch:
        if needed[r] and start is None:
            start = r
        elif not needed[r] and start is not None:
            runs.append(range(start, r))
            start = None
    if start is not None:
        runs.append(range(start, batch.stop))
    return runs


def _adaptive_todo(
    ds: xr.Dataset, spec: StudySpec, size_index: int, retry: bool
) -> tuple[list[range], SizeProgress]:
    """The batches an adaptive size needs now, and its progress.

    ``retry``: include failed records (the start of a run); during a run only
    pending records are submitted, so a failed batch halts its size.
    """
    progress = adaptive_progress(ds, spec, size_index)
    if progress.state != "running":
        return [], progress
    status = ds["status"].values[size_index]
    wanted = [STATUS["pending"], STATUS["failed"]] if retry else [STATUS["pending"]]
    needs = np.isin(status, wanted).reshape(status.shape[0], -1).any(axis=1)
    todo = [
        part for r in round_batches(spec, size_index, progress.rounds) for part in _runs(r, needs)
    ]
    return todo, progress


def _close_size(ds: xr.Dataset, spec: StudySpec, size_index: int, used: int) -> set:
    """Mark the realizations ``used ..`` of a finished adaptive size absent; the touched
    ``(size_index, realization)`` pairs (none when they already are).
    """
    n = spec.max_realizations
    if used >= n or (ds["status"].values[size_index, used:] == STATUS["absent"]).all():
        return set()
    _fill(ds, size_index, range(used, n), absent_batch(spec, n - used))
    return {(size_index, r) for r in range(used, n)}


def _warm_numba_cache(spec: StudySpec) -> None:
    """Compile (or load) the study's kernels once here so that workers load them from disk.

    A heterogeneous image (two voxels of phase 1 in a corner: not the voxel
    checkerboard, which the Q1 affine field solves exactly), so that CG
    iterates and every kernel of the property is compiled.
    """
    phases = np.zeros((4,) * spec.ndim, dtype=np.int8)
    phases[:2, :1] = 1
    if spec.property == "permeability":  # a channel of two voxel rows, the rest solid
        channel = np.full((6,) * spec.ndim, 1 - spec.pore_label, dtype=np.int8)
        channel[1:3] = spec.pore_label
        with warnings.catch_warnings():  # its throat is narrow on purpose
            warnings.simplefilter("ignore", UnresolvedThroatWarning)
            for bc in spec.bc:
                apparent_permeability(channel, bc=bc, **{**flow_options(spec), "tol": 1e-3})
    elif spec.property == "conductivity":
        apparent_conductivity(phases, [1.0, 2.0], tol=1e-3)
    elif spec.polycrystal:  # two grains: the crystal and twice its stiffness
        crystal = spec.crystal_stiffness()
        apparent_stiffness(phases, [crystal, 2 * crystal], tol=1e-3)
    else:
        apparent_stiffness(phases, spec.phase_stiffness(), tol=1e-3)


# The embedded cluster's workers run without Dask's statistical profiler: every 10 ms it
# took the GIL from the task's thread to sample its stack, and the worker's event loop
# spent 1.0-1.1 ms of CPU per 64^2 SVE with it against 0.47-0.50 without (about 5 % of a
# tensor; solver notes, "Small SVEs", ninth round). The dashboard's "Profile" page stays
# empty; a cluster of one's own (``client=``) keeps its configuration.
EMBEDDED_WORKER_CONFIG = {"distributed.worker.profile.enabled": False}


def _client(stack: ExitStack, client: Client | str | None, workers: int | None) -> Client:
    """The client of `client` (a Client, a scheduler address, or None: an embedded
    ``LocalCluster`` of `workers` processes, closed with `stack`), its workers' allocator
    tuned (`AllocatorPlugin`).
    """
    dask_client = _connect(stack, client, workers)
    dask_client.register_plugin(AllocatorPlugin())
    return dask_client


def _connect(stack: ExitStack, client: Client | str | None, workers: int | None) -> Client:
    if isinstance(client, Client):
        return client
    if isinstance(client, str):
        return stack.enter_context(Client(client))
    if client is not None:
        raise TypeError(
            f"client must be a distributed.Client, a scheduler address or None, "
            f"got {type(client).__name__}"
        )
    n = workers if workers is not None else os.cpu_count() or 1
    with dask.config.set(EMBEDDED_WORKER_CONFIG):  # read by the nannies as they are made
        cluster = stack.enter_context(
            LocalCluster(
                n_workers=n,
                threads_per_worker=1,
                processes=True,
                dashboard_address=":0",  # any free port: never collides with another cluster
                silence_logs=logging.ERROR,
            )
        )
    return stack.enter_context(Client(cluster))


# glibc's malloc on the workers (``mallopt``): arrays below MMAP_THRESHOLD come from the
# heap, which keeps up to TRIM_THRESHOLD free at its top. Dask's nannies start workers with
# ``MALLOC_TRIM_THRESHOLD_=65536``, which also fixes the mmap threshold at 128 KiB: every
# field of a small SVE (256 KiB at 32^3) was then mapped and unmapped, 1500-1700 page
# faults and 5-7 ms of system time per 32^3 tensor, none in a plain process (solver notes,
# "Small SVEs", eighth round). Larger arrays are mapped and returned at once, as before.
MMAP_THRESHOLD = 4 * 2**20
TRIM_THRESHOLD = 32 * 2**20
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's malloc.h


def tune_allocator() -> bool:
    """Set this process's glibc malloc thresholds (`MMAP_THRESHOLD`, `TRIM_THRESHOLD`);
    False where the C library has no ``mallopt`` (not glibc) or refuses them.
    """
    try:
        mallopt = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(
        mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)
    )


class AllocatorPlugin(WorkerPlugin):
    """`tune_allocator` on every worker of a study's cluster, embedded or not (and on
    workers that join later).
    """

    name = "sve-allocator"

    def setup(self, worker) -> None:
        tune_allocator()


def _scheduler(dask_client: Client, client: Client | str | None) -> str:
    """The scheduler a run used, as its history records it."""
    return dask_client.scheduler.address if client is not None else "embedded LocalCluster"


def _verdict(spec: StudySpec, progress: SizeProgress, submitted: int) -> str:
    """One progress line of an adaptive size whose round has just come in."""
    rel = f"relative CI half-width {progress.relative_half_width:.3g}"
    if progress.state == "reached":
        return f"target reached with {progress.realizations} realizations ({rel})"
    if progress.state == "budget":
        return f"budget of {progress.realizations} realizations used ({rel}), target not reached"
    if not submitted:
        return "halted: a batch of its round failed (a rerun retries it)"
    return f"{rel}: next round up to {progress.realizations} realizations"


def _bar(done: int, total: int, width: int = 20) -> str:
    """A text progress bar, e.g. ``[#######-------------]``."""
    filled = round(width * done / total) if total else width
    return "[" + "#" * filled + "-" * (width - filled) + "]"


def _fill(ds: xr.Dataset, size_index: int, realizations: range, out: dict) -> None:
    for name, value in out.items():
        ds[name].values[size_index, realizations.start : realizations.stop] = value


def run_study(
    spec: StudySpec | dict | str | Path,
    *,
    client: Client | str | None = None,
    store: str | Path | None = None,
    overwrite: bool = False,
    workers: int | None = None,
    log: TextIO | None = None,
) -> xr.Dataset:
    """Run a size-convergence study and return its dataset.

    Parameters
    ----------
    spec : StudySpec, dict, or path to a TOML file
        Validated with :func:`sve.study.load_spec` before any work starts.
    client : distributed.Client, str or None
        An existing client, or the address of a running scheduler
        (``"tcp://host:8786"``). ``None`` starts an embedded
        ``distributed.LocalCluster`` (worker processes with one thread each)
        for the duration of the call.
    store : path or None
        Zarr store written as batches finish. An existing store with the same
        spec is resumed: finished batches are not recomputed, failed ones are
        retried. ``None``: the spec's top-level ``store`` if it names one, else
        the results stay in memory only.
    overwrite : bool
        Discard an existing store that holds a different spec.
    workers : int or None
        Number of local worker processes (default: all cores); ignored when
        ``client`` is given.
    log : text stream or None
        Where to print progress lines (the command line passes stderr).

    Returns
    -------
    xarray.Dataset
        The study dataset (schema in :mod:`sve.study.schema`), loaded in memory.
        A parameter sweep (a ``[sweep]`` table): its sub-studies' datasets
        joined along a leading dimension ``sweep`` whose coordinate holds the
        swept values (:func:`sve.study.sweep.combine_sweep`); ``store`` is
        then the sweep's store, a group of one study store per value
        (:mod:`sve.study.sweep`).

    Notes
    -----
    A task that raises is retried once; if it fails again (or its workers keep
    dying) its records get status ``failed`` with the error text in
    ``error``, and the rest of the study completes. Provenance of every run
    (times, workers, scheduler, task counts) is appended to
    ``attrs["runs"]``.

    Every realization's random stream depends only on the root seed, the size
    and the realization index (:func:`sve.study.seeding.realization_rng`), so
    the dataset is bit-identical whatever the client, the number of workers
    or the order in which tasks finish. The sub-studies of a sweep share the
    root seed (common random numbers) and run on one client, their batches
    submitted together; each equals the study of its own spec run alone.
    """
    spec = load_spec(spec)
    if store is None and spec.store:
        store = spec.store
    if workers is not None and (
        isinstance(workers, bool) or not isinstance(workers, int) or workers < 1
    ):
        raise ValueError(f"workers must be an integer >= 1, got {workers!r}")
    say = (lambda text: print(text, file=log, flush=True)) if log else (lambda text: None)
    if spec.swept:
        subs = spec.sweep_specs()
        stores = (
            create_sweep_store(spec, store, overwrite=overwrite) if store is not None else None
        )
        say(
            f"sweep {spec.name!r}: {spec.sweep_field} = "
            f"{', '.join(f'{v:g}' for v in spec.sweep_values)} ({len(subs)} sub-studies, "
            "same root seed)"
        )
        parts = [
            _prepare(
                sub,
                stores[k] if stores is not None else None,
                False,
                f"[{spec.sweep_field} = {spec.sweep_values[k]:g}] ",
                say,
            )
            for k, sub in enumerate(subs)
        ]
    else:
        parts = [_prepare(spec, store, overwrite, "", say)]
    _execute(parts, client, workers, say)
    if spec.swept:
        return combine_sweep(spec, [part.ds for part in parts])
    return parts[0].ds


@dataclass
class _Part:
    """One study of a run: the study itself, or one value of a parameter sweep."""

    spec: StudySpec
    ds: xr.Dataset  # in memory, updated as batches arrive
    store: Path | None
    label: str  # prefix of its progress lines ("" for a plain study)
    todo: list[tuple[int, range]]
    group: zarr.Group | None = None
    tasks: int = 0
    failures: int = 0
    whole: bool = False  # an image study whose whole image is still to be tried


def _prepare(spec: StudySpec, store: str | Path | None, overwrite: bool, label: str, say) -> _Part:
    """Create or resume a study's store and find the batches it needs now."""
    if store is not None:
        store = Path(store)
        ds = create_store(spec, store, overwrite=overwrite).load()
    else:
        ds = empty_dataset(spec)
    name = label.strip() or f"study {spec.name!r}"
    if spec.adaptive:
        todo, closed = [], set()
        for s in reversed(range(len(spec.sizes))):  # largest sizes first, as batches()
            size_todo, progress = _adaptive_todo(ds, spec, s, retry=True)
            todo += [(s, r) for r in size_todo]
            if progress.state != "running":  # finished; its tail may be unmarked (a kill)
                closed |= _close_size(ds, spec, s, progress.realizations)
        if closed and store is not None:
            write_records(open_group(store), ds, closed)
        say(
            f"{name}: {len(todo)} tasks to run now (adaptive: rounds of "
            f"realizations per size until the relative CI half-width is <= "
            f"{spec.adaptive_target:g}, at most {spec.max_realizations})"
        )
    else:
        done = completed(ds)
        todo = [(s, part) for s, r in batches(spec) for part in _runs(r, ~done[s])]
        say(f"{name}: {len(todo)} of {len(batches(spec))} tasks to run")

    if "active_run" in ds.attrs:  # the run before this one was killed: keep it in the history
        close_interrupted_run(ds, open_group(store) if store is not None else None)
        say(f"{name}: the run started {json.loads(ds.attrs['runs'])[-1]['started']} was "
            "interrupted; its finished records are kept")  # fmt: skip
    whole = bool(spec.image) and WHOLE_IMAGE_ATTR not in ds.attrs
    if whole:
        say(f"{name}: the whole image is solved if the memory model admits it per worker")
    return _Part(spec=spec, ds=ds, store=store, label=label, todo=todo, whole=whole)


def _record_whole(part: _Part, future, say) -> None:
    """Store the whole image's outcome (:mod:`sve.study.whole`) in the dataset and store."""
    try:
        outcome = future.result()
    except Exception as err:  # a failed solve is not an answer: a rerun tries again
        say(f"  {part.label}the whole image FAILED ({err!r}); a rerun tries it again")
        return
    if outcome["mode"] == "solved":
        say(f"  {part.label}the whole image is solved (memory estimate "
            f"{outcome['estimate_bytes'] / 2**20:.1f} MiB)")  # fmt: skip
    else:
        say(f"  {part.label}the whole image is not solved: {outcome['reason']}; its value is "
            "extrapolated from the windows and the variance law")  # fmt: skip
    budget = {key: outcome.pop(key) for key in ("budget_bytes", "wall_time")}
    part.ds.attrs[WHOLE_IMAGE_ATTR] = json.dumps(outcome)
    part.ds.attrs[WHOLE_IMAGE_BUDGET_ATTR] = json.dumps(budget)
    if part.store is not None:
        group = part.group or open_group(part.store)
        for key in (WHOLE_IMAGE_ATTR, WHOLE_IMAGE_BUDGET_ATTR):
            group.attrs[key] = part.ds.attrs[key]


def _execute(parts: list[_Part], client: Client | str | None, workers: int | None, say) -> None:
    """Run the batches of every part on one Dask client, writing results as they arrive.

    All parts' batches are submitted together (largest sizes first), so the
    workers stay busy across the values of a sweep.
    """
    todo = sorted(
        ((p, s, r) for p, part in enumerate(parts) for s, r in part.todo),
        key=lambda task: -parts[task[0]].spec.sizes[task[1]],
    )  # stable: each part keeps its own order
    if not todo and not any(part.whole for part in parts):
        return
    _warm_numba_cache(parts[0].spec)
    started, start = _now(), time.perf_counter()
    with ExitStack() as stack:
        dask_client = _client(stack, client, workers)
        addresses = list(dask_client.scheduler_info(n_workers=-1)["workers"])
        n_workers, n_hosts = len(addresses), len({urlparse(a).hostname for a in addresses})
        say(
            f"  {n_workers} workers on {n_hosts} host(s); Dask dashboard: "
            f"{dask_client.dashboard_link}"
        )
        for part in parts:
            part.tasks = len(part.todo)
            if part.store is not None and part.todo:  # `sve status` shows it until the run ends
                part.group = open_group(part.store)
                part.group.attrs["active_run"] = json.dumps(
                    {
                        "started": started,
                        "tasks": len(part.todo),
                        "workers": n_workers,
                        "hosts": n_hosts,
                        "scheduler": _scheduler(dask_client, client),
                    }
                )

        def submit(p: int, s: int, r: range):
            spec = parts[p].spec
            return dask_client.submit(
                solve_batch, spec, spec.sizes[s], r, pure=False, retries=TASK_RETRIES
            )

        # the whole image first (the longest task), beside the windows
        wholes = {
            p: dask_client.submit(solve_whole_image, part.spec, pure=False, retries=TASK_RETRIES)
            for p, part in enumerate(parts)
            if part.whole
        }
        futures = {submit(p, s, r): (p, s, r) for p, s, r in todo}
        outstanding = [
            np.bincount([s for s, _ in part.todo], minlength=len(part.spec.sizes))
            for part in parts
        ]
        k, total, flushed = 0, len(todo), time.perf_counter()
        unwritten: list[set] = [set() for _ in parts]
        results = as_completed(futures)
        for finished in results.batches():  # every result ready now
            for future in finished:
                p, s, r = futures.pop(future)
                part, spec = parts[p], parts[p].spec
                try:
                    out, state = future.result(), "done"
                except Exception as err:  # the task raised, or its workers kept dying
                    out, state = failed_batch(spec, r, err), f"FAILED ({err!r})"
                    part.failures += 1
                _fill(part.ds, s, r, out)
                unwritten[p] |= {(s, r.start), (s, r.stop - 1)}  # a batch may span 2 chunks
                k += 1
                say(
                    f"  {_bar(k, total)} {k}/{total} {part.label}size {spec.sizes[s]} "
                    f"realizations {r.start}-{r.stop - 1} {state} "
                    f"({time.perf_counter() - start:.1f} s)"
                )
                outstanding[p][s] -= 1
                if spec.adaptive and outstanding[p][s] == 0:  # the size's round is in
                    more, progress = _adaptive_todo(part.ds, spec, s, retry=False)
                    for batch in more:
                        new = submit(p, s, batch)
                        futures[new] = (p, s, batch)
                        results.add(new)
                    outstanding[p][s] += len(more)
                    part.tasks += len(more)
                    total += len(more)
                    say(
                        f"  {part.label}size {spec.sizes[s]}: "
                        f"{_verdict(spec, progress, len(more))}"
                    )
                    if progress.state != "running":
                        unwritten[p] |= _close_size(part.ds, spec, s, progress.realizations)
            # write when no other result is waiting, or at least every FLUSH_INTERVAL
            # while results pour in: store writes stay a small share of the run
            waiting = results.has_ready()
            if not waiting or time.perf_counter() - flushed >= FLUSH_INTERVAL:
                for part, touched in zip(parts, unwritten, strict=True):
                    if part.group is not None and touched:
                        write_records(part.group, part.ds, touched)
                    touched.clear()
                flushed = time.perf_counter()
        for p, future in wholes.items():
            _record_whole(parts[p], future, say)
        scheduler = _scheduler(dask_client, client)
    for part in parts:
        if not part.todo:
            continue
        run = {
            "started": started,
            "finished": _now(),
            "wall_time_s": round(time.perf_counter() - start, 3),
            "workers": n_workers,
            "hosts": n_hosts,
            "scheduler": scheduler,
            "tasks": part.tasks,
            "failed_tasks": part.failures,
            "interrupted": False,
        }
        record_run(part.ds, run, part.group)
        part.ds.attrs.pop("active_run", None)
        if part.group is not None:
            part.group.attrs.pop("active_run", None)
        if part.failures:
            say(
                f"  {part.label}{part.failures} task(s) failed: see the 'error' variable; "
                "a rerun retries them"
            )
