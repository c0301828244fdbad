"""Numba kernels of the generators (private): plain arrays in, plain arrays out.

Geometry is in voxel units here (positions divided by the spacing); grids and
boxes are three-dimensional, with unit trailing axes for 1-D and 2-D media.
Only the RSA kernel draws random numbers, from the Generator it is given.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

SEARCH_SLACK = 1e-6
"""Widening of the candidate search radii, in voxels: far above the round-off of the
distances, so that rounding never drops a germ that could be the nearest."""


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
def nearest_germ_in_blocks(shape, block, germs, cells, cell_start, cell_germs, values, out):
    """Write ``values[g]`` at every voxel, g its nearest germ (periodic), block by block.

    Voxel centres are at index + 0.5; ties go to the lowest germ index. germs:
    (n, 3) in voxel units, in [0, shape); cells: germ cells per axis, of edge
    shape / cells, germ g in the cell of floor(germs[g] / edge) (C order);
    cell c holds cell_germs[cell_start[c]:cell_start[c + 1]]. For each block
    of edge ``block`` with centre m and half-diagonal h, the nearest germ to m
    at distance r bounds every voxel's nearest distance by r + 2h, so only the
    germs within r + 2h of m are candidates. They are taken in increasing
    distance D from m, and a germ is skipped for a row of voxels when even
    the row's nearest voxel to it is farther than every best distance of the
    row, and for the rest of the block once (D - h)^2 exceeds every best
    distance of the block: no later germ can then be nearer.
    """
    n0, n1, n2 = shape
    b0 = (n0 + block[0] - 1) // block[0]
    b1 = (n1 + block[1] - 1) // block[1]
    b2 = (n2 + block[2] - 1) // block[2]
    side = np.empty(3)
    for a in range(3):
        side[a] = shape[a] / cells[a]
    first_radius = max(side[0], max(side[1], side[2]))
    found = np.empty(germs.shape[0], np.int64)
    found_d2 = np.empty(germs.shape[0])
    middle = np.empty(3)
    best = np.empty(block[0] * block[1] * block[2])
    label = np.empty(block[0] * block[1] * block[2], np.int64)
    row_worst = np.empty(block[0] * block[1])
    square0 = np.empty(block[0])
    square1 = np.empty(block[1])
    square2 = np.empty(block[2])
    for b in range(b0 * b1 * b2):
        i0 = (b // (b1 * b2)) * block[0]
        i1 = ((b // b2) % b1) * block[1]
        i2 = (b % b2) * block[2]
        e0 = min(i0 + block[0], n0)
        e1 = min(i1 + block[1], n1)
        e2 = min(i2 + block[2], n2)
        middle[0] = 0.5 * (i0 + e0)
        middle[1] = 0.5 * (i1 + e1)
        middle[2] = 0.5 * (i2 + e2)
        h = 0.5 * math.sqrt((e0 - i0) ** 2 + (e1 - i1) ** 2 + (e2 - i2) ** 2)
        # nearest germ to the block centre: widen the search until one lies inside it
        radius = first_radius
        while True:
            count = _germs_within(
                middle, radius, shape, germs, cells, side, cell_start, cell_germs, found, found_d2
            )
            nearest = np.inf
            for t in range(count):
                nearest = min(nearest, found_d2[t])
            if nearest <= radius * radius:
                break
            radius *= 2.0
        reach = math.sqrt(nearest) + 2.0 * h + SEARCH_SLACK
        count = _germs_within(
            middle, reach, shape, germs, cells, side, cell_start, cell_germs, found, found_d2
        )
        # insertion sort by distance to the centre (short lists)
        for t in range(1, count):
            g, d2 = found[t], found_d2[t]
            u = t - 1
            while u >= 0 and found_d2[u] > d2:
                found[u + 1] = found[u]
                found_d2[u + 1] = found_d2[u]
                u -= 1
            found[u + 1] = g
            found_d2[u + 1] = d2
        for t in range(count):  # lower bounds of the voxel distances, as squares
            bound = math.sqrt(found_d2[t]) - h - SEARCH_SLACK
            found_d2[t] = bound * bound if bound > 0.0 else 0.0
        m0, m1, m2 = e0 - i0, e1 - i1, e2 - i2
        best[: m0 * m1 * m2] = np.inf
        row_worst[: m0 * m1] = np.inf
        worst = np.inf
        for t in range(count):
            if found_d2[t] > worst:  # no voxel of the block can be nearer to this germ
                break
            g = found[t]
            for i in range(m0):
                square0[i] = _wrapped_square(i0 + i + 0.5 - germs[g, 0], n0)
            for j in range(m1):
                square1[j] = _wrapped_square(i1 + j + 0.5 - germs[g, 1], n1)
            least2 = np.inf
            for k in range(m2):
                square2[k] = _wrapped_square(i2 + k + 0.5 - germs[g, 2], n2)
                least2 = min(least2, square2[k])
            worst = 0.0
            for i in range(m0):
                for j in range(m1):
                    row = i * m1 + j
                    partial = square0[i] + square1[j]
                    # skip the row of voxels when the germ is farther than each one's best
                    if partial + least2 <= row_worst[row]:
                        row_worst[row] = 0.0
                        v = row * m2
                        for k in range(m2):
                            dist = partial + square2[k]
                            if dist < best[v + k] or (dist == best[v + k] and g < label[v + k]):
                                best[v + k] = dist
                                label[v + k] = g
                            row_worst[row] = max(row_worst[row], best[v + k])
                    worst = max(worst, row_worst[row])
        v = 0
        for i in range(i0, e0):
            for j in range(i1, e1):
                for k in range(i2, e2):
                    out[i, j, k] = values[label[v]]
                    v += 1


@njit(cache=True, nogil=True)
def _germs_within(point, radius, shape, germs, cells, side, cell_start, cell_germs, found, d2):
    """Germs at periodic distance <= ``radius`` from ``point`` into ``found``; their count."""
    lo = np.empty(3, np.int64)
    hi = np.empty(3, np.int64)
    for a in range(3):
        lo[a] = math.floor((point[a] - radius) / side[a] - SEARCH_SLACK)
        hi[a] = math.floor((point[a] + radius) / side[a] + SEARCH_SLACK)
        if hi[a] - lo[a] + 1 >= cells[a]:
            lo[a] = 0
            hi[a] = cells[a] - 1
    limit = radius * radius
    count = 0
    for c0 in range(lo[0], hi[0] + 1):
        w0 = c0 % cells[0]
        for c1 in range(lo[1], hi[1] + 1):
            w1 = c1 % cells[1]
            for c2 in range(lo[2], hi[2] + 1):
                cell = (w0 * cells[1] + w1) * cells[2] + c2 % cells[2]
                for t in range(cell_start[cell], cell_start[cell + 1]):
                    g = cell_germs[t]
                    dist = 0.0
                    for a in range(3):
                        dist += _wrapped_square(germs[g, a] - point[a], shape[a])
                    if dist <= limit:
                        found[count] = g
                        d2[count] = dist
                        count += 1
    return count


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
                # own cell first (step 0), where an overlap is most likely
                c = (own + (0, -1, 1)[step]) % cells[a] if span == 3 else step
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
