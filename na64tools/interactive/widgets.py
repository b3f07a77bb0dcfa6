"""The CutExplorer view: ipywidgets sliders and toggles over :class:`CutExplorerModel`.

``CutExplorer(output)`` in a notebook shows a slider for every field of
:class:`~na64tools.config.Cuts` (units and ranges from the stored data and the preselection;
plain words and a tooltip on each with ``public=True``), a switch per cut of the flow, and live:
the summary (efficiency; background with its statistical and systematic errors and its effective
number of simulated events, flagged when low; as headline the *expected* 90 % CL limit with its
±1σ band — the observed 2022 limit only at the published cuts, where the data were unblinded),
the cutflow table, and four figure panels (inline SVG, :mod:`~na64tools.interactive.svgplot`):
the exclusion limit with its bands, the (g−2)_μ band and a projection; the N−1 p_out
distribution with the cut; the signal efficiency versus mass; the background by source beside
the published table. Buttons reset to the published cuts, export the cuts as YAML, and run the
optimiser (tuned on one half of the events, reported on the other).

Responsiveness: a panel is re-sent to the page only when it changed; widget events arriving
within :data:`COALESCE_S` of each other (inside the kernel's event loop) are applied at once, and
the page shows "updating…" meanwhile.

Nothing the user does shows a traceback: bad input (an output without the cut table, a cut the
table cannot evaluate) is explained in a message box naming the control that was moved; the last
valid state stays on screen.
"""

from __future__ import annotations

import base64
import html
import logging
import math
from collections.abc import Callable
from pathlib import Path

import ipywidgets as W
import numpy as np

from ..config import Cuts
from ..selection import declaration
from .model import CutExplorerModel, Summary, _interp_limit
from .svgplot import Panel, log_limits

__all__ = ["CutExplorer"]

log = logging.getLogger(__name__)

# The labels are declared with each threshold and cut (na64tools.config.Cuts); these
# dictionaries are views of that declaration for the published selection.
_DECL = declaration(Cuts)

#: short slider labels (analysts)
LABELS: dict[str, str] = {n: t.label for n, t in _DECL.thresholds.items()}

#: slider labels in plain words (the public dashboard), with the analysts' name in the tooltip
PUBLIC_LABELS: dict[str, str] = {n: t.public for n, t in _DECL.thresholds.items()}

#: what each slider does, in plain words (tooltip and accessible description)
HELP: dict[str, str] = {n: t.help for n, t in _DECL.thresholds.items()}

#: plain-language description of each cut (for the public dashboard)
PLAIN: dict[str, str] = {c.name: c.plain for c in _DECL.flow if c.name in _DECL.groups}

#: short switch labels in plain words
PUBLIC_GROUPS: dict[str, str] = {c.name: c.public for c in _DECL.flow if c.name in _DECL.groups}

#: units in words ("1": a pure number, e.g. a χ²/ndf)
_UNIT_WORDS = {"1": "", "tracks": "", "hits": "hits", "GeV": "GeV"}

#: seconds the view waits for more widget events before it recomputes (a burst of slider or
#: check-box events is applied at once; the page never falls behind the user)
COALESCE_S = 0.03

_CSS = """<style>
.na64-box {box-sizing: border-box; padding: 6px 10px; border-radius: 4px; margin: 4px 0; overflow-wrap: anywhere;}
.na64-error {background: #fde8e8; border: 1px solid #e0a0a0; color: #7a1010;}
.na64-warning {background: #fff6dd; border: 1px solid #e8cf80; color: #5a4500;}
.na64-summary {background: #eef5fc; border: 1px solid #a9c7e8; font-size: 1.05em; line-height: 1.5;}
.na64-summary .na64-limit-obs {color: #333;}
.na64-cut-explorer .widget-html, .na64-cut-explorer .widget-html-content {min-width: 0; max-width: 100%;}
.na64-cut-explorer .widget-html {margin-left: 0; margin-right: 0;}
.na64-cutflow {overflow-x: auto; max-width: min(100%, calc(100vw - 40px));}
.na64-cutflow table {border-collapse: collapse; font-size: 0.9em;}
.na64-cutflow td, .na64-cutflow th {border-bottom: 1px solid #ddd; padding: 2px 8px; text-align: right;
  white-space: nowrap; line-height: 1.3;}
.na64-cutflow th {white-space: normal; vertical-align: bottom; min-width: 4.5em;}
.na64-cutflow td:first-child, .na64-cutflow th:first-child {text-align: left; white-space: normal;
  min-width: 9em;}
.na64-cut-explorer .widget-button {width: auto !important; min-width: 8em; padding: 0 1em;}
.na64-cut-explorer .widget-label, .na64-cut-explorer .widget-inline-hbox .widget-label
  {overflow: visible; white-space: normal; line-height: 1.2;}
.na64-panel {flex: 1 1 340px; min-width: 300px; max-width: 660px;}
.na64-status {min-height: 1.6em; font-size: 0.95em; color: #555;}
.na64-busy .na64-status::before {content: "updating…"; background: #fff6dd; border: 1px solid #e8cf80;
  border-radius: 3px; padding: 1px 6px;}
.na64-busy .na64-panels, .na64-busy .na64-summary {opacity: 0.75; transition: opacity 0.2s 0.15s;}
</style>"""


#: a 1x1 transparent GIF (the carrier of :data:`_A11Y_JS`)
_PIXEL = "data:image/gif;base64,R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7"

#: gives every slider handle of the explorer an accessible name (aria-label: the slider's label)
#: and description (its tooltip), and keeps doing so as widgets are redrawn
_A11Y_JS = ("(function(){function f(){document.querySelectorAll('.na64-slider').forEach(function(s){"
            "var l=s.querySelector('.widget-label'),h=s.querySelector('[role=slider]');if(!l||!h)return;"
            "if(h.getAttribute('aria-label')!==l.textContent)h.setAttribute('aria-label',l.textContent);"
            "if(l.title&&h.getAttribute('aria-description')!==l.title)"
            "h.setAttribute('aria-description',l.title);"
            "var r=s.querySelector('.widget-readout');"
            "if(r&&!r.getAttribute('aria-label'))r.setAttribute('aria-label',l.textContent+' (value)');});}"
            "f();if(!window.na64A11y){window.na64A11y=new MutationObserver(f);"
            "window.na64A11y.observe(document.body,{childList:true,subtree:true});}})()")


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
    coalesce
        ``False`` applies every widget event at once; otherwise (default) events arriving within
        :data:`COALESCE_S` of each other are applied together when the kernel runs an asyncio
        loop (a burst of slider moves costs one evaluation).
    **model_kwargs
        Passed to :class:`CutExplorerModel` (``model``, ``projection_mot``, ``setup``, ...).

    Examples
    --------
    In a notebook, the last line ``explorer`` shows the widget. Without a display, the cuts can
    be set from code (``p_out_max`` in GeV) and the summary read:

    >>> import tempfile
    >>> from na64tools import run
    >>> from na64tools.interactive import CutExplorer
    >>> from na64tools.sim import simulate
    >>> d = tempfile.mkdtemp()
    >>> for mass in (0.1, 1.0):
    ...     _ = simulate("signal", mass=mass, events=2000, seed=1, out=d + "/signal")
    >>> _ = simulate("background", events=20000, seed=2, out=d + "/background")
    >>> out = run([d + "/signal", d + "/background"], executor="iterative", progress=False)
    >>> explorer = CutExplorer(out, figure=False)
    >>> print(explorer.error)
    None
    >>> summary = explorer.set_cuts(p_out_max=90.0)
    >>> summary.cuts.p_out_max
    90.0
    """

    def __init__(self, source, *, mass: float | None = None, public: bool = False,
                 figure: bool = True, coalesce: bool | None = None, **model_kwargs):
        self.public = public
        self.draw_figure = figure
        self.error: str | None = None
        self._syncing = False
        self._pending: dict = {}
        self._flush_handle = None
        self._coalesce = coalesce
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
        self._g2 = None  # the (g-2) band, computed once (it does not depend on the cuts)
        self._build()
        self._show(m.summary)

    # --- display ----------------------------------------------------------------------------
    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)

    # --- construction -----------------------------------------------------------------------
    def _label(self, name: str) -> str:
        t = self.model.selection.thresholds[name]
        return t.public if self.public else t.label

    def _build(self) -> None:
        m = self.model
        self.sliders: dict[str, W.Widget] = {}
        self.toggles: dict[str, W.Checkbox] = {}
        rows = []
        full = W.Layout(width="100%", max_width="520px")
        cuts = {c.name: c for c in m.selection.flow}
        for group, names in m.groups.items():
            gname = cuts[group].public if self.public else group.replace("_", " ")
            t = W.Checkbox(value=True, description=gname, indent=False,
                           layout=W.Layout(width="auto"),
                           tooltip=f"switch the cut on or off: {cuts[group].plain}")
            t.add_class(f"na64-toggle-{group}")
            t.observe(self._on_toggle, names="value")
            self.toggles[group] = t
            sliders = []
            for name in names:
                r = m.ranges[name]
                unit = _UNIT_WORDS.get(r.unit, r.unit)
                th = m.selection.thresholds[name]
                tip = (f"{th.help} Published cut: {r.published:g} {unit}".rstrip()
                       + f". [{th.label}: {r.doc}]")
                kw = dict(value=float(getattr(m.cuts, name)), min=r.lo, max=r.hi, step=r.step,
                          description=self._label(name), continuous_update=False, tooltip=tip,
                          style={"description_width": "150px" if self.public else "110px"},
                          layout=W.Layout(width="100%", max_width="520px", min_width="0"))
                if r.integer:
                    kw.update(value=int(round(kw["value"])), min=int(r.lo), max=int(r.hi), step=1)
                    s = W.IntSlider(**kw)
                else:
                    decimals = max(0, -int(math.floor(math.log10(r.step)))) if r.step < 1 else 0
                    s = W.FloatSlider(readout_format=f".{decimals}f", **kw)
                s.add_class(f"na64-slider-{name}")
                s.add_class("na64-slider")
                s.observe(self._on_slider, names="value")
                self.sliders[name] = s
                sliders.append(W.HBox([s, W.HTML(value=f"<span title='{html.escape(r.doc)}'>"
                                                       f"{html.escape(unit)}</span>",
                                                 layout=W.Layout(width="3.5em", flex="0 0 auto"))],
                                      layout=W.Layout(width="100%")))
            rows.append(W.VBox([t, *sliders], layout=W.Layout(width="100%", margin="0 0 4px 0")))
        head = ("<b>Cuts</b> — move a slider to change what counts as a candidate; untick to switch a "
                "cut off" if self.public else "<b>Cuts</b> (untick a cut to switch it off)")
        self.controls = W.VBox([W.HTML(head), *rows], layout=full)

        self.mass_select = W.Dropdown(options=[(f"{x:g} GeV", x) for x in m.masses], value=self.mass,
                                      description="dark boson mass" if self.public else "mass m_X",
                                      tooltip="the mass of the dark boson X for the numbers above",
                                      style={"description_width": "initial"},
                                      layout=W.Layout(width="auto"))
        self.mass_select.observe(self._on_mass, names="value")
        self.summary_html = W.HTML(layout=W.Layout(width="100%"))
        self.summary_html.add_class("na64-numbers")
        self.status_html = W.HTML(layout=W.Layout(width="100%"))
        self.status_html.add_class("na64-status")
        self.cutflow_html = W.HTML(layout=W.Layout(width="100%"))
        self.panels = {k: W.HTML(layout=W.Layout(flex="1 1 340px", min_width="0", max_width="660px"))
                       for k in ("limit", "pout", "efficiency", "background")}
        for k, p in self.panels.items():
            p.add_class("na64-panel")
            p.add_class(f"na64-panel-{k}")
        self.figure = W.Box(list(self.panels.values()),
                            layout=W.Layout(display="flex", flex_flow="row wrap", width="100%"))
        self.figure.add_class("na64-figure")
        self.figure.add_class("na64-panels")

        self.reset_button = W.Button(description="Reset to published cuts",
                                     tooltip="set every cut back to the 2022 analysis",
                                     layout=W.Layout(width="auto"))
        self.reset_button.on_click(self._safe(lambda _: self.reset()))
        self.export_button = W.Button(description="Export cuts as YAML",
                                      tooltip="show the cuts as a YAML file to download",
                                      layout=W.Layout(width="auto"))
        self.export_button.on_click(self._safe(lambda _: self.export_yaml()))
        self.yaml_area = W.Textarea(value="", layout=W.Layout(width="100%", height="0px", display="none"))
        self.download_html = W.HTML()
        buttons = W.HBox([self.reset_button, self.export_button, self.download_html],
                         layout=W.Layout(flex_flow="row wrap"))

        b0 = m.summary.total_background.value
        self.opt_mass = W.FloatText(value=self.mass, description="at mass [GeV]",
                                    style={"description_width": "initial"}, layout=W.Layout(width="auto"))
        self.opt_max_background = W.FloatText(value=float(f"{b0:.3g}"), description="max background",
                                              style={"description_width": "initial"},
                                              layout=W.Layout(width="auto"))
        self.optimise_button = W.Button(description="Optimise cuts",
                                        tooltip="minimise the expected limit; tuned on half of the "
                                                "events, checked on the other half",
                                        layout=W.Layout(width="auto"))
        self.optimise_button.on_click(self._safe(lambda _: self.optimise()))
        self.apply_button = W.Button(description="Apply optimised cuts", disabled=True,
                                     layout=W.Layout(width="auto"))
        self.apply_button.on_click(self._safe(lambda _: self.apply_optimised()))
        self.opt_html = W.HTML()
        optimiser = W.VBox([W.HBox([self.opt_mass, self.opt_max_background, self.optimise_button,
                                    self.apply_button], layout=W.Layout(flex_flow="row wrap")),
                            self.opt_html])

        acc = W.Accordion(children=[optimiser], titles=("Cut optimiser (for analysts)",))
        acc.selected_index = None
        # numbers on top; then sliders and figure side by side, wrapping below each other on a
        # narrow (phone) screen; then buttons and the cutflow
        left = W.VBox([self.controls], layout=W.Layout(flex="1 1 360px", min_width="0",
                                                       max_width="540px"))
        right = W.VBox([self.figure] if self.draw_figure else [],
                       layout=W.Layout(flex="2 1 360px", min_width="0"))
        self.widget = W.VBox([
            W.HBox([self.mass_select, self.status_html], layout=W.Layout(flex_flow="row wrap",
                                                                         align_items="center")),
            self.summary_html, self.message_html,
            W.Box([left, right], layout=W.Layout(display="flex", flex_flow="row wrap", width="100%")),
            buttons, self.yaml_area, self.cutflow_html, acc,
        ], layout=W.Layout(width="100%"))
        self.widget.add_class("na64-cut-explorer")
        # accessible names of the slider handles (ipywidgets sets none): a script run by the page
        # itself, in Voila and JupyterLab alike, through the load event of an invisible image
        self._a11y = W.HTML(value=f'<img alt="" style="display:none" src="{_PIXEL}" '
                                  f'onload="{html.escape(_A11Y_JS, quote=True)}">')
        self.widget.children = (*self.widget.children, self._a11y)

    # --- error handling ---------------------------------------------------------------------
    def _safe(self, fn: Callable) -> Callable:
        def run(*args, **kwargs):
            try:
                return fn(*args, **kwargs)
            except ValueError as err:
                self._message("error", self._plain_error(err, kwargs))
            except Exception as err:  # never a traceback in the page; keep it in the log
                log.exception("CutExplorer callback failed")
                self._message("error", f"Something went wrong ({type(err).__name__}: "
                                       f"{html.escape(str(err))}). The previous state is kept.")
            return None
        return run

    def _plain_error(self, err: Exception, values: dict) -> str:
        """The error of a change of ``values``, naming the control that was moved, in plain words
        first (the analysts' message follows)."""
        moved = [k for k in values if k in self.sliders]
        text = html.escape(str(err))
        if len(moved) != 1:
            return text
        name = moved[0]
        r = self.model.ranges[name]
        unit = _UNIT_WORDS.get(r.unit, r.unit)
        v = values[name]
        partner = {"p_in_min": "p_in_max", "p_in_max": "p_in_min",
                   "ecal_min": "ecal_max", "ecal_max": "ecal_min"}.get(name)
        if partner is not None and partner in str(err):
            pv = getattr(self.model.slider_cuts, partner)
            rel = "below" if name.endswith("_min") else "above"
            plain = (f"“{self._label(name)}” ({name}) must stay {rel} “{self._label(partner)}” "
                     f"({partner} = {pv:g} {unit}); you chose {v:g} {unit}. It was set back.")
        else:
            plain = (f"“{self._label(name)}” ({name}) cannot be set to {v:g} {unit}: allowed is "
                     f"{r.hard_lo:g} to {r.hard_hi:g} {unit}. It was set back.")
        return f"{html.escape(plain)}<br><small>{text}</small>"

    def _message(self, kind: str, text: str) -> None:
        self.message_html.value = _box(kind, text) if text else ""

    # --- callbacks ----------------------------------------------------------------------------
    def _on_slider(self, change) -> None:
        if self._syncing:
            return
        name = next(k for k, s in self.sliders.items() if s is change["owner"])
        self._request(name, change["new"])

    def _on_toggle(self, change) -> None:
        if self._syncing:
            return
        group = next(g for g, t in self.toggles.items() if t is change["owner"])
        self._request(group, bool(change["new"]))

    def _on_mass(self, change) -> None:
        self.mass = float(change["new"])
        self._safe(self._show)(self.model.summary)

    def _loop(self):
        """The running asyncio loop of the kernel, or None (plain Python: apply at once)."""
        if self._coalesce is False:
            return None
        import asyncio

        try:
            return asyncio.get_running_loop()
        except RuntimeError:
            return None

    def _request(self, name: str, value) -> None:
        """A widget event: applied after :data:`COALESCE_S` together with every event that
        arrives meanwhile (a burst costs one evaluation), or at once without an event loop."""
        self._pending[name] = value
        loop = self._loop()
        if loop is None:
            self._flush()
            return
        self.widget.add_class("na64-busy")
        if self._flush_handle is None:
            self._flush_handle = loop.call_later(COALESCE_S, self._flush)

    def _flush(self) -> None:
        self._flush_handle = None
        values, self._pending = self._pending, {}
        try:
            if values:
                self._safe(self._apply)(**values)
        finally:
            if not self._pending:
                self.widget.remove_class("na64-busy")

    def _apply(self, **values) -> Summary:
        try:
            summary = self.model.set_cuts(**values)
        except ValueError:
            self._sync()  # back to the last valid state
            raise
        self._sync()
        self._message("", "")
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
                s.disabled = any(name in m.groups[g] for g in m.off)
            for g, t in self.toggles.items():
                t.value = g not in m.off
        finally:
            self._syncing = False

    # --- public API -----------------------------------------------------------------------------
    def set_cuts(self, **values) -> Summary:
        """Like :meth:`CutExplorerModel.set_cuts`, and the widgets follow. Raises ``ValueError``.

        Parameters
        ----------
        **values
            Cuts fields in their units (``p_out_max=90.0`` [GeV]), ``None`` to switch a cut off, or
            ``<group>=False``/``True`` to switch a cut group off/on.

        Returns
        -------
        Summary
            What the new cuts give (efficiencies, background, limits, cutflow).
        """
        if self.model is None:
            raise ValueError(self.error)
        return self._apply(**values)

    def reset(self) -> Summary:
        """Back to the published cuts.

        Returns
        -------
        Summary
            What the published cuts give.

        Raises
        ------
        ValueError
            The explorer could not start (:attr:`error`).
        """
        if self.model is None:
            raise ValueError(self.error)
        summary = self.model.reset()
        self._sync()
        self._show(summary)
        return summary

    def export_yaml(self, path: str | Path | None = None) -> str:
        """The current cuts as YAML: shown in the page with a download link, written to ``path``.

        Parameters
        ----------
        path : str or path, optional
            Also write the cut file there (readable by ``Cuts.from_file``).

        Returns
        -------
        str
            The cut file text.

        Raises
        ------
        ValueError
            The explorer could not start (:attr:`error`).
        """
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

        Parameters
        ----------
        mass : float or (float, float), optional
            The mass [GeV] (or mass range) to optimise for (default: the form's).
        max_background : float, optional
            The largest allowed expected background [events] (default: the form's).
        **kwargs
            Passed to :func:`~na64tools.interactive.optimise.optimise_cuts` (``sweeps`` default 2,
            ``points`` default 10 here).

        Returns
        -------
        Optimisation
            The optimised cuts and their report.
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
        """:meth:`optimise` with the mass and background of the optimiser's form (the button).

        Parameters
        ----------
        **kwargs
            Passed to :meth:`optimise`.

        Returns
        -------
        Optimisation
            As :meth:`optimise`.
        """
        return self.optimise(**kwargs)

    def apply_optimised(self) -> Summary:
        """Set the sliders to the optimised cuts of the last :meth:`optimise`.

        Returns
        -------
        Summary
            What the optimised cuts give.

        Raises
        ------
        ValueError
            No optimisation was run.
        """
        if self.optimisation is None:
            raise ValueError("run the optimiser first")
        values = {g: True for g in self.model.groups}
        values.update(self.optimisation.cuts.to_dict())
        return self._apply(**values)

    # --- rendering --------------------------------------------------------------------------------
    def _at_published(self, s: Summary) -> bool:
        """The shown cuts are the published selection (all on): the only place where the 2022
        data were unblinded, so the only place an observed limit is shown."""
        return s.cuts == self.model.published and not s.off

    def _show(self, s: Summary) -> None:
        self.summary_html.value = self._summary_html(s)
        self.cutflow_html.value = self._cutflow_html(s)
        self._message("warning", "<br>".join(html.escape(x) for x in s.messages) if s.messages else "")
        if self.draw_figure:
            try:
                for key, svg in self._render(s).items():
                    self.panels[key].value = svg  # an unchanged panel sends nothing to the page
            except Exception as err:  # a figure problem must not hide the numbers
                log.exception("CutExplorer figure failed")
                self._message("warning", f"The figure could not be drawn ({html.escape(str(err))}).")

    def _band(self, s: Summary, which: str) -> float:
        try:
            return float(_interp_limit(s.limit, self.mass, which))
        except ValueError:
            return math.inf

    def _summary_html(self, s: Summary) -> str:
        m = self.mass
        eff = s.efficiency(m)
        b = s.total_background
        g = self._band(s, "median")
        lo1, hi1 = self._band(s, "minus1"), self._band(s, "plus1")
        eff_txt = f"{100 * eff:.1f} %"
        b_txt = f"{_fmt(b.value)} ± {_fmt(b.error, 2)}"
        b_detail = (f"(± {_fmt(b.stat, 2)} from the simulation statistics, ± {_fmt(b.syst, 2)} "
                    f"systematic; {b.n_eff:.1f} effective simulated events)")
        parts = [
            f'<span class="na64-eff">Signal efficiency at m<sub>X</sub> = {m:g} GeV: <b>{eff_txt}</b></span>',
            f'<span class="na64-bkg">Expected background: <b>{b_txt}</b> events '
            f'for {s.mot:.3g} muons on target</span> <small class="na64-bkg-detail">{b_detail}</small>',
            f'<span class="na64-limit">Expected (median) 90 % CL limit on the coupling: '
            f'<b>{_sci(g)}</b></span> <small class="na64-limit-band">(±1σ: {_sci(lo1)} … {_sci(hi1)})'
            '</small>',
        ]
        if self._at_published(s):
            try:
                obs = float(s.observed_limit(m))
            except ValueError:
                obs = math.inf
            parts.append(f'<span class="na64-limit-obs">Observed limit with the 2022 data '
                         f'({s.result.n_obs} events seen), shown at the published cuts only: '
                         f'<b>{_sci(obs)}</b></span>')
        else:
            parts.append('<span class="na64-limit-obs"><small>The observed 2022 limit is shown only at '
                         'the published cuts, where the data were looked at.</small></span>')
        text = "<br>".join(parts)
        if s.low_statistics:
            text += (f'<div class="na64-box na64-warning na64-low-stat">Caution: the background rests '
                     f"on only {s.n_eff:.1f} effective simulated events, so it and the limit are "
                     "uncertain (simulate more background).</div>")
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

    def _render(self, s: Summary) -> dict[str, str]:
        """The four panels as inline SVG (see :mod:`~na64tools.interactive.svgplot`)."""
        return {"limit": self._panel_limit(s), "pout": self._panel_pout(s),
                "efficiency": self._panel_efficiency(s), "background": self._panel_background(s)}

    def _panel_limit(self, s: Summary) -> str:
        lim = s.limit
        from ..models import get_model

        spec = get_model(s.model)
        ylab = {"vector": "coupling g_Z′", "scalar": "coupling g_S", "dark_photon": "mixing ε"}.get(
            s.model, f"coupling {spec.coupling}" + (f" [{spec.coupling_unit}]" if spec.coupling_unit else ""))
        masses = np.asarray(self.model.masses, dtype=float)
        xlim = log_limits(masses, floor=1e-4, pad=1.5)
        if lim is None or not np.any(np.isfinite(np.asarray(lim.expected.median, dtype=float))):
            p = Panel("Exclusion limit", "dark boson mass m_X [GeV]", ylab, xlim, (1e-6, 1e-2),
                      xlog=True, ylog=True, key="limit",
                      alt="No limit: no simulated signal passes these cuts.")
            p.text(0.5, 0.5, "no signal passes: no limit")
            return p.svg()
        mm = np.asarray(lim.masses, dtype=float)
        e = lim.expected
        if self._g2 is None and spec.g2 is not None:
            from ..physics import G2_2021, explains_anomaly, g2_band

            if explains_anomaly(spec.g2):  # the (g-2) band, for the models that have one
                gm = np.geomspace(*xlim, 60)
                self._g2 = (gm, *g2_band(gm, G2_2021, spec.g2, nsigma=2))
        gm, glo, ghi = self._g2 if self._g2 is not None else (np.empty(0),) * 3
        vals = [*np.asarray(e.minus2, float), *np.asarray(e.plus2, float), *glo, *ghi]
        at_pub = self._at_published(s)
        if at_pub:
            vals += list(np.asarray(lim.observed, float))
        ylim = log_limits(vals, floor=1e-8, pad=1.5)
        g_med = self._band(s, "median")
        alt = (f"Exclusion limit versus dark boson mass, log-log. Expected (median) 90% CL limit at "
               f"{self.mass:g} GeV: {g_med:.2g}, with its ±1σ and ±2σ bands"
               + ("; the observed 2022 limit is drawn (published cuts)." if at_pub else
                  "; no observed limit away from the published cuts."))
        p = Panel("Exclusion limit (90 % CL)", "dark boson mass m_X [GeV]", ylab, xlim, ylim,
                  xlog=True, ylog=True, key="limit", alt=alt)
        if gm.size:
            p.band(gm, glo, ghi, color="#2ca02c", opacity=0.25, label="(g−2)μ 2021 ±2σ (superseded)")
        p.band(mm, e.minus2, e.plus2, color="#FFDF7F", label="expected ±2σ")
        p.band(mm, e.minus1, e.plus1, color="#85D1FB", label="expected ±1σ")
        p.line(mm, e.median, color="#000", width=2, dash="7 4", label="expected (median)")
        if at_pub:
            p.line(mm, lim.observed, color="#000", width=3, label="observed, 2022 data")
        if s.projection is not None:
            for k, mot in enumerate(np.atleast_1d(s.projection.mot)):
                p.line(s.projection.masses, np.asarray(s.projection.expected.median)[k],
                       color="#9467bd", width=2, dash="2 3", label=f"expected, {mot:.2g} MOT")
        return p.svg()

    def _panel_pout(self, s: Summary) -> str:
        h = s.pout
        bkg = sum(h.background.values()) if h.background else np.zeros(len(h.edges) - 1)
        sig = h.signal.get(self.mass)
        vals = [*np.asarray(bkg)[np.asarray(bkg) > 0]]
        if sig is not None:
            vals += [*np.asarray(sig)[np.asarray(sig) > 0]]
        ylim = log_limits(vals, floor=1e-6, pad=3)
        alt = (f"Outgoing muon momentum p_out after every other cut, expected events on a log "
               f"scale: signal at {self.mass:g} GeV and the background; the cut at "
               f"{h.cut:g} GeV keeps the events to its left.")
        p = Panel("Outgoing muon energy", "p_out [GeV]", "expected events", (h.edges[0], h.edges[-1]),
                  ylim, ylog=True, key="pout", alt=alt)
        p.vline(h.cut, color="#d62728", label=f"cut: keep p_out < {h.cut:g} GeV", shade_left="#2ca02c")
        if sig is not None:
            p.steps(h.edges, sig, color="#1f77b4", width=2.5,
                    label=f"signal {self.mass:g} GeV (g = {self.model.analysis.g_ref:g})")
        p.steps(h.edges, bkg, color="#ff7f0e", width=2.5, label="background, all sources")
        return p.svg()

    def _panel_efficiency(self, s: Summary) -> str:
        effs = sorted(s.efficiencies.items())
        m = np.array([k for k, _ in effs], dtype=float)
        v = 100 * np.array([e.value for _, e in effs], dtype=float)
        err = 100 * np.array([e.error for _, e in effs], dtype=float)
        top = max(5.0, float(np.max(v + err)) * 1.15) if v.size else 100.0
        alt = "Signal efficiency versus dark boson mass: " + ", ".join(
            f"{a:g} GeV: {b:.1f}%" for a, b in zip(m, v, strict=True))
        p = Panel("Signal kept by the cuts", "dark boson mass m_X [GeV]", "signal efficiency [%]",
                  log_limits(m, floor=1e-4, pad=1.5), (0.0, min(top, 100.0)), xlog=True,
                  key="efficiency", alt=alt)
        p.errorbars(m, v, err, color="#1f77b4")
        p.line(m, v, color="#1f77b4", width=2, markers=True, label="simulated signal (±1σ stat)")
        return p.svg()

    def _panel_background(self, s: Summary) -> str:
        names = [n for n in s.background if n != "total"]
        short = {"misreconstruction": "mis-reco", "decays_in_flight": "decays",
                 "non_hermeticity": "leaks", "other": "other"}
        pub = self.model.setup.backgrounds
        vals = [s.background[n].value for n in names]
        pubs = [getattr(pub, n, None) for n in names]
        allv = vals + [p.value for p in pubs if p is not None] + [s.background[n].value + s.background[n].error
                                                                   for n in names]
        ylim = log_limits(allv, floor=1e-5, pad=3)
        alt = "Expected background events by source: " + ", ".join(
            f"{short.get(n, n)} {v:.2g}" for n, v in zip(names, vals, strict=True))
        p = Panel("Fake events by source", "", f"events ({s.mot:.2g} MOT)", (-0.5, len(names) - 0.5),
                  ylim, ylog=True, key="background", alt=alt, categories=[short.get(n, n) for n in names])
        for i, n in enumerate(names):
            est = s.background[n]
            p.bar(i - 0.18, 0.34, est.value, color="#4878d0")
            if est.value > 0:
                p.errorbars([i - 0.18], [est.value], [est.error], color="#000")
            pb = pubs[i]
            if pb is not None:
                p.bar(i + 0.18, 0.34, pb.value, color="#ee854a", opacity=0.8 if not pb.upper_limit else 0.35)
        p.legend_entry('<rect x="0" y="-6" width="22" height="12" fill="#4878d0"/>', "this simulation")
        p.legend_entry('<rect x="0" y="-6" width="22" height="12" fill="#ee854a"/>',
                       "published 2022 (pale: upper limit)")
        return p.svg()
