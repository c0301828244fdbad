"""Property-based tests (hypothesis) of the elasticity solver: invariances and bounds."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sve.solvers import apparent_stiffness, isotropic

BCS = ("kinematic", "periodic", "static", "mixed")
TOL = 1e-10

images = st.tuples(
    st.integers(0, 2**32 - 1), st.sampled_from([(5, 6), (7, 4), (4, 3, 3), (3, 4, 3)])
).map(lambda args: np.random.default_rng(args[0]).integers(0, 2, size=args[1]).astype(np.int8))
contrasts = st.floats(1e-2, 1e2).filter(lambda c: abs(c - 1.0) > 1e-3)


def materials(ndim, contrast):
    return np.array([isotropic(ndim, E=1.0, nu=0.3), isotropic(ndim, E=contrast, nu=0.2)])


def margin(contrast, voigt):
    """Tensor error: contrast * tol relative to |Voigt| (the preconditioner's condition
    number bounds the energy error; x10 for the round-off of the averages)."""
    return 10 * max(contrast, 1 / contrast) * TOL * np.linalg.norm(voigt)


def quarter_turn(ndim):
    """Mandel matrix Q of the quarter turn of np.rot90 in the (0, 1) plane: e11 <-> e22,
    e12 -> -e12 (3-D: e13 <-> e23 with one sign change); C' = Q C Q^T."""
    m = 3 * (ndim - 1)
    q = np.zeros((m, m))
    if ndim == 2:
        q[0, 1] = q[1, 0] = 1.0
        q[2, 2] = -1.0
    else:  # (e11, e22, e33, e23, e13, e12): x0' = x1, x1' = -x0
        q[0, 1] = q[1, 0] = q[2, 2] = 1.0
        q[3, 4] = 1.0
        q[4, 3] = -1.0
        q[5, 5] = -1.0
    return q


@settings(max_examples=10, deadline=None)
@given(phases=images, contrast=contrasts, data=st.data())
def test_periodic_shift_leaves_the_periodic_tensor_unchanged(phases, contrast, data):
    shift = data.draw(st.tuples(*(st.integers(0, n - 1) for n in phases.shape)))
    stack = materials(phases.ndim, contrast)
    tensor = apparent_stiffness(phases, stack, bc="periodic", tol=TOL)
    shifted = apparent_stiffness(np.roll(phases, shift, axis=range(phases.ndim)), stack, tol=TOL)
    np.testing.assert_allclose(
        shifted.tensor, tensor.tensor, atol=margin(contrast, tensor.voigt_tensor)
    )


@settings(max_examples=12, deadline=None)
@given(phases=images, contrast=contrasts, bc=st.sampled_from(BCS))
def test_quarter_turn_rotates_the_tensor(phases, contrast, bc):
    stack = materials(phases.ndim, contrast)
    result = apparent_stiffness(phases, stack, bc=bc, tol=TOL)
    rotated = apparent_stiffness(np.rot90(phases, axes=(0, 1)), stack, bc=bc, tol=TOL)
    q = quarter_turn(phases.ndim)
    allowed = margin(contrast, result.voigt_tensor)
    if bc == "mixed":  # the normal block only: its first two rows and columns swap
        d = phases.ndim
        block = q[:d, :d] @ result.tensor[:d, :d] @ q[:d, :d].T
        np.testing.assert_allclose(rotated.tensor[:d, :d], block, atol=allowed)
    else:
        np.testing.assert_allclose(rotated.tensor, q @ result.tensor @ q.T, atol=allowed)


@settings(max_examples=12, deadline=None)
@given(phases=images, contrast=contrasts, bc=st.sampled_from(BCS), swap=st.booleans())
def test_tensor_is_spd_inside_voigt_and_reuss_for_both_phase_assignments(
    phases, contrast, bc, swap
):
    stack = materials(phases.ndim, contrast)[::-1] if swap else materials(phases.ndim, contrast)
    result = apparent_stiffness(phases, stack, bc=bc, tol=TOL)
    assert result.min_eigenvalue > 0
    assert result.bounds_defect <= margin(contrast, result.voigt_tensor) / np.linalg.norm(
        result.voigt_tensor
    )
