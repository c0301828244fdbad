"""The exact S2 the report draws against the measured one."""

import numpy as np
import pytest

from generators import boolean_s2
from sve.report._figures import exact_s2, measured_s2
from sve.study import load_spec


def _spec(generator, **medium):
    return load_spec(
        {
            "name": "s2",
            "seed": 1,
            "medium": {"generator": generator, "ndim": 2, "volume_fraction": 0.3, **medium},
            "property": {"name": "conductivity", "phases": [1.0, 2.0]},
            "sampling": {"sizes": [64, 128], "realizations": 8},
        }
    )


def test_boolean_exact_s2_starts_at_the_fraction_and_ends_at_its_square():
    spec = _spec("boolean_spheres", radius=3.0)
    r, s2 = exact_s2(spec, np.array([0.0, 1.0, 6.0, 10.0]))
    # S2(0) = phi fixes the intensity; beyond 2R the two points are independent: phi^2
    assert s2[0] == pytest.approx(0.3, rel=1e-12)
    np.testing.assert_allclose(s2[2:], 0.09, rtol=1e-12)
    intensity = -np.log(0.7) / (np.pi * 9.0)
    np.testing.assert_allclose(s2, boolean_s2(r, intensity, 3.0, 2), rtol=1e-14)


@pytest.mark.statistical
def test_boolean_measured_s2_follows_the_exact_curve():
    """Mean of 8 realizations of 128^2: each lag within 4 standard errors of the exact S2
    plus the voxelization bias (grains rounded to voxels: at most ~0.01 here, measured)."""
    spec = _spec("boolean_spheres", radius=3.0)
    radii, profile, count, _ = measured_s2(spec)
    _, exact = exact_s2(spec, radii)
    # sd of one image's S2 at a lag ~ sqrt(phi (1 - phi) A / V): A ~ the grain area
    se = np.sqrt(0.3 * 0.7 * np.pi * 9.0 / 128**2 / count)
    assert np.all(np.abs(profile - exact) < 4 * se + 0.01)


def test_no_exact_s2_for_a_mosaic():
    assert exact_s2(_spec("voronoi_mosaic", cell_size=8.0), np.zeros(3)) is None
