r"""Representativity of one image for its volume fractions, from its own two-point function."""

from __future__ import annotations

import math

import numpy as np
import xarray as xr
from numpy.typing import ArrayLike
from scipy import stats

from sve._validation import check_bool, check_confidence, check_phases, check_real, check_spacing
from sve.microstructure import Microstructure, labels_and_spacing
from sve.morphology import integral_range

__all__ = ["image_representativity"]


def image_representativity(
    phases: ArrayLike | Microstructure,
    *,
    spacing: float | tuple[float, ...] | None = None,
    target: float = 0.05,
    confidence: float = 0.95,
    periodic: bool = False,
    radius: float | None = None,
) -> xr.Dataset:
    r"""How precisely one image gives each volume fraction, and the edge that would do.

    Parameters
    ----------
    phases : array_like of int, shape (N0, N1) or (N0, N1, N2), or Microstructure
        The image (a measured one: ``periodic=False``).
    spacing : float or tuple of float, optional
        Voxel edge, one or one per axis, in the image's length unit; default
        the microstructure's, else 1.
    target : float in (0, 1), default 0.05
        Relative precision asked of each volume fraction (half-width of its
        interval over its value).
    confidence : float in (0, 1), default 0.95
        Level of every interval.
    periodic : bool, default False
        The image is one period of a periodic medium (a generated one).
    radius : float, optional
        Truncation radius of the covariance integral (see
        `sve.morphology.integral_range`).

    Returns
    -------
    xarray.Dataset
        Over dimension ``phase`` (every label present): ``volume_fraction``;
        ``integral_range`` with ``integral_range_low``/``_high`` (length units
        to the power d, jackknife interval); ``relative_error``, the predicted
        half-width of the interval of the volume fraction over its value at
        the image's size, with ``_low``/``_high`` from the integral range's
        interval; ``rve_edge``, the edge of the cube whose volume fraction
        reaches `target`, with ``_low``/``_high``; ``representative``,
        whether ``relative_error <= target``. Attributes: ``target``,
        ``confidence``, ``image_volume``, ``unit``.

    Notes
    -----
    For a stationary ergodic medium, the variance of the volume fraction
    measured in a domain of volume :math:`V` much larger than the integral
    range :math:`A` of the phase indicator is [1]_, [2]_

    .. math:: D^2(V) = \varphi (1 - \varphi) \frac{A}{V},

    so the relative half-width of its interval is
    :math:`\varepsilon = z \sqrt{(1 - \varphi) A / (\varphi V)}` with
    :math:`z` the two-sided normal quantile, and the volume that reaches a
    target :math:`\varepsilon_t` is :math:`V^* = z^2 (1 - \varphi) A /
    (\varphi \varepsilon_t^2)`, a cube of edge :math:`(V^*)^{1/d}`. :math:`A`
    is estimated from the image itself (`sve.morphology.integral_range`); its
    interval carries into :math:`\varepsilon` and :math:`V^*` (both
    monotonic in :math:`A`). The prediction answers the question of ImageRep
    for the volume fractions; the precision of a property (conductivity,
    stiffness) needs the property's own integral range, from a study of
    windows.

    References
    ----------
    .. [1] G. Matheron, *The theory of regionalized variables and its
       applications*, Les Cahiers du CMM de Fontainebleau 5, 1971.
    .. [2] T. Kanit, S. Forest, I. Galliet, V. Mounoury and D. Jeulin,
       "Determination of the size of the representative volume element for
       random composites", Int. J. Solids Struct. 40, 3647-3679, 2003.

    Examples
    --------
    >>> import numpy as np
    >>> white = (np.random.default_rng(0).random((128, 128)) < 0.3).astype(np.int8)
    >>> result = image_representativity(white, periodic=True)
    >>> float(result.volume_fraction.sel(phase=1).round(2))
    0.29
    >>> bool(result.representative.sel(phase=1))  # A = 1 voxel: 2 % precision here
    True
    """
    unit = phases.unit if isinstance(phases, Microstructure) else "voxel"
    phases, spacing = labels_and_spacing(phases, spacing)
    image = check_phases(phases)
    steps = check_spacing(spacing, image.ndim)
    target = check_real(target, "target", 0.0, 1.0)
    confidence = check_confidence(confidence)
    periodic = check_bool(periodic, "periodic")
    labels = np.unique(image)
    if labels.size < 2:
        raise ValueError(f"phases must hold at least two phases, got label {labels[0]} only")
    z = float(stats.norm.ppf(0.5 + confidence / 2))
    volume = math.prod(n * h for n, h in zip(image.shape, steps, strict=True))
    ndim = image.ndim
    rows = []
    for label in labels.tolist():
        phi = float(np.mean(image == label))
        estimate = integral_range(
            image, label, spacing=steps, radius=radius, periodic=periodic, confidence=confidence
        )
        ranges = (estimate.value, max(estimate.low, 0.0), estimate.high)
        errors = [z * math.sqrt((1.0 - phi) * a / (phi * volume)) for a in ranges]
        edges = [(z**2 * (1.0 - phi) * a / (phi * target**2)) ** (1.0 / ndim) for a in ranges]
        rows.append((phi, ranges, errors, edges))
    data = {
        "volume_fraction": [r[0] for r in rows],
        "integral_range": [r[1][0] for r in rows],
        "integral_range_low": [r[1][1] for r in rows],
        "integral_range_high": [r[1][2] for r in rows],
        "relative_error": [r[2][0] for r in rows],
        "relative_error_low": [r[2][1] for r in rows],
        "relative_error_high": [r[2][2] for r in rows],
        "rve_edge": [r[3][0] for r in rows],
        "rve_edge_low": [r[3][1] for r in rows],
        "rve_edge_high": [r[3][2] for r in rows],
    }
    ds = xr.Dataset(
        {name: ("phase", np.asarray(values, dtype=np.float64)) for name, values in data.items()},
        coords={"phase": labels},
    )
    ds["representative"] = ds.relative_error <= target
    for name in ("integral_range", "integral_range_low", "integral_range_high"):
        ds[name].attrs["units"] = f"{unit}^{ndim}"
    for name in ("rve_edge", "rve_edge_low", "rve_edge_high"):
        ds[name].attrs["units"] = unit
    ds.attrs.update(target=target, confidence=confidence, image_volume=volume, unit=unit)
    return ds
