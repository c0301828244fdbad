"""Permeability: the memory of the solve (compact MINRES, its estimate) and its bits."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.ndimage

from sve.solvers import permeability_memory_estimate
from sve.solvers.permeability.cell_problem import BlockPreconditioner, body_force
from sve.solvers.permeability.mac import StokesOperator, index_dtype
from sve.solvers.permeability.mac_kernels import dot
from sve.solvers.permeability.minres import minres

ROOT = Path(__file__).resolve().parents[4]


def _pores(shape, seed=3):
    field = scipy.ndimage.gaussian_filter(
        np.random.default_rng(seed).standard_normal(shape), 1.5, mode="wrap"
    )
    return field < np.quantile(field, 0.5)


def _full_minres(apply, precondition, b, tol, maxiter):
    """The textbook preconditioned MINRES (Paige & Saunders) on full vectors, eight of
    them: the reference the compact one must reproduce bit for bit.
    """
    n = b.size
    x = np.zeros(n)
    r1 = b.copy()
    y = np.empty(n)
    precondition(r1, y)
    beta1 = np.sqrt(dot(r1, y))
    r2 = r1.copy()
    v = np.empty(n)
    w, w1, w2 = np.zeros(n), np.zeros(n), np.zeros(n)
    oldb, beta, dbar, epsln, phibar, cs, sn = 0.0, beta1, 0.0, 0.0, beta1, -1.0, 0.0
    count = 0
    while count < maxiter:
        count += 1
        v[:] = y * (1.0 / beta)
        apply(v, y)
        if count >= 2:
            y += (-beta / oldb) * r1
        alfa = dot(v, y)
        y += (-alfa / beta) * r2
        r1, r2 = r2, r1
        r2[:] = y
        precondition(r2, y)
        oldb = beta
        beta = np.sqrt(dot(r2, y))
        oldeps = epsln
        delta = cs * dbar + sn * alfa
        gbar = sn * dbar - cs * alfa
        epsln = sn * beta
        dbar = -cs * beta
        gamma = np.hypot(gbar, beta)
        cs, sn = gbar / gamma, beta / gamma
        phi = cs * phibar
        phibar = sn * phibar
        w1, w2, w = w2, w, w1
        w[:] = (v - oldeps * w1 - delta * w2) * (1.0 / gamma)
        x += phi * w
        if phibar / beta1 <= tol:
            break
    return x, count


@pytest.mark.parametrize("mixed", [False, True])
def test_minres_on_the_unknowns_gives_the_bits_of_full_vectors(mixed):
    pores = _pores((10, 9, 8))
    operator = StokesOperator(pores, np.ones(3), 3, mixed=mixed, load=0 if mixed else None)
    preconditioner = BlockPreconditioner(operator, project_pressure=not mixed)
    support = operator.support()
    b = body_force(operator, 0)
    full, count = _full_minres(operator.apply, preconditioner, b.copy(), 1e-9, 300)
    compact, iterations, _ = minres(
        operator.apply, preconditioner, b, support, tol=1e-9, maxiter=300
    )
    assert iterations == count > 5
    assert np.array_equal(compact, full[support])
    outside = np.ones(operator.size, dtype=bool)
    outside[support] = False
    assert not full[outside].any()  # the entries left out are zero in the full solve


def test_support_lists_the_unknowns_in_order():
    operator = StokesOperator(_pores((6, 7, 5)), np.ones(3), 3)
    support = operator.support()
    assert support.dtype == np.int32
    assert np.all(np.diff(support) > 0)
    expected = sum(int(c.active.sum()) for c in operator.components) + int(operator.fluid.sum())
    assert support.size == expected
    assert index_dtype(2**31) is np.int32  # indices up to 2^31 - 1
    assert index_dtype(2**31 + 1) is np.int64


def test_viscous_stencils_are_float32_only_when_exact():
    pores = _pores((6, 7, 5))
    equal = StokesOperator(pores, np.ones(3), 3)
    assert all(c.stencil.diag.dtype == np.float32 for c in equal.components)
    unequal = StokesOperator(pores, np.array([1.0, 1.3, 1.0]), 3)  # 1 / 1.69 rounds
    assert all(c.stencil.diag.dtype == np.float64 for c in unequal.components)


def test_estimate_arguments_and_bounds():
    shape = (40, 40, 40)
    bound = permeability_memory_estimate(shape)
    typical = permeability_memory_estimate(shape, porosity=0.35)
    assert bound.bytes > typical.bytes
    assert bound.bytes == permeability_memory_estimate(shape, porosity=1.0).bytes
    assert sum(typical.breakdown.values()) == typical.bytes
    # unequal spacings keep the 4 stencil arrays of each of the 3 components in float64
    unequal = permeability_memory_estimate(shape, porosity=0.35, spacing=(1.0, 1.3, 1.0))
    assert unequal.bytes - typical.bytes == 4 * 3 * 4 * 40**3 + 4 * 3 * 4 * sum(
        20**3 // 8**k for k in range(3)
    )
    mixed = permeability_memory_estimate(shape, bc="mixed", porosity=0.35)
    assert mixed.bytes < typical.bytes  # no other load case kept
    assert permeability_memory_estimate((300, 300), porosity=0.5).bytes_per_voxel < 400
    with pytest.raises(ValueError, match="porosity"):
        permeability_memory_estimate(shape, porosity=1.5)
    with pytest.raises(TypeError, match="porosity"):
        permeability_memory_estimate(shape, porosity="half")
    with pytest.raises(ValueError, match="shape"):
        permeability_memory_estimate((4, 4, 4, 4))


@pytest.mark.slow
def test_estimate_within_15_percent_of_the_measured_peak():
    """The peak resident growth of a periodic 64^3 solve in a fresh interpreter
    (``benchmarks/bench_permeability.py``: 306 bytes per voxel, 2026-12-06) against
    the estimate the solver checks the budget with.
    """
    script = ROOT / "benchmarks" / "bench_permeability.py"
    code = (
        f"import sys, json, tempfile; sys.path.insert(0, {str(script.parent)!r})\n"
        "from pathlib import Path\n"
        "import bench_permeability as b\n"
        "from sve.solvers import permeability_memory_estimate\n"
        "pores = b.medium(64)\n"
        "estimate = permeability_memory_estimate(pores.shape, porosity=pores.mean())\n"
        "with tempfile.TemporaryDirectory() as d:\n"
        "    figures = b.memory(pores, Path(d))\n"
        "print(json.dumps({'estimate': estimate.bytes, 'growth': figures['growth']}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    growth = figures["growth"]
    assert growth is not None  # /proc/self/clear_refs worked
    print(figures, figures["estimate"] / growth)
    assert abs(figures["estimate"] - growth) <= 0.15 * growth
    assert growth / 64**3 < 360  # 636 bytes per voxel before issue 19's memory work
