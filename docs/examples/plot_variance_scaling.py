"""
Variance of the apparent conductivity against the size
======================================================

For a random medium with a finite integral range :math:`A`, the variance of
a volume average decays like :math:`\\sigma^2 A / V`, so the variance of
apparent properties falls like :math:`L^{-d}` (:doc:`/physics`). Here a small
ensemble of independent periodic 2-D level cuts at four sizes, solved under
periodic conditions, and the fitted exponent of the variance with its
95 % interval from :func:`sve.statistics.fit_variance_scaling`. A full study
does the same on Dask with many more realizations (:doc:`/guide/studies`).
"""

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr

import generators
import sve
from sve.statistics import ensemble_statistics, fit_variance_scaling

sizes = [12, 24, 48, 96]
realizations = 48
covariance = generators.Gaussian(length=2.0)
tensors = np.empty((len(sizes), realizations, 1, 2, 2))
for s, size in enumerate(sizes):
    # one random stream per (size, realization), as a study seeds them
    seeds = np.random.SeedSequence(2026, spawn_key=(size,)).spawn(realizations)
    for r, seed in enumerate(seeds):
        rng = np.random.default_rng(seed)
        field = generators.gaussian_field((size, size), covariance, rng=rng)
        phases = generators.level_cut(field, 0.5, exact=False)
        tensors[s, r, 0] = sve.apparent_conductivity(phases, [1.0, 10.0], tol=1e-8).tensor

ds = xr.Dataset(
    {
        "conductivity": (("size", "realization", "bc", "i", "j"), tensors),
        "status": (("size", "realization", "bc"), np.ones(tensors.shape[:3], np.int8)),
    },
    coords={"size": sizes, "length": ("size", np.array(sizes, float)), "bc": ["periodic"]},
)
statistics = ensemble_statistics(ds)
fit = fit_variance_scaling(statistics)
print(fit)

variance = statistics["variance"].sel(bc="periodic").values
gamma = float(fit["exponent"].sel(bc="periodic"))
low, high = (float(fit[k].sel(bc="periodic")) for k in ("exponent_low", "exponent_high"))
L = np.array(sizes, float)
fig, ax = plt.subplots(figsize=(5, 4))
ax.loglog(L, variance, "o", label=f"variance of tr K / 2, {realizations} realizations")
ax.loglog(
    L,
    float(fit["prefactor"].sel(bc="periodic")) * L**gamma,
    "-",
    label=f"fit: γ = {gamma:.2f}, 95 % interval [{low:.2f}, {high:.2f}]",
)
ax.loglog(L, variance[0] * (L / L[0]) ** -2.0, ":", color="gray", label="L⁻² (d = 2)")
ax.set_xticks(L, [str(size) for size in sizes])
ax.xaxis.set_minor_formatter(plt.NullFormatter())
ax.set_xlabel("edge L [voxels]")
ax.set_ylabel("variance")
ax.legend(fontsize="small")
fig.tight_layout()
