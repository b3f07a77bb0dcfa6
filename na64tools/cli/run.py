"""``na64tools run``: run the missing-momentum processor on ntuples and save the output.

::

    na64tools run sim/*.root --executor futures --workers 4 --out results/
    na64tools run sim/ --executor dask --scheduler tcp://10.0.0.1:8786 --cuts mycuts.yaml
    na64tools run sim/ --executor dask --facility slurm --workers 20
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

#: executor names (the same as na64tools.runner.EXECUTORS; kept here so `--help` imports no coffea)
EXECUTORS = ("iterative", "futures", "dask")


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "run", help="run the missing-momentum processor (iterative, futures or Dask)",
        description="Run the NA64mu missing-momentum processor on ntuples, print the cutflow and "
                    "save histograms, cutflow, cut table and MOT (.root and .json; "
                    "na64tools.load_output reads them back).")
    p.add_argument("files", nargs="+", metavar="FILES",
                   help="ntuples, directories (their *.root) or glob patterns; grouped into "
                        "datasets by the sample/model/mass of their Runs tree")
    p.add_argument("--executor", choices=EXECUTORS, default="futures", help="default: futures")
    p.add_argument("--workers", type=int, default=2, help="local worker processes or batch jobs (default 2)")
    p.add_argument("--chunksize", type=int, default=None,
                   help="events per chunk (default: na64tools.runner.DEFAULT_CHUNKSIZE)")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="existing Dask scheduler, e.g. tcp://127.0.0.1:8786 (implies --executor dask)")
    p.add_argument("--facility", choices=("local", "htcondor", "slurm", "lxplus", "gateway"),
                   help="create a Dask cluster on this facility (implies --executor dask)")
    p.add_argument("--cuts", metavar="FILE", help="YAML/TOML cut file (default: published 2022 cuts)")
    p.add_argument("--out", metavar="DIR", default="na64_output",
                   help="output directory (default ./na64_output)")
    p.add_argument("--name", default="output", help="output file stem (default 'output')")
    p.add_argument("--skip-bad-files", action="store_true",
                   help="leave out unreadable files and list them instead of failing")
    p.add_argument("--no-table", action="store_true", help="do not store the per-event cut table")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.add_argument("--pickle", action="store_true",
                   help="also write NAME.coffea (coffea util.save, a pickle: loading it executes "
                        "code, so share the .root and .json instead)")
    p.set_defaults(func=main)
    return p


def main(args) -> int:
    from ..output import save_output
    from ..processor import MissingMomentumProcessor
    from ..runner import DEFAULT_CHUNKSIZE, run

    executor = args.executor
    client = None
    owned = None
    if args.scheduler or args.facility:
        executor = "dask"
    if args.scheduler:
        client = args.scheduler
    elif args.facility and args.facility != "local":
        from ..clients import make_client

        client = owned = make_client(args.facility, n_workers=args.workers)
    proc = MissingMomentumProcessor(args.cuts, table=not args.no_table)
    try:
        out = run(args.files, proc, executor=executor, client=client, chunksize=args.chunksize or DEFAULT_CHUNKSIZE,
                  workers=args.workers, skip_bad_files=args.skip_bad_files,
                  progress=not args.no_progress)
    finally:
        if owned is not None:
            from ..clients import close_client

            close_client(owned)
    print(format_cutflow(out))
    for s in out["skipped"]:
        mot = "unknown" if s.mot is None else f"{s.mot:.6g}"
        print(f"skipped {s.filename} (MOT {mot}): {s.reason}", file=sys.stderr)
    paths = save_output(out, Path(args.out) / args.name, pickle=args.pickle)
    print("saved " + ", ".join(map(str, paths)))
    return 0


def format_cutflow(out) -> str:
    """The cutflow of every dataset as a text table (events, sum of weights, per MOT)."""
    lines = []
    for ds, flow in out["cutflow"].items():
        mot = out["mot"][ds].mot
        lines.append(f"{ds}  (MOT {mot:.6g}, {out['mot'][ds].n_files} files)")
        lines.append(f"  {'cut':<14s} {'events':>10s} {'sum of weights':>16s} {'per MOT':>12s}")
        for stage, row in flow.items():
            lines.append(f"  {stage:<14s} {row.events:>10d} {row.sumw:>16.6g} {row.per_mot:>12.4g}")
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover - the guard a LocalCluster needs
    from . import main as _cli_main

    sys.exit(_cli_main(["run", *sys.argv[1:]]))
