"""Benchmark: MissingMomentumProcessor (futures, 2 workers) against a bare uproot read.

Generates (once, cached) an ntuple of ``--events`` events (default 1e7) with the test ntuple
writer, then in the same run:

1. times ``uproot.iterate`` over exactly the branches the processor reads (one process): the
   baseline, the cost of just reading the data;
2. times ``na64tools.run(..., executor="futures", workers=2)`` for several chunk sizes, with a
   warmed-up process pool (pool start-up is reported separately), while sampling the resident
   memory of every worker process.

Prints, per chunk size, events/s, the ratio processor/bare-read time (target <= 1.25) and the
peak RSS per worker (target < 1.5 GB), and ends with RESULT lines for the default chunk size.

    python benchmarks/bench_processor.py                 # 1e7 events
    python benchmarks/bench_processor.py --events 2e6    # quicker
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

#: branches the processor reads (variables_from_events, genWeight, Gen_process)
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


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=float, default=1e7)
    ap.add_argument("--chunksizes", default="100000,250000,500000,1000000")
    ap.add_argument("--workers", type=int, default=2)
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

    rows = []
    try:
        for cs in chunksizes:
            t = time.perf_counter()
            c = time.process_time()
            nread = 0
            for arrays in uproot.iterate(f"{path}:Events", BRANCHES, step_size=cs, library="ak"):
                nread += len(arrays)
            t_read = time.perf_counter() - t
            c_read = time.process_time() - c
            assert nread == n
            with WorkerMemory() as mem:
                t = time.perf_counter()
                out = na64run.run({"bench": [str(path)]}, executor="futures", workers=args.workers,
                                  client=pool, chunksize=cs, progress=False)
                t_proc = time.perf_counter() - t
            assert out["mot"]["bench"].n_processed == n
            peak = max(mem.peak.values()) / 1e9 if mem.peak else float("nan")
            rows.append((cs, t_read, t_proc, t_proc / t_read, peak))
            print(f"chunksize {cs:>8d}: bare read {t_read:6.2f} s ({n / t_read / 1e6:5.2f} M ev/s), "
                  f"processor {t_proc:6.2f} s ({n / t_proc / 1e6:5.2f} M ev/s), "
                  f"ratio {t_proc / t_read:5.2f}, peak RSS/worker {peak:5.2f} GB | CPU: read "
                  f"{c_read:6.2f} s, processor {mem.cpu:6.2f} s (x{mem.cpu / c_read:4.2f}) | "
                  f"load {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores", flush=True)
    finally:
        pool.shutdown(wait=True)

    cs, t_read, t_proc, ratio, peak = next(r for r in rows if r[0] == default)
    print(f"default chunksize {default}: {n / t_proc:.3g} events/s with {args.workers} futures workers")
    print(f"RESULT processor_over_bare_read {ratio:.3f} 1.25 {'PASS' if ratio <= 1.25 else 'FAIL'}")
    print(f"RESULT peak_rss_per_worker_GB {peak:.3f} 1.5 {'PASS' if peak < 1.5 else 'FAIL'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
