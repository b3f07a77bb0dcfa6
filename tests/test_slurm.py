"""The SLURM facility against a real single-node SLURM (slurmctld + slurmd + munged on 127.0.0.1,
started here, stopped at the end; tests/_batch.py): the processor run through ``make_client
("slurm")`` and through ``na64tools run --facility slurm`` gives results bit-identical to the
iterative executor, the jobs are gone afterwards, and a rejected submission ends at once quoting
SLURM. Skipped, with the reason, where the daemons cannot run (not root, slurm-wlm not installed).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))
import _batch  # noqa: E402
import ntuple_factory as nf  # noqa: E402

pytest.importorskip("dask_jobqueue", reason="the cluster extra (dask-jobqueue) is not installed")

REPO = Path(__file__).resolve().parents[1]
pytestmark = [pytest.mark.cluster, pytest.mark.skipif(sys.platform != "linux", reason="SLURM")]


@pytest.fixture(scope="module")
def slurm(tmp_path_factory):
    try:
        with _batch.slurm(tmp_path_factory.mktemp("slurm")) as info:
            yield info
    except _batch.Unavailable as err:
        pytest.skip(f"no test SLURM: {err}")


@pytest.fixture(scope="module")
def fileset(tmp_path_factory):
    d = tmp_path_factory.mktemp("slurm_data")
    files = []
    for i, n in enumerate((700, 400)):
        files.append(str(d / f"f{i}.root"))
        nf.write_ntuple(files[-1], n, seed=80 + i, basket=150)
    return {"background": files}


def _options(slurm) -> dict:
    """Everything on the loopback interface; the job logs in the test directory."""
    return {"scheduler_options": {"host": "127.0.0.1", "dashboard_address": "127.0.0.1:0"},
            "worker_extra_args": ["--host", "127.0.0.1", "--dashboard-address", "127.0.0.1:0"],
            "log_directory": str(slurm["jobs"])}


def _assert_identical(out, ref):
    assert out["cutflow"] == ref["cutflow"]
    for name, h in ref["hists"].items():
        assert np.array_equal(h.values(flow=True), out["hists"][name].values(flow=True)), name
        assert np.array_equal(h.variances(flow=True), out["hists"][name].variances(flow=True)), name
    for c in ref["table"].columns:
        assert np.array_equal(ref["table"].columns[c], out["table"].columns[c]), c
    assert out["mot"] == ref["mot"]


def _no_jobs_left(slurm) -> None:
    deadline = time.monotonic() + 30
    while _batch.squeue(slurm):
        assert time.monotonic() < deadline, f"jobs left in the queue: {_batch.squeue(slurm)}"
        time.sleep(0.2)


def test_slurm_facility_bit_identical_and_jobs_gone(slurm, fileset):
    import na64tools.runner as na64run
    from na64tools.clients import ClusterClient, make_client

    ref = na64run.run(fileset, executor="iterative", chunksize=10_000, progress=False)
    with make_client("slurm", n_workers=2, cores=1, memory="1GB", walltime="00:10:00",
                     queue=slurm["partition"], cluster_options=_options(slurm)) as client:
        assert isinstance(client, ClusterClient)
        jobs = _batch.squeue(slurm)
        assert len(jobs) == 2, jobs   # two jobs submitted to SLURM
        out = na64run.run(fileset, executor="dask", client=client, chunksize=130, progress=False,
                          worker_timeout=90)
        workers = set(client.scheduler_info()["workers"])
    _assert_identical(out, ref)
    assert out["run"]["n_chunks"] >= 8
    used = out["run"]["workers_used"]
    assert used and set(used) <= workers, (used, workers)   # the SLURM workers that ran
    _no_jobs_left(slurm)   # leaving the with block cancelled the jobs


def test_cli_adaptive_slurm_run_and_rejected_partition(slurm, fileset, tmp_path):
    site = tmp_path / "site.yaml"
    site.write_text(textwrap.dedent(f"""\
        cluster:
          facility: slurm
          memory: 1GB
          walltime: "00:10:00"
          worker_timeout: 90
          options:
            scheduler_options: {{host: 127.0.0.1, dashboard_address: "127.0.0.1:0"}}
            worker_extra_args: [--host, 127.0.0.1, --dashboard-address, "127.0.0.1:0"]
            log_directory: {slurm['jobs']}
    """))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p))
    files = fileset["background"]

    def cli(*args):
        return subprocess.run([sys.executable, "-m", "na64tools", "run", *files, "--no-progress",
                               "--chunksize", "150", *args], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=300,
                              stdin=subprocess.DEVNULL)

    ref = cli("--executor", "iterative", "--out", str(tmp_path / "ref"))
    assert ref.returncode == 0, ref.stderr
    res = cli("--cluster-config", str(site), "--workers", "1:2", "--out", str(tmp_path / "o"))
    assert res.returncode == 0, res.stderr[-3000:]
    cutflow = [ln for ln in res.stdout.splitlines() if not ln.startswith("saved")]
    assert cutflow == [ln for ln in ref.stdout.splitlines() if not ln.startswith("saved")]
    assert (tmp_path / "o" / "output.json").read_text().count('"workers_used"') == 1
    _no_jobs_left(slurm)

    bad = cli("--cluster-config", str(site), "--queue", "nope", "--out", str(tmp_path / "bad"))
    assert bad.returncode == 1
    lines = [ln for ln in bad.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "Traceback" not in bad.stderr, bad.stderr
    assert "invalid partition specified" in lines[0].lower(), lines[0]
    _no_jobs_left(slurm)
