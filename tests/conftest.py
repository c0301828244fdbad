"""Fixtures shared by the whole suite: the tiny study and its in-process solution.

The tiny study (``TINY_TOML``): a 2-D Gaussian level cut at contrast 10,
sizes 6 to 18 voxels, 8 realizations, periodic conditions; it solves in a
few seconds without Dask. Tests that need a variant (other conditions, other
sizes) build it with the ``tiny_spec_data`` factory rather than pasting a
spec of their own.
"""

import copy
import json
import tomllib

import pytest

TINY_TOML = """\
name = "tiny"
seed = 11
[medium]
generator = "gaussian_level_cut"
ndim = 2
covariance = "gaussian"
correlation_length = 1.5
volume_fraction = 0.5
[property]
name = "conductivity"
phases = [1.0, 10.0]
[sampling]
sizes = [6, 9, 12, 18]
realizations = 8
[solver]
bc = ["periodic"]
batch = 4
"""


@pytest.fixture(scope="session")
def tiny_toml() -> str:
    """The tiny study as TOML text (what a spec file holds)."""
    return TINY_TOML


@pytest.fixture(scope="session")
def tiny_spec_data():
    """Factory: the tiny study as a fresh dict, each given table updated.

    ``tiny_spec_data(solver={"bc": ["kinematic", "periodic"]})`` changes
    ``solver.bc`` and keeps the other solver fields.
    """

    def make(**tables) -> dict:
        data = copy.deepcopy(tomllib.loads(TINY_TOML))
        for table, fields in tables.items():
            if isinstance(fields, dict) and isinstance(data.get(table), dict):
                data[table].update(fields)
            else:
                data[table] = fields
        return data

    return make


@pytest.fixture(scope="session")
def solve_study():
    """Factory: a study's dataset solved in-process (no Dask, no store).

    ``solve_study(spec, sizes=None)`` solves the size indices ``sizes`` (all
    by default; the others stay pending) and records one run in
    ``attrs["runs"]``.
    """
    from sve.study.schema import empty_dataset
    from sve.study.tasks import solve_batch

    def solve(spec, sizes=None):
        ds = empty_dataset(spec)
        for k, size in enumerate(spec.sizes):
            if sizes is None or k in sizes:
                for name, values in solve_batch(spec, size, range(spec.realizations)).items():
                    ds[name][k] = values
        ds.attrs["runs"] = json.dumps(
            [{"started": "t0", "finished": "t1", "wall_time_s": 1.0, "workers": 2,
              "scheduler": "test", "tasks": 8, "failed_tasks": 0}]
        )  # fmt: skip
        return ds

    return solve
