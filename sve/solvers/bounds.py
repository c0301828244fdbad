"""Bounds and dilute estimates of effective conductivities and elastic moduli.

The conductivity functions take the volume fractions and the (scalar,
isotropic) conductivities of the phases and return a conductivity in their
units; the elastic ones take bulk and shear moduli (or a cubic crystal's
constants) and return a modulus in their units.
"""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Integral

import numpy as np
from numpy.typing import ArrayLike

from sve._validation import check_positive

# Volume fractions are measured (counted voxels, rounded inputs): they must sum to one to
# this relative accuracy, far above double round-off and far below any physical fraction.
_FRACTION_SUM_TOL = 1e-9


def _check_phases(volume_fractions: ArrayLike, conductivities: ArrayLike):
    fractions = np.asarray(volume_fractions, dtype=np.float64)
    values = np.asarray(conductivities, dtype=np.float64)
    if fractions.ndim != 1 or fractions.size == 0:
        raise ValueError(
            f"volume_fractions must be a non-empty 1-D sequence, got shape {fractions.shape}"
        )
    if values.shape != fractions.shape:
        raise ValueError(
            "conductivities must have one value per volume fraction, got shape "
            f"{values.shape} for {fractions.size} fraction(s)"
        )
    if not np.all(np.isfinite(fractions)) or np.any(fractions < 0):
        raise ValueError(f"volume_fractions must be finite and >= 0, got {fractions.tolist()}")
    if abs(fractions.sum() - 1.0) > _FRACTION_SUM_TOL:
        raise ValueError(f"volume_fractions must sum to 1, got sum {fractions.sum()!r}")
    if not np.all(np.isfinite(values)) or np.any(values < 0):
        raise ValueError(f"conductivities must be finite and >= 0, got {values.tolist()}")
    present = fractions > 0
    return fractions[present], values[present]


def _check_moduli(volume_fractions: ArrayLike, bulk: ArrayLike, shear: ArrayLike, ndim: int):
    """Fractions, bulk and shear moduli (each > 0) of the phases present, and ``ndim`` 2 or 3."""
    moduli = []
    for name, values in (("bulk", bulk), ("shear", shear)):
        values = np.asarray(values, dtype=np.float64)
        if values.shape != np.shape(volume_fractions):
            raise ValueError(
                f"{name} must have one value per volume fraction, got shape {values.shape}"
            )
        if not np.all(np.isfinite(values)) or np.any(values <= 0):
            raise ValueError(f"{name} must be finite and > 0, got {values.tolist()}")
        moduli.append(values)
    if isinstance(ndim, bool) or ndim not in (2, 3):
        raise ValueError(f"ndim must be 2 or 3, got {ndim!r}")
    fractions, bulks = _check_phases(volume_fractions, moduli[0])
    return fractions, bulks, moduli[1][np.asarray(volume_fractions, dtype=np.float64) > 0]


def _check_ndim(ndim: Integral) -> int:
    if isinstance(ndim, bool) or not isinstance(ndim, Integral) or ndim < 1:
        raise ValueError(f"ndim must be an integer >= 1, got {ndim!r}")
    return int(ndim)


def voigt_bound(volume_fractions: Sequence[float], conductivities: Sequence[float]) -> float:
    """Arithmetic mean ``sum_i f_i k_i``: the upper bound of Wiener (Voigt).

    Parameters
    ----------
    volume_fractions : sequence of float
        ``f_i >= 0``, summing to 1.
    conductivities : sequence of float
        ``k_i >= 0``, one per phase.

    Returns
    -------
    float
        Upper bound of every apparent and effective conductivity (any
        geometry, any boundary condition), in the units of `conductivities`.

    Examples
    --------
    >>> voigt_bound([0.25, 0.75], [1.0, 5.0])
    4.0
    """
    fractions, values = _check_phases(volume_fractions, conductivities)
    return float(np.dot(fractions, values))


def reuss_bound(volume_fractions: Sequence[float], conductivities: Sequence[float]) -> float:
    """Harmonic mean ``(sum_i f_i / k_i)^-1``: the lower bound of Wiener (Reuss).

    Zero as soon as a phase of nonzero fraction has zero conductivity.
    Parameters and returns as `voigt_bound`.

    Examples
    --------
    >>> reuss_bound([0.5, 0.5], [1.0, 3.0])
    1.5
    """
    fractions, values = _check_phases(volume_fractions, conductivities)
    if np.any(values == 0.0):
        return 0.0
    return float(1.0 / np.dot(fractions, 1.0 / values))


def _hashin_shtrikman(fractions, values, reference, ndim):
    """``[sum_i f_i / (k_i + (d-1) k0)]^-1 - (d-1) k0`` (0 if k0 = 0 meets a void)."""
    shift = (ndim - 1) * reference
    denominators = values + shift
    if np.any(denominators == 0.0):
        return 0.0
    return float(1.0 / np.dot(fractions, 1.0 / denominators) - shift)


def hashin_shtrikman_bounds(
    volume_fractions: Sequence[float], conductivities: Sequence[float], ndim: int
) -> tuple[float, float]:
    r"""Hashin-Shtrikman bounds on the conductivity of isotropic n-phase media.

    Parameters
    ----------
    volume_fractions : sequence of float
        ``f_i >= 0``, summing to 1.
    conductivities : sequence of float
        ``k_i >= 0``, one per phase.
    ndim : int
        Space dimension ``d >= 1``.

    Returns
    -------
    lower, upper : float
        Bounds of the effective conductivity of every statistically
        isotropic medium with these fractions, in the units of
        `conductivities`.

    Notes
    -----
    With a homogeneous reference medium ``k0``,

    .. math:: k_{HS}(k_0) = \Bigl[\sum_i \frac{f_i}{k_i + (d-1) k_0}\Bigr]^{-1}
              - (d-1) k_0,

    the lower bound is ``k_HS(k_min)`` and the upper ``k_HS(k_max)``
    (Hashin & Shtrikman 1962 for ``d = 3``; the d-dimensional form is in
    Torquato 2002, eq. 21.23). They are sharp for two phases (coated
    spheres, disks in 2-D). In 1-D both equal the Reuss bound; voids
    (``k_min = 0``) make the lower bound 0.

    References
    ----------
    .. [1] Z. Hashin, S. Shtrikman, "A variational approach to the theory of
       the effective magnetic permeability of multiphase materials",
       J. Appl. Phys. 33 (1962) 3125-3131.
    .. [2] S. Torquato, "Random heterogeneous materials", Springer (2002).

    Examples
    --------
    >>> lower, upper = hashin_shtrikman_bounds([0.5, 0.5], [1.0, 9.0], ndim=2)
    >>> round(lower, 6), round(upper, 6)
    (2.333333, 3.857143)
    """
    fractions, values = _check_phases(volume_fractions, conductivities)
    ndim = _check_ndim(ndim)
    lower = _hashin_shtrikman(fractions, values, values.min(), ndim)
    upper = _hashin_shtrikman(fractions, values, values.max(), ndim)
    return lower, upper


def hashin_shtrikman_bulk_bounds(
    volume_fractions: Sequence[float],
    bulk: Sequence[float],
    shear: Sequence[float],
    ndim: int,
) -> tuple[float, float]:
    r"""Hashin-Shtrikman bounds on the bulk modulus of isotropic n-phase elastic media.

    Parameters
    ----------
    volume_fractions : sequence of float
        ``f_i >= 0``, summing to 1.
    bulk, shear : sequence of float
        Bulk ``K_i > 0`` and shear ``G_i > 0`` moduli, one per phase: in 3-D
        the usual ones, in 2-D (plane strain) the in-plane bulk modulus
        ``lam + mu`` and ``mu``.
    ndim : {2, 3}

    Returns
    -------
    lower, upper : float
        Bounds of the effective bulk modulus of every statistically isotropic
        medium with these phases and fractions, in the units of the moduli.

    Notes
    -----
    With a reference shear modulus ``G0`` and ``a = 2 (d - 1) / d``
    (4/3 in 3-D, 1 in 2-D),

    .. math:: K_{HS}(G_0) = \Bigl[\sum_i \frac{f_i}{K_i + a G_0}\Bigr]^{-1} - a G_0,

    the lower bound is ``K_HS(G_min)`` and the upper ``K_HS(G_max)`` (Hashin
    & Shtrikman 1963 for well-ordered phases; Walpole 1966 for any
    ordering; the 2-D form in Torquato 2002, ch. 21). When every phase has
    the same shear modulus both bounds equal Hill's exact result.

    References
    ----------
    .. [1] Z. Hashin, S. Shtrikman, "A variational approach to the theory of
       the elastic behaviour of multiphase materials", J. Mech. Phys. Solids
       11 (1963) 127-140.
    .. [2] L. J. Walpole, "On bounds for the overall elastic moduli of
       inhomogeneous systems - I", J. Mech. Phys. Solids 14 (1966) 151-162.
    .. [3] S. Torquato, "Random heterogeneous materials", Springer (2002).

    Examples
    --------
    >>> lower, upper = hashin_shtrikman_bulk_bounds([0.5, 0.5], [1.0, 2.0], [0.5, 3.0], 3)
    >>> round(lower, 6), round(upper, 6)
    (1.384615, 1.454545)
    """
    fractions, values, shears = _check_moduli(volume_fractions, bulk, shear, ndim)
    a = 2.0 * (ndim - 1) / ndim

    def bound(g0: float) -> float:
        return float(1.0 / np.sum(fractions / (values + a * g0)) - a * g0)

    return bound(shears.min()), bound(shears.max())


def hashin_shtrikman_shear_bounds(
    volume_fractions: Sequence[float],
    bulk: Sequence[float],
    shear: Sequence[float],
    ndim: int,
) -> tuple[float, float]:
    r"""Hashin-Shtrikman bounds on the shear modulus of isotropic n-phase elastic media.

    Parameters are those of :func:`hashin_shtrikman_bulk_bounds` (2-D: plane
    strain, in-plane bulk modulus ``lam + mu``).

    Returns
    -------
    lower, upper : float
        Bounds of the effective shear modulus of every statistically
        isotropic medium with these phases and fractions.

    Notes
    -----
    Walpole's form, valid for any ordering of the phases' moduli:

    .. math:: G_{HS}(K_0, G_0) = \Bigl[\sum_i \frac{f_i}{G_i + \zeta}\Bigr]^{-1} - \zeta,

    with :math:`\zeta = G_0 (9 K_0 + 8 G_0) / (6 (K_0 + 2 G_0))` in 3-D and
    :math:`\zeta = K_0 G_0 / (K_0 + 2 G_0)` in 2-D; the lower bound takes
    ``(K_min, G_min)``, the upper ``(K_max, G_max)``. For two well-ordered
    phases it is Hashin & Shtrikman's ``G1 + f2 / (1/(G2 - G1) + 6 f1 (K1 +
    2 G1) / (5 G1 (3 K1 + 4 G1)))`` (3-D), checked in the tests.

    References
    ----------
    .. [1] Z. Hashin, S. Shtrikman, J. Mech. Phys. Solids 11 (1963) 127-140.
    .. [2] L. J. Walpole, J. Mech. Phys. Solids 14 (1966) 151-162.
    .. [3] S. Torquato, "Random heterogeneous materials", Springer (2002), ch. 21.

    Examples
    --------
    >>> lower, upper = hashin_shtrikman_shear_bounds([0.5, 0.5], [1.0, 2.0], [0.5, 3.0], 3)
    >>> round(lower, 6), round(upper, 6)
    (1.068182, 1.392857)
    """
    fractions, bulks, shears = _check_moduli(volume_fractions, bulk, shear, ndim)

    def bound(k0: float, g0: float) -> float:
        if ndim == 3:
            zeta = g0 * (9 * k0 + 8 * g0) / (6 * (k0 + 2 * g0))
        else:
            zeta = k0 * g0 / (k0 + 2 * g0)
        return float(1.0 / np.sum(fractions / (shears + zeta)) - zeta)

    return bound(bulks.min(), shears.min()), bound(bulks.max(), shears.max())


def cubic_polycrystal_shear_bounds(c11: float, c12: float, c44: float) -> tuple[float, float]:
    r"""Hashin-Shtrikman bounds on the shear modulus of an untextured cubic polycrystal (3-D).

    Parameters
    ----------
    c11, c12, c44 : float
        The crystal's cubic constants (Voigt notation, stress units), with
        ``c11 > |c12|``, ``c11 + 2 c12 > 0``, ``c44 > 0``.

    Returns
    -------
    lower, upper : float
        Bounds of the shear modulus of a statistically isotropic aggregate of
        randomly oriented grains (its bulk modulus is exactly
        ``(c11 + 2 c12) / 3``).

    Notes
    -----
    The crystal's deviatoric eigenmodes are two of modulus
    ``G1 = (c11 - c12) / 2`` and three of ``G2 = c44``: a random orientation
    mixes them like the phases of :func:`hashin_shtrikman_shear_bounds` with
    fractions 2/5 and 3/5 and one bulk modulus [1]_ [2]_.

    References
    ----------
    .. [1] Z. Hashin, S. Shtrikman, "A variational approach to the theory of
       the elastic behaviour of polycrystals", J. Mech. Phys. Solids 10
       (1962) 343-352.
    .. [2] L. J. Walpole, J. Mech. Phys. Solids 14 (1966) 151-162.

    Examples
    --------
    >>> lower, upper = cubic_polycrystal_shear_bounds(168.4, 121.4, 75.4)  # copper, GPa
    >>> round(lower, 2), round(upper, 2)
    (45.96, 49.45)
    """
    c11, c12, c44 = (float(c) for c in (c11, c12, c44))
    if not (c11 > abs(c12) and c11 + 2 * c12 > 0 and c44 > 0):
        raise ValueError(
            "cubic constants must satisfy c11 > |c12|, c11 + 2 c12 > 0 and c44 > 0, got "
            f"c11={c11!r}, c12={c12!r}, c44={c44!r}"
        )
    bulk = (c11 + 2 * c12) / 3
    return hashin_shtrikman_shear_bounds([0.4, 0.6], [bulk, bulk], [(c11 - c12) / 2, c44], 3)


def maxwell_garnett(matrix: float, inclusion: float, volume_fraction: float, ndim: int) -> float:
    r"""Maxwell-Garnett (Clausius-Mossotti) conductivity of dilute spherical inclusions.

    Parameters
    ----------
    matrix, inclusion : float
        Conductivities, ``matrix > 0``, ``inclusion >= 0``.
    volume_fraction : float
        Fraction of the inclusions, in [0, 1).
    ndim : int
        2 (disks) or 3 (spheres); any ``d >= 1`` is accepted.

    Returns
    -------
    float
        ``k`` solving

        .. math:: \frac{k - k_m}{k + (d-1) k_m}
                  = f \frac{k_i - k_m}{k_i + (d-1) k_m}.

    Notes
    -----
    Exact to first order in ``f`` for well-separated spheres or disks, and
    equal to the Hashin-Shtrikman bound that takes the matrix as reference.
    For a square (cubic) periodic array the next correction is of order
    ``f**4`` in 2-D (``f**(10/3)`` in 3-D) (Rayleigh 1892).

    References
    ----------
    .. [1] J. C. Maxwell Garnett, "Colours in metal glasses and in metallic
       films", Phil. Trans. R. Soc. Lond. A 203 (1904) 385-420.
    .. [2] Lord Rayleigh, "On the influence of obstacles arranged in
       rectangular order upon the properties of a medium", Phil. Mag. 34
       (1892) 481-502.

    Examples
    --------
    >>> round(maxwell_garnett(1.0, 0.0, 0.1, ndim=2), 6)
    0.818182
    """
    matrix = check_positive(matrix, "matrix")
    ndim = _check_ndim(ndim)
    if not 0.0 <= volume_fraction < 1.0:
        raise ValueError(f"volume_fraction must be in [0, 1), got {volume_fraction!r}")
    if not (np.isfinite(inclusion) and inclusion >= 0):
        raise ValueError(f"inclusion must be finite and >= 0, got {inclusion!r}")
    beta = (inclusion - matrix) / (inclusion + (ndim - 1) * matrix)
    return float(
        matrix * (1.0 + (ndim - 1) * volume_fraction * beta) / (1.0 - volume_fraction * beta)
    )
