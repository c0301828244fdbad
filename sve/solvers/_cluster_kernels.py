"""Numba kernels of the cluster analysis (private).

Grids are 3-D here; a 2-D image is passed as ``(N0, N1, 1)`` with the third
axis bounded, so no neighbour is ever found along it.
"""

import numpy as np
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


@njit(cache=True, nogil=True)
def label_clusters(conducting, periodic, steps):
    """Label the clusters of conducting voxels and find which wrap around.

    Parameters
    ----------
    conducting : (N0, N1, N2) bool
    periodic : (3,) bool, whether each axis wraps.
    steps : (m, 3) int64, the neighbour steps (half of a symmetric set).

    Returns
    -------
    labels : (N0, N1, N2) int64, cluster index, -1 for non-conducting voxels.
    wraps : (n_clusters, 3) bool, whether a cluster reaches itself by a
        nonzero lattice translation along each axis (periodic axes only).
    low, high : (n_clusters, 3) bool, whether a cluster holds a voxel at
        index 0 / N - 1 along each axis.

    Notes
    -----
    Union-find with offsets: every voxel keeps its unwrapped displacement
    from its parent. Joining two voxels of one cluster whose displacements
    disagree closes a loop around the torus (Hoshen-Kopelman with the
    periodic extension of Newman & Ziff 2001).
    """
    n0, n1, n2 = conducting.shape
    shape = np.array([n0, n1, n2])
    size = n0 * n1 * n2
    parent = np.arange(size)
    weight = np.ones(size, np.int64)
    offset = np.zeros((size, 3), np.int64)
    wrap = np.zeros((size, 3), np.bool_)
    a = np.zeros(3, np.int64)
    b = np.zeros(3, np.int64)
    target = np.zeros(3, np.int64)
    for i in range(n0):
        for j in range(n1):
            for l in range(n2):
                if not conducting[i, j, l]:
                    continue
                e = (i * n1 + j) * n2 + l
                for s in range(steps.shape[0]):
                    target[0] = i + steps[s, 0]
                    target[1] = j + steps[s, 1]
                    target[2] = l + steps[s, 2]
                    inside = True
                    for ax in range(3):
                        if target[ax] < 0 or target[ax] >= shape[ax]:
                            if periodic[ax]:
                                target[ax] %= shape[ax]
                            else:
                                inside = False
                    if not inside or not conducting[target[0], target[1], target[2]]:
                        continue
                    f = (target[0] * n1 + target[1]) * n2 + target[2]
                    ra = _find(parent, offset, e, a)
                    rb = _find(parent, offset, f, b)
                    mismatch = a + steps[s] - b
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
    labels = np.full((n0, n1, n2), -1, np.int64)
    compact = np.full(size, -1, np.int64)
    count = 0
    for i in range(n0):
        for j in range(n1):
            for l in range(n2):
                if conducting[i, j, l]:
                    root = _find(parent, offset, (i * n1 + j) * n2 + l, a)
                    if compact[root] < 0:
                        compact[root] = count
                        count += 1
                    labels[i, j, l] = compact[root]
    wraps = np.zeros((count, 3), np.bool_)
    low = np.zeros((count, 3), np.bool_)
    high = np.zeros((count, 3), np.bool_)
    for root in range(size):
        if compact[root] >= 0:
            wraps[compact[root]] = wrap[root]
    for i in range(n0):
        for j in range(n1):
            for l in range(n2):
                c = labels[i, j, l]
                if c >= 0:
                    index = (i, j, l)
                    for ax in range(3):
                        if index[ax] == 0:
                            low[c, ax] = True
                        if index[ax] == shape[ax] - 1:
                            high[c, ax] = True
    return labels, wraps, low, high


@njit(cache=True, nogil=True)
def node_labels(labels, node_shape, corners):
    """Cluster of every Q1 node (-1 where no conducting voxel touches it).

    ``labels`` (N0, N1, N2) voxel clusters, ``node_shape`` (3,) node grid
    (indices wrap modulo it), ``corners`` (2**d, 3) corner offsets.
    """
    out = np.full((node_shape[0], node_shape[1], node_shape[2]), -1, np.int64)
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
