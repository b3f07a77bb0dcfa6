"""A real Dask cluster from the command line: ``dask scheduler`` + two ``dask worker`` processes.

Started on 127.0.0.1 by the test and always stopped; the results must be bit-identical to the
iterative executor.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))
import ntuple_factory as nf  # noqa: E402
from _process import stop_groups  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DASK = Path(sys.executable).with_name("dask")

pytestmark = pytest.mark.cluster


def _start(args, log):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
    cmd = [str(DASK), *args] if DASK.exists() else [sys.executable, "-m", "distributed.cli.dask_" + args[0], *args[1:]]
    return subprocess.Popen(cmd, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    d = tmp_path_factory.mktemp("cluster")
    sched_file = d / "scheduler.json"
    log = open(d / "cluster.log", "w")  # noqa: SIM115
    procs = []
    try:
        procs.append(_start(["scheduler", "--host", "127.0.0.1", "--port", "0",
                             "--scheduler-file", str(sched_file), "--no-dashboard",
                             "--dashboard-address", "127.0.0.1:0"], log))
        deadline = time.monotonic() + 60
        while not sched_file.exists():
            if time.monotonic() > deadline or procs[0].poll() is not None:
                raise RuntimeError(f"dask scheduler did not start: {(d / 'cluster.log').read_text()}")
            time.sleep(0.1)
        for _ in range(2):
            procs.append(_start(["worker", "--scheduler-file", str(sched_file), "--nthreads", "1",
                                 "--no-nanny", "--no-dashboard", "--host", "127.0.0.1",
                                 "--dashboard-address", "127.0.0.1:0"], log))
        from distributed import Client

        client = Client(scheduler_file=str(sched_file), timeout=60)
        client.wait_for_workers(2, timeout=60)
        yield client, sched_file
        client.retire_workers(close_workers=True)
        client.shutdown()  # stops the scheduler (and any worker left)
        client.close()
    finally:
        stop_groups(procs)
        log.close()
        assert all(p.poll() is not None for p in procs)


def test_real_cluster_bit_identical(cluster, tmp_path):
    import na64tools.runner as na64run

    client, sched_file = cluster
    files = []
    for i, n in enumerate((900, 500)):
        files.append(str(tmp_path / f"f{i}.root"))
        nf.write_ntuple(files[-1], n, seed=60 + i, basket=150)
    fs = {"background": files}
    ref = na64run.run(fs, executor="iterative", chunksize=10_000, progress=False)
    out = na64run.run(fs, executor="dask", client=client, chunksize=170, progress=False)
    assert out["run"]["n_chunks"] >= 8
    # both workers took part
    assert len(client.scheduler_info()["workers"]) == 2
    assert out["cutflow"] == ref["cutflow"]
    for name, h in ref["hists"].items():
        assert np.array_equal(h.values(flow=True), out["hists"][name].values(flow=True)), name
        assert np.array_equal(h.variances(flow=True), out["hists"][name].variances(flow=True)), name
    for c in ref["table"].columns:
        assert np.array_equal(ref["table"].columns[c], out["table"].columns[c])
    assert out["mot"] == ref["mot"]
    # the scheduler address works as a client argument too
    again = na64run.run(fs, executor="dask", client=client.scheduler.address, chunksize=300,
                        progress=False)
    assert again["cutflow"] == ref["cutflow"]


def test_cli_with_a_local_dask_cluster_in_a_subprocess(tmp_path):
    """The console entry point has the ``__main__`` guard a process-based LocalCluster needs."""
    path = tmp_path / "f.root"
    nf.write_ntuple(path, 300, seed=70)
    env = dict(os.environ, PYTHONPATH=str(REPO))
    res = subprocess.run([sys.executable, "-m", "na64tools", "run", str(path), "--executor", "dask",
                          "--workers", "1", "--chunksize", "100", "--out", str(tmp_path / "o"),
                          "--no-progress"], cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=180)
    assert res.returncode == 0, res.stderr[-2000:]
    assert "vhcal" in res.stdout and (tmp_path / "o" / "output.root").exists()
