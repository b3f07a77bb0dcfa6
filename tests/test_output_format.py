"""The safe output format (.root + .json): exact round trip, and no pickle without consent."""

from __future__ import annotations

import json
import pickle
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
import ntuple_factory as nf  # noqa: E402

import na64tools  # noqa: E402
import na64tools.runner as na64run  # noqa: E402
from na64tools.output import OutputFormatError, load_output, save_output  # noqa: E402


def assert_same_output(a, b):
    """Every key of the output equal; histograms, cutflow sums and table columns bit for bit."""
    assert set(a) - {"accumulator"} == set(b)
    assert a["hists"].keys() == b["hists"].keys()
    for name, h in a["hists"].items():
        g = b["hists"][name]
        assert h.axes == g.axes, name
        assert [ax.label for ax in h.axes] == [ax.label for ax in g.axes], name
        assert h.values(flow=True).tobytes() == g.values(flow=True).tobytes(), name
        assert h.variances(flow=True).tobytes() == g.variances(flow=True).tobytes(), name
    for key in ("cutflow", "cutflow_by_process"):
        assert a[key] == b[key]
    for ds, flow in a["cutflow"].items():
        for st, row in flow.items():
            other = b["cutflow"][ds][st]
            assert (row.events, row.sumw, row.sumw2, row.per_mot) == \
                (other.events, other.sumw, other.sumw2, other.per_mot)
            assert type(other).__name__ == "CutflowRow"
    for key in ("mot", "files", "skipped", "cuts", "preselection", "complete", "run", "version",
                "n_chunks"):
        assert a[key] == b[key], key
    ta, tb = a["table"], b["table"]
    if ta is None:
        assert tb is None
        return
    assert (ta.datasets, ta.samples, ta.files, ta.preselection) == \
        (tb.datasets, tb.samples, tb.files, tb.preselection)
    assert list(ta.columns) == list(tb.columns)
    for c, col in ta.columns.items():
        assert col.dtype == tb.columns[c].dtype, c
        assert col.tobytes() == tb.columns[c].tobytes(), c


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    d = tmp_path_factory.mktemp("outfmt")
    nf.write_ntuple(d / "bkg_a.root", 900, seed=41, basket=200)
    nf.write_ntuple(d / "bkg_b.root", 500, seed=42)
    nf.write_ntuple(d / "sig.root", 400, seed=43, sample="signal", model="vector", mass=0.1,
                    coupling=1e-4)
    nf.write_ntuple(d / "bad.root", 300, seed=44)
    nf.truncate(d / "bad.root")
    return d


def test_round_trip_with_skipped_file_and_accumulator(tmp_path, data):
    fileset = {"background": [str(data / "bkg_a.root"), str(data / "bkg_b.root"),
                              str(data / "bad.root")],
               "signal_vector_m0.1": [str(data / "sig.root")]}
    out = na64run.run(fileset, executor="iterative", progress=False, skip_bad_files=True,
                      accumulator=True)
    assert len(out["skipped"]) == 1 and out["complete"] is False
    index, root = save_output(out, tmp_path / "o")
    assert (index.name, root.name) == ("o.json", "o.root")
    assert not (tmp_path / "o.coffea").exists()
    assert save_output(out, tmp_path / "o.v2")[0].name == "o.v2.json"  # a dot in the stem
    for path in (index, root, tmp_path / "o"):  # any of the names
        back = na64tools.load_output(path)
        assert_same_output(out, back)
    # the exact accumulator is not kept: merging says so
    assert "accumulator" not in back
    with pytest.raises(ValueError, match="no exact accumulator"):
        na64run.merge_outputs([back])
    # the index is plain JSON (no code), with the format named
    meta = json.loads(index.read_text())
    assert (meta["format"], meta["format_version"]) == ("na64tools-output", 1)
    assert meta["cutflow"]["signal_vector_m0.1"]["all"][0] == 400


def test_round_trip_without_table_and_with_empty_table(tmp_path, data):
    from na64tools.processor import CutTable, MissingMomentumProcessor

    fileset = {"background": [str(data / "bkg_b.root")]}
    out = na64run.run(fileset, MissingMomentumProcessor(table=False), executor="iterative",
                      progress=False)
    save_output(out, tmp_path / "notable")
    assert_same_output(out, load_output(tmp_path / "notable.json"))
    out = na64run.run(fileset, executor="iterative", progress=False)
    t = out["table"]
    out["table"] = CutTable({k: v[:0] for k, v in t.columns.items()}, t.datasets, t.samples,
                            t.files, t.preselection)
    save_output(out, tmp_path / "empty")
    assert_same_output(out, load_output(tmp_path / "empty.root"))


def test_analysis_identical_from_saved_output(tmp_path, small_output):
    from na64tools.analysis import Analysis

    save_output(small_output, tmp_path / "small")
    back = load_output(tmp_path / "small.json")
    assert_same_output(small_output, back)
    a = Analysis(small_output).evaluate().summary()
    b = Analysis(back).evaluate().summary()
    assert json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)
    assert a["efficiency"] and a["background_total"]["value"] > 0


class _Payload:
    """Unpickling this creates a file: what a malicious .coffea could do instead."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (Path.touch, (Path(self.marker),))


def test_pickle_needs_consent(tmp_path, data):
    import lz4.frame

    marker = tmp_path / "code_was_executed"
    evil = tmp_path / "evil.coffea"
    with lz4.frame.open(evil, "wb") as f:  # the coffea util.save format
        pickle.dump({"x": _Payload(marker)}, f)
    with pytest.raises(OutputFormatError) as err:
        load_output(evil)
    msg = str(err.value)
    assert "\n" not in msg and "pickle" in msg and "executes code" in msg
    assert "trusted=True" in msg and "--trust-pickle" in msg
    with pytest.raises(OutputFormatError):
        load_output(tmp_path / "evil")  # the stem alone finds only the pickle: same refusal
    assert not marker.exists()
    load_output(evil, trusted=True)  # with consent it is loaded, and runs its code
    assert marker.exists()
    # a genuine pickle written with pickle=True reads back with consent
    out = na64run.run({"background": [str(data / "bkg_b.root")]}, executor="iterative",
                      progress=False)
    *_, pkl = save_output(out, tmp_path / "p", pickle=True)
    assert_same_output(out, load_output(pkl, trusted=True))


def test_bad_saved_outputs_are_one_line_errors(tmp_path, data):
    out = na64run.run({"background": [str(data / "bkg_b.root")]}, executor="iterative",
                      progress=False)
    save_output(out, tmp_path / "a")
    save_output(out, tmp_path / "b")
    cases = []
    with pytest.raises(OutputFormatError, match="no such processor output") as e:
        load_output(tmp_path / "missing.json")
    cases.append(e)
    # a .root from another save next to the index: the pair was mixed up
    (tmp_path / "b.root").replace(tmp_path / "a.root")
    with pytest.raises(OutputFormatError, match="mixed up") as e:
        load_output(tmp_path / "a.json")
    cases.append(e)
    (tmp_path / "b.json").unlink()
    (tmp_path / "c.root").write_bytes(b"")
    with pytest.raises(OutputFormatError, match="no c.json next to it") as e:
        load_output(tmp_path / "c.root")
    cases.append(e)
    (tmp_path / "d.json").write_text(json.dumps({"format": "na64tools-output", "format_version": 99}))
    with pytest.raises(OutputFormatError, match="format version 99") as e:
        load_output(tmp_path / "d.json")
    cases.append(e)
    (tmp_path / "e.json").write_text("{not json")
    with pytest.raises(OutputFormatError, match="cannot read a processor output index") as e:
        load_output(tmp_path / "e.json")
    cases.append(e)
    assert all("\n" not in str(c.value) for c in cases)


def test_unstorable_key_names_it(tmp_path, data):
    out = na64run.run({"background": [str(data / "bkg_b.root")]}, executor="iterative",
                      progress=False)
    out["mine"] = object()
    with pytest.raises(TypeError, match=r"out\['mine'\].*pickle=True"):
        save_output(out, tmp_path / "x")
    out["mine"] = {"note": "a JSON-able extra key is kept", "n": 3}
    save_output(out, tmp_path / "x")
    assert load_output(tmp_path / "x")["mine"] == out["mine"]
