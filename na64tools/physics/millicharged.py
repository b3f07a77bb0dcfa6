r"""Millicharged particles: :math:`\mu N \to \mu N \gamma^* \to \mu N \chi\bar\chi`.

A Dirac fermion χ of mass :math:`m_\chi` and electric charge :math:`Q_\chi = \epsilon e`
(:math:`\epsilon \ll 1`) is pair-produced by the muon beam through a virtual (time-like) photon
radiated in the field of a target nucleus. The pair carries the fraction x of the beam energy and
escapes the detector (:func:`br_invisible`): the signature is the NA64μ missing momentum.

Physics
-------
The production is factorised into the bremsstrahlung of a virtual photon of mass M (the χχ̄
invariant mass) and its spectral density (the Källén–Lehmann / "off-shell vector" factorisation
used for millicharged particles at fixed-target experiments by Gninenko, Kirpichnikov, Krasnikov,
PRD 100 (2019) 035003, arXiv:1810.06856, for NA64 electron and muon beams, and by Gninenko et
al., arXiv:2505.04295, for NA64μ and LDMX):

.. math::

    \frac{d\sigma(\mu N \to \mu N \chi\bar\chi)}{dM^2}
      = \sigma(\mu N \to \mu N A';\ m_{A'} = M,\ \epsilon_{A'} = 1)\;
        \frac{\epsilon^2 \alpha}{3\pi M^2}
        \left(1 + \frac{2 m_\chi^2}{M^2}\right)\sqrt{1 - \frac{4 m_\chi^2}{M^2}},
        \qquad 4 m_\chi^2 < M^2 < M_{max}^2 .

Here σ(A') is the WW production cross-section of a dark photon of mass M with unit kinetic
mixing (:func:`na64tools.physics.cross_section.cross_section` with ``model="dark_photon"``,
coupling 1: a vector coupled to the muon with strength e), with the same cut x > x_min on the
energy fraction of the pair. Derivation (which fixes the normalisation): the photon propagator
:math:`1/M^2` squared times the two-body phase space of χχ̄ gives
:math:`d\sigma/dM^2 = \sigma_{A'}(M)\, M\,\Gamma(M)/(\pi M^4)` with
:math:`\Gamma(M) = \frac{\epsilon^2\alpha M}{3}(1 + 2m_\chi^2/M^2)\sqrt{1-4m_\chi^2/M^2}` the width
of a vector of mass M coupled with strength εe to χ (the same width as
:func:`na64tools.physics.widths.width_dark` of a dark photon into a Dirac fermion pair). The
factorisation is exact after integration over the χ directions because the χ current is
conserved (the :math:`q^\mu q^\nu` terms vanish), so the longitudinal and transverse
polarisations enter as in the on-shell A' sum. The papers above were not readable in full from
this project's sources (only their abstracts), so their equation numbers are not quoted here:
the formula above is the standard one, derived in this docstring, and is checked by the tests
(the spectral integral against its closed form, the ε² scaling and the A' limit).
:math:`M_{max}` is the two-body threshold :func:`~na64tools.physics.cross_section.mass_threshold`
(121.6 GeV at 160 GeV on Pb).

Not included: production through vector mesons, e.g. ρ photoproduction followed by
ρ → χχ̄, which arXiv:2505.04295 uses for LDMX and arXiv:2204.03984 calls the main source of heavy
MCPs in electron beam dumps. The NA64μ sensitivity of arXiv:2505.04295 comes from the
bremsstrahlung-like process alone (its abstract).

Numerics
--------
With :math:`M = 2 m_\chi \cosh\eta` (so that :math:`\beta_\chi = \tanh\eta` and
:math:`dM^2/M^2 = 2\tanh\eta\, d\eta`) the spectral weight is smooth,

.. math::

    \frac{d\sigma}{d\eta} = \sigma_{A'}(M)\,\frac{2\epsilon^2\alpha}{3\pi}\,
        \tanh^2\eta \left(1 + \frac{1}{2\cosh^2\eta}\right),

and at large η, :math:`\eta \simeq \ln(M/m_\chi)`: uniform bins in η are logarithmic in M. The
η range is cut into bins of width :data:`BIN_WIDTH` (0.25 by default, a factor ≤ 1.28 in M per
bin), each integrated with a :data:`NODES`-point Gauss–Legendre rule (4). Bins are added in
increasing M until a bin holds less than :data:`TAIL_TOLERANCE` (1e-9) of the running total
while falling; σ_A' falls at least as :math:`M^{-2}` above the muon mass (faster near
:math:`M_{max}`), so the neglected tail is below 3e-9 of σ. The quadrature error is below
1e-9 relative for m_χ = 1 MeV–5 GeV (measured with the bins halved; the tests check 1e-6).

Sampling (:class:`MillichargedSampler`): one bin is drawn with its weight, then (x, θ) of the
virtual photon from an :class:`~na64tools.physics.cross_section.XThetaSampler` of the dark photon
at the bin's representative mass :math:`M_k` (the weight-averaged η of its nodes). The single
mass per bin is the only approximation of the shape: with the default bin width the fraction of
pairs with x > x_c computed from the bins' masses agrees with the exact
:math:`\int dM^2\, \sigma_{A'}(M; x > x_c)\,\rho(M^2) / \sigma` to 0.2 % for
x_c ≤ 0.8 and to 0.6 % for x_c ≤ 0.99, for :math:`m_\chi` = 1 MeV–1 GeV (measured; the
deviation grows as the bin width squared: 0.5 % and 2 % at a width of 0.5). That is the stated
precision of the shape, :data:`BIN_WIDTH` being the parameter that sets it (tested at
m_χ = 1 MeV, 50 MeV, 1 GeV).

Detector response (assumption, :func:`br_invisible`)
----------------------------------------------------
Both χ escape undetected. The mean ionisation loss of a particle of charge εe is ε² times that of
a unit-charge particle at the same velocity (Bethe formula, PDG review "Passage of particles
through matter"). With the MIP deposits of the NA64μ setup description (ECAL 0.35 GeV, two HCAL
modules of 1.25 GeV each, ``na64tools/data/setups/na64mu_2022.yaml``; assumptions there), two χ
leave at most :math:`2\epsilon^2 \times 2.85` GeV times the relativistic rise (< 2): 1.1 MeV at
ε = 1e-2, far below the GeV-scale calorimeter energies the NA64μ selection acts on. Hard
δ-electrons (cross-section ∝ ε²) and χ interactions are neglected for the same reason. For ε of
order 0.1 and above this no longer holds (11 MeV at ε = 0.1; at ε ~ 1 a χ is a MIP): outside the
model's validity, and outside the reach of the missing-momentum search anyway.

Units: GeV in, pb out. Documentation page: docs/models/millicharged.md.
"""

from __future__ import annotations

import functools

import numpy as np
from numpy.typing import ArrayLike

from .constants import ALPHA
from .cross_section import (
    XThetaSampler,
    _check_draws,
    _check_positive,
    _check_x_min,
    mass_threshold,
)
from .cross_section import cross_section as _aprime_cross_section
from .materials import Material, material

__all__ = [
    "MODEL_INFO",
    "BIN_WIDTH",
    "NODES",
    "TAIL_TOLERANCE",
    "MIP_DEPOSIT_GEV",
    "spectral_density",
    "pair_mass_quadrature",
    "dsigma_dm2",
    "cross_section",
    "MillichargedSampler",
    "make_sampler",
    "br_invisible",
    "visible_energy_max",
    "REFERENCE_POINTS",
]

#: the model's description for the registry (na64tools.models, registered by the lead)
MODEL_INFO: dict = {
    "name": "millicharged",
    "label": "Millicharged particle (Dirac fermion, charge eps*e)",
    "coupling": "ε = Q_χ/e",
    "coupling_label": r"$\epsilon = Q_\chi/e$",
    "coupling_unit": "",
    # the GenPart entry is the virtual photon gamma* that carries the chi chi-bar pair
    "pdgid": 22,
    "reference": (
        "S.N. Gninenko, D.V. Kirpichnikov, N.V. Krasnikov, PRD 100 (2019) 035003, "
        "arXiv:1810.06856; S.N. Gninenko et al., arXiv:2505.04295 (factorisation into the "
        "A' cross-section at m_A' = M times the virtual-photon spectral density)"
    ),
    "description": (
        "Pair production of millicharged Dirac fermions mu N -> mu N gamma*(-> chi chi-bar), "
        "both chi escaping undetected."
    ),
}

#: published (ε, m_χ) numbers that can be quoted exactly (all others are figures only): name ->
#: (label, masses [GeV], ε values, kind, citation). Only values printed in the abstracts:
#: digitising the papers' figures was not possible from this project's sources.
REFERENCE_POINTS: dict = {
    "slac_mq": (
        "SLAC mQ 95% CL", (0.001, 0.1), (4.1e-5, 5.8e-4), "exclusion",
        "A.A. Prinz et al., PRL 81 (1998) 1175, arXiv:hep-ex/9804008 (abstract)",
    ),
    "na64mu_projection_2025": (
        "NA64μ projection, 1e14 MOT", (0.010, 0.150), (1e-4, 7e-4), "projection",
        "S.N. Gninenko et al., arXiv:2505.04295 (abstract: 10 MeV < m < 150 MeV, "
        "1e-4 < eps < 7e-4; read as the reach at the two ends of the window)",
    ),
}

#: width of the quadrature/sampling bins in eta = arccosh(M / 2 m_chi) (a factor e^0.25 = 1.28 in
#: M per bin at large eta); sets the precision of the sampled shape (module docstring)
BIN_WIDTH: float = 0.25
#: Gauss-Legendre nodes per bin
NODES: int = 4
#: a bin holding less than this fraction of the running total (and falling) ends the integration
TAIL_TOLERANCE: float = 1e-9
#: MIP deposit [GeV] of a unit-charge particle crossing the NA64mu calorimeters on the beam axis:
#: ECAL 0.35 + 2 HCAL modules x 1.25 (na64tools/data/setups/na64mu_2022.yaml, assumptions there)
MIP_DEPOSIT_GEV: float = 0.35 + 2 * 1.25
#: relativistic rise of dE/dx over its minimum, bound used in visible_energy_max (assumption:
#: the Fermi plateau of dense absorbers lies 10-50 % above the minimum, PDG "Passage of particles
#: through matter")
_RELATIVISTIC_RISE: float = 2.0

_GL_T, _GL_W = np.polynomial.legendre.leggauss(NODES)


def _pair_limit(m_chi: float, energy: float, target: Material) -> float:
    """M_max (the two-body threshold); raises if 2 m_chi is at or above it."""
    m_max = mass_threshold(energy, target)
    if 2.0 * m_chi >= m_max:
        raise ValueError(
            f"m_chi {m_chi!r} GeV: the pair mass 2 m_chi = {2 * m_chi:.4g} GeV is above the "
            f"kinematic limit {m_max:.4g} GeV for a {energy:g} GeV muon on {target.name}"
        )
    return m_max


def spectral_density(m2: ArrayLike, m_chi: float, eps: float = 1.0) -> np.ndarray | float:
    r"""Virtual-photon spectral density :math:`\rho(M^2)` [GeV^-2] for a χχ̄ pair.

    :math:`\rho = \frac{\epsilon^2\alpha}{3\pi M^2}(1 + 2m_\chi^2/M^2)\sqrt{1 - 4m_\chi^2/M^2}`
    above the threshold :math:`M^2 > 4m_\chi^2`, 0 below (module docstring for the derivation).

    Parameters
    ----------
    m2 : array_like
        Pair invariant mass squared M² [GeV²].
    m_chi : float
        χ mass [GeV].
    eps : float
        Charge of χ in units of e.

    Returns
    -------
    float or numpy.ndarray
        ρ(M²) [GeV^-2], shaped like ``m2``.
    """
    m = _check_positive("m_chi", m_chi, " in GeV")
    e = _check_positive("eps", eps)
    s = np.asarray(m2, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = 4.0 * m * m / s
        val = e * e * ALPHA / (3.0 * np.pi * s) * (1.0 + 0.5 * r) * np.sqrt(np.maximum(1.0 - r, 0))
    out = np.where(s > 4.0 * m * m, val, 0.0)
    return float(out) if out.ndim == 0 else out


def _bin_nodes(m_chi: float, eta_lo: np.ndarray, eta_hi: np.ndarray) -> tuple:
    """Nodes M, η and weights (of ∫ dM² ρ/ε²) of the GL rule on each η bin, shape (bins, NODES)."""
    eta = 0.5 * (eta_lo + eta_hi)[:, None] + 0.5 * (eta_hi - eta_lo)[:, None] * _GL_T
    w_eta = 0.5 * (eta_hi - eta_lo)[:, None] * _GL_W
    th = np.tanh(eta)
    ch2 = np.cosh(eta) ** 2
    w = w_eta * (2.0 * ALPHA / (3.0 * np.pi)) * th * th * (1.0 + 0.5 / ch2)
    return 2.0 * m_chi * np.cosh(eta), eta, w


def _bin_edges(m_chi: float, m_max: float, bin_width: float) -> np.ndarray:
    eta_max = float(np.arccosh(m_max / (2.0 * m_chi)))
    n = max(1, int(np.ceil(eta_max / bin_width)))
    return np.linspace(0.0, eta_max, n + 1)


def pair_mass_quadrature(
    m_chi: float, m_max: float, *, bin_width: float = BIN_WIDTH
) -> tuple[np.ndarray, np.ndarray]:
    r"""Nodes and weights of :math:`\int_{4m_\chi^2}^{M_{max}^2} dM^2\, \rho(M^2)/\epsilon^2\, f(M)`.

    Gauss–Legendre (:data:`NODES` points) on bins of width ``bin_width`` in
    :math:`\eta = \mathrm{arccosh}(M/2m_\chi)` (module docstring).

    Parameters
    ----------
    m_chi : float
        χ mass [GeV].
    m_max : float
        Upper end of the pair mass M [GeV], > 2 m_chi.
    bin_width : float
        Bin width in η.

    Returns
    -------
    masses, weights : numpy.ndarray
        Pair masses M [GeV] and weights (dimensionless), shape (bins, NODES): Σ w f(M)
        approximates the integral for a smooth f.
    """
    m = _check_positive("m_chi", m_chi, " in GeV")
    mm = _check_positive("m_max", m_max, " in GeV")
    if mm <= 2.0 * m:
        raise ValueError(f"m_max must exceed 2 m_chi = {2 * m:.4g} GeV, got {m_max!r}")
    edges = _bin_edges(m, mm, _check_positive("bin_width", bin_width))
    masses, _, w = _bin_nodes(m, edges[:-1], edges[1:])
    return masses, w


def _aprime(mass: float, energy: float, target: Material, x_min: float) -> float:
    """σ(μN → μN A'; m_A' = mass, ε = 1, x > x_min) [pb] (0 where x_min leaves no phase space)."""
    return _aprime_cross_section(mass, 1.0, model="dark_photon", energy=energy, target=target,
                                 x_min=x_min)


@functools.lru_cache(maxsize=256)
def _binned(m_chi: float, energy: float, target: Material, x_min: float, bin_width: float,
            m_pair_max: float | None) -> tuple:
    """Per-bin (edges in η, node masses, node weights [pb at ε = 1]) up to the tail cut."""
    m_max = _pair_limit(m_chi, energy, target)
    upper = m_max if m_pair_max is None else min(m_max, m_pair_max)
    # never evaluate the A' at (or rounding-close to) the threshold itself
    upper = min(upper, m_max * (1.0 - 1e-9))
    edges = _bin_edges(m_chi, upper, bin_width)
    rows_m, rows_w, used = [], [], 0
    total, prev = 0.0, np.inf
    for k in range(len(edges) - 1):
        masses, _, w = _bin_nodes(m_chi, edges[k:k + 1], edges[k + 1:k + 2])
        sig = np.array([_aprime(mi, energy, target, x_min) for mi in masses[0]])
        wk = w[0] * sig
        s = float(wk.sum())
        rows_m.append(masses[0])
        rows_w.append(wk)
        used = k + 1
        total += s
        if total > 0 and s < TAIL_TOLERANCE * total and s < prev:
            break
        prev = s
    return edges[: used + 1], np.array(rows_m), np.array(rows_w)


def _setup(m_chi: object, energy: object, target: object, x_min: object) -> tuple:
    m = _check_positive("m_chi", m_chi, " in GeV")
    e = _check_positive("energy", energy, " in GeV")
    mat = material(target)  # type: ignore[arg-type]
    xm = _check_x_min(x_min)
    _pair_limit(m, e, mat)
    return m, e, mat, xm


def dsigma_dm2(
    m_pair: ArrayLike,
    m_chi: float,
    eps: float,
    *,
    energy: float = 160.0,
    target: str | Material = "Pb",
    x_min: float = 0.0,
) -> np.ndarray | float:
    r"""Pair-mass spectrum :math:`d\sigma/dM^2` [pb/GeV²] of μN → μN χχ̄ with x > x_min.

    :math:`\sigma_{A'}(M, \epsilon_{A'}=1; x > x_{min})\,\rho(M^2)` (module docstring).

    Parameters
    ----------
    m_pair : array_like
        Pair invariant mass M [GeV].
    m_chi : float
        χ mass [GeV].
    eps : float
        χ charge in units of e.
    energy : float
        Muon energy [GeV].
    target : str or Material
        Target material.
    x_min : float
        Lower cut on the pair's energy fraction x.

    Returns
    -------
    float or numpy.ndarray
        dσ/dM² [pb/GeV²], 0 outside 2 m_chi < M < M_max.
    """
    m, e, mat, xm = _setup(m_chi, energy, target, x_min)
    eps = _check_positive("eps", eps)
    mp = np.asarray(m_pair, dtype=float)
    m_max = mass_threshold(e, mat)
    flat = mp.ravel()
    out = np.zeros(flat.shape)
    for i, mi in enumerate(flat):
        if 2.0 * m < mi < m_max:
            out[i] = _aprime(mi, e, mat, xm) * spectral_density(mi * mi, m, eps)
    out = out.reshape(mp.shape)
    return float(out) if out.ndim == 0 else out


def cross_section(
    m_chi: float,
    eps: float,
    energy: float = 160.0,
    target: str | Material = "Pb",
    x_min: float = 0.0,
    *,
    m_pair_max: float | None = None,
    bin_width: float = BIN_WIDTH,
) -> float:
    r"""Total cross-section [pb] of :math:`\mu N \to \mu N \chi\bar\chi` with pair fraction x > x_min.

    :math:`\int_{4m_\chi^2}^{M_{max}^2} dM^2\, \sigma_{A'}(M; x > x_{min})\,\rho(M^2)` (module
    docstring), ∝ ε² exactly. Cached per (m_chi, energy, target, x_min, bin_width, m_pair_max).

    Parameters
    ----------
    m_chi : float
        χ mass [GeV].
    eps : float
        χ charge in units of e (ε = Q_χ/e).
    energy : float
        Muon energy [GeV].
    target : str or Material
        Target material (Pb, W, ...).
    x_min : float
        Lower cut on x = (E_χ + E_χ̄)/E_0, in [0, 1).
    m_pair_max : float, optional
        Upper end of the pair mass M [GeV] (default: the kinematic limit).
    bin_width : float
        Quadrature bin width in η = arccosh(M/2m_χ).

    Returns
    -------
    float
        σ [pb].

    Raises
    ------
    ValueError
        For a non-positive mass, charge or energy, 2 m_chi above the kinematic limit, x_min
        outside [0, 1) or an unknown target.
    """
    m, e, mat, xm = _setup(m_chi, energy, target, x_min)
    eps = _check_positive("eps", eps)
    mp = None if m_pair_max is None else _check_positive("m_pair_max", m_pair_max, " in GeV")
    if mp is not None and mp <= 2.0 * m:
        return 0.0
    _, _, w = _binned(m, e, mat, xm, _check_positive("bin_width", bin_width), mp)
    return float(eps * eps * w.sum())


class MillichargedSampler:
    """(x, θ) of the χχ̄ pair (the virtual photon) for one (m_chi, energy, target, x_min).

    The XThetaSampler interface: ``sigma`` [pb] at ε = 1 for x > x_min, ``sigma_at(eps)``,
    ``sample(n, rng) -> (x, theta)``. The pair mass M is drawn over the η bins of
    :func:`cross_section` with their weights; (x, θ) from the dark-photon
    :class:`~na64tools.physics.cross_section.XThetaSampler` at the bin's representative mass
    (module docstring: the precision of this shape is set by ``bin_width``).

    Parameters
    ----------
    m_chi : float
        χ mass [GeV].
    energy : float
        Muon energy [GeV].
    target : str or Material
        Target material.
    x_min : float
        Lower cut on the pair's energy fraction x, in [0, 1).
    bin_width : float
        Bin width in η = arccosh(M/2m_χ).
    sampler_kwargs : dict, optional
        Grid sizes passed to each XThetaSampler (default: n_x=512, n_levels=8192, which keeps a
        sampler at about 1 MB per bin).

    Attributes
    ----------
    sigma : float
        σ(x > x_min) [pb] at ε = 1 (equal to :func:`cross_section` at ε = 1).
    masses : numpy.ndarray
        Representative pair mass M_k [GeV] of each bin that is sampled.
    probabilities : numpy.ndarray
        Probability of each sampled bin (sums to 1).
    """

    def __init__(
        self,
        m_chi: float,
        *,
        energy: float = 160.0,
        target: str | Material = "Pb",
        x_min: float = 0.0,
        bin_width: float = BIN_WIDTH,
        sampler_kwargs: dict | None = None,
    ) -> None:
        m, e, mat, xm = _setup(m_chi, energy, target, x_min)
        bw = _check_positive("bin_width", bin_width)
        edges, masses, w = _binned(m, e, mat, xm, bw, None)
        self.m_chi, self.energy, self.target, self.x_min = m, e, mat, xm
        self.sigma = float(w.sum())
        if self.sigma <= 0.0:
            raise ValueError(
                f"no phase space for x > x_min={x_min!r} at m_chi {m_chi!r} GeV, "
                f"energy {energy!r} GeV"
            )
        kw = {"n_x": 512, "n_levels": 8192}
        kw.update(sampler_kwargs or {})
        bin_w = w.sum(axis=1)
        # representative mass: weight-averaged eta of the bin's nodes
        eta = np.arccosh(masses / (2.0 * m))
        with np.errstate(invalid="ignore", divide="ignore"):
            eta_k = np.where(bin_w > 0, (w * eta).sum(axis=1) / bin_w, eta.mean(axis=1))
        m_k = 2.0 * m * np.cosh(eta_k)
        keep = bin_w > 0
        self.masses = m_k[keep]
        self.edges = 2.0 * m * np.cosh(edges)
        self.probabilities = bin_w[keep] / bin_w[keep].sum()
        self._cum = np.cumsum(self.probabilities)
        self._cum[-1] = 1.0
        self._samplers = [
            XThetaSampler(mk, model="dark_photon", energy=e, target=mat, x_min=xm, **kw)
            for mk in self.masses
        ]

    def sigma_at(self, coupling: float) -> float:
        """σ(x > x_min) [pb] at charge ε = ``coupling`` (∝ ε²).

        Parameters
        ----------
        coupling : float
            ε = Q_χ/e, > 0.

        Returns
        -------
        float
            σ [pb].
        """
        return _check_positive("coupling", coupling) ** 2 * self.sigma

    def sample_with_mass(
        self, n: int, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Draw ``n`` (x, θ [rad], M [GeV]); deterministic for a given Generator state.

        M is the representative mass of the drawn bin (module docstring).

        Parameters
        ----------
        n : int
            Number of draws (>= 0).
        rng : numpy.random.Generator
            The random generator.

        Returns
        -------
        x, theta, m_pair : numpy.ndarray
            Energy fraction of the pair, its polar angle [rad] and its invariant mass [GeV].
        """
        n = _check_draws(n, rng)
        k = np.searchsorted(self._cum, rng.random(n), side="right")
        k = np.minimum(k, len(self._cum) - 1)
        x, theta = np.empty(n), np.empty(n)
        for b in np.unique(k):
            sel = np.flatnonzero(k == b)
            x[sel], theta[sel] = self._samplers[b].sample(sel.size, rng)
        return x, theta, self.masses[k]

    def sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Draw ``n`` pairs (x, θ [rad]) of the χχ̄ system; deterministic for a given Generator.

        Parameters
        ----------
        n : int
            Number of draws (>= 0).
        rng : numpy.random.Generator
            The random generator.

        Returns
        -------
        x, theta : numpy.ndarray
            x = (E_χ + E_χ̄)/E_0 and the polar angle of the pair momentum [rad].
        """
        x, theta, _ = self.sample_with_mass(n, rng)
        return x, theta


@functools.lru_cache(maxsize=8)
def _cached_sampler(m_chi: float, energy: float, target: Material,
                    x_min: float) -> MillichargedSampler:
    return MillichargedSampler(m_chi, energy=energy, target=target, x_min=x_min)


def make_sampler(
    mass: float, energy: float = 160.0, material: str | Material = "Pb", x_min: float = 0.0
) -> MillichargedSampler:
    """The (cached) sampler of the model-registry interface; ``mass`` is m_χ [GeV].

    Parameters
    ----------
    mass : float
        χ mass m_χ [GeV].
    energy : float
        Muon energy [GeV].
    material : str or Material
        Target material.
    x_min : float
        Lower cut on x of the pair, in [0, 1).

    Returns
    -------
    MillichargedSampler
        ``sigma`` [pb] at ε = 1, ``sigma_at(eps)``, ``sample(n, rng)``.
    """
    m, e, mat, xm = _setup(mass, energy, material, x_min)
    return _cached_sampler(m, e, mat, xm)


def br_invisible(mass: float, coupling: float) -> float:
    """Fraction of produced χχ̄ pairs that are invisible: 1.

    Assumption (module docstring): both χ escape the detector leaving ε² of a MIP
    (:func:`visible_energy_max`, ≈ 1 MeV at ε = 1e-2), far below the calorimeter energies the
    selection acts on; valid for ε ≲ 1e-2.

    Parameters
    ----------
    mass : float
        χ mass [GeV] (unused).
    coupling : float
        ε = Q_χ/e (unused).

    Returns
    -------
    float
        1.0
    """
    _check_positive("mass", mass, " in GeV")
    _check_positive("coupling", coupling)
    return 1.0


def visible_energy_max(eps: float) -> float:
    """Upper estimate [GeV] of the calorimeter energy left by the two χ of a pair.

    2 ε² × :data:`MIP_DEPOSIT_GEV` × the relativistic rise bound (2): mean ionisation ∝ charge²
    (Bethe formula, PDG "Passage of particles through matter").

    Parameters
    ----------
    eps : float
        ε = Q_χ/e.

    Returns
    -------
    float
        Energy [GeV] (1.1e-3 at ε = 1e-2).
    """
    e = _check_positive("eps", eps)
    return 2.0 * e * e * MIP_DEPOSIT_GEV * _RELATIVISTIC_RISE
