r"""Effective photon flux :math:`\chi` of the Weizsäcker-Williams approximation.

The nucleus (charge Z, mass number A) is described by the elastic form factor with atomic
screening and finite nuclear size (docs/references.md; DMG4 ``src/DarkMatter/DarkZ.cc``;
Bjorken, Essig, Schuster, Toro, arXiv:0906.0580, eq. A18-A19 with Tsai's form factors):

.. math::

    \chi(t_{min}, t_{max}) = Z^2 \int_{t_{min}}^{t_{max}} dt\, \frac{t - t_{min}}{t^2}
        \left(\frac{t}{t + t_a}\right)^2 \left(\frac{t_d}{t + t_d}\right)^2,

    t_a = 1/a^2,\quad a = 111\, Z^{-1/3} / m_e, \qquad t_d = 0.164\, A^{-2/3}\ \mathrm{GeV}^2 .

Closed form (derived here by partial fractions; DMG4 codes the same expression)
---------------------------------------------------------------------------------
With :math:`\Delta = t_{max} - t_{min}` the integrand is
:math:`t_d^2 (t - t_{min}) / ((t+t_a)^2 (t+t_d)^2)`, whose partial-fraction decomposition
:math:`A_1/(t+t_a) + A_2/(t+t_a)^2 - A_1/(t+t_d) + B_2/(t+t_d)^2` has

.. math::

    A_1 = \frac{t_a + t_d + 2 t_{min}}{(t_d - t_a)^3},\quad
    A_2 = -\frac{t_a + t_{min}}{(t_d - t_a)^2},\quad
    B_2 = -\frac{t_d + t_{min}}{(t_d - t_a)^2},

so that

.. math::

    \frac{\chi}{Z^2 t_d^2} = A_1 \left[\ln\left(1 + \frac{\Delta}{t_{min} + t_a}\right)
        - \ln\left(1 + \frac{\Delta}{t_{min} + t_d}\right)\right]
        - \frac{\Delta\, (2 t_{max} + t_a + t_d)}{(t_d - t_a)^2 (t_{max} + t_a)(t_{max} + t_d)} .

For :math:`t_{min} \ll t_a \ll t_d \ll t_{max}` this reduces to the familiar
:math:`Z^2 [\ln(t_d/t_a) - 2]`. The two terms cancel to :math:`O(\Delta^2)` when
:math:`\Delta \to 0`; there a 6-point Gauss-Legendre rule on the (polynomial-like) integrand is
used instead, which is exact to far below double precision. When :math:`t_{min} \gg t_d` the two
terms also cancel (by a factor ~ :math:`(t_{min}/t_d)^2`); where the cancellation factor exceeds
1e7 a composite 64-point Gauss-Legendre rule in :math:`\ln t` is used. For :math:`t_{min} \ge t_{max}` the
integration range is empty and :math:`\chi = 0` (DMG4's closed form evaluated there would return
the positive value of the reversed integral; we do not continue it).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from scipy import integrate

from .constants import M_E, NUCLEAR_SIZE_COEFF, SCREENING_COEFF

__all__ = ["screening_t", "nuclear_size_t", "photon_flux", "photon_flux_numeric"]

# relative width below which the closed form loses digits and the Gauss rule is used
_SMALL_DELTA = 1e-2
_GL6_NODES, _GL6_WEIGHTS = np.polynomial.legendre.leggauss(6)
# closed-form cancellation factor above which the ln t Gauss rule is used instead
_MAX_CANCELLATION = 1e7
_LOG_PANELS = 4
_GL16_NODES, _GL16_WEIGHTS = np.polynomial.legendre.leggauss(16)


def screening_t(Z: float) -> float:
    """Atomic-screening scale t_a = 1/a^2 [GeV^2], a = 111 Z^(-1/3)/m_e (Tsai RMP 46 (1974) 815).

    Parameters
    ----------
    Z : float
        Atomic number of the target.

    Returns
    -------
    float
        t_a [GeV²].
    """
    a = SCREENING_COEFF * Z ** (-1.0 / 3.0) / M_E
    return 1.0 / (a * a)


def nuclear_size_t(A: float) -> float:
    """Nuclear-size scale t_d = 0.164 A^(-2/3) GeV^2 (Tsai, Rev. Mod. Phys. 46 (1974) 815).

    Parameters
    ----------
    A : float
        Mass number of the target.

    Returns
    -------
    float
        t_d [GeV²].
    """
    return NUCLEAR_SIZE_COEFF * A ** (-2.0 / 3.0)


def _check_za(Z: float, A: float) -> None:
    if not (np.isfinite(Z) and Z > 0):
        raise ValueError(f"Z must be a positive number, got {Z!r}")
    if not (np.isfinite(A) and A > 0):
        raise ValueError(f"A must be a positive number, got {A!r}")


def _integrand(t: np.ndarray, t_min: np.ndarray, ta: float, td: float) -> np.ndarray:
    """(t - t_min)/t^2 * G_el(t) / Z^2, written without the removable 1/t^2."""
    return (t - t_min) * td * td / ((t + ta) ** 2 * (t + td) ** 2)


def _flux_per_z2(t_min: np.ndarray, t_max: np.ndarray, ta: float, td: float) -> np.ndarray:
    """chi / Z^2 for arrays of equal shape (no validation)."""
    delta = t_max - t_min
    out = np.zeros(np.broadcast(t_min, t_max).shape)
    pos = delta > 0
    if not np.any(pos):
        return out
    tmin = np.broadcast_to(t_min, out.shape)[pos]
    tmax = np.broadcast_to(t_max, out.shape)[pos]
    dlt = tmax - tmin
    dd = td - ta
    a1 = (ta + td + 2.0 * tmin) / dd**3
    log_term = np.log1p(dlt / (tmin + ta)) - np.log1p(dlt / (tmin + td))
    rational = dlt * (2.0 * tmax + ta + td) / (dd * dd * (tmax + ta) * (tmax + td))
    res = td * td * (a1 * log_term - rational)
    small = dlt < _SMALL_DELTA * (tmin + ta)
    if np.any(small):
        lo = tmin[small, None]
        half = 0.5 * dlt[small, None]
        t = lo + half * (_GL6_NODES + 1.0)
        res[small] = (half * _GL6_WEIGHTS * _integrand(t, lo, ta, td)).sum(axis=-1)
    # for t_min >> t_d the two closed-form terms cancel strongly: integrate in ln t instead
    cond = td * td * a1 * np.abs(log_term) / np.maximum(np.abs(res), 1e-300)
    bad = (cond > _MAX_CANCELLATION) & ~small
    if np.any(bad):
        res[bad] = _flux_log_gauss(tmin[bad], tmax[bad], ta, td)
    out[pos] = res
    return out


def _flux_log_gauss(tmin: np.ndarray, tmax: np.ndarray, ta: float, td: float) -> np.ndarray:
    """chi/Z^2 by composite Gauss-Legendre in ln t (used where the closed form cancels)."""
    s0, s1 = np.log(tmin)[:, None], np.log(tmax)[:, None]
    width = (s1 - s0) / _LOG_PANELS
    res = np.zeros(tmin.shape)
    for k in range(_LOG_PANELS):
        s = s0 + width * (k + 0.5 * (_GL16_NODES + 1.0))
        t = np.exp(s)
        res += (0.5 * width * _GL16_WEIGHTS * t * _integrand(t, tmin[:, None], ta, td)).sum(-1)
    return res


def photon_flux(t_min: ArrayLike, t_max: ArrayLike, Z: float, A: float) -> np.ndarray | float:
    r"""Effective photon flux :math:`\chi(t_{min}, t_{max})` in closed form (module docstring).

    Parameters
    ----------
    t_min, t_max : array_like
        Lower and upper limits of the momentum transfer squared [GeV^2] (broadcast together).
        ``t_min >= 0``; where ``t_min >= t_max`` the flux is 0.
    Z, A : float
        Atomic number and mass number of the target nucleus.

    Returns
    -------
    float or numpy.ndarray
        :math:`\chi` (dimensionless, includes the factor :math:`Z^2`).
    """
    _check_za(Z, A)
    tmin = np.asarray(t_min, dtype=float)
    tmax = np.asarray(t_max, dtype=float)
    if np.any(~np.isfinite(tmin)) or np.any(tmin < 0):
        raise ValueError(f"t_min must be finite and >= 0 GeV^2, got {t_min!r}")
    if np.any(~np.isfinite(tmax)) or np.any(tmax <= 0):
        raise ValueError(f"t_max must be finite and > 0 GeV^2, got {t_max!r}")
    res = Z * Z * _flux_per_z2(tmin, tmax, screening_t(Z), nuclear_size_t(A))
    return float(res) if res.ndim == 0 else res


def photon_flux_numeric(
    t_min: ArrayLike, t_max: ArrayLike, Z: float, A: float, *, epsrel: float = 1e-11
) -> np.ndarray | float:
    r"""The same flux :math:`\chi` by adaptive quadrature (:func:`scipy.integrate.quad`).

    The integral is done in :math:`\ln t` (the integrand spans many decades between
    :math:`t_a`, :math:`t_d` and :math:`t_{max}`), or in :math:`t` when the range is narrower
    than :math:`t_{min}`; used to validate :func:`photon_flux`.

    Parameters
    ----------
    t_min, t_max : array_like
        Limits of the momentum-transfer integral [GeV²] (broadcast together).
    Z, A : float
        Atomic and mass numbers of the target.
    epsrel : float
        Relative tolerance of the quadrature.

    Returns
    -------
    float or numpy.ndarray
        χ (dimensionless), 0 where ``t_min >= t_max``.
    """
    _check_za(Z, A)
    ta, td = screening_t(Z), nuclear_size_t(A)
    tmin_b, tmax_b = np.broadcast_arrays(np.asarray(t_min, float), np.asarray(t_max, float))
    out = np.zeros(tmin_b.shape)
    for idx in np.ndindex(tmin_b.shape):
        lo, hi = float(tmin_b[idx]), float(tmax_b[idx])
        if lo >= hi:
            continue

        if hi - lo < lo:
            # narrow range: integrate in t itself (ln t would lose the digits of hi - lo)
            val, _ = integrate.quad(
                _integrand, lo, hi, args=(lo, ta, td), epsrel=epsrel, epsabs=0.0, limit=500
            )
        else:

            def f(s: float, lo: float = lo) -> float:
                t = np.exp(s)
                return t * _integrand(t, lo, ta, td)

            lo_s = np.log(lo) if lo > 0 else np.log(min(ta, hi) * 1e-12)
            pts = [p for p in (np.log(ta), np.log(td)) if lo_s < p < np.log(hi)]
            val, _ = integrate.quad(
                f, lo_s, np.log(hi), points=pts or None, epsrel=epsrel, epsabs=0.0, limit=500
            )
        out[idx] = Z * Z * val
    return float(out) if out.ndim == 0 else out
