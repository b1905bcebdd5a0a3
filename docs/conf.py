"""Sphinx configuration for wann_plugin's documentation."""

import os
import runpy
import sys

sys.path.insert(0, os.path.abspath(".."))

# The figures (concept, champion network, curves, GIF, performance plots) are drawn from real
# networks and cached results on every build; see docs/figures/build.py (about half a minute;
# figures newer than their inputs are kept). The long runs behind them are cached in
# docs/figures/data/ and redone by docs/figures/regenerate.py.
runpy.run_path(os.path.join(os.path.dirname(__file__), "figures", "build.py"),
               run_name="__main__")

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
exclude_patterns = ["_build", "figures/data"]
html_theme = "furo"
html_title = "wann_plugin"
html_static_path = []
html_extra_path = ["_generated/extra"]  # the quickstart champion's `wann show` page
suppress_warnings = ["ref.python"]  # "shape (n_connections,)" in numpy type specs is not a reference
