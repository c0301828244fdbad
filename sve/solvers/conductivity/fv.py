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

from dataclasses import dataclass

import numpy as np

from sve.solvers._core.spacing import padded, per_axis
from sve.solvers.conductivity.fv_kernels import (
    faces_of_labels,
    fv_apply,
    fv_apply_labels,
    fv_flux,
    fv_flux_labels,
    fv_mean_flux,
    fv_mean_flux_labels,
    harmonic,
    phase_counts,
)


@dataclass(frozen=True)
class Phases:
    """An image of scalar conductivities held as its labels and one value per phase.

    Stands in for the float64 field ``table[labels]`` (8 bytes per voxel) where
    the solvers read it: `FVGrid` computes the face conductances from the labels, the
    Q1 kernels read ``table[labels]`` where they need a conductivity.

    Attributes
    ----------
    labels : ndarray of the image shape, integer
        Phase of every voxel, ``0 <= labels < len(table)`` (the caller's array, no copy).
    table : ndarray of shape (n,), float64
        Conductivity of every phase, >= 0 (a phase of conductivity 0 is a void phase:
        its faces and elements conduct nothing).
    counts : ndarray of shape (n,), int64
        Voxels of every phase.
    """

    labels: np.ndarray
    table: np.ndarray
    counts: np.ndarray

    @classmethod
    def of(cls, labels: np.ndarray, table: np.ndarray) -> Phases:
        """The phases of `labels` (C-contiguous) with the conductivities `table`."""
        counts = phase_counts(labels, len(table))
        return cls(labels, np.ascontiguousarray(table, dtype=np.float64), counts)

    @property
    def shape(self) -> tuple[int, ...]:
        """Shape of the image."""
        return self.labels.shape

    @property
    def ndim(self) -> int:
        """Dimension of the image."""
        return self.labels.ndim

    @property
    def size(self) -> int:
        """Voxels of the image."""
        return self.labels.size

    def mean(self) -> float:
        """Volume average of the conductivity (the Voigt bound)."""
        return float(np.dot(self.counts, self.table) / self.size)

    def min(self) -> float:
        """Smallest conductivity of the phases present."""
        return float(self.table[self.counts > 0].min())

    def max(self) -> float:
        """Largest conductivity of the phases present."""
        return float(self.table[self.counts > 0].max())

    def conducting(self) -> np.ndarray:
        """Whether each voxel conducts (its phase's conductivity > 0), bool."""
        return (self.table > 0.0)[self.labels]

    def reuss(self) -> float:
        """Harmonic average of the conductivity, 0 with a void."""
        present = self.counts > 0
        if np.any(self.table[present] <= 0.0):
            return 0.0
        return float(1.0 / (np.dot(self.counts[present], 1.0 / self.table[present]) / self.size))


class FVGrid:
    """The finite-volume operator of one image for one set of boundary kinds.

    Parameters
    ----------
    k : ndarray of shape (N0, ..., N_{d-1}), float64, or Phases
        Voxel conductivities, >= 0; or the labels and conductivities of the phases
        (scalars, a void phase allowed: the faces are computed from the labels where
        they are used, ``conductances`` only on request).
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
        self._cells = k.shape + padding
        # face area over centre distance, A_a / h_a = prod(h) / h_a**2 (2-D: per unit depth,
        # the padded third axis has no inner face and no-flux ends)
        self._h = padded(h)
        self._scales = float(np.prod(h)) / self._h**2
        self._kinds3 = tuple(kinds) + ("neumann",) * (3 - ndim)
        self._periodic = np.array([kind == "periodic" for kind in self._kinds3])
        self.labels = None
        self._conductances = None
        if isinstance(k, Phases) and along is None:  # the faces from the labels and a table
            self.labels = k.labels.reshape(self._cells)
            self.inner, self.bound = _face_tables(k.table, self._kinds3, self._scales)
            return
        if isinstance(k, Phases):
            k = k.table[k.labels]
        cells = k.reshape(self._cells)
        conductances = []
        for axis in range(3):
            if along is not None and axis < ndim:
                cells = along[axis].reshape(self._cells)
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
            kind = self._kinds3[axis]
            first = [slice(None)] * 3
            first[axis] = slice(0, 1)
            last = [slice(None)] * 3
            last[axis] = slice(-1, None)
            if kind == "periodic":
                harmonic(cells[tuple(last)], cells[tuple(first)], g[tuple(first)])
            elif kind == "dirichlet":
                g[tuple(first)] = 2.0 * cells[tuple(first)]
                g[tuple(last)] = 2.0 * cells[tuple(last)]
            g *= self._scales[axis]
            conductances.append(g)
        self._conductances = tuple(conductances)  # normal to axes 0, 1, 2 (2-D: padded)

    @property
    def conductances(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The face conductances normal to axes 0, 1, 2, float64 (2-D: padded), shapes
        (N0 + 1, N1, N2), (N0, N1 + 1, N2), (N0, N1, N2 + 1); made on request (24 bytes
        per voxel) when the grid reads its labels.
        """
        if self._conductances is not None:
            return self._conductances
        return tuple(self.faces(axis, np.float64) for axis in range(3))

    def faces(self, axis: int, dtype=np.float64) -> np.ndarray:
        """The conductances of the faces normal to `axis` in `dtype` (a new array)."""
        if self.labels is None:
            return self._conductances[axis].astype(dtype)
        shape = list(self._cells)
        shape[axis] += 1
        out = np.empty(shape, dtype=dtype)
        faces_of_labels(self.labels, self.inner, self.bound, self._periodic, axis, out)
        return out

    def _jump(self, gradient: np.ndarray) -> np.ndarray:
        jump = np.zeros((3, 2))
        jump[: gradient.size, 0] = gradient * self.spacing
        jump[: gradient.size, 1] = gradient * self.spacing / 2.0  # E_a h_a, E_a h_a / 2
        return jump

    def flux(self, u: np.ndarray, gradient: np.ndarray, out: np.ndarray) -> None:
        """``out = A (u + gradient . x)``."""
        if self.labels is not None:
            if not self._periodic.any() and not np.any(gradient):
                fv_apply_labels(
                    u.reshape(self._cells),
                    self.labels,
                    self.inner,
                    self.bound,
                    self._periodic,
                    out.reshape(self._cells),
                )
                return
            fv_flux_labels(
                u.reshape(self._cells),
                self.labels,
                self.inner,
                self.bound,
                self._jump(gradient),
                self._periodic,
                out.reshape(self._cells),
            )
            return
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
        if self.labels is not None:
            fv_mean_flux_labels(
                u.reshape(self._cells),
                self.labels,
                self.inner,
                self.bound,
                self._jump(gradient),
                self._periodic,
                self._h,
                self.volume,
                out,
            )
            return out[: self.k.ndim]
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


def _face_tables(
    table: np.ndarray, kinds: tuple[str, ...], scales: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``inner`` (3, n, n) and ``bound`` (3, n) of ``fv_kernels``: the conductance of an
    inner face between two phases and of a boundary face of one phase, per axis, with
    the arithmetic of the per-face arrays (harmonic mean, then the scale).
    """
    n = len(table)
    low = np.ascontiguousarray(np.broadcast_to(table[:, None, None], (n, n, 1)))
    high = np.ascontiguousarray(np.broadcast_to(table[None, :, None], (n, n, 1)))
    means = np.empty((n, n, 1))
    harmonic(low, high, means)
    inner = np.empty((3, n, n))
    bound = np.zeros((3, n))
    for axis, kind in enumerate(kinds):
        inner[axis] = means[:, :, 0] * scales[axis]
        if kind == "dirichlet":
            bound[axis] = (2.0 * table) * scales[axis]
    return inner, bound
