"""Sphinx configuration for wann_plugin's documentation."""

import os
import sys

sys.path.insert(0, os.path.abspath(".."))

project = "wann_plugin"
author = "wann_plugin developers"
copyright = "2026, wann_plugin developers"
release = "0.1.0"

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.viewcode",
    "sphinx.ext.mathjax",
]
napoleon_google_docstring = False
napoleon_numpy_docstring = True
napoleon_use_rtype = False
napoleon_use_ivar = True  # "Attributes" as :ivar: fields: no duplicate entries for dataclass/NamedTuple fields
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"members": True, "show-inheritance": True}
nitpicky = False
exclude_patterns = ["_build"]
html_theme = "alabaster"
html_static_path = []
suppress_warnings = ["ref.python"]  # "shape (n_connections,)" in numpy type specs is not a reference
