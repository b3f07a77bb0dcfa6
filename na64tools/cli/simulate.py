"""``na64tools simulate``: generate signal or background ntuples (ROOT, uproot).

Examples::

    na64tools simulate --sample background --events 1e6 --seed 1 --out data --files 4
    na64tools simulate --sample signal --model vector --mass 0.1 --coupling 1e-4 --events 1e5 --out data
    na64tools simulate --sample background --mot 1e12 --events 1e8 --files 100 --workers 8 --out data

With ``--workers N`` a local Dask cluster of N single-threaded worker processes writes the files;
with ``--dask ADDRESS`` the workers of an existing Dask scheduler do (they must see ``--out``).
"""

from __future__ import annotations

import argparse

__all__ = ["add_parser", "main"]


def _count(text: str) -> int:
    """An event count: an integer, also written like ``1e6``."""
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid count {text!r}") from None
    if v != int(v):
        raise argparse.ArgumentTypeError(f"invalid count {text!r}: not an integer")
    return int(v)


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "simulate",
        help="generate signal or background ntuples (ROOT, uproot)",
        description="Generate NA64mu events with the fast simulation and write them as ROOT "
                    "ntuples (Events + Runs trees, docs/ntuple_format.md).",
    )
    p.add_argument("--sample", required=True, choices=("signal", "background"),
                   help="signal (mu N -> mu N X, X invisible) or background (the beam as it is)")
    p.add_argument("--model", default="vector", help="signal model: vector, dark_photon, scalar (default vector)")
    p.add_argument("--mass", type=float, help="signal: X mass [GeV]")
    p.add_argument("--coupling", type=float, help="signal: coupling g (epsilon for dark_photon; default 1e-4)")
    p.add_argument("--x-min", type=float, default=0.0, dest="x_min",
                   help="signal: generate only x = E_X/E_0 > X_MIN (default 0)")
    p.add_argument("--mot", type=float, help="muons on target the sample stands for "
                   "(background default: the setup's run, 1.98e10)")
    p.add_argument("--events", type=_count, help="events to generate before the trigger "
                   "(default 1e6 background, 1e5 signal); signal: --mot or --events")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--out", default=".", help="output directory (default: current)")
    p.add_argument("--files", type=int, default=1, help="number of output files (default 1)")
    p.add_argument("--setup", help="setup YAML (default: the shipped na64mu_2022)")
    par = p.add_mutually_exclusive_group()
    par.add_argument("--dask", metavar="ADDRESS", help="write the files on this Dask scheduler's workers")
    par.add_argument("--workers", type=int, help="write the files on a local Dask cluster of N workers")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=main)
    return p


def main(args: argparse.Namespace) -> int:
    from ..config import default_setup, load_setup
    from ..sim import make_plan, simulate

    setup = load_setup(args.setup) if args.setup else default_setup()
    kw = dict(setup=setup, model=args.model, mass=args.mass, coupling=args.coupling, mot=args.mot,
              events=args.events, seed=args.seed, x_min=args.x_min)
    plan = make_plan(args.sample, **kw)  # validates before any cluster starts
    if args.workers is not None and args.workers < 1:
        raise ValueError(f"--workers: value {args.workers!r} must be >= 1")
    client = None
    try:
        if args.dask or args.workers:
            from ..clients import make_client

            client = (make_client("address", address=args.dask) if args.dask
                      else make_client("local", n_workers=args.workers, threads_per_worker=1))
            print(f"Dask dashboard: {client.dashboard_link}")
        paths = simulate(args.sample, out=args.out, files=args.files, client=client,
                         progress=not args.no_progress, **kw)
    except BaseException:
        # interrupted (Ctrl-C, SIGTERM) or failed: stop the workers, then remove the files they
        # were writing (a file written in this process removes itself, sim.writer.write_file)
        if client is not None:
            _close(client)
            client = None
            from ..sim.parallel import file_name
            from ..sim.writer import remove_partial

            remove_partial(args.out, [file_name(plan, i) for i in range(args.files)])
        raise
    finally:
        if client is not None:
            _close(client)
    print(f"{plan.sample}: {plan.n_events} events generated for {plan.mot:.4g} MOT "
          f"(seed {plan.seed}), {len(paths)} file(s):")
    for path in paths:
        print(f"  {path}")
    return 0


def _close(client) -> None:
    from ..clients import close_client

    close_client(client)
