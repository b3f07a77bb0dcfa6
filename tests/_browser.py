"""What the browser tests share: Debian's Chromium and its flags, a free loopback port, waiting
for a local server to answer, and the skip reason when a piece is missing."""

from __future__ import annotations

import os
import socket
import subprocess
import time
import urllib.error
import urllib.request

CHROMIUM = "/usr/bin/chromium"
#: headless, no sandbox (root in CI), and no background connections (this machine's network is
#: closed: they would be refused, many at a time)
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def missing(*modules: tuple[str, str]) -> str | None:
    """Why a browser test cannot run (Chromium or one of ``modules`` missing), or ``None``.

    ``modules``: ``(import name, extra that provides it)`` pairs; playwright is always needed.
    """
    if not os.path.exists(CHROMIUM):
        return f"Debian's Chromium is not installed ({CHROMIUM}): apt-get install -y chromium"
    for module, extra in (("playwright.sync_api", "dashboard"), *modules):
        try:
            __import__(module)
        except ImportError:
            return f"{module.split('.')[0]} is not installed: pip install '.[{extra}]'"
    return None


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now (never a fixed one)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, proc: subprocess.Popen, timeout: float, what: str = "the server") -> None:
    """Wait until ``url`` answers 200; fail if ``proc`` (the server) exits first or after
    ``timeout`` seconds."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise AssertionError(f"{what} exited with code {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                if r.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.3)
    raise AssertionError(f"{what} did not answer on {url} within {timeout:g} s")
