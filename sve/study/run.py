"""Run a study on Dask: sizes × realizations as tasks, results into the store.

Only this module knows Dask. Tasks are :func:`sve.study.tasks.solve_batch`
calls (pure functions of the spec, one size and a run of realizations); the
client writes each finished batch into the Zarr store as it arrives, so an
interrupted study resumes from what is done.

Adaptive studies (``sampling.adaptive_target``) run in rounds per size: the
batches of every size's current round are submitted together; when the last
batch of a size's round arrives, :func:`sve.study.store.adaptive_progress`
judges the size on the realizations it has and either finishes it (the
realizations it did not need are marked ``absent``) or submits its next
round. Other sizes keep the workers busy meanwhile. A batch that failed
halts its size for this run (its round cannot be judged); a rerun retries
it and carries on.
"""

from __future__ import annotations

import json
import logging
import os
import time
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO
from urllib.parse import urlparse

import numpy as np
import xarray as xr
from distributed import Client, LocalCluster, as_completed

from sve.solvers import apparent_conductivity, apparent_stiffness
from sve.study.spec import StudySpec, load_spec
from sve.study.store import (
    SizeProgress,
    adaptive_progress,
    completed,
    create_store,
    empty_dataset,
    open_group,
    record_run,
    write_records,
)
from sve.study.tasks import STATUS, absent_batch, failed_batch, solve_batch

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

    A batch covers ``spec.batch`` consecutive realizations of one size. An
    adaptive study's later rounds are not known in advance: these are the
    batches of its first round (:func:`round_batches` splits the others).
    """
    return [
        (s, range(r, min(r + spec.batch, spec.realizations)))
        for s in reversed(range(len(spec.sizes)))
        for r in range(0, spec.realizations, spec.batch)
    ]


def round_batches(spec: StudySpec, rounds: tuple[int, ...]) -> list[range]:
    """The batches of an adaptive size's rounds (ends ``rounds``): each round from its
    start in runs of ``spec.batch`` realizations."""
    starts = (0, *rounds[:-1])
    return [
        range(r, min(r + spec.batch, end))
        for start, end in zip(starts, rounds, strict=True)
        for r in range(start, end, spec.batch)
    ]


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
    todo = [r for r in round_batches(spec, progress.rounds) if needs[r.start : r.stop].any()]
    return todo, progress


def _close_size(ds: xr.Dataset, spec: StudySpec, size_index: int, used: int) -> set:
    """Mark the realizations ``used ..`` of a finished adaptive size absent; the touched
    ``(size_index, realization)`` pairs (none when they already are)."""
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
    if spec.property == "conductivity":
        apparent_conductivity(phases, [1.0, 2.0], tol=1e-3)
    else:
        apparent_stiffness(phases, spec.phase_stiffness(), tol=1e-3)


def _client(stack: ExitStack, client: Client | str | None, workers: int | None) -> Client:
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
        retried. ``None`` keeps the results in memory only.
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
        The study dataset (schema in :mod:`sve.study.store`), loaded in memory.

    Notes
    -----
    A task that raises is retried once; if it fails again (or its workers keep
    dying) its records get status ``failed`` with the error text in
    ``error``, and the rest of the study completes. Provenance of every run
    (times, workers, scheduler, task counts) is appended to
    ``attrs["runs"]``.

    Every realization's random stream depends only on the root seed, the size
    and the realization index (:func:`sve.study.tasks.realization_rng`), so
    the dataset is bit-identical whatever the client, the number of workers
    or the order in which tasks finish.
    """
    spec = load_spec(spec)
    if workers is not None and (
        isinstance(workers, bool) or not isinstance(workers, int) or workers < 1
    ):
        raise ValueError(f"workers must be an integer >= 1, got {workers!r}")
    if store is not None:
        ds = create_store(spec, store, overwrite=overwrite).load()
    else:
        ds = empty_dataset(spec)
    say = (lambda text: print(text, file=log, flush=True)) if log else (lambda text: None)
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
            f"study {spec.name!r}: {len(todo)} tasks to run now (adaptive: rounds of "
            f"realizations per size until the relative CI half-width is <= "
            f"{spec.adaptive_target:g}, at most {spec.max_realizations})"
        )
    else:
        done = completed(ds)
        todo = [(s, r) for s, r in batches(spec) if not done[s, r.start : r.stop].all()]
        say(f"study {spec.name!r}: {len(todo)} of {len(batches(spec))} tasks to run")

    if not todo and store is not None and "active_run" in ds.attrs:
        # an interrupted run had written everything but its provenance: nothing is running
        open_group(store).attrs.pop("active_run", None)
        ds.attrs.pop("active_run")
    if todo:
        _warm_numba_cache(spec)
        started, start = _now(), time.perf_counter()
        failures = 0
        group = open_group(store) if store is not None else None
        with ExitStack() as stack:
            dask_client = _client(stack, client, workers)
            addresses = list(dask_client.scheduler_info(n_workers=-1)["workers"])
            n_workers, n_hosts = len(addresses), len({urlparse(a).hostname for a in addresses})
            say(
                f"  {n_workers} workers on {n_hosts} host(s); Dask dashboard: "
                f"{dask_client.dashboard_link}"
            )
            if group is not None:  # `sve status` shows it until the run ends
                group.attrs["active_run"] = json.dumps({"started": started, "tasks": len(todo)})

            def submit(s: int, r: range):
                return dask_client.submit(
                    solve_batch, spec, spec.sizes[s], r, pure=False, retries=TASK_RETRIES
                )

            futures = {submit(s, r): (s, r) for s, r in todo}
            outstanding = np.bincount([s for s, _ in todo], minlength=len(spec.sizes))
            k, total, unwritten, flushed = 0, len(todo), set(), time.perf_counter()
            results = as_completed(futures)
            for finished in results.batches():  # every result ready now
                for future in finished:
                    s, r = futures.pop(future)
                    try:
                        out, state = future.result(), "done"
                    except Exception as err:  # the task raised, or its workers kept dying
                        out, state = failed_batch(spec, r, err), f"FAILED ({err!r})"
                        failures += 1
                    _fill(ds, s, r, out)
                    unwritten |= {(s, r.start), (s, r.stop - 1)}  # a batch may span 2 chunks
                    k += 1
                    say(
                        f"  {_bar(k, total)} {k}/{total} size {spec.sizes[s]} "
                        f"realizations {r.start}-{r.stop - 1} {state} "
                        f"({time.perf_counter() - start:.1f} s)"
                    )
                    outstanding[s] -= 1
                    if spec.adaptive and outstanding[s] == 0:  # the size's round is in
                        more, progress = _adaptive_todo(ds, spec, s, retry=False)
                        for batch in more:
                            new = submit(s, batch)
                            futures[new] = (s, batch)
                            results.add(new)
                        outstanding[s] += len(more)
                        total += len(more)
                        say(f"  size {spec.sizes[s]}: {_verdict(spec, progress, len(more))}")
                        if progress.state != "running":
                            unwritten |= _close_size(ds, spec, s, progress.realizations)
                # write when no other result is waiting, or at least every FLUSH_INTERVAL
                # while results pour in: store writes stay a small share of the run
                waiting = results.has_ready()
                if group is not None and (
                    not waiting or time.perf_counter() - flushed >= FLUSH_INTERVAL
                ):
                    write_records(group, ds, unwritten)
                    unwritten, flushed = set(), time.perf_counter()
            scheduler = dask_client.scheduler.address
        run = {
            "started": started,
            "finished": _now(),
            "wall_time_s": round(time.perf_counter() - start, 3),
            "workers": n_workers,
            "hosts": n_hosts,
            "scheduler": scheduler if client is not None else "embedded LocalCluster",
            "tasks": total,
            "failed_tasks": failures,
        }
        record_run(ds, run, group)
        ds.attrs.pop("active_run", None)  # left by an interrupted run: this one finished
        if group is not None:
            group.attrs.pop("active_run", None)
        if failures:
            say(f"  {failures} task(s) failed: see the 'error' variable; a rerun retries them")
    return ds
