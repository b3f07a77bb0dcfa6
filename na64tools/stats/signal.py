"""Expected signal yield N_sig(m, g) for a setup, an efficiency and an exposure.

Thin-target limit, prompt invisible decay (Bjorken, Essig, Schuster, Toro PRD 80 (2009) 075018;
listed in docs/references.md):

    N_sig(m, g) = N_MOT · ε(m) · BR(X → inv; m, g) · n_A · L_T · σ(E_0; x > x_min; m, g)

with n_A the nuclei per cm³ of the target material, L_T its thickness (setup description), σ the
model's production cross-section (:meth:`na64tools.models.Model.sigma`; for the shipped models
the WW cross-section of :func:`na64tools.physics.cross_section`) in pb (1 pb = 1e-36 cm²) and
ε(m) the fraction of the produced X with x > x_min (the generated signal events, ``Runs.nGenerated``)
that pass the trigger, the acceptance and all cuts — the one definition of the signal efficiency
used everywhere (:mod:`na64tools.stats.efficiency`). x_min is the generation cut of the signal
samples (0 by default); the p_out cut is part of ε, never of σ.

The relative uncertainty of N_sig used by the limit (:func:`signal_uncertainty`) combines in
quadrature the setup's ``systematics`` (WW approximation, acceptance model) and the MOT
uncertainty ``run.mot_uncertainty / run.mot``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..config import Setup
from ..physics import material

__all__ = ["signal_yield", "yield_per_mot", "check_coupling_scaling", "signal_systematics",
           "signal_uncertainty", "PB_TO_CM2"]

#: 1 pb in cm²
PB_TO_CM2 = 1e-36


def yield_per_mot(masses, coupling: float, *, setup: Setup, model="vector",
                  x_min: float = 0.0, br_kwargs: dict | None = None) -> np.ndarray:
    """Signal events per muon on target before efficiency: BR · n_A · L_T · σ(x > x_min).

    ``n_A`` is the atom density of the target material [cm⁻³], ``L_T`` the target thickness [cm],
    σ the model's cross-section [pb] at the beam energy (:meth:`na64tools.models.Model.sigma`,
    :func:`~na64tools.physics.cross_section.cross_section` for the shipped models) and BR the
    model's invisible fraction.

    Parameters
    ----------
    masses : float or array_like
        X masses [GeV].
    coupling : float
        The coupling ``g`` (ε for ``dark_photon``), dimensionless.
    setup : Setup
        The setup description (beam energy [GeV], target material and thickness [cm]).
    model : str or Model
        A model of the registry (:mod:`na64tools.models`): ``vector``, ``dark_photon``,
        ``scalar`` or a registered one.
    x_min : float
        Lower bound of ``x = E_X/E_0`` in the cross-section.
    br_kwargs : dict, optional
        Extra keyword arguments of the model's ``br_invisible`` (shipped models:
        :func:`~na64tools.physics.widths.br_invisible`).

    Returns
    -------
    numpy.ndarray
        Signal events per MOT at each mass (before trigger and selection efficiencies).
    """
    m = np.atleast_1d(np.asarray(masses, dtype=float))
    mat = material(setup.target.material)
    per_pb = mat.n_atoms * float(setup.target.thickness) * PB_TO_CM2
    energy = float(setup.beam.energy)
    from ..models import get_model

    spec = get_model(model)
    sigma = np.array([spec.sigma(mi, coupling, energy, mat.name, x_min) for mi in m])
    kw = br_kwargs or {}

    def at(i: int) -> dict:  # a keyword given per mass (e.g. m_chi) is taken at that mass
        return {k: (np.asarray(v)[i] if np.ndim(v) and np.shape(v) == m.shape else v) for k, v in kw.items()}

    br = np.array([spec.branching(mi, coupling, **at(i)) for i, mi in enumerate(m)])
    return br * per_pb * sigma


def check_coupling_scaling(masses, coupling: float, *, setup: Setup, model="vector",
                           x_min: float = 0.0, rtol: float = 1e-6) -> None:
    """Check that the signal yield of ``model`` scales as the coupling squared, the assumption
    of every coupling limit na64tools prints (g_90 = g_ref √(s_up / N_sig(g_ref))).

    It holds when σ ∝ g² and the invisible fraction does not depend on g (all shipped models as
    registered). It fails for, e.g., a state that decays visibly inside the detector with a decay
    length ∝ 1/g² (the long-lived ALP mode): its limit needs N(g) = s_up solved with the model's
    own dependence (e.g. :func:`na64tools.physics.alp.long_lived_coupling_interval`).

    Parameters
    ----------
    masses : float or array_like
        X masses [GeV] to check (the simulated ones).
    coupling : float
        The reference coupling; the yield is compared at ``coupling`` and ``2 * coupling``.
    setup : Setup
        The setup description.
    model : str or Model
        A model of the registry.
    x_min : float
        Lower bound of ``x = E_X/E_0`` in the cross-section.
    rtol : float
        Relative tolerance on N(2g) / N(g) = 4.

    Raises
    ------
    ValueError
        The yield does not scale as g²: the message names the model, the mass and the ratio.
    """
    m = np.atleast_1d(np.asarray(masses, dtype=float))
    n1 = yield_per_mot(m, coupling, setup=setup, model=model, x_min=x_min)
    n2 = yield_per_mot(m, 2.0 * coupling, setup=setup, model=model, x_min=x_min)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = n2 / n1
    bad = np.flatnonzero((n1 > 0) & ~np.isclose(ratio, 4.0, rtol=rtol, atol=0.0))
    if bad.size:
        i = int(bad[0])
        name = getattr(model, "name", model)
        raise ValueError(f"model {name!r}: the signal yield does not scale as the coupling squared "
                         f"(N(2g)/N(g) = {ratio[i]:.6g} at m = {m[i]:g} GeV, g = {coupling:g}; "
                         "expected 4): a coupling limit g_ref * sqrt(s_up/N) would be wrong; use "
                         "the limit on signal events and solve N(g) = s_up with the model's own "
                         "coupling dependence (docs/models.md)")


def signal_yield(masses, coupling: float, *, setup: Setup, efficiency: Callable | float | np.ndarray,
                 mot: float | None = None, model="vector", x_min: float = 0.0,
                 br_kwargs: dict | None = None) -> np.ndarray:
    """N_sig at each mass for ``mot`` muons on target (default: the setup's run).

    ``efficiency`` is a callable of mass (e.g.
    :class:`~na64tools.stats.efficiency.EfficiencyCurve`),
    a number, or an array matching ``masses``.

    Parameters
    ----------
    masses : float or array_like
        X masses [GeV].
    coupling : float
        The coupling ``g`` (ε for ``dark_photon``), dimensionless.
    setup : Setup
        The setup description (beam energy [GeV], target material and thickness [cm]).
    efficiency : callable, float or array_like
        Signal efficiency in [0, 1]: a callable of the mass, a number or an array matching
        ``masses``.
    mot : float, optional
        Exposure [MOT] (default: the setup's run, ``run.mot``).
    model : str or Model
        A model of the registry (:mod:`na64tools.models`).
    x_min : float
        Lower bound of ``x = E_X/E_0`` in the cross-section.
    br_kwargs : dict, optional
        Extra keyword arguments of the model's ``br_invisible``.

    Returns
    -------
    numpy.ndarray
        Expected signal events at each mass: ``mot * efficiency * yield_per_mot``.

    Raises
    ------
    ValueError
        A non-positive coupling, a negative exposure or an efficiency outside [0, 1].
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


def signal_systematics(setup: Setup) -> dict[str, float]:
    """Relative uncertainties of the signal yield, by source, from the setup description.

    ``ww_approximation`` and ``acceptance_model`` are the setup's ``systematics`` section; ``mot``
    is ``run.mot_uncertainty / run.mot`` ((1.98 ± 0.02)e10 MOT, PRL 132 (2024) 211803).

    Parameters
    ----------
    setup : Setup
        The setup description.

    Returns
    -------
    dict of str to float
        ``{"ww_approximation": ..., "acceptance_model": ..., "mot": ...}``, relative.
    """
    mot = float(setup.run.mot)
    return {
        "ww_approximation": float(setup.systematics.ww_approximation),
        "acceptance_model": float(setup.systematics.acceptance_model),
        "mot": float(setup.run.mot_uncertainty) / mot,
    }


def signal_uncertainty(setup: Setup) -> float:
    """The relative uncertainty of N_sig for the limit: :func:`signal_systematics` in quadrature.

    The sources are independent (theory, detector model, beam counting), so their relative
    uncertainties add in quadrature; for the 2022 setup √(0.10² + 0.10² + 0.0101²) = 0.1418.

    Parameters
    ----------
    setup : Setup
        The setup description.

    Returns
    -------
    float
        The relative uncertainty of the signal yield.
    """
    return float(np.sqrt(sum(v * v for v in signal_systematics(setup).values())))
