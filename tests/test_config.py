"""The setup description and the cuts: loading, validation, units and sources."""

import pickle

import pytest
import yaml

from na64tools.config import (
    ConfigError,
    Cuts,
    Quantity,
    Setup,
    default_setup,
    load_setup,
    setup_path,
)


@pytest.fixture
def setup_dict():
    return yaml.safe_load(setup_path().read_text())


def write(tmp_path, data, name="setup.yaml"):
    p = tmp_path / name
    p.write_text(yaml.safe_dump(data))
    return p


def test_default_setup_has_published_numbers():
    s = default_setup()
    assert isinstance(s, Setup)
    assert s.run.mot == 1.98e10 and s.run.mot.unit == "MOT"
    assert s.beam.energy == 160.0 and s.beam.energy.unit == "GeV"
    assert s.target.material == "Pb"
    assert s.target.thickness.unit == "cm"
    assert s.cuts.p_out_max == 80.0
    assert s.backgrounds.misreconstruction.value == 0.05
    assert s.backgrounds.misreconstruction.uncertainty == 0.03
    assert s.backgrounds.decays_in_flight.value == 0.010
    assert s.backgrounds.non_hermeticity.upper_limit
    assert s.backgrounds.total.value == 0.07


def test_every_number_has_unit_and_source():
    def walk(obj, path):
        if isinstance(obj, Quantity):
            assert obj.unit, path
            assert obj.source.strip(), path
            yield path
        elif hasattr(obj, "__dataclass_fields__") and not isinstance(obj, Cuts):
            for name in obj.__dataclass_fields__:
                yield from walk(getattr(obj, name), f"{path}.{name}")

    paths = list(walk(default_setup(), "setup"))
    assert len(paths) > 30


def test_shipped_cuts_equal_cuts_defaults():
    assert default_setup().cuts == Cuts()


def test_round_trip_yaml_and_hash(tmp_path):
    s = default_setup()
    p = tmp_path / "copy.yaml"
    p.write_text(s.to_yaml())
    s2 = load_setup(p)
    assert s2.hash == s.hash
    assert s2.to_dict() | {"source_file": ""} == s.to_dict() | {"source_file": ""}


def test_hash_changes_with_content(tmp_path, setup_dict):
    setup_dict["beam"]["energy"]["value"] = 150.0
    assert load_setup(write(tmp_path, setup_dict)).hash != default_setup().hash


def test_quantity_pickles_and_behaves_as_float():
    q = default_setup().beam.energy
    q2 = pickle.loads(pickle.dumps(q))
    assert q2 == 160.0 and q2.unit == "GeV" and q2.source == q.source
    assert q * 2 == 320.0
    s = pickle.loads(pickle.dumps(default_setup()))
    assert s.hash == default_setup().hash


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d["beam"].update(energyy=d["beam"]["energy"]), r"setup\.beam: unknown key 'energyy'"),
        (lambda d: d["target"]["thickness"].update(value=-1.0), r"setup\.target\.thickness: value -1\.0 is out of range"),
        (lambda d: d["target"]["thickness"].pop("unit"), r"setup\.target\.thickness: missing unit for value 22\.5"),
        (lambda d: d["target"]["thickness"].update(unit="mm"), r"setup\.target\.thickness: unit 'mm' for value 22\.5, expected 'cm'"),
        (lambda d: d["beam"]["energy"].pop("source"), r"setup\.beam\.energy: missing source"),
        (lambda d: d["beam"].pop("energy"), r"setup\.beam\.energy: missing required key"),
        (lambda d: d["beam"].update(energy=160.0), r"setup\.beam\.energy: expected a mapping .* got 160\.0"),
        (lambda d: d["beam"]["energy"].update(value="high"), r"setup\.beam\.energy: value 'high' is not a number"),
        (lambda d: d["ms2"]["resolution"].update(value=float("nan")), r"setup\.ms2\.resolution: value nan is not a finite number"),
        (lambda d: d["cuts"].update(p_out_maxx=80), r"setup\.cuts\.p_out_maxx: unknown cut"),
        (lambda d: d["cuts"]["p_out_max"].update(value=-5), r"Cuts\.p_out_max: value -5\.0 is out of range"),
        (lambda d: d["backgrounds"]["total"].update(unit="MOT"), r"setup\.backgrounds\.total: unit 'MOT', expected 'events'"),
    ],
)
def test_invalid_setup_names_key_and_value(tmp_path, setup_dict, mutate, message):
    mutate(setup_dict)
    path = write(tmp_path, setup_dict)
    with pytest.raises(ConfigError, match=message) as err:
        load_setup(path)
    assert str(path) in str(err.value)


def test_unreadable_and_malformed_files(tmp_path):
    with pytest.raises(ConfigError, match="cannot read"):
        load_setup(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("beam: [unclosed\n")
    with pytest.raises(ConfigError, match="invalid YAML"):
        load_setup(bad)
    with pytest.raises(ConfigError, match="no shipped setup named 'nope'"):
        setup_path("nope")


def test_cuts_units_and_replace():
    c = Cuts()
    assert Cuts.unit("p_out_max") == "GeV"
    assert "PRL 132" in Cuts.source("p_out_max")
    c2 = c.replace(p_out_max=70.0)
    assert c2.p_out_max == 70.0 and c.p_out_max == 80.0
    with pytest.raises(ConfigError, match="unknown cut 'pout'"):
        c.replace(pout=70.0)
    with pytest.raises(ConfigError, match=r"Cuts\.ecal_max: value -1\.0 is out of range"):
        Cuts(ecal_max=-1.0)
    with pytest.raises(ConfigError, match="p_in_min: value 180.0 must be below p_in_max"):
        Cuts(p_in_min=180.0)
    with pytest.raises(ConfigError, match="is not a number"):
        Cuts(p_out_max="80")


def test_cuts_from_yaml_and_toml(tmp_path):
    c = Cuts(p_out_max=70.0, veto_max=0.02)
    y = tmp_path / "cuts.yaml"
    y.write_text(c.to_yaml())
    assert Cuts.from_file(y) == c
    t = tmp_path / "cuts.toml"
    t.write_text('[cuts]\np_out_max = 70.0\nveto_max = {value = 0.02, unit = "GeV"}\n')
    assert Cuts.from_file(t) == c
    t.write_text('[cuts]\np_out_max = {value = 70.0, unit = "MeV"}\n')
    with pytest.raises(ConfigError, match=r"cuts\.toml: cuts\.p_out_max: unit 'MeV', expected 'GeV'"):
        Cuts.from_file(t)
    t.write_text("[cuts]\np_out_max = 'low'\n")
    with pytest.raises(ConfigError, match=r"cuts\.p_out_max: value 'low' is not a number"):
        Cuts.from_file(t)


def test_json_schema_from_the_same_declarations_accepts_the_setup_and_refuses_bad_values():
    """The JSON Schema for editors is generated from the field declarations the validator uses:
    the shipped setup passes both; a value out of range or a missing source fails both."""
    jsonschema = pytest.importorskip("jsonschema")
    import copy

    import yaml

    from na64tools.config import Setup, setup_path

    schema = Setup.json_schema()
    data = yaml.safe_load(setup_path().read_text())
    jsonschema.validate(data, schema)
    assert schema["properties"]["beam"]["properties"]["energy"]["properties"]["unit"] == {"const": "GeV"}
    assert schema["properties"]["cuts"]["properties"]["p_out_max"]["anyOf"][0] == {"type": "number",
                                                                                     "minimum": 0.0}
    for change in (lambda d: d["target"]["thickness"].update(value=-1.0),
                   lambda d: d["beam"]["energy"].pop("source"),
                   lambda d: d["cuts"].update(p_out_maxx=80),
                   lambda d: d["backgrounds"]["total"].update(unit="MOT")):
        bad = copy.deepcopy(data)
        change(bad)
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(bad, schema)
        with pytest.raises(ConfigError):
            Setup.from_mapping(bad, "setup")
