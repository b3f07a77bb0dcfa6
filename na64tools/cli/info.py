"""``na64tools info``: print the setup description with units and sources."""

from __future__ import annotations

from ..config import default_setup, load_setup


def add_parser(sub) -> None:
    p = sub.add_parser("info", help="print a setup description (every number with unit and source)")
    p.add_argument("--setup", metavar="YAML", help="setup file (default: the shipped NA64mu 2022 setup)")
    p.set_defaults(func=main)


def main(args) -> int:
    setup = load_setup(args.setup) if args.setup else default_setup()
    print(f"# {setup.name}: {setup.description}")
    print(f"# file: {setup.source_file}\n# sha256: {setup.hash}")
    print(setup.to_yaml(), end="")
    return 0
