"""benchmarks/: the RESULT line helper, run_all.py (parsing, table, crash detection, exit codes)
and the scripts' RESULT lines and exit codes at tiny sizes (no timing is asserted)."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def run_all():
    spec = importlib.util.spec_from_file_location("run_all", ROOT / "benchmarks" / "run_all.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules["run_all"] = mod  # dataclasses resolve their module
    spec.loader.exec_module(mod)
    yield mod
    sys.modules.pop("run_all", None)


def test_result_line_helper(run_all, capsys):
    import _common

    res = _common.Results()
    line = res.add("x_s", 1.5, "s", ratio=0.75, baseline="bare_read", cores=2, files="4xsim",
                   target="ratio<=1.25", passed=True)
    assert line.startswith("RESULT x_s 1.5 s ratio=0.75 baseline=bare_read cores=2 files=4xsim "
                           "target=ratio<=1.25 status=PASS load=")
    assert res.exit_code() == _common.EXIT_PASS
    res.add("y", 3, "GB", target="<1.5", passed=False)
    info = res.add("z", 2.0, "1")
    assert " status=INFO " in info and " ratio=- baseline=- cores=- files=- target=- " in info
    assert res.exit_code() == _common.EXIT_FAIL and res.failed == ["y"]
    assert capsys.readouterr().out.count("RESULT ") == 3
    with pytest.raises(ValueError, match="one token"):
        res.add("a", 1.0, "s", baseline="two words")
    assert (_common.EXIT_PASS, _common.EXIT_FAIL, _common.EXIT_USAGE) == (0, 1, 2)


def test_parse_results(run_all):
    text = ("warming up\n"
            "RESULT a_s 1.234 s ratio=0.9 baseline=b cores=2 files=f target=ratio<=1.25 status=PASS load=1.0\n"
            "  RESULT peak_GB 1.6 GB ratio=- baseline=- cores=2 files=- target=<1.5 status=FAIL load=3  \n"
            "RESULT broken line\nRESULTS x 1 s status=PASS\nRESULT c 3 s status=MAYBE\n"
            "RESULT old 1.0 1.25 PASS\n")
    res = run_all.parse_results(text, "bench_x.py")
    assert [(r.name, r.value, r.unit, r.ratio, r.baseline, r.cores, r.target, r.status, r.script)
            for r in res] == [
        ("a_s", "1.234", "s", "0.9", "b", "2", "ratio<=1.25", "PASS", "bench_x.py"),
        ("peak_GB", "1.6", "GB", "-", "-", "2", "<1.5", "FAIL", "bench_x.py"),
    ]
    assert run_all.parse_results("", "s") == []


def test_every_benchmark_prints_through_the_helper(run_all):
    """No script prints a RESULT line by hand: all go through benchmarks/_common.Results."""
    for script in sorted((ROOT / "benchmarks").glob("bench_*.py")):
        text = script.read_text()
        assert "from _common import" in text and ".add(" in text, script.name
        assert 'print(f"RESULT' not in text and "print('RESULT" not in text, script.name


def test_discover_and_commands(run_all, tmp_path):
    names = [p.name for p in run_all.discover()]
    assert "bench_scale.py" not in names and "bench_processor.py" in names
    assert "bench_scale.py" in [p.name for p in run_all.discover(include_heavy=True)]
    assert [p.name for p in run_all.discover(only={"scale"})] == ["bench_scale.py"]
    scale = ROOT / "benchmarks" / "bench_scale.py"
    assert run_all.supports_quick(scale)
    assert run_all.command(scale, quick=True)[-1] == "--quick"
    proc = ROOT / "benchmarks" / "bench_processor.py"
    assert run_all.command(proc, quick=True)[2:] == run_all.QUICK_ARGS["bench_processor.py"]
    assert run_all.command(proc, quick=False)[2:] == []


def test_run_scripts_table_and_crashes(run_all, tmp_path, capsys):
    ok = tmp_path / "bench_ok.py"
    ok.write_text("print('RESULT speed 2.0 s ratio=0.5 baseline=b cores=1 files=- target=<3s status=PASS load=1')\n"
                  "print('RESULT mem 1.7 GB ratio=- baseline=- cores=1 files=- target=<1.5 status=FAIL load=1')\n"
                  "raise SystemExit(1)\n")
    crash = tmp_path / "bench_crash.py"
    crash.write_text("raise SystemExit('boom')\n")
    silent = tmp_path / "bench_silent.py"
    silent.write_text("print('nothing measured')\n")
    slow = tmp_path / "bench_slow.py"
    slow.write_text("import time\ntime.sleep(30)\n")
    assert [p.name for p in run_all.discover(tmp_path)] == ["bench_crash.py", "bench_ok.py",
                                                            "bench_silent.py", "bench_slow.py"]
    runs = [run_all.run_script(p, quick=False, timeout=2.0 if p == slow else 60.0)
            for p in run_all.discover(tmp_path)]
    by = {r.script: r for r in runs}
    assert by["bench_crash.py"].crashed and by["bench_crash.py"].returncode == 1
    assert not by["bench_ok.py"].crashed and len(by["bench_ok.py"].results) == 2
    assert not by["bench_silent.py"].crashed and by["bench_silent.py"].results == []
    assert by["bench_slow.py"].crashed and by["bench_slow.py"].returncode is None
    table = run_all.format_table(runs).splitlines()
    assert table[0].split() == ["name", "value", "unit", "ratio", "baseline", "cores", "files", "target",
                                "status", "load", "script"]
    assert table[2].split()[:3] == ["(crashed:", "exit", "1)"] and "CRASH" in table[2]
    assert table[3].split() == ["speed", "2.0", "s", "0.5", "b", "1", "-", "<3s", "PASS", "1", "bench_ok.py"]
    assert table[4].split()[-3] == "FAIL"
    assert "NONE" in table[5] and "timeout" in table[6]


def _script(name: str, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT), MPLBACKEND="agg")
    return subprocess.run([sys.executable, str(ROOT / "benchmarks" / name), *args], capture_output=True,
                          text=True, timeout=timeout, env=env, cwd=ROOT)


def test_run_all_usage_error_exits_2():
    r = _script("run_all.py", "--only", "no_such_benchmark", timeout=60)
    assert r.returncode == 2 and "no benchmark script selected" in r.stderr
    assert _script("run_all.py", "--bogus", timeout=60).returncode == 2


@pytest.mark.parametrize("name", sorted(p.name for p in (ROOT / "benchmarks").glob("bench_*.py")))
def test_every_script_exits_2_on_a_usage_error(name):
    r = _script(name, "--no-such-option", timeout=120)
    assert r.returncode == 2, (name, r.stdout[-500:], r.stderr[-500:])


@pytest.mark.slow
def test_bench_processor_tiny_result_lines(run_all, tmp_path):
    """bench_processor on a tiny na64tools.sim sample: RESULT lines in the shared format with the
    baseline named, exit 0 or 1 according to the targets (timings not asserted)."""
    r = _script("bench_processor.py", "--events", "5000", "--files", "2", "--repeat", "1",
                "--cache", str(tmp_path))
    res = run_all.parse_results(r.stdout, "bench_processor.py")
    assert [x.name for x in res] == ["processor_wall_s", "processor_cpu_s", "processor_events_per_s",
                                     "peak_rss_per_worker_GB", "client_peak_rss_table_off_GB",
                                     "client_peak_rss_table_on_GB", "speedup_1to2_workers_chunks",
                                     "speedup_1to2_workers_run"], r.stdout[-2000:] + r.stderr[-2000:]
    wall = res[0]
    assert wall.baseline == "uproot_arrays_ak_2proc_pool" and wall.cores == "2"
    assert wall.files.startswith("2xsim_zstd_")
    assert float(wall.ratio) > 0 and wall.status in ("PASS", "FAIL")
    assert r.returncode == (1 if any(x.status == "FAIL" for x in res) else 0)
    assert _script("bench_processor.py", "--events", "0", timeout=60).returncode == 2
