"""A calibrated study beside the windows study of the same image: mean and integral range."""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import xarray as xr

from sve.report._numbers import check_study_dataset, key_numbers
from sve.study.spec import StudySpec
from sve.study.store import open_study

__all__ = ["compare_studies", "comparison_blocks"]

STUDIES = ("calibrated", "windows")


def compare_studies(
    calibrated: xr.Dataset | str | os.PathLike, windows: xr.Dataset | str | os.PathLike
) -> xr.Dataset:
    r"""Mean and integral range of a calibrated study beside those of the image's windows.

    Parameters
    ----------
    calibrated : xarray.Dataset or path to a study store
        The study of a medium calibrated to an image (:func:`sve.calibrate`,
        its ``[medium]`` in the spec).
    windows : xarray.Dataset or path to a study store
        The study of the windows of the same image (``medium.image``).

    Returns
    -------
    xarray.Dataset
        Over ``study`` (``"calibrated"``, ``"windows"``) and every ``bc``
        the two studies share: ``mean`` with ``mean_low``/``mean_high`` (the
        confidence interval of the mean tr(K)/d, or the modulus, at the
        study's largest size, of edge ``largest_length``);
        ``integral_range`` with ``integral_range_low``/``_high`` (Kanit's
        fit, length units to the power d) and ``alpha``. Per ``bc``:
        ``mean_overlap`` and ``integral_range_overlap``, whether the two
        intervals share a point. Attributes: ``confidence``, ``unit`` (the
        studies' length unit) and ``ndim``.

    Raises
    ------
    ValueError
        If the studies share no boundary condition, differ in dimension or
        in length unit, or one is not a study with a successful solve.

    Notes
    -----
    The two means answer different questions: the windows' mean at their
    largest size is the image's own value (one realization, its interval
    the spread of its windows), the calibrated study's is the ensemble mean
    of the fitted medium. Agreement of the two integral ranges says the
    fitted medium fluctuates like the image at the scales both studies
    cover; an interval that misses the other's flags a medium whose
    property statistics :math:`S_2` did not carry.
    """
    numbers = {}
    specs = {}
    for name, source in zip(STUDIES, (calibrated, windows), strict=True):
        if not isinstance(source, xr.Dataset | str | os.PathLike):
            raise TypeError(
                f"{name} must be an xarray.Dataset or a path to a study store, "
                f"got {type(source).__name__}"
            )
        ds = source if isinstance(source, xr.Dataset) else open_study(Path(source))
        ds = check_study_dataset(ds).load()
        specs[name] = StudySpec.from_json(ds.attrs["spec"])
        numbers[name] = key_numbers(ds)
    ndims = {name: spec.ndim for name, spec in specs.items()}
    if len(set(ndims.values())) > 1:
        raise ValueError(f"calibrated and windows must have one dimension, got {ndims}")
    units = {name: spec.length_unit for name, spec in specs.items()}
    if len(set(units.values())) > 1:
        raise ValueError(
            f"calibrated and windows must measure lengths in one unit, got {units}: give the "
            "calibrated spec sampling.length_unit (and spacing) of the image"
        )
    bcs = [bc for bc in numbers["calibrated"]["bc"].values if bc in numbers["windows"]["bc"]]
    if not bcs:
        raise ValueError(
            "calibrated and windows share no boundary condition: "
            f"{list(numbers['calibrated']['bc'].values)} and "
            f"{list(numbers['windows']['bc'].values)}"
        )
    names = ("mean", "mean_low", "mean_high", "largest_length", "integral_range",
             "integral_range_low", "integral_range_high", "alpha")  # fmt: skip
    values = {name: np.full((len(STUDIES), len(bcs)), np.nan) for name in names}
    for s, study in enumerate(STUDIES):
        table, spec = numbers[study], specs[study]
        for b, bc in enumerate(bcs):
            row = table.sel(bc=bc)
            finite = np.flatnonzero(np.isfinite(row["mean"].values))
            if finite.size:
                k = int(finite[-1])
                values["mean"][s, b] = float(row["mean"][k])
                values["mean_low"][s, b] = float(row["ci_low"][k])
                values["mean_high"][s, b] = float(row["ci_high"][k])
                values["largest_length"][s, b] = float(table["size"][k]) * spec.spacing
            for name in ("integral_range", "integral_range_low", "integral_range_high",
                         "alpha"):  # fmt: skip
                values[name][s, b] = float(row[name])
    out = xr.Dataset(
        {name: (("study", "bc"), array) for name, array in values.items()},
        coords={"study": list(STUDIES), "bc": bcs},
    )
    for name in ("mean", "integral_range"):
        low, high = out[f"{name}_low"], out[f"{name}_high"]
        out[f"{name}_overlap"] = ("bc", _overlap(low.values, high.values))
    ndim = ndims["calibrated"]
    unit = units["calibrated"]
    for name in ("integral_range", "integral_range_low", "integral_range_high"):
        out[name].attrs["units"] = f"{unit}^{ndim}"
    out["largest_length"].attrs["units"] = unit
    out.attrs.update(
        confidence=float(numbers["calibrated"].attrs.get("confidence", 0.95)),
        unit=unit,
        ndim=ndim,
    )
    return out


def _overlap(low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """Per column, whether the intervals [low, high] of the two rows share a point (an
    infinite end is an open interval; a NaN end, an interval not measured: False).
    """
    with np.errstate(invalid="ignore"):
        measured = np.all(~np.isnan(low) & ~np.isnan(high), axis=0)
        return (np.maximum(low[0], low[1]) <= np.minimum(high[0], high[1])) & measured


def comparison_blocks(comparison: xr.Dataset) -> list:
    """The report section of :func:`compare_studies` (blocks of the report document)."""
    from sve.report._document import Block

    unit, d = comparison.attrs["unit"], comparison.attrs["ndim"]
    level = round(100 * comparison.attrs["confidence"])
    rows = []
    for bc in comparison["bc"].values:
        for study in STUDIES:
            s = comparison.sel(bc=bc, study=study)
            rows.append([
                str(bc), study,
                f"{_g(s['mean'])} [{_g(s['mean_low'])}, {_g(s['mean_high'])}]",
                _g(s["largest_length"]),
                f"{_g(s['integral_range'])} [{_g(s['integral_range_low'])}, "
                f"{_g(s['integral_range_high'])}]",
            ])  # fmt: skip
    sentences = []
    for bc in comparison["bc"].values:
        s = comparison.sel(bc=bc)
        mean = "overlap" if bool(s["mean_overlap"]) else "do not overlap"
        area = "overlap" if bool(s["integral_range_overlap"]) else "do not overlap"
        sentences.append([f"{bc}: the means' intervals {mean}; the integral ranges' {area}."])
    return [
        Block("h2", "Beside the windows study of the image"),
        Block(
            "p",
            "The calibrated medium's ensemble mean and integral range beside those of the "
            f"windows of the image it was calibrated to ({level} % intervals; the windows' "
            "mean is the image's own value, one realization).",
        ),
        Block(
            "table",
            rows=rows,
            header=[
                "bc",
                "study",
                "mean at the largest size",
                f"largest edge ({unit})",
                f"integral range ({unit}^{d})",
            ],
        ),  # fmt: skip
        Block("list", rows=sentences),
    ]


def _g(value) -> str:
    value = float(value)
    return "n/a" if not math.isfinite(value) else f"{value:.4g}"
