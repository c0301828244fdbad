"""Figures of Green–Kubo estimates and memory kernels (matplotlib Figures, no pyplot state)."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from sve.fluctuations.green_kubo import GreenKuboResult
from sve.fluctuations.memory import MemoryKernel

__all__ = ["plot_green_kubo", "plot_memory_kernel"]


def _figure(fig: Figure | None, size: tuple[float, float]) -> Figure:
    """A new constrained-layout Figure of `size`, or the caller's (resized)."""
    if fig is None:
        return Figure(figsize=size, layout="constrained")
    if not isinstance(fig, Figure):
        raise TypeError(f"fig must be a matplotlib Figure, got {type(fig).__name__}")
    fig.set_size_inches(*size)
    fig.set_layout_engine("constrained")
    return fig


def plot_green_kubo(
    result: GreenKuboResult,
    *,
    exact: float | None = None,
    time_unit: str = "",
    value_unit: str = "",
    fig: Figure | None = None,
) -> Figure:
    """The running Green–Kubo integral with the estimate's band and the cutoff.

    Parameters
    ----------
    result : GreenKuboResult
        From :func:`~sve.fluctuations.green_kubo`.
    exact : float, optional
        A reference value drawn as a dashed line (e.g. a known exact result).
    time_unit, value_unit : str
        Unit labels of the axes.
    fig : matplotlib.figure.Figure, optional
        An empty figure to draw into (e.g. ``matplotlib.pyplot.figure()``);
        by default a new one, not registered with pyplot.

    Returns
    -------
    matplotlib.figure.Figure
        The running integral against the lag (up to 3 cutoffs, or the whole
        half series), the estimate and its interval as a band, the cutoff as
        a vertical line.

    Examples
    --------
    >>> from sve.fluctuations import green_kubo, ornstein_uhlenbeck
    >>> result = green_kubo(ornstein_uhlenbeck(4096, 0.1, tau=1.0, rng=0), 0.1)
    >>> fig = plot_green_kubo(result, exact=1.0)
    >>> len(fig.axes)
    1
    """
    if not isinstance(result, GreenKuboResult):
        raise TypeError(f"result must be a GreenKuboResult, got {type(result).__name__}")
    fig = _figure(fig, (6.0, 3.6))
    ax = fig.add_subplot()
    lags, integral = result.lags, result.running_integral
    if np.isfinite(result.cutoff):
        keep = lags <= 3 * result.cutoff
        lags, integral = lags[keep], integral[keep]
    ax.plot(lags, integral, color="#2b4c7e", lw=1.4, label="running integral")
    low, high = result.interval
    ax.axhspan(low, high, color="#e8a33d", alpha=0.25, lw=0,
               label=f"{result.confidence:.0%} interval ({result.method})")  # fmt: skip
    ax.axhline(result.value, color="#e8a33d", lw=1.2, label=f"estimate {result.value:.4g}")
    if np.isfinite(result.cutoff):
        ax.axvline(result.cutoff, color="0.3", ls=":", lw=1.0,
                   label=f"cutoff {result.cutoff:.4g}")  # fmt: skip
    if exact is not None:
        ax.axhline(exact, color="k", ls="--", lw=1.0, label=f"exact {exact:.4g}")
    unit = f" [{time_unit}]" if time_unit else ""
    ax.set_xlabel(f"lag t{unit}")
    label = "∫₀ᵗ C ds" if result.kind == "raw" else result.kind.replace("_", " ")
    ax.set_ylabel(label + (f" [{value_unit}]" if value_unit else ""))
    ax.set_title("Green–Kubo running integral", fontsize=10)
    ax.legend(fontsize=8, loc="lower right")
    return fig


def plot_memory_kernel(
    kernel: MemoryKernel,
    *,
    exact: np.ndarray | None = None,
    spread: np.ndarray | None = None,
    time_unit: str = "",
    fig: Figure | None = None,
) -> Figure:
    r"""The memory kernel K(t) and its running integral (the friction).

    Parameters
    ----------
    kernel : MemoryKernel
        From :func:`~sve.fluctuations.memory_kernel`.
    exact : array_like, optional
        A reference kernel at ``kernel.times``, drawn dashed.
    spread : array_like, optional
        A standard error at ``kernel.times`` (e.g. over series), drawn as a
        band of ±2 of it.
    time_unit : str
        Unit label of the time axis.
    fig : matplotlib.figure.Figure, optional
        An empty figure to draw into; by default a new one.

    Returns
    -------
    matplotlib.figure.Figure
        Two panels: K(t), and :math:`\int_0^t K` with the friction.

    Examples
    --------
    >>> import numpy as np
    >>> from sve.fluctuations import gle_autocorrelation, memory_kernel
    >>> t = 0.05 * np.arange(100)
    >>> result = memory_kernel(gle_autocorrelation(t, strength=1.0, tau=1.0), 0.05)
    >>> len(plot_memory_kernel(result, exact=np.exp(-result.times)).axes)
    2
    """
    if not isinstance(kernel, MemoryKernel):
        raise TypeError(f"kernel must be a MemoryKernel, got {type(kernel).__name__}")
    fig = _figure(fig, (8.0, 3.4))
    left, right = fig.subplots(1, 2)
    t = kernel.times
    unit = f" [{time_unit}]" if time_unit else ""
    if spread is not None:
        spread = np.asarray(spread, dtype=float)
        left.fill_between(t, kernel.kernel - 2 * spread, kernel.kernel + 2 * spread,
                          color="#2b4c7e", alpha=0.2, lw=0, label="±2 s.e.")  # fmt: skip
    left.plot(t, kernel.kernel, color="#2b4c7e", lw=1.4, label="K(t) (Volterra)")
    if exact is not None:
        left.plot(t, exact, "k--", lw=1.0, label="exact")
    left.axhline(0.0, color="0.6", lw=0.6)
    left.set_xlabel(f"t{unit}")
    left.set_ylabel("memory kernel K(t) [1/time²]")
    left.legend(fontsize=8)
    right.plot(t, kernel.running_friction, color="#e8a33d", lw=1.4)
    right.axhline(kernel.friction, color="0.3", ls=":", lw=1.0,
                  label=f"friction γ = {kernel.friction:.4g}")  # fmt: skip
    right.set_xlabel(f"t{unit}")
    right.set_ylabel("∫₀ᵗ K ds [1/time]")
    right.legend(fontsize=8)
    return fig
