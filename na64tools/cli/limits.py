"""``na64tools limits``: efficiency, background and limits from saved processor outputs."""

from __future__ import annotations

from pathlib import Path


def add_parser(sub) -> None:
    p = sub.add_parser(
        "limits", help="efficiency, background by source and coupling limits from processor outputs",
        description="Read processor outputs saved by `na64tools run --out` (.json + .root), apply the cuts, "
                    "and write plots, CSV/JSON/HEPData exports, summary.json and report.md.")
    p.add_argument("output", metavar="OUTPUT",
                   help="processor output saved by `na64tools run --out` (OUTPUT.json or OUTPUT.root; "
                        "run the processor once over all signal and background files)")
    p.add_argument("--trust-pickle", action="store_true",
                   help="allow a .coffea output (a pickle: loading it executes code stored in it; "
                        "only for files whose origin you trust)")
    p.add_argument("--setup", metavar="YAML", help="setup file (default: the shipped NA64mu 2022 setup)")
    p.add_argument("--cuts", metavar="FILE", help="cuts (YAML/TOML) to apply on the stored table")
    p.add_argument("--model", choices=["vector", "dark_photon", "scalar"], help="signal model (default: first found)")
    p.add_argument("--mot", type=float, help="exposure in MOT (default: the setup's run)")
    p.add_argument("--n-obs", type=int, help="observed events (default: the setup's run)")
    p.add_argument("--cl", type=float, default=0.9, help="confidence level (default 0.9)")
    p.add_argument("--out", default="na64-limits", metavar="DIR", help="output directory (default ./na64-limits)")
    p.set_defaults(func=main)


def load_output(path, *, trusted: bool = False) -> dict:
    """:func:`na64tools.load_output`, and a clear error if the output has no cut table."""
    from ..output import load_output as _load

    path = Path(path)
    out = _load(path, trusted=trusted)
    if out.get("table") is None or "mot" not in out:
        raise ValueError(f"{path}: not a na64tools processor output with its cut table "
                         "(missing 'table'/'mot'; run the processor without --no-table)")
    return out


def main(args) -> int:
    from ..analysis import Analysis
    from ..config import Cuts, default_setup, load_setup
    from ..report import write_results

    if not 0 < args.cl < 1:
        raise ValueError(f"--cl {args.cl!r}: expected a confidence level in (0, 1)")
    setup = load_setup(args.setup) if args.setup else default_setup()
    cuts = Cuts.from_file(args.cuts) if args.cuts else setup.cuts
    output = load_output(args.output, trusted=args.trust_pickle)
    result = Analysis(output, setup=setup, mot=args.mot, n_obs=args.n_obs, cl=args.cl).evaluate(cuts, model=args.model)
    paths = write_results(result, output, setup, args.out)
    t = result.total_background
    print(f"background: {t.value:.3g} ± {t.error:.2g} events for {result.mot:.3g} MOT")
    if result.limit is not None:
        print(f"signal upper limit: {float(result.limit.events_observed):.3f} events ({int(args.cl * 100)}% CL)")
    print("written:")
    for name, path in paths.items():
        print(f"  {name:<16} {path}")
    return 0
