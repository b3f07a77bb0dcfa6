"""The ``na64tools`` command line: a thin layer over the library.

Each subcommand lives in its own module of this package with two functions:
``add_parser(subparsers)`` declaring its options and ``main(args) -> int`` running it.

Interrupts are handled here, for every subcommand (:mod:`na64tools._signals`): Ctrl-C (SIGINT)
and SIGTERM raise :class:`KeyboardInterrupt` and ``Terminated`` in the main thread, so that
every ``finally`` on the way out runs (temporary files removed, Dask clusters and process pools
closed); the command then prints one line and exits with 130 (SIGINT) or 143 (SIGTERM), the
shell's 128 + signal number.
"""

from __future__ import annotations

import argparse
import importlib
import signal
import sys

from .. import _signals
from .._signals import EXIT_STATUS, MESSAGE, Terminated, handlers
from .._version import __version__

#: subcommand -> module in na64tools.cli
SUBCOMMANDS = {
    "demo": "demo",
    "info": "info",
    "simulate": "simulate",
    "run": "run",
    "limits": "limits",
    "dashboard": "dashboard",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="na64tools",
        description="Analysis toolkit for the NA64mu missing-momentum search for dark sectors.",
    )
    parser.add_argument("--version", action="version", version=f"na64tools {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in SUBCOMMANDS.values():
        importlib.import_module(f"{__name__}.{module}").add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    with handlers():
        try:
            code = int(args.func(args) or 0)
            if _signals.received is not None:  # caught where it could not stop the command
                raise KeyboardInterrupt if _signals.received == signal.SIGINT else Terminated
            return code
        except KeyboardInterrupt:
            print(f"na64tools {args.command}: {MESSAGE[signal.SIGINT]}", file=sys.stderr)
            return EXIT_STATUS[signal.SIGINT]
        except Terminated:
            print(f"na64tools {args.command}: {MESSAGE[signal.SIGTERM]}", file=sys.stderr)
            return EXIT_STATUS[signal.SIGTERM]
        except (ValueError, OSError) as err:
            print(f"na64tools {args.command}: error: {err}", file=sys.stderr)
            return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
