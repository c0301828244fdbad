"""Local strain and stress fields of the elastic cell problem (private).

A `Collector` is handed to ``Problem.affine`` and ``Problem.static`` when
``apparent_stiffness`` is called with ``fields=``; after each load case's
solve it turns the nodal displacements into the voxel fields (``"full"``)
and the per-phase sums (always). See ``StiffnessFields`` and
``StiffnessMoments`` for what is stored.
"""

from __future__ import annotations

import numpy as np

from sve.solvers._core.fields import PhaseSums, axis_positions, corner_values, slabs
from sve.solvers.elasticity.q1 import mandel_size, mandel_to_matrix, strain_matrices
from sve.solvers.result import StiffnessFields, StiffnessMoments

_NAMES = ("mean_strain", "mean_stress", "strain_moment", "stress_moment", "energy")


class Collector:
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
        self.bc = bc
        self.sums = PhaseSums(labels)
        self.full = mode == "full"
        self.spacing = np.asarray(spacing, dtype=np.float64)
        self.scale = float(self.spacing.min())
        self.node_shape = tuple(node_shape)
        self.cases: dict[int, dict] = {}
        self.loads: dict[int, np.ndarray] = {}
        self.count = None  # the number of load cases, where not m (static with voids)

    def record(self, case: int, problem, u: np.ndarray, strain: np.ndarray, load=None) -> None:
        """Take load case `case`: the nodal fluctuation `u` under the Mandel strain
        `strain` (affine conditions), or the displacement under the Mandel stress `load`
        (static: `strain` zero).
        """
        self.loads[case] = np.array(strain if load is None else load, dtype=np.float64)
        ndim, m = problem.ndim, problem.m
        shape = problem.material.shape
        b, _ = strain_matrices(ndim, problem.h)
        solid = np.any(problem.stack != 0.0, axis=(1, 2))
        full_e = np.empty(shape + (m,)) if self.full else None
        full_s = np.empty(shape + (m,)) if self.full else None
        for start, stop in slabs(shape[0], shape[1:]):
            corners = corner_values(u, shape, start, stop)  # (..., 2**d, d)
            dofs = corners.reshape(corners.shape[:-2] + (-1,))  # node-major: a * d + c
            points = np.einsum("...k,gmk->...gm", dofs, b) + strain
            mean = points.mean(axis=-2)
            moment = np.einsum("...gi,...gj->...ij", points, points) / points.shape[-2]
            material = problem.material[start:stop]
            c = problem.stack[material]
            stress = np.einsum("...ij,...j->...i", c, mean)
            stress_moment = np.einsum("...ij,...jk,...kl->...il", c, moment, c)
            energy = np.einsum("...ij,...ji->...", c, moment)
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
            if load is not None:  # static: u - <eps> . x
                mean = np.einsum("p,pi->i", self.sums.volume_fraction, entry["mean_strain"])
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
        total = m if self.count is None else self.count
        phases = len(self.sums.present)
        loads = np.eye(m)[:total]
        template = {
            "mean_strain": (phases, m),
            "mean_stress": (phases, m),
            "strain_moment": (phases, m, m),
            "stress_moment": (phases, m, m),
            "energy": (phases,),
        }
        moments = {name: np.full((total,) + shape, np.nan) for name, shape in template.items()}
        for case, entry in self.cases.items():
            loads[case] = self.loads[case]
            for name in template:
                moments[name][case] = entry[name]
        summary = StiffnessMoments(
            labels=self.sums.present,
            volume_fraction=self.sums.volume_fraction,
            loads=loads,
            **moments,
        )
        if not self.full:
            return summary, None
        image = self.sums.labels.shape
        corrector = np.full((total,) + self.node_shape, np.nan)
        strain = np.full((total,) + image + (m,), np.nan)
        stress = np.full((total,) + image + (m,), np.nan)
        for case, entry in self.cases.items():
            corrector[case] = entry["corrector"]
            strain[case] = entry["strain"]
            stress[case] = entry["stress"]
        fields = StiffnessFields(
            loads=loads,
            corrector=corrector,
            coordinates=tuple(
                axis_positions(n, h, False)
                for n, h in zip(self.node_shape[:-1], self.spacing, strict=True)
            ),
            centres=tuple(
                axis_positions(n, h, True) for n, h in zip(image, self.spacing, strict=True)
            ),
            strain=strain,
            stress=stress,
            location="element average",
            bc=self.bc,
            spacing=tuple(float(h) for h in self.spacing),
        )
        return summary, fields
