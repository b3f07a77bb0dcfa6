"""Benchmark: na64tools.run (futures, N workers) against a bare uproot read in N processes, on files na64tools.sim writes.

Input: a background sample written by :func:`na64tools.sim.simulate` (the files a user gets from
``na64tools simulate``, ZSTD(1)), of at least ``--events`` stored events (default 3e6; generated
once and cached in ``--cache``), in ``--files`` files (default 4). Then, in the same run, on the
same files and the same number of processes (``--workers``, default 2), ``--repeat`` times
alternately:

* baseline: a fresh loky process pool of ``--workers`` processes reads every chunk (the
  processor's chunk size) with ``uproot`` ``TTree.arrays(branches, library="ak")`` of exactly the
  branches the processor reads (found from coffea's access log): the cost of reading and
  decompressing the data. Pool start-up and shutdown are inside the timing;
* measured: ``na64tools.run({"bench": files}, executor="futures", workers=N, progress=False)`` as a
  user calls it: its own pool started (workers started included), file inspection, all chunks,
  merging and finalisation (histograms, cutflow and the float64 cut table).

The figure is the best processor time over the best bare-read time; the peak resident memory
per worker process is sampled too.

Target: processor / bare read <= 1.25; peak RSS per worker < 1.5 GB.

    python benchmarks/bench_processor.py                      # 3e6 stored events
    python benchmarks/bench_processor.py --events 3e5          # a quick check
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import EXIT_USAGE, Results, load  # noqa: E402

SEED = 4242
RATIO_TARGET = 1.25
RSS_TARGET_GB = 1.5
#: branches the processor reads (checked against coffea's access log at run time)
BRANCHES = ["Beam_p", "Beam_chi2", "nTrack", "Track_p", "Track_chi2", "Track_nhits",
            "ECAL_energy", "nHCAL", "HCAL_energy", "VETO_energy", "VHCAL_energy",
            "Trigger_scattered", "genWeight", "Gen_process"]


def ensure_sample(cache: Path, events: int, files: int) -> tuple[list[str], int]:
    """Files of a background sample from :func:`na64tools.sim.simulate` with >= ``events``
    stored events (generated events from the trigger's written fraction on a pilot), cached."""
    import uproot

    from na64tools.sim import BLOCK_SIZE, generate, simulate

    pilot = 4 * BLOCK_SIZE
    frac = len(generate("background", events=pilot, seed=SEED, triggered_only=True)["genWeight"]) / pilot
    n_gen = int(math.ceil(1.05 * events / frac / BLOCK_SIZE)) * BLOCK_SIZE
    d = cache / f"sim_background_seed{SEED}_gen{n_gen}_files{files}"
    marker = d / "sample.json"
    if marker.exists():
        info = json.loads(marker.read_text())
        if all(Path(f).exists() for f in info["files"]):
            return info["files"], info["stored"]
    print(f"simulating {n_gen:.4g} background events (~{events:.3g} stored) in {files} files into {d} ...",
          flush=True)
    t = time.perf_counter()
    paths = [str(p) for p in simulate("background", events=n_gen, seed=SEED, out=d, files=files)]
    stored = 0
    for p in paths:
        with uproot.open(p) as f:
            stored += f["Events"].num_entries
    marker.write_text(json.dumps({"files": paths, "stored": stored, "generated": n_gen}))
    print(f"  simulated in {time.perf_counter() - t:.0f} s: {stored} stored events", flush=True)
    return paths, stored


class WorkerMemory:
    """Peak RSS per child process of this process, sampled every ``period`` seconds."""

    def __init__(self, period: float = 0.05):
        import psutil

        self.me = psutil.Process()
        self.period = period
        self.peak: dict[int, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self):
        while not self._stop.is_set():
            for child in self.me.children(recursive=True):
                try:
                    self.peak[child.pid] = max(self.peak.get(child.pid, 0), child.memory_info().rss)
                except Exception:
                    continue
            time.sleep(self.period)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    @property
    def peak_gb(self) -> float:
        return max(self.peak.values()) / 1e9 if self.peak else float("nan")


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


def bare_read(files: list[str], chunksize: int, workers: int) -> tuple[float, int]:
    """Wall time of reading every chunk of ``files`` in a fresh pool of ``workers`` processes."""
    import uproot
    from loky import ProcessPoolExecutor

    t = time.perf_counter()
    chunks = []
    for p in files:
        with uproot.open(p) as f:
            n = f["Events"].num_entries
        chunks += [(p, s, min(s + chunksize, n)) for s in range(0, n, chunksize)]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        nread = sum(pool.map(_read_chunk, *zip(*chunks, strict=True)))
    return time.perf_counter() - t, nread


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=float, default=3e6, help="stored background events (default 3e6)")
    ap.add_argument("--files", type=int, default=4, help="files of the sample (default 4)")
    ap.add_argument("--workers", type=int, default=2, help="processes of both sides (default 2)")
    ap.add_argument("--chunksize", type=int, default=None, help="events per chunk (default: na64tools.run's)")
    ap.add_argument("--repeat", type=int, default=2, help="alternating runs of each side (the best counts)")
    ap.add_argument("--cache", default=os.environ.get("NA64_BENCH_CACHE",
                                                        os.path.join(tempfile.gettempdir(), "na64tools-bench")))
    args = ap.parse_args(argv)
    if args.events < 1 or args.files < 1 or args.workers < 1 or args.repeat < 1:
        print("error: --events, --files, --workers and --repeat must be positive", file=sys.stderr)
        return EXIT_USAGE
    import na64tools.runner as na64run

    chunksize = args.chunksize or na64run.DEFAULT_CHUNKSIZE
    files, stored = ensure_sample(Path(args.cache), int(args.events), args.files)
    size = sum(os.path.getsize(f) for f in files)
    print(f"sample: {len(files)} files from na64tools.sim.simulate, {stored} stored events, {size / 1e6:.0f} MB; "
          f"chunksize {chunksize}; {args.workers} processes on each side; {os.cpu_count()} cores")
    read = branches_read(files[0])
    if read != sorted(BRANCHES):
        print(f"error: the processor reads {read}, the baseline {sorted(BRANCHES)}: update BRANCHES",
              file=sys.stderr)
        return EXIT_USAGE
    print(f"branches read by both ({len(read)}): {', '.join(BRANCHES)}")
    t_reads, t_procs, peaks = [], [], []
    for i in range(args.repeat):
        t_read, nread = bare_read(files, chunksize, args.workers)
        assert nread == stored, (nread, stored)
        with WorkerMemory() as mem:
            t = time.perf_counter()
            out = na64run.run({"bench": files}, executor="futures", workers=args.workers,
                              chunksize=chunksize, progress=False)
            t_proc = time.perf_counter() - t
        assert out["mot"]["bench"].n_processed == stored
        del out
        t_reads.append(t_read)
        t_procs.append(t_proc)
        peaks.append(mem.peak_gb)
        print(f"run {i + 1}: bare read {t_read:.2f} s ({stored / t_read / 1e6:.2f} M ev/s), na64tools.run "
              f"{t_proc:.2f} s ({stored / t_proc / 1e6:.2f} M ev/s), ratio {t_proc / t_read:.2f}, "
              f"peak RSS/worker {mem.peak_gb:.2f} GB, load {load():.1f}", flush=True)
    t_read, t_proc, peak = min(t_reads), min(t_procs), max(peaks)
    res = Results()
    desc = f"{len(files)}xsim_zstd"
    res.add("processor_wall_s", t_proc, "s", ratio=t_proc / t_read,
            baseline=f"uproot_arrays_ak_{args.workers}proc_pool", cores=args.workers, files=desc,
            target=f"ratio<={RATIO_TARGET}", passed=t_proc / t_read <= RATIO_TARGET)
    res.add("processor_events_per_s", stored / t_proc, "events/s", cores=args.workers, files=desc)
    res.add("peak_rss_per_worker_GB", peak, "GB", cores=args.workers, files=desc,
            target=f"<{RSS_TARGET_GB}", passed=peak < RSS_TARGET_GB)
    return res.exit_code()


if __name__ == "__main__":
    sys.exit(main())
