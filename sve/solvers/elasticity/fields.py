"""Local strain and stress fields of the elastic cell problem (private).

A `Collector` is handed to ``Problem.affine`` and ``Problem.static`` when
``apparent_stiffness`` is called with ``fields=``; after each load case's
solve it turns the nodal displacements into the voxel fields (``"full"``)
and the per-phase sums (always). See ``StiffnessFields`` and
``StiffnessMoments`` for what is stored.
"""

from __future__ import annotations

import numpy as np

from sve.solvers._core.fields import (
    CaseCollector,
    axis_positions,
    corner_values,
    gauss_moments,
    slabs,
)
from sve.solvers.elasticity.q1 import mandel_size, mandel_to_matrix, strain_matrices
from sve.solvers.result import StiffnessFields, StiffnessMoments

_NAMES = ("mean_strain", "mean_stress", "strain_moment", "stress_moment", "energy")


class Collector(CaseCollector):
    """Fields and per-phase sums of the load cases of one elastic solve.

    Parameters
    ----------
    labels : ndarray of the image shape, integer
        Phase labels (the moments are per label).
    mode : {"summary", "full"}
        Whether the voxel fields are kept.
    spacing : ndarray (d,)
        The voxel edges in the user's unit (the corrector is scaled back from the
        solver's edges over their smallest).
    node_shape : tuple of int
        Shape of the nodal displacements, component axis included.
    bc : str
        The boundary condition.
    """

    def __init__(self, labels, mode, spacing, node_shape, bc) -> None:
        super().__init__(labels, mode, spacing, bc)
        self.node_shape = tuple(node_shape)

    def record(self, case: int, problem, u: np.ndarray, strain: np.ndarray, load=None) -> None:
        """Take load case `case`: the nodal fluctuation `u` under the Mandel strain
        `strain` (affine conditions), or the displacement under the Mandel stress `load`
        (static: `strain` zero).
        """
        self.loads[case] = np.array(strain if load is None else load, dtype=np.float64)
        ndim, m = problem.ndim, problem.m
        shape = problem.material.shape
        b, _ = strain_matrices(ndim, problem.h)
        weights = b.transpose(0, 2, 1)  # (G, d 2**d, m): dofs to Mandel strain per point
        solid = np.any(problem.stack != 0.0, axis=(1, 2))
        full_e = np.empty(shape + (m,)) if self.full else None
        full_s = np.empty(shape + (m,)) if self.full else None
        for start, stop in slabs(shape[0], shape[1:]):
            corners = corner_values(u, shape, start, stop)  # (..., 2**d, d): dof a * d + c
            mean, moment = gauss_moments(corners, weights, strain)
            rows = (stop - start,) + shape[1:]
            mean = mean.reshape(rows + (m,))
            moment = moment.reshape(rows + (m, m))
            material = problem.material[start:stop]
            c = problem.stack[material]
            stress = np.matmul(c, mean[..., None])[..., 0]
            cm = np.matmul(c, moment)
            stress_moment = np.matmul(cm, c)
            energy = np.trace(cm, axis1=-2, axis2=-1)
            void = ~solid[material]
            mean[void] = np.nan  # the strain of a void is undetermined
            moment[void] = np.nan
            for name, values in zip(
                _NAMES, (mean, stress, moment, stress_moment, energy), strict=True
            ):
                self.sums.add(name, start, stop, values)
            if self.full:
                full_e[start:stop] = mean
                full_s[start:stop] = stress
        entry = {name: self.sums.means(name) for name in _NAMES}
        self.sums.sums.clear()
        if self.full:
            corrector = u.copy()
            if load is not None:  # static: u - <eps> . x, <eps> over every voxel as the solver's
                mean = problem.means(u)[0]
                tensor = mandel_to_matrix(mean)
                positions = np.meshgrid(
                    *[np.arange(n) * h for n, h in zip(u.shape[:-1], problem.h, strict=True)],
                    indexing="ij",
                )
                for c in range(ndim):
                    corrector[..., c] -= sum(tensor[c, j] * positions[j] for j in range(ndim))
            entry["corrector"] = corrector * self.scale
            entry["strain"], entry["stress"] = full_e, full_s
        self.cases[case] = entry

    def results(self, ndim: int) -> tuple[StiffnessMoments, StiffnessFields | None]:
        """The moments and (``"full"``) the fields, NaN for the cases not solved."""
        m = mandel_size(ndim)
        loads, moments = self.gathered_moments(_NAMES, m)
        summary = StiffnessMoments(
            labels=self.sums.present,
            volume_fraction=self.sums.volume_fraction,
            loads=loads,
            **moments,
        )
        if not self.full:
            return summary, None
        image = self.sums.labels.shape
        full = self.gathered_fields(
            m,
            {"corrector": self.node_shape, "strain": image + (m,), "stress": image + (m,)},
        )
        fields = StiffnessFields(
            loads=loads,
            corrector=full["corrector"],
            coordinates=tuple(
                axis_positions(n, h, False)
                for n, h in zip(self.node_shape[:-1], self.spacing, strict=True)
            ),
            centres=tuple(
                axis_positions(n, h, True) for n, h in zip(image, self.spacing, strict=True)
            ),
            strain=full["strain"],
            stress=full["stress"],
            location="element average",
            bc=self.bc,
            spacing=tuple(float(h) for h in self.spacing),
        )
        return summary, fields
