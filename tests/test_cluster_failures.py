"""Batch clusters fail loudly: rejected jobs, jobs that never start, a scheduler that does not
answer, and an interrupt while waiting, all end quickly with one line, non-zero exit status and
no job left in the queue.

The batch systems here are fake commands put first on ``PATH``: an ``sbatch`` or
``condor_submit`` that prints what the real one prints and exits, an ``squeue`` that says why the
job pends, and a ``scancel`` / ``condor_rm`` that records what was cancelled. The Dask scheduler
of the cluster is real (on 127.0.0.1). Requires dask-jobqueue (the ``cluster`` extra).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
import ntuple_factory as nf  # noqa: E402

pytest.importorskip("dask_jobqueue", reason="the cluster extra (dask-jobqueue) is not installed")

REPO = Path(__file__).resolve().parents[1]
TIMEOUT = 120  # seconds for a command that should end in a few

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX batch commands")

REJECT_SBATCH = """\
echo "sbatch: error: invalid partition specified: nope" >&2
echo "sbatch: error: Batch job submission failed: Invalid partition name specified" >&2
exit 1
"""
ACCEPT_SBATCH = """\
n=$$  # a job id unique among concurrent submissions
echo "$n" >> "$FAKE_DIR/submitted"
echo "Submitted batch job $n"
"""
SQUEUE = """\
for id in $(cat "$FAKE_DIR/submitted"); do
  grep -qx "$id" "$FAKE_DIR/cancelled" 2>/dev/null || echo "$id PENDING PartitionTimeLimit"
done
"""
SCANCEL = 'echo "$1" >> "$FAKE_DIR/cancelled"\n'
REJECT_CONDOR = """\
echo "ERROR: Failed to connect to local queue manager" >&2
echo "SECMAN:2007:Failed to end classad message." >&2
exit 1
"""
CONDOR_RM = 'echo "$1" >> "$FAKE_DIR/cancelled"\n'


def _fake_batch(tmp_path: Path, **commands: str) -> dict[str, str]:
    """Directory of fake batch commands; returns the environment that puts it first on PATH."""
    bin_dir = tmp_path / "fakebin"
    bin_dir.mkdir()
    for name, body in commands.items():
        path = bin_dir / name
        path.write_text("#!/bin/sh\n" + body)
        path.chmod(0o755)
    # the scheduler of the cluster on the loopback interface, its dashboard off
    conf = tmp_path / "site.yaml"
    conf.write_text(textwrap.dedent("""\
        cluster:
          options:
            scheduler_options: {host: 127.0.0.1, dashboard_address: "127.0.0.1:0"}
    """))
    env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
               FAKE_DIR=str(tmp_path), PYTHONUNBUFFERED="1", MPLBACKEND="agg",
               PYTHONPATH=os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", ""))
                                          if p))
    env["NA64_TEST_SITE"] = str(conf)
    return env


def _lines(path: Path) -> list[str]:
    return path.read_text().split() if path.exists() else []


@pytest.fixture(scope="module")
def ntuple(tmp_path_factory):
    path = tmp_path_factory.mktemp("failures") / "bkg.root"
    nf.write_ntuple(path, 200, seed=91)
    return path


def _run_cli(env, *args, cwd) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "na64tools", "run", *args, "--no-progress",
                           "--cluster-config", env["NA64_TEST_SITE"]], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=TIMEOUT, stdin=subprocess.DEVNULL)


def _one_line(err: str) -> str:
    assert "Traceback" not in err, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    return lines[0]


@pytest.mark.parametrize("facility,commands,quoted", [
    ("slurm", {"sbatch": REJECT_SBATCH, "scancel": SCANCEL},
     "sbatch, exit code 1: sbatch: error: invalid partition specified: nope"),
    ("htcondor", {"condor_submit": REJECT_CONDOR, "condor_rm": CONDOR_RM},
     "condor_submit, exit code 1: ERROR: Failed to connect to local queue manager"),
])
def test_rejected_jobs_end_at_once_quoting_the_batch_system(tmp_path, ntuple, facility, commands,
                                                            quoted):
    env = _fake_batch(tmp_path, **commands)
    start = time.monotonic()
    res = _run_cli(env, str(ntuple), "--facility", facility, "--workers", "2",
                   "--out", str(tmp_path / "out"), cwd=tmp_path)
    elapsed = time.monotonic() - start
    assert res.returncode == 1, res.stderr
    line = _one_line(res.stderr)
    assert line.startswith(f"na64tools run: error: {facility}: the batch system rejected"), line
    assert quoted in line, line
    assert elapsed < 60, elapsed   # no waiting for workers that cannot come
    assert not (tmp_path / "out").exists()


def test_missing_submit_command_is_named(tmp_path, ntuple):
    env = _fake_batch(tmp_path)
    env["PATH"] = str(tmp_path / "fakebin")  # no sbatch anywhere (python is called by path)
    res = _run_cli(env, str(ntuple), "--facility", "slurm", "--out", str(tmp_path / "out"),
                   cwd=tmp_path)
    assert res.returncode == 1, res.stderr
    line = _one_line(res.stderr)
    assert "sbatch" in line and "command not found" in line, line


def test_jobs_that_never_start_time_out_and_are_cancelled(tmp_path, ntuple):
    env = _fake_batch(tmp_path, sbatch=ACCEPT_SBATCH, squeue=SQUEUE, scancel=SCANCEL)
    res = _run_cli(env, str(ntuple), "--facility", "slurm", "--workers", "2",
                   "--worker-timeout", "3", "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert res.returncode == 1, res.stderr
    line = _one_line(res.stderr)
    submitted = sorted(_lines(tmp_path / "submitted"), key=int)
    assert len(set(submitted)) == 2, submitted
    assert "no Dask worker joined" in line and "within 3 s" in line, line
    assert f"batch jobs {submitted[0]}, {submitted[1]}" in line, line
    assert f"{submitted[0]} PENDING PartitionTimeLimit" in line, line
    # every submitted job cancelled on the way out
    assert sorted(_lines(tmp_path / "cancelled"), key=int) == submitted
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("sig,rc,message", [(signal.SIGTERM, 143, "terminated (SIGTERM)"),
                                            (signal.SIGINT, 130, "interrupted (Ctrl-C)")])
def test_interrupt_while_waiting_cancels_the_jobs(tmp_path, ntuple, sig, rc, message):
    env = _fake_batch(tmp_path, sbatch=ACCEPT_SBATCH, squeue=SQUEUE, scancel=SCANCEL)
    proc = subprocess.Popen(
        [sys.executable, "-m", "na64tools", "run", str(ntuple), "--facility", "slurm",
         "--workers", "2", "--worker-timeout", "600", "--no-progress", "--cluster-config",
         env["NA64_TEST_SITE"], "--out", str(tmp_path / "out")],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + TIMEOUT
        while len(_lines(tmp_path / "submitted")) < 2:  # both jobs queued: now waiting
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the jobs were never submitted"
            time.sleep(0.05)
        time.sleep(0.5)
        if sig == signal.SIGINT:
            os.killpg(proc.pid, sig)   # a terminal's Ctrl-C goes to the process group
        else:
            os.kill(proc.pid, sig)     # a batch system's or a user's kill
        _, err = proc.communicate(timeout=TIMEOUT)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == rc, err
    assert _one_line(err) == f"na64tools run: {message}"
    submitted = sorted(_lines(tmp_path / "submitted"), key=int)
    assert len(set(submitted)) == 2
    assert sorted(_lines(tmp_path / "cancelled"), key=int) == submitted


def test_scheduler_that_does_not_answer(tmp_path, ntuple):
    import socket

    with socket.socket() as s:  # a free port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = _fake_batch(tmp_path)
    start = time.monotonic()
    res = subprocess.run([sys.executable, "-c", textwrap.dedent(f"""\
        from na64tools.clients import make_client, ClusterError
        try:
            make_client("tcp://127.0.0.1:{port}", connect_timeout=2)
        except ClusterError as err:
            print(err)
        """)], env=env, capture_output=True, text=True, timeout=TIMEOUT)
    assert time.monotonic() - start < 60
    assert f"Dask scheduler tcp://127.0.0.1:{port} does not answer within 2 s" in res.stdout, \
        res.stdout + res.stderr


def test_dry_run_prints_the_job_script_and_submits_nothing(tmp_path):
    env = _fake_batch(tmp_path, sbatch=ACCEPT_SBATCH, scancel=SCANCEL)
    res = subprocess.run([sys.executable, "-m", "na64tools", "run", "x.root", "--facility",
                          "slurm", "--dry-run", "--queue", "short", "--walltime", "00:20:00",
                          "--account", "na64", "--job-extra=--qos=low", "--workers", "2:8"],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=TIMEOUT)
    assert res.returncode == 0, res.stderr
    out = res.stdout
    for directive in ("#SBATCH -p short", "#SBATCH -t 00:20:00", "#SBATCH -A na64",
                      "#SBATCH --qos=low"):
        assert directive in out, out
    assert "adaptive, 2 to 8 jobs" in out
    assert not (tmp_path / "submitted").exists()


def test_site_configuration_is_not_overridden(tmp_path):
    """A walltime and partition from the site's dask-jobqueue configuration reach the job script
    when the command line does not set them (they were overridden by -t 01:00:00 before)."""
    env = _fake_batch(tmp_path)
    conf = tmp_path / "dask"
    conf.mkdir()
    (conf / "jobqueue.yaml").write_text(textwrap.dedent("""\
        jobqueue:
          slurm:
            cores: 4
            memory: 8GB
            walltime: "00:20:00"
            queue: short30
            processes: 4
    """))
    env["DASK_CONFIG"] = str(conf)
    res = subprocess.run([sys.executable, "-m", "na64tools", "run", "x.root", "--facility",
                          "slurm", "--dry-run"], cwd=tmp_path, env=env, capture_output=True,
                         text=True, timeout=TIMEOUT)
    assert res.returncode == 0, res.stderr
    out = res.stdout
    assert "#SBATCH -t 00:20:00" in out and "#SBATCH -p short30" in out, out
    assert "#SBATCH --cpus-per-task=4" in out and "--nworkers 4" in out, out
    assert "01:00:00" not in out


def test_parse_workers_and_cluster_config_errors(tmp_path):
    from na64tools.clients import load_cluster_config, parse_workers

    assert parse_workers("4") == 4 and parse_workers("2:10") == (2, 10) and parse_workers("3:3") == 3
    for bad in ("0", "0:5", "5:2", "x", "2:"):
        with pytest.raises(ValueError, match="workers"):
            parse_workers(bad)
    conf = tmp_path / "run.yaml"
    conf.write_text("cluster:\n  facility: slurm\n  partition: short\n")
    with pytest.raises(ValueError, match=r"run.yaml: cluster.partition: unknown key"):
        load_cluster_config(conf)
    conf.write_text("cluster:\n  facility: kubernetes\n")
    with pytest.raises(ValueError, match=r"cluster.facility: expected one of"):
        load_cluster_config(conf)
    toml = tmp_path / "run.toml"
    toml.write_text('[cluster]\nfacility = "slurm"\nqueue = "short"\nworkers = "2:8"\n')
    assert load_cluster_config(toml) == {"facility": "slurm", "queue": "short", "workers": "2:8"}


def test_dask_batches_grow_as_workers_join(monkeypatch):
    """The batch size is taken when each batch starts: 16 chunks per worker present then."""
    from coffea import processor as cproc

    import na64tools.runner as na64run

    present = iter([1, 1, 3, 3, 3])
    sizes = []
    monkeypatch.setattr(na64run, "_dask_workers", lambda ex: next(present))
    monkeypatch.setattr(na64run, "_process_batch",
                        lambda ex, items, proc: sizes.append(len(items)) or len(items))
    ex = cproc.DaskExecutor.__new__(cproc.DaskExecutor)
    ex.client = None
    total = na64run._process(ex, list(range(100)), None)
    assert total == 100   # every chunk once
    assert sizes == [16, 16, 48, 20]


def test_workers_that_all_leave_mid_run_end_the_run(tmp_path):
    """The only worker closes itself while running a chunk (as a batch job at its walltime):
    the run stops after worker_timeout with a ClusterError instead of waiting forever."""
    from distributed import get_worker

    import na64tools.runner as na64run
    from na64tools.clients import ClusterError, make_client
    from na64tools.processor import MissingMomentumProcessor

    class Leaving(MissingMomentumProcessor):
        def process(self, events):
            if int(events.metadata.get("entrystart", 0)) > 0:
                worker = get_worker()
                worker.loop.add_callback(worker.close)   # gone, and no other comes
                import time as _t

                _t.sleep(5)
            return super().process(events)

    path = tmp_path / "f.root"
    nf.write_ntuple(path, 400, seed=92)
    with make_client("local", n_workers=1, cluster_options={"processes": False},
                     dashboard_address=None) as client:
        start = time.monotonic()
        with pytest.raises(ClusterError, match="every Dask worker left"):
            na64run.run({"background": [str(path)]}, Leaving(), executor="dask", client=client,
                        chunksize=100, progress=False, worker_timeout=3)
        assert time.monotonic() - start < 60
        # the scheduler's own setting is back
        assert client.run_on_scheduler(lambda dask_scheduler: dask_scheduler.no_workers_timeout) \
            is None
