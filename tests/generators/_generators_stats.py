"""Sampling helpers shared by the statistical tests of the generators."""

from __future__ import annotations

import numpy as np

N_SIGMA = 4.0
"""Half-width of the acceptance bands in standard errors. With the standard
error estimated from R >= 32 realizations the deviation follows a t law with
>= 31 degrees of freedom, so one comparison fails by chance with probability
below 4e-4; with an exactly known standard error, below 7e-5."""

N_REALIZATIONS = 32
"""Independent realizations behind each estimated standard error."""


def periodic_autocorrelation(values: np.ndarray) -> np.ndarray:
    """(1/N) sum_x a(x) a(x + h) for every lag h of a periodic array, by FFT."""
    spectrum = np.fft.rfftn(values)
    autocorrelation = np.fft.irfftn(np.abs(spectrum) ** 2, s=values.shape, axes=range(values.ndim))
    return autocorrelation / values.size


def mean_and_standard_error(samples: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean over the first axis (realizations) and its standard error from their spread."""
    samples = np.asarray(samples)
    return samples.mean(axis=0), samples.std(axis=0, ddof=1) / np.sqrt(len(samples))


def lags(ndim: int, steps: tuple[int, ...] = (1, 2, 4, 8)) -> list[tuple[int, ...]]:
    """Lag vectors in voxels: along the first axis and along the main diagonal."""
    along_axis = [(step,) + (0,) * (ndim - 1) for step in steps]
    diagonal = [(step,) * ndim for step in steps[:2]]
    return along_axis + diagonal


def torus_fraction_variance(shape: tuple[int, ...], s2, reach: float) -> float:
    """Variance of the phase fraction of one periodic realization on a torus of ``shape``
    voxels: (1/N) sum_h C(h) with C(h) = S2(|h|) - S2(0)^2 at the minimum-image lag,
    for a covariance that vanishes beyond ``reach`` voxels (less than half the box, so
    the minimum image is exact). ``s2`` maps an array of distances (voxels) to S2."""
    axes = [np.minimum(np.arange(n), n - np.arange(n)) for n in shape]
    squared = sum(np.meshgrid(*[a**2 for a in axes], indexing="ij", sparse=True))
    distances, counts = np.unique(squared, return_counts=True)
    assert reach < min(shape) / 2
    counts, distances = counts[distances < reach**2], distances[distances < reach**2]
    phi = float(s2(np.array([0.0]))[0])
    covariance = np.asarray(s2(np.sqrt(distances)), float) - phi**2
    return float(np.sum(counts * covariance) / np.prod(shape))


def gaussian_autocorrelation_sd(rho: np.ndarray) -> np.ndarray:
    """Standard deviation, at every lag h, of the periodic autocorrelation estimate
    (1/N) sum_x f(x) f(x + h) of one centred Gaussian field with grid covariance ``rho``
    (FFT order): by Isserlis' theorem its variance is
    (1/N) sum_k [rho(k)^2 + rho(k + h) rho(k - h)]. The bands of the covariance tests
    are held to it, so that a field with the right mean covariance but too much scatter
    (a band too wide) fails."""
    n = rho.size
    axes = range(rho.ndim)
    squares = np.sum(rho**2)
    spectrum = np.fft.fftn(rho)
    # sum_k rho(k + h) rho(k - h) = sum_j rho(j) rho(j - 2h): the autocorrelation of rho
    # at lag 2h (rho is even, so this is its self-convolution at 2h)
    convolution = np.real(np.fft.ifftn(spectrum * spectrum, axes=axes))
    index = np.indices(rho.shape)
    doubled = tuple((2 * index[a]) % rho.shape[a] for a in axes)
    return np.sqrt((squares + convolution[doubled]) / n)
