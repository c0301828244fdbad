"""Kinematic, static and mixed conditions on the Q1 node grid: exactness and Huet's hierarchy."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from sve.solvers import apparent_conductivity
from sve.solvers._core.transforms import preconditioner
from sve.solvers.conductivity.q1 import element_modes
from sve.solvers.conductivity.q1_kernels import nodal_flux_2d, nodal_flux_3d
from tests._reference import bounded_conductivity_q1
from tests.sve.solvers._media import (
    laminate,
    random_labels,
    refine,
    smooth_two_phase,
    symmetric_eigenvalues,
)

BCS = ("kinematic", "periodic", "static", "mixed")
# Round-off of the direct and fast solves on at most a few thousand unknowns.
ROUND_OFF = 1e-12


@pytest.mark.parametrize("shape", [(5, 4), (3, 4, 5)])
@pytest.mark.parametrize(
    "kinds",
    [("dirichlet", "dirichlet"), ("neumann", "neumann"), ("dirichlet", "neumann")],
    ids=["dirichlet", "neumann", "mixed"],
)
def test_transform_preconditioner_inverts_the_homogeneous_operator(shape, kinds):
    ndim = len(shape)
    kinds = (kinds + ("neumann",))[:ndim]
    spacing, reference = 0.7, 2.0
    nodes = tuple(n + 1 for n in shape)
    free = tuple(slice(1, -1) if kind == "dirichlet" else slice(None) for kind in kinds)
    u = np.zeros(nodes)
    u[free] = np.random.default_rng(0).standard_normal(u[free].shape)
    nodal_flux = nodal_flux_2d if ndim == 2 else nodal_flux_3d
    au = np.empty(nodes)
    nodal_flux(u, np.zeros(2**ndim), np.full(shape, reference), element_modes(ndim, spacing), au)
    back = np.empty(u[free].shape)
    preconditioner("q1", kinds, shape, spacing, reference)(np.ascontiguousarray(au[free]), back)
    if all(kind == "neumann" for kind in kinds):
        # Pure Neumann: the pseudo-inverse returns u up to a constant.
        back += (u - back).mean()
    np.testing.assert_allclose(back, u[free], rtol=0, atol=ROUND_OFF)


@pytest.mark.parametrize("bc", ["kinematic", "static", "mixed"])
@pytest.mark.parametrize(
    ("shape", "spacing"), [((6, 5), 1.0), ((2, 3), 0.5), ((4, 3, 5), 1.0), ((3, 3, 2), 2.0)]
)
def test_matches_assembled_sparse_reference(bc, shape, spacing):
    values = np.array([1.0, 7.5, 0.3])
    phases = random_labels(shape, 3, seed=sum(shape))
    result = apparent_conductivity(phases, values, bc=bc, spacing=spacing, tol=1e-12)
    expected = bounded_conductivity_q1(values[phases], bc, spacing)
    # tol=1e-12 with contrast 25 bounds the tensor error by ~5e-12 (docstring bound); 1e-8
    # leaves room for the round-off of the direct solve and of the inversion (static).
    np.testing.assert_allclose(result.tensor, expected, rtol=0, atol=1e-8)
    assert result.converged and result.bc == bc


@pytest.mark.parametrize(
    ("bc", "discretization"),
    [(bc, d) for d in ("q1", "fv") for bc in BCS if (bc, d) != ("static", "fv")],
)
@pytest.mark.parametrize("shape", [(7, 6), (4, 5, 3)])
def test_homogeneous_medium_gives_the_input(bc, discretization, shape):
    result = apparent_conductivity(
        random_labels(shape, 2, 3), [3.7, 3.7], bc=bc, discretization=discretization
    )
    expected = 3.7 * np.eye(len(shape))
    if bc == "mixed":
        expected[~np.eye(len(shape), dtype=bool)] = np.nan
    # The affine field solves the homogeneous problem: the load is round-off, no iteration.
    np.testing.assert_allclose(result.tensor, expected, rtol=ROUND_OFF, atol=ROUND_OFF)
    assert result.converged and result.hill_mandel_defect <= ROUND_OFF


@pytest.mark.parametrize(("ndim", "normal"), [(2, 0), (2, 1), (3, 1), (3, 2)])
def test_laminates_follow_the_exactness_pattern_of_each_condition(ndim, normal):
    layers = [0, 0, 1, 2, 2, 2, 1]
    values = np.array([1.0, 20.0, 0.5])
    phases = laminate(ndim, normal, layers)
    arithmetic = np.mean(values[layers])
    harmonic = 1.0 / np.mean(1.0 / values[layers])
    along = [a for a in range(ndim) if a != normal]
    # Q1 represents the 1-D solutions exactly; tol=1e-12 leaves an error ~1e-11.
    exact = 1e-9
    tensor = {bc: apparent_conductivity(phases, values, bc=bc, tol=1e-12).tensor for bc in BCS}
    # PBC and the orthogonal mixed conditions: exact both ways.
    for bc in ("periodic", "mixed"):
        np.testing.assert_allclose(np.diag(tensor[bc])[along], arithmetic, rtol=exact)
        np.testing.assert_allclose(tensor[bc][normal, normal], harmonic, rtol=exact)
    # KUBC: exact along the layers, stiffer across them.
    np.testing.assert_allclose(np.diag(tensor["kinematic"])[along], arithmetic, rtol=exact)
    assert tensor["kinematic"][normal, normal] > harmonic * (1 + 1e-3)
    # SUBC: exact across the layers, softer along them.
    np.testing.assert_allclose(tensor["static"][normal, normal], harmonic, rtol=exact)
    assert np.all(np.diag(tensor["static"])[along] < arithmetic * (1 - 1e-3))


@pytest.mark.parametrize(
    ("shape", "contrast", "seed"),
    [((12, 12), 10.0, 0), ((16, 10), 1e3, 1), ((7, 9), 0.01, 2), ((6, 6, 6), 50.0, 3)],
)
def test_huet_hierarchy_per_realization(shape, contrast, seed):
    phases = smooth_two_phase(shape, np.random.default_rng(seed), length=1.0)
    values = [1.0, contrast]
    tol = 1e-10
    tensor = {bc: apparent_conductivity(phases, values, bc=bc, tol=tol).tensor for bc in BCS}
    voigt = np.mean(np.asarray(values)[phases])
    # One conforming discretization: the orderings are exact for the discrete problems; the
    # margin is the tensor error ~sqrt(contrast) tol relative to the Voigt bound.
    margin = np.sqrt(max(contrast, 1 / contrast)) * tol * voigt * 10
    assert symmetric_eigenvalues(tensor["kinematic"] - tensor["periodic"]).min() >= -margin
    assert symmetric_eigenvalues(tensor["periodic"] - tensor["static"]).min() >= -margin
    mixed = np.diag(tensor["mixed"])
    static_resistivity = np.diag(np.linalg.inv(tensor["static"]))
    assert np.all(1.0 / static_resistivity <= mixed + margin)
    assert np.all(mixed <= np.diag(tensor["kinematic"]) + margin)
    # And the gaps are real, not all zero.
    assert symmetric_eigenvalues(tensor["kinematic"] - tensor["static"]).max() > 1e-3 * voigt


@pytest.mark.parametrize("bc", BCS)
@pytest.mark.parametrize("shape", [(24, 24), (8, 8, 8)])
@pytest.mark.parametrize("tol", [1e-6, 1e-9])
def test_hill_mandel_defect_is_at_solver_tolerance(bc, shape, tol):
    contrast = 100.0
    phases = smooth_two_phase(shape, np.random.default_rng(11))
    result = apparent_conductivity(phases, [1.0, contrast], bc=bc, tol=tol)
    # First order in the residual with the factor sqrt(contrast) of the docstring bound.
    assert result.hill_mandel_defect <= np.sqrt(contrast) * tol
    assert result.symmetry_defect <= np.sqrt(contrast) * tol
    assert result.bounds_defect <= np.sqrt(contrast) * tol
    assert result.converged and result.min_eigenvalue > 0


@pytest.mark.parametrize("bc", BCS)
@pytest.mark.parametrize(
    ("coarse_shape", "factor", "preconditioner"),
    [
        ((24, 24), 4, "fft"),
        ((10, 10, 10), 3, "fft"),
        ((16, 16), 4, "multigrid"),
        ((8, 8, 8), 4, "multigrid"),
    ],
)
def test_iteration_counts_do_not_grow_with_resolution(bc, coarse_shape, factor, preconditioner):
    coarse = smooth_two_phase(coarse_shape, np.random.default_rng(4))
    counts = [
        np.array(
            apparent_conductivity(
                p, [1.0, 100.0], bc=bc, tol=1e-8, preconditioner=preconditioner
            ).iterations
        )
        for p in (coarse, refine(coarse, factor))
    ]
    # The preconditioned condition number is bounded by the contrast alone (transforms) or
    # by a constant (multigrid); allow 25 % or 4 iterations for the change of the spectrum
    # under refinement.
    assert np.all(counts[1] <= counts[0] + np.maximum(0.25 * counts[0], 4)), counts


@pytest.mark.parametrize(("preconditioner", "allowance"), [("fft", 7), ("multigrid", 10)])
@pytest.mark.parametrize("bc", BCS)
def test_memory_of_a_solve_is_a_few_node_fields(bc, preconditioner, allowance):
    # The 2 GiB target at 256^3 (benchmarks/bench_conductivity.py) in the units that do not
    # depend on the machine: the solve holds d + 3 float64 fields of the node grid (3 of CG
    # scratch, the load written into the residual's, and the d solutions), the inputs
    # (conductivities, labels) about 2 more, the transforms about 2 float32 and the
    # multigrid hierarchy about 4-5 (measured 7.9-9.3 and 10.0-12.6 fields in all; the
    # open grids of kinematic, static and mixed conditions have 25^3 nodes, not 24^3).
    # Keeping the d static loads and d forces (static), or two load cases' scratch at once
    # (mixed), went to 17.4 and 14.6 here; four CG arrays and a separate load, 2 fields
    # more; the static loads made through the operator on unit conductivities, 1 more.
    phases = smooth_two_phase((24, 24, 24), np.random.default_rng(21))
    options = dict(bc=bc, preconditioner=preconditioner)
    apparent_conductivity(phases, [1.0, 100.0], **options)  # compiled kernels, warm caches
    tracemalloc.start()
    try:
        apparent_conductivity(phases, [1.0, 100.0], **options)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    field = 25**3 * np.dtype(np.float64).itemsize
    assert peak <= (3 + allowance) * field, peak / field
