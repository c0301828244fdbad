"""
FE² of a graded medium
======================

A macro plate whose volume fraction of the conducting phase grows from 0.2 at
the left to 0.8 at the right. At every Gauss point of the macro mesh
(:func:`sve.multiscale.box_mesh`, 6 × 6 bilinear elements, four points each)
an SVE is drawn with the local volume fraction and its periodic apparent
conductivity computed (:class:`sve.multiscale.SVECell`); for linear cells that
is all FE² needs: one apparent tensor per Gauss point. The macro potential
rises from 0 on the left to 1 on the right; the flux crowds through the
conducting right half. The same mesh with one effective tensor per element
from KUBC windows of one parent would be the mesoscale model
(:doc:`/guide/multiscale`).
"""

import matplotlib.pyplot as plt

import generators
from sve.multiscale import SVECell, box_mesh, solve_macro


def graded(x, rng):
    """The SVE at x: a 20² Gaussian level cut with phi = 0.2 + 0.6 x0."""
    field = generators.gaussian_field((20, 20), generators.Exponential(2.0), rng=rng)
    return generators.level_cut(field, 0.2 + 0.6 * x[0])


mesh = box_mesh((6, 6))
cell = SVECell(graded, [1.0, 10.0], bc="periodic", seed=1)
result = solve_macro(mesh, cell, dirichlet={"xmin": 0.0, "xmax": 1.0}, client="serial")
print(f"{result.cell_solves} cell solves; total flux {result.boundary_flux('xmax'):.3f}")

k = result.tangent[..., 0, 0].mean(axis=1)  # K_00 per element (mean of its 4 points)
centre = mesh.p[:, mesh.t].mean(axis=1)
fig, axes = plt.subplots(1, 2, figsize=(9, 4), constrained_layout=True)
sc = axes[0].scatter(*centre, c=k, marker="s", s=1000, cmap="viridis")
fig.colorbar(sc, ax=axes[0], label="apparent $K_{00}$ (mean over the Gauss points)")
axes[0].set_title("cell tensors")
tri = axes[1].tricontourf(mesh.p[0], mesh.p[1], result.field, levels=12, cmap="magma")
fig.colorbar(tri, ax=axes[1], label="macro potential u")
axes[1].set_title("macro field")
for ax in axes:
    ax.set_aspect("equal")
    ax.set_xlabel("$x_0$")
    ax.set_ylabel("$x_1$")
plt.show()
