"""Study layer: specs, seeding, Dask orchestration and the Zarr store."""

from sve.study.run import run_study
from sve.study.spec import SpecError, StudySpec, load_spec
from sve.study.store import open_study
from sve.study.sweep import split_sweep

__all__ = ["SpecError", "StudySpec", "load_spec", "open_study", "run_study", "split_sweep"]
