"""
Green–Kubo integral with its error bar, and a memory kernel
===========================================================

A flux with a known integral: the sum of an Ornstein–Uhlenbeck process
(σ = 1, τ = 1) sampled at Δt = 0.1 over four independent runs, whose exact
Green–Kubo integral is :math:`\\sigma^2 \\tau = 1`. :func:`sve.fluctuations.green_kubo`
integrates its autocorrelation up to Sokal's window (direct method, error
from a block bootstrap) and, as a second estimate, reads the zero-frequency
value of its spectrum from the log-periodogram (cepstral method). Then the
memory kernel of a generalized Langevin equation with the exact kernel
:math:`K_0 e^{-t/\\tau}`, recovered from the velocity autocorrelation of 20
sampled series (:doc:`/guide/fluctuations`).
"""

import matplotlib.pyplot as plt
import numpy as np

from sve.fluctuations import (
    autocorrelation,
    gle_kernel,
    gle_velocities,
    green_kubo,
    memory_kernel,
    ornstein_uhlenbeck,
    plot_green_kubo,
    plot_memory_kernel,
)

flux = ornstein_uhlenbeck(2**15, 0.1, tau=1.0, sigma=1.0, n_series=4, rng=2026)
direct = green_kubo(flux, 0.1)
cepstral = green_kubo(flux, 0.1, method="cepstral")
for result in (direct, cepstral):
    low, high = result.interval
    print(f"{result.method:8s} {result.value:.4f}  95 % [{low:.4f}, {high:.4f}]  "
          f"cutoff {result.cutoff:.2f}, tau_int {result.tau_int:.3f}")  # fmt: skip
plot_green_kubo(direct, exact=1.0, time_unit="τ", fig=plt.figure())

# %%
# The memory kernel: 20 series of a GLE (K0 = 1, tau = 1), their autocorrelations,
# one kernel per series, and the mean with two standard errors.

dt = 0.05
velocities = gle_velocities(2**15, dt, strength=1.0, tau=1.0, n_series=20, rng=5)
acfs = autocorrelation(velocities, average=False)[:, :80]
kernels = np.array([memory_kernel(acf, dt).kernel for acf in acfs])
mean = memory_kernel(acfs.mean(axis=0), dt)
se = kernels.std(axis=0, ddof=1) / np.sqrt(len(kernels))
t_max = mean.times[-1]
exact_friction = 1 - np.exp(-t_max)  # K0 tau (1 - e^(-t / tau))
print(f"friction int K = {mean.friction:.3f} over t <= {t_max:.2f} (exact {exact_friction:.3f})")
exact = gle_kernel(mean.times, strength=1.0, tau=1.0)
plot_memory_kernel(mean, exact=exact, spread=se, time_unit="τ", fig=plt.figure())
