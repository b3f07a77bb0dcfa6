"""Physics processes of a muon in the active target: SM energy loss, dark bremsstrahlung, and the
hadronic final state of photonuclear interactions.

Rates and spectra come from :mod:`na64tools.physics` (imported when first needed):

- SM energy loss (bremsstrahlung, e+e- pair production, photonuclear interaction):
  :func:`na64tools.physics.eloss.total_cross_section` and
  :class:`~na64tools.physics.eloss.EnergyLossSampler` (Kelner-Kokoulin-Petrukhin formulas; GMS
  2001; Geant4 PRM "Muon interactions"). The interaction probability in the target of thickness
  ``L`` (``target.thickness``, nuclei per cm^3 ``n_A``) is ``1 - exp(-n_A L sigma)``; at most one
  interaction with ``v > V_MIN`` per muon is simulated (two occur with probability ~ 1e-4 and
  would only add visible energy).
- Signal ``mu N -> mu N X``: the model's sampler and invisible fraction from the model registry
  (:mod:`na64tools.models`; for the shipped models :func:`na64tools.physics.get_sampler`, the WW
  double-differential cross-section of docs/references.md, and
  :func:`~na64tools.physics.br_invisible`).
  Expected invisible signal events per MOT: ``n_A L sigma(x > x_min) BR(X -> invisible)``
  (thin-target limit, docs/references.md).

Energy losses below ``V_MIN`` (``v E < 0.32 GeV``) are not simulated one by one: their energy is
part of the MIP deposit (Landau) of the calorimeter model.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from ..config import Setup

__all__ = ["V_MIN", "SM_PROCESSES", "TargetModel", "eloss_sampler", "PhotonuclearModel",
           "signal_sampler", "signal_rate", "X_PDGID"]

#: smallest energy fraction v of a simulated SM interaction (generator setting, docs/simulation.md)
V_MIN = 2.0e-3

#: SM energy-loss processes and their Gen_process codes (na64tools.processes)
SM_PROCESSES: dict[str, int] = {"brems": 2, "pair": 3, "photonuclear": 4}

#: PDG id written for X in GenPart by the shipped models: 32 (Z'/A', "Z'0" of the PDG numbering
#: scheme) for the vector models, 9000006 (a generic new scalar) for the scalar. Kept for backward
#: compatibility: the generator writes ``Model.pdgid`` of the registry (:mod:`na64tools.models`)
X_PDGID: dict[str, int] = {"vector": 32, "dark_photon": 32, "scalar": 9000006}


@dataclass(frozen=True)
class TargetModel:
    """The active target (ECAL) as a slab of one material."""

    material: str
    thickness: float  #: cm
    radiation_lengths: float  #: X0
    preshower_depth: float  #: X0
    n_atoms: float  #: nuclei / cm^3
    lambda_int: float  #: cm

    @classmethod
    def from_setup(cls, setup: Setup) -> TargetModel:
        """The target of a setup description (its ``target`` section and the material's atom
        density and interaction length).

        Parameters
        ----------
        setup : Setup
            The setup description.

        Returns
        -------
        TargetModel
            The model.
        """
        from ..physics.materials import material

        t = setup.target
        mat = material(t.material)
        return cls(material=mat.name, thickness=float(t.thickness),
                   radiation_lengths=float(t.radiation_lengths),
                   preshower_depth=float(t.preshower_depth), n_atoms=mat.n_atoms,
                   lambda_int=mat.lambda_int)

    @property
    def x0_cm(self) -> float:
        """Length of one radiation length of the ECAL along the beam [cm]."""
        return self.thickness / self.radiation_lengths


@functools.lru_cache(maxsize=64)
def eloss_sampler(process: str, energy: float, material: str, v_min: float, v_max: float | None):
    """Cached :class:`na64tools.physics.eloss.EnergyLossSampler` (``.sigma`` in cm^2 per atom)."""
    from ..physics.eloss import EnergyLossSampler

    return EnergyLossSampler(process, energy, material, v_min=v_min, v_max=v_max)


@functools.lru_cache(maxsize=64)
def eloss_sigma(process: str, energy: float, material: str, v_min: float, v_max: float | None) -> float:
    """``sigma(v_min < v < v_max)`` [cm^2 per atom] (:func:`na64tools.physics.eloss.total_cross_section`)."""
    from ..physics.eloss import total_cross_section

    return float(total_cross_section(process, energy, material, v_min=v_min, v_max=v_max))




# ------------------------------------------------------------------------------------------
# photonuclear final state
# ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PhotonuclearModel:
    """Hadronic final state of a muon photonuclear interaction of energy transfer ``nu``.

    The virtual photon's energy ``nu`` goes to a *leading hadron* taking a fraction ``z`` with
    density ``(n+1)(1-z)^n`` (``target.pn_leading_power``; ``n = 0`` is the flat
    leading-particle spectrum in Feynman x) and a *soft hadronic system* with the rest. The
    leading hadron is a long-lived neutral (n, K_L) with probability
    ``target.pn_neutral_fraction``, otherwise charged (pi+). It crosses the rest of the ECAL
    without interacting with probability ``exp(-(L - z_int)/lambda_int)``; a neutral that leaves
    the ECAL misses the HCAL with probability ``hcal.gap`` and otherwise punches through its
    ``modules x depth`` interaction lengths with probability ``exp(-modules x depth)``: then it
    escapes, which is the non-hermeticity background (III).
    """

    leading_power: float
    neutral_fraction: float
    wide_fraction: float
    charged_per_gev: float
    hcal_gap: float
    hcal_depth: float  #: lambda_int per module
    hcal_modules: int

    @classmethod
    def from_setup(cls, setup: Setup) -> PhotonuclearModel:
        """The photonuclear model of a setup description (``target.pn_*`` and the ``hcal`` gap,
        depth and modules).

        Parameters
        ----------
        setup : Setup
            The setup description.

        Returns
        -------
        PhotonuclearModel
            The model.
        """
        t = setup.target
        return cls(leading_power=float(t.pn_leading_power),
                   neutral_fraction=float(t.pn_neutral_fraction),
                   wide_fraction=float(t.pn_wide_fraction),
                   charged_per_gev=float(t.pn_charged_per_gev),
                   hcal_gap=float(setup.hcal.gap), hcal_depth=float(setup.hcal.depth),
                   hcal_modules=int(round(float(setup.hcal.modules))))

    @property
    def escape_probability(self) -> float:
        """Probability that a forward neutral hadron leaving the ECAL is not absorbed in the HCAL."""
        return self.hcal_gap + (1.0 - self.hcal_gap) * np.exp(-self.hcal_depth * self.hcal_modules)

    def z_tail(self, z_min: float) -> float:
        """``P(z > z_min)``.

        Parameters
        ----------
        z_min : float
            Leading-hadron energy fraction, in [0, 1].

        Returns
        -------
        float
            The probability.
        """
        return (1.0 - z_min) ** (self.leading_power + 1.0)

    def draw_z(self, rng: np.random.Generator, n: int, z_min: float = 0.0,
               z_max: float = 1.0) -> np.ndarray:
        """Leading-hadron energy fractions, optionally conditioned on ``z_min < z < z_max``
        (inverse of the tail ``P(z > z0) = (1 - z0)^(n+1)``).

        Parameters
        ----------
        rng : numpy.random.Generator
            The random generator.
        n : int
            Number of draws.
        z_min, z_max : float
            The interval of z.

        Returns
        -------
        numpy.ndarray
            ``n`` values of z.
        """
        u = rng.random(n)
        a = self.z_tail(z_min)
        b = self.z_tail(z_max)
        return 1.0 - (b + u * (a - b)) ** (1.0 / (self.leading_power + 1.0))

    @staticmethod
    def survival(target: TargetModel) -> float:
        """Mean probability that a hadron produced uniformly along the target leaves it without
        interacting: ``(lambda/L)(1 - exp(-L/lambda))``.

        Parameters
        ----------
        target : TargetModel
            The target (thickness and λ_int [cm]).

        Returns
        -------
        float
            The probability.
        """
        r = target.thickness / target.lambda_int
        return float(-np.expm1(-r) / r)

    @staticmethod
    def draw_depth_surviving(rng: np.random.Generator, n: int, target: TargetModel) -> np.ndarray:
        """Interaction depths [cm] conditioned on the leading hadron leaving the target:
        density ``~ exp(-(L - z)/lambda)`` on [0, L].

        Parameters
        ----------
        rng : numpy.random.Generator
            The random generator.
        n : int
            Number of draws.
        target : TargetModel
            The target (thickness and λ_int [cm]).

        Returns
        -------
        numpy.ndarray
            ``n`` depths [cm].
        """
        L, lam = target.thickness, target.lambda_int
        u = rng.random(n)
        return L + lam * np.log(np.exp(-L / lam) + u * -np.expm1(-L / lam))

    def forced_probability(self, target: TargetModel, z_min: float, z_max: float = 1.0,
                           charge: str = "neutral") -> float:
        """Probability of the *escape configuration*: ``z_min < z < z_max``, a leading hadron of
        the given ``charge`` (``"neutral"``, ``"charged"`` or ``"any"``) that leaves the ECAL
        and is lost (misses or punches through the HCAL).

        Parameters
        ----------
        target : TargetModel
            The target (thickness and λ_int [cm]).
        z_min, z_max : float
            The interval of z.
        charge : {"neutral", "charged", "any"}
            The leading hadron's charge.

        Returns
        -------
        float
            The probability per photonuclear interaction.
        """
        frac = {"neutral": self.neutral_fraction, "charged": 1.0 - self.neutral_fraction, "any": 1.0}[charge]
        return ((self.z_tail(z_min) - self.z_tail(z_max)) * frac
                * self.survival(target) * self.escape_probability)


# ------------------------------------------------------------------------------------------
# signal
# ------------------------------------------------------------------------------------------
def signal_sampler(mass: float, model, energy: float, material: str, x_min: float):
    """The model's cached sampler (``.sigma`` [pb] at coupling 1, ``.sample(n, rng)``).

    Parameters
    ----------
    mass : float
        X mass [GeV].
    model : str or Model
        The X model: a name of the registry (:func:`na64tools.models.get_model`) or the model.
    energy : float
        Beam energy [GeV].
    material : str
        Target material.
    x_min : float
        Lower bound of x = E_X/E_0.

    Returns
    -------
    Sampler
        The sampler (:class:`na64tools.physics.XThetaSampler` for the shipped models).
    """
    from ..models import get_model

    return get_model(model).sampler(mass, energy, material, x_min)


def signal_rate(mass: float, coupling: float, model, energy: float, target: TargetModel,
                x_min: float) -> tuple[float, float, float]:
    """``(rate per MOT, sigma [pb], BR(invisible))`` of invisible signal events with ``x >
    x_min``.

    ``rate = n_A L sigma BR`` (docs/references.md, thin target); ``sigma`` at the coupling.

    Parameters
    ----------
    mass : float
        X mass [GeV].
    coupling : float
        The coupling (g, or ε for the dark photon).
    model : str or Model
        The X model: a name of the registry (:func:`na64tools.models.get_model`) or the model.
    energy : float
        Beam energy [GeV].
    target : TargetModel
        The target (atom density [cm⁻³], thickness [cm]).
    x_min : float
        Lower bound of x = E_X/E_0.

    Returns
    -------
    rate : float
        Invisible signal events per MOT.
    sigma : float
        σ(x > x_min) [pb] at the coupling.
    br : float
        BR(X → invisible).
    """
    from ..models import get_model

    spec = get_model(model)
    sampler = spec.sampler(mass, energy, target.material, x_min)
    sigma_pb = float(sampler.sigma_at(coupling))
    br = spec.branching(mass, coupling)
    rate = target.n_atoms * target.thickness * sigma_pb * 1e-36 * br
    return rate, sigma_pb, br
