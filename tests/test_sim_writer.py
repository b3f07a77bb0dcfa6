"""na64tools.sim: the written files follow docs/ntuple_format.md exactly; Runs accounting;
no half-written file is ever left behind; clear errors for unwritable outputs."""

import re
from pathlib import Path

import numpy as np
import pytest
import uproot

from na64tools.config import default_setup
from na64tools.sim import generate, make_plan, simulate
from na64tools.sim import writer as writer_mod

DOC = Path(__file__).resolve().parents[1] / "docs" / "ntuple_format.md"

#: ROOT type names that uproot reports for the types of the format table
ROOT_TYPES = {"int32": "int32_t", "int64": "int64_t", "float32": "float", "float64": "double",
              "bool": "bool", "string": "string"}


def format_table(tree: str) -> dict[str, str]:
    """{branch: type} of one tree in docs/ntuple_format.md (``float32[nTrack]`` -> ``float32[]``)."""
    text = DOC.read_text()
    section = text.split(f"## `{tree}`")[1].split("\n## ")[0]
    out = {}
    for line in section.splitlines():
        m = re.match(r"\|\s*(`[^|]+`)\s*\|\s*([\w\[\]]+)\s*\|", line)
        if not m:
            continue
        typ = re.sub(r"\[\w+\]", "[]", m.group(2))
        for name in re.findall(r"`(\w+)`", m.group(1)):
            out[name] = typ
    return out


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    out = tmp_path_factory.mktemp("w")
    bkg = simulate("background", events=30000, seed=5, out=out / "bkg", files=2)
    sig = simulate("signal", mass=0.2, coupling=3e-4, events=3000, seed=6, out=out / "sig")
    return bkg, sig


def test_events_branches_and_types_are_the_format(files):
    expected = format_table("Events")
    assert len(expected) >= 40
    for path in [*files[0], *files[1]]:
        tree = uproot.open(path)["Events"]
        got = tree.typenames()
        assert set(got) == set(expected)
        for name, typ in expected.items():
            jagged = typ.endswith("[]")
            base = ROOT_TYPES[typ.rstrip("[]")]
            assert got[name] == base + ("[]" if jagged else ""), name
        assert tree.classname == "TTree"


def test_runs_branches_and_types_are_the_format(files):
    expected = format_table("Runs")
    for path in files[0]:
        runs = uproot.open(path)["Runs"]
        got = runs.typenames()
        assert set(got) == set(expected)
        for name, typ in expected.items():
            if typ == "string":
                assert got[name] in ("char*", "TString", "string", "std::string"), name
            else:
                assert got[name] == ROOT_TYPES[typ], name


def test_runs_accounting(files):
    bkg, sig = files
    setup = default_setup()
    runs = [uproot.open(p)["Runs"].arrays(library="np") for p in bkg]
    ev = [uproot.open(p)["Events"].arrays(["genWeight", "run", "event"], library="np") for p in bkg]
    assert sum(r["mot"][0] for r in runs) == pytest.approx(float(setup.run.mot), rel=1e-12)
    assert sum(r["nGenerated"][0] for r in runs) == 30000
    for r, e in zip(runs, ev, strict=True):
        assert r["nWritten"][0] == e["genWeight"].size
        assert r["sumw"][0] == pytest.approx(e["genWeight"].sum(), rel=1e-12)
        assert r["sumw2"][0] == pytest.approx((e["genWeight"] ** 2).sum(), rel=1e-12)
        assert np.all(e["run"] == r["run"][0])
        assert r["setupHash"][0] == setup.hash and r["setup"][0] == setup.name
        assert r["sample"][0] == "background" and r["seed"][0] == 5
        assert r["generator"][0].startswith("na64tools ")
        assert e["event"].min() >= r["firstEvent"][0]
    # genEventSumw: the generated weights of the file's events
    plan = make_plan("background", events=30000, seed=5)
    total = sum(r["genEventSumw"][0] for r in runs)
    assert total == pytest.approx(plan.mot, rel=1e-12)
    s = uproot.open(sig[0])["Runs"].arrays(library="np")
    assert s["sample"][0] == "signal" and s["model"][0] == "vector"
    assert s["mass"][0] == 0.2 and s["coupling"][0] == 3e-4 and s["xMin"][0] == 0.0
    assert s["nGenerated"][0] == 3000
    assert s["genEventSumw"][0] == pytest.approx(3000.0, rel=1e-12)  # weight 1 per generated event
    assert s["mot"][0] == pytest.approx(3000.0 / (s["sigma"][0] * 1e-36 * s["brInvisible"][0]
                                                  * 3.299e22 * 22.5), rel=2e-3)


def test_written_events_equal_generated_triggered_events(files):
    bkg, _ = files
    ours = generate("background", events=30000, seed=5, triggered_only=True)
    got = np.concatenate([uproot.open(p)["Events"]["ECAL_energy"].array(library="np") for p in bkg])
    assert np.array_equal(got, ours["ECAL_energy"])
    assert np.all(ours["Trigger_scattered"])


def test_files_are_read_by_the_schema(files):
    schema = pytest.importorskip("na64tools.schema")
    from coffea.nanoevents import NanoEventsFactory

    events = NanoEventsFactory.from_root({str(files[1][0]): "Events"}, schemaclass=schema.NA64Schema,
                                         mode="eager").events()
    assert len(events) > 0
    assert np.all(np.asarray(events.Trigger.scattered))


def test_failure_leaves_no_file(tmp_path):
    plan = make_plan("background", events=5000, seed=1)
    from na64tools.sim.generator import events_range
    from na64tools.sim.parallel import runs_entry

    def chunks():
        yield events_range(plan, 0, 2000)
        raise RuntimeError("worker died")

    target = tmp_path / "x.root"
    with pytest.raises(RuntimeError, match="worker died"):
        writer_mod.write_file(target, chunks(), runs_entry(plan, 0, 1))
    assert list(tmp_path.iterdir()) == []


def test_unwritable_output_is_a_clear_error(tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    with pytest.raises(ValueError, match=r"output directory '.*a_file/sub' cannot be created"):
        simulate("background", events=1000, out=blocker / "sub")
    with pytest.raises(ValueError, match=r"output directory '.*a_file' is not a directory"):
        simulate("background", events=1000, out=blocker)
    assert blocker.read_text() == ""


def test_bad_files_argument(tmp_path):
    with pytest.raises(ValueError, match=r"files: value 0 must be a positive integer"):
        simulate("background", events=1000, out=tmp_path, files=0)
    with pytest.raises(ValueError, match=r"files: value 5000 exceeds the number of generated events 1000"):
        simulate("background", events=1000, out=tmp_path, files=5000)
    assert list(tmp_path.iterdir()) == []
