r"""Connected clusters of one phase and percolation per direction, periodic-aware."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray
from skimage import measure

from sve._validation import check_bool, check_phases, indicator, is_integer


def _check(phases: object, phase: object, periodic: object, connectivity: object):
    image = check_phases(phases, ndims=(1, 2, 3), allow_bool=True, nonnegative=False)
    inside = indicator(image, phase)
    periodic = check_bool(periodic, "periodic")
    if not is_integer(connectivity):
        raise TypeError(f"connectivity must be an integer, got {connectivity!r}")
    if not 1 <= connectivity <= image.ndim:
        raise ValueError(
            f"connectivity must be in [1, {image.ndim}] for a {image.ndim}-D image, "
            f"got {connectivity!r}"
        )
    return inside, periodic, int(connectivity)


class Clusters(NamedTuple):
    """Result of :func:`connected_components` (unpacks as ``labels, count``)."""

    labels: NDArray[np.int64]
    """0 outside the phase, clusters numbered 1 ... count; the shape of the image."""
    count: int
    """Number of clusters."""


def connected_components(
    phases: ArrayLike, phase: int = 1, *, periodic: bool = True, connectivity: int = 1
) -> Clusters:
    r"""Label the connected clusters of one phase.

    Parameters
    ----------
    phases : array_like of int or bool, 1-D to 3-D
        Phase labels of one image.
    phase : int, default 1
        The phase whose clusters are labelled.
    periodic : bool, default True
        Join clusters across opposite faces (one period of a periodic medium).
    connectivity : int, default 1
        Neighbours: 1 shares a face, up to ``ndim`` shares a corner
        (``skimage.measure.label`` convention).

    Returns
    -------
    result : Clusters
        A named tuple; unpacks as ``labels, count``. Fields:

        labels : ndarray of the shape of ``phases``, int64
            0 outside the phase, clusters numbered 1 ... count.
        count : int
            Number of clusters.

    Notes
    -----
    See :func:`percolates` for the periodic algorithm.

    Examples
    --------
    >>> connected_components([1, 0, 1], periodic=True)
    Clusters(labels=array([1, 0, 1]), count=1)
    >>> labels, count = connected_components([1, 0, 1], periodic=False)
    >>> labels, count
    (array([1, 0, 2]), 2)
    """
    inside, periodic, connectivity = _check(phases, phase, periodic, connectivity)
    if not periodic:
        labels, n = measure.label(inside, connectivity=connectivity, return_num=True)
        return Clusters(labels.astype(np.int64), int(n))
    central, root, _ = _periodic_clusters(inside, connectivity)
    clusters = root[central]
    unique, labels = np.unique(clusters, return_inverse=True)
    labels = labels.reshape(inside.shape) + (unique[0] != 0)  # 0 stays outside
    return Clusters(np.where(inside, labels, 0).astype(np.int64), int(np.count_nonzero(unique)))


def percolates(
    phases: ArrayLike, phase: int = 1, *, periodic: bool = True, connectivity: int = 1
) -> NDArray[np.bool_]:
    r"""Whether one phase percolates along each axis.

    Parameters
    ----------
    phases, phase, periodic, connectivity
        As for :func:`connected_components`.

    Returns
    -------
    ndarray of shape (ndim,), bool
        Entry a is True when a cluster of the phase crosses the image along
        axis a.

    Notes
    -----
    In a window (``periodic=False``) a cluster percolates along axis a when it
    touches both faces normal to a. In a periodic image it percolates when it
    joins a voxel to its own periodic image shifted by one period along a:
    the cluster is infinite in the tiled medium. A cluster that touches both
    faces without connecting across them does not.

    The periodic algorithm pads the image by one voxel on every side with its
    own periodic copies and labels the padded image
    (``skimage.measure.label``). Each padded voxel that copies the original
    voxel x shifted by s periods glues its cluster to the cluster of x with
    the relative translation s. A union-find over these gluings keeps the
    translation of every cluster relative to its root; a gluing that closes
    a loop with a net translation w ≠ 0 proves a wrapping cluster along the
    axes where w is non-zero [1]_.

    References
    ----------
    .. [1] M. E. J. Newman and R. M. Ziff, "Fast Monte Carlo algorithm for site
       or bond percolation", Phys. Rev. E 64, 016706, 2001 (wrapping
       detection by displacement vectors).

    Examples
    --------
    >>> import numpy as np
    >>> image = np.zeros((4, 4), dtype=int)
    >>> image[:, 1] = 1
    >>> percolates(image)
    array([ True, False])
    """
    inside, periodic, connectivity = _check(phases, phase, periodic, connectivity)
    if periodic:
        return _periodic_clusters(inside, connectivity)[2]
    labels = measure.label(inside, connectivity=connectivity)
    out = np.zeros(inside.ndim, dtype=bool)
    for axis in range(inside.ndim):
        low = np.unique(np.take(labels, 0, axis=axis))
        high = np.unique(np.take(labels, -1, axis=axis))
        out[axis] = bool(np.intersect1d(low[low > 0], high[high > 0]).size)
    return out


def _periodic_clusters(
    inside: np.ndarray, connectivity: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cluster root of every padded label, label of every central voxel, wrapping axes."""
    ndim, shape = inside.ndim, np.array(inside.shape)
    padded = measure.label(np.pad(inside, 1, mode="wrap"), connectivity=connectivity)
    centre = tuple(slice(1, -1) for _ in range(ndim))
    central = padded[centre]
    ghost = np.ones(padded.shape, dtype=bool)
    ghost[centre] = False
    ghost &= padded > 0
    position = np.array(np.nonzero(ghost)) - 1  # padded coordinates minus the pad
    original = position % shape[:, None]
    shift = (position - original) // shape[:, None]
    rows = np.column_stack(
        (central[tuple(original)], padded[ghost], shift.T)
    )  # ghost cluster = central cluster translated by -shift periods
    rows = np.unique(rows, axis=0)

    n_labels = int(padded.max()) + 1
    parent = np.arange(n_labels)
    offset = np.zeros((n_labels, ndim), dtype=np.int64)  # translation relative to parent
    wraps = np.zeros(ndim, dtype=bool)

    def find(label: int) -> tuple[int, np.ndarray]:
        """Root of ``label`` and the translation of ``label`` relative to it."""
        path = []
        while parent[label] != label:
            path.append(label)
            label = parent[label]
        total = np.zeros(ndim, dtype=np.int64)
        for node in reversed(path):  # path compression, translations rebased on the root
            total = total + offset[node]
            parent[node], offset[node] = label, total
        return label, (offset[path[0]].copy() if path else total)

    for row in rows:
        a, b, s = int(row[0]), int(row[1]), row[2:]
        root_a, t_a = find(a)
        root_b, t_b = find(b)
        # wanted: translation(b) - translation(a) = -s
        if root_a == root_b:
            wraps |= (t_b - t_a) != -s
        else:
            parent[root_b] = root_a
            offset[root_b] = t_a - s - t_b
    roots = np.array([find(label)[0] for label in range(n_labels)])
    return central, roots, wraps
