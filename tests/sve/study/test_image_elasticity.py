"""An elasticity study of windows of a measured image: every window of a laminate image
is exact (Backus's laminate moduli), read from the file and solved by the study's task.
"""

import numpy as np
import pytest

from sve.study import image as image_module
from sve.study import load_spec
from sve.study.tasks import solve_batch
from sve.study.windows import window_count

PHASES = [{"E": 1.0, "nu": 0.3}, {"E": 10.0, "nu": 0.2}]


@pytest.fixture(autouse=True)
def _fresh_cache():
    image_module._cached_source.cache_clear()
    yield
    image_module._cached_source.cache_clear()


def backus_2d(stiffness: np.ndarray) -> np.ndarray:
    """Exact plane-strain Mandel stiffness of equal layers of the two phases, normal to
    axis 0 (Backus 1962): normal traction and shear traction continuous across layers,
    strains along them continuous. ``stiffness``: (2, 3, 3) Mandel, isotropic phases.
    """
    p = stiffness[:, 0, 0]  # lambda + 2 mu
    lam = stiffness[:, 0, 1]
    mu2 = stiffness[:, 2, 2]  # 2 mu (Mandel)
    c11 = 1.0 / np.mean(1.0 / p)
    c12 = c11 * np.mean(lam / p)
    c22 = np.mean(p - lam**2 / p) + c11 * np.mean(lam / p) ** 2
    c33 = 1.0 / np.mean(1.0 / mu2)
    return np.array([[c11, c12, 0.0], [c12, c22, 0.0], [0.0, 0.0, c33]])


def test_elasticity_windows_of_a_laminate_image_are_exact(tmp_path):
    """A 24 x 24 image of one-voxel layers (normal to axis 0) written as .npy; windows of
    4 and 8 voxels (whole periods) under periodic conditions: every window's apparent
    Mandel stiffness is Backus's laminate stiffness to 1e-7 relative (the solver's tol
    1e-9; Q1 elements represent the laminate's piecewise-constant strains exactly), and
    9 windows per size are solved (spread over the 36 and 9 tiles)."""
    labels = np.zeros((24, 24), np.uint8)
    labels[1::2] = 1
    np.save(tmp_path / "laminate.npy", labels)
    spec = load_spec({
        "name": "laminate", "seed": 1,
        "medium": {"image": str(tmp_path / "laminate.npy"), "unit": "um"},
        "property": {"name": "elasticity", "phases": PHASES},
        "sampling": {"sizes": [4, 8], "realizations": 9},
        "solver": {"bc": ["periodic"], "tol": 1e-9},
    })  # fmt: skip
    exact = backus_2d(spec.phase_stiffness())
    for size in spec.sizes:
        batch = solve_batch(spec, size, range(spec.realizations))
        n = window_count(spec, size)
        assert n == 9
        assert np.all(batch["status"][:n] == 1)
        for tensor in batch["stiffness"][:n, 0]:
            np.testing.assert_allclose(tensor, exact, rtol=1e-7, atol=1e-7 * exact[0, 0])
