"""Timing and memory helpers shared by the benchmark scripts (not part of the package)."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import scipy.fft


def best_time(function, repeats: int) -> tuple[float, object]:
    """Smallest wall time of `repeats` calls of ``function()`` (s), and its last value."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        value = function()
        times.append(time.perf_counter() - start)
    return min(times), value


def status_bytes(field: str) -> int | None:
    """A ``kB`` entry of /proc/self/status (``VmRSS``, ``VmHWM``; Linux) in bytes, None
    where the file or the entry is missing."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def fft_pair(shape: tuple[int, ...], *, workers: int = 1, axes: tuple[int, ...] | None = None):
    """A function that runs one ``scipy.fft.rfftn`` + ``irfftn`` pair of a float64 array of
    `shape` (standard normal, seed 0) over `axes` (all by default) on `workers` threads
    (-1: all cores): the reference transform the benchmarks state their ratios against.
    """
    field = np.random.default_rng(0).standard_normal(shape)
    axes = tuple(range(len(shape))) if axes is None else tuple(axes)
    sizes = [shape[a] for a in axes]

    def pair() -> np.ndarray:
        spectrum = scipy.fft.rfftn(field, axes=axes, workers=workers)
        return scipy.fft.irfftn(spectrum, s=sizes, axes=axes, workers=workers, overwrite_x=True)

    return pair
