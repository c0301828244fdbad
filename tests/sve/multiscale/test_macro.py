"""The macro solver: patch tests, manufactured solutions at the element's rate, loads and
boundary fluxes, bad input.

Tolerances: an affine field lies in the Q1 and P1 spaces, so the patch tests hold to
round-off (1e-10 relative: a direct solve of at most a few thousand unknowns, condition
numbers below 1e4). Convergence rates are log-log slopes over the last two of four
meshes, in the asymptotic range; the tolerance 0.1 on the slope is what is left of the
higher-order terms there (measured slopes within 0.02 of the theory).
"""

from __future__ import annotations

import numpy as np
import pytest
import skfem

from sve.multiscale import BOX_FACES, box_mesh, read_mesh, solve_macro
from sve.solvers import isotropic

K2 = np.array([[2.0, 0.6], [0.6, 1.0]])  # anisotropic, principal axes off the mesh
K3 = np.array([[2.0, 0.3, 0.1], [0.3, 1.5, -0.2], [0.1, -0.2, 1.0]])


def _anisotropic_stiffness(ndim: int) -> np.ndarray:
    """An isotropic stiffness plus an SPD perturbation that couples shear and normals."""
    base = isotropic(ndim, lam=1.0, mu=0.8)
    m = base.shape[0]
    coupling = np.full((m, m), 0.1) + np.diag(np.linspace(0.2, 0.5, m))
    return base + coupling


def _distorted(mesh: skfem.Mesh, amount: float = 0.15) -> skfem.Mesh:
    """Move the interior nodes (a patch test on a mesh that is not a tensor grid)."""
    p = mesh.p.copy()
    interior = np.setdiff1d(np.arange(p.shape[1]), mesh.boundary_nodes())
    rng = np.random.default_rng(5)
    h = 1.0 / round(mesh.t.shape[1] ** (1 / mesh.dim()))
    p[:, interior] += amount * h * rng.uniform(-1, 1, (p.shape[0], interior.size))
    return type(mesh)(p, mesh.t, _boundaries=mesh.boundaries)


def _volume(result) -> float:
    return float(result.weights.sum())


@pytest.mark.parametrize(
    ("shape", "element", "K"),
    [((4, 3), "quad", K2), ((4, 3), "tri", K2), ((3, 2, 2), "hex", K3), ((2, 2, 3), "tet", K3)],
)
def test_conductivity_patch_test(shape, element, K):
    ndim = len(shape)
    G = np.linspace(0.4, -0.9, ndim)
    mesh = _distorted(box_mesh(shape, element=element))
    result = solve_macro(mesh, K, dirichlet={"boundary": lambda x: 1.5 + G @ x})
    assert np.allclose(result.gradient, G, rtol=0, atol=1e-10)
    assert np.allclose(result.flux, K @ G, rtol=0, atol=1e-10)
    assert result.energy == pytest.approx(0.5 * G @ K @ G * _volume(result), rel=1e-10)
    # The total flux through the face x0 = 1: (K G)_0 times its area 1.
    assert result.boundary_flux("xmax") == pytest.approx((K @ G)[0], rel=1e-10)


@pytest.mark.parametrize(("shape", "element"), [((4, 3), "quad"), ((3, 2, 2), "hex")])
def test_elasticity_patch_test(shape, element):
    ndim = len(shape)
    C = _anisotropic_stiffness(ndim)
    rng = np.random.default_rng(1)
    H = rng.uniform(-0.5, 0.5, (ndim, ndim))  # strain plus a rotation
    strain = 0.5 * (H + H.T)
    mandel = np.array(
        [strain[0, 0], strain[1, 1], np.sqrt(2) * strain[0, 1]]
        if ndim == 2
        else [
            strain[0, 0],
            strain[1, 1],
            strain[2, 2],
            np.sqrt(2) * strain[1, 2],
            np.sqrt(2) * strain[0, 2],
            np.sqrt(2) * strain[0, 1],
        ]
    )
    mesh = _distorted(box_mesh(shape, element=element))
    result = solve_macro(
        mesh, C, physics="elasticity", dirichlet={"boundary": lambda x: H @ x + 0.1}
    )
    assert np.allclose(result.gradient, mandel, rtol=0, atol=1e-10)
    assert np.allclose(result.flux, C @ mandel, rtol=0, atol=1e-10)
    assert result.energy == pytest.approx(0.5 * mandel @ C @ mandel, rel=1e-10)
    if ndim == 2:  # the force on the face x0 = 1 (area 1): sigma e0
        stress = C @ mandel
        force = np.array([stress[0], stress[2] / np.sqrt(2)])
        assert np.allclose(result.boundary_flux("xmax"), force, rtol=0, atol=1e-10)


def _uniform_flux(Q: np.ndarray) -> dict:
    """``q . n = Q . n`` on every face of the unit box."""
    data = {}
    for axis in range(Q.size):
        low, high = BOX_FACES[axis]
        data[low] = -Q[axis]
        data[high] = float(Q[axis])
    return data


def test_pure_flux_problem_recovers_the_affine_field():
    """Uniform flux data on the whole boundary (no Dirichlet part): the gradient is
    K^-1 Q everywhere and the energy the complementary energy 1/2 Q.K^-1 Q |Omega|."""
    Q = np.array([1.0, -0.5])
    mesh = _distorted(box_mesh((5, 4)))
    result = solve_macro(mesh, K2, flux=_uniform_flux(Q))
    G = np.linalg.solve(K2, Q)
    assert np.allclose(result.gradient, G, rtol=0, atol=1e-10)
    assert result.energy == pytest.approx(0.5 * Q @ G, rel=1e-10)
    assert abs(result.field.sum()) < 1e-10  # the constant is fixed by a zero node sum
    assert result.boundary_flux("xmax") == pytest.approx(Q[0], rel=1e-12)


def test_unbalanced_fluxes_are_refused():
    with pytest.raises(ValueError, match="balance"):
        solve_macro(box_mesh((3, 3)), 1.0, flux={"xmax": 1.0})


def test_reactions_balance_the_source():
    """Total flux out of the boundary equals the integrated source (conservation)."""
    mesh = box_mesh((6, 6))
    result = solve_macro(mesh, K2, dirichlet={"boundary": 0.0}, source=lambda x: 1.0 + x[0] * x[1])
    # div q + f = 0: the flux out of the boundary, int q.n dS = sum of the nodal reactions
    # (each boundary node once), is minus the source integral 1 + 1/4.
    assert result.boundary_flux("boundary") == pytest.approx(-1.25, rel=1e-12)
    assert np.allclose(np.delete(result.reactions, mesh.boundary_nodes()), 0.0, atol=1e-12)


# -- manufactured solutions ------------------------------------------------------------


def _conductivity_errors(n: int, element: str) -> tuple[float, float]:
    """L2 and H1-seminorm errors of u = sin(pi x) sin(pi y) with the anisotropic K2."""
    pi = np.pi

    def exact(x):
        return np.sin(pi * x[0]) * np.sin(pi * x[1])

    def grad(x):
        return pi * np.array(
            [np.cos(pi * x[0]) * np.sin(pi * x[1]), np.sin(pi * x[0]) * np.cos(pi * x[1])]
        )

    def source(x):  # f = -div(K grad u)
        s = np.sin(pi * x[0]) * np.sin(pi * x[1])
        c = np.cos(pi * x[0]) * np.cos(pi * x[1])
        return pi**2 * ((K2[0, 0] + K2[1, 1]) * s - 2 * K2[0, 1] * c)

    mesh = box_mesh((n, n), element=element)
    result = solve_macro(mesh, K2, dirichlet={"boundary": 0.0}, source=source, intorder=4)
    x = np.asarray(result.basis.global_coordinates())
    values = np.asarray(result.basis.interpolate(result.dofs))
    l2 = np.sqrt(np.sum(result.weights * (values - exact(x)) ** 2))
    diff = np.moveaxis(result.gradient, -1, 0) - grad(x)
    h1 = np.sqrt(np.sum(result.weights * (diff**2).sum(0)))
    return l2, h1


def _slopes(errors: list[tuple[float, ...]], sizes: list[int]) -> np.ndarray:
    e = np.log(np.array(errors))
    h = np.log(1.0 / np.array(sizes, dtype=float))
    return (e[-1] - e[-2]) / (h[-1] - h[-2])


@pytest.mark.parametrize("element", ["quad", "tri"])
def test_conductivity_manufactured_solution_converges_at_the_element_rate(element):
    sizes = [4, 8, 16, 32]
    l2, h1 = _slopes([_conductivity_errors(n, element) for n in sizes], sizes)
    assert l2 == pytest.approx(2.0, abs=0.1)  # O(h^2) in L2 for Q1 and P1
    assert h1 == pytest.approx(1.0, abs=0.1)  # O(h) in the H1 seminorm


def _elasticity_errors(n: int, C: np.ndarray) -> tuple[float, float]:
    """u = (sin(pi x) sin(pi y), sin(2 pi x) sin(pi y)) with a fully anisotropic C."""
    pi = np.pi
    # u_c = sin(a_c pi x) sin(b_c pi y)
    a, b = np.array([1.0, 2.0]), np.array([1.0, 1.0])

    def derivatives(x):
        X = np.multiply.outer(a, pi * x[0])
        Y = np.multiply.outer(b, pi * x[1])
        A = (a * pi)[:, None, None] if x.ndim == 3 else (a * pi)[:, None]
        B = (b * pi)[:, None, None] if x.ndim == 3 else (b * pi)[:, None]
        u = np.sin(X) * np.sin(Y)
        du = np.array([A * np.cos(X) * np.sin(Y), B * np.sin(X) * np.cos(Y)])  # (k, c, ...)
        ddu = np.array(
            [
                [-(A**2) * u, A * B * np.cos(X) * np.cos(Y)],
                [A * B * np.cos(X) * np.cos(Y), -(B**2) * u],
            ]
        )  # (k, l, c, ...): d2 u_c / dx_k dx_l
        return u, du, ddu

    r2 = np.sqrt(2)

    def mandel_of(grad):  # grad[k, c] = d u_c / d x_k
        e = 0.5 * (grad + np.swapaxes(grad, 0, 1))
        return np.array([e[0, 0], e[1, 1], r2 * e[0, 1]])

    def source(x):
        _, _, ddu = derivatives(x)
        # d eps_M / d x_l, then d sigma_M / d x_l = C d eps_M / d x_l
        dsig = [np.einsum("ij,j...->i...", C, mandel_of(ddu[:, l])) for l in range(2)]
        # sigma = [[s0, s2/r2], [s2/r2, s1]]; div sigma_i = sum_l d sigma_il / d x_l
        div0 = dsig[0][0] + dsig[1][2] / r2
        div1 = dsig[0][2] / r2 + dsig[1][1]
        return -np.array([div0, div1])

    mesh = box_mesh((n, n))
    result = solve_macro(
        mesh, C, physics="elasticity", dirichlet={"boundary": 0.0 * np.zeros(2)}, source=source,
        intorder=4,
    )  # fmt: skip
    x = np.asarray(result.basis.global_coordinates())
    u, du, _ = derivatives(x)
    values = np.asarray(result.basis.interpolate(result.dofs))
    l2 = np.sqrt(np.sum(result.weights * ((values - u) ** 2).sum(0)))
    diff = np.moveaxis(result.gradient, -1, 0) - mandel_of(du)
    energy = np.sqrt(np.sum(result.weights * (diff**2).sum(0)))
    return l2, energy


def test_elasticity_manufactured_solution_converges_at_the_element_rate():
    C = _anisotropic_stiffness(2)
    sizes = [4, 8, 16, 32]
    l2, strain = _slopes([_elasticity_errors(n, C) for n in sizes], sizes)
    assert l2 == pytest.approx(2.0, abs=0.1)
    assert strain == pytest.approx(1.0, abs=0.1)


# -- meshes ----------------------------------------------------------------------------


def test_holes_from_a_mask_are_traction_free_boundaries():
    """A plate with a hole under uniform flux: the total flux is conserved across it
    (what enters at xmin leaves at xmax)."""
    mask = np.ones((8, 8), dtype=bool)
    mask[3:5, 3:5] = False
    mesh = box_mesh((8, 8), mask=mask)
    assert "holes" in mesh.boundaries and mesh.t.shape[1] == 60
    result = solve_macro(mesh, 1.0, dirichlet={"xmin": 0.0, "xmax": 1.0})
    assert result.boundary_flux("xmax") == pytest.approx(-result.boundary_flux("xmin"), rel=1e-10)
    assert result.boundary_flux("holes") == 0.0
    # A hole lowers the conductance below that of the full plate (1).
    assert 0.5 < result.boundary_flux("xmax") < 1.0


def test_read_mesh_round_trip(tmp_path):
    meshio = pytest.importorskip("meshio")
    mesh = box_mesh((3, 2), element="tri")
    path = tmp_path / "plate.vtk"
    meshio.Mesh(mesh.p.T, [("triangle", mesh.t.T)]).write(path)
    loaded = read_mesh(path, boundaries={"left": lambda x: x[0] < 1e-9})
    assert loaded.t.shape == mesh.t.shape and "left" in loaded.boundaries
    result = solve_macro(loaded, 3.0, dirichlet={"left": 0.0}, flux={"boundary": 0.0})
    assert np.allclose(result.field, 0.0)


# -- bad input -------------------------------------------------------------------------


def test_bad_input_names_the_argument():
    mesh = box_mesh((2, 2))
    with pytest.raises(ValueError, match="physics"):
        solve_macro(mesh, 1.0, physics="heat")
    with pytest.raises(TypeError, match="mesh"):
        solve_macro(np.zeros((2, 2)), 1.0)
    with pytest.raises(ValueError, match="positive definite"):
        solve_macro(mesh, -1.0, dirichlet={"xmin": 0.0})
    with pytest.raises(ValueError, match="symmetric"):
        solve_macro(mesh, np.array([[1.0, 0.5], [0.0, 1.0]]), dirichlet={"xmin": 0.0})
    with pytest.raises(ValueError, match="material must be one"):
        solve_macro(mesh, np.ones((3, 2, 2)), dirichlet={"xmin": 0.0})
    with pytest.raises(ValueError, match="not a named boundary"):
        solve_macro(mesh, 1.0, dirichlet={"left": 0.0})
    with pytest.raises(TypeError, match="dirichlet"):
        solve_macro(mesh, 1.0, dirichlet=[0.0])
    with pytest.raises(ValueError, match="also hold Dirichlet"):
        solve_macro(mesh, 1.0, dirichlet={"xmin": 0.0}, flux={"xmin": 1.0})
    with pytest.raises(TypeError, match="stiffness"):
        solve_macro(mesh, 1.0, physics="elasticity", dirichlet={"xmin": 0.0})
    with pytest.raises(ValueError, match="tol"):
        solve_macro(mesh, 1.0, dirichlet={"xmin": 0.0}, tol=2.0)
    with pytest.raises(ValueError, match="shape"):
        box_mesh((2,))
    with pytest.raises(ValueError, match="element"):
        box_mesh((2, 2), element="hex")
    with pytest.raises(ValueError, match="every cell"):
        box_mesh((2, 2), mask=np.zeros((2, 2), dtype=bool))
    with pytest.raises(TypeError, match="mask"):
        box_mesh((2, 2), mask=np.ones((2, 2)))
    with pytest.raises(ValueError, match="path"):
        read_mesh("/nonexistent/mesh.msh")
    result = solve_macro(mesh, 1.0, dirichlet={"xmin": 0.0})
    with pytest.raises(ValueError, match="named boundary"):
        result.boundary_flux("left")
