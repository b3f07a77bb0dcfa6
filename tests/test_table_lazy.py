"""Analysis and the CutExplorer on a cut table kept on disk (``na64tools.run(table_dir=...)``):
the same numbers, to the last bit, as with the in-memory table of the same run; a declared,
deterministic, reweighted background subsample above ``max_rows``; loud errors for a missing or
incomplete table.
"""

from __future__ import annotations

import json
import math
import shutil

import numpy as np
import pytest

from na64tools.analysis import Analysis
from na64tools.config import Cuts
from na64tools.interactive import CutExplorerModel
from na64tools.processes import SOURCES, source_of_codes
from na64tools.runner import TABLE_INDEX, load_table, run

pytest.importorskip("pyarrow.parquet")

#: cut sets: published, at the preselection (most background passes), tighter, another
LOOSE = Cuts(p_in_min=140.0, p_in_max=180.0, n_tracks_max=2.0, p_out_max=100.0, ecal_max=10.0,
             hcal_max=20.0, veto_max=10.0, vhcal_max=100.0, beam_chi2_max=1e6,
             track_chi2_max=1e6, track_hits_min=0.0)
CUT_SETS = (Cuts(), LOOSE, Cuts(p_out_max=40.0, hcal_max=0.5),
            Cuts(p_out_max=60.0, track_chi2_max=2.0, ecal_min=0.5))


@pytest.fixture(scope="module")
def outputs(small_fileset, tmp_path_factory):
    """(in-memory output, output with the table on disk): the same run, small chunks so that
    the table is split in many partitions."""
    d = tmp_path_factory.mktemp("lazy")
    mem = run(small_fileset, executor="iterative", chunksize=1_000, progress=False)
    disk = run(small_fileset, executor="iterative", chunksize=1_000, progress=False,
               table_dir=d / "table")
    assert disk["table"] is None and disk["run"]["table"]["partitions"] >= 8
    return mem, disk


def assert_same(a, b):
    assert a.efficiencies == b.efficiencies
    assert a.background == b.background          # dataclass ==: every float to the last bit
    assert a.total_background == b.total_background
    assert a.factors == b.factors and a.factors_note == b.factors_note
    if a.limit is not None:
        np.testing.assert_array_equal(a.limit.observed, b.limit.observed)
        np.testing.assert_array_equal(a.limit.expected.median, b.limit.expected.median)


def test_analysis_on_disk_equals_in_memory(outputs):
    mem, disk = outputs
    a, b = Analysis(mem), Analysis(disk)
    assert b.table is None and b.disk.rows == len(a.table)
    for cuts in CUT_SETS:
        assert_same(b.evaluate(cuts), a.evaluate(cuts))
    # independent: the background is the exact sum of the passing weights of the Parquet rows
    t = load_table(disk["run"]["table"]["path"])
    from na64tools.selection import passes

    p = passes(t.variables(), CUT_SETS[1])
    bkg = np.asarray(t.datasets)[t.columns["dataset"]] == "background"
    src = source_of_codes(t.columns["process"].astype(np.int64))
    res = b.evaluate(CUT_SETS[1], limits=False)
    scale = b.mot / b.mot_background
    for s in SOURCES:
        w = t.columns["genWeight"][p & bkg & (src == s)]
        assert res.background[s].value == math.fsum(w) * scale
        assert res.background[s].n_events == len(w)
    assert sum(e.n_events for e in res.background.values()) > 0
    # doubling the exposure doubles the background (an invariant of the on-disk path)
    b2 = Analysis(disk, mot=2 * b.mot, n_obs=0)
    assert b2.evaluate(CUT_SETS[1], limits=False).total_background.value == \
        pytest.approx(2 * res.total_background.value, rel=1e-15)


def test_analysis_on_disk_refuses_row_masks(outputs):
    _, disk = outputs
    b = Analysis(disk)
    with pytest.raises(ValueError, match="on disk"):
        b.passed(Cuts())
    with pytest.raises(ValueError, match="on disk"):
        b.evaluate(Cuts(), passed=np.ones(b.disk.rows, bool))


def test_explorer_on_disk_equals_in_memory(outputs):
    mem, disk = outputs
    m, d = CutExplorerModel(mem), CutExplorerModel(disk)   # the table fits: every row loaded
    assert d.subsample is None and d.summary.subsample is None
    assert_same(d.summary.result, m.summary.result)
    for kw in ({"p_out_max": 60.0}, {"veto_max": 0.05, "hcal_max": 0.5}, {"ecal": False}):
        sm, sd = m.set_cuts(**kw), d.set_cuts(**kw)
        assert_same(sd.result, sm.result)
        assert sd.cutflow == sm.cutflow
        for src in SOURCES:
            np.testing.assert_array_equal(sd.pout.background[src], sm.pout.background[src])
    assert_same(d.exact_result(), m.summary.result)


def test_explorer_subsample_is_declared_and_deterministic(outputs):
    mem, disk = outputs
    n_rows = disk["run"]["table"]["rows"]
    m = CutExplorerModel(mem)
    d = CutExplorerModel(disk, max_rows=n_rows // 3)
    sub = d.subsample
    assert sub is not None and sub.rows_total == n_rows and sub.rows_kept <= n_rows // 3 * 1.1
    assert any(f < 1 for f in sub.fractions.values())
    assert any("subsample" in x and "exact_result" in x for x in d.summary.messages)
    assert d.summary.as_dict()["subsample"]["rows_kept"] == len(d.table)
    # every signal event kept: the efficiencies are exact
    assert d.summary.efficiencies == m.summary.efficiencies
    # each source keeps its fraction of rows (hash of the entry: binomial scatter), and the
    # reweighted background at the loosest cuts estimates the full one
    a = d.analysis
    full = Analysis(mem)
    for s in SOURCES:
        n, k, f = full._source_n[s], a._source_n[s], sub.fractions[s]
        assert abs(k - f * n) <= 5 * math.sqrt(f * n * (1 - f)) + 1, s
        if f < 1 and n > 100:
            w_full, w_sub = full._source_weights[s].sum(), a._source_weights[s].sum()
            assert w_sub == pytest.approx(w_full, rel=5 / math.sqrt(f * n))
    # the exact numbers of the current cuts come from the whole table on disk
    s = d.set_cuts(p_out_max=60.0)
    assert_same(d.exact_result(), m.set_cuts(p_out_max=60.0).result)
    assert s.efficiencies == m.summary.efficiencies
    # deterministic: the same rows again
    d2 = CutExplorerModel(disk, max_rows=n_rows // 3)
    for c in d.table.columns:
        np.testing.assert_array_equal(d2.table.columns[c], d.table.columns[c])
    with pytest.raises(ValueError, match="max_rows"):
        CutExplorerModel(disk, max_rows=10)


def test_subsample_independent_of_chunking(small_fileset, outputs, tmp_path, monkeypatch):
    import na64tools.runner as na64run

    mem, disk = outputs
    monkeypatch.setattr(na64run, "TABLE_ROW_GROUP", 97)   # many row groups per partition
    other = run(small_fileset, executor="iterative", chunksize=2_500, progress=False,
                table_dir=tmp_path / "t")
    import pyarrow.parquet as pq

    part = json.loads((tmp_path / "t" / TABLE_INDEX).read_text())["partitions"][0]
    assert pq.ParquetFile(tmp_path / "t" / part["path"]).num_row_groups >= 3
    a_mem, a_other = Analysis(mem), Analysis(other)   # read row group by row group: the same
    for cuts in CUT_SETS[:2]:
        assert_same(a_other.evaluate(cuts), a_mem.evaluate(cuts))
    n = disk["run"]["table"]["rows"]
    a = CutExplorerModel(disk, max_rows=n // 3).table
    b = CutExplorerModel(other, max_rows=n // 3).table
    for c in ("entry", "genWeight", "p_out"):
        np.testing.assert_array_equal(a.columns[c], b.columns[c])


def test_missing_or_incomplete_table_is_loud(outputs, tmp_path):
    _, disk = outputs
    src = disk["run"]["table"]["path"]

    def copy_output(name):
        dst = tmp_path / name
        shutil.copytree(src, dst)
        out = dict(disk, run={**disk["run"], "table": {**disk["run"]["table"], "path": str(dst)}})
        return dst, out

    gone = dict(disk, run={**disk["run"], "table": {**disk["run"]["table"],
                                                    "path": str(tmp_path / "nope")}})
    with pytest.raises(ValueError, match="does not exist"):
        Analysis(gone)
    with pytest.raises(ValueError, match="does not exist"):
        CutExplorerModel(gone)
    dst, out = copy_output("no_part")
    index = json.loads((dst / TABLE_INDEX).read_text())
    (dst / index["partitions"][3]["path"]).unlink()
    with pytest.raises(ValueError, match="missing or unreadable.*incomplete"):
        Analysis(out)
    dst, out = copy_output("no_index")
    (dst / TABLE_INDEX).unlink()
    with pytest.raises(ValueError, match=TABLE_INDEX):
        Analysis(out)
    dst, out = copy_output("rows")
    index["partitions"][2]["rows"] += 1
    (dst / TABLE_INDEX).write_text(json.dumps(index))
    with pytest.raises(ValueError, match="the index says"):
        Analysis(out)
    dst, out = copy_output("fewer")
    index = json.loads((dst / TABLE_INDEX).read_text())
    index["partitions"] = index["partitions"][:-1]
    (dst / TABLE_INDEX).write_text(json.dumps(index))
    with pytest.raises(ValueError, match="but the run wrote"):
        Analysis(out)
    with pytest.raises(ValueError, match="no cut table"):
        Analysis(dict(disk, run={k: v for k, v in disk["run"].items() if k != "table"}))


def test_cli_limits_on_a_table_dir_output(small_fileset, tmp_path):
    from na64tools.cli import main

    files = [f for fs in small_fileset.values() for f in fs]
    common = ["--executor", "iterative", "--no-progress", "--chunksize", "2000"]
    assert main(["run", *files, *common, "--out", str(tmp_path / "mem")]) == 0
    assert main(["run", *files, *common, "--table-dir", str(tmp_path / "t"),
                 "--out", str(tmp_path / "disk")]) == 0
    for name in ("mem", "disk"):
        assert main(["limits", str(tmp_path / name), "--out", str(tmp_path / f"lim_{name}")]) == 0
    a = json.loads((tmp_path / "lim_mem" / "summary.json").read_text())
    b = json.loads((tmp_path / "lim_disk" / "summary.json").read_text())
    for key in ("background", "background_total", "efficiency", "limits"):
        assert b[key] == a[key], key
