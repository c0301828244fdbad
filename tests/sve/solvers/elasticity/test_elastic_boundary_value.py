"""The elastic boundary-value solver on the voxels of a whole part.

Affine displacements are in the Q1 space: homogeneous media reproduce them to the solver
tolerance; the boundary-value problems of the kinematic and static cell conditions give
the energies of `apparent_stiffness` (same discretization).
"""

from __future__ import annotations

import numpy as np
import pytest

from sve.solvers import apparent_stiffness
from sve.solvers.elasticity.boundary_value import solve_elasticity_bvp
from sve.solvers.moduli import isotropic
from tests.sve.solvers._media import smooth_two_phase


def _affine(E):
    """u = E x as a function of the coordinates, (..., d)."""
    return lambda *x: np.stack(
        [sum(E[i, j] * x[j] for j in range(len(x))) for i in range(len(x))], -1
    )


@pytest.mark.parametrize("ndim", [2, 3])
def test_homogeneous_affine_displacement_is_exact(ndim):
    """u = E x on the boundary of a homogeneous box: u = E x inside (to 1e-9), the stress
    C : E in every voxel, energy 1/2 E : C : E V."""
    n = 8 if ndim == 2 else 4
    E = np.array([[0.01, 0.003, -0.002], [0.003, -0.004, 0.001], [-0.002, 0.001, 0.002]])[
        :ndim, :ndim
    ]
    C = isotropic(ndim, E=2.0, nu=0.3)
    result = solve_elasticity_bvp(
        np.zeros((n,) * ndim, np.int8),
        [{"E": 2.0, "nu": 0.3}],
        displacement={"boundary": _affine(E)},
        spacing=0.5,
        tol=1e-12,
    )
    x = np.stack(np.meshgrid(*(np.arange(n + 1) * 0.5 for _ in range(ndim)), indexing="ij"), -1)
    np.testing.assert_allclose(result.displacement, x @ E.T, atol=1e-10)
    pairs = {2: ((0, 0), (1, 1), (0, 1)), 3: ((0, 0), (1, 1), (2, 2), (1, 2), (0, 2), (0, 1))}
    mandel = np.array([E[i, j] * (1 if i == j else np.sqrt(2)) for i, j in pairs[ndim]])
    np.testing.assert_allclose(result.stress, np.broadcast_to(C @ mandel, result.stress.shape),
                               atol=1e-10)  # fmt: skip
    volume = (n * 0.5) ** ndim
    assert result.energy == pytest.approx(0.5 * mandel @ C @ mandel * volume, rel=1e-9)


def test_bar_on_rollers_under_traction():
    """Plane strain bar: rollers on xmin (u_x = 0) and ymin (u_y = 0), traction (s, 0) on
    xmax, the rest free: uniform stress s_xx = s, strains (1 - nu^2) s / E and -nu (1 + nu)
    s / E (plane strain), exact in Q1; the reaction on xmin is -s times its length;
    Clapeyron holds."""
    E, nu, s = 3.0, 0.2, 0.05
    result = solve_elasticity_bvp(
        np.zeros((12, 6), np.int8),
        [{"E": E, "nu": nu}],
        displacement={"xmin": (0.0, None), "ymin": (None, 0.0)},
        traction={"xmax": (s, 0.0)},
        spacing=0.25,
        tol=1e-12,
    )
    exx, eyy = (1 - nu**2) * s / E, -nu * (1 + nu) * s / E
    np.testing.assert_allclose(result.strain[..., 0], exx, rtol=1e-8)
    np.testing.assert_allclose(result.strain[..., 1], eyy, rtol=1e-8)
    np.testing.assert_allclose(result.stress[..., 0], s, rtol=1e-8)
    np.testing.assert_allclose(result.stress[..., 1:], 0.0, atol=1e-10)
    np.testing.assert_allclose(result.face_force["xmin"], [-s * 1.5, 0.0], atol=1e-10)
    np.testing.assert_allclose(result.face_force["xmax"], [s * 1.5, 0.0], atol=1e-12)
    assert result.boundary_work == pytest.approx(2 * result.energy, rel=1e-9)
    assert result.iterations < 40


@pytest.mark.parametrize("bc", ["kinematic", "static"])
def test_matches_the_elastic_cell_solver(bc):
    """Kinematic: u = E x on the boundary gives energy 1/2 E . C_KUBC E V; static: the
    uniform traction Sigma . n on every face (no displacement data: rigid motions
    projected out) gives 1/2 Sigma . S_SUBC Sigma V. Both at 1e-10: 1e-6 relative."""
    rng = np.random.default_rng(2)
    phases = smooth_two_phase((16, 16), rng)
    materials = [{"E": 1.0, "nu": 0.3}, {"E": 8.0, "nu": 0.2}]
    tensor = apparent_stiffness(phases, materials, bc=bc, tol=1e-11).tensor
    load = np.array([0.01, -0.005, 0.004 * np.sqrt(2)])  # Mandel
    matrix = np.array([[load[0], load[2] / np.sqrt(2)], [load[2] / np.sqrt(2), load[1]]])
    if bc == "kinematic":
        result = solve_elasticity_bvp(
            phases, materials, displacement={"boundary": _affine(matrix)}, tol=1e-11
        )
        expected = 0.5 * load @ tensor @ load * 256
    else:
        faces = {
            "xmin": -matrix[:, 0], "xmax": matrix[:, 0],
            "ymin": -matrix[:, 1], "ymax": matrix[:, 1],
        }  # fmt: skip
        result = solve_elasticity_bvp(
            phases, materials, traction={f: tuple(v) for f, v in faces.items()}, tol=1e-11
        )
        expected = 0.5 * load @ np.linalg.inv(tensor) @ load * 256
        assert any("zero-energy" in note for note in result.notes)
    assert result.energy == pytest.approx(expected, rel=1e-6)


def test_hole_balance_and_unbalanced_loads():
    """A plate with a hole under gravity, clamped on ymin: the face forces balance the
    body force; a free plate (no displacement data) under gravity has no equilibrium."""
    phases = np.zeros((12, 12), np.int8)
    phases[4:8, 4:8] = 1
    materials = [{"E": 1.0, "nu": 0.3}, np.zeros((3, 3))]
    result = solve_elasticity_bvp(
        phases,
        materials,
        displacement={"ymin": (0.0, 0.0)},
        body_force=(0.0, -1.0),
        tol=1e-11,
    )
    total = sum(result.face_force.values()) + result.body_total
    np.testing.assert_allclose(total, 0.0, atol=1e-8)
    assert result.body_total[1] == pytest.approx(-(144 - 16))
    assert np.isnan(result.displacement[6, 6]).all()
    with pytest.raises(ValueError, match="zero-energy mode"):
        solve_elasticity_bvp(phases, materials, body_force=(0.0, -1.0))


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(displacement={"west": (0.0, 0.0)}), ValueError, "face must be one of"),
        (dict(displacement={"xmin": 0.0}), TypeError, "sequence of 2"),
        (
            dict(displacement={"xmin": (0.0, 0.0)}, traction={"xmin": (1.0, 0.0)}),
            ValueError,
            "every component",
        ),
        (dict(displacement={"xmin": (0.0, 0.0)}, body_force=np.ones(3)), ValueError, "vector"),
        (
            dict(displacement={"xmin": (0.0, 0.0)}, traction={"xmax": (1.0,)}),
            ValueError,
            "2 numbers",
        ),
        (dict(displacement={"xmin": (0.0, 0.0), "ymin": (1.0, 0.0)}), ValueError, "different"),
    ],
)
def test_bad_inputs(kwargs, error, match):
    with pytest.raises(error, match=match):
        solve_elasticity_bvp(np.zeros((6, 6), np.int8), [{"E": 1.0, "nu": 0.3}], **kwargs)


def test_elastic_memory_budget_is_checked():
    from sve.solvers import MemoryBudgetError

    with pytest.raises(MemoryBudgetError, match="solve_elasticity_bvp"):
        solve_elasticity_bvp(
            np.zeros((32, 32), np.int8),
            [{"E": 1.0, "nu": 0.3}],
            displacement={"xmin": (0.0, 0.0)},
            memory_limit="1 MB",
        )
