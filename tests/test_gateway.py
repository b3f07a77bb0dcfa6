"""The gateway facility against a real dask-gateway-server (local backend, on 127.0.0.1, started
here and stopped at the end; tests/_batch.py): the processor run through ``make_client
("gateway", address=..., proxy_address=...)`` gives results bit-identical to the iterative
executor, the gateway cluster is shut down afterwards, and a gateway that does not answer is a
one-line error. Skipped, with the reason, without dask-gateway-server.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))
import _batch  # noqa: E402
import ntuple_factory as nf  # noqa: E402

pytestmark = [pytest.mark.cluster,
              pytest.mark.skipif(sys.platform == "win32", reason="local gateway backend")]


@pytest.fixture(scope="module")
def gateway(tmp_path_factory):
    try:
        with _batch.gateway(tmp_path_factory.mktemp("gateway")) as info:
            yield info
    except _batch.Unavailable as err:
        pytest.skip(f"no test Dask Gateway: {err}")


def test_gateway_facility_bit_identical(gateway, tmp_path):
    import na64tools.runner as na64run
    from na64tools.clients import ClusterClient, make_client

    files = []
    for i, n in enumerate((500, 300)):
        files.append(str(tmp_path / f"f{i}.root"))
        nf.write_ntuple(files[-1], n, seed=90 + i, basket=150)
    fs = {"background": files}
    ref = na64run.run(fs, executor="iterative", chunksize=10_000, progress=False)
    from dask_gateway import Gateway

    with make_client("gateway", n_workers=2, address=gateway["address"],
                     proxy_address=gateway["proxy_address"]) as client:
        assert isinstance(client, ClusterClient)
        name = client.cluster.name
        out = na64run.run(fs, executor="dask", client=client, chunksize=150, progress=False,
                          worker_timeout=90)
    assert out["cutflow"] == ref["cutflow"]
    for key, h in ref["hists"].items():
        assert np.array_equal(h.values(flow=True), out["hists"][key].values(flow=True)), key
        assert np.array_equal(h.variances(flow=True), out["hists"][key].variances(flow=True)), key
    for c in ref["table"].columns:
        assert np.array_equal(ref["table"].columns[c], out["table"].columns[c]), c
    assert out["mot"] == ref["mot"]
    assert out["run"]["workers_used"]
    # leaving the with block shut the gateway cluster down
    gw = Gateway(gateway["address"], proxy_address=gateway["proxy_address"])
    try:
        assert name not in {c.name for c in gw.list_clusters()}
    finally:
        gw.close()
        del gw._loop_runner  # dask-gateway's __del__ would close it again on a stopped loop


def test_gateway_that_does_not_answer():
    from na64tools.clients import ClusterError, make_client

    port = _batch.free_port()   # nobody listens there
    with pytest.raises(ClusterError, match=f"gateway http://127.0.0.1:{port}"):
        make_client("gateway", address=f"http://127.0.0.1:{port}",
                    proxy_address=f"gateway://127.0.0.1:{port}")
