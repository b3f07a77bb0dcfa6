"""``na64tools info``: print the setup description with units and sources."""

from __future__ import annotations

from ..config import default_setup, load_setup


def add_parser(sub) -> None:
    """Add the ``info`` subcommand (print a setup description) to the ``na64tools`` parser.

    Its ``main`` is set as the subcommand's ``func``.

    Parameters
    ----------
    sub : argparse._SubParsersAction
        The subparsers of the ``na64tools`` parser (:func:`na64tools.cli.build_parser`).
    """
    p = sub.add_parser("info", help="print a setup description (every number with unit and source)")
    p.add_argument("--setup", metavar="YAML", help="setup file (default: the shipped NA64mu 2022 setup)")
    p.set_defaults(func=main)


def main(args) -> int:
    """Run ``na64tools info``: print the setup description (the shipped 2022 setup or ``--setup
    YAML``) as YAML, every number with its unit and source, after its name, file and sha256
    hash.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed options of the subcommand (``setup``).

    Returns
    -------
    int
        The exit status: 0.

    Raises
    ------
    ValueError
        A setup file that cannot be read or is invalid (:class:`~na64tools.config.ConfigError` is a
        ``ValueError``) (printed as one line by :func:`na64tools.cli.main`).
    """
    setup = load_setup(args.setup) if args.setup else default_setup()
    print(f"# {setup.name}: {setup.description}")
    print(f"# file: {setup.source_file}\n# sha256: {setup.hash}")
    print(setup.to_yaml(), end="")
    return 0
