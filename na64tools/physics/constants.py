"""Physical constants used by the signal physics, in natural units (GeV, GeV^-2, pb).

Sources and choices
-------------------
- ``ALPHA``: the fine-structure constant at zero momentum transfer, CODATA value as carried by
  :mod:`scipy.constants` (``fine_structure``). DMG4 (``include/DarkMatter.hh``) uses the rounded
  ``alpha = 1/137``; for a fixed kinetic mixing eps the cross-section ``∝ eps^2 alpha^3`` is then
  0.08 % larger than ours, for a fixed coupling g (``∝ g^2 alpha^2``) 0.05 % larger.
- Lepton masses from the ``particle`` package (PDG data; MeV converted to GeV). DMG4 uses
  m_mu = 0.1056583745 GeV (PDG 2016); the PDG value carried by ``particle`` differs by 1e-8 relative.
- ``GEV2_TO_PB``: (hbar c)^2 in GeV^2 pb, from :mod:`hepunits` (``hbarc``): 1 GeV^-2 = 3.894e8 pb
  (docs/references.md).
- ``M_PLANCK``: Planck mass in GeV from :mod:`scipy.constants` (used by the relic estimate).

The WW-specific numbers (maximal emission angle, screening and nuclear-size coefficients) are
parameters of the photon-flux model, documented where they are defined (docs/references.md,
DMG4 ``src/DarkMatter/DarkZ.cc``).
"""

from __future__ import annotations

import hepunits
import scipy.constants as _sc
from hepunits.constants import hbarc as _hbarc
from particle import Particle

__all__ = [
    "ALPHA",
    "M_E",
    "M_MU",
    "M_TAU",
    "GEV2_TO_PB",
    "M_PLANCK",
    "THETA_MAX",
    "SCREENING_COEFF",
    "NUCLEAR_SIZE_COEFF",
]

#: fine-structure constant (CODATA, via scipy.constants)
ALPHA: float = float(_sc.fine_structure)


def _pdg_mass_gev(pdgid: int) -> float:
    """PDG mass of a particle in GeV from the ``particle`` package (which stores MeV)."""
    return float(Particle.from_pdgid(pdgid).mass) * hepunits.MeV / hepunits.GeV


#: electron mass [GeV] (PDG via ``particle``)
M_E: float = _pdg_mass_gev(11)
#: muon mass [GeV] (PDG via ``particle``)
M_MU: float = _pdg_mass_gev(13)
#: tau mass [GeV] (PDG via ``particle``)
M_TAU: float = _pdg_mass_gev(15)

#: conversion 1 GeV^-2 -> pb, i.e. (hbar c)^2 in GeV^2 pb (hepunits)
GEV2_TO_PB: float = float(_hbarc**2 / (hepunits.GeV**2 * hepunits.picobarn))

#: Planck mass [GeV] (CODATA via scipy.constants)
M_PLANCK: float = float(_sc.physical_constants["Planck mass energy equivalent in GeV"][0])

#: maximal polar angle of X in the WW integration [rad]; DMG4 ``DarkZ.cc`` ``ThetaMax = 0.3``
#: (the integrand is negligible there: the emission angle is ~ m/E).
THETA_MAX: float = 0.3

#: atomic-screening radius a = SCREENING_COEFF * Z^(-1/3) / m_e (Tsai's Thomas-Fermi estimate,
#: Tsai Rev. Mod. Phys. 46 (1974) 815, DMG4 ``DarkZ.cc``; docs/references.md)
SCREENING_COEFF: float = 111.0

#: nuclear-size scale t_d = NUCLEAR_SIZE_COEFF * A^(-2/3) GeV^2 (Tsai RMP 46 (1974) 815,
#: DMG4 ``DarkZ.cc``)
NUCLEAR_SIZE_COEFF: float = 0.164
