"""Expected signal yield N_sig(m, g) for a setup, an efficiency and an exposure.

Thin-target limit, prompt invisible decay (Bjorken, Essig, Schuster, Toro PRD 80 (2009) 075018;
listed in docs/references.md):

    N_sig(m, g) = N_MOT · ε(m) · BR(X → inv; m, g) · n_A · L_T · σ(E_0; x > x_min; m, g)

with n_A the nuclei per cm³ of the target material, L_T its thickness (setup description), σ the
WW production cross-section of :func:`na64tools.physics.cross_section` in pb (1 pb = 1e-36 cm²) and
ε(m) the selection efficiency measured on signal samples generated with x > x_min (so that ε
includes the p_out cut; see :mod:`na64tools.stats.efficiency`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..config import Setup
from ..physics import br_invisible, cross_section, material

__all__ = ["signal_yield", "yield_per_mot", "PB_TO_CM2"]

#: 1 pb in cm²
PB_TO_CM2 = 1e-36


def yield_per_mot(masses, coupling: float, *, setup: Setup, model: str = "vector",
                  x_min: float = 0.0, br_kwargs: dict | None = None) -> np.ndarray:
    """Signal events per muon on target before efficiency: BR · n_A · L_T · σ(x > x_min)."""
    m = np.atleast_1d(np.asarray(masses, dtype=float))
    mat = material(setup.target.material)
    per_pb = mat.n_atoms * float(setup.target.thickness) * PB_TO_CM2
    energy = float(setup.beam.energy)
    sigma = np.array([cross_section(mi, coupling, model=model, energy=energy, target=mat.name,
                                    x_min=x_min) for mi in m])
    br = np.asarray(br_invisible(m, coupling, model, **(br_kwargs or {})), dtype=float)
    return br * per_pb * sigma


def signal_yield(masses, coupling: float, *, setup: Setup, efficiency: Callable | float | np.ndarray,
                 mot: float | None = None, model: str = "vector", x_min: float = 0.0,
                 br_kwargs: dict | None = None) -> np.ndarray:
    """N_sig at each mass for ``mot`` muons on target (default: the setup's run).

    ``efficiency`` is a callable of mass (e.g. :class:`~na64tools.stats.efficiency.EfficiencyCurve`),
    a number, or an array matching ``masses``.
    """
    if not np.isfinite(coupling) or coupling <= 0:
        raise ValueError(f"coupling={coupling!r}: expected a positive number")
    m = np.atleast_1d(np.asarray(masses, dtype=float))
    mot = float(setup.run.mot) if mot is None else float(mot)
    if not np.isfinite(mot) or mot < 0:
        raise ValueError(f"mot={mot!r}: expected a non-negative number of muons on target")
    eff = efficiency(m) if callable(efficiency) else np.broadcast_to(np.asarray(efficiency, dtype=float), m.shape)
    eff = np.asarray(eff, dtype=float)
    if np.any(~np.isfinite(eff)) or np.any((eff < 0) | (eff > 1)):
        raise ValueError(f"efficiency {eff.tolist()} must lie in [0, 1]")
    return mot * eff * yield_per_mot(m, coupling, setup=setup, model=model, x_min=x_min, br_kwargs=br_kwargs)
