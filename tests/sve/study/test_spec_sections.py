"""StudySpec as nested frozen sections with a schema version; the flat names stay."""

import dataclasses
import json
import pickle
import tomllib
from pathlib import Path

import pytest

from sve.study import SpecError, StudySpec, load_spec
from sve.study.spec import (
    FLAT_FIELDS,
    SCHEMA_VERSION,
    PhysicsSection,
    SamplingSection,
    SolverSection,
    SweepSection,
    Table,
)

TOML = Path(__file__).parents[2] / "fixtures" / "store_v0.toml"


def test_sections_mirror_the_toml_tables_and_flat_names_read_them():
    spec = load_spec(TOML)
    assert isinstance(spec.physics, PhysicsSection) and spec.physics.name == "conductivity"
    assert isinstance(spec.sampling, SamplingSection) and spec.sampling.sizes == (6, 8)
    assert isinstance(spec.solver, SolverSection) and spec.solver.tol == 1e-8
    assert spec.sweep == SweepSection() and not spec.swept
    assert isinstance(spec.medium, Table) and spec.medium["generator"] == "gaussian_level_cut"
    for flat, (section, key) in FLAT_FIELDS.items():
        assert getattr(spec, flat) == getattr(getattr(spec, section), key), flat


def test_sections_are_frozen():
    spec = load_spec(TOML)
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.sampling.realizations = 5
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.name = "other"
    with pytest.raises(TypeError):
        spec.medium["ndim"] = 3
    with pytest.raises(AttributeError):
        spec.sizes = (4,)
    assert hash(spec) == hash(load_spec(TOML))
    assert pickle.loads(pickle.dumps(spec)) == spec  # specs travel to Dask workers


def test_replace_routes_flat_names_to_their_section():
    spec = load_spec(TOML)
    other = spec.replace(realizations=5, tol=1e-4, name="b")
    assert (other.sampling.realizations, other.solver.tol, other.name) == (5, 1e-4, "b")
    assert other.sizes == spec.sizes and spec.realizations == 3
    with pytest.raises(TypeError, match="no field 'realisations'"):
        spec.replace(realisations=5)


def test_json_is_the_toml_layout_with_a_schema_version():
    spec = load_spec(TOML)
    data = json.loads(spec.to_json())
    assert data["schema_version"] == SCHEMA_VERSION == 2
    assert set(data) == {"schema_version", "name", "seed", "medium", "property", "sampling",
                         "solver"}  # fmt: skip
    assert load_spec(data) == spec == StudySpec.from_json(spec.to_json())
    toml = tomllib.loads(TOML.read_text())
    assert load_spec({**toml, "schema_version": 1}) == spec  # the TOML layout did not change
    assert load_spec({**toml, "schema_version": 2}) == spec


@pytest.mark.parametrize("version", [3, 0, "2", True])
def test_an_unknown_schema_version_is_refused(version):
    toml = tomllib.loads(TOML.read_text())
    with pytest.raises(SpecError, match=r"schema_version must be an integer from 1 to 2"):
        load_spec({**toml, "schema_version": version})
    text = json.dumps({**json.loads(load_spec(TOML).to_json()), "schema_version": version})
    with pytest.raises(SpecError, match="schema_version"):
        StudySpec.from_json(text)


def test_flat_version_1_text_reads_back():
    spec = load_spec(TOML)
    flat = {key: getattr(spec, key) for key in FLAT_FIELDS}
    text = json.dumps({**flat, "name": spec.name, "seed": spec.seed, "medium": dict(spec.medium)})
    assert StudySpec.from_json(text) == spec
    assert StudySpec.from_flat(**flat, name=spec.name, seed=spec.seed, medium=spec.medium) == spec
