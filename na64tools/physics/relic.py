r"""Light dark matter: the dimensionless variable y and its thermal-relic target.

y variable (docs/references.md; Izaguirre, Krnjaic, Schuster, Toro arXiv:1505.00011)
-------------------------------------------------------------------------------------------
:math:`y = \epsilon^2 \alpha_D (m_\chi/m_X)^4`, with :math:`\alpha_D = 0.1`, :math:`m_X = 3 m_\chi`
in the NA64 benchmark. For the L_mu-L_tau portal :math:`\epsilon^2 \to g^2/(4\pi\alpha)`.
The annihilation cross-section :math:`\sigma v(\chi\chi \to X^* \to f\bar f) \propto y/m_\chi^2`
(seed talk; arXiv:1505.00011), so a relic-abundance requirement fixes y(m_χ).

Thermal target (approximation, stated explicitly)
-------------------------------------------------
:func:`y_thermal` solves :math:`\Omega_\chi h^2 = 0.12` (Planck 2018) in the standard
non-relativistic freeze-out approximation (Kolb & Turner, *The Early Universe*, eqs. 5.43-5.45):

.. math::

    x_f = \ln\left[0.038\, \frac{g_\chi M_{Pl}\, m_\chi \langle\sigma v\rangle(x_f)}
          {\sqrt{g_* x_f}}\right],\qquad
    \Omega h^2 = 2 \times \frac{1.07\times 10^9\,\mathrm{GeV}^{-1}\, x_f}
          {\sqrt{g_*}\, M_{Pl}\, (a + 3 b / x_f)},

with :math:`\sigma v = a + b v^2`, the factor 2 counting particle and antiparticle (χ ≠ χ̄), and
tree-level annihilation through the s-channel X of mass :math:`m_X = R\, m_\chi` into SM fermions f
of charge :math:`Q_f` (:math:`\beta_f = \sqrt{1-m_f^2/m_\chi^2}`), from
:math:`K = \alpha \alpha_D \epsilon^2 m_\chi^2 / (m_X^2 - 4 m_\chi^2)^2`:

- complex scalar χ (p-wave, the NA64 "scalar" target):
  :math:`\sigma v = \frac{8\pi}{3} K v^2 \sum_f Q_f^2 \beta_f (1 + m_f^2/2m_\chi^2)`;
- Dirac fermion χ (s-wave; excluded by the CMB, shown for reference):
  :math:`\sigma v = 16\pi K \sum_f Q_f^2 \beta_f (1 + m_f^2/2m_\chi^2)`.

Final states: e, μ, τ for the dark photon; μ, τ and (with weight 1/2, left-handed only) ν_μ, ν_τ for
L_mu-L_tau. Hadronic final states of the dark photon are neglected, so above
:math:`m_\chi \approx 0.3` GeV the dark-photon curve is too high by up to the R ratio (factor 2-3).
:math:`g_*(T_f)` is a step function of the SM relativistic degrees of freedom (3.36 below
T = m_e/3, 10.75 below m_μ/3, 14.25 below m_π/3, 17.25 below 150 MeV, 61.75 below m_c/3, 75.75
above; Kolb & Turner table 3.1-style counting). Expected accuracy: tens of percent on y; for
precision plots use the published curves (e.g. Berlin, Blinov, Krnjaic, Schuster, Toro,
arXiv:1807.01730), which this module does not ship.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from .constants import ALPHA, M_E, M_MU, M_PLANCK, M_TAU

__all__ = ["OMEGA_H2", "y_from_coupling", "y_thermal", "sigma_v_coefficients"]

#: dark-matter density Omega h^2 (Planck 2018, A&A 641 (2020) A6)
OMEGA_H2 = 0.12

_PORTALS = ("dark_photon", "lmutau")
_DM_TYPES = ("scalar", "dirac")
_M_PI, _M_CHARM, _T_QCD = 0.13957, 1.27, 0.150  # GeV (PDG masses; QCD transition, assumption)


def y_from_coupling(
    g: ArrayLike,
    m_chi: ArrayLike,
    alpha_D: float = 0.1,
    ratio: float = 3.0,
    portal: str = "dark_photon",
) -> np.ndarray | float:
    r"""y = ε² α_D (m_χ/m_X)⁴ with m_X = ratio × m_χ.

    ``g`` is ε for ``portal="dark_photon"`` and the L_mu-L_tau coupling for ``portal="lmutau"``
    (ε² = g²/(4πα)). ``m_chi`` only sets the shape of the output (y does not depend on it at fixed
    ratio); it is validated and broadcast.
    """
    if portal not in _PORTALS:
        raise ValueError(f"unknown portal {portal!r} (expected one of: {', '.join(_PORTALS)})")
    _check(alpha_D, "alpha_D")
    _check(ratio, "ratio")
    c = np.asarray(g, dtype=float)
    mc = np.asarray(m_chi, dtype=float)
    if np.any(~np.isfinite(c)) or np.any(c < 0):
        raise ValueError(f"coupling must be >= 0 and finite, got {g!r}")
    if np.any(~np.isfinite(mc)) or np.any(mc <= 0):
        raise ValueError(f"m_chi must be positive and finite (GeV), got {m_chi!r}")
    eps2 = c**2 if portal == "dark_photon" else c**2 / (4.0 * np.pi * ALPHA)
    res = eps2 * alpha_D / ratio**4 + 0.0 * mc
    return float(res) if np.ndim(res) == 0 else res


def _check(v: float, name: str) -> None:
    if not (np.isfinite(v) and v > 0):
        raise ValueError(f"{name} must be a positive finite number, got {v!r}")


def _g_star(T: np.ndarray) -> np.ndarray:
    """Step model of the relativistic degrees of freedom g_*(T) (module docstring)."""
    edges = np.array([M_E / 3.0, M_MU / 3.0, _M_PI / 3.0, _T_QCD, _M_CHARM / 3.0])
    values = np.array([3.36, 10.75, 14.25, 17.25, 61.75, 75.75])
    return values[np.searchsorted(edges, T)]


def sigma_v_coefficients(
    m_chi: ArrayLike,
    y: float = 1.0,
    *,
    dm: str = "scalar",
    portal: str = "dark_photon",
    ratio: float = 3.0,
) -> tuple[np.ndarray, np.ndarray]:
    r"""(a, b) of σv = a + b v² [GeV⁻²] for χχ̄ → f f̄ at the given y (module docstring)."""
    if dm not in _DM_TYPES:
        raise ValueError(
            f"unknown dark-matter type {dm!r} (expected one of: {', '.join(_DM_TYPES)})"
        )
    if portal not in _PORTALS:
        raise ValueError(f"unknown portal {portal!r} (expected one of: {', '.join(_PORTALS)})")
    m = np.asarray(m_chi, dtype=float)
    if np.any(~np.isfinite(m)) or np.any(m <= 0):
        raise ValueError(f"m_chi must be positive and finite (GeV), got {m_chi!r}")
    _check(ratio, "ratio")
    if ratio <= 2.0:
        raise ValueError(f"ratio m_X/m_chi must be > 2 (no resonant annihilation), got {ratio!r}")
    # K = alpha alpha_D eps^2 m^2/(m_X^2 - 4 m^2)^2 = alpha y R^4 / (m^2 (R^2 - 4)^2)
    k = ALPHA * y * ratio**4 / (m**2 * (ratio**2 - 4.0) ** 2)
    if portal == "dark_photon":
        fermions = [(M_E, 1.0), (M_MU, 1.0), (M_TAU, 1.0)]
    else:
        fermions = [(M_MU, 1.0), (M_TAU, 1.0), (0.0, 0.5), (0.0, 0.5)]
    chan = np.zeros_like(m)
    for mf, weight in fermions:
        r = (mf / m) ** 2
        chan = chan + weight * np.where(
            r < 1.0, np.sqrt(np.maximum(1.0 - r, 0.0)) * (1.0 + 0.5 * r), 0.0
        )
    if dm == "scalar":
        return np.zeros_like(m), 8.0 * np.pi / 3.0 * k * chan
    return 16.0 * np.pi * k * chan, np.zeros_like(m)


def _omega_h2(m: np.ndarray, y: np.ndarray, dm: str, portal: str, ratio: float) -> np.ndarray:
    a, b = sigma_v_coefficients(m, 1.0, dm=dm, portal=portal, ratio=ratio)
    a, b = a * y, b * y
    g_chi = 1.0 if dm == "scalar" else 2.0
    xf = np.full_like(m, 20.0)
    for _ in range(30):
        gs = _g_star(m / xf)
        sv = a + 6.0 * b / xf
        arg = 0.038 * g_chi * M_PLANCK * m * sv / np.sqrt(gs * xf)
        xf = np.log(np.maximum(arg, np.e))
    gs = _g_star(m / xf)
    return 2.0 * 1.07e9 * xf / (np.sqrt(gs) * M_PLANCK * (a + 3.0 * b / xf))


def y_thermal(
    m_chi: ArrayLike,
    *,
    dm: str = "scalar",
    portal: str = "dark_photon",
    ratio: float = 3.0,
    omega_h2: float = OMEGA_H2,
) -> np.ndarray | float:
    r"""Thermal-relic target y(m_χ) giving Ω h² = ``omega_h2`` (approximation: module docstring).

    Parameters
    ----------
    m_chi : array_like
        Dark-matter mass [GeV].
    dm : {"scalar", "dirac"}
        Complex scalar (p-wave, default) or Dirac fermion (s-wave).
    portal : {"dark_photon", "lmutau"}
        Which SM fermions the mediator couples to.
    ratio : float
        m_X/m_χ (3 in the NA64 benchmark). y does not depend on α_D in this approximation.
    """
    _check(omega_h2, "omega_h2")
    m = np.atleast_1d(np.asarray(m_chi, dtype=float))
    sigma_v_coefficients(m, dm=dm, portal=portal, ratio=ratio)  # validation
    y = np.full_like(m, 1e-10)
    for _ in range(50):
        om = _omega_h2(m, y, dm, portal, ratio)
        y_new = y * om / omega_h2
        if np.allclose(y_new, y, rtol=1e-12, atol=0.0):
            y = y_new
            break
        y = y_new
    return float(y[0]) if np.ndim(m_chi) == 0 else y
