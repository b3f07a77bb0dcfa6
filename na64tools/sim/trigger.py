"""Emulation of the NA64mu scattered-muon trigger.

The trigger hodoscopes behind the MS2 magnet fire when the outgoing muon is deflected more than a
beam muon, i.e. when its momentum is well below the beam momentum (Sieber et al. PRD 105 (2022) 052006,
PRL 132 (2024) 211803). They see the same deflection that MS2 measures, so the turn-on is a
function of the MS2 momentum of the scattered muon (a mismeasured deflection fires it as a real
one does; this is how misreconstructed beam muons enter the triggered sample):

    efficiency(p) = plateau x 1/2 erfc((p - p_threshold) / (sqrt(2) p_width))

with ``trigger.p_threshold``, ``trigger.p_width`` and ``trigger.efficiency`` from the setup (an
error-function turn-on: a Gaussian-smeared threshold).
"""

from __future__ import annotations

import numpy as np
from scipy import special

from ..config import Trigger

__all__ = ["trigger_efficiency", "fire"]


def trigger_efficiency(p_out: np.ndarray, trigger: Trigger) -> np.ndarray:
    """Probability that the scattered-muon trigger fires for MS2 momentum ``p_out`` [GeV]."""
    z = (np.asarray(p_out, dtype=float) - float(trigger.p_threshold)) / (np.sqrt(2.0) * max(float(trigger.p_width), 1e-12))
    return float(trigger.efficiency) * 0.5 * special.erfc(z)


def fire(p_out: np.ndarray, trigger: Trigger, u: np.ndarray) -> np.ndarray:
    """Trigger decision from uniform numbers ``u``.

    The efficiency is evaluated only below ``p_threshold + 12 p_width`` (above, it is < 1e-32,
    far below the resolution of the uniform numbers).
    """
    p_out = np.asarray(p_out, dtype=float)
    out = np.zeros(p_out.shape, bool)
    near = np.flatnonzero(p_out < float(trigger.p_threshold) + 12.0 * float(trigger.p_width))
    out[near] = u[near] < trigger_efficiency(p_out[near], trigger)
    return out
