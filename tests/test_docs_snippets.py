"""Every shell and Python snippet of the documentation runs, on small simulated samples.

The pages (``docs/*.md`` and the root ``CONTRIBUTING.md`` that the site includes) show ```` ```bash ````
and ```` ```python ```` blocks to copy. This test extracts every one and runs it in a sandbox
folder that holds what the snippets expect to find:

* ``sim/``: a small background sample and a signal sample at 0.1 GeV (the folder the commands
  process), and the same files as ``bkg_0.root``, ``bkg_1.root``, ``bkg.root``, ``sig_0.root``;
* ``mycuts.yaml``: a cut file;
* the example files of ``docs/examples/`` (e.g. the model file of models.md);
* in Python: ``fileset`` (the mapping of those files), ``setup`` (the 2022 setup) and ``output``
  (the processor output on ``fileset``), for snippets that continue a previous page.

The Python blocks of a page run in order in one interpreter (a later block uses the names an
earlier one defined), with ``__name__ == "__main__"``; a bash block runs with ``set -e``, with
``na64tools`` and ``python`` on the ``PATH`` meaning the checkout's command line and this
interpreter.

A few blocks cannot run in a test: installs (network), the full-size demo and benchmarks
(minutes), commands for a batch system or a remote scheduler, a signature shown as code. Such a
block carries the marker ``% na64-snippet: skip <reason>`` on the line before it (a MyST comment:
invisible on the site), or, on a page maintained elsewhere, an entry of :data:`SKIP` here. Every
skipped block is listed by :func:`test_skipped_snippets_are_the_listed_few`, so that the list
cannot grow unnoticed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
#: the pages whose snippets are run: the top level of docs/ and the root files the site includes
PAGES = sorted(DOCS.glob("*.md")) + [ROOT / "CONTRIBUTING.md"]

MARKER = re.compile(r"^%\s*na64-snippet:\s*skip\b\s*(?P<reason>.*)$")
FENCE = re.compile(r"^(?P<fence>`{3,})(?P<lang>bash|python)\s*$")

#: blocks of pages maintained by other parts of the project that cannot run in a test:
#: (page, text the block contains) -> reason. The marker in the page is preferred.
SKIP: dict[tuple[str, str], str] = {
    ("dask.md", "dask scheduler --host 127.0.0.1 --port 8786"): "starts a scheduler that runs until stopped",
    ("dask.md", "na64tools run sim/ --scheduler tcp://127.0.0.1:8786"): "needs the scheduler above",
    ("dask.md", 'out = na64tools.run("sim/", executor="dask", client="tcp://127.0.0.1:8786")'):
        "needs the scheduler above",
    ("dask.md", 'pip install "na64tools[cluster]"'): "install (network)",
    ("scale.md", "# 3.354e8 generated background events"): "10⁸ events and a cluster",
    ("scale.md", "na64tools run /data/na64/scale --scheduler tcp://scheduler:8786"): "a remote scheduler",
    ("scale.md", 'na64tools.run("/data/na64/scale"'): "processes the 10⁸-event sample",
    ("scale.md", "parts = [na64tools.run(part, executor=\"dask\", client=client, accumulator=True)"):
        "filesets of the 10⁸-event sample",
    ("scale.md", "python benchmarks/bench_scale.py"): "benchmark (minutes to hours)",
    ("scale.md", "python benchmarks/run_all.py"): "benchmarks (minutes)",
    ("performance.md", "python benchmarks/bench_<name>.py"): "benchmarks (minutes)",
    ("testing.md", "pip install mutmut"): "install (network) and a 60-minute mutation run",
    ("testing.md", "python benchmarks/mutation.py --modules"): "mutation runs (tens of minutes)",
    ("interactive.md", "pip install 'na64tools[dashboard]'"): "install (network) and a server",
    ("interactive.md", "apt-get install -y chromium"): "install (root, network)",
    ("simulation.md", "from na64tools.sim.calibrate import background_by_source"):
        "the calibration runs on 2·10⁶ events per source (minutes)",
}


@dataclass(frozen=True)
class Snippet:
    page: str
    line: int
    lang: str
    code: str
    skip: str | None  # reason, or None

    @property
    def first(self) -> str:
        return next((ln.strip() for ln in self.code.splitlines() if ln.strip()), "")

    def __str__(self) -> str:
        return f"{self.page}:{self.line} ({self.lang})"


def extract(path: Path) -> list[Snippet]:
    """The bash and Python blocks of a markdown file, with their skip reason."""
    out: list[Snippet] = []
    lines = path.read_text().splitlines()
    i = 0
    pending: str | None = None
    while i < len(lines):
        line = lines[i]
        m = MARKER.match(line.strip())
        if m:
            pending = m.group("reason").strip(" —-:") or "no reason given"
            i += 1
            continue
        f = FENCE.match(line.strip()) if not line.startswith(" ") else None
        if f:
            start = i + 1
            j = start
            while j < len(lines) and lines[j].strip() != f.group("fence"):
                j += 1
            code = "\n".join(lines[start:j]) + "\n"
            snip = Snippet(path.name, start, f.group("lang"), code, pending)
            if snip.skip is None:
                reason = next((r for (p, text), r in SKIP.items() if p == path.name and text in code),
                              None)
                snip = Snippet(snip.page, snip.line, snip.lang, code, reason)
            out.append(snip)
            pending = None
            i = j + 1
            continue
        if line.strip():
            pending = None
        i += 1
    return out


def all_snippets() -> list[Snippet]:
    return [s for p in PAGES if p.is_file() for s in extract(p)]


# --- fast checks -------------------------------------------------------------------------------


def test_extract_reads_markers_and_fences(tmp_path):
    page = tmp_path / "p.md"
    page.write_text("text\n\n```bash\necho 1\n```\n\n% na64-snippet: skip install (network)\n"
                    "```python\nimport x\n```\n\n```text\nnot run\n```\n\n````python\nprint(1)\n````\n")
    snips = extract(page)
    assert [(s.lang, s.code, s.skip) for s in snips] == [
        ("bash", "echo 1\n", None), ("python", "import x\n", "install (network)"),
        ("python", "print(1)\n", None)]


def test_skipped_snippets_are_the_listed_few():
    snips = all_snippets()
    skipped = [s for s in snips if s.skip]
    listing = "\n".join(f"  {s}: {s.first[:60]!r} -- {s.skip}" for s in skipped)
    print(f"{len(snips)} snippets, {len(skipped)} skipped:\n{listing}")
    assert snips, "no snippet found in docs/"
    # the documented skips: installs, cluster commands, benchmarks and the full-size demo
    assert len(skipped) <= 32, f"too many skipped snippets:\n{listing}"
    assert all(s.skip and s.skip != "no reason given" for s in skipped), listing
    # an entry of SKIP that matches no block any more is stale: remove it
    stale = [k for k in SKIP if not any(s.page == k[0] and k[1] in s.code for s in snips)]
    assert not stale, f"SKIP entries that match no snippet: {stale}"


# --- running them --------------------------------------------------------------------------------

# guarded: Dask and process pools start workers that import the main module again
_RUNNER = r"""
import json, sys, traceback

def main():
    snippets = json.loads(open(sys.argv[1]).read())
    ns = {"__name__": "__main__"}
    exec(compile(open(sys.argv[2]).read(), "<prelude>", "exec"), ns)
    for where, code in snippets:
        try:
            exec(compile(code, where, "exec"), ns)
        except BaseException:
            print(f"SNIPPET FAILED: {where}", file=sys.stderr)
            traceback.print_exc()
            sys.exit(1)
        print(f"ok {where}", file=sys.stderr)

if __name__ == "__main__":
    main()
"""

_PRELUDE = r"""
import glob
import na64tools
from na64tools import default_setup
setup = default_setup()
fileset = {"background": sorted(glob.glob("sim/background*.root")),
           "signal_vector_m0.1": sorted(glob.glob("sim/signal*.root"))}
if NEEDS_OUTPUT:
    output = na64tools.run(fileset, executor="iterative", progress=False)
"""


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory) -> Path:
    """A folder with small simulated samples, copies of them under the names the pages use,
    a cut file, and a bin/ with ``na64tools`` and ``python`` for the shell snippets."""
    from na64tools.sim import simulate

    base = tmp_path_factory.mktemp("snippets")
    sim = base / "sim"
    bkg = simulate("background", events=20_000, seed=1, out=sim)[0]
    sig = simulate("signal", model="vector", mass=0.1, events=2_000, seed=2, out=sim)[0]
    for name in ("bkg_0.root", "bkg.root"):
        shutil.copy(bkg, base / name)
    # a second background file of its own seed (the same file twice is refused as a duplicate)
    shutil.copy(simulate("background", events=20_000, seed=3, out=base / "other")[0], base / "bkg_1.root")
    shutil.copy(sig, base / "sig_0.root")
    (base / "mycuts.yaml").write_text("cuts:\n  p_out_max: {value: 70, unit: GeV}\n")
    for example in sorted((DOCS / "examples").glob("*.py")):  # files the pages include (models.md)
        shutil.copy(example, base / example.name)
    bindir = base / "bin"
    bindir.mkdir()
    for name, target in [("na64tools", f'"{sys.executable}" -m na64tools "$@"'),
                         ("python", f'"{sys.executable}" "$@"')]:
        (bindir / name).write_text(f"#!/bin/sh\nexec {target}\n")
        (bindir / name).chmod(0o755)
    return base


def _env(sandbox: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{sandbox / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["MPLBACKEND"] = "agg"
    env["COLUMNS"] = "100"
    return env


def _pages_with(lang: str) -> list[str]:
    return sorted({s.page for s in all_snippets() if s.lang == lang and not s.skip})


@pytest.mark.slow
@pytest.mark.parametrize("page", _pages_with("python"))
def test_python_snippets_run(page, sandbox, tmp_path):
    snips = [s for s in all_snippets() if s.page == page and s.lang == "python" and not s.skip]
    work = tmp_path / "work"
    shutil.copytree(sandbox, work, symlinks=True)
    code = "\n".join(s.code for s in snips)
    needs_output = "output" in code and not re.search(r"^\s*output\s*=", code, re.M)
    (work / "_snippets.json").write_text(json.dumps([[str(s), s.code] for s in snips]))
    (work / "_prelude.py").write_text(_PRELUDE.replace("NEEDS_OUTPUT", str(needs_output)))
    (work / "_runner.py").write_text(_RUNNER)
    proc = subprocess.run([sys.executable, "_runner.py", "_snippets.json", "_prelude.py"], cwd=work,
                          env=_env(sandbox), capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, f"{page}: a Python snippet failed\n{proc.stderr[-4000:]}"


@pytest.mark.slow
@pytest.mark.parametrize("snippet", [s for s in all_snippets() if s.lang == "bash" and not s.skip],
                         ids=str)
def test_bash_snippets_run(snippet, sandbox, tmp_path):
    work = tmp_path / "work"
    shutil.copytree(sandbox, work, symlinks=True)
    script = "set -euo pipefail\n" + textwrap.dedent(snippet.code)
    proc = subprocess.run(["bash", "-c", script], cwd=work, env=_env(sandbox), capture_output=True,
                          text=True, timeout=900)
    assert proc.returncode == 0, (f"{snippet} failed (exit {proc.returncode}):\n{snippet.code}\n"
                                  f"{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}")
