"""Deterministic test media with exactly known effective properties."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from generators._typing import RngLike, ShapeLike
from generators._validation import as_generator, as_integer, as_real_in, as_shape, exactly_one


def laminate(
    shape: ShapeLike, volume_fraction: float, *, axis: int = 0, n_layers: int = 1
) -> NDArray[np.int8]:
    r"""Periodic two-phase laminate of layers normal to ``axis``.

    Parameters
    ----------
    shape : sequence of int
        Number of voxels (N0,), (N0, N1) or (N0, N1, N2); each >= 2.
    volume_fraction : float
        Target fraction :math:`\varphi \in (0, 1)` of phase 1.
    axis : int, default 0
        Axis normal to the layers (negative values count from the end): the
        phase changes along it and is constant across it.
    n_layers : int, default 1
        Number of periods along ``axis``, >= 1; ``shape[axis]`` must be a
        multiple of it.

    Returns
    -------
    ndarray of shape ``shape``, int8
        Phase labels: along ``axis`` each period of
        :math:`P = N_\text{axis} / n_\text{layers}` voxels holds
        :math:`m = \operatorname{rint}(\varphi P)` voxel layers of phase 1
        followed by :math:`P - m` of phase 0, the first period starting at
        index 0.

    Notes
    -----
    The phase-1 fraction is :math:`m / P`, equal to :math:`\varphi` exactly
    when :math:`\varphi P` is an integer, and within :math:`1 / (2P)` of it
    otherwise (``numpy.rint``: nearest integer, ties to even); ``m`` must be
    between 1 and P - 1. The medium is periodic along every axis. Its
    effective conductivity is the arithmetic mean of the phases along the
    layers and the harmonic mean across them [1]_.

    References
    ----------
    .. [1] O. Wiener, "Die Theorie des Mischkörpers für das Feld der
       stationären Strömung", Abh. Math.-Phys. Kl. Königl. Sächs. Ges. Wiss.
       32, 509-604, 1912.

    Examples
    --------
    >>> laminate((8,), 0.25, n_layers=2)
    array([1, 0, 0, 0, 1, 0, 0, 0], dtype=int8)
    """
    shape = as_shape(shape)
    volume_fraction = as_real_in(volume_fraction, "volume_fraction", 0.0, 1.0)
    ndim = len(shape)
    axis = as_integer(axis, "axis", minimum=-ndim)
    if axis >= ndim:
        raise ValueError(f"axis must be in [{-ndim}, {ndim - 1}] for shape {shape}, got {axis}")
    axis %= ndim
    n_layers = as_integer(n_layers, "n_layers", minimum=1)
    if shape[axis] % n_layers:
        raise ValueError(
            f"shape[{axis}] must be a multiple of n_layers = {n_layers}, got {shape[axis]}"
        )
    period = shape[axis] // n_layers
    thickness = int(np.rint(volume_fraction * period))
    if not 0 < thickness < period:
        raise ValueError(
            f"volume_fraction * period must round to 1..{period - 1} voxel layers for a "
            f"period of {period} voxels, got volume_fraction {volume_fraction!r}"
        )

    profile = np.arange(shape[axis]) % period < thickness
    along_axis = [1] * ndim
    along_axis[axis] = shape[axis]
    return np.broadcast_to(profile.reshape(along_axis), shape).astype(np.int8)


def checkerboard(shape: ShapeLike, cell: int) -> NDArray[np.int8]:
    r"""Periodic checkerboard of square (2-D) or cubic (3-D) cells.

    Parameters
    ----------
    shape : sequence of int
        Number of voxels (N0,), (N0, N1) or (N0, N1, N2); each a multiple of
        ``2 * cell`` so that the pattern is periodic.
    cell : int
        Cell edge in voxels, >= 1.

    Returns
    -------
    ndarray of shape ``shape``, int8
        Phase :math:`\left(\sum_a \lfloor i_a / c \rfloor\right) \bmod 2` at
        voxel index :math:`(i_a)`: phase 0 in the cell at the origin, phase
        fraction exactly 1/2.

    Notes
    -----
    In 2-D the checkerboard is symmetric under phase interchange combined
    with a shift by one cell, so its effective conductivity is
    :math:`\sqrt{\sigma_0 \sigma_1}` (Dykhne) [1]_.

    References
    ----------
    .. [1] A. M. Dykhne, "Conductivity of a two-dimensional two-phase
       system", Sov. Phys. JETP 32(1), 63-65, 1971.

    Examples
    --------
    >>> checkerboard((4, 4), 1)
    array([[0, 1, 0, 1],
           [1, 0, 1, 0],
           [0, 1, 0, 1],
           [1, 0, 1, 0]], dtype=int8)
    """
    shape = as_shape(shape)
    cell = as_integer(cell, "cell", minimum=1)
    if any(n % (2 * cell) for n in shape):
        raise ValueError(
            f"shape entries must be multiples of 2 * cell = {2 * cell} for a periodic "
            f"checkerboard, got shape {shape}"
        )
    cell_sum = sum(index // cell for index in np.indices(shape, sparse=True))
    return (cell_sum % 2).astype(np.int8)


def random_checkerboard(
    shape: ShapeLike,
    cell: int | None = None,
    probability: float | None = None,
    *,
    cell_size: int | None = None,
    volume_fraction: float | None = None,
    rng: RngLike = None,
) -> NDArray[np.int8]:
    r"""Periodic random checkerboard: each cell phase 1 independently.

    Parameters
    ----------
    shape : sequence of int
        Number of voxels (N0,), (N0, N1) or (N0, N1, N2); each a multiple of
        ``cell``.
    cell : int, optional
        Cell edge in voxels, >= 1; exactly one of ``cell`` and ``cell_size``.
    probability : float, optional
        Probability :math:`p \in (0, 1)` that a cell is phase 1 (0.5 when
        neither it nor ``volume_fraction`` is given).
    cell_size : int, optional
        The cell edge in voxels under the name study specs use.
    volume_fraction : float, optional
        The expected phase-1 fraction, which is :math:`p` (the name study
        specs use); at most one of ``probability`` and ``volume_fraction``.
    rng : int, numpy.random.Generator, numpy.random.SeedSequence or None
        Source of randomness (one uniform deviate per cell, in C order).

    Returns
    -------
    ndarray of shape ``shape``, int8
        Phase labels, constant on each cell of ``cell``:sup:`d` voxels.

    Notes
    -----
    The expected phase-1 fraction is p. Averaged over the position in the
    box, the two-point probability at a lag of :math:`h` voxels is
    :math:`S_2(h) = p^2 + p(1 - p) \prod_a \max(0, 1 - \lvert h_a \rvert / c)`,
    and the integral range of the indicator is one cell, :math:`c^d`
    voxels. At :math:`p = 1/2` the medium is symmetric under phase
    interchange in law, so in 2-D its effective conductivity is
    :math:`\sqrt{\sigma_0 \sigma_1}` (Dykhne) [1]_.

    References
    ----------
    .. [1] A. M. Dykhne, "Conductivity of a two-dimensional two-phase
       system", Sov. Phys. JETP 32(1), 63-65, 1971.

    Examples
    --------
    >>> phases = random_checkerboard((8, 8), 2, rng=0)
    >>> phases.shape, phases.dtype
    ((8, 8), dtype('int8'))
    """
    shape = as_shape(shape)
    name = exactly_one(cell=cell, cell_size=cell_size)
    cell = as_integer(cell if name == "cell" else cell_size, name, minimum=1)
    if any(n % cell for n in shape):
        raise ValueError(f"shape entries must be multiples of {name} = {cell}, got shape {shape}")
    if probability is None and volume_fraction is None:
        probability = 0.5
    elif exactly_one(probability=probability, volume_fraction=volume_fraction) != "probability":
        probability = volume_fraction
    name = "probability" if volume_fraction is None else "volume_fraction"
    probability = as_real_in(probability, name, 0.0, 1.0)
    rng = as_generator(rng)
    cells = (rng.random(tuple(n // cell for n in shape)) < probability).astype(np.int8)
    for axis in range(len(shape)):
        cells = np.repeat(cells, cell, axis=axis)
    return cells
