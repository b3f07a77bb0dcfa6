"""Signal efficiency: measured on simulated samples, with its statistical error, interpolated in mass.

One definition, used by the API, the demo, the report, the plots and the exports:

    N_sig = N_MOT · n_A L_T · σ(x > x_min) · BR(X → inv) · ε

ε is the fraction of the produced X with x = E_X/E_0 > x_min (the generated events of a signal
sample, ``Runs.nGenerated``) that pass the trigger, the acceptance and every cut. It factorises
exactly (:class:`EfficiencyFactors`) as ε = ε_trigger · c_set · ε_acceptance · ε_selection:

- c_set = ``signal.efficiency_correction``, the probability that a triggered signal event is kept,
  **set, not measured**: the simulation applies it as an independent Bernoulli draw after the
  trigger (docs/simulation.md §1b), so it is shown on its own and not inside ε_trigger;
- ε_trigger = triggered and kept (written, ``Runs.nWritten``) / (c_set · produced with
  x > x_min): the geometric trigger (both counters), the plateau efficiency and the random veto,
  an unbiased estimate since the c_set draw is independent of everything else;
- ε_acceptance = fraction of the triggered events passing the cutflow stages
  :data:`ACCEPTANCE_STAGES` (a well-measured incoming muon and exactly one reconstructed
  scattered muon: the geometric acceptance of MS2 shows up here);
- ε_selection = fraction of those passing the remaining cuts :data:`SELECTION_STAGES`.

The efficiency of a signal sample is the weighted fraction of generated events that pass the
selection, ε = Σ_pass w / Σ_gen w. Simulated signal events carry equal weights within a sample, so
ε is a binomial proportion; its statistical error is the binomial one computed with the effective
number of entries N_eff = (Σw)²/Σw² (Kish), which reduces to √(ε(1−ε)/N) for unit weights
(Particle Data Group, "Statistics", weighted events). For ε = 0 or 1 the Wilson score interval is
used instead of the (vanishing) normal approximation (E. B. Wilson, JASA 22 (1927) 209).

Between simulated masses the efficiency is interpolated linearly in log(mass); outside the simulated
range it is an error, never an extrapolation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Efficiency", "efficiency", "EfficiencyCurve", "EfficiencyFactors", "ACCEPTANCE_STAGES",
           "SELECTION_STAGES", "ACCEPTANCE_CUTS", "CORRECTION_LABEL"]

#: how the set-by-hand factor c_set is labelled wherever it is shown
CORRECTION_LABEL = "set, not measured"
#: cutflow stages of the acceptance factor (after the trigger): incoming muon, one scattered track
ACCEPTANCE_STAGES: tuple[str, ...] = ("beam", "n_tracks", "track_quality")
#: cutflow stages of the selection factor
SELECTION_STAGES: tuple[str, ...] = ("p_out", "ecal", "hcal", "veto", "vhcal")
#: the :class:`~na64tools.config.Cuts` fields the acceptance stages use
ACCEPTANCE_CUTS: tuple[str, ...] = ("p_in_min", "p_in_max", "beam_chi2_max", "n_tracks_max",
                                    "track_chi2_max", "track_hits_min")


@dataclass(frozen=True)
class Efficiency:
    """A measured efficiency with its statistical error."""

    value: float
    error: float
    n_pass: int
    n_total: int

    def as_dict(self) -> dict[str, float]:
        """The efficiency as a JSON-serialisable dict.

        Returns
        -------
        dict
            ``value``, ``error``, ``n_pass``, ``n_total``.
        """
        return {"value": self.value, "error": self.error, "n_pass": self.n_pass, "n_total": self.n_total}


def efficiency(sumw_pass: float, sumw_total: float, sumw2_total: float | None = None, *,
               n_pass: int | None = None, n_total: int | None = None) -> Efficiency:
    """Weighted efficiency Σ_pass w / Σ_total w with its binomial error (Kish effective entries).

    The error is the binomial ``sqrt(ε(1-ε)/n_eff)`` with ``n_eff = (Σw)²/Σw²``; at ε = 0 or 1,
    the distance to the centre of the 1σ Wilson score interval plus its half-width.

    Parameters
    ----------
    sumw_pass, sumw_total : float
        Sums of weights after the selection and before it (generated).
    sumw2_total : float, optional
        Sum of squared weights before the selection (default: unit weights, = ``sumw_total``).
    n_pass, n_total : int, optional
        Raw event counts, stored for reference (default: derived from ε and ``n_eff``).

    Returns
    -------
    Efficiency
        Value, error and counts.

    Raises
    ------
    ValueError
        Negative or non-finite sums, no generated events, or ``sumw_pass > sumw_total``.
    """
    for name, v in (("sumw_pass", sumw_pass), ("sumw_total", sumw_total)):
        if not np.isfinite(v) or v < 0:
            raise ValueError(f"{name}={v!r}: expected a finite, non-negative sum of weights")
    if sumw_total <= 0:
        raise ValueError(f"sumw_total={sumw_total!r}: no generated events, the efficiency is undefined")
    if sumw_pass > sumw_total * (1 + 1e-12):
        raise ValueError(f"sumw_pass={sumw_pass!r} exceeds sumw_total={sumw_total!r}")
    sumw2 = sumw_total if sumw2_total is None else float(sumw2_total)
    if not np.isfinite(sumw2) or sumw2 <= 0:
        raise ValueError(f"sumw2_total={sumw2_total!r}: expected a positive sum of squared weights")
    eps = min(float(sumw_pass) / float(sumw_total), 1.0)
    n_eff = float(sumw_total) ** 2 / sumw2
    if 0.0 < eps < 1.0:
        err = float(np.sqrt(eps * (1.0 - eps) / n_eff))
    else:  # Wilson score half-width at 1 sigma
        z = 1.0
        centre = (eps + z * z / (2 * n_eff)) / (1 + z * z / n_eff)
        half = z * np.sqrt(eps * (1 - eps) / n_eff + z * z / (4 * n_eff * n_eff)) / (1 + z * z / n_eff)
        err = float(abs(centre - eps) + half)
    return Efficiency(eps, err, int(n_pass if n_pass is not None else round(eps * n_eff)),
                      int(n_total if n_total is not None else round(n_eff)))


@dataclass(frozen=True)
class EfficiencyCurve:
    """Efficiencies at simulated masses, interpolated linearly in log(mass)."""

    masses: np.ndarray  #: GeV, increasing
    values: np.ndarray
    errors: np.ndarray

    def __post_init__(self):
        m = np.asarray(self.masses, dtype=float)
        if m.ndim != 1 or m.size == 0:
            raise ValueError("EfficiencyCurve needs at least one simulated mass")
        if np.any(m <= 0) or np.any(np.diff(m) <= 0):
            raise ValueError(f"simulated masses {m.tolist()} must be positive and strictly increasing")
        object.__setattr__(self, "masses", m)
        object.__setattr__(self, "values", np.asarray(self.values, dtype=float))
        object.__setattr__(self, "errors", np.asarray(self.errors, dtype=float))

    @classmethod
    def from_points(cls, points: dict[float, Efficiency]) -> EfficiencyCurve:
        """The curve through efficiencies at simulated masses.

        Parameters
        ----------
        points : dict of float to Efficiency
            ``{mass [GeV]: Efficiency}``.

        Returns
        -------
        EfficiencyCurve
            Masses sorted increasing, with their values and errors.
        """
        masses = sorted(points)
        return cls(np.array(masses), np.array([points[m].value for m in masses]),
                   np.array([points[m].error for m in masses]))

    def __call__(self, masses) -> np.ndarray:
        """Efficiency at ``masses`` (GeV); a mass outside the simulated range raises ``ValueError``."""
        m = np.atleast_1d(np.asarray(masses, dtype=float))
        lo, hi = self.masses[0], self.masses[-1]
        bad = m[(m < lo * (1 - 1e-9)) | (m > hi * (1 + 1e-9)) | ~np.isfinite(m)]
        if bad.size:
            raise ValueError(f"mass {bad[0]!r} GeV is outside the simulated range [{lo:g}, {hi:g}] GeV; "
                             "simulate a signal sample there instead of extrapolating")
        if self.masses.size == 1:
            out = np.full(m.shape, self.values[0])
        else:
            out = np.interp(np.log(m), np.log(self.masses), self.values)
        return out if np.ndim(masses) else out[0]

    def error(self, masses) -> np.ndarray:
        """Statistical error interpolated like the efficiency.

        Parameters
        ----------
        masses : float or array_like
            Masses [GeV] inside the simulated range.

        Returns
        -------
        float or numpy.ndarray
            The statistical error at each mass (a float for a scalar mass).
        """
        m = np.atleast_1d(np.asarray(masses, dtype=float))
        self(m)  # range check
        out = (np.full(m.shape, self.errors[0]) if self.masses.size == 1
               else np.interp(np.log(m), np.log(self.masses), self.errors))
        return out if np.ndim(masses) else out[0]


def _ratio(num: int, den: int) -> float:
    return num / den if den > 0 else 0.0


@dataclass(frozen=True)
class EfficiencyFactors:
    """The signal efficiency of one sample split into trigger, the set correction, acceptance and
    selection.

    Counts of one signal sample (its events share one weight):

    - ``n_produced``: X produced with x > x_min (``Runs.nGenerated``);
    - ``n_triggered``: triggered and kept by the correction, i.e. written (``Runs.nWritten``);
    - ``n_accepted``: written and passing :data:`ACCEPTANCE_STAGES`;
    - ``n_selected``: passing every cut;

    and ``correction`` = c_set, the ``signal.efficiency_correction`` the sample was simulated with
    (1: none). ``trigger = n_triggered / (correction · n_produced)``, the other factors are ratios
    of consecutive counts (0 when the denominator is 0, where the next count is 0 as well), so
    ``trigger * correction * acceptance * selection == total == n_selected / n_produced`` as
    rational numbers (tested).
    """

    n_produced: int
    n_triggered: int
    n_accepted: int
    n_selected: int
    correction: float = 1.0  #: c_set = signal.efficiency_correction: set, not measured

    def __post_init__(self):
        counts = (self.n_produced, self.n_triggered, self.n_accepted, self.n_selected)
        if min(counts) < 0 or any(b > a for a, b in zip(counts, counts[1:], strict=False)):
            raise ValueError(f"efficiency counts produced >= triggered >= accepted >= selected >= 0 "
                             f"expected, got {counts}")
        c = float(self.correction)
        if not (np.isfinite(c) and 0.0 < c <= 1.0):
            raise ValueError(f"correction={self.correction!r}: expected signal.efficiency_correction "
                             "in (0, 1]")

    @property
    def trigger(self) -> float:
        """ε_trigger: written / (c_set · produced); the geometric trigger, its plateau
        efficiency and the random veto."""
        return _ratio(self.n_triggered, self.n_produced) / float(self.correction)

    @property
    def acceptance(self) -> float:
        return _ratio(self.n_accepted, self.n_triggered)

    @property
    def selection(self) -> float:
        return _ratio(self.n_selected, self.n_accepted)

    @property
    def total(self) -> float:
        return _ratio(self.n_selected, self.n_produced)

    def as_dict(self) -> dict[str, float | int]:
        """The factors as a JSON-serialisable dict.

        Returns
        -------
        dict
            ``trigger``, ``correction`` (and ``correction_status``), ``acceptance``, ``selection``,
            ``total`` and the event counts ``n_produced``, ``n_triggered``, ``n_accepted``,
            ``n_selected``.
        """
        return {"trigger": self.trigger, "correction": float(self.correction),
                "correction_status": CORRECTION_LABEL, "acceptance": self.acceptance,
                "selection": self.selection, "total": self.total, "n_produced": self.n_produced, "n_triggered": self.n_triggered,
                "n_accepted": self.n_accepted, "n_selected": self.n_selected}
