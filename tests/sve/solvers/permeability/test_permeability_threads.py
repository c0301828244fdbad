"""Bit-identical permeability results whatever the number of threads.

The coarsest multigrid levels are inverted by LAPACK (eigh, a pseudo-inverse), whose
last bits depend on the BLAS thread count; they run on one BLAS thread (threadpoolctl).
Without that, this test fails: the tensor differs in the last bits between 1 and 3
OpenBLAS threads (Numba's thread count alone never changed it)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[4]

CHILD = """
import json, sys
import numpy as np
from sve.solvers.permeability import mac_kernels
mac_kernels.PARALLEL_SIZE = 1  # the parallel kernels on a small image
from sve.solvers import apparent_permeability
rng = np.random.default_rng(7)
pores = np.ones((12, 12, 12), dtype=bool)
for _ in range(14):
    c = rng.integers(0, 12, 3)
    i = np.indices(pores.shape)
    d = sum(np.minimum(abs(i[a] - c[a]), 12 - abs(i[a] - c[a])) ** 2 for a in range(3))
    pores &= d > 4
r = apparent_permeability(pores, tol=1e-10)
print(json.dumps({"tensor": [x.hex() for x in r.tensor.ravel()],
                  "iterations": list(r.iterations),
                  "residuals": [r.divergence_residual.hex(), r.momentum_residual.hex(),
                                r.hill_mandel_defect.hex()]}))
"""


def _run(threads: int) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT)
    for name in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        env[name] = str(threads)
    done = subprocess.run(
        [sys.executable, "-c", CHILD], env=env, capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_same_bits_with_one_and_three_threads():
    one = _run(1)
    three = _run(3)
    assert one["iterations"] == three["iterations"]
    assert one["tensor"] == three["tensor"]
    assert one["residuals"] == three["residuals"]
