"""``na64tools run`` and the Dask client factory."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
import ntuple_factory as nf  # noqa: E402

from na64tools.cli import main  # noqa: E402
from na64tools.clients import FACILITIES, close_client, is_address, make_client  # noqa: E402


def test_cli_run_prints_cutflow_and_saves(tmp_path, capsys):
    (tmp_path / "in").mkdir()
    nf.write_ntuple(tmp_path / "in" / "bkg.root", 400, seed=80)
    nf.write_ntuple(tmp_path / "in" / "sig.root", 300, seed=81, sample="signal", model="scalar", mass=0.05)
    cuts = tmp_path / "cuts.toml"
    cuts.write_text("[cuts]\np_out_max = 70.0\n")
    rc = main(["run", str(tmp_path / "in"), "--executor", "iterative", "--chunksize", "150",
               "--cuts", str(cuts), "--out", str(tmp_path / "out"), "--no-progress"])
    assert rc == 0
    out = capsys.readouterr().out
    assert "background" in out and "signal_scalar_m0.05" in out and "p_out" in out
    assert (tmp_path / "out" / "output.json").exists() and (tmp_path / "out" / "output.root").exists()
    assert not (tmp_path / "out" / "output.coffea").exists()  # no pickle unless asked (--pickle)
    import na64tools

    res = na64tools.load_output(tmp_path / "out" / "output.json")
    assert res["cuts"].p_out_max == 70.0
    ev = nf.make_events(300, 81, sample="signal")
    exp = nf.expected_cutflow(ev, res["cuts"])
    assert tuple(res["cutflow"]["signal_scalar_m0.05"]["vhcal"]) == exp["vhcal"]


def test_cli_run_bad_file_is_an_error_naming_it(tmp_path, capsys):
    path = tmp_path / "bad.root"
    nf.write_ntuple(path, 50, seed=1, drop=("Beam_p",))
    rc = main(["run", str(path), "--executor", "iterative", "--out", str(tmp_path), "--no-progress"])
    assert rc == 1
    err = capsys.readouterr().err
    assert str(path) in err and "Beam_p" in err
    good = tmp_path / "good.root"
    nf.write_ntuple(good, 50, seed=2)
    rc = main(["run", str(path), str(good), "--executor", "iterative", "--out", str(tmp_path),
               "--skip-bad-files", "--no-progress"])
    assert rc == 0
    assert f"skipped {path}" in capsys.readouterr().err


def test_is_address():
    assert is_address("tcp://127.0.0.1:8786") and is_address("10.0.0.1:8786")
    assert is_address("tls://scheduler.cern.ch:8786")
    assert not is_address("local") and not is_address("slurm")


def test_make_client_errors():
    with pytest.raises(ValueError, match="unknown facility"):
        make_client("kubernetes")
    with pytest.raises(ValueError, match="address"):
        make_client("address")
    assert set(FACILITIES) == {"local", "address", "htcondor", "slurm", "lxplus", "gateway"}


@pytest.mark.parametrize("facility,module", [("htcondor", "dask_jobqueue"), ("slurm", "dask_jobqueue"),
                                             ("lxplus", "dask_lxplus"), ("gateway", "dask_gateway")])
def test_batch_facilities_need_their_package(facility, module):
    try:
        __import__(module)
    except ImportError:
        with pytest.raises(ImportError, match=module):
            make_client(facility)
    else:
        pytest.skip(f"{module} installed: would submit jobs")


def test_local_client_without_processes_and_close():
    client = make_client("local", n_workers=1, cluster_options={"processes": False},
                         dashboard_address=None)
    try:
        assert client.submit(lambda x: x + 1, 1).result() == 2
        assert len(client.scheduler_info()["workers"]) == 1
    finally:
        cluster = client.cluster
        close_client(client)
    assert cluster.status.name == "closed"
