"""The hosted dashboard without a browser: a cap on concurrent kernels answers with a polite
"busy" page (HTTP 503), a page fetched without a browser (e.g. curl) starts a kernel that the
server counts, and the XSRF check is on: the kernel shutdown that the page sends when closed is
refused without the ``_xsrf`` token (as a page of another site would send it) and accepted with
the token of the cookie the page got, which frees the visitor's place. Starts Voilà on a free
port of 127.0.0.1; always stops it."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from http.cookies import SimpleCookie

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
            cookies = SimpleCookie()
            for c in r.headers.get_all("Set-Cookie") or []:
                cookies.load(c)
        assert "_xsrf" in cookies, "the page sets the _xsrf cookie its shutdown request carries"
        assert "<title>NA64" in page and "cdn.jsdelivr" not in page
        with pytest.raises(urllib.error.HTTPError) as busy:  # the second: over the cap
            urllib.request.urlopen(url, timeout=300)
        assert busy.value.code == 503
        body = busy.value.read().decode()
        busy.value.close()  # an HTTPError holds the response's socket
        assert "please try again" in body.lower() and "Traceback" not in body
        assert "http" not in body.lower().replace("http-equiv", "")  # nothing fetched from outside

        # the page's kernel shutdown (what its beforeunload sends): refused without the token ...
        kernel = re.search(r'"kernelId":\s*"([0-9a-f-]{36})"', page).group(1)
        shutdown = f"{url}voila/api/shutdown/{kernel}"
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(urllib.request.Request(shutdown, data=b"", method="POST"),
                                   timeout=60)
        assert refused.value.code == 403
        refused.value.close()
        with pytest.raises(urllib.error.HTTPError) as still_busy:  # the kernel still runs
            urllib.request.urlopen(url, timeout=300)
        assert still_busy.value.code == 503
        still_busy.value.close()
        # ... accepted with the token of the page's _xsrf cookie, as the page sends it
        xsrf = cookies["_xsrf"].value
        req = urllib.request.Request(shutdown, data=urllib.parse.urlencode({"_xsrf": xsrf}).encode(),
                                     method="POST", headers={"Cookie": f"_xsrf={xsrf}"})
        with urllib.request.urlopen(req, timeout=60) as r:
            assert r.status == 204
        with urllib.request.urlopen(url, timeout=300) as r:  # the place is free again
            assert r.status == 200
    finally:
        stop_group(proc, log)  # the server and its kernels: the group we started
