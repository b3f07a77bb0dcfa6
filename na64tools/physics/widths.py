r"""Decay widths and invisible branching fractions of the dark bosons (GeV).

All formulas are standard tree-level results, listed with their sources in docs/references.md:
the L_mu-L_tau widths as in Altmannshofer, Gori, Pospelov, Yavin, PRD 89 (2014) 095033
(arXiv:1403.1269) and DMG4 (Bondi et al., Comput. Phys. Commun. 269 (2021) 108129,
``src/DarkMatter/DarkZ.cc``, ``DarkZ::Width``; ``DarkMuPhilicScalars.cc`` for the scalar); the
dark-sector width as in Izaguirre, Krnjaic, Schuster, Toro, PRL 115 (2015) 251301
(arXiv:1505.00011). With :math:`r_f = m_f^2/m^2`:

- L_mu-L_tau Z' (coupling g to mu, tau, nu_mu, nu_tau):
  :math:`\Gamma(\nu\bar\nu) = g^2 m/(24\pi)` per flavour (left-handed neutrinos only),
  :math:`\Gamma(\ell^+\ell^-) = g^2 m/(12\pi)\,(1+2r_\ell)\sqrt{1-4r_\ell}` for
  :math:`\ell = \mu, \tau`.
- Dark vector -> :math:`\chi\bar\chi` (Dirac, coupling :math:`g_\chi`,
  :math:`\alpha_D = g_\chi^2/4\pi`): :math:`\Gamma = \alpha_D m/3\,(1+2r_\chi)\sqrt{1-4r_\chi}`.
- Dark photon (kinetic mixing ε, g = ε e): :math:`\Gamma(\ell^+\ell^-) = \epsilon^2 \alpha m/3
  \,(1+2r_\ell)\sqrt{1-4r_\ell}` for :math:`\ell = e, \mu, \tau`; decays to hadrons (R-ratio) are
  not included (a visible width that only matters when the invisible width is not dominant).
- Muon-philic scalar: :math:`\Gamma(S\to\mu\mu) = g_S^2 m/(8\pi)(1-4r_\mu)^{3/2}`.

Every function is vectorised over ``mass`` (numpy broadcasting) and returns a float for scalar
input.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from .constants import ALPHA, M_E, M_MU, M_TAU

__all__ = [
    "LMUTAU_CHANNELS",
    "width_zprime",
    "widths_lmutau",
    "width_dark",
    "width_dark_photon_leptons",
    "width_scalar_mumu",
    "br_invisible",
]

#: channels accepted by :func:`width_zprime`
LMUTAU_CHANNELS = ("nu_mu", "nu_tau", "nunu", "mumu", "tautau", "total")


def _out(a: np.ndarray) -> np.ndarray | float:
    return float(a) if np.ndim(a) == 0 else a


def _masses(mass: ArrayLike) -> np.ndarray:
    m = np.asarray(mass, dtype=float)
    if np.any(~np.isfinite(m)) or np.any(m <= 0):
        raise ValueError(f"mass must be positive and finite (GeV), got {mass!r}")
    return m


def _coupling(name: str, value: float) -> float:
    v = float(value)
    if not (np.isfinite(v) and v > 0):
        raise ValueError(f"{name} must be a positive finite number, got {value!r}")
    return v


def _vector_pair_factor(m: np.ndarray, m_f: float | np.ndarray) -> np.ndarray:
    """(1 + 2 r) sqrt(1 - 4 r), r = m_f^2/m^2, zero below threshold."""
    r = (np.asarray(m_f, dtype=float) / m) ** 2
    return np.where(4.0 * r < 1.0, (1.0 + 2.0 * r) * np.sqrt(np.maximum(1.0 - 4.0 * r, 0.0)), 0.0)


def width_zprime(mass: ArrayLike, g: float, channel: str) -> np.ndarray | float:
    """Partial width [GeV] of the L_mu-L_tau Z' into ``channel``.

    Parameters
    ----------
    mass : array_like
        Z' mass [GeV].
    g : float
        L_mu-L_tau gauge coupling.
    channel : {"nu_mu", "nu_tau", "nunu", "mumu", "tautau", "total"}
        ``"nunu"`` is the sum over the two neutrino flavours (g² m/12π), ``"total"`` the sum of
        all SM channels.

    Returns
    -------
    float or numpy.ndarray
        The width [GeV], shaped like ``mass``.
    """
    m = _masses(mass)
    g = _coupling("g", g)
    nu_one = g * g * m / (24.0 * np.pi)
    lep = g * g * m / (12.0 * np.pi)
    if channel in ("nu_mu", "nu_tau"):
        res = nu_one
    elif channel == "nunu":
        res = 2.0 * nu_one
    elif channel == "mumu":
        res = lep * _vector_pair_factor(m, M_MU)
    elif channel == "tautau":
        res = lep * _vector_pair_factor(m, M_TAU)
    elif channel == "total":
        res = 2.0 * nu_one + lep * (_vector_pair_factor(m, M_MU) + _vector_pair_factor(m, M_TAU))
    else:
        raise ValueError(
            f"unknown L_mu-L_tau channel {channel!r} (expected one of: {', '.join(LMUTAU_CHANNELS)})"
        )
    return _out(res)


def widths_lmutau(mass: ArrayLike, g: float) -> dict[str, np.ndarray | float]:
    """Partial widths [GeV] of the L_mu-L_tau Z': ``{"nunu", "mumu", "tautau"}``.

    ``"nunu"`` is the total over both neutrino flavours; the values sum to the total width.

    Parameters
    ----------
    mass : array_like
        Z' mass [GeV].
    g : float
        L_mu-L_tau gauge coupling.

    Returns
    -------
    dict of str to float or numpy.ndarray
        ``{"nunu": ..., "mumu": ..., "tautau": ...}`` [GeV].
    """
    return {ch: width_zprime(mass, g, ch) for ch in ("nunu", "mumu", "tautau")}


def width_dark(mass: ArrayLike, m_chi: ArrayLike, alpha_D: float) -> np.ndarray | float:
    r"""Width [GeV] of a dark vector into a Dirac pair :math:`\chi\bar\chi`.

    :math:`\Gamma = \alpha_D m/3\,(1 + 2 r_\chi)\sqrt{1 - 4 r_\chi}` (arXiv:1505.00011;
    docs/references.md), zero for :math:`m \le 2 m_\chi`. With α_D = 0.1 it exceeds the
    L_mu-L_tau SM width (∝ g²/12π) by ~α_D/(g²/4π): BR(Z' → χχ̄) = 1 − O(g²/α_D).

    Parameters
    ----------
    mass : array_like
        Mass of the dark vector [GeV].
    m_chi : array_like
        Dark-matter mass m_χ [GeV].
    alpha_D : float
        Dark coupling α_D = g_D²/4π.

    Returns
    -------
    float or numpy.ndarray
        The width [GeV], shaped like ``mass``.
    """
    m = _masses(mass)
    a = _coupling("alpha_D", alpha_D)
    mc = np.asarray(m_chi, dtype=float)
    if np.any(mc < 0) or np.any(~np.isfinite(mc)):
        raise ValueError(f"m_chi must be >= 0 and finite (GeV), got {m_chi!r}")
    return _out(a * m / 3.0 * _vector_pair_factor(m, mc))


def width_dark_photon_leptons(mass: ArrayLike, eps: float) -> np.ndarray | float:
    r"""Visible width [GeV] of a dark photon into :math:`e^+e^-, \mu^+\mu^-, \tau^+\tau^-`.

    :math:`\sum_\ell \epsilon^2\alpha m/3 (1+2r_\ell)\sqrt{1-4r_\ell}`; hadronic decays neglected.

    Parameters
    ----------
    mass : array_like
        Dark-photon mass [GeV].
    eps : float
        Kinetic mixing ε.

    Returns
    -------
    float or numpy.ndarray
        The width [GeV], shaped like ``mass``.
    """
    m = _masses(mass)
    e = _coupling("eps", eps)
    fac = sum(_vector_pair_factor(m, mf) for mf in (M_E, M_MU, M_TAU))
    return _out(e * e * ALPHA * m / 3.0 * fac)


def width_scalar_mumu(mass: ArrayLike, g: float) -> np.ndarray | float:
    r"""Width [GeV] of a muon-philic scalar into muons, :math:`g_S^2 m/(8\pi)(1-4r_\mu)^{3/2}`.

    Parameters
    ----------
    mass : array_like
        Scalar mass [GeV].
    g : float
        Muon coupling g_S.

    Returns
    -------
    float or numpy.ndarray
        The width [GeV], shaped like ``mass``.
    """
    m = _masses(mass)
    g = _coupling("g", g)
    r = (M_MU / m) ** 2
    return _out(
        np.where(
            4.0 * r < 1.0, g * g * m / (8.0 * np.pi) * np.maximum(1.0 - 4.0 * r, 0.0) ** 1.5, 0.0
        )
    )


def br_invisible(
    mass: ArrayLike,
    g: float,
    model: str = "vector",
    *,
    m_chi: ArrayLike | None = None,
    alpha_D: float = 0.1,
    scalar_width_invisible: float | None = None,
) -> np.ndarray | float:
    """Invisible branching fraction BR(X -> invisible).

    Parameters
    ----------
    mass : array_like
        Mass of X [GeV].
    g : float
        Coupling: g of L_mu-L_tau (``"vector"``), ε (``"dark_photon"``), g_S (``"scalar"``).
    model : {"vector", "dark_photon", "scalar"}
        - ``"vector"``: L_mu-L_tau Z'; invisible = ν ν̄ (both flavours), plus χχ̄ when ``m_chi``
          is given. Without dark decays BR = 1 below 2 m_mu, → 1/2 for
          2 m_mu << m < 2 m_tau and → 1/3 for m >> 2 m_tau. With ``m_chi`` (the light-dark-matter
          model, e.g. m_chi = m/3, α_D = 0.1) BR ≈ 1 at every mass; the LDM limit of
          :func:`~na64tools.physics.relic.ldm_coupling_limit` uses this.
        - ``"dark_photon"``: invisible = χχ̄ with ``alpha_D`` and ``m_chi`` (default
          m_chi = m/3, i.e. m_A' = 3 m_chi as in the NA64 LDM benchmark); visible = lepton pairs.
          With α_D = 0.1 >> ε² α the result is 1 up to ~ε² α/α_D.
        - ``"scalar"``: the invisible width of S is a model parameter. With
          ``scalar_width_invisible=None`` (default) BR = 1 below 2 m_mu (S → dark states; the
          γγ loop decay is neglected) and 0 above (S → μμ dominates); with a value Γ_inv [GeV],
          BR = Γ_inv / (Γ_inv + Γ(S → μμ)).
    m_chi : array_like, optional
        Dark-matter mass [GeV] for the χχ̄ channel.
    alpha_D : float
        Dark coupling α_D = g_χ²/4π (default 0.1, the benchmark of arXiv:1505.00011;
        docs/references.md).
    scalar_width_invisible : float, optional
        Invisible width [GeV] of the scalar (see above).

    Returns
    -------
    float or numpy.ndarray
        BR(X → invisible) in [0, 1], shaped like ``mass``.
    """
    m = _masses(mass)
    g = _coupling("g", g)
    if model == "vector":
        inv = np.asarray(width_zprime(m, g, "nunu"))
        if m_chi is not None:
            inv = inv + width_dark(m, m_chi, alpha_D)
        tot = inv + width_zprime(m, g, "mumu") + width_zprime(m, g, "tautau")
        return _out(inv / tot)
    if model == "dark_photon":
        mc = m / 3.0 if m_chi is None else np.asarray(m_chi, dtype=float)
        inv = np.asarray(width_dark(m, mc, alpha_D))
        vis = np.asarray(width_dark_photon_leptons(m, g))
        tot = inv + vis
        return _out(np.where(tot > 0, inv / np.where(tot > 0, tot, 1.0), 0.0))
    if model == "scalar":
        vis = np.asarray(width_scalar_mumu(m, g))
        if scalar_width_invisible is None:
            return _out(np.where(m < 2.0 * M_MU, 1.0, 0.0))
        gi = float(scalar_width_invisible)
        if not (np.isfinite(gi) and gi >= 0):
            raise ValueError(
                f"scalar_width_invisible must be >= 0 (GeV), got {scalar_width_invisible!r}"
            )
        tot = gi + vis
        return _out(np.where(tot > 0, gi / np.where(tot > 0, tot, 1.0), 0.0))
    raise ValueError(f"unknown model {model!r} (expected one of: vector, dark_photon, scalar)")
