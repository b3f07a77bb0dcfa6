"""What an analysis run leaves behind: plots, exports, ``summary.json`` and a Markdown report.

Used by ``na64tools demo`` and ``na64tools limits`` so both write the same products.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from pathlib import Path

import numpy as np

from .config import Setup
from .demo import DEMO_LABEL
from .models import get_model
from .stats.efficiency import CORRECTION_LABEL

__all__ = ["write_results", "build_summary", "format_report", "format_headline", "headline_masses",
           "reproduction_status", "REPRODUCTION_STATUS", "BACKGROUND_STATUS", "CALIBRATION_STATUS",
           "REACH_STATUS"]

_PUBLISHED = ("misreconstruction", "decays_in_flight", "non_hermeticity", "total")

# --- what the outputs say they are: edit here (one place) when the status changes ------------
#: the background table (tested in tests/test_demo.py against the published one within errors)
BACKGROUND_STATUS = ("background table reproduced from the published mechanisms ((I) momentum "
                     "misreconstruction, (II) decays in flight, (III) non-hermeticity)")
#: which setup parameters were calibrated to which published number (docs/simulation.md)
CALIBRATION_STATUS = ("calibrated to PRL 132 (2024) 211803: ms2.tail_fraction to (I), "
                      "beam.kaon_fraction to (II), hcal.gap to (III)")
#: the coupling reach versus the published limit (tests/test_reach.py checks the band statement)
REACH_STATUS = ("signal efficiency = geometric acceptance model x signal.efficiency_correction "
                "(c_set = 0.15 in the 2022 setup: set, not measured, so that the Z' limit covers only "
                "part of the (g-2)mu 2021 band as published; shown as its own efficiency factor); "
                "the published limit curve is available only as a figure: compared with the "
                "published statements in docs/results.md")
#: the one-line reproduction status written by the demo, report.md, summary.json and the plots
REPRODUCTION_STATUS = f"Reproduction status: {BACKGROUND_STATUS}; {CALIBRATION_STATUS}; {REACH_STATUS}."


def reproduction_status(short: bool = False) -> str:
    """The reproduction status line (``short``: a compact form for figures).

    Parameters
    ----------
    short : bool
        The compact form.

    Returns
    -------
    str
        The status line.
    """
    if not short:
        return REPRODUCTION_STATUS
    return ("background calibrated to PRL 132 (2024) 211803; signal efficiency includes an assumed "
            "correction (0.15) set to the published reach")


def build_summary(result, output, setup: Setup) -> dict:
    """The JSON summary: MOT, cuts, cutflow, efficiency per mass, background by source with
    errors (and the published table beside it), observed/expected limits per mass, projections.

    Parameters
    ----------
    result : Result
        The result of :meth:`na64tools.analysis.Analysis.evaluate`.
    output : dict
        The processor output it was computed from.
    setup : Setup
        The setup description.

    Returns
    -------
    dict
        The summary, JSON-serialisable.
    """
    summary = {"reproduction_status": REPRODUCTION_STATUS, **result.summary()}
    # the file name only (no machine path; the hash identifies the content), as Runs.setupFile
    summary["setup"] = {"name": setup.name, "hash": setup.hash,
                        "file": os.path.basename(setup.source_file)}
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
    """Write plots (PNG), exports (CSV, JSON, HEPData), ``summary.json`` and ``report.md`` into
    ``out``.

    Parameters
    ----------
    result : Result
        The result of :meth:`na64tools.analysis.Analysis.evaluate`.
    output : dict
        The processor output it was computed from.
    setup : Setup
        The setup description.
    out : str or path
        The output directory (created if needed).

    Returns
    -------
    dict of str to Path
        ``{name: path}`` of every file written.
    """
    import matplotlib.pyplot as plt

    from . import plotting
    from .analysis import samples_from_output
    from .export import export_result, hepdata_note

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}

    def keep(name, fig):
        plt.close(fig)
        paths[f"{name}_png"] = out / f"{name}.png"

    effs = sorted(result.efficiencies.items())
    if effs:
        keep("efficiency", plotting.plot_efficiency([m for m, _ in effs], [e.value for _, e in effs],
                                                    [e.error for _, e in effs], model=result.model,
                                                    save=out / "efficiency.png")[0])
    if result.factors:
        keep("efficiency_factors", plotting.plot_efficiency_factors(
            result.factors, errors={m: e.error for m, e in effs}, model=result.model,
            save=out / "efficiency_factors.png")[0])
    estimated = getattr(result, "background_method", "simulation") != "simulation"
    keep("background", plotting.plot_background(
        result.background, published=None if estimated else setup.backgrounds, mot=result.mot,
        label="analytic estimate (not simulated)" if estimated else "this simulation",
        save=out / "background.png")[0])
    samples = samples_from_output(output, allow_partial=getattr(result, "partial", False))
    # signal and background cutflows side by side, as the fraction of the stored events passing;
    # the background label carries its expected events after all cuts at the result's exposure
    flows = {}
    for ds, flow in output["cutflow"].items():
        name = ds
        if samples[ds].kind == "background":
            last = list(flow.values())[-1].sumw / samples[ds].mot * result.mot
            name = f"{ds} ({last:.2g} events expected after all cuts)"
        flows[name] = {st: row.sumw for st, row in flow.items()}
    if flows:
        keep("cutflow", plotting.plot_cutflow(flows, normalise=True, save=out / "cutflow.png")[0])
    if result.limit is not None:
        proj = []
        if result.projection is not None:
            med = np.asarray(result.projection.expected.median)
            for k, mot in enumerate(result.projection.mot):
                proj.append((f"projection {plotting.format_mot(mot)} (expected)", result.projection.masses,
                             med[k]))
        keep("exclusion", plotting.plot_exclusion(result.limit, model=result.model, projections=proj,
                                                  label=DEMO_LABEL, status=reproduction_status(short=True),
                                                  save=out / "exclusion.png")[0])
        portal = get_model(result.model).relic_portal  # the LDM plot, for the models that have one
        if portal is not None:
            keep("ldm", plotting.plot_ldm(result.limit, portal=portal, projections=proj,
                                          save=out / "ldm.png")[0])
    paths.update(export_result(result, out, setup=setup))
    note = hepdata_note(result, paths)  # say it when the HEPData submission could not be written
    (out / "summary.json").write_text(json.dumps(build_summary(result, output, setup), indent=2,
                                                 default=str) + "\n")
    paths["summary"] = out / "summary.json"
    plots = [p.name for k, p in paths.items() if k.endswith("_png")]
    (out / "report.md").write_text(format_report(setup, result, output, plots=plots)
                                       + (f"\n\n**{note}**\n" if note else ""))
    paths["report"] = out / "report.md"
    (out / "headline.txt").write_text(format_headline(setup, result) + (f"\n{note}" if note else "") + "\n")
    paths["headline"] = out / "headline.txt"
    return paths


def _fmt_bkg(b) -> str:
    flag = " ⚠ fewer than 10 effective events" if b.value > 0 and b.low_statistics else ""
    neff = f"n_eff = {b.n_eff:.3g}" if b.value > 0 else "no simulated event passes"
    return f"{neff}{flag}"


def headline_masses(result, n: int = 4) -> list[float]:
    """Up to ``n`` simulated masses inside the limit curve, spread over the range, for headlines.

    Parameters
    ----------
    result : Result
        The result of :meth:`na64tools.analysis.Analysis.evaluate`.
    n : int
        Most masses.

    Returns
    -------
    list of float
        Masses [GeV] (empty without a limit).
    """
    if result.limit is None:
        return []
    lim = np.asarray(result.limit.masses)
    sim = [m for m in sorted(result.efficiencies) if lim[0] * (1 - 1e-9) <= m <= lim[-1] * (1 + 1e-9)]
    if len(sim) <= n:
        return sim
    idx = np.unique(np.linspace(0, len(sim) - 1, n).round().astype(int))
    return [sim[i] for i in idx]


def _loglog(x, xs, ys) -> float:
    return float(np.exp(np.interp(np.log(x), np.log(xs), np.log(np.asarray(ys, dtype=float)))))


def _limit_rows(result) -> list[tuple[float, float, float, float, float, float]]:
    """(mass, observed, expected median, g-2 2021 low, g-2 2021 high, g-2 2025 upper bound);
    the (g-2) columns are NaN for a model without (g-2) curves (``Model.g2``)."""
    from .physics import G2_2021, G2_2025, explains_anomaly, g2_band, g2_upper_bound

    lim = result.limit
    g2 = get_model(result.model).g2
    rows = []
    for m in headline_masses(result):
        lo, hi, up = math.nan, math.nan, math.nan
        if g2 is not None:
            if explains_anomaly(g2):  # a negative contribution (ALP) has the bound only
                lo, hi = g2_band(m, G2_2021, g2, nsigma=2)
            up = g2_upper_bound(m, G2_2025, g2)
        rows.append((m, _loglog(m, lim.masses, lim.observed), _loglog(m, lim.masses, lim.expected.median),
                     float(lo), float(hi), float(up)))
    return rows


def _range_text(lo: float, hi: float, sep: str) -> str:
    return "—" if math.isnan(hi) else f"{lo:.3g}{sep}{hi:.3g}"


def _bound_text(up: float) -> str:
    return "—" if math.isnan(up) else f"< {up:.3g}"


def _signal_syst_text(result) -> str:
    parts = ", ".join(f"{k.replace('_', ' ')} {100 * v:.3g} %" for k, v in result.signal_systematics.items())
    return f"{100 * result.signal_uncertainty:.3g} % ({parts})"


def format_headline(setup: Setup, result) -> str:
    """The headline numbers the demo prints at the end (plain text).

    Parameters
    ----------
    setup : Setup
        The setup description.
    result : Result
        The result of :meth:`na64tools.analysis.Analysis.evaluate`.

    Returns
    -------
    str
        The lines: exposure [MOT], status, expected background [events] beside the published
        one, and the limits at a few masses.
    """
    from .stats.limits import CountingExperiment, upper_limit

    pub = setup.backgrounds.total
    t = result.total_background
    n_obs = result.n_obs if result.n_obs is not None else "no"
    method = getattr(result, "background_method", "simulation")
    lines = [f"{DEMO_LABEL}: {result.mot:.3g} MOT, {n_obs} observed event(s), model {result.model}",
             REPRODUCTION_STATUS,
             f"Expected background: {t.value:.3g} ± {t.stat:.2g} (stat) ± {t.syst:.2g} (syst) events, "
             f"resting on n_eff = {t.n_eff:.3g} effective simulated events "
             f"[published {pub.value:g} ± {pub.uncertainty:g}]" if method == "simulation" else
             f"Expected background: {t.value:.3g} ± {t.error:.2g} events; {method}"]
    if t.low_statistics:
        lines.append("WARNING: the background estimate rests on fewer than 10 effective simulated events; "
                     "its error is itself uncertain (simulate more background).")
    if result.limit is not None:
        lim = result.limit
        if result.n_obs is not None:
            s0 = upper_limit(CountingExperiment(result.n_obs, t.value, t.error), cl=lim.cl)
            obs_txt = f"{float(lim.events_observed):.3f} observed ({s0:.3f} without signal uncertainty), "
        else:
            obs_txt = "no observed limit (expected only), "
        lines += [f"Signal-yield uncertainty in the limit: {_signal_syst_text(result)}",
                  f"{int(lim.cl * 100)} % CL upper limit on signal events: {obs_txt}"
                  f"{float(lim.events_expected.median):.3f} expected (median)",
                  f"{'m_X [GeV]':>10} {'eps':>7} {'g obs 90%CL':>12} {'g exp median':>13} "
                  f"{'(g-2) 2021 +-2sigma band':>25} {'(g-2) 2025 bound':>17}"]
        for m, obs, exp, lo, hi, up in _limit_rows(result):
            eps = result.efficiencies[m].value
            otxt = f"{obs:.3g}" if result.n_obs is not None else "—"
            lines.append(f"{m:>10.3g} {eps:>7.3f} {otxt:>12} {exp:>13.3g} "
                         f"{_range_text(lo, hi, ' .. '):>25} {_bound_text(up):>17}")
    else:
        lines.append("No limit: no signal sample of this model.")
    return "\n".join(lines)


def format_report(setup: Setup, result, output, plots=None) -> str:
    """A Markdown report of a demo or ``na64tools limits`` run (``plots``: the PNG files
    written beside it; by default none is listed).

    Parameters
    ----------
    setup : Setup
        The setup description.
    result : Result
        The result of :meth:`na64tools.analysis.Analysis.evaluate`.
    output : dict
        The processor output it was computed from.
    plots : iterable of path, optional
        The PNG files to list.

    Returns
    -------
    str
        The Markdown text.
    """
    pub = setup.backgrounds
    observed = result.n_obs if result.n_obs is not None else "none (expected limits only)"
    lines = [
        f"# NA64μ missing-momentum analysis: {setup.name}",
        "",
        f"**{REPRODUCTION_STATUS}**",
        "",
        f"Simulated with na64tools (not NA64 data): {DEMO_LABEL}. Exposure: {result.mot:.3g} MOT, "
        f"observed events: {observed}. Setup hash `{setup.hash[:16]}`.",
        "",
    ]
    notes = list(getattr(result, "notes", ()))
    if notes:
        lines += ["**Read this first:**", ""] + [f"- {n}" for n in notes] + [""]
    selection = getattr(result, "selection", None)
    lines += [
        "## Selection" + (" (lfv_e: an electron shower and no outgoing muon)" if selection else ""),
        "",
        "| cut | value | unit |",
        "|---|---|---|",
    ]
    if selection:
        from .config import LfvECuts

        units = {f.name: f.metadata.get("unit") or "" for f in dataclasses.fields(LfvECuts)}
        for name, value in selection.items():
            lines.append(f"| `{name}` | {value:g} | {units.get(name, '')} |")
    else:
        for name, value in result.cuts.to_dict().items():
            lines.append(f"| `{name}` | {value:g} | {type(result.cuts).unit(name)} |")
    method = getattr(result, "background_method", "simulation")
    if method != "simulation":   # a labelled estimate: no simulated events, no published value
        t = result.total_background
        lines += ["", "## Expected background (analytic estimate, not simulated)", "", method, "",
                  "| source | analytic estimate [events] | what it is |", "|---|---|---|"]
        for src, b in result.background.items():
            lines.append(f"| {src} | {b.value:.3g} ± {b.error:.2g} | {getattr(b, 'label', '')} |")
        lines.append(f"| **total** | {t.value:.3g} ± {t.error:.2g} | |")
    else:
        _background_table(lines, result, pub)
    _efficiency_and_limits(lines, result)
    if plots:
        lines += ["", "Plots: " + ", ".join(f"`{p}`" for p in plots) + "."]
    lines.append("")
    return "\n".join(lines)


def _background_table(lines: list, result, pub) -> None:
    """The simulated background by source beside the published table (report.md)."""
    lines += ["", "## Expected background", "",
              "n_eff = (Σw)²/Σw² is the effective number of simulated events behind an estimate; "
              "below 10 its statistical error is itself uncertain (⚠).", "",
              "| source | this simulation | effective events | published (PRL 132 (2024) 211803) |",
              "|---|---|---|---|"]
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
        lines.append(f"| {src} | {mine} | {_fmt_bkg(b)} | {ptxt} |")
    t = result.total_background
    lines.append(f"| **total** | {t.value:.3g} ± {t.error:.2g} | {_fmt_bkg(t)} | "
                 f"{pub.total.value:g} ± {pub.total.uncertainty:g} |")
    if t.low_statistics:
        lines += ["", "**Warning: the total background rests on fewer than 10 effective simulated events.**"]


def _efficiency_and_limits(lines: list, result) -> None:
    """The signal efficiency, the systematics and the limits of report.md."""
    from .stats.limits import CountingExperiment, upper_limit

    t = result.total_background
    lines += ["", f"## Signal efficiency ({result.model})", "",
              "One definition everywhere: N_sig = MOT · n_A L_T · σ(x > x_min) · BR(X → inv) · ε, with ε "
              "the fraction of the produced X (x > x_min, the generated signal events) passing trigger, "
              "acceptance and all cuts; ε = ε_trigger · c_set · ε_acceptance · ε_selection "
              "(docs/limits_method.md), where c_set = signal.efficiency_correction is "
              f"**{CORRECTION_LABEL}** (docs/results.md).",
              "", f"| m_X [GeV] | ε_trigger | c_set ({CORRECTION_LABEL}) | ε_acceptance | ε_selection | ε |",
              "|---|---|---|---|---|---|"]
    for m, e in sorted(result.efficiencies.items()):
        f = result.factors.get(m)
        fac = (f"{f.trigger:.4f} | {f.correction:g} | {f.acceptance:.4f} | {f.selection:.4f}"
               if f is not None else "— | — | — | —")
        lines.append(f"| {m:g} | {fac} | {e.value:.4f} ± {e.error:.4f} |")
    if result.factors_note:
        lines += ["", result.factors_note + "."]
    if result.limit is not None:
        lim = result.limit
        lines += ["", "## Signal-yield systematics", "",
                  "Relative uncertainties of N_sig, combined in quadrature into the signal uncertainty of the "
                  "CLs limit (setup sections `systematics` and `run`).", "",
                  "| source | relative uncertainty |", "|---|---|"]
        for k, v in result.signal_systematics.items():
            lines.append(f"| {k.replace('_', ' ')} | {100 * v:.3g} % |")
        lines.append(f"| **total (quadrature)** | {100 * result.signal_uncertainty:.3g} % |")
        med = np.asarray(lim.expected.median)
        idx = np.unique(np.linspace(0, len(lim.masses) - 1, 8).round().astype(int))
        if result.n_obs is not None:
            lines += ["", f"## {int(lim.cl * 100)} % CL limits", "",
                      f"Upper limit on signal events: {float(lim.events_observed):.3f} (observed; "
                      f"{upper_limit(CountingExperiment(result.n_obs, t.value, t.error), cl=lim.cl):.3f} without the "
                      "signal uncertainty), "
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
        lines += ["", "For comparison, the (g−2)_μ couplings at the simulated masses:", "",
                  "| m_X [GeV] | observed limit | expected median | (g−2)_μ 2021 ±2σ band (superseded) | (g−2)_μ 2025 upper bound |",
                  "|---|---|---|---|---|"]
        for m, obs, exp, lo, hi, up in _limit_rows(result):
            otxt = f"{obs:.3g}" if result.n_obs is not None else "—"
            lines.append(f"| {m:g} | {otxt} | {exp:.3g} | {_range_text(lo, hi, ' – ')} | {_bound_text(up)} |")
