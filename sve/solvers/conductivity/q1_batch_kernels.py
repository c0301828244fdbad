"""Numba kernel of the Q1 operator on a batch of images (private): ``batch.py``."""

from numba import njit

from sve.solvers.conductivity.q1_kernels import nodal_flux_2d, nodal_flux_3d


@njit(cache=True, nogil=True)
def nodal_flux_batch_2d(u, w, k, image, modes, active, out):
    """``out[s] = nodal_flux_2d(u[s], w, k[image[s]], modes)`` for the rows in `active`;
    `u`, `out` (systems, N0, N1), `k` (images, N0, N1).
    """
    for s in active:
        nodal_flux_2d(u[s], w, k[image[s]], modes, out[s])


@njit(cache=True, nogil=True)
def nodal_flux_batch_3d(u, w, k, image, modes, active, out):
    """``out[s] = nodal_flux_3d(u[s], w, k[image[s]], modes)`` for the rows in `active`;
    `u`, `out` (systems, N0, N1, N2), `k` (images, N0, N1, N2).
    """
    for s in active:
        nodal_flux_3d(u[s], w, k[image[s]], modes, out[s])
