"""Benchmark: 1e8 events on a local Dask cluster, 1 worker then 2 workers (strong scaling, memory).

Generates once (cached in ``--data``) a background sample with ``na64tools.sim`` whose ntuples
hold at least ``--events`` events (default 1e8; the written fraction of the trigger is measured
on a pilot of 2**20 generated events), split in ``--files`` files and written in parallel on a
local Dask cluster. Then, in the same run:

1. ``na64tools.run(..., executor="dask")`` on the first ``--small-events`` events' files with 2
   workers (the memory baseline);
2. the whole sample with 2 workers, with 1 worker (the time baseline), and with 2 workers again
   (the mean of the two 2-worker passes is compared with the 1-worker pass, so that the page
   cache warming up from pass to pass does not favour either);

while sampling the resident memory (RSS) of every Dask worker process every 0.25 s. The processor
runs without its cut table (``MissingMomentumProcessor(table=False)``): the table holds every
preselected event (~105 bytes each, two thirds of the triggered background), so it grows with the
sample by design (``--table`` keeps it, to see that). Prints events/s, the peak RSS per worker
(target < 1.5 GB), the growth of its 95th percentile from the small to the whole sample and from
the second to the last quarter of a run (target <= 1.1: memory does not grow with the number of
events), the strong-scaling ratio t(1 worker) / t(2 workers) (target >= 1.7), the worker CPU time
per event of both runs, and checks that both runs give identical cutflows and histograms.

    python benchmarks/bench_scale.py                       # 1e8 events (~17 GB in /tmp)
    python benchmarks/bench_scale.py --events 2e7 --data /scratch/na64-scale
    python benchmarks/bench_scale.py --quick               # 2e6 events, a minute
    python benchmarks/bench_scale.py --generate-only       # just write the sample

The cluster start-up (seconds) is reported apart and not included in the timings; the load
average of the machine is printed next to every timing (other jobs distort the scaling ratio).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import Results  # noqa: E402

SEED = 20260
#: bytes per written background event on disk (measured: ~175)
BYTES_PER_EVENT = 180
RSS_TARGET_GB = 1.5
GROWTH_TARGET = 1.1
SCALING_TARGET = 1.7


def written_fraction(seed: int = SEED) -> float:
    """Fraction of generated background events the trigger writes (pilot of 16 blocks)."""
    from na64tools.sim import BLOCK_SIZE, generate

    n = 16 * BLOCK_SIZE
    ev = generate("background", events=n, seed=seed, triggered_only=True)
    return len(ev["genWeight"]) / n


def generated_for(events: int, seed: int = SEED) -> int:
    """Generated events (a multiple of BLOCK_SIZE) for about ``events`` written events."""
    from na64tools.sim import BLOCK_SIZE

    f = written_fraction(seed)
    return int(math.ceil(events / f / BLOCK_SIZE)) * BLOCK_SIZE


def ensure_sample(data: Path, events: int, files: int, workers: int) -> tuple[list[str], dict]:
    """The cached sample (generated on ``workers`` local Dask workers if absent)."""
    n_gen = generated_for(events)
    d = data / f"background_seed{SEED}_gen{n_gen}_files{files}"
    marker = d / "sample.json"
    if marker.exists():
        info = json.loads(marker.read_text())
        if all(Path(f).exists() for f in info["files"]):
            return info["files"], info
    need = events * BYTES_PER_EVENT
    data.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(data).free
    if free < 1.1 * need:
        raise SystemExit(f"{data}: {free / 1e9:.1f} GB free, the sample needs ~{need / 1e9:.1f} GB "
                         "(choose another --data or fewer --events)")
    from na64tools.clients import close_client, make_client
    from na64tools.sim import simulate

    print(f"generating {n_gen:.4g} background events (~{events:.3g} written) in {files} files "
          f"into {d} on {workers} Dask workers ...", flush=True)
    t = time.perf_counter()
    client = make_client("local", n_workers=workers, threads_per_worker=1)
    try:
        paths = simulate("background", events=n_gen, seed=SEED, out=d, files=files, client=client)
    finally:
        close_client(client)
    t_gen = time.perf_counter() - t
    import uproot

    n_written, mot, sumw = 0, 0.0, 0.0
    for p in paths:
        with uproot.open(p) as f:
            r = f["Runs"].arrays(["nWritten", "mot", "sumw"], library="np")
            n_written += int(r["nWritten"].sum())
            mot += float(r["mot"].sum())
            sumw += float(r["sumw"].sum())
    info = {"files": [str(p) for p in paths], "n_generated": n_gen, "n_written": n_written,
            "mot": mot, "sumw": sumw, "seconds": t_gen, "workers": workers,
            "bytes": sum(os.path.getsize(p) for p in paths)}
    marker.write_text(json.dumps(info, indent=1))
    print(f"  generated in {t_gen:.0f} s ({n_gen / t_gen:.3g} generated events/s on {workers} workers), "
          f"{n_written} events written, {info['bytes'] / 1e9:.1f} GB", flush=True)
    return info["files"], info


class WorkerMemory:
    """Samples the RSS of the given processes (the Dask workers) in a thread."""

    def __init__(self, pids, period: float = 0.25):
        import psutil

        self.procs = {pid: psutil.Process(pid) for pid in pids}
        self.peak = dict.fromkeys(pids, 0)
        self.samples: list[float] = []  # RSS of every worker at every sampling, in time order
        self.period = period
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def cpu(self) -> float:
        """CPU seconds (user + system) used so far by the sampled processes."""
        total = 0.0
        for p in self.procs.values():
            try:
                t = p.cpu_times()
                total += t.user + t.system
            except Exception:
                pass
        return total

    def _loop(self):
        while not self._stop.is_set():
            for pid, p in self.procs.items():
                try:
                    rss = p.memory_info().rss
                except Exception:  # a worker that restarted: keep its peak so far
                    continue
                self.peak[pid] = max(self.peak[pid], rss)
                self.samples.append(rss)
            time.sleep(self.period)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def _digest(hists) -> str:
    """SHA-256 of the values and variances of every histogram (exact comparison of two runs)."""
    import hashlib

    h = hashlib.sha256()
    for name in sorted(hists):
        h.update(name.encode())
        h.update(hists[name].values(flow=True).tobytes())
        h.update(hists[name].variances(flow=True).tobytes())
    return h.hexdigest()


def process(files: list[str], workers: int, chunksize: int, memory: str, table: bool = False) -> dict:
    """Run the processor on a fresh LocalCluster of ``workers`` single-threaded processes."""
    import na64tools.runner as na64run
    from na64tools.clients import close_client, make_client
    from na64tools.processor import MissingMomentumProcessor

    t = time.perf_counter()
    client = make_client("local", n_workers=workers, threads_per_worker=1, memory=memory)
    try:
        client.wait_for_workers(workers)
        pids = list(client.run(os.getpid).values())
        client.run(lambda: __import__("na64tools.processor"))  # warm the imports
        startup = time.perf_counter() - t
        load0 = os.getloadavg()[0]
        with WorkerMemory(pids) as mem:
            cpu0 = mem.cpu()
            t = time.perf_counter()
            out = na64run.run({"background": files}, MissingMomentumProcessor(table=table),
                              executor="dask", client=client, chunksize=chunksize, progress=False)
            wall = time.perf_counter() - t
            cpu = mem.cpu() - cpu0
        load1 = os.getloadavg()[0]
    finally:
        close_client(client)
    n = out["mot"]["background"].n_processed
    peak = max(mem.peak.values()) / 1e9
    rss = np.asarray(mem.samples, dtype=float) / 1e9
    q = max(1, len(rss) // 4)
    p95 = float(np.percentile(rss, 95))
    # second quarter (after the start: inspection, the first chunks) against the last quarter
    first, last = float(np.percentile(rss[q:2 * q], 95)), float(np.percentile(rss[-q:], 95))
    res = {"workers": workers, "events": n, "files": len(files), "wall": wall, "rate": n / wall,
           "peak_gb": peak, "p95_gb": p95, "second_quarter_p95_gb": first,
           "last_quarter_p95_gb": last, "startup": startup, "load": (load0, load1),
           "cpu": cpu, "cutflow": {k: tuple(v) for k, v in out["cutflow"]["background"].items()},
           "hists": _digest(out["hists"]),
           "complete": out.get("complete", True), "n_chunks": out["run"]["n_chunks"]}
    print(f"  {workers} worker(s): {n:.4g} events in {len(files)} files ({res['n_chunks']} chunks) "
          f"in {wall:.1f} s = {n / wall:.3g} events/s ({n / wall / workers:.3g} per worker), "
          f"RSS per worker: peak {peak:.2f} GB, 95th percentile {p95:.2f} GB (second quarter of "
          f"the run {first:.2f}, last quarter {last:.2f}) (cluster start-up {startup:.1f} s, load "
          f"{load0:.1f} -> {load1:.1f} on {os.cpu_count()} cores); worker CPU {cpu:.0f} s = "
          f"{n / cpu:.3g} events per CPU-second", flush=True)
    return res


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=float, default=1e8, help="events in the ntuples (default 1e8)")
    ap.add_argument("--files", type=int, default=50, help="files of the sample (default 50)")
    ap.add_argument("--small-events", type=float, default=1e7, dest="small",
                    help="events of the memory-baseline run (default 1e7)")
    ap.add_argument("--workers", type=int, default=2, help="workers of the scaled run (default 2)")
    ap.add_argument("--chunksize", type=int, default=None, help="events per chunk (default: run's)")
    ap.add_argument("--memory", default="2GB", help="memory limit per Dask worker (default 2GB)")
    ap.add_argument("--data", type=Path, default=Path(os.environ.get(
        "NA64_SCALE_DATA", os.path.join(tempfile.gettempdir(), "na64tools-scale"))),
        help="cache directory of the generated sample (default /tmp/na64tools-scale)")
    ap.add_argument("--generate-only", action="store_true", help="write the sample and stop")
    ap.add_argument("--quick", action="store_true", help="2e6 events in 10 files (about a minute)")
    ap.add_argument("--table", action="store_true",
                    help="keep the processor's cut table (it grows with the number of events)")
    ap.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = ap.parse_args(argv)
    if args.quick:
        args.events, args.files, args.small = 2e6, 10, 4e5
    import na64tools.runner as na64run

    chunksize = args.chunksize or na64run.DEFAULT_CHUNKSIZE
    events = int(args.events)
    files, info = ensure_sample(args.data, events, args.files, args.workers)
    if args.generate_only:
        return 0
    per_mot = info["sumw"] / info["mot"]
    print(f"sample: {info['n_written']} events in {len(files)} files, {info['bytes'] / 1e9:.1f} GB, "
          f"{info['n_generated']:.4g} generated for {info['mot']:.4g} MOT; triggered events per MOT "
          f"(sum of genWeight / MOT) {per_mot:.3e}")
    n_small = max(1, round(len(files) * min(1.0, args.small / info["n_written"])))
    print(f"memory baseline: {n_small} file(s), {args.workers} workers", flush=True)
    small = process(files[:n_small], args.workers, chunksize, args.memory, args.table)
    print("whole sample (N workers, 1 worker, N workers again: the page cache warms up along the "
          "passes, and the mean of the N-worker passes cancels that to first order):", flush=True)
    many_a = process(files, args.workers, chunksize, args.memory, args.table)
    one = process(files, 1, chunksize, args.memory, args.table)
    many = process(files, args.workers, chunksize, args.memory, args.table)
    identical = all(r["cutflow"] == one["cutflow"] and r["hists"] == one["hists"]
                    and r["events"] == info["n_written"] for r in (one, many, many_a))
    scaling = one["wall"] / ((many["wall"] + many_a["wall"]) / 2)
    peak = max(one["peak_gb"], many["peak_gb"], many_a["peak_gb"])
    # not the maximum: the peak of one chunk fluctuates, and the maximum over 10x more chunks is
    # higher by chance; a leak or a memory that grows with events shows in the percentiles
    growth = many["p95_gb"] / small["p95_gb"]
    trend = max(r["last_quarter_p95_gb"] / r["second_quarter_p95_gb"] for r in (one, many, many_a))
    t_event = 1.0 / one["rate"]
    print(f"strong scaling 1 -> {args.workers} workers: {scaling:.2f} (ideal {args.workers}); worker "
          f"CPU per event {many['cpu'] / one['cpu']:.2f} x the 1-worker run (1.00: the work itself "
          "scales, and a lower wall-time ratio comes from the cores being shared)")
    print(f"time per event on one worker: {t_event * 1e6:.2f} us; RSS per worker (95th percentile) "
          f"{small['p95_gb']:.2f} GB for {small['events']:.3g} events, {many['p95_gb']:.2f} GB "
          f"for {many['events']:.3g} events (x{growth:.2f}); last / second quarter of the long runs "
          f"x{trend:.2f}")
    mot_target = 2e13
    n_target = mot_target * per_mot
    print(f"projection: {mot_target:.0e} MOT -> {n_target:.3g} triggered events x {t_event * 1e6:.2f} "
          f"us = {n_target * t_event / 3600:.3g} core-hours")
    if args.json:
        args.json.write_text(json.dumps({"sample": info | {"files": len(files)}, "small": small,
                                         "one": one, "many": many, "many_first": many_a,
                                         "scaling": scaling,
                                         "per_mot": per_mot}, indent=1, default=str))
    res = Results()
    fdesc = f"{len(files)}xsim"
    res.add("scale_results_identical", int(identical), "bool", baseline="1_worker_run", cores=args.workers,
            files=fdesc, target="1", passed=identical)
    res.add("scale_peak_rss_per_worker_GB", peak, "GB", cores=args.workers, files=fdesc,
            target=f"<{RSS_TARGET_GB:g}", passed=peak < RSS_TARGET_GB)
    res.add("scale_rss_p95_full", many["p95_gb"], "GB", ratio=growth, baseline="rss_p95_small_sample",
            cores=args.workers, files=fdesc, target=f"ratio<={GROWTH_TARGET:g}", passed=growth <= GROWTH_TARGET)
    res.add("scale_rss_p95_last_over_second_quarter", trend, "1", baseline="rss_p95_second_quarter",
            cores=args.workers, files=fdesc, target=f"<={GROWTH_TARGET:g}", passed=trend <= GROWTH_TARGET)
    res.add(f"scale_wall_s_{args.workers}_workers", (many["wall"] + many_a["wall"]) / 2, "s",
            ratio=1 / scaling, baseline="1_worker_run", cores=f"{args.workers}_vs_1", files=fdesc,
            target=f"ratio<={1 / SCALING_TARGET:.3g}", passed=scaling >= SCALING_TARGET)
    return res.exit_code()


if __name__ == "__main__":
    sys.exit(main())
