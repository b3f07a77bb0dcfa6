"""What an analysis run leaves behind: plots, exports, ``summary.json`` and a Markdown report.

Used by ``na64tools demo`` and ``na64tools limits`` so both write the same products.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .config import Setup

__all__ = ["write_results", "build_summary", "format_report"]

_PUBLISHED = ("misreconstruction", "decays_in_flight", "non_hermeticity", "total")


def build_summary(result, output, setup: Setup) -> dict:
    """The JSON summary: MOT, cuts, cutflow, efficiency per mass, background by source with
    errors (and the published table beside it), observed/expected limits per mass, projections."""
    summary = result.summary()
    summary["setup"] = {"name": setup.name, "hash": setup.hash, "file": setup.source_file}
    summary["cutflow"] = {ds: {st: {"events": r.events, "sumw": r.sumw, "sumw2": r.sumw2}
                               for st, r in flow.items()} for ds, flow in output["cutflow"].items()}
    summary["mot_samples"] = {ds: m.mot for ds, m in output["mot"].items()}
    # the setups the samples were simulated with (Runs.setupHash, checked non-empty on reading)
    summary["samples_setup_hash"] = sorted({r.setup_hash for recs in output["files"].values()
                                            for r in recs.values()})
    summary["published_background"] = {k: getattr(setup.backgrounds, k).to_dict() for k in _PUBLISHED}
    summary["skipped_files"] = [getattr(s, "__dict__", str(s)) for s in output.get("skipped", [])]
    return summary


def write_results(result, output, setup: Setup, out) -> dict[str, Path]:
    """Write plots (PNG), exports (CSV, JSON, HEPData), ``summary.json`` and ``report.md`` into ``out``."""
    import matplotlib.pyplot as plt

    from . import plotting
    from .analysis import samples_from_output
    from .export import export_result

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}

    def keep(name, fig):
        plt.close(fig)
        paths[f"{name}_png"] = out / f"{name}.png"

    effs = sorted(result.efficiencies.items())
    if effs:
        keep("efficiency", plotting.plot_efficiency([m for m, _ in effs], [e.value for _, e in effs],
                                                    [e.error for _, e in effs], save=out / "efficiency.png")[0])
    keep("background", plotting.plot_background(result.background, published=setup.backgrounds,
                                                mot=result.mot, save=out / "background.png")[0])
    samples = samples_from_output(output, allow_partial=getattr(result, "partial", False))
    # background cutflow scaled to the result's exposure: expected events after each cut
    flows = {ds: {st: row.sumw / samples[ds].mot * result.mot for st, row in flow.items()}
             for ds, flow in output["cutflow"].items() if samples[ds].kind == "background"}
    if flows:
        keep("cutflow", plotting.plot_cutflow(flows, save=out / "cutflow.png")[0])
    if result.limit is not None and len(result.limit.masses) > 1:  # one mass: no curve to draw
        proj = []
        if result.projection is not None:
            med = np.asarray(result.projection.expected.median)
            for k, mot in enumerate(result.projection.mot):
                proj.append((f"projection {mot:.2g} MOT (expected)", result.projection.masses, med[k]))
        keep("exclusion", plotting.plot_exclusion(result.limit, model=result.model, projections=proj,
                                                  save=out / "exclusion.png")[0])
        portal = "lmutau" if result.model == "vector" else "dark_photon"
        if result.model != "scalar":
            keep("ldm", plotting.plot_ldm(result.limit, portal=portal, projections=proj,
                                          save=out / "ldm.png")[0])
    paths.update(export_result(result, out))
    (out / "summary.json").write_text(json.dumps(build_summary(result, output, setup), indent=2,
                                                 default=str) + "\n")
    paths["summary"] = out / "summary.json"
    plots = [p.name for k, p in paths.items() if k.endswith("_png")]
    (out / "report.md").write_text(format_report(setup, result, output, plots=plots))
    paths["report"] = out / "report.md"
    return paths


def format_report(setup: Setup, result, output, plots=None) -> str:
    """A Markdown report of a demo or ``na64tools limits`` run (``plots``: the PNG files
    written beside it; by default none is listed)."""
    pub = setup.backgrounds
    observed = result.n_obs if result.n_obs is not None else "none (expected limits only)"
    lines = [
        f"# NA64μ missing-momentum analysis: {setup.name}",
        "",
        f"Simulated with na64tools (not NA64 data). Exposure: {result.mot:.3g} MOT, "
        f"observed events: {observed}. Setup hash `{setup.hash[:16]}`.",
        "",
    ]
    notes = list(getattr(result, "notes", ()))
    if notes:
        lines += ["**Read this first:**", ""] + [f"- {n}" for n in notes] + [""]
    lines += [
        "## Selection",
        "",
        "| cut | value | unit |",
        "|---|---|---|",
    ]
    for name, value in result.cuts.to_dict().items():
        lines.append(f"| `{name}` | {value:g} | {type(result.cuts).unit(name)} |")
    lines += ["", "## Expected background", "",
              "| source | this simulation | published (PRL 132 (2024) 211803) |", "|---|---|---|"]
    for src, b in result.background.items():
        p = getattr(pub, src, None)
        if p is None:
            ptxt = "—"
        elif p.upper_limit:
            ptxt = f"< {p.value:g}"
        else:
            ptxt = f"{p.value:g} ± {p.uncertainty:g}"
        mine = f"{b.value:.3g} ± {b.stat:.2g} (stat) ± {b.syst:.2g} (syst)"
        if b.upper is not None:
            mine += f", < {b.upper:.2g} (90% CL)"
        lines.append(f"| {src} | {mine} | {ptxt} |")
    t = result.total_background
    lines.append(f"| **total** | {t.value:.3g} ± {t.error:.2g} | {pub.total.value:g} ± {pub.total.uncertainty:g} |")
    lines += ["", f"## Signal efficiency ({result.model})", "", "| m_X [GeV] | efficiency |", "|---|---|"]
    for m, e in sorted(result.efficiencies.items()):
        lines.append(f"| {m:g} | {e.value:.4f} ± {e.error:.4f} |")
    if result.limit is not None:
        lim = result.limit
        med = np.asarray(lim.expected.median)
        idx = np.unique(np.linspace(0, len(lim.masses) - 1, 8).round().astype(int))
        if result.n_obs is not None:
            lines += ["", f"## {int(lim.cl * 100)} % CL limits", "",
                      f"Upper limit on signal events: {float(lim.events_observed):.3f} (observed), "
                      f"{float(lim.events_expected.median):.3f} (expected median).", "",
                      "| m_X [GeV] | coupling limit (observed) | expected median |", "|---|---|---|"]
            for i in idx:
                lines.append(f"| {lim.masses[i]:.3g} | {lim.observed[i]:.3g} | {med[i]:.3g} |")
        else:
            lines += ["", f"## {int(lim.cl * 100)} % CL expected limits (no observed limit)", "",
                      "Expected median upper limit on signal events: "
                      f"{float(lim.events_expected.median):.3f}.", "",
                      "| m_X [GeV] | expected median coupling limit |", "|---|---|"]
            for i in idx:
                lines.append(f"| {lim.masses[i]:.3g} | {med[i]:.3g} |")
    if plots:
        lines += ["", "Plots: " + ", ".join(f"`{p}`" for p in plots) + "."]
    lines.append("")
    return "\n".join(lines)
