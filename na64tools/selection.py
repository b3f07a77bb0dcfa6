"""The NA64μ missing-momentum selection, in one place.

The selection works on a flat per-event table of *cut variables* (a mapping of name to 1-D numpy
array). The processor builds the table from NanoEvents (:func:`variables_from_events`), the
simulation and the tests from raw branches (:func:`variables_from_branches`), and the interactive
CutExplorer re-evaluates cuts on the stored table. Nothing else decides what passes.

Published selection (PRL 132 (2024) 211803; seed talk): a well-defined incoming muon of ≈160 GeV,
exactly one scattered muon with p_out < 80 GeV, MIP-compatible energy in ECAL and HCAL, no activity
in VETO and VHCAL. Thresholds are the fields of :class:`na64tools.config.Cuts`.
"""

from __future__ import annotations

from collections.abc import Mapping

import awkward as ak
import numpy as np

from .config import Cuts

__all__ = [
    "VARIABLES",
    "CUTFLOW",
    "CUT_VARIABLES",
    "variables_from_branches",
    "variables_from_events",
    "cut_masks",
    "cumulative_masks",
    "passes",
]

#: per-event cut variables (name -> unit)
VARIABLES: dict[str, str] = {
    "p_in": "GeV",          # incoming muon momentum, MS1
    "beam_chi2": "1",       # chi2/ndf of the MS1 track
    "n_tracks": "tracks",   # downstream tracks
    "track_chi2": "1",      # chi2/ndf of the (first) downstream track; inf without track
    "track_hits": "hits",   # hits of the (first) downstream track; 0 without track
    "p_out": "GeV",         # momentum of the (first) downstream track; inf without track
    "ecal": "GeV",          # ECAL total energy
    "hcal": "GeV",          # HCAL energy summed over modules
    "veto": "GeV",          # VETO energy
    "vhcal": "GeV",         # VHCAL energy
    "trigger": "bool",      # scattered-muon trigger bit
}

#: the cuts, in cutflow order
CUTFLOW: tuple[str, ...] = (
    "trigger", "beam", "n_tracks", "track_quality", "p_out", "ecal", "hcal", "veto", "vhcal",
)

#: which cut variables each cut uses (for N-1 histograms)
CUT_VARIABLES: dict[str, tuple[str, ...]] = {
    "trigger": ("trigger",),
    "beam": ("p_in", "beam_chi2"),
    "n_tracks": ("n_tracks",),
    "track_quality": ("track_chi2", "track_hits"),
    "p_out": ("p_out",),
    "ecal": ("ecal",),
    "hcal": ("hcal",),
    "veto": ("veto",),
    "vhcal": ("vhcal",),
}


def _first(jagged, fill: float) -> np.ndarray:
    return ak.to_numpy(ak.fill_none(ak.firsts(jagged), fill)).astype(np.float64)


def _flat(array) -> np.ndarray:
    return ak.to_numpy(array).astype(np.float64)


def variables_from_branches(arrays: Mapping[str, object]) -> dict[str, np.ndarray]:
    """Cut variables from raw ``Events`` branches (``Beam_p``, ``Track_p``, ...), as read by uproot."""
    return {
        "p_in": _flat(arrays["Beam_p"]),
        "beam_chi2": _flat(arrays["Beam_chi2"]),
        "n_tracks": _flat(arrays["nTrack"]),
        "track_chi2": _first(arrays["Track_chi2"], np.inf),
        "track_hits": _first(arrays["Track_nhits"], 0.0),
        "p_out": _first(arrays["Track_p"], np.inf),
        "ecal": _flat(arrays["ECAL_energy"]),
        "hcal": ak.to_numpy(ak.sum(arrays["HCAL_energy"], axis=1)).astype(np.float64),
        "veto": _flat(arrays["VETO_energy"]),
        "vhcal": _flat(arrays["VHCAL_energy"]),
        "trigger": ak.to_numpy(arrays["Trigger_scattered"]).astype(bool),
    }


def variables_from_events(events) -> dict[str, np.ndarray]:
    """Cut variables from NanoEvents built with :class:`na64tools.NA64Schema`."""
    return {
        "p_in": _flat(events.Beam.p),
        "beam_chi2": _flat(events.Beam.chi2),
        "n_tracks": ak.to_numpy(ak.num(events.Track, axis=1)).astype(np.float64),
        "track_chi2": _first(events.Track.chi2, np.inf),
        "track_hits": _first(events.Track.nhits, 0.0),
        "p_out": _first(events.Track.p, np.inf),
        "ecal": _flat(events.ECAL.energy),
        "hcal": ak.to_numpy(ak.sum(events.HCAL.energy, axis=1)).astype(np.float64),
        "veto": _flat(events.VETO.energy),
        "vhcal": _flat(events.VHCAL.energy),
        "trigger": ak.to_numpy(events.Trigger.scattered).astype(bool),
    }


def cut_masks(v: Mapping[str, np.ndarray], cuts: Cuts) -> dict[str, np.ndarray]:
    """Each cut's own pass mask (not cumulative), in :data:`CUTFLOW` order."""
    return {
        "trigger": np.asarray(v["trigger"], dtype=bool),
        "beam": (v["p_in"] > cuts.p_in_min) & (v["p_in"] < cuts.p_in_max)
        & (v["beam_chi2"] < cuts.beam_chi2_max),
        "n_tracks": (v["n_tracks"] >= 1) & (v["n_tracks"] <= cuts.n_tracks_max),
        "track_quality": (v["track_chi2"] < cuts.track_chi2_max) & (v["track_hits"] >= cuts.track_hits_min),
        "p_out": v["p_out"] < cuts.p_out_max,
        "ecal": (v["ecal"] >= cuts.ecal_min) & (v["ecal"] < cuts.ecal_max),
        "hcal": v["hcal"] < cuts.hcal_max,
        "veto": v["veto"] < cuts.veto_max,
        "vhcal": v["vhcal"] < cuts.vhcal_max,
    }


def cumulative_masks(v: Mapping[str, np.ndarray], cuts: Cuts) -> dict[str, np.ndarray]:
    """Pass masks after each cut of the flow (``"all"`` first)."""
    masks = cut_masks(v, cuts)
    n = len(next(iter(masks.values())))
    out = {"all": np.ones(n, dtype=bool)}
    acc = out["all"]
    for name in CUTFLOW:
        acc = acc & masks[name]
        out[name] = acc
    return out


def passes(v: Mapping[str, np.ndarray], cuts: Cuts) -> np.ndarray:
    """Events passing the full selection."""
    masks = cut_masks(v, cuts)
    out = np.ones(len(masks["trigger"]), dtype=bool)
    for m in masks.values():
        out &= m
    return out
