"""A new user's mistakes on the command line: each gets one line ``na64tools <command>: error:
...`` saying what was given and what to do instead; no traceback, and no work before the check
(docs/errors.md). The command runs in a subprocess, as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def cli(*argv, cwd=None, block=(), timeout=300):
    """Run ``python -m na64tools ARGV``; ``block``: modules made unimportable (a missing extra)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), MPLBACKEND="agg")
    if block:
        code = (f"import sys\nfor m in {tuple(block)!r}: sys.modules[m] = None\n"
                f"from na64tools.cli import main\nsys.exit(main({list(map(str, argv))!r}))")
        cmd = [sys.executable, "-c", code]
    else:
        cmd = [sys.executable, "-m", "na64tools", *map(str, argv)]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, env=env, timeout=timeout)


def one_error_line(proc, command: str) -> str:
    """The one error line of a failed command (asserts: exit 1, no traceback, one line)."""
    assert proc.returncode == 1, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr + proc.stdout
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith(f"na64tools {command}: error: "), lines[0]
    return lines[0]


@pytest.fixture(scope="module")
def ntuples(tmp_path_factory):
    """Small samples written by `na64tools simulate` (compressed, as users have them)."""
    d = tmp_path_factory.mktemp("cli_errors")
    for argv in (["--sample", "background", "--events", "2000", "--seed", "70", "--files", "2"],
                 ["--sample", "signal", "--mass", "0.1", "--events", "300", "--seed", "71"]):
        proc = cli("simulate", *argv, "--no-progress", "--out", d / "sim")
        assert proc.returncode == 0, proc.stderr
    return d


# --- tracebacks instead of one line -----------------------------------------------------------
@pytest.mark.parametrize("facility,module", [("htcondor", "dask_jobqueue"), ("slurm", "dask_jobqueue"),
                                             ("lxplus", "dask_lxplus"), ("gateway", "dask_gateway")])
def test_facility_without_cluster_extra(ntuples, facility, module):
    proc = cli("run", ntuples / "sim", "--facility", facility, "--out", ntuples / "o_fac",
               block=("dask_jobqueue", "dask_lxplus", "dask_gateway"))
    line = one_error_line(proc, "run")
    assert f"--facility {facility}: {module} is needed" in line
    assert 'pip install "na64tools[cluster]"' in line


@pytest.mark.parametrize("executor", ["futures", "dask"])
def test_zeroed_bytes_in_the_middle(ntuples, executor):
    bad = ntuples / f"zeroed_{executor}.root"
    data = bytearray((ntuples / "sim" / "background_seed70_0000.root").read_bytes())
    mid = len(data) // 2
    data[mid:mid + 4000] = bytes(4000)
    bad.write_bytes(bytes(data))
    proc = cli("run", bad, "--executor", executor, "--workers", "1", "--out", ntuples / "o_zero")
    line = one_error_line(proc, "run")
    assert str(bad) in line


# --- cryptic errors ---------------------------------------------------------------------------
def test_text_file_named_root(ntuples):
    text = ntuples / "notes.root"
    text.write_text("not an ntuple\n")
    start = time.monotonic()
    proc = cli("run", text, "--out", ntuples / "o_text")
    line = one_error_line(proc, "run")
    assert f"{text}: not a ROOT file" in line and "na64tools simulate" in line
    assert "Inspecting" not in proc.stderr   # failed before any progress bar
    assert time.monotonic() - start < 60


def test_missing_input_fails_before_any_progress_bar(ntuples):
    proc = cli("run", ntuples / "nothere.root", "--out", ntuples / "o_missing")
    line = one_error_line(proc, "run")
    assert line.endswith(f"{ntuples / 'nothere.root'}: no such file")
    assert "Inspecting" not in proc.stderr


def test_empty_directory(ntuples):
    (ntuples / "empty").mkdir(exist_ok=True)
    line = one_error_line(cli("run", ntuples / "empty", "--out", ntuples / "o_empty"), "run")
    assert f"{ntuples / 'empty'}: no .root files found in this directory" in line


@pytest.fixture(scope="module")
def run_output(ntuples):
    proc = cli("run", ntuples / "sim", "--executor", "iterative", "--no-progress",
               "--out", ntuples / "na64-run")
    assert proc.returncode == 0, proc.stderr
    return ntuples / "na64-run"


def test_run_output_given_to_run(ntuples, run_output):
    line = one_error_line(cli("run", run_output / "output.root", "--out", ntuples / "o_again"), "run")
    assert "a processor output written by `na64tools run`, not an ntuple" in line
    assert f"give {run_output / 'output.json'} (or its directory) to `na64tools limits`" in line


def test_limits_reads_the_run_directory_and_prints_coupling_limits(ntuples, run_output):
    proc = cli("limits", run_output, "--out", ntuples / "lim")
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "coupling limits, model vector (90% CL; g above the limit is excluded):" in proc.stdout
    row = next(ln for ln in proc.stdout.splitlines() if ln.split()[:1] == ["0.1"])
    g_obs, g_exp = float(row.split()[1]), float(row.split()[2])
    summary = json.loads((ntuples / "lim" / "summary.json").read_text())
    assert summary["setup"]["file"] == "na64mu_2022.yaml"   # a name, not this machine's path
    # the printed limits are the ones written (one simulated mass: the grid is that mass), and
    # the coupling limit is g_ref * sqrt(N_up / N_sig(g_ref)) <= the signal-event limit scaling
    lim = summary["limits"]
    assert lim["masses"] == [0.1]
    assert g_obs == pytest.approx(lim["observed"][0], rel=5e-3)
    assert g_exp == pytest.approx(lim["expected"]["median"][0], rel=5e-3)


def test_limits_given_an_ntuple_or_a_text_file(ntuples):
    ntuple = ntuples / "sim" / "background_seed70_0000.root"
    line = one_error_line(cli("limits", ntuple, "--out", ntuples / "lim3"), "limits")
    assert f"{ntuple}: an ntuple (Events/Runs trees), not a processor output: run `na64tools run" in line
    text = ntuples / "text_for_limits.root"
    text.write_text("not ROOT\n")
    line = one_error_line(cli("limits", text, "--out", ntuples / "lim3"), "limits")
    assert f"{text}: not a ROOT file: give the output.json" in line


def test_limits_on_a_directory_without_output(ntuples):
    (ntuples / "empty2").mkdir(exist_ok=True)
    line = one_error_line(cli("limits", ntuples / "empty2", "--out", ntuples / "lim2"), "limits")
    assert "a directory with no processor output" in line and "output.json" in line


def test_cut_looser_than_preselection(ntuples):
    cuts = ntuples / "loose.yaml"
    cuts.write_text("p_out_max: 500\n")
    line = one_error_line(cli("run", ntuples / "sim", "--cuts", cuts, "--out", ntuples / "o_cut"), "run")
    assert line == (f"na64tools run: error: {cuts}: cut p_out_max = 500 GeV is looser than the "
                    "preselection of the cut table (p_out_max = 100 GeV), which keeps no event "
                    "beyond it: set p_out_max <= 100 GeV, or loosen the preselection "
                    "(MissingMomentumProcessor(preselection=Preselection(p_out_max=...)))")
    assert "Preselection.p_out_max" not in line


# --- work before checks -----------------------------------------------------------------------
def test_output_directory_checked_before_processing(ntuples):
    (ntuples / "fake.root").write_text("")
    proc = cli("run", ntuples / "sim", "--out", ntuples / "fake.root" / "sub")
    line = one_error_line(proc, "run")
    assert f"output directory '{ntuples / 'fake.root' / 'sub'}' cannot be created" in line
    assert "Inspecting" not in proc.stderr and proc.stdout == ""   # no cutflow: nothing processed


def test_same_path_twice(ntuples):
    f = ntuples / "sim" / "background_seed70_0000.root"
    line = one_error_line(cli("run", f, f, "--out", ntuples / "o_dup"), "run")
    assert f"{f} is given twice: its events would be counted twice" in line
    line = one_error_line(cli("run", ntuples / "sim", f, "--out", ntuples / "o_dup"), "run")
    assert f"{f} is given twice" in line


# --- inputs accepted silently -----------------------------------------------------------------
@pytest.mark.parametrize("argv,command,message", [
    (["run", "SIM", "--chunksize", "0"], "run",
     "--chunksize 0: expected a positive number of events per chunk"),
    (["run", "SIM", "--workers", "0"], "run", "--workers 0: expected a positive number of workers"),
    (["simulate", "--sample", "signal", "--mass", "0.1", "--coupling", "5", "--events", "10"],
     "simulate", "--coupling 5.0: expected a small dark coupling, 0 < g < 1"),
    (["simulate", "--sample", "signal", "--mass", "0.1", "--coupling", "-1e-4", "--events", "10"],
     "simulate", "--coupling -0.0001: expected a small dark coupling, 0 < g < 1"),
    (["simulate", "--sample", "background", "--mass", "0.1"], "simulate",
     "--mass 0.1: only for --sample signal; a background sample has no X boson, so this would "
     "be ignored: leave it out"),
    (["simulate", "--sample", "background", "--mot", "-1e10"], "simulate", "mot: value -10000000000.0 must be > 0"),
    (["limits", "OUT", "--mot", "-1e10"], "limits",
     "--mot -10000000000.0: expected a positive number of muons on target"),
    (["demo", "--coupling", "5"], "demo", "--coupling 5.0: expected a small dark coupling"),
])
def test_bad_values_are_refused(ntuples, tmp_path, argv, command, message):
    argv = [str(ntuples / "sim") if a == "SIM" else str(tmp_path) if a == "OUT" else a for a in argv]
    line = one_error_line(cli(*argv, "--out", tmp_path / "out", cwd=tmp_path), command)
    assert message in line
    assert "expected one argument" not in line


def test_unknown_target_material(tmp_path):
    import yaml

    from na64tools import default_setup

    data = yaml.safe_load(Path(default_setup().source_file).read_text())
    data["target"]["material"] = "Unobtainium"
    path = tmp_path / "setup.yaml"
    path.write_text(yaml.safe_dump(data))
    line = one_error_line(cli("info", "--setup", path), "info")
    assert line == (f"na64tools info: error: {path}: setup.target.material: unknown target material "
                    "'Unobtainium' (known: Pb, W, Fe, Cu; na64tools.physics.MATERIALS)")


# --- guidance ---------------------------------------------------------------------------------
def test_top_level_help_shows_the_chain():
    out = cli("--help").stdout
    for step in ("na64tools simulate --sample background", "na64tools run na64-simulate",
                 "na64tools limits na64-run", "na64tools demo"):
        assert step in out


def test_demo_help_documents_every_option():
    from na64tools.cli import build_parser

    demo = build_parser()._subparsers._group_actions[0].choices["demo"]
    for action in demo._actions:
        if action.dest == "help":
            continue
        assert action.help, action.dest
        if action.default not in (None, False):
            assert "default" in action.help, action.dest
    out = cli("demo", "--help").stdout
    assert "(default ./na64-demo)" in out and "(default 20000)" in out


def test_default_output_folders_follow_one_scheme():
    from na64tools.cli import OUT_DEFAULTS, build_parser

    sub = build_parser()._subparsers._group_actions[0].choices
    for command, folder in OUT_DEFAULTS.items():
        out = next(a for a in sub[command]._actions if a.dest == "out")
        assert out.default == folder == f"na64-{command}"
    readme = (ROOT / "README.md").read_text()
    assert "`./na64-demo`" in readme   # the README's demo command stays true


def test_dask_bars_count_files_and_chunks(ntuples):
    """3 files, one chunk each: the bars end at 3/3, not at coffea's task count (reductions)."""
    import re

    env = {"TTY_INTERACTIVE": "1", "TTY_COMPATIBLE": "1", "COLUMNS": "150"}
    proc = subprocess.run([sys.executable, "-m", "na64tools", "run", str(ntuples / "sim"),
                           "--executor", "dask", "--workers", "1", "--out", str(ntuples / "o_bars")],
                          capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, PYTHONPATH=str(ROOT), **env))
    assert proc.returncode == 0, proc.stderr
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", proc.stdout + proc.stderr).replace("\r", "\n")
    for desc in ("Inspecting files", "Processing"):
        counts = re.findall(desc + r".*? (\d+)/(\d+) ", text)
        assert counts, (desc, text[:2000])
        assert {int(total) for _, total in counts} == {3}, (desc, sorted(set(counts)))
        assert counts[-1] == ("3", "3")


def test_parallel_simulate_bar_counts_whole_files():
    from na64tools.sim.parallel import _bar

    bar = _bar(True, 4, "files")
    try:
        bar.update(1)
        assert "1/4" in str(bar) and "1.00" not in str(bar)
    finally:
        bar.close()
    events = _bar(True, 2_000_000, "events")
    try:
        events.update(1_200_000)
        assert "1.20M/2.00M" in str(events)
    finally:
        events.close()
