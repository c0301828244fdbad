"""Transport coefficients and memory kernels from equilibrium fluctuations (layer 5).

Green–Kubo integrals with error bars (the direct integral up to Sokal's
window with block-average errors, and the cepstral method), memory kernels
of the generalized Langevin equation (Mori–Zwanzig), synthetic processes with
exact correlations, and their figures. A time series is a one-dimensional
SVE: the variance of a time average decays like 1/T, the d = 1 variance law
of :mod:`sve.statistics`. Imports :mod:`sve.statistics` and lower, never the
study layer or Dask.
"""

from __future__ import annotations

from sve.fluctuations.green_kubo import (
    BOLTZMANN,
    GreenKuboResult,
    autocorrelation,
    block_variance,
    green_kubo,
    running_integral,
    sokal_cutoff,
)
from sve.fluctuations.memory import MemoryKernel, memory_kernel
from sve.fluctuations.plots import plot_green_kubo, plot_memory_kernel
from sve.fluctuations.synthetic import (
    brownian_velocities,
    gle_autocorrelation,
    gle_kernel,
    gle_velocities,
    ornstein_uhlenbeck,
    ou_autocorrelation,
    ou_sum,
)

__all__ = [
    "BOLTZMANN",
    "GreenKuboResult",
    "MemoryKernel",
    "autocorrelation",
    "block_variance",
    "brownian_velocities",
    "gle_autocorrelation",
    "gle_kernel",
    "gle_velocities",
    "green_kubo",
    "memory_kernel",
    "ornstein_uhlenbeck",
    "ou_autocorrelation",
    "ou_sum",
    "plot_green_kubo",
    "plot_memory_kernel",
    "running_integral",
    "sokal_cutoff",
]
