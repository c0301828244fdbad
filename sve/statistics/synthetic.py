"""A synthetic study dataset whose statistics are known exactly, for examples and checks."""

from __future__ import annotations

import numpy as np
import xarray as xr

from sve._validation import check_integer, check_real

__all__ = ["synthetic_study"]

_BCS = ("kinematic", "periodic", "static", "mixed")


def synthetic_study(
    sizes=(8, 16, 32, 64),
    realizations: int = 50,
    *,
    mean: float = 3.0,
    point_variance: float = 4.0,
    integral_range: float = 1.0,
    ndim: int = 2,
    bc=("periodic",),
    gap: float = 0.0,
    rng: int | np.random.Generator | None = 0,
) -> xr.Dataset:
    r"""A study dataset of a scalar property drawn from Kanit's variance law.

    Parameters
    ----------
    sizes : sequence of int, default (8, 16, 32, 64)
        Edge lengths L (voxels of unit edge: ``length`` equals ``size``).
    realizations : int, default 50
        Realizations per size.
    mean : float, default 3.0
        The property's mean at every size (no boundary drift).
    point_variance : float, default 4.0
        :math:`D_Z^2` of Kanit's law.
    integral_range : float, default 1.0
        :math:`A`, in length units to the power `ndim`.
    ndim : int, default 2
        Dimension d of the volumes.
    bc : sequence of str, default ("periodic",)
        Boundary conditions of the dataset, among kinematic, periodic, static
        and mixed.
    gap : float, default 0.0
        Mean gap between kinematic and static values times L: kinematic
        values are ``z + g / 2`` and static ones ``z - g / 2`` with
        ``g = gap / L * (1 + 0.1 N(0, 1))``; periodic and mixed values are
        ``z``.
    rng : int or numpy.random.Generator, optional
        Seed or generator (SPEC 7); 0 by default, so examples are fixed.

    Returns
    -------
    xarray.Dataset
        ``conductivity`` (size, realization, bc, i, j) with i = j = 0 and
        ``status`` all ok (1), coordinates ``size``, ``length``, ``bc``,
        ``i``, ``j``: the layout of a study store.

    Notes
    -----
    Each value is ``z = mean + sqrt(point_variance * A / L^d) N(0, 1)``,
    independent across sizes and realizations, so that :math:`D^2(V) =
    D_Z^2 A / V` exactly (Kanit et al. 2003, eq. (9)). The normal draws are
    made in one call of shape (sizes, realizations), then the gaps in one
    more, so a dataset grows predictably with its arguments.

    Examples
    --------
    >>> ds = synthetic_study(realizations=4)
    >>> ds.conductivity.dims, ds.bc.values.tolist()
    (('size', 'realization', 'bc', 'i', 'j'), ['periodic'])
    """
    sizes = np.asarray(sizes)
    realizations = check_integer(realizations, "realizations", 2)
    ndim = check_integer(ndim, "ndim", 1)
    point_variance = check_real(point_variance, "point_variance", 0.0, np.inf)
    integral_range = check_real(integral_range, "integral_range", 0.0, np.inf)
    bcs = [bc] if isinstance(bc, str) else list(bc)
    unknown = [name for name in bcs if name not in _BCS]
    if unknown or not bcs:
        raise ValueError(f"bc must hold some of {_BCS}, got {bc!r}")
    if sizes.ndim != 1 or sizes.size < 1 or not np.all(sizes >= 1):
        raise ValueError(f"sizes must be a sequence of edge lengths >= 1, got {sizes!r}")
    rng = np.random.default_rng(rng)
    spread = np.sqrt(point_variance * integral_range / sizes.astype(float) ** ndim)
    z = mean + spread[:, None] * rng.standard_normal((sizes.size, realizations))
    g = np.zeros_like(z)
    if gap:
        g = (gap / sizes)[:, None] * (1 + 0.1 * rng.standard_normal(z.shape))
    shift = {"kinematic": 0.5, "periodic": 0.0, "static": -0.5, "mixed": 0.0}
    values = np.stack([z + shift[name] * g for name in bcs], axis=-1)[..., None, None]
    return xr.Dataset(
        {
            "conductivity": (("size", "realization", "bc", "i", "j"), values),
            "status": (("size", "realization", "bc"), np.ones(values.shape[:3], np.int8)),
        },
        coords={"size": sizes, "length": ("size", 1.0 * sizes), "bc": bcs, "i": [0], "j": [0]},
    )
