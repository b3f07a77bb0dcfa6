"""The NA64μ missing-momentum coffea processor.

:class:`MissingMomentumProcessor` runs the selection of :mod:`na64tools.selection` (the cut
variables from :func:`~na64tools.selection.raw_variables`, as
:func:`~na64tools.selection.variables_from_events` computes them, the masks from
:func:`~na64tools.selection.cut_masks`) on NanoEvents built with :class:`na64tools.NA64Schema`,
and produces:

- ``cutflow``: events and sum of weights after each cut, per dataset (and per true process),
  with the yield per muon on target (``per_mot`` = sum of weights / MOT of the dataset);
- ``hists``: the N−1 histogram of every cut variable and the main distributions after the loose
  preselection (p_in, p_out, ECAL vs HCAL, VETO, VHCAL, track χ²), each with a ``sample``
  (dataset) and a ``process`` (true process, :data:`na64tools.processes.PROCESSES`) axis and
  ``Weight()`` storage;
- ``table``: a :class:`CutTable`, the per-event cut variables, weights and ids of the events that
  pass the loose :class:`Preselection`, to re-evaluate cuts interactively without re-reading;
- ``lfv_e_cutflow``: the cutflow of the ``lfv_e`` selection (an electron shower and no outgoing
  muon, :func:`~na64tools.selection.lfv_e_masks`), run on every event besides the
  missing-momentum selection, per dataset (``lfv_e_cuts``: its thresholds);
- ``mot``: muons on target per dataset from the ``Runs`` trees, read once per file (in the chunk
  that starts at entry 0) however the file is chunked, with generated / written event counts.

Sums of weights are exact (:mod:`na64tools.exact`) and rounded once at the end, so the output is
bit-identical whatever the executor, the chunk size and the merge order. :meth:`process
<MissingMomentumProcessor.process>` reads as the analysis; how the histograms are filled fast and
exactly, and the memory settings of the worker processes, are in :mod:`na64tools.accumulate`. The same processor runs
under :func:`na64tools.run` or a plain ``coffea.processor.Runner``::

    from coffea import processor
    from na64tools import NA64Schema, MissingMomentumProcessor
    from na64tools.processor import UPROOT_OPTIONS

    runner = processor.Runner(processor.IterativeExecutor(), schema=NA64Schema, chunksize=200_000)
    out = runner({"bkg": {"files": {"bkg.root": "Events"}}}, MissingMomentumProcessor(),
                 uproot_options=UPROOT_OPTIONS)   # optional: half the memory per worker
"""

from __future__ import annotations

import functools
import gc
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import awkward as ak
import hist
import numpy as np
import uproot
from coffea import processor

from ._version import __version__
from .accumulate import NMINUS1, Fill, fill_selection, plain_empty, tune_memory
from .config import ConfigError, Cuts, LfvECuts
from .exact import ExactHist, ExactSums, decompose
from .processes import PROCESSES
from .schema import NA64CounterError
from .selection import (
    CUT_VARIABLES,
    CUTFLOW,
    LFV_E_FLOW,
    VARIABLES,
    Preselection,
    as_float,
    cumulative,
    cut_masks,
    declaration,
    events_getter,
    lfv_e_masks,
    lfv_e_trigger,
    raw_variables,
    stages,
)

__all__ = [
    "MissingMomentumProcessor",
    "Preselection",
    "CutTable",
    "CutflowRow",
    "FileRecord",
    "MOTRecord",
    "ProcessorOutput",
    "STAGES",
    "HIST_AXES",
    "BadFileError",
    "UPROOT_OPTIONS",
    "tune_memory",
    "chunk_machinery",
    "chunk_of",
]

#: cutflow stages: "all" then the cuts of :data:`na64tools.selection.CUTFLOW`
STAGES: tuple[str, ...] = ("all", *CUTFLOW)

#: process names in code order (the ``process`` axis categories)
PROCESS_NAMES: tuple[str, ...] = tuple(PROCESSES[i] for i in range(len(PROCESSES)))


class BadFileError(ValueError):
    """An input file cannot be read or does not follow the ntuple format; the message names it."""


# --------------------------------------------------------------------------------------------
# histogram definitions
# --------------------------------------------------------------------------------------------
def _reg(n, lo, hi, name, label):
    return hist.axis.Regular(n, lo, hi, name=name, label=label)


def _int(lo, hi, name, label):
    return hist.axis.Integer(lo, hi, name=name, label=label)


#: axis of each cut variable (cut thresholds of the default selection fall on bin edges)
HIST_AXES: dict[str, Any] = {
    "p_in": _reg(80, 100.0, 200.0, "p_in", r"$p_{in}$ [GeV]"),
    "beam_chi2": _reg(50, 0.0, 10.0, "beam_chi2", r"MS1 $\chi^2$/ndf"),
    "n_tracks": _int(0, 6, "n_tracks", "downstream tracks"),
    "track_chi2": _reg(50, 0.0, 10.0, "track_chi2", r"MS2 $\chi^2$/ndf"),
    "track_hits": _int(0, 20, "track_hits", "MS2 hits"),
    "p_out": _reg(100, 0.0, 200.0, "p_out", r"$p_{out}$ [GeV]"),
    "ecal": _reg(100, 0.0, 10.0, "ecal", r"$E_{ECAL}$ [GeV]"),
    "hcal": _reg(100, 0.0, 20.0, "hcal", r"$E_{HCAL}$ [GeV]"),
    "veto": _reg(60, 0.0, 0.06, "veto", r"$E_{VETO}$ [GeV]"),
    "vhcal": _reg(50, 0.0, 5.0, "vhcal", r"$E_{VHCAL}$ [GeV]"),
    "trigger": _int(0, 2, "trigger", "scattered-muon trigger"),
}

#: main distributions after the preselection: name -> cut variables on its axes
MAIN_HISTS: dict[str, tuple[str, ...]] = {
    "p_in": ("p_in",),
    "p_out": ("p_out",),
    "ecal_vs_hcal": ("ecal", "hcal"),
    "veto": ("veto",),
    "vhcal": ("vhcal",),
    "track_chi2": ("track_chi2",),
}
_MAIN_AXES = {"ecal_vs_hcal": (_reg(50, 0.0, 10.0, "ecal", r"$E_{ECAL}$ [GeV]"),
                               _reg(50, 0.0, 20.0, "hcal", r"$E_{HCAL}$ [GeV]"))}

#: the cut each variable belongs to (the N−1 histogram of a variable removes that whole cut)
CUT_OF: dict[str, str] = {var: cut for cut, vars_ in CUT_VARIABLES.items() for var in vars_}

_STAGE_AXIS = hist.axis.Integer(0, len(STAGES), name="stage", label="cutflow stage",
                                underflow=False, overflow=False)
#: the last cut of the lfv_e selection an event passes (0: its trigger .. 4: all); events
#: failing its trigger are not filled (they are the "all" row of the main cutflow)
_LFV_E_AXIS = hist.axis.Integer(0, len(LFV_E_FLOW), name="stage", label="lfv_e cutflow stage",
                                underflow=False, overflow=False)

#: branches of ``Runs`` read for the MOT bookkeeping: name -> numpy kind
RUNS_BRANCHES = {"run": "i", "mot": "f", "nGenerated": "i", "nWritten": "i", "sumw": "f",
                 "sumw2": "f", "sample": "O", "model": "O", "mass": "f", "coupling": "f",
                 "setup": "O", "setupHash": "O", "seed": "i"}

#: optional ``Runs`` branches checked when present: name -> numpy kind
RUNS_OPTIONAL = {"genEventSumw": "f", "xMin": "f"}

#: a background file whose ``Runs.mot`` differs from ``Runs.genEventSumw`` (the MOT its generated
#: events stand for) by more than this factor is rejected. Assumption: the importance-sampling
#: strata of a file of >= :data:`MOT_CHECK_MIN_EVENTS` generated events reproduce its MOT to
#: ~0.1 % (measured on simulated files: 0.9996-1.0002); a factor 3 catches a mis-scaled MOT
#: (×10) without false alarms from small files
MOT_CHECK_FACTOR = 3.0
MOT_CHECK_MIN_EVENTS = 1000


def _book() -> dict[str, ExactHist]:
    hs: dict[str, ExactHist] = {}
    for var in VARIABLES:
        hs[f"nminus1_{var}"] = ExactHist([HIST_AXES[var]], f"nminus1_{var}", PROCESS_NAMES,
                                         counts=False)
    for name, vars_ in MAIN_HISTS.items():
        axes = _MAIN_AXES.get(name, tuple(HIST_AXES[v] for v in vars_))
        hs[name] = ExactHist(axes, name, PROCESS_NAMES, counts=False)
    return hs


# --------------------------------------------------------------------------------------------
# output records
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FileRecord:
    """Bookkeeping of one input file, from its ``Runs`` tree."""

    dataset: str
    filename: str
    mot: float
    n_generated: int
    n_written: int
    sumw: float
    sumw2: float
    sample: str
    model: str
    mass: float
    coupling: float
    setup: str
    setup_hash: str
    seed: int
    n_runs_entries: int = 1
    #: signal generated with x = E_X/E_0 > x_min (``Runs.xMin``; 0 for background or when absent)
    x_min: float = 0.0


@dataclass(frozen=True)
class MOTRecord:
    """Muons on target of one dataset: sum over its files (each counted once)."""

    mot: float
    n_files: int
    n_generated: int
    n_written: int
    n_processed: int
    sumw: float


class CutflowRow(tuple):
    """``(events, sumw)`` after one cut, with ``sumw2`` and ``per_mot`` as attributes.

    Unpacks as ``events, sumw = row``; ``per_mot`` is ``sumw`` divided by the dataset MOT
    (the yield per muon on target; multiply by the exposure for expected events).
    """

    def __new__(cls, events: int, sumw: float, sumw2: float, per_mot: float):
        obj = super().__new__(cls, (int(events), float(sumw)))
        obj.sumw2 = float(sumw2)
        obj.per_mot = float(per_mot)
        return obj

    def __reduce__(self):
        return (CutflowRow, (self[0], self[1], self.sumw2, self.per_mot))

    @property
    def events(self) -> int:
        return self[0]

    @property
    def sumw(self) -> float:
        return self[1]

    def __repr__(self) -> str:
        return f"CutflowRow(events={self[0]}, sumw={self[1]!r}, sumw2={self.sumw2!r}, per_mot={self.per_mot!r})"


@dataclass
class CutTable:
    """Per-event cut variables of the events passing the loose preselection.

    ``columns`` holds one numpy array per column, rows in canonical order (dataset, file,
    entry): the cut variables of :data:`na64tools.selection.VARIABLES` (float64, exactly as the
    processor cut on them), ``genWeight``, ``process`` (``Gen_process``), ``dataset``,
    ``sample`` and ``file`` (indices into :attr:`datasets`, :attr:`samples`, :attr:`files`) and
    ``entry`` (entry in the file's ``Events`` tree). ``na64tools.selection.cut_masks(table.columns,
    cuts)`` re-evaluates any selection inside :attr:`preselection`.
    """

    columns: dict[str, np.ndarray]
    datasets: list[str]
    samples: list[str]
    files: list[str]
    preselection: dict[str, float]

    def __len__(self) -> int:
        return len(self.columns["genWeight"]) if self.columns else 0

    def variables(self) -> dict[str, np.ndarray]:
        """The cut-variable columns (input of :func:`na64tools.selection.cut_masks`).

        Returns
        -------
        dict of str to numpy.ndarray
            The columns of :data:`~na64tools.selection.VARIABLES` (GeV, counts), one entry per row.
        """
        return {k: self.columns[k] for k in VARIABLES}


#: the processor output is a plain dict with these keys
ProcessorOutput = dict

_TABLE_COLUMNS = (*VARIABLES, "genWeight", "process", "entry")


# --------------------------------------------------------------------------------------------
# accumulator
# --------------------------------------------------------------------------------------------
class MMAccumulator:
    """Per-chunk (and merged) result of :class:`MissingMomentumProcessor` before finalisation.

    ``+`` merges exactly and is associative and commutative; ``-`` removes the contribution of
    some chunks (used to drop bad files). Keys: ``chunks`` ``(dataset, file, start, stop) ->
    events``, ``table`` ``(dataset, file, start) -> columns``, ``files`` ``(dataset, file) ->
    FileRecord``, ``failed`` ``(dataset, file, start, stop) -> message``, ``weights``
    ``(dataset, file, start, stop) -> (sum of genWeight, sum of genWeight²)`` of the chunk (floats,
    only compared with ``Runs.sumw``/``sumw2`` within a tolerance: never part of the output).
    """

    def __init__(self):
        self.hists: dict[str, ExactHist] = _book()
        self.cutflow = ExactHist([_STAGE_AXIS], "cutflow", PROCESS_NAMES)
        self.lfv_e = ExactHist([_LFV_E_AXIS], "lfv_e_cutflow", PROCESS_NAMES)
        self.table: dict[tuple, dict[str, np.ndarray]] = {}
        self.files: dict[tuple, FileRecord] = {}
        self.chunks: dict[tuple, int] = {}
        self.failed: dict[tuple, str] = {}
        self.weights: dict[tuple, tuple[float, float]] = {}

    def _combine(self, other: MMAccumulator, sign: int) -> MMAccumulator:
        out = MMAccumulator.__new__(MMAccumulator)
        if sign > 0:
            dup = set(self.chunks) & set(other.chunks)
            if dup:
                raise RuntimeError(f"chunk processed twice: {sorted(dup)[0]}")
            out.hists = {k: self.hists[k] + other.hists[k] for k in self.hists}
            out.cutflow = self.cutflow + other.cutflow
            out.lfv_e = self.lfv_e + other.lfv_e
            out.table = {**self.table, **other.table}
            out.files = {**self.files, **other.files}
            out.chunks = {**self.chunks, **other.chunks}
            out.failed = {**self.failed, **other.failed}
            out.weights = {**self.weights, **other.weights}
        else:
            out.hists = {k: self.hists[k] - other.hists[k] for k in self.hists}
            out.cutflow = self.cutflow - other.cutflow
            out.lfv_e = self.lfv_e - other.lfv_e
            out.table = {k: v for k, v in self.table.items() if k not in other.table}
            out.files = {k: v for k, v in self.files.items() if k not in other.files}
            out.chunks = {k: v for k, v in self.chunks.items() if k not in other.chunks}
            out.failed = dict(self.failed)
            out.weights = {k: v for k, v in self.weights.items() if k not in other.chunks}
        return out

    def __add__(self, other: MMAccumulator) -> MMAccumulator:
        return self._combine(other, +1)

    def __sub__(self, other: MMAccumulator) -> MMAccumulator:
        return self._combine(other, -1)

    def __iadd__(self, other: MMAccumulator) -> MMAccumulator:
        """In place (coffea merges with ``+=``): the bookkeeping dicts of ``self`` are updated
        instead of copied (no arrays are modified in place; ``other`` is left unchanged)."""
        dup = self.chunks.keys() & other.chunks.keys()
        if dup:
            raise RuntimeError(f"chunk processed twice: {sorted(dup)[0]}")
        self.hists = {k: self.hists[k] + other.hists[k] for k in self.hists}
        self.cutflow = self.cutflow + other.cutflow
        self.lfv_e = self.lfv_e + other.lfv_e
        self.table.update(other.table)
        self.files.update(other.files)
        self.chunks.update(other.chunks)
        self.failed.update(other.failed)
        self.weights.update(other.weights)
        return self


#: options of ``uproot.open`` for the chunks (``na64tools.run`` passes them to coffea's Runner):
#: no array cache. Each chunk reads its branches once; uproot's default 100 MB per-file cache
#: would only keep them alive (in reference cycles, until the next full garbage collection),
#: doubling the memory of a worker.
UPROOT_OPTIONS: dict = {"array_cache": None}


# --------------------------------------------------------------------------------------------
# what runs around each chunk
# --------------------------------------------------------------------------------------------
def chunk_of(events) -> tuple[str, str, int, int]:
    """``(dataset, file, first entry, entry after the last)`` of a chunk, from its metadata.

    Parameters
    ----------
    events : coffea.nanoevents.NanoEventsArray
        One chunk of events (NanoEvents of :class:`na64tools.NA64Schema`) with its metadata
        (``dataset``, ``filename``, ``entrystart``, ``entrystop``).

    Returns
    -------
    tuple of (str, str, int, int)
        The dataset, file name and entry range.
    """
    meta = dict(events.metadata or {})
    start = int(meta.get("entrystart", 0) or 0)
    return (str(meta.get("dataset", "unknown")), str(meta.get("filename", "")), start,
            int(meta.get("entrystop", start + len(events)) or 0))


def chunk_machinery(process):
    """Wrap :meth:`MissingMomentumProcessor.process`: memory settings of the process, and errors.

    Before the chunk: :func:`na64tools.accumulate.tune_memory`, and a young-generation garbage
    collection (~1 ms) that frees the NanoEvents of the previous chunk (they hold their buffers
    in reference cycles) so that this chunk reuses their memory. A failure raises
    :class:`BadFileError` naming the file and the entries (a counter/collection mismatch of the
    schema: the entry), or, under ``na64tools.run(skip_bad_files=True)``, is recorded in the
    output (``failed``) and the whole file is dropped by :func:`na64tools.run`. A subclass that
    overrides ``process`` decorates it too (wrapping twice is harmless).

    Parameters
    ----------
    process : callable
        The ``process(self, events)`` method.

    Returns
    -------
    callable
        The wrapped method.
    """
    @functools.wraps(process)
    def wrapped(self, events):
        tune_memory()
        gc.collect(1)
        dataset, filename, start, stop = chunk_of(events)
        try:
            try:
                return process(self, events)
            except NA64CounterError as err:
                raise BadFileError(err.describe(start, f"{filename}: ")) from err
        except Exception as err:
            if self._catch_errors:
                out = MMAccumulator()
                out.failed[(dataset, filename, start, stop)] = f"{type(err).__name__}: {err}"
                return out
            if isinstance(err, BadFileError):
                raise
            raise BadFileError(f"{filename}: entries {start}-{stop} of dataset {dataset!r}: "
                               f"{type(err).__name__}: {err}") from err

    return wrapped


# --------------------------------------------------------------------------------------------
# the processor
# --------------------------------------------------------------------------------------------
class MissingMomentumProcessor(processor.ProcessorABC):
    """The NA64μ missing-momentum selection and histograms as a coffea processor.

    Parameters
    ----------
    cuts
        The selection (:class:`na64tools.config.Cuts`, a path to a YAML/TOML cut file, or a
        mapping of cut values). Default: the published NA64μ 2022 selection.
    preselection
        The loose :class:`Preselection` of the cut table and main distributions.
    table
        Whether to store the :class:`CutTable` (the per-event cut variables after preselection).
    lfv_e_cuts
        The trigger and selection of the ``lfv_e`` signature (an electron shower and no outgoing
        muon), applied to every event besides the missing-momentum selection: its cutflow is the
        output's ``lfv_e_cutflow`` (default :class:`~na64tools.config.LfvECuts`).
    """

    def __init__(self, cuts: Cuts | str | Mapping | None = None, *,
                 preselection: Preselection | None = None, table: bool = True,
                 lfv_e_cuts: LfvECuts | Mapping | None = None):
        if cuts is None:
            cuts = Cuts()
        elif isinstance(cuts, Mapping):
            cuts = Cuts.from_mapping(cuts)
        elif not isinstance(cuts, Cuts):
            cuts = Cuts.from_file(cuts)
        if declaration(type(cuts)).names != CUTFLOW:  # histograms are booked for these stages
            raise ConfigError(f"cuts: the processor runs the cuts of na64tools.config.Cuts "
                              f"{CUTFLOW}, got {type(cuts).__name__} with other cuts")
        self.cuts: Cuts = cuts
        self.preselection = Preselection() if preselection is None else preselection
        if not isinstance(self.preselection, Preselection):
            raise ConfigError(f"preselection: expected a Preselection, got {self.preselection!r}")
        self.preselection.check_looser_than(cuts)
        self.table = bool(table)
        if isinstance(lfv_e_cuts, Mapping):
            lfv_e_cuts = LfvECuts.from_mapping(lfv_e_cuts, "lfv_e_cuts")
        self.lfv_e_cuts = LfvECuts() if lfv_e_cuts is None else lfv_e_cuts
        if not isinstance(self.lfv_e_cuts, LfvECuts):
            raise ConfigError(f"lfv_e_cuts: expected a LfvECuts, got {self.lfv_e_cuts!r}")
        self._catch_errors = False   # set by na64tools.run(skip_bad_files=True)
        self._finalise = True        # na64tools.run finalises itself after dropping bad files

    def __repr__(self) -> str:
        return f"MissingMomentumProcessor(cuts={self.cuts!r})"

    # ----------------------------------------------------------------------------------------
    @chunk_machinery
    def process(self, events) -> MMAccumulator:
        """The analysis of one chunk of events (NanoEvents of :class:`na64tools.NA64Schema`).

        Parameters
        ----------
        events : coffea.nanoevents.NanoEventsArray
            One chunk of events (NanoEvents of :class:`na64tools.NA64Schema`) with its metadata
            (``dataset``, ``filename``, ``entrystart``, ``entrystop``).

        Returns
        -------
        MMAccumulator
            The histograms, cutflow, cut-table rows and (for the first chunk of a file) the file's
            ``Runs`` record of this chunk; added exactly to those of the other chunks.
        """
        dataset, filename, start, stop = chunk_of(events)
        out = MMAccumulator()
        out.chunks[(dataset, filename, start, stop)] = len(events)
        if start == 0 and filename:   # muons on target: the Runs tree, once per file
            out.files[(dataset, filename)] = read_runs(filename, dataset)
        if len(events) == 0:
            return out

        # 1. the cut variables of every event (na64tools.selection): p_in and beam_chi2 from
        #    events.Beam, n_tracks and the first track's p_out, chi2 and hits from events.Track,
        #    the energies of events.ECAL, .HCAL (summed over modules), .VETO, .VHCAL, and the
        #    trigger bit; kept in their branch dtypes for the table, as float64 for the cuts
        raw = raw_variables(events_getter(events))
        variables = as_float(raw)
        weight, process = read_weights(events)
        check_process_codes(process, filename)
        # compared with Runs.sumw, Runs.sumw2 by na64tools.run (a file read in full); no BLAS
        # call (np.dot) here: OpenBLAS threads spin after one and take a core from the next worker
        out.weights[(dataset, filename, start, stop)] = (float(weight.sum()), float((weight * weight).sum()))

        # 2. the selection: each cut's pass mask, and the loose preselection
        masks = cut_masks(variables, self.cuts)
        preselected = self.preselection.mask(variables)

        # 3. the histograms: the cutflow (the last cut each event passes in turn), the N-1
        #    histogram of every variable (events passing all the other cuts), the main
        #    distributions after the preselection; exact sums (na64tools.accumulate)
        fills = [Fill(out.hists[f"nminus1_{var}"], (var,), NMINUS1, CUT_OF[var]) for var in VARIABLES]
        fills += [Fill(out.hists[name], vars_) for name, vars_ in MAIN_HISTS.items()]
        fill_selection(dataset, out.cutflow, fills, masks, preselected, variables, weight, process)

        # 4. the cut table: the preselected events, to re-evaluate cuts without re-reading
        if self.table:
            rows = np.flatnonzero(preselected)
            columns = {k: raw[k].take(rows) for k in VARIABLES}   # float32, ints: exact, compact
            columns["n_tracks"] = columns["n_tracks"].astype(np.int32)
            columns["genWeight"] = weight.take(rows)
            columns["process"] = process.take(rows).astype(np.int8)
            columns["entry"] = rows.astype(np.int64) + start
            out.table[(dataset, filename, start)] = columns

        # 5. the lfv_e selection (muN -> eX: an electron shower and no outgoing muon, its own
        #    calorimeter trigger; docs/models/lfv.md): the last of its cuts each event on that
        #    trigger passes (the events written by the scattered-muon trigger are never on it)
        fired = np.flatnonzero(lfv_e_trigger(variables, self.lfv_e_cuts))
        if fired.size:
            on_trigger = {k: v.take(fired) for k, v in variables.items()}
            lfv_stage = stages(lfv_e_masks(on_trigger, self.lfv_e_cuts), LFV_E_FLOW)
            w = weight.take(fired)
            out.lfv_e.fill(dataset, process.take(fired), lfv_stage - 1,
                           weight=decompose(w), weight2=decompose(w * w))
        return out

    # ----------------------------------------------------------------------------------------
    def postprocess(self, accumulator: MMAccumulator):
        """The output dict of the merged accumulator (:func:`finalise`), as coffea's runners call
        it.

        Under :func:`na64tools.run`, which finalises the output itself after dropping bad files,
        the accumulator is returned unchanged.

        Parameters
        ----------
        accumulator : MMAccumulator
            The sum of the chunks' accumulators.

        Returns
        -------
        dict or MMAccumulator
            The output (histograms, cutflow, table, MOT), or ``accumulator`` itself.
        """
        if not self._finalise:
            return accumulator
        return finalise(accumulator, self)


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------
def read_weights(events) -> tuple[np.ndarray, np.ndarray]:
    """``genWeight`` (float64) and ``Gen_process`` (integer codes) of a chunk as numpy arrays."""
    return (ak.to_numpy(events.genWeight).astype(np.float64, copy=False),
            ak.to_numpy(events.Gen.process))


def check_process_codes(process: np.ndarray, filename: str) -> None:
    """Raise :class:`BadFileError` if a ``Gen_process`` code is not one of
    :data:`na64tools.processes.PROCESSES`."""
    if len(process) and (process.min() < 0 or process.max() >= len(PROCESS_NAMES)):
        bad = process[(process < 0) | (process >= len(PROCESS_NAMES))][0]
        raise BadFileError(f"{filename}: Gen_process = {bad} is not a known process code "
                           f"(expected 0..{len(PROCESS_NAMES) - 1})")


def read_runs(filename: str, dataset: str = "") -> FileRecord:
    """Read the ``Runs`` tree of one file into a :class:`FileRecord` (sums over its entries)."""
    try:
        with uproot.open(filename) as f:
            if "Runs" not in f:
                raise BadFileError(f"{filename}: no 'Runs' tree (docs/ntuple_format.md)")
            tree = f["Runs"]
            missing = [b for b in RUNS_BRANCHES if b not in tree]
            if missing:
                raise BadFileError(f"{filename}: Runs: missing branch {missing[0]!r} (docs/ntuple_format.md)")
            optional = [b for b in RUNS_OPTIONAL if b in tree]
            arrays = tree.arrays(list(RUNS_BRANCHES) + optional, library="np")
    except BadFileError:
        raise
    except Exception as err:
        raise BadFileError(f"{filename}: cannot read the Runs tree: {type(err).__name__}: {err}") from err
    for name, kind in {**RUNS_BRANCHES, **RUNS_OPTIONAL}.items():
        if name not in arrays:
            continue
        a = arrays[name]
        ok = a.dtype.kind in ("i", "u") if kind == "i" else a.dtype.kind == "f" if kind == "f" else True
        if not ok:
            raise BadFileError(f"{filename}: Runs: branch {name!r} has type {a.dtype}, expected "
                               f"{'an integer' if kind == 'i' else 'a float'} (docs/ntuple_format.md)")
    n = len(arrays["mot"])
    if n == 0:
        raise BadFileError(f"{filename}: the Runs tree is empty (expected one entry per file)")
    _check_runs_values(filename, arrays)

    def one(name):
        vals = {str(x) for x in arrays[name]}
        return vals.pop() if len(vals) == 1 else ",".join(sorted(vals))

    return FileRecord(
        dataset=dataset, filename=filename,
        mot=math.fsum(arrays["mot"]), n_generated=int(arrays["nGenerated"].sum()),
        n_written=int(arrays["nWritten"].sum()), sumw=math.fsum(arrays["sumw"]),
        sumw2=math.fsum(arrays["sumw2"]), sample=one("sample"), model=one("model"),
        mass=float(arrays["mass"][0]), coupling=float(arrays["coupling"][0]), setup=one("setup"),
        setup_hash=one("setupHash"), seed=int(arrays["seed"][0]), n_runs_entries=n,
        x_min=float(arrays["xMin"][0]) if "xMin" in arrays else 0.0,
    )


#: ``Runs`` fields that must have one value per file (the file is one simulated sample); the
#: setup hash is checked by :func:`na64tools.run` (two setups in one file: ``MixedSetupError``)
RUNS_SAME_PER_FILE = ("sample", "model", "mass", "coupling", "seed")


def _check_runs_values(filename: str, arrays: Mapping[str, np.ndarray]) -> None:
    """Values of a ``Runs`` tree that the bookkeeping relies on (docs/ntuple_format.md).

    Per entry: ``mot`` finite and positive, ``nGenerated`` and ``nWritten`` non-negative with
    ``nWritten <= nGenerated``, ``sumw``/``sumw2`` finite and non-negative, ``mass``/``coupling``
    finite, a non-empty ``setupHash``; several entries agree on :data:`RUNS_SAME_PER_FILE`.
    Raises :class:`BadFileError` naming the file, the field, the entry and the value.
    """
    def bad(name: str, i: int, what: str):
        v = arrays[name][i]
        v = v.item() if isinstance(v, np.generic) else v
        raise BadFileError(f"{filename}: Runs.{name} = {v!r} (entry {i}): {what} "
                           "(docs/ntuple_format.md)")

    mot = arrays["mot"]
    for i in range(len(mot)):
        if not math.isfinite(float(mot[i])) or mot[i] <= 0:
            bad("mot", i, "expected a finite, positive number of muons on target")
        for name in ("sumw", "sumw2"):
            v = float(arrays[name][i])
            if not math.isfinite(v) or v < 0:
                bad(name, i, "expected a finite, non-negative sum of genWeight")
        for name in ("mass", "coupling"):
            if not math.isfinite(float(arrays[name][i])):
                bad(name, i, "expected a finite number")
        if arrays["nGenerated"][i] < 0:
            bad("nGenerated", i, "expected a non-negative number of generated events")
        if arrays["nWritten"][i] < 0:
            bad("nWritten", i, "expected a non-negative number of written events")
        if arrays["nWritten"][i] > arrays["nGenerated"][i]:
            bad("nWritten", i, f"more events written than generated (Runs.nGenerated = "
                               f"{arrays['nGenerated'][i]})")
        if "genEventSumw" in arrays:
            gen = float(arrays["genEventSumw"][i])
            if not math.isfinite(gen) or gen < 0:
                bad("genEventSumw", i, "expected a finite, non-negative sum of genWeight")
            if arrays["sumw"][i] > gen * (1 + 1e-9) + 1e-300:
                bad("sumw", i, f"the written events weigh more than the generated ones "
                               f"(Runs.genEventSumw = {gen!r})")
            if (str(arrays["sample"][i]) == "background"
                    and arrays["nGenerated"][i] >= MOT_CHECK_MIN_EVENTS and gen > 0
                    and not 1 / MOT_CHECK_FACTOR <= float(mot[i]) / gen <= MOT_CHECK_FACTOR):
                bad("mot", i, f"the generated background events stand for Runs.genEventSumw = "
                              f"{gen:.6g} MOT (expected equal within a factor {MOT_CHECK_FACTOR:g})")
        if not str(arrays["setupHash"][i]).strip():
            bad("setupHash", i, "empty: the setup of the file is unknown (expected the hash of "
                                "its setup description)")
    for name in RUNS_SAME_PER_FILE:
        vals = [str(x) for x in arrays[name]]
        if len(set(vals)) > 1:
            j = next(k for k, v in enumerate(vals) if v != vals[0])
            raise BadFileError(f"{filename}: Runs.{name} differs between entries 0 ({vals[0]}) and "
                               f"{j} ({vals[j]}): one {name} per file (one simulated sample)")


def _plain(row: CutflowRow | None) -> dict[str, float]:
    """A cutflow row as plain JSON numbers (the ``lfv_e_cutflow`` of the output); ``None``: 0."""
    if row is None:
        return {"events": 0, "sumw": 0.0, "sumw2": 0.0}
    return {"events": int(row.events), "sumw": float(row.sumw), "sumw2": float(row.sumw2)}


def _cutflow(acc: MMAccumulator, mot: dict[str, MOTRecord], h: ExactHist | None = None,
             stage_names: tuple[str, ...] = STAGES):
    """Cumulative cutflow per dataset (total and per process) from the last-stage histogram
    (default: the missing-momentum cutflow)."""
    h = acc.cutflow if h is None else h
    nproc, nst = len(PROCESS_NAMES), len(stage_names)
    total: dict[str, dict[str, CutflowRow]] = {}
    by_proc: dict[str, dict[str, dict[str, CutflowRow]]] = {}
    for ds in sorted(h.samples):
        counts, w, w2 = h.samples[ds]
        c = cumulative(counts.reshape(nproc, nst))
        wc = w.cumsum_reverse((nproc, nst), 1)
        w2c = w2.cumsum_reverse((nproc, nst), 1)
        # totals over processes: exact sums of the per-process limbs
        wt = _sum_processes(wc, nproc, nst)
        w2t = _sum_processes(w2c, nproc, nst)
        m = mot[ds].mot if ds in mot and mot[ds].mot > 0 else float("nan")
        wf, w2f = wc.to_float().reshape(nproc, nst), w2c.to_float().reshape(nproc, nst)
        wtf, w2tf = wt.to_float(), w2t.to_float()
        ct = c.sum(axis=0)
        total[ds] = {s: CutflowRow(ct[i], wtf[i], w2tf[i], wtf[i] / m) for i, s in enumerate(stage_names)}
        by_proc[ds] = {
            PROCESS_NAMES[p]: {s: CutflowRow(c[p, i], wf[p, i], w2f[p, i], wf[p, i] / m)
                               for i, s in enumerate(stage_names)}
            for p in range(nproc) if c[p, 0] > 0
        }
    for ds in sorted(set(mot) - set(total)):  # datasets without events (empty Events trees)
        m = mot[ds].mot
        zero = 0.0 if m > 0 else float("nan")
        total[ds] = {s: CutflowRow(0, 0.0, 0.0, zero) for s in stage_names}
        by_proc[ds] = {}
    return dict(sorted(total.items())), dict(sorted(by_proc.items()))


def _sum_processes(es: ExactSums, nproc: int, nst: int) -> ExactSums:
    nl = es.limbs.shape[1]
    limbs = es.limbs.reshape(nproc, nst, nl).sum(axis=0)
    out = ExactSums(nst, es.k0, np.ascontiguousarray(limbs))
    out._maybe_normalise()
    return out


def _table(acc: MMAccumulator, presel: Preselection) -> CutTable:
    keys = sorted(acc.table)
    datasets = sorted({k[0] for k in keys})
    files = sorted({k[1] for k in keys})
    samples = sorted({acc.files[(k[0], k[1])].sample if (k[0], k[1]) in acc.files else "unknown"
                      for k in keys})
    ds_idx = {d: i for i, d in enumerate(datasets)}
    f_idx = {f: i for i, f in enumerate(files)}
    s_idx = {s: i for i, s in enumerate(samples)}
    pieces = [acc.table[k] for k in keys]
    sizes = [len(piece["genWeight"]) for piece in pieces]
    total = sum(sizes)
    dtypes = {**{c: np.float64 for c in VARIABLES}, "trigger": bool, "genWeight": np.float64,
              "process": np.int8, "entry": np.int64}
    columns = {}
    # one allocation per column; the cut variables arrive in their branch dtypes (float32,
    # int32) and are converted exactly to float64 here
    for c in _TABLE_COLUMNS:
        columns[c] = plain_empty(total, dtypes[c])
        if pieces:
            np.concatenate([piece[c] for piece in pieces], out=columns[c], casting="same_kind")
    for c, dtype, index in (("dataset", np.int16, [ds_idx[k[0]] for k in keys]),
                            ("sample", np.int8, [s_idx[acc.files[(k[0], k[1])].sample]
                                                 if (k[0], k[1]) in acc.files else s_idx["unknown"]
                                                 for k in keys]),
                            ("file", np.int32, [f_idx[k[1]] for k in keys])):
        columns[c] = plain_empty(total, dtype)
        start = 0
        for i, n in zip(index, sizes, strict=True):
            columns[c][start:start + n] = i
            start += n
    return CutTable(columns, datasets, samples, files, presel.to_dict())


def mot_summary(files: Mapping[tuple, FileRecord], chunks: Mapping[tuple, int]) -> dict[str, MOTRecord]:
    """MOT and event counts per dataset (each file once; sums with ``math.fsum``)."""
    out = {}
    for ds in sorted({k[0] for k in files} | {k[0] for k in chunks}):
        recs = [r for (d, _), r in sorted(files.items()) if d == ds]
        out[ds] = MOTRecord(
            mot=math.fsum(r.mot for r in recs), n_files=len(recs),
            n_generated=sum(r.n_generated for r in recs), n_written=sum(r.n_written for r in recs),
            n_processed=sum(n for k, n in chunks.items() if k[0] == ds),
            sumw=math.fsum(r.sumw for r in recs),
        )
    return out


def processed_per_file(files: Mapping[tuple, FileRecord],
                       chunks: Mapping[tuple, int]) -> dict[str, dict[str, int]]:
    """Events processed per file, ``{dataset: {file: events}}`` (exact integers; equal to the
    file's ``Runs.nWritten`` unless the run stopped early, e.g. ``na64tools.run(maxchunks=...)``)."""
    out: dict[str, dict[str, int]] = {}
    for (ds, fn) in sorted(files):
        out.setdefault(ds, {})[fn] = 0
    for (ds, fn, _, _), n in sorted(chunks.items()):
        d = out.setdefault(ds, {})
        d[fn] = d.get(fn, 0) + int(n)
    return out


def finalise(acc: MMAccumulator, proc: MissingMomentumProcessor, *,
             skipped: list | None = None) -> dict:
    """Turn the merged accumulator into the output dict (histograms, cutflow, table, MOT)."""
    mot = mot_summary(acc.files, acc.chunks)
    cutflow, by_process = _cutflow(acc, mot)
    lfv_e, _ = _cutflow(acc, mot, acc.lfv_e, LFV_E_FLOW)
    files: dict[str, dict[str, FileRecord]] = {}
    for (ds, fn), rec in sorted(acc.files.items()):
        files.setdefault(ds, {})[fn] = rec
    return {
        "hists": {name: h.to_hist() for name, h in acc.hists.items()},
        "cutflow": cutflow,
        "cutflow_by_process": by_process,
        "table": _table(acc, proc.preselection) if proc.table else None,
        "mot": mot,
        "files": files,
        "processed": processed_per_file(acc.files, acc.chunks),
        "skipped": list(skipped or []),
        "failed": dict(sorted(acc.failed.items())),
        "cuts": proc.cuts,
        "preselection": proc.preselection,
        # the lfv_e selection: {dataset: {stage: {events, sumw, sumw2}}}, "all" = every event
        "lfv_e_cutflow": {ds: {"all": _plain(cutflow[ds]["all"]),
                               **{st: _plain(lfv_e.get(ds, {}).get(st)) for st in LFV_E_FLOW}}
                          for ds in cutflow},
        "lfv_e_cuts": proc.lfv_e_cuts.to_dict(),
        "n_chunks": len(acc.chunks),
        "version": __version__,
    }
