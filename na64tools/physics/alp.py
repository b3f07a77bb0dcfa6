r"""Axion-like particle (ALP) coupled to muons: production, decays, invisible fraction, g-2.

The model
---------
A pseudoscalar a of mass :math:`m_a` with the Yukawa-type (non-derivative) coupling

.. math::

    \mathcal{L} \supset -i\, g_{a\mu\mu}\, a\, \bar\mu \gamma_5 \mu ,

and no other coupling to the Standard Model (a muon-philic ALP; the coupling to electrons and the
tree-level coupling to photons are set to zero, an assumption of the model). The derivative
coupling used in ALP effective theories, :math:`\frac{c_{\mu\mu}}{2f}\,\partial_\nu a\,
\bar\mu\gamma^\nu\gamma_5\mu`, gives the same tree-level amplitudes with
:math:`g_{a\mu\mu} = c_{\mu\mu} m_\mu / f` (equations of motion; M. Bauer, M. Neubert, A. Thamm,
JHEP 12 (2017) 044, arXiv:1708.00443); the two bases differ by an anomalous
:math:`a F\tilde F` term, i.e. only in the photon coupling (:func:`width_gammagamma`,
``basis``). ``g_aμμ`` is dimensionless (a limit on :math:`c_{\mu\mu}/f` in GeV⁻¹ is
:math:`g_{a\mu\mu}/m_\mu`).

Production (:func:`make_sampler`)
---------------------------------
:math:`\mu N \to \mu N a` in the Weizsäcker-Williams approximation of
:mod:`na64tools.physics.cross_section` (``model="alp"``): the double-differential cross-section
of the scalar with the amplitude bracket

.. math::

    \mathcal{B}_a = \frac{x^2}{1-x} + \frac{2 m_a^2}{\tilde u^2}
    \left(\tilde u x + m_a^2(1-x) + m_\mu^2 x^2\right)

instead of the scalar's :math:`\frac{x^2}{1-x} + \frac{2(m^2 - 4m_\mu^2)}{\tilde u^2}(\dots)`,
the same prefactor :math:`2\epsilon^2\alpha^3E_0^2` with :math:`\epsilon^2\alpha =
g_{a\mu\mu}^2/4\pi`, and the same :math:`t_{max} = E_0^2` (DMG4, M. Bondi et al., Comput. Phys.
Commun. 269 (2021) 108129, ``src/DarkMatter/DarkMuPhilicPseudoScalars.cc``,
``CrossSectionDSDXDTheta``; the pseudoscalar amplitudes of Y.-S. Liu, G. A. Miller, PRD 96 (2017)
016004, arXiv:1705.01633; for NA64μ H. Sieber et al., PRD 108 (2023) 056018, arXiv:2305.09015).
For :math:`m_a \gg m_\mu` the two brackets coincide; exactly,
:math:`1 - 4m_\mu^2/m_a^2 \le \sigma_a/\sigma_S \le 1` for :math:`m_a > 2m_\mu` (tests).

Decays (muon-philic ALP, :func:`width_mumu`, :func:`width_gammagamma`)
----------------------------------------------------------------------
- :math:`\Gamma(a\to\mu^+\mu^-) = \frac{g_{a\mu\mu}^2 m_a}{8\pi}\sqrt{1 - 4m_\mu^2/m_a^2}`
  (pseudoscalar Yukawa: one power of the velocity, the scalar has three; Bauer, Neubert, Thamm
  2017, eq. for :math:`\Gamma(a\to\ell^+\ell^-)` with :math:`c_{\ell\ell}m_\ell/\Lambda \to g`).
- :math:`\Gamma(a\to\gamma\gamma) = \frac{\alpha^2 g_{a\mu\mu}^2 m_a^3}{64\pi^3 m_\mu^2}
  \left|L(\tau)\right|^2`, :math:`\tau = 4m_\mu^2/m_a^2`, through the muon loop, with
  :math:`L = \tau f^2(\tau)` in the Yukawa basis and :math:`L = 1 - \tau f^2(\tau)` in the
  derivative basis (Bauer, Neubert, Thamm 2017: :math:`C_{\gamma\gamma}^{eff} =
  \sum_f N_c Q_f^2 c_{ff} B_1(\tau_f)/16\pi^2`, :math:`B_1 = 1 - \tau f^2(\tau)` for the
  derivative coupling; the Yukawa coupling adds the anomaly term :math:`-1`), where
  :math:`f(\tau) = \arcsin(1/\sqrt\tau)` for :math:`\tau \ge 1` and
  :math:`\pi/2 + \frac{i}{2}\ln\frac{1+\sqrt{1-\tau}}{1-\sqrt{1-\tau}}` for :math:`\tau < 1`.
  Heavy-muon limit (:math:`\tau\to\infty`, Yukawa): :math:`\tau f^2 \to 1`,
  :math:`\Gamma \to \alpha^2 g^2 m_a^3/(64\pi^3 m_\mu^2)`, Steinberger's fermion-loop result for
  :math:`\pi^0\to\gamma\gamma` (J. Steinberger, Phys. Rev. 76 (1949) 1180).
- No other channel (:math:`m_a < 2m_\tau` is far above the masses of interest; the ALP has no
  tree-level coupling to electrons or photons, assumption).

Invisible fraction (:func:`br_invisible`), two documented modes
---------------------------------------------------------------
- ``"invisible"`` (**default**): the ALP decays to dark-sector states that escape
  (:math:`a \to \chi\bar\chi`) with a width much larger than its SM widths, so
  :math:`\mathrm{BR}(a\to\text{inv}) =` :data:`BR_DARK` = 1 (assumption, as the invisible scalar
  of NA64μ, Sieber et al. 2023). The signal is then :math:`\propto g_{a\mu\mu}^2` exactly and the
  package's limit scaling :math:`g_{up} = g_{ref}\sqrt{s_{up}/N(g_{ref})}` holds.
- ``"long-lived"``: the minimal muon-philic ALP, no dark states; the event is invisible when the
  ALP decays beyond the detector, with probability :math:`P = \exp(-L_{det}/(\gamma\beta c\tau))`,
  :math:`\gamma\beta = p_a/m_a`, :math:`c\tau = \hbar c/\Gamma_{tot}` (:func:`decay_beyond_probability`).
  Approximation: every ALP of the signal region is given the energy :data:`ALP_ENERGY_GEV` =
  80 GeV, the *least* boosted ALP of the region :math:`x > 0.5` (p_out < 80 GeV at 160 GeV), so
  P is a lower bound of the true invisible fraction (conservative). :data:`DETECTOR_LENGTH_CM`
  is the length from the production vertex to the end of the HCAL. P depends on the coupling
  (:math:`\Gamma \propto g^2`): the signal is :math:`\propto g^2 e^{-k g^2}`, so a limit is an
  excluded *interval* of couplings (:func:`long_lived_coupling_interval`), not the
  :math:`g^2` scaling.

With the defaults the invisible ALP (``"invisible"``) is the model the generic chain
(``simulate --model alp`` → limits) computes correctly; the long-lived mode is for
:func:`long_lived_coupling_interval` and the documentation (docs/models/alp.md).

(g-2)_μ
-------
One loop, negative: :func:`na64tools.physics.gminus2.delta_amu` with ``model="alp"``
(J. P. Leveille, Nucl. Phys. B137 (1978) 63), bounded from below by the 2025 world average
(:func:`na64tools.physics.gminus2.g2_upper_bound`).
"""

from __future__ import annotations

import hepunits
import numpy as np
from hepunits.constants import hbarc as _hbarc
from numpy.typing import ArrayLike

from .constants import ALPHA, M_MU
from .cross_section import XThetaSampler, _check_positive, get_sampler

__all__ = [
    "MODEL_INFO",
    "MODES",
    "DEFAULT_MODE",
    "BR_DARK",
    "DETECTOR_LENGTH_CM",
    "ALP_ENERGY_GEV",
    "BASES",
    "HBARC_GEV_CM",
    "make_sampler",
    "br_invisible",
    "width_mumu",
    "width_gammagamma",
    "width_total",
    "decay_length_cm",
    "decay_beyond_probability",
    "long_lived_coupling_interval",
]

#: the two modes of :func:`br_invisible`
MODES = ("invisible", "long-lived")
#: the default mode (module docstring): the ALP decays to dark states
DEFAULT_MODE = "invisible"
#: BR(a -> invisible) in the ``"invisible"`` mode [1]; assumption: a -> dark states dominates
#: (the width to dark states >> the SM widths of :func:`width_total`)
BR_DARK = 1.0
#: length [cm] from the production vertex to the end of the HCAL, beyond which a decay is unseen.
#: Assumption built from the setup description (na64tools/data/setups/na64mu_2022.yaml,
#: ``geometry``): vertex at the ECAL middle (ecal_length/2 = 22.5 cm), HCAL front at
#: hcal_z = 1300 cm, 2 HCAL modules of 7 lambda_int of iron each (hcal.modules, hcal.depth;
#: lambda_int(Fe) = 16.77 cm, PDG), i.e. 1300 - 22.5 + 235 = 1512 cm, rounded to 1500 cm.
DETECTOR_LENGTH_CM = 1500.0
#: ALP energy [GeV] in the ``"long-lived"`` mode; assumption: x = 0.5 of the 160 GeV beam, the
#: least boosted ALP of the signal region p_out < 80 GeV (PRL 132 (2024) 211803): conservative
ALP_ENERGY_GEV = 80.0
#: bases of the ALP-muon coupling (only the photon width differs)
BASES = ("yukawa", "derivative")
#: hbar c [GeV cm] (CODATA, via hepunits)
HBARC_GEV_CM: float = float(_hbarc / (hepunits.GeV * hepunits.cm))

#: the model description for the model registry (na64tools.models; ISSUE 17 interface)
MODEL_INFO: dict = {
    "name": "alp",
    "label": "ALP coupled to muons (pseudoscalar)",
    "coupling": "g_aμμ",
    "coupling_label": r"$g_{a\mu\mu}$",
    "coupling_unit": "",
    # 9000005: the ALP of the ALP_linear UFO model (I. Brivio et al., EPJC 77 (2017) 572),
    # next to the package's muon-philic scalar 9000006
    "pdgid": 9000005,
    "reference": (
        "WW mu N -> mu N a with the pseudoscalar amplitude of Y.-S. Liu, G. A. Miller, PRD 96 "
        "(2017) 016004 (arXiv:1705.01633) as in DMG4 DarkMuPhilicPseudoScalars.cc (M. Bondi et al., "
        "CPC 269 (2021) 108129); H. Sieber et al., PRD 108 (2023) 056018 (arXiv:2305.09015)"
    ),
    "description": (
        "Pseudoscalar a with coupling -i g_aμμ a mu-bar gamma5 mu, produced in mu N -> mu N a; "
        "by default it decays to dark states (BR(invisible) = 1, assumption), optionally "
        "(mode 'long-lived') it is the minimal muon-philic ALP seen only if it decays inside "
        "the 15 m setup."
    ),
}


# --------------------------------------------------------------------------- validation


def _masses(mass: ArrayLike) -> np.ndarray:
    m = np.asarray(mass, dtype=float)
    if np.any(~np.isfinite(m)) or np.any(m <= 0):
        raise ValueError(f"ALP mass must be positive and finite (GeV), got {mass!r}")
    return m


def _basis(basis: str) -> str:
    if basis not in BASES:
        raise ValueError(f"unknown ALP coupling basis {basis!r} (expected one of: {', '.join(BASES)})")
    return basis


def _out(a: np.ndarray) -> np.ndarray | float:
    return float(a) if np.ndim(a) == 0 else a


# --------------------------------------------------------------------------- production


def make_sampler(mass: float, energy: float, material: str, x_min: float) -> XThetaSampler:
    """The (x, θ) sampler of μN → μN a (WW, ``model="alp"`` of the cross-section module).

    Parameters
    ----------
    mass : float
        ALP mass m_a [GeV].
    energy : float
        Muon beam energy E_0 [GeV].
    material : str
        Target material (``"Pb"``, ``"W"``, ...).
    x_min : float
        Lower cut on x = E_a/E_0, in [0, 1).

    Returns
    -------
    XThetaSampler
        ``sigma`` [pb] at g_aμμ = 1 for x > x_min, ``sigma_at(g)`` [pb] and ``sample(n, rng)``
        returning (x, θ [rad]).
    """
    return get_sampler(mass, model="alp", energy=energy, target=material, x_min=x_min)


# --------------------------------------------------------------------------- decays


def width_mumu(mass: ArrayLike, coupling: float) -> np.ndarray | float:
    r"""Γ(a → μ⁺μ⁻) = g² m_a/(8π) √(1 − 4m_μ²/m_a²) [GeV], 0 below 2 m_μ.

    Parameters
    ----------
    mass : array_like
        ALP mass [GeV].
    coupling : float
        g_aμμ (dimensionless).

    Returns
    -------
    float or numpy.ndarray
        The width [GeV], shaped like ``mass``.
    """
    m = _masses(mass)
    g = _check_positive("coupling", coupling)
    r = 4.0 * M_MU**2 / m**2
    return _out(np.where(r < 1.0, g * g * m / (8.0 * np.pi) * np.sqrt(np.maximum(1.0 - r, 0.0)),
                         0.0))


def _loop(tau: np.ndarray, basis: str) -> np.ndarray:
    """L(τ) = τ f(τ)² (Yukawa) or 1 − τ f(τ)² (derivative), complex (module docstring)."""
    tau = np.asarray(tau, dtype=float)
    f = np.empty(tau.shape, dtype=complex)
    hi = tau >= 1.0
    f[hi] = np.arcsin(1.0 / np.sqrt(tau[hi]))
    t = tau[~hi]
    s = np.sqrt(1.0 - t)
    f[~hi] = 0.5 * np.pi + 0.5j * np.log((1.0 + s) / (1.0 - s))
    tf2 = tau * f * f
    return tf2 if basis == "yukawa" else 1.0 - tf2


def width_gammagamma(mass: ArrayLike, coupling: float, *, basis: str = "yukawa"
                     ) -> np.ndarray | float:
    r"""Γ(a → γγ) through the muon loop [GeV]: α² g² m_a³/(64π³ m_μ²) abs(L(τ))², τ = 4m_μ²/m_a².

    Parameters
    ----------
    mass : array_like
        ALP mass [GeV].
    coupling : float
        g_aμμ (dimensionless).
    basis : {"yukawa", "derivative"}
        The coupling basis (module docstring): L = τf² (Yukawa, the model of this module) or
        1 − τf² (derivative coupling with g = c_μμ m_μ/f).

    Returns
    -------
    float or numpy.ndarray
        The width [GeV], shaped like ``mass``.
    """
    m = _masses(mass)
    g = _check_positive("coupling", coupling)
    loop = _loop(4.0 * M_MU**2 / m**2, _basis(basis))
    return _out(ALPHA**2 * g * g * m**3 / (64.0 * np.pi**3 * M_MU**2) * np.abs(loop) ** 2)


def width_total(mass: ArrayLike, coupling: float, *, basis: str = "yukawa") -> np.ndarray | float:
    """Total SM width Γ(μμ) + Γ(γγ) [GeV] of the muon-philic ALP (no dark states).

    Parameters
    ----------
    mass : array_like
        ALP mass [GeV].
    coupling : float
        g_aμμ (dimensionless).
    basis : {"yukawa", "derivative"}
        The coupling basis of :func:`width_gammagamma`.

    Returns
    -------
    float or numpy.ndarray
        The width [GeV], shaped like ``mass``.
    """
    return _out(np.asarray(width_mumu(mass, coupling))
                + np.asarray(width_gammagamma(mass, coupling, basis=basis)))


def decay_length_cm(mass: ArrayLike, coupling: float, *, energy: float = ALP_ENERGY_GEV,
                    basis: str = "yukawa") -> np.ndarray | float:
    """Mean decay length γβcτ = (p/m) ħc/Γ_tot [cm] of an ALP of the given energy.

    Parameters
    ----------
    mass : array_like
        ALP mass [GeV].
    coupling : float
        g_aμμ (dimensionless).
    energy : float
        ALP energy [GeV] (> mass).
    basis : {"yukawa", "derivative"}
        The coupling basis of :func:`width_gammagamma`.

    Returns
    -------
    float or numpy.ndarray
        The decay length [cm], shaped like ``mass``.
    """
    m = _masses(mass)
    e = _check_positive("energy", energy, " in GeV")
    if np.any(m >= e):
        raise ValueError(f"ALP energy {energy!r} GeV must exceed its mass {mass!r} GeV")
    p_over_m = np.sqrt(e * e - m * m) / m
    gam = np.asarray(width_total(m, coupling, basis=basis))
    return _out(p_over_m * HBARC_GEV_CM / gam)


def decay_beyond_probability(mass: ArrayLike, coupling: float, *,
                             length_cm: float = DETECTOR_LENGTH_CM,
                             energy: float = ALP_ENERGY_GEV,
                             basis: str = "yukawa") -> np.ndarray | float:
    """Probability exp(−L/(γβcτ)) that the ALP decays beyond ``length_cm`` [1].

    Parameters
    ----------
    mass : array_like
        ALP mass [GeV].
    coupling : float
        g_aμμ (dimensionless).
    length_cm : float
        Distance from the production vertex to the end of the detector [cm]
        (default :data:`DETECTOR_LENGTH_CM`).
    energy : float
        ALP energy [GeV] (default :data:`ALP_ENERGY_GEV`).
    basis : {"yukawa", "derivative"}
        The coupling basis of :func:`width_gammagamma`.

    Returns
    -------
    float or numpy.ndarray
        P in [0, 1], shaped like ``mass``.
    """
    length = _check_positive("length_cm", length_cm, " in cm")
    ell = np.asarray(decay_length_cm(mass, coupling, energy=energy, basis=basis))
    return _out(np.exp(-length / ell))


def br_invisible(mass: ArrayLike, coupling: float, *, mode: str = DEFAULT_MODE,
                 br_dark: float = BR_DARK, length_cm: float = DETECTOR_LENGTH_CM,
                 energy: float = ALP_ENERGY_GEV, basis: str = "yukawa") -> np.ndarray | float:
    """Fraction of the produced ALPs that leave no trace (module docstring).

    Parameters
    ----------
    mass : array_like
        ALP mass [GeV].
    coupling : float
        g_aμμ (dimensionless, > 0).
    mode : {"invisible", "long-lived"}
        ``"invisible"`` (default): BR(a → dark states) = ``br_dark`` at every mass and coupling;
        ``"long-lived"``: no dark states, the probability to decay beyond ``length_cm``
        (:func:`decay_beyond_probability`), which depends on the coupling.
    br_dark : float
        BR(a → invisible) of the ``"invisible"`` mode, in [0, 1] (default :data:`BR_DARK`).
    length_cm, energy, basis
        Of the ``"long-lived"`` mode, as in :func:`decay_beyond_probability`.

    Returns
    -------
    float or numpy.ndarray
        The invisible fraction in [0, 1], shaped like ``mass``.
    """
    m = _masses(mass)
    g = _check_positive("coupling", coupling)
    if mode == "invisible":
        b = float(br_dark)
        if not (np.isfinite(b) and 0.0 <= b <= 1.0):
            raise ValueError(f"br_dark must be in [0, 1], got {br_dark!r}")
        return _out(np.full(m.shape, b))
    if mode == "long-lived":
        return decay_beyond_probability(m, g, length_cm=length_cm, energy=energy, basis=basis)
    raise ValueError(f"unknown ALP mode {mode!r} (expected one of: {', '.join(MODES)})")


def long_lived_coupling_interval(mass: float, events_ref: float, g_ref: float, s_up: float, *,
                                 length_cm: float = DETECTOR_LENGTH_CM,
                                 energy: float = ALP_ENERGY_GEV,
                                 basis: str = "yukawa") -> tuple[float, float]:
    r"""Excluded couplings (g_low, g_high) of the long-lived ALP at one mass.

    The expected signal is :math:`N(g) = N_{ref}\,(g/g_{ref})^2\,e^{-k g^2}` with
    :math:`N_{ref}` the events at :math:`g_{ref}` *before* the invisible fraction (cross-section ×
    exposure × efficiency) and :math:`k g^2 = L_{det}/(\gamma\beta c\tau)` (Γ ∝ g²). With
    :math:`y = k g^2`, :math:`N = s_{up}` reads :math:`y e^{-y} = s_{up} k g_{ref}^2/N_{ref}`,
    solved by the two real branches of the Lambert W function:
    :math:`y_{low} = -W_0(-c)`, :math:`y_{high} = -W_{-1}(-c)`, :math:`c = s_{up} k g_{ref}^2/
    N_{ref}`. No interval when :math:`c > 1/e` (the maximum of N is below s_up).

    Parameters
    ----------
    mass : float
        ALP mass [GeV].
    events_ref : float
        Expected events at ``g_ref`` without the invisible fraction (> 0).
    g_ref : float
        The reference coupling of ``events_ref`` (> 0).
    s_up : float
        Upper limit on the signal events (e.g. 2.3 for 0 observed at 90 % CL).
    length_cm, energy, basis
        As in :func:`decay_beyond_probability`.

    Returns
    -------
    (float, float)
        The excluded couplings g_low < g < g_high; (nan, nan) when nothing is excluded.
    """
    n_ref = _check_positive("events_ref", events_ref)
    g0 = _check_positive("g_ref", g_ref)
    s = _check_positive("s_up", s_up)
    length = _check_positive("length_cm", length_cm, " in cm")
    k = length / float(decay_length_cm(mass, 1.0, energy=energy, basis=basis))  # k g^2 = L/ell
    c = s * k * g0 * g0 / n_ref
    if c > np.exp(-1.0):
        return float("nan"), float("nan")
    from scipy.special import lambertw  # scipy only when needed (the CLI imports this module)

    y_low = float(-lambertw(-c, 0).real)
    y_high = float(-lambertw(-c, -1).real)
    return float(np.sqrt(y_low / k)), float(np.sqrt(y_high / k))
