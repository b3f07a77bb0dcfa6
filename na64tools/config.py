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
        value = float(self)
        if value.is_integer() and abs(value) < 2**53:
            value = int(value) if self.unit in ("1", "events", "modules") and abs(value) < 1e6 else value
        return {"value": value, "unit": self.unit, "source": self.source}


def param(unit: str, doc: str, *, lo: float | None = None, hi: float | None = None,
          lo_open: bool = False, hi_open: bool = False):
    """Declare a setup parameter: a :class:`Quantity` with its expected unit and allowed range."""
    return field(metadata={"unit": unit, "doc": doc, "lo": lo, "hi": hi,
                           "lo_open": lo_open, "hi_open": hi_open})


def text(doc: str):
    """Declare a string setup entry."""
    return field(metadata={"unit": None, "doc": doc})


def _check_range(where: str, value: float, meta: Mapping[str, Any]) -> None:
    if not math.isfinite(value):
        raise ConfigError(f"{where}: value {value!r} is not a finite number")
    lo, hi = meta.get("lo"), meta.get("hi")
    if lo is not None and (value < lo or (meta.get("lo_open") and value == lo)):
        op = ">" if meta.get("lo_open") else ">="
        raise ConfigError(f"{where}: value {value!r} is out of range, expected {op} {lo}")
    if hi is not None and (value > hi or (meta.get("hi_open") and value == hi)):
        op = "<" if meta.get("hi_open") else "<="
        raise ConfigError(f"{where}: value {value!r} is out of range, expected {op} {hi}")


class _Section:
    """Base of the setup sections: built from a mapping with full validation."""

    _doc_: ClassVar[str] = ""

    @classmethod
    def from_mapping(cls, data: Any, where: str):
        if not isinstance(data, Mapping):
            raise ConfigError(f"{where}: expected a mapping, got {type(data).__name__} {data!r}")
        hints = get_type_hints(cls)
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise ConfigError(
                f"{where}: unknown key {unknown[0]!r} (expected one of: {', '.join(known)})"
            )
        kwargs = {}
        for name, f in known.items():
            key = f"{where}.{name}"
            if name not in data:
                if f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING:
                    continue
                raise ConfigError(f"{key}: missing required key")
            value = data[name]
            typ = hints[name]
            if isinstance(typ, type) and issubclass(typ, _Section):
                kwargs[name] = typ.from_mapping(value, key)
            elif typ is Quantity:
                kwargs[name] = _quantity(value, key, f.metadata)
            elif typ is str:
                if not isinstance(value, str):
                    raise ConfigError(f"{key}: expected a string, got {value!r}")
                kwargs[name] = value
            elif typ is Cuts:
                kwargs[name] = Cuts.from_mapping(value, where=key)
            elif typ is PublishedBackground:
                kwargs[name] = PublishedBackground.from_mapping(value, key)
            else:  # pragma: no cover - programming error
                raise TypeError(f"unsupported field type {typ} for {key}")
        return cls(**kwargs)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in fields(self):
            v = getattr(self, f.name)
            out[f.name] = v.to_dict() if hasattr(v, "to_dict") else v
        return out


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
    v = value["value"]
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ConfigError(f"{where}: value {v!r} is not a number")
    unit = str(value["unit"])
    if unit != meta["unit"]:
        raise ConfigError(f"{where}: unit {unit!r} for value {v!r}, expected {meta['unit']!r}")
    _check_range(where, float(v), meta)
    return Quantity(float(v), unit, str(value["source"]))


# --------------------------------------------------------------------------------------------
# The selection
# --------------------------------------------------------------------------------------------

def cut(default: float, unit: str, doc: str, source: str = "assumption", *,
        lo: float | None = None, hi: float | None = None):
    return field(default=default, metadata={"unit": unit, "doc": doc, "source": source,
                                            "lo": lo, "hi": hi})


@dataclass(frozen=True)
class Cuts:
    """The NA64μ missing-momentum selection; defaults are the published 2022 selection.

    Published (PRL 132 (2024) 211803; L. Molina Bueno, CPAN days 2024): one scattered muon with
    p_out < 80 GeV, MIP-like energy in ECAL and HCAL, no activity in VETO and VHCAL, a
    well-defined incoming muon of ≈160 GeV. Numerical thresholds other than p_out are not published and are documented
    assumptions.

    Every threshold is a field with a unit (``Cuts.unit(name)``); build with keyword arguments,
    :meth:`replace`, or from YAML/TOML with :meth:`from_file`.
    """

    p_in_min: float = cut(150.0, "GeV", "incoming muon momentum (MS1), lower bound",
                          "assumption: 160 GeV beam, PRL 132 (2024) 211803", lo=0.0)
    p_in_max: float = cut(170.0, "GeV", "incoming muon momentum (MS1), upper bound",
                          "assumption: 160 GeV beam, PRL 132 (2024) 211803", lo=0.0)
    beam_chi2_max: float = cut(3.0, "1", "incoming track chi2/ndf, upper bound", lo=0.0)
    n_tracks_max: float = cut(1.0, "tracks", "number of downstream tracks, upper bound (single track)",
                              "PRL 132 (2024) 211803: one scattered muon", lo=1.0)
    track_chi2_max: float = cut(3.0, "1", "downstream track chi2/ndf, upper bound", lo=0.0)
    track_hits_min: float = cut(8.0, "hits", "downstream track hits, lower bound", lo=0.0)
    p_out_max: float = cut(80.0, "GeV", "scattered muon momentum (MS2), upper bound",
                           "PRL 132 (2024) 211803", lo=0.0)
    ecal_min: float = cut(0.0, "GeV", "ECAL energy, lower bound (MIP window)", lo=0.0)
    ecal_max: float = cut(1.0, "GeV", "ECAL energy, upper bound (MIP window)",
                          "assumption: MIP compatible, PRL 132 (2024) 211803", lo=0.0)
    hcal_max: float = cut(4.0, "GeV", "HCAL energy summed over modules, upper bound (MIP window)",
                          "assumption: MIP compatible, PRL 132 (2024) 211803", lo=0.0)
    veto_max: float = cut(0.015, "GeV", "VETO energy, upper bound (no activity beyond the muon MIP)",
                          "assumption: no VETO activity, PRL 132 (2024) 211803", lo=0.0)
    vhcal_max: float = cut(1.0, "GeV", "VHCAL energy, upper bound (no activity)",
                           "assumption: no VHCAL activity, PRL 132 (2024) 211803", lo=0.0)

    def __post_init__(self):
        for f in fields(self):
            v = getattr(self, f.name)
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise ConfigError(f"Cuts.{f.name}: value {v!r} is not a number")
            _check_range(f"Cuts.{f.name}", float(v), f.metadata)
            object.__setattr__(self, f.name, float(v))
        if self.p_in_min >= self.p_in_max:
            raise ConfigError(f"Cuts.p_in_min: value {self.p_in_min!r} must be below p_in_max={self.p_in_max!r}")
        if self.ecal_min >= self.ecal_max:
            raise ConfigError(f"Cuts.ecal_min: value {self.ecal_min!r} must be below ecal_max={self.ecal_max!r}")

    # --- introspection -------------------------------------------------------------------
    @classmethod
    def names(cls) -> list[str]:
        return [f.name for f in fields(cls)]

    @classmethod
    def unit(cls, name: str) -> str:
        return cls._field(name).metadata["unit"]

    @classmethod
    def doc(cls, name: str) -> str:
        return cls._field(name).metadata["doc"]

    @classmethod
    def source(cls, name: str) -> str:
        return cls._field(name).metadata["source"]

    @classmethod
    def _field(cls, name: str):
        for f in fields(cls):
            if f.name == name:
                return f
        raise ConfigError(f"unknown cut {name!r} (expected one of: {', '.join(cls.names())})")

    def replace(self, **changes: float) -> Cuts:
        for name in changes:
            self._field(name)
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, float]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def to_yaml(self) -> str:
        body = {f.name: {"value": getattr(self, f.name), "unit": f.metadata["unit"]} for f in fields(self)}
        return yaml.safe_dump({"cuts": body}, sort_keys=False)

    # --- loading -------------------------------------------------------------------------
    @classmethod
    def from_mapping(cls, data: Any, where: str = "cuts") -> Cuts:
        """Build from ``{name: number}`` or ``{name: {value, unit[, source]}}``; missing names keep their default."""
        if not isinstance(data, Mapping):
            raise ConfigError(f"{where}: expected a mapping of cut names, got {data!r}")
        kwargs = {}
        for name, value in data.items():
            key = f"{where}.{name}"
            try:
                f = cls._field(name)
            except ConfigError:
                raise ConfigError(f"{key}: unknown cut {name!r} (expected one of: {', '.join(cls.names())})") from None
            if isinstance(value, Mapping):
                extra = sorted(set(value) - {"value", "unit", "source"})
                if extra:
                    raise ConfigError(f"{key}: unknown key {extra[0]!r} (expected value, unit, source)")
                if "value" not in value:
                    raise ConfigError(f"{key}: missing 'value'")
                if "unit" in value and str(value["unit"]) != f.metadata["unit"]:
                    raise ConfigError(f"{key}: unit {value['unit']!r}, expected {f.metadata['unit']!r}")
                value = value["value"]
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ConfigError(f"{key}: value {value!r} is not a number")
            kwargs[name] = value
        try:
            return cls(**kwargs)
        except ConfigError as err:
            raise ConfigError(f"{where}: {err}") from None

    @classmethod
    def from_file(cls, path: str | Path) -> Cuts:
        """Load cuts from a YAML or TOML file with a top-level ``cuts`` table (or the table itself)."""
        path = Path(path)
        data = _read_config_file(path)
        if isinstance(data, Mapping) and "cuts" in data:
            data = data["cuts"]
        try:
            return cls.from_mapping(data, where=f"{path}: cuts")
        except ConfigError:
            raise


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
class RunInfo(_Section):
    mot: Quantity = param("MOT", "muons on target of the run", lo=0.0, lo_open=True)
    mot_uncertainty: Quantity = param("MOT", "uncertainty of the MOT count", lo=0.0)
    observed_events: Quantity = param("events", "events observed in the signal region", lo=0.0)


@dataclass(frozen=True)
class Beam(_Section):
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
class Target(_Section):
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
class Spectrometer(_Section):
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
class Calorimeter(_Section):
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
class Geometry(_Section):
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
class Signal(_Section):
    """Signal-only corrections of the simulation."""

    efficiency_correction: Quantity = param(
        "1", "probability that a triggered signal event is kept: the detector effects the fast "
        "simulation does not model (set, not measured; applied to signal events only, after the "
        "trigger, and shown as its own efficiency factor)", lo=0.0, hi=1.0, lo_open=True)


@dataclass(frozen=True)
class Trigger(_Section):
    efficiency: Quantity = param("1", "plateau efficiency of the two trigger counters in coincidence "
                                 "(a muon crossing both)", lo=0.0, hi=1.0)


@dataclass(frozen=True)
class PublishedBackground(_Section):
    """One entry of the published background table (events for the run's MOT)."""

    value: float = 0.0
    uncertainty: float = 0.0
    upper_limit: bool = False
    source: str = ""

    @classmethod
    def from_mapping(cls, data: Any, where: str):
        if not isinstance(data, Mapping):
            raise ConfigError(f"{where}: expected a mapping, got {data!r}")
        allowed = {"value", "uncertainty", "upper_limit", "unit", "source"}
        extra = sorted(set(data) - allowed)
        if extra:
            raise ConfigError(f"{where}: unknown key {extra[0]!r} (expected one of: {', '.join(sorted(allowed))})")
        if data.get("unit") != "events":
            raise ConfigError(f"{where}: unit {data.get('unit')!r}, expected 'events'")
        if not str(data.get("source", "")).strip():
            raise ConfigError(f"{where}: missing source")
        value = data.get("value")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise ConfigError(f"{where}.value: value {value!r} must be a non-negative number")
        unc = data.get("uncertainty", 0.0)
        if isinstance(unc, bool) or not isinstance(unc, (int, float)) or unc < 0:
            raise ConfigError(f"{where}.uncertainty: value {unc!r} must be a non-negative number")
        return cls(float(value), float(unc), bool(data.get("upper_limit", False)), str(data["source"]))

    def to_dict(self) -> dict[str, Any]:
        d = {"value": self.value, "uncertainty": self.uncertainty, "unit": "events", "source": self.source}
        if self.upper_limit:
            d["upper_limit"] = True
        return d


@dataclass(frozen=True)
class Backgrounds(_Section):
    misreconstruction: PublishedBackground = field(metadata={"doc": "(I) momentum misreconstruction"})
    decays_in_flight: PublishedBackground = field(metadata={"doc": "(II) K, pi -> mu nu in flight"})
    non_hermeticity: PublishedBackground = field(metadata={"doc": "(III) calorimeter non-hermeticity"})
    total: PublishedBackground = field(metadata={"doc": "total (conservative)"})


@dataclass(frozen=True)
class Systematics(_Section):
    """Relative uncertainties of the signal yield that enter the limit (combined in quadrature
    with the MOT uncertainty ``run.mot_uncertainty / run.mot``;
    :func:`na64tools.stats.signal.signal_uncertainty`)."""

    ww_approximation: Quantity = param("1", "relative uncertainty of the signal cross-section from the "
                                       "Weizsaecker-Williams approximation", lo=0.0)
    acceptance_model: Quantity = param("1", "relative uncertainty of the simulated signal efficiency "
                                       "(trigger, MS2 acceptance, selection model)", lo=0.0)


@dataclass(frozen=True)
class Setup(_Section):
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
        """A copy with whole sections replaced, e.g. ``setup.replace(cuts=Cuts(p_out_max=70))``."""
        return dataclasses.replace(self, **sections)

    def to_yaml(self) -> str:
        d = self.to_dict()
        d.pop("source_file", None)
        return yaml.safe_dump(d, sort_keys=False)


def setup_path(name: str = "na64mu_2022") -> Path:
    """Path of a setup YAML shipped in ``na64tools/data/setups``."""
    p = resources.files("na64tools") / "data" / "setups" / f"{name}.yaml"
    if not p.is_file():
        shipped = sorted(q.name[:-5] for q in (resources.files("na64tools") / "data" / "setups").iterdir()
                         if q.name.endswith(".yaml"))
        raise ConfigError(f"no shipped setup named {name!r} (available: {', '.join(shipped)})")
    return Path(str(p))


def load_setup(path: str | Path) -> Setup:
    """Load and validate a setup description from a YAML file."""
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
    """The shipped setup description (cached)."""
    if name not in _DEFAULT:
        _DEFAULT[name] = load_setup(setup_path(name))
    return _DEFAULT[name]
