"""Property-based tests (hypothesis): invariances and bounds for every boundary condition."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sve.solvers import apparent_conductivity
from tests.sve.solvers._media import symmetric_eigenvalues

BCS = ("kinematic", "periodic", "static", "mixed")
TOL = 1e-11

images = st.tuples(
    st.integers(0, 2**32 - 1), st.sampled_from([(5, 6), (7, 4), (4, 3, 5), (3, 4, 3)])
).map(lambda args: np.random.default_rng(args[0]).integers(0, 2, size=args[1]).astype(np.int8))
contrasts = st.floats(1e-3, 1e3).filter(lambda c: abs(c - 1.0) > 1e-3)


def margin(contrast, voigt):
    """Tensor error bound of the docstring, sqrt(contrast) tol relative to Voigt, x10."""
    return 10 * np.sqrt(max(contrast, 1 / contrast)) * TOL * voigt


@settings(max_examples=12, deadline=None)
@given(phases=images, contrast=contrasts, bc=st.sampled_from(BCS))
def test_quarter_turn_permutes_the_tensor(phases, contrast, bc):
    values = [1.0, contrast]
    tensor = apparent_conductivity(phases, values, bc=bc, tol=TOL).tensor
    rotated = apparent_conductivity(np.rot90(phases, axes=(0, 1)), values, bc=bc, tol=TOL).tensor
    # np.rot90: new(y) = old(R y), R = [[0, 1], [-1, 0]] in the (0, 1) plane: K' = R^T K R.
    rotation = np.eye(phases.ndim)
    rotation[:2, :2] = [[0.0, 1.0], [-1.0, 0.0]]
    voigt = np.mean(np.asarray(values)[phases])
    if bc == "mixed":  # the diagonal only: its first two entries swap
        expected = np.diag(tensor)[[1, 0, *range(2, phases.ndim)]]
        np.testing.assert_allclose(np.diag(rotated), expected, atol=margin(contrast, voigt))
    else:
        expected = rotation.T @ tensor @ rotation
        np.testing.assert_allclose(rotated, expected, atol=margin(contrast, voigt))


@settings(max_examples=12, deadline=None)
@given(phases=images, contrast=contrasts, swap=st.booleans())
def test_hierarchy_holds_for_both_phase_assignments(phases, contrast, swap):
    values = [contrast, 1.0] if swap else [1.0, contrast]
    tensor = {bc: apparent_conductivity(phases, values, bc=bc, tol=TOL).tensor for bc in BCS}
    allowed = margin(contrast, np.mean(np.asarray(values)[phases]))
    assert symmetric_eigenvalues(tensor["kinematic"] - tensor["periodic"]).min() >= -allowed
    assert symmetric_eigenvalues(tensor["periodic"] - tensor["static"]).min() >= -allowed
    mixed = np.diag(tensor["mixed"])
    assert np.all(1.0 / np.diag(np.linalg.inv(tensor["static"])) <= mixed + allowed)
    assert np.all(mixed <= np.diag(tensor["kinematic"]) + allowed)


@settings(max_examples=16, deadline=None)
@given(
    phases=images,
    contrast=contrasts,
    bc=st.sampled_from(BCS),
    discretization=st.sampled_from(["q1", "fv"]),
)
def test_tensor_is_spd_and_inside_voigt_and_reuss(phases, contrast, bc, discretization):
    if (bc, discretization) == ("static", "fv"):
        discretization = "q1"  # static finite volumes are not implemented
    values = np.array([1.0, contrast])
    result = apparent_conductivity(phases, values, bc=bc, tol=TOL, discretization=discretization)
    allowed = margin(contrast, result.voigt)
    eigenvalues = np.diag(result.tensor) if bc == "mixed" else symmetric_eigenvalues(result.tensor)
    assert eigenvalues.min() > 0 and result.min_eigenvalue == eigenvalues.min()
    assert result.reuss - allowed <= eigenvalues.min()
    assert eigenvalues.max() <= result.voigt + allowed
    assert result.bounds_defect * result.voigt <= allowed
