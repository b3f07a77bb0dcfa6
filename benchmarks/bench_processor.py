"""Benchmark: na64tools.run (futures, N workers) against a bare uproot read in N processes, on files `na64tools simulate` writes.

Input: a background sample written by the command ``na64tools simulate`` (ZSTD(1), the files a
user has), of at least ``--events`` stored events (default 3e6; ``--large``: 3e7) in ``--files``
files (default 2), generated once and cached in ``--cache``. Then, in the same run, on the same
files and the same number of processes (``--workers``, default 2), ``--repeat`` times
alternately:

* baseline: a fresh loky pool of ``--workers`` processes reads every chunk (the processor's
  chunks) with ``uproot`` ``TTree.arrays(branches, library="ak")`` of exactly the branches the
  processor reads (checked against coffea's access log). Pool start-up and shutdown are inside
  the timing;
* measured: ``na64tools.run({"bench": files}, executor="futures", workers=N, progress=False)`` as a
  user calls it: its own pool started (workers included), file inspection, all chunks, merging
  and finalisation (histograms, cutflow and the cut table).

Printed: wall and CPU (client + workers) of both sides and their ratios (best of ``--repeat``),
events/s, peak resident memory per worker and of the client (with and without the cut table),
and the 1 -> 2 worker speed-up of ``na64tools.run`` on one file (the first file of the sample),
with a pool the caller started (``client=pool``: the scaling of the chunks) and as a user calls
it (its pool start-up included).

Targets (issue 13): processor / bare read <= 1.5 (3e6 events) or <= 1.25 (``--large``), wall;
1 -> 2 workers >= 1.7 on one file; peak RSS per worker < 1.5 GB.

    python benchmarks/bench_processor.py                      # 3e6 stored events
    python benchmarks/bench_processor.py --large              # 3e7 stored events (minutes)
    python benchmarks/bench_processor.py --events 3e5          # a quick check
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import EXIT_USAGE, Results, load  # noqa: E402

SEED = 4242
RATIO_TARGET = {False: 1.5, True: 1.25}   # --large: False/True
SPEEDUP_TARGET = 1.7
RSS_TARGET_GB = 1.5
#: branches the processor reads (checked against coffea's access log at run time)
BRANCHES = ["Beam_p", "Beam_chi2", "nTrack", "Track_p", "Track_chi2", "Track_nhits",
            "ECAL_energy", "nHCAL", "HCAL_energy", "VETO_energy", "VHCAL_energy",
            "Trigger_scattered", "genWeight", "Gen_process"]


def ensure_sample(cache: Path, events: int, files: int) -> tuple[list[str], int]:
    """Files of a background sample written by ``na64tools simulate`` with >= ``events`` stored
    events (generated events from the trigger's written fraction on a pilot), cached."""
    import uproot

    from na64tools.sim import BLOCK_SIZE, generate

    pilot = 4 * BLOCK_SIZE
    frac = len(generate("background", events=pilot, seed=SEED, triggered_only=True)["genWeight"]) / pilot
    n_gen = int(math.ceil(1.05 * events / frac / BLOCK_SIZE)) * BLOCK_SIZE
    d = cache / f"sim_background_seed{SEED}_gen{n_gen}_files{files}"
    marker = d / "sample.json"
    if marker.exists():
        info = json.loads(marker.read_text())
        if all(Path(f).exists() for f in info["files"]):
            return info["files"], info["stored"]
    print(f"na64tools simulate: {n_gen:.4g} background events (~{events:.3g} stored) in {files} files "
          f"into {d} ...", flush=True)
    t = time.perf_counter()
    d.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "na64tools", "simulate", "--sample", "background", "--events", str(n_gen),
           "--seed", str(SEED), "--out", str(d), "--files", str(files), "--no-progress"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL)
    paths = sorted(str(p) for p in d.glob("*.root"))
    stored = 0
    for p in paths:
        with uproot.open(p) as f:
            stored += f["Events"].num_entries
    marker.write_text(json.dumps({"files": paths, "stored": stored, "generated": n_gen}))
    print(f"  simulated in {time.perf_counter() - t:.0f} s: {stored} stored events", flush=True)
    return paths, stored


class Processes:
    """Peak RSS and CPU time of every descendant process of this one, sampled every ``period``
    seconds (the CPU time of a process is its last sample), and the CPU time of this process."""

    def __init__(self, period: float = 0.05):
        import psutil

        self.me = psutil.Process()
        self.period = period
        self.peak: dict[int, int] = {}
        self.cpu: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _sample(self):
        for child in self.me.children(recursive=True):
            try:
                with child.oneshot():
                    self.peak[child.pid] = max(self.peak.get(child.pid, 0), child.memory_info().rss)
                    t = child.cpu_times()
                    self.cpu[child.pid] = t.user + t.system
            except Exception:
                continue

    def _loop(self):
        while not self._stop.is_set():
            self._sample()
            time.sleep(self.period)

    def __enter__(self):
        r = resource.getrusage(resource.RUSAGE_SELF)
        self._self0 = r.ru_utime + r.ru_stime
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        r = resource.getrusage(resource.RUSAGE_SELF)
        self.self_cpu = r.ru_utime + r.ru_stime - self._self0

    @property
    def peak_gb(self) -> float:
        return max(self.peak.values()) / 1e9 if self.peak else float("nan")

    @property
    def total_cpu(self) -> float:
        return self.self_cpu + sum(self.cpu.values())


def client_peak_rss_gb(fn) -> float:
    """Peak RSS (GB) of a fresh Python process that runs ``fn`` source code (the client side;
    Linux)."""
    # VmHWM (this process's own peak; ru_maxrss would start from the RSS of the parent at fork)
    code = (fn + "\nprint([int(line.split()[1]) for line in open('/proc/self/status') "
            "if line.startswith('VmHWM:')][0])\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    return int(r.stdout.split()[-1]) * 1024 / 1e9


def branches_read(path: str) -> list[str]:
    """The ``Events`` branches the processor materialises (coffea's access log of one chunk)."""
    import uproot
    from coffea.nanoevents import NanoEventsFactory

    from na64tools.processor import UPROOT_OPTIONS, MissingMomentumProcessor
    from na64tools.schema import NA64Schema

    log: list = []
    meta = {"dataset": "bench", "filename": path, "treename": "Events", "entrystart": 0, "entrystop": 1000}
    with uproot.open({path: None}, **UPROOT_OPTIONS) as f:
        events = NanoEventsFactory.from_root(file=f, treepath="Events", schemaclass=NA64Schema, metadata=meta,
                                             mode="virtual", entry_start=0, entry_stop=1000, access_log=log,
                                             buffer_cache={}).events()
        MissingMomentumProcessor().process(events)
    return sorted({entry.branch for entry in log})


def _read_chunk(path: str, start: int, stop: int) -> int:
    import uproot

    with uproot.open(path) as f:
        return len(f["Events"].arrays(BRANCHES, entry_start=start, entry_stop=stop, library="ak"))


def processor_chunks(files: list[str], chunksize: int) -> list[tuple[str, int, int]]:
    """The ``(file, start, stop)`` chunks ``na64tools.run`` processes."""
    import uproot

    from na64tools.runner import split_entries

    chunks = []
    for p in files:
        with uproot.open(p) as f:
            n = f["Events"].num_entries
        chunks += [(p, a, b) for a, b in split_entries(n, chunksize)]
    return chunks


class uproot_entries:
    """``with uproot_entries(path) as n``: the entries of the file's ``Events`` tree."""

    def __init__(self, path: str):
        import uproot

        self.f = uproot.open(path)

    def __enter__(self) -> int:
        return self.f["Events"].num_entries

    def __exit__(self, *exc):
        self.f.close()


def bare_read(files: list[str], chunksize: int, workers: int) -> tuple[float, int, Processes]:
    """Wall time of reading every chunk of ``files`` in a fresh pool of ``workers`` processes."""
    from loky import ProcessPoolExecutor

    with Processes() as procs:
        t = time.perf_counter()
        chunks = processor_chunks(files, chunksize)
        with ProcessPoolExecutor(max_workers=workers) as pool:
            nread = sum(pool.map(_read_chunk, *zip(*chunks, strict=True)))
        wall = time.perf_counter() - t
    return wall, nread, procs


def profile_chunk(path: str, n: int, repeat: int = 3) -> dict[str, float]:
    """CPU seconds (best of ``repeat``) of each stage of the processor on the first ``n`` entries
    of ``path``, in this process, with the bare read of the same entries for comparison."""
    import pickle

    import uproot
    from coffea.nanoevents import NanoEventsFactory

    import na64tools.processor as P
    from na64tools.accumulate import Fill, fill_selection, tune_memory
    from na64tools.schema import NA64Schema
    from na64tools.selection import VARIABLES, as_float, cut_masks, events_getter, raw_variables

    tune_memory()
    best: dict[str, float] = {}

    def stage(name, fn):
        t = time.process_time()
        r = fn()
        best[name] = min(best.get(name, math.inf), time.process_time() - t)
        return r

    proc = P.MissingMomentumProcessor()
    meta = {"dataset": "bench", "filename": path, "treename": "Events", "entrystart": 0, "entrystop": n}

    def events():
        return NanoEventsFactory.from_root(file=uproot.open({path: None}, **P.UPROOT_OPTIONS),
                                           treepath="Events", schemaclass=NA64Schema, metadata=meta,
                                           mode="virtual", entry_start=0, entry_stop=n).events()

    def once():
        stage("bare read (uproot arrays, ak)", lambda: _read_chunk(path, 0, n))
        ev = stage("open the file, NanoEvents build", events)
        raw = stage("read + cut variables (raw_variables)", lambda: raw_variables(events_getter(ev)))
        w, pr = stage("read genWeight, Gen_process", lambda: P.read_weights(ev))
        v = stage("float64 variables (as_float)", lambda: as_float(raw))
        masks = stage("cut masks + preselection", lambda: (cut_masks(v, proc.cuts), proc.preselection.mask(v)))
        acc = P.MMAccumulator()
        fills = [Fill(acc.hists[f"nminus1_{x}"], (x,), "nminus1", P.CUT_OF[x]) for x in VARIABLES]
        fills += [Fill(acc.hists[k], vs) for k, vs in P.MAIN_HISTS.items()]
        stage("exact sums: cutflow + 17 histograms (fill_selection)",
              lambda: fill_selection("bench", acc.cutflow, fills, masks[0], masks[1], v, w, pr))

        def table():
            rows = np.flatnonzero(masks[1])
            return {k: raw[k].take(rows) for k in VARIABLES} | {"w": w.take(rows), "e": rows + 0}

        stage("table columns", table)
        ev2 = events()
        out = stage("whole process() of the chunk", lambda: proc.process(ev2))
        blob = stage("pickle the chunk's output (shipping)", lambda: pickle.dumps(out, protocol=5))
        best["(size of the pickled output, MB)"] = len(blob) / 1e6

    for _ in range(repeat):
        once()
    return best


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=float, default=None, help="stored background events (default 3e6)")
    ap.add_argument("--large", action="store_true", help="3e7 stored events (target ratio 1.25)")
    ap.add_argument("--files", type=int, default=2, help="files of the sample (default 2)")
    ap.add_argument("--workers", type=int, default=2, help="processes of both sides (default 2)")
    ap.add_argument("--chunksize", type=int, default=None, help="events per chunk (default: na64tools.run's)")
    ap.add_argument("--repeat", type=int, default=3, help="alternating runs of each side (the best counts)")
    ap.add_argument("--no-scaling", action="store_true", help="skip the 1 -> 2 workers measurement")
    ap.add_argument("--profile", action="store_true",
                    help="print the CPU time of each stage of one chunk, then the benchmark")
    ap.add_argument("--cache", default=os.environ.get("NA64_BENCH_CACHE",
                                                        os.path.join(tempfile.gettempdir(), "na64tools-bench")))
    args = ap.parse_args(argv)
    events = args.events if args.events is not None else (3e7 if args.large else 3e6)
    if events < 1 or args.files < 1 or args.workers < 1 or args.repeat < 1:
        print("error: --events, --files, --workers and --repeat must be positive", file=sys.stderr)
        return EXIT_USAGE
    import na64tools.runner as na64run

    chunksize = args.chunksize or na64run.DEFAULT_CHUNKSIZE
    files, stored = ensure_sample(Path(args.cache), int(events), args.files)
    size = sum(os.path.getsize(f) for f in files)
    print(f"sample: {len(files)} files written by `na64tools simulate`, {stored} stored events, "
          f"{size / 1e6:.0f} MB; chunksize {chunksize}; {args.workers} processes on each side; "
          f"{os.cpu_count()} cores; load {load():.1f}")
    read = branches_read(files[0])
    if read != sorted(BRANCHES):
        print(f"error: the processor reads {read}, the baseline {sorted(BRANCHES)}: update BRANCHES",
              file=sys.stderr)
        return EXIT_USAGE
    print(f"branches read by both ({len(read)}): {', '.join(BRANCHES)}")
    if args.profile:
        with uproot_entries(files[0]) as n_first:
            n = min(n_first, chunksize)
        print(f"profile of one chunk ({n} events of {Path(files[0]).name}), CPU s, best of 3, load {load():.1f}:")
        for name, t in profile_chunk(files[0], n).items():
            print(f"  {name:55s} {t:8.3f}")
    reads, procs_ = [], []
    for i in range(args.repeat):
        t_read, nread, pr = bare_read(files, chunksize, args.workers)
        assert nread == stored, (nread, stored)
        reads.append((t_read, pr.total_cpu))
        with Processes() as mem:
            t = time.perf_counter()
            out = na64run.run({"bench": files}, executor="futures", workers=args.workers,
                              chunksize=chunksize, progress=False)
            t_proc = time.perf_counter() - t
        assert out["mot"]["bench"].n_processed == stored
        rows = len(out["table"])
        del out
        procs_.append((t_proc, mem.total_cpu, mem.peak_gb))
        print(f"run {i + 1}: bare read {t_read:.2f} s (CPU {pr.total_cpu:.2f} s, {stored / t_read / 1e6:.2f} M ev/s), "
              f"na64tools.run {t_proc:.2f} s (CPU {mem.total_cpu:.2f} s, {stored / t_proc / 1e6:.2f} M ev/s), "
              f"ratio {t_proc / t_read:.2f}, peak RSS/worker {mem.peak_gb:.2f} GB, table {rows} rows, "
              f"load {load():.1f}", flush=True)
    t_read, cpu_read = min(reads)
    t_proc, cpu_proc, _ = min(procs_)
    peak = max(p[2] for p in procs_)
    target = RATIO_TARGET[args.large or events >= 3e7]
    res = Results()
    desc = f"{len(files)}xsim_zstd_{stored:.2g}ev".replace("+", "")
    base = f"uproot_arrays_ak_{args.workers}proc_pool"
    res.add("processor_wall_s", t_proc, "s", ratio=t_proc / t_read, baseline=base, cores=args.workers,
            files=desc, target=f"ratio<={target}", passed=t_proc / t_read <= target)
    res.add("processor_cpu_s", cpu_proc, "s", ratio=cpu_proc / cpu_read, baseline=base,
            cores=args.workers, files=desc)
    res.add("processor_events_per_s", stored / t_proc, "events/s", cores=args.workers, files=desc)
    res.add("peak_rss_per_worker_GB", peak, "GB", cores=args.workers, files=desc,
            target=f"<{RSS_TARGET_GB}", passed=peak < RSS_TARGET_GB)
    # the client: a fresh process, so that its peak is its own
    for table in (False, True):
        call = (f"import na64tools.runner as r\nfrom na64tools import MissingMomentumProcessor as M\n"
                f"r.run({{'bench': {files!r}}}, M(table={table}), workers={args.workers}, "
                f"chunksize={chunksize}, progress=False)")
        rss = client_peak_rss_gb(call)
        res.add(f"client_peak_rss_table_{'on' if table else 'off'}_GB", rss, "GB", cores=args.workers,
                files=desc)
    if not args.no_scaling:
        scaling(res, files[0], chunksize, args.repeat)
    return res.exit_code()


def scaling(res: Results, path: str, chunksize: int, repeat: int) -> None:
    """1 -> 2 workers on one file: with pools started beforehand, and as a user calls run."""
    import uproot

    import na64tools.runner as na64run

    with uproot.open(path) as f:
        n = f["Events"].num_entries
    desc = f"1xsim_zstd_{n:.2g}ev".replace("+", "")
    best = {}
    for started in (True, False):
        for w in (1, 2):
            times = []
            for _ in range(repeat):
                pool = na64run.make_pool(w) if started else None
                try:
                    t = time.perf_counter()
                    na64run.run({"bench": [path]}, executor="futures", workers=w, client=pool,
                                chunksize=chunksize, progress=False)
                    times.append(time.perf_counter() - t)
                finally:
                    if pool is not None:
                        pool.shutdown(wait=True)
            best[started, w] = min(times)
        s = best[started, 1] / best[started, 2]
        print(f"one file ({n} events), {'pools started beforehand' if started else 'as a user calls run'}: "
              f"1 worker {best[started, 1]:.2f} s, 2 workers {best[started, 2]:.2f} s, speed-up {s:.2f}")
        res.add(f"speedup_1to2_workers_{'chunks' if started else 'run'}", s, "x", cores="1to2", files=desc,
                baseline="same_run_1_worker", ratio=s,
                target=f">={SPEEDUP_TARGET}" if started else None,
                passed=(s >= SPEEDUP_TARGET) if started else None)


if __name__ == "__main__":
    sys.exit(main())
