"""Cut optimisation for analysts, guarded against tuning on statistical fluctuations.

:func:`optimise_cuts` searches the cut space for the cuts that minimise the median expected 90 %
CL coupling limit at a mass (or the geometric mean over a mass range) under a constraint on the
expected background. Cuts tuned on a finite simulated sample adapt to its fluctuations (a cut
placed just above a lucky gap in the background), so the figure of merit on the tuning sample is
biased optimistic. The guard is the usual one of multivariate analyses (training/test split;
e.g. Hastie, Tibshirani, Friedman, *The Elements of Statistical Learning*, 2nd ed., §7.2):

* the stored events are split into two halves by a deterministic hash of (dataset, file name,
  entry) (:func:`split_output`) — the same split on every machine and for every chunking;
* the search sees only the *tuning* half;
* the gain over the starting (published) cuts is reported on the *held-out* half, which the
  search never saw, together with the (optimistic) gain on the tuning half for comparison.

Each half is a valid processor output: every file's MOT, generated events and sums of weights are
scaled by the fraction of its written events that fall in the half (an unbiased estimate, the
hash being independent of the event content), so efficiencies and backgrounds of a half estimate
those of the full sample with about √2 larger statistical errors.

The search is a coordinate descent: for each cut in turn, every candidate value (an even grid over
the slider range plus quantiles of the stored variable) is tried with the others fixed, the best
one satisfying the background constraint is kept; sweeps repeat until no cut changes.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..analysis import Analysis
from ..config import ConfigError, Cuts
from ..processor import CutTable
from .errors import CutRangeError
from .hashing import file_key as _file_key
from .hashing import uniform as _uniform

if TYPE_CHECKING:   # model.py imports this module (CutExplorerModel.optimise)
    from .model import CutExplorerModel

__all__ = ["Figures", "Optimisation", "split_output", "split_mask", "optimise_cuts"]

def split_mask(table: CutTable, *, fraction: float = 0.5, salt: int = 0) -> np.ndarray:
    """True for the rows of ``table`` in the first part of the split (see :func:`split_output`).

    Parameters
    ----------
    table : CutTable
        The cut table.
    fraction : float
        Fraction of the events in the first part, in (0, 1).
    salt : int
        Salt of the hash.

    Returns
    -------
    numpy.ndarray of bool
        One entry per table row.
    """
    cols = table.columns
    ds = np.asarray(cols["dataset"], dtype=np.int64)
    fi = np.asarray(cols["file"], dtype=np.int64)
    entry = np.asarray(cols["entry"], dtype=np.int64)
    out = np.zeros(len(table), dtype=bool)
    pairs = np.unique(np.stack([ds, fi]), axis=1) if len(table) else np.zeros((2, 0), dtype=np.int64)
    for d, f in pairs.T:
        rows = np.flatnonzero((ds == d) & (fi == f))
        u = _uniform(_file_key(table.datasets[d], table.files[f]), entry[rows], salt)
        out[rows] = u < fraction
    return out


def split_output(output: Mapping, *, fraction: float = 0.5, salt: int = 0) -> tuple[dict, dict]:
    """Split a processor output into two by a deterministic hash of (dataset, file, entry).

    Returns ``(first, second)``, processor outputs with the table rows of each part and the file
    bookkeeping (MOT, generated events, sums of weights) scaled by the fraction of each file's
    written events in that part. Histograms and cutflows of the full output are not carried over.

    Parameters
    ----------
    output : dict
        A processor output with its cut table.
    fraction : float
        Fraction of the events in the first part, in (0, 1).
    salt : int
        Salt of the hash (another salt, another split).

    Returns
    -------
    first, second : dict
        The two processor outputs.

    Raises
    ------
    ValueError
        ``fraction`` outside (0, 1), or an output without its cut table.
    """
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"fraction={fraction!r}: expected a number in (0, 1)")
    table = output.get("table") if isinstance(output, Mapping) else None
    if table is None:
        raise ValueError("the processor output has no cut table ('table'): nothing to split")
    try:
        files, mots = output["files"], output["mot"]
    except KeyError:
        raise ValueError("processor output lacks 'files'/'mot' bookkeeping: pass the output of "
                         "na64tools.run()") from None
    first = split_mask(table, fraction=fraction, salt=salt)
    parts = []
    for mask in (first, ~first):
        cols = {k: np.asarray(v)[mask] for k, v in table.columns.items()}
        sub = CutTable(cols, list(table.datasets), list(table.samples), list(table.files),
                       dict(table.preselection))
        new_files, new_mot = {}, {}
        for ds, recs in files.items():
            recs_out = {}
            tot = dict(mot=0.0, n_generated=0, n_written=0, sumw=0.0)
            for key, r in recs.items():
                n_w = int(r.n_written)
                u = _uniform(_file_key(ds, r.filename), np.arange(n_w, dtype=np.int64), salt)
                n_in = int(np.count_nonzero((u < fraction) if mask is first else (u >= fraction)))
                f = n_in / n_w if n_w else 0.0
                rr = dataclasses.replace(r, mot=r.mot * f, n_generated=int(round(r.n_generated * f)),
                                         n_written=n_in, sumw=r.sumw * f, sumw2=r.sumw2 * f)
                recs_out[key] = rr
                tot["mot"] += rr.mot
                tot["n_generated"] += rr.n_generated
                tot["n_written"] += rr.n_written
                tot["sumw"] += rr.sumw
            new_files[ds] = recs_out
            m = mots[ds]
            ratio = tot["n_written"] / m.n_written if m.n_written else 0.0
            new_mot[ds] = dataclasses.replace(m, mot=tot["mot"], n_generated=tot["n_generated"],
                                              n_written=tot["n_written"],
                                              n_processed=int(round(m.n_processed * ratio)), sumw=tot["sumw"])
        skip = {"hists", "cutflow", "cutflow_by_process"}
        parts.append({**{k: v for k, v in output.items() if k not in skip},
                      "table": sub, "files": new_files, "mot": new_mot})
    return parts[0], parts[1]


@dataclass(frozen=True)
class Figures:
    """Figures of merit of one set of cuts on one half of the events."""

    expected_limit: float  #: median expected 90 % CL coupling limit (geometric mean over the masses)
    background: float  #: total expected background for the exposure
    background_error: float
    efficiency: float  #: signal efficiency (mean over the masses)

    @property
    def feasible(self) -> bool:
        return math.isfinite(self.expected_limit)


@dataclass(frozen=True)
class Optimisation:
    """Result of :func:`optimise_cuts`. ``gain`` > 1 means a stronger expected limit."""

    cuts: Cuts  #: the optimised cuts (tuned on the tuning half)
    start: Cuts  #: the cuts the search started from
    masses: tuple[float, ...]
    max_background: float
    tuning_start: Figures
    tuning_best: Figures
    holdout_start: Figures
    holdout_best: Figures
    fields: tuple[str, ...]
    n_evaluations: int
    fraction: float
    salt: int

    @property
    def gain(self) -> float:
        """Expected-limit ratio start/optimised on the held-out half (the honest figure)."""
        return self.holdout_start.expected_limit / self.holdout_best.expected_limit

    @property
    def gain_tuning(self) -> float:
        """The same ratio on the tuning half (biased optimistic: the cuts were tuned on it)."""
        return self.tuning_start.expected_limit / self.tuning_best.expected_limit

    @property
    def holdout_background_ok(self) -> bool:
        """The background constraint also holds on the held-out half."""
        return self.holdout_best.background <= self.max_background

    @property
    def changed(self) -> dict[str, tuple[float, float]]:
        """Cuts whose value changed: name -> (start, optimised)."""
        a, b = self.start.to_dict(), self.cuts.to_dict()
        return {k: (a[k], b[k]) for k in a if a[k] != b[k]}

    def report(self) -> str:
        """Plain-text report.

        Returns
        -------
        str
            The mass range, the background constraint, the changed cuts (with units), the
            held-out expected limit, background and efficiency before and after, the gain on the
            tuning half, and a warning if the held-out background exceeds the constraint.
        """
        where = (f"m = {self.masses[0]:g} GeV" if len(self.masses) == 1
                 else f"{self.masses[0]:g}–{self.masses[-1]:g} GeV ({len(self.masses)} masses)")
        lines = [f"Cut optimisation at {where}, expected background <= {self.max_background:g} events",
                 f"tuned on {self.fraction:.0%} of the events, reported on the other "
                 f"{1 - self.fraction:.0%} (held out); {self.n_evaluations} cut sets tried",
                 ""]
        for k, (a, b) in self.changed.items():
            lines.append(f"  {k}: {a:g} -> {b:g} {Cuts.unit(k)}")
        if not self.changed:
            lines.append("  no cut changed: the starting cuts are already optimal on the tuning half")
        hs, hb = self.holdout_start, self.holdout_best
        lines += ["",
                  f"held-out half: expected limit {hs.expected_limit:.3g} -> {hb.expected_limit:.3g} "
                  f"(gain x{self.gain:.3f}); background {hs.background:.3g} -> {hb.background:.3g} events; "
                  f"efficiency {hs.efficiency:.3f} -> {hb.efficiency:.3f}",
                  f"tuning half (optimistic): gain x{self.gain_tuning:.3f}"]
        if not self.holdout_background_ok:
            lines.append(f"warning: on the held-out half the background {hb.background:.3g} exceeds the "
                         f"constraint {self.max_background:g}: the cuts are tuned to a fluctuation")
        return "\n".join(lines)


def _masses(analysis: Analysis, model: str, mass) -> tuple[float, ...]:
    sims = [s.mass for s in analysis.signal_samples(model)]
    lo, hi = sims[0], sims[-1]
    if mass is None:
        mass = (lo, hi)
    if isinstance(mass, (int, float, np.floating)) and not isinstance(mass, bool):
        ms = (float(mass),)
    else:
        try:
            a, b = (float(x) for x in mass)
        except (TypeError, ValueError):
            raise ValueError(f"mass={mass!r}: expected a mass in GeV or a range (low, high)") from None
        if not a < b:
            raise ValueError(f"mass range {mass!r}: expected low < high")
        grid = analysis.yield_grid(model)[0]
        inner = grid[(grid > a) & (grid < b)]
        ms = (a, *inner.tolist(), b)
    for m in ms:
        if not (math.isfinite(m) and lo * (1 - 1e-9) <= m <= hi * (1 + 1e-9)):
            raise ValueError(f"mass {m:g} GeV is outside the simulated signal masses [{lo:g}, {hi:g}] GeV: "
                             "simulate a signal sample there to optimise for it")
    return ms


def _figures(analysis: Analysis, model: str, cuts: Cuts, masses: Sequence[float],
             max_background: float | None) -> Figures:
    p = analysis.passed(cuts)
    r = analysis.evaluate(cuts, model=model, limits=False, passed=p)
    b = r.total_background
    eff = float(np.mean(r.curve(np.asarray(masses)))) if r.curve is not None else 0.0
    if (max_background is not None and b.value > max_background) or eff <= 0:
        return Figures(math.inf, b.value, b.error, eff)
    r = analysis.evaluate(cuts, model=model, passed=p)
    lim = r.limit
    g = np.exp(np.interp(np.log(masses), np.log(lim.masses), np.log(lim.expected.median)))
    return Figures(float(np.exp(np.mean(np.log(g)))), b.value, b.error, eff)


def _candidates(model: CutExplorerModel, table: CutTable, name: str, points: int) -> np.ndarray:
    r = model.ranges[name]
    if r.integer:
        return np.arange(r.lo, r.hi + 1.0)
    grid = np.linspace(r.lo, r.hi, points)
    x = np.asarray(table.columns[r.variable], dtype=float)
    x = x[np.isfinite(x) & (x >= r.lo) & (x <= r.hi)]
    q = np.quantile(x, np.linspace(0.0, 1.0, points)) if x.size else np.zeros(0)
    # values on the slider's step: exported cut files read 152.4 GeV, not 152.38361 GeV
    q = np.round((q - r.lo) / r.step) * r.step + r.lo
    vals = np.unique(np.round(np.concatenate([grid, q, [r.published]]), 12))
    return vals[(vals >= r.hard_lo) & (vals <= r.hard_hi)]


def optimise_cuts(model: CutExplorerModel, *, mass: float | tuple[float, float] | None = None,
                  max_background: float | None = None, fields: Sequence[str] | None = None,
                  start: Cuts | None = None, sweeps: int = 3, points: int = 12,
                  fraction: float = 0.5, salt: int = 0, min_gain: float = 1e-3,
                  progress: Callable[[int, int], None] | None = None) -> Optimisation:
    """Cuts minimising the median expected 90 % CL coupling limit under a background constraint.

    Parameters
    ----------
    model
        A :class:`CutExplorerModel` built from a processor output (the output is split).
    mass
        The mass (GeV) to optimise for, or a range ``(low, high)``: the geometric mean of the
        expected limit over the limit-curve masses inside it. Default: the simulated range.
    max_background
        Largest allowed expected background (events for the model's exposure) on the tuning half.
        Default: the background of the starting cuts on the whole sample (no more background than
        the published selection gives on this simulation).
    fields
        Cuts fields to tune (default: all of them).
    start
        Starting cuts (default: the published selection); the gain is quoted against them.
    sweeps, points
        Coordinate-descent sweeps at most, and grid points (and data quantiles) per cut.
    fraction, salt
        Tuning fraction of the hash split and its salt (another salt, another split).
    min_gain
        Smallest relative improvement of the tuning-half limit for which a cut is moved (changes
        below it are noise, and would only tune on fluctuations).
    progress
        Called as ``progress(done, total)`` after each cut of a sweep.

    Returns
    -------
    Optimisation
        The cuts found, the starting cuts and the figures (expected limit, background,
        efficiency) of both on the tuning and the held-out half.

    Raises
    ------
    ValueError
        A model built from an :class:`~na64tools.analysis.Analysis` (the output cannot be split),
        a non-positive ``max_background``, or an invalid option.
    """
    output = getattr(model, "output", None)
    if output is None:
        raise ValueError("the optimiser splits the processor output into a tuning and a held-out half: "
                         "build the CutExplorer from the processor output, not from an Analysis")
    start = start or model.published
    if max_background is None:
        # no more background than the starting cuts give on the whole simulated sample
        max_background = float(model.evaluate(start, limits=False).total_background.value)
    if not (isinstance(max_background, (int, float)) and math.isfinite(max_background) and max_background > 0):
        raise ValueError(f"max_background={max_background!r}: expected a positive number of events")
    names = tuple(fields) if fields is not None else tuple(model.ranges)
    for n in names:
        if n not in model.ranges:
            raise ValueError(f"unknown cut {n!r} (expected one of {', '.join(model.ranges)})")
    tune_out, hold_out = split_output(output, fraction=fraction, salt=salt)
    kw = dict(model.analysis_kwargs, projections=())
    halves = []
    for part, label in ((tune_out, "tuning"), (hold_out, "held-out")):
        try:
            halves.append(Analysis(part, **kw))
        except ValueError as err:
            raise ValueError(f"the {label} half of the events cannot be analysed ({err}): "
                             "use larger samples") from None
    tune, hold = halves
    masses = _masses(tune, model.model, mass)
    cands = {n: _candidates(model, tune.table, n, points) for n in names}
    n_eval = 0

    def fom(cuts: Cuts) -> Figures:
        nonlocal n_eval
        n_eval += 1
        return _figures(tune, model.model, cuts, masses, max_background)

    f_start = fom(start)
    best, f_best = start, f_start
    total = len(names) * max(int(sweeps), 1)
    done = 0
    for _ in range(max(int(sweeps), 1)):
        changed = False
        for name in names:
            cur = getattr(best, name)
            pick, f_pick = cur, f_best
            for v in cands[name]:
                if v == cur:
                    continue
                try:
                    model.ranges[name].check(v)
                    c = best.replace(**{name: float(v)})
                except (ConfigError, CutRangeError):
                    continue
                f = fom(c)
                if f.expected_limit < f_pick.expected_limit * (1.0 - min_gain):
                    pick, f_pick = float(v), f
            if pick != cur:
                best, f_best, changed = best.replace(**{name: pick}), f_pick, True
            done += 1
            if progress is not None:
                progress(done, total)
        if not changed:
            break
    if not f_best.feasible:
        raise ValueError(f"no cut set tried gives an expected background <= {max_background:g} events with "
                         f"signal left at {', '.join(f'{m:g}' for m in masses)} GeV on the tuning half: "
                         "relax max_background or tune more cuts")
    hold_start = _figures(hold, model.model, start, masses, None)
    hold_best = _figures(hold, model.model, best, masses, None)
    tune_start = f_start if f_start.feasible else _figures(tune, model.model, start, masses, None)
    return Optimisation(best, start, tuple(float(m) for m in masses), float(max_background),
                        tune_start, f_best, hold_start, hold_best, names, n_eval, float(fraction), int(salt))
