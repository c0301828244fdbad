"""
Apparent bulk modulus between the Hashin–Shtrikman bounds
=========================================================

The apparent plane-strain stiffness of a 2-D level cut (phases E = 1,
ν = 0.3 and E = 10, ν = 0.2) under static, periodic and kinematic
conditions, summarized by its in-plane bulk modulus :math:`i \\cdot C \\cdot
i / d^2` (:func:`sve.statistics.isotropic_part`; λ + μ for an isotropic
tensor). For every image static ≤ periodic ≤ kinematic; as the window
grows the three close in on the effective modulus, inside the
Hashin–Shtrikman bounds of a statistically isotropic medium with these
phases at the parent's volume fraction (:doc:`/physics`). A small window
has a fraction of its own, so it may lie outside them.
"""

import matplotlib.pyplot as plt
import numpy as np

import generators
import sve
from sve.solvers import hashin_shtrikman_bulk_bounds, lame_parameters

phases_moduli = [{"E": 1.0, "nu": 0.3}, {"E": 10.0, "nu": 0.2}]
parent = generators.level_cut(
    generators.gaussian_field((96, 96), generators.Gaussian(length=3.0), rng=11), 0.5
)
sizes = [12, 24, 48, 96]
bcs = ["static", "periodic", "kinematic"]
i = np.array([1.0, 1.0, 0.0])  # the identity in 2-D Mandel notation
bulk = {bc: [] for bc in bcs}
for size in sizes:
    window = parent[:size, :size]
    for bc in bcs:
        tensor = sve.apparent_stiffness(window, phases_moduli, bc=bc).tensor
        bulk[bc].append(i @ tensor @ i / 4.0)
    print(f"{size:>3}^2: " + ", ".join(f"{bc} {bulk[bc][-1]:.4f}" for bc in bcs))

lame = [lame_parameters(**moduli) for moduli in phases_moduli]  # (lam, mu) per phase
phi = parent.mean()
lower, upper = hashin_shtrikman_bulk_bounds(
    [1 - phi, phi], [lam + mu for lam, mu in lame], [mu for _, mu in lame], 2
)
fig, ax = plt.subplots(figsize=(6, 4))
for bc, marker in zip(bcs, "v^s", strict=True):
    ax.plot(sizes, bulk[bc], marker=marker, label=bc)
ax.axhspan(lower, upper, color="C7", alpha=0.25, label="Hashin–Shtrikman")
ax.set_xscale("log", base=2)
ax.set_xticks(sizes, [str(size) for size in sizes])
ax.xaxis.set_minor_formatter(plt.NullFormatter())
ax.set_xlabel("window edge L [voxels]")
ax.set_ylabel("in-plane bulk modulus i·C·i / 4")
ax.set_title("windows of one level cut, φ = 0.5")
ax.legend(fontsize="small")
fig.tight_layout()
