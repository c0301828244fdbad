"""
Where homogenization holds: DNS, homogenized and corrector-rebuilt fields
=========================================================================

A unit square made of ``1 / eps`` by ``1 / eps`` cells of periodic disks (area
fraction 0.3, conductivity 10 in a matrix of 1) carries the source that makes
``u0 = sin(pi x) sin(pi y)`` the homogenized solution (zero on the boundary).
The fully resolved solution ``u_eps`` (:func:`sve.solvers.solve_conductivity_bvp`
on every voxel) is compared with ``u0`` and with the first-order two-scale
reconstruction ``u1 = u0 + eps w(x / eps) . grad u0`` built from the periodic
correctors of the cell (``sve.multiscale.limits.periodic_limits``; the
lattice is shifted by a quarter cell against the part). The error ``u_eps -
u1`` has a smooth part of order ``eps`` and, within one cell of the boundary
where ``u1`` misses the boundary data, a layer whose gradient does not fall
with ``eps``: the L2 error of ``u0`` falls as ``eps``, the H1 error of ``u1``
as ``eps^(1/2)`` over the part only asymptotically and as ``eps`` at a fixed
distance from the boundary. Over the part the squared error is ``a eps + b
eps^2`` (the layer and the bulk); with ``b / a`` about 5.6 its slope is 0.71
over these ``eps``, the curve of that law fitted on the two smallest drawn
beside the measured errors. The figures are those of the report that
``sve limits`` writes (``sve.multiscale.limits_report``).
"""

import matplotlib.pyplot as plt
import numpy as np

from sve.multiscale.limits import periodic_limits
from sve.multiscale.limits_report import draw_errors, draw_fields, draw_profile

result = periodic_limits((1 / 4, 1 / 8, 1 / 16), cell_voxels=8)
print("effective tensor", np.round(result.effective_tensor, 4))
slopes = {
    "l2_error": result.l2_slope,
    "h1_error": result.h1_slope,
    "h1_error_interior": result.h1_interior_slope,
}
for name, slope in slopes.items():
    print(f"{name}: {np.round(getattr(result, name), 4)}, slope {slope:.2f}")

# %%
# The fields of the finest eps side by side (the figure ``sve limits`` writes as
# ``fields.png``): the error is largest in the first cell from the boundary.
fig = draw_fields(result, fig=plt.figure(figsize=(15, 3.4), layout="constrained"))

# %%
# The errors against eps with the theory's rates through them (``errors.png``), and
# the two-term law of the whole part's H1 error fitted on the two smallest eps.
fig = draw_errors(result, fig=plt.figure(figsize=(6, 4.5), layout="constrained"))
ax = fig.axes[0]
eps = result.eps
b, a = np.polyfit(eps[1:], result.h1_error[1:] ** 2 / eps[1:], 1)
print(f"|u_eps - u1|_H1^2 = {a:.3f} eps + {b:.3f} eps^2 (fitted on 1/8 and 1/16)")
fine = np.geomspace(eps.min(), eps.max(), 50)
ax.loglog(fine, np.sqrt(a * fine + b * fine**2), "C1:", lw=1.2, label="(a eps + b eps^2)^(1/2)")
ax.legend(fontsize=7)

# %%
# The boundary layer (``profile.png``): the rms gradient error of ``u1`` per
# cell-wide strip from the boundary.
fig = draw_profile(result, fig=plt.figure(figsize=(6, 4), layout="constrained"))
plt.show()
