"""The hosted dashboard without a browser: a cap on concurrent kernels answers with a polite
"busy" page (HTTP 503), and a page fetched without a browser (e.g. curl) starts a kernel that
the server counts. Starts Voilà on a free port of 127.0.0.1; always stops it."""

from __future__ import annotations

import os
import socket
import subprocess
import time
import urllib.error
import urllib.request

import pytest
from _process import stop_group

pytest.importorskip("voila")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_kernel_cap_gives_a_polite_busy_page(small_output, tmp_path):
    from coffea.util import save

    from na64tools.interactive.dashboard import voila_command, voila_env

    data = tmp_path / "data"
    data.mkdir()
    save(small_output, os.fspath(data / "output.coffea"))
    port = _free_port()
    log = open(tmp_path / "server.log", "w")  # noqa: SIM115 - closed in finally
    proc = subprocess.Popen(voila_command(port, max_kernels=1), env=voila_env(data), stdout=log,
                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        end = time.monotonic() + 120
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < end and proc.poll() is None, "the server did not start"
                time.sleep(0.5)
        url = f"http://127.0.0.1:{port}/"
        with urllib.request.urlopen(url, timeout=300) as r:  # the first visitor: a kernel
            assert r.status == 200
            page = r.read().decode()
        assert "<title>NA64" in page and "cdn.jsdelivr" not in page
        with pytest.raises(urllib.error.HTTPError) as busy:  # the second: over the cap
            urllib.request.urlopen(url, timeout=300)
        assert busy.value.code == 503
        body = busy.value.read().decode()
        assert "please try again" in body.lower() and "Traceback" not in body
        assert "http" not in body.lower().replace("http-equiv", "")  # nothing fetched from outside
    finally:
        stop_group(proc, log)  # the server and its kernels: the group we started
