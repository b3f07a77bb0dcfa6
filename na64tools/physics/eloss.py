"""Standard-Model muon energy-loss cross-sections: bremsstrahlung, e+e- pair production and
photonuclear interaction of a high-energy muon on an atom.

These are the visible "catastrophic" energy losses that the NA64mu selection fights (a muon
that leaves half of its energy in the active target in one interaction; docs/references.md
section 4). The formulas are those of the Moscow (MEPhI) group, as used by Groom, Mokhov and
Striganov, "Muon stopping power and range tables 10 MeV-100 TeV", At. Data Nucl. Data Tables
78 (2001) 183 (hereafter GMS), and by Geant4 (Physics Reference Manual, chapter "Muon
interactions", and the classes ``G4MuBremsstrahlungModel``, ``G4MuPairProductionModel``,
``G4KokoulinMuonNuclearXS``). They were re-derived here from the Physics Reference Manual and
checked against the Geant4 classes; see each function for the exact formula.

Conventions (one for the whole module)
--------------------------------------
``E``
    muon *total* energy [GeV] (numpy array or scalar, broadcast against ``v``).
``v``
    fraction of the muon energy transferred, ``v = epsilon / E``, with ``epsilon`` the energy
    of the bremsstrahlung photon, of the e+e- pair, or of the virtual photon absorbed by the
    nucleus. The muon leaves with ``(1 - v) E``.
``dsigma_dv_<process>(E, v, target)``
    the differential cross-section ``d sigma / d v`` in **cm^2 per atom** (one nucleus together
    with its Z atomic electrons, which is how the formulas are written). It is exactly zero
    where ``v`` is outside the kinematic range of the process (see :func:`v_limits`).
``v_dsigma_dv(process, E, v, target)``
    ``(N_A / A) v d sigma / d v`` in **cm^2/g**: the integrand of the energy-loss
    coefficient ``b``.
``b_value(process, E, target)``
    ``b(E) = (N_A / A) int v (d sigma / d v) dv`` in units of **1e-6 cm^2/g** (the unit of the GMS
    tables), so that ``-dE/dx = b(E) E rho`` for the process.
``total_cross_section(process, E, target, v_min)``
    ``int_{v_min}^{v_max} (d sigma / d v) dv`` in **cm^2 per atom**. Multiply by
    ``material(target).n_atoms`` for the interaction rate per cm, or by ``N_A / A`` for cm^2/g.

Formula coefficients (183, 1429, 1.54 A^0.27, 1.95e-5, 0.4 GeV^2, ...) are literature
parameters of the cited formulas, named below with their source; they are not detector
assumptions. Physical constants come from ``scipy.constants`` (CODATA) and masses from
``particle`` (PDG).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from particle import Particle
from scipy import constants as _codata

from .materials import AVOGADRO, Material, material

__all__ = [
    "PROCESSES",
    "dsigma_dv_brems",
    "dsigma_dv_pair",
    "dsigma_dv_photonuclear",
    "dsigma_dv",
    "v_dsigma_dv",
    "v_limits",
    "b_value",
    "total_cross_section",
    "EnergyLossSampler",
]

#: Names of the energy-loss processes.
PROCESSES = ("brems", "pair", "photonuclear")

# --- physical constants ----------------------------------------------------------------------
#: Fine-structure constant (CODATA, via scipy.constants).
ALPHA = _codata.fine_structure
#: Classical electron radius [cm] (CODATA, via scipy.constants).
R_E = _codata.physical_constants["classical electron radius"][0] * 100.0
#: Muon, electron and proton masses [GeV] (PDG, via the ``particle`` package).
M_MU = Particle.from_pdgid(13).mass / 1000.0
M_E = Particle.from_pdgid(11).mass / 1000.0
M_P = Particle.from_pdgid(2212).mass / 1000.0
SQRT_E = float(np.sqrt(np.e))
#: 1 microbarn in cm^2.
MICROBARN = 1e-30

# --- bremsstrahlung parameters (Kelner-Kokoulin-Petrukhin; GMS sec. 5.1; Geant4 PRM
# "Muon bremsstrahlung"; G4MuBremsstrahlungModel) -----------------------------------------
#: Screening constants B (nucleus) and B' (atomic electrons) of the Thomas-Fermi atom, Z > 1.
BREMS_B, BREMS_B1 = 183.0, 1429.0
#: The same for hydrogen (Z = 1).
BREMS_B_H, BREMS_B1_H = 202.4, 446.0
#: Nuclear-size parameter D_n = 1.54 A^0.27 (Kelner-Kokoulin-Petrukhin).
BREMS_DN_COEFF, BREMS_DN_POWER = 1.54, 0.27

# --- pair-production parameters (Kokoulin-Petrukhin; Kelner for the atomic electrons;
# Geant4 PRM "Positron-electron pair production by muons"; G4MuPairProductionModel) --------
#: gamma_1, gamma_2 of the atomic-electron term zeta(E, Z) for Z > 1 and for hydrogen.
PAIR_GAMMA1, PAIR_GAMMA2 = 1.95e-5, 5.3e-5
PAIR_GAMMA1_H, PAIR_GAMMA2_H = 4.4e-5, 4.8e-5
#: Number of Gauss-Legendre points of the integral over the pair asymmetry rho
#: (Geant4 uses 8 in ln(1 - rho); 8 points agree with 32 to better than 0.1 %, see tests).
PAIR_N_RHO = 8

# --- photonuclear parameters (Borog-Petrukhin with Kokoulin's parametrisation; Geant4 PRM
# "Muon photonuclear interaction"; G4KokoulinMuonNuclearXS) --------------------------------
#: Lambda^2 [GeV^2] of the virtual-photon propagator (Borog-Petrukhin).
PHOTONUC_LAMBDA2 = 0.4
#: Photon-nucleon cross-section sigma = a + b ln(eps/GeV) + c / sqrt(eps/GeV) [microbarn]
#: (Kokoulin's fit used by Geant4).
PHOTONUC_SIGMA_A, PHOTONUC_SIGMA_B, PHOTONUC_SIGMA_C = 49.2, 11.1, 151.8
#: Lowest virtual-photon energy [GeV] where the formula is used (Geant4 ``CutFixed``; below it
#: the resonance region is not described by the parametrisation).
PHOTONUC_EPS_MIN = 0.2

# --- numerical integration -------------------------------------------------------------------
_GL_NODES, _GL_WEIGHTS = np.polynomial.legendre.leggauss(8)
_GL01_X = 0.5 * (_GL_NODES + 1.0)  # nodes on [0, 1]
_GL01_W = 0.5 * _GL_WEIGHTS
#: Panels of the composite 8-point Gauss-Legendre rule in ln v for b and sigma.
_N_PANELS = 24
#: Lower end of the ln v integration of b for bremsstrahlung (integrand ~ v there).
_V_FLOOR_B = 1e-9


# ==============================================================================================
# input checks
# ==============================================================================================
def _check_process(process: str) -> str:
    if process not in PROCESSES:
        raise ValueError(f"unknown energy-loss process {process!r} (expected one of {PROCESSES})")
    return process


def _check_energy(E) -> np.ndarray:
    E = np.asarray(E, dtype=float)
    bad = ~np.isfinite(E) | (E <= M_MU)
    if np.any(bad):
        raise ValueError(
            f"muon total energy E must be finite and > m_mu = {M_MU:.6f} GeV; "
            f"got E = {float(E[bad].flat[0])!r} GeV"
        )
    return E


def _check_v(v) -> np.ndarray:
    v = np.asarray(v, dtype=float)
    bad = ~((v > 0.0) & (v < 1.0))
    if np.any(bad):
        raise ValueError(
            f"energy fraction v must lie in the open interval (0, 1); got v = {float(v[bad].flat[0])!r}"
        )
    return v


def _element(target: str | Material) -> tuple[float, float]:
    mat = material(target)
    return float(mat.Z), float(mat.A)


# ==============================================================================================
# kinematic limits
# ==============================================================================================
def v_limits(process: str, E, target: str | Material = "Pb") -> tuple[np.ndarray, np.ndarray]:
    """Kinematic range ``(v_lo, v_hi)`` of the energy fraction for ``process`` at energy ``E``.

    - ``brems``: ``0 < v <= 1 - m_mu/E`` (the photon takes at most the kinetic energy;
      G4MuBremsstrahlungModel). The KKP screening functions vanish (are clipped at zero) before
      that end point.
    - ``pair``: ``4 m_e / E <= v <= 1 - (3/4) sqrt(e) (m_mu / E) Z^(1/3)`` (Kokoulin-Petrukhin;
      Geant4 PRM "Muon pair production", kinematic limits; GMS sec. 5.2).
    - ``photonuclear``: ``eps_min / E <= v <= 1 - M_p / (2E)`` with ``eps_min`` =
      :data:`PHOTONUC_EPS_MIN` (G4KokoulinMuonNuclearXS).

    Returns arrays shaped like ``E``; where the range is empty ``v_lo >= v_hi``.

    Parameters
    ----------
    process : {"brems", "pair", "photonuclear"}
        The energy-loss process.
    E : float or array_like
        Total muon energy [GeV].
    target : str or Material
        Target material (Pb, W, ...).

    Returns
    -------
    v_lo, v_hi : numpy.ndarray
        The bounds of v at each energy.
    """
    _check_process(process)
    E = _check_energy(E)
    Z, _ = _element(target)
    if process == "brems":
        lo = np.zeros_like(E)
        hi = 1.0 - M_MU / E
    elif process == "pair":
        lo = 4.0 * M_E / E
        hi = 1.0 - 0.75 * SQRT_E * (M_MU / E) * Z ** (1.0 / 3.0)
    else:
        lo = PHOTONUC_EPS_MIN / E
        hi = 1.0 - 0.5 * M_P / E
    return lo, hi


# ==============================================================================================
# differential cross-sections (no input checks: E, v already validated and broadcast)
# ==============================================================================================
def _brems(E: np.ndarray, v: np.ndarray, Z: float, A: float) -> np.ndarray:
    """Kelner-Kokoulin-Petrukhin muon bremsstrahlung, d sigma/dv [cm^2 per atom].

    Geant4 PRM, "Muon bremsstrahlung", differential cross section; GMS sec. 5.1:

        d sigma/d eps = (16/3) alpha N (r_e m_e/m_mu)^2 (1/eps) Z (Z Phi_n + Phi_e)
                        (1 - v + 3/4 v^2),      d sigma/dv = E d sigma/d eps,

    with ``delta = m_mu^2 v / (2 E (1 - v))`` the minimal momentum transfer and

    - nucleus (screening and finite nuclear size through ``D_n' = D_n^(1 - 1/Z)``,
      ``D_n = 1.54 A^0.27``)::

        Phi_n = ln[ B Z^(-1/3) (m_mu + delta (D_n' sqrt(e) - 2))
                    / (D_n' (m_e + delta sqrt(e) B Z^(-1/3))) ]

    - atomic electrons (only for ``eps < E / (1 + m_mu^2 / (2 m_e E))``)::

        Phi_e = ln[ B' Z^(-2/3) m_mu
                    / ((1 + delta m_mu / (m_e^2 sqrt(e))) (m_e + delta sqrt(e) B' Z^(-2/3))) ]

    ``B = 183``, ``B' = 1429`` (``202.4``, ``446`` for hydrogen); both Phi are clipped at 0.
    """
    z13 = Z ** (1.0 / 3.0)
    dn = BREMS_DN_COEFF * A**BREMS_DN_POWER
    if Z < 1.5:
        b, b1, dn_star = BREMS_B_H, BREMS_B1_H, dn
    else:
        b, b1, dn_star = BREMS_B, BREMS_B1, dn ** (1.0 - 1.0 / Z)
    v_hi = 1.0 - M_MU / E
    ok = v < v_hi
    vs = np.where(ok, v, 0.5 * v_hi)  # safe value outside the range (result masked below)
    delta = 0.5 * M_MU**2 * vs / (E * (1.0 - vs))
    bz = b / z13
    phi_n = np.log(
        bz * (M_MU + delta * (dn_star * SQRT_E - 2.0)) / (dn_star * (M_E + delta * SQRT_E * bz))
    )
    phi_n = np.maximum(phi_n, 0.0)
    b1z = b1 / z13**2
    phi_e = np.log(
        b1z * M_MU / ((1.0 + delta * M_MU / (M_E**2 * SQRT_E)) * (M_E + delta * SQRT_E * b1z))
    )
    eps_e_max = E / (1.0 + 0.5 * M_MU**2 / (M_E * E))
    phi_e = np.where(vs * E < eps_e_max, np.maximum(phi_e, 0.0), 0.0)
    coeff = 16.0 / 3.0 * ALPHA * (R_E * M_E / M_MU) ** 2
    ds = coeff / vs * Z * (Z * phi_n + phi_e) * (1.0 - vs + 0.75 * vs**2)
    return np.where(ok, ds, 0.0)


def _pair(E: np.ndarray, v: np.ndarray, Z: float, A: float, n_rho: int = PAIR_N_RHO) -> np.ndarray:
    """Kokoulin-Petrukhin direct e+e- pair production, d sigma/dv [cm^2 per atom].

    Geant4 PRM, "Positron-electron pair production by muons", differential cross section;
    GMS sec. 5.2 (Kokoulin & Petrukhin 1969/1971 with Kelner's atomic-electron term)::

        d sigma/dv = (4 / (3 pi)) Z (Z + zeta) (alpha r_e)^2 ((1 - v) / v)
                     int_0^rho_max [Phi_e + (m_e/m_mu)^2 Phi_mu] d rho,

        rho_max = [1 - 6 m_mu^2 / (E^2 (1 - v))] sqrt(1 - 4 m_e / (v E)),

    ``beta = v^2 / (2 (1 - v))``, ``xi = (m_mu v / (2 m_e))^2 (1 - rho^2) / (1 - v)``,
    ``Phi_{e,mu} = B_{e,mu} L_{e,mu}`` (each clipped at 0) with

    - ``B_e = [(2 + rho^2)(1 + beta) + xi (3 + rho^2)] ln(1 + 1/xi) + (1 - rho^2 - beta)/(1 + xi)
      - (3 + rho^2)``  (for ``xi > 1e3``: ``[(3 - rho^2) + 2 beta (1 + rho^2)] / (2 xi)``);
    - ``B_mu = [(1 + rho^2)(1 + 3 beta/2) - (1 + 2 beta)(1 - rho^2)/xi] ln(1 + xi)
      + xi (1 - rho^2 - beta)/(1 + xi) + (1 + 2 beta)(1 - rho^2)``
      (for ``xi < 1e-3``: ``(xi/2) [(5 - rho^2) + beta (3 + rho^2)]``);
    - ``Y_e = [5 - rho^2 + 4 beta (1 + rho^2)] /
      [2 (1 + 3 beta) ln(3 + 1/xi) - rho^2 - 2 beta (2 - rho^2)]``;
    - ``Y_mu = [4 + rho^2 + 3 beta (1 + rho^2)] /
      [(1 + rho^2)(3/2 + 2 beta) ln(3 + xi) + 1 - 3 rho^2 / 2]``;
    - ``L_e = ln[B Z^(-1/3) sqrt((1 + xi)(1 + Y_e)) / (1 + S (1 + Y_e))]
      - 1/2 ln[1 + (3 m_e Z^(1/3) / (2 m_mu))^2 (1 + xi)(1 + Y_e)]``;
    - ``L_mu = ln[(m_mu/m_e) B Z^(-1/3) / (3/2 Z^(1/3) (1 + S (1 + Y_mu)))]``

    (the last terms are the finite nuclear-size correction), where
    ``S = 2 m_e sqrt(e) B Z^(-1/3) (1 + xi) / (v E (1 - rho^2))`` and ``B = 183`` (202.4 for H).
    The atomic electrons enter through ``zeta = [0.073 ln(x / (1 + g1 Z^(2/3) x)) - 0.26] /
    [0.058 ln(x / (1 + g2 Z^(1/3) x)) - 0.14]``, ``x = E/m_mu``, set to 0 when the numerator is
    negative. The rho integral is done with ``n_rho``-point Gauss-Legendre quadrature in
    ``t = ln(1 - rho)`` (the substitution Geant4 uses), which tames the peak at ``rho -> 1``.
    """
    z13 = Z ** (1.0 / 3.0)
    z23 = z13 * z13
    if Z < 1.5:
        bb, g1, g2 = BREMS_B_H, PAIR_GAMMA1_H, PAIR_GAMMA2_H
    else:
        bb, g1, g2 = BREMS_B, PAIR_GAMMA1, PAIR_GAMMA2
    eps = v * E
    v_lo = 4.0 * M_E / E
    v_hi = 1.0 - 0.75 * SQRT_E * (M_MU / E) * z13
    ok = (v > v_lo) & (v < v_hi)
    vs = np.where(ok, v, 0.5 * (v_lo + v_hi))
    eps = vs * E
    resid = E - eps
    alf = 4.0 * M_E / eps
    rt = np.sqrt(1.0 - alf)
    delta6 = 6.0 * M_MU**2 / (E * resid)
    one_minus_rhomax = alf / (1.0 + rt) + delta6 * rt  # = 1 - (1 - delta6) rt, stable form
    ok &= one_minus_rhomax < 1.0
    tmn = np.log(np.where(one_minus_rhomax < 1.0, one_minus_rhomax, 0.5))

    # zeta: contribution of the atomic electrons (Kelner)
    x = E / M_MU
    zeta1 = 0.073 * np.log(x / (1.0 + g1 * z23 * x)) - 0.26
    zeta2 = 0.058 * np.log(x / (1.0 + g2 * z13 * x)) - 0.14
    zeta = np.where(zeta1 > 0.0, zeta1 / np.where(zeta1 > 0.0, zeta2, 1.0), 0.0)

    mratio2 = (M_MU / M_E) ** 2
    beta = 0.5 * vs**2 / (1.0 - vs)
    xi0 = 0.5 * mratio2 * beta
    screen0 = 2.0 * M_E * SQRT_E * bb / (z13 * eps)

    if n_rho == PAIR_N_RHO:
        xg, wg = _GL01_X, _GL01_W
    else:
        nodes, weights = np.polynomial.legendre.leggauss(n_rho)
        xg, wg = 0.5 * (nodes + 1.0), 0.5 * weights
    # add a trailing axis for the rho quadrature
    tmn_, beta_, xi0_, screen0_ = (a[..., None] for a in (tmn, beta, xi0, screen0))
    e_t = np.exp(tmn_ * xg)  # = 1 - rho
    rho2 = (1.0 - e_t) ** 2
    omr2 = 1.0 - rho2
    xi = xi0_ * omr2
    xi1 = 1.0 + xi
    xii = 1.0 / xi
    b40 = 4.0 * beta_
    b62 = 6.0 * beta_ + 2.0
    ye1 = 1.0 + ((b40 + 5.0) + (b40 - 1.0) * rho2) / (
        b62 * np.log(3.0 + xii) + (2.0 * beta_ - 1.0) * rho2 - b40
    )
    ym1 = 1.0 + (b62 * (1.0 + rho2) + 6.0) / (
        (b40 + 3.0) * (1.0 + rho2) * np.log(3.0 + xi) + 2.0 - 3.0 * rho2
    )
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        be_full = (
            ((2.0 + rho2) * (1.0 + beta_) + xi * (3.0 + rho2)) * np.log1p(xii)
            + (omr2 - beta_) / xi1
            - (3.0 + rho2)
        )
        be_asym = 0.5 * (3.0 - rho2 + 2.0 * beta_ * (1.0 + rho2)) * xii
        be = np.where(xi <= 1e3, be_full, be_asym)
        a10 = (1.0 + 2.0 * beta_) * omr2
        bm_full = (
            ((1.0 + rho2) * (1.0 + 1.5 * beta_) - a10 * xii) * np.log1p(xi)
            + xi * (omr2 - beta_) / xi1
            + a10
        )
        bm_asym = 0.5 * (5.0 - rho2 + beta_ * (3.0 + rho2)) * xi
        bm = np.where(xi >= 1e-3, bm_full, bm_asym)
    screen = screen0_ * xi1 / omr2
    ale = np.log(bb / z13 * np.sqrt(xi1 * ye1) / (1.0 + screen * ye1))
    cre = 0.5 * np.log1p(2.25 * z23 * xi1 * ye1 / mratio2)
    fe = np.maximum((ale - cre) * be, 0.0)
    alm_crm = np.log(bb * (M_MU / M_E) / (1.5 * z23 * (1.0 + screen * ym1)))
    fm = np.maximum(alm_crm * bm, 0.0) / mratio2
    integral = -tmn * np.sum(wg * e_t * (fe + fm), axis=-1)  # = int_0^rho_max (...) d rho

    coeff = 4.0 / (3.0 * np.pi) * (ALPHA * R_E) ** 2
    ds = coeff * Z * (Z + zeta) * (1.0 - vs) / vs * integral
    return np.where(ok, np.maximum(ds, 0.0), 0.0)


def _photonuclear(E: np.ndarray, v: np.ndarray, Z: float, A: float) -> np.ndarray:
    """Borog-Petrukhin photonuclear interaction (Kokoulin's form), d sigma/dv [cm^2 per atom].

    Geant4 PRM, "Muon photonuclear interaction", differential cross section
    (G4KokoulinMuonNuclearXS); GMS sec. 5.3 for the physics::

        d sigma/d eps = (alpha/pi) (A_eff sigma_gammaN(eps) / eps) { -(1 - v)
            + [1 - v + v^2/2 (1 + 2 m_mu^2 / Lambda^2)]
              ln[ (E^2 (1 - v) / m_mu^2) (1 + m_mu^2 v^2 / (Lambda^2 (1 - v)))
                  / (1 + (eps/Lambda) (1 + Lambda / (2 M_p) + eps / Lambda)) ] },

    ``d sigma/dv = E d sigma/d eps``, with ``Lambda^2 = 0.4 GeV^2``, the photo-absorption
    cross-section on a nucleon ``sigma_gammaN = 49.2 + 11.1 ln(eps) + 151.8/sqrt(eps)`` microbarn
    (eps in GeV) and nuclear shadowing ``A_eff = 0.22 A + 0.78 A^0.89``; clipped at zero and
    defined for ``eps_min < eps < E - M_p/2`` (see :func:`v_limits`).
    """
    lam2 = PHOTONUC_LAMBDA2
    lam = np.sqrt(lam2)
    v_lo = PHOTONUC_EPS_MIN / E
    v_hi = 1.0 - 0.5 * M_P / E
    ok = (v > v_lo) & (v < v_hi)
    vs = np.where(ok, v, 0.5 * (v_lo + v_hi))
    eps = vs * E
    aeff = 0.22 * A + 0.78 * A**0.89
    sig = (
        PHOTONUC_SIGMA_A + PHOTONUC_SIGMA_B * np.log(eps) + PHOTONUC_SIGMA_C / np.sqrt(eps)
    ) * MICROBARN
    v1 = 1.0 - vs
    mu2 = M_MU**2
    up = E**2 * v1 / mu2 * (1.0 + mu2 * vs**2 / (lam2 * v1))
    down = 1.0 + eps / lam * (1.0 + lam / (2.0 * M_P) + eps / lam)
    bracket = -v1 + (v1 + 0.5 * vs**2 * (1.0 + 2.0 * mu2 / lam2)) * np.log(up / down)
    ds_deps = ALPHA / np.pi * aeff * sig / eps * bracket
    return np.where(ok, np.maximum(ds_deps * E, 0.0), 0.0)


_KERNELS: dict[str, Callable[..., np.ndarray]] = {
    "brems": _brems,
    "pair": _pair,
    "photonuclear": _photonuclear,
}


# ==============================================================================================
# public differential cross-sections
# ==============================================================================================
def dsigma_dv(process: str, E, v, target: str | Material = "Pb") -> np.ndarray:
    """``d sigma / d v`` [cm^2 per atom] of ``process`` for a muon of total energy ``E`` [GeV].

    ``E`` and ``v`` broadcast. Zero outside the kinematic range (:func:`v_limits`).

    Parameters
    ----------
    process : {"brems", "pair", "photonuclear"}
        The energy-loss process.
    E : float or array_like
        Total muon energy [GeV].
    v : float or array_like
        Fraction of the muon energy transferred, in (0, 1) (broadcast with ``E``).
    target : str or Material
        Target material (Pb, W, ...).

    Returns
    -------
    numpy.ndarray
        dσ/dv [cm² per atom].

    Raises
    ------
    ValueError
        unknown process or target, ``E <= m_mu`` or not finite, ``v`` outside (0, 1).
    """
    _check_process(process)
    E = _check_energy(E)
    v = _check_v(v)
    Z, A = _element(target)
    E, v = np.broadcast_arrays(E, v)
    return _KERNELS[process](E, v, Z, A)


def dsigma_dv_brems(E, v, target: str | Material = "Pb") -> np.ndarray:
    """Muon bremsstrahlung ``d sigma/dv`` [cm^2 per atom], nucleus with screening and nuclear
    size correction plus atomic electrons (Kelner-Kokoulin-Petrukhin; formula in ``_brems``:
    Geant4 PRM "Muon bremsstrahlung", G4MuBremsstrahlungModel, GMS sec. 5.1).

    Parameters
    ----------
    E : float or array_like
        Total muon energy [GeV].
    v : float or array_like
        Fraction of the muon energy transferred, in (0, 1) (broadcast with ``E``).
    target : str or Material
        Target material (Pb, W, ...).

    Returns
    -------
    numpy.ndarray
        dσ/dv [cm² per atom].
    """
    return dsigma_dv("brems", E, v, target)


def dsigma_dv_pair(E, v, target: str | Material = "Pb") -> np.ndarray:
    """Direct e+e- pair production ``d sigma/dv`` [cm^2 per atom] (Kokoulin-Petrukhin with the
    rho integral by Gauss-Legendre quadrature; formula in ``_pair``: Geant4 PRM "Muon pair
    production", G4MuPairProductionModel, GMS sec. 5.2).

    Parameters
    ----------
    E : float or array_like
        Total muon energy [GeV].
    v : float or array_like
        Fraction of the muon energy transferred, in (0, 1) (broadcast with ``E``).
    target : str or Material
        Target material (Pb, W, ...).

    Returns
    -------
    numpy.ndarray
        dσ/dv [cm² per atom].
    """
    return dsigma_dv("pair", E, v, target)


def dsigma_dv_photonuclear(E, v, target: str | Material = "Pb") -> np.ndarray:
    """Photonuclear ``d sigma/dv`` [cm^2 per atom] (Borog-Petrukhin in Kokoulin's form;
    formula in ``_photonuclear``: Geant4 PRM "Muon photonuclear interaction",
    G4KokoulinMuonNuclearXS, GMS sec. 5.3).

    Parameters
    ----------
    E : float or array_like
        Total muon energy [GeV].
    v : float or array_like
        Fraction of the muon energy transferred, in (0, 1) (broadcast with ``E``).
    target : str or Material
        Target material (Pb, W, ...).

    Returns
    -------
    numpy.ndarray
        dσ/dv [cm² per atom].
    """
    return dsigma_dv("photonuclear", E, v, target)


def v_dsigma_dv(process: str, E, v, target: str | Material = "Pb") -> np.ndarray:
    """``(N_A / A) v d sigma / d v`` [cm^2/g], the integrand of :func:`b_value` in ``v``.

    Parameters
    ----------
    process : {"brems", "pair", "photonuclear"}
        The energy-loss process.
    E : float or array_like
        Total muon energy [GeV].
    v : float or array_like
        Fraction of the muon energy transferred, in (0, 1) (broadcast with ``E``).
    target : str or Material
        Target material (Pb, W, ...).

    Returns
    -------
    numpy.ndarray
        (N_A/A) v dσ/dv [cm²/g].
    """
    _, A = _element(target)
    v_arr = np.asarray(v, dtype=float)
    return AVOGADRO / A * v_arr * dsigma_dv(process, E, v, target)


# ==============================================================================================
# integrals
# ==============================================================================================
def _integrate_lnv(
    process: str, E: np.ndarray, Z: float, A: float, lo: np.ndarray, hi: np.ndarray, power: int
) -> np.ndarray:
    """``int_lo^hi v^power (d sigma/dv) dv`` by composite Gauss-Legendre in ``ln v``.

    ``_N_PANELS`` panels of 8 points each, vectorised over ``E`` (1-D arrays).
    """
    out = np.zeros_like(E)
    good = hi > lo
    if not np.any(good):
        return out
    Eg, lo_g, hi_g = E[good], lo[good], hi[good]
    a, b = np.log(lo_g), np.log(hi_g)
    h = (b - a) / _N_PANELS
    # u[i, p, k]: panel p, node k
    starts = a[:, None] + h[:, None] * np.arange(_N_PANELS)[None, :]
    u = starts[..., None] + h[:, None, None] * _GL01_X[None, None, :]
    vv = np.exp(u)
    ds = _KERNELS[process](Eg[:, None, None], vv, Z, A)
    integrand = vv ** (power + 1) * ds  # d v = v d(ln v)
    out[good] = h * np.sum(integrand * _GL01_W, axis=(1, 2))
    return out


def b_value(
    process: str, E, target: str | Material = "Pb", v_cut: float | None = None
) -> np.ndarray:
    """Energy-loss coefficient ``b(E) = (N_A/A) int v (d sigma/dv) dv`` in **1e-6 cm^2/g**.

    GMS eq. for ``-dE/dx = a(E) + b(E) E`` (their b tables use the same unit). With ``v_cut``
    only ``v < v_cut`` is integrated (restricted, "continuous" part of the loss below a
    simulation threshold).

    Parameters
    ----------
    process : {"brems", "pair", "photonuclear"}
    E : float or array
        Muon total energy [GeV].
    target : str or Material
    v_cut : float, optional
        Upper limit of the ``v`` integral, in (0, 1).
    process : {"brems", "pair", "photonuclear"}
        The energy-loss process.
    E : float or array_like
        Total muon energy [GeV].
    target : str or Material
        Target material (Pb, W, ...).
    v_cut : float, optional
        Integrate only ``v < v_cut`` (default: the whole kinematic range).

    Returns
    -------
    numpy.ndarray
        b(E) [1e-6 cm²/g], shaped like ``E``.
    """
    _check_process(process)
    E = _check_energy(E)
    if v_cut is not None:
        _check_v(v_cut)
    Z, A = _element(target)
    shape = E.shape
    Ef = E.ravel()
    lo, hi = v_limits(process, Ef, target)
    lo = np.maximum(lo, _V_FLOOR_B)
    if v_cut is not None:
        hi = np.minimum(hi, v_cut)
    res = AVOGADRO / A * _integrate_lnv(process, Ef, Z, A, lo, hi, power=1) * 1e6
    return res.reshape(shape)


def total_cross_section(
    process: str,
    E,
    target: str | Material = "Pb",
    v_min: float = 1e-3,
    v_max: float | None = None,
) -> np.ndarray:
    """``sigma(v > v_min) = int_{v_min}^{v_max} (d sigma/dv) dv`` in **cm^2 per atom**.

    The upper limit is the kinematic one (:func:`v_limits`) unless ``v_max`` is smaller.
    Multiply by ``material(target).n_atoms`` [1/cm^3] for the interaction rate per cm, or by
    ``N_A/A`` for cm^2/g. For bremsstrahlung ``v_min`` must be > 0 (the integral diverges like
    ``ln(1/v_min)``).

    Parameters
    ----------
    process : {"brems", "pair", "photonuclear"}
        The energy-loss process.
    E : float or array_like
        Total muon energy [GeV].
    target : str or Material
        Target material (Pb, W, ...).
    v_min : float
        Lower bound of v (> 0).
    v_max : float, optional
        Upper bound of v (default: the kinematic one).

    Returns
    -------
    numpy.ndarray
        σ(v > v_min) [cm² per atom], shaped like ``E``.
    """
    _check_process(process)
    E = _check_energy(E)
    _check_v(v_min)
    if v_max is not None:
        _check_v(v_max)
    Z, A = _element(target)
    shape = E.shape
    Ef = E.ravel()
    lo, hi = v_limits(process, Ef, target)
    lo = np.maximum(lo, v_min)
    if v_max is not None:
        hi = np.minimum(hi, v_max)
    return _integrate_lnv(process, Ef, Z, A, lo, hi, power=0).reshape(shape)


# ==============================================================================================
# sampler
# ==============================================================================================
class EnergyLossSampler:
    """Tabulated inverse-CDF sampler of ``v`` for one process at one muon energy.

    The density of ``u = ln v`` is ``v d sigma/dv``; it is tabulated on ``n_grid`` equally
    spaced points of ``u`` between ``v_min`` and the kinematic (or given) ``v_max`` and taken as
    piecewise linear in ``u``; ``.sigma`` is its integral. The cumulative distribution of that
    table is inverted exactly (a quadratic in each cell) at ``n_quantiles + 1`` equally
    probable points, and :meth:`sample` interpolates linearly between them: one uniform number,
    a table look-up and an ``exp`` per value, with no search.

    Parameters
    ----------
    process : {"brems", "pair", "photonuclear"}
    E : float
        Muon total energy [GeV].
    target : str or Material
    v_min, v_max : float
        Sampling range of ``v``; clipped to the kinematic range of the process.
    n_grid : int
        Number of grid points in ``ln v``.
    n_quantiles : int
        Number of equally probable intervals of the inverse-CDF table used by :meth:`sample`.

    Attributes
    ----------
    sigma : float
        Cross-section for ``v_min < v < v_max`` [cm^2 per atom].
    sigma_per_cm : float
        ``sigma * n_atoms``: interaction rate per cm of target [1/cm].
    v_lo, v_hi : float
        Actual sampling range.

    Examples
    --------
    >>> s = EnergyLossSampler("brems", 160.0, "Pb", v_min=0.5)
    >>> v = s.sample(1000, np.random.default_rng(1))
    """

    def __init__(
        self,
        process: str,
        E: float,
        target: str | Material = "Pb",
        v_min: float = 1e-3,
        v_max: float | None = None,
        n_grid: int = 2048,
        n_quantiles: int = 65536,
    ) -> None:
        self.process = _check_process(process)
        E_arr = _check_energy(E)
        if E_arr.ndim != 0:
            raise ValueError(
                f"EnergyLossSampler needs a scalar energy, got E with shape {E_arr.shape}"
            )
        _check_v(v_min)
        if v_max is not None:
            _check_v(v_max)
        if int(n_grid) < 3:
            raise ValueError(f"n_grid must be >= 3, got {n_grid!r}")
        self.E = float(E_arr)
        self.target = material(target)
        Z, A = float(self.target.Z), float(self.target.A)
        lo, hi = v_limits(process, self.E, self.target)
        self.v_lo = float(max(lo, v_min))
        self.v_hi = float(hi if v_max is None else min(hi, v_max))
        if not self.v_lo < self.v_hi:
            raise ValueError(
                f"empty sampling range for {process!r} at E = {self.E} GeV: "
                f"v_min = {v_min!r}, v_max = {v_max!r}, kinematic range = ({float(lo)}, {float(hi)})"
            )
        self._u = np.linspace(np.log(self.v_lo), np.log(self.v_hi), int(n_grid))
        self._du = self._u[1] - self._u[0]
        vv = np.exp(self._u)
        self._f = vv * _KERNELS[process](np.full_like(vv, self.E), vv, Z, A)  # v dsigma/dv
        cells = 0.5 * (self._f[1:] + self._f[:-1]) * self._du
        self._cdf = np.concatenate([[0.0], np.cumsum(cells)])
        self.sigma = float(self._cdf[-1])
        if not self.sigma > 0.0:
            raise ValueError(
                f"cross-section of {process!r} vanishes for {self.v_lo} < v < {self.v_hi} "
                f"at E = {self.E} GeV"
            )
        self.sigma_per_cm = self.sigma * self.target.n_atoms
        if int(n_quantiles) < 2:
            raise ValueError(f"n_quantiles must be >= 2, got {n_quantiles!r}")
        q = np.linspace(0.0, self.sigma, int(n_quantiles) + 1)
        self._uq = self._inverse_cdf(q)
        self._uq[0], self._uq[-1] = self._u[0], self._u[-1]
        self._duq = np.diff(self._uq)

    def pdf(self, v) -> np.ndarray:
        """Normalised density ``dP/dv`` of the sampled ``v`` (zero outside the range).

        Parameters
        ----------
        v : float or array_like
            Energy fractions.

        Returns
        -------
        numpy.ndarray
            dP/dv at ``v``.
        """
        v = np.asarray(v, dtype=float)
        u = np.log(np.clip(v, self.v_lo, self.v_hi))
        f = np.interp(u, self._u, self._f) / self.sigma / v
        return np.where((v >= self.v_lo) & (v <= self.v_hi), f, 0.0)

    def _inverse_cdf(self, r: np.ndarray) -> np.ndarray:
        """Exact inverse of the tabulated CDF: ``ln v`` at cumulative cross-section ``r``."""
        i = np.searchsorted(self._cdf, r, side="right") - 1
        np.clip(i, 0, self._u.size - 2, out=i)
        f0 = self._f[i]
        slope = (self._f[i + 1] - f0) / self._du
        d = r - self._cdf[i]
        # solve f0 x + slope x^2 / 2 = d for x in [0, du] in the cancellation-free form
        den = f0 + np.sqrt(np.maximum(f0 * f0 + 2.0 * slope * d, 0.0))
        x = np.where(den > 0.0, 2.0 * d / np.where(den > 0.0, den, 1.0), 0.0)
        np.clip(x, 0.0, self._du, out=x)
        return self._u[i] + x

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """Draw ``n`` values of ``v``; deterministic for a given ``rng`` state.

        One uniform number per value: ``q = rng.random()`` falls between two of the
        ``n_quantiles + 1`` tabulated quantiles and ``ln v`` is interpolated linearly
        between them, so every quantile interval carries exactly its probability
        ``1/n_quantiles``.

        Parameters
        ----------
        n : int
            Number of draws.
        rng : numpy.random.Generator
            The random generator.

        Returns
        -------
        numpy.ndarray
            ``n`` values of v.
        """
        if not isinstance(rng, np.random.Generator):
            raise ValueError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
        n = int(n)
        if n < 0:
            raise ValueError(f"number of samples must be >= 0, got {n}")
        m = self._uq.size - 1
        r = rng.random(n) * m
        j = r.astype(np.intp)
        np.minimum(j, m - 1, out=j)
        u = self._uq[j] + (r - j) * self._duq[j]
        return np.exp(u, out=u)

    def __repr__(self) -> str:
        return (
            f"EnergyLossSampler({self.process!r}, E={self.E} GeV, target={self.target.name!r}, "
            f"v in [{self.v_lo:.3g}, {self.v_hi:.3g}], sigma={self.sigma:.4g} cm^2)"
        )
