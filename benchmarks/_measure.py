"""Timing and memory helpers shared by the benchmark scripts (not part of the package)."""

from __future__ import annotations

import time
from pathlib import Path


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
