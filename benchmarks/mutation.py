"""Mutation testing of the physics core with mutmut, on a fast test subset (docs/testing.md).

Copies the work tree (tracked and untracked, not ignored, files) to a scratch directory, writes a
mutmut configuration there (the project's pyproject.toml is left alone), runs ``mutmut run`` on
one core at low priority under a time box, and prints per-module counts, the score
killed / (killed + survived) and every surviving mutant as a one-line diff.

    python benchmarks/mutation.py                       # default modules and tests, 60 min box
    python benchmarks/mutation.py --modules na64tools/stats/background.py --timeout 600

mutmut (>= 3) mutates code inside functions only: module-level constants (e.g.
``SYSTEMATICS``, ``ZERO_EVENT_UPPER``, ``PB_TO_CM2``, ``SOURCE_OF``) are not mutated by it; the
hand mutations of docs/testing.md cover them (tests/test_mutation_guards.py).

Exit codes: 0 the run finished (or hit the time box: the output says so), 1 the score is below
``--min-score``, 2 usage error (e.g. mutmut not installed, unknown module).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: modules mutated by default (the physics numbers: background, signal yield, source mapping,
#: selection, the analysis that combines them)
MODULES = (
    "na64tools/stats/background.py",
    "na64tools/stats/signal.py",
    "na64tools/stats/efficiency.py",
    "na64tools/stats/limits.py",
    "na64tools/processes.py",
    "na64tools/selection.py",
    "na64tools/analysis.py",
)
#: the fast test subset (seconds per mutant; mutmut runs only the tests that reach a mutated function)
TESTS = (
    "tests/test_mutation_guards.py",
    "tests/test_analysis.py",
    "tests/test_limits.py",
)
#: lines not mutated: the text of error messages (tested by tests/test_bad_input.py, which is not
#: in the fast subset) and docstrings
DO_NOT_MUTATE = (r"raise \w+\(", r"^\s*\"\"\"")


def _copy_tree(dest: Path) -> None:
    files = subprocess.run(["git", "-C", str(ROOT), "ls-files", "-co", "--exclude-standard"],
                           check=True, capture_output=True, text=True).stdout.split("\n")
    for f in files:
        if not f or not (ROOT / f).is_file():
            continue
        (dest / f).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / f, dest / f)


def _config(modules, tests, pytest_args=()) -> str:
    lines = ["[mutmut]", "source_paths=na64tools", "only_mutate="]
    lines += [f"    {m}" for m in modules]
    lines += ["pytest_add_cli_args_test_selection="] + [f"    {t}" for t in tests]
    lines += ["pytest_add_cli_args=", "    -p", "    no:cacheprovider"] + [f"    {a}" for a in pytest_args]
    lines += ["also_copy=tests",
              "do_not_mutate_patterns="] + [f"    {p}" for p in DO_NOT_MUTATE]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--modules", nargs="+", default=list(MODULES), help="files to mutate")
    ap.add_argument("--tests", nargs="+", default=list(TESTS), help="test files run against the mutants")
    ap.add_argument("--pytest-args", nargs="+", default=[], help="extra pytest arguments, e.g. -k by_hand")
    ap.add_argument("--timeout", type=float, default=3600.0, help="time box of the mutmut run [s]")
    ap.add_argument("--workdir", default=None, help="scratch directory (default: a new temporary one)")
    ap.add_argument("--min-score", type=float, default=0.0, help="exit 1 below this killed fraction")
    args = ap.parse_args(argv)
    mutmut = shutil.which("mutmut") or str(Path(sys.executable).with_name("mutmut"))
    if not Path(mutmut).exists():
        print("error: mutmut is not installed (pip install mutmut)", file=sys.stderr)
        return 2
    for m in [*args.modules, *args.tests]:
        if not (ROOT / m).is_file():
            print(f"error: {m}: no such file under {ROOT}", file=sys.stderr)
            return 2
    work = Path(args.workdir or tempfile.mkdtemp(prefix="na64_mutation_"))
    if (work / "mutants").exists():
        shutil.rmtree(work / "mutants")
    _copy_tree(work)
    (work / "setup.cfg").write_text(_config(args.modules, args.tests, args.pytest_args))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # mutmut puts mutants/ first
    env["MPLBACKEND"] = "agg"
    t0 = time.monotonic()
    cmd = ["nice", "-n", "10", mutmut, "run", "--max-children", "1"]
    timed_out = False
    with open(work / "mutmut-run.log", "w") as log:
        try:
            subprocess.run(cmd, cwd=work, env=env, stdout=log, stderr=subprocess.STDOUT,
                           timeout=args.timeout, check=False)
        except subprocess.TimeoutExpired:
            timed_out = True
    elapsed = time.monotonic() - t0
    res = subprocess.run([mutmut, "results", "--all", "true"], cwd=work, env=env,
                         capture_output=True, text=True).stdout
    counts: dict[str, dict[str, int]] = {}
    survivors = []
    for line in res.splitlines():
        m = re.match(r"\s*(\S+): (.+)$", line)
        if not m:
            continue
        name, status = m.groups()
        mod = name.split(".x")[0].split(".x\u01c1")[0]
        counts.setdefault(mod, {}).setdefault(status, 0)
        counts[mod][status] += 1
        if status == "survived":
            survivors.append(name)
    killed = sum(c.get("killed", 0) for c in counts.values())
    survived = sum(c.get("survived", 0) for c in counts.values())
    score = killed / (killed + survived) if killed + survived else float("nan")
    print(f"mutmut on {', '.join(args.modules)}; tests {' '.join(args.tests + args.pytest_args)}; "
          "1 core, nice 10")
    print(f"work directory {work}; {elapsed:.0f} s" + ("; TIME BOX HIT: partial results" if timed_out else ""))
    for mod, c in sorted(counts.items()):
        print(f"  {mod}: " + ", ".join(f"{k} {v}" for k, v in sorted(c.items())))
    print(f"RESULT mutation_score {score:.3f} killed/(killed+survived) killed={killed} survived={survived}")
    for name in survivors:
        show = subprocess.run([mutmut, "show", name], cwd=work, env=env, capture_output=True, text=True).stdout
        diff = [ln for ln in show.splitlines() if ln.startswith(("- ", "+ ", "-\t", "+\t"))
                or (ln[:1] in "+-" and not ln.startswith(("+++", "---")))]
        print(f"SURVIVED {name}: " + " | ".join(d.strip() for d in diff))
    return 1 if score < args.min_score else 0


if __name__ == "__main__":
    sys.exit(main())
