"""Convergence reports of a study: a self-contained HTML page, Markdown, PNG and SVG figures.

:func:`write_report` writes the report of a (possibly partial) study dataset or
store; :func:`key_numbers` returns the numbers it prints as a tidy
:class:`xarray.Dataset`, for users who draw their own figures. A parameter
sweep gets one report per value and a summary page (:func:`sweep_numbers`).
:func:`compare_studies` sets a calibrated study beside the windows study of its image.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import xarray as xr

from sve.report import _document, _figures, _sweep
from sve.report._compare import compare_studies, comparison_blocks
from sve.report._numbers import check_study_dataset, key_numbers
from sve.report._sweep import sweep_numbers
from sve.study.spec import StudySpec
from sve.study.store import open_study
from sve.study.sweep import is_sweep

__all__ = [
    "FIGURES",
    "Report",
    "SweepReport",
    "compare_studies",
    "key_numbers",
    "sweep_numbers",
    "write_report",
]

#: The figures of a report, written as ``NAME.png`` and ``NAME.svg``; a polycrystal's
#: report has ``grains`` (grain volumes) in place of ``s2`` (it has no phases), a
#: permeability study's one more, ``flow`` (the velocity magnitude of one SVE).
FIGURES = ("thumbnails", "s2", "mean_vs_size", "variance_vs_size")


@dataclass(frozen=True)
class Report:
    """The files of a written report and its key numbers."""

    markdown: Path
    html: Path
    figures: dict[str, Path]
    numbers: xr.Dataset

    def __fspath__(self) -> str:
        return str(self.markdown)

    def __str__(self) -> str:
        return f"{self.html} (Markdown: {self.markdown.name})"

    def read_text(self) -> str:
        """The Markdown text (``Path.read_text`` of :attr:`markdown`)."""
        return self.markdown.read_text()


@dataclass(frozen=True)
class SweepReport(Report):
    """The files of a parameter sweep's report: the summary page (``sweep.html``,
    ``sweep.md``, figure ``sweep``), its numbers (:func:`sweep_numbers`) and
    the report of each value (``reports``, in the folders ``sweep-K``).
    """

    reports: tuple[Report, ...] = ()


def write_report(
    source: xr.Dataset | str | Path,
    out_dir: str | Path,
    *,
    compare_with: xr.Dataset | str | Path | None = None,
) -> Report:
    """Write the convergence report of a study.

    Parameters
    ----------
    source : xarray.Dataset or path to a study store
        A study dataset or Zarr store, complete or partial (a running or
        interrupted study): the report says what is missing.
    out_dir : path
        Folder (created if needed) for ``report.html`` (self-contained: the
        figures are embedded, nothing is fetched), ``report.md`` and the
        figures ``NAME.png`` / ``NAME.svg`` for NAME in :data:`FIGURES`
        (``grains`` in place of ``s2`` for a polycrystal; a permeability
        study adds ``flow``, the velocity magnitude of one SVE solved at
        report time with ``fields=True``).
    compare_with : xarray.Dataset or path to a study store, optional
        The windows study of the image that ``source``'s medium was
        calibrated to (:func:`sve.calibrate`): the report adds a section
        with both studies' means and integral ranges side by side
        (:func:`compare_studies`).

    Returns
    -------
    Report
        Paths of the pages and figures, and :func:`key_numbers` of the study.
        ``os.fspath(result)`` is the Markdown path. A parameter sweep (a
        dataset with a ``sweep`` dimension, or its store): a
        :class:`SweepReport`: the report of each value in ``out_dir/sweep-K``
        and the summary page ``sweep.html`` / ``sweep.md`` with the figure
        ``sweep.png`` / ``.svg`` (per bc, the variance exponent, the
        integral range and the RVE size against the swept value).

    Raises
    ------
    TypeError
        If ``source`` is neither a dataset nor a path.
    ValueError
        If ``source`` is not a study (no spec or status), or has no
        successful solve yet.
    """
    if not isinstance(source, xr.Dataset | str | os.PathLike):
        raise TypeError(
            "source must be an xarray.Dataset or a path to a study store, "
            f"got {type(source).__name__}"
        )
    ds = source if isinstance(source, xr.Dataset) else open_study(source)
    if is_sweep(ds):
        written = _sweep.write(ds.load(), Path(out_dir), write_report)
        return SweepReport(
            markdown=written.markdown,
            html=written.html,
            figures={"sweep": written.figure},
            numbers=written.numbers,
            reports=written.reports,
        )
    ds = check_study_dataset(ds).load()
    spec = StudySpec.from_json(ds.attrs["spec"])
    numbers = key_numbers(ds)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    morphology = ("grains", _figures.grains) if spec.polycrystal else ("s2", _figures.s2)
    drawn = {
        "thumbnails": _figures.thumbnails(spec),
        morphology[0]: morphology[1](spec, numbers.attrs["s2"]),
        "mean_vs_size": _figures.mean_vs_size(numbers, spec),
        "variance_vs_size": _figures.variance_vs_size(numbers, spec),
    }
    if spec.property == "permeability":
        drawn["flow"], numbers.attrs["flow_figure"] = _figures.flow(spec)
    images = {name: _figures.save(fig, out_dir, name) for name, fig in drawn.items()}
    blocks = _document.build(ds, numbers, spec)
    if compare_with is not None:
        blocks += comparison_blocks(compare_studies(ds, compare_with))
    markdown = out_dir / "report.md"
    markdown.write_text(_document.to_markdown(blocks), encoding="utf-8")
    page = out_dir / "report.html"
    page.write_text(_document.to_html(blocks, images), encoding="utf-8")
    return Report(
        markdown=markdown,
        html=page,
        figures={name: out_dir / f"{name}.png" for name in drawn},
        numbers=numbers,
    )
