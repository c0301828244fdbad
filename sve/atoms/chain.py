r"""Cauchy–Born rule and phonon stability of a uniformly stretched 1-D chain.

A chain of atoms at reference spacing :math:`a_0` interacts with its
:math:`n = 1, \dots, N_n` neighbours through a pair potential
:math:`\varphi`. The Cauchy–Born rule stretches every bond by the
macroscopic stretch :math:`\lambda`, so that the strain-energy density per
unit reference length is

.. math:: W(\lambda) = \frac{1}{a_0} \sum_{n=1}^{N_n} \varphi(n \lambda a_0),

its first Piola stress (a force in 1-D) :math:`W'(\lambda) = \sum_n n
\varphi'(n\lambda a_0)` and its tangent modulus :math:`W''(\lambda) = \sum_n
n^2 a_0 \varphi''(n \lambda a_0)`. Each neighbour set has its own stress-free
spacing, the root of :math:`W'(1) = 0`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize

from sve._validation import check_positive, check_real
from sve.atoms._checks import check_neighbours, check_stretch, check_wavenumbers
from sve.atoms._relax import stress_free_spacing
from sve.atoms.potentials import check_potential

__all__ = [
    "ChainStability",
    "chain_dispersion",
    "chain_energy_density",
    "chain_modulus",
    "chain_spacing",
    "chain_stability",
    "chain_stress",
    "resolve_neighbours",
]


def _orders(n_neighbours: int) -> np.ndarray:
    return np.arange(1, n_neighbours + 1, dtype=np.float64)


def resolve_neighbours(potential: object, n_neighbours: int | None) -> int:
    """The number of neighbours: `n_neighbours` checked, or, for None, all within the cutoff.

    With None, the neighbours counted are those closer than ``potential.cutoff``
    at the chain's own stress-free spacing, found by iterating n -> floor(cutoff / a0(n))
    from 1 until it no longer grows (attractive tails pull the chain in as
    neighbours join). Neighbours farther than the cutoff at the reference spacing
    are left out even where a compression would bring them inside it.

    Examples
    --------
    >>> from sve.atoms import LennardJones
    >>> resolve_neighbours(LennardJones(cutoff=2.5), None)
    2
    >>> resolve_neighbours(LennardJones(cutoff=3.36), None)  # 3.36 / a0(2) = 3.001
    3
    """
    if n_neighbours is not None:
        return check_neighbours(n_neighbours)
    potential = check_potential(potential)
    if not np.isfinite(potential.cutoff):
        raise ValueError(
            "n_neighbours=None takes every neighbour within the potential's cutoff, "
            f"but {potential!r} has none: give n_neighbours or a cutoff"
        )
    n = 1
    for _ in range(10_000):
        grown = max(int(np.floor(potential.cutoff / chain_spacing(potential, n_neighbours=n))), 1)
        if grown <= n:
            return n
        n = grown
    raise ValueError(f"no stable neighbour count within cutoff {potential.cutoff!r}")


def chain_spacing(potential: object, *, n_neighbours: int | None = 1) -> float:
    r"""Stress-free spacing :math:`a_0` of an infinite chain with `n_neighbours` neighbours.

    Parameters
    ----------
    potential : str or pair potential
        A :mod:`sve.atoms.potentials` object or a name (``"lj"``, ...).
    n_neighbours : int or None, default 1
        Neighbours each atom interacts with on each side (>= 1); the
        potential's cutoff may switch farther ones off. None: every
        neighbour within the potential's cutoff at the stress-free spacing
        (:func:`resolve_neighbours`).

    Returns
    -------
    float
        :math:`a_0` (length units), the root of :math:`\sum_n n
        \varphi'(n a_0) = 0` next to the pair minimum, found by bracketing
        from ``potential.r_min`` and Brent's method to 1e-15 relative.

    Notes
    -----
    Nearest neighbours only: :math:`a_0 = r_{min}` (:math:`2^{1/6}\sigma`
    for Lennard-Jones). Farther neighbours pull the chain in: the full
    Lennard-Jones chain has :math:`a_0^6 = 2 \zeta(12)/\zeta(6)\,\sigma^6`,
    :math:`a_0 \approx 1.1193\,\sigma` (the sums :math:`\sum_n n^{-k} =
    \zeta(k)` of the two terms).

    References
    ----------
    .. [1] M. Born and K. Huang, *Dynamical Theory of Crystal Lattices*,
       Oxford, 1954, chapter 5 (Cauchy–Born rule, lattice stability).
    .. [2] E. B. Tadmor and R. E. Miller, *Modeling Materials*, Cambridge,
       2011, sections 11.2 (Cauchy–Born rule) and 11.5 (phonon stability).

    Examples
    --------
    >>> round(chain_spacing("lj"), 6), round(2 ** (1 / 6), 6)
    (1.122462, 1.122462)
    >>> round(chain_spacing("lj", n_neighbours=100), 4)
    1.1193
    """
    potential = check_potential(potential)
    n = _orders(resolve_neighbours(potential, n_neighbours))

    def force(a):
        return float(np.sum(n * potential.dphi(n * a)))

    return stress_free_spacing(
        force, potential.r_min, ": is potential.r_min the distance of its minimum?"
    )


def _bond_terms(potential, stretch, n_neighbours, which):
    potential = check_potential(potential)
    n_neighbours = resolve_neighbours(potential, n_neighbours)
    stretch = check_stretch(stretch)
    a0 = chain_spacing(potential, n_neighbours=n_neighbours)
    n = _orders(n_neighbours)
    r = stretch[..., None] * n * a0
    return getattr(potential, which)(r), n, a0


def chain_energy_density(potential: object, stretch: object, *, n_neighbours: int | None = 1):
    r"""Cauchy–Born strain-energy density :math:`W(\lambda)` per unit reference length.

    Parameters
    ----------
    potential : str or pair potential
        The pair potential (object or name).
    stretch : float or array_like
        Macroscopic stretch :math:`\lambda > 0` (1: the stress-free chain).
    n_neighbours : int or None, default 1
        Neighbours on each side (>= 1), or None for all within the
        potential's cutoff (:func:`resolve_neighbours`).

    Returns
    -------
    float or ndarray of the shape of `stretch`
        :math:`W = a_0^{-1}\sum_n \varphi(n\lambda a_0)` (energy / length),
        :math:`a_0` from :func:`chain_spacing`.

    Examples
    --------
    >>> round(float(chain_energy_density("lj", 1.0)), 6)  # -epsilon / 2^(1/6) sigma
    -0.890899
    """
    phi, _, a0 = _bond_terms(potential, stretch, n_neighbours, "phi")
    return phi.sum(axis=-1) / a0


def chain_stress(potential: object, stretch: object, *, n_neighbours: int | None = 1):
    r"""Cauchy–Born stress :math:`W'(\lambda) = \sum_n n \varphi'(n \lambda a_0)` (a force).

    Parameters
    ----------
    potential : str or pair potential
        The pair potential (object or name).
    stretch : float or array_like
        Macroscopic stretch :math:`\lambda > 0`.
    n_neighbours : int or None, default 1
        Neighbours on each side (>= 1), or None for all within the
        potential's cutoff (:func:`resolve_neighbours`).

    Returns
    -------
    float or ndarray of the shape of `stretch`
        The first Piola stress (energy / length: the force every cross
        section carries), zero at :math:`\lambda = 1`.

    Examples
    --------
    >>> abs(float(chain_stress("lj", 1.0, n_neighbours=3))) < 1e-12
    True
    """
    dphi, n, _ = _bond_terms(potential, stretch, n_neighbours, "dphi")
    return (n * dphi).sum(axis=-1)


def chain_modulus(potential: object, stretch: object, *, n_neighbours: int | None = 1):
    r"""Cauchy–Born tangent modulus :math:`W''(\lambda) = \sum_n n^2 a_0 \varphi''(n\lambda a_0)`.

    Parameters
    ----------
    potential : str or pair potential
        The pair potential (object or name).
    stretch : float or array_like
        Macroscopic stretch :math:`\lambda > 0`.
    n_neighbours : int or None, default 1
        Neighbours on each side (>= 1), or None for all within the
        potential's cutoff (:func:`resolve_neighbours`).

    Returns
    -------
    float or ndarray of the shape of `stretch`
        The tangent modulus (energy / length, the 1-D Young's modulus at
        :math:`\lambda = 1`); its first zero is the long-wave
        (acoustic) stability limit.

    Examples
    --------
    >>> round(float(chain_modulus("lj", 1.0)), 4)  # a0 phi''(a0) = 2^(1/6) 72 / 2^(1/3)
    64.1447
    """
    d2phi, n, a0 = _bond_terms(potential, stretch, n_neighbours, "d2phi")
    return (n**2 * a0 * d2phi).sum(axis=-1)


def chain_dispersion(
    potential: object,
    stretch: object,
    q: object = None,
    *,
    n_neighbours: int | None = 1,
    mass: float = 1.0,
) -> tuple[np.ndarray, np.ndarray]:
    r"""Phonon dispersion :math:`\omega^2(q)` of the uniformly stretched chain.

    Parameters
    ----------
    potential : str or pair potential
        The pair potential (object or name).
    stretch : float or array_like
        Macroscopic stretch :math:`\lambda > 0`.
    q : array_like or None
        Reduced wavenumbers :math:`q = k a_0` (phase per atom, radians);
        by default 257 points over the half Brillouin zone :math:`[0, \pi]`
        (:math:`\omega^2` is even and :math:`2\pi`-periodic in q).
    n_neighbours : int or None, default 1
        Neighbours on each side (>= 1), or None for all within the
        potential's cutoff (:func:`resolve_neighbours`).
    mass : float, default 1.0
        Mass of an atom (mass units), > 0.

    Returns
    -------
    q : ndarray of shape (Q,)
        The wavenumbers.
    omega2 : ndarray of shape stretch.shape + (Q,)
        :math:`\omega^2` (energy / (mass length²)); negative values are
        unstable modes (imaginary frequency).

    Notes
    -----
    Linearizing the forces about the uniform stretch gives, for the plane
    wave :math:`u_j \propto e^{i (q j - \omega t)}` [1]_,

    .. math:: m \omega^2(q) = 2 \sum_n \varphi''(n \lambda a_0)\,(1 - \cos n q).

    For :math:`q \to 0`, :math:`m\omega^2 \approx q^2 \sum_n n^2
    \varphi''_n = q^2 W''(\lambda)/a_0`: the long waves are stable while the
    Cauchy–Born modulus is positive.

    References
    ----------
    .. [1] M. Born and K. Huang, *Dynamical Theory of Crystal Lattices*,
       Oxford, 1954, chapter 5 (Cauchy–Born rule, lattice stability).
    .. [2] E. B. Tadmor and R. E. Miller, *Modeling Materials*, Cambridge,
       2011, sections 11.2 (Cauchy–Born rule) and 11.5 (phonon stability).

    Examples
    --------
    >>> q, w2 = chain_dispersion("lj", 1.0, [0.0, np.pi])
    >>> w2.round(3).tolist()  # 4 phi''(a0) at the zone boundary
    [0.0, 228.586]
    """
    potential = check_potential(potential)
    mass = check_positive(mass, "mass")
    q = np.linspace(0.0, np.pi, 257) if q is None else check_wavenumbers(q)
    if q.ndim != 1:
        raise ValueError(f"q must be one-dimensional, got shape {q.shape}")
    d2phi, n, _ = _bond_terms(potential, stretch, n_neighbours, "d2phi")
    weights = 2.0 * np.sin(0.5 * np.multiply.outer(n, q)) ** 2  # 1 - cos nq
    return q, 2.0 / mass * d2phi @ weights


@dataclass(frozen=True)
class ChainStability:
    r"""Stability limit of the uniformly stretched chain (:func:`chain_stability`).

    Attributes
    ----------
    stretch : float
        Critical stretch :math:`\lambda_c` where the first phonon goes soft
        (``inf`` if none does below ``stretch_max``).
    wavenumber : float
        Reduced wavenumber :math:`q_c \in [0, \pi]` of that mode (NaN when
        every mode softens at once, or none does).
    mode : str
        ``"all"`` (every mode at once: nearest neighbours), ``"long-wave"``
        (:math:`q_c = 0`), ``"zone-boundary"`` (:math:`q_c = \pi`),
        ``"interior"`` or ``"none"``.
    acoustic_stretch : float
        First zero of the Cauchy–Born modulus :math:`W''` (the long-wave,
        acoustic-tensor criterion); equals ``stretch`` unless a short wave
        goes first.
    spacing : float
        Stress-free spacing :math:`a_0` (length units).
    n_neighbours : int
        Neighbours on each side.
    """

    stretch: float
    wavenumber: float
    mode: str
    acoustic_stretch: float
    spacing: float
    n_neighbours: int

    def to_dict(self) -> dict:
        r"""The fields as a plain dict (JSON-ready floats)."""
        return {
            "stretch": self.stretch,
            "wavenumber": self.wavenumber,
            "mode": self.mode,
            "acoustic_stretch": self.acoustic_stretch,
            "spacing": self.spacing,
            "n_neighbours": self.n_neighbours,
        }


def _ratio_weights(n: np.ndarray, q: np.ndarray) -> np.ndarray:
    r"""(1 - cos n q) / (1 - cos q) = (sin(n q/2) / sin(q/2))², n² at q = 0; shape (n, q).

    The sine form has no cancellation at small q.
    """
    q = np.atleast_1d(np.asarray(q, dtype=np.float64))
    out = np.empty((n.size, q.size))
    zero = q == 0.0
    half = 0.5 * q[~zero]
    out[:, ~zero] = (np.sin(np.multiply.outer(n, half)) / np.sin(half)) ** 2
    out[:, zero] = n[:, None] ** 2
    return out


def chain_stability(
    potential: object,
    *,
    n_neighbours: int | None = 1,
    stretch_max: float = 2.0,
    points: int = 513,
) -> ChainStability:
    r"""Critical stretch of the chain: where the first phonon goes soft, and which one.

    Parameters
    ----------
    potential : str or pair potential
        The pair potential (object or name).
    n_neighbours : int or None, default 1
        Neighbours on each side (>= 1), or None for all within the
        potential's cutoff (:func:`resolve_neighbours`).
    stretch_max : float, default 2.0
        Largest stretch searched (> 1).
    points : int, default 513
        Wavenumbers on :math:`[0, \pi]` where the softest mode is first
        looked for (then refined by a bounded scalar minimization).

    Returns
    -------
    ChainStability
        The critical stretch, the soft wavenumber and its kind, with the
        long-wave (acoustic) limit beside it.

    Notes
    -----
    With :math:`h(q, \lambda) = m\omega^2 / (2(1 - \cos q)) = \sum_n
    \varphi''_n (1 - \cos nq)/(1 - \cos q)`, finite at :math:`q = 0` where it
    is :math:`W''/a_0`, the chain is stable while :math:`s(\lambda) = \min_q
    h > 0`; :math:`\lambda_c` is the first root of :math:`s` above 1,
    bracketed on a grid of stretches (step ``(stretch_max - 1)/2000``) and
    refined by Brent's method to 1e-14. Nearest neighbours: :math:`h =
    \varphi''(\lambda a_0)` for every q, so all modes soften at once where
    :math:`\varphi'' = 0`: for Lennard-Jones :math:`\lambda_c^6 = (26/7) /
    2 = 13/7`, :math:`\lambda_c \approx 1.1087`. Two neighbours: :math:`h =
    \varphi_1'' + 2\varphi_2''(1 + \cos q)`, linear in :math:`\cos q`, so the
    first soft mode is at q = 0 (where :math:`\varphi_1'' + 4\varphi_2'' =
    0`) when :math:`\varphi_2'' < 0`, as for Lennard-Jones, else at
    :math:`q = \pi` [1]_ [2]_.

    References
    ----------
    .. [1] M. Born and K. Huang, *Dynamical Theory of Crystal Lattices*,
       Oxford, 1954, chapter 5 (Cauchy–Born rule, lattice stability).
    .. [2] E. B. Tadmor and R. E. Miller, *Modeling Materials*, Cambridge,
       2011, sections 11.2 (Cauchy–Born rule) and 11.5 (phonon stability).

    Examples
    --------
    >>> limit = chain_stability("lj")
    >>> round(limit.stretch, 10) == round((13 / 7) ** (1 / 6), 10), limit.mode
    (True, 'all')
    >>> limit = chain_stability("lj", n_neighbours=2)
    >>> limit.mode, limit.stretch == limit.acoustic_stretch
    ('long-wave', True)
    """
    potential = check_potential(potential)
    n_neighbours = resolve_neighbours(potential, n_neighbours)
    stretch_max = check_real(stretch_max, "stretch_max", 1.0, np.inf)
    from sve._validation import check_integer

    points = check_integer(points, "points", 3)
    a0 = chain_spacing(potential, n_neighbours=n_neighbours)
    n = _orders(n_neighbours)
    grid_q = np.linspace(0.0, np.pi, points)
    weights = _ratio_weights(n, grid_q)

    def curvatures(stretch):
        return potential.d2phi(np.multiply.outer(np.atleast_1d(stretch), n) * a0)

    def softest(stretch):
        r"""Min over q of h, and where; refined around the grid minimum."""
        values = curvatures(stretch)[0] @ weights
        i = int(np.argmin(values))
        if n_neighbours == 1 or i in (0, points - 1):
            return float(values[i]), float(grid_q[i]), values
        lo, hi = grid_q[max(i - 1, 0)], grid_q[min(i + 1, points - 1)]
        found = optimize.minimize_scalar(
            lambda x: float(curvatures(stretch)[0] @ _ratio_weights(n, x)[:, 0]),
            bounds=(lo, hi),
            method="bounded",
            options={"xatol": 1e-12},
        )
        return min(float(found.fun), float(values[i])), float(found.x), values

    def first_root(function_grid, function):
        stretches = np.linspace(1.0, stretch_max, 2001)
        values = function_grid(stretches)
        if values[0] <= 0:
            raise ValueError(
                "the chain is unstable at its stress-free spacing "
                f"(softest mode {values[0]:.3g}): no Cauchy–Born branch to follow"
            )
        below = np.flatnonzero(values <= 0)
        if not below.size:
            return np.inf
        j = below[0]
        return float(
            optimize.brentq(function, stretches[j - 1], stretches[j], xtol=1e-14, rtol=1e-15)
        )

    acoustic = first_root(lambda s: curvatures(s) @ n**2, lambda s: float(curvatures(s)[0] @ n**2))
    critical = first_root(lambda s: (curvatures(s) @ weights).min(axis=1), lambda s: softest(s)[0])
    if not np.isfinite(critical):
        return ChainStability(np.inf, np.nan, "none", acoustic, a0, n_neighbours)
    _, q_c, values = softest(critical)
    spread = float(np.ptp(values))
    scale = float(np.sum(np.abs(curvatures(critical)) * n**2)) + np.finfo(float).tiny
    if spread <= 1e-9 * scale:
        mode, q_c = "all", np.nan
    elif q_c <= 1e-9:
        mode, q_c = "long-wave", 0.0
    elif q_c >= np.pi - 1e-9:
        mode, q_c = "zone-boundary", np.pi
    else:
        mode = "interior"
    if mode == "long-wave":
        critical = acoustic  # the same root, found on W'' alone (no q minimization)
    return ChainStability(critical, q_c, mode, acoustic, a0, n_neighbours)
