"""Random sequential addition (RSA) of hard spheres in a periodic box."""

from __future__ import annotations

import math
import numbers

import numpy as np

from generators._kernels import rsa
from generators._typing import RngLike, ShapeLike
from generators._validation import as_generator, as_positive, as_real_in, as_shape
from generators.packing import Packing, ball_volume, check_radius_fits, paint

RSA_SATURATION = {1: 0.7475979202534114, 2: 0.547067, 3: 0.384131}
"""Saturation (jamming) volume fraction of RSA of identical d-balls in R^d: Rényi's
parking constant in 1-D, and Zhang & Torquato (2013) in 2-D and 3-D (uncertainty
below 1e-5)."""

MAX_REFINEMENTS = 40
"""Halvings of the subcell grid before RSA stops as saturated: the living subcells
left are then below 2^-40 exclusion diameters wide, a volume far below round-off."""

PLAIN_FAILURES = 2000
"""Least number of uniform attempts failing in a row (or the target count, if larger)
after which the kernel samples only the subcells not yet covered; the accepted points keep
the RSA law either way. Then each further sphere would cost more plain attempts than one
sweep of the subcells, of order the number of spheres."""


def rsa_spheres(
    shape: ShapeLike,
    radius: float,
    volume_fraction: float | None,
    *,
    gap: float = 0.0,
    spacing: float = 1.0,
    rng: RngLike = None,
) -> Packing:
    r"""Random sequential addition of identical hard spheres (disks in 2-D).

    Parameters
    ----------
    shape : sequence of int
        Number of voxels (N0,), (N0, N1) or (N0, N1, N2); each >= 2.
    radius : float
        Sphere radius R > 0 in physical length units, at most half the
        smallest box edge minus ``gap``.
    volume_fraction : float or None
        Target continuous volume fraction :math:`\varphi`, in (0, φ_s) with
        :math:`\varphi_s = ` ``RSA_SATURATION[d]`` :math:`\times (R / (R +
        g/2))^d`; None adds spheres until saturation (no room is left).
    gap : float, default 0.0
        Minimum distance g >= 0 between the surfaces of two spheres.
    spacing : float, default 1.0
        Voxel edge length, > 0.
    rng : int, numpy.random.Generator, numpy.random.SeedSequence or None
        Source of randomness, handed to the Numba kernel (the one generator
        that must draw inside a kernel: whether a point is kept depends on the
        points kept before it).

    Returns
    -------
    Packing
        ``labels`` (int8, voxel-centre inclusion), ``centres`` (n, d) and
        ``radii`` (n,) in physical units, in the order of addition;
        :math:`n = \operatorname{rint}(\varphi \lvert V \rvert / v(R))`.

    Raises
    ------
    ValueError
        If ``volume_fraction`` is at or above :math:`\varphi_s`, or if this
        realization saturates before reaching it (possible within about
        :math:`1/\sqrt{n}` of :math:`\varphi_s` in a finite box).

    Notes
    -----
    Centres are proposed uniformly in the box and kept when they lie at
    least :math:`2R + g` (minimum image) from every kept centre [1]_. A cell
    list of cells at least :math:`2R + g` wide makes each test look at the
    :math:`3^d` neighbouring cells only, so the cost is linear in n at fixed
    :math:`\varphi`. After ``max(PLAIN_FAILURES, n)`` failed attempts in a row,
    proposals are drawn only in the subcells of a grid that no single
    exclusion sphere covers, the grid being halved whenever few subcells die
    (Zhang and Torquato's saturation algorithm [2]_): accepted points are
    still uniform on the available region, so the process is unchanged, and
    it reaches saturation in finite time. Saturated packings reproduce
    ``RSA_SATURATION`` (0.547 for disks, 0.384 for spheres) [2]_, [3]_.

    References
    ----------
    .. [1] B. Widom, "Random sequential addition of hard spheres to a
       volume", J. Chem. Phys. 44(10), 3888-3894, 1966.
    .. [2] G. Zhang and S. Torquato, "Precise algorithm to generate random
       sequential addition of hard hyperspheres at saturation", Phys. Rev. E
       88, 053312, 2013.
    .. [3] S. Torquato, O. U. Uche and F. H. Stillinger, "Random sequential
       addition of hard spheres in high Euclidean dimensions", Phys. Rev. E
       74, 061308, 2006.

    Examples
    --------
    >>> packing = rsa_spheres((64, 64), 3.0, 0.3, rng=1)
    >>> len(packing.radii)  # rint(0.3 * 64**2 / (pi * 9))
    43
    """
    shape = as_shape(shape)
    spacing = as_positive(spacing, "spacing")
    radius = as_positive(radius, "radius")
    if not isinstance(gap, numbers.Real) or isinstance(gap, bool):
        raise TypeError(f"gap must be a real number, got {gap!r}")
    if not 0.0 <= gap < math.inf:
        raise ValueError(f"gap must be >= 0 and finite, got {gap!r}")
    gap = float(gap)
    check_radius_fits(radius + gap, shape, spacing, "radius + gap")
    ndim = len(shape)
    box = np.array(shape, dtype=np.float64) * spacing
    box_volume = float(np.prod(box))
    sphere_volume = float(ball_volume(radius, ndim))
    limit = RSA_SATURATION[ndim] * (radius / (radius + gap / 2.0)) ** ndim
    if volume_fraction is None:
        # no more centres than disjoint balls of radius R + g/2 fit in the box
        target = int(box_volume / float(ball_volume(radius + gap / 2.0, ndim))) + 1
    else:
        volume_fraction = as_real_in(volume_fraction, "volume_fraction", 0.0, 1.0)
        if volume_fraction >= limit:
            raise ValueError(
                f"volume_fraction must be below the RSA saturation limit {limit:.6g} for "
                f"d = {ndim}, radius {radius:g} and gap {gap:g}, got {volume_fraction!r}"
            )
        target = round(volume_fraction * box_volume / sphere_volume)
    rng = as_generator(rng)

    centres, _ = rsa(
        box,
        2.0 * radius + gap,
        target,
        max(PLAIN_FAILURES, target),
        MAX_REFINEMENTS,
        rng,
    )
    if volume_fraction is not None and len(centres) < target:
        reached = len(centres) * sphere_volume / box_volume
        raise ValueError(
            f"volume_fraction {volume_fraction!r} is beyond what RSA reached in this box: "
            f"this realization saturated at {reached:.4f}; use a lower volume_fraction or a "
            "larger box"
        )
    radii = np.full(len(centres), radius)
    return Packing(paint(shape, centres, radii, spacing), centres, radii)
