"""The dispersion and relaxation figures draw what the functions compute."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from sve.atoms import chain_dispersion, plot_chain_relaxation, plot_dispersion, stretch_chain


def test_dispersion_figure_draws_the_dispersion_and_flattens_at_lambda_c():
    fig = plot_dispersion("lj", [1.0, (13 / 7) ** (1 / 6)])
    lines = fig.axes[0].lines
    q, w2 = chain_dispersion("lj", 1.0)
    assert np.array_equal(lines[0].get_xdata(), q) and np.array_equal(lines[0].get_ydata(), w2)
    assert np.max(np.abs(lines[1].get_ydata())) < 1e-9 * np.max(w2)  # all modes soft
    assert "λc = 1.10868" in fig.axes[0].get_title()


def test_figures_draw_on_given_axes():
    fig = Figure()
    ax = fig.add_subplot()
    assert plot_dispersion("morse", ax=ax) is fig and len(ax.lines) == 6  # 5 curves + zero
    fig2 = Figure()
    ax2 = fig2.add_subplot()
    ds = stretch_chain("lj", [1.0, 1.05, 1.12], bonds=10, rng=0)
    assert plot_chain_relaxation(ds, ax=ax2) is fig2
    assert np.array_equal(ax2.lines[1].get_ydata(), ds["stress"].values)
