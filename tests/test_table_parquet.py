"""The cut table written by the workers as Parquet partitions (``na64tools.run(table_dir=...)``):
the rows, read back in the order of the index, are exactly the in-memory table of the iterative
executor; the partitions are the same bytes whatever the executor; a dropped bad file leaves no
partition; nothing of the table comes back to the client.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))
import ntuple_factory as nf  # noqa: E402

import na64tools.runner as na64run  # noqa: E402
from na64tools.processor import _TABLE_COLUMNS  # noqa: E402

pq = pytest.importorskip("pyarrow.parquet")


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    d = tmp_path_factory.mktemp("parquet")
    nf.write_ntuple(d / "bkg_a.root", 900, seed=41, basket=150)
    nf.write_ntuple(d / "bkg_b.root", 500, seed=42, basket=150)
    nf.write_ntuple(d / "sig.root", 400, seed=43, sample="signal", model="vector", mass=0.1,
                    coupling=1e-4)
    return d, {"background": [str(d / "bkg_a.root"), str(d / "bkg_b.root")],
               "signal": [str(d / "sig.root")]}


def _read(directory) -> tuple[dict, dict[str, np.ndarray]]:
    index = json.loads((Path(directory) / na64run.TABLE_INDEX).read_text())
    parts = [pq.read_table(Path(directory) / p["path"]) for p in index["partitions"]]
    cols = {c: np.concatenate([t.column(c).to_numpy() for t in parts]) for c in _TABLE_COLUMNS}
    names = {c: [v for t in parts for v in t.column(c).to_pylist()] for c in ("dataset", "file")}
    return index, {**cols, **names}


def _bytes(directory) -> dict[str, bytes]:
    return {str(p.relative_to(directory)): p.read_bytes()
            for p in sorted(Path(directory).rglob("*.parquet"))}


def test_partitions_equal_the_in_memory_table(data, tmp_path):
    _, fs = data
    ref = na64run.run(fs, executor="iterative", chunksize=10_000, progress=False)
    out = na64run.run(fs, executor="iterative", chunksize=200, progress=False,
                      table_dir=tmp_path / "t")
    assert out["table"] is None
    info = out["run"]["table"]
    assert info["rows"] == len(ref["table"]) > 0
    assert info["partitions"] == out["run"]["n_chunks"] >= 6   # one partition per chunk
    index, cols = _read(tmp_path / "t")
    for c in _TABLE_COLUMNS:   # exact: float32 cut variables widen to float64 exactly
        want = ref["table"].columns[c]
        assert np.array_equal(cols[c].astype(want.dtype), want), c
    t = ref["table"]
    assert cols["dataset"] == [t.datasets[i] for i in t.columns["dataset"]]
    assert cols["file"] == [t.files[i] for i in t.columns["file"]]
    assert out["cutflow"] == ref["cutflow"]   # the rest of the output is unchanged
    # read back as a CutTable: the in-memory table, column by column, dtype by dtype
    table = na64run.load_table(info["path"])
    assert (table.datasets, table.samples, table.files, table.preselection) == \
        (t.datasets, t.samples, t.files, t.preselection)
    assert set(table.columns) == set(t.columns)
    for c, want in t.columns.items():
        assert table.columns[c].dtype == want.dtype and np.array_equal(table.columns[c], want), c
    sig = na64run.load_table(info["path"], datasets=["signal"])
    assert len(sig) == int(np.sum(t.columns["dataset"] == t.datasets.index("signal")))
    with pytest.raises(ValueError, match="no dataset 'nope'"):
        na64run.load_table(info["path"], datasets=["nope"])


def test_same_bytes_whatever_the_executor_and_bad_files_leave_nothing(data, tmp_path):
    d, fs = data
    a = na64run.run(fs, executor="iterative", chunksize=300, progress=False,
                    table_dir=tmp_path / "a")
    b = na64run.run(fs, executor="futures", workers=2, chunksize=300, progress=False,
                    table_dir=tmp_path / "b")
    assert a["run"]["table"]["rows"] == b["run"]["table"]["rows"]
    assert _bytes(tmp_path / "a") == _bytes(tmp_path / "b")
    # a directory holding anything is refused (partitions of two runs would mix)
    with pytest.raises(ValueError, match="not empty"):
        na64run.run(fs, executor="iterative", progress=False, table_dir=tmp_path / "a")
    # a truncated file skipped: none of its partitions stay
    bad = d / "bad.root"
    bad.write_bytes((d / "bkg_b.root").read_bytes()[:-2000])
    fs2 = {"background": [*fs["background"], str(bad)], "signal": fs["signal"]}
    c = na64run.run(fs2, executor="iterative", chunksize=300, progress=False,
                    skip_bad_files=True, table_dir=tmp_path / "c")
    assert [s.filename for s in c["skipped"]] == [str(bad)]
    assert _bytes(tmp_path / "c") == _bytes(tmp_path / "a")


def test_cli_table_dir(data, tmp_path):
    from na64tools.cli import main
    from na64tools.output import load_output

    _, fs = data
    rc = main(["run", *fs["background"], "--executor", "iterative", "--no-progress",
               "--chunksize", "300", "--table-dir", str(tmp_path / "t"), "--out",
               str(tmp_path / "o")])
    assert rc == 0
    out = load_output(tmp_path / "o" / "output")
    assert out["table"] is None and out["run"]["table"]["path"] == str(tmp_path / "t")
    index, cols = _read(tmp_path / "t")
    assert len(cols["genWeight"]) == out["run"]["table"]["rows"] == sum(
        p["rows"] for p in index["partitions"])
