"""Geometric acceptance: the scattered muon followed through MS2, the trigger counters and the HCAL.

The muon leaves the interaction vertex (taken at the middle of the ECAL, ``geometry.ecal_length``)
with position ``(x, y)`` and slopes ``(tx, ty)`` and is propagated along straight lines, with the
MS2 dipole as a thin kick at ``geometry.magnet_z`` in the bending plane x:

    x(z) = x_v + tx (z - z_v) + theta_B (z - z_magnet)   for z > z_magnet,
    theta_B = 0.2998 [GeV / (T m)] x field_integral / p      (PDG RPP, "Kinematics", p = 0.3 B R),

the usual small-angle track model of a dipole spectrometer. Multiple scattering in the ECAL is
applied at the vertex by the generator (Highland formula, :func:`~.detector.highland_angle`);
the scattering in the air and the tracker planes downstream is neglected (< 0.1 mrad at p > 10 GeV).

A *mismeasured* MS2 track (relative curvature error ``d``, :class:`~.detector.TrackModel`) is a
track with a real kink inside the spectrometer that the fit takes for bending (a large-angle
single scattering or a wrong hit association): its trajectory behind the magnet follows the
measured curvature, ``theta_B (1 + d)``. This is how a mismeasured beam muon fires the trigger
counters as a real low-momentum muon does (background (I)); the Gaussian core of the resolution
is measurement noise and does not move the muon.

- **Tracking**: a station (``ms2_up_stations`` upstream of the magnet, the first at
  ``ms2.distance``, ``ms2_down_stations`` downstream) records its ``hits / stations`` planes only
  for a muon inside its rectangular aperture, and only if it is alive in the event (probability
  ``ms2_up_station_efficiency`` / ``ms2_down_station_efficiency``: a station without any hit, e.g.
  dead time, a trip, a lost readout; one draw per station and event, common to every particle of
  the event). A track is reconstructed (a ``Track`` entry) only with at least ``ms2_min_hits``
  hits and at least one station on each side of the magnet (the momentum is measured from the
  deflection, which needs a segment before and after it).
- **Random veto**: the upstream beam veto is in anti-coincidence in the trigger, so an unrelated
  beam muon that crosses it (outside its hole) inside the readout window vetoes the event. With
  ``mu = beam.intensity x beam.readout_window`` muons per window and the fraction
  ``f = exp(-R^2 / (2 sigma^2))`` of the Gaussian spot outside the hole of radius R,
  ``P(random veto) = 1 - exp(-mu f)`` (Poisson; 0.0087 for the 2022 setup):
  :meth:`GeometryModel.random_veto_probability`. The pile-up muons inside the hole are simulated
  one by one with the rest of the event (MS2 tracks, ECAL, HCAL, VETO, VHCAL deposits where the
  geometry puts them) and cost efficiency through the selection.
- **Trigger**: the incoming particle must pass the hole of the upstream beam veto counter
  (``beam_veto_radius``, at its position at the ECAL front: the beam halo is rejected), and the
  muon must cross both trigger counters, S4 (in front of the HCAL) and S_mu
  (behind it), each a rectangle ``x_min < x < x_max``, ``|y| < half_y`` displaced from the beam
  axis towards the bending side (Sieber et al. PRD 105 (2022) 052006; PRL 132 (2024) 211803: the
  counters are placed off the beam axis so that only muons deflected more than beam muons fire).
- **HCAL, VETO, VHCAL**: the muon deposits its MIP signal in the HCAL only if it crosses the
  front face of the modules (``|x|, |y| < hcal_half_size``), in the VETO only inside
  ``veto_half_size``, and in the VHCAL only if it crosses its material, outside the central
  hole (``vhcal_hole_half_size``) and inside ``vhcal_half_size``.

All positions are in cm, angles in rad, momenta in GeV; every number comes from the ``geometry``
section of the setup.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..config import Setup

__all__ = ["GeometryModel", "BEND_CONSTANT"]

#: p [GeV] = BEND_CONSTANT x B [T] x R [m] for a unit charge (PDG RPP "Kinematics", 0.299792458)
BEND_CONSTANT = 0.299792458


@dataclass(frozen=True)
class GeometryModel:
    """The ``geometry`` section as plain floats, with the track propagation."""

    z_vertex: float
    up_z: tuple[float, ...]
    up_half: tuple[float, float]
    down_z: tuple[float, ...]
    down_half: tuple[float, float]
    planes_per_station: int
    min_hits: int
    magnet_z: float
    field_integral: float
    hcal_z: float
    hcal_half: float
    veto: tuple[float, float]  #: z, half size
    beam_veto_radius: float
    vhcal: tuple[float, float, float]  #: z, hole half size, outer half size
    s4: tuple[float, float, float, float]  #: z, x_min, x_max, half_y
    smu: tuple[float, float, float, float]
    station_efficiency: tuple[float, ...] = ()  #: per station, upstream first

    @property
    def n_up(self) -> int:
        return len(self.up_z)

    @property
    def n_stations(self) -> int:
        return len(self.up_z) + len(self.down_z)

    @classmethod
    def from_setup(cls, setup: Setup) -> GeometryModel:
        """The geometry of a setup description (positions in cm, field integral in T m).

        Parameters
        ----------
        setup : Setup
            The setup description (its ``geometry`` and ``ms2`` sections).

        Returns
        -------
        GeometryModel
            The model.

        Raises
        ------
        ValueError
            Inconsistent geometry values (named), e.g. MS2 hits not a multiple of the stations.
        """
        g = setup.geometry
        n_up = int(round(float(g.ms2_up_stations)))
        n_down = int(round(float(g.ms2_down_stations)))
        planes = int(round(float(setup.ms2.hits)))
        if planes % (n_up + n_down):
            raise ValueError(f"setup.ms2.hits: value {planes} is not a multiple of the number of MS2 "
                             f"stations ({n_up} + {n_down}, setup.geometry.ms2_*_stations)")
        first = float(setup.ms2.distance)
        up_z = tuple(first + i * float(g.ms2_up_pitch) for i in range(n_up))
        down_z = tuple(float(g.ms2_down_z) + i * float(g.ms2_down_pitch) for i in range(n_down))
        magnet_z = float(g.magnet_z)
        if not (up_z[-1] < magnet_z < down_z[0]):
            raise ValueError(f"setup.geometry.magnet_z: value {magnet_z!r} cm must lie between the "
                             f"last upstream ({up_z[-1]:g} cm) and the first downstream MS2 station "
                             f"({down_z[0]:g} cm)")
        for name in ("s4", "smu"):
            z = float(getattr(g, f"{name}_z"))
            if z <= magnet_z:
                raise ValueError(f"setup.geometry.{name}_z: value {z!r} cm must be behind the magnet "
                                 f"({magnet_z:g} cm)")
            if not float(getattr(g, f"{name}_x_min")) < float(getattr(g, f"{name}_x_max")):
                raise ValueError(f"setup.geometry.{name}_x_min must be below {name}_x_max")
        return cls(
            z_vertex=0.5 * float(g.ecal_length), up_z=up_z,
            up_half=(float(g.ms2_up_half_x), float(g.ms2_up_half_y)), down_z=down_z,
            down_half=(float(g.ms2_down_half_x), float(g.ms2_down_half_y)),
            planes_per_station=planes // (n_up + n_down), min_hits=int(round(float(g.ms2_min_hits))),
            magnet_z=magnet_z, field_integral=float(g.magnet_field_integral),
            hcal_z=float(g.hcal_z), hcal_half=float(g.hcal_half_size),
            veto=(float(g.veto_z), float(g.veto_half_size)),
            beam_veto_radius=float(g.beam_veto_radius),
            vhcal=(float(g.vhcal_z), float(g.vhcal_hole_half_size), float(g.vhcal_half_size)),
            s4=tuple(float(getattr(g, f"s4_{k}")) for k in ("z", "x_min", "x_max", "half_y")),
            smu=tuple(float(getattr(g, f"smu_{k}")) for k in ("z", "x_min", "x_max", "half_y")),
            station_efficiency=(float(g.ms2_up_station_efficiency),) * n_up
            + (float(g.ms2_down_station_efficiency),) * n_down,
        )

    # --- propagation ---------------------------------------------------------------------
    def kick(self, p: np.ndarray, d: np.ndarray | float = 0.0) -> np.ndarray:
        """Bending angle [rad] in the MS2 dipole of a unit-charge track of momentum ``p`` [GeV]
        with relative curvature error ``d`` (the fit's view of a kinked track).

        Parameters
        ----------
        p : numpy.ndarray
            Momentum [GeV].
        d : numpy.ndarray or float
            Relative curvature error.

        Returns
        -------
        numpy.ndarray
            The bending angle [rad].
        """
        return BEND_CONSTANT * self.field_integral / np.maximum(p, 1e-6) * (1.0 + d)

    def at(self, z: float, x: np.ndarray, y: np.ndarray, tx: np.ndarray, ty: np.ndarray,
           bend: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Position at ``z`` of tracks at the vertex ``(x, y)`` with slopes ``(tx, ty)`` and
        bending angle ``bend`` (see :meth:`kick`).

        Parameters
        ----------
        z : float
            Position along the beam [cm].
        x, y : array_like
            Position at the vertex [cm].
        tx, ty : array_like
            Slopes dx/dz, dy/dz [rad].
        bend : array_like
            Bending angle in the MS2 dipole [rad] (:meth:`kick`).

        Returns
        -------
        x, y : numpy.ndarray
            The position at ``z`` [cm].
        """
        dz = z - self.z_vertex
        xz = x + tx * dz
        if z > self.magnet_z:
            xz = xz + bend * (z - self.magnet_z)
        return xz, y + ty * dz

    # --- detectors -----------------------------------------------------------------------
    def ms2_in_aperture(self, x, y, tx, ty, bend) -> np.ndarray:
        """``(n_stations, n)`` booleans, upstream stations first: the track passes inside the
        station's aperture.

        Parameters
        ----------
        x, y : array_like
            Position at the vertex [cm].
        tx, ty : array_like
            Slopes dx/dz, dy/dz [rad].
        bend : array_like
            Bending angle in the MS2 dipole [rad] (:meth:`kick`).

        Returns
        -------
        numpy.ndarray of bool
            Shape ``(n_stations, n)``.
        """
        out = np.empty((self.n_stations,) + np.shape(x), bool)
        i = 0
        for zs, (hx, hy) in ((self.up_z, self.up_half), (self.down_z, self.down_half)):
            for z in zs:
                xz, yz = self.at(z, x, y, tx, ty, bend)
                out[i] = (np.abs(xz) <= hx) & (np.abs(yz) <= hy)
                i += 1
        return out

    def ms2_lost_planes(self, x, y, tx, ty, bend) -> np.ndarray:
        """Number of MS2 planes a track misses because it passes outside a station's aperture.

        Parameters
        ----------
        x, y : array_like
            Position at the vertex [cm].
        tx, ty : array_like
            Slopes dx/dz, dy/dz [rad].
        bend : array_like
            Bending angle in the MS2 dipole [rad] (:meth:`kick`).

        Returns
        -------
        numpy.ndarray of int
            The planes lost, per track.
        """
        seen = self.ms2_in_aperture(x, y, tx, ty, bend)
        return (self.n_stations - seen.sum(axis=0)) * self.planes_per_station

    def stations_alive(self, u: np.ndarray) -> np.ndarray:
        """``(n_stations, n)`` booleans from uniform numbers ``u`` of that shape: the station
        recorded hits in the event (``u < station efficiency``).

        Parameters
        ----------
        u : numpy.ndarray
            Uniform numbers in [0, 1), shape ``(n_stations, n)``.

        Returns
        -------
        numpy.ndarray of bool
            Shape ``(n_stations, n)``.
        """
        return u < np.asarray(self.station_efficiency)[:, None]

    def ms2_seen(self, x, y, tx, ty, bend, alive: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(planes lost, two-sided) of tracks: planes of the stations the track misses (outside
        the aperture or not alive), and whether a station on each side of the magnet saw it.

        Parameters
        ----------
        x, y : array_like
            Position at the vertex [cm].
        tx, ty : array_like
            Slopes dx/dz, dy/dz [rad].
        bend : array_like
            Bending angle in the MS2 dipole [rad] (:meth:`kick`).
        alive : numpy.ndarray of bool
            The stations that recorded hits (:meth:`stations_alive`).

        Returns
        -------
        lost : numpy.ndarray of int
            The planes lost, per track.
        both : numpy.ndarray of bool
            A station on each side of the magnet saw the track.
        """
        seen = self.ms2_in_aperture(x, y, tx, ty, bend) & alive
        lost = (self.n_stations - seen.sum(axis=0)) * self.planes_per_station
        both = seen[: self.n_up].any(axis=0) & seen[self.n_up:].any(axis=0)
        return lost, both

    def random_veto_probability(self, pileup_mean: float, spot: float) -> float:
        """Probability that an unrelated beam muon crosses the upstream beam veto (outside its
        hole) in the readout window: ``1 - exp(-mu exp(-R^2/(2 sigma^2)))`` with ``mu`` the
        mean number of beam muons per window and ``sigma`` the Gaussian spot (Poisson
        statistics; the fraction of a 2D Gaussian outside radius R is ``exp(-R^2/(2
        sigma^2))``).

        Parameters
        ----------
        pileup_mean : float
            Mean number of beam muons per readout window.
        spot : float
            Gaussian beam spot σ [cm].

        Returns
        -------
        float
            The probability.
        """
        if pileup_mean <= 0.0:
            return 0.0
        f_out = float(np.exp(-self.beam_veto_radius**2 / (2.0 * spot * spot))) if spot > 0 else 0.0
        return float(-np.expm1(-pileup_mean * f_out))

    def counters_hit(self, x, y, tx, ty, bend) -> np.ndarray:
        """True where the track crosses both trigger counters (S4 and S_mu).

        Parameters
        ----------
        x, y : array_like
            Position at the vertex [cm].
        tx, ty : array_like
            Slopes dx/dz, dy/dz [rad].
        bend : array_like
            Bending angle in the MS2 dipole [rad] (:meth:`kick`).

        Returns
        -------
        numpy.ndarray of bool
            One entry per track.
        """
        ok = np.ones(np.shape(x), bool)
        for z, x_min, x_max, half_y in (self.s4, self.smu):
            xz, yz = self.at(z, x, y, tx, ty, bend)
            ok &= (xz > x_min) & (xz < x_max) & (np.abs(yz) < half_y)
        return ok

    def in_hcal(self, x, y, tx, ty, bend) -> np.ndarray:
        """True where the track enters the front face of the HCAL.

        Parameters
        ----------
        x, y : array_like
            Position at the vertex [cm].
        tx, ty : array_like
            Slopes dx/dz, dy/dz [rad].
        bend : array_like
            Bending angle in the MS2 dipole [rad] (:meth:`kick`).

        Returns
        -------
        numpy.ndarray of bool
            One entry per track.
        """
        xz, yz = self.at(self.hcal_z, x, y, tx, ty, bend)
        return (np.abs(xz) < self.hcal_half) & (np.abs(yz) < self.hcal_half)

    def beam_accepted(self, x, y) -> np.ndarray:
        """True where the incoming particle at ``(x, y)`` passes the hole of the upstream beam
        veto (radius ``beam_veto_radius``).

        Parameters
        ----------
        x, y : array_like
            Position of the incoming particle [cm].

        Returns
        -------
        numpy.ndarray of bool
            One entry per track.
        """
        return x * x + y * y < self.beam_veto_radius**2

    def in_veto(self, x, y, tx, ty) -> np.ndarray:
        """True where the track crosses the VETO counters.

        Parameters
        ----------
        x, y : array_like
            Position at the vertex [cm].
        tx, ty : array_like
            Slopes dx/dz, dy/dz [rad].

        Returns
        -------
        numpy.ndarray of bool
            One entry per track.
        """
        xz, yz = self.at(self.veto[0], x, y, tx, ty, 0.0)
        return (np.abs(xz) < self.veto[1]) & (np.abs(yz) < self.veto[1])

    def in_vhcal_body(self, x, y, tx, ty) -> np.ndarray:
        """True where the track crosses the VHCAL material: inside its outer size, outside its
        central hole.

        Parameters
        ----------
        x, y : array_like
            Position at the vertex [cm].
        tx, ty : array_like
            Slopes dx/dz, dy/dz [rad].

        Returns
        -------
        numpy.ndarray of bool
            One entry per track.
        """
        xz, yz = self.at(self.vhcal[0], x, y, tx, ty, 0.0)
        r = np.maximum(np.abs(xz), np.abs(yz))
        return (r >= self.vhcal[1]) & (r < self.vhcal[2])
