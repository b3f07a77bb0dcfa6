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

import numpy
from coffea.nanoevents import transforms
from coffea.nanoevents.schemas.base import BaseSchema, zip_forms
from coffea.nanoevents.util import concat

from .behaviors import MUON_MASS, behavior

__all__ = ["NA64Schema", "NA64SchemaError", "NA64CounterError", "REQUIRED_BRANCHES", "behavior",
           "MUON_MASS"]


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
        """The message, with the entry shifted by ``offset`` and ``where`` (e.g. the file) in
        front.

        Parameters
        ----------
        offset : int
            The file entry of the chunk's first entry.
        where : str
            A prefix naming the file.

        Returns
        -------
        str
            The one-line message.
        """
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



# --------------------------------------------------------------------------------------------
# the contract: branch -> (jagged?, primitive); see docs/ntuple_format.md
# --------------------------------------------------------------------------------------------
_F, _D, _I, _L, _B = "float32", "float64", "int32", "int64", "bool"

#: the contract, written once: collection -> (docstring, {field: (primitive, docstring)}) for
#: the singleton objects (one per event, flat branches ``Obj_field``) ...
_SINGLETONS: dict[str, tuple[str, dict[str, tuple[str, str]]]] = {
    "Beam": ("incoming muon measured by the upstream spectrometer MS1", {
        "p": (_F, "incoming muon momentum (MS1) [GeV]"),
        "chi2": (_F, "chi2/ndf of the MS1 track"),
        "nhits": (_I, "hits on the MS1 track"),
        "x": (_F, "MS1 track extrapolated to the ECAL front face, x [cm]"),
        "y": (_F, "MS1 track extrapolated to the ECAL front face, y [cm]"),
        "tx": (_F, "MS1 track slope dx/dz [rad]"),
        "ty": (_F, "MS1 track slope dy/dz [rad]")}),
    "ECAL": ("electromagnetic calorimeter = active target", {
        "energy": (_F, "total ECAL energy, electron-equivalent scale [GeV]"),
        "preshower": (_F, "energy in the preshower section [GeV]"),
        "x": (_F, "shower (or MIP) centroid x [cm]"),
        "y": (_F, "shower (or MIP) centroid y [cm]")}),
    "VETO": ("VETO counters behind the ECAL", {
        "energy": (_F, "energy in the VETO counters [GeV]")}),
    "VHCAL": ("hadronic veto calorimeter", {
        "energy": (_F, "energy in the VHCAL [GeV]")}),
    "Trigger": ("trigger bits", {
        "scattered": (_B, "scattered-muon trigger fired")}),
    "Gen": ("event-level truth", {
        "process": (_I, "true process code (na64tools.processes.PROCESSES)"),
        "mismeasured": (_B, "MS2 momentum taken from the non-Gaussian tail (truth)"),
        "x": (_F, "true energy fraction taken from the muon by the process")}),
}
#: ... the jagged collections (branches ``Coll_field`` with a counter ``nColl``) ...
_COLLECTIONS: dict[str, tuple[str, dict[str, tuple[str, str]]]] = {
    "Track": ("downstream (MS2) tracks", {
        "p": (_F, "momentum measured by MS2 [GeV]"),
        "chi2": (_F, "chi2/ndf of the MS2 track"),
        "nhits": (_I, "hits on the MS2 track"),
        "x": (_F, "position at the first MS2 station, x [cm]"),
        "y": (_F, "position at the first MS2 station, y [cm]"),
        "tx": (_F, "track slope dx/dz [rad]"),
        "ty": (_F, "track slope dy/dz [rad]"),
        "charge": (_I, "charge sign from the MS2 bending [e]")}),
    "HCAL": ("hadronic calorimeter modules read out", {
        "energy": (_F, "energy in the module [GeV]"),
        "module": (_I, "module index, 0 upstream")}),
    "GenPart": ("generated particles (truth)", {
        "pdgId": (_I, "PDG id"),
        "energy": (_F, "true energy [GeV]"),
        "px": (_F, "true momentum x [GeV]"),
        "py": (_F, "true momentum y [GeV]"),
        "pz": (_F, "true momentum z [GeV]"),
        "status": (_I, "0 incoming beam particle, 1 outgoing visible, 2 invisible (X, nu)")}),
}
#: ... and the plain top-level branches: name -> (primitive, docstring)
_SCALARS: dict[str, tuple[str, str]] = {
    "run": (_I, "run number"),
    "spill": (_I, "SPS spill number"),
    "event": (_L, "event number, unique within the run"),
    "genWeight": (_D, "muons on target this event stands for [MOT] (importance sampling)"),
}

#: singleton objects (one per event): name -> {field: primitive}
SINGLETONS: dict[str, dict[str, str]] = {o: {f: t for f, (t, _) in fs.items()}
                                         for o, (_, fs) in _SINGLETONS.items()}
#: jagged collections (counter ``nName``): name -> {field: primitive}
COLLECTIONS: dict[str, dict[str, str]] = {c: {f: t for f, (t, _) in fs.items()}
                                          for c, (_, fs) in _COLLECTIONS.items()}
#: plain top-level branches
SCALARS: dict[str, str] = {k: t for k, (t, _) in _SCALARS.items()}

#: docstring of each collection and field (``"Coll.field"``), from the contract
DOCSTRINGS: dict[str, str] = {
    **{k: d for k, (_, d) in _SCALARS.items()},
    **{k: v for table in (_SINGLETONS, _COLLECTIONS) for name, (doc, fs) in table.items()
       for k, v in ((name, doc), *((f"{name}.{f}", d) for f, (_, d) in fs.items()))},
}

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

    Collections get the mixins of :attr:`mixins` (:mod:`na64tools.behaviors`) and the docstrings of
    :attr:`docstrings`. The branch types are checked against the format; errors name the file
    (from ``metadata["filename"]`` when given) and the branch.

    Parameters
    ----------
    base_form : dict
        The form of the ``Events`` tree (given by coffea's ``NanoEventsFactory``).
    *args, **kwargs
        Accepted and ignored (only ``base_form`` goes to
        :class:`coffea.nanoevents.schemas.BaseSchema`).
    """

    __dask_capable__ = True

    mixins: dict[str, str] = {
        "Beam": "BeamTrack",
        "Track": "Track",
        "ECAL": "EnergySum",
        "HCAL": "HCALModule",
        "VETO": "EnergySum",
        "VHCAL": "EnergySum",
        "Trigger": "NA64Trigger",
        "Gen": "GenInfo",
        "GenPart": "GenParticle",
    }
    """Mixin (behaviour class name, :mod:`na64tools.behaviors`) of each collection."""

    singletons = list(SINGLETONS)
    """Per-event objects stored as flat branches ``Obj_field``."""

    collections = list(COLLECTIONS)
    """Jagged collections stored as ``Coll_field`` with a counter ``nColl``."""

    docstrings: dict[str, str] = DOCSTRINGS
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
        """Behaviours of the NA64 collections (dict), see :data:`behavior`.

        Returns
        -------
        dict
            The behaviour dictionary.
        """
        return behavior


def _describe(form: dict) -> str:
    cls = form.get("class", "?")
    if cls == "NumpyArray":
        return str(form.get("primitive"))
    if "content" in form:
        return f"{cls}[{_describe(form['content'])}]"
    return cls
