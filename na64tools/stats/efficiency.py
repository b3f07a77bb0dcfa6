"""Signal efficiency: measured on simulated samples, with its statistical error, interpolated in mass.

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

__all__ = ["Efficiency", "efficiency", "EfficiencyCurve"]


@dataclass(frozen=True)
class Efficiency:
    """A measured efficiency with its statistical error."""

    value: float
    error: float
    n_pass: int
    n_total: int

    def as_dict(self) -> dict[str, float]:
        return {"value": self.value, "error": self.error, "n_pass": self.n_pass, "n_total": self.n_total}


def efficiency(sumw_pass: float, sumw_total: float, sumw2_total: float | None = None, *,
               n_pass: int | None = None, n_total: int | None = None) -> Efficiency:
    """Weighted efficiency Σ_pass w / Σ_total w with its binomial error (Kish effective entries).

    Parameters
    ----------
    sumw_pass, sumw_total : sums of weights after the selection and before it (generated).
    sumw2_total : sum of squared weights before the selection (default: unit weights, = sumw_total).
    n_pass, n_total : raw event counts, stored for reference.
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
        """Statistical error interpolated like the efficiency."""
        m = np.atleast_1d(np.asarray(masses, dtype=float))
        self(m)  # range check
        out = (np.full(m.shape, self.errors[0]) if self.masses.size == 1
               else np.interp(np.log(m), np.log(self.masses), self.errors))
        return out if np.ndim(masses) else out[0]
