"""An image of more than 2**31 voxels: reading, windows and volume fractions index in 64 bits.

The image is a sparse raw file of 2**31 + 2**20 one-byte voxels (a few MB on disk)
with phase-1 voxels planted on both sides of the 2**31 boundary, so that a 32-bit
flat index anywhere on the way (offsets, slab counts, window corners, counts)
would misplace or lose them.
"""

import math

import numpy as np
import pytest

from sve.images import open_image
from sve.study import load_spec
from sve.study.image import read_window
from sve.study.windows import window_count, window_origin

SHAPE = (2049, 1024, 1024)  # 2**31 + 2**20 voxels
PLANTED = [(0, 0, 0), (2047, 1023, 1023), (2048, 0, 0), (2048, 512, 7), (2048, 1023, 1023)]


@pytest.fixture(scope="module")
def big_raw(tmp_path_factory):
    n = math.prod(SHAPE)
    assert n == 2**31 + 2**20
    path = tmp_path_factory.mktemp("big") / "big.raw"
    with open(path, "wb") as file:
        file.truncate(n)  # sparse: zeros cost no disk
        for index in PLANTED:
            file.seek(int(np.ravel_multi_index(index, SHAPE)))
            file.write(b"\x01")
    return path


@pytest.mark.slow
def test_reading_past_2_31(big_raw):
    source = open_image(big_raw, shape=SHAPE, dtype="uint8")
    assert source.shape == SHAPE
    last = source.read((slice(2047, 2049), slice(None), slice(None)))
    assert last.shape == (2, 1024, 1024)
    found = {(2047 + i, j, k) for i, j, k in zip(*np.nonzero(last), strict=True)}
    assert found == {p for p in PLANTED if p[0] >= 2047}
    assert source.read((slice(2048, 2049), slice(512, 513), slice(7, 8))).item() == 1


@pytest.mark.slow
def test_windows_and_volume_fraction_past_2_31(big_raw):
    spec = load_spec({
        "name": "big",
        "seed": 1,
        "medium": {"image": str(big_raw), "shape": list(SHAPE), "dtype": "uint8"},
        "property": {"name": "conductivity", "phases": [1.0, 2.0]},
        "sampling": {"sizes": [683], "realizations": 3},
    })  # fmt: skip
    # every voxel counted: a lost or doubled slab past 2**31 would change the fraction
    assert spec.medium["volume_fraction"] == len(PLANTED) / math.prod(SHAPE)
    assert window_count(spec, 683) == 3  # 3 tiles along axis 0, one across
    origin = window_origin(spec, 683, 2)
    assert origin == (1366, 0, 0)
    window = read_window(spec.medium, origin, (683, 683, 683))
    inside = {p for p in PLANTED if all(o <= q < o + 683 for q, o in zip(p, origin, strict=True))}
    found = {
        tuple(int(q) + o for q, o in zip(p, origin, strict=True))
        for p in zip(*np.nonzero(window), strict=True)
    }
    assert found == inside == {(2048, 0, 0), (2048, 512, 7)}
