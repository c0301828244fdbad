r"""Correlation models of stationary random fields, isotropic or anisotropic.

A model is a small immutable value: its parameters, their bounds (declared as
data in ``bounds``) and three functions of them, the correlation
:math:`\rho`, the spectral density :math:`S` and Matheron's integral range
:math:`A`. Lengths are physical (the units of ``spacing`` in the
generators), never voxel counts.

Every model is a radial profile :math:`\rho_1` of unit length made
anisotropic by per-axis lengths and a rotation: with :math:`L =
\operatorname{diag}(\ell_a)` and a proper rotation :math:`R` whose columns
are the principal axes,

.. math::

    \rho(h) = \rho_1\!\left(\lVert L^{-1} R^\mathsf{T} h \rVert\right),
    \qquad
    S(k) = \det L\; S_1\!\left(\lVert L R^\mathsf{T} k \rVert\right),
    \qquad
    A = \det L\; A_1,

where :math:`S_1, A_1` belong to :math:`\rho_1`. A scalar ``length`` gives
the isotropic model, :math:`\rho(h) = \rho_1(\lvert h \rvert / \ell)`.
"""

from __future__ import annotations

import math
import numbers
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import ClassVar

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import gammaln, kve

from generators._validation import MAX_NDIM, as_float_array, as_integer, as_real_in

ROTATION_TOLERANCE = 1e-9
"""Allowed deviation of ``rotation`` from a proper orthogonal matrix (entries of
R^T R - I and of det R - 1): far above the round-off of a matrix built from
angles in double precision, far below any intended deformation."""

RotationLike = float | Sequence[Sequence[float]] | np.ndarray | None


@dataclass(frozen=True, repr=False)
class CovarianceModel(ABC):
    r"""Correlation function of a stationary field of unit variance.

    Subclasses are frozen dataclasses whose fields are the parameters; the
    class attribute ``bounds`` maps each parameter name to the open interval
    ``(low, high)`` it must lie in, checked when the model is built.

    Parameters
    ----------
    length : float or sequence of float
        Correlation length :math:`\ell > 0` in physical length units (an
        isotropic model of any dimension), or one length per principal axis,
        2 or 3 of them (an anisotropic model of that dimension).
    rotation : float or array_like of shape (d, d), optional, keyword-only
        Only with per-axis lengths: the principal axes as the columns of a
        proper rotation matrix (:math:`R^\mathsf{T} R = I`, :math:`\det R =
        1`), or in 2-D the angle in radians from axis 0 towards axis 1 of the
        first principal axis. Default: the grid axes. Stored as a tuple of
        tuples (the model stays hashable).

    Notes
    -----
    The spectral density uses the convention

    .. math::

        S(k) = \int_{\mathbb{R}^d} \rho(h)\, e^{-i k \cdot h}\, dh,
        \qquad
        \rho(h) = (2\pi)^{-d} \int_{\mathbb{R}^d} S(k)\, e^{i k \cdot h}\, dk,

    with :math:`k` an angular wavenumber (radians per unit length), so that
    :math:`S(0) = A`, the integral range. The anisotropic forms are in the
    module docstring. Long-range models have :math:`A = \infty`.
    """

    length: float | tuple[float, ...]
    rotation: tuple[tuple[float, ...], ...] | None = field(default=None, kw_only=True)

    name: ClassVar[str]
    bounds: ClassVar[Mapping[str, tuple[float, float]]]

    def __post_init__(self) -> None:
        for parameter, (low, high) in self.bounds.items():
            value = getattr(self, parameter)
            if parameter == "length" and not isinstance(value, numbers.Real):
                value = _per_axis_lengths(value, low, high)
            else:
                value = as_real_in(value, parameter, low, high)
            object.__setattr__(self, parameter, value)
        if self.rotation is not None:
            object.__setattr__(self, "rotation", _as_rotation(self.rotation, self.ndim))

    def __repr__(self) -> str:
        shown = [
            f"{f.name}={getattr(self, f.name)!r}"
            for f in fields(self)
            if not (f.name == "rotation" and self.rotation is None)
        ]
        return f"{type(self).__name__}({', '.join(shown)})"

    @property
    def ndim(self) -> int | None:
        """Dimension fixed by per-axis lengths, or None for an isotropic model."""
        return None if isinstance(self.length, float) else len(self.length)

    def correlation(self, r: ArrayLike) -> NDArray[np.float64]:
        r"""Correlation at distance ``r`` (isotropic models).

        Parameters
        ----------
        r : array_like of float
            Distances >= 0, in physical length units.

        Returns
        -------
        ndarray of float64, the shape of ``r``
            :math:`\rho(r)`, with :math:`\rho(0) = 1`.

        Raises
        ------
        ValueError
            For an anisotropic model: use :meth:`correlation_at`.
        """
        self._require_isotropic("correlation", "correlation_at")
        return self._unit_correlation(as_float_array(r, "r", 0.0, math.inf) / self.length)

    def correlation_at(self, lag: ArrayLike) -> NDArray[np.float64]:
        r"""Correlation at lag vectors ``lag``.

        Parameters
        ----------
        lag : array_like of float, shape (..., d)
            Lag vectors in physical length units along the grid axes; d is 1
            to 3, and the model's dimension for per-axis lengths.

        Returns
        -------
        ndarray of float64, shape ``lag.shape[:-1]``
            :math:`\rho(h)` (module docstring).
        """
        lag = as_float_array(lag, "lag", -math.inf, math.inf)
        self._check_vector_dimension(lag, "lag")
        return self._unit_correlation(self._scaled_distance(np.moveaxis(lag, -1, 0)))

    def integral_range(self, ndim: int) -> float:
        r"""Matheron's integral range in ``ndim`` dimensions.

        Parameters
        ----------
        ndim : int
            Dimension d >= 1 of the space; the model's dimension for per-axis
            lengths.

        Returns
        -------
        float
            :math:`A = \int_{\mathbb{R}^d} \rho(h)\, dh`, a d-volume (length
            units to the power d); ``math.inf`` for a long-range model.

        Notes
        -----
        For a window of volume :math:`V \gg A` the variance of the spatial
        average of the field is :math:`\sigma^2 A / V` [1]_.

        References
        ----------
        .. [1] G. Matheron, *The theory of regionalized variables and its
           applications*, Les Cahiers du CMM de Fontainebleau 5, 1971.
        """
        ndim = as_integer(ndim, "ndim", minimum=1)
        if self.ndim is not None and ndim != self.ndim:
            raise ValueError(f"ndim must be {self.ndim} for {self!r}, got {ndim}")
        return math.prod(self._lengths(ndim)) * self._unit_integral_range(ndim)

    def spectral_density(self, k: ArrayLike, ndim: int) -> NDArray[np.float64]:
        """Spectral density at angular wavenumber magnitude ``k`` (isotropic models).

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
            the power d; ``inf`` at k = 0 for a long-range model.

        Raises
        ------
        ValueError
            For an anisotropic model: use :meth:`spectral_density_at`.
        """
        self._require_isotropic("spectral_density", "spectral_density_at")
        ndim = as_integer(ndim, "ndim", minimum=1)
        k = as_float_array(k, "k", 0.0, math.inf)
        return self.length**ndim * self._unit_spectral_density(k * self.length, ndim)

    def spectral_density_at(self, wavevector: ArrayLike) -> NDArray[np.float64]:
        r"""Spectral density at angular wave vectors.

        Parameters
        ----------
        wavevector : array_like of float, shape (..., d)
            Wave vectors in radians per length unit along the grid axes; d is
            1 to 3, and the model's dimension for per-axis lengths.

        Returns
        -------
        ndarray of float64, shape ``wavevector.shape[:-1]``
            :math:`S(k) = \det L\, S_1(\lVert L R^\mathsf{T} k \rVert)`.
        """
        k = as_float_array(wavevector, "wavevector", -math.inf, math.inf)
        self._check_vector_dimension(k, "wavevector")
        ndim = k.shape[-1]
        if self.ndim is None:
            kappa = np.sqrt(np.sum(k**2, axis=-1)) * self.length
        else:
            principal = k @ np.asarray(self._rotation_matrix())  # components R^T k
            kappa = np.sqrt(np.sum((principal * np.asarray(self.length)) ** 2, axis=-1))
        return math.prod(self._lengths(ndim)) * self._unit_spectral_density(kappa, ndim)

    def _scaled_distance(self, offsets: Sequence[np.ndarray]) -> NDArray[np.float64]:
        r""":math:`\lVert L^{-1} R^\mathsf{T} h \rVert` from the broadcastable components of h."""
        if self.ndim is None:
            return np.sqrt(sum(offset**2 for offset in offsets)) / self.length
        rotation = self._rotation_matrix()
        principal = (
            sum(rotation[a][b] * offsets[a] for a in range(self.ndim)) / self.length[b]
            for b in range(self.ndim)
        )
        return np.sqrt(sum(component**2 for component in principal))

    def _lengths(self, ndim: int) -> tuple[float, ...]:
        return (self.length,) * ndim if self.ndim is None else self.length

    def _rotation_matrix(self) -> tuple[tuple[float, ...], ...]:
        if self.rotation is not None:
            return self.rotation
        return tuple(tuple(float(a == b) for b in range(self.ndim)) for a in range(self.ndim))

    def _require_isotropic(self, method: str, alternative: str) -> None:
        if self.ndim is not None:
            raise ValueError(
                f"{method} takes distances of an isotropic model, got {self!r} with per-axis "
                f"lengths; use {alternative} with vectors"
            )

    def _check_vector_dimension(self, vectors: np.ndarray, name: str) -> None:
        expected = range(1, MAX_NDIM + 1) if self.ndim is None else (self.ndim,)
        if vectors.ndim == 0 or vectors.shape[-1] not in expected:
            raise ValueError(
                f"{name} must have a last axis of length {' or '.join(map(str, expected))} "
                f"for {self!r}, got shape {vectors.shape}"
            )

    @abstractmethod
    def _unit_correlation(self, u: NDArray[np.float64]) -> NDArray[np.float64]:
        """Radial profile of unit length at scaled distances u >= 0."""

    @abstractmethod
    def _unit_integral_range(self, ndim: int) -> float:
        """Integral range of the unit-length profile in ``ndim`` dimensions."""

    @abstractmethod
    def _unit_spectral_density(self, kappa: NDArray[np.float64], ndim: int) -> NDArray[np.float64]:
        """Spectral density of the unit-length profile at scaled wavenumbers kappa >= 0."""


def _per_axis_lengths(value: object, low: float, high: float) -> tuple[float, ...]:
    try:
        if isinstance(value, str):
            raise TypeError
        entries = tuple(value)
    except TypeError:
        raise TypeError(
            f"length must be a real number or a sequence of 2 or 3 of them, got {value!r}"
        ) from None
    if not 2 <= len(entries) <= MAX_NDIM:
        raise ValueError(f"length must have 2 or 3 per-axis entries, got {value!r}")
    return tuple(as_real_in(v, f"length[{a}]", low, high) for a, v in enumerate(entries))


def _as_rotation(rotation: object, ndim: int | None) -> tuple[tuple[float, ...], ...]:
    if ndim is None:
        raise ValueError(
            f"rotation needs per-axis lengths (an isotropic model has no axes), got {rotation!r}"
        )
    if isinstance(rotation, numbers.Real) and not isinstance(rotation, bool):
        if ndim != 2:
            raise ValueError(
                f"rotation as an angle needs 2 per-axis lengths, got {ndim}; give a matrix"
            )
        angle = as_real_in(rotation, "rotation", -math.inf, math.inf)
        matrix = np.array(
            [[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]]
        )
    else:
        matrix = as_float_array(rotation, "rotation", -math.inf, math.inf)
        if matrix.shape != (ndim, ndim):
            raise ValueError(f"rotation must have shape ({ndim}, {ndim}), got {matrix.shape}")
        defect = np.abs(matrix.T @ matrix - np.eye(ndim)).max()
        if defect > ROTATION_TOLERANCE or abs(np.linalg.det(matrix) - 1.0) > ROTATION_TOLERANCE:
            raise ValueError(
                "rotation must be a proper rotation matrix (R^T R = I, det R = 1), got "
                f"max |R^T R - I| = {defect:.2e} and det R = {np.linalg.det(matrix):.6g}"
            )
    return tuple(tuple(float(x) for x in row) for row in matrix)


@dataclass(frozen=True, repr=False)
class Exponential(CovarianceModel):
    r"""Exponential correlation :math:`\rho(r) = e^{-r/\ell}`.

    Parameters
    ----------
    length : float or sequence of float
        Correlation length :math:`\ell > 0` (or per-axis lengths), in
        physical length units.
    rotation : optional, keyword-only
        Principal axes of an anisotropic model (:class:`CovarianceModel`).

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
    The field is continuous but not differentiable in mean square. It is the
    Matérn model with :math:`\nu = 1/2`.

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

    name: ClassVar[str] = "exponential"
    bounds: ClassVar[Mapping[str, tuple[float, float]]] = {"length": (0.0, math.inf)}

    def _unit_correlation(self, u):
        return np.exp(-u)

    def _unit_integral_range(self, ndim):
        return 2.0**ndim * math.pi ** ((ndim - 1) / 2) * math.gamma((ndim + 1) / 2)

    def _unit_spectral_density(self, kappa, ndim):
        return self._unit_integral_range(ndim) / (1.0 + kappa**2) ** ((ndim + 1) / 2)


@dataclass(frozen=True, repr=False)
class Gaussian(CovarianceModel):
    r"""Gaussian correlation :math:`\rho(r) = e^{-(r/\ell)^2}`.

    Parameters
    ----------
    length : float or sequence of float
        Correlation length :math:`\ell > 0` (or per-axis lengths), in
        physical length units.
    rotation : optional, keyword-only
        Principal axes of an anisotropic model (:class:`CovarianceModel`).

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

    name: ClassVar[str] = "gaussian"
    bounds: ClassVar[Mapping[str, tuple[float, float]]] = {"length": (0.0, math.inf)}

    def _unit_correlation(self, u):
        return np.exp(-(u**2))

    def _unit_integral_range(self, ndim):
        return math.pi ** (ndim / 2)

    def _unit_spectral_density(self, kappa, ndim):
        return self._unit_integral_range(ndim) * np.exp(-(kappa**2) / 4.0)


@dataclass(frozen=True, repr=False)
class Matern(CovarianceModel):
    r"""Matérn correlation of smoothness :math:`\nu`.

    Parameters
    ----------
    length : float or sequence of float
        Correlation length :math:`\ell > 0` (or per-axis lengths), in
        physical length units.
    nu : float
        Smoothness :math:`\nu \in (0, 20)`: the field is :math:`m` times
        differentiable in mean square for :math:`m < \nu`. The upper bound
        keeps the Bessel function finite at every distance a grid can hold;
        beyond it the model is within round-off of its Gaussian limit.
    rotation : optional, keyword-only
        Principal axes of an anisotropic model (:class:`CovarianceModel`).

    Notes
    -----
    With :math:`x = \sqrt{2\nu}\, r / \ell` and :math:`K_\nu` the modified
    Bessel function of the second kind [1]_,

    .. math::

        \rho(r) = \frac{2^{1-\nu}}{\Gamma(\nu)}\, x^\nu K_\nu(x),
        \qquad
        S(k) = \frac{2^d \pi^{d/2}\, \Gamma(\nu + d/2)\, (2\nu)^\nu}
                    {\Gamma(\nu)\, \ell^{2\nu}}
               \left(\frac{2\nu}{\ell^2} + k^2\right)^{-(\nu + d/2)},

    .. math::

        A = S(0) = \left(\frac{2\pi}{\nu}\right)^{d/2}
            \frac{\Gamma(\nu + d/2)}{\Gamma(\nu)}\, \ell^d.

    :math:`\nu = 1/2` is :class:`Exponential` with the same ``length``;
    :math:`\nu \to \infty` tends to :math:`e^{-r^2 / (2\ell^2)}`, that is
    :class:`Gaussian` with length :math:`\sqrt{2}\,\ell`.

    References
    ----------
    .. [1] C. E. Rasmussen and C. K. I. Williams, *Gaussian Processes for
       Machine Learning*, MIT Press, 2006, section 4.2.1.
    .. [2] M. L. Stein, *Interpolation of Spatial Data*, Springer, 1999.

    Examples
    --------
    >>> round(float(Matern(2.0, 0.5).correlation(2.0)), 12)  # exp(-1)
    0.367879441171
    """

    nu: float
    name: ClassVar[str] = "matern"
    bounds: ClassVar[Mapping[str, tuple[float, float]]] = {
        "length": (0.0, math.inf),
        "nu": (0.0, 20.0),
    }

    def _unit_correlation(self, u):
        nu = self.nu
        x = math.sqrt(2.0 * nu) * np.asarray(u, dtype=np.float64)
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            # log form: kve(nu, x) = K_nu(x) e^x stays finite where K_nu alone underflows
            value = np.exp((1.0 - nu) * math.log(2.0) - gammaln(nu) + nu * np.log(x) - x) * kve(
                nu, x
            )
        # at x = 0 (and where K_nu overflows, x so small that 1 - rho is below round-off)
        return np.where(np.isfinite(value), np.minimum(value, 1.0), 1.0)

    def _unit_integral_range(self, ndim):
        nu = self.nu
        return (2.0 * math.pi / nu) ** (ndim / 2) * math.exp(
            math.lgamma(nu + ndim / 2) - math.lgamma(nu)
        )

    def _unit_spectral_density(self, kappa, ndim):
        exponent = self.nu + ndim / 2
        return self._unit_integral_range(ndim) * (1.0 + kappa**2 / (2.0 * self.nu)) ** -exponent


@dataclass(frozen=True, repr=False)
class PowerLaw(CovarianceModel):
    r"""Long-range Cauchy correlation :math:`\rho(r) = (1 + (r/\ell)^2)^{-\beta/2}`.

    Parameters
    ----------
    length : float or sequence of float
        Length :math:`\ell > 0` (or per-axis lengths) below which the
        correlation is flat, in physical length units.
    beta : float
        Tail exponent :math:`\beta > 0`: :math:`\rho(r) \sim (r/\ell)^{-\beta}`
        for :math:`r \gg \ell`. Any :math:`\beta \le d` is allowed and gives
        a long-range field with no finite integral range.
    rotation : optional, keyword-only
        Principal axes of an anisotropic model (:class:`CovarianceModel`).

    Notes
    -----
    The Cauchy model, the generalized Cauchy family
    :math:`(1 + (r/\ell)^\alpha)^{-\beta/\alpha}` at :math:`\alpha = 2`, is
    positive definite in every dimension for every :math:`\beta > 0` [1]_.
    With :math:`K_\mu` the modified Bessel function of the second kind, its
    spectral density is the Bessel-potential kernel [2]_

    .. math::

        S(k) = (2\pi)^{d/2} \frac{2^{1 - \beta/2}}{\Gamma(\beta/2)}\, \ell^d
               (k\ell)^{(\beta - d)/2} K_{(d - \beta)/2}(k\ell),

    which diverges like :math:`k^{\beta - d}` at the origin when
    :math:`\beta < d`. The integral range is

    .. math::

        A = \pi^{d/2} \frac{\Gamma((\beta - d)/2)}{\Gamma(\beta/2)}\, \ell^d
        \quad (\beta > d), \qquad A = \infty \quad (\beta \le d),

    and for :math:`\beta < d` the variance of a window average decays like
    :math:`L^{-\beta}` instead of :math:`L^{-d}`.

    References
    ----------
    .. [1] T. Gneiting and M. Schlather, "Stochastic models that separate
       fractal dimension and the Hurst effect", SIAM Rev. 46(2), 269-282,
       2004.
    .. [2] E. M. Stein, *Singular Integrals and Differentiability Properties
       of Functions*, Princeton University Press, 1970, chapter V.

    Examples
    --------
    >>> PowerLaw(1.0, 1.5).integral_range(2)
    inf
    >>> round(float(PowerLaw(1.0, 2.0).correlation(1.0)), 12)
    0.5
    """

    beta: float
    name: ClassVar[str] = "power_law"
    bounds: ClassVar[Mapping[str, tuple[float, float]]] = {
        "length": (0.0, math.inf),
        "beta": (0.0, math.inf),
    }

    def _unit_correlation(self, u):
        return (1.0 + u**2) ** (-self.beta / 2.0)

    def _unit_integral_range(self, ndim):
        if self.beta <= ndim:
            return math.inf
        return math.pi ** (ndim / 2) * math.exp(
            math.lgamma((self.beta - ndim) / 2) - math.lgamma(self.beta / 2)
        )

    def _unit_spectral_density(self, kappa, ndim):
        beta = self.beta
        order = (ndim - beta) / 2
        with np.errstate(divide="ignore", invalid="ignore"):
            value = np.exp(
                (ndim / 2) * math.log(2.0 * math.pi)
                + (1.0 - beta / 2) * math.log(2.0)
                - math.lgamma(beta / 2)
                - order * np.log(kappa)
                - kappa
            ) * kve(order, kappa)
        return np.where(kappa > 0.0, value, self._unit_integral_range(ndim))


_MODELS: dict[str, type[CovarianceModel]] = {
    model.name: model for model in (Exponential, Gaussian, Matern, PowerLaw)
}


def covariance_model(name: str, **params: object) -> CovarianceModel:
    """Build a covariance model from its name and parameters.

    Parameters
    ----------
    name : str
        Lower-case model name: ``"exponential"``, ``"gaussian"``,
        ``"matern"`` or ``"power_law"``.
    **params
        The model's parameters, e.g. ``length=2.0`` or ``length=2.0,
        nu=1.5``; ``length`` may be per-axis and ``rotation`` given
        (:class:`CovarianceModel`). ``correlation_length`` (the name study
        specs use) is ``length`` by another name; give one of them.

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
    >>> covariance_model("matern", length=1.0, nu=2.5)
    Matern(length=1.0, nu=2.5)
    >>> covariance_model("gaussian", correlation_length=3.0)
    Gaussian(length=3.0)
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a str, got {name!r}")
    if name not in _MODELS:
        raise ValueError(
            f"name must be one of the known covariance models ({', '.join(sorted(_MODELS))}), "
            f"got {name!r}"
        )
    if "correlation_length" in params:
        if "length" in params:
            raise ValueError(
                "give exactly one of length and correlation_length (the same parameter), got "
                f"length={params['length']!r}, correlation_length={params['correlation_length']!r}"
            )
        params = dict(params)
        params["length"] = params.pop("correlation_length")
    return _MODELS[name](**params)
