"""Local gradient and flux fields of the conductivity cell problem (private).

A `Collector` is handed to ``solve_cell`` when ``apparent_conductivity`` is
called with ``fields=``; after each load case's solve it turns the solution
into the voxel fields (``"full"``) and the per-phase sums (always), so that
no solution outlives its load case for this purpose. See
``ConductivityFields`` and ``ConductivityMoments`` for what is stored.
"""

from __future__ import annotations

import numpy as np

from sve.solvers._core.fields import (
    CaseCollector,
    axis_positions,
    corner_values,
    gauss_moments,
    q1_gauss_gradients,
    slabs,
)
from sve.solvers.result import ConductivityFields, ConductivityMoments

_NAMES = ("mean_gradient", "mean_flux", "gradient_moment", "flux_moment", "energy")


class Collector(CaseCollector):
    """Fields and per-phase sums of the load cases of one solve.

    Parameters
    ----------
    labels : ndarray of the image shape, integer
        Phase labels (the moments are per label).
    void : ndarray of the image shape, bool
        Voxels of zero conductivity (their gradient is undetermined: NaN).
    mode : {"summary", "full"}
        Whether the voxel fields are kept.
    spacing : ndarray (d,)
        The voxel edges in the user's unit (the solver works with them over their
        smallest: the corrector is scaled back).
    grid_shape : tuple of int
        Shape of the solver's unknowns (Q1 nodes or finite-volume cells).
    discretization : {"q1", "fv"}
    bc : str
        The boundary condition.
    """

    def __init__(self, labels, void, mode, spacing, grid_shape, discretization, bc) -> None:
        super().__init__(labels, mode, spacing, bc)
        self.void = void
        self.grid_shape = tuple(grid_shape)
        self.discretization = discretization

    def record(self, case: int, grid, u: np.ndarray, gradient: np.ndarray, load=None) -> None:
        """Take load case `case`: nodal (Q1) or cell (FV) values `u` of the fluctuation
        (affine conditions, macroscopic `gradient`) or of the temperature (static:
        `gradient` zero, `load` the flux ``Q``).
        """
        self.loads[case] = np.array(gradient if load is None else load, dtype=np.float64)
        if grid.discretization == "fv":
            fields = self._fv(grid, u, gradient)
        else:
            fields = self._q1(grid, u, gradient)
        entry = {name: self.sums.means(name) for name in _NAMES}
        self.sums.sums.clear()
        if self.full:
            corrector = u.copy()
            if load is not None:  # static: T - <g> . x, <g> over every voxel as the solver's
                mean = grid.mean_gradient(u)
                positions = np.meshgrid(
                    *[np.arange(n) * h for n, h in zip(u.shape, grid.spacing, strict=True)],
                    indexing="ij",
                )
                corrector -= sum(m * x for m, x in zip(mean, positions, strict=True))
            entry["corrector"] = corrector * self.scale
            entry["gradient"], entry["flux"] = fields
        self.cases[case] = entry

    def _q1(self, grid, u, gradient):
        k = grid.k
        ndim = k.ndim
        weights = q1_gauss_gradients(ndim, grid.spacing)
        tensors = getattr(grid, "tensors", None)
        full_g = np.empty(k.shape + (ndim,)) if self.full else None
        full_q = np.empty(k.shape + (ndim,)) if self.full else None
        for start, stop in slabs(k.shape[0], k.shape[1:]):
            corners = corner_values(u, k.shape, start, stop)
            mean, moment = gauss_moments(corners, weights, gradient)
            rows = (stop - start,) + k.shape[1:]
            mean = mean.reshape(rows + (ndim,))
            moment = moment.reshape(rows + (ndim, ndim))
            carrying = k[start:stop] > 0.0
            void = self.void[start:stop]
            mean[~carrying] = 0.0  # a cluster that carries nothing: constant temperature
            moment[~carrying] = 0.0
            mean[void] = np.nan
            moment[void] = np.nan
            if tensors is None:
                c = k[start:stop]
                flux = c[..., None] * mean
                flux_moment = c[..., None, None] ** 2 * moment
                energy = c * np.trace(moment, axis1=-2, axis2=-1)
            else:
                c = tensors[grid.material[start:stop]]
                flux = np.matmul(c, mean[..., None])[..., 0]
                flux_moment = np.matmul(np.matmul(c, moment), c)
                energy = np.trace(np.matmul(c, moment), axis1=-2, axis2=-1)
            for array in (flux, flux_moment, energy):
                array[~carrying] = 0.0
            self._add(start, stop, mean, flux, moment, flux_moment, energy)
            if self.full:
                full_g[start:stop] = mean
                full_q[start:stop] = flux
        return full_g, full_q

    def _fv(self, grid, u, gradient):
        ndim = grid.k.ndim
        cells = u.reshape(grid._cells)
        h = grid._h
        jump = grid._jump(gradient)
        shape = grid.k.shape
        g_mean = np.zeros(shape + (ndim,))
        q_mean = np.zeros(shape + (ndim,))
        g_square = np.zeros(shape + (ndim,))  # the diagonal of the moments
        energy = np.zeros(shape)
        carrying = grid.k > 0.0
        for a in range(ndim):
            g = grid.conductances[a]
            faces = np.zeros(g.shape)
            low = [slice(None)] * 3
            high = [slice(None)] * 3
            low[a], high[a] = slice(None, -1), slice(1, None)
            inner = [slice(None)] * 3
            inner[a] = slice(1, -1)
            faces[tuple(inner)] = g[tuple(inner)] * (
                cells[tuple(high)] - cells[tuple(low)] + jump[a, 0]
            )
            first = [slice(None)] * 3
            last = [slice(None)] * 3
            first[a], last[a] = slice(0, 1), slice(-1, None)
            if grid._periodic[a]:
                faces[tuple(first)] = g[tuple(first)] * (
                    cells[tuple(first)] - cells[tuple(last)] + jump[a, 0]
                )
                faces[tuple(last)] = faces[tuple(first)]
            else:
                faces[tuple(first)] = g[tuple(first)] * (cells[tuple(first)] + jump[a, 1])
                faces[tuple(last)] = g[tuple(last)] * (jump[a, 1] - cells[tuple(last)])
            area = float(np.prod(h)) / h[a]
            before = faces[tuple(low)].reshape(shape) / area  # flux density, low face
            after = faces[tuple(high)].reshape(shape) / area
            c = grid.k if grid.along is None else grid.along[a]
            safe = np.where(carrying, c, 1.0)
            g_before, g_after = before / safe, after / safe
            g_mean[..., a] = 0.5 * (g_before + g_after)
            q_mean[..., a] = 0.5 * (before + after)
            g_square[..., a] = 0.5 * (g_before**2 + g_after**2)
            energy += c * g_square[..., a]
        moment = g_mean[..., :, None] * g_mean[..., None, :]
        flux_moment = q_mean[..., :, None] * q_mean[..., None, :]
        diagonal = np.arange(ndim)
        moment[..., diagonal, diagonal] = g_square
        conductivity = np.stack(
            [grid.k if grid.along is None else grid.along[a] for a in range(ndim)], axis=-1
        )
        flux_moment[..., diagonal, diagonal] = conductivity**2 * g_square
        for array in (g_mean, moment):
            array[~carrying] = 0.0  # a cluster that carries nothing: constant temperature
            array[self.void] = np.nan
        self._add(0, shape[0], g_mean, q_mean, moment, flux_moment, energy)
        if self.full:
            return g_mean, q_mean
        return None, None

    def _add(self, start, stop, mean, flux, moment, flux_moment, energy) -> None:
        for name, values in zip(_NAMES, (mean, flux, moment, flux_moment, energy), strict=True):
            self.sums.add(name, start, stop, values)

    def results(self, ndim: int) -> tuple[ConductivityMoments, ConductivityFields | None]:
        """The moments and (``"full"``) the fields, NaN for the cases not solved."""
        loads, moments = self.gathered_moments(_NAMES, ndim)
        summary = ConductivityMoments(
            labels=self.sums.present,
            volume_fraction=self.sums.volume_fraction,
            loads=loads,
            **moments,
        )
        if not self.full:
            return summary, None
        image = self.void.shape
        grid_shape = self.grid_shape
        full = self.gathered_fields(
            ndim,
            {"corrector": grid_shape, "gradient": image + (ndim,), "flux": image + (ndim,)},
        )
        centred = self.discretization == "fv"
        fields = ConductivityFields(
            loads=loads,
            corrector=full["corrector"],
            coordinates=tuple(
                axis_positions(n, h, centred)
                for n, h in zip(grid_shape, self.spacing, strict=True)
            ),
            centres=tuple(
                axis_positions(n, h, True) for n, h in zip(image, self.spacing, strict=True)
            ),
            gradient=full["gradient"],
            flux=full["flux"],
            location="cell" if centred else "element average",
            bc=self.bc,
            spacing=tuple(float(h) for h in self.spacing),
        )
        return summary, fields
