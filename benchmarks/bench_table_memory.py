"""Benchmark: client memory of a run whose cut table stays on disk, from 1e6 to 1e7 (1e8) events.

For each size N (generated background muons; default 1e6 and 1e7, ``--large`` adds 1e8) a
background sample is simulated once (``na64tools.sim``, on ``--workers`` local Dask workers),
with a small signal sample at two masses shared by all sizes. Then, each in a fresh Python
process (the client), in the same run:

- ``disk``: ``na64tools.run(..., executor="futures", table_dir=D)`` (the workers write the cut
  table as Parquet partitions), :class:`~na64tools.analysis.Analysis` of the output as it is
  (the table read partition by partition, row group by row group) at three cut sets, and the
  CutExplorer model on it (``max_rows``: every row if the table fits, else a declared
  subsample) with three slider moves and one ``exact_result()``;
- ``memory`` (the baseline): the same with the table collected into the client (the default).

The client's peak RSS (``getrusage``, the worker processes excluded) is printed after each phase
(run, Analysis, explorer) for every size and mode, with the ratio disk/memory at each size, and
the growth largest/smallest size of the disk mode (target <= 1.2: flat in N). The Analysis
numbers of both modes (background by source, efficiencies) must be identical to the last bit.

    python benchmarks/bench_table_memory.py                 # 1e6 and 1e7 (a few minutes)
    python benchmarks/bench_table_memory.py --large         # adds 1e8 (~6 GB of ntuples in --data)
    python benchmarks/bench_table_memory.py --quick         # 2e5 and 1e6 events

The samples and tables are written in ``--data`` (default: a new directory in /tmp) and
deleted at the end unless ``--keep``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import EXIT_USAGE, Results  # noqa: E402

SEED = 31_415
GROWTH_TARGET = 1.2
SIGNAL_MASSES = (0.1, 0.5)


def _peak_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0   # KiB on Linux


def child(args) -> int:
    """One client: run, Analysis, explorer; prints one JSON line."""
    from na64tools.analysis import Analysis
    from na64tools.config import Cuts
    from na64tools.interactive import CutExplorerModel
    from na64tools.runner import run

    fileset = json.loads(Path(args.fileset).read_text())
    out_info: dict = {"mode": args.child}
    t = time.perf_counter()
    out = run(fileset, executor="futures", workers=args.workers, chunksize=args.chunksize,
              progress=False, table_dir=args.table_dir if args.child == "disk" else None)
    out_info["t_run"] = time.perf_counter() - t
    out_info["peak_run"] = _peak_mb()
    out_info["rows"] = (out["run"]["table"]["rows"] if out["table"] is None else len(out["table"]))
    if args.child == "disk":
        out_info["table_bytes"] = sum(p.stat().st_size for p in Path(args.table_dir).rglob("*")
                                      if p.is_file())
    loose = Cuts(p_out_max=100.0, ecal_max=10.0, hcal_max=20.0, veto_max=10.0, vhcal_max=100.0)
    cut_sets = (Cuts(), loose, Cuts(p_out_max=60.0))
    t = time.perf_counter()
    a = Analysis(out)
    res = [a.evaluate(c) for c in cut_sets]
    out_info["t_analysis"] = time.perf_counter() - t
    out_info["peak_analysis"] = _peak_mb()
    out_info["numbers"] = [
        {"background": {s: [b.value, b.stat, b.n_events, b.upper] for s, b in r.background.items()},
         "efficiency": {str(m): [e.n_pass, e.n_total] for m, e in r.efficiencies.items()}}
        for r in res]
    del a, res
    t = time.perf_counter()
    m = CutExplorerModel(out, max_rows=args.max_rows)
    out_info["t_explorer_open"] = time.perf_counter() - t
    t = time.perf_counter()
    for kw in ({"p_out_max": 60.0}, {"veto_max": 0.05}, {"hcal": False}):
        m.set_cuts(**kw)
    out_info["t_explorer_move"] = (time.perf_counter() - t) / 3
    t = time.perf_counter()
    m.exact_result()
    out_info["t_exact"] = time.perf_counter() - t
    out_info["subsample"] = m.subsample.as_dict() if m.subsample is not None else None
    out_info["peak_explorer"] = _peak_mb()
    print("CHILD " + json.dumps(out_info), flush=True)
    return 0


def simulate_samples(data: Path, sizes, workers: int, signal_events: int) -> dict[int, dict]:
    from na64tools.clients import close_client, make_client
    from na64tools.sim import simulate

    client = make_client("local", n_workers=workers, threads_per_worker=1)
    try:
        signal = {}
        for i, m in enumerate(SIGNAL_MASSES):
            files = simulate("signal", mass=m, events=signal_events, seed=SEED + 1 + i,
                             out=data / f"sig_{m:g}")
            signal[f"signal_vector_m{m:g}"] = [str(f) for f in files]
        out = {}
        for n in sizes:
            t = time.perf_counter()
            files = simulate("background", events=n, seed=SEED, out=data / f"bkg_{n:.0e}",
                             files=max(workers, n // 5_000_000), client=client)
            print(f"  simulated {n:.0e} background events in {time.perf_counter() - t:.0f} s",
                  flush=True)
            out[n] = {**signal, "background": [str(f) for f in files]}
    finally:
        close_client(client)
    return out


def main(argv=None) -> int:
    from na64tools.interactive.model import DEFAULT_MAX_ROWS
    from na64tools.runner import DEFAULT_CHUNKSIZE

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="1e6,1e7", help="background events to simulate, comma-separated")
    ap.add_argument("--large", action="store_true", help="add 1e8 events")
    ap.add_argument("--quick", action="store_true", help="2e5 and 1e6 events (a minute)")
    ap.add_argument("--data", default=None, help="directory for the samples and tables")
    ap.add_argument("--keep", action="store_true", help="keep --data at the end")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--chunksize", type=int, default=DEFAULT_CHUNKSIZE)
    ap.add_argument("--max-rows", type=int, default=DEFAULT_MAX_ROWS, help="explorer max_rows")
    ap.add_argument("--signal-events", type=int, default=20_000)
    ap.add_argument("--child", choices=("disk", "memory"), help=argparse.SUPPRESS)
    ap.add_argument("--fileset", help=argparse.SUPPRESS)
    ap.add_argument("--table-dir", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        return child(args)
    if args.quick:
        args.sizes = "2e5,1e6"
    try:
        sizes = sorted({int(float(x)) for x in args.sizes.split(",") if x.strip()}
                       | ({100_000_000} if args.large else set()))
    except ValueError:
        print(f"--sizes {args.sizes!r}: expected numbers like 1e6,1e7", file=sys.stderr)
        return EXIT_USAGE
    if len(sizes) < 2:
        print("--sizes: give at least two sizes", file=sys.stderr)
        return EXIT_USAGE
    data = Path(args.data or tempfile.mkdtemp(prefix="na64-table-memory-"))
    data.mkdir(parents=True, exist_ok=True)
    res = Results()
    try:
        print(f"simulating into {data} (load {os.getloadavg()[0]:.2f}) ...", flush=True)
        samples = simulate_samples(data, sizes, args.workers, args.signal_events)
        got: dict[tuple[int, str], dict] = {}
        for n in sizes:
            fs = data / f"fileset_{n:.0e}.json"
            fs.write_text(json.dumps(samples[n]))
            for mode in ("memory", "disk"):
                table_dir = data / f"table_{n:.0e}"
                cmd = [sys.executable, __file__, "--child", mode, "--fileset", str(fs),
                       "--table-dir", str(table_dir), "--workers", str(args.workers),
                       "--chunksize", str(args.chunksize), "--max-rows", str(args.max_rows)]
                p = subprocess.run(cmd, capture_output=True, text=True,
                                   env={**os.environ, "PYTHONPATH": str(ROOT)})
                line = next((x for x in p.stdout.splitlines() if x.startswith("CHILD ")), None)
                if p.returncode != 0 or line is None:
                    print(p.stdout[-2000:], p.stderr[-4000:], file=sys.stderr)
                    raise SystemExit(f"the {mode} client at {n:.0e} events failed")
                got[n, mode] = info = json.loads(line[6:])
                shutil.rmtree(table_dir, ignore_errors=True)
                print(f"  {n:.0e} events, {mode}: {info['rows']} table rows, run "
                      f"{info['t_run']:.1f} s, Analysis {info['t_analysis']:.2f} s (3 cut sets), "
                      f"explorer open {info['t_explorer_open']:.2f} s, move "
                      f"{info['t_explorer_move'] * 1e3:.0f} ms, exact_result "
                      f"{info['t_exact']:.2f} s, subsample "
                      f"{'none' if info['subsample'] is None else info['subsample']['rows_kept']}",
                      flush=True)
        for n in sizes:
            d, m = got[n, "disk"], got[n, "memory"]
            for phase in ("run", "analysis", "explorer"):
                res.add(f"table_client_peak_rss_{phase}_disk_{n:.0e}", d[f"peak_{phase}"], "MB",
                        ratio=d[f"peak_{phase}"] / m[f"peak_{phase}"],
                        baseline="in_memory_table", cores=args.workers,
                        files=f"sim_bkg_{n:.0e}_rows_{d['rows']}")
            res.add(f"table_client_peak_rss_memory_{n:.0e}", m["peak_explorer"], "MB",
                    cores=args.workers, files=f"sim_bkg_{n:.0e}_rows_{m['rows']}")
            res.add(f"table_parquet_bytes_per_row_{n:.0e}", d["table_bytes"] / max(d["rows"], 1),
                    "bytes", files=f"sim_bkg_{n:.0e}_rows_{d['rows']}")
            res.add(f"table_analysis_identical_{n:.0e}", float(d["numbers"] == m["numbers"]),
                    "bool", baseline="in_memory_table", target="1", passed=d["numbers"] == m["numbers"])
        lo, hi = sizes[0], sizes[-1]
        for phase in ("analysis", "explorer"):
            g = got[hi, "disk"][f"peak_{phase}"] / got[lo, "disk"][f"peak_{phase}"]
            res.add(f"table_client_peak_growth_{phase}_disk", g, "ratio",
                    baseline=f"{lo:.0e}_events", target=f"<={GROWTH_TARGET}",
                    files=f"{lo:.0e}_to_{hi:.0e}", passed=g <= GROWTH_TARGET)
        g = got[hi, "memory"]["peak_explorer"] / got[lo, "memory"]["peak_explorer"]
        res.add("table_client_peak_growth_memory", g, "ratio", baseline=f"{lo:.0e}_events",
                files=f"{lo:.0e}_to_{hi:.0e}")
    finally:
        if not args.keep:
            shutil.rmtree(data, ignore_errors=True)
    return res.exit_code()


if __name__ == "__main__":
    sys.exit(main())
