"""The transform preconditioner works in the memory of its output and computes its symbol
where it applies it, with the bits of the plain path: a stored float32 inverse symbol, a
buffer of its own and scipy.fft's allocating transforms."""

import numpy as np
import pytest
import scipy.fft

from sve.solvers._core.refinement import Work
from sve.solvers._core.transforms import _pseudo_inverse, preconditioner, symbol

PERIODIC = [("q1", (12, 10, 8)), ("q1", (40, 36)), ("fv", (9, 7, 5)), ("q1", (7, 5))]
BOUNDED = [
    ("q1", ("dirichlet", "neumann", "neumann"), (8, 6, 5)),
    ("q1", ("neumann", "dirichlet", "neumann"), (8, 6, 5)),
    ("q1", ("neumann",) * 3, (8, 6, 5)),
    ("q1", ("dirichlet",) * 3, (8, 6, 5)),
    ("q1", ("neumann", "dirichlet"), (20, 17)),
    ("fv", ("dirichlet", "neumann", "neumann"), (8, 6, 5)),
    ("fv", ("neumann", "dirichlet"), (11, 7)),
]
SPACING = np.array([1.0, 1.3, 0.7])
REFERENCE = 2.5


def _plain_periodic(discretization, shape, r):
    """The stored-symbol path: float32 rfftn, times the float32 inverse, irfftn."""
    h = SPACING[: len(shape)]
    full = symbol(discretization, ("periodic",) * len(shape), shape, h)
    inverse = _pseudo_inverse(REFERENCE * full[..., : shape[-1] // 2 + 1]).astype(np.float32)
    spectrum = scipy.fft.rfftn(r.astype(np.float32))
    spectrum *= inverse
    return scipy.fft.irfftn(spectrum, s=shape)


def _nodes_and_free(discretization, kinds, shape):
    q1 = discretization == "q1"
    pairs = zip(shape, kinds, strict=True)
    nodes = tuple(n + 1 if q1 and kind != "periodic" else n for n, kind in pairs)
    free = tuple(slice(1, -1) if q1 and kind == "dirichlet" else slice(None) for kind in kinds)
    return nodes, free


def _plain_bounded(discretization, kinds, shape, r):
    """The stored-symbol path of the sine and cosine transforms on the free unknowns."""
    h = SPACING[: len(shape)]
    nodes, free = _nodes_and_free(discretization, kinds, shape)
    inverse = _pseudo_inverse(REFERENCE * symbol(discretization, kinds, shape, h))
    x = r[free].astype(np.float32)
    for axis, kind in enumerate(kinds):
        if (discretization, kind) == ("q1", "neumann"):
            for end in (0, -1):
                index = [slice(None)] * len(shape)
                index[axis] = end
                x[tuple(index)] *= 2.0
    forward = {"dirichlet": scipy.fft.dstn, "neumann": scipy.fft.dctn}
    backward = {"dirichlet": scipy.fft.idstn, "neumann": scipy.fft.idctn}
    kind_type = 1 if discretization == "q1" else 2
    groups = {}
    for axis, kind in enumerate(kinds):
        groups.setdefault(kind, []).append(axis)
    for kind, axes in groups.items():
        x = forward[kind](x, type=kind_type, axes=axes)
    x *= inverse.astype(np.float32)
    for kind, axes in groups.items():
        x = backward[kind](x, type=kind_type, axes=axes)
    out = np.zeros(nodes)
    out[free] = x
    return out


@pytest.mark.parametrize(("discretization", "shape"), PERIODIC)
def test_periodic_preconditioner_gives_the_bits_of_the_stored_symbol(discretization, shape):
    """Half spectrum in the output's memory (float64), in the room after a float32 output
    (single precision's ``Work``), in a buffer of its own (a non-contiguous output): the
    bits of the stored-symbol transforms, and the room's neighbour ``p`` untouched."""
    kinds = ("periodic",) * len(shape)
    apply = preconditioner(
        discretization, kinds, shape, SPACING[: len(shape)], REFERENCE, dtype=np.float32
    )
    r = np.random.default_rng(len(shape) + shape[0]).standard_normal(shape)
    r -= r.mean()
    expected = _plain_periodic(discretization, shape, r)
    direct = np.empty(shape)
    apply(r, direct)
    np.testing.assert_array_equal(direct, expected)
    wide = np.empty(shape + (2,))  # out[..., 0]: not contiguous, a buffer of its own
    apply(r, wide[..., 0])
    np.testing.assert_array_equal(wide[..., 0], expected)
    work = Work(shape, room=2 * int(np.prod(shape[:-1])))
    work.p[...] = 7.0
    apply(r.astype(np.float32), work.z, work.room)
    np.testing.assert_array_equal(work.z, _plain_periodic(discretization, shape, r))
    assert np.all(work.p == 7.0)


@pytest.mark.parametrize(("discretization", "kinds", "shape"), BOUNDED)
def test_bounded_preconditioner_gives_the_bits_of_the_stored_symbol(discretization, kinds, shape):
    """Sine and cosine transforms in the first entries of the output (float64 or float32,
    the free unknowns spread in place and the fixed nodes set to zero)."""
    nodes, free = _nodes_and_free(discretization, kinds, shape)
    apply = preconditioner(
        discretization,
        kinds,
        shape,
        SPACING[: len(shape)],
        REFERENCE,
        dtype=np.float32,
        free=free,
    )
    r = np.random.default_rng(shape[0]).standard_normal(nodes)
    expected = _plain_bounded(discretization, kinds, shape, r)
    for dtype in (np.float64, np.float32):
        out = np.full(nodes, np.nan, dtype=dtype)
        apply(r.astype(dtype), out)
        wanted = _plain_bounded(discretization, kinds, shape, r.astype(dtype))
        np.testing.assert_array_equal(out, wanted.astype(dtype))
    np.testing.assert_array_equal(wanted, expected)


@pytest.mark.parametrize(
    "kinds", [("periodic",) * 3, ("neumann", "dirichlet", "neumann")], ids=["fft", "dct"]
)
def test_preconditioner_bits_do_not_depend_on_the_threads(kinds):
    """64**3 and more run on every core: the same bits on 1, 2 and 4 threads."""
    shape = (66, 64, 64)
    nodes, free = _nodes_and_free("q1", kinds, shape)
    apply = preconditioner("q1", kinds, shape, 1.0, 2.0, dtype=np.float32, free=free)
    r = np.random.default_rng(3).standard_normal(nodes)
    results = []
    for workers in (1, 2, 4):
        with scipy.fft.set_workers(workers):
            out = np.empty(nodes)
            apply(r, out)
            results.append(out)
    for other in results[1:]:
        np.testing.assert_array_equal(other, results[0])
