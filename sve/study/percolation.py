"""Percolation per size: conductivity studies with a void phase, permeability studies.

The records of a conductivity study with a void phase hold, per window and
axis, whether the conducting phase joins the two faces normal to the axis
(``percolating``) and TauFactor's tortuosity factor of the window
(``tortuosity``, NaN where it does not percolate);
:func:`percolation_summary` gives the per-size values. A permeability
study's records hold whether the pore space crosses the window along each
axis; :func:`permeability_summary` gives the fraction of windows that do
not (their permeability along the axis is 0).
"""

from __future__ import annotations

import xarray as xr

from sve.study.schema import STATUS

__all__ = ["percolation_summary", "permeability_summary"]


def percolation_summary(ds):
    """Per size, bc and axis: the fraction of windows that percolate, and tau.

    For a conductivity study with an insulating phase (dataset variables
    ``percolating`` and ``tortuosity``). Returns an ``xarray.Dataset`` with
    ``percolating_fraction`` (sampled windows with a conducting path along
    the axis, among those solved) and ``tortuosity``: TauFactor's
    ``tau = phi * D0 / D_eff`` of the size, with ``phi`` the mean conducting
    fraction, ``D0`` the conducting phase's conductivity and ``D_eff`` the
    mean apparent diagonal conductivity along the axis, windows that do not
    percolate counting as 0 (so ``tau`` is never averaged over infinite
    values; it is infinite only when no window percolates).
    """
    solved = ds["status"].isin([STATUS["ok"]])
    flags = ds["percolating"].where(solved & (ds["percolating"] >= 0))
    fraction = flags.mean("realization")
    d0 = float(ds["tortuosity"].attrs["conducting_conductivity"])
    phase = int(ds["tortuosity"].attrs["conducting_phase"])
    phi = ds["volume_fraction"] if phase == 1 else 1 - ds["volume_fraction"]
    diagonal = ds["conductivity"].where(ds["i"] == ds["j"]).sum("j", min_count=1)
    d_eff = xr.where(flags == 1, diagonal, 0.0).where(flags.notnull())
    tau = phi.where(solved).mean("realization") * d0 / d_eff.mean("realization")
    return xr.Dataset(
        {
            "percolating_fraction": fraction.assign_attrs(
                long_name="fraction of the solved windows with a conducting path along axis i",
                units="1",
            ),
            "tortuosity": tau.assign_attrs(
                long_name="tortuosity factor phi D0 / D_eff of the size (TauFactor), windows "
                "that do not percolate counting as zero conductivity",
                units="1",
            ),
        }
    )


def permeability_summary(ds):
    """Per size, bc and axis: the fraction of SVEs whose pore space does not percolate.

    For a permeability study (dataset variables ``permeability``,
    ``percolating`` and ``porosity``). An SVE whose pores do not join the
    two faces normal to an axis has permeability 0 along it: it stays in
    every statistic as 0 (never NaN, never dropped), so the mean
    permeability of a size is the mean over all its solved SVEs, and the
    fraction of those zeros is reported beside it.

    Returns
    -------
    xarray.Dataset
        ``non_percolating_fraction`` (size, bc, i): solved SVEs without a
        path along axis i over the solved SVEs; ``non_percolating_any``
        (size, bc): the fraction without a path along at least one axis;
        ``solved`` (size, bc): the SVEs counted; ``porosity`` (size): the
        mean pore fraction of the solved SVEs.
    """
    solved = ds["status"] == STATUS["ok"]
    flags = ds["percolating"].where(solved & (ds["percolating"] >= 0))
    closed = (flags == 0).where(flags.notnull())
    fraction = closed.mean("realization")
    any_closed = closed.max("i").mean("realization")
    porosity = ds["porosity"].where(solved.all("bc")).mean("realization")
    return xr.Dataset(
        {
            "non_percolating_fraction": fraction.assign_attrs(
                long_name="fraction of the solved SVEs whose pore space does not join the two "
                "faces normal to axis i (permeability 0 along i, counted as 0)",
                units="1",
            ),
            "non_percolating_any": any_closed.assign_attrs(
                long_name="fraction of the solved SVEs that do not percolate along at least "
                "one axis",
                units="1",
            ),
            "solved": solved.sum("realization").assign_attrs(long_name="solved SVEs"),
            "porosity": porosity.assign_attrs(long_name="mean pore fraction", units="1"),
        }
    )
