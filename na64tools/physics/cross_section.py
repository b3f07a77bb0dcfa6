r"""Production cross-section of a dark boson X in muon bremsstrahlung, :math:`\mu N \to \mu N X`.

Physics (docs/references.md; DMG4 ``src/DarkMatter/DarkZ.cc`` and
``DarkMuPhilicScalars.cc``; Bjorken, Essig, Schuster, Toro arXiv:0906.0580 with the lepton mass
kept; Kirpichnikov et al. arXiv:2107.13297 for the muon case)
-----------------------------------------------------------------------------------------------
With :math:`x = E_X/E_0`, :math:`\theta` the polar angle of X, natural units (GeV):

.. math::

    \tilde u = -x E_0^2 \theta^2 - m^2 \frac{1-x}{x} - m_\mu^2 x, \qquad
    \beta_X = \sqrt{1 - m^2/(x^2 E_0^2)},

    \frac{d^2\sigma}{dx\, d\theta} = 2 \epsilon^2 \alpha^3 E_0^2 \sin\theta\; x \beta_X
        \frac{1-x}{\tilde u^2}\, \mathcal{B}\; \chi(t_{min}, t_{max}),

with the bracket

- vector (L_mu-L_tau Z', dark photon):
  :math:`\mathcal{B} = 2\frac{2-2x+x^2}{1-x} + \frac{4(m^2+2m_\mu^2)}{\tilde u^2}
  (\tilde u x + m^2(1-x) + m_\mu^2 x^2)`,
- scalar S (coupling :math:`g_S S \bar\mu\mu`):
  :math:`\mathcal{B} = \frac{x^2}{1-x} + \frac{2(m^2-4m_\mu^2)}{\tilde u^2}
  (\tilde u x + m^2(1-x) + m_\mu^2 x^2)`,
- pseudoscalar a (``model="alp"``, coupling :math:`-i g_{a\mu\mu}\, a \bar\mu\gamma_5\mu`):
  :math:`\mathcal{B} = \frac{x^2}{1-x} + \frac{2m^2}{\tilde u^2}
  (\tilde u x + m^2(1-x) + m_\mu^2 x^2)`, the scalar bracket with :math:`m^2 - 4m_\mu^2 \to m^2`
  (DMG4 ``DarkMuPhilicPseudoScalars::CrossSectionDSDXDTheta``, the same prefactor and
  :math:`t_{max} = E_0^2` as the scalar; H. Sieber et al., PRD 108 (2023) 056018,
  arXiv:2305.09015, derive the scalar and pseudoscalar WW cross-sections for NA64mu;
  :mod:`na64tools.physics.alp`).

The combination :math:`\tilde u x + m^2(1-x) + m_\mu^2 x^2` equals :math:`-x^2 E_0^2\theta^2`
identically; the code uses that form (no cancellation). Where :math:`\mathcal{B} < 0` the
cross-section is set to 0, as DMG4 does.

Photon flux :math:`\chi` (:mod:`na64tools.physics.flux`):

- ``method="WW"``: :math:`t_{min} = \tilde u^2 / (4 E_0^2 (1-x)^2)` at every (x, θ)
  (DMG4 ``DarkZ::CrossSectionDSDXDTheta``); :math:`t_{max} = m^2 + m_\mu^2` (vector) or
  :math:`E_0^2` (scalar and pseudoscalar, DMG4 default ``tMax``). Where
  :math:`t_{min} \ge t_{max}` the flux is zero (empty t range; DMG4's ``DSDXDPSI_WW`` cuts there too).
- ``method="IWW"``: :math:`\chi` evaluated once per mass with :math:`t_{min} = m^4/(4E_0^2)`,
  :math:`t_{max} = m^2 + m_\mu^2` (arXiv:1705.01633 eq. 30; DMG4
  ``DarkZ::TotalCrossSectionCalc_IWW``). DMG4 has no IWW for the scalar; here the scalar IWW uses
  the same :math:`t_{min}` and the scalar :math:`t_{max} = E_0^2` (documented extension); the
  same holds for the pseudoscalar (``"alp"``).
  Integrating the IWW double-differential over θ in the small-angle limit reproduces DMG4's
  closed ``CrossSectionDSDX_IWW`` exactly (checked in the tests). At 160 GeV on Pb (vector,
  x > 0) IWW/WW = 1.10 (1 MeV), 1.22 (10 MeV), 1.56 (60 MeV), 1.66 (0.1 GeV), 1.96 (0.5 GeV),
  2.44 (1 GeV): the 1.1-1.6 sometimes quoted holds below ~70 MeV only. The growth is what
  these formulas give: where the heavy-boson spectrum peaks (1 - x ~ m_mu²/m²) the WW
  :math:`t_{min} \approx (m^2 + m_\mu^2/(1-x))^2/(4E_0^2)` is well above the IWW
  :math:`m^4/(4E_0^2)`, so the WW flux is smaller.
- In the massless limit (vector, ε = 1) the WW dσ/dx agrees with the standard
  Kelner-Kokoulin-Petrukhin muon bremsstrahlung (:mod:`na64tools.physics.eloss`) to 1-4 % for
  0.05 < x < 0.9 (test).

Ranges (DMG4): :math:`x \in [m/E_0,\ 1 - m^4/(8 E_0^3 A) - m_\mu/E_0]`,
:math:`\theta \in [0, 0.3]`. In that x_max, as in DMG4 ``DarkZ.cc`` (which passes the target's
``A`` as given), A is the molar mass in g/mol (207.2 for Pb) standing in for the nuclear mass in
GeV: a convention of the integration range only (the recoil term is tiny, 3 % of x at m = 120 GeV).
Which masses can be produced at all is decided by the true two-body threshold of
:math:`\mu N \to \mu N X` with the nucleus at rest:
:math:`m < \sqrt{s} - M_N - m_\mu`, :math:`s = M_N^2 + m_\mu^2 + 2 E_0 M_N`, with the nuclear mass
:math:`M_N = A\,u` (u = 0.93149 GeV, the atomic mass unit, CODATA; electron masses and binding
neglected, 1e-4 relative), i.e. :math:`M_N` = 193.0 GeV and m < 121.6 GeV for 160 GeV muons on
Pb (:func:`mass_threshold`). Masses at or above it are rejected.

Coupling convention: :math:`\epsilon^2 \alpha = g^2/(4\pi)`. For ``model="vector"``,
``model="scalar"`` and ``model="alp"`` the ``coupling`` argument is g (g_Z' of L_mu-L_tau, g_S of
the scalar, g_aμμ of the pseudoscalar);
for ``model="dark_photon"`` it is the kinetic mixing :math:`\epsilon` (g = ε e), so the same
production cross-section is obtained with :math:`\epsilon = g/\sqrt{4\pi\alpha}`.
Every cross-section is :math:`\propto` coupling² exactly (computed at coupling 1 and scaled).

Numerics
--------
Per x, the θ integral uses :math:`r = \ln(1 + x E_0^2\theta^2/|\tilde u_0|)` (which makes the
integrand smooth and of order one over a range of ~10 units) with a composite Gauss-Legendre rule;
the x integral uses :math:`x = (m/E_0)\cosh\eta` below x = 1/2 (absorbs the threshold
:math:`\beta_X` and the 1/x rise) and :math:`s = -\ln(1-x)` above (resolves the peak at
:math:`1-x \sim m_\mu^2/m^2`). Units: GeV in, pb out (1 GeV^-2 = 3.894e8 pb).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy import constants

from .constants import ALPHA, GEV2_TO_PB, M_MU, THETA_MAX
from .flux import _flux_per_z2, nuclear_size_t, screening_t
from .materials import Material, material

__all__ = [
    "MODELS",
    "METHODS",
    "cross_section",
    "dsigma_dx",
    "dsigma_dx_dtheta",
    "x_range",
    "mass_threshold",
    "nuclear_mass",
    "AMU_GEV",
    "XThetaSampler",
    "get_sampler",
    "sample_x_theta",
]

#: supported production models
MODELS = ("vector", "dark_photon", "scalar", "alp")
#: supported approximations of the photon flux
METHODS = ("WW", "IWW")

# x below which the threshold mapping x = x_lo cosh(eta) is used, above it s = -ln(1-x)
_X_SPLIT = 0.5
# quadrature layout: composite Gauss-Legendre panels x nodes (x: per region; r: per x)
_X_PANELS, _X_NODES = 8, 16
_R_PANELS, _R_NODES = 6, 12


def _composite_gl(panels: int, nodes: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes in [0, 1] and weights (summing to 1) of a composite Gauss-Legendre rule."""
    t, w = np.polynomial.legendre.leggauss(nodes)
    t = 0.5 * (t + 1.0)
    w = 0.5 * w
    pts = ((np.arange(panels)[:, None] + t[None, :]) / panels).ravel()
    wts = np.tile(w / panels, panels)
    return pts, wts


_XT, _XW = _composite_gl(_X_PANELS, _X_NODES)
_RT, _RW = _composite_gl(_R_PANELS, _R_NODES)


@dataclass(frozen=True)
class _Config:
    """Validated, hashable description of one production configuration (coupling 1)."""

    mass: float
    energy: float
    model: str
    method: str
    target: Material

    @property
    def x_lo(self) -> float:
        return self.mass / self.energy

    @property
    def x_hi(self) -> float:
        m, e = self.mass, self.energy
        return 1.0 - m**4 / (8.0 * e**3 * self.target.A) - M_MU / e

    @property
    def t_max(self) -> float:
        if self.model in ("scalar", "alp"):
            return self.energy**2
        return self.mass**2 + M_MU**2

    @property
    def ta(self) -> float:
        return screening_t(self.target.Z)

    @property
    def td(self) -> float:
        return nuclear_size_t(self.target.A)

    @functools.cached_property
    def chi_iww(self) -> float:
        """IWW flux: chi(m^4/(4 E^2), t_max) / Z^2."""
        tmin = np.array(self.mass**4 / (4.0 * self.energy**2))
        return float(_flux_per_z2(tmin, np.array(self.t_max), self.ta, self.td))


# --------------------------------------------------------------------------- validation


def _check_positive(name: str, value: object, unit: str = "") -> float:
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a positive number{unit}, got {value!r}") from None
    if not (np.isfinite(v) and v > 0):
        raise ValueError(f"{name} must be a positive finite number{unit}, got {value!r}")
    return v


def _check_draws(n: object, rng: object) -> int:
    """``n`` as an int (>= 0) for a sampler's ``sample(n, rng)``, after checking ``rng``."""
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    n = int(n)  # type: ignore[call-overload]
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    return n


def _config(mass: object, model: str, energy: object, target: object, method: str) -> _Config:
    if model not in MODELS:
        raise ValueError(f"unknown model {model!r} (expected one of: {', '.join(MODELS)})")
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r} (expected one of: {', '.join(METHODS)})")
    m = _check_positive("mass", mass, " in GeV")
    e = _check_positive("energy", energy, " in GeV")
    if e <= M_MU:
        raise ValueError(f"energy must exceed the muon mass {M_MU} GeV, got {energy!r}")
    cfg = _Config(m, e, model, method, material(target))  # type: ignore[arg-type]
    m_max = mass_threshold(e, cfg.target)
    if m >= m_max:
        raise ValueError(
            f"mass {mass!r} GeV is above the kinematic limit for a {e:g} GeV muon on "
            f"{cfg.target.name}: m < sqrt(s) - M_N - m_mu = {m_max:.4g} GeV, with "
            f"s = M_N^2 + m_mu^2 + 2 E M_N and M_N = A u = {cfg.target.A:g} x {AMU_GEV:.5f} GeV "
            f"= {nuclear_mass(cfg.target):.4g} GeV"
        )
    if cfg.x_lo >= cfg.x_hi:  # cannot happen below the threshold; kept as a guard
        raise ValueError(
            f"mass {mass!r} GeV: empty x range [{cfg.x_lo:.4g}, {cfg.x_hi:.4g}] for a {e:g} GeV muon "
            f"on {cfg.target.name}"
        )
    return cfg


#: atomic mass unit in GeV (CODATA, scipy.constants)
AMU_GEV: float = float(constants.physical_constants["atomic mass constant energy equivalent in MeV"][0]
                       * 1e-3)


def nuclear_mass(target: str | Material = "Pb") -> float:
    """Nuclear mass M_N = A u in GeV, A the molar mass in g/mol, u the atomic mass unit.

    Parameters
    ----------
    target : str or Material
        The target element.

    Returns
    -------
    float
        M_N in GeV (193.0 for Pb; electron masses and binding energy neglected, 1e-4 relative).
    """
    return material(target).A * AMU_GEV


def mass_threshold(energy: float = 160.0, target: str | Material = "Pb") -> float:
    """Largest X mass producible in mu N -> mu N X with the nucleus N at rest, in GeV.

    Two-body threshold: m < sqrt(s) - M_N - m_mu with s = M_N^2 + m_mu^2 + 2 E M_N
    (the final state mu N X at rest in the centre-of-mass frame; PDG "Kinematics" review,
    invariant mass of the final state), M_N from :func:`nuclear_mass`.

    Parameters
    ----------
    energy : float
        Muon beam energy in GeV.
    target : str or Material
        The target element.

    Returns
    -------
    float
        The threshold mass in GeV (121.6 for 160 GeV on Pb).
    """
    mn = nuclear_mass(target)
    s = mn**2 + M_MU**2 + 2.0 * float(energy) * mn
    return float(np.sqrt(s) - mn - M_MU)


def _check_x_min(x_min: object) -> float:
    try:
        v = float(x_min)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValueError(f"x_min must be a number in [0, 1), got {x_min!r}") from None
    if not (np.isfinite(v) and 0.0 <= v < 1.0):
        raise ValueError(f"x_min must be in [0, 1), got {x_min!r}")
    return v


def _prefactor(model: str, coupling: float) -> float:
    """2 eps^2 alpha^3 with eps^2 alpha = g^2/(4 pi) (or eps = coupling for the dark photon)."""
    eps2 = coupling**2 if model == "dark_photon" else coupling**2 / (4.0 * np.pi * ALPHA)
    return 2.0 * eps2 * ALPHA**3


# --------------------------------------------------------------------------- kernels


def _bracket(cfg: _Config, x: np.ndarray, q: np.ndarray, u2: np.ndarray) -> np.ndarray:
    """Amplitude bracket B (module docstring) with u x + m^2(1-x) + m_mu^2 x^2 = -x q."""
    m2, mu2 = cfg.mass**2, M_MU**2
    if cfg.model == "scalar":
        b = x * x / (1.0 - x) - 2.0 * (m2 - 4.0 * mu2) * x * q / u2
    elif cfg.model == "alp":  # pseudoscalar: DMG4 DarkMuPhilicPseudoScalars.cc
        b = x * x / (1.0 - x) - 2.0 * m2 * x * q / u2
    else:
        b = 2.0 * (2.0 - 2.0 * x + x * x) / (1.0 - x) - 4.0 * (m2 + 2.0 * mu2) * x * q / u2
    return np.maximum(b, 0.0)


def _chi(cfg: _Config, x: np.ndarray, absu: np.ndarray) -> np.ndarray:
    """chi/Z^2 at the given |u| (WW) or the constant IWW value."""
    if cfg.method == "IWW":
        return np.full(np.broadcast(x, absu).shape, cfg.chi_iww)
    tmin = (absu / (2.0 * cfg.energy * (1.0 - x))) ** 2
    return _flux_per_z2(tmin, np.array(cfg.t_max), cfg.ta, cfg.td)


def _u0(cfg: _Config, x: np.ndarray) -> np.ndarray:
    """|u~| at theta = 0: m^2 (1-x)/x + m_mu^2 x."""
    return cfg.mass**2 * (1.0 - x) / x + M_MU**2 * x


def _r_range(cfg: _Config, x: np.ndarray) -> np.ndarray:
    """Upper end R(x) of r = ln(1 + q/u0) (theta <= THETA_MAX and, WW, t_min < t_max)."""
    u0 = _u0(cfg, x)
    q_up = x * cfg.energy**2 * THETA_MAX**2
    if cfg.method == "WW":
        q_c = 2.0 * cfg.energy * (1.0 - x) * np.sqrt(cfg.t_max) - u0
        q_up = np.minimum(q_up, q_c)
    return np.log1p(np.maximum(q_up, 0.0) / u0)


def _r_integrand(cfg: _Config, x: np.ndarray, r: np.ndarray) -> np.ndarray:
    """d^2 sigma/(dx dr) / (prefactor Z^2) in GeV^-2, x and r broadcast together.

    With q = x E^2 theta^2 = u0 (e^r - 1), |u| = u0 e^r and sin(theta) d theta written as
    (sin theta/theta) dq/(2 x E^2), the double-differential becomes
    (sin theta/theta) beta (1-x) B chi / (2 |u|) dr.
    """
    u0 = _u0(cfg, x)
    q = u0 * np.expm1(r)
    absu = u0 * np.exp(r)
    theta = np.sqrt(q / (x * cfg.energy**2))
    sinc = np.sinc(theta / np.pi)
    beta = np.sqrt(np.maximum(1.0 - (cfg.x_lo / x) ** 2, 0.0))
    return (
        sinc * beta * (1.0 - x) * _bracket(cfg, x, q, absu**2) * _chi(cfg, x, absu) / (2.0 * absu)
    )


def _dsdx_unit(cfg: _Config, x: np.ndarray) -> np.ndarray:
    """d sigma/dx / (prefactor Z^2) [GeV^-2] for x strictly inside (x_lo, x_hi)."""
    x = np.asarray(x, dtype=float)
    big_r = _r_range(cfg, x)
    r = big_r[..., None] * _RT
    vals = _r_integrand(cfg, x[..., None], r)
    return big_r * (vals * _RW).sum(axis=-1)


def _x_quadrature(cfg: _Config, xa: float, xb: float) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights (dx) integrating over [xa, xb] (threshold and x -> 1 mappings)."""
    xs, ws = [], []
    if xa < min(xb, _X_SPLIT):
        e0 = np.arccosh(max(xa / cfg.x_lo, 1.0))
        e1 = np.arccosh(min(xb, _X_SPLIT) / cfg.x_lo)
        eta = e0 + (e1 - e0) * _XT
        xs.append(cfg.x_lo * np.cosh(eta))
        ws.append((e1 - e0) * _XW * cfg.x_lo * np.sinh(eta))
    if xb > max(xa, _X_SPLIT):
        s0, s1 = -np.log1p(-max(xa, _X_SPLIT)), -np.log1p(-xb)
        s = s0 + (s1 - s0) * _XT
        one_minus_x = np.exp(-s)
        xs.append(1.0 - one_minus_x)
        ws.append((s1 - s0) * _XW * one_minus_x)
    if not xs:
        return np.empty(0), np.empty(0)
    return np.concatenate(xs), np.concatenate(ws)


@functools.lru_cache(maxsize=1024)
def _sigma_unit(cfg: _Config, x_min: float) -> float:
    """Total cross-section [pb] at coupling 1 for x > x_min."""
    xa = max(cfg.x_lo, x_min)
    if xa >= cfg.x_hi:
        return 0.0
    xs, ws = _x_quadrature(cfg, xa, cfg.x_hi)
    val = float((_dsdx_unit(cfg, xs) * ws).sum())
    return val * _prefactor(cfg.model, 1.0) * cfg.target.Z**2 * GEV2_TO_PB


# --------------------------------------------------------------------------- public API


def x_range(
    mass: float, *, energy: float = 160.0, target: str | Material = "Pb"
) -> tuple[float, float]:
    """Kinematic range of x = E_X/E_0: (m/E_0, 1 - m^4/(8 E_0^3 A) - m_mu/E_0) (DMG4).

    Parameters
    ----------
    mass : float
        Mass of X [GeV].
    energy : float
        Muon energy E_0 [GeV].
    target : str or Material
        Target material (Pb, W, ...).

    Returns
    -------
    (float, float)
        The lower and upper bounds of x.
    """
    cfg = _config(mass, "vector", energy, target, "WW")
    return cfg.x_lo, cfg.x_hi


def cross_section(
    mass: float,
    coupling: float,
    *,
    model: str = "vector",
    energy: float = 160.0,
    target: str | Material = "Pb",
    x_min: float = 0.0,
    method: str = "WW",
) -> float:
    r"""Total cross-section [pb] of :math:`\mu N \to \mu N X` with :math:`x = E_X/E_0 > x_{min}`.

    Parameters
    ----------
    mass : float
        Mass of X [GeV].
    coupling : float
        g for ``"vector"`` (L_mu-L_tau Z'), ``"scalar"`` and ``"alp"``; the kinetic mixing ε for
        ``"dark_photon"`` (ε² α = g²/4π). The result is ∝ coupling² exactly.
    model : {"vector", "dark_photon", "scalar", "alp"}
    energy : float
        Muon energy E_0 [GeV] (160 GeV at NA64mu).
    target : str or Material
        Target material name known to :func:`na64tools.physics.materials.material` (Pb, W, ...).
    x_min : float
        Lower cut on x in [0, 1); 0 gives the total cross-section, 0.5 the NA64mu signal region
        p_out < 80 GeV at 160 GeV.
    method : {"WW", "IWW"}
        Photon-flux approximation (module docstring).

    Returns
    -------
    float
        σ(x > x_min) [pb].

    Raises
    ------
    ValueError
        For a non-positive mass, energy or coupling, a mass above the kinematic limit, x_min
        outside [0, 1), or an unknown model, method or target.
    """
    cfg = _config(mass, model, energy, target, method)
    g = _check_positive("coupling", coupling)
    xm = _check_x_min(x_min)
    return coupling_scale(model, g) * _sigma_unit(cfg, xm)


def coupling_scale(model: str, coupling: float) -> float:
    """Factor by which a coupling-1 cross-section is multiplied: coupling² (all models)."""
    del model  # the same for all models by construction of the coupling convention
    return float(coupling) ** 2


def dsigma_dx(
    x: ArrayLike,
    mass: float,
    coupling: float,
    *,
    model: str = "vector",
    energy: float = 160.0,
    target: str | Material = "Pb",
    method: str = "WW",
) -> np.ndarray | float:
    r"""Differential cross-section :math:`d\sigma/dx` [pb], vectorised over ``x``.

    The θ integral of :func:`dsigma_dx_dtheta` over [0, 0.3] rad; 0 outside the kinematic range.

    Parameters
    ----------
    x : array_like
        x = E_X/E_0.
    mass : float
        Mass of X [GeV].
    coupling : float
        g (``"vector"``, ``"scalar"``, ``"alp"``) or ε (``"dark_photon"``); the result is ∝
        coupling².
    model : {"vector", "dark_photon", "scalar", "alp"}
        The X model.
    energy : float
        Muon energy E_0 [GeV].
    target : str or Material
        Target material (Pb, W, ...).
    method : {"WW", "IWW"}
        Photon-flux approximation.

    Returns
    -------
    float or numpy.ndarray
        dσ/dx [pb], shaped like ``x``.
    """
    cfg = _config(mass, model, energy, target, method)
    g = _check_positive("coupling", coupling)
    xa = np.asarray(x, dtype=float)
    out = np.zeros(xa.shape)
    inside = (xa > cfg.x_lo) & (xa < cfg.x_hi)
    if np.any(inside):
        norm = _prefactor(model, g) * cfg.target.Z**2 * GEV2_TO_PB
        out[inside] = norm * _dsdx_unit(cfg, xa[inside])
    return float(out) if out.ndim == 0 else out


def dsigma_dx_dtheta(
    x: ArrayLike,
    theta: ArrayLike,
    mass: float,
    coupling: float,
    *,
    model: str = "vector",
    energy: float = 160.0,
    target: str | Material = "Pb",
    method: str = "WW",
) -> np.ndarray | float:
    r"""Double-differential cross-section :math:`d^2\sigma/(dx\,d\theta)` [pb/rad].

    Vectorised: ``x`` and ``theta`` (polar angle of X in rad) broadcast together. Zero outside
    :math:`x \in (m/E_0, x_{max})`, :math:`\theta \in [0, 0.3]` and, for WW, where
    :math:`t_{min} \ge t_{max}`.

    Parameters
    ----------
    x : array_like
        x = E_X/E_0.
    theta : array_like
        Polar angle of X [rad].
    mass : float
        Mass of X [GeV].
    coupling : float
        g (``"vector"``, ``"scalar"``, ``"alp"``) or ε (``"dark_photon"``); the result is ∝
        coupling².
    model : {"vector", "dark_photon", "scalar", "alp"}
        The X model.
    energy : float
        Muon energy E_0 [GeV].
    target : str or Material
        Target material (Pb, W, ...).
    method : {"WW", "IWW"}
        Photon-flux approximation.

    Returns
    -------
    float or numpy.ndarray
        d²σ/(dx dθ) [pb/rad], of the broadcast shape.
    """
    cfg = _config(mass, model, energy, target, method)
    g = _check_positive("coupling", coupling)
    xb, tb = np.broadcast_arrays(np.asarray(x, dtype=float), np.asarray(theta, dtype=float))
    out = np.zeros(xb.shape)
    ok = (xb > cfg.x_lo) & (xb < cfg.x_hi) & (tb >= 0.0) & (tb <= THETA_MAX)
    if np.any(ok):
        xo, to = xb[ok], tb[ok]
        e2 = cfg.energy**2
        q = xo * e2 * to * to
        absu = q + _u0(cfg, xo)
        beta = np.sqrt(1.0 - (cfg.x_lo / xo) ** 2)
        val = (
            e2
            * np.sin(to)
            * xo
            * beta
            * (1.0 - xo)
            / absu**2
            * _bracket(cfg, xo, q, absu**2)
            * _chi(cfg, xo, absu)
        )
        out[ok] = _prefactor(model, g) * cfg.target.Z**2 * GEV2_TO_PB * val
    return float(out) if out.ndim == 0 else out


# --------------------------------------------------------------------------- sampling


def _linear_inverse(g0: np.ndarray, g1: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Fraction t in [0, 1] of a bin where a density linear from g0 to g1 holds mass fraction v.

    Solves g0 t + (g1 - g0) t^2/2 = v (g0 + g1)/2 in the cancellation-free form.
    """
    num = v * (g0 + g1)
    den = g0 + np.sqrt(np.maximum(g0 * g0 + (g1 * g1 - g0 * g0) * v, 0.0))
    with np.errstate(invalid="ignore", divide="ignore"):
        t = np.where(den > 0, num / den, v)
    return np.clip(t, 0.0, 1.0)


def _levels(n: int) -> np.ndarray:
    """Probability levels (1 - cos(pi k/n))/2, k = 0..n: dense near 0 and 1 (the tails)."""
    return 0.5 * (1.0 - np.cos(np.pi * np.arange(n + 1) / n))


def _level_index(u: np.ndarray, n: int) -> np.ndarray:
    """Continuous index a in [0, n] of probability u on the :func:`_levels` grid."""
    return (n / np.pi) * np.arccos(1.0 - 2.0 * u)


def _quantiles(edges: np.ndarray, dens: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """Inverse CDF at ``levels`` of a density tabulated at ``edges`` (linear between edges).

    ``dens`` may be 2D (one row per distribution, common ``edges``); returns the same leading
    shape with ``len(levels)`` columns.
    """
    dens = np.atleast_2d(dens)
    h = np.diff(edges)
    cum = np.concatenate(
        [np.zeros((dens.shape[0], 1)), np.cumsum(0.5 * h * (dens[:, 1:] + dens[:, :-1]), axis=1)],
        axis=1,
    )
    tot = cum[:, -1:]
    flat = tot[:, 0] <= 0  # no phase space in this row: uniform
    cum = np.where(flat[:, None], edges[None, :] - edges[0], cum)
    dens = np.where(flat[:, None], 1.0, dens)
    cum = cum / cum[:, -1:]
    n_rows, n_e = cum.shape
    # one searchsorted for all rows: make the rows globally increasing by adding the row index
    rows = np.arange(n_rows)[:, None]
    idx = np.searchsorted((cum + rows).ravel(), (levels[None, :] + rows).ravel(), side="right")
    j = np.clip(idx.reshape(n_rows, -1) - 1 - rows * n_e, 0, n_e - 2)
    c0 = np.take_along_axis(cum, j, axis=1)
    c1 = np.take_along_axis(cum, j + 1, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        v = np.where(c1 > c0, (levels[None, :] - c0) / (c1 - c0), 0.0)
    t = _linear_inverse(
        np.take_along_axis(dens, j, axis=1),
        np.take_along_axis(dens, j + 1, axis=1),
        np.clip(v, 0, 1),
    )
    return edges[j] + t * h[j]


class XThetaSampler:
    """Tabulated (x, θ) distribution of X for one (mass, model, energy, target, x_min, method).

    Construction (tens of ms):

    - x: dσ/dx on a fine grid (``n_x`` bins) in a monotone variable W made of the mapped
      variables of the x integral (η = arccosh(x E_0/m) below x = 1/2, then s = -ln(1-x)
      shifted to continue η), density linear in W inside each bin; the inverse CDF is stored at
      ``n_levels`` probabilities p_k = (1 - cos(π k/n))/2, dense in both tails (exact inversion
      of the linear density).
    - θ given x: the conditional density in ρ = r/R(x), r = ln(1 + x E_0²θ²/abs(ũ_0)), tabulated at
      every x grid edge and stored as an inverse CDF at ``n_theta_levels`` such probabilities.

    Sampling (vectorised, no search): x by linear interpolation of the stored inverse CDF in the
    level index k = n arccos(1 - 2u)/π;
    the θ row is one of the two edges of the x bin, chosen with probability proportional to the
    position in the bin (linear interpolation of the conditional in x); ρ by linear interpolation
    of that row's inverse CDF, mapped back to θ with the event's own x. Deterministic for a given
    :class:`numpy.random.Generator` state (3 uniforms per draw).

    Parameters
    ----------
    mass : float
        Mass of X [GeV].
    model : {"vector", "dark_photon", "scalar", "alp"}
        The X model.
    energy : float
        Muon energy E_0 [GeV].
    target : str or Material
        Target material (Pb, W, ...).
    x_min : float
        Lower cut on x = E_X/E_0, in [0, 1).
    method : {"WW", "IWW"}
        Photon-flux approximation.
    n_x, n_theta : int
        Grid bins in x (in W) and θ points per x edge.
    n_levels, n_theta_levels : int
        Stored inverse-CDF levels of x and of θ given x.

    Attributes
    ----------
    sigma : float
        Total cross-section [pb] at coupling 1 for x > x_min (equal to :func:`cross_section`).
    """

    def __init__(
        self,
        mass: float,
        *,
        model: str = "vector",
        energy: float = 160.0,
        target: str | Material = "Pb",
        x_min: float = 0.0,
        method: str = "WW",
        n_x: int = 1024,
        n_theta: int = 129,
        n_levels: int = 16384,
        n_theta_levels: int = 256,
    ) -> None:
        cfg = _config(mass, model, energy, target, method)
        xm = _check_x_min(x_min)
        self._cfg = cfg
        self.mass, self.model, self.energy = cfg.mass, model, cfg.energy
        self.target, self.x_min, self.method = cfg.target, xm, method
        self.sigma = _sigma_unit(cfg, xm)
        xa = max(cfg.x_lo, xm)
        if self.sigma <= 0.0 or xa >= cfg.x_hi:
            raise ValueError(
                f"no phase space for x > x_min={x_min!r} at mass {mass!r} GeV, energy {energy!r} GeV"
            )
        self._build_x(xa, cfg.x_hi, n_x, n_levels)
        self._build_theta(n_theta, n_theta_levels)

    def sigma_at(self, coupling: float) -> float:
        """Total cross-section [pb] at the given coupling (∝ coupling²).

        Parameters
        ----------
        coupling : float
            The coupling (g or ε), > 0.

        Returns
        -------
        float
            σ(x > x_min) [pb].
        """
        return coupling_scale(self.model, _check_positive("coupling", coupling)) * self.sigma

    # -- the monotone variable W and its map to x
    def _x_of_w(self, w: np.ndarray) -> np.ndarray:
        cfg = self._cfg
        x_s = -np.expm1(-(self._s0 + np.maximum(w - self._w_split, 0.0)))
        if not self._has_eta:
            return x_s
        x_eta = cfg.x_lo * np.cosh(np.minimum(w, self._w_split))
        return np.where(w <= self._w_split, x_eta, x_s)

    def _build_x(self, xa: float, xb: float, n_x: int, n_levels: int) -> None:
        cfg = self._cfg
        has_eta = xa < min(xb, _X_SPLIT)
        has_s = xb > max(xa, _X_SPLIT)
        n_eta = n_x // 2 if (has_eta and has_s) else (n_x if has_eta else 0)
        n_s = n_x - n_eta
        self._has_eta = has_eta
        w_parts, jac_parts = [], []
        if has_eta:
            e0 = np.arccosh(max(xa / cfg.x_lo, 1.0))
            e1 = np.arccosh(min(xb, _X_SPLIT) / cfg.x_lo)
            self._w0, self._h_eta, self._w_split = e0, (e1 - e0) / n_eta, e1
            w = np.linspace(e0, e1, n_eta + 1)
            w_parts.append(w)
            jac_parts.append(cfg.x_lo * np.sinh(w))
        else:
            self._h_eta = 1.0
        if has_s:
            s0, s1 = -np.log1p(-max(xa, _X_SPLIT)), -np.log1p(-xb)
            if not has_eta:  # W = s - s0 starts at 0
                self._w0 = self._w_split = 0.0
            self._s0 = s0
            ws = self._w_split + np.linspace(0.0, s1 - s0, n_s + 1)
            self._h_s = (s1 - s0) / n_s
            if has_eta:
                ws = ws[1:]
            w_parts.append(ws)
            jac_parts.append(np.exp(-(s0 + ws - self._w_split)))
        else:
            self._s0, self._h_s = 0.0, 1.0
        self._n_eta = n_eta
        w_edges = np.concatenate(w_parts)
        jac = np.concatenate(jac_parts)
        x = np.clip(self._x_of_w(w_edges), xa, xb)
        inside = (x > cfg.x_lo) & (x < cfg.x_hi)
        f = np.zeros_like(x)
        f[inside] = _dsdx_unit(cfg, x[inside])
        self._w_edges = w_edges
        self._x_edges = x
        self._wq = _quantiles(w_edges, f * jac, _levels(n_levels))[0]
        self._n_levels = n_levels

    def _bin_of_w(self, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Index of the x bin holding W and the fractional position in it."""
        pos = np.where(
            self._has_eta & (w <= self._w_split),
            (w - self._w0) / self._h_eta,
            self._n_eta + (w - self._w_split) / self._h_s,
        )
        nb = len(self._w_edges) - 1
        b = np.clip(pos.astype(np.int64), 0, nb - 1)
        return b, np.clip(pos - b, 0.0, 1.0)

    def _build_theta(self, n_theta: int, n_levels: int) -> None:
        cfg = self._cfg
        xe = np.clip(self._x_edges, np.nextafter(cfg.x_lo, 1.0), np.nextafter(cfg.x_hi, 0.0))
        rho = np.linspace(0.0, 1.0, n_theta)
        big_r = _r_range(cfg, xe)
        dens = _r_integrand(cfg, xe[:, None], big_r[:, None] * rho[None, :])
        dens = np.where(np.isfinite(dens), dens, 0.0)
        self._rhoq = _quantiles(rho, dens, _levels(n_levels)).ravel()
        self._n_theta_levels = n_levels

    # -- sampling
    def sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Draw ``n`` pairs (x, θ [rad]); deterministic for a given Generator state.

        Parameters
        ----------
        n : int
            Number of draws (>= 0).
        rng : numpy.random.Generator
            The random generator.

        Returns
        -------
        x, theta : numpy.ndarray
            x = E_X/E_0 and the polar angle θ of X [rad], ``n`` each.
        """
        n = _check_draws(n, rng)
        cfg = self._cfg
        u = rng.random((3, n))
        # x: interpolate the stored inverse CDF in W
        a = _level_index(u[0], self._n_levels)
        k = np.minimum(a.astype(np.int64), self._n_levels - 1)
        w = self._wq[k] + (a - k) * (self._wq[k + 1] - self._wq[k])
        x = np.clip(self._x_of_w(w), max(cfg.x_lo, self.x_min), cfg.x_hi)
        # theta: conditional row at one of the two bin edges, then its inverse CDF in rho
        b, t = self._bin_of_w(w)
        row = b + (u[1] < t)
        a = _level_index(u[2], self._n_theta_levels)
        k = np.minimum(a.astype(np.int64), self._n_theta_levels - 1)
        frac = a - k
        k += row * (self._n_theta_levels + 1)
        rho = self._rhoq[k] + frac * (self._rhoq[k + 1] - self._rhoq[k])
        xin = np.clip(x, np.nextafter(cfg.x_lo, 1.0), np.nextafter(cfg.x_hi, 0.0))
        q = _u0(cfg, xin) * np.expm1(rho * _r_range(cfg, xin))
        theta = np.minimum(np.sqrt(q / (xin * cfg.energy**2)), THETA_MAX)
        return x, theta


@functools.lru_cache(maxsize=128)
def _cached_sampler(
    mass: float, model: str, energy: float, target: Material, x_min: float, method: str
) -> XThetaSampler:
    return XThetaSampler(
        mass, model=model, energy=energy, target=target, x_min=x_min, method=method
    )


def get_sampler(
    mass: float,
    *,
    model: str = "vector",
    energy: float = 160.0,
    target: str | Material = "Pb",
    x_min: float = 0.0,
    method: str = "WW",
) -> XThetaSampler:
    """The (cached) :class:`XThetaSampler` for this configuration.

    Parameters
    ----------
    mass : float
        Mass of X [GeV].
    model : {"vector", "dark_photon", "scalar", "alp"}
        The X model.
    energy : float
        Muon energy E_0 [GeV].
    target : str or Material
        Target material (Pb, W, ...).
    x_min : float
        Lower cut on x = E_X/E_0, in [0, 1).
    method : {"WW", "IWW"}
        Photon-flux approximation.

    Returns
    -------
    XThetaSampler
        The sampler (built once per configuration).
    """
    cfg = _config(mass, model, energy, target, method)
    return _cached_sampler(cfg.mass, model, cfg.energy, cfg.target, _check_x_min(x_min), method)


def sample_x_theta(
    n: int,
    mass: float,
    *,
    model: str = "vector",
    energy: float = 160.0,
    target: str | Material = "Pb",
    x_min: float = 0.0,
    method: str = "WW",
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``n`` (x, θ) pairs from the cached sampler of this configuration.

    Parameters
    ----------
    n : int
        Number of draws.
    mass : float
        Mass of X [GeV].
    model : {"vector", "dark_photon", "scalar", "alp"}
        The X model.
    energy : float
        Muon energy E_0 [GeV].
    target : str or Material
        Target material (Pb, W, ...).
    x_min : float
        Lower cut on x = E_X/E_0, in [0, 1).
    method : {"WW", "IWW"}
        Photon-flux approximation.
    rng : numpy.random.Generator
        The random generator.

    Returns
    -------
    x, theta : numpy.ndarray
        x = E_X/E_0 and θ [rad].
    """
    sampler = get_sampler(
        mass, model=model, energy=energy, target=target, x_min=x_min, method=method
    )
    return sampler.sample(n, rng)
