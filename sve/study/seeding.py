"""The random stream of every realization and of the window modes' parent.

Every stream is a pure function of the root seed and the identity of what it
draws, never of the order of execution, the worker or the list of sizes:

- realization ``k`` at edge ``L`` voxels draws from
  ``SeedSequence(entropy=seed, spawn_key=(L, k))`` (:func:`realization_rng`),
  so adding, removing or reordering sizes or realizations leaves every
  existing realization bit-for-bit unchanged (a store grows without changing
  a record: :func:`sve.study.store.create_store`);
- the parent of the window modes (one large realization of edge
  ``parent_size``) draws from ``spawn_key=(parent_size, PARENT_TAG)``
  (:func:`parent_rng`), a second key word no realization reaches.

Both feed :func:`numpy.random.default_rng` (PCG64). The stores record the
two schemes as text (attributes ``seeding_scheme`` and
``parent_seeding_scheme``, :mod:`sve.study.schema`).
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "PARENT_SEEDING_SCHEME",
    "PARENT_TAG",
    "SEEDING_SCHEME",
    "parent_rng",
    "realization_rng",
    "realization_seed_sequence",
]

#: Second spawn-key word of the parent's stream: a realization index no study reaches,
#: so the parent never shares a stream with an independent realization.
PARENT_TAG = 2**63 - 1

SEEDING_SCHEME = (
    "numpy.random.SeedSequence(entropy=seed, spawn_key=(size_in_voxels, realization)) "
    "-> numpy.random.default_rng (PCG64)"
)
PARENT_SEEDING_SCHEME = (
    f"numpy.random.SeedSequence(entropy=seed, spawn_key=(parent_size, {PARENT_TAG})) "
    "-> numpy.random.default_rng (PCG64); windows tile the parent from its origin"
)


def realization_seed_sequence(seed: int, size: int, realization: int) -> np.random.SeedSequence:
    """The seed sequence of one realization: ``SeedSequence(seed, spawn_key=(size, k))``."""
    return np.random.SeedSequence(seed, spawn_key=(int(size), int(realization)))


def realization_rng(seed: int, size: int, realization: int) -> np.random.Generator:
    """The random stream of one realization: a pure function of its identity.

    Keyed by the *size in voxels* (not its position in the list of sizes), so
    that adding, removing or reordering sizes or realizations leaves every
    existing realization bit-for-bit unchanged, whatever the worker or the
    order of execution.
    """
    return np.random.default_rng(realization_seed_sequence(seed, size, realization))


def parent_rng(seed: int, parent_size: int) -> np.random.Generator:
    """The random stream of a study's parent (window modes): keyed by its edge only."""
    return np.random.default_rng(
        np.random.SeedSequence(seed, spawn_key=(int(parent_size), PARENT_TAG))
    )
