"""Stopping the process groups (servers, schedulers, batch daemons) that the tests start."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time


def stop_group(proc: subprocess.Popen, log=None) -> None:
    """SIGTERM the process group of ``proc`` (the server and its kernels), SIGKILL it after 20 s,
    and close ``log``."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    if log is not None:
        log.close()


def stop_groups(procs, grace: float = 20) -> None:
    """SIGTERM the process groups of ``procs`` (in this order), wait up to ``grace`` seconds for
    all of them together, then SIGKILL the groups still running."""
    for p in procs:
        if p.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    for p in procs:
        try:
            p.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, signal.SIGKILL)
            p.wait(timeout=10)
