"""na64tools.sim: same seed + setup -> same events whatever the number of files or workers;
different seeds -> independent samples."""

import awkward as ak
import numpy as np
import pytest
import uproot

from na64tools.sim import BLOCK_SIZE, generate, simulate
from na64tools.sim.writer import content_hash

N = BLOCK_SIZE + 20001  # more than one block, not a multiple of it


def _same(a, b):
    assert a.keys() == b.keys()
    for k in a:
        x, y = a[k], b[k]
        if isinstance(x, ak.Array):
            assert ak.all(ak.num(x, axis=1) == ak.num(y, axis=1)), k
            x, y = ak.flatten(x), ak.flatten(y)
        assert np.array_equal(np.asarray(x), np.asarray(y)), k


def test_generate_is_reproducible():
    _same(generate("background", events=N, seed=11), generate("background", events=N, seed=11))


def test_written_events_are_the_triggered_generated_events():
    every = generate("background", events=N, seed=12)
    trig = generate("background", events=N, seed=12, triggered_only=True)
    mask = every["Trigger_scattered"]
    assert 0 < mask.sum() < N
    _same({k: v[mask] for k, v in every.items()}, trig)


def test_ranges_concatenate_to_the_whole_sample():
    whole = generate("background", events=N, seed=13, triggered_only=True)
    cut = 40000
    parts = [generate("background", events=N, seed=13, triggered_only=True, stop=cut),
             generate("background", events=N, seed=13, triggered_only=True, start=cut)]
    _same({k: (ak.concatenate([p[k] for p in parts]) if isinstance(whole[k], ak.Array)
               else np.concatenate([p[k] for p in parts])) for k in whole}, whole)


@pytest.fixture(scope="module")
def one_file(tmp_path_factory):
    out = tmp_path_factory.mktemp("one")
    return simulate("background", events=N, seed=14, out=out, files=1)


def test_content_hash_independent_of_file_count(tmp_path, one_file):
    three = simulate("background", events=N, seed=14, out=tmp_path, files=3)
    assert len(three) == 3
    assert content_hash(three) == content_hash(one_file)
    mot = sum(uproot.open(p)["Runs"]["mot"].array(library="np")[0] for p in three)
    assert mot == pytest.approx(uproot.open(one_file[0])["Runs"]["mot"].array(library="np")[0], rel=1e-12)
    runs = [uproot.open(p)["Events"]["run"].array(library="np") for p in three]
    assert [set(r) for r in runs] == [{1}, {2}, {3}]


@pytest.fixture
def frozen_clock(monkeypatch):
    """uproot stamps keys with datetime.now(): freeze it to compare whole files byte by byte."""
    import datetime
    import types

    import uproot.writing._cascade as cascade

    class Frozen(datetime.datetime):
        @classmethod
        def now(cls, tz=None):
            return cls(2024, 5, 1, 12, 0, 0)

    import uproot.writing._cascadetree as cascadetree
    import uproot.writing.writable as writable

    for module in (cascade, cascadetree, writable):
        monkeypatch.setattr(module, "datetime", types.SimpleNamespace(datetime=Frozen))


def test_same_bytes_when_rewritten(tmp_path, frozen_clock):
    a = simulate("background", events=N, seed=14, out=tmp_path / "a", files=2)
    b = simulate("background", events=N, seed=14, out=tmp_path / "b", files=2)
    for p, q in zip(a, b, strict=True):
        assert p.read_bytes() == q.read_bytes()


def test_dask_workers_write_the_same_content(tmp_path, one_file):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address="127.0.0.1:0") as cluster, distributed.Client(cluster) as client:
        paths = simulate("background", events=N, seed=14, out=tmp_path / "dask", files=3, client=client)
    serial = simulate("background", events=N, seed=14, out=tmp_path / "serial", files=3)
    for p, q in zip(paths, serial, strict=True):
        assert p.name == q.name
        assert content_hash(p, exclude=()) == content_hash(q, exclude=())
    assert content_hash(paths) == content_hash(one_file)


def test_different_seeds_are_independent():
    n = 30000
    a = generate("background", events=n, seed=21)
    b = generate("background", events=n, seed=22)
    assert not np.array_equal(a["Beam_p"], b["Beam_p"])
    # the stratum layout is the same (fixed by the event number), the values are independent:
    # correlations compatible with zero, within the bulk stratum for the ECAL energy
    bulk = a["genWeight"] == a["genWeight"].max()
    assert np.array_equal(bulk, b["genWeight"] == b["genWeight"].max()) and bulk.sum() > 1000
    for key, sel in (("Beam_p", slice(None)), ("Beam_x", slice(None)), ("ECAL_energy", bulk)):
        x, y = a[key][sel], b[key][sel]
        r = np.corrcoef(x, y)[0, 1]
        assert abs(r) < 5.0 / np.sqrt(x.size), key
    # and the same distribution (two-sample KS)
    from scipy import stats

    assert stats.ks_2samp(a["Beam_p"], b["Beam_p"]).pvalue > 1e-3
