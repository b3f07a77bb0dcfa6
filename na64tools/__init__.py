"""na64tools: open analysis toolkit for the NA64μ missing-momentum search for dark sectors.

The few names a notebook needs::

    from na64tools import simulate, NA64Schema, MissingMomentumProcessor, run, limits
    from na64tools import Setup, Cuts, default_setup, load_setup, physics

Heavy submodules (coffea, dask) are imported on first use, so ``import na64tools`` stays fast.
"""

from __future__ import annotations

import importlib

from ._version import __version__
from .config import ConfigError, Cuts, Quantity, Setup, default_setup, load_setup

#: public name -> (module, attribute or None for the module itself)
_LAZY = {
    "physics": ("na64tools.physics", None),
    "sim": ("na64tools.sim", None),
    "simulate": ("na64tools.sim", "simulate"),
    "NA64Schema": ("na64tools.schema", "NA64Schema"),
    "MissingMomentumProcessor": ("na64tools.processor", "MissingMomentumProcessor"),
    "run": ("na64tools.runner", "run"),
    "runner": ("na64tools.runner", None),
    "load_output": ("na64tools.output", "load_output"),
    "stats": ("na64tools.stats", None),
    "limits": ("na64tools.stats.limits", None),
    "plotting": ("na64tools.plotting", None),
}

__all__ = [
    "__version__",
    "ConfigError",
    "Cuts",
    "Quantity",
    "Setup",
    "default_setup",
    "load_setup",
    *_LAZY,
]


def __getattr__(name: str):
    try:
        module, attr = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'na64tools' has no attribute {name!r}") from None
    mod = importlib.import_module(module)
    value = mod if attr is None else getattr(mod, attr)
    globals()[name] = value
    return value


def __dir__():
    return sorted(__all__)
