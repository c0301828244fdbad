r"""Isotropic correlation models of stationary random fields.

A model is a small immutable value: its parameters, their bounds (declared as
data in ``bounds``) and three functions of them, the correlation
:math:`\rho(r)`, the spectral density :math:`S(k)` and Matheron's integral
range :math:`A`. Lengths are physical (the units of ``spacing`` in the
generators), never voxel counts.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._validation import as_float_array, as_integer, as_real_in


class CovarianceModel(ABC):
    r"""Correlation function of a stationary, isotropic field of unit variance.

    Subclasses are frozen dataclasses whose fields are the parameters; the
    class attribute ``bounds`` maps each parameter name to the open interval
    ``(low, high)`` it must lie in, checked when the model is built.

    Notes
    -----
    The spectral density uses the convention

    .. math::

        S(k) = \int_{\mathbb{R}^d} \rho(\lvert h \rvert)\, e^{-i k \cdot h}\, dh,
        \qquad
        \rho(r) = (2\pi)^{-d} \int_{\mathbb{R}^d} S(\lvert k \rvert)\,
        e^{i k \cdot h}\, dk,

    with :math:`k` an angular wavenumber (radians per unit length), so that
    :math:`S(0) = A`, the integral range.
    """

    name: ClassVar[str]
    bounds: ClassVar[Mapping[str, tuple[float, float]]]

    def __post_init__(self) -> None:
        for parameter, (low, high) in self.bounds.items():
            value = as_real_in(getattr(self, parameter), parameter, low, high)
            object.__setattr__(self, parameter, value)

    def correlation(self, r: ArrayLike) -> NDArray[np.float64]:
        r"""Correlation at distance ``r``.

        Parameters
        ----------
        r : array_like of float
            Distances >= 0, in physical length units.

        Returns
        -------
        ndarray of float64, the shape of ``r``
            :math:`\rho(r)`, with :math:`\rho(0) = 1`.
        """
        return self._correlation(as_float_array(r, "r", 0.0, math.inf))

    def integral_range(self, ndim: int) -> float:
        r"""Matheron's integral range in ``ndim`` dimensions.

        Parameters
        ----------
        ndim : int
            Dimension d >= 1 of the space.

        Returns
        -------
        float
            :math:`A = \int_{\mathbb{R}^d} \rho(\lvert h \rvert)\, dh`, a
            d-volume (length units to the power d).

        Notes
        -----
        For a window of volume :math:`V \gg A` the variance of the spatial
        average of the field is :math:`\sigma^2 A / V` [1]_.

        References
        ----------
        .. [1] G. Matheron, *The theory of regionalized variables and its
           applications*, Les Cahiers du CMM de Fontainebleau 5, 1971.
        """
        return self._integral_range(as_integer(ndim, "ndim", minimum=1))

    def spectral_density(self, k: ArrayLike, ndim: int) -> NDArray[np.float64]:
        """Spectral density at angular wavenumber magnitude ``k``.

        Parameters
        ----------
        k : array_like of float
            Wavenumber magnitudes >= 0, in radians per length unit.
        ndim : int
            Dimension d >= 1 of the space.

        Returns
        -------
        ndarray of float64, the shape of ``k``
            :math:`S(k)`, the d-dimensional Fourier transform of the
            correlation (convention in the class Notes), in length units to
            the power d.
        """
        ndim = as_integer(ndim, "ndim", minimum=1)
        return self._spectral_density(as_float_array(k, "k", 0.0, math.inf), ndim)

    @abstractmethod
    def _correlation(self, r: NDArray[np.float64]) -> NDArray[np.float64]: ...

    @abstractmethod
    def _integral_range(self, ndim: int) -> float: ...

    @abstractmethod
    def _spectral_density(self, k: NDArray[np.float64], ndim: int) -> NDArray[np.float64]: ...


@dataclass(frozen=True)
class Exponential(CovarianceModel):
    r"""Exponential correlation :math:`\rho(r) = e^{-r/\ell}`.

    Parameters
    ----------
    length : float
        Correlation length :math:`\ell > 0`, in physical length units.

    Notes
    -----
    With :math:`\omega_d = 2\pi^{d/2}/\Gamma(d/2)` the area of the unit
    sphere,

    .. math::

        A = \omega_d \Gamma(d)\, \ell^d
          = 2^d \pi^{(d-1)/2} \Gamma\left(\tfrac{d+1}{2}\right) \ell^d,
        \qquad
        S(k) = \frac{A}{(1 + k^2\ell^2)^{(d+1)/2}},

    that is :math:`A = 2\ell,\ 2\pi\ell^2,\ 8\pi\ell^3` for d = 1, 2, 3.
    The field is continuous but not differentiable in mean square.

    References
    ----------
    .. [1] C. Lantuéjoul, *Geostatistical Simulation: Models and Algorithms*,
       Springer, 2002.

    Examples
    --------
    >>> model = Exponential(2.0)
    >>> float(model.correlation(2.0))
    0.36787944117144233
    >>> round(model.integral_range(2) / (2 * 3.141592653589793 * 2.0**2), 12)
    1.0
    """

    length: float
    name: ClassVar[str] = "exponential"
    bounds: ClassVar[Mapping[str, tuple[float, float]]] = {"length": (0.0, math.inf)}

    def _correlation(self, r):
        return np.exp(-r / self.length)

    def _integral_range(self, ndim):
        return (
            2.0**ndim
            * math.pi ** ((ndim - 1) / 2)
            * math.gamma((ndim + 1) / 2)
            * self.length**ndim
        )

    def _spectral_density(self, k, ndim):
        return self._integral_range(ndim) / (1.0 + (k * self.length) ** 2) ** ((ndim + 1) / 2)


@dataclass(frozen=True)
class Gaussian(CovarianceModel):
    r"""Gaussian correlation :math:`\rho(r) = e^{-(r/\ell)^2}`.

    Parameters
    ----------
    length : float
        Correlation length :math:`\ell > 0`, in physical length units.

    Notes
    -----
    .. math::

        A = (\sqrt{\pi}\, \ell)^d,
        \qquad
        S(k) = A\, e^{-k^2 \ell^2 / 4}.

    The field is infinitely differentiable in mean square. Its spectral
    density decays so fast that a periodic box must span several ``length``
    for the circulant embedding of :func:`generators.gaussian_field` to stay
    positive definite.

    References
    ----------
    .. [1] C. Lantuéjoul, *Geostatistical Simulation: Models and Algorithms*,
       Springer, 2002.

    Examples
    --------
    >>> model = Gaussian(1.0)
    >>> float(model.correlation(1.0))
    0.36787944117144233
    """

    length: float
    name: ClassVar[str] = "gaussian"
    bounds: ClassVar[Mapping[str, tuple[float, float]]] = {"length": (0.0, math.inf)}

    def _correlation(self, r):
        return np.exp(-((r / self.length) ** 2))

    def _integral_range(self, ndim):
        return (math.sqrt(math.pi) * self.length) ** ndim

    def _spectral_density(self, k, ndim):
        return self._integral_range(ndim) * np.exp(-((k * self.length) ** 2) / 4.0)


_MODELS: dict[str, type[CovarianceModel]] = {
    model.name: model for model in (Exponential, Gaussian)
}


def covariance_model(name: str, **params: float) -> CovarianceModel:
    """Build a covariance model from its name and parameters.

    Parameters
    ----------
    name : str
        Lower-case model name: ``"exponential"`` or ``"gaussian"``.
    **params : float
        The model's parameters, e.g. ``length=2.0``.

    Returns
    -------
    CovarianceModel

    Raises
    ------
    ValueError
        For an unknown name (the message lists the known ones) or a parameter
        out of its bounds.
    TypeError
        For a missing or unexpected parameter.

    Examples
    --------
    >>> covariance_model("gaussian", length=3.0)
    Gaussian(length=3.0)
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a str, got {name!r}")
    if name not in _MODELS:
        raise ValueError(
            f"name must be one of the known covariance models ({', '.join(sorted(_MODELS))}), "
            f"got {name!r}"
        )
    return _MODELS[name](**params)
