"""Interactive exploration of the NA64μ selection: the CutExplorer and the outreach dashboard.

* :class:`CutExplorerModel` — the numpy core: ``set_cuts(**values) -> Summary``, ``optimise(...)``;
  testable without a browser.
* :class:`CutExplorer` — the ipywidgets view (sliders, toggles, live figures, cutflow table,
  reset / export-YAML / optimise buttons). Imported lazily: it needs ipywidgets.
* ``na64tools dashboard`` — the Voilà outreach dashboard (:mod:`na64tools.interactive.dashboard`).
"""

from __future__ import annotations

from .model import CUT_GROUPS, CutExplorerModel, CutRange, CutRangeError, Summary
from .optimise import Optimisation, optimise_cuts, split_output

__all__ = [
    "CUT_GROUPS",
    "CutExplorer",
    "CutExplorerModel",
    "CutRange",
    "CutRangeError",
    "Optimisation",
    "Summary",
    "optimise_cuts",
    "split_output",
]


def __getattr__(name):
    if name == "CutExplorer":
        from .widgets import CutExplorer

        return CutExplorer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
