r"""A patch of triangular lattice with clamped edges, stretched and relaxed atom by atom.

The patch holds the sites :math:`a_0 (i\,\mathbf e_1 + j\,\mathbf e_2)`,
:math:`0 \le i, j < ` ``size`` (a rhombus); the atoms within the bond
reach of its edges are clamped on the affine positions :math:`\mathbf F
\mathbf X`, so every free atom has the full neighbourhood of the infinite
lattice and the uniform state is an equilibrium at every stretch. The 2-D
counterpart of :func:`sve.atoms.stretch_chain`, with the Hessian in band storage.
"""

from __future__ import annotations

import numpy as np
import xarray as xr
from scipy import sparse

from sve._validation import check_choice, check_integer
from sve.atoms._relax import check_loading, lowest_mode, relax
from sve.atoms.potentials import check_potential
from sve.atoms.triangular import (
    triangular_bonds,
    triangular_spacing,
    triangular_stability,
    triangular_stress,
)

__all__ = ["stretch_patch"]

_E = np.array([[1.0, 0.0], [0.5, np.sqrt(3.0) / 2.0]])  # rows e1, e2


class _Patch:
    def __init__(self, potential, size, shells, a0):
        self.potential = potential
        bonds = triangular_bonds(shells)
        # integer offsets (di, dj) of each bond, half of them (one per pair)
        offsets = np.rint(bonds @ np.linalg.inv(_E)).astype(int)
        half = [tuple(o) for o in offsets if (o[0] > 0) or (o[0] == 0 and o[1] > 0)]
        self.reach = int(np.max(np.abs(offsets)))
        i, j = np.meshgrid(np.arange(size), np.arange(size), indexing="ij")
        i, j = i.ravel(), j.ravel()
        self.reference = a0 * (i[:, None] * _E[0] + j[:, None] * _E[1])
        index = -np.ones((size, size), int)
        index[i, j] = np.arange(i.size)
        first, second, vectors = [], [], []
        for di, dj in half:
            ok = (i + di >= 0) & (i + di < size) & (j + dj >= 0) & (j + dj < size)
            first.append(np.flatnonzero(ok))
            second.append(index[i[ok] + di, j[ok] + dj])
            vectors.append(np.broadcast_to(a0 * (di * _E[0] + dj * _E[1]), (ok.sum(), 2)))
        self.p, self.q = np.concatenate(first), np.concatenate(second)
        self.R = np.concatenate(vectors)
        r = self.reach
        edge = (i < r) | (i >= size - r) | (j < r) | (j >= size - r)
        self.free = np.flatnonzero(~edge)
        self.n_atoms = i.size
        # atoms whose every half-set bond exists: each direction counted equally often
        inner = (i <= size - 1 - r) & (j <= size - 1 - r) & (j >= r)
        self.stress_atoms = np.zeros(i.size, bool)
        self.stress_atoms[inner] = True
        self.directions = len(half)
        self.area = np.sqrt(3.0) / 2.0 * a0**2

    def full(self, free, clamped):
        x = clamped.copy()
        x[self.free] = free.reshape(-1, 2)
        return x

    def energy_gradient(self, free, clamped):
        x = self.full(free, clamped)
        d = x[self.q] - x[self.p]
        r = np.hypot(d[:, 0], d[:, 1])
        if not np.all(r > 0):
            return np.inf, np.zeros_like(free)
        force = (self.potential.dphi(r) / r)[:, None] * d
        gradient = np.zeros_like(x)
        np.add.at(gradient, self.q, force)
        np.add.at(gradient, self.p, -force)
        return float(np.sum(self.potential.phi(r))), gradient[self.free].ravel()

    def hessian(self, free, clamped):
        x = self.full(free, clamped)
        d = x[self.q] - x[self.p]
        r = np.hypot(d[:, 0], d[:, 1])
        n = d / r[:, None]
        nn = np.einsum("bi,bk->bik", n, n)
        K = self.potential.d2phi(r)[:, None, None] * nn + (self.potential.dphi(r) / r)[
            :, None, None
        ] * (np.eye(2) - nn)
        # blocks +K at (p, p) and (q, q), -K at (p, q) and (q, p), summed by a COO matrix
        comp = np.arange(2)
        rows, cols, data = [], [], []
        for u, v, sign in ((self.p, self.p, 1.0), (self.q, self.q, 1.0),
                           (self.p, self.q, -1.0), (self.q, self.p, -1.0)):  # fmt: skip
            rows.append((2 * u[:, None, None] + comp[None, :, None]).repeat(2, axis=2).ravel())
            cols.append((2 * v[:, None, None] + comp[None, None, :]).repeat(2, axis=1).ravel())
            data.append(sign * K.ravel())
        size = 2 * self.n_atoms
        H = sparse.coo_matrix(
            (np.concatenate(data), (np.concatenate(rows), np.concatenate(cols))), (size, size)
        ).toarray()
        index = (2 * self.free[:, None] + comp).ravel()
        H = H[np.ix_(index, index)]
        return H

    def hessian_banded(self, free, clamped):
        """The Hessian of the free coordinates in upper banded storage."""
        return _banded(self.hessian(free, clamped))

    def stress(self, x):
        """Average first Piola stress of the bonds leaving the stress atoms."""
        keep = self.stress_atoms[self.p]
        d = x[self.q[keep]] - x[self.p[keep]]
        r = np.hypot(d[:, 0], d[:, 1])
        f = (self.potential.dphi(r) / r)[:, None, None] * np.einsum("bi,bj->bij", d, self.R[keep])
        atoms = keep.sum() / self.directions
        return f.sum(axis=0) / (atoms * self.area)


def _banded(H: np.ndarray) -> np.ndarray:
    """Upper banded storage of the symmetric matrix H (the free atoms are numbered row by
    row, so the couplings lie within a band of about twice a row's degrees of freedom).
    """
    rows, cols = np.nonzero(H)
    u = int(np.max(cols - rows)) if rows.size else 0
    n = H.shape[0]
    ab = np.zeros((u + 1, n))
    for k in range(u + 1):
        ab[u - k, k:] = np.diagonal(H, k)
    return ab


def stretch_patch(
    potential: object,
    stretches: object,
    *,
    size: int = 10,
    shells: int = 1,
    loading: str = "equibiaxial",
    perturbation: float = 1e-6,
    gtol: float = 1e-10,
    max_iterations: int = 2000,
    rng: int | np.random.Generator | None = None,
) -> xr.Dataset:
    r"""Stretch a clamped triangular patch quasi-statically, relaxing every step.

    Parameters
    ----------
    potential : str or pair potential
        The pair potential (object or name).
    stretches : array_like of shape (S,)
        Increasing stretches :math:`\lambda` (> 0).
    size : int, default 10
        Atoms along each edge of the rhombus (>= 2 reach + 1, reach the
        bond length in lattice steps); ``size**2`` atoms.
    shells : int, default 1
        Neighbour shells (>= 1).
    loading : {"equibiaxial", "uniaxial"}
        :math:`\mathbf F = \lambda\mathbf I` or :math:`\mathrm{diag}(\lambda, 1)`.
    perturbation : float, default 1e-6
        Standard deviation of the Gaussian displacement of the free atoms
        before each relaxation, in units of :math:`a_0` (>= 0).
    gtol : float, default 1e-10
        Largest force component on a free atom at a relaxed state, relative
        to the largest Cauchy–Born stress component over `stretches` times
        :math:`a_0`.
    max_iterations : int, default 2000
        Newton steps per stretch.
    rng : int, numpy.random.Generator or None
        Seed of the perturbations.

    Returns
    -------
    xarray.Dataset
        Along ``stretch``: ``stress`` (i, j), the first Piola stress
        averaged over the bonds of the atoms whose every bond lies in the
        patch; ``cauchy_born_stress`` (i, j) (:func:`triangular_stress`);
        ``bond_min``, ``bond_max`` (nearest-neighbour lengths over those of
        the affine patch); ``localized`` (``bond_max - bond_min > 1e-3``);
        ``residual``; ``stable``; ``lowest_mode`` (smallest eigenvalue of
        the Hessian of the affine patch: the patch's own stability);
        ``positions`` (stretch, atom, i). Attributes: ``critical_stretch``
        (:func:`triangular_stability`, the infinite lattice),
        ``departure_stretch``, ``size``, ``shells``, ``spacing``.

    Notes
    -----
    The same scheme as :func:`sve.atoms.stretch_chain`. The clamped edges
    hold back waves longer than the patch, so a finite patch whose lattice
    fails by a long wave leaves the uniform state a little after
    :math:`\lambda_c` of the infinite lattice: at the first stretch where
    the Hessian of its affine state (``lowest_mode``) is no longer positive
    definite, which tends to :math:`\lambda_c` as the patch grows.

    Examples
    --------
    >>> ds = stretch_patch("lj", [1.05, 1.2], size=6, rng=0)
    >>> ds["localized"].values.tolist()
    [False, True]
    """
    potential = check_potential(potential)
    shells = check_integer(shells, "shells", 1)
    loading = check_choice(loading, "loading", ("equibiaxial", "uniaxial"))
    stretches, perturbation, gtol, max_iterations = check_loading(
        stretches, perturbation, gtol, max_iterations
    )
    rng = np.random.default_rng(rng)
    a0 = triangular_spacing(potential, shells=shells)
    reach = int(np.max(np.abs(np.rint(triangular_bonds(shells) @ np.linalg.inv(_E)))))
    size = check_integer(size, "size", 2 * reach + 1)
    patch = _Patch(potential, size, shells, a0)

    def gradient_of(stretch):
        return np.diag([stretch, stretch if loading == "equibiaxial" else 1.0])

    cauchy_born = np.array([triangular_stress(potential, gradient_of(s), shells=shells)
                            for s in stretches])  # fmt: skip
    scale = max(float(np.max(np.abs(cauchy_born))), 1e-3) * a0
    nearest = patch.p, patch.q
    is_nearest = np.isclose(np.hypot(*patch.R.T), a0)
    x = patch.reference @ gradient_of(stretches[0]).T
    previous = gradient_of(stretches[0])
    rows = {k: [] for k in ("stress", "bond_min", "bond_max", "residual", "stable", "lowest")}
    positions = []
    for stretch in stretches:
        F = gradient_of(stretch)
        mapped = x @ (F @ np.linalg.inv(previous)).T
        clamped = patch.reference @ F.T
        start = mapped[patch.free].ravel() + perturbation * a0 * rng.standard_normal(
            2 * patch.free.size
        )
        affine = clamped[patch.free].ravel()
        rows["lowest"].append(lowest_mode(patch, affine, clamped)[0])
        free, residual, _, ok = relax(
            patch, start, clamped, gtol, max_iterations, scale, 1e-2 * a0
        )
        x = patch.full(free, clamped)
        previous = F
        d = x[nearest[1][is_nearest]] - x[nearest[0][is_nearest]]
        d0 = clamped[nearest[1][is_nearest]] - clamped[nearest[0][is_nearest]]
        ratio = np.hypot(*d.T) / np.hypot(*d0.T)
        rows["stress"].append(patch.stress(x))
        rows["bond_min"].append(ratio.min())
        rows["bond_max"].append(ratio.max())
        rows["residual"].append(residual)
        rows["stable"].append(ok)
        positions.append(x.copy())
    bond_min, bond_max = np.array(rows["bond_min"]), np.array(rows["bond_max"])
    localized = bond_max - bond_min > 1e-3
    ds = xr.Dataset(
        {
            "stress": (("stretch", "i", "j"), np.array(rows["stress"])),
            "cauchy_born_stress": (("stretch", "i", "j"), cauchy_born),
            "bond_min": ("stretch", bond_min),
            "bond_max": ("stretch", bond_max),
            "localized": ("stretch", localized),
            "residual": ("stretch", np.array(rows["residual"])),
            "stable": ("stretch", np.array(rows["stable"])),
            "lowest_mode": ("stretch", np.array(rows["lowest"])),
            "positions": (("stretch", "atom", "i"), np.array(positions)),
        },
        coords={"stretch": stretches, "i": [0, 1], "j": [0, 1]},
    )
    ds.attrs.update(
        size=size,
        shells=shells,
        loading=loading,
        spacing=a0,
        gtol=gtol,
        critical_stretch=triangular_stability(potential, shells=shells, loading=loading).stretch,
        departure_stretch=float(stretches[np.argmax(localized)]) if localized.any() else np.nan,
    )
    return ds
