"""``na64tools limits`` on outputs that cannot give the requested result: a clear one-line error
and exit code 1 (never a traceback, never an empty result with exit code 0), or a result that says
plainly what it is (partial output, expected limits only)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from na64tools import default_setup
from na64tools.cli import main
from na64tools.runner import run, save_output


def _save(fileset, path: Path, **kw) -> Path:
    out = run(fileset, executor="iterative", progress=False, **kw)
    save_output(out, path)
    return path.with_suffix(".json")


@pytest.fixture(scope="module")
def saved(small_fileset, small_output, tmp_path_factory):
    d = tmp_path_factory.mktemp("saved")
    save_output(small_output, d / "full")
    paths = {"full": d / "full.json"}
    paths["partial"] = _save(small_fileset, d / "partial", chunksize=600, maxchunks=1)
    paths["background"] = _save({"background": small_fileset["background"]}, d / "background")
    paths["one_mass"] = _save({k: small_fileset[k] for k in ("signal_vector_m0.1", "background")},
                              d / "one_mass")
    return paths


def _limits(capsys, *argv):
    code = main(["limits", *map(str, argv)])
    cap = capsys.readouterr()
    assert "Traceback" not in cap.err
    return code, cap.out, cap.err


def _listed_plots(report: Path) -> list[str]:
    m = re.search(r"^Plots: (.*)\.$", report.read_text(), flags=re.M)
    return re.findall(r"`([^`]+)`", m.group(1)) if m else []


def test_partial_output_is_refused(saved, capsys, tmp_path):
    code, out, err = _limits(capsys, saved["partial"], "--out", tmp_path / "lim")
    assert code == 1 and out == ""
    assert err.startswith("na64tools limits: error: incomplete processor output: only ")
    assert "--allow-partial" in err and err.count("\n") == 1
    assert not (tmp_path / "lim" / "report.md").exists()


def test_allow_partial_says_so_everywhere(saved, capsys, tmp_path):
    code, out, err = _limits(capsys, saved["partial"], "--allow-partial", "--out", tmp_path / "lim")
    assert code == 0, err
    assert out.startswith("NOTE: PARTIAL OUTPUT: only ")
    report = (tmp_path / "lim" / "report.md").read_text()
    assert "**Read this first:**" in report and "PARTIAL OUTPUT" in report
    summary = json.loads((tmp_path / "lim" / "summary.json").read_text())
    assert summary["partial"] is True and summary["notes"][0].startswith("PARTIAL OUTPUT")
    exported = json.loads((tmp_path / "lim" / "result.json").read_text())   # the JSON export
    assert exported["partial"] is True and exported["notes"] == summary["notes"]


def test_model_without_signal(saved, capsys, tmp_path):
    code, out, err = _limits(capsys, saved["full"], "--model", "scalar", "--out", tmp_path / "lim")
    assert code == 1 and out == ""
    assert err == ("na64tools limits: error: no signal sample for model 'scalar' in the processor "
                   "output (have: vector)\n")


def test_background_only_output(saved, capsys, tmp_path):
    code, out, err = _limits(capsys, saved["background"], "--out", tmp_path / "lim")
    assert code == 1 and out == ""
    assert err.startswith("na64tools limits: error: the processor output has no signal sample")


def test_other_exposure_gives_expected_limits_only(saved, capsys, tmp_path):
    code, out, err = _limits(capsys, saved["full"], "--mot", "1e15", "--out", tmp_path / "lim")
    assert code == 0, err
    assert "NOTE: Expected limits only: 1e+15 MOT is not the exposure of the run" in out
    assert "(1.98e+10 MOT, 0 events observed); give n_obs" in out
    assert "signal upper limit: expected only, median" in out and "events (90% CL, " not in out
    report = (tmp_path / "lim" / "report.md").read_text()
    assert "expected limits only" in report and "(observed)" not in report
    summary = json.loads((tmp_path / "lim" / "summary.json").read_text())
    assert summary["n_obs"] is None and summary["limits"]["observed"] is None
    assert summary["samples_setup_hash"] == [default_setup().hash]   # the files' setup, reported
    # with --n-obs the observed limit is back
    code, out, err = _limits(capsys, saved["full"], "--mot", "1e15", "--n-obs", "0",
                             "--out", tmp_path / "lim2")
    assert code == 0 and "events (90% CL, 0 observed)" in out and "NOTE" not in out


@pytest.mark.parametrize("argv,message", [
    (["--mot", "-1"], "--mot -1.0: expected a positive number of muons on target"),
    (["--mot", "nan"], "--mot nan: expected a positive number of muons on target"),
    (["--n-obs", "-2"], "--n-obs -2: expected a non-negative number of events"),
])
def test_bad_numbers(saved, capsys, tmp_path, argv, message):
    code, out, err = _limits(capsys, saved["full"], *argv, "--out", tmp_path / "lim")
    assert code == 1 and err == f"na64tools limits: error: {message}\n"


def test_report_lists_only_plots_written(saved, capsys, tmp_path):
    code, _, err = _limits(capsys, saved["full"], "--out", tmp_path / "full")
    assert code == 0, err
    listed = _listed_plots(tmp_path / "full" / "report.md")
    assert {"exclusion.png", "efficiency.png", "background.png"} <= set(listed)
    assert all((tmp_path / "full" / p).is_file() for p in listed)
    assert sorted(p.name for p in (tmp_path / "full").glob("*.png")) == sorted(listed)
    # one simulated mass: a point limit (drawn as a point, not a curve), and what is listed exists
    code, out, err = _limits(capsys, saved["one_mass"], "--out", tmp_path / "one")
    assert code == 0, err
    assert "NOTE: One simulated mass (0.1 GeV)" in out
    listed = _listed_plots(tmp_path / "one" / "report.md")
    assert "exclusion.png" in listed and (tmp_path / "one" / "exclusion.png").is_file()
    assert sorted(p.name for p in (tmp_path / "one").glob("*.png")) == sorted(listed)


def test_console_error_without_traceback(saved, tmp_path):
    """The installed entry point (python -m na64tools): exit code 1 and one line, no traceback."""
    proc = subprocess.run([sys.executable, "-m", "na64tools", "limits", str(saved["partial"]),
                           "--out", str(tmp_path / "lim")], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert proc.stderr.startswith("na64tools limits: error: incomplete processor output")
