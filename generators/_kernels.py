"""Numba kernels of the generators (private): plain arrays in, plain arrays out.

Geometry is in voxel units here (positions divided by the spacing); grids and
boxes are three-dimensional, with unit trailing axes for 1-D and 2-D media.
Only the RSA kernel draws random numbers, from the Generator it is given.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def paint_spheres(labels, centres, radii, value):
    """Set ``labels`` to ``value`` at every voxel whose centre lies in a sphere (periodic).

    labels: int8 (N0, N1, N2); centres: (n, 3) in voxel units, voxel i centred at
    i + 0.5; radii: (n,) in voxel units.
    """
    n0, n1, n2 = labels.shape
    for s in range(centres.shape[0]):
        c0, c1, c2 = centres[s, 0], centres[s, 1], centres[s, 2]
        r = radii[s]
        r2 = r * r
        lo0, hi0 = _index_range(c0, r, n0)
        lo1, hi1 = _index_range(c1, r, n1)
        lo2, hi2 = _index_range(c2, r, n2)
        for i in range(lo0, hi0 + 1):
            d0 = (i + 0.5 - c0) ** 2 if n0 > 1 else 0.0
            if d0 > r2:
                continue
            w0 = i % n0
            for j in range(lo1, hi1 + 1):
                d1 = d0 + ((j + 0.5 - c1) ** 2 if n1 > 1 else 0.0)
                if d1 > r2:
                    continue
                w1 = j % n1
                for k in range(lo2, hi2 + 1):
                    d2 = d1 + ((k + 0.5 - c2) ** 2 if n2 > 1 else 0.0)
                    if d2 <= r2:
                        labels[w0, w1, k % n2] = value


@njit(cache=True, nogil=True)
def _index_range(c, r, n):
    """Indices i (unwrapped) with |i + 0.5 - c| <= r; the single index 0 on a unit axis."""
    if n == 1:
        return 0, 0
    return math.ceil(c - r - 0.5), math.floor(c + r - 0.5)


@njit(cache=True, nogil=True)
def nearest_germ_in_blocks(shape, block, germs, starts, candidates, values, out):
    """Write ``values[g]`` at every voxel, g its nearest germ (periodic), block by block.

    Voxel centres are at index + 0.5. Block b (C order over the grid of blocks
    of edge ``block``) searches only candidates[starts[b]:starts[b + 1]]; ties
    go to the lowest germ index. germs: (n, 3) voxel units; out: ``shape``.
    """
    n0, n1, n2 = shape
    b0 = (n0 + block[0] - 1) // block[0]
    b1 = (n1 + block[1] - 1) // block[1]
    b2 = (n2 + block[2] - 1) // block[2]
    for b in range(b0 * b1 * b2):
        i0 = (b // (b1 * b2)) * block[0]
        i1 = ((b // b2) % b1) * block[1]
        i2 = (b % b2) * block[2]
        first, last = starts[b], starts[b + 1]
        for i in range(i0, min(i0 + block[0], n0)):
            for j in range(i1, min(i1 + block[1], n1)):
                for k in range(i2, min(i2 + block[2], n2)):
                    best = np.inf
                    label = -1
                    for c in range(first, last):
                        g = candidates[c]
                        dist = 0.0
                        dist += _wrapped_square(i + 0.5 - germs[g, 0], n0)
                        dist += _wrapped_square(j + 0.5 - germs[g, 1], n1)
                        dist += _wrapped_square(k + 0.5 - germs[g, 2], n2)
                        if dist < best or (dist == best and g < label):
                            best = dist
                            label = g
                    out[i, j, k] = values[label]


@njit(cache=True, nogil=True)
def _wrapped_square(dx, n):
    """Square of the minimum image of a difference of two coordinates in [0, n)."""
    if dx > 0.5 * n:
        dx -= n
    elif dx < -0.5 * n:
        dx += n
    return dx * dx


@njit(cache=True, nogil=True)
def rsa(box, exclusion, n_target, max_plain_failures, max_refinements, rng):
    """Random sequential addition of points at mutual distance >= ``exclusion``.

    Periodic box (lengths ``box``, d entries). Plain uniform attempts until
    ``max_plain_failures`` fail in a row; then uniform attempts in the living
    subcells of a grid refined until every
    subcell is covered by one exclusion sphere (saturation) or the target is
    reached. Returns the centres (count, d) and the number of attempts.
    """
    d = box.size
    cells = np.empty(d, np.int64)
    for a in range(d):
        cells[a] = max(1, int(box[a] // exclusion))
    strides = np.ones(d, np.int64)
    for a in range(d - 2, -1, -1):
        strides[a] = strides[a + 1] * cells[a + 1]
    head = np.full(np.prod(cells), -1, np.int64)
    following = np.empty(n_target, np.int64)
    centres = np.empty((n_target, d))
    neighbours = np.empty(3**d, np.int64)
    point = np.empty(d)
    count = 0
    attempts = 0
    failures = 0
    while count < n_target and failures < max_plain_failures:
        for a in range(d):
            point[a] = rng.random() * box[a]
        attempts += 1
        if _is_free(point, centres, head, following, cells, strides, box, exclusion, neighbours):
            count = _insert(point, centres, count, head, following, cells, box)
            failures = 0
        else:
            failures += 1
    if count == n_target:
        return centres, attempts

    # subcells of diagonal <= exclusion: one exclusion sphere can cover one
    divisions = np.empty(d, np.int64)
    for a in range(d):
        divisions[a] = int(math.ceil(box[a] * math.sqrt(d) / exclusion))
    side = box / divisions
    living = np.empty((np.prod(divisions), d), np.int64)
    for s in range(living.shape[0]):
        rest = s
        for a in range(d - 1, -1, -1):
            living[s, a] = rest % divisions[a]
            rest //= divisions[a]
    n_living = _drop_covered(
        living,
        living.shape[0],
        side,
        centres,
        head,
        following,
        cells,
        strides,
        box,
        exclusion,
        neighbours,
    )
    refinements = 0
    while count < n_target and n_living > 0:
        before = n_living
        for _ in range(before):
            s = int(rng.random() * n_living)
            for a in range(d):
                point[a] = (living[s, a] + rng.random()) * side[a]
            attempts += 1
            if _is_free(
                point, centres, head, following, cells, strides, box, exclusion, neighbours
            ):
                count = _insert(point, centres, count, head, following, cells, box)
                if count == n_target:
                    break
        n_living = _drop_covered(
            living,
            n_living,
            side,
            centres,
            head,
            following,
            cells,
            strides,
            box,
            exclusion,
            neighbours,
        )
        if 2 * n_living > before and n_living > 0:
            if refinements == max_refinements:
                break
            refinements += 1
            children = np.empty((n_living * 2**d, d), np.int64)
            for s in range(n_living):
                for bits in range(2**d):
                    for a in range(d):
                        children[s * 2**d + bits, a] = 2 * living[s, a] + ((bits >> a) & 1)
            living = children
            side = side / 2.0
            n_living = _drop_covered(
                living,
                living.shape[0],
                side,
                centres,
                head,
                following,
                cells,
                strides,
                box,
                exclusion,
                neighbours,
            )
    return centres[:count], attempts


@njit(cache=True, nogil=True)
def _cell_of(point, cells, box):
    index = 0
    for a in range(point.size):
        c = int(point[a] / box[a] * cells[a])
        index = index * cells[a] + min(max(c, 0), cells[a] - 1)
    return index


@njit(cache=True, nogil=True)
def _neighbour_cells(point, cells, strides, box, out):
    """Linear indices of the cells within one cell of ``point``'s (each once); their count."""
    total = 1
    out[0] = 0
    for a in range(point.size):
        own = min(int(point[a] / box[a] * cells[a]), cells[a] - 1)
        span = 3 if cells[a] >= 3 else cells[a]
        # extend the list of partial indices by the `span` cells along axis a
        for t in range(total - 1, -1, -1):
            base = out[t]
            for step in range(span):
                c = (own + step - 1) % cells[a] if span == 3 else step
                out[t * span + step] = base + c * strides[a]
        total *= span
    return total


@njit(cache=True, nogil=True)
def _is_free(point, centres, head, following, cells, strides, box, exclusion, neighbours):
    limit = exclusion * exclusion
    for t in range(_neighbour_cells(point, cells, strides, box, neighbours)):
        j = head[neighbours[t]]
        while j >= 0:
            dist = 0.0
            for a in range(point.size):
                dist += _wrapped_square(point[a] - centres[j, a], box[a])
            if dist < limit:
                return False
            j = following[j]
    return True


@njit(cache=True, nogil=True)
def _insert(point, centres, count, head, following, cells, box):
    centres[count] = point
    cell = _cell_of(point, cells, box)
    following[count] = head[cell]
    head[cell] = count
    return count + 1


@njit(cache=True, nogil=True)
def _drop_covered(
    living, n_living, side, centres, head, following, cells, strides, box, exclusion, neighbours
):
    """Compact ``living`` to the subcells no single exclusion sphere covers; their count."""
    d = side.size
    limit = exclusion * exclusion
    middle = np.empty(d)
    kept = 0
    for s in range(n_living):
        for a in range(d):
            middle[a] = (living[s, a] + 0.5) * side[a]
        covered = False
        for t in range(_neighbour_cells(middle, cells, strides, box, neighbours)):
            j = head[neighbours[t]]
            while j >= 0 and not covered:
                covered = True  # unless a corner lies outside sphere j
                for bits in range(2**d):
                    dist = 0.0
                    for a in range(d):
                        corner = (living[s, a] + ((bits >> a) & 1)) * side[a]
                        dist += _wrapped_square(corner - centres[j, a], box[a])
                    if dist >= limit:
                        covered = False
                        break
                j = following[j]
            if covered:
                break
        if not covered:
            living[kept] = living[s]
            kept += 1
    return kept
