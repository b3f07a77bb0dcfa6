"""``na64tools simulate``: generate signal or background ntuples (ROOT, uproot).

Examples::

    na64tools simulate --sample background --events 1e6 --seed 1 --out data --files 4
    na64tools simulate --sample signal --model vector --mass 0.1 --coupling 1e-4 --events 1e5 --out data
    na64tools simulate --sample signal --model-file mymodel.py --model mine --mass 0.1 --events 1e4
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
    """Add the ``simulate`` subcommand (write simulated ntuples) to the ``na64tools`` parser.

    Its ``main`` is set as the subcommand's ``func``.

    Parameters
    ----------
    subparsers : argparse._SubParsersAction
        The subparsers of the ``na64tools`` parser (:func:`na64tools.cli.build_parser`).

    Returns
    -------
    argparse.ArgumentParser
        The subcommand's parser.
    """
    p = subparsers.add_parser(
        "simulate",
        help="generate signal or background ntuples (ROOT, uproot)",
        description="Generate NA64mu events with the fast simulation and write them as ROOT "
                    "ntuples (Events + Runs trees, docs/ntuple_format.md).",
    )
    p.add_argument("--sample", required=True, choices=("signal", "background"),
                   help="signal (mu N -> mu N X, X invisible) or background (the beam as it is)")
    from . import add_model_file_option, model_names

    p.add_argument("--model", help=f"signal: the model, one of {model_names()} or one registered by "
                                   "--model-file (default vector)")
    add_model_file_option(p)
    p.add_argument("--mass", type=float, help="signal: X mass [GeV]; the LFV models have no free "
                   "mass: lfv_tau needs m_tau = 1.77693, lfv_e m_e = 0.000511")
    p.add_argument("--coupling", type=float,
                   help="signal: coupling g (epsilon for dark_photon), 0 < g < 1 (default 1e-4)")
    p.add_argument("--x-min", type=float, default=0.0, dest="x_min",
                   help="signal: generate only x = E_X/E_0 > X_MIN (default 0)")
    p.add_argument("--mot", type=float, help="muons on target the sample stands for "
                   "(background default: the setup's run, 1.98e10)")
    p.add_argument("--events", type=_count, help="events to generate before the trigger "
                   "(default 1e6 background, 1e5 signal); signal: --mot or --events")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--out", default="na64-simulate", metavar="DIR",
                   help="output directory (default ./na64-simulate)")
    p.add_argument("--files", type=int, default=1, help="number of output files (default 1)")
    p.add_argument("--setup", help="setup YAML (default: the shipped na64mu_2022)")
    par = p.add_mutually_exclusive_group()
    par.add_argument("--dask", metavar="ADDRESS", help="write the files on this Dask scheduler's workers")
    par.add_argument("--workers", type=int, help="write the files on a local Dask cluster of N workers")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=main)
    return p


def main(args: argparse.Namespace) -> int:
    """Run ``na64tools simulate``: check the options (:func:`check_options`), generate the sample
    with :func:`na64tools.sim.simulate` (serially, or on local Dask workers with ``--workers``,
    or on the scheduler of ``--dask``), and print the files written. Interrupted or failed, it
    stops the workers and removes the files being written.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed options of the subcommand (``sample``, ``setup``, ``model``, ``model_file``,
        ``mass``,
        ``coupling``, ``mot``, ``events``, ``seed``, ``x_min``, ``files``, ``out``, ``workers``,
        ``dask``, ``no_progress``).

    Returns
    -------
    int
        The exit status: 0.

    Raises
    ------
    ValueError
        Options outside what the simulation describes (:func:`check_options`), ``--workers`` below
        1, or the errors of :func:`na64tools.sim.simulate` (printed as one line by
        :func:`na64tools.cli.main`).
    """
    from ..config import default_setup, load_setup
    from ..sim import make_plan, simulate
    from . import load_model_files

    check_options(args)
    load_model_files(args)
    setup = load_setup(args.setup) if args.setup else default_setup()
    kw = dict(setup=setup, model=args.model or "vector", mass=args.mass, coupling=args.coupling, mot=args.mot,
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


#: the couplings ``simulate`` accepts: 0 < g < COUPLING_MAX
COUPLING_MAX = 1.0


def check_options(args: argparse.Namespace) -> None:
    """Refuse options that would be ignored or are outside what the simulation describes.

    - ``--mass``, ``--coupling``, ``--model``, ``--model-file``, ``--x-min`` with
      ``--sample background``: a
      background sample has no X (they would be ignored);
    - ``--coupling`` outside (0, 1): the signal is computed at leading order in the dark
      coupling: the tree-level cross-section ∝ g² (Bjorken et al., PRD 80 (2009) 075018,
      arXiv:0906.0580; Kirpichnikov et al., PRD 104 (2021) 076012, arXiv:2107.13297), one X per
      muon at most and the beam not depleted, which holds for g ≪ 1 only; g ≥ 1 is not a small
      dark coupling (and is excluded by far by the muon g-2 alone, docs/physics.md).

    Parameters
    ----------
    args : argparse.Namespace
        The parsed options of ``na64tools simulate``.

    Raises
    ------
    ValueError
        One line naming the options and why.
    """
    if args.sample == "background":
        given = [f"--{name.replace('_', '-')} {value}" for name, value in
                 (("mass", args.mass), ("coupling", args.coupling), ("model", args.model),
                  ("x_min", args.x_min if args.x_min else None),
                  ("model_file", " ".join(getattr(args, "model_file", None) or ()) or None))
                 if value is not None]
        if given:
            raise ValueError(f"{', '.join(given)}: only for --sample signal; a background sample "
                             "has no X boson, so this would be ignored: leave it out")
    if args.coupling is not None and not (0 < args.coupling < COUPLING_MAX):
        raise ValueError(f"--coupling {args.coupling!r}: expected a small dark coupling, "
                         f"0 < g < {COUPLING_MAX:g} (the signal is computed at leading order in g, "
                         "valid for g << 1; e.g. --coupling 1e-4)")


def _close(client) -> None:
    from ..clients import close_client

    close_client(client)
