"""Material stacks shared by the conductivity and elasticity solvers (private).

Both solvers index every voxel into a stack of distinct tensors (conductivity
d x d, Mandel stiffness m x m) and bound their results by the volume averages
of the tensors and of their inverses.
"""

from __future__ import annotations

import numpy as np


def distinct_tensors(values: np.ndarray, shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Per-voxel tensors ``shape + (m, m)`` as a stack of the distinct ones (n, m, m),
    float64, and the int32 index of every voxel into it (``numpy.unique``).
    """
    m = values.shape[-1]
    flat = values.reshape(-1, m * m).astype(np.float64)
    stack, inverse = np.unique(flat, axis=0, return_inverse=True)
    return stack.reshape(-1, m, m), inverse.reshape(shape).astype(np.int32)


def volume_averages(
    material: np.ndarray, stack: np.ndarray
) -> tuple[np.ndarray, np.ndarray | None]:
    """``<T>`` and ``<T^-1>`` over the voxels of an image, the latter None when a
    material present is zero (a void: ``<T^-1>`` is infinite).

    ``<T>`` is the Voigt bound of every apparent tensor of the image and
    ``<T^-1>^-1`` the Reuss bound (Hill 1952).
    """
    fractions = np.bincount(material.reshape(-1), minlength=len(stack)) / material.size
    present = fractions > 0.0
    mean = np.einsum("n,nij->ij", fractions[present], stack[present])
    if not np.all(np.linalg.norm(stack[present], axis=(1, 2)) > 0.0):
        return mean, None
    return mean, np.einsum("n,nij->ij", fractions[present], np.linalg.inv(stack[present]))
