r"""A chain of random bond stiffnesses as a 1-D statistical volume element.

Springs in series: a chain of N bonds of stiffnesses :math:`k_i` under a
force f stretches by :math:`f \sum_i 1/k_i`, so its apparent bond stiffness
is the harmonic mean :math:`K_N = (N^{-1}\sum_i k_i^{-1})^{-1}` (the Reuss
bound is exact in 1-D). For independent bonds its variance falls like
:math:`D^2 A / (N a_0)` with the integral range A of one bond, the d = 1
case of Kanit's law, which :mod:`sve.statistics` fits.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from sve._validation import check_confidence, check_integer, check_positive
from sve.statistics import ensemble_statistics, fit_integral_range, fit_variance_scaling

__all__ = ["harmonic_chain_stiffness", "random_chain_scaling", "random_chain_study"]


def harmonic_chain_stiffness(bond_stiffness: object, axis: int = -1) -> np.ndarray:
    r"""Apparent bond stiffness of springs in series: the harmonic mean along `axis`.

    Parameters
    ----------
    bond_stiffness : array_like
        Stiffnesses :math:`k_i` of the bonds (force / length), finite and > 0.
    axis : int, default -1
        The axis along the chain.

    Returns
    -------
    ndarray
        :math:`K = (\overline{1/k})^{-1}` (force / length per bond; the chain
        of N bonds has spring constant K / N and Young's modulus
        :math:`K a_0`).

    Examples
    --------
    >>> float(harmonic_chain_stiffness([1.0, 3.0]))  # 2 / (1 + 1/3)
    1.5
    """
    array = np.asarray(bond_stiffness, dtype=np.float64)
    if array.ndim == 0 or array.size == 0:
        raise ValueError(f"bond_stiffness must be a non-empty array, got {bond_stiffness!r}")
    if not np.all(np.isfinite(array) & (array > 0)):
        raise ValueError(f"bond_stiffness must be finite and > 0, got {bond_stiffness!r}")
    return 1.0 / np.mean(1.0 / array, axis=axis)


def random_chain_study(
    bonds=(8, 16, 32, 64, 128, 256),
    realizations: int = 200,
    *,
    log_std: float = 0.5,
    spacing: float = 1.0,
    rng: int | np.random.Generator | None = 0,
) -> xr.Dataset:
    r"""Apparent stiffnesses of chains of independent log-normal bonds, in a study's layout.

    Parameters
    ----------
    bonds : sequence of int, default (8, 16, 32, 64, 128, 256)
        Chain lengths N in bonds (>= 1 each): the SVE sizes.
    realizations : int, default 200
        Chains per size (>= 2).
    log_std : float, default 0.5
        Standard deviation s of :math:`\ln k` (median stiffness 1), > 0.
    spacing : float, default 1.0
        Reference bond length :math:`a_0` (length units), > 0.
    rng : int, numpy.random.Generator or None
        Seed of the bonds (0 by default, so examples are fixed).

    Returns
    -------
    xarray.Dataset
        ``stiffness`` (size, realization): the harmonic mean of each chain;
        ``status`` all ok (1); coordinates ``size`` (N) and ``length``
        (:math:`N a_0`). Attributes: ``point_variance`` :math:`D^2 =
        (e^{s^2} - 1) e^{-s^2}`, ``effective_stiffness`` :math:`e^{-s^2/2}`
        (the limit of K), ``integral_range`` :math:`a_0` (exact, one bond).

    Notes
    -----
    :math:`1/K_N` is a mean of N independent :math:`1/k_i`, exactly, so
    :math:`\mathrm{Var}(1/K_N) = \mathrm{Var}(1/k)/N`; to first order in the
    fluctuation, :math:`\mathrm{Var}\,K_N = K^4\,\mathrm{Var}(1/k)/N =
    D^2 a_0 / (N a_0)` with :math:`D^2 = K^4 \mathrm{Var}(1/k)`, which for
    :math:`\ln k \sim N(0, s^2)` is :math:`(e^{s^2} - 1)e^{-s^2}`; the next
    order is smaller by :math:`O(s^2/N)`. The bonds of all chains are drawn
    in one call per size, in order.

    Examples
    --------
    >>> ds = random_chain_study(realizations=4)
    >>> ds["stiffness"].dims, ds["length"].values.tolist()[:2]
    (('size', 'realization'), [8.0, 16.0])
    """
    sizes = np.asarray(bonds)
    if sizes.ndim != 1 or sizes.size < 1 or not np.issubdtype(sizes.dtype, np.integer):
        raise ValueError(f"bonds must be a sequence of integers, got {bonds!r}")
    if np.any(sizes < 1):
        raise ValueError(f"bonds must be >= 1, got {bonds!r}")
    realizations = check_integer(realizations, "realizations", 2)
    log_std = check_positive(log_std, "log_std")
    spacing = check_positive(spacing, "spacing")
    rng = np.random.default_rng(rng)
    values = np.empty((sizes.size, realizations))
    for index, n in enumerate(sizes):
        k = np.exp(log_std * rng.standard_normal((realizations, int(n))))
        values[index] = harmonic_chain_stiffness(k)
    ds = xr.Dataset(
        {
            "stiffness": (("size", "realization"), values),
            "status": (("size", "realization"), np.ones(values.shape, np.int8)),
        },
        coords={"size": sizes, "length": ("size", spacing * sizes)},
    )
    ds["stiffness"].attrs.update(long_name="apparent bond stiffness (harmonic mean)")
    ds["length"].attrs.update(units="a0" if spacing == 1.0 else "length")
    ds.attrs.update(
        point_variance=float(np.expm1(log_std**2) * np.exp(-(log_std**2))),
        effective_stiffness=float(np.exp(-(log_std**2) / 2)),
        integral_range=spacing,
        log_std=log_std,
    )
    return ds


def random_chain_scaling(ds: xr.Dataset, *, confidence: float = 0.95) -> xr.Dataset:
    r"""Variance exponent and integral range of a random chain study, by :mod:`sve.statistics`.

    Parameters
    ----------
    ds : xarray.Dataset
        :func:`random_chain_study` output (or any dataset in its layout with
        a ``point_variance`` attribute).
    confidence : float in (0, 1), default 0.95
        Level of the intervals.

    Returns
    -------
    xarray.Dataset
        ``exponent`` γ of :math:`D^2(L) \propto L^\gamma` with
        ``exponent_low``/``exponent_high`` (:func:`sve.statistics.fit_variance_scaling`;
        −1 for d = 1), and ``integral_range`` with
        ``integral_range_low``/``integral_range_high`` and ``alpha``
        (:func:`sve.statistics.fit_integral_range` with ``ndim=1``; one bond,
        :math:`a_0`, for independent bonds); ``mean`` of the largest size.

    Examples
    --------
    >>> fit = random_chain_scaling(random_chain_study())
    >>> bool(fit["exponent_low"] < -1 < fit["exponent_high"])
    True
    >>> bool(fit["integral_range_low"] < 1.0 < fit["integral_range_high"])
    True
    """
    if not isinstance(ds, xr.Dataset):
        raise TypeError(f"ds must be an xarray.Dataset, got {type(ds).__name__}")
    if "point_variance" not in ds.attrs:
        raise ValueError("ds has no attribute 'point_variance' (see random_chain_study)")
    confidence = check_confidence(confidence)
    statistics = ensemble_statistics(ds, "stiffness", isotropic=False, confidence=confidence)
    scaling = fit_variance_scaling(statistics, confidence=confidence)
    kanit = fit_integral_range(
        statistics, ndim=1, point_variance=ds.attrs["point_variance"], confidence=confidence
    )
    out = xr.merge(
        [
            scaling[["exponent", "exponent_low", "exponent_high", "chi2_per_dof"]],
            kanit[["integral_range", "integral_range_low", "integral_range_high", "alpha"]],
        ]
    )
    out["mean"] = statistics["mean"].isel(size=-1, drop=True)
    out.attrs.update(confidence=confidence, point_variance=ds.attrs["point_variance"])
    return out
