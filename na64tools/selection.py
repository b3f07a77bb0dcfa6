"""The NA64μ missing-momentum selection, in one place.

The selection works on a flat per-event table of *cut variables* (a mapping of name to 1-D numpy
array). The processor builds the table from NanoEvents (:func:`variables_from_events`), the
simulation and the tests from raw branches (:func:`variables_from_branches`), and the interactive
CutExplorer re-evaluates cuts on the stored table. Nothing else decides what passes.

Published selection (PRL 132 (2024) 211803; L. Molina Bueno, CPAN days 2024): a well-defined
incoming muon of ≈160 GeV, exactly one scattered muon with p_out < 80 GeV, MIP-compatible energy in ECAL and HCAL, no activity
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
    "raw_variables",
    "as_float",
    "events_getter",
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


def _numpy(array) -> np.ndarray:
    """A 1-D numpy array from a numpy or (possibly virtual) awkward array, without copying."""
    if isinstance(array, ak.Array):
        return ak.to_numpy(array)
    return np.asarray(array)


def _lists(jagged) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(starts, counts, content)`` of a one-level jagged array of numbers, as numpy arrays.

    Reads the buffers of the awkward layout directly (offsets and content of a
    ``ListOffsetArray``, starts and stops of a ``ListArray``), which avoids the record, option
    and union layers that ``ak.firsts``/``ak.fill_none`` build; other layouts go through
    ``ak.num``/``ak.flatten``.
    """
    array = jagged if isinstance(jagged, ak.Array) else ak.Array(jagged)
    layout = ak.to_layout(array)
    if any(not b.is_materialized for b in _buffers(layout)):
        layout = ak.to_layout(ak.materialize(array))
    content = getattr(layout, "content", None)
    if isinstance(content, ak.contents.NumpyArray) and content.data.ndim == 1:
        data = np.asarray(content.data)
        if isinstance(layout, ak.contents.ListOffsetArray):
            offsets = np.asarray(layout.offsets.data)
            return offsets[:-1], np.diff(offsets), data
        if isinstance(layout, ak.contents.ListArray):
            starts = np.asarray(layout.starts.data)
            return starts, np.asarray(layout.stops.data) - starts, data
    counts = ak.to_numpy(ak.num(array, axis=1))
    data = ak.to_numpy(ak.flatten(array, axis=1))
    starts = np.zeros(len(counts), np.int64)
    np.cumsum(counts[:-1], out=starts[1:])
    return starts, counts, data


def _buffers(layout) -> list:
    """The data buffers of a list-of-numbers layout (to check whether they are materialised)."""
    out = []
    for name in ("offsets", "starts", "stops"):
        index = getattr(layout, name, None)
        if index is not None:
            out.append(index.data)
    content = getattr(layout, "content", None)
    if isinstance(content, ak.contents.NumpyArray):
        out.append(content.data)
    return [b for b in out if hasattr(b, "is_materialized")]


def _first(starts: np.ndarray, counts: np.ndarray, content: np.ndarray, fill: float) -> np.ndarray:
    """First element of each list (in the content's dtype if it holds ``fill``), ``fill`` for
    empty lists."""
    dtype = content.dtype if np.can_cast(np.min_scalar_type(fill), content.dtype) else np.float64
    if len(content) == 0:
        return np.full(len(counts), fill, dtype)
    first = content.take(np.minimum(starts, len(content) - 1)).astype(dtype, copy=False)
    np.putmask(first, counts <= 0, fill)
    return first


def _list_sum(starts: np.ndarray, counts: np.ndarray, content: np.ndarray) -> np.ndarray:
    """Sum of each list exactly as ``ak.sum(axis=1)`` computes it (in the content's dtype,
    element by element in list order)."""
    starts = starts.astype(np.int64, copy=False)
    layout = ak.contents.ListArray(ak.index.Index64(starts), ak.index.Index64(starts + counts),
                                   ak.contents.NumpyArray(content))
    return ak.to_numpy(ak.sum(ak.Array(layout), axis=1))


def raw_variables(get) -> dict[str, np.ndarray]:
    """The cut variables in the dtypes of their branches (float32, integer counts, bool).

    ``get(branch)`` returns the flat or jagged array of one ``Events`` branch (``Beam_p``,
    ``Track_p``, ...). :func:`variables_from_branches` and :func:`variables_from_events`
    convert the result with :func:`as_float`; the processor keeps these arrays for the compact
    table (half the bytes, converted exactly to float64 when the table is assembled).
    """
    t_starts, t_counts, t_p = _lists(get("Track_p"))
    _, _, t_chi2 = _lists(get("Track_chi2"))
    _, _, t_hits = _lists(get("Track_nhits"))
    h_starts, h_counts, h_e = _lists(get("HCAL_energy"))
    return {
        "p_in": _numpy(get("Beam_p")),
        "beam_chi2": _numpy(get("Beam_chi2")),
        "n_tracks": t_counts,
        "track_chi2": _first(t_starts, t_counts, t_chi2, np.inf),
        "track_hits": _first(t_starts, t_counts, t_hits, 0),
        "p_out": _first(t_starts, t_counts, t_p, np.inf),
        "ecal": _numpy(get("ECAL_energy")),
        "hcal": _list_sum(h_starts, h_counts, h_e),
        "veto": _numpy(get("VETO_energy")),
        "vhcal": _numpy(get("VHCAL_energy")),
        "trigger": _numpy(get("Trigger_scattered")),
    }


def as_float(raw: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The cut variables as the selection uses them: float64 (``trigger`` bool), exactly."""
    return {k: np.asarray(raw[k]).astype(bool if k == "trigger" else np.float64, copy=False)
            for k in VARIABLES}


def events_getter(events):
    """``get(branch)`` for :func:`raw_variables` on NanoEvents of :class:`na64tools.NA64Schema`
    (``"Track_p"`` -> ``events.Track.p``)."""
    def get(name: str):
        coll, field = name.split("_", 1)
        return getattr(getattr(events, coll), field)

    return get


def variables_from_branches(arrays: Mapping[str, object]) -> dict[str, np.ndarray]:
    """Cut variables from raw ``Events`` branches (``Beam_p``, ``Track_p``, ...), as read by uproot.

    The number of tracks is the length of the ``Track_p`` lists (equal to ``nTrack`` in files
    of the format).
    """
    return as_float(raw_variables(lambda name: arrays[name]))


def variables_from_events(events) -> dict[str, np.ndarray]:
    """Cut variables from NanoEvents built with :class:`na64tools.NA64Schema`.

    Gives exactly the arrays of :func:`variables_from_branches` on the same events: the
    buffers of each branch are read once and the variables computed with numpy.
    """
    return as_float(raw_variables(events_getter(events)))


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
