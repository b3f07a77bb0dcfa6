"""NanoEvents schema and behaviours for the NA64 ntuples (``docs/ntuple_format.md``).

:class:`NA64Schema` is a declarative coffea schema in the style of coffea's ``DelphesSchema`` and
``NanoAODSchema``: the class attributes say which branches form which collections, their mixin
(behaviour) and their docstrings; one method zips the flat ``Obj_field`` and jagged
``Coll_field`` branches (counter ``nColl``) into records::

    from coffea.nanoevents import NanoEventsFactory
    from na64tools import NA64Schema

    events = NanoEventsFactory.from_root({"file.root": "Events"}, schemaclass=NA64Schema).events()
    events.Track.p          # MS2 momenta, jagged
    events.Track.pvec       # momentum 3-vectors (coffea ThreeVector) from p and the slopes
    events.Beam.p4          # incoming muon four-momentum (muon mass from the PDG)
    events.GenPart.p4.mass  # truth four-momenta (px, py, pz, energy) as Lorentz vectors

Every branch of the contract is required with its exact type: a missing branch or a branch of
another type raises :class:`NA64SchemaError` naming the file (when known) and the branch.
Extra branches are kept as top-level fields.
"""

from __future__ import annotations

import awkward
import numpy
from coffea.nanoevents import transforms
from coffea.nanoevents.methods import base, vector
from coffea.nanoevents.schemas.base import BaseSchema, zip_forms
from coffea.nanoevents.util import concat
from particle import Particle

__all__ = ["NA64Schema", "NA64SchemaError", "NA64CounterError", "REQUIRED_BRANCHES", "behavior"]


class NA64SchemaError(ValueError):
    """An ntuple does not follow ``docs/ntuple_format.md`` (missing branch, wrong type)."""


class NA64CounterError(NA64SchemaError):
    """A collection counter ``nX`` disagrees with the list lengths of a branch ``X_field``.

    ``entry`` is the entry in the chunk read (0 = its first entry); :mod:`na64tools.processor`
    turns it into the entry of the file and names the file.
    """

    def __init__(self, counter: str, branch: str, entry: int, n_counter, n_list):
        self.counter, self.branch, self.entry = counter, branch, int(entry)
        self.n_counter, self.n_list = n_counter, n_list
        super().__init__(self.describe())

    def describe(self, offset: int = 0, where: str = "") -> str:
        n_list = "no list" if self.n_list is None else f"{self.n_list} values"
        return (f"{where}Events entry {self.entry + offset}: {self.counter} = {self.n_counter} but "
                f"{self.branch} has {n_list} (the counter and its collection disagree; "
                "docs/ntuple_format.md)")


def _checked_content(stack) -> None:
    """coffea NanoEvents transform ``counts,jagged,branch,counter,!na64_checked_content``: the
    content of the jagged branch, after checking its list lengths against the counter branch.

    The collections are built with the counter's offsets (``nTrack`` for ``Track_p``): a list of
    another length would silently shift values between events. The check costs one extra read of
    the (int32) counter per field read.
    """
    counter, branch = stack.pop(), stack.pop()
    jagged = transforms.to_layout(stack.pop())
    counts = numpy.asarray(transforms.ensure_array(stack.pop()), dtype=numpy.int64)
    offsets = numpy.asarray(jagged.offsets, dtype=numpy.int64)
    lengths = numpy.diff(offsets)
    if len(lengths) != len(counts):
        n = min(len(lengths), len(counts))
        raise NA64CounterError(counter, branch, n, counts[n] if n < len(counts) else "missing",
                               lengths[n] if n < len(lengths) else None)
    bad = numpy.flatnonzero(lengths != counts)
    if bad.size:
        i = int(bad[0])
        raise NA64CounterError(counter, branch, i, int(counts[i]), int(lengths[i]))
    stack.append(jagged.content)


# registered in coffea's transform namespace, where NanoEvents looks form-key transforms up
transforms.na64_checked_content = _checked_content


#: muon mass in GeV (PDG, via ``particle``; the package stores MeV)
MUON_MASS = Particle.from_pdgid(13).mass / 1000.0

# --------------------------------------------------------------------------------------------
# the contract: branch -> (jagged?, primitive); see docs/ntuple_format.md
# --------------------------------------------------------------------------------------------
_F, _D, _I, _L, _B = "float32", "float64", "int32", "int64", "bool"

#: singleton objects (one per event): name -> {field: primitive}
SINGLETONS: dict[str, dict[str, str]] = {
    "Beam": {"p": _F, "chi2": _F, "nhits": _I, "x": _F, "y": _F, "tx": _F, "ty": _F},
    "ECAL": {"energy": _F, "preshower": _F, "x": _F, "y": _F},
    "VETO": {"energy": _F},
    "VHCAL": {"energy": _F},
    "Trigger": {"scattered": _B},
    "Gen": {"process": _I, "mismeasured": _B, "x": _F},
}
#: jagged collections (counter ``nName``): name -> {field: primitive}
COLLECTIONS: dict[str, dict[str, str]] = {
    "Track": {"p": _F, "chi2": _F, "nhits": _I, "x": _F, "y": _F, "tx": _F, "ty": _F, "charge": _I},
    "HCAL": {"energy": _F, "module": _I},
    "GenPart": {"pdgId": _I, "energy": _F, "px": _F, "py": _F, "pz": _F, "status": _I},
}
#: plain top-level branches
SCALARS: dict[str, str] = {"run": _I, "spill": _I, "event": _L, "genWeight": _D}

#: every branch of ``Events`` the schema requires: name -> (jagged, primitive)
REQUIRED_BRANCHES: dict[str, tuple[bool, str]] = {
    **{k: (False, v) for k, v in SCALARS.items()},
    **{f"{o}_{f}": (False, t) for o, fs in SINGLETONS.items() for f, t in fs.items()},
    **{f"n{c}": (False, _I) for c in COLLECTIONS},
    **{f"{c}_{f}": (True, t) for c, fs in COLLECTIONS.items() for f, t in fs.items()},
}


class NA64Schema(BaseSchema):
    """NA64 ntuple schema builder.

    Builds, from the branches of the ``Events`` tree:

    - singletons ``Beam``, ``ECAL``, ``VETO``, ``VHCAL``, ``Trigger``, ``Gen`` from ``Obj_field``;
    - jagged collections ``Track``, ``HCAL``, ``GenPart`` from ``Coll_field`` and ``nColl``;
    - ``run``, ``spill``, ``event``, ``genWeight`` as flat fields.

    Collections get the mixins of :attr:`mixins` (see :data:`behavior`) and the docstrings of
    :attr:`docstrings`. The branch types are checked against the format; errors name the file
    (from ``metadata["filename"]`` when given) and the branch.
    """

    __dask_capable__ = True

    mixins: dict[str, str] = {
        "Beam": "BeamTrack",
        "Track": "Track",
        "ECAL": "Calorimeter",
        "HCAL": "HCALModule",
        "VETO": "Calorimeter",
        "VHCAL": "Calorimeter",
        "Trigger": "NA64Trigger",
        "Gen": "GenInfo",
        "GenPart": "GenParticle",
    }
    """Mixin (behaviour class name) of each collection."""

    singletons = list(SINGLETONS)
    """Per-event objects stored as flat branches ``Obj_field``."""

    collections = list(COLLECTIONS)
    """Jagged collections stored as ``Coll_field`` with a counter ``nColl``."""

    docstrings: dict[str, str] = {
        "run": "run number",
        "spill": "SPS spill number",
        "event": "event number, unique within the run",
        "genWeight": "muons on target this event stands for [MOT] (importance sampling)",
        "Beam": "incoming muon measured by the upstream spectrometer MS1",
        "Beam.p": "incoming muon momentum (MS1) [GeV]",
        "Beam.chi2": "chi2/ndf of the MS1 track",
        "Beam.nhits": "hits on the MS1 track",
        "Beam.x": "MS1 track extrapolated to the ECAL front face, x [cm]",
        "Beam.y": "MS1 track extrapolated to the ECAL front face, y [cm]",
        "Beam.tx": "MS1 track slope dx/dz [rad]",
        "Beam.ty": "MS1 track slope dy/dz [rad]",
        "Track": "downstream (MS2) tracks",
        "Track.p": "momentum measured by MS2 [GeV]",
        "Track.chi2": "chi2/ndf of the MS2 track",
        "Track.nhits": "hits on the MS2 track",
        "Track.x": "position at the first MS2 station, x [cm]",
        "Track.y": "position at the first MS2 station, y [cm]",
        "Track.tx": "track slope dx/dz [rad]",
        "Track.ty": "track slope dy/dz [rad]",
        "Track.charge": "charge sign from the MS2 bending [e]",
        "ECAL": "electromagnetic calorimeter = active target",
        "ECAL.energy": "total ECAL energy, electron-equivalent scale [GeV]",
        "ECAL.preshower": "energy in the preshower section [GeV]",
        "ECAL.x": "shower (or MIP) centroid x [cm]",
        "ECAL.y": "shower (or MIP) centroid y [cm]",
        "HCAL": "hadronic calorimeter modules read out",
        "HCAL.energy": "energy in the module [GeV]",
        "HCAL.module": "module index, 0 upstream",
        "VETO": "VETO counters behind the ECAL",
        "VETO.energy": "energy in the VETO counters [GeV]",
        "VHCAL": "hadronic veto calorimeter",
        "VHCAL.energy": "energy in the VHCAL [GeV]",
        "Trigger": "trigger bits",
        "Trigger.scattered": "scattered-muon trigger fired",
        "Gen": "event-level truth",
        "Gen.process": "true process code (na64tools.processes.PROCESSES)",
        "Gen.mismeasured": "MS2 momentum taken from the non-Gaussian tail (truth)",
        "Gen.x": "true energy fraction taken from the muon by the process",
        "GenPart": "generated particles (truth)",
        "GenPart.pdgId": "PDG id",
        "GenPart.energy": "true energy [GeV]",
        "GenPart.px": "true momentum x [GeV]",
        "GenPart.py": "true momentum y [GeV]",
        "GenPart.pz": "true momentum z [GeV]",
        "GenPart.status": "0 incoming beam particle, 1 outgoing visible, 2 invisible (X, nu)",
    }
    """Docstring of each collection and field (``"Coll.field"``)."""

    def __init__(self, base_form, *args, **kwargs):
        super().__init__(base_form)
        meta = self._form["parameters"].get("metadata") or {}
        self._filename = meta.get("filename") if isinstance(meta, dict) else None
        forms = dict(zip(self._form["fields"], self._form["contents"], strict=True))
        self._check(forms)
        output = self._build_collections(forms)
        self._form["fields"] = list(output)
        self._form["contents"] = list(output.values())

    # ----------------------------------------------------------------------------------------
    def _where(self) -> str:
        return f"{self._filename}: " if self._filename else ""

    def _check(self, forms: dict) -> None:
        """Every required branch present, with its layout (flat/jagged) and primitive type."""
        for name, (jagged, primitive) in REQUIRED_BRANCHES.items():
            if name not in forms:
                raise NA64SchemaError(
                    f"{self._where()}Events: missing branch {name!r} "
                    f"(expected {primitive}{'[]' if jagged else ''}, see docs/ntuple_format.md)")
            form = forms[name]
            if jagged:
                ok = form.get("class", "").startswith("ListOffsetArray") and \
                    form["content"].get("class") == "NumpyArray"
                got = form["content"].get("primitive") if ok else _describe(form)
            else:
                ok = form.get("class") == "NumpyArray"
                got = form.get("primitive") if ok else _describe(form)
            if not ok or got != primitive:
                raise NA64SchemaError(
                    f"{self._where()}Events: branch {name!r} has type {got}"
                    f"{'[]' if jagged and ok else ''}, expected {primitive}{'[]' if jagged else ''} "
                    "(docs/ntuple_format.md)")

    def _doc(self, key: str, form: dict) -> dict:
        form = dict(form)
        params = dict(form.get("parameters") or {})
        params["__doc__"] = self.docstrings.get(key, params.get("__doc__", "no docstring available"))
        form["parameters"] = params
        return form

    def _build_collections(self, forms: dict) -> dict:
        used: set[str] = set()
        output: dict[str, dict] = {}
        for name in SCALARS:
            output[name] = self._doc(name, forms[name])
            used.add(name)
        for obj, fields in SINGLETONS.items():
            content = {f: self._doc(f"{obj}.{f}", forms[f"{obj}_{f}"]) for f in fields}
            used.update(f"{obj}_{f}" for f in fields)
            rec = zip_forms(content, obj, record_name=self.mixins[obj])
            rec.setdefault("parameters", {}).update(
                {"__doc__": self.docstrings[obj], "collection_name": obj})
            output[obj] = rec
        for coll, fields in COLLECTIONS.items():
            counts = forms[f"n{coll}"]
            offsets = transforms.counts2offsets_form(counts)
            content = {}
            for f in fields:
                jag = dict(forms[f"{coll}_{f}"])
                jag["content"] = self._doc(f"{coll}.{f}", jag["content"])
                # the content is read through the counter check (see _checked_content)
                jag["content"]["form_key"] = concat(counts["form_key"], jag["form_key"],
                                                    f"{coll}_{f}", f"n{coll}", "!na64_checked_content")
                content[f] = jag
            used.update(f"{coll}_{f}" for f in fields)
            used.add(f"n{coll}")
            coll_form = zip_forms(content, coll, record_name=self.mixins[coll], offsets=offsets)
            coll_form["content"]["parameters"].update(
                {"__doc__": self.docstrings[coll], "collection_name": coll})
            output[coll] = coll_form
        # extra branches (not in the contract) are kept unchanged
        for name, form in forms.items():
            if name not in used and name not in output:
                output[name] = form
        return output

    @classmethod
    def behavior(cls):
        """Behaviours of the NA64 collections (dict), see :data:`behavior`."""
        return behavior


def _describe(form: dict) -> str:
    cls = form.get("class", "?")
    if cls == "NumpyArray":
        return str(form.get("primitive"))
    if "content" in form:
        return f"{cls}[{_describe(form['content'])}]"
    return cls


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
        """Four-momentum assuming a muon (PDG mass via ``particle``), coffea ``LorentzVector``"""
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
class Calorimeter(base.NanoCollection):
    """A calorimeter read out as one energy sum (ECAL, VETO, VHCAL)."""


_set_repr_name("Calorimeter")


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
