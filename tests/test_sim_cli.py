"""``na64tools simulate``: options, output, and clear errors (exit code 1, message naming the value)."""

import numpy as np
import pytest
import uproot

from na64tools.cli import main


def test_background_files(tmp_path, capsys):
    rc = main(["simulate", "--sample", "background", "--events", "2e4", "--mot", "5e11", "--seed", "3",
               "--out", str(tmp_path), "--files", "2", "--no-progress"])
    assert rc == 0
    out = capsys.readouterr().out
    paths = sorted(tmp_path.glob("*.root"))
    assert [p.name for p in paths] == ["background_seed3_0000.root", "background_seed3_0001.root"]
    assert all(str(p.name) in out for p in paths) and "20000 events" in out
    mot = sum(uproot.open(p)["Runs"]["mot"].array(library="np")[0] for p in paths)
    assert mot == pytest.approx(5e11, rel=1e-12)


def test_signal_file_and_progress_bar(tmp_path, capsys):
    rc = main(["simulate", "--sample", "signal", "--model", "dark_photon", "--mass", "0.05",
               "--coupling", "1e-3", "--events", "2000", "--out", str(tmp_path)])
    assert rc == 0
    captured = capsys.readouterr()
    assert "na64tools simulate" in captured.err  # tqdm bar
    (path,) = tmp_path.glob("*.root")
    assert path.name == "signal_dark_photon_m0.05_g0.001_seed0_0000.root"
    runs = uproot.open(path)["Runs"].arrays(library="np")
    assert runs["model"][0] == "dark_photon" and runs["nGenerated"][0] == 2000
    ev = uproot.open(path)["Events"].arrays(["Gen_process"], library="np")
    assert np.all(ev["Gen_process"] == 1)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--sample", "signal", "--mass", "-0.1"], "mass: value -0.1 must be > 0"),
        (["--sample", "signal", "--mass", "500"], "mass 500.0 GeV is above the kinematic limit"),
        (["--sample", "signal", "--mass", "0.1", "--model", "axion"], "unknown model 'axion'"),
        (["--sample", "background", "--mot=-1e10"], "mot: value -10000000000.0 must be > 0"),
        (["--sample", "signal", "--mass", "0.1", "--mot", "1e10", "--events", "100"], "not both"),
        (["--sample", "background", "--events", "1000", "--workers", "0"], "--workers: value 0 must be >= 1"),
    ],
)
def test_bad_input(tmp_path, capsys, argv, message):
    assert main(["simulate", *argv, "--out", str(tmp_path / "o")]) == 1
    err = capsys.readouterr().err
    assert "na64tools simulate: error:" in err and message in err
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").iterdir())


def test_unknown_sample_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as e:
        main(["simulate", "--sample", "data"])
    assert e.value.code == 2
    assert "invalid choice: 'data'" in capsys.readouterr().err


def test_unwritable_output(tmp_path, capsys):
    f = tmp_path / "file"
    f.write_text("x")
    assert main(["simulate", "--sample", "background", "--events", "1000", "--out", str(f / "d")]) == 1
    assert f"output directory '{f / 'd'}' cannot be created" in capsys.readouterr().err


def test_bad_event_count(capsys):
    with pytest.raises(SystemExit) as e:
        main(["simulate", "--sample", "background", "--events", "1.5"])
    assert e.value.code == 2
    assert "invalid count '1.5'" in capsys.readouterr().err


@pytest.mark.cluster
@pytest.mark.slow
def test_local_workers(tmp_path, capsys):
    rc = main(["simulate", "--sample", "background", "--events", "3e4", "--seed", "4", "--out",
               str(tmp_path / "par"), "--files", "3", "--workers", "2", "--no-progress"])
    assert rc == 0
    assert "Dask dashboard:" in capsys.readouterr().out
    rc = main(["simulate", "--sample", "background", "--events", "3e4", "--seed", "4", "--out",
               str(tmp_path / "ser"), "--files", "3", "--no-progress"])
    from na64tools.sim.writer import content_hash

    par = sorted((tmp_path / "par").glob("*.root"))
    ser = sorted((tmp_path / "ser").glob("*.root"))
    assert len(par) == 3 and content_hash(par, exclude=()) == content_hash(ser, exclude=())
