"""Stopping the server process groups that the browser and hosting tests start."""

from __future__ import annotations

import os
import signal
import subprocess


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
