r"""Cauchy–Born rule and phonon stability of the 2-D triangular lattice.

The reference lattice has spacing :math:`a_0` and bond vectors :math:`\mathbf
R = a_0 (i \mathbf e_1 + j \mathbf e_2)`, :math:`\mathbf e_1 = (1, 0)`,
:math:`\mathbf e_2 = (1/2, \sqrt 3/2)`; ``shells`` neighbour shells enter
(1: the 6 nearest at :math:`a_0`, 2: also the 6 at :math:`\sqrt 3 a_0`, 3:
the 6 at :math:`2 a_0`, ...). Under a uniform deformation gradient
:math:`\mathbf F` every bond becomes :math:`\mathbf F\mathbf R` (the
Cauchy–Born rule) and the energy per unit reference area is

.. math:: W(\mathbf F) = \frac{1}{2\Omega_0}\sum_{\mathbf R \ne 0}
          \varphi(|\mathbf F \mathbf R|), \qquad \Omega_0 = \tfrac{\sqrt 3}{2} a_0^2 .
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize

from sve._validation import check_choice, check_integer, check_positive, check_real
from sve.atoms._checks import check_gradient
from sve.atoms._relax import stress_free_spacing
from sve.atoms.potentials import check_potential

__all__ = [
    "TriangularStability",
    "triangular_bonds",
    "triangular_dispersion",
    "triangular_elastic_constants",
    "triangular_energy_density",
    "triangular_spacing",
    "triangular_stability",
    "triangular_stress",
    "triangular_tangent",
]

_E2 = np.array([0.5, np.sqrt(3.0) / 2.0])


def _check_shells(shells: object) -> int:
    return check_integer(shells, "shells", 1)


def triangular_bonds(shells: int = 1) -> np.ndarray:
    r"""Bond vectors of the first `shells` neighbour shells, in units of the spacing.

    Parameters
    ----------
    shells : int, default 1
        Number of neighbour shells (>= 1).

    Returns
    -------
    ndarray of shape (B, 2), float64
        Every :math:`\mathbf R / a_0` with :math:`|\mathbf R|` among the
        `shells` smallest nonzero lengths (both :math:`\mathbf R` and
        :math:`-\mathbf R`), sorted by length.

    Examples
    --------
    >>> triangular_bonds(1).shape, triangular_bonds(2).shape, triangular_bonds(3).shape
    ((6, 2), (12, 2), (18, 2))
    """
    shells = _check_shells(shells)
    span = shells + 2
    i, j = np.meshgrid(np.arange(-span, span + 1), np.arange(-span, span + 1), indexing="ij")
    vectors = i.ravel()[:, None] * np.array([1.0, 0.0]) + j.ravel()[:, None] * _E2
    lengths = np.round(np.hypot(*vectors.T), 9)
    distinct = np.unique(lengths[lengths > 0])[:shells]
    keep = np.isin(lengths, distinct)
    order = np.lexsort((np.arctan2(vectors[keep, 1], vectors[keep, 0]), lengths[keep]))
    return vectors[keep][order]


def triangular_spacing(potential: object, *, shells: int = 1) -> float:
    r"""Stress-free spacing :math:`a_0` of the triangular lattice with `shells` shells.

    Parameters
    ----------
    potential : str or pair potential
        The pair potential (object or name).
    shells : int, default 1
        Neighbour shells (>= 1).

    Returns
    -------
    float
        The root of the virial :math:`\sum_{\mathbf R} |\mathbf R|
        \varphi'(|\mathbf R| a) = 0` (zero pressure) next to the pair
        minimum (length units), by Brent's method to 1e-15 relative.

    Examples
    --------
    >>> triangular_spacing("lj") == 2 ** (1 / 6)
    True
    >>> round(triangular_spacing("lj", shells=3), 4)
    1.1132
    """
    potential = check_potential(potential)
    lengths = np.hypot(*triangular_bonds(shells).T)

    def virial(a):
        return float(np.sum(lengths * potential.dphi(lengths * a)))

    return stress_free_spacing(virial, potential.r_min)


def _setup(potential, F, shells, spacing):
    potential = check_potential(potential)
    shells = _check_shells(shells)
    F = check_gradient(F)
    a0 = triangular_spacing(potential, shells=shells) if spacing is None else spacing
    bonds = triangular_bonds(shells) * a0  # (B, 2), reference
    current = np.einsum("...ij,bj->...bi", F, bonds)  # (..., B, 2)
    r = np.linalg.norm(current, axis=-1)
    area = np.sqrt(3.0) / 2.0 * a0**2
    return potential, bonds, current, r, area


def triangular_energy_density(potential: object, F: object, *, shells: int = 1):
    r"""Cauchy–Born energy per unit reference area :math:`W(\mathbf F)`.

    Parameters
    ----------
    potential : str or pair potential
        The pair potential (object or name).
    F : array_like of shape (..., 2, 2)
        Deformation gradients (identity: the stress-free lattice at its own
        :func:`triangular_spacing`), positive determinant.
    shells : int, default 1
        Neighbour shells (>= 1).

    Returns
    -------
    float or ndarray of shape F.shape[:-2]
        :math:`W` (energy / length²).

    Examples
    --------
    >>> round(float(triangular_energy_density("lj", np.eye(2))), 4)  # -3 eps / Omega0
    -2.7495
    """
    potential, _, _, r, area = _setup(potential, F, shells, None)
    return potential.phi(r).sum(axis=-1) / (2.0 * area)


def triangular_stress(potential: object, F: object, *, shells: int = 1):
    r"""First Piola–Kirchhoff stress :math:`\mathbf P = \partial W / \partial \mathbf F`.

    Parameters
    ----------
    potential : str or pair potential
        The pair potential (object or name).
    F : array_like of shape (..., 2, 2)
        Deformation gradients, positive determinant.
    shells : int, default 1
        Neighbour shells (>= 1).

    Returns
    -------
    ndarray of shape (..., 2, 2)
        :math:`P_{iJ} = (2\Omega_0)^{-1} \sum \varphi'(r) (F R)_i R_J / r`
        (energy / length², a force per unit reference length in 2-D).

    Examples
    --------
    >>> bool(np.allclose(triangular_stress("lj", np.eye(2), shells=2), 0, atol=1e-12))
    True
    """
    potential, bonds, current, r, area = _setup(potential, F, shells, None)
    coefficient = potential.dphi(r) / r / (2.0 * area)
    return np.einsum("...b,...bi,bj->...ij", coefficient, current, bonds)


def triangular_tangent(potential: object, F: object, *, shells: int = 1):
    r"""Tangent :math:`\mathbb A = \partial^2 W / \partial\mathbf F\partial\mathbf F`.

    Parameters
    ----------
    potential : str or pair potential
        The pair potential (object or name).
    F : array_like of shape (..., 2, 2)
        Deformation gradients, positive determinant.
    shells : int, default 1
        Neighbour shells (>= 1).

    Returns
    -------
    ndarray of shape (..., 2, 2, 2, 2)
        :math:`A_{iJkL} = (2\Omega_0)^{-1}\sum [(\varphi'' - \varphi'/r)
        n_i n_k + (\varphi'/r)\delta_{ik}] R_J R_L`, :math:`\mathbf n =
        \mathbf F\mathbf R / r` (energy / length²).

    Notes
    -----
    At the stress-free lattice the :math:`\varphi'` terms sum to zero with
    the stress, and :math:`A_{ijkl} = (2\Omega_0)^{-1}\sum \varphi''(r) R_i R_j
    R_k R_l / r^2` has full index symmetry: the Cauchy relations [1]_.

    References
    ----------
    .. [1] M. Born and K. Huang, *Dynamical Theory of Crystal Lattices*,
       Oxford, 1954, section 11.

    Examples
    --------
    >>> A = triangular_tangent("lj", np.eye(2))
    >>> bool(np.isclose(A[0, 1, 0, 1], A[0, 0, 1, 1]))  # C66 = C12
    True
    """
    potential, bonds, current, r, area = _setup(potential, F, shells, None)
    dphi, d2phi = potential.dphi(r), potential.d2phi(r)
    n = current / r[..., None]
    RR = np.einsum("bj,bl->bjl", bonds, bonds)
    tension = np.einsum("...b,bjl->...jl", dphi / r, RR)
    longitudinal = np.einsum("...b,...bi,...bk,bjl->...ijkl", d2phi - dphi / r, n, n, RR)
    eye = np.eye(2)
    return (longitudinal + np.einsum("ik,...jl->...ijkl", eye, tension)) / (2.0 * area)


def triangular_elastic_constants(potential: object, *, shells: int = 1) -> dict[str, float]:
    r"""Elastic constants C11, C12, C66 of the stress-free triangular lattice.

    Parameters
    ----------
    potential : str or pair potential
        The pair potential (object or name).
    shells : int, default 1
        Neighbour shells (>= 1).

    Returns
    -------
    dict
        ``C11`` :math:`= A_{1111}`, ``C22``, ``C12`` :math:`= A_{1122}`,
        ``C66`` :math:`= A_{1212}` (energy / length², 2-D moduli), the
        ``spacing`` :math:`a_0`, and the bulk and shear moduli ``bulk``
        :math:`= (C_{11} + C_{12})/2` and ``shear`` :math:`= C_{66}`.

    Notes
    -----
    Pair potentials obey the Cauchy relation :math:`C_{12} = C_{66}` at a
    stress-free lattice, and the triangular lattice is isotropic in the
    plane, :math:`C_{11} - C_{12} = 2 C_{66}`; together :math:`C_{11} = 3
    C_{12}` (2-D Poisson's ratio 1/3). Nearest neighbours:
    :math:`C_{11} = \frac{9}{8}\cdot\frac{2}{\sqrt 3}\varphi''(a_0)`.

    Examples
    --------
    >>> c = triangular_elastic_constants("lj")
    >>> round(c["C11"] / c["C12"], 10), round(c["C12"] / c["C66"], 10)
    (3.0, 1.0)
    """
    a0 = triangular_spacing(potential, shells=shells)
    A = triangular_tangent(potential, np.eye(2), shells=shells)
    c11, c22, c12, c66 = A[0, 0, 0, 0], A[1, 1, 1, 1], A[0, 0, 1, 1], A[0, 1, 0, 1]
    return {
        "C11": float(c11),
        "C22": float(c22),
        "C12": float(c12),
        "C66": float(c66),
        "bulk": float((c11 + c12) / 2.0),
        "shear": float(c66),
        "spacing": a0,
    }


def _dynamical(potential, F, k, shells, mass):
    r"""Dynamical matrices (..., K, 2, 2) at reference wavevectors k (K, 2)."""
    potential, bonds, current, r, _ = _setup(potential, F, shells, None)
    dphi, d2phi = potential.dphi(r), potential.d2phi(r)
    n = current / r[..., None]
    nn = np.einsum("...bi,...bk->...bik", n, n)
    springs = d2phi[..., None, None] * nn + (dphi / r)[..., None, None] * (np.eye(2) - nn)
    phase = 2.0 * np.sin(0.5 * (k @ bonds.T)) ** 2  # 1 - cos, without cancellation
    return np.einsum("kb,...bij->...kij", phase, springs) / mass


def _check_wavevectors(k):
    array = np.asarray(k, dtype=np.float64)
    if array.ndim != 2 or array.shape[1] != 2 or not np.all(np.isfinite(array)):
        raise ValueError(f"k must be a finite array of shape (K, 2), got shape {array.shape}")
    return array


def triangular_dispersion(
    potential: object,
    F: object,
    k: object,
    *,
    shells: int = 1,
    mass: float = 1.0,
) -> np.ndarray:
    r"""Phonon branches :math:`\omega^2(\mathbf k)` of the uniformly deformed triangular lattice.

    Parameters
    ----------
    potential : str or pair potential
        The pair potential (object or name).
    F : array_like of shape (2, 2)
        Deformation gradient, positive determinant.
    k : array_like of shape (K, 2)
        Wavevectors in the reference configuration (1 / length units: the
        phase between atoms :math:`\mathbf R` apart is :math:`\mathbf
        k\cdot\mathbf R`).
    shells : int, default 1
        Neighbour shells (>= 1).
    mass : float, default 1.0
        Mass of an atom, > 0.

    Returns
    -------
    ndarray of shape (K, 2)
        The two eigenvalues of the dynamical matrix, ascending (energy /
        (mass length²)); a negative one is an unstable mode.

    Notes
    -----
    :math:`m\mathbf D(\mathbf k) = \sum_{\mathbf R}[\varphi''(r)\,\mathbf n
    \otimes\mathbf n + \tfrac{\varphi'(r)}{r}(\mathbf I - \mathbf n\otimes
    \mathbf n)](1 - \cos\mathbf k\cdot\mathbf R)`, with :math:`r\mathbf n =
    \mathbf F\mathbf R`. For small :math:`\mathbf k = \epsilon\mathbf N`,
    :math:`\mathbf D \approx \epsilon^2 (\Omega_0/m)\,\mathbf Q(\mathbf N)`
    with the acoustic tensor :math:`Q_{ik} = A_{iJkL} N_J N_L` of
    :func:`triangular_tangent` [1]_.

    References
    ----------
    .. [1] E. B. Tadmor and R. E. Miller, *Modeling Materials*, Cambridge,
       2011, section 11.5.

    Examples
    --------
    >>> a0 = triangular_spacing("lj")
    >>> w2 = triangular_dispersion("lj", np.eye(2), [[np.pi / a0, 0.0]])
    >>> bool(np.all(w2 > 0))
    True
    """
    mass = check_positive(mass, "mass")
    F = check_gradient(F)
    if F.shape != (2, 2):
        raise ValueError(f"F must have shape (2, 2), got {F.shape}")
    D = _dynamical(potential, F, _check_wavevectors(k), shells, mass)
    return np.linalg.eigvalsh(D)


def brillouin_zone_grid(spacing: float, points: int = 48) -> np.ndarray:
    r"""Wavevectors (points², 2) filling one reciprocal cell of the triangular lattice.

    The cell spanned by :math:`\mathbf b_1, \mathbf b_2` (:math:`\mathbf a_i
    \cdot\mathbf b_j = 2\pi\delta_{ij}`) is equivalent to the Brillouin zone
    for every periodic function of :math:`\mathbf k`; Γ excluded.
    """
    a = spacing * np.array([[1.0, 0.0], _E2])
    b = 2.0 * np.pi * np.linalg.inv(a).T
    u = np.arange(points) / points
    i, j = np.meshgrid(u, u, indexing="ij")
    k = i.ravel()[:, None] * b[0] + j.ravel()[:, None] * b[1]
    return k[1:]


@dataclass(frozen=True)
class TriangularStability:
    r"""Stability limit of the uniformly stretched triangular lattice.

    Attributes
    ----------
    stretch : float
        Critical stretch where the first phonon goes soft (``inf`` if none
        below ``stretch_max``).
    wavevector : tuple of float
        The reference wavevector of that mode (1 / length); (0, 0) for a
        long wave (the acoustic-tensor limit).
    acoustic_stretch : float
        First stretch where the acoustic tensor :math:`Q(\mathbf N)` loses
        positive definiteness for some direction (long-wave limit).
    loading : str
        ``"equibiaxial"`` (:math:`F = \lambda I`) or ``"uniaxial"``
        (:math:`F = diag(\lambda, 1)`).
    spacing : float
        Stress-free spacing :math:`a_0`.
    shells : int
        Neighbour shells.
    """

    stretch: float
    wavevector: tuple
    acoustic_stretch: float
    loading: str
    spacing: float
    shells: int


def triangular_stability(
    potential: object,
    *,
    shells: int = 1,
    loading: str = "equibiaxial",
    stretch_max: float = 1.5,
    points: int = 48,
) -> TriangularStability:
    r"""Critical stretch of the triangular lattice: first soft phonon, and the acoustic limit.

    Parameters
    ----------
    potential : str or pair potential
        The pair potential (object or name).
    shells : int, default 1
        Neighbour shells (>= 1).
    loading : {"equibiaxial", "uniaxial"}
        :math:`\mathbf F = \lambda\mathbf I` or :math:`\mathrm{diag}(\lambda, 1)`.
    stretch_max : float, default 1.5
        Largest stretch searched (> 1).
    points : int, default 48
        Wavevectors per reciprocal-lattice direction of the Brillouin-zone
        grid (``points**2 - 1`` wavevectors, Γ excluded; the long waves are
        covered by the acoustic tensor).

    Returns
    -------
    TriangularStability

    Notes
    -----
    The stability function is the smaller of the lowest branch over the
    grid, each :math:`\omega^2` divided by :math:`\sum_{\mathbf R}(1 - \cos
    \mathbf k\cdot\mathbf R)` (so that short and long waves compare), and
    the smallest eigenvalue of the acoustic tensor over 180 directions
    scaled alike; its first root above 1 is bracketed on 301 stretches and
    refined by Brent's method. The grid resolves the soft wavevector to
    one grid step.

    Examples
    --------
    >>> limit = triangular_stability("lj", points=12)
    >>> 1.0 < limit.acoustic_stretch < 1.2, limit.stretch <= limit.acoustic_stretch
    (True, True)
    """
    potential = check_potential(potential)
    shells = _check_shells(shells)
    loading = check_choice(loading, "loading", ("equibiaxial", "uniaxial"))
    stretch_max = check_real(stretch_max, "stretch_max", 1.0, np.inf)
    points = check_integer(points, "points", 4)
    a0 = triangular_spacing(potential, shells=shells)
    bonds = triangular_bonds(shells) * a0
    k = brillouin_zone_grid(a0, points)
    norm = (1.0 - np.cos(k @ bonds.T)).sum(axis=1) / (0.5 * (bonds**2).sum(axis=1).mean())
    keep = norm > 1e-12
    k, norm = k[keep], norm[keep]
    area = np.sqrt(3.0) / 2.0 * a0**2

    angles = np.linspace(0.0, np.pi, 180, endpoint=False)
    directions = np.stack([np.cos(angles), np.sin(angles)], axis=1)

    def gradients(stretch):
        stretch = np.atleast_1d(stretch)
        F = np.zeros(stretch.shape + (2, 2))
        F[:, 0, 0] = stretch
        F[:, 1, 1] = stretch if loading == "equibiaxial" else 1.0
        return F

    def lattice(stretch):
        """Lowest branch over the grid, scaled; (values per stretch, argmin per stretch)."""
        D = _dynamical(potential, gradients(stretch), k, shells, 1.0)
        w2 = np.linalg.eigvalsh(D)[..., 0] / norm
        return w2.min(axis=-1), w2.argmin(axis=-1)

    def acoustic(stretch):
        A = triangular_tangent(potential, gradients(stretch), shells=shells)
        Q = np.einsum("...iJkL,nJ,nL->...nik", A, directions, directions)
        return area * np.linalg.eigvalsh(Q)[..., 0].min(axis=-1) / len(bonds)

    def first_root(function):
        stretches = np.linspace(1.0, stretch_max, 301)
        values = function(stretches)
        if values[0] <= 0:
            raise ValueError("the lattice is unstable at its stress-free spacing")
        below = np.flatnonzero(values <= 0)
        if not below.size:
            return np.inf
        j = below[0]
        return float(
            optimize.brentq(
                lambda s: float(function(s)[0]), stretches[j - 1], stretches[j], xtol=1e-13
            )
        )

    lambda_acoustic = first_root(acoustic)
    lambda_lattice = first_root(lambda s: lattice(s)[0])
    if lambda_lattice < lambda_acoustic:
        wavevector = tuple(float(v) for v in k[int(lattice(lambda_lattice)[1][0])])
        critical = lambda_lattice
    else:
        wavevector, critical = (0.0, 0.0), lambda_acoustic
    return TriangularStability(critical, wavevector, lambda_acoustic, loading, a0, shells)
