"""Adaptive sampling: how many realizations each size gets (``sampling.adaptive_target``).

The policy only: the rule itself (:data:`sve.study.schema.ADAPTIVE_RULE`,
recorded in every adaptive store) is part of the schema, since it is replayed
on the stored records. Every decision is a function of the records a size
holds (:func:`adaptive_progress`), never of timing, workers or
interruptions, so a resumed run, ``sve status`` and the report read the same
state from the store. The run loop (:mod:`sve.study.run`) submits the rounds
this module asks for.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import xarray as xr

from sve.statistics import ensemble_statistics
from sve.study.schema import ADAPTIVE_CONFIDENCE, ROUND_GROWTH, completed
from sve.study.spec import StudySpec

__all__ = [
    "SizeProgress",
    "adaptive_progress",
    "adaptive_summary",
    "next_round",
    "relative_half_width",
]


def next_round(spec: StudySpec, n: int, relative_half_width: float) -> int:
    """Realizations a size holds after its next round (the rule of ``ADAPTIVE_RULE``).

    The half-width shrinks as 1/√n, so ``n (r / ε)²`` realizations are
    predicted to reach the target ε; the round brings at least
    ``sampling.realizations`` more, at most ``ROUND_GROWTH`` times ``n``
    (an early variance estimate is noisy: no wild overshoot), never more
    than the budget. ``r`` infinite or NaN (fewer than 2 ok values, a zero
    mean) grows by the largest step.
    """
    r = relative_half_width
    predicted = math.ceil(n * (r / spec.adaptive_target) ** 2) if math.isfinite(r) else math.inf
    grown = max(n + spec.realizations, min(ROUND_GROWTH * n, predicted))
    return int(min(spec.max_realizations, grown))


def relative_half_width(ds: xr.Dataset, spec: StudySpec, size_index: int, n: int) -> float:
    """Largest over bcs of the relative CI half-width of the first n realizations of a size.

    ``(ci_high - ci_low) / 2 / |mean|`` of
    :func:`sve.statistics.ensemble_statistics` (isotropic scalar, 95 %, ok
    records only) on realizations ``0 .. n-1``; infinite when a bc has no
    interval (fewer than 2 ok values) or a zero mean.
    """
    part = ds[[spec.variable, "status"]].isel(size=[size_index], realization=slice(0, n))
    stats = ensemble_statistics(part, spec.variable, confidence=ADAPTIVE_CONFIDENCE)
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = ((stats["ci_high"] - stats["ci_low"]) / 2 / abs(stats["mean"])).values
    rel = np.where(np.isfinite(rel), rel, np.inf)
    return float(rel.max())


@dataclass(frozen=True)
class SizeProgress:
    """Where adaptive sampling stands at one size (:func:`adaptive_progress`).

    ``realizations``: the size uses realizations ``0 .. realizations-1``
    (the current round's end while ``state`` is "running"); ``state``:
    "running" (some of them unfinished), "reached" (target met) or "budget"
    (``max_realizations`` used, target not met); ``relative_half_width``: of
    the last complete round (``inf`` before the first); ``rounds``: the ends
    of the rounds so far, increasing.
    """

    realizations: int
    state: str
    relative_half_width: float
    rounds: tuple[int, ...]


def adaptive_progress(ds: xr.Dataset, spec: StudySpec, size_index: int) -> SizeProgress:
    """Replay the adaptive rule on what the dataset holds at one size.

    Starting from ``sampling.realizations``, each round whose realizations
    are all finished (ok, not converged; ``failed`` and ``pending`` are not)
    is judged on realizations ``0 .. n-1`` alone (:func:`relative_half_width`,
    :func:`next_round`), so the state depends only on those results, never
    on timing, workers or interruptions: a resumed run re-derives it from the
    store.
    """
    if not spec.adaptive:
        raise ValueError("the study has no adaptive target (sampling.adaptive_target)")
    finished = completed(ds[["status"]].isel(size=[size_index]))[0]
    n, rel, rounds = spec.realizations, math.inf, [spec.realizations]
    while True:
        if not finished[:n].all():
            return SizeProgress(n, "running", rel, tuple(rounds))
        rel = relative_half_width(ds, spec, size_index, n)
        if rel <= spec.adaptive_target:
            return SizeProgress(n, "reached", rel, tuple(rounds))
        if n >= spec.max_realizations:
            return SizeProgress(n, "budget", rel, tuple(rounds))
        n = next_round(spec, n, rel)
        rounds.append(n)


def adaptive_summary(ds: xr.Dataset) -> xr.Dataset:
    """Per size, what adaptive sampling did (an empty Dataset for other studies).

    Variables along ``size``: ``realizations_used`` (int64),
    ``adaptive_state`` ("running", "reached", "budget"), ``target_reached``
    (bool), ``relative_half_width`` (of the last complete round, largest
    over bcs; inf before one); attrs ``adaptive_target``,
    ``max_realizations``.
    """
    spec = StudySpec.from_json(ds.attrs["spec"])
    if not spec.adaptive:
        return xr.Dataset()
    ds = ds[[spec.variable, "status"]].load()
    progress = [adaptive_progress(ds, spec, s) for s in range(len(spec.sizes))]
    out = xr.Dataset(
        {
            "realizations_used": ("size", np.array([p.realizations for p in progress], np.int64)),
            "adaptive_state": ("size", np.array([p.state for p in progress])),
            "target_reached": ("size", np.array([p.state == "reached" for p in progress])),
            "relative_half_width": ("size", np.array([p.relative_half_width for p in progress])),
        },
        coords={"size": ds["size"].values},
    )
    out.attrs.update(adaptive_target=spec.adaptive_target, max_realizations=spec.max_realizations)
    return out
