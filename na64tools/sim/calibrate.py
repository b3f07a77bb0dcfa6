"""Expected background by published source, and the calibration of the three rate parameters.

The three published background sources (PRL 132 (2024) 211803) are each proportional to one
parameter of the setup description, to an excellent approximation:

- (I) misreconstruction: ``ms2.tail_fraction`` (every MS2 mismeasurement probability scales with it);
- (II) decays in flight: ``beam.kaon_fraction`` (pion decays give muons above the p_out cut);
- (III) non-hermeticity: ``hcal.gap`` (plus the fixed HCAL punch-through ``exp(-modules x depth)``,
  which the calibration keeps).

:func:`background_by_source` measures the expected events for the run's MOT with the published
selection; :func:`calibrated_parameters` rescales the parameters to reach given targets. The
procedure and its results are written down in ``docs/simulation.md``.
"""

from __future__ import annotations

import math

import numpy as np

from ..config import Setup, default_setup

__all__ = ["background_by_source", "calibrated_parameters", "SOURCES"]

SOURCES = ("misreconstruction", "decays_in_flight", "non_hermeticity")


def background_by_source(setup: Setup | None = None, *, events: int = 1_000_000, seed: int = 0,
                         mot: float | None = None) -> dict[str, tuple[float, float, int]]:
    """Expected background events per source passing ``setup.cuts``, for ``mot`` (default: the
    run's MOT): ``{source: (events, statistical error, generated events passing)}``.

    Parameters
    ----------
    setup : Setup, optional
        The setup (default: the shipped 2022 setup).
    events : int
        Generated background events.
    seed : int
        Random seed.
    mot : float, optional
        Exposure [MOT] (default: the run's).

    Returns
    -------
    dict of str to (float, float, int)
        For each source, ``"other"`` and ``"total"``.
    """
    from ..processes import source_of_codes
    from ..selection import passes, variables_from_branches
    from .generator import generate

    setup = default_setup() if setup is None else setup
    a = generate("background", setup=setup, events=events, seed=seed, mot=mot, triggered_only=True)
    m = passes(variables_from_branches(a), setup.cuts)
    w = a["genWeight"][m]
    src = source_of_codes(a["Gen_process"][m])
    out = {}
    for s in (*SOURCES, "other"):
        ws = w[src == s]
        out[s] = (float(ws.sum()), math.sqrt(float(np.dot(ws, ws))), int(ws.size))
    out["total"] = (float(w.sum()), math.sqrt(float(np.dot(w, w))), int(w.size))
    return out


def calibrated_parameters(setup: Setup, measured: dict[str, tuple[float, float, int]],
                          targets: dict[str, float]) -> dict[str, float]:
    """New values of ``ms2.tail_fraction``, ``beam.kaon_fraction`` and ``hcal.gap`` that move the
    ``measured`` yields (:func:`background_by_source`) to ``targets`` (linear scaling).

    Parameters
    ----------
    setup : Setup
        The setup the yields were measured with.
    measured : dict of str to (float, float, int)
        :func:`background_by_source` of that setup.
    targets : dict of str to float
        Target yields [events] of ``misreconstruction``, ``decays_in_flight``,
        ``non_hermeticity`` (any of them).

    Returns
    -------
    dict of str to float
        ``{"section.key": new value}`` for the parameters of the targets given.
    """
    out = {}
    if "misreconstruction" in targets:
        out["ms2.tail_fraction"] = float(setup.ms2.tail_fraction) * targets["misreconstruction"] / measured["misreconstruction"][0]
    if "decays_in_flight" in targets:
        out["beam.kaon_fraction"] = float(setup.beam.kaon_fraction) * targets["decays_in_flight"] / measured["decays_in_flight"][0]
    if "non_hermeticity" in targets:
        punch = math.exp(-float(setup.hcal.depth) * float(setup.hcal.modules))
        gap = float(setup.hcal.gap)
        p_esc = gap + (1 - gap) * punch
        p_new = p_esc * targets["non_hermeticity"] / measured["non_hermeticity"][0]
        out["hcal.gap"] = (p_new - punch) / (1 - punch)
    return out
