"""Latency of the CutExplorer: one cut change -> everything recomputed, for 1e6 stored events.

Builds a small real processor output (simulation + processor, ~10 s), replicates its cut table
to about 1e6 stored events (each copy a new set of files; continuous variables smeared by 0.1 %
so that the copies do not tie), builds a :class:`~na64tools.interactive.CutExplorerModel` and
times 200 random cut changes (one slider moved to a random value inside its range, as a user
does; one in ten moves switches a cut off or on). Each change recomputes the cutflow, the
efficiency at every simulated mass, the background by source, the N−1 p_out distribution and
the observed, expected and projected limits.

Baseline measured in the same run: one bare ``na64tools.selection.passes`` call on the same
table (the selection alone, nothing else). Target: p95 < 100 ms.

Usage: ``python benchmarks/bench_explorer.py [--events 1e6] [--changes 200] [--workdir DIR]``
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import Results  # noqa: E402

TARGET_P95_MS = 100.0


def small_output(workdir: Path, *, signal_events: int = 20000, background_events: int = 200000):
    """A real processor output: three signal masses and a background sample."""
    from na64tools.runner import run
    from na64tools.sim import simulate

    files = {f"sig_{m:g}": simulate("signal", mass=m, events=signal_events, seed=1 + i,
                                    out=workdir / f"sig_{m:g}")
             for i, m in enumerate((0.01, 0.1, 0.5))}
    files["bkg"] = simulate("background", events=background_events, seed=7, out=workdir / "bkg")
    return run(files, executor="iterative", progress=False)


def replicate_output(output, copies: int, *, seed: int = 0) -> dict:
    """``copies`` copies of a processor output's table and bookkeeping, as if from more files."""
    from na64tools.processor import CutTable

    t = output["table"]
    rng = np.random.default_rng(seed)
    n, nf = len(t), len(t.files)
    smear = ("p_in", "beam_chi2", "track_chi2", "p_out", "ecal", "hcal", "veto", "vhcal")
    parts: dict[str, list] = {c: [] for c in t.columns}
    for k in range(copies):
        for c, v in t.columns.items():
            v = np.asarray(v)
            if c == "file":
                v = v + k * nf
            elif c in smear and k:
                v = v * (1.0 + 1e-3 * rng.standard_normal(n))
            parts[c].append(v)
    cols = {c: np.concatenate(p) for c, p in parts.items()}
    order = np.lexsort((cols["entry"], cols["file"], cols["dataset"]))  # canonical row order
    cols = {c: v[order] for c, v in cols.items()}
    files = [f"copy{k}/{f}" for k in range(copies) for f in t.files]
    table = CutTable(cols, list(t.datasets), list(t.samples), files, dict(t.preselection))
    recs = {ds: {f"copy{k}/{key}": dataclasses.replace(r, filename=f"copy{k}/{r.filename}")
                 for k in range(copies) for key, r in rr.items()} for ds, rr in output["files"].items()}
    mot = {ds: dataclasses.replace(m, mot=m.mot * copies, n_files=m.n_files * copies,
                                   n_generated=m.n_generated * copies, n_written=m.n_written * copies,
                                   n_processed=m.n_processed * copies, sumw=m.sumw * copies)
           for ds, m in output["mot"].items()}
    return {**output, "table": table, "files": recs, "mot": mot}


def random_change(model, rng) -> dict:
    """One slider moved to a random value in its range (one move in ten toggles a cut)."""
    from na64tools.interactive import CUT_GROUPS

    if rng.random() < 0.1:
        g = list(CUT_GROUPS)[rng.integers(len(CUT_GROUPS))]
        return {g: bool(rng.random() < 0.5)}
    names = list(model.ranges)
    name = names[rng.integers(len(names))]
    r = model.ranges[name]
    v = r.lo + (r.hi - r.lo) * rng.random()
    return {name: float(round((v - r.lo) / r.step) * r.step + r.lo)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=float, default=1e6, help="stored events to reach (default 1e6)")
    ap.add_argument("--changes", type=int, default=200)
    ap.add_argument("--workdir", type=Path, default=None)
    args = ap.parse_args(argv)

    from na64tools.interactive import CutExplorerModel, CutRangeError
    from na64tools.selection import passes

    with tempfile.TemporaryDirectory() as tmp:
        workdir = args.workdir or Path(tmp)
        t0 = time.perf_counter()
        small = small_output(workdir)
        copies = max(1, int(np.ceil(args.events / len(small["table"]))))
        big = replicate_output(small, copies)
        n = len(big["table"])
        t1 = time.perf_counter()
        model = CutExplorerModel(big)
        t2 = time.perf_counter()
    print(f"stored events: {n} ({copies} copies of {len(small['table'])}); data {t1 - t0:.1f} s, "
          f"model build {t2 - t1:.2f} s")

    cuts = model.published
    base = []
    for _ in range(20):
        t = time.perf_counter()
        passes(model._vars, cuts)
        base.append(time.perf_counter() - t)
    baseline_ms = 1e3 * float(np.median(base))

    rng = np.random.default_rng(1)
    lat = []
    while len(lat) < args.changes:
        change = random_change(model, rng)
        try:  # a move the sliders cannot make (p_in_min above p_in_max) is drawn again, untimed
            model.make_cuts(**change)
        except CutRangeError:
            continue
        t = time.perf_counter()
        model.set_cuts(**change)
        lat.append(time.perf_counter() - t)
    lat_ms = 1e3 * np.asarray(lat)
    p50, p95, pmax = (float(np.percentile(lat_ms, q)) for q in (50, 95, 100))
    # where the time goes: the same evaluation without the limits, median of 20 cut changes
    parts = []
    for _ in range(20):
        change = random_change(model, rng)
        try:
            _, c, _, _ = model.make_cuts(**change)
        except CutRangeError:
            continue
        t = time.perf_counter()
        model.evaluate(c, limits=False)
        parts.append(time.perf_counter() - t)
    no_limits_ms = 1e3 * float(np.median(parts))

    print(f"cut changes: {len(lat)}")
    print(f"latency per cut change: p50 {p50:.1f} ms, p95 {p95:.1f} ms, max {pmax:.1f} ms")
    print(f"  the same without the limits (masks, cutflow, efficiency, background, p_out): "
          f"median {no_limits_ms:.1f} ms")
    print(f"baseline: one bare selection.passes call on {n} events: {baseline_ms:.1f} ms "
          f"(p95 / baseline = {p95 / baseline_ms:.1f})")
    print(f"target: p95 < {TARGET_P95_MS:g} ms (p95 / target = {p95 / TARGET_P95_MS:.2f})")
    res = Results()
    res.add("explorer_p95_ms", p95, "ms", ratio=p95 / baseline_ms, baseline="one_selection_passes_call",
            cores=1, files=f"{n}_stored_events_in_memory", target=f"<{TARGET_P95_MS:g}ms",
            passed=p95 < TARGET_P95_MS)
    res.add("explorer_p50_ms", p50, "ms", cores=1, files=f"{n}_stored_events_in_memory")
    return res.exit_code()


if __name__ == "__main__":
    sys.exit(main())
