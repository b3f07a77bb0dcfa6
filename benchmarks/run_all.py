"""Run every benchmark script of ``benchmarks/`` and print one table of their figures.

Each ``benchmarks/bench_*.py`` runs as a subprocess; the lines ``RESULT <name> <value> <unit>
ratio=… baseline=… cores=… files=… target=… status=PASS|FAIL|INFO load=…`` it prints
(``benchmarks/_common.py``) are collected into one table, the figures of the performance section
of the docs (docs/performance.md, docs/scale.md).

    python benchmarks/run_all.py                 # every benchmark but bench_scale (1e8 events)
    python benchmarks/run_all.py --quick         # smaller inputs where a script allows it
    python benchmarks/run_all.py --all           # bench_scale too (17 GB of ntuples, ~30 min)
    python benchmarks/run_all.py --only sim,limits

``--quick`` passes ``--quick`` to the scripts that accept it and the arguments of
:data:`QUICK_ARGS` to the others. Exit codes, as for every script (``benchmarks/_common.py``):
0 every figure met its target, 1 a figure failed its target or a script crashed (non-zero exit
without RESULT lines, or a timeout), 2 usage error (e.g. no script selected).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent

#: scripts skipped unless --all (they need a large generated sample)
HEAVY = {"bench_scale.py", "bench_explorer_browser.py"}

#: arguments making a script quicker with --quick, for scripts without a --quick option
QUICK_ARGS: dict[str, list[str]] = {
    "bench_processor.py": ["--events", "3e5", "--repeat", "1"],
    "bench_explorer.py": ["--events", "2e5", "--changes", "50"],
    "bench_sim.py": ["--events", "262144"],
    "bench_limits.py": ["--repeat", "2"],
    "bench_cross_section.py": ["--masses", "0.1"],
}

sys.path.insert(0, str(HERE))
from _common import EXIT_FAIL, EXIT_PASS, EXIT_USAGE, parse_result  # noqa: E402


@dataclass(frozen=True)
class Result:
    """One ``RESULT`` line of a benchmark script."""

    name: str
    value: str
    unit: str
    ratio: str
    baseline: str
    cores: str
    files: str
    target: str
    status: str
    load: str
    script: str


@dataclass
class ScriptRun:
    """What one script did: its results, exit code, time and the end of its output."""

    script: str
    returncode: int | None
    seconds: float
    results: list[Result]
    tail: str

    @property
    def crashed(self) -> bool:
        return self.returncode is None or (self.returncode != 0 and not self.results)


def parse_results(text: str, script: str) -> list[Result]:
    """The RESULT lines of ``text`` (format of ``benchmarks/_common.py``), in order."""
    out = []
    for line in text.splitlines():
        d = parse_result(line)
        if d is not None:
            out.append(Result(d["name"], d["value"], d["unit"], d.get("ratio", "-"), d.get("baseline", "-"),
                              d.get("cores", "-"), d.get("files", "-"), d.get("target", "-"), d["status"],
                              d.get("load", "-"), script))
    return out


def discover(directory: Path = HERE, *, include_heavy: bool = False,
             only: set[str] | None = None) -> list[Path]:
    """The ``bench_*.py`` scripts of ``directory`` (sorted), without :data:`HEAVY` unless asked."""
    scripts = sorted(directory.glob("bench_*.py"))
    if only:
        scripts = [s for s in scripts if s.stem.removeprefix("bench_") in only or s.stem in only]
    elif not include_heavy:
        scripts = [s for s in scripts if s.name not in HEAVY]
    return scripts


def supports_quick(script: Path) -> bool:
    """Whether the script defines a ``--quick`` option."""
    return re.search(r"add_argument\(\s*['\"]--quick['\"]", script.read_text()) is not None


def command(script: Path, quick: bool) -> list[str]:
    cmd = [sys.executable, str(script)]
    if quick:
        cmd += ["--quick"] if supports_quick(script) else QUICK_ARGS.get(script.name, [])
    return cmd


def run_script(script: Path, *, quick: bool, timeout: float) -> ScriptRun:
    """Run one script, echoing its output, and collect its RESULT lines."""
    cmd = command(script, quick)
    print(f"=== {' '.join(Path(c).name if i < 2 else c for i, c in enumerate(cmd))}", flush=True)
    t = time.perf_counter()
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    lines: list[str] = []
    try:
        proc = subprocess.Popen(cmd, cwd=HERE.parent, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, start_new_session=True)
    except OSError as err:
        return ScriptRun(script.name, None, 0.0, [], str(err))
    timer = _Killer(proc, timeout)
    with proc:
        try:
            assert proc.stdout is not None
            for line in proc.stdout:
                lines.append(line)
                print(f"    {line}", end="", flush=True)
            proc.wait()
        finally:
            timer.cancel()
    code = None if timer.fired else proc.returncode
    text = "".join(lines)
    return ScriptRun(script.name, code, time.perf_counter() - t, parse_results(text, script.name),
                     "".join(lines[-15:]))


class _Killer:
    """Kills the process group of ``proc`` after ``timeout`` seconds."""

    def __init__(self, proc, timeout: float):
        import threading

        self.fired = False
        self._proc = proc
        self._timer = threading.Timer(timeout, self._kill)
        self._timer.daemon = True
        self._timer.start()

    def _kill(self):
        import signal

        self.fired = True
        try:
            os.killpg(self._proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def cancel(self):
        self._timer.cancel()


_COLUMNS = ("name", "value", "unit", "ratio", "baseline", "cores", "files", "target", "status", "load",
            "script")


def format_table(runs: list[ScriptRun]) -> str:
    """One table of every RESULT line, then a line per crashed script."""
    rows = [_COLUMNS]
    for r in runs:
        rows += [tuple(getattr(x, c) for c in _COLUMNS) for x in r.results]
        if r.crashed:
            why = "timeout" if r.returncode is None else f"exit {r.returncode}"
            rows.append(("(crashed: " + why + ")", *["-"] * 7, "CRASH", "-", r.script))
        elif not r.results:
            rows.append(("(no RESULT line)", *["-"] * 7, "NONE", "-", r.script))
    widths = [max(len(row[i]) for row in rows) for i in range(len(_COLUMNS))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller inputs where a script allows it")
    ap.add_argument("--all", action="store_true", help="also the heavy benchmarks (bench_scale.py, bench_explorer_browser.py)")
    ap.add_argument("--only", help="comma-separated names, e.g. sim,limits (bench_ prefix optional)")
    ap.add_argument("--timeout", type=float, default=3600.0, help="seconds per script (default 3600)")
    args = ap.parse_args(argv)
    only = {s.strip() for s in args.only.split(",")} if args.only else None
    scripts = discover(include_heavy=args.all, only=only)
    if not scripts:
        print(f"error: no benchmark script selected (--only {args.only!r})", file=sys.stderr)
        return EXIT_USAGE
    runs = [run_script(s, quick=args.quick, timeout=args.timeout) for s in scripts]
    print()
    print(format_table(runs))
    for r in runs:
        if r.crashed:
            print(f"\n{r.script} crashed; last lines:\n{r.tail}", file=sys.stderr)
    failed = any(r.crashed for r in runs) or any(x.status == "FAIL" for r in runs for x in r.results)
    return EXIT_FAIL if failed else EXIT_PASS

if __name__ == "__main__":
    sys.exit(main())
