"""S2 by FFT against a brute-force sum over voxel pairs, and its radial average."""

import itertools

import numpy as np
import pytest

from sve.morphology import radial_average, two_point_probability


def brute_force_s2(image, periodic):
    """Average of I(x) I(x + h) over the pairs in the image, one lag at a time."""
    inside = image == 1
    shape = inside.shape
    lag_ranges = [range(n) if periodic else range(-(n - 1), n) for n in shape]
    out = np.zeros([n if periodic else 2 * n - 1 for n in shape])
    for lag in itertools.product(*lag_ranges):
        if periodic:
            pair = inside & np.roll(inside, [-h for h in lag], axis=tuple(range(len(shape))))
            out[lag] = pair.mean()
        else:
            first = tuple(
                slice(max(0, -h), n - max(0, h)) for h, n in zip(lag, shape, strict=True)
            )
            second = tuple(
                slice(max(0, h), n - max(0, -h)) for h, n in zip(lag, shape, strict=True)
            )
            out[lag] = (inside[first] & inside[second]).mean()  # index -k: negative lags
    return out


@pytest.mark.parametrize("shape", [(7,), (6, 5), (4, 3, 5)])
@pytest.mark.parametrize("periodic", [True, False])
def test_fft_matches_brute_force(shape, periodic):
    image = (np.random.default_rng(sum(shape)).random(shape) < 0.4).astype(np.int8)
    # FFT round-off on sums of at most 60 products: 1e-12 is a thousand times above it
    np.testing.assert_allclose(
        two_point_probability(image, periodic=periodic),
        brute_force_s2(image, periodic),
        atol=1e-12,
    )


def test_other_phase_and_zero_lag():
    image = np.random.default_rng(1).integers(0, 3, (16, 16))
    s2 = two_point_probability(image, 2)
    assert s2[0, 0] == pytest.approx(np.mean(image == 2), abs=1e-14)
    window = two_point_probability(image, 2, periodic=False)
    assert window.shape == (31, 31)
    assert window[0, 0] == pytest.approx(np.mean(image == 2), abs=1e-14)


def test_radial_average_of_laminate():
    """Layers of period 4 along axis 0 (1 voxel of phase 1): S2 = 1/4 at lags (4k, *), else 0."""
    image = np.zeros((16, 16), dtype=int)
    image[::4] = 1
    radii, profile = radial_average(two_point_probability(image), spacing=0.5)
    np.testing.assert_allclose(radii[:3], [0.0, 0.5, 1.0])
    assert profile[0] == pytest.approx(0.25)
    # shell 1 (rint(|h| / 1 voxel) = 1) holds the 4 axial and 4 diagonal unit lags;
    # only (0, ±1) stay in the layer: S2 = 1/4 there, 0 elsewhere
    assert profile[1] == pytest.approx(0.0625)


@pytest.mark.parametrize(
    ("phases", "kwargs", "error", "match"),
    [
        (np.zeros((4, 4)), {}, TypeError, "integer array"),
        (np.zeros((2, 2, 2, 2), int), {}, ValueError, "1-D to 3-D"),
        (np.zeros((1, 4), int), {}, ValueError, "at least 2 voxels"),
        (np.zeros((4, 4), int), {"phase": 1.5}, TypeError, "phase must be an integer"),
        (np.zeros((4, 4), int), {"periodic": "yes"}, TypeError, "periodic must be a bool"),
    ],
)
def test_bad_inputs(phases, kwargs, error, match):
    with pytest.raises(error, match=match):
        two_point_probability(phases, **kwargs)


def test_radial_average_bad_inputs():
    with pytest.raises(ValueError, match="spacing must be finite and > 0"):
        radial_average(np.zeros((4, 4)), spacing=-1.0)
    with pytest.raises(ValueError, match="bin_width must be"):
        radial_average(np.zeros((4, 4)), bin_width=0.0)
