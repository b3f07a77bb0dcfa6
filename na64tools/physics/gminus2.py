r"""One-loop contributions of a light boson to the muon anomalous magnetic moment, and the
(g-2)_mu reference values used to draw the "g-2" curves on coupling plots.

One loop (docs/references.md; e.g. Jegerlehner & Nyffeler, Phys. Rept. 477 (2009) 1,
eqs. for a neutral vector / scalar coupled to the muon; Pospelov, arXiv:0811.1030), with
:math:`r = m^2/m_\mu^2`:

- vector (L_mu-L_tau Z', coupling g):
  :math:`\Delta a_\mu = \frac{g^2}{4\pi^2}\int_0^1 dz\,\frac{z(1-z)^2}{(1-z)^2 + z r}`
  :math:`\to g^2/(8\pi^2)` for :math:`m \ll m_\mu` and :math:`g^2 m_\mu^2/(12\pi^2 m^2)` for
  :math:`m \gg m_\mu`;
- scalar (coupling :math:`g_S S\bar\mu\mu`):
  :math:`\Delta a_\mu = \frac{g_S^2}{8\pi^2}\int_0^1 dz\,\frac{(1-z)^2(1+z)}{(1-z)^2 + z r}`
  :math:`\to 3 g_S^2/(16\pi^2)` for :math:`m \ll m_\mu`.
- dark photon (kinetic mixing ε): the vector result with :math:`g = \epsilon e`.
- pseudoscalar a (ALP, coupling :math:`-i g\, a\bar\mu\gamma_5\mu`, ``model="alp"``):
  :math:`\Delta a_\mu = -\frac{g^2}{8\pi^2}\int_0^1 dz\,\frac{(1-z)^3}{(1-z)^2 + z r}`,
  *negative* (J. P. Leveille, Nucl. Phys. B137 (1978) 63; Jegerlehner & Nyffeler 2009, the
  pseudoscalar-exchange one-loop term), :math:`\to -g^2/(16\pi^2)` for :math:`m \ll m_\mu` and
  :math:`-\frac{g^2 m_\mu^2}{8\pi^2 m^2}(\ln\frac{m^2}{m_\mu^2} - \frac{11}{6})` for
  :math:`m \gg m_\mu`. Only the one-loop term: the two-loop Barr-Zee diagrams through an
  :math:`a\gamma\gamma` coupling (W. J. Marciano et al., PRD 94 (2016) 115033,
  arXiv:1607.01022) are not included. A negative contribution cannot explain a positive
  :math:`\Delta a_\mu` (:func:`g2_band` refuses it); it is bounded from below,
  :math:`\Delta a_\mu(m, g) > \Delta - n\sigma` (:func:`g2_upper_bound`).

Reference values (docs/references.md)
--------------------------------------------
- :data:`G2_2021`: Δa_μ = a_μ(exp, 2021 world average 116 592 061(41)e-11, PRL 126 141801)
  − a_μ(SM, Theory Initiative 2020, 116 591 810(43)e-11) = 251(59)e-11. A *band*: the coupling
  range explaining the anomaly within ±nσ. Superseded.
- :data:`G2_2025`: a_μ(exp) = 116 592 071.5(14.5)e-11, the final Fermilab + BNL world average
  (Muon g-2 Collaboration, arXiv:2506.03069, PRL 135 (2025) 101802), and a_μ(SM) =
  116 592 033(62)e-11 (Theory Initiative white paper 2025, lattice HVP, arXiv:2505.21476). The
  difference Δa_μ = 38.5(63.7)e-11 (errors added in quadrature; the white paper quotes 38(63)) is
  compatible with zero: no anomaly. It is used as an *upper bound*: a new boson must not add more
  than Δa_μ + nσ, i.e. Δa_μ(m, g) < (a_exp − a_SM) + 2σ = 165.8e-11 for n = 2
  (:func:`g2_upper_bound`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy import integrate

from .constants import ALPHA, M_MU

__all__ = [
    "GMinus2Reference",
    "G2_2021",
    "G2_2025",
    "delta_amu",
    "g2_band",
    "g2_upper_bound",
    "explains_anomaly",
]

_G2_MODELS = ("vector", "dark_photon", "scalar", "alp")
#: models whose one-loop contribution is negative
_NEGATIVE = ("alp",)


def explains_anomaly(model: str) -> bool:
    """Whether the one-loop contribution of ``model`` is positive, so that it has a band of
    couplings explaining the (g−2)_μ anomaly (:func:`g2_band`); a negative one (the ALP) only
    has the bound of :func:`g2_upper_bound`.

    Parameters
    ----------
    model : str
        One of ``vector``, ``dark_photon``, ``scalar``, ``alp``.

    Returns
    -------
    bool
    """
    if model not in _G2_MODELS:
        raise ValueError(f"unknown (g-2) model {model!r} (expected one of: {', '.join(_G2_MODELS)})")
    return model not in _NEGATIVE


@dataclass(frozen=True)
class GMinus2Reference:
    """A (g-2)_mu reference: Δa_μ = a_exp − a_SM ± sigma, with label and source.

    Attributes
    ----------
    delta, sigma : float
        Δa_μ and its standard uncertainty (absolute, not in units of 1e-11).
    label : str
        Short legend label.
    source : str
        Where the numbers come from.
    kind : {"band", "upper_bound"}
        How plots use it: a ±nσ band (anomaly explanation) or an upper bound Δa_μ + nσ.
    """

    delta: float
    sigma: float
    label: str
    source: str
    kind: str = "band"


G2_2021 = GMinus2Reference(
    delta=251e-11,
    sigma=59e-11,
    label=r"$(g-2)_\mu$ 2021 (superseded)",
    source=(
        "a_mu(exp) 116592061(41)e-11, Muon g-2 Collab. PRL 126 (2021) 141801; a_mu(SM) "
        "116591810(43)e-11, Theory Initiative white paper 2020, Phys. Rept. 887 (2020) 1"
    ),
    kind="band",
)

_A_EXP_2025, _S_EXP_2025 = 116592071.5e-11, 14.5e-11
_A_SM_2025, _S_SM_2025 = 116592033e-11, 62e-11

G2_2025 = GMinus2Reference(
    delta=_A_EXP_2025 - _A_SM_2025,
    sigma=float(np.hypot(_S_EXP_2025, _S_SM_2025)),
    label=r"$(g-2)_\mu$ 2025 (upper bound)",
    source=(
        "a_mu(exp) 116592071.5(14.5)e-11, final FNAL+BNL world average, Muon g-2 Collab. "
        "arXiv:2506.03069; a_mu(SM) 116592033(62)e-11, Theory Initiative white paper 2025, "
        "arXiv:2505.21476"
    ),
    kind="upper_bound",
)


def _loop_integral(r: float, model: str) -> float:
    """The z integral of the module docstring for r = m^2/m_mu^2.

    For r < 1, written in w = 1 - z (denominator w^2 + (1 - w) r) and integrated in ln w: the
    integrand changes on the scale w ~ sqrt(r), which ln w resolves for any small r; the range
    w < 1e-6 sqrt(r) is dropped (its contribution is below 1e-12 relative). For r >= 1 the
    integral is done in ln z (the scale is z ~ 1/r) down to z = 1e-6/r and in z below.
    """
    if model == "scalar":

        def h(z: float, w: float) -> float:  # w = 1 - z, passed to keep its digits
            return w * w * (1.0 + z) / (w * w + z * r)
    elif model == "alp":

        def h(z: float, w: float) -> float:
            return w * w * w / (w * w + z * r)
    else:

        def h(z: float, w: float) -> float:
            return z * w * w / (w * w + z * r)

    if r >= 1.0:  # heavy boson: the integrand turns over at z ~ 1/r: integrate in ln z

        def g(t: float) -> float:
            z = np.exp(t)
            return z * h(z, 1.0 - z)

        lo, brk = np.log(1e-6 / r), -np.log(r)
    else:  # light boson: the scale is w ~ sqrt(r): integrate in ln w

        def g(t: float) -> float:
            w = np.exp(t)
            return w * h(1.0 - w, w)

        lo, brk = np.log(1e-6 * np.sqrt(r)), 0.5 * np.log(r)
    pts = [brk] if lo < brk < 0.0 else None
    val, _ = integrate.quad(g, lo, 0.0, points=pts, epsabs=0.0, epsrel=1e-10, limit=200)
    if r >= 1.0:  # the piece z < 1e-6/r, where the scalar integrand is ~1
        z0 = np.exp(lo)
        val += integrate.quad(lambda z: h(z, 1.0 - z), 0.0, z0, epsabs=0.0, epsrel=1e-10)[0]
    return val


def delta_amu(
    mass: ArrayLike, coupling: float | ArrayLike, *, model: str = "vector"
) -> np.ndarray | float:
    """One-loop Δa_μ of a boson of ``mass`` [GeV] and ``coupling`` (vectorised over both).

    ``coupling`` is g (``"vector"``, ``"scalar"``, ``"alp"``) or ε (``"dark_photon"``, g = ε e).
    For ``"alp"`` (pseudoscalar) the result is negative.

    Parameters
    ----------
    mass : array_like
        Boson mass [GeV] (> 0).
    coupling : float or array_like
        g, or ε for ``"dark_photon"`` (>= 0).
    model : {"vector", "scalar", "dark_photon", "alp"}
        The boson.

    Returns
    -------
    float or numpy.ndarray
        Δa_μ (absolute, not in units of 1e-11; negative for ``"alp"``).
    """
    if model not in _G2_MODELS:
        raise ValueError(f"unknown model {model!r} (expected one of: {', '.join(_G2_MODELS)})")
    m = np.asarray(mass, dtype=float)
    if np.any(~np.isfinite(m)) or np.any(m <= 0):
        raise ValueError(f"mass must be positive and finite (GeV), got {mass!r}")
    c = np.asarray(coupling, dtype=float)
    if np.any(~np.isfinite(c)) or np.any(c < 0):
        raise ValueError(f"coupling must be >= 0 and finite, got {coupling!r}")
    r = (m / M_MU) ** 2
    loop = np.vectorize(lambda rr: _loop_integral(float(rr), model), otypes=[float])(r)
    g2 = c**2 * (4.0 * np.pi * ALPHA) if model == "dark_photon" else c**2
    pref = 1.0 / (8.0 * np.pi**2) if model in ("scalar", "alp") else 1.0 / (4.0 * np.pi**2)
    if model in _NEGATIVE:
        pref = -pref
    res = g2 * pref * loop
    return float(res) if np.ndim(res) == 0 else res


def _coupling_for(masses: ArrayLike, target: float, model: str) -> np.ndarray:
    """Coupling giving Δa_μ = target (Δa_μ ∝ coupling²); 0 where target has not the sign of
    the model's contribution (or is 0)."""
    unit = np.asarray(delta_amu(masses, 1.0, model=model), dtype=float)
    if model in _NEGATIVE:
        return np.sqrt(np.maximum(-target, 0.0) / -unit)
    return np.sqrt(np.maximum(target, 0.0) / unit)


def g2_band(
    masses: ArrayLike,
    reference: GMinus2Reference = G2_2021,
    model: str = "vector",
    nsigma: float = 2.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Couplings (g_low, g_high) where Δa_μ(m, g) = Δ ∓ nσ: the band explaining the anomaly.

    g_low is 0 where Δ − nσ <= 0.

    Parameters
    ----------
    masses : array_like
        Boson masses [GeV].
    reference : GMinus2Reference
        The Δa_μ reference.
    model : {"vector", "scalar", "dark_photon"}
        The boson (``"alp"``, whose contribution is negative, raises ``ValueError``).
    nsigma : float
        Number of standard deviations.

    Returns
    -------
    g_low, g_high : numpy.ndarray
        The couplings at each mass.
    """
    if model in _NEGATIVE:
        raise ValueError(
            f"model {model!r} gives a negative Δa_μ and cannot explain an anomaly band; use "
            "g2_upper_bound for the coupling it allows"
        )
    lo = _coupling_for(masses, reference.delta - nsigma * reference.sigma, model)
    hi = _coupling_for(masses, reference.delta + nsigma * reference.sigma, model)
    return lo, hi


def g2_upper_bound(
    masses: ArrayLike,
    reference: GMinus2Reference = G2_2025,
    model: str = "vector",
    nsigma: float = 2.0,
) -> np.ndarray:
    """Largest coupling allowed by Δa_μ(m, g) < Δ + nσ (2025: 38.5e-11 + 2 × 63.7e-11).

    For a model with a negative contribution (``"alp"``) the bound is the other side,
    Δa_μ(m, g) > Δ − nσ (2025: 38.5e-11 − 127.4e-11 = −88.9e-11, so abs(Δa_μ) < 88.9e-11); it is 0
    where Δ − nσ >= 0 (then any negative contribution is excluded at nσ).

    Parameters
    ----------
    masses : array_like
        Boson masses [GeV].
    reference : GMinus2Reference
        The Δa_μ reference.
    model : {"vector", "scalar", "dark_photon", "alp"}
        The boson.
    nsigma : float
        Number of standard deviations.

    Returns
    -------
    numpy.ndarray
        The coupling at each mass.
    """
    if model in _NEGATIVE:
        return _coupling_for(masses, reference.delta - nsigma * reference.sigma, model)
    return _coupling_for(masses, reference.delta + nsigma * reference.sigma, model)
