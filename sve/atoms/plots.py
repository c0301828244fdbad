"""Figures of the lattice calculations, drawn on a :class:`matplotlib.figure.Figure`.

No pyplot state: each function returns a new figure (``fig.savefig(...)`` to
write it). Matplotlib is imported when a figure is drawn, not with the package.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from sve.atoms._checks import check_stretch
from sve.atoms.chain import chain_dispersion, chain_stability
from sve.atoms.potentials import check_potential

__all__ = ["plot_chain_relaxation", "plot_dispersion"]


def plot_dispersion(
    potential: object, stretches: object = None, *, n_neighbours: int = 1, ax=None
):
    r"""Phonon dispersion :math:`\omega^2(q)` of the stretched chain, one curve per stretch.

    Parameters
    ----------
    potential : str or pair potential
        The pair potential (object or name).
    stretches : array_like or None
        Stretches to draw; by default 1, two between 1 and
        :math:`\lambda_c`, :math:`\lambda_c` itself and one past it.
    n_neighbours : int, default 1
        Neighbours on each side (>= 1).
    ax : matplotlib.axes.Axes or None
        Axes to draw on; by default those of a new figure.

    Returns
    -------
    matplotlib.figure.Figure
        The figure of the axes: :math:`\omega^2` against :math:`q \in [0, \pi]` (unit mass), the
        critical stretch and soft mode in the title.

    Examples
    --------
    >>> fig = plot_dispersion("lj", n_neighbours=2)
    >>> len(fig.axes[0].lines) >= 5
    True
    """
    from matplotlib.figure import Figure

    potential = check_potential(potential)
    limit = chain_stability(potential, n_neighbours=n_neighbours)
    if stretches is None:
        top = limit.stretch if np.isfinite(limit.stretch) else 1.1
        stretches = [1.0, 1 + (top - 1) / 3, 1 + 2 * (top - 1) / 3, top, 1 + 1.1 * (top - 1)]
    stretches = np.atleast_1d(check_stretch(stretches, "stretches"))
    q, w2 = chain_dispersion(potential, stretches, n_neighbours=n_neighbours)
    if ax is None:
        fig = Figure(figsize=(5.5, 4.0), layout="constrained")
        ax = fig.add_subplot()
    colors = [f"C{i}" for i in range(len(stretches))]
    for stretch, curve, color in zip(stretches, w2, colors, strict=True):
        critical = np.isclose(stretch, limit.stretch, rtol=1e-9)
        ax.plot(q, curve, color=color, lw=2.2 if critical else 1.4,
                label=f"λ = {stretch:.4f}" + (" (λc)" if critical else ""))  # fmt: skip
    ax.axhline(0.0, color="gray", lw=0.8)
    ax.set_xlim(0, np.pi)
    ax.set_xticks([0, np.pi / 2, np.pi], ["0", "π/2", "π"])
    ax.set_xlabel("reduced wavenumber q = k a₀")
    ax.set_ylabel("ω² (energy / (mass length²))")
    where = {"all": "every mode at once", "long-wave": "the long wave first",
             "zone-boundary": "the zone boundary first"}.get(limit.mode, limit.mode)  # fmt: skip
    ax.set_title(
        f"{n_neighbours} neighbour{'s' if n_neighbours > 1 else ''}: λc = {limit.stretch:.5f}, "
        f"{where}",
        fontsize=10,
    )
    ax.legend(fontsize=8)
    return ax.figure


def plot_chain_relaxation(ds: xr.Dataset, *, ax=None):
    """Relaxed stress against stretch, beside the Cauchy–Born stress (:func:`stretch_chain`).

    Parameters
    ----------
    ds : xarray.Dataset
        :func:`sve.atoms.stretch_chain` output.
    ax : matplotlib.axes.Axes or None
        Axes to draw on; by default those of a new figure.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> from sve.atoms import stretch_chain
    >>> fig = plot_chain_relaxation(stretch_chain("lj", [1.0, 1.05, 1.1, 1.12], bonds=10))
    >>> fig.axes[0].get_xlabel()
    'stretch λ'
    """
    from matplotlib.figure import Figure

    if not isinstance(ds, xr.Dataset) or "stress" not in ds:
        raise TypeError("ds must be the xarray.Dataset of stretch_chain")
    if ax is None:
        fig = Figure(figsize=(5.5, 4.0), layout="constrained")
        ax = fig.add_subplot()
    stretch = ds["stretch"].values
    ax.plot(stretch, ds["cauchy_born_stress"], "-", color="gray", label="Cauchy–Born W′(λ)")
    ax.plot(stretch, ds["stress"], "o", ms=3, label=f"relaxed chain, {ds.attrs['bonds']} bonds")
    ax.axvline(ds.attrs["critical_stretch"], color="C3", ls=":", label="λc (first soft phonon)")
    broken = ds.attrs.get("broken_stretch", np.nan)
    if np.isfinite(broken):
        ax.axvline(broken, color="C2", ls="--", label="a broken chain has less energy")
    ax.set_xlabel("stretch λ")
    ax.set_ylabel("force (energy / length)")
    ax.legend(fontsize=8)
    return ax.figure
