"""One peer solve, run by ``bench_peers.py`` inside the peers' virtualenv.

``python _peer_solve.py PEER IMAGE.npy AXIS [OPTION]`` loads a 3-D image of
labels 0/1 (1 conducts, 0 is an insulating void), solves the
single-direction mixed problem along AXIS with PEER and prints one JSON line:

* ``value``: the effective conductivity relative to the conducting phase,
  over the whole cross-section (``D_eff / D_0``; tortuosity = porosity /
  value);
* ``call``: wall time of the peer's public call (its setup included);
* ``solve``: the part the peer itself reports as solving, where it does;
* ``iterations`` where the peer reports them, and the raw outputs.

TauFactor (``taufactor.Solver``): flow along axis 0 (the image is
transposed to put AXIS first), Dirichlet on the two faces normal to it at
half a voxel from the first and last cell centres, no flux elsewhere,
face-connected voxels; red-black over-relaxation in float32 on the CPU.
OPTION is its ``conv_crit`` (default 1e-2, TauFactor's own).

PoreSpy (``porespy.simulations.tortuosity_fd``): an OpenPNM cubic network
of the pore voxels, Dirichlet on the cell centres of the first and last
layers (so over L - 1 voxel pitches), solved with PyAMG (Ruge-Stuben).
OPTION is its ``ftol`` (default 1e-3, PoreSpy's own).
"""

import json
import sys
import time

import numpy as np


def taufactor_solve(image: np.ndarray, axis: int, option: float | None) -> dict:
    import taufactor
    import torch

    conv_crit = 1e-2 if option is None else option
    image = np.ascontiguousarray(np.moveaxis(image, axis, 0)).astype(np.int64)
    start = time.perf_counter()
    solver = taufactor.Solver(image, device="cpu")
    setup = time.perf_counter() - start
    tau = solver.solve(verbose=False, conv_crit=conv_crit, iter_limit=100000)
    call = time.perf_counter() - start
    value = float(np.ravel(solver.D_eff)[0])
    return {
        "value": value,
        "call": call,
        "solve": call - setup,
        "iterations": int(solver.iter),
        "converged": bool(solver.converged),
        "tau": float(np.ravel(tau)[0]),
        "porosity": float(np.ravel(solver.VF)[0]),
        "option": f"conv_crit={conv_crit:g}",
        "threads": torch.get_num_threads(),
    }


def porespy_solve(image: np.ndarray, axis: int, option: float | None) -> dict:
    import porespy

    ftol = 1e-3 if option is None else option
    start = time.perf_counter()
    result = porespy.simulations.tortuosity_fd(image.astype(bool), axis=axis, ftol=ftol)
    call = time.perf_counter() - start
    return {
        "value": float(1.0 / result.formation_factor),
        "call": call,
        "solve": float(result.time),
        "iterations": None,
        "converged": bool(result.converged),
        "tau": float(result.tortuosity),
        "porosity": float(result.original_porosity),
        "effective_porosity": float(result.effective_porosity),
        "option": f"ftol={ftol:g}",
    }


if __name__ == "__main__":
    peer, path, axis = sys.argv[1], sys.argv[2], int(sys.argv[3])
    option = float(sys.argv[4]) if len(sys.argv) > 4 else None
    solve = {"taufactor": taufactor_solve, "porespy": porespy_solve}[peer]
    print(json.dumps(solve(np.load(path), axis, option)))
