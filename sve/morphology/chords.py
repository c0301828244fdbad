r"""Runs of one phase along the grid lines: chord lengths and the lineal path function."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

from sve._validation import (
    check_axis,
    check_bool,
    check_phases,
    check_spacing,
    indicator,
)
from sve.microstructure import labels_and_spacing


def _lines(
    phases: ArrayLike, phase: int, axis: int, spacing: object, periodic: object
) -> tuple[np.ndarray, float, bool]:
    """Check the arguments; return the indicator as (lines, N), the step and ``periodic``."""
    image = check_phases(phases, ndims=(1, 2, 3), allow_bool=True, nonnegative=False)
    axis = check_axis(axis, image.ndim)
    inside = indicator(image, phase)
    step = check_spacing(spacing, image.ndim)[axis]
    periodic = check_bool(periodic, "periodic")
    return np.moveaxis(inside, axis, -1).reshape(-1, image.shape[axis]), step, periodic


def _runs(lines: np.ndarray, periodic: bool) -> tuple[np.ndarray, np.ndarray, int]:
    """Lengths of the runs of True, whether each touches a line end, number of full lines.

    A periodic line joins its first and last runs; a periodic line wholly True
    is returned apart (its run has no ends) and counted in the third value.
    """
    n = lines.shape[1]
    full = lines.all(axis=1) & periodic
    edges = np.diff(np.pad(lines, ((0, 0), (1, 1))).astype(np.int8), axis=1)
    row_start, start = np.nonzero(edges == 1)
    _, stop = np.nonzero(edges == -1)  # same row order: runs alternate start/stop per line
    keep = ~full[row_start]
    row, start, stop = row_start[keep], start[keep], stop[keep]
    lengths = stop - start
    at_edge = (start == 0) | (stop == n)
    if periodic:
        wraps = lines[:, 0] & lines[:, -1] & ~full
        first = (start == 0) & wraps[row]
        last = (stop == n) & wraps[row]
        lengths = lengths.copy()
        lengths[first] += lengths[last]  # one first and one last run per wrapping line
        lengths = lengths[~last]
        at_edge = np.zeros(lengths.size, dtype=bool)
    return lengths, at_edge, int(full.sum())


def chord_lengths(
    phases: ArrayLike,
    phase: int = 1,
    *,
    axis: int = 0,
    spacing: float | tuple[float, ...] | None = None,
    periodic: bool = True,
    include_edges: bool = False,
) -> NDArray[np.float64]:
    r"""Lengths of the chords of one phase along the grid lines of one axis.

    Parameters
    ----------
    phases : array_like of int or bool, 1-D to 3-D
        Phase labels of one image.
    phase : int, default 1
        The phase whose chords are measured.
    axis : int, default 0
        Direction of the lines.
    spacing : float or tuple of float, default 1.0
        Voxel edge length (one, or one per axis), physical length units.
    periodic : bool, default True
        Join the runs across the image boundary (one period of a periodic
        medium). A line wholly inside the phase has no chord and is skipped.
    include_edges : bool, default False
        In a window (``periodic=False``), keep the chords cut by the window
        boundary; they are censored (shorter than the true chords), so the
        default leaves them out.

    Returns
    -------
    ndarray of shape (M,), float64
        One length per chord, :math:`k \Delta_{axis}` for a run of k voxels,
        in physical length units, in no particular order.

    Notes
    -----
    A chord is a maximal segment of a line that lies in the phase [1]_. Its
    length distribution is ``numpy.bincount`` of the run lengths in voxels
    (see :func:`chord_length_distribution`); the mean chord length of phase
    i relates to the specific surface by :math:`\ell_i = 4 \varphi_i / s` in
    3-D for isotropic media (Cauchy).

    References
    ----------
    .. [1] S. Torquato, *Random Heterogeneous Materials*, Springer, 2002,
       section 2.6.

    Examples
    --------
    >>> chord_lengths([1, 1, 0, 1, 0, 0, 1], periodic=True)
    array([3., 1.])
    """
    phases, spacing = labels_and_spacing(phases, spacing)
    lines, step, periodic = _lines(phases, phase, axis, spacing, periodic)
    include_edges = check_bool(include_edges, "include_edges")
    lengths, at_edge, _ = _runs(lines, periodic)
    if not (periodic or include_edges):
        lengths = lengths[~at_edge]
    return lengths * step


class ChordLengthDistribution(NamedTuple):
    """Result of :func:`chord_length_distribution` (unpacks as ``lengths, probability``)."""

    lengths: NDArray[np.float64]
    r"""Chord lengths :math:`k \Delta_{axis}`, k = 1 ... N, physical length units."""
    probability: NDArray[np.float64]
    """Fraction of the chords with each length (sums to 1; all zero without a chord)."""


class LinealPath(NamedTuple):
    """Result of :func:`lineal_path` (unpacks as ``lengths, probability``)."""

    lengths: NDArray[np.float64]
    r"""Segment lengths :math:`z = r \Delta_{axis}`, r = 0 ... N - 1, physical length units."""
    probability: NDArray[np.float64]
    """:math:`L(z)`, the probability that the segment lies wholly in the phase."""


def chord_length_distribution(
    phases: ArrayLike,
    phase: int = 1,
    *,
    axis: int = 0,
    spacing: float | tuple[float, ...] | None = None,
    periodic: bool = True,
) -> ChordLengthDistribution:
    r"""Probability of each chord length, on the grid of lengths :math:`k \Delta`.

    Parameters
    ----------
    phases, phase, axis, spacing, periodic
        As for :func:`chord_lengths` (chords cut by a window are left out).

    Returns
    -------
    result : ChordLengthDistribution
        A named tuple; unpacks as ``lengths, probability``. Fields:

        lengths : ndarray of shape (N,), float64
            :math:`k \Delta_{axis}` for k = 1 ... N (N voxels along ``axis``),
            physical length units.
        probability : ndarray of shape (N,), float64
            Fraction of the chords with each length (sums to 1; all zero when the
            image has no chord).

    Examples
    --------
    >>> result = chord_length_distribution([1, 1, 0, 1, 1, 0, 1, 0], periodic=False)
    >>> result.probability[:3]  # the run cut by the window start is left out
    array([0.5, 0.5, 0. ])
    >>> lengths, p = result  # a named tuple unpacks
    >>> lengths[:3]
    array([1., 2., 3.])
    """
    phases, spacing = labels_and_spacing(phases, spacing)
    lines, step, periodic = _lines(phases, phase, axis, spacing, periodic)
    lengths, at_edge, _ = _runs(lines, periodic)
    n = lines.shape[1]
    counts = np.bincount(lengths[~at_edge], minlength=n + 1)[1:].astype(float)
    total = counts.sum()
    return ChordLengthDistribution(np.arange(1, n + 1) * step, counts / total if total else counts)


def lineal_path(
    phases: ArrayLike,
    phase: int = 1,
    *,
    axis: int = 0,
    spacing: float | tuple[float, ...] | None = None,
    periodic: bool = True,
) -> LinealPath:
    r"""Lineal path function :math:`L(z)` along the grid lines of one axis.

    Parameters
    ----------
    phases, phase, axis, spacing, periodic
        As for :func:`chord_lengths`.

    Returns
    -------
    result : LinealPath
        A named tuple; unpacks as ``lengths, probability``. Fields:

        lengths : ndarray of shape (N,), float64
            Segment lengths :math:`z = r \Delta_{axis}`, r = 0 ... N - 1, in
            physical length units.
        probability : ndarray of shape (N,), float64
            :math:`L(z)`: probability that the segment from a voxel centre to the
            voxel centre r steps further (r + 1 voxels) lies wholly in the phase;
            :math:`L(0) = \varphi`, non-increasing.

    Notes
    -----
    From the runs: a run of :math:`\ell` voxels holds :math:`\max(\ell - r, 0)`
    such segments, so with :math:`c_\ell` runs of each length

    .. math::

        L(r) = \frac{\sum_\ell c_\ell \max(\ell - r, 0)}{n_{\mathrm{lines}}\, M_r},

    :math:`M_r = N` for a periodic image (a line wholly in the phase adds N)
    and :math:`M_r = N - r` segment positions in a window (runs cut by the
    window count: the segments inside them are genuine) [1]_.

    References
    ----------
    .. [1] B. Lu and S. Torquato, "Lineal-path function for random heterogeneous
       materials", Phys. Rev. A 45, 922-929, 1992.

    Examples
    --------
    >>> lineal_path([1, 1, 1, 0]).probability
    array([0.75, 0.5 , 0.25, 0.  ])
    """
    phases, spacing = labels_and_spacing(phases, spacing)
    lines, step, periodic = _lines(phases, phase, axis, spacing, periodic)
    n_lines, n = lines.shape
    lengths, _, full = _runs(lines, periodic)
    counts = np.bincount(lengths, minlength=n + 1).astype(float)
    # S(r) = sum_l c_l max(l - r, 0): reverse cumulative sums of c_l and l c_l
    ell = np.arange(n + 1)
    above_count = np.cumsum(counts[::-1])[::-1]  # sum over l >= r
    above_weight = np.cumsum((ell * counts)[::-1])[::-1]
    r = np.arange(n)
    segments = above_weight[r] - r * above_count[r] + full * n
    positions = n_lines * (n if periodic else n - r)
    return LinealPath(r * step, segments / positions)
