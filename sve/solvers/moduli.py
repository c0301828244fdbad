r"""Isotropic and cubic stiffness tensors in Mandel notation, and isotropic projections.

Mandel notation (orthonormal basis of symmetric tensors, as in
``generators.rotate_tensor``): 3-D strain vector
``(e11, e22, e33, sqrt2 e23, sqrt2 e13, sqrt2 e12)``, 2-D
``(e11, e22, sqrt2 e12)``; stiffnesses are 6x6 (3x3) matrices. 2-D is plane
strain: the 3x3 in-plane block of the 3-D tensor.

With ``i`` the Mandel identity vector (``(1,1,1,0,0,0)`` or ``(1,1,0)``),
``J = i i^T / d`` and ``K = I - J``, an isotropic stiffness is
``C = d k J + 2 mu K`` with ``k`` the bulk modulus of the dimension (3-D:
``K = lam + 2 mu / 3``; 2-D plane strain: ``k = lam + mu``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from numbers import Real

import numpy as np
from numpy.typing import ArrayLike

_PAIRS = {"E": ("E", "nu"), "K": ("K", "G"), "lam": ("lam", "mu")}


def lame_parameters(**moduli: float) -> tuple[float, float]:
    """Return the Lamé parameters ``(lam, mu)`` of an isotropic material.

    Parameters
    ----------
    **moduli : float
        Exactly one pair: ``E`` and ``nu`` (Young's modulus, Poisson's
        ratio), ``K`` and ``G`` (3-D bulk and shear moduli) or ``lam`` and
        ``mu`` (Lamé).

    Raises
    ------
    ValueError
        For another set of names, a non-finite value, ``E, K, G, mu <= 0``,
        ``nu`` outside (-1, 0.5), or ``lam <= -2 mu / 3`` (a bulk modulus
        <= 0).

    Examples
    --------
    >>> lame_parameters(E=2.6, nu=0.3)
    (1.5, 1.0)
    """
    names = tuple(sorted(moduli))
    pair = next((p for p in _PAIRS.values() if tuple(sorted(p)) == names), None)
    if pair is None:
        raise ValueError(
            "isotropic moduli must be one pair of E and nu, K and G, or lam and mu, "
            f"got {sorted(moduli)}"
        )
    values = {}
    for name in pair:
        value = moduli[name]
        if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value):
            raise ValueError(f"{name} must be a finite real number, got {value!r}")
        values[name] = float(value)
    if pair[0] == "E":
        young, nu = values["E"], values["nu"]
        if young <= 0:
            raise ValueError(f"E must be > 0, got {young!r}")
        if not -1.0 < nu < 0.5:
            raise ValueError(f"nu must be in (-1, 0.5), got {nu!r}")
        return young * nu / ((1 + nu) * (1 - 2 * nu)), young / (2 * (1 + nu))
    if pair[0] == "K":
        bulk, shear = values["K"], values["G"]
        for name, value in (("K", bulk), ("G", shear)):
            if value <= 0:
                raise ValueError(f"{name} must be > 0, got {value!r}")
        return bulk - 2.0 * shear / 3.0, shear
    lam, mu = values["lam"], values["mu"]
    if mu <= 0:
        raise ValueError(f"mu must be > 0, got {mu!r}")
    if lam + 2.0 * mu / 3.0 <= 0:
        raise ValueError(f"lam must be > -2 mu / 3 (a positive bulk modulus), got {lam!r}")
    return lam, mu


def isotropic(ndim: int = 3, **moduli: float) -> np.ndarray:
    """Mandel stiffness of an isotropic material (plane strain in 2-D).

    Parameters
    ----------
    ndim : {2, 3}, default 3
    **moduli : float
        One pair: ``E, nu`` or ``K, G`` (3-D moduli) or ``lam, mu``.

    Returns
    -------
    ndarray of shape (3, 3) (2-D) or (6, 6) (3-D), float64

    Examples
    --------
    >>> isotropic(2, lam=1.0, mu=0.5)
    array([[2., 1., 0.],
           [1., 2., 0.],
           [0., 0., 1.]])
    """
    if ndim not in (2, 3):
        raise ValueError(f"ndim must be 2 or 3, got {ndim!r}")
    lam, mu = lame_parameters(**moduli)
    m = 3 * (ndim - 1)
    out = 2.0 * mu * np.eye(m)
    out[:ndim, :ndim] += lam
    return out


def cubic(c11: float, c12: float, c44: float, ndim: int = 3) -> np.ndarray:
    """Mandel stiffness of a cubic crystal in its cube axes (Voigt constants).

    The shear entries are ``2 c44`` (Mandel). In 2-D: the plane-strain block
    ``[[c11, c12, 0], [c12, c11, 0], [0, 0, 2 c44]]``.

    Raises
    ------
    ValueError
        Unless ``c11 > |c12|``, ``c11 + 2 c12 > 0`` (3-D) and ``c44 > 0``:
        the conditions of positive definiteness.
    """
    if ndim not in (2, 3):
        raise ValueError(f"ndim must be 2 or 3, got {ndim!r}")
    c11, c12, c44 = float(c11), float(c12), float(c44)
    if not (c11 > abs(c12) and c44 > 0 and (ndim == 2 or c11 + 2 * c12 > 0)):
        raise ValueError(
            "cubic constants must satisfy c11 > |c12|, c11 + 2 c12 > 0 and c44 > 0, got "
            f"c11={c11!r}, c12={c12!r}, c44={c44!r}"
        )
    m = 3 * (ndim - 1)
    out = np.zeros((m, m))
    out[:ndim, :ndim] = c12
    out[range(ndim), range(ndim)] = c11
    out[range(ndim, m), range(ndim, m)] = 2.0 * c44
    return out


@dataclass(frozen=True)
class IsotropicProjection:
    """Bulk and shear moduli of a stiffness tensor, two ways.

    Attributes
    ----------
    bulk_voigt, shear_voigt : float
        Moduli of the orthogonal (Frobenius) projection of ``C`` on the
        isotropic tensors: ``k = i.C.i / d**2``,
        ``mu = (tr C - i.C.i / d) / (2 n_dev)`` with ``n_dev = m - 1``
        (5 in 3-D, 2 in 2-D).
    bulk_reuss, shear_reuss : float
        The same for the compliance ``S = C^-1``: ``k = 1 / i.S.i``,
        ``mu = n_dev / (2 (tr S - i.S.i / d))``. ``bulk_reuss <= bulk_voigt``
        and ``shear_reuss <= shear_voigt``; equal for an isotropic ``C``.
    young, poisson : float
        3-D Young's modulus and Poisson's ratio of (``bulk_voigt``,
        ``shear_voigt``); in 2-D those of the 3-D isotropic material whose
        plane-strain bulk and shear moduli they are (``lam = k - mu``).
    distance : float
        Distance to isotropy ``||C - C_iso|| / ||C||`` (Frobenius, Mandel),
        ``C_iso`` the orthogonal projection: 0 for isotropic tensors.
    """

    bulk_voigt: float
    shear_voigt: float
    bulk_reuss: float
    shear_reuss: float
    young: float
    poisson: float
    distance: float


def isotropic_projection(stiffness: ArrayLike) -> IsotropicProjection:
    """Isotropic moduli and distance to isotropy of a Mandel stiffness.

    Parameters
    ----------
    stiffness : array_like of shape (3, 3) or (6, 6)
        Symmetric positive definite Mandel stiffness (2-D plane strain or 3-D),
        e.g. ``StiffnessResult.tensor``.

    Returns
    -------
    IsotropicProjection

    Notes
    -----
    The Voigt-type projection averages the stiffness over all orientations
    (for a cubic crystal it gives the Voigt bound of the polycrystal), the
    Reuss-type one averages the compliance (the Reuss bound) [1]_.

    References
    ----------
    .. [1] R. Hill, "The elastic behaviour of a crystalline aggregate",
       Proc. Phys. Soc. A 65 (1952) 349-354.

    Examples
    --------
    >>> p = isotropic_projection(isotropic(E=2.6, nu=0.3))
    >>> round(p.bulk_voigt, 6), round(p.shear_reuss, 6), round(p.poisson, 6)
    (2.166667, 1.0, 0.3)
    """
    c = np.asarray(stiffness, dtype=np.float64)
    if c.shape not in ((3, 3), (6, 6)):
        raise ValueError(f"stiffness must have shape (3, 3) or (6, 6), got {c.shape}")
    if not np.all(np.isfinite(c)):
        raise ValueError("stiffness must be finite")
    c = 0.5 * (c + c.T)
    m = c.shape[0]
    ndim = 2 if m == 3 else 3
    ones = np.zeros(m)
    ones[:ndim] = 1.0
    n_dev = m - 1
    bulk_v = ones @ c @ ones / ndim**2
    shear_v = (np.trace(c) - ones @ c @ ones / ndim) / (2 * n_dev)
    try:
        s = np.linalg.inv(c)
        bulk_r = 1.0 / (ones @ s @ ones)
        shear_r = n_dev / (2.0 * (np.trace(s) - ones @ s @ ones / ndim))
    except np.linalg.LinAlgError:
        bulk_r = shear_r = 0.0
    iso = 2.0 * shear_v * np.eye(m) + (bulk_v - 2.0 * shear_v / ndim) * np.outer(ones, ones)
    distance = float(np.linalg.norm(c - iso) / np.linalg.norm(c))
    lam = bulk_v - 2.0 * shear_v / ndim if ndim == 3 else bulk_v - shear_v
    poisson = lam / (2.0 * (lam + shear_v))
    young = 2.0 * shear_v * (1.0 + poisson)
    return IsotropicProjection(
        float(bulk_v),
        float(shear_v),
        float(bulk_r),
        float(shear_r),
        float(young),
        float(poisson),
        distance,
    )
