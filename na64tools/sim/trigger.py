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

The generator then applies, to every event, the random veto of the upstream beam veto counter
(:meth:`~.geometry.GeometryModel.random_veto_probability`) and, to signal events only and as a
separate factor, ``signal.efficiency_correction``; neither is part of :func:`fire`.
"""

from __future__ import annotations

import numpy as np

from ..config import Trigger

__all__ = ["fire"]


def fire(counters_hit: np.ndarray, trigger: Trigger, u: np.ndarray) -> np.ndarray:
    """Trigger decision from the geometric coincidence ``counters_hit`` and uniform numbers ``u``:
    ``counters_hit and u < trigger.efficiency``.

    Parameters
    ----------
    counters_hit : booleans, the track crosses both counters (:meth:`~.geometry.GeometryModel.counters_hit`).
    trigger : the ``trigger`` section of the setup.
    u : uniform numbers in [0, 1), one per event.

    Returns
    -------
    numpy.ndarray of bool
    """
    return np.asarray(counters_hit, bool) & (u < float(trigger.efficiency))
