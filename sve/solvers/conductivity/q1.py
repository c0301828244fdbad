"""Q1 voxel finite elements: corner numbering and element stiffness (private).

The element stiffness of unit conductivity on a voxel of edges
``(h_0, ..., h_{d-1})`` (one per axis: the voxel may be a box) is the
tensor-product sum

    Ke = sum_i  A_0 (x) ... (x) A_{d-1},   A_j = K1_j if j == i else M1_j,

of the 1-D element stiffness ``K1_j = [[1, -1], [-1, 1]] / h_j`` and mass
``M1_j = [[2, 1], [1, 2]] h_j / 6`` of each axis. Both are diagonalised by
the 2-point Hadamard matrix ``H = [[1, 1], [1, -1]]`` (``H @ H = 2 I``),
whatever ``h_j``: ``K1_j`` has the eigenvalues ``0`` on the mean and
``2 / h_j`` on the difference, ``M1_j`` has ``h_j / 2`` and ``h_j / 6``.
Hence ``Ke = H_d diag(lambda) H_d / 2**d`` with ``H_d`` the d-fold Kronecker
power of ``H`` and, for a mode ``beta`` in ``{0, 1}**d`` (1 = difference
along that axis),

    lambda(beta) = sum_i kappa_i(beta_i) prod_{j != i} mu_j(beta_j),
    kappa_i = (0, 2 / h_i),  mu_j = (h_j / 2, h_j / 6).

Assembled on a grid, ``K1`` and ``M1`` are diagonalised by a trigonometric
transform per axis (Fourier, sine or cosine, after the boundary condition),
so the operator of a homogeneous medium is diagonal with the same
sum-of-products formula: see ``_core/transforms.py``.

A conductivity tensor ``K`` gives ``Ke = sum_ij K_ij P_ij`` with
``P_ij = int d_i N (x) d_j N``, again a tensor product per axis: ``K1``
along ``i = j``, the 1-D first-moment matrix ``G = int N' N`` along ``i``
and ``G^T`` along ``j`` when ``i != j``, ``M1`` along the other axes. In the
Hadamard basis ``G`` has a single non-zero entry, at (difference, mean)
(``H G H = [[0, 0], [-2, 0]]``), so ``Khat = H Ke H / 4**d`` is the
diagonal of the isotropic part plus two entries per mode of the remaining
axes for every off-diagonal ``K_ij`` (``hadamard_coefficients``).
"""

from __future__ import annotations

import numpy as np

from sve.solvers._core.q1_geometry import corner_hadamard, corner_offsets, zero_dirichlet_ends
from sve.solvers._core.spacing import per_axis
from sve.solvers.conductivity.fv import Phases
from sve.solvers.conductivity.q1_aniso_kernels import (
    tensor_flux_2d,
    tensor_flux_3d,
    tensor_mean_flux_2d,
    tensor_mean_flux_3d,
)
from sve.solvers.conductivity.q1_free_kernels import flux_sums_2d, flux_sums_3d
from sve.solvers.conductivity.q1_kernels import (
    mean_flux_2d,
    mean_flux_3d,
    mean_flux_pair_3d,
    nodal_flux_2d,
    nodal_flux_3d,
)
from sve.solvers.conductivity.q1_small_kernels import flux_planes


def element_modes(ndim: int, spacing: float | tuple[float, ...] | np.ndarray) -> np.ndarray:
    """Return the Hadamard eigenvalues of the unit Q1 element stiffness.

    Parameters
    ----------
    ndim : int
        2 or 3.
    spacing : float or sequence of float
        Voxel edges ``h_i`` per axis (one number: cubic voxels).

    Returns
    -------
    ndarray of shape (2**ndim,), float64
        ``lambda(beta) / 2**ndim`` for the modes ``beta`` in the order of
        `corner_offsets`, so that ``Ke = H_d diag(result) H_d``.
    """
    h = per_axis(spacing, ndim)
    kappa = np.stack([np.zeros(ndim), 2.0 / h], axis=1)  # kappa[i, beta_i]
    mu = np.stack([h / 2.0, h / 6.0], axis=1)
    modes = np.zeros(2**ndim)
    for index, beta in enumerate(corner_offsets(ndim)):
        for i in range(ndim):
            term = kappa[i, beta[i]]
            for j in range(ndim):
                if j != i:
                    term *= mu[j, beta[j]]
            modes[index] += term
    return modes / 2**ndim


def gradient_products(ndim: int, spacing: float | tuple[float, ...] | np.ndarray) -> np.ndarray:
    """Return ``P[i, j, a, b] = int d_i N_a d_j N_b dV`` over one voxel.

    Parameters
    ----------
    ndim : int
        2 or 3.
    spacing : float or sequence of float
        Voxel edges ``h_i`` per axis (one number: cubic voxels).

    Returns
    -------
    ndarray of shape (d, d, 2**d, 2**d), float64
        Exact tensor products of the 1-D stiffness ``K1 / h``, mass
        ``M1 h`` and first moment ``G = int N'_a N_b = [[-1, -1], [1, 1]] / 2``
        (free of ``h``) of every axis; the element stiffness of a tensor
        ``K`` is ``sum_ij K_ij P[i, j]``.
    """
    h = per_axis(spacing, ndim)
    k1 = np.array([[1.0, -1.0], [-1.0, 1.0]])
    m1 = np.array([[2.0, 1.0], [1.0, 2.0]]) / 6.0
    g1 = np.array([[-1.0, -1.0], [1.0, 1.0]]) / 2.0
    out = np.empty((ndim, ndim, 2**ndim, 2**ndim))
    for i in range(ndim):
        for j in range(ndim):
            product = np.ones((1, 1))
            for axis in range(ndim):
                if axis == i == j:
                    factor = k1 / h[axis]
                elif axis == i:
                    factor = g1
                elif axis == j:
                    factor = g1.T
                else:
                    factor = m1 * h[axis]
                product = np.kron(product, factor)
            out[i, j] = product
    return out


def element_hadamard(
    tensors: np.ndarray, spacing: float | tuple[float, ...] | np.ndarray
) -> np.ndarray:
    """Element stiffnesses of conductivity tensors in the corner Hadamard basis.

    Parameters
    ----------
    tensors : ndarray of shape (n, d, d), float64
        Symmetric conductivity tensor of each material.
    spacing : float or sequence of float
        Voxel edges ``h_i`` per axis.

    Returns
    -------
    ndarray of shape (n, 2**d, 2**d), float64
        ``Khat = H Ke H / 4**d`` with ``Ke = sum_ij K_ij P_ij``
        (`gradient_products`) and ``H`` the unnormalised corner Hadamard
        matrix, so that ``Ke = H Khat H``.
    """
    ndim = tensors.shape[-1]
    hadamard = corner_hadamard(ndim)
    products = np.einsum("ac,ijcd,db->ijab", hadamard, gradient_products(ndim, spacing), hadamard)
    khat = np.einsum("nij,ijab->nab", tensors, products) / 4.0**ndim
    return 0.5 * (khat + khat.transpose(0, 2, 1))


# The non-zero entries of Khat, in the order the kernels of q1_aniso_kernels.py read them: the
# diagonal (mode 0 excepted), then the pairs of difference modes coupled by K_01, K_02, K_12.
HADAMARD_ENTRIES = {
    2: ((1, 1), (2, 2), (3, 3), (2, 1)),
    3: tuple((m, m) for m in range(1, 8)) + ((4, 2), (5, 3), (4, 1), (6, 3), (2, 1), (6, 5)),
}


def hadamard_coefficients(
    tensors: np.ndarray, spacing: float | tuple[float, ...] | np.ndarray
) -> np.ndarray:
    """Return the non-zero entries of ``Khat`` per material, shape (n, 4) or (n, 13).

    The order is ``HADAMARD_ENTRIES[d]``; every other entry of ``Khat`` is
    zero in exact arithmetic (``Khat`` is symmetric, its mean row and column
    vanish).
    """
    khat = element_hadamard(tensors, spacing)
    rows, cols = np.array(HADAMARD_ENTRIES[tensors.shape[-1]]).T
    return np.ascontiguousarray(khat[:, rows, cols])


class Q1Grid:
    """The Q1 operator of one image on its node grid, for one set of boundary kinds.

    Parameters
    ----------
    k : ndarray of shape (N0, ..., N_{d-1}), float64, or Phases
        Voxel conductivities, >= 0; or the labels and conductivities of the phases
        (scalars, a void phase included, ``conductivity/fv.py``): the kernels read
        ``table[labels]`` where they need a conductivity, no float64 field of the
        image is made (the same values, the same bits).
    kinds : tuple of {"periodic", "dirichlet", "neumann"}
        Boundary condition of the fluctuation per axis: periodic (N nodes),
        zero on both faces (N + 1 nodes, the face nodes fixed) or free
        (N + 1 nodes).
    spacing : float or sequence of float
        Voxel edges ``h_i`` per axis (one number: cubic voxels).
    """

    discretization = "q1"

    def __init__(
        self, k: np.ndarray, kinds: tuple[str, ...], spacing: float | tuple[float, ...]
    ) -> None:
        ndim = k.ndim
        h = per_axis(spacing, ndim)
        self.k = k
        # What the kernels read: the float64 field, or the labels and the phases' table.
        self._values, self._table = (k.labels, k.table) if isinstance(k, Phases) else (k, None)
        self.kinds = kinds
        self.spacing = h
        self.shape = tuple(
            n if kind == "periodic" else n + 1 for n, kind in zip(k.shape, kinds, strict=True)
        )
        self.volume = k.size * float(np.prod(h))
        self.free = tuple(slice(1, -1) if kind == "dirichlet" else slice(None) for kind in kinds)
        self._modes = element_modes(ndim, h)
        # corner positions (d, 2**d): h_i times the binary digit of the corner along i
        self._corners = np.ascontiguousarray(h[:, None] * corner_offsets(ndim).T)
        self._nodal_flux = nodal_flux_2d if ndim == 2 else nodal_flux_3d
        self._mean_flux = mean_flux_2d if ndim == 2 else mean_flux_3d

    def flux(self, u: np.ndarray, gradient: np.ndarray, out: np.ndarray) -> None:
        """``out = A (u + gradient . x)``, zero on the fixed nodes."""
        self._nodal_flux(u, gradient @ self._corners, self._values, self._modes, out, self._table)
        self.zero_fixed(out)

    def flux_planes(self, u: np.ndarray, out: np.ndarray) -> None:
        """``out = A u`` (`flux` without an affine part), zero on the fixed nodes, in 3-D by
        the plane-wise ``q1_small_kernels.flux_planes`` in the dtype of `u`: the same
        operator as `flux`, its sums in another order, faster on small images (measured in
        the solver notes, "Small SVEs", seventh round). For the conjugate gradient of the
        multigrid solves of small 3-D images (``cell_problem._Solver``).
        """
        flux_planes(u, self._values, self._table, self._modes, out)
        self.zero_fixed(out)

    def boundary_load(self, flux: np.ndarray, out: np.ndarray, add: bool = False) -> None:
        """``out = A_1 (flux . x)``, the nodal loads of the uniform normal flux ``flux . n``
        on the boundary of a grid with open axes (``N + 1`` nodes).

        Exactly ``f_n = sum_faces (flux . n) int_face N_n dS`` (the divergence
        theorem on every voxel; the interior faces cancel): on the faces normal
        to axis ``a``, ``-flux_a`` at ``x_a = 0`` and ``+flux_a`` at ``x_a = L``
        times the face area of a node, the product of ``h_b`` over the other
        axes ``b``, halved once per other axis on which the node is an end
        node. Made on the faces alone: no field of unit conductivities. With `add`, added
        to `out` instead.
        """
        ndim = self.k.ndim
        if not add:
            out[...] = 0.0
        for axis in range(ndim):
            face = np.ones(())
            for other in range(ndim):
                if other != axis:
                    weights = np.full(self.shape[other], self.spacing[other])
                    weights[[0, -1]] *= 0.5
                    face = np.multiply.outer(face, weights)
            for end, sign in ((0, -1.0), (-1, 1.0)):
                index = [slice(None)] * ndim
                index[axis] = end
                out[tuple(index)] += sign * flux[axis] * face

    def mean_flux(self, u: np.ndarray, gradient: np.ndarray) -> np.ndarray:
        """Volume average of ``k grad(u + gradient . x)``, shape (d,)."""
        out = np.empty(self.k.ndim)
        self._mean_flux(u, self._values, gradient, self.spacing, out, self._table)
        return out

    def mean_fluxes(self, u: np.ndarray, gradient: np.ndarray) -> tuple:
        """``(mean_flux(u, gradient), mean_flux(u, 0))``, the same bits; in 3-D in one pass
        (``q1_kernels.mean_flux_pair_3d``).
        """
        ndim = self.k.ndim
        if ndim == 2:
            return self.mean_flux(u, gradient), self.mean_flux(u, np.zeros(ndim))
        out, out0 = np.empty(ndim), np.empty(ndim)
        mean_flux_pair_3d(u, self._values, gradient, self.spacing, out, out0, self._table)
        return out, out0

    def mean_gradient(self, u: np.ndarray) -> np.ndarray:
        """Volume average of ``grad u``, shape (d,)."""
        out = np.empty(self.k.ndim)
        ndim = self.k.ndim
        if self._table is None:
            self._mean_flux(u, np.ones_like(self.k), np.zeros(ndim), self.spacing, out)
        else:  # unit conductivities from the labels: no field of ones
            ones = np.ones_like(self._table)
            self._mean_flux(u, self._values, np.zeros(ndim), self.spacing, out, ones)
        return out

    def zero_fixed(self, x: np.ndarray) -> None:
        """Zero `x` on the nodes of the Dirichlet faces."""
        zero_dirichlet_ends(x, self.kinds)

    def direction_mean(self, u: np.ndarray, flux: bool = True) -> np.ndarray:
        """Volume average of ``k grad u`` (of ``grad u`` if not `flux`), shape (d,), for the
        search directions of ``pcg.pcg_free`` (``q1_free_kernels``: a faster order of the
        sums of `mean_flux`, and no temporary of the image).
        """
        out = np.empty(self.k.ndim)
        kernel = flux_sums_2d if self.k.ndim == 2 else flux_sums_3d
        kernel(u, self._values, self.spacing, out, self._table, not flux)
        return out


class TensorQ1Grid(Q1Grid):
    """The Q1 operator of an image with one conductivity tensor per material.

    Parameters
    ----------
    k : ndarray of shape (N0, ..., N_{d-1}), float64
        A scalar stand-in per voxel (> 0 where the voxel conducts, 0 for a
        void); only its shape and sign pattern are used.
    kinds : tuple of {"periodic", "dirichlet", "neumann"}
        Boundary condition of the fluctuation per axis.
    spacing : float or sequence of float
        Voxel edges ``h_i`` per axis.
    material : ndarray of the shape of `k`, int32
        Index of every voxel into `tensors`.
    tensors : ndarray of shape (n, d, d), float64
        Symmetric conductivity tensors (positive definite, or zero: a void).
    """

    def __init__(
        self,
        k: np.ndarray,
        kinds: tuple[str, ...],
        spacing: float | tuple[float, ...],
        material: np.ndarray,
        tensors: np.ndarray,
    ) -> None:
        super().__init__(k, kinds, spacing)
        self.material = material
        self.tensors = tensors
        self._coefficients = hadamard_coefficients(tensors, self.spacing)
        ndim = k.ndim
        self._tensor_flux = tensor_flux_2d if ndim == 2 else tensor_flux_3d
        self._tensor_mean_flux = tensor_mean_flux_2d if ndim == 2 else tensor_mean_flux_3d

    def flux(self, u: np.ndarray, gradient: np.ndarray, out: np.ndarray) -> None:
        """``out = A (u + gradient . x)``, zero on the fixed nodes."""
        self._tensor_flux(u, gradient @ self._corners, self.material, self._coefficients, out)
        self.zero_fixed(out)

    def mean_flux(self, u: np.ndarray, gradient: np.ndarray) -> np.ndarray:
        """Volume average of ``K grad(u + gradient . x)``, shape (d,)."""
        out = np.empty(self.k.ndim)
        self._tensor_mean_flux(u, self.material, self.tensors, gradient, self.spacing, out)
        return out

    def mean_fluxes(self, u: np.ndarray, gradient: np.ndarray) -> tuple:
        """``(mean_flux(u, gradient), mean_flux(u, 0))``: two passes of the tensor kernel."""
        return self.mean_flux(u, gradient), self.mean_flux(u, np.zeros(self.k.ndim))
