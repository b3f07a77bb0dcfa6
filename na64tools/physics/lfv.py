r"""Lepton-flavour-violating conversion in flight: :math:`\mu N \to \tau X` and :math:`\mu N \to e X`.

Models ``lfv_tau`` (the missing-momentum signature: :math:`\tau \to \mu\nu\bar\nu`) and ``lfv_e``
(an electron shower in the ECAL and no outgoing muon). The missing-energy search for
:math:`\mu \to \tau` conversion on nucleons with a high-energy muon beam was proposed by Gninenko,
Kirsanov, Krasnikov, Matveev, "Probing lepton flavour violation in :math:`\nu_\mu N \to \tau X`
scattering and :math:`\mu \to \tau` conversion on nucleons", Mod. Phys. Lett. A 17 (2002) 1407,
hep-ph/0106302; the deep-inelastic :math:`e(\mu) \to \tau` conversion at NA64 with a set of
four-fermion operators by Gninenko, Kovalenko, Kuleshov, Lyubovitskij, Zhevlakov, PRD 98 (2018)
015007, arXiv:1804.05550; :math:`\mu N \to \tau X` at muon beams by Sher & Turan, PRD 69 (2004)
017302, hep-ph/0309183, and Kanemura, Kuno, Kuze, Ota, PLB 607 (2005) 165, hep-ph/0410044.
The formulas below are derived here for ONE operator per channel (the papers' bodies, which
quote numbers for their own operator bases, were not available to this module's author; no
number of theirs is used).

Interaction (one operator per channel; assumption: equal coupling to u and d, none to s, c, b)
----------------------------------------------------------------------------------------------
.. math::

    \mathcal{L} = \frac{G_{\mu\ell}}{\sqrt 2}\,
        [\bar\ell\,\gamma^\alpha(1-\gamma_5)\,\mu]\sum_{q=u,d}[\bar q\,\gamma_\alpha(1-\gamma_5)\,q]
        + \mathrm{h.c.},\qquad \ell = \tau\ (\texttt{lfv\_tau}),\ e\ (\texttt{lfv\_e}),

with the coupling :math:`G_{\mu\ell}` in GeV⁻² (the ``coupling`` argument everywhere; all
cross-sections are ∝ G² exactly). It is the charged-current (V−A)×(V−A) structure with G_F → G
and flavour-diagonal quarks; the scale convention :math:`\mathcal{L} = O/\Lambda^2` gives
:math:`\Lambda = (\sqrt2/G)^{1/2}` (:func:`scale_from_coupling`).

1. Deep-inelastic scattering on nucleons (leading order, massless partons)
--------------------------------------------------------------------------
With :math:`s' = 2 M E_0` (M the nucleon mass, the muon mass neglected), the parton momentum
fraction x, :math:`\hat s = x s'`, :math:`r = m_\ell^2/\hat s` and :math:`y = 1 - E_\ell/E_0`
(the energy transfer to the hadrons, ν = y E_0), the sub-process amplitudes of the V−A contact
interaction give (derived here from
:math:`|M|^2 \propto (k\cdot p)(k'\cdot p')` for a quark and :math:`(k\cdot p')(k'\cdot p)` for an
antiquark, with :math:`\hat t = -\hat s y`, :math:`\hat u = m_\ell^2 - \hat s(1-y)`):

.. math::

    \frac{d^2\sigma}{dx\,dy} = \frac{1 \mp h}{2}\,\frac{G^2 s'}{\pi}\Big[x q(x)\,(1-r)
        + x\bar q(x)\,(1-y)(1-y-r)\Big],\qquad 0 \le y \le 1-r,\ x \ge m_\ell^2/s',

for a μ⁻ beam (τ⁻); for a μ⁺ beam (τ⁺, the NA64μ M2 beam) quark and antiquark are exchanged.
Beam polarisation: only the muons of the coupling chirality take part, a fraction (1 ∓ h)/2 for
μ∓ of helicity h (1/2 unpolarised: ``beam_helicity=0``, the default *assumption*). The M2 μ⁺ beam
is "naturally polarised" (COMPASS, e.g. Bressan, hep-ex/0501040) with a negative helicity (μ⁺ from
π⁺ → μ⁺ν decays): every rate of this module then scales with (1 + h), i.e. DOWN for h < 0; the
value of h is not in the setup description and is left to the user (``beam_helicity``).
Integrated over y: quark :math:`(1-r)^2`, antiquark :math:`(1-r)^2(2+r)/6`
(→ 1 and 1/3 for r → 0: the textbook ν / ν̄ DIS y-distributions, flat and :math:`(1-y)^2`).

Parton densities: per isoscalar nucleon (Pb has N/Z = 1.5; the difference is neglected, as are
nuclear effects: σ per nucleus = A × σ per nucleon) the quark and antiquark momentum integrals
:math:`P_q = \int x(u+d)\,dx`, :math:`P_{\bar q} = \int x(\bar u + \bar d)\,dx` are taken from the
measured high-energy neutrino charged-current cross-sections, which have the same (V−A)×(V−A)
structure: :math:`\sigma_{\nu}/E = (2G_F^2M/\pi)(Q + \bar Q/3)`,
:math:`\sigma_{\bar\nu}/E = (2G_F^2M/\pi)(Q/3 + \bar Q)` with :math:`Q = P_q/2`,
:math:`\bar Q = P_{\bar q}/2`, and :math:`\sigma_\nu/E = 0.677\times10^{-38}` cm²/GeV,
:math:`\sigma_{\bar\nu}/E = 0.334\times10^{-38}` cm²/GeV (PDG, "Neutrino cross-section
measurements" review, the 30-200 GeV average; Formaggio & Zeller, Rev. Mod. Phys. 84 (2012) 1307).
This gives P_q = 0.402, P_q̄ = 0.077. Hence, exactly, in the massless-lepton limit
σ(μ⁻N → ℓX; G = G_F) = (1 − h) σ(ν_μ N → μ X) per nucleon (u and d both couple: 2 × the
neutrino's, times the helicity fraction; for μ⁺, (1 + h) σ(ν̄_μ N)) — the normalisation of this
module is data, not a PDF fit. Strange quarks (in the ν data, not in the operator) make
this a few-% statement.

Only the *shape* in x is modelled (it matters through the lepton-mass factor r only):
:math:`x\bar q = N_s(1-x)^{7}`, :math:`xq = N_v x^{0.5}(1-x)^{3} + x\bar q` (assumption: typical
leading-order valence and sea shapes at Q² ~ 10 GeV²), normalised to P_q and P_q̄. The implied
valence-quark number, :math:`\int (q-\bar q)dx = 2.93`, is close to 3 (an independent check of
the normalisation, tested). Accuracy: at 160 GeV the τ-mass suppression of the total DIS
cross-section is 23 % for a μ⁺ beam (19 % for μ⁻); changing the exponents (valence 0.3-0.7 and
3-4, sea 5-9) changes σ_τ by ≤ 5 %. The
muon-beam DIS at the small energy transfers that pass the NA64μ vetoes (ν ≲ 1 GeV, i.e.
Q² ≲ 0.5 GeV²) is far outside the parton model's validity: :func:`dis_small_recoil_fraction` is an
order-of-magnitude estimate there, stated as such.

Threshold: the reaction on a nucleon at rest needs :math:`s \ge (m_\ell + M)^2`
(:func:`threshold_energy`: 3.45 GeV for τ on a nucleon, 1.79 GeV on a Pb nucleus); the DIS
cross-section is set to zero below the nucleon threshold (the parton formula alone would
start at :math:`m_\ell^2/(2M)`).

2. Coherent conversion on the nucleus, μ A → ℓ A (no hadronic recoil)
---------------------------------------------------------------------
The vector part of the quark current adds coherently over the nucleus (charge
:math:`C_V = \sum_q` (number of valence u, d) = 3A, each nucleon counting 3), as in coherent
elastic neutrino-nucleus scattering (Freedman, PRD 9 (1974) 1389). For a spin-0 nucleus of mass
:math:`M_A \gg |t|^{1/2}` and an unpolarised muon (derived here; the trace gives
:math:`\overline{|M|^2} = 2G^2C_V^2F^2[2(k\cdot P)(k'\cdot P) - P^2 k\cdot k']`, P = p + p'):

.. math::

    \frac{d\sigma}{d|t|} = \frac{G^2 C_V^2}{4\pi} F^2(|t|)
        \Big[1 - \frac{m_\mu^2 + m_\ell^2 + |t|}{4E_0E_\ell}\Big],\qquad
    |t| \ge |t|_{min} \simeq \Big(\frac{m_\ell^2 - m_\mu^2}{2E_0}\Big)^2,

half the neutrino value :math:`G^2C^2/(2\pi)` (times (1 ∓ h) for a beam of helicity h) because
only the left-handed half of an
unpolarised muon couples. F is the Helm form factor (Lewin & Smith, Astropart. Phys. 6 (1996) 87:
:math:`c = 1.23A^{1/3} - 0.60` fm, a = 0.52 fm, s = 0.9 fm). At 160 GeV
:math:`|t|_{min}^{1/2}` = 9.8 MeV for τ (the Pb form factor falls at ~ 30 MeV), so the coherent
channel is open; its recoil energy :math:`|t|/2M_A` is ≲ 10 keV: it is the only channel whose
whole rate has no visible recoil. The incoherent quasi-elastic μ n → τ n (recoil ν = Q²/2M ≲ 1 GeV)
is NOT included (it would add to the low-recoil signal: the estimate is conservative there).

3. τ decay and the observable x
-------------------------------
cτ_τ = 87 μm, so at 160 GeV the τ flies ~ 0.8 cm: it decays inside the ECAL target. Only
:math:`\tau \to \mu\nu\bar\nu` (BR = 0.1739 ± 0.0004, PDG 2024) leaves a single muon and missing
energy: :func:`br_invisible_tau`. :math:`\tau \to e\nu\bar\nu` (0.1782) showers in the ECAL and the
hadronic decays (~ 0.65) leave hadronic energy: both fail the ECAL/VETO cuts of the missing-momentum
selection and are counted as lost (a τ → πν pion reaching MS2 as a "muon" is ignored:
conservative). The muon spectrum is the Michel spectrum (massless final states) of a τ of
helicity h: in the τ rest frame :math:`d^2\Gamma \propto x'^2[(3-2x') + P\cos\theta^*(1-2x')]`
(P = h for τ⁻, −h for τ⁺: a V−A-produced τ⁻ (τ⁺) is left- (right-) handed, P = −1 in both cases,
up to O(m_τ²/ŝ)); boosted (E_τ ≫ m_τ) the muon energy fraction z = E_μ/E_τ has
:math:`f(z) = \tfrac13(1-z)[(5+5z-4z^2) + P(1+z-8z^2)]`, ⟨z⟩ = 7/20 (P = 0) or 2/5 (P = −1).

The sampler's x is the fraction of the beam energy NOT carried by the outgoing muon,
:math:`x = 1 - E_\mu/E_0`: the two neutrinos (invisible) plus, for DIS, the hadronic recoil
ν = yE_0, which is VISIBLE (it deposits energy in the ECAL/VETO/HCAL). The missing-momentum
selection (ECAL ≤ ecal_max = 1 GeV with a 0.35 GeV muon MIP and a π/e response 0.6, VETO ≤ 15 MeV,
HCAL ≤ 4 GeV in the 2022 setup) therefore rejects DIS events with more than ~ 1 GeV of recoil:
:func:`max_invisible_recoil` turns the ECAL cut into ν_max = (ecal_max − MIP)/response = 1.08 GeV,
and the sampler keeps DIS only for ν < ν_max (:func:`dis_small_recoil_fraction`: 1.7 % of the
DIS rate at 160 GeV for μ⁺, 0.8 % for μ⁻), plus the whole coherent channel. At 160 GeV on Pb
(unpolarised μ⁺, G = G_F) the coherent channel gives 5.4 pb per nucleus, all DIS 85 pb, the kept
DIS 1.5 pb. θ is the polar angle of the missing momentum
:math:`\vec p_0 - \vec p_\mu` (its transverse momentum is the muon's, opposite in sign).

Units: GeV, cm, pb (1 GeV⁻² = 3.894e8 pb), couplings in GeV⁻². Sources: docs/references.md
section 12; the physics page with plots and the lfv_e selection design: docs/models/lfv.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .constants import GEV2_TO_PB, M_E, M_MU, M_TAU
from .materials import Material
from .materials import material as _material

__all__ = [
    "G_FERMI",
    "M_NUCLEON",
    "BR_TAU_MUNUNU",
    "BR_TAU_MUNUNU_ERR",
    "BR_TAU_ENUNU",
    "CTAU_TAU_CM",
    "TAU_MU_S",
    "SIGMA_NU_OVER_E",
    "SIGMA_NUBAR_OVER_E",
    "TAU_POLARIZATION_VA",
    "quark_momentum_fractions",
    "threshold_energy",
    "scale_from_coupling",
    "coupling_from_scale",
    "dis_sigma",
    "dis_dsigma_dy",
    "dis_small_recoil_fraction",
    "acceptance_small_recoil",
    "coherent_sigma",
    "helm_form_factor",
    "michel_pdf",
    "michel_cdf",
    "max_invisible_recoil",
    "LfvSampler",
    "make_sampler",
    "make_sampler_tau",
    "make_sampler_e",
    "br_invisible",
    "br_invisible_tau",
    "br_invisible_e",
    "MODEL_INFO",
    "MODEL_INFO_TAU",
    "MODEL_INFO_E",
    "MODELS",
    "muon_decay_probability",
    "lfv_e_selection_efficiency",
    "lfv_e_backgrounds",
    "LFV_E_BACKGROUND_UNCERTAINTY",
    "decay_in_flight_fraction",
    "lfv_e_background_estimate",
]

# ---------------------------------------------------------------------------------------------
# constants (units and sources)
# ---------------------------------------------------------------------------------------------
#: Fermi constant [GeV^-2], PDG 2024 (1.1663788(6)e-5)
G_FERMI: float = 1.1663788e-5
#: nucleon mass [GeV]: mean of m_p = 0.938272 and m_n = 0.939565 (PDG 2024), isoscalar nucleon
M_NUCLEON: float = 0.5 * (0.93827209 + 0.93956542)
#: BR(τ → μ ν ν̄), PDG 2024 (17.39 ± 0.04) %
BR_TAU_MUNUNU: float = 0.1739
#: its uncertainty (PDG 2024)
BR_TAU_MUNUNU_ERR: float = 0.0004
#: BR(τ → e ν ν̄), PDG 2024 (17.82 ± 0.04) %
BR_TAU_ENUNU: float = 0.1782
#: cτ of the τ [cm], PDG 2024 (87.03 μm)
CTAU_TAU_CM: float = 87.03e-4
#: muon lifetime [s], PDG 2024
TAU_MU_S: float = 2.1969811e-6
#: speed of light [cm/s]
C_CM_S: float = 2.99792458e10
#: σ(ν_μ N → μ⁻ X)/E_ν per isoscalar nucleon [cm²/GeV], PDG "Neutrino cross-section
#: measurements" review (average over 30-200 GeV); Formaggio & Zeller RMP 84 (2012) 1307
SIGMA_NU_OVER_E: float = 0.677e-38
#: σ(ν̄_μ N → μ⁺ X)/E_ν per isoscalar nucleon [cm²/GeV], same source
SIGMA_NUBAR_OVER_E: float = 0.334e-38
#: τ polarisation parameter P of a τ produced by the V−A operator (τ⁻ helicity −1, τ⁺ +1; the
#: decay spectra of both are those of P = −1 in this module's convention), massless limit
TAU_POLARIZATION_VA: float = -1.0
#: x-shape exponents of the parton densities (assumption: typical LO shapes at Q² ~ 10 GeV²;
#: only the lepton-mass suppression depends on them, ≤ 5 % at 160 GeV, see the module docstring)
VALENCE_A: float = 0.5
VALENCE_B: float = 3.0
SEA_B: float = 7.0
#: ħc [GeV fm] (CODATA)
HBARC_GEV_FM: float = 0.1973269804
#: Helm form-factor parameters [fm] (Lewin & Smith, Astropart. Phys. 6 (1996) 87)
HELM_A_FM: float = 0.52
HELM_S_FM: float = 0.9
#: atomic mass unit [GeV] (CODATA), nuclear mass M_A = A u
AMU_GEV: float = 0.93149410242

GEV2_TO_CM2: float = GEV2_TO_PB * 1e-36
_LEPTON_MASS = {"lfv_tau": M_TAU, "lfv_e": M_E}


def _beta(a: float, b: float) -> float:
    return math.exp(math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b))


def quark_momentum_fractions(sigma_nu_over_e: float = SIGMA_NU_OVER_E,
                             sigma_nubar_over_e: float = SIGMA_NUBAR_OVER_E) -> tuple[float, float]:
    """Quark and antiquark momentum integrals per isoscalar nucleon from the ν, ν̄ CC data.

    Solves :math:`\\sigma_\\nu/E = (2G_F^2M/\\pi)(Q+\\bar Q/3)`,
    :math:`\\sigma_{\\bar\\nu}/E = (2G_F^2M/\\pi)(Q/3+\\bar Q)` (LO parton model) and returns
    P_q = 2Q = ∫x(u+d)dx and P_q̄ = 2Q̄ = ∫x(ū+d̄)dx.

    Parameters
    ----------
    sigma_nu_over_e, sigma_nubar_over_e : float
        Measured σ/E of ν_μ and ν̄_μ CC scattering per nucleon [cm²/GeV].

    Returns
    -------
    tuple of float
        (P_q, P_q̄), dimensionless.
    """
    k = 2.0 * G_FERMI**2 * M_NUCLEON / math.pi * GEV2_TO_CM2  # cm²/GeV per unit (Q + ...)
    a, b = sigma_nu_over_e / k, sigma_nubar_over_e / k
    q, qbar = (9.0 * a - 3.0 * b) / 8.0, (9.0 * b - 3.0 * a) / 8.0
    return 2.0 * q, 2.0 * qbar


_PQ, _PQBAR = quark_momentum_fractions()
_NV = (_PQ - _PQBAR) / _beta(VALENCE_A + 1.0, VALENCE_B + 1.0)
_NS = _PQBAR * (SEA_B + 1.0)


def _xq(x):
    """x(u+d) per isoscalar nucleon (valence + sea)."""
    return _NV * x**VALENCE_A * (1.0 - x) ** VALENCE_B + _NS * (1.0 - x) ** SEA_B


def _xqbar(x):
    """x(ū+d̄) per isoscalar nucleon."""
    return _NS * (1.0 - x) ** SEA_B


def valence_number() -> float:
    """∫(q − q̄)dx per nucleon implied by the shapes and the ν normalisation (3 for real quarks).

    Returns
    -------
    float
        The number of valence quarks of the parametrisation.
    """
    return _NV * _beta(VALENCE_A, VALENCE_B + 1.0)


# ---------------------------------------------------------------------------------------------
# kinematics helpers
# ---------------------------------------------------------------------------------------------
def _check_energy(energy) -> float:
    e = float(energy)
    if not math.isfinite(e) or e <= M_MU:
        raise ValueError(f"energy={energy!r}: expected a muon energy in GeV above m_mu")
    return e


def _check_coupling(coupling) -> float:
    g = float(coupling)
    if not math.isfinite(g) or g <= 0:
        raise ValueError(f"coupling={coupling!r}: expected a positive G in GeV^-2")
    return g


def _lepton_mass(lepton: str) -> float:
    try:
        return _LEPTON_MASS[lepton]
    except KeyError:
        raise ValueError(f"lepton model {lepton!r}: expected 'lfv_tau' or 'lfv_e'") from None


def threshold_energy(lepton_mass: float, target_mass: float = M_NUCLEON) -> float:
    """Beam-muon energy at threshold of μ T → ℓ T' on a target of mass M at rest [GeV].

    :math:`s = M^2 + m_\\mu^2 + 2ME_0 \\ge (m_\\ell + M)^2`, so
    :math:`E_{th} = ((m_\\ell + M)^2 - M^2 - m_\\mu^2)/(2M)`.

    Parameters
    ----------
    lepton_mass : float
        Mass of the produced lepton [GeV].
    target_mass : float
        Mass of the target (nucleon or nucleus) [GeV].

    Returns
    -------
    float
        Threshold energy [GeV] (total energy of the muon).
    """
    m, big = float(lepton_mass), float(target_mass)
    return ((m + big) ** 2 - big**2 - M_MU**2) / (2.0 * big)


def scale_from_coupling(coupling: float) -> float:
    """Λ [GeV] of :math:`\\mathcal{L} = O/\\Lambda^2` for :math:`\\mathcal{L} = (G/\\sqrt2)O`.

    Parameters
    ----------
    coupling : float
        G [GeV⁻²].

    Returns
    -------
    float
        Λ = (√2/G)^{1/2} [GeV].
    """
    return math.sqrt(math.sqrt(2.0) / _check_coupling(coupling))


def coupling_from_scale(scale: float) -> float:
    """Inverse of :func:`scale_from_coupling`: G = √2/Λ² [GeV⁻²].

    Parameters
    ----------
    scale : float
        Λ [GeV].

    Returns
    -------
    float
        G [GeV⁻²].
    """
    return math.sqrt(2.0) / float(scale) ** 2


# ---------------------------------------------------------------------------------------------
# deep-inelastic scattering
# ---------------------------------------------------------------------------------------------
_NX = 400


def _x_nodes(m2: float, s1: float):
    """Gauss-Legendre nodes in ln x over [m²/s', 1] (weights include the Jacobian x)."""
    x_lo = max(m2 / s1, 1e-7)
    g, w = np.polynomial.legendre.leggauss(_NX)
    a, b = math.log(x_lo), 0.0
    u = 0.5 * (b - a) * g + 0.5 * (b + a)
    x = np.exp(u)
    return x, 0.5 * (b - a) * w * x


def _dis_parts(energy: float, lepton_mass: float, y_max: float = 1.0, charge: int = 1,
               helicity: float = 0.0):
    """Per-x integrands of σ(y < y_max) [GeV⁻² per nucleon at G = 1]: (x, weights, quark-like,
    antiquark-like), where 'quark-like' is the flat (1−r) term."""
    s1 = 2.0 * M_NUCLEON * energy
    m2 = lepton_mass**2
    x, wx = _x_nodes(m2, s1)
    r = np.clip(m2 / (x * s1), 0.0, 1.0)
    ycap = np.minimum(y_max, 1.0 - r)
    flat = (1.0 - r) * ycap  # ∫_0^Y (1 - r) dy
    z0 = 1.0 - ycap  # ∫_0^Y (1-y)(1-y-r) dy = [z³/3 - r z²/2]_{1-Y}^{1}
    soft = (1.0 - z0**3) / 3.0 - r * (1.0 - z0**2) / 2.0
    xq, xqb = _xq(x), _xqbar(x)
    if charge < 0:  # mu- -> tau-: quarks flat, antiquarks (1-y)^2-like
        a, b = xq * flat, xqb * soft
    else:  # mu+ -> tau+: antiquarks flat, quarks (1-y)^2-like
        a, b = xqb * flat, xq * soft
    pref = s1 / math.pi * _helicity_factor(charge, helicity)
    return x, wx, pref * a, pref * b


def _helicity_factor(charge: int, helicity) -> float:
    """Fraction of the beam muons that couple to the V−A operator: (1 − h)/2 for μ⁻ (left-handed
    helicity couples), (1 + h)/2 for μ⁺ (right-handed); 1/2 unpolarised."""
    h = float(helicity)
    if not -1.0 <= h <= 1.0:
        raise ValueError(f"beam_helicity={helicity!r}: expected a number in [-1, 1]")
    return 0.5 * (1.0 - h) if charge < 0 else 0.5 * (1.0 + h)


def _check_charge(charge) -> int:
    if charge not in (1, -1):
        raise ValueError(f"charge={charge!r}: expected +1 (mu+ beam, NA64mu M2) or -1 (mu- beam)")
    return int(charge)


def dis_sigma(energy: float = 160.0, coupling: float = 1.0, *, lepton: str = "lfv_tau",
              target: str | Material | None = None, y_max: float = 1.0, charge: int = 1,
              beam_helicity: float = 0.0) -> float:
    """σ(μN → ℓX) in deep-inelastic scattering [pb] for y = ν/E_0 < y_max.

    Per nucleon (``target=None``) or per nucleus (``target``: A × per nucleon). Formula and
    inputs: module docstring, section 1. Zero below the nucleon threshold
    (:func:`threshold_energy`).

    Parameters
    ----------
    energy : float
        Beam-muon energy E_0 [GeV].
    coupling : float
        G [GeV⁻²].
    lepton : {"lfv_tau", "lfv_e"}
        The produced lepton.
    target : str or Material, optional
        Target material for a per-nucleus cross-section (A taken as the molar mass in g/mol).
    y_max : float
        Upper bound of y (1: no cut).
    charge : {+1, -1}
        Beam-muon charge (the NA64μ M2 beam is μ⁺).
    beam_helicity : float
        Helicity of the beam muons in [−1, 1] (0: unpolarised, the default assumption); the rate
        scales with (1 ∓ h)/2 for μ∓.

    Returns
    -------
    float
        The cross-section [pb].
    """
    e = _check_energy(energy)
    g = _check_coupling(coupling)
    m = _lepton_mass(lepton)
    charge = _check_charge(charge)
    if not (0.0 < float(y_max) <= 1.0):
        raise ValueError(f"y_max={y_max!r}: expected a number in (0, 1]")
    if e <= threshold_energy(m, M_NUCLEON):
        return 0.0
    _, wx, a, b = _dis_parts(e, m, float(y_max), charge, beam_helicity)
    sig = float(np.sum(wx * (a + b))) * g**2 * GEV2_TO_PB
    if target is not None:
        sig *= _material(target).A
    return sig


def dis_dsigma_dy(y, energy: float = 160.0, coupling: float = 1.0, *, lepton: str = "lfv_tau",
                  charge: int = 1, beam_helicity: float = 0.0) -> np.ndarray:
    """dσ/dy per nucleon [pb] of the DIS conversion, y = 1 − E_ℓ/E_0 (the τ energy spectrum).

    Parameters
    ----------
    y : float or array_like
        Inelasticity values in [0, 1].
    energy : float
        Beam-muon energy E_0 [GeV].
    coupling : float
        G [GeV⁻²].
    lepton : {"lfv_tau", "lfv_e"}
        The produced lepton.
    charge : {+1, -1}
        Beam-muon charge.
    beam_helicity : float
        Helicity of the beam muons (0: unpolarised).

    Returns
    -------
    numpy.ndarray
        dσ/dy [pb per nucleon], shaped like ``y``.
    """
    e = _check_energy(energy)
    g = _check_coupling(coupling)
    m = _lepton_mass(lepton)
    charge = _check_charge(charge)
    yy = np.asarray(y, dtype=float)
    if e <= threshold_energy(m, M_NUCLEON):
        return np.zeros_like(yy)
    s1 = 2.0 * M_NUCLEON * e
    x, wx = _x_nodes(m**2, s1)
    r = np.clip(m**2 / (x * s1), 0.0, 1.0)
    yv = yy.reshape(-1, 1)
    ok = yv <= 1.0 - r
    flat = np.where(ok, 1.0 - r, 0.0)
    soft = np.where(ok, (1.0 - yv) * (1.0 - yv - r), 0.0)
    q, qb = _xq(x), _xqbar(x)
    if charge < 0:
        dens = q * flat + qb * soft
    else:
        dens = qb * flat + q * soft
    hf = _helicity_factor(charge, beam_helicity)
    out = (dens * wx).sum(axis=1) * s1 / math.pi * hf * g**2 * GEV2_TO_PB
    return out.reshape(yy.shape)


def dis_small_recoil_fraction(recoil_max: float, energy: float = 160.0, *, lepton: str = "lfv_tau",
                              charge: int = 1) -> float:
    """Fraction of the DIS conversion rate with hadronic recoil ν = yE_0 below ``recoil_max``.

    The events that can pass the calorimeter vetoes of the missing-momentum selection (the
    recoil is visible). An order-of-magnitude estimate: at ν ≲ 1 GeV the parton model is
    extrapolated far below its range of validity (module docstring).

    Parameters
    ----------
    recoil_max : float
        Largest hadronic energy ν [GeV] that passes the selection (:func:`max_invisible_recoil`).
    energy : float
        Beam-muon energy E_0 [GeV].
    lepton : {"lfv_tau", "lfv_e"}
        The produced lepton.
    charge : {+1, -1}
        Beam-muon charge.

    Returns
    -------
    float
        σ(ν < recoil_max)/σ, in [0, 1].
    """
    e = _check_energy(energy)
    if not (float(recoil_max) > 0):
        raise ValueError(f"recoil_max={recoil_max!r}: expected a positive energy in GeV")
    y_max = min(float(recoil_max) / e, 1.0)
    tot = dis_sigma(e, 1.0, lepton=lepton, charge=charge)
    if tot == 0.0:
        return 0.0
    return dis_sigma(e, 1.0, lepton=lepton, y_max=y_max, charge=charge) / tot


def acceptance_small_recoil(y_max: float, energy: float = 160.0, *, lepton: str = "lfv_tau",
                            charge: int = 1) -> float:
    """Fraction of the DIS rate with y < ``y_max`` (same as :func:`dis_small_recoil_fraction`
    with ν_max = y_max E_0).

    Parameters
    ----------
    y_max : float
        Upper bound of y = ν/E_0, in (0, 1].
    energy : float
        Beam-muon energy E_0 [GeV].
    lepton : {"lfv_tau", "lfv_e"}
        The produced lepton.
    charge : {+1, -1}
        Beam-muon charge.

    Returns
    -------
    float
        σ(y < y_max)/σ.
    """
    return dis_small_recoil_fraction(float(y_max) * _check_energy(energy), energy, lepton=lepton,
                                     charge=charge)


# ---------------------------------------------------------------------------------------------
# coherent conversion on the nucleus
# ---------------------------------------------------------------------------------------------
def helm_form_factor(q, mass_number: float) -> np.ndarray:
    """Helm nuclear form factor F(q) (Lewin & Smith, Astropart. Phys. 6 (1996) 87).

    :math:`F = 3 j_1(qR_n)/(qR_n)\\, e^{-q^2s^2/2}`, :math:`R_n^2 = c^2 + \\tfrac73\\pi^2a^2 - 5s^2`,
    :math:`c = 1.23A^{1/3} - 0.60` fm, a = 0.52 fm, s = 0.9 fm.

    Parameters
    ----------
    q : float or array_like
        Momentum transfer :math:`|q| = |t|^{1/2}` [GeV].
    mass_number : float
        A.

    Returns
    -------
    numpy.ndarray
        F(q), F(0) = 1.
    """
    qq = np.asarray(q, dtype=float) / HBARC_GEV_FM  # fm^-1
    c = 1.23 * float(mass_number) ** (1.0 / 3.0) - 0.60
    rn = math.sqrt(c**2 + 7.0 / 3.0 * math.pi**2 * HELM_A_FM**2 - 5.0 * HELM_S_FM**2)
    u = qq * rn
    small = np.abs(u) < 1e-4
    us = np.where(small, 1.0, u)
    j1 = (np.sin(us) / us**2 - np.cos(us) / us)
    f = np.where(small, 1.0 - u**2 / 10.0, 3.0 * j1 / us)
    return f * np.exp(-0.5 * (qq * HELM_S_FM) ** 2)


def _t_min(energy: float, lepton_mass: float, nucleus_mass: float) -> float:
    """Exact minimal momentum transfer of μ A → ℓ A (A at rest) [GeV²]."""
    s = nucleus_mass**2 + M_MU**2 + 2.0 * nucleus_mass * energy
    rs = math.sqrt(s)
    e1 = (s + M_MU**2 - nucleus_mass**2) / (2 * rs)
    e3 = (s + lepton_mass**2 - nucleus_mass**2) / (2 * rs)
    p1 = math.sqrt(max(e1**2 - M_MU**2, 0.0))
    p3 = math.sqrt(max(e3**2 - lepton_mass**2, 0.0))
    return -(M_MU**2 + lepton_mass**2 - 2 * (e1 * e3 - p1 * p3))


_NQ = 2000


def _coherent_table(energy: float, lepton_mass: float, mat: Material, form_factor=None,
                    hel_factor: float = 0.5):
    """q grid [GeV] and dσ/dq [GeV⁻³ at G = 1, per nucleus] of the coherent conversion."""
    m_a = mat.A * AMU_GEV
    if energy <= threshold_energy(lepton_mass, m_a):
        return None
    tmin = _t_min(energy, lepton_mass, m_a)
    qmin = math.sqrt(max(tmin, 0.0))
    qmax = max(10.0 * qmin, 0.5)  # Helm F² < 1e-7 beyond 0.5 GeV for A > 50
    q = np.linspace(qmin, qmax, _NQ + 1)
    t = q * q
    ff = helm_form_factor(q, mat.A) if form_factor is None else np.asarray(form_factor(t), float)
    cv = 3.0 * mat.A
    e_l = energy - t / (2.0 * m_a)
    kin = np.clip(1.0 - (M_MU**2 + lepton_mass**2 + t) / (4.0 * energy * e_l), 0.0, None)
    dsdt = cv**2 / (2.0 * math.pi) * hel_factor * ff**2 * kin
    return q, dsdt * 2.0 * q  # dσ/dq = dσ/dt · 2q


def coherent_sigma(energy: float = 160.0, coupling: float = 1.0, *, lepton: str = "lfv_tau",
                   target: str | Material = "Pb", form_factor=None, charge: int = 1,
                   beam_helicity: float = 0.0) -> float:
    """σ(μA → ℓA) of the coherent conversion on the nucleus [pb per nucleus].

    :math:`d\\sigma/d|t| = G^2 C_V^2 F^2(|t|)/(4\\pi)\\,[1 - (m_\\mu^2+m_\\ell^2+|t|)/(4E_0E_\\ell)]`,
    C_V = 3A, integrated from the exact :math:`|t|_{min}` (module docstring, section 2).

    Parameters
    ----------
    energy : float
        Beam-muon energy E_0 [GeV].
    coupling : float
        G [GeV⁻²].
    lepton : {"lfv_tau", "lfv_e"}
        The produced lepton.
    target : str or Material
        Target nucleus (A = molar mass in g/mol as the mass number; M_A = A u).
    form_factor : callable, optional
        F of :math:`|t|` in GeV² (default: the Helm form factor of A).
    charge : {+1, -1}
        Beam-muon charge.
    beam_helicity : float
        Helicity of the beam muons (0: unpolarised; the formula above is for h = 0, the rate
        scales with (1 ∓ h) for μ∓).

    Returns
    -------
    float
        σ [pb per nucleus]; 0 below the threshold on the nucleus.
    """
    e = _check_energy(energy)
    g = _check_coupling(coupling)
    m = _lepton_mass(lepton)
    hf = _helicity_factor(_check_charge(charge), beam_helicity)
    tab = _coherent_table(e, m, _material(target), form_factor, hf)
    if tab is None:
        return 0.0
    q, dsdq = tab
    return float(np.trapezoid(dsdq, q)) * g**2 * GEV2_TO_PB


# ---------------------------------------------------------------------------------------------
# tau decay: polarised Michel spectrum
# ---------------------------------------------------------------------------------------------
def michel_pdf(z, polarization: float = TAU_POLARIZATION_VA) -> np.ndarray:
    """Lab energy-fraction density f(z), z = E_μ/E_τ, of τ → μνν̄ for E_τ ≫ m_τ.

    :math:`f(z) = \\tfrac13(1-z)[(5+5z-4z^2) + P(1+z-8z^2)]` (massless final states; the
    collinear boost of :math:`x'^2[(3-2x') + P\\cos\\theta^*(1-2x')]`).

    Parameters
    ----------
    z : float or array_like
        Energy fraction in [0, 1].
    polarization : float
        P in [−1, 1] (module docstring: −1 for the V−A operator, 0 unpolarised).

    Returns
    -------
    numpy.ndarray
        f(z), normalised to 1 on [0, 1].
    """
    zz = np.asarray(z, dtype=float)
    p = float(polarization)
    f = (1.0 - zz) * ((5 + 5 * zz - 4 * zz**2) + p * (1 + zz - 8 * zz**2)) / 3.0
    return np.where((zz >= 0) & (zz <= 1), f, 0.0)


def michel_cdf(z, polarization: float = TAU_POLARIZATION_VA) -> np.ndarray:
    """∫_0^z f (the fraction of τ → μνν̄ decays with E_μ < z E_τ).

    Parameters
    ----------
    z : float or array_like
        Energy fraction (clipped to [0, 1]).
    polarization : float
        P in [−1, 1].

    Returns
    -------
    numpy.ndarray
        F(z) in [0, 1].
    """
    zz = np.clip(np.asarray(z, dtype=float), 0.0, 1.0)
    p = float(polarization)
    # (1-z)(5+5z-4z^2) = 5 - 9z^2 + 4z^3 ; (1-z)(1+z-8z^2) = 1 - 9z^2 + 8z^3
    unpol = 5 * zz - 3 * zz**3 + zz**4
    pol = zz - 3 * zz**3 + 2 * zz**4
    return (unpol + p * pol) / 3.0


_XP_GRID = np.linspace(0.0, 1.0, 4097)
_XP_CDF = 2 * _XP_GRID**3 - _XP_GRID**4  # CDF of 2x²(3-2x)


def _sample_decay(n, rng, polarization):
    """τ rest frame: x' = 2E*/m_τ and cosθ* (w.r.t. the τ flight direction), φ*."""
    u1, u2, u3 = rng.random(n), rng.random(n), rng.random(n)
    xp = np.interp(u1, _XP_CDF, _XP_GRID)
    alpha = float(polarization) * (1.0 - 2.0 * xp) / (3.0 - 2.0 * xp)
    # pdf (1 + alpha c)/2 on [-1, 1]: CDF = (c+1)/2 + alpha (c²-1)/4 = u
    a_safe = np.where(np.abs(alpha) < 1e-9, 1.0, alpha)
    # solve alpha c² + 2 c + (2 - alpha - 4u) = 0 -> c = (-1 + sqrt(1 - alpha (2 - alpha - 4u)))/alpha
    disc = np.sqrt(np.maximum(1.0 - alpha * (2.0 - alpha - 4.0 * u2), 0.0))
    c = np.where(np.abs(alpha) < 1e-9, 2.0 * u2 - 1.0, (-1.0 + disc) / a_safe)
    return xp, np.clip(c, -1.0, 1.0), 2.0 * np.pi * u3


# ---------------------------------------------------------------------------------------------
# selection helpers
# ---------------------------------------------------------------------------------------------
def max_invisible_recoil(ecal_max: float = 1.0, ecal_mip: float = 0.35,
                         hadron_response: float = 0.6) -> float:
    """Largest hadronic recoil ν [GeV] compatible with the ECAL cut of the missing-momentum
    selection: ν_max = (ecal_max − MIP)/response.

    Assumes the recoil is fully absorbed in the ECAL (charged hadrons leaving it would also fire
    the VETO, cut at 15 MeV), so the true acceptance is lower: an upper estimate. Defaults: the
    na64mu_2022 setup (cuts.ecal_max, ecal.mip, ecal.hadron_response, all assumptions there).

    Parameters
    ----------
    ecal_max : float
        ECAL energy cut [GeV].
    ecal_mip : float
        ECAL energy of the traversing muon [GeV].
    hadron_response : float
        ECAL response to hadrons relative to electrons.

    Returns
    -------
    float
        ν_max [GeV] (0 if the MIP alone exceeds the cut).
    """
    if not hadron_response > 0:
        raise ValueError(f"hadron_response={hadron_response!r}: expected a positive number")
    return max((float(ecal_max) - float(ecal_mip)) / float(hadron_response), 0.0)


# ---------------------------------------------------------------------------------------------
# sampler
# ---------------------------------------------------------------------------------------------
_NY_X = 4096


@dataclass
class _Dis:
    x_grid: np.ndarray
    cdf_flat: np.ndarray
    cdf_soft: np.ndarray
    sig_flat: float
    sig_soft: float


class LfvSampler:
    """(x, θ) sampler of μN → τX (lfv_tau) or μN → eX (lfv_e) at one beam energy and target.

    Channels: coherent on the nucleus (whole rate) + DIS on the nucleons restricted to a
    hadronic recoil ν < ``recoil_max`` (the events that can pass the calorimeter vetoes; the
    recoil energy itself is NOT added to the detector by the generator: it is below the cuts by
    construction). For lfv_tau the τ decays to μνν̄ (polarised Michel spectrum, exact boost) and
    x = 1 − E_μ/E_0, θ the polar angle of p_0 − p_μ. For lfv_e there is no muon: x = 1 − E_e/E_0
    and θ is the ELECTRON's polar angle (a different convention: the generator must put an
    electron shower of (1 − x)E_0 in the ECAL and no outgoing muon; not wired yet).

    Parameters
    ----------
    lepton : {"lfv_tau", "lfv_e"}
        The model.
    energy : float
        Beam-muon energy E_0 [GeV].
    material : str or Material
        Target.
    x_min : float
        Lower cut on x, in [0, 1).
    recoil_max : float
        Largest DIS hadronic recoil ν [GeV] kept (:func:`max_invisible_recoil`); 0 keeps the
        coherent channel only; ``math.inf`` keeps all DIS (then the recoil is NOT invisible).
    charge : {+1, -1}
        Beam-muon charge (+1: the NA64μ M2 μ⁺ beam).
    polarization : float
        τ polarisation parameter P (default: the V−A value −1).
    beam_helicity : float
        Helicity of the beam muons (0: unpolarised, the default assumption; the M2 μ⁺ beam is
        naturally polarised with a negative helicity, which would lower every rate by (1 + h)).

    Attributes
    ----------
    sigma : float
        σ [pb per nucleus] at G = 1 GeV⁻² of the kept channels with x > x_min (production only:
        multiply by :func:`br_invisible` for the observable rate).
    sigma_coherent, sigma_dis_kept, sigma_dis_total : float
        Components [pb per nucleus, G = 1, no x cut]: coherent, DIS with ν < recoil_max, all DIS.
    """

    def __init__(self, lepton: str = "lfv_tau", energy: float = 160.0,
                 material: str | Material = "Pb", x_min: float = 0.0, *,
                 recoil_max: float | None = None, charge: int = 1,
                 polarization: float = TAU_POLARIZATION_VA, beam_helicity: float = 0.0) -> None:
        self.lepton = lepton
        self.m_l = _lepton_mass(lepton)
        self.energy = _check_energy(energy)
        self.material = _material(material)
        self.charge = _check_charge(charge)
        xm = float(x_min)
        if not (0.0 <= xm < 1.0):
            raise ValueError(f"x_min={x_min!r}: expected a number in [0, 1)")
        self.x_min = xm
        if not -1.0 <= float(polarization) <= 1.0:
            raise ValueError(f"polarization={polarization!r}: expected a number in [-1, 1]")
        self.polarization = float(polarization)
        self.beam_helicity = float(beam_helicity)
        self._hf = _helicity_factor(self.charge, self.beam_helicity)
        self.recoil_max = max_invisible_recoil() if recoil_max is None else float(recoil_max)
        if not self.recoil_max >= 0:
            raise ValueError(f"recoil_max={recoil_max!r}: expected a non-negative energy in GeV")
        e, m = self.energy, self.m_l
        a_nuc = self.material.A
        # coherent
        tab = _coherent_table(e, m, self.material, None, self._hf)
        if tab is None:
            self.sigma_coherent = 0.0
            self._q = self._qcdf = None
        else:
            q, dsdq = tab
            cum = np.concatenate([[0.0], np.cumsum(0.5 * (dsdq[1:] + dsdq[:-1]) * np.diff(q))])
            self.sigma_coherent = float(cum[-1]) * GEV2_TO_PB
            self._q, self._qcdf = q, cum / cum[-1]
        # DIS
        self.sigma_dis_total = dis_sigma(e, 1.0, lepton=lepton, target=self.material,
                                         charge=self.charge, beam_helicity=self.beam_helicity)
        y_max = min(self.recoil_max / e, 1.0)
        self._dis = None
        self.sigma_dis_kept = 0.0
        if self.sigma_dis_total > 0 and y_max > 0:
            self._dis = self._build_dis(y_max, a_nuc)
            self.sigma_dis_kept = (self._dis.sig_flat + self._dis.sig_soft)
        self._y_max = y_max
        self.sigma = self._sigma_x_min()
        if not self.sigma > 0:
            raise ValueError(f"no phase space for {lepton} at E_0={energy!r} GeV on "
                             f"{self.material.name} with x_min={x_min!r}, recoil_max={recoil_max!r}")

    # -- construction -----------------------------------------------------------------------
    def _build_dis(self, y_max: float, a_nuc: float) -> _Dis:
        e, m = self.energy, self.m_l
        s1 = 2.0 * M_NUCLEON * e
        x_lo = max(m * m / s1, 1e-7)
        xg = np.exp(np.linspace(math.log(x_lo), 0.0, _NY_X + 1))
        r = np.clip(m * m / (xg * s1), 0.0, 1.0)
        ycap = np.minimum(y_max, 1.0 - r)
        flat = (1.0 - r) * ycap
        z0 = 1.0 - ycap
        soft = (1.0 - z0**3) / 3.0 - r * (1.0 - z0**2) / 2.0
        q, qb = _xq(xg), _xqbar(xg)
        fl, so = (qb, q) if self.charge > 0 else (q, qb)
        d_flat, d_soft = fl * flat, so * soft  # dσ/dx ∝ (xq)·(...) ; integrate dx
        pref = s1 / math.pi * self._hf * a_nuc * GEV2_TO_PB

        def cum(d):
            c = np.concatenate([[0.0], np.cumsum(0.5 * (d[1:] + d[:-1]) * np.diff(xg))])
            return c

        cf, cs = cum(d_flat), cum(d_soft)
        return _Dis(xg, cf / max(cf[-1], 1e-300), cs / max(cs[-1], 1e-300),
                    float(cf[-1]) * pref, float(cs[-1]) * pref)

    def _sigma_x_min(self) -> float:
        """σ × P(x > x_min), collinear approximation E_μ = z E_τ (errors O(m_τ²/E_0²))."""
        zc = 1.0 - self.x_min
        tot = 0.0
        if self.lepton == "lfv_tau":
            fz = lambda zz: michel_cdf(np.minimum(zz, 1.0), self.polarization)  # noqa: E731
            tot += self.sigma_coherent * float(fz(zc))
            if self._dis is not None and self.sigma_dis_kept > 0:
                yg = np.linspace(0.0, self._y_max, 2049)
                dens = dis_dsigma_dy(yg, self.energy, 1.0, lepton=self.lepton, charge=self.charge)
                prob = fz(zc / np.maximum(1.0 - yg, 1e-12))
                frac = np.trapezoid(dens * prob, yg) / np.trapezoid(dens, yg)
                tot += self.sigma_dis_kept * float(frac)
        else:  # electron: x = y (coherent: x ≈ 0)
            tot += self.sigma_coherent if self.x_min <= 0.0 else 0.0
            if self._dis is not None and self.x_min < self._y_max:
                kw = {"lepton": self.lepton, "charge": self.charge,
                      "beam_helicity": self.beam_helicity}
                frac = (dis_sigma(self.energy, 1.0, y_max=self._y_max, **kw)
                        - (dis_sigma(self.energy, 1.0, y_max=self.x_min, **kw)
                           if self.x_min > 0 else 0.0))
                tot += frac * self.material.A
        return tot

    # -- interface --------------------------------------------------------------------------
    def sigma_at(self, coupling: float) -> float:
        """σ(x > x_min) [pb per nucleus] at coupling G [GeV⁻²] (∝ G²).

        Parameters
        ----------
        coupling : float
            G [GeV⁻²], > 0.

        Returns
        -------
        float
            The cross-section [pb].
        """
        return self.sigma * _check_coupling(coupling) ** 2

    def sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Draw n events with x > x_min.

        Parameters
        ----------
        n : int
            Number of events.
        rng : numpy.random.Generator
            Random generator (deterministic for a given state).

        Returns
        -------
        tuple of numpy.ndarray
            (x, θ [rad]) as described in the class docstring.
        """
        k = self.sample_kinematics(n, rng)
        return k["x"], k["theta"]

    def _draw_production(self, n, rng):
        """Channel, lepton energy [GeV] and polar angle [rad] of the produced lepton, recoil ν."""
        e, m = self.energy, self.m_l
        p0 = math.sqrt(e * e - M_MU**2)
        w_coh = self.sigma_coherent
        w_dis = self.sigma_dis_kept
        u = rng.random(n)
        is_dis = u * (w_coh + w_dis) >= w_coh
        e_l = np.empty(n)
        cos_l = np.empty(n)
        nu = np.zeros(n)
        # coherent: |t| from the tabulated CDF, E_l = E0 - |t|/2M_A
        ic = np.flatnonzero(~is_dis)
        if ic.size:
            m_a = self.material.A * AMU_GEV
            q = np.interp(rng.random(ic.size), self._qcdf, self._q)
            t = q * q
            el = e - t / (2.0 * m_a)
            e_l[ic] = el
            pl = np.sqrt(np.maximum(el * el - m * m, 0.0))
            cos_l[ic] = (2 * e * el - M_MU**2 - m * m - t) / (2 * p0 * pl)
        idd = np.flatnonzero(is_dis)
        if idd.size:
            d = self._dis
            s1 = 2.0 * M_NUCLEON * e
            soft = rng.random(idd.size) * (d.sig_flat + d.sig_soft) >= d.sig_flat
            x = np.where(soft, np.interp(rng.random(idd.size), d.cdf_soft, d.x_grid),
                         np.interp(rng.random(idd.size), d.cdf_flat, d.x_grid))
            r = np.clip(m * m / (x * s1), 0.0, 1.0)
            ycap = np.minimum(self._y_max, 1.0 - r)
            y = rng.random(idd.size) * ycap
            # the (1-y)(1-y-r) term: rejection against its value at y = 0 (its maximum)
            todo = np.flatnonzero(soft)
            while todo.size:
                acc = rng.random(todo.size) * (1.0 - r[todo]) <= (
                    (1.0 - y[todo]) * (1.0 - y[todo] - r[todo]))
                todo = todo[~acc]
                y[todo] = rng.random(todo.size) * ycap[todo]
            el = np.maximum(e * (1.0 - y), m * (1 + 1e-12))
            q2 = x * y * s1
            pl = np.sqrt(el * el - m * m)
            e_l[idd] = el
            nu[idd] = e * y
            cos_l[idd] = (2 * e * el - M_MU**2 - m * m - q2) / (2 * p0 * pl)
        return is_dis, e_l, np.clip(cos_l, -1.0, 1.0), nu

    def sample_kinematics(self, n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """Full event kinematics of n events with x > x_min.

        Parameters
        ----------
        n : int
            Number of events.
        rng : numpy.random.Generator
            Random generator.

        Returns
        -------
        dict of numpy.ndarray
            ``x``, ``theta`` (the sampler's pair), ``channel`` (0 coherent, 1 DIS), ``e_lepton``
            and ``theta_lepton`` (the produced τ or e), ``recoil`` (ν [GeV]) and, for lfv_tau,
            ``e_mu`` and ``theta_mu`` (the decay muon).
        """
        n = int(n)
        if n < 0:
            raise ValueError(f"n={n!r}: expected a non-negative number of events")
        e = self.energy
        p0 = math.sqrt(e * e - M_MU**2)
        keys = ["x", "theta", "channel", "e_lepton", "theta_lepton", "recoil", "e_mu", "theta_mu"]
        out = {k: np.empty(0) for k in keys}
        need = n
        while need > 0:
            m_draw = max(need, 16)
            is_dis, e_l, cos_l, nu = self._draw_production(m_draw, rng)
            sin_l = np.sqrt(np.maximum(1.0 - cos_l**2, 0.0))
            phi_l = 2.0 * np.pi * rng.random(m_draw)
            if self.lepton == "lfv_tau":
                e_mu, pvec = self._decay(e_l, cos_l, sin_l, phi_l, rng)
                miss = np.stack([-pvec[0], -pvec[1], p0 - pvec[2]])
                x = 1.0 - e_mu / e
                pt = np.hypot(miss[0], miss[1])
                theta = np.arctan2(pt, miss[2])
                th_mu = np.arctan2(np.hypot(pvec[0], pvec[1]), pvec[2])
            else:
                e_mu = np.full(m_draw, np.nan)
                th_mu = np.full(m_draw, np.nan)
                x = 1.0 - e_l / e
                theta = np.arctan2(sin_l, cos_l)
            ok = x > self.x_min if self.x_min > 0 else np.ones(m_draw, bool)
            sel = np.flatnonzero(ok)[:need]
            vals = [x, theta, is_dis.astype(float), e_l, np.arctan2(sin_l, cos_l), nu, e_mu, th_mu]
            for k, v in zip(keys, vals, strict=True):
                out[k] = np.concatenate([out[k], v[sel]])
            need -= sel.size
        out["channel"] = out["channel"].astype(np.int8)
        return out

    def _decay(self, e_l, cos_l, sin_l, phi_l, rng):
        """τ → μνν̄ with the polarised Michel spectrum; returns E_μ and the lab momentum."""
        n = e_l.size
        m = self.m_l
        xp, c, phs = _sample_decay(n, rng, self.polarization)
        es = np.maximum(xp * m / 2.0, M_MU * (1 + 1e-9))
        ps = np.sqrt(es * es - M_MU**2)
        st = np.sqrt(np.maximum(1.0 - c * c, 0.0))
        # rest-frame momentum in the τ frame (z' along the τ flight direction)
        pl_ = ps * c
        pxp, pyp = ps * st * np.cos(phs), ps * st * np.sin(phs)
        p_t = np.sqrt(np.maximum(e_l * e_l - m * m, 0.0))
        gam, bg = e_l / m, p_t / m
        e_mu = gam * es + bg * pl_
        pz_ = bg * es + gam * pl_
        # rotate (pxp, pyp, pz_) from the τ frame to the lab
        cp, sp = np.cos(phi_l), np.sin(phi_l)
        # τ direction d = (sin cosφ, sin sinφ, cos); basis e1 = (cos cosφ, cos sinφ, -sin),
        # e2 = (-sinφ, cosφ, 0)
        px = pxp * cos_l * cp - pyp * sp + pz_ * sin_l * cp
        py = pxp * cos_l * sp + pyp * cp + pz_ * sin_l * sp
        pz = -pxp * sin_l + pz_ * cos_l
        return e_mu, np.stack([px, py, pz])


def make_sampler_tau(mass: float, energy: float, material: str, x_min: float, **kwargs
                     ) -> LfvSampler:
    """The lfv_tau sampler (interface of issue 17; ``mass`` must be m_τ).

    Parameters
    ----------
    mass : float
        The produced lepton's mass [GeV]: must equal m_τ (within 1 MeV); the model has no free
        mass.
    energy : float
        Beam-muon energy [GeV].
    material : str
        Target material.
    x_min : float
        Lower cut on x = 1 − E_μ/E_0.
    **kwargs
        ``recoil_max``, ``charge``, ``polarization``, ``beam_helicity`` of :class:`LfvSampler`.

    Returns
    -------
    LfvSampler
        The sampler (``sigma`` in pb at G = 1 GeV⁻², ``sigma_at``, ``sample``).
    """
    _check_mass(mass, "lfv_tau")
    return LfvSampler("lfv_tau", energy, material, x_min, **kwargs)


def make_sampler_e(mass: float, energy: float, material: str, x_min: float, **kwargs
                   ) -> LfvSampler:
    """The lfv_e sampler (``mass`` must be m_e; x = 1 − E_e/E_0, θ = the electron's angle).

    Parameters
    ----------
    mass : float
        Must equal m_e (within 1 MeV).
    energy : float
        Beam-muon energy [GeV].
    material : str
        Target material.
    x_min : float
        Lower cut on x.
    **kwargs
        ``recoil_max``, ``charge``, ``beam_helicity`` of :class:`LfvSampler`.

    Returns
    -------
    LfvSampler
        The sampler.
    """
    _check_mass(mass, "lfv_e")
    return LfvSampler("lfv_e", energy, material, x_min, **kwargs)


def _check_mass(mass, model: str) -> None:
    m = float(mass)
    ref = _LEPTON_MASS[model]
    if not (math.isfinite(m) and abs(m - ref) < 1e-3):
        raise ValueError(f"mass={mass!r} GeV: the {model} model has no free mass; "
                         f"pass the produced lepton's mass {ref:.6g} GeV")


#: the module's primary interface (lfv_tau)
make_sampler = make_sampler_tau


def br_invisible_tau(mass: float, coupling: float) -> float:
    """Fraction of produced τ giving the missing-momentum signature: BR(τ → μνν̄) = 0.1739.

    τ → eνν̄ and hadronic decays fail the ECAL/VETO cuts and are counted as lost (module
    docstring, section 3). The τ decays promptly (cτ = 87 μm) inside the target.

    Parameters
    ----------
    mass : float
        Must equal m_τ (within 1 MeV).
    coupling : float
        G [GeV⁻²] (the branching does not depend on it).

    Returns
    -------
    float
        0.1739 (PDG 2024, ± 0.0004).
    """
    _check_mass(mass, "lfv_tau")
    _check_coupling(coupling)
    return BR_TAU_MUNUNU


def br_invisible_e(mass: float, coupling: float) -> float:
    """Signature fraction of lfv_e: 1 (the electron is stable and prompt; its selection is
    :func:`lfv_e_selection_efficiency`).

    Parameters
    ----------
    mass : float
        Must equal m_e (within 1 MeV).
    coupling : float
        G [GeV⁻²].

    Returns
    -------
    float
        1.0.
    """
    _check_mass(mass, "lfv_e")
    _check_coupling(coupling)
    return 1.0


#: the module's primary interface (lfv_tau)
br_invisible = br_invisible_tau

MODEL_INFO_TAU: dict = {
    "name": "lfv_tau",
    "label": "LFV mu -> tau conversion (tau -> mu nu nu)",
    "coupling": "G_mutau",
    "coupling_label": r"$G_{\mu\tau}$",
    "coupling_unit": "GeV^-2",
    "pdgid": 15,
    "reference": ("operator (G/sqrt2)(tau-bar g(1-g5) mu)(q-bar g(1-g5) q), q = u, d; DIS (LO, "
                  "normalised to the PDG nu CC cross-sections) + coherent on the nucleus (Helm, "
                  "Lewin & Smith 1996); missing-energy search proposed in hep-ph/0106302 "
                  "(Gninenko, Kirsanov, Krasnikov, Matveev); NA64: PRD 98 (2018) 015007"),
    "description": ("mu N -> tau X in flight with tau -> mu nu nu: a soft muon and missing energy; "
                    "mass is fixed to m_tau"),
}

MODEL_INFO_E: dict = {
    "name": "lfv_e",
    "label": "LFV mu -> e conversion",
    "coupling": "G_mue",
    "coupling_label": r"$G_{\mu e}$",
    "coupling_unit": "GeV^-2",
    "pdgid": 11,
    "reference": ("operator (G/sqrt2)(e-bar g(1-g5) mu)(q-bar g(1-g5) q), q = u, d; DIS (LO, "
                  "normalised to the PDG nu CC cross-sections) + coherent on the nucleus"),
    "description": ("mu N -> e X in flight: an electron shower of ~E_0 in the ECAL and no outgoing "
                    "muon; needs its own trigger and selection (docs/models/lfv.md)"),
}

#: the module's primary MODEL_INFO (lfv_tau)
MODEL_INFO = MODEL_INFO_TAU

#: both models of this module: name -> (make_sampler, br_invisible, MODEL_INFO)
MODELS: dict = {
    "lfv_tau": (make_sampler_tau, br_invisible_tau, MODEL_INFO_TAU),
    "lfv_e": (make_sampler_e, br_invisible_e, MODEL_INFO_E),
}


# ---------------------------------------------------------------------------------------------
# lfv_e: selection efficiency and backgrounds (analytic estimates; the generator simulates the
# signal, final_state "electron" of the registry, but not the muon decays in flight)
# ---------------------------------------------------------------------------------------------
def muon_decay_probability(momentum: float, length: float) -> float:
    """Probability that a muon of ``momentum`` decays within ``length``: 1 − exp(−L m/(p cτ_μ)).

    Parameters
    ----------
    momentum : float
        Muon momentum [GeV].
    length : float
        Flight length [cm].

    Returns
    -------
    float
        The decay probability.
    """
    p, length = float(momentum), float(length)
    if not (p > 0 and length >= 0):
        raise ValueError(f"momentum={momentum!r}, length={length!r}: expected p > 0, L >= 0")
    return -math.expm1(-length * M_MU / (p * TAU_MU_S * C_CM_S))


def lfv_e_selection_efficiency(energy: float = 160.0, *, z_min: float = 0.9,
                               ecal_stochastic: float = 0.10, p_in_resolution: float = 0.038,
                               trigger_efficiency: float = 0.98, channel: str = "coherent",
                               recoil_max: float | None = None, charge: int = 1,
                               target_x0: float | None = None,
                               critical_energy: float = 7.43e-3) -> float:
    """Design efficiency of the lfv_e selection for the signal (an estimate, not simulated).

    Selection: one incoming muon measured in MS1 (p_in ≈ E_0); E_ECAL ≥ z_min p_in; no track in
    MS2; VETO, VHCAL and HCAL empty (≤ their noise cuts); a dedicated trigger on a large ECAL
    energy with no S_mu hit (the missing-momentum trigger needs an outgoing muon, so lfv_e
    events never fire it). Signal: coherent → E_ECAL = E_0 (40 X0 contain the shower); DIS →
    E_ECAL ≈ E_0(1 − y) + response·yE_0 with hadrons leaving into the VETO above ~1 GeV, so only
    ν < recoil_max is kept. The efficiency is trigger × P(E_meas ≥ z_min p_meas) with Gaussian
    ECAL (stochastic/√E) and MS1 (relative) resolutions × (DIS only) the small-recoil fraction.

    With ``target_x0`` (the target depth in radiation lengths; it is also the ECAL) the
    conversion vertex is uniform in depth and only the shower fraction c(d) contained behind it
    is measured: P = ⟨P(c(d)(1 + δ) ≥ z_min)⟩ over the depth, with the longitudinal profile
    dE/dt ∝ (bt)^{a−1} e^{−bt}, b = 0.5, a = 1 + b(ln(E/E_c) − 0.5) of an electron shower (PDG
    RPP, "Passage of particles through matter", eq. 34.36), c = P(a, b·depth left) (regularised
    incomplete gamma function). At 160 GeV in 40 X0 of Pb about 45 % of the conversions leak
    more than 10 % of their shower: the main signal loss of this selection.

    Parameters
    ----------
    energy : float
        Beam energy [GeV].
    z_min : float
        Cut on E_ECAL/p_in.
    ecal_stochastic : float
        ECAL stochastic term [GeV^0.5] (setup ecal.stochastic, 0.10: assumption there).
    p_in_resolution : float
        MS1 relative momentum resolution (setup ms1.resolution, 0.038).
    trigger_efficiency : float
        Efficiency of the dedicated ECAL trigger (assumption: the setup's 0.98 plateau).
    channel : {"coherent", "dis"}
        Signal channel.
    recoil_max : float, optional
        ν_max [GeV] for DIS (default :func:`max_invisible_recoil`).
    charge : {+1, -1}
        Beam-muon charge.
    target_x0 : float, optional
        Target (ECAL) depth in radiation lengths: average over a uniform conversion depth with
        the shower containment (default: the whole shower measured).
    critical_energy : float
        Critical energy of the absorber [GeV] (Pb: 7.43 MeV, PDG "Atomic and nuclear properties
        of materials").

    Returns
    -------
    float
        The signal efficiency in [0, 1].
    """
    e = _check_energy(energy)
    if channel not in ("coherent", "dis"):
        raise ValueError(f"channel={channel!r}: expected 'coherent' or 'dis'")
    sig_rel = math.hypot(float(ecal_stochastic) / math.sqrt(e), float(p_in_resolution))
    # P(E_meas/p_meas >= z_min) for a true ratio 1 (Gaussian, ratio of two resolutions)
    if target_x0 is None:
        p_pass = 0.5 * math.erfc((float(z_min) - 1.0) / (math.sqrt(2.0) * sig_rel))
    else:
        from scipy import special

        b = 0.5
        a = 1.0 + b * (math.log(e / float(critical_energy)) - 0.5)
        depth = (np.arange(4000) + 0.5) / 4000.0      # midpoints of a uniform depth grid
        contained = special.gammainc(a, b * float(target_x0) * (1.0 - depth))
        arg = (float(z_min) / np.maximum(contained, 1e-300) - 1.0) / (math.sqrt(2.0) * sig_rel)
        p_pass = float(np.mean(special.erfc(arg) / 2.0))
    eff = float(trigger_efficiency) * p_pass
    if channel == "dis":
        nu_max = max_invisible_recoil() if recoil_max is None else float(recoil_max)
        eff *= dis_small_recoil_fraction(nu_max, e, lepton="lfv_e", charge=charge)
    return eff


def lfv_e_backgrounds(mot: float = 1.98e10, energy: float = 160.0, *, decay_length: float = 2000.0,
                      z_min: float = 0.9, beam_polarization: float = 0.0,
                      target: str = "Pb", thickness: float = 22.5, veto_inefficiency: float = 1e-4,
                      ms2_track_loss: float | None = None, ms2_hits: int = 12,
                      ms2_hits_min: int = 8, plane_efficiency: float = 0.97,
                      beam_electron_fraction: float | None = None) -> dict[str, float | None]:
    """Labelled estimates of the lfv_e backgrounds [events] for ``mot`` muons on target.

    - ``muon_decay_in_flight``: a beam μ⁺ → e⁺νν̄ between the last MS1 station and the ECAL
      (``decay_length``, setup beam.decay_length, an assumption there) gives an e⁺ shower and no
      muon: N = MOT · P_decay · P(z > z_min), P_decay = L m_μ/(p cτ_μ) (2.0e-5 at 160 GeV, 20 m)
      and z the e⁺ energy fraction (Michel, :func:`michel_cdf` with P = −beam helicity for μ⁺;
      unpolarised by default, an assumption). The e⁺ has the full MS1 momentum measurement, so
      only the energy balance separates it: the leading lfv_e background.
    - ``hard_loss_lost_muon``: a hard bremsstrahlung / pair / photonuclear loss v > z_min in the
      target (:func:`na64tools.physics.eloss.total_cross_section`) with the muon then missed by
      both the VETO (``veto_inefficiency``, assumption) and MS2 (binomial: fewer than
      ``ms2_hits_min`` of ``ms2_hits`` planes at ``plane_efficiency``, setup ms2.*).
    - ``beam_electrons``: MOT × ``beam_electron_fraction`` × P(E ≥ z_min E_0) ≈ MOT × fraction;
      ``None`` (not estimated) unless the e± contamination of the M2 muon beam is given: it is
      not in the setup.
    - Hadron contamination (π⁺, K⁺ interacting in the ECAL) gives a hadronic shower with leakage
      into the VETO/HCAL; not estimated (the setup's hadron fractions are calibrated to the
      missing-momentum backgrounds, not to this signature).

    Parameters
    ----------
    mot : float
        Muons on target.
    energy : float
        Beam energy [GeV].
    decay_length : float
        Flight path from the last MS1 station to the ECAL [cm].
    z_min : float
        Cut on E_ECAL/p_in.
    beam_polarization : float
        Helicity of the beam μ⁺ (0: unpolarised, an assumption).
    target : str
        Target material.
    thickness : float
        Target thickness [cm].
    veto_inefficiency : float
        Probability that the VETO misses a traversing muon (assumption: 1e-4).
    ms2_track_loss : float, optional
        Probability that MS2 reconstructs no track of a traversing muon (default: binomial from
        the plane efficiency).
    ms2_hits, ms2_hits_min : int
        MS2 planes and the minimum hits of a track.
    plane_efficiency : float
        MS2 plane efficiency.
    beam_electron_fraction : float, optional
        e± per muon in the beam (not known: None).

    Returns
    -------
    dict
        Estimated events per source (``None`` where not estimated) and ``decay_probability``.
    """
    from .eloss import total_cross_section

    e = _check_energy(energy)
    p = math.sqrt(e * e - M_MU**2)
    p_dec = muon_decay_probability(p, decay_length)
    # μ⁺ → e⁺: in this module's convention P = −(μ⁺ helicity)
    frac_z = 1.0 - float(michel_cdf(z_min, -float(beam_polarization)))
    n_dif = float(mot) * p_dec * frac_z
    mat = _material(target)
    sig = sum(float(total_cross_section(proc, e, mat, v_min=z_min))
              for proc in ("brems", "pair", "photonuclear"))
    p_loss = sig * mat.n_atoms * float(thickness)
    if ms2_track_loss is None:
        pe = float(plane_efficiency)
        ms2_track_loss = sum(math.comb(ms2_hits, k) * pe**k * (1 - pe) ** (ms2_hits - k)
                             for k in range(ms2_hits_min))
    n_loss = float(mot) * p_loss * float(veto_inefficiency) * float(ms2_track_loss)
    n_el = None if beam_electron_fraction is None else float(mot) * float(beam_electron_fraction)
    return {
        "decay_probability": p_dec,
        "muon_decay_in_flight": n_dif,
        "hard_loss_lost_muon": n_loss,
        "beam_electrons": n_el,
        "hadrons": None,
    }


#: relative uncertainty of the analytic lfv_e background estimate (assumption). It stands for:
#: the unknown helicity h of the M2 μ⁺ beam (the estimate is for h = 0; h = −0.5 lowers it by
#: ~40 %, the V−A signal by 50 %), the flight path beam.decay_length (20 m, an assumption of the
#: setup: ±25 % changes the estimate by ±25 %), and the cut efficiencies the estimate does not
#: apply (trigger plateau, MS1 window, pile-up: ≈ 0.6 for the simulated signal, so the estimate is
#: conservative by up to ~40 %). 50 % covers each of them alone, not all at once.
LFV_E_BACKGROUND_UNCERTAINTY: float = 0.5


def decay_in_flight_fraction(z_min: float = 0.9, resolution: float = 0.0, polarization: float = 0.0,
                             n: int = 20001) -> float:
    """Fraction of μ → eνν̄ decays in flight whose e carries a *measured* energy fraction ≥ z_min.

    The lab-frame energy fraction z = E_e/E_μ has the boosted Michel spectrum
    :func:`michel_pdf` (massless limit); the measured ratio E_ECAL/p_in is z(1 + δ) with δ
    Gaussian of relative width ``resolution`` (ECAL and MS1 combined). Without resolution this
    is 1 − :func:`michel_cdf` (z_min); the resolution moves the many decays just below z_min
    above it.

    Parameters
    ----------
    z_min : float
        Cut on E_ECAL/p_in.
    resolution : float
        Relative resolution of the measured ratio (0: none).
    polarization : float
        P of :func:`michel_pdf` (μ⁺: P = −helicity; 0 unpolarised).
    n : int
        Integration points in z.

    Returns
    -------
    float
        The fraction in [0, 1].
    """
    zc, sig = float(z_min), float(resolution)
    if sig <= 0:
        return float(1.0 - michel_cdf(zc, polarization))
    z = np.linspace(0.0, 1.0, int(n))
    f = michel_pdf(z, polarization)
    arg = (z - zc) / (sig * np.maximum(z, 1e-12) * math.sqrt(2.0))
    p_pass = 0.5 * np.array([math.erfc(-a) for a in arg])
    return float(np.trapezoid(f * p_pass, z))


def lfv_e_background_estimate(mot: float, setup=None, cuts=None) -> dict[str, dict]:
    """The lfv_e background for ``mot`` muons on target: a labelled analytic estimate.

    The fast simulation does not model muon decays in flight, μ⁺ → e⁺νν̄ between the last MS1
    station and the ECAL, the dominant lfv_e background (:func:`lfv_e_backgrounds`), so the
    limits use this estimate instead of the simulated background sample:

    - ``muon_decay_in_flight_estimate``: MOT · P_decay(p = E_0, L = ``beam.decay_length``) ·
      :func:`decay_in_flight_fraction` (z_min, the ECAL and MS1 resolutions of the setup,
      unpolarised beam); none of the other cut efficiencies is applied (conservative);
    - ``hard_loss_lost_muon_estimate``: :func:`lfv_e_backgrounds` (a hard loss v > z_min with the
      muon missed by the VETO and MS2).

    Each carries the relative uncertainty :data:`LFV_E_BACKGROUND_UNCERTAINTY` (an assumption,
    its reasoning there) as a systematic; beam electrons and hadrons are not estimated (see
    :func:`lfv_e_backgrounds`).

    Parameters
    ----------
    mot : float
        Muons on target.
    setup : na64tools.config.Setup, optional
        The setup (beam energy, decay length, target, ECAL and MS1 resolutions, MS2 planes);
        default: the shipped 2022 setup.
    cuts : na64tools.config.LfvECuts, optional
        The lfv_e selection (its ``z_min``); default :class:`~na64tools.config.LfvECuts`.

    Returns
    -------
    dict
        ``{source: {"value": events, "error": events, "label": str}}``.
    """
    from ..config import LfvECuts, default_setup

    setup = default_setup() if setup is None else setup
    cuts = LfvECuts() if cuts is None else cuts
    mot = float(mot)
    if not (math.isfinite(mot) and mot > 0):
        raise ValueError(f"mot={mot!r}: expected a positive number of muons on target")
    e0 = float(setup.beam.energy)
    res = math.hypot(float(setup.ecal.stochastic) / math.sqrt(e0), float(setup.ms1.resolution))
    p_dec = muon_decay_probability(math.sqrt(e0 * e0 - M_MU**2), float(setup.beam.decay_length))
    frac = decay_in_flight_fraction(cuts.z_min, res)
    loss = lfv_e_backgrounds(mot, e0, z_min=cuts.z_min, target=str(setup.target.material),
                             thickness=float(setup.target.thickness),
                             ms2_hits=int(setup.ms2.hits),
                             plane_efficiency=float(setup.ms2.plane_efficiency))["hard_loss_lost_muon"]
    rel = LFV_E_BACKGROUND_UNCERTAINTY
    dif = mot * p_dec * frac
    return {
        "muon_decay_in_flight_estimate": {
            "value": dif, "error": rel * dif,
            "label": (f"muon decays in flight mu+ -> e+ nu nu over {float(setup.beam.decay_length):g} "
                      f"cm (P = {p_dec:.3g}) with E_ECAL/p_in >= {cuts.z_min:g} (fraction "
                      f"{frac:.3g}, Michel spectrum, unpolarised beam, resolution {res:.3g})")},
        "hard_loss_lost_muon_estimate": {
            "value": loss, "error": rel * loss,
            "label": "hard energy loss v > z_min with the muon missed by the VETO and MS2"},
    }

