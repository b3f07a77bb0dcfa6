"""MissingMomentumProcessor under a plain coffea Runner: cutflow, N-1 histograms, table, MOT."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import awkward as ak
import numpy as np
import pytest
from coffea import processor

sys.path.insert(0, str(Path(__file__).parent))
import ntuple_factory as nf  # noqa: E402

from na64tools.config import ConfigError, Cuts  # noqa: E402
from na64tools.processor import (  # noqa: E402
    STAGES,
    BadFileError,
    CutTable,
    MissingMomentumProcessor,
    Preselection,
)
from na64tools.schema import NA64Schema  # noqa: E402
from na64tools.selection import cut_masks, passes  # noqa: E402


def _run(fileset, proc=None, chunksize=400):
    runner = processor.Runner(processor.IterativeExecutor(status=False, retries=0), schema=NA64Schema,
                              chunksize=chunksize)
    return runner(fileset, proc or MissingMomentumProcessor(), treename="Events")


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("proc")
    out = {}
    out["bkg1"] = (d / "bkg1.root", nf.write_ntuple(d / "bkg1.root", 1500, seed=21, basket=300))
    out["bkg2"] = (d / "bkg2.root", nf.write_ntuple(d / "bkg2.root", 700, seed=22, basket=250))
    out["sig"] = (d / "sig.root", nf.write_ntuple(d / "sig.root", 900, seed=23, sample="signal",
                                                  model="vector", mass=0.1, coupling=1e-4))
    return out


@pytest.fixture(scope="module")
def output(files):
    fs = {"background": [str(files["bkg1"][0]), str(files["bkg2"][0])], "signal": [str(files["sig"][0])]}
    return _run(fs)


def _concat(*evs):
    out = {}
    for k in evs[0]:
        if isinstance(evs[0][k], ak.Array):
            out[k] = ak.concatenate([e[k] for e in evs])
        else:
            out[k] = np.concatenate([np.asarray(e[k]) for e in evs])
    return out


def test_cutflow_exactly_equals_independent_numpy(files, output):
    bkg = _concat(files["bkg1"][1], files["bkg2"][1])
    for ds, ev in [("background", bkg), ("signal", files["sig"][1])]:
        expected = nf.expected_cutflow(ev, Cuts())
        got = output["cutflow"][ds]
        assert list(got) == list(STAGES)
        for stage, (n, sumw) in expected.items():
            assert got[stage].events == n, (ds, stage)
            assert got[stage].sumw == sumw, (ds, stage)  # bit-exact: fsum of the weights
        assert [got[s].events for s in STAGES] == sorted((got[s].events for s in STAGES), reverse=True)
        if ds == "background":  # every cut removes something, so the flow is a real check
            assert len({got[s].events for s in STAGES}) == len(STAGES)


def test_cutflow_weights_and_per_mot(files, output):
    ev = files["sig"][1]
    w = np.asarray(ev["genWeight"])
    row = output["cutflow"]["signal"]["all"]
    assert row.sumw2 == math.fsum(w * w)
    mot = output["mot"]["signal"].mot
    assert row.per_mot == row.sumw / mot
    n, sumw = row  # unpacks as (events, sumw)
    assert (n, sumw) == (len(w), math.fsum(w))
    # per-process rows add up to the total
    by_proc = output["cutflow_by_process"]["signal"]
    assert sum(r["vhcal"].events for r in by_proc.values()) == output["cutflow"]["signal"]["vhcal"].events
    assert set(by_proc) == {"mip", "signal"}


def test_mot_read_once_per_file_however_chunked(files, output):
    import uproot

    mots = [uproot.open(files[k][0])["Runs"]["mot"].array(library="np")[0] for k in ("bkg1", "bkg2")]
    rec = output["mot"]["background"]
    assert rec.mot == math.fsum(mots)
    assert rec.n_files == 2
    assert rec.n_written == rec.n_processed == 2200
    assert rec.n_generated == 3 * 2200
    # chunksize 400 gives 4 + 2 (+ 2 signal) chunks: the MOT is still counted once per file
    assert output["n_chunks"] == 4 + 2 + 2
    assert output["files"]["signal"][str(files["sig"][0])].model == "vector"


def test_nminus1_histograms(files, output):
    ev = files["sig"][1]
    import uproot

    from na64tools.selection import variables_from_branches

    arrays = uproot.open(files["sig"][0])["Events"].arrays()
    v = variables_from_branches(arrays)
    masks = cut_masks(v, Cuts())
    w = np.asarray(ev["genWeight"])
    for var, cut in [("p_out", "p_out"), ("ecal", "ecal"), ("p_in", "beam"), ("n_tracks", "n_tracks")]:
        others = np.ones(len(w), bool)
        for name, m in masks.items():
            if name != cut:
                others &= m
        h = output["hists"][f"nminus1_{var}"][{"dataset": "signal"}]
        total = h.values(flow=True).sum()
        assert total == pytest.approx(math.fsum(w[others]), rel=1e-12)
        # events passing everything are inside the cut window of the histogram
        assert h[{"process": sum}].values(flow=True).sum() == pytest.approx(total, rel=1e-14)
    # N-1 p_out: all events below 80 GeV pass the full selection
    h = output["hists"]["nminus1_p_out"][{"dataset": "signal", "process": sum}]
    below = h.values(flow=True)[: h.axes[0].index(80.0) + 1].sum()
    assert below == pytest.approx(math.fsum(w[passes(v, Cuts())]), rel=1e-12)


def test_histogram_axes(output):
    h = output["hists"]["p_out"]
    assert [a.name for a in h.axes] == ["dataset", "process", "p_out"]
    assert list(h.axes["dataset"]) == ["background", "signal"]
    assert set(h.axes["process"]) <= {"mip", "signal", "brems", "pair", "photonuclear", "escape",
                                      "pi_decay", "k_decay"}
    assert h.storage_type.__name__ == "Weight"
    e = output["hists"]["ecal_vs_hcal"]
    assert [a.name for a in e.axes] == ["dataset", "process", "ecal", "hcal"]
    assert {f"nminus1_{v}" for v in ("p_in", "trigger", "vhcal")} <= set(output["hists"])


def test_table_matches_preselection_and_reevaluates_the_cutflow(files, output):
    table = output["table"]
    assert isinstance(table, CutTable)
    assert table.datasets == ["background", "signal"]
    assert table.samples == ["background", "signal"]
    pre = Preselection()
    import uproot

    n_pre = 0
    for key in ("bkg1", "bkg2", "sig"):
        from na64tools.selection import variables_from_branches

        v = variables_from_branches(uproot.open(files[key][0])["Events"].arrays())
        n_pre += int(pre.mask(v).sum())
    assert len(table) == n_pre
    # canonical order: dataset, file, entry
    order = np.lexsort((table.columns["entry"], table.columns["file"], table.columns["dataset"]))
    np.testing.assert_array_equal(order, np.arange(len(table)))
    # the selection re-evaluated on the table gives the final cutflow row exactly
    m = passes(table.variables(), Cuts())
    for i, ds in enumerate(table.datasets):
        sel = m & (table.columns["dataset"] == i)
        assert int(sel.sum()) == output["cutflow"][ds]["vhcal"].events
        assert math.fsum(table.columns["genWeight"][sel]) == output["cutflow"][ds]["vhcal"].sumw
    # entries point back to the events in the file
    sig = table.columns["dataset"] == 1
    ev = files["sig"][1]
    np.testing.assert_array_equal(table.columns["genWeight"][sig],
                                  np.asarray(ev["genWeight"])[table.columns["entry"][sig]])
    assert table.columns["p_out"].dtype == np.float64


def test_cuts_loading_and_validation(tmp_path, files):
    cutfile = tmp_path / "cuts.yaml"
    cutfile.write_text("cuts:\n  p_out_max: {value: 70.0, unit: GeV}\n")
    proc = MissingMomentumProcessor(str(cutfile))
    assert proc.cuts.p_out_max == 70.0
    toml = tmp_path / "cuts.toml"
    toml.write_text("[cuts]\necal_max = 0.8\n")
    assert MissingMomentumProcessor(toml).cuts.ecal_max == 0.8
    assert MissingMomentumProcessor({"veto_max": 0.01}).cuts.veto_max == 0.01
    with pytest.raises(ConfigError, match="p_out_max"):
        MissingMomentumProcessor(Cuts(p_out_max=150.0))  # looser than the preselection
    with pytest.raises(ConfigError, match="unknown cut"):
        MissingMomentumProcessor({"p_out_mx": 1.0})
    with pytest.raises(ConfigError):
        Preselection(p_in_min=200.0)
    # a tighter cut changes the cutflow consistently with the numpy reference
    out = _run({"signal": [str(files["sig"][0])]}, proc)
    exp = nf.expected_cutflow(files["sig"][1], proc.cuts)
    assert out["cutflow"]["signal"]["p_out"] == (exp["p_out"][0], exp["p_out"][1])


def test_empty_events_tree_counts_mot(tmp_path):
    path = tmp_path / "empty.root"
    nf.write_ntuple(path, 0, seed=1, mot=1234.5, n_generated=1000)
    out = _run({"empty": [str(path)]})
    assert out["mot"]["empty"].mot == 1234.5
    assert out["mot"]["empty"].n_generated == 1000
    assert out["cutflow"]["empty"]["all"] == (0, 0.0)
    assert out["cutflow"]["empty"]["vhcal"].per_mot == 0.0
    assert len(out["table"]) == 0


def test_unknown_process_code_names_the_file(tmp_path):
    path = tmp_path / "badproc.root"
    ev = nf.make_events(50, 3)
    ev["Gen_process"] = np.full(50, 42, np.int32)
    nf.write_ntuple(path, 50, seed=3, events=ev)
    with pytest.raises(Exception) as err:
        _run({"x": [str(path)]})
    assert "Gen_process = 42" in str(err.value) and str(path) in str(err.value)
    assert issubclass(BadFileError, ValueError)


def test_processor_pickles_with_cloudpickle():
    import cloudpickle

    proc = MissingMomentumProcessor(Cuts(p_out_max=75.0))
    again = cloudpickle.loads(cloudpickle.dumps(proc))
    assert again.cuts == proc.cuts and again.preselection == proc.preselection


def _reference_variables(a) -> dict[str, np.ndarray]:
    """The cut variables with plain awkward operations (independent of na64tools.selection)."""
    def first(x, fill):
        return ak.to_numpy(ak.fill_none(ak.firsts(x), fill)).astype(np.float64)

    return {
        "p_in": ak.to_numpy(a["Beam_p"]).astype(np.float64),
        "beam_chi2": ak.to_numpy(a["Beam_chi2"]).astype(np.float64),
        "n_tracks": ak.to_numpy(ak.num(a["Track_p"], axis=1)).astype(np.float64),
        "track_chi2": first(a["Track_chi2"], np.inf),
        "track_hits": first(a["Track_nhits"], 0.0),
        "p_out": first(a["Track_p"], np.inf),
        "ecal": ak.to_numpy(a["ECAL_energy"]).astype(np.float64),
        "hcal": ak.to_numpy(ak.sum(a["HCAL_energy"], axis=1)).astype(np.float64),
        "veto": ak.to_numpy(a["VETO_energy"]).astype(np.float64),
        "vhcal": ak.to_numpy(a["VHCAL_energy"]).astype(np.float64),
        "trigger": ak.to_numpy(a["Trigger_scattered"]).astype(bool),
    }


def test_cut_variables_from_events_and_branches_are_bit_identical(files):
    import uproot
    from coffea.nanoevents import NanoEventsFactory

    from na64tools.selection import VARIABLES, variables_from_branches, variables_from_events

    path = files["bkg1"][0]
    arrays = uproot.open(path)["Events"].arrays()
    ref = _reference_variables(arrays)
    events = NanoEventsFactory.from_root({str(path): "Events"}, schemaclass=NA64Schema,
                                         mode="virtual").events()
    # the whole file, a slice (offsets not starting at 0), a masked selection (IndexedArray)
    # and lists in reversed order (ListArray with starts and stops)
    keep = np.asarray(arrays["event"]) % 3 != 0

    def reversed_lists(x):
        lay = ak.to_layout(x)
        if not isinstance(lay, ak.contents.ListOffsetArray):
            return np.asarray(x)[::-1]
        off = np.asarray(lay.offsets.data)
        return ak.Array(ak.contents.ListArray(ak.index.Index64(off[:-1][::-1].copy()),
                                              ak.index.Index64(off[1:][::-1].copy()), lay.content))

    rev = {k: reversed_lists(arrays[k]) for k in arrays.fields}
    assert isinstance(ak.to_layout(rev["Track_p"]), ak.contents.ListArray)
    cases = [(variables_from_events(events), ref), (variables_from_branches(arrays), ref),
             (variables_from_branches(arrays[100:700]), _reference_variables(arrays[100:700])),
             (variables_from_branches(arrays[keep]), _reference_variables(arrays[keep])),
             (variables_from_branches(rev), _reference_variables(rev))]
    for got, exp in cases:
        assert list(got) == list(VARIABLES)
        for k in VARIABLES:
            assert got[k].dtype == exp[k].dtype, k
            np.testing.assert_array_equal(got[k], exp[k], err_msg=k)
    # the processor's float32 HCAL sum is the one of awkward (float32, in list order)
    assert ak.sum(arrays["HCAL_energy"], axis=1).type.content.primitive == "float32"


def test_in_place_merge_equals_add_and_leaves_the_right_operand(files):
    from coffea.nanoevents import NanoEventsFactory

    proc = MissingMomentumProcessor()
    parts = []
    for start, stop in [(0, 500), (500, 1100), (1100, 1500)]:
        events = NanoEventsFactory.from_root(
            {str(files["bkg1"][0]): "Events"}, schemaclass=NA64Schema, mode="virtual",
            entry_start=start, entry_stop=stop,
            metadata={"dataset": "bkg", "filename": str(files["bkg1"][0]), "entrystart": start,
                      "entrystop": stop}).events()
        parts.append(proc.process(events))
    added = parts[0] + parts[1] + parts[2]
    inplace = parts[0] + parts[1]
    before = dict(parts[2].table), parts[2].hists["p_out"].samples["bkg"][1].limbs.copy()
    inplace += parts[2]
    assert parts[2].table.keys() == before[0].keys()
    np.testing.assert_array_equal(parts[2].hists["p_out"].samples["bkg"][1].limbs, before[1])
    a, b = (x.hists["p_out"].to_hist() for x in (added, inplace))
    np.testing.assert_array_equal(a.values(flow=True), b.values(flow=True))
    assert set(inplace.chunks) == set(added.chunks) and set(inplace.table) == set(added.table)
    with pytest.raises(RuntimeError, match="twice"):
        inplace += parts[1]


def test_table_columns_are_the_float64_cut_variables_of_their_entries(files, output):
    import uproot

    from na64tools.selection import VARIABLES, variables_from_branches

    table = output["table"]
    sig = table.columns["dataset"] == table.datasets.index("signal")
    v = variables_from_branches(uproot.open(files["sig"][0])["Events"].arrays())
    entries = table.columns["entry"][sig]
    for k in VARIABLES:
        col = table.columns[k]
        assert col.dtype == (bool if k == "trigger" else np.float64), k
        assert col.flags.writeable and col.flags.c_contiguous
        np.testing.assert_array_equal(col[sig], v[k][entries], err_msg=k)


def test_tune_memory_once_and_switched_off_by_the_environment(monkeypatch):
    import sys

    import na64tools.accumulate as P

    monkeypatch.setattr(P, "_memory_tuned", None)
    monkeypatch.setenv("NA64TOOLS_TUNE_MEMORY", "0")
    assert P.tune_memory() is False
    monkeypatch.delenv("NA64TOOLS_TUNE_MEMORY")
    assert P.tune_memory() is False  # decided once per process
    monkeypatch.setattr(P, "_memory_tuned", None)
    monkeypatch.setenv("NA64TOOLS_TUNE_MEMORY", "1")
    assert P.tune_memory() is sys.platform.startswith("linux")
    assert all(isinstance(v, int) and 0 < v < 2**31 for v in P.MALLOC_SETTINGS.values())


def test_plain_empty_arrays():
    from na64tools.accumulate import plain_empty as _plain_empty

    a = _plain_empty(1000, np.float64)
    assert a.dtype == np.float64 and a.shape == (1000,) and a.flags.writeable
    a[:] = 1.5
    assert a.sum() == 1500.0
    assert _plain_empty(0, bool).shape == (0,)
