"""The M2 beam as it arrives at the target: muons, hadrons decaying in flight, pile-up.

- Beam muons: momentum ``E0 (1 + spread N(0,1))``, Gaussian spot and divergence (setup ``beam``).
- Beam hadrons (pi+, K+) per beam muon: ``beam.pion_fraction``, ``beam.kaon_fraction``. A hadron
  that decays to ``mu nu`` between the last MS1 station and the target (``beam.decay_length``) is
  measured by MS1 with the hadron momentum and reaches the target as a muon of lower energy: the
  background (II). Decay probability ``1 - exp(-L m / (p c tau))`` (PDG masses and lifetimes from
  ``particle``); two-body kinematics, isotropic in the hadron rest frame.
  Branching fractions (PDG 2024 summary tables): ``K+ -> mu+ nu`` 63.56 %, ``pi+ -> mu+ nu``
  99.98770 %. Hadrons that do not decay shower in the ECAL and are not simulated (they fail the
  ECAL/HCAL cuts and are not muons on target).
- Pile-up: a Poisson number of extra beam muons with mean ``beam.intensity x beam.readout_window``
  (NA64μ setup, PRL 132 (2024) 211803 and Sieber et al. PRD 105 (2022) 052006; docs/references.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from particle import Particle

from ..config import Setup

__all__ = ["HADRONS", "Hadron", "BeamModel", "MUON_PDGID", "MUON_MASS"]

#: the M2 beam is positive: mu+ (PDG id -13)
MUON_PDGID = -13
#: muon mass [GeV] (PDG via ``particle``)
MUON_MASS = Particle.from_pdgid(13).mass / 1000.0


@dataclass(frozen=True)
class Hadron:
    """A beam hadron species decaying ``h+ -> mu+ nu_mu``."""

    name: str
    pdgid: int
    branching: float  #: BR(h+ -> mu+ nu), PDG 2024

    @property
    def mass(self) -> float:
        """Mass [GeV] (PDG via ``particle``)."""
        return Particle.from_pdgid(self.pdgid).mass / 1000.0

    @property
    def ctau(self) -> float:
        """c tau [cm] (PDG via ``particle``, which gives mm)."""
        return Particle.from_pdgid(self.pdgid).ctau / 10.0

    @property
    def p_star(self) -> float:
        """Muon momentum [GeV] in the hadron rest frame."""
        m = self.mass
        return (m * m - MUON_MASS**2) / (2.0 * m)

    def decay_probability(self, p: float | np.ndarray, length: float) -> float | np.ndarray:
        """Probability to decay within ``length`` [cm] at momentum ``p`` [GeV].

        Parameters
        ----------
        p : float or numpy.ndarray
            Hadron momentum [GeV].
        length : float
            Flight length [cm].

        Returns
        -------
        float or numpy.ndarray
            The probability.
        """
        return -np.expm1(-length * self.mass / (np.asarray(p) * self.ctau))

    def decay(self, p_h: np.ndarray, cos_star: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Muon ``(energy, transverse momentum)`` [GeV] in the lab for decays of hadrons of
        momentum ``p_h`` with muon emission angle ``cos_star`` in the rest frame (exact
        two-body boost).

        Parameters
        ----------
        p_h : numpy.ndarray
            Hadron momentum [GeV].
        cos_star : numpy.ndarray
            cos θ* of the muon in the hadron rest frame.

        Returns
        -------
        energy, pt : numpy.ndarray
            Muon energy and transverse momentum [GeV].
        """
        m = self.mass
        e_h = np.sqrt(p_h * p_h + m * m)
        gamma, gb = e_h / m, p_h / m
        ps = self.p_star
        es = np.sqrt(ps * ps + MUON_MASS**2)
        e_mu = gamma * es + gb * ps * cos_star
        pt = ps * np.sqrt(np.maximum(1.0 - cos_star * cos_star, 0.0))
        return e_mu, pt


#: beam hadrons that give a muon by decaying in flight
HADRONS: dict[str, Hadron] = {
    "k": Hadron("K+", 321, 0.6356),
    "pi": Hadron("pi+", 211, 0.9998770),
}


@dataclass(frozen=True)
class BeamModel:
    """Numbers of the ``beam`` section as plain floats."""

    energy: float
    spread: float
    spot: float
    divergence: float
    decay_length: float
    fractions: dict
    pileup_mean: float

    @classmethod
    def from_setup(cls, setup: Setup) -> BeamModel:
        """The beam of a setup description (its ``beam`` section; the pile-up mean is the
        intensity [1/s] times the readout window [ns]).

        Parameters
        ----------
        setup : Setup
            The setup description.

        Returns
        -------
        BeamModel
            The model.
        """
        b = setup.beam
        return cls(
            energy=float(b.energy), spread=float(b.energy_spread), spot=float(b.spot_sigma),
            divergence=float(b.divergence), decay_length=float(b.decay_length),
            fractions={"k": float(b.kaon_fraction), "pi": float(b.pion_fraction)},
            pileup_mean=float(b.intensity) * float(b.readout_window) * 1e-9,
        )

    def draw_momentum(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Beam momenta [GeV].

        Parameters
        ----------
        rng : numpy.random.Generator
            The random generator.
        n : int
            Number of particles.

        Returns
        -------
        numpy.ndarray
            ``n`` momenta [GeV] (Gaussian spread).
        """
        return self.energy * (1.0 + self.spread * rng.standard_normal(n))

    def decay_rate(self, key: str) -> float:
        """Muons on target from decays of hadron ``key`` per beam particle: fraction x P(decay) x
        BR.

        Parameters
        ----------
        key : {"k", "pi"}
            The hadron.

        Returns
        -------
        float
            Muons per beam particle.
        """
        h = HADRONS[key]
        return self.fractions[key] * float(h.decay_probability(self.energy, self.decay_length)) * h.branching

    def draw_decay_position(self, rng: np.random.Generator, key: str, p_h: np.ndarray) -> np.ndarray:
        """Distance [cm] from the decay point to the target, given a decay inside the region
        (truncated exponential of the decay length).

        Parameters
        ----------
        rng : numpy.random.Generator
            The random generator.
        key : {"k", "pi"}
            The hadron.
        p_h : numpy.ndarray
            Hadron momentum [GeV].

        Returns
        -------
        numpy.ndarray
            Distance [cm], per hadron.
        """
        h = HADRONS[key]
        lam = p_h * h.ctau / h.mass
        # decay distance from the MS1 end: d in [0, L] with density ~ exp(-d/lam)
        u = rng.random(p_h.size)
        d = -lam * np.log1p(-u * -np.expm1(-self.decay_length / lam))
        return self.decay_length - d
