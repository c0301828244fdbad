"""Study specs are validated before any work starts, with errors naming the field."""

import copy
import tomllib
from pathlib import Path

import numpy as np
import pytest

from sve.study import SpecError, StudySpec, load_spec

DEFAULT = Path(__file__).parents[3] / "studies" / "default.toml"


def base() -> dict:
    return tomllib.loads(DEFAULT.read_text())


def test_default_spec_loads():
    spec = load_spec(DEFAULT)
    assert spec.name == "default"
    assert spec.ndim == 2 and spec.volume_fraction == 0.5
    assert spec.phases == (1.0, 10.0)
    # 4 to 64 correlation lengths, as the default study promises
    assert spec.sizes[0] * spec.spacing / spec.length == pytest.approx(4)
    assert spec.sizes[-1] * spec.spacing / spec.length == pytest.approx(64)


def test_json_round_trip():
    spec = load_spec(DEFAULT)
    assert StudySpec.from_json(spec.to_json()) == spec


def test_defaults_fill_optional_fields():
    data = base()
    del data["solver"]
    spec = load_spec(data)
    assert spec.bc == ("periodic",) and spec.tol == 1e-6


def test_bc_aliases_are_canonical():
    data = base()
    data["solver"]["bc"] = ["PBC", "periodic"]
    assert load_spec(data).bc == ("periodic",)


def _set(data, dotted, value):
    section, _, key = dotted.partition(".")
    if key:
        data[section][key] = value
    else:
        data[section] = value


def _delete(data, dotted):
    section, _, key = dotted.partition(".")
    if key:
        del data[section][key]
    else:
        del data[section]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("sampling.sizes", [16, 0, 64], r"sampling\.sizes\[1\] must be an integer >= 2, got 0"),
        ("sampling.sizes", [16, -4], r"sampling\.sizes\[1\]"),
        ("sampling.sizes", [32, 16], r"sampling\.sizes must be strictly increasing"),
        ("sampling.sizes", [], r"sampling\.sizes"),
        ("sampling.sizes", [16.5, 32], r"sampling\.sizes\[0\]"),
        ("medium.covariance", "bessel", r"medium\.covariance"),
        ("medium.volume_fraction", 1.3, r"medium\.volume_fraction must be in \(0, 1\), got 1\.3"),
        ("medium.volume_fraction", 0, r"medium\.volume_fraction"),
        ("medium.correlation_length", -1.0, r"medium\.correlation_length"),
        ("medium.ndim", 4, r"medium\.ndim"),
        ("medium.generator", "voronoi", r"medium\.generator must be one of"),
        ("medium.covariance", 3, r"medium\.covariance must be a model name"),
        ("medium.offset_variance", -1.0, r"medium\.offset_variance must be a number >= 0"),
        ("solver.discretization", "fem", r"solver\.discretization must be one of"),
        ("medium.fraction", "roughly", r"medium\.fraction must be one of"),
        ("property.name", "viscosity", r"property\.name"),
        ("property.phases", [1.0], r"property\.phases"),
        ("property.phases", [1.0, float("nan")], r"property\.phases\[1\]"),
        ("property.phases", [1.0, -2.0], r"property\.phases\[1\]"),
        ("sampling.realizations", 1, r"sampling\.realizations"),
        ("sampling.spacing", 0.0, r"sampling\.spacing"),
        ("solver.bc", ["sideways"], r"solver\.bc"),
        ("solver.tol", 0.0, r"solver\.tol"),
        ("solver.tol", 2.0, r"solver\.tol must be in \(0, 1\)"),
        ("solver.batch", 0, r"solver\.batch must be an integer >= 1 or 'auto', got 0"),
        ("solver.batch", 2.5, r"solver\.batch must be an integer >= 1 or 'auto'"),
        ("solver.batch", "many", r"solver\.batch must be an integer >= 1 or 'auto'"),
        ("solver.batch", True, r"solver\.batch must be an integer >= 1 or 'auto'"),
        ("seed", -1, r"seed"),
        ("name", "", r"name"),
    ],
)
def test_bad_field_is_named(field, value, message):
    data = copy.deepcopy(base())
    _set(data, field, value)
    with pytest.raises(SpecError, match=message):
        load_spec(data)


@pytest.mark.parametrize(
    "field",
    [
        "sampling.sizes",
        "medium.volume_fraction",
        "medium.covariance",
        "medium.ndim",
        "property.phases",
        "seed",
    ],
)
def test_missing_field_is_named(field):
    data = copy.deepcopy(base())
    _delete(data, field)
    with pytest.raises(SpecError, match=rf"missing field '{field}'"):
        load_spec(data)


def test_unknown_field_is_named():
    data = base()
    data["medium"]["colour"] = "blue"
    with pytest.raises(SpecError, match=r"unknown field 'medium\.colour' for generator"):
        load_spec(data)
    data = base()
    data["extra"] = 1
    with pytest.raises(SpecError, match=r"unknown field 'extra'"):
        load_spec(data)


def test_missing_file_and_bad_toml(tmp_path):
    with pytest.raises(SpecError, match="does not exist"):
        load_spec(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("name = [unclosed")
    with pytest.raises(SpecError, match="not valid TOML"):
        load_spec(bad)
    with pytest.raises(TypeError, match="spec must be"):
        load_spec(42)


def test_every_solver_bc_accepted_with_canonical_names():
    data = base()
    data["solver"]["bc"] = ["SUBC", "periodic", "KUBC", "mixed"]
    assert load_spec(data).bc == ("static", "periodic", "kinematic", "mixed")


@pytest.mark.parametrize(
    ("medium", "length"),
    [
        ({"generator": "boolean_spheres", "radius": 3.0}, 3.0),
        ({"generator": "rsa_spheres", "radius": 2.0}, 2.0),
        ({"generator": "voronoi_mosaic", "cell_size": 8.0}, 8.0),
        ({"generator": "random_checkerboard", "cell_size": 4}, 4.0),
        ({"generator": "random_laminate", "cell_size": 2}, 2.0),
        (
            {
                "generator": "gaussian_level_cut",
                "covariance": "matern",
                "nu": 1.5,
                "correlation_length": 5.0,
            },
            5.0,
        ),
        (
            {
                "generator": "gaussian_level_cut",
                "covariance": "power_law",
                "beta": 1.0,
                "correlation_length": 2.0,
                "offset_variance": 0.5,
            },
            2.0,
        ),
    ],
)
def test_every_medium_loads_and_draws(medium, length):
    from sve.study.tasks import generate_sve

    data = base()
    data["medium"] = {**medium, "ndim": 2, "volume_fraction": 0.3}
    spec = load_spec(data)
    assert spec.length == length
    phases = generate_sve(spec, 32, 0)
    assert phases.shape == (32, 32) and phases.dtype == np.int8
    assert set(np.unique(phases)) <= {0, 1}
    np.testing.assert_array_equal(phases, generate_sve(spec, 32, 0))  # reproducible


@pytest.mark.parametrize(
    ("medium", "message"),
    [
        ({"generator": "boolean_spheres"}, r"missing field 'medium\.radius'"),
        ({"generator": "boolean_spheres", "radius": -1.0}, r"medium\.radius must be"),
        (
            {"generator": "rsa_spheres", "radius": 1.0, "volume_fraction": 0.6},
            r"below the RSA saturation limit",
        ),
        ({"generator": "random_checkerboard", "cell_size": 2.5}, r"whole number of voxels"),
        (
            {"generator": "random_laminate", "cell_size": 3},
            r"sampling\.sizes\[0\] must be a multiple of medium\.cell_size 3 for the "
            r"random_laminate generator, got 16",
        ),
        (
            {"generator": "voronoi_mosaic", "cell_size": 4.0, "radius": 1.0},
            r"unknown field 'medium\.radius' for generator 'voronoi_mosaic'",
        ),
        (
            {"generator": "gaussian_level_cut", "covariance": "matern", "correlation_length": 2.0},
            r"medium\.covariance",
        ),
    ],
)
def test_bad_medium_named(medium, message):
    data = base()
    data["medium"] = {"ndim": 2, "volume_fraction": 0.3, **medium}
    with pytest.raises(SpecError, match=message):
        load_spec(data)


def test_static_with_finite_volumes_rejected():
    data = base()
    data["solver"]["discretization"] = "fv"
    with pytest.raises(SpecError, match="'static' is not implemented"):
        load_spec(data)
    data["solver"]["bc"] = ["periodic", "mixed"]
    assert load_spec(data).discretization == "fv"


def _adaptive(**sampling) -> dict:
    data = base()
    data["sampling"].update(sampling)
    return data


def test_adaptive_fields_load_and_round_trip():
    spec = load_spec(_adaptive(realizations=8, adaptive_target=0.01, max_realizations=256))
    assert spec.adaptive and spec.adaptive_target == 0.01 and spec.max_realizations == 256
    assert spec.realizations == 8 and spec.allocated_realizations == 256
    assert StudySpec.from_json(spec.to_json()) == spec
    # without them: not adaptive, and the JSON text (a store's identity) has no new keys
    fixed = load_spec(DEFAULT)
    assert not fixed.adaptive and fixed.allocated_realizations == fixed.realizations
    assert "adaptive_target" not in fixed.to_json() and "max_realizations" not in fixed.to_json()


@pytest.mark.parametrize(
    ("sampling", "message"),
    [
        ({"adaptive_target": 0.0, "max_realizations": 256}, r"sampling\.adaptive_target must"),
        ({"adaptive_target": 1.0, "max_realizations": 256}, r"in \(0, 1\).*got 1\.0"),
        ({"adaptive_target": -0.1, "max_realizations": 256}, r"sampling\.adaptive_target"),
        ({"adaptive_target": float("nan"), "max_realizations": 9}, r"sampling\.adaptive_target"),
        ({"adaptive_target": "1%", "max_realizations": 256}, r"sampling\.adaptive_target"),
        ({"adaptive_target": True, "max_realizations": 256}, r"sampling\.adaptive_target"),
        ({"adaptive_target": 0.01}, r"missing field 'sampling\.max_realizations'"),
        ({"max_realizations": 256}, r"sampling\.max_realizations is only used with"),
        (
            {"adaptive_target": 0.01, "max_realizations": 32},
            r"sampling\.max_realizations must be an integer >= sampling\.realizations \(64\), "
            r"got 32",
        ),
        ({"adaptive_target": 0.01, "max_realizations": 100.0}, r"sampling\.max_realizations"),
        (
            {"adaptive_target": 0.01, "max_realizations": 256, "mode": "both", "parent_size": 512},
            r"sampling\.adaptive_target needs sampling\.mode 'independent', got 'both'",
        ),
    ],
)
def test_bad_adaptive_field_is_named(sampling, message):
    with pytest.raises(SpecError, match=message):
        load_spec(_adaptive(**sampling))


def test_physical_lengths_give_the_same_spec_as_sizes():
    """Edges as physical lengths (0.1 * 3 is 0.30000000000000004: still 3 voxels)."""
    data = base()
    data["sampling"]["spacing"] = 0.1
    data["sampling"]["sizes"] = [3, 16, 32]
    by_sizes = load_spec(data)
    del data["sampling"]["sizes"]
    data["sampling"]["lengths"] = [0.1 * 3, 1.6, 3.2]
    by_lengths = load_spec(data)
    assert by_lengths == by_sizes and by_lengths.sizes == (3, 16, 32)
    assert by_lengths.to_json() == by_sizes.to_json()  # the same store, resumed


@pytest.mark.parametrize(
    ("sampling", "message"),
    [
        ({"lengths": [1.0, 1.55]}, r"sampling\.lengths\[1\] must be a whole number"),
        ({"lengths": [0.1, 1.6]}, r"sampling\.lengths\[0\] must be a whole number \(>= 2\)"),
        ({"lengths": [-1.0]}, r"sampling\.lengths\[0\] must be a finite number > 0"),
        ({"lengths": []}, r"sampling\.lengths must be a non-empty list"),
        ({"lengths": [3.2, 1.6]}, r"sampling\.lengths must be strictly increasing"),
        ({"lengths": [1.6], "sizes": [16]}, r"not both"),
    ],
)
def test_bad_lengths_are_named(sampling, message):
    data = base()
    del data["sampling"]["sizes"]
    data["sampling"].update(spacing=0.1, **sampling)
    with pytest.raises(SpecError, match=message):
        load_spec(data)


def test_store_field_is_not_part_of_the_study_identity():
    data = base()
    data["store"] = "somewhere/default.zarr"
    spec = load_spec(data)
    assert spec.store == "somewhere/default.zarr"
    assert spec == load_spec(base()) and spec.to_json() == load_spec(base()).to_json()
    for bad in ("", 3):
        data["store"] = bad
        with pytest.raises(SpecError, match=r"^store must be a non-empty string"):
            load_spec(data)


def test_batch_is_auto_by_default_and_not_part_of_the_study_identity():
    data = base()
    data["solver"].pop("batch", None)
    auto = load_spec(data)
    assert auto.batch == "auto"
    assert StudySpec.from_json(auto.to_json()).batch == "auto"
    data["solver"]["batch"] = 3
    three = load_spec(data)
    assert three.batch == 3 and StudySpec.from_json(three.to_json()).batch == 3
    assert three == auto  # how tasks group realizations changes no result: a store resumes


def test_task_batch_grows_on_small_sves_and_keeps_tasks_per_size():
    from sve.study.spec import AUTO_BATCH, AUTO_BATCH_TASKS, AUTO_BATCH_VOXELS

    data = base()
    data["sampling"] = {"sizes": [16, 64, 512], "realizations": 1024}
    data["solver"]["batch"] = "auto"
    spec = load_spec(data)  # 2-D
    assert AUTO_BATCH_VOXELS // 64**2 == 64 and 1024 // AUTO_BATCH_TASKS == 64
    assert spec.task_batch(64) == 64  # 2**18 voxels a task, 16 tasks
    assert spec.task_batch(16) == 1024 // AUTO_BATCH_TASKS  # capped by the tasks per size
    assert spec.task_batch(512) == AUTO_BATCH  # large SVEs: the former default
    data["sampling"]["realizations"] = 100
    assert load_spec(data).task_batch(64) == AUTO_BATCH  # ceil(100 / 16) = 7 < 8
    data["medium"]["ndim"] = 3
    data["sampling"] = {"sizes": [32], "realizations": 1024}
    assert load_spec(data).task_batch(32) == AUTO_BATCH  # 32^3: 2**18 / 32**3 = 8
    data["solver"]["batch"] = 5
    assert load_spec(data).task_batch(32) == 5  # an explicit batch is kept everywhere


def test_random_laminate_draws_layers_of_whole_cells():
    from sve.study.tasks import generate_sve

    data = base()
    data["medium"] = {
        "generator": "random_laminate",
        "ndim": 3,
        "volume_fraction": 0.4,
        "cell_size": 2,
    }
    phases = generate_sve(load_spec(data), 16, 3)
    layers = phases[:, 0, 0]
    # constant across axis 0 (layers normal to it), whole cells of 2 voxels along it
    np.testing.assert_array_equal(phases, np.broadcast_to(layers[:, None, None], phases.shape))
    np.testing.assert_array_equal(layers[0::2], layers[1::2])
    assert phases.flags.writeable
