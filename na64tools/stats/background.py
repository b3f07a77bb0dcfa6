"""Expected background by source, from weighted simulated background samples.

Each simulated background event carries ``genWeight`` in MOT units: the number of real muons on
target it stands for (importance sampling; the weights of a sample sum to the MOT it represents,
``Runs.mot``). The expected number of background events of a source for an exposure N_MOT is

    n_b(source) = (N_MOT / MOT_sample) · Σ_{i passes, i ∈ source} w_i

The statistical error is √Σ w_i² scaled alike. Sums are exact (correctly rounded, ``math.fsum``),
so they do not depend on the order of the events. A source with no selected event gets the 90 % CL
upper bound 2.30 · w_max · N_MOT/MOT_sample (Poisson, zero observed; docs/references.md), with w_max the
largest weight of that source in the sample.

The estimate rests on n_eff = (Σ_pass w)² / Σ_pass w² effective events (Kish; the number of
unit-weight events with the same relative statistical error, stat/value = 1/√n_eff). It equals
(value/stat)², whatever the exposure scale. An estimate with n_eff < :data:`LOW_N_EFF` is flagged
(``low_statistics``): its statistical error is itself poorly known.

The systematic uncertainty per source is a documented relative number (:data:`SYSTEMATICS`),
an assumption standing for the calibration of the simulation to the published table.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from ..processes import SOURCES

__all__ = ["BackgroundEstimate", "EstimatedBackground", "SYSTEMATICS", "background_by_source", "total_background", "ZERO_EVENT_UPPER",
           "LOW_N_EFF", "n_effective"]

#: an estimate resting on fewer effective events is flagged as statistically weak (assumption:
#: below ~10 effective events the relative error 1/√n_eff > 30 % is itself uncertain)
LOW_N_EFF = 10.0


def n_effective(weights) -> float:
    """Kish effective number of events (Σw)²/Σw² of a weight array (0 for no event).

    Parameters
    ----------
    weights : array_like of float
        The event weights.

    Returns
    -------
    float
        The effective number of events.
    """
    w = np.asarray(weights, dtype=float)
    sw2 = float(np.dot(w, w))
    return float(w.sum()) ** 2 / sw2 if sw2 > 0 else 0.0

#: relative systematic uncertainty per source (assumption: the calibration uncertainty of the
#: simulation, set to the relative uncertainty of the published table where it quotes one —
#: 0.03/0.05 for misreconstruction, 0.001/0.010 for decays in flight — and 100 % otherwise)
SYSTEMATICS: dict[str, float] = {
    "misreconstruction": 0.6,
    "decays_in_flight": 0.1,
    "non_hermeticity": 1.0,
    "other": 1.0,
}

#: Poisson 90 % CL upper limit on a mean with zero observed events, -ln(0.1)
ZERO_EVENT_UPPER = float(-np.log(0.1))


@dataclass(frozen=True)
class BackgroundEstimate:
    """Expected background events of one source for an exposure."""

    source: str
    value: float
    stat: float
    syst: float
    n_events: int  #: simulated events behind the estimate
    upper: float | None = None  #: 90 % CL upper bound when no simulated event passed

    @property
    def error(self) -> float:
        """Statistical and systematic errors added in quadrature."""
        return float(np.hypot(self.stat, self.syst))

    @property
    def n_eff(self) -> float:
        """Effective number of simulated events (Σw)²/Σw² = (value/stat)², 0 without events."""
        return float((self.value / self.stat) ** 2) if self.stat > 0 else 0.0

    @property
    def low_statistics(self) -> bool:
        """The estimate rests on fewer than :data:`LOW_N_EFF` effective events."""
        return self.n_eff < LOW_N_EFF

    def as_dict(self) -> dict[str, float | int | None]:
        """The estimate as a JSON-serialisable dict.

        Returns
        -------
        dict
            ``source``, ``value``, ``stat``, ``syst``, ``error`` (events), ``n_events``, ``n_eff``,
            ``low_statistics`` and ``upper`` (``None`` unless no simulated event passed).
        """
        return {"source": self.source, "value": self.value, "stat": self.stat, "syst": self.syst,
                "error": self.error, "n_events": self.n_events, "n_eff": self.n_eff,
                "low_statistics": self.low_statistics, "upper": self.upper}


@dataclass(frozen=True)
class EstimatedBackground(BackgroundEstimate):
    """A labelled background estimate that does not come from simulated events (e.g. the
    analytic lfv_e background, :func:`na64tools.physics.lfv.lfv_e_background_estimate`): its
    error is the documented uncertainty (``syst``), it rests on no simulated event and is never
    flagged as low-statistics; ``label`` says what it is, in every output."""

    label: str = ""

    @property
    def low_statistics(self) -> bool:
        """Never: the estimate is not a sum of simulated weights."""
        return False

    def as_dict(self) -> dict[str, float | int | str | None]:
        """:meth:`BackgroundEstimate.as_dict` with ``estimate``: the label.

        Returns
        -------
        dict
            The estimate as a JSON-serialisable dict.
        """
        return {**super().as_dict(), "estimate": self.label}


def background_by_source(yields, sources, passed, *, mot_sample: float, mot: float,
                         systematics: Mapping[str, float] | None = None) -> dict[str, BackgroundEstimate]:
    """Expected background per published source for an exposure of ``mot`` muons on target.

    Parameters
    ----------
    yields : array_like of float
        Per-event ``genWeight`` (MOT units): expected events of this kind in ``mot_sample`` MOT.
    sources : array_like of str
        Per-event source name (:data:`na64tools.processes.SOURCES`).
    passed : array_like of bool
        Per event: the event passes the selection.
    mot_sample : float
        MOT the sample stands for (sum over its files' ``Runs.mot``).
    mot : float
        Exposure to scale to [MOT].
    systematics : mapping of str to float, optional
        Relative systematic uncertainty of each source (default :data:`SYSTEMATICS`).

    Returns
    -------
    dict of str to BackgroundEstimate
        For every source of :data:`~na64tools.processes.SOURCES`: the sum of the passing yields
        times ``mot / mot_sample`` [events], its statistical error (root of the sum of squared
        weights, scaled), the systematic ``relative * value``, the number of passing simulated
        events, and when none passed an upper estimate :data:`ZERO_EVENT_UPPER` × the largest
        weight of the source (scaled).

    Raises
    ------
    ValueError
        Arrays of different lengths, negative or non-finite yields, a non-positive
        ``mot_sample``, a negative ``mot``, an unknown source or a negative systematic.
    """
    y = np.asarray(yields, dtype=float)
    s = np.asarray(sources)
    p = np.asarray(passed, dtype=bool)
    if not (y.shape == s.shape == p.shape):
        raise ValueError(f"yields, sources and passed must have the same length, got {y.shape}, {s.shape}, {p.shape}")
    if y.size and (not np.all(np.isfinite(y)) or np.any(y < 0)):
        bad = y[~np.isfinite(y) | (y < 0)][0]
        raise ValueError(f"per-event yield {bad!r}: expected finite and non-negative")
    if not np.isfinite(mot_sample) or mot_sample <= 0:
        raise ValueError(f"mot_sample={mot_sample!r}: expected a positive number of muons on target")
    if not np.isfinite(mot) or mot < 0:
        raise ValueError(f"mot={mot!r}: expected a non-negative number of muons on target")
    unknown = set(np.unique(s).tolist()) - set(SOURCES)
    if unknown:
        raise ValueError(f"unknown background source {sorted(unknown)[0]!r} (expected one of {SOURCES})")
    syst = dict(SYSTEMATICS if systematics is None else systematics)
    scale = mot / mot_sample
    out = {}
    for source in SOURCES:
        mine = s == source
        sel = mine & p
        # exact sums (math.fsum, correctly rounded): the same numbers whatever the order
        value = math.fsum(y[sel]) * scale
        stat = float(np.sqrt(math.fsum(np.square(y[sel])))) * scale
        upper = None
        if not sel.any() and mine.any():
            upper = ZERO_EVENT_UPPER * float(y[mine].max()) * scale
        rel = syst.get(source)
        if rel is None or rel < 0:
            raise ValueError(f"systematic for source {source!r} is {rel!r}: expected a non-negative relative number")
        out[source] = BackgroundEstimate(source, value, stat, rel * value, int(sel.sum()), upper)
    return out


def total_background(estimates: Mapping[str, BackgroundEstimate]) -> BackgroundEstimate:
    """Sum of the sources; statistical errors in quadrature, systematics added linearly
    (conservative).

    Parameters
    ----------
    estimates : mapping of str to BackgroundEstimate
        The estimates by source (:func:`background_by_source`).

    Returns
    -------
    BackgroundEstimate
        Source ``"total"``: the summed value and events, the combined errors.
    """
    value = sum(e.value for e in estimates.values())
    stat = float(np.sqrt(sum(e.stat ** 2 for e in estimates.values())))
    syst = sum(e.syst for e in estimates.values())
    n = sum(e.n_events for e in estimates.values())
    return BackgroundEstimate("total", float(value), stat, float(syst), n)
