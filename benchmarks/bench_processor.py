"""Benchmark: MissingMomentumProcessor (futures, 2 workers) against a bare uproot read.

Generates (once, cached) an ntuple of ``--events`` events (default 1e7) with the test ntuple
writer, then in the same run:

1. finds the branches the processor reads (coffea's access log of one processed chunk: the 14
   branches of the cut variables, ``genWeight`` and ``Gen_process``);
2. times ``uproot.iterate`` over exactly those branches, in one process, with the same step
   size: the baseline, the cost of just reading (decompressing) the data;
3. times ``na64tools.run(..., executor="futures", workers=2)`` (file inspection, all chunks,
   merging and finalisation: histograms, cutflow and the float64 cut table) with a warmed-up
   process pool (pool start-up is reported separately), while sampling the resident memory of
   every worker process and the CPU time of all processes;
4. profiles one chunk of the default size in this process: where the CPU time goes.

Steps 2 and 3 alternate ``--repeat`` (4) times per chunk size, each pair after waiting (up to
``--quiet-wait`` seconds) for the other processes to leave the CPUs idle; the ratio is the best
processor time over the best bare-read time (the machine is shared: the best of a few runs is
the least disturbed by other jobs; every run is printed with the load). Prints, per chunk size, events/s, the wall-time
ratio processor/bare read (target <= 1.25), the CPU-time ratio and the peak RSS per worker
(target < 1.5 GB), and ends with RESULT lines for the default chunk size.

    python benchmarks/bench_processor.py                 # 1e7 events
    python benchmarks/bench_processor.py --events 2e6 --chunksizes 500000   # quicker
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

#: branches the processor reads (checked against coffea's access log at run time)
BRANCHES = ["Beam_p", "Beam_chi2", "nTrack", "Track_p", "Track_chi2", "Track_nhits",
            "ECAL_energy", "nHCAL", "HCAL_energy", "VETO_energy", "VHCAL_energy",
            "Trigger_scattered", "genWeight", "Gen_process"]


def make_file(path: Path, n: int, piece: int = 100_000) -> None:
    """Write ``n`` events in baskets of ``piece`` events (cached)."""
    import awkward as ak
    import ntuple_factory as nf
    import uproot

    tmp = path.with_suffix(".part")
    first = nf.make_events(min(piece, n), 0)
    types = {k: (v.type.content if isinstance(v, ak.Array) else np.asarray(v).dtype) for k, v in first.items()}
    wsum = w2sum = 0.0
    with uproot.recreate(tmp, compression=uproot.ZLIB(1)) as f:
        f.mktree("Events", types)
        for i, start in enumerate(range(0, n, piece)):
            ev = first if i == 0 else nf.make_events(min(piece, n - start), i)
            ev["event"] = np.arange(start, start + len(ev["genWeight"]), dtype=np.int64) + 1
            f["Events"].extend(ev)
            w = np.asarray(ev["genWeight"])
            wsum += float(w.sum())
            w2sum += float((w * w).sum())
        f["Runs"] = {
            "run": np.array([1], np.int32), "mot": np.array([3 * wsum]),
            "nGenerated": np.array([3 * n], np.int64), "nWritten": np.array([n], np.int64),
            "sumw": np.array([wsum]), "sumw2": np.array([w2sum]), "sample": np.array(["background"]),
            "model": np.array([""]), "mass": np.array([0.0]), "coupling": np.array([0.0]),
            "setup": np.array(["na64mu_2022"]), "setupHash": np.array(["0" * 64]),
            "generator": np.array(["benchmarks/bench_processor.py"]), "seed": np.array([0], np.int64),
        }
    tmp.rename(path)


class WorkerMemory:
    """Sample the RSS of the child processes of this process; keep the peak per pid, and the CPU
    time used by this process and its children (user + system) between enter and exit."""

    def __init__(self, period: float = 0.05):
        import psutil

        self.me = psutil.Process()
        self.period = period
        self.peak: dict[int, int] = {}
        self.cpu = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _cpu(self) -> float:
        total = sum(self.me.cpu_times()[:2])
        for child in self.me.children(recursive=True):
            try:
                total += sum(child.cpu_times()[:2])
            except Exception:
                pass
        return total

    def _loop(self):
        while not self._stop.is_set():
            for child in self.me.children(recursive=True):
                try:
                    rss = child.memory_info().rss
                except Exception:
                    continue
                self.peak[child.pid] = max(self.peak.get(child.pid, 0), rss)
            time.sleep(self.period)

    def __enter__(self):
        self._cpu0 = self._cpu()
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.cpu = self._cpu() - self._cpu0


def _warm(_):
    import na64tools.processor  # noqa: F401

    return os.getpid()


def _events(path: Path, start: int, stop: int, access_log=None):
    """NanoEvents of one chunk, built as coffea's Runner builds them."""
    import uproot
    from coffea.nanoevents import NanoEventsFactory

    from na64tools.processor import UPROOT_OPTIONS
    from na64tools.schema import NA64Schema

    meta = {"dataset": "bench", "filename": str(path), "treename": "Events",
            "entrystart": start, "entrystop": stop}
    f = uproot.open({str(path): None}, **UPROOT_OPTIONS)
    return f, NanoEventsFactory.from_root(
        file=f, treepath="Events", schemaclass=NA64Schema, metadata=meta, mode="virtual",
        entry_start=start, entry_stop=stop, access_log=access_log if access_log is not None else [],
        buffer_cache={}).events()


def branches_read(path: Path) -> list[str]:
    """The ``Events`` branches the processor materialises (coffea's access log of one chunk)."""
    from na64tools.processor import MissingMomentumProcessor

    log: list = []
    f, events = _events(path, 1000, 2000, log)
    with f:
        MissingMomentumProcessor().process(events)
    return sorted({entry.branch for entry in log})


def profile_chunk(path: Path, chunksize: int, n: int) -> tuple[int, float, float, dict[str, float]]:
    """CPU time of the stages of one chunk processed in this process (after one warm-up chunk).

    Returns the number of events, the total CPU time, the CPU time of a bare uproot read of
    the same entries, and the time per stage. Run it in a pool worker: like the chunks of a run.
    """
    import uproot
    from coffea.nanoevents import NanoEventsFactory

    import na64tools.processor as P
    from na64tools.exact import ExactHist

    def cpu() -> float:
        r = resource.getrusage(resource.RUSAGE_THREAD)
        return r.ru_utime + r.ru_stime

    stats: dict[str, float] = {}

    def timed(label, f):
        def g(*args, **kwargs):
            c = cpu()
            try:
                return f(*args, **kwargs)
            finally:
                stats[label] = stats.get(label, 0.0) + cpu() - c
        return g

    saved = {k: getattr(P, k) for k in ("raw_variables", "read_weights", "cut_masks", "decompose")}
    saved_fill, saved_from_root = ExactHist.fill_group, NanoEventsFactory.from_root
    P.raw_variables = timed("read branches, cut variables (raw_variables)", P.raw_variables)
    P.read_weights = timed("read genWeight, Gen_process (read_weights)", P.read_weights)
    P.cut_masks = timed("cut masks", P.cut_masks)
    P.decompose = timed("exact sums: split weights (decompose)", P.decompose)
    ExactHist.fill_group = staticmethod(timed("exact sums: histograms + cutflow (fill_group)",
                                              ExactHist.fill_group))
    NanoEventsFactory.from_root = timed("open file, TTree metadata, NanoEvents", saved_from_root)
    proc = P.MissingMomentumProcessor()
    start = min(chunksize, max(n - chunksize, 0))
    stop = min(start + chunksize, n)
    try:
        for _ in range(2):  # the first one warms up
            stats.clear()
            c0 = cpu()
            f, events = _events(path, start, stop)
            with f:
                proc.process(events)
                del events
            total = cpu() - c0
    finally:
        for k, v in saved.items():
            setattr(P, k, v)
        ExactHist.fill_group = saved_fill
        NanoEventsFactory.from_root = saved_from_root
    stats["rest (masks bookkeeping, table columns, gc)"] = total - sum(stats.values())
    c0 = cpu()
    with uproot.open(str(path)) as f:
        f["Events"].arrays(BRANCHES, entry_start=start, entry_stop=stop)
    return stop - start, total, cpu() - c0, stats


def wait_for_quiet(limit: float, busy: float = 30.0) -> tuple[float, float]:
    """Wait (at most ``limit`` seconds) until the other processes leave the CPUs nearly idle:
    the machine is shared, and a run that competes with other jobs measures them. Returns the
    time waited and the CPU use (%, all cores) of the last second."""
    import psutil

    t0 = time.perf_counter()
    use = psutil.cpu_percent(interval=1.0)
    while use > busy and time.perf_counter() - t0 < limit:
        use = psutil.cpu_percent(interval=1.0)
    return time.perf_counter() - t0, use


def bare_read_tuned(path: Path, chunksize: int) -> tuple[float, float]:
    """Wall and CPU time of the bare read with the processor's memory settings
    (:func:`na64tools.processor.tune_memory`), in a pool worker: for comparison only."""
    import uproot

    from na64tools.processor import tune_memory

    tune_memory()
    t, c = time.perf_counter(), time.process_time()
    for _ in uproot.iterate(f"{path}:Events", BRANCHES, step_size=chunksize, library="ak"):
        pass
    return time.perf_counter() - t, time.process_time() - c


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=float, default=1e7)
    ap.add_argument("--chunksizes", default="500000,1000000,2000000")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=4, help="runs per chunk size (the best counts)")
    ap.add_argument("--quiet-wait", type=float, default=60.0,
                    help="before each run, wait up to this many seconds for the CPUs to be idle")
    ap.add_argument("--cache", default=os.environ.get("NA64_BENCH_CACHE",
                                                        os.path.join(tempfile.gettempdir(), "na64tools-bench")))
    args = ap.parse_args()
    n = int(args.events)
    import uproot

    import na64tools.run as na64run

    cache = Path(args.cache)
    cache.mkdir(parents=True, exist_ok=True)
    path = cache / f"bench_{n}.root"
    if not path.exists():
        t = time.perf_counter()
        print(f"writing {n:.3g} events to {path} ...", flush=True)
        make_file(path, n)
        print(f"  written in {time.perf_counter() - t:.1f} s", flush=True)
    print(f"file: {path} ({path.stat().st_size / 1e6:.0f} MB), {n:.3g} events")

    chunksizes = [int(c) for c in args.chunksizes.split(",")]
    default = na64run.DEFAULT_CHUNKSIZE
    if default not in chunksizes:
        chunksizes.append(default)

    t0 = time.perf_counter()
    pool = na64run.make_pool(args.workers)
    list(pool.map(_warm, range(4 * args.workers)))
    startup = time.perf_counter() - t0
    print(f"process pool start-up (once per session, not in the ratios): {startup:.2f} s")
    # in a worker: this process stays a plain uproot reader (no processor settings)
    read = pool.submit(branches_read, path).result()
    if read != sorted(BRANCHES):
        raise SystemExit(f"the processor reads {read}, the baseline {sorted(BRANCHES)}: update BRANCHES")
    print(f"branches read by the processor and by the baseline ({len(read)}): {', '.join(BRANCHES)}")

    best = {}
    try:
        for cs in chunksizes:
            runs = []
            for _ in range(args.repeat):
                waited, use = wait_for_quiet(args.quiet_wait)
                t = time.perf_counter()
                c = time.process_time()
                nread = 0
                for arrays in uproot.iterate(f"{path}:Events", BRANCHES, step_size=cs, library="ak"):
                    nread += len(arrays)
                t_read = time.perf_counter() - t
                c_read = time.process_time() - c
                assert nread == n
                del arrays
                with WorkerMemory() as mem:
                    t = time.perf_counter()
                    out = na64run.run({"bench": [str(path)]}, executor="futures", workers=args.workers,
                                      client=pool, chunksize=cs, progress=False)
                    t_proc = time.perf_counter() - t
                assert out["mot"]["bench"].n_processed == n
                del out
                peak = max(mem.peak.values()) / 1e9 if mem.peak else float("nan")
                runs.append((t_read, c_read, t_proc, mem.cpu, peak))
                print(f"chunksize {cs:>8d}: bare read {t_read:6.2f} s ({n / t_read / 1e6:5.2f} M ev/s), "
                      f"processor {t_proc:6.2f} s ({n / t_proc / 1e6:5.2f} M ev/s), "
                      f"ratio {t_proc / t_read:5.2f}, peak RSS/worker {peak:5.2f} GB | CPU: read "
                      f"{c_read:6.2f} s, processor {mem.cpu:6.2f} s (x{mem.cpu / c_read:4.2f}) | "
                      f"load {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores, CPUs {use:.0f} % busy "
                      f"before (waited {waited:.0f} s)", flush=True)
            t_read, t_proc = min(r[0] for r in runs), min(r[2] for r in runs)
            c_read, c_proc = min(r[1] for r in runs), min(r[3] for r in runs)
            peak = max(r[4] for r in runs)
            best[cs] = (t_read, t_proc, c_read, c_proc, peak)
            print(f"  best of {args.repeat}: bare read {t_read:.2f} s, processor {t_proc:.2f} s "
                  f"({n / t_proc / 1e6:.2f} M ev/s): ratio {t_proc / t_read:.2f}; CPU ratio "
                  f"{c_proc / c_read:.2f}; peak RSS/worker {peak:.2f} GB", flush=True)
        nev, total, bare, stats = pool.submit(profile_chunk, path, default, n).result()
        tuned = min((pool.submit(bare_read_tuned, path, default).result() for _ in range(2)),
                    key=lambda r: r[0])
    finally:
        pool.shutdown(wait=True)

    print(f"profile of one chunk ({nev} events) in a worker: {total * 1e3:.0f} ms CPU "
          f"(bare uproot read of the same entries there: {bare * 1e3:.0f} ms)")
    for k, v in sorted(stats.items(), key=lambda kv: -kv[1]):
        print(f"  {k:48s} {v * 1e3:7.1f} ms  {100 * v / total:5.1f} %")
    t_read, t_proc, c_read, c_proc, peak = best[default]
    ratio = t_proc / t_read
    print(f"for comparison: the bare read in a pool worker with the processor's memory settings "
          f"(tune_memory): {tuned[0]:.2f} s wall, {tuned[1]:.2f} s CPU; the processor would be "
          f"x{t_proc / tuned[0]:.2f} of it (best of 2)")
    print(f"default chunksize {default}: {n / t_proc:.3g} events/s with {args.workers} futures workers, "
          f"{n / t_read:.3g} events/s bare read (1 process)")
    print(f"RESULT processor_over_bare_read {ratio:.3f} 1.25 {'PASS' if ratio <= 1.25 else 'FAIL'}")
    print(f"RESULT peak_rss_per_worker_GB {peak:.3f} 1.5 {'PASS' if peak < 1.5 else 'FAIL'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
