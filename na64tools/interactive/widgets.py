"""The CutExplorer view: ipywidgets sliders and toggles over :class:`CutExplorerModel`.

``CutExplorer(output)`` in a notebook shows a slider for every field of
:class:`~na64tools.config.Cuts` (units and ranges from the stored data and the preselection), a
switch per cut of the flow, and live: a summary line (efficiency, background, limit), the
cutflow table, and one figure with the signal efficiency versus mass, the background by source,
the N−1 p_out distribution with the cut drawn and the exclusion limit with its projection and the
(g−2)_μ band. Buttons reset to the published cuts, export the cuts as YAML, and run the
optimiser (tuned on one half of the events, reported on the other).

Nothing the user does shows a traceback: bad input (an output without the cut table, a cut the
table cannot evaluate) is explained in a message box; the last valid state stays on screen.
"""

from __future__ import annotations

import base64
import html
import io
import logging
import math
import warnings
from collections.abc import Callable
from pathlib import Path

import ipywidgets as W
import numpy as np

from .model import CUT_GROUPS, CutExplorerModel, Summary

__all__ = ["CutExplorer"]

log = logging.getLogger(__name__)

#: short slider labels
LABELS: dict[str, str] = {
    "p_in_min": "p_in min",
    "p_in_max": "p_in max",
    "beam_chi2_max": "MS1 χ² max",
    "n_tracks_max": "tracks max",
    "track_chi2_max": "track χ² max",
    "track_hits_min": "track hits min",
    "p_out_max": "p_out max",
    "ecal_min": "ECAL min",
    "ecal_max": "ECAL max",
    "hcal_max": "HCAL max",
    "veto_max": "VETO max",
    "vhcal_max": "VHCAL max",
}

#: plain-language name of each cut (for the public dashboard)
PLAIN: dict[str, str] = {
    "beam": "a clean incoming muon of about 160 GeV",
    "n_tracks": "exactly one muon comes out",
    "track_quality": "the outgoing muon is well measured",
    "p_out": "the outgoing muon lost a lot of energy (p_out small)",
    "ecal": "the target calorimeter saw only a passing muon",
    "hcal": "the hadron calorimeter saw only a passing muon",
    "veto": "nothing in the veto counters",
    "vhcal": "nothing in the veto hadron calorimeter",
}

_CSS = """<style>
.na64-box {padding: 6px 10px; border-radius: 4px; margin: 4px 0;}
.na64-error {background: #fde8e8; border: 1px solid #e0a0a0; color: #7a1010;}
.na64-warning {background: #fff6dd; border: 1px solid #e8cf80; color: #5a4500;}
.na64-summary {background: #eef5fc; border: 1px solid #a9c7e8; font-size: 1.05em;}
.na64-cutflow table {border-collapse: collapse; font-size: 0.9em;}
.na64-cutflow td, .na64-cutflow th {border-bottom: 1px solid #ddd; padding: 2px 8px; text-align: right;}
.na64-cutflow td:first-child, .na64-cutflow th:first-child {text-align: left;}
</style>"""


def _fmt(x: float, digits: int = 3) -> str:
    if x is None or not math.isfinite(x):
        return "∞" if x is not None and x > 0 else "—"
    if x == 0:
        return "0"
    return f"{x:.{digits}g}"


def _sci(x: float) -> str:
    """x as HTML scientific notation, e.g. 2.3 × 10<sup>−4</sup>."""
    if x is None or not math.isfinite(x) or x <= 0:
        return _fmt(x)
    e = math.floor(math.log10(x))
    return f"{x / 10 ** e:.2f} × 10<sup>{'−' if e < 0 else ''}{abs(e)}</sup>"


def _box(kind: str, text: str) -> str:
    return f'{_CSS}<div class="na64-box na64-{kind}">{text}</div>'


class CutExplorer:
    """Interactive cut explorer (ipywidgets) for a processor output with its cut table.

    Parameters
    ----------
    source
        The processor output (``na64tools.run(...)``) or an :class:`~na64tools.analysis.Analysis`.
        Bad input does not raise: the widget shows what is wrong (see :attr:`error`).
    mass
        The mass (GeV) of the summary line (default: a middle simulated mass).
    public
        Plain-language texts for the outreach dashboard.
    figure
        Draw the figure (False: numbers and table only, e.g. for tests).
    **model_kwargs
        Passed to :class:`CutExplorerModel` (``model``, ``projection_mot``, ``setup``, ...).
    """

    def __init__(self, source, *, mass: float | None = None, public: bool = False,
                 figure: bool = True, **model_kwargs):
        self.public = public
        self.draw_figure = figure
        self.error: str | None = None
        self._syncing = False
        self.optimisation = None
        self.message_html = W.HTML(value="", layout=W.Layout(width="100%"))
        try:
            self.model = CutExplorerModel(source, **model_kwargs)
        except Exception as err:  # bad input of any kind: a message in the page, no traceback
            if not isinstance(err, (ValueError, TypeError)):
                log.exception("CutExplorer could not be built")
                err = ValueError(f"the processor output could not be read ({type(err).__name__}: {err})")
            self.model = None
            self.error = str(err)
            self.message_html.value = _box("error", "<b>The cut explorer cannot start.</b> " + html.escape(self.error))
            self.widget = W.VBox([self.message_html])
            return
        m = self.model
        masses = m.masses
        self.mass = float(mass) if mass is not None else masses[len(masses) // 2]
        self._build()
        self._show(m.summary)

    # --- display ----------------------------------------------------------------------------
    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)

    # --- construction -----------------------------------------------------------------------
    def _build(self) -> None:
        m = self.model
        self.sliders: dict[str, W.Widget] = {}
        self.toggles: dict[str, W.Checkbox] = {}
        rows = []
        for group, names in CUT_GROUPS.items():
            t = W.Checkbox(value=True, description=group.replace("_", " "), indent=False,
                           layout=W.Layout(width="130px"),
                           tooltip=f"apply the {group} cut: {PLAIN[group]}")
            t.observe(self._on_toggle, names="value")
            self.toggles[group] = t
            sliders = []
            for name in names:
                r = m.ranges[name]
                kw = dict(value=float(getattr(m.cuts, name)), min=r.lo, max=r.hi, step=r.step,
                          description=LABELS[name], continuous_update=False,
                          tooltip=f"{r.doc} [{r.unit}]; published {r.published:g} {r.unit}",
                          style={"description_width": "100px"}, layout=W.Layout(width="400px"))
                if r.integer:
                    kw.update(value=int(round(kw["value"])), min=int(r.lo), max=int(r.hi), step=1)
                    s = W.IntSlider(**kw)
                else:
                    decimals = max(0, -int(math.floor(math.log10(r.step)))) if r.step < 1 else 0
                    s = W.FloatSlider(readout_format=f".{decimals}f", **kw)
                s.add_class(f"na64-slider-{name}")
                s.observe(self._on_slider, names="value")
                self.sliders[name] = s
                unit = W.HTML(value=f"<span title='{html.escape(r.doc)}'>{html.escape(r.unit)}</span>",
                              layout=W.Layout(width="60px"))
                sliders.append(W.HBox([s, unit]))
            rows.append(W.HBox([t, W.VBox(sliders)]))
        self.controls = W.VBox(rows)

        self.mass_select = W.Dropdown(options=[(f"{x:g} GeV", x) for x in m.masses], value=self.mass,
                                      description="mass m_X", style={"description_width": "70px"},
                                      layout=W.Layout(width="200px"))
        self.mass_select.observe(self._on_mass, names="value")
        self.summary_html = W.HTML()
        self.cutflow_html = W.HTML()
        self.figure = W.Image(format="png", layout=W.Layout(width="100%", max_width="1100px"))

        self.reset_button = W.Button(description="Reset to published cuts", icon="undo",
                                     layout=W.Layout(width="210px"))
        self.reset_button.on_click(self._safe(lambda _: self.reset()))
        self.export_button = W.Button(description="Export cuts as YAML", icon="download",
                                      layout=W.Layout(width="190px"))
        self.export_button.on_click(self._safe(lambda _: self.export_yaml()))
        self.yaml_area = W.Textarea(value="", layout=W.Layout(width="100%", height="0px", display="none"))
        self.download_html = W.HTML()
        buttons = W.HBox([self.reset_button, self.export_button, self.download_html])
        self.figure.add_class("na64-figure")

        b0 = m.summary.total_background.value
        self.opt_mass = W.FloatText(value=self.mass, description="at mass [GeV]",
                                    style={"description_width": "95px"}, layout=W.Layout(width="200px"))
        self.opt_max_background = W.FloatText(value=float(f"{b0:.3g}"), description="max background",
                                              style={"description_width": "105px"},
                                              layout=W.Layout(width="210px"))
        self.optimise_button = W.Button(description="Optimise cuts", icon="search",
                                        tooltip="minimise the expected limit; tuned on half of the "
                                                "events, checked on the other half",
                                        layout=W.Layout(width="150px"))
        self.optimise_button.on_click(self._safe(lambda _: self.optimise()))
        self.apply_button = W.Button(description="Apply optimised cuts", disabled=True,
                                     layout=W.Layout(width="180px"))
        self.apply_button.on_click(self._safe(lambda _: self.apply_optimised()))
        self.opt_html = W.HTML()
        optimiser = W.VBox([W.HBox([self.opt_mass, self.opt_max_background, self.optimise_button,
                                    self.apply_button]), self.opt_html])

        right = W.VBox([self.mass_select, self.summary_html, self.message_html, buttons, self.cutflow_html],
                       layout=W.Layout(width="100%"))
        acc = W.Accordion(children=[optimiser], titles=("Cut optimiser (for analysts)",))
        acc.selected_index = None
        self.widget = W.VBox([
            W.HBox([W.VBox([W.HTML("<b>Cuts</b> (untick a cut to switch it off)"), self.controls],
                           layout=W.Layout(min_width="600px", flex="0 0 auto")), right]),
            *([self.figure] if self.draw_figure else []),
            self.yaml_area, acc,
        ])
        self.widget.add_class("na64-cut-explorer")

    # --- error handling ---------------------------------------------------------------------
    def _safe(self, fn: Callable) -> Callable:
        def run(*args, **kwargs):
            try:
                return fn(*args, **kwargs)
            except ValueError as err:
                self._message("error", html.escape(str(err)))
            except Exception as err:  # never a traceback in the page; keep it in the log
                log.exception("CutExplorer callback failed")
                self._message("error", f"Something went wrong ({type(err).__name__}: "
                                       f"{html.escape(str(err))}). The previous state is kept.")
            return None
        return run

    def _message(self, kind: str, text: str) -> None:
        self.message_html.value = _box(kind, text) if text else ""

    # --- callbacks ----------------------------------------------------------------------------
    def _on_slider(self, change) -> None:
        if self._syncing:
            return
        name = next(k for k, s in self.sliders.items() if s is change["owner"])
        self._safe(self._apply)(**{name: change["new"]})

    def _on_toggle(self, change) -> None:
        if self._syncing:
            return
        group = next(g for g, t in self.toggles.items() if t is change["owner"])
        self._safe(self._apply)(**{group: bool(change["new"])})

    def _on_mass(self, change) -> None:
        self.mass = float(change["new"])
        self._safe(self._show)(self.model.summary)

    def _apply(self, **values) -> Summary:
        try:
            summary = self.model.set_cuts(**values)
        except ValueError:
            self._sync()  # back to the last valid state
            raise
        self._sync()
        self._show(summary)
        return summary

    def _sync(self) -> None:
        """Sliders and toggles to the model's state, without firing callbacks."""
        m = self.model
        self._syncing = True
        try:
            for name, s in self.sliders.items():
                v = getattr(m.slider_cuts, name)
                s.value = int(round(v)) if isinstance(s, W.IntSlider) else float(v)
                s.disabled = any(name in CUT_GROUPS[g] for g in m.off)
            for g, t in self.toggles.items():
                t.value = g not in m.off
        finally:
            self._syncing = False

    # --- public API -----------------------------------------------------------------------------
    def set_cuts(self, **values) -> Summary:
        """Like :meth:`CutExplorerModel.set_cuts`, and the widgets follow. Raises ``ValueError``."""
        if self.model is None:
            raise ValueError(self.error)
        return self._apply(**values)

    def reset(self) -> Summary:
        """Back to the published cuts."""
        if self.model is None:
            raise ValueError(self.error)
        summary = self.model.reset()
        self._sync()
        self._show(summary)
        return summary

    def export_yaml(self, path: str | Path | None = None) -> str:
        """The current cuts as YAML: shown in the page with a download link, written to ``path``."""
        if self.model is None:
            raise ValueError(self.error)
        text = self.model.to_yaml()
        if path is not None:
            self.model.export_yaml(path)
        self.yaml_area.value = text
        self.yaml_area.layout.display = None
        self.yaml_area.layout.height = "14em"
        b64 = base64.b64encode(text.encode()).decode()
        self.download_html.value = (f'<a class="na64-download" download="na64_cuts.yaml" '
                                    f'href="data:text/yaml;base64,{b64}">download na64_cuts.yaml</a>')
        return text

    def optimise(self, mass: float | tuple[float, float] | None = None, *,
                 max_background: float | None = None, **kwargs):
        """Run :meth:`CutExplorerModel.optimise` and show its report (what the button does).

        ``mass`` and ``max_background`` default to the values in the optimiser's form; other
        options (``fields``, ``sweeps``, ``points``, ...) go to
        :func:`~na64tools.interactive.optimise_cuts`. Returns the
        :class:`~na64tools.interactive.Optimisation`; **Apply optimised cuts** then sets them.
        """
        if self.model is None:
            raise ValueError(self.error)
        if mass is None:
            mass = float(self.opt_mass.value)
        elif isinstance(mass, (int, float)):
            self.opt_mass.value = float(mass)
        if max_background is None:
            max_background = float(self.opt_max_background.value)
        else:
            self.opt_max_background.value = float(max_background)
        kwargs.setdefault("sweeps", 2)
        kwargs.setdefault("points", 10)
        self.opt_html.value = _box("warning", "optimising… (tuning on one half of the events)")
        self.apply_button.disabled = True

        def progress(done, total):
            self.opt_html.value = _box("warning", f"optimising… {done}/{total} cut scans")

        try:
            opt = self.model.optimise(mass=mass, max_background=max_background, progress=progress, **kwargs)
        except ValueError:
            self.opt_html.value = ""
            raise
        self.optimisation = opt
        self.opt_html.value = (f'<pre class="na64-optimisation">{html.escape(opt.report())}</pre>')
        self.apply_button.disabled = not opt.changed
        return opt

    def run_optimiser(self, **kwargs):
        """:meth:`optimise` with the mass and background of the optimiser's form (the button)."""
        return self.optimise(**kwargs)

    def apply_optimised(self) -> Summary:
        """Set the sliders to the optimised cuts of the last :meth:`optimise`."""
        if self.optimisation is None:
            raise ValueError("run the optimiser first")
        values = {g: True for g in CUT_GROUPS}
        values.update(self.optimisation.cuts.to_dict())
        return self._apply(**values)

    # --- rendering --------------------------------------------------------------------------------
    def _show(self, s: Summary) -> None:
        self.summary_html.value = self._summary_html(s)
        self.cutflow_html.value = self._cutflow_html(s)
        self._message("warning", "<br>".join(html.escape(x) for x in s.messages) if s.messages else "")
        if self.draw_figure:
            try:
                self.figure.value = self._render(s)
            except Exception as err:  # a figure problem must not hide the numbers
                log.exception("CutExplorer figure failed")
                self._message("warning", f"The figure could not be drawn ({html.escape(str(err))}).")

    def _summary_html(self, s: Summary) -> str:
        m = self.mass
        eff = s.efficiency(m)
        b = s.total_background
        try:
            g = s.expected_limit(m)
        except ValueError:
            g = math.inf
        eff_txt = f"{100 * eff:.1f} %"
        b_txt = f"{_fmt(b.value)} ± {_fmt(b.error, 2)}"
        parts = [
            f'<span class="na64-eff">Signal efficiency at m<sub>X</sub> = {m:g} GeV: <b>{eff_txt}</b></span>',
            f'<span class="na64-bkg">Expected background: <b>{b_txt}</b> events '
            f'for {s.mot:.3g} muons on target</span>',
            f'<span class="na64-limit">Expected 90 % CL limit on the coupling: <b>{_sci(g)}</b></span>',
        ]
        text = " &nbsp;·&nbsp; ".join(parts)
        if self.public:
            n_sig = round(100 * eff)
            text += ("<br><small>In plain words: of 100 dark bosons produced in the target, "
                     f"<b>{n_sig}</b> would pass these cuts. Ordinary physics would fake "
                     f"<b>{_fmt(b.value, 2)}</b> such events in the whole 2022 run; the experiment saw "
                     f"{s.result.n_obs}. The fewer fakes and the more signal kept, the smaller the "
                     "coupling that can be excluded.</small>")
        return _box("summary", text)

    def _cutflow_html(self, s: Summary) -> str:
        masses = [m for m in sorted(s.cutflow[0].signal)]
        head = "".join(f"<th>signal {m:g} GeV</th>" for m in masses)
        rows = []
        for r in s.cutflow:
            if r.stage in s.off:
                label = f"<s>{html.escape(r.label)}</s> (off)"
            else:
                label = html.escape(r.label)
            cells = "".join(f"<td>{100 * r.signal[m]:.2f} %</td>" for m in masses)
            rows.append(f"<tr><td>{label}</td>{cells}<td>{_fmt(r.background)}</td>"
                        f"<td>{r.background_entries}</td></tr>")
        return (f'{_CSS}<div class="na64-cutflow"><b>Cutflow</b> (signal: fraction of generated events; '
                f'background: expected events for {s.mot:.3g} MOT)<table><tr><th>after</th>{head}'
                f'<th>background</th><th>simulated bkg events</th></tr>{"".join(rows)}</table></div>')

    def _render(self, s: Summary) -> bytes:
        from matplotlib.figure import Figure  # not pyplot: no figure pops up in the notebook

        from .. import plotting

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # empty/zero panels on log axes warn; the page must not
            fig = Figure(figsize=(19, 14))  # the house style is made for 10-inch panels
            axes = fig.subplots(2, 2)
            effs = sorted(s.efficiencies.items())
            plotting.plot_efficiency([k for k, _ in effs], [e.value for _, e in effs],
                                     [e.error for _, e in effs], ax=axes[0, 0])
            plotting.plot_background(s.background, published=self.model.setup.backgrounds, mot=s.mot,
                                     ax=axes[0, 1])
            axes[0, 1].set_ylabel(f"background events ({s.mot:.2g} MOT)")
            h = s.pout
            counts = {}
            if self.mass in h.signal:
                counts[f"signal {self.mass:g} GeV (g = {self.model.analysis.g_ref:g})"] = h.signal[self.mass]
            for src, c in h.background.items():
                if np.any(c > 0):
                    counts[f"bkg: {src.replace('_', ' ')}"] = c
            plotting.plot_pout(h.edges, counts, cut=h.cut, ax=axes[1, 0])
            axes[1, 0].set_ylabel("expected events (all other cuts applied)")
            ax = axes[1, 1]
            if s.limit is not None and np.any(np.isfinite(s.limit.observed)):
                proj = []
                if s.projection is not None:
                    for k, mot in enumerate(np.atleast_1d(s.projection.mot)):
                        proj.append((f"expected, {mot:.2g} MOT", s.projection.masses,
                                     np.asarray(s.projection.expected.median)[k]))
                plotting.plot_exclusion(s.limit, model=s.model, projections=proj, ax=ax)
            else:
                ax.text(0.5, 0.5, "no signal passes: no limit", ha="center", va="center",
                        transform=ax.transAxes)
            for a in axes.flat:  # the house plots are made for one panel: smaller legends here
                leg = a.get_legend()
                if leg is not None:
                    for t in leg.get_texts():
                        t.set_fontsize(13)
            # fixed margins: tight_layout doubles the drawing time
            fig.subplots_adjust(left=0.07, right=0.985, top=0.98, bottom=0.1, hspace=0.33, wspace=0.3)
            buf = io.BytesIO()
            fig.savefig(buf, format="png", dpi=52)
        return buf.getvalue()
