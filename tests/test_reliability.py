"""Failures during a run: a Dask worker killed mid-run, a chunk that raises (always, or once), a
chunk lost or short: the run gives exactly the undisturbed result, or raises a clear error naming
the file and the entries. A result is never returned incomplete without saying so
(``out["complete"]``).
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
import uuid
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))

import na64tools.runner as na64run  # noqa: E402
from na64tools.processor import (  # noqa: E402
    BadFileError,
    MissingMomentumProcessor,
    MMAccumulator,
    chunk_machinery,
    chunk_of,
)


# --------------------------------------------------------------------------------------------
# fault-injecting processors (importable by worker processes: tests/ is on their sys.path)
# --------------------------------------------------------------------------------------------
class FaultyProcessor(MissingMomentumProcessor):
    """Raises ``OSError`` on the chunk of ``fail_file`` starting at ``fail_start``; with
    ``once_marker`` (a path), only the first time (a transient failure, e.g. flaky storage)."""

    def __init__(self, fail_file: str, fail_start: int, once_marker: str | None = None, **kw):
        super().__init__(**kw)
        self.fail_file, self.fail_start, self.once_marker = fail_file, fail_start, once_marker

    @chunk_machinery
    def process(self, events):
        dataset, filename, start, stop = chunk_of(events)
        if filename == self.fail_file and start == self.fail_start:
            if self.once_marker is None or not os.path.exists(self.once_marker):
                if self.once_marker is not None:
                    Path(self.once_marker).touch()
                raise OSError(f"injected read failure at entry {start}")
        return super().process(events)


class SlowProcessor(MissingMomentumProcessor):
    """Sleeps ``delay`` s per chunk and leaves one file in ``done_dir`` per finished chunk."""

    def __init__(self, delay: float, done_dir: str, **kw):
        super().__init__(**kw)
        self.delay, self.done_dir = delay, done_dir

    @chunk_machinery
    def process(self, events):
        _, filename, start, _ = chunk_of(events)
        time.sleep(self.delay)
        out = super().process(events)
        Path(self.done_dir, f"{Path(filename).stem}_{start}_{os.getpid()}_{uuid.uuid4().hex}").touch()
        return out


class DyingProcessor(MissingMomentumProcessor):
    """Kills its own worker process on one chunk (a segfault or the OOM killer)."""

    def __init__(self, fail_file: str, fail_start: int, **kw):
        super().__init__(**kw)
        self.fail_file, self.fail_start = fail_file, fail_start

    @chunk_machinery
    def process(self, events):
        _, filename, start, _ = chunk_of(events)
        if filename == self.fail_file and start == self.fail_start:
            os._exit(17)
        return super().process(events)


class LosingProcessor(MissingMomentumProcessor):
    """Returns nothing for one chunk (``mode="lost"``) or claims fewer events (``"short"``)."""

    def __init__(self, fail_file: str, fail_start: int, mode: str, **kw):
        super().__init__(**kw)
        self.fail_file, self.fail_start, self.mode = fail_file, fail_start, mode

    @chunk_machinery
    def process(self, events):
        dataset, filename, start, stop = chunk_of(events)
        out = super().process(events)
        if filename == self.fail_file and start == self.fail_start:
            if self.mode == "lost":
                return MMAccumulator()
            key = (dataset, filename, start, stop)
            out.chunks[key] -= 1
        return out


# --------------------------------------------------------------------------------------------
# data
# --------------------------------------------------------------------------------------------
CHUNK = 300


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    """Three simulated background files (~2.4k events each) and the undisturbed reference."""
    from na64tools.sim import simulate

    d = tmp_path_factory.mktemp("reliability")
    files = [str(p) for p in simulate("background", events=24_000, seed=21, out=d, files=3)]
    fs = {"background": files}
    ref = na64run.run(fs, executor="iterative", chunksize=CHUNK, progress=False, accumulator=True)
    assert ref["complete"] and ref["run"]["n_chunks"] >= 15
    return d, fs, ref


def chunk(ref, filename: str, i: int) -> tuple[int, int]:
    """Entry range of chunk ``i`` of ``filename`` in the reference run."""
    return sorted((k[2], k[3]) for k in ref["accumulator"].chunks if k[1] == filename)[i]


def assert_identical(a, b):
    assert a["cutflow"] == b["cutflow"]
    assert a["cutflow_by_process"] == b["cutflow_by_process"]
    for ds in a["cutflow"]:
        for st, row in a["cutflow"][ds].items():
            assert (row.sumw2, row.per_mot) == (b["cutflow"][ds][st].sumw2, b["cutflow"][ds][st].per_mot)
    assert a["hists"].keys() == b["hists"].keys()
    for name, h in a["hists"].items():
        assert np.array_equal(h.values(flow=True), b["hists"][name].values(flow=True)), name
        assert np.array_equal(h.variances(flow=True), b["hists"][name].variances(flow=True)), name
    assert a["mot"] == b["mot"]
    for c in a["table"].columns:
        assert np.array_equal(a["table"].columns[c], b["table"].columns[c]), c


@pytest.fixture(scope="module")
def thread_client():
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                       dashboard_address="127.0.0.1:0")
    client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()


@pytest.fixture(scope="module")
def pool():
    p = na64run.make_pool(2)
    yield p
    p.shutdown(wait=True)


def _client(executor, pool, thread_client):
    return {"futures": pool, "dask": thread_client}.get(executor)


# --------------------------------------------------------------------------------------------
# a chunk that raises
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("executor", ["iterative", "futures", "dask"])
def test_chunk_that_raises_names_file_and_entries(sample, pool, thread_client, executor):
    _, fs, ref = sample
    bad = fs["background"][1]
    a, b = chunk(ref, bad, 2)
    proc = FaultyProcessor(bad, a)
    with pytest.raises(BadFileError) as err:
        na64run.run(fs, proc, executor=executor, client=_client(executor, pool, thread_client),
                    chunksize=CHUNK, progress=False)
    msg = str(err.value)
    assert bad in msg and f"entries {a}-{b}" in msg and "injected read failure" in msg


@pytest.mark.parametrize("executor", ["iterative", "dask"])
def test_chunk_that_raises_with_skip_bad_files(sample, thread_client, executor, pool):
    _, fs, full = sample
    bad = fs["background"][1]
    a, b = chunk(full, bad, 2)
    good = [f for f in fs["background"] if f != bad]
    ref = na64run.run({"background": good}, executor="iterative", chunksize=CHUNK, progress=False)
    out = na64run.run(fs, FaultyProcessor(bad, a), executor=executor,
                      client=_client(executor, pool, thread_client), chunksize=CHUNK,
                      progress=False, skip_bad_files=True)
    assert out["complete"] is False
    assert [s.filename for s in out["skipped"]] == [bad]
    assert f"entries {a}-{b}" in out["skipped"][0].reason
    assert out["skipped"][0].mot > 0  # the exposure left out is known
    assert_identical(out, ref)


@pytest.mark.filterwarnings("ignore:Performed attempt")
@pytest.mark.parametrize("executor,skip", [("iterative", False), ("futures", False), ("dask", False),
                                           ("dask", True)])
def test_transient_failure_is_retried(sample, pool, thread_client, tmp_path, executor, skip):
    _, fs, ref = sample
    marker = tmp_path / "failed_once"
    proc = FaultyProcessor(fs["background"][2], chunk(ref, fs["background"][2], 1)[0],
                           once_marker=str(marker))
    out = na64run.run(fs, proc, executor=executor, client=_client(executor, pool, thread_client),
                      chunksize=CHUNK, progress=False, retries=1, skip_bad_files=skip)
    assert marker.exists()  # it did fail once
    assert out["complete"] and out["skipped"] == []
    assert_identical(out, ref)


def test_without_retries_a_transient_failure_is_not_hidden(sample, tmp_path):
    _, fs, ref = sample
    a, b = chunk(ref, fs["background"][2], 1)
    proc = FaultyProcessor(fs["background"][2], a, once_marker=str(tmp_path / "m"))
    with pytest.raises(BadFileError, match=f"entries {a}-{b}"):
        na64run.run(fs, proc, executor="iterative", chunksize=CHUNK, progress=False)


# --------------------------------------------------------------------------------------------
# lost and short chunks, incomplete outputs
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("mode,error,message", [
    ("lost", RuntimeError, "did not come back"), ("short", BadFileError, "events read"),
])
def test_lost_or_short_chunk_raises(sample, mode, error, message):
    _, fs, ref = sample
    f = fs["background"][0]
    a, b = chunk(ref, f, 3)
    proc = LosingProcessor(f, a, mode)
    with pytest.raises(error, match=message) as err:
        na64run.run(fs, proc, executor="iterative", chunksize=CHUNK, progress=False)
    assert f in str(err.value) and f"{a}-{b}" in str(err.value)


def test_maxchunks_output_is_marked_incomplete(sample):
    _, fs, ref = sample
    out = na64run.run(fs, executor="iterative", chunksize=CHUNK, maxchunks=2, progress=False)
    assert out["complete"] is False
    assert out["mot"]["background"].n_processed < ref["mot"]["background"].n_processed
    full = na64run.run(fs, executor="iterative", chunksize=CHUNK, maxchunks=10_000, progress=False)
    assert full["complete"] is True


def test_retries_argument_is_validated(sample):
    with pytest.raises(ValueError, match="retries"):
        na64run.run(sample[1], executor="iterative", retries=-1, progress=False)


# --------------------------------------------------------------------------------------------
# Dask worker processes that die
# --------------------------------------------------------------------------------------------
@pytest.fixture
def process_cluster():
    distributed = pytest.importorskip("distributed")
    import dask

    # a chunk that kills its worker is given up after its second worker death (default: 4)
    # worker-saturation 1.0: a worker holds only the chunk it runs, so its death is blamed on that
    # chunk alone (queued chunks on the dying worker would count as suspicious too)
    with dask.config.set({"distributed.scheduler.allowed-failures": 1,
                          "distributed.scheduler.worker-saturation": 1.0}):
        cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                           dashboard_address="127.0.0.1:0", memory_limit="3GB")
        client = distributed.Client(cluster)
        try:
            yield client
        finally:
            client.close()
            cluster.close()


@pytest.mark.cluster
@pytest.mark.slow
def test_worker_killed_mid_run_gives_the_undisturbed_result(sample, process_cluster, tmp_path):
    _, fs, ref = sample
    client = process_cluster
    client.wait_for_workers(2)
    pids = client.run(os.getpid)
    done = tmp_path / "done"
    done.mkdir()
    proc = SlowProcessor(0.1, str(done))
    result: dict = {}

    def target():
        try:
            result["out"] = na64run.run(fs, proc, executor="dask", client=client, chunksize=CHUNK,
                                        progress=False)
        except BaseException as err:  # reported below
            result["err"] = err

    thread = threading.Thread(target=target)
    thread.start()
    deadline = time.monotonic() + 180
    while len(os.listdir(done)) < 4 and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.02)
    done_at_kill = len(os.listdir(done))
    victim = sorted(pids.values())[0]
    os.kill(victim, signal.SIGKILL)
    thread.join(timeout=300)
    assert not thread.is_alive()
    assert "err" not in result, result.get("err")
    n_chunks = ref["run"]["n_chunks"]
    assert 4 <= done_at_kill < n_chunks  # the kill happened in the middle of the run
    out = result["out"]
    assert out["complete"]
    assert_identical(out, ref)
    # the nanny replaced the dead worker
    client.wait_for_workers(2, timeout=60)
    assert victim not in client.run(os.getpid).values()


@pytest.mark.cluster
@pytest.mark.slow
def test_chunk_that_kills_its_worker_every_time_raises(sample, process_cluster):
    _, fs, ref = sample
    bad = fs["background"][0]
    a, b = chunk(ref, bad, 1)
    with pytest.raises(na64run.WorkerLostError) as err:
        na64run.run(fs, DyingProcessor(bad, a), executor="dask", client=process_cluster,
                    chunksize=CHUNK, progress=False)
    msg = str(err.value)
    assert bad in msg and f"entrystart={a}, entrystop={b}" in msg and "died repeatedly" in msg
