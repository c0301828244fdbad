r"""A finite chain stretched quasi-statically and relaxed atom by atom, against Cauchy–Born.

The chain has ``bonds`` reference spacings :math:`a_0` (``bonds + 1``
atoms); the first and last ``n_neighbours`` atoms are clamped on the affine
positions :math:`x_i = i \lambda a_0`, so that every free atom sees the
same neighbourhood as in the infinite chain and the uniform state is an
equilibrium at every stretch. Each step maps the previous minimum affinely
to the new stretch, adds a small seeded perturbation, and relaxes.
"""

from __future__ import annotations

import numpy as np
import xarray as xr
from scipy import optimize

from sve._validation import check_integer
from sve.atoms._relax import check_loading, relax
from sve.atoms.chain import chain_spacing, chain_stability, chain_stress, resolve_neighbours
from sve.atoms.potentials import check_potential

__all__ = ["broken_chain_stretch", "stretch_chain"]


class _Chain:
    """Energy, gradient and banded Hessian of the chain's free atoms."""

    def __init__(self, potential, bonds, n_neighbours):
        self.potential = potential
        self.bonds = bonds
        self.n = n_neighbours
        self.free = slice(n_neighbours, bonds + 1 - n_neighbours)

    def full(self, free, clamped):
        x = clamped.copy()
        x[self.free] = free
        return x

    def energy_gradient(self, free, clamped):
        x = self.full(free, clamped)
        energy = 0.0
        gradient = np.zeros_like(x)
        for n in range(1, self.n + 1):
            d = x[n:] - x[:-n]
            if not np.all(d > 0):  # atoms passed through each other: not a chain
                return np.inf, gradient[self.free]
            energy += float(np.sum(self.potential.phi(d)))
            force = self.potential.dphi(d)
            gradient[n:] += force
            gradient[:-n] -= force
        return energy, gradient[self.free]

    def hessian_banded(self, free, clamped):
        """Upper banded form (n + 1, free atoms) of the exact Hessian."""
        x = self.full(free, clamped)
        size = x.size
        diagonal = np.zeros(size)
        bands = np.zeros((self.n + 1, size))
        for n in range(1, self.n + 1):
            k = self.potential.d2phi(x[n:] - x[:-n])
            diagonal[n:] += k
            diagonal[:-n] += k
            bands[self.n - n, n:] = -k  # H[i, i + n] stored at column i + n
        bands[self.n] = diagonal
        inner = bands[:, self.free].copy()
        for n in range(1, self.n + 1):
            inner[self.n - n, :n] = 0.0  # couplings to clamped atoms leave the free block
        return inner

    def cut_forces(self, x):
        """Force carried across every cut between atoms c - 1 and c (tension > 0)."""
        forces = np.zeros(x.size - 1)
        for n in range(1, self.n + 1):
            f = self.potential.dphi(x[n:] - x[:-n])
            # the pair (i, i + n) crosses the cuts i + 1 .. i + n
            for shift in range(n):
                forces[shift : shift + f.size] += f
        return forces


def _broken_or_nan(potential, bonds, n_neighbours) -> float:
    if n_neighbours != 1:
        return np.nan
    try:
        return float(broken_chain_stretch(potential, bonds))
    except ValueError:  # a potential without a broken state (harmonic)
        return np.nan


def stretch_chain(
    potential: object,
    stretches: object,
    *,
    bonds: int = 50,
    n_neighbours: int = 1,
    perturbation: float = 1e-6,
    gtol: float = 1e-10,
    max_iterations: int = 10_000,
    rng: int | np.random.Generator | None = None,
) -> xr.Dataset:
    r"""Stretch a clamped finite chain quasi-statically, relaxing every step.

    Parameters
    ----------
    potential : str or pair potential
        The pair potential (object or name).
    stretches : array_like of shape (S,)
        Increasing macroscopic stretches :math:`\lambda` (> 0), the first
        one relaxed from the affine chain.
    bonds : int, default 50
        Reference spacings in the chain (>= 2 ``n_neighbours`` + 1).
    n_neighbours : int or None, default 1
        Neighbours on each side (>= 1; None: all within the potential's
        cutoff, :func:`sve.atoms.resolve_neighbours`); that many atoms are
        clamped at each end.
    perturbation : float, default 1e-6
        Standard deviation of the Gaussian displacement added to the free
        atoms before each relaxation, in units of :math:`a_0` (>= 0).
    gtol : float, default 1e-10
        Largest force on a free atom at a relaxed state, relative to the
        largest Cauchy–Born stress magnitude over `stretches`.
    max_iterations : int, default 10000
        Newton steps per stretch; a step that ends without a stable minimum
        within `gtol` is marked ``stable = False``.
    rng : int, numpy.random.Generator or None
        Seed of the perturbations (``numpy.random.default_rng``).

    Returns
    -------
    xarray.Dataset
        Along ``stretch``: ``stress`` (the force across the middle cut,
        energy / length), ``cauchy_born_stress`` (:func:`chain_stress`),
        ``energy`` (per unit reference length), ``bond_min`` and
        ``bond_max`` (nearest-neighbour distances over :math:`\lambda a_0`),
        ``localized`` (``bond_max - bond_min > 1e-3``), ``residual`` (largest
        force on a free atom), ``stable`` (the Hessian is positive definite),
        ``iterations``; ``positions`` (stretch, atom). Attributes: ``bonds``,
        ``n_neighbours``, ``spacing`` :math:`a_0`, ``critical_stretch``
        (:func:`chain_stability`), ``departure_stretch`` (the first stretch
        whose relaxed chain is localized, NaN if none) and, beside them,
        ``broken_stretch``: where a chain of as many bonds with one broken
        bond first has less energy than the uniform one
        (:func:`broken_chain_stretch`; nearest neighbours and potentials
        that vanish at large distances only, NaN otherwise).

    Notes
    -----
    Each step starts from the previous minimum mapped affinely,
    :math:`x_i \to x_i \lambda_{k}/\lambda_{k-1}`, plus the perturbation;
    damped Newton steps with the exact banded Hessian
    (:func:`scipy.linalg.cholesky_banded`, Levenberg–Marquardt damping where
    it is not positive definite) bring it to a stationary point within
    `gtol`. If the Hessian there is not positive definite (the uniform state
    past :math:`\lambda_c` is a saddle), the state is pushed down along the
    negative-curvature eigenvector and relaxed again. Below
    :math:`\lambda_c` the uniform state is a stable minimum, and the
    relaxed stress equals the Cauchy–Born stress to the force residual;
    past it, the chain localizes: one bond breaks and the others relax
    back, and the force drops far below the Cauchy–Born stress [1]_.

    References
    ----------
    .. [1] E. B. Tadmor and R. E. Miller, *Modeling Materials*, Cambridge,
       2011, section 11.5.

    Examples
    --------
    >>> ds = stretch_chain("lj", [1.05, 1.10, 1.12], bonds=20, rng=0)
    >>> ds["localized"].values.tolist()
    [False, False, True]
    """
    potential = check_potential(potential)
    n_neighbours = resolve_neighbours(potential, n_neighbours)
    bonds = check_integer(bonds, "bonds", 2 * n_neighbours + 1)
    stretches, perturbation, gtol, max_iterations = check_loading(
        stretches, perturbation, gtol, max_iterations
    )
    rng = np.random.default_rng(rng)

    a0 = chain_spacing(potential, n_neighbours=n_neighbours)
    cauchy_born = chain_stress(potential, stretches, n_neighbours=n_neighbours)
    scale = max(float(np.max(np.abs(cauchy_born))), float(np.abs(potential.d2phi(a0))) * a0 * 1e-3)
    chain = _Chain(potential, bonds, n_neighbours)
    reference = a0 * np.arange(bonds + 1, dtype=np.float64)
    x = reference * stretches[0]
    previous = stretches[0]
    records = {name: [] for name in ("stress", "energy", "bond_min", "bond_max", "residual")}
    stable, iterations, positions = [], [], []
    middle = bonds // 2
    for stretch in stretches:
        clamped = x * (stretch / previous)
        start = clamped[chain.free] + perturbation * a0 * rng.standard_normal(
            bonds + 1 - 2 * n_neighbours
        )
        free, residual, its, ok = relax(
            chain, start, clamped, gtol, max_iterations, scale, 1e-2 * a0
        )
        x = chain.full(free, clamped)
        previous = stretch
        energy, _ = chain.energy_gradient(free, clamped)
        nearest = np.diff(x) / (stretch * a0)
        records["stress"].append(chain.cut_forces(x)[middle])
        records["energy"].append(energy / (bonds * a0))
        records["bond_min"].append(nearest.min())
        records["bond_max"].append(nearest.max())
        records["residual"].append(residual)
        stable.append(ok)
        iterations.append(its)
        positions.append(x.copy())
    bond_min, bond_max = np.array(records["bond_min"]), np.array(records["bond_max"])
    localized = bond_max - bond_min > 1e-3
    departure = float(stretches[np.argmax(localized)]) if localized.any() else np.nan
    coords = {"stretch": stretches, "atom": np.arange(bonds + 1)}
    ds = xr.Dataset(
        {
            "stress": ("stretch", np.array(records["stress"])),
            "cauchy_born_stress": ("stretch", np.asarray(cauchy_born, dtype=np.float64)),
            "energy": ("stretch", np.array(records["energy"])),
            "bond_min": ("stretch", bond_min),
            "bond_max": ("stretch", bond_max),
            "localized": ("stretch", localized),
            "residual": ("stretch", np.array(records["residual"])),
            "stable": ("stretch", np.array(stable)),
            "iterations": ("stretch", np.array(iterations)),
            "positions": (("stretch", "atom"), np.array(positions)),
        },
        coords=coords,
    )
    ds["stress"].attrs.update(long_name="force across the middle cut", units="energy/length")
    ds["positions"].attrs.update(units="length")
    ds.attrs.update(
        bonds=bonds,
        n_neighbours=n_neighbours,
        spacing=a0,
        critical_stretch=chain_stability(potential, n_neighbours=n_neighbours).stretch,
        departure_stretch=departure,
        broken_stretch=_broken_or_nan(potential, bonds, n_neighbours),
        perturbation=perturbation,
        gtol=gtol,
    )
    return ds


def broken_chain_stretch(potential: object, bonds: object) -> np.ndarray:
    r"""Stretch where a chain with one broken bond first has less energy than the uniform one.

    Nearest neighbours only. For a clamped chain of N bonds at stretch
    :math:`\lambda`, the broken state has N - 1 bonds of length r and one
    of length :math:`s = N\lambda a_0 - (N - 1) r` past the inflection,
    at the local minimum of :math:`(N - 1)\varphi(r) + \varphi(s)`; the
    uniform state has :math:`N\varphi(\lambda a_0)`.

    Parameters
    ----------
    potential : str or pair potential
        The pair potential (object or name); :math:`\varphi` must tend to
        a finite value at large distances (not harmonic).
    bonds : int or array_like of int
        Number of bonds N (>= 2).

    Returns
    -------
    ndarray of the shape of `bonds`
        The crossing stretch :math:`\lambda^*(N)`, by Brent's method to
        1e-13 (the minimum over s by a bounded scalar search to 1e-12
        relative).

    Notes
    -----
    With :math:`\varphi(\infty) = 0`, :math:`\delta = \lambda - 1` small and
    the long bond's energy negligible, the uniform chain stores
    :math:`N \varphi''(a_0) a_0^2 \delta^2/2` above its ground state, the
    broken one costs :math:`-\varphi(a_0)` (one bond's depth), so

    .. math:: \lambda^* - 1 \approx \sqrt{\frac{-2\varphi(a_0)}{N\varphi''(a_0)
              a_0^2}} \propto N^{-1/2},

    well below :math:`\lambda_c` for long chains: between the two the
    uniform state is metastable [1]_.

    References
    ----------
    .. [1] A. Braides, G. Dal Maso and A. Garroni (1999), Arch. Ration.
       Mech. Anal. 146, 23-58 (variational fracture of atomic chains).

    Examples
    --------
    >>> lam = broken_chain_stretch("lj", [100, 10_000])
    >>> bool(lam[1] < lam[0] < (13 / 7) ** (1 / 6))
    True
    """
    potential = check_potential(potential)
    array = np.asarray(bonds)
    if not np.issubdtype(array.dtype, np.integer):
        raise TypeError(f"bonds must be integers, got {bonds!r}")
    if np.any(array < 2):
        raise ValueError(f"bonds must be >= 2, got {bonds!r}")
    a0 = chain_spacing(potential)
    limit = chain_stability(potential)
    if not np.isfinite(limit.stretch):
        raise ValueError("potential never softens (no broken state): use Lennard-Jones or Morse")
    far = float(potential.phi(1e3 * a0))
    if not np.isfinite(far) or abs(far) > abs(float(potential.phi(a0))):
        raise ValueError(
            f"potential must tend to a finite value at large r, got phi(1e3 a0)={far}"
        )
    inflection = limit.stretch * a0

    def excess(stretch, n):
        length = n * stretch * a0
        top = length - (n - 1) * 0.5 * a0

        def broken(s):
            return (n - 1) * float(potential.phi((length - s) / (n - 1))) + float(potential.phi(s))

        found = optimize.minimize_scalar(
            broken, bounds=(inflection, top), method="bounded", options={"xatol": 1e-12 * top}
        )
        return n * float(potential.phi(stretch * a0)) - found.fun

    out = np.empty(array.shape)
    for index, n in np.ndenumerate(array):
        high = limit.stretch
        while excess(high, int(n)) <= 0:
            high = 1 + 2 * (high - 1)
            if high > 10:
                raise ValueError(f"no crossing below a stretch of 10 for bonds={n}")
        out[index] = optimize.brentq(excess, 1.0 + 1e-9, high, args=(int(n),), xtol=1e-13)
    return out
