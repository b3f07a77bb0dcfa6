"""Servers bind to 127.0.0.1, and nothing depends on a fixed free port (8787 held by another
program: a Dask cluster or a JupyterLab of the user)."""

from __future__ import annotations

import errno
import socket
import sys
import warnings
from pathlib import Path
from urllib.parse import urlparse

import pytest

sys.path.insert(0, str(Path(__file__).parent))
import ntuple_factory as nf  # noqa: E402

pytest.importorskip("distributed")

from na64tools.clients import close_client, make_client  # noqa: E402


def _hold(host: str, port: int) -> socket.socket | None:
    """A listening socket on host:port, or None if something else already holds that port."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind((host, port))
    except OSError as err:
        s.close()
        if err.errno == errno.EADDRINUSE:
            return None  # another program holds it: the situation under test anyway
        raise
    s.listen(1)
    return s


def _host(address: str) -> str:
    return urlparse(address if "://" in address else f"tcp://{address}").hostname


@pytest.mark.parametrize("held", ["127.0.0.1", "0.0.0.0"])
def test_local_client_and_run_with_port_8787_taken(tmp_path, held):
    import na64tools.runner as na64run

    nf.write_ntuple(tmp_path / "bkg.root", 300, seed=5)
    sock = _hold(held, 8787)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            client = make_client("local", n_workers=1)
            try:
                out = na64run.run({"background": [str(tmp_path / "bkg.root")]}, executor="dask",
                                  client=client, progress=False)
            finally:
                close_client(client)
            # and the cluster run() makes itself
            out2 = na64run.run({"background": [str(tmp_path / "bkg.root")]}, executor="dask",
                               workers=1, progress=False)
    finally:
        if sock is not None:
            sock.close()
    assert out["mot"]["background"].n_processed == 300
    assert out2["cutflow"] == out["cutflow"]
    assert [str(w.message) for w in caught] == []


def test_local_client_servers_on_loopback():
    client = make_client("local", n_workers=2)
    try:
        assert _host(client.scheduler.address) == "127.0.0.1"
        workers = client.scheduler_info()["workers"]
        assert len(workers) == 2 and {_host(w) for w in workers} == {"127.0.0.1"}
        assert _host(client.dashboard_link) == "127.0.0.1"

        def http_hosts(dask_worker):
            return sorted({s.getsockname()[0] for s in dask_worker.http_server._sockets.values()})

        scheduler = client.cluster.scheduler
        assert {s.getsockname()[0] for s in scheduler.http_server._sockets.values()} == {"127.0.0.1"}
        assert list(client.run(http_hosts).values()) == [["127.0.0.1"]] * 2
        assert {_host(nanny.address) for nanny in client.cluster.workers.values()} == {"127.0.0.1"}
    finally:
        close_client(client)


def test_no_dashboard_takes_no_fixed_port():
    sock = _hold("127.0.0.1", 8787)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            client = make_client("local", n_workers=1, cluster_options={"processes": False},
                                 dashboard_address=None)
            try:
                assert client.submit(lambda x: 2 * x, 21).result() == 42
            finally:
                close_client(client)
    finally:
        if sock is not None:
            sock.close()
    assert [str(w.message) for w in caught] == []
