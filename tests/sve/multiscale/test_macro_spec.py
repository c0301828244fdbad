"""``sve macro SPEC.toml`` and ``run_macro``: the three material models from a spec, the
statistics over realizations, errors that name the field."""

from __future__ import annotations

import json

import numpy as np
import pytest

from sve.cli import main
from sve.multiscale import run_macro
from sve.study import SpecError

MEDIUM = """
[medium]
generator = "gaussian_level_cut"
ndim = 2
covariance = "exponential"
correlation_length = 2.0
volume_fraction = 0.5
"""

FE2 = (
    """
seed = 3
realizations = 2
[mesh]
shape = [2, 2]
[material]
model = "fe2"
phases = [1.0, 10.0]
sve_size = 8
grading = [0.2, 0.8]
[dirichlet]
xmin = 0.0
xmax = 1.0
"""
    + MEDIUM
)

MESOSCALE = (
    """
seed = 3
realizations = 3
[mesh]
shape = [4, 4]
[material]
model = "mesoscale"
phases = [1.0, 10.0]
sve_size = 8
bc = "kinematic"
[dirichlet]
boundary = {gradient = [1.0, 0.0]}
"""
    + MEDIUM
)


def test_cli_fe2_spec_runs_and_reports_json(tmp_path, capsys):
    path = tmp_path / "fe2.toml"
    path.write_text(FE2)
    assert main(["macro", str(path), "--serial", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["model"] == "fe2" and out["gauss_points"] == 16
    first, second = out["realizations"]
    assert first["cell_solves"] == 16  # every Gauss point its own SVE
    # Conservation: what enters at xmin leaves at xmax (discrete, to round-off).
    assert first["boundary_flux"]["xmax"] == pytest.approx(-first["boundary_flux"]["xmin"])
    assert first["energy"] != second["energy"]  # two realizations of the medium
    stats = out["statistics"]["energy"]
    assert stats["n"] == 2 and stats["low"] < stats["mean"] < stats["high"]
    # A cache folder: the rerun solves nothing and gives the same numbers.
    cache = tmp_path / "cache"
    main(["macro", str(path), "--serial", "--json", "--cache", str(cache)])
    capsys.readouterr()
    assert main(["macro", str(path), "--serial", "--json", "--cache", str(cache)]) == 0
    again = json.loads(capsys.readouterr().out)
    assert [r["cell_solves"] for r in again["realizations"]] == [0, 0]
    assert again["realizations"][0]["energy"] == first["energy"]


def test_mesoscale_spec_energy_lies_between_the_bounds_of_the_windows():
    """With affine data u = x on the whole boundary of a box of KUBC windows, the macro
    energy is at most that of the affine field (1/2 sum |e| K_e,00): the affine field is
    admissible; and positive."""
    out = run_macro(__import__("tomllib").loads(MESOSCALE), client="serial")
    energies = [r["energy"] for r in out["realizations"]]
    assert all(e > 0 for e in energies) and len(set(energies)) == 3
    assert out["realizations"][0]["cell_solves"] == 16  # 4 x 4 windows
    box = 32.0 * 32.0  # 4 windows of 8 voxels per axis
    # Between the phase conductivities times 1/2 |Omega| |G|^2.
    assert 0.5 * box * 1.0 < np.mean(energies) < 0.5 * box * 10.0


def test_homogenized_elasticity_spec(tmp_path, capsys):
    path = tmp_path / "plate.toml"
    path.write_text(
        'physics = "elasticity"\n[mesh]\nshape = [4, 2]\nlength = [2.0, 1.0]\n'
        "[material]\nmoduli = {E = 1.0, nu = 0.3}\n"
        "[dirichlet]\nxmin = [0.0, 0.0]\n[flux]\nxmax = [0.0, -0.01]\n"
    )
    assert main(["macro", str(path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    (record,) = out["realizations"]
    # Equilibrium: the clamp holds the load applied on xmax (0, -0.01 x area 1).
    assert record["boundary_flux"]["xmin"] == pytest.approx([0.0, 0.01], abs=1e-12)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("physics = 'heat'", "physics"),
        ("[mesh]\nshape = 3", "mesh.shape"),
        ("[mesh]\nshape = [2, 2]\n[material]\nmodel = 'dns'", "material.model"),
        ("[mesh]\nshape = [2, 2]\n[material]\nmodel = 'fe2'\nphases = [1.0]", r"\[medium\]"),
        ("[mesh]\nshape = [2, 2]\n[material]\nconductivity = -1.0", "material.conductivity"),
        ("[mesh]\nshape = [2, 2]\n[material]\n", "needs tensor"),
        ("colour = 1", "unknown top-level"),
        (
            "[mesh]\nfile = 'a.msh'\n[material]\nmodel = 'mesoscale'\nphases = [1.0]\n" + MEDIUM,
            "mesh.shape",
        ),
        (
            "[mesh]\nshape = [2, 2]\n[material]\nconductivity = 1.0\n[dirichlet]\nxmin = 'a'",
            "dirichlet.xmin",
        ),
    ],
)
def test_bad_specs_name_the_field(text, match):
    import tomllib

    with pytest.raises(SpecError, match=match):
        run_macro(tomllib.loads(text), client="serial")


def test_cli_error_exit_status(tmp_path, capsys):
    path = tmp_path / "bad.toml"
    path.write_text("physics = 'heat'\n")
    assert main(["macro", str(path)]) == 2
    assert "physics" in capsys.readouterr().err


def test_spec_with_a_mesh_file(tmp_path):
    meshio = pytest.importorskip("meshio")
    from sve.multiscale import box_mesh

    mesh = box_mesh((4, 2), length=(2.0, 1.0), element="tri")
    meshio.Mesh(mesh.p.T, [("triangle", mesh.t.T)]).write(tmp_path / "plate.vtk")
    spec = tmp_path / "plate.toml"
    spec.write_text(
        '[mesh]\nfile = "plate.vtk"\n[material]\nconductivity = 2.0\n'
        "[dirichlet]\nboundary = {gradient = [1.0, 0.0]}\n"
    )
    out = run_macro(spec)
    # u = x on the whole boundary of a 2 x 1 plate of conductivity 2: energy 1/2 2 |Omega|.
    assert out["realizations"][0]["energy"] == pytest.approx(2.0, rel=1e-12)


@pytest.mark.slow
def test_worker_processes_give_the_serial_numbers():
    """FE² on a local cluster of 2 worker processes: bit-identical to the serial loop."""
    import tomllib

    data = tomllib.loads(FE2)
    serial = run_macro(data, client="serial")
    parallel = run_macro(data, workers=2)
    for a, b in zip(serial["realizations"], parallel["realizations"], strict=True):
        assert a["energy"] == b["energy"] and a["boundary_flux"] == b["boundary_flux"]


def _wrapped(flat: str) -> str:
    """A flat macro spec with its problem moved into a [macro] table (its top-level keys
    come before any table; the [medium] left at the top level): the layout of `sve run`."""
    head, medium = flat.split("[medium]")
    lines = [
        "[macro." + line[1:] if line.startswith("[") else line
        for line in head.strip().splitlines()
    ]
    return "[macro]\n" + "\n".join(lines) + "\n[medium]" + medium


def test_sve_run_dispatches_a_macro_section_to_sve_macro(tmp_path, capsys):
    """`sve run` on a spec whose problem is in a [macro] table prints what `sve macro`
    prints on the flat spec (the same code: bit-identical numbers); the flat spec runs
    under `sve run` too, and `sve macro` takes the [macro] layout."""
    flat = tmp_path / "flat.toml"
    flat.write_text(MESOSCALE)
    wrapped = tmp_path / "wrapped.toml"
    wrapped.write_text(_wrapped(MESOSCALE))
    assert "[macro.mesh]" in wrapped.read_text()
    outputs = []
    for command, path in (("macro", flat), ("run", wrapped)):
        assert main([command, str(path), "--serial", "--json"]) == 0
        outputs.append(json.loads(capsys.readouterr().out))
    assert outputs[0] == {**outputs[1], "realizations": outputs[0]["realizations"]}
    energies = [[r["energy"] for r in out["realizations"]] for out in outputs]
    assert energies[0] == energies[1] and len(energies[0]) == 3
    # a homogenized plate, u = x on its boundary: energy 1/2 k |Omega| = 1
    plate = "[mesh]\nshape = [2, 2]\n[material]\nconductivity = 2.0\n"
    plate += "[dirichlet]\nboundary = {gradient = [1.0, 0.0]}\n[medium]\n"
    flat.write_text(plate)
    wrapped.write_text(_wrapped(plate))
    for command, path in (("run", flat), ("macro", wrapped), ("run", wrapped)):
        assert main([command, str(path)]) == 0
        assert "realization 0: energy 1;" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("[macro]\nphysics = 'conductivity'\n[sampling]\nsizes = [8]", r"\[macro\] table"),
        ("[macro]\n[mesh]\nshape = [2, 2]", r"\[macro\] table"),
        ("[mesh]\nshape = [2, 2]\n[property]\nname = 'conductivity'", "mixes macro fields"),
        ("macro = 1", "macro must be a table"),
        ("[macro.medium]\nndim = 2\n[medium]\nndim = 2", "medium is given twice"),
        ("colour = 1\n[mesh]\nshape = [2, 2]", "unknown top-level fields"),  # a macro typo
    ],
)
def test_sve_run_refuses_a_spec_that_mixes_macro_and_study(tmp_path, capsys, text, match):
    path = tmp_path / "mixed.toml"
    path.write_text(text)
    assert main(["run", str(path)]) == 2
    err = capsys.readouterr().err
    assert __import__("re").search(match, err), err


def test_sve_run_options_of_the_other_kind_are_refused(tmp_path, capsys):
    path = tmp_path / "wrapped.toml"
    path.write_text(_wrapped(MESOSCALE))
    assert main(["run", str(path), "--store", str(tmp_path / "x.zarr")]) == 2
    assert "--store" in capsys.readouterr().err
    study = tmp_path / "study.toml"
    study.write_text("[sampling]\nsizes = [8]\n")
    assert main(["run", str(study), "--serial"]) == 2
    assert "--serial are for macro specs" in capsys.readouterr().err


def test_the_specs_of_studies_are_told_apart():
    """studies/fe2_graded.toml holds its problem in a [macro] table (sve run runs it as
    sve macro); every other spec there is a study."""
    from pathlib import Path

    from sve.study.spec import macro_tables, read_spec_tables, spec_kind

    folder = Path(__file__).parents[3] / "studies"
    kinds = {p.name: spec_kind(read_spec_tables(p)) for p in folder.glob("*.toml")}
    assert kinds.pop("fe2_graded.toml") == "macro"
    assert kinds and set(kinds.values()) == {"study"}
    flat = macro_tables(read_spec_tables(folder / "fe2_graded.toml"))
    assert set(flat) == {"physics", "seed", "realizations", "mesh", "material", "medium",
                         "dirichlet"}  # fmt: skip


P0 = """
[macro]
seed = 5
realizations = 2
[macro.mesh]
shape = [4, 4]
element = "p0"
[macro.material]
model = "mesoscale"
phases = [1.0, 20.0]
sve_size = 8
spacing = 0.5
bc = "kinematic"
[macro.dirichlet]
boundary = {gradient = [1.0, 0.3]}
[medium]
generator = "gaussian_level_cut"
ndim = 2
covariance = "exponential"
correlation_length = 1.0
volume_fraction = 0.4
"""

P0_FLUX = P0.replace('bc = "kinematic"', 'bc = "static"').replace(
    "[macro.dirichlet]\nboundary = {gradient = [1.0, 0.3]}",
    "[macro.flux]\nxmin = -1.0\nxmax = 1.0\nymin = -0.3\nymax = 0.3",
)


def _parents(text: str) -> list[np.ndarray]:
    """The parents of a mesoscale spec: realization r draws a (max(shape) sve_size)^d
    image from SeedSequence(seed, spawn_key=(r,)) and keeps the box of the windows."""
    import tomllib

    from sve.multiscale.spec import _fail
    from sve.study.media import draw_medium, validate_medium
    from sve.study.spec import _positive

    data = tomllib.loads(text)
    medium = validate_medium(dict(data["medium"]), _positive, _fail)
    size, spacing = data["macro"]["material"]["sve_size"], 0.5
    shape = data["macro"]["mesh"]["shape"]
    return [
        draw_medium(medium, max(shape) * size, spacing, np.random.default_rng(
            np.random.SeedSequence(data["macro"]["seed"], spawn_key=(r,))
        ))
        for r in range(data["macro"]["realizations"])
    ]  # fmt: skip


def test_sve_run_p0_spec_gives_the_numbers_of_mesoscale_bracket(tmp_path, capsys):
    """`sve run` on a spec with mesh.element = "p0" (affine Dirichlet data with KUBC
    windows, uniform flux data with SUBC windows) prints, per realization, the energy
    that `mesoscale_bracket(..., element="p0")` gives on the same parent (the same
    window solves: agreement to round-off, 1e-12), and at least the energy of the same
    spec with bilinear elements (G . x is a Q1 field: the Q1 minimum is lower)."""
    from sve.multiscale import mesoscale_bracket

    results = {}
    for name, text in (("affine", P0), ("flux", P0_FLUX), ("q1", P0.replace('"p0"', '"quad"'))):
        path = tmp_path / f"{name}.toml"
        path.write_text(text)
        assert main(["run", str(path), "--serial", "--json"]) == 0
        results[name] = json.loads(capsys.readouterr().out)
    assert results["affine"]["elements"] == results["affine"]["gauss_points"] == 16
    for r, parent in enumerate(_parents(P0)):
        python = mesoscale_bracket(
            parent, (4, 4), [1.0, 20.0], gradient=[1.0, 0.3], flux=[1.0, 0.3],
            element="p0", spacing=0.5, tol=1e-8,
        )  # fmt: skip
        affine = results["affine"]["realizations"][r]
        flux = results["flux"]["realizations"][r]
        assert affine["energy"] == pytest.approx(python.kinematic, rel=1e-12)
        assert flux["energy"] == pytest.approx(python.static_complementary, rel=1e-12)
        assert results["q1"]["realizations"][r]["energy"] <= affine["energy"] * (1 + 1e-8)
        # Exact P0 reactions: none through the whole boundary, Q . n |face| per face.
        assert affine["boundary_flux"] == {"boundary": 0.0}
        assert flux["boundary_flux"] == {"xmin": -16.0, "xmax": 16.0, "ymin": -4.8, "ymax": 4.8}
    energies = [rec["energy"] for rec in results["affine"]["realizations"]]
    assert energies[0] != energies[1]  # two parents


@pytest.mark.parametrize(
    ("old", "new", "match"),
    [
        (
            'element = "p0"',
            'element = "p1"',
            r"mesh\.element must be one of \('quad', 'tri', 'p0'\)",
        ),
        ('model = "mesoscale"', 'model = "fe2"', "mesh.element = 'p0' needs material.model"),
        ("boundary = {gradient", "xmin = 0.0\nxmax = {gradient", "dirichlet parts"),
        ("[macro.dirichlet]", "[macro.flux]\nymax = 1.0\n[macro.dirichlet]", "not both"),
    ],
)
def test_p0_spec_errors_name_the_field_and_the_file(tmp_path, old, new, match):
    path = tmp_path / "bad-p0.toml"
    assert old in P0
    path.write_text(P0.replace(old, new))
    with pytest.raises(ValueError, match=match) as info:
        run_macro(path, client="serial")
    assert str(path) in str(info.value)


def test_p0_flux_spec_must_be_uniform():
    import tomllib

    data = tomllib.loads(P0_FLUX.replace("xmin = -1.0", "xmin = -2.0"))
    with pytest.raises(SpecError, match="flux.xmin must be minus flux.xmax"):
        run_macro(data, client="serial")


def test_elastic_p0_spec_gives_the_numbers_of_mesoscale_bracket():
    """Elasticity: u = E x on the whole boundary (KUBC windows) and t = S n on the faces
    (SUBC windows), as the Python call (round-off); the P0 face resultants are S n |face|."""
    import tomllib

    from sve.multiscale import mesoscale_bracket
    from sve.solvers import isotropic

    E = [[0.01, 0.002], [0.002, -0.003]]
    text = P0.replace("[macro]\n", '[macro]\nphysics = "elasticity"\nrealizations = 1\n', 1)
    text = (
        text.replace("realizations = 2\n", "")
        .replace("[4, 4]", "[2, 2]")
        .replace("phases = [1.0, 20.0]", "phases = [{E = 1.0, nu = 0.3}, {E = 10.0, nu = 0.3}]")
    )
    affine = text.replace("[1.0, 0.3]}", "[[0.01, 0.002], [0.002, -0.003]]}")
    flux = text.replace('bc = "kinematic"', 'bc = "static"').replace(
        "[macro.dirichlet]\nboundary = {gradient = [1.0, 0.3]}",
        "[macro.flux]\nxmin = [-0.01, -0.002]\nxmax = [0.01, 0.002]\n"
        "ymin = [-0.002, 0.003]\nymax = [0.002, -0.003]",
    )
    (a,) = run_macro(tomllib.loads(affine), client="serial")["realizations"]
    (f,) = run_macro(tomllib.loads(flux), client="serial")["realizations"]
    phases = [isotropic(2, E=1.0, nu=0.3), isotropic(2, E=10.0, nu=0.3)]
    python = mesoscale_bracket(
        _parents(text)[0], (2, 2), phases, physics="elasticity", gradient=E, flux=E,
        element="p0", spacing=0.5,
    )  # fmt: skip
    assert a["energy"] == pytest.approx(python.kinematic, rel=1e-12)
    assert f["energy"] == pytest.approx(python.static_complementary, rel=1e-12)
    assert a["boundary_flux"] == {"boundary": [0.0, 0.0]}
    assert f["boundary_flux"]["xmax"] == pytest.approx([0.08, 0.016], rel=1e-12)  # |face| 8
    assert f["boundary_flux"]["ymin"] == pytest.approx([-0.016, 0.024], rel=1e-12)
    asymmetric = flux.replace("ymin = [-0.002, 0.003]", "ymin = [-0.004, 0.003]")
    asymmetric = asymmetric.replace("ymax = [0.002, -0.003]", "ymax = [0.004, -0.003]")
    with pytest.raises(SpecError, match="symmetric stress"):
        run_macro(tomllib.loads(asymmetric), client="serial")
