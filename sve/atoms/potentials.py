r"""Pair potentials :math:`\varphi(r)` with their first and second derivatives.

Each potential is a small frozen dataclass with three vectorized methods,
``phi(r)``, ``dphi(r)`` and ``d2phi(r)`` (NumPy arrays in, arrays of the same
shape out), the distance ``r_min`` of its minimum and a ``cutoff`` beyond which
it is zero (``inf`` for none). A user's potential is a :class:`PairPotential`
built from three callables. Units are the user's: energies in the units of
the depth (``epsilon``, ``depth``, ``stiffness`` times a length squared),
lengths in those of ``sigma`` or ``r0``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from sve._validation import check_positive, check_real

__all__ = ["Harmonic", "LennardJones", "Morse", "PairPotential", "get_potential"]


def _distances(r: object) -> np.ndarray:
    array = np.asarray(r, dtype=np.float64)
    if not np.all(array > 0):
        raise ValueError(f"r must be > 0 (a distance between two atoms), got {r!r}")
    return array


def _cutoff(value: float | None) -> float:
    return math.inf if value is None else check_positive(value, "cutoff")


class _Truncated:
    r"""Mixin: the value and the derivatives are zero beyond ``cutoff`` (plain truncation)."""

    cutoff: float

    def phi(self, r):
        r"""Pair energy :math:`\varphi(r)` (energy units), zero beyond the cutoff."""
        r = _distances(r)
        return np.where(r <= self.cutoff, self._phi(r), 0.0)

    def dphi(self, r):
        r"""First derivative :math:`\varphi'(r)` (energy per length), zero beyond the cutoff."""
        r = _distances(r)
        return np.where(r <= self.cutoff, self._dphi(r), 0.0)

    def d2phi(self, r):
        r"""Second derivative :math:`\varphi''(r)` (energy / length²), zero past the cutoff."""
        r = _distances(r)
        return np.where(r <= self.cutoff, self._d2phi(r), 0.0)


@dataclass(frozen=True)
class LennardJones(_Truncated):
    r"""Lennard-Jones 12-6 potential :math:`4\varepsilon[(\sigma/r)^{12} - (\sigma/r)^6]`.

    Parameters
    ----------
    epsilon : float, default 1.0
        Depth of the well (energy units), > 0.
    sigma : float, default 1.0
        Distance where :math:`\varphi = 0` (length units), > 0.
    cutoff : float or None
        Distance beyond which the potential is zero (plain truncation, not
        shifted), > 0; None for none.

    Notes
    -----
    The minimum is at :math:`r_{min} = 2^{1/6}\sigma`, the inflection
    (:math:`\varphi'' = 0`) at :math:`(26/7)^{1/6}\sigma` [1]_.

    References
    ----------
    .. [1] J. E. Lennard-Jones (1924), Proc. R. Soc. Lond. A 106, 463-477.

    Examples
    --------
    >>> lj = LennardJones()
    >>> float(lj.phi(lj.r_min)), abs(float(lj.dphi(lj.r_min))) < 1e-14
    (-1.0, True)
    """

    epsilon: float = 1.0
    sigma: float = 1.0
    cutoff: float | None = None

    def __post_init__(self):
        object.__setattr__(self, "epsilon", check_positive(self.epsilon, "epsilon"))
        object.__setattr__(self, "sigma", check_positive(self.sigma, "sigma"))
        object.__setattr__(self, "cutoff", _cutoff(self.cutoff))

    @property
    def r_min(self) -> float:
        r"""Distance of the minimum, :math:`2^{1/6}\sigma`."""
        return 2.0 ** (1.0 / 6.0) * self.sigma

    def _phi(self, r):
        s6 = (self.sigma / r) ** 6
        return 4.0 * self.epsilon * (s6 * s6 - s6)

    def _dphi(self, r):
        s6 = (self.sigma / r) ** 6
        return 4.0 * self.epsilon * (-12.0 * s6 * s6 + 6.0 * s6) / r

    def _d2phi(self, r):
        s6 = (self.sigma / r) ** 6
        return 4.0 * self.epsilon * (156.0 * s6 * s6 - 42.0 * s6) / r**2


@dataclass(frozen=True)
class Morse(_Truncated):
    r"""Morse potential :math:`D[(1 - e^{-\alpha(r - r_0)})^2 - 1]`.

    Parameters
    ----------
    depth : float, default 1.0
        Depth D of the well (energy units), > 0.
    alpha : float, default 6.0
        Inverse width :math:`\alpha` (1 / length units), > 0.
    r0 : float, default 1.0
        Distance of the minimum (length units), > 0.
    cutoff : float or None
        Distance beyond which the potential is zero (plain truncation), > 0;
        None for none.

    Notes
    -----
    The inflection (:math:`\varphi'' = 0`) is at :math:`r_0 + \ln 2/\alpha` [1]_.

    References
    ----------
    .. [1] P. M. Morse (1929), Phys. Rev. 34, 57-64.

    Examples
    --------
    >>> m = Morse(depth=2.0, alpha=3.0, r0=1.5)
    >>> float(m.phi(1.5)), abs(float(m.d2phi(1.5 + np.log(2.0) / 3.0))) < 1e-14
    (-2.0, True)
    """

    depth: float = 1.0
    alpha: float = 6.0
    r0: float = 1.0
    cutoff: float | None = None

    def __post_init__(self):
        object.__setattr__(self, "depth", check_positive(self.depth, "depth"))
        object.__setattr__(self, "alpha", check_positive(self.alpha, "alpha"))
        object.__setattr__(self, "r0", check_positive(self.r0, "r0"))
        object.__setattr__(self, "cutoff", _cutoff(self.cutoff))

    @property
    def r_min(self) -> float:
        r"""Distance of the minimum, :math:`r_0`."""
        return self.r0

    def _phi(self, r):
        e = np.exp(-self.alpha * (r - self.r0))
        return self.depth * ((1.0 - e) ** 2 - 1.0)

    def _dphi(self, r):
        e = np.exp(-self.alpha * (r - self.r0))
        return 2.0 * self.depth * self.alpha * e * (1.0 - e)

    def _d2phi(self, r):
        e = np.exp(-self.alpha * (r - self.r0))
        return 2.0 * self.depth * self.alpha**2 * e * (2.0 * e - 1.0)


@dataclass(frozen=True)
class Harmonic(_Truncated):
    r"""Harmonic spring :math:`\tfrac12 k (r - r_0)^2` (never softens).

    Parameters
    ----------
    stiffness : float, default 1.0
        Spring constant k (energy / length²), > 0.
    r0 : float, default 1.0
        Rest length (length units), > 0.
    cutoff : float or None
        Distance beyond which the spring is absent, > 0; None for none.

    Examples
    --------
    >>> float(Harmonic(stiffness=2.0).phi(1.5))
    0.25
    """

    stiffness: float = 1.0
    r0: float = 1.0
    cutoff: float | None = None

    def __post_init__(self):
        object.__setattr__(self, "stiffness", check_positive(self.stiffness, "stiffness"))
        object.__setattr__(self, "r0", check_positive(self.r0, "r0"))
        object.__setattr__(self, "cutoff", _cutoff(self.cutoff))

    @property
    def r_min(self) -> float:
        r"""Rest length :math:`r_0`."""
        return self.r0

    def _phi(self, r):
        return 0.5 * self.stiffness * (r - self.r0) ** 2

    def _dphi(self, r):
        return self.stiffness * (r - self.r0)

    def _d2phi(self, r):
        return np.full_like(r, self.stiffness)


@dataclass(frozen=True)
class PairPotential(_Truncated):
    r"""A user's pair potential from three callables: the energy and two derivatives.

    Parameters
    ----------
    phi, dphi, d2phi : callable
        Vectorized functions of the distance (ndarray in, ndarray of the same
        shape out): the energy and its first two derivatives. They are
        trusted, not differentiated: :func:`check_derivatives` compares them
        with finite differences.
    r_min : float
        Distance of the minimum of :math:`\varphi` (or a guess close to it,
        inside its well): the start of every root search, > 0.
    cutoff : float or None
        Distance beyond which the potential is zero, > 0; None for none.

    Examples
    --------
    >>> soft = PairPotential(
    ...     phi=lambda r: (r - 1.0) ** 2 - (r - 1.0) ** 3,
    ...     dphi=lambda r: 2 * (r - 1.0) - 3 * (r - 1.0) ** 2,
    ...     d2phi=lambda r: 2 - 6 * (r - 1.0),
    ...     r_min=1.0,
    ... )
    >>> round(float(soft.d2phi(4.0 / 3.0)), 12)
    0.0
    """

    phi_function: Callable = field(default=None)
    dphi_function: Callable = field(default=None)
    d2phi_function: Callable = field(default=None)
    r_min: float = 1.0
    cutoff: float | None = None

    def __init__(self, phi, dphi, d2phi, r_min, cutoff=None):
        for name, value in (("phi", phi), ("dphi", dphi), ("d2phi", d2phi)):
            if not callable(value):
                raise TypeError(f"{name} must be callable, got {value!r}")
        object.__setattr__(self, "phi_function", phi)
        object.__setattr__(self, "dphi_function", dphi)
        object.__setattr__(self, "d2phi_function", d2phi)
        object.__setattr__(self, "r_min", check_positive(r_min, "r_min"))
        object.__setattr__(self, "cutoff", _cutoff(cutoff))

    def _call(self, function, r):
        value = np.asarray(function(r), dtype=np.float64)
        return np.broadcast_to(value, np.shape(r)).copy()

    def _phi(self, r):
        return self._call(self.phi_function, r)

    def _dphi(self, r):
        return self._call(self.dphi_function, r)

    def _d2phi(self, r):
        return self._call(self.d2phi_function, r)

    def check_derivatives(self, r: object, *, rtol: float = 1e-5) -> None:
        r"""Raise ValueError if ``dphi``/``d2phi`` disagree with central differences at `r`.

        Parameters
        ----------
        r : array_like
            Distances (length units, > 0, inside the cutoff) where to compare.
        rtol : float, default 1e-5
            Tolerance relative to the largest magnitude of the derivative;
            a central difference of step :math:`h = 10^{-4} r` errs by
            :math:`O(h^2)`, about 1e-8 relative for smooth potentials.
        """
        r = _distances(r)
        rtol = check_real(rtol, "rtol", 0.0, 1.0)
        h = 1e-4 * r
        for name, low, high, exact in (
            ("dphi", self._phi(r - h), self._phi(r + h), self._dphi(r)),
            ("d2phi", self._dphi(r - h), self._dphi(r + h), self._d2phi(r)),
        ):
            numeric = (high - low) / (2 * h)
            scale = max(np.max(np.abs(exact)), np.max(np.abs(numeric)), np.finfo(float).tiny)
            error = np.max(np.abs(numeric - exact)) / scale
            if not error <= rtol:
                raise ValueError(
                    f"{name} disagrees with a central difference by {error:.3g} (relative), "
                    f"more than rtol={rtol:g}"
                )


#: Names accepted by :func:`get_potential`, with the class each one builds.
POTENTIALS = {
    "lj": LennardJones,
    "lennard-jones": LennardJones,
    "morse": Morse,
    "harmonic": Harmonic,
}


def get_potential(potential: object, **parameters) -> LennardJones | Morse | Harmonic:
    r"""A potential by name (``"lj"``, ``"lennard-jones"``, ``"morse"``, ``"harmonic"``).

    Parameters
    ----------
    potential : str or potential
        A name, or a potential object, returned unchanged (then `parameters`
        must be empty).
    **parameters
        Keyword arguments of the class (e.g. ``epsilon=``, ``sigma=``,
        ``cutoff=``).

    Returns
    -------
    LennardJones, Morse, Harmonic or PairPotential

    Examples
    --------
    >>> get_potential("lj", sigma=2.0).r_min / 2.0 == 2.0 ** (1 / 6)
    True
    """
    if isinstance(potential, str):
        key = potential.lower()
        if key not in POTENTIALS:
            raise ValueError(f"potential must be one of {tuple(POTENTIALS)}, got {potential!r}")
        return POTENTIALS[key](**parameters)
    check_potential(potential)
    if parameters:
        raise TypeError(f"parameters are only taken with a potential's name, got {parameters}")
    return potential


def check_potential(potential: object):
    r"""A potential object (phi, dphi, d2phi, r_min, cutoff), or a name resolved to one."""
    if isinstance(potential, str):
        return get_potential(potential)
    missing = [
        name
        for name in ("phi", "dphi", "d2phi", "r_min", "cutoff")
        if not hasattr(potential, name)
    ]
    if missing:
        raise TypeError(
            f"potential must be a name {tuple(POTENTIALS)} or a pair potential with phi, dphi, "
            f"d2phi, r_min and cutoff, got {potential!r}"
        )
    return potential
