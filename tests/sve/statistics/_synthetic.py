"""Study-shaped datasets built from window averages of synthetic fields (no solver)."""

from __future__ import annotations

import numpy as np
import xarray as xr


def study_dataset(values: np.ndarray, sizes, bc=("periodic",)) -> xr.Dataset:
    """values (size, realization, bc) of a scalar property -> a 1x1-tensor study dataset."""
    values = np.asarray(values, dtype=float)
    if values.ndim == 2:
        values = values[:, :, None]
    sizes = np.asarray(sizes)
    return xr.Dataset(
        {
            "conductivity": (("size", "realization", "bc", "i", "j"), values[..., None, None]),
            "status": (("size", "realization", "bc"), np.ones(values.shape, np.int8)),
        },
        coords={
            "size": sizes,
            "length": ("size", sizes * 1.0, {"units": "voxel"}),
            "bc": list(bc),
            "i": [0],
            "j": [0],
        },
    )
