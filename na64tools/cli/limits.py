"""``na64tools limits``: efficiency, background and limits from saved processor outputs."""

from __future__ import annotations

import math
from pathlib import Path


def add_parser(sub) -> None:
    """Add the ``limits`` subcommand (efficiencies, background and coupling limits) to the
    ``na64tools`` parser.

    Its ``main`` is set as the subcommand's ``func``.

    Parameters
    ----------
    sub : argparse._SubParsersAction
        The subparsers of the ``na64tools`` parser (:func:`na64tools.cli.build_parser`).
    """
    p = sub.add_parser(
        "limits", help="efficiency, background by source and coupling limits from processor outputs",
        description="Read processor outputs saved by `na64tools run --out` (.json + .root), apply the cuts, "
                    "and write plots, CSV/JSON/HEPData exports, one pyhf workspace per simulated "
                    "mass (pyhf/), summary.json and report.md.")
    p.add_argument("output", metavar="OUTPUT",
                   help="processor output saved by `na64tools run --out`: its directory (e.g. "
                        "na64-run, read as na64-run/output.json) or OUTPUT.json (run the processor "
                        "once over all signal and background files)")
    p.add_argument("--trust-pickle", action="store_true",
                   help="allow a .coffea output (a pickle: loading it executes code stored in it; "
                        "only for files whose origin you trust)")
    p.add_argument("--setup", metavar="YAML", help="setup file (default: the shipped NA64mu 2022 setup)")
    p.add_argument("--cuts", metavar="FILE", help="cuts (YAML/TOML) to apply on the stored table")
    from . import add_model_file_option, model_names

    p.add_argument("--model", help=f"signal model: {model_names()} or one registered by --model-file "
                                   "(default: the first found in the output)")
    add_model_file_option(p)
    p.add_argument("--mot", type=float,
                   help="exposure in MOT (default: the setup's run); another exposure gives expected "
                        "limits only, unless --n-obs is given")
    p.add_argument("--n-obs", type=int, help="observed events (default: the setup's run)")
    p.add_argument("--allow-partial", action="store_true",
                   help="accept an incomplete processor output (run with maxchunks, or with skipped "
                        "files): MOT and generated events are scaled to the events processed, and "
                        "every output says so")
    p.add_argument("--cl", type=float, default=0.9, help="confidence level (default 0.9)")
    p.add_argument("--out", default="na64-limits", metavar="DIR",
                   help="output directory (default ./na64-limits)")
    p.set_defaults(func=main)


def load_output(path, *, trusted: bool = False) -> dict:
    """:func:`na64tools.load_output`, and a clear error if the output has no cut table.

    Parameters
    ----------
    path : str or path
        The ``output.json`` written by ``na64tools run --out DIR`` (its ``.root`` beside it), or
        that directory (its ``output.json``, or its only ``NAME.json`` with a ``NAME.root``).
    trusted : bool
        Also read a pickled output (``--trust-pickle``; pickle runs code: only your own files).

    Returns
    -------
    dict
        The processor output, as :func:`na64tools.run` returned it.

    Raises
    ------
    ValueError
        A directory without exactly one output, a lone ntuple or non-ROOT file, or an output
        without its cut table or MOT.
    """
    from ..output import load_output as _load

    path = Path(path)
    if path.is_dir():   # the --out directory of `na64tools run`
        found = sorted(path.glob("*.json"))
        stems = [p for p in found if p.with_suffix(".root").exists()]
        if (path / "output.json").exists():
            path = path / "output.json"
        elif len(stems) == 1:
            path = stems[0]
        else:
            what = ("no processor output (NAME.json with NAME.root)" if not stems else
                    f"{len(stems)} processor outputs ({', '.join(p.name for p in stems)})")
            raise ValueError(f"{path}: a directory with {what}: give the output.json written "
                             "by `na64tools run --out DIR`")
    if path.suffix == ".root" and path.is_file() and not path.with_suffix(".json").exists():
        _not_an_output(path)
    out = _load(path, trusted=trusted)
    on_disk = (out.get("run") or {}).get("table") is not None   # run --table-dir: read by Analysis
    if (out.get("table") is None and not on_disk) or "mot" not in out:
        raise ValueError(f"{path}: not a na64tools processor output with its cut table "
                         "(missing 'table'/'mot'; run the processor without --no-table)")
    return out


def _not_an_output(path: Path) -> None:
    """Raise a ValueError saying what a lone ``.root`` file given to ``limits`` is, if it is an
    ntuple or not ROOT at all (else return: the loader's own message follows)."""
    with open(path, "rb") as f:
        head = f.read(4)
    if head != b"root":
        raise ValueError(f"{path}: not a ROOT file: give the output.json (or the directory) "
                         "written by `na64tools run`")
    import uproot

    try:
        with uproot.open(path) as f:
            names = {k.split(";")[0] for k in f.keys(recursive=False)}
    except Exception:
        return
    if "Events" in names or "Runs" in names:
        raise ValueError(f"{path}: an ntuple (Events/Runs trees), not a processor output: run "
                         f"`na64tools run {path}` (with the other signal and background files) "
                         "and give its output directory (./na64-run) to `na64tools limits`")


def main(args) -> int:
    """Run ``na64tools limits``: load a processor output (:func:`load_output`), build the
    :class:`~na64tools.analysis.Analysis`, evaluate the cuts (the setup's or ``--cuts``), write
    the results (:func:`na64tools.report.write_results`) into ``--out`` and print the
    background, the event limit and the coupling limits.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed options of the subcommand (``output``, ``setup``, ``cuts``, ``model``,
        ``model_file``, ``cl``,
        ``mot``, ``n_obs``, ``out``, ``allow_partial``, ``trust_pickle``).

    Returns
    -------
    int
        The exit status: 0.

    Raises
    ------
    ValueError
        A confidence level outside (0, 1), a non-positive ``--mot``, a negative ``--n-obs``, an
        output without its cut table or a partial output without ``--allow-partial`` (printed as
        one line by :func:`na64tools.cli.main`).
    """
    from ..analysis import Analysis
    from ..config import Cuts, default_setup, load_setup
    from ..report import write_results

    if not 0 < args.cl < 1:
        raise ValueError(f"--cl {args.cl!r}: expected a confidence level in (0, 1)")
    from . import load_model_files

    load_model_files(args)
    if args.model is not None:
        from ..models import get_model

        get_model(args.model)  # an unknown name: one line listing the registered models
    from ..sim.writer import check_output_dir
    from .run import _with_cut_file

    setup = load_setup(args.setup) if args.setup else default_setup()
    cuts = Cuts.from_file(args.cuts) if args.cuts else setup.cuts
    if args.mot is not None and not (math.isfinite(args.mot) and args.mot > 0):
        raise ValueError(f"--mot {args.mot!r}: expected a positive number of muons on target")
    if args.n_obs is not None and args.n_obs < 0:
        raise ValueError(f"--n-obs {args.n_obs!r}: expected a non-negative number of events")
    output = load_output(args.output, trusted=args.trust_pickle)
    check_output_dir(args.out)
    analysis = Analysis(output, setup=setup, mot=args.mot, n_obs=args.n_obs, cl=args.cl,
                        allow_partial=args.allow_partial)
    analysis.check_limit_inputs(args.model)
    result = _with_cut_file(args.cuts, analysis.evaluate, cuts, model=args.model)
    if result.limit is None:  # pragma: no cover - check_limit_inputs makes this unreachable
        raise ValueError(f"no limit could be computed for model {result.model!r}")
    paths = write_results(result, output, setup, args.out)
    for note in result.notes:
        print(f"NOTE: {note}")
    t = result.total_background
    estimated = result.background_method != "simulation"
    what = " (analytic estimate, not simulated: see the NOTE above)" if estimated else ""
    print(f"background: {t.value:.3g} ± {t.error:.2g} events for {result.mot:.3g} MOT{what}")
    cl = f"{int(round(args.cl * 100))}% CL"
    if result.observed:
        print(f"signal upper limit: {float(result.limit.events_observed):.3f} events ({cl}, "
              f"{result.n_obs} observed)")
    else:
        print(f"signal upper limit: expected only, median {float(result.limit.events_expected.median):.3f} "
              f"events ({cl}); no observed limit for {result.mot:.3g} MOT (give --n-obs)")
    print(format_coupling_limits(result))
    print("written:")
    width = max(map(len, paths), default=0)
    for name, path in paths.items():
        print(f"  {name:<{width}} {path}")
    return 0


#: the coupling's name printed for the shipped models (unchanged output); other models print the
#: ``coupling`` of their registry entry
_SHIPPED_COUPLING = {"vector": "g", "scalar": "g", "dark_photon": "epsilon"}


def format_coupling_limits(result) -> str:
    """The coupling limits at the simulated masses (log-log interpolation of the limit curve):
    observed, expected median and the expected ±1σ band, as a text table.

    Parameters
    ----------
    result : na64tools.analysis.Result
        The result of :meth:`na64tools.analysis.Analysis.evaluate`, with its limit.

    Returns
    -------
    str
        One line per simulated mass [GeV]: observed and median expected coupling limits and the
        expected ±1σ band.
    """
    import numpy as np

    from ..report import _loglog

    lim = result.limit
    from ..models import get_model

    spec = get_model(result.model)
    g = spec.coupling + (f" [{spec.coupling_unit}]" if spec.coupling_unit else "")
    g = _SHIPPED_COUPLING.get(result.model, g)  # the shipped models print as they always did
    cl = f"{int(round(lim.cl * 100))}% CL"
    lines = [f"coupling limits, model {result.model} ({cl}; {g} above the limit is excluded):",
             f"  {'m_X [GeV]':>10s} {g + ' observed':>14s} {g + ' expected':>14s}   expected ±1σ"]
    masses = np.asarray(lim.masses)
    for m in sorted(result.efficiencies):
        if not masses[0] * (1 - 1e-9) <= m <= masses[-1] * (1 + 1e-9):
            continue
        obs = _loglog(m, masses, lim.observed) if np.all(np.isfinite(lim.observed)) else None
        exp = [_loglog(m, masses, getattr(lim.expected, k)) for k in ("median", "minus1", "plus1")]
        obs_text = "-" if obs is None else f"{obs:.3g}"
        lines.append(f"  {m:>10g} {obs_text:>14s} {exp[0]:>14.3g}   {exp[1]:.3g} .. {exp[2]:.3g}")
    if result.n_obs is None or not result.observed:
        lines.append("  (no observed limit: expected limits only)")
    return "\n".join(lines)
