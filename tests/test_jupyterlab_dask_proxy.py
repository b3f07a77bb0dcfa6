"""Notebook 03's Dask dashboard link through jupyter-server-proxy, as on Binder (JupyterHub).

Starts a Jupyter server on 127.0.0.1 (a free port, a token, base URL ``/user/student/`` and
``JUPYTERHUB_SERVICE_PREFIX`` set as JupyterHub sets them for a user's server), starts a kernel
through its REST API, runs in that kernel notebook 03's cell that makes the Dask client (with
one worker), takes the dashboard link the cell prints, and fetches it through the Jupyter server
with the token: the answer must be the Dask dashboard's status page (HTTP 200, a Bokeh
document), and every script the page loads must come through the proxy too. The server, the
kernel and the cluster are always stopped.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from _browser import free_port
from _process import stop_group

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "03_processor_and_dask.ipynb"
PREFIX = "/user/student/"  # a JupyterHub user's server


def _missing() -> str | None:
    for module in ("jupyter_server_proxy", "bokeh", "jupyter_server"):
        try:
            __import__(module)
        except ImportError:
            name = module.replace("_", "-")
            return f"{name} is not installed: pip install 'na64tools[notebooks]'"
    return None


def _client_cell() -> str:
    """The code cell of notebook 03 that makes the Dask client."""
    cells = json.loads(NOTEBOOK.read_text())["cells"]
    found = [c for c in cells if c["cell_type"] == "code"
             and "distributed.dashboard.link" in "".join(c["source"])]
    assert len(found) == 1, "notebook 03 has one cell setting distributed.dashboard.link"
    return "".join(found[0]["source"])


def _get(url: str, token: str, timeout: float = 30):
    req = urllib.request.Request(url, headers={"Authorization": f"token {token}"})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return r.status, r.headers.get("Content-Type", ""), r.read()


def _run(kc, code: str, timeout: float = 180) -> str:
    """Execute ``code`` in the kernel; its stdout (an error in the kernel fails the test)."""
    out: list[str] = []

    def hook(msg):
        if msg["msg_type"] == "stream":
            out.append(msg["content"]["text"])
        elif msg["msg_type"] == "error":
            out.append("\n".join(msg["content"]["traceback"]))

    reply = kc.execute_interactive(code, output_hook=hook, timeout=timeout)
    assert reply["content"]["status"] == "ok", "".join(out)
    return "".join(out)


def test_dask_dashboard_through_jupyter_server_proxy(tmp_path):
    reason = _missing()
    if reason:
        pytest.skip(reason)
    from jupyter_client import BlockingKernelClient

    port, token = free_port(), secrets.token_hex(16)
    runtime = tmp_path / "runtime"
    env = dict(os.environ, JUPYTERHUB_SERVICE_PREFIX=PREFIX, JUPYTER_RUNTIME_DIR=os.fspath(runtime),
               JUPYTER_CONFIG_DIR=os.fspath(tmp_path / "config"),
               PYTHONPATH=os.pathsep.join(p for p in (os.fspath(ROOT), os.environ.get("PYTHONPATH"))
                                          if p))
    cmd = [sys.executable, "-m", "jupyter_server", "--no-browser", "--ServerApp.ip=127.0.0.1",
           f"--ServerApp.port={port}", "--ServerApp.port_retries=0", f"--ServerApp.base_url={PREFIX}",
           f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={tmp_path}"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:  # e.g. a CI container
        cmd.append("--allow-root")
    log = open(tmp_path / "server.log", "w")  # noqa: SIM115 - closed in finally
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, start_new_session=True)
    server = f"http://127.0.0.1:{port}"
    kc = None
    try:
        end = time.monotonic() + 120
        while True:
            assert proc.poll() is None, f"the Jupyter server exited with code {proc.returncode}"
            try:
                _get(f"{server}{PREFIX}api/status", token, timeout=5)
                break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                assert time.monotonic() < end, "the Jupyter server did not start"
                time.sleep(0.3)
        req = urllib.request.Request(f"{server}{PREFIX}api/kernels", data=b"{}", method="POST",
                                     headers={"Authorization": f"token {token}"})
        with urllib.request.urlopen(req, timeout=60) as r:
            kernel = json.loads(r.read())["id"]
        kc = BlockingKernelClient(connection_file=os.fspath(runtime / f"kernel-{kernel}.json"))
        kc.load_connection_file()
        kc.start_channels()
        kc.wait_for_ready(timeout=120)
        printed = _run(kc, "WORKERS = 1\n" + _client_cell())
        link = re.search(r"dashboard:\s*(\S+)", printed).group(1)
        # the link goes through the notebook server, relative to its base URL
        assert re.fullmatch(re.escape(PREFIX) + r"proxy/\d+/status", link), link
        status, ctype, body = _get(server + link, token)
        page = body.decode()
        assert status == 200 and ctype.startswith("text/html"), (status, ctype)
        assert "Bokeh" in page and "Dask" in page, page[:500]  # the Dask dashboard, not "needs bokeh"
        # the page's scripts (Bokeh's JavaScript) are served through the proxy as well
        scripts = re.findall(r'<script[^>]+src="([^"]+)"', page)
        assert scripts, page[:500]
        for src in scripts:
            url = urllib.parse.urljoin(server + link, src)
            assert url.startswith(f"{server}{PREFIX}proxy/"), url
            status, _, js = _get(url, token)
            assert status == 200 and len(js) > 1000, (url, status, len(js))
        _run(kc, "client.close(); client.cluster.close()", timeout=60)
    finally:
        if kc is not None:
            kc.stop_channels()
        stop_group(proc, log)  # the server shuts its kernel down
