"""Behaviours (mixins) of the NA64 NanoEvents collections, in the style of coffea's
``coffea.nanoevents.methods``: :data:`behavior` is the dict :class:`na64tools.NA64Schema` attaches
to the events (coffea's base and vector behaviours plus the NA64 mixins below).

Each class is the mixin of the collections named in :attr:`na64tools.schema.NA64Schema.mixins`:
``Beam`` -> :class:`BeamTrack`, ``Track`` -> :class:`Track`, ``ECAL``/``VETO``/``VHCAL`` ->
:class:`EnergySum`, ``HCAL`` -> :class:`HCALModule`, ``Trigger`` -> :class:`NA64Trigger`,
``Gen`` -> :class:`GenInfo`, ``GenPart`` -> :class:`GenParticle`.
"""

from __future__ import annotations

import awkward
import numpy
from coffea.nanoevents.methods import base, vector

__all__ = ["behavior", "MUON_MASS", "BeamTrack", "Track", "EnergySum", "HCALModule",
           "NA64Trigger", "GenInfo", "GenParticle"]

#: muon mass in GeV: 105.6583755 MeV (S. Navas et al. (Particle Data Group), Phys. Rev. D 110
#: (2024) 030001), the value of the ``particle`` package (``Particle.from_pdgid(13).mass / 1000``,
#: bit for bit), written out because loading that package's table costs 0.08 s of CPU in every
#: worker process (docs/processor.md, "Speed")
MUON_MASS = 105.6583755 / 1000.0

# --------------------------------------------------------------------------------------------
# behaviours
# --------------------------------------------------------------------------------------------
behavior: dict = {}
behavior.update(base.behavior)
behavior.update(vector.behavior)


class NA64Events(behavior["NanoEvents"]):
    def __repr__(self):
        return f"<NA64 event {self.run}:{self.event}>"


behavior["NanoEvents"] = NA64Events


def _set_repr_name(classname: str) -> None:
    def namefcn(self):
        return classname

    behavior[("__typestr__", classname)] = classname[0].lower() + classname[1:]
    behavior[classname].__repr__ = namefcn


def _f64(array):
    return awkward.values_astype(array, numpy.float64)


class _SlopeTrack:
    """A straight track described by its momentum ``p`` and slopes ``tx = dx/dz``, ``ty = dy/dz``.

    The direction is the unit vector (tx, ty, 1)/sqrt(1 + tx² + ty²) (definition of the slopes,
    docs/ntuple_format.md), so p_x = p·tx/n, p_y = p·ty/n, p_z = p/n.

    Computed in float64 (the branches are float32).
    """

    @property
    def _norm(self):
        tx, ty = _f64(self.tx), _f64(self.ty)
        return numpy.sqrt(1.0 + tx * tx + ty * ty)

    @property
    def px(self):
        """Momentum x component [GeV]"""
        return _f64(self.p) * _f64(self.tx) / self._norm

    @property
    def py(self):
        """Momentum y component [GeV]"""
        return _f64(self.p) * _f64(self.ty) / self._norm

    @property
    def pz(self):
        """Momentum z component (along the beam) [GeV]"""
        return _f64(self.p) / self._norm

    @property
    def theta(self):
        """Polar angle with respect to the beam axis [rad]"""
        tx, ty = _f64(self.tx), _f64(self.ty)
        return numpy.arctan(numpy.sqrt(tx * tx + ty * ty))

    @property
    def pvec(self):
        """Momentum 3-vector (coffea ``ThreeVector``, vector behaviours)"""
        return awkward.zip({"x": self.px, "y": self.py, "z": self.pz},
                           with_name="ThreeVector", behavior=self.behavior)

    @property
    def p4(self):
        """Four-momentum assuming a muon (PDG mass :data:`MUON_MASS`), coffea ``LorentzVector``"""
        p = _f64(self.p)
        energy = numpy.sqrt(p * p + MUON_MASS * MUON_MASS)
        return awkward.zip({"x": self.px, "y": self.py, "z": self.pz, "t": energy},
                           with_name="LorentzVector", behavior=self.behavior)


@awkward.mixin_class(behavior)
class BeamTrack(_SlopeTrack, base.NanoCollection):
    """Incoming muon measured by MS1 (one per event)."""


_set_repr_name("BeamTrack")


@awkward.mixin_class(behavior)
class Track(_SlopeTrack, base.NanoCollection):
    """Downstream (MS2) track: momentum, quality, position and slopes."""


_set_repr_name("Track")


@awkward.mixin_class(behavior)
class EnergySum(base.NanoCollection):
    """A calorimeter read out as one energy sum (ECAL, VETO, VHCAL).

    (Not the setup section :class:`na64tools.config.Calorimeter`, which describes a detector.)"""


_set_repr_name("EnergySum")


@awkward.mixin_class(behavior)
class HCALModule(base.NanoCollection):
    """One HCAL module; ``ak.sum(events.HCAL.energy, axis=1)`` is the HCAL energy."""


_set_repr_name("HCALModule")


@awkward.mixin_class(behavior)
class NA64Trigger(base.NanoCollection):
    """Trigger bits."""


_set_repr_name("NA64Trigger")


@awkward.mixin_class(behavior)
class GenInfo(base.NanoCollection):
    """Event-level truth: process code, mismeasurement flag, energy fraction."""

    @property
    def process_name(self):
        """Name of the true process (``na64tools.processes.PROCESSES``), as a string array"""
        from .processes import PROCESSES

        names = numpy.array([PROCESSES[i] for i in range(len(PROCESSES))], dtype=object)
        return awkward.Array(names[awkward.to_numpy(self.process)].tolist())


_set_repr_name("GenInfo")


@awkward.mixin_class(behavior)
class GenParticle(base.NanoCollection):
    """Generated particle: PDG id, status and true four-momentum (px, py, pz, energy)."""

    @property
    def p4(self):
        """True four-momentum (coffea ``LorentzVector``, float64): ``.mass``, ``.p``, ``.pt`` ..."""
        return awkward.zip({"x": _f64(self.px), "y": _f64(self.py), "z": _f64(self.pz),
                            "t": _f64(self.energy)}, with_name="LorentzVector", behavior=self.behavior)

    @property
    def is_invisible(self):
        """Invisible particle (status 2: X or neutrino)"""
        return self.status == 2


_set_repr_name("GenParticle")
