"""Statistics for NA64μ: upper limits (CLs), expected limits, coupling limits and projections.

Submodules:

- :mod:`na64tools.stats.limits` — one-bin counting-experiment limits (exact CLs with integrated
  nuisance parameters), Brazil bands, coupling limits of a mass scan and projections in MOT.

Signal efficiency (``efficiency``) and background estimates (``background``) will join here.
"""

from __future__ import annotations

from . import limits
from .limits import (
    METHODS,
    QUANTILES,
    CouplingLimit,
    ExpectedLimits,
    Projection,
    background_only_quantiles,
    cls_pvalues,
    coupling_limit,
    expected_limits,
    project,
    upper_limit,
    upper_limit_pyhf,
)

__all__ = [
    "limits",
    "METHODS",
    "QUANTILES",
    "CouplingLimit",
    "ExpectedLimits",
    "Projection",
    "background_only_quantiles",
    "cls_pvalues",
    "coupling_limit",
    "expected_limits",
    "project",
    "upper_limit",
    "upper_limit_pyhf",
]
