"""Shared by the benchmark scripts: the RESULT line, exit codes, machine load.

Every figure is printed as one line

    RESULT <name> <value> <unit> ratio=<r> baseline=<what> cores=<n> files=<what> target=<t> status=<s> load=<l>

``ratio`` is value / baseline measured in the same run (``-`` when the figure has no baseline),
``baseline`` names what was measured against (one token), ``cores`` the processes used by the
measured code and by its baseline, ``files`` the input files (``-`` when none), ``target`` the
target and ``status`` PASS, FAIL or INFO (a figure without a target). ``load`` is the 1-minute
load average when the figure was taken (the machine may be shared).

Exit codes of every script and of run_all.py: 0 every target met, 1 a target failed, 2 usage error.
"""

from __future__ import annotations

import os
import re

EXIT_PASS = 0
EXIT_FAIL = 1
EXIT_USAGE = 2

_TOKEN = re.compile(r"^\S+$")


def load() -> float:
    """The 1-minute load average."""
    return os.getloadavg()[0]


def _fmt(x) -> str:
    if x is None:
        return "-"
    if isinstance(x, float):
        return f"{x:.4g}"
    return str(x)


class Results:
    """Collects the figures of one script and prints each as a RESULT line."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.failed: list[str] = []

    def add(self, name: str, value: float, unit: str, *, ratio: float | None = None,
            baseline: str | None = None, cores: int | str | None = None, files: str | None = None,
            target: str | None = None, passed: bool | None = None) -> str:
        """Print (and return) one RESULT line; ``passed`` None means no target (status INFO)."""
        status = "INFO" if passed is None else ("PASS" if passed else "FAIL")
        fields = {"ratio": _fmt(ratio), "baseline": _fmt(baseline), "cores": _fmt(cores),
                  "files": _fmt(files), "target": _fmt(target), "status": status,
                  "load": f"{load():.2f}"}
        for k, v in [("name", name), ("unit", unit), *fields.items()]:
            if not _TOKEN.match(v):
                raise ValueError(f"RESULT field {k}={v!r} must be one token without spaces")
        line = f"RESULT {name} {_fmt(value)} {unit} " + " ".join(f"{k}={v}" for k, v in fields.items())
        print(line, flush=True)
        self.lines.append(line)
        if passed is False:
            self.failed.append(name)
        return line

    def exit_code(self) -> int:
        """0 if every target was met, 1 otherwise."""
        return EXIT_FAIL if self.failed else EXIT_PASS


#: a RESULT line: name, value, unit, then key=value fields
RESULT_RE = re.compile(r"^RESULT\s+(?P<name>\S+)\s+(?P<value>\S+)\s+(?P<unit>\S+)(?P<fields>(?:\s+\S+=\S*)*)\s*$")


def parse_result(line: str) -> dict[str, str] | None:
    """The fields of one RESULT line (name, value, unit and the key=value fields), or None."""
    m = RESULT_RE.match(line.strip())
    if not m:
        return None
    out = {"name": m["name"], "value": m["value"], "unit": m["unit"]}
    for kv in m["fields"].split():
        k, _, v = kv.partition("=")
        out[k] = v
    if out.get("status") not in ("PASS", "FAIL", "INFO"):
        return None
    return out
