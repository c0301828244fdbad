"""Periodic stationary Gaussian random fields by circulant embedding, and fields built on them."""

from __future__ import annotations

import math
import os
import threading
import warnings
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import scipy.fft
from numpy.typing import NDArray
from scipy.fft import dct, fftn, ifftn, irfft, rfft, rfftn

from generators._typing import RngLike, ShapeLike
from generators._validation import as_generator, as_positive, as_shape, is_integer
from generators._warnings import ClippedEmbeddingWarning
from generators.covariance import CovarianceModel

CLIPPED_VARIANCE_WARNING = 1e-6
"""Relative variance excess from clipped eigenvalues above which a warning is
given: far above floating-point round-off (below 1e-14 measured on 256^3 and
4096^2 grids), far below what an ensemble of realizations could resolve."""

AMPLITUDE_CACHE_BYTES = 256 * 2**20
"""Bytes of square-rooted embedding eigenvalues kept between calls, least recently
used first out: 3 grids of 256^3 (67 MB each in the half-spectrum layout); a grid
whose amplitudes alone exceed it is recomputed at every call."""

_PAGE_DOUBLES = 512  # float64 entries per 4 KiB memory page
_SLAB_BYTES = 4 * 2**20  # spectrum drawn and weighted in slabs of about this size


def gaussian_field(
    shape: ShapeLike,
    covariance: CovarianceModel,
    *,
    spacing: float = 1.0,
    rng: RngLike = None,
    workers: int | None = None,
) -> NDArray[np.float64]:
    r"""Periodic Gaussian random field with zero mean and unit variance.

    Parameters
    ----------
    shape : sequence of int
        Number of voxels (N0,), (N0, N1) or (N0, N1, N2); each >= 2.
    covariance : CovarianceModel
        Correlation model, e.g. ``Exponential(length)``; its lengths are in
        the units of ``spacing``. A model with per-axis lengths must have
        ``len(shape)`` of them.
    spacing : float, default 1.0
        Voxel edge length, > 0, in physical length units.
    rng : int, numpy.random.Generator, numpy.random.SeedSequence or None
        Source of randomness, normalized with
        :func:`numpy.random.default_rng`.
    workers : int or None, default None
        Threads for the Fourier transforms and for weighting the spectrum
        while the normal deviates are drawn (the draws themselves stay on one
        thread, in one stream): an int >= 1, or -1 for all cores; None takes
        ``scipy.fft.get_workers()`` where a ``scipy.fft.set_workers`` context
        sets it above 1, else the cores this process may run on. The field is
        bit-identical whatever the number of workers.

    Returns
    -------
    ndarray of shape ``shape``, float64
        One realization. Its mean is 0 and its variance 1 *in distribution*;
        a realization is never standardized by its own sample mean and
        standard deviation, which would bias the statistics of an ensemble
        (the spread of window averages would vanish).

    Warns
    -----
    ClippedEmbeddingWarning
        (a ``UserWarning``, with the relative excess as its ``excess``
        attribute) when the periodic embedding of the covariance is not positive
        definite (the box is too small for the correlation length) and the
        negative eigenvalues clipped to zero inflate the variance by more than
        a relative ``CLIPPED_VARIANCE_WARNING``.

    Notes
    -----
    Circulant embedding on the periodic grid [1]_, [2]_. The correlation is
    evaluated at the minimum-image distance of every grid index,
    :math:`r_j = \lvert(\min(j_a, N_a - j_a)\,\Delta)_a\rvert`, and its
    discrete Fourier transform gives the eigenvalues :math:`\lambda_m` of the
    block-circulant covariance matrix. With white noise :math:`w` of unit
    variance,

    .. math::

        f = \mathcal{F}^{-1}\left[\sqrt{\lambda}\; \mathcal{F}[w]\right]

    has exactly the covariance :math:`\mathrm{E}[f(x) f(x + j\Delta)] =
    \rho(r_j)` on the grid, periodic in every direction, whatever the box
    size, so the correlation length is a physical length independent of the
    box. Negative :math:`\lambda_m` (the minimum-image correlation is not
    always positive definite) are set to zero; this raises the variance by
    :math:`\sum_m \lvert\min(\lambda_m, 0)\rvert / N`, reported in the
    warning. For a rotated anisotropic model the minimum-image correlation
    is symmetrized, :math:`c_j = (\rho(h_j) + \rho(-h_j))/2` with
    :math:`h_j` the signed minimum image, which only changes it on the
    half-box planes where the image is ambiguous.

    Cost: one inverse real FFT of the grid, on ``workers`` threads, and N
    normal deviates, drawn on one thread from one stream so that a seed gives
    the same field whatever the threads (on 256^3 the deviates take about
    0.16 s, 0.9 of an all-core FFT pair on 2 cores, and the transform about
    0.13 s); the square roots of the eigenvalues are kept between calls for
    the last few grids (``AMPLITUDE_CACHE_BYTES``), keyed by shape, spacing
    and model. The eigenvalues of a model with axis-aligned principal axes are even in every
    axis, so they come from a type-I discrete cosine transform of one
    :math:`2^{-d}` corner of the grid (a real FFT of the full grid for a
    rotated model). The white-noise spectrum :math:`\mathcal{F}[w]` is drawn
    directly in its exact law: circular complex normal deviates of variance
    N (the real and imaginary parts N / 2 each) at every frequency of the
    half spectrum, except on the self-conjugate planes (last-axis frequency 0
    and, for even :math:`N_{d-1}`, the Nyquist one), which are the FFT over
    the leading axes of real normal planes of variance :math:`N_{d-1}`.

    References
    ----------
    .. [1] C. R. Dietrich and G. N. Newsam, "Fast and exact simulation of
       stationary Gaussian processes through circulant embedding of the
       covariance matrix", SIAM J. Sci. Comput. 18(4), 1088-1107, 1997.
    .. [2] A. T. A. Wood and G. Chan, "Simulation of stationary Gaussian
       processes in [0, 1]^d", J. Comput. Graph. Stat. 3(4), 409-432, 1994.

    Examples
    --------
    >>> from generators import Exponential, gaussian_field
    >>> field = gaussian_field((64, 64), Exponential(4.0), spacing=0.5, rng=7)
    >>> field.shape, field.dtype
    ((64, 64), dtype('float64'))
    """
    shape, spacing = _check_grid(shape, covariance, spacing)
    rng = as_generator(rng)
    workers = _as_workers(workers)

    amplitude, excess = _amplitude(shape, covariance, spacing, workers)
    if excess > CLIPPED_VARIANCE_WARNING:
        warnings.warn(
            ClippedEmbeddingWarning(
                f"the periodic embedding of {covariance!r} on a grid of shape {shape} with "
                f"spacing {spacing:g} is not positive definite: clipping its negative "
                f"eigenvalues raises the field variance by a relative {excess:.2e}; "
                "use a box several correlation lengths wide",
                excess,
            ),
            stacklevel=2,
        )
    spectrum = _weighted_white_noise_spectrum(shape, rng, amplitude, workers)
    return _inverse_rfftn(spectrum, shape, workers)


def nonergodic_gaussian_field(
    shape: ShapeLike,
    covariance: CovarianceModel,
    offset_variance: float,
    *,
    spacing: float = 1.0,
    rng: RngLike = None,
) -> NDArray[np.float64]:
    r"""Gaussian field plus a random offset drawn once per realization.

    The standard counter-example for ergodicity tests: every realization is
    stationary, but the spatial average of one realization, however large,
    converges to its own offset rather than to the ensemble mean 0.

    Parameters
    ----------
    shape, covariance, spacing
        As for :func:`gaussian_field`.
    offset_variance : float
        Variance :math:`s^2 > 0` of the offset.
    rng : int, numpy.random.Generator, numpy.random.SeedSequence or None
        Source of randomness; the field is drawn first, then the offset.

    Returns
    -------
    ndarray of shape ``shape``, float64
        :math:`g(x) = f(x) + Y` with :math:`f` from :func:`gaussian_field`
        and :math:`Y \sim N(0, s^2)` independent of it.

    Notes
    -----
    The ensemble covariance :math:`\mathrm{E}[g(x) g(x + h)] =
    \rho(h) + s^2`
    does not vanish at large lags, so the variance of the average over a
    window of volume V tends to :math:`s^2`, not to 0 like
    :math:`A / V`: the medium is stationary but not ergodic [1]_. An
    ergodicity test must flag it: the spread of the sub-window averages of
    one large realization (about :math:`\sqrt{A / V}`) is much smaller than
    the spread of the averages of independent realizations (about
    :math:`\sqrt{s^2 + A / V}`).

    References
    ----------
    .. [1] C. Lantuéjoul, "Ergodicity and integral range", J. Microsc.
       161(3), 387-403, 1991.

    Examples
    --------
    >>> from generators import Exponential, nonergodic_gaussian_field
    >>> field = nonergodic_gaussian_field((32, 32), Exponential(2.0), 4.0, rng=1)
    >>> field.shape
    (32, 32)
    """
    shape, spacing = _check_grid(shape, covariance, spacing)
    offset_variance = as_positive(offset_variance, "offset_variance")
    rng = as_generator(rng)
    field = gaussian_field(shape, covariance, spacing=spacing, rng=rng)
    field += math.sqrt(offset_variance) * rng.standard_normal()
    return field


def lognormal_field(
    shape: ShapeLike,
    covariance: CovarianceModel,
    mean: float,
    cv: float,
    *,
    spacing: float = 1.0,
    rng: RngLike = None,
) -> NDArray[np.float64]:
    r"""Positive property field with exact mean and coefficient of variation.

    Parameters
    ----------
    shape, covariance, spacing, rng
        As for :func:`gaussian_field`; ``covariance`` is that of the
        underlying Gaussian field.
    mean : float
        Ensemble mean :math:`m > 0` of the property, in its own units.
    cv : float
        Coefficient of variation :math:`c > 0` (standard deviation / mean).

    Returns
    -------
    ndarray of shape ``shape``, float64
        :math:`Z = \exp(\mu + \sigma f)`, positive, with :math:`f` from
        :func:`gaussian_field`.

    Notes
    -----
    With :math:`\sigma^2 = \ln(1 + c^2)` and :math:`\mu = \ln m - \sigma^2 /
    2`, :math:`\mathrm{E}[Z] = m` and :math:`\operatorname{sd}(Z) = c\, m`
    exactly in distribution, and the covariance of Z is [1]_

    .. math::

        \operatorname{Cov}(Z(x), Z(x + h)) = m^2
        \left(e^{\sigma^2 \rho(h)} - 1\right),

    whose correlation :math:`(e^{\sigma^2 \rho} - 1) / c^2` is below
    :math:`\rho` and so has a smaller integral range. A clipped embedding
    (the warning of :func:`gaussian_field`) inflates the variance of f and
    with it the mean and cv of Z.

    References
    ----------
    .. [1] C. Lantuéjoul, *Geostatistical Simulation: Models and Algorithms*,
       Springer, 2002.

    Examples
    --------
    >>> from generators import Gaussian, lognormal_field
    >>> field = lognormal_field((16, 16), Gaussian(2.0), 10.0, 0.5, rng=3)
    >>> bool(field.min() > 0)
    True
    """
    shape, spacing = _check_grid(shape, covariance, spacing)
    mean = as_positive(mean, "mean")
    cv = as_positive(cv, "cv")
    rng = as_generator(rng)
    log_variance = math.log1p(cv**2)
    field = gaussian_field(shape, covariance, spacing=spacing, rng=rng)
    field *= math.sqrt(log_variance)
    field += math.log(mean) - log_variance / 2.0
    return np.exp(field, out=field)


def embedding_variance_excess(
    shape: ShapeLike, covariance: CovarianceModel, *, spacing: float = 1.0
) -> float:
    r"""Relative field variance added by clipping the periodic embedding.

    Parameters
    ----------
    shape, covariance, spacing
        As for :func:`gaussian_field`.

    Returns
    -------
    float
        :math:`\sum_m \lvert\min(\lambda_m, 0)\rvert / N` (dimensionless, >= 0):
        0 when the minimum-image correlation is positive definite on the grid;
        otherwise the excess variance of every field :func:`gaussian_field`
        draws on that grid (a study records it per size).

    Examples
    --------
    >>> from generators import Gaussian, embedding_variance_excess
    >>> embedding_variance_excess((16, 16), Gaussian(4.0)) > 1e-3  # box 4 lengths wide
    True
    >>> embedding_variance_excess((64, 64), Gaussian(4.0)) < 1e-12  # round-off only
    True
    """
    shape, spacing = _check_grid(shape, covariance, spacing)
    return _amplitude(shape, covariance, spacing)[1]


def _check_grid(
    shape: object, covariance: object, spacing: object
) -> tuple[tuple[int, ...], float]:
    """Validate the arguments shared by the field generators."""
    shape = as_shape(shape)
    if not isinstance(covariance, CovarianceModel):
        raise TypeError(f"covariance must be a CovarianceModel, got {covariance!r}")
    if covariance.ndim is not None and covariance.ndim != len(shape):
        raise ValueError(
            f"covariance has {covariance.ndim} per-axis lengths, so shape must have "
            f"{covariance.ndim} entries, got {shape}"
        )
    return shape, as_positive(spacing, "spacing")


def _embedding(
    shape: tuple[int, ...], covariance: CovarianceModel, spacing: float, workers: int = 1
) -> tuple[NDArray[np.float64], float]:
    """Clipped eigenvalues in the layout of ``rfftn`` and the variance clipping adds.

    The same whatever the ``workers`` of the transforms.
    """
    if covariance.rotation is None:
        eigenvalues = _aligned_eigenvalues(shape, covariance, spacing, workers)
    else:
        correlation = _grid_correlation(shape, covariance, spacing)
        eigenvalues = rfftn(correlation, workers=workers).real.copy()
    negative = np.minimum(eigenvalues, 0.0)
    if not negative.any():
        return eigenvalues, 0.0
    # each rfftn entry of last-axis frequency 0 < k < N/2 stands for k and N - k
    n_last = shape[-1]
    multiplicity = np.where(np.arange(eigenvalues.shape[-1]) * 2 % n_last == 0, 1.0, 2.0)
    excess = -float(np.sum(negative * multiplicity)) / math.prod(shape)
    np.maximum(eigenvalues, 0.0, out=eigenvalues)
    return eigenvalues, max(excess, 0.0)


def _aligned_eigenvalues(
    shape: tuple[int, ...], covariance: CovarianceModel, spacing: float, workers: int = 1
) -> NDArray[np.float64]:
    """Eigenvalues of a correlation even in every axis, from one corner of the grid."""
    offsets = []
    for axis, n in enumerate(shape):
        # even n: indices 0..n/2 feed a type-I DCT (the DFT of the even extension);
        # odd n: the whole minimum-image axis feeds a real FFT
        index = np.arange(n // 2 + 1) if n % 2 == 0 else np.minimum(np.arange(n), n - np.arange(n))
        offsets.append(
            (index * spacing).reshape([-1 if a == axis else 1 for a in range(len(shape))])
        )
    corner = covariance._unit_correlation(covariance._scaled_distance(offsets))
    for axis, n in enumerate(shape):
        corner = (
            dct(corner, type=1, axis=axis, workers=workers)
            if n % 2 == 0
            else rfft(corner, axis=axis, workers=workers).real
        )
    # spread the corner over the rfftn layout: frequency k and n - k share their eigenvalue
    index = [np.minimum(np.arange(n), n - np.arange(n)) for n in shape[:-1]]
    index.append(np.arange(shape[-1] // 2 + 1))
    return corner[np.ix_(*index)]


def _as_workers(workers: object) -> int:
    """Threads for ``gaussian_field``: an int >= 1 or -1 (all cores); None as documented."""
    if workers is None:
        chosen = scipy.fft.get_workers()
        if chosen != 1:
            return chosen
        try:
            return len(os.sched_getaffinity(0))
        except AttributeError:  # not on Linux
            return os.cpu_count() or 1
    if not is_integer(workers):
        raise TypeError(f"workers must be an integer or None, got {workers!r}")
    if workers == -1:
        return os.cpu_count() or 1
    if workers < 1:
        raise ValueError(f"workers must be >= 1 or -1 (all cores), got {workers!r}")
    return int(workers)


_amplitudes: OrderedDict[tuple, tuple[NDArray[np.float64], float]] = OrderedDict()
_amplitudes_lock = threading.Lock()


def _cache_key(shape: tuple[int, ...], covariance: CovarianceModel, spacing: float):
    """Key of a grid's amplitudes, None where the model's state cannot be keyed.

    The model's attributes enter by their ``repr`` (exact for floats, -0.0 included),
    with its class: two models share amplitudes only if they compute the same ones.
    """
    try:
        state = tuple(sorted((name, repr(value)) for name, value in vars(covariance).items()))
    except TypeError:  # no __dict__ (slots)
        return None
    return (shape, repr(spacing), type(covariance), state)


def _amplitude(
    shape: tuple[int, ...], covariance: CovarianceModel, spacing: float, workers: int = 1
) -> tuple[NDArray[np.float64], float]:
    """Square roots of the clipped eigenvalues (read-only) and the clipping's excess.

    From the cache of the last grids (``AMPLITUDE_CACHE_BYTES``), or computed and kept.
    """
    key = _cache_key(shape, covariance, spacing)
    if key is not None:
        with _amplitudes_lock:
            if key in _amplitudes:
                _amplitudes.move_to_end(key)
                return _amplitudes[key]
    eigenvalues, excess = _embedding(shape, covariance, spacing, workers)
    amplitude = np.sqrt(eigenvalues, out=eigenvalues)
    amplitude.setflags(write=False)
    if key is not None and amplitude.nbytes <= AMPLITUDE_CACHE_BYTES:
        with _amplitudes_lock:
            _amplitudes[key] = amplitude, excess
            while sum(a.nbytes for a, _ in _amplitudes.values()) > AMPLITUDE_CACHE_BYTES:
                _amplitudes.popitem(last=False)
    return amplitude, excess


def _weighted_white_noise_spectrum(
    shape: tuple[int, ...], rng: np.random.Generator, amplitude: NDArray[np.float64], workers: int
) -> np.ndarray:
    """``amplitude`` times a draw of ``rfftn(w)`` for a real white noise w of unit variance
    (gaussian_field Notes).

    The deviates fill the half spectrum in C order from one stream, in slabs along
    axis 0; with ``workers > 1`` a second thread weights the slab drawn before (and
    touches the memory pages of the next one) while the next is drawn. Every entry
    gets the same operations in the same order as in one pass over the whole array:
    the values are the same for any slab size and number of workers.
    """
    n_last = shape[-1]
    leading = shape[:-1]
    spectrum = np.empty((*leading, n_last // 2 + 1), dtype=np.complex128)
    scale = math.sqrt(math.prod(shape) / 2.0)
    rows = max(1, _SLAB_BYTES // (spectrum[0].nbytes or 1)) if leading else _SLAB_BYTES // 16
    slabs = [slice(start, start + rows) for start in range(0, spectrum.shape[0], rows)]

    def weight(index: int) -> None:
        slab = spectrum[slabs[index]]
        slab *= scale
        slab *= amplitude[slabs[index]]

    def touch(index: int) -> None:
        spectrum[slabs[index]].view(np.float64).reshape(-1)[::_PAGE_DOUBLES] = 0.0

    if workers == 1 or len(slabs) < 3:
        for index, where in enumerate(slabs):
            rng.standard_normal(out=spectrum[where].view(np.float64))
            weight(index)
    else:

        def beside(index: int) -> None:  # while slab `index` is drawn
            if index > 0:
                weight(index - 1)
            if index + 1 < len(slabs):
                touch(index + 1)

        with ThreadPoolExecutor(max_workers=1) as pool:
            touch(0)
            for index, where in enumerate(slabs):
                job = pool.submit(beside, index)
                rng.standard_normal(out=spectrum[where].view(np.float64))
                job.result()
            weight(len(slabs) - 1)
    # the self-conjugate planes, drawn after the rest, replace what was drawn there
    for k in (0, n_last // 2) if n_last % 2 == 0 else (0,):
        plane = math.sqrt(n_last) * rng.standard_normal(leading)
        plane = fftn(plane, workers=workers) if leading else plane
        spectrum[..., k] = plane * amplitude[..., k]
    return spectrum


def _inverse_rfftn(spectrum: np.ndarray, shape: tuple[int, ...], workers: int) -> np.ndarray:
    """``irfftn(spectrum, s=shape)``, bit for bit, with less memory.

    The same transforms as scipy's ``irfftn`` (pocketfft: complex inverse transforms
    along the leading axes in their order, the real one along the last axis, then the
    product with ``1 / N`` rounded from long double), but the complex ones in place
    where ``irfftn`` copies the whole half spectrum first.
    """
    if len(shape) > 1:
        spectrum = ifftn(
            spectrum,
            axes=tuple(range(len(shape) - 1)),
            norm="forward",
            overwrite_x=True,
            workers=workers,
        )
    field = irfft(
        spectrum, n=shape[-1], axis=-1, norm="forward", overwrite_x=True, workers=workers
    )
    field *= float(np.longdouble(1) / np.longdouble(math.prod(shape)))
    return field


def _grid_correlation(
    shape: tuple[int, ...], covariance: CovarianceModel, spacing: float
) -> NDArray[np.float64]:
    """Correlation at the (symmetrized) signed minimum-image lag of every grid index."""
    offsets = [
        (np.where(2 * index <= n, index, index - n) * spacing)
        for index, n in zip(np.indices(shape, sparse=True), shape, strict=True)
    ]
    correlation = covariance._unit_correlation(covariance._scaled_distance(offsets))
    if covariance.rotation is None:
        return correlation
    axes = tuple(range(len(shape)))
    mirrored = np.roll(np.flip(correlation, axis=axes), 1, axis=axes)
    return (correlation + mirrored) / 2.0
