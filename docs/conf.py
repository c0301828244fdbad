"""Sphinx configuration of the sve-toolkit docs.

Build (offline, warnings are errors)::

    sphinx-build -W --keep-going -b html docs docs/_build/html
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(ROOT))  # the packages of this checkout, installed or not
sys.path.insert(0, str(DOCS / "_ext"))

# Figures of the gallery are drawn without a display.
os.environ.setdefault("MPLBACKEND", "Agg")

project = "sve-toolkit"
author = "the sve-toolkit developers"
copyright = "the sve-toolkit developers"

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "sve_docs",
]

exclude_patterns = ["_build", "examples", "auto_examples/*.ipynb", "auto_examples/*.py", "**.zip"]
templates_path: list[str] = []

# No network at build time: no intersphinx inventories are fetched.
autodoc_typehints = "none"  # numpydoc's Parameters sections carry the types
autodoc_member_order = "bysource"
numpydoc_show_class_members = False
numpydoc_xref_param_type = False
numpydoc_validation_checks: set[str] = set()

sphinx_gallery_conf = {
    "examples_dirs": "examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "download_all_examples": False,
    "remove_config_comments": True,
    "min_reported_time": 1,
    "write_computation_times": True,
    "show_signature": False,
}

html_theme = "alabaster"
html_title = "sve-toolkit"
html_static_path: list[str] = []
html_theme_options = {
    "description": "Statistics of random microstructures",
    "fixed_sidebar": True,
    "page_width": "1100px",
    "sidebar_width": "240px",
}
