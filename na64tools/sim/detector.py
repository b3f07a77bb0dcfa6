"""Detector response: energy deposits in the calorimeters and track measurement in the spectrometers.

Everything here is vectorised over events and driven by explicit random numbers or a
``numpy.random.Generator``; the numbers (MIP peak, widths, resolutions, tail model) come from the
setup description (:class:`na64tools.config.Setup`), never from constants in the code.

Models (details and calibration in ``docs/simulation.md``):

- **MIP deposit** of a muon crossing a calorimeter: Landau distribution (ionisation of a
  thin absorber with knock-on electrons, Landau, J. Phys. USSR 8 (1944) 201; PDG RPP
  "Passage of particles through matter", section 34.2.9) with most probable value
  ``Calorimeter.mip`` and width ``Calorimeter.mip_width``. The true Landau shape, not the
  Moyal approximation, is used because its ``1/E^2`` tail is the knock-on electron spectrum that
  the ECAL/VETO MIP cuts act on (Moyal falls exponentially there).
- **Electromagnetic shower** of a photon or electron: longitudinal profile
  ``dE/dt = E b (bt)^(a-1) e^(-bt) / Gamma(a)`` with ``b = 0.5``,
  ``t_max = (a-1)/b = ln(E/E_c) + C`` (``C = -0.5`` electron, ``+0.5`` photon; PDG RPP eq. 34.36
  and the text around it; Longo and Sestili, NIM 128 (1975) 283), with ``E_c`` the critical
  energy of the target material. Used for the preshower share and the (tiny) leakage out of 40 X0.
- **Energy resolution**: ``sigma_E / E = a / sqrt(E)`` (``Calorimeter.stochastic``), Gaussian.
- **Track measurement**: the curvature ``k = q/p`` is measured as
  ``k (1 + sigma_core * N(0,1) + d)``, where ``d`` is zero for most tracks and, for a
  *mismeasured* track (hit mis-association, large-angle scattering), a relative curvature error
  with the power-law tail ``P(|d| > s) = (1 + s/s0)^-n`` (``tail_scale = s0``,
  ``tail_power = n``), either sign. The tail probability depends on the track quality: a track
  with ``k`` missing planes (``Binomial(hits, 1 - plane_efficiency)``) is mismeasured with
  probability ``tail_fraction * tail_hit_factor^k``, and a mismeasured track has its
  ``chi2/ndf`` increased by an exponential of mean ``tail_chi2``, so that the published quality
  cuts (chi2, hits) remove part of the tail.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from scipy import special, stats

from ..config import Calorimeter, Spectrometer

__all__ = [
    "landau_quantile",
    "mip_deposit",
    "em_fraction",
    "smear",
    "TrackModel",
    "chi2_per_ndf",
    "highland_angle",
    "CRITICAL_ENERGY",
]

#: Critical energy E_c [GeV] of the target materials (PDG "Atomic and nuclear properties of
#: materials", E_c for electrons, Rossi definition).
CRITICAL_ENERGY: dict[str, float] = {"Pb": 7.43e-3, "W": 7.97e-3, "Fe": 21.68e-3, "Cu": 19.42e-3}

#: b parameter of the longitudinal EM shower profile (PDG RPP section 34.5, "b ~ 0.5").
_EM_B = 0.5


# ------------------------------------------------------------------------------------------
# Landau
# ------------------------------------------------------------------------------------------
_LANDAU_N = 4096


@functools.lru_cache(maxsize=1)
def _landau_table() -> tuple[np.ndarray, float]:
    """Table of ``(1 - u) * F^-1(u)`` of the standard Landau (scipy.stats.landau) on a uniform
    grid of ``u``, and the position of its mode.

    The product is smooth up to ``u = 1`` (it tends to ``2/pi`` because the Landau tail is
    ``~ 2/(pi x^2)``), so that linear interpolation is accurate over the whole range.
    """
    u = np.linspace(0.0, 1.0, _LANDAU_N + 1)
    uu = np.clip(u, 1e-12, 1.0 - 1e-12)
    g = (1.0 - uu) * stats.landau.ppf(uu)
    g[-1] = 2.0 / np.pi
    from scipy.optimize import minimize_scalar

    mode = float(minimize_scalar(lambda x: -stats.landau.pdf(x), bracket=(-1.0, -0.4, 0.5)).x)
    return g, mode


#: largest uniform number used for a Landau draw: caps a deposit at ~6e8 widths above the peak
_U_MAX = 1.0 - 1e-9


def landau_quantile(u: np.ndarray, mpv: float | np.ndarray, width: float | np.ndarray) -> np.ndarray:
    """Landau-distributed values from uniform numbers ``u`` (inverse CDF, table + interpolation).

    Parameters
    ----------
    u : array
        Uniform numbers in [0, 1).
    mpv : float or array
        Most probable value [GeV].
    width : float or array
        Width (scale) parameter [GeV] of ``scipy.stats.landau``.

    Returns
    -------
    numpy.ndarray
        The values [GeV], shaped like ``u``.
    """
    g, mode = _landau_table()
    u = np.minimum(u, _U_MAX)
    t = u * _LANDAU_N
    i = t.astype(np.intp)
    np.minimum(i, _LANDAU_N - 1, out=i)
    t -= i
    g0 = g[i]
    std = (g0 + t * (g[i + 1] - g0)) / (1.0 - u)
    return mpv + width * (std - mode)


def mip_deposit(rng: np.random.Generator, n: int, cal: Calorimeter, scale: float = 1.0) -> np.ndarray:
    """Landau MIP deposits [GeV] of ``n`` muons in ``cal`` (``scale`` for a fraction of its
    depth).

    For a thickness fraction ``scale`` both the peak and the width scale linearly (the Landau
    width ``xi`` is proportional to the thickness; the logarithmic drift of the peak is ignored).
    The deposit is clipped at 0 (a Landau has a thin left tail).

    Parameters
    ----------
    rng : numpy.random.Generator
        The random generator.
    n : int
        Number of muons.
    cal : Calorimeter
        The calorimeter section of the setup (``mip`` and ``mip_width`` [GeV]).
    scale : float
        Fraction of its depth crossed.

    Returns
    -------
    numpy.ndarray
        ``n`` deposits [GeV], >= 0.
    """
    out = landau_quantile(rng.random(n), float(cal.mip) * scale, float(cal.mip_width) * scale)
    return np.maximum(out, 0.0, out=out)


# ------------------------------------------------------------------------------------------
# EM showers and resolution
# ------------------------------------------------------------------------------------------
def em_fraction(energy: np.ndarray, t_start: np.ndarray, t_lo: float | np.ndarray,
                t_hi: float | np.ndarray, *, material: str, photon: bool | np.ndarray) -> np.ndarray:
    """Fraction of an EM shower of ``energy`` [GeV] starting at depth ``t_start`` [X0] deposited
    between depths ``t_lo`` and ``t_hi`` [X0] (gamma-function profile, PDG RPP eq. 34.36);
    ``photon`` (per shower) selects the photon or the electron shower maximum.

    Parameters
    ----------
    energy : numpy.ndarray
        Shower energy [GeV].
    t_start : numpy.ndarray
        Depth where the shower starts [X0].
    t_lo, t_hi : float or numpy.ndarray
        The depth interval [X0].
    material : str
        The absorber (sets the critical energy).
    photon : bool or numpy.ndarray
        A photon (else an electron) shower.

    Returns
    -------
    numpy.ndarray
        The fraction in [0, 1], per shower.
    """
    ec = CRITICAL_ENERGY.get(material, 7.43e-3)
    c = np.where(photon, 0.5, -0.5)
    t_max = np.maximum(np.log(np.maximum(energy, ec) / ec) + c, 0.1)
    a = _EM_B * t_max + 1.0
    lo = np.maximum(t_lo - t_start, 0.0)
    hi = np.maximum(t_hi - t_start, 0.0)
    return special.gammainc(a, _EM_B * hi) - special.gammainc(a, _EM_B * lo)


def smear(energy: np.ndarray, stochastic: float, normal: np.ndarray) -> np.ndarray:
    """``E (1 + a/sqrt(E) N)`` clipped at 0, with ``normal`` standard normal numbers.

    Parameters
    ----------
    energy : numpy.ndarray
        True energy [GeV].
    stochastic : float
        Stochastic term ``a`` [GeV^1/2].
    normal : numpy.ndarray
        Standard normal numbers, one per value.

    Returns
    -------
    numpy.ndarray
        Measured energy [GeV].
    """
    e = np.maximum(energy, 0.0)
    return np.maximum(e + stochastic * np.sqrt(e) * normal, 0.0)


def highland_angle(p: np.ndarray, x_over_x0: float) -> np.ndarray:
    """RMS plane scattering angle [rad] of a muon of momentum ``p`` [GeV] through ``x/X0``
    (Highland formula, PDG RPP eq. 34.15, beta = 1).

    Parameters
    ----------
    p : numpy.ndarray
        Momentum [GeV].
    x_over_x0 : float
        Thickness in radiation lengths.

    Returns
    -------
    numpy.ndarray
        θ0 [rad].
    """
    return 0.0136 / np.maximum(p, 1e-3) * np.sqrt(x_over_x0) * (1.0 + 0.038 * np.log(x_over_x0))


# ------------------------------------------------------------------------------------------
# Spectrometers
# ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TrackModel:
    """Measurement model of one spectrometer (MS1 or MS2), built from a setup section."""

    resolution: float
    tail_fraction: float
    tail_scale: float
    tail_power: float
    tail_hit_factor: float
    tail_chi2: float
    planes: int
    plane_efficiency: float
    position_resolution: float
    angle_resolution: float
    distance: float

    @classmethod
    def from_setup(cls, spec: Spectrometer, where: str = "spectrometer") -> TrackModel:
        """The track model of a spectrometer section of the setup (``ms1`` or ``ms2``).

        Parameters
        ----------
        spec : Spectrometer
            The section.
        where : str
            Its name, for error messages.

        Returns
        -------
        TrackModel
            The model.

        Raises
        ------
        ValueError
            Inconsistent values (named with ``where``).
        """
        planes = int(round(float(spec.hits)))
        model = cls(
            resolution=float(spec.resolution), tail_fraction=float(spec.tail_fraction),
            tail_scale=float(spec.tail_scale), tail_power=float(spec.tail_power),
            tail_hit_factor=float(spec.tail_hit_factor), tail_chi2=float(spec.tail_chi2),
            planes=planes, plane_efficiency=float(spec.plane_efficiency),
            position_resolution=float(spec.position_resolution),
            angle_resolution=float(spec.angle_resolution), distance=float(spec.distance),
        )
        worst = model.tail_fraction * model.tail_hit_factor ** planes
        if worst > 1.0:
            raise ValueError(
                f"{where}: tail_fraction * tail_hit_factor^hits = {worst:.3g} exceeds 1 "
                f"(tail_fraction={model.tail_fraction!r}, tail_hit_factor={model.tail_hit_factor!r}, "
                f"hits={planes}); the tail probability of a track with all planes missing must be <= 1"
            )
        if planes < 6:
            raise ValueError(f"{where}.hits: value {planes} too small, a track fit needs >= 6 planes")
        return model

    # --- the tail model ------------------------------------------------------------------
    @property
    def _q(self) -> float:
        """``E[tail_hit_factor^k]^(1/planes)`` per plane: ``eff + (1 - eff) h``."""
        return self.plane_efficiency + (1.0 - self.plane_efficiency) * self.tail_hit_factor

    @property
    def tail_probability(self) -> float:
        """Probability that a track is mismeasured, averaged over the hit distribution."""
        return self.tail_fraction * self._q ** self.planes

    def tail_exceeds(self, s_min: float) -> float:
        """``P(d > s_min)`` for a mismeasured track: one sign, ``|d|`` beyond ``s_min``.

        Parameters
        ----------
        s_min : float
            Threshold on the relative curvature error.

        Returns
        -------
        float
            The probability.
        """
        return 0.5 * (1.0 + s_min / self.tail_scale) ** (-self.tail_power)

    def draw_missing(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Missing planes of ``n`` tracks (natural distribution).

        Parameters
        ----------
        rng : numpy.random.Generator
            The random generator.
        n : int
            Number of tracks.

        Returns
        -------
        numpy.ndarray of int
            Missing planes per track.
        """
        return rng.binomial(self.planes, 1.0 - self.plane_efficiency, n)

    def draw_natural_tail(self, rng: np.random.Generator, missing: np.ndarray,
                          exclude_up_beyond: float | None = None) -> np.ndarray:
        """Relative curvature error ``d`` of tracks with ``missing`` planes (0 if not
        mismeasured).

        With ``exclude_up_beyond = s``, the configurations ``d > s`` are excluded (drawn again),
        which samples the natural distribution conditioned on ``not (d > s)``: the complement of
        a forced-tail stratum (:meth:`draw_forced_tail`). The rejected tracks get new
        ``missing`` planes too (``missing`` is modified in place) because the excluded
        probability depends on them.

        Parameters
        ----------
        rng : numpy.random.Generator
            The random generator.
        missing : numpy.ndarray of int
            Missing planes per track (modified in place, see above).
        exclude_up_beyond : float, optional
            The threshold ``s``.

        Returns
        -------
        numpy.ndarray
            ``d`` per track.
        """
        n = missing.size
        d = np.zeros(n)
        todo = np.arange(n)
        while todo.size:
            p_tail = self.tail_fraction * self.tail_hit_factor ** missing[todo]
            hit = todo[rng.random(todo.size) < p_tail]
            d[todo] = 0.0
            u = rng.random((2, hit.size))
            s = self.tail_scale * (u[0] ** (-1.0 / self.tail_power) - 1.0)
            d[hit] = np.where(u[1] < 0.5, s, -s)
            if exclude_up_beyond is None:
                break
            todo = hit[d[hit] > exclude_up_beyond]
            if todo.size:
                missing[todo] = self.draw_missing(rng, todo.size)
        return d

    def draw_forced_tail(self, rng: np.random.Generator, n: int, s_min: float
                         ) -> tuple[np.ndarray, np.ndarray]:
        """``(missing, d)`` of ``n`` tracks conditioned on being mismeasured with ``d > s_min``.

        Given a tail, the missing-plane count has the distribution ``Binomial(k) h^k``
        normalised, i.e. ``Binomial(planes, p')`` with ``p' = (1-eff) h / (eff + (1-eff) h)``;
        ``d`` has the power law truncated below at ``s_min``.

        Parameters
        ----------
        rng : numpy.random.Generator
            The random generator.
        n : int
            Number of tracks.
        s_min : float
            Lower bound of ``d``.

        Returns
        -------
        missing : numpy.ndarray of int
            Missing planes per track.
        d : numpy.ndarray
            Relative curvature error per track.
        """
        pq = (1.0 - self.plane_efficiency) * self.tail_hit_factor / self._q
        missing = rng.binomial(self.planes, pq, n)
        u = rng.random(n)
        d = (self.tail_scale + s_min) * u ** (-1.0 / self.tail_power) - self.tail_scale
        return missing, d

    @staticmethod
    def measure(p_true: np.ndarray, charge: float, d: np.ndarray, resolution: float,
                normal: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Measured ``(p, charge sign)`` from the true momentum, the tail error and a core normal.

        Parameters
        ----------
        p_true : numpy.ndarray
            True momentum [GeV].
        charge : float
            True charge sign (±1).
        d : numpy.ndarray
            Relative curvature error of the tail (0 for a well-measured track).
        resolution : float
            Relative momentum resolution of the core.
        normal : numpy.ndarray
            Standard normal numbers.

        Returns
        -------
        p : numpy.ndarray
            Measured momentum [GeV].
        sign : numpy.ndarray of int32
            Measured charge sign.
        """
        k = (1.0 + resolution * normal + d) / np.maximum(p_true, 1e-9)
        k = np.where(k == 0.0, 1e-12, k)
        sign = np.where(k > 0.0, 1, -1).astype(np.int32) * int(charge)
        return 1.0 / np.abs(k), sign


def chi2_per_ndf(rng: np.random.Generator, hits: np.ndarray, tail: np.ndarray,
                 model: TrackModel) -> np.ndarray:
    """``chi2/ndf`` of tracks with ``hits`` hits (ndf = hits - 5, at least 1); mismeasured
    tracks (``tail``) get an extra exponential of mean ``model.tail_chi2``.

    Parameters
    ----------
    rng : numpy.random.Generator
        The random generator.
    hits : numpy.ndarray of int
        Hits per track.
    tail : numpy.ndarray of bool
        The track is mismeasured.
    model : TrackModel
        The track model.

    Returns
    -------
    numpy.ndarray
        chi2/ndf per track.
    """
    ndf = np.maximum(hits - 5, 1).astype(float)
    chi2 = 2.0 * rng.standard_gamma(0.5 * ndf) / ndf
    extra = rng.standard_exponential(hits.size) * model.tail_chi2
    return chi2 + np.where(tail, extra, 0.0)
