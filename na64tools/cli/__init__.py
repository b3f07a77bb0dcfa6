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
import re
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


#: the default output directory of each command: ``./na64-<command>`` (docs/errors.md)
OUT_DEFAULTS = {"demo": "na64-demo", "simulate": "na64-simulate", "run": "na64-run",
                "limits": "na64-limits"}

EPILOG = """\
example, from simulated ntuples to coupling limits:
  na64tools simulate --sample background --events 1e5 --files 2   # -> ./na64-simulate/
  na64tools simulate --sample signal --mass 0.1 --events 1e4       # -> ./na64-simulate/
  na64tools run na64-simulate                                      # -> ./na64-run/output.json
  na64tools limits na64-run                                        # -> ./na64-limits/
or all of it at once: na64tools demo (-> ./na64-demo/). Each command's options: na64tools COMMAND --help
"""

def add_model_file_option(parser: argparse.ArgumentParser) -> None:
    """Add ``--model-file FILE`` (repeatable): a Python file registering signal models.

    Parameters
    ----------
    parser : argparse.ArgumentParser
        The subcommand's parser.
    """
    parser.add_argument("--model-file", action="append", metavar="FILE", dest="model_file",
                        help="Python file that registers a signal model of your own "
                             "(na64tools.models.register_model; docs/models.md); repeatable")


def model_names() -> str:
    """The registered signal models, for a ``--help`` text: ``vector, dark_photon, scalar``.

    Returns
    -------
    str
        The names, comma separated.
    """
    from ..models import available_models

    return ", ".join(available_models())


def load_model_files(args: argparse.Namespace) -> None:
    """Register the models of every ``--model-file`` (:func:`na64tools.models.load_model_file`).

    Parameters
    ----------
    args : argparse.Namespace
        The parsed options (``model_file``: a list of paths).

    Raises
    ------
    ValueError
        One line naming a file that cannot be read or run, or registers no model.
    """
    from ..models import load_model_file

    for path in getattr(args, "model_file", None) or ():
        load_model_file(path)


#: a negative number, also with an exponent (-1e10) or -inf/-nan: a value, not an option
NEGATIVE_NUMBER = re.compile(r"^-(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$|^-(inf|nan)$", re.I)


class Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` that reads ``-1e10`` as a number (argparse alone takes it for an
    option and says "expected one argument"), so that the range checks of the commands can
    refuse it with a message about the value.

    Parameters
    ----------
    *args, **kwargs
        Passed to :class:`argparse.ArgumentParser`.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._negative_number_matcher = NEGATIVE_NUMBER


def build_parser() -> argparse.ArgumentParser:
    """The ``na64tools`` argument parser, with one subcommand per module of :data:`SUBCOMMANDS`.

    Each subcommand module adds its own subparser (its ``add_parser``) and sets its ``main`` as
    ``func``. The CLI reference of the documentation is generated from this parser.

    Returns
    -------
    argparse.ArgumentParser
        The parser of ``na64tools [--version] COMMAND ...``.
    """
    parser = Parser(
        prog="na64tools",
        description="Analysis toolkit for the NA64mu missing-momentum search for dark sectors.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"na64tools {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in SUBCOMMANDS.values():
        importlib.import_module(f"{__name__}.{module}").add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the ``na64tools`` command line (the ``na64tools`` console script, ``python -m
    na64tools``).

    Parameters
    ----------
    argv : list of str, optional
        The arguments after the program name (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        The exit status: the command's (0 on success), 2 without a command (the help is
        printed), 1 after a ``ValueError``/``OSError`` (printed as one line
        ``na64tools COMMAND: error: ...``, no traceback), 130 on Ctrl-C and 143 on SIGTERM.
    """
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
            print(f"na64tools {args.command}: error: {one_line(err)}", file=sys.stderr)
            return 1


#: the longest error line printed (a library's message, e.g. uproot's dump of a damaged basket,
#: can run over many lines; the file, the entries and the kind of error come first)
MAX_ERROR = 600


def one_line(err: BaseException) -> str:
    """The message of ``err`` on one line.

    Whitespace runs (newlines of a library's message) are collapsed to one space, and the text
    is cut after :data:`MAX_ERROR` characters (ending in `` ...``).

    Parameters
    ----------
    err : BaseException
        The error to print.

    Returns
    -------
    str
        Its message on one line.
    """
    text = " ".join(str(err).split())
    return text if len(text) <= MAX_ERROR else text[:MAX_ERROR - 4].rstrip() + " ..."


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
