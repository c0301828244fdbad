"""
The boundary-condition bracket of one volume element
====================================================

The apparent conductivity of a volume element depends on its boundary
conditions. For every image, as quadratic forms, static ≤ periodic ≤
kinematic, and the mixed diagonal lies between static and kinematic
(:doc:`/solver_notes`, "Boundary conditions and the hierarchy"). With one Q1
discretization for all four conditions the ordering holds exactly, image by
image, not only on average: here for windows of growing size cut from one
periodic 2-D level cut, with the Voigt and Reuss bounds and the
Hashin–Shtrikman bounds of the phases.
"""

import matplotlib.pyplot as plt
import numpy as np

import generators
import sve
from sve.solvers import hashin_shtrikman_bounds

conductivities = [1.0, 10.0]
parent = generators.level_cut(
    generators.gaussian_field((128, 128), generators.Gaussian(length=3.0), rng=3), 0.5
)
sizes = [8, 16, 32, 64, 128]
bcs = ["static", "mixed", "periodic", "kinematic"]
values = {bc: [] for bc in bcs}
for size in sizes:
    window = parent[:size, :size]
    for bc in bcs:
        result = sve.apparent_conductivity(window, conductivities, bc=bc)
        values[bc].append(np.trace(result.tensor) / 2)  # the mean of the two diagonal entries

for k, size in enumerate(sizes):
    ordered = values["static"][k] <= values["periodic"][k] <= values["kinematic"][k]
    print(f"{size:>4}^2: " + ", ".join(f"{bc} {values[bc][k]:.4f}" for bc in bcs), ordered)

phi = parent.mean()
lower, upper = hashin_shtrikman_bounds([1 - phi, phi], conductivities, 2)
fig, ax = plt.subplots(figsize=(6, 4))
for bc, marker in zip(bcs, "v^os", strict=True):
    ax.plot(sizes, values[bc], marker=marker, label=bc)
ax.axhspan(lower, upper, color="C7", alpha=0.2, label="Hashin–Shtrikman")
ax.axhline(1 / ((1 - phi) / 1.0 + phi / 10.0), color="k", linestyle=":", label="Reuss")
ax.axhline((1 - phi) * 1.0 + phi * 10.0, color="k", linestyle="--", label="Voigt")
ax.set_xscale("log", base=2)
ax.set_xlabel("window edge L [voxels]")
ax.set_ylabel("tr K / 2")
ax.set_title("windows of one level cut, contrast 10")
ax.legend(fontsize="small", ncol=2)
fig.tight_layout()
