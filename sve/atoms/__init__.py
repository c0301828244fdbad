"""Parameters passed from a crystal lattice: Cauchy–Born rule, phonon stability, relaxed chains.

Pair potentials (Lennard-Jones, Morse, harmonic, or a user's with its
derivatives); the Cauchy–Born energy, stress and tangent of a 1-D chain
(nearest and farther neighbours) and of the 2-D triangular lattice, each at
its own stress-free spacing; the phonon dispersion of the uniformly deformed
lattice and the stretch where its first mode goes soft; a finite chain and a
triangular patch stretched quasi-statically and relaxed atom by atom, against
Cauchy–Born; and a chain of random bond stiffnesses as a 1-D SVE, run through
the variance-scaling estimators of :mod:`sve.statistics`. Layer 5: imports
``sve.statistics`` and below, never Dask or the study layer.
"""

from __future__ import annotations

from sve.atoms.chain import (
    ChainStability,
    chain_dispersion,
    chain_energy_density,
    chain_modulus,
    chain_spacing,
    chain_stability,
    chain_stress,
    resolve_neighbours,
)
from sve.atoms.patch import stretch_patch
from sve.atoms.plots import plot_chain_relaxation, plot_dispersion
from sve.atoms.potentials import Harmonic, LennardJones, Morse, PairPotential, get_potential
from sve.atoms.random_chain import (
    harmonic_chain_stiffness,
    random_chain_scaling,
    random_chain_study,
)
from sve.atoms.relaxation import broken_chain_stretch, stretch_chain
from sve.atoms.triangular import (
    TriangularStability,
    triangular_bonds,
    triangular_dispersion,
    triangular_elastic_constants,
    triangular_energy_density,
    triangular_spacing,
    triangular_stability,
    triangular_stress,
    triangular_tangent,
)

__all__ = [
    "ChainStability",
    "Harmonic",
    "LennardJones",
    "Morse",
    "PairPotential",
    "TriangularStability",
    "broken_chain_stretch",
    "chain_dispersion",
    "chain_energy_density",
    "chain_modulus",
    "chain_spacing",
    "chain_stability",
    "chain_stress",
    "get_potential",
    "harmonic_chain_stiffness",
    "plot_chain_relaxation",
    "plot_dispersion",
    "random_chain_scaling",
    "random_chain_study",
    "resolve_neighbours",
    "stretch_chain",
    "stretch_patch",
    "triangular_bonds",
    "triangular_dispersion",
    "triangular_elastic_constants",
    "triangular_energy_density",
    "triangular_spacing",
    "triangular_stability",
    "triangular_stress",
    "triangular_tangent",
]
