"""The NA64μ missing-momentum selection, in one place.

The selection works on a flat per-event table of *cut variables* (a mapping of name to 1-D numpy
array). The processor builds the table from NanoEvents (:func:`variables_from_events`), the
simulation and the tests from raw branches (:func:`variables_from_branches`), and the interactive
CutExplorer re-evaluates cuts on the stored table. Nothing else decides what passes.

Published selection (PRL 132 (2024) 211803; L. Molina Bueno, CPAN days 2024): a well-defined
incoming muon of ≈160 GeV, exactly one scattered muon with p_out < 80 GeV, MIP-compatible energy in ECAL and HCAL, no activity
in VETO and VHCAL.

What each cut tests (variable, comparison, unit, labels) is declared once, on the fields of
:class:`na64tools.config.Cuts` and its ``FLOW``; :func:`declaration` reads it and everything here
(masks, cutflow, preselection) and in the CutExplorer is derived from it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from functools import cache

import awkward as ak
import numpy as np

from .config import LOWER_OPS, ConfigError, Cut, Cuts, LfvECuts, TypedConfig

__all__ = [
    "VARIABLES",
    "CUTFLOW",
    "CUT_VARIABLES",
    "CUT_GROUPS",
    "Threshold",
    "Selection",
    "declaration",
    "Preselection",
    "variables_from_branches",
    "variables_from_events",
    "raw_variables",
    "as_float",
    "events_getter",
    "cut_masks",
    "stages",
    "cumulative",
    "cutflow",
    "cumulative_masks",
    "passes",
    "LFV_E_FLOW",
    "lfv_e_masks",
    "lfv_e_passes",
    "lfv_e_trigger",
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


# --------------------------------------------------------------------------------------------
# the declaration of the selection (read from the Cuts class)
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Threshold:
    """One threshold of the selection as declared on its :class:`~na64tools.config.Cuts` field
    (:func:`~na64tools.config.threshold`): an event passes if ``variable op value``."""

    name: str        #: the Cuts field
    cut: str         #: the cut of the flow it belongs to
    variable: str    #: the cut variable it tests
    op: str          #: "<", "<=", ">" or ">="
    unit: str
    doc: str
    label: str       #: short analyst label
    public: str      #: short plain-language label
    help: str        #: plain-language tooltip
    integer: bool    #: the variable is a count

    @property
    def side(self) -> str:
        """``"min"`` for a lower bound (``>``, ``>=``), ``"max"`` for an upper bound."""
        return "min" if self.op in LOWER_OPS else "max"


@dataclass(frozen=True)
class Selection:
    """The selection declared by a :class:`~na64tools.config.Cuts` class, in derived forms.

    ``flow``: the cuts in cutflow order; ``thresholds``: field name -> :class:`Threshold`;
    ``groups``: cut -> its threshold fields (cuts with thresholds only); ``variables``: cut ->
    the cut variables it reads.
    """

    flow: tuple[Cut, ...]
    thresholds: dict[str, Threshold]
    groups: dict[str, tuple[str, ...]]
    variables: dict[str, tuple[str, ...]]

    @property
    def names(self) -> tuple[str, ...]:
        """The cuts in cutflow order."""
        return tuple(c.name for c in self.flow)

    def requirements(self, cut: str, cuts: Cuts) -> list[tuple[str, str, object]]:
        """Every ``(variable, op, value)`` test of one cut for the thresholds ``cuts``.

        Parameters
        ----------
        cut : str
            A cut of the flow.
        cuts : Cuts
            The thresholds (:class:`~na64tools.config.Cuts`).

        Returns
        -------
        list of (str, str, object)
            The fixed requirements of the cut, then one ``(variable, op, threshold)`` per
            threshold.

        Raises
        ------
        ValueError
            An unknown cut.
        """
        c = next((c for c in self.flow if c.name == cut), None)
        if c is None:
            raise ValueError(f"unknown cut {cut!r} (the cuts are {', '.join(self.names)})")
        return [*c.requires, *((t.variable, t.op, getattr(cuts, t.name))
                               for t in self.thresholds.values() if t.cut == cut)]


_OPS = {"<": np.less, "<=": np.less_equal, ">": np.greater, ">=": np.greater_equal}


def _test(x, op: str, value) -> np.ndarray:
    """``x op value`` as a boolean array (``op == "is"``: the flag ``x`` equals ``value``)."""
    if op == "is":
        flag = np.asarray(x, dtype=bool)
        return flag if value else ~flag
    return _OPS[op](x, value)


@cache
def declaration(cls: type[Cuts] = Cuts) -> Selection:
    """The selection declared by ``cls`` (:class:`~na64tools.config.Cuts` or a subclass that adds
    cuts), checked: every threshold belongs to a declared cut, tests a known variable in its unit
    with a known comparison."""
    flow = tuple(cls.FLOW)
    names = [c.name for c in flow]
    if len(set(names)) != len(names):
        raise ConfigError(f"{cls.__name__}.FLOW: a cut is declared twice: {names}")
    thresholds = {}
    for f in fields(cls):
        m = f.metadata
        t = Threshold(f.name, m["cut"], m["variable"], m["op"], m["unit"], m["doc"], m["label"],
                      m["public"], m["help"], bool(m.get("integer")))
        if t.cut not in names:
            raise ConfigError(f"{cls.__name__}.{t.name}: cut {t.cut!r} is not in FLOW ({names})")
        if VARIABLES.get(t.variable) != t.unit:
            raise ConfigError(f"{cls.__name__}.{t.name}: variable {t.variable!r} in {t.unit!r} is "
                              f"not a cut variable in that unit ({VARIABLES})")
        thresholds[f.name] = t
    groups = {c.name: tuple(t.name for t in thresholds.values() if t.cut == c.name) for c in flow}
    variables = {}
    for c in flow:
        vs = [r[0] for r in c.requires] + [thresholds[n].variable for n in groups[c.name]]
        if not vs:
            raise ConfigError(f"{cls.__name__}.FLOW: cut {c.name!r} tests nothing")
        variables[c.name] = tuple(dict.fromkeys(vs))
    return Selection(flow, thresholds, {k: v for k, v in groups.items() if v}, variables)


_DEFAULT = declaration(Cuts)

#: the cuts, in cutflow order
CUTFLOW: tuple[str, ...] = _DEFAULT.names

#: which cut variables each cut uses (for N-1 histograms)
CUT_VARIABLES: dict[str, tuple[str, ...]] = _DEFAULT.variables

#: the Cuts fields behind each cut (the trigger has none)
CUT_GROUPS: dict[str, tuple[str, ...]] = _DEFAULT.groups


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

    Parameters
    ----------
    get : callable
        ``get(branch) -> array``.

    Returns
    -------
    dict of str to numpy.ndarray
        The arrays of :data:`VARIABLES`.
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
    """The cut variables as the selection uses them: float64 (``trigger`` bool), exactly.

    Parameters
    ----------
    raw : mapping of str to numpy.ndarray
        The variables of :func:`raw_variables`.

    Returns
    -------
    dict of str to numpy.ndarray
        The arrays of :data:`VARIABLES` (float64; ``trigger`` bool).
    """
    return {k: np.asarray(raw[k]).astype(bool if k == "trigger" else np.float64, copy=False)
            for k in VARIABLES}


def events_getter(events):
    """``get(branch)`` for :func:`raw_variables` on NanoEvents of :class:`na64tools.NA64Schema`
    (``"Track_p"`` -> ``events.Track.p``).

    Parameters
    ----------
    events : coffea.nanoevents.NanoEventsArray
        The events.

    Returns
    -------
    callable
        ``get(branch)``.
    """
    def get(name: str):
        coll, field = name.split("_", 1)
        return getattr(getattr(events, coll), field)

    return get


def variables_from_branches(arrays: Mapping[str, object]) -> dict[str, np.ndarray]:
    """Cut variables from raw ``Events`` branches (``Beam_p``, ``Track_p``, ...), as read by
    uproot.

    The number of tracks is the length of the ``Track_p`` lists (equal to ``nTrack`` in files
    of the format).

    Parameters
    ----------
    arrays : mapping of str to array
        The ``Events`` branches by name (``uproot``'s ``tree.arrays(...)``).

    Returns
    -------
    dict of str to numpy.ndarray
        The arrays of :data:`VARIABLES` (float64; ``trigger`` bool).
    """
    return as_float(raw_variables(lambda name: arrays[name]))


def variables_from_events(events) -> dict[str, np.ndarray]:
    """Cut variables from NanoEvents built with :class:`na64tools.NA64Schema`.

    Gives exactly the arrays of :func:`variables_from_branches` on the same events: the
    buffers of each branch are read once and the variables computed with numpy.

    Parameters
    ----------
    events : coffea.nanoevents.NanoEventsArray
        The events.

    Returns
    -------
    dict of str to numpy.ndarray
        The arrays of :data:`VARIABLES` (float64; ``trigger`` bool).
    """
    return as_float(raw_variables(events_getter(events)))


def cut_masks(v: Mapping[str, np.ndarray], cuts: Cuts,
              only: Iterable[str] | None = None) -> dict[str, np.ndarray]:
    """Each cut's own pass mask (not cumulative), in cutflow order (:data:`CUTFLOW` for
    :class:`~na64tools.config.Cuts`); ``only``: just these cuts.

    Parameters
    ----------
    v : mapping of str to numpy.ndarray
        The cut variables (:data:`VARIABLES`: momenta and energies in GeV, counts), one entry per
        event, e.g. from :func:`variables_from_branches`.
    cuts : Cuts
        The thresholds (:class:`~na64tools.config.Cuts`).
    only : iterable of str, optional
        Just these cuts (default: all).

    Returns
    -------
    dict of str to numpy.ndarray of bool
        ``{cut: mask}``.
    """
    decl = declaration(type(cuts))
    return {name: _all(v, decl.requirements(name, cuts))
            for name in (decl.names if only is None else only)}


def _all(v: Mapping[str, np.ndarray], tests) -> np.ndarray:
    """Events passing every ``(variable, op, value)`` test."""
    mask = None
    for var, op, value in tests:
        m = _test(v[var], op, value)
        mask = m if mask is None else mask & m
    return mask


def stages(masks: Mapping[str, np.ndarray], order: Iterable[str] = CUTFLOW) -> np.ndarray:
    """The stage each event reaches: how many consecutive cuts of ``order`` it passes
    (0 .. len(order), as ``uint8``), from the per-cut masks of :func:`cut_masks`.

    Parameters
    ----------
    masks : mapping of str to numpy.ndarray of bool
        Per-cut masks (:func:`cut_masks`).
    order : iterable of str
        The cuts in cutflow order (default :data:`CUTFLOW`).

    Returns
    -------
    numpy.ndarray of uint8
        The stage of each event.
    """
    order = tuple(order)
    alive = np.ones(len(masks[order[0]]), dtype=bool)
    stage = np.zeros(len(alive), dtype=np.uint8)
    for name in order:
        alive &= masks[name]
        stage += alive
    return stage


def cumulative(per_stage: np.ndarray) -> np.ndarray:
    """Events (or weights) reaching *at least* each stage, from the numbers that stop at each
    stage (last axis): the cumulative cutflow.

    Parameters
    ----------
    per_stage : numpy.ndarray
        Numbers stopping at each stage (last axis: the stages).

    Returns
    -------
    numpy.ndarray
        Same shape: the numbers reaching at least each stage.
    """
    return np.flip(np.cumsum(np.flip(per_stage, -1), -1), -1)


def cutflow(stage: np.ndarray, n_cuts: int, weights: np.ndarray | None = None,
            categories: np.ndarray | None = None, n_categories: int = 1) -> np.ndarray:
    """The cumulative cutflow ``[category, stage]``: sum of ``weights`` (default 1) of the events
    of each category (``categories``: integers ``0..n_categories-1``) that reach at least each
    stage (``0``: all events, ``j``: after the ``j``-th cut) from :func:`stages`.

    Parameters
    ----------
    stage : numpy.ndarray of int
        Stage of each event (:func:`stages`).
    n_cuts : int
        Number of cuts (stages ``0 .. n_cuts``).
    weights : numpy.ndarray, optional
        Weight of each event (default 1: event counts).
    categories : numpy.ndarray of int, optional
        Category of each event (default: one category).
    n_categories : int
        Number of categories.

    Returns
    -------
    numpy.ndarray
        Shape ``(n_categories, n_cuts + 1)``.
    """
    k = n_cuts + 1
    idx = stage if categories is None else categories * k + stage
    h = np.bincount(idx, weights=weights, minlength=n_categories * k)
    return cumulative(h.reshape(n_categories, k))


def cumulative_masks(v: Mapping[str, np.ndarray], cuts: Cuts) -> dict[str, np.ndarray]:
    """Pass masks after each cut of the flow (``"all"`` first).

    Parameters
    ----------
    v : mapping of str to numpy.ndarray
        The cut variables (:data:`VARIABLES`: momenta and energies in GeV, counts), one entry per
        event, e.g. from :func:`variables_from_branches`.
    cuts : Cuts
        The thresholds (:class:`~na64tools.config.Cuts`).

    Returns
    -------
    dict of str to numpy.ndarray of bool
        ``{"all": ..., cut: mask after that cut, ...}`` in cutflow order.
    """
    names = declaration(type(cuts)).names
    stage = stages(cut_masks(v, cuts), names)
    return {"all": np.ones(len(stage), dtype=bool),
            **{name: stage > i for i, name in enumerate(names)}}


def passes(v: Mapping[str, np.ndarray], cuts: Cuts) -> np.ndarray:
    """Events passing the full selection.

    Parameters
    ----------
    v : mapping of str to numpy.ndarray
        The cut variables (:data:`VARIABLES`: momenta and energies in GeV, counts), one entry per
        event, e.g. from :func:`variables_from_branches`.
    cuts : Cuts
        The thresholds (:class:`~na64tools.config.Cuts`).

    Returns
    -------
    numpy.ndarray of bool
        One entry per event.
    """
    names = declaration(type(cuts)).names
    return stages(cut_masks(v, cuts), names) == len(names)


# --------------------------------------------------------------------------------------------
# the loose preselection of the processor's cut table
# --------------------------------------------------------------------------------------------
def _loose(name: str, default: float):
    """A preselection bound: the same test as the :class:`Cuts` threshold ``name`` (variable,
    comparison, unit, range), with a looser value."""
    return field(default=default, metadata=Cuts._field(name).metadata)


@dataclass(frozen=True)
class Preselection(TypedConfig):
    """Loose preselection of the compact cut table and of the main distributions.

    Events enter :class:`~na64tools.processor.CutTable` (and the main-distribution histograms)
    if they meet the fixed requirements of every cut (the trigger fired, at least one downstream
    track) and each bound below, which applies the test of the :class:`Cuts` threshold of the
    same name: the incoming momentum is in ``(p_in_min, p_in_max)``, there are at most
    ``n_tracks_max`` downstream tracks, ``p_out < p_out_max``, ``ECAL < ecal_max`` and
    ``HCAL < hcal_max`` (ten and five times the MIP-window cuts: showers far from a MIP are
    dropped). Quality cuts (χ², hits) and the VETO and VHCAL are left open. Every bound must be
    looser than the corresponding cut of the selection (:meth:`check_looser_than`, checked by
    the processor); cuts re-evaluated on the table are exact as long as they stay inside the
    preselection.

    All values are assumptions chosen to keep the table compact (see docs/processor.md).
    """

    p_in_min: float = _loose("p_in_min", 140.0)
    p_in_max: float = _loose("p_in_max", 180.0)
    n_tracks_max: float = _loose("n_tracks_max", 2.0)
    p_out_max: float = _loose("p_out_max", 100.0)
    ecal_max: float = _loose("ecal_max", 10.0)
    hcal_max: float = _loose("hcal_max", 20.0)

    def check_looser_than(self, cuts: Cuts) -> None:
        """Raise :class:`ConfigError` if a preselection bound is tighter than the selection.

        Parameters
        ----------
        cuts : Cuts
            The thresholds (:class:`~na64tools.config.Cuts`).

        Raises
        ------
        ConfigError
            The first selection threshold looser than the preselection (the message says what to
            set).
        """
        for f in fields(self):
            mine, theirs = getattr(self, f.name), getattr(cuts, f.name)
            lower = f.metadata["op"] in LOWER_OPS
            if (mine > theirs) if lower else (mine < theirs):
                op, unit = (">=" if lower else "<="), f.metadata["unit"]
                raise ConfigError(
                    f"cut {f.name} = {theirs:g} {unit} is looser than the preselection of the cut "
                    f"table ({f.name} = {mine:g} {unit}), which keeps no event beyond it: set "
                    f"{f.name} {op} {mine:g} {unit}, or loosen the preselection "
                    f"(MissingMomentumProcessor(preselection=Preselection({f.name}=...)))")

    def mask(self, v: Mapping[str, np.ndarray]) -> np.ndarray:
        """Events passing the preselection, from the cut variables.

        Parameters
        ----------
        v : mapping of str to numpy.ndarray
            The cut variables (:data:`VARIABLES`: momenta and energies in GeV, counts), one entry
            per event, e.g. from :func:`variables_from_branches`.

        Returns
        -------
        numpy.ndarray of bool
            One entry per event.
        """
        return _all(v, [*(r for c in _DEFAULT.flow for r in c.requires),
                        *((f.metadata["variable"], f.metadata["op"], getattr(self, f.name))
                          for f in fields(self))])

    def to_dict(self) -> dict[str, float]:
        """The preselection bounds by name.

        Returns
        -------
        dict of str to float
            ``{name: value}`` (GeV, counts).
        """
        return {f.name: getattr(self, f.name) for f in fields(self)}


# --------------------------------------------------------------------------------------------
# the lfv_e selection: an electron shower and no outgoing muon (docs/models/lfv.md)
# --------------------------------------------------------------------------------------------
#: the cuts of the lfv_e selection, in cutflow order (:class:`~na64tools.config.LfvECuts`)
LFV_E_FLOW: tuple[str, ...] = ("trigger", "beam", "ecal", "no_track", "vetoes")


def lfv_e_masks(v: Mapping[str, np.ndarray], cuts: LfvECuts | None = None) -> dict[str, np.ndarray]:
    """Each cut's own pass mask of the ``lfv_e`` selection (μN → eX in flight), in the order of
    :data:`LFV_E_FLOW`, from the same cut variables as the missing-momentum selection.

    - ``trigger``: the calorimeter trigger, E_ECAL ≥ ``trigger_ecal_min`` and no S_mu hit (the
      scattered-muon trigger bit is false);
    - ``beam``: one clean incoming muon, ``p_in_min < p_in < p_in_max``, MS1 χ² < ``beam_chi2_max``;
    - ``ecal``: the whole beam energy in the ECAL, E_ECAL ≥ ``z_min`` · p_in;
    - ``no_track``: no track in MS2 (no outgoing muon);
    - ``vetoes``: VETO < ``veto_max``, HCAL < ``hcal_max``, VHCAL < ``vhcal_max``.

    Parameters
    ----------
    v : mapping of str to numpy.ndarray
        The cut variables (:data:`VARIABLES`), one entry per event.
    cuts : LfvECuts, optional
        The thresholds (default: :class:`~na64tools.config.LfvECuts`).

    Returns
    -------
    dict of str to numpy.ndarray of bool
        ``{cut: mask}`` in the order of :data:`LFV_E_FLOW`.
    """
    c = LfvECuts() if cuts is None else cuts
    ecal, p_in = v["ecal"], v["p_in"]
    return {
        "trigger": lfv_e_trigger(v, c),
        "beam": (p_in > c.p_in_min) & (p_in < c.p_in_max) & (v["beam_chi2"] < c.beam_chi2_max),
        "ecal": ecal >= c.z_min * p_in,
        "no_track": v["n_tracks"] == 0,
        "vetoes": (v["veto"] < c.veto_max) & (v["hcal"] < c.hcal_max) & (v["vhcal"] < c.vhcal_max),
    }


def lfv_e_trigger(v: Mapping[str, np.ndarray], cuts: LfvECuts | None = None) -> np.ndarray:
    """The calorimeter trigger of the ``lfv_e`` selection, its first cut: E_ECAL ≥
    ``trigger_ecal_min`` and no S_mu hit (the scattered-muon trigger bit is false).

    Parameters
    ----------
    v : mapping of str to numpy.ndarray
        The cut variables (:data:`VARIABLES`), one entry per event.
    cuts : LfvECuts, optional
        The thresholds (default: :class:`~na64tools.config.LfvECuts`).

    Returns
    -------
    numpy.ndarray of bool
        One entry per event.
    """
    c = LfvECuts() if cuts is None else cuts
    return ~np.asarray(v["trigger"], dtype=bool) & (v["ecal"] >= c.trigger_ecal_min)


def lfv_e_passes(v: Mapping[str, np.ndarray], cuts: LfvECuts | None = None) -> np.ndarray:
    """Events passing the whole ``lfv_e`` selection (:func:`lfv_e_masks`).

    Parameters
    ----------
    v : mapping of str to numpy.ndarray
        The cut variables (:data:`VARIABLES`), one entry per event.
    cuts : LfvECuts, optional
        The thresholds (default: :class:`~na64tools.config.LfvECuts`).

    Returns
    -------
    numpy.ndarray of bool
        One entry per event.
    """
    return stages(lfv_e_masks(v, cuts), LFV_E_FLOW) == len(LFV_E_FLOW)
