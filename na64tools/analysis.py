"""From processor output to physics: efficiency, background by source, limits and projections.

:class:`Analysis` holds what does not depend on the cuts (the processor's cut table, the samples
and their MOT, the signal yield per MOT before efficiency on a mass grid); :meth:`Analysis.evaluate`
applies a set of :class:`~na64tools.config.Cuts` to the stored table and returns a :class:`Result`
in milliseconds. The CLI, the demo and the interactive CutExplorer all go through it, so nothing is
computed in two places.

Formulas: signal yield N_sig = N_MOT ε(m) BR n_A L_T σ(x > x_min) (:mod:`na64tools.stats.signal`,
docs/references.md), with ε the fraction of the produced X (x > x_min) passing trigger, acceptance
and all cuts, split into ε_trigger · c_set · ε_acceptance · ε_selection (c_set set, not measured)
(:class:`~na64tools.stats.efficiency.EfficiencyFactors`); background n_b = (N_MOT/MOT_sample) Σ_pass w
(:mod:`na64tools.stats.background`); limits with the CLs counting experiment and
g_90 = g_ref √(s_up/N_sig(g_ref)) (:mod:`na64tools.stats.limits`, docs/references.md).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from .completeness import Exposure, check_physics_ready
from .config import Cuts, Setup, default_setup
from .exact import ExactSums, decompose
from .processes import CODES, SOURCES, source_of_codes
from .selection import VARIABLES, passes
from .stats.background import (
    SYSTEMATICS,
    ZERO_EVENT_UPPER,
    BackgroundEstimate,
    EstimatedBackground,
    total_background,
)
from .stats.efficiency import (
    ACCEPTANCE_CUTS,
    Efficiency,
    EfficiencyCurve,
    EfficiencyFactors,
    efficiency,
)
from .stats.limits import CountingExperiment, CouplingLimit, Projection, coupling_limit, project
from .stats.signal import check_coupling_scaling, signal_systematics, yield_per_mot
from .stats.signal import signal_uncertainty as setup_signal_uncertainty

__all__ = ["Sample", "Analysis", "Result", "analyse", "samples_from_output", "DEFAULT_PROJECTIONS",
           "EFFICIENCY_DEFINITION"]

#: the one definition of the signal efficiency, as written into every output
EFFICIENCY_DEFINITION = ("N_sig = MOT * n_A * L_T * sigma(x > x_min) * BR(X -> inv) * eps; eps = fraction "
                         "of the produced X with x > x_min passing trigger, acceptance and all cuts "
                         "= eps_trigger * c_set * eps_acceptance * eps_selection, c_set = "
                         "signal.efficiency_correction (set, not measured)")

#: exposures for projections [MOT]: 1e11; ≈3.5e11 collected by 2024–2025; 2e13 planned for
#: LHC Run 4 (L. Molina Bueno, CPAN days 2024, arXiv:2505.14291)
DEFAULT_PROJECTIONS: tuple[float, ...] = (1e11, 3.5e11, 2e13)


@dataclass(frozen=True)
class Sample:
    """One dataset of the processor output, described by its files' ``Runs`` trees."""

    dataset: str
    kind: str  #: "signal" or "background"
    model: str
    mass: float  #: GeV
    coupling: float
    x_min: float
    mot: float  #: MOT the dataset stands for (sum over files)
    n_generated: int  #: X produced with x > x_min (signal) / muons simulated (background)
    setup_hash: str
    n_written: int = -1  #: triggered events written to the files (``Runs.nWritten``)


def _records(output) -> dict[str, dict]:
    try:
        files = output["files"]
        mot = output["mot"]
    except (KeyError, TypeError):
        raise ValueError("processor output lacks 'files'/'mot' bookkeeping: pass the output of "
                         "na64tools.run() or MissingMomentumProcessor") from None
    return files, mot


def samples_from_output(output, *, allow_partial: bool = False,
                        exposure: Exposure | None = None) -> dict[str, Sample]:
    """The datasets of a processor output; files of one dataset must describe the same sample.

    The output must hold every event of its files
    (:func:`na64tools.completeness.check_physics_ready`);
    with ``allow_partial=True`` an incomplete one is accepted and each sample's ``mot`` and
    ``n_generated`` are scaled to the events processed (``exposure``: that check's result, if
    the caller already has it).

    Parameters
    ----------
    output : dict
        The processor output (``na64tools.run(...)``).
    allow_partial : bool
        Accept an incomplete output (MOT and generated counts scaled to the events processed).
    exposure : Exposure, optional
        The result of :func:`~na64tools.completeness.check_physics_ready` for ``output``, if the
        caller already has it.

    Returns
    -------
    dict of str to Sample
        ``{dataset: Sample}``.

    Raises
    ------
    ValueError
        Files of one dataset that describe different samples;
        :class:`~na64tools.completeness.PartialOutputError` for an incomplete output without
        ``allow_partial``.
    """
    if exposure is None:
        exposure = check_physics_ready(output, allow_partial=allow_partial)
    files, mot = _records(output)
    out = {}
    for ds, recs in files.items():
        recs = list(recs.values())
        if not recs:
            continue
        first = recs[0]
        key = lambda r: (r.sample, r.model, r.mass, r.coupling, getattr(r, "x_min", 0.0), r.setup_hash)  # noqa: E731
        for r in recs[1:]:
            if key(r) != key(first):
                raise ValueError(
                    f"dataset {ds!r} mixes different samples: {first.filename} is "
                    f"{key(first)[:5]} (setup {first.setup_hash[:12]}), {r.filename} is "
                    f"{key(r)[:5]} (setup {r.setup_hash[:12]})")
        if first.sample not in ("signal", "background"):
            raise ValueError(f"dataset {ds!r}: unknown sample kind {first.sample!r} in {first.filename}")
        out[ds] = Sample(ds, first.sample, first.model, float(first.mass), float(first.coupling),
                         float(getattr(first, "x_min", 0.0)), float(exposure.mot[ds]),
                         int(exposure.n_generated[ds]), first.setup_hash,
                         n_written=int(getattr(mot.get(ds), "n_written", -1)))
    return out


@dataclass
class Result:
    """What one set of cuts gives: efficiencies, background by source, limits and projections."""

    cuts: Cuts
    mot: float
    model: str
    efficiencies: dict[float, Efficiency]  #: simulated mass -> efficiency (for ``model``)
    curve: EfficiencyCurve | None
    background: dict[str, BackgroundEstimate]
    total_background: BackgroundEstimate
    n_obs: int
    limit: CouplingLimit | None
    projection: Projection | None
    signal_yield_ref: np.ndarray | None = None  #: N_sig at g_ref on ``limit.masses``
    g_ref: float = 1e-4
    extra: dict = field(default_factory=dict)
    #: simulated mass -> ε_trigger, ε_acceptance, ε_selection (empty when not available, see
    #: ``factors_note``)
    factors: dict[float, EfficiencyFactors] = field(default_factory=dict)
    factors_note: str = ""
    #: relative signal-yield uncertainty used by the limit, and its sources
    signal_uncertainty: float = 0.0
    signal_systematics: dict[str, float] = field(default_factory=dict)

    @property
    def low_statistics(self) -> bool:
        """The total background rests on fewer than ~10 effective simulated events (never for
        a labelled estimate, :attr:`background_method`)."""
        return self.total_background.low_statistics

    #: the output was incomplete (accepted with ``allow_partial``): MOT and generated counts scaled
    partial: bool = False
    #: what the numbers are, in words (partial output, expected limits only, a single mass, ...)
    notes: tuple[str, ...] = ()
    #: where the background comes from: "simulation" (the simulated background sample), or the
    #: label of a model's analytic estimate ("background: analytic estimate, not simulated: ...")
    background_method: str = "simulation"
    #: the selection of an electron final state (``lfv_e``): the processor's LfvECuts as a dict
    #: (``None``: the missing-momentum selection, :attr:`cuts`)
    selection: dict | None = None

    @property
    def observed(self) -> bool:
        """Whether :attr:`limit` has an observed limit (``n_obs`` known for this exposure)."""
        return self.n_obs is not None

    def summary(self) -> dict:
        """A JSON-serialisable summary.

        Returns
        -------
        dict
            Exposure [MOT], model, cuts, efficiencies, background, observed events and limits, in
            plain Python types (``json.dumps`` writes it).
        """
        d = {
            "mot": self.mot,
            "model": self.model,
            "partial": self.partial,
            "notes": list(self.notes),
            "cuts": self.cuts.to_dict(),
            "n_obs": self.n_obs,
            "efficiency_definition": EFFICIENCY_DEFINITION,
            "efficiency": [{"mass": m, **e.as_dict(),
                            **({"factors": self.factors[m].as_dict()} if m in self.factors else {})}
                           for m, e in sorted(self.efficiencies.items())],
            "efficiency_factors_note": self.factors_note,
            "background": {s: b.as_dict() for s, b in self.background.items()},
            "background_total": self.total_background.as_dict(),
            "background_low_statistics": self.low_statistics,
            "signal_uncertainty": {"total": self.signal_uncertainty, **self.signal_systematics},
        }
        if self.background_method != "simulation":   # a labelled estimate (lfv_e)
            d["background_method"] = self.background_method
        if self.selection is not None:
            d["selection"] = {"name": "lfv_e", "cuts": dict(self.selection)}
        if self.limit is not None:
            lim = self.limit
            d["limits"] = {
                "cl": lim.cl,
                "g_ref": self.g_ref,
                "events_observed": float(lim.events_observed) if self.observed else None,
                "events_expected": {k: float(v) for k, v in lim.events_expected.as_dict().items()},
                "masses": lim.masses.tolist(),
                "observed": lim.observed.tolist() if self.observed else None,
                "expected": {k: np.asarray(v).tolist() for k, v in lim.expected.as_dict().items()},
            }
        if self.projection is not None:
            p = self.projection
            d["projections"] = {
                "mot": np.asarray(p.mot).tolist(),
                "masses": np.asarray(p.masses).tolist(),
                "expected_median": np.asarray(p.expected.median).tolist(),
            }
        return d


class Analysis:
    """Cut-independent inputs of the physics interpretation, and fast re-evaluation of cuts.

    The observed limit needs the events observed in the exposure: with ``mot`` other than the
    setup's run and no ``n_obs``, :meth:`evaluate` gives expected limits only (``Result.n_obs``
    is ``None`` and the observed limit NaN).

    The cut table is either in the output (``output["table"]``, the default of
    ``na64tools.run``) or on disk (``na64tools.run(table_dir=...)``: ``output["table"]`` is
    ``None`` and ``output["run"]["table"]["path"]`` names the directory of its Parquet
    partitions). On disk, nothing of the table is held: each :meth:`evaluate` reads the
    partitions one at a time, only the columns it needs (the cut variables, ``genWeight``,
    ``process``), so the memory does not grow with the number of events; :meth:`passed` (a mask
    over all rows) is then unavailable. Both give the same numbers to the last bit: sums of
    weights are exact (correctly rounded, :mod:`na64tools.exact`), whatever the order the rows
    are read in. A missing directory, index or partition, or a partition that does not hold the
    rows of the index, is a ``ValueError``.

    Parameters
    ----------
    output : dict
        The processor output (``na64tools.run(...)``), with its cut table in memory or on disk.
    setup : Setup, optional
        The setup description (default: the shipped 2022 setup).
    mot : float, optional
        Exposure to quote results for, in muons on target [MOT] (default: the setup's run).
    n_obs : int, optional
        Observed events (default: the setup's ``run.observed_events`` when ``mot`` is the run's
        exposure; otherwise none, and only expected limits).
    g_ref : float
        Reference coupling for the signal yield (dimensionless, default 1e-4); limits scale as
        √ (σ ∝ g²).
    cl : float
        Confidence level of the limits, in (0, 1) (default 0.9, as NA64 quotes).
    n_masses : int
        Points of the limit curve between the lightest and heaviest simulated mass.
    signal_uncertainty : float, optional
        Relative uncertainty of the signal yield in the limit (default: the setup's systematics
        and MOT uncertainty in quadrature, :func:`na64tools.stats.signal.signal_uncertainty`;
        0.142 for the 2022 setup).
    projections : sequence of float
        Exposures [MOT] for the projected expected limits.
    allow_partial : bool
        Accept an incomplete output (``na64tools.run(..., maxchunks=N)``, skipped files): MOT
        and generated counts are scaled to the events processed and every :class:`Result` says
        so (``partial``, ``notes``). Without it such an output raises
        :class:`~na64tools.completeness.PartialOutputError`.

    Raises
    ------
    ValueError
        The output has no cut table, a non-positive ``mot``, background datasets of different
        setups, negative or non-finite background weights, unequal weights within a signal
        sample, or a signal sample without generated events.

    Examples
    --------
    Two signal masses and a background sample, processed, then the limits for the published
    cuts and for a tighter missing-momentum cut (``p_out_max`` in GeV):

    >>> import tempfile
    >>> from na64tools import run
    >>> from na64tools.analysis import Analysis
    >>> from na64tools.sim import simulate
    >>> d = tempfile.mkdtemp()
    >>> for mass in (0.1, 1.0):
    ...     _ = simulate("signal", mass=mass, events=2000, seed=1, out=d + "/signal")
    >>> _ = simulate("background", events=20000, seed=2, out=d + "/background")
    >>> out = run([d + "/signal", d + "/background"], executor="iterative", progress=False)
    >>> analysis = Analysis(out)
    >>> analysis.models
    ['vector']
    >>> result = analysis.evaluate()
    >>> result.n_obs
    0
    >>> tighter = analysis.evaluate(analysis.setup.cuts.replace(p_out_max=90.0))
    >>> tighter.cuts.p_out_max
    90.0
    >>> float(result.limit.masses[0]), float(result.limit.masses[-1])  # the limit curve [GeV]
    (0.1, 1.0)
    """

    def __init__(self, output, *, setup: Setup | None = None, mot: float | None = None,
                 n_obs: int | None = None, g_ref: float = 1e-4, cl: float = 0.9, n_masses: int = 60,
                 signal_uncertainty: float | None = None,
                 projections: Sequence[float] = DEFAULT_PROJECTIONS, allow_partial: bool = False):
        table = output.get("table") if isinstance(output, Mapping) else None
        #: the on-disk table (:class:`~na64tools.runner.TableIndex`), or None
        self.disk = None
        if table is None:
            if isinstance(output, Mapping) and (output.get("run") or {}).get("table") is not None:
                from .runner import TableIndex

                self.disk = TableIndex.of_output(output)
            else:
                raise ValueError("processor output has no cut table ('table'): run the processor "
                                 "with its table enabled (MissingMomentumProcessor(table=True)), or "
                                 "with na64tools.run(table_dir=...) to keep it on disk")
        self.setup = setup or default_setup()
        self.table = table
        src = table if table is not None else self.disk
        #: the processor's loose preselection the table was cut with
        self.preselection: dict[str, float] = dict(src.preselection)
        #: the table's dataset names (sorted, as in its ``dataset`` column)
        self.table_datasets: list[str] = list(src.datasets)
        self.allow_partial = bool(allow_partial)
        exposure = check_physics_ready(output, allow_partial=self.allow_partial)
        self.partial = exposure.partial
        self.notes: tuple[str, ...] = exposure.notes
        self.samples = samples_from_output(output, exposure=exposure)
        self.mot = float(self.setup.run.mot) if mot is None else float(mot)
        run_mot = float(self.setup.run.mot)
        self._n_obs_given = n_obs is not None
        if n_obs is not None:
            self.n_obs: int | None = int(n_obs)
        elif mot is None or self.mot == run_mot:
            self.n_obs = int(self.setup.run.observed_events)
        else:  # nobody observed this exposure: expected limits only
            self.n_obs = None
            self.notes += (f"Expected limits only: {self.mot:.3g} MOT is not the exposure of the "
                           f"run ({run_mot:.3g} MOT, {int(self.setup.run.observed_events)} events "
                           "observed); give n_obs for an observed limit.",)
        self.g_ref, self.cl, self.signal_uncertainty = g_ref, cl, signal_uncertainty
        self.projections = tuple(projections)
        if not np.isfinite(self.mot) or self.mot <= 0:
            raise ValueError(f"mot={mot!r}: expected a positive number of muons on target")

        bkg = [s for s in self.samples.values() if s.kind == "background"]
        self.mot_background = sum(s.mot for s in bkg)
        hashes = {s.setup_hash for s in bkg}
        if len(hashes) > 1:
            raise ValueError(f"background datasets were simulated with different setups: {sorted(hashes)}")
        #: background rows of each source in the table, and the largest weight of each
        self._source_n: dict[str, int] = {}
        self._source_max: dict[str, float] = {}
        #: signal rows per dataset
        self._signal_n: dict[str, int] = {}
        self._stream_cache: tuple[Cuts, dict, dict] | None = None
        if table is not None:
            self._index_memory(table)
        else:
            self._index_disk()
        for ds, s in self.samples.items():
            if s.kind == "signal" and s.n_generated <= 0:
                raise ValueError(f"signal dataset {ds!r} has no generated events (Runs.nGenerated = 0)")
        self._grid: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self.n_masses = n_masses
        self._init_efficiency_inputs(output, signal_uncertainty)

    def _kind(self, dataset: str) -> str | None:
        smp = self.samples.get(dataset)
        return smp.kind if smp is not None else None

    def _index_memory(self, table) -> None:
        """Rows of each signal dataset and background source of the in-memory table, found once
        (no per-event Python loop)."""
        cols = table.columns
        self._vars = table.variables()
        self._weight = np.asarray(cols["genWeight"], dtype=np.float64)
        ds_names = np.asarray(table.datasets, dtype=object)
        ds_index = np.asarray(cols["dataset"], dtype=np.int64) if len(table) else np.zeros(0, dtype=np.int64)
        self._dataset = ds_names[ds_index] if len(table) else np.array([], dtype=object)
        bkg_of_ds = np.array([self._kind(d) == "background" for d in table.datasets] + [False], dtype=bool)
        self._is_bkg = bkg_of_ds[ds_index]
        proc = np.asarray(cols["process"], dtype=np.int64)
        self._source = source_of_codes(proc[self._is_bkg]) if self._is_bkg.any() else np.array([], dtype=object)
        if np.any(self._source == "signal"):
            raise ValueError(f"background dataset contains events with Gen_process = {CODES['signal']} (signal)")
        self._signal_rows = {ds: np.flatnonzero(ds_index == list(table.datasets).index(ds))
                             for ds, s in self.samples.items() if s.kind == "signal"}
        # background rows of each source (ascending) and their weights
        bkg_rows = np.flatnonzero(self._is_bkg)
        self._source_rows = {src: bkg_rows[self._source == src] for src in SOURCES}
        self._source_weights = {src: self._weight[rows] for src, rows in self._source_rows.items()}
        _check_background_weights(self._weight[bkg_rows])
        for ds, rows in self._signal_rows.items():
            w = self._weight[rows]
            _check_signal_weights(ds, w.min() if w.size else 0.0, w.max() if w.size else 0.0)
            self._signal_n[ds] = len(rows)
        for src, y in self._source_weights.items():
            self._source_n[src] = int(y.size)
            self._source_max[src] = float(y.max()) if y.size else 0.0

    def _index_disk(self) -> None:
        """The same checks and per-source counts as :meth:`_index_memory`, one partition at a
        time (``genWeight`` and ``process`` only)."""
        self._vars = None
        lo: dict[str, float] = {}
        hi: dict[str, float] = {}
        n = dict.fromkeys(SOURCES, 0)
        wmax = dict.fromkeys(SOURCES, 0.0)
        for part, cols in self.disk.iter(("genWeight", "process")):
            ds, w = part["dataset"], cols["genWeight"]
            kind = self._kind(ds)
            if kind == "signal":
                if w.size:
                    lo[ds] = min(lo.get(ds, np.inf), float(w.min()))
                    hi[ds] = max(hi.get(ds, -np.inf), float(w.max()))
                self._signal_n[ds] = self._signal_n.get(ds, 0) + len(w)
            elif kind == "background":
                src = source_of_codes(cols["process"].astype(np.int64))
                if np.any(src == "signal"):
                    raise ValueError(f"background dataset contains events with Gen_process = "
                                     f"{CODES['signal']} (signal)")
                _check_background_weights(w)
                for name in SOURCES:
                    y = w[src == name]
                    if y.size:
                        n[name] += int(y.size)
                        wmax[name] = max(wmax[name], float(y.max()))
        for ds, s in self.samples.items():
            if s.kind == "signal":
                self._signal_n.setdefault(ds, 0)
                if ds in lo:
                    _check_signal_weights(ds, lo[ds], hi[ds])
        self._source_n, self._source_max = n, wmax

    def _stream(self, cuts: Cuts) -> tuple[dict[str, int], dict[str, tuple]]:
        """Selected events per signal dataset and exact background sums per source for
        ``cuts``, one partition of the on-disk table at a time (the last answer is cached)."""
        if self._stream_cache is not None and self._stream_cache[0] == cuts:
            return self._stream_cache[1], self._stream_cache[2]
        n_pass = {ds: 0 for ds, s in self.samples.items() if s.kind == "signal"}
        sums = {src: _BackgroundSums() for src in SOURCES}
        for part in self.disk.partitions:
            ds = part["dataset"]
            kind = self._kind(ds)
            if kind == "signal":
                for cols in self.disk.blocks(part, VARIABLES):
                    n_pass[ds] += int(np.count_nonzero(passes(cols, cuts)))
                continue
            if kind != "background":
                continue
            for cols in self.disk.blocks(part, (*VARIABLES, "genWeight", "process")):
                p = passes(cols, cuts)
                w, proc = cols["genWeight"][p], cols["process"][p].astype(np.int64)
                src = source_of_codes(proc) if w.size else np.array([], dtype=object)
                for name in SOURCES:
                    sums[name].add(w[src == name])
        self._stream_cache = (cuts, n_pass, sums)
        return n_pass, sums

    def _selected(self, cuts: Cuts, p: np.ndarray | None) -> dict[str, int]:
        """Selected events per signal dataset (from the mask ``p`` in memory, streamed on disk)."""
        if self.disk is not None:
            return self._stream(cuts)[0]
        p = self.passed(cuts) if p is None else p
        return {ds: int(np.count_nonzero(p[rows])) for ds, rows in self._signal_rows.items()}

    def _init_efficiency_inputs(self, output, signal_uncertainty: float | None) -> None:
        """The signal-yield uncertainty, and the processor cutflow behind ε_acceptance."""
        if signal_uncertainty is None:
            self.signal_systematics = signal_systematics(self.setup)
            self.signal_uncertainty = setup_signal_uncertainty(self.setup)
        else:
            self.signal_systematics = {"user": float(signal_uncertainty)}
            self.signal_uncertainty = float(signal_uncertainty)
        self._cutflow = output.get("cutflow") or {}
        self._processor_cuts = output.get("cuts")
        #: the lfv_e selection the processor ran (an electron final state), and its cutflow
        self._lfv_e_cutflow = output.get("lfv_e_cutflow")
        self._lfv_e_cuts = output.get("lfv_e_cuts")

    # --- cut-independent, cached -------------------------------------------------------
    @property
    def models(self) -> list[str]:
        return sorted({s.model for s in self.samples.values() if s.kind == "signal"})

    def signal_samples(self, model: str) -> list[Sample]:
        """The signal samples of ``model``, by increasing mass.

        Parameters
        ----------
        model : str
            The X model (``vector``, ``dark_photon``, ``scalar``).

        Returns
        -------
        list of Sample
            Empty if the output has no sample of that model.
        """
        return sorted((s for s in self.samples.values() if s.kind == "signal" and s.model == model),
                      key=lambda s: s.mass)

    def yield_grid(self, model: str) -> tuple[np.ndarray, np.ndarray]:
        """(masses, signal events per MOT before efficiency at g_ref) for the limit curve.

        Parameters
        ----------
        model : str
            The X model.

        Returns
        -------
        masses : numpy.ndarray
            ``n_masses`` masses [GeV], log-spaced between the lightest and heaviest simulated mass.
        per_mot : numpy.ndarray
            Signal events per MOT at ``g_ref`` at those masses, before efficiencies
            (:func:`~na64tools.stats.signal.yield_per_mot`).

        Raises
        ------
        ValueError
            No signal sample of ``model``, or samples generated with different ``x_min``.
        """
        if model not in self._grid:
            sig = self.signal_samples(model)
            if not sig:
                raise ValueError(f"no signal sample for model {model!r} (have: {self.models})")
            x_mins = {s.x_min for s in sig}
            if len(x_mins) > 1:
                raise ValueError(f"signal samples of model {model!r} were generated with different x_min "
                                 f"{sorted(x_mins)}: their efficiencies cannot be interpolated")
            lo, hi = sig[0].mass, sig[-1].mass
            masses = np.geomspace(lo, hi, self.n_masses) if hi > lo else np.array([lo])
            x_min = x_mins.pop()
            # the coupling limits below assume N ∝ g²: refuse a model for which it is false
            check_coupling_scaling([s.mass for s in sig], self.g_ref, setup=self.setup, model=model,
                                   x_min=x_min)
            per_mot = yield_per_mot(masses, self.g_ref, setup=self.setup, model=model, x_min=x_min)
            self._grid[model] = (masses, per_mot)
        return self._grid[model]

    # --- cut-dependent -----------------------------------------------------------------
    def check_cuts(self, cuts: Cuts) -> None:
        """Cuts re-evaluated on the table must stay inside the processor's loose preselection.

        Parameters
        ----------
        cuts : Cuts
            The cuts (GeV and counts as in :class:`~na64tools.config.Cuts`); they must be at least
            as tight as the processor's preselection.

        Raises
        ------
        ValueError
            A cut looser than the preselection the table was filled with (the events it would add
            are not in the table).
        """
        from .processor import Preselection

        Preselection(**self.preselection).check_looser_than(cuts)

    def passed(self, cuts: Cuts) -> np.ndarray:
        """Which rows of the in-memory cut table pass ``cuts`` (checked against the preselection first).

        Parameters
        ----------
        cuts : Cuts
            The cuts (GeV and counts as in :class:`~na64tools.config.Cuts`); they must be at least
            as tight as the processor's preselection.

        Returns
        -------
        numpy.ndarray of bool
            One entry per table row.

        Raises
        ------
        ValueError
            The cut table is on disk (no mask over all its rows is built).
        """
        if self.disk is not None:
            raise ValueError(f"the cut table is on disk ({self.disk.path}): no mask over all its "
                             "rows is built; evaluate() reads it partition by partition")
        self.check_cuts(cuts)
        return passes(self._vars, cuts)

    def efficiencies(self, cuts: Cuts, model: str, passed: np.ndarray | None = None) -> dict[float, Efficiency]:
        """Signal efficiency of ``cuts`` at each simulated mass of ``model``: selected over
        generated events of the sample (a binomial proportion; all events of a signal sample
        share one weight).

        Parameters
        ----------
        cuts : Cuts
            The cuts (GeV and counts as in :class:`~na64tools.config.Cuts`); they must be at least
            as tight as the processor's preselection.
        model : str
            The X model.
        passed : numpy.ndarray of bool, optional
            The pass mask of ``cuts`` on the cut table, if the caller already has it (one entry per
            table row); computed otherwise.

        Returns
        -------
        dict of float to Efficiency
            ``{mass [GeV]: Efficiency}``.
        """
        if self.disk is not None:
            self.check_cuts(cuts)
        sel = self._selected(cuts, passed)
        out = {}
        for s in self.signal_samples(model):
            # simulated signal events of one sample share one weight (docs/ntuple_format.md), so
            # the efficiency is N_pass / N_generated, a binomial proportion
            n_pass = sel[s.dataset]
            out[s.mass] = efficiency(float(n_pass), float(s.n_generated), n_pass=n_pass, n_total=s.n_generated)
        return out

    def factors(self, cuts: Cuts, model: str, passed: np.ndarray | None = None
                ) -> tuple[dict[float, EfficiencyFactors], str]:
        """ε_trigger, c_set, ε_acceptance, ε_selection per simulated mass, and a note if
        unavailable.

        ε_trigger comes from the ``Runs`` trees (written/generated), the events after the
        acceptance stages from the processor's cutflow (all written events, not only the
        preselected table), the selected events from the table. The cutflow was filled with the
        processor's cuts, so the split is available only when ``cuts`` has the same acceptance
        cuts (:data:`~na64tools.stats.efficiency.ACCEPTANCE_CUTS`); otherwise ``({}, reason)``.

        Parameters
        ----------
        cuts : Cuts
            The cuts (GeV and counts as in :class:`~na64tools.config.Cuts`); they must be at least
            as tight as the processor's preselection.
        model : str
            The X model.
        passed : numpy.ndarray of bool, optional
            The pass mask of ``cuts`` on the cut table, if the caller already has it (one entry per
            table row); computed otherwise.

        Returns
        -------
        factors : dict of float to EfficiencyFactors
            ``{mass [GeV]: EfficiencyFactors}``; empty when unavailable.
        note : str
            Why the factors are unavailable or what they assume (empty if nothing to say).
        """
        pc = self._processor_cuts
        if pc is None or not self._cutflow:
            return {}, "the processor output has no cutflow/cuts: efficiency factors unavailable"
        changed = [c for c in ACCEPTANCE_CUTS if getattr(cuts, c) != getattr(pc, c)]
        if changed:
            return {}, (f"efficiency factors unavailable: {', '.join(changed)} differ from the "
                        "processor's cuts, whose cutflow gives the acceptance")
        if self.disk is not None:
            self.check_cuts(cuts)
        sel = self._selected(cuts, passed)
        out = {}
        # c_set (signal.efficiency_correction, set, not measured) is shown as its own factor; it is
        # that of the analysis setup, which must be the one the signal was simulated with
        c_set = float(self.setup.signal.efficiency_correction)
        note = ""
        for smp in self.signal_samples(model):
            if smp.setup_hash != self.setup.hash and not note:
                note = (f"efficiency factors: c_set = {c_set:g} is signal.efficiency_correction of the "
                        f"analysis setup {self.setup.hash[:12]}, but {smp.dataset!r} was simulated "
                        f"with setup {smp.setup_hash[:12]}")
            flow = self._cutflow.get(smp.dataset, {})
            n_processed = flow["all"].events if "all" in flow else -1
            if "track_quality" not in flow or smp.n_written < 0 or n_processed != smp.n_written:
                return {}, (f"efficiency factors unavailable: dataset {smp.dataset!r} was processed "
                            f"for {n_processed} of its {smp.n_written} written events")
            n_sel = sel[smp.dataset]
            out[smp.mass] = EfficiencyFactors(smp.n_generated, smp.n_written,
                                              int(flow["track_quality"].events), n_sel, c_set)
        return out, note

    def background(self, cuts: Cuts, passed: np.ndarray | None = None) -> dict[str, BackgroundEstimate]:
        """Expected background events by source for ``cuts``, scaled to the analysis exposure
        ``mot``.

        Each estimate is the sum of the weights (``genWeight``) of the simulated background
        events that pass, times ``mot / mot_background``, with its statistical and systematic
        uncertainty; a source with no passing simulated event gets 0 and an upper estimate
        (``upper``).

        Parameters
        ----------
        cuts : Cuts
            The cuts (GeV and counts as in :class:`~na64tools.config.Cuts`); they must be at least
            as tight as the processor's preselection.
        passed : numpy.ndarray of bool, optional
            The pass mask of ``cuts`` on the cut table, if the caller already has it (one entry per
            table row); computed otherwise.

        Returns
        -------
        dict of str to BackgroundEstimate
            ``{source: BackgroundEstimate}`` for every background source.

        Raises
        ------
        ValueError
            The output has no background dataset.
        """
        if self.mot_background <= 0:
            raise ValueError("processor output has no background dataset: simulate one "
                             "(na64tools simulate --sample background) and run the processor on it")
        if self.disk is not None:
            self.check_cuts(cuts)
            return self._estimates(self._stream(cuts)[1])
        p = self.passed(cuts) if passed is None else passed
        return self._background_fast(p)

    def _background_fast(self, p: np.ndarray) -> dict[str, BackgroundEstimate]:
        """:func:`~na64tools.stats.background.background_by_source` on the stored background,
        with the rows of each source found once in ``__init__``: the same exact sums of the same
        weights, so the same numbers to the last bit (tested), in O(passing events)."""
        sums = {}
        for src in SOURCES:
            s = _BackgroundSums()
            s.add(self._source_weights[src][p[self._source_rows[src]]])
            sums[src] = s
        return self._estimates(sums)

    def _estimates(self, sums: Mapping[str, _BackgroundSums]) -> dict[str, BackgroundEstimate]:
        """Background estimates from the exact sums of the selected weights of each source
        (n_b = (N_MOT/MOT_sample) Σw, stat = (N_MOT/MOT_sample) √Σw²; 90 % CL upper bound
        2.30 w_max N_MOT/MOT_sample with no selected event, :mod:`na64tools.stats.background`)."""
        scale = self.mot / self.mot_background
        out = {}
        for src in SOURCES:
            s = sums[src]
            value = s.sum_w() * scale
            stat = float(np.sqrt(s.sum_w2())) * scale
            upper = None
            if not s.n and self._source_n[src]:
                upper = ZERO_EVENT_UPPER * self._source_max[src] * scale
            out[src] = BackgroundEstimate(src, value, stat, SYSTEMATICS[src] * value, s.n, upper)
        return out

    def evaluate(self, cuts: Cuts | None = None, *, model: str | None = None,
                 limits: bool = True, passed: np.ndarray | None = None) -> Result:
        """Efficiencies, background by source, observed/expected limits and projections for
        ``cuts``.

        ``passed``: the pass mask of ``cuts`` on the table if the caller already has it (e.g. the
        last of :func:`~na64tools.selection.cumulative_masks`); the cuts are still checked
        against the preselection.

        Parameters
        ----------
        cuts : Cuts, optional
            The cuts (default: the setup's, the published cuts).
        model : str, optional
            The X model (default: the first simulated model).
        limits : bool
            Compute the limits and projections (``False``: efficiencies and background only).
        passed : numpy.ndarray of bool, optional
            The pass mask of ``cuts`` on the cut table, if the caller already has it (one entry per
            table row); computed otherwise.

        Returns
        -------
        Result
            Efficiencies, background by source and total, the coupling limit (``None`` without
            ``limits``) and projections, with the notes on what the numbers are.

        Raises
        ------
        ValueError
            Cuts looser than the preselection, a ``passed`` of the wrong shape, or (with
            ``limits``)
            no signal sample of ``model`` or no background sample.
        """
        cuts = cuts or self.setup.cuts
        if limits:
            self.check_limit_inputs(model)
        model = model or (self.models[0] if self.models else "vector")
        if self.disk is not None:
            if passed is not None:
                raise ValueError(f"passed: the cut table is on disk ({self.disk.path}), there is "
                                 "no row order in memory to give a mask for; give the cuts only")
            self.check_cuts(cuts)
            p = None
        elif passed is None:
            p = self.passed(cuts)
        else:
            self.check_cuts(cuts)
            p = np.asarray(passed, dtype=bool)
            if p.shape != (len(self.table),):
                raise ValueError(f"passed has shape {p.shape}, expected ({len(self.table)},): one entry per table row")
        spec = _registered(model)
        notes = self.notes
        n_obs, selection, method = self.n_obs, None, "simulation"
        electron = spec is not None and spec.final_state == "electron"
        if electron:   # lfv_e: its own trigger and selection, run by the processor
            effs = self.lfv_e_efficiencies(model) if model in self.models else {}
            selection = dict(self._lfv_e_cuts or {})
            notes += (f"Selection of model {model!r}: the lfv_e selection of the processor (an "
                      "electron shower and no outgoing muon, calorimeter trigger; "
                      f"{', '.join(f'{k} = {v:g}' for k, v in selection.items())}); the "
                      "missing-momentum cuts do not apply to it.",)
            if not self._n_obs_given:
                n_obs = None
                notes += ("Expected limits only: no data were recorded with the lfv_e calorimeter "
                          "trigger (the run's observed events are those of the missing-momentum "
                          "selection); give n_obs (--n-obs) for an observed limit.",)
        else:
            effs = self.efficiencies(cuts, model, p) if model in self.models else {}
        if spec is not None and spec.background_estimate is not None:
            bkg, total, method = self.estimated_background(model)
            notes += (f"{method} The simulated background sample (written with the "
                      "scattered-muon trigger) is not used for this model.",)
        else:
            bkg = self.background(cuts, p)
            total = total_background(bkg)
        curve = EfficiencyCurve.from_points(effs) if effs else None
        limit = projection = yref = None
        if limits and curve is not None:
            masses, per_mot = self.yield_grid(model)
            yref = self.mot * curve(masses) * per_mot
            experiment = CountingExperiment(0 if n_obs is None else n_obs, total.value,
                                            total.error, self.signal_uncertainty)
            limit = coupling_limit(masses, yref, self.g_ref, experiment, cl=self.cl)
            if n_obs is None:   # expected only: no observed number to show
                limit = dataclasses.replace(limit, observed=np.full(len(masses), np.nan),
                                            events_observed=float("nan"))
            if self.projections and method != "simulation":
                notes += (f"No projections to other exposures for model {model!r}: its background "
                          "is an analytic estimate with a relative uncertainty that does not shrink "
                          "with the exposure, so the expected coupling limit stays about where it is "
                          "(the limit on signal events grows with the background).",)
            elif self.projections:
                projection = project(experiment, np.asarray(self.projections), mot_ref=self.mot,
                                     masses=masses, signal_yield_ref=yref, g_ref=self.g_ref, cl=self.cl)
        if electron:
            factors, note = {}, ("efficiency factors: not split for the lfv_e selection (its "
                                 "cutflow is the processor output's lfv_e_cutflow)")
        else:
            factors, note = self.factors(cuts, model, p) if effs else ({}, "")
        if limits and len(effs) == 1:
            notes += (f"One simulated mass ({next(iter(effs)):g} GeV) for model {model!r}: a limit at "
                      "that mass only, no curve (simulate two or more masses for a curve).",)
        return Result(cuts, self.mot, model, effs, curve, bkg, total, n_obs, limit, projection,
                      yref, self.g_ref, factors=factors, factors_note=note,
                      signal_uncertainty=self.signal_uncertainty,
                      signal_systematics=dict(self.signal_systematics),
                      partial=self.partial, notes=notes, background_method=method,
                      selection=selection)

    def lfv_e_efficiencies(self, model: str) -> dict[float, Efficiency]:
        """Signal efficiency of the processor's lfv_e selection at each simulated mass of
        ``model`` (an electron final state): events passing all its cuts over generated events.

        Parameters
        ----------
        model : str
            The model (``lfv_e``).

        Returns
        -------
        dict of float to Efficiency
            ``{mass [GeV]: Efficiency}``.

        Raises
        ------
        ValueError
            The output has no lfv_e cutflow (written by a na64tools before the lfv_e selection),
            or a signal sample is missing from it.
        """
        flow = self._lfv_e_cutflow
        if not flow:
            raise ValueError("the processor output has no lfv_e_cutflow (the lfv_e selection): "
                             "run the processor of this na64tools on the files again "
                             "(na64tools run)")
        out = {}
        for s in self.signal_samples(model):
            if s.dataset not in flow:
                raise ValueError(f"lfv_e_cutflow of the processor output has no dataset {s.dataset!r}")
            n_pass = int(flow[s.dataset]["vetoes"]["events"])
            out[s.mass] = efficiency(float(n_pass), float(s.n_generated), n_pass=n_pass,
                                     n_total=s.n_generated)
        return out

    def estimated_background(self, model: str
                             ) -> tuple[dict[str, EstimatedBackground], EstimatedBackground, str]:
        """The model's labelled background estimate (:attr:`~na64tools.models.Model.background_estimate`)
        for the analysis exposure, instead of the simulated background sample.

        Parameters
        ----------
        model : str
            A model with a ``background_estimate``.

        Returns
        -------
        by_source : dict of str to EstimatedBackground
            The estimate of each source (its error the documented uncertainty, as ``syst``).
        total : EstimatedBackground
            Their sum (errors added linearly: conservative, as for the simulated sources).
        method : str
            ``"background: analytic estimate, not simulated: ..."``, naming the sources.
        """
        from .config import LfvECuts

        spec = _registered(model)
        sel = LfvECuts(**self._lfv_e_cuts) if self._lfv_e_cuts else LfvECuts()
        raw = spec.background_estimate(self.mot, self.setup, sel)
        by_source = {src: EstimatedBackground(src, float(e["value"]), 0.0, float(e["error"]), 0,
                                              label=str(e["label"])) for src, e in raw.items()}
        method = ("background: analytic estimate, not simulated: "
                  + "; ".join(f"{b.source} = {b.value:.3g} ± {b.syst:.2g} events ({b.label})"
                              for b in by_source.values())
                  + f" for {self.mot:.3g} MOT. The fast simulation does not model these "
                  f"backgrounds (model {model!r}).")
        total = EstimatedBackground("total", float(sum(b.value for b in by_source.values())), 0.0,
                                    float(sum(b.syst for b in by_source.values())), 0,
                                    label="analytic estimate, not simulated")
        return by_source, total, method

    def check_limit_inputs(self, model: str | None = None) -> None:
        """Raise a one-line ``ValueError`` if limits cannot be computed for ``model``: no signal
        sample of that model, or no background sample. (A single simulated mass gives a limit at
        that mass; two or more give a curve.)

        Parameters
        ----------
        model : str, optional
            The X model (``None``: any simulated model).

        Raises
        ------
        ValueError
            No signal sample (of ``model``), a model not in the registry
            (:mod:`na64tools.models`: a user model needs its ``--model-file``), or no background.
        """
        if not self.models:
            raise ValueError("the processor output has no signal sample: no limit can be computed; "
                             "simulate signal (na64tools simulate --sample signal --mass ...) and "
                             "process it with the background")
        if model is not None and model not in self.models:
            raise ValueError(f"no signal sample for model {model!r} in the processor output "
                             f"(have: {', '.join(self.models)})")
        from .models import available_models, get_model

        name = model or self.models[0]
        try:
            get_model(name)
        except ValueError:
            raise ValueError(f"the processor output's signal samples are of model {name!r}, which "
                             f"is not registered (registered: {', '.join(available_models())}): "
                             "pass the file that defines it, na64tools limits --model-file FILE "
                             "(Python: na64tools.models.load_model_file(FILE)); docs/models.md"
                             ) from None
        if self.mot_background <= 0 and get_model(name).background_estimate is None:
            raise ValueError("processor output has no background dataset: simulate one "
                             "(na64tools simulate --sample background) and run the processor on it")


def _registered(model: str | None):
    """The registered model called ``model``, or ``None`` (an unregistered name is reported by
    :meth:`Analysis.check_limit_inputs` when limits are asked for)."""
    from .models import get_model

    if model is None:
        return None
    try:
        return get_model(model)
    except ValueError:
        return None


class _BackgroundSums:
    """Exact sums of selected weights and of their squares (:class:`~na64tools.exact.ExactSums`),
    and their number, added one block of weights at a time: the result, rounded once, is that of
    ``math.fsum`` whatever the blocks (the in-memory table in one block, or partitions)."""

    __slots__ = ("w", "w2", "n")

    def __init__(self):
        self.w, self.w2, self.n = ExactSums(1), ExactSums(1), 0

    def add(self, w: np.ndarray) -> None:
        if w.size:
            zeros = np.zeros(w.size, np.int64)
            self.w = self.w + ExactSums.from_bins(zeros, decompose(w), 1)
            self.w2 = self.w2 + ExactSums.from_bins(zeros, decompose(np.square(w)), 1)
            self.n += int(w.size)

    def sum_w(self) -> float:
        return float(self.w.to_float()[0])

    def sum_w2(self) -> float:
        return float(self.w2.to_float()[0])


def _check_background_weights(w: np.ndarray) -> None:
    if w.size and (not np.all(np.isfinite(w)) or np.any(w < 0)):
        raise ValueError(f"background genWeight {w[~np.isfinite(w) | (w < 0)][0]!r}: "
                         "expected finite and non-negative")


def _check_signal_weights(dataset: str, lo: float, hi: float) -> None:
    if lo != hi:
        raise ValueError(f"signal dataset {dataset!r} has unequal genWeight ({lo!r} .. {hi!r}): "
                         "expected one weight per signal sample")


def analyse(output, *, cuts: Cuts | None = None, model: str | None = None, **kwargs) -> Result:
    """One-shot :class:`Analysis` of a processor output with ``cuts`` (default: the setup's).

    Parameters
    ----------
    output : dict
        The processor output (``na64tools.run(...)``) with its cut table.
    cuts : Cuts, optional
        The cuts (default: the setup's).
    model : str, optional
        The X model (default: the first simulated model).
    **kwargs
        Passed to :class:`Analysis` (``setup``, ``mot``, ``n_obs``, ``cl``, ...).

    Returns
    -------
    Result
        As :meth:`Analysis.evaluate`.
    """
    return Analysis(output, **kwargs).evaluate(cuts, model=model)


