"""The CutExplorer model: re-evaluate the selection on the processor's stored cut table, live.

:class:`CutExplorerModel` is the numpy core of :class:`~na64tools.interactive.CutExplorer`
(the ipywidgets view) and of the Voilà dashboard. It needs no browser and no widget:
``model.set_cuts(p_out_max=70) -> Summary``.

Everything physical goes through :class:`na64tools.analysis.Analysis` (efficiency per simulated
mass, background by source, CLs limits and projections) and :mod:`na64tools.selection` (the cut
definitions): the model adds only what a display needs on top of them, computed from the same
per-cut masks in one pass (the cutflow, the N−1 distribution of p_out) and the bookkeeping of
slider ranges, "cut off" toggles and messages.

A cut can only be re-evaluated exactly inside the processor's loose preselection (the table holds
no event outside it): a cut looser than the preselection raises :class:`CutRangeError`. A cut
beyond the stored data (e.g. ``veto_max`` above every stored VETO energy) is valid and reported
in :attr:`Summary.messages`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np

from ..analysis import Analysis, Result
from ..config import ConfigError, Cuts
from ..processes import SOURCES, source_of_codes
from ..selection import CUT_GROUPS, Selection, cut_masks, cutflow, declaration, stages
from ..stats.background import LOW_N_EFF, BackgroundEstimate
from ..stats.efficiency import Efficiency
from ..stats.limits import CouplingLimit, Projection
from .errors import CutRangeError
from .hashing import file_key, uniform

__all__ = [
    "CUT_GROUPS",
    "CutRange",
    "CutRangeError",
    "ExplorerCutflowRow",
    "PoutHistogram",
    "Summary",
    "Subsample",
    "CutExplorerModel",
    "DEFAULT_MAX_ROWS",
]

#: rows of an on-disk cut table the explorer loads at most (default of ``max_rows``): about
#: 60 MB of table and explorer arrays (~250 bytes a row, benchmarks/bench_table_memory.py);
#: above it the background is a declared subsample (:class:`Subsample`)
DEFAULT_MAX_ROWS = 250_000
#: salt of the subsample's per-event hash (another salt than the optimiser's tune/report split)
SUBSAMPLE_SALT = 0x5AB5

#: human names of the cutflow stages ("stored": the table, after the loose preselection)
STAGE_LABELS: dict[str, str] = {"stored": "stored (loose preselection)",
                                **{c.name: c.label for c in declaration(Cuts).flow}}


def _nice_ceil(x: float) -> float:
    """The smallest 1-2-5 × 10^k number >= x (x > 0)."""
    if x <= 0 or not math.isfinite(x):
        return 1.0
    k = math.floor(math.log10(x))
    for f in (1.0, 2.0, 5.0, 10.0):
        v = f * 10.0 ** k
        if v >= x * (1 - 1e-12):
            return float(f"{v:.12g}")
    return 10.0 ** (k + 1)  # pragma: no cover


def _nice_step(span: float, n: int = 200) -> float:
    """A 1-2-5 step giving about ``n`` slider positions over ``span``."""
    raw = span / n
    k = math.floor(math.log10(raw))
    for f in (1.0, 2.0, 5.0, 10.0):
        if f * 10.0 ** k >= raw:
            return float(f"{f * 10.0 ** k:.12g}")
    return 10.0 ** (k + 1)  # pragma: no cover


@dataclass(frozen=True)
class CutRange:
    """What a slider for one cut may do.

    ``lo``/``hi`` span the slider (the preselection bound, or the stored data); ``hard_lo`` and
    ``hard_hi`` are what the table can evaluate at all (beyond, :class:`CutRangeError`);
    ``off`` is the value that switches the cut off on the stored table (its loosest value);
    ``data_lo``/``data_hi`` the smallest and largest finite stored value of the variable.
    """

    name: str
    variable: str
    side: str  #: "min" (events >= / > value pass) or "max" (events < / <= value pass)
    unit: str
    doc: str
    published: float
    lo: float
    hi: float
    step: float
    hard_lo: float
    hard_hi: float
    off: float
    data_lo: float
    data_hi: float
    integer: bool
    preselection: str | None = None  #: the preselection field that bounds it, if any

    def check(self, value: float) -> float:
        """``value`` as a float, or :class:`CutRangeError` saying what range is allowed.

        Parameters
        ----------
        value : float
            The cut value, in the unit of the cut.

        Returns
        -------
        float
            ``value`` as a float.

        Raises
        ------
        CutRangeError
            Not a finite number, or outside what the stored table can evaluate.
        """
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise CutRangeError(f"{self.name}: {value!r} is not a number")
        v = float(value)
        if not math.isfinite(v):
            raise CutRangeError(f"{self.name}: {value!r} is not a finite number")
        if v < self.hard_lo or v > self.hard_hi:
            why = (f"the processor stored only events with {self.preselection} "
                   f"{'>' if self.side == 'min' else '<'} {self.hard_lo if self.side == 'min' else self.hard_hi:g}"
                   f" {self.unit} (its loose preselection), so a looser cut cannot be evaluated"
                   if self.preselection and (v < self.hard_lo if self.side == "min" else v > self.hard_hi)
                   else f"a cut must lie in [{self.hard_lo:g}, {self.hard_hi:g}] {self.unit}")
            raise CutRangeError(f"{self.name} = {v:g} {self.unit} is outside what the stored table can "
                                f"evaluate: {why}. Allowed: {self.hard_lo:g} .. {self.hard_hi:g} {self.unit}.")
        return v


@dataclass(frozen=True)
class ExplorerCutflowRow:
    """Selected fraction/expected events after one stage of the CutExplorer's cutflow (not the
    processor's :class:`~na64tools.processor.CutflowRow` of events and sums of weights)."""

    stage: str
    label: str
    signal: dict[float, float]  #: simulated mass -> fraction of generated events passing
    background: float  #: expected background events for the exposure
    background_entries: int  #: simulated background events passing


@dataclass(frozen=True)
class PoutHistogram:
    """p_out after every cut except the p_out cut (N−1), expected events for the exposure.

    ``signal`` is for the reference coupling ``g_ref`` of the analysis.
    """

    edges: np.ndarray
    signal: dict[float, np.ndarray]
    background: dict[str, np.ndarray]
    cut: float


@dataclass(frozen=True)
class Subsample:
    """The background rows an explorer on a large on-disk table shows (``max_rows``).

    Every signal event of the model is kept. Background source ``s`` with ``n_s`` rows in the
    table keeps a fraction ``f_s`` of them (all when they fit: the budget ``max_rows`` minus the
    signal rows is shared between the sources, the smallest first), chosen by a deterministic
    hash of (dataset, file, entry) — the same rows whatever the chunking or executor — and each
    kept event's ``genWeight`` is divided by ``f_s``: the background of any cuts is then an
    unbiased estimate of the full table's, with a larger statistical error, and a source with
    no selected event gets its upper bound from the largest reweighted weight (larger than on
    the full table, i.e. conservative). Exact numbers of the current cuts:
    :meth:`CutExplorerModel.exact_result` (reads the whole table, partition by partition).
    """

    path: str
    rows_total: int  #: rows of the on-disk table
    rows_kept: int  #: rows loaded (signal of the model + background subsample)
    max_rows: int
    fractions: dict[str, float]  #: background source -> fraction of its rows kept

    def message(self) -> str:
        """The one-line notice shown with every summary of a subsample.

        Returns
        -------
        str
            Rows loaded of the table, the fraction kept per background source, and where the
            exact numbers are.
        """
        kept = ", ".join(f"{s} {f:.3g}" for s, f in self.fractions.items() if f < 1)
        return (f"background from a subsample of the on-disk table ({self.rows_kept} of "
                f"{self.rows_total} rows loaded, max_rows={self.max_rows}; fraction kept per "
                f"source: {kept}; weights divided by it): an estimate; exact numbers for these "
                "cuts: model.exact_result()")

    def as_dict(self) -> dict:
        """The subsample as plain data (for exports and ``Summary.as_dict``).

        Returns
        -------
        dict
            ``path``, ``rows_total``, ``rows_kept``, ``max_rows``, ``fractions``.
        """
        return {"path": self.path, "rows_total": self.rows_total, "rows_kept": self.rows_kept,
                "max_rows": self.max_rows, "fractions": dict(self.fractions)}


@dataclass
class Summary:
    """What one set of cuts gives (the model's answer to :meth:`CutExplorerModel.set_cuts`)."""

    cuts: Cuts
    result: Result
    cutflow: tuple[ExplorerCutflowRow, ...]
    pout: PoutHistogram
    messages: tuple[str, ...] = ()
    off: frozenset[str] = field(default_factory=frozenset)  #: cut groups switched off
    #: the background is from this subsample of an on-disk table (None: every row)
    subsample: Subsample | None = None

    # --- shortcuts to the Analysis result ---------------------------------------------
    @property
    def model(self) -> str:
        return self.result.model

    @property
    def mot(self) -> float:
        return self.result.mot

    @property
    def efficiencies(self) -> dict[float, Efficiency]:
        return self.result.efficiencies

    @property
    def background(self) -> dict[str, BackgroundEstimate]:
        return self.result.background

    @property
    def total_background(self) -> BackgroundEstimate:
        return self.result.total_background

    @property
    def limit(self) -> CouplingLimit | None:
        return self.result.limit

    @property
    def n_eff(self) -> float:
        """Effective number of simulated events (Σw)²/Σw² behind the total background."""
        return self.result.total_background.n_eff

    @property
    def low_statistics(self) -> bool:
        """The total background rests on fewer than ~10 effective events (a warning is shown)."""
        return self.result.low_statistics

    @property
    def projection(self) -> Projection | None:
        return self.result.projection

    def efficiency(self, mass: float) -> float:
        """Signal efficiency at ``mass`` (GeV), interpolated in log(mass) between simulated
        masses.

        Parameters
        ----------
        mass : float
            The mass [GeV], inside the simulated range.

        Returns
        -------
        float
            The efficiency in [0, 1].

        Raises
        ------
        ValueError
            No signal sample of the model, or a mass outside the simulated range.
        """
        if self.result.curve is None:
            raise ValueError(f"no signal sample of model {self.model!r}: no efficiency")
        return float(self.result.curve(mass))

    def expected_limit(self, mass: float | Sequence[float]) -> float | np.ndarray:
        """Median expected 90 % CL coupling limit at ``mass`` (log-log interpolation of the
        curve).

        Parameters
        ----------
        mass : float or sequence of float
            Mass(es) [GeV] inside the simulated range.

        Returns
        -------
        float or numpy.ndarray
            The coupling limit (dimensionless), a float for a scalar mass.

        Raises
        ------
        ValueError
            No limit, or a mass outside the limit curve.
        """
        return _interp_limit(self.limit, mass, "median")

    def observed_limit(self, mass: float | Sequence[float]) -> float | np.ndarray:
        """Observed coupling limit at ``mass`` (log-log interpolation of the curve; NaN without an
        observed number of events).

        Parameters
        ----------
        mass : float or sequence of float
            Mass(es) [GeV] inside the simulated range.
        Returns
        -------
        float or numpy.ndarray
            The coupling limit (dimensionless), a float for a scalar mass.

        Raises
        ------
        ValueError
            No limit, or a mass outside the limit curve.
        """
        return _interp_limit(self.limit, mass, "observed")

    def as_dict(self) -> dict:
        """A JSON-serialisable summary (the Analysis summary plus cutflow and messages).

        Returns
        -------
        dict
            :meth:`~na64tools.analysis.Result.summary` with ``cutflow``, ``messages`` and ``off``.
        """
        d = self.result.summary()
        d["cutflow"] = [{"stage": r.stage, "label": r.label,
                         "signal": [{"mass": m, "fraction": f} for m, f in sorted(r.signal.items())],
                         "background": r.background, "background_entries": r.background_entries}
                        for r in self.cutflow]
        d["messages"] = list(self.messages)
        d["off"] = sorted(self.off)
        d["subsample"] = self.subsample.as_dict() if self.subsample is not None else None
        return d


def _interp_limit(limit: CouplingLimit | None, mass, which: str):
    if limit is None:
        raise ValueError("no limit: no signal sample, or limits were not computed")
    m = np.atleast_1d(np.asarray(mass, dtype=float))
    grid = np.asarray(limit.masses)
    lo, hi = grid[0], grid[-1]
    if np.any(~np.isfinite(m)) or np.any(m < lo * (1 - 1e-9)) or np.any(m > hi * (1 + 1e-9)):
        raise ValueError(f"mass {mass!r} GeV is outside the limit curve [{lo:g}, {hi:g}] GeV "
                         "(the simulated signal masses)")
    g = np.asarray(limit.observed if which == "observed" else getattr(limit.expected, which), dtype=float)
    if grid.size == 1:
        out = np.full(m.shape, g[0])
    else:
        with np.errstate(divide="ignore"):
            out = np.exp(np.interp(np.log(m), np.log(grid), np.log(g)))
    return out if np.ndim(mass) else float(out[0])


class CutExplorerModel:
    """Live re-evaluation of the selection on the stored cut table (no widgets).

    Parameters
    ----------
    source
        The processor output (``na64tools.run(...)``, which must hold the cut table ``"table"``)
        or an :class:`~na64tools.analysis.Analysis` built from one.
    model
        Signal model (default: the first one of the signal samples).
    projection_mot
        Exposure [MOT] of the projected expected limit drawn with the observed one
        (default 3.5e11, about what NA64μ collected by 2024–2025; L. Molina Bueno, CPAN days 2024).
    pout_bins
        Bins of the p_out histogram between 0 and the preselection bound.
    max_rows
        For an output whose cut table is on disk (``na64tools.run(table_dir=...)``): the most
        rows loaded. A table that fits is loaded whole (only its rows, the numbers are those of
        the in-memory table); a larger one gives every signal event of ``model`` and a
        deterministic, reweighted subsample of the background (:class:`Subsample`, said in
        every :class:`Summary`); :meth:`exact_result` then gives the exact numbers of the
        current cuts. ``None``: load every row, whatever the memory it takes.
    **analysis_kwargs
        Passed to :class:`~na64tools.analysis.Analysis` (``setup``, ``mot``, ``n_obs``, ...).
        An incomplete processor output (``na64tools.run(..., maxchunks=N)``, skipped files) is
        refused with :class:`~na64tools.completeness.PartialOutputError` unless
        ``allow_partial=True`` is given here (then the MOT and generated events are scaled to
        the events processed and every result is marked ``partial``).
    """

    def __init__(self, source, *, model: str | None = None, projection_mot: float | None = 3.5e11,
                 pout_bins: int = 50, max_rows: int | None = DEFAULT_MAX_ROWS, **analysis_kwargs):
        #: the declared background subsample of an on-disk table (None: every row loaded)
        self.subsample: Subsample | None = None
        #: the Analysis reading the whole on-disk table (None for an in-memory table)
        self.exact_analysis: Analysis | None = None
        if isinstance(source, Analysis):
            if analysis_kwargs:
                raise TypeError(f"analysis options {sorted(analysis_kwargs)} need a processor output, "
                                "not an Analysis")
            if source.table is None:
                raise ValueError("this Analysis reads its cut table from disk: give the explorer "
                                 "the processor output instead (it loads the rows it shows)")
            self.analysis = source
        else:
            if not isinstance(source, Mapping):
                raise ValueError(f"CutExplorer needs the processor output (a dict from na64tools.run) "
                                 f"or an Analysis, got {type(source).__name__}")
            on_disk = source.get("table") is None and (source.get("run") or {}).get("table") is not None
            if source.get("table") is None and not on_disk:
                raise ValueError(
                    "this processor output has no cached cut table ('table'), so the cuts cannot be "
                    "re-evaluated: run the processor again with its table enabled (the default of "
                    "na64tools.run / MissingMomentumProcessor(table=True)) and load that output")
            if projection_mot is not None:
                analysis_kwargs.setdefault("projections", (float(projection_mot),))
            else:
                analysis_kwargs.setdefault("projections", ())
            if on_disk:
                source = self._load_from_disk(source, model, max_rows, analysis_kwargs)
            self.analysis = Analysis(source, **analysis_kwargs)
        a = self.analysis
        #: the processor output (None when built from an Analysis): the optimiser splits it (for
        #: an on-disk table, the output with the rows loaded)
        self.output = source if isinstance(source, Mapping) else None
        #: how the Analysis was configured, to build the same one on parts of the output
        self.analysis_kwargs = dict(setup=a.setup, mot=a.mot, n_obs=a.n_obs, g_ref=a.g_ref, cl=a.cl,
                                    n_masses=a.n_masses, signal_uncertainty=a.signal_uncertainty)
        self.setup = a.setup
        self.table = a.table
        if len(self.table) == 0:
            raise ValueError("the cut table is empty: no stored event passed the loose preselection")
        models = a.models
        if not models:
            raise ValueError("the processor output has no signal sample: simulate signal at a few masses "
                             "(na64tools simulate --sample signal --mass ...) and process it too")
        self.model = model or models[0]
        if self.model not in models:
            raise ValueError(f"no signal sample for model {self.model!r} (have: {models})")
        from ..models import get_model

        spec = get_model(self.model)
        #: said in every summary of a model with its own selection (lfv_e): the cuts do not apply
        self._own_selection = (
            None if spec.final_state == "muon" else
            f"model {self.model!r} has its own selection (final state: {spec.final_state}; "
            "docs/models/lfv.md): the missing-momentum cuts shown here do not change its signal "
            "efficiency, background or limit")
        if a.mot_background <= 0:
            raise ValueError("the processor output has no background sample: simulate one "
                             "(na64tools simulate --sample background) and process it too")
        self.published: Cuts = self.setup.cuts
        #: the selection declared by the cuts' class (what each cut tests, its labels)
        self.selection: Selection = declaration(type(self.published))
        #: the Cuts fields behind each cut of the flow (the trigger has none: the stored table
        #: holds triggered events only); a cut switches off as a group
        self.groups: dict[str, tuple[str, ...]] = self.selection.groups
        self._group_of = {n: g for g, names in self.groups.items() for n in names}
        self._vars = self.table.variables()
        self.ranges: dict[str, CutRange] = self._ranges()
        self._index()
        self.pout_edges = np.linspace(0.0, self.ranges["p_out_max"].hard_hi, int(pout_bins) + 1)
        self._pout_bin = np.clip(np.searchsorted(self.pout_edges, self._vars["p_out"], side="right") - 1,
                                 0, int(pout_bins) - 1)
        self._signal_scale = self._signal_event_scale()
        n_sig = len(self._sig)
        scale = np.array([self._signal_scale[m] for m, _ in self._sig] + [0.0] * len(SOURCES))
        safe_cat = np.maximum(self._cat, 0)
        self._w_pout = np.where(self._cat >= n_sig, self._w_flow, scale[safe_cat]) * self._shown
        self._pout_index = safe_cat * int(pout_bins) + self._pout_bin
        self.cuts: Cuts = self.published  #: the cuts applied
        self.slider_cuts: Cuts = self.published  #: the values set by hand (kept while a cut is off)
        self.off: frozenset[str] = frozenset()  #: cut groups switched off
        self.summary: Summary = self.evaluate(self.published)

    # --- set-up --------------------------------------------------------------------------
    def _load_from_disk(self, source: Mapping, model: str | None, max_rows: int | None,
                        analysis_kwargs: dict) -> dict:
        """The output with the rows of its on-disk table the explorer shows (all if they fit in
        ``max_rows``, else :class:`Subsample`); keeps the exact on-disk :class:`Analysis`."""
        from ..processor import _TABLE_COLUMNS, CutTable
        from ..runner import load_table

        exact = Analysis(source, **analysis_kwargs)   # checks the table, counts the rows
        self.exact_analysis = exact
        disk = exact.disk
        if max_rows is None or disk.rows <= int(max_rows):
            return {**source, "table": load_table(disk)}
        max_rows = int(max_rows)
        name = model or (exact.models[0] if exact.models else None)
        sig_ds = {s.dataset for s in exact.signal_samples(name)} if name in exact.models else set()
        n_sig = sum(exact._signal_n.get(ds, 0) for ds in sig_ds)
        budget = max_rows - n_sig
        if budget <= 0:
            raise ValueError(f"max_rows={max_rows}: the signal of model {name!r} alone has {n_sig} "
                             "rows; give a larger max_rows")
        # the budget shared between the sources, the smallest first (water filling)
        fractions: dict[str, float] = {}
        left, todo = budget, sorted(SOURCES, key=lambda x: exact._source_n[x])
        for k, src in enumerate(todo):
            n = exact._source_n[src]
            share = left / (len(todo) - k)
            fractions[src] = 1.0 if n <= share else share / n
            left -= min(n, share)
        parts: list[dict[str, np.ndarray]] = []
        kept = []
        for part in disk.partitions:
            ds = part["dataset"]
            kind = exact._kind(ds)
            if kind == "signal" and ds not in sig_ds:
                continue
            n_part = 0
            for cols in disk.blocks(part, _TABLE_COLUMNS):   # one row group at a time
                if kind == "background":
                    src = source_of_codes(cols["process"].astype(np.int64))
                    f = np.zeros(len(src))
                    for s in SOURCES:
                        f[src == s] = fractions[s]
                    u = uniform(file_key(ds, part["file"]), cols["entry"], SUBSAMPLE_SALT)
                    keep = u < f
                    cols = {c: v[keep] for c, v in cols.items()}
                    cols["genWeight"] = cols["genWeight"] / f[keep]
                parts.append(cols)
                n_part += len(cols["genWeight"])
            kept.append(dict(part, rows=n_part))
        names = {k: sorted({p[k] for p in kept}) for k in ("dataset", "sample", "file")}
        # one column at a time, freeing the blocks' arrays as they are copied
        columns = {c: np.concatenate([p.pop(c) for p in parts]) if parts else np.zeros(0)
                   for c in _TABLE_COLUMNS}
        for key, dtype in (("dataset", np.int16), ("sample", np.int8), ("file", np.int32)):
            idx = {v: i for i, v in enumerate(names[key])}
            columns[key] = np.repeat(np.array([idx[p[key]] for p in kept], dtype=dtype),
                                     [p["rows"] for p in kept]).astype(dtype)
        table = CutTable(columns, names["dataset"], names["sample"], names["file"],
                         dict(disk.preselection))
        self.subsample = Subsample(disk.path, disk.rows, len(table), max_rows,
                                   {s: fractions[s] for s in SOURCES})
        return {**source, "table": table}

    def exact_result(self, cuts: Cuts | None = None, *, limits: bool = True) -> Result:
        """The :class:`~na64tools.analysis.Result` of ``cuts`` (default: the current ones) on
        every row of the table: for a :class:`Subsample` of an on-disk table, the whole table read
        partition by partition (seconds per 1e7 rows); otherwise the same as the summary's.

        Parameters
        ----------
        cuts : Cuts, optional
            The cuts (default: the explorer's current ones).
        limits : bool
            Also compute the limits (default ``True``).

        Returns
        -------
        Result
            Efficiencies, background and limits of ``cuts`` on the whole table.
        """
        cuts = cuts or self.cuts
        a = self.exact_analysis if self.exact_analysis is not None else self.analysis
        return a.evaluate(cuts, model=self.model, limits=limits)

    @property
    def masses(self) -> list[float]:
        """Simulated signal masses of the model (GeV)."""
        return [s.mass for s in self.analysis.signal_samples(self.model)]

    def _ranges(self) -> dict[str, CutRange]:
        pres = dict(self.table.preselection)
        pub = self.published
        thresholds = self.selection.thresholds

        def other_side(var: str, side: str) -> str | None:
            """The preselection bound on the other side of the same variable, if any."""
            return next((p for p in pres if p in thresholds and thresholds[p].variable == var
                         and thresholds[p].side != side), None)

        out = {}
        for f in fields(type(pub)):
            name = f.name
            t = thresholds[name]
            var, side = t.variable, t.side
            x = np.asarray(self._vars[var], dtype=float)
            x = x[np.isfinite(x)]
            data_lo = float(x.min()) if x.size else 0.0
            data_hi = float(x.max()) if x.size else 0.0
            field_lo = f.metadata.get("lo")
            field_lo = 0.0 if field_lo is None else float(field_lo)
            published = float(getattr(pub, name))
            # the preselection applies the same test with a looser value (same field name)
            pb = name if name in pres else None
            opposite = other_side(var, side)
            integer = t.integer
            if pb is not None:
                if side == "min":  # p_in_min
                    hard_lo, hard_hi = float(pres[pb]), math.inf
                    lo = float(pres[pb])
                    hi = float(pres[opposite]) if opposite else data_hi
                    off = hard_lo
                else:
                    hard_lo, hard_hi = field_lo, float(pres[pb])
                    lo = float(pres[opposite]) if opposite else field_lo
                    hi = hard_hi
                    off = hard_hi
            else:
                hard_lo, hard_hi = field_lo, math.inf
                if side == "min":  # track_hits_min, ecal_min: loosest is the field's lower bound
                    lo, off = field_lo, field_lo
                    hi = float(pres[opposite]) if opposite else max(data_hi, published)
                else:  # chi2, VETO, VHCAL: open in the preselection, span the bulk of the data
                    lo = field_lo
                    bulk = float(np.quantile(x, 0.995)) if x.size else 0.0
                    hi = _nice_ceil(max(4.0 * published, bulk, 1e-3))
                    # strictly above every stored value: the cut is then off on the table
                    off = max(hi, _nice_ceil(data_hi * 1.0001 + 1e-12))
            if integer:
                lo, hi, step = math.floor(lo), math.ceil(hi), 1.0
            else:
                step = _nice_step(hi - lo) if hi > lo else 1.0
            out[name] = CutRange(name, var, side, t.unit, t.doc, published,
                                 float(lo), float(hi), step, hard_lo, hard_hi, float(off),
                                 data_lo, data_hi, integer, var if pb else None)
        return out

    def _index(self) -> None:
        """Row categories (signal sample of the model, background source) and per-row weights,
        found once: the cutflow and the p_out histogram are then one ``bincount`` each."""
        cols = self.table.columns
        ds_index = np.asarray(cols["dataset"], dtype=np.int64)
        names = list(self.table.datasets)
        w = np.asarray(cols["genWeight"], dtype=np.float64)
        n = len(self.table)
        self._cat = np.full(n, -1, dtype=np.int64)  # -1: not displayed (e.g. another model)
        self._sig: list[tuple[float, int]] = []  # (mass, n_generated), category = position
        for k, smp in enumerate(self.analysis.signal_samples(self.model)):
            self._cat[ds_index == names.index(smp.dataset)] = k
            self._sig.append((smp.mass, smp.n_generated))
        n_sig = len(self._sig)
        bkg_ds = [i for i, d in enumerate(names)
                  if d in self.analysis.samples and self.analysis.samples[d].kind == "background"]
        bkg_rows = np.flatnonzero(np.isin(ds_index, bkg_ds))
        src = source_of_codes(np.asarray(cols["process"], dtype=np.int64)[bkg_rows])
        for j, name in enumerate(SOURCES):
            self._cat[bkg_rows[src == name]] = n_sig + j
        self._n_cat = n_sig + len(SOURCES)
        self._bkg_scale = self.analysis.mot / self.analysis.mot_background
        # cutflow weight: 1 per signal event (fractions of generated events), expected background
        # events for the exposure per background event
        self._w_flow = np.where(self._cat >= n_sig, w * self._bkg_scale, 1.0) * (self._cat >= 0)
        self._shown = self._cat >= 0
        self._shown_f = self._shown.astype(np.float64)
        self._cat_safe = np.maximum(self._cat, 0)
        self._mask_cache: tuple[Cuts, dict[str, np.ndarray]] | None = None

    def _signal_event_scale(self) -> dict[float, float]:
        """Expected signal events per generated event at g_ref: MOT · (N_sig/MOT)(m) / N_gen.

        N_sig/MOT before efficiency from :func:`na64tools.stats.signal.yield_per_mot` (the same
        function :meth:`Analysis.yield_grid` uses; docs/references.md).
        """
        from ..stats.signal import yield_per_mot

        samples = self.analysis.signal_samples(self.model)
        per_mot = yield_per_mot([s.mass for s in samples], self.analysis.g_ref, setup=self.setup,
                                model=self.model, x_min=samples[0].x_min)
        return {s.mass: self.analysis.mot * float(y) / max(s.n_generated, 1)
                for s, y in zip(samples, per_mot, strict=True)}

    # --- cuts ----------------------------------------------------------------------------
    def make_cuts(self, **values) -> tuple[Cuts, Cuts, frozenset[str], list[str]]:
        """Resolve a change of the sliders/toggles without applying it.

        Returns ``(slider cuts, effective cuts, groups switched off, messages)``: the slider cuts
        are the values set by hand (kept while a cut is switched off), the effective cuts those
        values with every switched-off group at its loosest value on the table. Raises
        :class:`CutRangeError` (a ``ValueError``) for anything the table cannot evaluate.

        Parameters
        ----------
        **values
            Cuts fields in their units (GeV, counts; ``None`` switches the cut off) and cut groups
            of
            :attr:`groups` (``False``/``True`` switches the group off/on).

        Returns
        -------
        tuple of (Cuts, Cuts, frozenset of str, list of str)
            As above.
        """
        off = set(self.off)
        changes: dict[str, float] = {}
        for name, value in values.items():
            if name in self.groups:
                if value is None or value is False:
                    off.add(name)
                elif value is True:
                    off.discard(name)
                else:
                    raise CutRangeError(f"{name}: a cut group takes True (on) or False/None (off), "
                                        f"got {value!r}")
                continue
            if name not in self.ranges:
                raise CutRangeError(f"unknown cut {name!r}: expected one of {', '.join(self.ranges)} "
                                    f"(or a cut group {', '.join(self.groups)} with True/False)")
            group = self._group_of[name]
            if value is None:
                off.add(group)
                continue
            r = self.ranges[name]
            v = r.check(value)
            if r.integer and v != round(v):
                raise CutRangeError(f"{name} = {v:g}: expected a whole number of {r.unit}")
            changes[name] = v
            off.discard(group)
        try:
            slider = self.slider_cuts.replace(**changes)
        except ConfigError as err:
            raise CutRangeError(str(err)) from None
        effective = {name: self.ranges[name].off for g in off for name in self.groups[g]}
        try:
            cuts = slider.replace(**effective)
        except ConfigError as err:  # pragma: no cover - off values are the loosest, always valid
            raise CutRangeError(str(err)) from None
        messages: list[str] = []
        for name, v in cuts.to_dict().items():
            if self._group_of[name] in off:
                continue
            r = self.ranges[name]
            r.check(v)
            if (r.side == "max" and v < r.data_lo) or (r.side == "min" and v > r.data_hi):
                messages.append(f"{name} = {v:g} {r.unit} removes every stored event "
                                f"(stored {r.variable}: {r.data_lo:.4g} .. {r.data_hi:.4g} {r.unit})")
            elif not (r.lo - 1e-12 <= v <= r.hi + 1e-12):
                messages.append(f"{name} = {v:g} {r.unit} is outside the range of the stored data "
                                f"shown by the slider ({r.lo:g} .. {r.hi:g} {r.unit})")
        return slider, cuts, frozenset(off), messages

    def set_cuts(self, **values) -> Summary:
        """Change some cuts (keyword = Cuts field, in its unit) and re-evaluate everything.

        ``None`` as a value, or ``<group>=False`` with a group of :attr:`groups`
        (:data:`CUT_GROUPS`), switches a
        cut off (its loosest value on the stored table); ``<group>=True`` switches it back on
        with the values it had. Raises :class:`CutRangeError` (a ``ValueError``) for a value the
        table cannot evaluate; the state is then unchanged.

        Parameters
        ----------
        **values
            Cuts fields in their units (GeV, counts; ``None`` switches the cut off) and cut groups
            of
            :attr:`groups` (``False``/``True`` switches the group off/on).

        Returns
        -------
        Summary
            What the new cuts give.
        """
        slider, cuts, off, messages = self.make_cuts(**values)
        summary = self.evaluate(cuts, off=off, messages=messages)
        self.slider_cuts, self.cuts, self.off, self.summary = slider, cuts, off, summary
        return summary

    def reset(self) -> Summary:
        """Back to the published selection (all cuts on).

        Returns
        -------
        Summary
            What the published cuts give.
        """
        self.cuts = self.slider_cuts = self.published
        self.off = frozenset()
        self.summary = self.evaluate(self.published)
        return self.summary

    def to_yaml(self, cuts: Cuts | None = None) -> str:
        """The cuts (default: the current ones) as a cut file readable by ``Cuts.from_file``.

        Parameters
        ----------
        cuts : Cuts, optional
            The cuts (default: the current ones).

        Returns
        -------
        str
            The YAML text.
        """
        return (cuts or self.cuts).to_yaml()

    def export_yaml(self, path, cuts: Cuts | None = None) -> Path:
        """Write :meth:`to_yaml` to ``path`` (``.yaml``); returns the path.

        Parameters
        ----------
        path : str or path
            The file to write (``.yaml`` or ``.yml``).
        cuts : Cuts, optional
            The cuts (default: the current ones).

        Returns
        -------
        Path
            ``path``.

        Raises
        ------
        ValueError
            Another suffix.
        """
        path = Path(path)
        if path.suffix not in (".yaml", ".yml"):
            raise ValueError(f"{path}: a cut file must end in .yaml or .yml")
        path.write_text(self.to_yaml(cuts))
        return path

    # --- evaluation ------------------------------------------------------------------------
    def _masks(self, cuts: Cuts) -> dict[str, np.ndarray]:
        """:func:`~na64tools.selection.cut_masks` of ``cuts``, recomputing only the cuts whose
        thresholds changed since the last call."""
        prev = self._mask_cache
        if prev is not None:
            old, masks = prev
            changed = [g for g, names in self.groups.items()
                       if any(getattr(cuts, f) != getattr(old, f) for f in names)]
            masks = {**masks, **cut_masks(self._vars, cuts, only=changed)}
        else:
            masks = cut_masks(self._vars, cuts)
        self._mask_cache = (cuts, masks)
        return masks

    def evaluate(self, cuts: Cuts, *, off: frozenset[str] = frozenset(),
                 messages: Sequence[str] = (), limits: bool = True) -> Summary:
        """Everything for ``cuts`` (no state change): one pass over the per-cut masks.

        Parameters
        ----------
        cuts : Cuts
            The cuts.
        off : frozenset of str
            The cut groups switched off (recorded in the summary).
        messages : sequence of str
            Messages to carry in the summary.
        limits : bool
            Compute the limits (``False``: efficiencies and background only).

        Returns
        -------
        Summary
            Efficiencies, background, limits, cutflow and the p_out histogram (N-1).
        """
        masks = self._masks(cuts)
        names = self.selection.names
        stage = stages(masks, names)  # the number of consecutive cuts each event passes
        passed = stage == len(names)
        i = names.index("p_out")
        nm1 = stage >= i  # every cut but p_out
        for name in names[i + 1:]:
            nm1 &= masks[name]
        result = self.analysis.evaluate(cuts, model=self.model, limits=limits, passed=passed)
        cutflow = self._cutflow(stage)
        pout = self._pout(nm1, cuts)
        messages = list(messages)
        if self._own_selection is not None:
            messages.append(self._own_selection)
        if result.efficiencies and all(e.n_pass == 0 for e in result.efficiencies.values()):
            messages.append("no simulated signal event passes these cuts: there is no sensitivity "
                            "(the coupling limit is infinite)")
        if result.low_statistics:
            messages.append(f"the background estimate rests on {result.total_background.n_eff:.1f} "
                            f"effective simulated events (fewer than {LOW_N_EFF:g}): its error is "
                            "itself uncertain; simulate more background")
        if self.subsample is not None:
            messages.append(self.subsample.message())
        return Summary(cuts, result, cutflow, pout, tuple(messages), frozenset(off),
                       self.subsample)

    def _cutflow(self, stage: np.ndarray) -> tuple[ExplorerCutflowRow, ...]:
        names = ("stored", *self.selection.names)
        # (a masked weight is cheaper than a compress of the rows)
        w = cutflow(stage, len(names) - 1, self._w_flow, self._cat_safe, self._n_cat)
        c = cutflow(stage, len(names) - 1, self._shown_f, self._cat_safe, self._n_cat)
        n_sig = len(self._sig)
        bw, bc = w[n_sig:].sum(axis=0), c[n_sig:].sum(axis=0)
        labels = {"stored": STAGE_LABELS["stored"], **{c.name: c.label for c in self.selection.flow}}
        return tuple(ExplorerCutflowRow(
            st, labels[st], {m: float(w[j, i]) / max(n_gen, 1) for j, (m, n_gen) in enumerate(self._sig)},
            float(bw[i]), int(round(bc[i]))) for i, st in enumerate(names))

    def _pout(self, nm1: np.ndarray, cuts: Cuts) -> PoutHistogram:
        nb = len(self.pout_edges) - 1
        h = np.bincount(self._pout_index, weights=self._w_pout * nm1, minlength=self._n_cat * nb)
        h = h.reshape(self._n_cat, nb)
        n_sig = len(self._sig)
        sig = {m: h[j] for j, (m, _) in enumerate(self._sig)}
        bkg = {s: h[n_sig + j] for j, s in enumerate(SOURCES)}
        return PoutHistogram(self.pout_edges, sig, bkg, float(cuts.p_out_max))

    # --- the optimiser ---------------------------------------------------------------------
    def optimise(self, mass: float | tuple[float, float] | None = None, *,
                 max_background: float | None = None, **kwargs):
        """Cuts that minimise the expected 90 % CL coupling limit, tuned on one half of the events
        and reported on the other; see :func:`na64tools.interactive.optimise.optimise_cuts`.

        Parameters
        ----------
        mass : float or (float, float), optional
            The mass [GeV] or mass range to optimise for (default: the simulated range).
        max_background : float, optional
            The largest allowed expected background [events].
        **kwargs
            Further options of :func:`~na64tools.interactive.optimise.optimise_cuts`.

        Returns
        -------
        Optimisation
            The optimised cuts and their report.
        """
        from .optimise import optimise_cuts

        return optimise_cuts(self, mass=mass, max_background=max_background, **kwargs)


def __getattr__(name: str):
    if name == "CutflowRow":  # renamed: the processor's CutflowRow is another thing
        import warnings

        warnings.warn("na64tools.interactive.model.CutflowRow is now ExplorerCutflowRow",
                      DeprecationWarning, stacklevel=2)
        return ExplorerCutflowRow
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
