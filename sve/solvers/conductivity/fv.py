"""Cell-centred finite volumes on the voxel grid (private).

One unknown per voxel, two-point fluxes through the faces shared by two
voxels (face connectivity: voxels touching at an edge or a corner only do
not exchange flux). The conductance of an inner face is the harmonic mean
of its two voxels times the face area over the distance of the two cell
centres, ``2 k1 k2 / (k1 + k2) A_a / h_a`` for a face normal to axis ``a``
with ``A_a`` the product of the voxel edges ``h_b`` of the other axes
(series resistances of two half cells; ``h**(d-2)`` for cubic voxels), zero
when either is a void. A face on a Dirichlet boundary joins the end voxel
to the boundary value half a cell away, ``2 k A_a / h_a``; a no-flux
boundary face has zero conductance. This is the
scheme of the image-based tools TauFactor, PoreSpy and PuMA.
"""

from __future__ import annotations

import numpy as np

from sve.solvers._core.spacing import padded, per_axis
from sve.solvers.conductivity.fv_kernels import fv_apply, fv_flux, fv_mean_flux, harmonic


class FVGrid:
    """The finite-volume operator of one image for one set of boundary kinds.

    Parameters
    ----------
    k : ndarray of shape (N0, ..., N_{d-1}), float64
        Voxel conductivities, >= 0.
    kinds : tuple of {"periodic", "dirichlet", "neumann"}
        Boundary condition of the fluctuation per axis.
    spacing : float or sequence of float
        Voxel edges ``h_i`` per axis (one number: cubic voxels).
    along : tuple of ndarray of the shape of `k`, optional
        Per axis ``a``, the voxel conductivities across the faces normal to
        ``a`` (the ``K_aa`` of tensors diagonal in the grid axes: two-point
        fluxes are exact for them); `k` on every axis by default.
    """

    discretization = "fv"

    def __init__(
        self,
        k: np.ndarray,
        kinds: tuple[str, ...],
        spacing: float | tuple[float, ...],
        along: tuple[np.ndarray, ...] | None = None,
    ) -> None:
        ndim = k.ndim
        h = per_axis(spacing, ndim)
        self.k = k
        self.along = along
        self.kinds = kinds
        self.spacing = h
        self.shape = k.shape
        self.volume = k.size * float(np.prod(h))
        self.free = (slice(None),) * ndim
        padding = (1,) * (3 - ndim)
        cells = k.reshape(k.shape + padding)
        # face area over centre distance, A_a / h_a = prod(h) / h_a**2 (2-D: per unit depth,
        # the padded third axis has no inner face and no-flux ends)
        self._h = padded(h)
        scales = float(np.prod(h)) / self._h**2
        conductances = []
        for axis in range(3):
            if along is not None and axis < ndim:
                cells = along[axis].reshape(k.shape + padding)
            shape = list(cells.shape)
            shape[axis] += 1
            g = np.zeros(shape)
            inner = [slice(None)] * 3
            inner[axis] = slice(1, -1)
            lower = [slice(None)] * 3
            lower[axis] = slice(None, -1)
            upper = [slice(None)] * 3
            upper[axis] = slice(1, None)
            harmonic(cells[tuple(lower)], cells[tuple(upper)], g[tuple(inner)])
            kind = kinds[axis] if axis < ndim else "neumann"
            first = [slice(None)] * 3
            first[axis] = slice(0, 1)
            last = [slice(None)] * 3
            last[axis] = slice(-1, None)
            if kind == "periodic":
                harmonic(cells[tuple(last)], cells[tuple(first)], g[tuple(first)])
            elif kind == "dirichlet":
                g[tuple(first)] = 2.0 * cells[tuple(first)]
                g[tuple(last)] = 2.0 * cells[tuple(last)]
            g *= scales[axis]
            conductances.append(g)
        self.conductances = tuple(conductances)  # faces normal to axes 0, 1, 2 (2-D: padded)
        self._periodic = np.array([kind == "periodic" for kind in kinds] + [False] * (3 - ndim))
        self._cells = cells.shape

    def _jump(self, gradient: np.ndarray) -> np.ndarray:
        jump = np.zeros((3, 2))
        jump[: gradient.size, 0] = gradient * self.spacing
        jump[: gradient.size, 1] = gradient * self.spacing / 2.0  # E_a h_a, E_a h_a / 2
        return jump

    def flux(self, u: np.ndarray, gradient: np.ndarray, out: np.ndarray) -> None:
        """``out = A (u + gradient . x)``."""
        if not self._periodic.any() and not np.any(gradient):  # the operator of the solves
            fv_apply(u.reshape(self._cells), *self.conductances, out.reshape(self._cells))
            return
        fv_flux(
            u.reshape(self._cells),
            *self.conductances,
            self._jump(gradient),
            self._periodic,
            out.reshape(self._cells),
        )

    def mean_flux(self, u: np.ndarray, gradient: np.ndarray) -> np.ndarray:
        """Volume average of the flux of ``u + gradient . x``, shape (d,)."""
        out = np.empty(3)
        fv_mean_flux(
            u.reshape(self._cells),
            *self.conductances,
            self._jump(gradient),
            self._periodic,
            self._h,
            self.volume,
            out,
        )
        return out[: self.k.ndim]

    def zero_fixed(self, x: np.ndarray) -> None:
        """Nothing to do: finite volumes have no fixed unknowns."""
