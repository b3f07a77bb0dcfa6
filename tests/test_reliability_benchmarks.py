"""benchmarks/run_all.py: parsing of RESULT lines, the table, crash detection (no benchmark is run)."""

from __future__ import annotations

import importlib.util
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


def test_parse_results(run_all):
    text = ("warming up\nRESULT a_ratio 1.234 1.25 PASS\n  RESULT peak_GB 1.6 1.5 FAIL  \n"
            "RESULT broken line\nRESULTS x 1 2 PASS\nRESULT c 3 4 MAYBE\n")
    res = run_all.parse_results(text, "bench_x.py")
    assert [(r.name, r.value, r.target, r.status, r.script) for r in res] == [
        ("a_ratio", "1.234", "1.25", "PASS", "bench_x.py"),
        ("peak_GB", "1.6", "1.5", "FAIL", "bench_x.py"),
    ]
    assert run_all.parse_results("", "s") == []


def test_every_benchmark_prints_result_lines_the_parser_reads(run_all):
    """Each script's RESULT f-strings have the four fields the parser expects."""
    for script in sorted((ROOT / "benchmarks").glob("bench_*.py")):
        text = script.read_text()
        assert "RESULT " in text, script.name
        for line in text.splitlines():
            if 'RESULT ' in line and "print" in line:
                fields = line.split('RESULT ', 1)[1].split('"')[0].split("'")[0].split()
                assert len(fields) >= 2, (script.name, line)


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
    ok.write_text("print('RESULT speed 2.0 1.5 PASS')\nprint('RESULT mem 1.7 1.5 FAIL')\n")
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
    assert table[0].split() == ["name", "value", "target", "status", "script"]
    assert table[2].split() == ["(crashed:", "exit", "1)", "-", "-", "CRASH", "bench_crash.py"]
    assert table[3].split() == ["speed", "2.0", "1.5", "PASS", "bench_ok.py"]
    assert table[4].split() == ["mem", "1.7", "1.5", "FAIL", "bench_ok.py"]
    assert "NONE" in table[5] and "timeout" in table[6]
