"""Emulation of the NA64mu scattered-muon trigger.

The trigger counters S4 and S_mu behind the MS2 magnet are displaced from the beam axis towards
the bending side, so that they fire when the outgoing muon is deflected more than a beam muon,
i.e. when its momentum is well below the beam momentum (Sieber et al. PRD 105 (2022) 052006,
PRL 132 (2024) 211803). The decision is therefore geometric: the muon, propagated through the
magnet with its position, angles and momentum (:class:`~.geometry.GeometryModel`), must cross both
counters; the coincidence then fires with the plateau efficiency ``trigger.efficiency``. The
turn-on in momentum is not a parameter: it follows from the counter edges, the beam spot and
divergence and the scattering angles.

A mismeasured deflection fires the counters as a real one does (the kink model of
:mod:`na64tools.sim.geometry`); this is how misreconstructed beam muons enter the triggered sample.
"""

from __future__ import annotations

import numpy as np

from ..config import Trigger

__all__ = ["fire"]


def fire(counters_hit: np.ndarray, trigger: Trigger, u: np.ndarray,
         keep: float = 1.0) -> np.ndarray:
    """Trigger decision from the geometric coincidence ``counters_hit`` and uniform numbers ``u``:
    ``counters_hit and u < efficiency x keep`` (``keep``: ``signal.efficiency_correction`` for
    signal events, 1 otherwise)."""
    return np.asarray(counters_hit, bool) & (u < float(trigger.efficiency) * float(keep))
