"""``na64tools demo``: the NA64μ analysis, end to end, on the embedded default setup."""

from __future__ import annotations

from ..config import default_setup, load_setup


def add_parser(sub) -> None:
    from ..demo import DEMO_BACKGROUND_EVENTS, DEMO_MASSES, DEMO_SEED, DEMO_SIGNAL_EVENTS

    p = sub.add_parser(
        "demo", help="run the whole NA64mu analysis on the embedded default setup",
        description="Simulate signal and background, run the processor on a local Dask cluster, "
                    "estimate the background, compute and plot limits, write summary.json and a report.")
    p.add_argument("--out", default="na64-demo", metavar="DIR", help="output directory (default ./na64-demo)")
    p.add_argument("--setup", metavar="YAML", help="setup file (default: the shipped NA64mu 2022 setup)")
    p.add_argument("--model", default="vector", choices=["vector", "dark_photon", "scalar"])
    p.add_argument("--masses", type=float, nargs="+", metavar="GEV", default=list(DEMO_MASSES),
                   help="X masses of the signal samples in GeV")
    p.add_argument("--signal-events", type=int, default=DEMO_SIGNAL_EVENTS, metavar="N")
    p.add_argument("--background-events", type=int, default=DEMO_BACKGROUND_EVENTS, metavar="N")
    p.add_argument("--seed", type=int, default=DEMO_SEED)
    p.add_argument("--executor", default="dask", choices=["iterative", "futures", "dask"])
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--coupling", type=float, default=1e-4, help="coupling g for the yield table (default 1e-4)")
    p.add_argument("--physics-only", action="store_true",
                   help="only print sigma(x > x_cut) and the signal yield per 1e10 MOT (seconds)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=main)


def main(args) -> int:
    from ..demo import format_physics_table, physics_table, run_demo

    setup = load_setup(args.setup) if args.setup else default_setup()
    rows = physics_table(setup, args.masses, coupling=args.coupling, models=(args.model,))
    print(format_physics_table(setup, rows, coupling=args.coupling))
    if args.physics_only:
        return 0
    print()
    paths = run_demo(args.out, setup=setup, model=args.model, masses=args.masses,
                     signal_events=args.signal_events, background_events=args.background_events,
                     seed=args.seed, executor=args.executor, workers=args.workers,
                     coupling=args.coupling, progress=not args.quiet)
    print("\nwritten:")
    for name, path in paths.items():
        print(f"  {name:<22} {path}")
    if paths.get("headline") is not None:  # the headline numbers, last
        print()
        print(paths["headline"].read_text().rstrip())
    return 0
