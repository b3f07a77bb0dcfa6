"""Sphinx configuration of the na64tools documentation site.

Build (warnings are errors, as in CI)::

    pip install ".[docs]"
    sphinx-build -W --keep-going -b html docs docs/_build/html

The notebooks of ``notebooks/`` are rendered through the symlink ``docs/notebooks`` and executed at
build time by myst-nb (cached in ``docs/_build/.jupyter_cache``). Set ``NA64TOOLS_DOCS_EXECUTE=off``
to build without executing them, ``NA64TOOLS_DOCS_INTERSPHINX=1`` to link to the documentation of
Python, NumPy, awkward, coffea, ... (needs the network; off by default so that the build is
offline).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(ROOT))  # document the checkout, not another installed copy
sys.path.insert(0, str(DOCS / "_ext"))
# the notebook kernels import the same checkout
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))

# Matplotlib without a display. The Sphinx process itself uses Agg. The notebook kernels inherit
# this environment; they get the inline backend (Agg rendering to PNG, no display either), because
# with MPLBACKEND=agg a kernel captures no figure at all and the rendered notebooks would have no
# plots.
os.environ["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
import matplotlib  # noqa: E402

matplotlib.use("agg")

from na64tools import __version__  # noqa: E402

# -- project -----------------------------------------------------------------------------------
project = "na64tools"
author = "na64tools developers"
copyright = "na64tools developers (BSD-3-Clause)"
release = __version__
version = ".".join(__version__.split(".")[:2])

# -- extensions --------------------------------------------------------------------------------
extensions = [
    "myst_nb",  # MyST markdown + notebooks (includes myst_parser)
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    # MathJax 3 served with the site (copied to _static/mathjax), so that the formulas render
    # offline; the package is a PyPI wheel that ships MathJax (the docs extra)
    "sphinx-mathjax-offline",
    "na64docs",  # docs/_ext/na64docs.py: API pages, CLI reference, numbers from the code
]

source_suffix = {".rst": "restructuredtext", ".md": "myst-nb", ".ipynb": "myst-nb"}
root_doc = "index"
exclude_patterns = [
    "_build",
    "_ext",
    "**.ipynb_checkpoints",
    # only the notebooks of notebooks/ are pages; not its README, data or outputs
    "notebooks/**.md",
    "notebooks/**.rst",
]

# Pages written by other parts of the project: listed in the toctrees, left out while absent
# (docs/_ext/na64docs.py), so the site builds without warnings before and after they land.
na64_optional_pages = [
    "simulation",
    "processor",
    "dask",
    "interactive",
    "notebooks/*",
]

# -- intersphinx: optional, because the build must work offline -------------------------------
if os.environ.get("NA64TOOLS_DOCS_INTERSPHINX") == "1":
    extensions.append("sphinx.ext.intersphinx")
    intersphinx_mapping = {
        "python": ("https://docs.python.org/3", None),
        "numpy": ("https://numpy.org/doc/stable", None),
        "awkward": ("https://awkward-array.org/doc/main", None),
        "coffea": ("https://coffea-hep.readthedocs.io/en/latest", None),
        "hist": ("https://hist.readthedocs.io/en/latest", None),
        "uproot": ("https://uproot.readthedocs.io/en/latest", None),
        "dask": ("https://docs.dask.org/en/stable", None),
    }

# -- autodoc / autosummary / napoleon ----------------------------------------------------------
autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autosummary_generate = False  # the API pages are written by na64docs, from __all__
napoleon_google_docstring = False
napoleon_numpy_docstring = True
napoleon_use_rtype = False

# -- MyST / myst-nb ----------------------------------------------------------------------------
myst_enable_extensions = ["amsmath", "dollarmath", "colon_fence", "deflist", "attrs_inline",
                          "substitution"]
# {{ name }} on a page: filled at build time with numbers computed from na64tools
# (docs/_ext/na64docs.py, facts()); entries set here take precedence
myst_substitutions: dict[str, str] = {}
myst_heading_anchors = 3
myst_dmath_double_inline = True

nb_execution_mode = os.environ.get("NA64TOOLS_DOCS_EXECUTE", "cache")
nb_execution_timeout = 600  # seconds per cell
nb_execution_raise_on_error = True  # a failing notebook fails the build
nb_execution_show_tb = True
nb_merge_streams = True
nb_render_markdown_format = "myst"  # Markdown outputs (the tables of results.md) with tables
# Widgets (the CutExplorer of notebook 04) need a running kernel: a static page cannot run them.
# myst-nb would load require.js and an ipywidgets-7 embed bundle from CDNs, which leaves an empty
# box offline (and with ipywidgets 8). No widget script is loaded; a widget output shows its
# text form, and the tutorials page says to run the notebook in Jupyter or on Binder.
nb_ipywidgets_js: dict[str, dict[str, str]] = {}
nb_mime_priority_overrides = [("html", "application/vnd.jupyter.widget-view+json", None),
                              ("html", "application/vnd.jupyter.widget-state+json", None)]

# -- HTML --------------------------------------------------------------------------------------
html_theme = "sphinx_book_theme"
html_title = "na64tools"
html_static_path = ["_static"]
html_css_files = ["na64tools.css"]
html_js_files = ["na64tools.js"]  # keeps numbers in table cells on one line on narrow screens
html_last_updated_fmt = ""
html_theme_options = {
    "repository_url": "https://github.com/na64tools/na64tools",
    "repository_branch": "main",
    "path_to_docs": "docs",
    "use_repository_button": True,
    "use_issues_button": True,
    "launch_buttons": {"binderhub_url": "https://mybinder.org", "notebook_interface": "jupyterlab"},
    "show_toc_level": 2,
}

# Warnings are errors (sphinx-build -W). Nothing is suppressed; add a narrow entry here, with the
# reason, only for a warning that cannot be fixed in the documentation sources.
suppress_warnings: list[str] = []
