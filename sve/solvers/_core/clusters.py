"""Conducting clusters of an image with voids, and what they mean for a solve (private).

A voxel of zero conductivity (a void) carries no flux. The conducting voxels
fall into clusters: connected through shared nodes for Q1 elements (a shared
corner or edge suffices), through shared faces for finite volumes. Every
cluster that no Dirichlet boundary holds is *floating*: its temperature is
free up to a constant, a null vector of the operator. Unknowns that touch no
conducting voxel have an empty row. Under periodic and static conditions
(every cluster floats) the solver keeps its iterates orthogonal to both: it
zeroes the empty unknowns and removes the mean of every floating cluster
from each preconditioned residual, which leaves a symmetric positive
semi-definite preconditioner with exactly the null space of the operator.
Under Dirichlet conditions the clusters that carry no flux are made void
instead (``conductivity.cell_problem.load_case_solver``).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from sve.solvers._core.cluster_kernels import label_clusters, node_labels, project_clusters


@dataclass(frozen=True)
class Clusters:
    """Clusters of conducting voxels.

    Attributes
    ----------
    labels : ndarray of the unknown grid, int32 (int64 beyond 2**31 - 1 clusters)
        Cluster of every unknown (Q1 node or FV cell), -1 where no conducting
        voxel touches it.
    wraps, low, high : ndarray of shape (n_clusters, d), bool
        Whether a cluster reaches itself by a lattice translation along an
        axis (periodic grids), and whether it touches the face at index 0 /
        the opposite face along an axis.
    """

    labels: np.ndarray
    wraps: np.ndarray
    low: np.ndarray
    high: np.ndarray

    @property
    def count(self) -> int:
        return self.wraps.shape[0]

    def percolating(self, periodic: bool) -> tuple[bool, ...]:
        """Per axis, whether a cluster wraps around (periodic) or joins both faces."""
        joined = self.wraps if periodic else self.low & self.high
        return tuple(bool(b) for b in joined.any(axis=0))

    def floating(self, dirichlet_axes: tuple[int, ...]) -> np.ndarray:
        """Clusters touching no face normal to any of `dirichlet_axes`."""
        held = np.zeros(self.count, dtype=bool)
        for axis in dirichlet_axes:
            held |= self.low[:, axis] | self.high[:, axis]
        return ~held


def find_clusters(k: np.ndarray, *, periodic: bool, discretization: str) -> Clusters:
    """Return the clusters of the voxels with ``k > 0``.

    Parameters
    ----------
    k : ndarray of shape (N0, N1[, N2]), float64 or bool
        Voxel conductivities, >= 0, or whether each voxel conducts.
    periodic : bool
        Whether the grid wraps around (then Q1 has N nodes per axis, else
        N + 1).
    discretization : {"q1", "fv"}
        Node connectivity (all 3**d - 1 neighbours) or face connectivity.
    """
    ndim = k.ndim
    conducting = k if k.dtype == np.bool_ else k > 0.0
    conducting = np.ascontiguousarray(conducting).reshape(k.shape + (1,) * (3 - ndim))
    if discretization == "q1":
        steps = [s for s in itertools.product((-1, 0, 1), repeat=3) if s > (0, 0, 0)]
    else:
        steps = [(1, 0, 0), (0, 1, 0), (0, 0, 1)]
    wraps_axis = np.array([periodic] * ndim + [False] * (3 - ndim))
    labels, wraps, low, high = label_clusters(conducting, wraps_axis, np.array(steps, np.int64))
    if discretization == "q1":
        extra = 0 if periodic else 1
        node_shape = np.array([n + extra for n in k.shape] + [1] * (3 - ndim), np.int64)
        corners = np.zeros((2**ndim, 3), np.int64)
        corners[:, :ndim] = list(itertools.product((0, 1), repeat=ndim))
        labels = node_labels(labels, node_shape, corners)
    shape = labels.shape[:ndim]
    return Clusters(
        labels=labels.reshape(shape), wraps=wraps[:, :ndim], low=low[:, :ndim], high=high[:, :ndim]
    )


def projector(labels: np.ndarray, floating: np.ndarray) -> Callable[[np.ndarray], None]:
    """Return ``project(x)``: in place, zero the empty unknowns of `x` and
    remove its mean over every floating cluster (`labels` of the shape of x).
    """
    flat_labels = np.ascontiguousarray(labels).reshape(-1)
    counts = np.bincount(flat_labels[flat_labels >= 0], minlength=floating.size)
    inverse_counts = 1.0 / np.maximum(counts, 1)
    sums = np.empty(floating.size)
    floating = np.ascontiguousarray(floating, dtype=np.bool_)

    def project(x: np.ndarray) -> None:
        project_clusters(x.reshape(-1), flat_labels, floating, inverse_counts, sums)

    return project
