"""``na64tools demo``: the NA64μ analysis, end to end, on the embedded default setup."""

from __future__ import annotations

from ..config import default_setup, load_setup


def add_parser(sub) -> None:
    """Add the ``demo`` subcommand (the whole analysis on the default setup) to the ``na64tools``
    parser.

    Its ``main`` is set as the subcommand's ``func``.

    Parameters
    ----------
    sub : argparse._SubParsersAction
        The subparsers of the ``na64tools`` parser (:func:`na64tools.cli.build_parser`).
    """
    from ..demo import DEMO_BACKGROUND_EVENTS, DEMO_MASSES, DEMO_SEED, DEMO_SIGNAL_EVENTS

    p = sub.add_parser(
        "demo", help="run the whole NA64mu analysis on the embedded default setup",
        description="Simulate signal and background, run the processor on a local Dask cluster, "
                    "estimate the background, compute and plot limits, write summary.json and a report.")
    p.add_argument("--out", default="na64-demo", metavar="DIR",
                   help="output directory (default ./%(default)s)")
    p.add_argument("--setup", metavar="YAML", help="setup file (default: the shipped NA64mu 2022 setup)")
    from . import add_model_file_option, model_names

    p.add_argument("--model", default="vector",
                   help=f"signal model (docs/models.md), one of {model_names()} or one registered "
                        "by --model-file (default %(default)s: the L_mu-L_tau Z'); lfv_tau and "
                        "lfv_e need --masses 1.77693 and 0.000511")
    add_model_file_option(p)
    p.add_argument("--masses", type=float, nargs="+", metavar="GEV", default=list(DEMO_MASSES),
                   help="X masses of the signal samples in GeV (default: "
                        + " ".join(f"{m:g}" for m in DEMO_MASSES) + ")")
    p.add_argument("--signal-events", type=int, default=DEMO_SIGNAL_EVENTS, metavar="N",
                   help="events simulated per signal mass (default %(default)s)")
    p.add_argument("--background-events", type=int, default=DEMO_BACKGROUND_EVENTS, metavar="N",
                   help="background events simulated (default %(default)s)")
    p.add_argument("--seed", type=int, default=DEMO_SEED,
                   help="random seed: the same seed gives the same files and numbers (default %(default)s)")
    p.add_argument("--executor", default="dask", choices=["iterative", "futures", "dask"],
                   help="how the processor runs: one process, a local process pool or a local "
                        "Dask cluster (default %(default)s)")
    p.add_argument("--workers", type=int, default=2,
                   help="worker processes (default %(default)s)")
    p.add_argument("--coupling", type=float, default=1e-4,
                   help="coupling g of the printed signal-yield table (default %(default)g)")
    p.add_argument("--physics-only", action="store_true",
                   help="only print sigma(x > x_cut) and the signal yield per 1e10 MOT (seconds)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=main)


def main(args) -> int:
    """Run ``na64tools demo``: print the physics table of the setup, then (unless
    ``--physics-only``) simulate, run the processor and write the limits, plots and report into
    ``--out`` (:func:`na64tools.demo.run_demo`), and print the paths written.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed options of the subcommand (``setup``, ``masses``, ``model``, ``model_file``,
        ``coupling``,
        ``signal_events``, ``background_events``, ``seed``, ``executor``, ``workers``, ``out``,
        ``quiet``, ``physics_only``).

    Returns
    -------
    int
        The exit status: 0.

    Raises
    ------
    ValueError
        Event or worker counts below 1, a coupling outside (0, 1), an unknown model or a bad
        ``--model-file``, or an unwritable output directory (printed as one line by
        :func:`na64tools.cli.main`).
    """
    from ..demo import format_physics_table, physics_table, run_demo
    from ..models import get_model
    from . import load_model_files

    for name in ("signal_events", "background_events", "workers"):
        if getattr(args, name) < 1:
            raise ValueError(f"--{name.replace('_', '-')} {getattr(args, name)}: expected a "
                             "positive number")
    if not 0 < args.coupling < 1:
        raise ValueError(f"--coupling {args.coupling!r}: expected a small dark coupling, 0 < g < 1")
    load_model_files(args)
    get_model(args.model)  # an unknown model: one line naming it and the registered ones
    setup = load_setup(args.setup) if args.setup else default_setup()
    if not args.physics_only:
        from ..sim.writer import check_output_dir

        check_output_dir(args.out)   # before any work
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
