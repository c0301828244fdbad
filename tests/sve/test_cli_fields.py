"""`sve solve --fields OUT.npz`: the local fields of one image from the command line."""

import json

import numpy as np

from sve import apparent_conductivity, apparent_stiffness
from sve.cli import main


def test_solve_writes_the_conductivity_fields(tmp_path, capsys):
    phases = np.random.default_rng(0).integers(0, 2, (6, 7)).astype(np.int8)
    image, out = tmp_path / "medium.npy", tmp_path / "fields.npz"
    np.save(image, phases)
    argv = ["solve", str(image), "--conductivity", "1,10", "--bc", "periodic", "--bc", "static"]
    assert main(argv + ["--fields", str(out), "--json"]) == 0
    records = json.loads(capsys.readouterr().out)
    assert [r["fields"] for r in records] == [str(out)] * 2
    with np.load(out) as saved:
        for bc in ("periodic", "static"):
            expected = apparent_conductivity(phases, [1.0, 10.0], bc=bc, fields="full")
            np.testing.assert_array_equal(saved[f"{bc}_gradient"], expected.fields.gradient)
            np.testing.assert_array_equal(saved[f"{bc}_flux"], expected.fields.flux)
            np.testing.assert_array_equal(saved[f"{bc}_corrector"], expected.fields.corrector)
            np.testing.assert_array_equal(
                saved[f"{bc}_gradient_moment"], expected.phase_moments.gradient_moment
            )
            np.testing.assert_array_equal(
                saved[f"{bc}_coordinates_1"], expected.fields.coordinates[1]
            )
        assert saved["periodic_corrector"].shape == (2, 6, 7)
        assert saved["static_corrector"].shape == (2, 7, 8)


def test_solve_writes_the_elastic_fields(tmp_path, capsys):
    image, out = tmp_path / "medium.npy", tmp_path / "fields.npz"
    phases = np.zeros((4, 5), dtype=np.int8)
    phases[:, 2:] = 1
    np.save(image, phases)
    argv = ["solve", str(image), "--stiffness", "E=1,nu=0.3", "--stiffness", "K=5,G=2"]
    assert main(argv + ["--fields", str(out)]) == 0
    assert f"local fields written to {out}" in capsys.readouterr().out
    expected = apparent_stiffness(
        phases, [{"E": 1.0, "nu": 0.3}, {"K": 5.0, "G": 2.0}], fields="full"
    )
    with np.load(out) as saved:
        np.testing.assert_array_equal(saved["periodic_stress"], expected.fields.stress)
        np.testing.assert_array_equal(saved["periodic_strain"], expected.fields.strain)
        np.testing.assert_array_equal(saved["periodic_energy"], expected.phase_moments.energy)
        assert saved["periodic_corrector"].shape == (3, 4, 5, 2)
