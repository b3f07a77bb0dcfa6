"""Typed, validated configuration: the setup description (:class:`Setup`) and the selection (:class:`Cuts`).

Every number of the setup description carries its unit and its source (a publication or the word
``assumption``). A setup YAML file looks like::

    beam:
      energy: {value: 160.0, unit: GeV, source: "PRL 132 (2024) 211803"}

Loading validates every key: an unknown or missing key, a missing or wrong unit, a value out of its
allowed range all raise :class:`ConfigError` naming the file, the key path and the value.

Units used throughout na64tools: GeV, cm, pb, MOT (muons on target); dimensionless numbers use the
unit ``"1"``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from importlib import resources
from pathlib import Path
from typing import Any, ClassVar, get_type_hints

import yaml

__all__ = [
    "ConfigError",
    "Quantity",
    "Setup",
    "Cuts",
    "Cut",
    "LfvECuts",
    "TypedConfig",
    "threshold",
    "load_setup",
    "default_setup",
    "setup_path",
]


class ConfigError(ValueError):
    """A configuration file or value is invalid. The message names the key and the value."""


class Quantity(float):
    """A float that remembers its unit and its source.

    Behaves as a plain ``float`` in arithmetic (the result is a plain float); ``unit`` and
    ``source`` document where the number comes from.
    """

    unit: str
    source: str

    def __new__(cls, value: float, unit: str, source: str = "assumption"):
        obj = super().__new__(cls, value)
        obj.unit = unit
        obj.source = source
        return obj

    def __reduce__(self):
        return (Quantity, (float(self), self.unit, self.source))

    def __repr__(self) -> str:
        return f"Quantity({float(self)!r}, {self.unit!r}, source={self.source!r})"

    def to_dict(self) -> dict[str, Any]:
        """The quantity as it is written in a setup file.

        Returns
        -------
        dict
            ``{"value": ..., "unit": ..., "source": ...}`` (an integral count as an ``int``).
        """
        value = float(self)
        if value.is_integer() and abs(value) < 2**53:
            value = int(value) if self.unit in ("1", "events", "modules") and abs(value) < 1e6 else value
        return {"value": value, "unit": self.unit, "source": self.source}


def param(unit: str, doc: str, *, lo: float | None = None, hi: float | None = None,
          lo_open: bool = False, hi_open: bool = False):
    """Declare a setup parameter: a :class:`Quantity` with its expected unit and allowed range."""
    return field(metadata={"unit": unit, "doc": doc, "lo": lo, "hi": hi,
                           "lo_open": lo_open, "hi_open": hi_open})


def text(doc: str, default: Any = dataclasses.MISSING, *, required: bool = False):
    """Declare a string entry (``required``: present and not blank when read from a mapping)."""
    return field(default=default, metadata={"unit": None, "doc": doc, "required": required})


def number(default: float, doc: str, *, unit: str | None = None, lo: float | None = None,
           hi: float | None = None, required: bool = False):
    """Declare a plain number (a ``float`` field) with its allowed range."""
    return field(default=default, metadata={"unit": unit, "doc": doc, "lo": lo, "hi": hi,
                                            "required": required})


def _check_number(where: str, value: Any, meta: Mapping[str, Any]) -> float:
    """``value`` as a float if it is a finite number inside the range the field metadata allow
    (``lo``/``hi``, open with ``lo_open``/``hi_open``); otherwise :class:`ConfigError`."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{where}: value {value!r} is not a number")
    value = float(value)
    if not math.isfinite(value):
        raise ConfigError(f"{where}: value {value!r} is not a finite number")
    lo, hi = meta.get("lo"), meta.get("hi")
    if lo is not None and (value < lo or (meta.get("lo_open") and value == lo)):
        op = ">" if meta.get("lo_open") else ">="
        raise ConfigError(f"{where}: value {value!r} is out of range, expected {op} {lo}")
    if hi is not None and (value > hi or (meta.get("hi_open") and value == hi)):
        op = "<" if meta.get("hi_open") else "<="
        raise ConfigError(f"{where}: value {value!r} is out of range, expected {op} {hi}")
    return value


#: comparisons a cut threshold may make (``variable op value`` passes): lower bounds, upper bounds
LOWER_OPS = (">", ">=")
UPPER_OPS = ("<", "<=")


def _hints(cls) -> dict[str, Any]:
    hints = cls.__dict__.get("_hints_")
    if hints is None:
        hints = get_type_hints(cls)
        cls._hints_ = hints
    return hints


class TypedConfig:
    """Base of the typed configuration objects (the setup sections, :class:`Cuts`,
    :class:`~na64tools.selection.Preselection`, :class:`PublishedBackground`).

    One validator for all of them, driven by the field declarations (:func:`param`,
    :func:`text`, :func:`number`, :func:`threshold`): :meth:`from_mapping` checks the keys and
    the form of each entry naming the key path, and construction checks every number (a finite
    number in its range) and every lower/upper pair of thresholds on the same variable.
    """

    #: a key not among the fields is an "unknown key" (Cuts: "unknown cut")
    _noun_: ClassVar[str] = "key"
    #: the unit a mapping of this type must declare in a ``unit`` key (None: no such key)
    _unit_: ClassVar[str | None] = None
    #: default key path of :meth:`from_mapping`
    _where_: ClassVar[str] = ""

    def __post_init__(self):
        _validate(self)

    @classmethod
    def from_mapping(cls, data: Any, where: str | None = None):
        """Build from a mapping (YAML/TOML), validating every key; errors name ``where.key``.

        Parameters
        ----------
        data : mapping
            The section, as read from YAML/TOML.
        where : str, optional
            Where the mapping comes from, for error messages (default: the class's name).

        Returns
        -------
        TypedConfig
            An instance of the class.

        Raises
        ------
        ConfigError
            Not a mapping, an unknown or missing key, a wrong type, unit or range.
        """
        where = where or cls._where_ or cls.__name__
        if not isinstance(data, Mapping):
            what = " of cut names" if cls._noun_ == "cut" else ""
            raise ConfigError(f"{where}: expected a mapping{what}, got {type(data).__name__} {data!r}")
        hints = _hints(cls)
        known = {f.name: f for f in fields(cls)}
        allowed = [*known, "unit"] if cls._unit_ else list(known)
        unknown = sorted(set(data) - set(allowed))
        if unknown:
            k = unknown[0]
            if cls._noun_ == "key":
                raise ConfigError(f"{where}: unknown key {k!r} (expected one of: {', '.join(allowed)})")
            raise ConfigError(f"{where}.{k}: unknown {cls._noun_} {k!r} "
                              f"(expected one of: {', '.join(allowed)})")
        if cls._unit_ and data.get("unit") != cls._unit_:
            raise ConfigError(f"{where}: unit {data.get('unit')!r}, expected {cls._unit_!r}")
        kwargs = {}
        for name, f in known.items():
            key = f"{where}.{name}"
            has_default = (f.default is not dataclasses.MISSING
                           or f.default_factory is not dataclasses.MISSING)
            if name not in data:
                if has_default and not f.metadata.get("required"):
                    continue
                raise ConfigError(f"{key}: missing required key")
            kwargs[name] = _entry(data[name], key, hints[name], f.metadata, where)
        try:
            return cls(**kwargs)
        except ConfigError as err:
            raise ConfigError(f"{where}: {err}") from None

    def to_dict(self) -> dict[str, Any]:
        """The section as a plain mapping (nested sections and quantities as dicts).

        Returns
        -------
        dict
            ``{field: value}``, readable by :meth:`from_mapping`.
        """
        out: dict[str, Any] = {}
        for f in fields(self):
            v = getattr(self, f.name)
            out[f.name] = v.to_dict() if hasattr(v, "to_dict") else v
        return out

    @classmethod
    def json_schema(cls) -> dict[str, Any]:
        """A JSON Schema (draft 2020-12) of the mapping :meth:`from_mapping` accepts, generated
        from the same field declarations, for editors: keys, types, units and ranges. (Relations
        between fields, e.g. a lower cut below the upper one, are checked by the validator only.)

        Returns
        -------
        dict
            The JSON Schema.
        """
        hints = _hints(cls)
        props: dict[str, Any] = {}
        required = []
        for f in fields(cls):
            props[f.name] = _field_schema(hints[f.name], f.metadata)
            has_default = (f.default is not dataclasses.MISSING
                           or f.default_factory is not dataclasses.MISSING)
            if f.metadata.get("required") or not has_default:
                required.append(f.name)
        if cls._unit_:
            props["unit"] = {"const": cls._unit_}
            required.append("unit")
        out: dict[str, Any] = {"type": "object", "properties": props, "additionalProperties": False}
        if required:
            out["required"] = required
        if cls.__doc__:
            out["description"] = cls.__doc__.strip().split("\n\n")[0]
        return out


def _number_schema(meta: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "number"}
    if meta.get("lo") is not None:
        out["exclusiveMinimum" if meta.get("lo_open") else "minimum"] = meta["lo"]
    if meta.get("hi") is not None:
        out["exclusiveMaximum" if meta.get("hi_open") else "maximum"] = meta["hi"]
    return out


def _field_schema(typ: Any, meta: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON Schema of one entry (see :func:`_entry`, which checks it)."""
    doc = {"description": meta["doc"]} if meta.get("doc") else {}
    if isinstance(typ, type) and issubclass(typ, TypedConfig):
        return {**typ.json_schema(), **doc}
    if typ is Quantity:
        return {"type": "object", **doc, "additionalProperties": False,
                "required": ["value", "unit", "source"],
                "properties": {"value": _number_schema(meta), "unit": {"const": meta["unit"]},
                               "source": {"type": "string", "minLength": 1}}}
    if typ is float:
        entry = {"type": "object", "additionalProperties": False, "required": ["value"],
                 "properties": {"value": _number_schema(meta), "unit": {"const": meta.get("unit")},
                                "source": {"type": "string"}}}
        return {"anyOf": [_number_schema(meta), entry], **doc}
    if typ is bool:
        return {"type": "boolean", **doc}
    if typ is str:
        return {"type": "string", **({"minLength": 1} if meta.get("required") else {}), **doc}
    raise TypeError(f"unsupported field type {typ}")  # pragma: no cover - programming error


def _entry(value: Any, key: str, typ: Any, meta: Mapping[str, Any], where: str) -> Any:
    """One entry of a mapping, checked against its field's type and metadata."""
    if isinstance(typ, type) and issubclass(typ, TypedConfig):
        return typ.from_mapping(value, key)
    if typ is Quantity:
        return _quantity(value, key, meta)
    if typ is float:  # a plain number, or {value, unit[, source]} with the field's unit
        if isinstance(value, Mapping):
            extra = sorted(set(value) - {"value", "unit", "source"})
            if extra:
                raise ConfigError(f"{key}: unknown key {extra[0]!r} (expected value, unit, source)")
            if "value" not in value:
                raise ConfigError(f"{key}: missing 'value'")
            if "unit" in value and str(value["unit"]) != meta.get("unit"):
                raise ConfigError(f"{key}: unit {value['unit']!r}, expected {meta.get('unit')!r}")
            value = value["value"]
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{key}: value {value!r} is not a number")
        return value
    if typ is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{key}: value {value!r}, expected true or false")
        return value
    if typ is str:
        if not isinstance(value, str):
            raise ConfigError(f"{key}: expected a string, got {value!r}")
        if meta.get("required") and not value.strip():
            raise ConfigError(f"{where}: missing {key.rsplit('.', 1)[-1]}")
        return value
    raise TypeError(f"unsupported field type {typ} for {key}")  # pragma: no cover - programming error


def _validate(obj: Any) -> None:
    """Check every number of a typed configuration object (plain numbers become floats) and
    that each lower threshold lies below the upper threshold on the same variable."""
    cls = type(obj)
    name = cls.__name__
    hints = _hints(cls)
    lower: dict[str, str] = {}
    upper: dict[str, str] = {}
    for f in fields(obj):
        typ = hints[f.name]
        if typ is float or typ is Quantity:
            v = _check_number(f"{name}.{f.name}", getattr(obj, f.name), f.metadata)
            if typ is float:
                object.__setattr__(obj, f.name, v)
        op = f.metadata.get("op")
        if op in LOWER_OPS:
            lower[f.metadata["variable"]] = f.name
        elif op in UPPER_OPS:
            upper[f.metadata["variable"]] = f.name
    for var, lo_name in lower.items():
        hi_name = upper.get(var)
        if hi_name is not None and getattr(obj, lo_name) >= getattr(obj, hi_name):
            raise ConfigError(f"{name}.{lo_name}: value {getattr(obj, lo_name)!r} must be below "
                              f"{hi_name}={getattr(obj, hi_name)!r}")


def _quantity(value: Any, where: str, meta: Mapping[str, Any]) -> Quantity:
    if not isinstance(value, Mapping):
        raise ConfigError(
            f"{where}: expected a mapping {{value, unit, source}}, got {value!r} "
            f"(every number needs its unit, expected unit {meta['unit']!r})"
        )
    extra = sorted(set(value) - {"value", "unit", "source"})
    if extra:
        raise ConfigError(f"{where}: unknown key {extra[0]!r} (expected value, unit, source)")
    if "value" not in value:
        raise ConfigError(f"{where}: missing 'value'")
    if "unit" not in value:
        raise ConfigError(f"{where}: missing unit for value {value['value']!r} (expected unit {meta['unit']!r})")
    if "source" not in value or not str(value["source"]).strip():
        raise ConfigError(f"{where}: missing source for value {value['value']!r} "
                          "(give a reference, or 'assumption')")
    v = _check_number(where, value["value"], {})  # a finite number
    unit = str(value["unit"])
    if unit != meta["unit"]:
        raise ConfigError(f"{where}: unit {unit!r} for value {value['value']!r}, expected {meta['unit']!r}")
    return Quantity(_check_number(where, v, meta), unit, str(value["source"]))


# --------------------------------------------------------------------------------------------
# The selection
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Cut:
    """One cut of the cutflow (a stage): its name, its labels, and the fixed requirements it
    adds to its thresholds (the :class:`Cuts` fields declared with ``cut=`` its name).

    ``requires`` holds ``(variable, op, value)`` tests that do not change (``("n_tracks", ">=",
    1)``; ``("trigger", "is", True)`` for a flag).
    """

    name: str
    label: str      #: name of the stage in a cutflow table
    plain: str      #: what the cut asks for, in plain words (dashboard tooltip)
    public: str     #: short switch label in plain words (public dashboard)
    requires: tuple[tuple[str, str, Any], ...] = ()


def threshold(default: float, unit: str, doc: str, source: str = "assumption", *, cut: str,
              variable: str, op: str, label: str, public: str, help: str,
              lo: float | None = None, hi: float | None = None, integer: bool = False):
    """Declare one threshold of the selection (a :class:`Cuts` field), everything about it at once.

    Parameters
    ----------
    default, unit, doc, source
        The published (or assumed) value, its unit, what it bounds, where it comes from.
    cut
        The cut of :attr:`Cuts.FLOW` it belongs to (a stage of the cutflow).
    variable, op
        The cut variable of :data:`na64tools.selection.VARIABLES` it tests and the comparison:
        an event passes if ``variable op value`` (``"<"``, ``"<="``, ``">"`` or ``">="``).
    label, public, help
        Short analyst label, short plain-language label and plain-language tooltip (CutExplorer).
    lo, hi
        Allowed range of the value.
    integer
        The variable is a count.

    Returns
    -------
    dataclasses.Field
        The field (its default and all of the above in its ``metadata``).
    """
    if op not in LOWER_OPS + UPPER_OPS:
        raise ValueError(f"threshold {label!r}: op {op!r}, expected one of {LOWER_OPS + UPPER_OPS}")
    return field(default=default, metadata={
        "unit": unit, "doc": doc, "source": source, "lo": lo, "hi": hi, "cut": cut,
        "variable": variable, "op": op, "label": label, "public": public, "help": help,
        "integer": integer})


_PRL = "PRL 132 (2024) 211803"


@dataclass(frozen=True)
class Cuts(TypedConfig):
    """The NA64μ missing-momentum selection; defaults are the published 2022 selection.

    Published (PRL 132 (2024) 211803; L. Molina Bueno, CPAN days 2024): one scattered muon with
    p_out < 80 GeV, MIP-like energy in ECAL and HCAL, no activity in VETO and VHCAL, a
    well-defined incoming muon of ≈160 GeV. Numerical thresholds other than p_out are not published and are documented
    assumptions.

    This class is the one declaration of the selection: :attr:`FLOW` lists the cuts in cutflow
    order and each field (:func:`threshold`) says which cut it belongs to, which variable it
    tests with which comparison, its unit, source and labels. The masks, the cutflow, the
    preselection and the CutExplorer are derived from it (:func:`na64tools.selection.declaration`).

    Every threshold is a field with a unit (``Cuts.unit(name)``); build with keyword arguments,
    :meth:`replace`, or from YAML/TOML with :meth:`from_file`.
    """

    _noun_: ClassVar[str] = "cut"
    _where_: ClassVar[str] = "cuts"

    #: the cuts in cutflow order
    FLOW: ClassVar[tuple[Cut, ...]] = (
        Cut("trigger", "trigger", "the scattered-muon trigger fired", "trigger",
            requires=(("trigger", "is", True),)),
        Cut("beam", "incoming muon (MS1)", "a clean incoming muon of about 160 GeV", "clean muon in"),
        Cut("n_tracks", "single outgoing track", "exactly one muon comes out", "one muon out",
            requires=(("n_tracks", ">=", 1),)),
        Cut("track_quality", "track quality", "the outgoing muon is well measured", "well measured"),
        Cut("p_out", "p_out cut", "the outgoing muon lost a lot of energy (p_out small)", "energy lost"),
        Cut("ecal", "ECAL MIP window", "the target calorimeter saw only a passing muon", "target quiet"),
        Cut("hcal", "HCAL MIP window", "the hadron calorimeter saw only a passing muon",
            "hadron calo quiet"),
        Cut("veto", "no VETO activity", "nothing in the veto counters", "veto quiet"),
        Cut("vhcal", "no VHCAL activity", "nothing in the veto hadron calorimeter", "veto calo quiet"),
    )

    p_in_min: float = threshold(
        150.0, "GeV", "incoming muon momentum (MS1), lower bound",
        "assumption: 160 GeV beam, " + _PRL, lo=0.0,
        cut="beam", variable="p_in", op=">", label="p_in min", public="Muon in: at least",
        help="Keep events whose incoming muon has at least this energy (the beam is 160 GeV).")
    p_in_max: float = threshold(
        170.0, "GeV", "incoming muon momentum (MS1), upper bound",
        "assumption: 160 GeV beam, " + _PRL, lo=0.0,
        cut="beam", variable="p_in", op="<", label="p_in max", public="Muon in: at most",
        help="Keep events whose incoming muon has at most this energy (the beam is 160 GeV).")
    beam_chi2_max: float = threshold(
        3.0, "1", "incoming track chi2/ndf, upper bound", lo=0.0,
        cut="beam", variable="beam_chi2", op="<", label="MS1 χ² max", public="Muon in: track fit",
        help="How well the incoming muon's track must fit a straight line (smaller = stricter).")
    n_tracks_max: float = threshold(
        1.0, "tracks", "number of downstream tracks, upper bound (single track)",
        _PRL + ": one scattered muon", lo=1.0, integer=True,
        cut="n_tracks", variable="n_tracks", op="<=", label="tracks max", public="Muons out: at most",
        help="How many particles may come out of the target (a signal has exactly one muon).")
    track_chi2_max: float = threshold(
        3.0, "1", "downstream track chi2/ndf, upper bound", lo=0.0,
        cut="track_quality", variable="track_chi2", op="<", label="track χ² max",
        public="Muon out: track fit",
        help="How well the outgoing muon's track must be measured (smaller = stricter).")
    track_hits_min: float = threshold(
        8.0, "hits", "downstream track hits, lower bound", lo=0.0, integer=True,
        cut="track_quality", variable="track_hits", op=">=", label="track hits min",
        public="Muon out: hits",
        help="How many detector hits the outgoing muon's track needs (more = stricter).")
    p_out_max: float = threshold(
        80.0, "GeV", "scattered muon momentum (MS2), upper bound", _PRL, lo=0.0,
        cut="p_out", variable="p_out", op="<", label="p_out max", public="Muon out: energy",
        help="Keep events whose outgoing muon has less than this energy: the dark boson took "
             "the rest.")
    ecal_min: float = threshold(
        0.0, "GeV", "ECAL energy, lower bound (MIP window)", lo=0.0,
        cut="ecal", variable="ecal", op=">=", label="ECAL min", public="Target: least energy",
        help="The target calorimeter must see at least this energy (a muon passing through).")
    ecal_max: float = threshold(
        1.0, "GeV", "ECAL energy, upper bound (MIP window)",
        "assumption: MIP compatible, " + _PRL, lo=0.0,
        cut="ecal", variable="ecal", op="<", label="ECAL max", public="Target: most energy",
        help="The target calorimeter may see at most this energy (no shower).")
    hcal_max: float = threshold(
        4.0, "GeV", "HCAL energy summed over modules, upper bound (MIP window)",
        "assumption: MIP compatible, " + _PRL, lo=0.0,
        cut="hcal", variable="hcal", op="<", label="HCAL max", public="Hadron calo: energy",
        help="The hadron calorimeter may see at most this energy (only a passing muon).")
    veto_max: float = threshold(
        0.015, "GeV", "VETO energy, upper bound (no activity beyond the muon MIP)",
        "assumption: no VETO activity, " + _PRL, lo=0.0,
        cut="veto", variable="veto", op="<", label="VETO max", public="Veto: energy",
        help="The veto counters may see at most this energy (nothing else came out).")
    vhcal_max: float = threshold(
        1.0, "GeV", "VHCAL energy, upper bound (no activity)",
        "assumption: no VHCAL activity, " + _PRL, lo=0.0,
        cut="vhcal", variable="vhcal", op="<", label="VHCAL max", public="Veto calo: energy",
        help="The veto hadron calorimeter may see at most this energy (nothing escaped).")

    # --- introspection -------------------------------------------------------------------
    @classmethod
    def names(cls) -> list[str]:
        """The cut thresholds, in declaration order.

        Returns
        -------
        list of str
            The field names.
        """
        return [f.name for f in fields(cls)]

    @classmethod
    def unit(cls, name: str) -> str:
        """The unit of a threshold (``GeV``, ``1`` for counts, ...).

        Parameters
        ----------
        name : str
            A field of :class:`Cuts`.

        Returns
        -------
        str
            Its unit.

        Raises
        ------
        ConfigError
            An unknown cut name.
        """
        return cls._field(name).metadata["unit"]

    @classmethod
    def doc(cls, name: str) -> str:
        """What a threshold bounds, in words.

        Parameters
        ----------
        name : str
            A field of :class:`Cuts`.

        Returns
        -------
        str
            Its description.

        Raises
        ------
        ConfigError
            An unknown cut name.
        """
        return cls._field(name).metadata["doc"]

    @classmethod
    def source(cls, name: str) -> str:
        """Where the published (or assumed) value of a threshold comes from.

        Parameters
        ----------
        name : str
            A field of :class:`Cuts`.

        Returns
        -------
        str
            Its source (a publication, or ``assumption`` with the reasoning).

        Raises
        ------
        ConfigError
            An unknown cut name.
        """
        return cls._field(name).metadata["source"]

    @classmethod
    def _field(cls, name: str):
        for f in fields(cls):
            if f.name == name:
                return f
        raise ConfigError(f"unknown cut {name!r} (expected one of: {', '.join(cls.names())})")

    def replace(self, **changes: float) -> Cuts:
        """A copy with some thresholds changed, e.g. ``cuts.replace(p_out_max=90.0)``.

        Parameters
        ----------
        **changes : float
            New values, in the unit of each field (:meth:`unit`).

        Returns
        -------
        Cuts
            The new cuts.

        Raises
        ------
        ConfigError
            An unknown cut name.
        """
        for name in changes:
            self._field(name)
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, float]:
        """The thresholds by name.

        Returns
        -------
        dict of str to float
            ``{name: value}``, in the unit of each field.
        """
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def to_yaml(self) -> str:
        """The cuts as a cut file (``cuts:`` with the value and unit of each), readable by
        :meth:`from_file`.

        Returns
        -------
        str
            The YAML text.
        """
        body = {f.name: {"value": getattr(self, f.name), "unit": f.metadata["unit"]} for f in fields(self)}
        return yaml.safe_dump({"cuts": body}, sort_keys=False)

    # --- loading -------------------------------------------------------------------------
    @classmethod
    def from_mapping(cls, data: Any, where: str = "cuts") -> Cuts:
        """Build from ``{name: number}`` or ``{name: {value, unit[, source]}}``; missing names
        keep their default.

        Parameters
        ----------
        data : mapping
            The cut values.
        where : str
            Where the mapping comes from, for error messages.

        Returns
        -------
        Cuts
            The validated cuts.

        Raises
        ------
        ConfigError
            An unknown name, a wrong unit or a value out of range (named with ``where``).
        """
        return super().from_mapping(data, where)

    @classmethod
    def from_file(cls, path: str | Path) -> Cuts:
        """Load cuts from a YAML or TOML file with a top-level ``cuts`` table (or the table
        itself).

        Parameters
        ----------
        path : str or path
            The cut file (``.yaml``/``.yml`` or ``.toml``).

        Returns
        -------
        Cuts
            The validated cuts.

        Raises
        ------
        ConfigError
            An unreadable file or invalid cuts (the message names the file and key).
        """
        path = Path(path)
        data = _read_config_file(path)
        if isinstance(data, Mapping) and "cuts" in data:
            data = data["cuts"]
        return cls.from_mapping(data, where=f"{path}: cuts")


@dataclass(frozen=True)
class LfvECuts(TypedConfig):
    """The calorimeter trigger and the selection of the ``lfv_e`` signature (μN → eX in flight).

    μN → eX leaves an electron shower of about E₀ in the ECAL and **no outgoing muon**, so the
    scattered-muon trigger (S4 × S_mu) never fires on it (docs/models/lfv.md). The signal is
    recorded by a calorimeter trigger, ECAL energy ≥ :attr:`trigger_ecal_min` with no S_mu hit
    (the simulation writes the ``lfv_e`` signal sample with it; ``Trigger_scattered`` is False in
    those files), and selected by (:func:`na64tools.selection.lfv_e_masks`):

    ============ ===========================================================================
    trigger      ``Trigger_scattered`` false (no S_mu hit) and E_ECAL ≥ ``trigger_ecal_min``
    beam         one clean MS1 track: ``p_in_min`` < p_in < ``p_in_max``, χ² < ``beam_chi2_max``
    ecal         E_ECAL ≥ ``z_min`` · p_in (the whole beam energy in the ECAL)
    no_track     no track in MS2 (no outgoing muon)
    vetoes       VETO < ``veto_max``, HCAL < ``hcal_max``, VHCAL < ``vhcal_max`` (no muon MIP,
                 no hadronic leakage)
    ============ ===========================================================================

    Every value is an assumption (no lfv_e search has been published by NA64μ); the reasoning
    is in each field's ``doc``. These numbers are not a section of the :class:`Setup`: the
    setup's hash is written into every simulated file (``Runs.setupHash``), so a new setup key
    would change the files of every other model. Build with keyword arguments or
    :meth:`from_mapping`.
    """

    trigger_ecal_min: float = number(
        80.0, "calorimeter trigger: ECAL energy lower bound [GeV]. Assumption: E_0/2 of the "
        "160 GeV beam (docs/models/lfv.md design), far above the ECAL deposit of a muon that "
        "keeps most of its energy (MIP 0.35 GeV, hard losses v < 0.5 give < 80 GeV) and far below "
        "the (1 - x) E_0 ~ E_0 shower of the signal", unit="GeV", lo=0.0)
    p_in_min: float = number(150.0, "incoming muon momentum (MS1), lower bound [GeV]; as the "
                             "missing-momentum selection (assumption there)", unit="GeV", lo=0.0)
    p_in_max: float = number(170.0, "incoming muon momentum (MS1), upper bound [GeV]; as the "
                             "missing-momentum selection", unit="GeV", lo=0.0)
    beam_chi2_max: float = number(3.0, "incoming track chi2/ndf, upper bound; as the "
                                  "missing-momentum selection", unit="1", lo=0.0)
    z_min: float = number(
        0.9, "energy balance: E_ECAL >= z_min p_in. Assumption: 2.6 sigma below E_ECAL/p_in = 1 "
        "for the ECAL (0.10/sqrt(E)) and MS1 (3.8 %) resolutions combined; the muon decays in "
        "flight, mu -> e nu nu, are suppressed only by this cut (Michel: P(z > 0.9) = 1 %)",
        unit="1", lo=0.0, hi=1.5)
    veto_max: float = number(0.015, "VETO energy upper bound [GeV]: no muon MIP (6 MeV) beyond "
                             "noise; as the missing-momentum selection", unit="GeV", lo=0.0)
    hcal_max: float = number(
        1.0, "HCAL energy summed over modules, upper bound [GeV]. Assumption: below the 1.25 GeV "
        "MIP of one HCAL module: no muon and no hadronic leakage", unit="GeV", lo=0.0)
    vhcal_max: float = number(1.0, "VHCAL energy upper bound [GeV] (no activity); as the "
                              "missing-momentum selection", unit="GeV", lo=0.0)

    def __post_init__(self):
        super().__post_init__()
        if not self.p_in_min < self.p_in_max:
            raise ConfigError(f"LfvECuts.p_in_min: value {self.p_in_min!r} must be below "
                              f"p_in_max={self.p_in_max!r}")


def _read_config_file(path: Path) -> Any:
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise ConfigError(f"{path}: cannot read ({err.strerror})") from None
    if path.suffix.lower() == ".toml":
        if sys.version_info >= (3, 11):
            import tomllib
        else:  # pragma: no cover
            import tomli as tomllib
        try:
            return tomllib.loads(raw.decode())
        except Exception as err:
            raise ConfigError(f"{path}: invalid TOML: {err}") from None
    try:
        return yaml.safe_load(raw)
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: invalid YAML: {err}") from None


# --------------------------------------------------------------------------------------------
# The setup description
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class RunInfo(TypedConfig):
    mot: Quantity = param("MOT", "muons on target of the run", lo=0.0, lo_open=True)
    mot_uncertainty: Quantity = param("MOT", "uncertainty of the MOT count", lo=0.0)
    observed_events: Quantity = param("events", "events observed in the signal region", lo=0.0)


@dataclass(frozen=True)
class Beam(TypedConfig):
    energy: Quantity = param("GeV", "nominal beam muon energy", lo=0.0, lo_open=True)
    energy_spread: Quantity = param("1", "relative RMS momentum spread of the beam", lo=0.0, hi=1.0)
    pion_fraction: Quantity = param("1", "pi+ per beam muon arriving at MS1", lo=0.0, hi=1.0)
    kaon_fraction: Quantity = param("1", "K+ per beam muon arriving at MS1", lo=0.0, hi=1.0)
    decay_length: Quantity = param("cm", "length between MS1 and the target in which a hadron decay "
                                   "gives a muon measured as a beam muon", lo=0.0)
    intensity: Quantity = param("1/s", "muon rate during the spill", lo=0.0)
    readout_window: Quantity = param("ns", "time window in which a second beam muon is read out", lo=0.0)
    spot_sigma: Quantity = param("cm", "RMS transverse size of the beam spot", lo=0.0)
    divergence: Quantity = param("rad", "RMS angular spread of the beam (each transverse plane)", lo=0.0)


@dataclass(frozen=True)
class Target(TypedConfig):
    material: str = text("target material name, in na64tools.physics.MATERIALS")
    thickness: Quantity = param("cm", "material-equivalent thickness of the active target (ECAL)",
                                lo=0.0, lo_open=True)
    radiation_lengths: Quantity = param("X0", "depth of the ECAL in radiation lengths", lo=0.0, lo_open=True)
    preshower_depth: Quantity = param("X0", "depth of the ECAL preshower section", lo=0.0)
    pn_leading_power: Quantity = param("1", "photonuclear final state: the leading hadron takes a fraction z "
                                       "of the virtual-photon energy with density (n+1)(1-z)^n; n = this "
                                       "(0: flat leading-particle spectrum)", lo=0.0)
    pn_neutral_fraction: Quantity = param("1", "photonuclear final state: probability that the leading "
                                          "hadron is a long-lived neutral (n, K_L)", lo=0.0, hi=1.0)
    pn_wide_fraction: Quantity = param("1", "fraction of the hadronic energy leaking out of the ECAL that "
                                       "goes at wide angle (into the VHCAL); the rest goes forward (HCAL)",
                                       lo=0.0, hi=1.0)
    pn_charged_per_gev: Quantity = param("1/GeV", "charged hadrons crossing the VETO per GeV of hadronic "
                                         "energy leaking out of the ECAL", lo=0.0)

    @classmethod
    def from_mapping(cls, data: Any, where: str):
        target = super().from_mapping(data, where)
        from .physics.materials import MATERIALS

        if target.material not in MATERIALS:
            raise ConfigError(f"{where}.material: unknown target material {target.material!r} "
                              f"(known: {', '.join(MATERIALS)}; na64tools.physics.MATERIALS)")
        return target


@dataclass(frozen=True)
class Spectrometer(TypedConfig):
    resolution: Quantity = param("1", "Gaussian core sigma_p/p", lo=0.0, hi=1.0)
    tail_fraction: Quantity = param("1", "probability per track of a non-Gaussian mismeasurement "
                                    "(good-quality track)", lo=0.0, hi=1.0)
    tail_scale: Quantity = param("1", "scale s0 of the relative curvature error dk/k of a mismeasured "
                                 "track (see tail_power)", lo=0.0, lo_open=True)
    hits: Quantity = param("hits", "number of tracking planes (hits of a clean track)", lo=1.0)
    plane_efficiency: Quantity = param("1", "probability that a tracking plane records the hit of a track",
                                       lo=0.0, hi=1.0, lo_open=True)
    tail_hit_factor: Quantity = param("1", "factor by which each missing hit multiplies the tail "
                                      "probability (track quality)", lo=1.0)
    tail_power: Quantity = param("1", "power n of the tail: P(|dk/k| > s) = (1 + s/tail_scale)^-n for the "
                                 "relative curvature error dk/k of a mismeasured track", lo=0.0, lo_open=True)
    tail_chi2: Quantity = param("1", "mean extra chi2/ndf of a mismeasured track (exponential)", lo=0.0)
    position_resolution: Quantity = param("cm", "track position resolution", lo=0.0)
    angle_resolution: Quantity = param("rad", "track slope resolution", lo=0.0)
    distance: Quantity = param("cm", "distance along the beam between the ECAL front face and the "
                               "nearest station of the spectrometer", lo=0.0)


@dataclass(frozen=True)
class Calorimeter(TypedConfig):
    mip: Quantity = param("GeV", "most probable visible energy of a MIP muon", lo=0.0)
    mip_width: Quantity = param("GeV", "Landau width parameter of the MIP deposit", lo=0.0)
    stochastic: Quantity = param("GeV^0.5", "stochastic term a of sigma_E/E = a/sqrt(E)", lo=0.0)
    modules: Quantity = param("modules", "number of modules (longitudinal or lateral)", lo=1.0)
    depth: Quantity = param("lambda_int", "depth in nuclear interaction lengths", lo=0.0)
    hadron_response: Quantity = param("1", "visible energy per GeV of hadronic energy (hadron/electron "
                                      "response ratio on the calorimeter's energy scale)", lo=0.0)
    gap: Quantity = param("1", "probability that a forward hadron leaving the ECAL misses this detector "
                          "(gaps, dead zones, central hole)", lo=0.0, hi=1.0)


@dataclass(frozen=True)
class Geometry(TypedConfig):
    """Positions along the beam (z, from the ECAL front face) and transverse sizes of the detectors
    the scattered muon crosses downstream of the target; x is the bending plane of the MS2 magnet
    (a mu+ is deflected towards +x), y the other transverse direction. Used by
    :mod:`na64tools.sim.geometry`."""

    ecal_length: Quantity = param("cm", "physical length of the ECAL (the interaction vertex is taken "
                                  "at its middle)", lo=0.0)
    beam_veto_radius: Quantity = param("cm", "radius of the central hole of the upstream beam veto "
                                       "counter in anti-coincidence in the trigger (incoming "
                                       "particles outside it veto the event)", lo=0.0, lo_open=True)
    veto_z: Quantity = param("cm", "VETO counters (behind the ECAL): position along the beam", lo=0.0)
    veto_half_size: Quantity = param("cm", "VETO counters: half of the transverse size", lo=0.0, lo_open=True)
    vhcal_z: Quantity = param("cm", "VHCAL front face", lo=0.0)
    vhcal_hole_half_size: Quantity = param("cm", "VHCAL: half size of its central hole (the muon crossing "
                                           "the hole deposits nothing)", lo=0.0)
    vhcal_half_size: Quantity = param("cm", "VHCAL: half of the outer transverse size", lo=0.0, lo_open=True)
    ms2_up_stations: Quantity = param("stations", "MS2 tracking stations upstream of the magnet (the "
                                      "first one at ms2.distance)", lo=1.0)
    ms2_up_pitch: Quantity = param("cm", "spacing along z of the upstream MS2 stations", lo=0.0)
    ms2_up_half_x: Quantity = param("cm", "half width (x) of the upstream MS2 stations", lo=0.0, lo_open=True)
    ms2_up_half_y: Quantity = param("cm", "half height (y) of the upstream MS2 stations", lo=0.0, lo_open=True)
    magnet_z: Quantity = param("cm", "centre of the MS2 dipole (thin-kick approximation)", lo=0.0)
    magnet_field_integral: Quantity = param("T m", "field integral of the MS2 dipole", lo=0.0, lo_open=True)
    ms2_down_stations: Quantity = param("stations", "MS2 tracking stations downstream of the magnet", lo=1.0)
    ms2_down_z: Quantity = param("cm", "first MS2 station downstream of the magnet", lo=0.0)
    ms2_down_pitch: Quantity = param("cm", "spacing along z of the downstream MS2 stations", lo=0.0)
    ms2_down_half_x: Quantity = param("cm", "half width (x) of the downstream MS2 stations", lo=0.0, lo_open=True)
    ms2_down_half_y: Quantity = param("cm", "half height (y) of the downstream MS2 stations", lo=0.0, lo_open=True)
    ms2_min_hits: Quantity = param("hits", "fewest MS2 hits of a reconstructed track (fewer: no Track entry)",
                                   lo=1.0)
    ms2_up_station_efficiency: Quantity = param(
        "1", "probability that an upstream MS2 station records hits in an event (else it sees none of "
        "the event's particles)", lo=0.0, hi=1.0, lo_open=True)
    ms2_down_station_efficiency: Quantity = param(
        "1", "probability that a downstream MS2 station records hits in an event", lo=0.0, hi=1.0,
        lo_open=True)
    hcal_z: Quantity = param("cm", "front face of the first HCAL module", lo=0.0)
    hcal_half_size: Quantity = param("cm", "half of the transverse size of the HCAL modules", lo=0.0, lo_open=True)
    s4_z: Quantity = param("cm", "trigger counter S4 (in front of the HCAL): position along the beam", lo=0.0)
    s4_x_min: Quantity = param("cm", "trigger counter S4: inner edge, offset from the beam axis in x")
    s4_x_max: Quantity = param("cm", "trigger counter S4: outer edge in x")
    s4_half_y: Quantity = param("cm", "trigger counter S4: half height", lo=0.0, lo_open=True)
    smu_z: Quantity = param("cm", "trigger counter S_mu (behind the HCAL): position along the beam", lo=0.0)
    smu_x_min: Quantity = param("cm", "trigger counter S_mu: inner edge, offset from the beam axis in x")
    smu_x_max: Quantity = param("cm", "trigger counter S_mu: outer edge in x")
    smu_half_y: Quantity = param("cm", "trigger counter S_mu: half height", lo=0.0, lo_open=True)


@dataclass(frozen=True)
class Signal(TypedConfig):
    """Signal-only corrections of the simulation."""

    efficiency_correction: Quantity = param(
        "1", "probability that a triggered signal event is kept: the detector effects the fast "
        "simulation does not model (set, not measured; applied to signal events only, after the "
        "trigger, and shown as its own efficiency factor)", lo=0.0, hi=1.0, lo_open=True)


@dataclass(frozen=True)
class Trigger(TypedConfig):
    efficiency: Quantity = param("1", "plateau efficiency of the two trigger counters in coincidence "
                                 "(a muon crossing both)", lo=0.0, hi=1.0)


@dataclass(frozen=True)
class PublishedBackground(TypedConfig):
    """One entry of the published background table (events for the run's MOT)."""

    _unit_: ClassVar[str] = "events"

    value: float = number(0.0, "expected background events", unit="events", lo=0.0, required=True)
    uncertainty: float = number(0.0, "its uncertainty", unit="events", lo=0.0)
    upper_limit: bool = field(default=False, metadata={"doc": "the value is an upper limit"})
    source: str = text("the publication", "", required=True)

    def to_dict(self) -> dict[str, Any]:
        d = {"value": self.value, "uncertainty": self.uncertainty, "unit": "events", "source": self.source}
        if self.upper_limit:
            d["upper_limit"] = True
        return d


@dataclass(frozen=True)
class Backgrounds(TypedConfig):
    misreconstruction: PublishedBackground = field(metadata={"doc": "(I) momentum misreconstruction"})
    decays_in_flight: PublishedBackground = field(metadata={"doc": "(II) K, pi -> mu nu in flight"})
    non_hermeticity: PublishedBackground = field(metadata={"doc": "(III) calorimeter non-hermeticity"})
    total: PublishedBackground = field(metadata={"doc": "total (conservative)"})


@dataclass(frozen=True)
class Systematics(TypedConfig):
    """Relative uncertainties of the signal yield that enter the limit (combined in quadrature
    with the MOT uncertainty ``run.mot_uncertainty / run.mot``;
    :func:`na64tools.stats.signal.signal_uncertainty`)."""

    ww_approximation: Quantity = param("1", "relative uncertainty of the signal cross-section from the "
                                       "Weizsaecker-Williams approximation", lo=0.0)
    acceptance_model: Quantity = param("1", "relative uncertainty of the simulated signal efficiency "
                                       "(trigger, MS2 acceptance, selection model)", lo=0.0)


@dataclass(frozen=True)
class Setup(TypedConfig):
    """The NA64μ setup description: beam, target, detectors, trigger, run, published numbers, cuts.

    Load the shipped 2022 description with :func:`default_setup` or any file with :func:`load_setup`.
    Every number is a :class:`Quantity` (a float with ``.unit`` and ``.source``).
    """

    name: str = text("short name of the setup")
    description: str = text("one-line description")
    run: RunInfo = field(metadata={"doc": "the data-taking run"})
    beam: Beam = field(metadata={"doc": "the M2 muon beam"})
    target: Target = field(metadata={"doc": "the active target (ECAL)"})
    ms1: Spectrometer = field(metadata={"doc": "upstream spectrometer (p_in)"})
    ms2: Spectrometer = field(metadata={"doc": "downstream spectrometer (p_out)"})
    ecal: Calorimeter = field(metadata={"doc": "electromagnetic calorimeter = active target"})
    hcal: Calorimeter = field(metadata={"doc": "hadronic calorimeter modules"})
    veto: Calorimeter = field(metadata={"doc": "VETO counters behind the ECAL"})
    vhcal: Calorimeter = field(metadata={"doc": "hadronic veto calorimeter"})
    geometry: Geometry = field(metadata={"doc": "detector positions and sizes (acceptance)"})
    signal: Signal = field(metadata={"doc": "signal-only corrections"})
    trigger: Trigger = field(metadata={"doc": "scattered-muon trigger (counters in geometry)"})
    backgrounds: Backgrounds = field(metadata={"doc": "published background table"})
    cuts: Cuts = field(metadata={"doc": "the published selection"})
    systematics: Systematics = field(metadata={"doc": "signal-yield systematic uncertainties"})
    source_file: str = ""

    @property
    def hash(self) -> str:
        """SHA-256 of the canonical JSON form of the description (independent of YAML formatting)."""
        d = self.to_dict()
        d.pop("source_file", None)
        blob = json.dumps(d, sort_keys=True, separators=(",", ":")).encode()
        return hashlib.sha256(blob).hexdigest()

    def replace(self, **sections: Any) -> Setup:
        """A copy with whole sections replaced, e.g. ``setup.replace(cuts=Cuts(p_out_max=70))``.

        Parameters
        ----------
        **sections
            Sections of the setup (``cuts``, ``beam``, ``run``, ...) and their new values.

        Returns
        -------
        Setup
            The new setup description.
        """
        return dataclasses.replace(self, **sections)

    def to_yaml(self) -> str:
        """The setup description as YAML (without its ``source_file``), readable by
        :func:`load_setup`.

        Returns
        -------
        str
            Every number with its value, unit and source.
        """
        d = self.to_dict()
        d.pop("source_file", None)
        return yaml.safe_dump(d, sort_keys=False)


def setup_path(name: str = "na64mu_2022") -> Path:
    """Path of a setup YAML shipped in ``na64tools/data/setups``.

    Parameters
    ----------
    name : str
        The file name without ``.yaml``.

    Returns
    -------
    Path
        The file.

    Raises
    ------
    ConfigError
        No shipped setup of that name (the available ones are listed).
    """
    p = resources.files("na64tools") / "data" / "setups" / f"{name}.yaml"
    if not p.is_file():
        shipped = sorted(q.name[:-5] for q in (resources.files("na64tools") / "data" / "setups").iterdir()
                         if q.name.endswith(".yaml"))
        raise ConfigError(f"no shipped setup named {name!r} (available: {', '.join(shipped)})")
    return Path(str(p))


def load_setup(path: str | Path) -> Setup:
    """Load and validate a setup description from a YAML file.

    Parameters
    ----------
    path : str or path
        The setup YAML file.

    Returns
    -------
    Setup
        The validated setup (its ``source_file`` set to ``path``).

    Raises
    ------
    ConfigError
        An unreadable or invalid file (the message names the file and key).
    """
    path = Path(path)
    data = _read_config_file(path)
    if not isinstance(data, Mapping):
        raise ConfigError(f"{path}: expected a mapping at top level, got {type(data).__name__}")
    try:
        setup = Setup.from_mapping({k: v for k, v in data.items() if k != "source_file"}, where="setup")
    except ConfigError as err:
        raise ConfigError(f"{path}: {err}") from None
    return dataclasses.replace(setup, source_file=str(path))


_DEFAULT: dict[str, Setup] = {}


def default_setup(name: str = "na64mu_2022") -> Setup:
    """The shipped setup description (cached).

    Parameters
    ----------
    name : str
        A setup shipped in ``na64tools/data/setups`` (default: the 2022 NA64μ run).

    Returns
    -------
    Setup
        The setup description (the same object on each call).
    """
    if name not in _DEFAULT:
        _DEFAULT[name] = load_setup(setup_path(name))
    return _DEFAULT[name]
