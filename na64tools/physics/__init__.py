"""Physics of NA64mu: signal production, photon flux, widths, g-2, relic targets, materials.

Submodules (one concern each):

- :mod:`~na64tools.physics.constants`: alpha, lepton masses, unit conversion.
- :mod:`~na64tools.physics.flux`: WW effective photon flux chi (closed form + numerical check).
- :mod:`~na64tools.physics.cross_section`: mu N -> mu N X cross-sections (WW, IWW) and the
  (x, theta) sampler used by the simulation.
- :mod:`~na64tools.physics.widths`: decay widths and invisible branching fractions.
- :mod:`~na64tools.physics.gminus2`: one-loop (g-2)_mu contributions and reference values.
- :mod:`~na64tools.physics.alp`: the ALP coupled to muons (sampler, widths, invisible fraction).
- :mod:`~na64tools.physics.relic`: light-dark-matter y variable and thermal-relic target.
- :mod:`~na64tools.physics.materials`: target materials.
- :mod:`~na64tools.physics.eloss`: SM muon energy-loss cross-sections (brems, pair, photonuclear).
"""

from __future__ import annotations

from .constants import ALPHA, GEV2_TO_PB, M_E, M_MU, M_TAU
from .cross_section import (
    METHODS,
    MODELS,
    XThetaSampler,
    cross_section,
    dsigma_dx,
    dsigma_dx_dtheta,
    get_sampler,
    sample_x_theta,
    x_range,
)
from .eloss import (
    EnergyLossSampler,
    b_value,
    dsigma_dv,
    dsigma_dv_brems,
    dsigma_dv_pair,
    dsigma_dv_photonuclear,
    total_cross_section,
    v_dsigma_dv,
    v_limits,
)
from .flux import photon_flux, photon_flux_numeric
from .gminus2 import (
    G2_2021,
    G2_2025,
    GMinus2Reference,
    delta_amu,
    explains_anomaly,
    g2_band,
    g2_upper_bound,
)
from .materials import MATERIALS, material
from .relic import y_from_coupling, y_thermal
from .widths import (
    br_invisible,
    width_dark,
    width_scalar_mumu,
    width_zprime,
    widths_lmutau,
)

__all__ = [
    "ALPHA",
    "GEV2_TO_PB",
    "M_E",
    "M_MU",
    "M_TAU",
    "METHODS",
    "MODELS",
    "MATERIALS",
    "material",
    "XThetaSampler",
    "cross_section",
    "dsigma_dx",
    "dsigma_dx_dtheta",
    "get_sampler",
    "sample_x_theta",
    "x_range",
    "photon_flux",
    "photon_flux_numeric",
    "G2_2021",
    "G2_2025",
    "GMinus2Reference",
    "delta_amu",
    "explains_anomaly",
    "g2_band",
    "g2_upper_bound",
    "y_from_coupling",
    "y_thermal",
    "br_invisible",
    "width_dark",
    "width_scalar_mumu",
    "width_zprime",
    "widths_lmutau",
    "EnergyLossSampler",
    "b_value",
    "dsigma_dv",
    "dsigma_dv_brems",
    "dsigma_dv_pair",
    "dsigma_dv_photonuclear",
    "total_cross_section",
    "v_dsigma_dv",
    "v_limits",
]
