"""Specs and the CLI take the generators' alternative parameters (intensity)."""

import numpy as np
import pytest

from generators import boolean_volume_fraction
from sve.cli import main
from sve.study import SpecError, load_spec

CRYSTAL = {"c11": 168.4, "c12": 121.4, "c44": 75.4}


def _spec(medium, prop=None):
    return {
        "name": "vocabulary",
        "seed": 1,
        "medium": {"ndim": 2, **medium},
        "property": prop or {"name": "conductivity", "phases": [1.0, 10.0]},
        "sampling": {"sizes": [8, 16], "realizations": 2},
    }


def test_voronoi_intensity_is_read_as_its_cell_size():
    by_intensity = load_spec(_spec({"generator": "voronoi_mosaic", "intensity": 1 / 16,
                                    "volume_fraction": 0.3}))  # fmt: skip
    by_cell = load_spec(_spec({"generator": "voronoi_mosaic", "cell_size": 4.0,
                               "volume_fraction": 0.3}))  # fmt: skip
    assert by_intensity == by_cell and "intensity" not in by_intensity.medium


def test_polycrystal_intensity_gives_the_expected_number_of_grains():
    """The README's 40 grains in a 32^3 box: intensity 40 / 32**3 directly."""
    prop = {"name": "elasticity", "crystal": CRYSTAL}
    medium = {"generator": "voronoi_polycrystal", "ndim": 3, "intensity": 40 / 32**3}
    spec = load_spec(_spec(medium, prop))
    cell = spec.medium["cell_size"]
    assert 32**3 / cell**3 == pytest.approx(40, rel=1e-13)  # expected cells = intensity * V


def test_boolean_intensity_is_read_as_its_volume_fraction():
    spec = load_spec(_spec({"generator": "boolean_spheres", "radius": 2.0, "intensity": 0.05}))
    assert spec.volume_fraction == boolean_volume_fraction(0.05, 2.0, 2)
    assert spec.volume_fraction == pytest.approx(1 - np.exp(-0.05 * np.pi * 4.0), rel=1e-14)
    assert "intensity" not in spec.medium


@pytest.mark.parametrize(
    ("medium", "message"),
    [
        ({"generator": "voronoi_mosaic", "intensity": 0.1, "cell_size": 3.0,
          "volume_fraction": 0.5}, "exactly one of medium.cell_size and medium.intensity"),
        ({"generator": "voronoi_mosaic", "volume_fraction": 0.5},
         "exactly one of medium.cell_size and medium.intensity .* got neither"),
        ({"generator": "boolean_spheres", "radius": 1.0, "intensity": 0.1,
          "volume_fraction": 0.5}, "exactly one of medium.volume_fraction and medium.intensity"),
        ({"generator": "voronoi_mosaic", "intensity": -1.0, "volume_fraction": 0.5},
         r"medium\.intensity must be a finite number > 0, got -1\.0"),
        ({"generator": "random_checkerboard", "intensity": 0.1, "volume_fraction": 0.5},
         "unknown field 'medium.intensity'"),
    ],
)  # fmt: skip
def test_pair_errors_name_the_fields(medium, message):
    with pytest.raises(SpecError, match=message):
        load_spec(_spec(medium))


def test_cli_generate_takes_intensity(tmp_path, capsys):
    a, b = tmp_path / "a.npy", tmp_path / "b.npy"
    common = ["--size", "32", "--volume-fraction", "0.3", "--seed", "4"]
    assert main(["generate", "voronoi_mosaic", "--intensity", "0.0625", *common,
                 "--out", str(a)]) == 0  # fmt: skip
    assert main(["generate", "voronoi_mosaic", "--set", "cell_size=4", *common,
                 "--out", str(b)]) == 0  # fmt: skip
    np.testing.assert_array_equal(np.load(a), np.load(b))
    c = tmp_path / "c.npy"
    assert main(["generate", "boolean_spheres", "--size", "32", "--set", "radius=2",
                 "--intensity", "0.05", "--out", str(c)]) == 0  # fmt: skip
    code = main(["generate", "boolean_spheres", "--size", "32", "--set", "radius=2",
                 "--intensity", "0.05", "--volume-fraction", "0.3", "--out", str(c)])  # fmt: skip
    assert code == 2
    assert "exactly one of volume_fraction and intensity" in capsys.readouterr().err


@pytest.mark.parametrize("generator", ["voronoi_mosaic", "random_checkerboard"])
def test_study_realizations_are_those_of_before_the_new_names(generator):
    """The media now call the generators with the spec's names; the draws are unchanged
    (the calls of before: intensity 1 / cell_size**d and the probability, positionally)."""
    import generators
    from sve.study.seeding import realization_rng
    from sve.study.tasks import generate_sve

    spec = load_spec(_spec({"generator": generator, "cell_size": 2, "volume_fraction": 0.3}))
    rng = realization_rng(spec.seed, 16, 1)
    if generator == "voronoi_mosaic":
        before = generators.voronoi_mosaic((16, 16), 1.0 / 2.0**2, 0.3, rng=rng)
    else:
        before = generators.random_checkerboard((16, 16), 2, 0.3, rng=rng)
    np.testing.assert_array_equal(generate_sve(spec, 16, 1), before)


def test_boolean_radius_sigma_draws_the_lognormal_law():
    """radius_sigma makes the radii log-normal: a 512^2 draw's S2 at lags 0..20 matches
    generators.boolean_s2 of that law within 0.027 (4 SD of one draw's S2 at the worst
    lag, 0.0067 over 8 seeded draws; this seed's largest deviation 0.0076, the 8 draws'
    mean's 0.0029); the one-radius S2 misses by more than 0.03 at some lag.
    radius_sigma = 0 is one radius (dropped from the canonical table);
    out-of-range values are refused by name, and so are SVEs too small for the law's
    largest grain (radius up to its 1 - 1e-9 quantile, 44.1 here)."""
    import scipy.stats

    import generators
    from sve.report._figures import exact_s2
    from sve.study.media import draw_medium

    medium = {"generator": "boolean_spheres", "radius": 4.0, "radius_sigma": 0.4,
              "volume_fraction": 0.4}  # fmt: skip
    spec = load_spec(_big(medium))
    assert spec.medium["radius_sigma"] == 0.4
    phases = draw_medium(spec.medium, 512, 1.0, np.random.default_rng(5)).astype(float)
    lags = np.arange(21)
    measured = (
        np.array([np.mean(phases * np.roll(phases, -k, axis=a)) for k in lags for a in (0, 1)])
        .reshape(-1, 2)
        .mean(axis=1)
    )
    law = scipy.stats.lognorm(0.4, scale=4.0)
    exact = generators.boolean_s2(
        lags.astype(float), generators.boolean_intensity(0.4, law, 2), law, 2
    )
    np.testing.assert_allclose(measured, exact, atol=0.027)
    _, reported = exact_s2(spec, lags.astype(float))
    np.testing.assert_allclose(reported, exact, rtol=1e-12)
    one = generators.boolean_s2(lags.astype(float), generators.boolean_intensity(0.4, 4.0, 2),
                                4.0, 2)  # fmt: skip
    assert np.max(np.abs(one - exact)) > 0.03
    plain = load_spec(_big({**medium, "radius_sigma": 0}))
    assert "radius_sigma" not in plain.medium
    assert plain == load_spec(_big({k: v for k, v in medium.items() if k != "radius_sigma"}))
    with pytest.raises(SpecError, match=r"the smallest SVE \(8 voxels\) must be at least 89"):
        load_spec(_spec(medium))
    for bad in (-0.1, 1.5, "x", True):
        with pytest.raises(SpecError, match="medium.radius_sigma must be a number in"):
            load_spec(_big({**medium, "radius_sigma": bad}))


def _big(medium):
    """A spec whose SVEs hold the log-normal law's largest grain (edges >= 2 x 44.1)."""
    data = _spec(medium)
    data["sampling"]["sizes"] = [96, 128]
    return data
