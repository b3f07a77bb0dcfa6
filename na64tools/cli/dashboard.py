"""``na64tools dashboard``: the outreach web demo (Voilà) on 127.0.0.1."""

from __future__ import annotations


def add_parser(sub) -> None:
    """Add the ``dashboard`` subcommand (the outreach dashboard) to the ``na64tools`` parser.

    Its ``main`` is set as the subcommand's ``func``.

    Parameters
    ----------
    sub : argparse._SubParsersAction
        The subparsers of the ``na64tools`` parser (:func:`na64tools.cli.build_parser`).
    """
    p = sub.add_parser(
        "dashboard", help="serve the interactive outreach dashboard (Voila) on 127.0.0.1",
        description="Build (once, cached) a small simulated dataset, then serve the CutExplorer "
                    "dashboard with Voila on 127.0.0.1. Needs the 'dashboard' extra: "
                    "pip install 'na64tools[dashboard]'.")
    p.add_argument("--port", type=int, default=8866, help="port on 127.0.0.1 (default 8866)")
    p.add_argument("--no-browser", action="store_true", help="do not open a web browser")
    p.add_argument("--data", metavar="DIR",
                   help="dataset directory (default: a user cache directory); an output.json "
                        "there is used as it is, otherwise the demo dataset is built there")
    p.add_argument("--rebuild", action="store_true", help="build the dataset again")
    p.set_defaults(func=main)


def main(args) -> int:
    """Run ``na64tools dashboard``: build (once, cached) the small demo dataset, then serve the
    CutExplorer dashboard with Voilà on 127.0.0.1
    (:func:`na64tools.interactive.dashboard.serve`), in the foreground.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed options of the subcommand (``port``, ``no_browser``, ``data``, ``rebuild``).

    Returns
    -------
    int
        The exit status: Voilà's exit code.

    Raises
    ------
    ValueError
        A port outside 1..65535 (printed as one line by :func:`na64tools.cli.main`).
    """
    from ..interactive.dashboard import serve

    if not 0 < args.port < 65536:
        raise ValueError(f"--port {args.port}: expected a port number in 1..65535")
    return serve(args.port, open_browser=not args.no_browser, data=args.data, rebuild=args.rebuild)
