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


def power_law_field(shape, beta, rng):
    """Periodic Gaussian field with spectral density |k|^(beta - d): C(r) ~ r^-beta, beta < d."""
    k2 = sum(
        (np.fft.fftfreq(n) if a < len(shape) - 1 else np.fft.rfftfreq(n)).reshape(
            [-1 if b == a else 1 for b in range(len(shape))]
        )
        ** 2
        for a, n in enumerate(shape)
    )
    with np.errstate(divide="ignore"):
        amplitude = np.where(k2 > 0, k2 ** ((beta - len(shape)) / 4), 0.0)
    axes = tuple(range(len(shape)))
    noise = np.fft.rfftn(rng.standard_normal(shape), axes=axes)
    field = np.fft.irfftn(noise * amplitude, s=shape, axes=axes)
    return field / field.std()
