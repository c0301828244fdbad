"""
Phonon dispersion of a stretched Lennard-Jones chain
====================================================

The Cauchy–Born rule holds while every phonon of the uniformly stretched
lattice is stable. With nearest neighbours only, every mode of the
Lennard-Jones chain goes soft at once at :math:`\\lambda_c = (13/7)^{1/6}
\\approx 1.1087`; with two neighbours the long waves go first, where
:math:`\\varphi_1'' + 4\\varphi_2'' = 0` (:doc:`/guide/atoms`). Below, the
dispersion at increasing stretch for both, drawn by
:func:`sve.atoms.plot_dispersion`, then a chain of 50 bonds stretched and
relaxed atom by atom against the Cauchy–Born stress.
"""

import matplotlib.pyplot as plt
import numpy as np

from sve.atoms import chain_stability, plot_chain_relaxation, plot_dispersion, stretch_chain

for n in (1, 2):
    limit = chain_stability("lj", n_neighbours=n)
    print(f"{n} neighbour(s): lambda_c = {limit.stretch:.12f}, mode {limit.mode}")
print(f"(13/7)^(1/6)          = {(13 / 7) ** (1 / 6):.12f}")

fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True, layout="constrained")
plot_dispersion("lj", ax=axes[0])
plot_dispersion("lj", n_neighbours=2, ax=axes[1])
axes[1].set_ylabel("")

# %%
# The relaxed chain follows the Cauchy–Born stress up to lambda_c and breaks at
# the first step past it; a broken chain has less energy long before (dashed).
ds = stretch_chain("lj", np.round(np.arange(1.0, 1.14, 0.002), 6), bonds=50, rng=0)
print("departs at", ds.attrs["departure_stretch"], "; lambda_c =", ds.attrs["critical_stretch"])
print("a broken chain has less energy from", round(ds.attrs["broken_stretch"], 4))
fig2, ax2 = plt.subplots(figsize=(5.5, 4), layout="constrained")
plot_chain_relaxation(ds, ax=ax2)
plt.show()
