r"""Light dark matter: the dimensionless variable y, its thermal-relic target and the LDM limit.

y variable (Izaguirre, Krnjaic, Schuster, Toro, PRL 115 (2015) 251301, arXiv:1505.00011)
-------------------------------------------------------------------------------------------
:math:`y = \epsilon^2 \alpha_D (m_\chi/m_X)^4`, with :math:`\alpha_D = 0.1`, :math:`m_X = 3 m_\chi`
in the NA64 benchmark. For the L_mu-L_tau portal :math:`\epsilon^2 \to g^2/(4\pi\alpha)`.
The annihilation cross-section :math:`\sigma v(\chi\bar\chi \to X^* \to f\bar f) \propto
y/m_\chi^2` (arXiv:1505.00011), so a relic-abundance requirement fixes y(m_χ).

LDM limit from a coupling limit (:func:`ldm_coupling_limit`)
------------------------------------------------------------
The invisible search counts :math:`N \propto g^2\,\mathrm{BR}(X\to\mathrm{inv}; g)` at fixed
:math:`m_X`. A coupling limit computed with one invisible branching fraction (for the
L_mu-L_tau Z' of :mod:`na64tools.stats.signal`: neutrinos only) is converted to the LDM model,
where :math:`X\to\chi\bar\chi` is open, by solving
:math:`g^2\,\mathrm{BR}_\mathrm{LDM}(g) = g_\mathrm{lim}^2\,\mathrm{BR}_\mathrm{lim}(g_\mathrm{lim})`
(widths of :mod:`na64tools.physics.widths`). With :math:`\alpha_D = 0.1 \gg g^2/4\pi`,
:math:`\mathrm{BR}_\mathrm{LDM} \simeq 1`: above :math:`m_X = 2 m_\mu` the LDM limit on
:math:`g^2` (hence on y) is stronger than the neutrino-only one by the factor
:math:`\mathrm{BR}_{\nu\bar\nu} \approx 1/2`, smoothly.

Thermal target (approximation, stated explicitly)
-------------------------------------------------
:func:`y_thermal` solves :math:`\Omega_\chi h^2 = 0.12` (Planck 2018, A&A 641 (2020) A6) with the
freeze-out of Gondolo & Gelmini (Nucl. Phys. B 360 (1991) 145) as used by Steigman, Dasgupta &
Beacom (PRD 86 (2012) 023506, arXiv:1204.3622):

.. math::

    x_f = \ln\left[0.038\, \frac{g_\chi M_{Pl}\, m_\chi \langle\sigma v\rangle(x_f)}
          {\sqrt{g_{*}(T_f)\, x_f}}\right],\qquad
    \frac{1}{Y_\infty} = \sqrt{\frac{\pi}{45}}\, M_{Pl}\, m_\chi \int_{x_f}^{\infty}
          \frac{g_*^{1/2}(T)\,\langle\sigma v\rangle(x)}{x^2}\,dx,\qquad
    \Omega h^2 = 2\,\frac{m_\chi\, s_0\, Y_\infty}{\rho_c/h^2},

with :math:`T = m_\chi/x`, :math:`\langle\sigma v\rangle = a + 6b/x` for
:math:`\sigma v = a + b v^2`, the factor 2 counting particle and antiparticle (χ ≠ χ̄; a
non-self-conjugate relic needs twice the ⟨σv⟩ of a self-conjugate one), :math:`M_{Pl}` the
Planck mass, :math:`s_0 = (2\pi^2/45)\, g_{*s}(T_0)\, T_0^3` with :math:`T_0 = 2.7255` K
(Fixsen, ApJ 707 (2009) 916) and :math:`\rho_c/h^2 = 1.05368\times10^{-5}` GeV cm⁻³ (PDG). The
effective degrees of freedom

.. math::

    g_*^{1/2} = \frac{g_{*s}}{\sqrt{g_{*}}}\left(1 + \frac{1}{3}\frac{d\ln g_{*s}}{d\ln T}\right)

use the continuous Standard-Model :math:`g_{*}(T) = g_{*\rho}(T)` and :math:`g_{*s}(T)` of Saikawa &
Shirai (JCAP 05 (2018) 035, arXiv:1803.01038; tabulation of JCAP 08 (2020) 011,
arXiv:2005.03544), shipped as ``na64tools/data/gstar_saikawa_shirai.csv`` and interpolated
monotonically (PCHIP) in log g versus log T (:func:`g_star`, :func:`g_star_s`).

Annihilation is tree level through the s-channel X of mass :math:`m_X = R\, m_\chi` into SM
fermions f of charge :math:`Q_f` (:math:`\beta_f = \sqrt{1-m_f^2/m_\chi^2}`), from
:math:`K = \alpha \alpha_D \epsilon^2 m_\chi^2 / (m_X^2 - 4 m_\chi^2)^2`:

- complex scalar χ (p-wave, the NA64 "scalar" target):
  :math:`\sigma v = \frac{8\pi}{3} K v^2 \sum_f Q_f^2 \beta_f (1 + m_f^2/2m_\chi^2)`;
- Dirac fermion χ (s-wave; excluded by the CMB, shown for reference):
  :math:`\sigma v = 16\pi K \sum_f Q_f^2 \beta_f (1 + m_f^2/2m_\chi^2)`.

Final states: e, μ, τ for the dark photon; μ, τ and (with weight 1/2, left-handed only) ν_μ, ν_τ for
L_mu-L_tau. Hadronic final states of the dark photon are neglected, so above
:math:`m_\chi \approx 0.3` GeV the dark-photon curve is too high by up to the R ratio (factor 2-3).
Check against the literature (tests/test_relic.py): for an s-wave Dirac relic the required
⟨σv⟩ is within 10 % of twice the self-conjugate values of Steigman, Dasgupta & Beacom
(2.2e-26 cm³/s above 10 GeV, 5.2e-26 cm³/s at the maximum near 0.3 GeV). Expected accuracy of y:
a few to 10 % (the analytic freeze-out, no thermal masses or kinetic-decoupling effects); for
precision plots use the published curves (e.g. Berlin, Blinov, Krnjaic, Schuster, Toro,
PRD 99 (2019) 075001, arXiv:1807.01730), which this module does not ship.
"""

from __future__ import annotations

import functools
from importlib import resources

import numpy as np
from numpy.typing import ArrayLike
from scipy.interpolate import PchipInterpolator

from .constants import ALPHA, M_E, M_MU, M_PLANCK, M_TAU
from .widths import br_invisible, width_dark, width_dark_photon_leptons, width_zprime

__all__ = [
    "OMEGA_H2",
    "y_from_coupling",
    "y_thermal",
    "sigma_v_coefficients",
    "g_star",
    "g_star_s",
    "ldm_coupling_limit",
]

#: dark-matter density Omega h^2 (Planck 2018, A&A 641 (2020) A6)
OMEGA_H2 = 0.12

#: CMB temperature today [GeV] (T_0 = 2.7255 K, Fixsen ApJ 707 (2009) 916; k_B = 8.617333e-14 GeV/K)
T_CMB = 2.7255 * 8.617333262e-14
#: critical density / h^2 [GeV cm^-3] (PDG, Astrophysical constants)
RHO_CRIT_H2 = 1.05368e-5
#: hbar c [GeV cm], to convert s_0 from GeV^3 to cm^-3
_HBARC_GEV_CM = 1.973269804e-14

_PORTALS = ("dark_photon", "lmutau")
_DM_TYPES = ("scalar", "dirac")
_GSTAR_FILE = "gstar_saikawa_shirai.csv"


def y_from_coupling(
    g: ArrayLike,
    m_chi: ArrayLike,
    alpha_D: float = 0.1,
    ratio: float = 3.0,
    portal: str = "dark_photon",
) -> np.ndarray | float:
    """y = ε² α_D (m_χ/m_X)⁴ with m_X = ratio × m_χ (arXiv:1505.00011).

    ``g`` is ε for ``portal="dark_photon"`` and the L_mu-L_tau coupling for ``portal="lmutau"``
    (ε² = g²/(4πα)). ``m_chi`` only sets the shape of the output (y does not depend on it at fixed
    ratio); it is validated and broadcast. An infinite coupling (no sensitivity) gives ``inf``.

    Parameters
    ----------
    g : array_like
        The coupling (ε or the L_mu-L_tau g, see above), >= 0.
    m_chi : array_like
        Dark-matter mass m_χ [GeV].
    alpha_D : float
        Dark coupling α_D.
    ratio : float
        m_X / m_χ.
    portal : {"dark_photon", "lmutau"}
        The mediator.

    Returns
    -------
    float or numpy.ndarray
        y (dimensionless), of the broadcast shape.
    """
    if portal not in _PORTALS:
        raise ValueError(f"unknown portal {portal!r} (expected one of: {', '.join(_PORTALS)})")
    _check(alpha_D, "alpha_D")
    _check(ratio, "ratio")
    c = np.asarray(g, dtype=float)
    mc = np.asarray(m_chi, dtype=float)
    if np.any(np.isnan(c)) or np.any(c < 0):
        raise ValueError(f"coupling must be >= 0 and not NaN, got {g!r}")
    if np.any(~np.isfinite(mc)) or np.any(mc <= 0):
        raise ValueError(f"m_chi must be positive and finite (GeV), got {m_chi!r}")
    eps2 = c**2 if portal == "dark_photon" else c**2 / (4.0 * np.pi * ALPHA)
    res = eps2 * alpha_D / ratio**4 + 0.0 * mc
    return float(res) if np.ndim(res) == 0 else res


def _check(v: float, name: str) -> None:
    if not (np.isfinite(v) and v > 0):
        raise ValueError(f"{name} must be a positive finite number, got {v!r}")


# --------------------------------------------------------------------------- g_*(T)


@functools.lru_cache(maxsize=1)
def _gstar_table() -> tuple[np.ndarray, PchipInterpolator, PchipInterpolator]:
    """(log T grid, PCHIP of log g_*rho, PCHIP of log g_*s) from the shipped Saikawa-Shirai table."""
    path = resources.files("na64tools") / "data" / _GSTAR_FILE
    lines = [ln.strip() for ln in path.read_text().splitlines()]
    lines = [ln for ln in lines if ln and not ln.startswith("#")]
    head = lines[0].split(",")
    rows = np.array([[float(v) for v in ln.split(",")] for ln in lines[1:]])
    if head != ["T_GeV", "g_rho", "g_s"] or rows.shape[1] != 3 or np.any(np.diff(rows[:, 0]) <= 0):
        raise RuntimeError(f"{path}: expected columns T_GeV,g_rho,g_s with increasing T")
    lt = np.log(rows[:, 0])
    return lt, PchipInterpolator(lt, np.log(rows[:, 1])), PchipInterpolator(lt, np.log(rows[:, 2]))


def _temps(T: ArrayLike) -> np.ndarray:
    t = np.asarray(T, dtype=float)
    if np.any(~np.isfinite(t)) or np.any(t <= 0):
        raise ValueError(f"temperature must be positive and finite (GeV), got {T!r}")
    return t


def _interp(T: np.ndarray, which: int, derivative: bool = False) -> np.ndarray:
    lt, *splines = _gstar_table()
    x = np.clip(np.log(T), lt[0], lt[-1])  # constant outside the table (see the CSV header)
    if derivative:
        d = splines[which].derivative()(x)
        return np.where((np.log(T) < lt[0]) | (np.log(T) > lt[-1]), 0.0, d)
    return np.exp(splines[which](x))


def g_star(T: ArrayLike) -> np.ndarray | float:
    r"""Energy-density degrees of freedom :math:`g_{*\rho}(T)` of the SM plasma.

    Saikawa & Shirai, JCAP 05 (2018) 035 (arXiv:1803.01038), tabulation of JCAP 08 (2020) 011
    (``na64tools/data/gstar_saikawa_shirai.csv``), monotone cubic (PCHIP) interpolation of
    ln g versus ln T; constant below 10 keV (3.383) and above 1e6 GeV (104.4).

    Parameters
    ----------
    T : array_like
        Photon temperature [GeV].

    Returns
    -------
    float or ndarray
        :math:`g_{*\rho}(T)`.
    """
    t = _temps(T)
    out = _interp(t, 0)
    return float(out) if np.ndim(out) == 0 else out


def g_star_s(T: ArrayLike) -> np.ndarray | float:
    """Entropy degrees of freedom :math:`g_{*s}(T)` (same source and interpolation as
    :func:`g_star`; 3.931 below 10 keV).

    Parameters
    ----------
    T : array_like
        Photon temperature [GeV].

    Returns
    -------
    float or numpy.ndarray
        g_*s(T).
    """
    t = _temps(T)
    out = _interp(t, 1)
    return float(out) if np.ndim(out) == 0 else out


def _g_half(T: np.ndarray) -> np.ndarray:
    r""":math:`g_*^{1/2} = (g_{*s}/\sqrt{g_{*\rho}})(1 + \frac13 d\ln g_{*s}/d\ln T)` (Gondolo-Gelmini)."""
    gs = _interp(T, 1)
    return gs / np.sqrt(_interp(T, 0)) * (1.0 + _interp(T, 1, derivative=True) / 3.0)


# --------------------------------------------------------------------------- sigma v


def sigma_v_coefficients(
    m_chi: ArrayLike,
    y: float = 1.0,
    *,
    dm: str = "scalar",
    portal: str = "dark_photon",
    ratio: float = 3.0,
) -> tuple[np.ndarray, np.ndarray]:
    """(a, b) of σv = a + b v² [GeV⁻²] for χχ̄ → f f̄ at the given y (module docstring).

    Parameters
    ----------
    m_chi : array_like
        Dark-matter mass m_χ [GeV].
    y : float
        The dimensionless y = ε² α_D (m_χ/m_X)⁴.
    dm : {"scalar", "dirac"}
        Dark-matter type: ``"scalar"`` or ``"dirac"``.
    portal : {"dark_photon", "lmutau"}
        The mediator.
    ratio : float
        m_X / m_χ (> 2).

    Returns
    -------
    a, b : numpy.ndarray
        The s-wave and p-wave coefficients [GeV⁻²].
    """
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


# --------------------------------------------------------------------------- freeze-out

#: points of the freeze-out integral in u = 1/x (log-spaced in T, plus the analytic tail)
_N_INT = 600
_T_LOW = 1e-7  # GeV; below this g is constant and the integral is done analytically


def _x_freeze_out(m: np.ndarray, a: np.ndarray, b: np.ndarray, g_chi: float) -> np.ndarray:
    xf = np.full_like(m, 20.0)
    for _ in range(40):
        sv = a + 6.0 * b / xf
        arg = 0.038 * g_chi * M_PLANCK * m * sv / np.sqrt(_interp(m / xf, 0) * xf)
        xf = np.log(np.maximum(arg, np.e))
    return xf


def _annihilation_integral(m: np.ndarray, a: np.ndarray, b: np.ndarray,
                           xf: np.ndarray) -> np.ndarray:
    r"""J = ∫_{x_f}^∞ g_*^{1/2}(m/x) (a + 6b/x) / x² dx = ∫_0^{1/x_f} g_*^{1/2}(m u)(a + 6 b u) du."""
    uf = 1.0 / xf
    u_lo = np.minimum(_T_LOW / m, 0.5 * uf)
    # log grid in u between u_lo and u_f (trapezoid), analytic below u_lo where g is constant
    s = np.linspace(0.0, 1.0, _N_INT)
    u = u_lo[:, None] * (uf / u_lo)[:, None] ** s[None, :]
    f = _g_half(m[:, None] * u) * (a[:, None] + 6.0 * b[:, None] * u)
    body = np.trapezoid(f, u, axis=1)
    g0 = _g_half(np.array([_T_LOW * 1e-3]))[0]
    tail = g0 * (a * u_lo + 3.0 * b * u_lo**2)
    return body + tail


def _omega_h2(m: np.ndarray, y: np.ndarray, dm: str, portal: str, ratio: float) -> np.ndarray:
    a, b = sigma_v_coefficients(m, 1.0, dm=dm, portal=portal, ratio=ratio)
    a, b = a * y, b * y
    g_chi = 1.0 if dm == "scalar" else 2.0
    xf = _x_freeze_out(m, a, b, g_chi)
    inv_y = np.sqrt(np.pi / 45.0) * M_PLANCK * m * _annihilation_integral(m, a, b, xf)
    s0 = 2.0 * np.pi**2 / 45.0 * float(g_star_s(T_CMB)) * T_CMB**3 / _HBARC_GEV_CM**3  # cm^-3
    return 2.0 * m * s0 / inv_y / RHO_CRIT_H2


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
    omega_h2 : float
        Target relic density (Planck 2018: 0.12).

    Returns
    -------
    float or ndarray
        y at each mass.
    """
    _check(omega_h2, "omega_h2")
    m = np.atleast_1d(np.asarray(m_chi, dtype=float))
    sigma_v_coefficients(m, dm=dm, portal=portal, ratio=ratio)  # validation
    y = np.full_like(m, 1e-10)
    for _ in range(60):
        om = _omega_h2(m, y, dm, portal, ratio)
        y_new = y * om / omega_h2
        if np.allclose(y_new, y, rtol=1e-12, atol=0.0):
            y = y_new
            break
        y = y_new
    return float(y[0]) if np.ndim(m_chi) == 0 else y


# --------------------------------------------------------------------------- LDM limit


def _unit_widths(m: np.ndarray, model: str, m_chi: np.ndarray, alpha_D: float):
    """(invisible SM width, visible width) per unit coupling² and the χχ̄ width [GeV]."""
    if model == "vector":
        nu = np.asarray(width_zprime(m, 1.0, "nunu"), dtype=float)
        vis = np.asarray(width_zprime(m, 1.0, "mumu"), dtype=float) + np.asarray(
            width_zprime(m, 1.0, "tautau"), dtype=float)
    else:
        nu = np.zeros_like(m)
        vis = np.asarray(width_dark_photon_leptons(m, 1.0), dtype=float)
    return nu, vis, np.asarray(width_dark(m, m_chi, alpha_D), dtype=float)


def ldm_coupling_limit(
    masses: ArrayLike,
    g_limit: ArrayLike,
    *,
    model: str = "vector",
    alpha_D: float = 0.1,
    ratio: float = 3.0,
    limit_br_kwargs: dict | None = None,
) -> np.ndarray:
    r"""Coupling limit of the LDM model (X → χχ̄ open) from a coupling limit of the search.

    The signal is :math:`N \propto g^2\,\mathrm{BR}_\mathrm{inv}(g)` at fixed mass, so the LDM
    limit solves :math:`g^2\,\mathrm{BR}_\mathrm{LDM}(g) = g_\mathrm{lim}^2\,
    \mathrm{BR}_\mathrm{lim}(g_\mathrm{lim})` exactly (a quadratic in g²), with
    :math:`\mathrm{BR}_\mathrm{LDM} = (\Gamma_{\nu\bar\nu} + \Gamma_{\chi\bar\chi})/\Gamma_\mathrm{tot}`,
    :math:`\Gamma_{\chi\bar\chi} = \alpha_D m/3\,(1+2r_\chi)\sqrt{1-4r_\chi}`, m_χ = m/ratio
    (:mod:`na64tools.physics.widths`).

    Parameters
    ----------
    masses : array_like
        Mediator masses m_X [GeV].
    g_limit : array_like
        Coupling limit at each mass, computed with ``br_invisible(m, g, model,
        **limit_br_kwargs)`` in the signal yield (:func:`na64tools.stats.signal.yield_per_mot`);
        ``inf`` (no sensitivity) stays ``inf``.
    model : {"vector", "dark_photon"}
        L_mu-L_tau Z' (g) or dark photon (ε).
    alpha_D, ratio : float
        α_D = g_χ²/4π and m_X/m_χ of the LDM benchmark (0.1 and 3).
    limit_br_kwargs : dict, optional
        The ``br_kwargs`` the limit was computed with (default: none, i.e. the defaults of
        :func:`~na64tools.physics.widths.br_invisible`: neutrinos only for ``"vector"``).

    Returns
    -------
    ndarray
        The LDM coupling limit at each mass (``inf`` where g² BR_LDM cannot reach the bound).
    """
    if model not in ("vector", "dark_photon"):
        raise ValueError(f"unknown model {model!r} for the LDM limit (expected vector or dark_photon)")
    _check(alpha_D, "alpha_D")
    _check(ratio, "ratio")
    if ratio <= 2.0:
        raise ValueError(f"ratio m_X/m_chi must be > 2 (X -> chi chi open), got {ratio!r}")
    m = np.atleast_1d(np.asarray(masses, dtype=float))
    gl = np.broadcast_to(np.asarray(g_limit, dtype=float), m.shape).copy()
    if np.any(np.isnan(gl)) or np.any(gl <= 0):
        raise ValueError(f"g_limit must be > 0 (inf allowed), got {g_limit!r}")
    fin = np.isfinite(gl)
    p = np.full_like(m, np.inf)  # P = g_lim^2 BR_lim(g_lim)
    if np.any(fin):
        br_lim = np.array([br_invisible(mi, gi, model, **(limit_br_kwargs or {}))
                           for mi, gi in zip(m[fin], gl[fin], strict=True)], dtype=float)
        p[fin] = gl[fin] ** 2 * br_lim
    nu, vis, chi = _unit_widths(m, model, m / ratio, alpha_D)
    # u = g^2 solves nu u^2 + (chi - P (nu + vis)) u - P chi = 0
    out = np.full_like(m, np.inf)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        bq = chi - p * (nu + vis)
        disc = np.sqrt(bq * bq + 4.0 * nu * p * chi)
        u_pos = 2.0 * p * chi / (bq + disc)  # stable when bq > 0
        u_neg = (disc - bq) / (2.0 * nu)  # stable when bq <= 0 (needs nu > 0)
        u = np.where(bq > 0, u_pos, np.where(nu > 0, u_neg, np.inf))
    ok = fin & np.isfinite(u) & (u > 0)
    out[ok] = np.sqrt(u[ok])
    return out
