"""``na64tools demo``: the NA64μ analysis on the embedded default setup."""

from __future__ import annotations

from ..config import default_setup, load_setup


def add_parser(sub) -> None:
    p = sub.add_parser("demo", help="run the NA64mu analysis demo on the embedded default setup")
    p.add_argument("--setup", metavar="YAML", help="setup file (default: the shipped NA64mu 2022 setup)")
    p.add_argument("--coupling", type=float, default=1e-4, help="coupling g for the yield table (default 1e-4)")
    p.add_argument("--masses", type=float, nargs="+", metavar="GEV",
                   default=[0.01, 0.05, 0.1, 0.2, 0.5, 1.0], help="X masses in GeV")
    p.set_defaults(func=main)


def main(args) -> int:
    from ..demo import format_physics_table, physics_table

    setup = load_setup(args.setup) if args.setup else default_setup()
    rows = physics_table(setup, args.masses, coupling=args.coupling)
    print(format_physics_table(setup, rows, coupling=args.coupling))
    return 0
