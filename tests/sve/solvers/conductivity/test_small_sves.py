"""Periodic tensors of the small SVEs of issue 18 against references from main.

REFERENCES were computed with ``apparent_conductivity(image, phases, bc="periodic",
tol=1e-6)`` (preconditioner "auto": the transforms at these sizes) at commit 02ad759,
before the multigrid cycle of small images was changed. Each preconditioner must give
the same tensors within 10 tol relative to the tensor's norm: each solve and the
reference are within about tol of the exact tensor (the residual rule bounds the
error of the tensor by the relative residual times the condition of the Hill-Mandel
energy, measured at most 1e-7 for these media), so 10 tol leaves room for both and
fails on a wrong preconditioner (which stops far off, or not at all).
"""

import numpy as np
import pytest

from generators import Gaussian, gaussian_field, level_cut
from sve.solvers import apparent_conductivity

pytestmark = pytest.mark.filterwarnings("ignore::generators.ClippedEmbeddingWarning")


def medium(shape, seed, fraction=0.5):
    """A level cut of correlation length 4 (the issue's media)."""
    return level_cut(gaussian_field(shape, Gaussian(length=4), rng=seed), fraction)


def image(shape, seed, void):
    """`medium`, with a tenth of its voxels made phase 2 (a void) where `void`."""
    labels = medium(shape, seed)
    if void:
        labels = np.where(medium(shape, seed + 100, 0.1) == 1, 2, labels).astype(np.int8)
    return labels


# (shape, seed, contrast, void, tensor): phases [1, contrast] (+ [0] with a void phase)
REFERENCES = [
    ((32, 32, 32), 1, 100, False, [[29.152871164413426, -0.8874392688255884, 1.134902298758801],
     [-0.8874370887323646, 27.247906426976233, -0.6473547935788383],
     [1.1349036288991583, -0.6473543602443964, 30.28196275374235]]),
    ((32, 32, 32), 2, 100, False, [[25.893522702605125, -0.4933092785605518, 0.4356855808003291],
     [-0.49331032215201787, 30.353019425950002, 0.48325231286310777],
     [0.4356847862091099, 0.48325485381082206, 25.87677695551561]]),
    ((32, 32, 32), 3, 10000, False, [[2998.3411035703134, -99.14953442696094, 0.40494901709642783],
     [-99.1496298567635, 2963.7802501701954, -452.55101137080317],
     [0.4050168223010917, -452.5508230087933, 2600.856690657233]]),
    ((32, 32, 32), 4, 100, True, [[27.071624578481316, 1.2048935853573917, 2.1161599181841595],
     [1.2048933954292604, 23.65803234734523, -0.11140804073793648],
     [2.116159997645268, -0.11140813205176184, 23.285427051551828]]),
    ((32, 32, 32), 5, 10000, True, [[1644.6802890175256, 64.59503683075175, 151.30289539454697],
     [64.59492655872704, 2289.151931858948, -116.95366889798876],
     [151.30282613146483, -116.95345306142627, 2075.055568589789]]),
    ((64, 64), 1, 100, False, [[10.191143226499356, 0.962800545731349],
     [0.9627980365396098, 13.483425639221524]]),
    ((64, 64), 2, 100, False, [[19.05268429123953, 0.1610344021744153],
     [0.16103334729193422, 7.312925709086048]]),
    ((64, 64), 3, 10000, False, [[1108.4393772074156, -1.688006078122942],
     [-1.6890560105394088, 8.488688852277884]]),
    ((64, 64), 4, 100, True, [[6.099118661806536, -0.47928952952151893],
     [-0.4792895559545592, 5.737803365714557]]),
    ((64, 64), 5, 10000, True, [[6.431994798154328, -0.6488454652932346],
     [-0.6485781061692487, 626.148480552557]]),
]  # fmt: skip


def _slow_3d(case):
    return pytest.param(*case, marks=pytest.mark.slow) if len(case[0]) == 3 else case


@pytest.mark.parametrize("preconditioner", ["auto", "fft", "multigrid"])
@pytest.mark.parametrize(("shape", "seed", "contrast", "void", "expected"),
                         [_slow_3d(case) for case in REFERENCES])  # fmt: skip
def test_small_sve_tensors_stay_within_10_tol_of_main(
    shape, seed, contrast, void, expected, preconditioner
):
    tol = 1e-6
    phases = [1.0, float(contrast)] + ([0.0] if void else [])
    result = apparent_conductivity(
        image(shape, seed, void), phases, bc="periodic", tol=tol, preconditioner=preconditioner
    )
    expected = np.array(expected)
    assert result.converged
    assert np.linalg.norm(result.tensor - expected) / np.linalg.norm(expected) <= 10 * tol


def test_small_sve_tensor_fast_3d_case():
    # One 3-D reference in the fast loop, through the multigrid cycle of small images.
    shape, seed, contrast, void, expected = REFERENCES[0]
    result = apparent_conductivity(
        image(shape, seed, void), [1.0, float(contrast)], tol=1e-6, preconditioner="multigrid"
    )
    expected = np.array(expected)
    assert np.linalg.norm(result.tensor - expected) / np.linalg.norm(expected) <= 1e-5


# Bounded conditions (bc, tensor; NaN: an entry the mixed condition does not define),
# computed with apparent_conductivity(image, phases, bc=bc, tol=1e-6) (preconditioner
# "auto") at commit 4aa8e08, before the fourth round of issue 18 changed the multigrid
# cycle of small images; the same 10 tol rule as REFERENCES.
BOUNDED = [
    ((32, 32, 32), 1, 100, False, "mixed", [[27.469684142842112, np.nan, np.nan],
     [np.nan, 27.883429822781736, np.nan], [np.nan, np.nan, 29.819844021149297]]),
    ((32, 32, 32), 4, 100, True, "mixed", [[25.588482445342372, np.nan, np.nan],
     [np.nan, 21.273875056365036, np.nan], [np.nan, np.nan, 22.007190189626083]]),
    ((32, 32, 32), 3, 10000, False, "static", [[21.394993574265825, -1.8404132544044383,
     0.820545307104906], [-1.8404132639635695, 22.070482965669065, -0.58796367904049],
     [0.8205454239087978, -0.5879635697157083, 18.802860069771025]]),
    ((64, 64), 1, 100, False, "mixed", [[10.054195407055062, np.nan],
     [np.nan, 6.9806364390012865]]),
    ((64, 64), 5, 10000, True, "kinematic", [[680.1536343487226, 307.3180839883291],
     [307.3167169877169, 1264.0970432185827]]),
    ((64, 64), 2, 100, False, "static", [[7.29970821693724, -0.7231465282084241],
     [-0.7231466850113603, 5.451158342250887]]),
]  # fmt: skip


@pytest.mark.parametrize("preconditioner", ["auto", "multigrid"])
@pytest.mark.parametrize(("shape", "seed", "contrast", "void", "bc", "expected"),
                         [_slow_3d(case) for case in BOUNDED])  # fmt: skip
def test_small_sve_bounded_tensors_stay_within_10_tol_of_main(
    shape, seed, contrast, void, bc, expected, preconditioner
):
    tol = 1e-6
    phases = [1.0, float(contrast)] + ([0.0] if void else [])
    result = apparent_conductivity(
        image(shape, seed, void), phases, bc=bc, tol=tol, preconditioner=preconditioner
    )
    expected = np.array(expected)
    defined = np.isfinite(expected)
    assert result.converged
    assert np.array_equal(np.isfinite(result.tensor), defined)
    error = np.linalg.norm(result.tensor[defined] - expected[defined])
    assert error / np.linalg.norm(expected[defined]) <= 10 * tol
