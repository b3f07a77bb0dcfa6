"""Ctrl-C and SIGTERM stop a command cleanly: exit 130 / 143, one line on stderr, no traceback,
no partial file, no worker process left.

Each test starts ``python -m na64tools ...`` in its own session (so that a signal to the group
is what a terminal's Ctrl-C or a batch system does), waits for a sign that the command is at
work (a temporary file, a line on stdout, worker processes), then signals it. No timing
assumption beyond generous time-outs.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
import ntuple_factory as nf  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
TIMEOUT = 180  # seconds: generous, for a loaded machine

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")


class Command:
    """``python -m na64tools ARGS`` in a new session, its stdout collected line by line."""

    def __init__(self, *args: str, cwd: Path):
        env = dict(os.environ, PYTHONUNBUFFERED="1", MPLBACKEND="agg",
                   PYTHONPATH=os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", ""))
                                              if p))
        self.proc = subprocess.Popen([sys.executable, "-m", "na64tools", *args], cwd=cwd, env=env,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     stdin=subprocess.DEVNULL, start_new_session=True)
        self.lines: list[str] = []
        self.err = ""
        self._out = threading.Thread(target=self._read_out, daemon=True)
        self._err = threading.Thread(target=self._read_err, daemon=True)
        self._out.start()
        self._err.start()

    def _read_out(self):
        for line in self.proc.stdout:
            self.lines.append(line)

    def _read_err(self):
        self.err = self.proc.stderr.read()

    def wait_for(self, condition, what: str) -> None:
        deadline = time.monotonic() + TIMEOUT
        while not condition():
            if self.proc.poll() is not None:
                self.finish()
                raise AssertionError(f"the command ended (rc {self.proc.returncode}) before {what}:"
                                     f"\n{''.join(self.lines)}\n{self.err}")
            if time.monotonic() > deadline:
                self.kill()
                raise AssertionError(f"no sign of {what} after {TIMEOUT} s")
            time.sleep(0.02)

    def finish(self) -> int:
        try:
            rc = self.proc.wait(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            self.kill()
            raise
        self._close()
        return rc

    def _close(self) -> None:
        self._out.join(timeout=30)
        self._err.join(timeout=30)
        self.proc.stdout.close()
        self.proc.stderr.close()

    def kill(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(timeout=30)
        self._close()


def _children(pid: int) -> list:
    import psutil

    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def _assert_one_line(err: str, expected: str) -> None:
    assert "Traceback" not in err, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert lines == [expected], err


def _assert_gone(procs) -> None:
    import psutil

    _, alive = psutil.wait_procs(procs, timeout=60)
    assert not alive, f"worker processes left running: {alive}"


def _temp_files(out: Path) -> list[Path]:
    return [p for d in out.glob(".na64tools-tmp-*") for p in d.iterdir()]


@pytest.mark.parametrize("workers,group", [(None, False), (2, False), (2, True)],
                         ids=["serial", "dask-workers", "dask-workers-whole-group"])
def test_simulate_sigterm_leaves_no_partial_file(tmp_path, workers, group):
    out = tmp_path / "sim"
    args = ["simulate", "--sample", "background", "--events", "4e6", "--seed", "3",
            "--out", str(out), "--no-progress"]
    if workers:
        args += ["--workers", str(workers), "--files", "2"]
    cmd = Command(*args, cwd=tmp_path)
    cmd.wait_for(lambda: out.is_dir() and _temp_files(out), "a file being written")
    workers_procs = _children(cmd.proc.pid)
    if group:  # as a batch system does: the workers die at once, the command cleans up
        os.killpg(cmd.proc.pid, signal.SIGTERM)
    else:  # the process only, as `kill PID` does
        os.kill(cmd.proc.pid, signal.SIGTERM)
    rc = cmd.finish()
    assert rc == 143, cmd.err
    _assert_one_line(cmd.err, "na64tools simulate: terminated (SIGTERM)")
    assert list(out.glob(".na64tools-tmp-*")) == []
    _assert_only_complete_files(out)
    _assert_gone(workers_procs)


def _assert_only_complete_files(out: Path) -> None:
    """A file a worker finished while the command was stopping its cluster stays (it was renamed
    into place whole, ``sim.writer.write_file``); every ``.root`` file left must then be complete:
    its Events tree holds the ``nWritten`` events its Runs entry announces."""
    import uproot

    for path in out.glob("*.root"):
        with uproot.open(path) as f:
            n_written = int(f["Runs"]["nWritten"].array(library="np")[0])
            assert f["Events"].num_entries == n_written, f"{path.name}: partial file left"


@pytest.mark.parametrize("stage", ["[1/", "[3/"], ids=["simulating", "processing-on-dask"])
def test_demo_ctrl_c_stops_cleanly(tmp_path, stage):
    out = tmp_path / "demo"
    cmd = Command("demo", "--out", str(out), "--masses", "0.1", "--signal-events", "3000",
                  "--background-events", "300000", "--quiet", cwd=tmp_path)
    cmd.wait_for(lambda: any(line.startswith(stage) for line in cmd.lines), f"the line {stage}")
    children = _children(cmd.proc.pid)
    os.killpg(cmd.proc.pid, signal.SIGINT)  # a terminal's Ctrl-C reaches the whole group
    rc = cmd.finish()
    assert rc == 130, cmd.err
    _assert_one_line(cmd.err, "na64tools demo: interrupted (Ctrl-C)")
    assert not any(line.startswith("written:") for line in cmd.lines)
    assert [p for p in (out / "data").rglob(".na64tools-tmp-*")] == []
    _assert_gone(children)


@pytest.fixture(scope="module")
def ntuples(tmp_path_factory):
    d = tmp_path_factory.mktemp("interrupt_run")
    for i in range(2):
        nf.write_ntuple(d / f"bkg_{i}.root", 20_000, seed=70 + i)
    return d


@pytest.mark.parametrize("executor,sig,rc,message", [
    ("dask", signal.SIGINT, 130, "interrupted (Ctrl-C)"),
    ("dask", signal.SIGTERM, 143, "terminated (SIGTERM)"),
    ("futures", signal.SIGINT, 130, "interrupted (Ctrl-C)"),
])
def test_run_interrupted_closes_its_workers(tmp_path, ntuples, executor, sig, rc, message):
    cmd = Command("run", str(ntuples), "--executor", executor, "--workers", "2", "--chunksize",
                  "2000", "--no-progress", "--out", str(tmp_path / "out"), cwd=tmp_path)
    cmd.wait_for(lambda: len(_children(cmd.proc.pid)) >= 2, "worker processes")
    children = _children(cmd.proc.pid)
    if sig == signal.SIGINT:
        os.killpg(cmd.proc.pid, sig)
    else:
        os.kill(cmd.proc.pid, sig)
    assert cmd.finish() == rc, cmd.err
    _assert_one_line(cmd.err, f"na64tools run: {message}")
    assert not (tmp_path / "out" / "output.json").exists()
    _assert_gone(children)
