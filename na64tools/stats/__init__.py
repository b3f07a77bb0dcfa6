"""Statistics for NA64μ: upper limits (CLs), expected limits, coupling limits and projections.

Submodules:

- :mod:`na64tools.stats.limits` — one-bin counting-experiment limits (exact CLs with integrated
  nuisance parameters), Brazil bands, coupling limits of a mass scan and projections in MOT.
- :mod:`na64tools.stats.efficiency` — the signal efficiency (one definition, split into trigger,
  acceptance and selection factors), interpolated in mass.
- :mod:`na64tools.stats.signal` — the signal yield and its relative uncertainty from the setup.
- :mod:`na64tools.stats.background` — background by source with errors and effective event counts.
"""

from __future__ import annotations

from . import limits
from .limits import (
    METHODS,
    QUANTILES,
    CountingExperiment,
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
    "CountingExperiment",
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
