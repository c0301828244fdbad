r"""Uniformly random orientations and rotated material tensors.

Symmetric tensors in Mandel notation: in 3-D the vector
:math:`(a_{11}, a_{22}, a_{33}, \sqrt2 a_{23}, \sqrt2 a_{13}, \sqrt2 a_{12})`,
in 2-D :math:`(a_{11}, a_{22}, \sqrt2 a_{12})`; a stiffness is the 6×6 (3×3)
matrix mapping the Mandel strain to the Mandel stress. The basis is
orthonormal, so rotations act on Mandel matrices by an orthogonal matrix Q:
:math:`C' = Q C Q^\mathsf{T}`.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike, NDArray

from generators._typing import RngLike
from generators._validation import as_float_array, as_generator, as_integer

ROTATION_TOLERANCE = 1e-9
"""Allowed deviation of a rotation from a proper orthogonal matrix: far above the
round-off of matrices built in double precision, far below any real deformation."""

_MANDEL_PAIRS = {2: [(0, 0), (1, 1), (0, 1)], 3: [(0, 0), (1, 1), (2, 2), (1, 2), (0, 2), (0, 1)]}


def random_rotations(n: int, ndim: int, *, rng: RngLike = None) -> NDArray[np.float64]:
    r"""Rotation matrices drawn uniformly (Haar measure) on SO(2) or SO(3).

    Parameters
    ----------
    n : int
        Number of rotations, >= 0.
    ndim : int
        2 or 3.
    rng : int, numpy.random.Generator, numpy.random.SeedSequence or None
        Source of randomness.

    Returns
    -------
    ndarray of shape (n, ndim, ndim), float64
        Proper rotations; column j of each is the image of grid axis j.

    Notes
    -----
    2-D: angle uniform on :math:`[0, 2\pi)`. 3-D: the unit quaternion
    :math:`(\sqrt{1-u_1}\sin 2\pi u_2, \sqrt{1-u_1}\cos 2\pi u_2,
    \sqrt{u_1}\sin 2\pi u_3, \sqrt{u_1}\cos 2\pi u_3)` of three uniform
    deviates is uniform on the 3-sphere, hence its rotation uniform on SO(3)
    [1]_. Then the rotation angle :math:`\omega` has density
    :math:`(1 - \cos\omega)/\pi` on :math:`[0, \pi]` and every entry of the
    matrix has mean 0 and variance 1/3.

    References
    ----------
    .. [1] K. Shoemake, "Uniform random rotations", in *Graphics Gems III*,
       Academic Press, 124-132, 1992.

    Examples
    --------
    >>> r = random_rotations(4, 3, rng=0)
    >>> bool(np.allclose(r @ r.transpose(0, 2, 1), np.eye(3)))
    True
    """
    n = as_integer(n, "n", minimum=0)
    ndim = as_integer(ndim, "ndim", minimum=2)
    if ndim > 3:
        raise ValueError(f"ndim must be 2 or 3, got {ndim}")
    rng = as_generator(rng)
    if ndim == 2:
        angle = 2.0 * math.pi * rng.random(n)
        c, s = np.cos(angle), np.sin(angle)
        return np.stack([np.stack([c, -s], axis=-1), np.stack([s, c], axis=-1)], axis=-2)
    u1, u2, u3 = rng.random((3, n))
    x = np.sqrt(1.0 - u1) * np.sin(2.0 * math.pi * u2)
    y = np.sqrt(1.0 - u1) * np.cos(2.0 * math.pi * u2)
    z = np.sqrt(u1) * np.sin(2.0 * math.pi * u3)
    w = np.sqrt(u1) * np.cos(2.0 * math.pi * u3)
    return np.stack(
        [
            np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)], -1),
            np.stack([2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)], -1),
            np.stack([2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)], -1),
        ],
        axis=-2,
    )


def rotate_tensor(tensor: ArrayLike, rotation: ArrayLike) -> NDArray[np.float64]:
    r"""Rotate a material tensor by one rotation or a stack of them.

    Parameters
    ----------
    tensor : array_like of float
        Shape (d, d): a second-order tensor (conductivity), rotated as
        :math:`R K R^\mathsf{T}`; (d, d, d, d): a fourth-order tensor,
        :math:`C'_{ijkl} = R_{ia} R_{jb} R_{kc} R_{ld} C_{abcd}`; (3, 3) in
        2-D or (6, 6) in 3-D: a Mandel matrix (module docstring), rotated
        as :math:`Q C Q^\mathsf{T}`.
    rotation : array_like of float, shape (d, d) or (n, d, d)
        Proper rotation matrices, d = 2 or 3.

    Returns
    -------
    ndarray of float64
        The rotated tensor, of the shape of ``tensor``, with a leading axis
        of length n for a stack of rotations.

    Notes
    -----
    Rotations keep the invariants: trace and eigenvalues of a second-order
    tensor and of a Mandel matrix.

    Examples
    --------
    >>> quarter_turn = np.array([[0.0, -1.0], [1.0, 0.0]])
    >>> rotate_tensor(np.diag([1.0, 5.0]), quarter_turn)
    array([[5., 0.],
           [0., 1.]])
    """
    rotation = as_float_array(rotation, "rotation", -math.inf, math.inf)
    if rotation.ndim not in (2, 3) or rotation.shape[-2:] not in ((2, 2), (3, 3)):
        raise ValueError(
            f"rotation must have shape (d, d) or (n, d, d), d = 2 or 3, got {rotation.shape}"
        )
    d = rotation.shape[-1]
    defect = np.abs(rotation @ np.swapaxes(rotation, -1, -2) - np.eye(d)).max(initial=0.0)
    determinant = np.linalg.det(rotation)
    if (
        defect > ROTATION_TOLERANCE
        or np.abs(determinant - 1.0).max(initial=0.0) > ROTATION_TOLERANCE
    ):
        raise ValueError(
            f"rotation must hold proper rotation matrices (R R^T = I, det R = 1), got max "
            f"|R R^T - I| = {defect:.2e}"
        )
    tensor = as_float_array(tensor, "tensor", -math.inf, math.inf)
    single = rotation.ndim == 2
    r = rotation[None] if single else rotation
    mandel = 3 * (d - 1)
    if tensor.shape == (d, d):
        out = np.einsum("nia,ab,njb->nij", r, tensor, r)
    elif tensor.shape == (d,) * 4:
        out = np.einsum("nia,njb,nkc,nld,abcd->nijkl", r, r, r, r, tensor)
    elif tensor.shape == (mandel, mandel):
        q = _mandel_rotation(r)
        out = np.einsum("nIJ,JK,nLK->nIL", q, tensor, q)
    else:
        raise ValueError(
            f"tensor must have shape ({d}, {d}), ({d}, {d}, {d}, {d}) or Mandel "
            f"({mandel}, {mandel}) for {d}-D rotations, got {tensor.shape}"
        )
    return out[0] if single else out


def grain_tensors(
    grain_ids: ArrayLike, rotations: ArrayLike, tensor: ArrayLike
) -> NDArray[np.float64]:
    """Each voxel's tensor: ``tensor`` rotated by the orientation of its grain.

    Parameters
    ----------
    grain_ids : array_like of int, any shape
        Grain index of every voxel, in [0, n), e.g.
        :attr:`Polycrystal.grain_ids`.
    rotations : array_like of float, shape (n, d, d)
        One proper rotation per grain, e.g. :attr:`Polycrystal.rotations`.
    tensor : array_like of float
        The single-crystal tensor in the grain frame (:func:`rotate_tensor`).

    Returns
    -------
    ndarray of shape ``grain_ids.shape + tensor.shape``, float64
        The rotated tensor of every voxel. It holds ``tensor.size`` floats
        per voxel (36 for a 3-D Mandel stiffness: 75 MB on 64^3, 600 MB on 128^3);
        where memory matters, keep ``rotate_tensor(tensor, rotations)`` (one
        per grain) and index it by ``grain_ids`` in the solver.

    Examples
    --------
    >>> ids = np.array([[0, 1], [1, 0]])
    >>> turns = np.array([np.eye(2), [[0.0, -1.0], [1.0, 0.0]]])
    >>> grain_tensors(ids, turns, np.diag([1.0, 2.0]))[0, 1]
    array([[2., 0.],
           [0., 1.]])
    """
    ids = np.asarray(grain_ids)
    if not np.issubdtype(ids.dtype, np.integer):
        raise TypeError(f"grain_ids must hold integers, got dtype {ids.dtype}")
    if np.ndim(rotations) != 3:
        raise ValueError(f"rotations must have shape (n, d, d), got {np.shape(rotations)}")
    per_grain = rotate_tensor(tensor, rotations)
    if ids.size and (ids.min() < 0 or ids.max() >= len(per_grain)):
        raise ValueError(
            f"grain_ids must lie in [0, {len(per_grain) - 1}], got values in "
            f"[{ids.min()}, {ids.max()}]"
        )
    return per_grain[ids]


def _mandel_rotation(rotations: np.ndarray) -> np.ndarray:
    """Orthogonal Mandel matrices Q (n, m, m) of rotations (n, d, d)."""
    d = rotations.shape[-1]
    pairs = _MANDEL_PAIRS[d]
    basis = np.zeros((len(pairs), d, d))
    for index, (i, j) in enumerate(pairs):
        weight = 1.0 if i == j else 1.0 / math.sqrt(2.0)
        basis[index, i, j] = weight
        basis[index, j, i] = weight
    return np.einsum("Iab,nac,Jcd,nbd->nIJ", basis, rotations, basis, rotations)
