"""Numba kernels of the cluster analysis (private).

Grids are 3-D here; a 2-D image is passed as ``(N0, N1, 1)`` with the third
axis bounded, so no neighbour is ever found along it.
"""

import numpy as np
import scipy.ndimage
from numba import njit


@njit(cache=True, nogil=True)
def _find(parent, offset, n, out):
    """Return the root of `n`; write ``position(n) - position(root)`` to `out`.

    Positions are unwrapped lattice coordinates. Compresses the path.
    """
    out[:] = 0
    root = n
    while parent[root] != root:
        out += offset[root]
        root = parent[root]
    current = out.copy()
    node = n
    while parent[node] != node:
        step = offset[node].copy()
        following = parent[node]
        parent[node] = root
        offset[node] = current
        current = current - step
        node = following
    return root


def label_clusters(conducting, periodic, steps):
    """Label the clusters of conducting voxels and find which wrap around.

    Parameters
    ----------
    conducting : (N0, N1, N2) bool
    periodic : (3,) bool, whether each axis wraps.
    steps : (m, 3) int64, the neighbour steps (half of a symmetric set).

    Returns
    -------
    labels : (N0, N1, N2) int32 (int64 beyond 2**31 - 1 pieces), cluster index, -1 for
        non-conducting voxels: ``scipy.ndimage.label``'s output relabelled in place (4
        bytes per voxel, no other array of the image).
    wraps : (n_clusters, 3) bool, whether a cluster reaches itself by a
        nonzero lattice translation along each axis (periodic axes only).
    low, high : (n_clusters, 3) bool, whether a cluster holds a voxel at
        index 0 / N - 1 along each axis.

    Notes
    -----
    ``scipy.ndimage.label`` finds the clusters of the bounded box (numbered
    in raster order of their first voxel); ``join_periodic`` then joins them
    across the periodic faces by union-find with offsets on the clusters:
    every cluster keeps its lattice translation (in periods) from its root,
    and joining two pieces of one cluster whose translations disagree closes
    a loop around the torus (Hoshen-Kopelman with the periodic extension of
    Newman & Ziff 2001). At 128^3 with face connectivity this takes 0.03 s
    against 0.9 s for the union-find over every voxel it replaces (measured
    here, same labels).
    """
    structure = np.zeros((3, 3, 3), np.bool_)
    structure[1, 1, 1] = True
    for step in steps:
        structure[tuple(1 + step)] = True
        structure[tuple(1 - step)] = True
    pieces, count = scipy.ndimage.label(conducting, structure=structure)
    compact, wraps = join_periodic(pieces, count, periodic, steps)
    labels = _relabel(pieces, compact)  # compact[0] = -1: the non-conducting voxels
    low = np.zeros((wraps.shape[0], 3), np.bool_)
    high = np.zeros((wraps.shape[0], 3), np.bool_)
    for axis in range(3):
        for end, out in ((0, low), (-1, high)):
            face = np.unique(np.take(labels, end, axis=axis))
            out[face[face >= 0], axis] = True
    return labels, wraps, low, high


@njit(cache=True, nogil=True)
def join_periodic(pieces, count, periodic, steps):
    """Join the clusters of a bounded box across its periodic faces.

    ``pieces`` (N0, N1, N2) int32, clusters of the box numbered 1..count
    (0: not conducting); ``periodic`` and ``steps`` as in ``label_clusters``.
    Returns ``compact`` (count + 1,) int64, the joined cluster of every piece
    (-1 for piece 0), numbered in the order of their first piece, and
    ``wraps`` (n_clusters, 3) bool.
    """
    n0, n1, n2 = pieces.shape
    shape = np.array([n0, n1, n2])
    parent = np.arange(count + 1)
    weight = np.ones(count + 1, np.int64)
    offset = np.zeros((count + 1, 3), np.int64)
    wrap = np.zeros((count + 1, 3), np.bool_)
    a = np.zeros(3, np.int64)
    b = np.zeros(3, np.int64)
    target = np.zeros(3, np.int64)
    shift = np.zeros(3, np.int64)
    for i in range(n0):
        for j in range(n1):
            for l in range(n2):
                e = pieces[i, j, l]
                if e == 0:
                    continue
                index = (i, j, l)
                boundary = False
                for ax in range(3):
                    if periodic[ax] and (index[ax] == 0 or index[ax] == shape[ax] - 1):
                        boundary = True
                if not boundary:
                    continue
                for s in range(steps.shape[0]):
                    inside = True  # the neighbour exists (bounded axes: no wrap)
                    crosses = False  # and lies across a periodic face
                    for ax in range(3):
                        target[ax] = index[ax] + steps[s, ax]
                        shift[ax] = 0
                        if target[ax] < 0 or target[ax] >= shape[ax]:
                            inside = inside and periodic[ax]
                            shift[ax] = 1 if target[ax] >= shape[ax] else -1
                            target[ax] -= shift[ax] * shape[ax]
                            crosses = True
                    if not (inside and crosses):
                        continue
                    f = pieces[target[0], target[1], target[2]]
                    if f == 0:
                        continue
                    ra = _find(parent, offset, e, a)
                    rb = _find(parent, offset, f, b)
                    mismatch = a + shift - b
                    if ra == rb:
                        for ax in range(3):
                            if mismatch[ax] != 0:
                                wrap[ra, ax] = True
                    elif weight[ra] >= weight[rb]:
                        parent[rb] = ra
                        offset[rb] = mismatch
                        weight[ra] += weight[rb]
                        wrap[ra] |= wrap[rb]
                    else:
                        parent[ra] = rb
                        offset[ra] = -mismatch
                        weight[rb] += weight[ra]
                        wrap[rb] |= wrap[ra]
    compact = np.full(count + 1, -1, np.int64)
    roots = np.full(count + 1, -1, np.int64)
    joined = 0
    for piece in range(1, count + 1):
        root = _find(parent, offset, piece, a)
        if roots[root] < 0:
            roots[root] = joined
            joined += 1
        compact[piece] = roots[root]
    wraps = np.zeros((joined, 3), np.bool_)
    for piece in range(1, count + 1):
        if parent[piece] == piece:
            wraps[roots[piece]] = wrap[piece]
    return compact, wraps


@njit(cache=True, nogil=True)
def _relabel(pieces, compact):
    """``pieces[...] = compact[pieces]`` in place (a fancy index would make an int64
    copy of the index array); returns `pieces`.
    """
    flat = pieces.reshape(-1)
    for n in range(flat.size):
        flat[n] = compact[flat[n]]
    return pieces


@njit(cache=True, nogil=True)
def node_labels(labels, node_shape, corners):
    """Cluster of every Q1 node (-1 where no conducting voxel touches it).

    ``labels`` (N0, N1, N2) voxel clusters, ``node_shape`` (3,) node grid
    (indices wrap modulo it), ``corners`` (2**d, 3) corner offsets.
    """
    out = np.full((node_shape[0], node_shape[1], node_shape[2]), -1, labels.dtype)
    n0, n1, n2 = labels.shape
    for i in range(n0):
        for j in range(n1):
            for l in range(n2):
                c = labels[i, j, l]
                if c < 0:
                    continue
                for a in range(corners.shape[0]):
                    out[
                        (i + corners[a, 0]) % node_shape[0],
                        (j + corners[a, 1]) % node_shape[1],
                        (l + corners[a, 2]) % node_shape[2],
                    ] = c
    return out


@njit(cache=True, nogil=True)
def project_clusters(x, labels, floating, inverse_counts, sums):
    """In place on flat arrays: zero `x` where ``labels < 0`` and remove its
    mean over every cluster ``c`` with ``floating[c]``.

    ``inverse_counts[c]`` is one over the number of entries of cluster ``c``;
    ``sums`` is scratch of the length of `floating`.
    """
    sums[:] = 0.0
    for n in range(x.size):
        c = labels[n]
        if c < 0:
            x[n] = 0.0
        elif floating[c]:
            sums[c] += x[n]
    for n in range(x.size):
        c = labels[n]
        if c >= 0 and floating[c]:
            x[n] -= sums[c] * inverse_counts[c]
