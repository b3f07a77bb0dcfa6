"""na64tools.run: identical results for every executor and chunk size, bad files, saving."""

from __future__ import annotations

import math
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))
import ntuple_factory as nf  # noqa: E402

import na64tools.runner as na64run  # noqa: E402
from na64tools.processor import BadFileError, MissingMomentumProcessor  # noqa: E402


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    d = tmp_path_factory.mktemp("run")
    nf.write_ntuple(d / "bkg_a.root", 1300, seed=31, basket=200)
    nf.write_ntuple(d / "bkg_b.root", 800, seed=32, basket=300)
    nf.write_ntuple(d / "sig.root", 600, seed=33, sample="signal", model="vector", mass=0.1, coupling=1e-4)
    fileset = {"background": {"files": {str(d / "bkg_a.root"): "Events", str(d / "bkg_b.root"): "Events"},
                              "metadata": {"kind": "mc"}},
               "signal": [str(d / "sig.root")]}
    return d, fileset


@pytest.fixture(scope="module")
def reference(data):
    return na64run.run(data[1], executor="iterative", chunksize=100_000, progress=False)


@pytest.fixture(scope="module")
def pool():
    p = na64run.make_pool(2)
    yield p
    p.shutdown(wait=True)


@pytest.fixture(scope="module")
def dask_client():
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                       dashboard_address="127.0.0.1:0")
    client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()


def assert_identical(a, b):
    assert a["cutflow"] == b["cutflow"]
    assert a["cutflow_by_process"] == b["cutflow_by_process"]
    for ds in a["cutflow"]:
        for st, row in a["cutflow"][ds].items():
            other = b["cutflow"][ds][st]
            assert (row.sumw2, row.per_mot) == (other.sumw2, other.per_mot)
    assert a["hists"].keys() == b["hists"].keys()
    for name, h in a["hists"].items():
        g = b["hists"][name]
        assert list(h.axes["dataset"]) == list(g.axes["dataset"])
        assert list(h.axes["process"]) == list(g.axes["process"])
        assert np.array_equal(h.values(flow=True), g.values(flow=True)), name
        assert np.array_equal(h.variances(flow=True), g.variances(flow=True)), name
    assert a["mot"] == b["mot"]
    ta, tb = a["table"], b["table"]
    assert (ta.datasets, ta.files, ta.samples) == (tb.datasets, tb.files, tb.samples)
    for c in ta.columns:
        assert np.array_equal(ta.columns[c], tb.columns[c]), c


@pytest.mark.parametrize("executor,chunksize", [
    ("iterative", 257), ("iterative", 450), ("futures", 311), ("futures", 1000),
    ("dask", 401), ("dask", 5000),
])
def test_bit_identical_for_every_executor_and_chunksize(data, reference, pool, dask_client,
                                                        executor, chunksize):
    client = {"futures": pool, "dask": dask_client}.get(executor)
    out = na64run.run(data[1], executor=executor, client=client, chunksize=chunksize,
                      workers=2, progress=False)
    assert out["run"]["n_chunks"] >= (6 if chunksize < 1000 else 3)
    assert_identical(out, reference)


def test_reference_against_numpy(data, reference):
    d, _ = data
    ev = nf.make_events(600, 33, sample="signal")
    exp = nf.expected_cutflow(ev, reference["cuts"])
    assert {k: tuple(v) for k, v in reference["cutflow"]["signal"].items()} == exp
    assert reference["mot"]["background"].n_files == 2
    assert reference["files"]["background"][str(d / "bkg_a.root")].n_written == 1300
    assert reference["skipped"] == []


def test_run_is_the_function_and_runner_the_module():
    import na64tools
    import na64tools.runner

    # importing the module does not rebind na64tools.run: it stays the function
    assert na64tools.run is na64run.run and callable(na64tools.run)
    assert na64tools.runner is na64run
    from na64tools import run

    assert run is na64run.run
    for name in ("NA64Schema", "MissingMomentumProcessor", "run", "Cuts"):
        assert getattr(na64tools, name) is not None
    from na64tools.processor import Cuts
    from na64tools.schema import NA64Schema  # noqa: F401

    assert Cuts is na64tools.Cuts


def test_fileset_forms_and_make_fileset(data, reference):
    d, _ = data
    fs = na64run.make_fileset(d)
    assert sorted(fs) == ["background", "signal_vector_m0.1"]
    assert len(fs["background"]["files"]) == 2
    out = na64run.run(str(d / "*.root"), executor="iterative", progress=False)
    assert out["cutflow"]["background"] == reference["cutflow"]["background"]
    assert out["cutflow"]["signal_vector_m0.1"] == reference["cutflow"]["signal"]
    with pytest.raises(ValueError, match="listed twice"):
        na64run.run({"x": [str(d / "sig.root")] * 2}, executor="iterative", progress=False)
    with pytest.raises(ValueError, match="executor"):
        na64run.run({"x": [str(d / "sig.root")]}, executor="spark", progress=False)
    with pytest.raises(ValueError, match="chunksize"):
        na64run.run({"x": [str(d / "sig.root")]}, executor="iterative", chunksize=0)
    with pytest.raises(FileNotFoundError):
        na64run.run(str(d / "nothing*.root"), executor="iterative")


# --- bad files ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def bad(tmp_path_factory, data):
    d = tmp_path_factory.mktemp("bad")
    src = data[0] / "bkg_b.root"
    out = {}
    out["truncated"] = d / "truncated.root"
    shutil.copy(src, out["truncated"])
    nf.truncate(out["truncated"])
    out["corrupt"] = d / "corrupt.root"
    nf.write_ntuple(out["corrupt"], 1000, seed=40, basket=200)
    nf.corrupt_basket(out["corrupt"], "Beam_p", basket=3)  # entries 600-800
    out["nobranch"] = d / "nobranch.root"
    nf.write_ntuple(out["nobranch"], 100, seed=41, drop=("VHCAL_energy",))
    out["retyped"] = d / "retyped.root"
    nf.write_ntuple(out["retyped"], 100, seed=42, retype={"Track_p": np.float64})
    out["inconsistent"] = d / "inconsistent.root"
    nf.write_ntuple(out["inconsistent"], 100, seed=43)
    return out


@pytest.mark.parametrize("kind,expect", [
    ("truncated", "Runs"), ("corrupt", "entries 600-"), ("nobranch", "'VHCAL_energy'"),
    ("retyped", "'Track_p'"),
])
@pytest.mark.parametrize("executor", ["iterative", "futures"])
def test_bad_file_raises_naming_the_file(data, bad, pool, kind, expect, executor):
    good = str(data[0] / "bkg_a.root")
    with pytest.raises(BadFileError) as err:
        na64run.run({"bkg": [good, str(bad[kind])]}, executor=executor, client=pool,
                    chunksize=200, progress=False)
    msg = str(err.value)
    assert str(bad[kind]) in msg and expect in msg


def test_inconsistent_runs_tree(tmp_path):
    path = tmp_path / "x.root"
    nf.write_ntuple(path, 50, seed=1, n_written=60)
    with pytest.raises(BadFileError, match=r"nWritten = 60 but Events has 50 entries"):
        na64run.run({"x": [str(path)]}, executor="iterative", progress=False)


@pytest.mark.parametrize("executor", ["iterative", "futures", "dask"])
def test_skip_bad_files_is_exact_and_lists_them(data, bad, pool, dask_client, executor):
    good = [str(data[0] / "bkg_a.root"), str(data[0] / "bkg_b.root")]
    ref = na64run.run({"bkg": good}, executor="iterative", chunksize=400, progress=False)
    client = {"futures": pool, "dask": dask_client}.get(executor)
    fs = {"bkg": [good[0], str(bad["truncated"]), str(bad["corrupt"]), good[1], str(bad["nobranch"])]}
    out = na64run.run(fs, executor=executor, client=client, chunksize=400, progress=False,
                      skip_bad_files=True)
    skipped = {Path(s.filename).name: s for s in out["skipped"]}
    assert set(skipped) == {"truncated.root", "corrupt.root", "nobranch.root"}
    assert skipped["truncated.root"].mot is None and "Runs" in skipped["truncated.root"].reason
    import uproot

    mot_corrupt = uproot.open(bad["corrupt"])["Runs"]["mot"].array(library="np")[0]
    assert skipped["corrupt.root"].mot == mot_corrupt
    assert skipped["corrupt.root"].n_written == 1000
    assert "entries 500-1000" in skipped["corrupt.root"].reason
    assert "VHCAL_energy" in skipped["nobranch.root"].reason
    # the good chunks of the corrupt file read before the error are removed exactly
    assert out["mot"] == ref["mot"]
    assert_identical({**out, "table": out["table"]}, ref)


def test_skip_all_bad_raises(bad):
    with pytest.raises(BadFileError, match="no readable input file"):
        na64run.run({"x": [str(bad["truncated"])]}, executor="iterative", progress=False,
                    skip_bad_files=True)


# --- saving -----------------------------------------------------------------------------
def test_save_output_root_json_and_pickle(tmp_path, data, reference):
    import uproot

    index, root, pkl = na64run.save_output(reference, tmp_path / "out" / "result", pickle=True)
    assert (index.name, root.name, pkl.name) == ("result.json", "result.root", "result.coffea")
    back = na64run.load_output(pkl, trusted=True)
    assert back["cutflow"] == reference["cutflow"]
    assert np.array_equal(back["hists"]["p_out"].values(flow=True),
                          reference["hists"]["p_out"].values(flow=True))
    with uproot.open(root) as f:
        h = reference["hists"]["p_out"][{"dataset": "signal", "process": "signal"}]
        th = f["p_out/signal/signal"]
        np.testing.assert_array_equal(th.values(flow=True), h.values(flow=True))
        np.testing.assert_array_equal(th.variances(flow=True), h.variances(flow=True))
        assert f["ecal_vs_hcal/background/mip"].values().shape == (50, 50)
        cf = f["cutflow"].arrays(library="np")
        i = list(zip(cf["dataset"], cf["stage"], strict=True)).index(("signal", "p_out"))
        assert cf["events"][i] == reference["cutflow"]["signal"]["p_out"].events
        assert cf["sumw"][i] == reference["cutflow"]["signal"]["p_out"].sumw
        assert f["CutTable"].num_entries == len(reference["table"])
        mot = f["mot"].arrays(library="np")
        assert math.isclose(mot["mot"][list(mot["dataset"]).index("signal")],
                            reference["mot"]["signal"].mot)


def test_run_save_argument_and_custom_processor(tmp_path, data):
    proc = MissingMomentumProcessor({"p_out_max": 60.0}, table=False)
    out = na64run.run(data[1], proc, executor="iterative", progress=False, save=tmp_path / "o.root")
    assert (tmp_path / "o.json").exists() and (tmp_path / "o.root").exists()
    assert not (tmp_path / "o.coffea").exists()
    assert out["table"] is None
    back = na64run.load_output(tmp_path / "o.root")
    assert back["table"] is None and back["cuts"] == out["cuts"]
    assert out["cuts"].p_out_max == 60.0
