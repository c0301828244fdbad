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

near, second = plot_dispersion("lj"), plot_dispersion("lj", n_neighbours=2)
fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True, layout="constrained")
for ax, source in zip(axes, (near, second), strict=True):
    src = source.axes[0]
    for line in src.lines:
        ax.plot(*line.get_data(), color=line.get_color(), lw=line.get_linewidth(),
                label=line.get_label())  # fmt: skip
    ax.set_title(src.get_title(), fontsize=10)
    ax.set_xlabel(src.get_xlabel())
    ax.set_xlim(0, np.pi)
    ax.set_xticks([0, np.pi / 2, np.pi], ["0", "π/2", "π"])
    ax.legend(fontsize=8)
axes[0].set_ylabel(near.axes[0].get_ylabel())

# %%
# The relaxed chain follows the Cauchy–Born stress up to lambda_c and breaks at
# the first step past it.
ds = stretch_chain("lj", np.round(np.arange(1.0, 1.14, 0.002), 6), bonds=50, rng=0)
print("departs at", ds.attrs["departure_stretch"], "; lambda_c =", ds.attrs["critical_stretch"])
relaxation = plot_chain_relaxation(ds)
fig2, ax2 = plt.subplots(figsize=(5.5, 4), layout="constrained")
for line in relaxation.axes[0].lines:
    ax2.plot(*line.get_data(), ls=line.get_linestyle(), marker=line.get_marker(), ms=3,
             color=line.get_color(), label=line.get_label())  # fmt: skip
ax2.set_xlabel("stretch λ")
ax2.set_ylabel("force (energy / length)")
ax2.legend(fontsize=8)
plt.show()
