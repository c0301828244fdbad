"""Numba kernels of the staggered (MAC) Stokes operator (private).

Every field is a 3-D float64 array (a 2-D image is passed with a trailing axis of
length 1). A velocity component lives on its own grid of faces; its viscous
operator is a 7-point stencil stored as a diagonal ``diag`` and one coupling per
axis, ``w_b[i]`` between the faces ``i`` and ``i + e_b`` (index ``i + e_b``
wrapped around; a coupling that does not exist is 0, so the wrap is harmless).
The kernels never know xarray.

The loops over the first axis are parallel (``prange``) in the ``*_parallel``
versions, used from ``PARALLEL_SIZE`` elements on: below that, waking the threads
costs more than it saves (and far more on a loaded machine), so the serial versions
run. `stencil_apply` and the other public names dispatch on the size.
"""

from numba import njit, prange

from sve.solvers._core.threads import pair

#: Elements from which the parallel versions of the kernels run.
PARALLEL_SIZE = 1 << 17


@njit(cache=True, nogil=True, inline="always")
def _up(i, n):
    return i + 1 if i < n - 1 else 0


@njit(cache=True, nogil=True, inline="always")
def _down(i, n):
    return i - 1 if i > 0 else n - 1


def _stencil_apply(diag, w0, w1, w2, x, y):
    """``y = A x`` for the 7-point stencil ``(diag, w0, w1, w2)``."""
    n0, n1, n2 = x.shape
    for i in prange(n0):
        ip = _up(i, n0)
        im = _down(i, n0)
        for j in range(n1):
            jp = _up(j, n1)
            jm = _down(j, n1)
            for k in range(n2):
                kp = _up(k, n2)
                km = _down(k, n2)
                y[i, j, k] = (
                    diag[i, j, k] * x[i, j, k]
                    - w0[i, j, k] * x[ip, j, k]
                    - w0[im, j, k] * x[im, j, k]
                    - w1[i, j, k] * x[i, jp, k]
                    - w1[i, jm, k] * x[i, jm, k]
                    - w2[i, j, k] * x[i, j, kp]
                    - w2[i, j, km] * x[i, j, km]
                )


def _stencil_residual(diag, w0, w1, w2, x, b, r):
    """``r = b - A x``."""
    n0, n1, n2 = x.shape
    for i in prange(n0):
        ip = _up(i, n0)
        im = _down(i, n0)
        for j in range(n1):
            jp = _up(j, n1)
            jm = _down(j, n1)
            for k in range(n2):
                kp = _up(k, n2)
                km = _down(k, n2)
                r[i, j, k] = b[i, j, k] - (
                    diag[i, j, k] * x[i, j, k]
                    - w0[i, j, k] * x[ip, j, k]
                    - w0[im, j, k] * x[im, j, k]
                    - w1[i, j, k] * x[i, jp, k]
                    - w1[i, jm, k] * x[i, jm, k]
                    - w2[i, j, k] * x[i, j, kp]
                    - w2[i, j, km] * x[i, j, km]
                )


@njit(cache=True, nogil=True)
def gauss_seidel(diag, w0, w1, w2, b, x, forward):
    """One lexicographic Gauss-Seidel sweep on ``A x = b`` in place (backward if not
    `forward`); unknowns with a zero diagonal are set to 0.
    """
    n0, n1, n2 = x.shape
    for ii in range(n0):
        i = ii if forward else n0 - 1 - ii
        ip = _up(i, n0)
        im = _down(i, n0)
        for jj in range(n1):
            j = jj if forward else n1 - 1 - jj
            jp = _up(j, n1)
            jm = _down(j, n1)
            for kk in range(n2):
                k = kk if forward else n2 - 1 - kk
                d = diag[i, j, k]
                if d <= 0.0:
                    x[i, j, k] = 0.0
                    continue
                kp = _up(k, n2)
                km = _down(k, n2)
                s = (
                    b[i, j, k]
                    + w0[i, j, k] * x[ip, j, k]
                    + w0[im, j, k] * x[im, j, k]
                    + w1[i, j, k] * x[i, jp, k]
                    + w1[i, jm, k] * x[i, jm, k]
                    + w2[i, j, k] * x[i, j, kp]
                    + w2[i, j, km] * x[i, j, km]
                )
                x[i, j, k] = s / d


@njit(cache=True, nogil=True)
def restrict(fine, coarse, f0, f1, f2):
    """``coarse[I] = sum of fine[i]`` over the aggregate ``i // f`` (f = 1 or 2 per axis)."""
    coarse[:] = 0.0
    n0, n1, n2 = fine.shape
    for i in range(n0):
        for j in range(n1):
            for k in range(n2):
                coarse[i // f0, j // f1, k // f2] += fine[i, j, k]


def _prolong_add(coarse, fine, f0, f1, f2, scale):
    """``fine[i] += scale * coarse[i // f]``."""
    n0, n1, n2 = fine.shape
    for i in prange(n0):
        for j in range(n1):
            for k in range(n2):
                fine[i, j, k] += scale * coarse[i // f0, j // f1, k // f2]


@njit(cache=True, nogil=True)
def coarse_stencil(diag, w0, w1, w2, f0, f1, f2, cdiag, cw0, cw1, cw2):
    """Galerkin operator ``P^T A P`` of piecewise-constant aggregation, again a 7-point
    stencil: couplings inside an aggregate leave ``-2 w`` on its diagonal, couplings
    between aggregates add up.
    """
    cdiag[:] = 0.0
    cw0[:] = 0.0
    cw1[:] = 0.0
    cw2[:] = 0.0
    n0, n1, n2 = diag.shape
    for i in range(n0):
        ci = i // f0
        cip = _up(i, n0) // f0
        for j in range(n1):
            cj = j // f1
            cjp = _up(j, n1) // f1
            for k in range(n2):
                ck = k // f2
                ckp = _up(k, n2) // f2
                cdiag[ci, cj, ck] += diag[i, j, k]
                if cip == ci:
                    cdiag[ci, cj, ck] -= 2.0 * w0[i, j, k]
                else:
                    cw0[ci, cj, ck] += w0[i, j, k]
                if cjp == cj:
                    cdiag[ci, cj, ck] -= 2.0 * w1[i, j, k]
                else:
                    cw1[ci, cj, ck] += w1[i, j, k]
                if ckp == ck:
                    cdiag[ci, cj, ck] -= 2.0 * w2[i, j, k]
                else:
                    cw2[ci, cj, ck] += w2[i, j, k]


def _stencil_apply_coded(code, td, t0, t1, t2, x, y):
    """``y = A x`` for the coded stencil: the coefficients of point ``i`` are
    ``td[code[i]], t0[code[i]], t1[code[i]], t2[code[i]]`` (diag, w0, w1, w2; the
    arithmetic of `_stencil_apply`).
    """
    n0, n1, n2 = x.shape
    for i in prange(n0):
        ip = _up(i, n0)
        im = _down(i, n0)
        for j in range(n1):
            jp = _up(j, n1)
            jm = _down(j, n1)
            for k in range(n2):
                kp = _up(k, n2)
                km = _down(k, n2)
                c = code[i, j, k]
                y[i, j, k] = (
                    td[c] * x[i, j, k]
                    - t0[c] * x[ip, j, k]
                    - t0[code[im, j, k]] * x[im, j, k]
                    - t1[c] * x[i, jp, k]
                    - t1[code[i, jm, k]] * x[i, jm, k]
                    - t2[c] * x[i, j, kp]
                    - t2[code[i, j, km]] * x[i, j, km]
                )


def _stencil_residual_coded(code, td, t0, t1, t2, x, b, r):
    """``r = b - A x`` for the coded stencil."""
    n0, n1, n2 = x.shape
    for i in prange(n0):
        ip = _up(i, n0)
        im = _down(i, n0)
        for j in range(n1):
            jp = _up(j, n1)
            jm = _down(j, n1)
            for k in range(n2):
                kp = _up(k, n2)
                km = _down(k, n2)
                c = code[i, j, k]
                r[i, j, k] = b[i, j, k] - (
                    td[c] * x[i, j, k]
                    - t0[c] * x[ip, j, k]
                    - t0[code[im, j, k]] * x[im, j, k]
                    - t1[c] * x[i, jp, k]
                    - t1[code[i, jm, k]] * x[i, jm, k]
                    - t2[c] * x[i, j, kp]
                    - t2[code[i, j, km]] * x[i, j, km]
                )


@njit(cache=True, nogil=True)
def gauss_seidel_coded(code, td, t0, t1, t2, b, x, forward):
    """`gauss_seidel` for the coded stencil."""
    n0, n1, n2 = x.shape
    for ii in range(n0):
        i = ii if forward else n0 - 1 - ii
        ip = _up(i, n0)
        im = _down(i, n0)
        for jj in range(n1):
            j = jj if forward else n1 - 1 - jj
            jp = _up(j, n1)
            jm = _down(j, n1)
            for kk in range(n2):
                k = kk if forward else n2 - 1 - kk
                c = code[i, j, k]
                d = td[c]
                if d <= 0.0:
                    x[i, j, k] = 0.0
                    continue
                kp = _up(k, n2)
                km = _down(k, n2)
                s = (
                    b[i, j, k]
                    + t0[c] * x[ip, j, k]
                    + t0[code[im, j, k]] * x[im, j, k]
                    + t1[c] * x[i, jp, k]
                    + t1[code[i, jm, k]] * x[i, jm, k]
                    + t2[c] * x[i, j, kp]
                    + t2[code[i, j, km]] * x[i, j, km]
                )
                x[i, j, k] = s / d


@njit(cache=True, nogil=True)
def coarse_stencil_coded(code, td, t0, t1, t2, f0, f1, f2, cdiag, cw0, cw1, cw2):
    """`coarse_stencil` of the coded stencil."""
    cdiag[:] = 0.0
    cw0[:] = 0.0
    cw1[:] = 0.0
    cw2[:] = 0.0
    n0, n1, n2 = code.shape
    for i in range(n0):
        ci = i // f0
        cip = _up(i, n0) // f0
        for j in range(n1):
            cj = j // f1
            cjp = _up(j, n1) // f1
            for k in range(n2):
                ck = k // f2
                ckp = _up(k, n2) // f2
                c = code[i, j, k]
                cdiag[ci, cj, ck] += td[c]
                if cip == ci:
                    cdiag[ci, cj, ck] -= 2.0 * t0[c]
                else:
                    cw0[ci, cj, ck] += t0[c]
                if cjp == cj:
                    cdiag[ci, cj, ck] -= 2.0 * t1[c]
                else:
                    cw1[ci, cj, ck] += t1[c]
                if ckp == ck:
                    cdiag[ci, cj, ck] -= 2.0 * t2[c]
                else:
                    cw2[ci, cj, ck] += t2[c]


def _gradient_add(p, u, inv_h, shift, wrap, active, skip, sign):
    """``u[f] += sign * inv_h * (p[f + 1 - shift] - p[f - shift])`` along axis 0 on the
    active faces ``f`` (the pressure gradient, ``B^T p``; other axes are passed as views
    with the axis moved first); pressure indices outside the grid count as 0 unless
    `wrap`.
    """
    n0, n1, n2 = u.shape
    m = p.shape[0]
    for f in prange(n0):
        hi = f + 1 - shift
        lo = f - shift
        if wrap:
            hi = hi % m
            lo = lo % m
        has_hi = 0 <= hi < m
        has_lo = 0 <= lo < m
        for j in range(n1):
            for k in range(n2):
                if active[f, j, k] != skip:
                    value = 0.0
                    if has_hi:
                        value += p[hi, j, k]
                    if has_lo:
                        value -= p[lo, j, k]
                    u[f, j, k] += sign * inv_h * value


def _divergence_add(u, q, inv_h, shift, wrap, fluid, sign):
    """``q[c] += sign * inv_h * (u[c + shift] - u[c + shift - 1])`` along axis 0 on the
    fluid cells ``c`` (``-B u`` with sign 1; other axes as views with the axis moved
    first); face indices outside the grid count as 0 unless `wrap`.
    """
    n0, n1, n2 = q.shape
    m = u.shape[0]
    for c in prange(n0):
        hi = c + shift
        lo = c + shift - 1
        if wrap:
            hi = hi % m
            lo = lo % m
        has_hi = 0 <= hi < m
        has_lo = 0 <= lo < m
        for j in range(n1):
            for k in range(n2):
                if fluid[c, j, k]:
                    value = 0.0
                    if has_hi:
                        value += u[hi, j, k]
                    if has_lo:
                        value -= u[lo, j, k]
                    q[c, j, k] += sign * inv_h * value


def _residual_restrict(diag, w0, w1, w2, x, b, coarse, f0, f1, f2):
    """``coarse = P^T (b - A x)`` for the 7-point stencil without the fine residual: each
    value as `_stencil_residual` computes it, summed into its aggregate in the order
    of `restrict` (the same bits; parallel over the coarse planes of axis 0).
    """
    n0, n1, n2 = x.shape
    c0, c1, c2 = coarse.shape
    for ci in prange(c0):
        for cj in range(c1):
            for ck in range(c2):
                coarse[ci, cj, ck] = 0.0
        for i in range(ci * f0, min(ci * f0 + f0, n0)):
            ip = _up(i, n0)
            im = _down(i, n0)
            for j in range(n1):
                jp = _up(j, n1)
                jm = _down(j, n1)
                for k in range(n2):
                    kp = _up(k, n2)
                    km = _down(k, n2)
                    coarse[ci, j // f1, k // f2] += b[i, j, k] - (
                        diag[i, j, k] * x[i, j, k]
                        - w0[i, j, k] * x[ip, j, k]
                        - w0[im, j, k] * x[im, j, k]
                        - w1[i, j, k] * x[i, jp, k]
                        - w1[i, jm, k] * x[i, jm, k]
                        - w2[i, j, k] * x[i, j, kp]
                        - w2[i, j, km] * x[i, j, km]
                    )


def _residual_restrict_coded(code, td, t0, t1, t2, x, b, coarse, f0, f1, f2):
    """``coarse = P^T (b - A x)`` for the coded stencil without the fine residual: each
    value as `_stencil_residual_coded` computes it, summed into its aggregate in the order
    of `restrict` (the same bits; parallel over the coarse planes of axis 0).
    """
    n0, n1, n2 = x.shape
    c0, c1, c2 = coarse.shape
    for ci in prange(c0):
        for cj in range(c1):
            for ck in range(c2):
                coarse[ci, cj, ck] = 0.0
        for i in range(ci * f0, min(ci * f0 + f0, n0)):
            ip = _up(i, n0)
            im = _down(i, n0)
            for j in range(n1):
                jp = _up(j, n1)
                jm = _down(j, n1)
                for k in range(n2):
                    kp = _up(k, n2)
                    km = _down(k, n2)
                    c = code[i, j, k]
                    coarse[ci, j // f1, k // f2] += b[i, j, k] - (
                        td[c] * x[i, j, k]
                        - t0[c] * x[ip, j, k]
                        - t0[code[im, j, k]] * x[im, j, k]
                        - t1[c] * x[i, jp, k]
                        - t1[code[i, jm, k]] * x[i, jm, k]
                        - t2[c] * x[i, j, kp]
                        - t2[code[i, j, km]] * x[i, j, km]
                    )


_STENCIL_APPLY = pair(_stencil_apply)
_STENCIL_RESIDUAL = pair(_stencil_residual)
_STENCIL_APPLY_CODED = pair(_stencil_apply_coded)
_STENCIL_RESIDUAL_CODED = pair(_stencil_residual_coded)
_PROLONG_ADD = pair(_prolong_add)
_RESIDUAL_RESTRICT = pair(_residual_restrict)
_RESIDUAL_RESTRICT_CODED = pair(_residual_restrict_coded)
_GRADIENT_ADD = pair(_gradient_add)
_DIVERGENCE_ADD = pair(_divergence_add)


def stencil_apply(diag, w0, w1, w2, x, y):
    """``y = A x`` for the 7-point stencil ``(diag, w0, w1, w2)``."""
    _STENCIL_APPLY[x.size >= PARALLEL_SIZE](diag, w0, w1, w2, x, y)


def stencil_residual(diag, w0, w1, w2, x, b, r):
    """``r = b - A x``."""
    _STENCIL_RESIDUAL[x.size >= PARALLEL_SIZE](diag, w0, w1, w2, x, b, r)


def stencil_apply_coded(code, td, t0, t1, t2, x, y):
    """``y = A x`` for the coded stencil ``(code, td, t0, t1, t2)``."""
    _STENCIL_APPLY_CODED[x.size >= PARALLEL_SIZE](code, td, t0, t1, t2, x, y)


def stencil_residual_coded(code, td, t0, t1, t2, x, b, r):
    """``r = b - A x`` for the coded stencil ``(code, td, t0, t1, t2)``."""
    _STENCIL_RESIDUAL_CODED[x.size >= PARALLEL_SIZE](code, td, t0, t1, t2, x, b, r)


def residual_restrict(diag, w0, w1, w2, x, b, coarse, f0, f1, f2):
    """``coarse = P^T (b - A x)`` (`_residual_restrict`)."""
    _RESIDUAL_RESTRICT[x.size >= PARALLEL_SIZE](diag, w0, w1, w2, x, b, coarse, f0, f1, f2)


def residual_restrict_coded(code, td, t0, t1, t2, x, b, coarse, f0, f1, f2):
    """``coarse = P^T (b - A x)`` for the coded stencil (`_residual_restrict_coded`)."""
    _RESIDUAL_RESTRICT_CODED[x.size >= PARALLEL_SIZE](
        code, td, t0, t1, t2, x, b, coarse, f0, f1, f2
    )


def prolong_add(coarse, fine, f0, f1, f2, scale):
    """``fine[i] += scale * coarse[i // f]``."""
    _PROLONG_ADD[fine.size >= PARALLEL_SIZE](coarse, fine, f0, f1, f2, scale)


def gradient_add(p, u, inv_h, shift, wrap, active, skip, sign):
    """``u += sign B^T p`` along axis 0 on the faces with ``active != skip`` (see
    `_gradient_add`).
    """
    _GRADIENT_ADD[u.size >= PARALLEL_SIZE](p, u, inv_h, shift, wrap, active, skip, sign)


def divergence_add(u, q, inv_h, shift, wrap, fluid, sign):
    """``q -= sign B u`` along axis 0 (see `_divergence_add`)."""
    _DIVERGENCE_ADD[q.size >= PARALLEL_SIZE](u, q, inv_h, shift, wrap, fluid, sign)


@njit(cache=True, nogil=True)
def direction_numerator(v, w2, w, oldeps, delta):
    """In place ``w2 = v - oldeps w2 - delta w`` (1-D): the numerator of the next MINRES
    direction.
    """
    for i in range(w2.size):
        w2[i] = v[i] - oldeps * w2[i] - delta * w[i]


@njit(cache=True, nogil=True)
def scale(x, a):
    """In place ``x *= a`` (1-D)."""
    for i in range(x.size):
        x[i] *= a


@njit(cache=True, nogil=True)
def add_fluid(q, r, fluid, scale):
    """In place ``q = r fluid + scale q`` (1-D; `fluid` bool): the pressure block's
    identity on the fluid cells plus its scaled multigrid cycle, in that order.
    """
    for i in range(q.size):
        q[i] = r[i] * (1.0 if fluid[i] else 0.0) + scale * q[i]


@njit(cache=True, nogil=True)
def add_compact(q, r, scale):
    """In place ``q = r + scale q`` (1-D): `add_fluid` on the fluid cells alone (the
    same rounding: ``r 1.0 + scale q``).
    """
    for i in range(q.size):
        q[i] = r[i] * 1.0 + scale * q[i]


@njit(cache=True, nogil=True)
def scatter_mask(values, mask, skip, out):
    """``out[mask != skip] = values``, 0 elsewhere (flat arrays; `values` lists the
    entries of the points of `mask` other than `skip` in order: a bool mask with `skip`
    False, or a viscous stencil's codes with `skip` the code of the empty row).
    """
    k = 0
    for i in range(mask.size):
        if mask[i] != skip:
            out[i] = values[k]
            k += 1
        else:
            out[i] = 0.0


@njit(cache=True, nogil=True)
def gather_mask(full, mask, skip, out, a, accumulate):
    """``out = full[mask != skip]`` (flat arrays; `scatter_mask`), or with `accumulate`
    ``out = full[mask != skip] + a out`` (the rounding of ``out = full[...]; out += a
    out_old``).
    """
    k = 0
    if accumulate:
        for i in range(mask.size):
            if mask[i] != skip:
                out[k] = full[i] + a * out[k]
                k += 1
    else:
        for i in range(mask.size):
            if mask[i] != skip:
                out[k] = full[i]
                k += 1


@njit(cache=True, nogil=True)
def chebyshev_last_gather(full, mask, skip, out, a, c):
    """``out += a out + c full[mask != skip]`` (flat arrays; `gather_mask`): the
    second Chebyshev step (``_core.chebyshev_kernels.chebyshev_last``, the same
    arithmetic) with its iterate ``out`` on the unknowns and the cycle output ``full``
    on the grid.
    """
    k = 0
    for i in range(mask.size):
        if mask[i] != skip:
            out[k] += a * out[k] + c * full[i]
            k += 1


@njit(cache=True, nogil=True)
def code_rows(diag, w0, w1, w2, code, table):
    """Code every point's row ``(diag, w0, w1, w2)`` (flat arrays) by its index in
    `table` (``len(table)`` rows at most, the rows in order of first appearance), the
    codes into `code`; return the number of distinct rows, or -1 when there are more
    than the table holds (`code` is then incomplete).
    """
    count = 0
    last = -1
    for i in range(diag.size):
        d, a, b, c = diag[i], w0[i], w1[i], w2[i]
        if (
            last >= 0
            and (table[last, 0] == d and table[last, 1] == a and table[last, 2] == b)
            and table[last, 3] == c
        ):
            code[i] = last
            continue
        found = -1
        for k in range(count):
            if table[k, 0] == d and table[k, 1] == a and table[k, 2] == b and table[k, 3] == c:
                found = k
                break
        if found < 0:
            if count == table.shape[0]:
                return -1
            table[count, 0] = d
            table[count, 1] = a
            table[count, 2] = b
            table[count, 3] = c
            found = count
            count += 1
        code[i] = found
        last = found
    return count


@njit(cache=True, nogil=True, inline="always")
def _sum_diag(w0, w1, w2, i, j, k, im, jm, km):
    """The diagonal of a row-sum-zero stencil: the couplings of the point summed per
    axis, axis by axis, in float64 (``diag = sum_b (w_b + roll(w_b, 1, b))`` in that
    order).
    """
    return ((0.0 + (1.0 * w0[i, j, k] + w0[im, j, k])) + (1.0 * w1[i, j, k] + w1[i, jm, k])) + (
        1.0 * w2[i, j, k] + w2[i, j, km]
    )


def _stencil_apply_sum(w0, w1, w2, x, y):
    """``y = A x`` for the stencil of couplings ``(w0, w1, w2)`` whose diagonal is their
    sum (`_sum_diag`; the arithmetic of `_stencil_apply` otherwise).
    """
    n0, n1, n2 = x.shape
    for i in prange(n0):
        ip = _up(i, n0)
        im = _down(i, n0)
        for j in range(n1):
            jp = _up(j, n1)
            jm = _down(j, n1)
            for k in range(n2):
                kp = _up(k, n2)
                km = _down(k, n2)
                y[i, j, k] = (
                    _sum_diag(w0, w1, w2, i, j, k, im, jm, km) * x[i, j, k]
                    - w0[i, j, k] * x[ip, j, k]
                    - w0[im, j, k] * x[im, j, k]
                    - w1[i, j, k] * x[i, jp, k]
                    - w1[i, jm, k] * x[i, jm, k]
                    - w2[i, j, k] * x[i, j, kp]
                    - w2[i, j, km] * x[i, j, km]
                )


def _stencil_residual_sum(w0, w1, w2, x, b, r):
    """``r = b - A x`` for the summed-diagonal stencil."""
    n0, n1, n2 = x.shape
    for i in prange(n0):
        ip = _up(i, n0)
        im = _down(i, n0)
        for j in range(n1):
            jp = _up(j, n1)
            jm = _down(j, n1)
            for k in range(n2):
                kp = _up(k, n2)
                km = _down(k, n2)
                r[i, j, k] = b[i, j, k] - (
                    _sum_diag(w0, w1, w2, i, j, k, im, jm, km) * x[i, j, k]
                    - w0[i, j, k] * x[ip, j, k]
                    - w0[im, j, k] * x[im, j, k]
                    - w1[i, j, k] * x[i, jp, k]
                    - w1[i, jm, k] * x[i, jm, k]
                    - w2[i, j, k] * x[i, j, kp]
                    - w2[i, j, km] * x[i, j, km]
                )


@njit(cache=True, nogil=True)
def gauss_seidel_sum(w0, w1, w2, b, x, forward):
    """`gauss_seidel` for the summed-diagonal stencil."""
    n0, n1, n2 = x.shape
    for ii in range(n0):
        i = ii if forward else n0 - 1 - ii
        ip = _up(i, n0)
        im = _down(i, n0)
        for jj in range(n1):
            j = jj if forward else n1 - 1 - jj
            jp = _up(j, n1)
            jm = _down(j, n1)
            for kk in range(n2):
                k = kk if forward else n2 - 1 - kk
                km = _down(k, n2)
                d = _sum_diag(w0, w1, w2, i, j, k, im, jm, km)
                if d <= 0.0:
                    x[i, j, k] = 0.0
                    continue
                kp = _up(k, n2)
                s = (
                    b[i, j, k]
                    + w0[i, j, k] * x[ip, j, k]
                    + w0[im, j, k] * x[im, j, k]
                    + w1[i, j, k] * x[i, jp, k]
                    + w1[i, jm, k] * x[i, jm, k]
                    + w2[i, j, k] * x[i, j, kp]
                    + w2[i, j, km] * x[i, j, km]
                )
                x[i, j, k] = s / d


@njit(cache=True, nogil=True)
def coarse_stencil_sum(w0, w1, w2, f0, f1, f2, cdiag, cw0, cw1, cw2):
    """`coarse_stencil` of the summed-diagonal stencil."""
    cdiag[:] = 0.0
    cw0[:] = 0.0
    cw1[:] = 0.0
    cw2[:] = 0.0
    n0, n1, n2 = w0.shape
    for i in range(n0):
        ci = i // f0
        cip = _up(i, n0) // f0
        im = _down(i, n0)
        for j in range(n1):
            cj = j // f1
            cjp = _up(j, n1) // f1
            jm = _down(j, n1)
            for k in range(n2):
                ck = k // f2
                ckp = _up(k, n2) // f2
                km = _down(k, n2)
                cdiag[ci, cj, ck] += _sum_diag(w0, w1, w2, i, j, k, im, jm, km)
                if cip == ci:
                    cdiag[ci, cj, ck] -= 2.0 * w0[i, j, k]
                else:
                    cw0[ci, cj, ck] += w0[i, j, k]
                if cjp == cj:
                    cdiag[ci, cj, ck] -= 2.0 * w1[i, j, k]
                else:
                    cw1[ci, cj, ck] += w1[i, j, k]
                if ckp == ck:
                    cdiag[ci, cj, ck] -= 2.0 * w2[i, j, k]
                else:
                    cw2[ci, cj, ck] += w2[i, j, k]


_STENCIL_APPLY_SUM = pair(_stencil_apply_sum)
_STENCIL_RESIDUAL_SUM = pair(_stencil_residual_sum)


def stencil_apply_sum(w0, w1, w2, x, y):
    """``y = A x`` for the summed-diagonal stencil ``(w0, w1, w2)``."""
    _STENCIL_APPLY_SUM[x.size >= PARALLEL_SIZE](w0, w1, w2, x, y)


def stencil_residual_sum(w0, w1, w2, x, b, r):
    """``r = b - A x`` for the summed-diagonal stencil ``(w0, w1, w2)``."""
    _STENCIL_RESIDUAL_SUM[x.size >= PARALLEL_SIZE](w0, w1, w2, x, b, r)


def _residual_restrict_sum(w0, w1, w2, x, b, coarse, f0, f1, f2):
    """``coarse = P^T (b - A x)`` for the summed-diagonal stencil without the fine residual: each
    value as `_stencil_residual_sum` computes it, summed into its aggregate in the order
    of `restrict` (the same bits; parallel over the coarse planes of axis 0).
    """
    n0, n1, n2 = x.shape
    c0, c1, c2 = coarse.shape
    for ci in prange(c0):
        for cj in range(c1):
            for ck in range(c2):
                coarse[ci, cj, ck] = 0.0
        for i in range(ci * f0, min(ci * f0 + f0, n0)):
            ip = _up(i, n0)
            im = _down(i, n0)
            for j in range(n1):
                jp = _up(j, n1)
                jm = _down(j, n1)
                for k in range(n2):
                    kp = _up(k, n2)
                    km = _down(k, n2)
                    coarse[ci, j // f1, k // f2] += b[i, j, k] - (
                        _sum_diag(w0, w1, w2, i, j, k, im, jm, km) * x[i, j, k]
                        - w0[i, j, k] * x[ip, j, k]
                        - w0[im, j, k] * x[im, j, k]
                        - w1[i, j, k] * x[i, jp, k]
                        - w1[i, jm, k] * x[i, jm, k]
                        - w2[i, j, k] * x[i, j, kp]
                        - w2[i, j, km] * x[i, j, km]
                    )


_RESIDUAL_RESTRICT_SUM = pair(_residual_restrict_sum)


def residual_restrict_sum(w0, w1, w2, x, b, coarse, f0, f1, f2):
    """``coarse = P^T (b - A x)`` for the summed-diagonal stencil."""
    _RESIDUAL_RESTRICT_SUM[x.size >= PARALLEL_SIZE](w0, w1, w2, x, b, coarse, f0, f1, f2)
