"""The memory-saving paths of the transform preconditioner give the bits of the plain ones."""

import numpy as np
import pytest
import scipy.fft

from sve.solvers._core.transforms import _buffer_in, irfftn_in_place


@pytest.mark.parametrize("shape", [(40, 36), (31, 17, 9), (24, 20, 22), (16, 16, 16), (7, 5)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_irfftn_in_place_equals_scipy_bit_for_bit(shape, dtype):
    rng = np.random.default_rng(len(shape) * 100 + shape[0])
    field = rng.standard_normal(shape).astype(dtype)
    axes = tuple(range(len(shape)))
    spectrum = scipy.fft.rfftn(field, axes=axes)
    expected = scipy.fft.irfftn(spectrum.copy(), s=shape, axes=axes)
    for workers in (1, 2):
        result = irfftn_in_place(spectrum.copy(), shape, workers)
        assert result.dtype == expected.dtype
        np.testing.assert_array_equal(result, expected)


def test_the_input_buffer_lives_in_the_output_when_it_can():
    out = np.empty((6, 5))
    buffer = _buffer_in(out, (6, 5), np.dtype(np.float32))
    assert buffer.shape == (6, 5) and np.shares_memory(buffer, out)
    single = np.empty((6, 5), dtype=np.float32)
    assert _buffer_in(single, (6, 5), np.dtype(np.float32)).base is not None
    assert _buffer_in(out[:, :4], (6, 4), np.dtype(np.float32)) is None  # not contiguous
    assert _buffer_in(single, (6, 5), np.dtype(np.float64)) is None  # too narrow


@pytest.mark.parametrize("shape", [(12, 10, 8), (40, 36)])
def test_periodic_preconditioner_gives_the_same_bits_through_every_buffer(shape):
    """The result written through the output's memory (float64 widened in place, float32
    directly) equals the one made in a buffer of its own (a non-contiguous output)."""
    from sve.solvers._core.transforms import preconditioner

    kinds = ("periodic",) * len(shape)
    apply = preconditioner("q1", kinds, shape, np.ones(len(shape)), 3.0, dtype=np.float32)
    r = np.random.default_rng(5).standard_normal(shape)
    r -= r.mean()
    direct = np.empty(shape)
    apply(r, direct)
    wide = np.empty(shape + (2,))  # out[..., 0]: not contiguous, its own buffer
    apply(r, wide[..., 0])
    np.testing.assert_array_equal(direct, wide[..., 0])
    narrow = np.empty(shape, dtype=np.float32)
    apply(r.astype(np.float32), narrow)
    np.testing.assert_array_equal(narrow, direct.astype(np.float32))
